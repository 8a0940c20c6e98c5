"""The simulator's axes, in array order (every array names its axes in these terms).

A cohort is (sale year, province, segment, chemistry); a retirement also has an origin: the pack
came out of a running vehicle at a 4S store (``replaced``) or left with a scrapped vehicle
(``scrapped``). Arrays in the yearly loop are ``(draw, province, segment, chemistry, origin)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ionledger.domain.provinces import PROVINCES

PROVINCE_CODES: tuple[str, ...] = tuple(PROVINCES)
SEGMENTS = ("bev_passenger", "phev_passenger", "commercial")
CHEMISTRIES = ("LFP", "NMC111", "NMC532", "NMC622", "NMC811", "NCA")
TERNARY = CHEMISTRIES[1:]
ORIGINS = ("replaced", "scrapped")
REPLACED, SCRAPPED = 0, 1
ELEMENTS = ("Li", "Ni", "Co", "Mn", "Cu", "Al", "graphite")
ROUTES = ("hydro", "pyro", "direct")

N_P, N_S, N_C, N_O, N_E = (
    len(PROVINCE_CODES),
    len(SEGMENTS),
    len(CHEMISTRIES),
    len(ORIGINS),
    len(ELEMENTS),
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]


def province_index(code: str) -> int:
    return PROVINCE_CODES.index(code)
