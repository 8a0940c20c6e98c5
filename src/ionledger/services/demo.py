"""``ionledger demo``: a store with a province-scale simulated fleet in it, ready to explore."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from ionledger.analytics.facts import refresh
from ionledger.errors import IonLedgerError
from ionledger.governance.credentials import OPERATOR, issue
from ionledger.services.importer import Importer
from ionledger.services.log import Checkpointer, start_log
from ionledger.services.registry import change_registry, changes_from_generator
from ionledger.settings import Settings
from ionledger.store.open import init_store
from ionledger.store.port import EventStore


def _example(store: EventStore) -> str:
    """A pack with a long history, to point the user at."""
    example = store.busiest_battery(kind="pack")
    if example is None:
        raise IonLedgerError("the demo store holds no packs")
    return example


def prepare_demo(
    workdir: Path, *, batteries: int, seed: int, console: Console
) -> tuple[Settings, str]:
    """Init, generate and import (each step skipped when already done); returns an example ID."""
    from ionledger.sim.generator import generate

    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=f"sqlite:///{workdir / 'ionledger.db'}")
    store = init_store(settings.database_url)
    try:
        signer, _created = start_log(store, settings)
        if store.count_events() > 0:
            console.print(f"reusing the demo store in {workdir} ({store.count_events()} events)")
            return settings, _example(store)
        fleet = workdir / f"fleet-{batteries}-{seed}"
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("simulating packs", total=batteries)
            result = generate(
                batteries=batteries,
                seed=seed,
                out=fleet,
                progress=lambda done: bar.update(task, completed=done),
            )
            checkpointer = Checkpointer(store, signer, interval=settings.checkpoint_interval)
            registry = json.loads((fleet / "registry.json").read_text(encoding="utf-8"))
            change_registry(
                store, changes_from_generator(registry), actor=OPERATOR, checkpointer=checkpointer
            )
            importer = Importer(store, settings, checkpointer=checkpointer)
            rejected = 0
            total = sum(path.stat().st_size for path in result.documents)
            load = bar.add_task("importing events", total=total)
            done = 0
            for path in result.documents:

                def advance(n: int, base: int = done) -> None:
                    bar.update(load, completed=base + n)

                # The fleet has planted violations: the impossible ones are rejected (and
                # counted), the rest are stored with their alerts.
                with open(path, "rb") as fh:
                    report = importer.import_stream(
                        fh, source=str(path), proceed=True, progress=advance
                    )
                if report.document_error is not None:
                    raise IonLedgerError(f"demo import of {path} failed: {report.document_error}")
                rejected += report.error_count
                done += path.stat().st_size
        console.print(
            f"loaded {result.events - rejected} events for {result.packs} packs; "
            f"{rejected} planted impossible records were rejected by the rules"
        )
        facts = refresh(store)  # the reports' fact tables, ready before the first report
        console.print(f"analytics facts derived for {facts.batteries:,} batteries")
        return settings, _example(store)
    finally:
        store.close()


def demo_token(settings: Settings) -> str:
    """A read-only operator credential for exploring the demo (valid a week)."""
    store = init_store(settings.database_url)
    try:
        return issue(store, OPERATOR, ["read"], expires_days=7, label="demo").token
    finally:
        store.close()
