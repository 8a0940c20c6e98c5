"""Recompute every projection from the stored events (one transaction: all or nothing).

Registry records rebuild the registry, and the governance rules are replayed over the events in
seq order, each against the registry as the records before it left it: alerts, transfers and
access data come out as capture made them.
"""

from __future__ import annotations

import msgspec

from ionledger.epr.certificates import replay_record
from ionledger.epr.records import EPR_RECORD_TYPE
from ionledger.errors import IntegrityError, ValidationError
from ionledger.governance.engine import Governor
from ionledger.governance.registry import REGISTRY_RECORD_TYPE, RegistryChange
from ionledger.services.capture import facts_of_stored
from ionledger.services.projector import EventFacts, Projector
from ionledger.store.port import EventStore, GovernanceDelta, StoredEvent, Writer


def rebuild(store: EventStore, *, batch: int = 10_000) -> int:
    """Empty the projections and replay every event in seq order; returns the events replayed."""
    count = 0
    governor = Governor()
    with store.writer() as writer:
        writer.reset_projections()
        for events in store.iter_events(batch=batch):
            run: list[StoredEvent] = []
            for event in events:
                if event.event_type == REGISTRY_RECORD_TYPE:
                    _replay(writer, governor, run)
                    run = []
                    delta = GovernanceDelta()
                    governor.registry_change(writer, registry_change_of(event), event.seq, delta)
                    writer.apply_governance(delta)
                elif event.event_type == EPR_RECORD_TYPE:
                    _replay(writer, governor, run)
                    run = []
                    replay_record(writer, governor, event)
                else:
                    run.append(event)
            _replay(writer, governor, run)
            count += len(events)
        writer.commit()
    return count


def registry_change_of(event: StoredEvent) -> RegistryChange:
    try:
        doc = msgspec.json.decode(event.doc)
        return RegistryChange(op=doc["op"], data=doc["data"])
    except (msgspec.DecodeError, KeyError, TypeError) as exc:
        raise IntegrityError(
            f"unreadable registry record: {exc}", where=f"seq {event.seq}"
        ) from None


def _replay(writer: Writer, governor: Governor, events: list[StoredEvent]) -> None:
    """Projections and governance of a run of events (no registry record among them)."""
    if not events:
        return
    facts: list[EventFacts] = [facts_of_stored(e) for e in events]
    projector = Projector()
    for event, f in zip(events, facts, strict=True):
        projector.add(event.seq, f)
    # Governance first: it reads the battery state as it was before these events.
    try:
        screened = governor.screen(
            writer,
            facts,
            [e.seq for e in events],
            [e.record_time for e in events],
            first_seq=events[0].seq,
            replay=True,
        )
    except ValidationError as exc:
        raise IntegrityError(exc.message, where=f"seq {events[0].seq}") from None
    writer.apply(projector.delta)
    writer.apply_governance(screened.delta)
