"""EPCIS 2.0 JSON-LD events for the lifecycle stages, and a streaming EPCISDocument writer.

Events are the project's own model (:mod:`ionledger.epcis.model`), encoded with its codec.
Event type, action, bizStep and disposition come from :data:`vocabulary.STAGES`. Every event
carries eventID, eventTime (+08:00), eventTimeZoneOffset, readPoint, ``ion:reportedBy`` and
``ion:province``; all but shipments (goods in transit have no business location, CBV) carry
bizLocation. Events under a reporting duty carry ``ion:declaredAt``, when the reporter declared
them, which is what a deadline check compares with eventTime; the model has no field for it, so
it travels as an extension, which :func:`~ionledger.epcis.codec.encode_event` writes at event
level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypeVar, cast

import msgspec
from msgspec.structs import replace

from ionledger.domain.vocabulary import (
    FIELD_DECLARED_AT,
    ION_NAMESPACE,
    MATERIAL_URN_PREFIX,
    MEASURE_CAPACITY,
    MEASURE_RESISTANCE,
    MEASURE_SOH,
    STAGE_BY_NAME,
    Stage,
)
from ionledger.epcis.codec import encode_event
from ionledger.epcis.model import (
    AggregationEvent,
    AssociationEvent,
    BizLocation,
    Destination,
    Event,
    EventBase,
    ObjectEvent,
    QuantityElement,
    ReadPoint,
    SensorElement,
    SensorMetadata,
    SensorReport,
    Source,
    TransformationEvent,
    raw_extensions,
)
from ionledger.sim.fleet import SiteRef
from ionledger.sim.identifiers import TZ_OFFSET

EPCIS_CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"ion": ION_NAMESPACE},
]
EVENT_SEPARATOR = b",\n"  # one event per line
_ENCODER = msgspec.json.Encoder()

ParentChildEvent = AggregationEvent | AssociationEvent
# The class of each stage whose event names a parent and its children: the two event types
# have the same fields, so one builder serves both.
_PARENT_CHILD: dict[Stage, type[ParentChildEvent]] = {
    spec.stage: cls
    for spec in STAGE_BY_NAME.values()
    for cls in (AggregationEvent, AssociationEvent)
    if spec.event_type == cls.__name__
}


class _Place(NamedTuple):
    """A site as the model states it, shared by the site's events: the structs are frozen, and
    nothing changes the lists."""

    read_point: ReadPoint
    biz_location: BizLocation
    sources: list[Source]  # the site as a shipment's origin: its owner, then the site
    destinations: list[Destination]


_E = TypeVar("_E", bound=EventBase)


class EventBuilder:
    """Builds the events of one population's sites (its caches are by SGLN, which another
    population may give to another enterprise)."""

    def __init__(self) -> None:
        self._places: dict[str, _Place] = {}
        self._templates: dict[tuple[type[EventBase], Stage, str], EventBase] = {}

    def _place(self, site: SiteRef) -> _Place:
        place = self._places.get(site.sgln)
        if place is None:
            place = self._places[site.sgln] = _Place(
                ReadPoint(id=site.sgln),
                BizLocation(id=site.sgln),
                [
                    Source(type="owning_party", source=site.pgln),
                    Source(type="location", source=site.sgln),
                ],
                [
                    Destination(type="owning_party", destination=site.pgln),
                    Destination(type="location", destination=site.sgln),
                ],
            )
        return place

    def _event(
        self,
        cls: type[_E],
        stage: Stage,
        site: SiteRef,
        eid: str,
        when: str,
        declared: str | None,
        what: dict[str, Any],
    ) -> _E:
        """A ``cls`` event: a copy of the template for ``stage`` at ``site`` with the event's
        stamp (eventID, eventTime, ion:declaredAt) and ``what``, its type's own fields, added.

        Frozen structs take every field at once; a copy (:func:`msgspec.structs.replace`) costs
        about what a constructor call does, where passing the shared fields to a constructor as
        ``**keywords`` cost about 0.8 µs more an event.
        """
        template = self._templates.get((cls, stage, site.sgln))
        if template is None:
            template = self._template(cls, stage, site)
        return replace(
            cast(_E, template),  # the key holds the class
            event_time=when,
            event_id=eid,
            # ion:declaredAt, which the model has no field for; a new dict for each event, as
            # the model's default is, so that no two events share a mutable value
            extensions={} if declared is None else raw_extensions({FIELD_DECLARED_AT: declared}),
            **what,
        )

    def _template(self, cls: type[_E], stage: Stage, site: SiteRef) -> _E:
        """The fields every ``cls`` event of ``stage`` at ``site`` has: the stage's terms, where
        and by whom."""
        spec = STAGE_BY_NAME[stage]
        if spec.event_type != cls.__name__:
            raise ValueError(f"{stage} is a {spec.event_type}, not a {cls.__name__}")
        place = self._place(site)
        fields: dict[str, Any] = {
            "event_time_zone_offset": TZ_OFFSET,
            "biz_step": spec.biz_step,
            "disposition": spec.disposition,
            "read_point": place.read_point,
            "biz_location": None if stage is Stage.SHIPPING else place.biz_location,
            "reported_by": site.reporter,
            "province": site.province,
        }
        if spec.action is not None:  # TransformationEvent has no action field
            fields["action"] = spec.action
        made = self._templates[cls, stage, site.sgln] = cls(**fields)
        return made

    def object_event(
        self,
        stage: Stage,
        eid: str,
        when: str,
        epcs: list[str],
        site: SiteRef,
        *,
        ilmd: dict[str, Any] | None = None,
        move: tuple[SiteRef, SiteRef] | None = None,
        sensors: list[SensorElement] | None = None,
        declared: str | None = None,
    ) -> ObjectEvent:
        """An ObjectEvent; ``move`` = (from, to) adds source and destination lists."""
        what: dict[str, Any] = {"epc_list": epcs, "ilmd": ilmd, "sensor_element_list": sensors}
        if move is not None:
            what["source_list"] = self._place(move[0]).sources
            what["destination_list"] = self._place(move[1]).destinations
        return self._event(ObjectEvent, stage, site, eid, when, declared, what)

    def parent_child_event(
        self,
        stage: Stage,
        eid: str,
        when: str,
        parent: str,
        children: list[str],
        site: SiteRef,
        declared: str | None = None,
    ) -> ParentChildEvent:
        """An AggregationEvent or AssociationEvent, as ``stage`` has it."""
        what = {"parent_id": parent, "child_epcs": children}
        return self._event(_PARENT_CHILD[stage], stage, site, eid, when, declared, what)

    def transformation_event(
        self,
        stage: Stage,
        eid: str,
        when: str,
        inputs: list[str],
        site: SiteRef,
        *,
        outputs: list[str] | None = None,
        materials: dict[str, float] | None = None,
        ilmd: dict[str, Any] | None = None,
        declared: str | None = None,
    ) -> TransformationEvent:
        """A TransformationEvent: batteries in; new batteries and/or materials (kg) out."""
        what: dict[str, Any] = {"input_epc_list": inputs, "output_epc_list": outputs, "ilmd": ilmd}
        if materials is not None:
            what["output_quantity_list"] = [
                QuantityElement(epc_class=MATERIAL_URN_PREFIX + name, quantity=kg, uom="KGM")
                for name, kg in materials.items()
            ]
        return self._event(TransformationEvent, stage, site, eid, when, declared, what)


def battery_test(when: str, soh: float, remaining_ah: float, ohm: float) -> list[SensorElement]:
    """The sensorElementList of a battery test: SOH (%), remaining capacity (Ah), resistance."""
    return [
        SensorElement(
            sensor_metadata=SensorMetadata(time=when),
            sensor_report=[
                SensorReport(type=MEASURE_SOH, value=soh, uom="P1"),
                SensorReport(type=MEASURE_CAPACITY, value=remaining_ah, uom="AMH"),
                SensorReport(type=MEASURE_RESISTANCE, value=ohm, uom="OHM"),
            ],
        )
    ]


def encode_into(event: Event, buf: bytearray) -> None:
    """Append ``event``'s JSON to ``buf``, as :func:`~ionledger.epcis.codec.encode_event` has it."""
    if event.extensions:  # ion:declaredAt: the codec merges it into the event object
        buf += encode_event(event)
    else:
        # The codec's own search for extensions in nested objects took half the encoding time,
        # and the objects built here have none: msgspec encodes the struct as it stands.
        _ENCODER.encode_into(event, buf, -1)


