"""The EPCIS 2.0 XSD's complex types as field tables: each field's reader beside its writer.

An event, an errorDeclaration, a readPoint, a sensorElement... is a :class:`Shape`: its standard
fields in XSD order, each a :class:`Field` whose :class:`Kind` converts the field's element to
its JSON value (``read``) and back (``write``), so that the two directions are defined, and
kept in step, in one place. Element-shaped objects themselves are converted by the reader and
the writer (:mod:`ionledger.epcis.xml_read`, :mod:`ionledger.epcis.xml_write`), which hand
themselves to the kinds through the :class:`ElementReader` and :class:`ElementWriter`
protocols.

A JSON key is its XML element's name. Where the XSD nests (``epcList``/``epc``,
``quantityList``/``quantityElement``, ``bizTransactionList``/``bizTransaction`` with a
``type`` attribute), the kind unwraps and wraps; sensorMetadata and sensorReport hold all
their fields as attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple, Protocol

from lxml import etree  # type: ignore[import-untyped]

from ionledger.epcis.xml_names import XSI_NIL, Element
from ionledger.epcis.xml_values import (
    BIZ_STEP_URN,
    BTT_URN,
    DISPOSITION_URN,
    ER_URN,
    SDT_URN,
    Vocab,
    as_list,
    as_object,
    as_string,
    children,
    element_text,
    fail,
    list_items,
    number_text,
    read_number,
    sub_element,
)
from ionledger.errors import InvalidDocument

__all__ = ["EVENTS", "ElementReader", "ElementWriter", "Field", "Kind", "Shape"]


class ElementReader(Protocol):
    """What a field's reader asks of the document reader."""

    def shaped(self, el: Element, shape: Shape) -> dict[str, Any]:
        """An element-shaped object: its fields, then its extensions."""
        ...

    def attribute_object(self, el: Element, known: tuple[str, ...]) -> dict[str, Any]:
        """An object whose fields are all attributes (sensorMetadata, sensorReport)."""
        ...


class ElementWriter(Protocol):
    """What a field's writer asks of the document writer."""

    def shaped(self, parent: Element, shape: Shape, value: Any, depth: int) -> None:
        """An element-shaped object under ``parent``: its fields, then its extensions."""
        ...

    def attribute_object(
        self, parent: Element, name: str, value: Any, known: tuple[str, ...]
    ) -> None:
        """An object whose fields are all attributes (sensorMetadata, sensorReport)."""
        ...


ReadFn = Callable[[ElementReader, Element], Any]
WriteFn = Callable[[ElementWriter, Element, str, Any], None]


class Kind(NamedTuple):
    """How one field's element converts: XML element -> JSON value, JSON value -> element."""

    read: ReadFn
    write: WriteFn


class Field(NamedTuple):
    """One standard field of a shape: its JSON key (its element's name) and its kind."""

    key: str
    kind: Kind
    required: bool = False
    many: bool = False  # repeated sibling elements <-> one JSON list (sensorReport)


class Shape(NamedTuple):
    """An element-shaped object: standard fields, then extensions.

    ``local_extensions``: its XSD has an ``<extension>`` for unqualified elements, which hold
    its bare unknown keys; otherwise only prefixed extension keys are allowed.
    """

    name: str
    fields: tuple[Field, ...]
    local_extensions: bool

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)


# --- text and CBV terms ----------------------------------------------------------------------


def _read_text(reader: ElementReader, el: Element) -> str:
    return element_text(el)


