"""One canonical identifier per battery (and vehicle), and the mapping from each form to it.

* GB/T 34014 code: ``CODE`` (24 characters) or ``urn:ionledger:gbt34014:CODE``. Canonical id:
  the bare ``CODE``; URI (for an EPCIS epcList): the URN.
* SGTIN: ``urn:epc:id:sgtin:...`` or a Digital Link ``.../01/{GTIN}/21/{serial}``. Canonical id:
  ``https://id.gs1.org/01/{GTIN-14}/21/{serial}``.
* GRAI: ``urn:epc:id:grai:...`` or a Digital Link ``.../8003/{GRAI}{serial}``. Canonical id:
  ``https://id.gs1.org/8003/{GRAI-14}{serial}``.
* Vehicle: ``urn:ionledger:vin:VIN``. Canonical id and URI: the URN.

A GS1 key's canonical id is its Digital Link on ``https://id.gs1.org`` (as in the CBV 2.0 event
hash) because both the EPC URN and a Digital Link on any host map to it without knowing where the
GS1 company prefix ends; the EPC URN needs that length, so :func:`to_uri` gives the URN only when
a :class:`~ionledger.domain.gs1.CompanyPrefixes` table knows the prefix, else the Digital Link.
The serial is percent-encoded one way: every character but ``A-Z a-z 0-9 - . _``, hex upper case.

A string without ``:`` can only be a bare GB/T code, so it must be a valid one. Other URIs
(``urn:epc:id:sgln:...``, ``urn:uuid:...``, a Digital Link to a product class, unknown schemes)
are not batteries: they are returned unchanged. See docs/identifiers.md.
"""

from __future__ import annotations

import enum
import re
from urllib.parse import quote, unquote

from ionledger.domain.gbt34014 import is_valid_code, parse_code
from ionledger.domain.gs1 import (
    DEFAULT_RESOLVER,
    GRAI_URN_PREFIX,
    SGTIN_URN_PREFIX,
    CompanyPrefixes,
    Grai,
    Sgtin,
    parse_digital_link,
)
from ionledger.domain.vocabulary import GBT_URN_PREFIX, VIN_URN_PREFIX
from ionledger.errors import InvalidIdentifier


class IdKind(enum.StrEnum):
    GBT34014 = "gbt34014"
    SGTIN = "sgtin"
    GRAI = "grai"
    VIN = "vin"
    OTHER = "other"


BATTERY_KINDS = frozenset({IdKind.GBT34014, IdKind.SGTIN, IdKind.GRAI})
NO_PREFIXES = CompanyPrefixes()
SGTIN_LINK_PREFIX = DEFAULT_RESOLVER + "/01/"
GRAI_LINK_PREFIX = DEFAULT_RESOLVER + "/8003/"

_GBT_URN_LEN = len(GBT_URN_PREFIX)
_SGTIN_START = len(SGTIN_LINK_PREFIX)
_GRAI_START = len(GRAI_LINK_PREFIX)
_URN_PREFIXES = (GBT_URN_PREFIX, SGTIN_URN_PREFIX, GRAI_URN_PREFIX, VIN_URN_PREFIX)
_VIN_CHARS = frozenset("0123456789ABCDEFGHJKLMNPRSTUVWXYZ")
_VIN_RE = re.compile("[A-HJ-NPR-Z0-9]{17}")
# The hot path converts well-formed keys with these regexes and string building alone; anything
# they do not match goes through the Sgtin / Grai / parse_digital_link parsers, which name the
# broken rule. URN serials with an escape (%2F...) are rare and take the slow path too: an
# alternation for them here would slow every match down by half.
_URN_SERIAL = "[A-Za-z0-9!'()*+,.:;=_-]"
_SGTIN_URN = re.compile(
    rf"urn:epc:id:sgtin:([0-9]{{6,12}})\.([0-9]{{1,7}})\.({_URN_SERIAL}{{1,20}})"
)
_GRAI_URN = re.compile(rf"urn:epc:id:grai:([0-9]{{6,12}})\.([0-9]{{0,6}})\.({_URN_SERIAL}{{1,16}})")
_UNRESERVED = re.compile("[A-Za-z0-9._-]*")
# Canonical Digital Links with a plain serial (the same trade-off for escapes).
_SGTIN_LINK = re.compile(r"https://id\.gs1\.org/01/([0-9]{14})/21/[A-Za-z0-9._-]{1,20}")
_GRAI_LINK = re.compile(r"https://id\.gs1\.org/8003/(0[0-9]{13})[A-Za-z0-9._-]{1,16}")


