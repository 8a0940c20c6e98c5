"""Named queries and subscriptions in SQL: the part of the SQL store behind EPCIS subscriptions.

A mixin of :class:`ionledger.store.sql.SqlStore`, which supplies ``engine``, ``_rows``
(reads) and ``_write`` (statements in one transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Engine

from ionledger.store.port import NamedQuery, Subscription

_SUBSCRIPTION_COLUMNS = (
    "id",
    "query_name",
    "dest",
    "signature_token",
    "stream",
    "schedule",
    "report_if_empty",
    "initial_record_time",
    "created_at",
    "next_seq",
    "delivered_record_time",
    "last_notified_at",
    "next_run",
    "subscriber",
    "epc_format",
)
# INSERT ... SELECT: PostgreSQL needs the types of parameters it cannot infer from a column.
_SUBSCRIPTION_MARKS = tuple(
    {"stream": "CAST(? AS BOOLEAN)", "report_if_empty": "CAST(? AS BOOLEAN)",
     "next_seq": "CAST(? AS BIGINT)"}.get(c, "CAST(? AS TEXT)")
    for c in _SUBSCRIPTION_COLUMNS
)  # fmt: skip


def _subscription(row: Any) -> Subscription:
    schedule = row[5]
    return Subscription(
        id=row[0],
        query_name=row[1],
        dest=row[2],
        signature_token=row[3],
        stream=bool(row[4]),
        schedule=None if schedule is None else msgspec.json.decode(schedule),
        report_if_empty=bool(row[6]),
        initial_record_time=row[7],
        created_at=row[8],
        next_seq=int(row[9]),
        delivered_record_time=row[10],
        last_notified_at=row[11],
        next_run=row[12],
        subscriber=row[13],
        epc_format=row[14],
    )


class SubscriptionRows:
    """Rows of ``named_queries`` and ``subscriptions``."""

    engine: Engine

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        raise NotImplementedError

    def _write(self, action: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        raise NotImplementedError

    def add_named_query(self, query: NamedQuery) -> bool:
        sql = (
            "INSERT INTO named_queries (name, query, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO NOTHING"
        )
        doc = msgspec.json.encode(query.query)
        return (
            self._write("storing a named query", [(sql, (query.name, doc, query.created_at))]) == 1
        )

    def _named(self, row: Any) -> NamedQuery:
        return NamedQuery(str(row[0]), msgspec.json.decode(bytes(row[1])), str(row[2]))

    def named_query(self, name: str) -> NamedQuery | None:
        rows = self._rows(
            "SELECT name, query, created_at FROM named_queries WHERE name = ?", [name]
        )
        return self._named(rows[0]) if rows else None

    def named_queries(self, *, after: str | None, limit: int) -> list[NamedQuery]:
        rows = self._rows(
            "SELECT name, query, created_at FROM named_queries WHERE name > ?"
            " ORDER BY name LIMIT ?",
            [after or "", limit],
        )
        return [self._named(r) for r in rows]

    def delete_named_query(self, name: str) -> bool:
        # The query row goes first: a concurrent add_subscription either sees it gone, or holds
        # it (PostgreSQL: FOR SHARE) until its subscription is committed and deleted here.
        return (
            self._write(
                "deleting a named query",
                [
                    ("DELETE FROM named_queries WHERE name = ?", (name,)),
                    ("DELETE FROM subscriptions WHERE query_name = ?", (name,)),
                ],
            )
            == 1
        )

    def add_subscription(self, subscription: Subscription) -> bool:
        s = subscription
        lock = " FOR SHARE" if self.engine.dialect.name == "postgresql" else ""
        sql = (
            f"INSERT INTO subscriptions ({', '.join(_SUBSCRIPTION_COLUMNS)})"
            f" SELECT {', '.join(_SUBSCRIPTION_MARKS)}"
            f" WHERE EXISTS (SELECT 1 FROM named_queries WHERE name = ?{lock})"
        )
        schedule = None if s.schedule is None else msgspec.json.encode(s.schedule).decode()
        params = (
            s.id, s.query_name, s.dest, s.signature_token, s.stream, schedule, s.report_if_empty,
            s.initial_record_time, s.created_at, s.next_seq, s.delivered_record_time,
            s.last_notified_at, s.next_run, s.subscriber, s.epc_format, s.query_name,
        )  # fmt: skip
        return self._write("storing a subscription", [(sql, params)]) == 1

    def subscription(self, query_name: str, subscription_id: str) -> Subscription | None:
        rows = self._rows(
            f"SELECT {', '.join(_SUBSCRIPTION_COLUMNS)} FROM subscriptions"
            " WHERE id = ? AND query_name = ?",
            [subscription_id, query_name],
        )
        return _subscription(rows[0]) if rows else None

    def subscriptions(
        self, *, query_name: str | None, after: str | None, limit: int
    ) -> list[Subscription]:
        where, params = "id > ?", [after or ""]
        if query_name is not None:
            where, params = "query_name = ? AND id > ?", [query_name, after or ""]
        rows = self._rows(
            f"SELECT {', '.join(_SUBSCRIPTION_COLUMNS)} FROM subscriptions"
            f" WHERE {where} ORDER BY id LIMIT ?",
            [*params, limit],
        )
        return [_subscription(r) for r in rows]

    def delete_subscription(self, query_name: str, subscription_id: str) -> bool:
        sql = "DELETE FROM subscriptions WHERE id = ? AND query_name = ?"
        return self._write("deleting a subscription", [(sql, (subscription_id, query_name))]) == 1

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
        sql = (
            "UPDATE subscriptions SET next_seq = ?,"
            " delivered_record_time = COALESCE(?, delivered_record_time),"
            " last_notified_at = COALESCE(?, last_notified_at), next_run = ?"
            " WHERE id = ? AND next_seq = ?"
        )
        params = (to_seq, record_time, notified_at, next_run, subscription_id, from_seq)
        return self._write("advancing a subscription", [(sql, params)]) == 1

    def claim_subscription(self, subscription_id: str, owner: str, *, now: str, until: str) -> bool:
        sql = (
            "UPDATE subscriptions SET lease_owner = ?, lease_until = ? WHERE id = ?"
            " AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)"
        )
        params = (owner, until, subscription_id, owner, now)
        return self._write("leasing a subscription", [(sql, params)]) == 1

    def release_subscriptions(self, owner: str) -> None:
        sql = (
            "UPDATE subscriptions SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?"
        )
        self._write("releasing subscriptions", [(sql, (owner,))])
