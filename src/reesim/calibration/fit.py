"""Fit the free parameters to the record up to ``train_until`` with differential evolution.

The objective is the validation objective (:func:`reesim.validation.objective`, weights
:data:`~reesim.validation.OBJECTIVE_WEIGHTS`) of the scenario's run from its start year to
``train_until + 1``; only observations up to ``train_until`` enter (default
:data:`~reesim.validation.observations.TRAIN_END_YEAR`, 2025: volumes to 2025, prices to 2020
as the record holds them). A backtest fits an earlier window and scores the years after it
(:mod:`reesim.calibration.backtest`). The search space is the unit cube of the priors
(:mod:`reesim.calibration.parameters`): log-scaled where declared.

``scipy.optimize.differential_evolution`` runs with ``vectorized=True``: every generation is ONE
batched run of the whole population. The initial population is a seeded Latin hypercube plus
two rows, the prior midpoint and the scenario's own values (clipped into the priors), so the fit
is never worse than either. No local polish: a serial local search costs about 2 s per
evaluation (one-member run plus metrics) and the budget is better spent on generations.
A run whose objective is not finite (e.g. a price of zero) scores :data:`PENALTY`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import scipy
from scipy.optimize import OptimizeResult, differential_evolution
from scipy.stats import qmc

from reesim.calibration.evaluate import Evaluator, history_scenario
from reesim.calibration.identify import Identification, identify
from reesim.calibration.parameters import (
    FREE_PARAMETERS,
    FreeParameter,
    check_free_parameters,
    scenario_values,
    to_units,
    to_values,
)
from reesim.calibration.step_check import StepCheck, step_convergence
from reesim.datasets import load_inputs
from reesim.results import code_version
from reesim.scenario import Scenario, scenario_hash
from reesim.validation import OBJECTIVE_WEIGHTS, objective
from reesim.validation.observations import TRAIN_END_YEAR

log = logging.getLogger("reesim.calibration")

PENALTY = 1000.0
"""Objective given to the optimizer for a run whose objective is not finite."""

BATCH_TOLERANCE = 1e-3
"""Relative difference allowed between a member's objective in a batch and in a run of its own.

Members do not interact and the engine is batch-invariant (no BLAS reductions across members);
the two differ only by the unit-cube round trip of the values (~1e-16), which the dynamics
amplify (seen: 3e-5 of the objective). A larger difference is a bug and carries a warning.
"""

SIGNIFICANT_DIGITS = 12
"""Fitted values are rounded to this many significant digits (effectively exact: the dynamics
are sensitive enough that 4 digits moved the objective by ~2%)."""

POLISH_ROUNDS = 6
"""Rounds of profile polishing after the search: each is one batched run of one-parameter
profiles (a prior-wide grid plus local steps); the best point is taken if it improves."""
LOCAL_STEPS = (-0.1, -0.04, -0.015, 0.015, 0.04, 0.1)
"""Local profile steps, in unit-cube coordinates, added to the prior-wide grid when polishing."""

BASIN_DISTANCE = 0.15
"""Two searches ended in the same basin when no coordinate of their end points differs by more
than this in the unit cube of the priors (a judgement: the identified ranges of the committed
fit span 5-40% of their priors)."""

DEPENDS_THRESHOLD = 0.05
"""The fit *depends on* a structural constant when moving it to either end of its declared
plausible range changes the objective at the fitted values by more than this share."""


@dataclass(frozen=True)
class CalibrationOptions:
    """Settings of the optimizer and of the identification profiles."""

    population: int = 48
    """Members per generation (the DE population; one batched run per generation)."""
    generations: int = 50
    """Maximum DE generations (``maxiter``)."""
    strategy: str = "best1bin"
    mutation: tuple[float, float] = (0.5, 1.0)
    recombination: float = 0.7
    tol: float = 0.01
    """DE stops early when the population's objectives agree within this relative spread."""
    workers: int = 2
    """Processes sharing each batch (the engine runs on one core)."""
    profile_points: int = 9
    """Grid points across each prior for the identification profiles."""
    fd_step: float = 0.1
    """Finite-difference step of the curvature, in unit-cube coordinates."""
    identified_tolerance: float = 0.05
    """Identified range: objective within +5% of the optimum's."""
    weak_fraction: float = 0.75
    """Weakly identified: the identified range spans at least this share of the prior."""
    step_weight: float = 0.0
    """The searches minimise the objective plus this times the step penalty of members that do
    not converge between n and 2n market sub-steps over the calibration window
    (:func:`~reesim.calibration.step_check.step_penalty`; 0 = off, each batch runs once). Off by
    default: on ``baotou`` it steers every search into the flat basin (docs/model.md, section
    5), so the step check filters end points instead."""
    constant_sensitivity: bool = True
    """Score the fit at both ends of every member-level structural constant's plausible range
    (one batched run) and record the constants the fit depends on."""


