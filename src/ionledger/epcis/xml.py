"""EPCIS XML <-> the JSON-LD form (what ``json.loads`` gives for a GS1 JSON-LD document).

Reading takes EPCIS 2.0 and 1.x (1.0 to 1.2) event documents, EPCISDocument and
EPCISQueryDocument, and gives the 2.0 form (schemaVersion "2.0"); writing gives EPCIS 2.0 only.

Reading is hardened: lxml parses with entities unresolved, no network, no DTD loading and no huge
trees; a document with a DOCTYPE that could declare anything (an internal subset, a SYSTEM or
PUBLIC identifier) is refused before it reaches the parser, and again after parsing should the
byte scan have missed it (an encoding such as UTF-7). A bare ``<!DOCTYPE name>`` declares nothing
and is tolerated: GS1's own examples carry ``<!DOCTYPE project>``. The size is capped before
parsing and the element depth before converting. Every failure is an :class:`InvalidDocument`.
Writing gives XML that validates against the official XSD, elements in its order.

Conventions (learnt from GS1's XML examples and their JSON-LD twins):

- CBV values: XML ``urn:epcglobal:cbv:bizstep:shipping`` <-> JSON ``shipping`` (likewise disp,
  btt, sdt, er); sensor ``type``/``exception`` ``gs1:Temperature`` <-> ``Temperature``;
  ``component`` ``cbv:Comp-x`` <-> ``x``. Only the terms the EPCIS context defines are bare:
  any other value (``gs1:MT-Humidity``, ``urn:epcglobal:cbv:bizstep:my_step``) stays as written.
- Numbers: quantity and the sensorReport measures become ``int`` (integral text without '.') or
  ``float``; ``booleanValue`` a ``bool``; dateTimes stay the strings written.
- User extensions: an element or attribute in another namespace is the key ``prefix:local`` (the
  prefix declared in the output ``@context``; GS1's own prefixes such as ``cbvmda`` and ``gs1``
  come from the standard context and are not redeclared). Nested elements are objects, repeated
  ones lists, text a string (XML extensions are untyped). On an element-shaped object an
  extension *attribute* is ``@prefix:local`` and text beside attributes or children is
  ``#text`` (the xmltodict convention); ``xsi:nil`` is ``None`` and other ``xsi:`` attributes
  (type hints) are dropped. On sensorMetadata/sensorReport, whose fields are all attributes,
  extension attributes are plain ``prefix:local`` keys, as in GS1's JSON.
- Unqualified elements inside an ``<extension>`` (reserved for future GS1 fields) are bare keys;
  ``<extension>``/``<baseExtension>`` wrappers of an event are unwrapped (EPCIS 1.x layout:
  eventID and errorDeclaration in baseExtension, quantityList, sourceList, destinationList and
  ilmd in extension, TransformationEvent in the EventList's extension).
- An XML namespace is a standard prefix's only if it is that prefix's IRI exactly: GS1's XML
  namespace for CBV master data, ``urn:epcglobal:cbv:mda``, lacks the final colon of the
  context's ``cbvmda`` and gets a prefix of its own (``cbvmda2``), as the hash ID tells them apart.
- Kept at document level: schemaVersion, creationDate, user extensions (``##other`` elements,
  e.g. a hash ID reference's ``ignoreFields``) and, in query documents, queryName,
  subscriptionID and the QueryResults' user extensions. The header (SBDH, master data), the
  ``<extension>`` of document and QueryResults and the body's extensions are dropped. A query
  document whose root holds the QueryResults fields itself (no EPCISBody) is read too, and an
  unqualified QueryResults.
- JSON that XML has no direct place for is kept in ``urn:ionledger:*`` namespaces and read back
  unchanged: a bare key where only namespaced elements may go (``json:action`` for a lenient
  import's TransformationEvent "action"), a prefix no local @context declares (a remote
  context's: namespace ``urn:ionledger:json-prefix:<prefix>``, not redeclared on reading), an
  object or list in an attribute (JSON text, listed in ``json:jsonValued``). The JSON-LD alias
  ``id`` of an event is written as its eventID.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Final, NamedTuple

from lxml import etree  # type: ignore[import-untyped]

from ionledger.epcis.documents import STANDARD_CONTEXT
from ionledger.epcis.strict import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    ERROR_REASON,
    MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE,
    SOURCE_DEST_TYPE,
)
from ionledger.errors import InvalidDocument

__all__ = [
    "DOCTYPE_REFUSED",
    "MAX_DEPTH",
    "MAX_XML_BYTES",
    "STANDARD_CONTEXT",
    "read_document",
    "read_events",
    "write_document",
]

MAX_XML_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64

DOCTYPE_REFUSED: Final = (
    "XML with a DOCTYPE is refused: DTDs and entities are not allowed (XXE / entity expansion)"
)

_EPCIS_NS: Final = "urn:epcglobal:epcis:xsd:2"
_QUERY_NS: Final = "urn:epcglobal:epcis-query:xsd:2"
_MASTERDATA_NS: Final = "urn:epcglobal:epcis-masterdata:xsd:2"
_XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
_XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
_XSI_NIL: Final = f"{{{_XSI_NS}}}nil"
# EPCIS 1.x (1.0 to 1.2) event documents are read into the 2.0 form too.
_EPCIS_V1_NS: Final = "urn:epcglobal:epcis:xsd:1"
_QUERY_V1_NS: Final = "urn:epcglobal:epcis-query:xsd:1"
_MASTERDATA_V1_NS: Final = "urn:epcglobal:epcis-masterdata:xsd:1"
_EPCIS_NAMESPACES: Final = frozenset(
    {_EPCIS_NS, _QUERY_NS, _MASTERDATA_NS, _EPCIS_V1_NS, _QUERY_V1_NS, _MASTERDATA_V1_NS}
)
# JSON keys XML has no place for keep one here, so that they read back unchanged: a bare key
# where only namespaced elements are allowed (e.g. a lenient import's "action" on a
# TransformationEvent), and a prefix no local @context declares (a remote context's, which a
# node does not fetch).
_JSON_KEY_NS: Final = "urn:ionledger:json-key"
_JSON_PREFIX_NS: Final = "urn:ionledger:json-prefix:"
# An attribute can only hold text: one whose JSON value is an object or a list (e.g. a node
# reference {"@id": ...} on a sensorReport) holds it as JSON, and this attribute lists it.
_JSON_VALUED: Final = f"{{{_JSON_KEY_NS}}}jsonValued"

# Prefixes the standard context defines, with their IRIs: an XML namespace maps to one only if
# it is that IRI exactly. GS1's XML examples write cbvmda's namespace without the final colon
# ("urn:epcglobal:cbv:mda"); that is another IRI, and the CBV 2.0 hash ID (whose reference
# hashes XML namespaces as written) tells the two apart, so it keeps a prefix of its own.
_STANDARD_PREFIXES: Final = {
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "cbv": "https://ref.gs1.org/cbv/",
    "epcis": "https://ref.gs1.org/epcis/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "dcterms": "http://purl.org/dc/terms/",
}
_STANDARD_BY_NS: Final = {ns: prefix for prefix, ns in _STANDARD_PREFIXES.items()}
# Terms of the (protected) standard context: an output prefix must not redefine any of them.
_RESERVED_PREFIXES: Final = frozenset(
    {
        *_STANDARD_PREFIXES, "xsd", "xml", "xmlns", "xsi", "id", "type", "baseURL",
        "ObjectEvent", "AggregationEvent", "TransformationEvent", "AssociationEvent",
        "TransactionEvent", "Collection", "member", "eventTime", "recordTime",
        "eventTimeZoneOffset", "action", "certificationInfo", "bizStep", "disposition",
        "bizLocation", "readPoint", "transformationID", "epcList", "sourceList",
        "destinationList", "persistentDisposition", "quantity", "epcClass", "uom",
        "quantityList", "bizTransactionList", "parentID", "childEPCs", "childQuantityList",
        "inputEPCList", "outputEPCList", "inputQuantityList", "outputQuantityList",
        "sensorElementList", "errorDeclaration", "eventID", "creationDate", "sender",
        "receiver", "instanceIdentifier", "schemaVersion", "ilmd", "EPCISDocument",
        "EPCISQueryDocument", "epcisHeader", "masterData", "vocabularyList", "epcisBody",
        "queryResults", "subscriptionID", "queryName", "resultsBody", "eventList", "children",
    }
)  # fmt: skip

_NCNAME: Final = re.compile(r"[^\W\d][\w.\-]*")  # an XML name without ':' (close enough)
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER: Final = re.compile(r"[+-]?\d+")
_BLANK: Final = re.compile(r"[ \t\r\n]*")
_BARE_DOCTYPE: Final = re.compile(r"[ \t\r\n]+[^\s\[\]<>\"']+[ \t\r\n]*")
_PROLOG_LIMIT: Final = 1024 * 1024
_JSONLD_KEYWORDS: Final = frozenset(
    {"@context", "@id", "@type", "@value", "@language", "@list", "@set", "@graph", "@base",
     "@vocab", "@reverse", "@index", "@nest", "@none", "@prefix", "@protected", "@version",
     "@direction", "@included", "@json", "@import", "@propagate"}
)  # fmt: skip

_Element = Any  # lxml has no type stubs here


# ---------------------------------------------------------------------------------------------
# Safe parsing


class _RefuseResolver(etree.Resolver):  # type: ignore[misc]
    """Defence in depth: should libxml2 ever ask for an external resource, it gets nothing."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        return self.resolve_string("", context)


