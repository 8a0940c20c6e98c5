"""Charts of runs and comparisons (matplotlib, Agg backend), as PNG files and as inline SVG text for
the self-contained HTML report.

Series of a Monte Carlo run are drawn as their median with a 5-95% band.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; before pyplot is imported

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ionledger.policy import sankey
from ionledger.policy.results import Result

_PALETTE = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00")
_PANELS = (
    ("retired_t", 1e6, "retired, Mt"),
    ("formal_rate", 0.01, "formal rate, %"),
    ("informal_t", 1e6, "informal, Mt"),
    ("epr_balance_cny", 1e9, "EPR fund balance, bn CNY"),
    ("recovered_t", 1e3, "materials recovered, kt"),
    ("carbon_avoided_tco2e", 1e6, "net CO2e avoided, Mt"),
    ("pollution_t", 1e3, "pollution proxy, kt"),
    ("interprovince_formal_t", 1e3, "inter-province formal, kt"),
    ("utilisation", 0.01, "white-list utilisation, %"),
)


def _band(ax: Axes, years: np.ndarray, values: np.ndarray, colour: str, label: str) -> None:
    if values.shape[0] > 1:
        lo, mid, hi = np.percentile(values, (5, 50, 95), axis=0)
        ax.fill_between(years, lo, hi, color=colour, alpha=0.2, lw=0)
    else:
        mid = values[0]
    ax.plot(years, mid, color=colour, lw=1.6, label=label)


def timeseries(results: list[Result]) -> Figure:
    """A grid of national series, one line (and band) per run."""
    fig, axes = plt.subplots(3, 3, figsize=(12, 9), constrained_layout=True)
    for ax, (name, unit, title) in zip(axes.flat, _PANELS, strict=True):
        for k, result in enumerate(results):
            colour = _PALETTE[k % len(_PALETTE)]
            _band(ax, result.years, result.national[name] / unit, colour, result.scenario)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Traction-battery flows, China (median; band: 5-95% of draws)", fontsize=11)
    return fig


def sankey_figure(results: list[Result], first: int, last: int) -> Figure:
    fig, axes = plt.subplots(1, len(results), figsize=(7 * len(results), 5), squeeze=False)
    for ax, result in zip(axes[0], results, strict=True):
        columns, links = sankey.flows(result, first, last)
        sankey.draw(ax, columns, links, f"{result.scenario}: flows {first}-{last} (t)")
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    fig.savefig(path, format="png", dpi=100, metadata={"Software": None})
    return path


def svg_text(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element: no prolog, DOCTYPE, metadata or namespaces (an
    HTML page needs none), hence no URL of any kind."""
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ionledger"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                  "Type": None})  # fmt: skip
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    return text


def close(fig: Figure) -> None:
    plt.close(fig)
