"""The building blocks of strict validation: findings, value checks and object shapes.

A check is a function ``(value, pointer, out)`` that adds a :class:`Finding` to ``out`` for
each way ``value`` breaks one of the schema's definitions ("uri", "time", a vocabulary, an
array of something, ...). A :class:`Shape` is one object definition of the schema: its members'
checks, the members it requires and which other members it admits. The tables built from these
(the events in :mod:`ionledger.epcis.strict_events`, the documents in
:mod:`ionledger.epcis.strict`) register their shapes in :data:`SHAPES`, which is complete once
:mod:`ionledger.epcis.strict` is imported.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from ionledger.epcis.strict_formats import date_time_problem, is_uri, show, uri_problem
from ionledger.epcis.vocabularies import ACTIONS, RESERVED_NAMESPACES, Vocabulary


@dataclass(frozen=True, slots=True)
class Finding:
    """One deviation from the official schema."""

    pointer: str  # RFC 6901 JSON pointer into the document
    rule: str  # stable rule id: type, required, enum, pattern, format.uri, ...
    message: str  # what was wrong and what the schema wants
    event: int | None  # index of the event in its eventList; None for document level


class Out:
    """Collects findings; knows which event of the eventList is being checked."""

    __slots__ = ("event", "findings", "seen")

    def __init__(self) -> None:
        self.event: int | None = None
        self.findings: list[Finding] = []
        self.seen: set[Finding] = set()

    def add(self, pointer: str, rule: str, message: str) -> None:
        finding = Finding(pointer, rule, message, self.event)
        if finding not in self.seen:  # an untyped event runs several branches' checks
            self.seen.add(finding)
            self.findings.append(finding)


Check = Callable[[Any, str, Out], None]
Rule = Callable[[dict[str, Any], str, Out], None]


# --- value checks ----------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_TESTS: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
_ARTICLES: Final = {"string": "a", "number": "a", "boolean": "a", "object": "an", "array": "an"}


def wrong_type(value: Any, wants: str, ptr: str, out: Out) -> None:
    out.add(ptr, "type", f"value {show(value)} is {_kind(value)}; the schema requires {wants}")


def typed(kind: str, value: Any, ptr: str, out: Out) -> bool:
    if _TYPE_TESTS[kind](value):
        return True
    wrong_type(value, f"{_ARTICLES[kind]} {kind}", ptr, out)
    return False


def ok(value: Any, ptr: str, out: Out) -> None:
    """A member whose value the dispatch on ``type`` has already settled."""


def string(value: Any, ptr: str, out: Out) -> None:  # "string"
    typed("string", value, ptr, out)


def number(value: Any, ptr: str, out: Out) -> None:  # "decimal"
    typed("number", value, ptr, out)


def boolean(value: Any, ptr: str, out: Out) -> None:  # "boolean"
    typed("boolean", value, ptr, out)


def uri(value: Any, ptr: str, out: Out) -> None:  # "uri", "id", "eventID", "vocab-uri"
    if typed("string", value, ptr, out) and not is_uri(value):
        out.add(ptr, "format.uri", uri_problem(value))


def time(value: Any, ptr: str, out: Out) -> None:  # "time"
    if typed("string", value, ptr, out) and (why := date_time_problem(value)) is not None:
        out.add(ptr, "format.date-time", why)


def _pattern(regex: str, wants: str) -> Check:
    compiled = re.compile(regex)

    def check(value: Any, ptr: str, out: Out) -> None:
        if typed("string", value, ptr, out) and compiled.fullmatch(value) is None:
            out.add(ptr, "pattern", f"{show(value)} is not {wants}")

    return check


version = _pattern(r"[0-9]+(?:\.[0-9]+)*", "a version number such as '2.0'")  # "version"
uom = _pattern(r"[A-Z0-9]{2,3}", "a UN/CEFACT Rec. 20 unit code (2-3 capitals or digits)")
hex_binary = _pattern(r"[A-Fa-f0-9]+", "hexadecimal (hexBinary)")
# "Event".eventTimeZoneOffset
tz_offset = _pattern(
    r"[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)", "a UTC offset ±HH:MM from -14:00 to +14:00"
)


def action(value: Any, ptr: str, out: Out) -> None:  # "action"
    if typed("string", value, ptr, out) and value not in ACTIONS:
        out.add(ptr, "enum", f"action {show(value)} is not one of {', '.join(ACTIONS)}")


def in_vocabulary(vocab: Vocabulary) -> Check:
    """anyOf [a URI outside ``vocab.reserved``, one of ``vocab.terms``]."""

    def check(value: Any, ptr: str, out: Out) -> None:
        if not isinstance(value, str):
            wrong_type(value, f"a string (a {vocab.name} term or a URI)", ptr, out)
        elif value not in vocab.terms and (vocab.reserved.match(value) or not is_uri(value)):
            out.add(ptr, "enum", _vocab_problem(vocab, value))

    return check


def _vocab_problem(vocab: Vocabulary, value: str) -> str:
    said = f"{vocab.name} {show(value)}"
    prefix = vocab.cbv1_urn
    if prefix and value.startswith(prefix) and value[len(prefix) :] in vocab.terms:
        term = value[len(prefix) :]
        return f"{said} is a CBV 1.x URN; the EPCIS 2.0 schema wants the bare CBV term '{term}'"
    if vocab.reserved.match(value):
        tail = re.split(r"[/:#-]", value)[-1]
        term = f" ('{tail}' here)" if tail in vocab.terms else ""
        reserved = RESERVED_NAMESPACES[vocab.reserved]
        return (
            f"{said} is in {reserved}, which the schema reserves; it wants the"
            f" bare {vocab.name} term{term} or a URI outside them"
        )
    guess = difflib.get_close_matches(value, vocab.terms, n=1)
    hint = f"; did you mean '{guess[0]}'?" if guess else ""
    return f"{said} is neither a {vocab.name} term of the schema nor a URI{hint}"


def array(item: Check, *, min_items: int = 0, unique: bool = False) -> Check:
    def check(value: Any, ptr: str, out: Out) -> None:
        if not typed("array", value, ptr, out):
            return
        if len(value) < min_items:
            out.add(
                ptr, "minItems", f"the array has {len(value)} items; the schema wants {min_items}+"
            )
        for i, member in enumerate(value):
            item(member, f"{ptr}/{i}", out)
        if unique:
            _unique(value, ptr, out)

    return check


def _json_key(value: Any) -> Any:
    """A hashable key equal for JSON-equal values (true is not 1; 1 is 1.0)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, list):
        return ("array", tuple(_json_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _json_key(v)) for k, v in value.items()))
    return ("value", value)


