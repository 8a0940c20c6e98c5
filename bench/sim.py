"""The policy simulator's costs: a national fleet 2012-2040 in one run, and a Monte Carlo.

1. Single run of the baseline, 2012-2040, every province, segment and chemistry (the whole
   national fleet as cohorts): seconds cold (importing the package, reading the reference data,
   building the cohorts and their retirement kernels, the yearly loop) and warm (the run alone,
   best of 5), peak memory.
2. Monte Carlo of the baseline's uncertain parameters: N draws (default 1,000), seconds and
   peak memory.
3. Calibration (`ionledger sim calibrate`): seconds and runs.

Each part runs in a fresh process, so that its peak RSS is its own; the peak of memory
allocated through Python (tracemalloc, NumPy's arrays included) is measured in a separate pass,
since tracing slows the run.

    python bench/sim.py [--draws 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_rss_mb, run_worker, write_result

GOAL_SINGLE_S = 30.0
GOAL_MONTE_CARLO_S = 600.0


def _traced_peak_mb(work: Any) -> float:
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def worker_single() -> dict[str, Any]:
    start = time.perf_counter()  # cold: the imports count too
    from ionledger.policy.engine import run
    from ionledger.policy.inputs import load_data
    from ionledger.policy.refdata import default_refdata
    from ionledger.policy.scenario import load_scenario

    refdata = default_refdata()
    spec = load_scenario("baseline")
    data = load_data(refdata, spec.start_year, spec.end_year)
    result = run(spec, data)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(5):
        t0 = time.perf_counter()
        run(spec, data)
        warm.append(time.perf_counter() - t0)
    vehicles = float(result.provincial["sold_vehicles"].sum())
    traced = _traced_peak_mb(lambda: run(spec, load_data(refdata, 2012, 2040)))
    return {
        "years": [int(result.years[0]), int(result.years[-1])],
        "vehicles_sold": vehicles,
        "packs_retired": float(result.national["retired_packs"].sum()),
        "cohorts": int(result.provincial["sold_vehicles"].shape[1] * 31 * 3 * 6),
        "seconds_cold": cold,
        "seconds_warm_best": min(warm),
        "traced_peak_mb": traced,
        "peak_rss_mb": peak_rss_mb(),
    }


def worker_monte_carlo(draws: int) -> dict[str, Any]:
    from ionledger.policy.inputs import load_data
    from ionledger.policy.montecarlo import monte_carlo
    from ionledger.policy.refdata import default_refdata
    from ionledger.policy.scenario import load_scenario

    spec = load_scenario("baseline")
    data = load_data(default_refdata(), spec.start_year, spec.end_year)
    start = time.perf_counter()
    result = monte_carlo(spec, data, draws=draws, seed=1)
    seconds = time.perf_counter() - start
    rss = peak_rss_mb()
    lo, mid, hi = result.bands("formal_rate")[:, result.year_index(2040)]
    traced = _traced_peak_mb(lambda: monte_carlo(spec, data, draws=min(draws, 200), seed=1))
    return {
        "draws": draws,
        "seconds": seconds,
        "seconds_per_draw": seconds / draws,
        "peak_rss_mb": rss,
        "traced_peak_mb_200_draws": traced,
        "formal_rate_2040_p5_p50_p95": [float(lo), float(mid), float(hi)],
    }


def worker_calibrate() -> dict[str, Any]:
    from ionledger.policy.calibrate import calibrate
    from ionledger.policy.refdata import default_refdata
    from ionledger.policy.scenario import load_scenario

    start = time.perf_counter()
    _fitted, report = calibrate(load_scenario("baseline"), default_refdata())
    return {
        "seconds": time.perf_counter() - start,
        "runs": report.evaluations,
        "passed": report.passed,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--worker", nargs="+")
    args = parser.parse_args()
    if args.worker:
        mode, *rest = args.worker
        result = {
            "single": worker_single,
            "monte-carlo": lambda: worker_monte_carlo(int(rest[0])),
            "calibrate": worker_calibrate,
        }[mode]()
        print(json.dumps(result))
        return
    single = run_worker("sim.py", "single")
    mc = run_worker("sim.py", "monte-carlo", str(args.draws))
    cal = run_worker("sim.py", "calibrate")
    out = {
        "command": f"python bench/sim.py --draws {args.draws}",
        "single_run": {**single, "goal_s": GOAL_SINGLE_S},
        "monte_carlo": {**mc, "goal_s": GOAL_MONTE_CARLO_S},
        "calibrate": cal,
    }
    summary = (
        f"sim: national fleet {single['years'][0]}-{single['years'][1]} "
        f"({single['vehicles_sold'] / 1e6:,.0f} M vehicles) in {single['seconds_cold']:.2f} s cold,"
        f" {single['seconds_warm_best']:.3f} s warm, peak RSS {single['peak_rss_mb']:.0f} MB;"
        f" {mc['draws']:,} Monte Carlo draws in {mc['seconds']:.1f} s,"
        f" peak RSS {mc['peak_rss_mb']:.0f} MB; calibration {cal['seconds']:.1f} s"
        f" ({cal['runs']} runs)"
    )
    write_result("sim", out, summary)


if __name__ == "__main__":
    main()
