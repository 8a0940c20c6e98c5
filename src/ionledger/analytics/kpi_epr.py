"""Extended producer responsibility: obligations, attribution and compliance per producer-year.

What a producer placed on the market (packs, kWh, t) and saw retire comes from fact_batteries
(its ``producer`` is the vehicle maker that installed the pack); what was recycled of its packs
comes from the recycling lineage (fact_recycling_inputs.producer); certificates surrendered from
epr_surrenders. The jurisdiction's rule (epr_rules_v1.toml) turns these into an obligation, a
fulfilled mass, a deficit and a compensation (docs/analytics.md, "EPR").
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from ionledger.analytics import factors as f
from ionledger.analytics.kpi_base import Facts, Report, ReportTable, Row, fetch, ratio, rounded
from ionledger.analytics.kpi_joins import NONE, key_union, left, packs
from ionledger.analytics.params import AnalyticsParams

KEYS = ("producer", "year")
COLUMNS = (
    "producer", "year", "jurisdiction", "placed_packs", "placed_kwh", "placed_t", "retired_t",
    "collected_t", "repurposed_t", "recycled_t", "certificates_t", "basis_t", "target_share",
    "obligation_t", "fulfilled_t", "deficit_t", "fulfilled_share", "compensation", "currency",
)  # fmt: skip
FULFILMENT = {"collected": "collected_kg", "recycled": "recycled_kg", "certificates": "cert_kg"}


def rule_of(params: AnalyticsParams) -> dict[str, Any]:
    rule = dict(f.table("epr")[params.jurisdiction])
    if params.compensation_per_kg is not None:
        rule["compensation_per_kg"] = params.compensation_per_kg
        rule["compensation_source"] = "parameter"
    return rule


def share_of(rule: dict[str, Any], year: int) -> float:
    """The target share of the latest step at or before ``year``."""
    share = 0.0
    for start, value in sorted((int(y), float(v)) for y, v in rule["steps"]):
        if start <= year:
            share = value
    return share


def _frames(facts: Facts, params: AnalyticsParams, lag: int) -> list[ir.Table]:
    p = packs(facts, params)
    p = p.filter(p.producer != NONE)
    pl = p.filter(p.placed_year.notnull())
    placed = pl.group_by("producer", year=pl.placed_year).agg(
        placed_packs=pl.count(), placed_kwh=pl.energy_kwh.sum(), placed_kg=pl.mass_kg.sum()
    )
    basis = placed.select("producer", year=placed.year + lag, basis_placed_kg=placed.placed_kg)
    r = p.filter(p.retired_year.notnull())
    retired = r.group_by("producer", year=r.retired_year).agg(
        retired_kg=r.mass_kg.sum(),
        collected_kg=ibis.ifelse(r.whitelisted_day.notnull(), r.mass_kg, 0.0).sum(),
        repurposed_kg=ibis.ifelse(r.repurposed_day.notnull(), r.mass_kg, 0.0).sum(),
    )
    ri = facts.recycling_inputs.filter(facts.recycling_inputs.producer.notnull())
    if params.producer is not None:
        ri = ri.filter(ri.producer == params.producer)
    if params.province is not None:  # lineage has no province: its pack's
        # Recyclers consume modules: battery_id is then the module, pack_id the pack it was
        # part of (for a pack, itself), the pack whose province counts.
        ids = p.select(pid=p.battery_id)
        ri = ri.semi_join(ids, ri.pack_id == ids.pid)
    recycled = ri.group_by("producer", "year").agg(recycled_kg=ri.mass_kg.sum())
    frames = [placed, basis, retired, recycled]
    if params.province is None:  # certificates are national: no provincial view of them
        s = facts.surrenders
        if params.producer is not None:
            s = s.filter(s.producer == params.producer)
        frames.append(s.group_by("producer", year=s.year.cast("int64")).agg(cert_kg=s.kg.sum()))
    return frames


def _row(r: Row, rule: dict[str, Any], jurisdiction: str) -> Row:
    basis_kg = (r["retired_kg"] if rule["basis"] == "retired" else r["basis_placed_kg"]) or 0.0
    share = share_of(rule, r["year"])
    obligation = share * basis_kg
    fulfilled = r.get(FULFILMENT[rule["fulfilled_by"]]) or 0.0
    deficit = max(0.0, obligation - fulfilled)
    t = 1000.0
    return {
        "producer": r["producer"], "year": r["year"], "jurisdiction": jurisdiction,
        "placed_packs": r["placed_packs"], "placed_kwh": rounded(r["placed_kwh"]),
        "placed_t": rounded(r["placed_kg"] / t), "retired_t": rounded(r["retired_kg"] / t),
        "collected_t": rounded(r["collected_kg"] / t),
        "repurposed_t": rounded(r["repurposed_kg"] / t),
        "recycled_t": rounded(r["recycled_kg"] / t),
        "certificates_t": rounded(r["cert_kg"] / t) if "cert_kg" in r else None,
        "basis_t": rounded(basis_kg / t), "target_share": share,
        "obligation_t": rounded(obligation / t), "fulfilled_t": rounded(fulfilled / t),
        "deficit_t": rounded(deficit / t), "fulfilled_share": ratio(fulfilled, obligation),
        "compensation": rounded(deficit * float(rule["compensation_per_kg"]), 2),
        "currency": rule["currency"],
    }  # fmt: skip


def epr(facts: Facts, params: AnalyticsParams) -> Report:
    rule = rule_of(params)
    frames = _frames(facts, params, int(rule["lag_years"]))
    joined = key_union(frames, KEYS)
    for frame in frames:
        joined = left(joined, frame, KEYS)
    if params.year is not None:
        joined = joined.filter(joined.year == params.year)
    rows = [_row(r, rule, params.jurisdiction) for r in fetch(joined, KEYS)]
    notes = [f"{rule['title']}: {rule['source']}"]
    if params.province is not None:
        notes.append("provincial view: certificates are national and not shown")
    return Report(
        "epr",
        (ReportTable("compliance", COLUMNS, rows),),
        params.as_dict(),
        _explain(rule) if params.explain else None,
        tuple(notes),
    )


def _explain(rule: dict[str, Any]) -> list[Row]:
    src = f"{f.version_of('epr')}: {rule['source']}"
    out: list[Row] = [
        {"name": "basis", "value": rule["basis"], "lag_years": rule["lag_years"], "source": src},
        {"name": "fulfilled_by", "value": rule["fulfilled_by"], "source": src},
        f.Factor(
            "compensation_per_kg", float(rule["compensation_per_kg"]),
            f"{rule['currency']}/kg", str(rule["compensation_source"]),
        ).as_dict(),
    ]  # fmt: skip
    for start, share in rule["steps"]:
        out.append(f.Factor(f"target_share.from_{start}", float(share), "1", src).as_dict())
    out.append(
        {"method": "obligation = target_share(year) x basis; deficit = max(0, obligation - "
         "fulfilled); compensation = deficit_kg x compensation_per_kg",
         "events": "fact_batteries (placed, retired, white-listed receipt, repurposed), "
         "fact_recycling_inputs (lineage), epr_surrenders"}
    )  # fmt: skip
    return out
