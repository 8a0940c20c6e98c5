"""Lifecycles of a chunk of packs, drawn with vectorised numpy and returned as plain rows.

A chunk's packs are planned column by column (one array per field), then turned into
:class:`Row` tuples for the event writer. A replaced pack's spare follows it as its own row.
Times are seconds on China's clock; -1 marks a step that does not happen. Steps may lie past
the end date: the writer drops those events, and the fate says how far the pack got.

The lags between steps (days from production to shipment, from removal to collection...) are
assumptions: the sources give reporting deadlines, not how long the trade takes. Each lag is at
least a day, so a pack's steps are in time order by construction.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ionledger.sim import params as p
from ionledger.sim.anomalies import plant_anomalies
from ionledger.sim.fleet import LISTED_POOLS, MARKET, Population
from ionledger.sim.identifiers import DAY, day_number
from ionledger.sim.recorder import working_days
from ionledger.sim.registry import Pool

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Cols = dict[str, npt.NDArray[Any]]

FATES = ("in_service", "formal_second_life", "formal_recycled", "informal", "in_formal_pipeline")
IN_SERVICE, SECOND_LIFE, RECYCLED, INFORMAL, PIPELINE = range(5)
NO_CHANNEL, FORMAL, INFORMAL_CHANNEL = range(3)
SALE_MARGIN_DAYS = 130  # production stops this long before the end, so every pack gets sold
WORK_START, WORK_HOURS = 8 * 3600, 8 * 3600  # events happen 08:00-16:00 (+ short sequences)


class Row(NamedTuple):
    pack_no: int  # run-wide number of the original pack (a spare shares its original's)
    spare: bool  # replaces the pack in the row before it
    chem: int  # index into params.CHEMISTRIES
    kwh_opt: int  # index into params.PACK_KWH
    kwh: float
    mass: float
    n_mod: int
    n_cell: int  # cells per module
    bmaker: int  # enterprise index
    bplant: int  # site index (as are all the *_site / sites below)
    t_cell: int
    t_mod: int
    t_pack: int
    ship_t: int
    dest: int  # vehicle plant (or, for a spare, the store that fits it)
    recv_t: int
    vmaker: int
    model: int
    install_t: int
    sale_t: int  # -1 for a spare
    dealer: int
    province: int  # index into fleet.PROVINCE_CODES: where the vehicle is sold and used
    repair_t: int
    repair_site: int
    removal_t: int  # end of traction use: retirement, or replacement if `replaced`
    replaced: bool
    remover: int
    retired: bool  # removal_t <= end
    channel: int
    informal_kind: int  # index into params.INFORMAL_KINDS
    workshop: int
    divert_t: int
    outlet: int
    collect_t: int
    firm: int
    ship2_t: int
    recv2_t: int
    test_t: int
    soh: float
    ohm: float
    second_life: bool
    repurpose_t: int
    dismantle_t: int
    recycle_t: int
    fate: int
    lag: float  # how late this pack's reporters declare, as a fraction of the time allowed
    # Anomalies, -1 where not planted (see anomalies.py).
    dup_t: int  # duplicate_commissioning
    repack_t: int  # second_pack: the module repack_mod into a new pack
    repack_mod: int
    fake_t: int  # counterfeit_commissioning, at fake_site
    fake_site: int
    rogue_t: int  # receive_without_shipment, at rogue_site
    rogue_site: int
    steal_t: int  # ship_by_non_custodian, from steal_site to steal_dest
    steal_site: int
    steal_dest: int
    twin_t: int  # second_vehicle, a vehicle of model twin_model
    twin_model: int
    reinstall_t: int  # installation_after_recycling of module reinstall_mod
    reinstall_site: int
    reinstall_vmaker: int
    reinstall_mod: int
    unlisted_rec_t: int  # recycling_not_white_listed
    unlisted_rep_t: int  # repurposing_not_white_listed
    inflate_t: int  # mass_balance: element inflate_u (0..1 over those present), by inflate_f
    inflate_u: float
    inflate_f: float
    short_el: int  # low_recovery: element index (params.MATERIALS), short_f of the way down
    short_f: float
    late: int  # late_report: LATE_INSTALLATION or LATE_COLLECTION, declared at late_t
    late_t: int
    soh_bad: bool


@dataclass(frozen=True, slots=True)
class PlanConfig:
    end_t: int  # last second of the end date
    formal_share: float
    anomaly_rate: float
    years: Ints  # production years, their first and last production day, and weights
    first_day: Ints
    last_day: Ints
    weight: Floats
    lfp: Floats

    @classmethod
    def make(
        cls, start_year: int, end_date: datetime.date, formal_share: float, anomaly_rate: float
    ) -> PlanConfig:
        stop = day_number(end_date) - SALE_MARGIN_DAYS
        years, first, last, weight = [], [], [], []
        for year in range(start_year, end_date.year + 1):
            lo = day_number(datetime.date(year, 1, 1))
            hi = min(day_number(datetime.date(year, 12, 31)), stop)
            if hi >= lo:
                years.append(year)
                first.append(lo)
                last.append(hi)
                # A cut-short year weighs by the part of it that is simulated.
                weight.append(p.nev_sales(year) * (hi - lo + 1) / 365)
        w = np.array(weight, dtype=np.float64)
        if not years or w.sum() <= 0:
            raise ValueError("no production days between start_year and end_date")
        return cls(
            end_t=(day_number(end_date) + 1) * DAY - 1,
            formal_share=formal_share,
            anomaly_rate=anomaly_rate,
            years=np.array(years, dtype=np.int64),
            first_day=np.array(first, dtype=np.int64),
            last_day=np.array(last, dtype=np.int64),
            weight=w / w.sum(),
            lfp=np.array([p.lfp_share(y) for y in years], dtype=np.float64),
        )


def _ints(rng: np.random.Generator, lo: int, hi: int, n: int) -> Ints:
    """``n`` integers in [lo, hi] (days, counts)."""
    return rng.integers(lo, hi + 1, n).astype(np.int64)


def _at(rng: np.random.Generator, day: Ints) -> Ints:
    """A time in working hours on each day."""
    return day * DAY + WORK_START + rng.integers(0, WORK_HOURS, len(day))


def _uniform_day(rng: np.random.Generator, lo: Ints, hi: Ints) -> Ints:
    """A day in [lo, hi] for each pair (lo where the range is empty)."""
    days: Ints = lo + (rng.random(len(lo)) * np.maximum(hi - lo + 1, 0)).astype(np.int64)
    return days


def plan_chunk(
    rng: np.random.Generator, pop: Population, cfg: PlanConfig, first_pack: int, n: int
) -> list[Row]:
    c = _originals(rng, pop, cfg, n)
    c["pack_no"] = np.arange(first_pack, first_pack + n, dtype=np.int64)
    _service(rng, pop, cfg, c, spare=False)
    parents = np.flatnonzero(c["replaced"])
    s = _spares(rng, pop, c, parents)
    _service(rng, pop, cfg, s, spare=True)
    cols = {k: np.concatenate((c[k], s[k])) for k in c}
    _end_of_life(rng, pop, cfg, cols)
    plant_anomalies(
        rng,
        pop,
        cols,
        end_t=cfg.end_t,
        rate=cfg.anomaly_rate,
        work=working_days(cfg.end_t // DAY),
        formal=cols["channel"] == FORMAL,
        recycled=cols["fate"] == RECYCLED,
        informal=cols["channel"] == INFORMAL_CHANNEL,
    )
    # Each spare right after the pack it replaces.
    order = np.argsort(np.concatenate((np.arange(n) * 2, parents * 2 + 1)), kind="stable")
    lists = [cols[f][order].tolist() for f in Row._fields]
    return [Row._make(values) for values in zip(*lists, strict=True)]


def _build(rng: np.random.Generator, pop: Population, c: Cols, day_pack: Ints) -> None:
    """Cells, modules and the pack of each row, made at the battery maker's plant."""
    n = len(day_pack)
    c["bplant"] = pop.site_of(rng, c["bmaker"])
    day_mod = day_pack - _ints(rng, 1, 2, n)
    day_cell = day_mod - _ints(rng, 1, 4, n)
    six_hours = 6 * 3600  # cell and module batches run on after the first event
    c["t_cell"] = day_cell * DAY + WORK_START + rng.integers(0, six_hours, n)
    c["t_mod"] = day_mod * DAY + WORK_START + rng.integers(0, six_hours, n)
    c["t_pack"] = _at(rng, day_pack)


