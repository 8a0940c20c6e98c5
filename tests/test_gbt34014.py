"""GB/T 34014 codes: round trips, each rule's error, every single-character corruption, Catena-X."""

from __future__ import annotations

import datetime
import json
import re
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import need_refdata
from ionledger.domain import date_codes as dc
from ionledger.domain.gbt34014 import (
    BatteryCode,
    ProductType,
    is_valid_code,
    make_code,
    parse_code,
)
from ionledger.errors import InvalidBatteryCode

ALNUM = string.ascii_uppercase + string.digits
# Written out here, not taken from the module, so the tests pin the layout independently.
FIELD_AT = (
    ["manufacturer"] * 3
    + ["product_type", "battery_type"]
    + ["spec"] * 2
    + ["trace"] * 7
    + ["produced"] * 3
    + ["serial"] * 7
)

EXAMPLE = "ABCPB12ABCDEFGE2W0000123"  # 2024-02-29 (E = 2024, W = 29), serial 123
EXAMPLE_FIELDS = ("ABC", "P", "B", "12", "ABCDEFG", datetime.date(2024, 2, 29), 123)


def _fixed(n: int) -> st.SearchStrategy[str]:
    return st.text(ALNUM, min_size=n, max_size=n)


battery_codes = st.builds(
    BatteryCode,
    manufacturer=_fixed(3),
    product_type=st.sampled_from(ProductType),
    battery_type=st.sampled_from("ABCDEFGZ"),
    spec=_fixed(2),
    trace=_fixed(7),
    produced=st.dates(datetime.date(2011, 1, 1), datetime.date(2041, 12, 31)),
    serial=st.integers(0, 9_999_999),
)


def _code_error(text: str) -> InvalidBatteryCode:
    with pytest.raises(InvalidBatteryCode) as info:
        parse_code(text)
    assert not is_valid_code(text)
    return info.value


# --- round trips ------------------------------------------------------------------------------


@given(battery_codes)
@settings(max_examples=150)
def test_fields_make_parse_round_trip(code: BatteryCode) -> None:
    text = code.text
    assert len(text) == 24
    assert str(code) == text
    assert is_valid_code(text)
    assert parse_code(text) == code
    fields = (code.manufacturer, code.product_type.value, code.battery_type, code.spec)
    assert make_code(*fields, code.trace, code.produced, code.serial) == text


def test_known_code() -> None:
    assert make_code(*EXAMPLE_FIELDS) == EXAMPLE
    code = parse_code(EXAMPLE)
    assert code.product_type is ProductType.PACK
    assert code.produced == datetime.date(2024, 2, 29)
    assert code.serial == 123
    assert make_code("ABC", ProductType.PACK, *EXAMPLE_FIELDS[2:]) == EXAMPLE


def test_date_alphabets() -> None:
    assert (len(dc.YEAR_SYMBOLS), len(dc.MONTH_SYMBOLS), len(dc.DAY_SYMBOLS)) == (31, 12, 31)
    for table in (dc.YEAR_SYMBOLS, dc.MONTH_SYMBOLS, dc.DAY_SYMBOLS):
        assert not set(table) & set("0IOQZ")
    years = {"1": 2011, "9": 2019, "A": 2020, "B": 2021, "H": 2027, "J": 2028, "P": 2033}
    assert {c: dc.YEAR_OF[c] for c in years} == years
    assert (dc.YEAR_OF["R"], dc.YEAR_OF["Y"], dc.LAST_YEAR) == (2034, 2041, 2041)
    assert (dc.MONTH_OF["9"], dc.MONTH_OF["A"], dc.MONTH_OF["C"]) == (9, 10, 12)
    assert (dc.DAY_OF["9"], dc.DAY_OF["A"], dc.DAY_OF["H"], dc.DAY_OF["J"]) == (9, 10, 17, 18)
    assert (dc.DAY_OF["P"], dc.DAY_OF["R"], dc.DAY_OF["Y"]) == (23, 24, 31)


# --- each rule, parsing -----------------------------------------------------------------------


ARABIC_3 = "\u0663"  # a digit to str.isdigit() and int(), not to GB/T 34014
NOT_DIGIT = "serial character {!r} at position {} is not a digit"
NOT_ALNUM = "character {!r} at position {} is not an upper-case letter or digit"


def _at(position: int, char: str) -> str:
    return EXAMPLE[: position - 1] + char + EXAMPLE[position:]


