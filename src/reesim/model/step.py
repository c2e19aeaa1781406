"""One month of the whole chain: ``step(state, inputs, t) -> (state, recorded values)``.

The order within a month: producers decide output from last month's prices (the regime may cap
its members); concentrate is separated; separated oxides reach sellers (under the trading
company its members' output reaches the company); buyers state their wants (consumers,
exporters, reserves); the markets clear; manufacturers consume what they can; products enter use
and end-of-life material returns; then prices, expectations, demand responses, the company's
memory and capacities update for the next month. Each mechanism's arithmetic is in its own
module; this function only passes arrays between them, and four compiled passes call those
mechanisms' compiled functions in this order: producers' month (:func:`_production`), demand,
separation and deliveries (:func:`_supply`), the market month's sub-steps (:func:`_substeps`,
over :func:`_substep_wants` and :func:`_substep_trade`) and end use (:func:`_end_use`), so
that a month costs some fifteen calls from Python instead of sixty numpy operations and forty
calls (each array a compiled function returns to Python costs about 0.6 us to box).
Every array keeps the member axis first; no Python loop here runs over members, elements or
producers (the compiled passes and sums loop in machine code, in numpy's order).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from reesim.dims import DT_YR, HOLDERS
from reesim.model.build import Inputs
from reesim.model.compiled import np_maximum
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
    demand_outlook,
    going_prices,
    holds,
    price_floors,
)
from reesim.model.state import State
from reesim.model.variables import VARIABLES

_COMPANY = HOLDERS.index(COMPANY)
_MAGNETS = magnets.MAGNETS
SMALL_BATCH = 16
"""Members below which a compiled sum costs more to call than it saves. Measured 2026-12-03:
compiled for every batch, the sums slowed a warm single run from 0.84 to 0.91 s; from 16
members on they pay (300 members 9.15 -> 8.77 s CPU)."""


class Month(NamedTuple):
    """A month of markets summed over its sub-steps (t REO for the month)."""

    china: market.Clearing
    abroad: market.Clearing
    price: np.ndarray                   # (M, K, E) USD/kg the last sub-step's clearing prices
    flow: np.ndarray                    # (M, E) t/yr traders' net export intention after it
    drain: np.ndarray                   # (M, E) t/yr the world's drain sellers perceive
    imports: np.ndarray                 # (M, E)
    used: np.ndarray                    # (M, K, A, E) consumption
    expected: np.ndarray                # (M, K, E) expected prices after the month
    recent: np.ndarray                  # (M, K, E) perceived prices after the month
    anchor: np.ndarray                  # (M, K, E) going prices after the month
    backlog: np.ndarray                 # (M, 2, E) reserves' unfilled orders carried over
    rent: np.ndarray                    # (M, E) USD/kg the export quota's rent, sub-step mean


_MONTH_FLOWS = ("sold_china", "sold_pc", "sold_tc", "sold_sr", "got_sr", "got_tc", "got_cc",
                "got_exporters", "got_smugglers", "sold_abroad", "sold_pe", "got_ce", "imports")
"""The market flows a month sums over its sub-steps (t), in the rows of :func:`_substep_trade`'s
``sums``."""
_FLOW = {name: row for row, name in enumerate(_MONTH_FLOWS)}


def _clearings(sums: np.ndarray) -> tuple[market.Clearing, market.Clearing]:
    """The month's China and export :class:`market.Clearing` from its summed flows (views)."""
    f = {name: sums[row] for name, row in _FLOW.items()}
    china = market.Clearing(
        f["sold_china"], {PRODUCERS_CHINA: f["sold_pc"], COMPANY: f["sold_tc"],
                          STATE_RESERVE: f["sold_sr"]},
        {STATE_RESERVE: f["got_sr"], COMPANY: f["got_tc"], CONSUMERS_CHINA: f["got_cc"],
         "exporters": f["got_exporters"], market.SMUGGLERS: f["got_smugglers"]})
    abroad = market.Clearing(f["sold_abroad"], {PRODUCERS_EXPORT: f["sold_pe"]},
                             {CONSUMERS_EXPORT: f["got_ce"], "importers": f["imports"]})
    return china, abroad


def _market_month(inputs: Inputs, regime: regimes.Regime, t: int, state: State,
                  company: regimes.CompanyState, stocks: market.Stocks, planned: np.ndarray,
                  need_rate: np.ndarray,
                  deliveries: tuple[np.ndarray, np.ndarray, np.ndarray],
                  glut_scale: np.ndarray) -> Month:
    """Deliveries, wants, trade, clearing and consumption in ``substeps`` equal parts of month t.

    ``deliveries`` are the month's separated output rates (t/yr) to Chinese sellers, to the
    trading company and to foreign sellers; ``glut_scale`` (M, E) what remains of the price
    rule's flat glut side (:func:`demand_outlook.glut_scales`); ``stocks`` is updated in place.
    The sub-steps run in one compiled pass (:func:`_substeps`; each is :func:`_substep_wants`:
    deliveries, panic, consumers' and reserves' orders; the regime's offer; and
    :func:`_substep_trade`: trade and clearing, consumption, expectations and going prices),
    so the month costs one call, not the sixty numpy operations the same mechanisms took as
    numpy glue (a third of a default run's time). Its loop runs over sub-steps of time (two
    by default), never over members, elements or producers.
    """
    ma, de, re = inputs.market, inputs.demand, inputs.regimes
    rules = ma.rules
    n = ma.substeps
    dt = DT_YR / n
    price, expected, anchor = state.price, state.price_expected, state.price_anchor
    recent = state.price_recent
    flow, backlog, drain = state.trade_flow, state.reserve_backlog, state.drain_seen
    # consumers' use (M, K, E) t/yr, the month's needs (M, K, A, E) t, China's own supply t/yr
    demand_k, need, supply_china = _month_needs(need_rate, dt, deliveries[0], deliveries[1])
    quota = float(ma.export_quota_t_per_yr[t])
    first, second = de.essential_elements
    # the month's flows and consumption, summed over its sub-steps from 0.0 in their order
    sums, used = np.zeros((len(_MONTH_FLOWS), *flow.shape)), np.zeros(need.shape)
    rent = np.zeros(flow.shape)
    flow, drain, price, expected, anchor, recent, backlog = _substeps(
        n, rules, quota, ma.export_quota_pool_t_per_yr[t], ma.export_quota_pool_of,
        ma.export_tax[t], ma.export_licensed[t], ma.trade_cost_usd_per_kg,
        ma.log_floor_price, ma.premium_on, ma.quota_rent, stocks.array, *deliveries,
        supply_china, demand_k, need, first, second, ma.stockpile_t_per_yr[t],
        ma.stockpile_months_left[t], glut_scale, dt, regime.name == "trading_company",
        company.reserve, company.reference, re.member_mix, planned, re.defend_factor,
        re.sales_response, price, expected, anchor, recent, flow, backlog, drain, sums, used,
        rent, ma.carry_on)
    china, abroad = _clearings(sums)
    return Month(china=china, abroad=abroad, price=price, flow=flow, drain=drain,
                 imports=sums[_FLOW["imports"]], used=used, expected=expected, recent=recent,
                 anchor=anchor, backlog=backlog, rent=rent / n)


