"""Capture jobs: the EPCIS REST binding's ``POST /capture`` and ``POST /events``.

A capture job is one import through the same pipeline as ``ionledger import`` (decode, checks,
lenient normalisation, de-duplication, the verifiable log), with the client's
``GS1-Capture-Error-Behaviour``; its outcome is kept in the store so that ``GET /capture/{id}``
answers after a restart too.
"""

from __future__ import annotations

import io
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec

from ionledger.epcis.documents import event_document
from ionledger.epcis.times import now_key
from ionledger.errors import Forbidden, InvalidDocument, ValidationError
from ionledger.governance.access import Principal
from ionledger.services.importer import Importer, ImportReport
from ionledger.services.log import Checkpointer
from ionledger.services.signed_capture import CaptureSignature
from ionledger.settings import Settings
from ionledger.store.port import EventStore, Writer

BEHAVIOURS = ("rollback", "proceed")


@dataclass(slots=True)
class CaptureJob:
    capture_id: str
    created_at: str
    behaviour: str
    captured_by: str | None = None  # the enterprise whose credential sent it
    signed: bool = False  # kept with its verified Ed25519 signature (services/signed_capture)
    finished_at: str | None = None
    running: bool = True
    success: bool = True
    stored: int = 0
    already_present: int = 0
    identities: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The capture job document of the REST binding (plus what ionledger adds)."""
        return {
            "captureID": self.capture_id,
            "createdAt": self.created_at,
            "finishedAt": self.finished_at,
            "running": self.running,
            "success": self.success,
            "captureErrorBehaviour": self.behaviour,
            "errors": self.errors,
            "ion:stored": self.stored,
            "ion:alreadyPresent": self.already_present,
            "ion:warnings": self.warnings,
            "ion:capturedBy": self.captured_by,
            "ion:signed": self.signed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptureJob:
        return cls(
            capture_id=data["captureID"],
            created_at=data["createdAt"],
            behaviour=data["captureErrorBehaviour"],
            captured_by=data.get("ion:capturedBy"),
            signed=data.get("ion:signed", False),
            finished_at=data["finishedAt"],
            running=data["running"],
            success=data["success"],
            stored=data.get("ion:stored", 0),
            already_present=data.get("ion:alreadyPresent", 0),
            errors=data["errors"],
            warnings=data.get("ion:warnings", []),
        )


def _finish(job: CaptureJob, report: ImportReport) -> None:
    job.running = False
    job.finished_at = now_key()
    job.success = report.ok
    job.stored = report.stored
    job.already_present = report.duplicates
    if report.document_error:
        job.errors.append({"type": "document", "message": report.document_error})
    for error in report.errors:
        job.errors.append(
            {"type": "event", "eventIndex": error.index, "field": error.field,
             "message": error.reason}
        )  # fmt: skip
    job.warnings = [asdict(w) for w in report.warnings]


class CaptureService:
    """Runs capture jobs one at a time (the store has one writer anyway) and keeps them."""

    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        *,
        checkpointer: Checkpointer | None,
        reporter: str = "local",
    ) -> None:
        self.store = store
        # Under continuous capture a checkpoint is signed at most every interval, not per job.
        self.importer = Importer(
            store, settings, reporter=reporter, checkpointer=checkpointer, sign_each=False
        )
        self._lock = threading.Lock()  # the writer: one capture at a time
        self._waiting_lock = threading.Lock()
        self._waiting: list[_Single] = []  # single events waiting for the writer

    def capture(
        self,
        data: bytes,
        *,
        behaviour: str = "rollback",
        keep: bool = True,
        principal: Principal | None = None,
        signature: CaptureSignature | None = None,
    ) -> CaptureJob:
        """Run a capture job; ``keep`` stores it for GET /capture/{id} (POST /events has none).

        With an enterprise's principal, its events report as that enterprise only; the
        operator and admin credentials capture on anyone's behalf (imports, migrations)."""
        if behaviour not in BEHAVIOURS:
            raise ValidationError(
                f"GS1-Capture-Error-Behaviour {behaviour!r}: expected rollback or proceed"
            )
        if principal is not None:
            principal.require("capture")
        as_enterprise = _as_enterprise(principal)
        job = CaptureJob(
            uuid.uuid4().hex,
            now_key(),
            behaviour,
            captured_by=principal.enterprise if principal else None,
            signed=signature is not None,
        )

        def keep_signed(writer: Writer, stored: list[tuple[int, int]]) -> None:
            # In the events' own transaction: no signed event without its evidence.
            assert signature is not None
            seqs = (stored[0][0], stored[-1][1] - 1) if stored else None
            writer.save_signed_capture(
                job.capture_id, signature.enterprise, signature.public_key,
                signature.signature, data, seqs, job.created_at,
            )  # fmt: skip

        with self._lock:
            report = self.importer.import_stream(
                io.BytesIO(data),
                source=f"capture {job.capture_id}",
                proceed=behaviour == "proceed",
                as_enterprise=as_enterprise,
                on_commit=keep_signed if signature is not None else None,
            )
        _finish(job, report)
        job.identities = report.identities
        if keep:
            self.store.save_capture_job(job.capture_id, job.created_at, job.as_dict())
        return job

    def capture_event(self, event: Any, principal: Principal | None = None) -> CaptureJob:
        """``POST /events``: one event, accepted or refused on its own.

        Group commit: events that arrive while another capture holds the writer wait for it,
        and whichever request gets the writer next stores every waiting event in one
        transaction (one fsync), each judged on its own as if sent alone, in arrival order.
        Nothing is answered before its transaction has committed."""
        if not isinstance(event, dict):
            raise InvalidDocument("POST /events takes one EPCIS event, a JSON object")
        if principal is not None:
            principal.require("capture")
        mine = _Single(event, _as_enterprise(principal), principal)
        with self._waiting_lock:
            self._waiting.append(mine)
        with self._lock:
            if mine.job is None and mine.failure is None:
                with self._waiting_lock:
                    group, self._waiting = self._waiting, []
                try:
                    self._commit_group(group)
                except Exception as exc:  # the store failed: every unanswered one failed with it
                    for single in group:
                        if single.job is None:
                            single.failure = exc
        if mine.failure is not None:
            raise mine.failure
        assert mine.job is not None
        return mine.job

    def _commit_group(self, group: list[_Single]) -> None:
        """Store a group of single events: one import per reporting enterprise, in arrival
        order, proceeding past refused events (each refusal is that event's answer alone)."""
        by_reporter: dict[str | None, list[_Single]] = {}
        for single in group:
            by_reporter.setdefault(single.as_enterprise, []).append(single)
        for as_enterprise, singles in by_reporter.items():
            # A repeat of an earlier event of the group gets that event's answer, as it would
            # have found it stored had it come alone (POST /events is idempotent).
            first: dict[bytes, int] = {}
            twin = [first.setdefault(_key(s.event), i) for i, s in enumerate(singles)]
            unique = [s for i, s in enumerate(singles) if twin[i] == i]
            document = msgspec.json.encode(event_document([s.event for s in unique]))
            report = self.importer.import_stream(
                io.BytesIO(document), source="POST /events", proceed=True,
                as_enterprise=as_enterprise,
            )  # fmt: skip
            errors = {e.index: e for e in report.errors}
            position = {id(s): n for n, s in enumerate(unique)}
            for index, single in enumerate(singles):
                n = position[id(singles[twin[index]])]
                single.job = _single_job(single, errors.get(n), report.identity_of.get(n))

    def job(self, capture_id: str, principal: Principal | None = None) -> CaptureJob | None:
        """A capture job; a principal sees its own enterprise's jobs (admins and the national
        regulator see all)."""
        data = self.store.capture_job(capture_id)
        if data is None:
            return None
        job = CaptureJob.from_dict(data)
        if principal is not None:
            _check_owner(principal, job)
        return job

    def jobs(
        self, principal: Principal, *, limit: int, before: tuple[str, str] | None = None
    ) -> list[CaptureJob]:
        """The principal's capture jobs, newest first, after the (createdAt, captureID) of
        ``before`` in that order."""
        principal.require("capture")
        out: list[CaptureJob] = []
        while len(out) < limit:
            page = self.store.capture_jobs(before=before, limit=500)
            if not page:
                break
            for data in page:
                job = CaptureJob.from_dict(data)
                if _owns(principal, job):
                    out.append(job)
            before = (page[-1]["createdAt"], page[-1]["captureID"])
        return out[:limit]


