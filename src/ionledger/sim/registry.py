"""registry.json: the registered enterprises and their sites, as the simulator made them.

Schema::

    {"schemaVersion": 1, "seed": int,
     "enterprises": [
       {"id": "BM0001",                      # the ion:reportedBy value of its events
        "name": str, "province": "CN-FJ",    # ISO 3166-2:CN of its head site
        "roles": ["battery_maker", ...],     # Role values
        "companyPrefix": "6901234",          # GS1 company prefix (7 digits, GS1 China 69x)
        "pgln": "urn:epc:id:pgln:6901234.00000",
        "manufacturerCodes": ["A1B"],        # GB/T 34014 positions 1-3 (battery makers, cascade)
        "wmi": ["LSV"],                      # VIN world manufacturer identifiers (vehicle makers)
        "whiteListed": bool,                 # on the MIIT white list (cascade use / recycling)
        "sites": [{"sgln": "urn:epc:id:sgln:6901234.00001.0", "kind": SiteKind value,
                   "province": "CN-FJ", "line": "L7K"}]}]}
    # line: on sites that code batteries, the first 3 characters of the GB/T 34014
    # traceability code (positions 8-10); positions 11-14 number the production batch.

Informal workshops are not registered: they are left out of the registry (truth.json lists
them) but do have GS1-style identifiers, which is how a shipment to one names it.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # ISO 3779: no I, O, Q


class Role(enum.StrEnum):
    BATTERY_MAKER = "battery_maker"
    VEHICLE_MAKER = "vehicle_maker"
    DEALER = "dealer"
    REPAIRER = "repairer"
    COLLECTION_OUTLET = "collection_outlet"
    DISMANTLER = "dismantler"
    CASCADE_USER = "cascade_user"
    RECYCLER = "recycler"


class SiteKind(enum.StrEnum):
    BATTERY_PLANT = "battery_plant"
    VEHICLE_PLANT = "vehicle_plant"
    STORE = "4s_store"
    OUTLET = "collection_outlet"
    DISMANTLING_YARD = "dismantling_yard"
    WHITE_LISTED_PLANT = "white_listed_plant"
    WORKSHOP = "workshop"


class Pool(enum.IntEnum):
    """Groups of sites the lifecycle draws from."""

    DEALER = 0
    OUTLET = 1
    DISMANTLER = 2
    CASCADE = 3
    RECYCLER = 4
    WORKSHOP = 5
    BATTERY_PLANT = 6


class Site(msgspec.Struct, frozen=True, omit_defaults=True):
    sgln: str
    kind: str
    province: str
    line: str | None = None


class Enterprise(msgspec.Struct, frozen=True):
    id: str
    name: str
    province: str
    roles: list[str]
    company_prefix: str = msgspec.field(name="companyPrefix")
    pgln: str
    manufacturer_codes: list[str] = msgspec.field(name="manufacturerCodes")
    wmi: list[str]
    white_listed: bool = msgspec.field(name="whiteListed")
    sites: list[Site]


def registry_bytes(enterprises: list[Enterprise], seed: int) -> bytes:
    doc: dict[str, Any] = {"schemaVersion": 1, "seed": seed, "enterprises": enterprises}
    return msgspec.json.format(msgspec.json.encode(doc), indent=1)
