"""Calibration: the shipped baseline meets the 2024 anchors, and the fit really fits."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conftest import need_refdata
from ionledger.policy.calibrate import Report, _loss, calibrate, calibration_toml, evaluate
from ionledger.policy.inputs import load_data
from ionledger.policy.nelder_mead import minimise
from ionledger.policy.scenario import FITTED, load_scenario


@pytest.fixture(scope="module")
def refdata() -> Path:
    return need_refdata("domain").parent


def test_the_baseline_meets_every_anchor(refdata: Path) -> None:
    spec = load_scenario("baseline")
    data = load_data(refdata, spec.start_year, spec.end_year)
    rows = {r.anchor.name: r for r in evaluate(spec, data)}
    for row in rows.values():
        assert row.passed is not False, (row.anchor.name, row.value, row.anchor.target)
        assert row.anchor.source
    assert rows["retired mass 2024"].value == pytest.approx(580_000, rel=0.1)
    assert 0.25 <= rows["formal share 2024"].value <= 0.30
    assert 50 <= rows["informal price advantage 2024"].value <= 100
    assert rows["white-list utilisation 2024"].value < 0.3  # "low"
    kinds = {r.anchor.kind for r in rows.values()}
    assert kinds == {"fit", "check", "info"}


def test_calibrate_moves_a_perturbed_start_to_the_anchors(refdata: Path) -> None:
    shipped = load_scenario("baseline")
    start = shipped.with_params(
        lifetime__life_scale=1.0, choice__asc=-1.0, choice__theta_formal=0.06,
        choice__theta_informal=0.04,
    )  # fmt: skip
    fitted, report = calibrate(start, refdata, max_evaluations=250)
    assert report.loss < 0.01 * report.loss_start
    assert report.loss < 0.5  # within half a tolerance on every fitted anchor, jointly
    assert report.passed
    for name in FITTED:  # each parameter ends nearer the shipped fit than it started
        assert abs(fitted[name] - shipped[name]) < abs(start[name] - shipped[name]), name
    assert report.start["choice.asc"] == -1.0
    assert report.fitted == {k: fitted[k] for k in report.fitted}


def test_the_calibration_file_round_trips(refdata: Path) -> None:
    spec = load_scenario("baseline")
    data = load_data(refdata, spec.start_year, 2028)
    rows = evaluate(spec.with_horizon(spec.start_year, 2028), data)
    report = Report(rows, {}, {k: spec[k] for k in FITTED}, 1.0, _loss(rows), 1)
    text = calibration_toml(report)
    parsed = tomllib.loads(text)
    assert parsed["lifetime"]["life_scale"] == spec["lifetime.life_scale"]
    assert parsed["choice"]["asc"] == spec["choice.asc"]
    assert "retired mass 2024" in text


def test_nelder_mead_finds_a_minimum() -> None:
    import numpy as np

    def rosenbrock(x: np.ndarray) -> float:
        return float((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)

    best, evaluations = minimise(
        rosenbrock, np.array([-1.2, 1.0]), steps=np.array([0.1, 0.1]), max_evaluations=2000,
        tolerance=1e-14,
    )  # fmt: skip
    assert best == pytest.approx([1.0, 1.0], abs=1e-3)
    assert evaluations <= 2000
