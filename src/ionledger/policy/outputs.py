"""Files a run or a comparison writes: CSV tables, a JSON summary, PNG charts and an HTML page.

Run (``write_run``): ``national.csv`` (year x series; with draws, p5/p50/p95 columns),
``provinces.csv`` (year x province x channel, medians), ``materials.csv``, ``summary.json``,
``timeseries.png``, ``sankey.png`` and ``report.html``. Comparison (``write_comparison``):
``comparison.csv``, ``compare_timeseries.png``, ``compare_sankey.png`` and ``compare.html``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ionledger.policy import charts, tables
from ionledger.policy.axes import ELEMENTS, PROVINCE_CODES
from ionledger.policy.report_html import page
from ionledger.policy.results import NATIONAL, PERCENTILES, PROVINCIAL, Result, to_dict
from ionledger.policy.scenario import Scenario

SANKEY_FIRST = 2025


def _sankey_years(result: Result) -> tuple[int, int]:
    last = int(result.years[-1])
    return (min(SANKEY_FIRST, last), last)


def write_national_csv(result: Result, path: Path) -> None:
    names = list(NATIONAL)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if result.draws == 1:
            w.writerow(["year", *names])
            for i, year in enumerate(result.years):
                w.writerow([int(year), *(f"{result.national[n][0, i]:.6g}" for n in names)])
            return
        w.writerow(["year", *(f"{n}_p{q}" for n in names for q in PERCENTILES)])
        bands = {n: result.bands(n) for n in names}
        for i, year in enumerate(result.years):
            w.writerow([int(year), *(f"{bands[n][k, i]:.6g}" for n in names for k in range(3))])


def write_provinces_csv(result: Result, path: Path) -> None:
    med = {k: np.median(result.provincial[k], axis=0) for k in PROVINCIAL}
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["year", "province", *PROVINCIAL])
        for i, year in enumerate(result.years):
            for p, code in enumerate(PROVINCE_CODES):
                w.writerow([int(year), code, *(f"{med[k][i, p]:.6g}" for k in PROVINCIAL)])


def write_materials_csv(result: Result, path: Path) -> None:
    formal = np.median(result.recovered_formal_t, axis=0)
    informal = np.median(result.recovered_informal_t, axis=0)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["year", "element", "recovered_formal_t", "recovered_informal_t"])
        for i, year in enumerate(result.years):
            for k, element in enumerate(ELEMENTS):
                w.writerow([int(year), element, f"{formal[i, k]:.6g}", f"{informal[i, k]:.6g}"])


def write_run(out: Path, scenario: Scenario, result: Result) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "national.csv", out / "provinces.csv", out / "materials.csv"]
    write_national_csv(result, written[0])
    write_provinces_csv(result, written[1])
    write_materials_csv(result, written[2])
    summary = out / "summary.json"
    summary.write_text(json.dumps(to_dict(result), indent=1) + "\n", encoding="utf-8")
    first, last = _sankey_years(result)
    figures = []
    for name, fig, caption in (
        ("timeseries.png", charts.timeseries([result]), "National series by year"),
        ("sankey.png", charts.sankey_figure([result], first, last), f"Flows {first}-{last}"),
    ):
        written.append(charts.save_png(fig, out / name))
        figures.append((caption, charts.svg_text(fig)))
        charts.close(fig)
    final = int(result.years[-1])
    html = page(
        f"ionledger policy simulator: {scenario.name}",
        [scenario.description, f"Scenario file: {scenario.source}; draws: {result.draws}."],
        [
            tables.levers(scenario),
            tables.headline(result),
            tables.provinces(result, final),
            tables.materials(result, final),
        ],
        figures,
    )
    report = out / "report.html"
    report.write_text(html, encoding="utf-8")
    return [*written, summary, report]


def write_comparison(
    out: Path, a: tuple[Scenario, Result], b: tuple[Scenario, Result]
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (sa, ra), (sb, rb) = a, b
    first = min(sa.policy_start_year, sb.policy_start_year, int(ra.years[-1]))
    first = max(first, int(ra.years[0]))
    compared = tables.comparison(ra, rb, first)
    csv_path = out / "comparison.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(compared[0].header)
        w.writerows(compared[0].rows)
    written = [csv_path]
    figures = []
    f0, f1 = _sankey_years(ra)
    for name, fig, caption in (
        ("compare_timeseries.png", charts.timeseries([ra, rb]), "National series by year"),
        ("compare_sankey.png", charts.sankey_figure([ra, rb], f0, f1), f"Flows {f0}-{f1}"),
    ):
        written.append(charts.save_png(fig, out / name))
        figures.append((caption, charts.svg_text(fig)))
        charts.close(fig)
    html = page(
        f"ionledger policy simulator: {sa.name} vs {sb.name}",
        [f"A: {sa.name} - {sa.description}", f"B: {sb.name} - {sb.description}"],
        [*compared, tables.levers(sa), tables.levers(sb)],
        figures,
    )
    report = out / "compare.html"
    report.write_text(html, encoding="utf-8")
    return [*written, report]