@numba.njit(cache=True, error_model="numpy")
def _substeps(n: int, rules: market.MemberRules, quota: float, pool_quota: np.ndarray,
              pool_of: np.ndarray, duty: np.ndarray, licensed: np.ndarray, trade_cost: float,
              log_floor: np.ndarray, premium_on: bool,
              rent_rule: bool, stocks: np.ndarray, to_china: np.ndarray, to_company: np.ndarray,
              to_export: np.ndarray, supply_china: np.ndarray, demand_k: np.ndarray,
              need: np.ndarray, first: np.ndarray, second: np.ndarray, orders: np.ndarray,
              months_left: np.ndarray, glut_scale: np.ndarray, dt: float, company_on: bool,
              reserve: np.ndarray, reference: np.ndarray, mix: np.ndarray, planned: np.ndarray,
              defend_factor: float, sales_response: float, price: np.ndarray,
              expected: np.ndarray, anchor: np.ndarray, recent: np.ndarray, flow: np.ndarray,
              backlog: np.ndarray, drain: np.ndarray, sums: np.ndarray, used: np.ndarray,
              rent_sum: np.ndarray, carry_on: bool):
    """The market month's ``n`` sub-steps in one compiled pass (numba, cached on disk).

    ``stocks``, ``sums``, ``used`` and ``rent_sum`` are updated in place. Each sub-step:
    deliveries and orders (:func:`_substep_wants`), the company's offer
    (:func:`regimes.offer_at`, of its stock beyond its ``reserve`` under the trading company
    with ``company_on``), trade, clearing and consumption (:func:`_substep_trade`), and with
    ``carry_on`` sellers' going prices marked down for the stock they carry beyond their
    target cover (:func:`going_prices.carry_anchors`, ``carrying_cost_per_yr``); what the
    company bought on an order is held in its reserve from the month's next sub-step on
    (``held``; :func:`regimes.update_company` adds the whole month's
    purchases at its end; offered for sale until 2026-12-07, a 5,000 t Nd order of 2012 added
    4.6 kt to the company's stock at one sub-step, 2.5 at two, 1.3 at four). Returns the new
    flow, drain, prices, expected, going and perceived prices and the backlog. One pass, not
    four calls and two Python offers a sub-step: the member rules' 29 arrays are passed once a
    month and the sub-steps' intermediate arrays are never boxed (a warm default run 0.33 ->
    0.30 s).
    """
    held = reserve
    for substep in range(n):
        momentum, want, buy, release, owed = _substep_wants(
            stocks, to_china, to_company, to_export, dt, recent, expected, demand_k, backlog,
            orders, months_left, rules, substep)
        offer_tc = regimes.offer_at(company_on, stocks[:, _TC], held, price[:, 0], reference,
                                    mix, planned, defend_factor, sales_response,
                                    release[:, _ORDER_COMPANY])
        flow, drain, price, got_tc, expected, anchor, recent, backlog = _substep_trade(
            rules, quota, pool_quota, pool_of, duty, licensed, trade_cost, log_floor, premium_on,
            rent_rule, stocks,
            price, recent, anchor, expected, momentum, want, offer_tc, buy, release, owed, flow,
            supply_china, to_export, demand_k, drain, glut_scale, dt, need, first, second,
            sums, used, rent_sum)
        if substep < n - 1:
            held = held + got_tc
        if carry_on:
            going_prices.carry_anchors(anchor, _market_sellers_stock(stocks, held), want,
                                       rules.seller_coverage_months,
                                       rules.carrying_cost_per_yr, dt)
    return flow, drain, price, expected, anchor, recent, backlog


@numba.njit(cache=True, error_model="numpy")
def _market_sellers_stock(stocks: np.ndarray, reserve: np.ndarray) -> np.ndarray:
    """Stock each market's sellers carry, (M, K, E) t, for their carrying cost.

    China's: its producers' and the trading company's stock beyond its reserve (``reserve``
    (M, E) t, not for sale); the export market's: foreign producers'.
    """
    members, _, elements = stocks.shape
    spare = regimes.spare_stock(stocks[:, _TC], reserve)
    out = np.empty((members, 2, elements))
    for m in range(members):
        for e in range(elements):
            out[m, 0, e] = stocks[m, _PC, e] + spare[m, e]
            out[m, 1, e] = stocks[m, _PE, e]
    return out


