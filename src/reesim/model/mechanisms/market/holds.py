"""What buyers and sellers hold back from a market: panic, consumers' purchases, sellers' holds.

Buyers hoard and sellers hold for higher prices once prices run above what traders expected
(panic); Chinese sellers hold for the export premium while the tonnage quota turns exporters
away; sellers in both markets reserve against the world's net drain they foresee. The price
rule (:mod:`reesim.model.mechanisms.price_rule`) reads these holds as extra cover sellers keep.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

from reesim.dims import DT_YR, MONTHS_PER_YEAR
from reesim.model.compiled import np_maximum, np_minimum
from reesim.model.mechanisms.market.going_prices import step_perception_weight
from reesim.model.mechanisms.market.price_rule import TINY_T, premium_hold

if TYPE_CHECKING:
    from reesim.model.mechanisms.market import MarketInputs, MemberRules


def panic(inp: MarketInputs, price: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """How far prices run above expectations beyond the panic threshold, (M, K, E) log units >= 0.

    The momentum that sets off hoarding (buyers) and speculative holding (sellers).
    """
    return _panic(price, expected, inp.log_panic_threshold[:, 0, 0])


@numba.njit(cache=True, error_model="numpy")
def _panic(price: np.ndarray, expected: np.ndarray, log_threshold: np.ndarray) -> np.ndarray:
    """``max(ln(price / expected) - log_threshold, 0)`` per member, market and element.

    ``price`` and ``expected`` (M, K, E) USD/kg, ``log_threshold`` (M,); numpy's operations
    (the C library's log, as numpy's on this build), compiled (numba, cached on disk).
    """
    members, markets, elements = price.shape
    out = np.empty((members, markets, elements))
    for m in range(members):
        for k in range(markets):
            for e in range(elements):
                out[m, k, e] = np_maximum(
                    math.log(price[m, k, e] / expected[m, k, e]) - log_threshold[m], 0.0)
    return out


def consumer_purchases(inp: MarketInputs, demand_k: np.ndarray, stock: np.ndarray,
                       momentum: np.ndarray, dt: float = DT_YR) -> np.ndarray:
    """Purchases consumers want, (M, K, E) t REO/yr: use plus a correction toward target stock.

    The target stock rises when prices run well above expectations (precautionary hoarding,
    beyond the panic threshold: ``momentum`` from :func:`panic`). The correction closes the
    share ``1 - exp(-dt / adjustment)`` of the gap in a step of ``dt`` yr, the exact share of a
    first-order adjustment, so the path of the stock does not depend on the step.
    """
    return _consumer_purchases(demand_k, stock, momentum, inp.rules, dt)


@numba.njit(cache=True, error_model="numpy")
def _consumer_purchases(demand_k: np.ndarray, stock: np.ndarray, momentum: np.ndarray,
                        rules: MemberRules, dt: float) -> np.ndarray:
    """The arithmetic of :func:`consumer_purchases` (numba, cached on disk), (M, K, E) t/yr.

    ``demand_k`` t/yr, ``stock`` t and ``momentum`` (M, K, E); the member's ``rules``. Target
    months ``coverage * min(1 + hoarding * momentum, max_hoard)``, target stock
    ``months * demand / 12``, purchases ``max(demand + (target - stock) * rate, 0)`` with
    ``rate = (1 - exp(-dt / adjustment time)) / dt`` 1/yr, the share of the gap closed per
    year of the step, in numpy's order.
    """
    members, markets, elements = demand_k.shape
    out = np.empty((members, markets, elements))
    coverage_months, hoarding = rules.consumer_coverage_months, rules.hoarding_sensitivity
    max_hoard = rules.max_hoard_multiple
    for m in range(members):
        rate_per_yr = (1.0 - math.exp(-dt / rules.consumer_adjustment_yr[m])) / dt
        for k in range(markets):
            for e in range(elements):
                months = coverage_months[m] * np_minimum(1.0 + hoarding[m] * momentum[m, k, e],
                                                         max_hoard[m])
                target = months * demand_k[m, k, e] / MONTHS_PER_YEAR
                out[m, k, e] = np_maximum(
                    demand_k[m, k, e] + (target - stock[m, k, e]) * rate_per_yr, 0.0)
    return out


def seller_hold(inp: MarketInputs, momentum: np.ndarray) -> np.ndarray:
    """Log multiple of their normal cover that sellers reserve, (M, K, E) >= 0.

    Sellers offer all their stock at a price, but when prices run above expectations they hold
    for higher prices (speculative holding, the sellers' side of the same hoarding that makes
    consumers buy ahead): the cover they reserve rises by the consumers' hoarding factor,
    ``min(1 + hoarding * momentum, max_hoard_multiple)``. It enters the price rule as a higher
    target cover, so holding raises the price a stock clears at instead of removing part of the
    stock from the market within one step.
    """
    hold = np.empty(momentum.shape)
    for m, k, e in np.ndindex(momentum.shape):
        hold[m, k, e] = seller_hold_at(inp.rules.hoarding_sensitivity[m], momentum[m, k, e],
                                       inp.rules.max_hoard_multiple[m])
    return hold


@numba.njit(cache=True, error_model="numpy")
def seller_hold_at(hoarding: float, momentum: float, most: float) -> float:
    """:func:`seller_hold` of one member, market and element: ``ln(min(1 + h * mom, most))``."""
    return math.log(np_minimum(1.0 + hoarding * momentum, most))


def premium_signal(inp: MarketInputs, recent: np.ndarray, price: np.ndarray,
                   dt: float = DT_YR) -> np.ndarray:
    """Log export price Chinese holders compare China's with, (M, E): ``ln(p_X / threshold)``.

    ``p_X`` is the export market's perceived price over the coming step: the perception
    (``recent[:, 1]``, USD/kg) moving toward last step's export price (``price[:, 1]``) over the
    step, whose mean is ``ln p_rec + (1 - w) ln(p / p_rec)``, ``w = (1 - exp(-dt/T)) / (dt/T)``
    (as :func:`within_step_elasticity`: the perception at the step's start alone lags by half a
    step, and the post-2011 fall of the export price then moved China's 2012 prices by 10%
    between one and two sub-steps). The threshold is the panic ratio (1.5): Chinese sellers
    hold more stock only while the export market pays more than that ratio over China's oxide
    landed there (:func:`.price_rule.premium_hold`).
    """
    w = step_perception_weight(inp, dt)
    signal = np.empty(recent[:, 1].shape)
    for m, e in np.ndindex(signal.shape):
        signal[m, e] = premium_signal_at(recent[m, 1, e], price[m, 1, e], w[m],
                                         inp.rules.log_panic_threshold[m])
    return signal


@numba.njit(cache=True, error_model="numpy")
def premium_signal_at(recent: float, price: float, weight: float, log_threshold: float) -> float:
    """:func:`premium_signal` of one member and element (export ``recent`` and ``price``)."""
    log_recent = math.log(recent)
    return log_recent + (1.0 - weight) * (math.log(price) - log_recent) - log_threshold


def premium_holds(inp: MarketInputs, t: int, recent: np.ndarray, price: np.ndarray,
                  china_price: np.ndarray, turned_away: np.ndarray) -> np.ndarray:
    """Chinese sellers' log hold multiple for the export premium at ``china_price``, (M, E).

    The rule the month's clearing solves with (:func:`.price_rule.premium_hold`, its strength
    ``premium_withholding`` times ``turned_away`` (M,), the share of exporters' wants the
    tonnage quota turns away), for reading and tests.
    """
    signal = premium_signal(inp, recent, price)
    hold = np.empty(signal.shape)
    for m, e in np.ndindex(signal.shape):
        hold[m, e] = premium_hold(math.log(china_price[m, e]), signal[m, e],
                                  inp.export_tax[t, e], inp.trade_cost_usd_per_kg,
                                  inp.premium_withholding[m, 0] * turned_away[m])[0]
    return hold


def world_drain(use: np.ndarray, supply_rate: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The element's world net drain, (M, E) t/yr: use less separated output.

    Consumers' use in both markets (``use`` (M, K, E) t/yr) less the separated output
    delivered to them (``supply_rate``, t/yr). It is the balance analysts publish: trade
    between the markets nets out, and use does not move with the month's price. It leaves out
    the new scrap and recycled oxide returned to sellers, which feed the same stocks (in
    `baotou` about as much Nd as this drain from 2030, so sellers hold against a deficit their
    stocks do not show); taken off, every fit scored worse and nine behaviour tests failed
    (``docs/market-experiments.md``, fifty-fifth session), so it stays a known bias.
    """
    return use[:, 0] + use[:, 1] - supply_rate[0] - supply_rate[1]


