"""Planted anomalies: what a ledger's checks should catch, recorded in truth.json.

Each kind is planted independently, with probability ``anomaly_rate``, in packs where it can
happen before the end date. Every anomalous event is still valid EPCIS (it must import):

``duplicate_commissioning``
    another battery maker commissions the same pack code again (a counterfeit).
``receive_without_shipment``
    a dismantler reports receiving an in-service pack that nobody shipped.
``installation_after_recycling``
    a recycled pack's code is installed in another vehicle.
``late_report``
    an installation or collection declared (``ion:declaredAt``) past its reporting deadline.
``soh_out_of_band``
    a test reports a state of health outside :data:`params.SOH_PLAUSIBLE`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ionledger.sim import params as p
from ionledger.sim.fleet import Population
from ionledger.sim.identifiers import DAY
from ionledger.sim.registry import Pool

ANOMALY_KINDS = (
    "duplicate_commissioning",
    "receive_without_shipment",
    "installation_after_recycling",
    "late_report",
    "soh_out_of_band",
)
LATE_INSTALLATION, LATE_COLLECTION = 1, 2


def calendar_days(working_days: int) -> int:
    """Deadline in calendar days: 5 working days a week, public holidays ignored."""
    return math.ceil(working_days * 7 / 5)


def plant_anomalies(
    rng: np.random.Generator,
    pop: Population,
    c: dict[str, npt.NDArray[Any]],
    *,
    end_t: int,
    rate: float,
    formal: npt.NDArray[np.bool_],
    recycled: npt.NDArray[np.bool_],
) -> None:
    """Add the anomaly columns to a chunk's plan ``c`` (and overwrite a planted bad SOH)."""
    n = len(c["chem"])
    none = np.full(n, -1, dtype=np.int64)

    def chosen(eligible: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        return eligible & (rng.random(n) < rate)

    # Counterfeit: a plant of another battery maker, months or years after the real pack.
    fake_t = c["t_pack"] + rng.integers(30, 700, n) * DAY
    plants = pop.pools[Pool.BATTERY_PLANT].order
    fake_site = plants[rng.integers(0, len(plants), n)]
    other = pop.ent_first_site[(c["bmaker"] + 1) % len(pop.battery_makers)]
    c["fake_site"] = np.where(pop.site_owner[fake_site] == c["bmaker"], other, fake_site)
    c["fake_t"] = np.where(chosen(fake_t <= end_t), fake_t, none)

    # Receipt out of nowhere while the pack is still in its vehicle.
    start = np.where(c["spare"], c["install_t"], c["sale_t"])
    lo = start + 30 * DAY
    hi = np.minimum(c["removal_t"], end_t) - DAY
    rogue_t = lo + (rng.random(n) * np.maximum(hi - lo, 0)).astype(np.int64)
    c["rogue_t"] = np.where(chosen(hi > lo), rogue_t, none)
    c["rogue_site"] = pop.pick(rng, Pool.DISMANTLER, c["province"], local=0.0)

    # Recycled, then fitted to another vehicle.
    again = c["recycle_t"] + rng.integers(10, 200, n) * DAY
    c["reinstall_t"] = np.where(chosen(recycled & (again <= end_t)), again, none)
    c["reinstall_site"] = pop.pick(rng, Pool.DEALER, c["province"], local=0.5)
    c["reinstall_vmaker"] = rng.choice(pop.vehicle_makers, size=n)

    # Late declaration of the installation (vehicle maker, 15 working days) or the collection
    # (outlet, 30 working days): DOMAIN.md's reporting deadlines.
    collected = formal & (c["collect_t"] <= end_t) & (rng.random(n) < 0.5)
    late_kind = np.where(collected, LATE_COLLECTION, LATE_INSTALLATION)
    target_t = np.where(collected, c["collect_t"], c["install_t"])
    deadline = np.where(
        collected, calendar_days(p.DEADLINE_OUTLET), calendar_days(p.DEADLINE_VEHICLE_MAKER)
    )
    late_t = target_t + (deadline + rng.integers(5, 60, n)) * DAY
    late = chosen(late_t <= end_t)
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
