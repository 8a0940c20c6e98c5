"""A small registered world for governance tests: enterprises of every role, one battery's
compliant life (each step a function, so a test can change or skip one), and helpers."""

from __future__ import annotations

import io
import json
from typing import Any

from factory import document, event, urn, vin
from ionledger.domain.uscc import check_char
from ionledger.governance.registry import RegistryChange
from ionledger.services.importer import Importer, ImportReport
from ionledger.services.registry import change_registry
from ionledger.settings import Settings
from ionledger.store.port import EventStore

MAKER_CODE = "03H"


def uscc(n: int) -> str:
    """A valid unified social credit code (GB 32100-2015) numbered n."""
    body = f"91440300MA{n:07d}"
    return body + check_char(body)


# id -> (roles, province, company prefix, manufacturer codes)
ENTERPRISES: dict[str, tuple[list[str], str, str, list[str]]] = {
    "BM": (["battery_maker"], "CN-FJ", "6900001", [MAKER_CODE]),
    "VM": (["vehicle_maker"], "CN-GD", "6900002", []),
    "DL": (["dealer", "repairer", "collection_outlet"], "CN-GD", "6900003", []),
    "DS": (["dismantler"], "CN-GD", "6900004", []),
    "RC": (["recycler"], "CN-HN", "6900005", []),
    "CU": (["cascade_user"], "CN-SC", "6900006", ["9ZZ"]),
    "XR": (["recycler"], "CN-HN", "6900007", []),  # not on the white list
    "BM2": (["battery_maker"], "CN-JS", "6900008", ["77K"]),
    "NR": (["national_regulator"], "CN", "6900009", []),
    "PGD": (["provincial_regulator"], "CN-GD", "6900010", []),
    "PSC": (["provincial_regulator"], "CN-SC", "6900011", []),
}


def pgln(enterprise: str) -> str:
    return f"urn:epc:id:pgln:{ENTERPRISES[enterprise][2]}.00000"


def sgln(enterprise: str) -> str:
    return f"urn:epc:id:sgln:{ENTERPRISES[enterprise][2]}.00001.0"


def registry_changes(capacity_tpa: float = 10_000.0) -> list[RegistryChange]:
    changes = []
    for n, (eid, (roles, province, prefix, makers)) in enumerate(ENTERPRISES.items(), 1):
        changes.append(
            RegistryChange(
                "enterprise.put",
                {
                    "id": eid,
                    "name": f"{eid} Co., Ltd.",
                    "registryId": uscc(n),
                    "roles": roles,
                    "province": province,
                    "companyPrefixes": [prefix],
                    "glns": [pgln(eid)],
                    "manufacturerCodes": makers,
                },
            )
        )
        if province != "CN":
            changes.append(
                RegistryChange(
                    "site.put",
                    {
                        "gln": sgln(eid),
                        "enterprise": eid,
                        "province": province,
                        "kind": "recycling_plant" if "recycler" in roles else "warehouse",
                    },
                )
            )
    for eid, category in (("RC", "recycling"), ("CU", "cascade_use")):
        changes.append(
            RegistryChange(
                "whitelist.put",
                {
                    "enterprise": eid,
                    "category": category,
                    "batch": 3,
                    "capacityTpa": capacity_tpa,
                    "validFrom": "2020-01-01",
                    "validTo": None,
                },
            )
        )
    return changes


def register(store: EventStore, capacity_tpa: float = 10_000.0) -> None:
    change_registry(store, registry_changes(capacity_tpa), actor="operator")


def at(day: int, month: int = 3) -> str:
    return f"2024-{month:02d}-{day:02d}T10:00:00.000+08:00"


def by(who: str, **fields: Any) -> dict[str, Any]:
    """An event reported by ``who`` in its province, declared on the day it happened."""
    province = ENTERPRISES[who][1]
    out = event(**fields)
    out["ion:reportedBy"] = who
    out["ion:province"] = province if province != "CN" else "CN-BJ"
    out.setdefault("ion:declaredAt", out["eventTime"])
    out["readPoint"] = {"id": sgln(who)}
    return out


