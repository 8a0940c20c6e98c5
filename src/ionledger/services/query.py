"""EPCIS 2.0 event queries (SimpleEventQuery): parse the REST binding's parameters, run them.

How a query runs. The parameters on indexed columns narrow the events in SQL: ``eventType``,
the event and record time windows, ``EQ_bizStep``, ``EQ_eventID`` and the ``MATCH_`` identifier
parameters (through ``event_batteries``, which holds every identifier an event names in canonical
form). The rows come as index range scans in (order key, seq) order, a batch at a time. Every
other parameter is a predicate on the event's record (its JSON as the API serves it), applied in
Python to each candidate as it streams past, so memory stays bounded by one batch.

Pages use keyset pagination: the cursor is the (order key, seq) of the last event examined, so a
page costs an index range scan from there, and events captured later never shift a page. A page
ends when full, when the candidates run out, or after :data:`SCAN_BUDGET` candidates (a sparse
post-filter then gives a short page with a cursor, rather than an unbounded scan). A page token
carries the fingerprint of its query's parameters: the request for the next page repeats them
(perPage may change) and adds the token.

Values are lists (ORed): separated by ``|`` (the openapi's pipeDelimited style) when the value
has one, else by ``,``; a repeated parameter adds to its list. A value that itself contains a
comma must be sent in a ``|`` list (e.g. with a trailing ``|``).

Choices where the standard leaves room, or where this repository has no data for a parameter:

* Without ``orderBy`` events come in ascending eventTime order, or recordTime order when the
  query bounds recordTime and not eventTime (the narrowing index then also orders).
  ``orderDirection`` defaults to DESC with ``orderBy`` (the standard) and applies to the default
  order too. Ordering by an extension field is refused: it has no index, so every page would sort
  every candidate.
* ``WD_readPoint`` / ``WD_bizLocation`` ("with descendants") equal their ``EQ_`` forms: the
  repository keeps no location master data, so nothing has descendants. ``HASATTR_`` and
  ``EQ_ATTR_`` (master data attributes) are refused for the same reason.
* Sensor parameters (``EQ_type``, ``GE_value_CEL``, ``EQ_deviceID``, ``GE_time``...) must all hold
  for one and the same sensorReport, which inherits its element's sensorMetadata attributes.
  Values convert between the units of :data:`UNITS` (CEL / KEL / FAH, ...); a unit not in the table
  matches only itself.
* Extension fields are named by the CURIE the event was captured with (``EQ_ion:province``);
  ``EXISTS_x=false`` does not constrain (as the standard says of EXISTS_errorDeclaration).
* EPC patterns: ``urn:epc:idpat:sgtin|grai:...`` match our canonical Digital Links; a
  company-prefix-only pattern matches on the GTIN digits (a Digital Link does not record where
  the company prefix ends). Other ``idpat`` schemes match the ``urn:epc:id`` URNs. Our own
  identifiers take a trailing ``*``: ``urn:ionledger:gbt34014:03HP*``, ``urn:ionledger:vin:LSV*``.

Parameters the API layer handles (pagination), accepted and ignored here: :data:`API_PARAMETERS`.
"""

from __future__ import annotations

import base64
import bisect
import difflib
import functools
import hashlib
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec

from ionledger.domain.gs1 import check_digit, urn_unescape
from ionledger.domain.identity import GRAI_LINK_PREFIX, SGTIN_LINK_PREFIX, canonical_id, to_uri
from ionledger.domain.vocabulary import GBT_URN_PREFIX, VIN_URN_PREFIX, bare_biz_step
from ionledger.domain.vocabulary import bare_disposition as _bare_disposition
from ionledger.epcis.model import ACTIONS
from ionledger.epcis.times import utc_key
from ionledger.errors import InvalidIdentifier, IonLedgerError, ValidationError
from ionledger.ledger.leaf import record_of
from ionledger.store.port import EventSelection, EventStore, IdMatch, StoredEvent

API_PARAMETERS = frozenset({"perPage", "nextPageToken"})
SCAN_BUDGET = 100_000  # candidates one page may examine before it returns what it has
_BATCH_MIN, _BATCH_MAX = 500, 5_000  # rows per SQL batch: paging through a post-filter; scans

Record = dict[str, Any]
Test = Callable[[Record], bool]
ReportTest = Callable[[Mapping[str, Any]], bool]


class QueryError(ValidationError):
    """EPCIS QueryParameterException: an unknown parameter, a bad value or a bad combination."""

    code = "query-parameter"
    epcis_exception = "QueryParameterException"

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        self.reason = problem
        super().__init__(f"{parameter}: {problem}")

    def details(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "reason": self.reason}


class QueryTooLarge(IonLedgerError):
    """EPCIS QueryTooLargeException: more results than maxEventCount allows."""

    code = "query-too-large"
    status = 413
    epcis_exception = "QueryTooLargeException"


@dataclass(frozen=True)
class Filter:
    """One post-filter: the parameter(s) it comes from, and its test on an event's record."""

    parameter: str
    test: Test = field(compare=False, repr=False)


@dataclass(frozen=True)
class EventQuery:
    """Parsed parameters: the SQL part (``selection``), the post-filters, the limits."""

    selection: EventSelection
    filters: tuple[Filter, ...] = ()
    event_count_limit: int | None = None
    max_event_count: int | None = None
    fingerprint: str = ""  # of the parameters: a page token is valid for its own query only

    @property
    def order_by(self) -> str:
        return "recordTime" if self.selection.order_by == "record_time" else "eventTime"


@dataclass(frozen=True)
class QueryPage:
    events: list[StoredEvent]
    next_cursor: str | None


