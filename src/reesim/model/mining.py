"""Mining with co-production: every producer yields all elements in its deposit's proportions.

A producer's decision is one number, its utilization of available capacity, driven by the basket
netback (sum over elements of price x share x separation recovery, minus separation cost)
against its cash cost; quotas, the Bayan Obo ore limit and the trading company's plan then cap
output. What is mined but not recovered goes to tailings.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reesim.dims import DT_YR
from reesim.model.compile import Model


def cash_cost_usd_per_kg(model: Model) -> np.ndarray:
    """Mining cash cost per kg REO in concentrate, (M, P); Chinese costs scaled by a parameter."""
    c = model.constants
    scale = np.where(c.china_producer[None, :], model.params["china_cost_multiplier"][:, None], 1.0)
    return c.cash_cost_usd_per_kg[None, :] * scale


def netback_usd_per_kg(price: np.ndarray, model: Model, t: int) -> np.ndarray:
    """Basket netback of each producer's concentrate, (M, P) USD/kg REO.

    Value of the separated oxides at the prices of the market where the concentrate is separated
    this month, times separation recovery, minus that region's separation cost.
    """
    c, r = model.constants, model.routes
    k = r.pattern[t]
    by_market = np.einsum("mke,pe->mkp", price, c.distribution)       # (M, K, P)
    basket = by_market[:, r.market[k], np.arange(len(r.market[k]))]   # (M, P)
    sep_cost = r.cost_usd_per_kg[k][None, :] * np.where(
        r.in_china[k][None, :], model.params["china_cost_multiplier"][:, None], 1.0)
    return basket * r.recovery[k][None, :] - sep_cost


def utilization_target(netback: np.ndarray, model: Model) -> np.ndarray:
    """Desired utilization, (M, P): a smooth supply curve 1 / (1 + (netback / cost) ** -steepness).

    Half of capacity runs when netback equals cash cost (an aggregate producer has a spread of
    costs); steepness 4 gives 94% at twice the cost and 6% at half of it.
    """
    ratio = np.maximum(netback, 1e-9) / cash_cost_usd_per_kg(model)
    gamma = model.params["supply_steepness"][:, None]
    return 1.0 / (1.0 + ratio ** (-gamma))


class MiningResult(NamedTuple):
    """One month of mining, flows in t REO/yr."""

    output: np.ndarray           # (M, P, E) recovered to concentrate
    ore: np.ndarray              # (M, P, E) REO in ore mined
    tailings_in: np.ndarray      # (M, P, E)
    capacity: np.ndarray         # (M, P) available capacity
    total_output: np.ndarray     # (M, P)


def mine(model: Model, t: int, utilization: np.ndarray, capacity: np.ndarray,
         reserves: np.ndarray, tc_output_cap: np.ndarray, tc_active: bool) -> MiningResult:
    """Output of every producer this month given utilization and available capacity (t REO/yr).

    Caps, in order: Bayan Obo's ore limit (iron ore REO x recovery), the producer's quota
    allocation, the trading company's output plan for its members, and remaining reserves.
    """
    c, s = model.constants, model.schedule
    desired = utilization * capacity
    byproduct_limit = s.byproduct_ore_t_per_yr[t] * s.byproduct_recovery[t]
    desired = np.where(c.byproduct[None, :], np.minimum(desired, byproduct_limit), desired)
    output = np.minimum(desired, s.mining_quota_t_per_yr[t][None, :])
    if tc_active:
        members = _tc_members(model, t)
        planned = output[:, members].sum(axis=1)
        factor = np.where(planned > tc_output_cap, tc_output_cap / np.maximum(planned, 1e-12), 1.0)
        output[:, members] *= factor[:, None]
    recovery = np.where(np.isnan(s.recovery_override[t]), c.mining_recovery,
                        s.recovery_override[t])
    recovery = np.where(c.byproduct, s.byproduct_recovery[t], recovery)
    output = np.minimum(output, np.maximum(reserves, 0.0) * recovery[None, :] / DT_YR)
    ore_total = np.where(c.byproduct[None, :], s.byproduct_ore_t_per_yr[t],
                         output / recovery[None, :])
    ore_total = np.maximum(ore_total, output)
    dist = c.distribution[None, :, :]
    out_e = output[:, :, None] * dist
    ore_e = ore_total[:, :, None] * dist
    return MiningResult(output=out_e, ore=ore_e, tailings_in=ore_e - out_e, capacity=capacity,
                        total_output=output)


def _tc_members(model: Model, t: int) -> np.ndarray:
    """Producers whose concentrate is separated in the trading company's region (legal, China)."""
    c = model.constants
    return (model.routes.onehot[model.routes.pattern[t]][:, c.tc_region] > 0) & c.legal \
        & c.china_producer
