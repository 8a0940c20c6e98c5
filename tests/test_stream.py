"""Streaming EPCIS reader: exact event bytes for any valid document, precise errors otherwise."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import need_refdata
from ionledger.epcis.stream import DocumentHeader, _Scanner, iter_events, read_header
from ionledger.errors import InvalidDocument

# -- helpers ----------------------------------------------------------------------------------


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read, like a pipe or socket."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out


class Generated(io.RawIOBase):
    """A read-only stream over byte chunks produced lazily, so the document never exists whole."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._pending = chunks, b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = size if size >= 0 else 1 << 62
        while len(self._pending) < size:
            nxt = next(self._chunks, b"")
            if not nxt:
                break
            self._pending += nxt
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


def split(data: bytes, **kwargs: Any) -> tuple[list[bytes], DocumentHeader]:
    stream = iter_events(io.BytesIO(data), **kwargs)
    events = list(stream)
    assert stream.events_read == len(events)
    assert stream.bytes_read == len(data)
    return events, stream.header


def assert_slices(source: bytes, events: list[bytes]) -> None:
    """Each event is a `bytes` copied verbatim from the source, in document order."""
    cursor = 0
    for ev in events:
        assert type(ev) is bytes
        cursor = source.index(ev, cursor) + len(ev)


def doc(events: list[Any], **members: Any) -> bytes:
    body = {"epcisBody": {"eventList": events}}
    return json.dumps({"type": "EPCISDocument", **members, **body}).encode()


def error(data: bytes, **kwargs: Any) -> str:
    with pytest.raises(InvalidDocument) as info:
        list(iter_events(io.BytesIO(data), **kwargs))
    return info.value.message


# -- random documents -------------------------------------------------------------------------

TRICKY = ["a\\", "\\", '"', '\\"', '"\\', "{", "}", "[", "]", '{"a": [', "]}", "\\\\", "é", "测试"]
strings = st.text(max_size=12) | st.sampled_from([*TRICKY, "\U0001f50b", "\x00\x1f"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | strings
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=4),
    max_leaves=12,
)
events_st = st.lists(st.dictionaries(strings, values, max_size=5), max_size=6)
header_st = st.dictionaries(
    st.sampled_from(["@context", "type", "schemaVersion", "creationDate", "epcisHeader", "x\\"]),
    values,
    max_size=5,
)
WHITESPACE = ["", "", " ", "\n", "\t", "\r\n", "  \n\t  ", " " * 70]


def dumps(value: Any, ws: Callable[[], str], ascii_only: bool) -> str:
    """JSON text of value with ws() between all tokens."""

    def key(k: str) -> str:
        return json.dumps(k, ensure_ascii=ascii_only)

    if isinstance(value, dict):
        items = [
            f"{ws()}{key(k)}{ws()}:{ws()}{dumps(v, ws, ascii_only)}{ws()}" for k, v in value.items()
        ]
        return "{" + ",".join(items) + ws() + "}"
    if isinstance(value, list):
        items = [ws() + dumps(v, ws, ascii_only) + ws() for v in value]
        return "[" + ",".join(items) + ws() + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, dict[str, Any], list[Any]]:
    header = draw(header_st)
    events = draw(events_st)
    body: dict[str, Any] = {"eventList": events}
    if draw(st.booleans()):
        body = {"other": draw(values), **body} if draw(st.booleans()) else {**body, "z": [1]}
    members = list(header.items())
    members.insert(draw(st.integers(0, len(members))), ("epcisBody", body))
    rnd = draw(st.randoms(use_true_random=False))
    spacing = draw(st.sampled_from(["none", "some", "lots"]))

    def ws() -> str:
        if spacing == "none":
            return ""
        if spacing == "lots" and rnd.random() < 0.1:
            return " \t\r\n" * rnd.randint(50, 500)
        return rnd.choice(WHITESPACE)

    text = ws() + dumps(dict(members), ws, draw(st.booleans())) + ws()
    return text.encode(), header, events


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_random_documents_split_exactly(case: tuple[bytes, dict[str, Any], list[Any]]) -> None:
    data, header, events = case
    for chunk_size in (1, 2, 7, 64, 1 << 20):
        got, got_header = split(data, chunk_size=chunk_size)
        assert [json.loads(ev) for ev in got] == events
        assert_slices(data, got)
        assert got_header.fields == header
        assert got_header.kind == (header["type"] if isinstance(header.get("type"), str) else "")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from([1, 3]))
def test_short_reads(case: tuple[bytes, dict[str, Any], list[Any]], step: int) -> None:
    data, header, events = case
    stream = iter_events(Trickle(data, step), chunk_size=64)  # type: ignore[arg-type]
    got = list(stream)
    assert [json.loads(ev) for ev in got] == events
    assert stream.header.fields == header


