"""A document's ``ignoreFields`` in capture: the identity of a captured event without eventID is
the hash ID ``ionledger hash`` prints for the same document (services/capture.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from conftest import need_refdata, operator_headers
from ionledger.api.app import create_app
from ionledger.cli import app as cli
from ionledger.epcis.documents import events_of, read_document
from ionledger.epcis.hashid import document_hash_ids, event_hash_id
from ionledger.ledger.note import Signer
from ionledger.services.capture import Accepted, accept, ignore_fields
from ionledger.settings import Settings
from ionledger.store.open import init_store

runner = CliRunner()
# hashgen's documents with ignoreFields: at document level (XML), in queryResults (both).
DOCUMENTS = (
    "epcisXmlDocHavingEventWithIgnoreFields.xml",
    "epcisXmlQueryDocHavingEventWithIgnoreFields.xml",
    "epcisQueryDocHavingEventWithIgnoreFields.jsonld",
)


def _source(name: str) -> Path:
    return need_refdata("epcis", "hashgen", "examples", name)


def _printed(path: Path) -> list[str]:
    """What `ionledger hash` prints for the document."""
    result = runner.invoke(cli, ["hash", str(path)])
    assert result.exit_code == 0, result.output
    return result.output.split()


def _json_twin(tmp_path: Path) -> Path:
    """hashgen's XML document as JSON-LD, no eventIDs, ignoreFields a list among the members
    before epcisBody (what a streamed document's header holds when its events are read)."""
    read = read_document(_source(DOCUMENTS[0]).read_bytes())
    document = {k: v for k, v in read.items() if k != "epcisBody"}
    document["repository-x:ignoreFields"] = list(read["repository-x:ignoreFields"])
    document["epcisBody"] = read["epcisBody"]
    path = tmp_path / "doc.jsonld"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_fields_are_the_ones_ionledger_hash_leaves_out(name: str) -> None:
    document = read_document(_source(name).read_bytes())
    ignore = ignore_fields(document)
    assert len(ignore) == 2
    context = document["@context"]
    ours = [event_hash_id(e, context, ignore=ignore) for e in events_of(document)]
    assert ours == document_hash_ids(document) == _printed(_source(name))
    expected = _source(name).with_suffix(".hashes").read_text().split()
    assert ours == expected  # hashgen's own oracle


def test_a_streamed_header_alone_is_enough() -> None:
    """A JSON document is streamed: its members before epcisBody are what the importer has."""
    header = {"@context": [], "ignoreFields": ["a:b"], "epcisHeader": {"x:ignoreFields": ["c"]}}
    assert ignore_fields(header) == ("a:b", "c")
    assert ignore_fields({"x:ignoreFields": {"e:f": "", "e:g": ""}}) == ("e:f", "e:g")  # XML
    assert ignore_fields({"schemaVersion": "2.0"}) == ()
    assert ignore_fields(None) == ()


def _accepted(document: dict[str, Any], ignore: tuple[str, ...]) -> list[str]:
    out = []
    for index, event in enumerate(events_of(document)):
        raw = msgspec.json.encode({k: v for k, v in event.items() if k != "recordTime"})
        result = accept(
            raw, index, default_reporter="local", context=document["@context"], ignore=ignore
        )
        assert isinstance(result, Accepted), result
        out.append(result.prepared.identity)
    return out


def test_accept_gives_the_identity_ionledger_hash_prints(tmp_path: Path) -> None:
    for path in (_source(DOCUMENTS[0]), _source(DOCUMENTS[1]), _json_twin(tmp_path)):
        document = read_document(path.read_bytes())
        printed = _printed(path)
        assert _accepted(document, ignore_fields(document)) == printed, path.name
        # Without them the ignored fields are hashed: another identity (the test bites).
        assert set(_accepted(document, ())).isdisjoint(printed)


# --- through the capture pipeline (import and POST /capture) ---------------------------------


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    assert runner.invoke(cli, ["init", "--db", url]).exit_code == 0  # with its log key
    return url


def _stored(url: str) -> list[str]:
    store = init_store(url)
    try:
        return [e.identity for e in store.events_between(0, store.count_events())]
    finally:
        store.close()


@pytest.mark.parametrize("syntax", ["xml", "json"])
def test_import_stores_the_identities_ionledger_hash_prints(
    url: str, tmp_path: Path, syntax: str
) -> None:
    path = _source(DOCUMENTS[0]) if syntax == "xml" else _json_twin(tmp_path)
    result = runner.invoke(cli, ["import", str(path), "--db", url])
    assert result.exit_code == 0, result.output
    assert _stored(url) == _printed(path)


def test_post_capture_stores_the_identities_ionledger_hash_prints(url: str) -> None:
    path = _source(DOCUMENTS[0])
    store = init_store(url)
    app = create_app(Settings(database_url=url), store=store, signer=Signer.generate("x.local"))
    with TestClient(app, headers=operator_headers(store)) as client:
        posted = client.post(
            "/capture", content=path.read_bytes(), headers={"Content-Type": "application/xml"}
        )
        assert posted.status_code == 202
        assert client.get(posted.headers["Location"]).json()["success"]
    assert _stored(url) == _printed(path)
