"""The SQL adapter base shared by SQLite and PostgreSQL.

SQLAlchemy provides the engine, pooling and migrations; the SQL itself is plain text, the same
for both databases, written with ``?`` placeholders and rewritten for drivers that use ``%s``.
Writes use the driver's own bulk paths (``executemany`` / ``COPY``): they are the hot path.
"""

from __future__ import annotations

import abc
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from itertools import groupby
from typing import Any

import msgspec
import psycopg
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from ionledger.epr.records import EPR_RECORD_TYPE
from ionledger.errors import IntegrityError, StoreError
from ionledger.governance.registry import REGISTRY_RECORD_TYPE
from ionledger.ledger.leaf import stored_leaf
from ionledger.ledger.merkle import leaf_hash
from ionledger.ledger.tiles import Tile, TiledTree
from ionledger.store import schema
from ionledger.store.port import (
    BatteryDelta,
    BatteryRow,
    Edge,
    EventSelection,
    EventStore,
    IdMatch,
    PreparedEvent,
    ProjectionDelta,
    StoredCheckpoint,
    StoredEvent,
    TestRow,
    Writer,
)
from ionledger.store.sql_epr import EprRows, EprWrites
from ionledger.store.sql_governance import GovernanceRows, GovernanceWrites
from ionledger.store.sql_subscriptions import SubscriptionRows

# Driver errors become our own at this boundary, saying what we were doing (eventsourcing's
# practice): sqlite3 and psycopg both derive theirs from the DBAPI's Error, SQLAlchemy wraps them.
_DRIVER_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, sqlite3.Error, psycopg.Error)


@contextmanager
def translating(action: str) -> Iterator[None]:
    try:
        yield
    except _DRIVER_ERRORS as exc:
        raise StoreError(f"{action} failed: {type(exc).__name__}: {exc}".strip()) from exc


_ATTRS = (
    "kind",
    "chemistry",
    "category",
    "rated_energy_kwh",
    "capacity_ah",
    "mass_kg",
    "manufacturer",
    "ended_time",
    "commissioned_seq",
)
_LATEST = ("state", "custodian", "province")


def _newer(name: str) -> str:
    # (time, seq) of the incoming value beats the stored one: later event time, then later seq.
    t, s = f"{name}_time", f"{name}_seq"
    return (
        f"excluded.{t} IS NOT NULL AND (batteries.{t} IS NULL OR excluded.{t} > batteries.{t}"
        f" OR (excluded.{t} = batteries.{t} AND excluded.{s} > batteries.{s}))"
    )


def _battery_upsert_sql() -> str:
    cols = ["id", *_ATTRS, "first_seen"]
    for name in _LATEST:
        cols += [name, f"{name}_time", f"{name}_seq"]
    cols.append("event_count")
    sets = [f"{a} = COALESCE(batteries.{a}, excluded.{a})" for a in _ATTRS]
    sets.append(
        "first_seen = CASE WHEN excluded.first_seen < batteries.first_seen"
        " THEN excluded.first_seen ELSE batteries.first_seen END"
    )
    for name in _LATEST:
        for col in (name, f"{name}_time", f"{name}_seq"):
            sets.append(
                f"{col} = CASE WHEN {_newer(name)} THEN excluded.{col} ELSE batteries.{col} END"
            )
    sets.append("event_count = batteries.event_count + excluded.event_count")
    return (
        f"INSERT INTO batteries ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        f" ON CONFLICT (id) DO UPDATE SET {', '.join(sets)}"
    )


def _battery_params(d: BatteryDelta) -> tuple[Any, ...]:
    # Spelled out (no getattr loop): this runs for every battery row of every batch.
    s, c, p = d.state_key, d.custodian_key, d.province_key
    return (
        d.id, d.kind, d.chemistry, d.category, d.rated_energy_kwh, d.capacity_ah, d.mass_kg,
        d.manufacturer, d.ended_time, d.commissioned_seq, d.first_seen,
        d.state, s[0] if s else None, s[1] if s else None,
        d.custodian, c[0] if c else None, c[1] if c else None,
        d.province, p[0] if p else None, p[1] if p else None,
        d.event_count,
    )  # fmt: skip


