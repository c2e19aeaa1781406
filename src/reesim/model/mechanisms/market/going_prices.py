"""The slow prices: expectations, the going price sellers anchor on, and the perceived price.

Each follows the month's clearing price with an exact exponential lag (so the rule does not
depend on the step), and the going prices of the two markets meet competition from the other
market's landed oxide where trade is free (the law of one price, with the traders' lag).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

from reesim.dims import DT_YR, MONTHS_PER_YEAR
from reesim.model.compiled import np_maximum, np_minimum

if TYPE_CHECKING:
    from reesim.model.mechanisms.market import MarketInputs


def update_expectations(inp: MarketInputs, price: np.ndarray, expected: np.ndarray,
                        anchor: np.ndarray, recent: np.ndarray, dt: float = DT_YR
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected, going and perceived prices (M, K, E) adapt to the step's prices (log lags).

    The expectation (years: ``price_expectation_time_yr``) is what hoarding and speculation
    compare the perceived price with; the going price (months: ``price_adjustment_time_yr``, at
    least ``min_price_adjustment_yr``) anchors sellers' reservation in the next step's clearing;
    the perceived price (``price_perception_time_yr``) is the reference of buyers' short-run
    response and of panic, so neither depends on the length of the step.
    """
    return _update_expectations(price, expected, anchor, recent,
                                inp.expectation_time_yr[:, 0, 0], inp.anchor_time_yr[:, 0, 0],
                                inp.perception_time_yr[:, 0, 0], dt)


@numba.njit(cache=True, error_model="numpy")
def landed_cost(price, duty, trade_cost: float):
    """Cost of one market's oxide landed in the other, USD/kg: price x (1 + duty) + trade cost.

    Arrays or scalars (compiled, numba: traders' arbitrage in :func:`trade` and the markets'
    competition in :func:`compete_anchors` use the one formula; imports into China pay no duty).
    """
    return price * (1.0 + duty) + trade_cost


def compete_anchors(inp: MarketInputs, t: int, price: np.ndarray, anchor: np.ndarray,
                    free: np.ndarray, foreign_stock: np.ndarray, china_want: np.ndarray,
                    dt: float = DT_YR, rent: np.ndarray | None = None) -> np.ndarray:
    """Going prices (M, K, E) USD/kg drawn toward the other market's landed cost, both ways.

    Exports: foreign sellers compete with Chinese exporters, who can offer China's oxide abroad
    at its landed cost (:func:`landed_cost`). Where the export going price stands above
    ``export_ceiling_multiple`` x that cost, the excess in log price closes over traders'
    arbitrage time, in proportion to ``free`` (M, E), the share of exporters' wants that
    licences and the quota let go: a binding quota (2010-2014) or a licence regime keeps the
    premium it creates, free trade (2015 on) competes it away. Under the ``rent`` quota rule the
    quota's rent ``rent`` (M, E) USD/kg (:func:`.arbitrage.quota_rent`, each element's pool's;
    0 by default) is part of
    the exporters' landed cost: what they compete down to is China's price with duty, trade cost
    and the rent.

    Imports: China has no import quota, so where China's going price stands above the same
    multiple of the landed cost of export-market oxide in China (export price + trade cost),
    Chinese buyers turn to foreign sellers and the excess closes at the same rate, in
    proportion to what those sellers can supply: their stock ``foreign_stock`` (M, E) t against
    the working stock of China's market (``seller_coverage_target_months`` of ``china_want``
    (M, E) t/yr), at most 1. Before 2026-12-04 only the export side competed, and in baotou's
    projection (ex-China mines built for NdPr) China's Nd stayed 46% above the landed cost of
    the 213 kt of Nd that foreign sellers held unsold in 2050. The law of one price, with the
    traders' lag. Returns a new array.
    """
    out = anchor.copy()
    _compete_anchors(price, out, free, foreign_stock, china_want,
                     inp.seller_coverage_months[:, 0, 0], inp.export_tax[t],
                     inp.trade_cost_usd_per_kg, inp.log_export_ceiling[:, 0],
                     inp.arbitrage_time_yr[:, 0], dt,
                     np.zeros(foreign_stock.shape) if rent is None else rent)
    return out


