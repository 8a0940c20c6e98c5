"""The rows of the EPR projection, and what one operation changes in them (all integer grams).

Shared by the service (which computes a change) and the store (which applies it)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CertificateRow:
    id: str
    issuer: str
    category: str  # recycling | refurbishment
    year: int
    grams: int
    seq: int  # the issuing record


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A source event and how much of its processed mass is certified so far."""

    seq: int
    issuer: str
    category: str
    mass_grams: int
    certified_grams: int


@dataclass(frozen=True, slots=True)
class HoldingRow:
    certificate: str
    holder: str
    grams: int


@dataclass(frozen=True, slots=True)
class SurrenderRow:
    certificate: str
    producer: str
    year: int
    grams: int


@dataclass(frozen=True, slots=True)
class OperationRow:
    op_id: str
    kind: str
    digest: str
    seq: int
    result: str  # the certificate it issued or moved


@dataclass(slots=True)
class EprDelta:
    operation: OperationRow
    certificate: CertificateRow | None = None
    allocation: list[tuple[str, int, int]] = field(default_factory=list)  # cert, source, grams
    # (source seq, issuer, category, mass grams, grams certified now)
    sources: list[tuple[int, str, str, int, int]] = field(default_factory=list)
    holdings: list[tuple[str, str, int]] = field(default_factory=list)  # cert, holder, +/- grams
    # (cert, producer, year, category, grams)
    surrenders: list[tuple[str, str, int, str, int]] = field(default_factory=list)
