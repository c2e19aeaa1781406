"""The model state: immutable arrays with a leading member axis, and its initial value.

A step reads one :class:`State` and returns a new one; nothing in a state is modified in place.
Mechanisms with several memories keep them in their own tuple (capacity, the company).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reesim.model.build import Model
from reesim.model.mechanisms import capacity, demand, in_use, market, mining, regimes


class State(NamedTuple):
    """Stocks and memories of the system at the start of a month (units in comments)."""

    price: np.ndarray             # (M, K, E) USD/kg
    price_expected: np.ndarray    # (M, K, E) USD/kg, traders' adaptive expectation
    price_recent: np.ndarray      # (M, K, E) USD/kg, the price buyers and sellers perceive now
    company: regimes.CompanyState
    inventory: np.ndarray         # (M, H, E) t REO
    concentrate: np.ndarray       # (M, 2, R, E) t REO, quota-bound and exempt pools
    utilization: np.ndarray       # (M, P) fraction
    capacity: capacity.CapacityState
    demand_long: np.ndarray       # (M, K, A) long-run demand response multiplier
    thrift: np.ndarray            # (M, A, E) element intensity multiplier (thrifting)
    in_use: np.ndarray            # (M, A, S, E) t REO by lifetime stage
    tailings: np.ndarray          # (M, E) t REO sent to tailings since the run start
    reserves: np.ndarray          # (M, P) t REO in situ
    price_anchor: np.ndarray      # (M, K, E) USD/kg, the going price sellers' reservation uses
    trade_flow: np.ndarray        # (M, E) t REO/yr traders' net export intention (- imports)
    reserve_backlog: np.ndarray   # (M, 2, E) t REO ordered by reserves and not yet bought
    drain_seen: np.ndarray        # (M, E) t REO/yr the world's net drain sellers perceive
    demand_seen: np.ndarray       # (M, E) ln t REO/yr, the world's demand sellers perceive
    demand_reference: np.ndarray  # (M, E) ln t REO/yr, its reference for the demand trend


def initial_trade_flow(model: Model, utilization: np.ndarray,
                       capacity_state: capacity.CapacityState, base: np.ndarray) -> np.ndarray:
    """China's net exports (M, E) t/yr at the start: the export market's import requirement.

    Foreign demand of the start year (``base``, (K, A, E) t/yr) less what is separated outside
    China at the initial ``utilization`` (capacity x utilization x element shares x recovery),
    never negative. Starting trade at zero left the export market without its imports for the
    months the trade lag takes to build them up, and it rationed at its scarcity bound in a
    month that depended on the step.
    """
    inp = model.inputs
    routes = inp.separation.routes
    k = routes.pattern[0]
    output = utilization * capacity.available_capacity(inp.capacity, 0, capacity_state)  # (M, P)
    abroad = (routes.market[k] == 1) * routes.recovery[k]                          # (P,)
    local = (output * abroad[None, :]) @ inp.mining.distribution                   # (M, E)
    return np.maximum(base[1].sum(axis=0)[None, :] - local, 0.0)


def initial_state(model: Model) -> State:
    """State in January of the start year: prices at their anchors, stocks at target coverage.

    Inventories start at the target coverage of the start-year demand (sellers in China also of
    the initial exports), in-use stocks at the
    steady state of the start-year inflow, utilization at its target for the initial prices.
    """
    inp, m = model.inputs, model.members
    n_e = len(inp.market.reference_price_usd_per_kg)
    price = market.initial_prices(inp.market, m)
    base = demand.base_demand_by_market(inp.demand, 0)               # (K, A, E) t/yr
    netback = mining.netback_usd_per_kg(inp.mining, inp.separation.routes, 0, price)
    n_k, n_a = base.shape[0], base.shape[1]
    utilization = mining.utilization_target(inp.mining, netback)
    capacity_state = capacity.initial(inp.capacity, m, netback)
    flow = initial_trade_flow(model, utilization, capacity_state, base)
    demand_long, thrift = np.ones((m, n_k, n_a)), np.ones((m, n_a, n_e))
    world = demand.demand_month(inp.demand, 0, price, demand_long, thrift)[3]   # (M, E) t/yr
    demand_seen, demand_reference = market.demand_outlook.initial_outlook(world)
    return State(
        price=price, price_expected=price.copy(), price_recent=price.copy(),
        company=regimes.initial(inp.regimes, price[:, 0, :]),
        inventory=market.initial_stocks(inp.market, m, base.sum(axis=1), flow),
        concentrate=np.zeros((m, 2, len(inp.separation.recovery), n_e)),
        utilization=utilization, capacity=capacity_state,
        demand_long=demand_long, thrift=thrift,
        in_use=in_use.steady_state(inp.in_use, m, base.sum(axis=0)),
        tailings=np.zeros((m, n_e)),
        reserves=np.broadcast_to(inp.mining.reserves_t, (m, len(inp.mining.reserves_t))).copy(),
        price_anchor=price.copy(),
        trade_flow=flow,
        reserve_backlog=np.zeros((m, len(market.RESERVE_HOLDERS), n_e)),
        drain_seen=np.zeros((m, n_e)),                  # stocks start at target: no drain seen
        demand_seen=demand_seen, demand_reference=demand_reference,   # no trend seen yet
    )
