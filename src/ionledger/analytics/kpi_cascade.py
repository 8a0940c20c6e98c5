"""Cascade triage: each retired pack graded direct second life / needs rework / recycle (or
untested), by the rules of triage_v1.toml; and each cascade firm's reuse share of the weight it
collected (the white list's >= 60 % rule).

Effective SOH is the lower of the tested SOH and the tested capacity against the rated capacity
(rated kWh / nominal pack voltage). A firm's collected weight is every pack it received after
retirement (a formal receipt, or a shipment it received); its reused weight is the packs it
repurposed. Both are counted in the pack's retirement year.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from ionledger.analytics import factors as f
from ionledger.analytics.kpi_base import Facts, Report, ReportTable, Row, fetch, ratio, rounded
from ionledger.analytics.kpi_joins import nullable, packs, unkey
from ionledger.analytics.params import AnalyticsParams

GRADES = ("direct_second_life", "needs_rework", "recycle", "untested")
REUSE_MIN_SHARE = 0.6  # white-list conditions 2024: reuse >= 60 % of collected weight (DOMAIN.md)
SUMMARY = ("province", "year", "grade", "packs", "mass_t", "energy_kwh")
FIRMS = ("firm", "year", "collected_packs", "collected_t", "reused_packs", "reused_t",
         "reuse_share", "meets_60_percent")  # fmt: skip
DETAIL = ("battery_id", "province", "year", "grade", "effective_soh_pct", "resistance_ohm",
          "negative_events")  # fmt: skip


def graded(p: ir.Table, rules: dict[str, Any]) -> ir.Table:
    """Retired packs with their effective SOH and grade."""
    r = p.filter(p.retired_year.notnull())
    volts = rules["nominal_pack_voltage"]
    nominal = ibis.ifelse(r.chemistry == "LFP", float(volts["LFP"]), float(volts["default"]))
    cap_soh = r.capacity_ah * nominal / (r.energy_kwh * 10.0)  # Ah x V / (kWh x 1000) x 100
    soh = ibis.cases(
        (r.soh_pct.isnull(), cap_soh),
        (cap_soh.isnull(), r.soh_pct),
        (cap_soh < r.soh_pct, cap_soh),
        else_=r.soh_pct,
    )
    r = r.mutate(effective_soh_pct=soh, negative_events=r.negative_events.fill_null(0))
    ohm = r.resistance_ohm
    grade = ibis.cases(
        (r.negative_events >= int(rules["recycle_min_negative_events"]), "recycle"),
        (r.effective_soh_pct.isnull(), "untested"),
        (r.effective_soh_pct < float(rules["recycle_below_soh_pct"]), "recycle"),
        (ohm.notnull() & (ohm > float(rules["recycle_above_resistance_ohm"])), "recycle"),
        (r.effective_soh_pct < float(rules["direct_min_soh_pct"]), "needs_rework"),
        (ohm.notnull() & (ohm > float(rules["direct_max_resistance_ohm"])), "needs_rework"),
        (r.negative_events > 0, "needs_rework"),
        else_="direct_second_life",
    )
    return r.mutate(grade=grade, year=r.retired_year)


def firm_rows(facts: Facts, p: ir.Table, params: AnalyticsParams) -> list[Row]:
    """Each cascade firm's collected and reused weight per retirement year."""
    r = p.filter(p.retired_year.notnull())
    firms = r.filter(r.repurposed_by.notnull()).select(firm=r.repurposed_by).distinct()
    tr = facts.transfers.filter(facts.transfers.receive_day.notnull())
    received = nullable(tr.select("battery_id", firm=tr.receiver), ("battery_id", "firm"))
    collected = r.filter(r.collected_by.notnull()).select("battery_id", firm=r.collected_by)
    collected = nullable(collected, ("battery_id", "firm"))
    # Only the firms' receipts: filtered before the union, which then dedupes few rows.
    received, collected = received.semi_join(firms, "firm"), collected.semi_join(firms, "firm")
    got = received.union(collected).distinct()
    got = got.join(r.select("battery_id", "mass_kg", "retired_year"), "battery_id")
    got = got.group_by("firm", year=got.retired_year).agg(
        collected_packs=got.count(), collected_kg=got.mass_kg.sum()
    )
    reused = r.filter(r.repurposed_by.notnull())
    reused = reused.group_by(firm=reused.repurposed_by, year=reused.retired_year).agg(
        reused_packs=reused.count(), reused_kg=reused.mass_kg.sum()
    )
    j = got.outer_join(reused, ["firm", "year"])
    j = j.select(
        firm=ibis.coalesce(j.firm, j.firm_right), year=ibis.coalesce(j.year, j.year_right),
        collected_packs=j.collected_packs.fill_null(0), collected_kg=j.collected_kg.fill_null(0),
        reused_packs=j.reused_packs.fill_null(0), reused_kg=j.reused_kg.fill_null(0),
    )  # fmt: skip
    if params.year is not None:
        j = j.filter(j.year == params.year)
    out = []
    for row in fetch(j, ("firm", "year")):
        share = ratio(row["reused_kg"], row["collected_kg"])
        out.append({
            "firm": row["firm"], "year": row["year"],
            "collected_packs": row["collected_packs"],
            "collected_t": rounded(row["collected_kg"] / 1000),
            "reused_packs": row["reused_packs"], "reused_t": rounded(row["reused_kg"] / 1000),
            "reuse_share": share,
            "meets_60_percent": None if share is None else int(share >= REUSE_MIN_SHARE),
        })  # fmt: skip
    return out


