"""The time loop: the one place where months advance, values are recorded and balances checked."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection

import numpy as np
import xarray as xr

from reesim.balance import describe_break
from reesim.dims import APPLICATIONS, DT_YR, ELEMENTS, HOLDERS, MARKETS, MONTHS_PER_YEAR
from reesim.errors import BalanceError, ModelError
from reesim.model.build import Model, member_slice
from reesim.model.state import initial_state
from reesim.model.step import step
from reesim.model.step_balance import FLOW_NAMES, STOCK_NAMES, StepBalance
from reesim.model.variables import STAGES_ENV, VARIABLES
from reesim.scenario.schema import REGIME_NAMES

MEMBER_CHUNK = 256
"""Most members stepped together. A month of 1,000 members reads and writes tens of MB of
arrays, more than the CPU caches hold, and its matrix products start BLAS threads; stepped in
near-equal chunks of at most 256 the same months take less time (measured 2026-12-03, baotou,
1,000 members, annual records, a busy 2-core machine: one batch 34.3-36.5 s wall and 41 s CPU;
chunks of 256 30.3-30.5 s and 28.5-28.8 s; of 334 29.9-31.5 s; of 192 31.8-32.2 s; of 128
31.4-32.4 s, where the step's per-call costs start to show). A chunk computes the same
numbers: every member is computed from its own values only (a one-member batch differs in
the last bit, see docs/model.md on ``**``, but a chunk of a larger run has 128 members or more)."""


RECORD_BLOCK_MEMBER_MONTHS = 3072
"""Member-months of monthly values a :class:`Recorder` holds before copying them (a year of
256 members; the whole 612-month run of up to five members; with every variable recorded,
about 32 KB a member-month, so at most about 100 MB held twice)."""


def member_chunks(members: int, largest: int) -> list[tuple[int, int]]:
    """(start, stop) of the fewest near-equal consecutive chunks of members, none above largest.

    1,000 members with ``largest`` 256 are four chunks of 250.
    """
    count = -(-members // largest)
    return list(itertools.pairwise(members * i // count for i in range(count + 1)))


class Recorder:
    """Preallocated time-major (time, member, ...) arrays, monthly or as annual means/year-ends.

    A monthly record keeps references to a block of months' values (each step returns new
    arrays) and copies the block into the records with one concatenation per variable when it
    fills or the members' run ends (:meth:`flush`): copying each of some fifty small arrays a
    month one by one cost a default run about a tenth of its time. An annual record of a flow,
    price or state is summed month by month in its year's row of the record (from 0.0, in
    month order, as a running sum) and divided by 12 when the year closes; a stock's record is
    its value at the year's end. Only the variables ``names`` are kept (all by default).
    :meth:`member_major` hands out (member, time, ...) views.
    """

    def __init__(self, model: Model, frequency: str,
                 names: Collection[str] | None = None) -> None:
        self.frequency = frequency
        self.members = model.members
        self.periods = model.timeline.steps if frequency == "month" else (
            model.timeline.steps // MONTHS_PER_YEAR)
        self.names = tuple(VARIABLES) if names is None else tuple(
            n for n in VARIABLES if n in names)
        self.arrays: dict[str, np.ndarray] = {}
        self._block: list[dict[str, np.ndarray]] = []     # monthly: months not yet copied
        self._block_at = (0, 0)                             # (first month, first member)

    @property
    def complete(self) -> bool:
        """Whether every variable is recorded."""
        return len(self.names) == len(VARIABLES)

    def add(self, t: int, values: dict[str, np.ndarray], start: int = 0) -> None:
        """Store month ``t``'s values of members ``start`` onwards (allocating on first use)."""
        if not self.arrays:
            for name in self.names:
                self.arrays[name] = np.empty((self.periods, self.members,
                                              *values[name].shape[1:]))
        count = len(next(iter(values.values())))
        rows = slice(start, start + count)
        if self.frequency == "month":
            if not self._block:
                self._block_at = (t, start)
            # keep only the recorded variables' arrays alive until the block is copied
            self._block.append(values if self.complete
                               else {name: values[name] for name in self.names})
            if len(self._block) * count >= RECORD_BLOCK_MEMBER_MONTHS:
                self.flush()
            return
        year, month = divmod(t, MONTHS_PER_YEAR)
        closes = month == MONTHS_PER_YEAR - 1
        for name in self.names:
            value = values[name]
            record = self.arrays[name][year, rows]
            if VARIABLES[name].kind == "stock":
                if closes:
                    record[...] = value
                continue
            if month == 0:
                np.add(value, 0.0, out=record)      # the sum's first term: 0.0 + value
            else:
                record += value
            if closes:
                record /= float(MONTHS_PER_YEAR)

    def flush(self) -> None:
        """Copy the monthly values held back by :meth:`add` into the records (no-op if none).

        The months must be consecutive and of the same members, as :func:`run` adds them.
        """
        if not self._block:
            return
        (t, start), block = self._block_at, self._block
        count = len(block[0][self.names[0]])
        months, members = slice(t, t + len(block)), slice(start, start + count)
        for name in self.names:
            record = self.arrays[name]
            parts = [values[name] for values in block]
            if count == self.members:                       # whole rows: write in place
                flat = record.reshape(-1, *record.shape[2:])       # a view: C-contiguous
                np.concatenate(parts, out=flat[t * count:(t + len(block)) * count])
            else:
                record[months, members] = np.concatenate(parts).reshape(
                    len(block), count, *record.shape[2:])
        self._block = []

    def member_major(self) -> dict[str, np.ndarray]:
        """The records as (member, time, ...) arrays."""
        return {name: np.moveaxis(array, 0, 1) for name, array in self.arrays.items()}


