"""POST /events under concurrency: single events waiting for the writer are committed together
(one transaction, one fsync), each still accepted or refused on its own."""

from __future__ import annotations

import threading
import time
from typing import Any

from factory import code, event, lifecycle
from ionledger.services.capture_jobs import CaptureJob, CaptureService
from ionledger.settings import Settings
from ionledger.store.port import EventStore


def _service(store: EventStore) -> tuple[CaptureService, list[int]]:
    service = CaptureService(store, Settings(database_url=store.url), checkpointer=None)
    imports: list[int] = []
    original = service.importer.import_stream

    def counted(*args: Any, **kwargs: Any) -> Any:
        report = original(*args, **kwargs)
        imports.append(report.read)
        return report

    service.importer.import_stream = counted  # type: ignore[method-assign]
    return service, imports


def _send_together(
    service: CaptureService, events: list[dict[str, Any]]
) -> list[CaptureJob | Exception]:
    """Send each event from its own thread while the writer is busy, then free the writer;
    each request's answer, or what it raised."""
    answers: list[CaptureJob | Exception | None] = [None] * len(events)

    def send(i: int) -> None:
        try:
            answers[i] = service.capture_event(events[i])
        except Exception as exc:
            answers[i] = exc

    with service._lock:  # the writer is busy: every request queues behind it
        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(events))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(service._waiting) < len(events):
            assert time.monotonic() < deadline, "the requests did not queue"
            time.sleep(0.005)
    for t in threads:
        t.join(10)
    return [a for a in answers if a is not None]


def _jobs(answers: list[CaptureJob | Exception]) -> list[CaptureJob]:
    jobs = [a for a in answers if isinstance(a, CaptureJob)]
    assert len(jobs) == len(answers), answers
    return jobs


def test_waiting_events_share_one_commit_and_keep_their_own_answers(store: EventStore) -> None:
    service, imports = _service(store)
    events = lifecycle(code("P"), [code("M")])[:6]
    bad = event(eventTime="not a time")
    twin = dict(events[2])  # the same eventID again: idempotent, as if sent after
    jobs = _jobs(_send_together(service, [*events, bad, twin]))
    assert imports == [8 - 1]  # one import of the distinct events (the twin shares its answer)
    assert [j.success for j in jobs] == [True] * 6 + [False, True]
    assert jobs[6].errors[0]["field"] == "eventTime"
    assert [j.identities for j in jobs[:6]] == [[e["eventID"]] for e in events]
    assert jobs[7].identities == jobs[2].identities
    assert store.count_events() == 6
    # Sent again, one by one: each is already there, answered with its identity, nothing stored.
    again = [service.capture_event(e) for e in events]
    assert [j.identities for j in again] == [[e["eventID"]] for e in events]
    assert store.count_events() == 6
    assert len(imports) == 1 + 6


def test_a_refused_event_does_not_take_the_group_down(store: EventStore) -> None:
    service, _ = _service(store)
    life = lifecycle(code("P"), [code("M")])
    jobs = _jobs(_send_together(service, [life[0], {"type": "ObjectEvent"}, life[1]]))
    assert [j.success for j in jobs] == [True, False, True]
    assert store.count_events() == 2


def test_a_failed_commit_fails_every_event_of_its_group(store: EventStore) -> None:
    """When the store fails, no waiting request is left without an answer or told it stored."""
    from ionledger.errors import StoreError

    service, _ = _service(store)

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise StoreError("disk full")

    service.importer.import_stream = broken  # type: ignore[method-assign]
    events = lifecycle(code("P"), [code("M")])[:3]
    raised = _send_together(service, events)
    assert len(raised) == len(events)
    assert all(isinstance(e, StoreError) for e in raised), raised
    assert store.count_events() == 0
