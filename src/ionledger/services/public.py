"""The public tier: what anyone may know of a battery without a credential.

What the EU battery passport makes public (general information and chemistry) and what a
buyer of a used vehicle needs (is this pack where its record says, was it retired): kind,
chemistry, category, rated energy, manufacturer code, current state. Never its events,
custodians or locations.
"""

from __future__ import annotations

from typing import Any

from ionledger.domain.identity import canonical_id
from ionledger.errors import NotFound
from ionledger.store.port import EventStore


def public_view(store: EventStore, battery_id: str) -> dict[str, Any]:
    bid = canonical_id(battery_id)
    row = store.battery(bid)
    if row is None:
        raise NotFound(f"no battery {battery_id!r} on record")
    return {
        "id": row.id,
        "kind": row.kind,
        "chemistry": row.chemistry,
        "category": row.category,
        "ratedEnergyKWh": row.rated_energy_kwh,
        "manufacturerCode": row.manufacturer,
        "state": row.state,
        "tier": "public",
    }
