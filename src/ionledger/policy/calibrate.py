"""Calibration: fit the free parameters to the published 2024 anchors (``ionledger sim calibrate``).

Four parameters are fitted jointly by Nelder-Mead (:mod:`.nelder_mead`) on a run to 2024,
minimising the sum of squared errors in units of each anchor's tolerance:

- ``lifetime.life_scale`` (a common multiplier of the Weibull scales) -> retirements in 2024;
- ``choice.asc`` (the logit's intercept) -> the formal share in 2024;
- ``choice.theta_formal`` and ``choice.theta_informal`` (offers as shares of recovered value)
  -> the formal offer and the informal price advantage.

``pollution.km2_per_t`` is then set in closed form so that the cumulative informal pollution to
2024 corresponds to the 12,000 km2 of farmland reported. Other anchors are checks, not fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ionledger.errors import ValidationError
from ionledger.policy.engine import run
from ionledger.policy.inputs import Data, load_data
from ionledger.policy.nelder_mead import minimise
from ionledger.policy.results import Result
from ionledger.policy.scenario import FITTED, Scenario

YEAR = 2024
FARMLAND_KM2 = 12_000.0  # DOMAIN.md: illegal dismantling polluted over 12,000 km2 of farmland


@dataclass(frozen=True, slots=True)
class Anchor:
    name: str
    series: str
    year: int
    target: float
    tolerance: float  # the error allowed either side (fitted anchors)
    source: str
    kind: str = "fit"  # fit: fitted, must pass; check: must lie in [low, high]; info: compared
    low: float = -math.inf
    high: float = math.inf

    @property
    def fitted(self) -> bool:
        return self.kind == "fit"

    def passes(self, value: float) -> bool | None:
        if self.kind == "info":
            return None
        if self.fitted:
            return abs(value - self.target) <= self.tolerance
        return self.low <= value <= self.high


def anchors(data: Data) -> list[Anchor]:
    forecast = data.eol_forecast
    out = [
        Anchor(
            "retired mass 2024",
            "retired_t",
            YEAR,
            580_000.0,
            58_000.0,
            "DOMAIN.md: ~580,000 t retired in 2024 (policy brief, 2024); refdata "
            "china_EOL_forecast_Miffyfei_BS.csv: 566 kt (Miffyfei BS scenario); tolerance 10%",
        ),
        Anchor(
            "formal share 2024",
            "formal_rate",
            YEAR,
            0.275,
            0.025,
            "DOMAIN.md: 30% entered formal channels (policy brief); <25% processed by "
            "white-listed firms (industry proposal)",
        ),
        Anchor(
            "formal offer 2024",
            "offer_formal_cny",
            YEAR,
            175.0,
            25.0,
            "DOMAIN.md: formal channels offer CNY 150-200 per pack after logistics and testing",
        ),
        Anchor(
            "informal price advantage 2024",
            "informal_advantage_cny",
            YEAR,
            75.0,
            25.0,
            "DOMAIN.md: informal buyers pay CNY 200-300 per pack vs formal 150-200",
        ),
        Anchor(
            "informal offer 2024",
            "offer_informal_cny",
            YEAR,
            250.0,
            50.0,
            "DOMAIN.md: informal CNY 200-300 per pack",
            kind="check",
            low=200.0,
            high=300.0,
        ),
        Anchor(
            "white-list utilisation 2024",
            "utilisation",
            YEAR,
            0.0,
            0.3,
            "DOMAIN.md: white-listed plants run under capacity; refdata "
            "china_channel_calibration_Miffyfei.csv: 2,371,948 t/yr capacity in 2024",
            kind="check",
            low=0.0,
            high=0.3,
        ),
        Anchor(
            "farmland affected by 2024",
            "farmland_km2",
            YEAR,
            FARMLAND_KM2,
            1.0,
            "DOMAIN.md: illegal dismantling polluted over 12,000 km2 of farmland (closed-form fit "
            "of pollution.km2_per_t)",
        ),
        Anchor(
            "retired mass 2028",
            "retired_t",
            2028,
            2_400_000.0,
            1_600_000.0,
            "DOMAIN.md: forecasts 0.8-1 Mt/yr (EVTank, Energy Foundation China) to over 4 Mt/yr "
            "by 2028 (press)",
            kind="check",
            low=800_000.0,
            high=4_000_000.0,
        ),
    ]
    # Another model's outputs, for comparison only (not measurements, so neither fitted nor
    # required): refdata china_EOL_forecast_Miffyfei_BS.csv.
    for year, series, column, scale, label in (
        (YEAR, "retired_gwh", "capacity_GWh", 1.0, "retired energy 2024 (Miffyfei BS)"),
        (YEAR, "retired_packs", "retired_batteries", 1.0, "retired packs 2024 (Miffyfei BS)"),
        (2028, "retired_t", "weight_kt", 1000.0, "retired mass 2028 (Miffyfei BS)"),
    ):
        row = forecast.get(year)
        if row is not None:
            value = float(row[column]) * scale
            source = f"refdata china_EOL_forecast_Miffyfei_BS.csv {year} {column} (model output)"
            out.append(Anchor(label, series, year, value, 0.0, source, kind="info"))
    return out


@dataclass(frozen=True, slots=True)
class Row:
    anchor: Anchor
    value: float

    @property
    def error(self) -> float:
        return self.value - self.anchor.target

    @property
    def passed(self) -> bool | None:
        return self.anchor.passes(self.value)


@dataclass(frozen=True, slots=True)
class Report:
    rows: list[Row]
    start: dict[str, float]
    fitted: dict[str, float]
    loss_start: float
    loss: float
    evaluations: int

    @property
    def passed(self) -> bool:
        return all(r.passed is not False for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "loss_start": self.loss_start,
            "loss": self.loss,
            "evaluations": self.evaluations,
            "start": self.start,
            "fitted": self.fitted,
            "anchors": [
                {
                    "anchor": r.anchor.name,
                    "source": r.anchor.source,
                    "target": r.anchor.target,
                    "tolerance": r.anchor.tolerance,
                    "range": [r.anchor.low, r.anchor.high] if r.anchor.kind == "check" else None,
                    "kind": r.anchor.kind,
                    "value": r.value,
                    "error": r.error,
                    "pass": r.passed,
                }
                for r in self.rows
            ],
        }


def evaluate(scenario: Scenario, data: Data) -> list[Row]:
    result = run(scenario, data)
    return [Row(a, _value(result, a)) for a in anchors(data)]


def _value(result: Result, anchor: Anchor) -> float:
    return result.median(anchor.series, anchor.year)


def _loss(rows: list[Row]) -> float:
    fitted = [r for r in rows if r.anchor.fitted and r.anchor.series != "farmland_km2"]
    return float(sum((r.error / r.anchor.tolerance) ** 2 for r in fitted))


def _to_vector(scenario: Scenario) -> np.ndarray:
    return np.array(
        [
            math.log(scenario["lifetime.life_scale"]),
            scenario["choice.asc"],
            math.log(scenario["choice.theta_formal"]),
            math.log(scenario["choice.theta_informal"]),
        ]
    )


def _from_vector(scenario: Scenario, u: np.ndarray) -> Scenario:
    values = {
        "lifetime__life_scale": min(max(math.exp(u[0]), 0.3), 3.0),
        "choice__asc": min(max(float(u[1]), -20.0), 20.0),
        "choice__theta_formal": min(math.exp(u[2]), 1.0),
        "choice__theta_informal": min(math.exp(u[3]), 1.0),
    }
    return scenario.with_params(**values)


def calibrate(
    scenario: Scenario, refdata: Path, *, max_evaluations: int = 600
) -> tuple[Scenario, Report]:
    """Fit :data:`~ionledger.policy.scenario.FITTED` to the anchors, from ``scenario``'s values."""
    if scenario.start_year > 2015 or scenario.end_year < 2028:
        raise ValidationError("calibration needs a horizon covering 2015-2028")
    short = scenario.with_horizon(scenario.start_year, 2028)  # enough for every anchor
    data = load_data(refdata, short.start_year, short.end_year)
    start_rows = evaluate(short, data)
    u0 = _to_vector(short)

    def objective(u: np.ndarray) -> float:
        return _loss(evaluate(_from_vector(short, u), data))

    best, evaluations = minimise(
        objective, u0, steps=np.array([0.1, 0.5, 0.3, 0.3]), max_evaluations=max_evaluations
    )
    fitted = _from_vector(short, best)
    fitted = _fit_farmland(fitted, data)
    rows = evaluate(fitted, data)
    report = Report(
        rows=rows,
        start={name: short[name] for name in (*FITTED, "pollution.km2_per_t")},
        fitted={name: fitted[name] for name in (*FITTED, "pollution.km2_per_t")},
        loss_start=_loss(start_rows),
        loss=_loss(rows),
        evaluations=evaluations,
    )
    full = scenario.with_params(**{k.replace(".", "__"): v for k, v in report.fitted.items()})
    return full, report


