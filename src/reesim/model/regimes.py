"""Market regimes of the Baotou cluster, chosen by name.

``free_market``: each Baotou producer sells its separated output alone and takes the price (its
output goes to the merchant inventory of Chinese sellers).

``trading_company``: the members sell only through one jointly owned company. Rule
``defend_price``: the company keeps a planned stockpile (built up over its first years), sells
what it holds above that plan only as far as the China price stands at or above its defended
price (a multiple of its trailing reference price), and sets its members' output to its sales
plus the stockpile gap. This is how the 2008 company avoided oversupply and held prices up.
"""

from __future__ import annotations

import numpy as np

from reesim.dims import DT_YR
from reesim.model.compile import Model

STOCKPILE_BUILD_YEARS = 5.0
"""The planned stockpile is built up linearly over five years (events_timeline 2011-04-05: the
Inner Mongolia reserve plan of ~300,000 t of RE mineral products over 5 years)."""
SALES_MEMORY_YR = 0.25
"""Averaging time of the company's sales, from which it plans output (an assumption: a quarter,
the cycle of the company's production plans is not in the data)."""


def planned_stockpile(model: Model, months_active: np.ndarray) -> np.ndarray:
    """Total stockpile the company plans to hold, (M,) t REO, built up over its first years."""
    options = model.scenario.market.trading_company
    build = np.minimum(np.maximum(months_active / (12.0 * STOCKPILE_BUILD_YEARS), 0.0), 1.0)
    return options.planned_stockpile_t_reo * build


def company_offer(model: Model, inventory: np.ndarray, price_china: np.ndarray,
                  reference: np.ndarray, planned: np.ndarray) -> np.ndarray:
    """What the company offers this month (rule ``defend_price``), (M, E) t REO.

    It acts as a buffer stock for its members: it sells all it holds of an element while the
    China price stands at or above its defended price (``defend_factor`` x its trailing
    reference price) and withholds the surplus below it, by (price / defended) ** sales_response,
    as long as its stockpile (valued in tonnes of members' output) is within plan; beyond the
    plan it sells at any price.
    """
    options = model.scenario.market.trading_company
    ratio = price_china / (options.defend_factor * reference)
    withhold = 1.0 - np.minimum(np.maximum(ratio, 0.0), 1.0) ** options.sales_response
    mix = model.constants.tc_member_mix
    value_per_t = np.maximum(np.einsum("me,e->m", price_china, mix), 1e-9)
    held = (inventory * price_china).sum(axis=1) / value_per_t
    room = np.minimum(np.maximum(1.0 - held / np.maximum(planned, 1e-9), 0.0), 1.0)
    return inventory * (1.0 - withhold * room[:, None])


def output_plan(model: Model, sales_value: np.ndarray, inventory: np.ndarray,
                planned: np.ndarray, price_china: np.ndarray,
                months_active: np.ndarray) -> np.ndarray:
    """Members' total output cap (M,) t REO/yr, planned in value terms.

    The company has its members produce what its recent sales are worth in members'
    concentrate, plus the value still missing from its planned stockpile (or less the overfill),
    spread over the stock adjustment time: when it withholds sales to defend prices, output
    follows. Planning in value keeps a pile of cheap by-products (Ce) from stopping the
    production of the Nd that sells.
    """
    options = model.scenario.market.trading_company
    mix = model.constants.tc_member_mix
    value_per_t = np.maximum(np.einsum("me,e->m", price_china, mix), 1e-9)
    held = (inventory * price_china).sum(axis=1) / value_per_t          # t of members' output
    plan = sales_value / value_per_t + (planned - held) / options.stock_adjustment_time_yr
    return np.where(months_active < 1, np.inf, np.maximum(plan, 0.0))


def update_company_memory(model: Model, reference: np.ndarray, sales_rate: np.ndarray,
                          price_china: np.ndarray, sales: np.ndarray,
                          months_active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trailing reference price (M, E) and smoothed value of sales (M,) t x USD/kg per yr."""
    rate = model.rates["company_reference"]
    reference = np.exp(np.log(reference) + (np.log(price_china) - np.log(reference)) * rate)
    value = (sales * price_china).sum(axis=1)
    smoothed = sales_rate + (value - sales_rate) * (
        1.0 - np.exp(-DT_YR / SALES_MEMORY_YR))
    return reference, np.where(months_active < 1, value, smoothed)
