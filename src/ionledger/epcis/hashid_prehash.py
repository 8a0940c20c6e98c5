"""The CBV 2.0 hash ID's pre-hash string of one event: names, property order, rendering.

An event's fields go in the canonical property order (:data:`_EVENT`), each as ``key=value``
with its canonical text (:mod:`ionledger.epcis.hashid_canon`); list children are sorted as
whole strings; fields outside the order (user extensions, bizTransactionList, sourceList,
destinationList, ilmd, ...) are rendered as the reference implementation renders them and
sorted together after the ordered part. Extension keys are expanded to ``{namespace}localName``
through the document's (and the event's own) ``@context``: the :class:`Context`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ionledger.epcis.hashid_canon import (
    BadTime,
    biz_step,
    biz_transaction_type,
    component,
    disposition,
    measurement_type,
    plain,
    scalar_text,
    sensor_alert,
    source_destination_type,
    timestamp,
)
from ionledger.errors import InvalidEvent

__all__ = ["Context", "json_items", "prehash"]

# --- namespaces ------------------------------------------------------------------------------

# Prefixes the standard EPCIS 2.0 context defines; a document's own @context overrides them.
_STANDARD_PREFIXES: dict[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": "https://ref.gs1.org/cbv/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}


# Keys that are no content of their own (comments, a value object's text, a local context).
_NOT_CONTENT = frozenset({"comment", "rdfs:comment", "#text", "@value", "@context"})
_RDFS_COMMENT = "{http://www.w3.org/2000/01/rdf-schema#}comment"


def _namespaces(context: Any) -> dict[str, str]:
    """Prefix -> namespace from a JSON-LD @context (string, object or list of them)."""
    found = dict(_STANDARD_PREFIXES)
    for entry in context if isinstance(context, list) else (context,):
        if not isinstance(entry, dict):
            continue  # a remote context URL: its prefixes are the standard ones above
        for prefix, target in entry.items():
            if isinstance(target, dict):
                target = target.get("@id")
            if isinstance(target, str) and not prefix.startswith("@"):
                found[prefix] = target
    return found


class Context:
    """What one document's events share: prefixes, expanded names, fields to ignore."""

    __slots__ = ("ignore", "names", "prefixes")

    def __init__(self, context: Any, ignore: Iterable[str] = ()) -> None:
        self.prefixes = _namespaces(context)
        self.names: dict[str, str] = {}  # key -> expanded key, memoised per document
        self.ignore = frozenset(self.expand(name) for name in ignore)

    def within(self, context: Any) -> Context:
        """This context extended by an event's own @context."""
        inner = Context([self.prefixes, context])
        inner.ignore = self.ignore
        return inner

    def expand(self, key: str) -> str:
        """``example:field`` -> ``{https://ns.example.com/epcis/}field``; others unchanged."""
        name = self.names.get(key)
        if name is None:
            # An XML attribute read into the dict form ("@ns:name") hashes like a child element,
            # as the reference does; JSON-LD keywords ("@id", "@type", ...) are not attributes.
            bare = key[1:] if key.startswith("@") and ":" in key else key
            prefix, colon, local = bare.partition(":")
            namespace = self.prefixes.get(prefix) if colon else None
            # "https://..." is an absolute IRI, not a CURIE (JSON-LD 1.1, 4.2.2)
            name = key if namespace is None or local.startswith("//") else f"{{{namespace}}}{local}"
            self.names[key] = name
        return name


# --- the canonical property order ------------------------------------------------------------


class _Field(NamedTuple):
    """One place in the property order.

    ``item`` names each child when the JSON value is a list wrapped under ``key`` in XML
    (``epcList`` -> ``epc``); ``canon`` turns a scalar into its canonical text; ``shape`` is
    the order inside an object value (None: the value should be a scalar).
    """

    key: str
    canon: Callable[[str], str] = plain
    item: str | None = None
    shape: _Shape | None = None


class _Shape(NamedTuple):
    """The property order inside an object: key -> (position, field).

    Objects have far fewer keys than the order has places, so we walk the object's keys.
    """

    positions: dict[str, tuple[int, _Field]]
    size: int


def _shape(*fields: _Field, first: int = 0) -> _Shape:
    """``first``: the slot of the first field (the event's slots start after its type)."""
    return _Shape({f.key: (first + n, f) for n, f in enumerate(fields)}, len(fields))