BATTERY_UPSERT = _battery_upsert_sql()
EDGE_REMOVE = (
    "UPDATE genealogy SET removed_seq = ? WHERE child = ? AND parent = ?"
    " AND relation = ? AND removed_seq IS NULL"
)
EDGE_REMOVE_ALL = (
    "UPDATE genealogy SET removed_seq = ? WHERE parent = ? AND relation = ? AND removed_seq IS NULL"
)
EDGE_COLUMNS = ("child", "parent", "relation", "added_seq")
TEST_COLUMNS = ("battery_id", "seq", "event_time", "soh_pct", "capacity_ah", "resistance_ohm")
EVENT_COLUMNS = (
    "seq",
    "identity",
    "hash_id",
    "event_type",
    "event_time",
    "record_time",
    "reporter",
    "biz_step",
    "doc",
)


TILE_UPSERT = (
    "INSERT INTO log_tiles (level, idx, hashes, interior) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes, interior = excluded.interior"
)
CHECKPOINT_INSERT = (
    "INSERT INTO log_checkpoints (size, note, created_at) VALUES (?, ?, ?)"
    " ON CONFLICT (size) DO NOTHING"
)
# The rightmost tile of each level: the partial ones among them are the tree's growing edge.
_LAST_TILE = (
    "SELECT level, idx, hashes, interior FROM log_tiles WHERE level = ? ORDER BY idx DESC LIMIT 1"
)
_TILE = "SELECT level, idx, hashes, interior FROM log_tiles WHERE level = ? AND idx = ?"


def _tile(row: Any) -> Tile:
    return Tile(int(row[0]), int(row[1]), bytes(row[2]), bytes(row[3]))


def read_edge(query: Callable[[str, Sequence[Any]], list[Any]]) -> TiledTree:
    """The tree's edge from the stored tiles: the partial tile, if any, of each level."""
    edge: list[Tile] = []
    for level in range(64):
        rows = query(_LAST_TILE, (level,))
        if not rows:
            break
        tile = _tile(rows[0])
        if not tile.full:
            edge.append(tile)
    return TiledTree(edge)


