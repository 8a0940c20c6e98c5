"""EPR certificate tables in SQL.

:class:`EprWrites` is a mixin of the SQL writer: the look-ups an operation is checked against
run inside the writer's transaction, under the single-writer lock, so two operations on the
same holding are serialised and the second sees the first. :class:`EprRows` is a mixin of the
SQL store (reads only: the tables change only through records in the log).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ionledger.epr.projection import (
    CertificateRow,
    EprDelta,
    HoldingRow,
    OperationRow,
    SourceRow,
    SurrenderRow,
)
from ionledger.store.sql_governance import ConnectionCalls

_CERT = "SELECT id, issuer, category, year, grams, seq FROM epr_certificates"
_SOURCE = "SELECT source_seq, issuer, category, mass_grams, certified_grams FROM epr_sources"
_OPERATION = "SELECT op_id, kind, digest, seq, result FROM epr_operations WHERE op_id = ?"
_EVENT = (
    "SELECT seq, identity, event_type, event_time, record_time, reporter, biz_step, doc"
    " FROM events WHERE seq = ?"
)


def _cert(r: Any) -> CertificateRow:
    return CertificateRow(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]))


def _source(r: Any) -> SourceRow:
    return SourceRow(int(r[0]), r[1], r[2], int(r[3]), int(r[4]))


def _operation(r: Any) -> OperationRow:
    return OperationRow(r[0], r[1], r[2], int(r[3]), r[4])


class EprWrites(ConnectionCalls):
    def epr_operation(self, op_id: str) -> OperationRow | None:
        rows = self._query(_OPERATION, (op_id,))
        return _operation(rows[0]) if rows else None

    def epr_certificate(self, certificate_id: str) -> CertificateRow | None:
        rows = self._query(f"{_CERT} WHERE id = ?", (certificate_id,))
        return _cert(rows[0]) if rows else None

    def epr_source(self, seq: int) -> SourceRow | None:
        rows = self._query(f"{_SOURCE} WHERE source_seq = ?", (seq,))
        return _source(rows[0]) if rows else None

    def epr_balance(self, certificate_id: str, holder: str) -> int:
        rows = self._query(
            "SELECT grams FROM epr_holdings WHERE certificate_id = ? AND holder = ?",
            (certificate_id, holder),
        )
        return int(rows[0][0]) if rows else 0

    def epr_surrendered_by(self, certificate_id: str, producer: str) -> int:
        rows = self._query(
            "SELECT COALESCE(SUM(grams), 0) FROM epr_surrendered"
            " WHERE certificate_id = ? AND producer = ?",
            (certificate_id, producer),
        )
        return int(rows[0][0])

    def event_row(self, seq: int) -> tuple[Any, ...] | None:
        """The stored event at ``seq`` (its columns, as ``StoredEvent`` takes them)."""
        rows = self._query(_EVENT, (seq,))
        return tuple(rows[0]) if rows else None

    def apply_epr(self, delta: EprDelta) -> None:
        op = delta.operation
        self._many(
            "INSERT INTO epr_operations (op_id, kind, digest, seq, result) VALUES (?, ?, ?, ?, ?)",
            [(op.op_id, op.kind, op.digest, op.seq, op.result)],
        )
        c = delta.certificate
        if c is not None:
            self._many(
                "INSERT INTO epr_certificates (id, issuer, category, year, grams, seq)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(c.id, c.issuer, c.category, c.year, c.grams, c.seq)],
            )
        self._many(
            "INSERT INTO epr_certificate_sources (certificate_id, source_seq, grams)"
            " VALUES (?, ?, ?)",
            delta.allocation,
        )
        self._many(
            "INSERT INTO epr_sources (source_seq, issuer, category, mass_grams, certified_grams)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_seq) DO UPDATE"
            " SET certified_grams = epr_sources.certified_grams + excluded.certified_grams",
            delta.sources,
        )
        # Debits update the row in place (a CHECK guards it from going below zero); credits add.
        debits = [(-g, cert, holder) for cert, holder, g in delta.holdings if g < 0]
        self._many(
            "UPDATE epr_holdings SET grams = grams - ? WHERE certificate_id = ? AND holder = ?",
            debits,
        )
        self._many(
            "DELETE FROM epr_holdings WHERE grams = 0 AND certificate_id = ? AND holder = ?",
            [(cert, holder) for _g, cert, holder in debits],
        )
        self._many(
            "INSERT INTO epr_holdings (certificate_id, holder, grams) VALUES (?, ?, ?)"
            " ON CONFLICT (certificate_id, holder) DO UPDATE"
            " SET grams = epr_holdings.grams + excluded.grams",
            [h for h in delta.holdings if h[2] > 0],
        )
        self._many(
            "INSERT INTO epr_surrendered (certificate_id, producer, year, grams)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (certificate_id, producer, year) DO UPDATE"
            " SET grams = epr_surrendered.grams + excluded.grams",
            [(cert, producer, year, grams) for cert, producer, year, _c, grams in delta.surrenders],
        )
        self._many(
            "INSERT INTO epr_surrenders (producer, year, category, grams, kg)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (producer, year, category) DO UPDATE"
            " SET grams = epr_surrenders.grams + excluded.grams,"
            " kg = (epr_surrenders.grams + excluded.grams) / 1000.0",
            [(p, y, cat, g, g / 1000.0) for _cert, p, y, cat, g in delta.surrenders],
        )


def _in(column: str, values: Sequence[object] | None, params: list[Any]) -> str:
    if values is None:
        return ""
    params.extend(values)
    return f" AND {column} IN ({', '.join('?' * len(values))})" if values else " AND 1 = 0"


class EprRows:
    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        raise NotImplementedError

    def epr_certificates(self, ids: Sequence[str] | None = None) -> list[CertificateRow]:
        params: list[Any] = []
        where = _in("id", ids, params)
        return [_cert(r) for r in self._rows(f"{_CERT} WHERE 1 = 1{where} ORDER BY id", params)]

    def epr_allocations(self, ids: Sequence[str] | None = None) -> list[tuple[str, int, int]]:
        params: list[Any] = []
        where = _in("certificate_id", ids, params)
        rows = self._rows(
            "SELECT certificate_id, source_seq, grams FROM epr_certificate_sources"
            f" WHERE 1 = 1{where} ORDER BY certificate_id, source_seq",
            params,
        )
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    def epr_holdings(self, holder: str | None = None) -> list[HoldingRow]:
        params: list[Any] = []
        where = _in("holder", None if holder is None else [holder], params)
        rows = self._rows(
            "SELECT certificate_id, holder, grams FROM epr_holdings"
            f" WHERE 1 = 1{where} ORDER BY certificate_id, holder",
            params,
        )
        return [HoldingRow(r[0], r[1], int(r[2])) for r in rows]

    def epr_surrendered(self, producer: str | None = None) -> list[SurrenderRow]:
        params: list[Any] = []
        where = _in("producer", None if producer is None else [producer], params)
        rows = self._rows(
            "SELECT certificate_id, producer, year, grams FROM epr_surrendered"
            f" WHERE 1 = 1{where} ORDER BY certificate_id, producer, year",
            params,
        )
        return [SurrenderRow(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    def epr_sources(self) -> list[SourceRow]:
        return [_source(r) for r in self._rows(f"{_SOURCE} ORDER BY source_seq", [])]

    def epr_surrender_totals(self) -> list[tuple[str, int, str, float]]:
        """The ``epr_surrenders`` table of the analytics contract: producer, year, category, kg."""
        rows = self._rows(
            "SELECT producer, year, category, kg FROM epr_surrenders"
            " ORDER BY producer, year, category",
            [],
        )
        return [(r[0], int(r[1]), r[2], float(r[3])) for r in rows]
