"""The composition table: derived from EverBatt 2023 as its file says, shared by the simulator
and the recycling rules, and consistent with the white-list recovery thresholds."""

from __future__ import annotations

import csv
import itertools

import pytest

from conftest import need_refdata
from ionledger.governance.composition import composition, content_kg
from ionledger.governance.thresholds import MASS_TOLERANCE_KG, RECOVERY_THRESHOLDS
from ionledger.sim import params as p
from ionledger.sim.timeline import recovered_kg

# How each material is made of the CSV's columns (composition_v1.toml says the same).
COLUMNS: dict[str, tuple[str, ...]] = {
    "Li": ("Li_in_CAM_kg_per_kWh", "Li_in_LiPF6_kg_per_kWh"),
    "Ni": ("Ni_in_CAM_kg_per_kWh",),
    "Co": ("Co_in_CAM_kg_per_kWh",),
    "Mn": ("Mn_in_CAM_kg_per_kWh",),
    "Cu": ("total_Cu_pack_kg_per_kWh",),
    "Al": ("total_Al_pack_kg_per_kWh", "Al_in_CAM_kg_per_kWh"),
    "Fe": ("pack_steel_iron_kg_per_kWh",),
    "graphite": ("graphite_kg_per_kWh",),
}


def test_the_table_is_derived_from_everbatt_2023() -> None:
    path = need_refdata("domain", "everbatt2023_cell_composition_per_kWh.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = {row["chemistry"]: row for row in csv.DictReader(fh)}
    table = composition()
    assert table.version == 1
    assert "EverBatt 2023" in table.source
    assert set(table.materials) == set(COLUMNS)
    for chemistry, per_kwh in table.kg_per_kwh.items():
        row = rows[chemistry]
        for material, columns in COLUMNS.items():
            want = sum(float(row[c]) for c in columns)
            assert per_kwh[material] == pytest.approx(want, abs=5e-5), (chemistry, material)


def test_the_simulator_uses_the_table() -> None:
    table = composition()
    assert table.chemistries == tuple(str(c) for c in p.CHEMISTRIES)
    assert table.materials == p.MATERIALS
    for chemistry, row in zip(p.CHEMISTRIES, p.MATERIAL_KG_PER_KWH, strict=True):
        assert row == tuple(table.kg_per_kwh[str(chemistry)][m] for m in table.materials)


def test_content_scales_with_energy_and_unknown_chemistries_have_none() -> None:
    per_kwh = content_kg("NMC811", 1.0)
    assert per_kwh is not None
    assert per_kwh["Ni"] == pytest.approx(0.6163)
    sixty = content_kg("NMC811", 60.0)
    assert sixty is not None
    assert sixty == pytest.approx({m: kg * 60 for m, kg in per_kwh.items()})
    assert content_kg("LMO", 60.0) is None
    assert content_kg("other", 60.0) is None


def test_recovery_thresholds_are_the_2024_white_list_conditions() -> None:
    # DOMAIN.md: Ni, Co, Mn >= 98% (both editions), Li >= 90% (2024 edition).
    assert RECOVERY_THRESHOLDS == {"Ni": 0.98, "Co": 0.98, "Mn": 0.98, "Li": 0.90}
    assert MASS_TOLERANCE_KG == 0.001
    recovery = dict(zip(p.MATERIALS, p.RECOVERY, strict=True))
    for element, threshold in RECOVERY_THRESHOLDS.items():
        assert recovery[element] >= threshold  # the simulator's recyclers are compliant
    assert all(r < 1 for r in p.RECOVERY)


@pytest.mark.parametrize("chem", range(len(p.CHEMISTRIES)))
def test_clean_recovery_at_the_thresholds_trips_neither_recycling_rule(chem: int) -> None:
    """Every pack size and module count: rounded to grams, what a clean recycling reports is
    at least the threshold share (within the tolerance) and at most the content, whether the
    content is counted by the pack's rated energy or by its modules' (rounded) energies."""
    name = str(p.CHEMISTRIES[chem])
    for kwh, n_mod in itertools.product(p.PACK_KWH, range(p.MODULES[0], p.MODULES[1] + 1)):
        got = recovered_kg(chem, kwh, n_mod)
        for energy in (kwh, round(kwh / n_mod, 3) * n_mod):
            content = content_kg(name, energy)
            assert content is not None
            for element, kg in got.items():
                assert kg <= content[element] + MASS_TOLERANCE_KG
                threshold = RECOVERY_THRESHOLDS.get(element)
                if threshold is not None:
                    assert kg + MASS_TOLERANCE_KG >= threshold * content[element]
            assert set(got) == {m for m, kg in content.items() if kg > 0}
