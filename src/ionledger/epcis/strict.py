"""Strict EPCIS 2.0 JSON validation: GS1's official JSON schema, implemented natively.

:func:`strict_findings` holds an EPCIS 2.0 JSON-LD document to the rules of GS1's
``EPCIS-JSON-Schema.json`` (draft-07) and returns every deviation as a :class:`Finding` (JSON
pointer, rule id, message, event index). The schema cannot be shipped or loaded at run time, so
its rules live here as data tables (:data:`SHAPES`, :data:`EVENT_SPECS`, the vocabularies) and
small functions; ``tests/test_strict.py`` holds them to the official schema.

How the schema is read (definition names in quotes):

* The root dispatches on ``type`` with ``if``/``then``: "epcisDocument", "epcisQueryDocument",
  the five event types (plus "required-ld-context"), and "Extended-Event" (``type`` a URI) for
  anything else. Members of an "eventList" dispatch the same way ("EPCIS-Document-Event").
  When ``type`` is absent every ``if`` holds vacuously, so every branch applies; we report the
  missing ``type`` plus what the branch the object resembles says (each of those is also an
  error of the official schema), not the other branches' consequences.
* Objects list their members in ``properties`` and admit others only under URI names
  (``propertyNames``: the listed names or "vocab-uri"); "quantityElement", "bizTransaction",
  "source", "destination" and "persistentDisposition" admit no others at all
  (``additionalProperties: false``); "ilmd" admits only URI names.
* CBV fields are ``anyOf`` [a bare CBV 2.0 term, a URI outside the CBV namespaces]
  ("vocab-other-uri" refuses ``urn:epcglobal:cbv...`` and ``http(s)://ns.gs1.org/cbv/``);
  measurement and alert types refuse GS1 Web Vocabulary URIs instead ("vocab-nonGS1WebVoc-uri").
  So CBV 1.x URNs such as ``urn:epcglobal:cbv:btt:po`` are errors.
* Each event type has an ``anyOf`` saying what the event must be about (EPCs, quantities, ...);
  an ObjectEvent may carry ``ilmd`` only with action ADD.

Where JSON Schema leaves a choice, we take the standard's reading: formats are asserted
(``date-time`` is RFC 3339 section 5.6 with a UTC offset, ``uri`` is RFC 3986 ``URI``), and
patterns are ECMA-262 (``$`` is the end of the string, ``\\d`` is ASCII).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "ACTIONS",
    "BIZ_STEP",
    "BIZ_TRANSACTION_TYPE",
    "COMPONENT",
    "DISPOSITION",
    "DOCUMENT_TYPES",
    "ERROR_REASON",
    "EVENT_SPECS",
    "EVENT_TYPES",
    "MEASUREMENT_TYPE",
    "SENSOR_ALERT_TYPE",
    "SENSOR_REPORT_DECIMALS",
    "SHAPES",
    "SOURCE_DEST_TYPE",
    "EventSpec",
    "Finding",
    "Shape",
    "Vocabulary",
    "is_date_time",
    "is_uri",
    "strict_findings",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One deviation from the official schema."""

    pointer: str  # RFC 6901 JSON pointer into the document
    rule: str  # stable rule id: type, required, enum, pattern, format.uri, ...
    message: str  # what was wrong and what the schema wants
    event: int | None  # index of the event in its eventList; None for document level


class _Out:
    """Collects findings; knows which event of the eventList is being checked."""

    __slots__ = ("event", "findings", "seen")

    def __init__(self) -> None:
        self.event: int | None = None
        self.findings: list[Finding] = []
        self.seen: set[Finding] = set()

    def add(self, pointer: str, rule: str, message: str) -> None:
        finding = Finding(pointer, rule, message, self.event)
        if finding not in self.seen:  # an untyped event runs several branches' checks
            self.seen.add(finding)
            self.findings.append(finding)


Check = Callable[[Any, str, _Out], None]
Rule = Callable[[dict[str, Any], str, _Out], None]


# --- formats --------------------------------------------------------------------------------

# RFC 3986 appendix A, "URI". IPv4address is left out of host: reg-name admits all of it.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_H16 = r"[0-9A-Fa-f]{1,4}"
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LS32 = rf"(?:{_H16}:{_H16}|{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}})"
_IPV6 = "|".join(
    (
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
        rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
        rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
        rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
    )
)
_IP_LITERAL = rf"\[(?:{_IPV6}|[Vv][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+)\]"
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
_AUTHORITY = (
    rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?(?:{_IP_LITERAL}|{_REG_NAME})(?::[0-9]*)?"
)
_HIER_PART = (
    rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*"  # "//" authority path-abempty
    rf"|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"  # path-absolute
    rf"|{_PCHAR}+(?:/{_PCHAR}*)*"  # path-rootless
    r"|)"  # path-empty
)
_QUERY = rf"(?:{_PCHAR}|[/?])*"
_URI: Final = re.compile(rf"[A-Za-z][A-Za-z0-9+\-.]*:{_HIER_PART}(?:\?{_QUERY})?(?:#{_QUERY})?")
_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:")
_URI_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?#[]%"
)


