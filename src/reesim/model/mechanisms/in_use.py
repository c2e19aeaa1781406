"""Manufacturing yield, products in use, end of life and recycling.

What manufacturers consume becomes products (the yield) and scrap (part recycled back to the
market at once). Products stay in use for an Erlang-distributed lifetime: a chain of ``k`` equal
stages, each left at rate k / lifetime, so the mean residence is the declared lifetime. At end
of life a share (the recycling rate, which events can ramp up) returns to sellers, by market in
proportion to where the application is manufactured; the rest is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from reesim.dims import APPLICATIONS, DT_YR
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, monthly_rate

CONSTANTS: tuple[Constant, ...] = ()


@dataclass(frozen=True)
class InUseInputs:
    """Compiled inputs of manufacturing, use and end of life, per application (A,)."""

    manufacturing_yield: np.ndarray     # (A,) fraction of consumption that becomes product
    new_scrap_recycling: np.ndarray     # (A,) fraction of scrap returned to the market
    lifetime_yr: np.ndarray             # (A,) mean residence in use
    lifetime_shape: np.ndarray          # (A,) int Erlang k (number of stages)
    leave_rate: np.ndarray              # (A,) share of a stage leaving it in a month
    stage_active: np.ndarray            # (A, S) bool: stage s exists for application a
    last_stage: np.ndarray              # (A,) int: index of each application's last stage
    eol_recycling: np.ndarray           # (T, A) fraction of end-of-life REO recycled


class Manufacturing(NamedTuple):
    """One month of manufacturing, (M, A, E) t REO/yr, and scrap returned by market."""

    consumption: np.ndarray
    products_into_use: np.ndarray
    new_scrap_recycled: np.ndarray
    new_scrap_lost: np.ndarray
    scrap_by_market: np.ndarray         # (M, K, E) t this month


class Use(NamedTuple):
    """One month of the in-use stock; flows in t REO/yr, stock in t REO."""

    end_of_life: np.ndarray             # (M, A, E)
    in_use: np.ndarray                  # (M, A, S, E) by lifetime stage
    in_use_stock: np.ndarray            # (M, A, E) in_use summed over stages


class EndOfLife(NamedTuple):
    """Where end-of-life REO goes, (M, A, E) t REO/yr, and what returns by market."""

    recycled: np.ndarray
    eol_losses: np.ndarray
    recycled_by_market: np.ndarray      # (M, K, E) t this month


def draft(ctx: Context) -> Draft:
    """End-of-life recycling rates by month (events may ramp them)."""
    apps = ctx.ordered("applications", "application", APPLICATIONS)
    return {"eol_recycling": np.tile(apps.eol_recycling_fraction.to_numpy(float),
                                     (ctx.timeline.steps, 1))}


def build(ctx: Context, draft: Draft) -> InUseInputs:
    """Yields, lifetimes and recycling rates from the applications table."""
    apps = ctx.ordered("applications", "application", APPLICATIONS)
    lifetime = apps.lifetime_yr.to_numpy(float)
    shape = apps.lifetime_shape.to_numpy(int)
    stages = np.arange(shape.max())[None, :]
    return InUseInputs(
        manufacturing_yield=apps.manufacturing_yield_fraction.to_numpy(float),
        new_scrap_recycling=apps.new_scrap_recycling_fraction.to_numpy(float),
        lifetime_yr=lifetime, lifetime_shape=shape,
        leave_rate=monthly_rate(lifetime / shape),
        stage_active=stages < shape[:, None],
        last_stage=shape - 1,
        eol_recycling=draft["eol_recycling"])


def steady_state(inp: InUseInputs, members: int, consumption: np.ndarray) -> np.ndarray:
    """In-use stock (M, A, S, E) in steady state with a constant ``consumption`` (A, E) t/yr.

    Each of an application's k stages holds inflow x lifetime / k (stages beyond k hold 0).
    """
    products = consumption * inp.manufacturing_yield[:, None]              # (A, E)
    stage_time = inp.lifetime_yr / inp.lifetime_shape                       # (A,)
    in_use = (products[:, None, :] * stage_time[:, None, None] * inp.stage_active[:, :, None])
    return np.broadcast_to(in_use, (members, *in_use.shape)).copy()


def manufacture(inp: InUseInputs, used: np.ndarray) -> Manufacturing:
    """Products and scrap from this month's consumption ``used`` (M, K, A, E) t."""
    return Manufacturing(*_manufacture(used, inp.manufacturing_yield, inp.new_scrap_recycling))


