"""Mass balance of every stage: inflows = outflows + stock change, per element and step.

The same stage table (:data:`reesim.model.variables.STAGES`) is checked inside the time loop on
each step's arrays and afterwards on a whole result (:func:`assert_balanced`), so a recorded
dataset that does not close is caught as surely as a step that does not.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from reesim.errors import BalanceError
from reesim.model.variables import STAGES, VARIABLES, Stage

RTOL = 1e-8
ATOL_T = 1e-6


@functools.cache
def _axes(name: str, lead: int, keep: tuple[str, ...]) -> tuple[int, ...]:
    """Axes to sum so that a variable with ``lead`` leading axes reduces to (lead..., *keep)."""
    dims = ("_",) * lead + VARIABLES[name].dims
    rest = [d for d in dims[lead:] if d in keep]
    if rest != list(keep):
        raise ValueError(f"{name} has dims {dims[lead:]}, which do not reduce to {keep}")
    return tuple(i for i, d in enumerate(dims) if i >= lead and d not in keep)


def stage_residual(stage: Stage, values: Mapping[str, np.ndarray],
                   stock_change: Mapping[str, np.ndarray], dt_yr: float | np.ndarray,
                   lead: int) -> tuple[np.ndarray, np.ndarray]:
    """Residual (t REO) and scale of one stage; arrays have ``lead`` leading axes then var dims."""

    def term(name: str) -> np.ndarray:
        axes = _axes(name, lead, stage.keep)
        return values[name].sum(axis=axes) if axes else values[name]

    dt = np.asarray(dt_yr, dtype=float).reshape(np.shape(dt_yr) + (1,) * len(stage.keep))
    inflow = sum((term(n) for n in stage.inflows), start=np.zeros(())) * dt
    outflow = sum((term(n) for n in stage.outflows), start=np.zeros(())) * dt
    inflow, outflow = np.broadcast_arrays(inflow, outflow)
    residual = inflow - outflow
    scale = np.abs(inflow) + np.abs(outflow)
    if stage.stock is not None:
        axes = _axes(stage.stock, lead, stage.keep)
        change = stock_change[stage.stock]
        change = change.sum(axis=axes) if axes else change
        residual = residual - change
        scale = scale + np.abs(change)
        if stage.unbounded_stock:          # a reserve of unknown size (inf): nothing to check
            unknown = np.isinf(change) | (np.isnan(change) & ~np.isnan(inflow - outflow))
            residual = np.where(unknown, 0.0, residual)
            scale = np.where(unknown, 0.0, scale)
    return residual, scale


def check_step(values: Mapping[str, np.ndarray], stock_change: Mapping[str, np.ndarray],
               dt_yr: float, when: str, labels: Mapping[str, Sequence[str]],
               first_member: int = 0) -> None:
    """Raise :class:`BalanceError` if a stage fails to close on one step's (member, ...) arrays.

    ``first_member`` is the ensemble index of the arrays' first member (the message names it).
    """
    for stage in STAGES:
        residual, scale = stage_residual(stage, values, stock_change, dt_yr, lead=1)
        if np.all(np.abs(residual) <= RTOL * scale + ATOL_T):  # NaN fails this
            continue
        index = np.argwhere(~(np.abs(residual) <= RTOL * scale + ATOL_T))[0]
        value = float(residual[tuple(index)])
        index[0] += first_member
        raise BalanceError(describe_break(stage, value, index, when, labels))


def describe_break(stage: Stage, value: float, index: Sequence[int], when: str,
                   labels: Mapping[str, Sequence[str]]) -> str:
    """Message naming stage, member, the kept labels (element, ...) and time of a residual.

    The one wording of a broken balance, whether found on the records or on a month's values
    (:mod:`reesim.model.step_balance`).
    """
    idx = [int(i) for i in index]
    where = [f"member {idx[0]}"]
    for k, i in zip(stage.keep, idx[-len(stage.keep):], strict=True):
        where.append(f"{k} {labels[k][i] if k in labels else i}")
    return (f"mass balance broken at stage {stage.name!r}, {', '.join(where)}, {when}: "
            f"residual {value:.6g} t REO (inflows - outflows - stock change)")


def _dataset_residuals(dataset: xr.Dataset):
    """Yield (stage, residual, scale) over a whole result; arrays are (member, time, *keep)."""
    values = {n: dataset[n].values for n in VARIABLES if n in dataset}
    dt = dataset["period_years"].values[None, :]
    for stage in STAGES:
        stock_change = {}
        if stage.stock is not None:
            stock = values[stage.stock]
            initial = dataset[f"{stage.stock}_initial"].values[:, None]
            with np.errstate(invalid="ignore"):     # inf - inf: reserves of unknown size
                stock_change[stage.stock] = np.diff(np.concatenate([initial, stock], axis=1),
                                                    axis=1)
        residual, scale = stage_residual(stage, values, stock_change, dt, lead=2)
        yield stage, residual, scale


def balance_report(dataset: xr.Dataset) -> dict[str, xr.DataArray]:
    """Residual of every stage over a whole result, dims (member, time, *keep), in t REO."""
    out = {}
    for stage, residual, _ in _dataset_residuals(dataset):
        coords = {"member": dataset.member, "time": dataset.time}
        coords.update({k: dataset[k] for k in stage.keep})
        out[stage.name] = xr.DataArray(residual, dims=("member", "time", *stage.keep),
                                       coords=coords, attrs={"units": "t REO"})
    return out


def assert_balanced(result: object, rtol: float = RTOL, atol: float = ATOL_T) -> None:
    """Check every stage of a result (or its dataset); raise :class:`BalanceError` on failure.

    The error names the stage, the element (and producer, region or application), the time and
    the member where the balance first fails.
    """
    dataset = getattr(result, "dataset", result)
    if not isinstance(dataset, xr.Dataset):
        raise TypeError("assert_balanced needs a reesim Result or its xarray Dataset")
    for stage, residual, scale in _dataset_residuals(dataset):
        bad = ~(np.abs(residual) <= rtol * scale + atol)
        if bad.any():
            index = np.argwhere(bad)[0]
            labels = {k: [str(v) for v in dataset[k].values] for k in stage.keep}
            when = f"time {str(dataset.time.values[index[1]])[:7]}"
            raise BalanceError(describe_break(stage, float(residual[tuple(index)]),
                                              np.delete(index, 1), when, labels))
