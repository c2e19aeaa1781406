"""Market behaviour on baotou: smooth monthly prices, step convergence, reserves, price floors."""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
from reesim import load_scenario, simulate
from reesim.calibration.step_check import step_convergence
from reesim.dims import ELEMENTS, HOLDERS
from reesim.model.mechanisms import market
from reesim.validation import load_observations
from reesim.validation.metrics import SPIKE_ELEMENTS
from reesim.validation.patterns import price_jumps, price_to_reference
from reesim.validation.spike import spike_table

OBSERVED = ("La", "Ce", "Pr", "Nd", "Sm", "Eu", "Tb", "Dy")
"""Elements with recorded prices (data/observations/prices.csv)."""


def lag1_autocorrelation(prices: np.ndarray) -> float:
    """Lag-1 autocorrelation of monthly log returns; 1.0 for a price pinned at a bound."""
    returns = np.diff(np.log(prices))
    returns = returns - returns.mean()
    variance = float((returns * returns).sum())
    if variance < 1e-12 * len(returns):          # flat (e.g. held at its floor): no chatter
        return 1.0
    return float((returns[1:] * returns[:-1]).sum() / variance)


def _unsmooth(result, span: tuple[str, str]) -> dict[str, float]:
    """Observed element/market series whose monthly returns correlate non-positively."""
    price = result.dataset.price.isel(member=0).sel(time=slice(*span))
    bad = {}
    for element in OBSERVED:
        for mk in ("china", "export"):
            rho = lag1_autocorrelation(price.sel(element=element, market=mk).values)
            if rho <= 0.0:
                bad[f"{element}/{mk}"] = round(rho, 3)
    return bad


@pytest.mark.parametrize("span", [("2000", "2025"), ("2026", "2050")])
def test_monthly_prices_move_smoothly_in_history_and_projection(baotou_result, span):
    """The old lagged rule chattered (lag-1 autocorrelation of returns -0.9 for Nd, Dy, Tb, Pr);
    real monthly series are smooth, so every observed element's returns must correlate
    positively from one month to the next, in both markets. (Until 2026-12-04 the
    projection's Tb export price reversed once, +1.5% and back, where foreign sellers' stock
    touched its target cover at the price rule's kink; the rule's slope now changes over
    ``glut_transition_width``.)"""
    bad = _unsmooth(baotou_result, span)
    assert not bad, f"negative lag-1 autocorrelation of monthly log returns: {bad}"


def test_trade_starts_supplied_and_finer_market_substeps_give_the_same_annual_paths():
    """The export market starts supplied: China's net exports begin at foreign demand less what
    is separated abroad, not at zero (which starved it for the months the trade lag needed and
    made it ration at its scarcity bound in a step-dependent month: the first months of 2000
    differed by 30% between one and two sub-steps, and the default run had a 2018 Nd spike to
    152 USD/kg that two sub-steps did not have)."""
    m = model()
    from reesim.model.state import initial_state
    flow = initial_state(m).trade_flow
    assert (flow >= 0.0).all() and flow[0, ELEMENTS.index("Nd")] > 1000.0   # t/yr, 2000
    # step convergence, the scenario's market sub-steps (two a month since 2026-12-07; one
    # before) against twice as many, as the calibration checks its fit
    # (reesim.calibration.step_check). Measured 2026-12-03 at one sub-step and the fitted
    # parameters:
    # volumes within 4.2% in every year (demand; mine output 1.5%; 10% while the trading company
    # sold pro rata to merchants' stocks), prices 1.7% at the median (3.3% with the zero trade
    # start); the first year's prices 0.3% (30% apart with the zero trade start)
    check = step_convergence(load_scenario("baotou"))
    assert check.first_year_price_gap < 0.01, check
    assert check.volumes_and_median_converge, check.describe()


