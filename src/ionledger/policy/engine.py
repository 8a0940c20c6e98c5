"""The yearly loop: retirements -> owners' choice -> white-listed plants (capacity, mandates,
transfer wait) -> cascade use and recycling; with the EPR fund, materials, carbon and pollution.

State carried from year to year: the EPR fund balance, packs waiting for cross-province
approval, packs in second life, last year's cross-province share (which sets this year's
delay cost) and the cumulative pollution. All arrays lead with the draw axis, so a Monte Carlo
batch runs through the same code as a single run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ionledger.policy.axes import N_C, N_E, N_P, PROVINCE_CODES, Floats
from ionledger.policy.choice import (
    Offers,
    awareness,
    formal_probability,
    funded_share,
    offers,
    value_per_kwh,
)
from ionledger.policy.cohorts import Cohorts, build_cohorts
from ionledger.policy.inputs import Data
from ionledger.policy.materials import (
    carbon_avoided,
    cascade_share,
    formal_recovery,
    informal_recovery,
    pollution,
    recovered,
    second_life_pmf,
)
from ionledger.policy.params import Params
from ionledger.policy.results import NATIONAL, PROVINCIAL, Result
from ionledger.policy.routing import cross_share, in_transit, route_formal
from ionledger.policy.scenario import Policy, Scenario


@dataclass(slots=True)
class _State:
    draws: int
    fund: Floats = field(init=False)
    transit_od: Floats = field(init=False)  # (D, P, Q) tonnes waiting at year end
    transit_cascade_kwh: Floats = field(init=False)  # (D, C) of which bound for cascade use
    transit_recycle_kwh: Floats = field(init=False)  # (D, C) and for recycling
    reused_kwh: Floats = field(init=False)  # (D, T, C) entering second life, by year
    cross_last: Floats = field(init=False)  # (D, P)
    pollution_total: Floats = field(init=False)  # (D,)

    def start(self, years: int) -> None:
        d = self.draws
        self.fund = np.zeros(d)
        self.transit_od = np.zeros((d, N_P, N_P))
        self.transit_cascade_kwh = np.zeros((d, N_C))
        self.transit_recycle_kwh = np.zeros((d, N_C))
        self.reused_kwh = np.zeros((d, years, N_C))
        self.cross_last = np.zeros((d, N_P))
        self.pollution_total = np.zeros(d)


def capacity(data: Data, params: Params, t: int, policy: Policy) -> Floats:
    """(P,) white-listed capacity, t/yr, in year index ``t``."""
    year = int(data.years[t])
    if year < params.scalar("market.first_whitelist_year"):
        return np.zeros(N_P)
    base = data.capacity_national[t] * data.capacity_share[t] * policy.capacity_factor
    extra = np.array([policy.capacity_add_t.get(code, 0.0) for code in PROVINCE_CODES])
    return np.asarray(base + extra, dtype=np.float64)


def simulate(scenario: Scenario, data: Data, params: Params) -> Result:
    co = build_cohorts(data, params)
    years = len(data.years)
    state = _State(params.draws)
    state.start(years)
    national = {k: np.zeros((params.draws, years)) for k in NATIONAL}
    provincial = {k: np.zeros((params.draws, years, N_P)) for k in PROVINCIAL}
    rec_formal = np.zeros((params.draws, years, N_E))
    rec_informal = np.zeros((params.draws, years, N_E))
    od = np.zeros((years, N_P, N_P))
    year_run = _Year(scenario, data, params, co, state)
    for t in range(years):
        year_run(t, national, provincial, rec_formal, rec_informal, od)
    return Result(scenario.name, data.years, national, provincial, rec_formal, rec_informal, od)


class _Year:
    """One year of the loop; holds what does not change between years."""

    def __init__(
        self, scenario: Scenario, data: Data, params: Params, co: Cohorts, state: _State
    ) -> None:
        self.scenario = scenario
        self.data = data
        self.params = params
        self.co = co
        self.state = state
        self.value = value_per_kwh(data, params)
        self.rec_f = formal_recovery(data, params)
        self.rec_i = informal_recovery(params)
        self.second_life = second_life_pmf(params, data.weibull_k, len(data.years))
        self.kg = co.kg_per_kwh  # (D, C)

    def _tonnes(self, kwh: Floats) -> Floats:
        """Tonnes of packs of ``kwh`` (D, P, S, C, O)."""
        return np.asarray(kwh * self.kg[:, None, None, :, None] / 1000.0)

    def _offers(self, packs: Floats, kwh: Floats) -> Offers:
        per_pack = np.where(packs > 0, kwh / np.maximum(packs, 1e-12), 0.0)
        return offers(per_pack, self._tonnes(per_pack), self.value, self.params)

    def __call__(
        self,
        t: int,
        national: dict[str, Floats],
        provincial: dict[str, Floats],
        rec_formal: Floats,
        rec_informal: Floats,
        od: Floats,
    ) -> None:
        sc, data, params, co, st = self.scenario, self.data, self.params, self.co, self.state
        year = int(data.years[t])
        pol = sc.policy_in(year)
        packs = co.retired_packs[:, t]  # (D, P, S, C, O)
        kwh = co.retired_kwh[:, t]
        tonnes = self._tonnes(kwh)
        offer = self._offers(packs, kwh)
        penalty = np.full(N_P, pol.enforcement_probability * pol.fine_cny)
        delay = params["choice.holding_cost_cny_per_day"][:, None] * pol.transfer_delay_days
        delay_cost = delay * st.cross_last
        aware = awareness(params, year)
        reward = pol.rebate_cny + pol.points_cny

        def choose(phi: Floats) -> Floats:
            return formal_probability(
                offer,
                reward=phi * reward,
                delay_cost=delay_cost,
                expected_penalty=penalty,
                aware=aware,
                params=params,
            )

        inflow = pol.epr_fee_cny_per_kwh * (co.new_kwh_domestic[:, t] + co.replacement_kwh[:, t])
        available = st.fund + inflow
        phi = funded_share(lambda f: (packs * choose(f)).sum(axis=(1, 2, 3, 4)), available, reward)
        p_formal = choose(phi)
        demand_t = (tonnes * p_formal).sum(axis=(2, 3, 4))  # (D, P)

        cap = capacity(data, params, t, pol)
        mandated = np.array([pol.mandated(code) for code in PROVINCE_CODES])
        routed = route_formal(demand_t, cap, mandated, params["routing.local_preference"])
        accepted_t = routed.flows.sum(axis=2)
        acc = np.where(demand_t > 0, accepted_t / np.maximum(demand_t, 1e-12), 0.0)  # (D, P)
        share = p_formal * acc[:, :, None, None, None]  # formal after rationing
        formal_packs, formal_kwh = packs * share, kwh * share
        informal_kwh = kwh - formal_kwh  # chosen, and refused by full plants

        # Cross-province transfers: a share of the flow waits into next year.
        waiting = in_transit(routed.flows, pol.transfer_delay_days)
        arrivals = routed.flows - waiting + st.transit_od
        crossing = cross_share(routed.flows)
        late = crossing * min(pol.transfer_delay_days / 365.0, 1.0)  # (D, P) share delayed
        cshare = cascade_share(params, pol.cascade_quota)  # (D, C, O)
        by_chem = formal_kwh.sum(axis=2)  # (D, P, C, O)
        cascade_all = np.einsum("dpco,dco->dpc", by_chem, cshare)
        recycle_all = by_chem.sum(axis=3) - cascade_all
        now = 1.0 - late[:, :, None]
        cascade_kwh = (cascade_all * now).sum(axis=1) + st.transit_cascade_kwh
        recycle_kwh = (recycle_all * now).sum(axis=1) + st.transit_recycle_kwh
        st.transit_cascade_kwh = (cascade_all * late[:, :, None]).sum(axis=1)
        st.transit_recycle_kwh = (recycle_all * late[:, :, None]).sum(axis=1)
        st.transit_od = waiting
        st.cross_last = crossing

        reuse = params["cascade.reuse_fraction"][:, None]
        reused_kwh = cascade_kwh * reuse
        st.reused_kwh[:, t] = reused_kwh
        back = self.second_life[:, t::-1][:, : t + 1]  # pmf at ages t..0 for entry years 0..t
        returns_kwh = np.einsum("dyc,dy->dc", st.reused_kwh[:, : t + 1], back)
        recycled_kwh = recycle_kwh + cascade_kwh * (1 - reuse) + returns_kwh
        informal_by_chem = informal_kwh.sum(axis=(1, 2, 4))  # (D, C)

        rf = recovered(recycled_kwh, data, self.rec_f)
        ri = recovered(informal_by_chem, data, self.rec_i)
        rec_formal[:, t], rec_informal[:, t] = rf, ri
        kg = self.kg / 1000.0
        recycled_t = (recycled_kwh * kg).sum(axis=1)
        carbon = carbon_avoided(
            recovered_t=rf,
            processed_t=recycled_t,
            reused_kwh=reused_kwh.sum(axis=1),
            data=data,
            params=params,
        )
        polluted = pollution(informal_by_chem, data, self.rec_i)
        st.pollution_total = st.pollution_total + polluted

        paid = phi * reward * formal_packs.sum(axis=(1, 2, 3, 4))
        st.fund = available - paid
        all_packs = packs.sum(axis=(1, 2, 3, 4))
        mean = np.maximum(all_packs, 1e-12)
        n = national
        n["retired_t"][:, t] = tonnes.sum(axis=(1, 2, 3, 4))
        n["retired_gwh"][:, t] = kwh.sum(axis=(1, 2, 3, 4)) / 1e6
        n["retired_packs"][:, t] = all_packs
        n["formal_t"][:, t] = accepted_t.sum(axis=1)
        n["rationed_t"][:, t] = routed.rationed.sum(axis=1)
        n["informal_t"][:, t] = n["retired_t"][:, t] - n["formal_t"][:, t]
        n["formal_rate"][:, t] = n["formal_t"][:, t] / np.maximum(n["retired_t"][:, t], 1e-12)
        n["cascade_reused_t"][:, t] = (reused_kwh * kg).sum(axis=1)
        n["recycled_formal_t"][:, t] = recycled_t
        n["informal_processed_t"][:, t] = (informal_by_chem * kg).sum(axis=1)
        n["in_transit_t"][:, t] = waiting.sum(axis=(1, 2))
        n["interprovince_formal_t"][:, t] = _abroad(routed.flows)
        n["capacity_t"][:, t] = cap.sum()
        n["utilisation"][:, t] = arrivals.sum(axis=(1, 2)) / max(float(cap.sum()), 1e-12)
        n["offer_formal_cny"][:, t] = (offer.formal * packs).sum(axis=(1, 2, 3, 4)) / mean
        n["offer_informal_cny"][:, t] = (offer.informal * packs).sum(axis=(1, 2, 3, 4)) / mean
        n["informal_advantage_cny"][:, t] = (
            n["offer_informal_cny"][:, t] - n["offer_formal_cny"][:, t]
        )
        n["reward_paid_cny"][:, t] = phi * reward
        n["epr_inflow_cny"][:, t] = inflow
        n["epr_outflow_cny"][:, t] = paid
        n["epr_balance_cny"][:, t] = st.fund
        n["recovered_t"][:, t] = rf.sum(axis=1) + ri.sum(axis=1)
        n["carbon_avoided_tco2e"][:, t] = carbon
        n["pollution_t"][:, t] = polluted
        n["farmland_km2"][:, t] = st.pollution_total * params["pollution.km2_per_t"]
        n["new_gwh"][:, t] = (co.new_kwh_domestic[:, t] + co.replacement_kwh[:, t]) / 1e6

        pr = provincial
        pr["sold_vehicles"][:, t] = co.new_packs[:, t].sum(axis=(2, 3))
        pr["retired_t"][:, t] = tonnes.sum(axis=(2, 3, 4))
        pr["retired_gwh"][:, t] = kwh.sum(axis=(2, 3, 4)) / 1e6
        pr["retired_packs"][:, t] = packs.sum(axis=(2, 3, 4))
        pr["formal_t"][:, t] = accepted_t
        pr["formal_gwh"][:, t] = formal_kwh.sum(axis=(2, 3, 4)) / 1e6
        pr["formal_packs"][:, t] = formal_packs.sum(axis=(2, 3, 4))
        pr["informal_t"][:, t] = pr["retired_t"][:, t] - accepted_t
        pr["informal_gwh"][:, t] = informal_kwh.sum(axis=(2, 3, 4)) / 1e6
        pr["informal_packs"][:, t] = pr["retired_packs"][:, t] - pr["formal_packs"][:, t]
        pr["rationed_t"][:, t] = routed.rationed
        pr["processed_in_t"][:, t] = arrivals.sum(axis=1)
        pr["capacity_t"][:, t] = cap[None, :]
        pr["formal_rate"][:, t] = accepted_t / np.maximum(pr["retired_t"][:, t], 1e-12)
        od[t] = routed.flows.mean(axis=0)


def _abroad(flows: Floats) -> Floats:
    """(D,) tonnes processed outside the province that collected them."""
    return np.asarray((flows * (1.0 - np.eye(flows.shape[1]))[None]).sum(axis=(1, 2)))


def run(scenario: Scenario, data: Data, params: Params | None = None) -> Result:
    """A single run (or a batch of draws, with ``params``)."""
    return simulate(scenario, data, params or Params.single(scenario))
