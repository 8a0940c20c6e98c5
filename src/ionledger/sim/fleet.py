"""The simulated population: enterprises and their sites (see :mod:`.registry` for what
registry.json says of them), and fast lookups of sites by province for the lifecycle.
"""

from __future__ import annotations

import datetime
import math
import string
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ionledger.domain import uscc
from ionledger.domain.provinces import PROVINCES
from ionledger.domain.vocabulary import Stage
from ionledger.governance.deadlines import deadline_days
from ionledger.sim import params as p
from ionledger.sim.identifiers import day_number
from ionledger.sim.registry import (
    VIN_ALPHABET,
    Enterprise,
    Pool,
    Role,
    Site,
    SiteKind,
    WhiteListCategory,
    WhiteListEntry,
)

PROVINCE_CODES: tuple[str, ...] = tuple(PROVINCES)
_ALNUM = string.ascii_uppercase + string.digits

_SYLLABLES = (
    "Hua", "Xin", "Tai", "Heng", "Rui", "Feng", "Jin", "Long", "Sheng", "Kai", "Yuan", "Tian",
    "Bao", "Da", "Guo", "Hai", "Ming", "Cheng", "An", "Li", "Neng", "Zhong", "Yu", "Wei",
)  # fmt: skip

IntArray = npt.NDArray[np.int64]
NEVER = 2**40  # the valid-from day of a white-list entry a firm does not have
# The pool a white-list category lets a firm's sites join.
LISTED_POOLS = {
    Pool.CASCADE: WhiteListCategory.CASCADE_USE,
    Pool.RECYCLER: WhiteListCategory.RECYCLING,
}


class SiteRef(NamedTuple):
    """What an event needs about a site: where, who reports, and in which province."""

    sgln: str
    reporter: str  # enterprise ID
    province: str
    pgln: str  # owning party
    line: str  # GB/T 34014 production-line code of the site ('' where it codes nothing)
    owner: int  # index into Population.enterprises (or workshops, for a workshop)


@dataclass(frozen=True, slots=True)
class _Index:
    order: IntArray  # site indices sorted by province
    start: IntArray  # per province: first position in order
    count: IntArray  # per province: how many


@dataclass(slots=True)
class Population:
    enterprises: list[Enterprise]
    workshops: list[Enterprise]  # informal, unregistered
    sites: list[SiteRef]
    site_province: IntArray
    site_owner: IntArray
    ent_first_site: IntArray
    ent_site_count: IntArray
    battery_makers: IntArray  # enterprise indices
    battery_maker_share: npt.NDArray[np.float64]
    vehicle_makers: IntArray
    vehicle_maker_share: npt.NDArray[np.float64]
    models: dict[int, tuple[str, ...]]  # vehicle maker -> VIN descriptor (VDS) of its models
    pools: dict[Pool, _Index]
    # Per site: the day its firm's white-list entry of a category is valid from (NEVER: none).
    listed_from: dict[WhiteListCategory, IntArray]
    # Per listed pool: its sites by the day their entry is valid from, and those days.
    listed: dict[Pool, tuple[IntArray, IntArray]]
    _deadlines: dict[Stage, IntArray] = field(default_factory=dict)

    def deadline_days(self, stage: Stage) -> IntArray:
        """Per site: the working days its enterprise has to report ``stage`` (0: no duty),
        as governance.deadlines has them."""
        days = self._deadlines.get(stage)
        if days is None:
            roles = {e.id: frozenset(e.roles) for e in self.enterprises}  # workshops: none
            none: frozenset[str] = frozenset()
            days = self._deadlines[stage] = np.array(
                [deadline_days(stage, roles.get(s.reporter, none)) or 0 for s in self.sites],
                dtype=np.int64,
            )
        return days

    def pick(
        self, rng: np.random.Generator, pool: Pool, prov: IntArray, local: float = 1.0
    ) -> IntArray:
        """One site of ``pool`` per element: in its province with probability ``local`` (where
        the pool has a site there), else anywhere in the country."""
        idx = self.pools[pool]
        n = len(prov)
        count = idx.count[prov]
        pos = idx.start[prov] + (rng.random(n) * np.maximum(count, 1)).astype(np.int64)
        in_prov = idx.order[np.minimum(pos, len(idx.order) - 1)]
        anywhere = idx.order[rng.integers(0, len(idx.order), n)]
        return np.where((count > 0) & (rng.random(n) < local), in_prov, anywhere)

    def pick_listed(self, rng: np.random.Generator, pool: Pool, day: IntArray) -> IntArray:
        """One site of ``pool`` per element, anywhere in the country, among those whose firm's
        white-list entry is valid on ``day``; where none is yet, a site of the first listed."""
        order, valid_from = self.listed[pool]
        count = np.searchsorted(valid_from, day, side="right")
        return order[(rng.random(len(day)) * np.maximum(count, 1)).astype(np.int64)]

    def site_of(self, rng: np.random.Generator, ents: IntArray) -> IntArray:
        """One site of each enterprise, uniformly among its sites."""
        count = self.ent_site_count[ents]
        return self.ent_first_site[ents] + (rng.random(len(ents)) * count).astype(np.int64)


def _site_ref(site: Site, reporter: str, pgln: str, line: str, owner: int) -> SiteRef:
    return SiteRef(site.sgln, reporter, site.province, pgln, line, owner)


def _zipf(n: int, s: float) -> npt.NDArray[np.float64]:
    # Market shares are concentrated (assumption: rank-size rule; the sources give no shares).
    w: npt.NDArray[np.float64] = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    return w / float(w.sum())


def _weights(table: dict[str, float]) -> npt.NDArray[np.float64]:
    w = np.array([table.get(code, 0.0) for code in PROVINCE_CODES], dtype=np.float64)
    return w / float(w.sum())


MARKET = _weights(p.MARKET_WEIGHTS)
INDUSTRY = _weights(p.INDUSTRY_WEIGHTS)
# A white-listed firm's batch, per category: as likely as the batches' sizes (params).
_BATCH_WEIGHTS = np.array(p.WHITE_LIST_BATCH_SIZES, dtype=np.float64) / sum(
    p.WHITE_LIST_BATCH_SIZES
)


@dataclass(frozen=True, slots=True)
class _Kind:
    """A kind of enterprise: its ID prefix, name, roles, sites and the pools they join."""

    prefix: str
    noun: str
    roles: tuple[Role, ...]
    site: SiteKind
    pools: frozenset[Pool]
    codes: bool = False  # files GB/T 34014 codes: a manufacturer code, a line code per site
    wmi: bool = False
    white_listed: bool = False
    informal: bool = False