def test_the_observed_price_paths_do_not_depend_on_the_time_step():
    """Every observed element's annual price, both markets, every year to 2030, moves by less
    than STEP_PATH_TOLERANCE (10% in log) between the scenario's market sub-steps and twice as
    many (one and two until 2026-12-07, two and four since).

    Passing since the fit of 2026-12-04 (largest path 9.0%, Tb export 2012; the Dy export price
    at 1 / 2 / 4 / 8 sub-steps 1,034 / 1,029 / 1,031 / 1,014 USD/kg in 2011 and 160 / 156 /
    152 / 151 in 2030). It was a strict xfail before: at the sixteenth session's fit the Dy
    export market ran short after the 2025 controls in 2029 with one sub-step and in 2028 with
    two to eight (68% in log in 2030), and before the perceived price, the reserved cover and
    the pro rata quota Nd export 2011 was 59 / 40 / 32 USD/kg (docs/model.md section 5).
    """
    from reesim.calibration.step_check import STEP_PATH_TOLERANCE

    check = step_convergence(load_scenario("baotou"))
    assert check.path_gap < STEP_PATH_TOLERANCE, check.describe()


def test_the_annual_paths_converge_as_the_market_step_is_refined():
    """Each halving of the market step (1, 2, 4, 8, 16 sub-steps a month) moves the observed
    price paths and the world volumes less than the one before, so the n-to-2n check measures a
    real convergence and not the noise of one step size.

    What it does not show: the convergence is slower than first order. Measured 2026-12-06 on
    the thirty-ninth session's fit, the largest observed path gap was 10.0%, 6.9% and 4.5% for
    1->2, 2->4 and 4->8 (Tb and La export 2012; order 0.5-0.6), so the default run's export
    prices of the 2012 crisis decay stood 19% (La export 2012) from the 8-sub-step run's;
    volumes 2.3%, the median price 0.25%. On the forty-second session's fit 9.9%, 5.5% and 3.0%
    (order 0.85-0.88), 17% from 8 sub-steps (Dy export 2029), volumes 0.5%; 9.9%, 4.9% and 2.7%
    and 15% (Eu export 2012) once the reserves' orders were bought in every sub-step of their
    window's last month (forty-third session; docs/model.md,
    calibration section). Seed 3 of that session's refits failed it. Since 2026-12-07 the
    default is two sub-steps a month, refitted there: 12.7%, 4.9%, 2.3% and 1.1% for 1->2 to
    8->16 (order 1.4, 1.1, 1.0), the default run 7.7% from 16 sub-steps (Eu export 2012); at
    the forty-eighth session's fit 10.6%, 5.0%, 3.1% and 1.5%, the default run 9.6% away.
    """
    from reesim.calibration.step_check import (
        FINEST_PATH_TOLERANCE,
        FINEST_PRICE_TOLERANCE,
        FINEST_SUBSTEPS,
        FINEST_VOLUME_TOLERANCE,
        step_refinement,
    )

    refined = step_refinement(load_scenario("baotou"))
    successive = refined[refined.comparison == "successive"]
    for gap in ("path_gap", "volume_gap", "price_gap", "path_p90"):
        values = successive[gap].to_numpy()
        assert (values[1:] < values[:-1]).all(), successive
    over = successive.paths_over_5pct.to_numpy()          # 0.8%, 0.2%, 0 on that fit
    assert (over[1:] <= over[:-1]).all() and (refined.path_p90 <= refined.path_gap).all(), refined
    finest = refined[refined.comparison == "against the finest"].set_index("substeps")
    n = load_scenario("baotou").market.substeps
    assert refined.against.max() == FINEST_SUBSTEPS, refined
    assert finest.at[n, "volume_gap"] < FINEST_VOLUME_TOLERANCE, finest
    assert finest.at[n, "price_gap"] < FINEST_PRICE_TOLERANCE, finest
    # the default step stands within a few percent of the finest on all but a few of the
    # observed element-market-years (issue 8): at two sub-steps 7.7% at most (Eu export 2012),
    # 3 of 496 beyond 5% (9.6% and 4 of 496 at the forty-eighth session's fit); at one sub-step
    # it was 15-20% and 40-42 of 496
    # (the calibration's step penalty carries its n-to-2n gaps to the finest step and charges
    # what exceeds these same tolerances: step_check.step_penalty)
    assert finest.at[n, "path_gap"] < FINEST_PATH_TOLERANCE, finest
    assert finest.at[n, "paths_over_5pct"] < 0.02, finest


