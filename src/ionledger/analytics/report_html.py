"""A printable, self-contained HTML page of a report (inline CSS, no scripts, no URLs): the EPR
compliance report a producer files or a regulator prints, and the same layout for the others."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ionledger.analytics.kpi_base import Report, ReportTable
from ionledger.html_style import REPORT_CSS

TITLES = {
    "epr": "Extended producer responsibility: compliance per producer and year",
    "leakage": "Leakage: expected, recorded and formally collected retirements",
    "cascade": "Cascade triage and reuse shares",
    "recovery": "Recovery efficiency and recycled-content potential",
    "carbon": "Carbon accounting",
    "scorecard": "Scorecards",
}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return escape(str(v))


def _table(t: ReportTable) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
    rows = []
    for r in t.rows:
        cls = ' class="deficit"' if (r.get("deficit_t") or 0) > 0 else ""
        cells = "".join(f"<td>{_cell(r.get(c))}</td>" for c in t.columns)
        rows.append(f"<tr{cls}>{cells}</tr>")
    body = "".join(rows) or f'<tr><td colspan="{len(t.columns)}">no rows</td></tr>'
    return (
        f"<h2>{escape(t.name)} ({len(t.rows)} rows)</h2>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _totals(report: Report) -> str:
    """The EPR report's totals: what the producers owed, fulfilled and must compensate."""
    rows = report.rows
    if report.name != "epr" or not rows:
        return ""
    sums = {c: sum(r[c] or 0.0 for r in rows) for c in ("obligation_t", "fulfilled_t",
                                                        "deficit_t", "compensation")}  # fmt: skip
    short = sum(1 for r in rows if (r["deficit_t"] or 0) > 0)
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{v:,.3f}</td></tr>" for k, v in sums.items())
    cells += f"<tr><td>producer-years in deficit</td><td>{short} of {len(rows)}</td></tr>"
    return f"<h2>Totals</h2><table><tbody>{cells}</tbody></table>"


def render(report: Report) -> str:
    """The report as one HTML document."""
    title = TITLES.get(report.name, report.name)
    params = {k: v for k, v in report.params.items() if v is not None}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="note">Parameters: {escape(json.dumps(params, sort_keys=True))}</p>',
        *(f'<p class="note">{escape(n)}</p>' for n in report.notes),
        _totals(report),
        *(_table(t) for t in report.tables),
    ]
    if report.explain:
        items = "".join(
            f"<li>{escape(json.dumps(e, ensure_ascii=False))}</li>" for e in report.explain
        )
        parts.append(f'<h2>Factors and sources</h2><ul class="note">{items}</ul>')
    parts.append("</body></html>")
    return "\n".join(parts)
