"""The CBV 2.0 EPCIS event hash ID: ``ni:///sha-256;<hex>?ver=CBV2.0``.

The pre-hash string follows the EPCIS Event Hash ID algorithm of CBV 2.0 as its reference
implementation (github.com/RalphTro/epcis-event-hash-generator) computes it; the reference's
test vectors are our oracle:

- fields in the canonical property order, ``key=value`` with no separators, empty ones left out;
- list children (EPCs, quantity elements, sensor reports, ...) sorted as whole strings;
- timestamps in UTC with exactly three decimals (the 4th decimal rounds half up), ``Z``;
- numbers without trailing zeros (``1.0`` -> ``1``), like the reference via ``float``;
- bare CBV terms (``shipping``), CBV 1.x URNs and ``gs1:``/``cbv:``/``epcis:`` CURIEs become
  their web URIs; EPC URNs and GS1 Digital Links become constrained canonical Digital Links;
- user extensions as ``{namespace}localName``: inside readPoint, bizLocation, sensorElement,
  sensorMetadata and sensorReport they follow their parent's own fields; at event level they
  are sorted together with everything else outside the property order (ilmd, bizTransactionList,
  sourceList, destinationList) after the ordered part;
- eventID (also as ``id``), recordTime, errorDeclaration, comments and the document's
  ``ignoreFields`` are left out.

The input is the JSON-LD form of an event (as ``json.loads`` gives it); XML is converted to
that form before it gets here. Extension keys are ``prefix:localName`` with the prefix in the
document's ``@context``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from ionledger.errors import InvalidDocument, InvalidEvent

HASH_VERSION = "CBV2.0"

# --- namespaces ------------------------------------------------------------------------------

# Prefixes the standard EPCIS 2.0 context defines; a document's own @context overrides them.
_STANDARD_PREFIXES: dict[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": "https://ref.gs1.org/cbv/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}

# CURIEs in values: only the standard vocabularies (CBV 2.0 rule 15). The reference's XML
# reader expands no other prefix in values, and its oracle keeps e.g. ``example:z`` as is.
_VALUE_PREFIXES = (
    ("gs1:", "https://gs1.org/voc/"),
    ("cbv:", "https://ref.gs1.org/cbv/"),
    ("epcis:", "https://ref.gs1.org/epcis/"),
)

# Keys that are no content of their own (comments, a value object's text, a local context).
_NOT_CONTENT = frozenset({"comment", "rdfs:comment", "#text", "@value", "@context"})
_RDFS_COMMENT = "{http://www.w3.org/2000/01/rdf-schema#}comment"


def _namespaces(context: Any) -> dict[str, str]:
    """Prefix -> namespace from a JSON-LD @context (string, object or list of them)."""
    found = dict(_STANDARD_PREFIXES)
    for entry in context if isinstance(context, list) else (context,):
        if not isinstance(entry, dict):
            continue  # a remote context URL: its prefixes are the standard ones above
        for prefix, target in entry.items():
            if isinstance(target, dict):
                target = target.get("@id")
            if isinstance(target, str) and not prefix.startswith("@"):
                found[prefix] = target
    return found


class _Context:
    """What one document's events share: prefixes, expanded names, fields to ignore."""

    __slots__ = ("ignore", "names", "prefixes")

    def __init__(self, context: Any, ignore: Iterable[str] = ()) -> None:
        self.prefixes = _namespaces(context)
        self.names: dict[str, str] = {}  # key -> expanded key, memoised per document
        self.ignore = frozenset(self.expand(name) for name in ignore)

    def within(self, context: Any) -> _Context:
        """This context extended by an event's own @context."""
        inner = _Context([self.prefixes, context])
        inner.ignore = self.ignore
        return inner

    def expand(self, key: str) -> str:
        """``example:field`` -> ``{https://ns.example.com/epcis/}field``; others unchanged."""
        name = self.names.get(key)
        if name is None:
            # An XML attribute read into the dict form ("@ns:name") hashes like a child element,
            # as the reference does; JSON-LD keywords ("@id", "@type", ...) are not attributes.
            bare = key[1:] if key.startswith("@") and ":" in key else key
            prefix, colon, local = bare.partition(":")
            namespace = self.prefixes.get(prefix) if colon else None
            # "https://..." is an absolute IRI, not a CURIE (JSON-LD 1.1, 4.2.2)
            name = key if namespace is None or local.startswith("//") else f"{{{namespace}}}{local}"
            self.names[key] = name
        return name


# --- values ----------------------------------------------------------------------------------

_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)
# What float() could read, roughly; float() itself decides (exceptions are slow to probe with).
_NUMERIC = re.compile(r"[+-]?[\d_]*\.?[\d_]*(?:[eE][+-]?[\d_]+)?")


