"""EPCIS 2.0 JSON event codec: bytes <-> :data:`~ionledger.epcis.model.Event`, extensions kept.

Decoding is the capture hot path. The model's structs forbid unknown keys, so:

- fast path: one strict typed msgspec decode. It succeeds for every event without extension
  fields other than the project's own ``ion:reportedBy`` / ``ion:province`` (which the model
  declares), i.e. for nearly every event ionledger sees;
- slow path, when the decode meets an unknown key: a ``dict[str, Raw]`` scan of the event and of
  each nested object where the schema allows extensions (readPoint, bizLocation,
  errorDeclaration, sensorElement, sensorMetadata, sensorReport) takes the extension fields out,
  the rest is decoded strictly, and the extensions are attached verbatim. An unknown key in an
  object the schema closes stays in, and is reported as an error.

Encoding emits the standard fields in model order, then each object's extensions, with their
original bytes. Key order within an object and insignificant whitespace outside extension values
are not preserved; everything else round-trips exactly.
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

import msgspec

from ionledger.epcis.checks import MAX_EVENT_BYTES
from ionledger.epcis.model import (
    EVENT_CLASSES,
    EVENT_TYPES,
    EXTENSIONS_KEY,
    BizLocation,
    ErrorDeclaration,
    Event,
    Extensible,
    ReadPoint,
    SensorElement,
    SensorMetadata,
    SensorReport,
    json_fields,
    json_keys,
)
from ionledger.errors import InvalidEvent

__all__ = ["decode_event", "encode_event", "event_to_dict"]

_EVENT_DECODER: Final[msgspec.json.Decoder[Event]] = msgspec.json.Decoder(Event)
_KEYS_DECODER: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_KEYS_LIST_DECODER: Final = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])
_ENCODER: Final = msgspec.json.Encoder()
_TAG_DECODER: Final = msgspec.json.Decoder(str)
_CLASS_BY_TAG: Final = {cls.__name__: cls for cls in EVENT_CLASSES}
_UNKNOWN_KEY: Final = "Object contains unknown field"
_EXTENSIONS_AT: Final = f".{EXTENSIONS_KEY}`"

_Nested = tuple[tuple[str, type[Extensible], bool], ...]  # (attribute, class, holds a list)
_EVENT_NESTED: Final[_Nested] = (
    ("read_point", ReadPoint, False),
    ("biz_location", BizLocation, False),
    ("error_declaration", ErrorDeclaration, False),
    ("sensor_element_list", SensorElement, True),
)
_NESTED: Final[dict[type[Extensible], _Nested]] = {
    ReadPoint: (),
    BizLocation: (),
    ErrorDeclaration: (),
    SensorMetadata: (),
    SensorReport: (),
    SensorElement: (
        ("sensor_metadata", SensorMetadata, False),
        ("sensor_report", SensorReport, True),
    ),
    **dict.fromkeys(EVENT_CLASSES, _EVENT_NESTED),
}


class _Layout(msgspec.Struct, frozen=True):
    """Per-class field table, computed once: what the slow path and the encoder need."""

    tag: str | None
    known: frozenset[str]  # JSON keys the class declares; any other key is an extension
    fields: tuple[tuple[str, str, bool], ...]  # (attribute, JSON key, holds extensible objects)
    nested: tuple[tuple[str, str, type[Extensible], bool], ...]  # (attr, key, class, is a list)


def _layout(cls: type[Extensible], nested: _Nested) -> _Layout:
    inner = {attr: (sub, many) for attr, sub, many in nested}
    fields = json_fields(cls)
    tag = cls.__struct_config__.tag
    return _Layout(
        tag=tag if isinstance(tag, str) else None,
        known=json_keys(cls),
        fields=tuple((attr, key, attr in inner) for attr, key in fields),
        nested=tuple((attr, key, *inner[attr]) for attr, key in fields if attr in inner),
    )


_LAYOUTS: Final = {cls: _layout(cls, nested) for cls, nested in _NESTED.items()}


# --- decode -----------------------------------------------------------------------------


def decode_event(raw: bytes, index: int) -> Event:
    """Decode one EPCIS 2.0 JSON event; ``index`` is its position in the document (for errors).

    Raises :class:`InvalidEvent` naming the field path (``epcList[3]``,
    ``sensorElementList[0].sensorReport[1].value``) and a readable reason.
    """
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(
            f"event is {len(raw):,} bytes; the limit is {MAX_EVENT_BYTES:,}", index=index
        )
    try:
        return _EVENT_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        if not _is_extension(str(exc)):
            raise _translate(str(exc), index) from None
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"malformed JSON: {exc}", index=index) from None
    return _decode_extended(raw, index)


def _is_extension(message: str) -> bool:
    """Whether a strict decode failed on an extension field (or an "@extensions" key, which
    the model makes undecodable) rather than on a real error."""
    return message.startswith(_UNKNOWN_KEY) or message.endswith(_EXTENSIONS_AT)


def _strict(raw: bytes, index: int) -> Event:
    try:
        return _EVENT_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        raise _translate(str(exc), index) from None


def _decode_extended(raw: bytes, index: int) -> Event:
    """Slow path: take the extension fields out, decode the rest, put them back."""
    try:  # the strict decode stopped at the first unknown key: the rest is unread
        members = _KEYS_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"malformed JSON: {exc}", index=index) from None
    try:
        cls = _CLASS_BY_TAG[_TAG_DECODER.decode(members["type"])]
    except (KeyError, msgspec.ValidationError):
        return _strict(raw, index)  # (it fails:) the tag's problem is reported
    # Most often the extensions are at event level only: one filter, no recursion.
    known = _LAYOUTS[cls].known
    try:
        event = _EVENT_DECODER.decode(
            _ENCODER.encode({k: v for k, v in members.items() if k in known})
        )
        found = _Found({k: v.copy() for k, v in members.items() if k not in known}, {})
    except msgspec.ValidationError as exc:
        if not _is_extension(str(exc)):
            raise _translate(str(exc), index) from None
        stripped, found_below = _strip(cls, members)
        event = _strict(_ENCODER.encode(stripped), index)
        if found_below is None:  # an unknown key in a closed object: _strict raised it
            return event
        found = found_below
    _attach(event, found)
    return event


class _Found(NamedTuple):
    """The extension fields of one object (``own``) and of the objects nested in it."""

    own: dict[str, msgspec.Raw]
    inner: dict[str, _Found | list[_Found | None]]  # by attribute, where any were found


def _strip(
    cls: type[Extensible], members: dict[str, msgspec.Raw]
) -> tuple[dict[str, msgspec.Raw], _Found | None]:
    """``members`` without the keys ``cls`` does not declare (recursively), and what those were."""
    layout = _LAYOUTS[cls]
    out = {key: value for key, value in members.items() if key in layout.known}
    # copy(): do not pin the whole document in memory through a view into it
    own = {key: value.copy() for key, value in members.items() if key not in layout.known}
    inner: dict[str, _Found | list[_Found | None]] = {}
    for attr, key, sub, many in layout.nested:
        value = out.get(key)
        if value is None:
            continue
        try:
            if many:
                parts = [_strip(sub, item) for item in _KEYS_LIST_DECODER.decode(value)]
                if any(found is not None for _, found in parts):
                    out[key] = msgspec.Raw(_ENCODER.encode([part for part, _ in parts]))
                    inner[attr] = [found for _, found in parts]
            else:
                part, found = _strip(sub, _KEYS_DECODER.decode(value))
                if found is not None:
                    out[key] = msgspec.Raw(_ENCODER.encode(part))
                    inner[attr] = found
        except msgspec.ValidationError:
            pass  # not an object (or a list of them): the strict decode reports it
    return out, (_Found(own, inner) if own or inner else None)


def _attach(obj: Extensible, found: _Found) -> None:
    if found.own:
        msgspec.structs.force_setattr(obj, "extensions", found.own)
    for attr, below in found.inner.items():
        child = getattr(obj, attr)
        if isinstance(below, list):
            for item, item_found in zip(child, below, strict=True):
                if item_found is not None:
                    _attach(item, item_found)
        else:
            _attach(child, below)


# msgspec messages look like "Expected `str | null`, got `int` - at `$.epcList[3]`".
_MESSAGE: Final = re.compile(r"(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?", re.DOTALL)
_EXPECTED: Final = re.compile(r"Expected `(?P<want>[^`]+)`(?:, got `(?P<got>[^`]+)`)?")
_MISSING: Final = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN: Final = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")
_INVALID: Final = re.compile(r"Invalid value (?P<value>.*)")
_KIND: Final = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "null": "null",
    "object": "an object",
    "array": "an array",
}


def _kinds(spec: str) -> str:
    parts = [p.strip() for p in spec.split("|")]
    if "int" in parts and "float" in parts:  # int | float is how the model spells "a number"
        parts.remove("int")
    if len(parts) > 1 and "null" in parts:  # null only means "optional" here
        parts.remove("null")
    return " or ".join(_KIND.get(p, p) for p in parts)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _translate(message: str, index: int) -> InvalidEvent:
    """Turn a msgspec validation message into an InvalidEvent with a field path and a reason."""
    match = _MESSAGE.fullmatch(message)
    what = match["what"] if match else message
    path = (match["path"] or "").lstrip(".") if match else ""
    if m := _MISSING.fullmatch(what):
        if not path and m["name"] == "type":
            return InvalidEvent(
                f"missing event type; expected one of {', '.join(EVENT_TYPES)}",
                index=index,
                field="type",
            )
        return InvalidEvent("required field is missing", index=index, field=_join(path, m["name"]))
    if m := _UNKNOWN.fullmatch(what):
        return InvalidEvent(
            "unknown field; the standard allows no extension fields in this object",
            index=index,
            field=_join(path, m["name"]),
        )
    if (m := _INVALID.fullmatch(what)) and path == "type":
        return InvalidEvent(
            f"unknown event type {m['value']}; expected one of {', '.join(EVENT_TYPES)}",
            index=index,
            field="type",
        )
    if m := _EXPECTED.fullmatch(what):
        reason = f"expected {_kinds(m['want'])}"
        if m["got"]:
            reason += f", got {_kinds(m['got'])}"
        return InvalidEvent(reason, index=index, field=path)
    return InvalidEvent(what[:1].lower() + what[1:], index=index, field=path)


# --- encode -----------------------------------------------------------------------------


def encode_event(event: Event) -> bytes:
    """Encode an event as compact JSON, extension fields merged back with their original bytes."""
    if _bare(event):  # nothing to merge: msgspec encodes the structs directly
        return _ENCODER.encode(event)
    return _ENCODER.encode(_plain(event))


def event_to_dict(event: Event) -> dict[str, Any]:
    """The event as plain JSON values (dicts, lists, str, numbers), extensions decoded."""
    result: dict[str, Any] = msgspec.json.decode(encode_event(event))
    return result


def _bare(obj: Extensible) -> bool:
    """Whether neither ``obj`` nor any object nested in it has extension fields."""
    if obj.extensions:
        return False
    for attr, _, _, many in _LAYOUTS[type(obj)].nested:
        child = getattr(obj, attr)
        if child is not None and not (all(map(_bare, child)) if many else _bare(child)):
            return False
    return True


def _plain(obj: Extensible) -> dict[str, Any]:
    layout = _LAYOUTS[type(obj)]
    out: dict[str, Any] = {}
    if layout.tag is not None:
        out["type"] = layout.tag
    for attr, key, extensible in layout.fields:
        value = getattr(obj, attr)
        if value is None:
            continue
        if extensible:  # through _plain too, to merge their extensions
            value = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
        out[key] = value
    # Extensions go last; a key equal to a standard field (only possible in events built in
    # code) would shadow it, which the checks report.
    out.update(obj.extensions)
    return out
