"""Scorecards: provinces and enterprises scored 0-100 on formal collection, cascade use, recovery
efficiency, carbon reduction, reporting timeliness and inter-province transfer time.

Each indicator is scored against its target (scorecard_v1.toml): "higher is better" scores
100 x min(1, value / target), "lower is better" 100 x min(1, target / value). The overall score is
the weighted mean of the indicators an entity has (weights renormalised over those), so a firm
is not penalised for an activity it does not do. Ranks are per year, best first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ionledger.analytics import factors as f
from ionledger.analytics import kpi_indicators as ind
from ionledger.analytics.kpi_base import Facts, Report, ReportTable, Row, rounded
from ionledger.analytics.params import AnalyticsParams

INDICATORS = ("formal_collection_rate", "cascade_rate", "recovery_efficiency",
              "carbon_reduction_kg_per_kg", "reporting_timeliness", "transfer_days")  # fmt: skip
Source = Callable[[Facts, AnalyticsParams], ind.Values]
Paired = Callable[[Facts, AnalyticsParams], tuple[ind.Values, ind.Values]]

PROVINCE: dict[str, Source] = {
    "formal_collection_rate": ind.formal_collection,
    "cascade_rate": ind.cascade_rate,
}
ENTERPRISE: dict[str, Source] = {
    "formal_collection_rate": ind.producer_collection,  # a producer's own retired packs
    "cascade_rate": ind.firm_reuse,
}
# Indicators of both tables from one query each: (per province, per enterprise), the
# enterprise being the recycler, the reporter or the shipper.
BOTH: dict[str, Paired] = {
    "recovery_efficiency": ind.recovery_efficiency,
    "carbon_reduction_kg_per_kg": ind.carbon_reduction,
    "reporting_timeliness": ind.timeliness,
    "transfer_days": ind.transfer_days,
}


def score(value: float | None, spec: dict[str, Any]) -> float | None:
    if value is None:
        return None
    target = float(spec["target"])
    if spec["direction"] == "higher":
        return 100.0 * min(1.0, max(0.0, value) / target)
    return 100.0 if value <= target else 100.0 * target / value


def _table(values: dict[str, ind.Values], params: AnalyticsParams) -> list[Row]:
    specs = f.table("scorecard")["indicators"]
    keys = sorted({k for v in values.values() for k in v})
    if params.year is not None:
        keys = [k for k in keys if k[1] == params.year]
    rows = []
    for entity, year in keys:
        row: Row = {"entity": entity, "year": year}
        total = weights = 0.0
        for name in INDICATORS:
            v = values[name].get((entity, year))
            s = score(v, specs[name])
            row[name], row[f"{name}_score"] = rounded(v), rounded(s, 2)
            if s is not None:
                total += float(specs[name]["weight"]) * s
                weights += float(specs[name]["weight"])
        row["score"] = rounded(total / weights, 2) if weights else None
        rows.append(row)
    for year in sorted({r["year"] for r in rows}):
        ranked = sorted(
            (r for r in rows if r["year"] == year and r["score"] is not None),
            key=lambda r: (-r["score"], r["entity"]),
        )
        for i, r in enumerate(ranked):
            r["rank"] = i + 1
    for r in rows:
        r.setdefault("rank", None)
    return rows


COLUMNS = ("entity", "year", *[c for n in INDICATORS for c in (n, f"{n}_score")], "score", "rank")


def scorecard(facts: Facts, params: AnalyticsParams) -> Report:
    by_province = {name: src(facts, params) for name, src in PROVINCE.items()}
    by_enterprise = {name: src(facts, params) for name, src in ENTERPRISE.items()}
    for name, both in BOTH.items():
        by_province[name], by_enterprise[name] = both(facts, params)
    provinces = _table(by_province, params)
    enterprises = _table(by_enterprise, params)
    return Report(
        "scorecard",
        (ReportTable("provinces", COLUMNS, provinces),
         ReportTable("enterprises", COLUMNS, enterprises)),
        params.as_dict(),
        _explain() if params.explain else None,
    )  # fmt: skip


def _explain() -> list[Row]:
    specs = f.table("scorecard")["indicators"]
    out: list[Row] = []
    for name in INDICATORS:
        s = specs[name]
        out.append({"indicator": name, "weight": s["weight"], "target": s["target"],
                    "direction": s["direction"], "source": s["source"]})  # fmt: skip
    out.append({"method": "score = 100 x min(1, value/target) (higher) or min(1, target/value) "
                "(lower); overall = weighted mean over the indicators present",
                "source": f.version_of("scorecard")})  # fmt: skip
    return out
