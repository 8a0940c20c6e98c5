"""Strict EPCIS 2.0 JSON validation: GS1's official JSON schema, implemented natively.

:func:`strict_findings` holds an EPCIS 2.0 JSON-LD document to the rules of GS1's
``EPCIS-JSON-Schema.json`` (draft-07) and returns every deviation as a :class:`Finding` (JSON
pointer, rule id, message, event index). The schema cannot be shipped or loaded at run time, so
its rules live as data tables and small functions, one module per part of the schema:

* :mod:`ionledger.epcis.vocabularies`: the CBV vocabularies, actions, event and document types;
* :mod:`ionledger.epcis.strict_formats`: the ``uri`` and ``date-time`` formats;
* :mod:`ionledger.epcis.strict_checks`: findings, the value checks and object :class:`Shape`
  (every shape registered in :data:`SHAPES`);
* :mod:`ionledger.epcis.strict_events`: the five event types (:data:`EVENT_SPECS`), extension
  events and events without a type;
* this module: the documents (EPCISDocument, EPCISQueryDocument, the header's master data) and
  :func:`strict_findings`, the one entry point; the names above are importable from here.

``tests/test_strict_*.py`` hold them to the official schema.

How the schema is read (definition names in quotes):

* The root dispatches on ``type`` with ``if``/``then``: "epcisDocument", "epcisQueryDocument",
  the five event types (plus "required-ld-context"), and "Extended-Event" (``type`` a URI) for
  anything else. Members of an "eventList" dispatch the same way ("EPCIS-Document-Event").
  When ``type`` is absent every ``if`` holds vacuously, so every branch applies; we report the
  missing ``type`` plus what the branch the object resembles says (each of those is also an
  error of the official schema), not the other branches' consequences.
* Objects list their members in ``properties`` and admit others only under URI names
  (``propertyNames``: the listed names or "vocab-uri"); "quantityElement", "bizTransaction",
  "source", "destination" and "persistentDisposition" admit no others at all
  (``additionalProperties: false``); "ilmd" admits only URI names.
* CBV fields are ``anyOf`` [a bare CBV 2.0 term, a URI outside the CBV namespaces]
  ("vocab-other-uri" refuses ``urn:epcglobal:cbv...`` and ``http(s)://ns.gs1.org/cbv/``);
  measurement and alert types refuse GS1 Web Vocabulary URIs instead ("vocab-nonGS1WebVoc-uri").
  So CBV 1.x URNs such as ``urn:epcglobal:cbv:btt:po`` are errors.
* Each event type has an ``anyOf`` saying what the event must be about (EPCs, quantities, ...);
  an ObjectEvent may carry ``ilmd`` only with action ADD.

Where JSON Schema leaves a choice, we take the standard's reading: formats are asserted
(``date-time`` is RFC 3339 section 5.6 with a UTC offset, ``uri`` is RFC 3986 ``URI``), and
patterns are ECMA-262 (``$`` is the end of the string, ``\\d`` is ASCII).
"""

from __future__ import annotations

from typing import Any

from ionledger.epcis.strict_checks import (
    SHAPES,
    Check,
    Finding,
    Out,
    Rule,
    Shape,
    array,
    attribute_value,
    check_shape,
    context,
    define_shape,
    object_of,
    ok,
    string,
    time,
    uri,
    version,
    wrong_type,
)
from ionledger.epcis.strict_events import (
    EVENT_SPECS,
    SENSOR_REPORT_DECIMALS,
    EventSpec,
    check_event,
    event_list,
)
from ionledger.epcis.strict_formats import is_date_time, is_uri
from ionledger.epcis.vocabularies import (
    ACTIONS,
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    DOCUMENT_TYPES,
    ERROR_REASON,
    EVENT_TYPES,
    MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE,
    SOURCE_DEST_TYPE,
    Vocabulary,
)

