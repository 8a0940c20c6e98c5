"""Semantic checks on a decoded event, beyond what its types say.

:func:`event_errors` returns every problem of an event at once (a reporting enterprise fixes a
rejected event in one round, not one field per round); :func:`check_event` raises the first.
Each problem is an :class:`InvalidEvent` with the event's index, the field path in JSON names
(``sensorElementList[0].sensorReport[1].value``, ``ilmd.ion:massKg``) and a reason.

What is checked: the fields each event type requires (the EPCIS 2.0 JSON schema's rules),
``action``, time stamps with a timezone offset, ``eventTimeZoneOffset``, absurd values (state of
health outside 0..100 %, negative quantities, non-positive or implausible ILMD mass, energy and
capacity), duplicate EPCs, oversize strings, lists and events, and the project's own extension
fields. Battery-code syntax is the identity module's business, not this one's.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

import msgspec

from ionledger.domain.battery import CATEGORIES, CHEMISTRIES
from ionledger.domain.provinces import is_province
from ionledger.domain.vocabulary import (
    FIELD_PROVINCE,
    FIELD_REPORTED_BY,
    ILMD_CAPACITY_AH,
    ILMD_CATEGORY,
    ILMD_CHEMISTRY,
    ILMD_MASS_KG,
    ILMD_RATED_ENERGY_KWH,
    ION_NAMESPACE,
    ION_PREFIX,
    MEASURE_SOH,
)
from ionledger.epcis.model import (
    ACTIONS,
    AggregationEvent,
    AssociationEvent,
    Event,
    ObjectEvent,
    QuantityElement,
    TransactionEvent,
    TransformationEvent,
    json_fields,
    json_keys,
)
from ionledger.errors import InvalidEvent

__all__ = ["check_event", "event_errors"]

# Size limits. A GS1 key URI or Digital Link is well under 100 characters; 2048 is the common
# practical URL limit. 64 KiB holds ~1,200 EPCs, enough for a pack of the largest cells-to-pack
# designs in one aggregation; larger sets go in several events.
MAX_EVENT_BYTES: Final = 64 * 1024
MAX_URI_CHARS: Final = 2048
MAX_TEXT_CHARS: Final = 16 * 1024  # free text: stringValue, hexBinaryValue, ILMD values
MAX_LIST_ITEMS: Final = 100_000
_TEXT_FIELDS: Final = frozenset({"stringValue", "hexBinaryValue", "ilmd"})

# Upper bounds of plausible battery figures, set far above any traction pack so that only unit
# mistakes (Wh sent as kWh, g as kg) trip them; a repurposed product larger than these is
# reported as several batteries.
ILMD_LIMITS: Final[dict[str, tuple[float, str]]] = {
    ILMD_MASS_KG: (10_000, "kg"),
    ILMD_RATED_ENERGY_KWH: (2_000, "kWh"),
    ILMD_CAPACITY_AH: (10_000, "Ah"),
}
_ILMD_CHOICES: Final = {ILMD_CHEMISTRY: CHEMISTRIES, ILMD_CATEGORY: CATEGORIES}
_SOH_TYPES: Final = frozenset({MEASURE_SOH, ION_NAMESPACE + MEASURE_SOH.split(":", 1)[1]})
_SOH_FIELDS: Final = (  # (JSON key, attribute) of the report's values
    ("value", "value"),
    ("minValue", "min_value"),
    ("maxValue", "max_value"),
    ("meanValue", "mean_value"),
    ("percValue", "perc_value"),
)
_PERCENT: Final = "P1"  # UN/ECE Recommendation 20 code for percent

# RFC 3339 date-time (xsd:dateTime as EPCIS uses it), offset required; seconds up to 60 (leap).
_RFC3339: Final = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[Tt](?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)"
    r"(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)
_DATE_TIME: Final = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?")
# eventTimeZoneOffset, as the EPCIS 2.0 JSON schema spells it: -14:00 .. +14:00
_TZ_OFFSET: Final = re.compile(r"[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)")
_UOM: Final = re.compile(r"[A-Z0-9]{2,3}")

_Problems = list[tuple[str, str]]  # (field path, reason)


def check_event(event: Event, index: int, *, size: int | None = None) -> None:
    """Raise the first problem :func:`event_errors` finds, if any."""
    errors = event_errors(event, index, size=size)
    if errors:
        raise errors[0]


def event_errors(event: Event, index: int, *, size: int | None = None) -> list[InvalidEvent]:
    """Every semantic problem of ``event``; ``index`` is its position in its document.

    ``size`` is the event's encoded length in bytes if the caller has it (the capture path does;
    otherwise it is measured). Below :data:`MAX_URI_CHARS` no string can be oversize, so the
    per-string walk is skipped.
    """
    problems: _Problems = []
    _required(event, problems)
    _times(event, problems)
    _quantities(event, problems)
    _sensors(event, problems)
    _ilmd(event, problems)
    _duplicates(event, problems)
    _extensions(event, problems)
    if size is None:  # extensions included: msgspec emits them under their attribute's key
        size = len(msgspec.json.encode(event))
    if size > MAX_EVENT_BYTES:
        problems.append(("", f"event is {size:,} bytes; the limit is {MAX_EVENT_BYTES:,}"))
    if size > MAX_URI_CHARS:
        _sizes(event, "", MAX_URI_CHARS, problems)
    return [InvalidEvent(reason, index=index, field=field) for field, reason in problems]


def event_warnings(event: Event) -> list[tuple[str, str]]:
    """Deviations capture tolerates (and records as warnings): (field, what was wrong)."""
    out: list[tuple[str, str]] = []
    if isinstance(event, ObjectEvent) and event.ilmd is not None and event.action != "ADD":
        # GS1's own object_event_all_possible_fields example does this: keep the data, flag it.
        out.append(("ilmd", "ILMD describes new objects: only an ADD ObjectEvent carries it"))
    return out


# --- required fields and action ---------------------------------------------------------


def _required(event: Event, out: _Problems) -> None:
    name = type(event).__name__
    if event.event_time is None:
        out.append(("eventTime", "required field is missing"))
    if event.event_time_zone_offset is None:
        out.append(("eventTimeZoneOffset", "required field is missing"))
    if not isinstance(event, TransformationEvent):
        if event.action is None:
            out.append(("action", f"required field is missing (every {name} has an action)"))
        elif event.action not in ACTIONS:
            out.append(("action", f"must be ADD, OBSERVE or DELETE, got {event.action!r}"))
    if isinstance(event, ObjectEvent):
        readable_sensor = bool(event.sensor_element_list) and event.read_point is not None
        if event.epc_list is None and not event.quantity_list and not readable_sensor:
            out.append(
                (
                    "epcList",
                    "an ObjectEvent needs epcList or quantityList "
                    "(or sensor data with a readPoint)",
                )
            )
    elif isinstance(event, AggregationEvent | AssociationEvent):
        if event.parent_id is None and (
            isinstance(event, AssociationEvent) or event.action in ("ADD", "DELETE")
        ):
            out.append(("parentID", f"required field is missing (for this {name})"))
        if not event.child_epcs and not event.child_quantity_list and event.action != "DELETE":
            out.append(("childEPCs", f"an {name} needs childEPCs or childQuantityList"))
    elif isinstance(event, TransactionEvent):
        if not event.biz_transaction_list:
            out.append(("bizTransactionList", "a TransactionEvent needs at least one"))
        if event.epc_list is None and not event.quantity_list and event.action != "DELETE":
            out.append(("epcList", "a TransactionEvent needs epcList or quantityList"))
    else:
        inputs = bool(event.input_epc_list or event.input_quantity_list)
        outputs = bool(event.output_epc_list or event.output_quantity_list)
        if event.transformation_id is None and not (inputs and outputs):
            missing = "outputEPCList" if inputs else "inputEPCList"
            out.append((missing, "a TransformationEvent needs inputs and outputs "
                        "(or a transformationID and at least one of them)"))  # fmt: skip
        elif not (inputs or outputs):
            out.append(("inputEPCList", "a TransformationEvent needs inputs or outputs"))
    pd = event.persistent_disposition
    if pd is not None and not pd.set and not pd.unset:
        out.append(("persistentDisposition", "needs a non-empty set or unset"))


# --- times --------------------------------------------------------------------------------


def _time_problem(text: str) -> str | None:
    """Why ``text`` is not an RFC 3339 date-time with offset, or None when it is one."""
    # Fast path (C speed): fromisoformat checks digits, ranges and the calendar; the shape check
    # keeps out the ISO 8601 forms RFC 3339 lacks (no seconds, basic format, decimal comma).
    try:
        aware = datetime.fromisoformat(text).tzinfo is not None and len(text) >= 20
    except ValueError:
        aware = False
    shaped = aware and text[10] == "T" and text[16] == ":" and "," not in text
    if shaped and (text[-1] == "Z" or text[-3] == ":"):
        return None
    if _RFC3339.fullmatch(text) is not None:  # lower-case t / z, which fromisoformat refuses
        try:
            datetime.fromisoformat(text.upper())
        except ValueError as exc:
            return f"not a valid date-time: {text!r} ({exc})"
        return None
    if _DATE_TIME.fullmatch(text) is not None:
        return f"{text!r} has no timezone offset; EPCIS requires one (Z or ±HH:MM)"
    return f"not an RFC 3339 date-time with offset: {text!r}"


def _times(event: Event, out: _Problems) -> None:
    def check(field: str, text: str | None) -> None:
        if text is not None and (why := _time_problem(text)) is not None:
            out.append((field, why))

    check("eventTime", event.event_time)
    check("recordTime", event.record_time)
    if event.error_declaration is not None:
        check("errorDeclaration.declarationTime", event.error_declaration.declaration_time)
    for i, element in enumerate(event.sensor_element_list or ()):
        if (meta := element.sensor_metadata) is not None:
            for key, text in (("time", meta.time), ("startTime", meta.start_time),
                              ("endTime", meta.end_time)):  # fmt: skip
                if text is not None:
                    check(f"sensorElementList[{i}].sensorMetadata.{key}", text)
        for j, report in enumerate(element.sensor_report):
            if report.time is not None:
                check(f"sensorElementList[{i}].sensorReport[{j}].time", report.time)
    offset = event.event_time_zone_offset
    if offset is not None and _TZ_OFFSET.fullmatch(offset) is None:
        out.append(
            ("eventTimeZoneOffset", f"must be ±HH:MM between -14:00 and +14:00, got {offset!r}")
        )


# --- values -------------------------------------------------------------------------------


def _quantity_lists(event: Event) -> list[tuple[str, list[QuantityElement] | None]]:
    if isinstance(event, ObjectEvent | TransactionEvent):
        return [("quantityList", event.quantity_list)]
    if isinstance(event, TransformationEvent):
        return [
            ("inputQuantityList", event.input_quantity_list),
            ("outputQuantityList", event.output_quantity_list),
        ]
    return [("childQuantityList", event.child_quantity_list)]


def _quantities(event: Event, out: _Problems) -> None:
    for name, elements in _quantity_lists(event):
        for i, element in enumerate(elements or ()):
            at = f"{name}[{i}]"
            if element.quantity is not None and element.quantity < 0:
                out.append((f"{at}.quantity", f"must not be negative, got {element.quantity}"))
            if element.uom is not None:
                if element.quantity is None:
                    out.append((f"{at}.uom", "a unit of measure without a quantity"))
                if _UOM.fullmatch(element.uom) is None:
                    out.append((f"{at}.uom", f"not a UN/ECE Rec. 20 code: {element.uom!r}"))


def _sensors(event: Event, out: _Problems) -> None:
    for i, element in enumerate(event.sensor_element_list or ()):
        if not element.sensor_report:
            out.append((f"sensorElementList[{i}].sensorReport", "needs at least one report"))
        for j, report in enumerate(element.sensor_report):
            if report.type not in _SOH_TYPES:
                continue
            at = f"sensorElementList[{i}].sensorReport[{j}]"
            for key, attr in _SOH_FIELDS:
                value = getattr(report, attr)
                if value is not None and not 0 <= value <= 100:
                    out.append(
                        (f"{at}.{key}", f"state of health is a percentage (0..100), got {value}")
                    )
            if report.uom is not None and report.uom != _PERCENT:
                out.append(
                    (f"{at}.uom", f"state of health is in percent (uom P1), got {report.uom!r}")
                )


def _ion_term(key: str) -> str:
    """``https://ionledger.org/voc/massKg`` and ``ion:massKg`` name the same term."""
    if key.startswith(ION_NAMESPACE):
        return f"{ION_PREFIX}:{key[len(ION_NAMESPACE) :]}"
    return key


