"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

Key encodings follow golang.org/x/mod/sumdb/note, which the transparency ecosystem shares:

* verifier key: ``<name>+<hex8 key ID>+base64(0x01 || 32-byte Ed25519 public key)``
* signer key:   ``PRIVATE+KEY+<name>+<hex8 key ID>+base64(0x01 || 32-byte Ed25519 seed)``

Parsing is strict (canonical base64, lowercase hex IDs, no control characters) so that one note
has exactly one encoding; every malformed input and every failed check raises
:class:`~ionledger.errors.SignatureError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ionledger.errors import SignatureError

__all__ = [
    "ED25519",
    "MAX_SIGNATURES",
    "Note",
    "NoteSignature",
    "Signer",
    "Verifier",
    "key_id",
    "open_note",
    "parse_note",
    "sign_note",
]

ED25519 = 0x01  # the signed-note signature type byte for Ed25519
MAX_SIGNATURES = 100  # the spec requires accepting 16; more than this is treated as abuse
SIG_PREFIX = "— "  # em dash (U+2014) and a space open every signature line
SKEY_PREFIX = "PRIVATE+KEY+"

_HEX8 = re.compile(r"[0-9a-f]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls other than newline


# ---- helpers -------------------------------------------------------------------------------------


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64: padded, no stray characters, and the canonical encoding only.

    Canonicality matters: otherwise a note could be altered in unused padding bits and still
    verify, so one signature would have several encodings.
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise SignatureError(f"{what} is not canonical base64")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _utf8(text: str, what: str) -> bytes:
    """Encode to UTF-8; a Python str can hold lone surrogates, which are not valid UTF-8."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SignatureError(
            f"{what} is not valid UTF-8 (unpaired surrogate at character {exc.start})"
        ) from None


def _check_chars(text: str, what: str) -> bytes:
    """Valid UTF-8 with no ASCII control characters but newline; returns the encoding."""
    raw = _utf8(text, what)
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise SignatureError(
            f"{what} line {line} contains control character U+{ord(bad.group()):04X}"
        )
    return raw


def _is_space(ch: str) -> bool:
    # str.isspace covers Unicode White_Space; category Z adds any separators it might not.
    return ch.isspace() or unicodedata.category(ch).startswith("Z")


def _check_name(name: str, what: str) -> None:
    """Key names: non-empty, no Unicode spaces, no '+' and (so they fit a note) no controls."""
    if not name:
        raise SignatureError(f"{what} is empty")
    _utf8(name, what)
    for ch in name:
        if _is_space(ch):
            raise SignatureError(f"{what} {name!r} contains a space (U+{ord(ch):04X})")
        if ch == "+":
            raise SignatureError(f"{what} {name!r} contains '+'")
        if ord(ch) < 0x20:
            raise SignatureError(f"{what} {name!r} contains control character U+{ord(ch):04X}")


def _parse_key_id(text: str, what: str, rest: str) -> int:
    if not _HEX8.fullmatch(text):
        # A '+' in the name shifts every later part: say so, since the ID error alone misleads.
        hint = " (key names cannot contain '+')" if "+" in rest else ""
        raise SignatureError(f"{what} key ID {text!r} is not 8 lowercase hex digits{hint}")
    return int(text, 16)


def _parse_key_material(key64: str, what: str) -> bytes:
    """Decode base64(type || key) and check it is a 32-byte Ed25519 key."""
    raw = _b64decode(key64, f"{what} material")
    if not raw:
        raise SignatureError(f"{what} material is empty")
    if raw[0] != ED25519:
        raise SignatureError(
            f"{what} type 0x{raw[0]:02x} is not supported (want 0x{ED25519:02x}, Ed25519)"
        )
    if len(raw) != 33:
        raise SignatureError(f"{what} has {len(raw) - 1} bytes of Ed25519 key, want 32")
    return raw[1:]


def key_id(name: str, public_key: bytes) -> int:
    """The recommended key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian."""
    _check_name(name, "key name")
    if len(public_key) != 32:
        raise SignatureError(f"Ed25519 public key has {len(public_key)} bytes, want 32")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _check_key_id(name: str, claimed: int, public_key: bytes, what: str) -> None:
    computed = key_id(name, public_key)
    if claimed != computed:
        raise SignatureError(
            f"{what} key ID {claimed:08x} does not match key {name} (computed {computed:08x})"
        )


# ---- keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 verifier key: the (name, key ID) pair names it in signature lines."""

    name: str
    key_id: int
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name, "verifier key name")
        if len(self.public_key) != 32:
            raise SignatureError(
                f"verifier key {self.name} has {len(self.public_key)} bytes of Ed25519 key, want 32"
            )
        _check_key_id(self.name, self.key_id, self.public_key, "verifier")

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``<name>+<hex8 id>+base64(0x01 || public key)``."""
        name, sep, rest = vkey.partition("+")
        if not sep:
            raise SignatureError("verifier key has no '+'; want <name>+<key ID>+<key>")
        id_hex, sep, key64 = rest.partition("+")
        if not sep:
            raise SignatureError("verifier key has no key after its key ID; want <name>+<id>+<key>")
        _check_name(name, "verifier key name")
        claimed = _parse_key_id(id_hex, "verifier", key64)
        public_key = _parse_key_material(key64, "verifier key")
        return cls(name, claimed, public_key)

    def vkey(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{_b64encode(bytes([ED25519]) + self.public_key)}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's raw 64-byte Ed25519 signature of ``text``."""
        if len(signature) != 64:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 signer key. The seed is left out of ``repr`` so it does not end up in logs."""

    name: str
    key_id: int
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name, "signer key name")
        if len(self.seed) != 32:
            raise SignatureError(
                f"signer key {self.name} has {len(self.seed)} bytes of Ed25519 seed, want 32"
            )
        _check_key_id(self.name, self.key_id, self._public_key(), "signer")

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        """The signer for a 32-byte Ed25519 seed (its key ID is computed)."""
        if len(seed) != 32:
            raise SignatureError(f"signer key {name} has {len(seed)} bytes of seed, want 32")
        public_key = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        return cls(name, key_id(name, public_key), seed)

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A fresh random key named ``name``."""
        _check_name(name, "signer key name")
        return cls.from_seed(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex8 id>+base64(0x01 || seed)``.

        Messages never quote the key material, so a rejected key can be logged safely.
        """
        if not skey.startswith(SKEY_PREFIX):
            raise SignatureError(f"signer key does not start with {SKEY_PREFIX!r}")
        name, sep, rest = skey[len(SKEY_PREFIX) :].partition("+")
        if not sep:
            raise SignatureError("signer key has no '+' after its name")
        id_hex, sep, key64 = rest.partition("+")
        if not sep:
            raise SignatureError("signer key has no key after its key ID")
        _check_name(name, "signer key name")
        claimed = _parse_key_id(id_hex, "signer", key64)
        seed = _parse_key_material(key64, "signer key")
        return cls(name, claimed, seed)

    def skey(self) -> str:
        return (
            f"{SKEY_PREFIX}{self.name}+{self.key_id:08x}+{_b64encode(bytes([ED25519]) + self.seed)}"
        )

    def _public_key(self) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.seed).public_key().public_bytes_raw()

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self._public_key())

    def sign(self, text: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``text``."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(text)


# ---- notes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after the key ID."""

    name: str
    key_id: int
    signature: bytes


@dataclass(frozen=True)
class Note:
    """A note's text (ending in newline) and its signatures, in note order."""

    text: str
    signatures: tuple[NoteSignature, ...]


def _signature_line(signer: Signer, text: bytes) -> str:
    blob = signer.key_id.to_bytes(4, "big") + signer.sign(text)
    return f"{SIG_PREFIX}{signer.name} {_b64encode(blob)}\n"


def sign_note(text: str, *signers: Signer) -> str:
    """The signed note: ``text``, a blank line, and one signature line per signer."""
    if not signers:
        raise SignatureError("a note needs at least one signer")
    if len(signers) > MAX_SIGNATURES:
        raise SignatureError(f"a note may have at most {MAX_SIGNATURES} signatures")
    if not text.endswith("\n"):
        raise SignatureError("note text does not end with a newline")
    raw = _check_chars(text, "note text")
    return text + "\n" + "".join(_signature_line(s, raw) for s in signers)


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    where = f"signature line {number}"
    if not line.startswith(SIG_PREFIX):
        raise SignatureError(f"{where} does not start with an em dash and a space ('— ')")
    name, sep, b64 = line[len(SIG_PREFIX) :].partition(" ")
    _check_name(name, f"{where}: key name")
    if not sep or not b64:
        raise SignatureError(f"{where} has no signature after key name {name}")
    blob = _b64decode(b64, f"{where}: signature")
    if len(blob) < 5:
        raise SignatureError(f"{where}: signature has {len(blob)} bytes, want a key ID and more")
    return NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def parse_note(note: str) -> Note:
    """Split a signed note into text and signatures, checking every format rule but no signature.

    The text runs up to the last blank line, so it may itself contain blank lines.
    """
    _check_chars(note, "note")
    split = note.rfind("\n\n")
    if split < 0:
        raise SignatureError("note has no blank line separating text and signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block:
        raise SignatureError("note has no signature lines after its last blank line")
    if not block.endswith("\n"):
        raise SignatureError("note does not end with a newline")
    # split("\n"), not splitlines(): U+2028 and friends are ordinary characters here.
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise SignatureError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    return Note(text, tuple(_parse_signature_line(ln, i) for i, ln in enumerate(lines, 1)))


def _known_keys(known: tuple[Verifier, ...]) -> dict[tuple[str, int], Verifier]:
    keys: dict[tuple[str, int], Verifier] = {}
    for v in known:
        other = keys.setdefault((v.name, v.key_id), v)
        if other.public_key != v.public_key:
            # Which key a signature line means would be ambiguous.
            raise SignatureError(
                f"two known keys are both named {v.name} with key ID {v.key_id:08x}"
            )
    return keys


def open_note(note: str, *known: Verifier) -> Note:
    """Parse and verify a note against trusted keys; returns it with the verified signatures only.

    Signatures by unknown (name, key ID) pairs are ignored, as the spec requires; every signature
    by a known key must verify, and at least one must.
    """
    keys = _known_keys(known)
    parsed = parse_note(note)
    text = parsed.text.encode("utf-8")
    verified: dict[tuple[str, int], NoteSignature] = {}
    for number, sig in enumerate(parsed.signatures, 1):
        verifier = keys.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(text, sig.signature):
            raise SignatureError(
                f"signature line {number}: signature by {sig.name}+{sig.key_id:08x} does not verify"
            )
        verified.setdefault((sig.name, sig.key_id), sig)  # a repeated signature counts once
    if not verified:
        names = ", ".join(f"{v.name}+{v.key_id:08x}" for v in keys.values()) or "none"
        raise SignatureError(f"note has no signature by a known key (known keys: {names})")
    return Note(parsed.text, tuple(verified.values()))
