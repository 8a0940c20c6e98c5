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
from ionledger.errors import InvalidDocument, ValidationError
from ionledger.services.importer import Importer, ImportReport
from ionledger.services.log import Checkpointer
from ionledger.settings import Settings
from ionledger.store.port import EventStore

BEHAVIOURS = ("rollback", "proceed")


@dataclass(slots=True)
class CaptureJob:
    capture_id: str
    created_at: str
    behaviour: str
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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptureJob:
        return cls(
            capture_id=data["captureID"],
            created_at=data["createdAt"],
            behaviour=data["captureErrorBehaviour"],
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
        self._lock = threading.Lock()

    def capture(self, data: bytes, *, behaviour: str = "rollback", keep: bool = True) -> CaptureJob:
        """Run a capture job; ``keep`` stores it for GET /capture/{id} (POST /events has none)."""
        if behaviour not in BEHAVIOURS:
            raise ValidationError(
                f"GS1-Capture-Error-Behaviour {behaviour!r}: expected rollback or proceed"
            )
        job = CaptureJob(uuid.uuid4().hex, now_key(), behaviour)
        with self._lock:
            report = self.importer.import_stream(
                io.BytesIO(data), source=f"capture {job.capture_id}", proceed=behaviour == "proceed"
            )
        _finish(job, report)
        job.identities = report.identities
        if keep:
            self.store.save_capture_job(job.capture_id, job.created_at, job.as_dict())
        return job

    def capture_event(self, event: Any) -> CaptureJob:
        """``POST /events``: one event, captured as a one-event document (rollback)."""
        if not isinstance(event, dict):
            raise InvalidDocument("POST /events takes one EPCIS event, a JSON object")
        return self.capture(msgspec.json.encode(event_document([event])), keep=False)

    def job(self, capture_id: str) -> CaptureJob | None:
        data = self.store.capture_job(capture_id)
        return CaptureJob.from_dict(data) if data is not None else None
