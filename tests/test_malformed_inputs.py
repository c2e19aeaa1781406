"""Malformed inputs through the CLI and the API: a clear message, exit 2, nothing written.

Every case below is a way a user can get an input wrong: invalid YAML, wrong types, NaN, inf,
negative and huge values, unknown ids and elements, dates out of range, ``extends`` cycles,
missing and path-traversing ``extends``, YAML tags, binary garbage, oversized files, malformed
``--set``, out-of-range ``--members`` and ``--seed``, unwritable or odd ``--out`` targets. Each
must exit with code 2 (CLI) or raise :class:`~reesim.errors.InputError` (API) with a message
naming the file and the field, show no traceback, and leave the folder exactly as it was.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reesim import load_scenario, simulate
from reesim.cli import app
from reesim.errors import InputError

runner = CliRunner()

HEAD = "extends: baotou\nname: bad\n"
EVENT = "events:\n  e:\n    type: disruption\n    producers: [bayan_obo]\n    capacity_factor: 0\n"

# id -> (scenario file text, words the message must contain). The file is written as bad.yaml
# (parent.yaml next to it when the text mentions it) and loaded by `reesim run bad.yaml`.
FILE_CASES: dict[str, tuple[str | bytes, list[str]]] = {
    # YAML itself
    "yaml_unclosed_bracket": ("name: x\nmarket: [unclosed\n", ["bad.yaml", "malformed YAML",
                                                               "line"]),
    "yaml_bad_indent": ("name: x\nmarket:\n  regime: a\n bad: 1\n", ["bad.yaml", "line"]),
    "yaml_tab_indent": ("name: x\nmarket:\n\tregime: a\n", ["bad.yaml", "malformed YAML"]),
    "yaml_top_level_list": ("- a\n- b\n", ["bad.yaml", "mapping"]),
    "yaml_top_level_scalar": ("just words\n", ["bad.yaml", "mapping"]),
    "yaml_duplicate_key": (HEAD + "end_year: 2030\nend_year: 2040\n",
                           ["bad.yaml", "duplicate key 'end_year'", "line 4"]),
    "yaml_duplicate_nested_key": (HEAD + "market:\n  regime: free_market\n  regime: x\n",
                                  ["bad.yaml", "duplicate key 'regime'"]),
    "yaml_python_apply_tag": (HEAD + "seed: !!python/object/apply:os.system ['echo hi']\n",
                              ["bad.yaml", "python/object/apply"]),
    "yaml_python_name_tag": (HEAD + "seed: !!python/name:os.system\n",
                             ["bad.yaml", "python/name"]),
    "yaml_binary_garbage": (bytes(range(256)) * 20, ["bad.yaml", "not UTF-8"]),
    "yaml_nul_bytes": ("name: x\0\0\n", ["bad.yaml"]),
    "yaml_oversized": (HEAD + "# padding\n" * 120_000, ["bad.yaml", "larger than 1000 kB"]),
    "yaml_alias_bomb": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                        "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
                        ["bad.yaml", "more than 100000 values"]),
    # the name becomes part of the default output folder: it must not leave results/
    "name_escapes_results": ("extends: baotou\nname: ../../../escaped\n",
                             ["bad.yaml", "name", "'/'", "start with '.'", "allowed"]),
    "name_backslash": ("extends: baotou\nname: 'a\\\\b'\n", ["bad.yaml", "name", "'\\'"]),
    "name_hidden": ("extends: baotou\nname: .hidden\n", ["bad.yaml", "name", "start with '.'"]),
    "yaml_recursive_alias": (HEAD + "description: &d [*d]\n", ["bad.yaml", "refers to itself"]),
    "yaml_deep_nesting": (HEAD + "description: " + "[" * 200 + "]" * 200 + "\n",
                          ["bad.yaml", "nested"]),
    "yaml_non_string_key": ("1: x\nname: y\n", ["bad.yaml", "keys must be names"]),
    # types and ranges
    "end_year_word": (HEAD + "end_year: soon\n", ["bad.yaml", "end_year", "integer"]),
    "end_year_too_late": (HEAD + "end_year: 2300\n", ["bad.yaml", "end_year", "2100"]),
    "start_year_too_early": (HEAD + "start_year: 1800\n", ["bad.yaml", "start_year", "1990"]),
    "window_reversed": (HEAD + "start_year: 2020\nend_year: 2010\n",
                        ["bad.yaml", "end_year 2010 must be after start_year 2020"]),
    "seed_negative": (HEAD + "seed: -3\n", ["bad.yaml", "seed", "greater than or equal to 0"]),
    "seed_huge": (HEAD + f"seed: {2**70}\n", ["bad.yaml", "seed"]),
    "seed_float": (HEAD + "seed: 1.5\n", ["bad.yaml", "seed"]),
    "parameter_nan": (HEAD + "parameters:\n  supply_steepness: .nan\n",
                      ["bad.yaml", "parameters.supply_steepness", "finite"]),
    "parameter_inf": (HEAD + "parameters:\n  supply_steepness: .inf\n",
                      ["bad.yaml", "parameters.supply_steepness", "finite"]),
    "parameter_negative": (HEAD + "parameters:\n  supply_steepness: -1\n",
                           ["bad.yaml", "parameters.supply_steepness", "greater than 0"]),
    "parameter_huge": (HEAD + "parameters:\n  hoarding_sensitivity: 1.0e300\n",
                       ["bad.yaml", "parameters.hoarding_sensitivity", "less than or equal"]),
    "parameter_unknown": (HEAD + "parameters:\n  supply_steep: 2\n",
                          ["bad.yaml", "parameters.supply_steep", "unknown key",
                           "supply_steepness"]),
    "parameters_not_mapping": (HEAD + "parameters: [1, 2]\n", ["bad.yaml", "parameters"]),
    "regime_unknown": (HEAD + "market:\n  regime: monopoly\n",
                       ["bad.yaml", "market.regime", "free_market"]),
    "top_level_unknown_key": (HEAD + "ending: 2030\n", ["bad.yaml", "unknown key 'ending'",
                                                        "end_year"]),
    "name_empty": ("extends: baotou\nname: ''\n", ["bad.yaml", "name", "at least 1"]),
    "name_too_long": ("extends: baotou\nname: " + "n" * 200 + "\n", ["bad.yaml", "name", "80"]),
    "frequency_week": (HEAD + "output:\n  frequency: week\n",
                       ["bad.yaml", "output.frequency", "month"]),
    "quota_growth_string": (HEAD + "policy:\n  quota_growth_after_data_pct_per_yr: lots\n",
                            ["bad.yaml", "policy.quota_growth_after_data_pct_per_yr"]),
    # events
    "events_list": (HEAD + "events: [a, b]\n", ["bad.yaml", "events"]),
    # an empty list of what an event acts on: it did nothing, silently
    **{f"event_empty_{kind}_{field}": (
        HEAD + f"events:\n  e:\n    type: {kind}\n    start: 2012-01\n    {field}: {empty}\n"
        + extra, ["bad.yaml", f"events.e.{field}", f"the empty {what}", "act on nothing"
                  if empty == "[]" else "buy or release nothing"])
       for kind, field, empty, what, extra in (
           ("export_control", "elements", "[]", "list", "    licensed_fraction: 0.5\n"),
           ("export_tax", "elements", "[]", "list", "    rate_pct: 10\n"),
           ("price_floor", "elements", "[]", "list",
            "    producers: [mountain_pass]\n    floor_usd_per_kg: 110\n"),
           ("recycling", "applications", "[]", "list", "    eol_recycling_fraction: 0.5\n"),
           ("demand_shock", "applications", "[]", "list", "    factor: 1.5\n"),
           ("stockpile", "amounts_t_reo", "{}", "mapping", ""))},
    "event_unknown_type": (HEAD + "events:\n  e:\n    type: earthquake\n    start: 2010\n",
                           ["bad.yaml", "events.e", "quota"]),
    "event_missing_start": (HEAD + EVENT, ["bad.yaml", "events.e.start", "required"]),
    "event_month_13": (HEAD + EVENT + "    start: 2010-13\n", ["bad.yaml", "events.e", "month"]),
    "event_date_too_late": (HEAD + EVENT + "    start: 2200\n", ["bad.yaml", "events.e.start",
                                                                 "outside"]),
    "event_date_mid_month": (HEAD + EVENT + "    start: 2027-01-15\n",
                             ["bad.yaml", "events.e.start", "first of a month"]),
    "event_date_words": (HEAD + EVENT + "    start: next spring\n",
                         ["bad.yaml", "events.e.start", "YYYY"]),
    "event_end_before_start": (HEAD + EVENT + "    start: 2012\n    end: 2011\n",
                               ["bad.yaml", "events.e", "must be after start"]),
    "event_unknown_producer": (HEAD + "events:\n  e:\n    type: disruption\n"
                               "    producers: [atlantis]\n    capacity_factor: 0\n"
                               "    start: 2010\n",
                               ["bad.yaml", "events.e.producers", "atlantis", "bayan_obo"]),
    "event_unknown_region": (HEAD + "events:\n  e:\n    type: separation_capacity\n"
                             "    region: narnia\n    capacity_t_reo_per_yr: 5\n"
                             "    start: 2010\n", ["bad.yaml", "events.e.region", "baotou"]),
    "event_unknown_element": (HEAD + "events:\n  e:\n    type: stockpile\n"
                              "    amounts_t_reo: {Xx: 5}\n    start: 2010\n",
                              ["bad.yaml", "events.e.amounts_t_reo", "Nd"]),
    # under the free market the company keeps no reserve: its order would be sold straight on
    "event_company_order_before_the_company": (
        HEAD + "events:\n  e:\n    type: stockpile\n    holder: trading_company\n"
        "    amounts_t_reo: {Nd: 5000}\n    start: 2005\n",
        ["bad.yaml", "events.e", "trading_company", "2008-01", "state_reserve"]),
    "event_tax_150_pct": (HEAD + "events:\n  e:\n    type: export_tax\n    rate_pct: 150\n"
                          "    start: 2010\n", ["bad.yaml", "events.e.rate_pct", "100"]),
    "event_quota_nan": (HEAD + "events:\n  e:\n    type: quota\n    kind: mining\n"
                        "    value_t_reo_per_yr: .nan\n    start: 2010\n",
                        ["bad.yaml", "events.e.value_t_reo_per_yr"]),
    "trading_company_unknown_region": (HEAD + "market:\n  trading_company:\n    region: mars\n",
                                       ["bad.yaml", "market.trading_company.region", "baotou"]),
    # uncertainties
    "uncertainty_unknown_parameter": (HEAD + "uncertainty:\n  luck: {dist: normal, sd: 0.1}\n",
                                      ["bad.yaml", "luck", "parameter name"]),
    "uncertainty_nan_mean": (HEAD + "uncertainty:\n  supply_steepness: {dist: normal, "
                             "relative: false, mean: .nan, sd: 1}\n",
                             ["bad.yaml", "uncertainty.supply_steepness.mean", "finite"]),
    "uncertainty_infinite_uniform": (HEAD + "uncertainty:\n  supply_steepness: {dist: uniform, "
                                     "relative: false, low: 1, high: .inf}\n",
                                     ["bad.yaml", "uncertainty.supply_steepness.high",
                                      "finite"]),
    "uncertainty_infinite_median": (HEAD + "uncertainty:\n  supply_steepness: {dist: lognormal, "
                                    "relative: false, median: .inf, sigma: 0.2}\n",
                                    ["bad.yaml", "uncertainty.supply_steepness.median",
                                     "finite"]),
    "uncertainty_outside_range": (HEAD + "uncertainty:\n  supply_steepness: {dist: uniform, "
                                  "low: 0.5, high: 100}\n",
                                  ["bad.yaml", "uncertainty.supply_steepness",
                                   "outside the allowed range"]),
    # extends and calibration references
    "extends_cycle": ("extends: parent.yaml\nname: bad\n", ["circular", "parent.yaml"]),
    "extends_missing": ("extends: nowhere.yaml\nname: bad\n",
                        ["bad.yaml", "extends", "file not found"]),
    "extends_absolute": ("extends: /etc/hostname.yaml\nname: bad\n",
                         ["bad.yaml", "extends", "absolute path"]),
    "extends_traversal": ("extends: ../../../etc/passwd.yaml\nname: bad\n",
                          ["bad.yaml", "extends", "leaves the scenario folder"]),
    "extends_not_yaml": ("extends: /etc/passwd\nname: bad\n", ["bad.yaml", "extends"]),
    "extends_list": ("extends: [baotou]\nname: bad\n", ["bad.yaml", "extends"]),
    "extends_bad_parent": ("extends: parent.yaml\nname: bad\n",
                           ["parent.yaml", "market.regime", "monopoly"]),
    "calibration_missing": (HEAD + "calibration: none.yaml\n",
                            ["bad.yaml", "calibration", "not found"]),
    "calibration_traversal": (HEAD + "calibration: ../../x.yaml\n",
                              ["bad.yaml", "calibration", "leaves the scenario folder"]),
    "calibration_not_yaml": (HEAD + "calibration: 5\n", ["bad.yaml", "calibration"]),
}

PARENTS = {
    "extends_cycle": "extends: bad.yaml\nname: parent\n",
    "extends_bad_parent": "extends: baotou\nname: parent\nmarket:\n  regime: monopoly\n",
}

# id -> (extra CLI arguments after `run baotou`, words the message must contain)
OPTION_CASES: dict[str, tuple[list[str], list[str]]] = {
    "set_without_equals": (["--set", "market.regime"], ["--set", "key.subkey=value"]),
    "set_empty_key": (["--set", "=5"], ["--set", "key.subkey=value"]),
    "set_empty_part": (["--set", "market..regime=x"], ["key.subkey=value"]),
    "set_not_a_section": (["--set", "market.regime.x=1"], ["market.regime", "not a section"]),
    "set_unknown_key": (["--set", "market.nonsense=1"], ["market.nonsense", "unknown key"]),
    "set_wrong_type": (["--set", "end_year=abc"], ["--set", "end_year", "integer"]),
    "set_nan": (["--set", "parameters.supply_steepness=.nan"],
                ["parameters.supply_steepness", "finite"]),
    "set_huge_seed": (["--set", f"seed={2**64}"], ["seed"]),
    "members_zero": (["--members", "0"], ["--members", "greater"]),
    "members_too_many": (["--members", "200000"], ["--members", "100000"]),
    "members_word": (["--members", "many"], ["--members", "Invalid value"]),
    "seed_negative": (["--seed", "-1"], ["--seed"]),
    "seed_above_2_63": (["--seed", str(2**64)], ["--seed"]),
    "frequency_week": (["--frequency", "week"], ["--frequency", "month, year"]),
    "years_outside_run": (["--years", "1990,2060"], ["--years", "1990, 2060", "2000-2050"]),
    "years_words": (["--years", "soon"], ["--years", "comma-separated"]),
    "memory_too_large": (["--members", "100000"], ["members", "GB", "annual records"]),
}


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path below ``folder`` with its size and mode (to prove nothing was written)."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = path.lstat()
            out[str(path.relative_to(folder))] = (st.st_size, st.st_mode)
    return out


def _assert_refused(result, words: list[str], before: dict, folder: Path) -> None:
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    flat = " ".join(output.split())
    for word in words:
        assert word in flat, (word, output)
    assert _snapshot(folder) == before, "something was written"


def _write_case(tmp_path: Path, case: str) -> Path:
    text, _ = FILE_CASES[case]
    bad = tmp_path / "bad.yaml"
    if isinstance(text, bytes):
        bad.write_bytes(text)
    else:
        bad.write_text(text, encoding="utf-8")
    if case in PARENTS:
        (tmp_path / "parent.yaml").write_text(PARENTS[case], encoding="utf-8")
    return bad


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_bad_scenario_file_through_the_cli(workdir, case):
    bad = _write_case(workdir, case)
    before = _snapshot(workdir)
    result = runner.invoke(app, ["run", str(bad), "--out", str(workdir / "out")])
    _assert_refused(result, FILE_CASES[case][1], before, workdir)


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_bad_scenario_file_through_the_api(workdir, case):
    bad = _write_case(workdir, case)
    with pytest.raises(InputError) as info:
        load_scenario(bad)
    flat = " ".join(str(info.value).split())
    for word in FILE_CASES[case][1]:
        assert word in flat, (word, str(info.value))


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_bad_option_through_the_cli(workdir, case):
    args, words = OPTION_CASES[case]
    before = _snapshot(workdir)
    result = runner.invoke(app, ["run", "baotou", *args, "--out", str(workdir / "out")])
    _assert_refused(result, words, before, workdir)


def _out_case(root: Path, case: str) -> tuple[list[str], list[str]]:
    """Set up an odd --out target; return (the --out arguments, words of the message)."""
    if case == "existing_file":
        (root / "report.docx").write_text("my report")
        return ["--out", "report.docx"], ["report.docx", "existing file"]
    if case == "under_a_file":
        (root / "report.docx").write_text("my report")
        return ["--out", "report.docx/run"], ["report.docx", "is a file"]
    if case == "non_empty_folder":
        (root / "precious").mkdir()
        (root / "precious" / "notes.txt").write_text("notes")
        return ["--out", "precious"], ["precious", "not a reesim result"]
    if case == "current_folder":
        (root / "notes.txt").write_text("notes")
        return ["--out", "."], ["current folder"]
    if case == "parent_of_current":
        return ["--out", ".."], ["current folder"]
    if case == "symlink":
        (root / "real").mkdir()
        (root / "link").symlink_to(root / "real")
        return ["--out", "link"], ["link", "symbolic link"]
    if case == "dangling_symlink":
        (root / "gone").symlink_to(root / "nowhere")
        return ["--out", "gone"], ["gone", "symbolic link"]
    if case == "reserved_name":
        return ["--out", ".x.reesim-tmp-1-abc"], ["reserved"]
    if case == "previous_result_without_overwrite":
        (root / "prev").mkdir()
        (root / "prev" / ".reesim-output.json").write_text(
            '{"written_by": "reesim", "command": "run", "files": ["results.nc"]}')
        (root / "prev" / "results.nc").write_text("old")
        return ["--out", "prev"], ["prev", "--overwrite"]
    if case == "read_only_file_system":
        return ["--out", "/proc/reesim-test"], ["cannot write in /proc"]
    if case == "name_too_long":
        return ["--out", "x" * 300], ["longer than 255"]
    raise AssertionError(case)


OUT_CASES = ["existing_file", "under_a_file", "non_empty_folder", "current_folder",
             "parent_of_current", "symlink", "dangling_symlink", "reserved_name",
             "previous_result_without_overwrite", "name_too_long", "read_only_file_system"]


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("case", OUT_CASES)
def test_odd_out_targets_are_refused_before_running(workdir, case, command):
    args, words = _out_case(workdir, case)
    before = _snapshot(workdir)
    result = runner.invoke(app, [command, "baotou", *args])
    _assert_refused(result, words, before, workdir)
    assert "months" not in result.output          # refused before the simulation started


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_out_folder_is_refused(workdir):
    locked = workdir / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        before = _snapshot(workdir)
        result = runner.invoke(app, ["run", "baotou", "--out", "locked/run"])
        _assert_refused(result, ["permission denied"], before, workdir)
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize(("case", "words"), [
    ("existing_file", ["report.docx", "not written by reesim"]),
    ("folder", ["folder"]),
])
def test_calibrate_refuses_odd_targets_before_fitting(workdir, case, words):
    if case == "existing_file":
        (workdir / "report.docx").write_text("my report")
        target = "report.docx"
    else:
        (workdir / "fits").mkdir()
        target = "fits"
    before = _snapshot(workdir)
    result = runner.invoke(app, ["calibrate", "baotou", "--quick", "--out", target])
    _assert_refused(result, words, before, workdir)


@pytest.mark.parametrize(("args", "words"), [
    (["--weight", "spike"], ["--weight", "family=value"]),
    (["--weight", "luck=2"], ["--weight", "price_export"]),
    (["--weight", "spike=-1"], ["--weight", "0 to 100"]),
    (["--weight", "spike=nan"], ["--weight", "0 to 100"]),
])
def test_calibrate_refuses_bad_weights(workdir, args, words):
    before = _snapshot(workdir)
    result = runner.invoke(app, ["calibrate", "baotou", "--quick", *args, "--out", "fit.yaml"])
    _assert_refused(result, words, before, workdir)


def test_unknown_scenario_and_missing_file(workdir):
    before = _snapshot(workdir)
    for name, words in (("atlantis", ["unknown scenario", "baotou"]),
                        ("missing.yaml", ["not found", "missing.yaml"])):
        result = runner.invoke(app, ["run", name, "--out", "out"])
        _assert_refused(result, words, before, workdir)


# -- the API ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def short():
    return load_scenario("baotou", ["end_year=2001"])


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"members": True}, ["members", "integer"]),
    ({"members": 0}, ["members", "1 to"]),
    ({"members": 1.5}, ["members", "integer"]),
    ({"members": "3"}, ["members", "integer"]),
    ({"members": 10**9}, ["members"]),
    ({"seed": -1}, ["seed"]),
    ({"seed": 2**70}, ["seed"]),
    ({"seed": "x"}, ["seed", "integer"]),
    ({"seed": 1.0}, ["seed", "integer"]),
    ({"design": {"price_adjustment_time_yr": [-0.01]}},
     ["design.price_adjustment_time_yr", "outside the allowed range"]),
    ({"design": {"price_adjustment_time_yr": ["fast"]}}, ["design.price_adjustment_time_yr"]),
    ({"design": {"price_adjustment_time_yr": "0.3"}}, ["design.price_adjustment_time_yr",
                                                       "string"]),
    ({"design": {"price_adjustment_time_yr": [0.3, 0.4]}},
     ["design.price_adjustment_time_yr", "1 finite"]),
    ({"design": {"price_adjustment_time_yr": [math.nan]}}, ["design.price_adjustment_time_yr",
                                                            "finite"]),
    ({"design": {"luck": [1.0]}}, ["design", "luck"]),
    ({"design": [1.0]}, ["design", "map"]),
    ({"progress": 5}, ["progress"]),
])
def test_bad_api_arguments_raise_input_error(short, kwargs, words):
    with pytest.raises(InputError) as info:
        simulate(short, **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("scenario", ["baotou", None, 5, {"name": "x"}])
def test_simulate_needs_a_scenario_object(scenario):
    with pytest.raises(InputError, match="load_scenario"):
        simulate(scenario)


@pytest.mark.parametrize(("args", "words"), [
    ((123,), ["scenario", "built-in name or a path"]),
    (("baotou", "end_year=2012"), ["overrides", "list"]),
    (("baotou", [5]), ["--set"]),
])
def test_bad_load_scenario_arguments(args, words):
    with pytest.raises(InputError) as info:
        load_scenario(*args)
    for word in words:
        assert word in str(info.value)


def test_result_write_refuses_a_user_folder(short, tmp_path):
    result = simulate(short)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("years of work")
    before = _snapshot(tmp_path)
    with pytest.raises(InputError, match="not a reesim result"):
        result.write(tmp_path / "mine")
    assert _snapshot(tmp_path) == before


def test_memory_estimate_refuses_before_running(short, monkeypatch):
    monkeypatch.setenv("REESIM_MAX_MEMORY_GB", "0.001")
    with pytest.raises(InputError, match="annual records"):
        simulate(short, members=50)
    monkeypatch.setenv("REESIM_MAX_MEMORY_GB", "lots")
    with pytest.raises(InputError, match="REESIM_MAX_MEMORY_GB"):
        simulate(short)


def test_all_problems_are_reported_at_once(workdir):
    bad = workdir / "bad.yaml"
    bad.write_text(HEAD + "end_year: soon\nmarket:\n  regime: monopoly\n  regim: 1\n"
                   "events:\n  d:\n    type: disruption\n    producers: [atlantis]\n"
                   "    capacity_factor: 0\n    start: 2010\n")
    with pytest.raises(InputError) as info:
        load_scenario(bad)
    text = str(info.value)
    assert text.startswith("4 problems")
    for field in ("end_year", "market.regime", "market.regim", "events.d.producers"):
        assert f"field {field}" in text
    assert "more problem" not in text


def test_an_unquoted_yaml_date_is_accepted(workdir):
    good = workdir / "good.yaml"
    good.write_text("extends: baotou\nname: good\nevents:\n  r:\n    type: regime\n"
                    "    regime: free_market\n    start: 2027-01-01\n")
    assert load_scenario(good).events["r"].start == "2027-01"


def test_members_without_uncertainty_warn(workdir):
    result = runner.invoke(app, ["run", "baotou", "--set", "end_year=2001", "--members", "2",
                                 "--quiet", "--out", "two"])
    assert result.exit_code == 0, result.output
    assert "all 2 members are identical" in " ".join(result.output.split())


def test_no_nan_reaches_the_sampled_parameters(short):
    scen = load_scenario("baotou-ensemble", ["end_year=2001"])
    params = simulate(scen, members=3).dataset.parameter_samples.values
    assert np.isfinite(params).all()
