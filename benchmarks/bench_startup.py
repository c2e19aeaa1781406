"""Benchmark: a fresh ``reesim run`` (a new process, the default scenario) and the import times.

Prints figures; asserts nothing. Each sample is a new Python process, so module imports, the
packaged data, the scenario and numba's cache of the compiled kernels are loaded every time,
as for a user typing ``reesim run``. One untimed run comes first: it compiles the kernels if
numba has no cache yet and writes the modules' bytecode (a temporary ``PYTHONPYCACHEPREFIX``,
whatever ``PYTHONDONTWRITEBYTECODE`` says: a user's Python caches it after the first import;
that first-ever time is printed separately). Output goes
to a temporary folder and the run catalog to a temporary file.
Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BREAKDOWN = r"""
import json, sys, time
start = time.perf_counter()
import reesim.cli as cli
after_cli = time.perf_counter()
import reesim.api as api
after_api = time.perf_counter()
import reesim.ensemble.catalog as catalog
import reesim.model.simulate as model
import reesim.report.claims as claims
import reesim.report.summary as summary
import reesim.results as results
phases = {"import reesim.cli": after_cli - start,
          "import reesim.api (after cli)": after_api - after_cli,
          "simulate (the run, then the free-market counterfactual)": 0.0,
          "  of which labelling the dataset": 0.0}
def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            phases[label] = phases.get(label, 0.0) + time.perf_counter() - began
    setattr(owner, name, wrapper)
timed(api, "simulate", "simulate (the run, then the free-market counterfactual)")
timed(model, "_dataset", "  of which labelling the dataset")
timed(summary, "summary_records", "summary tables")
timed(claims, "share_claims", "claims")
timed(results, "write_netcdf", "write results.nc")
timed(catalog, "record_run", "record in the catalog")
sys.argv = ["reesim", *sys.argv[1:]]
try:
    cli._main()                 # main() without its hard exit, so the phases print
except SystemExit as exc:
    assert not exc.code, exc.code
phases["total in process"] = time.perf_counter() - start
print(json.dumps(phases))
"""
"""Runs ``reesim run`` in a new process with its main steps timed (wrapped functions)."""


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, check=False, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return time.perf_counter() - start


def _figures(samples: list[float]) -> str:
    return f"min {min(samples):.2f} s, median {statistics.median(samples):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        # bytecode cached as in a user's install (Python writes it on the first import); here
        # under the temporary folder, so that an environment with PYTHONDONTWRITEBYTECODE set
        # (this project's VM has it) does not recompile reesim's modules on every run (about
        # 0.1 s of imports) and the source tree gets no __pycache__
        env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
               "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
               "REESIM_CATALOG": str(Path(tmp) / "catalog.duckdb")}
        script = Path(sys.executable).with_name("reesim")   # the installed console script
        command = [str(script)] if script.exists() else [sys.executable, "-m", "reesim.cli"]
        run = [*command, "run", "baotou", "--overwrite", "--out", str(Path(tmp) / "out")]
        first = _timed(run, env)
        print(f"first run of this benchmark: {first:.2f} s (includes compiling the kernels "
              "if numba had no cache, and writing the modules' bytecode)")
        for module in ("reesim.cli", "reesim.api"):     # measured inside a new process
            code = (f"import time; start = time.perf_counter(); import {module}; "
                    "print(time.perf_counter() - start)")
            samples = [float(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                            capture_output=True, text=True).stdout)
                       for _ in range(args.repeat)]
            print(f"{'import ' + module:40s} {_figures(samples)}")
        samples = [_timed(run, env) for _ in range(args.repeat)]
        print(f"{'fresh `reesim run` (baotou, summary)':40s} {_figures(samples)}")
        quiet = [_timed([*run, "--quiet"], env) for _ in range(args.repeat)]
        print(f"{'fresh `reesim run --quiet`':40s} {_figures(quiet)}")
        print("breakdown of a fresh `reesim run --quiet` (seconds, min / median):")
        samples = [json.loads(subprocess.run([sys.executable, "-c", BREAKDOWN, *run[-5:],
                                              "--quiet"], env=env, check=True,
                                             capture_output=True, text=True
                                             ).stdout.strip().splitlines()[-1])
                   for _ in range(args.repeat)]
        for phase in samples[0]:
            values = [sample.get(phase, 0.0) for sample in samples]
            print(f"  {phase:38s} {min(values):5.2f} / {statistics.median(values):5.2f}")


if __name__ == "__main__":
    main()
