"""The scorecard's indicators, each a mapping (entity, year) -> value, for provinces and for
enterprises. Engines aggregate sums and counts; the ratios are taken here."""

from __future__ import annotations

from collections import defaultdict

import ibis
import ibis.expr.types as ir

from ionledger.analytics.kpi_base import Facts, Row, fetch, ratio, year_of
from ionledger.analytics.kpi_carbon import factor_of
from ionledger.analytics.kpi_cascade import firm_rows
from ionledger.analytics.kpi_joins import NONE, packs
from ionledger.analytics.kpi_leakage import summary_rows
from ionledger.analytics.params import AnalyticsParams

Values = dict[tuple[str, int], float | None]
Pair = tuple[str, str]  # (province column, enterprise column)
CRITICAL = ("Ni", "Co", "Mn", "Li")  # the white list's recovery elements


def _ratios(t: ir.Table, by: str, num: ir.Value, den: ir.Value) -> Values:
    g = t.group_by(entity=t[by], year=t.year).agg(num=num.sum(), den=den.sum())
    g = g.filter(g.entity.notnull() & (g.entity != NONE))
    return {(r["entity"], r["year"]): ratio(r["num"], r["den"]) for r in fetch(g, ("entity",))}


def formal_collection(facts: Facts, params: AnalyticsParams) -> Values:
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in summary_rows(facts, params):
        if r["province"] is not None:
            s = sums[(r["province"], r["year"])]
            s[0] += r["received_whitelisted"] or 0
            s[1] += r["expected_retirements"] or 0.0
    return {k: ratio(v[0], v[1]) for k, v in sums.items()}


def producer_collection(facts: Facts, params: AnalyticsParams) -> Values:
    p = packs(facts, params)
    r = p.filter(p.retired_year.notnull()).mutate(year=p.retired_year)
    got = ibis.ifelse(r.whitelisted_day.notnull(), r.mass_kg, 0.0)
    return _ratios(r, "producer", got, r.mass_kg)


def cascade_rate(facts: Facts, params: AnalyticsParams) -> Values:
    """Repurposed mass / formally collected mass of a province's retired packs."""
    p = packs(facts, params)
    r = p.filter(p.retired_year.notnull() & p.collected_by.notnull()).mutate(year=p.retired_year)
    reused = ibis.ifelse(r.repurposed_day.notnull(), r.mass_kg, 0.0)
    return _ratios(r, "province", reused, r.mass_kg)


def firm_reuse(facts: Facts, params: AnalyticsParams) -> Values:
    """A cascade firm's reuse share of the weight it collected (the cascade report's)."""
    rows = firm_rows(facts, packs(facts, params), params)
    return {(r["firm"], r["year"]): r["reuse_share"] for r in rows}


def _recovery(facts: Facts, params: AnalyticsParams) -> ir.Table:
    r = facts.recovery.filter(facts.recovery.element.isin(CRITICAL))
    return r if params.province is None else r.filter(r.province == params.province)


def _pair(
    t: ir.Table, by: Pair, aggs: dict[str, ir.Value], extra: tuple[str, ...] = ()
) -> list[Row]:
    """``aggs`` grouped by both entities of ``by`` (a province and an enterprise), the year and
    ``extra``: one query for both scorecards, summed per entity in :func:`_per`. Sums keep 9
    decimals (they are intermediate)."""
    g = t.group_by(a=t[by[0]], b=t[by[1]], year=t.year, **{c: t[c] for c in extra}).agg(**aggs)
    return fetch(g, ("a", "b", "year", *extra), decimals=9)


def _per(rows: list[Row], side: str, col: str) -> dict[tuple[str, int], float | None]:
    """``col`` summed per (entity on ``side``, year); None where every part is None."""
    out: dict[tuple[str, int], float | None] = {}
    for r in rows:
        entity = r[side]
        if entity is None or entity == NONE:
            continue
        key, v = (entity, r["year"]), r[col]
        had = out.get(key)
        out[key] = had if v is None else (v if had is None else had + v)
    return out


