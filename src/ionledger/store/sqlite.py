"""SQLite adapter: the embedded default, one file, WAL, fsync on every commit."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import create_engine, event

from ionledger.store.sql import SqlStore, SqlWriter

# synchronous=FULL in WAL mode fsyncs the log at each commit: a reported import survives a crash.
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA cache_size=-65536",
    "PRAGMA temp_store=MEMORY",
    # Reads through a memory map: proofs read random tiles, and pread per page costs more.
    "PRAGMA mmap_size=1073741824",
)
_IN_CHUNK = 500  # identities per IN (...) lookup, well under SQLite's variable limit


def _configure(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (IMMEDIATE for writers)
    for pragma in PRAGMAS:
        dbapi_conn.execute(pragma)


def _begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


class SqliteWriter(SqlWriter):
    def _lock(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")  # the single-writer lock, taken up front

    def _insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns))
        self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def _existing(self, identities: Sequence[str]) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for i in range(0, len(identities), _IN_CHUNK):
            chunk = identities[i : i + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            found += self._conn.execute(
                f"SELECT identity, seq FROM events WHERE identity IN ({marks})", chunk
            ).fetchall()
        return found

    def _end(self, *, commit: bool) -> None:
        # The connection is in autocommit mode (we BEGIN ourselves), so end explicitly.
        if self._conn.in_transaction:
            self._conn.execute("COMMIT" if commit else "ROLLBACK")


class SqliteStore(SqlStore):
    def __init__(self, url: str) -> None:
        engine = create_engine(url)
        event.listen(engine, "connect", _configure)
        event.listen(engine, "begin", _begin_deferred)
        super().__init__(url, engine, lambda sql: sql)

    def writer(self) -> SqliteWriter:
        return SqliteWriter(
            self._writer_connection(),
            self.paramstyle,
            log=self.log_enabled,
            release=self._keep_writer,
        )
