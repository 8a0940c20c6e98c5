"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

An 18-character code every legal entity and other organisation in China holds:

=====  ===  ==========================================================================
pos    len  field
=====  ===  ==========================================================================
1      1    registration authority (1 institutional staffing, 5 civil affairs,
            9 market regulation, ... Y other)
2      1    kind of entity under that authority (for 9: 1 enterprise, 2 individual
            business, 3 farmers' cooperative; for 1: 1 government body, ...)
3-8    6    administrative division of the registering authority (GB/T 2260)
9-17   9    organisation code (GB 11714: 8 characters and their check character)
18     1    check character over positions 1-17
=====  ===  ==========================================================================

Characters are digits and upper-case letters except I, O, Z, S and V (31 characters, valued
0-30 in this order). The check character (GB 32100-2015, clause 5 and annex: ISO 7064 MOD 31-3
as GB/T 17710 takes it over) is ``C18 = 31 - (sum(Ci * Wi) mod 31)``, with weights
``Wi = 3^(i-1) mod 31`` and 31 written as 0. The organisation code's own check character
(GB 11714-1997) is ``C9 = 11 - (sum(Ci * Wi) mod 11)`` over its 8 characters with weights
3, 7, 9, 10, 5, 8, 4, 2 (letters valued A = 10 ... Z = 35), 10 written X and 11 written 0.
Codes issued early in pilot regions do not always carry a GB 11714 organisation code, so
:func:`is_valid` checks the structure and the check character only.
"""

from __future__ import annotations

import re

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
_CODE = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$")

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY = re.compile(r"^[0-9A-Z]{8}$")

# GB/T 2260 codes of the provincial-level divisions (the first two digits of a division code),
# by ISO 3166-2:CN code.
PROVINCE_DIVISIONS: dict[str, str] = {
    "CN-BJ": "11", "CN-TJ": "12", "CN-HE": "13", "CN-SX": "14", "CN-NM": "15",
    "CN-LN": "21", "CN-JL": "22", "CN-HL": "23",
    "CN-SH": "31", "CN-JS": "32", "CN-ZJ": "33", "CN-AH": "34", "CN-FJ": "35", "CN-JX": "36",
    "CN-SD": "37",
    "CN-HA": "41", "CN-HB": "42", "CN-HN": "43", "CN-GD": "44", "CN-GX": "45", "CN-HI": "46",
    "CN-CQ": "50", "CN-SC": "51", "CN-GZ": "52", "CN-YN": "53", "CN-XZ": "54",
    "CN-SN": "61", "CN-GS": "62", "CN-QH": "63", "CN-NX": "64", "CN-XJ": "65",
    "CN-TW": "71", "CN-HK": "81", "CN-MO": "82",
}  # fmt: skip
NATIONAL_DIVISION = "100000"  # registered at the centre (used by central government bodies)


def check_char(code17: str) -> str:
    """The check character (position 18) of the first 17 characters of a code."""
    if len(code17) != 17:
        raise ValueError(f"need the first 17 characters, got {len(code17)}")
    try:
        total = sum(_VALUE[c] * w for c, w in zip(code17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not a code character (no I, O, Z, S, V)") from None
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """An 18-character code of the right characters whose check character matches."""
    return bool(_CODE.match(code)) and code[17] == check_char(code[:17])


def org_check_char(body8: str) -> str:
    """GB 11714-1997 check character of an 8-character organisation code body."""
    if not _ORG_BODY.match(body8):
        raise ValueError(f"{body8!r} is not 8 digits or upper-case letters")
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make(authority: str, kind: str, division: str, org_body8: str) -> str:
    """A code from its fields: the organisation code gets its GB 11714 check character and the
    whole its GB 32100 check character."""
    if len(authority) != 1 or len(kind) != 1 or not re.fullmatch(r"[0-9]{6}", division):
        raise ValueError("authority and kind are one character each, division six digits")
    head = f"{authority}{kind}{division}{org_body8}{org_check_char(org_body8)}"
    code = head + check_char(head)
    if not is_valid(code):  # a letter outside the code's character set
        raise ValueError(f"{code!r} is not a valid unified social credit code")
    return code