def _unique(items: list[Any], ptr: str, out: Out) -> None:  # uniqueItems
    first: dict[Any, int] = {}
    for i, member in enumerate(items):
        key = _json_key(member)
        if key in first:
            out.add(f"{ptr}/{i}", "uniqueItems", f"item {i} repeats item {first[key]}")
        else:
            first[key] = i


def context(value: Any, ptr: str, out: Out) -> None:  # "@context"
    if isinstance(value, str):
        uri(value, ptr, out)
    elif isinstance(value, list):
        for i, member in enumerate(value):
            if isinstance(member, str):
                uri(member, f"{ptr}/{i}", out)
            elif not isinstance(member, dict):
                wrong_type(member, "a URI or an object", f"{ptr}/{i}", out)
        _unique(value, ptr, out)
    elif not isinstance(value, dict):
        wrong_type(value, "a URI, an object or an array of them", ptr, out)


def certification_info(value: Any, ptr: str, out: Out) -> None:  # "certificationInfo"
    if isinstance(value, list):
        for i, member in enumerate(value):
            uri(member, f"{ptr}/{i}", out)
    elif isinstance(value, str):
        uri(value, ptr, out)
    else:
        wrong_type(value, "a URI or an array of URIs", ptr, out)


def attribute_value(value: Any, ptr: str, out: Out) -> None:  # "attribute".attribute
    if not (_is_number(value) or isinstance(value, str | dict)):
        wrong_type(value, "a number, a string or an object", ptr, out)


# --- objects ---------------------------------------------------------------------------------

Names = Literal["open", "closed", "extensible", "uris"]
_NAMES_WANTED: Final = {
    "closed": "admits no other members (additionalProperties: false)",
    "extensible": "admits other members only under URI names (such as 'ex:note')",
    "uris": "admits only members named by URIs",
}


@dataclass(frozen=True, slots=True)
class Shape:
    """A JSON object of the schema: its members' checks, required members, other members.

    ``names``: "open" admits any other member; "closed" none (``additionalProperties: false``);
    "extensible" only URI-named ones (``propertyNames``: the listed names or "vocab-uri");
    "uris" admits URI-named members only ("ilmd").
    """

    name: str
    fields: Mapping[str, Check]
    required: tuple[str, ...] = ()
    names: Names = "open"


def member_pointer(ptr: str, key: str) -> str:
    """The JSON pointer of member ``key`` of the object at ``ptr`` (RFC 6901 escapes)."""
    return f"{ptr}/{key.replace('~', '~0').replace('/', '~1')}"


def check_shape(shape: Shape, value: Any, ptr: str, out: Out) -> bool:
    if not isinstance(value, dict):
        wrong_type(value, f"an object ({shape.name})", ptr, out)
        return False
    for name in shape.required:
        if name not in value:
            out.add(ptr, "required", f"{shape.name} requires '{name}'")
    for key, member in value.items():
        child = member_pointer(ptr, key)
        check = shape.fields.get(key)
        if check is not None:
            check(member, child, out)
        elif shape.names == "closed":
            out.add(child, "additionalProperties", _names_message(shape, key))
        elif shape.names != "open" and not is_uri(key):
            out.add(child, "propertyNames", _names_message(shape, key))
    return True


def _names_message(shape: Shape, key: str) -> str:
    what = f"member {show(key)} is not a field of {shape.name}"
    if shape.names == "uris":
        what = f"member {show(key)} is not named by a URI"
    return f"{what}, which {_NAMES_WANTED[shape.names]}"


def object_of(shape: Shape) -> Check:
    def check(value: Any, ptr: str, out: Out) -> None:
        check_shape(shape, value, ptr, out)

    return check


def define_shape(name: str, fields: Mapping[str, Check], *required: str, names: Names) -> Shape:
    """A shape, registered in :data:`SHAPES` under its name."""
    shape = Shape(name, fields, required, names)
    SHAPES[name] = shape
    return shape


SHAPES: Final[dict[str, Shape]] = {}  # by the schema's definition name
