"""A run's result: the labelled dataset, its manifest, and writing it to disk.

``results.nc`` carries its own provenance (code version, creation time, data digest, the resolved
scenario as YAML), ``long_name`` and units on every variable and readable names beside the ids
(``producer_name`` "Mount Weld (Lynas)" for ``producer`` "mount_weld"); it is zlib-compressed.
"""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr
from xarray.backends import NetCDF4DataStore
from xarray.backends.locks import HDF5_LOCK, NETCDFC_LOCK, combine_locks

from reesim import __version__
from reesim.output import write_folder
from reesim.scenario.schema import Scenario

if TYPE_CHECKING:
    from reesim.plot import PlotAccessor


@functools.cache
def code_version() -> str:
    """Package version, plus the git commit when running from a checkout (asked once a process).

    ``+dirty`` marks uncommitted changes to the package's code and data (not to the calibration
    files, which ``reesim calibrate`` writes).
    """
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                                capture_output=True, text=True, timeout=5, check=False)
        # calibration files are outputs of `reesim calibrate`: their effect on a run is in the
        # scenario hash, and rebuilding one must not mark the next calibration as dirty code
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)scenarios/calibrations"],
                               cwd=here, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return __version__
    if commit.returncode != 0:
        return __version__
    suffix = "+dirty" if dirty.stdout.strip() else ""
    return f"{__version__}+g{commit.stdout.strip()}{suffix}"


_COORD_LONG_NAMES = {
    "member": "ensemble member", "time": "start of the record period", "year": "calendar year",
    "element": "rare earth element (oxide)", "market": "oxide market", "producer": "mine",
    "region": "region", "holder": "holder of separated-oxide inventory",
    "exporter": "Chinese exporting region", "application": "end use", "stage": "process stage",
    "destination": "market where magnets are used",
}
_NAMED_DIMS = {"element": "elements", "producer": "producers", "region": "regions",
               "exporter": "regions", "application": "applications"}
NETCDF_COMPRESSION = {"zlib": True, "complevel": 1, "shuffle": False}
"""zlib level 1: level 4 compresses a default monthly run only 1-2% more and takes about 1.7
times as long to write (measured 2026-12, 2-core VM). Without HDF5's byte shuffle (on until
2026-12-07) a default run's file is both smaller and quicker to write: 9.2 MB in 0.29 s against
9.6 MB in 0.32 s monthly, 1.10 MB in 0.088 s against 1.19 MB in 0.094 s annual (55 variables;
best of four, alternated)."""


def annotate(dataset: xr.Dataset, tables: dict, scenario_yaml: str, data_digest: str) -> None:
    """Add provenance attributes, ``long_name`` on variables and readable coordinate names.

    The creation time is added when the file is written (:func:`write_netcdf`).
    ``tables`` are the packaged input tables (for ``producer_name`` such as "Mount Weld (Lynas)",
    ``region_name``, ...); ``scenario_yaml`` is the resolved scenario as YAML text.
    """
    for var in dataset.data_vars.values():
        if "description" in var.attrs and "long_name" not in var.attrs:
            var.attrs["long_name"] = var.attrs["description"]
    readable = {}
    for dim, table in _NAMED_DIMS.items():
        if dim not in dataset.dims or table not in tables:
            continue
        frame = tables[table]
        key = table[:-1] if table != "regions" else "region"
        names = dict(zip(frame[key], frame["name"], strict=True))
        ids = [str(v) for v in dataset[dim].values]
        readable[f"{dim}_name"] = xr.Variable(dim, [str(names.get(i, i)) for i in ids],
                                              {"long_name": f"readable name of the {dim}"})
    dataset.coords.update(readable)       # one merge (five cost 10 ms of a default run)
    for dim, long_name in _COORD_LONG_NAMES.items():
        if dim in dataset.coords:
            dataset[dim].attrs.setdefault("long_name", long_name)
    if "year" in dataset.coords:
        dataset["year"].attrs.setdefault("units", "year")
    dataset.attrs.update({
        "reesim_version": code_version(),
        "data_digest": data_digest,
        "scenario_yaml": scenario_yaml,
        "Conventions": "CF-1.8 (partial: units and long_name on variables)",
    })


