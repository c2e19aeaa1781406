"""The step's compiled passes compute what the mechanisms' own functions compute, bit for bit.

``step._production``, ``step._supply`` and ``step._end_use`` call the mechanisms' kernels in
one compiled pass each (to spare a warm run the cost of crossing into compiled code some
forty times a month); the mechanisms' Python functions (``mining.desired_output``,
``separation.separate``, ``in_use.manufacture``, ...) remain their readable, documented
form. These tests run one month of a real run through both, under each regime, so the two
cannot drift apart: a pass that picked a different input than its mechanism fails here.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from mech import model
from reesim.dims import DT_YR, HOLDERS
from reesim.model import step as st
from reesim.model.mechanisms import (
    capacity,
    demand,
    in_use,
    magnets,
    market,
    mining,
    regimes,
    separation,
)
from reesim.model.mechanisms.market import COMPANY, price_floors
from reesim.model.state import initial_state

MONTHS = {"free_market": 60, "trading_company": 310}
"""A month of 2005 (the free market) and one of 2025 (the company, the 2025 price floor)."""


@functools.cache
def _month(regime: str):
    m = model(members=3)
    inputs, state = m.inputs, initial_state(m)
    t = MONTHS[regime]
    for month in range(t):
        state, _ = st.step(state, inputs, month)
    chosen = regimes.regime_at(inputs.regimes, t)
    assert chosen.name == regime
    return inputs, state, chosen, t


def _same(a, b) -> None:
    assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


@pytest.mark.parametrize("regime", sorted(MONTHS))
def test_the_production_pass_is_the_mechanisms_sequence(regime):
    inputs, state, regime_now, t = _month(regime)
    mi, ca, se, ma, re = (inputs.mining, inputs.capacity, inputs.separation, inputs.market,
                          inputs.regimes)
    price, routes = state.price, se.routes
    k = routes.pattern[t]
    netback = mining.netback_usd_per_kg(mi, routes, t, price) + (
        price_floors.price_support_usd_per_kg(ma, t, price, routes.market[k], mi.distribution,
                                              routes.recovery[k]))
    available = capacity.available_capacity(ca, t, state.capacity)
    limit = separation.separation_limit(se, t, available)
    target = mining.utilization_target(mi, netback) * separation.backlog_factor(
        se, t, state.concentrate, limit)
    utilization = mining.adjust_utilization(mi, state.utilization, target)
    planned = regime_now.planned_stockpile(re, state.company)
    output = regime_now.cap_output(
        re, mining.desired_output(mi, t, utilization, available), re.members[t], state.company,
        state.inventory[:, HOLDERS.index(COMPANY)], planned, price[:, 0],
        re.quota_target_t_per_yr[t])
    mined = mining.extract(mi, t, output, state.reserves, netback)
    reserves = state.reserves + (mined.reserve_additions - mined.ore_by_producer) * DT_YR
    passed = st._production_month(inputs, state, regime_now, t)
    for got, want in zip(passed[:5], (netback, available, limit, utilization, planned),
                         strict=True):
        _same(got, want)
    for got, want in zip(passed[5], mined, strict=True):
        _same(got, want)
    _same(passed[6], reserves)


@pytest.mark.parametrize("regime", sorted(MONTHS))
def test_the_supply_pass_is_the_mechanisms_sequence(regime):
    inputs, state, regime_now, t = _month(regime)
    de, se, re = inputs.demand, inputs.separation, inputs.regimes
    _, _, limit, _, planned, extracted, _ = st._production_month(inputs, state,
                                                                 regime_now, t)
    mine_output = mining.MiningResult(*extracted).mine_output
    real, index, demand_rate, world = demand.demand_month(de, t, state.price,
                                                          state.demand_long, state.thrift)
    held = st._sellers_stock(state.inventory, state.company.reserve)
    share = separation.separated_share(se, held, world)
    sep = separation.separate(se, t, state.concentrate, mine_output, limit, share)
    stocks = market.Stocks(state.inventory.copy())
    china_out, export_out = separation.deliveries(se, t, sep.separation_output)
    to_company = regime_now.to_company(re, sep.separation_output)
    company = regime_now.set_aside(re, state.company, stocks.trading_company + to_company * DT_YR,
                                   planned, state.price[:, 0], DT_YR)
    passed = st._supply_month(inputs, state, regime_now, t, mine_output, limit, planned)
    for got, want in zip(passed[:4], (real, index, demand_rate, world), strict=True):
        _same(got, want)
    for got, want in zip(passed[4], sep, strict=True):
        _same(got, want)
    for got, want in zip(passed[5:], (china_out, export_out, to_company, company.reserve,
                                      stocks.array), strict=True):
        _same(got, want)


def test_the_end_use_pass_is_the_mechanisms_sequence():
    inputs, state, _, t = _month("trading_company")
    iu, de = inputs.in_use, inputs.demand
    rng = np.random.default_rng(3)
    used = rng.uniform(0.0, 50.0, (3, *de.market_split[t].shape, state.price.shape[2]))
    routing = magnets.route(inputs.magnets, t, used * 12.0)
    made = in_use.manufacture(iu, used)
    shipped = magnets.ship(inputs.magnets, routing, used)
    use = in_use.age(iu, state.in_use, made.products_into_use)
    eol = in_use.recycle(iu, t, use.end_of_life, de.market_split[t])
    returns = made.scrap_by_market + eol.recycled_by_market
    stocks = market.Stocks(state.inventory.copy())
    stocks.producers_china += made.scrap_by_market[:, 0] + eol.recycled_by_market[:, 0]
    stocks.producers_export += made.scrap_by_market[:, 1] + eol.recycled_by_market[:, 1]
    into = state.inventory.copy()
    passed = st._end_use(used, iu.manufacturing_yield, iu.new_scrap_recycling,
                         inputs.magnets.magnet_yield, routing.china_users,
                         routing.licensed_exports, routing.users, state.in_use, iu.leave_rate,
                         iu.stage_active, iu.last_stage, iu.eol_recycling[t],
                         de.market_split[t], into)
    for got, want in zip(passed[:4], (made, shipped, use, eol), strict=True):
        for a, b in zip(got, want, strict=True):
            _same(a, b)
    _same(passed[4], returns)
    _same(into, stocks.array)