def _text(value: Any) -> str:
    """A JSON scalar as the text an XML document would carry."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _number(text: str) -> str:
    """``1.0`` -> ``1``, ``+05`` -> ``5``, ``0.50`` -> ``0.5``; the reference goes via float."""
    if _NUMERIC.fullmatch(text) is None:
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):  # "nan", "inf": text, not quantities
        return text
    return str(int(number)) if number.is_integer() else repr(number)


@lru_cache(maxsize=16384)  # pure; bizStep, readPoint, uom, ... repeat from event to event
def _plain(text: str) -> str:
    """The canonical form of a value that is not a timestamp."""
    text = text.strip()
    if not text:
        return text
    for prefix, namespace in _VALUE_PREFIXES:
        if text.startswith(prefix) and not text.startswith("//", len(prefix)):
            text = namespace + text[len(prefix) :]
            break
    if "urn:epcglobal:cbv:" in text:
        for urn, uri in _CBV_URNS:
            text = text.replace(urn, uri)
    text = _number(text)
    return _digital_link(text) or text


def _vocabulary(namespace: str, terms: str) -> Callable[[str], str]:
    """Canonical form for a field whose bare values are CBV terms (@vocab in the EPCIS context).

    Only the terms that context defines expand (``shipping``); anything else is a plain value.
    """
    known = frozenset(terms.split())

    def canon(text: str) -> str:
        term = text.strip()
        return namespace + term if term in known else _plain(term)

    return canon


_BIZ_STEP = _vocabulary(
    "https://ref.gs1.org/cbv/BizStep-",
    "accepting arriving assembling collecting commissioning consigning creating_class_instance "
    "cycle_counting decommissioning departing destroying disassembling dispensing encoding "
    "entering_exiting holding inspecting installing killing loading other packing picking "
    "receiving removing repackaging repairing replacing reserving retail_selling sampling "
    "sensor_reporting shipping staging_outbound stock_taking stocking storing transporting "
    "unloading unpacking void_shipping",
)
_DISPOSITION = _vocabulary(
    "https://ref.gs1.org/cbv/Disp-",
    "active available completeness_verified completeness_inferred conformant container_closed "
    "container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit "
    "inactive mismatch_instance mismatch_class mismatch_quantity needs_replacement "
    "no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved "
    "retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown",
)
_BIZ_TRANSACTION_TYPE = _vocabulary(
    "https://ref.gs1.org/cbv/BTT-",
    "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt",
)
_SOURCE_DESTINATION_TYPE = _vocabulary(
    "https://ref.gs1.org/cbv/SDT-", "owning_party possessing_party location"
)
_MEASUREMENT_TYPE = _vocabulary(
    "https://gs1.org/voc/",
    "AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Altitude AmountOfSubstance "
    "AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum AngularVelocity Area "
    "Capacitance Conductance Conductivity Count Density Dimensionless DoseEquivalent "
    "DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent ElectricCurrentDensity "
    "ElectricFieldStrength Energy Exposure Force Frequency Illuminance Inductance Irradiance "
    "KinematicViscosity Length LinearMomentum Luminance LuminousFlux LuminousIntensity "
    "MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass MassConcentration "
    "MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass "
    "MolarVolume Power Pressure RadiantFlux RadiantIntensity Radioactivity RelativeHumidity "
    "Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension "
    "Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux "
    "Wavenumber",
)
_SENSOR_ALERT = _vocabulary("https://gs1.org/voc/", "ALARM_CONDITION ERROR_CONDITION")
_COMPONENT = _vocabulary(
    "https://ref.gs1.org/cbv/Comp-",
    "altitude axial_distance azimuth easting elevation_angle height latitude longitude northing "
    "polar_angle spherical_radius x y z",
)


# --- timestamps ------------------------------------------------------------------------------

_ONE_SECOND = timedelta(seconds=1)
_2D = tuple(f"{n:02d}" for n in range(100))  # datetime.isoformat is slow for our purpose
_3D = tuple(f"{n:03d}" for n in range(1000))


class _BadTime(ValueError):
    """A timestamp the hash cannot place in UTC; ``path`` grows as it leaves nested objects."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def _utc_millis(text: str) -> str:
    """``2023-02-02T12:04:03.1415+01:00`` -> ``2023-02-02T11:04:03.142Z``.

    Rule 9: three decimals, the 4th rounds half up (.1415 -> .142, .1414 -> .141); digits past
    the 6th never matter to that, and fromisoformat drops them.
    """
    text = text.strip()
    if text.endswith("z"):
        text = text[:-1] + "Z"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _BadTime(f"{text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise _BadTime(f"{text!r} has no UTC offset")
    millis, sub_milli = divmod(moment.microsecond, 1000)
    try:
        moment = moment.astimezone(UTC)
        if sub_milli >= 500:
            millis += 1
            if millis == 1000:
                moment += _ONE_SECOND
                millis = 0
    except OverflowError:
        raise _BadTime(f"{text!r} is out of range") from None
    year = moment.year
    return (
        f"{year if year >= 1000 else f'{year:04d}'}-{_2D[moment.month]}-{_2D[moment.day]}"
        f"T{_2D[moment.hour]}:{_2D[moment.minute]}:{_2D[moment.second]}.{_3D[millis]}Z"
    )


# --- GS1 keys: EPC URIs and Digital Links -> constrained canonical Digital Link --------------

_DL = "https://id.gs1.org/"
# One character of an EPC URI serial: the characters GS1 AI 82 allows, %-escaped where TDS says.
_CH = (  # the plain characters first: the regex engine tries alternatives in order
    r"(?:[!')(*+,.0-9:;=A-Za-z_-]"
    r"|%(?:2[125-9A-Fa-f]|3[0-9A-Fa-f]|4[1-9A-Fa-f]|5[0-9AaFf]|6[1-9A-Fa-f]|7[0-9Aa]))"
)
_CPI = r"(?:[0-9A-Z-]|%(?:2[3dfDF]|3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]))"  # component/part reference
_ESCAPES = str.maketrans(
    {"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B", ",": "%2C", ":": "%3A"}
)


def _esc(text: str) -> str:
    """Percent-encode what a Digital Link path segment must not carry raw (DL 1.2, table 7-1)."""
    return text if text.isalnum() else text.translate(_ESCAPES)


@lru_cache(maxsize=4096)  # the EPCs of one product share company prefix and item reference
def _check_digit(body: str) -> str:
    """GS1 mod-10 check digit (weights 3, 1, 3, ... from the right)."""
    digits = body.encode()  # sums of bytes run in C; each ASCII digit is 48 + its value
    threes, ones = digits[::-2], digits[-2::-2]
    total = 3 * (sum(threes) - 48 * len(threes)) + sum(ones) - 48 * len(ones)
    return str(-total % 10)


def _keyed(body: str) -> str:
    return body + _check_digit(body)


def _chars(text: str) -> int:
    """Length counting each %-escape as one character."""
    return len(text) - 2 * text.count("%")


def _gtin(company: str, item: str) -> str:
    """GTIN-14 from an EPC's company prefix and (indicator + item reference)."""
    return _keyed(item[:1] + company + item[1:])


class _UrnRule(NamedTuple):
    """How to read one EPC URI scheme and write its Digital Link path."""

    pattern: re.Pattern[str]
    size: int  # digits in company prefix + second field (0: none)
    build: Callable[..., str]
    limit: int  # most characters in company prefix + second field (0: none)


def _urn_rule(pattern: str, size: int, build: Callable[..., str], limit: int = 0) -> _UrnRule:
    return _UrnRule(re.compile(pattern), size, build, limit)


_URN_RULES: dict[str, _UrnRule] = {
    "id:sgtin": _urn_rule(
        rf"(\d{{6,12}})\.(\d+)\.({_CH}{{1,20}})",
        13,
        lambda c, i, s: f"01/{_gtin(c, i)}/21/{_esc(s)}",
    ),
    "id:sscc": _urn_rule(r"(\d{6,12})\.(\d+)", 17, lambda c, s: f"00/{_keyed(s[:1] + c + s[1:])}"),
    "id:sgln": _urn_rule(
        rf"(\d{{6,12}})\.(\d*)\.({_CH}{{1,20}})",
        12,
        lambda c, r, x: f"414/{_keyed(c + r)}" + ("" if x == "0" else f"/254/{_esc(x)}"),
    ),
    "id:grai": _urn_rule(
        rf"(\d{{6,12}})\.(\d*)\.({_CH}{{1,16}})",
        12,
        lambda c, a, s: f"8003/{_keyed('0' + c + a)}{_esc(s)}",
    ),
    "id:giai": _urn_rule(
        rf"(\d{{6,12}})\.({_CH}{{1,24}})", 0, lambda c, a: f"8004/{c}{_esc(a)}", limit=30
    ),
    "id:gsrn": _urn_rule(r"(\d{6,12})\.(\d+)", 17, lambda c, s: f"8018/{_keyed(c + s)}"),
    "id:gsrnp": _urn_rule(r"(\d{6,12})\.(\d+)", 17, lambda c, s: f"8017/{_keyed(c + s)}"),
    "id:gdti": _urn_rule(
        rf"(\d{{6,12}})\.(\d*)\.({_CH}{{0,20}})",
        12,
        lambda c, d, s: f"253/{_keyed(c + d)}{_esc(s)}",
    ),
    "id:cpi": _urn_rule(
        rf"(\d{{6,12}})\.({_CPI}{{1,24}})\.(\d{{1,12}})",
        0,
        lambda c, p, s: f"8010/{_esc(c + p)}/8011/{s}",
        limit=30,
    ),
    "id:sgcn": _urn_rule(
        r"(\d{6,12})\.(\d*)\.(\d{1,12})", 12, lambda c, r, s: f"255/{_keyed(c + r)}{s}"
    ),
    "id:ginc": _urn_rule(
        rf"(\d{{6,12}})\.({_CH}{{1,24}})", 0, lambda c, r: f"401/{c}{_esc(r)}", limit=30
    ),
    "id:gsin": _urn_rule(r"(\d{6,12})\.(\d+)", 16, lambda c, s: f"402/{_keyed(c + s)}"),
    "id:itip": _urn_rule(
        rf"(\d{{6,12}})\.(\d+)\.(\d\d)\.(\d\d)\.({_CH}{{1,20}})",
        13,
        lambda c, i, p, t, s: f"8006/{_gtin(c, i)}{p}{t}/21/{_esc(s)}",
    ),
    "id:upui": _urn_rule(
        rf"(\d{{6,12}})\.(\d+)\.({_CH}{{1,28}})",
        13,
        lambda c, i, s: f"01/{_gtin(c, i)}/235/{_esc(s)}",
    ),
    "id:pgln": _urn_rule(r"(\d{6,12})\.(\d*)", 12, lambda c, r: f"417/{_keyed(c + r)}"),
    "class:lgtin": _urn_rule(
        rf"(\d{{6,12}})\.(\d+)\.({_CH}{{1,20}})",
        13,
        lambda c, i, lot: f"01/{_gtin(c, i)}/10/{_esc(lot)}",
    ),
    "idpat:sgtin": _urn_rule(r"(\d{6,12})\.(\d+)\.\*", 13, lambda c, i: f"01/{_gtin(c, i)}"),
    "idpat:grai": _urn_rule(
        r"(\d{6,12})\.(\d*)\.\*", 12, lambda c, a: f"8003/{_keyed('0' + c + a)}"
    ),
    "idpat:gdti": _urn_rule(r"(\d{6,12})\.(\d*)\.\*", 12, lambda c, d: f"253/{_keyed(c + d)}"),
    "idpat:sgcn": _urn_rule(r"(\d{6,12})\.(\d*)\.\*", 12, lambda c, r: f"255/{_keyed(c + r)}"),
    "idpat:cpi": _urn_rule(
        rf"(\d{{6,12}})\.({_CPI}{{1,24}})\.\*",
        0,
        lambda c, p: f"8010/{_esc(c + p)}",
        limit=30,
    ),
    "idpat:itip": _urn_rule(
        r"(\d{6,12})\.(\d+)\.(\d\d)\.(\d\d)\.\*", 13, lambda c, i, p, t: f"8006/{_gtin(c, i)}{p}{t}"
    ),
    "idpat:upui": _urn_rule(r"(\d{6,12})\.(\d+)\.\*", 13, lambda c, i: f"01/{_gtin(c, i)}"),
}


def _from_epc_uri(uri: str) -> str | None:
    """``urn:epc:id:sgtin:4012345.011111.9876`` -> ``https://id.gs1.org/01/.../21/9876``."""
    kind_end = uri.find(":", uri.find(":", 8) + 1)  # after "urn:epc:<id|class|idpat>:<scheme>"
    rule = _URN_RULES.get(uri[8:kind_end]) if kind_end > 0 else None
    if rule is None:
        return None
    match = rule.pattern.fullmatch(uri, kind_end + 1)
    if match is None:
        return None
    fields = match.groups()
    if rule.size and len(fields[0]) + len(fields[1]) != rule.size:
        return None
    if rule.limit and len(fields[0]) + _chars(fields[1]) > rule.limit:
        return None
    return _DL + rule.build(*fields)


_AIS = (
    "01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc"
    "|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai"
)
_LINK = re.compile(rf"https?:[^?#]*/(?:{_AIS})/\d{{4}}[^/]")
_CANONICAL_LINK = re.compile(
    r"https://id\.gs1\.org/(?:01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)"
    r"/\d{4}[^/]"
)
_SHORT_NAMES = tuple(
    (f"/{name}/", f"/{ai}/")
    for name, ai in (
        ("gtin", "01"), ("itip", "8006"), ("cpid", "8010"), ("gln", "414"), ("party", "417"),
        ("gsrnp", "8017"), ("gsrn", "8018"), ("gcn", "255"), ("sscc", "00"), ("gdti", "253"),
        ("ginc", "401"), ("gsin", "402"), ("grai", "8003"), ("giai", "8004"), ("cpv", "22"),
        ("lot", "10"), ("ser", "21"),
    )
)  # fmt: skip
# The reference looks for the primary key in this order (not by position) to drop the domain.
_PRIMARY_KEYS = tuple(
    f"/{ai}/" for ai in ("00", "01", "253", "255", "401", "402", "414", "417")
) + tuple(f"/{ai}/" for ai in ("8003", "8004", "8006", "8010", "8017", "8018"))
_C = r"[\x22\x27\x2D\x2E\x30-\x39\x3B-\x3F\x41-\x5A\x5F\x61-\x7A]"  # AI 82 characters, no %
_GTIN_KEY = r"https://id\.gs1\.org/(?:8006/\d{18}|01/\d{14})"
_WITH_CPV = re.compile(rf"{_GTIN_KEY}/22/{_C}{{0,20}}")
_WITH_CPV_AND_MORE = re.compile(rf"{_GTIN_KEY}/22/[/{_C[1:-1]}]{{0,20}}")
_LOT_AND_SERIAL = re.compile(rf"{_GTIN_KEY}/10/{_C}{{0,20}}/21/{_C}{{0,20}}")
_CONSTRAINED_LINK = re.compile(
    rf"https://id\.gs1\.org/(?:00/\d{{18}}|01/\d{{14}}(?:/21/{_C}{{0,20}}|/10/{_C}{{0,20}}"
    rf"|/235/{_C}{{0,28}})?|253/\d{{13}}{_C}{{0,17}}|255/\d{{13,25}}|401/{_C}{{0,30}}"
    rf"|402/\d{{17}}|414/\d{{13}}(?:/254/{_C}{{0,20}})?|417/\d{{13}}|8003/\d{{14}}{_C}{{0,16}}"
    rf"|8004/{_C}{{0,30}}|8006/\d{{18}}(?:/21/{_C}{{0,20}}|/10/{_C}{{0,20}})?"
    r"|8010/[\x23\x2D\x2F\x30-\x39\x41-\x5A]{0,30}(?:/8011/\d{0,12})?|8017/\d{18}|8018/\d{18})"
)


def _from_web_uri(uri: str) -> str | None:
    """A GS1 Digital Link on any domain, with any qualifiers -> the constrained canonical one."""
    if _LINK.match(uri) is None:
        return None
    uri = uri.partition("?")[0]
    for name, ai in _SHORT_NAMES:
        if name in uri:
            uri = uri.replace(name, ai)
    if _CANONICAL_LINK.match(uri) is None:
        for key in _PRIMARY_KEYS:
            at = uri.find(key)
            if at != -1:
                uri = "https://id.gs1.org" + uri[at:]
                break
    if uri.startswith("https://id.gs1.org/01/"):  # GTIN-8/12/13 -> GTIN-14
        key = uri[22:]
        digits = len(key) - len(key.lstrip("0123456789"))
        pad = 1 if digits == 13 else 2 if digits == 12 else 6 if 8 <= digits < 12 else 0
        if pad:
            uri = uri.replace("/01/", "/01/" + "0" * pad)
    if "/22/" in uri:  # drop the consumer product variant
        at = uri.find("/22/")
        if _WITH_CPV.fullmatch(uri):
            uri = uri[:at]
        elif _WITH_CPV_AND_MORE.fullmatch(uri):
            rest = uri[at + 4 :]
            uri = uri[:at] + rest[rest.find("/") :]
    if _LOT_AND_SERIAL.fullmatch(uri):  # the serial alone identifies the instance
        at = uri.find("/10/")
        rest = uri[at + 4 :]
        uri = uri[:at] + rest[rest.find("/") :]
    return uri if _CONSTRAINED_LINK.fullmatch(uri) else None


def _digital_link(text: str) -> str | None:
    """The constrained canonical GS1 Digital Link of an EPC URI or Digital Link, else None."""
    if "." not in text:
        return None
    if text.startswith(("urn:epc:id:", "urn:epc:class:", "urn:epc:idpat:")):
        return _from_epc_uri(text)
    if text.startswith(("https:", "http:")):
        return _from_web_uri(text)
    return None


# --- the canonical property order ------------------------------------------------------------


class _Field(NamedTuple):
    """One place in the property order.

    ``item`` names each child when the JSON value is a list wrapped under ``key`` in XML
    (``epcList`` -> ``epc``); ``canon`` turns a scalar into its canonical text; ``shape`` is
    the order inside an object value (None: the value should be a scalar).
    """

    key: str
    canon: Callable[[str], str] = _plain
    item: str | None = None
    shape: _Shape | None = None


class _Shape(NamedTuple):
    """The property order inside an object: key -> (position, field).

    Objects have far fewer keys than the order has places, so we walk the object's keys.
    """

    positions: dict[str, tuple[int, _Field]]
    size: int


def _shape(*fields: _Field, first: int = 0) -> _Shape:
    """``first``: the slot of the first field (the event's slots start after its type)."""
    return _Shape({f.key: (first + n, f) for n, f in enumerate(fields)}, len(fields))


def _time(text: str) -> str:
    return _utc_millis(text) if text.strip() else ""


_QUANTITY = _shape(_Field("epcClass"), _Field("quantity"), _Field("uom"))
_LOCATION = _shape(_Field("id"))
_SENSOR_METADATA = _shape(
    _Field("time", _time),
    _Field("startTime", _time),
    _Field("endTime", _time),
    _Field("deviceID"),
    _Field("deviceMetadata"),
    _Field("rawData"),
    _Field("dataProcessingMethod"),
    _Field("bizRules"),
)
_SENSOR_REPORT = _shape(
    _Field("type", _MEASUREMENT_TYPE),
    _Field("exception", _SENSOR_ALERT),
    _Field("deviceID"),
    _Field("deviceMetadata"),
    _Field("rawData"),
    _Field("dataProcessingMethod"),
    _Field("time", _time),
    _Field("microorganism"),
    _Field("chemicalSubstance"),
    _Field("value"),
    _Field("component", _COMPONENT),
    _Field("stringValue"),
    _Field("booleanValue"),
    _Field("hexBinaryValue"),
    _Field("uriValue"),
    _Field("minValue"),
    _Field("maxValue"),
    _Field("meanValue"),
    _Field("sDev"),
    _Field("percRank"),
    _Field("percValue"),
    _Field("uom"),
    _Field("coordinateReferenceSystem"),
)
_SENSOR_ELEMENT = _shape(
    _Field("sensorMetadata", shape=_SENSOR_METADATA),
    _Field("sensorReport", shape=_SENSOR_REPORT),
)
# certificationInfo is not in the CBV 2.0 table, but the reference (and so its oracle) hashes
# it right after eventTimeZoneOffset. epcList precedes parentID as in the CBV 2.0 table.
_EVENT = _shape(
    _Field("eventTime", _time),
    _Field("eventTimeZoneOffset"),
    _Field("certificationInfo"),
    _Field("epcList", item="epc"),
    _Field("parentID"),
    _Field("inputEPCList", item="epc"),
    _Field("childEPCs", item="epc"),
    _Field("quantityList", item="quantityElement", shape=_QUANTITY),
    _Field("childQuantityList", item="quantityElement", shape=_QUANTITY),
    _Field("inputQuantityList", item="quantityElement", shape=_QUANTITY),
    _Field("outputEPCList", item="epc"),
    _Field("outputQuantityList", item="quantityElement", shape=_QUANTITY),
    _Field("action"),
    _Field("transformationID"),
    _Field("bizStep", _BIZ_STEP),
    _Field("disposition", _DISPOSITION),
    _Field(
        "persistentDisposition",
        shape=_shape(_Field("set", _DISPOSITION), _Field("unset", _DISPOSITION)),
    ),
    _Field("readPoint", shape=_LOCATION),
    _Field("bizLocation", shape=_LOCATION),
    _Field("sensorElementList", item="sensorElement", shape=_SENSOR_ELEMENT),
    first=2,  # after "eventType=" and the type
)
_EVENT_SLOTS = ("",) * _EVENT.size
# Typed lists hashed with the extensions, after the ordered part: (item key, type vocabulary).
_TYPED_LISTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "bizTransactionList": ("bizTransaction", _BIZ_TRANSACTION_TYPE),
    "sourceList": ("source", _SOURCE_DESTINATION_TYPE),
    "destinationList": ("destination", _SOURCE_DESTINATION_TYPE),
}
# "id" and "@id" are the eventID: the EPCIS context maps all three to @id. (The reference hashes
# an "id" key as a user field; it only knows the key "eventID".)
_NOT_HASHED = (
    frozenset({"type", "eventID", "id", "@id", "recordTime", "errorDeclaration"}) | _NOT_CONTENT
)