_STORE = (Role.DEALER, Role.REPAIRER)
BATTERY_MAKER = _Kind(
    "BM",
    "Power Battery Co., Ltd.",
    (Role.BATTERY_MAKER,),
    SiteKind.CELL_PACK_FACTORY,
    frozenset({Pool.BATTERY_PLANT}),
    codes=True,
)
VEHICLE_MAKER = _Kind(
    "VM",
    "Automobile Co., Ltd.",
    (Role.VEHICLE_MAKER,),
    SiteKind.VEHICLE_PLANT,
    frozenset(),
    wmi=True,
)
STORE = _Kind("DL", "Auto 4S Store", _STORE, SiteKind.STORE, frozenset({Pool.DEALER}))
STORE_OUTLET = _Kind(
    "DL",
    "Auto 4S Store",
    (*_STORE, Role.COLLECTION_OUTLET),
    SiteKind.STORE,
    frozenset({Pool.DEALER, Pool.OUTLET}),
)
OUTLET = _Kind(
    "CO",
    "Battery Collection Point",
    (Role.COLLECTION_OUTLET,),
    SiteKind.OUTLET,
    frozenset({Pool.OUTLET}),
)
DISMANTLER = _Kind(
    "DS",
    "Vehicle Dismantling Co., Ltd.",
    (Role.DISMANTLER,),
    SiteKind.DISMANTLING_PLANT,
    frozenset({Pool.DISMANTLER}),
)
CASCADE = _Kind(
    "WL",
    "Energy Storage Co., Ltd.",
    (Role.CASCADE_USER,),
    SiteKind.SECOND_LIFE_PLANT,
    frozenset({Pool.CASCADE}),
    codes=True,
    white_listed=True,
)
RECYCLER = _Kind(
    "WL",
    "Resource Recycling Co., Ltd.",
    (Role.RECYCLER,),
    SiteKind.RECYCLING_PLANT,
    frozenset({Pool.RECYCLER}),
    codes=True,  # files a code for the packs it might sell on (assumption)
    white_listed=True,
)
CASCADE_RECYCLER = _Kind(
    "WL",
    "New Energy Materials Co., Ltd.",
    (Role.CASCADE_USER, Role.RECYCLER),
    SiteKind.RECYCLING_PLANT,  # a recycling plant with a second-life line
    frozenset({Pool.CASCADE, Pool.RECYCLER}),
    codes=True,
    white_listed=True,
)
WORKSHOP = _Kind("IW", "Battery Workshop", (), SiteKind.WORKSHOP, frozenset({Pool.WORKSHOP}),
                 informal=True)  # fmt: skip


