"""The policy simulator's model: inputs, conservation, kernels, scenarios and Monte Carlo."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import need_refdata
from ionledger.errors import ConfigurationError, ValidationError
from ionledger.policy.engine import run
from ionledger.policy.inputs import Data, load_data
from ionledger.policy.lifetimes import retirement_kernels
from ionledger.policy.montecarlo import monte_carlo, sample
from ionledger.policy.results import NATIONAL, Result
from ionledger.policy.scenario import Scenario, load_scenario, shipped


@pytest.fixture(scope="module")
def refdata() -> Path:
    return need_refdata("domain").parent


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_scenario("baseline")


@pytest.fixture(scope="module")
def data(refdata: Path, baseline: Scenario) -> Data:
    return load_data(refdata, baseline.start_year, baseline.end_year)


@pytest.fixture(scope="module")
def result(baseline: Scenario, data: Data) -> Result:
    return run(baseline, data)


def test_inputs_come_from_the_reference_data(data: Data) -> None:
    i = int(np.flatnonzero(data.years == 2024)[0])
    assert data.units[i] == 12_866_000  # CAAM, refdata china_nev_sales_gwh.csv
    assert data.kwh_per_unit[i] == pytest.approx(548.4e6 / 12_866_000)
    assert data.capacity_national[i] == 2_371_948  # refdata channel calibration, 2024
    assert data.weibull_k == 3.5
    assert data.weibull_scale[0].tolist() == [9.5, 8.5, 8.0, 7.5, 7.0, 7.5]
    lfp = list(data.content[0])
    assert lfp[0] == pytest.approx(0.0851 + 0.0036)  # Li in CAM + in LiPF6, EverBatt LFP
    hydro = data.recovery[0].tolist()
    assert hydro[:4] == [0.9, 0.98, 0.98, 0.98]  # Li, Ni, Co, Mn (EverBatt 2019 Table 12)
    assert data.recovery[1][0] == 0.0  # pyro loses lithium
    for shares in (data.seg_share, data.chem_share, data.prov_share, data.capacity_share):
        assert np.allclose(shares.sum(axis=1), 1.0)
        assert (shares >= 0).all()


def test_a_missing_reference_file_is_named(tmp_path: Path, baseline: Scenario) -> None:
    (tmp_path / "domain").mkdir()
    with pytest.raises(ConfigurationError, match=r"china_nev_sales_gwh\.csv"):
        load_data(tmp_path, baseline.start_year, baseline.end_year)


def test_sales_are_caam_less_exports_split_by_province(result: Result, data: Data) -> None:
    i = result.year_index(2023)
    sold = result.provincial["sold_vehicles"][0, i].sum()
    assert sold == pytest.approx(9_495_000 * (1 - 1.203 / 9.495), rel=1e-4)  # share to 4 digits
    assert result.provincial["sold_vehicles"][0, i].argmax() == 18  # Guangdong, the largest


def test_retirements_split_exactly_into_channels(result: Result) -> None:
    n, p = result.national, result.provincial
    assert np.allclose(n["retired_t"], n["formal_t"] + n["informal_t"])
    assert np.allclose(p["retired_t"], p["formal_t"] + p["informal_t"])
    assert np.allclose(p["retired_packs"], p["formal_packs"] + p["informal_packs"])
    assert np.allclose(p["retired_gwh"], p["formal_gwh"] + p["informal_gwh"], rtol=1e-9, atol=1e-12)
    assert np.allclose(p["retired_t"].sum(axis=2), n["retired_t"])
    assert (n["rationed_t"] <= n["informal_t"] + 1e-6).all()
    assert (n["formal_rate"] >= 0).all()
    assert (n["formal_rate"] <= 1).all()


def test_formal_tonnes_reach_plants_or_wait(result: Result) -> None:
    """Everything collected formally arrives at a plant, or is still waiting for approval."""
    n = result.national
    arrived = (n["utilisation"] * n["capacity_t"]).sum()
    assert arrived == pytest.approx(n["formal_t"].sum() - n["in_transit_t"][0, -1], rel=1e-9)
    flows = result.od_formal_t.sum(axis=(1, 2))
    assert np.allclose(flows, n["formal_t"][0])


def test_no_formal_channel_before_the_white_list(result: Result) -> None:
    before = result.years < 2018
    assert (result.national["formal_t"][0, before] == 0).all()
    assert (result.national["capacity_t"][0, before] == 0).all()


def test_kernels_account_for_every_pack() -> None:
    draws, years, ages = 2, 3, 80
    kern = retirement_kernels(
        battery_scale=np.full((draws, 3, 6), 8.0),
        vehicle_mean=np.full((years, 3), 10.0),
        k=3.5,
        replace_share=np.array([0.0, 0.5]),
        ages=ages,
    )
    originals = kern.retire.sum(axis=(4, 5)) - kern.install.sum(axis=4)
    assert np.allclose(originals, 1.0)  # every original pack retires once
    assert np.allclose(kern.retire[..., 0].sum(axis=4), kern.install.sum(axis=4))
    assert np.allclose(kern.install[0], 0.0)  # no replacements when none are made
    assert (kern.retire >= 0).all()
    # With equal Weibull shapes the battery fails first with l_b^-k / (l_b^-k + l_v^-k).
    lam_v = 10.0 / math.gamma(1 + 1 / 3.5)
    first = 8.0**-3.5 / (8.0**-3.5 + lam_v**-3.5)
    assert np.allclose(kern.install[1].sum(axis=3), 0.5 * first)


def test_shorter_lives_retire_more_packs_sooner(baseline: Scenario, data: Data) -> None:
    short = run(baseline.with_params(lifetime__life_scale=0.5), data)
    long = run(baseline.with_params(lifetime__life_scale=1.0), data)
    assert short.median("retired_t", 2024) > long.median("retired_t", 2024)


def test_baseline_is_reproducible(baseline: Scenario, data: Data, result: Result) -> None:
    again = run(baseline, data)
    for name in NATIONAL:
        assert np.array_equal(again.national[name], result.national[name])


def test_monte_carlo_bands_are_ordered_and_seeded(baseline: Scenario, data: Data) -> None:
    a = monte_carlo(baseline, data, draws=24, seed=5, batch=10)
    b = monte_carlo(baseline, data, draws=24, seed=5, batch=24)
    c = monte_carlo(baseline, data, draws=24, seed=6)
    assert a.draws == 24
    for name in ("retired_t", "formal_rate", "pollution_t", "epr_balance_cny"):
        lo, mid, hi = a.bands(name)
        assert (lo <= mid + 1e-9).all()
        assert (mid <= hi + 1e-9).all()
        assert np.array_equal(a.national[name], b.national[name])  # batching changes nothing
    assert not np.array_equal(a.national["retired_t"], c.national["retired_t"])
    lo, _, hi = a.bands("retired_t")
    assert (hi[-5:] > lo[-5:]).all()  # the draws differ


def test_samples_respect_their_distributions(baseline: Scenario) -> None:
    draws = sample(baseline, 2000, seed=1)
    price = draws["choice.price_scale_cny"]
    assert price.min() >= 60
    assert price.max() <= 160
    factor = draws["economics.price_factor"]
    assert np.median(factor) == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValidationError):
        sample(baseline, 0, seed=1)


def test_every_shipped_scenario_loads() -> None:
    names = shipped()
    assert "baseline" in names
    assert len(names) >= 5
    for name in names:
        spec = load_scenario(name)
        assert spec.description
        assert spec["lifetime.life_scale"] == load_scenario("baseline")["lifetime.life_scale"]


def test_bad_scenarios_are_refused(tmp_path: Path) -> None:
    cases = {
        "typo": '[scenario]\nextends = "baseline"\n[choice]\nascc = 1.0\n',
        "range": '[scenario]\nextends = "baseline"\n[lifetime]\nreplace_share = 2.0\n',
        "province": '[scenario]\nextends = "baseline"\n[policy]\nmandate_provinces = ["XX"]\n',
        "lever": '[scenario]\nextends = "baseline"\n[policy]\nsubsidy = 3\n',
        "self": '[scenario]\nextends = "self"\n',
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        with pytest.raises(ValidationError):
            load_scenario(path)
    with pytest.raises(ValidationError, match="no scenario"):
        load_scenario("no-such-scenario")
