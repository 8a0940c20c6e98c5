"""Leakage: where retired packs go, per province, producer and year.

Three counts are compared: packs expected to retire (the packs placed on the market x the
Weibull probability that a life ends during that year of age, by chemistry and category),
recorded retirements, and retired packs a white-listed party received. From them: the formal
collection rate and the informal outflow, with bounds (docs/analytics.md, "Leakage"). Missing
cases are retired packs no formal party received within N days; parties that retired packs are
ranked by the share of theirs that went missing (the inspection list).

The engines count packs per cohort; the retirement probabilities (chemistry x category x age)
are computed in Python and applied to those counts, so that no engine evaluates exp or pow.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np

from ionledger.analytics import factors as f
from ionledger.analytics.kpi_base import (
    EPOCH,
    Facts,
    Report,
    ReportTable,
    Row,
    fetch,
    ratio,
    raw_rows,
    rounded,
    sort_key,
)
from ionledger.analytics.kpi_joins import (
    NONE,
    as_of_day,
    first_life,
    packs,
    report_filters,
    unkey,
)
from ionledger.analytics.params import AnalyticsParams

KEYS = ("province", "producer", "year")
Key = tuple[str, str, int]
MAX_AGE = 60
# What the engine counts packs by (the columns of the index ix_fact_batteries_cohort).
COHORT = ("province", "producer", "chemistry", "category", "placed_year", "retired_year")


def _hazards(combos: list[tuple[str, str]], params: AnalyticsParams) -> np.ndarray:
    """P(a pack placed on the market retires during age year a) for each (chemistry, category)
    and a = 0..MAX_AGE: an array [combo, age, (p, p_low, p_high)]."""
    k = f.weibull_shape()
    low_mult, high_mult = params.weibull_band
    out = np.zeros((len(combos), MAX_AGE + 1, 3))
    for i, (chemistry, category) in enumerate(combos):
        scale = f.weibull_scale(chemistry, category or None) * params.weibull_scale_factor
        for age in range(MAX_AGE + 1):
            out[i, age] = (
                f.retire_share(age, scale, k),
                # Longer lives retire fewer packs by any age: the low bound (of the sums).
                f.retire_share(age, scale * high_mult, k),
                f.retire_share(age, scale * low_mult, k),
            )
    return out


def _codes(*columns: list[Any]) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Each row's index into the list of distinct value tuples of ``columns``, and that list."""
    index: dict[tuple[Any, ...], int] = {}
    codes = [index.setdefault(t, len(index)) for t in zip(*columns, strict=True)]
    return np.asarray(codes, dtype=np.int64), list(index)


def _cohort(r: tuple[Any, ...]) -> tuple[Any, ...]:
    """A fetched cohort row: NULL keys as NONE, counts and years as ints."""
    keys = (NONE if v is None else str(v) for v in r[:4])
    return (*keys, int(r[4]), None if r[5] is None else int(r[5]), int(r[6]))


