"""The registry: enterprises, their sites and their white-list entries.

Regulators change it through registry records (:class:`RegistryChange`), which are appended to
the verifiable log like events, so the master data is as auditable as the events it governs.
The tables are a projection of those records; :class:`Registry` is the in-memory view that the
rules and access checks consult.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import enum
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from ionledger.domain.provinces import is_province
from ionledger.errors import ValidationError


class Role(enum.StrEnum):
    """DOMAIN.md's actors that hold credentials or appear in events."""

    BATTERY_MAKER = "battery_maker"
    VEHICLE_MAKER = "vehicle_maker"
    DEALER = "dealer"
    REPAIRER = "repairer"
    COLLECTION_OUTLET = "collection_outlet"
    DISMANTLER = "dismantler"
    LOGISTICS = "logistics"
    CASCADE_USER = "cascade_user"
    RECYCLER = "recycler"
    CERTIFIER = "certifier"
    NATIONAL_REGULATOR = "national_regulator"
    PROVINCIAL_REGULATOR = "provincial_regulator"


REGULATORS = frozenset({Role.NATIONAL_REGULATOR, Role.PROVINCIAL_REGULATOR})


class SiteKind(enum.StrEnum):
    CELL_PACK_FACTORY = "cell_pack_factory"
    VEHICLE_PLANT = "vehicle_plant"
    STORE_4S = "4s_store"
    COLLECTION_OUTLET = "collection_outlet"
    DISMANTLING_PLANT = "dismantling_plant"
    WAREHOUSE = "warehouse"
    SECOND_LIFE_PLANT = "second_life_plant"
    RECYCLING_PLANT = "recycling_plant"


class WhiteListCategory(enum.StrEnum):
    CASCADE_USE = "cascade_use"
    RECYCLING = "recycling"


# The role a white-list category is for.
CATEGORY_ROLE = {
    WhiteListCategory.CASCADE_USE: Role.CASCADE_USER,
    WhiteListCategory.RECYCLING: Role.RECYCLER,
}


class Enterprise(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str  # the ion:reportedBy value of its events
    name: str
    registry_id: str = msgspec.field(name="registryId")  # unified social credit code
    roles: list[str] = msgspec.field(default_factory=list)
    province: str = "CN"  # ISO 3166-2:CN of its seat; "CN" for national bodies
    company_prefixes: list[str] = msgspec.field(default_factory=list, name="companyPrefixes")
    glns: list[str] = msgspec.field(default_factory=list)  # party GLNs (PGLN URNs)
    manufacturer_codes: list[str] = msgspec.field(default_factory=list, name="manufacturerCodes")
    signing_key: str | None = msgspec.field(default=None, name="signingKey")  # Ed25519, base64


class Site(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    gln: str  # SGLN URN of the location
    enterprise: str
    province: str
    kind: str


class WhiteListEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enterprise: str
    category: str
    batch: int
    capacity_tpa: float = msgspec.field(name="capacityTpa")  # licensed capacity, t/yr
    valid_from: str = msgspec.field(name="validFrom")  # YYYY-MM-DD
    valid_to: str | None = msgspec.field(default=None, name="validTo")
    revoked_on: str | None = msgspec.field(default=None, name="revokedOn")
    revoked_reason: str | None = msgspec.field(default=None, name="revokedReason")

    @property
    def key(self) -> str:
        return f"{self.enterprise}/{self.category}"

    def valid_on(self, day: str) -> bool:
        """In force on this date (YYYY-MM-DD): started, not expired, not revoked by then."""
        if day < self.valid_from or (self.valid_to is not None and day > self.valid_to):
            return False
        return self.revoked_on is None or day < self.revoked_on


Op = Literal["enterprise.put", "site.put", "whitelist.put", "whitelist.revoke"]
OPS: tuple[str, ...] = ("enterprise.put", "site.put", "whitelist.put", "whitelist.revoke")
REGISTRY_RECORD_TYPE = "RegistryChange"  # events.event_type of registry records (not EPCIS)


class RegistryChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One change, as a registry record carries it (``data`` is the entry, or a revocation)."""

    op: str
    data: dict[str, Any]


_PREFIX = re.compile(r"^[0-9]{6,12}$")
_MAKER = re.compile(r"^[0-9A-Z]{3}$")
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GLN_URN = re.compile(r"^urn:epc:id:(pgln|sgln):([0-9]{6,12})\.[0-9]*(\.[!-~]+)?$")


def _bad(what: str, reason: str) -> ValidationError:
    return ValidationError(f"registry: {what}: {reason}")


def _date(what: str, value: str | None) -> None:
    if value is None:
        return
    if not _DATE.match(value):
        raise _bad(what, f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise _bad(what, f"{value!r}: {exc}") from None


def company_prefix_of(gln_urn: str) -> str | None:
    """The GS1 company prefix in a PGLN/SGLN URN, or None for other identifiers."""
    m = _GLN_URN.match(gln_urn)
    return m.group(2) if m else None


def _check_enterprise(e: Enterprise) -> None:
    from ionledger.domain.uscc import is_valid as valid_uscc

    if not _ID.match(e.id):
        raise _bad("enterprise id", f"{e.id!r} must be 1-64 letters, digits or ._:-")
    if not e.name.strip():
        raise _bad(f"enterprise {e.id}", "name is empty")
    if not valid_uscc(e.registry_id):
        raise _bad(
            f"enterprise {e.id} registryId",
            f"{e.registry_id!r} is not a valid unified social credit code (GB 32100-2015)",
        )
    if not e.roles:
        raise _bad(f"enterprise {e.id}", "has no roles")
    for role in e.roles:
        if role not in Role.__members__.values():
            known = ", ".join(r.value for r in Role)
            raise _bad(f"enterprise {e.id} role", f"{role!r} is not one of {known}")
    if e.province != "CN" and not is_province(e.province):
        raise _bad(f"enterprise {e.id} province", f"{e.province!r} is not an ISO 3166-2:CN code")
    if Role.PROVINCIAL_REGULATOR in e.roles and not is_province(e.province):
        raise _bad(f"enterprise {e.id}", "a provincial regulator needs its province")
    for prefix in e.company_prefixes:
        if not _PREFIX.match(prefix):
            raise _bad(f"enterprise {e.id} company prefix", f"{prefix!r} is not 6-12 digits")
    for gln in e.glns:
        if not gln.startswith("urn:epc:id:pgln:") or company_prefix_of(gln) is None:
            raise _bad(f"enterprise {e.id} GLN", f"{gln!r} is not a PGLN URN")
    for code in e.manufacturer_codes:
        if not _MAKER.match(code):
            raise _bad(
                f"enterprise {e.id} manufacturer code",
                f"{code!r} is not 3 digits or capital letters (GB/T 34014 positions 1-3)",
            )
    if e.signing_key is not None and len(_b64_or_empty(e.signing_key)) != 32:
        raise _bad(
            f"enterprise {e.id} signingKey",
            "must be the base64 of a 32-byte Ed25519 public key",
        )


def _b64_or_empty(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


@dataclass(slots=True)
class Registry:
    """The registry as of some point in the log, with the look-ups rules need."""

    enterprises: dict[str, Enterprise] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    whitelist: dict[str, WhiteListEntry] = field(default_factory=dict)
    _by_prefix: dict[str, str] = field(default_factory=dict)
    _by_maker: dict[str, str] = field(default_factory=dict)
    _by_gln: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.enterprises

    # -- look-ups ---------------------------------------------------------------------------
    def enterprise(self, enterprise_id: str) -> Enterprise | None:
        return self.enterprises.get(enterprise_id)

    def roles(self, enterprise_id: str) -> frozenset[str]:
        e = self.enterprises.get(enterprise_id)
        return frozenset(e.roles) if e else frozenset()

    def maker_of_code(self, manufacturer_code: str) -> str | None:
        return self._by_maker.get(manufacturer_code)

    def owner_of(self, identifier: str) -> str | None:
        """The enterprise a party or location URN belongs to: by registered GLN, else by the
        GS1 company prefix in it."""
        owner = self._by_gln.get(identifier)
        if owner is None:
            site = self.sites.get(identifier)
            owner = site.enterprise if site else None
        if owner is None:
            prefix = company_prefix_of(identifier)
            owner = self._by_prefix.get(prefix) if prefix else None
        return owner

    def province_of(self, identifier: str) -> str | None:
        site = self.sites.get(identifier)
        if site is not None:
            return site.province
        owner = self.owner_of(identifier)
        e = self.enterprises.get(owner) if owner else None
        return e.province if e and e.province != "CN" else None

    def white_listed(self, enterprise_id: str, category: WhiteListCategory, day: str) -> bool:
        entry = self.whitelist.get(f"{enterprise_id}/{category}")  # a StrEnum formats as its value
        return entry is not None and entry.valid_on(day)

    def capacity_tpa(self, enterprise_id: str, category: WhiteListCategory) -> float | None:
        entry = self.whitelist.get(f"{enterprise_id}/{category}")  # a StrEnum formats as its value
        return None if entry is None else entry.capacity_tpa

    # -- changes ----------------------------------------------------------------------------
    def check(self, change: RegistryChange) -> tuple[str, str, Any]:
        """Validate a change against the registry as it is: (kind, key, new entry)."""
        try:
            if change.op == "enterprise.put":
                e = msgspec.convert(change.data, Enterprise)
                _check_enterprise(e)
                self._check_unique(e)
                return "enterprise", e.id, e
            if change.op == "site.put":
                s = msgspec.convert(change.data, Site)
                self._check_site(s)
                return "site", s.gln, s
            if change.op == "whitelist.put":
                w = msgspec.convert(change.data, WhiteListEntry)
                self._check_entry(w)
                return "whitelist", w.key, w
            if change.op == "whitelist.revoke":
                return self._revocation(change.data)
        except msgspec.ValidationError as exc:
            raise _bad(change.op, str(exc)) from None
        raise _bad("op", f"{change.op!r} is not one of {', '.join(OPS)}")

    def _check_unique(self, e: Enterprise) -> None:
        for prefix in e.company_prefixes:
            owner = self._by_prefix.get(prefix)
            if owner not in (None, e.id):
                raise _bad(f"enterprise {e.id}", f"company prefix {prefix} belongs to {owner}")
        for code in e.manufacturer_codes:
            owner = self._by_maker.get(code)
            if owner not in (None, e.id):
                raise _bad(f"enterprise {e.id}", f"manufacturer code {code} belongs to {owner}")
        for other in self.enterprises.values():
            if other.id != e.id and other.registry_id == e.registry_id:
                raise _bad(f"enterprise {e.id}", f"registryId is already {other.id}'s")

    def _check_site(self, s: Site) -> None:
        if s.enterprise not in self.enterprises:
            raise _bad(f"site {s.gln}", f"enterprise {s.enterprise!r} is not registered")
        if not s.gln.startswith("urn:epc:id:sgln:") or company_prefix_of(s.gln) is None:
            raise _bad(f"site {s.gln}", "gln must be an SGLN URN")
        if not is_province(s.province):
            raise _bad(f"site {s.gln}", f"province {s.province!r} is not an ISO 3166-2:CN code")
        if s.kind not in SiteKind.__members__.values():
            kinds = ", ".join(k.value for k in SiteKind)
            raise _bad(f"site {s.gln}", f"kind {s.kind!r} is not one of {kinds}")

    def _check_entry(self, w: WhiteListEntry) -> None:
        e = self.enterprises.get(w.enterprise)
        if e is None:
            raise _bad("white-list entry", f"enterprise {w.enterprise!r} is not registered")
        if w.category not in WhiteListCategory.__members__.values():
            raise _bad("white-list entry", f"category {w.category!r} is not cascade_use/recycling")
        role = CATEGORY_ROLE[WhiteListCategory(w.category)]
        if role.value not in e.roles:
            raise _bad("white-list entry", f"{w.enterprise} does not have the role {role.value}")
        if not 1 <= w.batch <= 99:
            raise _bad("white-list entry", f"batch {w.batch} is not 1-99")
        if not w.capacity_tpa > 0:
            raise _bad("white-list entry", f"capacityTpa {w.capacity_tpa} must be positive")
        _date("white-list validFrom", w.valid_from)
        _date("white-list validTo", w.valid_to)
        if w.valid_to is not None and w.valid_to < w.valid_from:
            raise _bad("white-list entry", "validTo is before validFrom")
        if w.revoked_on is not None or w.revoked_reason is not None:
            raise _bad("white-list entry", "revoke an entry with whitelist.revoke, not put")

    def _revocation(self, data: dict[str, Any]) -> tuple[str, str, WhiteListEntry]:
        key = f"{data.get('enterprise')}/{data.get('category')}"
        entry = self.whitelist.get(key)
        if entry is None:
            raise _bad("whitelist.revoke", f"no white-list entry {key}")
        if entry.revoked_on is not None:
            raise _bad("whitelist.revoke", f"{key} was already revoked on {entry.revoked_on}")
        reason, on = data.get("reason"), data.get("on")
        if not isinstance(reason, str) or not reason.strip():
            raise _bad("whitelist.revoke", "a revocation needs a reason")
        if not isinstance(on, str):
            raise _bad("whitelist.revoke", "a revocation needs its date ('on': YYYY-MM-DD)")
        _date("whitelist.revoke on", on)
        unknown = set(data) - {"enterprise", "category", "reason", "on"}
        if unknown:
            raise _bad("whitelist.revoke", f"unknown fields {sorted(unknown)}")
        return (
            "whitelist",
            key,
            msgspec.structs.replace(entry, revoked_on=on, revoked_reason=reason),
        )

    def put(self, kind: str, entry: Any) -> None:
        """Apply a checked change (or a stored row when loading)."""
        if kind == "enterprise":
            old = self.enterprises.get(entry.id)
            if old is not None:
                self._unindex(old)
            self.enterprises[entry.id] = entry
            for prefix in entry.company_prefixes:
                self._by_prefix[prefix] = entry.id
            for code in entry.manufacturer_codes:
                self._by_maker[code] = entry.id
            for gln in entry.glns:
                self._by_gln[gln] = entry.id
        elif kind == "site":
            self.sites[entry.gln] = entry
        else:
            self.whitelist[entry.key] = entry

    def _unindex(self, e: Enterprise) -> None:
        for prefix in e.company_prefixes:
            self._by_prefix.pop(prefix, None)
        for code in e.manufacturer_codes:
            self._by_maker.pop(code, None)
        for gln in e.glns:
            self._by_gln.pop(gln, None)


ENTRY_TYPES: dict[str, type[Any]] = {
    "enterprise": Enterprise,
    "site": Site,
    "whitelist": WhiteListEntry,
}


def decode_entry(kind: str, doc: bytes) -> Any:
    return msgspec.json.decode(doc, type=ENTRY_TYPES[kind])


def encode_entry(entry: Any) -> bytes:
    return msgspec.json.encode(entry)
