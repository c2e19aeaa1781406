"""Ensemble throughput: members/s and peak memory per worker on a LocalCluster.

Runs ``baotou`` (annual records, the standard outcomes) as an LHS ensemble of the
baotou-ensemble uncertainties several times into fresh folders and prints the min and median
members/s and each worker's peak resident memory. Usage:
``python benchmarks/bench_ensemble.py [members] [repeats] [workers] [chunk_size]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from reesim import load_scenario
from reesim.ensemble.api import run_ensemble


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    chunk = int(sys.argv[4]) if len(sys.argv) > 4 else 250
    scenario = load_scenario("baotou-ensemble")
    rates, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            out = Path(tmp) / f"run{i}"
            t0 = time.perf_counter()
            report = run_ensemble(scenario, out, design="lhs", samples=members, seed=i,
                                  chunk_size=chunk, workers=workers,
                                  catalog=Path(tmp) / "catalog.duckdb")
            seconds = time.perf_counter() - t0
            rates.append(members / seconds)
            peaks.append(max(report.peak_rss_mib_by_worker.values()))
            print(f"run {i}: {members} members in {seconds:.1f} s "
                  f"({members / seconds:.1f} members/s, cluster start included); peak RSS per "
                  f"worker {', '.join(f'{v:.0f}' for v in report.peak_rss_mib_by_worker.values())}"
                  " MiB", flush=True)
    print(f"members/s: min {min(rates):.1f}, median {statistics.median(rates):.1f} "
          f"({repeats} runs, {workers} workers, chunks of {chunk})")
    print(f"peak memory per worker: max {max(peaks):.0f} MiB")


if __name__ == "__main__":
    main()
