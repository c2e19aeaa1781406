"""Two markets per element (China, export), exports between them, and price formation.

Sellers offer their whole inventory, buyers want their use plus a correction toward target
stocks; a market sells the smaller of the two and rations both sides pro rata. China's exports
are a buyer in the China market: traders fill the export market's import requirement and chase
the price gap; export quotas (on total tonnes), licences and duties restrict them, and a binding
quota goes first to the elements whose export premium per kg is highest.

Price rule (documented, one per market and element): the price moves toward an indicated price
= expected price x (target coverage / coverage) ** sensitivity, where coverage is the sellers'
inventory in months of buying interest; the expected price adapts to the actual price. Prices
stay within [floor, choke]: the floor is the cost of separating oxide, the choke price (100x the
reference) is where buyers stop. Prices are always positive and finite.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reesim.dims import DT_YR, HOLDERS
from reesim.model.compile import Model

ARBITRAGE_GATE = 10.0
"""Trade falls as (destination price / landed cost) ** gate when the destination is cheaper."""
ARBITRAGE_PUSH_PER_YR = 4.0
"""Extra exports per unit of relative price gap, as a multiple of export demand per year."""
QUOTA_BISECTION_STEPS = 32
MIN_OFFER_SHARE = 0.5
"""Sellers never hold back more than half of their stock for higher prices."""
MAX_HOARD_MULTIPLE = 2.0
"""Consumers' precautionary target stock is at most twice their normal coverage."""
PANIC_THRESHOLD = float(np.log(1.5))
"""Hoarding and speculative holding start only when prices run 50% above what traders expected:
ordinary fluctuations leave behaviour unchanged, a shock like 2010-2011 sets off panic buying."""