@pytest.mark.parametrize("substeps", [1, 8])
def test_the_2012_state_reserve_order_is_filled(substeps):
    """The 2012 purchase (3,100 t Nd among others) is bought in full within its window; under the
    old pro-rata rationing it delivered 1,334 t. Whatever the market's sub-steps: until
    2026-12-06 each sub-step of the window's last month bought the same share of what was
    owed, and with eight sub-steps about a third of that month's tranche lapsed (Eu 43 t of 50)."""
    ds = simulate(load_scenario("baotou", ["end_year=2014", "output.frequency=year",
                                           f"market.substeps={substeps}"])).dataset
    bought = ds.stockpile_purchases.isel(member=0).sel(holder="state_reserve")
    ordered = {"La": 3600, "Ce": 6700, "Pr": 1000, "Nd": 3100, "Sm": 300, "Eu": 50, "Gd": 200,
               "Tb": 50, "Dy": 250, "Y": 2750}
    for element, tonnes in ordered.items():
        total = float(bought.sel(element=element, time=slice("2012", "2014")).sum())
        assert total == pytest.approx(tonnes, rel=0.01), element


def test_an_order_on_a_supplied_market_buys_evenly_over_its_window():
    """The 2012 order's Ce (6,700 t over 2012-09..2013-08) meets a market with tens of kt of
    unsold Ce, so nothing is owed late: each month buys a twelfth of it. Until 2026-12-08 the
    rule spread each month's tranche over the months left with the shortfall and bought 35 t in
    the first month and 1,829 t in the last."""
    ds = simulate(load_scenario("baotou", ["end_year=2013"])).dataset
    bought = ds.stockpile_purchases.isel(member=0).sel(holder="state_reserve", element="Ce")
    monthly_t = bought.sel(time=slice("2012-09", "2013-08")).values / 12.0   # t/yr -> t
    np.testing.assert_allclose(monthly_t, 6700.0 / 12.0, rtol=1e-6)
    assert float(bought.sel(time=slice("2013-09", None)).sum()) == 0.0


def test_an_unfilled_remainder_carries_over_until_the_window_closes():
    inp = model().inputs.market
    stocks = market.Stocks(np.zeros((1, len(HOLDERS), len(ELEMENTS))))
    t = int(np.flatnonzero(inp.stockpile_months_left[:, 0].max(axis=1) > 0)[0])
    months = inp.stockpile_months_left[t, 0]
    nd = ELEMENTS.index("Nd")
    tranche = inp.stockpile_t_per_yr[t, 0, nd] / 12.0
    # on schedule: the month's tranche, the order's tonnage spread evenly over its months (until
    # 2026-12-08 the tranche was spread over the months left as well, tranche / months here,
    # which pushed the 2012 order's purchases to its last months)
    none = market.reserve_orders(inp, t, stocks, np.zeros((1, 2, len(ELEMENTS))))
    assert none.buy["state_reserve"][0, nd] == pytest.approx(tranche)
    backlog = np.zeros((1, 2, len(ELEMENTS)))
    backlog[0, 0, nd] = 500.0                                       # t unbought so far
    late = market.reserve_orders(inp, t, stocks, backlog)
    assert late.owed[0, 0, nd] == pytest.approx(500.0 + tranche)
    assert late.buy["state_reserve"][0, nd] == pytest.approx(tranche + 500.0 / months[nd])
    closed = int(np.flatnonzero(inp.stockpile_months_left[t:, 0, nd] == 0)[0]) + t
    lapsed = market.reserve_orders(inp, closed, stocks, backlog)
    assert lapsed.owed[0, 0, nd] == 0.0 and lapsed.buy["state_reserve"][0, nd] == 0.0


