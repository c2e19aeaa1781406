"""Score many parameter sets at once: one batched run of the history, one objective per member.

The engine is vectorised over members and a member's path depends only on its own parameters
(the model is deterministic once uncertainties are switched off), so a whole optimizer
population is one :func:`reesim.simulate` call whatever its size or order. With ``workers > 1``
the population is split into that many batches run in parallel processes; the objectives are
the same numbers either way. With a ``step_weight`` each batch is run on to the step check's
last year (:func:`step_check_scenario`) and also with twice its market sub-steps a month, and a
member that does not converge in the time step pays
:func:`~reesim.calibration.step_check.step_penalty` times the weight.
"""

from __future__ import annotations

import logging
import math
import os
import signal
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pandas as pd

from reesim.api import simulate
from reesim.calibration.parameters import FreeParameter
from reesim.calibration.step_check import (
    STEP_CHECK_END_YEAR,
    STEP_CHECK_VARIABLES,
    member_step_gaps,
    step_penalty,
    with_substeps,
)
from reesim.errors import InputError, ReesimError
from reesim.scenario.schema import OutputOptions, Scenario
from reesim.validation import OBJECTIVE_WEIGHTS, load_observations
from reesim.validation.metrics import (
    METRIC_VARIABLES,
    member_metrics,
    member_objectives,
    summarise,
)
from reesim.validation.observations import TRAIN_END_YEAR, Observations, check_train_until

log = logging.getLogger("reesim.calibration")


def history_scenario(scenario: Scenario, train_until: int = TRAIN_END_YEAR) -> Scenario:
    """The scenario cut to the calibration window: monthly, ending after ``train_until``.

    Like ``reesim validate`` the run ends in ``train_until + 1`` (later events are inactive and
    the metrics only see observations up to ``train_until``: volumes, and prices as far as the
    record holds them, 2020); sampled uncertainties are dropped so every member is the scenario
    with exactly the parameters the optimizer gives it.
    """
    train_until = check_train_until(train_until, scenario.start_year)
    data = scenario.model_dump()
    data.update(end_year=train_until + 1, output=OutputOptions(frequency="month").model_dump(),
                uncertainty={})
    return Scenario.model_validate(data)


def step_check_scenario(scenario: Scenario) -> Scenario:
    """The history scenario run on to :data:`STEP_CHECK_END_YEAR` for the searches' step penalty.

    The fit's end point is checked to that year (the first projection years), so the searches
    pay for the same years: scored on the history window only, they found a basin whose Dy export
    market ran out in 2030 a month apart at one and two sub-steps (24th session). The model is
    causal, so the history months of the longer run are the history run's, bit for bit, and the
    misfit is computed on them.
    """
    if scenario.end_year >= STEP_CHECK_END_YEAR:
        return scenario
    return scenario.model_copy(update={"end_year": STEP_CHECK_END_YEAR})


# -- batched evaluation ------------------------------------------------------------------------

_WORKER: dict[str, object] = {}


def _init_worker(scenario: Scenario, names: tuple[str, ...], seed: int,
                 weights: dict[str, float], train_until: int) -> None:
    # Ctrl-C reaches every process of the terminal's group: the parent handles it and shuts the
    # pool down, so the workers ignore it instead of printing a traceback each
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.update(scenario=scenario, names=names, seed=seed, weights=weights,
                   obs=load_observations(train_until))


def _worker_objectives(values: np.ndarray, step_weight: float) -> np.ndarray:
    return _objectives(_WORKER["scenario"], _WORKER["names"], values,  # type: ignore[arg-type]
                       _WORKER["seed"], _WORKER["obs"], _WORKER["weights"],  # type: ignore[arg-type]
                       step_weight)