class _Builder:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.enterprises: list[Enterprise] = []
        self.workshops: list[Enterprise] = []
        self.sites: list[SiteRef] = []
        self.site_pools: list[tuple[int, frozenset[Pool]]] = []  # (province, pools) per site
        self.first: list[int] = []
        self.count: list[int] = []
        self.site_listed: list[tuple[int, int]] = []  # per site: (cascade_use, recycling) from
        prefixes = rng.choice(100_000, size=2_000, replace=False)
        self._prefixes = iter(f"69{x:05d}" for x in prefixes.tolist())
        self._taken: set[str] = set()
        self._names: set[str] = set()
        self._numbers: dict[str, int] = {}

    def _unique(self, alphabet: str, length: int, first: str = "") -> str:
        while True:
            picks = self.rng.integers(0, len(alphabet), length - len(first)).tolist()
            text = first + "".join(alphabet[i] for i in picks)
            if text not in self._taken:
                self._taken.add(text)
                return text

    def _name(self, province: str, noun: str) -> str:
        a, b = self.rng.integers(0, len(_SYLLABLES), 2).tolist()
        name = f"{PROVINCES[province]} {_SYLLABLES[a]}{_SYLLABLES[b].lower()} {noun}"
        stem, n = name, 2
        while name in self._names:
            name, n = f"{stem} ({n})", n + 1
        self._names.add(name)
        return name

    def add(self, kind: _Kind, provinces: list[int]) -> None:
        """An enterprise of ``kind`` with one site in each of ``provinces``."""
        number = self._numbers[kind.prefix] = self._numbers.get(kind.prefix, 0) + 1
        id_ = f"{kind.prefix}{number:04d}"
        prefix = next(self._prefixes)
        pgln = f"urn:epc:id:pgln:{prefix}.00000"
        head = PROVINCE_CODES[provinces[0]]
        owner = len(self.workshops if kind.informal else self.enterprises)
        if not kind.informal:
            self.first.append(len(self.sites))
            self.count.append(len(provinces))
        white_list = self._white_list(kind.roles) if kind.white_listed else []
        listed = tuple(_listed_from(white_list, c) for c in WhiteListCategory)
        sites = []
        for k, prov in enumerate(provinces, start=1):
            line = self._unique(_ALNUM, 3) if kind.codes else ""
            sgln = f"urn:epc:id:sgln:{prefix}.{k:05d}.0"
            site = Site(sgln, kind.site, PROVINCE_CODES[prov], line or None)
            sites.append(site)
            self.sites.append(_site_ref(site, id_, pgln, line, owner))
            self.site_pools.append((prov, kind.pools))
            self.site_listed.append((listed[0], listed[1]))
        ent = Enterprise(
            id=id_,
            name=self._name(head, kind.noun),
            registry_id=self._uscc("9", "1", uscc.PROVINCE_DIVISIONS[head] + "0000"),
            province=head,
            roles=[str(r) for r in kind.roles],
            company_prefix=prefix,
            pgln=pgln,
            manufacturer_codes=[self._unique(_ALNUM, 3)] if kind.codes else [],
            wmi=[self._unique(VIN_ALPHABET, 3, "L")] if kind.wmi else [],
            white_listed=bool(white_list),
            white_list=white_list,
            sites=sites,
        )
        (self.workshops if kind.informal else self.enterprises).append(ent)

    def _uscc(self, authority: str, kind: str, division: str) -> str:
        """A unified social credit code around a new organisation code (digits, as most are)."""
        return uscc.make(authority, kind, division, self._unique(string.digits, 8))

    def _white_list(self, roles: tuple[Role, ...]) -> list[WhiteListEntry]:
        """One entry per category the firm's roles call for, each in a batch of its own."""
        entries = []
        for role, category, span in (
            (Role.CASCADE_USER, WhiteListCategory.CASCADE_USE, p.CASCADE_CAPACITY_TPA),
            (Role.RECYCLER, WhiteListCategory.RECYCLING, p.RECYCLING_CAPACITY_TPA),
        ):
            if role not in roles:
                continue
            batch = int(self.rng.choice(len(_BATCH_WEIGHTS), p=_BATCH_WEIGHTS))
            lo, hi = (math.log(x) for x in span)
            capacity = round(math.exp(self.rng.uniform(lo, hi)) / 500) * 500.0
            entries.append(
                WhiteListEntry(str(category), batch + 1, capacity, p.WHITE_LIST_BATCH_DATES[batch])
            )
        return entries

    def regulator(self, province: str | None) -> None:
        """The national regulator (``province`` None) or a province's: no sites, no reports."""
        number = self._numbers["RG"] = self._numbers.get("RG", 0) + 1
        prefix = next(self._prefixes)
        if province is None:
            name, role = "Ministry of Industry and Information Technology", Role.NATIONAL_REGULATOR
            division = uscc.NATIONAL_DIVISION
        else:
            name = f"{PROVINCES[province]} Department of Industry and Information Technology"
            role, division = Role.PROVINCIAL_REGULATOR, uscc.PROVINCE_DIVISIONS[province] + "0000"
        self.first.append(len(self.sites))
        self.count.append(0)
        self.enterprises.append(
            Enterprise(
                id=f"RG{number:04d}",
                name=name,
                registry_id=self._uscc("1", "1", division),  # 1 1: a government body
                province=province or "CN",
                roles=[str(role)],
                company_prefix=prefix,
                pgln=f"urn:epc:id:pgln:{prefix}.00000",
                manufacturer_codes=[],
                wmi=[],
                white_listed=False,
                white_list=[],
                sites=[],
            )
        )

    def vds(self) -> str:
        picks = self.rng.integers(0, len(VIN_ALPHABET), 5).tolist()
        return "".join(VIN_ALPHABET[i] for i in picks)

    def provinces(self, weights: npt.NDArray[np.float64], n: int) -> list[int]:
        picks: list[int] = self.rng.choice(len(PROVINCE_CODES), size=n, p=weights).tolist()
        return picks

    def everywhere_then(self, weights: npt.NDArray[np.float64], n: int) -> list[int]:
        """One per province first, so that every province has one; the rest by weight."""
        return list(range(len(PROVINCE_CODES))) + self.provinces(weights, n - len(PROVINCE_CODES))


