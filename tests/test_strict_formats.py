"""The ``uri`` and ``date-time`` formats and ECMA-262 patterns, held to the oracles' checkers."""

from __future__ import annotations

import pytest

from ionledger.epcis.strict import is_date_time, is_uri, strict_findings
from strict_oracle import AJV_URI, RFC3986, ajv_date_time, gs1, load, official, rfc3339

# --- formats ----------------------------------------------------------------------------------

URIS = [
    "urn:epc:id:sgtin:0614141.107346.2018",
    "https://id.gs1.org/01/09521234000013/21/BAT2024-001",
    "ni:///sha-256;fec9667280c4710a3fa9558b7bc8ddc2ced0dc442d87f82becae24bb6ca6a46f?ver=CBV2.0",
    "http://[2001:db8::7]/c=GB?objectClass?one",
    "http://[v7.x:y]/",
    "http://user:pw@example.com:8080/a/b?c=d#e",
    "mailto:John.Doe@example.com",
    "a:",
    "a:/",
    "ex1:float",
    "http://example.com/%41",
    "http://[::ffff:192.0.2.1]/",
    "_:document1",
    "not a uri",
    "urn:epc id",
    "http://exa mple.com",
    "http://example.com/%zz",
    "1abc:x",
    "",
    "é:x",
    "http://[1:2:3:4:5:6:7:8:9]/",
    "http://[::1/",
    "a:b\n",
]
DATE_TIMES = [
    "2005-04-05T02:33:31.116Z",
    "2005-04-05t02:33:31z",
    "2020-02-29T23:59:59+14:00",
    "2020-02-29T23:59:59.123456789-00:00",
    "2021-02-29T10:00:00Z",
    "2020-13-01T00:00:00Z",
    "2020-01-01T24:00:00Z",
    "2020-01-01T10:60:00Z",
    "2016-12-31T23:59:60Z",
    "2020-01-01T10:00:00",
    "2020-01-01T10:00:00+0100",
    "2020-01-01T10:00:00+01",
    "2020-01-01T10:00:00+24:00",
    "2020-01-01 10:00:00Z",
    "0000-01-01T00:00:00Z",
    "20200101T100000Z",
    "2020-01-01T10:00Z",
    "2020-1-01T10:00:00Z",
    "tomorrow",
    "2020-01-01T10:00:00Z\n",
]
# Where the ajv-formats checkers say otherwise than RFC 3339/3986 (and we, and jsonschema's).
AJV_DIFFERS = {"a:", "2020-01-01T10:00:00+0100", "2020-01-01T10:00:00+01",
               "2020-01-01T10:00:00+24:00", "2020-01-01 10:00:00Z", "2016-12-31T23:59:60Z",
               "0000-01-01T00:00:00Z"}  # fmt: skip
# The transcribed Python checkers let "$" match before a final newline; ECMA-262 and we do not.
NEWLINE_QUIRK = {"a:b\n", "2020-01-01T10:00:00Z\n"}


@pytest.mark.parametrize("text", URIS)
def test_uri_format(text: str) -> None:
    reference = RFC3986.match(text) is not None
    assert is_uri(text) == (reference and text not in NEWLINE_QUIRK)
    assert (AJV_URI.fullmatch(text) is not None) == (is_uri(text) != (text in AJV_DIFFERS))


@pytest.mark.parametrize("text", DATE_TIMES)
def test_date_time_format(text: str) -> None:
    assert is_date_time(text) == (rfc3339(text) and text not in NEWLINE_QUIRK)
    assert ajv_date_time(text) == (is_date_time(text) != (text in AJV_DIFFERS))


@pytest.mark.refdata
def test_patterns_are_ecma_262_not_python_re() -> None:
    """JSON Schema patterns are ECMA-262: "$" ends the string and "\\d" is ASCII. Python's
    ``re.search``, which jsonschema uses, lets "2.0\\n" and Arabic-Indic digits through."""
    base = load(gs1() / "JSON" / "Example_9.6.1-ObjectEvent.jsonld")
    for version in ("2.0\n", "\u0662.\u0660"):
        document = {**base, "schemaVersion": version}
        assert [(f.pointer, f.rule) for f in strict_findings(document)] == [
            ("/schemaVersion", "pattern")
        ]
        assert not official(document)  # the Python oracle's reading, not the standard's
