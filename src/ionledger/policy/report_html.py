"""Self-contained HTML pages of runs and comparisons: inline CSS and SVG, no scripts, no URLs."""

from __future__ import annotations

from html import escape

from ionledger.html_style import REPORT_CSS
from ionledger.policy.tables import Table


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    title = f"<h2>{escape(table.title)}</h2>"
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, intro: list[str], tables: list[Table], figures: list[tuple[str, str]]) -> str:
    """An HTML document: ``figures`` are (caption, inline svg) pairs."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        *(f'<p class="note">{escape(line)}</p>' for line in intro),
    ]
    for caption, svg in figures:
        parts.append(
            f'<figure>{svg}<figcaption class="note">{escape(caption)}</figcaption></figure>'
        )
    parts += [_table(t) for t in tables]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