def _parser() -> Any:
    # A fresh parser per call: lxml parsers must not be shared between threads.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    parser.resolvers.add(_RefuseResolver())
    return parser


def _head_text(data: bytes) -> str:
    """The first bytes as text, enough to read the prolog in any encoding XML autodetects."""
    head = data[:_PROLOG_LIMIT]
    boms = (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    )
    for bom, codec in boms:
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="replace")
    starts = (
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00", "utf-16-le"),
        (b"\x00<", "utf-16-be"),
    )
    for start, codec in starts:
        if head.startswith(start):
            return head.decode(codec, errors="replace")
    # ASCII-compatible (UTF-8, Latin-1, ...): only the markup characters matter here.
    return head.decode("latin-1").removeprefix("\xef\xbb\xbf")


def _prolog_doctype(data: bytes) -> str | None:
    """The DOCTYPE declaration's body (after ``<!DOCTYPE``) if the prolog has one, else None.

    Refuses a prolog longer than the scan window: no real EPCIS document has one, and it could
    hide a DOCTYPE from this check.
    """
    text = _head_text(data).removeprefix("\ufeff")
    i = 0
    while True:
        blank = _BLANK.match(text, i)
        i = blank.end() if blank else i
        closing = "?>" if text.startswith("<?", i) else "-->" if text.startswith("<!--", i) else ""
        if not closing:
            break
        end = text.find(closing, i + 2)
        if end < 0:
            i = len(text)
            break
        i = end + len(closing)
    if i >= len(text):
        if len(data) > _PROLOG_LIMIT:
            raise InvalidDocument(
                f"the XML prolog (before the root element) is longer than {_PROLOG_LIMIT:,} bytes"
            )
        return None  # no root element: the parser reports it
    if not text.startswith("<!DOCTYPE", i):
        return None
    end = text.find(">", i)
    return text[i + len("<!DOCTYPE") : end if end >= 0 else len(text)]


def _check_doctype(data: bytes) -> bool:
    """Refuse any DOCTYPE that could declare or load anything; True if a bare one was seen.

    A bare ``<!DOCTYPE name>`` (no identifiers, no internal subset) declares nothing, so it is
    tolerated: GS1's own examples carry ``<!DOCTYPE project>``.
    """
    body = _prolog_doctype(data)
    if body is None:
        return False
    if _BARE_DOCTYPE.fullmatch(body) is None:  # an internal subset, SYSTEM or PUBLIC
        raise InvalidDocument(DOCTYPE_REFUSED)
    return True


def _parse(data: bytes, *, max_bytes: int, max_depth: int) -> _Element:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidDocument(f"expected the XML document as bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise InvalidDocument(
            f"XML document of {len(data):,} bytes exceeds the limit of {max_bytes:,} bytes"
        )
    if not data or data.isspace():  # (no copy of a large document, unlike strip())
        raise InvalidDocument("empty document: no XML to read")
    bare_doctype = _check_doctype(data)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, max_depth) from None
    except (etree.LxmlError, ValueError) as exc:
        raise InvalidDocument(f"unreadable XML: {exc}") from None
    if root is None:
        raise InvalidDocument("empty document: no XML to read")
    docinfo = root.getroottree().docinfo
    # Backstop for encodings the prolog scan cannot read: any DOCTYPE it did not vet is refused.
    if docinfo.doctype and not bare_doctype:
        raise InvalidDocument(DOCTYPE_REFUSED)
    if docinfo.public_id or docinfo.system_url:
        raise InvalidDocument(DOCTYPE_REFUSED)
    _check_depth(root, max_depth)
    return root


def _syntax_error(exc: Any, max_depth: int) -> InvalidDocument:
    last = exc.error_log.last_error
    message = last.message if last is not None and last.message else exc.msg
    line, column = exc.position if exc.position else (0, 0)
    if "Excessive depth" in str(message):  # libxml2's own cap without huge_tree
        return InvalidDocument(
            f"XML nesting deeper than the limit of {min(max_depth, 256)} elements (line {line})"
        )
    if "amplification" in str(message):  # entity expansion: only possible with a DOCTYPE
        return InvalidDocument(DOCTYPE_REFUSED)
    return InvalidDocument(f"malformed XML at line {line}, column {column}: {message}")


