"""Structural constants: declared, overridable per scenario, hashed, recorded, sampled."""

from __future__ import annotations

import numpy as np
import pytest

from reesim import load_scenario, simulate
from reesim.errors import InputError
from reesim.model.constants import member_constant_names, table
from reesim.scenario import scenario_hash


def test_every_constant_is_declared_with_unit_range_reason_and_source():
    assert len(table()) >= 15
    for name, c in table().items():
        assert c.unit and c.reason and c.source, name
        assert c.low <= c.value <= c.high, name


def test_a_scenario_carries_every_constant_and_an_override_changes_its_hash():
    base = load_scenario("baotou")
    assert set(base.constants) == set(table())
    other = load_scenario("baotou", ["constants.choke_multiple=50"])
    assert other.constants["choke_multiple"] == 50.0
    assert scenario_hash(other) != scenario_hash(base)


@pytest.mark.parametrize(("sets", "words"), [
    (["constants.choke_multipl=50"], ["unknown constant", "choke_multiple"]),
    (["constants.choke_multiple=5"], ["outside its plausible range", "20"]),
    (["constants.restart_months=2.5"], ["whole number"]),
    (["constants.backlog_full_months=8"], ["must be below backlog_stop_months"]),
    (["constants.residue_full_months=60"], ["must be below residue_stop_months"]),
])
def test_bad_constants_are_refused_with_the_field_and_the_allowed_values(sets, words):
    with pytest.raises(InputError) as info:
        load_scenario("baotou", sets)
    assert "constants" in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_constants_reach_the_model_the_manifest_and_a_design():
    scen = load_scenario("baotou", ["end_year=2012", "output.frequency=year",
                                    "constants.choke_multiple=30"])
    result = simulate(scen, members=2, design={"choke_multiple": [30.0, 25.0]})
    assert result.manifest["constants"]["choke_multiple"] == 30.0
    samples = result.dataset.parameter_samples.sel(parameter="choke_multiple").values
    np.testing.assert_array_equal(samples, [30.0, 25.0])
    assert "essential_share" not in member_constant_names()     # shapes arrays: per run only
    with pytest.raises(InputError, match="essential_share"):
        simulate(scen, members=2, design={"essential_share": [0.2, 0.3]})


def test_a_design_that_breaks_a_declared_order_is_refused_naming_the_member():
    from reesim import load_scenario, simulate
    from reesim.errors import InputError

    with pytest.raises(InputError, match="member 1 has 7"):
        simulate(load_scenario("baotou", ["end_year=2001"]), members=2,
                 design={"backlog_full_months": [2.0, 7.0]})      # stop is 6 months
