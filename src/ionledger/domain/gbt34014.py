"""GB/T 34014-2017 traction battery codes: 24 upper-case letters and digits, no check character.

=====  ===  ================  ==========================================
pos    len  field             rule
=====  ===  ================  ==========================================
1-3    3    manufacturer      [A-Z0-9], assigned on filing
4      1    product_type      P pack, M module, C cell
5      1    battery_type      A-G or Z
6-7    2    spec              [A-Z0-9], filed by the manufacturer
8-14   7    trace             [A-Z0-9], filed by the manufacturer
15-17  3    produced          year, month, day: see :mod:`.date_codes`
18-24  7    serial            [0-9], the number within the day
=====  ===  ================  ==========================================

Parsing is on the import hot path: one precompiled regex and a table lookup accept a valid code;
the position-by-position diagnosis runs only when that fails.
"""

from __future__ import annotations

import calendar
import datetime
import enum
import re
import string
from dataclasses import dataclass

from ionledger.domain import date_codes as dc
from ionledger.errors import InvalidBatteryCode

CODE_LENGTH = 24
SERIAL_MAX = 9_999_999


class ProductType(enum.StrEnum):
    PACK = "P"
    MODULE = "M"
    CELL = "C"


# Position 5. Public sources confirm only B (LFP) and E (ternary, NCM); what A, C, D, F, G mean is
# not settled, so the symbols are validated and their meaning is left open. Z is "other".
BATTERY_TYPES = "ABCDEFGZ"
BATTERY_TYPE_LFP = "B"
BATTERY_TYPE_TERNARY = "E"

_ALNUM = frozenset(string.ascii_uppercase + string.digits)
_DIGITS = frozenset(string.digits)

# The code's syntax (not its calendar: see VALID_DATES), as a pattern other modules may embed.
CODE_PATTERN = (
    f"[A-Z0-9]{{3}}[{''.join(ProductType)}][{BATTERY_TYPES}][A-Z0-9]{{2}}[A-Z0-9]{{7}}"
    f"[{dc.YEAR_SYMBOLS}][{dc.MONTH_SYMBOLS}][{dc.DAY_SYMBOLS}][0-9]{{7}}"
)
_CODE_RE = re.compile(CODE_PATTERN)

# Last valid day for each year+month symbol pair: the calendar check is one lookup, no date().
_LAST_DAY: dict[str, int] = {
    y + m: calendar.monthrange(dc.YEAR_OF[y], dc.MONTH_OF[m])[1]
    for y in dc.YEAR_SYMBOLS
    for m in dc.MONTH_SYMBOLS
}

# Every real date as its three symbols (positions 15-17): the calendar check as a set lookup.
VALID_DATES: frozenset[str] = frozenset(
    ym + dc.DAY_SYMBOLS[d - 1] for ym, last in _LAST_DAY.items() for d in range(1, last + 1)
)

# English, not calendar.month_name: error messages must not depend on the process locale.
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# A dict lookup is several times faster than calling ProductType(value).
_PRODUCT_TYPE_OF: dict[str, ProductType] = {t.value: t for t in ProductType}


@dataclass(frozen=True, slots=True)
class _Slot:
    """The rule for one position; ``rule`` is formatted with character ``c`` and position ``p``."""

    field: str
    allowed: frozenset[str]
    rule: str


def _slots() -> tuple[_Slot, ...]:
    def alnum(name: str, n: int) -> list[_Slot]:
        rule = "character {c!r} at position {p} is not an upper-case letter or digit"
        return [_Slot(name, _ALNUM, rule)] * n

    return (
        *alnum("manufacturer", 3),
        _Slot("product_type", frozenset(ProductType), "product type {c!r} is not P, M or C"),
        _Slot("battery_type", frozenset(BATTERY_TYPES), "battery type {c!r} is not A-G or Z"),
        *alnum("spec", 2),
        *alnum("trace", 7),
        _Slot("produced", frozenset(dc.YEAR_SYMBOLS), f"year {{c!r}} is not in {dc.YEAR_RULE}"),
        _Slot("produced", frozenset(dc.MONTH_SYMBOLS), f"month {{c!r}} is not in {dc.MONTH_RULE}"),
        _Slot("produced", frozenset(dc.DAY_SYMBOLS), f"day {{c!r}} is not in {dc.DAY_RULE}"),
        *[_Slot("serial", _DIGITS, "serial character {c!r} at position {p} is not a digit")] * 7,
    )


_SLOTS = _slots()

# Field -> (first position, length), for errors raised when building a code from fields.
FIELD_SPANS: dict[str, tuple[int, int]] = {
    "manufacturer": (1, 3),
    "product_type": (4, 1),
    "battery_type": (5, 1),
    "spec": (6, 2),
    "trace": (8, 7),
    "produced": (15, 3),
    "serial": (18, 7),
}


