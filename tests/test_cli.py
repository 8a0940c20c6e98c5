"""The CLI end to end on a generated fleet: generate, init, import, trace, rebuild, demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ionledger.cli import app
from ionledger.errors import RuleViolation
from ionledger.services.importer import Importer
from ionledger.services.rebuild import rebuild
from ionledger.services.registry import change_registry, changes_from_generator
from ionledger.settings import Settings
from ionledger.sim.generator import generate
from ionledger.store.open import init_store
from ionledger.store.port import EventStore

runner = CliRunner()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fleet without planted violations (tests/test_detection.py plants them)."""
    out = tmp_path_factory.mktemp("fleet")
    generate(batteries=120, seed=5, out=out, anomaly_rate=0.0)
    return out


def test_generate_through_the_cli(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["generate", "--batteries", "30", "--seed", "5", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "truth.json").exists()
    assert (tmp_path / "registry.json").exists()


def test_generated_fleet_imports_and_rebuilds_exactly(store: EventStore, fleet: Path) -> None:
    registry = json.loads((fleet / "registry.json").read_text())
    change_registry(store, changes_from_generator(registry), actor="operator")
    importer = Importer(store, Settings(database_url=store.url, batch_size=997))
    for doc in sorted(fleet.glob("events-*.jsonld")):
        with doc.open("rb") as fh:
            report = importer.import_stream(fh, source=str(doc))
        assert report.ok, (report.document_error, report.errors[:3])
    before = store.projection_snapshot()
    assert len(before["batteries"]) > 1000
    assert before["genealogy"]
    assert before["test_results"]
    assert before["transfers"]
    assert before["battery_parties"]
    assert before["registry_entries"]
    assert rebuild(store, batch=1234) == store.count_events()
    assert store.projection_snapshot() == before


def test_import_trace_and_rebuild_through_the_cli(tmp_path: Path, fleet: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    docs = [str(p) for p in sorted(fleet.glob("events-*.jsonld"))]
    first = runner.invoke(app, ["import", *docs, "--db", url])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["import", *docs, "--db", url])
    assert again.exit_code == 0
    assert "stored 0" in again.output
    truth = json.loads((fleet / "truth.json").read_text())
    recycled = next(
        code for code, pack in truth["packs"].items() if pack["fate"] == "formal_recycled"
    )
    shown = runner.invoke(app, ["trace", recycled, "--db", url])
    assert shown.exit_code == 0
    assert "recycling" in shown.output
    as_json = json.loads(runner.invoke(app, ["trace", recycled, "--json", "--db", url]).output)
    assert as_json["battery_id"] == recycled
    assert as_json["battery"]["state"] in ("dismantled", "recycled")  # parts or whole pack
    stages = [e["stage"] for e in as_json["timeline"]]
    assert stages[0] == "commissioning"
    assert "recycling" in stages
    assert runner.invoke(app, ["rebuild", "--db", url]).exit_code == 0
    missing = runner.invoke(app, ["trace", "03HPB0C1234567D5H0000001", "--db", url])
    assert missing.exit_code == 1
    assert "not-found" in missing.output


def test_demo_loads_a_fleet_and_points_at_a_battery(tmp_path: Path) -> None:
    args = ["demo", "--batteries", "40", "--workdir", str(tmp_path), "--no-serve"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000/docs" in result.output
    example = result.output.split("/batteries/")[1].split()[0]
    shown = runner.invoke(app, ["trace", example, "--db", f"sqlite:///{tmp_path}/ionledger.db"])
    assert shown.exit_code == 0
    assert "commissioning" in shown.output
    assert "/log/checkpoint" in result.output
    verified = runner.invoke(app, ["verify", "--db", f"sqlite:///{tmp_path}/ionledger.db"])
    assert verified.exit_code == 0, verified.output  # the demo's log is signed and whole
    assert "reusing" in runner.invoke(app, args).output


def test_every_planted_anomaly_is_valid_epcis(tmp_path: Path) -> None:
    """Planted violations are valid EPCIS: what refuses the impossible ones is a rule (with its
    ID), never the decoder; everything else imports."""
    result = generate(batteries=300, seed=11, out=tmp_path / "fleet", anomaly_rate=0.5)
    assert sum(result.anomalies.values()) > 100, result.anomalies  # every kind: test_detection
    url = f"sqlite:///{tmp_path / 'anomalies.db'}"
    store = init_store(url)
    importer = Importer(store, Settings(database_url=url))
    refused = 0
    for doc in result.documents:
        with doc.open("rb") as fh:
            report = importer.import_stream(fh, source=str(doc), proceed=True)
        assert report.document_error is None
        assert all(isinstance(e, RuleViolation) for e in report.errors), report.errors[:3]
        refused += report.error_count
    assert refused > 0
    assert store.count_events() == result.events - refused
    store.close()
