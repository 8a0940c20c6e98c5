"""Monte Carlo over the scenario's uncertain parameters (its ``[uncertainty]`` table).

Draws come from one seeded PCG64 stream, parameter by parameter in name order, so the same seed
gives the same numbers. Each draw is clipped to the parameter's allowed range. Draws run through
the engine in batches (all of a batch's draws at once, vectorised), which bounds memory. The
fitted parameters stay at their calibrated values in every draw.
"""

from __future__ import annotations

import numpy as np

from ionledger.errors import ValidationError
from ionledger.policy.axes import Floats
from ionledger.policy.engine import simulate
from ionledger.policy.inputs import Data
from ionledger.policy.params import Params
from ionledger.policy.results import Result, concatenate
from ionledger.policy.scenario import PARAMS, Scenario

BATCH = 100


def sample(scenario: Scenario, draws: int, seed: int) -> dict[str, Floats]:
    """(draws,) values of each uncertain parameter."""
    if draws < 1:
        raise ValidationError(f"draws must be >= 1, got {draws}")
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    out: dict[str, Floats] = {}
    for name in sorted(scenario.uncertainty):
        spec = scenario.uncertainty[name]
        if spec.dist == "normal":
            values = rng.normal(spec.a, spec.b, draws)
        elif spec.dist == "uniform":
            values = rng.uniform(spec.a, spec.b, draws)
        else:  # lognormal: a multiplicative spread around the scenario's value
            values = scenario[name] * np.exp(rng.normal(0.0, spec.a, draws))
        lo, hi = PARAMS[name]
        out[name] = np.clip(values, lo, hi)
    return out


def monte_carlo(
    scenario: Scenario, data: Data, *, draws: int, seed: int = 0, batch: int = BATCH
) -> Result:
    params = Params.drawn(scenario, sample(scenario, draws, seed), draws)
    parts = [
        simulate(scenario, data, params.subset(slice(i, min(i + batch, draws))))
        for i in range(0, draws, batch)
    ]
    return concatenate(parts)
