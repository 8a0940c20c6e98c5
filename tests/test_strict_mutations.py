"""Random schema-breaking mutations of GS1's examples: strict and the official schema agree."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from ionledger.epcis.strict import ACTIONS, strict_findings
from strict_oracle import (
    NUMBER_KEYS,
    JsonPath,
    gs1,
    inside,
    load,
    member_name,
    mismatches,
    nodes,
    official,
    pointer,
)

# --- mutations --------------------------------------------------------------------------------

MUTATION_BASES = (
    "JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld",
    "JSON/WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld",
    "JSON/WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld",
    "JSON/WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld",
    "JSON/AssociationEvent/AssociationEvent-c.jsonld",
    "JSON/WithSensorData/SensorDataExample10.jsonld",
    "JSON/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld",
    "JSON/PersistentDisposition-example.jsonld",
    "JSON/EPCISQueryDocument.jsonld",
)
TIME_KEYS = {"eventTime", "recordTime", "creationDate", "declarationTime", "time", "startTime",
             "endTime"}  # fmt: skip
URI_KEYS = {"id", "epcClass", "bizTransaction", "source", "destination", "parentID", "eventID",
            "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules",
            "microorganism", "chemicalSubstance", "coordinateReferenceSystem", "uriValue",
            "transformationID", "epcList", "childEPCs", "inputEPCList", "outputEPCList",
            "correctiveEventIDs", "certificationInfo", "@context"}  # fmt: skip
VOCAB_KEYS = {"bizStep", "disposition", "reason", "component", "exception", "type", "set",
              "unset", "action"}  # fmt: skip
PATTERN_KEYS = {"eventTimeZoneOffset": ["+15:00", "+1:00", "UTC", "-14:30", "+02:00 "],
                "uom": ["kg", "KGMS", "k g", ""], "schemaVersion": ["v2", "2.", "2..0", ""],
                "hexBinaryValue": ["XYZ", ""]}  # fmt: skip
REQUIRED_KEYS = {"eventTime", "eventTimeZoneOffset", "action", "type", "epcClass",
                 "bizTransaction", "source", "destination", "id", "sensorReport",
                 "declarationTime", "schemaVersion", "creationDate", "@context", "epcisBody",
                 "eventList", "parentID", "bizTransactionList", "queryName", "resultsBody",
                 "queryResults", "epcList", "quantityList", "childEPCs", "readPoint", "set",
                 "inputEPCList", "outputEPCList", "transformationID"}  # fmt: skip
BAD_TIMES = ["2020-13-01T00:00:00Z", "2021-02-29T10:00:00Z", "2020-01-01T10:00:00",
             "2020-01-01T24:00:00Z", "2020-01-01T10:00:00+1:00", "2016-12-31T23:59:60Z",
             "20200101T100000Z", "2020-01-01T10:00Z", "tomorrow",
             "2020-01-01 10:00:00Z"]  # fmt: skip
BAD_URIS = ["not a uri", "urn:epc id:x", "http://exa mple.com/", "_:b0", "1234", "é:x",
            "http://example.com/%zz", ""]  # fmt: skip
BAD_TERMS = ["shipped", "urn:epcglobal:cbv:bizstep:shipping", "urn:epcglobal:cbv:disp:active",
             "urn:epcglobal:cbv:btt:po", "https://ns.gs1.org/cbv/BizStep-shipping",
             "https://gs1.org/voc/Temperature", "not a term", "observe",
             "Temperature "]  # fmt: skip
OTHER_TYPES: list[Any] = [42, 2.5, "text", True, None, [], {}]


def _json_type(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    return "number" if isinstance(value, int | float) else type(value).__name__


@dataclass
class Mutation:
    name: str
    applies: Callable[[JsonPath, Any], bool]
    change: Callable[[Any, JsonPath, Any, random.Random], tuple[Any, str]]  # -> new doc, where


def _replace(document: Any, path: JsonPath, value: Any) -> Any:
    parent = _resolve_path(document, path[:-1])
    parent[path[-1]] = value
    return document


def _resolve_path(document: Any, path: JsonPath) -> Any:
    for p in path:
        document = document[p]
    return document


def _set_value(
    choices: list[Any],
) -> Callable[[Any, JsonPath, Any, random.Random], tuple[Any, str]]:
    def change(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
        return _replace(doc, path, rng.choice([c for c in choices if c != value])), pointer(path)

    return change


def _wrong_type(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
    other = rng.choice([v for v in OTHER_TYPES if _json_type(v) != _json_type(value)])
    return _replace(doc, path, copy.deepcopy(other)), pointer(path)


def _remove(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
    del _resolve_path(doc, path[:-1])[path[-1]]
    return doc, pointer(path[:-1])


def _add_member(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
    name = rng.choice(["bogus", "ex:bogus", "_comment"])
    value[name] = "x"
    return doc, pointer((*path, name))


def _as_string(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
    return _replace(doc, path, json.dumps(value)), pointer(path)


def _empty(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
    return _replace(doc, path, []), pointer(path)


def _duplicate(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
    value.append(copy.deepcopy(value[0]))
    return doc, pointer(path)


SUBJECTS = ("epcList", "quantityList", "childEPCs", "childQuantityList", "inputEPCList",
            "inputQuantityList", "outputEPCList", "outputQuantityList", "sensorElementList",
            "readPoint", "transformationID", "set", "unset")  # fmt: skip


def _strip_subjects(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
    """Drop some of what an event is about (its anyOf), or persistentDisposition's set/unset."""
    present = [k for k in SUBJECTS if k in value]
    for key in rng.sample(present, rng.randint(1, len(present))):
        del value[key]
    return doc, pointer(path)