class SqlWriter(EprWrites, GovernanceWrites, Writer):
    """A writer over one DBAPI connection; subclasses supply locking and bulk inserts."""

    def __init__(
        self,
        conn: Any,
        paramstyle: Callable[[str], str],
        *,
        log: bool = True,
        release: Callable[[Any], None] | None = None,
    ) -> None:
        self._conn = conn
        self._sql = paramstyle
        self._closed = False
        self._log_enabled = log
        self._release = release  # takes the connection back for the next writer, if given
        self._begin()

    # -- database specifics ------------------------------------------------------------------
    @abc.abstractmethod
    def _lock(self) -> None:
        """Begin a transaction holding the single-writer lock."""

    @abc.abstractmethod
    def _insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        """Bulk-insert plain rows (the database's fastest way)."""

    def _upsert_batteries(self, rows: list[tuple[Any, ...]]) -> None:
        self._many(BATTERY_UPSERT, rows)

    @abc.abstractmethod
    def _existing(self, identities: Sequence[str]) -> list[tuple[str, int]]: ...

    # -- shared ------------------------------------------------------------------------------
    def _end(self, *, commit: bool) -> None:
        """Commit or roll back the open transaction."""
        if commit:
            self._conn.commit()
        else:
            self._conn.rollback()

    def _begin(self) -> None:
        with translating("taking the writer lock"):
            self._lock()
            cur = self._conn.cursor()
            cur.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM events")
            self.next_seq = int(cur.fetchone()[0])
            self._tree = read_edge(self._query)

    def existing(self, identities: Sequence[str]) -> dict[str, int]:
        with translating("looking up stored events"):
            return dict(self._existing(identities)) if identities else {}

    def append(self, events: Sequence[PreparedEvent], record_time: str) -> int:
        first = self.next_seq
        rows = [
            (
                seq,
                ev.identity,
                ev.hash_id,
                ev.event_type,
                ev.event_time,
                record_time,
                ev.reporter,
                ev.biz_step,
                ev.doc,
            )
            for seq, ev in enumerate(events, start=first)
        ]
        with translating("storing events"):
            self._insert("events", EVENT_COLUMNS, rows)
            if self._log_enabled:
                self._log(events, record_time)
        self.next_seq = first + len(rows)
        return first

    def _log(self, events: Sequence[PreparedEvent], record_time: str) -> None:
        """Add the events as leaves: their tiles are written in this same transaction."""
        if self._tree.size != self.next_seq:
            raise IntegrityError(
                f"the log has {self._tree.size} leaves but the store {self.next_seq} events;"
                " run `ionledger verify`",
                where="log size",
            )
        hashes = [
            leaf_hash(stored_leaf(e.identity, record_time, e.reporter, e.doc)) for e in events
        ]
        tiles = self._tree.append(hashes)
        self._many(TILE_UPSERT, [(t.level, t.index, t.hashes, t.interior) for t in tiles])

    def log_size(self) -> int:
        return self._tree.size

    def tile(self, level: int, index: int) -> Tile | None:
        with translating("reading a tile"):
            rows = self._query(_TILE, (level, index))
        return _tile(rows[0]) if rows else None

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        with translating("storing a checkpoint"):
            self._many(
                CHECKPOINT_INSERT, [(checkpoint.size, checkpoint.note, checkpoint.created_at)]
            )

    def apply(self, delta: ProjectionDelta) -> None:
        with translating("updating projections"):
            self._apply(delta)

    def _apply(self, delta: ProjectionDelta) -> None:
        if delta.links:
            self._insert("event_batteries", ("battery_id", "seq"), delta.links)
        if delta.batteries:
            self._upsert_batteries([_battery_params(d) for d in delta.batteries.values()])
        # Edge operations keep their order: runs of the same kind are written together.
        for kind, run in groupby(delta.edges, key=lambda e: (e.op, e.child is None)):
            ops = list(run)
            if kind[0] == "add":
                rows = [(e.child, e.parent, e.relation, e.seq) for e in ops]
                self._insert("genealogy", EDGE_COLUMNS, rows)
            elif kind[1]:
                self._many(EDGE_REMOVE_ALL, [(e.seq, e.parent, e.relation) for e in ops])
            else:
                self._many(EDGE_REMOVE, [(e.seq, e.child, e.parent, e.relation) for e in ops])
        if delta.tests:
            tests = [
                (t.battery_id, t.seq, t.event_time, t.soh_pct, t.capacity_ah, t.resistance_ohm)
                for t in delta.tests
            ]
            self._insert("test_results", TEST_COLUMNS, tests)

    def reset_projections(self) -> None:
        with translating("emptying projections"):
            cur = self._conn.cursor()
            for table in schema.PROJECTIONS:
                cur.execute(f"DELETE FROM {table.name}")

    def commit(self) -> None:
        with translating("commit"):
            self._end(commit=True)
        self._begin()

    def rollback(self) -> None:
        with translating("rollback"):
            self._end(commit=False)
        self._begin()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._end(commit=False)
        except _DRIVER_ERRORS:
            self._conn.close()  # a broken connection: nothing to roll back, nothing to reuse
            return
        if self._release is not None:
            self._release(self._conn)
        else:
            self._conn.close()


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        seq=row.seq,
        identity=row.identity,
        event_type=row.event_type,
        event_time=row.event_time,
        record_time=row.record_time,
        reporter=row.reporter,
        biz_step=row.biz_step,
        doc=bytes(row.doc),
    )


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