@dataclass(frozen=True, slots=True)
class BatteryCode:
    """A parsed GB/T 34014 code. Construction validates every field; ``text`` gives the code."""

    manufacturer: str
    product_type: ProductType
    battery_type: str
    spec: str
    trace: str
    produced: datetime.date
    serial: int

    def __post_init__(self) -> None:
        _check_alnum("manufacturer", self.manufacturer)
        object.__setattr__(self, "product_type", _product_type(self.product_type))
        bt = self.battery_type
        if not (isinstance(bt, str) and len(bt) == 1 and bt in BATTERY_TYPES):
            raise _field_error("battery_type", bt, "must be one of A-G or Z")
        _check_alnum("spec", self.spec)
        _check_alnum("trace", self.trace)
        _check_date(self.produced)
        s = self.serial
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= SERIAL_MAX:
            raise _field_error("serial", s, f"must be an integer in 0-{SERIAL_MAX}")

    @property
    def text(self) -> str:
        d = self.produced
        return (
            f"{self.manufacturer}{self.product_type}{self.battery_type}{self.spec}{self.trace}"
            f"{dc.YEAR_SYMBOL[d.year]}{dc.MONTH_SYMBOL[d.month]}{dc.DAY_SYMBOL[d.day]}"
            f"{self.serial:07d}"
        )

    def __str__(self) -> str:
        return self.text


def parse_code(text: str) -> BatteryCode:
    """Parse a 24-character code; raises InvalidBatteryCode naming position, field and rule."""
    if _CODE_RE.fullmatch(text) is not None:
        day = dc.DAY_OF[text[16]]
        if day <= _LAST_DAY[text[14:16]]:
            return _checked_text_to_code(text, day)
    raise _diagnose(text)


def _checked_text_to_code(text: str, day: int) -> BatteryCode:
    # The regex and the calendar table have checked every field already; skipping __post_init__
    # halves the cost of a parse on the import path.
    code = object.__new__(BatteryCode)
    put = object.__setattr__
    put(code, "manufacturer", text[0:3])
    put(code, "product_type", _PRODUCT_TYPE_OF[text[3]])
    put(code, "battery_type", text[4])
    put(code, "spec", text[5:7])
    put(code, "trace", text[7:14])
    put(code, "produced", datetime.date(dc.YEAR_OF[text[14]], dc.MONTH_OF[text[15]], day))
    put(code, "serial", int(text[17:]))
    return code


def is_valid_code(text: str) -> bool:
    return _CODE_RE.fullmatch(text) is not None and text[14:17] in VALID_DATES


def make_code(
    manufacturer: str,
    product_type: str,
    battery_type: str,
    spec: str,
    trace: str,
    produced: datetime.date,
    serial: int,
) -> str:
    """The 24-character code for these fields; raises InvalidBatteryCode on a bad field."""
    code = BatteryCode(
        manufacturer, _product_type(product_type), battery_type, spec, trace, produced, serial
    )
    return code.text


def _diagnose(text: str) -> InvalidBatteryCode:
    """The first rule ``text`` breaks, scanning left to right (call only on an invalid code)."""
    n = len(text)
    if n != CODE_LENGTH:
        return InvalidBatteryCode(
            text, position=min(n, CODE_LENGTH) + 1, field="code", rule=f"length must be 24, got {n}"
        )
    for p, (c, slot) in enumerate(zip(text, _SLOTS, strict=True), start=1):
        if c not in slot.allowed:
            return InvalidBatteryCode(
                text, position=p, field=slot.field, rule=slot.rule.format(c=c, p=p)
            )
    year, month, day = dc.YEAR_OF[text[14]], dc.MONTH_OF[text[15]], dc.DAY_OF[text[16]]
    return InvalidBatteryCode(
        text,
        position=17,
        field="produced",
        rule=f"day {day} does not exist in {_MONTH_NAMES[month - 1]} {year}",
    )


def _field_error(field: str, value: object, rule: str) -> InvalidBatteryCode:
    return InvalidBatteryCode(str(value), position=FIELD_SPANS[field][0], field=field, rule=rule)


def _check_alnum(field: str, value: str) -> None:
    n = FIELD_SPANS[field][1]
    if not (isinstance(value, str) and len(value) == n and _ALNUM.issuperset(value)):
        raise _field_error(field, value, f"must be {n} upper-case letters or digits")


def _product_type(value: str) -> ProductType:
    product_type = _PRODUCT_TYPE_OF.get(value) if isinstance(value, str) else None
    if product_type is None:
        raise _field_error("product_type", value, "must be P (pack), M (module) or C (cell)")
    return product_type


def _check_date(value: datetime.date) -> None:
    # A datetime is a date too, but would not survive the round trip through the code.
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise _field_error("produced", value, "must be a datetime.date")
    if not dc.FIRST_YEAR <= value.year <= dc.LAST_YEAR:
        raise _field_error("produced", value, f"year must be in {dc.FIRST_YEAR}-{dc.LAST_YEAR}")
