"""``ionledger generate``: a reproducible national fleet, written as EPCIS documents.

Packs are planned and written a chunk at a time, so memory is bounded by one chunk (two per
worker process) whatever the fleet size. Every random draw comes from seeded PCG64 streams
(the population, and per chunk its plan and its event IDs), and no wall-clock time enters the
output: the same arguments give byte-identical files.
"""

from __future__ import annotations

import datetime
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ionledger.domain.date_codes import FIRST_YEAR as _FIRST_CODE_YEAR
from ionledger.errors import ValidationError
from ionledger.sim import fleet
from ionledger.sim import params as p
from ionledger.sim.anomalies import ANOMALY_KINDS, ANOMALY_RULES, plant_over_capacity
from ionledger.sim.epcis_writer import DocumentWriter
from ionledger.sim.fleet import build_population
from ionledger.sim.identifiers import MAX_BATCHES, TZ_OFFSET, EventIds
from ionledger.sim.lifecycle import PlanConfig, plan_chunk
from ionledger.sim.registry import Enterprise, registry_bytes
from ionledger.sim.timeline import MAX_PACKS, Rendered, Timeline
from ionledger.sim.truth import RegistryAnomaly, TruthWriter

# Packs planned and rendered at once. Fixed: each chunk draws from its own seeded streams, so
# the output does not depend on how many workers render the chunks.
CHUNK_PACKS = 250
DEFAULT_ANOMALY_RATE = 0.002
MAX_AUTO_WORKERS = 8
_STREAM_POPULATION, _STREAM_IDS, _STREAM_CHUNKS, _STREAM_REGISTRY = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class GenerateResult:
    files: tuple[Path, ...]  # every file written: the documents, truth.json, registry.json
    documents: tuple[Path, ...]
    packs: int  # traction packs, replacement packs included
    replacement_packs: int
    events: int
    fates: dict[str, int]
    anomalies: dict[str, int]


@dataclass(frozen=True, slots=True)
class FleetPlan:
    """What shapes a fleet beyond the defaults (a policy scenario's, see ionledger.policy.feed).

    ``province``: every vehicle is sold and used there (None: the national market mix).
    ``sales``: (production year, relative sales) pairs; years not listed weigh nothing.
    ``lfp_share``: (production year, LFP share of packs) pairs; others keep the default mix.
    """

    province: str | None = None
    sales: tuple[tuple[int, float], ...] = ()
    lfp_share: tuple[tuple[int, float], ...] = ()

    def describe(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "sales": {str(y): v for y, v in self.sales},
            "lfpShare": {str(y): v for y, v in self.lfp_share},
        }


@dataclass(frozen=True, slots=True)
class _Run:
    """What a worker needs to rebuild the run's population and plan its chunks."""

    seed: int
    start_year: int
    end_date: datetime.date
    formal_share: float
    anomaly_rate: float
    plan: FleetPlan | None = None


def _planned(cfg: PlanConfig, plan: FleetPlan | None) -> PlanConfig:
    """``cfg`` with the plan's sales weights and LFP shares by production year."""
    if plan is None:
        return cfg
    weight, lfp = cfg.weight, cfg.lfp
    if plan.sales:
        sales = dict(plan.sales)
        days = (cfg.last_day - cfg.first_day + 1) / 365  # a cut-short year weighs its part
        w = np.array([sales.get(int(y), 0.0) for y in cfg.years]) * days
        if not w.sum() > 0:
            raise ValidationError("the fleet plan sells nothing between start_year and end_date")
        weight = w / w.sum()
    if plan.lfp_share:
        shares = dict(plan.lfp_share)
        pairs = zip(cfg.years, cfg.lfp, strict=True)
        lfp = np.array([shares.get(int(y), float(x)) for y, x in pairs])
    return replace(cfg, weight=weight, lfp=lfp)


@contextmanager
def _market(province: str | None) -> Iterator[None]:
    """Inside the block, every vehicle is sold in ``province``. lifecycle.py draws provinces
    from fleet.MARKET by reference, so the array is rewritten in place, then restored."""
    if province is None:
        yield
        return
    saved = fleet.MARKET.copy()
    fleet.MARKET[:] = [1.0 if code == province else 0.0 for code in fleet.PROVINCE_CODES]
    try:
        yield
    finally:
        fleet.MARKET[:] = saved


