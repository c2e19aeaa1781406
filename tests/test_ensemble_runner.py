"""The Dask runner: chunking and worker count invariance, resume, a killed worker."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from reesim import load_scenario, simulate
from reesim.ensemble import runner
from reesim.ensemble.api import run_ensemble
from reesim.ensemble.designs import make_design, scenario_factors

distributed = pytest.importorskip("distributed")

OVERRIDES = ["end_year=2012", "levers=null", "outcomes=null",
             "outcomes.nd_2011={variable: price, years: '2011', "
             "select: {element: Nd, market: export}}",
             "outcomes.dy_unmet={variable: unmet_demand, years: 2005-2012, over_time: integral, "
             "select: {element: Dy}}"]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("baotou-xlrm", OVERRIDES)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as c, distributed.Client(c) as client:
        yield c, client


@pytest.fixture(scope="module")
def reference(tmp_path_factory, scenario, cluster):
    """Six LHS members in chunks of two on two workers."""
    out = tmp_path_factory.mktemp("ens") / "a"
    report = run_ensemble(scenario, out, design="lhs", samples=6, seed=5, chunk_size=2,
                          client=cluster[1], catalog=out.parent / "catalog.duckdb",
                          keep=["price"])
    assert report.computed_chunks == 3
    return out, runner.load_outcomes(out)


def test_outcomes_match_one_direct_batch(reference, scenario):
    out, table = reference
    assert list(table["member"]) == list(range(6))
    design = make_design("lhs", 6, 5, scenario_factors(scenario))
    values = {n: design.values[:, j] for j, n in enumerate(design.factors)}
    plain = scenario.model_copy(update={"uncertainty": {}, "levers": {}})
    ds = simulate(plain, members=6, seed=5, design=values).dataset
    direct = ds.price.sel(element="Nd", market="export", time="2011").values.ravel()
    np.testing.assert_array_equal(table["nd_2011"].to_numpy(), direct)
    kept = runner.open_kept(out)
    np.testing.assert_array_equal(kept.price.values, ds.price.values)
    assert len(np.unique(table["nd_2011"])) == 6         # the design really varies the members
    from reesim.ensemble.export import iamc_table, open_results

    kept_ds, name = open_results(out)
    iamc = iamc_table(kept_ds, name, ["price"])
    assert sorted(iamc.scenario.unique())[:2] == ["baotou-xlrm|member 0", "baotou-xlrm|member 1"]
    assert len(iamc) == 6 * 13 * 16 * 2                   # members x years x elements x markets


def test_chunk_size_and_worker_count_do_not_change_results(reference, scenario, tmp_path):
    _, table = reference
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as c, distributed.Client(c) as client:
        run_ensemble(scenario, tmp_path / "b", design="lhs", samples=6, seed=5, chunk_size=6,
                     client=client, catalog=tmp_path / "catalog.duckdb")
    other = runner.load_outcomes(tmp_path / "b")
    pd.testing.assert_frame_equal(other, table)


def test_resume_skips_finished_chunks_and_gives_identical_outcomes(reference, cluster, tmp_path,
                                                                  monkeypatch):
    out, table = reference
    copy = tmp_path / "resume"
    import shutil
    shutil.copytree(out, copy)
    (copy / runner.OUTCOMES_FILE).unlink()
    (copy / "chunks" / runner.Chunk(2, 4).name).unlink()     # interrupted before this chunk
    (copy / "chunks" / ".outcomes-00000002-00000004.parquet.123.tmp").write_text("partial")
    with pytest.raises(Exception, match="4 of 6 members present"):
        runner.join(copy)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster[0].scheduler_address)
    report = runner.run(copy)                    # on the existing cluster, by its address
    assert (report.computed_chunks, report.skipped_chunks) == (1, 2)
    pd.testing.assert_frame_equal(runner.load_outcomes(copy), table)


def test_an_empty_output_folder_that_is_the_working_directory_is_used(scenario, tmp_path,
                                                                       monkeypatch):
    """``cd results && reesim ensemble ... --out .``: laying the folder out replaces the empty
    folder the process stands in; the process must stand in the new one (before, the Dask
    workers it spawned failed with 'Nanny failed to start': no working directory)."""
    out = tmp_path / "here"
    out.mkdir()
    monkeypatch.chdir(out)
    design = make_design("lhs", 2, 5, scenario_factors(scenario))
    runner.create(out, design, {"kind": "test"}, chunk_size=1)
    assert os.getcwd() == str(out.resolve())
    assert (out / runner.SPEC_FILE).exists()


def test_a_killed_worker_loses_and_duplicates_no_member(reference, scenario, cluster, tmp_path):
    _, table = reference
    _, client = cluster
    out = tmp_path / "killed"
    design = make_design("lhs", 6, 5, scenario_factors(scenario))
    spec = runner.read_spec(reference[0])
    runner.create(out, design, spec["evaluator"], chunk_size=1)
    pids = client.run(os.getpid)                 # worker address -> pid
    killed = {}

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = {w: tasks for w, tasks in client.processing().items() if tasks}
            done = len(list((out / "chunks").glob("outcomes-*.parquet")))
            if busy and done >= 1:
                worker = sorted(busy)[0]
                killed.update(pid=pids[worker], done=done)
                os.kill(pids[worker], signal.SIGKILL)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=kill_when_busy)
    thread.start()
    runner.run(out, client=client)
    thread.join()
    assert killed and killed["done"] < 6, "the worker was killed mid-run"
    result = runner.load_outcomes(out)
    assert sorted(result["member"]) == list(range(6))
    pd.testing.assert_frame_equal(result[table.columns], table)
    client.wait_for_workers(2, timeout=60)       # the nanny restarted it


def test_reesims_local_cluster_lets_its_workers_keep_freed_memory(monkeypatch):
    """Dask's nannies give their workers ``MALLOC_TRIM_THRESHOLD_`` 64 KiB; reesim's own
    LocalCluster leaves it out (``runner._without_malloc_trim``: with it a chunk of 250 members
    took about 790,000 page faults) and keeps Dask's other settings (one BLAS thread), even when
    this process's environment has it (Dask's nannies write it there)."""
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    client, cluster = runner._client(None, 1)
    try:
        # each worker's own environment (a lambda travels by value; os.environ.get would carry
        # this process's environment along)
        seen = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"),
                                   os.environ.get("OMP_NUM_THREADS")))
    finally:
        client.close()
        cluster.close()
    assert list(seen.values()) == [(None, "1")], seen
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"      # this process's, restored


def test_the_report_names_the_numerical_platform_and_warns_when_workers_differ(
        scenario, cluster, tmp_path, caplog):
    """Chunks record the platform they ran on (numpy's float64 loops differ by CPU: about 1e-13
    on baotou); on workers like the client the report has its one platform and no warning. A
    worker with numpy's AVX-512 loops turned off, on a host that has them, computes on another
    platform: the run warns (docs/model.md, reproducibility)."""
    from reesim.results import numerics

    report = run_ensemble(scenario, tmp_path / "same", design="lhs", samples=2, seed=5,
                          chunk_size=2, client=cluster[1], catalog=tmp_path / "c.duckdb")
    assert report.numerics == [numerics()] and not report.mixed_numerics
    if numerics().get("numpy_float64_exp") != "X86_V4":
        pytest.skip("numpy has no AVX-512 exp here: a worker without it is the same platform")
    import os

    import dask

    before = os.environ.get("NPY_DISABLE_CPU_FEATURES")
    try:    # set before the worker process starts, so before it imports numpy
        with dask.config.set({"distributed.nanny.pre-spawn-environ.NPY_DISABLE_CPU_FEATURES":
                              "X86_V4"}), \
                distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                         dashboard_address=":0") as other, \
                distributed.Client(other) as client, caplog.at_level("WARNING"):
            report = run_ensemble(scenario, tmp_path / "other", design="lhs", samples=2,
                                  seed=5, chunk_size=2, client=client,
                                  catalog=tmp_path / "c.duckdb")
    finally:    # the nanny writes it into this process's environment too
        if before is None:
            os.environ.pop("NPY_DISABLE_CPU_FEATURES", None)
        else:
            os.environ["NPY_DISABLE_CPU_FEATURES"] = before
    assert report.mixed_numerics and report.numerics[0]["numpy_float64_exp"] != "X86_V4"
    assert "numerical platforms" in caplog.text


def test_outcomes_of_a_member_do_not_depend_on_its_chunk():
    """Each member's outcome is reduced on its own values in a fixed order: bit-identical
    whatever members share its chunk (the sums were laid out by the batch: 2.2e-16 apart
    between --chunk-size values)."""
    import xarray as xr

    from reesim.ensemble.outcomes import compute_outcomes
    from reesim.ensemble.xlrm import Outcome

    rng = np.random.default_rng(3)
    members, years, regions, elements = 13, 6, 7, 5
    values = rng.lognormal(3.0, 2.0, (years * 12, members, regions, elements))
    values[5, 2, 1, 3] = np.nan
    ds = xr.Dataset(
        {"flow": (("time", "member", "region", "element"), values),
         "period_years": ("time", np.full(years * 12, 1 / 12))},
        coords={"time": pd.date_range("2020-01-01", periods=years * 12, freq="MS"),
                "member": np.arange(members), "region": [f"r{i}" for i in range(regions)],
                "element": [f"e{i}" for i in range(elements)]})
    ds = ds.assign_coords(year=ds.time.dt.year)
    specs = {f"{combine}-{over}": Outcome(variable="flow", years="2021-2024", combine=combine,
                                          over_time=over)
             for combine in ("sum", "mean") for over in ("mean", "integral", "max", "last")}
    specs["ratio"] = Outcome(variable="flow", years="2022", select={"element": ["e1", "e2"]},
                             denominator={"variable": "flow", "years": "2022"})
    whole = compute_outcomes(ds, specs)
    for size in (1, 2, 5):
        parts = [compute_outcomes(ds.isel(member=slice(i, i + size)), specs)
                 for i in range(0, members, size)]
        pd.testing.assert_frame_equal(pd.concat(parts), whole, check_exact=True)