def canonical_id(uri_or_code: str) -> str:
    """The canonical id of a battery or vehicle identifier; other URIs come back unchanged.

    Raises InvalidIdentifier for a malformed GB/T code (as its subclass InvalidBatteryCode, which
    names the position), SGTIN, GRAI (URN or Digital Link) or VIN.
    """
    if ":" not in uri_or_code and is_valid_code(uri_or_code):  # the commonest case, first
        return uri_or_code
    if uri_or_code.startswith(GBT_URN_PREFIX) and is_valid_code(uri_or_code[_GBT_URN_LEN:]):
        return uri_or_code[_GBT_URN_LEN:]
    return _resolve(uri_or_code)[1]


def to_uri(canonical: str, *, prefixes: CompanyPrefixes = NO_PREFIXES) -> str:
    """The URI form to put in an EPCIS epcList (accepts any form canonical_id accepts).

    GB/T code: its ``urn:ionledger:gbt34014:`` URN. SGTIN / GRAI: the EPC URN when ``prefixes``
    knows the company prefix, else the canonical Digital Link (EPCIS 2.0 takes either). The
    result depends only on the canonical id, not on the form it was given in.
    """
    if len(canonical) == 24 and is_valid_code(canonical):
        return GBT_URN_PREFIX + canonical
    kind, cid = _resolve(canonical)
    if kind is IdKind.GBT34014:
        return GBT_URN_PREFIX + cid
    if kind is IdKind.SGTIN:
        gtin = cid[_SGTIN_START : _SGTIN_START + 14]
        length = prefixes.length_for(gtin)
        if length is None:
            return cid
        serial = unquote(cid[_SGTIN_START + 18 :])  # after "{GTIN}/21/"
        return Sgtin.from_gtin(gtin, serial, company_prefix_length=length).urn
    if kind is IdKind.GRAI:
        length = prefixes.length_for(cid[_GRAI_START : _GRAI_START + 14])
        if length is None:
            return cid
        value = unquote(cid[_GRAI_START:])  # the GRAI's digits need no decoding, its serial may
        return Grai.from_ai8003(value, company_prefix_length=length).urn
    return cid


def id_kind(uri_or_code: str) -> IdKind:
    """What ``uri_or_code`` identifies; raises InvalidIdentifier if it is a malformed claim."""
    return _resolve(uri_or_code)[0]


def is_battery_id(uri_or_code: str) -> bool:
    """Whether this is a well-formed GB/T code, SGTIN or GRAI, in any accepted form."""
    try:
        return id_kind(uri_or_code) in BATTERY_KINDS
    except InvalidIdentifier:
        return False


def validate_vin(vin: str) -> str:
    """Check a VIN: 17 characters, digits and A-Z without I, O, Q.

    The ISO 3779 check digit (position 9) is not enforced: China does not require it.
    """
    if _VIN_RE.fullmatch(vin) is None:
        if len(vin) != 17:
            raise InvalidIdentifier(f"VIN {vin!r} must be 17 characters, got {len(vin)}")
        p, c = next((p, c) for p, c in enumerate(vin, 1) if c not in _VIN_CHARS)
        raise InvalidIdentifier(
            f"VIN {vin!r}: character {c!r} at position {p} is not a digit or A-Z without I, O, Q"
        )
    return vin


def vin_uri(vin: str) -> str:
    return VIN_URN_PREFIX + validate_vin(vin)