def _fit_farmland(scenario: Scenario, data: Data) -> Scenario:
    result = run(scenario, data)
    i = result.year_index(YEAR)
    cumulative = float(np.median(result.national["pollution_t"][:, : i + 1].sum(axis=1)))
    if cumulative <= 0:
        return scenario
    return scenario.with_params(pollution__km2_per_t=FARMLAND_KM2 / cumulative)


def calibration_toml(report: Report) -> str:
    """The calibration file's text (laid over the baseline by the scenario loader)."""
    lines = [
        "# Fitted by `ionledger sim calibrate --write` (see docs/simulator.md, Calibration).",
        "# Do not edit by hand: run the command again. Anchors at the fit:",
    ]
    for r in report.rows:
        state = {True: "pass", False: "FAIL", None: "comparison"}[r.passed]
        lines.append(
            f"#   {r.anchor.name}: model {r.value:.6g}, target {r.anchor.target:.6g} ({state})"
        )
    lines.append(
        f"# Loss {report.loss:.6g} (from {report.loss_start:.6g}), {report.evaluations} runs."
    )
    by_section: dict[str, list[str]] = {}
    for name, value in report.fitted.items():
        section, key = name.split(".", 1)
        by_section.setdefault(section, []).append(f"{key} = {value!r}")
    for section, entries in by_section.items():
        lines += ["", f"[{section}]", *entries]
    return "\n".join(lines) + "\n"
