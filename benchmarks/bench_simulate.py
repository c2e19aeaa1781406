"""Benchmark: wall time of one default run and members per second for 1, 100 and 1,000 members.

Prints figures; asserts nothing. Ensembles record annual values (``output.frequency=year``) so
that 1,000 members of 612 months fit in memory; the time loop is the same monthly loop. The
largest batch is run again recording only what the standard outcomes read, as the ensemble
runner does (peak RSS is the process's, so that line reports no memory of its own).
Run: ``.venv/bin/python benchmarks/bench_simulate.py [--members 1 100 1000]``.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

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
          "compiling them if there is none: about a minute more on the 2-core VM)")
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
        result = simulate(ensemble, members=members, seed=1)
        elapsed = time.perf_counter() - start
        per_member[members] = elapsed / members
        print(f"{members:>5} members (annual records): {elapsed:8.2f} s  "
              f"{members / elapsed:9.1f} members/s  {1e3 * elapsed / members:8.2f} ms/member  "
              f"peak RSS {_peak_mib():.0f} MiB")
    from reesim.ensemble.outcomes import outcome_variables, scenario_outcomes

    needed = sorted(outcome_variables(scenario_outcomes(ensemble)))
    members = max(args.members)
    start = time.perf_counter()
    simulate(ensemble, members=members, seed=1, record=needed)
    elapsed = time.perf_counter() - start
    print(f"{members:>5} members recording only the standard outcomes' {len(needed)} variables "
          f"(as ensembles do; every month's balances checked on the step's values): "
          f"{elapsed:.2f} s  {members / elapsed:.1f} members/s")
    _print_recording_traffic(result.dataset)          # the last full batch's records
    if 1 in per_member and len(per_member) > 1:
        largest = max(per_member)
        print(f"per-member cost at {largest} members is {per_member[1] / per_member[largest]:.1f}x "
              f"lower than at 1")


def _print_recording_traffic(dataset) -> None:
    """Values recorded per member-month and the memory traffic they imply for 10,000 members.

    Each month every recorded value is read from the step's arrays and added into its year's
    row of the record (a read and a write), about three times its bytes; at the machine's
    memory bandwidth that is a floor on an ensemble's time however fast the step is.
    """
    from reesim.model.variables import VARIABLES

    values = sum(dataset[name].isel(member=0).size // dataset.sizes["time"] for name in VARIABLES)
    months = 12 * dataset.sizes["time"]
    traffic_gb = 3 * 8 * values * months * 10_000 / 1e9
    total, added = np.ones(2**25), np.ones(2**25)              # 256 MiB each, beyond the caches
    times = []
    for _ in range(3):
        start = time.perf_counter()
        total += added
        times.append(time.perf_counter() - start)
    bandwidth = 3 * total.nbytes / min(times) / 1e9            # read both, write one
    print(f"recorded values per member-month: {values} ({8 * values / 1024:.1f} KiB); "
          f"annual recording of 10,000 members moves about {traffic_gb:.0f} GB: "
          f"{traffic_gb / bandwidth:.0f} s on one core at this machine's {bandwidth:.0f} GB/s "
          f"(numpy a += b)")


if __name__ == "__main__":
    main()