FULL = CalibrationOptions()
"""The full calibration (a few minutes on 2 cores)."""

QUICK = CalibrationOptions(population=8, generations=2, workers=1, profile_points=5,
                           constant_sensitivity=False)
"""A smoke-test calibration for the tests (well under a minute)."""


@dataclass(frozen=True)
class Generation:
    """Progress of the fit: after the initial population (``index`` 0) and each generation."""

    index: int
    total: int
    best_objective: float
    evaluations: int
    elapsed_s: float
    stage: str = "search"
    """``search`` (the optimizer), ``profiles`` (identification, after the search) or
    ``constants`` (the structural constants' sensitivity, last)."""
    start: int = 0
    """Which of the ``starts`` independent searches this is (0-based)."""
    starts: int = 1


@dataclass(frozen=True)
class Start:
    """One independent search of a multi-start calibration, scored in a run of its own."""

    seed: int
    """The optimizer's seed of this search (the calibration's seed + the start's index)."""
    objective: float
    parameters: dict[str, float]
    generations: int
    basin: int
    """Starts that ended within :data:`BASIN_DISTANCE` of each other share a basin; basins are
    numbered by their best objective (0 = the fit's)."""
    distance_to_fit: float
    """Largest unit-cube coordinate difference from the chosen fit (0 for the fit itself)."""
    patterns: dict[str, float]
    """:data:`~reesim.validation.patterns.PATTERNS` of the scenario's whole run at these
    values (the projection included)."""
    step: StepCheck | None = None
    """How far the annual paths move from n to 2n market sub-steps at these values."""


@dataclass
class CalibrationResult:
    """What :func:`calibrate` returns; :func:`~reesim.calibration.write_calibration` saves it."""

    scenario: str
    scenario_hash: str
    seed: int
    mode: str
    window: str
    parameters: dict[str, float]
    """Fitted values (rounded), by name."""
    objective: float
    """Objective at the fitted (rounded) values."""
    objective_at_midpoint: float
    objective_at_scenario: float
    """Objective at the prior midpoint and at the scenario's own values (clipped to the prior),
    as scored in the optimizer's first batch."""
    metrics: pd.DataFrame
    """The validation metrics frame at the fitted values."""
    identification: tuple[Identification, ...]
    table: tuple[FreeParameter, ...]
    options: CalibrationOptions
    optimizer: dict
    """Method, settings and outcome of the optimizer (generations run, evaluations, message)."""
    warnings: list[str] = field(default_factory=list)
    """Problems found on the way (the CLI prints them, the file records them)."""
    history: list[float] = field(default_factory=list)
    """Best objective after the initial population and after each generation."""
    wall_time_s: float = 0.0
    created_utc: str = ""
    data_version: str = ""
    data_digest: str = ""
    code_version: str = ""
    weights: dict[str, float] = field(default_factory=lambda: dict(OBJECTIVE_WEIGHTS))
    """The objective's family weights the fit minimised."""
    start_objective: float = math.nan
    """Objective of the starting point (the scenario's values) in a run of its own: the fit
    must not end above it."""
    worse_than_start: bool = False
    """True if the fit ended above its starting point (then the file must not replace a better
    calibration)."""
    train_until: int = TRAIN_END_YEAR
    """Last year of the record the fit saw (volumes; prices as far as the record holds them)."""
    step_check: StepCheck | None = None
    """The fit's :class:`~reesim.calibration.step_check.StepCheck` (n against 2n market
    sub-steps): a fit that only wins at the monthly step is flagged."""
    constants: dict[str, dict] = field(default_factory=dict)
    """Structural constants the fit depends on (objective moves more than
    :data:`DEPENDS_THRESHOLD` across the constant's plausible range): value, range, unit,
    reason, source and the objective at both ends. Empty if not measured."""
    starts: tuple[Start, ...] = ()
    """Every independent search of a multi-start fit, best objective first (empty for one)."""


