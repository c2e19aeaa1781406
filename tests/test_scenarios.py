"""Scenario loading: built-ins, extends, overrides and every kind of bad input."""

from __future__ import annotations

import pytest

from reesim import load_scenario
from reesim.errors import InputError
from reesim.scenario import builtin_names, scenario_hash


def test_builtins_load_and_free_market_differs_only_in_regime():
    assert {"baotou", "baotou-free-market"} <= set(builtin_names())
    base, free = load_scenario("baotou"), load_scenario("baotou-free-market")
    assert base.market.regime == "trading_company" and free.market.regime == "free_market"
    assert base.events == free.events
    assert base.model_dump(exclude={"name", "description", "market"}) == free.model_dump(
        exclude={"name", "description", "market"})


def test_overrides_apply_and_change_the_hash():
    base = load_scenario("baotou")
    scen = load_scenario("baotou", ["market.regime=free_market", "end_year=2040"])
    assert scen.market.regime == "free_market" and scen.end_year == 2040
    assert scenario_hash(scen) != scenario_hash(base)
    assert scenario_hash(load_scenario("baotou")) == scenario_hash(base)


def test_extends_from_a_user_file_with_event_removal(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("extends: baotou\nname: mine\nevents:\n  japan_halt_2010: null\n"
                    "  nd_buy:\n    type: stockpile\n    amounts_t_reo: {Nd: 5000}\n"
                    "    start: 2030-01\n")
    scen = load_scenario(path)
    assert "japan_halt_2010" not in scen.events and "nd_buy" in scen.events
    assert scen.events["nd_buy"].amounts_t_reo == {"Nd": 5000}


def test_the_builtin_scenarios_have_no_event_outside_their_years(caplog):
    with caplog.at_level("WARNING", logger="reesim.scenario"):
        for name in builtin_names():
            load_scenario(name)
    assert not caplog.records


def test_an_event_wholly_outside_the_run_is_named_in_a_warning(tmp_path, caplog):
    path = tmp_path / "late.yaml"
    path.write_text(
        "extends: baotou\nname: late\nend_year: 2030\nevents:\n"
        "  after:\n    type: disruption\n    producers: [bayan_obo]\n"
        "    capacity_factor: 0.5\n    start: 2031-01\n"
        "  straddles:\n    type: disruption\n    producers: [bayan_obo]\n"
        "    capacity_factor: 0.5\n    start: 2030-12\n    end: 2032-01\n"
        "  bought_before:\n    type: stockpile\n    amounts_t_reo: {Nd: 100}\n"
        "    start: 1998-06\n    months: 12\n")
    with caplog.at_level("WARNING", logger="reesim.scenario"):
        scen = load_scenario(path)
    assert {"after", "straddles", "bought_before"} <= set(scen.events)
    (record,) = caplog.records
    message = record.getMessage()
    assert "late.yaml" in message and "2000-2030" in message
    # the stockpile bought 1998-06..1999-05 and the disruption after 2030 change nothing; the
    # one that starts in the run's last month does
    assert "after" in message and "bought_before" in message and "straddles" not in message
    # said once a process: the attribution loads the same scenario a dozen times
    caplog.clear()
    with caplog.at_level("WARNING", logger="reesim.scenario"):
        load_scenario(path)
    assert not caplog.records


def _error(tmp_path, text: str, overrides=()) -> InputError:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_scenario(path, overrides)
    return info.value


@pytest.mark.parametrize(("text", "field", "words"), [
    ("extends: baotou\nname: x\nmarket:\n  regim: free_market\n", "market.regim",
     ["unknown key", "regime"]),
    ("extends: baotou\nname: x\nend_year: soon\n", "end_year", ["integer"]),
    ("extends: baotou\nname: x\nend_year: 2300\n", "end_year", ["2100"]),
    ("extends: baotou\nname: x\nmarket:\n  regime: monopoly\n", "market.regime",
     ["free_market", "trading_company"]),
    ("extends: baotou\nname: x\nevents:\n  b:\n    type: stockpile\n    amounts_t_reo: {Xx: 5}\n"
     "    start: 2010\n", "events.b", ["La"]),
    ("extends: baotou\nname: x\nevents:\n  b:\n    type: stockpile\n    amounts_t_reo: {Nd: 5}\n"
     "    start: 2010\n    end: 2011\n", "events.b", ["months", "leave it out"]),
    ("extends: baotou\nname: x\nevents:\n  d:\n    type: disruption\n    producers: [atlantis]\n"
     "    capacity_factor: 0\n    start: 2010\n", "events.d.producers", ["bayan_obo"]),
    ("extends: baotou\nname: x\nevents:\n  d:\n    type: disruption\n    producers: [bayan_obo]\n"
     "    capacity_factor: 0\n    start: 2170-01\n", "events.d.start", ["outside"]),
    ("extends: baotou\nname: x\nevents:\n  d:\n    type: disruption\n    producers: [bayan_obo]\n"
     "    capacity_factor: 0\n    start: 2010-13\n", "events.d", ["month"]),
    ("extends: baotou\nname: x\nparameters:\n  supply_steepness: -1\n",
     "parameters.supply_steepness", ["greater than"]),
])
def test_bad_values_name_file_field_and_allowed(tmp_path, text, field, words):
    error = _error(tmp_path, text)
    message = str(error)
    assert "bad.yaml" in message
    assert error.field is not None and error.field.startswith(field.split(".")[0])
    assert field in message or field == "(top level)"
    for word in words:
        assert word in message


def test_malformed_yaml_names_the_line(tmp_path):
    error = _error(tmp_path, "name: x\nmarket: [unclosed\n")
    assert "malformed YAML" in str(error) and "line" in str(error)


def test_missing_file_and_unknown_builtin():
    with pytest.raises(InputError, match="not found"):
        load_scenario("no/such/file.yaml")
    with pytest.raises(InputError, match="baotou"):
        load_scenario("atlantis")


def test_bad_override_syntax():
    with pytest.raises(InputError, match=r"key\.subkey=value"):
        load_scenario("baotou", ["market.regime"])
    with pytest.raises(InputError, match="unknown key"):
        load_scenario("baotou", ["market.nonsense=1"])


def test_circular_extends(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    with pytest.raises(InputError, match="circular"):
        load_scenario(tmp_path / "a.yaml")


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_scenario_runs_and_balances(name):
    from reesim import simulate
    from reesim.testing import assert_balanced

    scenario = load_scenario(name, ["start_year=2024", "end_year=2032"])
    result = simulate(scenario, members=2 if scenario.uncertainty else 1, seed=3)
    assert_balanced(result)
