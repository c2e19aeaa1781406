"""Market mechanism: clearing, the export quota, the price rule and its bounds, perceived prices."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mech import model
from reesim.dims import DT_YR
from reesim.model.mechanisms import market
from reesim.model.mechanisms.market import arbitrage, going_prices, holds, price_rule
from reesim.model.state import initial_state


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


def _solve(inp, supply_months: float, want_t: float = 100.0, anchor_ratio: float = 1.0):
    """Clearing price (1, E) with ``supply_months`` x the month's wants on offer."""
    ref = np.log(inp.reference_price_usd_per_kg)[None, :]
    n_e = ref.shape[1]
    supply = np.full((1, n_e), want_t * supply_months)
    return np.exp(price_rule.solve_log_price(inp, supply, 0.0, np.full((1, n_e), want_t), ref,
                                         ref + np.log(anchor_ratio), inp.log_choke_price[:, 0]))


def test_each_member_clears_at_the_price_it_gets_alone():
    """The compiled solve works element by element: a batch changes no member's bits."""
    batch, alone = model(members=4).inputs.market, model().inputs.market
    rng = np.random.default_rng(7)
    ref = np.log(batch.reference_price_usd_per_kg)[None, :]
    shape = (4, ref.shape[1])
    supply, fixed, elastic = (rng.uniform(0.0, 500.0, shape) for _ in range(3))
    supply[0, :3] = 0.0                           # an empty market and thin ones among them
    fixed[0, :3] = elastic[0, :3] = 0.0
    last, anchor = ref + rng.normal(0.0, 0.5, shape), ref + rng.normal(0.0, 0.5, shape)
    together = price_rule.solve_log_price(batch, supply, fixed, elastic, last, anchor,
                                      batch.log_choke_price[:, 0])
    for m in range(4):
        one = price_rule.solve_log_price(alone, supply[m:m + 1], fixed[m:m + 1], elastic[m:m + 1],
                                     last[m:m + 1], anchor[m:m + 1], alone.log_choke_price[:, 0])
        np.testing.assert_array_equal(together[m:m + 1], one)


def test_the_solved_price_clears_its_market_or_sits_at_the_bound_it_is_pushed_to():
    """The safeguarded Newton solve: inside the band the excess (sellers' reservation against
    the price) is zero to 1e-9 in log price; at the band's top the market is still short, at
    its bottom still glutted. Checked in numpy, apart from the solver, over 2,000 random
    market-elements from empty to 40 months of stock (a symmetric price rule, rho = 1, so that
    gluts reach the band's bottom whatever the fit)."""
    inp = _symmetric(model(members=8).inputs.market)
    rng = np.random.default_rng(11)
    ref = np.log(inp.reference_price_usd_per_kg)[None, :]
    shape = (8 * 16, ref.shape[1])
    members = np.repeat(np.arange(8), 16)
    want = rng.lognormal(np.log(100.0), 1.5, shape)                        # t for the month
    fixed = want * rng.uniform(0.0, 0.6, shape)
    supply = want * rng.lognormal(np.log(3.0), 1.5, shape) * rng.uniform(0.0, 2.0, shape)
    last, anchor = ref + rng.normal(0.0, 0.7, shape), ref + rng.normal(0.0, 0.3, shape)
    pick = dataclasses.replace(inp, **{f.name: getattr(inp, f.name)[members] for f in
                                       dataclasses.fields(inp) if _member_field(inp, f.name)})
    x = price_rule.solve_log_price(pick, supply, fixed, want - fixed, last, anchor,
                               pick.log_choke_price[:, 0])
    scarcity, eps, beta, glut, width, log_target = (
        v[:, None] for v in price_rule._price_rule(pick, 1 / 12))
    elastic_want = (want - fixed) * np.exp(eps * (x - last))
    taken = fixed + elastic_want
    tiny = price_rule.TINY_T
    ratio = np.log(np.maximum(taken, tiny) / np.maximum(supply - taken, tiny))
    soft_min = -width * np.logaddexp(0.0, -(log_target + ratio) / width)   # ~ min(s, 0)
    excess = x - beta * ratio - glut * soft_min - (anchor + beta * log_target)
    low = np.maximum(pick.log_floor_price[None, :], anchor - scarcity)
    high = np.maximum(np.minimum(pick.log_choke_price[:, 0], anchor + scarcity), low)
    at_low, at_high = np.isclose(x, low, rtol=0, atol=1e-12), np.isclose(x, high, rtol=0,
                                                                         atol=1e-12)
    inside = ~at_low & ~at_high
    assert inside.sum() > 500 and at_high.sum() > 100 and at_low.sum() > 10   # all occur
    assert np.abs(excess[inside]).max() < 1e-9
    assert (excess[at_high] <= 1e-9).all() and (excess[at_low] >= -1e-9).all()


def _member_field(inp, name: str) -> bool:
    value = getattr(inp, name)
    return isinstance(value, np.ndarray) and value.ndim >= 2 and value.shape[0] == 8


def _symmetric(inp: market.MarketInputs) -> market.MarketInputs:
    """``inp`` with the glut response equal to the shortage response (rho = 1): the tests of
    the rule's shape must not depend on the fitted rho (0.054 in the 2026-12-03 fit, where a
    glut of 1e12 months lowers a price by only 30%)."""
    return dataclasses.replace(inp, glut_sensitivity_ratio=np.ones_like(
        inp.glut_sensitivity_ratio))


def test_the_month_clears_at_the_going_price_when_sellers_keep_their_target_cover():
    inp = _symmetric(model().inputs.market)
    ref = inp.reference_price_usd_per_kg
    target = float(inp.seller_coverage_months[0, 0, 0])
    # sellers hold the month's wants plus their target cover: all is sold at the going price
    np.testing.assert_allclose(_solve(inp, 1.0 + target)[0], ref, rtol=2e-5)
    # less stock: a higher price that cuts the wants; more stock: a lower one
    assert np.all(_solve(inp, 0.5 * (1.0 + target)) > ref * 1.05)
    assert np.all(_solve(inp, 2.0 * (1.0 + target)) < ref / 1.05)


