"""A store as one principal may read it: every read path (queries, subscriptions, trace,
exports) goes through this view, so access control holds whichever edge asks.

The view narrows event selections to the principal's parties (``EventSelection.visible_to``)
and refuses single batteries and events the principal may not see; everything else is the
store's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from ionledger.errors import Forbidden
from ionledger.governance.access import Principal
from ionledger.store.port import EventSelection, EventStore, IdMatch, StoredEvent


class ScopedStore:
    """Reads of ``store`` as ``principal`` may make them (attribute access falls through)."""

    def __init__(self, store: EventStore, principal: Principal) -> None:
        self._store = store
        self.principal = principal
        self._parties = principal.parties()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _narrow(self, selection: EventSelection) -> EventSelection:
        if self._parties is None:
            return selection
        return replace(selection, visible_to=self._parties)

    def select_events(self, selection: EventSelection, limit: int) -> list[StoredEvent]:
        return self._store.select_events(self._narrow(selection), limit)

    def count_selected(self, selection: EventSelection, limit: int) -> int:
        return self._store.count_selected(self._narrow(selection), limit)

    def select_events_between(
        self, selection: EventSelection, start: int, stop: int, limit: int
    ) -> list[StoredEvent]:
        return self._store.select_events_between(self._narrow(selection), start, stop, limit)

    def iter_events(self, *, batch: int = 10_000) -> Iterator[list[StoredEvent]]:
        """Every visible event in seq order (the value lists scan these)."""
        if self._parties is None:
            yield from self._store.iter_events(batch=batch)
            return
        everything, start = self._narrow(EventSelection()), 0
        while rows := self._store.select_events_between(everything, start, 2**62, batch):
            yield rows
            start = rows[-1].seq + 1

    def event(self, identity: str) -> StoredEvent | None:
        if self._parties is None:
            return self._store.event(identity)
        found = self.select_events(EventSelection(identities=IdMatch(exact=(identity,))), 1)
        return found[0] if found else None

    def visible(self, battery_ids: Iterable[str]) -> set[str]:
        ids = list(battery_ids)
        if self._parties is None:
            return set(ids)
        return self._store.visible_batteries(ids, self._parties)

    def check_battery(self, battery_id: str) -> None:
        """Raise Forbidden unless the principal may read this battery's history."""
        self.principal.require_events()
        if battery_id not in self.visible([battery_id]):
            raise Forbidden(
                f"{self.principal.label} may not read battery {battery_id}: it has not held it"
                + (" and it was never in its province" if self.principal.province else ""),
                rule="access.read-history",
            )

    def events_for(self, battery_ids: Iterable[str]) -> list[StoredEvent]:
        ids = list(battery_ids)
        if self._parties is not None:
            ids = sorted(self.visible(ids))
        return self._store.events_for(ids) if ids else []

    def distinct_values(self, column: str, *, after: str | None, limit: int) -> list[str]:
        if column != "battery_id" or self._parties is None:
            return self._store.distinct_values(column, after=after, limit=limit)
        out: list[str] = []
        while len(out) < limit:
            chunk = self._store.distinct_values(column, after=after, limit=500)
            if not chunk:
                break
            seen = self.visible(chunk)
            out.extend(v for v in chunk if v in seen)
            after = chunk[-1]
        return out[:limit]
