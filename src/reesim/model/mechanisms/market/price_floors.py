"""Price floors (`price_floor` events): a guaranteed price tops up covered producers' netback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from reesim.model.compiled import einsum_dot, np_maximum

if TYPE_CHECKING:
    from reesim.model.mechanisms.market import MarketInputs


def price_support_usd_per_kg(inp: MarketInputs, t: int, price: np.ndarray,
                             producer_market: np.ndarray, distribution: np.ndarray,
                             recovery: np.ndarray) -> np.ndarray:
    """Top-up of each producer's basket netback from price floors, (M, P) USD/kg REO.

    A price floor (``price_floor`` events, e.g. the 2025 US DoD-MP Materials agreement) pays the
    producer the difference between the floor and the market price for its separated output of
    the covered elements: ``sum_e max(floor - price, 0) * d[p, e] * recovery[p]``. ``price``
    (M, K, E) are the market prices, ``producer_market`` (P,) the market each producer sells in.
    Months without a floor cost nothing.
    """
    if not inp.floor_months[t]:
        return np.zeros((price.shape[0], len(producer_market)))
    return _price_support(inp.price_floor_usd_per_kg[t], price, producer_market, distribution,
                          recovery)


@numba.njit(cache=True, error_model="numpy")
def _price_support(floor: np.ndarray, price: np.ndarray, producer_market: np.ndarray,
                   distribution: np.ndarray, recovery: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`price_support_usd_per_kg` (numba, cached), (M, P) USD/kg.

    ``floor`` (P, E) USD/kg (0: none); the gaps ``max(floor - price, 0)`` in each producer's
    market, weighted by its ``distribution`` (P, E) (numpy's einsum order,
    :func:`~reesim.model.compiled.einsum_dot`), times its separation ``recovery`` (P,).
    """
    members, _, elements = price.shape
    producers = distribution.shape[0]
    out = np.empty((members, producers))
    gap = np.empty(elements)
    for m in range(members):
        for p in range(producers):
            for e in range(elements):
                gap[e] = np_maximum(floor[p, e] - price[m, producer_market[p], e], 0.0)
            out[m, p] = einsum_dot(gap, distribution[p]) * recovery[p]
    return out

