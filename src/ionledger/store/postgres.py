"""PostgreSQL adapter: psycopg 3, binary COPY for bulk, an advisory lock for the single writer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import create_engine

from ionledger.store.sql import BATTERY_UPSERT, EVENT_COLUMNS, SqlStore, SqlWriter

WRITER_LOCK = 0x10_4C_ED_6E  # pg_advisory_xact_lock key: one writer per database/schema

# Binary COPY needs each column's type; these mirror ionledger.store.schema.
COPY_TYPES: dict[str, dict[str, str]] = {
    "events": dict(zip(EVENT_COLUMNS, ("int8", "text", "text", "text", "text", "text", "text",
                                       "text", "bytea"), strict=True)),
    "event_batteries": {"battery_id": "text", "seq": "int8"},
    "genealogy": {"child": "text", "parent": "text", "relation": "text", "added_seq": "int8"},
    "test_results": {"battery_id": "text", "seq": "int8", "event_time": "text",
                     "soh_pct": "float8", "capacity_ah": "float8", "resistance_ohm": "float8"},
    "batteries_in": {"id": "text", "kind": "text", "chemistry": "text", "category": "text",
                     "rated_energy_kwh": "float8", "capacity_ah": "float8", "mass_kg": "float8",
                     "manufacturer": "text", "ended_time": "text", "commissioned_seq": "int8",
                     "first_seen": "text",
                     "state": "text", "state_time": "text", "state_seq": "int8",
                     "custodian": "text", "custodian_time": "text", "custodian_seq": "int8",
                     "province": "text", "province_time": "text", "province_seq": "int8",
                     "event_count": "int4"},
}  # fmt: skip

# The battery upsert reads a batch COPYed into a temporary table: one statement per batch
# instead of one round trip per battery.
_UPSERT_FROM_STAGING = BATTERY_UPSERT.replace(
    f"VALUES ({', '.join('?' * len(COPY_TYPES['batteries_in']))})",
    f"SELECT {', '.join(COPY_TYPES['batteries_in'])} FROM batteries_in",
)


def _percent(sql: str) -> str:
    return sql.replace("?", "%s")


class PostgresWriter(SqlWriter):
    def _lock(self) -> None:
        # The lock key is per schema (tests run each in their own schema, side by side).
        self._conn.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", (WRITER_LOCK,)
        )

    def _insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        types = COPY_TYPES[table]
        cur = self._conn.cursor()
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types([types[c] for c in columns])
            for row in rows:
                cp.write_row(row)

    def _upsert_batteries(self, rows: list[tuple[Any, ...]]) -> None:
        self._conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS batteries_in"
            " (LIKE batteries INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        self._conn.execute("TRUNCATE batteries_in")
        self._insert("batteries_in", tuple(COPY_TYPES["batteries_in"]), rows)
        self._conn.execute(_UPSERT_FROM_STAGING)

    def _existing(self, identities: Sequence[str]) -> list[tuple[str, int]]:
        cur = self._conn.execute(
            "SELECT identity, seq FROM events WHERE identity = ANY(%s)", (list(identities),)
        )
        return [(str(i), int(s)) for i, s in cur.fetchall()]


class PostgresStore(SqlStore):
    def __init__(self, url: str) -> None:
        super().__init__(url, create_engine(url), _percent)

    def writer(self) -> PostgresWriter:
        return PostgresWriter(
            self._writer_connection(),
            self.paramstyle,
            log=self.log_enabled,
            release=self._keep_writer,
        )
