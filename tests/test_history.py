"""The calibrated history: it reproduces its recorded fit, and a wrong parameter set scores worse.

The golden figures are the metrics and objective recorded in
``src/reesim/scenarios/calibrations/baotou.yaml``. These tests fail when a change to the engine,
the data or the parameters moves the fit: commit the change, rebuild the calibrations with ONE
command, ``scripts/rebuild-calibrations`` (it runs the command in each file's header from a clean
tree, about 5 minutes per file), review the new metrics and commit the files.
"""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from reesim import load_scenario, simulate
from reesim.validation import compute_metrics, objective
from reesim.validation.observations import HISTORY_END_YEAR


@pytest.fixture(scope="module")
def recorded():
    text = (resources.files("reesim") / "scenarios" / "calibrations" / "baotou.yaml").read_text()
    return yaml.safe_load(text)


def _history(overrides=()):
    scenario = load_scenario("baotou", [*overrides, f"end_year={HISTORY_END_YEAR + 1}"])
    return compute_metrics(simulate(scenario).dataset)


@pytest.fixture(scope="module")
def calibrated_metrics():
    return _history()


def test_the_baotou_scenario_uses_the_calibrated_parameters(recorded):
    params = load_scenario("baotou").parameters
    for name, value in recorded["parameters"].items():
        assert getattr(params, name) == pytest.approx(value, rel=1e-12)


def test_the_calibrated_history_reproduces_its_recorded_metrics(recorded, calibrated_metrics):
    fit = recorded["fit"]
    assert fit["window"].endswith(f"{HISTORY_END_YEAR}-12")
    assert objective(calibrated_metrics) == pytest.approx(fit["objective"]["value"], rel=1e-4)
    table = calibrated_metrics.set_index(["series", "metric"]).value
    checked = 0
    for series, metrics in fit["metrics"].items():
        for metric, value in metrics.items():
            if value is None or (series, metric) not in table.index:
                continue
            assert table[(series, metric)] == pytest.approx(value, rel=2e-3, abs=2e-3), (
                series, metric)
            checked += 1
    assert checked > 50


def test_a_deliberately_wrong_parameter_set_scores_worse(calibrated_metrics):
    wrong = _history(["parameters.demand_elasticity_multiplier=1.0",
                      "parameters.hoarding_sensitivity=0.0",
                      "parameters.price_adjustment_time_yr=1.0",
                      "parameters.price_expectation_time_yr=0.3"])
    assert objective(wrong) > 1.2 * objective(calibrated_metrics)
