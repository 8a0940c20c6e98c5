"""The oracle of the strict validation tests: GS1's official JSON schema, through jsonschema.

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
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT7

from conftest import need_refdata
from ionledger.epcis.strict import Finding, strict_findings

# --- format checkers of the oracles ---------------------------------------------------------

# rfc3339-validator 0.1.x, as jsonschema's "date-time" calls it (on instance.upper()).
_RFC3339 = re.compile(
    r"""^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0123]):(?:[0-5]\d):(?:[0-5]\d)(?:\.\d+)?
    (?:Z|[+-](?:[01]\d|2[0123]):[0-5]\d)$""",
    re.VERBOSE | re.ASCII,
)


def rfc3339(text: str) -> bool:
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
RFC3986 = re.compile(
    rf"^[a-zA-Z][a-zA-Z0-9+.-]*:(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"
    rf"|{_PCHAR}+(?:/{_PCHAR}*)*|)(?:\?{_QUERY})?(?:\#{_QUERY})?$"
)
# ajv-formats 2.x "full": the same URI grammar, except that "/" alone may introduce an
# authority and the path may not be empty; case-insensitive.
AJV_URI = re.compile(
    rf"[a-z][a-z0-9+\-.]*:(?:/?/{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"
    rf"|{_PCHAR}+(?:/{_PCHAR}*)*)(?:\?{_QUERY})?(?:#{_QUERY})?",
    re.IGNORECASE | re.ASCII,
)
_AJV_DATE = re.compile(r"(\d\d\d\d)-(\d\d)-(\d\d)", re.ASCII)
_AJV_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)(\.\d+)?(z|[+-]\d\d(?::?\d\d)?)?", re.I | re.ASCII)


def ajv_date_time(text: str) -> bool:
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
    "jsonschema": _checker(rfc3339, lambda v: RFC3986.match(v) is not None),
    "ajv-formats": _checker(ajv_date_time, lambda v: AJV_URI.fullmatch(v) is not None),
}

# --- the official schema --------------------------------------------------------------------


@cache
def gs1() -> Path:
    return need_refdata("epcis", "gs1")


@cache
def official_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((gs1() / "EPCIS-JSON-Schema.json").read_text())
    return schema


def _refuse(uri: str) -> Any:
    raise LookupError(f"{uri} is not a local schema; nothing is fetched")


@cache
def _registry() -> Registry[Any]:
    """The modular schema files by their $id, so that every $ref resolves locally."""
    resources = []
    for path in sorted((gs1() / "JSON-Schema").rglob("*.json")):
        if "test" not in path.parts:
            contents = json.loads(path.read_text())
            resources.append((contents["$id"], DRAFT7.create_resource(contents)))
    return Registry(retrieve=_refuse).with_resources(resources)


@cache
def validator(oracle: str = "jsonschema", modular: bool = False) -> Any:
    schema = official_schema()
    if modular:
        schema = json.loads((gs1() / "JSON-Schema" / "EPCIS-JSON-Schema-root.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft7Validator  # "$schema": draft-07
    cls.check_schema(schema)
    return cls(schema, registry=_registry(), format_checker=ORACLES[oracle])


def official(document: Any, oracle: str = "jsonschema") -> list[Any]:
    return list(validator(oracle).iter_errors(document))


def pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def resolve(document: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def inside(pointer: str, outer: str) -> bool:
    return pointer == outer or pointer.startswith(outer + "/")


def _untyped(finding: Finding, document: Any) -> bool:
    """A finding that the object at its pointer lacks ``type`` (see the module docstring)."""
    return finding.rule == "required" and "type" not in resolve(document, finding.pointer)


def mismatches(document: Any, oracle: str = "jsonschema") -> list[str]:
    """How strict and the official schema disagree on ``document``; empty when they agree."""
    errors = official(document, oracle)
    findings = strict_findings(document)
    problems = []
    if bool(errors) != bool(findings):
        problems.append(f"official: {len(errors)} errors, strict: {len(findings)} findings")
    where = [pointer(e.absolute_path) for e in errors]
    for error, location in zip(errors, where, strict=True):
        if not any(
            inside(f.pointer, location) or (_untyped(f, document) and inside(location, f.pointer))
            for f in findings
        ):
            problems.append(f"not covered: {location or '/'} {error.validator}: {error.message}")
    for f in findings:
        if not any(inside(f.pointer, location) for location in where):
            problems.append(f"not an official error: {f}")
    return problems


# --- the corpus and its documents -------------------------------------------------------------


def documents(*parts: str) -> list[Path]:
    folder = need_refdata(*parts)
    return sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".jsonld"))


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


SIMPLE = ("gs1", "JSON-simple-context")
BATTERY = ("epcis", "openepcis-battery", "epcis")


def battery_documents() -> list[Path]:
    return documents(*BATTERY)


def pairs(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.pointer, f.rule) for f in findings}


# --- walking a document -----------------------------------------------------------------------

JsonPath = tuple[str | int, ...]
# The members the schema types as numbers ("decimal").
NUMBER_KEYS = {"quantity", "value", "minValue", "maxValue", "meanValue", "sDev", "percRank",
               "percValue"}  # fmt: skip


def nodes(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    yield path, value
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, member in items:
            yield from nodes(member, (*path, key))


def member_name(path: JsonPath) -> str | int:
    """The member name a value is under (for list items, the list's name)."""
    named = [p for p in path if isinstance(p, str)]
    return named[-1] if named else ""


# --- small documents --------------------------------------------------------------------------


def object_event(**members: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
        **members,
    }


def epcis_document(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }
