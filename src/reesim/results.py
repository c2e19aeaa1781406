"""A run's result: the labelled dataset, its manifest, and atomic writing to disk."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import xarray as xr

from reesim import __version__
from reesim.scenario.schema import Scenario

if TYPE_CHECKING:
    from reesim.plot import PlotAccessor


@functools.cache
def code_version() -> str:
    """Package version, plus the git commit when running from a checkout (asked once a process)."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                                capture_output=True, text=True, timeout=5, check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return __version__
    if commit.returncode != 0:
        return __version__
    suffix = "+dirty" if dirty.stdout.strip() else ""
    return f"{__version__}+g{commit.stdout.strip()}{suffix}"


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

    def write(self, out_dir: str | Path, extra_files: dict[str, str] | None = None) -> Path:
        """Write ``results.nc``, ``manifest.json`` and ``extra_files`` to ``out_dir`` atomically.

        ``extra_files`` maps file names to text (e.g. ``summary.csv``).

        Files are written into a temporary folder beside ``out_dir`` and moved into place only
        when all of them are complete, so an interrupted run never leaves partial results.
        """
        out = Path(out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            self.dataset.to_netcdf(tmp / "results.nc", engine="h5netcdf")
            (tmp / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n")
            for name, text in (extra_files or {}).items():
                (tmp / name).write_text(text)
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


def make_manifest(scenario: Scenario, scenario_hash: str, data_version: str, data_digest: str,
                  seed: int, members: int, frequency: str) -> dict:
    """The provenance record every result carries."""
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
    }