@numba.njit(cache=True, error_model="numpy")
def _month_needs(need_rate: np.ndarray, dt: float, to_china: np.ndarray,
                 to_company: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Consumers' use by market, a sub-step's needs and China's own separated supply (numba).

    ``need_rate`` (M, K, A, E) t/yr summed over applications in index order from 0.0 (numpy's
    sum over a middle axis), ``need_rate * dt`` t and ``to_china + to_company`` t/yr.
    """
    members, markets, applications, elements = need_rate.shape
    use = np.zeros((members, markets, elements))
    need = np.empty(need_rate.shape)
    for m in range(members):
        for k in range(markets):
            for a in range(applications):
                for e in range(elements):
                    use[m, k, e] += need_rate[m, k, a, e]
                    need[m, k, a, e] = need_rate[m, k, a, e] * dt
    supply = np.empty(to_china.shape)
    for m in range(members):
        for e in range(elements):
            supply[m, e] = to_china[m, e] + to_company[m, e]
    return use, need, supply


@numba.njit(cache=True, error_model="numpy")
def _sellers_stock(inventory: np.ndarray, reserve: np.ndarray) -> np.ndarray:
    """Sellers' stocks (M, E) t, what separators weigh against the world's demand (numba).

    Producers' in both markets plus the trading company's stock beyond its ``reserve``
    (:func:`regimes.spare_stock`; the reserve is not for sale), added in that order.
    """
    spare = regimes.spare_stock(inventory[:, _TC], reserve)
    members, _, elements = inventory.shape
    held = np.empty((members, elements))
    for m in range(members):
        for e in range(elements):
            held[m, e] = inventory[m, _PC, e] + inventory[m, _PE, e] + spare[m, e]
    return held


_ORDER_COMPANY = market.RESERVE_HOLDERS.index(COMPANY)
"""The trading company's position on the reserve orders' axis."""


@numba.njit(cache=True, error_model="numpy")
def _substep_wants(stocks: np.ndarray, to_china: np.ndarray, to_company: np.ndarray,
                   to_export: np.ndarray, dt: float, recent: np.ndarray, expected: np.ndarray,
                   demand_k: np.ndarray, backlog: np.ndarray, orders: np.ndarray,
                   months_left: np.ndarray, rules: market.MemberRules, substep: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A market sub-step's deliveries and orders (compiled): the first half of its month.

    Adds the sub-step's share of the separated output (t/yr) to Chinese sellers, the company
    and foreign sellers in ``stocks`` (M, H, E) t, in place; returns the panic momentum
    (:func:`holds.panic` on the perceived prices), consumers' purchases
    (:func:`holds.consumer_purchases` of their use ``demand_k`` (M, K, E) t/yr) and the reserves'
    buys, releases and what they owe (:func:`market.reserve_orders`, ``orders`` and
    ``months_left`` (2, E) of the month, ``substep`` the sub-step's place in it), each with the
    mechanism's own compiled arithmetic.
    """
    members, _, elements = stocks.shape
    for m in range(members):
        for e in range(elements):
            stocks[m, _PC, e] += to_china[m, e] * dt
            stocks[m, _TC, e] += to_company[m, e] * dt
            stocks[m, _PE, e] += to_export[m, e] * dt
    momentum = holds._panic(recent, expected, rules.log_panic_threshold)
    want = holds._consumer_purchases(demand_k, stocks[:, _CC:_CE + 1], momentum, rules, dt)
    buy, release, owed = market._reserve_orders(orders, months_left, backlog, stocks,
                                                market.RESERVE_INDEX, dt, substep)
    return momentum, want, buy, release, owed


@numba.njit(cache=True, error_model="numpy")
def _substep_trade(rules: market.MemberRules, quota: float, pool_quota: np.ndarray,
                   pool_of: np.ndarray, duty: np.ndarray, licensed: np.ndarray, trade_cost: float,
                   log_floor: np.ndarray,
                   premium_on: bool, rent_rule: bool, stocks: np.ndarray, price: np.ndarray,
                   recent: np.ndarray, anchor: np.ndarray, expected: np.ndarray,
                   momentum: np.ndarray,
                   want: np.ndarray, offer_tc: np.ndarray, buy: np.ndarray, release: np.ndarray,
                   owed: np.ndarray, flow: np.ndarray, supply_china: np.ndarray,
                   supply_export: np.ndarray, use: np.ndarray, drain_seen: np.ndarray,
                   glut_scale: np.ndarray, dt: float, need: np.ndarray, first: np.ndarray,
                   second: np.ndarray, sums: np.ndarray, used: np.ndarray,
                   rent_sum: np.ndarray):
    """A market sub-step's trade, clearing and consumption (compiled): the second half.

    Trade and both markets' clearing (:func:`market.trade`'s arithmetic, ``stocks`` updated in
    place), the reserves' unfilled orders ``max(owed - bought, 0)``, consumption from
    consumers' stocks (:func:`demand.consume` of ``need`` (M, K, A, E) t, subtracted from their
    stocks summed over applications in index order from 0.0, as numpy sums), then expectations
    (:func:`going_prices.update_expectations`) and going prices drawn toward the other market's
    landed cost (:func:`going_prices.compete_anchors`). Adds both clearings' flows (t) to the
    month's ``sums`` (rows :data:`_MONTH_FLOWS`) and consumption to ``used`` (M, K, A, E) t, in
    place, and returns the new flow, drain and prices, what the company bought (t), the
    expected, going and perceived prices and the backlog (returning the flows instead cost the
    month a Python sum over its sub-steps and thirteen more arrays boxed per call). Under the
    ``rent_rule`` the export quota carries a rent (:mod:`.market.arbitrage`), which the going
    prices' competition adds to the landed cost and which is added to ``rent_sum`` (M, E)
    USD/kg; ``pool_quota`` (2,) and ``pool_of`` (E,) are the quota's pools (:func:`market._trade`).
    """
    members, elements = flow.shape
    new_flow, imports, exports_wanted = (np.empty((members, elements)),
                                         np.empty((members, elements)),
                                         np.empty((members, elements)))
    drain, free = np.empty((members, elements)), np.empty((members, elements))
    new_price, rent = np.empty(price.shape), np.empty((members, elements))
    sold_china, sold_pc, sold_tc, sold_sr = (np.empty((members, elements)),
                                             np.empty((members, elements)),
                                             np.empty((members, elements)),
                                             np.empty((members, elements)))
    got_sr, got_tc, got_cc = (np.empty((members, elements)), np.empty((members, elements)),
                              np.empty((members, elements)))
    got_exporters, got_smugglers = np.empty((members, elements)), np.empty((members, elements))
    sold_abroad, sold_pe, got_ce = (np.empty((members, elements)),
                                    np.empty((members, elements)),
                                    np.empty((members, elements)))
    market._trade(rules, quota, pool_quota, pool_of, duty, licensed, trade_cost, log_floor,
                  premium_on, rent_rule,
                  stocks, price, recent, anchor, momentum, want, offer_tc, release[:, 0],
                  buy[:, 0], buy[:, 1], flow, supply_china, supply_export, use, drain_seen,
                  glut_scale, dt, new_flow, imports, exports_wanted, drain, free, rent,
                  new_price, sold_china, sold_pc, sold_tc, sold_sr, got_sr, got_tc, got_cc,
                  got_exporters, got_smugglers, sold_abroad, sold_pe, got_ce)
    backlog = np.empty(owed.shape)
    for m in range(members):
        for e in range(elements):
            backlog[m, 0, e] = np_maximum(owed[m, 0, e] - got_sr[m, e], 0.0)
            backlog[m, 1, e] = np_maximum(owed[m, 1, e] - got_tc[m, e], 0.0)
    part = demand._consume(need, stocks[:, _CC:_CE + 1], first, second)
    applications = need.shape[2]
    for m in range(members):
        for k in range(2):
            for e in range(elements):
                total = 0.0
                for a in range(applications):
                    total += part[m, k, a, e]
                stocks[m, _CC + k, e] -= total
    new_expected, new_anchor, new_recent = going_prices._update_expectations(
        new_price, expected, anchor, recent, rules.expectation_time_yr, rules.anchor_time_yr,
        rules.perception_time_yr, dt)
    going_prices._compete_anchors(new_price, new_anchor, free, stocks[:, _PE], want[:, 0],
                                  rules.seller_coverage_months, duty, trade_cost,
                                  rules.log_export_ceiling, rules.arbitrage_time_yr, dt, rent)
    for row, flows in enumerate((sold_china, sold_pc, sold_tc, sold_sr, got_sr, got_tc, got_cc,
                                 got_exporters, got_smugglers, sold_abroad, sold_pe, got_ce,
                                 imports)):                   # the order of _MONTH_FLOWS
        for m in range(members):
            for e in range(elements):
                sums[row, m, e] += flows[m, e]
    for m in range(members):
        for k in range(2):
            for a in range(applications):
                for e in range(elements):
                    used[m, k, a, e] += part[m, k, a, e]
        for e in range(elements):
            rent_sum[m, e] += rent[m, e]
    return (new_flow, drain, new_price, got_tc, new_expected, new_anchor, new_recent, backlog)


def step(state: State, inputs: Inputs, t: int) -> tuple[State, dict[str, np.ndarray]]:
    """Advance ``state`` by month ``t``; return the new state and the month's recorded values."""
    mi, ca, se, ma = inputs.mining, inputs.capacity, inputs.separation, inputs.market
    de, iu, re = inputs.demand, inputs.in_use, inputs.regimes
    dt = DT_YR
    regime = regimes.regime_at(re, t)
    price = state.price

    # producers decide; the regime may cap its members; mines extract within reserves
    netback, capacity_now, sep_limit, utilization, planned, extracted, reserves = (
        _production_month(inputs, state, regime, t))
    mined = mining.MiningResult(*extracted)
    ore_total = mined.ore_by_producer                                        # (M, P) t/yr

    # demand at last month's prices: consumers', and the world's that separators weigh stocks
    # by; concentrate to separated oxides, delivered to sellers over the month (the company's
    # reserve is not for sale: it does not count as a glut); the company's reserve set aside
    (real, index, demand_rate, world_demand, separated, china_out, export_out, to_company,
     reserve, inventory_now) = _supply_month(inputs, state, regime, t, mined.mine_output,
                                             sep_limit, planned)
    sep = separation.SeparationResult(*separated)
    stocks = market.Stocks(inventory_now)
    company_now = state.company._replace(reserve=reserve)

    # wants: consumers, company, reserves, exporters; the markets clear (in sub-steps)
    routing = magnets.route(inputs.magnets, t, demand_rate)  # magnet makers buy where they are
    need_rate = routing.need_rate
    glut_scale = (demand_outlook.glut_scales(ma, state.demand_seen, state.demand_reference)
                  if ma.outlook_on else ma.whole_glut_side)
    month = _market_month(inputs, regime, t, state, company_now, stocks, planned, need_rate,
                          (china_out - to_company, to_company, export_out), glut_scale)
    china, abroad, used = month.china, month.abroad, month.used

    # manufacturing from consumers' purchases; products into use; end of life back to sellers
    mg = inputs.magnets
    made, shipped, use, eol, returns = _end_use(
        used, iu.manufacturing_yield, iu.new_scrap_recycling, mg.magnet_yield,
        routing.china_users, routing.licensed_exports, routing.users, state.in_use,
        iu.leave_rate, iu.stage_active, iu.last_stage, iu.eol_recycling[t], de.market_split[t],
        stocks.array)
    made, shipped = in_use.Manufacturing(*made), magnets.Shipments(*shipped)
    use, eol = in_use.Use(*use), in_use.EndOfLife(*eol)

    # expectations, demand responses, company memory, capacities
    new_price, expected = month.price, month.expected
    demand_long, thrift = demand.update_responses(de, real, index, state.demand_long,
                                                  state.thrift)
    company_sales = china.sold_by[COMPANY] / dt
    company = regimes.update_company(re, regime, company_now, price[:, 0],
                                     stocks.trading_company, china.got_by[COMPANY])
    inventory = stocks.array
    demand_seen, demand_reference = (demand_outlook.update_outlook(
        ma, state.demand_seen, state.demand_reference, world_demand, dt) if ma.outlook_on
        else (state.demand_seen, state.demand_reference))
    cap = capacity.update(ca, t, state.capacity, netback, mi.cash_cost_usd_per_kg,
                          mi.reference_netback_usd_per_kg,
                          supply=sep.output_by_element + returns.sum(axis=1) / dt,
                          demand=world_demand,
                          stock=_sum_axis(inventory, 1))
    new_state = State(
        price=new_price, price_expected=expected, price_recent=month.recent, company=company,
        inventory=inventory,
        concentrate=sep.concentrate_pools, utilization=utilization, capacity=cap,
        demand_long=demand_long, thrift=thrift, in_use=use.in_use,
        tailings=state.tailings + mined.tailings_by_element * dt, reserves=reserves,
        trade_flow=month.flow, reserve_backlog=month.backlog, price_anchor=month.anchor,
        drain_seen=month.drain, demand_seen=demand_seen, demand_reference=demand_reference,
    )

    # recorded values (the variable table decides what is kept)
    env = environment.loads(inputs.environment, mined.total_output, ore_total,
                            sep.feed_by_region)
    got, sold = china.got_by, china.sold_by
    rec = _market_records(
        need_rate, used, routing.cut, sep.separation_output, np.flatnonzero(se.china_region),
        china_out, to_company, export_out, month.imports, returns, got[STATE_RESERVE],
        got[COMPANY], got[CONSUMERS_CHINA], got["exporters"], got[market.SMUGGLERS],
        sold[PRODUCERS_CHINA],
        sold[COMPANY], sold[STATE_RESERVE], china.sold, abroad.sold,
        abroad.sold_by[PRODUCERS_EXPORT], abroad.got_by[CONSUMERS_EXPORT], demand_rate, dt)
    values = {
        "price": np.swapaxes(new_price, 1, 2),         # the month's clearing prices
        **mined._asdict(), "capacity_available": capacity_now, "utilization": utilization,
        "netback": netback, "reserves": reserves, **sep._asdict(),
        "inventory": inventory, **rec._asdict(),
        "trading_company_sales": company_sales, "trading_company_plan": planned,
        **shipped._asdict(), **made._asdict(),
        "in_use_stock": use.in_use_stock, "end_of_life": use.end_of_life,
        "recycled": eol.recycled, "eol_losses": eol.eol_losses, "export_quota_rent": month.rent,
        "tailings_stock": new_state.tailings, **env._asdict(),
    }
    return new_state, {name: values[name] for name in VARIABLES}


@numba.njit(cache=True, error_model="numpy")
def _end_use(used: np.ndarray, manufacturing_yield: np.ndarray,
             new_scrap_recycling: np.ndarray, magnet_yield: float, china_users: np.ndarray,
             licensed_exports: np.ndarray, users: np.ndarray, in_use_stock: np.ndarray,
             leave_rate: np.ndarray, stage_active: np.ndarray, last_stage: np.ndarray,
             eol_rate: np.ndarray, market_split: np.ndarray, stocks: np.ndarray) -> tuple:
    """The month's consumption to products, magnets, use and end of life (numba, cached).

    One compiled pass over the mechanisms' kernels in the step's order:
    :func:`in_use.manufacture` of what consumers ``used`` (M, K, A, E) t, :func:`magnets.ship`,
    :func:`in_use.age` of the lifetime chains ``in_use_stock`` (M, A, S, E) t and
    :func:`in_use.recycle`; the scrap and recycled oxide return to sellers by market
    (``returns`` (M, K, E) t, added to Chinese and foreign producers' ``stocks`` (M, H, E) t in
    place). Returns the four mechanisms' fields (as their tuples) and the returns; one call
    instead of four Python calls and five numpy operations a month.
    """
    made = in_use._manufacture(used, manufacturing_yield, new_scrap_recycling)
    shipped = magnets._ship(used, magnet_yield, china_users, licensed_exports, users)
    use = in_use._age(in_use_stock, made[1], leave_rate, stage_active, last_stage)
    eol = in_use._recycle(use[0], eol_rate, market_split)
    returns = made[4] + eol[2]                          # scrap and recycling by market (t)
    members, _, elements = returns.shape
    for m in range(members):
        for e in range(elements):
            stocks[m, _PC, e] += returns[m, 0, e]
            stocks[m, _PE, e] += returns[m, 1, e]
    return made, shipped, use, eol, returns


def _supply_month(inputs: Inputs, state: State, regime: regimes.Regime, t: int,
                  mine_output: np.ndarray, limit: np.ndarray, planned: np.ndarray
                  ) -> tuple[np.ndarray, ...]:
    """Month ``t``'s demand, separation, deliveries and the company's reserve (:func:`_supply`).

    Returns real prices (M, K, E), the cost index (M, K, A), demand (M, K, A, E) and the
    world's (M, E) t/yr, the separation (the fields of :class:`separation.SeparationResult`),
    the separated output to China's and the export market and to the company (M, E) t/yr, the
    company's reserve (M, E) t and the holders' stocks (M, H, E) t with the company's month of
    output set aside in its reserve's accounts (a copy of last month's; the market adds the
    deliveries).
    """
    de, se, re = inputs.demand, inputs.separation, inputs.regimes
    company_on = regime.name == "trading_company"
    return _supply(
        state.price, float(de.deflator[t]), de.intensity[t], state.thrift,
        de.reference_price_usd_per_kg, de.elasticity_short, state.demand_long,
        de.demand_t_per_yr[t], de.market_split[t], state.inventory, state.company.reserve,
        se.residue_full_months, se.residue_stop_months, state.concentrate, mine_output,
        se.pool_of[se.pool_pattern[t]], limit, se.recovery, bool(se.covers_imports[t]),
        se.to_china[t], company_on, re.company_region if company_on else 0, re.member_mix,
        planned, DT_YR / re.stock_adjustment_time_yr, DT_YR)


@numba.njit(cache=True, error_model="numpy")
def _supply(price: np.ndarray, deflator: float, intensity: np.ndarray, thrift: np.ndarray,
            reference_price: np.ndarray, elasticity: np.ndarray, demand_long: np.ndarray,
            base_demand: np.ndarray, market_split: np.ndarray, inventory: np.ndarray,
            company_reserve: np.ndarray, residue_full: np.ndarray, residue_stop: np.ndarray,
            concentrate: np.ndarray, mine_output: np.ndarray, pool_of: np.ndarray,
            limit: np.ndarray, recovery: np.ndarray, merge: bool, to_china: np.ndarray,
            company_on: bool, company_region: int, mix: np.ndarray, planned: np.ndarray,
            reserve_rate: float, dt: float) -> tuple:
    """Demand, separation and deliveries in one compiled pass (numba, cached on disk).

    In the order the step states: the month's demand at last month's ``price``
    (:func:`demand.demand_month`); sellers' stocks beyond the company's reserve
    (:func:`_sellers_stock`) and the share of recoverable oxide separators separate
    (:func:`separation.separated_share`); the separation (:func:`separation.separate`) and the
    deliveries to China's and the export market (:func:`separation.deliveries`); under the
    trading company (``company_on``) its region's output goes to the company
    (:meth:`regimes.TradingCompany.to_company`) and its reserve grows toward the plan
    (:meth:`regimes.TradingCompany.set_aside`, ``reserve_rate`` = dt / the stock adjustment
    time), under the free market nothing goes to it and it has no reserve. One call instead
    of seven Python calls a month. Returns what :func:`_supply_month` says.
    """
    real, index, demand_rate, world = demand._demand_month(
        price, deflator, intensity, thrift, reference_price, elasticity, demand_long,
        base_demand, market_split)
    held = _sellers_stock(inventory, company_reserve)
    share = separation._separated_share(held, world, residue_full, residue_stop)
    separated = separation._separate_stocks(concentrate, mine_output, pool_of, limit, recovery,
                                            merge, share)
    output = separated[1]                                   # separation_output (M, R, E)
    china_out, export_out = separation._deliveries(output, to_china)
    stocks = inventory.copy()
    if company_on:
        to_company = output[:, company_region]
        reserve = regimes._set_aside(company_reserve, stocks[:, _TC] + to_company * dt,
                                     price[:, 0], mix, planned, reserve_rate)
    else:
        to_company = np.zeros_like(output[:, 0])
        reserve = np.zeros_like(stocks[:, _TC])
    return (real, index, demand_rate, world, separated, china_out, export_out, to_company,
            reserve, stocks)


def _production_month(inputs: Inputs, state: State, regime: regimes.Regime, t: int
                      ) -> tuple[np.ndarray, ...]:
    """Month ``t``'s production decisions and extraction, from last month's prices.

    :func:`_production` with its arrays picked from ``inputs`` and ``state``: returns the
    netback (M, P) USD/kg, the capacity available (M, P) t/yr, the separation limit (M, 2, R),
    the utilization (M, P), the company's planned stockpile (M,) t, the extraction (the fields
    of :class:`mining.MiningResult`) and the reserves after the month (M, P) t REO.
    """
    mi, ca, se, ma, re = (inputs.mining, inputs.capacity, inputs.separation, inputs.market,
                          inputs.regimes)
    routes, cap = se.routes, state.capacity
    k = routes.pattern[t]
    return _production(
        t, k, state.price, bool(ma.floor_months[t]), ma.price_floor_usd_per_kg[t],
        mi.distribution, routes.market, routes.recovery, routes.cost_usd_per_kg,
        routes.in_china, mi.china_cost_multiplier, cap.online_at, cap.illegal_capacity,
        cap.closed, ca.planned, ca.forced_online, ca.capacity_t_per_yr, ca.nameplate_t_per_yr,
        ca.ramp_up_months, ca.illegal, ca.illegal_supply, ca.disruption, se.planned, se.toll,
        routes.onehot[k], se.capacity_t_per_yr, se.quota_t_per_yr, state.concentrate,
        se.backlog_full_months, se.backlog_stop_months, routes.pattern, routes.region,
        se.exempt, se.stockpiling, mi.cash_cost_usd_per_kg, mi.supply_steepness,
        state.utilization, mi.utilization_rate, mi.byproduct, mi.byproduct_ore_t_per_yr,
        mi.byproduct_recovery, mi.quota_t_per_yr, regime.name == "trading_company",
        state.company.months, re.stockpile_build_months, re.planned_stockpile_t,
        re.members[t], state.inventory[:, _COMPANY], state.company.reference, re.member_mix,
        re.defend_factor, re.sales_response, re.stock_adjustment_time_yr,
        re.separation_recovery, float(re.quota_target_t_per_yr[t]), state.reserves,
        mi.recovery[t], float(mi.byproduct_ore_t_per_yr[t]), mi.reserve_replacement_ratio,
        DT_YR)


@numba.njit(cache=True, error_model="numpy")
def _production(
        t: int, k: int, price: np.ndarray, floor_on: bool, floor: np.ndarray,
        distribution: np.ndarray, route_market: np.ndarray, route_recovery: np.ndarray,
        route_cost: np.ndarray, route_in_china: np.ndarray, cost_multiplier: np.ndarray,
        online_at: np.ndarray, illegal_capacity: np.ndarray, closed: np.ndarray,
        projects: np.ndarray, forced_online: np.ndarray, recorded: np.ndarray,
        nameplate: np.ndarray, ramp_months: np.ndarray, illegal: np.ndarray,
        illegal_supply: bool, disruption: np.ndarray, separator_projects: np.ndarray,
        toll: np.ndarray, onehot: np.ndarray, separation_capacity: np.ndarray,
        separation_quota: np.ndarray, concentrate: np.ndarray, backlog_full: np.ndarray,
        backlog_stop: np.ndarray, pattern: np.ndarray, region: np.ndarray, exempt: np.ndarray,
        stockpiling: np.ndarray, cash_cost: np.ndarray, steepness: np.ndarray,
        utilization: np.ndarray, utilization_rate: np.ndarray, byproduct: np.ndarray,
        byproduct_ore: np.ndarray, byproduct_recovery: np.ndarray, quota: np.ndarray,
        company_on: bool, company_months: np.ndarray, build_months: np.ndarray,
        planned_t: float, members: np.ndarray, company_stock: np.ndarray,
        reference: np.ndarray, mix: np.ndarray, defend_factor: float, sales_response: float,
        adjustment_time: float, separation_recovery: float, output_floor: float,
        reserves: np.ndarray, recovery: np.ndarray, byproduct_ore_now: float,
        replacement: np.ndarray, dt: float) -> tuple:
    """Producers' month in one compiled pass (numba, cached on disk), mechanism by mechanism.

    In the order the step states: netbacks at last month's ``price``
    (:func:`mining.netback_usd_per_kg`) plus any price floor's support
    (:func:`price_floors.price_support_usd_per_kg`, with ``floor_on``); the capacity available
    (:func:`capacity.available_capacity`); the separation limit
    (:func:`separation.separation_limit`); the utilization target
    (:func:`mining.utilization_target`) times the separators' backlog factor
    (:func:`separation.backlog_factor`) and the utilization's move toward it
    (:func:`mining.adjust_utilization`); the company's planned stockpile and its cap on its
    members' output under the trading company (``company_on``; the rule ``defend_price``,
    :meth:`regimes.TradingCompany.planned_stockpile` and ``cap_output``); the output wanted
    (:func:`mining.desired_output`) and the extraction (:func:`mining.extract`); the reserves
    less the ore mined plus what exploration adds. One call, not some fifteen Python calls a
    month (36.5 -> 23.5 us a month at one member, 2026-12-07). Returns what
    :func:`_production_month` says.
    """
    netback = mining._netback(price, distribution, k, route_market, route_recovery, route_cost,
                              route_in_china, cost_multiplier)
    if floor_on:
        support = price_floors._price_support(floor, price, route_market[k], distribution,
                                              route_recovery[k])
    else:
        support = np.zeros(netback.shape)
    netback = netback + support
    capacity_now = capacity._available_capacity(
        t, online_at, illegal_capacity, closed, projects, forced_online, recorded, nameplate,
        ramp_months, illegal, illegal_supply, disruption)
    limit = separation._separation_limit(t, capacity_now, separator_projects, toll, onehot,
                                         separation_capacity, separation_quota)
    target = mining._utilization_target(netback, cash_cost, steepness) * (
        separation._backlog_factor(t, concentrate, limit, backlog_full, backlog_stop, pattern,
                                   region, exempt, stockpiling))
    utilization = mining._adjust_utilization(utilization, target, utilization_rate)
    if company_on:
        planned = regimes._planned_stockpile(company_months, build_months, planned_t)
    else:
        planned = np.zeros(company_months.shape[0])
    output = mining._desired_output(t, utilization, capacity_now, byproduct, byproduct_ore,
                                    byproduct_recovery, quota)
    if company_on:
        total = regimes._members_total(output, members)
        plan = regimes._output_plan(price[:, 0], reference, mix, company_stock, planned, total,
                                    company_months, defend_factor, sales_response,
                                    adjustment_time, separation_recovery)
        output = regimes._cap_members(output, members, total, plan, output_floor)
    extracted = mining._extract(output, reserves, netback, recovery, byproduct,
                                byproduct_ore_now, cash_cost, replacement, distribution)
    reserves = reserves + (extracted[5] - extracted[6]) * dt   # additions less ore mined
    return netback, capacity_now, limit, utilization, planned, extracted, reserves


class MarketRecords(NamedTuple):
    """The month's recorded market and demand values (rates in t REO/yr)."""

    market_sales: np.ndarray            # (M, K, E)
    market_purchases: np.ndarray        # (M, K, E)
    holder_receipts: np.ndarray         # (M, H, E)
    holder_sales: np.ndarray            # (M, H, E)
    exports: np.ndarray                 # (M, Rc, E) by China separation region of origin
    smuggled_exports: np.ndarray        # (M, E) outside the quota and the customs record
    imports: np.ndarray                 # (M, E)
    stockpile_purchases: np.ndarray     # (M, H, E)
    demand: np.ndarray                  # (M, A, E)
    unmet_demand: np.ndarray            # (M, A, E)
    market_consumption: np.ndarray      # (M, K, E)


_N_HOLDERS = len(HOLDERS)
_PC, _PE, _TC, _SR, _CC, _CE = (HOLDERS.index(h) for h in (
    PRODUCERS_CHINA, PRODUCERS_EXPORT, COMPANY, STATE_RESERVE, CONSUMERS_CHINA, CONSUMERS_EXPORT))
if _CE != _CC + 1:
    raise ImportError("the sub-step kernels read consumers' stocks as one slice: keep "
                      "consumers_china and consumers_export adjacent in reesim.dims.HOLDERS")


@numba.njit(cache=True, error_model="numpy")
def _market_records(
        need_rate: np.ndarray, used: np.ndarray, cut: np.ndarray, separation_output: np.ndarray,
        china_regions: np.ndarray, china_out: np.ndarray, to_company: np.ndarray,
        export_out: np.ndarray, imports: np.ndarray, returns: np.ndarray, got_reserve: np.ndarray,
        got_company: np.ndarray, got_consumers: np.ndarray, got_exporters: np.ndarray,
        got_smugglers: np.ndarray, sold_producers: np.ndarray, sold_company: np.ndarray,
        sold_reserve: np.ndarray,
        sold_china: np.ndarray, sold_abroad: np.ndarray, sold_abroad_producers: np.ndarray,
        got_abroad_consumers: np.ndarray, demand_rate: np.ndarray,
        dt: float) -> MarketRecords:
    """The month's :class:`MarketRecords` from its flows (compiled, numba, cached on disk).

    ``need_rate`` and ``demand_rate`` (M, K, A, E) t/yr, ``used`` (M, K, A, E) t; ``china_out``,
    ``to_company``, ``export_out`` (M, E) t/yr separated output; the markets' flows (M, E) t
    and ``returns`` (M, K, E) t (scrap and recycling to sellers). Each holder's receipts:
    Chinese sellers their output (less the company's) + imports + returns, foreign sellers
    theirs + exports and smuggled oxide bought + returns, the company its members' output,
    consumers what they bought; sales: sellers what they sold (foreign sellers' include the
    imports into China), consumers what they used. Exports are attributed to China's
    separation regions by their share of its separated output (evenly when there is none);
    smuggled oxide is recorded apart from exports. Unmet demand is the need ``need_rate * dt``
    less use, plus magnet users abroad left by export controls (``cut``
    (M, E) t/yr). Sums over markets, applications and regions run in index order from 0.0 as
    numpy's sums over those axes, so the numbers are the ones the numpy code recorded,
    whatever the batch. Compiled because as numpy these were sixty small operations a month.
    """
    members, markets, applications, elements = used.shape
    holders, n_china = _N_HOLDERS, len(china_regions)
    sales = np.zeros((members, markets, elements))
    purchases = np.empty((members, markets, elements))
    receipts = np.zeros((members, holders, elements))
    holder_sales = np.empty((members, holders, elements))
    exports = np.empty((members, n_china, elements))
    smuggled = np.empty((members, elements))
    imports_rate = np.empty((members, elements))
    stockpile = np.zeros((members, holders, elements))
    demand = np.zeros((members, applications, elements))
    unmet = np.zeros((members, applications, elements))
    consumption = np.zeros((members, markets, elements))
    for m in range(members):
        for a in range(applications):
            for k in range(markets):
                for e in range(elements):
                    demand[m, a, e] += demand_rate[m, k, a, e]
                    unmet[m, a, e] += need_rate[m, k, a, e] * dt - used[m, k, a, e]
                    consumption[m, k, e] += used[m, k, a, e]
            for e in range(elements):
                unmet[m, a, e] /= dt
        for e in range(elements):
            unmet[m, _MAGNETS, e] += cut[m, e]
            total = 0.0
            for r in china_regions:
                total += separation_output[m, r, e]
            for i in range(n_china):
                weight = (separation_output[m, china_regions[i], e] / np_maximum(total, 1e-300)
                          if total > 0 else 1.0 / n_china)
                exports[m, i, e] = weight * (got_exporters[m, e] / dt)
            stockpile[m, _SR, e] = got_reserve[m, e] / dt
            stockpile[m, _TC, e] = got_company[m, e] / dt
            receipts[m, _PC, e] = ((china_out[m, e] - to_company[m, e]) * dt + imports[m, e]
                                   + returns[m, 0, e])
            smuggled[m, e] = got_smugglers[m, e] / dt
            receipts[m, _PE, e] = (export_out[m, e] * dt + got_exporters[m, e]
                                   + got_smugglers[m, e] + returns[m, 1, e])
            receipts[m, _TC, e] = to_company[m, e] * dt
            receipts[m, _CC, e] = got_consumers[m, e]
            receipts[m, _CE, e] = got_abroad_consumers[m, e]
            holder_sales[m, _PC, e] = sold_producers[m, e] / dt
            holder_sales[m, _PE, e] = sold_abroad_producers[m, e] / dt   # imports included
            holder_sales[m, _TC, e] = sold_company[m, e] / dt
            holder_sales[m, _SR, e] = sold_reserve[m, e] / dt
            holder_sales[m, _CC, e] = consumption[m, 0, e] / dt     # used in China
            holder_sales[m, _CE, e] = consumption[m, 1, e] / dt     # used abroad
            for k in range(markets):
                consumption[m, k, e] /= dt
            for h in range(holders):
                receipts[m, h, e] /= dt
            sales[m, 0, e], sales[m, 1, e] = sold_china[m, e] / dt, sold_abroad[m, e] / dt
            bought = 0.0 + got_reserve[m, e] + got_company[m, e] + got_consumers[m, e]
            purchases[m, 0, e] = (bought + got_exporters[m, e] + got_smugglers[m, e]) / dt
            purchases[m, 1, e] = (got_abroad_consumers[m, e] + imports[m, e]) / dt
            imports_rate[m, e] = imports[m, e] / dt
    return MarketRecords(sales, purchases, receipts, holder_sales, exports, smuggled,
                         imports_rate,
                         stockpile, demand, unmet, consumption)


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
