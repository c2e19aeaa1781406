"""The model state: immutable arrays with a leading member axis, and its initial value.

A step reads one :class:`State` and returns a new one; nothing in a state is modified in place.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reesim.dims import HOLDERS, MARKETS
from reesim.model.capacity import NEVER
from reesim.model.compile import Model
from reesim.model.demand import base_demand_by_market
from reesim.model.mining import netback_usd_per_kg, utilization_target


class State(NamedTuple):
    """Stocks and memories of the system at the start of a month (units in comments)."""

    price: np.ndarray             # (M, K, E) USD/kg
    price_expected: np.ndarray    # (M, K, E) USD/kg, traders' adaptive expectation (anchor)
    tc_reference: np.ndarray      # (M, E) USD/kg, trading company's reference price
    tc_sales_rate: np.ndarray     # (M,) t x USD/kg per yr, smoothed value of company sales
    tc_months: np.ndarray         # (M,) months the company has been active
    inventory: np.ndarray         # (M, H, E) t REO
    concentrate: np.ndarray       # (M, R, E) t REO
    utilization: np.ndarray       # (M, P) fraction
    expected_netback: np.ndarray  # (M, P) USD/kg, for investment and restart decisions
    loss_months: np.ndarray       # (M, P) consecutive months below cash cost
    closed: np.ndarray            # (M, P) bool
    reopen_at: np.ndarray         # (M, P) step when a closed mine restarts (NEVER if none)
    online_at: np.ndarray         # (M, P) step when a planned project starts (NEVER if none)
    illegal_capacity: np.ndarray  # (M, P) t REO/yr, endogenous capacity of fringe supply
    demand_long: np.ndarray       # (M, K, A) long-run demand response multiplier
    thrift: np.ndarray            # (M, A, E) element intensity multiplier (thrifting)
    in_use: np.ndarray            # (M, A, S, E) t REO by lifetime stage
    tailings: np.ndarray          # (M, E) t REO sent to tailings since the run start
    reserves: np.ndarray          # (M, P) t REO in situ


def initial_state(model: Model) -> State:
    """State in January of the start year: prices at their anchors, stocks at target coverage.

    Inventories start at the target coverage of the start-year demand, in-use stocks at the
    steady state of the start-year inflow, utilization at its target for the initial prices.
    """
    c, s, p = model.constants, model.schedule, model.params
    m = model.members
    n_k, n_e = len(MARKETS), len(c.reference_price_usd_per_kg)
    n_p, n_r, n_a = len(c.distribution), len(c.separation_recovery), len(c.intensity)

    price = np.empty((m, n_k, n_e))
    price[:, 0, :] = c.reference_price_usd_per_kg
    price[:, 1, :] = (c.reference_price_usd_per_kg * (1.0 + s.export_tax[0])
                      + model.scenario.market.trade_cost_usd_per_kg)

    demand = base_demand_by_market(model, 0)                         # (K, A, E) t/yr
    per_market = demand.sum(axis=1)                                  # (K, E)
    inventory = np.zeros((m, len(HOLDERS), n_e))
    seller_months = p["seller_coverage_target_months"][:, None]
    consumer_months = p["consumer_coverage_target_months"][:, None]
    inventory[:, HOLDERS.index("producers_china")] = seller_months * per_market[0] / 12.0
    inventory[:, HOLDERS.index("producers_export")] = seller_months * per_market[1] / 12.0
    inventory[:, HOLDERS.index("consumers_china")] = consumer_months * per_market[0] / 12.0
    inventory[:, HOLDERS.index("consumers_export")] = consumer_months * per_market[1] / 12.0

    netback = netback_usd_per_kg(price, model, 0)
    utilization = utilization_target(netback, model)

    shape_max = int(c.lifetime_shape.max())
    products = demand.sum(axis=0) * c.manufacturing_yield[:, None]    # (A, E)
    stage_time = c.lifetime_yr / c.lifetime_shape                     # (A,)
    active = np.arange(shape_max)[None, :] < c.lifetime_shape[:, None]
    in_use = (products[:, None, :] * stage_time[:, None, None] * active[:, :, None])
    in_use = np.broadcast_to(in_use, (m, n_a, shape_max, n_e)).copy()

    online_at = np.full((m, n_p), NEVER, dtype=np.int64)
    if model.scenario.supply.projects == "all":
        online_at[:, c.planned] = c.start_month[c.planned]
    illegal = np.where(c.illegal, s.capacity_t_per_yr[0] * s.disruption[0], 0.0)
    concentrate = np.zeros((m, n_r, n_e))
    return State(
        price=price, price_expected=price.copy(),
        tc_reference=price[:, 0, :].copy(), tc_sales_rate=np.zeros(m), tc_months=np.zeros(m),
        inventory=inventory, concentrate=concentrate, utilization=utilization,
        expected_netback=netback, loss_months=np.zeros((m, n_p)),
        closed=np.zeros((m, n_p), bool), reopen_at=np.full((m, n_p), NEVER, dtype=np.int64),
        online_at=online_at, illegal_capacity=np.broadcast_to(illegal, (m, n_p)).copy(),
        demand_long=np.ones((m, n_k, n_a)), thrift=np.ones((m, n_a, n_e)), in_use=in_use,
        tailings=np.zeros((m, n_e)),
        reserves=np.broadcast_to(c.reserves_t, (m, n_p)).copy(),
    )
