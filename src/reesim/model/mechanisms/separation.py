"""Cracking and separation: concentrate is routed to a region and separated within its capacity.

Separation takes the region's concentrate stock in its current element mix (a plant separates
the whole feed), limited by capacity and, in China, by the separation quota (split over Chinese
regions by capacity); recovery losses go to residues. Concentrate that cannot be separated
waits in the region's stock, and mines slow down when their separator's backlog grows.

Compiled here: the routes (which region separates each producer's concentrate, month by month,
and what that implies per producer: market, recovery, cost), capacities and quotas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from reesim.dims import DT_YR, MONTHS_PER_YEAR
from reesim.errors import InputError
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, member_column, monthly
from reesim.model.quotas import extend, quota_series
from reesim.model.timeline import step_by_year

CONSTANTS = (
    Constant("backlog_full_months", 3.0, "months", 0.5, 24.0,
             "Mines run normally while their separator holds up to this many months of feed.",
             "assumption"),
    Constant("backlog_stop_months", 6.0, "months", 1.0, 36.0,
             "Mines stop selling concentrate when their separator holds this many months of feed "
             "(output falls linearly between the two backlogs).", "assumption"),
)

ORDERED = (("backlog_full_months", "backlog_stop_months"),)
"""Mines must slow down before they stop."""


@dataclass(frozen=True)
class Routes:
    """The distinct routings of concentrate over the run and what each implies per producer.

    Routes change rarely (a few events), so the step looks these up instead of rebuilding them.
    """

    pattern: np.ndarray                 # (T,) index of the month's routing
    onehot: np.ndarray                  # (n, P, R) 1 where producer p's concentrate goes
    market: np.ndarray                  # (n, P) market of the separating region
    recovery: np.ndarray                # (n, P) separation recovery there
    cost_usd_per_kg: np.ndarray         # (n, P) separation cost there
    in_china: np.ndarray                # (n, P) bool: separated in China


@dataclass(frozen=True)
class SeparationInputs:
    """Compiled inputs of separation (schedules (T, ...), member values (M, 1))."""

    recovery: np.ndarray                # (R,) fraction of feed recovered as oxides
    china_region: np.ndarray            # (R,) bool
    planned: np.ndarray                 # (P,) bool: integrated projects bring their own plant
    toll: np.ndarray                    # (T, P) bool: routed under a toll-treatment contract
    capacity_t_per_yr: np.ndarray       # (T, R) separation capacity
    quota_t_per_yr: np.ndarray          # (T, R) China's separation quota by region (inf: none)
    routes: Routes
    backlog_full_months: np.ndarray     # (M, 1)
    backlog_stop_months: np.ndarray     # (M, 1)


class SeparationResult(NamedTuple):
    """One month of separation; flows in t REO/yr, stock in t REO."""

    separation_feed: np.ndarray         # (M, R, E) concentrate separated
    separation_output: np.ndarray       # (M, R, E) separated oxides
    separation_losses: np.ndarray       # (M, R, E) residues
    concentrate_stock: np.ndarray       # (M, R, E) stock after the month


def draft(ctx: Context) -> Draft:
    """Default routes, packaged separation capacity and China's national separation quota."""
    steps, years = ctx.timeline.steps, ctx.years
    sep_yearly = np.zeros((len(years), len(ctx.coords.regions)))
    for name, rows in ctx.data["separation_capacity"].groupby("region"):
        sep_yearly[:, ctx.region_index(name)] = step_by_year(
            years, rows.year.to_numpy(), rows.capacity_t_reo_per_yr.to_numpy(), 0.0)
    quota = np.full(steps, np.inf)
    policy = ctx.scenario.policy
    if policy.separation_quotas == "packaged":
        series = quota_series(ctx.data["quotas"], "separation", "total", "national", years)
        quota = monthly(extend(series, years, policy.quota_growth_after_data_pct_per_yr))
    return {
        "route": np.tile(ctx.default_route, (steps, 1)),
        "toll": np.zeros((steps, len(ctx.coords.producers)), bool),
        "separation_capacity_t_per_yr": monthly(sep_yearly),
        "separation_quota_national_t_per_yr": quota,
    }


