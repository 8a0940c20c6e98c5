"""The reports on hand-made facts: every figure checked against a number worked out by hand (or
by the formula written out independently here), on DuckDB and on SQLite."""

from __future__ import annotations

import math
from typing import Any

import pytest

from analytics_kit import Facts, battery, make_facts
from ionledger.analytics.kpi_base import day_of
from ionledger.analytics.kpis import REPORTS, run
from ionledger.analytics.params import AnalyticsParams
from ionledger.errors import NotFound, ValidationError

AS_OF = day_of(2024, 12, 31)


def _s(t: float, scale: float, k: float = 3.5) -> float:
    return math.exp(-((t / scale) ** k))


def _u(age: int, scale: float) -> float:  # a pack placed on the market retires in age year `age`
    return _s(max(age - 0.5, 0), scale) - _s(age + 0.5, scale)


def _fleet() -> list[dict[str, Any]]:
    """10 LFP packs placed 2020 in CN-GD by VM1; 4 retire in 2024 (D1 retires 3, D2 one)."""
    b = [battery(f"P{i:02d}") for i in range(10)]
    b[0].update(retired_year=2024, retired_day=day_of(2024, 3, 1), retired_by="D1",
                collected_day=day_of(2024, 3, 5), collected_by="O1",
                whitelisted_day=day_of(2024, 3, 9), whitelisted_by="R1")  # fmt: skip
    b[1].update(retired_year=2024, retired_day=day_of(2024, 3, 1), retired_by="D1")  # missing
    b[2].update(
        retired_year=2024,
        retired_day=day_of(2024, 3, 1),
        retired_by="D1",
        collected_day=day_of(2024, 6, 1),
        collected_by="O1",
    )  # late: missing too
    b[3].update(retired_year=2024, retired_day=day_of(2024, 12, 20), retired_by="D2")  # < 30 d
    return b