def commission(who: str, codes: list[str], day: int = 1, **ilmd: Any) -> dict[str, Any]:
    attrs = {"ion:chemistry": "NMC622", "ion:ratedEnergyKWh": 60.0, "ion:massKg": 400.0, **ilmd}
    return by(who, epcList=[urn(c) for c in codes], action="ADD", bizStep="commissioning",
              disposition="active", eventTime=at(day), ilmd=attrs)  # fmt: skip


def ship(who: str, code: str, to: str, day: int) -> dict[str, Any]:
    dest = [{"type": "owning_party", "destination": pgln(to) if to in ENTERPRISES else to}]
    return by(who, epcList=[urn(code)], bizStep="shipping", disposition="in_transit",
              eventTime=at(day), destinationList=dest)  # fmt: skip


def receive(who: str, code: str, day: int) -> dict[str, Any]:
    return by(who, epcList=[urn(code)], bizStep="receiving", disposition="in_progress",
              eventTime=at(day))  # fmt: skip


def install(who: str, code: str, vehicle: str, day: int) -> dict[str, Any]:
    return by(who, type="AssociationEvent", parentID=vehicle, childEPCs=[urn(code)],
              action="ADD", bizStep="installing", disposition="active",
              eventTime=at(day))  # fmt: skip


def sell(who: str, code: str, day: int) -> dict[str, Any]:
    return by(who, epcList=[urn(code)], bizStep="retail_selling", disposition="retail_sold",
              eventTime=at(day))  # fmt: skip


def remove(who: str, code: str, vehicle: str, day: int) -> dict[str, Any]:
    return by(who, type="AssociationEvent", parentID=vehicle, childEPCs=[urn(code)],
              action="DELETE", bizStep="removing", disposition="ion:retired",
              eventTime=at(day))  # fmt: skip


def collect(who: str, code: str, day: int) -> dict[str, Any]:
    return by(who, epcList=[urn(code)], bizStep="collecting", disposition="ion:retired",
              eventTime=at(day))  # fmt: skip


def inspect(who: str, code: str, soh: float, day: int) -> dict[str, Any]:
    return by(who, epcList=[urn(code)], bizStep="inspecting", eventTime=at(day),
              sensorElementList=[{"sensorReport": [
                  {"type": "ion:StateOfHealth", "value": soh, "uom": "P1"}]}])  # fmt: skip


def recycle(who: str, inputs: list[str], kg: dict[str, float], day: int) -> dict[str, Any]:
    out = by(who, type="TransformationEvent", inputEPCList=[urn(c) for c in inputs],
             bizStep="ion:recycling", disposition="ion:recycled", eventTime=at(day),
             outputQuantityList=[
                 {"epcClass": f"urn:ionledger:material:{m}", "quantity": q, "uom": "KGM"}
                 for m, q in kg.items()])  # fmt: skip
    out.pop("action", None)
    return out


def compliant_life(pack: str, car: str | None = None) -> list[dict[str, Any]]:
    """Made by BM, fitted by VM, sold by DL, removed by DS, collected by DL, recycled by RC."""
    car = car or vin(42)
    return [
        commission("BM", [pack], 1),
        ship("BM", pack, "VM", 2),
        receive("VM", pack, 3),
        install("VM", pack, car, 4),
        sell("DL", pack, 5),
        remove("DS", pack, car, 6),
        collect("DL", pack, 7),
        ship("DL", pack, "RC", 8),
        receive("RC", pack, 9),
        inspect("RC", pack, 75.0, 10),
    ]


def capture(
    store: EventStore, events: list[dict[str, Any]], *, proceed: bool = False
) -> ImportReport:
    raw = json.dumps(document(events)).encode()
    importer = Importer(store, Settings(database_url=store.url), reporter="operator")
    return importer.import_stream(io.BytesIO(raw), proceed=proceed)


def rules_of(report: ImportReport) -> list[tuple[int | None, str]]:
    """(event index, rule ID) of every rule rejection in a report."""
    return [(e.index, e.details()["rule"]) for e in report.errors if "rule" in e.details()]