def _objectives(scenario: Scenario, names: Sequence[str], values: np.ndarray, seed: int,
                obs: Observations, weights: Mapping[str, float],
                step_weight: float = 0.0) -> np.ndarray:
    """Objectives of the (S, P) parameter values (plus the step penalty if ``step_weight``).

    A batch whose run fails (e.g. a broken balance) is split to isolate the failing members,
    which score ``inf``; bad input is re-raised.
    """
    members = values.shape[0]
    design = {name: values[:, j] for j, name in enumerate(names)}
    checked = step_check_scenario(scenario) if step_weight > 0 else scenario
    # only what the metrics and the step gaps read is recorded (every balance is still
    # checked each month): half the time of a monthly batch recording everything
    record = sorted({*METRIC_VARIABLES, *(STEP_CHECK_VARIABLES if step_weight > 0 else ())})
    try:
        result = simulate(checked, members=members, seed=seed, design=design, record=record)
        finer = (simulate(with_substeps(checked, 2 * checked.market.substeps), members=members,
                          seed=seed, design=design, record=STEP_CHECK_VARIABLES)
                 if step_weight > 0 else None)
    except InputError:
        raise
    except ReesimError as exc:
        if members == 1:
            log.warning("run failed for %s: %s", dict(zip(names, values[0], strict=True)), exc)
            return np.array([math.inf])
        half = members // 2
        return np.concatenate([
            _objectives(scenario, names, values[:half], seed, obs, weights, step_weight),
            _objectives(scenario, names, values[half:], seed, obs, weights, step_weight)])
    history = result.dataset.sel(time=slice(None, f"{scenario.end_year}-12"))
    scores = member_objectives(member_metrics(history, obs), members, weights)
    if finer is None:
        return scores
    return scores + step_weight * step_penalty(*member_step_gaps(result.dataset, finer.dataset),
                                               substeps=checked.market.substeps)


class Evaluator:
    """Objectives of parameter sets on a history scenario, batched (and split over workers).

    Only observations up to ``train_until`` are scored (the calibration window).
    ``workers`` is capped at the number of CPUs. Use as a context manager when ``workers > 1`` so
    the worker processes are shut down.
    ``evaluations`` counts members scored. :meth:`search_objectives` adds the step penalty
    (``step_weight``, 0 = none), which the optimizer's searches minimise; :meth:`objectives`
    is the misfit alone (the identification profiles and the reported objective).
    """

    def __init__(self, scenario: Scenario, table: Sequence[FreeParameter], seed: int,
                 workers: int = 1, weights: Mapping[str, float] = OBJECTIVE_WEIGHTS,
                 train_until: int = TRAIN_END_YEAR, step_weight: float = 0.0) -> None:
        self.scenario = scenario
        self.step_weight = float(step_weight)
        self.table = tuple(table)
        self.names = tuple(row.name for row in self.table)
        self.seed = seed
        self.weights = dict(weights)
        self.workers = max(1, min(int(workers), os.cpu_count() or 1))
        self.train_until = int(train_until)
        self.obs = load_observations(self.train_until)
        self.evaluations = 0
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(abort=exc_type is not None)

    def close(self, abort: bool = False) -> None:
        """Shut the worker processes down (if any were started).

        ``abort`` (an error or Ctrl-C in the parent) stops the workers at once instead of
        waiting for the batch they are running, which can take many seconds.
        """
        if self._pool is None:
            return
        if abort:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.scenario, self.names, self.seed, self.weights, self.train_until))
        return self._pool

    def objectives(self, values: np.ndarray) -> np.ndarray:
        """Objectives (S,) of the (S, P) parameter values (columns in table order)."""
        return self._batch(values, 0.0)

    def search_objectives(self, values: np.ndarray) -> np.ndarray:
        """Objectives plus ``step_weight`` times the step penalty, (S,)."""
        return self._batch(values, self.step_weight)

    def _batch(self, values: np.ndarray, step_weight: float) -> np.ndarray:
        values = np.atleast_2d(np.asarray(values, float))
        if values.shape[1] != len(self.names):
            raise ValueError(f"expected {len(self.names)} columns, got {values.shape[1]}")
        members = values.shape[0]
        self.evaluations += members
        if self.workers == 1 or members < 2 * self.workers:
            return _objectives(self.scenario, self.names, values, self.seed, self.obs,
                               self.weights, step_weight)
        chunks = np.array_split(values, self.workers)
        pool = self._get_pool()
        return np.concatenate(list(pool.map(_worker_objectives, chunks,
                                            [step_weight] * len(chunks))))

    def design_objectives(self, design: Mapping[str, np.ndarray]) -> np.ndarray:
        """Objectives of a design (name -> member values; any parameters or member constants).

        One batched run in this process (used once per fit, for the constants' sensitivity).
        """
        names = tuple(design)
        values = np.stack([np.asarray(design[n], float) for n in names], axis=1)
        self.evaluations += values.shape[0]
        return _objectives(self.scenario, names, values, self.seed, self.obs, self.weights)

    def metrics(self, values: Mapping[str, float]) -> pd.DataFrame:
        """The validation metrics frame (one member) of one parameter set, by name."""
        design = {name: [float(values[name])] for name in self.names}
        result = simulate(self.scenario, members=1, seed=self.seed, design=design,
                          record=METRIC_VARIABLES)
        return summarise(member_metrics(result.dataset, self.obs))
