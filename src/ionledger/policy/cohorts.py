"""Cohorts: domestic sales by (sale year, province, segment, chemistry), their packs' energy and
mass, and the calendar of their retirements (packs and kWh by year, province, segment,
chemistry and origin), all for a batch of draws.

Sales are CAAM units less exports; after the last sourced year they grow at
``market.sales_growth`` a year. A vehicle's pack energy is its segment's nominal size
(``market.kwh_*``, relative sizes) scaled so that each year's fleet-wide kWh per vehicle equals
installed GWh / units (refdata china_nev_sales_gwh.csv). Pack mass is EverBatt's kg/kWh times
``market.mass_factor`` (real packs are heavier than EverBatt's designs: DOMAIN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ionledger.policy.axes import N_C, N_O, N_P, N_S, Floats
from ionledger.policy.inputs import Data
from ionledger.policy.lifetimes import retirement_kernels
from ionledger.policy.params import Params


@dataclass(frozen=True, slots=True)
class Cohorts:
    units: Floats  # (D, T) domestic vehicles sold
    pack_kwh: Floats  # (T, S) kWh per pack by sale year
    kg_per_kwh: Floats  # (D, C)
    new_packs: Floats  # (D, T, P, S, C)
    new_kwh_domestic: Floats  # (D, T) new vehicles' packs placed on the domestic market
    replacement_kwh: Floats  # (D, T) replacement packs placed on the market
    retired_packs: Floats  # (D, T, P, S, C, O)
    retired_kwh: Floats  # (D, T, P, S, C, O)


def pack_kwh(data: Data, params: Params) -> Floats:
    ratio = np.array(
        [
            params.scalar("market.kwh_bev_passenger"),
            params.scalar("market.kwh_phev_passenger"),
            params.scalar("market.kwh_commercial"),
        ]
    )
    per_unit = data.seg_share @ ratio  # nominal kWh per vehicle, by year
    return np.asarray(ratio[None, :] * (data.kwh_per_unit / per_unit)[:, None], dtype=np.float64)


def domestic_units(data: Data, params: Params) -> Floats:
    after = np.maximum(data.years - data.last_sales_year, 0)
    growth = (1.0 + params["market.sales_growth"])[:, None] ** after[None, :]
    return np.asarray(data.units * (1.0 - data.export_share) * growth, dtype=np.float64)


def build_cohorts(data: Data, params: Params) -> Cohorts:
    t = len(data.years)
    units = domestic_units(data, params)  # (D, T)
    kwh = pack_kwh(data, params)  # (T, S)
    mix = (
        data.prov_share[:, :, None, None]
        * data.seg_share[:, None, :, None]
        * data.chem_share[:, None, None, :]
    )  # (Y, P, S, C): share of a year's vehicles
    kern = retirement_kernels(
        battery_scale=data.weibull_scale[None] * params["lifetime.life_scale"][:, None, None],
        vehicle_mean=data.vehicle_mean_life,
        k=data.weibull_k,
        replace_share=params["lifetime.replace_share"],
        ages=t,
    )
    # Calendar form: K[d, y, t] = kernel at age t - y (zero before the sale).
    age = data.years[None, :] - data.years[:, None]  # (Y, T)
    gather = np.clip(age, 0, None)
    valid = (age >= 0).astype(np.float64)
    ys = np.arange(t)[:, None]
    # Advanced indices (Y, T) move to the front: (Y, T, D, S, C, O).
    cal = kern.retire[:, ys, :, :, gather, :] * valid[:, :, None, None, None, None]
    cal = cal * units.T[:, None, :, None, None, None]
    d = units.shape[0]
    packs = np.empty((d, t, N_P, N_S, N_C, N_O))
    energy = np.empty((d, t, N_P, N_S, N_C, N_O))
    for s in range(N_S):
        for c in range(N_C):
            w = cal[:, :, :, s, c, :].reshape(t, -1)  # (Y, T*D*O)
            base = mix[:, :, s, c]  # (Y, P)
            out = (base.T @ w).reshape(N_P, t, d, N_O).transpose(2, 1, 0, 3)
            packs[:, :, :, s, c, :] = out
            by_kwh = (base * kwh[:, s][:, None]).T @ w  # the same, weighted by pack energy
            energy[:, :, :, s, c, :] = by_kwh.reshape(N_P, t, d, N_O).transpose(2, 1, 0, 3)
    installs = kern.install[:, ys, :, :, gather] * valid[:, :, None, None, None]  # (Y,T,D,S,C)
    fleet_kwh = np.einsum("ysc,ys->ysc", mix.sum(axis=1), kwh)  # (Y, S, C) kWh per vehicle sold
    replacement = np.einsum("ysc,ytdsc,dy->dt", fleet_kwh, installs, units, optimize=True)
    new_packs = units[:, :, None, None, None] * mix[None]
    return Cohorts(
        units=units,
        pack_kwh=kwh,
        kg_per_kwh=data.pack_kg_per_kwh[None, :] * params["market.mass_factor"][:, None],
        new_packs=new_packs,
        new_kwh_domestic=units * (data.seg_share * kwh).sum(axis=1)[None, :],
        replacement_kwh=replacement,
        retired_packs=packs,
        retired_kwh=energy,
    )
