"""The leakage figures against what the generator planted (truth.json): the formal collection
rate and the expected retirements fall within the report's own stated bounds, and the missing
batteries it finds are exactly the informally removed or diverted packs that were due."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from generator_kit import AGED_END, Run, _run
from ionledger.analytics import kpis
from ionledger.analytics.facts import refresh
from ionledger.analytics.params import AnalyticsParams
from ionledger.governance.credentials import OPERATOR
from ionledger.services.importer import Importer
from ionledger.services.registry import change_registry, changes_from_generator
from ionledger.settings import Settings
from ionledger.store.open import init_store

MISSING_DAYS = 30


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Any]]:
    """A clean fleet (no planted violations) seen late, imported, and its leakage report."""
    run = _run(tmp_path_factory.mktemp("leak"), batteries=600, seed=5, end_date=AGED_END,
               anomaly_rate=0.0, events_per_document=5_000)  # fmt: skip
    store = init_store(f"sqlite:///{tmp_path_factory.mktemp('leakdb') / 's.db'}")
    change_registry(store, changes_from_generator(run.registry), actor=OPERATOR)
    importer = Importer(store, Settings(database_url=store.url))
    for path in run.result.documents:
        with path.open("rb") as fh:
            assert importer.import_stream(fh).ok
    refresh(store)
    with kpis.facts_of("sqlite", store_url=store.url) as facts:
        report = kpis.run("leakage", facts, AnalyticsParams(missing_after_days=MISSING_DAYS))
    yield run, report
    store.close()


def test_formal_rate_and_retirements_fall_within_the_stated_bounds(
    seen: tuple[Run, Any],
) -> None:
    run, report = seen
    packs = run.truth["packs"]
    retired = [c for c, t in packs.items() if t["retired"]]
    formal = [c for c in retired if packs[c]["channel"] == "formal"]
    [total] = [r for r in report.table("national").rows if r["year"] is None]  # every year
    expected, low, high = (total[c] for c in ("expected_retirements", "expected_low",
                                              "expected_high"))  # fmt: skip
    received = total["received_whitelisted"]
    true_rate = len(formal) / len(retired)
    print(
        f"retired: truth {len(retired)}, expected {expected:.0f} [{low:.0f}, {high:.0f}]; "
        f"formal rate: truth {true_rate:.3f}, estimated {total['formal_collection_rate']:.3f} "
        f"[{total['formal_rate_low']:.3f}, {total['formal_rate_high']:.3f}]"
    )
    assert received == len(formal)  # every formal pack reached a white-listed firm, on record
    assert low <= len(retired) <= high
    assert total["formal_rate_low"] <= true_rate <= total["formal_rate_high"]
    # The per-year national rows add up to it.
    years = [r for r in report.table("national").rows if r["year"] is not None]
    assert sum(r["received_whitelisted"] for r in years) == received


def test_missing_batteries_are_the_informal_exits_that_were_due(seen: tuple[Run, Any]) -> None:
    run, report = seen
    end = datetime.date.fromisoformat(run.truth["endDate"])
    due = end - datetime.timedelta(days=MISSING_DAYS)
    planted = {
        code
        for code, t in run.truth["packs"].items()
        if t.get("informal") in ("removed", "diverted")
        and datetime.date.fromisoformat(t["retired"]) <= due
    }
    found = {m["battery_id"] for m in report.table("missing").rows if m["status"] == "open"}
    assert planted, "the fleet has informal removals"
    assert found == planted