@dataclass(slots=True)
class _Single:
    """One POST /events request waiting for the group it is committed in."""

    event: dict[str, Any]
    as_enterprise: str | None
    principal: Principal | None
    job: CaptureJob | None = None
    failure: Exception | None = None  # what the group's commit raised, if it failed


def _as_enterprise(principal: Principal | None) -> str | None:
    """Whom a principal's events report as: an enterprise as itself; admins as they say."""
    if principal is None or "admin" in principal.scopes:
        return None
    return principal.enterprise


def _key(event: dict[str, Any]) -> bytes:
    """What makes two single events the same: the eventID, else the whole event."""
    event_id = event.get("eventID")
    if isinstance(event_id, str):
        return event_id.encode()
    return msgspec.json.encode(event, order="sorted")


def _single_job(single: _Single, error: Any, identity: str | None) -> CaptureJob:
    job = CaptureJob(uuid.uuid4().hex, now_key(), "rollback", finished_at=now_key())
    job.captured_by = single.principal.enterprise if single.principal else None
    job.running = False
    if error is not None:
        job.success = False
        job.errors.append(
            {"type": "event", "eventIndex": 0, "field": error.field, "message": error.reason}
        )
    elif identity is not None:
        job.identities = [identity]
    return job


def _owns(principal: Principal, job: CaptureJob) -> bool:
    return (
        "admin" in principal.scopes
        or principal.reads_everything
        or (job.captured_by is not None and job.captured_by == principal.enterprise)
    )


def _check_owner(principal: Principal, job: CaptureJob) -> None:
    if principal.enterprise is None:
        principal.require("capture")  # 401 for the public
    if not _owns(principal, job):
        raise Forbidden(
            f"capture job {job.capture_id} was sent by another enterprise",
            rule="access.capture-job",
        )
