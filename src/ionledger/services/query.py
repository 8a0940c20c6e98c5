"""EPCIS 2.0 event queries (SimpleEventQuery): parse the REST binding's parameters, run them.

How a query runs. The parameters on indexed columns narrow the events in SQL: ``eventType``,
the event and record time windows, ``EQ_bizStep``, ``EQ_eventID`` and the ``MATCH_`` identifier
parameters (through ``event_batteries``, which holds every identifier an event names in canonical
form). The rows come as index range scans in (order key, seq) order, a batch at a time. Every
other parameter is a predicate on the event's record (its JSON as the API serves it), applied in
Python to each candidate as it streams past, so memory stays bounded by one batch.

Pages use keyset pagination: the cursor is the (order key, seq) of the last event examined, so a
page costs an index range scan from there, and events captured later never shift a page. A page
ends when full, when the candidates run out, or after :data:`SCAN_BUDGET` candidates (a sparse
post-filter then gives a short page with a cursor, rather than an unbounded scan). A page token
carries the fingerprint of its query's parameters: the request for the next page repeats them
(perPage may change) and adds the token.

This module parses (:func:`parse_query`) and runs (:func:`run_query`) a query, and is the public
face of the query engine: every name below is importable from here. The parts:

* :mod:`ionledger.services.query_params`: parameter values, page tokens, :class:`QueryError`;
* :mod:`ionledger.services.query_filters`: what each parameter family adds to the query, and
  the choices made where the standard leaves room;
* :mod:`ionledger.services.query_records`: reading and comparing values of an event's record;
* :mod:`ionledger.services.query_ids`: identifiers, EPC patterns and EPC classes;
* :mod:`ionledger.services.query_values`: the vocabulary lists (:func:`epcis_values`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import msgspec

from ionledger.errors import IonLedgerError
from ionledger.ledger.leaf import record_of
from ionledger.services.query_filters import FIXED, PATTERNS, Draft, Filter, Handler, handler_for
from ionledger.services.query_ids import class_key
from ionledger.services.query_params import (
    API_PARAMETERS,
    Param,
    QueryError,
    decode_token,
    encode_token,
)
from ionledger.services.query_records import UNITS, Record, ReportTest, Test, report_views
from ionledger.services.query_values import VALUE_KINDS, epcis_values
from ionledger.store.port import EventSelection, EventStore, StoredEvent

__all__ = [
    "API_PARAMETERS",
    "FIXED",
    "PATTERNS",
    "SCAN_BUDGET",
    "UNITS",
    "VALUE_KINDS",
    "EventQuery",
    "Filter",
    "Handler",
    "QueryError",
    "QueryPage",
    "QueryTooLarge",
    "Record",
    "ReportTest",
    "Test",
    "class_key",
    "epcis_values",
    "parse_query",
    "run_query",
]

SCAN_BUDGET = 100_000  # candidates one page may examine before it returns what it has
_BATCH_MIN, _BATCH_MAX = 500, 5_000  # rows per SQL batch: paging through a post-filter; counting


class QueryTooLarge(IonLedgerError):
    """EPCIS QueryTooLargeException: more results than maxEventCount allows."""

    code = "query-too-large"
    status = 413
    epcis_exception = "QueryTooLargeException"


@dataclass(frozen=True)
class EventQuery:
    """Parsed parameters: the SQL part (``selection``), the post-filters, the limits."""

    selection: EventSelection
    filters: tuple[Filter, ...] = ()
    event_count_limit: int | None = None
    max_event_count: int | None = None
    fingerprint: str = ""  # of the parameters: a page token is valid for its own query only

    @property
    def order_by(self) -> str:
        return "recordTime" if self.selection.order_by == "record_time" else "eventTime"


@dataclass(frozen=True)
class QueryPage:
    events: list[StoredEvent]
    next_cursor: str | None


# -- building the query -----------------------------------------------------------------------


def parse_query(params: Mapping[str, Sequence[str]]) -> EventQuery:
    """The query the EPCIS parameters describe; QueryError names the first bad parameter.

    ``params`` maps each parameter to its values as given (a repeated parameter: several).
    """
    draft = Draft()
    for name in sorted(params):
        if name in API_PARAMETERS:
            continue
        handler, groups = handler_for(name)
        handler(draft, Param(name, tuple(params[name]), groups))
    return _build(draft, _fingerprint(params))


def _fingerprint(params: Mapping[str, Sequence[str]]) -> str:
    items = sorted((k, list(v)) for k, v in params.items() if k not in API_PARAMETERS)
    return hashlib.sha256(msgspec.json.encode(items)).hexdigest()[:16]


def _one_report(tests: list[ReportTest]) -> Test:
    """Some sensorReport passes every test."""
    return lambda r: any(all(t(view) for t in tests) for view in report_views(r))


def _build(d: Draft, fingerprint: str) -> EventQuery:
    if d.event_count_limit is not None and d.max_event_count is not None:
        raise QueryError("eventCountLimit", "cannot be combined with maxEventCount")
    if d.event_count_limit is not None and d.order_by is None:
        raise QueryError("eventCountLimit", "requires orderBy (it keeps the first N in that order)")
    sel = d.selection
    if d.order_by is not None:
        column = "record_time" if d.order_by == "recordTime" else "event_time"
    else:  # no order asked for: the order of the index that narrows
        by_record = sel.record_time_ge or sel.record_time_lt
        by_event = sel.event_time_ge or sel.event_time_lt
        column = "record_time" if by_record and not by_event else "event_time"
    descending = (d.direction or ("DESC" if d.order_by else "ASC")) == "DESC"
    filters = list(d.filters)
    if d.report_tests:
        names = ", ".join(name for name, _ in d.report_tests)
        tests = [t for _, t in d.report_tests]
        filters.append(Filter(names, _one_report(tests)))
    return EventQuery(
        selection=replace(sel, order_by=column, descending=descending),
        filters=tuple(filters),
        event_count_limit=d.event_count_limit,
        max_event_count=d.max_event_count,
        fingerprint=fingerprint,
    )


# -- running it -------------------------------------------------------------------------------


def _key(query: EventQuery, event: StoredEvent) -> tuple[str, int]:
    order = event.record_time if query.selection.order_by == "record_time" else event.event_time
    return order, event.seq


def _passes(query: EventQuery, event: StoredEvent) -> bool:
    """Whether a candidate the SQL selected passes every post-filter."""
    if not query.filters:
        return True
    record = record_of(event.doc, event.record_time, event.reporter)
    return all(f.test(record) for f in query.filters)


def _candidates(
    store: EventStore, query: EventQuery, after: tuple[str, int] | None, batch: int
) -> Iterator[StoredEvent]:
    """The SQL-selected events from ``after`` on, fetched ``batch`` at a time."""
    selection = replace(query.selection, after=after)
    while True:
        rows = store.select_events(selection, batch)
        yield from rows
        if len(rows) < batch:
            return
        selection = replace(selection, after=_key(query, rows[-1]))


def _batch(query: EventQuery, want: int) -> int:
    if not query.filters:
        return want + 1  # every row is a result: one more tells whether a next page exists
    return max(want + 1, _BATCH_MIN)


def _encode_cursor(query: EventQuery, key: tuple[str, int], returned: int) -> str:
    return encode_token([1, query.fingerprint, key[0], key[1], returned])


def _decode_cursor(query: EventQuery, cursor: str) -> tuple[tuple[str, int], int]:
    version, fingerprint, key, seq, returned = decode_token(cursor, tuple[int, str, str, int, int])
    if version != 1 or fingerprint != query.fingerprint:
        raise QueryError(
            "nextPageToken", "belongs to another query: repeat the first page's parameters"
        )
    return (key, seq), returned


def _check_size(store: EventStore, query: EventQuery, limit: int) -> None:
    """QueryTooLarge if the query matches more than ``limit`` events (counting to limit + 1)."""
    if not query.filters:
        count = store.count_selected(query.selection, limit + 1)
    else:
        count = 0
        for event in _candidates(store, query, None, _BATCH_MAX):
            count += _passes(query, event)
            if count > limit:
                break
    if count > limit:
        raise QueryTooLarge(f"the query matches more than maxEventCount={limit} events")


def run_query(
    store: EventStore, query: EventQuery, *, per_page: int, cursor: str | None = None
) -> QueryPage:
    """One page of the query's events, and the cursor of the next page (None: no more).

    maxEventCount is checked on the first page (no cursor); eventCountLimit counts across pages.
    """
    if per_page < 1:
        raise QueryError("perPage", f"must be at least 1, got {per_page}")
    after, returned = _decode_cursor(query, cursor) if cursor else (None, 0)
    want = per_page
    if query.event_count_limit is not None:
        want = min(per_page, query.event_count_limit - returned)
        if want <= 0:
            return QueryPage([], None)
    with store.reading():
        if cursor is None and query.max_event_count is not None:
            _check_size(store, query, query.max_event_count)
        events, resume = _page(store, query, after, want)
    if resume is None or returned + len(events) == query.event_count_limit:
        return QueryPage(events, None)
    return QueryPage(events, _encode_cursor(query, resume, returned + len(events)))


def _page(
    store: EventStore, query: EventQuery, after: tuple[str, int] | None, want: int
) -> tuple[list[StoredEvent], tuple[str, int] | None]:
    """Up to ``want`` events, and where the next page resumes (None: nothing is left)."""
    events: list[StoredEvent] = []
    candidates = _candidates(store, query, after, _batch(query, want))
    for seen, event in enumerate(candidates, start=1):
        if _passes(query, event):
            if len(events) == want:
                return events, _key(query, events[-1])  # one more exists
            events.append(event)
        if seen >= SCAN_BUDGET:
            return events, _key(query, event)  # resume after the last one examined
    return events, None
