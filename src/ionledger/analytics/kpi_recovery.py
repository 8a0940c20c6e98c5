"""Recovery: what recyclers got back of each element, against the China white-list thresholds
and the EU 2027 / 2031 material recovery targets; and the recycled-content potential (what was
recovered in a year against what the new packs placed on the market that year contain).

Efficiency is recovered / contained mass (fact_recovery: contained is the composition table x
the inputs' kWh). Aggregates are ratios of sums, not means of ratios.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from ionledger.analytics import factors as f
from ionledger.analytics.kpi_base import Facts, Report, ReportTable, Row, fetch, ratio, rounded
from ionledger.analytics.kpi_joins import lit_table, packs, unkey
from ionledger.analytics.params import AnalyticsParams
from ionledger.governance.composition import composition
from ionledger.governance.thresholds import MASS_TOLERANCE_KG, RECOVERY_THRESHOLDS

KEYS = ("recycler", "province", "year", "element")
# Outputs are declared to the gram: a recycler recovering exactly the threshold share shows
# 0.89999 after rounding. A shortfall within 0.01 percentage point is rounding, not a miss.
EFF_TOLERANCE = 1e-4
TARGET_COLS = ("cn_threshold", "meets_cn", "eu_2027_target", "meets_eu_2027", "eu_2031_target",
               "meets_eu_2031")  # fmt: skip
AGG = (*KEYS, "transformations", "contained_kg", "recovered_kg", "efficiency", *TARGET_COLS,
       "below_cn_transformations")  # fmt: skip
DETAIL = ("seq", "recycler", "province", "year", "route", "element", "input_kg", "contained_kg",
          "recovered_kg", "efficiency", *TARGET_COLS)  # fmt: skip
CONTENT = ("year", "element", "recovered_kg", "needed_kg", "potential_share", "eu_2031_minimum",
           "meets_eu_2031_minimum")  # fmt: skip


def _targets(element: str) -> tuple[tuple[str, str, float | None], ...]:
    t = f.table("targets")
    return (
        ("cn_threshold", "meets_cn", RECOVERY_THRESHOLDS.get(element)),
        ("eu_2027_target", "meets_eu_2027", t["eu_recovery"]["by_2027"].get(element)),
        ("eu_2031_target", "meets_eu_2031", t["eu_recovery"]["by_2031"].get(element)),
    )


def _flags(row: Row, targets: dict[str, Any] | None = None) -> Row:
    """The targets of the row's element and whether its efficiency meets them; ``targets``
    caches :func:`_targets` per element over many rows."""
    el, eff = row["element"], row["efficiency"]
    cache = {} if targets is None else targets
    found = cache.get(el)
    if found is None:
        found = cache[el] = _targets(el)
    out: Row = {}
    for name, met, target in found:
        out[name] = target
        out[met] = None if target is None or eff is None else int(eff >= target - EFF_TOLERANCE)
    return out


def _recovery(facts: Facts, params: AnalyticsParams) -> ir.Table:
    r = facts.recovery
    r = r.mutate(province=r.province.fill_null(""))
    if params.province is not None:
        r = r.filter(r.province == params.province)
    if params.year is not None:
        r = r.filter(r.year == params.year)
    return r


def _aggregate(r: ir.Table) -> list[Row]:
    thresholds = lit_table(
        [{"element": e, "threshold": v} for e, v in sorted(RECOVERY_THRESHOLDS.items())],
        {"element": "string", "threshold": "float64"},
    )
    j = r.left_join(thresholds, "element")
    below = (
        j.threshold.notnull()
        & j.contained_kg.notnull()
        & (j.contained_kg > 0)
        & (j.recovered_kg < j.threshold * j.contained_kg - MASS_TOLERANCE_KG)
    )
    j = j.mutate(below=ibis.ifelse(below, 1, 0))
    g = j.group_by(*KEYS).agg(
        transformations=j.seq.nunique(),
        contained_kg=j.contained_kg.sum(),
        recovered_kg=j.recovered_kg.sum(),
        below_cn_transformations=j.below.sum(),
    )
    rows = []
    targets: dict[str, Any] = {}
    for row in fetch(g, KEYS):
        row["efficiency"] = ratio(row["recovered_kg"], row["contained_kg"])
        row |= _flags(row, targets)
        rows.append({c: row.get(c) for c in AGG})
    return unkey(rows, "province")


def _detail(r: ir.Table) -> list[Row]:
    rows = fetch(r.select(*[c for c in DETAIL if c in r.columns]), ("seq", "element"))
    targets: dict[str, Any] = {}
    for row in rows:
        row["efficiency"] = ratio(row["recovered_kg"], row["contained_kg"])
        row.update(_flags(row, targets))
    return unkey([{c: row.get(c) for c in DETAIL} for row in rows], "province")


def _content(facts: Facts, params: AnalyticsParams) -> list[Row]:
    table = composition()
    comp = lit_table(
        [{"chemistry": c, "element": e, "kg_per_kwh": kg}
         for c, row in table.kg_per_kwh.items() for e, kg in row.items()],
        {"chemistry": "string", "element": "string", "kg_per_kwh": "float64"},
    )  # fmt: skip
    p = packs(facts, params)
    p = p.filter(p.placed_year.notnull())
    if params.year is not None:
        p = p.filter(p.placed_year == params.year)
    placed = p.group_by("chemistry", year=p.placed_year).agg(kwh=p.energy_kwh.sum())
    j = placed.join(comp, "chemistry")
    need = j.group_by("year", "element").agg(needed_kg=(j.kwh * j.kg_per_kwh).sum())
    r = _recovery(facts, params)
    got = r.group_by("year", "element").agg(recovered_kg=r.recovered_kg.sum())
    need_rows = {(x["year"], x["element"]): x["needed_kg"] for x in fetch(need, ("year",))}
    got_rows = {(x["year"], x["element"]): x["recovered_kg"] for x in fetch(got, ("year",))}
    minimum: dict[str, Any] = f.table("targets")["eu_recycled_content"]["from_2031"]
    out = []
    for key in sorted(set(need_rows) | set(got_rows)):
        rec, need_kg = got_rows.get(key, 0.0), need_rows.get(key)
        share = ratio(rec, need_kg)
        m = minimum.get(key[1])
        out.append({
            "year": key[0], "element": key[1], "recovered_kg": rounded(rec),
            "needed_kg": rounded(need_kg), "potential_share": share, "eu_2031_minimum": m,
            "meets_eu_2031_minimum": None if m is None or share is None else int(share >= m),
        })  # fmt: skip
    return out


def recovery(facts: Facts, params: AnalyticsParams) -> Report:
    r = _recovery(facts, params)
    tables = [
        ReportTable("recovery", AGG, _aggregate(r)),
        ReportTable("recycled_content", CONTENT, _content(facts, params)),
    ]
    if params.detail:
        tables.append(ReportTable("transformations", DETAIL, _detail(r)))
    return Report(
        "recovery", tuple(tables), params.as_dict(), _explain() if params.explain else None
    )


def _explain() -> list[Row]:
    t = f.table("targets")
    out: list[Row] = [
        f.Factor(f"cn_threshold.{e}", v, "1", "governance/thresholds.py: MIIT white-list "
                 "conditions 2024 (DOMAIN.md)").as_dict()
        for e, v in sorted(RECOVERY_THRESHOLDS.items())
    ]  # fmt: skip
    for key in ("by_2027", "by_2031"):
        for e, v in sorted(t["eu_recovery"][key].items()):
            out.append(f.Factor(f"eu_recovery_{key}.{e}", v, "1", t["eu_recovery"]["source"])
                       .as_dict())  # fmt: skip
    for e, v in sorted(t["eu_recycled_content"]["from_2031"].items()):
        out.append(f.Factor(f"eu_recycled_content_2031.{e}", v, "1",
                            t["eu_recycled_content"]["source"]).as_dict())  # fmt: skip
    out.append({"name": "composition", "source": composition().source,
                "version": composition().version})  # fmt: skip
    return out
