"""What the rules know about a battery when an event about it arrives.

Loaded from the store once per batch (a few indexed look-ups for the batch's batteries, so the
cost does not grow with the store) and then carried forward event by event in memory, so that
an event sees the effects of the events before it in the same batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ionledger.domain.battery import BatteryAttributes
from ionledger.domain.vocabulary import STAGE_BY_NAME, Stage, State
from ionledger.services.projector import CUSTODY_STAGES, EventFacts

GBT_KINDS = frozenset({"pack", "module", "cell"})

# Plain strings, looked up once: an enum member's .value is a descriptor call, and this runs
# for every battery of every captured event.
_RETIRED: str = State.RETIRED.value
_STATE_AFTER: dict[Stage, str] = {
    spec.stage: spec.state_after.value for spec in STAGE_BY_NAME.values() if spec.state_after
}


@dataclass(slots=True)
class Transfer:
    ship_seq: int
    shipper: str
    destination: str | None
    receiver: str | None  # the registered enterprise the destination names


@dataclass(slots=True)
class PackInfo:
    """A module's pack: what recycling rules need to count the module's share of it."""

    chemistry: str | None
    rated_energy_kwh: float | None
    mass_kg: float | None
    modules: int


@dataclass(slots=True)
class BatteryState:
    id: str
    known: bool = False
    kind: str | None = None
    chemistry: str | None = None
    rated_energy_kwh: float | None = None
    mass_kg: float | None = None
    state: str | None = None
    custodian: str | None = None
    commissioned: bool = False
    ended: bool = False
    vehicle: str | None = None  # the vehicle it is installed in now
    pack: str | None = None  # the pack it is part of now (modules)
    last_pack: str | None = None  # the pack it was last part of, even if taken out
    left_vehicle: bool = False  # taken out of a vehicle at some point: retired
    transfers: list[Transfer] = field(default_factory=list)  # open shipments
    pack_info: PackInfo | None = None  # of last_pack, for modules without attributes

    @property
    def retired(self) -> bool:
        return self.left_vehicle or self.state == _RETIRED

    def advance(
        self,
        f: EventFacts,
        seq: int,
        receiver: str | None,
        attrs: BatteryAttributes | None = None,
    ) -> None:
        """Carry the effects of an accepted event forward (as the projections will record);
        ``receiver`` is the registered enterprise a shipment names; ``attrs`` the event's ILMD
        attributes, read once for all the batteries it commissions. A receipt's matching
        shipment is closed by the caller, which found it."""
        self.known = True
        stage = f.stage
        if stage is None:
            return
        after = _STATE_AFTER.get(stage)
        if after is not None:
            self.state = after
        if stage in CUSTODY_STAGES:
            self.custodian = f.reporter
        if stage is Stage.COMMISSIONING:
            self.commissioned = True
            if f.ilmd:
                self._attributes(attrs or BatteryAttributes.from_ilmd(f.ilmd))
        elif stage in (Stage.RECYCLING, Stage.DESTRUCTION):
            self.ended = True
        elif stage is Stage.SHIPPING:
            dest = f.destinations[0] if f.destinations else None
            self.transfers.append(Transfer(seq, f.reporter, dest, receiver))
        if f.event_type == "AssociationEvent" and f.parent is not None:
            if f.action == "ADD":
                self.vehicle = f.parent
            elif f.action == "DELETE":
                self.vehicle, self.left_vehicle = None, True
        elif f.event_type == "AggregationEvent" and f.parent is not None and f.parent != self.id:
            if f.action == "ADD":
                self.pack = self.last_pack = f.parent
            elif f.action == "DELETE":
                self.pack = None

    def _attributes(self, attrs: BatteryAttributes) -> None:
        """ILMD attributes, first value kept (as the battery projection keeps them)."""
        if self.chemistry is None and attrs.chemistry is not None:
            self.chemistry = attrs.chemistry.value
        if self.rated_energy_kwh is None:
            self.rated_energy_kwh = attrs.rated_energy_kwh
        if self.mass_kg is None:
            self.mass_kg = attrs.mass_kg