def is_uri(text: str) -> bool:
    """Whether ``text`` is an RFC 3986 URI (a scheme, then a hierarchical or opaque part)."""
    return _URI.fullmatch(text) is not None


def _uri_problem(text: str) -> str:
    if _SCHEME.match(text) is None:
        return f"{_show(text)} is not a URI: it has no scheme (such as 'urn:' or 'https:')"
    bad = next((c for c in text if c not in _URI_CHARS), None)
    if bad is not None:
        return f"{_show(text)} is not a URI: {bad!r} must be percent-encoded"
    return f"{_show(text)} is not an RFC 3986 URI"


# RFC 3339 section 5.6 date-time; "T" and "Z" may be lower case (ABNF strings are
# case-insensitive); the offset is mandatory. Leap seconds (:60) and year 0000 are refused:
# Python's datetime holds neither, and neither does the checker jsonschema uses.
_DATE_TIME: Final = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.[0-9]+)?"
    r"(?P<offset>[Zz]|[+-](?P<oh>[0-9]{2}):(?P<om>[0-9]{2}))?"
)
_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _date_time_problem(text: str) -> str | None:
    """Why ``text`` is not an RFC 3339 date-time with offset; None when it is one."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return f"{_show(text)} is not an RFC 3339 date-time such as '2024-03-01T10:00:00+01:00'"
    year, month, day = (int(match[k]) for k in ("year", "month", "day"))
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    limits = (
        ("year", year, 1, 9999),
        ("month", month, 1, 12),
        ("day", day, 1, 29 if month == 2 and leap else _DAYS[min(max(month, 1), 12) - 1]),
        ("hour", int(match["hour"]), 0, 23),
        ("minute", int(match["minute"]), 0, 59),
        ("second", int(match["second"]), 0, 59),
        ("offset hour", int(match["oh"] or 0), 0, 23),
        ("offset minute", int(match["om"] or 0), 0, 59),
    )
    for name, number, low, high in limits:
        if not low <= number <= high:
            return f"{_show(text)} is not a date-time: {name} {number} is out of range"
    if match["offset"] is None:
        return f"{_show(text)} has no UTC offset; the schema requires one (Z or ±HH:MM)"
    return None


def is_date_time(text: str) -> bool:
    """Whether ``text`` is an RFC 3339 date-time with a UTC offset."""
    return _date_time_problem(text) is None


# --- vocabularies ---------------------------------------------------------------------------

# "vocab-other-uri": a URI, but not one of the CBV's own namespaces.
_CBV_NAMESPACES: Final = re.compile(r"urn:epcglobal:cbv|https?://ns\.gs1\.org/cbv/")
# "vocab-nonGS1WebVoc-uri": a URI, but not one of the GS1 Web Vocabulary's.
_GS1_WEB_VOC: Final = re.compile(r"https?://gs1\.org/voc/|https?://www\.gs1\.org/voc/")
_RESERVED: Final = {
    _CBV_NAMESPACES: "the CBV's own namespaces (urn:epcglobal:cbv..., https://ns.gs1.org/cbv/...)",
    _GS1_WEB_VOC: "the GS1 Web Vocabulary (https://gs1.org/voc/...)",
}


def _terms(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A CBV-style field: one of ``terms``, or a URI that ``reserved`` does not match."""

    name: str  # the schema's definition name
    terms: frozenset[str]
    reserved: re.Pattern[str]  # URIs refused in place of a term
    cbv1_urn: str | None = None  # CBV 1.x URN prefix whose suffixes are the terms