def test_reserves_are_served_before_consumers():
    offers = {"sellers": np.array([[10.0, 10.0]])}
    first = {"reserve": np.array([[6.0, 20.0]])}
    wants = {"consumers": np.array([[8.0, 8.0]])}
    done = market.clear(offers, wants, first=first)
    np.testing.assert_allclose(done.got_by["reserve"], [[6.0, 10.0]])
    np.testing.assert_allclose(done.got_by["consumers"], [[4.0, 0.0]])
    np.testing.assert_allclose(done.sold, [[10.0, 10.0]])


def test_a_reserve_release_sells_before_merchants_in_a_glut():
    """A reserve auctions its lots: in a glut its release sells first (the state-reserve-nd
    release of 20,000 t over 2033-2034 stayed 80% unsold when it was rationed pro rata)."""
    offers = {"merchants": np.array([[30.0, 2.0]]), "reserve": np.array([[5.0, 5.0]])}
    wants = {"consumers": np.array([[12.0, 20.0]])}
    done = market.clear(offers, wants, sold_first=("reserve",))
    np.testing.assert_allclose(done.sold_by["reserve"], [[5.0, 5.0]])
    np.testing.assert_allclose(done.sold_by["merchants"], [[7.0, 2.0]])
    np.testing.assert_allclose(done.sold, [[12.0, 7.0]])


def test_a_price_floor_pays_the_gap_to_the_covered_producer_only():
    """A floor far above the market (1,000 USD/kg Nd for Mountain Pass from 2026) raises that
    producer's recorded netback by (floor - price) x its Nd share x separation recovery, and
    nobody else's."""
    sets = ["end_year=2026", "events.dod_mp_price_floor_2025=null"]
    floor = ["events.test_floor.type=price_floor", "events.test_floor.producers=[mountain_pass]",
             "events.test_floor.elements=[Nd]", "events.test_floor.floor_usd_per_kg=1000",
             "events.test_floor.start=2026-01"]
    base = simulate(load_scenario("baotou", sets)).dataset.isel(member=0)
    high = simulate(load_scenario("baotou", [*sets, *floor])).dataset.isel(member=0)
    gain = (high.netback - base.netback).sel(time="2026-01-01")
    mp = float(gain.sel(producer="mountain_pass"))
    m = model(*sets)
    p = m.coords.producers.index("mountain_pass")
    routes = m.inputs.separation.routes
    k = routes.pattern[m.timeline.index("2026-01")]
    price_nd = float(base.price.sel(element="Nd", market=["china", "export"][
        routes.market[k][p]]).sel(time="2025-12-01"))
    share = m.inputs.mining.distribution[p, ELEMENTS.index("Nd")]
    assert mp == pytest.approx((1000.0 - price_nd) * share * routes.recovery[k][p], rel=1e-6)
    others = gain.drop_sel(producer="mountain_pass")
    assert float(np.abs(others).max()) == 0.0
    assert float((base.netback - high.netback).sel(time=slice("2000", "2025")).max()) == 0.0


def test_the_projection_does_not_cycle(baotou_result):
    """After the 2025-2026 policy events the baseline has no shocks: a market may run short once
    or twice (a price doubling within two months), but no element's price may keep jumping."""
    price = baotou_result.dataset.price.isel(member=0).sel(time=slice("2027-01", None))
    jumps = {f"{e}/{mk}": price_jumps(price.sel(element=e, market=mk).values)
             for e in ELEMENTS for mk in ("china", "export")}
    assert max(jumps.values()) <= 2, {k: v for k, v in jumps.items() if v}


def humps(prices: np.ndarray, above: float, apart_months: int = 12) -> int:
    """Separate runs of months above ``above`` (runs under ``apart_months`` apart count once)."""
    high = np.flatnonzero(prices > above)
    if high.size == 0:
        return 0
    return int(1 + (np.diff(high) > apart_months).sum())