def test_prices_respond_less_to_ample_stocks_than_to_scarce_ones():
    """The supply-of-storage curve: above target cover the price falls with slope rho x beta in
    log cover, below it rises with beta; rho = 1 is the old symmetric rule."""
    base = model().inputs.market
    target = float(base.seller_coverage_months[0, 0, 0])
    beta = 0.3

    def solve(rho: float, cover_ratio: float, width: float = 0.02) -> np.ndarray:
        inp = dataclasses.replace(base, coverage_sensitivity=np.full((1, 1, 1), beta),
                                  glut_sensitivity_ratio=np.full((1, 1, 1), rho),
                                  glut_width=np.full((1, 1, 1), width),
                                  purchase_elasticity=np.zeros((1, 1)))
        # fixed wants of 100 t and stock left of cover_ratio x target months of them
        return _solve(inp, 1.0 + cover_ratio * target) / base.reference_price_usd_per_kg

    for rho in (1.0, 0.25):
        glut, short = solve(rho, 4.0), solve(rho, 0.25)
        np.testing.assert_allclose(np.log(short), beta * np.log(4.0), rtol=1e-4)
        np.testing.assert_allclose(np.log(glut), -rho * beta * np.log(4.0), rtol=1e-4)
    # the slope changes over the transition width, not at one point: the packaged width's
    # local slope d ln p / d ln cover moves monotonically from -beta to -rho * beta, and at the
    # target it is halfway (the softplus weight is 1/2 there)
    width = float(base.glut_width[0, 0, 0])
    log_cover = np.linspace(-4 * width, 4 * width, 81)
    log_p = np.array([np.log(solve(0.25, float(np.exp(c)), width)) for c in log_cover])
    slope = np.diff(log_p, axis=0) / np.diff(log_cover)[:, None]
    assert np.all(np.diff(slope, axis=0) >= -1e-9)                  # from -beta up to -rho beta
    assert np.all(slope[0] < -0.9 * beta) and np.all(slope[-1] > -1.1 * 0.25 * beta)
    mid = slope[len(slope) // 2 - 1: len(slope) // 2 + 1].mean(axis=0)
    np.testing.assert_allclose(mid, -0.5 * (1 + 0.25) * beta, rtol=0.02)


def test_a_shortage_clears_by_price_with_the_short_run_purchase_elasticity():
    inp = model().inputs.market
    eps = float(price_rule.within_step_elasticity(inp, DT_YR)[0])   # the perception moves in-step
    beta = float(inp.coverage_sensitivity[0, 0, 0])
    target = float(inp.seller_coverage_months[0, 0, 0])
    ref = inp.reference_price_usd_per_kg
    # 80% of the month's wants on offer and nothing held back: the root of
    # ln p = beta * ln(target * want(p) / left(p)), want(p) = 100 p ** eps, left = 80 - want
    price = _solve(inp, 0.8, anchor_ratio=1.0)[0] / ref
    want = 100.0 * price ** eps
    # buyers cut, sellers keep a little (68.7 t bought at the 2026-12-03 fit, beta 0.5)
    assert np.all(want < 80.0) and np.all(want > 64.0)
    np.testing.assert_allclose(np.log(price), beta * np.log(target * want / (80.0 - want)),
                               rtol=1e-4, atol=2e-5)
    assert np.all(price > 0.8 ** (1.0 / eps))               # at least the elasticity's price


def test_prices_stay_within_floor_choke_and_the_band_around_the_going_price():
    inp = _symmetric(model().inputs.market)
    ref = inp.reference_price_usd_per_kg
    band = float(np.exp(inp.log_max_scarcity[0, 0]))
    floor, choke = np.exp(inp.log_floor_price), np.exp(inp.log_choke_price[0, 0])
    # a glut of 1e12 months of wants (at a coverage sensitivity of 0.14 a glut of 1e6 months
    # lowers the price only to 0.26x the going price, inside the 0.25x band)
    empty, glut = _solve(inp, 0.0)[0], _solve(inp, 1e12)[0]
    np.testing.assert_allclose(empty, np.minimum(ref * band, choke), rtol=2e-5)
    np.testing.assert_allclose(glut, np.maximum(ref / band, floor), rtol=2e-5)


def test_sellers_hold_back_and_consumers_hoard_only_beyond_the_panic_threshold():
    # the mechanism at a hoarding sensitivity of 1 (a fit may switch it off: the twenty-fourth
    # session's sits at 0, its prior's bottom)
    inp = model("parameters.hoarding_sensitivity=1.0").inputs.market
    ratio = float(model().params.panic_price_ratio[0])
    expected = np.ones((1, 2, 16))
    calm = holds.panic(inp, expected * ratio * 0.99, expected)
    assert np.all(calm == 0.0)
    assert np.all(holds.seller_hold(inp, calm) == 0.0)
    hold = holds.seller_hold(inp, holds.panic(inp, expected * ratio * 3, expected))
    assert np.all(hold > 0.0) and np.all(hold <= np.log(inp.max_hoard_multiple[0, 0, 0]) + 1e-12)



def test_consumers_buy_their_use_and_close_a_step_independent_share_of_the_cover_gap():
    """Purchases are use plus ``(target - stock) * (1 - exp(-dt / T)) / dt``, the exact share of
    a first-order correction over the step; the target cover, ``coverage`` months of use, grows
    with panic by ``1 + hoarding * momentum`` up to ``max_hoard_multiple``; never negative."""
    inp = model("parameters.hoarding_sensitivity=1.0").inputs.market
    months, tau, most = (float(inp.consumer_coverage_months[0, 0, 0]),
                         float(inp.consumer_adjustment_yr[0, 0, 0]),
                         float(inp.max_hoard_multiple[0, 0, 0]))
    use, empty = np.full((1, 2, 16), 120.0), np.zeros((1, 2, 16))
    for dt in (DT_YR, DT_YR / 4):
        rate = (1.0 - np.exp(-dt / tau)) / dt
        calm = holds.consumer_purchases(inp, use, empty, empty, dt)
        np.testing.assert_allclose(calm, 120.0 + months * 10.0 * rate, rtol=1e-12)
        uneasy = holds.consumer_purchases(inp, use, empty, empty + 0.25, dt)
        np.testing.assert_allclose(uneasy, 120.0 + months * min(1.25, most) * 10.0 * rate,
                                   rtol=1e-12)
        panic = holds.consumer_purchases(inp, use, empty, empty + 100.0, dt)
        np.testing.assert_allclose(panic, 120.0 + months * most * 10.0 * rate, rtol=1e-12)
        assert (holds.consumer_purchases(inp, use, empty + 1e9, empty, dt) == 0.0).all()

def test_sellers_holding_for_higher_prices_raise_the_clearing_price():
    """Speculative holding is a higher reserved cover: the same stock clears at a higher price
    (and a doubled cover target at the cover's elasticity: 2 ** beta, on a symmetric rule)."""
    inp = _symmetric(model().inputs.market)
    ref = np.log(inp.reference_price_usd_per_kg)[None, :]
    n_e = ref.shape[1]
    supply, want = np.full((1, n_e), 300.0), np.full((1, n_e), 100.0)
    calm = price_rule.solve_log_price(inp, supply, want, 0.0 * want, ref, ref,
                                  inp.log_choke_price[:, 0])
    held = price_rule.solve_log_price(inp, supply, want, 0.0 * want, ref, ref,
                                  inp.log_choke_price[:, 0], log_hold=np.log(2.0))
    beta = float(inp.coverage_sensitivity[0, 0, 0])
    inside = (held < inp.log_choke_price[:, 0]) & (calm > inp.log_floor_price)
    assert inside.any()
    np.testing.assert_allclose((held - calm)[inside], beta * np.log(2.0), rtol=1e-6)


def test_the_perceived_price_does_not_depend_on_the_step():
    """The perceived price (the reference of the purchase elasticity and of panic) is a log lag
    over ``price_perception_time_yr``: two half steps at a price move it as one whole step does
    (last step's price in its place made the elasticity fade with finer steps)."""
    inp = model().inputs.market
    start = np.full((1, 2, 16), 10.0)
    price = start * 3.0
    one = going_prices.update_expectations(inp, price, start, start, start)[2]
    half = going_prices.update_expectations(inp, price, start, start, start, dt=1 / 24)[2]
    two = going_prices.update_expectations(inp, price, half, half, half, dt=1 / 24)[2]
    np.testing.assert_allclose(two, one, rtol=1e-12)
    tau = float(inp.perception_time_yr[0, 0, 0])
    np.testing.assert_allclose(np.log(one / start), np.log(3.0) * (1 - np.exp(-1 / 12 / tau)))


def test_a_market_without_stock_or_buyers_keeps_its_last_price():
    """No trade, no news: the price holds (within the band around the going price). The
    bisection used to narrow the bracket first, so such a market jumped to about
    anchor x (target months / month) ** beta (e.g. last 10, anchor 12: 13.08)."""
    inp = model().inputs.market
    n_e = inp.reference_price_usd_per_kg.shape[0]
    last = np.log(inp.reference_price_usd_per_kg)[None, :]
    anchor = last + np.log(1.2)
    zero = np.zeros((1, n_e))
    held = price_rule.solve_log_price(inp, zero, 0.0, zero, last, anchor, inp.log_choke_price[:, 0])
    np.testing.assert_allclose(held, last, rtol=0, atol=1e-12)



def _month_in_2030(china_premium: float, licensed_fraction: float, intention: str,
                   china_supply_t_per_yr: float, quota_t_per_yr: float = np.inf):
    """One 2030 month of trade (an export quota of ``quota_t_per_yr``) under licences granting
    ``licensed_fraction`` of desired exports: China's price is ``china_premium`` x the export
    price, each market's buyers want 1,000 t/yr, China separates ``china_supply_t_per_yr`` and
    the export market 1,000 t/yr less than it. Traders' ``intention`` starts ``settled`` on the
    licensed desire, at the ``unlicensed`` desire of the month before, or at ``zero``. Returns
    desired exports (1, E) t/yr and the trade."""
    m = model()
    t = (2030 - 2000) * 12
    inp = dataclasses.replace(m.inputs.market, export_licensed=np.full_like(
        m.inputs.market.export_licensed, licensed_fraction), export_quota_t_per_yr=np.full_like(
        m.inputs.market.export_quota_t_per_yr, quota_t_per_yr))
    state = initial_state(m)
    stocks = market.Stocks(state.inventory.copy())
    n_e = state.price.shape[2]
    price = state.price.copy()
    price[:, 0] = china_premium * price[:, 1]
    want = np.full_like(price, 1000.0)
    supply = (np.full((1, n_e), china_supply_t_per_yr),
              np.full((1, n_e), max(1000.0 - china_supply_t_per_yr, 0.0)))
    landed = price[:, 0] * (1.0 + inp.export_tax[t]) + inp.trade_cost_usd_per_kg
    desired = market.desired_trade(inp, landed, price[:, 1], want[:, 1],
                                   stocks.producers_export, supply[1])
    flow = {"settled": licensed_fraction, "unlicensed": 1.0, "zero": 0.0}[intention] * desired
    orders = market.reserve_orders(inp, t, stocks, np.zeros((1, 2, n_e)))
    traded = market.trade(inp, t, stocks, price, price.copy(), price.copy(),
                          np.zeros_like(price), want, np.zeros((1, n_e)), orders, flow, supply,
                          want, holds.world_drain(want, supply))
    return desired, traded


@pytest.mark.parametrize("fraction", [1.0, 0.4])
def test_a_licence_grants_its_share_of_desired_exports_once(fraction):
    """The licensed share applies once: with the intention settled, exports are ``f`` x what
    traders want (the old rule applied it to the intention and again to the shipments: 0.16 of
    the desire under the 2025 controls' 0.4, which made small export markets cycle)."""
    desired, traded = _month_in_2030(1 / 1.5, fraction, "settled", 5000.0)  # a premium abroad
    assert desired.min() > 0.0 and not traded.imports.any()         # China supplied: no imports
    np.testing.assert_allclose(traded.exports_wanted, fraction * desired, rtol=1e-12)


def test_a_new_licence_bites_in_its_first_month():
    """Shipments never exceed the month's grant, even while the intention still carries the
    unlicensed tonnage of the month before (the 2010 Japan embargo cut at once)."""
    desired, traded = _month_in_2030(1 / 1.5, 0.5, "unlicensed", 5000.0)
    assert desired.min() > 0.0
    np.testing.assert_allclose(traded.exports_wanted, 0.5 * desired, rtol=1e-12)


def _import_month(intention_t_per_yr: float, foreign_stock_t: float):
    """One 2030 month with China dearer than the export market (2x) and traders' net intention
    ``-intention_t_per_yr`` (imports into China); foreign sellers hold ``foreign_stock_t`` t of
    every element and foreign consumers want 12,000 t/yr. Returns the trade and the stocks."""
    m = model()
    t = (2030 - 2000) * 12
    inp, state = m.inputs.market, initial_state(m)
    stocks = market.Stocks(state.inventory.copy())
    stocks.producers_export[:] = foreign_stock_t
    n_e = state.price.shape[2]
    price = state.price.copy()
    price[:, 0] = 2.0 * price[:, 1]
    want = np.full_like(price, 12_000.0)
    flow = np.full((1, n_e), -intention_t_per_yr)
    orders = market.reserve_orders(inp, t, stocks, np.zeros((1, 2, n_e)))
    zero = np.zeros((1, n_e))
    traded = market.trade(inp, t, stocks, price, price.copy(), price.copy(),
                          np.zeros_like(price), want, zero, orders, flow, (zero, zero), want,
                          holds.world_drain(want, (zero, zero)))
    return traded, stocks


def test_imports_are_bought_in_the_export_market_beside_foreign_consumers():
    """Importers buy in the export market: their wants raise its price and, when sellers run
    short, they are rationed pro rata with foreign consumers. Before 2026-12-03 imports were
    taken out of foreign sellers' stock ahead of the market at any price, and baotou's
    projection drew Dy into China out of a rationed export market paying 6x China's price."""
    alone, _ = _import_month(0.0, 3000.0)                     # 3 months of consumers' wants
    lifted, _ = _import_month(24_000.0, 3000.0)               # importers want 2,000 t more
    assert np.all(lifted.price[:, 1] > alone.price[:, 1])     # import demand lifts the price
    # short: 3,000 t wanted against 1,500 held; at the cap sellers still keep the cover their
    # rule asks (at the thirty-first session's fit all of 600 t), so they sell part of it, or
    # nothing where that cover is all they hold (Tb, Dy, Lu and Sc at the forty-second
    # session's fit, whose coverage sensitivity is 0.49 against 0.28)
    traded, stocks = _import_month(24_000.0, 1500.0)
    got_ce = traded.abroad.got_by[market.CONSUMERS_EXPORT]
    np.testing.assert_allclose(traded.imports + got_ce, traded.abroad.sold, rtol=1e-12)
    assert np.all(traded.abroad.sold <= 1500.0 + 1e-9)        # within what sellers held
    selling = traded.abroad.sold > 0.0
    assert selling.sum() >= selling.size // 2                  # most elements still trade
    # rationed together: both get the same share of their (price-adjusted) wants
    share_in = traded.imports / 2000.0
    assert np.all(share_in < 1.0) and np.all(got_ce[selling] > 0.0)
    assert np.all(traded.imports[selling] > 0.0)
    eps = float(price_rule.within_step_elasticity(model().inputs.market, DT_YR)[0])
    perceived = initial_state(model()).price[:, 1]            # the perceived price passed in
    consumers_want = 1000.0 * (traded.price[:, 1] / perceived) ** eps      # t this month
    importers_want = np.maximum(-traded.flow, 0.0) / 12.0     # the month's intention, t
    np.testing.assert_allclose(got_ce / consumers_want, traded.imports / importers_want,
                               rtol=1e-9)
    np.testing.assert_allclose(traded.abroad.got_by["importers"], traded.imports)
    np.testing.assert_allclose(stocks.producers_export, 1500.0 - traded.abroad.sold, rtol=1e-12)


def test_oxides_move_into_china_only_when_they_pay():
    """China buys ore and concentrate under supply agreements, not oxides: separated oxides move
    in only as spot arbitrage, when China's price covers the export price and the trade cost.
    Until 2026-12-07 the rule filled China's requirement at a loss (gated by
    (p_China / landed)^2: 27% of it at half the landed cost), and the baseline imported 343 t of
    Dy into China in 2030 from a market paying more (a strict xfail since 2026-12-02)."""
    _, cheaper = _month_in_2030(0.9, 1.0, "zero", 0.0)        # China short and cheaper: none
    assert cheaper.abroad.sold.any() and not cheaper.imports.any()
    _, dearer = _month_in_2030(2.0, 1.0, "zero", 0.0)           # China short and dearer: they come
    selling = dearer.abroad.sold > 0.0       # where foreign sellers sell beyond their own cover
    assert selling.sum() >= selling.size // 2
    assert (dearer.imports[selling] > 0.0).all()


def test_the_share_of_intended_imports_carried_out_rises_from_the_landed_cost_to_the_margin():
    """None at or below the landed cost, all from the ceiling multiple of it (1.1 by default),
    linear in log price between; a ceiling of 1 carries everything above the landed cost."""
    log_ceiling = math.log(1.1)
    assert arbitrage.import_share(9.0, 10.0, log_ceiling) == 0.0
    assert arbitrage.import_share(10.0, 10.0, log_ceiling) == 0.0
    assert arbitrage.import_share(11.0, 10.0, log_ceiling) == 1.0
    assert arbitrage.import_share(30.0, 10.0, log_ceiling) == 1.0
    assert arbitrage.import_share(10.5, 10.0, log_ceiling) == pytest.approx(
        math.log(1.05) / log_ceiling, rel=1e-12)
    assert arbitrage.import_share(10.001, 10.0, 0.0) == 1.0
    assert arbitrage.import_share(10.0, 10.0, 0.0) == 0.0


def test_traders_close_a_stock_gap_over_the_correction_ratio_times_their_adjustment_time():
    """The import requirement corrects the destination sellers' stock toward target over
    ``trade_stock_correction_ratio`` x the traders' adjustment time (0.5 yr): at ratio 1 the loop
    is underdamped (damping ratio 0.5; the post-2011 Dy and La export cycles), at 2 it is 0.71."""
    want = np.full((1, 16), 1200.0)                           # t/yr
    landed = np.full((1, 16), 10.0)
    short = np.zeros((1, 16))                                 # sellers hold nothing
    for ratio in (1.0, 2.0, 4.0):
        inp = model(f"constants.trade_stock_correction_ratio={ratio}").inputs.market
        gap = float(inp.seller_coverage_months[0, 0, 0]) * 1200.0 / 12.0           # t
        wanted = market.desired_trade(inp, landed, landed, want, short, np.zeros((1, 16)))
        np.testing.assert_allclose(wanted, 1200.0 + gap / (ratio * 0.5), rtol=1e-12)


def test_a_binding_export_quota_is_shared_pro_rata_over_the_elements_exported():
    """Quotas were granted to exporting companies by tonnage, each shipping its own mix: a
    binding quota scales every element's exports by the same factor and fills it exactly (the
    former allocation by lagged export premium switched thin markets like Sm on and off from
    month to month, and its paths moved by a factor 2 between one and two steps a month)."""
    _, free = _month_in_2030(1 / 1.5, 1.0, "settled", 5000.0)
    quota = 0.4 * float(free.exports_wanted.sum())
    _, bound = _month_in_2030(1 / 1.5, 1.0, "settled", 5000.0, quota)
    assert float(bound.exports_wanted.sum()) == pytest.approx(quota, rel=1e-12)
    np.testing.assert_allclose(bound.exports_wanted, 0.4 * free.exports_wanted, rtol=1e-12)


def test_sellers_keep_their_reserved_cover_when_the_price_is_at_its_cap():
    """At the scarcity cap buyers are rationed to what sellers release at that price, not to
    the whole stock: the stock left covers the rule's cover at the cap price."""
    inp = model().inputs.market
    n_e = len(inp.reference_price_usd_per_kg)
    ref = np.log(inp.reference_price_usd_per_kg)[None, :]
    supply, want = np.full((1, n_e), 100.0), np.full((1, n_e), 1000.0)   # t in the step
    x = price_rule.solve_log_price(inp, supply, want, 0.0 * want, ref, ref,
                                   inp.log_choke_price[:, 0])
    cap = np.minimum(inp.log_choke_price[:, 0], ref + inp.log_max_scarcity[0, 0])
    np.testing.assert_allclose(x, cap)                                   # short at the cap
    beta = float(inp.coverage_sensitivity[0, 0, 0])
    log_target = float(np.log(inp.seller_coverage_months[0, 0, 0]))      # months per step: 1
    for e in range(n_e):
        wants = np.array([600.0, 400.0])
        market._reserve_at_cap(wants, 100.0, float(x[0, e]), float(cap[0, e]), float(ref[0, e]),
                               log_target, beta)
        kept = 1000.0 * np.exp(log_target - (x[0, e] - ref[0, e]) / beta)
        np.testing.assert_allclose(wants.sum(), max(100.0 - kept, 0.0), rtol=1e-12)
        np.testing.assert_allclose(wants[0] / wants.sum(), 0.6, rtol=1e-12)


def test_what_a_market_at_its_cap_sells_in_a_month_does_not_depend_on_the_step():
    """A market short at its price cap with no new supply: one step of a month and two steps of
    half a month sell the same tonnage (the stock above the cover sellers keep at the cap, a
    cover in months of buyers' interest, whatever the step), and sellers keep some. The rule
    before 2026-12-03 sold the whole stock in the first step at the cap."""
    inp = model().inputs.market
    n_e = len(inp.reference_price_usd_per_kg)
    ref = np.log(inp.reference_price_usd_per_kg)[None, :]
    cap = np.minimum(inp.log_choke_price[:, 0], ref + inp.log_max_scarcity[0, 0])
    beta = float(inp.coverage_sensitivity[0, 0, 0])
    months = float(inp.seller_coverage_months[0, 0, 0])
    sold = {}
    for steps in (1, 2):
        dt = 1.0 / 12.0 / steps
        stock = np.full((1, n_e), 100.0)                     # t, no supply arrives
        sold[steps] = np.zeros(n_e)
        for _ in range(steps):
            want = np.full((1, n_e), 12_000.0 * dt)           # 1,000 t a month of wants
            x = price_rule.solve_log_price(inp, stock, want, 0.0 * want, ref, ref,
                                       inp.log_choke_price[:, 0], dt)
            np.testing.assert_allclose(x, cap)                # short at the cap
            for e in range(n_e):
                wants = np.array([want[0, e]])
                market._reserve_at_cap(wants, float(stock[0, e]), float(x[0, e]),
                                       float(cap[0, e]), float(ref[0, e]),
                                       float(np.log(months / (12.0 * dt))), beta)
                stock[0, e] -= wants[0]
                sold[steps][e] += wants[0]
    np.testing.assert_allclose(sold[2], sold[1], rtol=1e-12)
    assert np.all(sold[1] > 0.0) and np.all(sold[1] < 100.0)


def test_free_exports_compete_the_export_going_price_down_to_the_landed_cost():
    """The law of one price with the export side's lag: where licences and the quota let all
    exports go, an export going price above ``export_ceiling_multiple`` x China's landed cost
    closes its log excess at the arbitrage time's rate; a blocked trade keeps its premium,
    China's going price (below the import side's ceiling) is untouched, and a going price under
    the ceiling stays."""
    inp = model(members=2).inputs.market
    t = 0
    price = np.full((2, 2, 16), 10.0)
    landed = price[:, 0] * (1.0 + inp.export_tax[t]) + inp.trade_cost_usd_per_kg   # (M, E)
    ceiling = landed * np.exp(inp.log_export_ceiling)
    anchor = np.stack([price[:, 0], 3.0 * ceiling], axis=1)
    free = np.ones((2, 16))
    free[1] = 0.0                                                    # member 1: trade blocked
    stock, want = np.full((2, 16), 1e6), np.full((2, 16), 100.0)     # ample foreign stock

    def compete(anchor: np.ndarray) -> np.ndarray:
        return going_prices.compete_anchors(inp, t, price, anchor, free, stock, want, DT_YR)

    out = compete(anchor)
    closes = 1.0 - np.exp(-DT_YR / inp.arbitrage_time_yr[0, 0])
    np.testing.assert_allclose(np.log(out[0, 1] / anchor[0, 1]), -np.log(3.0) * closes,
                               rtol=1e-12)
    np.testing.assert_array_equal(out[1], anchor[1])               # no free trade: no pull
    np.testing.assert_array_equal(out[:, 0], anchor[:, 0])         # China's own going price
    below = np.stack([price[:, 0], 0.9 * ceiling], axis=1)
    np.testing.assert_array_equal(compete(below), below)
    # a year of months at full freedom closes the excess as exp(-1 yr / arbitrage time)
    held = anchor.copy()
    for _ in range(12):
        held = compete(held)
    np.testing.assert_allclose(np.log(held[0, 1] / ceiling[0]),
                               np.log(3.0) * np.exp(-1.0 / inp.arbitrage_time_yr[0, 0]),
                               rtol=1e-9)


def test_china_going_price_is_drawn_to_the_landed_cost_of_foreign_stock_it_can_buy():
    """Imports are free, so China's going price above the ceiling x the landed cost of
    export-market oxide (export price + trade cost) closes its log excess at the arbitrage rate,
    in proportion to what foreign sellers hold against the China market's working stock (at
    most 1); without foreign stock, or below the ceiling, it stays."""
    inp = model(members=3).inputs.market
    t = 0
    price = np.full((3, 2, 16), 10.0)
    landed_in = price[:, 1] + inp.trade_cost_usd_per_kg                             # (M, E)
    ceiling = landed_in * np.exp(inp.log_export_ceiling)
    anchor = np.stack([3.0 * ceiling, price[:, 1]], axis=1)
    want = np.full((3, 16), 1200.0)                                  # t/yr China's purchases
    working = inp.seller_coverage_months[:, 0] * want / 12.0                       # t
    stock = np.stack([2.0 * working[0], 0.5 * working[1], 0.0 * working[2]])
    out = going_prices.compete_anchors(inp, t, price, anchor, np.ones((3, 16)), stock, want, DT_YR)
    closes = 1.0 - np.exp(-DT_YR / inp.arbitrage_time_yr[:, 0])
    np.testing.assert_allclose(np.log(out[0, 0] / anchor[0, 0]), -np.log(3.0) * closes[0],
                               rtol=1e-12)
    np.testing.assert_allclose(np.log(out[1, 0] / anchor[1, 0]),
                               -0.5 * np.log(3.0) * closes[1], rtol=1e-12)
    np.testing.assert_array_equal(out[2], anchor[2])               # nothing abroad to buy
    np.testing.assert_array_equal(out[:, 1], anchor[:, 1])         # export price at its cost
    below = np.stack([0.9 * ceiling, price[:, 1]], axis=1)
    np.testing.assert_array_equal(
        going_prices.compete_anchors(inp, t, price, below, np.ones((3, 16)), stock, want, DT_YR),
        below)


def _china_month(foresight_yr: float, supply_t_per_yr: float):
    """One 2030 month of China's market holding 2,000 t of every element (about 2 months of
    its buyers' 12,000 t/yr; the export market's buyers want as much) with ``supply_t_per_yr``
    delivered to China and none abroad, no trade intention so far; sellers see the world's
    drain ``foresight_yr`` ahead. Returns China's clearing prices (1, E) USD/kg."""
    m = model()
    t = (2030 - 2000) * 12
    inp = dataclasses.replace(m.inputs.market,
                              drain_foresight_yr=np.full((1, 1, 1), foresight_yr))
    state = initial_state(m)
    stocks = market.Stocks(state.inventory.copy())
    stocks.producers_china[:] = 2000.0
    n_e = state.price.shape[2]
    price = state.price.copy()
    want = np.full_like(price, 12_000.0)
    zero = np.zeros((1, n_e))
    orders = market.reserve_orders(inp, t, stocks, np.zeros((1, 2, n_e)))
    supply = (np.full((1, n_e), supply_t_per_yr), zero)
    traded = market.trade(inp, t, stocks, price, price.copy(), price.copy(),
                          np.zeros_like(price), want, zero, orders, zero, supply, want,
                          holds.world_drain(want, supply))
    return traded.price[:, 0]


def test_sellers_who_see_a_drain_reserve_against_it():
    """Sellers in both markets add the stock the element's world deficit (consumers' use less
    separated output, trade netting out) would take over their foresight horizon to their
    target cover: a world drawn down at 6,000 t/yr clears China dearer with foresight, the more
    so the farther they see; a world whose supply covers its use clears at the same price with
    or without it."""
    inp = model().inputs.market
    use = np.full((1, 2, 16), 12_000.0)                       # t/yr in each market
    supply = (np.full((1, 16), 3_000.0), np.full((1, 16), 15_000.0))
    target = float(inp.seller_coverage_months[0, 0, 0]) * 24_000.0 / 12.0          # t
    for years in (0.0, 0.5, 2.0):
        seeing = dataclasses.replace(inp, drain_foresight_yr=np.full((1, 1, 1), years))
        hold = holds.drain_hold(seeing, use, holds.world_drain(use, supply))
        assert hold.shape == (1, 1, 16)
        np.testing.assert_allclose(hold[:, 0], np.log1p(years * 6_000.0 / target), rtol=1e-12)
    covered = (np.full((1, 16), 9_000.0), np.full((1, 16), 15_000.0))
    seeing = dataclasses.replace(inp, drain_foresight_yr=np.full((1, 1, 1), 2.0))
    np.testing.assert_array_equal(
        holds.drain_hold(seeing, use, holds.world_drain(use, covered)), 0.0)
    blind, near, far = (_china_month(h, 6_000.0) for h in (0.0, 0.5, 2.0))
    assert np.all(near > blind) and np.all(far > near)
    balanced = [_china_month(h, 24_000.0) for h in (0.0, 2.0)]
    np.testing.assert_array_equal(balanced[0], balanced[1])


def test_sellers_read_the_drain_as_its_average_over_their_perception_time():
    """A one-month gap in deliveries moves the drain sellers perceive by the exact share of a
    first-order lag, ``1 - exp(-dt / T)``, not by the whole gap (Baotou's pause of October
    2011 is not read as a lasting deficit); two half-month steps give what one month does."""
    m = model()
    inp = m.inputs.market
    n_e = len(inp.reference_price_usd_per_kg)
    use = np.full((1, 2, n_e), 12_000.0)
    gap = (np.full((1, n_e), 6_000.0), np.full((1, n_e), 12_000.0))     # 6,000 t/yr short
    seen = []
    for parts in (1, 2):
        state = initial_state(m)
        stocks = market.Stocks(state.inventory.copy())
        drain, price, flow = state.drain_seen, state.price, state.trade_flow
        for _ in range(parts):
            orders = market.reserve_orders(inp, 360, stocks, np.zeros((1, 2, n_e)), DT_YR / parts)
            traded = market.trade(inp, 360, stocks, price, price.copy(), price.copy(),
                                  np.zeros_like(price), use, np.zeros((1, n_e)), orders, flow,
                                  gap, use, drain, DT_YR / parts)
            drain, price, flow = traded.drain, traded.price, traded.flow
        seen.append(drain)
    lag = 1.0 - np.exp(-DT_YR / inp.drain_perception_time_yr[0, 0])
    np.testing.assert_allclose(seen[0], 6_000.0 * lag, rtol=1e-12)
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-12)


