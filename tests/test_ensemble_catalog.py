"""The run catalog under two concurrent ensemble commands, and the CLI around it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reesim.ensemble.catalog import Catalog

ARGS = ["--samples", "2", "--workers", "1", "--set", "end_year=2003", "--set", "levers=null",
        "--set", "outcomes=null", "--set",
        "outcomes.nd_2002={variable: price, years: '2002', select: {element: Nd, market: export}}"]


def _reesim(*args: str, env: dict, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reesim.cli", *args], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_concurrent_ensemble_commands_share_the_catalog(tmp_path):
    catalog = tmp_path / "catalog.duckdb"
    env = {**os.environ, "REESIM_CATALOG": str(catalog)}
    procs = [_reesim("ensemble", "baotou-xlrm", *ARGS, "--seed", str(i), "--out",
                     str(tmp_path / f"e{i}"), env=env, cwd=tmp_path) for i in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "2 members" in out
    runs = Catalog(catalog).runs()
    assert sorted(runs["status"]) == ["done", "done"]
    assert sorted(runs["seed"]) == [0, 1]
    both = Catalog(catalog).query("SELECT run_id, count(*) AS n FROM outcomes GROUP BY run_id")
    assert sorted(both["n"]) == [2, 2]
    listing = _reesim("runs", "--sql", "SELECT count(*) AS n FROM runs", env=env, cwd=tmp_path)
    out, err = listing.communicate(timeout=60)
    assert listing.returncode == 0 and "2" in out, err
    bad = _reesim("runs", "--sql", "SELECT nope FROM runs", env=env, cwd=tmp_path)
    _, err = bad.communicate(timeout=60)
    assert bad.returncode == 2 and "SQL failed" in err
    rerun = _reesim("ensemble", "baotou-xlrm", *ARGS, "--seed", "0", "--out",
                    str(tmp_path / "e0"), env=env, cwd=tmp_path)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0 and "0 chunks computed" in out, err


def test_many_writers_interleaved(tmp_path):
    """Two processes each record 15 runs at the same time: all 30 rows arrive."""
    code = ("import sys; from reesim.ensemble.catalog import Catalog\n"
            "c = Catalog(sys.argv[1])\n"
            "for i in range(15):\n"
            "    r = c.start(kind='run', scenario='w' + sys.argv[2], scenario_hash='h', seed=i,\n"
            "                code_version='x', data_version='y', members=1, path='.')\n"
            "    c.finish(r, 'done')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "c.duckdb"), str(k)],
                              stderr=subprocess.PIPE, text=True) for k in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    runs = Catalog(tmp_path / "c.duckdb").runs()
    assert len(runs) == 30 and set(runs["status"]) == {"done"}
    assert runs.groupby("scenario").size().to_dict() == {"w0": 15, "w1": 15}


def test_interrupted_command_resumes_to_the_same_outcomes(tmp_path):
    """Ctrl-C mid-run keeps finished chunks; the same command finishes with identical numbers."""
    import signal
    import time

    import pandas as pd

    env = {**os.environ, "REESIM_CATALOG": str(tmp_path / "catalog.duckdb")}
    args = ["ensemble", "baotou-xlrm", "--samples", "12", "--workers", "1", "--chunk-size", "1",
            "--set", "end_year=2005", "--set", "levers=null", "--set", "outcomes=null", "--set",
            "outcomes.nd={variable: price, years: '2004', select: {element: Nd, market: export}}"]
    folder = tmp_path / "cut"
    proc = _reesim(*args, "--out", str(folder), env=env, cwd=tmp_path)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if any((folder / "chunks").glob("outcomes-*.parquet")):
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.02)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in " ".join(err.split())
    done = len(list((folder / "chunks").glob("outcomes-*.parquet")))
    assert 1 <= done < 12 and not (folder / "outcomes.parquet").exists()
    assert list(Catalog(tmp_path / "catalog.duckdb").runs()["status"]) == ["interrupted"]
    again = _reesim(*args, "--out", str(folder), env=env, cwd=tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"{12 - done} chunks computed, {done} already done" in " ".join(out.split())
    whole = _reesim(*args, "--chunk-size", "12", "--out", str(tmp_path / "whole"), env=env,
                    cwd=tmp_path)
    assert whole.communicate(timeout=300) and whole.returncode == 0
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "outcomes.parquet"),
                                  pd.read_parquet(tmp_path / "whole" / "outcomes.parquet"))


def test_a_broken_catalog_is_a_clear_error(tmp_path):
    from reesim.errors import ReesimError

    path = tmp_path / "catalog.duckdb"
    path.write_text("not a database")
    with pytest.raises(ReesimError, match="is not a run catalog"):
        Catalog(path).start(kind="run", scenario="s", scenario_hash="h", seed=0,
                            code_version="c", data_version="d", members=1, path=tmp_path)
    assert not (tmp_path / "catalog.duckdb.lock").exists()    # refused before the lock


def test_a_run_outside_results_says_which_catalog_lists_it(tmp_path, monkeypatch):
    from reesim.ensemble.catalog import listing_hint

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REESIM_CATALOG", raising=False)
    assert listing_hint(Path("results") / "baotou") == ""          # `reesim runs` finds it
    elsewhere = tmp_path / "study" / "baotou"
    hint = listing_hint(elsewhere)
    assert f"reesim runs --catalog {tmp_path / 'study' / 'catalog.duckdb'}" in hint
    monkeypatch.setenv("REESIM_CATALOG", str(tmp_path / "all.duckdb"))
    assert listing_hint(elsewhere) == ""                           # both read the variable