@pytest.mark.parametrize(
    ("text", "position", "field", "rule"),
    [
        (EXAMPLE[:-1], 24, "code", "length must be 24, got 23"),
        (EXAMPLE + "1", 25, "code", "length must be 24, got 25"),
        (EXAMPLE + " ", 25, "code", "length must be 24, got 25"),
        ("", 1, "code", "length must be 24, got 0"),
        (_at(2, "a"), 2, "manufacturer", NOT_ALNUM.format("a", 2)),
        (_at(3, "-"), 3, "manufacturer", NOT_ALNUM.format("-", 3)),
        (_at(4, "X"), 4, "product_type", "product type 'X' is not P, M or C"),
        (_at(4, "p"), 4, "product_type", "product type 'p' is not P, M or C"),
        (_at(5, "H"), 5, "battery_type", "battery type 'H' is not A-G or Z"),
        (_at(7, " "), 7, "spec", NOT_ALNUM.format(" ", 7)),
        (_at(8, "b"), 8, "trace", NOT_ALNUM.format("b", 8)),
        (_at(14, "É"), 14, "trace", NOT_ALNUM.format("É", 14)),
        (_at(15, "I"), 15, "produced", "year 'I' is not in 1-9, A-Y without I, O, Q (2011-2041)"),
        (_at(15, "0"), 15, "produced", "year '0' is not in 1-9, A-Y without I, O, Q (2011-2041)"),
        (_at(15, "Z"), 15, "produced", "year 'Z' is not in 1-9, A-Y without I, O, Q (2011-2041)"),
        (_at(16, "D"), 16, "produced", "month 'D' is not in 1-9A-C"),
        (_at(16, "0"), 16, "produced", "month '0' is not in 1-9A-C"),
        (_at(17, "0"), 17, "produced", "day '0' is not in 1-9, A-Y without I, O, Q (days 1-31)"),
        (_at(17, "O"), 17, "produced", "day 'O' is not in 1-9, A-Y without I, O, Q (days 1-31)"),
        (_at(17, "Z"), 17, "produced", "day 'Z' is not in 1-9, A-Y without I, O, Q (days 1-31)"),
        (_at(18, "A"), 18, "serial", "serial character 'A' at position 18 is not a digit"),
        (_at(24, ARABIC_3), 24, "serial", NOT_DIGIT.format(ARABIC_3, 24)),
        # Calendar dates, reported at the day: D = 2023, X = 30, W = 29, Y = 31.
        ("ABCPB12ABCDEFGD2X0000123", 17, "produced", "day 30 does not exist in February 2023"),
        ("ABCPB12ABCDEFGD2W0000123", 17, "produced", "day 29 does not exist in February 2023"),
        ("ABCPB12ABCDEFGE4Y0000123", 17, "produced", "day 31 does not exist in April 2024"),
        ("ABCPB12ABCDEFGEBY0000123", 17, "produced", "day 31 does not exist in November 2024"),
    ],
)  # fmt: skip
def test_parse_error_names_position_field_and_rule(
    text: str, position: int, field: str, rule: str
) -> None:
    err = _code_error(text)
    assert (err.position, err.field, err.rule) == (position, field, rule)
    assert err.message == f"invalid GB/T 34014 code {text!r}: position {position} ({field}): {rule}"
    assert err.details() == {"position": position, "field": field, "rule": rule}


def test_first_error_from_the_left_wins() -> None:
    err = _code_error("abcXH12ABCDEFGE2W000012A")
    assert (err.position, err.field) == (1, "manufacturer")


def test_calendar_edges() -> None:
    assert parse_code("ABCPB12ABCDEFGE2W0000123").produced == datetime.date(2024, 2, 29)
    assert parse_code("ABCPB12ABCDEFG1C10000000").produced == datetime.date(2011, 12, 1)
    assert parse_code("ABCPB12ABCDEFGYCY9999999").produced == datetime.date(2041, 12, 31)


# --- each rule, building from fields ----------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "value", "position", "field"),
    [
        (0, "AB", 1, "manufacturer"),
        (0, "abc", 1, "manufacturer"),
        (0, "ABCD", 1, "manufacturer"),
        (1, "X", 4, "product_type"),
        (1, "pack", 4, "product_type"),
        (1, "", 4, "product_type"),
        (2, "H", 5, "battery_type"),
        (2, "BB", 5, "battery_type"),
        (3, "1", 6, "spec"),
        (3, "1a", 6, "spec"),
        (4, "ABCDEF", 8, "trace"),
        (4, "ABCDEF!", 8, "trace"),
        (5, datetime.date(2010, 12, 31), 15, "produced"),
        (5, datetime.date(2042, 1, 1), 15, "produced"),
        (5, datetime.datetime(2024, 1, 1, 12, 0), 15, "produced"),
        (6, -1, 18, "serial"),
        (6, 10_000_000, 18, "serial"),
        (6, True, 18, "serial"),
    ],
)
def test_make_code_rejects_bad_field(index: int, value: object, position: int, field: str) -> None:
    args = list(EXAMPLE_FIELDS)
    args[index] = value
    with pytest.raises(InvalidBatteryCode) as info:
        make_code(*args)  # type: ignore[arg-type]
    assert (info.value.position, info.value.field) == (position, field)
    assert info.value.rule.startswith(("must be", "year must be"))


def test_battery_code_is_frozen_and_coerces_product_type() -> None:
    code = BatteryCode("ABC", "P", *EXAMPLE_FIELDS[2:])  # type: ignore[arg-type]
    assert code.product_type is ProductType.PACK
    with pytest.raises(AttributeError):
        code.serial = 5  # type: ignore[misc]


