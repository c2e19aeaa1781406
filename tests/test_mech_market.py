"""Market mechanism: clearing, the export quota's allocation, the price rule and its bounds."""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
from reesim.model.mechanisms import market


def test_clearing_sells_the_smaller_side_and_rations_both_sides_pro_rata():
    offers = {"a": np.array([[10.0, 0.0, 6.0]]), "b": np.array([[30.0, 0.0, 2.0]])}
    wants = {"x": np.array([[5.0, 3.0, 1.0]]), "y": np.array([[15.0, 1.0, 3.0]])}
    done = market.clear(offers, wants)
    np.testing.assert_allclose(done.sold, [[20.0, 0.0, 4.0]])   # min(supply, want) per element
    # sellers: the same share of every offer; buyers: the same share of every want
    np.testing.assert_allclose(done.sold_by["a"], [[5.0, 0.0, 3.0]])
    np.testing.assert_allclose(done.sold_by["b"], [[15.0, 0.0, 1.0]])
    np.testing.assert_allclose(done.got_by["x"], [[5.0, 0.0, 1.0]])
    np.testing.assert_allclose(done.got_by["y"], [[15.0, 0.0, 3.0]])
    for side in (done.sold_by, done.got_by):
        np.testing.assert_allclose(sum(side.values()), done.sold)


def test_export_quota_allocation_sums_to_the_quota_and_favours_the_highest_premium():
    inp = model().inputs.market
    n_e = len(inp.reference_price_usd_per_kg)
    desired = np.full((1, n_e), 1000.0)                               # t/yr of every element
    rent = np.linspace(-5.0, 70.0, n_e)[None, :]                      # USD/kg premium abroad
    price_china = np.full((1, n_e), 20.0)
    quota = 5000.0
    allocated = market.allocate_quota(inp, desired, quota, rent, price_china)
    assert allocated.sum() == pytest.approx(quota, rel=1e-6)
    assert np.all(np.diff(allocated[0]) >= -1e-9)                     # more premium, more quota
    assert allocated[0, -1] > 0.99 * 1000.0 and allocated[0, 0] < 1.0
    # a quota that does not bind changes nothing
    np.testing.assert_array_equal(
        market.allocate_quota(inp, desired, 1e9, rent, price_china), desired)


def _one_price_step(stock_months: float):
    inp = model().inputs.market
    ref = inp.reference_price_usd_per_kg
    price = np.broadcast_to(ref, (1, 2, len(ref))).copy()
    want = np.full_like(price, 1200.0)                                 # t/yr
    target = inp.seller_coverage_months[0, 0, 0]
    stock = want / 12.0 * target * stock_months
    return price, market.update_prices(inp, price, price, stock, want)[0]


def test_prices_rise_when_sellers_hold_less_than_target_cover_and_fall_when_more():
    price, up = _one_price_step(0.5)
    assert np.all(up > price)
    price, down = _one_price_step(2.0)
    assert np.all(down < price)
    price, same = _one_price_step(1.0)
    np.testing.assert_allclose(same, price, rtol=1e-12)


def test_prices_stay_within_floor_and_choke_however_long_the_shortage_or_glut():
    inp = model().inputs.market
    floor, choke = np.exp(inp.log_floor_price), np.exp(inp.log_choke_price[0, 0])
    for stock_scale in (0.0, 1e6):
        ref = inp.reference_price_usd_per_kg
        price = np.broadcast_to(ref, (1, 2, len(ref))).copy()
        expected = price.copy()
        want = np.full_like(price, 1200.0)
        for _ in range(600):
            price, expected = market.update_prices(inp, price, expected, want * stock_scale, want)
            assert np.all(price >= floor * (1 - 1e-12)) and np.all(price <= choke * (1 + 1e-12))
        bound = choke if stock_scale == 0.0 else floor
        np.testing.assert_allclose(price[0, 0], bound, rtol=1e-6)   # reached, not passed


def test_sellers_hold_back_and_consumers_hoard_only_beyond_the_panic_threshold():
    inp = model().inputs.market
    ratio = float(model().params.panic_price_ratio[0])
    expected = np.ones((1, 2, 16))
    calm = market.panic(inp, expected * ratio * 0.99, expected)
    assert np.all(calm == 0.0)
    share = market.seller_offer_share(inp, market.panic(inp, expected * ratio * 3, expected))
    assert np.all(share < 1.0) and np.all(share >= inp.min_offer_share[0, 0, 0])
