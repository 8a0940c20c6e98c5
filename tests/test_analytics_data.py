"""The reports' package data agrees with the reference data it cites, and every figure says
where it comes from."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import need_refdata
from ionledger.analytics import factors as f
from ionledger.policy.refdata import find_row, slashed


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.refdata
def test_weibull_lifetimes_are_the_reference_data() -> None:
    rows = _rows(need_refdata("domain", "lifetime_secondlife_params.csv"))
    data = f.table("lifetime")
    k = slashed(find_row(rows, "parameter", "Battery Weibull shape k", file="life")["value"])
    assert data["shape_k"] == k[0]
    for segment, prefix in (("bev_passenger", "Weibull scale BEV passenger"),
                            ("phev_passenger", "Weibull scale PHEV passenger"),
                            ("bev_commercial", "Weibull scale BEV commercial")):  # fmt: skip
        row = find_row(rows, "parameter", prefix, file="life")
        assert data["scale_years"][segment] == slashed(row["value"])
        assert "LFP/NCM111/523/622/811/NCA" in row["parameter"]  # the table's chemistry order
    assert data["chemistries"] == ["LFP", "NMC111", "NMC532", "NMC622", "NMC811", "NCA"]
    carbon = f.table("carbon")["second_life"]
    row = find_row(rows, "parameter", "Second-life GHG break-even", file="life")
    assert str(carbon["break_even_years"]) in row["value"]


@pytest.mark.refdata
def test_carbon_factors_are_the_reference_data() -> None:
    data = f.table("carbon")
    c2g = _rows(need_refdata("domain", "derived_pack_cradle_to_gate_ghg_per_kWh.csv"))
    assert sum(len(v) for k, v in data["cradle_to_gate"].items() if k != "source") == len(c2g)
    for r in c2g:
        got = data["cradle_to_gate"][r["grid"]][r["chemistry"]]
        want = [float(r[c]) for c in ("materials_kgCO2e_per_kWh", "cell_energy_kgCO2e_per_kWh",
                                      "total_kgCO2e_per_kWh")]  # fmt: skip
        assert got == want, r
    proc = _rows(need_refdata("domain", "derived_recycling_process_ghg_per_kg_battery.csv"))
    total = "total_excl_organics_combustion_and_credits_kgCO2e_per_kg_battery"
    for r in proc:
        got = data["process"][r["grid"]][r["route"]]
        want = [float(r[c]) for c in ("chemicals_kgCO2e", "fuels_kgCO2e", "electricity_kgCO2e")]
        assert got == [*want, float(r[total])], r
    mats = {r["material"]: r for r in _rows(
        need_refdata("domain", "everbatt2023_greet_material_emission_factors.csv"))}  # fmt: skip
    for element, m in data["materials"].items():
        if element == "source":
            continue
        assert m["kg_co2e_per_kg_material"] == float(mats[m["material"]]["GHG_kgCO2e_per_kg"])
    # Element fractions from atomic weights (IUPAC): Li2CO3 and MnSO4.
    li, c, o, mn, s = 6.94, 12.011, 15.999, 54.938, 32.06
    assert data["materials"]["Li"]["element_fraction"] == pytest.approx(
        2 * li / (2 * li + c + 3 * o), abs=1e-5
    )
    assert data["materials"]["Mn"]["element_fraction"] == pytest.approx(
        mn / (mn + s + 4 * o), abs=1e-5
    )
    grids = {r["region"]: r for r in _rows(
        need_refdata("domain", "everbatt2023_grid_emission_factors.csv"))}  # fmt: skip
    assert data["grids"]["China_GREET2022"]["kg_co2e_per_kwh"] == float(
        grids["China"]["GHG_kgCO2e_per_kWh"]
    )
    assert data["grids"]["US_GREET2022"]["kg_co2e_per_kwh"] == float(
        grids["U.S."]["GHG_kgCO2e_per_kWh"]
    )
    for g in data["grids"].values():  # every grid names rows that exist
        assert g["cradle_to_gate_grid"] in data["cradle_to_gate"]
        assert g["process_grid"] in data["process"]


def test_every_data_file_cites_its_sources() -> None:
    assert "lifetime_secondlife_params.csv" in f.table("lifetime")["source"]
    triage = f.table("triage")
    assert "GB/T 34015" in triage["traction_limit_source"]
    assert triage["traction_limit_soh_pct"] == 80
    for key in [k for k in triage if k.endswith("_source")]:
        assert triage[key], key
    for rule in ("cn", "eu", "in"):
        assert f.table("epr")[rule]["source"]
        assert f.table("epr")[rule]["compensation_source"]
    targets = f.table("targets")
    assert targets["eu_recovery"]["by_2027"] == {"Co": 0.9, "Cu": 0.9, "Li": 0.5, "Ni": 0.9}
    assert targets["eu_recovery"]["by_2031"] == {"Co": 0.95, "Cu": 0.95, "Li": 0.8, "Ni": 0.95}
    assert targets["eu_recycled_content"]["from_2031"] == {"Co": 0.16, "Li": 0.06, "Ni": 0.06}
    for name, spec in f.table("scorecard")["indicators"].items():
        assert spec["source"], name
        assert spec["weight"] > 0, name
        assert spec["direction"] in ("higher", "lower"), name
    for section in ("cradle_to_gate", "process", "materials", "second_life"):
        assert f.table("carbon")[section]["source"], section


def test_retirement_probability_is_the_weibull_hazard_of_the_age_year() -> None:
    # Age year 0 is [0, 0.5); age a >= 1 is [a - 0.5, a + 0.5), conditional on reaching it.
    s = f.survival
    assert f.retire_probability(0, 9.5, 3.5) == pytest.approx(1 - s(0.5, 9.5, 3.5))
    assert f.retire_probability(9, 9.5, 3.5) == pytest.approx(
        1 - s(9.5, 9.5, 3.5) / s(8.5, 9.5, 3.5)
    )
    assert f.retire_probability(-1, 9.5, 3.5) == 0.0
    assert f.weibull_scale("NMC811", "EV") == 7.0
    assert f.weibull_scale("NMC811", "industrial") == 4.0
    assert f.weibull_scale("LMO", "EV") == pytest.approx(48.0 / 6)  # the segment mean