class _Renderer:
    def __init__(self, run: _Run) -> None:
        self.seed = run.seed
        self.province = run.plan.province if run.plan else None
        self.pop = build_population(_rng(run.seed, _STREAM_POPULATION))
        cfg = PlanConfig.make(run.start_year, run.end_date, run.formal_share, run.anomaly_rate)
        self.cfg = _planned(cfg, run.plan)
        self.timeline = Timeline(self.pop, self.cfg.end_t)

    def __call__(self, chunk: int, first: int, n: int) -> Rendered:
        with _market(self.province):
            rng = _rng(self.seed, _STREAM_CHUNKS, chunk)
            rows = plan_chunk(rng, self.pop, self.cfg, first, n)
        ids = EventIds(_rng(self.seed, _STREAM_IDS, chunk))
        return self.timeline.render(rows, batch=chunk, ids=ids)


_worker: _Renderer | None = None


def _start_worker(run: _Run) -> None:
    global _worker
    _worker = _Renderer(run)


def _render_in_worker(chunk: int, first: int, n: int) -> Rendered:
    assert _worker is not None, "worker not initialised"
    return _worker(chunk, first, n)


def _rendered(
    renderer: _Renderer, run: _Run, batteries: int, workers: int
) -> Iterator[tuple[int, Rendered]]:
    """(packs done, rendered chunk), in chunk order; at most 2 chunks per worker in flight."""
    tasks = (
        (c, first, min(CHUNK_PACKS, batteries - first))
        for c, first in enumerate(range(0, batteries, CHUNK_PACKS))
    )
    if workers <= 1:
        for chunk, first, n in tasks:
            yield first + n, renderer(chunk, first, n)
        return
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker, initargs=(run,))
    try:
        pending: deque[tuple[int, Future[Rendered]]] = deque()
        for task in tasks:
            pending.append((task[1] + task[2], pool.submit(_render_in_worker, *task)))
            if len(pending) >= 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _truth_head(run: _Run, workshops: list[Enterprise]) -> dict[str, Any]:
    """What truth.json says before its packs: the run's parameters, the unregistered parties."""
    head: dict[str, Any] = {
        "schemaVersion": 2,
        "seed": run.seed,
        "startYear": run.start_year,
        "endDate": run.end_date.isoformat(),
        "formalShare": run.formal_share,
        "anomalyRate": run.anomaly_rate,
        "anomalyKinds": list(ANOMALY_KINDS) if run.anomaly_rate > 0 else [],
        "anomalyRules": ANOMALY_RULES,
        "sohPlausible": list(p.SOH_PLAUSIBLE),
        "unregisteredParties": [
            {
                "id": w.id,
                "name": w.name,
                "province": w.province,
                "pgln": w.pgln,
                "sgln": w.sites[0].sgln,
            }
            for w in workshops
        ],
    }
    if run.plan is not None:
        head["plan"] = run.plan.describe()
    return head


def _workers(requested: int) -> int:
    if requested > 0:
        return requested
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cpus = os.cpu_count() or 1
    return min(cpus, MAX_AUTO_WORKERS)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _check(
    *, batteries: int, seed: int, start_year: int, end_date: datetime.date,
    events_per_document: int, formal_share: float, anomaly_rate: float, workers: int,
) -> None:  # fmt: skip
    limit = min(MAX_PACKS, MAX_BATCHES * CHUNK_PACKS)  # VIN numbers, batch codes
    problems = [
        (not 0 <= batteries <= limit, f"batteries must be in 0-{limit}, got {batteries}"),
        (seed < 0, f"seed must be >= 0, got {seed}"),
        (not _FIRST_CODE_YEAR <= start_year <= end_date.year,
         f"start_year must be in {_FIRST_CODE_YEAR}-{end_date.year} (GB/T 34014 dates begin in "
         f"{_FIRST_CODE_YEAR}), got {start_year}"),
        (events_per_document < 1, f"events_per_document must be >= 1, got {events_per_document}"),
        (not 0 <= formal_share <= 1, f"formal_share must be in [0, 1], got {formal_share}"),
        (not 0 <= anomaly_rate <= 1, f"anomaly_rate must be in [0, 1], got {anomaly_rate}"),
        (workers < 0, f"workers must be >= 0, got {workers}"),
    ]  # fmt: skip
    for bad, message in problems:
        if bad:
            raise ValidationError(message)


