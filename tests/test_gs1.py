"""GS1 keys: check digits, SGTIN and GRAI as EPC URNs and Digital Link URIs, both ways."""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionledger.domain.gs1 import (
    CSET82,
    CompanyPrefixes,
    Grai,
    LinkKey,
    Sgtin,
    check_digit,
    has_valid_check_digit,
    parse_digital_link,
)
from ionledger.errors import InvalidIdentifier

# --- check digits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        # GS1's Digital Link example GTIN 09506000134352. From the right, weights 3,1,3,...:
        # 5*3 + 3 + 4*3 + 3 + 1*3 + 0 + 0 + 0 + 6*3 + 0 + 5*3 + 9 + 0*3 = 78 -> 10 - 8 = 2.
        ("0950600013435", 2),
        # EPC TDS example GTIN 80614141123458 (urn:epc:id:sgtin:0614141.812345.*):
        # 5*3 + 4 + 3*3 + 2 + 1*3 + 1 + 4*3 + 1 + 4*3 + 1 + 6*3 + 0 + 8*3 = 102 -> 10 - 2 = 8.
        ("8061414112345", 8),
        # EPC TDS example GRAI 0061414112345 + check (urn:epc:id:grai:0614141.12345.*):
        # as above without the leading 8: 102 - 24 = 78 -> 2.
        ("0061414112345", 2),
        # GTIN-13 4006381333931: 3*3 + 9 + 3*3 + 3 + 3*3 + 1 + 8*3 + 3 + 6*3 + 0 + 0 + 4 = 89 -> 1.
        ("400638133393", 1),
        # A sum that is already a multiple of 10 gives 0, not 10.
        ("0000000000000", 0),
        ("55", 0),  # 5*3 + 5 = 20
    ],
)
def test_check_digit_known_values(body: str, digit: int) -> None:
    assert check_digit(body) == digit
    assert has_valid_check_digit(body + str(digit))
    assert not has_valid_check_digit(body + str((digit + 1) % 10))


def test_leading_zeros_do_not_change_the_check_digit() -> None:
    assert check_digit("400638133393") == check_digit("0400638133393") == 1


@pytest.mark.parametrize("key", ["", "7", "0950600013435a", "09506000134352 ", "\u0660\u0661"])
def test_has_valid_check_digit_rejects_non_keys(key: str) -> None:
    assert not has_valid_check_digit(key)


def test_check_digit_needs_digits() -> None:
    with pytest.raises(InvalidIdentifier, match="not a string of digits"):
        check_digit("12a")


# --- known URN <-> Digital Link pairs ---------------------------------------------------------

GS1 = "https://id.gs1.org"
PAIRS = [
    # EPC TDS examples.
    ("urn:epc:id:sgtin:0614141.812345.6789", "https://id.gs1.org/01/80614141123458/21/6789", 7),
    ("urn:epc:id:grai:0614141.12345.400", "https://id.gs1.org/8003/00614141123452400", 7),
    # A serial with '/', which both forms escape (the URN only the TDS's seven characters).
    ("urn:epc:id:sgtin:0614141.712345.32a%2Fb", f"{GS1}/01/70614141123451/21/32a%2Fb", 7),
    # GS1's Digital Link example GTIN with a 9-digit company prefix.
    ("urn:epc:id:sgtin:950600013.0435.ABC-1", "https://id.gs1.org/01/09506000134352/21/ABC-1", 9),
    # A 12-digit prefix leaves a GRAI no asset-type digits.
    ("urn:epc:id:grai:061414100001..X.1", "https://id.gs1.org/8003/00614141000012X.1", 12),
]  # fmt: skip


@pytest.mark.parametrize(("urn", "link", "prefix_length"), PAIRS)
def test_known_pairs_both_ways(urn: str, link: str, prefix_length: int) -> None:
    kind = Sgtin if "sgtin" in urn else Grai
    from_urn = kind.from_urn(urn)
    from_link = kind.from_digital_link(link, company_prefix_length=prefix_length)
    assert from_urn == from_link
    assert from_urn.urn == urn
    assert from_urn.digital_link() == link


