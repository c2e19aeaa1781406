"""Cracking and separation: concentrate is routed to a region and separated within its capacity.

Separation takes the region's concentrate stock in its current element mix (a plant separates
the whole feed), limited by capacity and, in China, by the separation quota; recovery losses go to
residues. Concentrate that cannot be separated waits in the region's stock.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reesim.dims import DT_YR
from reesim.model.compile import Model


class SeparationResult(NamedTuple):
    """One month of separation; flows in t REO/yr, stock in t REO."""

    inflow: np.ndarray        # (M, R, E) concentrate arriving
    feed: np.ndarray          # (M, R, E) concentrate separated
    output: np.ndarray        # (M, R, E) separated oxides
    losses: np.ndarray        # (M, R, E) residues
    concentrate: np.ndarray   # (M, R, E) stock after the month


BACKLOG_FULL_MONTHS = 3.0
BACKLOG_STOP_MONTHS = 6.0
"""Mines run normally while their separator holds up to 3 months of feed, stop at 6 months."""


def separation_limit(model: Model, t: int, mine_capacity: np.ndarray) -> np.ndarray:
    """Separation a region can do this month, (M, R) t REO feed/yr: capacity within quota.

    Besides the region's own capacity, integrated projects (planned producers once online) and
    toll-treatment routes bring the capacity of their mine (``mine_capacity``, (M, P) t REO/yr)
    to the region that separates their concentrate.
    """
    c, s = model.constants, model.schedule
    routing = model.routes.onehot[model.routes.pattern[t]]               # (P, R)
    extra = np.einsum("mp,pr->mr", (c.planned | s.toll[t])[None, :] * mine_capacity, routing)
    return np.minimum(s.separation_capacity_t_per_yr[t][None, :] + extra,
                      s.separation_quota_t_per_yr[t][None, :])


def backlog_factor(model: Model, t: int, concentrate: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Share of desired output mines can sell given their separator's backlog, (M, P)."""
    months = concentrate.sum(axis=2) / np.maximum(limit / 12.0, 1e-9)   # (M, R)
    factor = np.clip((BACKLOG_STOP_MONTHS - months) / (BACKLOG_STOP_MONTHS - BACKLOG_FULL_MONTHS),
                     0.0, 1.0)
    return np.einsum("mr,pr->mp", factor, model.routes.onehot[model.routes.pattern[t]])


def separate(model: Model, t: int, concentrate: np.ndarray, mine_output: np.ndarray,
             limit: np.ndarray) -> SeparationResult:
    """Route this month's mine output (M, P, E) and separate what ``limit`` (M, R) allows."""
    c = model.constants
    routing = model.routes.onehot[model.routes.pattern[t]]              # (P, R)
    inflow = routing.T @ mine_output      # (M, R, E): one (R, P) x (P, E) product per member
    stock = concentrate + inflow * DT_YR
    total = stock.sum(axis=2)                                           # (M, R)
    # share of the stock separated this month (the feed keeps the stock's element mix)
    taken = np.where(total > 0, np.minimum(limit * DT_YR / np.maximum(total, 1e-300), 1.0), 0.0)
    feed = stock * (taken / DT_YR)[..., None]
    remaining = stock * (1.0 - taken)[..., None]
    output = feed * c.separation_recovery[None, :, None]
    return SeparationResult(inflow=inflow, feed=feed, output=output, losses=feed - output,
                            concentrate=remaining)
