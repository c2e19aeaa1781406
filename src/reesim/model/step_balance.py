"""Every stage's mass balance checked on each month's own values, in one compiled pass.

A run that keeps monthly records of every variable is checked afterwards on its records
(:func:`reesim.balance.assert_balanced`). A run that keeps fewer (annual records, or only the
variables an ensemble's outcomes need) is checked here instead, month by month as the step
returns, so that what is not recorded is still balanced: per member, stage and kept cell
(element, or producer, region, application...), inflows x dt = outflows x dt + stock change,
within :data:`reesim.balance.RTOL` of the terms' size plus :data:`reesim.balance.ATOL_T`. The
stage table is :data:`reesim.model.variables.STAGES`, the same as the records' check; a broken
balance raises :class:`~reesim.errors.BalanceError` naming stage, member, cell and month.

Why compiled: the stage table adds some 8,400 values per member a month (4,700 recorded
values, several in two stages, and the stocks at both ends of the month); numpy's axis sums
over (member, ...) arrays cost about 3 us per member-month done once a year (the check this
replaced) and would cost twelve times that monthly, while one compiled pass that adds each
term's contiguous runs into its stage cells costs 11-13 us per member-month (2-core VM,
2026-12-05; about twice that when both cores stream memory).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numba
import numpy as np

from reesim.balance import ATOL_T, RTOL, describe_break
from reesim.errors import BalanceError
from reesim.model.variables import STAGES, VARIABLES

STOCK_NAMES: tuple[str, ...] = tuple(dict.fromkeys(s.stock for s in STAGES if s.stock))
"""The stocks whose month-on-month change enters a balance."""
FLOW_NAMES: tuple[str, ...] = tuple(dict.fromkeys(
    n for s in STAGES for n in (*s.inflows, *s.outflows)))
"""The flows (t REO/yr) the balances add up."""
INFLOW, OUTFLOW, CHANGE = 0, 1, 2


class StepBalance:
    """The stage table laid out for :func:`_failures`: where each term's values add up.

    Built from the shapes of one month's values ((member, *dims) arrays): each stage's kept
    cells get consecutive indices, and each term (a flow as inflow or outflow, a stock's change)
    is read as blocks (before, kept, between, kept, after) of its per-member values, so that it
    adds into its cells by contiguous runs (:func:`_blocks`).
    """

    def __init__(self, shapes: Mapping[str, tuple[int, ...]]) -> None:
        position = {name: i for i, name in enumerate((*FLOW_NAMES, *STOCK_NAMES))}
        before = {name: len(position) + i for i, name in enumerate(STOCK_NAMES)}
        terms: list[list[int]] = []
        self.keep_shape: list[tuple[int, ...]] = []
        bounds = [0]
        for stage in STAGES:
            keep_shape = _keep_shape(stage.keep, {n: shapes[n] for n in _names(stage)})
            self.keep_shape.append(keep_shape)
            cells = bounds[-1]
            roles = [(n, position[n], INFLOW, 1) for n in stage.inflows]
            roles += [(n, position[n], OUTFLOW, 1) for n in stage.outflows]
            if stage.stock:               # the change: the stock at the end less at the start
                roles += [(stage.stock, position[stage.stock], CHANGE, 1),
                          (stage.stock, before[stage.stock], CHANGE, -1)]
            for name, array, role, sign in roles:
                blocks = _blocks(VARIABLES[name].dims, shapes[name][1:], stage.keep)
                terms.append([array, role, sign, cells, *blocks])
            bounds.append(cells + int(np.prod(keep_shape)))
        self.terms = np.array(terms, np.int64)
        self.bounds = np.array(bounds, np.int64)     # stage s owns cells bounds[s]:bounds[s+1]
        self.unbounded = np.array([s.unbounded_stock for s in STAGES])

    def failures(self, values: Mapping[str, np.ndarray], before: Mapping[str, np.ndarray],
                 dt_yr: float) -> tuple[np.ndarray | None, np.ndarray]:
        """Each row's first failing cell per stage, (rows, stages) (-1: none), and its residual.

        ``values`` and ``before`` as :meth:`check` takes them (a row is a member, or a month of
        a member in records laid out as rows); ``None`` in place of the cells when every stage
        closes in every row.
        """
        members = len(values[FLOW_NAMES[0]])
        arrays = [values[n].reshape(members, -1) for n in (*FLOW_NAMES, *STOCK_NAMES)] + [
            before[n].reshape(members, -1) for n in STOCK_NAMES]
        fail = np.full((members, len(STAGES)), -1, np.int64)
        residual = np.zeros((members, len(STAGES)))
        args = (self.terms, self.bounds, self.unbounded, float(dt_yr), RTOL, ATOL_T, fail,
                residual)
        try:
            failed = _failures(tuple(arrays), *args)
        except numba.core.errors.TypingError:
            # an array that is not C-ordered float64 makes the tuple mixed; checking every
            # array's layout first would cost more than the check (35 arrays a month)
            failed = _failures(tuple(np.ascontiguousarray(a, dtype=float) for a in arrays), *args)
        return (fail if failed else None), residual

    def check(self, values: Mapping[str, np.ndarray], before: Mapping[str, np.ndarray],
              dt_yr: float, when: str, labels: Mapping[str, Sequence[str]],
              first_member: int = 0) -> None:
        """Raise :class:`BalanceError` if a stage fails to close on one month's values.

        ``values`` are the month's (member, ...) arrays (flows in t/yr, stocks at the month's
        end), ``before`` the stocks at its start; ``first_member`` the ensemble index of the
        arrays' first member. The error names the first failing stage (in the table's order),
        its lowest member and the first cell there.
        """
        fail, residual = self.failures(values, before, dt_yr)
        if fail is not None:
            stage, _, m, cell, res = self.first_break(fail, residual, len(fail))
            raise BalanceError(describe_break(stage, res, [m + first_member, *cell], when,
                                              labels))

    def first_break(self, fail: np.ndarray, residual: np.ndarray, members: int
                    ) -> tuple[object, int, int, tuple[int, ...], float]:
        """The break an error names: stage, month, member, cell and residual (t REO).

        ``fail`` and ``residual`` are :meth:`failures`' arrays of rows laid out as months of
        ``members`` members (row ``month * members + member``). It is the first failing stage
        in the table's order, its lowest failing member, that member's first failing month and
        the cell (indices into the stage's kept dims).
        """
        for s, stage in enumerate(STAGES):
            rows = np.flatnonzero(fail[:, s] >= 0)
            if len(rows):
                month, member = np.divmod(rows, members)
                row = int(rows[np.lexsort((month, member))[0]])
                cell = np.unravel_index(int(fail[row, s]), self.keep_shape[s])
                return (stage, row // members, row % members, tuple(int(c) for c in cell),
                        float(residual[row, s]))
        raise ValueError("no failing cell")


def _names(stage) -> tuple[str, ...]:
    return (*stage.inflows, *stage.outflows, *((stage.stock,) if stage.stock else ()))


def _keep_shape(keep: tuple[str, ...], shapes: Mapping[str, tuple[int, ...]]) -> tuple[int, ...]:
    """Sizes of a stage's kept dims, read from its terms' shapes (which must agree)."""
    sizes: dict[str, int] = {}
    for name, shape in shapes.items():
        for dim, size in zip(VARIABLES[name].dims, shape[1:], strict=True):
            if dim in keep and sizes.setdefault(dim, size) != size:
                raise ValueError(f"{name}: {dim} has {size} entries, other terms {sizes[dim]}")
    return tuple(sizes[d] for d in keep)


def _blocks(dims: tuple[str, ...], sizes: tuple[int, ...], keep: tuple[str, ...]
            ) -> tuple[int, int, int, int, int]:
    """A variable's per-member values as (before, kept1, between, kept2, after) block sizes.

    ``keep`` must be the variable's kept dims in order, in at most two contiguous runs: the
    summed dims lie before, between or after them (``magnet_trade``'s (market, destination,
    element) kept as (market, element) sums the middle). The value at (a, k1, s, k2, b) adds
    into cell ``k1 * kept2 + k2``.
    """
    kept = [i for i, d in enumerate(dims) if d in keep]
    if [dims[i] for i in kept] != list(keep) or not kept:
        raise ValueError(f"dims {dims} do not reduce to {keep}")
    gaps = [i for i in range(kept[0], kept[-1] + 1) if i not in kept]
    if gaps and gaps != list(range(gaps[0], gaps[-1] + 1)):
        raise ValueError(f"dims {dims}: the kept {keep} are in more than two runs")
    size = lambda lo, hi: int(np.prod(sizes[lo:hi], dtype=np.int64))   # noqa: E731
    before, after = size(0, kept[0]), size(kept[-1] + 1, len(dims))
    if not gaps:                                    # one run: the cells are contiguous
        return before, 1, 1, size(kept[0], kept[-1] + 1), after
    return (before, size(kept[0], gaps[0]), size(gaps[0], gaps[-1] + 1),
            size(gaps[-1] + 1, kept[-1] + 1), after)


@numba.njit(cache=True, error_model="numpy")
def _failures(arrays, terms: np.ndarray, bounds: np.ndarray, unbounded: np.ndarray, dt: float,
              rtol: float, atol: float, fail: np.ndarray, residual: np.ndarray) -> bool:
    """Each member's stage residuals; the first failing cell of each (member, stage) in ``fail``.

    ``arrays`` is a tuple of (M, n) arrays: the flows (t/yr), the stocks at the month's end and
    at its start (t). Each row of ``terms`` (array, role, sign, first cell, before, kept1,
    between, kept2, after) adds (sign +1) or subtracts (-1) an array's values into its stage's
    cells as inflow, outflow or stock change: the value at block position (a, k1, s, k2, b)
    into cell ``first + k1 * kept2 + k2``; stage ``s`` owns cells ``bounds[s]:bounds[s + 1]``.
    A cell fails
    unless ``|in - out - change| <= rtol * (|in| + |out| + |change|) + atol`` with flows times
    ``dt`` (NaN fails); a stage with a stock of unknown size (``unbounded``) skips cells whose
    change is infinite or undefined. Writes the failing cell's index within its stage and its
    residual (t REO); returns whether any failed.
    """
    members, stages = fail.shape
    acc = np.empty((3, bounds[-1]))
    inflows, outflows, changes = acc[INFLOW], acc[OUTFLOW], acc[CHANGE]
    failed = False
    for m in range(members):
        acc[...] = 0.0
        for j in range(terms.shape[0]):
            values = arrays[terms[j, 0]][m]
            sums = acc[terms[j, 1]]
            sign = terms[j, 2]
            first, n_a, n_k1, n_s, n_k2, n_b = (terms[j, 3], terms[j, 4], terms[j, 5],
                                                terms[j, 6], terms[j, 7], terms[j, 8])
            i = 0
            for _ in range(n_a):
                for k1 in range(n_k1):
                    cells_k1 = sums[first + k1 * n_k2:first + (k1 + 1) * n_k2]
                    for _ in range(n_s):
                        block = values[i:i + n_k2 * n_b]
                        if n_b == 1 and sign > 0:   # contiguous runs: a vectorizable add
                            for k2 in range(n_k2):
                                cells_k1[k2] += block[k2]
                        elif n_b == 1:
                            for k2 in range(n_k2):
                                cells_k1[k2] -= block[k2]
                        else:
                            for k2 in range(n_k2):
                                for b in range(n_b):
                                    cells_k1[k2] += sign * block[k2 * n_b + b]
                        i += n_k2 * n_b
        for s in range(stages):
            start = bounds[s]
            for c in range(start, bounds[s + 1]):
                inflow, outflow, change = inflows[c] * dt, outflows[c] * dt, changes[c]
                res = inflow - outflow - change
                if abs(res) <= rtol * (abs(inflow) + abs(outflow) + abs(change)) + atol:
                    continue
                if unbounded[s] and (np.isinf(change) or (np.isnan(change)
                                                          and not np.isnan(inflow - outflow))):
                    continue
                if fail[m, s] < 0:
                    fail[m, s] = c - start
                    residual[m, s] = res
                failed = True
    return failed
