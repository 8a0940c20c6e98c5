"""Streaming reader for EPCIS JSON documents: yields each event's raw bytes, never the whole file.

The event list is split by a numpy scan of each chunk: quotes not escaped by an odd backslash run
give, by a prefix XOR over packed 64-bit words, an "inside a string" bit per byte; brackets outside
strings get depths by a cumulative sum, and an event runs from a bracket entering depth 1 to the
one returning to 0. The rest (header members, ``epcisBody`` nesting) is walked by a small parser
and header values are decoded by msgspec. Memory stays near ``chunk_size`` plus the largest event.
Errors give 0-based byte offsets from the start of the stream and 0-based event indexes.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Generator, Iterator
from typing import Any, BinaryIO

import msgspec
import numpy as np
from numpy.typing import NDArray

from ionledger.errors import InvalidDocument

__all__ = ["MAX_MEMBER_BYTES", "DocumentHeader", "EventStream", "iter_events", "read_header"]

# Bound on a header (or skipped epcisBody) member: big masterData is fine, unbounded values not.
MAX_MEMBER_BYTES = 64 << 20

_BODY = "epcisBody"
# Objects the walker descends into, and where an event list may sit (EPCISDocument, query document).
_OBJECTS = {(_BODY,), (_BODY, "queryResults"), (_BODY, "queryResults", "resultsBody")}
_LISTS = {(_BODY, "eventList"), (_BODY, "queryResults", "resultsBody", "eventList")}

_QUOTE, _BACKSLASH, _COMMA, _COLON = 0x22, 0x5C, 0x2C, 0x3A
_LBRACE, _RBRACE, _LBRACKET, _RBRACKET = 0x7B, 0x7D, 0x5B, 0x5D
_WS = b" \t\n\r"
# (separator state, non-whitespace bytes between events) -> new state; 0: at the list start,
# 1: after an event, 2: after a comma. A trailing "{" is the next event's start.
_GAPS = {(0, b""): 0, (1, b""): 1, (2, b""): 2, (1, b","): 2}
_GAPS.update({(0, b"{"): 2, (2, b"{"): 2, (1, b",{"): 2})
_BOM = b"\xef\xbb\xbf"
_NON_WS = re.compile(rb"[^ \t\n\r]")
# A whole string; fails only when the buffer ends first.
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_SCALAR = re.compile(rb'[^ \t\n\r,:\[\]{}"]*+')
_VALUE_START = b'{["-0123456789tfn'

_SHIFTS = tuple(np.uint64(1 << k) for k in range(6))
_U1, _U63, _ALL = np.uint64(1), np.uint64(63), np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_WORD = np.dtype("<u8")  # packbits(bitorder="little") puts byte i at bit i of a little-endian word

_Ints = NDArray[np.int64]
_Walk = Generator[list[bytes], None, int]  # yields batches of events, returns the end offset


def _show(byte: int) -> str:
    if byte < 0:
        return "end of input"
    return repr(chr(byte)) if 0x20 <= byte < 0x7F else f"byte 0x{byte:02x}"


class DocumentHeader(msgspec.Struct):
    """The document's top-level members other than ``epcisBody``, decoded."""

    kind: str = ""  # the ``type`` member: "EPCISDocument", "EPCISQueryDocument", ...
    fields: dict[str, Any] = msgspec.field(default_factory=dict)


