"""RFC 8785 JSON canonicalisation: number forms, member order, escapes, and the fast path."""

from __future__ import annotations

import json
import math
import struct

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionledger.ledger.canonical import canonical_json, canonical_json_bytes, es6_number

# RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript serialisations.
RFC8785_NUMBERS = {
    "0000000000000000": "0",
    "8000000000000000": "0",
    "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22",
    "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
    "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332",
    "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333",
    "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343",
    "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


@pytest.mark.parametrize(("bits", "text"), RFC8785_NUMBERS.items())
def test_rfc8785_number_serialisation(bits: str, text: str) -> None:
    (value,) = struct.unpack(">d", bytes.fromhex(bits))
    assert es6_number(value) == text


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip(value: float) -> None:
    text = es6_number(value)
    assert float(text) == value
    assert "e" not in text or text[text.index("e") + 1] in "+-"


def test_rfc8785_example_object() -> None:
    """The shape of RFC 8785 §3.2.3's example: members by UTF-16 code units, numbers in
    ECMAScript form, literals and strings untouched."""
    value = {"numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 1e-27], "literals": [None, True]}
    value["string"] = '\u20ac$\u000f\nA\'B"\\\\"/'
    assert canonical_json(value) == (
        b'{"literals":[null,true],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    # RFC 8785 §3.2.3: "\u20ac" sorts after "\U0001F600" in UTF-16 but before it in code points.
    assert canonical_json({"\u20ac": 1, "\U0001f600": 2, "\ufb33": 3, "\r": 4, "1": 5}) == (
        '{"\r":4,"1":5,"\u20ac":1,"\U0001f600":2,"\ufb33":3}'.encode().replace(b"\r", b"\\r")
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.text(max_size=10))
def test_the_fast_path_gives_the_same_bytes(value: dict[str, object], extra: str) -> None:
    """canonical_json_bytes (decoder hook, C sorting) equals canonical_json (the Python walk),
    whatever the document: astral keys, long integers, escapes, floats."""
    for doc in (msgspec.json.encode(value), json.dumps(value).encode()):
        expected = canonical_json({**msgspec.json.decode(doc), "recordTime": extra})
        assert canonical_json_bytes(doc, recordTime=extra) == expected


def test_large_integers_are_written_as_doubles() -> None:
    doc = b'{"a":12345678901234567890,"b":9007199254740993}'
    out = canonical_json_bytes(doc)
    assert out == b'{"a":12345678901234567000,"b":9007199254740992}'
    assert json.loads(out)["b"] == 9007199254740992
    assert math.isclose(json.loads(out)["a"], 1.2345678901234567e19)
