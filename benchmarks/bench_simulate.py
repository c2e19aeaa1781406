"""Benchmark: wall time of one default run and members per second for 1, 100 and 1,000 members.

Prints figures; asserts nothing. Ensembles record annual values (``output.frequency=year``) so
that 1,000 members of 612 months fit in memory; the time loop is the same monthly loop.
Run: ``.venv/bin/python benchmarks/bench_simulate.py [--members 1 100 1000]``.
"""

from __future__ import annotations

import argparse
import resource
import time

from reesim import load_scenario, simulate
from reesim.datasets import load_inputs


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    load_inputs()
    scenario = load_scenario("baotou")
    start = time.perf_counter()
    simulate(scenario)  # warm-up (imports, caches, the compiled kernels)
    print(f"first run in this process: {time.perf_counter() - start:.3f} s (includes loading the "
          "compiled kernels (trade and clearing, export quota, expectations, mining, capacity, "
          "separation, demand, in use, environment, records, step sums) from numba's cache, or "
          "compiling them if there is none: about 12 s more)")
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        simulate(scenario)
        times.append(time.perf_counter() - start)
    print(f"default run (baotou, 2000-2050 monthly, 1 member, monthly records): "
          f"best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s")

    ensemble = load_scenario("baotou", ["output.frequency=year"])
    per_member = {}
    for members in args.members:
        start = time.perf_counter()
        simulate(ensemble, members=members, seed=1)
        elapsed = time.perf_counter() - start
        per_member[members] = elapsed / members
        print(f"{members:>5} members (annual records): {elapsed:8.2f} s  "
              f"{members / elapsed:9.1f} members/s  {1e3 * elapsed / members:8.2f} ms/member  "
              f"peak RSS {_peak_mib():.0f} MiB")
    if 1 in per_member and len(per_member) > 1:
        largest = max(per_member)
        print(f"per-member cost at {largest} members is {per_member[1] / per_member[largest]:.1f}x "
              f"lower than at 1")


if __name__ == "__main__":
    main()