# -- parameter values ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    name: str
    raw: tuple[str, ...]
    groups: tuple[str, ...] = ()

    def error(self, problem: str) -> QueryError:
        return QueryError(self.name, problem)

    def values(self) -> list[str]:
        out: list[str] = []
        for text in self.raw:
            sep = "|" if "|" in text else ","
            out += [v.strip() for v in text.split(sep) if v.strip()]
        if not out:
            raise self.error("needs a value")
        return out

    def one(self) -> str:
        if len(self.raw) != 1:
            raise self.error(f"given {len(self.raw)} times; give it once")
        return self.raw[0].strip()

    def time(self) -> str:
        return _time_key(self, self.one())

    def number(self) -> float:
        return _number(self, self.one())

    def numbers(self) -> list[float]:
        return [_number(self, v) for v in self.values()]

    def integer(self, minimum: int) -> int:
        text = self.one()
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise self.error(f"{text!r} is not an integer")
        if int(text) < minimum:
            raise self.error(f"must be at least {minimum}, got {text}")
        return int(text)

    def flag(self) -> bool:
        text = self.one().lower()
        if text not in ("", "true", "false"):
            raise self.error(f"{self.one()!r} is not true or false")
        return text != "false"


def _plus(text: str) -> str:
    """A '+' sent unencoded in a query string arrives as a space: "10:00:00 08:00"."""
    return re.sub(r" (\d\d:?\d\d)$", r"+\1", text)


def _time_key(p: _Param, text: str) -> str:
    try:
        return utc_key(_plus(text))
    except ValueError:
        raise p.error(f"{text!r} is not a date-time with a UTC offset") from None