def _expected(facts: Facts, params: AnalyticsParams, as_of_year: int) -> dict[Key, Row]:
    """Fleet in service and expected retirements per province, producer and year.

    The engine only counts packs per cohort (province, producer, chemistry, category, placed
    year, retired year): one GROUP BY, no join. Crossing the cohorts with the years they are in
    service and weighting them by the Weibull probabilities is done here, vectorised: a join of
    the cohorts with a years x ages lookup is a nested loop on SQLite and slow on Spark.
    """
    b = report_filters(first_life(facts.batteries), params)
    placed = b.filter(b.placed_year.notnull())
    # Grouped on the stored columns (not NULL-filled ones): SQLite then reads the partial index
    # ix_fact_batteries_cohort in order instead of sorting every pack.
    g = placed.group_by(*COHORT).agg(n=placed.count())
    cohorts = sorted(  # the same order, so the same float sums, on every engine
        (_cohort(r) for r in raw_rows(g.select(*COHORT, "n"))),
        key=lambda r: (r[:5], r[5] is None, r[5] or 0),
    )
    if not cohorts:
        return {}
    col = dict(zip((*COHORT, "n"), [list(c) for c in zip(*cohorts, strict=True)], strict=True))
    keys, key_list = _codes(col["province"], col["producer"])
    combo, combos = _codes(col["chemistry"], col["category"])
    hz = _hazards([(str(c), str(k)) for c, k in combos], params)
    n = np.asarray(col["n"], dtype=np.float64)
    first = np.asarray(col["placed_year"], dtype=np.int64)
    retired = [as_of_year if y is None else min(int(y), as_of_year) for y in col["retired_year"]]
    # Ages 0..MAX_AGE of each cohort in the years a row covers (cell = key x year).
    y0 = int(first.min())
    span = as_of_year - y0 + 1
    size = len(key_list) * span

    def expand(last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        years = np.maximum(np.minimum(last, first + MAX_AGE) - first + 1, 0)
        row = np.repeat(np.arange(len(n)), years)
        age = np.arange(row.size) - np.repeat(np.cumsum(years) - years, years)
        return row, age, keys[row] * span + first[row] + age - y0

    def total(cell: np.ndarray, weights: np.ndarray) -> list[float]:
        out: list[float] = np.bincount(cell, weights=weights, minlength=size).tolist()
        return out

    # In service in year Y: placed in or before Y and not recorded retired before Y.
    row, _age, in_service = expand(np.asarray(retired, dtype=np.int64))
    fleet = total(in_service, n[row])
    # Expected retirements: every pack placed on the market, whatever the ledger says of it
    # since, times the probability its life ends in that year. Conditioning on the recorded
    # state would keep packs that left without a trace (the informal "silent" exits this
    # report is after) in service, and count their retirement hazard again every year.
    row, age, cell = expand(np.full(len(n), as_of_year, dtype=np.int64))
    if row.size == 0:
        return {}
    probs = hz[combo[row], age]
    counts = n[row]
    sums = {
        "expected": total(cell, counts * probs[:, 0]),
        "expected_low": total(cell, counts * probs[:, 1]),
        "expected_high": total(cell, counts * probs[:, 2]),
        "variance": total(cell, counts * probs[:, 0] * (1 - probs[:, 0])),
    }
    out: dict[Key, Row] = {}
    for c in np.unique(cell).tolist():
        province, producer = key_list[c // span]
        r: Row = {"fleet": round(fleet[c])}
        # Intermediate sums keep more decimals than the report shows (as fetch(decimals=9)).
        r.update({name: rounded(v[c], 9) for name, v in sums.items()})
        out[(province, producer, y0 + c % span)] = r
    return out


def _missing_flag(p: ir.Table, as_of: int, n_days: int) -> ir.Table:
    due = p.retired_day + n_days
    late = p.collected_day.isnull() | (p.collected_day > due)
    return p.mutate(missing=ibis.ifelse(p.retired_day.notnull() & (due < as_of) & late, 1, 0))


def _recorded(p: ir.Table) -> ir.Table:
    r = p.filter(p.retired_year.notnull()).mutate(year=p.retired_year)
    return r.group_by(*KEYS).agg(
        recorded=r.count(),
        # PostgreSQL casts no boolean to an integer: count with CASE.
        received_formal=ibis.ifelse(r.collected_by.notnull(), 1, 0).sum(),
        received_whitelisted=ibis.ifelse(r.whitelisted_day.notnull(), 1, 0).sum(),
        missing=r.missing.sum(),
    )


def _summary_row(r: Row, z: float) -> Row:
    sd = math.sqrt(max(r["variance"] or 0.0, 0.0))
    expected, received = r["expected"] or 0.0, r["received_whitelisted"]
    low = max(0.0, (r["expected_low"] or 0.0) - z * sd)
    high = (r["expected_high"] or 0.0) + z * sd
    return {
        **{k: r[k] for k in KEYS},
        "fleet_in_service": r["fleet"],
        "expected_retirements": rounded(expected),
        "expected_low": rounded(low),
        "expected_high": rounded(high),
        "recorded_retirements": r["recorded"],
        "received_formal": r["received_formal"],
        "received_whitelisted": received,
        "formal_collection_rate": ratio(received, expected),
        "formal_rate_low": ratio(received, high),
        "formal_rate_high": None if low <= 0 else rounded(min(1.0, received / low)),
        "formal_rate_of_recorded": ratio(received, r["recorded"]),
        "informal_outflow": rounded(max(0.0, expected - received)),
        "informal_low": rounded(max(0.0, low - received)),
        "informal_high": rounded(max(0.0, high - received)),
        "missing_cases": r["missing"],
    }


def _flagged(facts: Facts, params: AnalyticsParams, as_of: int | None) -> tuple[ir.Table, int]:
    as_of = as_of_day(facts, params) if as_of is None else as_of
    return _missing_flag(packs(facts, params), as_of, params.missing_after_days), as_of


_EMPTY_EXPECTED: Row = {
    "fleet": 0, "expected": 0.0, "expected_low": 0.0, "expected_high": 0.0, "variance": 0.0,
}  # fmt: skip
_EMPTY_RECORDED: Row = {
    "recorded": 0, "received_formal": 0, "received_whitelisted": 0, "missing": 0,
}  # fmt: skip


def summary_rows(facts: Facts, params: AnalyticsParams, as_of: int | None = None) -> list[Row]:
    """The summary table: the three counts, rates and bounds per province, producer, year.

    ``as_of``: the as-of day when the caller has it (else worked out from the facts)."""
    return [_summary_row(r, params.z) for r in _merged(facts, params, as_of)]


_SUMMED = ("fleet", "expected", "expected_low", "expected_high", "variance", "recorded",
           "received_formal", "received_whitelisted", "missing")  # fmt: skip


def _national(merged: list[Row], z: float) -> list[Row]:
    """The same figures for the whole jurisdiction: per year, and over every year (year NULL,
    with no fleet figure). Bounds come from the summed variance, not from summing bounds."""
    groups: dict[int | None, Row] = {}
    for r in merged:
        for year in (r["year"], None):
            total = groups.setdefault(year, {"province": "all", "producer": "all", "year": year}
                                      | dict.fromkeys(_SUMMED, 0))  # fmt: skip
            for name in _SUMMED:
                total[name] += r[name] or 0
    rows = []
    for year in sorted(groups, key=lambda y: (y is None, y or 0)):
        total = groups[year] | ({"fleet": None} if year is None else {})
        rows.append(_summary_row(total, z))
    return rows


def _merged(facts: Facts, params: AnalyticsParams, as_of: int | None) -> list[Row]:
    """Expected and recorded counts per key: two small aggregates, merged on their keys."""
    p, as_of = _flagged(facts, params, as_of)
    as_of_year = (EPOCH + dt.timedelta(days=as_of)).year
    exp = _expected(facts, params, as_of_year)
    rec = {tuple(r[k] for k in KEYS): r for r in fetch(_recorded(p), KEYS)}
    rows = []
    for key in set(exp) | set(rec):
        if params.year is not None and key[2] != params.year:
            continue
        row = dict(zip(KEYS, key, strict=True))
        row |= exp.get(key, _EMPTY_EXPECTED) | rec.get(key, _EMPTY_RECORDED) | row
        rows.append(row)
    rows.sort(key=sort_key(KEYS))
    return unkey(rows, *KEYS[:2])


def leakage(facts: Facts, params: AnalyticsParams) -> Report:
    p, as_of = _flagged(facts, params, None)
    merged = _merged(facts, params, as_of)
    summary = [_summary_row(r, params.z) for r in merged]
    cases = _cases(p, as_of, params)
    ranking = _ranking(p, params)
    return Report(
        "leakage",
        (
            ReportTable("summary", _COLUMNS, summary),
            ReportTable("national", _COLUMNS, _national(merged, params.z)),
            ReportTable("missing", _CASE_COLUMNS, cases),
            ReportTable("inspection", _RANK_COLUMNS, ranking),
        ),
        {**params.as_dict(), "as_of_day": as_of},
        _explain(params) if params.explain else None,
    )


_COLUMNS = (*KEYS, "fleet_in_service", "expected_retirements", "expected_low", "expected_high",
            "recorded_retirements", "received_formal", "received_whitelisted",
            "formal_collection_rate", "formal_rate_low", "formal_rate_high",
            "formal_rate_of_recorded", "informal_outflow", "informal_low", "informal_high",
            "missing_cases")  # fmt: skip
_CASE_COLUMNS = ("battery_id", "province", "producer", "retired_day", "retired_by",
                 "collected_day", "status", "days_without_formal_receipt")  # fmt: skip
_RANK_COLUMNS = ("rank", "party", "retired", "missing", "missing_share")


def _cases(p: ir.Table, as_of: int, params: AnalyticsParams) -> list[Row]:
    m = p.filter(p.missing == 1)
    if params.year is not None:
        m = m.filter(m.retired_year == params.year)
    m = m.mutate(
        status=ibis.ifelse(m.collected_day.isnull(), "open", "received_late"),
        days_without_formal_receipt=m.collected_day.fill_null(as_of) - m.retired_day,
    )
    rows = fetch(m.select(*_CASE_COLUMNS), ("battery_id",))
    return unkey(rows, "province", "producer")


def _ranking(p: ir.Table, params: AnalyticsParams) -> list[Row]:
    r = p.filter(p.retired_by.notnull() & (p.retired_by != NONE))
    if params.year is not None:
        r = r.filter(r.retired_year == params.year)
    g = r.group_by(party=r.retired_by).agg(retired=r.count(), missing=r.missing.sum())
    g = g.filter(g.retired >= params.min_batteries_ranked)
    rows = fetch(g, ("party",))
    for row in rows:
        row["missing_share"] = ratio(row["missing"], row["retired"])
    rows.sort(key=lambda x: (-(x["missing_share"] or 0.0), -x["missing"], x["party"]))
    return [{"rank": i + 1, **{c: row[c] for c in _RANK_COLUMNS[1:]}} for i, row in enumerate(rows)]


def _explain(params: AnalyticsParams) -> list[Row]:
    data = f.table("lifetime")
    src = str(data["source"])
    out = [
        f.Factor("weibull_shape_k", f.weibull_shape(), "1", src).as_dict(),
        f.Factor("weibull_scale_factor", params.weibull_scale_factor, "1", "parameter").as_dict(),
        f.Factor("weibull_band_low", params.weibull_band[0], "1", "parameter").as_dict(),
        f.Factor("weibull_band_high", params.weibull_band[1], "1", "parameter").as_dict(),
        f.Factor("z", params.z, "1", "parameter (normal quantile)").as_dict(),
        f.Factor("missing_after_days", params.missing_after_days, "d", "parameter").as_dict(),
    ]
    for segment, scales in data["scale_years"].items():
        for chem, scale in zip(data["chemistries"], scales, strict=True):
            out.append(f.Factor(f"weibull_scale.{segment}.{chem}", scale, "yr", src).as_dict())
    out.append({"method": "expected = sum over packs in service at the start of the year of "
                "P(retire during age year | in service); bounds: expected at the band's scales "
                "-/+ z x sqrt(sum p(1-p))", "source": f.version_of("lifetime")})  # fmt: skip
    return out
