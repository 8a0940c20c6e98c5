"""The SimpleEventQuery parameter families: what each parameter adds to the query.

Each parameter has a handler that adds to a :class:`Draft`: a narrowing of the SQL selection
(the indexed columns: ``eventType``, the time windows, ``EQ_bizStep``, ``EQ_eventID``, the
``MATCH_`` identifiers), a post-filter on the event's record (:class:`Filter`), a test on one
sensorReport, or an ordering or a limit. Fixed names are looked up in :data:`FIXED`; the
families with variable names (``EQ_bizTransaction_<type>``, ``GE_quantity_<uom>``,
``EQ_ion:province``...) in :data:`PATTERNS`.

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
  Values convert between the units of :data:`~ionledger.services.query_records.UNITS` (CEL /
  KEL / FAH, ...); a unit not in the table matches only itself.
* Extension fields are named by the CURIE the event was captured with (``EQ_ion:province``);
  ``EXISTS_x=false`` does not constrain (as the standard says of EXISTS_errorDeclaration).
* EPC patterns and our own identifier prefixes: see :mod:`ionledger.services.query_ids`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ionledger.epcis.model import ACTIONS
from ionledger.services.query_ids import canonical, class_key, class_match, epc_match, matches
from ionledger.services.query_params import API_PARAMETERS, Param, QueryError
from ionledger.services.query_records import (
    COMPARE,
    Record,
    ReportTest,
    Test,
    at,
    bare_btt,
    bare_disp,
    bare_measurement,
    bare_reason,
    bare_sdt,
    bare_step,
    comparison_operand,
    dicts,
    each,
    equals,
    measure,
    ordered,
    same,
    time_of,
)
from ionledger.store.port import EventSelection, IdMatch

__all__ = ["FIXED", "PATTERNS", "Draft", "Filter", "Handler", "handler_for"]


@dataclass(frozen=True)
class Filter:
    """One post-filter: the parameter(s) it comes from, and its test on an event's record."""

    parameter: str
    test: Test = field(compare=False, repr=False)


@dataclass
class Draft:
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

    def keep(self, p: Param, test: Test) -> None:
        self.filters.append(Filter(p.name, test))


Handler = Callable[[Draft, Param], None]


def _event_types(d: Draft, p: Param) -> None:
    d.narrow(event_types=d.selection.event_types + tuple(p.values()))


def _bound(attribute: str) -> Handler:
    def handler(d: Draft, p: Param) -> None:
        d.narrow(**{attribute: p.time()})

    return handler


def _biz_steps(d: Draft, p: Param) -> None:
    d.narrow(biz_steps=d.selection.biz_steps + tuple(bare_step(v) for v in p.values()))


def _event_ids(d: Draft, p: Param) -> None:
    # An error declaration is stored as "{eventID}#errorDeclaration@{time}": a prefix.
    ids = tuple(p.values())
    old = d.selection.identities or IdMatch()
    declarations = tuple(f"{i}#errorDeclaration@" for i in ids)
    d.narrow(identities=IdMatch(old.exact + ids, old.prefixes + declarations))


def _one_of(get: Callable[[Record], list[str]], norm: Callable[[str], str] = same) -> Handler:
    """EQ_ on a string field: the event has the field, and its value is one of the values."""

    def handler(d: Draft, p: Param) -> None:
        wanted = frozenset(norm(v) for v in p.values())
        d.keep(p, lambda r: any(norm(v) in wanted for v in get(r)))

    return handler


def _actions(d: Draft, p: Param) -> None:
    bad = [v for v in p.values() if v not in ACTIONS]
    if bad:
        raise p.error(f"{bad[0]!r} is not one of {', '.join(ACTIONS)}")
    _one_of(at("action"))(d, p)


def _epcs(keys: tuple[str, ...]) -> Handler:
    def handler(d: Draft, p: Param) -> None:
        match = epc_match(p)
        d.narrow(mentions=(*d.selection.mentions, match))

        def test(r: Record) -> bool:
            return any(isinstance(v, str) and matches(match, canonical(v)) for v in each(r, keys))

        d.keep(p, test)

    return handler


