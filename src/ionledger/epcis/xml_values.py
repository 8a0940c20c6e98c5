"""Simple values of the EPCIS XML mapping, both ways: XML text <-> JSON scalars.

Reading: the text of simple-typed elements (whitespace collapsed, as their XSD types do),
numbers as ``int`` (integral text without '.') or ``float``, booleans, sensor attributes. A CBV
value is ``urn:epcglobal:cbv:bizstep:shipping`` in XML and the bare term ``shipping`` in JSON
(likewise disp, btt, sdt, er; sensor ``type``/``exception`` ``gs1:Temperature`` <->
``Temperature``, ``component`` ``cbv:Comp-x`` <-> ``x``): only the terms the EPCIS context
defines are bare, any other value stays as written both ways.

Writing: JSON scalars as text, numbers without an exponent where the XSD wants ``decimal``, and
the checks that a JSON value has the type its place wants (a string, a list, an object).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Final, NamedTuple

from lxml import etree  # type: ignore[import-untyped]

from ionledger.epcis.vocabularies import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    ERROR_REASON,
    MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE,
    SOURCE_DEST_TYPE,
)
from ionledger.epcis.xml_names import Element, split
from ionledger.errors import InvalidDocument

_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER: Final = re.compile(r"[+-]?\d+")

# --- elements --------------------------------------------------------------------------------


def children(el: Element) -> list[Element]:
    return [child for child in el if isinstance(child.tag, str)]


def fail(el: Element, message: str) -> InvalidDocument:
    return InvalidDocument(f"<{split(el.tag)[1]}> at line {el.sourceline}: {message}")


def element_text(el: Element) -> str:
    """Text of a simple-typed element; whitespace is collapsed by its XSD type (anyURI etc.)."""
    if children(el):
        raise fail(el, "expected text only, found child elements")
    return (el.text or "").strip()


def list_items(el: Element, name: str) -> list[Element]:
    """The children of a list element, which must all be <name>."""
    kids = children(el)
    for kid in kids:
        if kid.tag != name:
            raise fail(kid, f"unexpected: <{split(el.tag)[1]}> holds <{name}> elements")
    return kids


def sub_element(parent: Element, name: str, text: str) -> Element:
    el = etree.SubElement(parent, name)
    el.text = text
    return el


# --- reading ---------------------------------------------------------------------------------


def read_number(text: str, where: str) -> int | float:
    value = text.strip()
    if not _NUMBER.fullmatch(value):
        raise InvalidDocument(f"{where}: {value!r} is not a number")
    try:
        number: int | float = int(value) if _INTEGER.fullmatch(value) else float(value)
    except ValueError as exc:  # e.g. more digits than Python converts
        raise InvalidDocument(f"{where}: {value[:40]!r}: {exc}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidDocument(f"{where}: {value!r} is out of range")
    return number


def read_boolean(text: str, where: str) -> bool:
    value = text.strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise InvalidDocument(f"{where}: {value!r} is not a boolean")


# --- writing ---------------------------------------------------------------------------------


def scalar_text(value: Any, where: str) -> str:
    """Text of an untyped extension value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(value, where, decimal=False)
    raise InvalidDocument(f"{where}: a {type(value).__name__} has no XML text form")


def number_text(value: Any, where: str, *, decimal: bool) -> str:
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
    elif isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    elif isinstance(value, float) and math.isfinite(value):
        text = repr(value)
    else:
        raise InvalidDocument(f"{where}: {value!r} is not a number")
    if decimal and "e" in text.lower():  # xsd:decimal has no exponent
        text = format(Decimal(text), "f")
    return text


def as_string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidDocument(f"{where}: expected a string, got {type(value).__name__}")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidDocument(f"{where}: expected a list, got {type(value).__name__}")
    return value


def as_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidDocument(f"{where}: expected an object, got {type(value).__name__}")
    if not all(isinstance(key, str) for key in value):
        raise InvalidDocument(f"{where}: object keys must be strings")
    return value


# --- vocabularies ----------------------------------------------------------------------------


class Vocab(NamedTuple):
    """The XML form of a CBV term is ``prefix + term``; JSON-LD uses the bare term.

    Only the terms the EPCIS context defines are bare in JSON-LD: any other value (e.g. the
    sensor type ``gs1:MT-Humidity``, an older GS1 name) stays as written both ways.
    """

    prefix: str
    terms: frozenset[str]

    def to_json(self, value: str) -> str:
        rest = value[len(self.prefix) :]
        return rest if value.startswith(self.prefix) and rest in self.terms else value

    def to_xml(self, value: str) -> str:
        return self.prefix + value if value in self.terms else value


BIZ_STEP_URN: Final = Vocab("urn:epcglobal:cbv:bizstep:", BIZ_STEP.terms)
DISPOSITION_URN: Final = Vocab("urn:epcglobal:cbv:disp:", DISPOSITION.terms)
BTT_URN: Final = Vocab("urn:epcglobal:cbv:btt:", BIZ_TRANSACTION_TYPE.terms)
SDT_URN: Final = Vocab("urn:epcglobal:cbv:sdt:", SOURCE_DEST_TYPE.terms)
ER_URN: Final = Vocab("urn:epcglobal:cbv:er:", ERROR_REASON.terms)
MEASUREMENT_CURIE: Final = Vocab("gs1:", MEASUREMENT_TYPE.terms)  # sensor report type
ALERT_CURIE: Final = Vocab("gs1:", SENSOR_ALERT_TYPE.terms)  # sensor report exception
COMPONENT_CURIE: Final = Vocab("cbv:Comp-", COMPONENT.terms)


# --- sensor attributes -----------------------------------------------------------------------

# Sensor attributes that are not plain strings.
_SENSOR_NUMBERS: Final = frozenset(
    {"value", "minValue", "maxValue", "sDev", "meanValue", "percRank", "percValue"}
)
_SENSOR_VOCAB: Final = {
    "type": MEASUREMENT_CURIE,
    "exception": ALERT_CURIE,
    "component": COMPONENT_CURIE,
}


def sensor_value(name: str, value: str, where: str) -> Any:
    if name in _SENSOR_NUMBERS:
        return read_number(value, where)
    if name == "booleanValue":
        return read_boolean(value, where)
    vocab = _SENSOR_VOCAB.get(name)
    return vocab.to_json(value.strip()) if vocab else value.strip()


def sensor_text(name: str, value: Any) -> str:
    if name in _SENSOR_NUMBERS:
        return number_text(value, name, decimal=False)
    if name == "booleanValue":
        if not isinstance(value, bool):
            raise InvalidDocument(f"booleanValue: {value!r} is not a boolean")
        return "true" if value else "false"
    vocab = _SENSOR_VOCAB.get(name)
    text = as_string(value, name)
    return vocab.to_xml(text) if vocab else text
