"""Benchmark: where a batch of members spends its time, in microseconds per member-month.

Profiles one run of ``baotou`` (annual records, as ensembles record) with cProfile after a
warm-up, and prints the functions with the most time of their own: the compiled kernels
(numba dispatchers show as one call each), numpy's reductions and the recorder. It answers
"what would a faster ensemble have to change?": at 256 members on the 2-core VM (2026-12-07,
two market sub-steps a month, forty-sixth session) the market month's compiled pass (its two
sub-steps' trade and clearing) took 29.3 us of the 74.1 us per member-month, the annual recorder
13.7 us, the balance check 8.7 us and the producers' pass 4.8 us, the rest spread over some
fifteen kernels and their numpy glue; on 2026-12-07 (fifty-second session, the market's
per-element helpers inlined, a slower host) the market pass 23.4 of 75.0 us, the recorder 17.9
(every variable's annual sums: memory-bound), the balance check 7.8, the producers' pass 5.6
and supply 5.0. Prints figures; asserts nothing.
Run: ``.venv/bin/python benchmarks/bench_profile.py [--members 256] [--top 20]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from reesim import load_scenario, simulate
from reesim.datasets import load_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=256)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()

    load_inputs()
    scenario = load_scenario("baotou", ["output.frequency=year"])
    # warm-up: imports and compiled kernels, in both their one-member and batch layouts (a
    # one-member batch's slices are contiguous, a larger one's not: numba compiles each)
    simulate(scenario)
    simulate(scenario, members=2)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    simulate(scenario, members=args.members)
    profiler.disable()
    wall = time.perf_counter() - start
    months = 12 * (scenario.end_year - scenario.start_year + 1)
    member_months = args.members * months
    stats = pstats.Stats(profiler)
    rows = sorted(((own, calls, func) for func, (_, calls, own, _, _)
                   in stats.stats.items()), reverse=True)       # type: ignore[attr-defined]
    total = sum(own for own, _, _ in rows)
    print(f"baotou, {args.members} members x {months} months, annual records: {wall:.2f} s "
          f"under the profiler ({1e6 * wall / member_months:.1f} us per member-month)")
    print(f"{'us/member-month':>16} {'share':>6} {'calls':>7}  function (own time)")
    for own, calls, (path, line, name) in rows[:args.top]:
        where = path.split("/src/")[-1] if "/src/" in path else path.split("/")[-1]
        print(f"{1e6 * own / member_months:16.2f} {own / total:6.1%} {calls:7d}  "
              f"{name} ({where}:{line})")


if __name__ == "__main__":
    main()