def _classes_in(r: Record, keys: Sequence[str]) -> Iterator[str]:
    for q in each(r, keys):
        if isinstance(q, dict) and isinstance(c := q.get("epcClass"), str):
            yield c


def _classes(keys: tuple[str, ...]) -> Handler:
    def handler(d: Draft, p: Param) -> None:
        match = class_match(p)
        d.keep(p, lambda r: any(matches(match, class_key(c)) for c in _classes_in(r, keys)))

    return handler


def _exists(get: Callable[[Record], Any]) -> Handler:
    def handler(d: Draft, p: Param) -> None:
        if p.flag():
            d.keep(p, lambda r: bool(get(r)))

    return handler


def _declaration_time(op: str) -> Handler:
    def handler(d: Draft, p: Param) -> None:
        bound = p.time()
        get = at("errorDeclaration", "declarationTime")
        d.keep(p, lambda r: any((t := time_of(v)) and COMPARE[op](t, bound) for v in get(r)))

    return handler


def _order_by(d: Draft, p: Param) -> None:
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


def _order_direction(d: Draft, p: Param) -> None:
    value = p.one()
    if value not in ("ASC", "DESC"):
        raise p.error(f"{value!r} is not ASC or DESC")
    d.direction = value


def _event_count_limit(d: Draft, p: Param) -> None:
    d.event_count_limit = p.integer(1)


def _max_event_count(d: Draft, p: Param) -> None:
    d.max_event_count = p.integer(0)


def _master_data(d: Draft, p: Param) -> None:
    raise p.error("needs master data (vocabulary attributes), which this repository does not keep")


# Sensor parameters: tests on one sensorReport (with its element's metadata), ANDed per report.
def _report(test: Callable[[Param], ReportTest]) -> Handler:
    def handler(d: Draft, p: Param) -> None:
        d.report_tests.append((p.name, test(p)))

    return handler


def _report_one_of(attribute: str, norm: Callable[[str], str] = same) -> Handler:
    def make(p: Param) -> ReportTest:
        wanted = frozenset(norm(v) for v in p.values())
        return lambda view: isinstance(v := view.get(attribute), str) and norm(v) in wanted

    return _report(make)


def _report_time(attribute: str, op: str) -> Handler:
    def make(p: Param) -> ReportTest:
        bound = p.time()
        return lambda view: (
            (t := time_of(view.get(attribute))) is not None and COMPARE[op](t, bound)
        )

    return _report(make)


def _report_boolean(p: Param) -> ReportTest:
    wanted = {"true": True, "false": False}.get(p.one().lower())
    if wanted is None:
        raise p.error(f"{p.one()!r} is not true or false")
    return lambda view: view.get("booleanValue") is wanted


def _perc_rank(op: str) -> Handler:
    def make(p: Param) -> ReportTest:
        test = measure(op, [p.number()], None)
        return lambda view: test(view.get("percRank"), None)

    return _report(make)


_STRING_FIELDS: dict[str, tuple[Callable[[Record], list[str]], Callable[[str], str]]] = {
    "EQ_disposition": (at("disposition"), bare_disp),
    "EQ_persistentDisposition_set": (at("persistentDisposition", "set"), bare_disp),
    "EQ_persistentDisposition_unset": (at("persistentDisposition", "unset"), bare_disp),
    "EQ_readPoint": (at("readPoint", "id"), same),
    "WD_readPoint": (at("readPoint", "id"), same),  # no master data: no descendants
    "EQ_bizLocation": (at("bizLocation", "id"), same),
    "WD_bizLocation": (at("bizLocation", "id"), same),
    "EQ_transformationID": (at("transformationID"), same),
    "EQ_errorReason": (at("errorDeclaration", "reason"), bare_reason),
    "EQ_correctiveEventID": (at("errorDeclaration", "correctiveEventIDs"), same),
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
    "EQ_type": ("type", bare_measurement),
    "EQ_deviceID": ("deviceID", same),
    "EQ_dataProcessingMethod": ("dataProcessingMethod", same),
    "EQ_microorganism": ("microorganism", same),
    "EQ_chemicalSubstance": ("chemicalSubstance", same),
    "EQ_bizRules": ("bizRules", same),
    "EQ_stringValue": ("stringValue", same),
    "EQ_uriValue": ("uriValue", same),
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
    "EXISTS_sensorElementList": _exists(lambda r: bool(dicts(r.get("sensorElementList")))),
    "EXISTS_sensorElement": _exists(lambda r: bool(dicts(r.get("sensorElementList")))),
    **{name: _report_one_of(attr, norm) for name, (attr, norm) in _REPORT_STRINGS.items()},
    **{f"{op}_{attr}": _report_time(attr, op) for attr in _REPORT_TIMES for op in ("GE", "LT")},
    "EQ_booleanValue": _report(_report_boolean),
    **{f"{op}_percRank": _perc_rank(op) for op in ("GT", "GE", "LT", "LE")},
    "orderBy": _order_by,
    "orderDirection": _order_direction,
    "eventCountLimit": _event_count_limit,
    "maxEventCount": _max_event_count,
}


