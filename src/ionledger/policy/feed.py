"""Feeding the platform: a province's fleet from a scenario, for the synthetic event generator.

:func:`scenario_fleet` runs a scenario and takes, for one province, what the generator
(:func:`ionledger.sim.generator.generate`) can be told: the vehicles sold there by year, the LFP
share of packs by year, and the formal share of the province's retirements over the generated
window (tonnes handed to white-listed firms / tonnes retired). :func:`generate_scenario_fleet`
then writes that fleet as EPCIS documents, ready for ``ionledger import`` (``make demo``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ionledger.errors import ValidationError
from ionledger.policy.axes import PROVINCE_CODES
from ionledger.policy.engine import run
from ionledger.policy.inputs import load_data
from ionledger.policy.refdata import default_refdata
from ionledger.policy.scenario import Scenario, load_scenario
from ionledger.sim.generator import FleetPlan, GenerateResult, generate


@dataclass(frozen=True, slots=True)
class ScenarioFleet:
    scenario: str
    province: str
    sales: dict[int, float]  # vehicles sold in the province, by year (the scenario's)
    lfp_share: dict[int, float]  # LFP share of packs sold, by year
    formal_share: float  # formal tonnes / retired tonnes of the province over the window
    plan: FleetPlan


def scenario_fleet(
    scenario: str | Path | Scenario,
    *,
    province: str,
    refdata: Path | None = None,
    start_year: int = 2016,
    end_date: datetime.date = datetime.date(2026, 6, 30),
) -> ScenarioFleet:
    """What the generator needs to produce ``province``'s fleet under ``scenario``."""
    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if province not in PROVINCE_CODES:
        raise ValidationError(f"province must be an ISO 3166-2:CN code, got {province!r}")
    if not spec.start_year <= start_year <= end_date.year <= spec.end_year:
        raise ValidationError(
            f"the window {start_year}-{end_date.year} must lie within the scenario's "
            f"{spec.start_year}-{spec.end_year}"
        )
    data = load_data(refdata or default_refdata(), spec.start_year, spec.end_year)
    result = run(spec, data)
    p = PROVINCE_CODES.index(province)
    window = (result.years >= start_year) & (result.years <= end_date.year)
    sold = result.provincial["sold_vehicles"][0, :, p]
    retired = float(result.provincial["retired_t"][0, window, p].sum())
    formal = float(result.provincial["formal_t"][0, window, p].sum())
    share = formal / retired if retired > 0 else float(np.median(result.national["formal_rate"]))
    sales = {int(y): float(v) for y, v in zip(result.years[window], sold[window], strict=True)}
    lfp = {int(y): float(v) for y, v in zip(data.years, data.chem_share[:, 0], strict=True)}
    lfp = {y: v for y, v in lfp.items() if y in sales}
    plan = FleetPlan(province=province, sales=tuple(sales.items()), lfp_share=tuple(lfp.items()))
    return ScenarioFleet(spec.name, province, sales, lfp, min(max(share, 0.0), 1.0), plan)


def generate_scenario_fleet(
    scenario: str | Path | Scenario,
    *,
    province: str,
    batteries: int,
    seed: int,
    out: Path,
    refdata: Path | None = None,
    start_year: int = 2016,
    end_date: datetime.date = datetime.date(2026, 6, 30),
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> tuple[ScenarioFleet, GenerateResult]:
    """Generate ``batteries`` packs of ``province``'s fleet under ``scenario`` into ``out``."""
    fleet = scenario_fleet(
        scenario, province=province, refdata=refdata, start_year=start_year, end_date=end_date
    )
    result = generate(
        batteries=batteries,
        seed=seed,
        out=out,
        start_year=start_year,
        end_date=end_date,
        progress=progress,
        formal_share=fleet.formal_share,
        workers=workers,
        plan=fleet.plan,
    )
    return fleet, result
