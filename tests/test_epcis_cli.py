"""EPCIS interoperability on the command line: hash, convert, validate, and XML import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import need_refdata
from ionledger.cli import app
from ionledger.store.open import open_store

runner = CliRunner()


def test_hash_ids_match_every_oracle_in_both_syntaxes() -> None:
    """`ionledger hash` on every hashgen example, .jsonld and .xml, against its .hashes."""
    examples = need_refdata("epcis", "hashgen", "examples")
    passed, failures = 0, []
    for oracle in sorted(examples.glob("*.hashes")):
        expected = oracle.read_text().split()
        for syntax in (".jsonld", ".xml"):
            source = oracle.with_suffix(syntax)
            if not source.exists():
                continue
            result = runner.invoke(app, ["hash", str(source)])
            if result.exit_code == 0 and result.output.split() == expected:
                passed += 1
            else:
                failures.append(f"{source.name}: {result.output[:300]}")
    print(f"hash ID oracles (jsonld and xml): {passed}/{passed + len(failures)}")
    assert not failures, failures
    assert passed >= 25


def test_expected_equal_groups_hash_to_one_value() -> None:
    """Each expected_equal file holds several serialisations of one event."""
    folder = need_refdata("epcis", "hashgen", "expected_equal")
    groups = sorted(folder.iterdir())
    passed = 0
    for group in groups:
        result = runner.invoke(app, ["hash", str(group)])
        ids = result.output.split()
        assert result.exit_code == 0, result.output
        assert len(ids) >= 2, (group.name, ids)
        assert len(set(ids)) == 1, (group.name, ids)
        passed += 1
    print(f"expected_equal groups: {passed}/{len(groups)}")
    assert passed == len(groups) > 0


def test_convert_round_trips_keep_every_hash_id(tmp_path: Path) -> None:
    xml_folder = need_refdata("epcis", "gs1", "XML")
    source = xml_folder / "WithExtension" / "ObjectEventWithExtension.xml"
    if not source.exists():  # the folder's layout: pick any XML event document in it
        source = next(p for p in sorted((xml_folder / "WithExtension").glob("*.xml")))
    as_json = tmp_path / "doc.jsonld"
    back = tmp_path / "doc.xml"
    assert runner.invoke(app, ["convert", str(source), "--to", "json", "--out", str(as_json)])
    assert json.loads(as_json.read_text())["type"] == "EPCISDocument"
    assert runner.invoke(app, ["convert", str(as_json), "--to", "xml", "--out", str(back)])
    assert back.read_bytes().startswith(b"<?xml")
    hashes = [runner.invoke(app, ["hash", str(p)]).output for p in (source, as_json, back)]
    assert hashes[0] == hashes[1] == hashes[2]
    assert hashes[0].strip()
    bad = runner.invoke(app, ["convert", str(source), "--to", "yaml"])
    assert bad.exit_code == 1
    assert "expected xml or json" in bad.output
    shown = runner.invoke(app, ["convert", str(source), "--to", "json"])
    assert shown.exit_code == 0
    assert '"eventList"' in shown.output


def test_validate_lenient_and_strict_on_a_partner_document() -> None:
    folder = need_refdata("epcis", "openepcis-battery", "epcis")
    doc = next(p for p in sorted(folder.rglob("*.json*")) if "state" in p.name.lower())
    lenient = runner.invoke(app, ["validate", str(doc), "--json"])
    assert lenient.exit_code == 0, lenient.output
    report = json.loads(lenient.output)
    assert report["ok"]
    assert report["warnings"]
    assert {w["rule"] for w in report["warnings"]} >= {"number-as-string"}
    strict = runner.invoke(app, ["validate", str(doc), "--strict", "--json"])
    assert strict.exit_code == 1
    findings = json.loads(strict.output)["errors"]
    assert any(f["pointer"].endswith("/value") and f["rule"] == "type" for f in findings)
    shown = runner.invoke(app, ["validate", str(doc), "--strict"])
    assert "invalid (strict)" in shown.output
    assert "/sensorReport/" in shown.output


def test_validate_agrees_with_import(tmp_path: Path) -> None:
    """Without --strict, validate passes exactly what the default import stores."""
    folder = need_refdata("epcis", "gs1", "JSON-simple-context")
    slip = folder / "WithFullCombinationOfFields" / "object_event_all_possible_fields.jsonld"
    checked = runner.invoke(app, ["validate", str(slip)])
    assert checked.exit_code == 0, checked.output
    assert "ILMD describes new objects" in checked.output  # tolerated, and said so
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    imported = runner.invoke(app, ["import", str(slip), "--db", url, "--json"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["warningCount"] >= 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            b'"&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
            "DOCTYPE",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b"<foo>&xxe;</foo>",
            "DOCTYPE",
        ),
        (b"<epcis:EPCISDocument", "line"),
        (b'{"type": "EPCISMasterDataDocument"}', "master-data"),
        (b'{"type": "Invoice"}', "not an event document"),
    ],
    ids=["billion-laughs", "xxe", "truncated", "master-data", "not-epcis"],
)
def test_bad_documents_are_refused_clearly(tmp_path: Path, body: bytes, words: str) -> None:
    path = tmp_path / "doc"
    path.write_bytes(body)
    for command in (["validate", str(path)], ["hash", str(path)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        assert words in result.output, result.output
    assert "root:" not in runner.invoke(app, ["validate", str(path)]).output  # nothing leaked


def test_xml_documents_import_and_events_without_id_get_their_hash_id(tmp_path: Path) -> None:
    examples = need_refdata("epcis", "hashgen", "examples")
    source = examples / "epcisDocWithVariousEventTypes.xml"
    expected = (examples / "epcisDocWithVariousEventTypes.hashes").read_text().split()
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    result = runner.invoke(app, ["import", str(source), "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    store = open_store(url)
    stored = [e.identity for b in store.iter_events() for e in b]
    store.close()
    hashed = [identity for identity in stored if identity.startswith("ni:///sha-256;")]
    assert hashed, "the example has events without an eventID"
    assert set(hashed) <= set(expected)  # keyed by their CBV 2.0 hash ID
    again = runner.invoke(app, ["import", str(source), "--db", url, "--json"])
    assert json.loads(again.output)["alreadyPresent"] == len(stored)  # same identities
