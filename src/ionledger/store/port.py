"""The storage port: what the services need from a store, whatever the database.

A store is written through a :class:`Writer`, one open transaction holding the store's single
writer lock (so that ``seq`` stays gapless). Everything a writer did becomes visible, and durable,
at :meth:`Writer.commit`; an exception (or a killed process) leaves the store as at the last commit.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ionledger.ledger.tiles import Tile

if TYPE_CHECKING:
    from ionledger.governance.state import BatteryState


@dataclass(slots=True)
class PreparedEvent:
    """An accepted event, ready to be stored (seq and record time are assigned by the writer)."""

    identity: str  # eventID, else the content hash ID (de-duplication key)
    hash_id: str | None
    event_type: str
    event_time: str  # UTC, fixed width: see ionledger.epcis.times
    reporter: str
    biz_step: str | None
    doc: bytes  # compact JSON of the event


@dataclass(slots=True)
class BatteryDelta:
    """What one batch says about one battery; merged into the stored row by fixed rules."""

    id: str
    first_seen: str
    event_count: int = 0
    kind: str | None = None
    chemistry: str | None = None
    category: str | None = None
    rated_energy_kwh: float | None = None
    capacity_ah: float | None = None
    mass_kg: float | None = None
    manufacturer: str | None = None
    state: str | None = None
    state_key: tuple[str, int] | None = None
    custodian: str | None = None
    custodian_key: tuple[str, int] | None = None
    province: str | None = None
    province_key: tuple[str, int] | None = None
    ended_time: str | None = None  # recycled or destroyed (the first such event stays)
    commissioned_seq: int | None = None  # its first commissioning


@dataclass(frozen=True, slots=True)
class EdgeOp:
    """Add an edge, close one (child and parent given) or close all of a parent's (child None)."""

    op: str  # "add" | "remove"
    child: str | None
    parent: str
    relation: str
    seq: int


@dataclass(frozen=True, slots=True)
class TestRow:
    battery_id: str
    seq: int
    event_time: str
    soh_pct: float | None
    capacity_ah: float | None
    resistance_ohm: float | None


@dataclass(slots=True)
class ProjectionDelta:
    batteries: dict[str, BatteryDelta] = field(default_factory=dict)
    edges: list[EdgeOp] = field(default_factory=list)
    tests: list[TestRow] = field(default_factory=list)
    links: list[tuple[str, int]] = field(default_factory=list)  # (mentioned id, seq): trace index


@dataclass(frozen=True, slots=True)
class AlertRow:
    seq: int  # the event that raised it
    rule: str
    subject: str
    reporter: str
    province: str | None
    event_time: str
    message: str
    details: bytes  # JSON


@dataclass(slots=True)
class GovernanceDelta:
    """What one batch changes in the governance tables."""

    registry: list[tuple[str, str, bytes, int]] = field(default_factory=list)  # kind, key, doc, seq
    # (battery, ship seq, shipper, destination, receiver, event time)
    shipped: list[tuple[str, int, str, str | None, str | None, str]] = field(default_factory=list)
    received: list[tuple[int, str, int]] = field(default_factory=list)  # (seq, battery, ship seq)
    parties: set[tuple[str, str]] = field(default_factory=set)  # (party, battery)
    alerts: list[AlertRow] = field(default_factory=list)
    tonnage: dict[tuple[str, int], float] = field(default_factory=dict)  # kg added


@dataclass(frozen=True, slots=True)
class AlertFilter:
    rules: tuple[str, ...] = ()
    visible_to: tuple[str, ...] | None = None  # as EventSelection.visible_to
    reporter: str | None = None
    subject: str | None = None
    province: str | None = None
    since: str | None = None  # event time, UTC key
    until: str | None = None
    after_seq: int | None = None  # keyset pagination (alerts come in seq order)


@dataclass(frozen=True, slots=True)
class Credential:
    id: str
    enterprise: str
    scopes: tuple[str, ...]
    secret_hash: str
    label: str | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    identity: str
    event_type: str
    event_time: str
    record_time: str
    reporter: str
    biz_step: str | None
    doc: bytes


