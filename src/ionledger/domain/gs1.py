"""GS1 keys for serialised batteries: SGTIN and GRAI as EPC URNs and GS1 Digital Link URIs.

EPC pure-identity URN (Tag Data Standard) and Digital Link URI (any host accepted on input):

* SGTIN ``urn:epc:id:sgtin:CP.IItemRef.Serial``
  = ``https://id.gs1.org/01/{GTIN-14}/21/{Serial}``
* GRAI ``urn:epc:id:grai:CP.AssetType.Serial``
  = ``https://id.gs1.org/8003/0{CP}{AssetType}{C}{Serial}``

CP is the GS1 company prefix (6-12 digits), I the GTIN indicator digit, C a check digit. A
GTIN or GRAI does not say where its company prefix ends, so a Digital Link becomes a URN only
with the prefix length: pass it, or look it up in a :class:`CompanyPrefixes` table.
Serials use the GS1 AI encodable character set 82; the URN percent-escapes the seven characters
the TDS requires, the Digital Link everything but letters, digits and ``-._``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote, unquote, urlsplit

from ionledger.errors import InvalidIdentifier

SGTIN_URN_PREFIX = "urn:epc:id:sgtin:"
GRAI_URN_PREFIX = "urn:epc:id:grai:"
DEFAULT_RESOLVER = "https://id.gs1.org"
SGTIN_SERIAL_MAX = 20  # AI 21
GRAI_SERIAL_MAX = 16  # the serial part of AI 8003

CSET82 = frozenset(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_")
_URN_ESCAPES = {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
_URN_UNESCAPES = {v: k for k, v in _URN_ESCAPES.items()}
_URN_RAW = (CSET82 - _URN_ESCAPES.keys()) | {"%"}
_PERCENT = re.compile("%(.{0,2})", re.DOTALL)
_BAD_PERCENT = re.compile("%(?![0-9A-Fa-f]{2})")


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for ``digits`` (a key without its check digit).

    Weights 3, 1, 3, ... from the rightmost digit, so leading zeros do not change it.
    """
    if not _is_digits(digits):
        raise InvalidIdentifier(f"GS1 check digit: {digits!r} is not a string of digits")
    total = sum(int(d) * (3 - 2 * (i % 2)) for i, d in enumerate(reversed(digits)))
    return -total % 10


def has_valid_check_digit(key: str) -> bool:
    """Whether the last digit of ``key`` is the check digit of the ones before it."""
    return len(key) >= 2 and _is_digits(key) and check_digit(key[:-1]) == int(key[-1])


def _check_key(what: str, key: str) -> None:
    if not has_valid_check_digit(key):
        want = check_digit(key[:-1])
        raise InvalidIdentifier(f"{what} {key!r}: check digit is {key[-1]}, expected {want}")


def _check_company_prefix(what: str, prefix: str) -> None:
    if not (_is_digits(prefix) and 6 <= len(prefix) <= 12):
        raise InvalidIdentifier(f"{what} company prefix {prefix!r} must be 6-12 digits")


def _check_serial(what: str, serial: str, longest: int) -> None:
    if not 1 <= len(serial) <= longest:
        raise InvalidIdentifier(f"{what} serial {serial!r} must be 1-{longest} characters")
    bad = next((c for c in serial if c not in CSET82), None)
    if bad is not None:
        raise InvalidIdentifier(
            f"{what} serial {serial!r}: character {bad!r} is not in GS1 AI character set 82"
        )


def urn_escape(serial: str) -> str:
    """Escape a serial for an EPC URN: only the seven characters the TDS names."""
    if not any(c in _URN_ESCAPES for c in serial):
        return serial
    return "".join(_URN_ESCAPES.get(c, c) for c in serial)


def urn_unescape(what: str, text: str) -> str:
    """Undo :func:`urn_escape`; anything the TDS grammar does not allow raises."""
    bad = next((c for c in text if c not in _URN_RAW), None)
    if bad is not None:
        rule = "must be percent-escaped" if bad in CSET82 else "is not in GS1 AI character set 82"
        raise InvalidIdentifier(f"{what} URN serial {text!r}: character {bad!r} {rule}")

    def one(m: re.Match[str]) -> str:
        char = _URN_UNESCAPES.get(m.group(0).upper())
        if char is None:
            raise InvalidIdentifier(
                f"{what} URN serial {text!r}: {m.group(0)!r} is not one of the escapes "
                "%22 %25 %26 %2F %3C %3E %3F"
            )
        return char

    return _PERCENT.sub(one, text) if "%" in text else text


def _link_escape(serial: str) -> str:
    return quote(serial, safe="")