BIZ_STEP: Final = Vocabulary(
    "bizStep",
    _terms(
        "accepting arriving assembling collecting commissioning consigning"
        " creating_class_instance cycle_counting decommissioning departing destroying"
        " disassembling dispensing encoding entering_exiting holding inspecting installing"
        " killing loading other packing picking receiving removing repackaging repairing"
        " replacing reserving retail_selling shipping staging_outbound stock_taking stocking"
        " storing transporting unloading unpacking void_shipping sensor_reporting sampling"
    ),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:bizstep:",
)
DISPOSITION: Final = Vocabulary(
    "disposition",
    _terms(
        "active container_closed damaged destroyed dispensed disposed encoded expired"
        " in_progress in_transit inactive no_pedigree_match non_sellable_other"
        " partially_dispensed recalled reserved retail_sold returned sellable_accessible"
        " sellable_not_accessible stolen unknown available completeness_verified"
        " completeness_inferred conformant container_open mismatch_instance mismatch_class"
        " mismatch_quantity needs_replacement non_conformant unavailable"
    ),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:disp:",
)
BIZ_TRANSACTION_TYPE: Final = Vocabulary(
    "bizTransaction-type",
    _terms("bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt"),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:btt:",
)
SOURCE_DEST_TYPE: Final = Vocabulary(
    "source-dest-type",
    frozenset({"owning_party", "possessing_party", "location"}),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:sdt:",
)
ERROR_REASON: Final = Vocabulary(
    "error-reason",
    frozenset({"did_not_occur", "incorrect_data"}),
    _CBV_NAMESPACES,
    "urn:epcglobal:cbv:er:",
)
COMPONENT: Final = Vocabulary(  # new in CBV 2.0: no 1.x URN form
    "component",
    _terms(
        "x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle"
        " easting northing latitude longitude altitude"
    ),
    _CBV_NAMESPACES,
)
MEASUREMENT_TYPE: Final = Vocabulary(
    "measurementType",
    _terms(
        "AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude"
        " AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration"
        " AngularMomentum AngularVelocity Area Capacitance Conductance Conductivity Count"
        " Density Dimensionless DoseEquivalent DoseEquivalentRate DynamicViscosity"
        " ElectricCharge ElectricCurrent ElectricCurrentDensity ElectricFieldStrength Energy"
        " Exposure Force Frequency Illuminance Inductance Irradiance KinematicViscosity Length"
        " LinearMomentum Luminance LuminousFlux LuminousIntensity MagneticFlux"
        " MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate"
        " MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume"
        " Power Pressure RadiantFlux RadiantIntensity RelativeHumidity Resistance Resistivity"
        " SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque"
        " Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber"
    ),
    _GS1_WEB_VOC,
)
SENSOR_ALERT_TYPE: Final = Vocabulary(
    "sensorAlertType", frozenset({"ALARM_CONDITION", "ERROR_CONDITION"}), _GS1_WEB_VOC
)

ACTIONS: Final = ("OBSERVE", "ADD", "DELETE")  # "action"
EVENT_TYPES: Final = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
DOCUMENT_TYPES: Final = ("EPCISDocument", "EPCISQueryDocument")


# --- value checks ---------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as messages quote it: strings in single quotes, the rest as JSON, cut short."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_TESTS: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
_ARTICLES: Final = {"string": "a", "number": "a", "boolean": "a", "object": "an", "array": "an"}


def _wrong_type(value: Any, wants: str, ptr: str, out: _Out) -> None:
    out.add(ptr, "type", f"value {_show(value)} is {_kind(value)}; the schema requires {wants}")


def _typed(kind: str, value: Any, ptr: str, out: _Out) -> bool:
    if _TYPE_TESTS[kind](value):
        return True
    _wrong_type(value, f"{_ARTICLES[kind]} {kind}", ptr, out)
    return False


def _ok(value: Any, ptr: str, out: _Out) -> None:
    """A member whose value the dispatch on ``type`` has already settled."""


def _string(value: Any, ptr: str, out: _Out) -> None:  # "string"
    _typed("string", value, ptr, out)


def _number(value: Any, ptr: str, out: _Out) -> None:  # "decimal"
    _typed("number", value, ptr, out)


def _boolean(value: Any, ptr: str, out: _Out) -> None:  # "boolean"
    _typed("boolean", value, ptr, out)


def _uri(value: Any, ptr: str, out: _Out) -> None:  # "uri", "id", "eventID", "vocab-uri"
    if _typed("string", value, ptr, out) and not is_uri(value):
        out.add(ptr, "format.uri", _uri_problem(value))


def _time(value: Any, ptr: str, out: _Out) -> None:  # "time"
    if _typed("string", value, ptr, out) and (why := _date_time_problem(value)) is not None:
        out.add(ptr, "format.date-time", why)


def _pattern(regex: str, wants: str) -> Check:
    compiled = re.compile(regex)

    def check(value: Any, ptr: str, out: _Out) -> None:
        if _typed("string", value, ptr, out) and compiled.fullmatch(value) is None:
            out.add(ptr, "pattern", f"{_show(value)} is not {wants}")

    return check