# --- every single-character corruption ------------------------------------------------------

# Every other upper-case letter and digit, plus lower case, blank, punctuation, a non-ASCII letter
# and a non-ASCII digit (which int() would accept).
CORRUPTIONS = ALNUM + "az -/\u00c4\u0661"


def _outcome(text: str) -> BatteryCode | InvalidBatteryCode:
    try:
        return parse_code(text)
    except InvalidBatteryCode as err:
        return err


@given(battery_codes)
@settings(max_examples=20, deadline=None)
@example(parse_code(EXAMPLE))
@example(parse_code("ZZZCZ99ZZZZZZZYCY9999999"))
def test_single_character_corruption_is_caught_or_is_another_code(code: BatteryCode) -> None:
    text = code.text
    for i in range(24):
        for char in CORRUPTIONS:
            if char == text[i]:
                continue
            bad = text[:i] + char + text[i + 1 :]
            got = _outcome(bad)
            if isinstance(got, BatteryCode):
                assert is_valid_code(bad)
                assert got != code
                assert got.text == bad
            elif got.position == i + 1:
                assert not is_valid_code(bad)
                assert got.field == FIELD_AT[i]
            else:  # a valid symbol that makes an impossible date, reported at the day
                assert not is_valid_code(bad)
                assert 15 <= i + 1 <= 17
                assert (got.position, got.field) == (17, "produced")
                assert "does not exist in" in got.rule


# --- Catena-X io.catenax.traction_battery_code 2.0.0 ------------------------------------------

CATENAX = ("passport", "catenax", "io.catenax.traction_battery_code", "2.0.0")


@pytest.fixture(scope="module")
def catenax_trait() -> dict[str, str]:
    path = need_refdata(*CATENAX, "gen", "TractionBatteryCode-schema.json")
    schema = json.loads(path.read_text(encoding="utf-8"))
    trait: dict[str, str] = schema["components"]["schemas"]["TractionBatteryCodeTrait"]
    return trait


@pytest.fixture(scope="module")
def catenax_regex(catenax_trait: dict[str, str]) -> re.Pattern[str]:
    return re.compile(catenax_trait["pattern"])


def _first_alternative(regex: re.Pattern[str], text: str) -> bool:
    m = regex.search(text)  # JSON Schema patterns search; this one anchors itself
    return m is not None and m.group(1) == text


@given(battery_codes)
@settings(max_examples=100)
def test_catenax_regex_accepts_every_valid_code(
    catenax_regex: re.Pattern[str], code: BatteryCode
) -> None:
    assert _first_alternative(catenax_regex, code.text)


def test_catenax_character_classes_compared(catenax_regex: re.Pattern[str]) -> None:
    """Every symbol we accept at a position the regex accepts too; it accepts exactly 3 more."""
    base = "ABCPB12ABCDEFGE110000123"  # 2024-01-01: no other symbol makes an impossible date
    only_regex = set()
    for i in range(24):
        for char in ALNUM:
            text = base[:i] + char + base[i + 1 :]
            ours, theirs = is_valid_code(text), _first_alternative(catenax_regex, text)
            assert theirs or not ours, f"regex rejects {text!r}, which we accept"
            if theirs and not ours:
                only_regex.add((i + 1, char))
    # The regex's class [1-9A-GH-NPR-Y] contains I (H-N), and its day class also has 0.
    assert only_regex == {(15, "I"), (17, "I"), (17, "0")}
    assert _code_error(base[:16] + "0" + base[17:]).rule.startswith("day '0' is not in")


def test_catenax_regex_does_not_check_the_calendar(catenax_regex: re.Pattern[str]) -> None:
    text = "ABCPB12ABCDEFGD2X0000123"  # 30 February 2023
    assert _first_alternative(catenax_regex, text)
    assert _code_error(text).rule == "day 30 does not exist in February 2023"


def test_catenax_second_alternative_is_a_19_character_form_we_reject(
    catenax_trait: dict[str, str], catenax_regex: re.Pattern[str]
) -> None:
    # Design part without the traceability code, date, serial, then "R" and P/M/C.
    short = "ABCPB12" + "E2W" + "0000123" + "RP"
    m = catenax_regex.search(short)
    assert m is not None
    assert m.group(2) == short
    assert len(short) == 19
    assert catenax_regex.search(short[:-1]) is None  # not 18, as the description says
    assert "24 or 18 characters" in catenax_trait["description"]
    err = _code_error(short)
    assert (err.position, err.field) == (20, "code")


def test_catenax_example_payload() -> None:
    path = need_refdata(*CATENAX, "gen", "TractionBatteryCode.json")
    payload = json.loads(path.read_text(encoding="utf-8"))
    code = parse_code(payload["tractionBatteryCode"])
    assert code.text == "X12MCPM27KLPCLX2M2382320"
    assert code.produced == datetime.date(2040, 2, 21)  # X = 2040 under our (unofficial) table
    # The example's code says module (position 4 = M) while its productType says pack.
    assert (code.product_type, payload["productType"]) == (ProductType.MODULE, "pack")
