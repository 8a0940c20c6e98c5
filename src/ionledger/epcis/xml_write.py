"""Writing the JSON-LD form as EPCIS 2.0 XML that validates against the official XSD.

:func:`write_document` writes an EPCISDocument or EPCISQueryDocument with a :class:`_Writer`:
standard fields in XSD order (the field tables of :mod:`ionledger.epcis.xml_fields`), an
``<extension>`` for bare unknown keys where the XSD has one, then prefixed keys as elements in
the namespaces the document's ``@context`` declares, each namespace declared once, on the root.
What XML has no place for goes to the ``urn:ionledger:*`` namespaces the reader reads back
(:mod:`ionledger.epcis.xml_names`); what it cannot hold at all raises InvalidDocument.
"""

from __future__ import annotations

import json
from typing import Any, Final

from lxml import etree  # type: ignore[import-untyped]

from ionledger.epcis.xml_fields import EVENTS, Shape
from ionledger.epcis.xml_names import (
    EPCIS_NS,
    JSON_KEY_NS,
    JSON_PREFIX_NS,
    JSON_VALUED,
    JSONLD_KEYWORDS,
    NCNAME,
    QUERY_NS,
    STANDARD_PREFIXES,
    XML_NS,
    XSI_NIL,
    XSI_NS,
    Element,
    split,
)
from ionledger.epcis.xml_safe import MAX_DEPTH
from ionledger.epcis.xml_values import (
    as_list,
    as_object,
    as_string,
    scalar_text,
    sensor_text,
    sub_element,
)
from ionledger.errors import InvalidDocument

__all__ = ["write_document"]

# --- the writer ------------------------------------------------------------------------------


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
        self.prefix_of: dict[str, str] = {JSON_KEY_NS: "json"}  # namespace -> XML prefix

    # -- names ---------------------------------------------------------------------------------

    def qname(self, key: str, *, bare: bool) -> str:
        """Clark name for an extension key; a ``bare`` key may be unqualified (no namespace)."""
        prefix, colon, local = key.partition(":")
        if not colon:
            if key in self.terms:  # a term the context maps to a full IRI
                return self.iri_qname(self.terms[key], key)
            if not bare:
                return _clark(JSON_KEY_NS, key, key)
            return _clark(None, key, key)
        ns = self.terms.get(prefix)
        if ns is None and (local.startswith("//") or prefix == "urn"):
            return self.iri_qname(key, key)  # an absolute IRI
        ns = ns or STANDARD_PREFIXES.get(prefix) or (XML_NS if prefix == "xml" else None)
        ns = ns or JSON_PREFIX_NS + prefix
        self.prefix_of.setdefault(ns, prefix)
        return _clark(ns, local, key)

    def iri_qname(self, iri: str, key: str) -> str:
        # A declared namespace the IRI starts with keeps the XML namespace exactly as declared.
        for prefix, ns in sorted(self.terms.items(), key=lambda item: -len(item[1])):
            rest = iri[len(ns) :]
            if iri.startswith(ns) and NCNAME.fullmatch(rest):
                self.prefix_of.setdefault(ns, prefix)
                return _clark(ns, rest, key)
        cut = max(iri.rfind("/"), iri.rfind("#"), iri.rfind(":")) + 1
        return _clark(iri[:cut], iri[cut:], key)

    def nsmap(self, root_prefix: str, root_ns: str, used: set[str]) -> dict[str, str]:
        """Every namespace declared once, on the root, with the JSON prefix where possible."""
        nsmap = {root_prefix: root_ns}
        if XSI_NS in used:
            nsmap["xsi"] = XSI_NS
        n = 0
        for ns in sorted(used - {root_ns, XSI_NS, XML_NS}):
            prefix = self.prefix_of.get(ns, "")
            while not NCNAME.fullmatch(prefix) or prefix in nsmap or prefix[:3].lower() == "xml":
                n += 1
                prefix = f"ns{n}"
            nsmap[prefix] = ns
        return nsmap

    # -- values --------------------------------------------------------------------------------

    def extension(self, parent: Element, key: str, value: Any, depth: int, *, bare: bool) -> None:
        """One extension key: an element per value (a list repeats the element)."""
        qname = self.qname(key, bare=bare)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, list):
                raise InvalidDocument(f"extension {key!r}: a list in a list has no XML form")
            self.extension_element(parent, qname, item, depth)

    def extension_element(self, parent: Element, qname: str, value: Any, depth: int) -> None:
        if depth > self.max_depth:
            raise InvalidDocument(f"nesting deeper than the limit of {self.max_depth}")
        el = etree.SubElement(parent, qname)
        if value is None:
            el.set(XSI_NIL, "true")
        elif isinstance(value, dict):
            for key, item in as_object(value, qname).items():
                if key == "#text":
                    el.text = scalar_text(item, key)
                elif key.startswith("@"):
                    _set_attribute(el, self.qname(key[1:], bare=True), item, key)
                else:
                    self.extension(el, key, item, depth + 1, bare=True)
        else:
            el.text = scalar_text(value, qname)

    def shaped(self, parent: Element, shape: Shape, value: Any, depth: int) -> None:
        """Fields in XSD order, then <extension> for bare keys, then prefixed extensions."""
        value = as_object(value, shape.name)
        el = etree.SubElement(parent, shape.name)
        for field in shape.fields:
            item = value.get(field.key)
            if item is None:
                if field.required:
                    raise InvalidDocument(f"{shape.name}: {field.key} is required")
            elif field.many:
                for one in as_list(item, field.key):
                    field.kind.write(self, el, field.key, one)
            else:
                field.kind.write(self, el, field.key, item)
        is_event = shape.name in EVENTS
        local: list[tuple[str, Any]] = []
        for key, item in value.items():
            if shape.field(key) or key in JSONLD_KEYWORDS or (key == "type" and is_event):
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

    def foreign_extensions(self, el: Element, value: dict[str, Any], known: frozenset[str]) -> None:
        """A document's or QueryResults' prefixed keys, as ##other elements at its end."""
        for key, item in value.items():
            if key not in known and (":" in key or key in self.terms):
                self.extension(el, key, item, 1, bare=False)

    def attribute_object(
        self, parent: Element, name: str, value: Any, known: tuple[str, ...]
    ) -> None:
        """sensorMetadata / sensorReport: known attributes in XSD order, then extensions."""
        value = as_object(value, name)
        el = etree.SubElement(parent, name)
        for key in known:
            if value.get(key) is not None:
                el.set(key, sensor_text(key, value[key]))
        for key, item in value.items():
            if key in known or item is None:
                continue
            if key == "#text":
                el.text = scalar_text(item, key)
            else:
                _set_attribute(el, self.qname(key, bare=True), item, f"{name} {key}")


