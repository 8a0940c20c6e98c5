"""Policy and fleet simulator: China's traction-battery flows, owners' channel choice and the levers
regulators hold, calibrated to 2024 (see docs/simulator.md).

:func:`run_scenario` runs a shipped scenario (or a TOML file) once or as a Monte Carlo;
:mod:`.calibrate` fits the baseline to the 2024 anchors; :mod:`.outputs` writes tables, charts
and an HTML page; :mod:`.feed` shapes the event generator's fleet from a scenario.
"""

from ionledger.policy.results import Result
from ionledger.policy.runner import run_scenario
from ionledger.policy.scenario import Scenario, load_scenario, shipped

__all__ = ["Result", "Scenario", "load_scenario", "run_scenario", "shipped"]