_QUANTITY = _shape(_Field("epcClass"), _Field("quantity"), _Field("uom"))
_LOCATION = _shape(_Field("id"))
_SENSOR_METADATA = _shape(
    _Field("time", timestamp),
    _Field("startTime", timestamp),
    _Field("endTime", timestamp),
    _Field("deviceID"),
    _Field("deviceMetadata"),
    _Field("rawData"),
    _Field("dataProcessingMethod"),
    _Field("bizRules"),
)
_SENSOR_REPORT = _shape(
    _Field("type", measurement_type),
    _Field("exception", sensor_alert),
    _Field("deviceID"),
    _Field("deviceMetadata"),
    _Field("rawData"),
    _Field("dataProcessingMethod"),
    _Field("time", timestamp),
    _Field("microorganism"),
    _Field("chemicalSubstance"),
    _Field("value"),
    _Field("component", component),
    _Field("stringValue"),
    _Field("booleanValue"),
    _Field("hexBinaryValue"),
    _Field("uriValue"),
    _Field("minValue"),
    _Field("maxValue"),
    _Field("meanValue"),
    _Field("sDev"),
    _Field("percRank"),
    _Field("percValue"),
    _Field("uom"),
    _Field("coordinateReferenceSystem"),
)
_SENSOR_ELEMENT = _shape(
    _Field("sensorMetadata", shape=_SENSOR_METADATA),
    _Field("sensorReport", shape=_SENSOR_REPORT),
)
# certificationInfo is not in the CBV 2.0 table, but the reference (and so its oracle) hashes
# it right after eventTimeZoneOffset. epcList precedes parentID as in the CBV 2.0 table.
_EVENT = _shape(
    _Field("eventTime", timestamp),
    _Field("eventTimeZoneOffset"),
    _Field("certificationInfo"),
    _Field("epcList", item="epc"),
    _Field("parentID"),
    _Field("inputEPCList", item="epc"),
    _Field("childEPCs", item="epc"),
    _Field("quantityList", item="quantityElement", shape=_QUANTITY),
    _Field("childQuantityList", item="quantityElement", shape=_QUANTITY),
    _Field("inputQuantityList", item="quantityElement", shape=_QUANTITY),
    _Field("outputEPCList", item="epc"),
    _Field("outputQuantityList", item="quantityElement", shape=_QUANTITY),
    _Field("action"),
    _Field("transformationID"),
    _Field("bizStep", biz_step),
    _Field("disposition", disposition),
    _Field(
        "persistentDisposition",
        shape=_shape(_Field("set", disposition), _Field("unset", disposition)),
    ),
    _Field("readPoint", shape=_LOCATION),
    _Field("bizLocation", shape=_LOCATION),
    _Field("sensorElementList", item="sensorElement", shape=_SENSOR_ELEMENT),
    first=2,  # after "eventType=" and the type
)
_EVENT_SLOTS = ("",) * _EVENT.size
# Typed lists hashed with the extensions, after the ordered part: (item key, type vocabulary).
_TYPED_LISTS: dict[str, tuple[str, Callable[[str], str]]] = {
    "bizTransactionList": ("bizTransaction", biz_transaction_type),
    "sourceList": ("source", source_destination_type),
    "destinationList": ("destination", source_destination_type),
}
# "id" and "@id" are the eventID: the EPCIS context maps all three to @id. (The reference hashes
# an "id" key as a user field; it only knows the key "eventID".)
_NOT_HASHED = (
    frozenset({"type", "eventID", "id", "@id", "recordTime", "errorDeclaration"}) | _NOT_CONTENT
)


# --- rendering -------------------------------------------------------------------------------


def json_items(value: Any) -> list[Any] | tuple[Any, ...]:
    """A JSON value as a sequence of items (JSON-LD: a list and its elements mean the same)."""
    if type(value) is not list:
        return () if value is None else (value,)
    for item in value:
        if item is None or type(item) is list:  # rare: flatten nested lists, drop nulls
            return [leaf for item in value for leaf in json_items(item)]
    return value


def _is_skipped(key: str, ctx: Context) -> bool:
    return key in _NOT_CONTENT or ctx.expand(key) == _RDFS_COMMENT


def _generic(name: str, value: Any, ctx: Context) -> list[str]:
    """Fields outside the property order, as the reference renders them: one string per item,
    children sorted; a key ending in ``List`` wraps its items as in XML (``fooList`` > ``foo``).
    """
    if type(value) is str:
        canonical = plain(value)
        return [f"{name}={canonical}" if canonical else name]
    if isinstance(value, list):
        if name.endswith("List"):
            inner = sorted(s for item in json_items(value) for s in _generic(name[:-4], item, ctx))
            return [name + "".join(inner)] if inner else []
        return [s for item in json_items(value) for s in _generic(name, item, ctx)]
    if value is None:
        return []
    if isinstance(value, dict):
        text = value.get("#text", value.get("@value"))
        head = name
        if text is not None and (canonical := plain(scalar_text(text))):
            head += "=" + canonical
        children = sorted(
            s
            for key, child in value.items()
            if not _is_skipped(key, ctx)
            for s in _generic(ctx.expand(key), child, ctx)
        )
        return [head + "".join(children)]
    canonical = plain(scalar_text(value))
    return [f"{name}={canonical}" if canonical else name]


