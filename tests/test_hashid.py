"""The CBV 2.0 event hash ID against the reference implementation's test vectors, and its
properties: representation changes keep the hash, content changes change it."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import need_refdata
from ionledger.epcis.hashid import (
    HASH_VERSION,
    document_hash_ids,
    document_prehash_strings,
    event_hash_id,
    prehash_string,
)
from ionledger.errors import InvalidDocument, InvalidEvent

# The refdata README ("Known quirks"): these .prehashes are stale, their .hashes are the oracle.
STALE_PREHASHES = {
    "epcisDocWithAllGS1Keys",
    "epcisDocWithCustomSchemaInContext",
    "epcisDocWithDefaultSchemaInContext",
}
JSONLD = (".jsonld", ".json")
HASH_ID = re.compile(r"ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0")


def _hashgen() -> Path:
    return need_refdata("epcis", "hashgen")


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _lines(path: Path) -> list[str]:
    """One entry per line; pre-hash strings may hold spaces, never newlines."""
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def _inputs(examples: Path, suffix: str) -> list[tuple[str, Path]]:
    """(name, JSON-LD input) for every example that has an oracle file with ``suffix``."""
    found = []
    for oracle in sorted(examples.glob(f"*{suffix}")):
        name = oracle.name.removesuffix(suffix)
        for ending in JSONLD:
            if (examples / (name + ending)).exists():
                found.append((name, examples / (name + ending)))
                break
    return found


# --- oracles ---------------------------------------------------------------------------------


def test_hash_id_oracles_jsonld() -> None:
    examples = _hashgen() / "examples"
    passed = total = 0
    failures = []
    for name, path in _inputs(examples, ".hashes"):
        expected = _lines(examples / f"{name}.hashes")
        got = document_hash_ids(_load(path))
        total += len(expected)
        passed += sum(g == e for g, e in zip(got, expected, strict=False))
        if got != expected:
            failures.append(f"{name}: got {got}, expected {expected}")
    print(f"\nhash ID oracles (jsonld): {passed}/{total} events")
    assert total > 0
    assert not failures, "\n".join(failures)


def test_prehash_oracles_jsonld() -> None:
    """The pre-hash strings pin the canonicalisation and give readable diffs on failure."""
    examples = _hashgen() / "examples"
    passed = total = 0
    failures = []
    for name, path in _inputs(examples, ".prehashes"):
        if name in STALE_PREHASHES:
            continue
        expected = _lines(examples / f"{name}.prehashes")
        got = document_prehash_strings(_load(path))
        for n, (g, e) in enumerate(zip(got, expected, strict=False)):
            total += 1
            if g == e:
                passed += 1
            else:
                at = next((i for i, (a, b) in enumerate(zip(g, e, strict=False)) if a != b), None)
                at = min(len(g), len(e)) if at is None else at
                failures.append(f"{name}[{n}] differs at {at}:\n  got {g}\n  exp {e}")
        if len(got) != len(expected):
            failures.append(f"{name}: {len(got)} events, oracle has {len(expected)}")
    print(f"\npre-hash oracles (jsonld): {passed}/{total} events")
    assert total > 0
    assert not failures, "\n".join(failures)


def test_oracle_prehashes_are_the_preimages_of_the_oracle_hashes() -> None:
    """Guards the oracle itself: a fresh .prehashes line hashes to its .hashes line."""
    examples = _hashgen() / "examples"
    checked = 0
    for prehashes in sorted(examples.glob("*.prehashes")):
        name = prehashes.name.removesuffix(".prehashes")
        hashes = examples / f"{name}.hashes"
        if name in STALE_PREHASHES or not hashes.exists():
            continue
        for line, hash_id in zip(_lines(prehashes), _lines(hashes), strict=True):
            assert f"ni:///sha-256;{hashlib.sha256(line.encode()).hexdigest()}?ver=CBV2.0" == (
                hash_id
            ), name
            checked += 1
    assert checked > 0


def test_expected_equal_groups_jsonld() -> None:
    """Each file in expected_equal is a group: all its events must hash the same.

    The reference ships these groups as XML only; the XML tests take them. Their properties
    (list order, time zones, timestamp precision, empty lists) are covered below in JSON-LD.
    """
    folder = _hashgen() / "expected_equal"
    groups = sorted(p for p in folder.iterdir() if p.suffix in JSONLD)
    passed = 0
    failures = []
    for path in groups:
        hash_ids = document_hash_ids(_load(path))
        if len(hash_ids) > 1 and len(set(hash_ids)) == 1:
            passed += 1
        else:
            failures.append(f"{path.name}: {hash_ids}")
    others = sum(1 for p in folder.iterdir() if p.suffix not in JSONLD)
    print(f"\nexpected_equal groups (jsonld): {passed}/{len(groups)} ({others} XML groups)")
    assert not failures, "\n".join(failures)


# --- properties ------------------------------------------------------------------------------

CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"example": "https://ns.example.com/epcis/"},
]


def _event() -> dict[str, Any]:
    """An event that uses most of the property order, extensions included."""
    return {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00.123+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.1", "urn:epc:id:sgtin:4012345.011111.2"],
        "quantityList": [
            {"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": 2, "uom": "KGM"},
            {"epcClass": "urn:epc:class:lgtin:4012345.011111.L2", "quantity": 1.5, "uom": "KGM"},
        ],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0", "example:dock": "7"},
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00002.0"},
        "bizTransactionList": [
            {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"},
            {"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:INV1"},
        ],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
        "sensorElementList": [
            {
                "sensorMetadata": {"time": "2024-03-01T09:59:00Z"},
                "sensorReport": [
                    {"type": "Temperature", "value": 21.5, "uom": "CEL"},
                    {"type": "RelativeHumidity", "value": 40, "uom": "P1"},
                ],
            }
        ],
        "ilmd": {"example:batch": "B-7", "example:grade": "A"},
        "example:shift": {"example:crew": ["x", "y"], "example:lead": "z"},
    }


def _hash(event: dict[str, Any], context: Any = CONTEXT) -> str:
    return event_hash_id(event, context)


BASE = _hash(_event())


def test_hash_id_format() -> None:
    assert HASH_VERSION == "CBV2.0"
    assert HASH_ID.fullmatch(BASE)


def test_prehash_string_of_a_small_event() -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2005-04-03T20:33:31.116000-06:00",
        "eventTimeZoneOffset": "-06:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2018", "urn:epc:id:sgtin:0614141.107346.2017"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
        "example:note": " spaced ",
    }
    assert prehash_string(event, CONTEXT) == (
        "eventType=ObjectEvent"
        "eventTime=2005-04-04T02:33:31.116Z"
        "eventTimeZoneOffset=-06:00"
        "epcListepc=https://id.gs1.org/01/10614141073464/21/2017"
        "epc=https://id.gs1.org/01/10614141073464/21/2018"
        "action=OBSERVE"
        "bizStep=https://ref.gs1.org/cbv/BizStep-shipping"
        "readPointid=https://id.gs1.org/414/0614141073467/254/1234"
        "{https://ns.example.com/epcis/}note=spaced"
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"eventID": "urn:uuid:8d7c8a3e-7d4b-4a5e-9e0f-1c2d3e4f5a6b"},
        {"id": "urn:uuid:8d7c8a3e-7d4b-4a5e-9e0f-1c2d3e4f5a6b"},  # an alias of eventID
        {"recordTime": "2024-03-02T00:00:00Z"},
        {
            "errorDeclaration": {
                "declarationTime": "2024-03-03T00:00:00Z",
                "reason": "did_not_occur",
            }
        },
        {"rdfs:comment": "a comment"},
    ],
    ids=["eventID", "id", "recordTime", "errorDeclaration", "comment"],
)
def test_fields_outside_the_hash(extra: dict[str, Any]) -> None:
    assert _hash({**_event(), **extra}) == BASE


def _set(path: str, value: Any) -> dict[str, Any]:
    """A copy of the event with the value at a dotted path (list indexes as numbers) replaced."""
    event = _event()
    *parents, last = path.split(".")
    node: Any = event
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return event


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("eventTime", "2024-03-01T10:00:00.124+01:00"),
        ("eventTimeZoneOffset", "+02:00"),
        ("epcList.1", "urn:epc:id:sgtin:4012345.011111.3"),
        ("quantityList.0.quantity", 3),
        ("quantityList.1.uom", "LTR"),
        ("action", "ADD"),
        ("bizStep", "receiving"),
        ("disposition", "in_progress"),
        ("readPoint.id", "urn:epc:id:sgln:4012345.00001.1"),
        ("readPoint.example:dock", "8"),
        ("bizLocation.id", "urn:epc:id:sgln:4012345.00003.0"),
        ("bizTransactionList.0.type", "desadv"),
        ("bizTransactionList.1.bizTransaction", "urn:epcglobal:cbv:bt:4012345000009:INV2"),
        ("sourceList.0.type", "possessing_party"),
        ("sensorElementList.0.sensorMetadata.time", "2024-03-01T09:59:01Z"),
        ("sensorElementList.0.sensorReport.0.value", 21.6),
        ("ilmd.example:batch", "B-8"),
        ("example:shift.example:crew", ["x", "w"]),
    ],
)
def test_changing_a_value_changes_the_hash(path: str, value: Any) -> None:
    assert _hash(_set(path, value)) != BASE


@pytest.mark.parametrize(
    "key",
    ["eventTimeZoneOffset", "quantityList", "disposition", "bizLocation", "sourceList", "ilmd"],
)
def test_removing_a_field_changes_the_hash(key: str) -> None:
    event = _event()
    del event[key]
    assert _hash(event) != BASE


@pytest.mark.parametrize(
    "extra",
    [
        {"parentID": "urn:epc:id:sscc:4012345.0000000001"},
        {"transformationID": "urn:epc:id:gdti:4012345.00001.7"},
        {"persistentDisposition": {"set": ["recalled"]}},
        {"certificationInfo": "https://cert.example.org/1"},
        {
            "destinationList": [
                {"type": "location", "destination": "urn:epc:id:sgln:4012345.00009.0"}
            ]
        },
        {"example:more": "1"},
        {"example:empty": ""},
    ],
    ids=lambda extra: next(iter(extra)),
)
def test_adding_a_field_changes_the_hash(extra: dict[str, Any]) -> None:
    assert _hash({**_event(), **extra}) != BASE


def _shuffled(value: Any, rng: random.Random) -> Any:
    """The same JSON-LD with every object's keys and every list's items in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        items = [_shuffled(item, rng) for item in value]
        rng.shuffle(items)
        return items
    return value