def _other_action(doc: Any, path: JsonPath, value: Any, rng: random.Random) -> tuple[Any, str]:
    """Another valid action: wrong only where the event's other members need this one."""
    _replace(doc, path, rng.choice([a for a in ACTIONS if a != value]))
    return doc, pointer(path[:-1])


def _is_str(path: JsonPath, value: Any, keys: set[str] | dict[str, Any]) -> bool:
    return isinstance(value, str) and member_name(path) in keys


MUTATIONS = [
    Mutation("wrong type", lambda p, v: bool(p), _wrong_type),
    Mutation("bad date-time", lambda p, v: _is_str(p, v, TIME_KEYS), _set_value(BAD_TIMES)),
    Mutation("bad URI", lambda p, v: _is_str(p, v, URI_KEYS), _set_value(BAD_URIS)),
    Mutation("bad enum", lambda p, v: _is_str(p, v, VOCAB_KEYS), _set_value(BAD_TERMS)),
    *(
        Mutation(f"bad {key}", lambda p, v, k=key: _is_str(p, v, {k}), _set_value(values))
        for key, values in PATTERN_KEYS.items()
    ),
    Mutation(
        "number as string",
        lambda p, v: member_name(p) in NUMBER_KEYS and isinstance(v, int | float),
        _as_string,
    ),
    Mutation("missing required", lambda p, v: bool(p) and p[-1] in REQUIRED_KEYS, _remove),
    Mutation("extra property", lambda p, v: isinstance(v, dict), _add_member),
    Mutation("empty list", lambda p, v: isinstance(v, list) and len(v) > 0, _empty),
    Mutation(
        "strip subjects",
        lambda p, v: isinstance(v, dict) and any(k in v for k in SUBJECTS),
        _strip_subjects,
    ),
    Mutation("other action", lambda p, v: _is_str(p, v, {"action"}), _other_action),
    Mutation("duplicate item", lambda p, v: isinstance(v, list) and len(v) > 0, _duplicate),
]


@pytest.mark.refdata
def test_mutations_agree_with_the_official_schema() -> None:
    bases = [load(gs1() / name) for name in MUTATION_BASES]
    first = copy.deepcopy(bases[0]["epcisBody"]["eventList"][0])
    bases.append({"@context": bases[0]["@context"], **first})  # a lone event at the top
    for base in bases:
        assert not official(base)
        assert not strict_findings(base)
    rng = random.Random(20240611)
    breaking: dict[str, int] = {}
    harmless, failures = 0, []
    for _attempt in range(2000):
        if sum(breaking.values()) >= 200:
            break
        base = rng.choice(bases)
        mutation = rng.choice(MUTATIONS)
        candidates = [(p, v) for p, v in nodes(base) if mutation.applies(p, v)]
        if not candidates:
            continue
        path, _ = rng.choice(candidates)
        document = copy.deepcopy(base)
        document, where = mutation.change(document, path, _resolve_path(document, path), rng)
        findings = strict_findings(document)
        problems = mismatches(document)
        if official(document):
            breaking[mutation.name] = breaking.get(mutation.name, 0) + 1
            parent = where.rsplit("/", 1)[0]
            if not any(inside(f.pointer, where) or f.pointer == parent for f in findings):
                problems.append(f"no finding at {where}")
        else:
            harmless += 1
        if problems:
            failures.append(f"{mutation.name} at {where}: {problems}")
    total = sum(breaking.values())
    print(f"\nmutations: {total} schema-breaking ({breaking}), {harmless} harmless; all agree")
    assert total >= 200
    assert not failures, "\n".join(failures[:20])
