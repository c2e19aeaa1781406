"""Capacity dynamics: available capacity, closures after sustained losses, restarts, projects.

Operating mines follow their capacity history (input data) unless the model closes them:
after ``closure_after_loss_months`` consecutive months with netback below cash cost a mine shuts,
and restarts a year after its expected netback beats its incentive price. Planned projects are
committed when the expected netback beats their incentive price and come online after their lead
time, ramping up over two years. Illegal and fringe supply grows and shrinks with its margin.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reesim.model.compile import Model
from reesim.model.mining import cash_cost_usd_per_kg

RESTART_MONTHS = 12
RAMP_UP_MONTHS = 24
ILLEGAL_MAX_MULTIPLE = 2.0
"""Fringe supply can grow at most to this multiple of its recorded (base) capacity."""
NEVER = np.iinfo(np.int64).max // 2
"""Step index standing for 'not scheduled'."""


def available_capacity(model: Model, t: int, closed: np.ndarray, online_at: np.ndarray,
                       illegal_capacity: np.ndarray) -> np.ndarray:
    """Capacity each producer can use this month, (M, P) t REO/yr."""
    c, s = model.constants, model.schedule
    history = np.where(c.planned & ~s.forced_online[t], 0.0, s.capacity_t_per_yr[t])
    ramp = np.minimum(np.maximum((t - online_at + 1) / RAMP_UP_MONTHS, 0.0), 1.0)
    projects = np.where(c.planned[None, :] & ~s.forced_online[t][None, :],
                        c.nameplate_t_per_yr[None, :] * ramp, 0.0)
    capacity = np.where(c.illegal[None, :], illegal_capacity, history[None, :] + projects)
    if not model.scenario.supply.illegal_supply:
        capacity = np.where(c.illegal[None, :], 0.0, capacity)
    return capacity * s.disruption[t][None, :] * ~closed


class CapacityState(NamedTuple):
    """Memories of the capacity decisions after a month."""

    expected_netback: np.ndarray
    loss_months: np.ndarray
    closed: np.ndarray
    reopen_at: np.ndarray
    online_at: np.ndarray
    illegal_capacity: np.ndarray


def update_capacity(model: Model, t: int, netback: np.ndarray, state: CapacityState) -> \
        CapacityState:
    """Closures, restarts, project commitments and fringe capacity after month ``t``."""
    c, s, p = model.constants, model.schedule, model.params
    cost = cash_cost_usd_per_kg(model)
    rate = model.rates["investment"]
    expected = state.expected_netback + (netback - state.expected_netback) * rate

    can_close = ~c.byproduct & ~c.illegal
    running = ~state.closed & can_close[None, :]
    losing = running & (netback < cost)
    loss_months = np.where(losing, state.loss_months + 1, 0)
    closing = loss_months >= p["closure_after_loss_months"][:, None]
    closed = state.closed | closing
    restart = closed & (state.reopen_at == NEVER) & (expected >= c.incentive_usd_per_kg)
    reopen_at = np.where(restart, t + RESTART_MONTHS, state.reopen_at)
    reopening = closed & (reopen_at <= t + 1)
    closed = closed & ~reopening
    reopen_at = np.where(reopening, NEVER, reopen_at)
    loss_months = np.where(reopening | closing, 0, loss_months)

    online_at = state.online_at
    if model.scenario.supply.projects == "endogenous":
        eligible = c.planned & (t + c.lead_time_months >= c.start_month)
        commit = (eligible[None, :] & (online_at == NEVER)
                  & (expected >= c.incentive_usd_per_kg[None, :]))
        online_at = np.where(commit, np.maximum(t + c.lead_time_months, c.start_month)[None, :],
                             online_at)

    # fringe capacity: the recorded (base) capacity at reference prices, scaled by the margin
    # relative to the margin at reference prices
    base = s.capacity_t_per_yr[t]
    reference_margin = np.maximum(c.reference_netback_usd_per_kg[None, :] - cost, 1e-9)
    margin = np.maximum(netback - cost, 0.0) / reference_margin
    target = base[None, :] * np.clip(margin ** p["illegal_supply_elasticity"][:, None], 0.0,
                                     ILLEGAL_MAX_MULTIPLE)
    rate_i = model.rates["illegal"]
    illegal = np.where(c.illegal[None, :],
                       state.illegal_capacity + (target - state.illegal_capacity) * rate_i, 0.0)
    return CapacityState(expected_netback=expected, loss_months=loss_months, closed=closed,
                         reopen_at=reopen_at, online_at=online_at, illegal_capacity=illegal)
