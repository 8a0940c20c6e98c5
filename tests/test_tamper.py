"""Tamper evidence: bytes altered directly in the database are caught by `verify`, which names the
place. Each backend takes MUTATIONS random mutations, each applied, verified and undone."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection

from factory import code, document, lifecycle
from ionledger.errors import IntegrityError
from ionledger.ledger.note import Signer
from ionledger.services.importer import Importer
from ionledger.services.log import Checkpointer
from ionledger.services.verify import verify_log
from ionledger.settings import Settings
from ionledger.store.port import EventStore

MUTATIONS = 120
EVENT_COLUMNS = ("identity", "event_type", "event_time", "record_time", "reporter", "biz_step")


def _fill(store: EventStore, signer: Signer) -> None:
    checkpointer = Checkpointer(store, signer, interval=3600)
    importer = Importer(store, Settings(database_url=store.url), checkpointer=checkpointer)
    for part in range(3):  # three imports: three checkpoints, tiles grown across them
        events: list[dict[str, Any]] = []
        for i in range(20 + 10 * part):
            events += lifecycle(code("P"), [code("M")], start_day=1 + i % 20)
        raw = json.dumps(document(events)).encode()
        assert importer.import_stream(io.BytesIO(raw)).ok


Undo = Callable[[Connection], None]


def _flip(data: bytes, rng: random.Random) -> bytes:
    pos = rng.randrange(len(data))
    return data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))]) + data[pos + 1 :]


def _other_char(data: bytes, rng: random.Random) -> bytes:
    """Change one letter or digit of JSON text into another (the text stays plausible)."""
    spots = [i for i, b in enumerate(data) if chr(b).isalnum()]
    pos = rng.choice(spots)
    pool = "0123456789" if chr(data[pos]).isdigit() else "abcdefghijklmnopqrstuvwxyz"
    new = rng.choice([c for c in pool if c != chr(data[pos]).lower()])
    return data[:pos] + new.encode() + data[pos + 1 :]


class Mutator:
    def __init__(self, conn: Connection, rng: random.Random, size: int) -> None:
        self.conn, self.rng, self.size = conn, rng, size

    def one(self, sql: str, *params: Any) -> Any:
        return self.conn.exec_driver_sql(sql.replace("?", "%s") if self.pg else sql, params).one()

    def run(self, sql: str, *params: Any) -> None:
        self.conn.exec_driver_sql(sql.replace("?", "%s") if self.pg else sql, params)

    @property
    def pg(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    # Each returns (a description, the expected `where` prefixes, how to undo it).
    def event_doc(self) -> tuple[str, tuple[str, ...], Undo]:
        seq = self.rng.randrange(self.size)
        (doc,) = self.one("SELECT doc FROM events WHERE seq = ?", seq)
        doc = bytes(doc)
        changed = _other_char(doc, self.rng) if self.rng.random() < 0.7 else _flip(doc, self.rng)
        self.run("UPDATE events SET doc = ? WHERE seq = ?", changed, seq)
        return f"doc of event {seq}", (f"event {seq} ",), lambda c: self._set(c, seq, "doc", doc)

    def event_column(self) -> tuple[str, tuple[str, ...], Undo]:
        seq = self.rng.randrange(self.size)
        column = self.rng.choice(EVENT_COLUMNS)
        (value,) = self.one(f"SELECT {column} FROM events WHERE seq = ?", seq)
        new = (value or "x") + "Z" if column != "record_time" else value.replace("2", "3", 1)
        self.run(f"UPDATE events SET {column} = ? WHERE seq = ?", new, seq)
        return (
            f"{column} of event {seq}",
            (f"event {seq} ",),
            lambda c: self._set(c, seq, column, value),
        )

    def deleted_event(self) -> tuple[str, tuple[str, ...], Undo]:
        seq = self.rng.randrange(self.size)
        row = self.one("SELECT * FROM events WHERE seq = ?", seq)
        self.run("DELETE FROM events WHERE seq = ?", seq)
        marks = ", ".join("?" * len(row))

        def undo(c: Connection) -> None:
            sql = f"INSERT INTO events VALUES ({marks})"
            c.exec_driver_sql(sql.replace("?", "%s") if self.pg else sql, tuple(row))

        last = seq == self.size - 1
        return f"deleted event {seq}", ("tile 0/",) if last else (f"event {seq}",), undo

    def swapped_events(self) -> tuple[str, tuple[str, ...], Undo]:
        a, b = sorted(self.rng.sample(range(self.size), 2))
        self._swap(self.conn, a, b)
        return f"swapped events {a} and {b}", (f"event {a} ",), lambda c: self._swap(c, a, b)

    def tile_bytes(self) -> tuple[str, tuple[str, ...], Undo]:
        level, idx, hashes, interior = self.rng.choice(
            list(self.conn.exec_driver_sql("SELECT level, idx, hashes, interior FROM log_tiles"))
        )
        column = "hashes" if self.rng.random() < 0.7 or not interior else "interior"
        original = bytes(hashes if column == "hashes" else interior)
        self.run(
            f"UPDATE log_tiles SET {column} = ? WHERE level = ? AND idx = ?",
            _flip(original, self.rng),
            level,
            idx,
        )
        where = (f"tile {level}/{idx}",) + ((f"event {idx * 256}",) if level == 0 else ())
        where += tuple(f"event {idx * 256 + i} " for i in range(256)) if level == 0 else ()

        def undo(c: Connection) -> None:
            sql = f"UPDATE log_tiles SET {column} = ? WHERE level = ? AND idx = ?"
            c.exec_driver_sql(sql.replace("?", "%s") if self.pg else sql, (original, level, idx))

        return f"{column} of tile {level}/{idx}", where, undo

    def deleted_tile(self) -> tuple[str, tuple[str, ...], Undo]:
        level, idx, hashes, interior = self.rng.choice(
            list(self.conn.exec_driver_sql("SELECT level, idx, hashes, interior FROM log_tiles"))
        )
        self.run("DELETE FROM log_tiles WHERE level = ? AND idx = ?", level, idx)

        def undo(c: Connection) -> None:
            sql = "INSERT INTO log_tiles VALUES (?, ?, ?, ?)"
            c.exec_driver_sql(
                sql.replace("?", "%s") if self.pg else sql,
                (level, idx, bytes(hashes), bytes(interior)),
            )

        return f"deleted tile {level}/{idx}", (f"tile {level}/{idx}",), undo

    def checkpoint(self) -> tuple[str, tuple[str, ...], Undo]:
        sizes = [r[0] for r in self.conn.exec_driver_sql("SELECT size FROM log_checkpoints")]
        size = self.rng.choice(sizes)
        (note,) = self.one("SELECT note FROM log_checkpoints WHERE size = ?", size)
        text, signatures = note.split("\n\n", 1)
        if self.rng.random() < 0.5:
            lines = text.split("\n")
            line = self.rng.randrange(3)
            lines[line] = _other_char(lines[line].encode(), self.rng).decode()
            changed = "\n".join(lines) + "\n\n" + signatures
        else:
            sig = signatures.rstrip("\n").rsplit(" ", 1)
            changed = text + "\n\n" + sig[0] + " " + _other_char(sig[1].encode(), self.rng).decode()
            changed += "\n"
        self.run("UPDATE log_checkpoints SET note = ? WHERE size = ?", changed, size)

        def undo(c: Connection) -> None:
            sql = "UPDATE log_checkpoints SET note = ? WHERE size = ?"
            c.exec_driver_sql(sql.replace("?", "%s") if self.pg else sql, (note, size))

        return f"note of checkpoint {size}", (f"checkpoint {size}",), undo

    def _set(self, c: Connection, seq: int, column: str, value: Any) -> None:
        sql = f"UPDATE events SET {column} = ? WHERE seq = ?"
        c.exec_driver_sql(sql.replace("?", "%s") if self.pg else sql, (value, seq))

    def _swap(self, c: Connection, a: int, b: int) -> None:
        for x, y in ((a, -1), (b, a), (-1, b)):
            sql = "UPDATE events SET seq = ? WHERE seq = ?"
            c.exec_driver_sql(sql.replace("?", "%s") if self.pg else sql, (y, x))


KINDS = (
    "event_doc",
    "event_column",
    "deleted_event",
    "swapped_events",
    "tile_bytes",
    "deleted_tile",
    "checkpoint",
)


@pytest.mark.slow
def test_every_random_mutation_is_detected_and_located(store: EventStore) -> None:
    signer = Signer.generate("ionledger.local")
    _fill(store, signer)
    verifier = signer.verifier()
    size = store.count_events()
    verify_log(store, verifier)  # the untouched store verifies
    rng = random.Random(9162)
    engine = store.engine  # type: ignore[attr-defined]
    seen: dict[str, int] = {}
    for n in range(MUTATIONS):
        kind = KINDS[n % len(KINDS)] if n < len(KINDS) else rng.choice(KINDS)
        with engine.begin() as conn:
            what, where, undo = getattr(Mutator(conn, rng, size), kind)()
        with pytest.raises(IntegrityError) as caught:
            verify_log(store, verifier)
        assert caught.value.where.startswith(where) or (caught.value.where + " ").startswith(
            where
        ), f"{what}: verify said {caught.value.message!r}"
        with engine.begin() as conn:
            undo(conn)
        seen[kind] = seen.get(kind, 0) + 1
    verify_log(store, verifier)  # every mutation was undone: the store verifies again
    print(f"{MUTATIONS} mutations detected and located: {dict(sorted(seen.items()))}")
    assert set(seen) == set(KINDS)
