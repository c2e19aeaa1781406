"""Sellers' carrying cost on stock beyond their target cover (``carrying_cost_per_yr``, opt-in)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reesim import load_scenario, simulate
from reesim.dims import DT_YR
from reesim.model.mechanisms.market import going_prices

MONTHS = np.array([3.0])


def _carry(held: float, want: float, cost: float) -> float:
    anchor = np.full((1, 2, 1), 40.0)
    going_prices.carry_anchors(anchor, np.full((1, 2, 1), held), np.full((1, 2, 1), want),
                               MONTHS, np.array([cost]), DT_YR)
    return float(anchor[0, 0, 0])


def test_a_stock_beyond_cover_marks_the_going_price_down_by_its_log_excess():
    # 12 months held against a 3-month target: ln 4 of excess, at 0.05 a year, for a month
    assert _carry(1200.0, 1200.0, 0.05) == 40.0 * math.exp(-0.05 * math.log(4.0) * DT_YR)
    assert _carry(2400.0, 1200.0, 0.05) < _carry(1200.0, 1200.0, 0.05)   # more stock, more


def test_nothing_is_marked_down_at_or_below_cover_without_buyers_or_without_cost():
    assert _carry(300.0, 1200.0, 0.05) == 40.0         # exactly the 3-month target
    assert _carry(100.0, 1200.0, 0.05) == 40.0
    assert _carry(5000.0, 0.0, 0.05) == 40.0           # no buyers: no cover to count
    assert _carry(5000.0, 1200.0, 0.0) == 40.0


def test_a_carrying_cost_lowers_a_glutted_price_and_off_changes_nothing():
    scenario = load_scenario("baotou", ["end_year=2004"])
    off = simulate(scenario).dataset
    # a batch with the carry's compiled path on (one member at 0.05): the member at 0 runs it
    # and must still be the default run, bit for bit
    both = simulate(scenario, members=2,
                    design={"carrying_cost_per_yr": np.array([0.0, 0.05])}).dataset
    zero, on = both.isel(member=[0]), both.isel(member=[1])
    assert np.array_equal(off.price.values, zero.price.values)

    def china_ce(dataset):
        return float(dataset.price.sel(element="Ce", market="china").sel(time="2004").mean())

    assert china_ce(on) < china_ce(off)                # China's Ce sellers held years of it


@settings(max_examples=200, deadline=None)
@given(held=st.floats(0.0, 1e7), more=st.floats(1.0, 10.0), want=st.floats(1.0, 1e6),
       cost=st.floats(0.0, 1.0), months=st.floats(0.5, 24.0))
def test_the_mark_down_never_raises_a_price_and_grows_with_the_stock(held, more, want, cost,
                                                                     months):
    def carried(stock: float) -> float:
        anchor = np.full((1, 2, 1), 40.0)
        going_prices.carry_anchors(anchor, np.full((1, 2, 1), stock), np.full((1, 2, 1), want),
                                   np.array([months]), np.array([cost]), DT_YR)
        return float(anchor[0, 1, 0])

    assert 0.0 < carried(held) <= 40.0
    assert carried(held * more) <= carried(held)
