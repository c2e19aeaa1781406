"""Events: the registry matches the schema, and random scenarios with any event type over
2000-2050 keep the invariants (balances, no NaN, prices within floor and choke, stocks >= 0)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reesim import simulate
from reesim.model.events import EVENTS
from reesim.scenario.loader import merge, validate
from reesim.scenario.schema import EVENT_TYPES
from reesim.testing import assert_balanced
from strategies import events, scenario_data


def test_every_event_type_of_the_schema_has_exactly_one_function():
    assert set(EVENTS) == set(EVENT_TYPES)
    assert next(iter(EVENTS)) == "regime"              # regime first: others may depend on it


@pytest.mark.parametrize("kind", EVENT_TYPES)
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_every_event_type_builds_valid_events(kind, data):
    from reesim import load_scenario

    event = data.draw(events(kind))
    scen = validate(merge(load_scenario("baotou").model_dump(mode="json"),
                          {"events": {"x": event}}), "test")
    assert scen.events["x"].type == kind


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_data())
def test_random_scenarios_with_any_events_keep_the_invariants(overrides):
    from reesim import load_scenario

    scen = validate(merge(load_scenario("baotou").model_dump(mode="json"), overrides), "test")
    ds = simulate(scen).dataset
    assert_balanced(ds)
    for name, var in ds.data_vars.items():
        assert not np.isnan(var.values).any(), name
        net = ("netback", "revenue", "stockpile_purchases")   # can be negative by definition
        if var.attrs.get("kind") in ("flow", "stock") and name not in net:
            assert float(var.min()) >= -1e-6, name
    price = ds.price.values
    assert np.isfinite(price).all() and (price > 0).all()


def test_a_ramp_of_a_vanishing_length_is_a_step_without_a_warning():
    # found by the property test in CI: ramp_yr=5e-324 overflowed months / (12 * ramp_yr)
    from reesim.model.context import ramp
    from reesim.model.timeline import Timeline

    timeline = Timeline(2000, 2001)
    values = ramp(timeline, "2000-06", 5e-324)
    assert values[timeline.index("2000-05")] == 0.0
    assert (values[timeline.index("2000-06"):] == 1.0).all()


@pytest.mark.parametrize(("start", "end"), [(2000, 2050), (1990, 2001), (2004, 2030)])
def test_the_timeline_dates_are_the_first_days_of_its_months(start, end):
    import pandas as pd

    from reesim.model.timeline import Timeline

    timeline = Timeline(start, end)
    expected = pd.date_range(f"{start}-01-01", periods=timeline.steps, freq="MS").values
    assert timeline.dates.dtype == expected.dtype and np.array_equal(timeline.dates, expected)