def build(ctx: Context, draft: Draft) -> SeparationInputs:
    """Routes, capacities and China's separation quota split over its regions by capacity."""
    regions = ctx.regions
    china = ctx.region_market == 0
    recovery = regions.separation_recovery_fraction.to_numpy(float)
    cost = regions.separation_cost_usd_per_kg.to_numpy(float)
    sep_capacity = draft["separation_capacity_t_per_yr"]
    national = draft["separation_quota_national_t_per_yr"]
    weights = np.where(china[None, :], sep_capacity, 0.0)
    weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    with np.errstate(invalid="ignore"):
        quota = np.where(china[None, :] & np.isfinite(national)[:, None],
                         national[:, None] * weights, np.inf)
    patterns, index = np.unique(draft["route"], axis=0, return_inverse=True)
    routes = Routes(
        pattern=index.reshape(-1), onehot=np.eye(len(recovery))[patterns],
        market=ctx.region_market[patterns], recovery=recovery[patterns],
        cost_usd_per_kg=cost[patterns], in_china=china[patterns])
    p = ctx.params
    if not np.all(p.backlog_full_months < p.backlog_stop_months):   # a design may break it
        raise InputError("backlog_full_months must be below backlog_stop_months for every "
                         "member", field="design")
    return SeparationInputs(
        recovery=recovery, china_region=china,
        planned=(ctx.producers.status == "planned").to_numpy(), toll=draft["toll"],
        capacity_t_per_yr=sep_capacity, quota_t_per_yr=quota, routes=routes,
        backlog_full_months=member_column(p.backlog_full_months, 1),
        backlog_stop_months=member_column(p.backlog_stop_months, 1))


def routing(inp: SeparationInputs, t: int) -> np.ndarray:
    """Where each producer's concentrate goes in month ``t``, (P, R) one-hot."""
    return inp.routes.onehot[inp.routes.pattern[t]]


def separation_limit(inp: SeparationInputs, t: int, mine_capacity: np.ndarray) -> np.ndarray:
    """Separation a region can do this month, (M, R) t REO feed/yr: capacity within quota.

    Besides the region's own capacity, integrated projects (planned producers once online) and
    toll-treatment routes bring the capacity of their mine (``mine_capacity``, (M, P) t REO/yr)
    to the region that separates their concentrate.
    """
    extra = np.einsum("mp,pr->mr", (inp.planned | inp.toll[t])[None, :] * mine_capacity,
                      routing(inp, t))
    return np.minimum(inp.capacity_t_per_yr[t][None, :] + extra, inp.quota_t_per_yr[t][None, :])


def backlog_factor(inp: SeparationInputs, t: int, concentrate: np.ndarray,
                   limit: np.ndarray) -> np.ndarray:
    """Share of desired output mines can sell given their separator's backlog, (M, P)."""
    months = concentrate.sum(axis=2) / np.maximum(limit / MONTHS_PER_YEAR, 1e-9)   # (M, R)
    full, stop = inp.backlog_full_months, inp.backlog_stop_months
    factor = np.clip((stop - months) / (stop - full), 0.0, 1.0)
    return np.einsum("mr,pr->mp", factor, routing(inp, t))


def separate(inp: SeparationInputs, t: int, concentrate: np.ndarray, mine_output: np.ndarray,
             limit: np.ndarray) -> SeparationResult:
    """Route this month's mine output (M, P, E) and separate what ``limit`` (M, R) allows.

    Output is feed x recovery and losses feed x (1 - recovery), each computed from the feed,
    so the separation balance (feed = output + losses) checks the recovery bookkeeping.
    """
    inflow = routing(inp, t).T @ mine_output  # (M, R, E): one (R, P) x (P, E) product per member
    stock = concentrate + inflow * DT_YR
    total = stock.sum(axis=2)                                           # (M, R)
    # share of the stock separated this month (the feed keeps the stock's element mix)
    taken = np.where(total > 0, np.minimum(limit * DT_YR / np.maximum(total, 1e-300), 1.0), 0.0)
    feed = stock * (taken / DT_YR)[..., None]
    remaining = stock * (1.0 - taken)[..., None]
    output = feed * inp.recovery[None, :, None]
    losses = feed * (1.0 - inp.recovery)[None, :, None]
    return SeparationResult(separation_feed=feed, separation_output=output,
                            separation_losses=losses, concentrate_stock=remaining)