__all__ = [
    "ACTIONS",
    "BIZ_STEP",
    "BIZ_TRANSACTION_TYPE",
    "COMPONENT",
    "DISPOSITION",
    "DOCUMENT_TYPES",
    "ERROR_REASON",
    "EVENT_SPECS",
    "EVENT_TYPES",
    "MEASUREMENT_TYPE",
    "SENSOR_ALERT_TYPE",
    "SENSOR_REPORT_DECIMALS",
    "SHAPES",
    "SOURCE_DEST_TYPE",
    "Check",
    "EventSpec",
    "Finding",
    "Rule",
    "Shape",
    "Vocabulary",
    "is_date_time",
    "is_uri",
    "strict_findings",
]


# --- documents -------------------------------------------------------------------------------

_VOCABULARY_ELEMENT = define_shape(
    "vocabularyElement",
    {
        "id": uri,
        "attributes": array(
            object_of(
                define_shape(
                    "attribute", {"id": uri, "attribute": attribute_value}, "id", names="open"
                )
            )
        ),
        "children": array(uri),
    },
    "id",
    names="open",
)
_VOCABULARY = define_shape(
    "vocabulary",
    {"type": uri, "vocabularyElementList": array(object_of(_VOCABULARY_ELEMENT))},
    "type",
    names="open",
)
_vocabulary_list = array(object_of(_VOCABULARY))  # "vocabularyList"
_EPCIS_HEADER = define_shape(
    "epcisHeader",
    {
        "epcisMasterData": object_of(
            define_shape("epcisMasterData", {"vocabularyList": _vocabulary_list}, names="open")
        )
    },
    names="extensible",
)
_EPCIS_DOCUMENT = define_shape(
    "epcisDocument",
    {
        "@context": context,
        "id": uri,
        "type": ok,
        "schemaVersion": version,
        "creationDate": time,
        "instanceIdentifier": string,
        "sender": string,
        "receiver": string,
        "epcisHeader": object_of(_EPCIS_HEADER),
        "epcisBody": object_of(
            define_shape("epcisBody", {"eventList": event_list}, "eventList", names="open")
        ),
    },
    "@context",
    "type",
    "schemaVersion",
    "creationDate",
    "epcisBody",
    names="extensible",
)
_RESULTS_BODY = define_shape(
    "resultsBody",
    {"eventList": event_list, "vocabularyList": _vocabulary_list},
    "eventList",
    names="extensible",
)
_QUERY_RESULTS = define_shape(
    "queryResults",
    {"queryName": string, "subscriptionID": string, "resultsBody": object_of(_RESULTS_BODY)},
    "queryName",
    "resultsBody",
    names="extensible",
)
_EPCIS_QUERY_DOCUMENT = define_shape(
    "epcisQueryDocument",
    {
        "@context": context,
        "id": uri,
        "type": ok,
        "schemaVersion": version,
        "creationDate": time,
        "epcisBody": object_of(
            define_shape(
                "epcisQueryDocumentBody",
                {"queryResults": object_of(_QUERY_RESULTS)},
                "queryResults",
                names="extensible",
            )
        ),
    },
    "@context",
    "type",
    "epcisBody",
    names="extensible",
)


def _resembles_query(document: dict[str, Any]) -> bool:
    body = document.get("epcisBody")
    return isinstance(body, dict) and "queryResults" in body


def strict_findings(document: dict[str, Any]) -> list[Finding]:
    """Every deviation of ``document`` from GS1's EPCIS 2.0 JSON schema, in document order.

    An EPCISDocument or EPCISQueryDocument is the usual input; a lone event (with its own
    ``@context``) is checked the way the schema's root checks one. Empty means conformant.
    """
    out = Out()
    if not isinstance(document, dict):
        wrong_type(document, "an object (an EPCIS document)", "", out)
        return out.findings
    kind = document.get("type")
    if "type" not in document and "epcisBody" in document:  # every branch applies; see above
        kind = "EPCISQueryDocument" if _resembles_query(document) else "EPCISDocument"
    if kind == "EPCISDocument":
        check_shape(_EPCIS_DOCUMENT, document, "", out)
    elif kind == "EPCISQueryDocument":
        check_shape(_EPCIS_QUERY_DOCUMENT, document, "", out)
    else:
        check_event(document, "", out, top=True)
    return out.findings
