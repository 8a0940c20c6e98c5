"""Battery attributes: chemistry, category and the physical figures a passport needs."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import msgspec

from ionledger.domain.vocabulary import (
    ILMD_CAPACITY_AH,
    ILMD_CATEGORY,
    ILMD_CHEMISTRY,
    ILMD_MASS_KG,
    ILMD_RATED_ENERGY_KWH,
)
from ionledger.errors import ValidationError


class Chemistry(enum.StrEnum):
    LFP = "LFP"
    NMC111 = "NMC111"
    NMC532 = "NMC532"
    NMC622 = "NMC622"
    NMC811 = "NMC811"
    NCA = "NCA"
    LMO = "LMO"
    OTHER = "other"


class Category(enum.StrEnum):
    """EU Battery Regulation categories that matter here."""

    EV = "EV"
    LMT = "LMT"  # light means of transport
    INDUSTRIAL = "industrial"
    STATIONARY = "stationary"


CHEMISTRIES = frozenset(c.value for c in Chemistry)
CATEGORIES = frozenset(c.value for c in Category)


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(value) if ok else None


class BatteryAttributes(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    chemistry: Chemistry | None = None
    category: Category | None = None
    rated_energy_kwh: float | None = None
    capacity_ah: float | None = None
    mass_kg: float | None = None

    @classmethod
    def from_ilmd(cls, ilmd: Mapping[str, Any]) -> BatteryAttributes:
        """The attributes an event's ILMD carries (checked values: see epcis.checks)."""
        chemistry, category = ilmd.get(ILMD_CHEMISTRY), ilmd.get(ILMD_CATEGORY)
        return cls(
            chemistry=Chemistry(chemistry) if chemistry in CHEMISTRIES else None,
            category=Category(category) if category in CATEGORIES else None,
            rated_energy_kwh=_number(ilmd.get(ILMD_RATED_ENERGY_KWH)),
            capacity_ah=_number(ilmd.get(ILMD_CAPACITY_AH)),
            mass_kg=_number(ilmd.get(ILMD_MASS_KG)),
        )

    def __post_init__(self) -> None:
        for name in ("rated_energy_kwh", "capacity_ah", "mass_kg"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValidationError(f"battery attribute {name} must be > 0, got {value}")
