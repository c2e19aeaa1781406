"""One month of the whole chain: ``step(model, t, state) -> (state, flows)``.

The order within a month: producers decide output from last month's prices; concentrate is
separated; separated oxides reach sellers (the trading company's members' output reaches the
company); buyers state their wants (consumers, exporters, reserves); the China market clears,
exports arrive abroad, the export market clears; manufacturers consume what they can; products
enter use and end-of-life material returns; then prices, expectations, demand responses and
capacities update for the next month. Every array keeps the member axis first; nothing here loops
over members, elements or producers.
"""

from __future__ import annotations

import numpy as np

from reesim.dims import DT_YR
from reesim.model.capacity import CapacityState, available_capacity, update_capacity
from reesim.model.compile import RESERVE_HOLDERS, Model
from reesim.model.demand import age_in_use, consume, demand, update_responses
from reesim.model.environment import loads
from reesim.model.market import (
    CC,
    CX,
    PC,
    PX,
    SR,
    TC,
    allocate_quota,
    clear,
    consumer_purchases,
    desired_trade,
    seller_offer_share,
    update_prices,
)
from reesim.model.mining import mine, netback_usd_per_kg, utilization_target
from reesim.model.regimes import (
    company_offer,
    output_plan,
    planned_stockpile,
    update_company_memory,
)
from reesim.model.separation import backlog_factor, separate, separation_limit
from reesim.model.state import State

_SR_ORDER, _TC_ORDER = RESERVE_HOLDERS.index("state_reserve"), RESERVE_HOLDERS.index(
    "trading_company")


