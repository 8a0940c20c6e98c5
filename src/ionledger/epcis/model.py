"""The five EPCIS 2.0 event types as typed msgspec structs, with every field of the standard.

Design choices, each made so that decode -> encode keeps what the sender wrote:

- Python attributes are snake_case; the JSON names are the standard's camelCase (``eventID``,
  ``childEPCs``, ``sDev`` ...). ``type`` is the tag of the :data:`Event` union.
- Every field is optional (``None`` = absent) and ``omit_defaults`` keeps absent fields absent on
  encode. Which fields a given event type requires is checked in :mod:`ionledger.epcis.checks`, so
  that a caller learns every missing field at once instead of the first one msgspec meets. The
  few leaf objects whose one or two keys are the whole object (``readPoint.id``,
  ``quantityElement.epcClass`` ...) declare them required, as the schema does.
- Times are ``str``, not ``datetime``: a datetime would lose the sender's offset spelling and
  precision (``.000Z`` vs ``Z``, seven fraction digits), and both the event hash and the stored
  record must see the original text. The checks validate them (RFC 3339, offset required).
- Numbers are ``int | float``: ``"quantity": 200`` stays ``200``, not ``200.0``.
- Extension fields (any key the standard does not define) are kept in ``extensions`` as
  :class:`msgspec.Raw`: the exact JSON text the sender wrote, re-emitted byte for byte, decoded
  only when asked (:meth:`Extensible.extension`). The codec fills them, at event level and in
  every object where the schema allows extensions. Objects the schema closes (quantity elements,
  bizTransaction, source, destination, persistentDisposition) reject unknown keys instead of
  silently dropping them.
- Exception: the project's own two event-level fields, ``ion:reportedBy`` and ``ion:province``,
  are typed attributes (``reported_by``, ``province``). Every ionledger event carries them, and
  declaring them lets the codec decode such an event in one strict pass (see the codec).
- ``ilmd`` is a plain dict of decoded JSON: all of it is extension data, and consumers need the
  values (chemistry, kWh, mass). It round-trips by value.
- Structs are frozen: an event is an immutable record. Build a changed copy with
  :func:`msgspec.structs.replace`. (Each subclass repeats ``frozen=True`` because mypy's
  ``dataclass_transform`` does not inherit it.)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Any, Final, TypeAlias

import msgspec

from ionledger.domain.vocabulary import FIELD_PROVINCE, FIELD_REPORTED_BY

#: Encoded name of the ``extensions`` attribute. It is never emitted (the codec merges the
#: extensions into their object) and is a reserved JSON-LD keyword form, so no sender should use
#: it; if one does, the codec keeps it as an ordinary extension field.
EXTENSIONS_KEY: Final = "@extensions"
# The codec fills ``extensions``; JSON must never decode into it. The impossible length bounds
# make any "@extensions" key fail the typed decode, which sends the event down the codec's
# extension path. (Bounds apply only when decoding, not to construction.)
_Extensions: TypeAlias = Annotated[dict[str, msgspec.Raw], msgspec.Meta(min_length=1, max_length=0)]

Number: TypeAlias = int | float
Context: TypeAlias = str | list[str | dict[str, Any]] | dict[str, Any]


def _field(name: str) -> Any:
    """An optional field whose JSON name camelCase renaming cannot produce (``eventID``)."""
    return msgspec.field(default=None, name=name)


class Closed(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    rename="camel",
    frozen=True,
    forbid_unknown_fields=True,
    repr_omit_defaults=True,
):
    """Base of every EPCIS object; unknown keys are rejected.

    The codec takes extension fields out of the extensible objects before the typed decode, so
    an unknown key seen here is one the schema forbids (``additionalProperties: false``: quantity
    elements, bizTransaction, source, destination, persistentDisposition).
    """


class Extensible(Closed, kw_only=True, frozen=True):
    """An object where the schema allows extension fields, kept in ``extensions``."""

    extensions: _Extensions = msgspec.field(default_factory=dict, name=EXTENSIONS_KEY)

    def extension(self, key: str, default: Any = None) -> Any:
        """The decoded value of the extension field ``key`` (e.g. ``"example:myField"``)."""
        raw = self.extensions.get(key)
        return default if raw is None else msgspec.json.decode(raw)


def raw_extensions(values: Mapping[str, Any]) -> dict[str, msgspec.Raw]:
    """Build an ``extensions`` mapping from plain values (for events made in code)."""
    return {key: msgspec.Raw(msgspec.json.encode(value)) for key, value in values.items()}


@functools.cache
def json_fields(cls: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    """``(attribute, JSON key)`` of every standard field of ``cls``, in encoding order."""
    return tuple(
        (f.name, f.encode_name)
        for f in msgspec.structs.fields(cls)
        if f.encode_name != EXTENSIONS_KEY
    )


@functools.cache
def json_keys(cls: type[msgspec.Struct]) -> frozenset[str]:
    """The JSON keys ``cls`` declares (``type`` included for events); others are extensions."""
    keys = {key for _, key in json_fields(cls)}
    tag_field = cls.__struct_config__.tag_field
    if tag_field is not None:
        keys.add(tag_field)
    return frozenset(keys)


# --- leaf objects -------------------------------------------------------------------------


class ReadPoint(Extensible, frozen=True):
    id: str


class BizLocation(Extensible, frozen=True):
    id: str


class QuantityElement(Closed, frozen=True):
    epc_class: str
    quantity: Number | None = None
    uom: str | None = None  # UN/ECE Recommendation 20 code, e.g. KGM; absent = a count


class BizTransaction(Closed, frozen=True):
    biz_transaction: str
    type: str | None = None


class Source(Closed, frozen=True):
    type: str
    source: str


class Destination(Closed, frozen=True):
    type: str
    destination: str


class PersistentDisposition(Closed, frozen=True):
    set: list[str] | None = None
    unset: list[str] | None = None


class ErrorDeclaration(Extensible, frozen=True):
    declaration_time: str
    reason: str | None = None
    corrective_event_ids: list[str] | None = _field("correctiveEventIDs")


# --- sensor data ------------------------------------------------------------------------


class SensorMetadata(Extensible, frozen=True):
    time: str | None = None
    device_id: str | None = _field("deviceID")
    device_metadata: str | None = None
    raw_data: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    data_processing_method: str | None = None
    biz_rules: str | None = None


class SensorReport(Extensible, frozen=True):
    # Measurement type: a CBV name (Temperature) or a URI / CURIE (ion:StateOfHealth). Optional
    # in the XSD and the JSON schema (a report may carry only an exception or raw data).
    type: str | None = None
    exception: str | None = None
    device_id: str | None = _field("deviceID")
    device_metadata: str | None = None
    raw_data: str | None = None
    data_processing_method: str | None = None
    biz_rules: str | None = None
    time: str | None = None
    microorganism: str | None = None
    chemical_substance: str | None = None
    coordinate_reference_system: str | None = None
    value: Number | None = None
    component: str | None = None
    string_value: str | None = None
    boolean_value: bool | None = None
    hex_binary_value: str | None = None
    uri_value: str | None = None
    min_value: Number | None = None
    max_value: Number | None = None
    mean_value: Number | None = None
    s_dev: Number | None = None
    perc_rank: Number | None = None
    perc_value: Number | None = None
    uom: str | None = None


class SensorElement(Extensible, frozen=True):
    sensor_report: list[SensorReport]
    sensor_metadata: SensorMetadata | None = None


# --- events -----------------------------------------------------------------------------


class EventBase(Extensible, tag_field="type", frozen=True):
    """Fields every event type has: when, error declaration, and the why / where dimensions."""

    context: Context | None = _field("@context")
    event_time: str | None = None
    record_time: str | None = None
    event_time_zone_offset: str | None = None
    event_id: str | None = _field("eventID")
    certification_info: str | list[str] | None = None
    error_declaration: ErrorDeclaration | None = None
    biz_step: str | None = None
    disposition: str | None = None
    # The XSD gives all five types persistentDisposition; the JSON schema forgot three of them.
    persistent_disposition: PersistentDisposition | None = None
    read_point: ReadPoint | None = None
    biz_location: BizLocation | None = None
    biz_transaction_list: list[BizTransaction] | None = None
    source_list: list[Source] | None = None
    destination_list: list[Destination] | None = None
    sensor_element_list: list[SensorElement] | None = None
    # The project's extension fields (domain.vocabulary): the reporting enterprise's registry
    # ID, and the ISO 3166-2:CN code of the province where the event happened.
    reported_by: str | None = _field(FIELD_REPORTED_BY)
    province: str | None = _field(FIELD_PROVINCE)


class ObjectEvent(EventBase, tag=True, frozen=True):
    epc_list: list[str] | None = _field("epcList")
    quantity_list: list[QuantityElement] | None = None
    action: str | None = None
    ilmd: dict[str, Any] | None = None


class AggregationEvent(EventBase, tag=True, frozen=True):
    parent_id: str | None = _field("parentID")
    child_epcs: list[str] | None = _field("childEPCs")
    child_quantity_list: list[QuantityElement] | None = None
    action: str | None = None


class TransactionEvent(EventBase, tag=True, frozen=True):
    parent_id: str | None = _field("parentID")
    epc_list: list[str] | None = _field("epcList")
    quantity_list: list[QuantityElement] | None = None
    action: str | None = None


class TransformationEvent(EventBase, tag=True, frozen=True):
    input_epc_list: list[str] | None = _field("inputEPCList")
    input_quantity_list: list[QuantityElement] | None = None
    output_epc_list: list[str] | None = _field("outputEPCList")
    output_quantity_list: list[QuantityElement] | None = None
    transformation_id: str | None = _field("transformationID")
    ilmd: dict[str, Any] | None = None


class AssociationEvent(EventBase, tag=True, frozen=True):
    parent_id: str | None = _field("parentID")
    child_epcs: list[str] | None = _field("childEPCs")
    child_quantity_list: list[QuantityElement] | None = None
    action: str | None = None


Event: TypeAlias = (
    ObjectEvent | AggregationEvent | TransactionEvent | TransformationEvent | AssociationEvent
)

EVENT_CLASSES: Final[tuple[type[EventBase], ...]] = (
    ObjectEvent,
    AggregationEvent,
    TransactionEvent,
    TransformationEvent,
    AssociationEvent,
)
EVENT_TYPES: Final[tuple[str, ...]] = tuple(cls.__name__ for cls in EVENT_CLASSES)
ACTIONS: Final[tuple[str, ...]] = ("ADD", "OBSERVE", "DELETE")
