"""The canonical battery identifier and the mapping between all the forms it arrives in."""

from __future__ import annotations

import datetime
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from ionledger.domain import identity
from ionledger.domain.gbt34014 import BatteryCode, ProductType
from ionledger.domain.gs1 import CSET82, CompanyPrefixes, Grai, Sgtin
from ionledger.domain.identity import (
    IdKind,
    canonical_id,
    id_kind,
    is_battery_id,
    to_uri,
    validate_vin,
    vin_uri,
)
from ionledger.domain.vocabulary import GBT_URN_PREFIX, VIN_URN_PREFIX
from ionledger.errors import InvalidBatteryCode, InvalidIdentifier

CODE = "ABCPB12ABCDEFGE2W0000123"
GBT_URN = GBT_URN_PREFIX + CODE
SGTIN_URN = "urn:epc:id:sgtin:0614141.812345.6789"
SGTIN_DL = "https://id.gs1.org/01/80614141123458/21/6789"
GRAI_URN = "urn:epc:id:grai:0614141.12345.400"
GRAI_DL = "https://id.gs1.org/8003/00614141123452400"
GTIN13_DL = "https://id.gs1.org/01/09506000134352/21/ABC-1"  # company prefix not in PREFIXES
SGTIN_ELSEWHERE = "HTTP://example.cn/x/01/80614141123458/21/6789?s=1"
SGTIN_QUALIFIED = "https://r.example/01/80614141123458/22/V1/10/L7/21/6789#x"  # CPV, lot dropped
GTIN13_SHORT = "https://id.gs1.org/01/9506000134352/21/ABC-1"  # a GTIN-13, padded to 14
GRAI_ELSEWHERE = "http://example.com/a/8003/00614141123452400?x=1"
VIN = "LSVAU2180N2183294"
VIN_URN = VIN_URN_PREFIX + VIN
PREFIXES = CompanyPrefixes.of("0614141")


@pytest.mark.parametrize(
    ("given_form", "canonical", "uri", "uri_without_table", "kind"),
    [
        (CODE, CODE, GBT_URN, GBT_URN, IdKind.GBT34014),
        (GBT_URN, CODE, GBT_URN, GBT_URN, IdKind.GBT34014),
        ("URN:IonLedger:GBT34014:" + CODE, CODE, GBT_URN, GBT_URN, IdKind.GBT34014),
        (SGTIN_URN, SGTIN_DL, SGTIN_URN, SGTIN_DL, IdKind.SGTIN),
        ("URN:EPC:ID:SGTIN:0614141.812345.6789", SGTIN_DL, SGTIN_URN, SGTIN_DL, IdKind.SGTIN),
        (SGTIN_DL, SGTIN_DL, SGTIN_URN, SGTIN_DL, IdKind.SGTIN),
        (SGTIN_ELSEWHERE, SGTIN_DL, SGTIN_URN, SGTIN_DL, IdKind.SGTIN),
        (SGTIN_QUALIFIED, SGTIN_DL, SGTIN_URN, SGTIN_DL, IdKind.SGTIN),
        (GTIN13_SHORT, GTIN13_DL, GTIN13_DL, GTIN13_DL, IdKind.SGTIN),
        (GRAI_URN, GRAI_DL, GRAI_URN, GRAI_DL, IdKind.GRAI),
        (GRAI_DL, GRAI_DL, GRAI_URN, GRAI_DL, IdKind.GRAI),
        (GRAI_ELSEWHERE, GRAI_DL, GRAI_URN, GRAI_DL, IdKind.GRAI),
        (VIN_URN, VIN_URN, VIN_URN, VIN_URN, IdKind.VIN),
    ],
)  # fmt: skip
def test_every_form_maps_to_one_canonical_id(
    given_form: str, canonical: str, uri: str, uri_without_table: str, kind: IdKind
) -> None:
    assert canonical_id(given_form) == canonical_id(canonical) == canonical
    assert to_uri(given_form, prefixes=PREFIXES) == to_uri(canonical, prefixes=PREFIXES) == uri
    # Without the prefix table a GS1 key has no EPC URN, even when given as one: the URI
    # depends on the canonical id alone.
    assert to_uri(given_form) == to_uri(canonical) == uri_without_table
    assert canonical_id(uri) == canonical_id(uri_without_table) == canonical
    assert id_kind(given_form) is id_kind(canonical) is kind
    assert is_battery_id(given_form) is (kind is not IdKind.VIN)