def _clark(ns: str | None, local: str, key: str) -> str:
    if not NCNAME.fullmatch(local):
        raise InvalidDocument(f"extension {key!r}: {local!r} is not a valid XML name")
    return f"{{{ns}}}{local}" if ns else local


def _set_attribute(el: Element, qname: str, value: Any, where: str) -> None:
    """An extension attribute: scalar text, or an object/list as JSON marked as such."""
    if not isinstance(value, dict | list):
        el.set(qname, scalar_text(value, where))
        return
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidDocument(f"{where}: not writable as JSON text: {exc}") from None
    el.set(qname, text)
    marked = el.get(JSON_VALUED)
    el.set(JSON_VALUED, f"{marked} {qname}" if marked else qname)


# --- documents -------------------------------------------------------------------------------


def _events_of(document: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """(events, queryResults or {}) of a JSON-LD event document."""
    body = as_object(document.get("epcisBody"), "epcisBody")
    if document.get("type") == "EPCISQueryDocument":
        results = as_object(body.get("queryResults"), "epcisBody.queryResults")
        body = as_object(results.get("resultsBody"), "queryResults.resultsBody")
        return as_list(body.get("eventList", []), "resultsBody.eventList"), results
    return as_list(body.get("eventList", []), "epcisBody.eventList"), {}


# Keys of a document and of its queryResults that are no user extension.
_DOCUMENT_KEYS: Final = frozenset(
    {*JSONLD_KEYWORDS, "type", "schemaVersion", "creationDate", "epcisHeader", "epcisBody"}
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
        return _write(as_object(document, "document"), max_depth)
    except ValueError as exc:  # lxml refuses text XML cannot hold (NUL, control characters)
        raise InvalidDocument(f"not writable as XML: {exc}") from None


def _write(document: dict[str, Any], max_depth: int) -> bytes:
    kind = document.get("type")
    if kind == "EPCISDocument":
        root_ns, root_prefix = EPCIS_NS, "epcis"
    elif kind == "EPCISQueryDocument":
        root_ns, root_prefix = QUERY_NS, "epcisq"
    else:
        raise InvalidDocument(
            f"document type {kind!r} is not an event document (EPCISDocument or EPCISQueryDocument)"
        )
    events, results = _events_of(document)
    writer = _Writer(document.get("@context"), max_depth)
    root = etree.Element(f"{{{root_ns}}}{kind}", nsmap={root_prefix: root_ns})
    root.set("schemaVersion", scalar_text(document.get("schemaVersion", "2.0"), "schemaVersion"))
    root.set("creationDate", as_string(document.get("creationDate"), "creationDate"))
    body = etree.SubElement(root, "EPCISBody")
    if kind == "EPCISQueryDocument":
        message = etree.SubElement(body, f"{{{QUERY_NS}}}QueryResults")
        sub_element(message, "queryName", as_string(results.get("queryName"), "queryName"))
        if results.get("subscriptionID") is not None:
            sub_element(
                message, "subscriptionID", as_string(results["subscriptionID"], "subscriptionID")
            )
        body = etree.SubElement(message, "resultsBody")
    event_list = etree.SubElement(body, "EventList")
    if kind == "EPCISQueryDocument":  # the QueryResults' user extensions, after resultsBody
        writer.foreign_extensions(body.getparent(), results, _QUERY_RESULTS_KEYS)
    writer.foreign_extensions(root, document, _DOCUMENT_KEYS)  # after EPCISBody
    for index, event in enumerate(events):
        try:
            event = _event_id_alias(as_object(event, "event"))
            kind_of_event = event.get("type")
            shape = EVENTS.get(kind_of_event) if isinstance(kind_of_event, str) else None
            if shape is None:
                raise InvalidDocument(f"type {event.get('type')!r} is not an EPCIS 2.0 event type")
            writer.shaped(event_list, shape, event, 1)
        except InvalidDocument as exc:
            raise InvalidDocument(f"event {index}: {exc.message}") from None
    used = {ns for el in root.iter() for name in (el.tag, *el.attrib) if (ns := split(name)[0])}
    etree.cleanup_namespaces(root, top_nsmap=writer.nsmap(root_prefix, root_ns, used))
    body_bytes: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body_bytes