@pytest.mark.parametrize("seed", range(5))
def test_order_of_keys_and_list_items_does_not_matter(seed: int) -> None:
    """Cf. expected_equal/differentRepresentationsOf*: lists are sets, objects unordered."""
    shuffled = _shuffled(_event(), random.Random(seed))
    assert _hash(shuffled) == BASE


def test_type_and_identifier_order_within_a_business_transaction_does_not_matter() -> None:
    event = _event()
    event["bizTransactionList"] = [
        {"bizTransaction": t["bizTransaction"], "type": t["type"]}
        for t in event["bizTransactionList"]
    ]
    assert _hash(event) == BASE


@pytest.mark.parametrize(
    "moment",
    [
        "2024-03-01T09:00:00.123Z",
        "2024-03-01T09:00:00.123+00:00",
        "2024-03-01T10:00:00.123+01:00",
        "2024-03-01T03:30:00.123-05:30",
        "2024-02-29T23:00:00.123-10:00",  # the day before, in UTC-10
        "2024-03-01T09:00:00.1230Z",
        "2024-03-01T09:00:00.123000000Z",
    ],
)
def test_the_same_instant_in_any_offset_or_precision_hashes_alike(moment: str) -> None:
    """Cf. expected_equal/timestampTimeZone*, timestampPrecision."""
    event = {**_event(), "eventTime": moment}
    assert prehash_string(event, CONTEXT).startswith(
        "eventType=ObjectEventeventTime=2024-03-01T09:00:00.123Z"
    )
    assert _hash(event) == BASE


