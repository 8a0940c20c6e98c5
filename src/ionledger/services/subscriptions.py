"""EPCIS 2.0 named queries and their subscriptions (the REST binding's ``/queries``).

A named query is a stored set of query parameters (``parse_query`` validates them). A
subscription to it is delivered to a webhook (``dest``) by :class:`DeliveryWorker`, or to a
WebSocket client by :class:`Watch`, as ``EPCISQueryDocument``s carrying ``queryName`` and
``subscriptionID``.

What "new events" means. ``seq`` is gapless and assigned under the store's single writer lock, so
transactions commit in seq order and every event below :meth:`EventStore.next_event_seq` is
committed: a position in seq can never be overtaken by a late commit (a record time can, when
clocks step back). A subscription's position is the seq below which every matching event was
delivered; it starts at the end of the log when subscribing (or at the first event recorded at or
after ``initialRecordTime``), and moves only in the transaction that records a 2xx answer.

Delivery guarantees (webhooks). Batches of at most ``batch`` events, in seq (record) order. A
subscriber that is down or answers non-2xx gets the same position again after an exponential
backoff (capped), so nothing is skipped. The position is in the store, so a restart resumes
where the last acknowledged batch ended. The one window left is a crash after the subscriber
answered 2xx and before the position was committed: that batch is sent again (at-least-once;
events carry their eventID for the subscriber to recognise). A lease keeps two processes over one
store from delivering the same subscription at once.

Choices where the standard leaves room:

* ``GS1-Signature``: the REST binding leaves the algorithm to the implementation ("examples would
  be using HMAC with SHA-256 directly or a wrapper ... such as JWS"). We send
  ``base64(HMAC-SHA256(key = UTF-8 signatureToken, message = the exact body bytes))`` (standard
  base64, padded), as FasTnT's EPCIS 2.0 server does; no header without a signatureToken.
* Schedules follow EPCIS 1.2 section 8.2.5.3 (each field ``n`` or ``[a-b]``, comma-separated; an
  omitted field matches any value), plus ``n/step`` as in the REST binding's own example
  (``"second": "0/30"``), evaluated in UTC. A scheduled run delivers what was recorded since the
  previous run; with ``reportIfEmpty`` an empty result is sent too.
* Deliveries come in record order: a query's ``orderBy`` / ``orderDirection`` apply to
  ``GET /queries/{name}/events`` only; ``eventCountLimit`` and ``maxEventCount`` cannot be
  subscribed to (QueryParameterException).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

from ionledger.epcis.documents import query_document
from ionledger.epcis.epc_format import ALWAYS_EPC_URN, NO_PREFIXES, apply_epc_format
from ionledger.epcis.times import now_key, utc_key
from ionledger.errors import ConflictError, NotFound, ValidationError
from ionledger.governance.access import Principal
from ionledger.governance.credentials import OPERATOR
from ionledger.ledger.leaf import record_of
from ionledger.services.principals import Principals
from ionledger.services.query import API_PARAMETERS, EventQuery, QueryError, parse_query
from ionledger.services.schedule import Schedule, SubscriptionControlsError
from ionledger.store.port import EventStore, NamedQuery, Subscription

if TYPE_CHECKING:
    import httpx2

log = logging.getLogger(__name__)

HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
NAME = re.compile(r"[A-Za-z0-9._~-]{1,128}")  # URL-unreserved: a name is a path segment
SCAN_BUDGET = 100_000  # events one batch may examine (a sparse query resumes on the next)
_SCAN_MIN = 500  # rows per SQL fetch when a post-filter may drop most of them


# -- named queries -------------------------------------------------------------------------------


def _param_text(name: str, value: Any, *, listed: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise QueryError(name, f"{value!r} is not a string, number or boolean")
    if listed and "," in value and "|" not in value:
        return value + "|"  # one list item stays one value (parse_query splits on "," otherwise)
    return value


def query_params(query: Mapping[str, Any]) -> dict[str, list[str]]:
    """A JSON query (``{"EQ_bizStep": ["shipping"], "GE_eventTime": "..."}``) as the REST
    binding's parameters: each JSON list item one value."""
    params: dict[str, list[str]] = {}
    for name, value in query.items():
        if name == "@context":
            continue
        if name in API_PARAMETERS:
            raise QueryError(name, "is a paging parameter: give it to GET .../events instead")
        values = value if isinstance(value, list) else [value]
        if not values:
            raise QueryError(name, "needs a value")
        params[name] = [_param_text(name, v, listed=isinstance(value, list)) for v in values]
    return params


