"""The calibration file: fitted ``parameters`` for scenarios, and the ``fit`` that produced them.

A scenario uses the file through a top-level ``calibration: <file>`` key (the loader merges the
file's ``parameters`` under the scenario's own); everything under ``fit`` is provenance.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import yaml

from reesim.calibration.fit import CalibrationResult, options_dict
from reesim.validation import OBJECTIVE_WEIGHTS, objective

HEADER = """\
# Written by `reesim calibrate {scenario} --seed {seed}{quick}` on {created} (UTC).
# Do not edit by hand: re-run the command. The `baotou` scenario reads the `parameters` below
# through its top-level `calibration:` key (a scenario's own `parameters` still override them);
# `fit` records how they were obtained (data up to {end} only) and is not read by the model.
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
        "wall_time_s": round(result.wall_time_s, 1),
        "warnings": list(result.warnings),
        "optimizer": {**result.optimizer, "options": options_dict(result.options)},
        "objective": {
            "definition": definition + " (reesim.validation.metrics.objective; the scenario's "
                          "run to 2016, only observations up to 2015 enter)",
            "weights": dict(OBJECTIVE_WEIGHTS),
            "value": _num(result.objective, 6),
            "at_prior_midpoint": _num(result.objective_at_midpoint, 6),
            "at_scenario_values": _num(result.objective_at_scenario, 6),
            "best_by_generation": [_num(v, 6) for v in result.history],
        },
        "metrics": _metrics_table(result),
        "priors": {row.name: {"low": row.low, "high": row.high, "scale": row.scale,
                              "reason": row.reason} for row in result.table},
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
                "profile": {"values": [_num(v) for v in row.profile_values],
                            "objective": [_num(v, 6) for v in row.profile_objective]},
                **({"note": row.note} if row.note else {}),
            } for row in result.identification},
        },
    }
    return {"parameters": dict(result.parameters), "fit": fit}


def write_calibration(result: CalibrationResult, path: str | Path) -> Path:
    """Write the calibration file to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = HEADER.format(scenario=result.scenario, seed=result.seed,
                           quick=" --quick" if result.mode == "quick" else "",
                           created=result.created_utc, end=result.window.split("..")[-1])
    body = yaml.safe_dump(calibration_document(result), sort_keys=False, allow_unicode=True,
                          width=100)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(header + body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