def test_sgtin_parts() -> None:
    s = Sgtin.from_urn("urn:epc:id:sgtin:0614141.812345.6789")
    assert (s.company_prefix, s.item_ref, s.serial, s.gtin) == (
        "0614141",
        "812345",
        "6789",
        "80614141123458",
    )
    assert s.digital_link("https://resolver.example.cn/") == (
        "https://resolver.example.cn/01/80614141123458/21/6789"
    )


def test_grai_parts() -> None:
    g = Grai.from_urn("urn:epc:id:grai:0614141.12345.400")
    assert (g.company_prefix, g.asset_type, g.serial, g.grai) == (
        "0614141",
        "12345",
        "400",
        "00614141123452",
    )
    assert Grai.from_ai8003("00614141123452400", company_prefix_length=7) == g


def test_urn_escapes_exactly_the_seven_tds_characters() -> None:
    s = Sgtin("0614141", "812345", 'a"%&/<>?b')
    assert s.urn == "urn:epc:id:sgtin:0614141.812345.a%22%25%26%2F%3C%3E%3Fb"
    assert Sgtin.from_urn(s.urn) == s
    plain = Sgtin("0614141", "812345", "!'()*+,-.:;=_Az09")
    assert plain.urn == "urn:epc:id:sgtin:0614141.812345.!'()*+,-.:;=_Az09"
    # Lower-case hex is read, and written back in upper case.
    assert Sgtin.from_urn("urn:epc:id:sgtin:0614141.812345.a%2fb").urn.endswith("a%2Fb")


def test_digital_link_escapes_all_but_unreserved() -> None:
    s = Sgtin("0614141", "812345", "A-b.c_d!(x)*/%")
    assert s.digital_link().endswith("/21/A-b.c_d%21%28x%29%2A%2F%25")
    assert Sgtin.from_digital_link(s.digital_link(), company_prefix_length=7) == s


def test_digital_link_any_host_path_prefix_and_query() -> None:
    want = Sgtin.from_urn("urn:epc:id:sgtin:0614141.812345.6789")
    for link in [
        "http://example.com/01/80614141123458/21/6789",
        "https://resolver.example.cn/some/prefix/01/80614141123458/21/6789?linkType=all#x",
        "https://id.gs1.org/01/80614141123458/22/V1/10/LOT7/21/6789",  # CPV and lot qualifiers
        "https://id.gs1.org/01/80614141123458/10/LOT7/21/6789",
    ]:
        assert Sgtin.from_digital_link(link, company_prefix_length=7) == want


@pytest.mark.parametrize(
    ("gtin", "urn"),
    [
        ("9506000134352", "urn:epc:id:sgtin:950600013.0435.1"),  # GTIN-13
        ("614141123452", "urn:epc:id:sgtin:0614141.012345.1"),  # GTIN-12
        ("95060002", "urn:epc:id:sgtin:0000095060.000.1"),  # GTIN-8, zero-padded to 14
    ],
)
def test_short_gtins_in_a_link_are_padded(gtin: str, urn: str) -> None:
    length = len(urn.split(":")[4].split(".")[0])
    s = Sgtin.from_digital_link(f"https://id.gs1.org/01/{gtin}/21/1", company_prefix_length=length)
    assert s.urn == urn
    assert s.gtin == gtin.zfill(14)


def test_parse_digital_link() -> None:
    assert parse_digital_link("https://id.gs1.org/01/09506000134352") == LinkKey(
        "01", "09506000134352", ""
    )
    assert parse_digital_link("https://id.gs1.org/8003/00614141123452") == LinkKey(
        "8003", "00614141123452", ""
    )
    for other in [
        "https://example.com/2024/01/report",  # "01" followed by something that is no GTIN
        "https://id.gs1.org/414/9520123456788",  # a GLN: not a battery key
        "ftp://id.gs1.org/01/09506000134352/21/1",
        "urn:epc:id:sgtin:0614141.812345.6789",
        "https:///01/09506000134352/21/1",
        "http://[::1/01/09506000134352/21/1",
        "https://id.gs1.org/01/0950600\n0134352/21/1",  # not a URI: has a newline
    ]:
        assert parse_digital_link(other) is None