def _check_depth(root: _Element, max_depth: int) -> None:
    depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if depth > max_depth:
            raise InvalidDocument(
                f"XML nesting deeper than the limit of {max_depth} elements"
                f" (line {element.sourceline})"
            )


# ---------------------------------------------------------------------------------------------
# Small helpers


def _split(tag: str) -> tuple[str | None, str]:
    """(namespace or None, local name) of a Clark-notation tag or attribute name."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag


def _children(el: _Element) -> list[_Element]:
    return [child for child in el if isinstance(child.tag, str)]


def _fail(el: _Element, message: str) -> InvalidDocument:
    return InvalidDocument(f"<{_split(el.tag)[1]}> at line {el.sourceline}: {message}")


def _text(el: _Element) -> str:
    """Text of a simple-typed element; whitespace is collapsed by its XSD type (anyURI etc.)."""
    if _children(el):
        raise _fail(el, "expected text only, found child elements")
    return (el.text or "").strip()


def _number(text: str, where: str) -> int | float:
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


def _boolean(text: str, where: str) -> bool:
    value = text.strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise InvalidDocument(f"{where}: {value!r} is not a boolean")


class _Vocab(NamedTuple):
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


_BIZSTEP: Final = _Vocab("urn:epcglobal:cbv:bizstep:", BIZ_STEP.terms)
_DISP: Final = _Vocab("urn:epcglobal:cbv:disp:", DISPOSITION.terms)
_BTT: Final = _Vocab("urn:epcglobal:cbv:btt:", BIZ_TRANSACTION_TYPE.terms)
_SDT: Final = _Vocab("urn:epcglobal:cbv:sdt:", SOURCE_DEST_TYPE.terms)
_ER: Final = _Vocab("urn:epcglobal:cbv:er:", ERROR_REASON.terms)
_MEASUREMENT: Final = _Vocab("gs1:", MEASUREMENT_TYPE.terms)  # sensor report type
_ALERT: Final = _Vocab("gs1:", SENSOR_ALERT_TYPE.terms)  # sensor report exception
_COMPONENT: Final = _Vocab("cbv:Comp-", COMPONENT.terms)


# ---------------------------------------------------------------------------------------------
# Schema: the fields of each complex type in XSD order (a JSON key is its XML element's name)


_WriteFn = Callable[["_Writer", _Element, str, Any], None]


class _Kind(NamedTuple):
    """How one field's element converts: XML element -> JSON value, JSON value -> element."""

    read: Callable[[_Reader, _Element], Any]
    write: _WriteFn


class _Field(NamedTuple):
    key: str
    kind: _Kind
    required: bool = False
    many: bool = False  # repeated sibling elements <-> one JSON list (sensorReport)


class _Shape(NamedTuple):
    """An element-shaped object: standard fields, then extensions.

    ``local_extensions``: its XSD has an ``<extension>`` for unqualified elements, which hold
    its bare unknown keys; otherwise only prefixed extension keys are allowed.
    """

    name: str
    fields: tuple[_Field, ...]
    local_extensions: bool

    def field(self, key: str) -> _Field | None:
        return next((f for f in self.fields if f.key == key), None)


# Sensor attributes that are not plain strings, and the order the XSD declares them in.
_SENSOR_NUMBERS: Final = frozenset(
    {"value", "minValue", "maxValue", "sDev", "meanValue", "percRank", "percValue"}
)
_SENSOR_VOCAB: Final = {"type": _MEASUREMENT, "exception": _ALERT, "component": _COMPONENT}
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


# ---------------------------------------------------------------------------------------------
# Reading: XML elements -> JSON-LD values