def _panic(price: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """How far prices run above expectations beyond the panic threshold (log units, >= 0)."""
    return np.maximum(np.log(price / expected) - PANIC_THRESHOLD, 0.0)
MAX_SCARCITY_FACTOR = 4.0
"""The indicated price stays within 1/4 and 4 times the expected price: a month's coverage signal
moves the price at most that far from what traders expect (the expectation itself keeps moving,
so a long shortage still raises prices without bound but at a bounded pace)."""

PC, PX, TC, SR, CC, CX = (HOLDERS.index(h) for h in HOLDERS)


def consumer_purchases(model: Model, demand_k: np.ndarray, stock: np.ndarray,
                       price: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Purchases consumers want, (M, K, E) t REO/yr: use plus a correction toward target stock.

    The target stock rises when prices run well above expectations (precautionary hoarding,
    beyond :data:`PANIC_THRESHOLD`).
    """
    p = model.params
    momentum = _panic(price, expected)
    months = p["consumer_coverage_target_months"][:, None, None] * np.minimum(
        1.0 + p["hoarding_sensitivity"][:, None, None] * momentum, MAX_HOARD_MULTIPLE)
    target = months * demand_k / 12.0
    tau = p["consumer_inventory_adjustment_time_yr"][:, None, None]
    return np.maximum(demand_k + (target - stock) / tau, 0.0)


def seller_offer_share(model: Model, price: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Share of their stock sellers offer, (M, K, E).

    All of it, less when prices run above expectations and they hold back for higher prices
    (speculative holding, the sellers' side of the same hoarding that makes consumers buy ahead).
    """
    momentum = _panic(price, expected)
    h = model.params["hoarding_sensitivity"][:, None, None]
    return np.minimum(np.maximum(1.0 - h * momentum, MIN_OFFER_SHARE), 1.0)


def desired_trade(model: Model, landed: np.ndarray, destination_price: np.ndarray,
                  want: np.ndarray, destination_sellers: np.ndarray) -> np.ndarray:
    """Tonnage traders want to move into a market, (M, E) t REO/yr, before any restriction.

    They fill the destination's import requirement (its buyers' wants plus a restock of its
    sellers to target coverage, spread over the arbitrage time) while the destination price covers
    the landed cost (origin price + duty + trade cost), fewer as it falls below, and push extra
    tonnage in proportion to the price gap when it is above.
    """
    p = model.params
    ratio = destination_price / landed
    target_stock = p["seller_coverage_target_months"][:, None] * want / 12.0
    gap = np.maximum(want * DT_YR + target_stock - destination_sellers, 0.0)
    requirement = gap / np.maximum(p["export_arbitrage_time_yr"][:, None], DT_YR)
    push = ARBITRAGE_PUSH_PER_YR * np.maximum(ratio - 1.0, 0.0) * want
    return requirement * np.minimum(ratio, 1.0) ** ARBITRAGE_GATE + push


def allocate_quota(desired: np.ndarray, quota: float, rent: np.ndarray,
                   price_china: np.ndarray) -> np.ndarray:
    """Ration exports (M, E) t/yr to a total quota t/yr, favouring the highest premium per kg.

    Each element gets desired x logistic((rent - lambda) / scale) with lambda, the quota's shadow
    price (USD/kg), found by bisection so the total equals the quota; the logistic spreads the
    allocation smoothly over elements with similar premiums.
    """
    total = desired.sum(axis=1)
    binding = total > quota
    if not np.isfinite(quota) or not binding.any():
        return desired
    inv_scale = 1.0 / (0.05 * price_china + 0.2)                   # 1/(USD/kg)
    half = 0.5 * rent * inv_scale
    lo = (rent - 30.0 / inv_scale).min(axis=1)
    hi = (rent + 30.0 / inv_scale).max(axis=1)
    for _ in range(QUOTA_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        share = 0.5 + 0.5 * np.tanh(half - (0.5 * mid)[:, None] * inv_scale)
        over = (desired * share).sum(axis=1) > quota
        lo = np.where(over, mid, lo)
        hi = np.where(over, hi, mid)
    allocated = desired * _logistic((rent - hi[:, None]) * inv_scale)
    return np.where(binding[:, None], allocated, desired)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Clearing(NamedTuple):
    """One market's month, all in t REO for the month."""

    sold: np.ndarray          # (M, E)
    offer_fill: np.ndarray    # (M, E) share of every offer sold
    want_fill: np.ndarray     # (M, E) share of every want served


def clear(offers: np.ndarray, wants: np.ndarray) -> Clearing:
    """Sell min(total offer, total want) per element; ration both sides pro rata.

    ``offers`` and ``wants`` are (M, n, E) t for the month (n sellers or buyers).
    """
    supply = offers.sum(axis=1)
    want = wants.sum(axis=1)
    sold = np.minimum(supply, want)
    offer_fill = np.where(supply > 0, sold / np.maximum(supply, 1e-300), 0.0)
    want_fill = np.where(want > 0, sold / np.maximum(want, 1e-300), 0.0)
    return Clearing(sold=sold, offer_fill=offer_fill, want_fill=want_fill)


def update_prices(model: Model, price: np.ndarray, expected: np.ndarray,
                  seller_stock: np.ndarray, want_rate: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """New prices and expectations (M, K, E) from sellers' coverage of buying interest."""
    c, p = model.constants, model.params
    months = seller_stock / np.maximum(want_rate / 12.0, 1e-12)
    target = p["seller_coverage_target_months"][:, None, None]
    beta = p["price_coverage_sensitivity"][:, None, None]
    with np.errstate(divide="ignore"):
        signal = np.clip(beta * np.log(target / months), -np.log(MAX_SCARCITY_FACTOR),
                         np.log(MAX_SCARCITY_FACTOR))
    log_floor, log_choke = c.log_floor_price, c.log_choke_price
    log_price, log_expected = np.log(price), np.log(expected)
    log_indicated = np.minimum(np.maximum(log_expected + signal, log_floor), log_choke)
    log_new = np.clip(log_price + (log_indicated - log_price) * model.rates["price"],
                      log_floor, log_choke)
    log_new_expected = log_expected + (log_new - log_expected) * model.rates["expectation"]
    return np.exp(log_new), np.exp(log_new_expected)