def _glut_month(withholding: float, export_premium: float, quota_t_per_yr: float = 0.0):
    """One 2030 month of China's market whose sellers hold 24,000 t of every element (two years
    of its buyers' 12,000 t/yr) while the export market's perceived price is ``export_premium``
    times China's oxide landed there (duty and trade cost included), under an export quota of
    ``quota_t_per_yr`` (0: it turns every export away) and traders intending to export 5,000
    t/yr of each. Returns (Chinese sellers' log hold for the premium at the price solved (1, E),
    China's clearing prices (1, E) USD/kg, the same hold at last month's price)."""
    m = model()
    t = (2030 - 2000) * 12
    quota = m.inputs.market.export_quota_t_per_yr.copy()
    quota[t] = quota_t_per_yr
    inp = dataclasses.replace(m.inputs.market, export_quota_t_per_yr=quota,
                              premium_withholding=np.full((1, 1), withholding))
    state = initial_state(m)
    stocks = market.Stocks(state.inventory.copy())
    stocks.producers_china[:] = 24_000.0
    n_e = state.price.shape[2]
    price = state.price.copy()
    recent = price.copy()
    landed = going_prices.landed_cost(price[:, 0], inp.export_tax[t], inp.trade_cost_usd_per_kg)
    recent[:, 1] = export_premium * landed
    price[:, 1] = recent[:, 1]                    # perceived = last month's: the signal exact
    want = np.full_like(price, 12_000.0)
    zero = np.zeros((1, n_e))
    orders = market.reserve_orders(inp, t, stocks, np.zeros((1, 2, n_e)))
    supply = (np.full((1, n_e), 12_000.0), zero)
    intention = np.full((1, n_e), 5_000.0)
    traded = market.trade(inp, t, stocks, price, recent, price.copy(), np.zeros_like(price),
                          want, zero, orders, intention, supply, want,
                          holds.world_drain(want, supply))
    china = traded.price[:, 0]
    # the share of exporters' wants the quota turned away in this clearing: 1 - the free share
    # of an element with full licences (La): all at a zero quota, none at 1e9 t/yr
    assert quota_t_per_yr in (0.0, 1e9)
    assert inp.export_licensed[t, 0] == 1.0
    turned_away = 1.0 - traded.free[:, 0]
    assert turned_away[0] == (1.0 if quota_t_per_yr == 0.0 else 0.0)
    return (holds.premium_holds(inp, t, recent, price, china, turned_away), china,
            holds.premium_holds(inp, t, recent, price, price[:, 0], turned_away))