def _number(p: _Param, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise p.error(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise p.error(f"{text!r} is not a finite number")
    return value


# -- reading records -------------------------------------------------------------------------


def _dicts(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _strs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _at(*path: str) -> Callable[[Record], list[str]]:
    """The strings at a path of keys (a list at the end gives each of its strings)."""

    def get(record: Record) -> list[str]:
        value: Any = record
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return _strs(value)

    return get


def _each(record: Record, keys: Sequence[str]) -> Iterator[Any]:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            yield from value
        elif value is not None:
            yield value


def _report_views(record: Record) -> Iterator[dict[str, Any]]:
    """Each sensorReport with its element's sensorMetadata behind it (its own values win)."""
    for element in _dicts(record.get("sensorElementList")):
        meta = element.get("sensorMetadata")
        base = meta if isinstance(meta, dict) else {}
        for report in _dicts(element.get("sensorReport")):
            yield {**base, **report}


def _time_of(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return utc_key(value)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- comparisons -----------------------------------------------------------------------------

# UN/ECE Rec 20 code -> (dimension, factor, offset) to the dimension's base unit.
UNITS: dict[str, tuple[str, float, float]] = {
    "KEL": ("temperature", 1.0, 0.0),
    "CEL": ("temperature", 1.0, 273.15),
    "FAH": ("temperature", 5 / 9, 273.15 - 32 * 5 / 9),
    "KGM": ("mass", 1.0, 0.0),
    "GRM": ("mass", 1e-3, 0.0),
    "MGM": ("mass", 1e-6, 0.0),
    "TNE": ("mass", 1e3, 0.0),
    "LBR": ("mass", 0.45359237, 0.0),
    "MTR": ("length", 1.0, 0.0),
    "CMT": ("length", 1e-2, 0.0),
    "MMT": ("length", 1e-3, 0.0),
    "KMT": ("length", 1e3, 0.0),
    "VLT": ("voltage", 1.0, 0.0),
    "2Z": ("voltage", 1e-3, 0.0),
    "KVT": ("voltage", 1e3, 0.0),
    "AMP": ("current", 1.0, 0.0),
    "4K": ("current", 1e-3, 0.0),
    "JOU": ("energy", 1.0, 0.0),
    "KJO": ("energy", 1e3, 0.0),
    "WHR": ("energy", 3.6e3, 0.0),
    "KWH": ("energy", 3.6e6, 0.0),
    "WTT": ("power", 1.0, 0.0),
    "KWT": ("power", 1e3, 0.0),
    "COU": ("charge", 1.0, 0.0),
    "AMH": ("charge", 3.6e3, 0.0),
    "PAL": ("pressure", 1.0, 0.0),
    "KPA": ("pressure", 1e3, 0.0),
    "MBR": ("pressure", 1e2, 0.0),
    "BAR": ("pressure", 1e5, 0.0),
    "MTS": ("speed", 1.0, 0.0),
    "KMH": ("speed", 1 / 3.6, 0.0),
    "SEC": ("time", 1.0, 0.0),
    "MIN": ("time", 60.0, 0.0),
    "HUR": ("time", 3.6e3, 0.0),
}

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "GT": lambda a, b: a > b,
    "GE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LE": lambda a, b: a <= b,
    "EQ": lambda a, b: a == b,
}


def _compare_numbers(op: str, a: float, b: float) -> bool:
    # Unit conversion leaves rounding error: values within it count as equal.
    if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
        return op in ("EQ", "GE", "LE")
    return op != "EQ" and _COMPARE[op](a, b)


def _in_base(value: float, uom: str) -> tuple[str, float]:
    unit = UNITS.get(uom)
    if unit is None:
        return "uom:" + uom, value  # unknown unit: comparable with itself only
    dimension, factor, offset = unit
    return dimension, value * factor + offset


def _measure(op: str, operands: list[float], uom: str | None) -> Callable[[Any, Any], bool]:
    """Test of a (value, its uom): ``op`` against any operand (expressed in ``uom``)."""
    wanted = [_in_base(x, uom) for x in operands] if uom is not None else []

    def test(value: Any, value_uom: Any) -> bool:
        if not _is_number(value):
            return False
        if uom is None:
            return any(_compare_numbers(op, float(value), x) for x in operands)
        if not isinstance(value_uom, str):
            return False
        dimension, base = _in_base(float(value), value_uom)
        return any(d == dimension and _compare_numbers(op, base, x) for d, x in wanted)

    return test


def _equals(value: Any, text: str) -> bool:
    """An extension field's value against a query string (as a number, time or string)."""
    if isinstance(value, bool):
        return text.lower() == str(value).lower()
    if _is_number(value):
        try:
            return _compare_numbers("EQ", float(value), float(text))
        except ValueError:
            return False
    if not isinstance(value, str):
        return False
    if value == text:
        return True
    mine, theirs = _time_of(value), _time_of(text)
    return mine is not None and mine == theirs


def _operand(p: _Param) -> tuple[str, Any]:
    """A GT_/GE_/LT_/LE_ operand: a number, else a date-time."""
    text = p.one()
    try:
        value = float(text)
    except ValueError:
        key = _time_of(_plus(text))
        if key is None:
            raise p.error(
                f"{text!r} is neither a number nor a date-time with a UTC offset"
            ) from None
        return "time", key
    if not math.isfinite(value):
        raise p.error(f"{text!r} is not a finite number")
    return "number", value


def _ordered(op: str, operand: tuple[str, Any]) -> Callable[[Any], bool]:
    kind, bound = operand
    if kind == "number":
        return lambda v: _is_number(v) and _compare_numbers(op, float(v), bound)
    return lambda v: (key := _time_of(v)) is not None and _COMPARE[op](key, bound)


# -- vocabularies ----------------------------------------------------------------------------


def _bare(*prefixes: str) -> Callable[[str], str]:
    def bare(term: str) -> str:
        for prefix in prefixes:
            if term.startswith(prefix):
                return term[len(prefix) :]
        return term

    return bare


def _bare_disp(term: str) -> str:
    return _bare_disposition(term) or term


def _bare_step(term: str) -> str:
    return bare_biz_step(term) or term


_bare_reason = _bare("https://ref.gs1.org/cbv/ER-", "urn:epcglobal:cbv:er:")
_bare_btt = _bare("https://ref.gs1.org/cbv/BTT-", "urn:epcglobal:cbv:btt:")
_bare_sdt = _bare("https://ref.gs1.org/cbv/SDT-", "urn:epcglobal:cbv:sdt:")
_bare_mt = _bare("https://gs1.org/voc/", "http://gs1.org/voc/", "gs1:")


def _bare_measurement(term: str) -> str:
    return _bare_mt(term).removeprefix("MT-")


def _same(term: str) -> str:
    return term


# -- identifiers and EPC patterns ------------------------------------------------------------

_IDPAT = "urn:epc:idpat:"
_DIGITS = re.compile("[0-9]+")
_GBT_PREFIX = re.compile("[0-9A-Z]{0,23}")
_GBT_FIRST = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@functools.lru_cache(maxsize=65_536)
def _canonical(uri: str) -> str:
    try:
        return canonical_id(uri)
    except InvalidIdentifier:
        return uri


def _matches(match: IdMatch, value: str) -> bool:
    return value in match.exact or value.startswith(match.prefixes)


def _gtin(company: str, reference: str) -> str | None:
    """GTIN-14 of an SGTIN's company prefix and item reference (its indicator digit first)."""
    if not (_DIGITS.fullmatch(company) and _DIGITS.fullmatch(reference)):
        return None
    if len(company) + len(reference) != 13 or not 6 <= len(company) <= 12:
        return None
    body = reference[0] + company + reference[1:]
    return body + str(check_digit(body))


def _pattern_gtin(p: _Param, value: str, company: str, reference: str) -> str:
    gtin = _gtin(company, reference)
    if gtin is None:
        raise p.error(f"{value!r}: company prefix and item reference must be 13 digits together")
    return gtin


def _pattern_fields(p: _Param, value: str) -> tuple[str, list[str], int]:
    """(scheme, the fields before the first '*', number of fields) of an EPC pattern URN."""
    scheme, _, body = value[len(_IDPAT) :].partition(":")
    fields = body.split(".")
    if not scheme or "" in fields:
        raise p.error(f"{value!r} is not an EPC pattern (urn:epc:idpat:SCHEME:FIELD.FIELD...)")
    stars = [f == "*" for f in fields]
    first = stars.index(True) if True in stars else len(fields)
    if not all(stars[first:]):
        raise p.error(f"{value!r}: after a '*' every field must be '*'")
    return scheme, fields[:first], len(fields)


def _sgtin_pattern(p: _Param, value: str, fixed: list[str], *, item: bool) -> IdMatch:
    """Instances (item) or classes matching an sgtin pattern, as canonical Digital Links."""
    if not fixed:
        return IdMatch(prefixes=(SGTIN_LINK_PREFIX,))
    if len(fixed) == 1:  # company prefix only: any indicator digit before it
        if not _DIGITS.fullmatch(fixed[0]):
            raise p.error(f"{value!r}: the company prefix must be digits")
        return IdMatch(prefixes=tuple(f"{SGTIN_LINK_PREFIX}{d}{fixed[0]}" for d in "0123456789"))
    gtin = _pattern_gtin(p, value, fixed[0], fixed[1])
    if len(fixed) == 2:
        return IdMatch(
            prefixes=(f"{SGTIN_LINK_PREFIX}{gtin}/21/" if item else SGTIN_LINK_PREFIX + gtin,)
        )
    return IdMatch(exact=(_checked(p, "urn:epc:id:sgtin:" + ".".join(fixed)),))


def _grai_pattern(p: _Param, value: str, fixed: list[str]) -> IdMatch:
    if any(not _DIGITS.fullmatch(f) for f in fixed[:2]):
        raise p.error(f"{value!r}: company prefix and asset type must be digits")
    if len(fixed) <= 1:
        return IdMatch(prefixes=(GRAI_LINK_PREFIX + ("0" + fixed[0] if fixed else ""),))
    if len(fixed[0]) + len(fixed[1]) != 12:
        raise p.error(f"{value!r}: company prefix and asset type must have 12 digits together")
    body = "0" + fixed[0] + fixed[1]
    if len(fixed) == 2:
        return IdMatch(prefixes=(GRAI_LINK_PREFIX + body + str(check_digit(body)),))
    return IdMatch(exact=(_checked(p, "urn:epc:id:grai:" + ".".join(fixed)),))


def _idpat(p: _Param, value: str) -> IdMatch:
    scheme, fixed, count = _pattern_fields(p, value)
    if scheme in ("sgtin", "grai") and count != 3:
        raise p.error(f"{value!r}: an {scheme} pattern has 3 fields, got {count}")
    if scheme == "sgtin":
        return _sgtin_pattern(p, value, fixed, item=True)
    if scheme == "grai":
        return _grai_pattern(p, value, fixed)
    urn = f"urn:epc:id:{scheme}:"  # other schemes are stored as their EPC URNs
    if len(fixed) == count:
        return IdMatch(exact=(urn + ".".join(fixed),))
    return IdMatch(prefixes=(urn + "".join(f + "." for f in fixed),))


def _own_pattern(p: _Param, value: str) -> IdMatch:
    """``urn:ionledger:gbt34014:03HP*`` (or a bare ``03HP*``), ``urn:ionledger:vin:LSV*``."""
    stem = value[:-1]
    if stem.startswith(VIN_URN_PREFIX):
        return IdMatch(prefixes=(stem,))
    code = stem.removeprefix(GBT_URN_PREFIX)
    if ":" in code or not _GBT_PREFIX.fullmatch(code):
        raise p.error(
            f"{value!r}: a '*' pattern is an EPC pattern (urn:epc:idpat:...) or the start of a"
            " GB/T 34014 code or VIN URN followed by '*'"
        )
    return IdMatch(prefixes=(code,) if code else tuple(_GBT_FIRST))


def _checked(p: _Param, value: str) -> str:
    try:
        return canonical_id(value)
    except InvalidIdentifier as exc:
        raise p.error(f"{value!r} is not a valid identifier: {exc.message}") from None


def _epc_match(p: _Param) -> IdMatch:
    exact: list[str] = []
    prefixes: list[str] = []
    for value in p.values():
        if value.startswith(_IDPAT):
            one = _idpat(p, value)
        elif value.endswith("*"):
            one = _own_pattern(p, value)
        else:
            one = IdMatch(exact=(_checked(p, value),))
        exact += one.exact
        prefixes += one.prefixes
    return IdMatch(tuple(dict.fromkeys(exact)), tuple(dict.fromkeys(prefixes)))


def _link_class(uri: str) -> str | None:
    """``https://id.gs1.org/01/{GTIN-14}[/10/{lot}]`` of a Digital Link to a GTIN, or None."""
    try:
        segments = urlsplit(uri).path.split("/")
    except ValueError:
        return None
    for i, seg in enumerate(segments[:-1]):
        gtin = segments[i + 1]
        if seg == "01" and _DIGITS.fullmatch(gtin) and len(gtin) in (8, 12, 13, 14):
            rest = segments[i + 2 :]
            pairs = dict(zip(rest[::2], rest[1::2], strict=False))
            lot = f"/10/{unquote(pairs['10'])}" if "10" in pairs else ""
            return f"{SGTIN_LINK_PREFIX}{gtin.zfill(14)}{lot}"
    return None


@functools.lru_cache(maxsize=16_384)
def class_key(uri: str) -> str:
    """One form per EPC class: LGTIN URN, sgtin class pattern and Digital Link all become
    ``https://id.gs1.org/01/{GTIN-14}[/10/{lot}]``; other URIs stay as they are."""
    lgtin = re.fullmatch(r"urn:epc:class:lgtin:([0-9]+)\.([0-9]+)\.(.+)", uri)
    pattern = re.fullmatch(r"urn:epc:idpat:sgtin:([0-9]+)\.([0-9]+)\.\*", uri)
    match = lgtin or pattern
    if match is not None:
        gtin = _gtin(match[1], match[2])
        if gtin is None:
            return uri
        if lgtin is None:
            return SGTIN_LINK_PREFIX + gtin
        try:
            return f"{SGTIN_LINK_PREFIX}{gtin}/10/{urn_unescape('LGTIN', lgtin[3])}"
        except InvalidIdentifier:
            return uri
    if uri.startswith(("http://", "https://")):
        return _link_class(uri) or uri
    return uri


def _class_match(p: _Param) -> IdMatch:
    exact: list[str] = []
    prefixes: list[str] = []
    for value in p.values():
        if value.startswith(_IDPAT + "sgtin:"):
            _, fixed, count = _pattern_fields(p, value)
            if count != 3:
                raise p.error(f"{value!r}: an sgtin pattern has 3 fields, got {count}")
            one = _sgtin_pattern(p, value, fixed, item=False)
            exact += one.exact
            prefixes += one.prefixes
        elif (key := class_key(value)).startswith(SGTIN_LINK_PREFIX) and "/10/" not in key:
            prefixes.append(key)  # a GTIN: any of its lots too
        else:
            exact.append(key)  # a lot, or a class we know no structure of: itself only
    return IdMatch(tuple(exact), tuple(prefixes))


# -- the parameter families ------------------------------------------------------------------


@dataclass
class _Draft:
    """What the parameters say, gathered before the query is built."""

    selection: EventSelection = field(default_factory=EventSelection)
    filters: list[Filter] = field(default_factory=list)
    report_tests: list[tuple[str, ReportTest]] = field(default_factory=list)
    order_by: str | None = None
    direction: str | None = None
    event_count_limit: int | None = None
    max_event_count: int | None = None

    def narrow(self, **changes: Any) -> None:
        self.selection = replace(self.selection, **changes)

    def keep(self, p: _Param, test: Test) -> None:
        self.filters.append(Filter(p.name, test))


Handler = Callable[[_Draft, _Param], None]


def _event_types(d: _Draft, p: _Param) -> None:
    d.narrow(event_types=d.selection.event_types + tuple(p.values()))


def _bound(attribute: str) -> Handler:
    def handler(d: _Draft, p: _Param) -> None:
        d.narrow(**{attribute: p.time()})

    return handler


def _biz_steps(d: _Draft, p: _Param) -> None:
    d.narrow(biz_steps=d.selection.biz_steps + tuple(_bare_step(v) for v in p.values()))


def _event_ids(d: _Draft, p: _Param) -> None:
    # An error declaration is stored as "{eventID}#errorDeclaration@{time}": a prefix.
    ids = tuple(p.values())
    old = d.selection.identities or IdMatch()
    declarations = tuple(f"{i}#errorDeclaration@" for i in ids)
    d.narrow(identities=IdMatch(old.exact + ids, old.prefixes + declarations))


def _one_of(get: Callable[[Record], list[str]], norm: Callable[[str], str] = _same) -> Handler:
    """EQ_ on a string field: the event has the field, and its value is one of the values."""

    def handler(d: _Draft, p: _Param) -> None:
        wanted = frozenset(norm(v) for v in p.values())
        d.keep(p, lambda r: any(norm(v) in wanted for v in get(r)))

    return handler


def _actions(d: _Draft, p: _Param) -> None:
    bad = [v for v in p.values() if v not in ACTIONS]
    if bad:
        raise p.error(f"{bad[0]!r} is not one of {', '.join(ACTIONS)}")
    _one_of(_at("action"))(d, p)


def _epcs(keys: tuple[str, ...]) -> Handler:
    def handler(d: _Draft, p: _Param) -> None:
        match = _epc_match(p)
        d.narrow(mentions=(*d.selection.mentions, match))

        def test(r: Record) -> bool:
            return any(
                isinstance(v, str) and _matches(match, _canonical(v)) for v in _each(r, keys)
            )

        d.keep(p, test)

    return handler


def _classes_in(r: Record, keys: Sequence[str]) -> Iterator[str]:
    for q in _each(r, keys):
        if isinstance(q, dict) and isinstance(c := q.get("epcClass"), str):
            yield c


def _classes(keys: tuple[str, ...]) -> Handler:
    def handler(d: _Draft, p: _Param) -> None:
        match = _class_match(p)
        d.keep(p, lambda r: any(_matches(match, class_key(c)) for c in _classes_in(r, keys)))

    return handler


def _exists(get: Callable[[Record], Any]) -> Handler:
    def handler(d: _Draft, p: _Param) -> None:
        if p.flag():
            d.keep(p, lambda r: bool(get(r)))

    return handler


def _declaration_time(op: str) -> Handler:
    def handler(d: _Draft, p: _Param) -> None:
        bound = p.time()
        get = _at("errorDeclaration", "declarationTime")
        d.keep(p, lambda r: any((t := _time_of(v)) and _COMPARE[op](t, bound) for v in get(r)))

    return handler


def _order_by(d: _Draft, p: _Param) -> None:
    value = p.one()
    if value in ("eventTime", "recordTime"):
        d.order_by = value
    elif ":" in value:
        raise p.error(
            f"ordering by the extension field {value!r} is not supported: only eventTime and"
            " recordTime (which are indexed)"
        )
    else:
        raise p.error(f"{value!r} is not eventTime or recordTime")


def _order_direction(d: _Draft, p: _Param) -> None:
    value = p.one()
    if value not in ("ASC", "DESC"):
        raise p.error(f"{value!r} is not ASC or DESC")
    d.direction = value


def _event_count_limit(d: _Draft, p: _Param) -> None:
    d.event_count_limit = p.integer(1)


def _max_event_count(d: _Draft, p: _Param) -> None:
    d.max_event_count = p.integer(0)


def _master_data(d: _Draft, p: _Param) -> None:
    raise p.error("needs master data (vocabulary attributes), which this repository does not keep")


# Sensor parameters: tests on one sensorReport (with its element's metadata), ANDed per report.
def _report(test: Callable[[_Param], ReportTest]) -> Handler:
    def handler(d: _Draft, p: _Param) -> None:
        d.report_tests.append((p.name, test(p)))

    return handler


def _report_one_of(attribute: str, norm: Callable[[str], str] = _same) -> Handler:
    def make(p: _Param) -> ReportTest:
        wanted = frozenset(norm(v) for v in p.values())
        return lambda view: isinstance(v := view.get(attribute), str) and norm(v) in wanted

    return _report(make)


def _report_time(attribute: str, op: str) -> Handler:
    def make(p: _Param) -> ReportTest:
        bound = p.time()
        return lambda view: (
            (t := _time_of(view.get(attribute))) is not None and _COMPARE[op](t, bound)
        )

    return _report(make)


def _report_boolean(p: _Param) -> ReportTest:
    wanted = {"true": True, "false": False}.get(p.one().lower())
    if wanted is None:
        raise p.error(f"{p.one()!r} is not true or false")
    return lambda view: view.get("booleanValue") is wanted


def _perc_rank(op: str) -> Handler:
    def make(p: _Param) -> ReportTest:
        test = _measure(op, [p.number()], None)
        return lambda view: test(view.get("percRank"), None)

    return _report(make)


_STRING_FIELDS: dict[str, tuple[Callable[[Record], list[str]], Callable[[str], str]]] = {
    "EQ_disposition": (_at("disposition"), _bare_disp),
    "EQ_persistentDisposition_set": (_at("persistentDisposition", "set"), _bare_disp),
    "EQ_persistentDisposition_unset": (_at("persistentDisposition", "unset"), _bare_disp),
    "EQ_readPoint": (_at("readPoint", "id"), _same),
    "WD_readPoint": (_at("readPoint", "id"), _same),  # no master data: no descendants
    "EQ_bizLocation": (_at("bizLocation", "id"), _same),
    "WD_bizLocation": (_at("bizLocation", "id"), _same),
    "EQ_transformationID": (_at("transformationID"), _same),
    "EQ_errorReason": (_at("errorDeclaration", "reason"), _bare_reason),
    "EQ_correctiveEventID": (_at("errorDeclaration", "correctiveEventIDs"), _same),
}
_EPC_FIELDS: dict[str, tuple[str, ...]] = {
    "MATCH_epc": ("epcList", "childEPCs"),
    "MATCH_parentID": ("parentID",),
    "MATCH_inputEPC": ("inputEPCList",),
    "MATCH_outputEPC": ("outputEPCList",),
    "MATCH_anyEPC": ("epcList", "childEPCs", "parentID", "inputEPCList", "outputEPCList"),
}
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_CLASS_FIELDS: dict[str, tuple[str, ...]] = {
    "MATCH_epcClass": ("quantityList", "childQuantityList"),
    "MATCH_inputEPCClass": ("inputQuantityList",),
    "MATCH_outputEPCClass": ("outputQuantityList",),
    "MATCH_anyEPCClass": _QUANTITY_LISTS,
}
_REPORT_STRINGS: dict[str, tuple[str, Callable[[str], str]]] = {
    "EQ_type": ("type", _bare_measurement),
    "EQ_deviceID": ("deviceID", _same),
    "EQ_dataProcessingMethod": ("dataProcessingMethod", _same),
    "EQ_microorganism": ("microorganism", _same),
    "EQ_chemicalSubstance": ("chemicalSubstance", _same),
    "EQ_bizRules": ("bizRules", _same),
    "EQ_stringValue": ("stringValue", _same),
    "EQ_uriValue": ("uriValue", _same),
    "EQ_hexBinaryValue": ("hexBinaryValue", str.upper),
}
_REPORT_TIMES = ("time", "startTime", "endTime")

FIXED: dict[str, Handler] = {
    "eventType": _event_types,
    "GE_eventTime": _bound("event_time_ge"),
    "LT_eventTime": _bound("event_time_lt"),
    "GE_recordTime": _bound("record_time_ge"),
    "LT_recordTime": _bound("record_time_lt"),
    "EQ_bizStep": _biz_steps,
    "EQ_eventID": _event_ids,
    "EQ_action": _actions,
    **{name: _one_of(get, norm) for name, (get, norm) in _STRING_FIELDS.items()},
    **{name: _epcs(keys) for name, keys in _EPC_FIELDS.items()},
    **{name: _classes(keys) for name, keys in _CLASS_FIELDS.items()},
    "EXISTS_errorDeclaration": _exists(lambda r: isinstance(r.get("errorDeclaration"), dict)),
    "GE_errorDeclarationTime": _declaration_time("GE"),
    "LT_errorDeclarationTime": _declaration_time("LT"),
    "GE_errorDeclaration_Time": _declaration_time("GE"),  # query-schema.json's spelling
    "LT_errorDeclaration_Time": _declaration_time("LT"),
    "EXISTS_sensorElementList": _exists(lambda r: bool(_dicts(r.get("sensorElementList")))),
    "EXISTS_sensorElement": _exists(lambda r: bool(_dicts(r.get("sensorElementList")))),
    **{name: _report_one_of(attr, norm) for name, (attr, norm) in _REPORT_STRINGS.items()},
    **{f"{op}_{attr}": _report_time(attr, op) for attr in _REPORT_TIMES for op in ("GE", "LT")},
    "EQ_booleanValue": _report(_report_boolean),
    **{f"{op}_percRank": _perc_rank(op) for op in ("GT", "GE", "LT", "LE")},
    "orderBy": _order_by,
    "orderDirection": _order_direction,
    "eventCountLimit": _event_count_limit,
    "maxEventCount": _max_event_count,
}


def _party(d: _Draft, p: _Param) -> None:
    """EQ_bizTransaction_<type>, EQ_source_<type>, EQ_destination_<type>."""
    kind, wanted_type = p.groups
    norm = _bare_btt if kind == "bizTransaction" else _bare_sdt
    key, value_key = f"{kind}List", kind
    wanted, of_type = frozenset(p.values()), norm(wanted_type)

    def test(r: Record) -> bool:
        return any(
            isinstance(t := e.get("type"), str)
            and norm(t) == of_type
            and e.get(value_key) in wanted
            for e in _dicts(r.get(key))
        )

    d.keep(p, test)


def _quantities(r: Record) -> Iterator[dict[str, Any]]:
    return (q for q in _each(r, _QUANTITY_LISTS) if isinstance(q, dict))


def _quantity(d: _Draft, p: _Param) -> None:
    op, uom = p.groups[0], p.groups[1] or None
    test = _measure(op, p.numbers() if op == "EQ" else [p.number()], uom)
    d.keep(p, lambda r: any(test(q.get("quantity"), q.get("uom")) for q in _quantities(r)))


def _sensor_value(d: _Draft, p: _Param) -> None:
    op, attribute, uom = p.groups
    test = _measure(op, p.numbers() if op == "EQ" else [p.number()], uom)
    d.report_tests.append((p.name, lambda view: test(view.get(attribute), view.get("uom"))))


def _in_sensor(key: str) -> Callable[[Record], list[dict[str, Any]]]:
    def get(r: Record) -> list[dict[str, Any]]:
        return [x for e in _dicts(r.get("sensorElementList")) for x in _dicts(e.get(key))]

    return get


# Where an extension field parameter looks: the objects of its scope.
_SCOPES: dict[str, Callable[[Record], list[dict[str, Any]]]] = {
    "": lambda r: [r],
    "ILMD_": lambda r: _dicts(r.get("ilmd")),
    "ERROR_DECLARATION_": lambda r: _dicts(r.get("errorDeclaration")),
    "readPoint_": lambda r: _dicts(r.get("readPoint")),
    "bizLocation_": lambda r: _dicts(r.get("bizLocation")),
    "SENSORELEMENT_": lambda r: _dicts(r.get("sensorElementList")),
    "SENSORMETADATA_": _in_sensor("sensorMetadata"),
    "SENSORREPORT_": _in_sensor("sensorReport"),
}


def _nested(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _nested(v)
    elif isinstance(value, list):
        for v in value:
            yield from _nested(v)


def _field_values(scope: str, inner: bool, name: str) -> Callable[[Record], list[Any]]:
    """The values of extension field ``name`` in the scope's objects, or (INNER) at any depth
    inside their extension fields; a list value counts as each of its elements."""
    objects = _SCOPES[scope]

    def get(r: Record) -> list[Any]:
        found: list[Any] = []
        for obj in objects(r):
            holders = (
                [n for k, v in obj.items() if ":" in k for n in _nested(v)] if inner else [obj]
            )
            for holder in holders:
                if name in holder:
                    value = holder[name]
                    found += value if isinstance(value, list) else [value]
        return found

    return get


def _extension(d: _Draft, p: _Param) -> None:
    op, inner, scope, name = p.groups
    get = _field_values(scope, bool(inner), name)
    if op == "EXISTS":
        if p.flag():
            d.keep(p, lambda r: bool(get(r)))
    elif op == "EQ":
        texts = p.values()
        d.keep(p, lambda r: any(_equals(v, t) for v in get(r) for t in texts))
    else:
        test = _ordered(op, _operand(p))
        d.keep(p, lambda r: any(test(v) for v in get(r)))


_CURIE = r"[A-Za-z][\w.-]*:[\w.-]+"
_OPS = "(EQ|GT|GE|LT|LE)"
_SCOPE_NAMES = "|".join(sorted(_SCOPES, key=len, reverse=True))  # the event itself ("") last
_REPORT_VALUES = "(value|minValue|maxValue|meanValue|sDev|percValue)"
PATTERNS: tuple[tuple[re.Pattern[str], Handler], ...] = (
    (re.compile(r"EQ_(bizTransaction|source|destination)_(.+)"), _party),
    (re.compile(rf"{_OPS}_quantity(?:_([A-Za-z0-9]{{1,4}}))?"), _quantity),
    (re.compile(rf"{_OPS}_{_REPORT_VALUES}_([A-Za-z0-9]{{1,4}})"), _sensor_value),
    (re.compile(r"(?:HASATTR|EQ_ATTR)_.+"), _master_data),
    (re.compile(rf"(EQ|GT|GE|LT|LE|EXISTS)_(INNER_)?({_SCOPE_NAMES})({_CURIE})"), _extension),
)


def _handler(name: str) -> tuple[Handler, tuple[str, ...]]:
    if name in FIXED:
        return FIXED[name], ()
    for pattern, handler in PATTERNS:
        m = pattern.fullmatch(name)
        if m is not None:
            return handler, tuple(g or "" for g in m.groups())
    near = difflib.get_close_matches(name, [*FIXED, *API_PARAMETERS], n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    raise QueryError(name, f"unknown query parameter{hint}")


# -- building the query ----------------------------------------------------------------------


def parse_query(params: Mapping[str, Sequence[str]]) -> EventQuery:
    """The query the EPCIS parameters describe; QueryError names the first bad parameter.

    ``params`` maps each parameter to its values as given (a repeated parameter: several).
    """
    draft = _Draft()
    for name in sorted(params):
        if name in API_PARAMETERS:
            continue
        handler, groups = _handler(name)
        handler(draft, _Param(name, tuple(params[name]), groups))
    return _build(draft, _fingerprint(params))


def _fingerprint(params: Mapping[str, Sequence[str]]) -> str:
    items = sorted((k, list(v)) for k, v in params.items() if k not in API_PARAMETERS)
    return hashlib.sha256(msgspec.json.encode(items)).hexdigest()[:16]


def _one_report(tests: list[ReportTest]) -> Test:
    """Some sensorReport passes every test."""
    return lambda r: any(all(t(view) for t in tests) for view in _report_views(r))


def _build(d: _Draft, fingerprint: str) -> EventQuery:
    if d.event_count_limit is not None and d.max_event_count is not None:
        raise QueryError("eventCountLimit", "cannot be combined with maxEventCount")
    if d.event_count_limit is not None and d.order_by is None:
        raise QueryError("eventCountLimit", "requires orderBy (it keeps the first N in that order)")
    sel = d.selection
    if d.order_by is not None:
        column = "record_time" if d.order_by == "recordTime" else "event_time"
    else:  # no order asked for: the order of the index that narrows
        by_record = sel.record_time_ge or sel.record_time_lt
        by_event = sel.event_time_ge or sel.event_time_lt
        column = "record_time" if by_record and not by_event else "event_time"
    descending = (d.direction or ("DESC" if d.order_by else "ASC")) == "DESC"
    filters = list(d.filters)
    if d.report_tests:
        names = ", ".join(name for name, _ in d.report_tests)
        tests = [t for _, t in d.report_tests]
        filters.append(Filter(names, _one_report(tests)))
    return EventQuery(
        selection=replace(sel, order_by=column, descending=descending),
        filters=tuple(filters),
        event_count_limit=d.event_count_limit,
        max_event_count=d.max_event_count,
        fingerprint=fingerprint,
    )


# -- running it ------------------------------------------------------------------------------


def _key(query: EventQuery, event: StoredEvent) -> tuple[str, int]:
    order = event.record_time if query.selection.order_by == "record_time" else event.event_time
    return order, event.seq


def _passes(query: EventQuery, event: StoredEvent) -> bool:
    """Whether a candidate the SQL selected passes every post-filter."""
    if not query.filters:
        return True
    record = record_of(event.doc, event.record_time, event.reporter)
    return all(f.test(record) for f in query.filters)


def _candidates(
    store: EventStore, query: EventQuery, after: tuple[str, int] | None, batch: int
) -> Iterator[StoredEvent]:
    """The SQL-selected events from ``after`` on, fetched ``batch`` at a time."""
    selection = replace(query.selection, after=after)
    while True:
        rows = store.select_events(selection, batch)
        yield from rows
        if len(rows) < batch:
            return
        selection = replace(selection, after=_key(query, rows[-1]))


def _batch(query: EventQuery, want: int) -> int:
    if not query.filters:
        return want + 1  # every row is a result: one more tells whether a next page exists
    return max(want + 1, _BATCH_MIN)


def _encode_cursor(query: EventQuery, key: tuple[str, int], returned: int) -> str:
    raw = msgspec.json.encode([1, query.fingerprint, key[0], key[1], returned])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_cursor(query: EventQuery, cursor: str) -> tuple[tuple[str, int], int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        version, fingerprint, key, seq, returned = msgspec.json.decode(
            raw, type=tuple[int, str, str, int, int]
        )
    except (ValueError, msgspec.DecodeError):
        raise QueryError("nextPageToken", "is not a page token this server issued") from None
    if version != 1 or fingerprint != query.fingerprint:
        raise QueryError(
            "nextPageToken", "belongs to another query: repeat the first page's parameters"
        )
    return (key, seq), returned


def _check_size(store: EventStore, query: EventQuery, limit: int) -> None:
    """QueryTooLarge if the query matches more than ``limit`` events (counting to limit + 1)."""
    if not query.filters:
        count = store.count_selected(query.selection, limit + 1)
    else:
        count = 0
        for event in _candidates(store, query, None, _BATCH_MAX):
            count += _passes(query, event)
            if count > limit:
                break
    if count > limit:
        raise QueryTooLarge(f"the query matches more than maxEventCount={limit} events")


def run_query(
    store: EventStore, query: EventQuery, *, per_page: int, cursor: str | None = None
) -> QueryPage:
    """One page of the query's events, and the cursor of the next page (None: no more).

    maxEventCount is checked on the first page (no cursor); eventCountLimit counts across pages.
    """
    if per_page < 1:
        raise QueryError("perPage", f"must be at least 1, got {per_page}")
    after, returned = _decode_cursor(query, cursor) if cursor else (None, 0)
    want = per_page
    if query.event_count_limit is not None:
        want = min(per_page, query.event_count_limit - returned)
        if want <= 0:
            return QueryPage([], None)
    with store.reading():
        if cursor is None and query.max_event_count is not None:
            _check_size(store, query, query.max_event_count)
        events, resume = _page(store, query, after, want)
    if resume is None or returned + len(events) == query.event_count_limit:
        return QueryPage(events, None)
    return QueryPage(events, _encode_cursor(query, resume, returned + len(events)))


def _page(
    store: EventStore, query: EventQuery, after: tuple[str, int] | None, want: int
) -> tuple[list[StoredEvent], tuple[str, int] | None]:
    """Up to ``want`` events, and where the next page resumes (None: nothing is left)."""
    events: list[StoredEvent] = []
    candidates = _candidates(store, query, after, _batch(query, want))
    for seen, event in enumerate(candidates, start=1):
        if _passes(query, event):
            if len(events) == want:
                return events, _key(query, events[-1])  # one more exists
            events.append(event)
        if seen >= SCAN_BUDGET:
            return events, _key(query, event)  # resume after the last one examined
    return events, None


# -- the vocabulary lists (GET /eventTypes, /bizSteps, /epcs, /readPoints...) -----------------


class _Id(msgspec.Struct):
    id: str | None = None


class _Where(msgspec.Struct, rename="camel"):
    read_point: _Id | None = None
    biz_location: _Id | None = None
    disposition: str | None = None


_COLUMN_VALUES = {"eventTypes": "event_type", "bizSteps": "biz_step", "epcs": "battery_id"}
# Not columns: found by scanning the events (O(events) per page, memory O(page)).
_FIELD_VALUES: dict[str, Callable[[_Where], str | None]] = {
    "readPoints": lambda w: w.read_point.id if w.read_point else None,
    "bizLocations": lambda w: w.biz_location.id if w.biz_location else None,
    "dispositions": lambda w: _bare_disposition(w.disposition),
}
VALUE_KINDS = (*_COLUMN_VALUES, *_FIELD_VALUES)


def _scanned(store: EventStore, get: Callable[[_Where], str | None]) -> Iterator[str]:
    decoder = msgspec.json.Decoder(_Where)
    for batch in store.iter_events(batch=_BATCH_MAX):
        for event in batch:
            try:
                value = get(decoder.decode(event.doc))
            except msgspec.ValidationError:
                continue  # a field of another shape than the standard's: not a value here
            if value is not None:
                yield value


def _smallest(values: Iterable[str], after: str | None, count: int) -> list[str]:
    """The ``count`` smallest distinct values above ``after``, kept in a bounded sorted list."""
    best: list[str] = []
    for value in values:
        if (after is not None and value <= after) or (len(best) == count and value >= best[-1]):
            continue
        i = bisect.bisect_left(best, value)
        if i == len(best) or best[i] != value:
            best.insert(i, value)
            del best[count:]
    return best


def _shown(kind: str, value: str) -> str:
    if kind != "epcs":
        return value
    try:
        return to_uri(value)  # GB/T codes as their URN; GS1 keys as Digital Links
    except InvalidIdentifier:
        return value


def epcis_values(
    store: EventStore, kind: str, *, per_page: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """One page of the distinct values of a kind (:data:`VALUE_KINDS`), sorted; and the cursor
    of the next page (None: no more). eventTypes, bizSteps and epcs are loose index scans;
    readPoints, bizLocations and dispositions scan the events."""
    if kind not in VALUE_KINDS:
        raise QueryError("kind", f"{kind!r} is not one of {', '.join(VALUE_KINDS)}")
    if per_page < 1:
        raise QueryError("perPage", f"must be at least 1, got {per_page}")
    after = _value_cursor(kind, cursor) if cursor else None
    if kind in _COLUMN_VALUES:
        found = store.distinct_values(_COLUMN_VALUES[kind], after=after, limit=per_page + 1)
    else:
        found = _smallest(_scanned(store, _FIELD_VALUES[kind]), after, per_page + 1)
    page = found[:per_page]
    token = None
    if len(found) > per_page:
        raw = msgspec.json.encode([kind, page[-1]])
        token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return [_shown(kind, v) for v in page], token


def _value_cursor(kind: str, cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        of, last = msgspec.json.decode(raw, type=tuple[str, str])
    except (ValueError, msgspec.DecodeError):
        raise QueryError("nextPageToken", "is not a page token this server issued") from None
    if of != kind:
        raise QueryError("nextPageToken", f"is a token for {of}, not {kind}")
    return last
