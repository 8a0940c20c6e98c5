"""Output formats of returned events: EPC URN or GS1 Digital Link (``GS1-EPC-Format``), and CBV
URN or Web URI in XML (``GS1-CBV-XML-Format``).

Events are stored as captured. When they are served, their identifier fields (epcList, parentID,
childEPCs, inputEPCList, outputEPCList, the quantity lists' epcClass, readPoint and bizLocation
ids, sources, destinations, business transactions and sensor deviceIDs) are rewritten:

* ``Always_GS1_Digital_Link``: EPC URNs (``urn:epc:id:``, ``urn:epc:class:``,
  ``urn:epc:idpat:``) become canonical Digital Links on ``https://id.gs1.org``, as the CBV 2.0
  hash ID writes them (``ionledger.epcis.hashid`` does the conversion).
* ``Always_EPC_URN``: GS1 Digital Links become EPC URNs. A Digital Link does not say where the
  GS1 company prefix ends inside its key, and the URN needs that, so this takes a table of known
  company prefixes (:class:`~ionledger.domain.gs1.CompanyPrefixes`); a key whose prefix the
  table does not know stays a Digital Link.
* ``Never_Translates`` / ``No_Preference``: identifiers as captured.

Anything else (``urn:ionledger:gbt34014:...``, ``urn:uuid:...``, other URLs) passes unchanged,
as does an identifier already in the wanted form or one that is malformed.

Schemes, both ways: sgtin, sscc, sgln, grai, giai, gsrn, gsrnp, gdti, cpi, sgcn, ginc, gsin,
itip, upui, pgln, the lgtin class, and the idpat patterns sgtin, grai, gdti, sgcn, itip and cpi
(class-level epcClass values). An upui pattern comes back as the sgtin pattern (both are the bare
GTIN as a Digital Link), and a GDTI without serial as the gdti pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ionledger.domain.gs1 import CompanyPrefixes, has_valid_check_digit, urn_escape
from ionledger.epcis.documents import events_of

# The one EPC URN -> Digital Link mapping in the package (the CBV 2.0 hash ID's). Private there:
# it must stay importable from ionledger.epcis.hashid (see docs/epcis.md).
from ionledger.epcis.hashid import _from_epc_uri
from ionledger.epcis.strict import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    DISPOSITION,
    ERROR_REASON,
    SOURCE_DEST_TYPE,
    Vocabulary,
)

ALWAYS_DIGITAL_LINK = "Always_GS1_Digital_Link"
ALWAYS_EPC_URN = "Always_EPC_URN"
ALWAYS_WEB_URI = "Always_Web_URI"
ALWAYS_URN = "Always_URN"
NO_PREFIXES = CompanyPrefixes()

_EPC_URN = ("urn:epc:id:", "urn:epc:class:", "urn:epc:idpat:")
_EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_LISTS_OF = (
    ("sourceList", "source"),
    ("destinationList", "destination"),
    ("bizTransactionList", "bizTransaction"),
)


# --- EPC URN <-> GS1 Digital Link ------------------------------------------------------------


@lru_cache(maxsize=65_536)  # pure; the EPCs of one page repeat (locations above all)
def to_digital_link(uri: str) -> str:
    """An EPC URN as its canonical GS1 Digital Link; any other string unchanged."""
    if not uri.startswith(_EPC_URN):
        return uri
    return _from_epc_uri(uri) or uri


# Where the company prefix that starts at key[start] ends: its length, or None if unknown.
_Length = Callable[[str, int], int | None]


def _known(prefixes: CompanyPrefixes) -> _Length:
    """The length of a prefix in the table (GS1 allocates them so that at most one matches)."""

    def length(key: str, start: int) -> int | None:
        for n in range(6, 13):
            if key[start : start + n] in prefixes.prefixes:
                return n
        return None

    return length


def _fixed(n: int) -> _Length:
    """Every key's prefix is ``n`` digits long (to list a Digital Link's possible URNs)."""

    def length(key: str, start: int) -> int | None:
        return n if key[start : start + n].isdigit() and len(key) > start + n else None

    return length


def _numeric_key(value: str, size: int) -> bool:
    return (
        len(value) == size and value.isascii() and value.isdigit() and has_valid_check_digit(value)
    )


def _cpi_escape(text: str) -> str:
    """A CPI component reference in a URN: ``#`` and ``/`` escaped (TDS 2.0, CPI)."""
    return quote(text, safe="-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _gtin_fields(length: _Length, gtin: str) -> tuple[str, str] | None:
    """(company prefix, indicator + item reference) of a GTIN-14."""
    n = length(gtin, 1)
    return None if n is None else (gtin[1 : 1 + n], gtin[0] + gtin[1 + n : 13])


def _key_and_qualifiers(uri: str) -> tuple[str, str, dict[str, str]] | None:
    """(primary key AI, its raw value, {qualifier AI: decoded value}) of a Digital Link."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    segments = parts.path.split("/")
    for i, segment in enumerate(segments[:-1]):
        if segment in _FROM_LINK:
            rest = segments[i + 2 :]
            if len(rest) % 2:
                return None
            qualifiers = {rest[j]: unquote(rest[j + 1]) for j in range(0, len(rest), 2)}
            return segment, segments[i + 1], qualifiers
    return None


# (prefix lengths, the primary key's value, qualifiers) -> the EPC URN, or None.
_FromLink = Callable[[_Length, str, dict[str, str]], str | None]


def _sscc(p: _Length, key: str, q: dict[str, str]) -> str | None:
    n = p(key, 1)
    if q or n is None or not _numeric_key(key, 18):
        return None
    return f"urn:epc:id:sscc:{key[1 : 1 + n]}.{key[0]}{key[1 + n : 17]}"


def _gtin(p: _Length, key: str, q: dict[str, str]) -> str | None:
    fields = _gtin_fields(p, key) if _numeric_key(key, 14) else None
    if fields is None:
        return None
    cp, ref = fields
    if "21" in q:
        return f"urn:epc:id:sgtin:{cp}.{ref}.{urn_escape(q['21'])}"
    if "235" in q:
        return f"urn:epc:id:upui:{cp}.{ref}.{urn_escape(q['235'])}"
    if "10" in q:
        return f"urn:epc:class:lgtin:{cp}.{ref}.{urn_escape(q['10'])}"
    return None if q else f"urn:epc:idpat:sgtin:{cp}.{ref}.*"


def _itip(p: _Length, key: str, q: dict[str, str]) -> str | None:
    gtin, piece, total = key[:14], key[14:16], key[16:]
    fields = _gtin_fields(p, gtin) if _numeric_key(gtin, 14) and key.isdigit() else None
    if fields is None or len(key) != 18 or set(q) - {"21"}:
        return None
    cp, ref = fields
    serial = urn_escape(q["21"]) if "21" in q else None
    kind, last = ("id", serial) if serial is not None else ("idpat", "*")
    return f"urn:epc:{kind}:itip:{cp}.{ref}.{piece}.{total}.{last}"


def _gln(p: _Length, key: str, q: dict[str, str]) -> str | None:
    n = p(key, 0)
    if n is None or not _numeric_key(key, 13) or set(q) - {"254"}:
        return None
    return f"urn:epc:id:sgln:{key[:n]}.{key[n:12]}.{urn_escape(q.get('254', '0'))}"


def _numbered(scheme: str, size: int) -> _FromLink:
    """Keys that are company prefix + reference + check digit: pgln, gsrn, gsrnp, gsin."""

    def convert(p: _Length, key: str, q: dict[str, str]) -> str | None:
        n = p(key, 0)
        if q or n is None or not _numeric_key(key, size):
            return None
        return f"urn:epc:id:{scheme}:{key[:n]}.{key[n : size - 1]}"

    return convert


def _serialised(scheme: str, start: int, *, digits_only: bool = False) -> _FromLink:
    """Keys that are (filler +) company prefix + type + check digit, then a serial: grai,
    gdti, sgcn. No serial: the class pattern."""

    def convert(p: _Length, value: str, q: dict[str, str]) -> str | None:
        key, serial = value[: 13 + start], unquote(value[13 + start :])
        n = p(key, start)
        if q or n is None or not _numeric_key(key, 13 + start) or key[:start] not in ("", "0"):
            return None
        if digits_only and not ((serial.isascii() and serial.isdigit()) or not serial):
            return None
        body = f"{key[start : start + n]}.{key[start + n : 12 + start]}"
        if not serial:
            return f"urn:epc:idpat:{scheme}:{body}.*"
        return f"urn:epc:id:{scheme}:{body}.{urn_escape(serial)}"

    return convert


def _alphanumeric(scheme: str) -> _FromLink:
    """Keys that are company prefix + free text: giai, ginc."""

    def convert(p: _Length, value: str, q: dict[str, str]) -> str | None:
        text = unquote(value)
        n = p(text, 0)
        if q or n is None or len(text) == n or not text[:n].isdigit():
            return None
        return f"urn:epc:id:{scheme}:{text[:n]}.{urn_escape(text[n:])}"

    return convert


def _cpi(p: _Length, value: str, q: dict[str, str]) -> str | None:
    text = unquote(value)
    n = p(text, 0)
    if n is None or len(text) == n or not text[:n].isdigit() or set(q) - {"8011"}:
        return None
    body = f"{text[:n]}.{_cpi_escape(text[n:])}"
    if "8011" not in q:
        return f"urn:epc:idpat:cpi:{body}.*"
    return f"urn:epc:id:cpi:{body}.{q['8011']}" if q["8011"].isdigit() else None


_FROM_LINK: dict[str, _FromLink] = {
    "00": _sscc,
    "01": _gtin,
    "8006": _itip,
    "414": _gln,
    "417": _numbered("pgln", 13),
    "8018": _numbered("gsrn", 18),
    "8017": _numbered("gsrnp", 18),
    "402": _numbered("gsin", 17),
    "8003": _serialised("grai", 1),
    "253": _serialised("gdti", 0),
    "255": _serialised("sgcn", 0, digits_only=True),
    "8004": _alphanumeric("giai"),
    "401": _alphanumeric("ginc"),
    "8010": _cpi,
}


def _to_urn(uri: str, length: _Length) -> str | None:
    if not uri.startswith(("https://", "http://")):
        return None
    found = _key_and_qualifiers(uri)
    if found is None:
        return None
    ai, value, qualifiers = found
    return _FROM_LINK[ai](length, value, qualifiers)


@lru_cache(maxsize=65_536)
def to_epc_urn(uri: str, prefixes: CompanyPrefixes = NO_PREFIXES) -> str:
    """A GS1 Digital Link (any host) as its EPC URN when ``prefixes`` knows its company prefix;
    any other string, or a key whose prefix is unknown, unchanged."""
    return _to_urn(uri, _known(prefixes)) or uri


def alternatives(uri: str) -> list[str]:
    """``uri`` and the other forms of the same GS1 key: the Digital Link of an EPC URN, or every
    EPC URN a Digital Link can be read as (one per company prefix length, 6 to 12 digits: they
    all name the same key). For matching a value given in one form with events stored in the
    other; anything else gives just ``[uri]``."""
    found = [uri, to_digital_link(uri)]
    found += [urn for n in range(6, 13) if (urn := _to_urn(uri, _fixed(n))) is not None]
    return list(dict.fromkeys(found))


def epc_converter(
    epc_format: str, prefixes: CompanyPrefixes = NO_PREFIXES
) -> Callable[[str], str] | None:
    """The identifier conversion a GS1-EPC-Format asks for; None: keep identifiers as stored."""
    if epc_format == ALWAYS_DIGITAL_LINK:
        return to_digital_link
    if epc_format == ALWAYS_EPC_URN:
        return partial(to_epc_urn, prefixes=prefixes)
    return None


# --- events ----------------------------------------------------------------------------------


def _with(obj: Any, key: str, convert: Callable[[str], str]) -> Any:
    """``obj`` (a dict) with its string ``key`` converted; a copy only when it changes."""
    if not isinstance(obj, dict):
        return obj
    value = obj.get(key)
    if not isinstance(value, str):
        return obj
    new = convert(value)
    return obj if new == value else {**obj, key: new}


def _each(items: Any, key: str, convert: Callable[[str], str]) -> Any:
    return [_with(i, key, convert) for i in items] if isinstance(items, list) else items


def format_event(event: dict[str, Any], convert: Callable[[str], str]) -> dict[str, Any]:
    """A copy of ``event`` with its identifier fields converted (the input is not changed)."""
    out = dict(event)
    for key in _EPC_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [convert(v) if isinstance(v, str) else v for v in out[key]]
    if isinstance(out.get("parentID"), str):
        out["parentID"] = convert(out["parentID"])
    for key in _QUANTITY_LISTS:
        if key in out:
            out[key] = _each(out[key], "epcClass", convert)
    for key in ("readPoint", "bizLocation"):
        if key in out:
            out[key] = _with(out[key], "id", convert)
    for key, item in _LISTS_OF:
        if key in out:
            out[key] = _each(out[key], item, convert)
    if isinstance(out.get("sensorElementList"), list):
        out["sensorElementList"] = [_sensor(e, convert) for e in out["sensorElementList"]]
    return out


def _sensor(element: Any, convert: Callable[[str], str]) -> Any:
    if not isinstance(element, dict):
        return element
    element = dict(element)
    if "sensorMetadata" in element:
        element["sensorMetadata"] = _with(element["sensorMetadata"], "deviceID", convert)
    if "sensorReport" in element:
        element["sensorReport"] = _each(element["sensorReport"], "deviceID", convert)
    return element


def apply_epc_format(
    document: dict[str, Any], epc_format: str, prefixes: CompanyPrefixes = NO_PREFIXES
) -> None:
    """Convert the identifiers of every event of an event or query document, in place."""
    convert = epc_converter(epc_format, prefixes)
    if convert is None:
        return
    events = events_of(document)
    events[:] = [format_event(e, convert) if isinstance(e, dict) else e for e in events]


# --- CBV values in XML -----------------------------------------------------------------------

_WEB = "https://ref.gs1.org/cbv/"
# The CBV vocabularies an XML event carries as URN or Web URI: (vocabulary, Web URI prefix).
_CBV = {
    "bizStep": (BIZ_STEP, _WEB + "BizStep-"),
    "disposition": (DISPOSITION, _WEB + "Disp-"),
    "bizTransaction": (BIZ_TRANSACTION_TYPE, _WEB + "BTT-"),
    "source": (SOURCE_DEST_TYPE, _WEB + "SDT-"),
    "reason": (ERROR_REASON, _WEB + "ER-"),
}


def _cbv_term(value: Any, vocabulary: Vocabulary, web: str, cbv_format: str) -> Any:
    """A CBV value as a Web URI (Always_Web_URI) or as its URN (Always_URN). JSON holds the
    standard terms bare, which the XML writer turns into URNs; other values pass."""
    if not isinstance(value, str):
        return value
    urn = vocabulary.cbv1_urn or ""
    term = value
    if value.startswith(web):
        term = value[len(web) :]
    elif urn and value.startswith(urn):
        term = value[len(urn) :]
    if term == value and value not in vocabulary.terms:
        return value  # not a CBV term in any form: a user vocabulary
    if cbv_format == ALWAYS_WEB_URI:
        return web + term
    return urn + term if urn else value


def apply_cbv_xml_format(document: dict[str, Any], cbv_format: str) -> None:
    """Write the CBV values of every event as Web URIs or URNs (XML output only), in place."""
    if cbv_format not in (ALWAYS_WEB_URI, ALWAYS_URN):
        return
    events = events_of(document)
    events[:] = [_cbv_event(e, cbv_format) if isinstance(e, dict) else e for e in events]


def _cbv_event(event: dict[str, Any], cbv_format: str) -> dict[str, Any]:
    out = dict(event)
    for key in ("bizStep", "disposition"):
        if key in out:
            out[key] = _cbv_term(out[key], *_CBV[key], cbv_format)
    persistent = out.get("persistentDisposition")
    if isinstance(persistent, dict):
        out["persistentDisposition"] = {
            k: [_cbv_term(v, *_CBV["disposition"], cbv_format) for v in vs]
            if isinstance(vs, list)
            else vs
            for k, vs in persistent.items()
        }
    for key, kind in (("bizTransactionList", "bizTransaction"), ("sourceList", "source"),
                      ("destinationList", "source")):  # fmt: skip
        if isinstance(out.get(key), list):
            out[key] = [
                {**i, "type": _cbv_term(i["type"], *_CBV[kind], cbv_format)}
                if isinstance(i, dict) and "type" in i
                else i
                for i in out[key]
            ]
    declaration = out.get("errorDeclaration")
    if isinstance(declaration, dict) and "reason" in declaration:
        reason = _cbv_term(declaration["reason"], *_CBV["reason"], cbv_format)
        out["errorDeclaration"] = {**declaration, "reason": reason}
    return out