def _resolve(text: str) -> tuple[IdKind, str]:
    """(kind, canonical id)."""
    if ":" not in text:
        return IdKind.GBT34014, _gbt(text)
    if text.startswith("urn:"):
        if text.startswith(GBT_URN_PREFIX):
            return IdKind.GBT34014, _gbt(text[_GBT_URN_LEN:])
        if text.startswith(SGTIN_URN_PREFIX):
            return IdKind.SGTIN, _sgtin_urn(text)
        if text.startswith(GRAI_URN_PREFIX):
            return IdKind.GRAI, _grai_urn(text)
        if text.startswith(VIN_URN_PREFIX):
            return IdKind.VIN, vin_uri(text[len(VIN_URN_PREFIX) :])
    elif text.startswith(DEFAULT_RESOLVER):  # already canonical: keep it without re-parsing
        m = _SGTIN_LINK.fullmatch(text)
        if m is not None and _has_check_digit(m[1]):
            return IdKind.SGTIN, text
        m = _GRAI_LINK.fullmatch(text)
        if m is not None and _has_check_digit(m[1]):
            return IdKind.GRAI, text
    lowered = text[:24].lower()
    if lowered.startswith(("http://", "https://")):
        return _digital_link(text)
    for prefix in _URN_PREFIXES:
        if lowered.startswith(prefix) and not text.startswith(prefix):
            # The scheme and namespace of a URN are case-insensitive (RFC 8141).
            return _resolve(prefix + text[len(prefix) :])
    return IdKind.OTHER, text


def _gbt(code: str) -> str:
    """``code`` if valid; else parse_code raises InvalidBatteryCode (an InvalidIdentifier)."""
    return code if is_valid_code(code) else parse_code(code).text


def _check_digit(body: str) -> str:
    """gs1.check_digit of an all-digit ``body``, summing ASCII bytes: 3x faster than int()s."""
    b = body.encode()
    odd, even = b[::-2], b[-2::-2]  # weight 3 from the rightmost digit, then 1, 3, ...
    return str(-(3 * sum(odd) + sum(even) - 48 * (3 * len(odd) + len(even))) % 10)


def _has_check_digit(key: str) -> bool:
    return _check_digit(key[:-1]) == key[-1]


def _link_serial(serial: str) -> str:
    """The canonical Digital Link encoding of a serial (the same as Sgtin.digital_link())."""
    return serial if _UNRESERVED.fullmatch(serial) else quote(serial, safe="")


def _sgtin_urn(urn: str) -> str:
    m = _SGTIN_URN.fullmatch(urn)
    if m is None or len(m[1]) + len(m[2]) != 13:
        return Sgtin.from_urn(urn).digital_link()  # unescapes, or raises naming the rule
    prefix, ref, serial = m.groups()
    body = ref[0] + prefix + ref[1:]
    return f"{SGTIN_LINK_PREFIX}{body}{_check_digit(body)}/21/{_link_serial(serial)}"


def _grai_urn(urn: str) -> str:
    m = _GRAI_URN.fullmatch(urn)
    if m is None or len(m[1]) + len(m[2]) != 12:
        return Grai.from_urn(urn).digital_link()
    prefix, asset_type, serial = m.groups()
    body = "0" + prefix + asset_type
    return f"{GRAI_LINK_PREFIX}{body}{_check_digit(body)}{_link_serial(serial)}"


def _digital_link(uri: str) -> tuple[IdKind, str]:
    key = parse_digital_link(uri)  # any host and path; qualifiers 22 and 10, query dropped
    if key is None or not key.serial:  # not a GS1 key we know, or a class, not an item
        return IdKind.OTHER, uri
    serial = _link_serial(key.serial)
    if key.ai == "01":
        return IdKind.SGTIN, f"{SGTIN_LINK_PREFIX}{key.key}/21/{serial}"
    return IdKind.GRAI, f"{GRAI_LINK_PREFIX}{key.key}{serial}"