@pytest.fixture(params=["duckdb", "sqlite"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_leakage_counts_rates_bounds_cases_and_ranking(engine: str) -> None:
    facts = make_facts(engine, batteries=_fleet())
    r = run("leakage", facts, AnalyticsParams(as_of_day=AS_OF))
    rows = {row["year"]: row for row in r.rows}
    assert sorted(rows) == [2020, 2021, 2022, 2023, 2024]
    row = rows[2024]
    expected = 10 * _u(4, 9.5)
    assert row["fleet_in_service"] == 10
    assert row["expected_retirements"] == pytest.approx(expected, abs=1e-6)
    assert rows[2020]["expected_retirements"] == pytest.approx(10 * (1 - _s(0.5, 9.5)), abs=1e-6)
    assert (row["recorded_retirements"], row["received_formal"], row["received_whitelisted"]) == (
        4, 2, 1,
    )  # fmt: skip
    assert row["formal_collection_rate"] == pytest.approx(1 / expected, abs=1e-6)
    assert row["formal_rate_of_recorded"] == 0.25
    assert row["informal_outflow"] == pytest.approx(max(0.0, expected - 1), abs=1e-6)
    # Bounds: scales x 1.1 and x 0.9, minus / plus 1.96 binomial standard deviations.
    sd = math.sqrt(10 * _u(4, 9.5) * (1 - _u(4, 9.5)))
    assert row["expected_low"] == pytest.approx(max(0, 10 * _u(4, 9.5 * 1.1) - 1.96 * sd), abs=1e-6)
    assert row["expected_high"] == pytest.approx(10 * _u(4, 9.5 * 0.9) + 1.96 * sd, abs=1e-6)
    assert row["informal_high"] == pytest.approx(row["expected_high"] - 1, abs=1e-6)
    assert row["missing_cases"] == 2
    cases = r.table("missing").rows
    assert [(c["battery_id"], c["status"]) for c in cases] == [
        ("P01", "open"), ("P02", "received_late"),
    ]  # fmt: skip
    assert cases[0]["days_without_formal_receipt"] == AS_OF - day_of(2024, 3, 1)
    assert cases[1]["days_without_formal_receipt"] == day_of(2024, 6, 1) - day_of(2024, 3, 1)
    ranking = r.table("inspection").rows
    assert [(x["rank"], x["party"], x["retired"], x["missing"]) for x in ranking] == [
        (1, "D1", 3, 2), (2, "D2", 1, 0),
    ]  # fmt: skip
    # A longer grace period closes the late case; the year filter keeps one year.
    r60 = run("leakage", facts, AnalyticsParams(as_of_day=AS_OF, missing_after_days=100, year=2024))
    assert [x["year"] for x in r60.rows] == [2024]
    assert [c["battery_id"] for c in r60.table("missing").rows] == ["P01"]


def _epr_facts(engine: str) -> Facts:
    b = _fleet()
    b.append(battery("Q1", producer="VM2", placed_year=2016, mass_kg=500.0, energy_kwh=50.0))
    inputs = [dict(seq=7, battery_id="P00", producer="VM1", chemistry="LFP", mass_kg=400.0,
                   energy_kwh=60.0, year=2024)]  # fmt: skip
    surrenders = [dict(producer="VM2", year=2024, category="recycling", kg=300.0, grams=300_000)]
    return make_facts(engine, batteries=b, recycling_inputs=inputs, surrenders=surrenders)


def test_epr_china_style_collection_responsibility(engine: str) -> None:
    r = run("epr", _epr_facts(engine), AnalyticsParams(jurisdiction="cn"))
    rows = {(x["producer"], x["year"]): x for x in r.rows}
    placed = rows[("VM1", 2020)]
    assert (placed["placed_packs"], placed["placed_kwh"], placed["placed_t"]) == (10, 600.0, 4.0)
    y = rows[("VM1", 2024)]
    # 4 packs of 400 kg retired; one reached a white-listed party.
    assert (y["retired_t"], y["obligation_t"], y["fulfilled_t"], y["deficit_t"]) == (
        1.6, 1.6, 0.4, 1.2,
    )  # fmt: skip
    assert y["recycled_t"] == 0.4
    assert y["fulfilled_share"] == 0.25
    assert y["compensation"] == 1200 * 10.0
    assert y["currency"] == "CNY"
    custom = run("epr", _epr_facts(engine), AnalyticsParams(compensation_per_kg=2.5, year=2024))
    assert {x["producer"]: x["compensation"] for x in custom.rows}["VM1"] == 3000.0


def test_epr_eu_counts_recycled_mass_through_lineage(engine: str) -> None:
    r = run("epr", _epr_facts(engine), AnalyticsParams(jurisdiction="eu", year=2024))
    y = {x["producer"]: x for x in r.rows}["VM1"]
    assert (y["obligation_t"], y["fulfilled_t"], y["deficit_t"]) == (1.6, 0.4, 1.2)
    assert y["compensation"] == 1200.0
    assert y["currency"] == "EUR"


def test_epr_provincial_view_attributes_recycled_modules_by_their_pack(engine: str) -> None:
    """Recyclers consume modules: a module counts in the province of the pack it came from."""
    b = _fleet()
    b.append(battery("H1", province="CN-HN"))
    inputs = [
        dict(seq=8, battery_id="M-P05-1", pack_id="P05", producer="VM1", chemistry="LFP",
             mass_kg=100.0, energy_kwh=15.0, year=2024),
        dict(seq=8, battery_id="M-P05-2", pack_id="P05", producer="VM1", chemistry="LFP",
             mass_kg=50.0, energy_kwh=7.5, year=2024),
        dict(seq=9, battery_id="M-H1-1", pack_id="H1", producer="VM1", chemistry="LFP",
             mass_kg=70.0, energy_kwh=10.0, year=2024),
    ]  # fmt: skip
    facts = make_facts(engine, batteries=b, recycling_inputs=inputs)
    by_province = {
        prov: {x["producer"]: x for x in run("epr", facts, params).rows}["VM1"]["recycled_t"]
        for prov, params in (
            ("CN-GD", AnalyticsParams(jurisdiction="eu", year=2024, province="CN-GD")),
            ("CN-HN", AnalyticsParams(jurisdiction="eu", year=2024, province="CN-HN")),
            (None, AnalyticsParams(jurisdiction="eu", year=2024)),
        )
    }
    assert by_province == {"CN-GD": 0.15, "CN-HN": 0.07, None: 0.22}


def test_epr_india_style_certificates_against_lagged_placements(engine: str) -> None:
    r = run("epr", _epr_facts(engine), AnalyticsParams(jurisdiction="in", year=2024))
    y = {x["producer"]: x for x in r.rows}["VM2"]
    # 500 kg placed in 2016, 8 years earlier; 2024 is before the 2025 step: 70 %.
    assert (y["basis_t"], y["target_share"]) == (0.5, 0.7)
    assert y["obligation_t"] == pytest.approx(0.35)
    assert (y["certificates_t"], y["fulfilled_t"], y["deficit_t"]) == (0.3, 0.3, 0.05)
    assert y["compensation"] == pytest.approx(50 * 20.0)


def _graded_fleet() -> list[dict[str, Any]]:
    def pack(i: int, **kw: Any) -> dict[str, Any]:
        return battery(f"G{i}", retired_year=2024, retired_by="D1", **kw)

    lfp_ah = 60_000 / 320  # rated Ah of a 60 kWh LFP pack at the nominal 320 V
    return [
        pack(0, soh_pct=75.0, resistance_ohm=0.1),  # direct
        pack(1, soh_pct=65.0, resistance_ohm=0.1),  # rework: SOH
        pack(2, soh_pct=55.0, resistance_ohm=0.1),  # recycle: SOH
        pack(3, soh_pct=85.0, resistance_ohm=0.3),  # rework: resistance
        pack(4, soh_pct=85.0, resistance_ohm=0.6),  # recycle: resistance
        pack(5, soh_pct=85.0, resistance_ohm=0.1, negative_events=1),  # rework: one event
        pack(6, soh_pct=85.0, negative_events=2),  # recycle: two events
        pack(7),  # untested
        pack(8, soh_pct=80.0, capacity_ah=lfp_ah * 0.66, resistance_ohm=0.1),  # capacity: 66 %
    ]


def test_cascade_grades_each_pack_by_the_rules(engine: str) -> None:
    facts = make_facts(engine, batteries=_graded_fleet())
    r = run("cascade", facts, AnalyticsParams(detail=True))
    grades = {x["battery_id"]: x["grade"] for x in r.table("packs").rows}
    assert grades == {
        "G0": "direct_second_life", "G1": "needs_rework", "G2": "recycle", "G3": "needs_rework",
        "G4": "recycle", "G5": "needs_rework", "G6": "recycle", "G7": "untested",
        "G8": "needs_rework",
    }  # fmt: skip
    assert {x["battery_id"]: x["effective_soh_pct"] for x in r.table("packs").rows}["G8"] == 66.0
    summary = {x["grade"]: (x["packs"], x["mass_t"]) for x in r.rows}
    assert summary == {
        "direct_second_life": (1, 0.4), "needs_rework": (4, 1.6), "recycle": (3, 1.2),
        "untested": (1, 0.4),
    }  # fmt: skip


def test_cascade_firm_reuse_share_and_the_60_percent_rule(engine: str) -> None:
    b = [battery(f"C{i}", retired_year=2024, mass_kg=100.0 * (i + 1)) for i in range(4)]
    # C1 collects C0 itself and receives C1, C2 by shipment; repurposes C0 and C2: 400 of 600 kg.
    b[0].update(collected_by="C1", collected_day=day_of(2024, 4, 1), repurposed_by="C1",
                repurposed_day=day_of(2024, 5, 1))  # fmt: skip
    b[2].update(repurposed_by="C1", repurposed_day=day_of(2024, 5, 1))
    # C2 receives C3 (400 kg) and repurposes nothing of it; it repurposes C0? no: only C1 did.
    transfers = [
        dict(battery_id=f"C{i}", ship_seq=10 + i, shipper="O1", receiver=firm,
             from_province="CN-GD", to_province="CN-GD", ship_day=day_of(2024, 4, 2),
             receive_day=day_of(2024, 4, 4))
        for i, firm in ((1, "C1"), (2, "C1"), (3, "C2"))
    ]  # fmt: skip
    facts = make_facts(engine, batteries=b, transfers=transfers)
    firms = {x["firm"]: x for x in run("cascade", facts, AnalyticsParams()).table("firms").rows}
    c1 = firms["C1"]
    assert (c1["collected_t"], c1["reused_t"], c1["collected_packs"], c1["reused_packs"]) == (
        0.6, 0.4, 3, 2,
    )  # fmt: skip
    assert c1["reuse_share"] == pytest.approx(0.666667)
    assert c1["meets_60_percent"] == 1
    assert "C2" not in firms  # repurposed nothing: not a cascade firm


def _recovery_rows() -> list[dict[str, Any]]:
    def row(seq: int, el: str, contained: float, recovered: float, **kw: Any) -> dict[str, Any]:
        base = dict(seq=seq, recycler="R1", province="CN-HN", year=2024, day=day_of(2024, 5, 1),
                    route="hydro", input_kg=400.0, element=el, contained_kg=contained,
                    recovered_kg=recovered)  # fmt: skip
        return base | kw

    return [
        row(1, "Li", 10.0, 9.5), row(1, "Ni", 50.0, 49.5), row(1, "Cu", 30.0, 28.0),
        row(2, "Li", 10.0, 8.0), row(2, "Ni", 50.0, 47.0), row(2, "Cu", 30.0, 28.5),
        row(3, "Co", 20.0, 19.8, route=None, recycler="R2", province="CN-JX", input_kg=200.0),
    ]  # fmt: skip


def test_recovery_efficiency_against_cn_and_eu_targets(engine: str) -> None:
    b = [battery("N1", chemistry="NMC811", placed_year=2024, energy_kwh=100.0)]
    facts = make_facts(engine, batteries=b, recovery=_recovery_rows())
    r = run("recovery", facts, AnalyticsParams())
    rows = {(x["recycler"], x["element"]): x for x in r.rows}
    li = rows[("R1", "Li")]
    assert (li["transformations"], li["contained_kg"], li["recovered_kg"]) == (2, 20.0, 17.5)
    assert li["efficiency"] == 0.875
    assert (li["cn_threshold"], li["meets_cn"]) == (0.9, 0)  # below 90 %
    assert (li["meets_eu_2027"], li["meets_eu_2031"]) == (1, 1)  # 50 % and 80 %
    assert li["below_cn_transformations"] == 1  # run 2 (80 %); run 1 had 95 %
    ni = rows[("R1", "Ni")]
    assert (ni["efficiency"], ni["meets_cn"], ni["meets_eu_2027"], ni["meets_eu_2031"]) == (
        0.965, 0, 1, 1,
    )  # fmt: skip
    cu = rows[("R1", "Cu")]
    assert (cu["cn_threshold"], cu["meets_cn"], cu["eu_2027_target"], cu["meets_eu_2031"]) == (
        None, None, 0.9, 0,
    )  # fmt: skip
    # Recycled content: 100 kWh of NMC811 placed in 2024 needs 61.63 kg Ni, 7.73 kg Co, 9.35 Li.
    content = {x["element"]: x for x in r.table("recycled_content").rows}
    assert content["Ni"]["needed_kg"] == pytest.approx(61.63)
    assert content["Ni"]["potential_share"] == pytest.approx(96.5 / 61.63, abs=1e-6)
    assert content["Co"]["potential_share"] == pytest.approx(19.8 / 7.73, abs=1e-6)
    assert content["Co"]["meets_eu_2031_minimum"] == 1
    assert content["Mn"]["recovered_kg"] == 0.0
    assert content["Mn"]["potential_share"] == 0.0


def test_carbon_figures_from_the_factors_and_explained(engine: str) -> None:
    b = [battery("K1", chemistry="NMC811", placed_year=2024, energy_kwh=100.0, province="CN-HN")]
    b.append(battery("K2", placed_year=2016, province="CN-HN", retired_year=2024, soh_pct=75.0,
                     repurposed_day=day_of(2024, 6, 1), repurposed_by="C1"))  # fmt: skip
    facts = make_facts(engine, batteries=b, recovery=_recovery_rows())
    r = run("carbon", facts, AnalyticsParams(year=2024, explain=True, explain_limit=5))
    rows = {x["province"]: x for x in r.rows}
    hn = rows["CN-HN"]
    assert hn["cradle_to_gate_t"] == pytest.approx(100 * 66.0 / 1000)  # NMC811, China GREET grid
    assert hn["process_t"] == pytest.approx(800 * 1.966 / 1000)  # two hydro runs of 400 kg
    virgin = 17.5 * 12.392 / 0.18785 + 96.5 * 19.947 + 56.5 * 4.49
    assert hn["avoided_materials_t"] == pytest.approx(virgin / 1000, abs=1e-6)
    assert hn["avoided_second_life_t"] == pytest.approx(60 * 0.75 * 55.6 / 1000, abs=1e-6)
    net = hn["avoided_materials_t"] + hn["avoided_second_life_t"] - hn["process_t"]
    assert hn["net_reduction_t"] == pytest.approx(net, abs=2e-6)
    # A run without a route is counted as the default route (hydro).
    assert rows["CN-JX"]["process_t"] == pytest.approx(200 * 1.966 / 1000)
    assert r.explain is not None
    second = next(e for e in r.explain if e.get("figure") == "avoided_second_life_t"
                  and e["province"] == "CN-HN")  # fmt: skip
    assert second["events"] == {"battery_ids": ["K2"], "battery_count": 1}
    assert second["terms"][0]["factor"]["value"] == 55.6
    assert "Wilson" in second["terms"][0]["factor"]["source"]
    process = next(e for e in r.explain if e.get("figure") == "process_t"
                   and e["province"] == "CN-HN")  # fmt: skip
    assert process["events"]["recycling_seqs"] == [1, 2]
    assert process["terms"][0]["factor"]["name"] == "process.hydrometallurgical.China_GREET2022"


def test_scorecard_scores_against_targets(engine: str) -> None:
    reporting = [dict(reporter="O1", province="CN-GD", year=2024, reports=10, late=2)]
    transfers = [dict(battery_id="P00", ship_seq=1, shipper="O1", receiver="R1",
                      from_province="CN-GD", to_province="CN-HN", ship_day=day_of(2024, 3, 10),
                      receive_day=day_of(2024, 3, 24))]  # fmt: skip
    facts = make_facts(engine, batteries=_fleet(), reporting=reporting, transfers=transfers)
    r = run("scorecard", facts, AnalyticsParams(as_of_day=AS_OF, year=2024))
    gd = {x["entity"]: x for x in r.table("provinces").rows}["CN-GD"]
    assert gd["reporting_timeliness"] == 0.8
    assert gd["reporting_timeliness_score"] == 80.0
    assert gd["transfer_days"] == 14.0
    assert gd["transfer_days_score"] == 50.0
    assert gd["cascade_rate"] == 0.0  # collected, nothing repurposed
    rate = 1 / (10 * _u(4, 9.5))
    assert gd["formal_collection_rate"] == pytest.approx(rate, abs=1e-5)
    want = (0.25 * 100 * min(1, rate) + 0.15 * 0 + 0.15 * 80 + 0.1 * 50) / (
        0.25 + 0.15 + 0.15 + 0.1
    )
    assert gd["score"] == pytest.approx(want, abs=0.01)
    assert gd["rank"] == 1
    o1 = {x["entity"]: x for x in r.table("enterprises").rows}["O1"]
    assert o1["reporting_timeliness_score"] == 80.0
    assert o1["transfer_days_score"] == 50.0


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_duckdb_and_sqlite_give_identical_reports(name: str) -> None:
    b = _fleet() + _graded_fleet()
    kw: dict[str, Any] = dict(batteries=b, recovery=_recovery_rows())
    params = AnalyticsParams(as_of_day=AS_OF, detail=True, explain=True)
    a = run(name, make_facts("duckdb", **kw), params).to_dict()
    s = run(name, make_facts("sqlite", **kw), params).to_dict()
    assert a == s
    assert any(t["rows"] for t in a["tables"].values())


def test_bad_parameters_and_names_are_specific_errors() -> None:
    with pytest.raises(ValidationError, match="jurisdiction"):
        AnalyticsParams(jurisdiction="us")
    with pytest.raises(ValidationError, match="missing_after_days"):
        AnalyticsParams(missing_after_days=-1)
    with pytest.raises(ValidationError, match="grid"):
        AnalyticsParams(grid="Mars")
    with pytest.raises(ValidationError, match="weibull_band"):
        AnalyticsParams(weibull_band=(1.2, 1.3))
    with pytest.raises(NotFound, match="no report"):
        run("nope", make_facts("duckdb"))


def test_empty_facts_give_empty_reports() -> None:
    facts = make_facts("duckdb")
    for name in REPORTS:
        report = run(name, facts, AnalyticsParams(as_of_day=AS_OF))
        assert all(t.rows == [] for t in report.tables), name
