"""A small Nelder-Mead minimiser (standard coefficients: reflection 1, expansion 2, contraction
1/2, shrink 1/2), enough for the calibration's handful of parameters without a SciPy dependency.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Vector = np.ndarray


def minimise(
    f: Callable[[Vector], float],
    x0: Vector,
    *,
    steps: Vector,
    max_evaluations: int = 600,
    tolerance: float = 1e-8,
) -> tuple[Vector, int]:
    """The best point found and the number of evaluations of ``f``.

    Stops when the simplex's function values differ by less than ``tolerance`` or after
    ``max_evaluations``.
    """
    n = len(x0)
    simplex = [np.asarray(x0, dtype=np.float64)]
    simplex += [simplex[0] + np.eye(n)[i] * steps[i] for i in range(n)]
    values = [f(x) for x in simplex]
    evaluations = n + 1
    while evaluations < max_evaluations:
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if values[-1] - values[0] < tolerance:
            break
        centroid = np.mean(simplex[:-1], axis=0)
        worst = simplex[-1]
        reflected = centroid + (centroid - worst)
        fr = f(reflected)
        evaluations += 1
        if fr < values[0]:
            expanded = centroid + 2.0 * (centroid - worst)
            fe = f(expanded)
            evaluations += 1
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
            continue
        if fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
            continue
        outside = fr < values[-1]
        contracted = centroid + 0.5 * ((reflected if outside else worst) - centroid)
        fc = f(contracted)
        evaluations += 1
        if fc < min(fr, values[-1]):
            simplex[-1], values[-1] = contracted, fc
            continue
        best = simplex[0]
        simplex = [best] + [best + 0.5 * (x - best) for x in simplex[1:]]
        values = [values[0]] + [f(x) for x in simplex[1:]]
        evaluations += n
    i = int(np.argmin(values))
    return simplex[i], evaluations
