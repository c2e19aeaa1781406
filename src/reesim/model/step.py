"""One month of the whole chain: ``step(state, inputs, t) -> (state, recorded values)``.

The order within a month: producers decide output from last month's prices (the regime may cap
its members); concentrate is separated; separated oxides reach sellers (under the trading
company its members' output reaches the company); buyers state their wants (consumers,
exporters, reserves); the markets clear; manufacturers consume what they can; products enter use
and end-of-life material returns; then prices, expectations, demand responses, the company's
memory and capacities update for the next month. Each mechanism's arithmetic is in its own
module; this function only passes arrays between them. Every array keeps the member axis first;
no Python loop here runs over members, elements or producers (the compiled sums loop in machine
code, in numpy's order).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from reesim.dims import DT_YR, HOLDERS
from reesim.model.build import Inputs
from reesim.model.context import pair
from reesim.model.mechanisms import (
    capacity,
    demand,
    environment,
    in_use,
    magnets,
    market,
    mining,
    regimes,
    separation,
)
from reesim.model.mechanisms.market import (
    COMPANY,
    CONSUMERS_CHINA,
    CONSUMERS_EXPORT,
    PRODUCERS_CHINA,
    PRODUCERS_EXPORT,
    STATE_RESERVE,
)
from reesim.model.state import State
from reesim.model.variables import VARIABLES

_COMPANY = HOLDERS.index(COMPANY)
SMALL_BATCH = 16
"""Members below which a compiled sum costs more to call than it saves. Measured 2026-12-03:
compiled for every batch, the sums slowed a warm single run from 0.84 to 0.91 s; from 16
members on they pay (300 members 9.15 -> 8.77 s CPU)."""


class Month(NamedTuple):
    """A month of markets summed over its sub-steps (t REO for the month)."""

    china: market.Clearing
    abroad: market.Clearing
    last: market.Trade                  # the last sub-step (its prices and trade intention)
    imports: np.ndarray                 # (M, E)
    used: np.ndarray                    # (M, K, A, E) consumption
    expected: np.ndarray                # (M, K, E) expected prices after the month
    anchor: np.ndarray                  # (M, K, E) going prices after the month
    backlog: np.ndarray                 # (M, 2, E) reserves' unfilled orders carried over


def _sum(parts: list[market.Clearing]) -> market.Clearing:
    if len(parts) == 1:
        return parts[0]
    return market.Clearing(
        sold=sum(c.sold for c in parts),
        sold_by={k: sum(c.sold_by[k] for c in parts) for k in parts[0].sold_by},
        got_by={k: sum(c.got_by[k] for c in parts) for k in parts[0].got_by})


def _market_month(inputs: Inputs, regime: regimes.Regime, t: int, state: State,
                  stocks: market.Stocks, planned: np.ndarray, need_rate: np.ndarray,
                  deliveries: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Month:
    """Deliveries, wants, trade, clearing and consumption in ``substeps`` equal parts of month t.

    ``deliveries`` are the month's separated output rates (t/yr) to Chinese sellers, to the
    trading company and to foreign sellers; ``stocks`` is updated in place. The loop runs over
    sub-steps of time (one by default), never over members, elements or producers.
    """
    ma, de, re = inputs.market, inputs.demand, inputs.regimes
    n = ma.substeps
    dt = DT_YR / n
    price, expected, anchor = state.price, state.price_expected, state.price_anchor
    flow, backlog = state.trade_flow, state.reserve_backlog
    china, abroad, imports, used = [], [], 0.0, 0.0
    demand_k, need = _sum_axis(need_rate, 2), need_rate * dt                   # (M, K, E), t
    for _ in range(n):
        stocks.producers_china += deliveries[0] * dt
        stocks.trading_company += deliveries[1] * dt
        stocks.producers_export += deliveries[2] * dt
        momentum = market.panic(ma, price, expected)                          # (M, K, E)
        want = market.consumer_purchases(ma, demand_k,
                                         stocks.pick(CONSUMERS_CHINA, CONSUMERS_EXPORT),
                                         momentum)                            # (M, K, E) t/yr
        orders = market.reserve_orders(ma, t, stocks, backlog, dt)
        offer_tc = regime.company_offer(re, stocks.trading_company, price[:, 0], state.company,
                                        planned, orders.release[COMPANY])
        traded = market.trade(ma, t, stocks, price, anchor, momentum, want, offer_tc, orders,
                              flow, (deliveries[0] + deliveries[1], deliveries[2]), dt)
        bought = pair(*(traded.china.got_by[h] for h in market.RESERVE_HOLDERS))
        backlog = np.maximum(orders.owed - bought, 0.0)
        part = demand.consume(de, need, stocks.pick(CONSUMERS_CHINA, CONSUMERS_EXPORT))
        stocks.consumers_china -= _sum_axis(part[:, 0], 1)
        stocks.consumers_export -= _sum_axis(part[:, 1], 1)
        china.append(traded.china)
        abroad.append(traded.abroad)
        imports, used = imports + traded.imports, used + part
        price, flow = traded.price, traded.flow
        expected, anchor = market.update_expectations(ma, price, expected, anchor, dt)
    return Month(china=_sum(china), abroad=_sum(abroad), last=traded,
                 imports=np.asarray(imports), used=np.asarray(used), expected=expected,
                 anchor=anchor, backlog=backlog)


def step(state: State, inputs: Inputs, t: int) -> tuple[State, dict[str, np.ndarray]]:
    """Advance ``state`` by month ``t``; return the new state and the month's recorded values."""
    mi, ca, se, ma = inputs.mining, inputs.capacity, inputs.separation, inputs.market
    de, iu, re = inputs.demand, inputs.in_use, inputs.regimes
    dt = DT_YR
    regime = regimes.regime_at(re, t)
    price = state.price

    # producers decide; the regime may cap its members; mines extract within reserves
    routes = se.routes
    k = routes.pattern[t]
    netback = mining.netback_usd_per_kg(mi, routes, t, price) + market.price_support_usd_per_kg(
        ma, t, price, routes.market[k], mi.distribution, routes.recovery[k])
    capacity_now = capacity.available_capacity(ca, t, state.capacity)
    sep_limit = separation.separation_limit(se, t, capacity_now)
    target = mining.utilization_target(mi, netback) * separation.backlog_factor(
        se, t, state.concentrate, sep_limit)
    utilization = mining.adjust_utilization(mi, state.utilization, target)
    planned = regime.planned_stockpile(re, state.company)
    output = mining.desired_output(mi, t, utilization, capacity_now)
    output = regime.cap_output(re, output, re.members[t], state.company,
                               state.inventory[:, _COMPANY], planned, price[:, 0],
                               re.quota_target_t_per_yr[t])
    mined = mining.extract(mi, t, output, state.reserves, netback)
    ore_total = mined.ore_by_producer                                        # (M, P) t/yr
    reserves = state.reserves + (mined.reserve_additions - ore_total) * dt

    # concentrate to separated oxides, delivered to sellers over the month
    sep = separation.separate(se, t, state.concentrate, mined.mine_output, sep_limit)
    stocks = market.Stocks(state.inventory.copy())
    china_out, export_out = separation.deliveries(se, t, sep.separation_output)
    to_company = regime.to_company(re, sep.separation_output)

    # wants: consumers, company, reserves, exporters; the markets clear (in sub-steps)
    real = demand.real_price(de, t, price)                  # (M, K, E) reference-year USD/kg
    index = demand.cost_index(de, real, state.thrift)                        # (M, K, A)
    demand_rate = demand.demand(de, t, index, state.demand_long, state.thrift)  # (M, K, A, E)
    routing = magnets.route(inputs.magnets, t, demand_rate)  # magnet makers buy where they are
    need_rate = routing.need_rate
    month = _market_month(inputs, regime, t, state, stocks, planned, need_rate,
                          (china_out - to_company, to_company, export_out))
    china, abroad, traded, used = month.china, month.abroad, month.last, month.used

    # manufacturing from consumers' purchases; products into use; end of life back to sellers
    need, n_e = need_rate * dt, need_rate.shape[-1]
    used_china, used_export = _sum_axis(used[:, 0], 1), _sum_axis(used[:, 1], 1)
    made = in_use.manufacture(iu, used)
    shipped = magnets.ship(inputs.magnets, routing, used)
    use = in_use.age(iu, state.in_use, made.products_into_use)
    eol = in_use.recycle(iu, t, use.end_of_life, de.market_split[t])
    returns = made.scrap_by_market + eol.recycled_by_market                   # (M, K, E) t
    stocks.producers_china += made.scrap_by_market[:, 0] + eol.recycled_by_market[:, 0]
    stocks.producers_export += made.scrap_by_market[:, 1] + eol.recycled_by_market[:, 1]

    # expectations, demand responses, company memory, capacities
    new_price, expected = traded.price, month.expected
    demand_long, thrift = demand.update_responses(de, real, index, state.demand_long,
                                                  state.thrift)
    company_sales = china.sold_by[COMPANY] / dt
    company = regimes.update_company(re, regime, state.company, price[:, 0], company_sales)
    inventory = stocks.array
    cap = capacity.update(ca, t, state.capacity, netback, mi.cash_cost_usd_per_kg,
                          mi.reference_netback_usd_per_kg,
                          supply=sep.output_by_element + returns.sum(axis=1) / dt,
                          demand=_sum_axis(demand_rate.reshape(len(demand_rate), -1, n_e), 1),
                          stock=_sum_axis(inventory, 1))
    new_state = State(
        price=new_price, price_expected=expected, company=company, inventory=inventory,
        concentrate=sep.concentrate_pools, utilization=utilization, capacity=cap,
        demand_long=demand_long, thrift=thrift, in_use=use.in_use,
        tailings=state.tailings + mined.tailings_by_element * dt, reserves=reserves,
        trade_flow=traded.flow, reserve_backlog=month.backlog, price_anchor=month.anchor,
    )

    # recorded values (the variable table decides what is kept)
    unmet = _sum_axis(need - used, 1) / dt
    unmet[:, magnets.MAGNETS] += routing.cut          # magnet users abroad left by controls
    env = environment.loads(inputs.environment, mined.total_output, ore_total,
                            sep.feed_by_region)
    origin = sep.separation_output[:, se.china_region]                       # (M, Rc, E)
    origin_total = origin.sum(axis=1, keepdims=True)
    weights = np.where(origin_total > 0, origin / np.maximum(origin_total, 1e-300),
                       1.0 / origin.shape[1])
    got, sold = china.got_by, china.sold_by
    stockpile = np.zeros_like(inventory)
    stockpile[:, HOLDERS.index(STATE_RESERVE)] = got[STATE_RESERVE] / dt
    stockpile[:, _COMPANY] = got[COMPANY] / dt
    receipts = market.Stocks(np.zeros_like(inventory))                      # t this month
    receipts.producers_china[...] = (china_out - to_company) * dt + month.imports + returns[:, 0]
    receipts.producers_export[...] = export_out * dt + got["exporters"] + returns[:, 1]
    receipts.trading_company[...] = to_company * dt
    receipts.consumers_china[...] = got[CONSUMERS_CHINA]
    receipts.consumers_export[...] = abroad.got_by[CONSUMERS_EXPORT]
    sales = market.Stocks(np.zeros_like(inventory))
    sales.producers_china[...] = sold[PRODUCERS_CHINA]
    sales.producers_export[...] = month.imports + abroad.sold_by[PRODUCERS_EXPORT]
    sales.trading_company[...] = sold[COMPANY]
    sales.state_reserve[...] = sold[STATE_RESERVE]
    sales.consumers_china[...] = used_china
    sales.consumers_export[...] = used_export
    values = {
        "price": np.swapaxes(new_price, 1, 2),         # the month's clearing prices
        **mined._asdict(), "capacity_available": capacity_now, "utilization": utilization,
        "netback": netback, "reserves": reserves, **sep._asdict(),
        "inventory": inventory, "market_sales": pair(china.sold, abroad.sold) / dt,
        "market_purchases": pair(sum(got.values()), abroad.got_by[CONSUMERS_EXPORT]) / dt,
        "holder_receipts": receipts.array / dt, "holder_sales": sales.array / dt,
        "exports": weights * (got["exporters"] / dt)[:, None, :],
        "imports": month.imports / dt,
        "trading_company_sales": company_sales, "trading_company_plan": planned,
        "stockpile_purchases": stockpile,
        "demand": _sum_axis(demand_rate, 1),
        "unmet_demand": unmet,
        **shipped._asdict(),
        "market_consumption": _sum_axis(used, 2) / dt, **made._asdict(),
        "in_use_stock": use.in_use_stock, "end_of_life": use.end_of_life,
        "recycled": eol.recycled, "eol_losses": eol.eol_losses,
        "tailings_stock": new_state.tailings, **env._asdict(),
    }
    return new_state, {name: values[name] for name in VARIABLES}


def _sum_axis(a: np.ndarray, axis: int) -> np.ndarray:
    """``a.sum(axis=axis)`` for an axis before the last (elements), the same numbers, compiled.

    numpy sums over an axis that is not the last in index order from 0.0, with a loop per
    element row that at large batches cost more than the additions; :func:`_sum_middle` does
    the same sums without it. Small batches keep numpy's sum, which is cheaper to call.
    """
    if len(a) < SMALL_BATCH:
        return a.sum(axis=axis)
    shape = a.shape
    summed = _sum_middle(a.reshape(math.prod(shape[:axis]), shape[axis], -1))
    return summed.reshape(shape[:axis] + shape[axis + 1:])


@numba.njit(cache=True)
def _sum_middle(a: np.ndarray) -> np.ndarray:
    """(L, N, I) summed over its middle axis in index order from 0.0, (L, I), as numpy does."""
    lead, n, inner = a.shape
    out = np.zeros((lead, inner))
    for i in range(lead):
        for j in range(n):
            for k in range(inner):
                out[i, k] += a[i, j, k]
    return out