def _write_text(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
    if key == "certificationInfo" and isinstance(value, list) and len(value) == 1:
        value = value[0]  # the context allows a set; the XSD holds one
    sub_element(parent, key, as_string(value, key))


def _vocab_kind(vocab: Vocab) -> Kind:
    def read(reader: ElementReader, el: Element) -> str:
        return vocab.to_json(element_text(el))

    def write(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
        sub_element(parent, key, vocab.to_xml(as_string(value, key)))

    return Kind(read, write)


# --- lists of identifiers --------------------------------------------------------------------


def _text_list_kind(item: str) -> Kind:
    """``<list><item>text</item>...</list>`` <-> ``[text, ...]`` (epcList, correctiveEventIDs)."""

    def read(reader: ElementReader, el: Element) -> list[str]:
        return [element_text(child) for child in list_items(el, item)]

    def write(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
        el = etree.SubElement(parent, key)
        for text in as_list(value, key):
            sub_element(el, item, as_string(text, key))

    return Kind(read, write)


# --- quantities ------------------------------------------------------------------------------


def _read_quantities(reader: ElementReader, el: Element) -> list[dict[str, Any]]:
    out = []
    for element in list_items(el, "quantityElement"):
        item: dict[str, Any] = {}
        for child in children(element):
            if child.tag not in ("epcClass", "quantity", "uom") or child.tag in item:
                raise fail(child, "unexpected in <quantityElement>")
            if child.tag != "quantity":
                item[child.tag] = element_text(child)
            elif child.get(XSI_NIL) in ("true", "1"):
                item["quantity"] = None  # nil: no quantity stated, dropped below
            else:
                item["quantity"] = read_number(
                    element_text(child), f"line {child.sourceline}: quantity"
                )
        if "epcClass" not in item:
            raise fail(element, "has no <epcClass>")
        out.append({key: value for key, value in item.items() if value is not None})
    return out


def _write_quantities(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
    el = etree.SubElement(parent, key)
    for item in as_list(value, key):
        item = as_object(item, key)
        extra = set(item) - {"epcClass", "quantity", "uom"}
        if extra:
            raise InvalidDocument(f"{key}: unexpected {sorted(extra)} in a quantity element")
        element = etree.SubElement(el, "quantityElement")
        sub_element(element, "epcClass", as_string(item.get("epcClass"), f"{key} epcClass"))
        if "quantity" in item:
            quantity = etree.SubElement(element, "quantity")
            if item["quantity"] is None:
                quantity.set(XSI_NIL, "true")
            else:
                quantity.text = number_text(item["quantity"], f"{key} quantity", decimal=True)
        if item.get("uom") is not None:
            if "quantity" not in item:  # the XSD's sequence is (quantity, uom?)?
                raise InvalidDocument(f"{key}: a uom without a quantity has no XML form")
            sub_element(element, "uom", as_string(item["uom"], f"{key} uom"))


# --- typed lists: bizTransactionList, sourceList, destinationList ----------------------------


def _typed_kind(vocab: Vocab, name: str, *, type_required: bool) -> Kind:
    """``<list><name type="...">text</name>...</list>`` <-> ``[{"type": ..., name: text}]``."""

    def read(reader: ElementReader, el: Element) -> list[dict[str, str]]:
        out = []
        for item in list_items(el, name):
            kind = item.get("type")
            typed = {"type": vocab.to_json(kind.strip())} if kind else {}
            out.append({**typed, name: element_text(item)})
        return out

    def write(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
        el = etree.SubElement(parent, key)
        for item in as_list(value, key):
            item = as_object(item, key)
            extra = set(item) - {"type", name}
            if extra:
                raise InvalidDocument(f"{key}: unexpected {sorted(extra)}")
            child = sub_element(el, name, as_string(item.get(name), f"{key} {name}"))
            if item.get("type") is not None or type_required:
                child.set("type", vocab.to_xml(as_string(item.get("type"), f"{key} type")))

    return Kind(read, write)


# --- persistentDisposition -------------------------------------------------------------------


def _read_persistent_disposition(reader: ElementReader, el: Element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for child in children(el):
        if child.tag not in ("set", "unset"):
            raise fail(child, "unexpected in <persistentDisposition>")
        out.setdefault(child.tag, []).append(DISPOSITION_URN.to_json(element_text(child)))
    return out


def _write_persistent_disposition(
    writer: ElementWriter, parent: Element, key: str, value: Any
) -> None:
    value = as_object(value, key)
    extra = set(value) - {"set", "unset"}
    if extra:
        raise InvalidDocument(f"{key}: unexpected {sorted(extra)}")
    el = etree.SubElement(parent, key)
    for part in ("unset", "set"):  # XSD order
        for item in as_list(value.get(part, []), f"{key} {part}"):
            sub_element(el, part, DISPOSITION_URN.to_xml(as_string(item, f"{key} {part}")))


# --- element-shaped objects ------------------------------------------------------------------


def _shaped_kind(shape: Shape) -> Kind:
    def read(reader: ElementReader, el: Element) -> dict[str, Any]:
        return reader.shaped(el, shape)

    def write(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
        writer.shaped(parent, shape, value, 2)

    return Kind(read, write)


def _read_location(reader: ElementReader, el: Element) -> dict[str, Any]:
    return reader.shaped(el, Shape(el.tag, _LOCATION_FIELDS, local_extensions=True))


def _write_location(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
    writer.shaped(parent, Shape(key, _LOCATION_FIELDS, local_extensions=True), value, 2)


# --- sensors ---------------------------------------------------------------------------------


def _read_sensor_elements(reader: ElementReader, el: Element) -> list[dict[str, Any]]:
    # The list's own <extension> has no place in the JSON-LD form: refused, not dropped.
    return [reader.shaped(kid, _SENSOR_ELEMENT) for kid in list_items(el, "sensorElement")]


def _write_sensor_elements(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
    el = etree.SubElement(parent, key)
    for item in as_list(value, key):
        writer.shaped(el, _SENSOR_ELEMENT, item, 2)


def _attribute_kind(known: tuple[str, ...]) -> Kind:
    """sensorMetadata / sensorReport: ``known`` are its attributes, in XSD order."""

    def read(reader: ElementReader, el: Element) -> dict[str, Any]:
        return reader.attribute_object(el, known)

    def write(writer: ElementWriter, parent: Element, key: str, value: Any) -> None:
        writer.attribute_object(parent, key, value, known)

    return Kind(read, write)


_METADATA_ATTRIBUTES: Final = (
    "time", "deviceID", "deviceMetadata", "rawData", "startTime", "endTime", "bizRules",
    "dataProcessingMethod",
)  # fmt: skip
_REPORT_ATTRIBUTES: Final = (
    "type", "value", "component", "stringValue", "booleanValue", "hexBinaryValue", "uriValue",
    "uom", "minValue", "maxValue", "sDev", "chemicalSubstance", "microorganism", "deviceID",
    "deviceMetadata", "rawData", "time", "meanValue", "percRank", "percValue",
    "dataProcessingMethod", "coordinateReferenceSystem", "exception",
)  # fmt: skip


# --- the schema tables -----------------------------------------------------------------------

_TEXT = Kind(_read_text, _write_text)
_EPCS = _text_list_kind("epc")
_QUANTITIES = Kind(_read_quantities, _write_quantities)
_BIZ_TX = _typed_kind(BTT_URN, "bizTransaction", type_required=False)
_SOURCES = _typed_kind(SDT_URN, "source", type_required=True)
_DESTINATIONS = _typed_kind(SDT_URN, "destination", type_required=True)
_LOCATION = Kind(_read_location, _write_location)
_SENSORS = Kind(_read_sensor_elements, _write_sensor_elements)
_PERSISTENT = Kind(_read_persistent_disposition, _write_persistent_disposition)
_CORRECTIVE = _text_list_kind("correctiveEventID")
_METADATA = _attribute_kind(_METADATA_ATTRIBUTES)
_REPORT = _attribute_kind(_REPORT_ATTRIBUTES)

_LOCATION_FIELDS: Final = (Field("id", _TEXT, required=True),)
_SENSOR_ELEMENT: Final = Shape(
    "sensorElement",
    (Field("sensorMetadata", _METADATA), Field("sensorReport", _REPORT, True, many=True)),
    local_extensions=True,
)
_ERROR = _shaped_kind(
    Shape(
        "errorDeclaration",
        (
            Field("declarationTime", _TEXT, required=True),
            Field("reason", _vocab_kind(ER_URN)),
            Field("correctiveEventIDs", _CORRECTIVE),
        ),
        local_extensions=True,
    )
)
_ILMD = _shaped_kind(Shape("ilmd", (), local_extensions=True))

_F = Field
_BASE = (
    _F("eventTime", _TEXT, True),
    _F("recordTime", _TEXT),
    _F("eventTimeZoneOffset", _TEXT, True),
    _F("eventID", _TEXT),
    _F("errorDeclaration", _ERROR),
    _F("certificationInfo", _TEXT),
)
_ACTION = _F("action", _TEXT, True)
_WHY = (
    _F("bizStep", _vocab_kind(BIZ_STEP_URN)),
    _F("disposition", _vocab_kind(DISPOSITION_URN)),
    _F("readPoint", _LOCATION),
    _F("bizLocation", _LOCATION),
)
_TX = _F("bizTransactionList", _BIZ_TX)
_PARTIES = (_F("sourceList", _SOURCES), _F("destinationList", _DESTINATIONS))
_TAIL = (_F("sensorElementList", _SENSORS), _F("persistentDisposition", _PERSISTENT))
_EVENT_FIELDS: Final = {
    "ObjectEvent": (
        *_BASE, _F("epcList", _EPCS), _ACTION, *_WHY, _TX, _F("quantityList", _QUANTITIES),
        *_PARTIES, *_TAIL, _F("ilmd", _ILMD),
    ),
    "AggregationEvent": (
        *_BASE, _F("parentID", _TEXT), _F("childEPCs", _EPCS), _ACTION, *_WHY, _TX,
        _F("childQuantityList", _QUANTITIES), *_PARTIES, *_TAIL,
    ),
    "TransactionEvent": (
        *_BASE, _F("bizTransactionList", _BIZ_TX, True), _F("parentID", _TEXT),
        _F("epcList", _EPCS), _ACTION, *_WHY, _F("quantityList", _QUANTITIES), *_PARTIES,
        *_TAIL,
    ),
    "TransformationEvent": (
        *_BASE, _F("inputEPCList", _EPCS), _F("inputQuantityList", _QUANTITIES),
        _F("outputEPCList", _EPCS), _F("outputQuantityList", _QUANTITIES),
        _F("transformationID", _TEXT), *_WHY, _TX, *_PARTIES, *_TAIL, _F("ilmd", _ILMD),
    ),
    "AssociationEvent": (
        *_BASE, _F("parentID", _TEXT, True), _F("childEPCs", _EPCS),
        _F("childQuantityList", _QUANTITIES), _ACTION, *_WHY, _TX, *_PARTIES, *_TAIL,
    ),
}  # fmt: skip
# An event's <extension> holds ##other elements in 2.0: bare unknown keys have no place.
EVENTS: Final = {
    name: Shape(name, fields, local_extensions=False) for name, fields in _EVENT_FIELDS.items()
}
