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


def test_a_stockpile_order_acts_only_in_its_months_within_the_run():
    """An order of 1998-06 for 12 months ends before a run from 2000: it buys nothing. One of
    1999-07 buys its monthly tranche in the six months left of it, 2000-01..2000-06 (until
    2026-12-08 both were moved, whole, to the run's first months)."""
    from reesim import load_scenario
    from reesim.datasets import load_inputs
    from reesim.dims import ELEMENTS
    from reesim.model.build import build_model
    from reesim.model.mechanisms.market import RESERVE_HOLDERS

    data = load_scenario("baotou", ["end_year=2002"]).model_dump(mode="json")
    data["events"] = {
        "before": {"type": "stockpile", "amounts_t_reo": {"Nd": 1200.0}, "start": "1998-06",
                   "months": 12},
        "straddles": {"type": "stockpile", "amounts_t_reo": {"Dy": 120.0}, "start": "1999-07",
                      "months": 12}}
    inp = build_model(validate(data, "test"), load_inputs(), 1, 0).inputs.market
    h, nd, dy = RESERVE_HOLDERS.index("state_reserve"), ELEMENTS.index("Nd"), ELEMENTS.index("Dy")
    rate, left = inp.stockpile_t_per_yr[:, h], inp.stockpile_months_left[:, h]
    assert (rate[:, nd] == 0.0).all() and (left[:, nd] == 0.0).all()
    np.testing.assert_array_equal(rate[:6, dy], 120.0)        # t/yr: 120 t over 12 months
    assert (rate[6:, dy] == 0.0).all()
    np.testing.assert_array_equal(left[:6, dy], [6, 5, 4, 3, 2, 1])


def test_a_second_recovery_event_ramps_from_where_the_first_left_it():
    """Mount Weld's recovery set to 0.8 from 2020, then ramped to 0.9 from 2030 over 2 years:
    the second ramp starts at 0.8 (until 2026-12-08 it restarted from the data's value, and the
    recovery dropped in 2030-01)."""
    from reesim import load_scenario
    from reesim.datasets import load_inputs
    from reesim.model.build import build_model

    data = load_scenario("baotou", ["end_year=2034"]).model_dump(mode="json")
    data["events"] = {
        "first": {"type": "recovery", "producer": "mount_weld", "recovery_fraction": 0.8,
                  "start": "2020-01"},
        "second": {"type": "recovery", "producer": "mount_weld", "recovery_fraction": 0.9,
                   "start": "2030-01", "ramp_yr": 2.0}}
    m = build_model(validate(data, "test"), load_inputs(), 1, 0)
    p = m.coords.producers.index("mount_weld")
    recovery = m.inputs.mining.recovery[:, p]
    month = {y: (y - 2000) * 12 for y in (2020, 2029, 2030, 2031, 2032, 2033)}
    assert recovery[month[2020]] == pytest.approx(0.8) and recovery[month[2029]] == 0.8
    assert 0.8 <= recovery[month[2030]] < recovery[month[2031]] < recovery[month[2032]]
    assert recovery[month[2033]] == pytest.approx(0.9)
    assert (np.diff(recovery[month[2020]:]) >= -1e-12).all()


def test_a_disruption_of_the_first_month_cuts_the_fringe_once():
    """The fringe's capacity at the run start is its recorded capacity; the month's disruption
    factor applies when capacity is read (until 2026-12-08 a disruption of the first month was
    multiplied in twice, 0.5 cutting it to a quarter)."""
    from reesim import load_scenario

    base = load_scenario("baotou", ["end_year=2001", "output.frequency=month"])
    cut = load_scenario("baotou", [
        "end_year=2001", "output.frequency=month", "events.crackdown.type=disruption",
        "events.crackdown.producers=[south_china_illegal]", "events.crackdown.capacity_factor=0.5",
        "events.crackdown.start=2000-01", "events.crackdown.end=2000-02"])
    first = [float(simulate(s).dataset.capacity_available.isel(member=0, time=0)
                   .sel(producer="south_china_illegal")) for s in (base, cut)]
    assert first[1] == pytest.approx(0.5 * first[0], rel=1e-12)