_version = _pattern(r"[0-9]+(?:\.[0-9]+)*", "a version number such as '2.0'")  # "version"
_uom = _pattern(r"[A-Z0-9]{2,3}", "a UN/CEFACT Rec. 20 unit code (2-3 capitals or digits)")
_hex_binary = _pattern(r"[A-Fa-f0-9]+", "hexadecimal (hexBinary)")
# "Event".eventTimeZoneOffset
_tz_offset = _pattern(
    r"[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)", "a UTC offset ±HH:MM from -14:00 to +14:00"
)


def _action(value: Any, ptr: str, out: _Out) -> None:  # "action"
    if _typed("string", value, ptr, out) and value not in ACTIONS:
        out.add(ptr, "enum", f"action {_show(value)} is not one of {', '.join(ACTIONS)}")


def _vocab(vocab: Vocabulary) -> Check:
    """anyOf [a URI outside ``vocab.reserved``, one of ``vocab.terms``]."""

    def check(value: Any, ptr: str, out: _Out) -> None:
        if not isinstance(value, str):
            _wrong_type(value, f"a string (a {vocab.name} term or a URI)", ptr, out)
        elif value not in vocab.terms and (vocab.reserved.match(value) or not is_uri(value)):
            out.add(ptr, "enum", _vocab_problem(vocab, value))

    return check


def _vocab_problem(vocab: Vocabulary, value: str) -> str:
    said = f"{vocab.name} {_show(value)}"
    prefix = vocab.cbv1_urn
    if prefix and value.startswith(prefix) and value[len(prefix) :] in vocab.terms:
        term = value[len(prefix) :]
        return f"{said} is a CBV 1.x URN; the EPCIS 2.0 schema wants the bare CBV term '{term}'"
    if vocab.reserved.match(value):
        tail = re.split(r"[/:#-]", value)[-1]
        term = f" ('{tail}' here)" if tail in vocab.terms else ""
        return (
            f"{said} is in {_RESERVED[vocab.reserved]}, which the schema reserves; it wants the"
            f" bare {vocab.name} term{term} or a URI outside them"
        )
    guess = difflib.get_close_matches(value, vocab.terms, n=1)
    hint = f"; did you mean '{guess[0]}'?" if guess else ""
    return f"{said} is neither a {vocab.name} term of the schema nor a URI{hint}"


def _array(item: Check, *, min_items: int = 0, unique: bool = False) -> Check:
    def check(value: Any, ptr: str, out: _Out) -> None:
        if not _typed("array", value, ptr, out):
            return
        if len(value) < min_items:
            out.add(
                ptr, "minItems", f"the array has {len(value)} items; the schema wants {min_items}+"
            )
        for i, member in enumerate(value):
            item(member, f"{ptr}/{i}", out)
        if unique:
            _unique(value, ptr, out)

    return check