def step(model: Model, t: int, state: State) -> tuple[State, dict[str, np.ndarray]]:
    """Advance ``state`` by month ``t``; return the new state and the month's recorded values."""
    c, s = model.constants, model.schedule
    dt = DT_YR
    tc_on = bool(s.tc_active[t])
    price = state.price
    n_m = price.shape[0]

    # producers decide
    netback = netback_usd_per_kg(price, model, t)
    capacity = available_capacity(model, t, state.closed, state.online_at, state.illegal_capacity)
    sep_limit = separation_limit(model, t, capacity)
    target = utilization_target(netback, model) * backlog_factor(model, t, state.concentrate,
                                                                 sep_limit)
    u_rate = model.rates["utilization"]
    utilization = state.utilization + (target - state.utilization) * u_rate
    planned = planned_stockpile(model, state.tc_months) if tc_on else np.zeros(n_m)
    tc_cap = output_plan(model, state.tc_sales_rate, state.inventory[:, TC], planned,
                         price[:, 0], state.tc_months)
    mining = mine(model, t, utilization, capacity, state.reserves, tc_cap, tc_on)
    reserves = state.reserves - mining.ore.sum(axis=2) * dt

    # concentrate to separated oxides, delivered to sellers
    sep = separate(model, t, state.concentrate, mining.output, sep_limit)
    inv = state.inventory.copy()
    china_out = sep.output[:, c.china_region].sum(axis=1)
    to_company = sep.output[:, c.tc_region] if tc_on else np.zeros_like(china_out)
    inv[:, PC] += (china_out - to_company) * dt
    inv[:, TC] += to_company * dt
    inv[:, PX] += sep.output[:, ~c.china_region].sum(axis=1) * dt

    # wants: consumers, company, reserves, exporters
    need_rate = demand(model, t, price, state.demand_long, state.thrift)     # (M, K, A, E)
    want = consumer_purchases(model, need_rate.sum(axis=2), inv[:, [CC, CX]], price,
                              state.price_expected)                          # (M, K, E) t/yr
    orders = s.stockpile_t_per_yr[t]                                         # (2, E) t/yr
    buy = np.maximum(orders, 0.0)[None] * dt * np.ones((n_m, 1, 1))
    release_sr = np.minimum(np.maximum(-orders[_SR_ORDER], 0.0) * dt, inv[:, SR])
    release_tc = np.minimum(np.maximum(-orders[_TC_ORDER], 0.0) * dt, inv[:, TC])
    if tc_on:
        offer_tc = np.minimum(company_offer(model, inv[:, TC], price[:, 0], state.tc_reference,
                                            planned) + release_tc, inv[:, TC])
    else:
        offer_tc = inv[:, TC].copy()          # outside its regime the company liquidates

    trade_cost = model.scenario.market.trade_cost_usd_per_kg
    # imports into China (no quota): traders buy from export-market sellers first
    imports = np.minimum(desired_trade(model, price[:, 1] + trade_cost, price[:, 0], want[:, 0],
                                       inv[:, PC]) * dt, inv[:, PX])
    inv[:, PX] -= imports
    inv[:, PC] += imports
    # exports: duties, licences, and a quota on total tonnes
    landed = price[:, 0] * (1.0 + s.export_tax[t]) + trade_cost
    exports_wanted = desired_trade(model, landed, price[:, 1], want[:, 1], inv[:, PX]) \
        * s.export_licensed[t][None, :]
    exports_wanted = allocate_quota(exports_wanted, float(s.export_quota_t_per_yr[t]),
                                    price[:, 1] - landed, price[:, 0])

    # China market, then exports arrive abroad, then the export market
    share = seller_offer_share(model, price, state.price_expected)            # (M, K, E)
    offers = np.empty((n_m, 3, inv.shape[2]))
    offers[:, 0], offers[:, 1], offers[:, 2] = inv[:, PC] * share[:, 0], offer_tc, release_sr
    wants = np.empty((n_m, 4, inv.shape[2]))
    wants[:, 0], wants[:, 1] = want[:, 0] * dt, exports_wanted * dt
    wants[:, 2], wants[:, 3] = buy[:, _SR_ORDER], buy[:, _TC_ORDER]
    china = clear(offers, wants)
    sold = offers * china.offer_fill[:, None, :]
    got = wants * china.want_fill[:, None, :]
    inv[:, PC] -= sold[:, 0]
    inv[:, TC] += got[:, 3] - sold[:, 1]
    inv[:, SR] += got[:, 2] - sold[:, 2]
    inv[:, CC] += got[:, 0]
    inv[:, PX] += got[:, 1]
    abroad = clear((inv[:, PX] * share[:, 1])[:, None, :], (want[:, 1] * dt)[:, None, :])
    inv[:, PX] -= abroad.sold
    inv[:, CX] += abroad.sold

    # manufacturing from consumers' stocks; products into use; end of life back to sellers
    need = need_rate * dt
    used = consume(model, need, inv[:, [CC, CX]])                            # (M, K, A, E) t
    inv[:, CC] -= used[:, 0].sum(axis=1)
    inv[:, CX] -= used[:, 1].sum(axis=1)
    used_ae = used.sum(axis=1) / dt                                          # t/yr
    scrap_rate = (1.0 - c.manufacturing_yield)[None, :, None]
    products = used_ae * c.manufacturing_yield[None, :, None]
    scrap_back = used_ae * scrap_rate * c.new_scrap_recycling[None, :, None]
    use = age_in_use(model, state.in_use, products)
    recycled = use.end_of_life * s.eol_recycling[t][None, :, None]
    split = s.market_split[t]                                                # (K, A)
    scrap_share = (1.0 - c.manufacturing_yield) * c.new_scrap_recycling      # (A,)
    scrap_by_market = (used * scrap_share[None, None, :, None]).sum(axis=2)  # (M, K, E) t
    recycled_by_market = np.einsum("ka,mae->mke", split, recycled) * dt      # (M, K, E) t
    inv[:, PC] += scrap_by_market[:, 0] + recycled_by_market[:, 0]
    inv[:, PX] += scrap_by_market[:, 1] + recycled_by_market[:, 1]

    # prices, expectations, demand responses, company memory, capacities
    sellers = inv[:, [PC, PX]] * share                                       # on offer
    interest = want.copy()
    interest[:, 0] += exports_wanted + (buy[:, _SR_ORDER] + buy[:, _TC_ORDER]) / dt
    new_price, expected = update_prices(model, price, state.price_expected, sellers, interest)
    demand_long, thrift = update_responses(model, price, state.demand_long, state.thrift)
    company_sales = sold[:, 1] / dt
    reference, sales_rate = update_company_memory(model, state.tc_reference, state.tc_sales_rate,
                                                  price[:, 0], company_sales, state.tc_months)
    cap = update_capacity(model, t, netback, CapacityState(
        state.expected_netback, state.loss_months, state.closed, state.reopen_at,
        state.online_at, state.illegal_capacity))

    new_state = State(
        price=new_price, price_expected=expected, tc_reference=reference,
        tc_sales_rate=sales_rate, tc_months=state.tc_months + (1.0 if tc_on else 0.0),
        inventory=inv, concentrate=sep.concentrate, utilization=utilization,
        expected_netback=cap.expected_netback, loss_months=cap.loss_months, closed=cap.closed,
        reopen_at=cap.reopen_at, online_at=cap.online_at, illegal_capacity=cap.illegal_capacity,
        demand_long=demand_long, thrift=thrift, in_use=use.in_use,
        tailings=state.tailings + mining.tailings_in.sum(axis=1) * dt, reserves=reserves,
    )
    env = loads(model, mining.total_output, mining.ore.sum(axis=2), sep.feed.sum(axis=2))
    exported = got[:, 1] / dt
    origin = sep.output[:, c.china_region]                                   # (M, Rc, E)
    origin_total = origin.sum(axis=1, keepdims=True)
    weights = np.where(origin_total > 0, origin / np.maximum(origin_total, 1e-300),
                       1.0 / origin.shape[1])
    stockpile = np.zeros_like(inv)
    stockpile[:, SR] = (got[:, 2] - sold[:, 2]) / dt
    stockpile[:, TC] = got[:, 3] / dt
    values = {
        "price": np.swapaxes(price, 1, 2),
        "mine_output": mining.output, "ore_mined": mining.ore,
        "tailings_inflow": mining.tailings_in, "capacity_available": capacity,
        "utilization": utilization, "netback": netback,
        "revenue": mining.total_output * netback * 1e-3,
        "reserves": reserves,
        "concentrate_stock": sep.concentrate, "separation_feed": sep.feed,
        "separation_output": sep.output, "separation_losses": sep.losses,
        "inventory": inv, "market_sales": np.concatenate(
            [china.sold[:, None], abroad.sold[:, None]], axis=1) / dt,
        "exports": weights * exported[:, None, :], "imports": imports / dt,
        "trading_company_sales": company_sales, "trading_company_plan": planned,
        "stockpile_purchases": stockpile,
        "demand": need_rate.sum(axis=1), "consumption": used_ae,
        "unmet_demand": (need - used).sum(axis=1) / dt,
        "market_consumption": used.sum(axis=2) / dt,
        "products_into_use": products, "new_scrap_recycled": scrap_back,
        "new_scrap_lost": used_ae * scrap_rate - scrap_back,
        "in_use_stock": use.in_use.sum(axis=2), "end_of_life": use.end_of_life,
        "recycled": recycled, "eol_losses": use.end_of_life - recycled,
        "tailings_stock": new_state.tailings, "tailings_solids": env.tailings_solids,
        "thorium": env.thorium, "wastewater": env.wastewater,
    }
    return new_state, values