def _items(value: Any) -> list[Any] | tuple[Any, ...]:
    """A JSON value as a sequence of items (JSON-LD: a list and its elements mean the same)."""
    if type(value) is not list:
        return () if value is None else (value,)
    for item in value:
        if item is None or type(item) is list:  # rare: flatten nested lists, drop nulls
            return [leaf for item in value for leaf in _items(item)]
    return value


def _is_skipped(key: str, ctx: _Context) -> bool:
    return key in _NOT_CONTENT or ctx.expand(key) == _RDFS_COMMENT


def _generic(name: str, value: Any, ctx: _Context) -> list[str]:
    """Fields outside the property order, as the reference renders them: one string per item,
    children sorted; a key ending in ``List`` wraps its items as in XML (``fooList`` > ``foo``).
    """
    if type(value) is str:
        canonical = _plain(value)
        return [f"{name}={canonical}" if canonical else name]
    if isinstance(value, list):
        if name.endswith("List"):
            inner = sorted(s for item in _items(value) for s in _generic(name[:-4], item, ctx))
            return [name + "".join(inner)] if inner else []
        return [s for item in _items(value) for s in _generic(name, item, ctx)]
    if value is None:
        return []
    if isinstance(value, dict):
        text = value.get("#text", value.get("@value"))
        head = name
        if text is not None and (canonical := _plain(_text(text))):
            head += "=" + canonical
        children = sorted(
            s
            for key, child in value.items()
            if not _is_skipped(key, ctx)
            for s in _generic(ctx.expand(key), child, ctx)
        )
        return [head + "".join(children)]
    canonical = _plain(_text(value))
    return [f"{name}={canonical}" if canonical else name]


