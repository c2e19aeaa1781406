"""The committed calibrations are rebuildable: the header's command, a clean tree, same numbers.

A full rebuild (``scripts/rebuild-calibrations``, about 5 minutes per file on 2 cores) is too slow
for every test run, so these tests check what makes it reproducible, fast:

- the header holds the exact ``reesim calibrate`` command that writes this very file, starting
  from the schema defaults (``--set parameters=null --set constants=null``) so it does not
  depend on the file itself,
  with the window it fits (``--train-until``, default the whole record) recorded in the file;
- the file came from a clean tree (no ``+dirty`` code version) and from the scenario and data
  the command resolves to today (scenario hash and data digest);
- the objective re-evaluated at the committed parameters equals the recorded objective
  (tolerance: relative 1e-4, the batch-vs-single floating-point noise is ~3e-5);
- the identification reports a negative curvature as "not identified".

A quick-mode rerun that must not end worse than its start is in ``test_calibration.py``.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from importlib import resources

import pytest
import yaml

from reesim import load_scenario, simulate
from reesim.calibration.evaluate import history_scenario
from reesim.calibration.fit import FULL, options_dict
from reesim.datasets import load_inputs
from reesim.scenario import scenario_hash
from reesim.validation import OBJECTIVE_WEIGHTS, compute_metrics, load_observations, objective
from reesim.validation.observations import TRAIN_END_YEAR

FILES = ["baotou", "baotou-spike", "baotou-reserve-2008", "baotou-china-spike"]
OBJECTIVE_TOLERANCE = 1e-4
"""Relative: the recorded objective is rounded to 6 significant digits."""


def _read(name: str) -> tuple[list[str], dict]:
    path = resources.files("reesim") / "scenarios" / "calibrations" / f"{name}.yaml"
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("# Written by `") and "` on " in first, first
    command = first.removeprefix("# Written by `").split("` on ")[0]
    return shlex.split(command), yaml.safe_load(text)


def _parse(words: list[str]) -> dict:
    assert words[:2] == ["reesim", "calibrate"]
    out = {"scenario": words[2], "set": [], "weight": {}, "seed": None, "out": None,
           "train-until": str(TRAIN_END_YEAR), "flags": set()}
    i = 3
    while i < len(words):
        word = words[i]
        if word in ("--set", "--weight", "--seed", "--out", "--train-until", "--step-weight",
                    "--starts"):
            value = words[i + 1]
            if word == "--set":
                out["set"].append(value)
            elif word == "--weight":
                key, _, number = value.partition("=")
                out["weight"][key] = float(number)
            else:
                out[word[2:]] = value
            i += 2
        else:
            out["flags"].add(word)
            i += 1
    return out


@pytest.mark.parametrize("name", FILES)
def test_header_command_rebuilds_this_file_from_the_defaults(name):
    words, doc = _read(name)
    cmd = _parse(words)
    assert cmd["out"] == f"src/reesim/scenarios/calibrations/{name}.yaml"
    assert "--overwrite" in cmd["flags"] and "--quick" not in cmd["flags"]
    assert "parameters=null" in cmd["set"]     # independent of the file it rewrites,
    assert "constants=null" in cmd["set"]      # and of the constants fitted in it (or in another)
    fit = doc["fit"]
    # the full options; --step-weight W changes only the searches' penalty (mode "custom")
    step_weight = float(cmd.get("step-weight", 0.0))
    assert int(cmd["seed"]) == fit["seed"]
    assert fit["mode"] == ("custom" if step_weight else "full")
    assert fit["optimizer"].get("step_weight_of_search", 0.0) == step_weight
    if step_weight:
        options = options_dict(replace(FULL, step_weight=step_weight))
        assert fit["optimizer"]["options"] == {**options, "workers": fit["optimizer"]["workers"]}
    assert fit["objective"]["weights"] == {**OBJECTIVE_WEIGHTS, **cmd["weight"]}
    # the window the command fits (default: the whole record) is the one the file records
    assert fit["train_until"] == int(cmd["train-until"])
    assert fit["window"].endswith(f"{cmd['train-until']}-12")


@pytest.mark.parametrize("name", FILES)
def test_file_comes_from_a_clean_tree_and_todays_scenario_and_data(name):
    words, doc = _read(name)
    cmd = _parse(words)
    fit = doc["fit"]
    assert "+dirty" not in fit["code_version"], fit["code_version"]
    scenario = load_scenario(cmd["scenario"], cmd["set"])
    assert fit["scenario_hash"] == scenario_hash(scenario), (
        "the scenario changed since the calibration: run scripts/rebuild-calibrations")
    assert fit["data_digest"] == load_inputs().digest, (
        "the data changed since the calibration: run scripts/rebuild-calibrations")


@pytest.mark.parametrize(("name", "scenario"), [("baotou", "baotou"),
                                                ("baotou-spike", "baotou-spike-fit"),
                                                ("baotou-reserve-2008", "baotou-reserve-2008"),
                                                ("baotou-china-spike", "baotou-china-spike")])
def test_objective_at_the_committed_parameters_is_the_recorded_one(name, scenario):
    _, doc = _read(name)
    scen = load_scenario(scenario)
    for key, value in doc["parameters"].items():
        assert getattr(scen.parameters, key) == value
    for key, value in doc.get("constants", {}).items():      # fitted constants
        assert scen.constants[key] == value
    train_until = doc["fit"]["train_until"]
    metrics = compute_metrics(simulate(history_scenario(scen, train_until)).dataset,
                              load_observations(train_until))
    weights = doc["fit"]["objective"]["weights"]
    assert objective(metrics, weights) == pytest.approx(doc["fit"]["objective"]["value"],
                                                        rel=OBJECTIVE_TOLERANCE)
    # the fit is no worse than its starting point (the schema defaults) in a run of its own
    assert doc["fit"]["objective"]["value"] <= doc["fit"]["objective"]["at_start_in_own_run"]


@pytest.mark.parametrize("name", FILES)
def test_negative_curvature_is_reported_as_not_identified(name):
    _, doc = _read(name)
    ident = doc["fit"]["identification"]
    for key in doc["parameters"]:
        entry = ident[key]
        if entry["curvature"] is not None and entry["curvature"] < 0:
            assert entry["status"] == "not identified" and entry["weakly_identified"]
        assert entry["status"] in ("yes", "weak", "not identified")