class _Scanner:
    """Bracket structure of successive windows of one JSON container's content."""

    depth = 0  # relative to the container's own level
    in_string = 0  # the previous window ended inside a string
    escape = 0  # ... and with an unpaired backslash

    def window(self, buf: bytes, start: int) -> tuple[_Ints, _Ints, _Ints]:
        """Brackets outside strings in ``buf[start:]``: positions in buf, +1/-1, depth after."""
        a = np.frombuffer(buf, np.uint8, offset=start)
        n = a.size
        quote = np.zeros((n + 63) & ~63, np.bool_)
        np.equal(a, _QUOTE, out=quote[:n])
        if buf.find(b"\\", start) >= 0:
            self._drop_escaped(a, quote)
        elif self.escape:  # a backslash ending the previous window escapes this one's first byte
            quote[0] = self.escape = 0
        x = np.packbits(quote, bitorder="little").view(_WORD)
        for s in _SHIFTS:  # prefix XOR within each word: bit i = parity of quotes at 0..i
            x ^= x << s
        parity = x >> _U63
        total = np.bitwise_xor.accumulate(parity)
        carry = total ^ parity ^ np.uint64(self.in_string)  # parity of all quotes before the word
        x ^= carry * _ALL
        self.in_string ^= int(total[-1])
        found = quote[:n]  # reuse the buffers: a window may be many megabytes
        folded = a | 0x20  # '[' -> '{', ']' -> '}'
        np.equal(folded, _LBRACE, out=found)
        closing = np.equal(folded, _RBRACE, out=folded.view(np.bool_))
        pos = np.flatnonzero(np.bitwise_or(found, closing, out=found))
        pos = pos[((x[pos >> 6] >> (pos & 63).astype(np.uint64)) & _U1) == 0]
        delta = 1 - ((a[pos].astype(np.int64) >> 1) & 2)  # '{' '[' -> +1, '}' ']' -> -1
        depth = np.cumsum(delta) + self.depth
        self.depth = int(depth[-1]) if depth.size else self.depth
        return pos + start, delta, depth

    def _drop_escaped(self, a: NDArray[np.uint8], quote: NDArray[np.bool_]) -> None:
        """Clear quotes preceded by an odd run of backslashes (runs may span windows)."""
        n = a.size
        bs = np.flatnonzero(a == _BACKSLASH)
        breaks = np.flatnonzero(np.diff(bs) != 1)
        last = np.concatenate((breaks, [bs.size - 1]))  # index in bs of each run's last backslash
        length = np.diff(last, prepend=-1)
        if self.escape:
            if bs[0] == 0:
                length[0] += 1
            else:
                quote[0] = False
        after = bs[last][(length & 1) == 1] + 1
        self.escape = int(after.size > 0 and after[-1] == n)
        quote[after[after < n]] = False


