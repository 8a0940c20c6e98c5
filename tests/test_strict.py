"""Strict EPCIS validation held to GS1's official JSON schema; lenient normalisation.

The oracle is ``jsonschema`` validating against ``EPCIS-JSON-Schema.json`` (draft-07, as its
``$schema`` says), with every ``$ref`` resolved locally (the modular ``JSON-Schema/`` files are
in the registry; nothing is fetched). jsonschema asserts ``format`` only through optional
packages that are not our dev dependencies, so the checkers they would plug in are transcribed
below: rfc3339-validator 0.1.x for ``date-time`` (called on the upper-cased text, as
jsonschema does) and rfc3986-validator 0.1.x for ``uri`` (both MIT, by Nicolas Aimetti). A
second oracle uses the checkers of ajv-formats 2.x ("full" mode), with which GS1 validates its
examples (``JSON-Schema/README.md``); it is applied to the corpus.

"Covered": an official error's location is the instance it names (``absolute_path``); for
``required``, ``anyOf``, ``propertyNames`` and ``additionalProperties`` that is the enclosing
object. A finding covers it when the finding's pointer equals that location or lies inside it
(we point at the member itself: ``/epcisBody/eventList/0/_comment`` where jsonschema says
``/epcisBody/eventList/0``). One more case: a finding that an object lacks ``type`` covers every
error inside that object, since the schema then applies all of its ``if type == ...`` branches
at once (each ``if`` holds vacuously) and we report the cause, not each branch's complaints.
Conversely, every finding must lie at or inside some official error's location.
"""

from __future__ import annotations

import calendar
import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT7

from conftest import need_refdata
from ionledger.epcis.lenient import Tolerated, normalise_document, normalise_event
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
    Finding,
    is_date_time,
    is_uri,
    strict_findings,
)

# --- format checkers of the oracles ---------------------------------------------------------

# rfc3339-validator 0.1.x, as jsonschema's "date-time" calls it (on instance.upper()).
_RFC3339 = re.compile(
    r"""^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0123]):(?:[0-5]\d):(?:[0-5]\d)(?:\.\d+)?
    (?:Z|[+-](?:[01]\d|2[0123]):[0-5]\d)$""",
    re.VERBOSE | re.ASCII,
)


def _rfc3339(text: str) -> bool:
    match = _RFC3339.match(text.upper())
    if match is None:
        return False
    year, month, day = map(int, match.groups())
    return bool(year) and 1 <= day <= calendar.monthrange(year, month)[1]


