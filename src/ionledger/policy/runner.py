"""Running a scenario by name or path: the simulator's entry point for the CLI, the benchmarks and
the event generator's feed."""

from __future__ import annotations

from pathlib import Path

from ionledger.policy.engine import run
from ionledger.policy.inputs import load_data
from ionledger.policy.montecarlo import monte_carlo
from ionledger.policy.results import Result
from ionledger.policy.scenario import Scenario, load_scenario


def run_scenario(
    spec: str | Path | Scenario,
    *,
    refdata: Path,
    draws: int = 1,
    seed: int = 0,
    end_year: int | None = None,
) -> tuple[Scenario, Result]:
    """Load and run a scenario: one run, or ``draws`` Monte Carlo draws (seeded)."""
    scenario = spec if isinstance(spec, Scenario) else load_scenario(spec)
    if end_year is not None:
        scenario = scenario.with_horizon(scenario.start_year, end_year)
    data = load_data(refdata, scenario.start_year, scenario.end_year)
    if draws == 1:
        return scenario, run(scenario, data)
    return scenario, monte_carlo(scenario, data, draws=draws, seed=seed)