def _struct(obj: dict[str, Any], shape: _Shape, ctx: _Context) -> tuple[str, list[str]]:
    """An object in the property order: its ordered fields, then its extensions sorted.

    Also returns what the order could not place (keys without a prefix it does not know),
    rendered as the reference does: they go to the event's tail under their path.
    """
    slots = [""] * shape.size
    extensions: list[str] = []
    leftovers: list[str] = []
    positions = shape.positions
    key = ""
    try:
        for key, value in obj.items():
            hit = positions.get(key)
            if hit is not None:
                slots[hit[0]], left = _field(hit[1], value, ctx)
                if left:
                    leftovers.extend(left)
            elif not _is_skipped(key, ctx):
                rendered = _generic(ctx.expand(key), value, ctx)
                (extensions if ":" in key else leftovers).extend(rendered)
    except _BadTime as exc:
        raise _BadTime(exc.reason, f".{key}{exc.path}") from None
    if extensions:
        extensions.sort()
        slots.extend(extensions)
    return "".join(slots), leftovers


def _field(field: _Field, value: Any, ctx: _Context) -> tuple[str, list[str]]:
    """One field of the property order: its text and its left-over keys (rendered)."""
    name = field.item or field.key
    if type(value) is str and field.item is None:  # the common case: one plain value
        canonical = field.canon(value)
        return (f"{name}={canonical}" if canonical else ""), []
    texts: list[str] = []
    leftovers: list[str] = []
    items = _items(value)
    n = 0
    try:
        for n, item in enumerate(items):  # noqa: B007 (n names the item in errors)
            if isinstance(item, dict):
                if field.shape is None:  # an object where a scalar belongs: reference's tail
                    leftovers.extend(_generic(name, item, ctx))
                    continue
                text, left = _struct(item, field.shape, ctx)
                if text:
                    texts.append(name + text)
                if left:
                    leftovers.append(name + "".join(sorted(left)))
            elif canonical := field.canon(item if type(item) is str else _text(item)):
                texts.append(f"{name}={canonical}")
    except _BadTime as exc:
        where = f"[{n}]" if isinstance(value, list) else ""
        raise _BadTime(exc.reason, where + exc.path) from None
    if len(texts) > 1:
        texts.sort()
    if field.item is None:
        return "".join(texts), leftovers
    wrapped = [field.key + "".join(sorted(leftovers))] if leftovers else []
    return (field.key + "".join(texts) if texts else ""), wrapped


