"""Hostile and broken XML: always InvalidDocument, with a message saying what is wrong."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ionledger.epcis import xml_safe
from ionledger.epcis.xml import DOCTYPE_REFUSED, read_document, read_events, write_document
from ionledger.errors import InvalidDocument
from xml_helpers import EXTENSION_XML, epcis, object_event

MARKER = "MARKER-5b0c2e-never-read"
JSON_NS = 'xmlns:j="urn:ionledger:json-key"'
JSON_MARK = "j:jsonValued='a'"


def _billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
    )
    return f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>'.encode()


def _xxe(url: str) -> bytes:
    prolog = f'<?xml version="1.0"?><!DOCTYPE epcis:EPCISDocument [<!ENTITY xxe SYSTEM "{url}">]>'
    return epcis(object_event("<bizStep>&xxe;</bizStep>"), prolog=prolog)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


def _refused(data: bytes, **limits: int) -> str:
    with pytest.raises(InvalidDocument) as caught:
        read_document(data, **limits)
    assert MARKER not in str(caught.value)
    return caught.value.message


def test_billion_laughs_is_refused_before_parsing() -> None:
    assert _refused(_billion_laughs()) == DOCTYPE_REFUSED
    assert _refused(_billion_laughs().decode().encode("utf-16")) == DOCTYPE_REFUSED


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "utf-32"])
def test_xxe_never_reads_the_file(secret: Path, encoding: str) -> None:
    text = _xxe(secret.as_uri()).decode()
    text = text.replace('version="1.0"', f'version="1.0" encoding="{encoding}"')
    assert _refused(text.encode(encoding)) == DOCTYPE_REFUSED


def test_xxe_is_refused_even_if_the_prolog_scan_missed_it(
    secret: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the pre-parse scan disabled, the parser's settings and the
    post-parse DOCTYPE check still refuse it, and nothing is read."""
    monkeypatch.setattr(xml_safe, "_check_doctype", lambda data: False)
    for data in (_xxe(secret.as_uri()), _xxe("http://127.0.0.1:9/x"), _billion_laughs()):
        assert _refused(data) == DOCTYPE_REFUSED
    parameter = (
        f'<!DOCTYPE x [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>'
        + epcis(object_event()).decode()
    ).encode()
    assert _refused(parameter) == DOCTYPE_REFUSED


def test_a_doctype_the_prolog_scan_cannot_see_is_refused_after_parsing(secret: Path) -> None:
    # UTF-7 spells "<" as "+ADw-": the byte scan sees no DOCTYPE, the parsed tree's docinfo does.
    body = _xxe(secret.as_uri()).decode().split("?>", 1)[1]
    body = body.replace("+", "+-").replace("<", "+ADw-")
    assert _refused(b'<?xml version="1.0" encoding="UTF-7"?>' + body.encode()) == DOCTYPE_REFUSED


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:9/x">]>',  # XXE over http
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]>',  # parameter entity
        '<!DOCTYPE epcis:EPCISDocument SYSTEM "http://127.0.0.1:9/epcis.dtd">',
        '<!DOCTYPE epcis:EPCISDocument PUBLIC "-//GS1//EPCIS//EN" "epcis.dtd">',
        "<!DOCTYPE epcis:EPCISDocument []>",  # a DOCTYPE with nothing in it is still refused
        '<?xml version="1.0"?>\n<!-- a comment --><?pi x?>\n<!DOCTYPE x [<!ELEMENT x ANY>]>',
    ],
)
def test_any_doctype_that_can_declare_or_load_something_is_refused(prolog: str) -> None:
    assert _refused(epcis(object_event(), prolog=prolog)) == DOCTYPE_REFUSED


