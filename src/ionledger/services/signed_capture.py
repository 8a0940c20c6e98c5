"""Signed capture documents: non-repudiation for enterprises that register an Ed25519 key.

An enterprise whose registry entry has a ``signingKey`` (base64 of the 32-byte Ed25519 public
key) signs the exact bytes of each capture document it sends and puts the signature in the
``Ion-Signature`` header (``ed25519 <base64 signature>``). The node verifies it before reading
the document; a bad or missing signature refuses the whole document (``access.bad-signature``)
and stores nothing. A verified document is kept whole with its signature, the key it verified
with and the seq range of the events it added, so that the enterprise cannot later deny them.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ionledger.errors import RuleViolation

HEADER = "Ion-Signature"
SCHEME = "ed25519"
RULE = "access.bad-signature"


@dataclass(frozen=True, slots=True)
class CaptureSignature:
    enterprise: str
    public_key: str  # base64, as registered
    signature: str  # base64, as sent


def _refuse(reason: str) -> RuleViolation:
    return RuleViolation(RULE, reason)


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(f"{what} is not base64") from None


def verify_capture(
    body: bytes, header: str | None, enterprise: str, signing_key: str | None
) -> CaptureSignature | None:
    """The verified signature of ``body``; None when it is unsigned and need not be signed.

    An enterprise with a registered key must sign; a signature from one without a key cannot
    be verified and is refused rather than silently dropped."""
    if header is None:
        if signing_key is None:
            return None
        raise _refuse(f"{enterprise} registered a signing key: send the {HEADER} header")
    if signing_key is None:
        raise _refuse(f"{enterprise} has no signingKey in the registry to verify {HEADER} with")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != SCHEME or not value.strip():
        raise _refuse(f"{HEADER} must be '{SCHEME} <base64 signature>', got {header[:40]!r}")
    signature = _b64(value, f"the {HEADER} signature")
    key = _b64(signing_key, f"{enterprise}'s signingKey")
    if len(key) != 32 or len(signature) != 64:
        raise _refuse("an Ed25519 key is 32 bytes and a signature 64")
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, body)
    except InvalidSignature:
        raise _refuse(
            f"the {HEADER} signature does not verify with {enterprise}'s registered key"
            " over the body as received"
        ) from None
    return CaptureSignature(enterprise, signing_key, value.strip())