def _typed_list(key: str, value: Any, ctx: _Context) -> list[str]:
    """bizTransactionList, sourceList, destinationList: ``type=...`` then the identifier."""
    item_key, vocabulary = _TYPED_LISTS[key]
    entries: list[str] = []
    for item in _items(value):
        if not isinstance(item, dict):
            entries.extend(_generic(item_key, item, ctx))
            continue
        text = ""
        if (kind := item.get("type")) is not None:
            canonical = vocabulary(_text(kind))
            text = f"type={canonical}" if canonical else "type"
        if (ident := item.get(item_key)) is not None:
            canonical = _plain(_text(ident))
            text += f"{item_key}={canonical}" if canonical else item_key
        others = sorted(
            s
            for k, v in item.items()
            if k not in ("type", item_key) and not _is_skipped(k, ctx)
            for s in _generic(ctx.expand(k), v, ctx)
        )
        entries.append(text + "".join(others))
    entries.sort()
    return [key + "".join(entries)] if entries else []


def _prehash(event: Any, ctx: _Context, index: int | None) -> str:
    if not isinstance(event, dict):
        raise InvalidEvent("an event must be a JSON object", index=index)
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type.strip():
        raise InvalidEvent("the event type is missing", index=index, field="type")
    event_time = event.get("eventTime")
    if not isinstance(event_time, str) or not event_time.strip():
        reason = "eventTime is missing" if event_time in (None, "") else "eventTime is not text"
        raise InvalidEvent(f"{reason}; the hash ID needs it", index=index, field="eventTime")
    if event.get("@context") is not None:  # an event may carry its own prefixes
        ctx = ctx.within(event["@context"])
    slots = ["eventType=", event_type, *_EVENT_SLOTS]
    tail: list[str] = []
    positions = _EVENT.positions
    ignore = ctx.ignore
    key = ""
    try:
        for key, value in event.items():
            if ignore and ctx.expand(key) in ignore:
                continue
            hit = positions.get(key)
            if hit is not None:
                position, field = hit
                if type(value) is str and field.item is None:  # inline the common case
                    if canonical := field.canon(value):
                        slots[position] = f"{key}={canonical}"
                else:
                    slots[position], left = _field(field, value, ctx)
                    if left:
                        tail.extend(left)
            elif key in _NOT_HASHED:
                continue
            elif key in _TYPED_LISTS:
                tail.extend(_typed_list(key, value, ctx))
            else:
                name = ctx.expand(key)
                if name != _RDFS_COMMENT:
                    tail.extend(_generic(name, value, ctx))
    except _BadTime as exc:
        raise InvalidEvent(exc.reason, index=index, field=key + exc.path) from None
    if tail:
        tail.sort()
        slots.extend(tail)
    return "".join(slots)


