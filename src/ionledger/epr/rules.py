"""The EPR certificate rules, with stable IDs in the style of the capture catalogue
(:mod:`ionledger.governance.catalogue`): every operation that breaks one is rejected, changes
nothing, and the error names the rule."""

from __future__ import annotations

from typing import Any

from ionledger.errors import ValidationError

EPR_RULES: dict[str, str] = {
    "epr.bad-amount": "an amount is a positive whole number of grams, at most 10^12 (1 Mt)",
    "epr.bad-request": "the operation is malformed (a field missing or of the wrong kind)",
    "epr.bad-category": "a certificate's category is recycling or refurbishment",
    "epr.bad-year": "a year is 2000-2100, and an obligation year is not before the certificate's",
    "epr.no-source": "a certificate names the recycling or repurposing events it certifies",
    "epr.unknown-source": "a source is an EPCIS event stored before the certificate",
    "epr.wrong-source": "recycling certifies recycling transformations, refurbishment "
    "repurposing events",
    "epr.not-own-source": "an issuer certifies only events it reported itself",
    "epr.not-whitelisted": "the issuer held a white-list entry of the category on the event's date",
    "epr.year-mismatch": "a certificate's sources are all of its year",
    "epr.double-certify": "each source event is certified once: nothing of it is left",
    "epr.over-issue": "a certificate cannot exceed the processed mass left uncertified",
    "epr.unknown-certificate": "the certificate does not exist",
    "epr.unknown-party": "certificates go only to registered enterprises",
    "epr.self-transfer": "a transfer goes to another enterprise",
    "epr.not-holder": "only a holder of the certificate may transfer or surrender it",
    "epr.insufficient-balance": "no more than the holder's balance may move",
    "epr.surrendered": "surrendered grams can never move again",
    "epr.not-producer": "only producers (battery or vehicle makers) surrender certificates",
    "epr.replay-conflict": "an operation ID names one operation: reused for another, it is refused",
}


class EprViolation(ValidationError):
    """An EPR operation broke a rule; ``rule`` is its stable ID (see :data:`EPR_RULES`)."""

    code = "epr"

    def __init__(self, rule: str, reason: str) -> None:
        if rule not in EPR_RULES:  # a bug, not bad input
            raise KeyError(rule)
        self.rule = rule
        super().__init__(f"[{rule}] {reason}")

    def details(self) -> dict[str, Any]:
        return {"rule": self.rule}


class EprConflict(EprViolation):
    """An operation ID was reused for a different operation (HTTP 409)."""

    status = 409