_PUNCTUATION = sorted(c for c in CSET82 if not c.isalnum())


@pytest.mark.parametrize("char", _PUNCTUATION)
def test_serial_percent_encoding_is_canonical(char: str) -> None:
    # Everything but letters, digits and -._ is escaped, hex in upper case; however a Digital
    # Link writes the character (raw where the URI allows it, escaped in either case), and
    # however the URN escapes it, the canonical id is the same.
    serial = f"a{char}b"
    want = char if char in "-._" else f"%{ord(char):02X}"
    canonical = f"https://id.gs1.org/01/70614141123451/21/a{want}b"
    key = Sgtin("0614141", "712345", serial)
    assert canonical_id(key.urn) == canonical_id("URN:EPC:ID:SGTIN:" + key.urn[17:]) == canonical
    escaped = f"%{ord(char):02x}"
    assert canonical_id(f"https://x.example/01/70614141123451/21/a{escaped}b") == canonical
    if char not in "/?%":  # these three cannot be raw in a path segment
        assert canonical_id(f"https://x.example/01/70614141123451/21/a{char}b") == canonical
    assert to_uri(canonical, prefixes=PREFIXES) == key.urn


def test_grai_serial_encoding_is_canonical() -> None:
    assert canonical_id("urn:epc:id:grai:0614141.12345.a%2fb!") == (
        "https://id.gs1.org/8003/00614141123452a%2Fb%21"
    )
    assert canonical_id("https://id.gs1.org/8003/00614141123452a%2fb!") == (
        "https://id.gs1.org/8003/00614141123452a%2Fb%21"
    )
    assert canonical_id("https://id.gs1.org/8003/00614141123452%41%2D") == GRAI_DL[:-3] + "A-"


def test_a_digital_link_needs_no_company_prefix() -> None:
    # Digital Links on any host canonicalise without a prefix table: the capture pipeline has none.
    link = "https://resolver.example.cn/01/80614141123458/21/6789"
    assert canonical_id(link) == SGTIN_DL
    assert id_kind(link) is IdKind.SGTIN
    assert to_uri(link) == SGTIN_DL
    assert to_uri(link, prefixes=CompanyPrefixes.of("950600013")) == SGTIN_DL
    assert to_uri(link, prefixes=PREFIXES) == SGTIN_URN


def test_a_twelve_digit_prefix_grai() -> None:
    urn = "urn:epc:id:grai:061414100001..X.1"
    link = "https://id.gs1.org/8003/00614141000012X.1"
    assert canonical_id(urn) == canonical_id(link) == link
    assert to_uri(link, prefixes=CompanyPrefixes.of("061414100001")) == urn


def test_plain_keys_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # URNs and canonical Digital Links with plain serials need no parser objects.
    def no(*args: object, **kwargs: object) -> None:
        raise AssertionError("slow path taken")

    monkeypatch.setattr(Sgtin, "from_urn", no)
    monkeypatch.setattr(Grai, "from_urn", no)
    monkeypatch.setattr(identity, "parse_digital_link", no)
    assert canonical_id(SGTIN_URN) == canonical_id(SGTIN_DL) == SGTIN_DL
    assert canonical_id(GRAI_URN) == canonical_id(GRAI_DL) == GRAI_DL
    assert canonical_id("urn:epc:id:sgtin:0614141.812345.a!b") == SGTIN_DL[:-4] + "a%21b"


@pytest.mark.parametrize(
    "other",
    [
        "urn:epc:id:sgln:0614141.00001.0",
        "urn:epc:id:sscc:0614141.1234567890",
        "urn:epc:class:lgtin:0614141.812345.LOT1",
        "urn:uuid:5d1b9f52-8a54-4b8a-9c59-29c0cf6b1c3e",
        "urn:ionledger:material:lithium",
        "https://id.gs1.org/01/80614141123458",  # a product class, not an item
        "https://id.gs1.org/01/80614141123458/10/LOT1",  # a batch, not an item
        "https://id.gs1.org/8003/00614141123452",  # an asset type, not an asset
        "https://id.gs1.org/414/9520123456788",  # a location
        "https://example.com/2024/01/report",
        "mailto:someone@example.com",
        "x-unknown:anything",
    ],
)
def test_other_uris_come_back_unchanged(other: str) -> None:
    assert canonical_id(other) == other
    assert to_uri(other) == to_uri(other, prefixes=PREFIXES) == other
    assert id_kind(other) is IdKind.OTHER
    assert not is_battery_id(other)


