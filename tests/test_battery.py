"""Battery attributes as the ILMD of a commissioning event carries them."""

from __future__ import annotations

import pytest

from ionledger.domain.battery import BatteryAttributes, Category, Chemistry
from ionledger.errors import ValidationError


def test_attributes_from_ilmd() -> None:
    attrs = BatteryAttributes.from_ilmd(
        {
            "ion:chemistry": "NMC811",
            "ion:category": "EV",
            "ion:ratedEnergyKWh": 75,
            "ion:capacityAh": 202.5,
            "ion:massKg": 452.1,
            "example:other": 1,
        }
    )
    assert attrs == BatteryAttributes(
        chemistry=Chemistry.NMC811,
        category=Category.EV,
        rated_energy_kwh=75.0,
        capacity_ah=202.5,
        mass_kg=452.1,
    )


def test_unknown_or_missing_values_are_absent() -> None:
    assert BatteryAttributes.from_ilmd({"ion:chemistry": "LiPo", "ion:massKg": "heavy"}) == (
        BatteryAttributes()
    )


@pytest.mark.parametrize("field", ["rated_energy_kwh", "capacity_ah", "mass_kg"])
def test_physical_figures_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        BatteryAttributes(**{field: 0.0})
