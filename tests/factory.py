"""Small hand-made EPCIS documents for targeted tests (the generator makes realistic fleets)."""

from __future__ import annotations

import datetime
import itertools
import json
from pathlib import Path
from typing import Any

from ionledger.domain.gbt34014 import make_code
from ionledger.domain.vocabulary import GBT_URN_PREFIX, VIN_URN_PREFIX

CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"ion": "https://ionledger.org/voc/"},
]
_serials = itertools.count(1)


def code(kind: str = "P", maker: str = "03H") -> str:
    return make_code(maker, kind, "B", "0C", "1234567", datetime.date(2023, 5, 17), next(_serials))


def urn(battery_code: str) -> str:
    return GBT_URN_PREFIX + battery_code


def vin(n: int = 1) -> str:
    return f"{VIN_URN_PREFIX}LSVAB2AD7N{n:07d}"


_ids = itertools.count(1)


def event(kind: str = "ObjectEvent", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": kind,
        "eventID": f"urn:uuid:00000000-0000-4000-8000-{next(_ids):012d}",
        "eventTime": "2024-03-01T10:00:00.000+08:00",
        "eventTimeZoneOffset": "+08:00",
        "ion:reportedBy": "91440300MA5FXXXX1X",
        "ion:province": "CN-GD",
    }
    if kind != "TransformationEvent":
        base["action"] = "OBSERVE"
    base.update(fields)
    return base


def commission(*codes: str, **ilmd: Any) -> dict[str, Any]:
    return event(
        epcList=[urn(c) for c in codes],
        action="ADD",
        bizStep="commissioning",
        disposition="active",
        ilmd={"ion:chemistry": "LFP", "ion:ratedEnergyKWh": 60.0, "ion:massKg": 380.0, **ilmd},
    )


def lifecycle(pack: str, modules: list[str], start_day: int = 1) -> list[dict[str, Any]]:
    """Commission modules and a pack, assemble, install, sell, retire, collect, test."""

    def at(day: int) -> str:
        return f"2024-03-{day:02d}T10:00:00.000+08:00"

    return [
        {**commission(*modules), "eventTime": at(start_day)},
        {**commission(pack), "eventTime": at(start_day + 1)},
        event(
            "AggregationEvent",
            parentID=urn(pack),
            childEPCs=[urn(m) for m in modules],
            action="ADD",
            bizStep="assembling",
            disposition="active",
            eventTime=at(start_day + 2),
        ),
        event(
            "AssociationEvent",
            parentID=vin(),
            childEPCs=[urn(pack)],
            action="ADD",
            bizStep="installing",
            eventTime=at(start_day + 3),
        ),
        event(
            epcList=[urn(pack)],
            bizStep="retail_selling",
            disposition="retail_sold",
            eventTime=at(start_day + 4),
        ),
        event(
            "AssociationEvent",
            parentID=vin(),
            childEPCs=[urn(pack)],
            action="DELETE",
            bizStep="removing",
            disposition="ion:retired",
            eventTime=at(start_day + 5),
            **{"ion:reportedBy": "dismantler-1", "ion:province": "CN-SC"},
        ),
        event(
            epcList=[urn(pack)],
            bizStep="inspecting",
            eventTime=at(start_day + 6),
            sensorElementList=[
                {
                    "sensorReport": [
                        {"type": "ion:StateOfHealth", "value": 76.5, "uom": "P1"},
                        {"type": "Resistance", "value": 0.0021, "uom": "OHM"},
                    ]
                }
            ],
        ),
    ]


def document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-30T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


def write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(document(events)))
    return path
