"""Reading EPCIS XML (2.0, and 1.0 to 1.2) into the 2.0 JSON-LD form.

:func:`read_document` parses safely (:mod:`ionledger.epcis.xml_safe`), recognises the document
(EPCISDocument or EPCISQueryDocument, in the 2.0 or the 1.x namespaces; anything else is named
and refused) and converts its events with a :class:`_Reader`, which walks the field tables of
:mod:`ionledger.epcis.xml_fields` and turns everything else into user extensions, choosing a
JSON prefix for each XML namespace it meets (the output ``@context``).

EPCIS 1.x layout: an event's ``<extension>``/``<baseExtension>`` wrappers are unwrapped
(eventID and errorDeclaration in baseExtension; quantityList, sourceList, destinationList and
ilmd in extension; TransformationEvent in the EventList's extension), and the document read
says schemaVersion "2.0".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Final

from ionledger.epcis.documents import STANDARD_CONTEXT
from ionledger.epcis.xml_fields import EVENTS, Shape
from ionledger.epcis.xml_names import (
    EPCIS_NAMESPACES,
    EPCIS_NS,
    EPCIS_V1_NS,
    JSON_KEY_NS,
    JSON_PREFIX_NS,
    JSON_VALUED,
    MASTERDATA_NS,
    MASTERDATA_V1_NS,
    NCNAME,
    QUERY_NS,
    QUERY_V1_NS,
    RESERVED_PREFIXES,
    STANDARD_BY_NS,
    XML_NS,
    XSI_NIL,
    XSI_NS,
    Element,
    split,
)
from ionledger.epcis.xml_safe import MAX_DEPTH, MAX_XML_BYTES, parse
from ionledger.epcis.xml_values import children, element_text, fail, sensor_value
from ionledger.errors import InvalidDocument

__all__ = ["read_document", "read_events"]

# --- elements --------------------------------------------------------------------------------


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
        known = "xml" if ns == XML_NS else self.prefix_of.get(ns) or STANDARD_BY_NS.get(ns)
        if known:
            self.prefix_of[ns] = known
            return known
        # XML reserves prefixes starting with "xml"; the writer would rename them.
        usable = hint and NCNAME.fullmatch(hint) and not hint.lower().startswith("xml")
        base = hint if hint and usable else "ns"
        n = 1
        candidate = base if base != "ns" else "ns1"
        taken = self.declared.keys() | self.undeclared
        while candidate in RESERVED_PREFIXES or candidate in taken:
            n += 1
            candidate = f"{base}{n}"
        self.prefix_of[ns] = candidate
        self.declared[candidate] = ns
        return candidate

    def key(self, el: Element, name: str, *, attribute: bool = False) -> str:
        """JSON key of an element (or attribute) name: ``prefix:local``, bare if unqualified."""
        ns, local = split(name)
        if ns is None or ns == JSON_KEY_NS:
            return local
        undeclared = ns.removeprefix(JSON_PREFIX_NS)
        if undeclared != ns and undeclared and undeclared not in self.declared:
            self.undeclared.add(undeclared)
            return f"{undeclared}:{local}"
        hint = _prefix_in_scope(el, ns) if attribute else el.prefix
        return f"{self.prefix(ns, hint)}:{local}"

    # -- user extensions -----------------------------------------------------------------------

    def attributes(self, el: Element) -> dict[str, Any]:
        """Attributes of an element-shaped object as ``@``-keys."""
        return {
            "@" + self.key(el, name, attribute=True): value
            for name, value in _attributes(el, self.max_depth)
        }

    def extension(self, el: Element) -> Any:
        """An extension element: text is a string; attributes or children make an object."""
        kids = children(el)
        out = self.attributes(el)
        if not kids and not out:
            if el.get(XSI_NIL) in ("true", "1") and not el.text:
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

    def add_extensions(self, out: dict[str, Any], elements: list[Element], at: Element) -> None:
        """Extension elements into ``out``: one key each, a list where the element repeats."""
        grouped: dict[str, list[Any]] = {}
        for child in elements:
            grouped.setdefault(self.key(child, child.tag), []).append(self.extension(child))
        for key, values in grouped.items():
            if key in out:
                raise fail(at, f"extension {key!r} clashes with a field of the same name")
            out[key] = values[0] if len(values) == 1 else values

    # -- element-shaped objects ----------------------------------------------------------------

    def shaped(self, el: Element, shape: Shape) -> dict[str, Any]:
        found: dict[str, list[Element]] = {}
        extensions: list[Element] = []
        for child in _unwrapped(el):
            ns, local = split(child.tag)
            field = shape.field(local) if ns is None else None
            if field is not None:
                if local in found and not field.many:
                    raise fail(child, f"repeated in <{shape.name}>")
                found.setdefault(local, []).append(child)
            elif ns is None and not shape.local_extensions:
                raise fail(child, f"unexpected element in <{shape.name}>")
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

    def event(self, el: Element) -> dict[str, Any]:
        shape = EVENTS.get(el.tag)  # unqualified, like every element inside EPCISBody
        if el.tag == "QuantityEvent":
            raise fail(
                el,
                "not an EPCIS 2.0 event: EPCIS 1.2 deprecated QuantityEvent and 2.0"
                " removed it (an ObjectEvent with a quantityList replaces it)",
            )
        if shape is None:
            raise fail(el, f"not an EPCIS 2.0 event (one of {', '.join(EVENTS)})")
        return {"type": shape.name, **self.shaped(el, shape)}

    def events(self, event_list: Element) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for child in _unwrapped(event_list):  # 1.x put TransformationEvent in <extension>
            try:
                events.append(self.event(child))
            except InvalidDocument as exc:
                raise InvalidDocument(f"event {len(events)}: {exc.message}") from None
        return events

    def attribute_object(self, el: Element, known: tuple[str, ...]) -> dict[str, Any]:
        """sensorMetadata / sensorReport: every field is an attribute, extensions too."""
        if children(el):
            raise fail(el, "expected attributes only, found child elements")
        out: dict[str, Any] = {}
        for name in known:
            value = el.get(name)
            if value is not None:
                out[name] = sensor_value(name, value, f"line {el.sourceline}: {name}")
        for name, value in _attributes(el, self.max_depth, skip=known):
            out[self.key(el, name, attribute=True)] = value
        if el.text and el.text.strip():  # the XSD allows text content; keep it
            out["#text"] = el.text
        return out


def _attributes(
    el: Element, max_depth: int, skip: tuple[str, ...] = ()
) -> Iterator[tuple[str, Any]]:
    """(name, value) of the attributes kept: no xsi: hints; JSON-valued ones decoded."""
    json_valued = set((el.get(JSON_VALUED) or "").split())
    for name, value in el.attrib.items():
        if name in skip or name == JSON_VALUED or split(name)[0] == XSI_NS:
            continue
        if name not in json_valued:
            yield name, value
            continue
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise fail(el, f"attribute {name}: not the JSON it is marked as: {exc}") from None
        if _json_depth(decoded) > max_depth:
            raise fail(el, f"attribute {name}: JSON deeper than the limit of {max_depth}")
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


def _prefix_in_scope(el: Element, ns: str) -> str | None:
    return next((prefix for prefix, uri in el.nsmap.items() if uri == ns and prefix), None)


def _unwrapped(el: Element) -> Iterator[Element]:
    """Children, with unqualified <extension>/<baseExtension> wrappers replaced by theirs."""
    for child in children(el):
        if child.tag in ("extension", "baseExtension"):
            yield from _unwrapped(child)
        else:
            yield child


# --- documents -------------------------------------------------------------------------------

# Roots that are EPCIS but carry no events: recognised and named.
_NOT_EVENT_DOCUMENTS: Final = {
    (MASTERDATA_NS, "EPCISMasterDataDocument"): "an EPCIS master-data document",
    (MASTERDATA_V1_NS, "EPCISMasterDataDocument"): "an EPCIS 1.x master-data document",
    (EPCIS_NS, "EPCISCaptureJob"): "an EPCIS capture-job status document",
    (EPCIS_NS, "EPCISException"): "an EPCIS exception report",
}
_EVENT_DOCUMENT_ROOTS: Final = {f"{{{ns}}}EPCISDocument": ns for ns in (EPCIS_NS, EPCIS_V1_NS)}
_QUERY_DOCUMENT_ROOTS: Final = {f"{{{ns}}}EPCISQueryDocument": ns for ns in (QUERY_NS, QUERY_V1_NS)}
# QueryResults, as the XSD qualifies it; unqualified as some documents (GS1's hash ID
# reference's among them) write it.
_QUERY_RESULTS: Final = frozenset(
    {f"{{{QUERY_NS}}}QueryResults", f"{{{QUERY_V1_NS}}}QueryResults", "QueryResults"}
)


def _not_event_document(root: Element) -> InvalidDocument:
    ns, name = split(root.tag)
    what = _NOT_EVENT_DOCUMENTS.get((ns or "", name))
    if what:
        return InvalidDocument(f"{what} ({name}), not an event document")
    if ns in EPCIS_NAMESPACES:
        return InvalidDocument(f"an EPCIS {name} element, not an event document")
    where = f"{{{ns}}}{name}" if ns else name
    return InvalidDocument(
        f"not an EPCIS document: the root element is {where}, expected EPCISDocument or"
        f" EPCISQueryDocument in {EPCIS_NS} / {QUERY_NS} (or their EPCIS 1.x namespaces)"
    )


def _only_child(el: Element, name: str, *, required: bool = True) -> Element | None:
    found = [child for child in children(el) if child.tag == name]
    if len(found) > 1:
        raise fail(found[1], f"repeated in <{split(el.tag)[1]}>")
    if not found and required:
        raise fail(el, f"has no <{name}>")
    return found[0] if found else None


def _document_fields(root: Element, kind: str, *, v1: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind}
    for name in ("schemaVersion", "creationDate"):
        value = root.get(name)
        if value is not None:
            out[name] = value.strip()
    if v1:  # the document read is the 2.0 form of a 1.x one
        out["schemaVersion"] = "2.0"
    return out


def _foreign_extensions(el: Element, reader: _Reader) -> dict[str, Any]:
    """A document's or QueryResults' user extensions (##other elements), as prefixed keys.

    Its unqualified <extension> (reserved for GS1) is dropped, as is anything EPCIS's own.
    """
    out: dict[str, Any] = {}
    foreign = [kid for kid in children(el) if split(kid.tag)[0] not in (None, *EPCIS_NAMESPACES)]
    reader.add_extensions(out, foreign, el)
    return out


def _read_event_document(root: Element, reader: _Reader, *, v1: bool) -> dict[str, Any]:
    body = _only_child(root, "EPCISBody")
    event_list = _only_child(body, "EventList", required=False)
    events = reader.events(event_list) if event_list is not None else []
    return {
        **_document_fields(root, "EPCISDocument", v1=v1),
        "epcisBody": {"eventList": events},
        **_foreign_extensions(root, reader),
    }


def _query_message(root: Element) -> Element:
    """The one message in a query document's body; the root itself where it holds the
    QueryResults fields directly, without EPCISBody and QueryResults (as in a document of
    GS1's hash ID reference)."""
    body = _only_child(root, "EPCISBody", required=False)
    if body is None:
        if _only_child(root, "resultsBody", required=False) is None:
            raise fail(root, "has no <EPCISBody>")
        return root
    kids = children(body)
    if len(kids) != 1:
        raise fail(body, "an EPCISQueryDocument body holds exactly one message")
    message = kids[0]
    if message.tag not in _QUERY_RESULTS:
        name = split(message.tag)[1]
        raise InvalidDocument(f"an EPCIS query-interface message ({name}), not an event document")
    return message


def _read_query_document(root: Element, reader: _Reader, *, v1: bool) -> dict[str, Any]:
    message = _query_message(root)
    results: dict[str, Any] = {}
    for field in ("subscriptionID", "queryName"):
        child = _only_child(message, field, required=field == "queryName")
        if child is not None:
            results[field] = element_text(child)
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
    root = parse(data, max_bytes=max_bytes, max_depth=max_depth)
    reader = _Reader(max_depth)
    if root.tag in _EVENT_DOCUMENT_ROOTS:
        v1 = _EVENT_DOCUMENT_ROOTS[root.tag] == EPCIS_V1_NS
        document = _read_event_document(root, reader, v1=v1)
    elif root.tag in _QUERY_DOCUMENT_ROOTS:
        v1 = _QUERY_DOCUMENT_ROOTS[root.tag] == QUERY_V1_NS
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