_EVENT_FIELDS = ", ".join(f.name for f in fields(StoredEvent))
_C_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8"})
_BATTERY_FIELDS = ", ".join(f.name for f in fields(BatteryRow))


# -- the query engine's SQL ---------------------------------------------------------------------
_ORDER_COLUMNS = ("event_time", "record_time")
# Columns distinct_values walks, each the leading column of an index (a loose index scan).
_DISTINCT_SOURCES = {
    "event_type": "events",
    "biz_step": "events",
    "battery_id": "event_batteries",
}


def prefix_upper(prefix: str) -> str:
    """The least string above every string that starts with ``prefix`` (in code point order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _match_sql(column: str, match: IdMatch, params: list[Any], *, bytewise: bool) -> str:
    # Prefixes are ranges: an index range scan where the text order is bytewise. Under a
    # linguistic collation the ranges are compared in "C" order instead (exact, but no index).
    ranged = column if bytewise else f'{column} COLLATE "C"'
    terms: list[str] = []
    if match.exact:
        terms.append(f"{column} IN ({_marks(match.exact)})")
        params.extend(match.exact)
    for prefix in match.prefixes:
        terms.append(f"({ranged} >= ? AND {ranged} < ?)")
        params.extend((prefix, prefix_upper(prefix)))
    return f"({' OR '.join(terms)})" if terms else "1 = 0"


def _selection_where(sel: EventSelection, params: list[Any], *, bytewise: bool) -> list[str]:
    # Registry and EPR records share the log (and so the events table) but are not EPCIS events.
    where: list[str] = [f"event_type NOT IN ('{REGISTRY_RECORD_TYPE}', '{EPR_RECORD_TYPE}')"]
    if sel.event_types:
        where.append(f"event_type IN ({_marks(sel.event_types)})")
        params.extend(sel.event_types)
    bounds = (
        ("event_time", ">=", sel.event_time_ge),
        ("event_time", "<", sel.event_time_lt),
        ("record_time", ">=", sel.record_time_ge),
        ("record_time", "<", sel.record_time_lt),
    )
    for column, op, value in bounds:
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value)
    if sel.biz_steps:
        where.append(f"biz_step IN ({_marks(sel.biz_steps)})")
        params.extend(sel.biz_steps)
    if sel.identities is not None:
        where.append(_match_sql("identity", sel.identities, params, bytewise=bytewise))
    for mention in sel.mentions:
        inner = _match_sql("battery_id", mention, params, bytewise=bytewise)
        where.append(f"seq IN (SELECT seq FROM event_batteries WHERE {inner})")
    if sel.visible_to is not None:
        # Only events about batteries the reader may see, or that the reader reported.
        marks = _marks(sel.visible_to) if sel.visible_to else "NULL"
        where.append(
            f"(reporter IN ({marks}) OR EXISTS (SELECT 1 FROM event_batteries AS eb"
            " JOIN battery_parties AS bp ON bp.battery_id = eb.battery_id"
            f" WHERE eb.seq = events.seq AND bp.party IN ({marks})))"
        )
        params.extend(sel.visible_to)
        params.extend(sel.visible_to)
    if sel.after is not None:
        # Keyset pagination, written so that the first term bounds the index range scan.
        key, op = _order_column(sel), "<" if sel.descending else ">"
        where.append(f"{key} {op}= ? AND ({key} {op} ? OR seq {op} ?)")
        params.extend((sel.after[0], sel.after[0], sel.after[1]))
    return where


def _order_column(sel: EventSelection) -> str:
    if sel.order_by not in _ORDER_COLUMNS:
        raise ValueError(f"cannot order events by {sel.order_by!r}")
    return sel.order_by


def selection_sql(
    sel: EventSelection, limit: int, *, bytewise: bool = True, columns: str = ""
) -> tuple[str, list[Any]]:
    """The SQL (``?`` placeholders) and parameters that :meth:`SqlStore.select_events` runs."""
    params: list[Any] = []
    where = _selection_where(sel, params, bytewise=bytewise)
    key = _order_column(sel)
    direction = "DESC" if sel.descending else "ASC"
    sql = f"SELECT {columns or _EVENT_FIELDS} FROM events"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {key} {direction}, seq {direction} LIMIT ?"
    params.append(limit)
    return sql, params


class SqlStore(EprRows, GovernanceRows, SubscriptionRows, EventStore):
    """Reads on the engine's pooled connections; subclasses make the engine and the writer."""

    def __init__(self, url: str, engine: Engine, paramstyle: Callable[[str], str]) -> None:
        self.url = url
        self.engine = engine
        self.paramstyle = paramstyle  # our "?" placeholders in the driver's style
        self._local = threading.local()  # the connection pinned by reading(), per thread
        # One idle writer connection kept for the next writer: opening and closing a connection
        # per write costs more than a small capture (POST /events) itself.
        self._idle_writer: Any = None
        self._idle_lock = threading.Lock()

    def _writer_connection(self) -> Any:
        with self._idle_lock:
            conn, self._idle_writer = self._idle_writer, None
        if conn is not None:
            return conn
        raw = self.engine.raw_connection()
        conn = raw.driver_connection
        raw.detach()  # the writer owns this connection; it comes back through _keep_writer
        return conn

    def _keep_writer(self, conn: Any) -> None:
        with self._idle_lock:
            if self._idle_writer is None:
                self._idle_writer, conn = conn, None
        if conn is not None:
            conn.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield  # already inside reading(): share its connection
            return
        with translating(f"reading {self.url}"), self.engine.connect() as conn, conn.begin():
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        pinned: Connection | None = getattr(self._local, "conn", None)
        if pinned is not None:
            with translating(f"reading {self.url}"):
                yield pinned
            return
        with translating(f"reading {self.url}"), self.engine.connect() as conn:
            yield conn

    def count_events(self) -> int:
        with self._read() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM events")).scalar_one())

    def iter_events(self, *, batch: int = 10_000) -> Iterator[list[StoredEvent]]:
        start = 0
        while True:
            rows = self._rows(
                f"SELECT {_EVENT_FIELDS} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?",
                [start, batch],
            )
            if not rows:
                return
            yield [_stored(r) for r in rows]
            start = rows[-1].seq + 1

    def events_between(self, start: int, stop: int) -> list[StoredEvent]:
        rows = self._rows(
            f"SELECT {_EVENT_FIELDS} FROM events WHERE seq >= ? AND seq < ? ORDER BY seq",
            [start, stop],
        )
        return [_stored(r) for r in rows]

    # The point reads behind trace and the API are written as plain SQL on the driver: building
    # and caching SQLAlchemy statements costs several times the query itself.
    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._read() as conn:
            return list(conn.exec_driver_sql(self.paramstyle(sql), tuple(params)).fetchall())

    def events_for(self, battery_ids: Iterable[str]) -> list[StoredEvent]:
        ids = list(battery_ids)
        rows = self._rows(
            f"SELECT {_EVENT_FIELDS} FROM events WHERE seq IN (SELECT seq FROM event_batteries"
            f" WHERE battery_id IN ({_marks(ids)})) ORDER BY event_time, seq",
            ids,
        )
        return [_stored(r) for r in rows]

    def event(self, identity: str) -> StoredEvent | None:
        rows = self._rows(f"SELECT {_EVENT_FIELDS} FROM events WHERE identity = ?", [identity])
        return _stored(rows[0]) if rows else None

    def battery(self, battery_id: str) -> BatteryRow | None:
        rows = self._rows(f"SELECT {_BATTERY_FIELDS} FROM batteries WHERE id = ?", [battery_id])
        return BatteryRow(*rows[0]) if rows else None

    def edges_of(self, battery_ids: Iterable[str]) -> list[Edge]:
        ids = list(battery_ids)
        marks = _marks(ids)
        rows = self._rows(
            "SELECT child, parent, relation, added_seq, removed_seq FROM genealogy"
            f" WHERE child IN ({marks}) OR parent IN ({marks}) ORDER BY added_seq, child",
            ids + ids,
        )
        return [Edge(*r) for r in rows]

    def test_results(self, battery_id: str) -> list[TestRow]:
        rows = self._rows(
            "SELECT battery_id, seq, event_time, soh_pct, capacity_ah, resistance_ohm"
            " FROM test_results WHERE battery_id = ? ORDER BY seq",
            [battery_id],
        )
        return [TestRow(*r) for r in rows]

    def busiest_battery(self, *, kind: str) -> str | None:
        b = schema.batteries.c
        query = select(b.id).where(b.kind == kind).order_by(b.event_count.desc(), b.id).limit(1)
        with self._read() as conn:
            return conn.execute(query).scalar_one_or_none()

    # -- queries -------------------------------------------------------------------------------
    def bytewise_text(self) -> bool:
        """Whether text compares bytewise (prefix ranges can use the indexes): always on SQLite,
        on PostgreSQL when the database's collation is C."""
        cached: bool | None = getattr(self, "_bytewise", None)
        if cached is None:
            cached = self._bytewise = self._collation_is_bytewise()
        return cached

    def _collation_is_bytewise(self) -> bool:
        if self.engine.dialect.name == "sqlite":
            return True  # BINARY, the default collation
        # datlocprovider: absent before PostgreSQL 15; c = libc, i = ICU, b = builtin (17: code
        # point order, whatever its locale).
        rows = self._rows(
            "SELECT datcollate, to_jsonb(d) ->> 'datlocprovider' FROM pg_database AS d"
            " WHERE datname = current_database()",
            [],
        )
        if not rows:
            return False
        collate, provider = rows[0]
        return provider == "b" or (provider in (None, "c") and collate in _C_COLLATIONS)

    def select_events_sql(self, selection: EventSelection, limit: int) -> tuple[str, list[Any]]:
        """The SQL this store runs for a selection, in its driver's placeholder style."""
        sql, params = selection_sql(selection, limit, bytewise=self.bytewise_text())
        return self.paramstyle(sql), params

    def select_events(self, selection: EventSelection, limit: int) -> list[StoredEvent]:
        sql, params = selection_sql(selection, limit, bytewise=self.bytewise_text())
        return [_stored(r) for r in self._rows(sql, params)]

    def count_selected(self, selection: EventSelection, limit: int) -> int:
        sql, params = selection_sql(selection, limit, bytewise=self.bytewise_text(), columns="seq")
        return int(self._rows(f"SELECT COUNT(*) FROM ({sql}) AS selected", params)[0][0])

    def distinct_values(self, column: str, *, after: str | None, limit: int) -> list[str]:
        table = _DISTINCT_SOURCES.get(column)
        if table is None:
            raise ValueError(f"no distinct values of {column!r}")
        # A loose index scan: one index seek per value, however many rows share each value.
        sql = f"SELECT {column} FROM {table} WHERE {column} > ? ORDER BY {column} LIMIT 1"
        first = f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1"
        values: list[str] = []
        with self.reading():
            while len(values) < limit:
                rows = self._rows(sql, [after]) if after is not None else self._rows(first, [])
                if not rows:
                    break
                after = str(rows[0][0])
                if after not in (REGISTRY_RECORD_TYPE, EPR_RECORD_TYPE):  # not EPCIS types
                    values.append(after)
        return values

    def save_capture_job(self, capture_id: str, created_at: str, job: dict[str, Any]) -> None:
        sql = (
            "INSERT INTO capture_jobs (id, created_at, doc) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"
        )
        params = (capture_id, created_at, msgspec.json.encode(job))
        self._write("storing a capture job", [(sql, params)])

    def capture_job(self, capture_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT doc FROM capture_jobs WHERE id = ?", [capture_id])
        if not rows:
            return None
        job: dict[str, Any] = msgspec.json.decode(bytes(rows[0][0]))
        return job

    def capture_jobs(self, *, before: tuple[str, str] | None, limit: int) -> list[dict[str, Any]]:
        where, params = "", list[Any]([limit])
        if before is not None:
            where = " WHERE created_at < ? OR (created_at = ? AND id < ?)"
            params = [*before[:1], *before, limit]
        rows = self._rows(
            f"SELECT doc FROM capture_jobs{where} ORDER BY created_at DESC, id DESC LIMIT ?",
            params,
        )
        return [msgspec.json.decode(bytes(r[0])) for r in rows]

    # -- named queries and subscriptions -------------------------------------------------------
    def next_event_seq(self) -> int:
        return int(self._rows("SELECT COALESCE(MAX(seq) + 1, 0) FROM events", [])[0][0])

    def first_seq_since(self, record_time: str) -> int | None:
        rows = self._rows("SELECT MIN(seq) FROM events WHERE record_time >= ?", [record_time])
        return None if rows[0][0] is None else int(rows[0][0])

    def select_events_between(
        self, selection: EventSelection, start: int, stop: int, limit: int
    ) -> list[StoredEvent]:
        params: list[Any] = []
        unordered = replace(selection, after=None)
        where = _selection_where(unordered, params, bytewise=self.bytewise_text())
        where.append("seq >= ? AND seq < ?")
        params += [start, stop, limit]
        sql = f"SELECT {_EVENT_FIELDS} FROM events WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        return [_stored(r) for r in self._rows(sql, params)]

    def _write(self, action: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Run statements in one transaction; the rows the first one changed."""
        counts: list[int] = []
        with translating(action), self.engine.begin() as conn:
            for sql, params in statements:
                counts.append(conn.exec_driver_sql(self.paramstyle(sql), tuple(params)).rowcount)
        return counts[0]

    def log_size(self) -> int:
        return read_edge(self._rows).size

    def tile(self, level: int, index: int) -> Tile | None:
        with self.tile_reader() as read:
            return read(level, index)

    @contextmanager
    def tile_reader(self) -> Iterator[Callable[[int, int], Tile | None]]:
        # One driver cursor for many reads: a proof reads a tile, and SQLAlchemy's per-statement
        # work would cost more than the read itself.
        with self._read() as conn:
            cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            sql = self.paramstyle(_TILE)

            def read(level: int, index: int) -> Tile | None:
                with translating("reading a tile"):
                    cur.execute(sql, (level, index))
                    row = cur.fetchone()
                return _tile(row) if row else None

            yield read

    def tile_count(self, level: int) -> int:
        return int(self._rows("SELECT COUNT(*) FROM log_tiles WHERE level = ?", [level])[0][0])

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._rows("SELECT size, note, created_at FROM log_checkpoints ORDER BY size", [])
        return [StoredCheckpoint(int(r[0]), r[1], r[2]) for r in rows]

    def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        if size is None:
            sql, params = "ORDER BY size DESC LIMIT 1", []
        else:
            sql, params = "WHERE size = ?", [size]
        rows = self._rows(f"SELECT size, note, created_at FROM log_checkpoints {sql}", params)
        return StoredCheckpoint(int(rows[0][0]), rows[0][1], rows[0][2]) if rows else None

    def projection_snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        out: dict[str, list[tuple[object, ...]]] = {}
        with self._read() as conn:
            for table in schema.PROJECTIONS:
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                out[table.name] = [tuple(r) for r in rows]
        return out

    def close(self) -> None:
        with self._idle_lock:
            idle, self._idle_writer = self._idle_writer, None
        if idle is not None:
            idle.close()
        self.engine.dispose()
