"""A run's parameters as arrays over its draws: one value per draw (a single run has one draw).

The engine reads every parameter through :class:`Params`, so that a Monte Carlo batch and a single
run take the same code path; :meth:`Params.scalar` is for the few that shape arrays and may not
vary between draws.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ionledger.errors import ValidationError
from ionledger.policy.axes import Floats
from ionledger.policy.scenario import Scenario


class Params:
    def __init__(self, values: Mapping[str, Floats], draws: int) -> None:
        self._values = dict(values)
        self.draws = draws

    @classmethod
    def single(cls, scenario: Scenario) -> Params:
        return cls({k: np.array([v]) for k, v in scenario.params.items()}, 1)

    @classmethod
    def drawn(cls, scenario: Scenario, samples: Mapping[str, Floats], draws: int) -> Params:
        """The scenario's values, with ``samples`` (name -> (draws,) array) in their place."""
        values = {k: np.full(draws, v, dtype=np.float64) for k, v in scenario.params.items()}
        for name, sample in samples.items():
            if sample.shape != (draws,):
                raise ValidationError(f"samples of {name} must have shape ({draws},)")
            values[name] = sample.astype(np.float64)
        return cls(values, draws)

    def __getitem__(self, name: str) -> Floats:
        return self._values[name]

    def scalar(self, name: str) -> float:
        values = self._values[name]
        if not np.all(values == values[0]):
            raise ValidationError(f"parameter {name} cannot vary between Monte Carlo draws")
        return float(values[0])

    def subset(self, index: slice) -> Params:
        chosen = {k: v[index] for k, v in self._values.items()}
        return Params(chosen, len(next(iter(chosen.values()))))