def run(model: Model, progress: Callable[[int], None] | None = None,
        record: Collection[str] | None = None) -> xr.Dataset:
    """Simulate every month of ``model``, check every stage's balance, label the result.

    Members are stepped in chunks of at most :data:`MEMBER_CHUNK` (:func:`member_chunks`),
    each through all months; ``progress`` is called with the months done averaged over
    members. ``record`` names the variables to keep (all by default; an ensemble keeps what
    its outcomes need). With monthly records of every variable the balances of all steps are
    checked in one vectorised pass over the recorded arrays, which hold exactly each step's
    values; otherwise (annual records, or fewer variables) each month's values are checked as
    the step returns them (:class:`~reesim.model.step_balance.StepBalance`), so what is not
    recorded balances too. Either way a broken balance raises :class:`BalanceError` naming
    stage, element, member and period, and no result is returned.
    """
    recorder = Recorder(model, model.scenario.output.frequency, record)
    chunks = member_chunks(model.members, MEMBER_CHUNK)
    initial: dict[str, list[np.ndarray]] = {}        # each stock's start values, by chunk
    checks_records = recorder.frequency == "month" and recorder.complete
    for start, stop in chunks:
        part = model if len(chunks) == 1 else member_slice(model, start, stop)
        report = None if progress is None else (
            lambda done, start=start, stop=stop: progress(
                (start * model.timeline.steps + done * (stop - start)) // model.members))
        for name, value in _run_members(part, recorder, start, report,
                                        not checks_records).items():
            initial.setdefault(name, []).append(value)
    _assert_no_nan(recorder, model)
    start = {name: np.concatenate(parts) if len(parts) > 1 else parts[0]
             for name, parts in initial.items()}
    if checks_records:
        _check_records(recorder, start, model)
    return _dataset(model, recorder, {name: value for name, value in start.items()
                                      if name.removesuffix("_initial") in recorder.names})


def _check_records(recorder: Recorder, initial: dict[str, np.ndarray], model: Model) -> None:
    """Every stage's balance on monthly records of every variable, in one compiled pass.

    Each month of each member is a row of :class:`~reesim.model.step_balance.StepBalance`'s
    check: its flows, its stocks at the month's end (the record) and at its start (the month
    before's record, or the run's start values ``<name>_initial``). The error names the first
    failing stage (the table's order), its lowest member, that member's first failing month
    and the cell, as :func:`reesim.balance.assert_balanced` does on a result, which this
    replaces inside the run (some 20 ms of a default run against about 5).
    """
    steps, members = recorder.periods, recorder.members
    arrays = recorder.arrays
    values = {name: arrays[name].reshape(steps * members, *arrays[name].shape[2:])
              for name in (*FLOW_NAMES, *STOCK_NAMES)}
    before = {name: np.concatenate([initial[f"{name}_initial"][None], arrays[name][:-1]])
              .reshape(values[name].shape) for name in STOCK_NAMES}
    balance = StepBalance({name: value.shape for name, value in values.items()})
    fail, residual = balance.failures(values, before, DT_YR)
    if fail is None:
        return
    stage, t, m, cell, res = balance.first_break(fail, residual, members)
    tl = model.timeline
    raise BalanceError(describe_break(stage, res, [m, *cell],
                                      f"time {tl.year[t]}-{tl.month[t]:02d}", _labels(model)))


def _run_members(model: Model, recorder: Recorder, start: int,
                 progress: Callable[[int], None] | None, check_steps: bool
                 ) -> dict[str, np.ndarray]:
    """Step ``model``'s members (ensemble members ``start`` onwards) through every month.

    Their records go to ``recorder``; with ``check_steps`` each month's balances are checked
    on its values as the step returns them. Returns the stocks' start values
    (``<name>_initial``).
    """
    state = initial_state(model)
    initial = {
        "inventory": state.inventory, "concentrate_stock": state.concentrate.sum(axis=1),
        "in_use_stock": state.in_use.sum(axis=2), "tailings_stock": state.tailings,
        "reserves": state.reserves,
    }
    labels = _labels(model)
    tl, inputs = model.timeline, model.inputs
    before, balance = initial, None
    for t in range(tl.steps):
        state, values = step(state, inputs, t)
        recorder.add(t, values, start)
        if check_steps:
            if balance is None:
                balance = StepBalance({name: value.shape for name, value in values.items()})
            when = f"{tl.year[t]}-{tl.month[t]:02d}"
            try:
                balance.check(values, before, DT_YR, when, labels, first_member=start)
            except BalanceError:
                _raise_on_nan(values, when, start)     # a NaN is named as such, not as a leak
                raise
            before = {name: values[name].copy() for name in STOCK_NAMES}
        if progress is not None:
            progress(t + 1)
    recorder.flush()
    return {f"{name}_initial": value for name, value in initial.items()}


def _raise_on_nan(values: dict[str, np.ndarray], when: str, first_member: int) -> None:
    """Raise :class:`ModelError` naming the first of a month's variables holding a NaN, if any.

    Runs that do not record a variable only see its NaN as a broken balance; this names it.
    """
    for name, array in values.items():
        with np.errstate(invalid="ignore"):
            if not np.isnan(array).any():
                continue
        raise _nan_error(name, int(np.argwhere(np.isnan(array))[0][0]) + first_member, when)


def _assert_no_nan(recorder: Recorder, model: Model) -> None:
    """Raise :class:`ModelError` naming the variable, member and period of the first NaN.

    A NaN that escaped the balances (e.g. in a price) would silently spoil every summary.
    """
    for name, array in recorder.member_major().items():
        with np.errstate(invalid="ignore"):
            if np.isfinite(array.sum()) or not np.isnan(array).any():  # a sum is cheap
                continue
        member, period = (int(i) for i in np.argwhere(np.isnan(array))[0][:2])
        tl = model.timeline
        when = (f"{tl.year[period]}-{tl.month[period]:02d}" if recorder.frequency == "month"
                else str(tl.start_year + period))
        raise _nan_error(name, member, when)


def _nan_error(name: str, member: int, when: str) -> ModelError:
    """The error naming a variable's first NaN (both checks above word it alike)."""
    return ModelError(f"NaN in {name} (member {member}, {when}): a mechanism produced an "
                      "undefined value; no result was returned")


def _labels(model: Model) -> dict[str, list[str]]:
    c = model.coords
    return {"element": list(ELEMENTS), "producer": list(c.producers),
            "region": list(c.regions), "application": list(APPLICATIONS),
            "holder": list(HOLDERS), "market": list(MARKETS), "destination": list(MARKETS)}


def _dataset(model: Model, recorder: Recorder, initial: dict[str, np.ndarray]) -> xr.Dataset:
    """Label the recorded arrays: coordinates, producer metadata, units and descriptions."""
    c, tl, inp = model.coords, model.timeline, model.inputs
    quota = inp.mining.national_quota_t_per_yr
    export_quota = inp.market.export_quota_t_per_yr
    company = inp.regimes.regime == REGIME_NAMES.index("trading_company")
    if recorder.frequency == "month":
        time, period = tl.dates, np.full(tl.steps, DT_YR)
        year = tl.year
        regime = company.astype(np.int8)
        route = inp.separation.routes.onehot[inp.separation.routes.pattern]
    else:
        year = np.arange(tl.start_year, tl.end_year + 1)
        time = np.array([f"{y}-01-01" for y in year], dtype="datetime64[ns]")
        period = np.ones(len(year))
        quota = quota.reshape(-1, MONTHS_PER_YEAR).mean(axis=1)
        export_quota = export_quota.reshape(-1, MONTHS_PER_YEAR).mean(axis=1)
        regime = company.reshape(-1, MONTHS_PER_YEAR).mean(axis=1)
        route = inp.separation.routes.onehot[inp.separation.routes.pattern].reshape(
            -1, MONTHS_PER_YEAR, *inp.separation.routes.onehot.shape[1:]).mean(axis=1)
    coords = {
        "member": np.arange(model.members), "time": time, "year": ("time", year),
        "element": list(ELEMENTS), "market": list(MARKETS), "producer": list(c.producers),
        "region": list(c.regions), "holder": list(HOLDERS), "application": list(APPLICATIONS),
        "exporter": list(c.exporters), "stage": list(STAGES_ENV),
        "region_market": ("region", list(c.region_meta["market"])),
    }
    for key, values in c.producer_meta.items():
        coords["producer_region" if key == "region" else key] = ("producer", list(values))
    coords["destination"] = list(MARKETS)          # where magnets are used (magnet_trade)
    data_vars = {}
    for name, array in recorder.member_major().items():
        var = VARIABLES[name]
        data_vars[name] = (("member", "time", *var.dims), array,
                           {"units": var.unit, "description": var.description, "kind": var.kind})
    for name, array in initial.items():
        var = VARIABLES[name.removesuffix("_initial")]
        data_vars[name] = (("member", *var.dims), array,
                           {"units": var.unit, "description": f"{var.description} (run start)"})
    data_vars["period_years"] = ("time", period, {"units": "yr",
                                                  "description": "Length of each record period"})
    data_vars["china_mining_quota"] = ("time", quota, {
        "units": "t REO/yr", "description": "China's national mining quota (inf: none)"})
    data_vars["china_export_quota"] = ("time", export_quota, {
        "units": "t REO/yr", "description": "China's export quota (inf: none)"})
    data_vars["trading_company_active"] = ("time", regime, {
        "units": "1", "description": "Share of the period under the trading company regime"})
    data_vars["separation_route_share"] = (("time", "producer", "region"), route, {
        "units": "1", "description": "Share of the period each producer's concentrate was "
        "routed to each separation region (the Sankey's mine -> separation links)"})
    if model.sample_names:
        coords["parameter"] = list(model.sample_names)
        data_vars["parameter_samples"] = (("member", "parameter"), model.samples, {
            "units": "various", "description": "Sampled behavioural parameters and member-level "
            "constants (the design)"})
    return xr.Dataset(data_vars, coords=coords)