def _json_key(value: Any) -> Any:
    """A hashable key equal for JSON-equal values (true is not 1; 1 is 1.0)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, list):
        return ("array", tuple(_json_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _json_key(v)) for k, v in value.items()))
    return ("value", value)


def _unique(items: list[Any], ptr: str, out: _Out) -> None:  # uniqueItems
    first: dict[Any, int] = {}
    for i, member in enumerate(items):
        key = _json_key(member)
        if key in first:
            out.add(f"{ptr}/{i}", "uniqueItems", f"item {i} repeats item {first[key]}")
        else:
            first[key] = i


def _context(value: Any, ptr: str, out: _Out) -> None:  # "@context"
    if isinstance(value, str):
        _uri(value, ptr, out)
    elif isinstance(value, list):
        for i, member in enumerate(value):
            if isinstance(member, str):
                _uri(member, f"{ptr}/{i}", out)
            elif not isinstance(member, dict):
                _wrong_type(member, "a URI or an object", f"{ptr}/{i}", out)
        _unique(value, ptr, out)
    elif not isinstance(value, dict):
        _wrong_type(value, "a URI, an object or an array of them", ptr, out)


def _certification_info(value: Any, ptr: str, out: _Out) -> None:  # "certificationInfo"
    if isinstance(value, list):
        for i, member in enumerate(value):
            _uri(member, f"{ptr}/{i}", out)
    elif isinstance(value, str):
        _uri(value, ptr, out)
    else:
        _wrong_type(value, "a URI or an array of URIs", ptr, out)


def _attribute_value(value: Any, ptr: str, out: _Out) -> None:  # "attribute".attribute
    if not (_is_number(value) or isinstance(value, str | dict)):
        _wrong_type(value, "a number, a string or an object", ptr, out)


# --- objects --------------------------------------------------------------------------------

_Names = Literal["open", "closed", "extensible", "uris"]
_NAMES_WANTED: Final = {
    "closed": "admits no other members (additionalProperties: false)",
    "extensible": "admits other members only under URI names (such as 'ex:note')",
    "uris": "admits only members named by URIs",
}


@dataclass(frozen=True, slots=True)
class Shape:
    """A JSON object of the schema: its members' checks, required members, other members.

    ``names``: "open" admits any other member; "closed" none (``additionalProperties: false``);
    "extensible" only URI-named ones (``propertyNames``: the listed names or "vocab-uri");
    "uris" admits URI-named members only ("ilmd").
    """

    name: str
    fields: Mapping[str, Check]
    required: tuple[str, ...] = ()
    names: _Names = "open"


def _check_shape(shape: Shape, value: Any, ptr: str, out: _Out) -> bool:
    if not isinstance(value, dict):
        _wrong_type(value, f"an object ({shape.name})", ptr, out)
        return False
    for name in shape.required:
        if name not in value:
            out.add(ptr, "required", f"{shape.name} requires '{name}'")
    for key, member in value.items():
        child = f"{ptr}/{key.replace('~', '~0').replace('/', '~1')}"
        check = shape.fields.get(key)
        if check is not None:
            check(member, child, out)
        elif shape.names == "closed":
            out.add(child, "additionalProperties", _names_message(shape, key))
        elif shape.names != "open" and not is_uri(key):
            out.add(child, "propertyNames", _names_message(shape, key))
    return True


def _names_message(shape: Shape, key: str) -> str:
    what = f"member {_show(key)} is not a field of {shape.name}"
    if shape.names == "uris":
        what = f"member {_show(key)} is not named by a URI"
    return f"{what}, which {_NAMES_WANTED[shape.names]}"


def _object(shape: Shape) -> Check:
    def check(value: Any, ptr: str, out: _Out) -> None:
        _check_shape(shape, value, ptr, out)

    return check


def _shape(name: str, fields: Mapping[str, Check], *required: str, names: _Names) -> Shape:
    shape = Shape(name, fields, required, names)
    SHAPES[name] = shape
    return shape


SHAPES: Final[dict[str, Shape]] = {}  # by the schema's definition name

_QUANTITY_ELEMENT = _shape(
    "quantityElement",
    {"epcClass": _uri, "quantity": _number, "uom": _uom},
    "epcClass",
    names="closed",
)
_quantity_list = _array(_object(_QUANTITY_ELEMENT))  # "quantityList"
_epc_list = _array(_uri, unique=True)  # "epcList"
_uri_list = _array(_uri)  # childEPCs, and epcList of a TransactionEvent: no uniqueItems there
_dispositions = _array(_vocab(DISPOSITION), min_items=1, unique=True)
_PERSISTENT_DISPOSITION = _shape(
    "persistentDisposition", {"set": _dispositions, "unset": _dispositions}, names="closed"
)


def _persistent_disposition(value: Any, ptr: str, out: _Out) -> None:
    # allOf [the closed object, anyOf [required set, required unset]]
    if _check_shape(_PERSISTENT_DISPOSITION, value, ptr, out) and not {"set", "unset"} & set(value):
        out.add(ptr, "anyOf", "persistentDisposition needs 'set' or 'unset'")


_READ_POINT = _shape("readPoint", {"id": _uri}, "id", names="open")
_BIZ_LOCATION = _shape("bizLocation", {"id": _uri}, "id", names="open")
_BIZ_TRANSACTION = _shape(
    "bizTransaction",
    {"type": _vocab(BIZ_TRANSACTION_TYPE), "bizTransaction": _uri},
    "bizTransaction",
    names="closed",
)
_SOURCE = _shape(
    "source", {"type": _vocab(SOURCE_DEST_TYPE), "source": _uri}, "type", "source", names="closed"
)
_DESTINATION = _shape(
    "destination",
    {"type": _vocab(SOURCE_DEST_TYPE), "destination": _uri},
    "type",
    "destination",
    names="closed",
)
_SENSOR_METADATA = _shape(
    "sensorMetadata",
    {
        "time": _time,
        "deviceID": _uri,
        "deviceMetadata": _uri,
        "rawData": _uri,
        "startTime": _time,
        "endTime": _time,
        "dataProcessingMethod": _uri,
        "bizRules": _uri,
    },
    names="extensible",
)
SENSOR_REPORT_DECIMALS: Final = (  # the sensorReport members that are "decimal"
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
)
_SENSOR_REPORT = _shape(
    "sensorReport",
    {
        "type": _vocab(MEASUREMENT_TYPE),
        "exception": _vocab(SENSOR_ALERT_TYPE),
        "deviceID": _uri,
        "deviceMetadata": _uri,
        "rawData": _uri,
        "dataProcessingMethod": _uri,
        "bizRules": _uri,
        "time": _time,
        "microorganism": _uri,
        "chemicalSubstance": _uri,
        "coordinateReferenceSystem": _uri,
        "component": _vocab(COMPONENT),
        "stringValue": _string,
        "booleanValue": _boolean,
        "hexBinaryValue": _hex_binary,
        "uriValue": _uri,
        "uom": _string,  # "string" here, not "uom": no pattern for sensor units
    }
    | dict.fromkeys(SENSOR_REPORT_DECIMALS, _number),
    "type",
    names="extensible",
)
_SENSOR_ELEMENT = _shape(
    "sensorElement",
    {
        "sensorMetadata": _object(_SENSOR_METADATA),
        "sensorReport": _array(_object(_SENSOR_REPORT), min_items=1),  # "sensorReportList"
    },
    "sensorReport",
    names="extensible",
)
_ILMD = _shape("ilmd", {}, names="uris")
_ERROR_DECLARATION = _shape(
    "errorDeclaration",
    {
        "declarationTime": _time,
        "reason": _vocab(ERROR_REASON),
        "correctiveEventIDs": _array(_uri),
    },
    "declarationTime",
    names="extensible",
)

# "Event": what every event has; "type" is listed in "common-event-properties".
_EVENT_FIELDS: Final[dict[str, Check]] = {
    "@context": _context,
    "type": _ok,
    "eventTime": _time,
    "recordTime": _time,
    "eventTimeZoneOffset": _tz_offset,
    "eventID": _uri,
    "certificationInfo": _certification_info,
    "errorDeclaration": _object(_ERROR_DECLARATION),
}
_EVENT_REQUIRED: Final = ("eventTime", "eventTimeZoneOffset")
_WHERE: Final[dict[str, Check]] = {
    "bizStep": _vocab(BIZ_STEP),
    "disposition": _vocab(DISPOSITION),
    "readPoint": _object(_READ_POINT),
    "bizLocation": _object(_BIZ_LOCATION),
}
_biz_transactions = _array(_object(_BIZ_TRANSACTION))
_PARTIES: Final[dict[str, Check]] = {
    "sourceList": _array(_object(_SOURCE)),
    "destinationList": _array(_object(_DESTINATION)),
    "sensorElementList": _array(_object(_SENSOR_ELEMENT)),
}
_CHILDREN: Final[dict[str, Check]] = {
    "parentID": _uri,
    "childEPCs": _uri_list,
    "childQuantityList": _quantity_list,
    "action": _action,
}


def _nonempty(event: dict[str, Any], key: str) -> bool:
    value = event.get(key)
    return isinstance(value, list) and len(value) > 0


def _deleting(event: dict[str, Any]) -> bool:
    """The anyOf branch ``{"properties": {"action": {"pattern": "^DELETE$"}}}``."""
    return "action" not in event or event["action"] == "DELETE"


def _object_event_about(event: dict[str, Any], ptr: str, out: _Out) -> None:
    if not (
        isinstance(event.get("epcList"), list)
        or _nonempty(event, "quantityList")
        or (_nonempty(event, "sensorElementList") and "readPoint" in event)
    ):
        out.add(
            ptr,
            "anyOf",
            "an ObjectEvent needs epcList, a non-empty quantityList, or a non-empty"
            " sensorElementList with a readPoint",
        )


def _ilmd_needs_add(event: dict[str, Any], ptr: str, out: _Out) -> None:
    # anyOf [no ilmd and OBSERVE, no ilmd and DELETE, ADD]; other actions fail "action" itself
    action = event.get("action")
    if "ilmd" in event and action in ("OBSERVE", "DELETE"):
        out.add(ptr + "/ilmd", "not", f"ilmd is allowed only with action ADD, not {action}")


def _children_about(event: dict[str, Any], ptr: str, out: _Out) -> None:
    if not (
        _deleting(event) or _nonempty(event, "childEPCs") or _nonempty(event, "childQuantityList")
    ):
        out.add(
            ptr,
            "anyOf",
            f"an {event.get('type')} whose action is not DELETE needs a non-empty childEPCs"
            " or childQuantityList",
        )


def _transaction_about(event: dict[str, Any], ptr: str, out: _Out) -> None:
    if not (
        _deleting(event)
        or isinstance(event.get("epcList"), list)
        or _nonempty(event, "quantityList")
    ):
        out.add(
            ptr,
            "anyOf",
            "a TransactionEvent whose action is not DELETE needs epcList or a non-empty"
            " quantityList",
        )


def _transformation_about(event: dict[str, Any], ptr: str, out: _Out) -> None:
    inputs = _nonempty(event, "inputEPCList") or _nonempty(event, "inputQuantityList")
    outputs = _nonempty(event, "outputEPCList") or _nonempty(event, "outputQuantityList")
    if not ((inputs and outputs) or ("transformationID" in event and (inputs or outputs))):
        out.add(
            ptr,
            "anyOf",
            "a TransformationEvent needs non-empty inputs (inputEPCList or inputQuantityList)"
            " and outputs (outputEPCList or outputQuantityList), or a transformationID with"
            " either",
        )


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event type: its members (``Shape``, ``propertyNames`` as listed or URI) and the
    rules across members (the schema's ``anyOf`` parts)."""

    shape: Shape
    rules: tuple[Rule, ...]


