"""EPCIS XML <-> the JSON-LD form (what ``json.loads`` gives for a GS1 JSON-LD document).

Reading takes EPCIS 2.0 and 1.x (1.0 to 1.2) event documents, EPCISDocument and
EPCISQueryDocument, and gives the 2.0 form (schemaVersion "2.0"); writing gives EPCIS 2.0 only.

Reading is hardened (:mod:`ionledger.epcis.xml_safe`: no entities, DTDs or network, size and
depth capped) and every failure is an :class:`~ionledger.errors.InvalidDocument`. Writing gives
XML that validates against the official XSD, elements in its order.

The work is split by direction, around one set of tables: :mod:`ionledger.epcis.xml_names`
(namespaces and prefixes), :mod:`ionledger.epcis.xml_values` (simple values both ways),
:mod:`ionledger.epcis.xml_fields` (the XSD's types, each field's reader beside its writer),
:mod:`ionledger.epcis.xml_read` and :mod:`ionledger.epcis.xml_write`. This module is the public
face: import from here.

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

from ionledger.epcis.documents import STANDARD_CONTEXT
from ionledger.epcis.xml_read import read_document, read_events
from ionledger.epcis.xml_safe import DOCTYPE_REFUSED, MAX_DEPTH, MAX_XML_BYTES
from ionledger.epcis.xml_write import write_document

__all__ = [
    "DOCTYPE_REFUSED",
    "MAX_DEPTH",
    "MAX_XML_BYTES",
    "STANDARD_CONTEXT",
    "read_document",
    "read_events",
    "write_document",
]
