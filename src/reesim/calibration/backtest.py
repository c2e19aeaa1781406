"""Backtest: calibrate on the record up to a year, score the years after it out of sample.

``reesim validate --train-until YEAR`` fits the free parameters with
:func:`~reesim.calibration.calibrate` on observations up to ``YEAR`` only, runs the fitted
scenario over its own years (at least to 2026) and compares every metric in sample (the record
up to ``YEAR``) with the same metric out of sample (the record after ``YEAR``: volumes to 2025,
prices to 2020). Out of sample, the 2011 spike is not scored (its record lies in 2010-2015) and
the smoothness of monthly prices is measured over the months after ``YEAR``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import xarray as xr

from reesim.calibration.parameters import split_values
from reesim.scenario.schema import Scenario
from reesim.validation import OBJECTIVE_WEIGHTS, compute_metrics, objective
from reesim.validation.metrics import OBJECTIVE_TERMS
from reesim.validation.observations import RECORD_END_YEAR, Observations, load_observations

COLUMNS = ["series", "metric", "in_sample", "n_in_sample", "out_of_sample", "n_out_of_sample",
           "note"]
"""Columns of :func:`backtest_table` (``n``: observations, or months for smoothness)."""

REPORTED = (*OBJECTIVE_TERMS, "range_coverage", "direction_agreement", "return_autocorrelation")
"""Metrics shown in the backtest table (the objective's terms and the readable companions)."""


def fitted_scenario(scenario: Scenario, values: Mapping[str, float]) -> Scenario:
    """``scenario`` with fitted values set: parameters, and constants the fit freed."""
    params, constants = split_values(values)
    data = scenario.model_dump()
    data["parameters"].update(params)
    data["constants"].update(constants)
    return Scenario.model_validate(data)


def out_of_sample(obs: Observations, train_until: int) -> Observations:
    """The record after ``train_until`` only (prices by window start, volumes by year)."""
    after = obs.prices.period_start.dt.year > train_until
    share = None if obs.china_share is None else obs.china_share[obs.china_share.year
                                                                 > train_until]
    editions = None if obs.editions is None else obs.editions[obs.editions.year > train_until]
    return Observations(
        prices=obs.prices[after].reset_index(drop=True),
        production=obs.production[obs.production.year > train_until].reset_index(drop=True),
        exports=obs.exports[obs.exports.year > train_until].reset_index(drop=True),
        fx=obs.fx, china_share=share, editions=editions, end_year=obs.end_year,
        start_year=train_until + 1)


def backtest_table(ds: xr.Dataset, train_until: int,
                   weights: Mapping[str, float] = OBJECTIVE_WEIGHTS,
                   record: Observations | None = None,
                   inside: pd.DataFrame | None = None) -> pd.DataFrame:
    """In-sample vs out-of-sample metrics of a run (columns :data:`COLUMNS`).

    In sample: the record up to ``train_until`` (what a fit to that year saw). Out of sample:
    the record after it. The first row is the objective on each part (same weights; out of
    sample it has no spike term, so compare it with the in-sample objective only loosely);
    then every series' log RMSE, range distance and coverage, direction agreement and
    monthly-return autocorrelation where it has observations. ``inside`` are the in-sample
    metrics if the caller has them already (:func:`~reesim.validation.compute_metrics` on the
    record up to ``train_until``).
    """
    record = record if record is not None else load_observations(RECORD_END_YEAR)
    if inside is None:
        inside = compute_metrics(ds, load_observations(train_until))
    outside = compute_metrics(ds, out_of_sample(record, train_until))
    key = ["series", "metric"]
    merged = inside[[*key, "value", "n", "note"]].merge(
        outside[[*key, "value", "n", "note"]], on=key, how="outer", suffixes=("_in", "_out"))
    merged = merged[merged.metric.isin(REPORTED)
                    & ((merged.n_in.fillna(0) > 0) | (merged.n_out.fillna(0) > 0))]
    rows = [{"series": "objective", "metric": "weighted misfit",
             "in_sample": objective(inside, weights), "n_in_sample": math.nan,
             "out_of_sample": objective(outside, weights), "n_out_of_sample": math.nan,
             "note": f"the calibration objective on the record up to {train_until} and after "
                     "it (out of sample: no 2011 spike term)"}]
    for rec in merged.itertuples():
        n_in = 0 if rec.n_in != rec.n_in else int(rec.n_in)
        n_out = 0 if rec.n_out != rec.n_out else int(rec.n_out)
        rows.append({"series": rec.series, "metric": rec.metric,
                     "in_sample": rec.value_in if n_in else math.nan, "n_in_sample": n_in,
                     "out_of_sample": rec.value_out if n_out else math.nan,
                     "n_out_of_sample": n_out,
                     "note": _both_notes(rec.note_in if n_in else "",
                                         rec.note_out if n_out else "")})
    return pd.DataFrame(rows, columns=COLUMNS)


def _both_notes(inside: object, outside: object) -> str:
    """One note for a row of both samples: each side's note (its count and period), labelled.

    A metric's note states what it was computed on ("over 10 point observations", "2001-01..
    2015-12"); the in-sample note alone described the out-of-sample column wrongly (China's Dy:
    "over 0 point observations" beside two out of sample).
    """
    inside = "" if inside != inside or not inside else str(inside)       # NaN or empty
    outside = "" if outside != outside or not outside else str(outside)
    if inside and outside and inside != outside:
        return f"in sample: {inside}; out of sample: {outside}"
    return inside or (f"out of sample: {outside}" if outside else "")