def _event_spec(
    name: str, fields: dict[str, Check], required: tuple[str, ...], *rules: Rule
) -> EventSpec:
    shape = _shape(name, _EVENT_FIELDS | fields, *_EVENT_REQUIRED, *required, names="extensible")
    return EventSpec(shape, rules)


EVENT_SPECS: Final[dict[str, EventSpec]] = {
    "ObjectEvent": _event_spec(
        "ObjectEvent",
        {
            "epcList": _epc_list,
            "quantityList": _quantity_list,
            "action": _action,
            **_WHERE,
            "persistentDisposition": _persistent_disposition,
            "bizTransactionList": _biz_transactions,
            **_PARTIES,
            "ilmd": _object(_ILMD),
        },
        ("type", "action"),
        _object_event_about,
        _ilmd_needs_add,
    ),
    "AggregationEvent": _event_spec(
        "AggregationEvent",
        {**_CHILDREN, **_WHERE, "bizTransactionList": _biz_transactions, **_PARTIES},
        ("type", "action"),
        _children_about,
    ),
    "TransactionEvent": _event_spec(
        "TransactionEvent",
        {
            "bizTransactionList": _array(_object(_BIZ_TRANSACTION), min_items=1),
            "parentID": _uri,
            "epcList": _uri_list,
            "quantityList": _quantity_list,
            "action": _action,
            **_WHERE,
            **_PARTIES,
        },
        ("type", "bizTransactionList", "action"),
        _transaction_about,
    ),
    "TransformationEvent": _event_spec(
        "TransformationEvent",
        {
            "inputEPCList": _epc_list,
            "inputQuantityList": _quantity_list,
            "outputEPCList": _epc_list,
            "outputQuantityList": _quantity_list,
            "transformationID": _uri,
            **_WHERE,
            "persistentDisposition": _persistent_disposition,
            "bizTransactionList": _biz_transactions,
            **_PARTIES,
            "ilmd": _object(_ILMD),
        },
        ("type",),
        _transformation_about,
    ),
    "AssociationEvent": _event_spec(
        "AssociationEvent",
        {**_CHILDREN, **_WHERE, "bizTransactionList": _biz_transactions, **_PARTIES},
        ("type", "action", "parentID"),
        _children_about,
    ),
}
# "Extended-Event": an event of a type named by a URI; only the "Event" rules apply.
_EXTENDED_EVENT = _shape("Extended-Event", _EVENT_FIELDS, *_EVENT_REQUIRED, "type", names="open")


