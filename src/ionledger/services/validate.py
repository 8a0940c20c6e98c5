"""``ionledger validate``: check a document without storing it.

Default (lenient) mode runs every event through the capture pipeline itself, so a document
passes exactly when the default import would take it; what it would normalise is listed as
warnings. Strict mode holds the document to the official EPCIS 2.0 JSON schema's rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec

from ionledger.epcis.documents import events_of, read_document
from ionledger.epcis.strict import strict_findings
from ionledger.errors import InvalidDocument, InvalidEvent
from ionledger.services.capture import accept, duplicate_in_document


@dataclass(slots=True)
class ValidationReport:
    source: str
    strict: bool
    kind: str | None = None
    events: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    document_error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.document_error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "strict": self.strict,
            "ok": self.ok,
            "documentType": self.kind,
            "events": self.events,
            "documentError": self.document_error,
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _event_error(error: InvalidEvent) -> dict[str, Any]:
    return {"event": error.index, "field": error.field, "message": error.reason}


def validate(data: bytes, *, strict: bool = False, source: str = "<bytes>") -> ValidationReport:
    report = ValidationReport(source=source, strict=strict)
    try:
        document = read_document(data)
    except InvalidDocument as exc:
        report.document_error = exc.message
        return report
    report.kind = document.get("type")
    events = events_of(document)
    report.events = len(events)
    if strict:
        report.errors = [asdict(f) for f in strict_findings(document)]
        return report
    context = document.get("@context")
    first_seen: dict[str, int] = {}
    for index, event in enumerate(events):
        result = accept(
            msgspec.json.encode(event), index, default_reporter="local", context=context
        )
        if isinstance(result, list):
            report.errors += [_event_error(e) for e in result]
            continue
        report.warnings += [asdict(w) for w in result.warnings]
        identity = result.prepared.identity
        if identity in first_seen:  # the import refuses a document that repeats an event
            report.errors.append(
                _event_error(duplicate_in_document(identity, first_seen[identity], index))
            )
        first_seen.setdefault(identity, index)
    return report