GTIN = "https://id.gs1.org/01/09506000134352"  # + qualifiers
SGTIN_PREFIX = "urn:epc:id:sgtin:0614141.812345."  # + serial


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("ABC", "length must be 24, got 3"),
        ("", "length must be 24, got 0"),
        (CODE.lower(), "position 1 (manufacturer)"),
        (GBT_URN_PREFIX + CODE[:-1], "length must be 24, got 23"),
        (GBT_URN_PREFIX + "ABCPB12ABCDEFGD2X0000123", "day 30 does not exist in February 2023"),
        ("urn:epc:id:sgtin:0614141.81234.6789", "must be 6 digits with a 7-digit company prefix"),
        ("urn:epc:id:sgtin:06141.81234567.1", "company prefix '06141' must be 6-12 digits"),
        ("urn:epc:id:sgtin:0614141.812345", "three parts separated by '.'"),
        (SGTIN_PREFIX + "a/b", "'/' must be percent-escaped"),
        (SGTIN_PREFIX + "a%41", "'%41' is not one of the escapes"),
        (SGTIN_PREFIX + "x" * 21, "SGTIN serial 'xxxxxxxxxxxxxxxxxxxxx' must be 1-20 characters"),
        ("urn:epc:id:grai:0614141.12345.", "GRAI serial '' must be 1-16 characters"),
        ("urn:epc:id:grai:0614141.12345." + "x" * 17, "must be 1-16 characters"),
        ("urn:epc:id:grai:0614141.1234.1", "asset type '1234' must be 5 digits"),
        ("https://id.gs1.org/01/80614141123459/21/6789", "check digit is 9, expected 8"),
        ("http://x.example/01/80614141123459/21/6789", "check digit is 9, expected 8"),
        ("https://id.gs1.org/01/80614141123458/21/a%2", "'%' must start a two-digit hex escape"),
        (GTIN + "/21/%FF", "escape is not valid UTF-8"),
        (GTIN + "/21/a%20b", "character ' ' is not in GS1 AI character set 82"),
        (GTIN + "/21/" + "9" * 21, "must be 1-20 characters"),
        (GTIN + "/21/", "must be 1-20 characters"),
        (GTIN + "/21/1/10/LOT", "22, 10, 21 in that order"),
        (GTIN + "/17/250101/21/1", "22, 10, 21 in that order"),
        ("https://id.gs1.org/8003/00614141123453400", "GRAI '00614141123453': check digit is 3"),
        ("https://id.gs1.org/8003/10614141123452400", "must start with the filler digit 0"),
        ("https://id.gs1.org/8003/00614141123452400/21/1", "nothing may follow the GRAI"),
        ("https://id.gs1.org/8003/00614141123452" + "9" * 17, "must be 1-16 characters"),
        (VIN_URN_PREFIX + VIN[:-1], "must be 17 characters, got 16"),
        (VIN_URN_PREFIX + VIN.lower(), "character 'l' at position 1"),
        (VIN_URN_PREFIX + "LSVAU2180N218329O", "character 'O' at position 17"),
    ],
)  # fmt: skip
def test_malformed_claims_raise_invalid_identifier(bad: str, message: str) -> None:
    for call in (canonical_id, id_kind, to_uri):
        with pytest.raises(InvalidIdentifier) as info:
            call(bad)
        assert message in info.value.message
    assert not is_battery_id(bad)


@pytest.mark.parametrize(
    "form", ["ABCPB12ABCDEFGE2W000012A", GBT_URN_PREFIX + "ABCPB12ABCDEFGE2W000012A"]
)
def test_a_bad_gbt_code_raises_with_its_position(form: str) -> None:
    with pytest.raises(InvalidBatteryCode) as info:
        canonical_id(form)
    assert isinstance(info.value, InvalidIdentifier)
    assert (info.value.position, info.value.field) == (24, "serial")
    assert info.value.problem()["position"] == 24


def _iso3779_check_digit(vin: str) -> str:
    values = {c: i % 9 + 1 for i, c in enumerate("ABCDEFGHIJKLMNOPQR")}
    values |= {c: i + 2 for i, c in enumerate("STUVWXYZ")} | {d: int(d) for d in string.digits}
    weights = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
    r = sum(values[c] * w for c, w in zip(vin, weights, strict=True)) % 11
    return "X" if r == 10 else str(r)


