"""The calibration file: fitted ``parameters`` for scenarios, and the ``fit`` that produced them.

A scenario uses the file through a top-level ``calibration: <file>`` key (the loader merges the
file's ``parameters``, and its ``constants`` when the fit freed a structural constant, under the
scenario's own); everything under ``fit`` is provenance.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

import yaml

from reesim.calibration.fit import DEPENDS_THRESHOLD, CalibrationResult, options_dict
from reesim.calibration.parameters import split_values
from reesim.calibration.step_check import StepCheck
from reesim.output import write_file
from reesim.validation import OBJECTIVE_WEIGHTS, objective
from reesim.validation.observations import PRICE_RECORD_END_YEAR, TRAIN_END_YEAR

HEADER = """\
# Written by `{command}` on {created} (UTC).
# Do not edit by hand: rebuild it with that command, run from the repository root of a clean
# checkout (scripts/rebuild-calibrations runs it). A scenario reads the `parameters` below through
# its top-level `calibration:` key (a scenario's own `parameters` still override them); `fit`
# records how they were obtained (data up to {end} only) and is not read by the model.
"""


def _num(value: float, digits: int = 4) -> float | None:
    """A float rounded to ``digits`` significant digits for the file (None for NaN)."""
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return value
    return float(f"{value:.{digits}g}")


def _metrics_table(result: CalibrationResult) -> dict:
    table: dict[str, dict[str, float | None]] = {}
    for rec in result.metrics.itertuples():
        entry = table.setdefault(str(rec.series), {})
        entry[str(rec.metric)] = _num(rec.value)
        if rec.observed == rec.observed:  # observed value of the global metrics
            entry[f"{rec.metric}_observed"] = _num(rec.observed)
    return table


def _starts_table(result: CalibrationResult) -> dict:
    """The searches of a multi-start fit: objective, basin, values and behaviour patterns."""
    from reesim.calibration.fit import BASIN_DISTANCE
    from reesim.validation.observations import load_observations
    from reesim.validation.patterns import PATTERNS, recorded_patterns

    record = recorded_patterns(load_observations())
    return {
        "method": (f"{len(result.starts)} independent differential-evolution searches (seeds "
                   f"{result.seed}..{result.seed + len(result.starts) - 1}; the first starts "
                   "from the prior midpoint, the scenario's values and a Latin hypercube, the "
                   "others from a Latin hypercube alone), each polished; the lowest objective "
                   "converging between n and 2n market sub-steps (n the scenario's) is the fit "
                   "(step_check). "
                   "Searches whose end points differ by at most "
                   f"{BASIN_DISTANCE:g} in every unit-cube coordinate share a basin. Patterns: "
                   "the scenario's whole run at each search's values"),
        "patterns": {name: {"what": what, "record": _num(record[name])}
                     for name, what in PATTERNS.items()},
        "searches": [{
            "seed": start.seed,
            "objective": _num(start.objective, 6),
            "basin": start.basin,
            "distance_to_fit": _num(start.distance_to_fit, 3),
            "generations": start.generations,
            "patterns": {k: _num(v) for k, v in start.patterns.items()},
            **({"step_check": _step_dict(start.step)} if start.step is not None else {}),
            "parameters": dict(start.parameters),
        } for start in result.starts],
    }


def _step_dict(check: StepCheck) -> dict:
    """A :class:`StepCheck` as plain data."""
    from reesim.calibration.step_check import (
        STEP_CHECK_END_YEAR,
        STEP_PATH_TOLERANCE,
        STEP_PRICE_TOLERANCE,
        STEP_VOLUME_TOLERANCE,
    )
    return {"method": (f"{check.substeps} against {2 * check.substeps} market sub-steps a month, "
                       f"annual paths to "
                       f"{STEP_CHECK_END_YEAR}: largest relative change of world mine output, "
                       "separation output and demand in any year, median absolute log change of "
                       "the annual prices (Sc excluded), largest absolute log change of an "
                       "observed element's annual price"),
            "volume_gap": _num(check.volume_gap, 4), "price_gap": _num(check.price_gap, 4),
            "path_gap": _num(check.path_gap, 4), "path_at": check.path_at,
            "allowed": {"volume_gap": STEP_VOLUME_TOLERANCE, "price_gap": STEP_PRICE_TOLERANCE,
                        "path_gap": STEP_PATH_TOLERANCE},
            "converged": check.converged}


def calibration_document(result: CalibrationResult) -> dict:
    """The file's content as plain data: ``parameters`` and ``fit``."""
    definition = " ".join((objective.__doc__ or "").split("\n\n")[0].split())
    fit = {
        "created_utc": result.created_utc,
        "scenario": result.scenario,
        "scenario_hash": result.scenario_hash,
        "data_version": result.data_version,
        "data_digest": result.data_digest,
        "code_version": result.code_version,
        "seed": result.seed,
        "mode": result.mode,
        "window": result.window,
        "train_until": result.train_until,
        "record_used": (f"volumes (world, China and country mine output, China's exports and "
                        f"their ratio to the export quota) to {result.train_until}; prices to "
                        f"{min(result.train_until, PRICE_RECORD_END_YEAR)} (the last year with "
                        "market prices in the record)"),
        "wall_time_s": round(result.wall_time_s, 1),
        "warnings": list(result.warnings),
        "optimizer": {**result.optimizer, "options": options_dict(result.options)},
        "objective": {
            "definition": definition + " (reesim.validation.metrics.objective; the scenario's "
                          f"run to {result.train_until + 1}, only observations up to "
                          f"{result.train_until} enter)",
            "weights": dict(result.weights),
            "value": _num(result.objective, 6),
            "at_prior_midpoint": _num(result.objective_at_midpoint, 6),
            "at_scenario_values": _num(result.objective_at_scenario, 6),
            "at_start_in_own_run": _num(result.start_objective, 6),
            "best_by_generation": [_num(v, 6) for v in result.history],
        },
        **({"step_check": _step_dict(result.step_check)}
           if result.step_check is not None else {}),
        "metrics": _metrics_table(result),
        **({"starts": _starts_table(result)} if result.starts else {}),
        "priors": {row.name: {"low": row.low, "high": row.high, "scale": row.scale,
                              "kind": row.kind, "reason": row.reason} for row in result.table},
        "constants_the_fit_depends_on": {
            "method": ("every member-level structural constant not fitted, set to each end of "
                       "its declared plausible range with the fitted values held (one batched "
                       "run); listed if the objective moves by more than "
                       f"{DEPENDS_THRESHOLD:.0%}"),
            **{name: {k: (_num(v, 6) if isinstance(v, float) else v) for k, v in c.items()}
               for name, c in result.constants.items()},
        } if result.options.constant_sensitivity else "not measured (quick mode)",
        "identification": {
            "method": (f"one-parameter profiles at the optimum, {result.options.profile_points} "
                       "grid points across each prior (evenly in its scale), one batched run; "
                       "curvature = d2J/du2 at the optimum with u the unit-cube coordinate of "
                       f"the prior (finite differences, step {result.options.fd_step}); "
                       "identified range = values whose objective is within "
                       f"+{result.options.identified_tolerance:.0%} of the optimum's; weakly "
                       f"identified if it spans >= {result.options.weak_fraction:.0%} of the "
                       "prior or another part of the prior is also within it"),
            **{row.name: {
                "value": _num(row.value),
                "curvature": _num(row.curvature),
                "identified_low": _num(row.low),
                "identified_high": _num(row.high),
                "fraction_of_prior": _num(row.fraction_of_prior, 3),
                "weakly_identified": row.weakly_identified,
                "status": row.status,
                "profile": {"values": [_num(v) for v in row.profile_values],
                            "objective": [_num(v, 6) for v in row.profile_objective]},
                **({"note": row.note} if row.note else {}),
            } for row in result.identification},
        },
    }
    params, constants = split_values(result.parameters)
    return {"parameters": params, **({"constants": constants} if constants else {}), "fit": fit}


