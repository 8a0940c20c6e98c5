"""Recompute every projection from the stored events (one transaction: all or nothing)."""

from __future__ import annotations

from ionledger.services.capture import facts_of_stored
from ionledger.services.projector import Projector
from ionledger.store.port import EventStore


def rebuild(store: EventStore, *, batch: int = 10_000) -> int:
    """Empty the projections and replay every event in seq order; returns the events replayed."""
    count = 0
    with store.writer() as writer:
        writer.reset_projections()
        for events in store.iter_events(batch=batch):
            projector = Projector()
            for event in events:
                projector.add(event.seq, facts_of_stored(event))
            writer.apply(projector.delta)
            count += len(events)
        writer.commit()
    return count
