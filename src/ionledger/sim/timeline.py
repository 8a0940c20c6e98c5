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
from ionledger.governance.thresholds import RECOVERY_THRESHOLDS
from ionledger.sim import params as p
from ionledger.sim.anomalies import ANOMALY_RULES, LATE_COLLECTION, LATE_INSTALLATION
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
# Per chemistry, the materials it has: (name, kg per kWh of pack, hydrometallurgical recovery).
_PRESENT = [
    [(m, kg, r) for m, kg, r in zip(p.MATERIALS, row, p.RECOVERY, strict=True) if kg > 0]
    for row in p.MATERIAL_KG_PER_KWH
]
# VINs of the vehicles planted anomalies fit a pack or module to use the last two plant
# characters, which genuine VINs (numbered by pack) never reach below 31 million packs.
REINSTALL_VINS = (VIN_PLANTS - 1) * VIN_SERIALS
TWIN_VINS = (VIN_PLANTS - 2) * VIN_SERIALS
MAX_PACKS = TWIN_VINS


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
    spec: str  # GB/T 34014 specification code it was filed under
    module_kg: float  # one module's mass, as its ILMD states it


class Timeline:
    """Renders chunks of planned rows, one chunk at a time."""

    def __init__(self, pop: Population, end_t: int) -> None:
        self._pop = pop
        self._end = end_t
        self._enc = msgspec.json.Encoder()
        self._rec = Recorder(Clock(), end_t, EventBuilder(), pop)
        ents = pop.enterprises
        self._mfr = [e.manufacturer_codes[0] if e.manufacturer_codes else "" for e in ents]
        self._wmi = [e.wmi[0] if e.wmi else "" for e in ents]
        self._codes = CodeFactory(0)  # replaced for each chunk
        self._tally = Tally()  # replaced for each chunk

    def render(self, rows: list[Row], *, batch: int, ids: EventIds) -> Rendered:
        """The events and truth entries of a chunk's rows (each spare after its pack)."""
        self._codes = CodeFactory(batch)
        self._tally = tally = Tally()
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
        return _Made(pack, modules, pack_ah, pack_ilmd, spec, round(module_kg, 2))

    def _pack(self, r: Row, vin: str | None) -> tuple[str, str, TruthPack]:
        rec, sites, end = self._rec, self._pop.sites, self._end
        ents = self._pop.enterprises
        made = self._make(r)
        anomalies: list[TruthAnomaly] = []
        self._at_the_plant(r, made, anomalies)

        # Into a vehicle: a new one, or for a spare the vehicle of the pack it replaces.
        plant, dest, epcs = sites[r.bplant], sites[r.dest], [made.pack]
        rec.event(r.ship_t, Stage.SHIPPING, epcs, plant, move=(plant, dest))
        rec.event(r.recv_t, Stage.RECEIVING, epcs, dest, move=(plant, dest))
        if vin is None:
            vin = self._vin(r.vmaker, r.model, r.install_t, r.pack_no)
        late_t = r.late_t if r.late == LATE_INSTALLATION else -1
        eid = rec.event(r.install_t, Stage.INSTALLATION, epcs, dest, parent=vin, declared_t=late_t)
        if late_t >= 0:
            anomalies.append(_anomaly("late_report", eid))
        if r.sale_t >= 0:
            rec.event(r.sale_t, Stage.SALE, epcs, sites[r.dealer])
        if r.repair_t >= 0:
            rec.event(r.repair_t, Stage.REPAIR, epcs, sites[r.repair_site])
        self._in_service(r, made, anomalies)

        # Out of the vehicle, and where it goes from there.
        remover = sites[r.remover]
        informal = r.channel == INFORMAL_CHANNEL
        kind = p.INFORMAL_KINDS[r.informal_kind] if informal else None
        if r.retired and kind != "silent":
            stage = Stage.REPLACEMENT if r.replaced else Stage.RETIREMENT
            rec.event(r.removal_t, stage, epcs, remover, parent=vin)
        if kind == "diverted" and r.divert_t <= end:
            shop = sites[r.workshop]
            eid = rec.event(r.divert_t, Stage.SHIPPING, epcs, remover, move=(remover, shop))
            anomalies.append(_anomaly("diversion", eid))
        if informal and r.unlisted_rec_t >= 0:  # the dismantler recycles it itself
            materials = recovered_kg(r.chem, r.kwh, r.n_mod)
            t = r.unlisted_rec_t
            eid = rec.transform(t, Stage.RECYCLING, epcs, remover, materials=materials)
            anomalies.append(_anomaly("recycling_not_white_listed", eid))
        second_code = self._formal(r, made, anomalies) if r.channel == FORMAL else None
        if r.reinstall_t >= 0:
            # One of its recycled modules (what the recycling consumed) into another vehicle.
            t = r.reinstall_t
            number = REINSTALL_VINS + r.pack_no % VIN_SERIALS
            other = self._vin(r.reinstall_vmaker, 0, t, number)
            module = [made.modules[r.reinstall_mod]]
            site = sites[r.reinstall_site]
            eid = rec.event(t, Stage.INSTALLATION, module, site, parent=other)
            anomalies.append(_anomaly("installation_after_recycling", eid))

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
            informal=kind,
            handler=ents[sites[r.firm].owner].id if r.channel == FORMAL else None,
            second_life_code=second_code,
        )
        return made.pack[_URN_LEN:], vin, entry

    def _at_the_plant(self, r: Row, made: _Made, anomalies: list[TruthAnomaly]) -> None:
        """Anomalies between the pack's making and its shipment, and the counterfeit."""
        rec, sites, epcs = self._rec, self._pop.sites, [made.pack]
        plant = sites[r.bplant]
        if r.dup_t >= 0:  # its own maker, again
            eid = rec.event(r.dup_t, Stage.COMMISSIONING, epcs, plant, ilmd=made.ilmd)
            anomalies.append(_anomaly("duplicate_commissioning", eid))
        if r.repack_t >= 0:  # one of its modules into another pack as well
            t, mfr = r.repack_t, self._mfr[r.bmaker]
            other = self._codes.block(mfr, "P", r.chem == p.LFP, made.spec, plant.line, t // DAY, 1)
            module = [made.modules[r.repack_mod]]
            eid = rec.event(t, Stage.AGGREGATION, module, plant, parent=other[0])
            anomalies.append(_anomaly("second_pack", eid))
        if r.fake_t >= 0:  # another maker's plant
            site = sites[r.fake_site]
            eid = rec.event(r.fake_t, Stage.COMMISSIONING, epcs, site, ilmd=made.ilmd)
            anomalies.append(_anomaly("counterfeit_commissioning", eid))

    def _in_service(self, r: Row, made: _Made, anomalies: list[TruthAnomaly]) -> None:
        """Anomalies while the pack is in its vehicle."""
        rec, sites, epcs = self._rec, self._pop.sites, [made.pack]
        if r.rogue_t >= 0:  # received, though nobody shipped it
            eid = rec.event(r.rogue_t, Stage.RECEIVING, epcs, sites[r.rogue_site])
            anomalies.append(_anomaly("receive_without_shipment", eid))
        if r.steal_t >= 0:  # shipped by someone who does not hold it
            src, dst = sites[r.steal_site], sites[r.steal_dest]
            eid = rec.event(r.steal_t, Stage.SHIPPING, epcs, src, move=(src, dst))
            anomalies.append(_anomaly("ship_by_non_custodian", eid))
        if r.twin_t >= 0:  # its custodian fits it to a second vehicle
            t, number = r.twin_t, TWIN_VINS + r.pack_no % VIN_SERIALS
            other = self._vin(r.vmaker, r.twin_model, t, number)
            eid = rec.event(t, Stage.INSTALLATION, epcs, sites[r.dest], parent=other)
            anomalies.append(_anomaly("second_vehicle", eid))

    def _formal(self, r: Row, made: _Made, anomalies: list[TruthAnomaly]) -> str | None:
        """Collection, transfer to a white-listed firm, test, then second life or recycling.

        Returns the second-life product's code, if it was made before the end."""
        rec, sites, end = self._rec, self._pop.sites, self._end
        outlet, firm, epcs = sites[r.outlet], sites[r.firm], [made.pack]
        if r.collect_t > end:
            return None
        late_t = r.late_t if r.late == LATE_COLLECTION else -1
        eid = rec.event(r.collect_t, Stage.COLLECTION, epcs, outlet, declared_t=late_t)
        if late_t >= 0:
            anomalies.append(_anomaly("late_report", eid))
        if r.ship2_t > end:
            return None
        rec.event(r.ship2_t, Stage.SHIPPING, epcs, outlet, move=(outlet, firm))
        if r.recv2_t > end:
            return None
        rec.event(r.recv2_t, Stage.RECEIVING, epcs, firm, move=(outlet, firm))
        if r.test_t > end:
            return None
        remaining_ah = round(made.pack_ah * r.soh / 100, 1)
        sensors = battery_test(rec.clock(r.test_t), r.soh, remaining_ah, r.ohm)
        eid = rec.event(r.test_t, Stage.TESTING, epcs, firm, sensors=sensors)
        if r.soh_bad:
            anomalies.append(_anomaly("soh_out_of_band", eid))
        if r.second_life:
            if r.unlisted_rec_t >= 0:  # recycled by a firm listed for cascade use only
                materials = recovered_kg(r.chem, r.kwh, r.n_mod)
                eid = rec.transform(
                    r.unlisted_rec_t, Stage.RECYCLING, epcs, firm, materials=materials
                )
                anomalies.append(_anomaly("recycling_not_white_listed", eid))
            return self._repurpose(r, made)
        if r.unlisted_rep_t >= 0:  # repurposed by a firm listed for recycling only
            eid, _ = self._repurpose_as(r, made, r.unlisted_rep_t)
            anomalies.append(_anomaly("repurposing_not_white_listed", eid))
        if r.dismantle_t > end:
            return None
        rec.event(r.dismantle_t, Stage.DISMANTLING, made.modules, firm, parent=made.pack)
        if r.inflate_t >= 0:  # more of an element than the modules hold; corrected below
            present = _PRESENT[r.chem]
            name = present[int(r.inflate_u * len(present))][0]
            materials = recovered_kg(r.chem, r.kwh, r.n_mod, inflate=name, factor=r.inflate_f)
            eid = rec.transform(
                r.inflate_t, Stage.RECYCLING, made.modules, firm, materials=materials
            )
            anomalies.append(_anomaly("mass_balance", eid))
        if r.recycle_t <= end:
            short = p.MATERIALS[r.short_el] if r.short_el >= 0 else None
            materials = recovered_kg(r.chem, r.kwh, r.n_mod, short=short, factor=r.short_f)
            eid = rec.transform(
                r.recycle_t, Stage.RECYCLING, made.modules, firm, materials=materials
            )
            if short is not None:
                anomalies.append(_anomaly("low_recovery", eid))
            # What the recycler processed that year: by pack mass, and by its modules' own.
            key = (firm.owner, date_of(r.recycle_t // DAY).year)
            hi, lo = self._tally.processed.get(key, (0.0, 0.0))
            self._tally.processed[key] = (hi + r.mass, lo + made.module_kg * r.n_mod)
        return None

    def _repurpose(self, r: Row, made: _Made) -> str | None:
        if r.repurpose_t > self._end:
            return None
        return self._repurpose_as(r, made, r.repurpose_t)[1][_URN_LEN:]

    def _repurpose_as(self, r: Row, made: _Made, t: int) -> tuple[str, str]:
        """The firm's second-life product made of the pack: (eventID, its new code)."""
        firm = self._pop.sites[r.firm]
        mfr, lfp = self._mfr[firm.owner], r.chem == p.LFP
        new = self._codes.block(mfr, "P", lfp, made.spec, firm.line, t // DAY, 1)[0]
        left = r.soh / 100
        ilmd = _ilmd(_CHEM[r.chem], Category.STATIONARY, r.kwh * left, made.pack_ah * left, r.mass)
        ilmd[ILMD_ORIGINAL_CODE] = made.pack  # its URI, as docs/vocabulary.md defines it
        eid = self._rec.transform(t, Stage.REPURPOSING, [made.pack], firm, outputs=[new], ilmd=ilmd)
        return eid, new


def _anomaly(kind: str, event_id: str) -> TruthAnomaly:
    return TruthAnomaly(kind, event_id, ANOMALY_RULES[kind])


def recovered_kg(
    chem: int,
    kwh: float,
    n_mod: int,
    *,
    inflate: str | None = None,
    short: str | None = None,
    factor: float = 1.0,
) -> dict[str, float]:
    """What recycling a pack (chemistry ``chem``, an index into params.CHEMISTRIES; ``kwh``;
    ``n_mod`` modules) recovers: kg of each material the chemistry has, its content times its
    recovery; for a planted anomaly, ``inflate`` at ``factor`` times its content, or ``short``
    at ``factor`` of the way from 50% of its content to 5 points under its threshold.

    The rules may count the content of module inputs by the pack's rated energy or by the
    modules' own (rounded in their ILMD to 3 decimals, so they add up to a few Wh more or
    less); clean figures are taken on the larger (not short under either count, and recovery
    under 100% keeps them within the smaller), planted ones clear of both by a margin.
    """
    modules_kwh = round(kwh / n_mod, 3) * n_mod
    high, low = max(kwh, modules_kwh), min(kwh, modules_kwh)
    out: dict[str, float] = {}
    for name, kg, recovery in _PRESENT[chem]:
        if name == inflate:
            value = high * kg * factor
        elif name == short:
            value = low * kg * (0.5 + factor * (RECOVERY_THRESHOLDS[name] - 0.05 - 0.5))
        else:
            value = high * kg * recovery
        out[name] = round(value, 3)
    return out


def _ilmd(chem: str, category: Category, kwh: float, ah: float, kg: float) -> dict[str, Any]:
    return {
        ILMD_CHEMISTRY: chem,
        ILMD_CATEGORY: str(category),
        ILMD_RATED_ENERGY_KWH: round(kwh, 3),
        ILMD_CAPACITY_AH: round(ah, 1),
        ILMD_MASS_KG: round(kg, 2),
    }