def write_netcdf(dataset: xr.Dataset, path: Path) -> None:
    """Write ``dataset`` to ``path`` as compressed netCDF-4, stamped ``created_utc``.

    The creation time goes into the file only, so a result in memory stays bit-identical for
    the same scenario and seed. Coordinates are written before the data variables. The writer
    is the netCDF-C library (netCDF4): h5netcdf, which wrote the files before 2026-12-06, spent
    half its time on Python bookkeeping of dimension scales (a default run's file: 1.5 s against
    0.64-0.68 s now, 2-core VM); the file reads back identical with either engine.
    """
    dataset = dataset.coords.to_dataset().assign_attrs(dataset.attrs).assign(
        dict(dataset.data_vars))
    dataset.attrs["created_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    encoding = {}
    for name, var in dataset.variables.items():
        if var.dtype.kind in "fiub" and var.ndim > 0 and name not in dataset.dims:
            encoding[name] = dict(NETCDF_COMPRESSION)
    if any(var.chunks is not None for var in dataset.variables.values()):
        dataset.to_netcdf(path, engine="netcdf4", encoding=encoding)   # dask arrays
        return
    # numpy data (every simulate() result): the store to_netcdf would open, without its checks
    # for a dask scheduler (to close the file between dask's chunk writes and to pick a lock
    # fit for it), which import dask.distributed: 0.2-0.3 s of a fresh `reesim run`
    store = NetCDF4DataStore.open(path, mode="w", format="NETCDF4",
                                  lock=combine_locks([NETCDFC_LOCK, HDF5_LOCK]))
    try:
        dataset.dump_to_store(store, encoding=encoding)
    finally:
        store.close()


RUN_DERIVED = ("report.html", "report-figures")
"""What ``reesim report`` writes into a run folder by default: it describes that folder's
result, so a run written over the folder removes it (unless the run writes its own)."""


@dataclass
class Result:
    """What :func:`reesim.simulate` returns: ``dataset`` (xarray) and ``manifest`` (dict)."""

    dataset: xr.Dataset
    manifest: dict
    scenario: Scenario = field(repr=False)

    @property
    def plot(self) -> PlotAccessor:
        """Plotly figures of this result: ``res.plot.price("Nd")``, ``.supply()``, ``.sankey()``."""
        from reesim.plot import PlotAccessor

        return PlotAccessor(self.dataset, self.scenario)

    def write(self, out_dir: str | Path, extra_files: dict[str, str] | None = None,
              overwrite: bool = False) -> Path:
        """Write ``results.nc``, ``manifest.json`` and ``extra_files`` to ``out_dir`` atomically.

        ``extra_files`` maps file names to text (e.g. ``summary.csv``). The rules of
        :mod:`reesim.output` apply: a non-empty folder that is not a reesim result is refused
        (:class:`~reesim.errors.InputError`), a previous result is replaced only with
        ``overwrite`` and then only reesim's own files; nothing partial is ever left.
        """
        files: dict = {"results.nc": lambda path: write_netcdf(self.dataset, path),
                       "manifest.json": json.dumps(self.manifest, indent=2) + "\n",
                       **(extra_files or {})}
        return write_folder(out_dir, files, command="run", overwrite=overwrite,
                            derived=RUN_DERIVED)


def numerics() -> dict[str, str]:
    """The numerical platform a result was computed on: numpy, numba and numpy's float64 loops.

    Same scenario and seed give the same bits on the same platform. Across hosts the compiled
    kernels (the C library's exp, log and pow through numba) agree, but numpy dispatches its own
    vectorised exp, log and power loops where the CPU has AVX-512 (``X86_V4``), which differ
    from the C library in the last bit for some values in a hundred: ``baotou`` then differs by
    about 1e-13 relative (measured 2026-12-07). ``NPY_DISABLE_CPU_FEATURES=X86_V4`` in the
    environment makes such a host compute as the others do. A fresh dict each call (manifests
    embed it), read once per process.
    """
    return dict(_numerics())


@functools.cache
def _numerics() -> dict[str, str]:
    """:func:`numerics`, computed once per process."""
    import numba
    import numpy as np

    try:
        from numpy.lib.introspect import opt_func_info

        loops = opt_func_info(func_name="^(exp|log|power)$", signature="float64")
        dispatch = {name: next(iter(sig.values()))["current"] for name, sig in loops.items()}
    except (ImportError, StopIteration, KeyError, TypeError):
        dispatch = {}
    return {"numpy": np.__version__, "numba": numba.__version__,
            **{f"numpy_float64_{name}": target for name, target in sorted(dispatch.items())}}


def make_manifest(scenario: Scenario, scenario_hash: str, data_version: str, data_digest: str,
                  seed: int, members: int, frequency: str) -> dict:
    """The provenance record of every result, with its numerical platform (:func:`numerics`)."""
    return {
        "reesim_version": code_version(),
        "scenario": scenario.name,
        "scenario_hash": scenario_hash,
        "data_version": data_version,
        "data_digest": data_digest,
        "seed": seed,
        "members": members,
        "output_frequency": frequency,
        "period": f"{scenario.start_year}-01..{scenario.end_year}-12",
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "numerics": numerics(),
    }