def test_vin_check_digit_is_not_enforced() -> None:
    wrong = next(d for d in "0123456789X" if d != _iso3779_check_digit(VIN))
    vin = VIN[:8] + wrong + VIN[9:]
    assert validate_vin(vin) == vin
    assert canonical_id(VIN_URN_PREFIX + vin) == vin_uri(vin) == VIN_URN_PREFIX + vin


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_vin_excludes_i_o_q(letter: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"character '{letter}' at position 5"):
        validate_vin(VIN[:4] + letter + VIN[5:])


# --- property tests: every form of a random identifier maps back to the same canonical id -----

battery_codes = st.builds(
    BatteryCode,
    manufacturer=st.text(string.ascii_uppercase + string.digits, min_size=3, max_size=3),
    product_type=st.sampled_from(ProductType),
    battery_type=st.sampled_from("ABCDEFGZ"),
    spec=st.text(string.ascii_uppercase + string.digits, min_size=2, max_size=2),
    trace=st.text(string.ascii_uppercase + string.digits, min_size=7, max_size=7),
    produced=st.dates(datetime.date(2011, 1, 1), datetime.date(2041, 12, 31)),
    serial=st.integers(0, 9_999_999),
)


@given(battery_codes)
@settings(max_examples=100)
def test_gbt_forms_round_trip(code: BatteryCode) -> None:
    uri = to_uri(code.text)
    assert uri == GBT_URN_PREFIX + code.text
    assert canonical_id(uri) == canonical_id(code.text) == code.text


@st.composite
def gs1_keys(draw: st.DrawFn) -> Sgtin | Grai:
    n = draw(st.integers(6, 12))
    prefix = draw(st.text(string.digits, min_size=n, max_size=n))
    ref = draw(st.text(string.digits, min_size=13 - n, max_size=13 - n))
    serial = draw(st.text("".join(sorted(CSET82)), min_size=1, max_size=20))
    return Grai(prefix, ref[1:], serial[:16]) if draw(st.booleans()) else Sgtin(prefix, ref, serial)


@st.composite
def written_serials(draw: st.DrawFn, serial: str) -> str:
    """``serial`` as some Digital Link might write it: each character raw or escaped, any case."""
    out = []
    for c in serial:
        if c in "/?%" or draw(st.booleans()):
            hex_ = f"{ord(c):02X}"
            out.append("%" + (hex_.lower() if draw(st.booleans()) else hex_))
        else:
            out.append(c)
    return "".join(out)


@given(gs1_keys(), st.data())
@settings(max_examples=200)
def test_gs1_forms_round_trip(key: Sgtin | Grai, data: st.DataObject) -> None:
    canonical = key.digital_link()  # https://id.gs1.org, everything but -._ escaped
    assert canonical_id(key.urn) == canonical_id(canonical) == canonical
    assert canonical_id(key.digital_link("http://Resolver.example/a/b")) == canonical
    written = data.draw(written_serials(key.serial))
    if isinstance(key, Sgtin):
        other = f"https://x.example/01/{key.gtin}/10/LOT1/21/{written}?linkType=gs1:pip"
    else:
        other = f"https://x.example/8003/{key.grai}{written}#frag"
    assert canonical_id(other) == canonical
    # URN -> canonical Digital Link -> URN, given the company prefix length.
    assert to_uri(canonical, prefixes=CompanyPrefixes.of(key.company_prefix)) == key.urn
    assert to_uri(key.urn) == canonical
    assert id_kind(canonical) is (IdKind.GRAI if isinstance(key, Grai) else IdKind.SGTIN)


def test_docs_examples_are_right() -> None:
    text = (ROOT / "docs" / "identifiers.md").read_text(encoding="utf-8")
    block = text.split("<!-- examples-start -->")[1].split("<!-- examples-end -->")[0]
    rows = [re.findall(r"`([^`]+)`", line) for line in block.splitlines()]
    rows = [row for row in rows if row]
    assert len(rows) >= 8
    for form, canonical, uri, uri_without_table in rows:
        assert canonical_id(form) == canonical, form
        assert to_uri(form, prefixes=PREFIXES) == uri, form
        assert to_uri(form) == uri_without_table, form
