"""Numeric thresholds the rules apply, with their sources."""

from __future__ import annotations

# White-list recovery requirements, MIIT industry standard conditions, 2024 edition
# (DOMAIN.md): Ni, Co and Mn >= 98 %, Li >= 90 %.
RECOVERY_THRESHOLDS: dict[str, float] = {"Ni": 0.98, "Co": 0.98, "Mn": 0.98, "Li": 0.90}

# Reported quantities are in kg with gram resolution: a gram either way is rounding, not mass
# created or lost.
MASS_TOLERANCE_KG = 0.001

# The band of state-of-health values a test of a retired traction battery can plausibly report,
# percent. Retired batteries keep 70-90 % (refdata lifetime_secondlife_params.csv, observed);
# below 50 % or above 95 % is a faulty tester or a falsified report (our assumption, documented
# in docs/rules.md).
SOH_PLAUSIBLE: tuple[float, float] = (50.0, 95.0)
