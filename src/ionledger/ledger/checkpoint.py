"""C2SP transparency log checkpoints (https://c2sp.org/tlog-checkpoint), signed as notes.

A checkpoint's note text is ``origin``, the decimal tree ``size`` and ``base64(root)``, one per
line, then optional non-empty extension lines. Parsing is strict so that each checkpoint has one
text and hence one signed byte string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ionledger.errors import SignatureError
from ionledger.ledger.note import (
    Signer,
    Verifier,
    _b64decode,
    _b64encode,
    _check_chars,
    open_note,
    sign_note,
)

__all__ = ["HASH_SIZE", "MAX_TREE_SIZE", "Checkpoint", "open_checkpoint", "sign_checkpoint"]

HASH_SIZE = 32  # SHA-256 Merkle tree hash (RFC 6962 / RFC 9162)
MAX_TREE_SIZE = 2**63 - 1  # what Go's tlog tooling (int64) can read back
_DECIMAL = re.compile(r"[0-9]+")  # ASCII digits only: int() would also take '٣', '_' and spaces


def _check_line(line: str, what: str) -> None:
    """A checkpoint line is non-empty, single-line text a note can carry."""
    if not line:
        raise SignatureError(f"{what} is empty")
    if "\n" in line:
        raise SignatureError(f"{what} contains a newline")
    _check_chars(line, what)


def _parse_size(text: str) -> int:
    if not text:
        raise SignatureError("checkpoint tree size (line 2) is empty")
    if not _DECIMAL.fullmatch(text):
        raise SignatureError(f"checkpoint tree size {text[:40]!r} is not a decimal number")
    if len(text) > 1 and text[0] == "0":
        raise SignatureError(f"checkpoint tree size {text[:40]!r} has a leading zero")
    # Bound the digits before int(): huge strings are slow and Python refuses > 4300 digits.
    if len(text) > len(str(MAX_TREE_SIZE)) or int(text) > MAX_TREE_SIZE:
        raise SignatureError(f"checkpoint tree size {text[:40]!r} is larger than {MAX_TREE_SIZE}")
    return int(text)


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log's origin, its size and its Merkle root."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "checkpoint origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise SignatureError(f"checkpoint tree size {self.size!r} is not an integer")
        if self.size < 0:
            raise SignatureError(f"checkpoint tree size {self.size} is negative")
        if self.size > MAX_TREE_SIZE:
            raise SignatureError(f"checkpoint tree size {self.size} is larger than {MAX_TREE_SIZE}")
        if not isinstance(self.root, bytes):
            raise SignatureError(f"checkpoint root hash is {type(self.root).__name__}, not bytes")
        if len(self.root) != HASH_SIZE:
            raise SignatureError(
                f"checkpoint root hash is {len(self.root)} bytes, want {HASH_SIZE}"
            )
        # Accept any sequence but store a tuple, so the checkpoint stays hashable.
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for i, ext in enumerate(self.extensions, 4):
            _check_line(ext, f"checkpoint extension line {i}")

    def text(self) -> str:
        """The note text: ``origin\\nsize\\nbase64(root)\\n`` then the extension lines."""
        lines = [self.origin, str(self.size), _b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (as returned by :func:`~.note.open_note`)."""
        _check_chars(text, "checkpoint text")
        if not text.endswith("\n"):
            raise SignatureError("checkpoint text does not end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            n = len(lines)
            raise SignatureError(f"checkpoint text has {n} line{'s' * (n != 1)}, want at least 3")
        origin, size_text, root64, *extensions = lines
        if not origin:
            raise SignatureError("checkpoint origin (line 1) is empty")
        size = _parse_size(size_text)
        if not root64:
            raise SignatureError("checkpoint root hash (line 3) is empty")
        root = _b64decode(root64, "checkpoint root hash (line 3)")
        for i, ext in enumerate(extensions, 4):
            if not ext:
                raise SignatureError(f"checkpoint extension line {i} is empty")
        return cls(origin, size, root, tuple(extensions))


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    """The checkpoint as a note signed by the log's key, whose name must be the origin."""
    if signer.name != cp.origin:
        raise SignatureError(
            f"checkpoint origin {cp.origin!r} does not match signer key name {signer.name!r}"
        )
    return sign_note(cp.text(), signer)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Verify a signed checkpoint with the log's key, then parse it; the origin must be its name."""
    opened = open_note(note, verifier)
    cp = Checkpoint.parse(opened.text)
    if cp.origin != verifier.name:
        raise SignatureError(
            f"checkpoint origin {cp.origin!r} does not match key name {verifier.name!r}"
        )
    return cp