def test_chinese_sellers_hold_stock_back_only_for_a_large_export_premium():
    """While the export market pays more than the panic ratio (1.5) over China's landed price
    and the tonnage quota turns exports away, Chinese sellers reserve ``exp(k * (ln premium -
    ln 1.5))`` times their cover, which clears China dearer even from a glut of two years, and
    the dearer China price closes part of the gap within the month; below the ratio, with k = 0
    or with a quota that does not bind, the market is the one without the rule, to the last
    bit."""
    plain = _glut_month(0.0, 6.0)[1]
    none, small, _ = _glut_month(2.0, 1.4)
    np.testing.assert_array_equal(none, 0.0)
    np.testing.assert_array_equal(small, plain)
    held, dear, at_last = _glut_month(2.0, 6.0)
    np.testing.assert_allclose(at_last, 2.0 * np.log(6.0 / 1.5), rtol=1e-12)
    assert np.all(dear > 1.2 * plain)
    assert np.all((held > 0.0) & (held < at_last))          # the rise closes part of the gap
    wider = _glut_month(2.0, 12.0)
    assert np.all(wider[0] > held) and np.all(wider[1] > dear)
    free = _glut_month(2.0, 6.0, quota_t_per_yr=1e9)[1]
    np.testing.assert_array_equal(free, _glut_month(0.0, 6.0, quota_t_per_yr=1e9)[1])


