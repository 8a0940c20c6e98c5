"""Where formally collected packs are processed: white-listed capacity by province, in-province
mandates, and the cross-province transfer wait.

A province's formal packs stay at home with probability ``routing.local_preference`` where it has
white-listed capacity (provinces protect local firms: DOMAIN.md), the rest go to plants across the
country in proportion to their capacity. Under an in-province mandate (Sichuan's rule) all stay
at home. A plant takes at most its capacity: what overflows from free provinces is re-offered to
plants with spare capacity; what still finds none, and a mandated province's overflow, is refused
and sold informally ("rationed").

Packs crossing a border wait ``transfer_delay_days`` for re-approval (30-45 days under today's
"local data storage" rules: DOMAIN.md): that share of a year's cross-province flow reaches its
plant the next year (:func:`in_transit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ionledger.policy.axes import Bools, Floats


@dataclass(frozen=True, slots=True)
class Routed:
    flows: Floats  # (D, P, Q) tonnes accepted: collected in province p, processed in q
    rationed: Floats  # (D, P) tonnes refused for want of reachable capacity


def route_formal(
    demand: Floats, capacity: Floats, mandated: Bools, local_preference: Floats
) -> Routed:
    """``demand`` (D, P) tonnes collected formally; ``capacity`` (P,) t/yr; ``mandated`` (P,)."""
    draws, provinces = demand.shape
    total = float(capacity.sum())
    if total <= 0:
        return Routed(np.zeros((draws, provinces, provinces)), demand.copy())
    eye = np.eye(provinces)
    has = capacity > 0
    local = np.where(mandated[None, :], 1.0, np.where(has[None, :], local_preference[:, None], 0))
    spread = (1.0 - local)[:, :, None] * (capacity / total)[None, None, :]
    flows = demand[:, :, None] * (local[:, :, None] * eye[None] + spread)
    load = flows.sum(axis=1)  # (D, Q)
    keep = np.where(load > capacity[None, :], capacity[None, :] / np.maximum(load, 1e-12), 1.0)
    kept = flows * keep[:, None, :]
    free_excess = (flows - kept).sum(axis=2) * (~mandated)[None, :]  # (D, P)
    spare = np.maximum(capacity[None, :] - kept.sum(axis=1), 0.0)  # (D, Q)
    spare_total = spare.sum(axis=1)
    excess_total = free_excess.sum(axis=1)
    served = np.where(
        excess_total > 0, np.minimum(1.0, spare_total / np.maximum(excess_total, 1e-12)), 0
    )
    again = (
        free_excess[:, :, None]
        * served[:, None, None]
        * (spare / np.maximum(spare_total, 1e-12)[:, None])[:, None, :]
    )
    accepted = kept + again
    rationed = demand - accepted.sum(axis=2)
    rationed = np.where(rationed > 1e-9 * np.maximum(demand, 1.0), rationed, 0.0)  # not rounding
    return Routed(accepted, rationed)


def cross_share(flows: Floats) -> Floats:
    """(D, P): share of each province's accepted formal tonnes processed in another province."""
    total = flows.sum(axis=2)
    away = (flows * (1.0 - np.eye(flows.shape[1]))[None]).sum(axis=2)
    return np.where(total > 0, away / np.maximum(total, 1e-12), 0.0)


def in_transit(flows: Floats, delay_days: float) -> Floats:
    """(D, P, Q): the part of this year's cross-province flows still waiting at year end."""
    provinces = flows.shape[1]
    off_diagonal = 1.0 - np.eye(provinces)
    return flows * off_diagonal[None] * min(max(delay_days, 0.0) / 365.0, 1.0)
