"""What happens to packs once collected: cascade use by state of health, recycling by route with
its recovery rates, carbon, and the informal workshops' losses and pollution.

- Cascade: a pack is fit for reuse when its SOH at retirement is at least ``cascade.min_soh``;
  SOH is normal around ``lifetime.soh_mean_replaced`` (a failed pack, 70-80%: refdata
  lifetime_secondlife_params.csv) or ``soh_mean_scrapped`` (a pack leaving with its vehicle).
  Of the fit packs a share ``cascade.uptake`` (by chemistry) goes to cascade firms, raised to the
  policy's cascade quota; those firms reuse ``cascade.reuse_fraction`` of the weight (>= 60%
  under the 2024 white-list conditions: DOMAIN.md) and send the rest to recycling. Reused packs
  serve a Weibull second life of mean ``lifetime.second_life_years`` and then are recycled.
- Recycling: hydro / pyro / direct shares with EverBatt's recovery by element (refdata
  everbatt2019_recycling_defaults.csv); informal workshops recover ``informal_recovery``.
- Carbon (formal only; the sources give no informal process data): virgin-material emissions
  avoided (GREET 2022 via EverBatt 2023) less process emissions (derived, China grid), plus a
  credit for a reused kWh displacing new LFP storage (``cascade.credit_share`` of its footprint).
- Pollution proxy: Li, Ni, Co, Mn and electrolyte not recovered by informal workshops (t).
"""

from __future__ import annotations

import math

import numpy as np

from ionledger.policy.axes import CHEMISTRIES, ELEMENTS, Floats
from ionledger.policy.inputs import Data
from ionledger.policy.params import Params

_HAZARDOUS = np.array([e in ("Li", "Ni", "Co", "Mn") for e in ELEMENTS])
_erf = np.vectorize(math.erf, otypes=[np.float64])


def reuse_fit(params: Params) -> Floats:
    """(D, O): share of retired packs with SOH at or above the cascade threshold."""
    means = np.stack(
        (params["lifetime.soh_mean_replaced"], params["lifetime.soh_mean_scrapped"]), axis=1
    )
    z = (params["cascade.min_soh"][:, None] - means) / params["lifetime.soh_sd"][:, None]
    return np.asarray(1.0 - 0.5 * (1.0 + _erf(z / math.sqrt(2.0))), dtype=np.float64)


def cascade_share(params: Params, quota: float) -> Floats:
    """(D, C, O): share of formally collected packs that go to cascade firms."""
    uptake = np.stack([params[f"cascade.uptake.{c}"] for c in CHEMISTRIES], axis=1)
    return reuse_fit(params)[:, None, :] * np.maximum(uptake, quota)[:, :, None]


def second_life_pmf(params: Params, k: float, ages: int) -> Floats:
    """(D, A): share of reused packs that end their second life at age a (years)."""
    scale = params["lifetime.second_life_years"] / math.gamma(1.0 + 1.0 / k)
    edges = np.concatenate(([0.0], np.arange(ages) + 0.5))
    survive = np.exp(-((edges[None, :] / scale[:, None]) ** k))
    return np.asarray(survive[:, :-1] - survive[:, 1:], dtype=np.float64)


def formal_recovery(data: Data, params: Params) -> Floats:
    """(D, E): recovery by element for the formal route mix."""
    shares = np.stack([params[f"economics.route_{r}"] for r in ("hydro", "pyro", "direct")], 1)
    return np.asarray(shares @ data.recovery, dtype=np.float64)


def informal_recovery(params: Params) -> Floats:
    return np.stack([params[f"economics.informal_recovery.{e}"] for e in ELEMENTS], axis=1)


def recovered(kwh_by_chem: Floats, data: Data, recovery: Floats) -> Floats:
    """(D, E) tonnes recovered from ``kwh_by_chem`` (D, C) processed."""
    return np.asarray(np.einsum("dc,ce,de->de", kwh_by_chem, data.content, recovery) / 1000.0)


def carbon_avoided(
    *, recovered_t: Floats, processed_t: Floats, reused_kwh: Floats, data: Data, params: Params
) -> Floats:
    """(D,) tonnes CO2e avoided by formal recycling and reuse, net of process emissions."""
    shares = np.stack([params[f"economics.route_{r}"] for r in ("hydro", "pyro", "direct")], 1)
    process = processed_t * (shares @ data.process_ghg)  # kg/kg = t/t
    virgin = recovered_t @ data.ef_virgin
    soh = params["lifetime.soh_mean_replaced"] / 100.0
    reuse = reused_kwh * soh * data.pack_ghg_lfp * params["cascade.credit_share"] / 1000.0
    return np.asarray(virgin - process + reuse, dtype=np.float64)


def pollution(kwh_by_chem: Floats, data: Data, recovery: Floats) -> Floats:
    """(D,) tonnes of Li, Ni, Co, Mn and electrolyte an informal workshop does not recover."""
    lost = np.einsum("dc,ce,de->d", kwh_by_chem, data.content * _HAZARDOUS, 1.0 - recovery)
    electrolyte = kwh_by_chem @ data.electrolyte_kg_per_kwh
    return np.asarray((lost + electrolyte) / 1000.0, dtype=np.float64)
