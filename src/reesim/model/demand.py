"""Demand by application and element, its price response, thrifting, and products in use.

An application's REO demand is exogenous growth x a short-run price response x a long-run
response that builds up over the adjustment time (substitution, redesign). Its element split
can shift further by thrifting of expensive elements (e.g. Dy in magnets). Manufacturing needs
all essential elements together: a shortage of one stops that share of output (Leontief), and
what could not be served is recorded as unmet demand.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reesim.dims import DT_YR
from reesim.model.compile import Model

REBOUND_SLOWDOWN = 3.0
"""Thrifting reverses this many times slower than it proceeds (learned designs persist)."""


def market_split(model: Model, t: int) -> np.ndarray:
    """Share of each application's demand bought in each market, (K, A)."""
    return model.schedule.market_split[t]


def base_demand_by_market(model: Model, t: int) -> np.ndarray:
    """Demand at reference prices, (K, A, E) t REO/yr (used to size initial stocks)."""
    base = model.schedule.demand_t_per_yr[t][None, :] * market_split(model, t)
    return base[:, :, None] * model.constants.intensity[None, :, :]


def cost_index(price: np.ndarray, thrift: np.ndarray, model: Model) -> np.ndarray:
    """REO cost of a tonne of each application relative to reference prices, (M, K, A)."""
    c = model.constants
    weights = c.intensity[None, :, :] * thrift                               # (M, A, E)
    now = np.einsum("mke,mae->mka", price, weights)                          # (M, K, A)
    ref = np.einsum("mae,e->ma", weights, c.reference_price_usd_per_kg)[:, None, :]
    return now / ref


def demand(model: Model, t: int, price: np.ndarray, demand_long: np.ndarray,
           thrift: np.ndarray) -> np.ndarray:
    """Demand after price response, (M, K, A, E) t REO/yr."""
    c = model.constants
    eps_short = c.elasticity_short[None, None, :] * model.params[
        "demand_elasticity_multiplier"][:, None, None]
    index = cost_index(price, thrift, model)
    response = index ** eps_short * demand_long                               # (M, K, A)
    base = model.schedule.demand_t_per_yr[t][None, :] * market_split(model, t)  # (K, A)
    volume = base[None] * response
    return volume[..., None] * (c.intensity[None, :, :] * thrift)[:, None, :, :]


def update_responses(model: Model, price: np.ndarray, demand_long: np.ndarray,
                     thrift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move the long-run demand response and the thrifting multipliers one month on."""
    c, p = model.constants, model.params
    mult = p["demand_elasticity_multiplier"][:, None, None]
    index = cost_index(price, thrift, model)
    target_long = index ** ((c.elasticity_long - c.elasticity_short)[None, None, :] * mult)
    rate = model.rates["demand_long"]
    log_long = np.log(demand_long) + (np.log(target_long) - np.log(demand_long)) * rate
    a, e = c.thrift_pairs                                                     # the substitutable
    world = np.sqrt(price[:, 0, :] * price[:, 1, :]) / c.reference_price_usd_per_kg  # (M, E)
    substitute = np.where(c.thrift_relative_to >= 0, world[:, c.thrift_relative_to], 1.0)
    relative = world[:, e] / substitute          # vs its reference, or vs its substitute
    target = np.minimum(np.maximum(relative ** (-c.thrift_elasticity[a, e]),
                                   c.thrift_floor[a, e]), 1.0)
    current = thrift[:, a, e]
    rate = model.rates["thrift"][:, a, e]
    rate = np.where(target < current, rate, rate / REBOUND_SLOWDOWN)
    new_thrift = thrift.copy()
    new_thrift[:, a, e] = current + (target - current) * rate
    return np.exp(log_long), new_thrift


def consume(model: Model, need: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Consumption (M, K, A, E) in t REO this month from consumers' stocks (M, K, E).

    Each application produces the share of its demand that its scarcest essential element
    allows; non-essential trace elements are consumed as far as they are available.
    """
    c = model.constants
    total = need.sum(axis=2)                                                  # (M, K, E)
    fill = np.where(total > 0, np.minimum(1.0, stock / np.maximum(total, 1e-300)), 1.0)
    first, second = c.essential_elements                                      # (A,) each
    app_fill = np.minimum(fill[:, :, first], fill[:, :, second])              # (M, K, A)
    return need * np.minimum(app_fill[..., None], fill[:, :, None, :])


class UseResult(NamedTuple):
    """One month of the in-use stock; flows in t REO/yr, stock in t REO."""

    end_of_life: np.ndarray   # (M, A, E)
    in_use: np.ndarray        # (M, A, S, E)


def age_in_use(model: Model, in_use: np.ndarray, products: np.ndarray) -> UseResult:
    """Advance the Erlang-k lifetime chains one month: products enter, end-of-life leaves."""
    c = model.constants
    leave = model.rates["leave_use"][None, :, None]                           # (1, A, 1)
    new = np.empty_like(in_use)
    arriving = products * DT_YR                                               # t this month
    eol = np.zeros_like(products)
    for s in range(in_use.shape[2]):                    # a few lifetime stages, not elements
        active = (s < c.lifetime_shape)[None, :, None]
        out = in_use[:, :, s, :] * leave * active
        new[:, :, s, :] = in_use[:, :, s, :] - out + arriving * active
        last = (s == c.lifetime_shape - 1)[None, :, None]
        eol += out * last
        arriving = out * ~last
    return UseResult(end_of_life=eol / DT_YR, in_use=new)