def _originals(rng: np.random.Generator, pop: Population, cfg: PlanConfig, n: int) -> Cols:
    c: Cols = {"spare": np.zeros(n, dtype=bool)}
    cohort = rng.choice(len(cfg.years), size=n, p=cfg.weight)
    day_pack = _uniform_day(rng, cfg.first_day[cohort], cfg.last_day[cohort])
    k = len(p.CHEMISTRIES)
    early = rng.choice(k, size=n, p=p.TERNARY_MIX_BEFORE_2020)
    late = rng.choice(k, size=n, p=p.TERNARY_MIX_FROM_2020)
    ternary = np.where(cfg.years[cohort] < 2020, early, late)
    c["chem"] = np.where(rng.random(n) < cfg.lfp[cohort], p.LFP, ternary).astype(np.int64)
    c["kwh_opt"] = rng.choice(len(p.PACK_KWH), size=n, p=p.PACK_KWH_WEIGHTS).astype(np.int64)
    c["kwh"] = np.asarray(p.PACK_KWH)[c["kwh_opt"]]
    factor = rng.uniform(*p.REAL_PACK_MASS_FACTOR, n)
    c["mass"] = np.round(c["kwh"] * np.asarray(p.PACK_KG_PER_KWH)[c["chem"]] * factor, 1)
    c["n_mod"] = _ints(rng, *p.MODULES, n)
    c["n_cell"] = _ints(rng, *p.CELLS_PER_MODULE, n)
    c["bmaker"] = rng.choice(pop.battery_makers, size=n, p=pop.battery_maker_share)
    _build(rng, pop, c, day_pack)
    c["vmaker"] = rng.choice(pop.vehicle_makers, size=n, p=pop.vehicle_maker_share)
    c["model"] = rng.integers(0, 3, n)
    c["dest"] = pop.site_of(rng, c["vmaker"])
    ship_day = day_pack + _ints(rng, 1, 10, n)
    recv_day = ship_day + _ints(rng, 1, 5, n)
    install_day = recv_day + _ints(rng, 1, 20, n)
    c["ship_t"], c["recv_t"] = _at(rng, ship_day), _at(rng, recv_day)
    c["install_t"] = _at(rng, install_day)
    c["province"] = rng.choice(len(MARKET), size=n, p=MARKET).astype(np.int64)
    c["dealer"] = pop.pick(rng, Pool.DEALER, c["province"])
    c["sale_t"] = _at(rng, install_day + _ints(rng, 7, 90, n))
    return c