def _ilmd(event: Event, out: _Problems) -> None:
    if not isinstance(event, ObjectEvent | TransformationEvent) or not event.ilmd:
        return
    for key, value in event.ilmd.items():
        term = _ion_term(key)
        choices = _ILMD_CHOICES.get(term)
        if choices is not None and value not in choices:
            allowed = ", ".join(sorted(choices))
            out.append((f"ilmd.{key}", f"{value!r} is not one of {allowed}"))
        limit = ILMD_LIMITS.get(term)
        if limit is None:
            continue
        most, unit = limit
        field = f"ilmd.{key}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append((field, f"must be a number (in {unit}), got {value!r}"))
        elif not value > 0:
            out.append((field, f"must be greater than 0 {unit}, got {value}"))
        elif value > most:
            out.append((field, f"implausibly large: {value} {unit} (the limit is {most:,g})"))


def type_xml_ilmd(event: dict[str, Any]) -> dict[str, Any]:
    """Our numeric ILMD terms as numbers in an event read from XML.

    XML extension elements are untyped text, so ``<ion:massKg>380</ion:massKg>`` reads as the
    string "380". ionledger's own vocabulary says which terms are numbers: those become numbers
    (this is reading XML, not tolerating a JSON sender's strings); anything unparsable is left
    for the checks to report.
    """
    ilmd = event.get("ilmd")
    if not isinstance(ilmd, dict):
        return event
    typed = dict(ilmd)
    for key, value in ilmd.items():
        if isinstance(value, str) and _ion_term(key) in ILMD_LIMITS:
            try:
                number = float(value)
            except ValueError:
                continue
            typed[key] = int(number) if number.is_integer() and "." not in value else number
    return {**event, "ilmd": typed}