def reference_brackets(text: bytes) -> list[tuple[int, int]]:
    """Brackets outside strings and the depth after each, by a plain byte loop.

    An odd run of backslashes escapes the quote after it, in or out of strings: outside them a
    backslash is not JSON, so any reading will do, and this is the scanner's.
    """
    out: list[tuple[int, int]] = []
    depth, in_string, escaped = 0, False, False
    for i, b in enumerate(text):
        if b == 0x22 and not escaped:
            in_string = not in_string
        elif not in_string and b in b"{[}]":
            depth += 1 if b in b"{[" else -1
            out.append((i, depth))
        escaped = b == 0x5C and not escaped
    return out


json_texts = values.map(lambda v: json.dumps(v).encode())
soup = st.text(alphabet='"\\{}[]a ', max_size=300).map(str.encode)  # backslash runs, stray quotes


@settings(max_examples=300, deadline=None)
@given(json_texts | soup, st.lists(st.integers(1, 40), max_size=30))
def test_scanner_carries_state_across_windows(text: bytes, cuts: list[int]) -> None:
    scanner, start = _Scanner(), 0
    got: list[tuple[int, int]] = []
    for cut in [*cuts, len(text)]:
        end = min(start + cut, len(text))
        if end > start:
            pos, _, depth = scanner.window(text[:end], start)
            got += zip(pos.tolist(), depth.tolist(), strict=True)
            start = end
    assert got == reference_brackets(text)


# -- behaviour --------------------------------------------------------------------------------


def test_header_before_body_is_ready_at_first_event() -> None:
    data = b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"a": 1}]}, "after": [1, 2]}'
    stream = iter_events(io.BytesIO(data))
    assert next(stream) == b'{"a": 1}'
    assert stream.header.fields == {"type": "EPCISDocument"}
    assert stream.header.kind == "EPCISDocument"
    assert list(stream) == []
    assert stream.header.fields == {"type": "EPCISDocument", "after": [1, 2]}


def test_empty_event_list_and_whitespace() -> None:
    data = b'\xef\xbb\xbf \n{ "epcisBody" : { "eventList" : [ \n ] } , "type":"x" } \r\n'
    events, header = split(data)
    assert events == []
    assert header == DocumentHeader(kind="x", fields={"type": "x"})


def test_query_document() -> None:
    events = [{"type": "ObjectEvent", "n": i} for i in range(3)]
    data = json.dumps(
        {
            "type": "EPCISQueryDocument",
            "schemaVersion": "2.0",
            "epcisBody": {
                "queryResults": {
                    "subscriptionID": "s1",
                    "queryName": "SimpleEventQuery",
                    "resultsBody": {"eventList": events},
                }
            },
        }
    ).encode()
    got, header = split(data, chunk_size=5)
    assert [json.loads(e) for e in got] == events
    assert header.kind == "EPCISQueryDocument"
    assert header.fields == {"type": "EPCISQueryDocument", "schemaVersion": "2.0"}


