"""Benchmark: the monthly step's compiled kernels timed alone, in microseconds per member-month.

Runs ``baotou`` with 250 members (annual records, as an ensemble's chunk), keeps the arguments
of the largest kernels at a few months (the market pass, the producers' pass, demand and
supply, end use, the market records and the balance check), then calls each kernel alone on
copies of them and prints the fastest of ``--repeat`` passes. Timed alone, a kernel is free of
the rest of the month's Python and of the other kernels' use of the caches, so a change to one
kernel shows here within a few percent where a whole run moves by 10-30% between repeats on the
project's VM (``docs/benchmarks.md``). Prints figures; asserts nothing.
Run: ``.venv/bin/python benchmarks/bench_kernels.py [--members 250] [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import copy
import time

from reesim import load_scenario, simulate
from reesim.model import step, step_balance

KERNELS = {"_substeps": step, "_production": step, "_supply": step, "_end_use": step,
           "_market_records": step, "_failures": step_balance}
"""The kernels timed, by the module whose global the step calls them through."""
MONTHS = (60, 140, 300, 500)
"""The months (counted from the run's first, 2000-01) whose arguments are kept."""


def capture(members: int) -> dict[str, list[tuple]]:
    """Each kernel's arguments at :data:`MONTHS` of one run (copies: kernels write in place)."""
    kept: dict[str, list[tuple]] = {name: [] for name in KERNELS}
    originals = {name: getattr(module, name) for name, module in KERNELS.items()}

    def keeper(name: str):
        calls = [0]

        def kernel(*args):
            calls[0] += 1
            if calls[0] in MONTHS:
                kept[name].append(copy.deepcopy(args))
            return originals[name](*args)
        return kernel

    scenario = load_scenario("baotou", ["output.frequency=year"])
    simulate(scenario, members=members)          # warm-up: compiled kernels loaded or compiled
    try:
        for name, module in KERNELS.items():
            setattr(module, name, keeper(name))
        simulate(scenario, members=members)
    finally:
        for name, module in KERNELS.items():
            setattr(module, name, originals[name])
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    kept = capture(args.members)
    print(f"baotou, {args.members} members, kernels alone on months {MONTHS} "
          f"(fastest of {args.repeat} passes), us per member-month:")
    total = 0.0
    for name, module in KERNELS.items():
        kernel = getattr(module, name)
        best = float("inf")
        for _ in range(args.repeat):
            seconds = 0.0
            for arguments in kept[name]:
                fresh = copy.deepcopy(arguments)
                start = time.perf_counter()
                kernel(*fresh)
                seconds += time.perf_counter() - start
            best = min(best, seconds / len(kept[name]))
        per_member_month = best / args.members * 1e6
        total += per_member_month
        print(f"  {name:18s} {per_member_month:7.2f}")
    print(f"  {'sum':18s} {total:7.2f}")


if __name__ == "__main__":
    main()