def _any_event_checks() -> dict[str, tuple[Check, ...]]:
    """An event without "type" falls under every event type's branch at once: each member
    gets the checks of every type that defines it."""
    checks: dict[str, tuple[Check, ...]] = {}
    for spec in EVENT_SPECS.values():
        for key, check in spec.shape.fields.items():
            if check not in checks.get(key, ()):
                checks[key] = (*checks.get(key, ()), check)
    return checks


_ANY_EVENT_CHECKS: Final = _any_event_checks()


def _event_type(value: Any, ptr: str, out: _Out, *, top: bool) -> None:
    """The ``type`` of an event that is none of the five: "Extended-Event" wants a URI."""
    known = (*DOCUMENT_TYPES, *EVENT_TYPES) if top else EVENT_TYPES
    if not isinstance(value, str):
        _wrong_type(value, "a string (an event type)", ptr, out)
    elif not is_uri(value):
        out.add(
            ptr,
            "enum",
            f"type {_show(value)} is not one of {', '.join(known)} nor a URI naming an"
            " extension event type",
        )


def _event(value: Any, ptr: str, out: _Out, *, top: bool = False) -> None:
    """An event ("EPCIS-Document-Event"; at the top, with "required-ld-context")."""
    if not isinstance(value, dict):
        _wrong_type(value, "an object (an event)", ptr, out)
        return
    kind = value.get("type")
    spec = EVENT_SPECS.get(kind) if isinstance(kind, str) else None
    if spec is not None:
        _check_shape(spec.shape, value, ptr, out)
        for rule in spec.rules:
            rule(value, ptr, out)
    elif "type" in value:
        _check_shape(_EXTENDED_EVENT, value, ptr, out)
        _event_type(kind, ptr + "/type", out, top=top)
    else:
        out.add(ptr, "required", f"an event requires 'type' ({', '.join(EVENT_TYPES)} or a URI)")
        for name in _EVENT_REQUIRED:
            if name not in value:
                out.add(ptr, "required", f"an event requires '{name}'")
        for key, member in value.items():
            child = f"{ptr}/{key.replace('~', '~0').replace('/', '~1')}"
            for check in _ANY_EVENT_CHECKS.get(key, ()):
                check(member, child, out)
    if top and "@context" not in value:
        out.add(ptr, "required", "an event outside an EPCIS document requires '@context'")


