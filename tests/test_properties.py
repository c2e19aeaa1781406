"""Property tests: random valid scenarios keep balances, non-negative stocks and sane prices."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reesim import load_scenario, simulate
from reesim.datasets import load_inputs
from reesim.dims import ELEMENTS
from reesim.testing import assert_balanced

PRODUCERS = sorted(load_inputs()["producers"].producer)


@st.composite
def scenarios(draw):
    sets = [f"start_year={draw(st.integers(2000, 2006))}",
            f"end_year={draw(st.integers(2008, 2014))}"]
    floats = {
        "price_adjustment_time_yr": (0.05, 2.0), "price_coverage_sensitivity": (0.2, 3.0),
        "supply_steepness": (0.5, 12.0), "demand_elasticity_multiplier": (0.0, 3.0),
        "hoarding_sensitivity": (0.0, 3.0), "illegal_supply_elasticity": (0.0, 4.0),
        "china_cost_multiplier": (0.3, 3.0), "seller_coverage_target_months": (0.5, 8.0),
    }
    for name, (lo, hi) in floats.items():
        if draw(st.booleans()):
            sets.append(f"parameters.{name}={draw(st.floats(lo, hi)):.6g}")
    sets.append(f"market.regime={draw(st.sampled_from(['free_market', 'trading_company']))}")
    if draw(st.booleans()):
        producer = draw(st.sampled_from(PRODUCERS))
        sets += ["events.x.type=disruption", f"events.x.producers=[{producer}]",
                 f"events.x.capacity_factor={draw(st.floats(0, 2)):.4g}",
                 f"events.x.start={draw(st.integers(2007, 2012))}-{draw(st.integers(1, 12)):02d}"]
    if draw(st.booleans()):
        element = draw(st.sampled_from(ELEMENTS))
        action = draw(st.sampled_from(["buy", "release"]))
        sets += ["events.y.type=stockpile", f"events.y.action={action}",
                 f"events.y.amounts_t_reo={{{element}: {draw(st.integers(0, 50_000))}}}",
                 f"events.y.months={draw(st.integers(1, 36))}", "events.y.start=2008-06"]
    if draw(st.booleans()):
        sets += ["events.z.type=quota", "events.z.kind=export",
                 f"events.z.value_t_reo_per_yr={draw(st.integers(0, 80_000))}",
                 "events.z.start=2008-01"]
    return load_scenario("baotou", sets)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_scenarios_keep_the_invariants(scenario):
    ds = simulate(scenario).dataset
    assert_balanced(ds)
    price = ds.price.values
    assert np.isfinite(price).all() and (price > 0).all()
    for name, var in ds.data_vars.items():
        if var.attrs.get("kind") in ("flow", "stock") and name not in ("netback", "revenue"):
            assert float(var.min()) >= -1e-6, name