def test_sellers_read_a_steady_demand_growth_as_its_rate_whatever_the_step():
    """Sterman's TREND: demand growing 5%/yr for 30 years reads as a trend of 5%/yr (log form,
    exact lags; a demand sampled once a step lags a little less than a continuous one, 1.4% of
    the rate at a month), and half-month steps read the same within 1% of it; a flat demand
    reads 0."""
    from reesim.model.mechanisms.market import demand_outlook
    inp = model().inputs.market
    horizon = float(inp.demand_trend_horizon_yr[0, 0])

    def trend(dt: float, growth: float) -> float:
        level, reference = demand_outlook.initial_outlook(np.full((1, 16), 1000.0))
        steps = round(30 / dt)
        for i in range(steps):
            demand = np.full((1, 16), 1000.0 * np.exp(growth * (i + 1) * dt))
            level, reference = demand_outlook.update_outlook(inp, level, reference, demand, dt)
        return float((level - reference)[0, 0] / horizon)

    assert trend(DT_YR, 0.05) == pytest.approx(0.05, rel=0.02)
    assert trend(DT_YR / 2, 0.05) == pytest.approx(trend(DT_YR, 0.05), rel=0.01)
    assert trend(DT_YR, 0.0) == 0.0


def test_the_glut_side_steepens_only_where_demand_declines():
    """The share of the flat glut side left is 1 where demand grows or holds, falls with a
    decline at ``glut_decline_sensitivity`` per unit of decline a year, and is 0 beyond it;
    a sensitivity of 0 leaves 1 whatever the trend (the rule before, bit for bit)."""
    from reesim.model.mechanisms.market import demand_outlook
    base = model().inputs.market
    horizon = float(base.demand_trend_horizon_yr[0, 0])
    trends = np.array([[0.05, 0.0, -0.025, -0.05, -0.2]])          # 1/yr
    reference = np.zeros_like(trends)
    level = trends * horizon
    steep = dataclasses.replace(base, glut_decline_sensitivity=np.full((1, 1, 1), 20.0))
    np.testing.assert_allclose(demand_outlook.glut_scales(steep, level, reference),
                               [[1.0, 1.0, 0.5, 0.0, 0.0]], atol=1e-12)
    off = dataclasses.replace(base, glut_decline_sensitivity=np.zeros((1, 1, 1)))
    assert (demand_outlook.glut_scales(off, level, reference) == 1.0).all()


