"""First-life retirement kernels: for each sale-year cohort, the share of its packs that leave
traction use at each age, and how (a pack swapped at a 4S store, or one leaving with its
scrapped vehicle).

Battery and vehicle lifetimes are both Weibull with the same shape k (refdata
lifetime_secondlife_params.csv: k = 3.5 for both). The pack leaves at min(T_battery, T_vehicle),
which is then Weibull with scale (l_b^-k + l_v^-k)^(-1/k), and the battery fails first with the
age-independent probability l_b^-k / (l_b^-k + l_v^-k). A failed battery in a running vehicle is
replaced with probability ``replace_share`` (at most one replacement per vehicle, as the source
says); otherwise the vehicle is scrapped with it. A replacement pack leaves with its vehicle; its
own failure before the vehicle's end is neglected (a few percent of packs; see docs).

Ages are whole years: age a covers lifetimes in [a - 0.5, a + 0.5) (sales at mid-year).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ionledger.policy.axes import Floats


@dataclass(frozen=True, slots=True)
class Kernels:
    retire: Floats  # (D, Y, S, C, A, O): packs leaving at age a by origin, per pack sold
    install: Floats  # (D, Y, S, C, A): replacement packs fitted at age a, per pack sold


def _edges(ages: int) -> Floats:
    return np.concatenate(([0.0], np.arange(ages, dtype=np.float64) + 0.5))


def retirement_kernels(
    *, battery_scale: Floats, vehicle_mean: Floats, k: float, replace_share: Floats, ages: int
) -> Kernels:
    """``battery_scale`` (D, S, C) years, ``vehicle_mean`` (Y, S) years, ``replace_share`` (D,)."""
    lam_v = vehicle_mean / math.gamma(1.0 + 1.0 / k)  # Weibull scale from the mean
    rate_b = battery_scale[:, None, :, :] ** -k  # (D, 1, S, C)
    rate_v = lam_v[None, :, :, None] ** -k  # (1, Y, S, 1)
    lam_min = (rate_b + rate_v) ** (-1.0 / k)  # (D, Y, S, C)
    battery_first = rate_b / (rate_b + rate_v)
    edges = _edges(ages)
    survive = np.exp(-((edges / lam_min[..., None]) ** k))  # (D, Y, S, C, A+1)
    leave = survive[..., :-1] - survive[..., 1:]  # (D, Y, S, C, A)
    replaced = battery_first * replace_share[:, None, None, None]  # (D, Y, S, C)
    install = leave * replaced[..., None]
    # A replacement fitted at age a leaves when its vehicle is scrapped, at age b > a.
    veh = np.exp(-((edges / lam_v[..., None]) ** k))  # (Y, S, A+1)
    scrap = veh[..., :-1] - veh[..., 1:]  # (Y, S, A)
    alive_after = np.maximum(veh[..., 1:], 1e-300)  # survival to the end of age a
    later = np.triu(np.ones((ages, ages)), k=1)  # [a, b] = b > a
    move = later * scrap[:, :, None, :] / alive_after[:, :, :, None]  # (Y, S, A, A)
    spare_out = np.einsum("dysca,ysab->dyscb", install, move, optimize=True)
    retire = np.stack((install, leave * (1.0 - replaced[..., None]) + spare_out), axis=-1)
    return Kernels(retire=retire, install=install)
