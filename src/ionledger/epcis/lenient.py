"""Lenient reading of EPCIS 2.0 JSON: normalise the safe, unambiguous deviations, and say so.

Partners' documents deviate from GS1's schema in a few recurring ways that lose nothing when
read back (see ``strict``): numbers sent as strings (``"value": "94.2"``), CBV 1.x URNs where
CBV 2.0 wants the bare term (``urn:epcglobal:cbv:btt:po`` for ``po``), a lone object where a
list is expected, and ``schemaVersion`` sent as a number or left out. :func:`normalise_document`
and :func:`normalise_event` rewrite exactly those and record one :class:`Tolerated` per change.

Nothing is invented or dropped: a string that is not a JSON number stays a string, a URN whose
suffix is not a CBV term stays a URN, and :func:`strict.strict_findings` still reports whatever
is left. The input is never mutated; the result shares every unchanged subtree with it.
Normalising a normalised document changes nothing more.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ionledger.epcis.strict import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    DISPOSITION,
    ERROR_REASON,
    SENSOR_REPORT_DECIMALS,
    SOURCE_DEST_TYPE,
    Vocabulary,
)

__all__ = ["SCHEMA_VERSION", "Tolerated", "normalise_document", "normalise_event"]

SCHEMA_VERSION: Final = "2.0"  # assumed when an EPCISDocument names none


@dataclass(frozen=True, slots=True)
class Tolerated:
    """One deviation that was normalised (a warning, not an error)."""

    pointer: str  # JSON pointer of the changed value, in the input document
    rule: str  # number-as-string, cbv1-urn, single-as-list, schemaVersion-number, ...
    message: str  # what was given and how it was read
    event: int | None  # index of the event in its eventList; None for document level


class _Notes:
    __slots__ = ("event", "items")

    def __init__(self, event: int | None = None) -> None:
        self.event = event
        self.items: list[Tolerated] = []

    def add(self, pointer: str, rule: str, message: str) -> None:
        self.items.append(Tolerated(pointer, rule, message, self.event))


# A fix returns its input itself when it changes nothing (so unchanged subtrees are shared).
Fix = Callable[[Any, str, _Notes], Any]

# RFC 8259 number grammar: exactly what a JSON parser would have read had the quotes been absent.
_JSON_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_VERSION: Final = re.compile(r"[0-9]+(?:\.[0-9]+)*")  # the schema's "version"


def _child(ptr: str, key: str) -> str:
    return f"{ptr}/{key.replace('~', '~0').replace('/', '~1')}"


def _numeric(label: str) -> Fix:
    """A "decimal" member given as a string holding a JSON number -> that number."""

    def fix(value: Any, ptr: str, notes: _Notes) -> Any:
        if not isinstance(value, str) or (match := _JSON_NUMBER.fullmatch(value)) is None:
            return value
        number: int | float = float(value) if match[1] or match[2] else int(value)
        if not math.isfinite(number):  # "1e999": no JSON number either
            return value
        notes.add(
            ptr,
            "number-as-string",
            f"{label} {value!r} given as a string; read as the number {number!r}",
        )
        return number

    return fix


def _cbv1(vocab: Vocabulary) -> Fix:
    """A CBV 1.x URN (``urn:epcglobal:cbv:bizstep:shipping``) -> its CBV 2.0 bare term."""
    prefix = vocab.cbv1_urn or ""

    def fix(value: Any, ptr: str, notes: _Notes) -> Any:
        if not (prefix and isinstance(value, str) and value.startswith(prefix)):
            return value
        term = value[len(prefix) :]
        if term not in vocab.terms:  # an unknown suffix: not ours to guess
            return value
        notes.add(
            ptr,
            "cbv1-urn",
            f"{vocab.name} {value!r} is a CBV 1.x URN; read as the CBV 2.0 term {term!r}",
        )
        return term

    return fix


def _as_list(label: str, item: type) -> Fix:
    """A lone item where the schema wants a list of them -> a list of one."""

    def fix(value: Any, ptr: str, notes: _Notes) -> Any:
        if not isinstance(value, item):
            return value
        kind = "object" if item is dict else "string"
        notes.add(ptr, "single-as-list", f"{label} given as a single {kind}; read as a list of one")
        return [value]

    return fix


def _each(fix: Fix) -> Fix:
    def apply(value: Any, ptr: str, notes: _Notes) -> Any:
        if not isinstance(value, list):
            return value
        new = [fix(item, f"{ptr}/{i}", notes) for i, item in enumerate(value)]
        return value if all(a is b for a, b in zip(new, value, strict=True)) else new

    return apply


def _members(fixes: Mapping[str, Fix]) -> Fix:
    def apply(value: Any, ptr: str, notes: _Notes) -> Any:
        if not isinstance(value, dict):
            return value
        changed = {}
        for key, member in value.items():
            fix = fixes.get(key)
            if fix is not None and (new := fix(member, _child(ptr, key), notes)) is not member:
                changed[key] = new
        return {**value, **changed} if changed else value

    return apply


def _chain(*fixes: Fix) -> Fix:
    def apply(value: Any, ptr: str, notes: _Notes) -> Any:
        for fix in fixes:
            value = fix(value, ptr, notes)
        return value

    return apply


def _object_list(label: str, item: Fix) -> Fix:
    return _chain(_as_list(label, dict), _each(item))


_quantities = _members({"quantity": _numeric("quantity")})  # "quantityElement"
_sensor_report = _members({key: _numeric(f"sensorReport {key}") for key in SENSOR_REPORT_DECIMALS})
_dispositions = _each(_cbv1(DISPOSITION))

# What is normalised, member by member of an event (the same names in every event type).
_EVENT_FIXES: Final[dict[str, Fix]] = {
    **{
        key: _as_list(key, str) for key in ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
    },
    **{
        key: _object_list(key, _quantities)
        for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
    },
    "bizStep": _cbv1(BIZ_STEP),
    "disposition": _cbv1(DISPOSITION),
    "persistentDisposition": _members({"set": _dispositions, "unset": _dispositions}),
    "bizTransactionList": _object_list(
        "bizTransactionList", _members({"type": _cbv1(BIZ_TRANSACTION_TYPE)})
    ),
    "sourceList": _object_list("sourceList", _members({"type": _cbv1(SOURCE_DEST_TYPE)})),
    "destinationList": _object_list("destinationList", _members({"type": _cbv1(SOURCE_DEST_TYPE)})),
    "sensorElementList": _object_list(
        "sensorElementList",
        _members({"sensorReport": _object_list("sensorReport", _sensor_report)}),
    ),
    "errorDeclaration": _members({"reason": _cbv1(ERROR_REASON)}),
}
_fix_event = _members(_EVENT_FIXES)


def normalise_event(
    event: dict[str, Any], index: int | None = None, pointer: str = ""
) -> tuple[dict[str, Any], list[Tolerated]]:
    """``event`` with its safe deviations normalised, and what was tolerated.

    ``index`` (the event's place in its eventList) and ``pointer`` (where the event sits in its
    document) only label the :class:`Tolerated` records. Returns a new dict.
    """
    notes = _Notes(index)
    fixed = _fix_event(event, pointer, notes)
    return (dict(event) if fixed is event else fixed), notes.items


def _events(value: Any, ptr: str, notes: _Notes) -> Any:  # "eventList"
    if not isinstance(value, list):
        return value
    new = []
    for i, event in enumerate(value):
        notes.event = i
        new.append(_fix_event(event, f"{ptr}/{i}", notes))
    notes.event = None
    return value if all(a is b for a, b in zip(new, value, strict=True)) else new


_BODIES: Final[dict[str, Fix]] = {
    "EPCISDocument": _members({"epcisBody": _members({"eventList": _events})}),
    "EPCISQueryDocument": _members(
        {
            "epcisBody": _members(
                {"queryResults": _members({"resultsBody": _members({"eventList": _events})})}
            )
        }
    ),
}


def _schema_version(document: dict[str, Any], notes: _Notes) -> None:
    """A numeric schemaVersion -> its JSON text; a missing one (EPCISDocument) -> "2.0"."""
    version = document.get("schemaVersion")
    if "schemaVersion" not in document:
        if document.get("type") == "EPCISDocument":  # required there, optional in query results
            document["schemaVersion"] = SCHEMA_VERSION
            notes.add(
                "",
                "schemaVersion-missing",
                f"schemaVersion missing; assumed {SCHEMA_VERSION!r}, the version of this schema",
            )
    elif isinstance(version, int | float) and not isinstance(version, bool):
        text = json.dumps(version)
        if _VERSION.fullmatch(text):
            document["schemaVersion"] = text
            notes.add(
                "/schemaVersion",
                "schemaVersion-number",
                f"schemaVersion {text} given as a number; read as the string {text!r}",
            )


def normalise_document(document: dict[str, Any]) -> tuple[dict[str, Any], list[Tolerated]]:
    """``document`` with its safe deviations normalised, and what was tolerated, in document
    order (document level first). Returns a new dict; the input is left as it was."""
    notes = _Notes()
    fixed = dict(document)
    kind = fixed.get("type")
    if isinstance(kind, str) and kind in _BODIES:
        _schema_version(fixed, notes)
        fixed = _BODIES[kind](fixed, "", notes)
    elif "epcisBody" not in fixed:  # a lone event at the top, as the schema's root admits
        fixed = _fix_event(fixed, "", notes)
    return fixed, notes.items