def _split_urn(what: str, prefix: str, urn: str) -> tuple[str, str, str]:
    if not urn.startswith(prefix):
        raise InvalidIdentifier(f"{what} URN {urn!r} must start with {prefix!r}")
    parts = urn[len(prefix) :].split(".", 2)  # a serial may itself contain dots
    if len(parts) != 3:
        raise InvalidIdentifier(f"{what} URN {urn!r} must have three parts separated by '.'")
    return parts[0], parts[1], urn_unescape(what, parts[2])


@dataclass(frozen=True, slots=True)
class Sgtin:
    """A serialised GTIN. ``item_ref`` is the indicator digit followed by the item reference."""

    company_prefix: str
    item_ref: str
    serial: str

    def __post_init__(self) -> None:
        _check_company_prefix("SGTIN", self.company_prefix)
        want = 13 - len(self.company_prefix)
        if not (_is_digits(self.item_ref) and len(self.item_ref) == want):
            raise InvalidIdentifier(
                f"SGTIN indicator and item reference {self.item_ref!r} must be {want} digits "
                f"with a {len(self.company_prefix)}-digit company prefix"
            )
        _check_serial("SGTIN", self.serial, SGTIN_SERIAL_MAX)

    @property
    def gtin(self) -> str:
        body = self.item_ref[0] + self.company_prefix + self.item_ref[1:]
        return f"{body}{check_digit(body)}"

    @property
    def urn(self) -> str:
        return f"{SGTIN_URN_PREFIX}{self.company_prefix}.{self.item_ref}.{urn_escape(self.serial)}"

    def digital_link(self, resolver: str = DEFAULT_RESOLVER) -> str:
        return f"{resolver.rstrip('/')}/01/{self.gtin}/21/{_link_escape(self.serial)}"

    @classmethod
    def from_urn(cls, urn: str) -> Sgtin:
        return cls(*_split_urn("SGTIN", SGTIN_URN_PREFIX, urn))

    @classmethod
    def from_gtin(cls, gtin: str, serial: str, *, company_prefix_length: int) -> Sgtin:
        """From a GTIN (8, 12, 13 or 14 digits, check digit validated) and a serial."""
        if not (_is_digits(gtin) and len(gtin) in (8, 12, 13, 14)):
            raise InvalidIdentifier(f"GTIN {gtin!r} must be 8, 12, 13 or 14 digits")
        gtin = gtin.zfill(14)
        _check_key("GTIN", gtin)
        end = 1 + company_prefix_length
        return cls(gtin[1:end], gtin[0] + gtin[end:13], serial)

    @classmethod
    def from_digital_link(cls, uri: str, *, company_prefix_length: int) -> Sgtin:
        key = _require_link(uri, "01")
        return cls.from_gtin(key.key, key.serial, company_prefix_length=company_prefix_length)


@dataclass(frozen=True, slots=True)
class Grai:
    """A serialised Global Returnable Asset Identifier (the only GRAI form that has an EPC)."""

    company_prefix: str
    asset_type: str
    serial: str

    def __post_init__(self) -> None:
        _check_company_prefix("GRAI", self.company_prefix)
        want = 12 - len(self.company_prefix)
        if not (
            (self.asset_type == "" or _is_digits(self.asset_type)) and len(self.asset_type) == want
        ):
            raise InvalidIdentifier(
                f"GRAI asset type {self.asset_type!r} must be {want} digits "
                f"with a {len(self.company_prefix)}-digit company prefix"
            )
        _check_serial("GRAI", self.serial, GRAI_SERIAL_MAX)

    @property
    def grai(self) -> str:
        """The 14-digit GRAI without serial: filler 0, prefix, asset type, check digit."""
        body = "0" + self.company_prefix + self.asset_type
        return f"{body}{check_digit(body)}"

    @property
    def urn(self) -> str:
        escaped = urn_escape(self.serial)
        return f"{GRAI_URN_PREFIX}{self.company_prefix}.{self.asset_type}.{escaped}"

    def digital_link(self, resolver: str = DEFAULT_RESOLVER) -> str:
        return f"{resolver.rstrip('/')}/8003/{self.grai}{_link_escape(self.serial)}"

    @classmethod
    def from_urn(cls, urn: str) -> Grai:
        return cls(*_split_urn("GRAI", GRAI_URN_PREFIX, urn))

    @classmethod
    def from_ai8003(cls, value: str, *, company_prefix_length: int) -> Grai:
        """From the value of AI 8003: the 14-digit GRAI followed by the serial."""
        key, serial = value[:14], value[14:]
        if not (_is_digits(key) and len(key) == 14 and key[0] == "0"):
            raise InvalidIdentifier(f"GRAI {value!r} must start with 14 digits, the first one 0")
        _check_key("GRAI", key)
        end = 1 + company_prefix_length
        return cls(key[1:end], key[end:13], serial)

    @classmethod
    def from_digital_link(cls, uri: str, *, company_prefix_length: int) -> Grai:
        key = _require_link(uri, "8003")
        return cls.from_ai8003(key.key + key.serial, company_prefix_length=company_prefix_length)


