"""A Sankey diagram of a period's battery flows: retired -> channel -> fate -> materials.

The flows are the period's totals (t). Formal recycling's split into recovered and residue uses
the period's ratio of recovered to recycled tonnes (it also recycles packs coming back from
second life), so the right-hand column is indicative, the others exact. "Recovered" counts the
elements the model tracks (Li, Ni, Co, Mn, Cu, Al, graphite); steel, plastics, electrolyte and
the rest of a pack's mass are "not recovered".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from ionledger.policy.results import Result

_COLOURS = {
    "retired": "#4c566a",
    "formal": "#2e7d32",
    "informal": "#c62828",
    "refused": "#ef6c00",
    "cascade": "#00838f",
    "recycling": "#558b2f",
    "transit": "#9e9d24",
    "workshops": "#ad1457",
    "recovered": "#1565c0",
    "lost": "#6d4c41",
}


@dataclass(frozen=True, slots=True)
class Link:
    source: str
    target: str
    value: float


def flows(result: Result, first: int, last: int) -> tuple[list[list[str]], list[Link]]:
    """Columns of node names and the links between them, for the years ``first``-``last``."""
    i, j = result.year_index(first), result.year_index(last) + 1

    def total(name: str) -> float:
        return float(np.median(result.national[name][:, i:j].sum(axis=1)))

    formal, refused = total("formal_t"), total("rationed_t")
    informal = total("informal_t") - refused
    reused = min(total("cascade_reused_t"), formal)
    recycling = max(formal - reused, 0.0)
    recycled = total("recycled_formal_t")
    formal_rec = float(np.median(result.recovered_formal_t[:, i:j].sum(axis=(1, 2))))
    ratio = min(formal_rec / recycled, 1.0) if recycled > 0 else 0.0
    workshops = informal + refused
    informal_rec = float(np.median(result.recovered_informal_t[:, i:j].sum(axis=(1, 2))))
    links = [
        Link("retired", "formal", formal),
        Link("retired", "informal", informal),
        Link("retired", "refused", refused),
        Link("formal", "cascade", reused),
        Link("formal", "recycling", recycling),
        Link("informal", "workshops", informal),
        Link("refused", "workshops", refused),
        Link("recycling", "recovered", recycling * ratio),
        Link("recycling", "lost", recycling * (1 - ratio)),
        Link("workshops", "recovered", min(informal_rec, workshops)),
        Link("workshops", "lost", max(workshops - informal_rec, 0.0)),
    ]
    columns = [
        ["retired"],
        ["formal", "informal", "refused"],
        ["cascade", "recycling", "workshops"],
        ["recovered", "lost"],
    ]
    return columns, [link for link in links if link.value > 0]


_LABELS = {
    "retired": "retired",
    "formal": "formal channel",
    "informal": "informal (chosen)",
    "refused": "refused by plants",
    "cascade": "cascade reuse",
    "recycling": "white-listed recycling",
    "workshops": "informal workshops",
    "recovered": "materials recovered",
    "lost": "not recovered",
}


def draw(ax: Axes, columns: list[list[str]], links: list[Link], title: str) -> None:
    """Draw the Sankey on ``ax``: node heights are proportional to their flows."""
    size: dict[str, float] = {}
    for link in links:
        size[link.source] = max(size.get(link.source, 0.0), 0.0)
        size[link.target] = size.get(link.target, 0.0) + link.value
    for link in links:
        out = sum(x.value for x in links if x.source == link.source)
        size[link.source] = max(size[link.source], out)
    total = max(size.get("retired", 0.0), 1e-9)
    gap, width = 0.04, 0.06
    top: dict[str, float] = {}
    xs = np.linspace(0.02, 0.92, len(columns))
    x_of: dict[str, float] = {}
    for x, column in zip(xs, columns, strict=True):
        present = [n for n in column if size.get(n, 0) > 0]
        height = sum(size[n] / total for n in present) * 0.8 + gap * (len(present) - 1)
        y = 0.5 + height / 2
        for node in present:
            h = size[node] / total * 0.8
            top[node], x_of[node] = y, x
            ax.add_patch(Rectangle((x, y - h), width, h, color=_COLOURS[node]))
            label = f"{_LABELS[node]}\n{size[node] / 1e6:.2f} Mt"
            ax.text(x + width + 0.005, y - h / 2, label, va="center", fontsize=7)
            y -= h + gap
    out_cursor = dict(top)
    in_cursor = dict(top)
    for link in links:
        h = link.value / total * 0.8
        x0, x1 = x_of[link.source] + width, x_of[link.target]
        y0, y1 = out_cursor[link.source], in_cursor[link.target]
        out_cursor[link.source] -= h
        in_cursor[link.target] -= h
        mid = (x0 + x1) / 2
        verts = [
            (x0, y0), (mid, y0), (mid, y1), (x1, y1),
            (x1, y1 - h), (mid, y1 - h), (mid, y0 - h), (x0, y0 - h), (x0, y0),
        ]  # fmt: skip
        codes = [MplPath.MOVETO] + [MplPath.CURVE4] * 3 + [MplPath.LINETO]
        codes += [MplPath.CURVE4] * 3 + [MplPath.CLOSEPOLY]
        patch = PathPatch(MplPath(verts, codes), color=_COLOURS[link.source], alpha=0.35, lw=0)
        ax.add_patch(patch)
    ax.set_xlim(0, 1.08)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