def compile_query(query: Mapping[str, Any]) -> EventQuery:
    return parse_query(query_params(query))


def _subscribable(query: EventQuery) -> EventQuery:
    if query.event_count_limit is not None:
        raise QueryError("eventCountLimit", "a subscription delivers every new event: remove it")
    if query.max_event_count is not None:
        raise QueryError("maxEventCount", "a subscription delivers every new event: remove it")
    return query


def query_view(query: NamedQuery) -> dict[str, Any]:
    return {"name": query.name, "query": query.query}


def _key(moment: datetime) -> str:
    return utc_key(moment.isoformat())


# -- subscription controls -----------------------------------------------------------------------


@dataclass(frozen=True)
class Controls:
    """When a subscription reports: ``stream`` (on every new match) or at ``schedule`` times."""

    schedule: Schedule | None
    report_if_empty: bool = False
    initial_record_time: str | None = None

    @property
    def stream(self) -> bool:
        return self.schedule is None


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SubscriptionControlsError(name, f"{value!r} is not true or false")


def parse_controls(
    *, stream: Any, schedule: Mapping[str, Any] | None, report_if_empty: Any, initial: Any
) -> Controls:
    """The subscription controls; exactly one of ``stream: true`` and a schedule."""
    streaming = stream is not None and _flag("stream", stream)
    if stream is not None and not streaming and schedule is None:
        raise SubscriptionControlsError("stream", "false without a schedule: nothing would report")
    if streaming and schedule is not None:
        raise SubscriptionControlsError("stream", "stream and a schedule are mutually exclusive")
    if not streaming and schedule is None:
        raise SubscriptionControlsError("stream", "set stream to true, or give a schedule")
    reporting = report_if_empty is not None and _flag("reportIfEmpty", report_if_empty)
    if reporting and streaming:
        raise SubscriptionControlsError("reportIfEmpty", "applies to scheduled subscriptions only")
    since = None
    if initial is not None:
        if not isinstance(initial, str):
            raise SubscriptionControlsError("initialRecordTime", f"{initial!r} is not a date-time")
        try:
            since = utc_key(initial.replace(" ", "+"))  # an unencoded "+" in a URL
        except (ValueError, OverflowError):
            raise SubscriptionControlsError(
                "initialRecordTime", f"{initial!r} is not a date-time with a UTC offset"
            ) from None
    parsed = None if schedule is None else Schedule.parse(schedule)
    return Controls(parsed, reporting, since)


SUBSCRIPTION_FIELDS = frozenset(
    {"dest", "signatureToken", "stream", "schedule", "reportIfEmpty", "initialRecordTime"}
)


