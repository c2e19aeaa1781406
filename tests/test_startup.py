"""A fresh process's run loads no more than it needs (no dask), and stays correct without it.

Each test starts a new Python process: the modules a process has imported are what is checked.
No wall-clock time is asserted (benchmarks/bench_startup.py measures it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import xarray as xr

from reesim.results import write_netcdf


def _python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_run_and_its_write_import_no_dask_and_dask_arrays_still_work_after(tmp_path):
    seen = _python(f"""
        import json, sys
        import numpy as np
        import xarray as xr
        from reesim import load_scenario, simulate

        result = simulate(load_scenario("baotou", ["end_year=2001"]))
        result.write({str(tmp_path / "res")!r})
        before = sorted(m for m in ("dask", "dask.array", "distributed", "jinja2",
                                    "scipy.linalg") if m in sys.modules)
        import numba.np.arraymath, numba.np.linalg
        blas = {{"have": numba.np.arraymath._HAVE_BLAS,
                 "check": numba.np.linalg.ensure_blas.__module__ + "."
                          + numba.np.linalg.ensure_blas.__qualname__}}

        import dask.array as da        # a user's dask arrays, later in the same process
        lazy = xr.DataArray(da.ones((4, 3), chunks=2), dims=("a", "b"))
        var = xr.Variable(("a", "b"), da.zeros((4, 3), chunks=2))
        plain = xr.DataArray(np.ones(3), dims="a")
        print(json.dumps({{"before": before, "lazy_chunks": lazy.chunks is not None,
                           "var_chunks": var.chunks is not None,
                           "plain_chunks": plain.chunks is None, "blas": blas,
                           "sum": float(lazy.sum().compute())}}))
    """)
    assert seen == {"before": [], "lazy_chunks": True, "var_chunks": True, "plain_chunks": True,
                    "sum": 12.0, "blas": {"have": True, "check": "numba.np.linalg.ensure_blas"}}
    with xr.open_dataset(tmp_path / "res" / "results.nc", engine="h5netcdf") as ds:
        assert float(ds.price.isel(time=0).sum()) > 0


def test_the_deferred_dask_collection_check_answers_as_dask_does():
    import dask.array as da
    import dask.base
    from xarray.namedarray import utils

    from reesim.lazy_dask import defer_dask

    defer_dask()
    assert getattr(utils.is_dask_collection, "_reesim_deferred", False)
    lazy = da.ones(4, chunks=2)
    objects = [np.ones(3), 1.5, "text", np.ndarray, da.Array, lazy, xr.DataArray(np.ones(2)),
               xr.DataArray(lazy), xr.Dataset({"v": ("a", lazy)}), xr.Variable("a", np.ones(2))]
    assert [utils.is_dask_collection(x) for x in objects] == \
        [dask.base.is_dask_collection(x) for x in objects]
    assert [utils.is_dask_collection(x) for x in objects[-5:]] == [True, False, True, True, False]


def test_a_kernel_that_needs_blas_still_gets_it_after_the_deferred_probe():
    seen = _python("""
        import json, sys
        import numpy as np
        import numba
        import reesim.api  # noqa: F401  (installs the deferred probe)

        @numba.njit
        def dot(a, b):
            return np.dot(a, b)

        value = dot(np.arange(3.0), np.ones(3))
        print(json.dumps({"dot": value, "blas": "scipy.linalg.cython_blas" in sys.modules}))
    """)
    assert seen == {"dot": 3.0, "blas": True}


def test_a_dataset_of_dask_arrays_is_written_the_same_as_its_numpy_twin(tmp_path):
    ds = xr.Dataset({"v": (("time", "element"), np.arange(24.0).reshape(6, 4))},
                    coords={"time": np.arange(6), "element": list("abcd")})
    write_netcdf(ds, tmp_path / "numpy.nc")
    write_netcdf(ds.chunk({"time": 2}), tmp_path / "dask.nc")
    with xr.open_dataset(tmp_path / "numpy.nc", engine="h5netcdf") as a, \
            xr.open_dataset(tmp_path / "dask.nc", engine="h5netcdf") as b:
        a.attrs.pop("created_utc")
        b.attrs.pop("created_utc")
        assert a.identical(b)
        assert a.v.encoding.get("zlib") or a.v.encoding.get("compression") == "zlib"


def _console(code: str) -> subprocess.CompletedProcess:
    """The ``reesim`` console script's entry point run as ``code`` sets it up, in a new process."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, check=False, timeout=600)


def test_the_console_script_ends_with_the_commands_status_and_its_output_flushed():
    """main() ends the process itself (skipping the module teardown): a usage error is still
    status 2 with its message, a help text reaches a pipe whole, an atexit handler still runs,
    and a text status prints with status 1, as sys.exit's would."""
    bad = _console("""
        import sys
        from reesim.cli import main
        sys.argv = ["reesim", "run", "--no-such-option"]
        main()
    """)
    assert bad.returncode == 2 and "No such option" in bad.stderr
    helped = _console("""
        import atexit, sys
        from reesim.cli import main
        atexit.register(lambda: print("atexit ran", file=sys.stderr))
        sys.argv = ["reesim", "--help"]
        main()
    """)
    assert helped.returncode == 0 and "atexit ran" in helped.stderr
    assert "Usage" in helped.stdout and "ensemble" in helped.stdout
    texted = _console("""
        from reesim.cli import _hard_exit
        print("before", end="")
        _hard_exit("a text status")
    """)
    assert texted.returncode == 1 and texted.stdout == "before"
    assert texted.stderr.strip() == "a text status"
