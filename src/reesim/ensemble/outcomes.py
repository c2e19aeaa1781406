"""Named scalar outcomes computed from a result dataset: one value per member.

Every outcome is an :class:`~reesim.ensemble.xlrm.Indicator` (select, combine over the other
dimensions, reduce over years) or a ratio of two. All members are computed at once with NumPy
reductions over each member's own values (bit-identical whatever the chunking); nothing loops
over members.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from reesim.ensemble.xlrm import DEFAULT_OUTCOMES, Indicator, Outcome
from reesim.errors import InputError
from reesim.scenario.schema import Scenario

log = logging.getLogger("reesim.ensemble.outcomes")


def scenario_outcomes(scenario: Scenario) -> dict[str, Outcome]:
    """The outcomes of ``scenario``: the standard ones its run window covers, then its own.

    A standard outcome whose years fall outside the run is left out (logged); one the scenario
    declares itself must lie inside the run, else :class:`InputError`.
    """
    chosen: dict[str, Outcome] = {}
    for name, spec in DEFAULT_OUTCOMES.items():
        outcome = Outcome.model_validate(spec)
        if name not in scenario.outcomes and _covered(outcome, scenario):
            chosen[name] = outcome
        elif name not in scenario.outcomes:
            log.info("standard outcome %s left out: years %s outside the run %d-%d", name,
                     outcome.years, scenario.start_year, scenario.end_year)
    for name, outcome in scenario.outcomes.items():
        if not _covered(outcome, scenario):
            raise InputError(f"outcome {name!r} needs years {outcome.years} but the run covers "
                             f"{scenario.start_year}-{scenario.end_year}",
                             field=f"outcomes.{name}.years")
        chosen[name] = outcome
    return chosen


def outcome_variables(outcomes: Mapping[str, Outcome]) -> set[str]:
    """The recorded variables the outcomes read (their own and their denominators')."""
    return {spec.variable for outcome in outcomes.values()
            for spec in (outcome, outcome.denominator) if spec is not None}


def _covered(outcome: Outcome, scenario: Scenario) -> bool:
    specs = [outcome] + ([outcome.denominator] if outcome.denominator else [])
    return all(scenario.start_year <= s.year_range()[0] and s.year_range()[1] <= scenario.end_year
               for s in specs)


def _indicator(ds: xr.Dataset, spec: Indicator, name: str) -> np.ndarray:
    """(members,) values of one indicator."""
    if spec.variable not in ds.data_vars:
        raise InputError(f"outcome {name!r}: unknown variable {spec.variable!r}",
                         field=f"outcomes.{name}.variable",
                         allowed=", ".join(v for v in ds.data_vars if "time" in ds[v].dims))
    da = ds[spec.variable]
    if "time" not in da.dims or "member" not in da.dims:
        raise InputError(f"outcome {name!r}: variable {spec.variable!r} has no time and member "
                         "dimensions", field=f"outcomes.{name}.variable")
    for key, wanted in spec.select.items():
        labels = wanted if isinstance(wanted, list) else [wanted]
        if key in da.dims:
            coord = da[key]
        elif key in ds.coords and ds[key].ndim == 1 and ds[key].dims[0] in da.dims:
            coord = ds[key]
        else:
            allowed = [d for d in da.dims if d not in ("member", "time")]
            allowed += [c for c in ds.coords if ds[c].ndim == 1 and ds[c].dims[0] in allowed
                        and c not in allowed]
            raise InputError(f"outcome {name!r}: {spec.variable} cannot be selected by {key!r}",
                             field=f"outcomes.{name}.select", allowed=", ".join(allowed))
        mask = np.isin(coord.values.astype(str), [str(x) for x in labels])
        missing = sorted({str(x) for x in labels} - set(coord.values.astype(str)))
        if missing:
            raise InputError(f"outcome {name!r}: no {key} {', '.join(missing)}",
                             field=f"outcomes.{name}.select.{key}",
                             allowed=", ".join(dict.fromkeys(coord.values.astype(str))))
        da = da.isel({coord.dims[0]: mask})
    first, last = spec.year_range()
    years = ds["year"].values
    in_window = (years >= first) & (years <= last)
    if not in_window.any():
        raise InputError(f"outcome {name!r}: years {spec.years} are outside the run "
                         f"({years.min()}-{years.max()})", field=f"outcomes.{name}.years")
    da = da.isel(time=in_window)
    others = [d for d in da.dims if d not in ("member", "time")]
    # (member, time, other cells): each member's values contiguous, in the same order whatever
    # members share the batch, so every sum below adds them in the same order
    values = np.ascontiguousarray(da.transpose("member", "time", *others).values, dtype=float)
    values = values.reshape(values.shape[0], values.shape[1], -1)
    series = _reduce_rows(values, spec.combine) if others else values[:, :, 0]
    if spec.over_time == "integral":
        weights = ds["period_years"].isel(time=in_window).values.astype(float)
        return _reduce_rows(series * weights, "sum")
    if spec.over_time == "last":
        return series[:, -1].copy()
    return _reduce_rows(series, spec.over_time)


def _reduce_rows(values: np.ndarray, how: str) -> np.ndarray:
    """Reduce the last axis of ``values`` row by row, skipping NaN as xarray does.

    A C-contiguous last axis is summed by itself for each row (NumPy's pairwise sum), so a
    member's outcome is bit-identical whatever members share its chunk: reducing several axes
    of a (time, member, ...) array at once summed in an order set by the batch's layout, and
    outcomes differed in the last bit between ``--chunk-size`` values.
    """
    reduce = {"sum": np.nansum, "mean": np.nanmean, "max": np.nanmax, "min": np.nanmin}[how]
    with warnings.catch_warnings():      # all-NaN rows give NaN (mean, max, min), as in xarray
        warnings.simplefilter("ignore", RuntimeWarning)
        return reduce(np.ascontiguousarray(values), axis=-1)


def compute_outcomes(ds: xr.Dataset, outcomes: Mapping[str, Outcome]) -> pd.DataFrame:
    """A table of outcomes: one row per member (index ``member``), one column per outcome."""
    columns = {}
    for name, spec in outcomes.items():
        values = _indicator(ds, spec, name)
        if spec.denominator is not None:
            below = _indicator(ds, spec.denominator, f"{name}.denominator")
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.where(below != 0.0, values / below, np.nan)
        columns[name] = values
    return pd.DataFrame(columns, index=pd.Index(ds["member"].values, name="member"))
