"""Regimes: chosen by name, one protocol; the trading company caps members and defends prices."""

from __future__ import annotations

import numpy as np
import pytest

from c_library import numpys_power
from mech import model
from reesim.model.compiled import scalar_power
from reesim.model.mechanisms import regimes
from reesim.scenario.schema import REGIME_NAMES


def test_every_regime_name_of_the_schema_has_an_implementation():
    assert tuple(regimes.REGIMES) == REGIME_NAMES
    assert set(regimes.SALES_RULES) == {"defend_price"}


def test_the_regime_is_chosen_by_name_month_by_month():
    tc = model("market.regime_from=2008-01").inputs.regimes
    fm = model("market.regime=free_market").inputs.regimes
    assert regimes.regime_at(tc, 12 * 7 + 11).name == "free_market"     # Dec 2007
    assert regimes.regime_at(tc, 12 * 8).name == "trading_company"       # Jan 2008
    assert {regimes.regime_at(fm, t).name for t in range(len(fm.regime))} == {"free_market"}
    switched = model("events.r.type=regime", "events.r.regime=free_market",
                     "events.r.start=2012-01", "events.r.end=2013-01").inputs.regimes
    assert regimes.regime_at(switched, 12 * 12).name == "free_market"
    assert regimes.regime_at(switched, 12 * 13).name == "trading_company"


def _company(months: float) -> regimes.CompanyState:
    ref = model().inputs.market.reference_price_usd_per_kg
    return regimes.CompanyState(reference=ref[None].copy(), months=np.array([months]),
                                reserve=np.zeros((1, len(ref))))


def test_below_its_defended_price_the_company_cuts_its_members_output_and_above_it_not():
    """The cut is min(r, 1) ** sales_response of what members would mine (r: the members' mix
    valued at the price against the defended price), with a full reserve and no buffer."""
    inp = model().inputs.regimes
    members = inp.members[12 * 10]
    assert members.any()
    output = np.full((1, len(members)), 100_000.0)
    company = _company(months=120)
    tc, fm = regimes.REGIMES["trading_company"], regimes.REGIMES["free_market"]
    planned = tc.planned_stockpile(inp, company)
    ref = company.reference
    stock = planned[0] * inp.member_mix[None, :]                      # reserve full, no buffer
    low = 0.8 * inp.defend_factor * ref
    capped = tc.cap_output(inp, output, members, company, stock, planned, low)
    want = output[0, members].sum()
    assert capped[0, members].sum() == pytest.approx(want * 0.8 ** inp.sales_response)
    np.testing.assert_array_equal(capped[0, ~members], output[0, ~members])
    high = tc.cap_output(inp, output, members, company, stock, planned, 1.2 * ref)
    np.testing.assert_allclose(high, output, rtol=1e-12)
    np.testing.assert_array_equal(fm.cap_output(inp, output, members, company, stock, planned,
                                                low), output)
    # a reserve short of plan lets members mine more; a buffer beyond it makes them mine less
    short = tc.cap_output(inp, output, members, company, 0.5 * stock, planned, low)
    over = tc.cap_output(inp, output, members, company, 1.5 * stock, planned, low)
    assert over[0, members].sum() < capped[0, members].sum() < short[0, members].sum()


def test_the_company_keeps_its_reserve_and_defends_its_price_with_what_is_beyond_it():
    """The reserve is never offered; the rest sells at or above the defended price and is
    partly withheld below it, while what is so held is within a plan's worth."""
    inp = model().inputs.regimes
    tc = regimes.REGIMES["trading_company"]
    company = _company(months=120)
    planned = tc.planned_stockpile(inp, company)
    assert planned[0] == inp.planned_stockpile_t                      # fully built after 5 years
    reserve = planned[0] * inp.member_mix[None, :]
    company = company._replace(reserve=reserve)
    ref, release = company.reference, np.zeros_like(reserve)
    stock = 1.5 * reserve                                             # a half-plan buffer
    low = tc.company_offer(inp, stock, 0.5 * ref, company, planned, release)
    high = tc.company_offer(inp, stock, 2.0 * ref, company, planned, release)
    np.testing.assert_allclose(high, stock - reserve, rtol=1e-12)
    mined = inp.member_mix > 0
    assert np.all(low[0, mined] < high[0, mined]) and np.all(low >= 0.0)
    full = 2.5 * reserve                                              # beyond a plan's buffer
    np.testing.assert_allclose(tc.company_offer(inp, full, 0.5 * ref, company, planned,
                                                release), full - reserve, rtol=1e-12)
    fm = regimes.REGIMES["free_market"]
    np.testing.assert_array_equal(fm.company_offer(inp, stock, 0.5 * ref, company, planned,
                                                   release), stock)


