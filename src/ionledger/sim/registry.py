"""registry.json: the registered enterprises and their sites, as the simulator made them.

Schema::

    {"schemaVersion": 2, "seed": int,
     "enterprises": [
       {"id": "BM0001",                      # the ion:reportedBy value of its events
        "name": str,
        "registryId": "91310000300184294C",  # unified social credit code, GB 32100-2015
        "province": "CN-FJ",                 # ISO 3166-2:CN of its head site; "CN": national
        "roles": ["battery_maker", ...],     # Role values
        "companyPrefix": "6901234",          # GS1 company prefix (7 digits, GS1 China 69x)
        "pgln": "urn:epc:id:pgln:6901234.00000",
        "manufacturerCodes": ["A1B"],        # GB/T 34014 positions 1-3 (battery makers,
                                             # white-listed firms)
        "wmi": ["LSV"],                      # VIN world manufacturer identifiers (vehicle makers)
        "whiteListed": bool,                 # has a white-list entry (derived from whiteList)
        "whiteList": [                       # MIIT white-list entries (cascade users, recyclers)
          {"category": "recycling" | "cascade_use", "batch": 1-5,
           "capacityTpa": float,             # licensed capacity, t/yr
           "validFrom": "2019-12-01", "validTo": null | "YYYY-MM-DD"}],
        "sites": [{"sgln": "urn:epc:id:sgln:6901234.00001.0", "kind": SiteKind value,
                   "province": "CN-FJ", "line": "L7K"}]}]}
    # line: on sites that code batteries, the first 3 characters of the GB/T 34014
    # traceability code (positions 8-10); positions 11-14 number the production batch.

Regulators are enterprises too: one national regulator (role national_regulator, province
"CN") and one provincial regulator per province where a registered enterprise has a site (role
provincial_regulator). They have no sites and report nothing. Every registryId is valid (its
check character is GB 32100's; its organisation code, positions 9-17, carries GB 11714's); an
enterprise's is registered in its head province (positions 3-8: the province's GB/T 2260 code
and 0000), a regulator's as a government body (positions 1-2: 11).

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
    NATIONAL_REGULATOR = "national_regulator"
    PROVINCIAL_REGULATOR = "provincial_regulator"


class SiteKind(enum.StrEnum):
    CELL_PACK_FACTORY = "cell_pack_factory"
    VEHICLE_PLANT = "vehicle_plant"
    STORE = "4s_store"
    OUTLET = "collection_outlet"
    DISMANTLING_PLANT = "dismantling_plant"
    WAREHOUSE = "warehouse"  # in the registry's list; no simulated firm runs one
    SECOND_LIFE_PLANT = "second_life_plant"
    RECYCLING_PLANT = "recycling_plant"
    WORKSHOP = "workshop"  # informal, unregistered: never in registry.json


class WhiteListCategory(enum.StrEnum):
    CASCADE_USE = "cascade_use"
    RECYCLING = "recycling"


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


class WhiteListEntry(msgspec.Struct, frozen=True):
    category: str  # WhiteListCategory value
    batch: int
    capacity_tpa: float = msgspec.field(name="capacityTpa")
    valid_from: str = msgspec.field(name="validFrom")
    valid_to: str | None = msgspec.field(default=None, name="validTo")


class Enterprise(msgspec.Struct, frozen=True):
    id: str
    name: str
    registry_id: str = msgspec.field(name="registryId")
    province: str
    roles: list[str]
    company_prefix: str = msgspec.field(name="companyPrefix")
    pgln: str
    manufacturer_codes: list[str] = msgspec.field(name="manufacturerCodes")
    wmi: list[str]
    white_listed: bool = msgspec.field(name="whiteListed")
    white_list: list[WhiteListEntry] = msgspec.field(name="whiteList")
    sites: list[Site]

    def entry(self, category: WhiteListCategory) -> WhiteListEntry | None:
        return next((w for w in self.white_list if w.category == category), None)


def registry_bytes(enterprises: list[Enterprise], seed: int) -> bytes:
    doc: dict[str, Any] = {"schemaVersion": 2, "seed": seed, "enterprises": enterprises}
    return msgspec.json.format(msgspec.json.encode(doc), indent=1)
