"""Planted anomalies: one kind per governance rule, each to trip exactly that rule.

Each kind is planted independently, with probability ``anomaly_rate``, in the packs where it can
happen before the end date (``over_capacity`` once per recycler, see below); at rate 0 nothing
is planted and the fleet trips no rule. Every anomalous event is still valid EPCIS (it
imports); truth.json lists it with the rule (:mod:`ionledger.governance.catalogue`) it trips.

The rules judge an event against the state its battery's earlier events left, in the order
state, custody, white list, access, recycling, and report the first rule that rejects; alerts
are raised for stored events. So a planted event is made so that no rule before its own
rejects, and no other alert fires: it is declared on time (where its reporter owes a report),
reported by someone the access rule lets write it (where the kind is not about access), and
so on. An event a rule rejects is not stored, so a planted rejected event is always an extra
event that the clean events after it do not depend on; a planted alert replaces or adds an
event that leaves the state as the clean events expect it.

Kinds (who reports, when):

``duplicate_commissioning`` (state.duplicate-commissioning, alert)
    the pack's own battery maker commissions its code again, at its plant, between the pack's
    assembly and its shipment (so custody stays with the maker).
``counterfeit_commissioning`` (access.not-permitted)
    another battery maker commissions the pack's code at its own plant, 30-700 days after the
    genuine pack was made.
``receive_without_shipment`` (custody.receive-without-shipment)
    a dismantler in another province reports receiving the pack while it is in its vehicle.
``ship_by_non_custodian`` (custody.ship-by-non-custodian)
    a dismantler of the pack's province reports shipping the in-service pack (held by the
    vehicle maker, or by the 4S store that fitted a replacement) to a collection outlet.
``diversion`` (custody.diversion, alert)
    the party that removed a retired pack informally ships it to an unregistered workshop (the
    "diverted" informal exit, which happens only as this anomaly).
``installation_after_recycling`` (state.install-after-recycling)
    10-200 days after recycling, a 4S store installs one of the pack's recycled modules (the
    modules are what the recycling transformation consumed) in another vehicle.
``second_vehicle`` (state.second-vehicle)
    while the pack is in service, its custodian (the vehicle maker, or the store that fitted
    it) installs it in another vehicle of the same make.
``second_pack`` (state.second-pack)
    between assembly and shipment, the battery maker aggregates one of the pack's modules into
    another (new) pack code.
``recycling_not_white_listed`` (whitelist.recycling)
    the holder of a retired pack, with no recycling entry valid that day, reports recycling
    it (whole pack in, materials out): the vehicle dismantler that removed it, 5-60 days after
    an informal removal, or a cascade-use firm that received it for second life, before
    repurposing it.
``repurposing_not_white_listed`` (whitelist.repurposing)
    a recycler without a cascade-use entry valid that day, holding a pack it received for
    recycling, reports repurposing it before dismantling it.
``late_report`` (deadline.late-report, alert)
    the installation (vehicle maker, or the store for a replacement) or the collection
    (outlet) is declared 1-20 working days after its deadline day.
``mass_balance`` (recycling.mass-balance)
    between dismantling and recycling, the recycler reports a recycling of the pack's modules
    recovering 5-30% more of one element than they contain; its correct report follows.
``low_recovery`` (recycling.low-recovery, alert)
    the recycler's recycling report recovers 50-93% (Li: 50-85%) of one threshold element.
``over_capacity`` (recycling.over-capacity, alert)
    a recycler's licensed capacity is set below what it processes in some years; truth.json
    lists each (recycler, year) in ``registryAnomalies`` (no one event is at fault).
``soh_out_of_band`` (test.soh-implausible, alert)
    the test of a collected pack reports a state of health outside :data:`params.SOH_PLAUSIBLE`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from msgspec.structs import replace

from ionledger.domain.vocabulary import Stage
from ionledger.governance.catalogue import BY_ID
from ionledger.sim import params as p
from ionledger.sim.fleet import Population
from ionledger.sim.identifiers import DAY
from ionledger.sim.recorder import WorkingDays
from ionledger.sim.registry import Enterprise, Pool, WhiteListCategory

# Each kind and the rule it trips, in the order truth.json lists them.
ANOMALY_RULES: dict[str, str] = {
    "duplicate_commissioning": "state.duplicate-commissioning",
    "counterfeit_commissioning": "access.not-permitted",
    "receive_without_shipment": "custody.receive-without-shipment",
    "ship_by_non_custodian": "custody.ship-by-non-custodian",
    "diversion": "custody.diversion",
    "installation_after_recycling": "state.install-after-recycling",
    "second_vehicle": "state.second-vehicle",
    "second_pack": "state.second-pack",
    "recycling_not_white_listed": "whitelist.recycling",
    "repurposing_not_white_listed": "whitelist.repurposing",
    "late_report": "deadline.late-report",
    "mass_balance": "recycling.mass-balance",
    "low_recovery": "recycling.low-recovery",
    "over_capacity": "recycling.over-capacity",
    "soh_out_of_band": "test.soh-implausible",
}
assert set(ANOMALY_RULES.values()) <= set(BY_ID), "a rule the catalogue does not have"
ANOMALY_KINDS = tuple(ANOMALY_RULES)
LATE_INSTALLATION, LATE_COLLECTION = 1, 2
WORK_START, WORK_HOURS = 8 * 3600, 8 * 3600  # as lifecycle's: events happen 08:00-16:00
# Element indices (params.MATERIALS) that the recovery thresholds cover.
THRESHOLD_ELEMENTS = tuple(p.MATERIALS.index(m) for m in ("Li", "Ni", "Co", "Mn"))

Ints = npt.NDArray[np.int64]


def plant_anomalies(
    rng: np.random.Generator,
    pop: Population,
    c: dict[str, npt.NDArray[Any]],
    *,
    end_t: int,
    rate: float,
    work: WorkingDays,
    formal: npt.NDArray[np.bool_],
    recycled: npt.NDArray[np.bool_],
    informal: npt.NDArray[np.bool_],
) -> None:
    """Add the anomaly columns to a chunk's plan ``c`` (-1: not planted), overwrite a planted
    bad SOH, and turn planted informal exits into diversions. Every draw is made whatever the
    rate, so the clean part of a plan does not depend on it."""
    n = len(c["chem"])
    none = np.full(n, -1, dtype=np.int64)
    end_day = end_t // DAY

    def chosen(eligible: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        return eligible & (rng.random(n) < rate)

    def between(lo: Ints, hi: Ints) -> Ints:
        """A time in [lo, hi) (lo where empty)."""
        t: Ints = lo + (rng.random(n) * np.maximum(hi - lo, 0)).astype(np.int64)
        return t

    def day_between(lo: Ints, hi: Ints) -> Ints:
        """A time in working hours on a day in [lo, hi] (days; lo where empty)."""
        day = lo + (rng.random(n) * np.maximum(hi - lo + 1, 0)).astype(np.int64)
        t: Ints = day * DAY + WORK_START + rng.integers(0, WORK_HOURS, n)
        return t

    # At the battery maker's plant, after assembly (t_pack + 120) and before shipment: at least
    # 16 hours apart (the shipment is on a later day).
    after_assembly, before_ship = c["t_pack"] + 600, c["ship_t"] - 600
    dup_t = between(after_assembly, before_ship)
    c["dup_t"] = np.where(chosen(before_ship > after_assembly), dup_t, none)
    repack_t = between(after_assembly, before_ship)
    c["repack_t"] = np.where(chosen(before_ship > after_assembly), repack_t, none)
    c["repack_mod"] = (rng.random(n) * c["n_mod"]).astype(np.int64)

    # Counterfeit: a plant of another battery maker, months or years after the real pack.
    fake_t = c["t_pack"] + rng.integers(30, 700, n) * DAY
    plants = pop.pools[Pool.BATTERY_PLANT].order
    fake_site = plants[rng.integers(0, len(plants), n)]
    other = pop.ent_first_site[(c["bmaker"] + 1) % len(pop.battery_makers)]
    c["fake_site"] = np.where(pop.site_owner[fake_site] == c["bmaker"], other, fake_site)
    c["fake_t"] = np.where(chosen(fake_t <= end_t), fake_t, none)

    # In service: from a month after the sale (a replacement: its fitting) until a day before
    # it comes out of the vehicle or the run ends.
    start = np.where(c["spare"], c["install_t"], c["sale_t"])
    lo = start + 30 * DAY
    hi = np.minimum(c["removal_t"], end_t) - DAY
    in_service = hi > lo
    c["rogue_t"] = np.where(chosen(in_service), between(lo, hi), none)
    c["rogue_site"] = pop.pick(rng, Pool.DISMANTLER, c["province"], local=0.0)
    c["steal_t"] = np.where(chosen(in_service), between(lo, hi), none)
    c["steal_site"] = pop.pick(rng, Pool.DISMANTLER, c["province"])
    c["steal_dest"] = pop.pick(rng, Pool.OUTLET, c["province"])
    c["twin_t"] = np.where(chosen(in_service), between(lo, hi), none)
    c["twin_model"] = rng.integers(0, 3, n)

    # Recycled, then one of its modules fitted to another vehicle.
    again = c["recycle_t"] + rng.integers(10, 200, n) * DAY
    c["reinstall_t"] = np.where(chosen(recycled & (again <= end_t)), again, none)
    c["reinstall_site"] = pop.pick(rng, Pool.DEALER, c["province"], local=0.5)
    c["reinstall_vmaker"] = rng.choice(pop.vehicle_makers, size=n)
    c["reinstall_mod"] = (rng.random(n) * c["n_mod"]).astype(np.int64)

    # An informal exit reported as a shipment to an unregistered workshop.
    diverted = chosen(informal & (c["divert_t"] <= end_t))
    c["informal_kind"] = np.where(diverted, p.DIVERTED, c["informal_kind"])

    # Recycling by a dismantler after an informal removal (it holds the pack), or by a firm
    # listed for cascade use only, between its test and the repurposing.
    test_day = c["test_t"] // DAY
    firm = c["firm"]
    removal_day = c["removal_t"] // DAY
    t_informal = day_between(removal_day + 5, removal_day + 60)
    by_dismantler = informal & (c["informal_kind"] == p.REMOVED) & ~c["replaced"]
    second_life = formal & c["second_life"]
    t = day_between(test_day + 1, c["repurpose_t"] // DAY - 1)
    unlisted = pop.listed_from[WhiteListCategory.RECYCLING][firm] > t // DAY
    t = np.where(by_dismantler, t_informal, t)
    eligible = ((second_life & unlisted) | by_dismantler) & (t <= end_t)
    c["unlisted_rec_t"] = np.where(chosen(eligible), t, none)
    to_recycle = formal & ~c["second_life"]
    t = day_between(test_day + 1, c["dismantle_t"] // DAY - 1)
    unlisted = pop.listed_from[WhiteListCategory.CASCADE_USE][firm] > t // DAY
    c["unlisted_rep_t"] = np.where(chosen(to_recycle & unlisted & (t <= end_t)), t, none)

    # Recycling reports: an inflated one before the real one, or a real one short of an element.
    t = day_between(c["dismantle_t"] // DAY + 1, c["recycle_t"] // DAY - 1)
    c["inflate_t"] = np.where(chosen(to_recycle & (t <= end_t)), t, none)
    c["inflate_u"] = rng.random(n)  # which element (among those the chemistry has)
    c["inflate_f"] = rng.uniform(1.05, 1.3, n)
    short = chosen(recycled)
    pick = (rng.random(n) * len(THRESHOLD_ELEMENTS)).astype(np.int64)
    element = np.asarray(THRESHOLD_ELEMENTS)[pick]
    # Only elements the chemistry has: LFP has no Ni/Co/Mn, NCA no Mn; Li (first) always.
    kg = np.asarray(p.MATERIAL_KG_PER_KWH)[c["chem"], element]
    element = np.where(kg > 0, element, THRESHOLD_ELEMENTS[0])
    c["short_el"] = np.where(short, element, none)
    c["short_f"] = rng.uniform(0.5, 1.0, n)  # of the way from 50% to 5 points under threshold

    # Late declaration of the installation or the collection: 1-20 working days after the
    # deadline day (a later working day, so late whether counted by date or working days).
    collected = formal & (c["collect_t"] <= end_t) & (rng.random(n) < 0.5)
    late_kind = np.where(collected, LATE_COLLECTION, LATE_INSTALLATION)
    target_t = np.where(collected, c["collect_t"], c["install_t"])
    reporter = np.where(collected, c["outlet"], c["dest"])
    days = np.where(
        collected,
        pop.deadline_days(Stage.COLLECTION)[reporter],
        pop.deadline_days(Stage.INSTALLATION)[reporter],
    )
    extra = rng.integers(1, 21, n)
    ok = (days > 0) & (target_t >= 0) & (target_t // DAY <= end_day)
    target_day = np.where(ok, target_t // DAY, end_day)
    late_day = work.add(target_day, np.where(ok, days + extra, 1))
    late_t = late_day * DAY + WORK_START + rng.integers(0, WORK_HOURS, n)
    late = chosen(ok & (late_t <= end_t))
    c["late"] = np.where(late, late_kind, 0)
    c["late_t"] = np.where(late, late_t, none)

    # An implausible state of health: a broken tester or a doctored report. It stays a
    # percentage (capture refuses SOH outside 0..100 as impossible); what makes it suspect is a
    # value no retired pack plausibly has.
    tested = formal & (c["test_t"] <= end_t)
    bad = chosen(tested)
    wild = np.where(rng.random(n) < 0.5, rng.uniform(5, 40, n), rng.uniform(96, 100, n))
    c["soh"] = np.where(bad, np.round(wild, 1), c["soh"])
    c["soh_bad"] = bad


def plant_over_capacity(
    rng: np.random.Generator,
    enterprises: list[Enterprise],
    processed: dict[tuple[int, int], tuple[float, float]],
    rate: float,
) -> tuple[list[Enterprise], list[tuple[int, int]]]:
    """Settle each recycler's licensed capacity against what it processed; plant over_capacity.

    ``processed``: (enterprise index, year) -> (kg by the input packs' mass, kg by the input
    modules' own mass), what the recycler's stored recycling reports took in. The brief's rule
    counts a module as its pack's mass over its module count; a rule that counts the module's
    own ILMD mass instead gets ~75% of that. Each recycler with any processing is picked with
    probability ``rate``; a picked one gets a capacity that both counts exceed in the listed
    years and neither reaches in the others; the others keep their drawn capacity, raised to
    1.25 times their busiest year where the fleet would exceed it. Returns the enterprises
    (with settled capacities) and the planted (enterprise index, year) pairs.
    """
    by_firm: dict[int, dict[int, tuple[float, float]]] = {}
    for (firm, year), kg in sorted(processed.items()):
        by_firm.setdefault(firm, {})[year] = kg
    settled: list[Enterprise] = []
    planted: list[tuple[int, int]] = []
    for i, e in enumerate(enterprises):
        entry = e.entry(WhiteListCategory.RECYCLING)
        if entry is None:
            settled.append(e)
            continue
        u, position = rng.random(), rng.uniform(0.25, 0.75)
        years = by_firm.get(i, {})
        tonnes = {y: (hi / 1000, lo / 1000) for y, (hi, lo) in years.items()}
        if years and u < rate:
            capacity = _capacity_below(tonnes, position)
            planted.extend((i, y) for y, (_hi, lo) in sorted(tonnes.items()) if lo > capacity)
        else:
            busiest = max((hi for hi, _lo in tonnes.values()), default=0.0)
            capacity = max(entry.capacity_tpa, float(math.ceil(busiest * 1.25)))
        if capacity != entry.capacity_tpa:
            settled_entry = replace(entry, capacity_tpa=capacity)
            entries = [settled_entry if w is entry else w for w in e.white_list]
            e = replace(e, white_list=entries)
        settled.append(e)
    return settled, planted


_MARGIN_T = 0.002  # kg-level differences in how a rule adds up tonnage stay clear of capacity


def _capacity_below(tonnes: dict[int, tuple[float, float]], position: float) -> float:
    """A capacity (t/yr, 3 decimals) below the busiest year under both counts, outside every
    year's [low count, high count] band: the highest free gap, at ``position`` within it."""
    peak = max(lo for _hi, lo in tonnes.values()) - _MARGIN_T
    bands = sorted((lo - _MARGIN_T, hi + _MARGIN_T) for hi, lo in tonnes.values())
    gaps, floor = [], 0.0
    for lo, hi in bands:
        if lo > floor:
            gaps.append((floor, min(lo, peak)))
        floor = max(floor, hi)
        if floor >= peak:
            break
    gaps = [(a, b) for a, b in gaps if b - a > 2 * _MARGIN_T] or [(0.0, peak)]
    a, b = gaps[-1]
    return round(a + (b - a) * position, 3)
