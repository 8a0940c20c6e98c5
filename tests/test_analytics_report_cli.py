"""``ionledger report`` and ``GET /reports/{name}`` on a SQLite store whose fact tables hold
hand-made rows: outputs (JSON, CSV, Parquet, HTML), errors, and who may read which report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from typer.testing import CliRunner

from analytics_kit import battery
from governance_kit import register
from ionledger.analytics.kpi_base import day_of
from ionledger.api.app import create_app
from ionledger.cli import app
from ionledger.governance.credentials import OPERATOR, issue
from ionledger.settings import Settings
from ionledger.store.schema_facts import fact_batteries

runner = CliRunner()


def _rows() -> list[dict[str, Any]]:
    rows = [battery(f"A{i}", producer="VM", province="CN-GD") for i in range(3)]
    rows += [battery(f"S{i}", producer="VM2", province="CN-SC") for i in range(2)]
    rows[0].update(retired_year=2024, retired_day=day_of(2024, 2, 1), retired_by="DL")
    rows[3].update(retired_year=2024, retired_day=day_of(2024, 2, 1), retired_by="DS",
                   whitelisted_day=day_of(2024, 2, 3), collected_day=day_of(2024, 2, 3),
                   collected_by="RC")  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from ionledger.store.open import init_store

    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'r.db'}"
    store = init_store(url)
    register(store)
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(insert(fact_batteries), _rows())
    store.close()
    return url


def _cli(*args: str) -> Any:
    return runner.invoke(app, ["report", *args])


def test_cli_prints_json_and_writes_csv_parquet_html(report_db: str, tmp_path: Path) -> None:
    out = tmp_path / "epr.csv"
    pq_out, html = tmp_path / "epr.parquet", tmp_path / "epr.html"
    args = ["epr", "--json", "--db", report_db, "--year", "2024", "--csv", str(out)]
    result = _cli(*args, "--parquet", str(pq_out), "--html", str(html), "--explain")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = {r["producer"]: r for r in doc["tables"]["compliance"]["rows"]}
    assert (rows["VM"]["retired_t"], rows["VM"]["deficit_t"]) == (0.4, 0.4)
    assert (rows["VM2"]["fulfilled_t"], rows["VM2"]["deficit_t"]) == (0.4, 0.0)
    assert doc["explain"][0]["name"] == "basis"
    with out.open(encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert [(r["producer"], r["deficit_t"]) for r in got] == [("VM", "0.4"), ("VM2", "0.0")]
    table = pq.read_table(pq_out)
    assert table.column("producer").to_pylist() == ["VM", "VM2"]
    assert table.column("compensation").to_pylist() == [4000.0, 0.0]
    page = html.read_text(encoding="utf-8")
    assert "compliance" in page
    assert "VM2" in page
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page


def test_cli_writes_each_table_of_a_report(report_db: str, tmp_path: Path) -> None:
    out = tmp_path / "leak.csv"
    result = _cli("leakage", "--db", report_db, "--csv", str(out), "--as-of", "2024-12-31")
    assert result.exit_code == 0, result.output
    missing = (tmp_path / "leak.missing.csv").read_text(encoding="utf-8")
    assert next(iter(csv.DictReader(io.StringIO(missing))))["battery_id"] == "A0"
    ranking = (tmp_path / "leak.inspection.csv").read_text(encoding="utf-8")
    assert [r["party"] for r in csv.DictReader(io.StringIO(ranking))] == ["DL", "DS"]
    # On the terminal a wide table is one line of name=value pairs per row (a grid of 18
    # columns would show only ellipses); narrow ones stay grids.
    text = " ".join(result.output.split())
    assert "leakage: national" in text
    assert "year=2024" in text
    assert "expected_retirements=" in text
    assert "missing_share" in text  # the inspection list (5 columns) is a grid,
    assert "rank=" not in text  # not name=value lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "no report 'nope'"),
        (["epr", "--jurisdiction", "us"], "unknown jurisdiction"),
        (["leakage", "--as-of", "31/12/2024"], "--as-of must be a date"),
        (["carbon", "--engine", "duckdb"], "Parquet export"),
        (["carbon", "--engine", "oracle"], "unknown engine"),
    ],
)
def test_cli_bad_input_is_a_specific_error(report_db: str, args: list[str], message: str) -> None:
    result = _cli(*args, "--db", report_db)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


@pytest.fixture(scope="module")
def client(report_db: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from ionledger.store.open import open_store

    store = open_store(report_db)
    tokens = {
        who: issue(store, who, ["read"], registered=who != OPERATOR).token
        for who in (OPERATOR, "NR", "PGD", "VM", "DL")
    }
    with TestClient(create_app(Settings(database_url=report_db), store=store)) as c:
        yield c, tokens
    store.close()


def _get(client: tuple[TestClient, dict[str, str]], who: str | None, path: str) -> Any:
    c, tokens = client
    headers = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
    return c.get(path, headers=headers)


def test_api_regulators_read_reports_provincial_ones_their_province(client: Any) -> None:
    national = _get(client, "NR", "/reports/leakage?year=2024")
    assert national.status_code == 200
    provinces = {r["province"] for r in national.json()["tables"]["summary"]["rows"]}
    assert provinces == {"CN-GD", "CN-SC"}
    local = _get(client, "PGD", "/reports/leakage?year=2024").json()
    assert {r["province"] for r in local["tables"]["summary"]["rows"]} == {"CN-GD"}
    assert local["params"]["province"] == "CN-GD"
    other = _get(client, "PGD", "/reports/leakage?province=CN-SC")
    assert other.status_code == 403
    assert other.json()["rule"] == "access.report-province"
    text = _get(client, OPERATOR, "/reports/epr?format=csv&year=2024")
    assert text.headers["content-type"].startswith("text/csv")
    assert text.text.splitlines()[0].startswith("producer,year,jurisdiction")
    page = _get(client, "NR", "/reports/epr?format=html")
    assert page.status_code == 200
    assert page.text.startswith("<!DOCTYPE html>")


def test_api_producers_read_only_their_own_epr_report(client: Any) -> None:
    own = _get(client, "VM", "/reports/epr")
    assert own.status_code == 200
    assert {r["producer"] for r in own.json()["tables"]["compliance"]["rows"]} == {"VM"}
    assert _get(client, "VM", "/reports/epr?producer=VM2").status_code == 403
    assert _get(client, "VM", "/reports/leakage").status_code == 403
    assert _get(client, "DL", "/reports/epr").status_code == 403
    assert _get(client, None, "/reports/epr").status_code == 401
    assert _get(client, "NR", "/reports/nope").status_code == 400
