"""Conservation: every stage balances per element and step, and a broken balance is caught."""

from __future__ import annotations

import numpy as np
import pytest

from reesim import load_scenario, simulate
from reesim.balance import balance_report
from reesim.errors import BalanceError
from reesim.testing import assert_balanced


def test_default_run_is_balanced(baotou_result):
    assert_balanced(baotou_result)
    report = balance_report(baotou_result.dataset)
    assert set(report) >= {"mining", "concentrate", "separation", "market", "manufacturing",
                           "use", "end_of_life", "tailings"}
    for residual in report.values():
        assert float(np.abs(residual).max()) < 1e-3


@pytest.mark.parametrize("variable,stage", [
    ("separation_output", "separation"),
    ("consumption", "market"),
    ("tailings_inflow", "mining"),
])
def test_a_broken_balance_fails_and_names_stage_element_and_time(baotou_result, variable, stage):
    ds = baotou_result.dataset.copy(deep=True)
    ds[variable][dict(member=0, time=130, element=3)] += 5.0   # Nd, 2010-11
    with pytest.raises(BalanceError) as info:
        assert_balanced(ds)
    message = str(info.value)
    assert f"stage {stage!r}" in message
    assert "element Nd" in message
    assert "2010-11" in message


def test_annual_recording_is_balanced_too():
    result = simulate(load_scenario("baotou", ["output.frequency=year", "end_year=2020"]))
    assert result.dataset.sizes["time"] == 21
    assert_balanced(result)
