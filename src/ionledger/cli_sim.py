"""``ionledger sim``: the policy and fleet simulator's commands (registered in cli.py as ``sim``).

A thin edge: reads arguments and the environment (``IONLEDGER_REFDATA``), calls
:mod:`ionledger.policy`, renders tables with Rich or JSON on stdout.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from ionledger.errors import IonLedgerError, ValidationError
from ionledger.policy.tables import Table, fmt

sim_app = typer.Typer(
    help="Policy and fleet simulator: China's battery flows, owners' choices and policy levers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

RefdataOption = Annotated[
    Path | None,
    typer.Option(
        "--refdata",
        help="Reference data folder (holding domain/*.csv). "
        "Default: $IONLEDGER_REFDATA, else ../shared/refdata.",
    ),
]
ScenarioArg = Annotated[str, typer.Argument(help="A shipped scenario's name or a TOML file.")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write CSV, JSON, PNG charts and an HTML page here.")
]
DrawsOption = Annotated[
    int, typer.Option("--draws", min=1, help="Monte Carlo draws (1: a single run).")
]
SeedOption = Annotated[
    int, typer.Option("--seed", help="Monte Carlo seed (same seed, same numbers).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _refdata(path: Path | None) -> Path:
    from ionledger.policy.refdata import default_refdata

    return path if path is not None else default_refdata()


def _fail(exc: IonLedgerError) -> typer.Exit:
    err.print(f"[red]error[/red] {escape(f'[{exc.code}]')} {escape(exc.message)}")
    return typer.Exit(1 if exc.status < 500 else 2)


def _print(table: Table) -> None:
    rich = RichTable(title=table.title, title_justify="left")
    for i, name in enumerate(table.header):
        rich.add_column(name, justify="left" if i == 0 else "right")
    for row in table.rows:
        rich.add_row(*row)
    console.print(rich)


@sim_app.command("scenarios")
def scenarios() -> None:
    """List the shipped scenarios."""
    from ionledger.policy.scenario import load_scenario, shipped

    for name in shipped():
        console.print(f"[bold]{name}[/bold]: {escape(load_scenario(name).description)}")


@sim_app.command("run")
def run(
    scenario: ScenarioArg,
    json_: JsonOption = False,
    out: OutOption = None,
    draws: DrawsOption = 1,
    seed: SeedOption = 0,
    refdata: RefdataOption = None,
) -> None:
    """Run a scenario to its end year: yearly flows, materials, carbon, EPR fund, formal rate."""
    from ionledger.policy import outputs, tables
    from ionledger.policy.results import to_dict
    from ionledger.policy.runner import run_scenario

    try:
        spec, result = run_scenario(scenario, refdata=_refdata(refdata), draws=draws, seed=seed)
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    written = outputs.write_run(out, spec, result) if out is not None else []
    if json_:
        print(json.dumps(to_dict(result), separators=(",", ":")))
        return
    _print(tables.levers(spec))
    _print(tables.headline(result))
    _print(tables.provinces(result, int(result.years[-1])))
    for path in written:
        console.print(f"wrote {path}")


@sim_app.command("compare")
def compare(
    a: Annotated[str, typer.Argument(help="Scenario A (name or TOML file).")],
    b: Annotated[str, typer.Argument(help="Scenario B (name or TOML file).")],
    out: OutOption = None,
    json_: JsonOption = False,
    draws: DrawsOption = 1,
    seed: SeedOption = 0,
    refdata: RefdataOption = None,
) -> None:
    """Compare two scenarios: key years, totals over the policy period, charts."""
    from ionledger.policy import outputs, tables
    from ionledger.policy.runner import run_scenario

    folder = _refdata(refdata)
    try:
        sa, ra = run_scenario(a, refdata=folder, draws=draws, seed=seed)
        sb, rb = run_scenario(b, refdata=folder, draws=draws, seed=seed)
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    first = max(min(sa.policy_start_year, sb.policy_start_year), int(ra.years[0]))
    first = min(first, int(ra.years[-1]))
    compared = tables.comparison(ra, rb, first)
    written = outputs.write_comparison(out, (sa, ra), (sb, rb)) if out is not None else []
    if json_:
        doc = {t.title: {"header": t.header, "rows": t.rows} for t in compared}
        print(json.dumps(doc, separators=(",", ":")))
        return
    for table in compared:
        _print(table)
    for path in written:
        console.print(f"wrote {path}")


@sim_app.command("calibrate")
def calibrate(
    json_: JsonOption = False,
    write: Annotated[
        bool, typer.Option("--write", help="Save the fitted values to the calibration file.")
    ] = False,
    scenario: Annotated[str, typer.Option(help="Scenario to fit.")] = "baseline",
    refdata: RefdataOption = None,
) -> None:
    """Fit the free parameters to the 2024 anchors and print each anchor's fit."""
    from ionledger.policy.calibrate import calibrate as fit
    from ionledger.policy.calibrate import calibration_toml
    from ionledger.policy.scenario import load_scenario

    try:
        spec = load_scenario(scenario)
        _fitted, report = fit(spec, _refdata(refdata))
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    target = spec.calibration_file
    if write:
        if target is None:
            raise _fail(IonLedgerError(f"scenario {spec.name} names no calibration file"))
        target.write_text(calibration_toml(report), encoding="utf-8")
    if json_:
        print(json.dumps(report.to_dict(), separators=(",", ":")))
        raise typer.Exit(0 if report.passed else 1)
    rows = []
    for i, r in enumerate(report.rows, start=1):
        a = r.anchor
        is_fit = a.kind == "fit"
        wanted = fmt(a.target) if a.kind != "check" else f"{fmt(a.low)} to {fmt(a.high)}"
        rows.append(
            [
                f"{a.name} [{i}]",
                a.kind,
                fmt(r.value),
                wanted,
                f"{r.error:+,.3g}" if is_fit else "-",
                f"±{a.tolerance:,.3g}" if is_fit else "-",
                {True: "pass", False: "FAIL", None: "compare"}[r.passed],
            ]
        )
    header = ["anchor", "kind", "model", "target", "error", "tolerance", "result"]
    _print(Table("Calibration to 2024 (fit: Nelder-Mead)", header, rows))
    for i, r in enumerate(report.rows, start=1):
        console.print(f"[{i}] {escape(r.anchor.source)}", highlight=False)
    for name, value in report.fitted.items():
        console.print(f"{name}: {report.start[name]:.6g} -> {value:.6g}")
    console.print(
        f"loss {report.loss_start:.4g} -> {report.loss:.4g} in {report.evaluations} runs; "
        + ("all anchors pass" if report.passed else "[red]some anchors fail[/red]")
    )
    if write and target is not None:
        console.print(f"wrote {target}")
    if not report.passed:
        raise typer.Exit(1)


@sim_app.command("feed")
def feed(
    scenario: ScenarioArg,
    province: Annotated[str, typer.Option(help="ISO 3166-2:CN code, e.g. CN-SC.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the EPCIS documents.")],
    batteries: Annotated[int, typer.Option(min=1, help="Traction packs to generate.")] = 1000,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 1,
    end_date: Annotated[str, typer.Option(help="Last simulated day, YYYY-MM-DD.")] = "2026-06-30",
    refdata: RefdataOption = None,
) -> None:
    """Generate a province's fleet as EPCIS events, shaped by a scenario's sales and choices."""
    from ionledger.policy.feed import generate_scenario_fleet

    try:
        day = datetime.date.fromisoformat(end_date)
        plan, result = generate_scenario_fleet(
            scenario,
            province=province,
            batteries=batteries,
            seed=seed,
            out=out,
            end_date=day,
            refdata=_refdata(refdata),
        )
    except ValueError as exc:
        raise _fail(ValidationError(f"bad --end-date: {exc}")) from exc
    except IonLedgerError as exc:
        raise _fail(exc) from exc
    console.print(
        f"{plan.scenario} / {plan.province}: formal share {plan.formal_share:.3f}; wrote "
        f"{result.events} events for {result.packs} packs to {out}"
    )
