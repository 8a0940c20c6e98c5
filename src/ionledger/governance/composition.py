"""What a traction pack contains, kg of each element per kWh, by chemistry (one table, as data).

The table (``data/composition_v1.toml``, version 1) is derived from Argonne's EverBatt 2023;
the file says which columns make each element. The recycling rules weigh a transformation's
inputs with it, and the fleet simulator (:mod:`ionledger.sim.params`) recovers shares of it, so
both read the same figures.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

TABLE = "data/composition_v1.toml"


@dataclass(frozen=True, slots=True)
class Composition:
    version: int
    source: str
    materials: tuple[str, ...]
    kg_per_kwh: Mapping[str, Mapping[str, float]]  # chemistry -> material -> kg per kWh

    @property
    def chemistries(self) -> tuple[str, ...]:
        return tuple(self.kg_per_kwh)


@cache
def composition() -> Composition:
    """The packaged table (read once)."""
    text = resources.files("ionledger.governance").joinpath(TABLE).read_text(encoding="utf-8")
    data = tomllib.loads(text)
    materials = tuple(str(m) for m in data["materials"])
    rows: dict[str, Mapping[str, float]] = {}
    for chemistry, values in data["kg_per_kwh"].items():
        if len(values) != len(materials):
            raise ValueError(f"{TABLE}: {chemistry} has {len(values)} values, not {len(materials)}")
        rows[chemistry] = MappingProxyType(
            {m: float(v) for m, v in zip(materials, values, strict=True)}
        )
    return Composition(
        version=int(data["version"]),
        source=str(data["source"]),
        materials=materials,
        kg_per_kwh=MappingProxyType(rows),
    )


def content_kg(chemistry: str, kwh: float) -> dict[str, float] | None:
    """kg of each material in ``kwh`` of packs of this chemistry; None for a chemistry the table
    does not have (LMO, "other": nothing to weigh them against)."""
    row = composition().kg_per_kwh.get(chemistry)
    if row is None:
        return None
    return {material: kg * kwh for material, kg in row.items()}
