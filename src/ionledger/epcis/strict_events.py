"""The events of GS1's EPCIS 2.0 JSON schema, as strict validation checks them.

Each of the five event types is an :class:`EventSpec`: its members (the common "Event" ones
plus its own, in a :class:`~ionledger.epcis.strict_checks.Shape`) and the rules across members
that the schema writes as ``anyOf`` (what the event must be about; an ObjectEvent may carry
``ilmd`` only with action ADD). An event of any other type is an "Extended-Event", whose
``type`` must be a URI. An event without ``type`` falls under every type's branch at once
(each ``if type == ...`` holds vacuously): we report the missing ``type`` and what each member
breaks under the types that define it, not each branch's other consequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ionledger.epcis.strict_checks import (
    Check,
    Out,
    Rule,
    Shape,
    action,
    array,
    boolean,
    certification_info,
    check_shape,
    context,
    define_shape,
    hex_binary,
    in_vocabulary,
    member_pointer,
    number,
    object_of,
    ok,
    string,
    time,
    typed,
    tz_offset,
    uom,
    uri,
    wrong_type,
)
from ionledger.epcis.strict_formats import is_uri, show
from ionledger.epcis.vocabularies import (
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
)

__all__ = ["EVENT_SPECS", "SENSOR_REPORT_DECIMALS", "EventSpec", "check_event", "event_list"]

_QUANTITY_ELEMENT = define_shape(
    "quantityElement",
    {"epcClass": uri, "quantity": number, "uom": uom},
    "epcClass",
    names="closed",
)
_quantity_list = array(object_of(_QUANTITY_ELEMENT))  # "quantityList"
_epc_list = array(uri, unique=True)  # "epcList"
_uri_list = array(uri)  # childEPCs, and epcList of a TransactionEvent: no uniqueItems there
_dispositions = array(in_vocabulary(DISPOSITION), min_items=1, unique=True)
_PERSISTENT_DISPOSITION = define_shape(
    "persistentDisposition", {"set": _dispositions, "unset": _dispositions}, names="closed"
)


def _persistent_disposition(value: Any, ptr: str, out: Out) -> None:
    # allOf [the closed object, anyOf [required set, required unset]]
    if check_shape(_PERSISTENT_DISPOSITION, value, ptr, out) and not {"set", "unset"} & set(value):
        out.add(ptr, "anyOf", "persistentDisposition needs 'set' or 'unset'")


_READ_POINT = define_shape("readPoint", {"id": uri}, "id", names="open")
_BIZ_LOCATION = define_shape("bizLocation", {"id": uri}, "id", names="open")
_BIZ_TRANSACTION = define_shape(
    "bizTransaction",
    {"type": in_vocabulary(BIZ_TRANSACTION_TYPE), "bizTransaction": uri},
    "bizTransaction",
    names="closed",
)
_SOURCE = define_shape(
    "source",
    {"type": in_vocabulary(SOURCE_DEST_TYPE), "source": uri},
    "type",
    "source",
    names="closed",
)
_DESTINATION = define_shape(
    "destination",
    {"type": in_vocabulary(SOURCE_DEST_TYPE), "destination": uri},
    "type",
    "destination",
    names="closed",
)
_SENSOR_METADATA = define_shape(
    "sensorMetadata",
    {
        "time": time,
        "deviceID": uri,
        "deviceMetadata": uri,
        "rawData": uri,
        "startTime": time,
        "endTime": time,
        "dataProcessingMethod": uri,
        "bizRules": uri,
    },
    names="extensible",
)
SENSOR_REPORT_DECIMALS: Final = (  # the sensorReport members that are "decimal"
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
)
_SENSOR_REPORT = define_shape(
    "sensorReport",
    {
        "type": in_vocabulary(MEASUREMENT_TYPE),
        "exception": in_vocabulary(SENSOR_ALERT_TYPE),
        "deviceID": uri,
        "deviceMetadata": uri,
        "rawData": uri,
        "dataProcessingMethod": uri,
        "bizRules": uri,
        "time": time,
        "microorganism": uri,
        "chemicalSubstance": uri,
        "coordinateReferenceSystem": uri,
        "component": in_vocabulary(COMPONENT),
        "stringValue": string,
        "booleanValue": boolean,
        "hexBinaryValue": hex_binary,
        "uriValue": uri,
        "uom": string,  # "string" here, not "uom": no pattern for sensor units
    }
    | dict.fromkeys(SENSOR_REPORT_DECIMALS, number),
    "type",
    names="extensible",
)
_SENSOR_ELEMENT = define_shape(
    "sensorElement",
    {
        "sensorMetadata": object_of(_SENSOR_METADATA),
        "sensorReport": array(object_of(_SENSOR_REPORT), min_items=1),  # "sensorReportList"
    },
    "sensorReport",
    names="extensible",
)
_ILMD = define_shape("ilmd", {}, names="uris")
_ERROR_DECLARATION = define_shape(
    "errorDeclaration",
    {
        "declarationTime": time,
        "reason": in_vocabulary(ERROR_REASON),
        "correctiveEventIDs": array(uri),
    },
    "declarationTime",
    names="extensible",
)

# "Event": what every event has; "type" is listed in "common-event-properties".
_EVENT_FIELDS: Final[dict[str, Check]] = {
    "@context": context,
    "type": ok,
    "eventTime": time,
    "recordTime": time,
    "eventTimeZoneOffset": tz_offset,
    "eventID": uri,
    "certificationInfo": certification_info,
    "errorDeclaration": object_of(_ERROR_DECLARATION),
}
_EVENT_REQUIRED: Final = ("eventTime", "eventTimeZoneOffset")
_WHERE: Final[dict[str, Check]] = {
    "bizStep": in_vocabulary(BIZ_STEP),
    "disposition": in_vocabulary(DISPOSITION),
    "readPoint": object_of(_READ_POINT),
    "bizLocation": object_of(_BIZ_LOCATION),
}
_biz_transactions = array(object_of(_BIZ_TRANSACTION))
_PARTIES: Final[dict[str, Check]] = {
    "sourceList": array(object_of(_SOURCE)),
    "destinationList": array(object_of(_DESTINATION)),
    "sensorElementList": array(object_of(_SENSOR_ELEMENT)),
}
_CHILDREN: Final[dict[str, Check]] = {
    "parentID": uri,
    "childEPCs": _uri_list,
    "childQuantityList": _quantity_list,
    "action": action,
}


def _nonempty(event: dict[str, Any], key: str) -> bool:
    value = event.get(key)
    return isinstance(value, list) and len(value) > 0


def _deleting(event: dict[str, Any]) -> bool:
    """The anyOf branch ``{"properties": {"action": {"pattern": "^DELETE$"}}}``."""
    return "action" not in event or event["action"] == "DELETE"


def _object_event_about(event: dict[str, Any], ptr: str, out: Out) -> None:
    if not (
        isinstance(event.get("epcList"), list)
        or _nonempty(event, "quantityList")
        or (_nonempty(event, "sensorElementList") and "readPoint" in event)
    ):
        out.add(
            ptr,
            "anyOf",
            "an ObjectEvent needs epcList, a non-empty quantityList, or a non-empty"
            " sensorElementList with a readPoint",
        )


def _ilmd_needs_add(event: dict[str, Any], ptr: str, out: Out) -> None:
    # anyOf [no ilmd and OBSERVE, no ilmd and DELETE, ADD]; other actions fail "action" itself
    action = event.get("action")
    if "ilmd" in event and action in ("OBSERVE", "DELETE"):
        out.add(ptr + "/ilmd", "not", f"ilmd is allowed only with action ADD, not {action}")


def _children_about(event: dict[str, Any], ptr: str, out: Out) -> None:
    if not (
        _deleting(event) or _nonempty(event, "childEPCs") or _nonempty(event, "childQuantityList")
    ):
        out.add(
            ptr,
            "anyOf",
            f"an {event.get('type')} whose action is not DELETE needs a non-empty childEPCs"
            " or childQuantityList",
        )


def _transaction_about(event: dict[str, Any], ptr: str, out: Out) -> None:
    if not (
        _deleting(event)
        or isinstance(event.get("epcList"), list)
        or _nonempty(event, "quantityList")
    ):
        out.add(
            ptr,
            "anyOf",
            "a TransactionEvent whose action is not DELETE needs epcList or a non-empty"
            " quantityList",
        )


def _transformation_about(event: dict[str, Any], ptr: str, out: Out) -> None:
    inputs = _nonempty(event, "inputEPCList") or _nonempty(event, "inputQuantityList")
    outputs = _nonempty(event, "outputEPCList") or _nonempty(event, "outputQuantityList")
    if not ((inputs and outputs) or ("transformationID" in event and (inputs or outputs))):
        out.add(
            ptr,
            "anyOf",
            "a TransformationEvent needs non-empty inputs (inputEPCList or inputQuantityList)"
            " and outputs (outputEPCList or outputQuantityList), or a transformationID with"
            " either",
        )


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event type: its members (``Shape``, ``propertyNames`` as listed or URI) and the
    rules across members (the schema's ``anyOf`` parts)."""

    shape: Shape
    rules: tuple[Rule, ...]


