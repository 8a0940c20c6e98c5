"""Bad input through the CLI: a specific error naming the event and field, exit code non-zero,
and the store exactly as it was."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from factory import code, commission, document, event, lifecycle, urn
from ionledger.cli import app
from ionledger.store.open import open_store

Mutation = Callable[[list[dict[str, Any]]], None]


def _set(index: int, key: str, value: Any) -> Mutation:
    def mutate(events: list[dict[str, Any]]) -> None:
        events[index][key] = value

    return mutate


def _sensor(value: float) -> Mutation:
    def mutate(events: list[dict[str, Any]]) -> None:
        events[6]["sensorElementList"][0]["sensorReport"][0]["value"] = value

    return mutate


def _drop(index: int, key: str) -> Mutation:
    def mutate(events: list[dict[str, Any]]) -> None:
        del events[index][key]

    return mutate


def _twin(events: list[dict[str, Any]]) -> None:
    events[4]["eventID"] = events[1]["eventID"]


def _ilmd(key: str, value: Any) -> Mutation:
    def mutate(events: list[dict[str, Any]]) -> None:
        events[1]["ilmd"][key] = value

    return mutate


# (case, mutation, event index, field named in the error, words the reason must contain)
CASES: list[tuple[str, Mutation, int, str, str]] = [
    (
        "invalid battery code",
        _set(4, "epcList", [urn("03HPB0C1234567D5H00000X1")]),
        4,
        "epcList[0]",
        "position 23",
    ),
    (
        "invalid month in code",
        _set(4, "epcList", [urn("03HPB0C1234567DDH0000001")]),
        4,
        "epcList[0]",
        "month",
    ),
    ("wrong type", _set(2, "childEPCs", "not-a-list"), 2, "childEPCs", "array"),
    ("unknown event type", _set(3, "type", "TeleportEvent"), 3, "type", "TeleportEvent"),
    ("missing action", _drop(0, "action"), 0, "action", "required"),
    ("missing eventTime", _drop(5, "eventTime"), 5, "eventTime", "required"),
    ("duplicate event ID", _twin, 4, "eventID", "duplicate"),
    ("negative mass", _ilmd("ion:massKg", -5), 1, "ilmd.ion:massKg", "must be"),
    ("unknown chemistry", _ilmd("ion:chemistry", "LiPo"), 1, "ilmd.ion:chemistry", "NMC811"),
    ("SOH over 100 %", _sensor(120.0), 6, "sensorElementList[0].sensorReport[0].value", "100"),
    ("oversize field", _set(4, "bizStep", "x" * 5000), 4, "bizStep", "the limit is"),
    ("bad province", _set(4, "ion:province", "Atlantis"), 4, "ion:province", "ISO 3166-2:CN"),
]


@pytest.fixture
def seeded_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    good = tmp_path / "good.json"
    good.write_text(json.dumps(document(lifecycle(code("P"), [code("M")]))))
    assert runner.invoke(app, ["import", str(good), "--db", url]).exit_code == 0
    return url


@pytest.mark.parametrize(
    ("case", "mutate", "index", "field", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_is_refused_precisely(
    seeded_url: str, tmp_path: Path, case: str, mutate: Mutation, index: int, field: str, words: str
) -> None:
    events = lifecycle(code("P"), [code("M")])
    mutate(events)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document(events)))
    store = open_store(seeded_url)
    before = (store.count_events(), store.projection_snapshot())
    result = CliRunner().invoke(app, ["import", str(bad), "--db", seeded_url])
    assert result.exit_code == 1, result.output
    errors = _errors(result.output)
    assert (index, field) in [(i, f) for i, f, _ in errors], result.output
    reason = next(r for i, f, r in errors if (i, f) == (index, field))
    assert words.lower() in reason.lower(), reason
    assert (store.count_events(), store.projection_snapshot()) == before
    store.close()


def _errors(output: str) -> list[tuple[int, str, str]]:
    """(index, field, reason) rows of the CLI's error table."""
    found = re.findall(r"^  event (\d+) \| (\S+) \| (.*)$", output, re.M)
    return [(int(i), field, reason) for i, field, reason in found]


def test_malformed_json_is_refused(seeded_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text(json.dumps(document([commission(code("P"))]))[:-30])
    result = CliRunner().invoke(app, ["import", str(bad), "--db", seeded_url])
    assert result.exit_code == 1
    assert "document error" in result.output
    assert "byte" in result.output


def test_malformed_event_json_names_the_event(seeded_url: str, tmp_path: Path) -> None:
    good = json.dumps(event(epcList=[urn(code("P"))], bizStep="repairing"))
    body = f'{{"type": "EPCISDocument", "epcisBody": {{"eventList": [{good}, {{"type": tru}}]}}}}'
    bad = tmp_path / "broken-event.json"
    bad.write_text(body)
    result = CliRunner().invoke(app, ["import", str(bad), "--db", seeded_url])
    assert result.exit_code == 1
    assert [i for i, _, _ in _errors(result.output)] == [1]


def test_json_report_lists_every_bad_event(seeded_url: str, tmp_path: Path) -> None:
    events = lifecycle(code("P"), [code("M")])
    events[2]["action"] = "MAYBE"
    events[5]["eventTime"] = "yesterday"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document(events)))
    result = CliRunner().invoke(app, ["import", str(bad), "--json", "--db", seeded_url])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert (report["ok"], report["committed"], report["stored"]) == (False, False, 0)
    assert [(e["index"], e["field"]) for e in report["errors"]] == [(2, "action"), (5, "eventTime")]