@dataclass(frozen=True, slots=True)
class IdMatch:
    """Values that match: any of ``exact``, or anything starting with one of ``prefixes``."""

    exact: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EventSelection:
    """What a store can narrow events by on its indexed columns (the query engine's SQL part).

    Fields are ANDed, the values within one field ORed; an empty field does not constrain.
    Times are UTC keys (ionledger.epcis.times). Rows come in (order key, seq) order, starting
    after the keyset position ``after`` = (order key, seq) of the last row already seen.
    """

    event_types: tuple[str, ...] = ()
    event_time_ge: str | None = None
    event_time_lt: str | None = None
    record_time_ge: str | None = None
    record_time_lt: str | None = None
    biz_steps: tuple[str, ...] = ()  # bare CBV terms, as stored
    identities: IdMatch | None = None
    # Each must hold: the event names (event_batteries) an id it matches.
    mentions: tuple[IdMatch, ...] = ()
    # Access control: only events the reporter of which, or a battery of which, one of these
    # parties (enterprise IDs, "province:CN-XX") may see; None: every event.
    visible_to: tuple[str, ...] | None = None
    order_by: str = "event_time"  # or "record_time"
    descending: bool = False
    after: tuple[str, int] | None = None


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    size: int
    note: str  # the signed note, as issued
    created_at: str


@dataclass(frozen=True, slots=True)
class BatteryRow:
    id: str
    kind: str | None
    chemistry: str | None
    category: str | None
    rated_energy_kwh: float | None
    capacity_ah: float | None
    mass_kg: float | None
    manufacturer: str | None
    first_seen: str
    state: str | None
    custodian: str | None
    province: str | None
    event_count: int


@dataclass(frozen=True, slots=True)
class Edge:
    child: str
    parent: str
    relation: str
    added_seq: int
    removed_seq: int | None


@dataclass(frozen=True, slots=True)
class NamedQuery:
    """An EPCIS REST named query: its parameters as the client sent them (JSON values)."""

    name: str
    query: dict[str, Any]
    created_at: str