def drain_hold(inp: MarketInputs, use: np.ndarray, drain_seen: np.ndarray) -> np.ndarray:
    """Log multiple of their normal cover that sellers add against a visible drain, (M, 1, E).

    Sellers in both markets reserve the share of the world's target cover (their coverage
    months of world use ``use`` (M, K, E) t/yr) that the drain they perceive (``drain_seen``
    (M, E) t/yr, :func:`world_drain` averaged over ``drain_perception_time_yr``) would take
    over ``drain_foresight_yr``. A drain read from purchases (which fall when the price
    jumps) made China's prices zig-zag month to month; one read market by market fed the
    traders' flows back into it, and the Nd export price cycled every five months in 2047-2050.
    """
    hold = np.empty((use.shape[0], 1, use.shape[2]))
    for m, e in np.ndindex(drain_seen.shape):
        hold[m, 0, e] = drain_hold_at(inp.rules.seller_coverage_months[m],
                                      inp.rules.drain_foresight_yr[m], use[m, 0, e] + use[m, 1, e],
                                      drain_seen[m, e])
    return hold


@numba.njit(cache=True, error_model="numpy")
def drain_hold_at(months: float, foresight_yr: float, use: float, drain: float) -> float:
    """:func:`drain_hold` of one member and element: ``ln(1 + foresight * max(drain, 0) / target)``.

    ``target = months * use / 12`` (at least :data:`TINY_T`), ``use`` the world's t/yr.
    """
    target = months * use / MONTHS_PER_YEAR
    return math.log1p(foresight_yr * np_maximum(drain, 0.0) / np_maximum(target, TINY_T))