def test_read_header(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(doc([{"a": 1}] * 3, creationDate="2024-01-01T00:00:00Z"))
    header = read_header(path)
    assert header.kind == "EPCISDocument"
    assert header.fields["creationDate"] == "2024-01-01T00:00:00Z"


def test_event_at_exactly_the_size_limit() -> None:
    event = b'{"k": "' + b"x" * 91 + b'"}'
    assert len(event) == 100
    data = b'{"epcisBody": {"eventList": [' + event + b"]}}"
    for chunk_size in (3, 1 << 20):
        assert split(data, chunk_size=chunk_size, max_event_bytes=100)[0] == [event]


def test_memory_stays_flat_for_a_large_document() -> None:
    event = json.dumps(
        {"type": "ObjectEvent", "epcList": ["urn:epc:id:sgtin:1.2.3"] * 20, "p": "x" * 400}
    )
    count = 50_000_000 // (len(event) + 1)

    def chunks() -> Iterator[bytes]:
        yield b'{"type": "EPCISDocument", "epcisBody": {"eventList": ['
        batch = ",".join([event] * 100).encode()
        for i in range(count // 100):
            yield (b"," if i else b"") + batch
        yield b"]}}"

    tracemalloc.start()
    try:
        stream = iter_events(Generated(chunks()))  # type: ignore[arg-type]
        n = sum(1 for _ in stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == count // 100 * 100
    assert stream.bytes_read > 45_000_000
    assert peak < 10_000_000, f"peak {peak} bytes"


# -- errors -----------------------------------------------------------------------------------

BAD = [
    (b"", r"truncated document: end of input at byte 0"),
    (b"hello", r"not JSON: expected an EPCIS document object, found 'h' at byte 0"),
    (b'[{"a": 1}]', r"top-level value is not an object \(found '\[' at byte 0\)"),
    (b'  "text"', r"top-level value is not an object \(found '\"' at byte 2\)"),
    (b'{"type": "EPCISDocument"}', r"document has no epcisBody member"),
    (b'{"epcisBody": {"x": []}}', r"epcisBody has no eventList"),
    (b'{"epcisBody": []}', r"epcisBody is not an object \(found '\[' at byte 14\)"),
    (
        b'{"epcisBody": {"eventList": {}}}',
        r"epcisBody.eventList is not an array \(found '\{' at byte 28\)",
    ),
    (
        b'{"epcisBody": {"eventList": [{}, 1]}}',
        r"event 1 is not an object \(found '1' at byte 33\)",
    ),
    (
        b'{"epcisBody": {"eventList": [["x"]]}}',
        r"event 0 is not an object \(found '\[' at byte 29\)",
    ),
    (
        b'{"epcisBody": {"eventList": ["{}"]}}',
        r"event 0 is not an object \(found '\"' at byte 29\)",
    ),
    (
        b'{"epcisBody": {"eventList": [{} {}]}}',
        r"expected ',' or '\]' after event 0, found '\{' at byte 32",
    ),
    (b'{"epcisBody": {"eventList": [{},]}}', r"trailing comma in eventList before byte 32"),
    (b'{"epcisBody": {"eventList": [,{}]}}', r"expected event 0, found ',' at byte 29"),
    (
        b'{"epcisBody": {"eventList": [{"a": [}]}}',
        r"unbalanced brackets: '\]' ends event 0 at byte 37",
    ),
    (
        b'{"epcisBody": {"eventList": [{}}]}}',
        r"unbalanced brackets: '\}' closes eventList at byte 31",
    ),
    (
        b'{"epcisBody": {"eventList": [{}, {"a": "',
        r"end of input inside event 1 \(started at byte 33\)",
    ),
    (b'{"epcisBody": {"eventList": [{}, ', r"end of input inside eventList \(started at byte 28\)"),
    (b'{"epcisBody": {"eventList": []}', r"end of input at byte 31, expected ',' or '\}'"),
    (b'{"epcisBody": {"eventList": []}} x', r"trailing data after the document at byte 33"),
    (b'{"epcisBody": {"eventList": []}}{}', r"trailing data after the document at byte 32"),
    (b'{"a": tru, "epcisBody": {"eventList": []}}', r"member a at byte 6 is not valid JSON"),
    (b'{"a" 1}', r"expected ':', found '1' at byte 5"),
    (b'{"a": 1 "b": 2}', r"expected ',' or '\}', found '\"' at byte 8"),
    (b'{"a": [1, 2}, "epcisBody": {"eventList": []}}', r"member a at byte 6 is not valid JSON"),
    (b'{"epcisBody": {"eventList": [], "eventList": []}}', r"second eventList at byte 45"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
@pytest.mark.parametrize("chunk_size", [1, 1 << 20])
def test_errors(data: bytes, message: str, chunk_size: int) -> None:
    assert re.search(message, error(data, chunk_size=chunk_size))


@pytest.mark.parametrize("chunk_size", [7, 1 << 20])
def test_event_too_large(chunk_size: int) -> None:
    data = doc([{"a": 1}, {"b": 2}, {"big": "x" * 200}, {"c": 3}])
    start = data.index(b'{"big"')
    message = error(data, chunk_size=chunk_size, max_event_bytes=100)
    assert message == f"event 2 is larger than 100 bytes (starts at byte {start})"


def test_events_before_an_error_are_yielded() -> None:
    stream = iter_events(io.BytesIO(b'{"epcisBody": {"eventList": [{"a": 1}, 2]}}'))
    assert next(stream) == b'{"a": 1}'
    with pytest.raises(InvalidDocument, match="event 1 is not an object"):
        next(stream)


# -- GS1 examples -----------------------------------------------------------------------------


def test_gs1_examples() -> None:
    root = need_refdata("epcis", "gs1", "JSON")
    checked = 0
    for path in sorted(root.rglob("*.jsonld")):
        expected = json.loads(path.read_bytes())
        kind = expected["type"]
        body = expected["epcisBody"]
        if kind == "EPCISQueryDocument":
            body = body["queryResults"]["resultsBody"]
        header = {k: v for k, v in expected.items() if k != "epcisBody"}
        for chunk_size in (7, 1 << 20):
            with path.open("rb") as f:
                stream = iter_events(f, chunk_size=chunk_size)
                events = list(stream)
            assert [json.loads(e) for e in events] == body["eventList"], path
            assert stream.header == DocumentHeader(kind=kind, fields=header), path
        checked += kind == "EPCISDocument"
    assert checked >= 30