# --- public API ------------------------------------------------------------------------------


def _snapshot(value: Any) -> Any:
    """A private copy of a JSON value, to notice later changes to the caller's object."""
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    return value


# Events arrive one by one with their document's context: keep the last context's prefixes
# and expanded names (one tuple, replaced whole, so threads see a consistent entry).
_last_context: tuple[Any, tuple[str, ...], _Context] | None = None


def _context_for(context: Any, ignore: Collection[str]) -> _Context:
    global _last_context
    ignored = tuple(ignore)
    last = _last_context
    if last is not None and last[1] == ignored and last[0] == context:
        return last[2]
    ctx = _Context(context, ignored)
    _last_context = (_snapshot(context), ignored, ctx)
    return ctx


def prehash_string(
    event: dict[str, Any], context: Any = None, *, ignore: Collection[str] = ()
) -> str:
    """The canonical pre-hash string of one event (JSON-LD form).

    ``context`` is the document's ``@context`` (for extension prefixes); ``ignore`` names
    top-level fields to leave out (a query document's ``ignoreFields``).
    Raises InvalidEvent when the event cannot be hashed (no type, no or a bad eventTime, ...).
    """
    return _prehash(event, _context_for(context, ignore), None)


def _hash_id(prehash: str) -> str:
    return f"ni:///sha-256;{hashlib.sha256(prehash.encode()).hexdigest()}?ver={HASH_VERSION}"


