"""Checks on the shape of a request, before anything is read: amounts, years, IDs."""

from __future__ import annotations

from typing import Any

from ionledger.epr.records import OP_ID
from ionledger.epr.rules import EprViolation

MAX_GRAMS = 10**12  # 1 Mt in one operation: far above any plant, far below a BIGINT
CATEGORIES = ("recycling", "refurbishment")
YEARS = range(2000, 2101)


def amount(value: Any, what: str = "grams") -> int:
    """A positive whole number of grams: not a bool, float or string, not above MAX_GRAMS."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise EprViolation(
            "epr.bad-amount", f"{what} must be a whole number of grams, got {value!r}"
        )
    if value <= 0:
        raise EprViolation("epr.bad-amount", f"{what} must be positive, got {value}")
    if value > MAX_GRAMS:
        raise EprViolation("epr.bad-amount", f"{what} {value} is above the limit {MAX_GRAMS} g")
    return value


def year(value: Any, what: str = "year") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in YEARS:
        raise EprViolation("epr.bad-year", f"{what} must be a year 2000-2100, got {value!r}")
    return value


def text(request: dict[str, Any], name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value.strip():
        raise EprViolation("epr.bad-request", f"{name!r} must be a non-empty string")
    return value


def category(value: Any) -> str:
    if value not in CATEGORIES:
        raise EprViolation(
            "epr.bad-category", f"category must be recycling or refurbishment, got {value!r}"
        )
    return str(value)


def op_id(value: Any) -> str | None:
    """A client-chosen operation ID (None: the service makes one)."""
    if value is None:
        return None
    if not isinstance(value, str) or not OP_ID.match(value):
        raise EprViolation(
            "epr.bad-request", f"opId must be 1-128 letters, digits or ._:- , got {value!r}"
        )
    return value


def source_seqs(value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise EprViolation(
            "epr.no-source", "sources must list the seqs of the events the certificate certifies"
        )
    seqs: list[int] = []
    for s in value:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise EprViolation("epr.unknown-source", f"source {s!r} is not an event seq")
        if s in seqs:
            raise EprViolation("epr.double-certify", f"source {s} is listed twice")
        seqs.append(s)
    return seqs


def only(request: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(request) - allowed)
    if unknown:
        raise EprViolation(
            "epr.bad-request", f"unknown fields {unknown} (known: {sorted(allowed)})"
        )