class _Reader:
    """Converts one document; remembers the JSON prefix chosen for each extension namespace."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth  # for JSON-valued attributes (the tree is checked apart)
        self.prefix_of: dict[str, str] = {}  # namespace -> JSON prefix
        self.declared: dict[str, str] = {}  # prefix -> namespace, for @context
        self.undeclared: set[str] = set()  # prefixes left to a remote context (json-prefix)

    def context(self) -> list[Any]:
        return [STANDARD_CONTEXT, dict(self.declared)] if self.declared else [STANDARD_CONTEXT]

    def prefix(self, ns: str, hint: str | None) -> str:
        """The JSON prefix of a namespace: the XML prefix unless the standard context owns it."""
        known = "xml" if ns == _XML_NS else self.prefix_of.get(ns) or _STANDARD_BY_NS.get(ns)
        if known:
            self.prefix_of[ns] = known
            return known
        # XML reserves prefixes starting with "xml"; the writer would rename them.
        usable = hint and _NCNAME.fullmatch(hint) and not hint.lower().startswith("xml")
        base = hint if hint and usable else "ns"
        n = 1
        candidate = base if base != "ns" else "ns1"
        taken = self.declared.keys() | self.undeclared
        while candidate in _RESERVED_PREFIXES or candidate in taken:
            n += 1
            candidate = f"{base}{n}"
        self.prefix_of[ns] = candidate
        self.declared[candidate] = ns
        return candidate

    def key(self, el: _Element, name: str, *, attribute: bool = False) -> str:
        """JSON key of an element (or attribute) name: ``prefix:local``, bare if unqualified."""
        ns, local = _split(name)
        if ns is None or ns == _JSON_KEY_NS:
            return local
        undeclared = ns.removeprefix(_JSON_PREFIX_NS)
        if undeclared != ns and undeclared and undeclared not in self.declared:
            self.undeclared.add(undeclared)
            return f"{undeclared}:{local}"
        hint = _prefix_in_scope(el, ns) if attribute else el.prefix
        return f"{self.prefix(ns, hint)}:{local}"

    # -- user extensions -----------------------------------------------------------------------

    def attributes(self, el: _Element) -> dict[str, Any]:
        """Attributes of an element-shaped object as ``@``-keys."""
        return {
            "@" + self.key(el, name, attribute=True): value
            for name, value in _attributes(el, self.max_depth)
        }

    def extension(self, el: _Element) -> Any:
        """An extension element: text is a string; attributes or children make an object."""
        kids = _children(el)
        out = self.attributes(el)
        if not kids and not out:
            if el.get(_XSI_NIL) in ("true", "1") and not el.text:
                return None
            return el.text or ""
        self.add_extensions(out, kids, el)
        if not kids:
            text = el.text or ""
        else:  # mixed content: the text around the children, as one string
            text = "".join([el.text or "", *(kid.tail or "" for kid in kids)]).strip()
        if text.strip():
            out["#text"] = text
        return out

    def add_extensions(self, out: dict[str, Any], elements: list[_Element], at: _Element) -> None:
        """Extension elements into ``out``: one key each, a list where the element repeats."""
        grouped: dict[str, list[Any]] = {}
        for child in elements:
            grouped.setdefault(self.key(child, child.tag), []).append(self.extension(child))
        for key, values in grouped.items():
            if key in out:
                raise _fail(at, f"extension {key!r} clashes with a field of the same name")
            out[key] = values[0] if len(values) == 1 else values

    # -- element-shaped objects ----------------------------------------------------------------

    def shaped(self, el: _Element, shape: _Shape) -> dict[str, Any]:
        found: dict[str, list[_Element]] = {}
        extensions: list[_Element] = []
        for child in _unwrapped(el):
            ns, local = _split(child.tag)
            field = shape.field(local) if ns is None else None
            if field is not None:
                if local in found and not field.many:
                    raise _fail(child, f"repeated in <{shape.name}>")
                found.setdefault(local, []).append(child)
            elif ns is None and not shape.local_extensions:
                raise _fail(child, f"unexpected element in <{shape.name}>")
            else:
                extensions.append(child)
        out: dict[str, Any] = {}
        for field in shape.fields:
            elements = found.get(field.key)
            if elements:
                values = [field.kind.read(self, element) for element in elements]
                out[field.key] = values if field.many else values[0]
        out.update(self.attributes(el))
        self.add_extensions(out, extensions, el)
        return out

    def event(self, el: _Element) -> dict[str, Any]:
        shape = _EVENTS.get(el.tag)  # unqualified, like every element inside EPCISBody
        if el.tag == "QuantityEvent":
            raise _fail(
                el,
                "not an EPCIS 2.0 event: EPCIS 1.2 deprecated QuantityEvent and 2.0"
                " removed it (an ObjectEvent with a quantityList replaces it)",
            )
        if shape is None:
            raise _fail(el, f"not an EPCIS 2.0 event (one of {', '.join(_EVENTS)})")
        return {"type": shape.name, **self.shaped(el, shape)}

    def events(self, event_list: _Element) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for child in _unwrapped(event_list):  # 1.x put TransformationEvent in <extension>
            try:
                events.append(self.event(child))
            except InvalidDocument as exc:
                raise InvalidDocument(f"event {len(events)}: {exc.message}") from None
        return events

    def attribute_object(self, el: _Element, known: tuple[str, ...]) -> dict[str, Any]:
        """sensorMetadata / sensorReport: every field is an attribute, extensions too."""
        if _children(el):
            raise _fail(el, "expected attributes only, found child elements")
        out: dict[str, Any] = {}
        for name in known:
            value = el.get(name)
            if value is not None:
                out[name] = _sensor_value(name, value, f"line {el.sourceline}: {name}")
        for name, value in _attributes(el, self.max_depth, skip=known):
            out[self.key(el, name, attribute=True)] = value
        if el.text and el.text.strip():  # the XSD allows text content; keep it
            out["#text"] = el.text
        return out


def _attributes(
    el: _Element, max_depth: int, skip: tuple[str, ...] = ()
) -> Iterator[tuple[str, Any]]:
    """(name, value) of the attributes kept: no xsi: hints; JSON-valued ones decoded."""
    json_valued = set((el.get(_JSON_VALUED) or "").split())
    for name, value in el.attrib.items():
        if name in skip or name == _JSON_VALUED or _split(name)[0] == _XSI_NS:
            continue
        if name not in json_valued:
            yield name, value
            continue
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise _fail(el, f"attribute {name}: not the JSON it is marked as: {exc}") from None
        if _json_depth(decoded) > max_depth:
            raise _fail(el, f"attribute {name}: JSON deeper than the limit of {max_depth}")
        yield name, decoded


def _json_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _prefix_in_scope(el: _Element, ns: str) -> str | None:
    return next((prefix for prefix, uri in el.nsmap.items() if uri == ns and prefix), None)


def _unwrapped(el: _Element) -> Iterator[_Element]:
    """Children, with unqualified <extension>/<baseExtension> wrappers replaced by theirs."""
    for child in _children(el):
        if child.tag in ("extension", "baseExtension"):
            yield from _unwrapped(child)
        else:
            yield child


def _items(el: _Element, name: str) -> list[_Element]:
    """The children of a list element, which must all be <name>."""
    kids = _children(el)
    for kid in kids:
        if kid.tag != name:
            raise _fail(kid, f"unexpected: <{_split(el.tag)[1]}> holds <{name}> elements")
    return kids


def _sensor_value(name: str, value: str, where: str) -> Any:
    if name in _SENSOR_NUMBERS:
        return _number(value, where)
    if name == "booleanValue":
        return _boolean(value, where)
    vocab = _SENSOR_VOCAB.get(name)
    return vocab.to_json(value.strip()) if vocab else value.strip()


def _read_text(reader: _Reader, el: _Element) -> str:
    return _text(el)


def _read_vocab(vocab: _Vocab) -> Callable[[_Reader, _Element], str]:
    return lambda reader, el: vocab.to_json(_text(el))


def _read_epcs(reader: _Reader, el: _Element) -> list[str]:
    return [_text(epc) for epc in _items(el, "epc")]


def _read_quantities(reader: _Reader, el: _Element) -> list[dict[str, Any]]:
    out = []
    for element in _items(el, "quantityElement"):
        item: dict[str, Any] = {}
        for child in _children(element):
            if child.tag not in ("epcClass", "quantity", "uom") or child.tag in item:
                raise _fail(child, "unexpected in <quantityElement>")
            if child.tag != "quantity":
                item[child.tag] = _text(child)
            elif child.get(_XSI_NIL) in ("true", "1"):
                item["quantity"] = None  # nil: no quantity stated, dropped below
            else:
                item["quantity"] = _number(_text(child), f"line {child.sourceline}: quantity")
        if "epcClass" not in item:
            raise _fail(element, "has no <epcClass>")
        out.append({key: value for key, value in item.items() if value is not None})
    return out


def _typed(el: _Element, vocab: _Vocab) -> dict[str, str]:
    """``{"type": ..., key: text}`` of a bizTransaction / source / destination element."""
    kind = el.get("type")
    return {"type": vocab.to_json(kind.strip())} if kind else {}


def _read_biz_transactions(reader: _Reader, el: _Element) -> list[dict[str, str]]:
    return [
        {**_typed(tx, _BTT), "bizTransaction": _text(tx)} for tx in _items(el, "bizTransaction")
    ]


def _read_parties(name: str) -> Callable[[_Reader, _Element], list[dict[str, str]]]:
    def read(reader: _Reader, el: _Element) -> list[dict[str, str]]:
        return [{**_typed(party, _SDT), name: _text(party)} for party in _items(el, name)]

    return read


def _read_shaped(shape: _Shape) -> Callable[[_Reader, _Element], dict[str, Any]]:
    return lambda reader, el: reader.shaped(el, shape)


def _read_location(reader: _Reader, el: _Element) -> dict[str, Any]:
    return reader.shaped(el, _Shape(el.tag, _LOCATION_FIELDS, local_extensions=True))


def _read_corrective_ids(reader: _Reader, el: _Element) -> list[str]:
    return [_text(item) for item in _items(el, "correctiveEventID")]


def _read_persistent_disposition(reader: _Reader, el: _Element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for child in _children(el):
        if child.tag not in ("set", "unset"):
            raise _fail(child, "unexpected in <persistentDisposition>")
        out.setdefault(child.tag, []).append(_DISP.to_json(_text(child)))
    return out


def _read_sensor_elements(reader: _Reader, el: _Element) -> list[dict[str, Any]]:
    # The list's own <extension> has no place in the JSON-LD form: refused, not dropped.
    return [reader.shaped(kid, _SENSOR_ELEMENT) for kid in _items(el, "sensorElement")]


def _read_metadata(reader: _Reader, el: _Element) -> dict[str, Any]:
    return reader.attribute_object(el, _METADATA_ATTRIBUTES)


def _read_report(reader: _Reader, el: _Element) -> dict[str, Any]:
    return reader.attribute_object(el, _REPORT_ATTRIBUTES)


# ---------------------------------------------------------------------------------------------
# Writing: JSON-LD values -> XML elements


def _context_namespaces(context: Any) -> dict[str, str]:
    """prefix (or term) -> IRI from the @context's objects (its strings are remote contexts)."""
    out: dict[str, str] = {}
    for item in context if isinstance(context, list) else [context]:
        if not isinstance(item, dict):
            continue
        for term, value in item.items():
            iri = value.get("@id") if isinstance(value, dict) else value
            if isinstance(term, str) and not term.startswith("@") and isinstance(iri, str):
                out[term] = iri
    return out