def test_a_bare_doctype_declares_nothing_and_is_tolerated() -> None:
    # GS1's own examples carry "<!DOCTYPE project>": no DTD, no entities, nothing to resolve.
    data = epcis(object_event(), prolog='<?xml version="1.0"?>\n<!DOCTYPE project>\n')
    assert read_events(data)[0]["action"] == "OBSERVE"
    # An entity reference still has nothing to refer to.
    undeclared = epcis(object_event("<bizStep>&x;</bizStep>"), prolog="<!DOCTYPE project>")
    assert "Entity 'x' not defined" in _refused(undeclared)


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (epcis(object_event()), {"max_bytes": 100}, "exceeds the limit of 100 bytes"),
        (epcis(object_event()), {"max_depth": 5}, "deeper than the limit of 5 elements (line 1)"),
        (b"<a>" * 300 + b"</a>" * 300, {}, "deeper than the limit of 64 elements"),
        (b"<a>" * 300 + b"</a>" * 300, {"max_depth": 1000}, "deeper than the limit of 256"),
        (b"<a>\n<b></a>", {}, "malformed XML at line 2, column 8: Opening and ending tag"),
        (b"", {}, "empty document"),
        (b" \n\t", {}, "empty document"),
        (b"<!DOCTYPE x>", {}, "malformed XML at line 1"),
        (b"\xff\xfe\x00garbage\x80\x81\x00\xc3", {}, "malformed XML at line 1"),
        (b"\x80\x81\x82 not xml", {}, "malformed XML at line 1"),
        (b'<?xml version="1.0" encoding="UTF-8"?><a>\xff\xfe</a>', {}, "malformed XML"),
        (b" " * (1024 * 1024 + 10) + b"<a/>", {}, "prolog (before the root element) is longer"),
        (b'<foo xmlns="urn:x"/>', {}, "not an EPCIS document: the root element is {urn:x}"),
        (b"<EPCISDocument/>", {}, "not an EPCIS document"),
        (b'<e:EPCISDocument xmlns:e="urn:epcglobal:epcis:xsd:1"/>', {}, "has no <EPCISBody>"),
        (b'<m:EPCISMasterDataDocument xmlns:m="urn:epcglobal:epcis-masterdata:xsd:1"/>', {},
         "an EPCIS 1.x master-data document (EPCISMasterDataDocument), not an event document"),
        (b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:1"><EPCISBody>'
         b"<q:Poll/></EPCISBody></q:EPCISQueryDocument>", {},
         "an EPCIS query-interface message (Poll), not an event document"),
        (b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2"><queryName>x'
         b"</queryName></q:EPCISQueryDocument>", {}, "has no <EPCISBody>"),
        (b'<e:EPCISException xmlns:e="urn:epcglobal:epcis:xsd:2"/>', {}, "an EPCIS exception"),
        (
            b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2"><EPCISBody>'
            b"<q:Poll><queryName>x</queryName></q:Poll></EPCISBody></q:EPCISQueryDocument>",
            {},
            "an EPCIS query-interface message (Poll), not an event document",
        ),
        (
            b'<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2"><EPCISBody>'
            b"<q:QueryResults><queryName>x</queryName><resultsBody><VocabularyList/>"
            b"</resultsBody></q:QueryResults></EPCISBody></q:EPCISQueryDocument>",
            {},
            "master-data results (VocabularyList), not an event document",
        ),
        (epcis("<QuantityEvent/>"), {}, "event 0: <QuantityEvent> at line 1: not an EPCIS 2.0"),
        (epcis("<QuantityEvent/>"), {}, "2.0 removed it (an ObjectEvent with a quantityList"),
        (epcis(object_event(attributes=f" {JSON_MARK} a='[[['"), namespaces=JSON_NS), {},
         "attribute a: not the JSON it is marked as"),
        (epcis(object_event(attributes=f" {JSON_MARK} a='{'[' * 70}{']' * 70}'"),
               namespaces=JSON_NS), {}, "attribute a: JSON deeper than the limit of 64"),
        (epcis("").replace(b"<EPCISBody>", b"<EPCISHeader/>").replace(b"</EPCISBody>", b""),
         {}, "has no <EPCISBody>"),
    ],
)  # fmt: skip
def test_broken_input_is_refused_with_a_specific_message(
    data: bytes, limits: dict[str, int], message: str
) -> None:
    assert message in _refused(data, **limits)


def test_nothing_but_invalid_document_escapes_for_any_bytes() -> None:
    rng = random.Random(20240601)
    seed = EXTENSION_XML
    for _ in range(400):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            if rng.random() < 0.5:
                data[position] = rng.randrange(256)
            else:
                del data[position : position + rng.randint(1, 40)]
        try:
            document = read_document(bytes(data))
        except InvalidDocument:
            continue
        read_document(write_document(document))  # what reads also writes and reads back
    for data in (bytes(range(256)), b"<" * 5000, b"<?xml" * 100, "\u00e9".encode("utf-16")):
        with pytest.raises(InvalidDocument):
            read_document(data)
    with pytest.raises(InvalidDocument, match="expected the XML document as bytes"):
        read_document("<a/>")  # type: ignore[arg-type]