@numba.njit(cache=True, error_model="numpy")
def _compete_anchors(price: np.ndarray, anchor: np.ndarray, free: np.ndarray,
                     foreign_stock: np.ndarray, china_want: np.ndarray, months: np.ndarray,
                     duty: np.ndarray, trade_cost: float, log_ceiling: np.ndarray,
                     arbitrage_yr: np.ndarray, dt: float, rent: np.ndarray) -> None:
    """The arithmetic of :func:`compete_anchors`, in place on ``anchor`` (numba, cached).

    Per member and element, with ``closes = 1 - exp(-dt / arbitrage time)`` and
    ``available = min(foreign stock / (months x China's wants / 12), 1)`` (0 without wants):
    ``excess_X = max(ln(a_X / (p_C (1 + duty) + cost + rent)) - ln ceiling, 0) * free``,
    ``excess_C = max(ln(a_C / (p_X + cost)) - ln ceiling, 0) * available`` and
    ``a *= exp(-excess * closes)`` on each side, both from the step's clearing prices.
    """
    members, _, elements = anchor.shape
    for m in range(members):
        closes = 1.0 - math.exp(-dt / arbitrage_yr[m])
        for e in range(elements):
            normal_stock = months[m] * china_want[m, e] / MONTHS_PER_YEAR
            available = (np_minimum(foreign_stock[m, e] / normal_stock, 1.0)
                         if normal_stock > 0.0 else 0.0)
            landed = landed_cost(price[m, 0, e], duty[e], trade_cost) + rent[m, e]
            excess = np_maximum(math.log(anchor[m, 1, e] / landed) - log_ceiling[m],
                                0.0) * free[m, e]
            anchor[m, 1, e] = anchor[m, 1, e] * math.exp(-excess * closes)
            landed_in_china = landed_cost(price[m, 1, e], 0.0, trade_cost)
            excess = np_maximum(math.log(anchor[m, 0, e] / landed_in_china) - log_ceiling[m],
                                0.0) * available
            anchor[m, 0, e] = anchor[m, 0, e] * math.exp(-excess * closes)


@numba.njit(cache=True, error_model="numpy")
def carry_anchors(anchor: np.ndarray, held: np.ndarray, want: np.ndarray, months: np.ndarray,
                  cost_per_yr: np.ndarray, dt: float) -> None:
    """Going prices (M, K, E) USD/kg marked down for stock carried beyond target, in place.

    Sellers who hold ``held`` (M, K, E) t against buyers' wants ``want`` (M, K, E) t/yr carry
    ``held / (want / 12)`` months; beyond their target cover ``months`` (M,) the stock costs
    them (interest, storage, insurance) and they mark their going price down by
    ``exp(-cost * ln(months held / target) * dt)``, ``cost`` (M,) per year per log month of
    excess cover: an integral restoring force on the price level, which otherwise stays where a
    shock left it while a stock years above cover sits on the flat glut side (storage theory's
    carrying charge). Nothing is marked down at or below target, without wants, or at cost 0.
    """
    members, markets, elements = anchor.shape
    for m in range(members):
        if cost_per_yr[m] <= 0.0:
            continue
        for k in range(markets):
            for e in range(elements):
                normal = months[m] * want[m, k, e] / MONTHS_PER_YEAR
                if normal <= 0.0 or held[m, k, e] <= normal:
                    continue
                anchor[m, k, e] *= math.exp(-cost_per_yr[m] * math.log(held[m, k, e] / normal)
                                            * dt)


@numba.njit(cache=True, error_model="numpy")
def _update_expectations(price: np.ndarray, expected: np.ndarray, anchor: np.ndarray,
                         recent: np.ndarray, expectation_yr: np.ndarray, anchor_yr: np.ndarray,
                         perception_yr: np.ndarray, dt: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The log lags of :func:`update_expectations` (numba, cached on disk), (M, K, E) USD/kg.

    ``value`` moves to ``exp(ln value + (ln price - ln value) * (1 - exp(-dt / time)))`` with
    each member's adjustment time (M,) yr; exp and log are the C library's, as numpy's on
    this build, and the operations numpy's, so the numbers are the same.
    """
    members, markets, elements = price.shape
    new_expected = np.empty((members, markets, elements))
    new_anchor = np.empty((members, markets, elements))
    new_recent = np.empty((members, markets, elements))
    for m in range(members):
        to_expected = 1.0 - math.exp(-dt / expectation_yr[m])
        to_anchor = 1.0 - math.exp(-dt / anchor_yr[m])
        to_recent = 1.0 - math.exp(-dt / perception_yr[m])
        for k in range(markets):
            for e in range(elements):
                log_price = math.log(price[m, k, e])
                log_value = math.log(expected[m, k, e])
                new_expected[m, k, e] = math.exp(log_value + (log_price - log_value) * to_expected)
                log_value = math.log(anchor[m, k, e])
                new_anchor[m, k, e] = math.exp(log_value + (log_price - log_value) * to_anchor)
                log_value = math.log(recent[m, k, e])
                new_recent[m, k, e] = math.exp(log_value + (log_price - log_value) * to_recent)
    return new_expected, new_anchor, new_recent


def step_perception_weight(inp: MarketInputs, dt: float) -> np.ndarray:
    """Weight (M,) of last step's perception in its mean over a step of ``dt`` yr.

    ``w = (1 - exp(-dt/T)) / (dt/T)``, T ``price_perception_time_yr``: the mean log perception
    over the step is ``ln p_rec + (1 - w) ln(p / p_rec)`` (buyers' elasticity, the premium
    signal).
    """
    return np.array([perception_weight(dt, time) for time in inp.rules.perception_time_yr])


@numba.njit(cache=True, error_model="numpy")
def perception_weight(dt: float, perception_time_yr: float) -> float:
    """:func:`step_perception_weight` of one member: ``(1 - exp(-x)) / x``, ``x = dt / T``."""
    x = dt / perception_time_yr
    return -math.expm1(-x) / x