class DocumentWriter:
    """Writes encoded events into ``events-0000.jsonld``, ``events-0001.jsonld``, ...

    Holds no events: each batch is written as it comes, split where a document fills up.
    """

    def __init__(self, out: Path, events_per_document: int, creation_date: str) -> None:
        if events_per_document < 1:
            raise ValueError("events_per_document must be >= 1")
        self._out = out
        self._per_doc = events_per_document
        header = msgspec.json.encode(
            {
                "@context": EPCIS_CONTEXT,
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": creation_date,
            }
        )
        self._head = header[:-1] + b',"epcisBody":{"eventList":[\n'
        self._file: BinaryIO | None = None
        self._in_doc = 0
        self.paths: list[Path] = []
        self.events = 0

    def write(self, events: bytes | bytearray, ends: list[int]) -> None:
        """Append encoded events, in order: ``events`` holds each one followed by
        :data:`EVENT_SEPARATOR`, and ``ends[i]`` is where event ``i`` ends."""
        view, start, i = memoryview(events), 0, 0
        while i < len(ends):
            file = self._file
            if file is None or self._in_doc == self._per_doc:
                file = self._next_document()
            take = min(len(ends) - i, self._per_doc - self._in_doc)
            if self._in_doc:
                file.write(EVENT_SEPARATOR)
            stop = ends[i + take - 1]
            file.write(view[start:stop])
            start = stop + len(EVENT_SEPARATOR)
            self._in_doc += take
            self.events += take
            i += take

    def _next_document(self) -> BinaryIO:
        self._end_document()
        path = self._out / f"events-{len(self.paths):04d}.jsonld"
        self.paths.append(path)
        file = self._file = path.open("wb")
        file.write(self._head)
        self._in_doc = 0
        return file

    def _end_document(self) -> None:
        if self._file is not None:
            self._file.write(b"\n]}}\n")
            self._file.close()
            self._file = None

    def close(self) -> list[Path]:
        """Finish the last document (an empty one if there were no events at all)."""
        if self._file is None and not self.paths:
            self._next_document()
        self._end_document()
        return self.paths
