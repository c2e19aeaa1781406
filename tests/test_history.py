"""The calibrated history: it reproduces its recorded fit, and a wrong parameter set scores worse.

The golden figures are the metrics and objective recorded in
``src/reesim/scenarios/calibrations/baotou.yaml``, measured over the fit's calibration window
(the record up to its ``train_until``). These tests fail when a change to the engine,
the data or the parameters moves the fit: commit the change, rebuild the calibrations with ONE
command, ``scripts/rebuild-calibrations`` (it runs the command in each file's header from a clean
tree, about 5 minutes per file), review the new metrics and commit the files.
"""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from reesim import load_scenario, simulate
from reesim.calibration import history_scenario
from reesim.validation import compute_metrics, load_observations, objective


@pytest.fixture(scope="module")
def recorded():
    text = (resources.files("reesim") / "scenarios" / "calibrations" / "baotou.yaml").read_text()
    return yaml.safe_load(text)


def _history(train_until, overrides=()):
    """Metrics of baotou's run over the calibration window (the record up to ``train_until``)."""
    scenario = history_scenario(load_scenario("baotou", list(overrides)), train_until)
    return compute_metrics(simulate(scenario).dataset, load_observations(train_until))


@pytest.fixture(scope="module")
def train_until(recorded):
    return int(recorded["fit"]["train_until"])


@pytest.fixture(scope="module")
def calibrated_metrics(train_until):
    return _history(train_until)


def test_the_baotou_scenario_uses_the_calibrated_parameters(recorded):
    params = load_scenario("baotou").parameters
    for name, value in recorded["parameters"].items():
        assert getattr(params, name) == pytest.approx(value, rel=1e-12)


def test_the_calibrated_history_reproduces_its_recorded_metrics(recorded, calibrated_metrics):
    fit = recorded["fit"]
    assert fit["window"].endswith(f"{fit['train_until']}-12")
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


def test_a_deliberately_wrong_parameter_set_scores_worse(calibrated_metrics, train_until):
    wrong = _history(train_until, ["parameters.demand_elasticity_multiplier=1.0",
                      "parameters.hoarding_sensitivity=0.0",
                      "parameters.price_adjustment_time_yr=1.0",
                      "parameters.price_expectation_time_yr=0.3"])
    assert objective(wrong) > 1.2 * objective(calibrated_metrics)
