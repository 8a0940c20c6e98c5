"""The log on the command line: init makes the key, import signs, proof / verify-proof / verify."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

from typer.testing import CliRunner

from factory import code, lifecycle, write
from ionledger.cli import app

runner = CliRunner()


def test_init_import_proof_and_offline_verification(tmp_path: Path) -> None:
    db = tmp_path / "node.db"
    url = f"sqlite:///{db}"
    init = runner.invoke(app, ["init", "--db", url])
    assert init.exit_code == 0, init.output
    key_file = tmp_path / "node.db.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert "created" in init.output
    vkey = runner.invoke(app, ["log-key", "--db", url]).output.strip()
    assert vkey.startswith("ionledger.local+")
    assert vkey in init.output
    assert "created" not in runner.invoke(app, ["init", "--db", url]).output  # key kept

    events = []
    for day in range(1, 6):
        events += lifecycle(code("P"), [code("M")], start_day=day)
    doc = write(tmp_path / "doc.json", events)
    imported = runner.invoke(app, ["import", str(doc), "--db", url, "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["checkpoint"] == len(events)
    note = runner.invoke(app, ["checkpoint", "--db", url]).output
    assert note.splitlines()[:2] == ["ionledger.local", str(len(events))]

    target = events[7]["eventID"]
    bundle = tmp_path / "proof.json"
    made = runner.invoke(app, ["proof", target, "--out", str(bundle), "--db", url])
    assert made.exit_code == 0, made.output
    assert json.loads(bundle.read_text())["leafIndex"] == 7

    # Offline: only the bundle and the key, as text or as a file; the store is not consulted.
    db.rename(tmp_path / "elsewhere.db")
    pub = tmp_path / "log.pub"
    pub.write_text(vkey + "\n")
    for key in (vkey, str(pub)):
        checked = runner.invoke(app, ["verify-proof", str(bundle), "--key", key])
        assert checked.exit_code == 0, checked.output
        assert "verified" in checked.output
        assert "leaf 7" in checked.output

    forged = json.loads(bundle.read_text())
    forged["event"]["bizStep"] = "destroying"
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    refused = runner.invoke(app, ["verify-proof", str(tmp_path / "forged.json"), "--key", vkey])
    assert refused.exit_code == 1
    assert "[proof]" in refused.output
    assert "does not match" in refused.output

    other = runner.invoke(app, ["init", "--db", f"sqlite:///{tmp_path / 'other.db'}"])
    other_key = runner.invoke(app, ["log-key", "--db", f"sqlite:///{tmp_path / 'other.db'}"])
    assert other.exit_code == 0
    wrong = runner.invoke(app, ["verify-proof", str(bundle), "--key", other_key.output.strip()])
    assert wrong.exit_code == 1
    assert "[signature]" in wrong.output


def test_verify_names_the_first_discrepancy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    events = []
    for day in range(1, 41):
        events += lifecycle(code("P"), [code("M")], start_day=day % 20 + 1)
    runner.invoke(app, ["import", str(write(tmp_path / "doc.json", events)), "--db", url])
    ok = runner.invoke(app, ["verify", "--db", url])
    assert ok.exit_code == 0, ok.output
    assert f"{len(events)} events" in ok.output

    with sqlite3.connect(tmp_path / "node.db") as conn:
        conn.execute(
            "UPDATE events SET doc = CAST(REPLACE(CAST(doc AS TEXT), 'inspecting', 'destroying')"
            " AS BLOB) WHERE seq = 97"
        )
    bad = runner.invoke(app, ["verify", "--db", url])
    assert bad.exit_code == 2
    assert "[integrity]" in bad.output
    assert "event 97" in bad.output

    vkey = runner.invoke(app, ["log-key", "--db", url]).output.strip()
    audited = runner.invoke(app, ["verify", "--db", url, "--key", vkey])
    assert audited.exit_code == 2
    assert "event 97" in audited.output


def test_import_without_a_key_stops_before_writing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    (tmp_path / "node.db.key").unlink()
    doc = write(tmp_path / "doc.json", lifecycle(code("P"), [code("M")]))
    result = runner.invoke(app, ["import", str(doc), "--db", url])
    assert result.exit_code == 2
    assert "no log signing key" in result.output
    with sqlite3.connect(tmp_path / "node.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
