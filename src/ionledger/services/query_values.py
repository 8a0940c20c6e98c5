"""The EPCIS vocabulary lists: GET /eventTypes, /bizSteps, /epcs, /readPoints, ...

One page at a time of the distinct values of a kind, sorted, with a page token for the next.
eventTypes, bizSteps and epcs are indexed columns: loose index scans. readPoints, bizLocations
and dispositions are no columns: found by scanning the events (O(events) per page, memory
O(page)).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator

import msgspec

from ionledger.domain.identity import to_uri
from ionledger.domain.vocabulary import bare_disposition
from ionledger.errors import InvalidIdentifier
from ionledger.services.query_params import QueryError, decode_token, encode_token
from ionledger.store.port import EventStore

__all__ = ["VALUE_KINDS", "epcis_values"]

_SCAN_BATCH = 5_000  # events decoded per batch while scanning for values


class _Id(msgspec.Struct):
    id: str | None = None


class _Where(msgspec.Struct, rename="camel"):
    read_point: _Id | None = None
    biz_location: _Id | None = None
    disposition: str | None = None


_COLUMN_VALUES = {"eventTypes": "event_type", "bizSteps": "biz_step", "epcs": "battery_id"}
# Not columns: found by scanning the events.
_FIELD_VALUES: dict[str, Callable[[_Where], str | None]] = {
    "readPoints": lambda w: w.read_point.id if w.read_point else None,
    "bizLocations": lambda w: w.biz_location.id if w.biz_location else None,
    "dispositions": lambda w: bare_disposition(w.disposition),
}
VALUE_KINDS = (*_COLUMN_VALUES, *_FIELD_VALUES)


def _scanned(store: EventStore, get: Callable[[_Where], str | None]) -> Iterator[str]:
    decoder = msgspec.json.Decoder(_Where)
    for batch in store.iter_events(batch=_SCAN_BATCH):
        for event in batch:
            try:
                value = get(decoder.decode(event.doc))
            except msgspec.ValidationError:
                continue  # a field of another shape than the standard's: not a value here
            if value is not None:
                yield value


def _smallest(values: Iterable[str], after: str | None, count: int) -> list[str]:
    """The ``count`` smallest distinct values above ``after``, kept in a bounded sorted list."""
    best: list[str] = []
    for value in values:
        if (after is not None and value <= after) or (len(best) == count and value >= best[-1]):
            continue
        i = bisect.bisect_left(best, value)
        if i == len(best) or best[i] != value:
            best.insert(i, value)
            del best[count:]
    return best


def _shown(kind: str, value: str) -> str:
    if kind != "epcs":
        return value
    try:
        return to_uri(value)  # GB/T codes as their URN; GS1 keys as Digital Links
    except InvalidIdentifier:
        return value


def epcis_values(
    store: EventStore, kind: str, *, per_page: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """One page of the distinct values of a kind (:data:`VALUE_KINDS`), sorted; and the cursor
    of the next page (None: no more). eventTypes, bizSteps and epcs are loose index scans;
    readPoints, bizLocations and dispositions scan the events."""
    if kind not in VALUE_KINDS:
        raise QueryError("kind", f"{kind!r} is not one of {', '.join(VALUE_KINDS)}")
    if per_page < 1:
        raise QueryError("perPage", f"must be at least 1, got {per_page}")
    after = _value_cursor(kind, cursor) if cursor else None
    if kind in _COLUMN_VALUES:
        found = store.distinct_values(_COLUMN_VALUES[kind], after=after, limit=per_page + 1)
    else:
        found = _smallest(_scanned(store, _FIELD_VALUES[kind]), after, per_page + 1)
    page = found[:per_page]
    token = encode_token([kind, page[-1]]) if len(found) > per_page else None
    return [_shown(kind, v) for v in page], token


def _value_cursor(kind: str, cursor: str) -> str:
    of, last = decode_token(cursor, tuple[str, str])
    if of != kind:
        raise QueryError("nextPageToken", f"is a token for {of}, not {kind}")
    return last