def _event_spec(
    name: str, fields: dict[str, Check], required: tuple[str, ...], *rules: Rule
) -> EventSpec:
    shape = define_shape(
        name, _EVENT_FIELDS | fields, *_EVENT_REQUIRED, *required, names="extensible"
    )
    return EventSpec(shape, rules)


EVENT_SPECS: Final[dict[str, EventSpec]] = {
    "ObjectEvent": _event_spec(
        "ObjectEvent",
        {
            "epcList": _epc_list,
            "quantityList": _quantity_list,
            "action": action,
            **_WHERE,
            "persistentDisposition": _persistent_disposition,
            "bizTransactionList": _biz_transactions,
            **_PARTIES,
            "ilmd": object_of(_ILMD),
        },
        ("type", "action"),
        _object_event_about,
        _ilmd_needs_add,
    ),
    "AggregationEvent": _event_spec(
        "AggregationEvent",
        {**_CHILDREN, **_WHERE, "bizTransactionList": _biz_transactions, **_PARTIES},
        ("type", "action"),
        _children_about,
    ),
    "TransactionEvent": _event_spec(
        "TransactionEvent",
        {
            "bizTransactionList": array(object_of(_BIZ_TRANSACTION), min_items=1),
            "parentID": uri,
            "epcList": _uri_list,
            "quantityList": _quantity_list,
            "action": action,
            **_WHERE,
            **_PARTIES,
        },
        ("type", "bizTransactionList", "action"),
        _transaction_about,
    ),
    "TransformationEvent": _event_spec(
        "TransformationEvent",
        {
            "inputEPCList": _epc_list,
            "inputQuantityList": _quantity_list,
            "outputEPCList": _epc_list,
            "outputQuantityList": _quantity_list,
            "transformationID": uri,
            **_WHERE,
            "persistentDisposition": _persistent_disposition,
            "bizTransactionList": _biz_transactions,
            **_PARTIES,
            "ilmd": object_of(_ILMD),
        },
        ("type",),
        _transformation_about,
    ),
    "AssociationEvent": _event_spec(
        "AssociationEvent",
        {**_CHILDREN, **_WHERE, "bizTransactionList": _biz_transactions, **_PARTIES},
        ("type", "action", "parentID"),
        _children_about,
    ),
}
# "Extended-Event": an event of a type named by a URI; only the "Event" rules apply.
_EXTENDED_EVENT = define_shape(
    "Extended-Event", _EVENT_FIELDS, *_EVENT_REQUIRED, "type", names="open"
)


