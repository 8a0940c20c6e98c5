"""One error base for the whole package.

Every error carries a stable ``code`` (for machines and docs), an HTTP ``status`` (for the API's
RFC 7807 problem details) and a readable message. The hierarchy::

    IonLedgerError
    ├── ValidationError            400  bad input: nothing was changed
    │   ├── InvalidIdentifier          a GS1 key, EPC URN, Digital Link URI or VIN is malformed
    │   │   └── InvalidBatteryCode     a GB/T 34014 code broke a rule at a position
    │   ├── InvalidEvent               one event in a document broke a rule (index, field, reason)
    │   ├── InvalidDocument            the document as a whole is unreadable or rejected
    │   ├── ProofError                 a Merkle proof, root, index or size is malformed or fails
    │   └── SignatureError             a signed note or key is malformed, or a signature fails
    │   └── RuleViolation              a governance rule rejected an event (rule ID, battery)
    ├── Unauthenticated            401  no credential, or one that is unknown, expired or revoked
    ├── Forbidden                  403  the credential may not do this (says which rule and why)
    ├── NotFound                   404  no such battery / event
    ├── ConflictError              409  e.g. the store is already initialised
    ├── CaptureLimitExceeded       413  a capture request over the advertised limits
    ├── UnsupportedMediaType       415  a body neither JSON(-LD) nor XML
    ├── NotAcceptable              406  no representation the client accepts
    ├── StoreError                 500  a storage backend failed (driver errors are translated here)
    ├── IntegrityError             500  the stored log disagrees with the stored events
    └── ConfigurationError         500  the node is not set up (e.g. no log signing key)
"""

from __future__ import annotations

from typing import Any, ClassVar


class IonLedgerError(Exception):
    """Base of every error raised by ionledger."""

    code: ClassVar[str] = "ionledger.error"
    status: ClassVar[int] = 500
    # The EPCIS 2.0 exception type this maps to (REST binding problem "type" epcisException:X).
    epcis_exception: ClassVar[str] = "ImplementationException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, Any]:
        """Machine-readable fields beyond the message (rendered into problem details)."""
        return {}

    def problem(self) -> dict[str, Any]:
        """RFC 7807 problem details."""
        return {
            "type": f"urn:ionledger:error:{self.code}",
            "title": type(self).__name__,
            "status": self.status,
            "detail": self.message,
            **self.details(),
        }


class ValidationError(IonLedgerError):
    code = "validation"
    status = 400
    epcis_exception = "ValidationException"


class InvalidIdentifier(ValidationError):
    code = "identifier"


class InvalidBatteryCode(InvalidIdentifier):
    """A GB/T 34014 code is malformed: says where (1-based position), which field and which rule."""

    code = "battery-code"

    def __init__(self, text: str, *, position: int, field: str, rule: str) -> None:
        self.text = text
        self.position = position
        self.field = field
        self.rule = rule
        super().__init__(f"invalid GB/T 34014 code {text!r}: position {position} ({field}): {rule}")

    def details(self) -> dict[str, Any]:
        return {"position": self.position, "field": self.field, "rule": self.rule}


class InvalidEvent(ValidationError):
    """One event broke a rule. ``index`` is the 0-based position of the event in its document."""

    code = "event"

    def __init__(self, reason: str, *, index: int | None = None, field: str = "") -> None:
        self.index = index
        self.field = field
        self.reason = reason
        where = f"event {index}" if index is not None else "event"
        at = f", field {field!r}" if field else ""
        super().__init__(f"{where}{at}: {reason}")

    def details(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


class InvalidDocument(ValidationError):
    code = "document"


class RuleViolation(InvalidEvent):
    """A governance rule rejected an event: the record cannot be true, or its reporter may not
    make it. ``rule`` is the stable rule ID (ionledger.governance.catalogue)."""

    code = "rule"

    def __init__(
        self, rule: str, reason: str, *, index: int | None = None, subject: str | None = None
    ) -> None:
        self.rule = rule
        self.subject = subject
        super().__init__(f"[{rule}] {reason}", index=index, field=subject or "")

    def details(self) -> dict[str, Any]:
        return {**super().details(), "rule": self.rule, "subject": self.subject}


class Unauthenticated(IonLedgerError):
    code = "unauthenticated"
    status = 401
    epcis_exception = "SecurityException"


class Forbidden(IonLedgerError):
    """The caller is known but may not do this; ``rule`` names the access rule that said no."""

    code = "forbidden"
    status = 403
    epcis_exception = "SecurityException"

    def __init__(self, message: str, *, rule: str) -> None:
        self.rule = rule
        super().__init__(message)

    def details(self) -> dict[str, Any]:
        return {"rule": self.rule}


class NotFound(IonLedgerError):
    code = "not-found"
    status = 404
    epcis_exception = "NoSuchResourceException"


class ConflictError(IonLedgerError):
    code = "conflict"
    status = 409
    epcis_exception = "ResourceAlreadyExistsException"


class CaptureLimitExceeded(IonLedgerError):
    """A capture request is larger than the node accepts (bytes or events): nothing was read."""

    code = "capture-limit"
    status = 413
    epcis_exception = "CaptureLimitExceededException"


class UnsupportedMediaType(IonLedgerError):
    code = "unsupported-media-type"
    status = 415
    epcis_exception = "UnsupportedMediaTypeException"


class NotAcceptable(IonLedgerError):
    code = "not-acceptable"
    status = 406
    epcis_exception = "NotAcceptableException"


class StoreError(IonLedgerError):
    code = "store"
    status = 500


class ProofError(ValidationError):
    """A Merkle proof does not verify, or its index, size, hashes or shape are malformed."""

    code = "proof"


class SignatureError(ValidationError):
    """A signed note, key or signature is malformed, or no trusted signature verifies."""

    code = "signature"


class IntegrityError(IonLedgerError):
    """The verifiable log disagrees with the events it covers: ``where`` names the first place."""

    code = "integrity"
    status = 500

    def __init__(self, message: str, *, where: str) -> None:
        self.where = where
        super().__init__(f"{where}: {message}")

    def details(self) -> dict[str, Any]:
        return {"where": self.where}


class ConfigurationError(IonLedgerError):
    """The node lacks something it needs to run (a key, a setting): says what and how to fix it."""

    code = "configuration"
    status = 500