def test_a_glut_of_an_element_whose_demand_declines_clears_lower():
    """With sellers holding years of stock, the price falls further where the element's
    demand is shrinking (no flat glut side left) than where it is not; short of stock, the
    glut side does not act and the price is the same."""
    m = model()
    t = (2016 - 2000) * 12
    inp, state = m.inputs.market, initial_state(m)
    n_e = state.price.shape[2]

    def china_price(held_t: float, scale: float) -> np.ndarray:
        stocks = market.Stocks(state.inventory.copy())
        stocks.producers_china[:] = held_t
        price = state.price.copy()
        want = np.full_like(price, 12_000.0)
        zero = np.zeros((1, n_e))
        orders = market.reserve_orders(inp, t, stocks, np.zeros((1, 2, n_e)))
        supply = (np.full((1, n_e), 12_000.0), np.full((1, n_e), 12_000.0))
        traded = market.trade(inp, t, stocks, price, price.copy(), price.copy(),
                              np.zeros_like(price), want, zero, orders, zero, supply, want,
                              holds.world_drain(want, supply),
                              glut_scale=np.full((1, n_e), scale))
        return traded.price[:, 0]

    glut = 36_000.0                                      # three years of China's buyers' wants
    assert (china_price(glut, 0.0) < 0.8 * china_price(glut, 1.0)).all()
    np.testing.assert_array_equal(china_price(100.0, 0.0), china_price(100.0, 1.0))
