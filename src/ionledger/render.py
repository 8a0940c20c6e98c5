"""Terminal rendering of service results (kept out of the CLI so the CLI stays thin)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from ionledger.services.importer import ImportReport
from ionledger.services.trace import TimelineEntry, Trace
from ionledger.services.validate import ValidationReport

MAX_SHOWN_ERRORS = 50


def print_import_report(console: Console, report: ImportReport) -> None:
    verdict = "[green]ok[/green]" if report.ok else "[red]rejected[/red]"
    if not report.ok and report.stored:
        verdict = "[yellow]partly stored[/yellow]"
    console.print(
        f"{report.source}: {verdict} - read {report.read}, stored {report.stored}, "
        f"already present {report.duplicates}, errors {report.error_count}"
        + (f", warnings {report.warning_count}" if report.warning_count else ""),
        soft_wrap=True,
        highlight=False,
    )
    if report.document_error:
        console.print(f"  [red]document error:[/red] {report.document_error}", soft_wrap=True)
    _lines(console, [f"event {e.index} | {e.field or '-'} | {e.reason}" for e in report.errors])
    if report.error_count > MAX_SHOWN_ERRORS:
        console.print(f"  ... and {report.error_count - MAX_SHOWN_ERRORS} more")
    _lines(
        console,
        [f"warning: event {w.event} | {w.pointer} | {w.message}" for w in report.warnings],
    )
    if not report.ok and not report.committed:
        console.print(
            "  nothing from this document was stored (use --proceed to keep the good events)"
        )


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _list(ids: list[str]) -> str:
    """A short list in full; a long one (a module's cells) as a count and its first item."""
    short = [_short(i) for i in ids]
    return ", ".join(short) if len(short) <= 3 else f"{len(short)} items ({short[0]}, ...)"


def summary(entry: TimelineEntry) -> str:
    """One line saying what happened, from the event's own fields."""
    ev = entry.event
    parts: list[str] = []
    if ev.get("parentID"):
        verb = {"ADD": "into", "DELETE": "out of"}.get(str(ev.get("action")), "with")
        children = _list(_ids(ev.get("childEPCs")))
        parts.append(f"{children} {verb} {_short(str(ev['parentID']))}")
    for key, label in (("inputEPCList", "in"), ("outputEPCList", "out")):
        if ev.get(key):
            parts.append(f"{label}: {_list(_ids(ev[key]))}")
    if ev.get("outputQuantityList"):
        mats = [
            f"{q.get('quantity')} {q.get('uom', '')} {str(q.get('epcClass')).rsplit(':', 1)[-1]}"
            for q in ev["outputQuantityList"]
            if isinstance(q, dict)
        ]
        parts.append("recovered " + ", ".join(mats))
    for key, word in (("sourceList", "from"), ("destinationList", "to")):
        for end in ev.get(key) or []:
            if isinstance(end, dict):
                kind = str(end.get("type", "")).replace("_", " ")
                parts.append(f"{word} {kind} {end.get('source') or end.get('destination')}")
    for element in ev.get("sensorElementList") or []:
        for rep in element.get("sensorReport", []) if isinstance(element, dict) else []:
            parts.append(f"{rep.get('type')}={rep.get('value')} {rep.get('uom', '')}".strip())
    return "; ".join(parts)


def _short(identifier: str) -> str:
    """Drop the URN prefixes people do not need to read."""
    for prefix in ("urn:ionledger:gbt34014:", "urn:ionledger:vin:", "urn:ionledger:material:"):
        if identifier.startswith(prefix):
            return identifier[len(prefix) :]
    return identifier


def print_trace(console: Console, result: Trace) -> None:
    b = result.battery
    console.print(f"[bold]{result.battery_id}[/bold]")
    if b is not None:
        facts = [
            b.kind or "kind ?",
            b.chemistry or "chemistry ?",
            f"{b.rated_energy_kwh:g} kWh" if b.rated_energy_kwh else "",
            f"{b.mass_kg:g} kg" if b.mass_kg else "",
            f"made by {b.manufacturer}",
        ]
        console.print("  " + " · ".join(f for f in facts if f))
        console.print(
            f"  now [bold]{b.state}[/bold] · custodian {b.custodian} · province "
            f"{b.province} · {b.event_count} events"
        )
    if result.origins:
        console.print("  repurposed from: " + " <- ".join(result.origins))
    console.print("\n[bold]timeline[/bold] (UTC)")
    for e in result.timeline:
        when = e.event_time[:16].replace("T", " ")
        what = summary(e)
        where = f" in {e.province}" if e.province else ""
        if e.of_parts:
            where += " (its parts)"
        console.print(
            f"  {when}  [cyan]{(e.stage or e.biz_step or e.event_type):<14}[/cyan] "
            f"by {e.reporter}{where}" + (f"\n{'':19}{_short(what)}" if what else ""),
            highlight=False,
        )
    if result.genealogy:
        console.print("\n[bold]genealogy[/bold]")
        for edge in result.genealogy:
            until = "" if edge.removed_seq is None else f" until event #{edge.removed_seq}"
            console.print(
                f"  {_short(edge.child)} --{edge.relation}--> {_short(edge.parent)}"
                f" (from event #{edge.added_seq}{until})",
                highlight=False,
            )
    if result.tests:
        console.print("\n[bold]tests[/bold]")
        for t in result.tests:
            console.print(
                f"  {t.event_time[:10]}  SOH {t.soh_pct} %  capacity {t.capacity_ah} Ah"
                f"  resistance {t.resistance_ohm} ohm",
                highlight=False,
            )


def _lines(console: Console, lines: list[str]) -> None:
    # One line per finding, never wrapped: people read it, and scripts grep it.
    for line in lines[:MAX_SHOWN_ERRORS]:
        console.print("  " + line, soft_wrap=True, highlight=False, markup=False)


def print_validation(console: Console, report: ValidationReport) -> None:
    """A validation report: the verdict, then one line per error and per warning."""
    mode = "strict" if report.strict else "as import would take it"
    if report.document_error:
        console.print(
            f"{report.source}: rejected - {report.document_error}", soft_wrap=True, markup=False
        )
        return
    verdict = "valid" if report.ok else "invalid"
    console.print(
        f"{report.source}: {verdict} ({mode}) - {report.kind}, {report.events} events,"
        f" {len(report.errors)} errors, {len(report.warnings)} warnings",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    _lines(
        console,
        [
            f"event {e.get('event')} | {e.get('pointer') or e.get('field') or '-'} |"
            f" {e.get('rule', 'capture')}: {e.get('message')}"
            for e in report.errors
        ],
    )
    _lines(
        console,
        [
            f"warning: event {w.get('event')} | {w.get('pointer')} | {w.get('message')}"
            for w in report.warnings
        ],
    )
    hidden = max(0, len(report.errors) - MAX_SHOWN_ERRORS)
    hidden += max(0, len(report.warnings) - MAX_SHOWN_ERRORS)
    if hidden:
        console.print(f"  ... and {hidden} more (--json lists all)")
