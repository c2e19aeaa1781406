"""Benchmark: one calibration search batch of ``baotou``, and where its time goes.

A calibration (``reesim calibrate``) scores thousands of parameter sets in batches: each batch
runs the history monthly to 2032 twice (one and two market sub-steps, for the step penalty),
then the validation metrics and the step gaps. This prints the wall time of such a batch (min
and median of ``--repeat`` batches after a warm-up) and its parts measured on their own: the
two runs (build included), the metrics (:func:`reesim.validation.metrics.member_metrics`) and
the step gaps. Members take random hoarding sensitivities and glut ratios (seeded), so the
batch is not a copy of one member. Prints figures; asserts nothing.
Run: ``.venv/bin/python benchmarks/bench_calibration.py [--members 24] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from reesim import load_scenario, simulate
from reesim.calibration.evaluate import _objectives, history_scenario, step_check_scenario
from reesim.calibration.step_check import STEP_CHECK_VARIABLES, member_step_gaps, with_substeps
from reesim.validation import OBJECTIVE_WEIGHTS, load_observations
from reesim.validation.metrics import METRIC_VARIABLES, member_metrics


def _timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def _line(label: str, times: list[float]) -> str:
    return f"{label:44s} min {min(times):6.2f} s, median {statistics.median(times):6.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    scenario = history_scenario(load_scenario("baotou"))
    obs = load_observations()
    names = ("hoarding_sensitivity", "glut_sensitivity_ratio")
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.uniform(0.5, 1.5, args.members),
                              rng.uniform(0.03, 0.1, args.members)])
    design = {name: values[:, j] for j, name in enumerate(names)}
    _objectives(scenario, names, values[:2], 0, obs, OBJECTIVE_WEIGHTS, 1.0)   # warm-up

    def batch() -> None:
        _objectives(scenario, names, values, 0, obs, OBJECTIVE_WEIGHTS, 1.0)

    checked = step_check_scenario(scenario)
    record = sorted({*METRIC_VARIABLES, *STEP_CHECK_VARIABLES})
    runs: dict[str, object] = {}

    def one() -> None:
        runs["one"] = simulate(checked, members=args.members, design=design, record=record)

    def two() -> None:
        runs["two"] = simulate(with_substeps(checked, 2), members=args.members, design=design,
                               record=list(STEP_CHECK_VARIABLES))

    print(f"baotou, calibration search batch of {args.members} members (history monthly to "
          f"{checked.end_year}, step weight 1):")
    print(_line("whole batch", _timed(batch, args.repeat)))
    print(_line("  run, one sub-step (build included)", _timed(one, args.repeat)))
    print(_line("  run, two sub-steps", _timed(two, args.repeat)))
    history = runs["one"].dataset.sel(time=slice(None, f"{scenario.end_year}-12"))
    print(_line("  validation metrics", _timed(lambda: member_metrics(history, obs),
                                                args.repeat)))
    print(_line("  step gaps", _timed(lambda: member_step_gaps(runs["one"].dataset,
                                                               runs["two"].dataset),
                                      args.repeat)))


if __name__ == "__main__":
    main()