def test_milliseconds_are_zero_filled() -> None:
    event = {**_event(), "eventTime": "2024-03-01T09:00:00Z"}
    assert "eventTime=2024-03-01T09:00:00.000Z" in prehash_string(event, CONTEXT)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("2023-01-18T11:04:03.1415Z", "2023-01-18T11:04:03.142Z"),  # rule 9's own example
        ("2023-01-18T11:04:03.1414Z", "2023-01-18T11:04:03.141Z"),
        ("2023-01-18T11:04:03.14149Z", "2023-01-18T11:04:03.141Z"),
        ("2023-01-18T11:04:03.1425Z", "2023-01-18T11:04:03.143Z"),  # half up, not to even
        ("2023-01-18T11:04:03.1419999Z", "2023-01-18T11:04:03.142Z"),
        ("2023-12-31T23:59:59.9995Z", "2024-01-01T00:00:00.000Z"),  # carries into the year
        ("2023-01-18T12:04:03.1005+01:00", "2023-01-18T11:04:03.101Z"),
    ],
)
def test_sub_millisecond_rounding(given: str, canonical: str) -> None:
    event = {"type": "ObjectEvent", "eventTime": given, "action": "OBSERVE"}
    assert prehash_string(event) == f"eventType=ObjectEventeventTime={canonical}action=OBSERVE"


