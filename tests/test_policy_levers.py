"""Policy levers move the simulated flows the way they should, and only from their start year."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from conftest import need_refdata
from ionledger.policy.engine import run
from ionledger.policy.inputs import Data, load_data
from ionledger.policy.results import Result
from ionledger.policy.scenario import Scenario, load_scenario

START = 2026


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_scenario("baseline")


@pytest.fixture(scope="module")
def data(baseline: Scenario) -> Data:
    refdata = need_refdata("domain").parent
    return load_data(refdata, baseline.start_year, 2035)


def _with(baseline: Scenario, data: Data, **levers: Any) -> Result:
    policy = replace(baseline.status_quo, **levers)
    spec = replace(baseline, policy=policy, policy_start_year=START, end_year=2035)
    return run(spec, data)


def _formal(result: Result, year: int = 2030) -> float:
    return result.median("formal_rate", year)


def test_levers_wait_for_their_start_year(baseline: Scenario, data: Data) -> None:
    base = _with(baseline, data)
    policy = _with(baseline, data, rebate_cny=300.0, epr_fee_cny_per_kwh=50.0)
    before = base.years < START
    for name in ("formal_t", "informal_t", "epr_balance_cny"):
        assert np.array_equal(base.national[name][:, before], policy.national[name][:, before])
    assert _formal(policy) > _formal(base)


def test_higher_rebate_raises_the_formal_share(baseline: Scenario, data: Data) -> None:
    shares = [
        _formal(_with(baseline, data, rebate_cny=r, epr_fee_cny_per_kwh=100.0))
        for r in (0.0, 100.0, 200.0, 400.0)
    ]
    assert shares == sorted(shares)
    assert len(set(shares)) == 4


def test_points_raise_the_formal_share(baseline: Scenario, data: Data) -> None:
    shares = [
        _formal(_with(baseline, data, points_cny=p, epr_fee_cny_per_kwh=100.0))
        for p in (0.0, 50.0, 150.0)
    ]
    assert shares[0] < shares[1] < shares[2]


def test_more_enforcement_raises_the_formal_share(baseline: Scenario, data: Data) -> None:
    shares = [
        _formal(_with(baseline, data, enforcement_probability=p, fine_cny=1000.0))
        for p in (0.0, 0.1, 0.2, 0.4)
    ]
    assert shares == sorted(shares)
    assert len(set(shares)) == 4
    fines = [
        _formal(_with(baseline, data, enforcement_probability=0.2, fine_cny=f))
        for f in (0.0, 500.0, 2000.0)
    ]
    assert fines[0] < fines[1] < fines[2]


def test_the_fund_pays_only_what_it_holds(baseline: Scenario, data: Data) -> None:
    starved = _with(baseline, data, rebate_cny=500.0, epr_fee_cny_per_kwh=0.5)
    funded = _with(baseline, data, rebate_cny=500.0, epr_fee_cny_per_kwh=100.0)
    n = starved.national
    assert (n["epr_balance_cny"] >= -1e-6).all()
    paid = n["reward_paid_cny"][0, starved.years >= START]
    assert (paid <= 500.0 + 1e-9).all()
    assert paid.min() < 500.0
    assert np.allclose(
        np.cumsum(n["epr_inflow_cny"] - n["epr_outflow_cny"], axis=1), n["epr_balance_cny"]
    )
    assert funded.national["reward_paid_cny"][0, -1] == pytest.approx(500.0)
    assert _formal(funded) > _formal(starved)


def test_in_province_mandates_stop_formal_flows_across_borders(
    baseline: Scenario, data: Data
) -> None:
    result = _with(baseline, data, mandate_provinces=frozenset({"*"}))
    after = result.years >= START
    assert (result.national["interprovince_formal_t"][0, after] == 0).all()
    od = result.od_formal_t[after]
    off = od * (1 - np.eye(od.shape[1]))[None]
    assert (off == 0).all()
    # Provinces without white-listed plants can no longer hand packs in: they go informal.
    assert result.national["rationed_t"][0, after].sum() > 0
    free = _with(baseline, data, mandate_provinces=frozenset())
    assert free.national["interprovince_formal_t"][0, after].sum() > 0
    assert free.national["rationed_t"][0, after].sum() == 0


def test_only_the_mandated_province_keeps_its_packs(baseline: Scenario, data: Data) -> None:
    result = _with(baseline, data, mandate_provinces=frozenset({"CN-SC"}))
    sc = 22  # CN-SC in PROVINCE_CODES order
    od = result.od_formal_t[result.years >= START]
    assert (np.delete(od[:, sc, :], sc, axis=1) == 0).all()
    assert np.delete(od[:, :, sc], sc, axis=1).sum() > 0  # others may still send packs there


def test_transfer_delay_holds_packs_over_the_year_end(baseline: Scenario, data: Data) -> None:
    instant = _with(baseline, data, transfer_delay_days=0.0, mandate_provinces=frozenset())
    slow = _with(baseline, data, transfer_delay_days=45.0, mandate_provinces=frozenset())
    after = instant.years >= START
    assert (instant.national["in_transit_t"][0, after] == 0).all()
    waiting = slow.national["in_transit_t"][0, after]
    crossing = slow.national["interprovince_formal_t"][0, after]
    assert np.allclose(waiting, crossing * 45 / 365)
    # Waiting costs the collector, so fewer owners are offered enough to go formal.
    assert _formal(slow) < _formal(instant)
    arrived = slow.national["utilisation"] * slow.national["capacity_t"]
    formal = slow.national["formal_t"]
    i = slow.year_index(2030)
    assert arrived[0, i] < formal[0, i] + slow.national["in_transit_t"][0, i - 1]


def test_cascade_quota_raises_reuse(baseline: Scenario, data: Data) -> None:
    reused = [
        _with(baseline, data, cascade_quota=q).median("cascade_reused_t", 2030)
        for q in (0.0, 0.5, 0.9)
    ]
    assert reused[0] < reused[1] < reused[2]


def test_more_capacity_relieves_a_mandate(baseline: Scenario, data: Data) -> None:
    tight = _with(baseline, data, mandate_provinces=frozenset({"*"}))
    add = {"CN-BJ": 1e6, "CN-SH": 1e6, "CN-JS": 1e6, "CN-TJ": 1e6, "CN-LN": 1e6}
    eased = _with(
        baseline, data, mandate_provinces=frozenset({"*"}), capacity_add_t=add, capacity_factor=3.0
    )
    after = tight.years >= START
    assert (
        eased.national["rationed_t"][0, after].sum() < tight.national["rationed_t"][0, after].sum()
    )
    assert _formal(eased) > _formal(tight)


def test_shipped_policy_scenarios_beat_the_baseline_where_they_should(
    baseline: Scenario, data: Data
) -> None:
    def horizon(name: str) -> Result:
        spec = load_scenario(name)
        return run(spec.with_horizon(spec.start_year, 2035), data)

    base = horizon("baseline")
    for name in ("epr_rebate", "points_rewards", "enforcement", "national_ledger", "full_package"):
        assert _formal(horizon(name)) > _formal(base), name
    assert _formal(horizon("provincial_mandates")) < _formal(base)
    cascade = horizon("cascade_first")
    assert cascade.median("cascade_reused_t", 2030) > base.median("cascade_reused_t", 2030)
