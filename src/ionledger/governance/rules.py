"""The rules applied to each captured event (IDs and outcomes in :mod:`catalogue`).

:func:`judge` looks at one event against the state of its batteries and the registry, and says
whether it is rejected (the first rejecting rule, in the order state, custody, white list,
access, recycling) and which alerts it raises. It changes nothing: the engine applies the
effects of accepted events. Rules about parties (access, custody, the white list, deadlines,
diversion, capacity) apply once the registry has any enterprise in it; a store with an empty
registry is a plain EPCIS repository, held only to the physical rules (state, mass balance).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ionledger.domain.vocabulary import MATERIAL_URN_PREFIX, MEASURE_SOH, Stage
from ionledger.errors import RuleViolation
from ionledger.governance.calendar import WorkCalendar
from ionledger.governance.composition import content_kg
from ionledger.governance.deadlines import deadline_days
from ionledger.governance.registry import Registry, WhiteListCategory
from ionledger.governance.state import GBT_KINDS, BatteryState, Transfer
from ionledger.governance.thresholds import (
    MASS_TOLERANCE_KG,
    RECOVERY_THRESHOLDS,
    SOH_PLAUSIBLE,
)
from ionledger.services.projector import EventFacts

# Who may report on a battery they do not hold (DOMAIN.md's actors):
# the vehicle's owner brings it to these for sale, service and removal ...
SERVICE_ROLES = frozenset({"vehicle_maker", "dealer", "repairer", "dismantler"})
SERVICE_STAGES = frozenset({Stage.SALE, Stage.REPAIR, Stage.REPLACEMENT, Stage.RETIREMENT})
# ... and hands a retired battery over to these.
COLLECTOR_ROLES = frozenset({"collection_outlet", "dismantler", "cascade_user", "recycler"})
# A retired battery may only go to these without a diversion alert.
FORMAL_RECEIVER_ROLES = COLLECTOR_ROLES


@dataclass(slots=True)
class Alert:
    rule: str
    subject: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Verdict:
    rejection: RuleViolation | None = None
    alerts: list[Alert] = field(default_factory=list)
    receipts: list[tuple[str, Transfer]] = field(default_factory=list)  # shipments it closes
    receiver: str | None = None  # a shipment's registered receiver
    processed_kg: float = 0.0  # a recycling transformation's input mass


@dataclass(slots=True)
class Context:
    registry: Registry
    calendar: WorkCalendar
    record_time: str  # UTC key
    tonnage: Callable[[str, int], float]  # kg a recycler processed in a year, so far


def local_date(utc_key: str, offset: str | None) -> datetime.date:
    """The calendar date of a UTC key in the event's own time zone (China's when not given)."""
    moment = datetime.datetime.fromisoformat(utc_key.replace("Z", "+00:00"))
    text = offset or "+08:00"
    sign = -1 if text.startswith("-") else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return (moment + sign * datetime.timedelta(hours=hours, minutes=minutes)).date()


def targets_of(f: EventFacts) -> list[str]:
    if f.event_type in ("AggregationEvent", "AssociationEvent"):
        ids = f.children
    elif f.event_type == "TransformationEvent":
        ids = f.inputs
    else:
        ids = f.epcs
    return [b for b in ids if f.battery_kinds.get(b, ("",))[0] in GBT_KINDS]


def judge(f: EventFacts, index: int, states: dict[str, BatteryState], ctx: Context) -> Verdict:
    verdict = Verdict()
    reg = ctx.registry
    governed = not reg.empty
    targets = targets_of(f)

    def reject(rule_id: str, reason: str, subject: str | None = None) -> Verdict:
        verdict.rejection = RuleViolation(rule_id, reason, index=index, subject=subject)
        return verdict

    if governed and reg.enterprise(f.reporter) is None:
        return reject(
            "access.unregistered-reporter",
            f"reporter {f.reporter!r} is not a registered enterprise",
        )
    day = local_date(f.event_time, f.offset)
    stage = f.stage
    # -- the state machine ---------------------------------------------------------------------
    for b in targets:
        s = states[b]
        if stage is Stage.INSTALLATION:
            if s.ended:
                return reject(
                    "state.install-after-recycling",
                    f"battery {b} was recycled or destroyed; it cannot be installed in {f.parent}",
                    b,
                )
            if s.vehicle is not None and s.vehicle != f.parent:
                return reject(
                    "state.second-vehicle",
                    f"battery {b} is installed in {s.vehicle}; remove it before installing it "
                    f"in {f.parent}",
                    b,
                )
        if (
            f.event_type == "AggregationEvent"
            and f.action == "ADD"
            and s.pack is not None
            and s.pack != f.parent
        ):
            return reject(
                "state.second-pack",
                f"module {b} is part of pack {s.pack}; take it out before adding it to {f.parent}",
                b,
            )
    # -- custody (who holds what is only known of registered parties) ----------------------------
    if stage is Stage.SHIPPING and governed:
        for b in targets:
            held_by = holder(states, b)
            if held_by is not None and held_by != f.reporter:
                return reject(
                    "custody.ship-by-non-custodian",
                    f"battery {b} is held by {held_by}, not by the shipper {f.reporter}",
                    b,
                )
        dest = f.destinations[0] if f.destinations else None
        verdict.receiver = reg.owner_of(dest) if dest else None
    if stage is Stage.RECEIVING and governed:
        for b in targets:
            match = _open_shipment(states[b], f.reporter)
            if match is None:
                return reject(
                    "custody.receive-without-shipment",
                    f"no open shipment of battery {b} to {f.reporter}: the sender must report "
                    "shipping first",
                    b,
                )
            verdict.receipts.append((b, match))
    # -- the white list --------------------------------------------------------------------------
    if governed:
        rejection = _white_list(f, stage, day.isoformat(), reg)
        if rejection is not None:
            return reject(*rejection)
    # -- who may write ---------------------------------------------------------------------------
    if governed and stage is not Stage.RECEIVING:
        for b in targets:
            why_not = _not_permitted(f, stage, states[b], holder(states, b), reg)
            if why_not is not None:
                return reject("access.not-permitted", why_not, b)
    # -- recycling -------------------------------------------------------------------------------
    if stage is Stage.RECYCLING and targets:
        failed = _recycling(f, targets, states, verdict)
        if failed is not None:
            return reject("recycling.mass-balance", failed, targets[0])
    _alerts(f, stage, targets, states, ctx, day, verdict)
    return verdict


def _open_shipment(s: BatteryState, receiver: str) -> Transfer | None:
    for t in s.transfers:
        if t.receiver == receiver:
            return t
    return None


_WHITE_LISTED_STAGES = frozenset({Stage.RECYCLING, Stage.DISMANTLING, Stage.REPURPOSING})


def _white_list(
    f: EventFacts, stage: Stage | None, day: str, reg: Registry
) -> tuple[str, str] | None:
    if stage not in _WHITE_LISTED_STAGES:
        return None
    me = f.reporter
    recycling = reg.white_listed(me, WhiteListCategory.RECYCLING, day)
    if stage is Stage.RECYCLING and not recycling:
        return "whitelist.recycling", f"{me} has no recycling white-list entry valid on {day}"
    if stage is Stage.DISMANTLING and not (
        recycling or reg.white_listed(me, WhiteListCategory.CASCADE_USE, day)
    ):
        return "whitelist.recycling", f"{me} is not white-listed to dismantle batteries on {day}"
    if stage is Stage.REPURPOSING and not reg.white_listed(me, WhiteListCategory.CASCADE_USE, day):
        return "whitelist.repurposing", f"{me} has no cascade-use white-list entry valid on {day}"
    return None


def holder(states: dict[str, BatteryState], battery: str) -> str | None:
    """Who holds a battery: whoever holds the pack it is in, else its own custodian."""
    s = states[battery]
    container = states.get(s.pack) if s.pack is not None else None
    if container is not None and container.custodian is not None:
        return container.custodian
    return s.custodian


def _not_permitted(
    f: EventFacts, stage: Stage | None, s: BatteryState, held_by: str | None, reg: Registry
) -> str | None:
    """Why the reporter may not write this event for battery ``s``, or None if it may."""
    me = f.reporter
    enterprise = reg.enterprise(me)
    assert enterprise is not None  # checked first
    made = s.id[:3] in enterprise.manufacturer_codes
    roles = frozenset(enterprise.roles)
    if made or held_by == me:
        return None
    if stage in SERVICE_STAGES and s.vehicle is not None and roles & SERVICE_ROLES:
        return None
    if stage is Stage.COLLECTION and s.vehicle is None and s.retired and roles & COLLECTOR_ROLES:
        return None
    if not s.known and stage in (Stage.COMMISSIONING, Stage.AGGREGATION):
        return (
            f"{me} may not code battery {s.id}: its manufacturer code {s.id[:3]} is "
            f"{reg.maker_of_code(s.id[:3]) or 'not registered'}'s"
        )
    return (
        f"{me} neither made battery {s.id}, holds it (held by {held_by or 'nobody on record'}),"
        " nor services it here"
    )


def input_content(
    targets: list[str], states: dict[str, BatteryState]
) -> tuple[dict[str, float], float] | None:
    """Element content (kg) and mass of the inputs, or None if any input cannot be counted."""
    total: dict[str, float] = {}
    mass = 0.0
    for b in targets:
        s = states[b]
        share, chem, kwh, kg = 1.0, s.chemistry, s.rated_energy_kwh, s.mass_kg
        if (chem is None or kwh is None) and s.pack_info is not None:
            p = s.pack_info
            share, chem, kwh, kg = (
                1.0 / max(p.modules, 1),
                p.chemistry,
                p.rated_energy_kwh,
                p.mass_kg,
            )
        if chem is None or kwh is None:
            return None
        per = content_kg(chem, kwh * share)
        if per is None:
            return None
        for element, value in per.items():
            total[element] = total.get(element, 0.0) + value
        mass += (kg or 0.0) * share
    return total, mass


def _recycling(
    f: EventFacts, targets: list[str], states: dict[str, BatteryState], verdict: Verdict
) -> str | None:
    counted = input_content(targets, states)
    if counted is None:
        return None  # an input without chemistry and energy on record: nothing to weigh
    content, verdict.processed_kg = counted
    recovered = recovered_elements(f)
    for element, kg in recovered.items():
        if kg > content.get(element, 0.0) + MASS_TOLERANCE_KG:
            return (
                f"recovered {kg:.3f} kg of {element} but the inputs contain "
                f"{content.get(element, 0.0):.3f} kg"
            )
    return None


def recovered_elements(f: EventFacts) -> dict[str, float]:
    out: dict[str, float] = {}
    for cls, kg in f.outputs_kg:
        if cls.startswith(MATERIAL_URN_PREFIX):
            element = cls[len(MATERIAL_URN_PREFIX) :]
            out[element] = out.get(element, 0.0) + kg
    return out


def _alerts(
    f: EventFacts,
    stage: Stage | None,
    targets: list[str],
    states: dict[str, BatteryState],
    ctx: Context,
    day: datetime.date,
    verdict: Verdict,
) -> None:
    alerts, reg = verdict.alerts, ctx.registry
    subject = targets[0] if targets else (f.parent or f.reporter)
    if stage is Stage.COMMISSIONING:
        for b in targets:
            if states[b].commissioned:
                alerts.append(Alert("state.duplicate-commissioning", b, f"{b} commissioned again"))
    if stage is Stage.SHIPPING and not reg.empty:
        receiver = verdict.receiver
        formal = receiver is not None and bool(reg.roles(receiver) & FORMAL_RECEIVER_ROLES)
        for b in targets:
            if states[b].retired and not formal:
                dest = f.destinations[0] if f.destinations else "no destination"
                alerts.append(
                    Alert(
                        "custody.diversion",
                        b,
                        f"retired battery {b} shipped to {dest}, which is not a registered "
                        "outlet, dismantler, cascade-use firm or recycler",
                        {"destination": dest, "receiver": receiver},
                    )
                )
    if not reg.empty:
        days = deadline_days(stage, reg.roles(f.reporter))
        if days is not None:
            declared = local_date(f.declared_at or ctx.record_time, f.offset)
            late = ctx.calendar.working_days_between(day, declared)
            if late > days:
                alerts.append(
                    Alert(
                        "deadline.late-report",
                        subject,
                        f"{stage} reported {late} working days after it happened; "
                        f"the deadline is {days}",
                        {"workingDays": late, "deadline": days, "calendar": ctx.calendar.version},
                    )
                )
    if stage is Stage.RECYCLING and targets:
        _recovery_alerts(f, targets, states, ctx, day, verdict, subject)
    lo, hi = SOH_PLAUSIBLE
    for mtype, value, _uom in f.measurements:
        if mtype == MEASURE_SOH and not lo <= value <= hi:
            alerts.append(
                Alert(
                    "test.soh-implausible",
                    subject,
                    f"state of health {value}% is outside the plausible {lo}-{hi}%",
                    {"soh": value},
                )
            )


def _recovery_alerts(
    f: EventFacts,
    targets: list[str],
    states: dict[str, BatteryState],
    ctx: Context,
    day: datetime.date,
    verdict: Verdict,
    subject: str,
) -> None:
    counted = input_content(targets, states)
    if counted is None:
        return
    content, _mass = counted
    recovered = recovered_elements(f)
    short = {
        element: round(recovered.get(element, 0.0) / content[element], 4)
        for element, threshold in RECOVERY_THRESHOLDS.items()
        if content.get(element, 0.0) > 0
        and recovered.get(element, 0.0) + MASS_TOLERANCE_KG < threshold * content[element]
    }
    if short:
        verdict.alerts.append(
            Alert(
                "recycling.low-recovery",
                subject,
                "recovery below the white-list threshold: "
                + ", ".join(f"{e} {r:.1%}" for e, r in sorted(short.items())),
                {"rates": short},
            )
        )
    reg = ctx.registry
    capacity = reg.capacity_tpa(f.reporter, WhiteListCategory.RECYCLING)
    if capacity is not None and verdict.processed_kg > 0:
        before = ctx.tonnage(f.reporter, day.year)
        after = before + verdict.processed_kg
        if before <= capacity * 1000 < after:
            verdict.alerts.append(
                Alert(
                    "recycling.over-capacity",
                    f"{f.reporter}/{day.year}",
                    f"{f.reporter} has processed {after / 1000:.3f} t in {day.year}, above its "
                    f"licensed {capacity:g} t/yr",
                    {"processedT": round(after / 1000, 3), "capacityTpa": capacity},
                )
            )