def cascade(facts: Facts, params: AnalyticsParams) -> Report:
    rules = f.table("triage")
    g = graded(packs(facts, params), rules)
    if params.year is not None:
        g = g.filter(g.year == params.year)
    s = g.group_by("province", "year", "grade").agg(
        packs=g.count(), mass_kg=g.mass_kg.sum(), energy_kwh=g.energy_kwh.sum()
    )
    s = s.mutate(mass_t=s.mass_kg / 1000).drop("mass_kg")
    tables = [
        ReportTable("grades", SUMMARY, unkey(fetch(s, ("province", "year", "grade")), "province")),
        ReportTable("firms", FIRMS, firm_rows(facts, packs(facts, params), params)),
    ]
    if params.detail:
        rows = fetch(g.select(*DETAIL), ("battery_id",))
        tables.append(ReportTable("packs", DETAIL, unkey(rows, "province")))
    return Report(
        "cascade", tuple(tables), params.as_dict(), _explain(rules) if params.explain else None
    )


def _explain(rules: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    for name, unit, src in (
        ("traction_limit_soh_pct", "%", "traction_limit_source"),
        ("direct_min_soh_pct", "%", "direct_min_soh_source"),
        ("recycle_below_soh_pct", "%", "recycle_below_soh_source"),
        ("direct_max_resistance_ohm", "ohm", "resistance_source"),
        ("recycle_above_resistance_ohm", "ohm", "resistance_source"),
        ("recycle_min_negative_events", "events", "negative_events_source"),
    ):
        out.append(f.Factor(name, float(rules[name]), unit, str(rules[src])).as_dict())
    for chem, volts in rules["nominal_pack_voltage"].items():
        out.append(
            f.Factor(f"nominal_pack_voltage.{chem}", float(volts), "V", rules["capacity_source"])
        .as_dict())  # fmt: skip
    out.append(f.Factor("reuse_min_share", REUSE_MIN_SHARE, "1",
                        "white-list conditions 2024 (DOMAIN.md)").as_dict())  # fmt: skip
    out.append({"method": "grade order: recycle (negative events, SOH, resistance), untested, "
                "needs_rework, direct_second_life", "source": f.version_of("triage")})  # fmt: skip
    return out