def _dest(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("dest: the webhook URL is required (a string)")
    try:
        parts = urlsplit(value)
        absolute = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        absolute = False
    if not absolute:
        raise ValidationError(f"dest: {value!r} is not an absolute http(s) URL")
    return value


def _token(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValidationError("signatureToken: must be a non-empty string")
    return value


def subscription_view(sub: Subscription) -> dict[str, Any]:
    """A subscription as the REST binding shows it: without its signatureToken (a secret)."""
    view: dict[str, Any] = {
        "subscriptionID": sub.id,
        "queryName": sub.query_name,
        "dest": sub.dest,
        "createdAt": sub.created_at,
    }
    if sub.schedule is not None:
        view["schedule"] = sub.schedule
        view["reportIfEmpty"] = sub.report_if_empty
    else:
        view["stream"] = True
    if sub.initial_record_time is not None:
        view["initialRecordTime"] = sub.initial_record_time
    if sub.last_notified_at is not None:
        view["lastNotifiedAt"] = sub.last_notified_at
    if sub.delivered_record_time is not None:
        view["minRecordTime"] = sub.delivered_record_time  # recorded up to here: delivered
    view["ion:position"] = sub.next_seq
    if sub.subscriber is not None:
        view["ion:subscriber"] = sub.subscriber
    if sub.epc_format is not None:
        view["ion:epcFormat"] = sub.epc_format
    return view


# -- what to deliver -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Batch:
    """Matching records of events with start <= seq < stop; ``end``: the log's end when read."""

    records: list[dict[str, Any]]
    start: int
    stop: int
    end: int
    last_record_time: str | None

    @property
    def caught_up(self) -> bool:
        return self.stop >= self.end


def start_position(store: EventStore, initial_record_time: str | None) -> int:
    """Where a new subscription starts: the log's end, or the first event recorded since."""
    end = store.next_event_seq()
    if initial_record_time is None:
        return end
    first = store.first_seq_since(initial_record_time)
    return end if first is None else first


def next_batch(store: EventStore, query: EventQuery, start: int, limit: int) -> Batch:
    """Up to ``limit`` matching records from position ``start`` on, and where the next resumes."""
    end = store.next_event_seq()  # read first: everything below it is committed
    fetch = max(limit, _SCAN_MIN) if query.filters else limit
    records: list[dict[str, Any]] = []
    position, examined, last = start, 0, None
    while position < end and len(records) < limit and examined < SCAN_BUDGET:
        rows = store.select_events_between(query.selection, position, end, fetch)
        if not rows:
            position = end
            break
        for row in rows:
            examined += 1
            position = row.seq + 1
            record = record_of(row.doc, row.record_time, row.reporter)
            if all(f.test(record) for f in query.filters):
                records.append(record)
                last = row.record_time
                if len(records) == limit:
                    break
        else:
            if len(rows) < fetch:
                position = end  # the SQL returned everything that matches below the end
    return Batch(records, start, position, end, last)


def gs1_signature(token: str, body: bytes) -> str:
    """The ``GS1-Signature`` header: base64 of HMAC-SHA256 keyed with the token, over the body."""
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


# -- the service -----------------------------------------------------------------------------


class QueryService:
    """Named queries and webhook subscriptions over a store (the API's ``/queries``)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.principals = Principals(store)

    def create_query(self, body: Any) -> NamedQuery:
        if not isinstance(body, dict):
            raise ValidationError('the body must be a JSON object {"name": ..., "query": {...}}')
        name, query = body.get("name"), body.get("query")
        extra = sorted(set(body) - {"name", "query"})
        if extra:
            raise ValidationError(f"{extra[0]}: unknown field (a query has name and query)")
        if not isinstance(name, str) or NAME.fullmatch(name) is None:
            raise ValidationError(
                f"name: {name!r} must be 1 to 128 letters, digits or . _ ~ - (a URL path segment)"
            )
        if not isinstance(query, dict):
            raise ValidationError("query: must be a JSON object of query parameters")
        compile_query(query)  # QueryError names the first bad parameter
        named = NamedQuery(name, query, now_key())
        if not self.store.add_named_query(named):
            raise ConflictError(f"a query named {name!r} already exists")
        return named

    def query(self, name: str) -> NamedQuery:
        found = self.store.named_query(name)
        if found is None:
            raise NotFound(f"no query named {name!r}")
        return found

    def queries(self, *, after: str | None, limit: int) -> list[NamedQuery]:
        return self.store.named_queries(after=after, limit=limit)

    def delete_query(self, name: str) -> None:
        if not self.store.delete_named_query(name):
            raise NotFound(f"no query named {name!r}")

    def subscribe(
        self,
        name: str,
        body: Any,
        principal: Principal | None = None,
        epc_format: str | None = None,
    ) -> Subscription:
        """Subscribe to a query; the subscription delivers what ``principal`` may read, its
        identifiers in ``epc_format`` (the GS1-EPC-Format of the subscribing request)."""
        if principal is not None:
            principal.require_events()
        query = self.query(name)
        if not isinstance(body, dict):
            raise ValidationError('the body must be a JSON object {"dest": ..., "stream": true}')
        extra = sorted(set(body) - SUBSCRIPTION_FIELDS)
        if extra:
            raise ValidationError(f"{extra[0]}: unknown field ({', '.join(SUBSCRIPTION_FIELDS)})")
        dest, token = _dest(body.get("dest")), _token(body.get("signatureToken"))
        schedule = body.get("schedule")
        if schedule is not None and not isinstance(schedule, dict):
            raise SubscriptionControlsError("schedule", "must be an object of schedule fields")
        controls = parse_controls(
            stream=body.get("stream"),
            schedule=schedule,
            report_if_empty=body.get("reportIfEmpty"),
            initial=body.get("initialRecordTime"),
        )
        _subscribable(compile_query(query.query))
        now = datetime.now(UTC)
        sub = Subscription(
            id=str(uuid.uuid4()),
            query_name=name,
            dest=dest,
            signature_token=token,
            stream=controls.stream,
            schedule=None if controls.schedule is None else controls.schedule.fields,
            report_if_empty=controls.report_if_empty,
            initial_record_time=controls.initial_record_time,
            created_at=_key(now),
            next_seq=start_position(self.store, controls.initial_record_time),
            next_run=None if controls.schedule is None else _key(controls.schedule.next_after(now)),
            subscriber=_subscriber(principal),
            epc_format=epc_format,
        )
        if not self.store.add_subscription(sub):
            raise NotFound(f"no query named {name!r}")  # deleted meanwhile
        return sub

    def subscription(
        self, name: str, subscription_id: str, principal: Principal | None = None
    ) -> Subscription:
        """A subscription; a principal sees only its own (the operator and admins see all)."""
        found = self.store.subscription(name, subscription_id)
        if found is None or not _sees(principal, found):
            raise NotFound(f"no subscription {subscription_id!r} to query {name!r}")
        return found

    def subscriptions(
        self, name: str, *, after: str | None, limit: int, principal: Principal | None = None
    ) -> list[Subscription]:
        self.query(name)
        found = self.store.subscriptions(query_name=name, after=after, limit=limit)
        return [s for s in found if _sees(principal, s)]

    def unsubscribe(
        self, name: str, subscription_id: str, principal: Principal | None = None
    ) -> None:
        self.subscription(name, subscription_id, principal)
        if not self.store.delete_subscription(name, subscription_id):
            raise NotFound(f"no subscription {subscription_id!r} to query {name!r}")


def _subscriber(principal: Principal | None) -> str | None:
    if principal is None or principal.enterprise in (None, OPERATOR):
        return None
    return principal.enterprise


def _sees(principal: Principal | None, sub: Subscription) -> bool:
    if principal is None or principal.enterprise == OPERATOR or "admin" in principal.scopes:
        return True
    return sub.subscriber is not None and sub.subscriber == principal.enterprise


# -- WebSocket subscriptions -----------------------------------------------------------------


class Watch:
    """One WebSocket subscription: its position lives with the connection (nothing is stored)."""

    def __init__(self, store: EventStore, name: str, controls: Controls, *, batch: int) -> None:
        query = store.named_query(name)
        if query is None:
            raise NotFound(f"no query named {name!r}")
        self.store = store
        self.name = name
        self.id = str(uuid.uuid4())
        self.query = _subscribable(compile_query(query.query))
        self.controls = controls
        self.batch = batch
        self.position = start_position(store, controls.initial_record_time)
        schedule = controls.schedule
        self.next_run = None if schedule is None else schedule.next_after(datetime.now(UTC))

    def gone(self) -> bool:
        """Whether the query was deleted (which ends its subscriptions)."""
        return self.store.named_query(self.name) is None

    def poll(self, *, most: int = 10) -> list[bytes]:
        """The documents due now: new matches (stream), or a scheduled run's results."""
        now = datetime.now(UTC)
        if self.next_run is not None and now < self.next_run:
            return []
        documents: list[bytes] = []
        for _ in range(most):
            batch = next_batch(self.store, self.query, self.position, self.batch)
            self.position = batch.stop
            if batch.records:
                documents.append(self._encode(batch.records))
            if batch.caught_up:
                break
        if self.controls.schedule is not None:
            if not documents and self.controls.report_if_empty:
                documents.append(self._encode([]))
            self.next_run = self.controls.schedule.next_after(now)
        return documents

    def _encode(self, records: list[dict[str, Any]]) -> bytes:
        return msgspec.json.encode(
            query_document(records, query_name=self.name, subscription_id=self.id)
        )


# -- webhook delivery ------------------------------------------------------------------------


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    return float(env[name]) if name in env else default


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryConfig:
    poll_interval: float = 1.0  # seconds between looks for new events (and WebSocket polls)
    batch: int = 100  # events per POST (and per WebSocket message)
    backoff: float = 1.0  # first retry delay after a failed POST; doubles per failure
    backoff_max: float = 300.0
    timeout: float = 10.0  # per POST
    lease: float = 60.0  # how long a delivering process holds a subscription unrenewed

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliveryConfig:
        """IONLEDGER_SUBSCRIPTION_POLL, _BATCH, _BACKOFF, _BACKOFF_MAX, _TIMEOUT, _LEASE."""
        env = os.environ if env is None else env
        p, d = "IONLEDGER_SUBSCRIPTION_", cls()
        return cls(
            poll_interval=_env_float(env, p + "POLL", d.poll_interval),
            batch=int(env.get(p + "BATCH", d.batch)),
            backoff=_env_float(env, p + "BACKOFF", d.backoff),
            backoff_max=_env_float(env, p + "BACKOFF_MAX", d.backoff_max),
            timeout=_env_float(env, p + "TIMEOUT", d.timeout),
            lease=_env_float(env, p + "LEASE", d.lease),
        )


@dataclass(slots=True)
class _Health:
    failures: int = 0
    retry_at: float = 0.0  # time.monotonic()
    last_error: str | None = None
    batch: int | None = None  # lowered after a 413 from the subscriber


class DeliveryWorker:
    """Delivers every webhook subscription of a store, each in its own task, from one loop."""

    def __init__(self, store: EventStore, config: DeliveryConfig) -> None:
        self.store = store
        self.principals = Principals(store)
        self.config = config
        self.owner = uuid.uuid4().hex  # this process's lease name
        self.health: dict[str, _Health] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._client: httpx2.AsyncClient | None = None
        self._stopping = False

    async def start(self) -> None:
        try:
            import httpx2
        except ImportError:  # a dev extra today: webhooks need it installed
            log.warning("httpx2 is not installed: webhook subscriptions will not be delivered")
            return
        self._client = httpx2.AsyncClient(timeout=self.config.timeout, follow_redirects=False)
        self._loop = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Let deliveries in flight finish their batch (bounded), then give back the leases."""
        self._stopping = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        tasks = list(self._running.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.config.timeout + 1)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            await asyncio.to_thread(self.store.release_subscriptions, self.owner)

    async def _run(self) -> None:
        while True:
            try:
                await self._tick()
            except Exception:  # a store hiccup must not end delivery for good
                log.exception("subscription delivery: looking for due subscriptions failed")
            await asyncio.sleep(self.config.poll_interval)

    def _due(self) -> list[Subscription]:
        end, now, wall = self.store.next_event_seq(), time.monotonic(), now_key()
        due: list[Subscription] = []
        seen: set[str] = set()
        after: str | None = None
        while True:
            page = self.store.subscriptions(query_name=None, after=after, limit=500)
            seen.update(sub.id for sub in page)
            for sub in page:
                health = self.health.get(sub.id)
                if sub.id in self._running or (health is not None and health.retry_at > now):
                    continue
                if sub.next_run is not None and sub.next_run > wall:
                    continue  # scheduled, not yet time
                if sub.next_run is not None or sub.next_seq < end:
                    due.append(sub)
            if len(page) < 500:
                for gone in set(self.health) - seen:  # unsubscribed: forget its failures
                    del self.health[gone]
                return due
            after = page[-1].id

    async def _tick(self) -> None:
        for sub in await asyncio.to_thread(self._due):
            task = asyncio.create_task(self._deliver(sub))
            self._running[sub.id] = task
            task.add_done_callback(self._finished(sub.id))

    def _finished(self, subscription_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._running.pop(subscription_id, None)

        return forget

    def _claim(self, subscription_id: str) -> bool:
        now = datetime.now(UTC)
        until = now + timedelta(seconds=self.config.lease)
        return self.store.claim_subscription(
            subscription_id, self.owner, now=_key(now), until=_key(until)
        )

    def _compiled(self, name: str) -> EventQuery | None:
        query = self.store.named_query(name)
        return None if query is None else _subscribable(compile_query(query.query))

    async def _deliver(self, sub: Subscription) -> None:
        """Send what is due to one subscriber, a batch at a time, until caught up or failing."""
        try:
            query = await asyncio.to_thread(self._compiled, sub.query_name)
            first = True
            while query is not None and not self._stopping:
                if not await asyncio.to_thread(self._claim, sub.id):
                    return  # another process delivers it
                if first:
                    # The due list was read before an earlier delivery of this subscription may
                    # have moved it on: start from the stored position, never a stale one (a
                    # stale one would send a delivered batch again).
                    fresh = await asyncio.to_thread(self.store.subscription, sub.query_name, sub.id)
                    if fresh is None:
                        return  # unsubscribed meanwhile
                    sub = fresh
                moved = await self._step(sub, query, first=first)
                if moved is None:
                    return
                sub, first = moved, False
        except Exception as exc:
            log.exception("subscription %s: delivery failed", sub.id)
            self._failed(sub.id, f"{type(exc).__name__}: {exc}")

    async def _step(
        self, sub: Subscription, query: EventQuery, *, first: bool
    ) -> Subscription | None:
        """One batch: POST it (if there is something to say), then move the position. The
        subscription as it now stands, or None when there is nothing more to do now."""
        health = self.health.get(sub.id)
        limit = health.batch if health is not None and health.batch else self.config.batch
        reader = self.principals.reader(sub.subscriber)  # what the subscriber may read, now
        batch = await asyncio.to_thread(next_batch, reader, query, sub.next_seq, limit)
        empty_run = sub.schedule is not None and sub.report_if_empty and first and batch.caught_up
        notified = None
        if batch.records or empty_run:
            if not await self._post(sub, batch.records, limit):
                return None
            notified = now_key()
        next_run = sub.next_run
        if sub.schedule is not None and batch.caught_up:
            next_run = _key(Schedule.parse(sub.schedule).next_after(datetime.now(UTC)))
        if notified is None and (batch.stop, next_run) == (sub.next_seq, sub.next_run):
            return None
        advanced = await asyncio.to_thread(
            self.store.advance_subscription,
            sub.id,
            from_seq=sub.next_seq,
            to_seq=batch.stop,
            record_time=batch.last_record_time,
            notified_at=notified,
            next_run=next_run,
        )
        if not advanced:
            return None  # unsubscribed meanwhile
        self.health.pop(sub.id, None)
        if batch.caught_up:
            return None
        return replace(sub, next_seq=batch.stop, next_run=next_run)

    async def _post(self, sub: Subscription, records: list[dict[str, Any]], limit: int) -> bool:
        assert self._client is not None
        document = query_document(records, query_name=sub.query_name, subscription_id=sub.id)
        if sub.epc_format is not None:
            urns = sub.epc_format == ALWAYS_EPC_URN  # only URNs need the company prefixes
            prefixes = self.principals.company_prefixes() if urns else NO_PREFIXES
            apply_epc_format(document, sub.epc_format, prefixes)
        body = msgspec.json.encode(document)
        headers = {"Content-Type": "application/ld+json", **HEADERS}
        if sub.epc_format is not None:
            headers["GS1-EPC-Format"] = sub.epc_format
        if sub.signature_token:
            headers["GS1-Signature"] = gs1_signature(sub.signature_token, body)
        try:
            response = await self._client.post(sub.dest, content=body, headers=headers)
        except Exception as exc:  # the subscriber is down, slow or unreachable: retry later
            self._failed(sub.id, f"{type(exc).__name__}: {exc}")
            return False
        if 200 <= response.status_code < 300:
            return True
        self._failed(sub.id, f"HTTP {response.status_code}")
        if response.status_code == 413:  # "send EPCIS events in smaller batches"
            self.health[sub.id].batch = max(1, limit // 2)
        return False

    def _failed(self, subscription_id: str, error: str) -> None:
        health = self.health.setdefault(subscription_id, _Health())
        health.failures += 1
        health.last_error = error
        delay = min(self.config.backoff * 2 ** (health.failures - 1), self.config.backoff_max)
        health.retry_at = time.monotonic() + delay


class SubscriptionService(QueryService):
    """Named queries, subscriptions, and their delivery (started and stopped with the app)."""

    def __init__(self, store: EventStore, config: DeliveryConfig | None = None) -> None:
        super().__init__(store)
        self.config = config or DeliveryConfig.from_env()
        self.worker = DeliveryWorker(store, self.config)

    async def start(self) -> None:
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()

    def watch(self, name: str, controls: Controls, principal: Principal | None = None) -> Watch:
        if principal is not None:
            principal.require_events()
        reader = self.principals.reader(_subscriber(principal))
        return Watch(reader, name, controls, batch=self.config.batch)

    def delivery_state(self, subscription_id: str) -> dict[str, Any]:
        """What delivery knows beyond the store: failures since the last success."""
        health = self.worker.health.get(subscription_id)
        if health is None:
            return {}
        return {"ion:failures": health.failures, "ion:lastError": health.last_error}
