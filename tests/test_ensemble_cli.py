"""The ensemble commands' outputs and their one-screen errors (exit code 2)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from reesim.cli import app
from reesim.ensemble import runner
from reesim.ensemble.designs import Factor, make_design

cli = CliRunner()


@pytest.fixture(scope="module")
def ishigami(tmp_path_factory):
    """A finished Sobol ensemble of the Ishigami function (computed in-process)."""
    factors = [Factor(n, lambda u: -math.pi + 2 * math.pi * u) for n in ("x1", "x2", "x3")]
    out = runner.create(tmp_path_factory.mktemp("cli") / "ish", make_design("sobol", 256, 1,
                        factors), {"kind": "function",
                                   "function": "SALib.test_functions.Ishigami:evaluate"},
                        chunk_size=1000)
    for c in runner.chunks(runner.read_spec(out)["design"]["members"], 1000):
        runner.run_chunk(str(out), c.start, c.stop)
    runner.join(out)
    return out


def test_sensitivity_writes_table_and_chart(ishigami):
    result = cli.invoke(app, ["sensitivity", str(ishigami)])
    assert result.exit_code == 0, result.output
    assert "S1" in result.output and "x1 x x3" in result.output
    csv = next(ishigami.glob("sensitivity-*.csv"))
    html = next(ishigami.glob("sensitivity-*.html"))
    assert set(pd.read_csv(csv)["index"]) == {"S1", "ST", "S2"}
    assert "plotly" in html.read_text()


def test_two_analyses_in_the_same_second_keep_both_tables(ishigami, tmp_path, monkeypatch):
    import shutil
    from datetime import datetime

    from reesim import cli_ensemble

    run = tmp_path / "ish"
    shutil.copytree(ishigami, run)
    for old in run.glob("sensitivity-*"):
        old.unlink()

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 8, 12, 0, 0)

    monkeypatch.setattr(cli_ensemble, "datetime", Frozen)
    for _ in range(3):
        result = cli.invoke(app, ["sensitivity", str(run)])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in run.glob("sensitivity-*.csv")) == [
        "sensitivity-20261208-120000-2.csv", "sensitivity-20261208-120000-3.csv",
        "sensitivity-20261208-120000.csv"]
    assert len(list(run.glob("sensitivity-*.html"))) == 3


def test_discover_prints_the_box_in_words(ishigami):
    result = cli.invoke(app, ["discover", str(ishigami), "--where", "y > 8"])
    assert result.exit_code == 0, result.output
    assert "Coverage/density trade-off" in result.output
    assert "y > 8 in" in result.output and "of futures where" in result.output
    for args, message in ((["--versus", "0"], "give --policy"),
                          (["--policy", "0", "--versus", "1"], "no policy 1")):
        wrong = cli.invoke(app, ["discover", str(ishigami), "--where", "y > 8", *args])
        assert wrong.exit_code == 2 and message in wrong.output, wrong.output
        assert "Traceback" not in wrong.output


def test_export_outcomes_and_refuse_to_overwrite(ishigami, tmp_path):
    target = tmp_path / "o.csv"
    result = cli.invoke(app, ["export", str(ishigami), "--out", str(target)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(target)
    assert len(table) == 256 * 8 and {"x1", "u.x1", "y"} <= set(table.columns)
    again = cli.invoke(app, ["export", str(ishigami), "--out", str(target)])
    assert again.exit_code == 2 and "never overwrites" in again.output
    xlsx = cli.invoke(app, ["export", str(ishigami), "--out", str(tmp_path / "o.xlsx"),
                            "--format", "xlsx"])
    assert xlsx.exit_code == 0, xlsx.output


@pytest.mark.parametrize("args, message", [
    (["ensemble", "baotou-xlrm", "--design", "grid"], "unknown design"),
    (["ensemble", "baotou-xlrm", "--design", "sobol", "--samples", "6"], "power of two"),
    (["ensemble", "baotou"], "no uncertainty to sample"),
    (["runs", "--catalog", "/nonexistent/catalog.duckdb"], "no run catalog"),
    (["discover", "/nonexistent", "--where", "y > 1"], "not an ensemble folder"),
])
def test_bad_input_is_one_screen_and_exit_2(args, message, tmp_path):
    result = cli.invoke(app, [*args, *(["--out", str(tmp_path / "e")]
                                       if args[0] == "ensemble" else [])])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "e").exists()


def test_sensitivity_needs_a_sobol_or_morris_design(tmp_path):
    factors = [Factor(n, lambda u: u) for n in ("a", "b")]
    out = runner.create(tmp_path / "l", make_design("lhs", 10, 1, factors),
                        {"kind": "function", "function": "numpy:sum"}, chunk_size=10)
    result = cli.invoke(app, ["sensitivity", str(out)])
    assert result.exit_code == 2 and "not finished" in result.output
    runner.run_chunk(str(out), 0, 10)
    runner.join(out)
    result = cli.invoke(app, ["sensitivity", str(out)])
    assert result.exit_code == 2 and "need a sobol or morris design" in result.output


def test_sensitivity_interrupted_after_its_table_says_so(ishigami, monkeypatch, capsys,
                                                         tmp_path):
    """A signal after sensitivity-*.csv is written names it (it said "nothing was written")."""
    import shutil
    import signal
    import sys

    ishigami = Path(shutil.copytree(ishigami, tmp_path / "ish"))   # a new stamp, no clash
    for earlier in ishigami.glob("sensitivity-*"):
        earlier.unlink()

    from reesim import cli as main_cli
    from reesim import output

    def interrupted(path, write):
        raise output.Interrupted(signal.SIGINT)

    monkeypatch.setattr(output, "install_signal_handlers", lambda: None)
    monkeypatch.setattr(main_cli.signal, "signal", lambda *args: None)
    monkeypatch.setattr(output, "_written", [])
    monkeypatch.setattr(output, "replace_atomically", interrupted)
    monkeypatch.setattr("reesim.ensemble.export.replace_atomically",
                        lambda path, write: (write(path), path)[1])
    monkeypatch.setattr(sys, "argv", ["reesim", "sensitivity", str(ishigami)])
    with pytest.raises(SystemExit) as ended:
        main_cli._main()
    err = capsys.readouterr().err
    [written] = ishigami.glob("sensitivity-*.csv")
    assert ended.value.code == 130 and f"interrupted after writing {written}" in err, err
    assert not [p for p in ishigami.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("args, message", [
    (["--where", "y > 1.2.3"], "--where 'y > 1.2.3' must look like OUTCOME OP NUMBER"),
    (["--where", "y > ."], "e.g. 'dy_unmet_demand_2025_2040 > 100'"),
    (["--where", "y > 1e999"], "finite number"),
    (["--where", "y > 8", "--outcome", "x"], "--outcome 'x' is not an outcome"),
    (["--where", "y > 8", "--outcome", ""], "is not an outcome"),
])
def test_discover_refuses_a_bad_where_or_outcome(ishigami, args, message):
    """A malformed number was an internal error (ValueError); --outcome was only looked for
    as a substring of --where ('' passed), now it must name the outcome --where tests."""
    result = cli.invoke(app, ["discover", str(ishigami), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_export_tells_a_run_folder_a_missing_one_and_an_unfinished_ensemble(ishigami, tmp_path):
    """All three said 'the ensemble is not finished; rerun ...'."""
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    (run / "results.nc").write_bytes(b"")
    unfinished = Path(shutil.copytree(ishigami, tmp_path / "ish"))
    (unfinished / "outcomes.parquet").unlink()
    for folder, words in ((run, ["is a run folder", "--variable NAME"]),
                          (tmp_path / "nowhere", ["does not exist"]),
                          (unfinished, ["not finished", "rerun"])):
        result = cli.invoke(app, ["export", str(folder), "--out", str(tmp_path / "x.csv")])
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and all(w in text for w in words), result.output
        assert "not finished" not in text or folder == unfinished


def test_sensitivity_refuses_a_single_morris_trajectory(tmp_path):
    """One trajectory printed a 95% CI of 0.000 (and sigma nan): certainty that is not there."""
    factors = [Factor(n, lambda u: u) for n in ("a", "b")]
    out = runner.create(tmp_path / "m", make_design("morris", 1, 1, factors),
                        {"kind": "function", "function": "numpy:sum"}, chunk_size=10)
    runner.run_chunk(str(out), 0, 3)
    runner.join(out)
    result = cli.invoke(app, ["sensitivity", str(out)])
    text = " ".join(result.output.split())
    assert result.exit_code == 2 and "--samples 1 (Morris trajectories)" in text, result.output
    assert "at least 2" in text and "0.000" not in text
    assert not list(out.glob("sensitivity-*"))


def test_ensemble_folders_follow_the_umask_and_odd_targets_are_refused(tmp_path):
    """Ensemble folders were 0700 (mkdtemp); a file or link --out ended in 'cannot write the
    output ... Not a directory' (exit 1); a different ensemble's options were 'evaluator'."""
    import os

    factors = [Factor(n, lambda u: u) for n in ("a", "b")]
    evaluator = {"kind": "function", "function": "numpy:sum"}
    old = os.umask(0o022)
    try:
        out = runner.create(tmp_path / "e", make_design("lhs", 10, 1, factors), evaluator,
                            chunk_size=10)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755
    with pytest.raises(Exception, match=r"--chunk-size \(5 here, 10 in the folder\)"):
        runner.create(out, make_design("lhs", 10, 1, factors), evaluator, chunk_size=5)
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "alink").symlink_to(out)
    for target, words in (("afile", "is an existing file"), ("alink", "symbolic link")):
        result = cli.invoke(app, ["ensemble", "baotou-xlrm", "--samples", "2", "--out",
                                  str(tmp_path / target)])
        assert result.exit_code == 2 and words in result.output, result.output
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_different_ensemble_is_named_by_its_options():
    from reesim.ensemble.runner import _differences

    def spec(frequency, seed, end):
        return {"evaluator": {"scenario": {"output": {"frequency": frequency}, "end_year": end},
                              "seed": seed}, "design": {"kind": "lhs", "seed": seed}}

    assert _differences(spec("year", 0, 2040), spec("month", 0, 2040)) == [
        "--frequency (month here, year in the folder)"]
    assert _differences(spec("year", 0, 2040), spec("year", 3, 2050)) == [
        "--seed (3 here, 0 in the folder)", "scenario (end_year: its file or --set)"]


def test_runs_validates_filters_says_when_it_truncates_and_leaves_no_lock(tmp_path):
    """--kind/--status bogus listed 0 rows; --sql showed 200 rows under '1000 rows'; a file
    that is no catalog was left with a FILE.lock beside it."""
    from reesim.ensemble.catalog import Catalog

    book = tmp_path / "catalog.duckdb"
    Catalog(book).start(kind="run", scenario="s", scenario_hash="h", seed=0, code_version="c",
                        data_version="d", members=1, path=tmp_path, finished=True)
    for option, allowed in (("--kind", "run, ensemble"),
                            ("--status", "running, done, failed, interrupted")):
        result = cli.invoke(app, ["runs", "--catalog", str(book), option, "bogus"])
        assert result.exit_code == 2 and option in result.output, result.output
        assert allowed in result.output
    listed = cli.invoke(app, ["runs", "--catalog", str(book), "--kind", "run",
                              "--status", "done"])
    assert listed.exit_code == 0 and "(1 rows)" in listed.output
    many = cli.invoke(app, ["runs", "--catalog", str(book), "--sql",
                            "SELECT * FROM range(1000)"])
    assert many.exit_code == 0 and "(first 200 of 1000 rows)" in many.output
    other = tmp_path / "notes.txt"
    other.write_text("not a catalog")
    refused = cli.invoke(app, ["runs", "--catalog", str(other)])
    assert refused.exit_code == 2 and "not a run catalog" in refused.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes")) == [
        "notes.txt"]
