"""Regimes: chosen by name, one protocol; the trading company caps members and defends prices."""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
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


def _company(months: float, sales_rate: float = 0.0) -> regimes.CompanyState:
    ref = model().inputs.market.reference_price_usd_per_kg
    return regimes.CompanyState(reference=ref[None].copy(), sales_rate=np.array([sales_rate]),
                                months=np.array([months]))


def test_the_company_caps_its_members_output_to_its_plan_and_the_free_market_does_not():
    inp = model().inputs.regimes
    members = inp.members[12 * 10]
    assert members.any()
    output = np.full((1, len(members)), 100_000.0)
    price = model().inputs.market.reference_price_usd_per_kg[None]
    company = _company(months=36, sales_rate=0.0)
    tc, fm = regimes.REGIMES["trading_company"], regimes.REGIMES["free_market"]
    stock = np.zeros_like(price)
    planned = tc.planned_stockpile(inp, company)
    capped = tc.cap_output(inp, output, members, company, stock, planned, price)
    plan = regimes.SALES_RULES["defend_price"].output_plan(inp, company, stock, planned, price)
    assert 0 < plan[0] < output[0, members].sum()                     # the plan binds
    np.testing.assert_allclose(capped[0, members].sum(), plan[0], rtol=1e-12)
    np.testing.assert_array_equal(capped[0, ~members], output[0, ~members])
    np.testing.assert_array_equal(fm.cap_output(inp, output, members, company, stock, planned,
                                                price), output)


def test_the_company_withholds_below_its_defended_price_while_its_stockpile_is_within_plan():
    inp = model().inputs.regimes
    company = _company(months=120)
    tc = regimes.REGIMES["trading_company"]
    planned = tc.planned_stockpile(inp, company)
    assert planned[0] == inp.planned_stockpile_t                      # fully built after 5 years
    stock = np.full((1, 16), 10.0)
    ref = company.reference
    release = np.zeros_like(stock)
    low = tc.company_offer(inp, stock, 0.5 * ref, company, planned, release)
    high = tc.company_offer(inp, stock, 2.0 * ref, company, planned, release)
    assert np.all(low < stock) and np.all(high == stock)
    fm = regimes.REGIMES["free_market"]
    np.testing.assert_array_equal(fm.company_offer(inp, stock, 0.5 * ref, company, planned,
                                                   release), stock)


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
    company = _company(months=36, sales_rate=0.0)                     # no sales: plan ~0
    tc = regimes.REGIMES["trading_company"]
    stock = np.zeros_like(price)
    planned = tc.planned_stockpile(inp, company)
    capped = tc.cap_output(inp, output, members, company, stock, planned, price,
                           inp.quota_target_t_per_yr[t2024])
    assert capped[0, members].sum() == pytest.approx(inp.quota_target_t_per_yr[t2024])
    late = model("constants.quota_target_from_year=2030").inputs.regimes
    assert late.quota_target_t_per_yr[t2024] == 0.0