def _pair_ratios(rows: list[Row]) -> tuple[Values, Values]:
    pair = []
    for side in ("a", "b"):
        num, den = _per(rows, side, "num"), _per(rows, side, "den")
        pair.append({k: ratio(num[k], den[k]) for k in num})
    return pair[0], pair[1]


def recovery_efficiency(facts: Facts, params: AnalyticsParams) -> tuple[Values, Values]:
    """Recovered / contained Ni, Co, Mn, Li: per province, per recycler."""
    r = _recovery(facts, params)
    r = r.filter(r.contained_kg.notnull())
    rows = _pair(r, ("province", "recycler"), {"num": r.recovered_kg.sum(),
                                               "den": r.contained_kg.sum()})  # fmt: skip
    return _pair_ratios(rows)


def _net_avoided(facts: Facts, params: AnalyticsParams, by: str) -> Values:
    r = facts.recovery
    if params.province is not None:
        r = r.filter(r.province == params.province)
    runs = r.select("seq", by, "year", "route", "input_kg").distinct()
    runs = runs.mutate(route=runs.route.fill_null(params.default_route))
    net: dict[tuple[str, int], float] = defaultdict(float)
    mass: dict[tuple[str, int], float] = defaultdict(float)
    values: dict[tuple[str, str], float] = {}

    def value_of(figure: str, key: str) -> float:  # many rows share a few factors
        if (figure, key) not in values:
            factor = factor_of(figure, key, params)
            values[(figure, key)] = factor.value if factor else 0.0
        return values[(figure, key)]

    g = runs.group_by(entity=runs[by], year=runs.year, key=runs.route).agg(q=runs.input_kg.sum())
    for row in fetch(g, ("entity", "year", "key")):
        mass[(row["entity"], row["year"])] += row["q"] or 0.0
        net[(row["entity"], row["year"])] -= (row["q"] or 0.0) * value_of("process_t", row["key"])
    g = r.group_by(entity=r[by], year=r.year, key=r.element).agg(q=r.recovered_kg.sum())
    for row in fetch(g, ("entity", "year", "key")):
        factor = value_of("avoided_materials_t", row["key"])
        net[(row["entity"], row["year"])] += (row["q"] or 0.0) * factor
    return {k: ratio(v, mass[k]) for k, v in net.items() if k[0] is not None}


def carbon_reduction(facts: Facts, params: AnalyticsParams) -> tuple[Values, Values]:
    """Net avoided kgCO2e (recovered elements replacing virgin, minus process) per kg recycled:
    per province, per recycler. Two queries, not one by both: per element and route, a query by
    province and recycler returns many more rows than the two together."""
    return _net_avoided(facts, params, "province"), _net_avoided(facts, params, "recycler")


def timeliness(facts: Facts, params: AnalyticsParams) -> tuple[Values, Values]:
    """On-time share of reported events: per province, per reporter."""
    t = facts.reporting
    if params.province is not None:
        t = t.filter(t.province == params.province)
    rows = _pair(t, ("province", "reporter"), {"num": (t.reports - t.late).sum(),
                                               "den": t.reports.sum()})  # fmt: skip
    return _pair_ratios(rows)


def transfer_days(facts: Facts, params: AnalyticsParams) -> tuple[Values, Values]:
    """Mean days from shipment to receipt of inter-province shipments: per origin province, per
    shipper."""
    t = facts.transfers
    t = t.filter(t.receive_day.notnull() & (t.from_province != t.to_province))
    if params.province is not None:
        t = t.filter(t.from_province == params.province)
    t = t.mutate(year=year_of(t.ship_day), days=t.receive_day - t.ship_day, one=1)
    rows = _pair(t, ("from_province", "shipper"), {"num": t.days.sum(), "den": t.one.sum()})
    return _pair_ratios(rows)