def _epc_lists(event: Event) -> list[tuple[str, list[str] | None]]:
    if isinstance(event, ObjectEvent | TransactionEvent):
        return [("epcList", event.epc_list)]
    if isinstance(event, TransformationEvent):
        return [("inputEPCList", event.input_epc_list), ("outputEPCList", event.output_epc_list)]
    return [("childEPCs", event.child_epcs)]


def _duplicates(event: Event, out: _Problems) -> None:
    for name, epcs in _epc_lists(event):
        if not epcs or len(set(epcs)) == len(epcs):
            continue
        first: dict[str, int] = {}
        for i, epc in enumerate(epcs):
            if epc in first:
                out.append(
                    (f"{name}[{i}]", f"duplicate EPC {epc!r} (first at {name}[{first[epc]}])")
                )
            else:
                first[epc] = i


# --- extensions and sizes -----------------------------------------------------------------


def _extensions(event: Event, out: _Problems) -> None:
    if event.extensions:  # a declared key among them is only possible in events built in code
        for key in sorted(event.extensions.keys() & json_keys(type(event))):
            out.append((key, "an extension field may not reuse a declared field's name"))
    if event.province is not None and not is_province(event.province):
        out.append((FIELD_PROVINCE, f"not an ISO 3166-2:CN province code: {event.province!r}"))
    if event.reported_by is not None and not event.reported_by.strip():
        out.append((FIELD_REPORTED_BY, "must name the reporting enterprise, got an empty string"))


def _sizes(value: Any, path: str, limit: int, out: _Problems) -> None:
    """Report oversize strings and lists under ``value`` (``path`` is where it sits)."""
    if isinstance(value, str):
        if len(value) > limit:
            out.append((path, f"{len(value):,} characters; the limit is {limit:,}"))
    elif isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            out.append((path, f"{len(value):,} entries; the limit is {MAX_LIST_ITEMS:,}"))
        # EPC lists are the long ones: measure their strings at C speed, walk only on a hit
        strings = value and all(isinstance(item, str) for item in value)
        if strings and max(map(len, value)) <= limit:
            return
        for i, item in enumerate(value):
            _sizes(item, f"{path}[{i}]", limit, out)
    elif isinstance(value, dict):
        for key, item in value.items():
            _sizes(key, path, MAX_URI_CHARS, out)
            _sizes(item, f"{path}.{key}", limit, out)
    elif isinstance(value, msgspec.Struct):
        for attr, key in json_fields(type(value)):
            item = getattr(value, attr)
            if item is not None:
                at = f"{path}.{key}" if path else key
                _sizes(item, at, MAX_TEXT_CHARS if key in _TEXT_FIELDS else limit, out)