def build_population(rng: np.random.Generator) -> Population:
    b = _Builder(rng)
    for _ in range(p.N_BATTERY_MAKERS):
        b.add(BATTERY_MAKER, b.provinces(INDUSTRY, int(rng.integers(1, 4))))
    for _ in range(p.N_VEHICLE_MAKERS):
        b.add(VEHICLE_MAKER, b.provinces(INDUSTRY, int(rng.integers(1, 4))))
    for i, prov in enumerate(b.everywhere_then(MARKET, p.N_DEALERS)):
        # The first stores (one per province) are outlets, so every province can collect.
        outlet = i < len(PROVINCE_CODES) or rng.random() < p.DEALER_OUTLET_SHARE
        b.add(STORE_OUTLET if outlet else STORE, [prov])
    for prov in b.provinces(MARKET, p.N_OUTLETS):
        b.add(OUTLET, [prov])
    for prov in b.everywhere_then(MARKET, p.N_DISMANTLERS):
        b.add(DISMANTLER, [prov])
    white = (
        [CASCADE] * p.N_CASCADE_ONLY
        + [RECYCLER] * p.N_RECYCLER_ONLY
        + [CASCADE_RECYCLER] * p.N_CASCADE_AND_RECYCLER
    )
    for kind in white:
        b.add(kind, b.provinces(INDUSTRY, int(rng.integers(1, 3))))
    for prov in b.provinces(MARKET, p.N_WORKSHOPS):
        b.add(WORKSHOP, [prov])
    # Regulators last, so that the firms' indices do not depend on them.
    b.regulator(None)
    used = {s.province for e in b.enterprises for s in e.sites}
    for province in PROVINCE_CODES:
        if province in used:
            b.regulator(province)
    return _finish(b)


def _listed_from(entries: list[WhiteListEntry], category: WhiteListCategory) -> int:
    for w in entries:
        if w.category == category:
            return day_number(datetime.date.fromisoformat(w.valid_from))
    return NEVER


def _finish(b: _Builder) -> Population:
    site_prov = np.array([prov for prov, _ in b.site_pools], dtype=np.int64)
    pools: dict[Pool, _Index] = {}
    for pool in Pool:
        members = np.array([i for i, (_, ps) in enumerate(b.site_pools) if pool in ps], np.int64)
        order = members[np.argsort(site_prov[members], kind="stable")]
        count = np.bincount(site_prov[order], minlength=len(PROVINCE_CODES)).astype(np.int64)
        start = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64)
        pools[pool] = _Index(order, start, count)
    listed_from = {
        category: np.array([listed[i] for listed in b.site_listed], dtype=np.int64)
        for i, category in enumerate(WhiteListCategory)
    }
    listed: dict[Pool, tuple[IntArray, IntArray]] = {}
    for pool, category in LISTED_POOLS.items():
        members = pools[pool].order
        order = members[np.argsort(listed_from[category][members], kind="stable")]
        listed[pool] = (order, listed_from[category][order])
    n_bm, n_vm = p.N_BATTERY_MAKERS, p.N_VEHICLE_MAKERS
    return Population(
        enterprises=b.enterprises,
        workshops=b.workshops,
        sites=b.sites,
        site_province=site_prov,
        site_owner=np.array([s.owner for s in b.sites], dtype=np.int64),
        ent_first_site=np.array(b.first, dtype=np.int64),
        ent_site_count=np.array(b.count, dtype=np.int64),
        battery_makers=np.arange(n_bm, dtype=np.int64),
        battery_maker_share=_zipf(n_bm, 1.1),
        vehicle_makers=np.arange(n_bm, n_bm + n_vm, dtype=np.int64),
        vehicle_maker_share=_zipf(n_vm, 0.9),
        models={n_bm + i: tuple(b.vds() for _ in range(3)) for i in range(n_vm)},
        pools=pools,
        listed_from=listed_from,
        listed=listed,
    )