# rfc3986-validator 0.1.x, rule "URI" (RFC 3986 appendix A, spelt out by its author).
_H = "[0-9A-Fa-f]"
_V4 = r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
_LS32 = f"(?:{_H}{{1,4}}:{_H}{{1,4}}|{_V4})"
_IPV6 = (
    f"(?:(?:{_H}{{1,4}}:){{6}}{_LS32}|::(?:{_H}{{1,4}}:){{5}}{_LS32}"
    f"|(?:{_H}{{1,4}})?::(?:{_H}{{1,4}}:){{4}}{_LS32}"
    f"|(?:(?:{_H}{{1,4}}:)?{_H}{{1,4}})?::(?:{_H}{{1,4}}:){{3}}{_LS32}"
    f"|(?:(?:{_H}{{1,4}}:){{,2}}{_H}{{1,4}})?::(?:{_H}{{1,4}}:){{2}}{_LS32}"
    f"|(?:(?:{_H}{{1,4}}:){{,3}}{_H}{{1,4}})?::(?:{_H}{{1,4}}:){_LS32}"
    f"|(?:(?:{_H}{{1,4}}:){{,4}}{_H}{{1,4}})?::{_LS32}"
    f"|(?:(?:{_H}{{1,4}}:){{,5}}{_H}{{1,4}})?::{_H}{{1,4}}"
    f"|(?:(?:{_H}{{1,4}}:){{,6}}{_H}{{1,4}})?::)"
)
_AUTHORITY = (
    r"(?:(?:[a-zA-Z0-9_.~\-!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*@)?"
    rf"(?:\[(?:{_IPV6}|v[0-9A-Fa-f]+\.[a-zA-Z0-9_.~\-!$&'()*+,;=:]+)\]|{_V4}"
    r"|(?:[a-zA-Z0-9_.~\-!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?"
)
_PCHAR = r"(?:[a-zA-Z0-9_.~\-!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_QUERY = r"(?:[a-zA-Z0-9_.~\-!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*"
_RFC3986 = re.compile(
    rf"^[a-zA-Z][a-zA-Z0-9+.-]*:(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"
    rf"|{_PCHAR}+(?:/{_PCHAR}*)*|)(?:\?{_QUERY})?(?:\#{_QUERY})?$"
)
# ajv-formats 2.x "full": the same URI grammar, except that "/" alone may introduce an
# authority and the path may not be empty; case-insensitive.
_AJV_URI = re.compile(
    rf"[a-z][a-z0-9+\-.]*:(?:/?/{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"
    rf"|{_PCHAR}+(?:/{_PCHAR}*)*)(?:\?{_QUERY})?(?:#{_QUERY})?",
    re.IGNORECASE | re.ASCII,
)
_AJV_DATE = re.compile(r"(\d\d\d\d)-(\d\d)-(\d\d)", re.ASCII)
_AJV_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)(\.\d+)?(z|[+-]\d\d(?::?\d\d)?)?", re.I | re.ASCII)


def _ajv_date_time(text: str) -> bool:
    parts = re.split(r"[tT\s]", text)
    if len(parts) != 2:
        return False
    date, time = _AJV_DATE.fullmatch(parts[0]), _AJV_TIME.fullmatch(parts[1])
    if date is None or time is None or not time[5]:
        return False
    year, month, day = map(int, date.groups())
    days = [0, 31, 29 if calendar.isleap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    hour, minute, second = int(time[1]), int(time[2]), int(time[3])
    clock = (hour <= 23 and minute <= 59 and second <= 59) or (hour, minute, second) == (23, 59, 60)
    return 1 <= month <= 12 and 1 <= day <= days[month] and clock


def _checker(date_time: Callable[[str], bool], uri: Callable[[str], bool]) -> Any:
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(lambda v: not isinstance(v, str) or date_time(v))
    checker.checks("uri")(lambda v: not isinstance(v, str) or uri(v))
    return checker


ORACLES = {
    "jsonschema": _checker(_rfc3339, lambda v: _RFC3986.match(v) is not None),
    "ajv-formats": _checker(_ajv_date_time, lambda v: _AJV_URI.fullmatch(v) is not None),
}

# --- the official schema --------------------------------------------------------------------


@cache
def _gs1() -> Path:
    return need_refdata("epcis", "gs1")


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((_gs1() / "EPCIS-JSON-Schema.json").read_text())
    return schema


def _refuse(uri: str) -> Any:
    raise LookupError(f"{uri} is not a local schema; nothing is fetched")


@cache
def _registry() -> Registry[Any]:
    """The modular schema files by their $id, so that every $ref resolves locally."""
    resources = []
    for path in sorted((_gs1() / "JSON-Schema").rglob("*.json")):
        if "test" not in path.parts:
            contents = json.loads(path.read_text())
            resources.append((contents["$id"], DRAFT7.create_resource(contents)))
    return Registry(retrieve=_refuse).with_resources(resources)


@cache
def _validator(oracle: str = "jsonschema", modular: bool = False) -> Any:
    schema = _schema()
    if modular:
        schema = json.loads((_gs1() / "JSON-Schema" / "EPCIS-JSON-Schema-root.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft7Validator  # "$schema": draft-07
    cls.check_schema(schema)
    return cls(schema, registry=_registry(), format_checker=ORACLES[oracle])


def _official(document: Any, oracle: str = "jsonschema") -> list[Any]:
    return list(_validator(oracle).iter_errors(document))


def _pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _resolve(document: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def _inside(pointer: str, outer: str) -> bool:
    return pointer == outer or pointer.startswith(outer + "/")


def _untyped(finding: Finding, document: Any) -> bool:
    """A finding that the object at its pointer lacks ``type`` (see the module docstring)."""
    return finding.rule == "required" and "type" not in _resolve(document, finding.pointer)


def _mismatches(document: Any, oracle: str = "jsonschema") -> list[str]:
    """How strict and the official schema disagree on ``document``; empty when they agree."""
    errors = _official(document, oracle)
    findings = strict_findings(document)
    problems = []
    if bool(errors) != bool(findings):
        problems.append(f"official: {len(errors)} errors, strict: {len(findings)} findings")
    where = [_pointer(e.absolute_path) for e in errors]
    for error, location in zip(errors, where, strict=True):
        if not any(
            _inside(f.pointer, location) or (_untyped(f, document) and _inside(location, f.pointer))
            for f in findings
        ):
            problems.append(f"not covered: {location or '/'} {error.validator}: {error.message}")
    for f in findings:
        if not any(_inside(f.pointer, location) for location in where):
            problems.append(f"not an official error: {f}")
    return problems


# --- the corpus -----------------------------------------------------------------------------

# Every .json/.jsonld file in these folders is an EPCISDocument or EPCISQueryDocument (the
# folders' other files are README.md), so none is skipped: contexts (JSON-LD-Context/) and
# master data (XML/) live elsewhere. test_corpus_is_event_documents checks the claim.
FOLDERS = (
    ("epcis", "gs1", "JSON"),
    ("epcis", "gs1", "JSON-simple-context"),
    ("epcis", "openepcis-battery", "epcis"),
)


def _documents(*parts: str) -> list[Path]:
    folder = need_refdata(*parts)
    return sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".jsonld"))


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


@pytest.mark.refdata
@pytest.mark.parametrize("parts", FOLDERS, ids=lambda p: "/".join(p[1:]))
def test_corpus_is_event_documents(parts: tuple[str, ...]) -> None:
    paths = _documents(*parts)
    assert paths
    for path in paths:
        assert _load(path)["type"] in ("EPCISDocument", "EPCISQueryDocument"), path


@pytest.mark.refdata
@pytest.mark.parametrize("parts", FOLDERS, ids=lambda p: "/".join(p[1:]))
def test_strict_agrees_with_the_official_schema(parts: tuple[str, ...]) -> None:
    paths = _documents(*parts)
    for oracle in ORACLES:
        disagreements = {}
        for path in paths:
            if problems := _mismatches(_load(path), oracle):
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
    for path in _documents(*parts):
        document = _load(path)
        inlined = sorted((_pointer(e.absolute_path), e.validator) for e in _official(document))
        modular = _validator("jsonschema", modular=True).iter_errors(document)
        assert inlined == sorted((_pointer(e.absolute_path), e.validator) for e in modular)


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
    definitions = _schema()["definitions"]
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
    definitions = _schema()["definitions"]
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


# --- formats ----------------------------------------------------------------------------------

URIS = [
    "urn:epc:id:sgtin:0614141.107346.2018",
    "https://id.gs1.org/01/09521234000013/21/BAT2024-001",
    "ni:///sha-256;fec9667280c4710a3fa9558b7bc8ddc2ced0dc442d87f82becae24bb6ca6a46f?ver=CBV2.0",
    "http://[2001:db8::7]/c=GB?objectClass?one",
    "http://[v7.x:y]/",
    "http://user:pw@example.com:8080/a/b?c=d#e",
    "mailto:John.Doe@example.com",
    "a:",
    "a:/",
    "ex1:float",
    "http://example.com/%41",
    "http://[::ffff:192.0.2.1]/",
    "_:document1",
    "not a uri",
    "urn:epc id",
    "http://exa mple.com",
    "http://example.com/%zz",
    "1abc:x",
    "",
    "é:x",
    "http://[1:2:3:4:5:6:7:8:9]/",
    "http://[::1/",
    "a:b\n",
]
DATE_TIMES = [
    "2005-04-05T02:33:31.116Z",
    "2005-04-05t02:33:31z",
    "2020-02-29T23:59:59+14:00",
    "2020-02-29T23:59:59.123456789-00:00",
    "2021-02-29T10:00:00Z",
    "2020-13-01T00:00:00Z",
    "2020-01-01T24:00:00Z",
    "2020-01-01T10:60:00Z",
    "2016-12-31T23:59:60Z",
    "2020-01-01T10:00:00",
    "2020-01-01T10:00:00+0100",
    "2020-01-01T10:00:00+01",
    "2020-01-01T10:00:00+24:00",
    "2020-01-01 10:00:00Z",
    "0000-01-01T00:00:00Z",
    "20200101T100000Z",
    "2020-01-01T10:00Z",
    "2020-1-01T10:00:00Z",
    "tomorrow",
    "2020-01-01T10:00:00Z\n",
]
# Where the ajv-formats checkers say otherwise than RFC 3339/3986 (and we, and jsonschema's).
AJV_DIFFERS = {"a:", "2020-01-01T10:00:00+0100", "2020-01-01T10:00:00+01",
               "2020-01-01T10:00:00+24:00", "2020-01-01 10:00:00Z", "2016-12-31T23:59:60Z",
               "0000-01-01T00:00:00Z"}  # fmt: skip
# The transcribed Python checkers let "$" match before a final newline; ECMA-262 and we do not.
NEWLINE_QUIRK = {"a:b\n", "2020-01-01T10:00:00Z\n"}


@pytest.mark.parametrize("text", URIS)
def test_uri_format(text: str) -> None:
    reference = _RFC3986.match(text) is not None
    assert is_uri(text) == (reference and text not in NEWLINE_QUIRK)
    assert (_AJV_URI.fullmatch(text) is not None) == (is_uri(text) != (text in AJV_DIFFERS))


@pytest.mark.parametrize("text", DATE_TIMES)
def test_date_time_format(text: str) -> None:
    assert is_date_time(text) == (_rfc3339(text) and text not in NEWLINE_QUIRK)
    assert _ajv_date_time(text) == (is_date_time(text) != (text in AJV_DIFFERS))


@pytest.mark.refdata
def test_patterns_are_ecma_262_not_python_re() -> None:
    """JSON Schema patterns are ECMA-262: "$" ends the string and "\\d" is ASCII. Python's
    ``re.search``, which jsonschema uses, lets "2.0\\n" and Arabic-Indic digits through."""
    base = _load(_gs1() / "JSON" / "Example_9.6.1-ObjectEvent.jsonld")
    for version in ("2.0\n", "\u0662.\u0660"):
        document = {**base, "schemaVersion": version}
        assert [(f.pointer, f.rule) for f in strict_findings(document)] == [
            ("/schemaVersion", "pattern")
        ]
        assert not _official(document)  # the Python oracle's reading, not the standard's


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
Path_ = tuple[str | int, ...]
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
NUMBER_KEYS = {"quantity", "value", "minValue", "maxValue", "meanValue", "sDev", "percRank",
               "percValue"}  # fmt: skip
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


def _nodes(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, value
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, member in items:
            yield from _nodes(member, (*path, key))


def _key(path: Path_) -> str | int:
    """The member name a value is under (for list items, the list's name)."""
    named = [p for p in path if isinstance(p, str)]
    return named[-1] if named else ""


def _json_type(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    return "number" if isinstance(value, int | float) else type(value).__name__


@dataclass
class Mutation:
    name: str
    applies: Callable[[Path_, Any], bool]
    change: Callable[[Any, Path_, Any, random.Random], tuple[Any, str]]  # -> new doc, where


def _replace(document: Any, path: Path_, value: Any) -> Any:
    parent = _resolve_path(document, path[:-1])
    parent[path[-1]] = value
    return document


def _resolve_path(document: Any, path: Path_) -> Any:
    for p in path:
        document = document[p]
    return document


def _set_value(choices: list[Any]) -> Callable[[Any, Path_, Any, random.Random], tuple[Any, str]]:
    def change(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
        return _replace(doc, path, rng.choice([c for c in choices if c != value])), _pointer(path)

    return change


def _wrong_type(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
    other = rng.choice([v for v in OTHER_TYPES if _json_type(v) != _json_type(value)])
    return _replace(doc, path, copy.deepcopy(other)), _pointer(path)


def _remove(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
    del _resolve_path(doc, path[:-1])[path[-1]]
    return doc, _pointer(path[:-1])


def _add_member(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
    name = rng.choice(["bogus", "ex:bogus", "_comment"])
    value[name] = "x"
    return doc, _pointer((*path, name))


def _as_string(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
    return _replace(doc, path, json.dumps(value)), _pointer(path)


def _empty(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
    return _replace(doc, path, []), _pointer(path)


def _duplicate(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
    value.append(copy.deepcopy(value[0]))
    return doc, _pointer(path)


SUBJECTS = ("epcList", "quantityList", "childEPCs", "childQuantityList", "inputEPCList",
            "inputQuantityList", "outputEPCList", "outputQuantityList", "sensorElementList",
            "readPoint", "transformationID", "set", "unset")  # fmt: skip


def _strip_subjects(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
    """Drop some of what an event is about (its anyOf), or persistentDisposition's set/unset."""
    present = [k for k in SUBJECTS if k in value]
    for key in rng.sample(present, rng.randint(1, len(present))):
        del value[key]
    return doc, _pointer(path)


def _other_action(doc: Any, path: Path_, value: Any, rng: random.Random) -> tuple[Any, str]:
    """Another valid action: wrong only where the event's other members need this one."""
    _replace(doc, path, rng.choice([a for a in ACTIONS if a != value]))
    return doc, _pointer(path[:-1])


def _is_str(path: Path_, value: Any, keys: set[str] | dict[str, Any]) -> bool:
    return isinstance(value, str) and _key(path) in keys


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
        lambda p, v: _key(p) in NUMBER_KEYS and isinstance(v, int | float),
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
    bases = [_load(_gs1() / name) for name in MUTATION_BASES]
    first = copy.deepcopy(bases[0]["epcisBody"]["eventList"][0])
    bases.append({"@context": bases[0]["@context"], **first})  # a lone event at the top
    for base in bases:
        assert not _official(base)
        assert not strict_findings(base)
    rng = random.Random(20240611)
    breaking: dict[str, int] = {}
    harmless, failures = 0, []
    for _attempt in range(2000):
        if sum(breaking.values()) >= 200:
            break
        base = rng.choice(bases)
        mutation = rng.choice(MUTATIONS)
        candidates = [(p, v) for p, v in _nodes(base) if mutation.applies(p, v)]
        if not candidates:
            continue
        path, _ = rng.choice(candidates)
        document = copy.deepcopy(base)
        document, where = mutation.change(document, path, _resolve_path(document, path), rng)
        findings = strict_findings(document)
        problems = _mismatches(document)
        if _official(document):
            breaking[mutation.name] = breaking.get(mutation.name, 0) + 1
            parent = where.rsplit("/", 1)[0]
            if not any(_inside(f.pointer, where) or f.pointer == parent for f in findings):
                problems.append(f"no finding at {where}")
        else:
            harmless += 1
        if problems:
            failures.append(f"{mutation.name} at {where}: {problems}")
    total = sum(breaking.values())
    print(f"\nmutations: {total} schema-breaking ({breaking}), {harmless} harmless; all agree")
    assert total >= 200
    assert not failures, "\n".join(failures[:20])


# --- GS1's own slips and the battery documents --------------------------------------------------


def _findings(*parts: str) -> list[Finding]:
    return strict_findings(_load(need_refdata("epcis", *parts)))


def _pairs(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.pointer, f.rule) for f in findings}


SIMPLE = ("gs1", "JSON-simple-context")


@pytest.mark.refdata
def test_slip_transaction_events_lists_given_as_objects() -> None:
    findings = _findings(*SIMPLE, "Example-TransactionEvents-2020_07_03y.jsonld")
    assert _pairs(findings) == {
        ("/epcisBody/eventList/1/sourceList", "type"),
        ("/epcisBody/eventList/1/destinationList", "type"),
    }
    assert all(f.event == 1 and "the schema requires an array" in f.message for f in findings)


@pytest.mark.refdata
def test_slip_object_event_ilmd_with_observe() -> None:
    path = (*SIMPLE, "WithFullCombinationOfFields", "object_event_all_possible_fields.jsonld")
    findings = _findings(*path)
    assert _pairs(findings) == {
        ("/epcisBody/eventList/0/ilmd", "not"),  # ilmd only with action ADD; this one OBSERVEs
        ("/epcisBody/eventList/0/sensorElementList/0/type", "propertyNames"),
    }
    assert all(f.event == 0 for f in findings)


@pytest.mark.refdata
def test_slip_sensor_data_12_without_schema_version() -> None:
    findings = _findings(*SIMPLE, "WithSensorData", "SensorDataExample12.jsonld")
    assert [(f.pointer, f.rule, f.event) for f in findings] == [
        ("", "required", None),
        ("", "required", None),
        ("/epcisBody/eventList/0/sensorElementList/0/type", "propertyNames", 0),
    ]
    assert "'schemaVersion'" in findings[0].message
    assert "'creationDate'" in findings[1].message


@pytest.mark.refdata
def test_slip_sensor_data_17_schema_version_as_number() -> None:
    findings = _findings(*SIMPLE, "WithSensorData", "SensorDataExample17.jsonld")
    assert _pairs(findings) == {("/schemaVersion", "type"), ("/id", "format.uri")}
    (version,) = (f for f in findings if f.pointer == "/schemaVersion")
    assert version.message == "value 2.0 is a number; the schema requires a string"


@pytest.mark.refdata
def test_simple_context_blank_node_ids_are_not_uris() -> None:
    """Beyond the four slips: "_:document1" (a JSON-LD blank node) is no URI, so with formats
    asserted most JSON-simple-context examples fail on their document "id"."""
    findings = _findings(*SIMPLE, "Example_9.6.1-ObjectEvent.jsonld")
    assert [(f.pointer, f.rule, f.event) for f in findings] == [("/id", "format.uri", None)]


BATTERY = ("epcis", "openepcis-battery", "epcis")


def _battery() -> list[Path]:
    return _documents(*BATTERY)


def _numeric_strings(document: Any) -> set[str]:
    return {
        _pointer(path)
        for path, value in _nodes(document)
        if _key(path) in NUMBER_KEYS and isinstance(value, str) and "sensorReport" in path
    }


def _cbv1_urns(document: Any) -> set[str]:
    return {
        _pointer(path)
        for path, value in _nodes(document)
        if isinstance(value, str) and value.startswith("urn:epcglobal:cbv:")
    }


@pytest.mark.refdata
def test_battery_deviations_are_reported_precisely() -> None:
    for path in _battery():
        document = _load(path)
        findings = strict_findings(document)
        numbers = {f.pointer for f in findings if f.rule == "type"}
        assert numbers == _numeric_strings(document), path.name
        urns = {f.pointer for f in findings if "CBV 1.x URN" in f.message}
        assert urns == _cbv1_urns(document), path.name
        assert all(f.rule == "enum" for f in findings if f.pointer in urns)
        assert ("/_comment_architecture", "propertyNames") in _pairs(findings)
        for f in findings:
            assert (f.event is None) == (not f.pointer.startswith("/epcisBody/eventList/"))
    soh = _findings("openepcis-battery", "epcis", "state-of-health.jsonld")
    value = "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/value"
    assert (
        Finding(value, "type", "value '94.2' is a string; the schema requires a number", 0) in soh
    )
    commissioning = _findings("openepcis-battery", "epcis", "commissioning.jsonld")
    assert (
        Finding(
            "/epcisBody/eventList/0/bizTransactionList/0/type",
            "enum",
            "bizTransaction-type 'urn:epcglobal:cbv:btt:prodorder' is a CBV 1.x URN; the EPCIS 2.0"
            " schema wants the bare CBV term 'prodorder'",
            0,
        )
        in commissioning
    )
    lifecycle = _findings("openepcis-battery", "epcis", "amperia-staxwall-lifecycle.jsonld")
    assert ("/epcisBody/eventList/0/action", "propertyNames") in _pairs(lifecycle)


# --- lenient ---------------------------------------------------------------------------------


def _tolerated_kinds(findings: list[Finding]) -> set[str]:
    """The pointers of the findings that lenient is meant to remove."""
    return {
        f.pointer
        for f in findings
        if "CBV 1.x URN" in f.message
        or (f.rule == "type" and f.message.endswith("requires a number"))
    }


def _assert_normalised(document: dict[str, Any]) -> tuple[dict[str, Any], list[Tolerated]]:
    before = copy.deepcopy(document)
    fixed, tolerated = normalise_document(document)
    assert document == before  # the input is left alone
    again, more = normalise_document(fixed)
    assert again == fixed
    assert more == []
    assert not _tolerated_kinds(strict_findings(fixed))
    return fixed, tolerated


@pytest.mark.refdata
def test_lenient_battery_documents() -> None:
    for path in _battery():
        document = _load(path)
        expected = _tolerated_kinds(strict_findings(document))
        fixed, tolerated = _assert_normalised(document)
        assert {t.pointer for t in tolerated} == expected, path.name
        assert len(tolerated) == len(expected)
        for t in tolerated:
            assert t.rule in ("number-as-string", "cbv1-urn")
            assert t.event == int(t.pointer.split("/")[3])
            before, after = _resolve(document, t.pointer), _resolve(fixed, t.pointer)
            assert isinstance(before, str)
            assert before != after
            assert repr(before) in t.message
            assert repr(after) in t.message
        # What lenient does not touch is still there, shared, and still reported.
        assert fixed["@context"] is document["@context"]
        assert fixed["_comment_architecture"] is document["_comment_architecture"]
        assert ("/_comment_architecture", "propertyNames") in _pairs(strict_findings(fixed))
    soh, tolerated = normalise_document(_load(need_refdata(*BATTERY, "state-of-health.jsonld")))
    assert tolerated[0] == Tolerated(
        "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/value",
        "number-as-string",
        "sensorReport value '94.2' given as a string; read as the number 94.2",
        0,
    )
    assert soh["epcisBody"]["eventList"][0]["sensorElementList"][0]["sensorReport"][0][
        "value"
    ] == pytest.approx(94.2)


@pytest.mark.refdata
def test_lenient_gs1_slips() -> None:
    def normalised(*parts: str) -> tuple[list[Finding], list[tuple[str, str]]]:
        fixed, tolerated = _assert_normalised(_load(need_refdata("epcis", *SIMPLE, *parts)))
        return strict_findings(fixed), [(t.pointer, t.rule) for t in tolerated]

    findings, tolerated = normalised("WithSensorData", "SensorDataExample17.jsonld")
    assert tolerated == [("/schemaVersion", "schemaVersion-number")]
    assert "/schemaVersion" not in {f.pointer for f in findings}
    findings, tolerated = normalised("WithSensorData", "SensorDataExample12.jsonld")
    assert tolerated == [("", "schemaVersion-missing")]
    assert [f.message for f in findings if f.pointer == ""] == [
        "epcisDocument requires 'creationDate'"  # not invented
    ]
    findings, tolerated = normalised("Example-TransactionEvents-2020_07_03y.jsonld")
    assert tolerated == [
        ("/epcisBody/eventList/1/sourceList", "single-as-list"),
        ("/epcisBody/eventList/1/destinationList", "single-as-list"),
    ]
    assert findings == []
    findings, tolerated = normalised(
        "WithFullCombinationOfFields", "object_event_all_possible_fields.jsonld"
    )
    assert tolerated == []  # ilmd with OBSERVE: dropping it or changing action would invent data
    assert ("/epcisBody/eventList/0/ilmd", "not") in _pairs(findings)


def _event(**members: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
        **members,
    }


def _document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


def test_lenient_does_not_invent_values() -> None:
    odd = ["n/a", "1,5", "NaN", "Infinity", " 5", "5 ", "+5", "05", "1e999", "0x10", "", "1."]
    reports = [{"type": "Temperature", "value": text} for text in odd]
    quantity = {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "1,5"}
    document = _document(
        _event(
            bizStep="urn:epcglobal:cbv:bizstep:teleporting",  # no such CBV term
            disposition="urn:epcglobal:cbv:bizstep:shipping",  # a bizStep URN in disposition
            quantityList=[quantity],
            readPoint={"id": "urn:epc:id:sgln:0614141.00777.0"},
            sensorElementList=[{"sensorReport": reports}],
        )
    )
    fixed, tolerated = normalise_document(document)
    assert tolerated == []
    assert fixed == document
    pointers = {f.pointer for f in strict_findings(fixed)}
    event = "/epcisBody/eventList/0"
    assert {
        f"{event}/bizStep",
        f"{event}/disposition",
        f"{event}/quantityList/0/quantity",
    }.issubset(pointers)
    assert {f"{event}/sensorElementList/0/sensorReport/{i}/value" for i in range(len(odd))} <= (
        pointers
    )


def test_lenient_reads_json_numbers_as_json_would() -> None:
    texts = ["0", "-0", "847", "-12", "94.2", "1e3", "2.5E-3", "12345678901234567890"]
    reports = [{"type": "Temperature", "value": text} for text in texts]
    event = _event(sensorElementList=[{"sensorReport": reports}])
    fixed, tolerated = normalise_event(event, 3, "/epcisBody/eventList/3")
    values = [r["value"] for r in fixed["sensorElementList"][0]["sensorReport"]]
    assert values == [json.loads(t) for t in texts]
    assert [type(v) for v in values] == [type(json.loads(t)) for t in texts]
    assert [t.pointer for t in tolerated] == [
        f"/epcisBody/eventList/3/sensorElementList/0/sensorReport/{i}/value"
        for i in range(len(texts))
    ]
    assert {t.event for t in tolerated} == {3}
    assert fixed is not event
    assert fixed["epcList"] is event["epcList"]


def test_lenient_cbv1_urns_of_every_vocabulary() -> None:
    event = _event(
        bizStep="urn:epcglobal:cbv:bizstep:shipping",
        disposition="urn:epcglobal:cbv:disp:in_transit",
        persistentDisposition={"set": ["urn:epcglobal:cbv:disp:completeness_verified"]},
        bizTransactionList=[{"type": "urn:epcglobal:cbv:btt:po", "bizTransaction": "urn:x:po:1"}],
        sourceList=[{"type": "urn:epcglobal:cbv:sdt:owning_party", "source": "urn:x:party:1"}],
        destinationList=[{"type": "urn:epcglobal:cbv:sdt:location", "destination": "urn:x:l:1"}],
        errorDeclaration={
            "declarationTime": "2024-03-02T10:00:00Z",
            "reason": "urn:epcglobal:cbv:er:incorrect_data",
        },
    )
    document = _document(event)
    urns = _tolerated_kinds(strict_findings(document))
    assert len(urns) == 7
    fixed, tolerated = _assert_normalised(document)
    assert {t.pointer for t in tolerated} == urns
    assert strict_findings(fixed) == []
    fixed_event = fixed["epcisBody"]["eventList"][0]
    assert fixed_event["bizStep"] == "shipping"
    assert fixed_event["persistentDisposition"] == {"set": ["completeness_verified"]}
    assert fixed_event["errorDeclaration"]["reason"] == "incorrect_data"


def test_event_index_and_required_findings() -> None:
    bad = {k: v for k, v in _event(bizStep="shipped").items() if k != "action"}
    findings = strict_findings(_document(_event(), bad))
    assert [(f.pointer, f.rule, f.event) for f in findings] == [
        ("/epcisBody/eventList/1", "required", 1),
        ("/epcisBody/eventList/1/bizStep", "enum", 1),
    ]
    assert findings[0].message == "ObjectEvent requires 'action'"
    assert findings[1].message.endswith("did you mean 'shipping'?")


def _without(event: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in keys}


_READ_POINT = {"id": "urn:epc:id:sgln:0614141.00777.0"}
_SENSORS = [{"sensorReport": [{"type": "Temperature", "value": 26.0, "uom": "CEL"}]}]
_CHILD = {"parentID": "urn:epc:id:sscc:0614141.1234567890", "childEPCs": ["urn:x:1"]}
EDGE_CASES: dict[str, tuple[Any, set[tuple[str, str]]]] = {
    # an event without type: every event type's branch applies; we name the cause
    "untyped event": (
        _document(_without(_event(bizStep="shipped", epcList=["a b"]), "type")),
        {("/epcisBody/eventList/0", "required"), ("/epcisBody/eventList/0/bizStep", "enum"),
         ("/epcisBody/eventList/0/epcList/0", "format.uri")},
    ),
    "untyped document": (
        _without(_document(_event()), "type"),
        {("", "required")},
    ),
    "lone event": (_event(), {("", "required")}),  # outside a document it needs @context
    "lone event with context": ({"@context": "https://example.org/c", **_event()}, set()),
    "master data document": (
        {"@context": "https://example.org/c", "type": "EPCISMasterDataDocument"},
        {("", "required"), ("/type", "enum")},
    ),
    "extension event type": (
        _document(_event(type="https://example.org/MyEvent", bizStep=5, anything="goes")),
        set(),
    ),
    "event type not a URI": (
        _document(_event(type="Objectevent")),
        {("/epcisBody/eventList/0/type", "enum")},
    ),
    "event type not a string": (
        _document(_event(type=7)),
        {("/epcisBody/eventList/0/type", "type")},
    ),
    "event not an object": (_document("ObjectEvent"), {("/epcisBody/eventList/0", "type")}),
    "transformation with action": (
        _document(_event(type="TransformationEvent", inputEPCList=["urn:x:1"],
                         outputEPCList=["urn:x:2"])),
        {("/epcisBody/eventList/0/action", "propertyNames"),
         ("/epcisBody/eventList/0/epcList", "propertyNames")},
    ),
    "transformation with transformationID and inputs only": (
        _document(_without(_event(type="TransformationEvent", inputEPCList=["urn:x:1"],
                                  transformationID="urn:x:t"), "action", "epcList")),
        set(),
    ),
    "transformation with inputs only": (
        _document(_without(_event(type="TransformationEvent", inputEPCList=["urn:x:1"]),
                           "action", "epcList")),
        {("/epcisBody/eventList/0", "anyOf")},
    ),
    "aggregation DELETE without children": (
        _document(_without(_event(type="AggregationEvent", action="DELETE"), "epcList")),
        set(),
    ),
    "aggregation ADD without children": (
        _document(_without(_event(type="AggregationEvent", action="ADD", childEPCs=[]),
                           "epcList")),
        {("/epcisBody/eventList/0", "anyOf")},
    ),
    "association needs parentID": (
        _document(_without(_event(type="AssociationEvent", **_CHILD), "epcList", "parentID")),
        {("/epcisBody/eventList/0", "required")},
    ),
    "transaction with empty epcList": (
        _document(_event(type="TransactionEvent", epcList=[],
                         bizTransactionList=[{"bizTransaction": "urn:x:po:1"}])),
        set(),
    ),
    "transaction with empty bizTransactionList": (
        _document(_event(type="TransactionEvent", bizTransactionList=[])),
        {("/epcisBody/eventList/0/bizTransactionList", "minItems")},
    ),
    "object event about sensors needs readPoint": (
        _document(_without(_event(sensorElementList=_SENSORS), "epcList")),
        {("/epcisBody/eventList/0", "anyOf")},
    ),
    "object event about sensors at a readPoint": (
        _document(_without(_event(sensorElementList=_SENSORS, readPoint=_READ_POINT),
                           "epcList")),
        set(),
    ),
    "object event with empty epcList": (_document(_event(epcList=[])), set()),
    "duplicate EPCs": (
        _document(_event(epcList=["urn:x:1", "urn:x:2", "urn:x:1"])),
        {("/epcisBody/eventList/0/epcList/2", "uniqueItems")},
    ),
    "persistentDisposition without set or unset": (
        _document(_event(persistentDisposition={})),
        {("/epcisBody/eventList/0/persistentDisposition", "anyOf")},
    ),
    "persistentDisposition with empty set": (
        _document(_event(persistentDisposition={"set": [], "x": 1})),
        {("/epcisBody/eventList/0/persistentDisposition/set", "minItems"),
         ("/epcisBody/eventList/0/persistentDisposition/x", "additionalProperties")},
    ),
    "ilmd with DELETE": (
        _document(_event(action="DELETE", ilmd={"ex:lot": "1", "lot": "2"})),
        {("/epcisBody/eventList/0/ilmd", "not"), ("/epcisBody/eventList/0/ilmd/lot",
                                                  "propertyNames")},
    ),
    "GS1 Web Vocabulary measurement type": (
        _document(_event(readPoint=_READ_POINT, sensorElementList=[
            {"sensorReport": [{"type": "https://gs1.org/voc/Temperature", "value": 1}]}])),
        {("/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/type", "enum")},
    ),
    "CBV URN as a measurement type is just another URI": (
        _document(_event(readPoint=_READ_POINT, sensorElementList=[
            {"sensorReport": [{"type": "urn:epcglobal:cbv:x", "value": 1}]}])),
        set(),
    ),
    "query document": (
        {"@context": "https://example.org/c", "type": "EPCISQueryDocument",
         "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery",
                                        "resultsBody": {"eventList": [_event(action="ADDED")],
                                                        "extra": 1}}}},
        {("/epcisBody/queryResults/resultsBody/eventList/0/action", "enum"),
         ("/epcisBody/queryResults/resultsBody/extra", "propertyNames")},
    ),
    "query document without queryResults": (
        {"@context": "https://example.org/c", "type": "EPCISQueryDocument",
         "epcisBody": {"eventList": []}},
        {("/epcisBody", "required"), ("/epcisBody/eventList", "propertyNames")},
    ),
    "context forms": (
        {**_document(_event(**{"@context": ["https://example.org/c", {"ex": "urn:x:"}, 5]})),
         "@context": ["https://example.org/c", "https://example.org/c"]},
        {("/@context/1", "uniqueItems"), ("/epcisBody/eventList/0/@context/2", "type")},
    ),
    "master data in the header": (
        {**_document(_event()), "epcisHeader": {"epcisMasterData": {"vocabularyList": [
            {"type": "urn:epcglobal:epcis:vtype:BusinessLocation", "vocabularyElementList": [
                {"id": "urn:x:loc", "attributes": [{"id": "urn:x:a", "attribute": True}],
                 "children": ["not a uri"]}]}]}}},
        {("/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0/attributes/0"
          "/attribute", "type"),
         ("/epcisHeader/epcisMasterData/vocabularyList/0/vocabularyElementList/0/children/0",
          "format.uri")},
    ),
}  # fmt: skip


@pytest.mark.refdata
@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_cases(case: str) -> None:
    document, expected = EDGE_CASES[case]
    assert _pairs(strict_findings(document)) == expected
    assert _mismatches(document) == []
