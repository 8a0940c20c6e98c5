"""The reports' versioned package data (``analytics/data/*_v1.toml``): Weibull lifetimes, triage
thresholds, EPR rules, recovery and recycled-content targets, carbon factors and scorecard
weights, each with its source in the file. Read once; a file is never edited in place (a change
makes a new version), so a report names the version it used."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ionledger.errors import ConfigurationError

FILES = {
    "lifetime": "lifetime_v1.toml",
    "triage": "triage_v1.toml",
    "epr": "epr_rules_v1.toml",
    "targets": "targets_v1.toml",
    "carbon": "carbon_v1.toml",
    "scorecard": "scorecard_v1.toml",
}


@cache
def table(kind: str) -> dict[str, Any]:
    """The parsed data file of ``kind`` (one of :data:`FILES`)."""
    if kind not in FILES:
        raise ConfigurationError(f"no analytics data {kind!r} (have: {', '.join(FILES)})")
    text = (
        resources.files("ionledger.analytics")
        .joinpath("data")
        .joinpath(FILES[kind])
        .read_text(encoding="utf-8")
    )
    return tomllib.loads(text)


def version_of(kind: str) -> str:
    return f"{FILES[kind]} (version {table(kind)['version']})"


@dataclass(frozen=True, slots=True)
class Factor:
    """One figure a report used: what it is, its value and unit, and where it comes from."""

    name: str
    value: float
    unit: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "source": self.source}


# --- lifetimes -------------------------------------------------------------------------------


def weibull_scale(chemistry: str, category: str | None) -> float:
    """First-life Weibull scale (years) of a pack; unknown chemistries take the segment mean."""
    data = table("lifetime")
    segment = data["segment_of_category"].get(category or "EV", "bev_passenger")
    scales = [float(v) for v in data["scale_years"][segment]]
    chems = list(data["chemistries"])
    if chemistry in chems:
        return scales[chems.index(chemistry)]
    return sum(scales) / len(scales)


def weibull_shape() -> float:
    return float(table("lifetime")["shape_k"])


def survival(t: float, scale: float, k: float) -> float:
    return math.exp(-((max(t, 0.0) / scale) ** k))


def retire_share(age: int, scale: float, k: float) -> float:
    """Probability that a pack placed on the market retires during age year ``age`` (not
    conditioned on its still being in service: age years as in :func:`retire_probability`)."""
    if age < 0:
        return 0.0
    return survival(age - 0.5, scale, k) - survival(age + 0.5, scale, k)


def retire_probability(age: int, scale: float, k: float) -> float:
    """Probability that a pack in service at the start of age year ``age`` retires during it.

    Packs are placed mid-year, so age year a covers lifetimes [a - 0.5, a + 0.5) and the placement
    year (a = 0) covers [0, 0.5): the hazard of the Weibull over that interval.
    """
    if age < 0:
        return 0.0
    start = survival(age - 0.5, scale, k)
    end = survival(age + 0.5, scale, k)
    return 1.0 - end / start if start > 0 else 1.0