def _any_event_checks() -> dict[str, tuple[Check, ...]]:
    """An event without "type" falls under every event type's branch at once: each member
    gets the checks of every type that defines it."""
    checks: dict[str, tuple[Check, ...]] = {}
    for spec in EVENT_SPECS.values():
        for key, check in spec.shape.fields.items():
            if check not in checks.get(key, ()):
                checks[key] = (*checks.get(key, ()), check)
    return checks


_ANY_EVENT_CHECKS: Final = _any_event_checks()


def _event_type(value: Any, ptr: str, out: Out, *, top: bool) -> None:
    """The ``type`` of an event that is none of the five: "Extended-Event" wants a URI."""
    known = (*DOCUMENT_TYPES, *EVENT_TYPES) if top else EVENT_TYPES
    if not isinstance(value, str):
        wrong_type(value, "a string (an event type)", ptr, out)
    elif not is_uri(value):
        out.add(
            ptr,
            "enum",
            f"type {show(value)} is not one of {', '.join(known)} nor a URI naming an"
            " extension event type",
        )


def check_event(value: Any, ptr: str, out: Out, *, top: bool = False) -> None:
    """An event ("EPCIS-Document-Event"; at the top, with "required-ld-context")."""
    if not isinstance(value, dict):
        wrong_type(value, "an object (an event)", ptr, out)
        return
    kind = value.get("type")
    spec = EVENT_SPECS.get(kind) if isinstance(kind, str) else None
    if spec is not None:
        check_shape(spec.shape, value, ptr, out)
        for rule in spec.rules:
            rule(value, ptr, out)
    elif "type" in value:
        check_shape(_EXTENDED_EVENT, value, ptr, out)
        _event_type(kind, ptr + "/type", out, top=top)
    else:
        out.add(ptr, "required", f"an event requires 'type' ({', '.join(EVENT_TYPES)} or a URI)")
        for name in _EVENT_REQUIRED:
            if name not in value:
                out.add(ptr, "required", f"an event requires '{name}'")
        for key, member in value.items():
            child = member_pointer(ptr, key)
            for check in _ANY_EVENT_CHECKS.get(key, ()):
                check(member, child, out)
    if top and "@context" not in value:
        out.add(ptr, "required", "an event outside an EPCIS document requires '@context'")


def event_list(value: Any, ptr: str, out: Out) -> None:  # "eventList"
    if not typed("array", value, ptr, out):
        return
    for i, event in enumerate(value):
        out.event = i
        check_event(event, f"{ptr}/{i}", out)
    out.event = None