def test_the_dy_export_price_rises_once_in_2010_2015(baotou_result):
    """The record's Dy export price rose once (to about 2,300 USD/kg in 2011-09) and fell every
    year to 2015 (record 2014: 395, 2015: 279), so the months above twice the 2015 mean form one
    hump; a second hump after the spike is a trade cycle of the model, not history."""
    dy = baotou_result.dataset.price.isel(member=0).sel(element="Dy", market="export")
    base = float(dy.sel(time=slice("2015-01", "2015-12")).mean())
    assert humps(dy.sel(time=slice("2010-01", "2015-12")).values, 2.0 * base) == 1


def test_the_china_spike_scenario_makes_chinas_prices_rise_in_2011_and_fall_back_by_2015(
        baotou_result):
    """The record's China prices of the light and mid oxides rose four to five times from 2010 to
    mid-2011 (the packaged price notes; Nd 179 USD/kg in 2011-09) and China's rare earth price
    index fell from 1,000 (2011-12) to 271 (2015-09). With Chinese sellers holding for the
    export premium (``premium_hold``, opt-in) and the calibration that also fits China's peaks
    (``baotou-china-spike``), China's market follows the export spike: each quoted element
    peaks in 2011-06..2012-03 at over three times its 2009 level and stands at under half its
    peak in 2015, and at least four of the eight China peaks are within 1.5x of the record's
    highest quote (measured 2026-12-06, thirty-seventh session: La, Pr, Nd, Sm, Eu; Ce 0.59x,
    Tb 1.57x, Dy 0.19x). The hold makes the rise: without it (the default) each element's peak
    stays under 1.6 times its 2009 level and under a third of the held run's rise (measured
    2026-12-06, thirty-ninth session: default 1.00-1.55, La the highest, the only one over 1.5;
    held 4.4-6.3)."""
    held = simulate(load_scenario("baotou-china-spike", ["end_year=2016"])).dataset
    for element in SPIKE_ELEMENTS:
        rise = {}
        for ds, rising in ((held.isel(member=0), True),
                           (baotou_result.dataset.isel(member=0), False)):
            china = ds.price.sel(element=element, market="china")
            window = china.sel(time=slice("2010-01", "2012-12"))
            peak, level_2009 = float(window.max()), float(china.sel(time="2009").mean())
            rise[rising] = peak / level_2009
            if not rising:
                continue
            month = str(window.time.values[int(np.argmax(window.values))])[:7]
            assert "2011-06" <= month <= "2012-03", (element, month)
            assert peak > 3.0 * level_2009, element
            assert float(china.sel(time="2015").mean()) < 0.5 * peak, element
        assert rise[False] < 1.6 and rise[False] < rise[True] / 3.0, (element, rise)
    table = spike_table(held, load_observations(2025))
    china = table[table.market == "china"]
    assert int(china.within_tolerance.sum()) >= 4, china[["element", "peak_to_record"]]


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known miss (issue 8): at its committed fit (fifty-first session, seed 4) Er runs to 1,579 "
    "USD/kg in 2011-12, 0.64 of its choke (baotou 298; China's Er 390 in March 2012, record "
    "91), Y to 319; at a demand elasticity multiplier of 1.0 Er reaches its choke. The fringe "
    "the fit silences (held to its recorded capacity; refitted at baotou's multiple of 2 the "
    "searches set its elasticity to zero) cannot supply the ionic heavies in 2011; with the "
    "fringe at 2 and no refit Er stays under 0.3 (docs/market-experiments.md, fifty-third "
    "session)"))
def test_the_china_spike_scenario_keeps_history_below_six_tenths_of_the_choke():
    """The bound `baotou`'s history keeps (test_demand_outlook.py), held to China's side of 2011:
    no element's price goes past 0.6 of its choke (100 times its reference price) to 2015. The
    record's highest quotes of 2011 reached 0.45 of it (La and Ce outside China)."""
    _assert_history_below_six_tenths_of_the_choke("baotou-china-spike")


@pytest.mark.parametrize("name", ["baotou-spike-fit", "baotou-reserve-2008"])
def test_the_other_calibrated_scenarios_keep_history_below_six_tenths_of_the_choke(name):
    """The same bound for the other scenarios with a calibration of their own (measured
    2026-12-07: their highest price stands at 20 and 22 times its reference, `baotou` at 19)."""
    _assert_history_below_six_tenths_of_the_choke(name)


