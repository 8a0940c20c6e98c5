"""Unified social credit codes: GB 32100-2015's check character, GB 11714's organisation code."""

from __future__ import annotations

import itertools

import pytest

from ionledger.domain import uscc

# Published codes: python-stdnum's doctest for stdnum.cn.uscc (91110000600037341L), and the
# example widely used to illustrate the standard (91350100M000100Y43).
KNOWN_VALID = ("91110000600037341L", "91350100M000100Y43")


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_published_codes_are_valid(code: str) -> None:
    assert uscc.is_valid(code)
    assert uscc.check_char(code[:17]) == code[17]


def test_weights_are_powers_of_three_mod_31() -> None:
    assert uscc.WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(uscc.CHARSET) == 31
    assert not set(uscc.CHARSET) & set("IOZSV")


def test_a_code_from_a_pilot_region_without_the_standard_check_fails() -> None:
    # Issued in Fuzhou before the standard; its last character is not GB 32100's (which is 1).
    assert not uscc.is_valid("91350100M0001TGQXM")
    assert uscc.check_char("91350100M0001TGQX") == "1"


def test_every_single_character_change_is_caught() -> None:
    code = KNOWN_VALID[0]
    for i, c in itertools.product(range(18), uscc.CHARSET):
        if c != code[i]:
            changed = code[:i] + c + code[i + 1 :]
            assert not uscc.is_valid(changed), changed


def test_adjacent_transpositions_are_caught() -> None:
    code = KNOWN_VALID[1]
    for i in range(17):
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        if swapped != code:
            assert not uscc.is_valid(swapped), swapped


@pytest.mark.parametrize(
    "code",
    [
        "",
        "91110000600037341",  # 17 characters
        "91110000600037341LL",
        "91110000600037341l",  # lower case
        "9111000060003734IL",  # I is not a code character
        "91A10000600037341L",  # positions 3-8 are a division code: digits
    ],
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not uscc.is_valid(code)


def test_check_char_wants_17_code_characters() -> None:
    with pytest.raises(ValueError, match="17 characters"):
        uscc.check_char("9111000060003734")
    with pytest.raises(ValueError, match="not a code character"):
        uscc.check_char("9111000060003734O")


def test_organisation_code_check_character() -> None:
    # The organisation code inside the first published code: 60003734-1.
    assert uscc.org_check_char("60003734") == "1"
    remainders = {uscc.org_check_char(f"{n:08d}") for n in range(0, 2_000)}
    assert remainders == set("0123456789X")


def test_make_builds_valid_codes() -> None:
    code = uscc.make("9", "1", uscc.PROVINCE_DIVISIONS["CN-GD"] + "0000", "12345678")
    assert uscc.is_valid(code)
    assert code.startswith("91440000")
    assert code[16] == uscc.org_check_char("12345678")
    assert uscc.is_valid(uscc.make("1", "1", uscc.NATIONAL_DIVISION, "00000001"))
    with pytest.raises(ValueError, match="six digits"):
        uscc.make("9", "1", "4400", "12345678")