# --- round trips (property tests) -------------------------------------------------------------

digits = string.digits
serial_chars = "".join(sorted(CSET82))


@st.composite
def sgtins(draw: st.DrawFn) -> Sgtin:
    n = draw(st.integers(6, 12))
    prefix = draw(st.text(digits, min_size=n, max_size=n))
    item_ref = draw(st.text(digits, min_size=13 - n, max_size=13 - n))
    return Sgtin(prefix, item_ref, draw(st.text(serial_chars, min_size=1, max_size=20)))


@st.composite
def grais(draw: st.DrawFn) -> Grai:
    n = draw(st.integers(6, 12))
    prefix = draw(st.text(digits, min_size=n, max_size=n))
    asset = draw(st.text(digits, min_size=12 - n, max_size=12 - n))
    return Grai(prefix, asset, draw(st.text(serial_chars, min_size=1, max_size=16)))


@given(sgtins())
@settings(max_examples=100)
def test_sgtin_round_trips(s: Sgtin) -> None:
    assert Sgtin.from_urn(s.urn) == s
    n = len(s.company_prefix)
    assert Sgtin.from_digital_link(s.digital_link(), company_prefix_length=n) == s
    assert Sgtin.from_gtin(s.gtin, s.serial, company_prefix_length=n) == s
    assert has_valid_check_digit(s.gtin)


@given(grais())
@settings(max_examples=100)
def test_grai_round_trips(g: Grai) -> None:
    assert Grai.from_urn(g.urn) == g
    n = len(g.company_prefix)
    assert Grai.from_digital_link(g.digital_link(), company_prefix_length=n) == g
    assert has_valid_check_digit(g.grai)


@given(
    st.text(digits, min_size=13, max_size=13),
    st.text(string.ascii_letters + digits + "-._", min_size=1, max_size=20),
    st.integers(6, 12),
)
@settings(max_examples=100)
def test_link_to_urn_to_link(body: str, serial: str, prefix_length: int) -> None:
    # Serials of unreserved characters only, so the link is written here without escaping.
    link = f"https://id.gs1.org/01/{body}{check_digit(body)}/21/{serial}"
    urn = Sgtin.from_digital_link(link, company_prefix_length=prefix_length).urn
    assert urn.startswith(f"urn:epc:id:sgtin:{body[1 : 1 + prefix_length]}.{body[0]}")
    assert Sgtin.from_urn(urn).digital_link() == link


# --- errors -----------------------------------------------------------------------------------


URN = "urn:epc:id:sgtin:0614141.812345."  # + serial


def _gtin(gtin: str) -> Callable[[], object]:
    return lambda: Sgtin.from_gtin(gtin, "1", company_prefix_length=7)