@pytest.mark.parametrize("regime", ["free_market", "trading_company"])
def test_the_compiled_offer_is_the_regimes_own(regime):
    """The market month's compiled pass offers what the regime's method offers, bit for bit
    (``regimes.offer_at`` dispatches on the regime in compiled code; a new sales rule needs
    its branch there too), below and above the defended price."""
    inp = model().inputs.regimes
    chosen = regimes.REGIMES[regime]
    company = _company(months=120)
    planned = regimes.REGIMES["trading_company"].planned_stockpile(inp, company)
    reserve = 0.7 * planned[0] * inp.member_mix[None, :]
    company = company._replace(reserve=reserve)
    stock, release = 2.0 * reserve + 1.0, 0.1 * reserve
    for price in (0.5 * company.reference, 2.0 * company.reference):
        expected = chosen.company_offer(inp, stock, price, company, planned, release)
        compiled = regimes.offer_at(regime == "trading_company", stock, company.reserve, price,
                                    company.reference, inp.member_mix, planned,
                                    inp.defend_factor, inp.sales_response, release)
        assert compiled.tobytes() == expected.tobytes()


def test_the_reserve_grows_toward_the_plan_by_its_adjustment_time_from_the_stock_beyond_it():
    inp = model().inputs.regimes
    tc, fm = regimes.REGIMES["trading_company"], regimes.REGIMES["free_market"]
    company = _company(months=120)
    planned = tc.planned_stockpile(inp, company)
    price = company.reference
    stock = 2.0 * planned[0] * inp.member_mix[None, :]
    aside = tc.set_aside(inp, company, stock, planned, price, 1 / 12).reserve
    value_per_t = (inp.member_mix * price[0]).sum()
    got = (aside * price).sum() / value_per_t                         # t of members' output
    step = 1 / 12 / inp.stock_adjustment_time_yr
    assert got == pytest.approx(planned[0] * step)
    mined = stock[0] > 0
    np.testing.assert_allclose(aside[0, mined] / stock[0, mined], step * 0.5, rtol=1e-12)
    assert np.all(aside <= stock)
    again = tc.set_aside(inp, company._replace(reserve=aside), 0.5 * aside, planned, price)
    np.testing.assert_array_equal(again.reserve, 0.5 * aside)       # never beyond the stock
    np.testing.assert_array_equal(fm.set_aside(inp, company, stock, planned, price).reserve, 0)


def test_under_the_company_its_planned_reserve_is_built_and_held_in_the_run():
    """baotou: the 60 kt plan (built over five years from 2008) is held in 2014 (within 10%);
    before 2026-12-04 the company sold it and held under 0.5 kt. Under the free market it
    holds nothing."""
    from reesim import load_scenario, simulate
    sets = ["end_year=2014", "output.frequency=year"]
    ds = simulate(load_scenario("baotou", sets)).dataset
    held = float(ds.inventory.sel(holder="trading_company").isel(member=0, time=-1).sum())
    assert held == pytest.approx(60_000, rel=0.1)
    free = simulate(load_scenario("baotou", [*sets, "market.regime=free_market"])).dataset
    assert float(free.inventory.sel(holder="trading_company").isel(member=0, time=-1).sum()) == 0


def test_from_2016_the_company_plans_at_least_its_members_mining_quota():
    """China's recorded output equals its quota 2016-2024: the plan may not fall below it then.

    2024: Bayan Obo's allocation 189,160 t (quotas.csv); 2012: no target (the company's plan).
    """
    inp = model().inputs.regimes
    t2024, t2012 = 12 * 24, 12 * 12
    assert inp.quota_target_t_per_yr[t2024] == pytest.approx(189_160, rel=0.02)
    assert inp.quota_target_t_per_yr[t2012] == 0.0
    members = inp.members[t2024]
    output = np.full((1, len(members)), 300_000.0)
    price = model().inputs.market.reference_price_usd_per_kg[None]
    company = _company(months=120)
    tc = regimes.REGIMES["trading_company"]
    planned = tc.planned_stockpile(inp, company)
    stock = 3.0 * planned[0] * inp.member_mix[None, :]                # a buffer: plan ~0
    price = 0.3 * company.reference                                  # far below the defended
    capped = tc.cap_output(inp, output, members, company, stock, planned, price,
                           inp.quota_target_t_per_yr[t2024])
    assert capped[0, members].sum() == pytest.approx(inp.quota_target_t_per_yr[t2024])
    late = model("constants.quota_target_from_year=2030").inputs.regimes
    assert late.quota_target_t_per_yr[t2024] == 0.0


@pytest.mark.parametrize("exponent", [2.0, 0.5, -1.0, 1.0, 0.0, 4.0, 3.0, 1.7, -0.3])
def test_the_compiled_power_of_the_sales_response_is_numpys(exponent):
    """numpy takes an array to a scalar power of 2, 0.5 or -1 without ``pow`` (the harness runs
    the default sales_response of 4 only): the kernels' power is the same bits for any."""
    x = np.random.default_rng(7).random(20_000) * 1.5
    x[:3] = [0.0, 1.0, np.nan]
    compiled = np.array([scalar_power(v, exponent) for v in x])
    np.testing.assert_array_equal(compiled, numpys_power(x, exponent))   # c_library.py