@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook subscription to a named query, with its delivery position."""

    id: str
    query_name: str
    dest: str  # the webhook URL
    signature_token: str | None
    stream: bool
    schedule: dict[str, str] | None  # QuerySchedule fields as given; None when streaming
    report_if_empty: bool
    initial_record_time: str | None
    created_at: str
    next_seq: int  # every matching event with a lower seq was delivered
    delivered_record_time: str | None = None
    last_notified_at: str | None = None
    next_run: str | None = None  # scheduled: the next query time (UTC key)
    subscriber: str | None = None  # the enterprise that subscribed; None: the operator
    epc_format: str | None = None  # GS1-EPC-Format applied to deliveries; None: as captured


class Writer(abc.ABC):
    """One write transaction under the store's writer lock.

    Appended events become leaves of the verifiable log in the same transaction: the log's
    size always equals the number of stored events.
    """

    next_seq: int

    @abc.abstractmethod
    def existing(self, identities: Sequence[str]) -> dict[str, int]:
        """Identity -> seq of those already stored (committed, or written by this writer)."""

    @abc.abstractmethod
    def append(self, events: Sequence[PreparedEvent], record_time: str) -> int:
        """Store events with consecutive seqs; return the first seq."""

    @abc.abstractmethod
    def apply(self, delta: ProjectionDelta) -> None:
        """Merge a projection delta into the projection tables."""

    @abc.abstractmethod
    def log_size(self) -> int:
        """The size of the log as this transaction sees it."""

    @abc.abstractmethod
    def tile(self, level: int, index: int) -> Tile | None:
        """A stored tile as this transaction sees it."""

    @abc.abstractmethod
    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Keep a signed checkpoint (one per size; a second one for a size is ignored)."""

    # -- governance --------------------------------------------------------------------------------
    @abc.abstractmethod
    def registry_version(self) -> int:
        """The seq of the latest registry record applied (-1 when none)."""

    @abc.abstractmethod
    def registry_rows(self) -> list[tuple[str, str, bytes]]:
        """Every registry entry: (kind, key, JSON document)."""

    @abc.abstractmethod
    def battery_states(self, battery_ids: Sequence[str]) -> dict[str, BatteryState]:
        """What the rules need to know of these batteries (those on record)."""

    @abc.abstractmethod
    def recycler_tonnage(self, enterprise: str, year: int) -> float:
        """Kilograms the enterprise put through recycling in that year."""

    @abc.abstractmethod
    def save_signed_capture(
        self,
        capture_id: str,
        enterprise: str,
        public_key: str,
        signature: str,
        body: bytes,
        seqs: tuple[int, int] | None,
        created_at: str,
    ) -> None:
        """Keep a signed capture document with the events it added (this transaction's)."""

    @abc.abstractmethod
    def apply_governance(self, delta: GovernanceDelta) -> None:
        """Merge a governance delta into the governance tables."""

    @abc.abstractmethod
    def reset_projections(self) -> None:
        """Empty every projection table (for rebuild)."""

    @abc.abstractmethod
    def commit(self) -> None:
        """Make everything so far durable, and go on in a new transaction."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard everything since the last commit, and go on in a new transaction."""

    @abc.abstractmethod
    def close(self) -> None:
        """Roll back what is uncommitted and release the lock."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventStore(abc.ABC):
    """The storage port."""

    url: str
    # Benchmarks switch the log off to measure its cost. A store written without it refuses
    # further logged writes (the log no longer covers every event) until rebuilt.
    log_enabled: bool = True

    @abc.abstractmethod
    def writer(self) -> Writer: ...

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run the reads inside on one connection and one snapshot (a consistent view)."""
        yield

    @abc.abstractmethod
    def count_events(self) -> int: ...

    @abc.abstractmethod
    def iter_events(self, *, batch: int = 10_000) -> Iterator[list[StoredEvent]]:
        """Every stored event in seq order, in batches."""

    @abc.abstractmethod
    def events_between(self, start: int, stop: int) -> list[StoredEvent]:
        """The events with start <= seq < stop, in seq order."""

    @abc.abstractmethod
    def events_for(self, battery_ids: Iterable[str]) -> list[StoredEvent]:
        """Events mentioning any of these batteries, in (event_time, seq) order."""

    @abc.abstractmethod
    def event(self, identity: str) -> StoredEvent | None: ...

    @abc.abstractmethod
    def battery(self, battery_id: str) -> BatteryRow | None: ...

    @abc.abstractmethod
    def edges_of(self, battery_ids: Iterable[str]) -> list[Edge]:
        """Edges where any of these is child or parent."""

    @abc.abstractmethod
    def test_results(self, battery_id: str) -> list[TestRow]: ...

    @abc.abstractmethod
    def busiest_battery(self, *, kind: str) -> str | None:
        """The battery of this kind with the most events (an example worth showing)."""

    # -- queries ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def select_events(self, selection: EventSelection, limit: int) -> list[StoredEvent]:
        """At most ``limit`` events of the selection, in its order (index range scans)."""

    @abc.abstractmethod
    def count_selected(self, selection: EventSelection, limit: int) -> int:
        """How many events the selection holds, counting no further than ``limit``."""

    @abc.abstractmethod
    def distinct_values(self, column: str, *, after: str | None, limit: int) -> list[str]:
        """The next ``limit`` distinct values above ``after``, in order, of an indexed column:
        ``event_type``, ``biz_step`` or ``battery_id`` (every identifier events name)."""

    # -- capture jobs ----------------------------------------------------------------------------
    @abc.abstractmethod
    def save_capture_job(self, capture_id: str, created_at: str, job: dict[str, Any]) -> None:
        """Keep (or replace) a capture job's document."""

    @abc.abstractmethod
    def capture_job(self, capture_id: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def capture_jobs(self, *, before: tuple[str, str] | None, limit: int) -> list[dict[str, Any]]:
        """Capture jobs newest first: (created_at, id) below ``before``."""

    # -- named queries and subscriptions (EPCIS REST /queries) ------------------------------------
    @abc.abstractmethod
    def next_event_seq(self) -> int:
        """The seq the next stored event will get: every event below it is committed."""

    @abc.abstractmethod
    def first_seq_since(self, record_time: str) -> int | None:
        """The lowest seq of an event recorded at or after ``record_time``."""

    @abc.abstractmethod
    def select_events_between(
        self, selection: EventSelection, start: int, stop: int, limit: int
    ) -> list[StoredEvent]:
        """At most ``limit`` events of the selection with start <= seq < stop, in seq order
        (the selection's order and keyset position are ignored)."""

    @abc.abstractmethod
    def add_named_query(self, query: NamedQuery) -> bool:
        """Keep a named query; False (and nothing changed) if the name is taken."""

    @abc.abstractmethod
    def named_query(self, name: str) -> NamedQuery | None: ...

    @abc.abstractmethod
    def named_queries(self, *, after: str | None, limit: int) -> list[NamedQuery]:
        """The next ``limit`` named queries by name, after ``after``."""

    @abc.abstractmethod
    def delete_named_query(self, name: str) -> bool:
        """Delete a named query and its subscriptions, in one transaction; False if unknown."""

    @abc.abstractmethod
    def add_subscription(self, subscription: Subscription) -> bool:
        """Keep a subscription; False (and nothing changed) if its query does not exist."""

    @abc.abstractmethod
    def subscription(self, query_name: str, subscription_id: str) -> Subscription | None: ...

    @abc.abstractmethod
    def subscriptions(
        self, *, query_name: str | None, after: str | None, limit: int
    ) -> list[Subscription]:
        """The next ``limit`` subscriptions by id after ``after``: of one query, or all."""

    @abc.abstractmethod
    def delete_subscription(self, query_name: str, subscription_id: str) -> bool: ...

    @abc.abstractmethod
    def advance_subscription(
        self,
        subscription_id: str,
        *,
        from_seq: int,
        to_seq: int,
        record_time: str | None,
        notified_at: str | None,
        next_run: str | None,
    ) -> bool:
        """Move the delivery position from ``from_seq`` to ``to_seq`` in one transaction (with
        the last delivered record time, notification time and next run, None keeping them; the
        next run is always set). False, and nothing changed, if the position is no longer
        ``from_seq`` or the subscription is gone."""

    @abc.abstractmethod
    def claim_subscription(self, subscription_id: str, owner: str, *, now: str, until: str) -> bool:
        """Take or renew the delivery lease (held by nobody, by ``owner``, or expired before
        ``now``) until ``until``; False if another owner holds it."""

    @abc.abstractmethod
    def release_subscriptions(self, owner: str) -> None:
        """Give back every lease ``owner`` holds."""

    # -- the verifiable log ----------------------------------------------------------------------
    @abc.abstractmethod
    def log_size(self) -> int: ...

    @abc.abstractmethod
    def tile(self, level: int, index: int) -> Tile | None: ...

    @contextmanager
    def tile_reader(self) -> Iterator[Callable[[int, int], Tile | None]]:
        """A fast ``tile`` for many reads in a row (proofs); use it inside ``reading()``."""
        yield self.tile

    @abc.abstractmethod
    def tile_count(self, level: int) -> int: ...

    @abc.abstractmethod
    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint, by size."""

    @abc.abstractmethod
    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """The checkpoint of this size, or the latest one."""

    # -- governance --------------------------------------------------------------------------------
    @abc.abstractmethod
    def registry_seq(self) -> int:
        """The seq of the latest registry record applied (-1 when none): the registry's version."""

    @abc.abstractmethod
    def registry_entries(self, kind: str | None = None) -> list[tuple[str, str, bytes, int]]:
        """Registry entries (kind, key, JSON, seq of the record that set it), by kind and key."""

    @abc.abstractmethod
    def visible_batteries(self, battery_ids: Sequence[str], parties: Sequence[str]) -> set[str]:
        """Those of these batteries that any of these parties may see (battery_parties)."""

    @abc.abstractmethod
    def alerts(self, query: AlertFilter, limit: int) -> list[AlertRow]:
        """Alerts matching the filter, in seq order."""

    @abc.abstractmethod
    def add_credential(self, credential: Credential) -> None: ...

    @abc.abstractmethod
    def credential(self, credential_id: str) -> Credential | None: ...

    @abc.abstractmethod
    def credentials(self, enterprise: str | None = None) -> list[Credential]: ...

    @abc.abstractmethod
    def revoke_credential(self, credential_id: str, at: str) -> bool:
        """Revoke it; False if unknown or already revoked."""

    @abc.abstractmethod
    def signed_capture(self, capture_id: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def projection_snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        """Every projection table's rows, sorted: used to prove rebuild reproduces them."""

    @abc.abstractmethod
    def close(self) -> None: ...
