"""The simulator's outputs and commands: CSV, JSON, PNG, self-contained HTML, the CLI, and the
feed into the synthetic event generator."""

from __future__ import annotations

import csv
import datetime
import json
import re
from pathlib import Path

import msgspec
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import need_refdata
from ionledger.cli_sim import sim_app
from ionledger.policy.axes import PROVINCE_CODES
from ionledger.policy.feed import generate_scenario_fleet, scenario_fleet
from ionledger.policy.outputs import write_comparison, write_run
from ionledger.policy.runner import run_scenario

PNG = b"\x89PNG\r\n\x1a\n"
runner = CliRunner()


def _valid_png(path: Path) -> None:
    from PIL import Image

    assert path.read_bytes()[:8] == PNG
    with Image.open(path) as image:
        image.verify()  # decodes the chunks and checks their CRCs
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] >= 600


@pytest.fixture(scope="module")
def refdata() -> Path:
    return need_refdata("domain").parent


def _self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.I)  # no URL at all
    assert "<script" not in html
    assert " src=" not in html
    assert "@import" not in html
    assert html.count("<svg") >= 2


def test_a_run_writes_tables_charts_and_a_page(tmp_path: Path, refdata: Path) -> None:
    spec, result = run_scenario("baseline", refdata=refdata, draws=4, seed=1, end_year=2032)
    written = write_run(tmp_path, spec, result)
    names = {p.name for p in written}
    assert {"national.csv", "provinces.csv", "materials.csv", "summary.json"} <= names
    for png in ("timeseries.png", "sankey.png"):
        _valid_png(tmp_path / png)
    _self_contained((tmp_path / "report.html").read_text())
    with (tmp_path / "national.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2032 - 2012 + 1
    lo, mid, hi = (float(rows[-1][f"retired_t_p{q}"]) for q in (5, 50, 95))
    assert lo <= mid <= hi
    with (tmp_path / "provinces.csv").open() as fh:
        prov = list(csv.DictReader(fh))
    assert len(prov) == len(rows) * len(PROVINCE_CODES)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["draws"] == 4
    assert set(summary["national"]["formal_rate"]) == {"p5", "p50", "p95"}


def test_a_comparison_writes_charts_and_a_page(tmp_path: Path, refdata: Path) -> None:
    a = run_scenario("baseline", refdata=refdata, end_year=2032)
    b = run_scenario("enforcement", refdata=refdata, end_year=2032)
    written = write_comparison(tmp_path, a, b)
    _valid_png(tmp_path / "compare_timeseries.png")
    _valid_png(tmp_path / "compare_sankey.png")
    html = (tmp_path / "compare.html").read_text()
    _self_contained(html)
    assert "enforcement" in html
    assert "baseline" in html
    assert tmp_path / "comparison.csv" in written


def test_cli_run_prints_json(refdata: Path) -> None:
    out = runner.invoke(sim_app, ["run", "national_ledger", "--json", "--refdata", str(refdata)])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["scenario"] == "national_ledger"
    assert doc["years"][-1] == 2040
    retired = np.array(doc["national"]["retired_t"])
    formal, informal = (
        np.array(doc["national"]["formal_t"]),
        np.array(doc["national"]["informal_t"]),
    )
    assert np.allclose(retired, formal + informal, rtol=1e-5)
    assert set(doc["recovered_formal_t"]) == {"Li", "Ni", "Co", "Mn", "Cu", "Al", "graphite"}
    assert set(doc["provinces"]) == set(PROVINCE_CODES)


def test_cli_tables_compare_and_list(tmp_path: Path, refdata: Path) -> None:
    listed = runner.invoke(sim_app, ["scenarios"])
    assert listed.exit_code == 0
    assert "baseline" in listed.stdout
    assert "full_package" in listed.stdout
    shown = runner.invoke(sim_app, ["run", "baseline", "--refdata", str(refdata)])
    assert shown.exit_code == 0
    assert "formal rate" in shown.stdout
    args = ["compare", "baseline", "epr_rebate", "--json", "--refdata", str(refdata)]
    compared = runner.invoke(sim_app, args)
    assert compared.exit_code == 0, compared.output
    tables = json.loads(compared.stdout)
    assert any("baseline vs epr_rebate" in title for title in tables)
    missing = runner.invoke(sim_app, ["run", "nope", "--refdata", str(refdata)])
    assert missing.exit_code == 1
    assert "no scenario" in missing.output
    absent = runner.invoke(sim_app, ["run", "baseline", "--refdata", str(tmp_path)])
    assert absent.exit_code == 2
    assert "china_nev_sales_gwh.csv" in absent.output


def test_cli_calibrate_reports_every_anchor(refdata: Path) -> None:
    out = runner.invoke(sim_app, ["calibrate", "--json", "--refdata", str(refdata)])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["passed"]
    for row in report["anchors"]:
        assert {"anchor", "source", "value", "error", "tolerance", "pass"} <= set(row)


def test_feed_shapes_a_province_fleet(tmp_path: Path, refdata: Path) -> None:
    end = datetime.date(2030, 12, 31)
    plan = scenario_fleet("enforcement", province="CN-SC", refdata=refdata, end_date=end)
    base = scenario_fleet("baseline", province="CN-SC", refdata=refdata, end_date=end)
    assert plan.formal_share > base.formal_share  # the scenario reaches the generator
    assert set(plan.sales) == set(range(2016, 2031))
    fleet, result = generate_scenario_fleet(
        "enforcement", province="CN-SC", batteries=300, seed=3, out=tmp_path, refdata=refdata,
        end_date=end,
    )  # fmt: skip
    truth = msgspec.json.decode((tmp_path / "truth.json").read_bytes())
    assert truth["formalShare"] == pytest.approx(fleet.formal_share)
    assert truth["plan"]["province"] == "CN-SC"
    packs = truth["packs"].values()
    assert {p["province"] for p in packs} == {"CN-SC"}
    years = [int(p["produced"][:4]) for p in packs]
    assert sum(y >= 2024 for y in years) > sum(y < 2020 for y in years)  # sales grew
    assert result.packs >= 300


def test_feed_refuses_bad_input(refdata: Path) -> None:
    from ionledger.errors import ValidationError

    with pytest.raises(ValidationError):
        scenario_fleet("baseline", province="CN-XX", refdata=refdata)
    with pytest.raises(ValidationError):
        scenario_fleet("baseline", province="CN-SC", refdata=refdata,
                       end_date=datetime.date(2045, 1, 1))  # fmt: skip


def test_fleet_plan_reaches_every_pack(tmp_path: Path) -> None:
    from ionledger.errors import ValidationError
    from ionledger.sim.generator import FleetPlan, generate

    plan = FleetPlan(province="CN-GZ", sales=((2020, 1.0),), lfp_share=((2020, 1.0),))
    generate(batteries=250, seed=4, out=tmp_path / "a", plan=plan)
    truth = msgspec.json.decode((tmp_path / "a" / "truth.json").read_bytes())
    originals = [p for p in truth["packs"].values() if p["produced"] < "2021"]
    assert len(originals) == 250
    assert {p["province"] for p in truth["packs"].values()} == {"CN-GZ"}
    assert {p["produced"][:4] for p in originals} == {"2020"}
    assert {p["chemistry"] for p in originals} == {"LFP"}
    # The national mix comes back after a planned run (the override is undone).
    generate(batteries=250, seed=4, out=tmp_path / "b")
    again = msgspec.json.decode((tmp_path / "b" / "truth.json").read_bytes())
    assert len({p["province"] for p in again["packs"].values()}) > 5
    assert "plan" not in again
    for bad in (FleetPlan(province="XX"), FleetPlan(lfp_share=((2020, 2.0),))):
        with pytest.raises(ValidationError):
            generate(batteries=1, seed=1, out=tmp_path / "c", plan=bad)