def _check_plan(plan: FleetPlan) -> None:
    if plan.province is not None and plan.province not in fleet.PROVINCE_CODES:
        raise ValidationError(f"plan province must be an ISO 3166-2:CN code, got {plan.province}")
    if any(not v >= 0 for _, v in plan.sales):
        raise ValidationError("plan sales must be >= 0")
    if any(not 0 <= v <= 1 for _, v in plan.lfp_share):
        raise ValidationError("plan LFP shares must be in [0, 1]")


def generate(
    *,
    batteries: int,
    seed: int,
    out: Path,
    events_per_document: int = 50_000,
    start_year: int = 2016,
    end_date: datetime.date = datetime.date(2026, 6, 30),
    progress: Callable[[int], None] | None = None,
    formal_share: float = p.FORMAL_SHARE,
    anomaly_rate: float = DEFAULT_ANOMALY_RATE,
    workers: int = 1,
    plan: FleetPlan | None = None,
) -> GenerateResult:
    """Simulate ``batteries`` traction packs and write their events, truth and registry to ``out``.

    Writes ``events-0000.jsonld``, ... (EPCISDocuments of at most ``events_per_document``
    events), ``truth.json`` (see :mod:`ionledger.sim.truth`) and ``registry.json`` (see
    :mod:`ionledger.sim.registry`). Documents left in ``out`` by an earlier run are removed
    first. ``progress`` is called after each chunk with the number of packs done so far
    (replacement packs not counted). ``formal_share`` is the share of retired packs that take
    the formal channel; ``anomaly_rate`` the chance, per pack and anomaly kind (per recycler
    for over_capacity), that one is planted where it can be (see :mod:`.anomalies`; at 0 the
    fleet trips no governance rule). registry.json is written last: licensed capacities are
    settled against the tonnage the fleet's recyclers processed. ``workers`` processes render
    chunks in parallel (0: one per CPU, up to 8); the files are the same whatever their number.
    Workers are started with ``spawn``, which imports the calling script again: a script that
    asks for more than one must guard its entry point with ``if __name__ == "__main__":``.
    ``plan`` (optional) puts the fleet in one province and sets its sales and LFP share by
    year (see :class:`FleetPlan`).
    """
    _check(batteries=batteries, seed=seed, start_year=start_year, end_date=end_date,
           events_per_document=events_per_document, formal_share=formal_share,
           anomaly_rate=anomaly_rate, workers=workers)  # fmt: skip
    try:
        _planned(PlanConfig.make(start_year, end_date, formal_share, anomaly_rate), plan)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    if plan is not None:
        _check_plan(plan)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("events-[0-9]*.jsonld"):
        stale.unlink()

    run = _Run(seed, start_year, end_date, formal_share, anomaly_rate, plan)
    renderer = _Renderer(run)
    pop = renderer.pop
    registry = out / "registry.json"
    creation = f"{end_date.isoformat()}T23:59:59{TZ_OFFSET}"  # as of the end date, reproducible
    docs = DocumentWriter(out, events_per_document, creation)
    truth_path = out / "truth.json"
    head = _truth_head(run, pop.workshops)
    truth = TruthWriter(truth_path, head)
    try:
        for done, chunk in _rendered(renderer, run, batteries, _workers(workers)):
            docs.write(chunk.events, chunk.ends)
            truth.write(chunk.truth, chunk.tally)
            del chunk  # before the next one is rendered
            if progress is not None:
                progress(done)
    except BaseException:
        docs.close()
        truth.abort()
        raise
    documents = docs.close()
    # Capacities are settled once the fleet's tonnage is known: the registry is written last.
    enterprises, over = plant_over_capacity(
        _rng(seed, _STREAM_REGISTRY), pop.enterprises, truth.tally.processed, anomaly_rate
    )
    registry.write_bytes(registry_bytes(enterprises, seed))
    kind = "over_capacity"
    planted = [
        RegistryAnomaly(kind, ANOMALY_RULES[kind], enterprises[i].id, year) for i, year in over
    ]
    summary = truth.close(events=docs.events, documents=len(documents), registry=planted)
    return GenerateResult(
        files=(*documents, truth_path, registry),
        documents=tuple(documents),
        packs=truth.tally.packs,
        replacement_packs=truth.tally.spares,
        events=docs.events,
        fates=dict(summary["fates"]),
        anomalies=dict(summary["anomalies"]),
    )
