"""Conformance with the official EPCIS 2.0 examples and real partners' battery documents.

Every example document imports through the default pipeline (non-event documents are recognised
and named), and re-exports, as JSON-LD and as XML, to the same events: the same CBV 2.0 hash ID
for every event, which is the standard's own representation-independent identity.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import msgspec
import pytest

from conftest import need_refdata
from ionledger.epcis.documents import (
    event_document,
    events_of,
    is_xml,
    read_document,
    write_json,
    write_xml,
)
from ionledger.epcis.hashid import event_hash_id
from ionledger.errors import InvalidDocument
from ionledger.services.importer import Importer
from ionledger.services.validate import validate
from ionledger.settings import Settings
from ionledger.store.open import init_store, open_store

FOLDERS = (
    ("epcis", "gs1", "JSON"),
    ("epcis", "gs1", "JSON-simple-context"),
    ("epcis", "gs1", "XML"),
    ("epcis", "openepcis-battery", "epcis"),
)
# Documents that carry no events, by what they are. (The refdata README counts XML/Mimasu/* among
# the master-data documents, but each is an EPCISDocument of events: they are imported here.)
NOT_EVENTS = {
    "CBV-11.4-2020-06-16a.xml": "master-data",
    "CaptureJob": "capture-job",
}


def _documents(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonld", ".xml")
    )


def _expected_kind(path: Path) -> str | None:
    for part, kind in NOT_EVENTS.items():
        if part == path.name or part in path.parts:
            return kind
    return None


def _hash_ids(events: list[dict[str, object]], context: object) -> list[str]:
    return [event_hash_id(e, context) for e in events]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "store.db"
    init_store(f"sqlite:///{path}").close()
    return path


@pytest.mark.parametrize("parts", FOLDERS, ids=lambda p: "/".join(p[1:]))
def test_every_example_imports_and_reexports(
    parts: tuple[str, ...], template: Path, tmp_path: Path
) -> None:
    folder = need_refdata(*parts)
    passed, failures, recognised = 0, [], 0
    paths = _documents(folder)
    for n, path in enumerate(paths):
        data = path.read_bytes()
        kind = _expected_kind(path)
        db = tmp_path / f"{n}.db"
        shutil.copy(template, db)
        store = open_store(f"sqlite:///{db}")
        report = Importer(store, Settings(database_url=store.url)).import_stream(
            io.BytesIO(data), source=str(path)
        )
        if kind is not None:
            if report.document_error and "not an event document" in report.document_error:
                recognised += 1
            else:
                failures.append(f"{path.name}: a {kind} document, import said {report.as_dict()}")
            store.close()
            continue
        try:
            original = read_document(data)
        except InvalidDocument as exc:
            failures.append(f"{path.name}: unreadable: {exc.message}")
            store.close()
            continue
        if not report.ok or report.stored != len(events_of(original)):
            failures.append(f"{path.name}: {report.document_error} {report.errors[:3]}")
            store.close()
            continue
        context = original.get("@context")
        expected = _hash_ids(events_of(original), context)
        # The events as captured (what the node adds, recordTime and the reporter, left out).
        stored = [msgspec.json.decode(e.doc) for b in store.iter_events() for e in b]
        store.close()
        exported = event_document(stored, context=context)
        problems = []
        for syntax, encoded in (("json", write_json(exported)), ("xml", write_xml(exported))):
            assert is_xml(encoded) == (syntax == "xml")
            again = read_document(encoded)
            got = _hash_ids(events_of(again), again.get("@context"))
            if got != expected:
                problems.append(f"{syntax} re-export changed hash IDs {expected} -> {got}")
        if not validate(data).ok:
            problems.append("import took it, but `validate` (lenient) refused it")
        if problems:
            failures.append(f"{path.name}: {'; '.join(problems)}")
        else:
            passed += 1
    events_total = len(paths) - sum(1 for p in paths if _expected_kind(p))
    print(
        f"{'/'.join(parts[1:])}: {passed}/{events_total} event documents import and re-export;"
        f" {recognised} non-event documents recognised"
    )
    assert not failures, "\n".join(failures)
    assert passed == events_total > 0