def calibration_text(result: CalibrationResult, command: str | None = None) -> str:
    """The calibration file's text: the header (with the command that rebuilds it) and YAML."""
    header = HEADER.format(command=command or default_command(result),
                           created=result.created_utc, end=result.window.split("..")[-1])
    body = yaml.safe_dump(calibration_document(result), sort_keys=False, allow_unicode=True,
                          width=100)
    return header + body


def default_command(result: CalibrationResult) -> str:
    """The ``reesim calibrate`` command line that reproduces ``result`` (without ``--out``)."""
    quick = ["--quick"] if result.mode == "quick" else []
    weights = [w for k, v in result.weights.items() if OBJECTIVE_WEIGHTS.get(k) != v
               for w in ("--weight", f"{k}={v:g}")]
    train = ([] if result.train_until == TRAIN_END_YEAR
             else ["--train-until", str(result.train_until)])
    return shlex.join(["reesim", "calibrate", result.scenario, "--seed", str(result.seed),
                       *train, *quick, *weights])


def write_calibration(result: CalibrationResult, path: str | Path, overwrite: bool = False,
                      command: str | None = None) -> Path:
    """Write the calibration file to ``path`` atomically (a temporary file, then a rename).

    An existing file is replaced only if reesim wrote it and ``overwrite`` is set
    (:func:`reesim.output.check_file`). ``command`` is the command line recorded in the header.
    """
    return write_file(path, calibration_text(result, command), overwrite=overwrite)