def event_hash_id(
    event: dict[str, Any], context: Any = None, *, ignore: Collection[str] = ()
) -> str:
    """``ni:///sha-256;<hex>?ver=CBV2.0`` for one event; see ``prehash_string``."""
    return _hash_id(_prehash(event, _context_for(context, ignore), None))


def _document_events(document: Any) -> list[Any]:
    """The events of an EPCISDocument or EPCISQueryDocument, in document order."""
    body = document.get("epcisBody") if isinstance(document, dict) else None
    if not isinstance(body, dict):
        raise InvalidDocument("an EPCIS document needs an epcisBody object")
    results = body.get("queryResults")
    if isinstance(results, dict) and isinstance(results.get("resultsBody"), dict):
        body = results["resultsBody"]
    if "eventList" in body:
        return list(_items(body["eventList"]))
    if "event" in body:
        return list(_items(body["event"]))
    raise InvalidDocument("the epcisBody has no eventList")


def _ignore_fields(document: dict[str, Any]) -> list[str]:
    """Field names a document says to leave out of the hash (``<prefix>:ignoreFields``, as in
    the reference's query documents: in queryResults, the header or the document itself)."""
    places: list[Any] = [document, document.get("epcisHeader"), document.get("epcisBody")]
    if isinstance(places[-1], dict):
        places.append(places[-1].get("queryResults"))
    names: list[str] = []
    for place in places:
        if not isinstance(place, dict):
            continue
        for key, value in place.items():
            if key == "ignoreFields" or key.endswith((":ignoreFields", "}ignoreFields")):
                for item in _items(value):
                    names.extend(item if isinstance(item, dict) else [_text(item)])
    return names


def document_prehash_strings(document: dict[str, Any]) -> list[str]:
    """The pre-hash string of each event of the document, in document order."""
    events = _document_events(document)
    ctx = _Context(document.get("@context"), _ignore_fields(document))
    return [_prehash(event, ctx, index) for index, event in enumerate(events)]


def document_hash_ids(document: dict[str, Any]) -> list[str]:
    """One hash ID per event of the document, in document order; uses its ``@context``.

    Raises InvalidDocument when there is no event list, InvalidEvent (with the event's index)
    when an event cannot be hashed.
    """
    return [_hash_id(prehash) for prehash in document_prehash_strings(document)]
