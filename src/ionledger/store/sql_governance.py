"""Governance tables in SQL: the registry, transfers, battery parties, alerts, tonnage,
credentials and signed captures.

:class:`GovernanceWrites` is a mixin of the SQL writer (``_query`` and ``_many`` run inside its
transaction); :class:`GovernanceRows` a mixin of the SQL store (``_rows`` reads, ``_write``
writes in a transaction of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ionledger.governance.state import BatteryState, PackInfo, Transfer
from ionledger.store.port import AlertFilter, AlertRow, Credential, GovernanceDelta

_CHUNK = 500  # ids per IN (...) list: well under SQLite's parameter limit


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


class ConnectionCalls:
    """Statements on one open DBAPI connection (``_conn``), written in qmark style and turned
    into the driver's (``_sql``): what writers and the analytics refresh run their SQL with."""

    _conn: Any
    _sql: Callable[[str], str]

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        cur = self._conn.cursor()
        cur.execute(self._sql(sql), tuple(params))
        return list(cur.fetchall())

    def _many(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if rows:
            self._conn.cursor().executemany(self._sql(sql), rows)


class GovernanceWrites(ConnectionCalls):
    def registry_version(self) -> int:
        rows = self._query("SELECT COALESCE(MAX(seq), -1) FROM registry_entries", ())
        return int(rows[0][0])

    def registry_rows(self) -> list[tuple[str, str, bytes]]:
        rows = self._query("SELECT kind, key, doc FROM registry_entries ORDER BY kind, key", ())
        return [(r[0], r[1], bytes(r[2])) for r in rows]

    def recycler_tonnage(self, enterprise: str, year: int) -> float:
        rows = self._query(
            "SELECT kg FROM recycler_tonnage WHERE enterprise = ? AND year = ?", (enterprise, year)
        )
        return float(rows[0][0]) if rows else 0.0

    def battery_states(self, battery_ids: Sequence[str]) -> dict[str, BatteryState]:
        states: dict[str, BatteryState] = {}
        for chunk in _chunks(battery_ids):
            self._load_states(chunk, states)
        packs = sorted({s.last_pack for s in states.values() if s.last_pack})
        infos: dict[str, PackInfo] = {}
        for chunk in _chunks(packs):
            infos.update(self._pack_infos(chunk))
        for s in states.values():
            if s.last_pack is not None:
                s.pack_info = infos.get(s.last_pack)
        return states

    def _load_states(self, ids: Sequence[str], states: dict[str, BatteryState]) -> None:
        marks = _marks(ids)
        for r in self._query(
            "SELECT id, kind, chemistry, rated_energy_kwh, mass_kg, state, custodian,"
            f" commissioned_seq, ended_time FROM batteries WHERE id IN ({marks})",
            ids,
        ):
            states[r[0]] = BatteryState(
                r[0], True, r[1], r[2], r[3], r[4], r[5], r[6], r[7] is not None, r[8] is not None
            )
        # Edges in the order they were added: the latest installed/component edge is the one
        # that counts.
        for child, parent, relation, removed in self._query(
            "SELECT child, parent, relation, removed_seq FROM genealogy"
            f" WHERE child IN ({marks}) AND relation IN ('installed', 'component')"
            " ORDER BY added_seq",
            ids,
        ):
            s = states.setdefault(child, BatteryState(child))
            # Open edges set where it is now; a closed one clears it if it was the current one.
            if relation == "installed":
                if removed is None:
                    s.vehicle = parent
                else:
                    s.left_vehicle = True
                    s.vehicle = None if s.vehicle == parent else s.vehicle
            else:
                s.last_pack = parent
                if removed is None:
                    s.pack = parent
                elif s.pack == parent:
                    s.pack = None
        for battery, ship_seq, shipper, destination, receiver in self._query(
            "SELECT battery_id, ship_seq, shipper, destination, receiver FROM transfers"
            f" WHERE battery_id IN ({marks}) AND received_seq IS NULL ORDER BY ship_seq",
            ids,
        ):
            s = states.setdefault(battery, BatteryState(battery))
            s.transfers.append(Transfer(int(ship_seq), shipper, destination, receiver))

    def _pack_infos(self, packs: Sequence[str]) -> dict[str, PackInfo]:
        if not packs:
            return {}
        marks = _marks(packs)
        counts = dict(
            self._query(
                "SELECT parent, COUNT(DISTINCT child) FROM genealogy"
                f" WHERE parent IN ({marks}) AND relation = 'component' GROUP BY parent",
                packs,
            )
        )
        return {
            r[0]: PackInfo(r[1], r[2], r[3], int(counts.get(r[0], 1)))
            for r in self._query(
                "SELECT id, chemistry, rated_energy_kwh, mass_kg FROM batteries"
                f" WHERE id IN ({marks})",
                packs,
            )
        }

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
        first, last = seqs if seqs else (None, None)
        self._many(
            "INSERT INTO signed_captures (id, enterprise, public_key, signature, body,"
            " first_seq, last_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(capture_id, enterprise, public_key, signature, body, first, last, created_at)],
        )

    def apply_governance(self, delta: GovernanceDelta) -> None:
        self._many(
            "INSERT INTO registry_entries (kind, key, doc, seq) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc, seq = excluded.seq",
            delta.registry,
        )
        self._many(
            "INSERT INTO transfers (battery_id, ship_seq, shipper, destination, receiver,"
            " event_time) VALUES (?, ?, ?, ?, ?, ?)",
            delta.shipped,
        )
        self._many(
            "UPDATE transfers SET received_seq = ? WHERE battery_id = ? AND ship_seq = ?",
            delta.received,
        )
        self._many(
            "INSERT INTO battery_parties (party, battery_id) VALUES (?, ?)"
            " ON CONFLICT (party, battery_id) DO NOTHING",
            sorted(delta.parties),
        )
        self._many(
            "INSERT INTO alerts (seq, rule, subject, reporter, province, event_time, message,"
            " details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (a.seq, a.rule, a.subject, a.reporter, a.province, a.event_time, a.message,
                 a.details)
                for a in delta.alerts
            ],
        )  # fmt: skip
        self._many(
            "INSERT INTO recycler_tonnage (enterprise, year, kg) VALUES (?, ?, ?)"
            " ON CONFLICT (enterprise, year) DO UPDATE SET kg = recycler_tonnage.kg + excluded.kg",
            [(e, y, kg) for (e, y), kg in sorted(delta.tonnage.items())],
        )


