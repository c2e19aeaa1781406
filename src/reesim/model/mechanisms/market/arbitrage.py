"""Traders' desired trade between the markets, and the rent a tonnage export quota carries.

China's export quota of 2010-2014 counted tonnes of every element together and was held by
exporters as licences by tonnage. Such a quota has one shadow price per kg: an exporter ships a
kg of whichever element pays most over its landed cost, so every element exported stands above
its landed cost by the same rent (the record of 2011: La, Ce, Sm and Nd export prices 60-115
USD/kg above China's, less duty; docs/market-experiments.md, thirtieth session). Under the
``rent`` quota rule traders' desired exports are computed at a landed cost raised by that rent,
solved each sub-step so that the tonnage they want fits the quota; under ``pro_rata`` (the
default) every element's exports are cut by the same share.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from reesim.dims import MONTHS_PER_YEAR
from reesim.model.compiled import np_maximum, np_minimum, numpy_power

RENT_BISECTIONS = 60
"""Halvings of the rent's bracket: from a bracket of the highest export price (at most about
1e5 USD/kg) to under 1e-13 USD/kg, below any price's last digit."""


@numba.njit(cache=True, error_model="numpy")
def desired_at(landed: float, destination_price: float, want: float, sellers: float,
               local: float, months: float, correction_yr: float, push_rate: float,
               gate: float, one_value: bool) -> float:
    """Tonnage traders want to move into a market for one element, t REO/yr (numba).

    ``ratio = p_destination / landed``; ``requirement = max(want - local + (months * want / 12
    - sellers) / correction time, 0)``; ``push = push rate * max(ratio - 1, 0) * want``; the
    trade is ``requirement * min(ratio, 1) ** gate + push`` (the power as numpy's for a member
    column, :func:`~reesim.model.compiled.numpy_power`).
    """
    ratio = destination_price / landed
    target_stock = months * want / MONTHS_PER_YEAR
    requirement = np_maximum(want - local + (target_stock - sellers) / correction_yr, 0.0)
    push = push_rate * np_maximum(ratio - 1.0, 0.0) * want
    return requirement * numpy_power(np_minimum(ratio, 1.0), gate, one_value) + push


@numba.njit(cache=True, error_model="numpy")
def import_share(china_price: float, landed: float, log_ceiling: float) -> float:
    """Share of a net import aim into China that traders pursue, for one separated oxide.

    China buys ore and concentrate under supply agreements (the routes of
    ``inputs/china_offtake.csv``), not separated oxides: these come in as arbitrage, when
    China's price ``china_price`` covers their landed cost ``landed`` (export price + trade cost,
    USD/kg) and traders' margin. The share is ``min(max(ln(ratio) / ln ceiling, 0), 1)`` of
    ``ratio = china_price / landed``: none at or below the landed cost, all from the member's
    ``export_ceiling_multiple`` of it (the margin at which China's going price is drawn down to
    the landed cost, :func:`.going_prices.compete_anchors`; a ceiling of 1 takes all of it above
    the landed cost). It scales the aim, not the shipments, so imports follow it over traders'
    adjustment time (scaling the shipments made the projection's Dy export price chatter month
    to month). Before 2026-12-07 the aim was China's requirement gated like exports,
    ``min(ratio, 1) ** gate``: 27% of it came in at half the landed cost, and baotou's projection
    imported 343 t of Dy into China in 2030 at a loss. A net export aim is untouched, so a run
    whose aim never turns to imports (every calibrated scenario to 2025) is the same bit for bit.
    """
    if not china_price > landed:
        return 0.0
    if log_ceiling <= 0.0:
        return 1.0
    return np_minimum(math.log(china_price / landed) / log_ceiling, 1.0)


@numba.njit(cache=True, error_model="numpy")
def quota_rent(quota: float, landed: np.ndarray, export_price: np.ndarray, want: np.ndarray,
               sellers: np.ndarray, local: np.ndarray, licensed: np.ndarray, months: float,
               correction_yr: float, push_rate: float, gate: float, one_value: bool
               ) -> float:
    """The rent per kg (USD/kg, >= 0) at which traders' licensed desired exports fit ``quota``.

    One member's (E,) landed costs in the export market (China's price with duty and trade
    cost), export prices, foreign consumers' wants (t/yr), foreign sellers' stocks (t), foreign
    separated supply (t/yr) and licensed shares; ``quota`` t/yr. The licensed desired tonnage
    (:func:`desired_at` at ``landed + rent``, times ``licensed``) falls as the rent rises; the
    rent is 0 where it fits at no rent, else found by bisection to :data:`RENT_BISECTIONS`
    halvings of a bracket that doubles from the highest export price until the tonnage fits. A
    quota of 0 (a ban) has no finite rent: it is 0 there, and the pro-rata cut stops the exports.
    """
    elements = landed.shape[0]

    def wanted(rent: float) -> float:
        total = 0.0
        for e in range(elements):
            total += desired_at(landed[e] + rent, export_price[e], want[e], sellers[e],
                                local[e], months, correction_yr, push_rate, gate,
                                one_value) * licensed[e]
        return total

    if not quota < np.inf or quota <= 0.0 or wanted(0.0) <= quota:
        return 0.0
    low, high = 0.0, 1.0
    for e in range(elements):
        high = np_maximum(high, export_price[e])
    for _ in range(64):                     # the push falls to 0 once the rent tops every price
        if wanted(high) <= quota:
            break
        low, high = high, 2.0 * high
    for _ in range(RENT_BISECTIONS):
        middle = 0.5 * (low + high)
        if wanted(middle) > quota:
            low = middle
        else:
            high = middle
    return high