@pytest.mark.parametrize(
    ("one", "other"),
    [(1.0, 1), (2, "2"), (1.5, 1.50), ("0.50", 0.5), (21.5, "+21.50")],
)
def test_numbers_without_trailing_zeros_hash_alike(one: Any, other: Any) -> None:
    first = _set("sensorElementList.0.sensorReport.0.value", one)
    second = _set("sensorElementList.0.sensorReport.0.value", other)
    assert _hash(first) == _hash(second)
    assert _hash(_set("quantityList.0.quantity", 2.0)) == BASE


@pytest.mark.parametrize(
    ("path", "variant"),
    [
        ("bizStep", "urn:epcglobal:cbv:bizstep:shipping"),
        ("bizStep", "https://ref.gs1.org/cbv/BizStep-shipping"),
        ("bizStep", "cbv:BizStep-shipping"),
        ("disposition", "urn:epcglobal:cbv:disp:in_transit"),
        ("bizTransactionList.0.type", "urn:epcglobal:cbv:btt:po"),
        ("sensorElementList.0.sensorReport.0.type", "gs1:Temperature"),
        ("epcList.0", "https://id.gs1.org/01/04012345111118/21/1"),
        ("epcList.0", "https://brand.example.com/01/04012345111118/21/1?linkType=all"),
        ("epcList.0", "https://id.gs1.org/gtin/4012345111118/ser/1"),
        ("readPoint.id", "https://id.gs1.org/414/4012345000016"),
    ],
)
def test_equivalent_identifiers_and_vocabulary_hash_alike(path: str, variant: str) -> None:
    assert _hash(_set(path, variant)) == BASE


def test_the_prefix_name_does_not_matter() -> None:
    other = [CONTEXT[0], {"ex": "https://ns.example.com/epcis/"}]
    renamed = json.loads(json.dumps(_event()).replace('"example:', '"ex:'))
    assert _hash(renamed, other) == BASE


def test_the_namespace_does_matter() -> None:
    assert _hash(_event(), [CONTEXT[0], {"example": "https://ns.other.example/"}]) != BASE


def test_empty_lists_are_left_out() -> None:
    """Cf. expected_equal/ignoreEmptyEpcList."""
    assert _hash({**_event(), "childEPCs": [], "outputEPCList": []}) == BASE


def test_a_changed_context_object_is_not_served_from_the_cache() -> None:
    context = copy.deepcopy(CONTEXT)
    assert _hash(_event(), context) == BASE
    context[1]["example"] = "https://ns.other.example/"
    assert _hash(_event(), context) != BASE


def test_ignore_fields_of_a_query_document() -> None:
    event = {**_event(), "example:captureID": "c-1", "example:hash": "h"}
    document = {
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "epcisBody": {
            "queryResults": {
                "example:ignoreFields": ["example:captureID", "example:hash"],
                "resultsBody": {"eventList": [event, _event()]},
            }
        },
    }
    assert document_hash_ids(document) == [BASE, BASE]
    assert event_hash_id(event, CONTEXT, ignore=["example:captureID", "example:hash"]) == BASE


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"eventTime": None}, "eventTime"),
        ({"eventTime": ""}, "eventTime"),
        ({"eventTime": "yesterday"}, "eventTime"),
        ({"eventTime": "2024-03-01T10:00:00"}, "eventTime"),  # no UTC offset
        ({"eventTime": 1709283600}, "eventTime"),
        ({"type": None}, "type"),
        (
            {"sensorElementList": [{"sensorReport": [{"type": "Speed"}, {"time": "soon"}]}]},
            "sensorElementList[0].sensorReport[1].time",
        ),
    ],
)
def test_an_event_that_cannot_be_hashed_says_why(change: dict[str, Any], field: str) -> None:
    event = {**_event(), **change}
    with pytest.raises(InvalidEvent) as caught:
        event_hash_id(event, CONTEXT)
    assert caught.value.field == field
    assert caught.value.reason


def test_without_event_time_a_document_names_the_event() -> None:
    event = _event()
    del event["eventTime"]
    document = {"@context": CONTEXT, "epcisBody": {"eventList": [_event(), event]}}
    with pytest.raises(InvalidEvent) as caught:
        document_hash_ids(document)
    assert (caught.value.index, caught.value.field) == (1, "eventTime")
    assert "eventTime" in str(caught.value)


@pytest.mark.parametrize("document", [{}, {"epcisBody": []}, {"epcisBody": {"foo": 1}}, []])
def test_a_document_without_events_is_invalid(document: Any) -> None:
    with pytest.raises(InvalidDocument):
        document_hash_ids(document)


def test_an_event_that_is_not_an_object_is_invalid() -> None:
    with pytest.raises(InvalidEvent) as caught:
        document_hash_ids({"epcisBody": {"eventList": [_event(), "event"]}})
    assert caught.value.index == 1
