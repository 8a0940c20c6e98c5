"""Strict validation agrees with GS1's official JSON schema, and its tables are the schema's.

On every document of the corpus, with either oracle's format checkers; the oracle, and what
"agree" means, are in ``strict_oracle``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ionledger.epcis.strict import (
    ACTIONS,
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    ERROR_REASON,
    EVENT_SPECS,
    MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE,
    SHAPES,
    SOURCE_DEST_TYPE,
)
from strict_oracle import (
    ORACLES,
    documents,
    load,
    mismatches,
    official,
    official_schema,
    pointer,
    validator,
)

# --- the corpus -----------------------------------------------------------------------------

# Every .json/.jsonld file in these folders is an EPCISDocument or EPCISQueryDocument (the
# folders' other files are README.md), so none is skipped: contexts (JSON-LD-Context/) and
# master data (XML/) live elsewhere. test_corpus_is_event_documents checks the claim.
FOLDERS = (
    ("epcis", "gs1", "JSON"),
    ("epcis", "gs1", "JSON-simple-context"),
    ("epcis", "openepcis-battery", "epcis"),
)


@pytest.mark.refdata
@pytest.mark.parametrize("parts", FOLDERS, ids=lambda p: "/".join(p[1:]))
def test_corpus_is_event_documents(parts: tuple[str, ...]) -> None:
    paths = documents(*parts)
    assert paths
    for path in paths:
        assert load(path)["type"] in ("EPCISDocument", "EPCISQueryDocument"), path


@pytest.mark.refdata
@pytest.mark.parametrize("parts", FOLDERS, ids=lambda p: "/".join(p[1:]))
def test_strict_agrees_with_the_official_schema(parts: tuple[str, ...]) -> None:
    paths = documents(*parts)
    for oracle in ORACLES:
        disagreements = {}
        for path in paths:
            if problems := mismatches(load(path), oracle):
                disagreements[path.name] = problems
        agreed = len(paths) - len(disagreements)
        folder = "/".join(parts[1:])
        tally = f"agree on {agreed}/{len(paths)} documents"
        print(f"\n{folder} ({oracle} formats): strict vs official schema: {tally}")
        assert not disagreements, json.dumps(disagreements, indent=1)


@pytest.mark.refdata
@pytest.mark.parametrize("parts", FOLDERS, ids=lambda p: "/".join(p[1:]))
def test_inlined_schema_is_its_modular_sources(parts: tuple[str, ...]) -> None:
    """EPCIS-JSON-Schema.json is generated from JSON-Schema/; both say the same here."""
    for path in documents(*parts):
        document = load(path)
        inlined = sorted((pointer(e.absolute_path), e.validator) for e in official(document))
        modular = validator("jsonschema", modular=True).iter_errors(document)
        assert inlined == sorted((pointer(e.absolute_path), e.validator) for e in modular)


# --- the rule tables are the schema's ----------------------------------------------------------


def _parts(definitions: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """``node`` and its allOf parts, $refs followed (anyOf alternatives are not parts)."""
    if "$ref" in node:
        return _parts(definitions, definitions[node["$ref"].rsplit("/", 1)[1]])
    parts = [node]
    for sub in node.get("allOf", []):
        parts += _parts(definitions, sub)
    return parts


def _definition(definitions: dict[str, Any], name: str) -> dict[str, Any]:
    """The schema's definition ``name``; two are inline in another's properties."""
    owner = {"epcisBody": "epcisDocument", "epcisMasterData": "epcisHeader"}.get(name)
    node: dict[str, Any] = definitions[owner]["properties"][name] if owner else definitions[name]
    return node


def _names(definitions: dict[str, Any], spec: dict[str, Any]) -> tuple[str, set[str]]:
    """How a propertyNames schema admits names: ("uris", {}) or ("extensible", listed)."""
    if spec.get("format") == "uri":
        return "uris", set()
    listed: set[str] = set()
    for option in spec["anyOf"]:
        ref = option.get("$ref", "").rsplit("/", 1)[-1]
        if ref == "common-event-properties":
            listed |= _names(definitions, definitions[ref])[1]
        elif "enum" in option:
            listed |= set(option["enum"])
        else:
            assert ref == "vocab-uri", option
    return "extensible", listed


@pytest.mark.refdata
def test_shapes_are_the_schemas_definitions() -> None:
    definitions = official_schema()["definitions"]
    assert len(SHAPES) == 29  # every object definition of the schema but the bare "Event"
    for name, shape in SHAPES.items():
        parts = _parts(definitions, _definition(definitions, name))
        properties = {k for p in parts for k in p.get("properties", {})}
        required = {k for p in parts for k in p.get("required", [])}
        assert set(shape.fields) == properties, name
        assert set(shape.required) == required, name
        closed = any(p.get("additionalProperties") is False for p in parts)
        names = [_names(definitions, p["propertyNames"]) for p in parts if "propertyNames" in p]
        if closed:
            assert shape.names == "closed", name
        elif names:
            ((kind, listed),) = names
            assert shape.names == kind, name
            assert kind == "uris" or listed == set(shape.fields), name
        else:
            assert shape.names == "open", name
    assert set(EVENT_SPECS) == {"ObjectEvent", "AggregationEvent", "TransactionEvent",
                                "TransformationEvent", "AssociationEvent"}  # fmt: skip


@pytest.mark.refdata
def test_vocabularies_are_the_schemas() -> None:
    definitions = official_schema()["definitions"]
    assert tuple(definitions["action"]["enum"]) == ACTIONS
    probes = [
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ns.gs1.org/cbv/BizStep-shipping",
        "http://gs1.org/voc/Temperature",
        "https://www.gs1.org/voc/Temperature",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "urn:example:x",
    ]
    vocabularies = (BIZ_STEP, DISPOSITION, BIZ_TRANSACTION_TYPE, SOURCE_DEST_TYPE, ERROR_REASON,
                    COMPONENT, MEASUREMENT_TYPE, SENSOR_ALERT_TYPE)  # fmt: skip
    for vocab in vocabularies:
        uris, terms = definitions[vocab.name]["anyOf"]
        assert set(terms["enum"]) == vocab.terms, vocab.name
        pattern = definitions[uris["$ref"].rsplit("/", 1)[1]]["pattern"]
        for probe in probes:
            assert (re.search(pattern, probe) is None) == bool(vocab.reserved.match(probe))
