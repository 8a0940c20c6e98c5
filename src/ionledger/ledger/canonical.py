"""RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value.

The log commits to an event through the SHA-256 of its JCS form, so that anyone holding the event
as JSON, from any source and any JSON library, can recompute the leaf. msgspec does the encoding;
this module only prepares the value so that msgspec's output is the JCS one:

* object members sorted by their names' UTF-16 code units (RFC 8785 §3.2.3);
* numbers in ECMAScript ``Number.prototype.toString`` form (§3.2.2.3): ``1`` not ``1.0``,
  ``1e+21`` not ``1e21``, ``100000000000000000000`` not ``1e20``, ``0`` for ``-0``;
* strings as msgspec writes them, which is already the JCS form (only ``"``, ``\\`` and control
  characters escaped, ``\\b \\t \\n \\f \\r`` short forms, other controls as lowercase ``\\u00xx``).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

_MAX_SAFE = 2**53  # beyond this an integer is not exactly an IEEE double: JCS formats it as one


def es6_number(value: float) -> str:
    """The ECMAScript shortest round-trip form of a finite double."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} is not a JSON number")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip; take them apart into digits and exponent.
    mantissa, _, exp = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # n: the position of the decimal point relative to the first significant digit.
    n = len(whole.lstrip("0")) if whole.strip("0") else -(len(frac) - len(frac.lstrip("0")))
    n += int(exp or 0)
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    body = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{body}e{'+' if e > 0 else '-'}{abs(e)}"


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be")


def _prepare(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        names = sorted(value)
        # Code-point order equals UTF-16 order unless a name has a character above U+FFFF.
        if any(max(name, default="\0") > "\uffff" for name in names):
            names.sort(key=_utf16_key)
        return {name: _prepare(value[name]) for name in names}
    if kind is list:
        return [_prepare(item) for item in value]
    if kind is float:
        return msgspec.Raw(es6_number(value).encode())
    if kind is int and not -_MAX_SAFE < value < _MAX_SAFE:
        return msgspec.Raw(es6_number(float(value)).encode())
    return value


def canonical_json(value: Any) -> bytes:
    """The JCS bytes of a JSON value (dicts, lists, str, int, float, bool, None)."""
    return msgspec.json.encode(_prepare(value))


def _raw_number(text: str) -> msgspec.Raw:
    return msgspec.Raw(es6_number(float(text)).encode())


# Decoding with floats already in their JCS form lets msgspec sort and encode in C, without a
# Python walk over the value. Two things still need the walk, and are rare enough to detect in
# the bytes (a false alarm only costs the slow path): object member names beyond U+FFFF (sorted
# differently in UTF-16; 4-byte UTF-8 or an escaped surrogate), and integers of 16 digits or more
# (beyond 2**53 they are written as doubles).
_JCS_DECODER = msgspec.json.Decoder(float_hook=_raw_number)
_ASTRAL = re.compile(rb"[\xf0-\xf4]")
_SURROGATE = re.compile(rb"\\u[dD][89abAB]")
# Sixteen digits in a row anywhere, strings included (a false alarm is harmless): every digit is
# mapped to "0" in C, then one substring search; a regex costs ten times as much here.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 16


def _needs_walk(doc: bytes) -> bool:
    # Cheapest tests first: most documents are ASCII without escapes.
    if not doc.isascii() and _ASTRAL.search(doc):
        return True
    if b"\\u" in doc and _SURROGATE.search(doc):
        return True
    return _LONG_NUMBER in doc.translate(_DIGITS_TO_ZERO)


def canonical_json_bytes(doc: bytes, **members: Any) -> bytes:
    """The JCS bytes of the JSON object ``doc`` with ``members`` set on it (fast path)."""
    if _needs_walk(doc):
        value = msgspec.json.decode(doc)
        value.update(members)
        return canonical_json(value)
    value = _JCS_DECODER.decode(doc)
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    value.update(members)
    return msgspec.json.encode(value, order="sorted")
