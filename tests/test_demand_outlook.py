"""Demand that grows like the world's (issue 8): record 2016-2025, outlooks, all 16 elements.

One batch of the baotou baseline with the demand elasticity multiplier at the bounds of its
prior (0.5 and 1.5, the literature's range), at 1.0, and at 5.9 (the former calibrated value,
outside the prior) to show what the prior rules out. Tolerances are those of
``reesim.validation.outlooks.TOLERANCE`` (15% on a level, 10% on a ratio).
"""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
from reesim import load_scenario, simulate
from reesim.calibration.parameters import FREE_PARAMETERS
from reesim.indicators import mean_by_year
from reesim.validation.outlooks import model_quantities

PRIOR = next(p for p in FREE_PARAMETERS if p.name == "demand_elasticity_multiplier")
MULTIPLIERS = [PRIOR.low, 1.0, PRIOR.high, 5.9]
LOW, MID, HIGH, OLD = range(4)


@pytest.fixture(scope="module")
def runs():
    ds = simulate(load_scenario("baotou"), members=len(MULTIPLIERS),
                  design={"demand_elasticity_multiplier": MULTIPLIERS}).dataset
    return ds


def _annual(da):
    return mean_by_year(da)


def test_the_prior_keeps_elasticities_inside_the_literature_range():
    # the most elastic use (phosphors -0.3) at the prior's top stays within the interquartile
    # range of long-run estimates for metals, -0.45 .. -0.07 (GLOMBO S29); the most common
    # proxy (-0.2) at its bottom stays within a 0.03 margin of it (see the next test for the
    # magnets proxy, which does not)
    assert PRIOR.high * 0.3 <= 0.45 + 1e-9 and PRIOR.low * 0.2 >= 0.069 - 0.03


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known miss: magnets' packaged long-run elasticity -0.1 x the prior's low end 0.5 is -0.05, "
    "above the interquartile range -0.45 .. -0.07 (GLOMBO S29); raising the low end to 0.7 "
    "needs a refit: the committed fits sit at 1.40-1.50 (twenty-sixth session), but rebuilt "
    "on 0.7-1.5 the baotou search found a worse basin (3.007, or 2.912 with hoarding at 0; "
    "docs/model.md section 5). Rebuilt on 0.7-1.5 again on the fifty-first session's code, "
    "every file fits a little better (baotou 2.484 at seed 6) but the 2040 state purchase "
    "raises China's Nd 1.088-1.090x (1.1x asked, seeds 6 and 0) and the China side's purchase "
    "moves it 1.09%: docs/market-experiments.md"))
def test_every_packaged_elasticity_within_the_prior_stays_inside_the_literature_range():
    from reesim.datasets import load_inputs

    elasticity = np.abs(load_inputs()["applications"].elasticity_long.to_numpy(float))
    assert PRIOR.high * elasticity.max() <= 0.45 + 1e-9
    assert PRIOR.low * elasticity.min() >= 0.069


def test_phosphor_demand_does_not_rebound_when_its_growth_input_declines(runs):
    phosphors = _annual(runs.demand.sel(application="phosphors").sum("element"))
    ratio = (phosphors.sel(year=2050) / phosphors.sel(year=2020)).values
    # growth input: -5%/yr to 2027, -2%/yr after (0.44x). The Eu and Tb price collapse still
    # lifts demand at constant elasticity (cost index ~0.1 of 2007), but within the prior it
    # stays below +50% over 30 years
    assert (ratio[[LOW, MID, HIGH]] < 1.5).all(), ratio
    # the former multiplier (outside the prior) turns that collapse into a rebound: phosphor
    # demand grows although its input declines (it tripled on the model before issue 8; 1.49x
    # at the 2026-12-02 calibration)
    assert ratio[OLD] > 1.2 * ratio[HIGH] and ratio[OLD] > 1.0, ratio


def test_demand_2016_2025_matches_the_record(runs):
    total = _annual(runs.demand.sum(["application", "element"])).isel(member=MID)
    magnets = _annual(runs.demand.sel(application="magnets").sum("element")).isel(member=MID)
    catalysts = _annual(runs.demand.sel(application="catalysts").sum("element")).isel(member=MID)
    # Arafura 2018 137 kt; Roskill 2020 147.5 kt (a Covid year), magnets 29%, catalysts 20%
    assert float(total.sel(year=2018)) == pytest.approx(137_000, rel=0.15)
    assert float(total.sel(year=2020)) == pytest.approx(147_500, rel=0.15)
    assert float(magnets.sel(year=2020) / total.sel(year=2020)) == pytest.approx(0.29, rel=0.15)
    assert float(catalysts.sel(year=2020) / total.sel(year=2020)) == pytest.approx(0.20,
                                                                                 rel=0.15)
    # the Covid dip: 2020 at least 3% below the trend of its neighbours (their mean), and below
    # both (measured 2026-12: 2019 142.6 kt, 2020 135.0 kt, 2021 152.4 kt)
    before, during, after = (float(total.sel(year=y)) for y in (2019, 2020, 2021))
    assert during < 0.97 * 0.5 * (before + after) and during < min(before, after)


