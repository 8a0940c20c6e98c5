"""What the post-filters see of an event, and how they compare values.

A post-filter tests an event's record (its JSON as the API serves it): these read values out of
it (strings at a path of keys, the objects of a list, each sensorReport with its element's
sensorMetadata behind it), compare numbers (across the units of :data:`UNITS`; a unit not in the
table matches only itself) and date-times (as UTC instants), and bring CBV terms to their bare
form whichever way the event or the query spelt them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ionledger.domain.vocabulary import bare_biz_step
from ionledger.domain.vocabulary import bare_disposition as _bare_disposition
from ionledger.epcis.times import utc_key
from ionledger.services.query_params import Param, restore_plus

__all__ = [
    "COMPARE",
    "UNITS",
    "Record",
    "ReportTest",
    "Test",
    "at",
    "bare_btt",
    "bare_disp",
    "bare_measurement",
    "bare_reason",
    "bare_sdt",
    "bare_step",
    "comparison_operand",
    "dicts",
    "each",
    "equals",
    "is_number",
    "measure",
    "ordered",
    "report_views",
    "same",
    "time_of",
]

Record = dict[str, Any]
Test = Callable[[Record], bool]
ReportTest = Callable[[Mapping[str, Any]], bool]


# -- reading records --------------------------------------------------------------------------


def dicts(value: Any) -> list[dict[str, Any]]:
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


def at(*path: str) -> Callable[[Record], list[str]]:
    """The strings at a path of keys (a list at the end gives each of its strings)."""

    def get(record: Record) -> list[str]:
        value: Any = record
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return _strs(value)

    return get


def each(record: Record, keys: Sequence[str]) -> Iterator[Any]:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            yield from value
        elif value is not None:
            yield value


def report_views(record: Record) -> Iterator[dict[str, Any]]:
    """Each sensorReport with its element's sensorMetadata behind it (its own values win)."""
    for element in dicts(record.get("sensorElementList")):
        meta = element.get("sensorMetadata")
        base = meta if isinstance(meta, dict) else {}
        for report in dicts(element.get("sensorReport")):
            yield {**base, **report}


def time_of(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return utc_key(value)
    except ValueError:
        return None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- comparisons ------------------------------------------------------------------------------

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

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
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
    return op != "EQ" and COMPARE[op](a, b)


def _in_base(value: float, uom: str) -> tuple[str, float]:
    unit = UNITS.get(uom)
    if unit is None:
        return "uom:" + uom, value  # unknown unit: comparable with itself only
    dimension, factor, offset = unit
    return dimension, value * factor + offset


def measure(op: str, operands: list[float], uom: str | None) -> Callable[[Any, Any], bool]:
    """Test of a (value, its uom): ``op`` against any operand (expressed in ``uom``)."""
    wanted = [_in_base(x, uom) for x in operands] if uom is not None else []

    def test(value: Any, value_uom: Any) -> bool:
        if not is_number(value):
            return False
        if uom is None:
            return any(_compare_numbers(op, float(value), x) for x in operands)
        if not isinstance(value_uom, str):
            return False
        dimension, base = _in_base(float(value), value_uom)
        return any(d == dimension and _compare_numbers(op, base, x) for d, x in wanted)

    return test


def equals(value: Any, text: str) -> bool:
    """An extension field's value against a query string (as a number, time or string)."""
    if isinstance(value, bool):
        return text.lower() == str(value).lower()
    if is_number(value):
        try:
            return _compare_numbers("EQ", float(value), float(text))
        except ValueError:
            return False
    if not isinstance(value, str):
        return False
    if value == text:
        return True
    mine, theirs = time_of(value), time_of(text)
    return mine is not None and mine == theirs


def comparison_operand(p: Param) -> tuple[str, Any]:
    """A GT_/GE_/LT_/LE_ operand: a number, else a date-time."""
    text = p.one()
    try:
        value = float(text)
    except ValueError:
        key = time_of(restore_plus(text))
        if key is None:
            raise p.error(
                f"{text!r} is neither a number nor a date-time with a UTC offset"
            ) from None
        return "time", key
    if not math.isfinite(value):
        raise p.error(f"{text!r} is not a finite number")
    return "number", value


def ordered(op: str, operand: tuple[str, Any]) -> Callable[[Any], bool]:
    kind, bound = operand
    if kind == "number":
        return lambda v: is_number(v) and _compare_numbers(op, float(v), bound)
    return lambda v: (key := time_of(v)) is not None and COMPARE[op](key, bound)


# -- vocabularies -----------------------------------------------------------------------------


def _bare(*prefixes: str) -> Callable[[str], str]:
    def bare(term: str) -> str:
        for prefix in prefixes:
            if term.startswith(prefix):
                return term[len(prefix) :]
        return term

    return bare


def bare_disp(term: str) -> str:
    return _bare_disposition(term) or term


def bare_step(term: str) -> str:
    return bare_biz_step(term) or term


bare_reason = _bare("https://ref.gs1.org/cbv/ER-", "urn:epcglobal:cbv:er:")
bare_btt = _bare("https://ref.gs1.org/cbv/BTT-", "urn:epcglobal:cbv:btt:")
bare_sdt = _bare("https://ref.gs1.org/cbv/SDT-", "urn:epcglobal:cbv:sdt:")
_bare_mt = _bare("https://gs1.org/voc/", "http://gs1.org/voc/", "gs1:")


def bare_measurement(term: str) -> str:
    return _bare_mt(term).removeprefix("MT-")


def same(term: str) -> str:
    return term
