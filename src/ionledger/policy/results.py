"""A run's results: yearly series by draw, nationally and by province, and their summaries.

Units are in the names: ``_t`` tonnes, ``_gwh`` GWh, ``_packs`` packs, ``_cny`` yuan,
``_tco2e`` tonnes CO2e, ``_km2`` square kilometres; rates are fractions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ionledger.policy.axes import ELEMENTS, PROVINCE_CODES, Floats

PERCENTILES = (5, 50, 95)

# National series, in the order tables show them, with a label (units are in the names).
NATIONAL: dict[str, str] = {
    "retired_t": "retired",
    "retired_gwh": "retired",
    "retired_packs": "retired",
    "formal_t": "formal channel",
    "informal_t": "informal channel",
    "rationed_t": "of which refused by full or out-of-reach plants",
    "formal_rate": "formal rate (formal t / retired t)",
    "cascade_reused_t": "reused in cascade (second life)",
    "recycled_formal_t": "recycled by white-listed firms",
    "informal_processed_t": "processed by informal workshops",
    "in_transit_t": "awaiting cross-province approval (year end)",
    "interprovince_formal_t": "formal, processed outside its province",
    "capacity_t": "white-listed capacity",
    "utilisation": "utilisation of white-listed capacity",
    "offer_formal_cny": "formal offer per pack",
    "offer_informal_cny": "informal offer per pack",
    "informal_advantage_cny": "informal price advantage per pack",
    "reward_paid_cny": "rebate + points paid per formal pack",
    "epr_inflow_cny": "EPR fees collected",
    "epr_outflow_cny": "rebates and points paid",
    "epr_balance_cny": "EPR fund balance (year end)",
    "recovered_t": "materials recovered (formal + informal)",
    "carbon_avoided_tco2e": "net CO2e avoided (formal)",
    "pollution_t": "pollution proxy: informal unrecovered Li/Ni/Co/Mn + electrolyte",
    "farmland_km2": "farmland affected (cumulative proxy)",
    "new_gwh": "packs placed on the domestic market",
}
PROVINCIAL = (
    "sold_vehicles",
    "retired_t",
    "retired_gwh",
    "retired_packs",
    "formal_t",
    "formal_gwh",
    "formal_packs",
    "informal_t",
    "informal_gwh",
    "informal_packs",
    "rationed_t",
    "processed_in_t",
    "capacity_t",
    "formal_rate",
)


@dataclass(frozen=True, slots=True)
class Result:
    scenario: str
    years: np.ndarray  # (T,)
    national: dict[str, Floats]  # name -> (D, T)
    provincial: dict[str, Floats]  # name -> (D, T, P)
    recovered_formal_t: Floats  # (D, T, E)
    recovered_informal_t: Floats  # (D, T, E)
    od_formal_t: Floats  # (T, P, P): mean over draws of formal t from p processed in q

    @property
    def draws(self) -> int:
        return int(next(iter(self.national.values())).shape[0])

    def year_index(self, year: int) -> int:
        hits = np.flatnonzero(self.years == year)
        if len(hits) == 0:
            raise KeyError(f"year {year} is outside the run ({self.years[0]}-{self.years[-1]})")
        return int(hits[0])

    def value(self, name: str, year: int) -> Floats:
        """(D,) values of a national series in a year."""
        return self.national[name][:, self.year_index(year)]

    def median(self, name: str, year: int) -> float:
        return float(np.median(self.value(name, year)))

    def bands(self, name: str) -> Floats:
        """(3, T): the 5th, 50th and 95th percentiles over draws of a national series."""
        return np.asarray(np.percentile(self.national[name], PERCENTILES, axis=0))


def concatenate(parts: list[Result]) -> Result:
    """Results of batches of draws of one scenario, as one result."""
    first = parts[0]
    weights = np.array([p.draws for p in parts], dtype=np.float64)
    return Result(
        scenario=first.scenario,
        years=first.years,
        national={k: np.concatenate([p.national[k] for p in parts]) for k in first.national},
        provincial={k: np.concatenate([p.provincial[k] for p in parts]) for k in first.provincial},
        recovered_formal_t=np.concatenate([p.recovered_formal_t for p in parts]),
        recovered_informal_t=np.concatenate([p.recovered_informal_t for p in parts]),
        od_formal_t=np.tensordot(weights / weights.sum(), [p.od_formal_t for p in parts], 1),
    )


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _series(values: Floats) -> Any:
    """One draw: a list; several: {p5, p50, p95} lists."""
    if values.shape[0] == 1:
        return [_round(v) for v in values[0].tolist()]
    bands = np.percentile(values, PERCENTILES, axis=0)
    return {
        f"p{q}": [_round(v) for v in band.tolist()]
        for q, band in zip(PERCENTILES, bands, strict=True)
    }


def to_dict(result: Result, *, provinces: bool = True) -> dict[str, Any]:
    """A JSON-ready summary: every national series, recovered materials, and by province."""
    out: dict[str, Any] = {
        "scenario": result.scenario,
        "draws": result.draws,
        "years": [int(y) for y in result.years],
        "national": {k: _series(result.national[k]) for k in NATIONAL},
        "recovered_formal_t": {
            e: _series(result.recovered_formal_t[:, :, i]) for i, e in enumerate(ELEMENTS)
        },
        "recovered_informal_t": {
            e: _series(result.recovered_informal_t[:, :, i]) for i, e in enumerate(ELEMENTS)
        },
    }
    if provinces:
        out["provinces"] = {
            code: {k: _series(result.provincial[k][:, :, i]) for k in PROVINCIAL}
            for i, code in enumerate(PROVINCE_CODES)
        }
    return out


def key_years(result: Result, wanted: Iterable[int] = (2024, 2030, 2035, 2040)) -> list[int]:
    years = {int(y) for y in result.years}
    return [y for y in wanted if y in years]