class _Writer:
    """Converts one document; resolves extension keys through its @context."""

    def __init__(self, context: Any, max_depth: int) -> None:
        self.terms = _context_namespaces(context)
        self.max_depth = max_depth
        self.prefix_of: dict[str, str] = {_JSON_KEY_NS: "json"}  # namespace -> XML prefix

    # -- names ---------------------------------------------------------------------------------

    def qname(self, key: str, *, bare: bool) -> str:
        """Clark name for an extension key; a ``bare`` key may be unqualified (no namespace)."""
        prefix, colon, local = key.partition(":")
        if not colon:
            if key in self.terms:  # a term the context maps to a full IRI
                return self.iri_qname(self.terms[key], key)
            if not bare:
                return _clark(_JSON_KEY_NS, key, key)
            return _clark(None, key, key)
        ns = self.terms.get(prefix)
        if ns is None and (local.startswith("//") or prefix == "urn"):
            return self.iri_qname(key, key)  # an absolute IRI
        ns = ns or _STANDARD_PREFIXES.get(prefix) or (_XML_NS if prefix == "xml" else None)
        ns = ns or _JSON_PREFIX_NS + prefix
        self.prefix_of.setdefault(ns, prefix)
        return _clark(ns, local, key)

    def iri_qname(self, iri: str, key: str) -> str:
        # A declared namespace the IRI starts with keeps the XML namespace exactly as declared.
        for prefix, ns in sorted(self.terms.items(), key=lambda item: -len(item[1])):
            rest = iri[len(ns) :]
            if iri.startswith(ns) and _NCNAME.fullmatch(rest):
                self.prefix_of.setdefault(ns, prefix)
                return _clark(ns, rest, key)
        cut = max(iri.rfind("/"), iri.rfind("#"), iri.rfind(":")) + 1
        return _clark(iri[:cut], iri[cut:], key)

    def nsmap(self, root_prefix: str, root_ns: str, used: set[str]) -> dict[str, str]:
        """Every namespace declared once, on the root, with the JSON prefix where possible."""
        nsmap = {root_prefix: root_ns}
        if _XSI_NS in used:
            nsmap["xsi"] = _XSI_NS
        n = 0
        for ns in sorted(used - {root_ns, _XSI_NS, _XML_NS}):
            prefix = self.prefix_of.get(ns, "")
            while not _NCNAME.fullmatch(prefix) or prefix in nsmap or prefix[:3].lower() == "xml":
                n += 1
                prefix = f"ns{n}"
            nsmap[prefix] = ns
        return nsmap

    # -- values --------------------------------------------------------------------------------

    def extension(self, parent: _Element, key: str, value: Any, depth: int, *, bare: bool) -> None:
        """One extension key: an element per value (a list repeats the element)."""
        qname = self.qname(key, bare=bare)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, list):
                raise InvalidDocument(f"extension {key!r}: a list in a list has no XML form")
            self.extension_element(parent, qname, item, depth)

    def extension_element(self, parent: _Element, qname: str, value: Any, depth: int) -> None:
        if depth > self.max_depth:
            raise InvalidDocument(f"nesting deeper than the limit of {self.max_depth}")
        el = etree.SubElement(parent, qname)
        if value is None:
            el.set(_XSI_NIL, "true")
        elif isinstance(value, dict):
            for key, item in _object(value, qname).items():
                if key == "#text":
                    el.text = _scalar(item, key)
                elif key.startswith("@"):
                    _set_attribute(el, self.qname(key[1:], bare=True), item, key)
                else:
                    self.extension(el, key, item, depth + 1, bare=True)
        else:
            el.text = _scalar(value, qname)

    def shaped(self, parent: _Element, shape: _Shape, value: Any, depth: int) -> None:
        """Fields in XSD order, then <extension> for bare keys, then prefixed extensions."""
        value = _object(value, shape.name)
        el = etree.SubElement(parent, shape.name)
        for field in shape.fields:
            item = value.get(field.key)
            if item is None:
                if field.required:
                    raise InvalidDocument(f"{shape.name}: {field.key} is required")
            elif field.many:
                for one in _list(item, field.key):
                    field.kind.write(self, el, field.key, one)
            else:
                field.kind.write(self, el, field.key, item)
        is_event = shape.name in _EVENTS
        local: list[tuple[str, Any]] = []
        for key, item in value.items():
            if shape.field(key) or key in _JSONLD_KEYWORDS or (key == "type" and is_event):
                continue
            if key.startswith("@"):
                _set_attribute(el, self.qname(key[1:], bare=True), item, key)
            elif ":" in key or key in self.terms or not shape.local_extensions:
                continue  # written after <extension>, below
            else:
                local.append((key, item))
        if local:
            wrapper = etree.SubElement(el, "extension")
            for key, item in local:
                self.extension(wrapper, key, item, depth + 1, bare=True)
            if len(wrapper) == 0:  # only empty lists: the XSD wants no empty <extension>
                el.remove(wrapper)
        for key, item in value.items():
            if shape.field(key) or key.startswith("@") or (key == "type" and is_event):
                continue
            if ":" in key or key in self.terms or not shape.local_extensions:
                self.extension(el, key, item, depth + 1, bare=False)

    def foreign_extensions(
        self, el: _Element, value: dict[str, Any], known: frozenset[str]
    ) -> None:
        """A document's or QueryResults' prefixed keys, as ##other elements at its end."""
        for key, item in value.items():
            if key not in known and (":" in key or key in self.terms):
                self.extension(el, key, item, 1, bare=False)

    def attribute_object(self, parent: _Element, name: str, value: Any) -> None:
        """sensorMetadata / sensorReport: known attributes in XSD order, then extensions."""
        value = _object(value, name)
        known = _METADATA_ATTRIBUTES if name == "sensorMetadata" else _REPORT_ATTRIBUTES
        el = etree.SubElement(parent, name)
        for key in known:
            if value.get(key) is not None:
                el.set(key, _sensor_text(key, value[key]))
        for key, item in value.items():
            if key in known or item is None:
                continue
            if key == "#text":
                el.text = _scalar(item, key)
            else:
                _set_attribute(el, self.qname(key, bare=True), item, f"{name} {key}")