@numba.njit(cache=True)
def _manufacture(used: np.ndarray, manufacturing_yield: np.ndarray,
                 new_scrap_recycling: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arithmetic of :func:`manufacture` for each member (numba, cached on disk).

    ``used`` (M, K, A, E) t; ``manufacturing_yield`` and ``new_scrap_recycling`` (A,).
    Consumption is ``used`` summed over markets per year; products are consumption x yield,
    scrap consumption x (1 - yield), of which ``new_scrap_recycling`` returns to the market
    where it was used (``scrap_by_market`` (M, K, E) t, summed over applications in order).
    Returns the fields of :class:`Manufacturing` in order. Compiled because as numpy each of
    these (member, application) x element products cost a loop per element row; the
    operations and the order of the sums are numpy's, so the numbers are the same, whatever
    the batch.
    """
    members, markets, applications, elements = used.shape
    consumption = np.empty((members, applications, elements))
    products = np.empty_like(consumption)
    recycled = np.empty_like(consumption)
    lost = np.empty_like(consumption)
    by_market = np.zeros((members, markets, elements))
    for m in range(members):
        for a in range(applications):
            scrap_rate = 1.0 - manufacturing_yield[a]
            scrap_share = scrap_rate * new_scrap_recycling[a]
            for e in range(elements):
                total = 0.0
                for k in range(markets):
                    total += used[m, k, a, e]
                    by_market[m, k, e] += used[m, k, a, e] * scrap_share
                used_ae = total / DT_YR                                      # t/yr
                scrap = used_ae * scrap_rate
                consumption[m, a, e] = used_ae
                products[m, a, e] = used_ae * manufacturing_yield[a]
                recycled[m, a, e] = scrap * new_scrap_recycling[a]
                lost[m, a, e] = scrap * (1.0 - new_scrap_recycling[a])
    return consumption, products, recycled, lost, by_market


def age(inp: InUseInputs, in_use: np.ndarray, products: np.ndarray) -> Use:
    """Advance the Erlang-k lifetime chains one month: products enter, end-of-life leaves.

    Every stage moves at once: a stage's outflow depends only on its stock at the start of the
    month; it arrives in the next stage, and the last stage's outflow reaches end of life (what
    it would pass on lands in a stage that does not exist, which the active mask drops).
    """
    return Use(*_age(in_use, products, inp.leave_rate, inp.stage_active, inp.last_stage))


@numba.njit(cache=True)
def _age(in_use: np.ndarray, products: np.ndarray, leave_rate: np.ndarray, active: np.ndarray,
         last_stage: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arithmetic of :func:`age` for each member, application and element (numba, cached).

    ``in_use`` (M, A, S, E) t, ``products`` (M, A, E) t/yr entering use, ``leave_rate`` (A,)
    the share of a stage leaving it in a month, ``active`` (A, S) the stages that exist,
    ``last_stage`` (A,). A stage loses ``in_use * leave_rate`` (0 if it does not exist) and
    gains what the stage before it lost (the first stage: ``products * DT_YR``); the last
    stage's loss is end of life. Returns end of life (M, A, E) t/yr, the new stocks and their
    sum over stages (M, A, E), in numpy's order. Compiled because as numpy each of these small
    (member, application, stage) x element products cost a loop per element row; the
    operations are numpy's, so the numbers are the same, whatever the batch.
    """
    members, applications, stages, elements = in_use.shape
    new = np.empty_like(in_use)
    end_of_life = np.empty((members, applications, elements))
    stock = np.zeros((members, applications, elements))
    for m in range(members):
        for a in range(applications):
            for e in range(elements):
                arriving = products[m, a, e] * DT_YR
                for s in range(stages):
                    exists = 1.0 if active[a, s] else 0.0
                    out = in_use[m, a, s, e] * leave_rate[a] * exists          # t this month
                    new[m, a, s, e] = in_use[m, a, s, e] - out + arriving * exists
                    stock[m, a, e] += new[m, a, s, e]
                    if s == last_stage[a]:
                        end_of_life[m, a, e] = out / DT_YR
                    arriving = out
    return end_of_life, new, stock


def recycle(inp: InUseInputs, t: int, end_of_life: np.ndarray,
            market_split: np.ndarray) -> EndOfLife:
    """Recycled and lost end-of-life REO; recycling returns by market (``market_split`` (K, A))."""
    return EndOfLife(*_recycle(end_of_life, inp.eol_recycling[t], market_split))


@numba.njit(cache=True, error_model="numpy")
def _recycle(end_of_life: np.ndarray, rate: np.ndarray,
             market_split: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arithmetic of :func:`recycle` for each member, application and element (numba).

    ``end_of_life`` (M, A, E) t/yr, ``rate`` (A,) the recycling rate, ``market_split`` (K, A).
    Recycled is ``end_of_life * rate``, lost ``end_of_life * (1 - rate)``; what returns to
    market k is ``sum over a of market_split[k, a] * recycled[:, a]`` (from 0.0, applications
    in order: the order of numpy's ``einsum("ka,mae->mke")`` on this build, which a test
    checks) x DT_YR, (M, K, E) t. Returns the fields of :class:`EndOfLife` in order.
    """
    members, applications, elements = end_of_life.shape
    markets = market_split.shape[0]
    recycled = np.empty((members, applications, elements))
    lost = np.empty((members, applications, elements))
    by_market = np.empty((members, markets, elements))
    for m in range(members):
        for a in range(applications):
            for e in range(elements):
                recycled[m, a, e] = end_of_life[m, a, e] * rate[a]
                lost[m, a, e] = end_of_life[m, a, e] * (1.0 - rate[a])
        for k in range(markets):
            for e in range(elements):
                total = 0.0
                for a in range(applications):
                    total += market_split[k, a] * recycled[m, a, e]
                by_market[m, k, e] = total * DT_YR
    return recycled, lost, by_market