def _assert_history_below_six_tenths_of_the_choke(name: str) -> None:
    run = simulate(load_scenario(name, ["end_year=2016"]))
    multiple = run.manifest["constants"]["choke_multiple"]        # the choke / reference price
    to_choke = price_to_reference(run.dataset, first=None, last="2015-12") / multiple
    ratio = dict(zip(ELEMENTS, np.round(to_choke.values, 2), strict=True))
    assert (to_choke.values < 0.6).all(), ratio


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known miss (issue 8): at the eighteenth session's fit (2026-12-04, four starts, objective "
    "2.742) the reserve lifts China's Nd from 25.9 USD/kg (2009) to a 2010-2012 peak of 32.0 "
    "(March 2012; the default: 26.2), 1.2x against 12x in the record. Before: on the market "
    "of 2026-12-03 (perceived price, reserved cover, pro rata quota; the scarcity bound "
    "fitted since the fifteenth session), baotou-reserve-2008 "
    "refitted from four starts (objective 3.095 at the sixteenth session; 3.239 at the "
    "fifteenth, 3.568 at the fourteenth, 4.021 before) lets China's Nd rise only from 27.2 "
    "USD/kg (2009) to a 2010-2012 peak of 27.6 (the default: 25.6, flat), against about 5x at "
    "the former, step-bound fit and 12x in the "
    "record: the reserve drains the 2000s stock, but with the speculative holding now "
    "a reserved cover (a price effect of H**beta, at most 2**0.23) nothing in China amplifies "
    "the shortage: docs/model.md section 5, fourteenth session"))
def test_the_2008_concentrate_reserve_makes_chinas_nd_rise_in_2011():
    """baotou-reserve-2008's claim: with Baotou's 2008-2011 reserve withholding Bayan Obo's oxide
    (and its own calibration) China's Nd price rises in 2010-2012, which the default does not
    (the standing Chinese stock of the 2000s absorbs it; record: about 15 USD/kg in 2009, 179 in
    2011-09)."""
    def china_nd(name: str):
        ds = simulate(load_scenario(name, ["end_year=2013"])).dataset.isel(member=0)
        price = ds.price.sel(element="Nd", market="china")
        return (float(price.sel(time=slice("2010-01", "2012-12")).max()),
                float(price.sel(time=slice("2009-01", "2009-12")).mean()))

    peak, level_2009 = china_nd("baotou-reserve-2008")
    default_peak, _ = china_nd("baotou")
    assert peak > 3.0 * level_2009                 # about 5x in the run (record about 12x)
    assert peak > 3.0 * default_peak


def test_free_trade_after_the_quotas_keeps_export_and_china_prices_together(baotou_result):
    """The law of one price after 2015: once export quotas and duties end, Chinese exporters
    compete away the premium the quotas created (the record has export and China prices within
    about 10% in 2016-2020); the 2025 licences reopen a gap, on the controlled elements only.
    Measured at the eighteenth session's fit (2026-12-04): export / China 1.12-1.52 in
    2017-2024 (the trade cost weighs most on La and Ce at 2-3 USD/kg), 2-4x at the
    seventeenth's, whose premium outlived the quotas; in 2025 Sm 2.9, Gd 2.7, Y 2.5 against
    La 1.25, Nd 1.16."""
    price = baotou_result.dataset.price.isel(member=0).groupby("time.year").mean()
    ratio = price.sel(market="export") / price.sel(market="china")
    free_years = ratio.sel(year=slice(2017, 2024), element=list(OBSERVED))
    assert float(free_years.max()) < 1.6, free_years.max("year").to_series().round(2).to_dict()
    in_2025 = ratio.sel(year=2025)
    for controlled in ("Sm", "Gd", "Y"):           # under the April 2025 export licences
        for free in ("La", "Ce", "Pr", "Nd"):
            assert float(in_2025.sel(element=controlled)) > 1.5 * float(
                in_2025.sel(element=free)), (controlled, free)