def _struct(obj: dict[str, Any], shape: _Shape, ctx: Context) -> tuple[str, list[str]]:
    """An object in the property order: its ordered fields, then its extensions sorted.

    Also returns what the order could not place (keys without a prefix it does not know),
    rendered as the reference does: they go to the event's tail under their path.
    """
    slots = [""] * shape.size
    extensions: list[str] = []
    leftovers: list[str] = []
    positions = shape.positions
    key = ""
    try:
        for key, value in obj.items():
            hit = positions.get(key)
            if hit is not None:
                slots[hit[0]], left = _field(hit[1], value, ctx)
                if left:
                    leftovers.extend(left)
            elif not _is_skipped(key, ctx):
                rendered = _generic(ctx.expand(key), value, ctx)
                (extensions if ":" in key else leftovers).extend(rendered)
    except BadTime as exc:
        raise BadTime(exc.reason, f".{key}{exc.path}") from None
    if extensions:
        extensions.sort()
        slots.extend(extensions)
    return "".join(slots), leftovers


def _field(field: _Field, value: Any, ctx: Context) -> tuple[str, list[str]]:
    """One field of the property order: its text and its left-over keys (rendered)."""
    name = field.item or field.key
    if type(value) is str and field.item is None:  # the common case: one plain value
        canonical = field.canon(value)
        return (f"{name}={canonical}" if canonical else ""), []
    texts: list[str] = []
    leftovers: list[str] = []
    items = json_items(value)
    n = 0
    try:
        for n, item in enumerate(items):  # noqa: B007 (n names the item in errors)
            if isinstance(item, dict):
                if field.shape is None:  # an object where a scalar belongs: reference's tail
                    leftovers.extend(_generic(name, item, ctx))
                    continue
                text, left = _struct(item, field.shape, ctx)
                if text:
                    texts.append(name + text)
                if left:
                    leftovers.append(name + "".join(sorted(left)))
            elif canonical := field.canon(item if type(item) is str else scalar_text(item)):
                texts.append(f"{name}={canonical}")
    except BadTime as exc:
        where = f"[{n}]" if isinstance(value, list) else ""
        raise BadTime(exc.reason, where + exc.path) from None
    if len(texts) > 1:
        texts.sort()
    if field.item is None:
        return "".join(texts), leftovers
    wrapped = [field.key + "".join(sorted(leftovers))] if leftovers else []
    return (field.key + "".join(texts) if texts else ""), wrapped


def _typed_list(key: str, value: Any, ctx: Context) -> list[str]:
    """bizTransactionList, sourceList, destinationList: ``type=...`` then the identifier."""
    item_key, vocabulary = _TYPED_LISTS[key]
    entries: list[str] = []
    for item in json_items(value):
        if not isinstance(item, dict):
            entries.extend(_generic(item_key, item, ctx))
            continue
        text = ""
        if (kind := item.get("type")) is not None:
            canonical = vocabulary(scalar_text(kind))
            text = f"type={canonical}" if canonical else "type"
        if (ident := item.get(item_key)) is not None:
            canonical = plain(scalar_text(ident))
            text += f"{item_key}={canonical}" if canonical else item_key
        others = sorted(
            s
            for k, v in item.items()
            if k not in ("type", item_key) and not _is_skipped(k, ctx)
            for s in _generic(ctx.expand(k), v, ctx)
        )
        entries.append(text + "".join(others))
    entries.sort()
    return [key + "".join(entries)] if entries else []


def prehash(event: Any, ctx: Context, index: int | None) -> str:
    if not isinstance(event, dict):
        raise InvalidEvent("an event must be a JSON object", index=index)
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type.strip():
        raise InvalidEvent("the event type is missing", index=index, field="type")
    event_time = event.get("eventTime")
    if not isinstance(event_time, str) or not event_time.strip():
        reason = "eventTime is missing" if event_time in (None, "") else "eventTime is not text"
        raise InvalidEvent(f"{reason}; the hash ID needs it", index=index, field="eventTime")
    if event.get("@context") is not None:  # an event may carry its own prefixes
        ctx = ctx.within(event["@context"])
    slots = ["eventType=", event_type, *_EVENT_SLOTS]
    tail: list[str] = []
    positions = _EVENT.positions
    ignore = ctx.ignore
    key = ""
    try:
        for key, value in event.items():
            if ignore and ctx.expand(key) in ignore:
                continue
            hit = positions.get(key)
            if hit is not None:
                position, field = hit
                if type(value) is str and field.item is None:  # inline the common case
                    if canonical := field.canon(value):
                        slots[position] = f"{key}={canonical}"
                else:
                    slots[position], left = _field(field, value, ctx)
                    if left:
                        tail.extend(left)
            elif key in _NOT_HASHED:
                continue
            elif key in _TYPED_LISTS:
                tail.extend(_typed_list(key, value, ctx))
            else:
                name = ctx.expand(key)
                if name != _RDFS_COMMENT:
                    tail.extend(_generic(name, value, ctx))
    except BadTime as exc:
        raise InvalidEvent(exc.reason, index=index, field=key + exc.path) from None
    if tail:
        tail.sort()
        slots.extend(tail)
    return "".join(slots)
