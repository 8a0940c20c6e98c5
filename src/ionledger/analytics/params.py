"""The reports' configurable parameters, one small value object with defaults from the package
data. Bad values are a :class:`~ionledger.errors.ValidationError` before any report runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ionledger.analytics.factors import table
from ionledger.errors import ValidationError

JURISDICTIONS = ("cn", "eu", "in")
ROUTES = ("pyro", "hydro", "direct")


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyticsParams:
    # Filters on the output rows (None: all).
    year: int | None = None
    province: str | None = None
    producer: str | None = None
    # The day (days since 1970-01-01) the reports look from; None: the latest day in the facts.
    as_of_day: int | None = None
    # A retired pack not received by a formal party within this many days is a missing case
    # (assumption: a month; formal collection takes days to weeks).
    missing_after_days: int = 30
    # Weibull lifetimes: a multiplier of the table's scales, and the band of multipliers the
    # uncertainty bounds span (assumption: +-10 % on the scales; docs/analytics.md).
    weibull_scale_factor: float = 1.0
    weibull_band: tuple[float, float] = (0.9, 1.1)
    # Two-sided z of the binomial (Poisson-binomial) interval: 1.96 for 95 %.
    z: float = 1.96
    # EPR: the jurisdiction's rule (epr_rules_v1.toml), and a compensation rate overriding it.
    jurisdiction: str = "cn"
    compensation_per_kg: float | None = None
    # Carbon: the grid of the factor tables, and the route of a transformation that names none.
    grid: str = "China_GREET2022"
    default_route: str = "hydro"
    # Include the per-battery / per-transformation tables (large on a real fleet).
    detail: bool = False
    # Explain every figure: factors with sources, events used (at most explain_limit IDs each).
    explain: bool = False
    explain_limit: int = 20
    # Inspection list: parties with at least this many retired packs are ranked.
    min_batteries_ranked: int = 1

    def __post_init__(self) -> None:
        if self.missing_after_days < 0:
            raise ValidationError(f"missing_after_days must be >= 0, got {self.missing_after_days}")
        low, high = self.weibull_band
        if not 0 < low <= 1 <= high:
            raise ValidationError(f"weibull_band must be (low <= 1 <= high), got {low}, {high}")
        if self.weibull_scale_factor <= 0:
            raise ValidationError("weibull_scale_factor must be > 0")
        if self.z < 0:
            raise ValidationError("z must be >= 0")
        if self.jurisdiction not in JURISDICTIONS:
            raise ValidationError(
                f"unknown jurisdiction {self.jurisdiction!r} (have: {', '.join(JURISDICTIONS)})"
            )
        if self.compensation_per_kg is not None and self.compensation_per_kg < 0:
            raise ValidationError("compensation_per_kg must be >= 0")
        grids = table("carbon")["grids"]
        if self.grid not in grids:
            raise ValidationError(f"unknown grid {self.grid!r} (have: {', '.join(grids)})")
        if self.default_route not in ROUTES:
            raise ValidationError(
                f"unknown route {self.default_route!r} (have: {', '.join(ROUTES)})"
            )
        if self.explain_limit < 0 or self.min_batteries_ranked < 1:
            raise ValidationError("explain_limit must be >= 0 and min_batteries_ranked >= 1")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["weibull_band"] = list(self.weibull_band)
        return d