def _clark(ns: str | None, local: str, key: str) -> str:
    if not _NCNAME.fullmatch(local):
        raise InvalidDocument(f"extension {key!r}: {local!r} is not a valid XML name")
    return f"{{{ns}}}{local}" if ns else local


def _set_attribute(el: _Element, qname: str, value: Any, where: str) -> None:
    """An extension attribute: scalar text, or an object/list as JSON marked as such."""
    if not isinstance(value, dict | list):
        el.set(qname, _scalar(value, where))
        return
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidDocument(f"{where}: not writable as JSON text: {exc}") from None
    el.set(qname, text)
    marked = el.get(_JSON_VALUED)
    el.set(_JSON_VALUED, f"{marked} {qname}" if marked else qname)


def _scalar(value: Any, where: str) -> str:
    """Text of an untyped extension value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value, where, decimal=False)
    raise InvalidDocument(f"{where}: a {type(value).__name__} has no XML text form")


def _number_text(value: Any, where: str, *, decimal: bool) -> str:
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


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidDocument(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidDocument(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidDocument(f"{where}: expected an object, got {type(value).__name__}")
    if not all(isinstance(key, str) for key in value):
        raise InvalidDocument(f"{where}: object keys must be strings")
    return value


def _sensor_text(name: str, value: Any) -> str:
    if name in _SENSOR_NUMBERS:
        return _number_text(value, name, decimal=False)
    if name == "booleanValue":
        if not isinstance(value, bool):
            raise InvalidDocument(f"booleanValue: {value!r} is not a boolean")
        return "true" if value else "false"
    vocab = _SENSOR_VOCAB.get(name)
    text = _string(value, name)
    return vocab.to_xml(text) if vocab else text


def _sub(parent: _Element, name: str, text: str) -> _Element:
    el = etree.SubElement(parent, name)
    el.text = text
    return el


def _write_text(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
    if key == "certificationInfo" and isinstance(value, list) and len(value) == 1:
        value = value[0]  # the context allows a set; the XSD holds one
    _sub(parent, key, _string(value, key))


def _write_vocab(vocab: _Vocab) -> Callable[[_Writer, _Element, str, Any], None]:
    def write(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
        _sub(parent, key, vocab.to_xml(_string(value, key)))

    return write


def _write_epcs(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
    el = etree.SubElement(parent, key)
    for epc in _list(value, key):
        _sub(el, "epc", _string(epc, key))


def _write_quantities(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
    el = etree.SubElement(parent, key)
    for item in _list(value, key):
        item = _object(item, key)
        extra = set(item) - {"epcClass", "quantity", "uom"}
        if extra:
            raise InvalidDocument(f"{key}: unexpected {sorted(extra)} in a quantity element")
        element = etree.SubElement(el, "quantityElement")
        _sub(element, "epcClass", _string(item.get("epcClass"), f"{key} epcClass"))
        if "quantity" in item:
            quantity = etree.SubElement(element, "quantity")
            if item["quantity"] is None:
                quantity.set(_XSI_NIL, "true")
            else:
                quantity.text = _number_text(item["quantity"], f"{key} quantity", decimal=True)
        if item.get("uom") is not None:
            if "quantity" not in item:  # the XSD's sequence is (quantity, uom?)?
                raise InvalidDocument(f"{key}: a uom without a quantity has no XML form")
            _sub(element, "uom", _string(item["uom"], f"{key} uom"))


def _write_typed(vocab: _Vocab, name: str, *, type_required: bool) -> _WriteFn:
    """bizTransactionList / sourceList / destinationList: ``[{"type": ..., name: ...}]``."""

    def write(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
        el = etree.SubElement(parent, key)
        for item in _list(value, key):
            item = _object(item, key)
            extra = set(item) - {"type", name}
            if extra:
                raise InvalidDocument(f"{key}: unexpected {sorted(extra)}")
            child = _sub(el, name, _string(item.get(name), f"{key} {name}"))
            if item.get("type") is not None or type_required:
                child.set("type", vocab.to_xml(_string(item.get("type"), f"{key} type")))

    return write


def _write_shaped(shape: _Shape) -> _WriteFn:
    return lambda writer, parent, key, value: writer.shaped(parent, shape, value, 2)


def _write_location(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
    writer.shaped(parent, _Shape(key, _LOCATION_FIELDS, local_extensions=True), value, 2)


def _write_corrective_ids(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
    el = etree.SubElement(parent, key)
    for item in _list(value, key):
        _sub(el, "correctiveEventID", _string(item, key))


def _write_persistent_disposition(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
    value = _object(value, key)
    extra = set(value) - {"set", "unset"}
    if extra:
        raise InvalidDocument(f"{key}: unexpected {sorted(extra)}")
    el = etree.SubElement(parent, key)
    for part in ("unset", "set"):  # XSD order
        for item in _list(value.get(part, []), f"{key} {part}"):
            _sub(el, part, _DISP.to_xml(_string(item, f"{key} {part}")))


def _write_sensor_elements(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
    el = etree.SubElement(parent, key)
    for item in _list(value, key):
        writer.shaped(el, _SENSOR_ELEMENT, item, 2)


def _write_attribute_object(writer: _Writer, parent: _Element, key: str, value: Any) -> None:
    writer.attribute_object(parent, key, value)


# ---------------------------------------------------------------------------------------------
# The schema tables

_TEXT = _Kind(_read_text, _write_text)
_EPCS = _Kind(_read_epcs, _write_epcs)
_QUANTITIES = _Kind(_read_quantities, _write_quantities)
_BIZ_TX = _Kind(_read_biz_transactions, _write_typed(_BTT, "bizTransaction", type_required=False))
_SOURCES = _Kind(_read_parties("source"), _write_typed(_SDT, "source", type_required=True))
_DESTINATIONS = _Kind(
    _read_parties("destination"), _write_typed(_SDT, "destination", type_required=True)
)
_LOCATION = _Kind(_read_location, _write_location)
_SENSORS = _Kind(_read_sensor_elements, _write_sensor_elements)
_PERSISTENT = _Kind(_read_persistent_disposition, _write_persistent_disposition)
_CORRECTIVE = _Kind(_read_corrective_ids, _write_corrective_ids)
_METADATA = _Kind(_read_metadata, _write_attribute_object)
_REPORT = _Kind(_read_report, _write_attribute_object)


def _vocab_kind(vocab: _Vocab) -> _Kind:
    return _Kind(_read_vocab(vocab), _write_vocab(vocab))


def _shaped_kind(shape: _Shape) -> _Kind:
    return _Kind(_read_shaped(shape), _write_shaped(shape))


_LOCATION_FIELDS: Final = (_Field("id", _TEXT, required=True),)
_SENSOR_ELEMENT: Final = _Shape(
    "sensorElement",
    (_Field("sensorMetadata", _METADATA), _Field("sensorReport", _REPORT, True, many=True)),
    local_extensions=True,
)
_ERROR = _shaped_kind(
    _Shape(
        "errorDeclaration",
        (
            _Field("declarationTime", _TEXT, required=True),
            _Field("reason", _vocab_kind(_ER)),
            _Field("correctiveEventIDs", _CORRECTIVE),
        ),
        local_extensions=True,
    )
)
_ILMD = _shaped_kind(_Shape("ilmd", (), local_extensions=True))

_F = _Field
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
    _F("bizStep", _vocab_kind(_BIZSTEP)),
    _F("disposition", _vocab_kind(_DISP)),
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
_EVENTS: Final = {
    name: _Shape(name, fields, local_extensions=False) for name, fields in _EVENT_FIELDS.items()
}


# ---------------------------------------------------------------------------------------------
# Documents

# Roots that are EPCIS but carry no events: recognised and named.
_NOT_EVENT_DOCUMENTS: Final = {
    (_MASTERDATA_NS, "EPCISMasterDataDocument"): "an EPCIS master-data document",
    (_MASTERDATA_V1_NS, "EPCISMasterDataDocument"): "an EPCIS 1.x master-data document",
    (_EPCIS_NS, "EPCISCaptureJob"): "an EPCIS capture-job status document",
    (_EPCIS_NS, "EPCISException"): "an EPCIS exception report",
}
_EVENT_DOCUMENT_ROOTS: Final = {f"{{{ns}}}EPCISDocument": ns for ns in (_EPCIS_NS, _EPCIS_V1_NS)}
_QUERY_DOCUMENT_ROOTS: Final = {
    f"{{{ns}}}EPCISQueryDocument": ns for ns in (_QUERY_NS, _QUERY_V1_NS)
}
# QueryResults, as the XSD qualifies it; unqualified as some documents (GS1's hash ID
# reference's among them) write it.
_QUERY_RESULTS: Final = frozenset(
    {f"{{{_QUERY_NS}}}QueryResults", f"{{{_QUERY_V1_NS}}}QueryResults", "QueryResults"}
)


def _not_event_document(root: _Element) -> InvalidDocument:
    ns, name = _split(root.tag)
    what = _NOT_EVENT_DOCUMENTS.get((ns or "", name))
    if what:
        return InvalidDocument(f"{what} ({name}), not an event document")
    if ns in _EPCIS_NAMESPACES:
        return InvalidDocument(f"an EPCIS {name} element, not an event document")
    where = f"{{{ns}}}{name}" if ns else name
    return InvalidDocument(
        f"not an EPCIS document: the root element is {where}, expected EPCISDocument or"
        f" EPCISQueryDocument in {_EPCIS_NS} / {_QUERY_NS} (or their EPCIS 1.x namespaces)"
    )


def _only_child(el: _Element, name: str, *, required: bool = True) -> _Element | None:
    found = [child for child in _children(el) if child.tag == name]
    if len(found) > 1:
        raise _fail(found[1], f"repeated in <{_split(el.tag)[1]}>")
    if not found and required:
        raise _fail(el, f"has no <{name}>")
    return found[0] if found else None


def _document_fields(root: _Element, kind: str, *, v1: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind}
    for name in ("schemaVersion", "creationDate"):
        value = root.get(name)
        if value is not None:
            out[name] = value.strip()
    if v1:  # the document read is the 2.0 form of a 1.x one
        out["schemaVersion"] = "2.0"
    return out


def _foreign_extensions(el: _Element, reader: _Reader) -> dict[str, Any]:
    """A document's or QueryResults' user extensions (##other elements), as prefixed keys.

    Its unqualified <extension> (reserved for GS1) is dropped, as is anything EPCIS's own.
    """
    out: dict[str, Any] = {}
    foreign = [kid for kid in _children(el) if _split(kid.tag)[0] not in (None, *_EPCIS_NAMESPACES)]
    reader.add_extensions(out, foreign, el)
    return out


def _read_event_document(root: _Element, reader: _Reader, *, v1: bool) -> dict[str, Any]:
    body = _only_child(root, "EPCISBody")
    event_list = _only_child(body, "EventList", required=False)
    events = reader.events(event_list) if event_list is not None else []
    return {
        **_document_fields(root, "EPCISDocument", v1=v1),
        "epcisBody": {"eventList": events},
        **_foreign_extensions(root, reader),
    }


def _query_message(root: _Element) -> _Element:
    """The one message in a query document's body; the root itself where it holds the
    QueryResults fields directly, without EPCISBody and QueryResults (as in a document of
    GS1's hash ID reference)."""
    body = _only_child(root, "EPCISBody", required=False)
    if body is None:
        if _only_child(root, "resultsBody", required=False) is None:
            raise _fail(root, "has no <EPCISBody>")
        return root
    kids = _children(body)
    if len(kids) != 1:
        raise _fail(body, "an EPCISQueryDocument body holds exactly one message")
    message = kids[0]
    if message.tag not in _QUERY_RESULTS:
        name = _split(message.tag)[1]
        raise InvalidDocument(f"an EPCIS query-interface message ({name}), not an event document")
    return message


def _read_query_document(root: _Element, reader: _Reader, *, v1: bool) -> dict[str, Any]:
    message = _query_message(root)
    results: dict[str, Any] = {}
    for field in ("subscriptionID", "queryName"):
        child = _only_child(message, field, required=field == "queryName")
        if child is not None:
            results[field] = _text(child)
    results_body = _only_child(message, "resultsBody")
    if _only_child(results_body, "VocabularyList", required=False) is not None:
        raise InvalidDocument(
            "an EPCIS query document with master-data results (VocabularyList),"
            " not an event document"
        )
    event_list = _only_child(results_body, "EventList")
    results["resultsBody"] = {"eventList": reader.events(event_list)}
    results.update(_foreign_extensions(message, reader))
    document = {
        **_document_fields(root, "EPCISQueryDocument", v1=v1),
        "epcisBody": {"queryResults": results},
    }
    if message is not root:
        document.update(_foreign_extensions(root, reader))
    return document


def read_document(
    data: bytes, *, max_bytes: int = MAX_XML_BYTES, max_depth: int = MAX_DEPTH
) -> dict[str, Any]:
    """An EPCIS 2.0 or 1.x XML EPCISDocument or EPCISQueryDocument as the 2.0 JSON-LD dict.

    Any other document (master data, capture job, not EPCIS), and anything unsafe or
    unreadable, raises :class:`InvalidDocument` saying what it is.
    """
    root = _parse(data, max_bytes=max_bytes, max_depth=max_depth)
    reader = _Reader(max_depth)
    if root.tag in _EVENT_DOCUMENT_ROOTS:
        v1 = _EVENT_DOCUMENT_ROOTS[root.tag] == _EPCIS_V1_NS
        document = _read_event_document(root, reader, v1=v1)
    elif root.tag in _QUERY_DOCUMENT_ROOTS:
        v1 = _QUERY_DOCUMENT_ROOTS[root.tag] == _QUERY_V1_NS
        document = _read_query_document(root, reader, v1=v1)
    else:
        raise _not_event_document(root)
    return {"@context": reader.context(), **document}


def read_events(
    data: bytes, *, max_bytes: int = MAX_XML_BYTES, max_depth: int = MAX_DEPTH
) -> list[dict[str, Any]]:
    """The events of an EPCIS XML event document (see :func:`read_document`)."""
    document = read_document(data, max_bytes=max_bytes, max_depth=max_depth)
    body = document["epcisBody"]
    if document["type"] == "EPCISQueryDocument":
        body = body["queryResults"]["resultsBody"]
    events: list[dict[str, Any]] = body["eventList"]
    return events


def _events_of(document: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """(events, queryResults or {}) of a JSON-LD event document."""
    body = _object(document.get("epcisBody"), "epcisBody")
    if document.get("type") == "EPCISQueryDocument":
        results = _object(body.get("queryResults"), "epcisBody.queryResults")
        body = _object(results.get("resultsBody"), "queryResults.resultsBody")
        return _list(body.get("eventList", []), "resultsBody.eventList"), results
    return _list(body.get("eventList", []), "epcisBody.eventList"), {}


# Keys of a document and of its queryResults that are no user extension.
_DOCUMENT_KEYS: Final = frozenset(
    {*_JSONLD_KEYWORDS, "type", "schemaVersion", "creationDate", "epcisHeader", "epcisBody"}
)
_QUERY_RESULTS_KEYS: Final = frozenset({"queryName", "subscriptionID", "resultsBody"})


def _event_id_alias(event: dict[str, Any]) -> dict[str, Any]:
    """The context maps both ``id`` and ``eventID`` to ``@id``: ``id`` is the eventID too."""
    if "id" not in event:
        return event
    out = {key: value for key, value in event.items() if key != "id"}
    if out.setdefault("eventID", event["id"]) != event["id"]:
        raise InvalidDocument("id and eventID differ, yet both are the event's @id")
    return out


def write_document(document: dict[str, Any], *, max_depth: int = MAX_DEPTH) -> bytes:
    """EPCIS 2.0 XML (UTF-8, with an XML declaration, elements in XSD order) for a JSON-LD
    EPCISDocument or EPCISQueryDocument. Extension keys are written as elements in the
    namespaces the document's ``@context`` declares."""
    try:
        return _write(_object(document, "document"), max_depth)
    except ValueError as exc:  # lxml refuses text XML cannot hold (NUL, control characters)
        raise InvalidDocument(f"not writable as XML: {exc}") from None


def _write(document: dict[str, Any], max_depth: int) -> bytes:
    kind = document.get("type")
    if kind == "EPCISDocument":
        root_ns, root_prefix = _EPCIS_NS, "epcis"
    elif kind == "EPCISQueryDocument":
        root_ns, root_prefix = _QUERY_NS, "epcisq"
    else:
        raise InvalidDocument(
            f"document type {kind!r} is not an event document (EPCISDocument or EPCISQueryDocument)"
        )
    events, results = _events_of(document)
    writer = _Writer(document.get("@context"), max_depth)
    root = etree.Element(f"{{{root_ns}}}{kind}", nsmap={root_prefix: root_ns})
    root.set("schemaVersion", _scalar(document.get("schemaVersion", "2.0"), "schemaVersion"))
    root.set("creationDate", _string(document.get("creationDate"), "creationDate"))
    body = etree.SubElement(root, "EPCISBody")
    if kind == "EPCISQueryDocument":
        message = etree.SubElement(body, f"{{{_QUERY_NS}}}QueryResults")
        _sub(message, "queryName", _string(results.get("queryName"), "queryName"))
        if results.get("subscriptionID") is not None:
            _sub(message, "subscriptionID", _string(results["subscriptionID"], "subscriptionID"))
        body = etree.SubElement(message, "resultsBody")
    event_list = etree.SubElement(body, "EventList")
    if kind == "EPCISQueryDocument":  # the QueryResults' user extensions, after resultsBody
        writer.foreign_extensions(body.getparent(), results, _QUERY_RESULTS_KEYS)
    writer.foreign_extensions(root, document, _DOCUMENT_KEYS)  # after EPCISBody
    for index, event in enumerate(events):
        try:
            event = _event_id_alias(_object(event, "event"))
            kind_of_event = event.get("type")
            shape = _EVENTS.get(kind_of_event) if isinstance(kind_of_event, str) else None
            if shape is None:
                raise InvalidDocument(f"type {event.get('type')!r} is not an EPCIS 2.0 event type")
            writer.shaped(event_list, shape, event, 1)
        except InvalidDocument as exc:
            raise InvalidDocument(f"event {index}: {exc.message}") from None
    used = {ns for el in root.iter() for name in (el.tag, *el.attrib) if (ns := _split(name)[0])}
    etree.cleanup_namespaces(root, top_nsmap=writer.nsmap(root_prefix, root_ns, used))
    body_bytes: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body_bytes
