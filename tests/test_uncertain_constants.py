"""Member-level structural constants sampled like behavioural parameters (``uncertainty:``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reesim import load_scenario, simulate
from reesim.ensemble.designs import make_design, scenario_factors
from reesim.errors import InputError
from reesim.model.constants import table
from reesim.model.sampling import sample_parameters
from reesim.scenario.schema import Distribution

SHORT = "end_year=2003"
ELASTICITY = "uncertainty.purchase_elasticity={dist: uniform, low: 0.5, high: 1.5}"
U = np.array([0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999])


def test_a_sampled_constant_reaches_each_member():
    """4 members get 4 values of the (negative) elasticity in range; each member runs with its."""
    scen = load_scenario("baotou", [SHORT, ELASTICITY])
    ds = simulate(scen, members=4, seed=3).dataset
    assert list(ds.parameter.values) == ["purchase_elasticity"]
    values = ds.parameter_samples.sel(parameter="purchase_elasticity").values
    assert len(set(values)) == 4
    assert np.all((values >= -0.45) & (values <= -0.15))       # factors 0.5..1.5 of -0.3
    prices = ds.price.sel(element="Nd", market="export").values  # (member, time)
    assert len({row.tobytes() for row in prices}) == 4            # only the elasticity differs
    single = load_scenario("baotou", [SHORT, f"constants.purchase_elasticity={float(values[2])!r}"])
    alone = simulate(single).dataset.price.sel(element="Nd", market="export").values[0]
    np.testing.assert_allclose(prices[2], alone, rtol=1e-9)


def test_a_run_level_constant_is_refused_naming_the_field():
    with pytest.raises(InputError, match="one value per scenario") as info:
        load_scenario("baotou", [SHORT, "uncertainty.essential_share={dist: normal, sd: 0.1}"])
    assert info.value.field == "uncertainty.essential_share"


def test_an_unknown_name_lists_parameters_and_member_constants():
    with pytest.raises(InputError, match="must be a parameter name") as info:
        load_scenario("baotou", [SHORT, "uncertainty.no_such_thing={dist: normal, sd: 0.1}"])
    text = str(info.value)
    assert info.value.field == "uncertainty.no_such_thing"
    assert "price_adjustment_time_yr" in text and "purchase_elasticity" in text
    assert "essential_share" not in text


@pytest.mark.parametrize("spec", [
    "{dist: uniform, relative: false, low: 0.5, high: 2.0}",     # declared range 0..1.5
    "{dist: uniform, low: 0.5, high: 2.0}",                      # factors of 1.0
    "{dist: normal, relative: false, mean: 3.0, sd: 0.1}",
])
def test_a_distribution_outside_the_declared_range_is_refused(spec):
    with pytest.raises(InputError, match=r"outside the allowed range \[0, 1.5\]") as info:
        load_scenario("baotou", [SHORT, f"uncertainty.reserve_replacement_ratio={spec}"])
    assert info.value.field == "uncertainty.reserve_replacement_ratio"


def test_ordered_constants_may_not_cross_in_any_member():
    """backlog_full_months < backlog_stop_months: a lognormal full backlog could reach 24."""
    with pytest.raises(InputError, match="must stay below backlog_stop_months"):
        load_scenario("baotou", [SHORT, "uncertainty.backlog_full_months={dist: lognormal, "
                                        "sigma: 0.2}"])
    load_scenario("baotou", [SHORT, "uncertainty.backlog_full_months={dist: uniform, low: 0.5, "
                                    "high: 1.5}"])


def test_relative_draws_are_centred_on_the_scenario_constant():
    scen = load_scenario("baotou", [SHORT, "constants.max_scarcity_factor=6",
                                    "uncertainty.max_scarcity_factor={dist: lognormal, "
                                    "sigma: 0.3}"])
    _, samples, names = sample_parameters(scen, 801, seed=0)
    assert names == ("max_scarcity_factor",)
    assert np.median(samples[:, 0]) == pytest.approx(6.0, rel=0.05)
    assert samples.min() >= 1.5 and samples.max() <= 20.0


@pytest.mark.parametrize(("spec", "reference"), [
    ({"dist": "uniform", "low": 0.5, "high": 1.5}, stats.uniform(-0.45, 0.3)),
    ({"dist": "normal", "sd": 0.1}, stats.norm(-0.3, 0.03)),
])
def test_negative_centre_quantiles_match_scipy(spec, reference):
    dist = Distribution.model_validate(spec)
    np.testing.assert_allclose(dist.ppf(U, -0.3), reference.ppf(U), rtol=1e-12)


def test_negative_centre_lognormal_keeps_the_sign_and_increases():
    values = Distribution(dist="lognormal", sigma=0.3).ppf(U, -0.3)
    np.testing.assert_allclose(values, -stats.lognorm(0.3, scale=0.3).ppf(1.0 - U), rtol=1e-12)
    assert np.all(np.diff(values) > 0.0) and values[3] == pytest.approx(-0.3)


def test_integer_constants_are_sampled_as_whole_numbers():
    scen = load_scenario("baotou", [SHORT, "uncertainty.restart_months={dist: lognormal, "
                                           "sigma: 0.8}"])
    _, samples, _ = sample_parameters(scen, 200, seed=2)
    values = samples[:, 0]
    assert np.array_equal(values, np.rint(values)) and len(set(values)) > 10
    assert values.min() >= 1 and values.max() <= 60
    design = make_design("lhs", 50, 0, scenario_factors(scen))
    assert np.array_equal(design.values, np.rint(design.values))


def test_member_draws_of_constants_do_not_depend_on_ensemble_size():
    scen = load_scenario("baotou", [SHORT, ELASTICITY, "uncertainty.restart_months={dist: "
                                                       "uniform, low: 0.5, high: 2}"])
    params, small, names = sample_parameters(scen, 3, seed=5)
    _, large, _ = sample_parameters(scen, 40, seed=5)
    np.testing.assert_array_equal(small, large[:3])
    assert names == ("purchase_elasticity", "restart_months")
    np.testing.assert_array_equal(params["restart_months"], small[:, 1])


def test_scenario_factors_include_constants_with_their_declared_range():
    scen = load_scenario("baotou-xlrm")
    factors = {f.name: f for f in scenario_factors(scen)}
    medians = {"reserve_replacement_ratio": 1.0,                  # absolute uniform 0.5..1.5
               "purchase_elasticity": scen.constants["purchase_elasticity"],
               "max_scarcity_factor": scen.constants["max_scarcity_factor"]}
    for name, median in medians.items():
        const = table()[name]
        assert (factors[name].low, factors[name].high) == (const.low, const.high)
        assert factors[name].ppf(np.array([0.5]))[0] == pytest.approx(median)
    quantiles = factors["purchase_elasticity"].ppf(np.array([0.01, 0.99]))
    np.testing.assert_allclose(quantiles, [-0.447, -0.153])     # increasing, swapped ends


def test_a_lever_may_not_set_a_sampled_constant(tmp_path):
    from reesim.ensemble.api import run_ensemble

    scen = load_scenario("baotou-xlrm", [
        "levers=null", "levers.scarcity={path: constants.max_scarcity_factor, values: [3, 5]}"])
    with pytest.raises(InputError, match="also an uncertainty"):
        run_ensemble(scen, tmp_path / "ens", samples=2)