_CREDENTIAL_COLUMNS = (
    "id, enterprise, scopes, secret_hash, label, created_at, expires_at, revoked_at"
)


def _credential(r: Any) -> Credential:
    return Credential(r[0], r[1], tuple(r[2].split()), r[3], r[4], r[5], r[6], r[7])


def _alert(r: Any) -> AlertRow:
    return AlertRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], bytes(r[7]))


class GovernanceRows:
    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        raise NotImplementedError

    def _write(self, action: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        raise NotImplementedError

    def registry_seq(self) -> int:
        return int(self._rows("SELECT COALESCE(MAX(seq), -1) FROM registry_entries", [])[0][0])

    def registry_entries(self, kind: str | None = None) -> list[tuple[str, str, bytes, int]]:
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        rows = self._rows(
            f"SELECT kind, key, doc, seq FROM registry_entries {where} ORDER BY kind, key", params
        )
        return [(r[0], r[1], bytes(r[2]), int(r[3])) for r in rows]

    def visible_batteries(self, battery_ids: Sequence[str], parties: Sequence[str]) -> set[str]:
        ids, who = list(battery_ids), list(parties)
        if not ids or not who:
            return set()
        rows = self._rows(
            f"SELECT DISTINCT battery_id FROM battery_parties WHERE party IN ({_marks(who)})"
            f" AND battery_id IN ({_marks(ids)})",
            who + ids,
        )
        return {r[0] for r in rows}

    def alerts(self, query: AlertFilter, limit: int) -> list[AlertRow]:
        where: list[str] = []
        params: list[Any] = []
        if query.visible_to is not None:
            # An alert is visible with its subject battery, or to the enterprise it is about.
            marks = _marks(query.visible_to) if query.visible_to else "NULL"
            where.append(
                f"(reporter IN ({marks}) OR subject IN (SELECT battery_id FROM battery_parties"
                f" WHERE party IN ({marks})))"
            )
            params.extend([*query.visible_to, *query.visible_to])
        if query.rules:
            where.append(f"rule IN ({_marks(query.rules)})")
            params.extend(query.rules)
        for column, value, op in (
            ("reporter", query.reporter, "="),
            ("subject", query.subject, "="),
            ("province", query.province, "="),
            ("event_time", query.since, ">="),
            ("event_time", query.until, "<"),
            ("seq", query.after_seq, ">"),
        ):
            if value is not None:
                where.append(f"{column} {op} ?")
                params.append(value)
        sql = (
            "SELECT seq, rule, subject, reporter, province, event_time, message, details"
            " FROM alerts"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq, rule, subject LIMIT ?"
        return [_alert(r) for r in self._rows(sql, [*params, limit])]

    def add_credential(self, credential: Credential) -> None:
        c = credential
        self._write(
            "storing a credential",
            [
                (
                    f"INSERT INTO credentials ({_CREDENTIAL_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        c.id,
                        c.enterprise,
                        " ".join(c.scopes),
                        c.secret_hash,
                        c.label,
                        c.created_at,
                        c.expires_at,
                        c.revoked_at,
                    ),
                )
            ],
        )

    def credential(self, credential_id: str) -> Credential | None:
        rows = self._rows(
            f"SELECT {_CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?", [credential_id]
        )
        return _credential(rows[0]) if rows else None

    def credentials(self, enterprise: str | None = None) -> list[Credential]:
        where, params = ("WHERE enterprise = ?", [enterprise]) if enterprise else ("", [])
        rows = self._rows(
            f"SELECT {_CREDENTIAL_COLUMNS} FROM credentials {where} ORDER BY created_at, id",
            params,
        )
        return [_credential(r) for r in rows]

    def revoke_credential(self, credential_id: str, at: str) -> bool:
        sql = "UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
        return self._write("revoking a credential", [(sql, (at, credential_id))]) == 1

    def signed_capture(self, capture_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT id, enterprise, public_key, signature, body, first_seq, last_seq, created_at"
            " FROM signed_captures WHERE id = ?",
            [capture_id],
        )
        if not rows:
            return None
        r = rows[0]
        keys = ("id", "enterprise", "publicKey", "signature", "body", "firstSeq", "lastSeq")
        out = dict(zip(keys, r[:7], strict=True))
        out["body"] = bytes(r[4])
        out["createdAt"] = r[7]
        return out
