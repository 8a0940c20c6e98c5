"""Scenarios: TOML files of the model's parameters, the policy in force and its uncertainties.

A scenario file may ``extends`` another (by package name or path relative to itself) and only
say what differs; ``calibration`` names a file of fitted values laid over it (written by
``ionledger sim calibrate --write``). Sections:

- ``[horizon]`` start and end year;
- ``[market]``, ``[lifetime]``, ``[choice]``, ``[economics]``, ``[routing]``, ``[cascade]``,
  ``[pollution]``: numeric parameters, flattened to dotted names (``choice.asc``) and checked
  against :data:`PARAMS` (name -> allowed range); unknown names are errors, so typos are too;
- ``[status_quo]``: the policy in force before the policy year (and throughout, in a baseline);
- ``[policy]``: ``start_year`` and the levers that replace the status quo from then on;
- ``[uncertainty]``: distributions of parameters for Monte Carlo runs (see :mod:`.montecarlo`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ionledger.errors import ValidationError
from ionledger.policy.axes import CHEMISTRIES, ELEMENTS, PROVINCE_CODES

SECTIONS = ("market", "lifetime", "choice", "economics", "routing", "cascade", "pollution")
_SHARE = (0.0, 1.0)
_CNY = (-1e6, 1e6)
# Every numeric parameter and its allowed range.
PARAMS: dict[str, tuple[float, float]] = {
    "market.sales_growth": (-0.5, 0.5),
    "market.kwh_bev_passenger": (1.0, 1000.0),
    "market.kwh_phev_passenger": (1.0, 1000.0),
    "market.kwh_commercial": (1.0, 1000.0),
    "market.mass_factor": (0.5, 3.0),
    "market.first_whitelist_year": (2012.0, 2040.0),
    "lifetime.life_scale": (0.3, 3.0),
    "lifetime.replace_share": _SHARE,
    "lifetime.soh_mean_replaced": (40.0, 100.0),
    "lifetime.soh_mean_scrapped": (40.0, 100.0),
    "lifetime.soh_sd": (0.1, 30.0),
    "lifetime.second_life_years": (0.5, 30.0),
    "choice.asc": (-20.0, 20.0),
    "choice.price_scale_cny": (1.0, 1e5),
    "choice.theta_formal": (0.0, 1.0),
    "choice.theta_informal": (0.0, 1.0),
    "choice.awareness_2024": _SHARE,
    "choice.awareness_trend": (-1.0, 1.0),
    "choice.awareness_max": _SHARE,
    "choice.hassle_replaced_cny": _CNY,
    "choice.hassle_scrapped_cny": _CNY,
    "choice.holding_cost_cny_per_day": (0.0, 1e4),
    "economics.cost_formal_cny_per_t": (0.0, 1e6),
    "economics.cost_informal_cny_per_t": (0.0, 1e6),
    "economics.price_factor": (0.01, 100.0),
    "economics.fx_cny_per_usd": (0.1, 100.0),
    "economics.route_hydro": _SHARE,
    "economics.route_pyro": _SHARE,
    "economics.route_direct": _SHARE,
    **{f"economics.informal_recovery.{e}": _SHARE for e in ELEMENTS},
    "routing.local_preference": _SHARE,
    "cascade.min_soh": (0.0, 100.0),
    **{f"cascade.uptake.{c}": _SHARE for c in CHEMISTRIES},
    "cascade.reuse_fraction": _SHARE,
    "cascade.credit_share": _SHARE,
    "pollution.km2_per_t": (0.0, 1e6),
}
# Parameters the calibration fits (see calibrate.py); they live in the calibration file.
FITTED = ("lifetime.life_scale", "choice.asc", "choice.theta_formal", "choice.theta_informal")
_PACKAGE_PREFIX = "package:"


@dataclass(frozen=True, slots=True)
class Policy:
    """The levers, as in force in a year."""

    epr_fee_cny_per_kwh: float = 0.0  # on every kWh placed on the domestic market; funds rewards
    rebate_cny: float = 0.0  # trade-in rebate per pack handed in formally (paid from the fund)
    points_cny: float = 0.0  # value of point rewards per pack handed in formally (from the fund)
    enforcement_probability: float = 0.0  # chance an informal sale is caught
    fine_cny: float = 0.0  # per pack caught
    capacity_factor: float = 1.0  # white-listed capacity multiplier
    capacity_add_t: Mapping[str, float] = field(default_factory=dict)  # extra t/yr by province
    mandate_provinces: frozenset[str] = frozenset()  # in-province processing required
    transfer_delay_days: float = 0.0  # cross-province transfers wait this long
    cascade_quota: float = 0.0  # share of reuse-fit packs that must go to cascade use

    def mandated(self, province: str) -> bool:
        return "*" in self.mandate_provinces or province in self.mandate_provinces


@dataclass(frozen=True, slots=True)
class Uncertain:
    """A parameter's distribution: ``normal`` (mean, sd), ``uniform`` (low, high) or
    ``lognormal`` (sigma: the scenario value times exp(N(0, sigma)))."""

    dist: str
    a: float
    b: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    source: str  # the file it was read from ('package:NAME' for a shipped one)
    start_year: int
    end_year: int
    params: Mapping[str, float]
    status_quo: Policy
    policy: Policy
    policy_start_year: int
    uncertainty: Mapping[str, Uncertain]
    calibration_file: Path | None = None  # where `calibrate --write` puts the fitted values

    def __getitem__(self, name: str) -> float:
        return self.params[name]

    def policy_in(self, year: int) -> Policy:
        return self.policy if year >= self.policy_start_year else self.status_quo

    def with_params(self, **changes: float) -> Scenario:
        """A copy with parameters changed (dotted names with '__' for '.')."""
        params = dict(self.params)
        for key, value in changes.items():
            name = key.replace("__", ".")
            _check_param(name, value)
            params[name] = float(value)
        return replace(self, params=params)

    def with_horizon(self, start_year: int, end_year: int) -> Scenario:
        return replace(self, start_year=start_year, end_year=end_year)


def shipped() -> list[str]:
    """Names of the scenarios shipped with the package (calibration files excluded)."""
    folder = resources.files("ionledger.policy").joinpath("scenarios")
    names = [p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")]
    return sorted(n for n in names if not n.startswith("calibrated"))


def package_path(name: str) -> Path:
    return Path(
        str(resources.files("ionledger.policy").joinpath("scenarios").joinpath(f"{name}.toml"))
    )


def resolve(spec: str | Path) -> Path:
    """A scenario file from a path or a shipped name."""
    path = Path(spec)
    if path.is_file():
        return path
    name = str(spec).removesuffix(".toml")
    candidate = package_path(name)
    if candidate.is_file():
        return candidate
    raise ValidationError(
        f"no scenario {str(spec)!r}: not a file, and not one of the shipped scenarios "
        f"({', '.join(shipped())})"
    )


def load_scenario(spec: str | Path) -> Scenario:
    path = resolve(spec)
    raw, calibration = _merged(path, seen=())
    return _build(raw, path, calibration)


def _read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"cannot read scenario {path}: {exc}") from exc
    return data


def _merged(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], Path | None]:
    """The file's tables laid over its parent's (and the calibration's over both)."""
    if path.resolve() in seen:
        raise ValidationError(f"scenario {path} extends itself (via {[str(s) for s in seen]})")
    data = _read(path)
    head = data.get("scenario", {})
    base: dict[str, Any] = {}
    calibration: Path | None = None
    if "extends" in head:
        parent = path.parent / f"{head['extends']}.toml"
        parent = parent if parent.is_file() else resolve(str(head["extends"]))
        base, calibration = _merged(parent, (*seen, path.resolve()))
    if "calibration" in head:
        calibration = path.parent / str(head["calibration"])
        data = _deep_merge(data, _read(calibration)) if calibration.is_file() else data
    merged = _deep_merge(base, data)
    merged.setdefault("scenario", {}).pop("extends", None)
    return merged, calibration


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _flatten(table: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict) and "dist" not in value:
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


def _check_param(name: str, value: Any) -> None:
    if name not in PARAMS:
        raise ValidationError(f"unknown scenario parameter {name!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"scenario parameter {name} must be a number, got {value!r}")
    lo, hi = PARAMS[name]
    if not lo <= float(value) <= hi:
        raise ValidationError(f"scenario parameter {name} = {value} is outside [{lo}, {hi}]")


def _build(raw: dict[str, Any], path: Path, calibration: Path | None) -> Scenario:
    params: dict[str, float] = {}
    for section in SECTIONS:
        for name, value in _flatten(raw.get(section, {}), section).items():
            _check_param(name, value)
            params[name] = float(value)
    missing = sorted(set(PARAMS) - set(params))
    if missing:
        raise ValidationError(f"scenario {path} lacks parameters: {', '.join(missing)}")
    routes = params["economics.route_hydro"] + params["economics.route_pyro"]
    if abs(routes + params["economics.route_direct"] - 1.0) > 1e-6:
        raise ValidationError(f"scenario {path}: recycling route shares must sum to 1")
    unknown = set(raw) - {"scenario", "horizon", "status_quo", "policy", "uncertainty", *SECTIONS}
    if unknown:
        raise ValidationError(f"scenario {path}: unknown tables {sorted(unknown)}")
    head, horizon = raw.get("scenario", {}), raw.get("horizon", {})
    status_quo = _policy(raw.get("status_quo", {}), Policy(), path)
    policy_table = dict(raw.get("policy", {}))
    start = int(policy_table.pop("start_year", horizon.get("end_year", 2040) + 1))
    start_year, end_year = int(horizon.get("start_year", 2012)), int(horizon.get("end_year", 2040))
    if not 2012 <= start_year < end_year <= 2060:
        raise ValidationError(f"scenario {path}: horizon must lie within 2012-2060, start < end")
    package = path.resolve().parent == package_path("x").resolve().parent
    return Scenario(
        name=str(head.get("name", path.stem)),
        description=str(head.get("description", "")),
        source=f"{_PACKAGE_PREFIX}{path.stem}" if package else str(path),
        start_year=start_year,
        end_year=end_year,
        params=params,
        status_quo=status_quo,
        policy=_policy(policy_table, status_quo, path),
        policy_start_year=start,
        uncertainty=_uncertainty(raw.get("uncertainty", {}), path),
        calibration_file=calibration,
    )


_POLICY_RANGES: dict[str, tuple[float, float]] = {
    "epr_fee_cny_per_kwh": (0.0, 1e4),
    "rebate_cny": (0.0, 1e6),
    "points_cny": (0.0, 1e6),
    "enforcement_probability": _SHARE,
    "fine_cny": (0.0, 1e7),
    "capacity_factor": (0.0, 100.0),
    "transfer_delay_days": (0.0, 365.0),
    "cascade_quota": _SHARE,
}


def _policy(table: Mapping[str, Any], base: Policy, path: Path) -> Policy:
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key in _POLICY_RANGES:
            _check_range(f"policy {key}", value, _POLICY_RANGES[key], path)
            changes[key] = float(value)
        elif key == "mandate_provinces":
            codes = frozenset(str(v) for v in value)
            bad = codes - set(PROVINCE_CODES) - {"*"}
            if bad:
                raise ValidationError(f"scenario {path}: unknown provinces {sorted(bad)}")
            changes[key] = codes
        elif key == "capacity_add_t":
            bad_codes = set(value) - set(PROVINCE_CODES)
            if bad_codes:
                raise ValidationError(f"scenario {path}: unknown provinces {sorted(bad_codes)}")
            for code, tonnes in value.items():
                _check_range(f"capacity_add_t.{code}", tonnes, (0.0, 1e8), path)
            changes[key] = {str(k): float(v) for k, v in value.items()}
        else:
            raise ValidationError(f"scenario {path}: unknown policy lever {key!r}")
    return replace(base, **changes)


def _check_range(name: str, value: Any, bounds: tuple[float, float], path: Path) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not bounds[0] <= float(value) <= bounds[1]:
        raise ValidationError(f"scenario {path}: {name} = {value!r} outside {list(bounds)}")


def _uncertainty(table: Mapping[str, Any], path: Path) -> dict[str, Uncertain]:
    out: dict[str, Uncertain] = {}
    for name, spec in _flatten(table, "").items():
        name = name.lstrip(".")
        if name not in PARAMS or not isinstance(spec, dict):
            raise ValidationError(f"scenario {path}: bad uncertainty entry {name!r}")
        dist = spec.get("dist")
        keys = {"normal": ("mean", "sd"), "uniform": ("low", "high"), "lognormal": ("sigma",)}
        if dist not in keys or any(k not in spec for k in keys[dist]):
            raise ValidationError(
                f"scenario {path}: uncertainty {name} needs dist = normal (mean, sd), "
                "uniform (low, high) or lognormal (sigma)"
            )
        values = [float(spec[k]) for k in keys[str(dist)]]
        out[name] = Uncertain(str(dist), *values)
    return out
