"""Tables of runs and comparisons, as rows of text cells (rendered by the CLI and the HTML page)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ionledger.policy.axes import ELEMENTS, PROVINCE_CODES
from ionledger.policy.results import NATIONAL, Result, key_years
from ionledger.policy.scenario import Policy, Scenario

# Headline rows: series, scale, unit shown.
HEADLINE = (
    ("retired_t", 1e3, "kt"),
    ("retired_gwh", 1.0, "GWh"),
    ("retired_packs", 1e3, "k packs"),
    ("formal_t", 1e3, "kt"),
    ("informal_t", 1e3, "kt"),
    ("rationed_t", 1e3, "kt"),
    ("formal_rate", 0.01, "%"),
    ("cascade_reused_t", 1e3, "kt"),
    ("recycled_formal_t", 1e3, "kt"),
    ("interprovince_formal_t", 1e3, "kt"),
    ("in_transit_t", 1e3, "kt"),
    ("utilisation", 0.01, "%"),
    ("offer_formal_cny", 1.0, "CNY"),
    ("offer_informal_cny", 1.0, "CNY"),
    ("reward_paid_cny", 1.0, "CNY"),
    ("epr_balance_cny", 1e9, "bn CNY"),
    ("recovered_t", 1e3, "kt"),
    ("carbon_avoided_tco2e", 1e6, "Mt"),
    ("pollution_t", 1e3, "kt"),
    ("farmland_km2", 1.0, "km2"),
)
# Sums over the policy period, for comparisons.
CUMULATIVE = (
    ("formal_t", 1e6, "Mt"),
    ("informal_t", 1e6, "Mt"),
    ("recovered_t", 1e6, "Mt"),
    ("carbon_avoided_tco2e", 1e6, "Mt CO2e"),
    ("pollution_t", 1e3, "kt"),
    ("epr_inflow_cny", 1e9, "bn CNY"),
    ("epr_outflow_cny", 1e9, "bn CNY"),
)


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]


def fmt(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.3g}" if abs(x) < 10 else f"{x:,.1f}"


def _cell(result: Result, name: str, year: int, scale: float) -> str:
    values = result.value(name, year) / scale
    if len(values) == 1:
        return fmt(float(values[0]))
    lo, mid, hi = np.percentile(values, (5, 50, 95))
    return f"{fmt(mid)} [{fmt(lo)}-{fmt(hi)}]"


def headline(result: Result) -> Table:
    years = key_years(result)
    rows = [
        [f"{NATIONAL[name]} ({unit})", *(_cell(result, name, y, scale) for y in years)]
        for name, scale, unit in HEADLINE
    ]
    note = " (median [5%-95%])" if result.draws > 1 else ""
    return Table(f"{result.scenario}: national flows{note}", ["", *map(str, years)], rows)


def provinces(result: Result, year: int, top: int = 12) -> Table:
    i = result.year_index(year)
    retired = np.median(result.provincial["retired_t"][:, i], axis=0)
    order = np.argsort(-retired)[:top]
    rows = []
    for p in order:

        def med(name: str, scale: float, p: int = int(p)) -> str:
            return fmt(float(np.median(result.provincial[name][:, i, p])) / scale)

        rows.append(
            [
                PROVINCE_CODES[p],
                med("retired_t", 1e3),
                med("retired_gwh", 1.0),
                med("retired_packs", 1e3),
                med("formal_t", 1e3),
                med("informal_t", 1e3),
                med("rationed_t", 1e3),
                med("formal_rate", 0.01),
                med("processed_in_t", 1e3),
                med("capacity_t", 1e3),
            ]
        )
    header = ["province", "retired kt", "GWh", "k packs", "formal kt", "informal kt",
              "refused kt", "formal %", "processed here kt", "capacity kt/yr"]  # fmt: skip
    return Table(f"{result.scenario}: provinces by retired tonnes, {year}", header, rows)


def materials(result: Result, year: int) -> Table:
    i = result.year_index(year)
    rows = [
        [
            e,
            fmt(float(np.median(result.recovered_formal_t[:, i, k]))),
            fmt(float(np.median(result.recovered_informal_t[:, i, k]))),
        ]
        for k, e in enumerate(ELEMENTS)
    ]
    return Table(
        f"{result.scenario}: materials recovered in {year}, t",
        ["element", "formal", "informal"],
        rows,
    )


def comparison(a: Result, b: Result, first: int) -> list[Table]:
    years = [y for y in key_years(a) if y in set(int(x) for x in b.years)]
    rows = []
    for name, scale, unit in HEADLINE:
        for y in years:
            va, vb = a.median(name, y) / scale, b.median(name, y) / scale
            rows.append([f"{NATIONAL[name]} ({unit})", str(y), fmt(va), fmt(vb), fmt(vb - va)])
    yearly = Table(
        f"{a.scenario} vs {b.scenario}", ["", "year", a.scenario, b.scenario, "B - A"], rows
    )
    last = int(min(a.years[-1], b.years[-1]))
    sums = []
    for name, scale, unit in CUMULATIVE:
        va, vb = (_total(r, name, first, last) / scale for r in (a, b))
        sums.append([f"{NATIONAL[name]} ({unit})", fmt(va), fmt(vb), fmt(vb - va)])
    header = ["", a.scenario, b.scenario, "B - A"]
    cumulative = Table(f"Totals {first}-{last} (medians)", header, sums)
    return [yearly, cumulative]


def _total(result: Result, name: str, first: int, last: int) -> float:
    i, j = result.year_index(first), result.year_index(last) + 1
    return float(np.median(result.national[name][:, i:j].sum(axis=1)))


def levers(scenario: Scenario) -> Table:
    def row(policy: Policy) -> list[str]:
        return [
            fmt(policy.epr_fee_cny_per_kwh),
            fmt(policy.rebate_cny),
            fmt(policy.points_cny),
            fmt(policy.enforcement_probability),
            fmt(policy.fine_cny),
            fmt(policy.capacity_factor),
            ", ".join(sorted(policy.mandate_provinces)) or "-",
            fmt(policy.transfer_delay_days),
            fmt(policy.cascade_quota),
        ]

    header = ["", "EPR fee CNY/kWh", "rebate CNY", "points CNY", "enforcement p", "fine CNY",
              "capacity x", "in-province mandate", "transfer wait d", "cascade quota"]  # fmt: skip
    rows = [["status quo", *row(scenario.status_quo)]]
    if scenario.policy_start_year <= scenario.end_year:
        rows.append([f"policy from {scenario.policy_start_year}", *row(scenario.policy)])
    return Table(f"{scenario.name}: levers", header, rows)