def _ai8003(value: str) -> Callable[[], object]:
    return lambda: Grai.from_ai8003(value, company_prefix_length=7)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Sgtin("06141", "8123456", "1"), "company prefix '06141' must be 6-12 digits"),
        (lambda: Sgtin("0614141234567", "", "1"), "must be 6-12 digits"),
        (lambda: Sgtin("0614141", "81234", "1"), "'81234' must be 6 digits with a 7-digit"),
        (lambda: Sgtin("0614141", "812345", ""), "serial '' must be 1-20 characters"),
        (lambda: Sgtin("0614141", "812345", "x" * 21), "must be 1-20 characters"),
        (lambda: Sgtin("0614141", "812345", "a b"), "' ' is not in GS1 AI character set 82"),
        (lambda: Sgtin("0614141", "812345", "a#"), "character '#' is not in GS1"),
        (lambda: Sgtin("0614141", "812345", "é"), "character 'é' is not in GS1"),
        (lambda: Grai("0614141", "1234", "1"), "asset type '1234' must be 5 digits"),
        (lambda: Grai("0614141", "12345", "x" * 17), "GRAI serial 'xxxxxxxxxxxxxxxxx' must be"),
        (lambda: Sgtin.from_urn(URN[:-1]), "three parts separated by '.'"),
        (
            lambda: Sgtin.from_urn(URN.replace("sgtin", "grai")),
            "must start with 'urn:epc:id:sgtin:'",
        ),
        (lambda: Sgtin.from_urn(URN + "a/b"), "'/' must be percent-escaped"),
        (lambda: Sgtin.from_urn(URN + "a%41"), "'%41' is not one of the escapes"),
        (lambda: Sgtin.from_urn(URN + "a%2"), "'%2' is not one of the escapes"),
        (lambda: Sgtin.from_urn(URN + "a b"), "' ' is not in GS1 AI"),
        (lambda: Grai.from_urn("urn:epc:id:grai:0614141.12345."), "GRAI serial '' must be 1-16"),
        (_gtin("80614141123459"), "GTIN '80614141123459': check digit is 9, expected 8"),
        (_gtin("806141411234"), "GTIN '00806141411234': check digit is 4, expected 7"),
        (_gtin("8061414112345"), "GTIN '08061414112345': check digit is 5, expected 7"),
        (_gtin("80614141123"), "must be 8, 12, 13 or 14 digits"),
        (_ai8003("10614141123452400"), "must start with 14 digits, the first one 0"),
        (_ai8003("00614141123453400"), "GRAI '00614141123453': check digit is 3, expected 2"),
    ],
)
def test_invalid_keys_are_rejected_with_the_rule(make: Callable[[], object], message: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        make()
    assert message in info.value.message


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (f"{GS1}/01/09506000134353/21/1", "GTIN '09506000134353': check digit is 3, expected 2"),
        ("https://id.gs1.org/01/09506000134352/21/a%zz", "'%' must start a two-digit hex escape"),
        ("https://id.gs1.org/01/09506000134352/21/%FF", "escape is not valid UTF-8"),
        ("https://id.gs1.org/01/09506000134352/21/a%20b", "character ' ' is not in GS1 AI"),
        ("https://id.gs1.org/01/09506000134352/21/" + "9" * 21, "must be 1-20 characters"),
        ("https://id.gs1.org/01/09506000134352/21/", "must be 1-20 characters"),
        ("https://id.gs1.org/01/09506000134352/21/1/10/LOT", "22, 10, 21 in that order"),
        ("https://id.gs1.org/01/09506000134352/17/250101/21/1", "22, 10, 21 in that order"),
        ("https://id.gs1.org/01/09506000134352/21", "22, 10, 21 in that order"),
        ("https://id.gs1.org/01/09506000134352", "names a class: its GTIN (AI 01) has no serial"),
        ("https://id.gs1.org/8003/00614141123453400", "GRAI '00614141123453': check digit is 3"),
        ("https://id.gs1.org/8003/10614141123452400", "must start with the filler digit 0"),
        ("https://id.gs1.org/8003/00614141123452400/21/1", "nothing may follow the GRAI"),
        ("https://example.com/some/page", "is not a GS1 Digital Link URI with a GTIN (AI 01)"),
        ("https://id.gs1.org/8003/00614141123452400", "with a GTIN (AI 01)"),
    ],
)  # fmt: skip
def test_invalid_digital_links(link: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Sgtin.from_digital_link(link, company_prefix_length=7)
    assert message in info.value.message


def test_grai_link_without_serial_names_a_class() -> None:
    with pytest.raises(InvalidIdentifier, match="names a class"):
        Grai.from_digital_link("https://id.gs1.org/8003/00614141123452", company_prefix_length=7)


# --- company prefix table ---------------------------------------------------------------------


def test_company_prefixes_find_the_prefix_length() -> None:
    table = CompanyPrefixes.of("0614141", "950600013", "069999999999")
    assert table.length_for("80614141123458") == 7
    assert table.length_for("09506000134352") == 9
    assert table.length_for("00614141123452") == 7  # a GRAI: filler 0, then the prefix
    assert table.length_for("10699999999990") == 12
    assert table.length_for("09520123456788") is None


def test_company_prefixes_must_not_overlap_or_be_malformed() -> None:
    with pytest.raises(InvalidIdentifier, match="'061414' and '0614141' overlap"):
        CompanyPrefixes.of("061414", "0614141")
    with pytest.raises(InvalidIdentifier, match="must be 6-12 digits"):
        CompanyPrefixes.of("06141")
