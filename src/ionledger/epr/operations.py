"""Each operation checked against the projection as it stands, giving what it changes.

The same checks run when an operation is made and when ``rebuild`` replays its record: the
record holds the operation in full (an issue's allocation over its sources included), so the
projection is a pure function of the log. ``state`` is the writer, read inside its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ionledger.epr import validation as v
from ionledger.epr.projection import CertificateRow, EprDelta, OperationRow, SourceRow
from ionledger.epr.rules import EprViolation
from ionledger.epr.sources import STAGE_OF, EventReader, SourceEvent, source_event
from ionledger.governance.registry import Registry, Role, WhiteListCategory

WHITE_LIST_OF = {
    "recycling": WhiteListCategory.RECYCLING,
    "refurbishment": WhiteListCategory.CASCADE_USE,
}
PRODUCER_ROLES = frozenset({Role.BATTERY_MAKER.value, Role.VEHICLE_MAKER.value})


class EprState(EventReader, Protocol):
    def epr_certificate(self, certificate_id: str) -> CertificateRow | None: ...

    def epr_source(self, seq: int) -> SourceRow | None: ...

    def epr_balance(self, certificate_id: str, holder: str) -> int: ...

    def epr_surrendered_by(self, certificate_id: str, producer: str) -> int: ...


def _pending(result: str) -> OperationRow:
    return OperationRow("", "", "", -1, result)  # filled in by the caller


# -- issue ---------------------------------------------------------------------------------------
def _source(
    state: EprState, registry: Registry, issuer: str, category: str, seq: int, before: int
) -> tuple[SourceEvent, int, int]:
    """The source event, its certifiable mass and what of it is certified, or why not."""
    event = source_event(state, seq) if seq < before else None
    if event is None:
        raise EprViolation("epr.unknown-source", f"no EPCIS event with seq {seq} before this one")
    if event.reporter != issuer:
        raise EprViolation(
            "epr.not-own-source",
            f"event {seq} was reported by {event.reporter}, not by the issuer {issuer}",
        )
    day = event.day.isoformat()
    if not registry.white_listed(issuer, WHITE_LIST_OF[category], day):
        raise EprViolation(
            "epr.not-whitelisted",
            f"{issuer} held no valid {WHITE_LIST_OF[category].value} white-list entry on {day},"
            f" the date of event {seq}",
        )
    if event.stage is not STAGE_OF[category]:
        stage = event.stage.value if event.stage else "no stage"
        raise EprViolation(
            "epr.wrong-source",
            f"event {seq} is {stage}; a {category} certificate certifies"
            f" {STAGE_OF[category].value} events",
        )
    row = state.epr_source(seq)
    if row is None:
        return event, event.mass_grams, 0
    return event, row.mass_grams, row.certified_grams


def _left(seq: int, mass: int, certified: int) -> int:
    if mass - certified > 0:
        return mass - certified
    if certified > 0:
        raise EprViolation(
            "epr.double-certify",
            f"all {mass} g of event {seq} are certified already; each gram is certified once",
        )
    raise EprViolation(
        "epr.over-issue", f"event {seq} consumed no battery mass on record: nothing to certify"
    )


def plan_issue(
    state: EprState, registry: Registry, request: dict[str, Any], seq: int, certificate: str
) -> dict[str, Any]:
    """The issue in full: the requested grams drawn from the sources in the order given."""
    v.only(request, {"issuer", "category", "grams", "sources", "year", "opId"})
    issuer, category = v.text(request, "issuer"), v.category(request.get("category"))
    grams = v.amount(request.get("grams"))
    seqs = v.source_seqs(request.get("sources"))
    wanted = None if request.get("year") is None else v.year(request.get("year"))
    allocation: list[list[int]] = []
    need, available, years = grams, 0, set()
    for s in seqs:
        event, mass, certified = _source(state, registry, issuer, category, s, seq)
        years.add(event.day.year)
        left = _left(s, mass, certified)
        available += left
        take = min(need, left)
        if take > 0:
            allocation.append([s, take])
            need -= take
    if need > 0:
        raise EprViolation(
            "epr.over-issue",
            f"{grams} g asked, but the sources have only {available} g of processed mass"
            " left uncertified",
        )
    year = _year_of(years, wanted)
    return {"certificate": certificate, "issuer": issuer, "category": category, "year": year,
            "grams": grams, "sources": allocation}  # fmt: skip


def _year_of(years: set[int], wanted: int | None) -> int:
    if len(years) != 1:
        raise EprViolation(
            "epr.year-mismatch", f"the sources span the years {sorted(years)}: one year each"
        )
    (year,) = years
    if wanted is not None and wanted != year:
        raise EprViolation(
            "epr.year-mismatch", f"the sources are of {year}, not of the year asked ({wanted})"
        )
    return year


def check_issue(state: EprState, registry: Registry, data: dict[str, Any], seq: int) -> EprDelta:
    cert_id = v.text(data, "certificate")
    issuer, category = v.text(data, "issuer"), v.category(data.get("category"))
    grams = v.amount(data.get("grams"))
    allocation = data.get("sources")
    if not isinstance(allocation, list) or not allocation:
        raise EprViolation("epr.no-source", "a certificate names the events it certifies")
    if state.epr_certificate(cert_id) is not None:
        raise EprViolation("epr.replay-conflict", f"certificate {cert_id} exists already")
    delta = EprDelta(_pending(cert_id))
    seen: set[int] = set()
    years: set[int] = set()
    for pair in allocation:
        if not isinstance(pair, list) or len(pair) != 2:
            raise EprViolation("epr.bad-request", f"allocation {pair!r} is not [seq, grams]")
        [s] = v.source_seqs([pair[0]])
        if s in seen:
            raise EprViolation("epr.double-certify", f"source {s} is listed twice")
        seen.add(s)
        take = v.amount(pair[1], f"grams of source {s}")
        event, mass, certified = _source(state, registry, issuer, category, s, seq)
        years.add(event.day.year)
        left = _left(s, mass, certified)
        if take > left:
            raise EprViolation(
                "epr.over-issue", f"{take} g of event {s} asked, only {left} g left uncertified"
            )
        delta.allocation.append((cert_id, s, take))
        delta.sources.append((s, issuer, category, mass, take))
    if sum(g for _c, _s, g in delta.allocation) != grams:
        raise EprViolation("epr.bad-amount", f"the allocation does not add up to {grams} g")
    year = _year_of(years, data.get("year"))
    delta.certificate = CertificateRow(cert_id, issuer, category, year, grams, seq)
    delta.holdings.append((cert_id, issuer, grams))
    return delta


# -- transfer and surrender ------------------------------------------------------------------------
def _certificate(state: EprState, data: dict[str, Any]) -> CertificateRow:
    cert_id = v.text(data, "certificate")
    cert = state.epr_certificate(cert_id)
    if cert is None:
        raise EprViolation("epr.unknown-certificate", f"no certificate {cert_id}")
    return cert


def _debit(state: EprState, cert: CertificateRow, party: str, grams: int) -> None:
    """Raise unless ``party`` holds ``grams`` of the certificate that may still move."""
    balance = state.epr_balance(cert.id, party)
    if grams <= balance:
        return
    gone = state.epr_surrendered_by(cert.id, party)
    if balance == 0 and gone == 0:
        raise EprViolation("epr.not-holder", f"{party} holds none of certificate {cert.id}")
    if gone > 0 and grams <= balance + gone:
        raise EprViolation(
            "epr.surrendered",
            f"{party} surrendered {gone} g of certificate {cert.id}; surrendered grams never"
            f" move again (it holds {balance} g)",
        )
    raise EprViolation(
        "epr.insufficient-balance",
        f"{party} holds {balance} g of certificate {cert.id}, not {grams} g",
    )


def check_transfer(
    state: EprState, registry: Registry, data: dict[str, Any], _seq: int
) -> EprDelta:
    v.only(data, {"certificate", "from", "to", "grams", "opId"})
    grams = v.amount(data.get("grams"))
    sender, receiver = v.text(data, "from"), v.text(data, "to")
    cert = _certificate(state, data)
    if sender == receiver:
        raise EprViolation("epr.self-transfer", f"{sender} cannot transfer to itself")
    if registry.enterprise(receiver) is None:
        raise EprViolation("epr.unknown-party", f"{receiver!r} is not a registered enterprise")
    _debit(state, cert, sender, grams)
    delta = EprDelta(_pending(cert.id))
    delta.holdings += [(cert.id, sender, -grams), (cert.id, receiver, grams)]
    return delta


def check_surrender(
    state: EprState, registry: Registry, data: dict[str, Any], _seq: int
) -> EprDelta:
    v.only(data, {"certificate", "holder", "year", "grams", "opId"})
    grams = v.amount(data.get("grams"))
    year = v.year(data.get("year"), "obligation year")
    holder = v.text(data, "holder")
    cert = _certificate(state, data)
    if year < cert.year:
        raise EprViolation(
            "epr.bad-year",
            f"certificate {cert.id} is of {cert.year}: it cannot settle an obligation of {year}",
        )
    if not registry.roles(holder) & PRODUCER_ROLES:
        raise EprViolation(
            "epr.not-producer",
            f"{holder} is not a producer (battery or vehicle maker) with an obligation",
        )
    _debit(state, cert, holder, grams)
    delta = EprDelta(_pending(cert.id))
    delta.holdings.append((cert.id, holder, -grams))
    delta.surrenders.append((cert.id, holder, year, cert.category, grams))
    return delta


Check = Callable[[EprState, Registry, dict[str, Any], int], EprDelta]
CHECKS: dict[str, Check] = {
    "issue": check_issue,
    "transfer": check_transfer,
    "surrender": check_surrender,
}
