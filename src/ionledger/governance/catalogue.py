"""Every rule the capture pipeline applies, with its stable ID.

A rule either *rejects* (the record cannot be true, or its reporter may not make it: nothing is
stored and the capture report names the rule) or *alerts* (the record is possible but breaches a
duty: it is stored and an alert is raised). IDs never change meaning; a rule that changes
meaning gets a new ID. ``docs/rules.md`` lists them with examples.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    REJECT = "reject"
    ALERT = "alert"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    outcome: Outcome
    title: str


def _r(rule_id: str, title: str) -> Rule:
    return Rule(rule_id, Outcome.REJECT, title)


def _a(rule_id: str, title: str) -> Rule:
    return Rule(rule_id, Outcome.ALERT, title)


RULES: tuple[Rule, ...] = (
    # Who may say what.
    _r("access.unregistered-reporter", "the reporter is not a registered enterprise"),
    _r(
        "access.reporter-mismatch",
        "an enterprise's credential reports only as that enterprise (ion:reportedBy)",
    ),
    _r(
        "access.bad-signature",
        "a capture document's Ed25519 signature does not verify with the enterprise's key",
    ),
    _r(
        "access.not-permitted",
        "the reporter neither made the battery, holds it, receives it by a shipment, "
        "nor services the vehicle it is in",
    ),
    # The battery's state machine.
    _r("state.install-after-recycling", "a recycled or destroyed battery cannot be installed"),
    _r("state.second-vehicle", "a battery is in one vehicle at a time"),
    _r("state.second-pack", "a module is in one pack at a time"),
    _a("state.duplicate-commissioning", "a battery code commissioned twice (counterfeit?)"),
    # Custody.
    _r("custody.receive-without-shipment", "receiving needs an open shipment to the receiver"),
    _r("custody.ship-by-non-custodian", "only the custodian may ship a battery"),
    _a(
        "custody.diversion",
        "a retired battery was handed to a party that is not a registered outlet, "
        "dismantler, cascade-use firm or recycler",
    ),
    # The white list.
    _r(
        "whitelist.recycling",
        "only white-listed recyclers may dismantle for recycling or record recycling",
    ),
    _r("whitelist.repurposing", "only white-listed cascade-use firms may repurpose"),
    # Reporting deadlines.
    _a("deadline.late-report", "reported after the stage's deadline in working days"),
    # Recycling.
    _r(
        "recycling.mass-balance",
        "recovered element mass exceeds what the input batteries contain",
    ),
    _a("recycling.low-recovery", "recovery rate below the white-list threshold"),
    _a("recycling.over-capacity", "processed tonnage above the licensed capacity"),
    # Tests.
    _a("test.soh-implausible", "a reported state of health outside the plausible band"),
)

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


def rule(rule_id: str) -> Rule:
    """The rule with this ID (a KeyError for an unknown one is a bug, not bad input)."""
    return BY_ID[rule_id]