class EventStream(Iterator[bytes]):
    """Iterates over the raw JSON bytes of each event of an EPCIS document, in order.

    ``header`` fills as the document is read: members before ``epcisBody`` are present once the
    first event is yielded, all of them once iteration ends. ``bytes_read`` counts bytes pulled
    from the stream so far (the document size at the end).
    """

    def __init__(self, stream: BinaryIO, *, chunk_size: int, max_event_bytes: int) -> None:
        if chunk_size < 1 or max_event_bytes < 1:
            raise ValueError("chunk_size and max_event_bytes must be positive")
        self.header = DocumentHeader()
        self.events_read = self.bytes_read = 0
        self._stream, self._chunk, self._max = stream, chunk_size, max_event_bytes
        self._buf, self._base, self._eof = b"", 0, False  # _base: stream offset of _buf[0]
        self._list = self._body = False  # an event list, an epcisBody object seen
        # Batches of events: one generator resumption per window, not per event and nesting level.
        self._gen = self._document()
        self._batch: list[bytes] = []
        self._next = 0

    def __next__(self) -> bytes:
        batch, i = self._batch, self._next
        if i == len(batch):
            batch = self._batch = next(self._gen)
            i = 0
        self._next = i + 1
        self.events_read += 1
        return batch[i]

    def _fill(self, keep: int, limit: int = 0, what: str = "value") -> bool:
        """Read more, keeping the buffer from offset ``keep`` on (an unfinished value, refused at
        ``limit`` bytes); False at end of input."""
        if self._eof:
            return False
        kept = self._buf[keep - self._base :]
        if limit and len(kept) >= limit:
            raise InvalidDocument(f"{what} is larger than {limit} bytes (starts at byte {keep})")
        # Reading at least as much as is kept makes a long value cost linear, not quadratic, time;
        # short reads (pipes, sockets) are gathered, as each window has a fixed numpy cost.
        want, parts = max(self._chunk, len(kept)), [kept]
        while want > 0 and (data := self._stream.read(want)):
            parts.append(data)
            want -= len(data)
        self._eof = want > 0  # the loop stops early only at end of input
        if len(parts) == 1:
            return False
        self._buf = bytes(parts[1]) if len(parts) == 2 and not kept else b"".join(parts)
        self.bytes_read += len(self._buf) - len(kept)
        self._base = keep
        return True

    def _end(self) -> int:
        return self._base + len(self._buf)

    def _skip_ws(self, pos: int) -> tuple[int, int]:
        """First non-whitespace offset at or after pos and its byte (-1 at end of input)."""
        while True:
            m = _NON_WS.search(self._buf, pos - self._base)
            if m:
                return self._base + m.start(), self._buf[m.start()]
            pos = self._end()
            if not self._fill(pos):
                return pos, -1

    def _unexpected(self, pos: int, byte: int, expected: str) -> InvalidDocument:
        if byte < 0:
            return InvalidDocument(f"truncated document: end of input at byte {pos}, {expected}")
        return InvalidDocument(f"not JSON: {expected}, found {_show(byte)} at byte {pos}")

    def _document(self) -> Generator[list[bytes], None, None]:
        while len(self._buf) < len(_BOM) and self._fill(0):
            pass
        pos, byte = self._skip_ws(len(_BOM) if self._buf.startswith(_BOM) else 0)
        if byte != _LBRACE:
            if byte >= 0 and byte in _VALUE_START:
                raise InvalidDocument(
                    f"top-level value is not an object (found {_show(byte)} at byte {pos})"
                )
            raise self._unexpected(pos, byte, "expected an EPCIS document object")
        pos = yield from self._object(pos, ())
        pos, byte = self._skip_ws(pos)
        if byte >= 0:
            raise InvalidDocument(f"trailing data after the document at byte {pos}")
        if not self._body:
            raise InvalidDocument(f"document has no {_BODY} member")
        if not self._list:
            raise InvalidDocument(f"{_BODY} has no eventList")

    def _object(self, pos: int, path: tuple[str, ...]) -> _Walk:
        """Walk the object opening at pos; returns the offset after its closing brace."""
        pos, byte = self._skip_ws(pos + 1)
        if byte == _RBRACE:
            return pos + 1
        while True:
            if byte != _QUOTE:
                raise self._unexpected(pos, byte, "expected a member name")
            end = self._value_end(pos, byte)
            key = self._decode(pos, end, "member name")
            pos, byte = self._skip_ws(end)
            if byte != _COLON:
                raise self._unexpected(pos, byte, "expected ':'")
            pos, byte = self._skip_ws(pos + 1)
            pos = yield from self._member((*path, key), pos, byte)
            pos, byte = self._skip_ws(pos)
            if byte == _COMMA:
                pos, byte = self._skip_ws(pos + 1)
            elif byte == _RBRACE:
                return pos + 1
            else:
                raise self._unexpected(pos, byte, "expected ',' or '}'")

    def _member(self, path: tuple[str, ...], pos: int, byte: int) -> _Walk:
        """Handle one member value starting at pos; returns the offset after it."""
        name = ".".join(path)
        if path in _LISTS or path in _OBJECTS:
            is_list = path in _LISTS
            if byte != (_LBRACKET if is_list else _LBRACE):
                found = f"found {_show(byte)} at byte {pos}"
                raise InvalidDocument(
                    f"{name} is not an {'array' if is_list else 'object'} ({found})"
                )
            if not is_list:
                self._body = True
                return (yield from self._object(pos, path))
            if self._list:
                raise InvalidDocument(f"second eventList at byte {pos}")
            self._list = True
            return (yield from self._events(pos))
        end = self._value_end(pos, byte)
        value = self._decode(pos, end, f"member {name}")
        if len(path) == 1:
            self.header.fields[path[0]] = value
            if path[0] == "type" and isinstance(value, str):
                self.header.kind = value
        return end

    def _decode(self, start: int, end: int, what: str) -> Any:
        try:
            return msgspec.json.decode(self._buf[start - self._base : end - self._base])
        except msgspec.DecodeError as e:
            raise InvalidDocument(f"{what} at byte {start} is not valid JSON: {e}") from None

    def _value_end(self, pos: int, byte: int) -> int:
        if byte in (_LBRACE, _LBRACKET):
            return self._container_end(pos)
        pattern = _STRING if byte == _QUOTE else _SCALAR
        while True:
            m = pattern.match(self._buf, pos - self._base)
            # A scalar reaching the end of the buffer may go on in the next chunk.
            done = m is not None and (pattern is _STRING or m.end() < len(self._buf))
            if done or not self._fill(pos, MAX_MEMBER_BYTES):
                break
        if m is None:
            raise InvalidDocument(f"truncated document: string at byte {pos} never ends")
        if m.end() == m.start():
            raise self._unexpected(pos, byte, "expected a value")
        return self._base + m.end()

    def _container_end(self, pos: int) -> int:
        scanner, start = _Scanner(), pos + 1
        while True:
            if start < self._end():
                brackets, _, depth = scanner.window(self._buf, start - self._base)
                out = np.flatnonzero(depth < 0)
                if out.size:  # bracket kinds are left to the decoder to match
                    return self._base + int(brackets[out[0]]) + 1
                start = self._end()
            elif not self._fill(pos, MAX_MEMBER_BYTES):
                raise InvalidDocument(f"truncated document: value at byte {pos} never ends")

    def _events(self, list_at: int) -> _Walk:
        """Walk the event list opening at list_at, yielding the events of each window."""
        scanner = _Scanner()
        index = sep = 0  # sep: see _GAPS
        gap = scan = list_at + 1  # first byte not yet checked between events; not yet scanned
        opened = -1  # start of an event left open at the end of the previous window
        while True:
            if scan >= self._end():
                what, at = (f"event {index}", opened) if opened >= 0 else ("eventList", list_at)
                if not self._fill(opened if opened >= 0 else gap, self._max, what):
                    end = f"end of input inside {what} (started at byte {at})"
                    raise InvalidDocument(f"truncated document: {end}")
                continue
            buf, base = self._buf, self._base
            pos, delta, depth = scanner.window(buf, scan - base)
            out = np.flatnonzero(depth < 0)
            stop = int(out[0]) if out.size else pos.size
            close, done = int(pos[stop]) if out.size else -1, -1
            pos, delta, depth = pos[:stop], delta[:stop], depth[:stop]
            starts = pos[(depth == 1) & (delta == 1)].tolist()
            ends = pos[(depth == 0) & (delta == -1)].tolist()
            g = gap - base
            if opened >= 0:  # the first end closes the event opened in an earlier window
                starts.insert(0, opened - base)
            batch: list[bytes] = []
            try:
                for s, e in zip(starts, ends, strict=False):
                    fast = sep == 1 and s == g + 1 and buf[g] == _COMMA and buf[s] == _LBRACE
                    if not fast and base + s != opened:
                        self._gap(buf, base, g, s + 1, sep, index)
                    if e - s >= self._max:
                        start = f"starts at byte {base + s}"
                        raise InvalidDocument(
                            f"event {index} is larger than {self._max} bytes ({start})"
                        )
                    if buf[e] != _RBRACE:
                        raise InvalidDocument(
                            f"unbalanced brackets: ']' ends event {index} at byte {base + e}"
                        )
                    index += 1
                    batch.append(buf[s : e + 1])
                    g = e + 1
                    sep = 1
                if len(starts) > len(ends):  # the last event goes on in the next window
                    s = starts[-1]
                    if base + s != opened:
                        self._gap(buf, base, g, s + 1, sep, index)
                    opened = gap = base + s
                    scan = self._end()
                elif close >= 0:
                    if self._gap(buf, base, g, close, sep, index) == 2:
                        raise InvalidDocument(
                            f"trailing comma in eventList before byte {base + close}"
                        )
                    if buf[close] != _RBRACKET:
                        raise InvalidDocument(
                            f"unbalanced brackets: '}}' closes eventList at byte {base + close}"
                        )
                    done = base + close + 1
                else:
                    sep = self._gap(buf, base, g, len(buf), sep, index)
                    gap = scan = self._end()
                    opened = -1
            except InvalidDocument:
                if batch:
                    yield batch  # the events before the error are delivered first
                raise
            if batch:
                yield batch
            if done >= 0:
                return done

    def _gap(self, buf: bytes, base: int, lo: int, hi: int, sep: int, index: int) -> int:
        """Check buf[lo:hi], between events and up to the next one's '{'; returns the new sep."""
        new = _GAPS.get((sep, buf[lo:hi].translate(None, _WS)))
        if new is not None:
            return new
        for i in range(lo, hi):  # invalid: find the culprit for the message
            byte, at = buf[i], base + i
            if byte == _COMMA and sep == 1:
                sep = 2
            elif (sep == 1 and byte not in _WS) or byte == _COMMA:
                after = f"',' or ']' after event {index - 1}" if sep == 1 else f"event {index}"
                raise self._unexpected(at, byte, f"expected {after}")
            elif byte not in _WS and byte != _LBRACE:
                found = f"found {_show(byte)} at byte {at}"
                raise InvalidDocument(f"event {index} is not an object ({found})")
        raise AssertionError("unreachable")


def iter_events(
    stream: BinaryIO, *, chunk_size: int = 1 << 20, max_event_bytes: int = 1 << 20
) -> EventStream:
    """Events of the EPCIS document in binary ``stream``; iterating raises InvalidDocument."""
    return EventStream(stream, chunk_size=chunk_size, max_event_bytes=max_event_bytes)


def read_header(path: str | os.PathLike[str]) -> DocumentHeader:
    """The header of the EPCIS document in the file at ``path``, found by streaming it once."""
    with open(path, "rb") as f:
        events = iter_events(f)
        deque(events, maxlen=0)  # consume at C speed
        return events.header
