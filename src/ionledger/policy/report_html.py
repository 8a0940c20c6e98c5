"""Self-contained HTML pages of runs and comparisons: inline CSS and SVG, no scripts, no URLs."""

from __future__ import annotations

from html import escape

from ionledger.policy.tables import Table

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f0; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
.note { color: #555; font-size: 0.85em; }
"""


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
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
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