def _event_list(value: Any, ptr: str, out: _Out) -> None:  # "eventList"
    if not _typed("array", value, ptr, out):
        return
    for i, event in enumerate(value):
        out.event = i
        _event(event, f"{ptr}/{i}", out)
    out.event = None


_VOCABULARY_ELEMENT = _shape(
    "vocabularyElement",
    {
        "id": _uri,
        "attributes": _array(
            _object(
                _shape("attribute", {"id": _uri, "attribute": _attribute_value}, "id", names="open")
            )
        ),
        "children": _array(_uri),
    },
    "id",
    names="open",
)
_VOCABULARY = _shape(
    "vocabulary",
    {"type": _uri, "vocabularyElementList": _array(_object(_VOCABULARY_ELEMENT))},
    "type",
    names="open",
)
_vocabulary_list = _array(_object(_VOCABULARY))  # "vocabularyList"
_EPCIS_HEADER = _shape(
    "epcisHeader",
    {
        "epcisMasterData": _object(
            _shape("epcisMasterData", {"vocabularyList": _vocabulary_list}, names="open")
        )
    },
    names="extensible",
)
_EPCIS_DOCUMENT = _shape(
    "epcisDocument",
    {
        "@context": _context,
        "id": _uri,
        "type": _ok,
        "schemaVersion": _version,
        "creationDate": _time,
        "instanceIdentifier": _string,
        "sender": _string,
        "receiver": _string,
        "epcisHeader": _object(_EPCIS_HEADER),
        "epcisBody": _object(
            _shape("epcisBody", {"eventList": _event_list}, "eventList", names="open")
        ),
    },
    "@context",
    "type",
    "schemaVersion",
    "creationDate",
    "epcisBody",
    names="extensible",
)
_RESULTS_BODY = _shape(
    "resultsBody",
    {"eventList": _event_list, "vocabularyList": _vocabulary_list},
    "eventList",
    names="extensible",
)
_QUERY_RESULTS = _shape(
    "queryResults",
    {"queryName": _string, "subscriptionID": _string, "resultsBody": _object(_RESULTS_BODY)},
    "queryName",
    "resultsBody",
    names="extensible",
)
_EPCIS_QUERY_DOCUMENT = _shape(
    "epcisQueryDocument",
    {
        "@context": _context,
        "id": _uri,
        "type": _ok,
        "schemaVersion": _version,
        "creationDate": _time,
        "epcisBody": _object(
            _shape(
                "epcisQueryDocumentBody",
                {"queryResults": _object(_QUERY_RESULTS)},
                "queryResults",
                names="extensible",
            )
        ),
    },
    "@context",
    "type",
    "epcisBody",
    names="extensible",
)


def _resembles_query(document: dict[str, Any]) -> bool:
    body = document.get("epcisBody")
    return isinstance(body, dict) and "queryResults" in body


def strict_findings(document: dict[str, Any]) -> list[Finding]:
    """Every deviation of ``document`` from GS1's EPCIS 2.0 JSON schema, in document order.

    An EPCISDocument or EPCISQueryDocument is the usual input; a lone event (with its own
    ``@context``) is checked the way the schema's root checks one. Empty means conformant.
    """
    out = _Out()
    if not isinstance(document, dict):
        _wrong_type(document, "an object (an EPCIS document)", "", out)
        return out.findings
    kind = document.get("type")
    if "type" not in document and "epcisBody" in document:  # every branch applies; see above
        kind = "EPCISQueryDocument" if _resembles_query(document) else "EPCISDocument"
    if kind == "EPCISDocument":
        _check_shape(_EPCIS_DOCUMENT, document, "", out)
    elif kind == "EPCISQueryDocument":
        _check_shape(_EPCIS_QUERY_DOCUMENT, document, "", out)
    else:
        _event(document, "", out, top=True)
    return out.findings
