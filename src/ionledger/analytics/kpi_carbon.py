"""Carbon per province and year, every figure from the factors of carbon_v1.toml:

- cradle-to-gate footprint of the packs placed on the market (kWh x factor of the chemistry);
- process emissions of recycling (battery kg consumed x factor of the route);
- avoided emissions of recovered elements replacing virgin material (kg x virgin factor);
- avoided emissions of second life: a repurposed pack's remaining energy (rated kWh x SOH)
  displacing new storage at the displaced chemistry's cradle-to-gate factor x the credit share.

The engines aggregate activity (kWh, kg, counts) by province, year and factor key; the factors
are applied here, so each figure's explanation lists exactly the factors and activities it sums.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import ibis.expr.types as ir

from ionledger.analytics import factors as f
from ionledger.analytics.kpi_base import Facts, Report, ReportTable, Row, fetch, rounded, year_of
from ionledger.analytics.kpi_joins import packs, unkey
from ionledger.analytics.params import AnalyticsParams

KEYS = ("province", "year")
FIGURES = ("cradle_to_gate_t", "process_t", "avoided_materials_t", "avoided_second_life_t")
COLUMNS = (*KEYS, "placed_kwh", "recycled_input_t", "repurposed_kwh_remaining", *FIGURES,
           "net_reduction_t")  # fmt: skip
Key = tuple[str | None, int]


def _activities(facts: Facts, params: AnalyticsParams) -> dict[str, list[Row]]:
    p = packs(facts, params)
    placed = p.filter(p.placed_year.notnull()).mutate(year=p.placed_year)
    rep = p.filter(p.repurposed_day.notnull() & p.soh_pct.notnull())
    rep = rep.mutate(year=year_of(rep.repurposed_day), left_kwh=rep.energy_kwh * rep.soh_pct / 100)
    r = facts.recovery
    if params.province is not None:
        r = r.filter(r.province == params.province)
    runs = r.select("seq", "province", "year", "route", "input_kg").distinct()
    runs = runs.mutate(route=runs.route.fill_null(params.default_route))
    frames: dict[str, tuple[ir.Table, tuple[str, ...], dict[str, Any]]] = {
        "cradle_to_gate_t": (placed, ("chemistry",), {"kwh": placed.energy_kwh.sum()}),
        "process_t": (runs, ("route",), {"kg": runs.input_kg.sum()}),
        "avoided_materials_t": (r, ("element",), {"kg": r.recovered_kg.sum()}),
        "avoided_second_life_t": (rep, ("chemistry",), {"kwh": rep.left_kwh.sum()}),
    }
    out = {}
    for figure, (t, by, metrics) in frames.items():
        if params.year is not None:
            t = t.filter(t.year == params.year)
        g = t.group_by("province", "year", *by).agg(n=t.count(), **metrics)
        out[figure] = unkey(fetch(g, ("province", "year", *by)), "province")
    if params.explain:
        ids = rep.filter(rep.year == params.year) if params.year is not None else rep
        got = fetch(ids.select("province", "year", "battery_id"), ("battery_id",))
        out["_repurposed"] = unkey(got, "province")
        seqs = runs.filter(runs.year == params.year) if params.year is not None else runs
        out["_seqs"] = fetch(seqs.select("province", "year", "seq"), ("seq",))
    return out


def factor_of(figure: str, key: str, params: AnalyticsParams) -> f.Factor | None:
    data = f.table("carbon")
    grid = data["grids"][params.grid]
    if figure in ("cradle_to_gate_t", "avoided_second_life_t"):
        chem = data["second_life"]["displaced_chemistry"] if "second" in figure else key
        row = data["cradle_to_gate"][grid["cradle_to_gate_grid"]].get(chem)
        if row is None:
            return None
        value = float(row[2])
        if "second" in figure:
            value *= float(data["second_life"]["credit_share"])
            src = f"{data['cradle_to_gate']['source']}; {data['second_life']['source']}"
            return f.Factor(f"second_life.{chem}.{params.grid}", value, "kgCO2e/kWh", src)
        return f.Factor(f"cradle_to_gate.{chem}.{params.grid}", value, "kgCO2e/kWh",
                        str(data["cradle_to_gate"]["source"]))  # fmt: skip
    if figure == "process_t":
        route = data["routes"].get(key)
        if route is None:
            return None
        row = data["process"][grid["process_grid"]][route]
        return f.Factor(f"process.{route}.{params.grid}", float(row[3]), "kgCO2e/kg battery",
                        str(data["process"]["source"]))  # fmt: skip
    m = data["materials"].get(key)
    if m is None:
        return None
    value = float(m["kg_co2e_per_kg_material"]) / float(m["element_fraction"])
    return f.Factor(f"virgin.{key} ({m['material']})", value, "kgCO2e/kg element",
                    str(data["materials"]["source"]))  # fmt: skip


def carbon(facts: Facts, params: AnalyticsParams) -> Report:
    acts = _activities(facts, params)
    totals: dict[Key, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    explain: dict[Key, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for figure in FIGURES:
        for a in acts[figure]:
            key: Key = (a["province"], a["year"])
            by = a.get("chemistry", a.get("route", a.get("element")))
            qty = a.get("kwh", a.get("kg")) or 0.0
            factor = factor_of(figure, str(by), params)
            kg = 0.0 if factor is None else qty * factor.value
            totals[key][figure] += kg / 1000
            activity = {"by": by, "quantity": rounded(qty), "count": a["n"]}
            if figure == "cradle_to_gate_t":
                totals[key]["placed_kwh"] += qty
            elif figure == "process_t":
                totals[key]["recycled_input_t"] += qty / 1000
            elif figure == "avoided_second_life_t":
                totals[key]["repurposed_kwh_remaining"] += qty
            explain[key][figure].append(
                {**activity, "factor": None if factor is None else factor.as_dict(),
                 "kgCO2e": rounded(kg)}
            )  # fmt: skip
    rows = []
    for key in sorted(totals, key=lambda k: (k[0] is None, k[0] or "", k[1])):
        t = totals[key]
        net = t["avoided_materials_t"] + t["avoided_second_life_t"] - t["process_t"]
        row: Row = {"province": key[0], "year": key[1]}
        for c in COLUMNS[2:-1]:
            row[c] = rounded(t[c])
        row["net_reduction_t"] = rounded(net)
        rows.append(row)
    return Report(
        "carbon",
        (ReportTable("carbon", COLUMNS, rows),),
        params.as_dict(),
        _explain(rows, explain, acts, params) if params.explain else None,
    )


def _explain(
    rows: list[Row], parts: dict[Key, dict[str, list[Row]]], acts: dict[str, list[Row]],
    params: AnalyticsParams,
) -> list[Row]:  # fmt: skip
    lim = params.explain_limit
    ids: dict[Key, list[str]] = defaultdict(list)
    for a in acts["_repurposed"]:
        ids[(a["province"], a["year"])].append(a["battery_id"])
    seqs: dict[Key, list[int]] = defaultdict(list)
    for a in acts["_seqs"]:
        seqs[(a["province"], a["year"])].append(a["seq"])
    out: list[Row] = [{"factors": f.version_of("carbon"), "grid": params.grid}]
    for row in rows:
        key = (row["province"], row["year"])
        for figure in FIGURES:
            events: Row = {}
            if figure in ("process_t", "avoided_materials_t"):
                events = {"recycling_seqs": seqs[key][:lim], "recycling_count": len(seqs[key])}
            elif figure == "avoided_second_life_t":
                events = {"battery_ids": ids[key][:lim], "battery_count": len(ids[key])}
            out.append({"province": key[0], "year": key[1], "figure": figure,
                        "value": row[figure], "terms": parts[key][figure],
                        "events": events})  # fmt: skip
    return out