def _spares(rng: np.random.Generator, pop: Population, orig: Cols, parents: Ints) -> Cols:
    """A new pack of the same model for each replaced pack, fitted where the old one came out."""
    keep = (
        "chem",
        "kwh_opt",
        "kwh",
        "mass",
        "n_mod",
        "n_cell",
        "bmaker",
        "vmaker",
        "model",
        "province",
        "pack_no",
    )
    s: Cols = {k: orig[k][parents] for k in keep}
    m = len(parents)
    s["spare"] = np.ones(m, dtype=bool)
    swap_t = orig["removal_t"][parents]
    day_pack = swap_t // DAY - _ints(rng, 10, 40, m)
    _build(rng, pop, s, day_pack)
    ship_day = day_pack + _ints(rng, 1, 5, m)
    s["ship_t"], s["recv_t"] = _at(rng, ship_day), _at(rng, ship_day + _ints(rng, 1, 3, m))
    s["dest"] = s["dealer"] = orig["remover"][parents]
    s["install_t"] = swap_t + 3600  # the old pack out, the new one in, within the hour
    s["sale_t"] = np.full(m, -1, dtype=np.int64)
    return s


def _service(
    rng: np.random.Generator, pop: Population, cfg: PlanConfig, c: Cols, *, spare: bool
) -> None:
    """Traction life: Weibull lifetime, at most one replacement (originals only), repairs."""
    n = len(c["chem"])
    start = c["install_t"] if spare else c["sale_t"]
    start_day, end_day = start // DAY, cfg.end_t // DAY
    years = np.asarray(p.WEIBULL_SCALE_YEARS)[c["chem"]] * rng.weibull(p.WEIBULL_SHAPE, n)
    natural_day = start_day + np.ceil(years * 365.25).astype(np.int64)
    lo, hi = start_day + 180, np.minimum(natural_day, end_day) - 1
    replaced = (rng.random(n) < p.REPLACEMENT_RATE) & (hi >= lo)
    if spare:  # at most one replacement per vehicle (params)
        replaced[:] = False
    removal_day = np.where(replaced, _uniform_day(rng, lo, hi), natural_day)
    c["replaced"] = replaced
    c["removal_t"] = _at(rng, removal_day)
    c["remover"] = np.where(
        replaced,
        pop.pick(rng, Pool.DEALER, c["province"]),
        pop.pick(rng, Pool.DISMANTLER, c["province"]),
    )
    c["retired"] = c["removal_t"] <= cfg.end_t
    lo, hi = start_day + 30, np.minimum(removal_day, end_day) - 30
    repaired = (rng.random(n) < p.REPAIR_RATE) & (hi >= lo)
    c["repair_t"] = np.where(repaired, _at(rng, _uniform_day(rng, lo, hi)), -1)
    c["repair_site"] = pop.pick(rng, Pool.DEALER, c["province"])