def test_the_baseline_grows_like_the_2030_outlooks(runs):
    paths = model_quantities(runs.isel(member=[MID]))
    share = paths["magnet_share_of_demand"]
    assert 0.35 * 0.85 <= share[2030] <= 0.40 * 1.15          # Roskill 2021: ~40% (>35%)
    ree = paths["magnet_ree_demand"]
    assert ree[2030] / ree[2024] == pytest.approx(1.45, rel=0.10)   # IEA STEPS +45% 2024-2030
    total = paths["total_demand"]
    # it keeps growing to 2050 (the former baseline was flat from 2025)
    assert total[2050] > 1.15 * total[2030]


def test_total_demand_grows_like_the_published_2020_2030_outlooks(runs):
    """Narrowly: 4.92%/yr over 2020-2030 at a multiplier of 1 (the fit of 2026-12-07, two market
    sub-steps a month; 2020 143.5 kt), against the Australian OCE's 4.0%/yr, whose 10% tolerance
    on the 2030/2020 ratio tops out at 4.99%/yr. A strict xfail until then: 5.02-5.06%/yr at
    the fits of one sub-step (a low 2020 base after a 3% Covid dip lifts the rate)."""
    total = model_quantities(runs.isel(member=[MID]))["total_demand"]
    cagr = 100 * ((total[2030] / total[2020]) ** 0.1 - 1)
    assert 3.0 <= cagr <= 5.0                                   # Australia OCE 4%/yr 2020-2030


def test_every_element_trades_between_its_floor_and_far_below_its_choke(runs):
    price = runs.price.isel(member=[LOW, MID, HIGH])
    reference = model().inputs.demand.reference_price_usd_per_kg
    choke = 100.0 * reference
    assert np.isfinite(price).all()
    # the record's highest peaks reached 0.45 of the choke (La and Ce outside China in 2011,
    # 135-138 USD/kg against 2007 anchors of 3.0-3.4): history may come that close, the
    # projection stays well below (the 2025 controls on Sm, Gd, Dy, Tb, Y lift export prices).
    # With the scarcity bound fitted (6.35 at the 2026-12-03 fit, 4 before) the least elastic
    # member (multiplier 0.5, a third of the fitted 1.48) puts Y at 0.56 of its choke in 2011
    # (the fitted one at 0.22): history is held below 0.6. At the seventeenth session's fit
    # (bound 9.06) that member reached 0.85 (Y) and 0.75 (Eu) in 2013, at the eighteenth's
    # (bound 4.84) the choke itself for Y (2012) and Eu (2013): the next test; the others stay
    # below (0.45 at a multiplier of 1, 0.24 at 1.5)
    history = price.sel(time=slice(None, "2025-12")).max(["time", "market"]).values   # (M, E)
    future = price.sel(time=slice("2026-01", None)).max(["time", "market"]).values
    assert (history[1:] < 0.6 * choke).all(), dict(zip(runs.element.values,
                                                       history.max(axis=0), strict=True))
    assert (future < 0.3 * choke).all(), dict(zip(runs.element.values, future.max(axis=0),
                                                  strict=True))
    # scandium now has flows: consumption in every year of the baseline
    sc = _annual(runs.consumption.sel(element="Sc").sum("application")).isel(member=MID)
    assert float(sc.sel(year=slice(2016, 2050)).min()) > 5.0      # t Sc2O3/yr


def test_even_the_least_elastic_member_keeps_history_below_six_tenths_of_the_choke(runs):
    # passes at the thirty-first session's fit (2026-12-05); a strict xfail at the twenty-sixth
    # to thirtieth (scarcity bound 5.20: Y at 0.61 of its choke in September 2013, Eu at 0.58),
    # passed at the twenty-third to twenty-fifth and failed at the eighteenth (Y and Eu at it)
    price = runs.price.isel(member=[LOW])
    choke = 100.0 * model().inputs.demand.reference_price_usd_per_kg
    history = price.sel(time=slice(None, "2025-12")).max(["time", "market"]).values
    assert (history < 0.6 * choke).all(), dict(zip(runs.element.values, history.max(axis=0),
                                                   strict=True))