def _party(d: Draft, p: Param) -> None:
    """EQ_bizTransaction_<type>, EQ_source_<type>, EQ_destination_<type>."""
    kind, wanted_type = p.groups
    norm = bare_btt if kind == "bizTransaction" else bare_sdt
    key, value_key = f"{kind}List", kind
    wanted, of_type = frozenset(p.values()), norm(wanted_type)

    def test(r: Record) -> bool:
        return any(
            isinstance(t := e.get("type"), str)
            and norm(t) == of_type
            and e.get(value_key) in wanted
            for e in dicts(r.get(key))
        )

    d.keep(p, test)


def _quantities(r: Record) -> Iterator[dict[str, Any]]:
    return (q for q in each(r, _QUANTITY_LISTS) if isinstance(q, dict))


def _quantity(d: Draft, p: Param) -> None:
    op, uom = p.groups[0], p.groups[1] or None
    test = measure(op, p.numbers() if op == "EQ" else [p.number()], uom)
    d.keep(p, lambda r: any(test(q.get("quantity"), q.get("uom")) for q in _quantities(r)))


def _sensor_value(d: Draft, p: Param) -> None:
    op, attribute, uom = p.groups
    test = measure(op, p.numbers() if op == "EQ" else [p.number()], uom)
    d.report_tests.append((p.name, lambda view: test(view.get(attribute), view.get("uom"))))


def _in_sensor(key: str) -> Callable[[Record], list[dict[str, Any]]]:
    def get(r: Record) -> list[dict[str, Any]]:
        return [x for e in dicts(r.get("sensorElementList")) for x in dicts(e.get(key))]

    return get


# Where an extension field parameter looks: the objects of its scope.
_SCOPES: dict[str, Callable[[Record], list[dict[str, Any]]]] = {
    "": lambda r: [r],
    "ILMD_": lambda r: dicts(r.get("ilmd")),
    "ERROR_DECLARATION_": lambda r: dicts(r.get("errorDeclaration")),
    "readPoint_": lambda r: dicts(r.get("readPoint")),
    "bizLocation_": lambda r: dicts(r.get("bizLocation")),
    "SENSORELEMENT_": lambda r: dicts(r.get("sensorElementList")),
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


def _extension(d: Draft, p: Param) -> None:
    op, inner, scope, name = p.groups
    get = _field_values(scope, bool(inner), name)
    if op == "EXISTS":
        if p.flag():
            d.keep(p, lambda r: bool(get(r)))
    elif op == "EQ":
        texts = p.values()
        d.keep(p, lambda r: any(equals(v, t) for v in get(r) for t in texts))
    else:
        test = ordered(op, comparison_operand(p))
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


def handler_for(name: str) -> tuple[Handler, tuple[str, ...]]:
    if name in FIXED:
        return FIXED[name], ()
    for pattern, handler in PATTERNS:
        m = pattern.fullmatch(name)
        if m is not None:
            return handler, tuple(g or "" for g in m.groups())
    near = difflib.get_close_matches(name, [*FIXED, *API_PARAMETERS], n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    raise QueryError(name, f"unknown query parameter{hint}")