def _end_of_life(rng: np.random.Generator, pop: Population, cfg: PlanConfig, c: Cols) -> None:
    n = len(c["chem"])
    prov, retired = c["province"], c["retired"]
    formal = retired & (rng.random(n) < cfg.formal_share)
    informal = retired & ~formal
    c["channel"] = np.where(formal, FORMAL, np.where(informal, INFORMAL_CHANNEL, NO_CHANNEL))
    kind = rng.choice(len(p.INFORMAL_KIND_WEIGHTS), size=n, p=p.INFORMAL_KIND_WEIGHTS)
    # A 4S store that swaps a pack reports it, so a replaced pack cannot vanish silently.
    # (Diversions are planted: anomalies.py.)
    c["informal_kind"] = np.where(c["replaced"] & (kind == p.SILENT), p.REMOVED, kind).astype(
        np.int64
    )
    # Informal flows cross provincial borders freely (DOMAIN.md: Sichuan's leave the province).
    c["workshop"] = pop.pick(rng, Pool.WORKSHOP, prov, local=0.5)
    removal_day = c["removal_t"] // DAY
    c["divert_t"] = _at(rng, removal_day + _ints(rng, 1, 10, n))

    c["outlet"] = pop.pick(rng, Pool.OUTLET, prov)
    collect_day = removal_day + _ints(rng, 1, 20, n)
    soh = np.clip(rng.normal(p.SOH_MEAN, p.SOH_SD, n), *p.SOH_CLIP)
    c["soh"] = np.round(soh, 1)
    fit = (soh >= p.SECOND_LIFE_MIN_SOH) & (
        rng.random(n) < np.asarray(p.SECOND_LIFE_PROB)[c["chem"]]
    )
    c["second_life"] = fit
    local = p.IN_PROVINCE_PREFERENCE
    firm = np.where(
        fit, pop.pick(rng, Pool.CASCADE, prov, local), pop.pick(rng, Pool.RECYCLER, prov, local)
    )
    base_day = collect_day + _ints(rng, 2, 15, n)
    wait_days = _ints(rng, *p.CROSS_PROVINCE_WAIT_DAYS, n)

    def ship_day_of(firm: Ints) -> Ints:
        cross = pop.site_province[firm] != prov
        day: Ints = base_day + np.where(cross, wait_days, 0)
        return day

    cascade_from = pop.listed_from[LISTED_POOLS[Pool.CASCADE]]
    recycling_from = pop.listed_from[LISTED_POOLS[Pool.RECYCLER]]

    def listed_from(firm: Ints) -> Ints:
        day: Ints = np.where(fit, cascade_from[firm], recycling_from[firm])
        return day

    # Only white-listed firms take batteries in (DOMAIN.md): one not yet listed on the shipping
    # day is replaced by one listed by then, anywhere; before the first batch, the batteries
    # wait at the outlet for it.
    stale = listed_from(firm) > ship_day_of(firm)
    listed = np.where(
        fit,
        pop.pick_listed(rng, Pool.CASCADE, base_day),
        pop.pick_listed(rng, Pool.RECYCLER, base_day),
    )
    c["firm"] = firm = np.where(stale, listed, firm)
    ship_day = np.maximum(ship_day_of(firm), listed_from(firm))
    recv_day = ship_day + _ints(rng, 1, 5, n)
    test_day = recv_day + _ints(rng, 1, 15, n)
    dismantle_day = test_day + _ints(rng, 3, 30, n)
    c["collect_t"], c["ship2_t"] = _at(rng, collect_day), _at(rng, ship_day)
    c["recv2_t"], c["test_t"] = _at(rng, recv_day), _at(rng, test_day)
    c["repurpose_t"] = _at(rng, test_day + _ints(rng, 10, 60, n))
    c["dismantle_t"] = _at(rng, dismantle_day)
    c["recycle_t"] = _at(rng, dismantle_day + _ints(rng, 5, 60, n))
    # Internal resistance, ohm, rising as capacity fades. Assumption: ~0.08-0.2 ohm for a
    # ~350 V pack at 75% SOH; the sources give no figure.
    c["ohm"] = np.round(rng.uniform(0.08, 0.2, n) * p.SOH_MEAN / c["soh"], 4)
    done_t = np.where(fit, c["repurpose_t"], c["recycle_t"])
    done = np.where(fit, SECOND_LIFE, RECYCLED)
    formal_fate = np.where(done_t <= cfg.end_t, done, PIPELINE)
    c["fate"] = np.where(formal, formal_fate, np.where(informal, INFORMAL, IN_SERVICE))
    c["lag"] = rng.uniform(0.0, 0.8, n)