def _round(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    return float(f"{value:.{digits}g}")


def _initial_population(table: Sequence[FreeParameter], scenario: Scenario, size: int,
                        seed: int, anchored: bool = True) -> np.ndarray:
    """Latin hypercube (seeded); if ``anchored``, the prior midpoint and the scenario's values.

    They are rows 0 and 1, so a search started from it is never worse than either.
    """
    sampler_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    init = qmc.LatinHypercube(d=len(table), rng=sampler_rng).random(size)
    if anchored:
        init[0] = 0.5
        init[1] = to_units(table, scenario_values(scenario, table))
    return init


@dataclass
class _Search:
    """What one differential-evolution search (and its polish) found."""

    u: np.ndarray
    """Polished end point in the unit cube."""
    objective: float
    """In-batch objective at ``u``, plus the step penalty (what the search minimised)."""
    result: OptimizeResult
    """scipy's result of the search."""
    polish_rounds: int
    history: list[float]
    at_midpoint: float
    at_scenario: float


def _search(evaluator: Evaluator, table: Sequence[FreeParameter], scenario: Scenario,
            opts: CalibrationOptions, seed: int, anchored: bool, quick: bool,
            best: list[float], report: Callable[..., None]) -> _Search:
    """One seeded differential-evolution search, then the profile polish.

    ``anchored`` puts the prior midpoint and the scenario's values in the initial population
    (rows 0 and 1, so the search is never worse than either); the other starts of a multi-start
    fit begin from the Latin hypercube alone, to explore. ``best`` holds the best objective so
    far (for ``report``, called after every generation).
    """
    first_batch: list[np.ndarray] = []
    history: list[float] = []

    def func(x: np.ndarray) -> np.ndarray:
        # scipy passes the population as (P, S) in the unit cube
        raw = evaluator.search_objectives(to_values(table, x.T))
        if not first_batch:
            first_batch.append(raw.copy())
        energies = np.where(np.isfinite(raw), raw, PENALTY)
        best[0] = min(best[0], float(energies.min()))
        history.append(best[0])
        report(len(history) - 1)
        return energies

    init = _initial_population(table, scenario, opts.population, seed, anchored)
    result = differential_evolution(
        func, bounds=[(0.0, 1.0)] * len(table), strategy=opts.strategy,
        maxiter=opts.generations, init=init, tol=opts.tol, mutation=opts.mutation,
        recombination=opts.recombination, rng=np.random.default_rng(seed), polish=False,
        vectorized=True, updating="deferred")
    u, j, polish_rounds = _polish(
        lambda v: evaluator.search_objectives(to_values(table, v)), np.asarray(result.x, float),
        float(result.fun), opts.profile_points, POLISH_ROUNDS if not quick else 1)
    at_midpoint, at_scenario = ((float(v) for v in first_batch[0][:2]) if anchored
                                else (math.nan, math.nan))
    return _Search(u=np.asarray(u, float), objective=j, result=result,
                   polish_rounds=polish_rounds, history=history, at_midpoint=at_midpoint,
                   at_scenario=at_scenario)


def _score_starts(evaluator: Evaluator, scenario: Scenario, table: Sequence[FreeParameter],
                  searches: Sequence[_Search], chosen: int, seed: int,
                  weights: Mapping[str, float],
                  checks: Sequence[StepCheck | None] = ()) -> tuple[Start, ...]:
    """Every search's end point scored in a run of its own, grouped into basins.

    Each carries the behaviour patterns of the scenario's whole run at its values; the fit
    comes first, then the others by objective.
    """
    from reesim.api import simulate
    from reesim.calibration.backtest import fitted_scenario
    from reesim.validation.patterns import run_patterns

    rows = []
    for i, search in enumerate(searches):
        values = _end_values(table, search.u)
        rows.append((objective(evaluator.metrics(values), weights), i, values, search))
    rows.sort(key=lambda r: (r[1] != chosen, r[0]))
    anchors: list[np.ndarray] = []
    starts = []
    for j, i, values, search in rows:
        basin = next((b for b, a in enumerate(anchors)
                      if float(np.max(np.abs(search.u - a))) <= BASIN_DISTANCE), None)
        if basin is None:
            anchors.append(search.u)
            basin = len(anchors) - 1
        data = fitted_scenario(scenario, values).model_dump()
        data["output"]["frequency"] = "month"
        run = simulate(type(scenario).model_validate(data))
        starts.append(Start(
            seed=seed + i, objective=j, parameters=values, generations=int(search.result.nit),
            basin=basin, distance_to_fit=float(np.max(np.abs(search.u - searches[chosen].u))),
            patterns=run_patterns(run.dataset), step=checks[i] if checks else None))
    return tuple(starts)


def _end_values(table: Sequence[FreeParameter], u: np.ndarray) -> dict[str, float]:
    """A unit-cube point (a search's end) as rounded parameter values, by name."""
    return {row.name: _round(float(v))
            for row, v in zip(table, to_values(table, u)[0], strict=True)}


def _polish(evaluate: Callable[[np.ndarray], np.ndarray], u: np.ndarray, j: float,
            points: int, rounds: int) -> tuple[np.ndarray, float, int]:
    """Coordinate search from the optimizer's best point: one-parameter profiles, batched.

    Each round evaluates, for every parameter, a prior-wide grid and a few local steps with the
    others held, in one batched run, and moves to the best point if it lowers the objective by
    more than 0.1%. Returns the polished point, its in-batch objective and the rounds that
    improved it.
    """
    grid = np.linspace(0.0, 1.0, points)
    improved = 0
    for _ in range(rounds):
        rows = []
        for k in range(len(u)):
            for value in np.concatenate([grid, u[k] + np.array(LOCAL_STEPS)]):
                point = u.copy()
                point[k] = float(np.clip(value, 0.0, 1.0))
                rows.append(point)
        energies = np.asarray(evaluate(np.array(rows)), float)
        energies = np.where(np.isfinite(energies), energies, math.inf)
        best = int(np.argmin(energies))
        if not energies[best] < j * (1.0 - 1e-3):
            break
        u, j = rows[best], float(energies[best])
        improved += 1
    return u, j, improved


def constant_sensitivity(evaluate_design: Callable[[dict[str, np.ndarray]], np.ndarray],
                         scenario: Scenario, fitted: Mapping[str, float], j_fit: float,
                         skip: Sequence[str] = ()) -> dict[str, dict]:
    """The member-level structural constants the fit depends on, from one batched run.

    Every member-level constant not in ``skip`` (the fitted ones) is set to the low and to the
    high end of its declared plausible range, the fitted values held; ``evaluate_design`` maps a
    design (name -> member values) to objectives. A constant whose either end moves the
    objective by more than :data:`DEPENDS_THRESHOLD` of ``j_fit`` is returned with its declared
    range, reason and source and the two objectives, largest effect first.
    """
    from reesim.model.constants import member_constant_names, ordered_pairs
    from reesim.model.constants import table as constant_table

    names = [n for n in member_constant_names() if n not in skip]
    if not names or not math.isfinite(j_fit) or j_fit <= 0.0:
        return {}
    members = 2 * len(names)
    design = {name: np.full(members, float(value)) for name, value in fitted.items()}
    table = constant_table()
    for i, name in enumerate(names):
        column = np.full(members, float(scenario.constants[name]))
        column[2 * i], column[2 * i + 1] = table[name].low, table[name].high
        design[name] = column
    for low_name, high_name in ordered_pairs():    # e.g. backlog_full < backlog_stop months
        if low_name not in design or high_name not in design:
            continue
        lo, hi = design[low_name], design[high_name]
        bad = lo >= hi
        if bad.any():
            # a range end that would break the declared order stops just inside it
            step = 1.0 if table[low_name].integer or table[high_name].integer else 1e-6
            moved_low = np.isin(np.arange(members) // 2, [names.index(low_name)]
                                if low_name in names else [])
            lo[bad & moved_low] = hi[bad & moved_low] - step
            hi[bad & ~moved_low] = lo[bad & ~moved_low] + step
    energies = np.asarray(evaluate_design(design), float)
    out: list[tuple[float, str, dict]] = []
    for i, name in enumerate(names):
        at_low, at_high = float(energies[2 * i]), float(energies[2 * i + 1])
        effect = max(abs(at_low - j_fit), abs(at_high - j_fit)) / j_fit
        if not effect > DEPENDS_THRESHOLD:
            continue
        const = table[name]
        out.append((effect, name, {
            "value": float(scenario.constants[name]), "low": const.low, "high": const.high,
            "unit": const.unit, "objective_at_low": at_low, "objective_at_high": at_high,
            "largest_change": effect, "reason": const.reason, "source": const.source}))
    return {name: entry for _, name, entry in sorted(out, key=lambda t: -t[0])}


def calibrate(scenario: Scenario, seed: int = 0, quick: bool = False, *,
              options: CalibrationOptions | None = None,
              table: Sequence[FreeParameter] = FREE_PARAMETERS,
              weights: Mapping[str, float] | None = None,
              train_until: int = TRAIN_END_YEAR,
              progress: Callable[[Generation], None] | None = None,
              starts: int = 1) -> CalibrationResult:
    """Fit ``table``'s parameters of ``scenario`` to the record up to ``train_until``.

    ``seed`` fixes the optimizer's random numbers (the model itself is deterministic here), so
    the same scenario, seed and options give the same parameters. ``quick`` uses :data:`QUICK`
    instead of :data:`FULL` (``options`` overrides both). ``weights`` replaces
    :data:`~reesim.validation.OBJECTIVE_WEIGHTS` by family (others keep their default); a fit
    that ends above its starting point (the scenario's own values in a run of their own) is
    flagged (``worse_than_start``) with a warning. ``progress`` is called after the
    initial population and after every generation (and once more, ``stage="profiles"``, before
    the identification profiles). With ``options.workers > 1`` batches are shared by worker
    processes started with ``spawn``: a script calling this must guard its entry point with
    ``if __name__ == "__main__":``.

    ``starts`` > 1 runs that many independent searches (seeds ``seed``, ``seed + 1``, ...; the
    first starts as a single search does, the others from a Latin hypercube alone) and keeps
    the one with the lowest objective; every search is reported (:class:`Start`: its objective,
    values, basin and behaviour patterns), because the objective is multimodal and a lower
    objective can mean a flatter market (docs/model.md, section 5).
    """
    if starts < 1:
        raise ValueError("starts must be at least 1")
    check_free_parameters(table)
    table = tuple(table)
    weights = {**OBJECTIVE_WEIGHTS, **dict(weights or {})}
    opts = options or (QUICK if quick else FULL)
    if opts.population < 5:
        raise ValueError("differential evolution needs a population of at least 5")
    started = time.perf_counter()
    history_scen = history_scenario(scenario, train_until)
    window = f"{scenario.start_year}-01..{train_until}-12"
    log.info("calibrating %s over %s: %d parameters, population %d, up to %d generations",
             scenario.name, window, len(table), opts.population, opts.generations)

    with Evaluator(history_scen, table, seed, workers=opts.workers, weights=weights,
                   train_until=train_until, step_weight=opts.step_weight) as evaluator:
        searches = []
        for start in range(starts):
            best_so_far = [math.inf]

            def report(index: int, _start: int = start, _best: list[float] = best_so_far) -> None:
                if progress is not None:
                    progress(Generation(index=index, total=opts.generations,
                                        best_objective=_best[0],
                                        evaluations=evaluator.evaluations,
                                        elapsed_s=time.perf_counter() - started,
                                        start=_start, starts=starts))
            searches.append(_search(evaluator, table, scenario, opts, seed + start,
                                    start == 0, quick, best_so_far, report))
        # a fit must not win by exploiting the time step: the best search whose end point
        # converges between n and 2n market sub-steps is the fit; if none does, the best
        # whose volumes and median price converge; the best overall if none of those
        checks = [step_convergence(scenario, _end_values(table, s.u)) for s in searches]
        converged = [i for i in range(starts) if checks[i].converged]
        near = [i for i in range(starts) if checks[i].volumes_and_median_converge]
        chosen = min(converged or near or range(starts), key=lambda i: searches[i].objective)
        search = searches[chosen]
        history = search.history
        if progress is not None:
            progress(Generation(index=int(search.result.nit), total=opts.generations,
                                best_objective=search.objective,
                                evaluations=evaluator.evaluations,
                                elapsed_s=time.perf_counter() - started, stage="profiles",
                                start=chosen, starts=starts))
        result, polish_rounds, u_best = search.result, search.polish_rounds, search.u
        at_midpoint, at_scenario = searches[0].at_midpoint, searches[0].at_scenario
        fitted = _end_values(table, u_best)
        # the fitted scenario's own (one-member) run: what `reesim validate` reports for it; the
        # same member in a batch agrees up to floating-point noise the dynamics may amplify
        metrics = evaluator.metrics(fitted)
        j_single = objective(metrics, weights)
        start_values = dict(zip(
            (row.name for row in table),
            to_values(table, to_units(table, scenario_values(scenario, table)))[0], strict=True))
        j_start = objective(evaluator.metrics(start_values), weights)
        identification, j_fit, noise = identify(
            lambda u: evaluator.objectives(to_values(table, u)), table,
            to_units(table, fitted), points=opts.profile_points, fd_step=opts.fd_step,
            tolerance=opts.identified_tolerance, weak_fraction=opts.weak_fraction,
            reference=j_single)
        constants: dict[str, dict] = {}
        if opts.constant_sensitivity:
            if progress is not None:
                progress(Generation(index=int(result.nit), total=opts.generations,
                                    best_objective=search.objective,
                                    evaluations=evaluator.evaluations,
                                    elapsed_s=time.perf_counter() - started, stage="constants",
                                    start=chosen, starts=starts))
            constants = constant_sensitivity(evaluator.design_objectives, history_scen, fitted,
                                             j_single, skip=[row.name for row in table])
        evaluations, workers = evaluator.evaluations, evaluator.workers
        start_table = (_score_starts(evaluator, scenario, table, searches, chosen, seed,
                                     weights, checks)
                       if starts > 1 else ())

    warnings = []
    if not math.isclose(j_single, j_fit, rel_tol=BATCH_TOLERANCE) and not (
            math.isinf(j_single) and math.isinf(j_fit)):
        warnings.append(f"the objective at the fitted values is {j_single:.6g} in a run of its "
                        f"own but {j_fit:.6g} in a batch: more than floating-point noise, so "
                        "members may not be independent in the engine; the fit and the "
                        "profiles are unreliable")
        log.warning(warnings[-1])
    if not converged:
        warnings.append("NO SEARCH CONVERGES IN THE TIME STEP: at the fit "
                        f"{checks[chosen].describe()}; its objective may owe something to the "
                        "monthly step")
        log.warning(warnings[-1])
    elif chosen != min(range(starts), key=lambda i: searches[i].objective):
        best = min(range(starts), key=lambda i: searches[i].objective)
        warnings.append(f"search {best} (objective {searches[best].objective:.6g}) was passed over "
                        f"because {checks[best].describe()}; the fit is the best search that "
                        "converges")
        log.warning(warnings[-1])
    worse = bool(j_single > j_start * (1.0 + BATCH_TOLERANCE))
    if worse:
        warnings.append(f"THE FIT ENDED WORSE THAN ITS START: objective {j_single:.6g} at the "
                        f"fitted values, {j_start:.6g} at the scenario's own values; keep the "
                        "existing calibration (reesim does not write over a better one)")
        log.warning(warnings[-1])
    data = load_inputs()
    optimizer = {
        "method": "scipy.optimize.differential_evolution",
        "scipy_version": scipy.__version__,
        "space": "unit cube of the priors (log-scaled where declared)",
        "strategy": opts.strategy,
        "population": opts.population,
        "init": "Latin hypercube (seeded) + prior midpoint + scenario values",
        "max_generations": opts.generations,
        "generations_run": int(result.nit),
        "mutation": list(opts.mutation),
        "recombination": opts.recombination,
        "tol": opts.tol,
        "updating": "deferred (vectorized: one batched run per generation)",
        "polish": False,
        "workers": workers,
        "penalty_for_non_finite_objective": PENALTY,
        "evaluations": int(evaluations),
        "best_objective_of_search": float(result.fun),
        "step_weight_of_search": opts.step_weight,
        "starts": starts,
        "chosen_start": chosen,
        "profile_polish_rounds": polish_rounds,
        "objective_at_fit_in_batch": j_fit,
        "objective_noise_in_batch": noise,
        "converged": bool(result.success),
        "message": str(result.message),
    }
    return CalibrationResult(
        scenario=scenario.name, scenario_hash=scenario_hash(scenario), seed=seed,
        mode="custom" if options is not None else ("quick" if quick else "full"),
        window=window, parameters=fitted, objective=j_single, objective_at_midpoint=at_midpoint,
        objective_at_scenario=at_scenario, metrics=metrics, identification=identification,
        table=table, options=opts, optimizer=optimizer, warnings=warnings, history=history,
        wall_time_s=time.perf_counter() - started,
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        data_version=data.version, data_digest=data.digest, code_version=code_version(),
        weights=weights, start_objective=j_start, worse_than_start=worse,
        train_until=int(train_until), constants=constants, starts=start_table,
        step_check=checks[chosen])


def options_dict(options: CalibrationOptions) -> dict:
    """The options as plain data (for the output file)."""
    out = asdict(options)
    out["mutation"] = list(options.mutation)
    return out
