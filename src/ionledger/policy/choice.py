"""The owner's channel choice at retirement: formal (4S store, collection outlet or dismantler,
then a white-listed firm) or informal (a workshop), as a binary logit.

What each buyer offers for a pack is a share (``choice.theta_*``, fitted) of what its route
recovers from the pack at market prices, less its processing cost:

    offer_k = theta_k * (kWh * sum_e content_e * recovery_k,e * price_e  -  cost_k * mass)

with the formal route's recovery the mix of hydro/pyro/direct rates (EverBatt) and the informal
one's ``economics.informal_recovery``; costs CNY/t (formal up to 4,200, informal 300: DOMAIN.md).
The owner compares, in CNY of a pack:

    delta = asc + (offer_f + reward - hassle_o - delay_cost_p - offer_i + p_enf * fine) / scale
    P(formal) = awareness_o * 1 / (1 + exp(-delta))

``reward`` is the trade-in rebate plus the value of points (paid from the EPR fund, possibly
pro rata: see :func:`funded_share`); ``delay_cost`` the cost of holding a pack through the
cross-province re-approval wait, for the share of packs that crossed a border last year.
Owners who do not know the formal channel (1 - awareness) sell informally; a pack swapped at a
4S store is always offered the formal route (the store is a collection point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ionledger.policy.axes import ELEMENTS, SCRAPPED, Floats
from ionledger.policy.inputs import Data
from ionledger.policy.params import Params


@dataclass(frozen=True, slots=True)
class Offers:
    formal: Floats  # (D, P, S, C, O) CNY per pack
    informal: Floats


def value_per_kwh(data: Data, params: Params) -> tuple[Floats, Floats]:
    """Recovered value, CNY per kWh of pack, by draw and chemistry: (formal, informal)."""
    shares = np.stack(
        [params[f"economics.route_{r}"] for r in ("hydro", "pyro", "direct")], axis=1
    )  # (D, R)
    formal_rec = shares @ data.recovery  # (D, E)
    informal_rec = np.stack([params[f"economics.informal_recovery.{e}"] for e in ELEMENTS], axis=1)
    price = (
        data.price_usd_per_kg[None, :]
        * params["economics.fx_cny_per_usd"][:, None]
        * params["economics.price_factor"][:, None]
    )  # (D, E) CNY per kg
    formal = np.einsum("ce,de,de->dc", data.content, formal_rec, price)
    informal = np.einsum("ce,de,de->dc", data.content, informal_rec, price)
    return formal, informal


def offers(kwh: Floats, mass_t: Floats, value: tuple[Floats, Floats], params: Params) -> Offers:
    """Offers per pack for packs of ``kwh`` and ``mass_t`` (D, P, S, C, O)."""
    vf, vi = (v[:, None, None, :, None] for v in value)
    cost_f = params["economics.cost_formal_cny_per_t"][:, None, None, None, None]
    cost_i = params["economics.cost_informal_cny_per_t"][:, None, None, None, None]
    theta_f = params["choice.theta_formal"][:, None, None, None, None]
    theta_i = params["choice.theta_informal"][:, None, None, None, None]
    return Offers(
        formal=theta_f * (kwh * vf - cost_f * mass_t),
        informal=theta_i * (kwh * vi - cost_i * mass_t),
    )


def awareness(params: Params, year: int) -> Floats:
    """(D, O): share of owners who know the formal channel, by origin."""
    level = params["choice.awareness_2024"] + params["choice.awareness_trend"] * (year - 2024)
    scrapped = np.clip(np.minimum(level, params["choice.awareness_max"]), 0.0, 1.0)
    out = np.ones((len(scrapped), 2))
    out[:, SCRAPPED] = scrapped
    return out


def formal_probability(
    offer: Offers,
    *,
    reward: Floats,
    delay_cost: Floats,
    expected_penalty: Floats,
    aware: Floats,
    params: Params,
) -> Floats:
    """(D, P, S, C, O). ``reward`` (D,), ``delay_cost`` (D, P), ``expected_penalty`` (P,)."""
    hassle = np.stack(
        (params["choice.hassle_replaced_cny"], params["choice.hassle_scrapped_cny"]), axis=1
    )  # (D, O)
    gain = (
        offer.formal
        - offer.informal
        + reward[:, None, None, None, None]
        - hassle[:, None, None, None, :]
        - delay_cost[:, :, None, None, None]
        + expected_penalty[None, :, None, None, None]
    )
    delta = (
        params["choice.asc"][:, None, None, None, None]
        + gain / params["choice.price_scale_cny"][:, None, None, None, None]
    )
    logistic = np.exp(-np.logaddexp(0.0, -delta))
    return np.asarray(aware[:, None, None, None, :] * logistic, dtype=np.float64)


def funded_share(
    claims_at: Callable[[Floats], Floats], available: Floats, reward: float, iterations: int = 30
) -> Floats:
    """The share phi in [0, 1] of the promised reward the fund can pay, per draw.

    ``claims_at(phi)`` gives the formal packs (D,) at a paid reward of phi * reward; the claims
    phi * reward * packs(phi) rise with phi, so phi = 1 where the fund covers them and the root
    of claims = available (bisection) where it does not.
    """
    draws = len(available)
    if reward <= 0:
        return np.ones(draws)
    full = reward * claims_at(np.ones(draws))
    short = full > available
    if not np.any(short):
        return np.ones(draws)
    lo, hi = np.zeros(draws), np.ones(draws)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        over = mid * reward * claims_at(mid) > available
        hi = np.where(over, mid, hi)
        lo = np.where(over, lo, mid)
    return np.where(short, lo, 1.0)
