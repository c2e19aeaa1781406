"""Uncertainty distributions: relative to the resolved value, checked inputs, exact quantiles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reesim import load_scenario
from reesim.errors import InputError
from reesim.model.sampling import sample_parameters
from reesim.scenario.schema import Distribution

U = np.array([0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999])


def test_ensemble_medians_match_the_resolved_scenario():
    """baotou-ensemble samples around the calibrated values baotou runs with."""
    ensemble = load_scenario("baotou-ensemble")
    baotou = load_scenario("baotou")
    resolved = baotou.parameters
    assert ensemble.uncertainty
    params, samples, names = sample_parameters(ensemble, 2001, seed=0)
    assert names == tuple(ensemble.uncertainty)
    for j, name in enumerate(names):
        if hasattr(resolved, name):                     # a behavioural parameter
            centre = float(getattr(resolved, name))
            assert float(getattr(ensemble.parameters, name)) == centre
        else:                                           # a structural constant
            centre = float(baotou.resolved_value(name))
        # the median quantile maps exactly onto the resolved value ...
        assert ensemble.uncertainty[name].ppf(np.array([0.5]), centre)[0] == pytest.approx(centre)
        # ... and the sampled median is within sampling error of it (sd of the median < 1.2%)
        assert np.median(samples[:, j]) == pytest.approx(centre, rel=0.04), name
        np.testing.assert_array_equal(params[name], samples[:, j])


def test_single_member_keeps_the_resolved_values():
    scen = load_scenario("baotou-ensemble")
    params, samples, names = sample_parameters(scen, 1, seed=0)
    assert names == () and samples.shape == (1, 0)
    for name in scen.uncertainty:
        if hasattr(scen.parameters, name):
            assert params[name][0] == float(getattr(scen.parameters, name))
        else:           # a structural constant: the member runs with the scenario's own value
            assert name not in params and scen.resolved_value(name) == scen.constants[name]


@pytest.mark.parametrize(("spec", "centre", "reference"), [
    ({"dist": "uniform", "low": 0.7, "high": 1.3}, 2.0, stats.uniform(1.4, 1.2)),
    ({"dist": "normal", "sd": 0.1}, 2.0, stats.norm(2.0, 0.2)),
    ({"dist": "lognormal", "sigma": 0.3}, 2.0, stats.lognorm(0.3, scale=2.0)),
    ({"dist": "uniform", "relative": False, "low": 0.1, "high": 0.5}, 9.0,
     stats.uniform(0.1, 0.4)),
    ({"dist": "normal", "relative": False, "mean": 1.0, "sd": 0.5}, 9.0, stats.norm(1.0, 0.5)),
    ({"dist": "lognormal", "relative": False, "median": 3.0, "sigma": 0.2}, 9.0,
     stats.lognorm(0.2, scale=3.0)),
])
def test_ppf_matches_scipy(spec, centre, reference):
    dist = Distribution.model_validate(spec)
    np.testing.assert_allclose(dist.ppf(U, centre), reference.ppf(U), rtol=1e-12)


@pytest.mark.parametrize("u", [0.0, 1.0, -0.2, float("nan")])
def test_ppf_refuses_quantiles_outside_the_open_interval(u):
    with pytest.raises(ValueError, match="open interval"):
        Distribution(dist="normal", sd=0.1).ppf(np.array([0.5, u]), 1.0)


def test_normal_draws_are_clipped_into_the_allowed_range():
    # a wide relative normal around the calibrated 0.064 yr: negative times would be meaningless
    scen = load_scenario("baotou", [
        "end_year=2001", "uncertainty.price_adjustment_time_yr.dist=normal",
        "uncertainty.price_adjustment_time_yr.sd=40"])
    _, samples, _ = sample_parameters(scen, 400, seed=1)
    assert samples.min() > 0.0 and samples.max() <= 5.0
    assert samples.min() < 1e-6 and samples.max() == 5.0


def test_member_draws_do_not_depend_on_ensemble_size():
    scen = load_scenario("baotou-ensemble")
    _, small, _ = sample_parameters(scen, 3, seed=5)
    _, large, _ = sample_parameters(scen, 50, seed=5)
    np.testing.assert_array_equal(small, large[:3])


BAD = {
    "nan_mean": (["dist=normal", "relative=false", "mean=.nan", "sd=0.1"], "finite"),
    "inf_high": (["dist=uniform", "relative=false", "low=0.1", "high=.inf"], "finite"),
    "inf_median": (["dist=lognormal", "relative=false", "median=.inf", "sigma=0.1"], "finite"),
    "nan_sigma": (["dist=lognormal", "sigma=.nan"], "finite"),
    "zero_sd": (["dist=normal", "sd=0"], "greater than 0"),
    "negative_sigma": (["dist=lognormal", "sigma=-0.1"], "greater than 0"),
    "huge_sigma": (["dist=lognormal", "sigma=40"], "less than or equal to 3"),
    "low_not_below_high": (["dist=uniform", "low=1.2", "high=0.8"], "low < high"),
    "uniform_outside_range": (["dist=uniform", "low=0.5", "high=100"], "outside the allowed range"),
    "uniform_negative": (["dist=uniform", "low=-1", "high=1.5"], "outside the allowed range"),
    "absolute_mean_outside": (["dist=normal", "relative=false", "mean=9", "sd=0.1"],
                              "outside the allowed range"),
    "absolute_field_in_relative": (["dist=lognormal", "median=2", "sigma=0.2"],
                                   "relative: false"),
    "missing_sd": (["dist=normal"], "missing sd"),
    "unknown_dist": (["dist=beta"], "uniform"),
    "unknown_key": (["dist=normal", "sd=0.1", "skew=1"], "skew"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_distributions_are_refused_naming_the_field(case):
    items, needle = BAD[case]
    overrides = ["end_year=2001"] + [f"uncertainty.price_adjustment_time_yr.{i}" for i in items]
    with pytest.raises(InputError) as info:
        load_scenario("baotou", overrides)
    text = str(info.value)
    assert needle in text
    assert "uncertainty" in text and "price_adjustment_time_yr" in text


def test_relative_distribution_needs_a_positive_centre():
    with pytest.raises(InputError, match="positive resolved value"):
        load_scenario("baotou", ["parameters.hoarding_sensitivity=0",
                                 "uncertainty.hoarding_sensitivity.dist=lognormal",
                                 "uncertainty.hoarding_sensitivity.sigma=0.2"])


def test_the_default_run_lies_inside_the_ensemble_band():
    """Centred on the calibration, the ensemble's 5-95% band holds the default run's prices.

    The issue found the default run outside the band in 11 of 36 Pr/Nd/Dy/Tb export price
    cells (years 2010, 2015, ..., 2050) when the ensemble was centred on schema defaults.
    """
    from reesim import simulate

    years = list(range(2010, 2051, 5))
    ensemble = simulate(load_scenario("baotou-ensemble"), members=40, seed=0).dataset
    default = simulate(load_scenario("baotou", ["output.frequency=year"])).dataset
    outside = 0
    for element in ("Pr", "Nd", "Dy", "Tb"):
        ens = ensemble.price.sel(element=element, market="export").sel(
            time=ensemble.time.dt.year.isin(years))
        run = default.price.sel(element=element, market="export", member=0).sel(
            time=default.time.dt.year.isin(years)).values
        low = ens.quantile(0.05, "member").values
        high = ens.quantile(0.95, "member").values
        outside += int(((run < low) | (run > high)).sum())
    assert outside <= 2, f"{outside} of 36 cells outside the ensemble's 5-95% band"
