"""The names of the EPCIS XML mapping: XML namespaces, JSON-LD prefixes, XML names.

An XML namespace is a standard prefix's only if it is that prefix's IRI exactly. JSON that XML
has no direct place for is kept in ``urn:ionledger:*`` namespaces and read back unchanged: a
bare key where only namespaced elements may go, a prefix no local ``@context`` declares, an
object or list in an attribute (see :mod:`ionledger.epcis.xml`).
"""

from __future__ import annotations

import re
from typing import Any, Final

#: An lxml element (lxml has no type stubs here).
Element = Any

# --- namespaces ------------------------------------------------------------------------------

EPCIS_NS: Final = "urn:epcglobal:epcis:xsd:2"
QUERY_NS: Final = "urn:epcglobal:epcis-query:xsd:2"
MASTERDATA_NS: Final = "urn:epcglobal:epcis-masterdata:xsd:2"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
XSI_NIL: Final = f"{{{XSI_NS}}}nil"
# EPCIS 1.x (1.0 to 1.2) event documents are read into the 2.0 form too.
EPCIS_V1_NS: Final = "urn:epcglobal:epcis:xsd:1"
QUERY_V1_NS: Final = "urn:epcglobal:epcis-query:xsd:1"
MASTERDATA_V1_NS: Final = "urn:epcglobal:epcis-masterdata:xsd:1"
EPCIS_NAMESPACES: Final = frozenset(
    {EPCIS_NS, QUERY_NS, MASTERDATA_NS, EPCIS_V1_NS, QUERY_V1_NS, MASTERDATA_V1_NS}
)
# JSON keys XML has no place for keep one here, so that they read back unchanged: a bare key
# where only namespaced elements are allowed (e.g. a lenient import's "action" on a
# TransformationEvent), and a prefix no local @context declares (a remote context's, which a
# node does not fetch).
JSON_KEY_NS: Final = "urn:ionledger:json-key"
JSON_PREFIX_NS: Final = "urn:ionledger:json-prefix:"
# An attribute can only hold text: one whose JSON value is an object or a list (e.g. a node
# reference {"@id": ...} on a sensorReport) holds it as JSON, and this attribute lists it.
JSON_VALUED: Final = f"{{{JSON_KEY_NS}}}jsonValued"

# Prefixes the standard context defines, with their IRIs: an XML namespace maps to one only if
# it is that IRI exactly. GS1's XML examples write cbvmda's namespace without the final colon
# ("urn:epcglobal:cbv:mda"); that is another IRI, and the CBV 2.0 hash ID (whose reference
# hashes XML namespaces as written) tells the two apart, so it keeps a prefix of its own.
STANDARD_PREFIXES: Final = {
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "cbv": "https://ref.gs1.org/cbv/",
    "epcis": "https://ref.gs1.org/epcis/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "dcterms": "http://purl.org/dc/terms/",
}
STANDARD_BY_NS: Final = {ns: prefix for prefix, ns in STANDARD_PREFIXES.items()}
# Terms of the (protected) standard context: an output prefix must not redefine any of them.
RESERVED_PREFIXES: Final = frozenset(
    {
        *STANDARD_PREFIXES, "xsd", "xml", "xmlns", "xsi", "id", "type", "baseURL",
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

NCNAME: Final = re.compile(r"[^\W\d][\w.\-]*")  # an XML name without ':' (close enough)
JSONLD_KEYWORDS: Final = frozenset(
    {"@context", "@id", "@type", "@value", "@language", "@list", "@set", "@graph", "@base",
     "@vocab", "@reverse", "@index", "@nest", "@none", "@prefix", "@protected", "@version",
     "@direction", "@included", "@json", "@import", "@propagate"}
)  # fmt: skip


def split(tag: str) -> tuple[str | None, str]:
    """(namespace or None, local name) of a Clark-notation tag or attribute name."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return None, tag
