"""One pack's planned life (a :class:`lifecycle.Row`) as its EPCIS events, in time order.

Events later than the end date are not written. Each pack's events go out sorted by time; a
replacement pack's follow those of the pack it replaced.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

import msgspec

from ionledger.domain.battery import Category
from ionledger.domain.vocabulary import (
    GBT_URN_PREFIX,
    ILMD_CAPACITY_AH,
    ILMD_CATEGORY,
    ILMD_CHEMISTRY,
    ILMD_MASS_KG,
    ILMD_ORIGINAL_CODE,
    ILMD_RATED_ENERGY_KWH,
    VIN_URN_PREFIX,
    Stage,
)
from ionledger.sim import params as p
from ionledger.sim.anomalies import LATE_COLLECTION, LATE_INSTALLATION
from ionledger.sim.epcis_writer import EVENT_SEPARATOR, EventBuilder, battery_test, encode_into
from ionledger.sim.fleet import PROVINCE_CODES, Population
from ionledger.sim.identifiers import (
    DAY,
    VIN_PLANTS,
    VIN_SERIALS,
    Clock,
    CodeFactory,
    EventIds,
    date_of,
    make_vin,
)
from ionledger.sim.lifecycle import FATES, FORMAL, INFORMAL_CHANNEL, Row
from ionledger.sim.recorder import Recorder
from ionledger.sim.truth import Tally, TruthAnomaly, TruthPack, encode_entries

_ALNUM = string.digits + string.ascii_uppercase
_URN_LEN = len(GBT_URN_PREFIX)
_CHEM = [str(c) for c in p.CHEMISTRIES]
# Share of pack mass in its modules: 1 - pack hardware / pack mass, EverBatt 2023 (params).
_MODULE_SHARE = [
    1 - hw / (kg * 100) for hw, kg in zip(p.PACK_HW_KG_PER_100KWH, p.PACK_KG_PER_KWH, strict=True)
]
# Recovered kg per kWh of pack: composition x hydrometallurgical recovery (params); the
# materials a chemistry lacks are left out.
_RECOVERED = [
    [(m, kg * r) for m, kg, r in zip(p.MATERIALS, row, p.RECOVERY, strict=True) if kg > 0]
    for row in p.MATERIAL_KG_PER_KWH
]
# VINs of the vehicles that recycled packs are fitted to (an anomaly) use the last plant
# character, which genuine VINs (numbered by pack) never reach below 32 million packs.
REINSTALL_VINS = (VIN_PLANTS - 1) * VIN_SERIALS
MAX_PACKS = REINSTALL_VINS


@dataclass(slots=True)
class Rendered:
    """A chunk as written: its events and its truth.json entries.

    The events are one buffer (each event's JSON followed by ``,\\n``) and the offset where each
    event ends: cheap to pass between processes, and to cut where a document fills up.
    """

    events: bytearray
    ends: list[int]
    truth: bytes
    tally: Tally


@dataclass(slots=True)
class _Made:
    """A pack's identifiers and attributes, as its production events state them."""

    pack: str  # URN
    modules: list[str]
    pack_ah: float
    ilmd: dict[str, Any]


class Timeline:
    """Renders chunks of planned rows, one chunk at a time."""

    def __init__(self, pop: Population, end_t: int) -> None:
        self._pop = pop
        self._end = end_t
        self._enc = msgspec.json.Encoder()
        self._rec = Recorder(Clock(), end_t, EventBuilder())
        ents = pop.enterprises
        self._mfr = [e.manufacturer_codes[0] if e.manufacturer_codes else "" for e in ents]
        self._wmi = [e.wmi[0] if e.wmi else "" for e in ents]
        self._codes = CodeFactory(0)  # replaced for each chunk

    def render(self, rows: list[Row], *, batch: int, ids: EventIds) -> Rendered:
        """The events and truth entries of a chunk's rows (each spare after its pack)."""
        self._codes = CodeFactory(batch)
        buf, ends = bytearray(), []
        entries: list[tuple[str, TruthPack]] = []
        vin = ""
        for r in rows:
            self._rec.start(ids, r.lag)
            # A spare goes into the vehicle of the pack before it.
            code, vin, entry = self._pack(r, vin if r.spare else None)
            if r.spare:
                original = entries[-1][1]
                original.replaced_by, entry.replaces = code, entries[-1][0]
            entries.append((code, entry))
            for ev in self._rec.sorted_events():
                encode_into(ev, buf)
                ends.append(len(buf))
                buf += EVENT_SEPARATOR
        tally = Tally()
        for _, entry in entries:
            tally.count(entry)
        return Rendered(buf, ends, encode_entries(self._enc, entries), tally)

    def _vin(self, vmaker: int, model: int, t: int, number: int) -> str:
        vds = self._pop.models[vmaker][model]
        return VIN_URN_PREFIX + make_vin(self._wmi[vmaker], vds, date_of(t // DAY).year, number)

    def _make(self, r: Row) -> _Made:
        """Cells by module, modules, the pack; each level then aggregated."""
        rec, plant, chem = self._rec, self._pop.sites[r.bplant], _CHEM[r.chem]
        mfr, lfp, line = self._mfr[r.bmaker], r.chem == p.LFP, plant.line
        spec = _ALNUM[r.chem] + _ALNUM[r.kwh_opt]  # filed spec code: chemistry and size class
        n_mod, n_cell = r.n_mod, r.n_cell
        cells = self._codes.block(mfr, "C", lfp, spec, line, r.t_cell // DAY, n_mod * n_cell)
        modules = self._codes.block(mfr, "M", lfp, spec, line, r.t_mod // DAY, n_mod)
        pack = self._codes.block(mfr, "P", lfp, spec, line, r.t_pack // DAY, 1)[0]
        volts = p.PACK_VOLTAGE[r.chem]
        pack_ah = round(r.kwh * 1000 / volts, 1)
        # Each listed cell stands for a block of real cells at ~1/100 of the pack voltage.
        cell_kwh = r.kwh / (n_mod * n_cell)
        cell_kg = cell_kwh * p.CELL_KG_PER_KWH[r.chem]
        module_kg = r.mass * _MODULE_SHARE[r.chem] / n_mod
        mod_ilmd = _ilmd(chem, Category.EV, r.kwh / n_mod, pack_ah, module_kg)
        pack_ilmd = _ilmd(chem, Category.EV, r.kwh, pack_ah, r.mass)

        # Production has no reporting duty: its events are built here directly (the hot path).
        cell_ilmd = _ilmd(chem, Category.EV, cell_kwh, cell_kwh * 1e5 / volts, cell_kg)
        groups = [cells[m * n_cell : (m + 1) * n_cell] for m in range(n_mod)]
        comm, agg = Stage.COMMISSIONING, Stage.AGGREGATION
        ids, clock, keep = rec.ids, rec.clock, rec.keep
        object_event, parent_child_event = rec.build.object_event, rec.build.parent_child_event
        for m, group in enumerate(groups):
            t = r.t_cell + 300 * m
            keep(t, object_event(comm, ids(), clock(t), group, plant, ilmd=cell_ilmd))
        keep(r.t_mod, object_event(comm, ids(), clock(r.t_mod), modules, plant, ilmd=mod_ilmd))
        for m, group in enumerate(groups):
            t = r.t_mod + 60 * (m + 1)
            keep(t, parent_child_event(agg, ids(), clock(t), modules[m], group, plant))
        t = r.t_pack
        keep(t, object_event(comm, ids(), clock(t), [pack], plant, ilmd=pack_ilmd))
        keep(t + 120, parent_child_event(agg, ids(), clock(t + 120), pack, modules, plant))
        return _Made(pack, modules, pack_ah, pack_ilmd)

    def _pack(self, r: Row, vin: str | None) -> tuple[str, str, TruthPack]:
        rec, sites, end = self._rec, self._pop.sites, self._end
        ents = self._pop.enterprises
        made = self._make(r)
        anomalies: list[TruthAnomaly] = []

        # Into a vehicle: a new one, or for a spare the vehicle of the pack it replaces.
        plant, dest, epcs = sites[r.bplant], sites[r.dest], [made.pack]
        rec.event(r.ship_t, Stage.SHIPPING, epcs, plant, move=(plant, dest))
        rec.event(r.recv_t, Stage.RECEIVING, epcs, dest, move=(plant, dest))
        if vin is None:
            vin = self._vin(r.vmaker, r.model, r.install_t, r.pack_no)
        late_t = r.late_t if r.late == LATE_INSTALLATION else -1
        duty = "repairer" if r.spare else "vehicle_maker"
        eid = rec.event(
            r.install_t, Stage.INSTALLATION, epcs, dest, duty, parent=vin, declared_t=late_t
        )
        if late_t >= 0:
            anomalies.append(TruthAnomaly("late_report", eid))
        if r.sale_t >= 0:
            rec.event(r.sale_t, Stage.SALE, epcs, sites[r.dealer])
        if r.repair_t >= 0:
            rec.event(r.repair_t, Stage.REPAIR, epcs, sites[r.repair_site], "repairer")

        # Out of the vehicle, and where it goes from there.
        remover = sites[r.remover]
        duty = "repairer" if r.replaced else "dismantler"
        informal = r.channel == INFORMAL_CHANNEL
        if r.retired and not (informal and p.INFORMAL_KINDS[r.informal_kind] == "silent"):
            stage = Stage.REPLACEMENT if r.replaced else Stage.RETIREMENT
            rec.event(r.removal_t, stage, epcs, remover, duty, parent=vin)
        if informal and p.INFORMAL_KINDS[r.informal_kind] == "diverted" and r.divert_t <= end:
            shop = sites[r.workshop]
            rec.event(r.divert_t, Stage.SHIPPING, epcs, remover, duty, move=(remover, shop))
        second_code = self._formal(r, made, anomalies) if r.channel == FORMAL else None
        self._plant_anomalies(r, made, anomalies)

        entry = TruthPack(
            chemistry=_CHEM[r.chem],
            kwh=r.kwh,
            mass_kg=r.mass,
            produced=date_of(r.t_pack // DAY).isoformat(),
            province=PROVINCE_CODES[r.province],
            producer=ents[r.vmaker].id,
            battery_maker=ents[r.bmaker].id,
            vin=vin[len(VIN_URN_PREFIX) :],
            retired=date_of(r.removal_t // DAY).isoformat() if r.retired else None,
            fate=FATES[r.fate],
            channel=("formal", "informal")[r.channel - 1] if r.channel else None,
            anomalies=anomalies,
            informal=p.INFORMAL_KINDS[r.informal_kind] if informal else None,
            handler=ents[sites[r.firm].owner].id if r.channel == FORMAL else None,
            second_life_code=second_code,
        )
        return made.pack[_URN_LEN:], vin, entry

    def _formal(self, r: Row, made: _Made, anomalies: list[TruthAnomaly]) -> str | None:
        """Collection, transfer to a white-listed firm, test, then second life or recycling.

        Returns the second-life product's code, if it was made before the end."""
        rec, sites, end = self._rec, self._pop.sites, self._end
        outlet, firm, epcs = sites[r.outlet], sites[r.firm], [made.pack]
        duty = "cascade" if r.second_life else "recycler"
        if r.collect_t > end:
            return None
        late_t = r.late_t if r.late == LATE_COLLECTION else -1
        eid = rec.event(r.collect_t, Stage.COLLECTION, epcs, outlet, "outlet", declared_t=late_t)
        if late_t >= 0:
            anomalies.append(TruthAnomaly("late_report", eid))
        if r.ship2_t > end:
            return None
        rec.event(r.ship2_t, Stage.SHIPPING, epcs, outlet, "outlet", move=(outlet, firm))
        if r.recv2_t > end:
            return None
        rec.event(r.recv2_t, Stage.RECEIVING, epcs, firm, duty, move=(outlet, firm))
        if r.test_t > end:
            return None
        remaining_ah = round(made.pack_ah * r.soh / 100, 1)
        sensors = battery_test(rec.clock(r.test_t), r.soh, remaining_ah, r.ohm)
        eid = rec.event(r.test_t, Stage.TESTING, epcs, firm, duty, sensors=sensors)
        if r.soh_bad:
            anomalies.append(TruthAnomaly("soh_out_of_band", eid))
        if r.second_life:
            return self._repurpose(r, made)
        if r.dismantle_t > end:
            return None
        rec.event(r.dismantle_t, Stage.DISMANTLING, made.modules, firm, duty, parent=made.pack)
        if r.recycle_t <= end:
            kg = {m: round(r.kwh * per_kwh, 3) for m, per_kwh in _RECOVERED[r.chem]}
            rec.transform(r.recycle_t, Stage.RECYCLING, made.modules, firm, duty, materials=kg)
        return None

    def _repurpose(self, r: Row, made: _Made) -> str | None:
        t = r.repurpose_t
        if t > self._end:
            return None
        firm = self._pop.sites[r.firm]
        spec = _ALNUM[r.chem] + _ALNUM[r.kwh_opt]
        mfr, lfp = self._mfr[firm.owner], r.chem == p.LFP
        new = self._codes.block(mfr, "P", lfp, spec, firm.line, t // DAY, 1)[0]
        left = r.soh / 100
        ilmd = _ilmd(_CHEM[r.chem], Category.STATIONARY, r.kwh * left, made.pack_ah * left, r.mass)
        ilmd[ILMD_ORIGINAL_CODE] = made.pack  # its URI, as docs/vocabulary.md defines it
        self._rec.transform(
            t, Stage.REPURPOSING, [made.pack], firm, "cascade", outputs=[new], ilmd=ilmd
        )
        return new[_URN_LEN:]

    def _plant_anomalies(self, r: Row, made: _Made, anomalies: list[TruthAnomaly]) -> None:
        """The planted events (the late report and the bad SOH are planted where they occur)."""
        rec, sites, epcs = self._rec, self._pop.sites, [made.pack]
        if r.fake_t >= 0:
            eid = rec.event(r.fake_t, Stage.COMMISSIONING, epcs, sites[r.fake_site], ilmd=made.ilmd)
            anomalies.append(TruthAnomaly("duplicate_commissioning", eid))
        if r.rogue_t >= 0:
            eid = rec.event(r.rogue_t, Stage.RECEIVING, epcs, sites[r.rogue_site])
            anomalies.append(TruthAnomaly("receive_without_shipment", eid))
        if r.reinstall_t >= 0:
            t = r.reinstall_t
            vin = self._vin(r.reinstall_vmaker, 0, t, REINSTALL_VINS + r.pack_no % VIN_SERIALS)
            site = sites[r.reinstall_site]
            eid = rec.event(t, Stage.INSTALLATION, epcs, site, "repairer", parent=vin)
            anomalies.append(TruthAnomaly("installation_after_recycling", eid))


def _ilmd(chem: str, category: Category, kwh: float, ah: float, kg: float) -> dict[str, Any]:
    return {
        ILMD_CHEMISTRY: chem,
        ILMD_CATEGORY: str(category),
        ILMD_RATED_ENERGY_KWH: round(kwh, 3),
        ILMD_CAPACITY_AH: round(ah, 1),
        ILMD_MASS_KG: round(kg, 2),
    }
