"""What a source event is worth: the battery mass a recycling transformation consumed, or a
repurposing event took in, as the ledger itself records it.

Masses come from the batteries' commissioning attributes (the first value stays, so they read
the same at issue and on rebuild); a module without its own counts its share of its pack, as
the recycling mass-balance rule counts it (:mod:`ionledger.governance.rules`).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Protocol

from ionledger.domain.vocabulary import Stage
from ionledger.epr.records import EPR_RECORD_TYPE
from ionledger.governance.registry import REGISTRY_RECORD_TYPE
from ionledger.governance.rules import local_date
from ionledger.governance.state import BatteryState
from ionledger.services.capture import facts_of_stored
from ionledger.store.port import StoredEvent

# The event stage each certificate category certifies.
STAGE_OF = {"recycling": Stage.RECYCLING, "refurbishment": Stage.REPURPOSING}
NOT_EPCIS = (REGISTRY_RECORD_TYPE, EPR_RECORD_TYPE)


class EventReader(Protocol):
    def event_row(self, seq: int) -> tuple[object, ...] | None: ...

    def battery_states(self, battery_ids: list[str]) -> dict[str, BatteryState]: ...


@dataclass(frozen=True, slots=True)
class SourceEvent:
    seq: int
    reporter: str
    stage: Stage | None
    day: datetime.date  # local date of the event
    mass_grams: int


def grams(kg: float) -> int:
    """Whole grams of a mass in kg, rounded down (never certify a fraction not processed); the
    tiny allowance keeps 0.1 + 0.2 kg from losing a gram to binary fractions."""
    return max(0, math.floor(kg * 1000 + 1e-6))


def battery_mass_kg(states: dict[str, BatteryState], ids: list[str]) -> float:
    total = 0.0
    for b in ids:
        s = states.get(b)
        if s is None:
            continue
        if s.mass_kg is not None:
            total += s.mass_kg
        elif s.pack_info is not None and s.pack_info.mass_kg is not None:
            total += s.pack_info.mass_kg / max(s.pack_info.modules, 1)
    return total


def source_event(reader: EventReader, seq: int) -> SourceEvent | None:
    """The EPCIS event at ``seq`` with its processed mass, or None if there is none."""
    row = reader.event_row(seq)
    if row is None or row[2] in NOT_EPCIS:
        return None
    seq_, identity, event_type, event_time, record_time, reporter, biz_step, doc = row
    stored = StoredEvent(
        int(seq_),  # type: ignore[call-overload]
        str(identity),
        str(event_type),
        str(event_time),
        str(record_time),
        str(reporter),
        None if biz_step is None else str(biz_step),
        bytes(doc),  # type: ignore[call-overload]
    )
    facts = facts_of_stored(stored)
    mass = 0
    if facts.stage in (Stage.RECYCLING, Stage.REPURPOSING) and facts.inputs:
        states = reader.battery_states(sorted(set(facts.inputs)))
        mass = grams(battery_mass_kg(states, facts.inputs))
    return SourceEvent(
        stored.seq, facts.reporter, facts.stage, local_date(facts.event_time, facts.offset), mass
    )
