"""Finding alerts, as a principal may see them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from ionledger.epcis.times import utc_key
from ionledger.errors import ValidationError
from ionledger.governance.access import Principal
from ionledger.governance.catalogue import BY_ID
from ionledger.store.port import AlertFilter, AlertRow, EventStore


def _time(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return utc_key(value if "T" in value else value + "T00:00:00+00:00")
    except ValueError:
        raise ValidationError(f"{name}: {value!r} is not a date or an ISO 8601 time") from None


def find_alerts(
    store: EventStore,
    principal: Principal,
    *,
    rules: Sequence[str] = (),
    reporter: str | None = None,
    subject: str | None = None,
    province: str | None = None,
    since: str | None = None,
    until: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[AlertRow]:
    principal.require_events()
    unknown = [r for r in rules if r not in BY_ID]
    if unknown:
        raise ValidationError(f"unknown rule IDs {unknown}; see `ionledger rules`")
    query = AlertFilter(
        rules=tuple(rules),
        visible_to=principal.parties(),
        reporter=reporter,
        subject=subject,
        province=province,
        since=_time("since", since),
        until=_time("until", until),
        after_seq=after,
    )
    return store.alerts(query, limit)


def alert_view(a: AlertRow) -> dict[str, Any]:
    rule = BY_ID.get(a.rule)
    return {
        "seq": a.seq,
        "rule": a.rule,
        "title": rule.title if rule else None,
        "subject": a.subject,
        "reporter": a.reporter,
        "province": a.province,
        "eventTime": a.event_time,
        "message": a.message,
        "details": msgspec.json.decode(a.details),
    }