@dataclass(frozen=True, slots=True)
class CompanyPrefixes:
    """Known GS1 company prefixes: where the prefix ends inside a GTIN-14 or GRAI.

    GS1 allocates prefixes so that none is the start of another, so at most one matches a key.
    """

    prefixes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for p in self.prefixes:
            _check_company_prefix("GS1", p)
            shorter = next((p[:n] for n in range(6, len(p)) if p[:n] in self.prefixes), None)
            if shorter is not None:
                raise InvalidIdentifier(f"company prefixes {shorter!r} and {p!r} overlap")

    @classmethod
    def of(cls, *prefixes: str) -> CompanyPrefixes:
        return cls(frozenset(prefixes))

    def length_for(self, key: str) -> int | None:
        """Prefix length in a GTIN-14 or GRAI (both hold the prefix from their second digit)."""
        for n in range(6, 13):
            if key[1 : 1 + n] in self.prefixes:
                return n
        return None


class LinkKey(NamedTuple):
    """The key a Digital Link names. ``serial`` is "" for a class (no AI 21, no GRAI serial)."""

    ai: str  # "01" (GTIN) or "8003" (GRAI)
    key: str  # GTIN-14, or the 14-digit GRAI without serial
    serial: str


_GTIN_QUALIFIERS = ("22", "10", "21")  # Digital Link's order after AI 01


def parse_digital_link(uri: str) -> LinkKey | None:
    """The GTIN or GRAI key of a Digital Link URI on any host; None if the URI names neither.

    A path segment ``01`` followed by 8-14 digits, or ``8003`` followed by 14 digits, makes the
    URI a claim; from there on anything malformed raises InvalidIdentifier. The query string
    (data attributes) and fragment do not identify the item and are ignored.
    """
    if not uri.isprintable() or " " in uri:  # urlsplit would silently drop tabs and newlines
        return None
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    segments = parts.path.split("/")
    for i, seg in enumerate(segments[:-1]):
        value = segments[i + 1]
        if seg == "01" and _is_digits(value) and len(value) in (8, 12, 13, 14):
            return _gtin_link(uri, value, segments[i + 2 :])
        if seg == "8003" and _is_digits(value[:14]) and len(value) >= 14:
            return _grai_link(uri, value, segments[i + 2 :])
    return None


def _gtin_link(uri: str, gtin: str, rest: list[str]) -> LinkKey:
    gtin = gtin.zfill(14)
    _check_key("Digital Link GTIN", gtin)
    qualifiers: dict[str, str] = {}
    allowed = list(_GTIN_QUALIFIERS)
    for i in range(0, len(rest), 2):
        ai = rest[i]
        if ai not in allowed or i + 1 >= len(rest):
            raise InvalidIdentifier(
                f"Digital Link {uri!r}: after the GTIN expected AI/value pairs of 22, 10, 21 "
                f"in that order, found {'/'.join(rest)!r}"
            )
        del allowed[: allowed.index(ai) + 1]
        qualifiers[ai] = _decode(uri, rest[i + 1])
    serial = qualifiers.get("21", "")
    if "21" in qualifiers:
        _check_serial("Digital Link SGTIN", serial, SGTIN_SERIAL_MAX)
    return LinkKey("01", gtin, serial)


def _grai_link(uri: str, value: str, rest: list[str]) -> LinkKey:
    if rest:
        raise InvalidIdentifier(f"Digital Link {uri!r}: nothing may follow the GRAI (AI 8003)")
    key, serial = value[:14], _decode(uri, value[14:])
    if key[0] != "0":
        raise InvalidIdentifier(f"Digital Link GRAI {key!r} must start with the filler digit 0")
    _check_key("Digital Link GRAI", key)
    if serial:
        _check_serial("Digital Link GRAI", serial, GRAI_SERIAL_MAX)
    return LinkKey("8003", key, serial)


def _decode(uri: str, segment: str) -> str:
    if _BAD_PERCENT.search(segment):
        raise InvalidIdentifier(f"Digital Link {uri!r}: '%' must start a two-digit hex escape")
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise InvalidIdentifier(f"Digital Link {uri!r}: escape is not valid UTF-8") from None


def _require_link(uri: str, ai: str) -> LinkKey:
    key = parse_digital_link(uri)
    name = "GTIN (AI 01)" if ai == "01" else "GRAI (AI 8003)"
    if key is None or key.ai != ai:
        raise InvalidIdentifier(f"{uri!r} is not a GS1 Digital Link URI with a {name}")
    if not key.serial:
        raise InvalidIdentifier(f"Digital Link {uri!r} names a class: its {name} has no serial")
    return key
