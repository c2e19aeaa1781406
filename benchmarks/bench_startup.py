"""Benchmark: a fresh ``reesim run`` (a new process, the default scenario) and the import times.

Prints figures; asserts nothing. Each sample is a new Python process, so module imports, the
packaged data, the scenario and numba's cache of the compiled price bisection are loaded every
time, as for a user typing ``reesim run``. One untimed run comes first: it compiles the
bisection if numba has no cache yet (that first-ever time is printed separately). Output goes
to a temporary folder and the run catalog to a temporary file.
Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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
        env = {**os.environ, "REESIM_CATALOG": str(Path(tmp) / "catalog.duckdb")}
        script = Path(sys.executable).with_name("reesim")   # the installed console script
        command = [str(script)] if script.exists() else [sys.executable, "-m", "reesim.cli"]
        run = [*command, "run", "baotou", "--overwrite", "--out", str(Path(tmp) / "out")]
        first = _timed(run, env)
        print(f"first run of this benchmark: {first:.2f} s (includes compiling the price "
              "bisection if numba had no cache)")
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


if __name__ == "__main__":
    main()
