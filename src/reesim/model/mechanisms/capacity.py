"""Capacity dynamics: available capacity, closures after sustained losses, restarts, projects.

Operating mines follow their capacity history (input data) unless the model closes them:
after ``closure_after_loss_months`` consecutive months with netback below cash cost a mine shuts,
and restarts ``restart_months`` after its expected netback beats its incentive price. Planned
projects are committed when the expected netback beats their incentive price and come online
after their lead time, ramping up over ``ramp_up_months``. Projects are also committed, one a
month and the cheapest first, when investors reading the demand outlook foresee a deficit of
the project's main value element by the time it would be at full output (world stocks plus
supply and committed capacity against demand growing as the scenario's demand path), provided
the project would cover its cash cost at expected prices: offtakes and state finance build
mines ahead of the price (the 2020s ex-China projects), and without it the projection only
invests after stocks run out. Illegal and fringe supply grows and shrinks with its margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from reesim.dims import ELEMENTS, MONTHS_PER_YEAR
from reesim.model.compiled import np_maximum, np_minimum
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, member_column, monthly, monthly_rate
from reesim.model.mechanisms.separation import default_route_cost, default_route_netback
from reesim.model.timeline import Timeline, step_by_year

CONSTANTS = (
    Constant("restart_months", 12, "months", 1, 60,
             "A closed mine restarts this long after its expected netback beats its incentive "
             "price (recommissioning, hiring).", "assumption", integer=True),
    Constant("ramp_up_months", 24, "months", 1, 96,
             "A new project ramps linearly to nameplate capacity over this time.",
             "assumption", integer=True),
    Constant("illegal_max_multiple", 2.0, "x recorded capacity", 1.0, 10.0,
             "Fringe (illegal) supply grows at most to this multiple of its recorded (base) "
             "capacity, however high its margin.", "assumption"),
)
RAMP_UP_MONTHS = next(c.value for c in CONSTANTS if c.name == "ramp_up_months")
NEVER = np.iinfo(np.int64).max // 2
"""Step index standing for 'not scheduled'."""


@dataclass(frozen=True)
class CapacityInputs:
    """Compiled inputs of capacity dynamics (schedules (T, P), member values (M, 1))."""

    planned: np.ndarray                 # (P,) bool: a project not yet built
    illegal: np.ndarray                 # (P,) bool: fringe supply, capacity endogenous
    can_close: np.ndarray               # (P,) bool: closes after losses (not by-product, legal)
    nameplate_t_per_yr: np.ndarray      # (P,)
    incentive_usd_per_kg: np.ndarray    # (M, P) expected netback that restarts or commits a mine
    lead_time_months: np.ndarray        # (P,)
    start_month: np.ndarray             # (P,) earliest step a planned project can come online
    capacity_t_per_yr: np.ndarray       # (T, P) available capacity of non-planned producers
    forced_online: np.ndarray           # (T, P) bool: planned producer put online by an event
    disruption: np.ndarray              # (T, P) capacity factor from disruption events
    illegal_supply: bool                # scenario: fringe supply may enter
    projects_endogenous: bool           # scenario: projects are committed by the model
    projects_all: bool                  # scenario: every project comes online at its start
    closure_after_loss_months: np.ndarray  # (M, 1)
    illegal_supply_elasticity: np.ndarray  # (M, 1)
    investment_rate: np.ndarray         # (M, 1) monthly adjustment of expected netback
    illegal_rate: np.ndarray            # (M, 1) monthly adjustment of fringe capacity
    restart_months: np.ndarray          # (M, 1) int
    ramp_up_months: np.ndarray          # (M, 1)
    illegal_max_multiple: np.ndarray    # (M, 1)
    watched: np.ndarray                 # (P, E) bool: elements a project is built for
    output_share: np.ndarray            # (P, E) t of each element per t REO of capacity
    outlook_growth: np.ndarray          # (T, E) outlook demand at the horizon over demand now
    horizon_yr: float                   # investment horizon: longest lead time + ramp-up, years
    working_stock_yr: np.ndarray        # (M, 1) normal stocks of sellers and consumers, years
    #                                     of demand (their coverage targets)


class CapacityState(NamedTuple):
    """Memories of the capacity decisions, each (M, P)."""

    expected_netback: np.ndarray  # USD/kg, for investment and restart decisions
    loss_months: np.ndarray       # consecutive months below cash cost
    closed: np.ndarray            # bool
    reopen_at: np.ndarray         # step when a closed mine restarts (NEVER if none)
    online_at: np.ndarray         # step when a planned project starts (NEVER if none)
    illegal_capacity: np.ndarray  # t REO/yr, endogenous capacity of fringe supply


def recorded_capacity(ctx: Context, years: np.ndarray) -> np.ndarray:
    """Recorded mine capacity in ``years`` (Y,) per producer, (Y, P) t REO/yr (held after)."""
    out = np.zeros((len(years), len(ctx.coords.producers)))
    for name, rows in ctx.data["capacity_history"].groupby("producer"):
        out[:, ctx.producer_index(name)] = step_by_year(
            years, rows.year.to_numpy(), rows.capacity_t_reo_per_yr.to_numpy(), 0.0)
    return out


def capacity_history(ctx: Context) -> np.ndarray:
    """Recorded mine capacity per year of the run and producer (Y, P), t REO/yr; read-only."""
    return ctx.data.derived(("capacity_history", ctx.timeline),
                            lambda: recorded_capacity(ctx, ctx.years))


def draft(ctx: Context) -> Draft:
    """Capacity history by month, nothing forced online, no disruptions."""
    shape = (ctx.timeline.steps, len(ctx.coords.producers))
    return {"capacity_t_per_yr": monthly(capacity_history(ctx)),
            "forced_online": np.zeros(shape, bool), "disruption": np.ones(shape)}


WATCHED_VALUE_SHARE = 0.2
"""Investors watch the balance of every element worth at least this share of a project's basket
at reference prices (NdPr for light deposits; Dy, Tb and Y for ionic clays)."""


def outlook(ctx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """What investors read: elements each project is built for, its output, the outlook.

    The outlook is the demand growth of every element from each month to the investment horizon.

    Returns watched elements (P, E) bool, output shares (P, E) t per t REO (separation recovery
    at the default route), growth (T, E) and the horizon in years (the longest lead time of a
    planned project plus ramp-up). Growth follows the scenario's base demand path
    (``demand_t_per_yr`` after the demand shocks, at reference prices, with the intensity
    events' element intensities), read beyond the run's
    last year when the horizon reaches past it, so the outlook in a month does not depend on
    when the run ends.
    """
    from reesim.model.events import intensity_path, shocked_base_demand
    from reesim.model.mechanisms.demand import element_intensity
    from reesim.model.mechanisms.mining import distribution

    dist = distribution(ctx)                                                  # (P, E)
    anchors = ctx.ordered("price_anchors", "element", ELEMENTS)
    value = dist * anchors.reference_price_usd_per_kg.to_numpy(float)[None, :]
    watched = value >= WATCHED_VALUE_SHARE * value.sum(axis=1, keepdims=True)
    recovery = ctx.regions.separation_recovery_fraction.to_numpy(float)[ctx.default_route]
    planned = (ctx.producers.status == "planned").to_numpy()
    lead = ctx.producers.lead_time_yr.to_numpy(float)[planned]
    ramp = float(ctx.scenario.constants.get("ramp_up_months", RAMP_UP_MONTHS))  # run level:
    horizon_months = round(MONTHS_PER_YEAR * float(lead.max() if len(lead) else 0.0) + ramp)
    #                                  a member's design must not move the others' horizon
    steps = ctx.timeline.steps
    timeline = Timeline(ctx.timeline.start_year,
                        ctx.timeline.end_year + -(-horizon_months // MONTHS_PER_YEAR))
    base, intensity = shocked_base_demand(ctx, timeline), element_intensity(ctx)
    # the packaged intensities, plus what intensity events change (exactly 0 without them)
    change = intensity[None] * (intensity_path(ctx, timeline) - 1.0)              # (T', A, E)
    by_element = base @ intensity + np.einsum("ta,tae->te", base, change)          # (T', E)
    now = np.arange(steps)
    growth = by_element[now + horizon_months] / np.maximum(by_element[now], 1e-9)
    return watched, dist * recovery[:, None], growth, horizon_months / MONTHS_PER_YEAR


def incentive_netback(ctx: Context) -> np.ndarray:
    """The expected netback that commits a project or restarts a closed mine, (M, P) USD/kg.

    ``producers.csv`` states incentive prices as basket values at the packaged costs (a restart
    at 1.5 times the unit cost: cash cost plus separation cost); a mine weighs its expected
    netback, so the basket is turned into the netback it gives on the default route
    (:func:`~reesim.model.mechanisms.separation.default_route_netback`). The member's China
    cost multiplier scales the costs the basket was built on as it scales them in the run: the
    cash cost of a mine in China and the separation cost where the route separates in China,
    so the basket scales by (scaled cash + scaled separation) / (cash + separation): a mine in
    China separated there by the multiplier, one separated abroad not at all, and a mine
    abroad separated in China (Myanmar's clays) by its separation cost's part only. Until
    2026-12-08 the basket value itself was compared with the netback, and for a day the whole
    netback of a foreign mine separated in China scaled with the multiplier.
    """
    producers = ctx.producers
    multiplier = member_column(ctx.params.china_cost_multiplier, 1)
    cash = producers.cash_cost_usd_per_kg.to_numpy(float)
    scaled_cash = np.where(ctx.mined_in_china[None, :], cash[None, :] * multiplier, cash)
    separation = ctx.regions.separation_cost_usd_per_kg.to_numpy(float)[ctx.default_route]
    basket = (producers.incentive_price_usd_per_kg.to_numpy(float)
              * (scaled_cash + default_route_cost(ctx, multiplier)) / (cash + separation))
    return default_route_netback(ctx, basket, multiplier)


def build(ctx: Context, draft: Draft) -> CapacityInputs:
    """Capacity inputs from the producers table, the schedules and the member values."""
    producers, p, supply = ctx.producers, ctx.params, ctx.scenario.supply
    legal = producers.legal.to_numpy(bool)
    start = np.array([max(0, MONTHS_PER_YEAR * (int(y) - ctx.timeline.start_year))
                      for y in producers.start_year])
    watched, shares, growth, horizon = outlook(ctx)
    return CapacityInputs(
        planned=(producers.status == "planned").to_numpy(), illegal=~legal,
        can_close=~producers.byproduct_of_iron.to_numpy(bool) & legal,
        nameplate_t_per_yr=producers.capacity_t_reo_per_yr.to_numpy(float),
        incentive_usd_per_kg=incentive_netback(ctx),
        lead_time_months=np.round(MONTHS_PER_YEAR * producers.lead_time_yr.to_numpy(float))
        .astype(int),
        start_month=start, capacity_t_per_yr=draft["capacity_t_per_yr"],
        forced_online=draft["forced_online"], disruption=draft["disruption"],
        illegal_supply=supply.illegal_supply, projects_endogenous=supply.projects == "endogenous",
        projects_all=supply.projects == "all",
        closure_after_loss_months=member_column(p.closure_after_loss_months, 1),
        illegal_supply_elasticity=member_column(p.illegal_supply_elasticity, 1),
        investment_rate=member_column(monthly_rate(p.investment_expectation_time_yr), 1),
        illegal_rate=member_column(monthly_rate(p.illegal_capacity_adjustment_time_yr), 1),
        restart_months=member_column(p.restart_months.astype(np.int64), 1),
        ramp_up_months=member_column(p.ramp_up_months, 1),
        illegal_max_multiple=member_column(p.illegal_max_multiple, 1),
        watched=watched, output_share=shares, outlook_growth=growth, horizon_yr=horizon,
        working_stock_yr=member_column(p.seller_coverage_target_months
                                       + p.consumer_coverage_target_months, 1) / MONTHS_PER_YEAR,
    )


@numba.njit(cache=True, error_model="numpy")
def _month_decisions(t: int, expected_netback: np.ndarray, loss_months: np.ndarray,
                     closed: np.ndarray, reopen_at: np.ndarray, online_at: np.ndarray,
                     netback: np.ndarray, cash_cost: np.ndarray, reference_netback: np.ndarray,
                     can_close: np.ndarray, illegal: np.ndarray, incentive: np.ndarray,
                     planned: np.ndarray, lead_time: np.ndarray, start_month: np.ndarray,
                     projects: bool, investment_rate: np.ndarray, closure_months: np.ndarray,
                     restart_months: np.ndarray) -> tuple[np.ndarray, ...]:
    """Expected netbacks, closures, restarts, projects' cases and fringe margins after month ``t``.

    Per member and producer ((M, P) state; ``netback``, ``cash_cost``, ``incentive`` (the
    netback that the table's basket value gives) and ``reference_netback`` (M, P) USD/kg;
    ``can_close``, ``illegal``, ``planned``, ``lead_time`` and ``start_month`` (P,); the member
    values (M, 1)): the expected netback moves toward the
    netback by the investment rate; a mine that can close and earns less than its cash cost
    counts one more month of losses (the count restarts otherwise) and closes at
    ``closure_months``; a closed mine whose expected netback reaches its incentive price is
    scheduled to reopen ``restart_months`` later and reopens in the month before that step.
    With endogenous ``projects``, a planned project (``planned``: not one whose capacity an
    event sets this month) that could be online by its start month
    (``t + lead_time >= start_month``) and is not yet committed (``online_at`` NEVER) is
    committed when its expected netback reaches its incentive price, and is foreseen (for the
    investors' outlook) when it covers its cash cost only. The margin of fringe (``illegal``)
    producers is
    ``max(netback - cash_cost, 0) / max(reference_netback - cash_cost, 1e-9)``.

    Returns the new expected netback, loss months, closed flags and reopening steps
    (``NEVER``: none), the commit and foreseen flags (M, P) bool, whether any is foreseen, and
    the fringe margins (M, I), I the fringe producers in order (numpy's power of them is
    elementwise: it need not run over every producer). The operations are numpy's, so the
    numbers are the ones it gave. Compiled because as numpy these were some thirty small
    operations a month.
    """
    members, producers = closed.shape
    expected = np.empty((members, producers))
    losses = np.empty_like(loss_months)
    now_closed = np.empty_like(closed)
    reopen = np.empty_like(reopen_at)
    commit = np.zeros((members, producers), np.bool_)
    foreseen = np.zeros((members, producers), np.bool_)
    margin = np.empty((members, np.count_nonzero(illegal)))
    any_foreseen = False
    for m in range(members):
        for p in range(producers):
            expected[m, p] = (expected_netback[m, p]
                              + (netback[m, p] - expected_netback[m, p]) * investment_rate[m, 0])
            losing = not closed[m, p] and can_close[p] and netback[m, p] < cash_cost[m, p]
            loss = loss_months[m, p] + 1 if losing else 0
            closing = loss >= closure_months[m, 0]
            shut = closed[m, p] or closing
            restart = shut and reopen_at[m, p] == NEVER and expected[m, p] >= incentive[m, p]
            at = t + restart_months[m, 0] if restart else reopen_at[m, p]
            reopening = shut and at <= t + 1
            now_closed[m, p] = shut and not reopening
            reopen[m, p] = NEVER if reopening else at
            losses[m, p] = 0 if reopening or closing else loss
            if (projects and planned[p] and t + lead_time[p] >= start_month[p]
                    and online_at[m, p] == NEVER):
                commit[m, p] = expected[m, p] >= incentive[m, p]
                foreseen[m, p] = not commit[m, p] and expected[m, p] >= cash_cost[m, p]
                any_foreseen = any_foreseen or foreseen[m, p]
        fringe = 0
        for p in range(producers):
            if illegal[p]:
                margin[m, fringe] = (np_maximum(netback[m, p] - cash_cost[m, p], 0.0)
                                     / np_maximum(reference_netback[m, p] - cash_cost[m, p], 1e-9))
                fringe += 1
    return expected, losses, now_closed, reopen, commit, foreseen, any_foreseen, margin


def initial(inp: CapacityInputs, members: int, netback: np.ndarray) -> CapacityState:
    """Capacity memories at the run start: nothing closed, projects per ``supply.projects``."""
    n_p = len(inp.planned)
    online_at = np.full((members, n_p), NEVER, dtype=np.int64)
    if inp.projects_all:
        online_at[:, inp.planned] = inp.start_month[inp.planned]
    # the recorded capacity; the month's disruption factor applies when it is read
    # (_available_capacity): multiplied in here too, a disruption of the first month counted twice
    illegal = np.where(inp.illegal, inp.capacity_t_per_yr[0], 0.0)
    return CapacityState(
        expected_netback=netback, loss_months=np.zeros((members, n_p)),
        closed=np.zeros((members, n_p), bool),
        reopen_at=np.full((members, n_p), NEVER, dtype=np.int64), online_at=online_at,
        illegal_capacity=np.broadcast_to(illegal, (members, n_p)).copy())


def available_capacity(inp: CapacityInputs, t: int, state: CapacityState) -> np.ndarray:
    """Capacity each producer can use this month, (M, P) t REO/yr.

    Fringe (illegal) supply has its endogenous capacity (none without ``illegal_supply``), a
    project of the model its nameplate times its ramp-up since it came online, any other
    producer its recorded capacity; all times the month's disruption factor, none when closed.
    """
    return _available_capacity(
        t, state.online_at, state.illegal_capacity, state.closed, inp.planned,
        inp.forced_online, inp.capacity_t_per_yr, inp.nameplate_t_per_yr, inp.ramp_up_months,
        inp.illegal, inp.illegal_supply, inp.disruption)


@numba.njit(cache=True, error_model="numpy")
def _available_capacity(t: int, online_at: np.ndarray, illegal_capacity: np.ndarray,
                        closed: np.ndarray, planned: np.ndarray, forced_online: np.ndarray,
                        recorded: np.ndarray, nameplate: np.ndarray, ramp_months: np.ndarray,
                        illegal: np.ndarray, illegal_supply: bool,
                        disruption: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`available_capacity` per member and producer (numba, cached).

    ``online_at`` (M, P) steps, ``illegal_capacity`` (M, P) t/yr, ``closed`` (M, P) bool;
    ``planned``, ``nameplate`` t/yr and ``illegal`` (P,); ``forced_online``, ``recorded`` t/yr
    and ``disruption`` (T, P), read in month ``t``; ``ramp_months`` (M, 1). A planned producer
    not forced online is a project of the model, its ramp
    ``min(max((t - online_at + 1) / ramp, 0), 1)``; recorded capacity and projects' add as
    numpy's sum of the two (0 where not one), so the numbers are the ones numpy gave, whatever
    the batch. Compiled because as numpy this was a dozen operations on small arrays a month.
    """
    members, producers = online_at.shape
    project = planned & ~forced_online[t]                 # capacity from the model's projects
    out = np.empty((members, producers))
    for m in range(members):
        for p in range(producers):
            if illegal[p]:
                capacity = illegal_capacity[m, p] if illegal_supply else 0.0
            elif project[p]:
                ramp = np_minimum(np_maximum((t - online_at[m, p] + 1) / ramp_months[m, 0], 0.0),
                                  1.0)
                capacity = 0.0 + nameplate[p] * ramp
            else:
                capacity = recorded[t, p] + 0.0
            out[m, p] = capacity * disruption[t, p] * (0.0 if closed[m, p] else 1.0)
    return out


def foreseen_deficit(inp: CapacityInputs, t: int, online_at: np.ndarray, supply: np.ndarray,
                     demand: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Whether investors foresee a deficit of an element each project is built for, (M, P) bool.

    Over the investment horizon, world stocks ``stock`` (M, E) t, plus supply ``supply`` (M, E)
    t/yr and the capacity committed but not yet at full output (for the part of the horizon after
    it gets there), must cover demand ``demand`` (M, E) t/yr growing along the outlook
    (trapezoid: the mean of demand now and at the horizon) and leave sellers and consumers their
    normal stocks at the end.
    """
    pending = _pending(t, online_at, inp.nameplate_t_per_yr, inp.ramp_up_months,
                       max(inp.horizon_yr, 1e-9), inp.forced_online[t])       # (M, P) t/yr
    return _short(inp.horizon_yr, pending @ inp.output_share, supply, demand, stock,
                  inp.outlook_growth[t], inp.working_stock_yr, inp.watched)


@numba.njit(cache=True, error_model="numpy")
def _pending(t: int, online_at: np.ndarray, nameplate: np.ndarray, ramp_months: np.ndarray,
             horizon: float, forced: np.ndarray) -> np.ndarray:
    """Committed capacity not yet at full output that counts over the horizon, (M, P) t REO/yr.

    Per member and producer (``online_at`` (M, P) steps, ``nameplate`` (P,), ``ramp_months``
    (M, 1), ``horizon`` years, at least 1e-9): a committed project (``online_at < NEVER``)
    brings ``nameplate x (1 - ramp) x counted``, its ramp
    ``min(max((t - online_at + 1) / ramp_months, 0), 1)``, full output in
    ``(min(online_at, t + 1200) + ramp_months - t) / 12`` years and ``counted`` the share of
    the horizon after that, ``min(max(1 - full_in_yr / horizon, 0), 1)``; 0 otherwise, and 0
    for a producer whose capacity an event sets this month (``forced`` (P,) bool: its output,
    if any, is in the supply already; until 2026-12-08 Kvanefjeld, committed in 2019 and held
    at zero by Greenland's 2021 uranium act, counted as 24.6 kt/yr to come in 2022-2027, and
    Eneabba's capacity twice in 2027-2028). numpy's
    operations in numpy's order (the product with output shares stays numpy's). Compiled
    because as numpy these were a dozen small operations a month.
    """
    members, producers = online_at.shape
    out = np.empty((members, producers))
    for m in range(members):
        for p in range(producers):
            if online_at[m, p] < NEVER and not forced[p]:
                ramp = np_minimum(np_maximum((t - online_at[m, p] + 1) / ramp_months[m, 0], 0.0),
                                  1.0)
                full_in_yr = (min(online_at[m, p], t + MONTHS_PER_YEAR * 100) + ramp_months[m, 0]
                              - t) / MONTHS_PER_YEAR
                counted = np_minimum(np_maximum(1.0 - full_in_yr / horizon, 0.0), 1.0)
                out[m, p] = nameplate[p] * (1.0 - ramp) * counted
            else:
                out[m, p] = 0.0
    return out


@numba.njit(cache=True, error_model="numpy")
def _short(horizon: float, coming: np.ndarray, supply: np.ndarray, demand: np.ndarray,
           stock: np.ndarray, growth: np.ndarray, working_stock: np.ndarray,
           watched: np.ndarray) -> np.ndarray:
    """Whether an element each project watches falls short over the horizon, (M, P) bool.

    Per member and element (``coming``, ``supply``, ``demand`` (M, E) t/yr, ``stock`` (M, E) t,
    ``growth`` (E,), ``working_stock`` (M, 1) years): demand at the horizon
    ``later = demand x growth``, stocks left
    ``stock + horizon x (supply + coming - (demand + later) / 2)``, short when below
    ``working_stock x later``; a project (``watched`` (P, E) bool) is short when any element it
    watches is (numpy's boolean matrix product). numpy's operations in numpy's order.
    """
    members, elements = coming.shape
    producers = watched.shape[0]
    out = np.zeros((members, producers), np.bool_)
    short = np.empty(elements, np.bool_)
    for m in range(members):
        for e in range(elements):
            later = demand[m, e] * growth[e]
            left = stock[m, e] + horizon * (supply[m, e] + coming[m, e]
                                            - (demand[m, e] + later) / 2.0)
            short[e] = left < working_stock[m, 0] * later
        for p in range(producers):
            for e in range(elements):
                if short[e] and watched[p, e]:
                    out[m, p] = True
                    break
    return out


def update(inp: CapacityInputs, t: int, state: CapacityState, netback: np.ndarray,
           cash_cost: np.ndarray, reference_netback: np.ndarray,
           supply: np.ndarray | None = None, demand: np.ndarray | None = None,
           stock: np.ndarray | None = None) -> CapacityState:
    """Closures, restarts, project commitments and fringe capacity after month ``t``.

    ``netback`` and ``cash_cost`` are (M, P) USD/kg; ``reference_netback`` (M, P) USD/kg is the
    netback at reference prices that sizes fringe capacity's margin. ``supply`` (separated and
    recycled) and ``demand`` are world rates (M, E) t/yr, ``stock`` world stocks (M, E) t, for
    the investors' outlook (:func:`foreseen_deficit`); without them projects are committed
    on price alone.
    """
    (expected, loss_months, closed, reopen_at, commit, foreseen, any_foreseen,
     margin) = _month_decisions(
        t, state.expected_netback, state.loss_months, state.closed, state.reopen_at,
        state.online_at, netback, cash_cost, reference_netback, inp.can_close, inp.illegal,
        inp.incentive_usd_per_kg, inp.planned & ~inp.forced_online[t], inp.lead_time_months,
        inp.start_month, inp.projects_endogenous, inp.investment_rate,
        inp.closure_after_loss_months,
        inp.restart_months)
    # projects foreseen to meet a deficit: nothing to decide without one, skip the outlook
    choose = any_foreseen and supply is not None and demand is not None and stock is not None
    deficit = (foreseen_deficit(inp, t, state.online_at, supply, demand, stock) if choose
               else foreseen)
    # fringe capacity: the recorded (base) capacity at reference prices, scaled by the margin
    # relative to the margin at reference prices (the power stays numpy's)
    online_at, illegal = _commit(
        t, state.online_at, commit, foreseen, deficit, choose, inp.incentive_usd_per_kg,
        inp.lead_time_months, inp.start_month, margin ** inp.illegal_supply_elasticity,
        inp.capacity_t_per_yr, state.illegal_capacity, inp.illegal, inp.illegal_max_multiple,
        inp.illegal_rate)
    return CapacityState(expected_netback=expected, loss_months=loss_months, closed=closed,
                         reopen_at=reopen_at, online_at=online_at, illegal_capacity=illegal)


@numba.njit(cache=True, error_model="numpy")
def _commit(t: int, online_at: np.ndarray, commit: np.ndarray, foreseen: np.ndarray,
            deficit: np.ndarray, choose: bool, incentive: np.ndarray, lead_time: np.ndarray,
            start_month: np.ndarray, powered: np.ndarray, capacity: np.ndarray,
            illegal_capacity: np.ndarray, illegal: np.ndarray, max_multiple: np.ndarray,
            rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projects committed and fringe capacity after month ``t``, (M, P) each (numba, cached).

    Per member: with ``choose``, of the projects ``foreseen`` where a ``deficit`` is foreseen the
    one of lowest ``incentive`` price (the first of equals; none if one is NaN or the lowest is
    not finite, as numpy's argmin and min) is committed besides those in ``commit``; a committed
    project comes online at ``max(t + lead_time, start_month)``, the others keep ``online_at``.
    Fringe producers (``illegal``) move their capacity toward the target
    ``capacity[t] x min(max(powered, 0), max_multiple)`` (``powered`` (M, I) the margin to the
    power of the supply elasticity, the fringe producers in order) by ``rate`` (M, 1); other
    producers have none. numpy's operations in numpy's order.
    """
    members, producers = online_at.shape
    online = np.empty_like(online_at)
    out = np.empty((members, producers))
    for m in range(members):
        best = -1
        if choose:
            low = np.inf
            for p in range(producers):
                cost = incentive[m, p] if foreseen[m, p] and deficit[m, p] else np.inf
                if cost != cost:
                    best = -1
                    break
                if cost < low:
                    low, best = cost, p
            if best >= 0 and not math.isfinite(low):
                best = -1
        fringe = 0
        for p in range(producers):
            if commit[m, p] or p == best:
                online[m, p] = max(t + lead_time[p], start_month[p])
            else:
                online[m, p] = online_at[m, p]
            if illegal[p]:
                target = capacity[t, p] * np_minimum(np_maximum(powered[m, fringe], 0.0),
                                                     max_multiple[m, 0])
                out[m, p] = illegal_capacity[m, p] + (target - illegal_capacity[m, p]) * rate[m, 0]
                fringe += 1
            else:
                out[m, p] = 0.0
    return online, out
