"""Cracking and separation: concentrate is routed to a region and separated within its capacity.

Separation takes the region's concentrate stock in its current element mix (a plant separates
the whole feed), limited by capacity and, in China, by the separation quota; recovery losses go
to residues. China's quota is split over its regions by the mining quota allocated to the mines
separated there (the groups hold both quotas), and it covers domestic ore only: imported
concentrate (Mountain Pass in Sichuan, Myanmar ore in South China) is toll-separated in the
capacity the quota leaves idle, in its own stock, until a ``quota`` event with
``covers_imported_ore`` brings it under the quota (the Aug 2025 Interim Measures), which is
then raised by the imported mines' capacity (volume-neutral, an assumption); illegal ore
is separated outside the quota too (by definition). Concentrate
that cannot be separated waits in its stock, and mines slow down when their separator's backlog
grows.

Compiled here: the routes (which region separates each producer's concentrate, month by month,
and what that implies per producer: market, recovery, cost), capacities and quotas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from reesim.dims import DT_YR, ELEMENTS, MONTHS_PER_YEAR
from reesim.model.compiled import np_maximum, np_minimum, sum_elements
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, member_column, monthly
from reesim.model.quotas import extend, packaged_quota
from reesim.model.timeline import step_by_year

CONSTANTS = (
    Constant("backlog_full_months", 3.0, "months", 0.5, 24.0,
             "Mines run normally while their separator holds up to this many months of feed.",
             "assumption"),
    Constant("backlog_stop_months", 6.0, "months", 1.0, 36.0,
             "Mines stop selling concentrate when their separator holds this many months of feed "
             "(output falls linearly between the two backlogs).", "assumption"),
    Constant("residue_full_months", 24.0, "months", 6.0, 240.0,
             "Separators separate all of an element while sellers hold up to this many months "
             "of the world's demand for it (the balance problem: Binnemans & Jones 2015).",
             "assumption"),
    Constant("residue_stop_months", 48.0, "months", 12.0, 480.0,
             "Separators leave all of an element in the residue when sellers hold this many "
             "months of the world's demand for it (the share falls linearly in between).",
             "assumption"),
)

ORDERED = (("backlog_full_months", "backlog_stop_months"),
           ("residue_full_months", "residue_stop_months"))
"""Mines must slow down before they stop; separators cut an element before they drop it."""


SEPARATED_EVERYWHERE = ("La", "Ce", "Pr", "Nd")
"""Elements every separator outside China produces; the others only where and when
``heavy_separation.csv`` lists them, else they leave in a mixed concentrate separated in China
(MP: La, Ce, NdPr and a 'SEG+' concentrate; Lynas' first Dy oxide outside China in May 2025)."""


@dataclass(frozen=True)
class Routes:
    """The distinct routings of concentrate over the run and what each implies per producer.

    Routes change rarely (a few events), so the step looks these up instead of rebuilding them.
    """

    pattern: np.ndarray                 # (T,) index of the month's routing
    onehot: np.ndarray                  # (n, P, R) 1 where producer p's concentrate goes
    region: np.ndarray                  # (n, P) the region where it goes
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
    stockpiling: np.ndarray             # (T, P) bool: mines into a concentrate stock whatever
    #                                     the backlog (concentrate_stockpile events)
    capacity_t_per_yr: np.ndarray       # (T, R) separation capacity
    quota_t_per_yr: np.ndarray          # (T, R) China's separation quota by region (inf: none)
    to_china: np.ndarray                # (T, R, E) share of output sold in China's market: 1
    #                                     in Chinese regions and for elements not separated
    #                                     there (a mixed concentrate), else the offtake share
    exempt: np.ndarray                  # (T, P) bool: concentrate outside the quota (imported
    #                                     until covered, illegal always)
    covers_imports: np.ndarray          # (T,) bool: the quota covers imported concentrate
    routes: Routes
    pool_of: np.ndarray                 # (n, P) the pool each producer's concentrate joins, as
    #                                     an index into (quota-bound, exempt) x R: distinct ones
    pool_pattern: np.ndarray            # (T,) index of the month's row in ``pool_of``
    backlog_full_months: np.ndarray     # (M, 1)
    backlog_stop_months: np.ndarray     # (M, 1)
    residue_full_months: np.ndarray     # (M, 1)
    residue_stop_months: np.ndarray     # (M, 1)


class SeparationResult(NamedTuple):
    """One month of separation; flows in t REO/yr, stock in t REO."""

    separation_feed: np.ndarray         # (M, R, E) concentrate separated
    separation_output: np.ndarray       # (M, R, E) separated oxides
    separation_losses: np.ndarray       # (M, R, E) recovery losses
    separation_residue: np.ndarray      # (M, R, E) recoverable oxide left unseparated
    concentrate_stock: np.ndarray       # (M, R, E) stock after the month (both pools)
    concentrate_pools: np.ndarray       # (M, 2, R, E) quota-bound and exempt stocks
    feed_by_region: np.ndarray          # (M, R) separation_feed summed over elements
    output_by_element: np.ndarray       # (M, E) separation_output summed over regions


def draft(ctx: Context) -> Draft:
    """Default routes, packaged separation capacity and China's national separation quota."""
    steps, years = ctx.timeline.steps, ctx.years
    quota = np.full(steps, np.inf)
    policy = ctx.scenario.policy
    if policy.separation_quotas == "packaged":
        series = packaged_quota(ctx.data, "separation", "total", "national", years)
        quota = monthly(extend(series, years, policy.quota_growth_after_data_pct_per_yr))
    return {         # fresh arrays (events edit the draft): the data's own are read-only
        "route": np.tile(ctx.default_route, (steps, 1)),
        "toll": np.zeros((steps, len(ctx.coords.producers)), bool),
        "stockpiling": np.zeros((steps, len(ctx.coords.producers)), bool),
        "separation_capacity_t_per_yr": monthly(packaged_capacity(ctx)),
        "separation_quota_national_t_per_yr": quota,
        "separation_quota_covers_imports": np.zeros(steps, bool),
        "heavy_separation": heavy_separation(ctx).copy(),
        "china_offtake": china_offtake(ctx).copy(),
    }


def packaged_capacity(ctx: Context) -> np.ndarray:
    """Packaged separation capacity per year of the run and region (Y, R), t REO/yr; read-only."""
    def compute() -> np.ndarray:
        years = ctx.years
        sep_yearly = np.zeros((len(years), len(ctx.coords.regions)))
        for name, rows in ctx.data["separation_capacity"].groupby("region"):
            sep_yearly[:, ctx.region_index(name)] = step_by_year(
                years, rows.year.to_numpy(), rows.capacity_t_reo_per_yr.to_numpy(), 0.0)
        return sep_yearly

    return ctx.data.derived(("separation_capacity", ctx.timeline), compute)


def heavy_separation(ctx: Context) -> np.ndarray:
    """Which region separates which element each month, (T, R, E) bool.

    Chinese regions separate every element; other regions La-Nd, plus the elements
    ``heavy_separation.csv`` lists for them from the month given. The data's alone (once per
    data and timeline): read-only.
    """
    def compute() -> np.ndarray:
        steps, n_r = ctx.timeline.steps, len(ctx.coords.regions)
        able = np.zeros((steps, n_r, len(ELEMENTS)), bool)
        able[:, ctx.region_market == 0, :] = True
        able[:, :, [ELEMENTS.index(e) for e in SEPARATED_EVERYWHERE]] = True
        for row in ctx.data["heavy_separation"].itertuples():
            start = ctx.timeline.index(f"{int(row.year):04d}-{int(row.month):02d}")
            elements = [ELEMENTS.index(e) for e in str(row.elements).split(";")]
            able[start:, ctx.region_index(row.region), elements] = True
        return able

    return ctx.data.derived(("heavy_separation", ctx.timeline), compute)


def china_offtake(ctx: Context) -> np.ndarray:
    """Share of each region's separated elements sold into China's market each month, (T, R, E).

    ``china_offtake.csv`` gives, for a region outside China, the share of its output of the
    listed elements that Chinese buyers take (Lynas' La-Nd: China's imports from Malaysia over
    Lynas' output), from January of the year given until the next row; 0 elsewhere. The
    data's alone (once per data and timeline): read-only.
    """
    def compute() -> np.ndarray:
        steps, n_r = ctx.timeline.steps, len(ctx.coords.regions)
        share = np.zeros((steps, n_r, len(ELEMENTS)))
        years = ctx.years
        for (region, spec), rows in ctx.data["china_offtake"].groupby(["region", "elements"]):
            yearly = step_by_year(years, rows.year.to_numpy(), rows.share_fraction.to_numpy(),
                                  0.0)
            elements = [ELEMENTS.index(e) for e in str(spec).split(";")]
            share[:, ctx.region_index(region), elements] = monthly(yearly)[:, None]
        return share

    return ctx.data.derived(("china_offtake", ctx.timeline), compute)


def quota_weights(ctx: Context, draft: Draft) -> np.ndarray:
    """Weights (T, R) splitting China's separation quota over its regions.

    Each region weighs the mining quota allocated to the legal Chinese mines whose concentrate
    it separates (plus the capacity of imported mines routed there once the quota covers
    imports). Months without any mining allocation fall back to separation capacity.
    """
    from reesim.model.mechanisms import mining  # mining imports this module's Routes

    allocation = mining.quota_allocation(ctx, draft)                               # (T, P)
    china_region = ctx.region_market == 0
    domestic = ctx.mined_in_china & ctx.producers.legal.to_numpy(bool)
    weight = np.where(domestic[None, :] & np.isfinite(allocation), allocation, 0.0)
    foreign = ~ctx.mined_in_china
    covered = draft["separation_quota_covers_imports"][:, None] & foreign[None, :]
    weight = weight + np.where(covered, draft["capacity_t_per_yr"], 0.0)
    onehot = np.eye(len(china_region))[draft["route"]]                 # (T, P, R)
    by_region = np.einsum("tp,tpr->tr", weight, onehot) * china_region[None, :]
    capacity = np.where(china_region[None, :], draft["separation_capacity_t_per_yr"], 0.0)
    none = by_region.sum(axis=1, keepdims=True) <= 0
    return np.where(none, capacity, by_region)


def imports_allowance(ctx: Context, draft: Draft) -> np.ndarray:
    """Room (T,) t REO/yr added to China's separation quota in months it covers imported ore.

    The quota tables (and quota events) give the quota for domestic ore. The 2025 quotas that
    first covered imports were not published (policy.csv 2025-08-22), so the quota is assumed
    volume-neutral: raised by the capacity of the imported mines routed to Chinese separators.
    The measure then decides who separates imports (quota holders, by the quota split) and caps
    them, rather than cutting China's separation.
    """
    china = ctx.region_market == 0
    foreign = ~ctx.mined_in_china
    routed = foreign[None, :] & china[draft["route"]]
    capacity = np.where(routed, draft["capacity_t_per_yr"] * draft["disruption"], 0.0)
    return np.where(draft["separation_quota_covers_imports"], capacity.sum(axis=1), 0.0)


@numba.njit(cache=True, error_model="numpy")
def netback_from_basket(basket: np.ndarray, recovery: np.ndarray,
                        cost: np.ndarray) -> np.ndarray:
    """Netback USD/kg REO in concentrate: basket value x separation recovery - separation cost.

    Numbers or arrays (numba, cached on disk: the netback kernel calls it per producer).
    """
    return basket * recovery - cost


def default_route_cost(ctx: Context, multiplier: np.ndarray) -> np.ndarray:
    """Separation cost of each producer's concentrate on its default route, (M, P) USD/kg REO.

    On the netback's own basis (:func:`reesim.model.mechanisms.mining.netback_usd_per_kg`): a
    separation cost in China is scaled by the member's ``multiplier`` (M, 1).
    """
    route = ctx.default_route
    cost = ctx.regions.separation_cost_usd_per_kg.to_numpy(float)[route]
    in_china = (ctx.region_market == 0)[route]
    return np.where(in_china[None, :], cost[None, :] * multiplier, cost)


def default_route_netback(ctx: Context, basket: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Netback of each producer's concentrate worth ``basket`` (P,) or (M, P) USD/kg REO, (M, P).

    Separated on its default route at :func:`default_route_cost` (the member's ``multiplier``
    (M, 1) on a separation cost in China, as on the cash cost of a mine in China).
    """
    recovery = ctx.regions.separation_recovery_fraction.to_numpy(float)[ctx.default_route]
    # the compiled kernel's Python body: the same formula, run once at build without loading it
    return netback_from_basket.py_func(basket, recovery, default_route_cost(ctx, multiplier))


def build(ctx: Context, draft: Draft) -> SeparationInputs:
    """Routes, capacities, China's separation quota split over its regions, imported ore."""
    regions = ctx.regions
    china = ctx.region_market == 0
    recovery = regions.separation_recovery_fraction.to_numpy(float)
    cost = regions.separation_cost_usd_per_kg.to_numpy(float)
    sep_capacity = draft["separation_capacity_t_per_yr"]
    national = draft["separation_quota_national_t_per_yr"]
    weights = quota_weights(ctx, draft)
    weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    covers = draft["separation_quota_covers_imports"]
    foreign = ~ctx.mined_in_china
    illegal = ~ctx.producers.legal.to_numpy(bool)
    exempt = china[draft["route"]] & ((foreign[None, :] & ~covers[:, None]) | illegal[None, :])
    national = national + imports_allowance(ctx, draft)
    with np.errstate(invalid="ignore"):
        quota = np.where(china[None, :] & np.isfinite(national)[:, None],
                         national[:, None] * weights, np.inf)
    patterns, index = np.unique(draft["route"], axis=0, return_inverse=True)
    routes = Routes(
        pattern=index.reshape(-1), onehot=np.eye(len(recovery))[patterns], region=patterns,
        market=ctx.region_market[patterns], recovery=recovery[patterns],
        cost_usd_per_kg=cost[patterns], in_china=china[patterns])
    pool_of, pool_pattern = pool_routing(routes, exempt)
    p = ctx.params
    return SeparationInputs(
        recovery=recovery, china_region=china,
        planned=(ctx.producers.status == "planned").to_numpy(), toll=draft["toll"],
        stockpiling=draft["stockpiling"],
        capacity_t_per_yr=sep_capacity, quota_t_per_yr=quota,
        to_china=np.where(china[None, :, None] | ~draft["heavy_separation"], 1.0,
                          draft["china_offtake"]), exempt=exempt,
        covers_imports=covers.copy(), routes=routes, pool_of=pool_of,
        pool_pattern=pool_pattern,
        backlog_full_months=member_column(p.backlog_full_months, 1),
        backlog_stop_months=member_column(p.backlog_stop_months, 1),
        residue_full_months=member_column(p.residue_full_months, 1),
        residue_stop_months=member_column(p.residue_stop_months, 1))


def pool_routing(routes: Routes, exempt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows (n, P) of the pool each producer's concentrate joins, each month's (T,) row.

    A producer's concentrate joins the region of its route (``routes``) and the exempt pool
    (1) where ``exempt`` (T, P) says it stays outside China's separation quota, else pool 0;
    the pool is indexed ``pool * R + region``, as (pool, region) flattened.
    """
    keys = np.concatenate([routes.pattern[:, None], exempt], axis=1).astype(np.int64)
    _, first, index = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    regions = routes.onehot.shape[2]
    pool_of = routes.region[routes.pattern[first]] + regions * exempt[first].astype(np.int64)
    return pool_of.astype(np.int64), index.reshape(-1)


def routing(inp: SeparationInputs, t: int) -> np.ndarray:
    """Where each producer's concentrate goes in month ``t``, (P, R) one-hot."""
    return inp.routes.onehot[inp.routes.pattern[t]]


def separation_limit(inp: SeparationInputs, t: int, mine_capacity: np.ndarray) -> np.ndarray:
    """Separation a region can do this month by pool, (M, 2, R) t REO feed/yr.

    Pool 0 is concentrate under China's separation quota: the plant capacity within the
    region's quota share. Pool 1 is imported concentrate outside the quota: the plant capacity
    the quota leaves idle (``separate`` adds what pool 0 leaves unused). Besides the region's own
    capacity, integrated projects (planned producers once online) and toll-treatment routes
    bring the capacity of their mine (``mine_capacity``, (M, P) t REO/yr) to the region that
    separates their concentrate.
    """
    return _separation_limit(t, mine_capacity, inp.planned, inp.toll, routing(inp, t),
                             inp.capacity_t_per_yr, inp.quota_t_per_yr)


@numba.njit(cache=True, error_model="numpy")
def _separation_limit(t: int, mine_capacity: np.ndarray, planned: np.ndarray, toll: np.ndarray,
                      routes: np.ndarray, capacity: np.ndarray, quota: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`separation_limit` per member and region (numba, cached on disk).

    ``mine_capacity`` (M, P) t/yr; ``planned`` (P,), ``toll`` (T, P) bool; the month's routing
    ``routes`` (P, R) one-hot (:func:`routing`); ``capacity`` and ``quota`` (T, R) t/yr. A
    region's plant is its capacity plus ``sum_p (planned | toll) x mine_capacity x routes``
    (numpy's einsum: a
    running sum over producers in order from 0.0, zeros included); pool 0 takes
    ``min(plant, quota)``, pool 1 ``max(plant - pool 0, 0)``. numpy's operations in numpy's
    order, so the numbers are the ones it gave. Compiled because as numpy these were an einsum
    and a dozen small operations a month.
    """
    members, producers = mine_capacity.shape
    regions = routes.shape[1]
    limit = np.empty((members, 2, regions))
    extra = np.empty(regions)
    for m in range(members):
        extra[:] = 0.0
        for p in range(producers):
            brought = (1.0 if planned[p] or toll[t, p] else 0.0) * mine_capacity[m, p]
            for r in range(regions):
                extra[r] += brought * routes[p, r]
        for r in range(regions):
            plant = capacity[t, r] + extra[r]
            bound = np_minimum(plant, quota[t, r])
            limit[m, 0, r] = bound
            limit[m, 1, r] = np_maximum(plant - bound, 0.0)
    return limit


def backlog_factor(inp: SeparationInputs, t: int, concentrate: np.ndarray,
                   limit: np.ndarray) -> np.ndarray:
    """Share of desired output mines can sell given their separator's backlog, (M, P).

    The backlog is counted in months of feed of the pool (quota-bound or exempt) that takes
    the producer's concentrate; ``concentrate`` is (M, 2, R, E), ``limit`` (M, 2, R). A
    producer that stockpiles its concentrate this month (``stockpiling``) is not cut.
    """
    return _backlog_factor(t, concentrate, limit, inp.backlog_full_months,
                           inp.backlog_stop_months, inp.routes.pattern, inp.routes.region,
                           inp.exempt, inp.stockpiling)


@numba.njit(cache=True, error_model="numpy")
def _backlog_factor(t: int, concentrate: np.ndarray, limit: np.ndarray, full: np.ndarray,
                    stop: np.ndarray, pattern: np.ndarray, region: np.ndarray,
                    exempt: np.ndarray, stockpiling: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`backlog_factor` per member and producer (numba, cached on disk).

    Per member, pool and region: the stock ``concentrate`` (M, 2, R, E) summed over elements
    (:func:`sum_elements`) in months of the feed ``limit`` (M, 2, R),
    ``stock / max(limit / 12, 1e-9)``, gives the factor
    ``min(max((stop - months) / (stop - full), 0), 1)`` (``full``, ``stop`` (M, 1) months). A
    producer takes the factor of its region (``region[pattern[t]]``) in the exempt pool where
    ``exempt`` (T, P), else in the quota-bound pool; 1 where ``stockpiling`` (T, P). numpy's
    operations in numpy's order, so the numbers are the ones it gave. Compiled because as numpy
    these were a dozen small operations a month.
    """
    members, pools, regions, _ = concentrate.shape
    routes = region[pattern[t]]
    producers = routes.shape[0]
    factor = np.empty((pools, regions))
    out = np.empty((members, producers))
    for m in range(members):
        for k in range(pools):
            for r in range(regions):
                months = (sum_elements(concentrate[m, k, r])
                          / np_maximum(limit[m, k, r] / MONTHS_PER_YEAR, 1e-9))
                factor[k, r] = np_minimum(np_maximum((stop[m, 0] - months)
                                                     / (stop[m, 0] - full[m, 0]), 0.0), 1.0)
        for p in range(producers):
            if stockpiling[t, p]:
                out[m, p] = 1.0
            else:
                out[m, p] = factor[1 if exempt[t, p] else 0, routes[p]]
    return out


def separated_share(inp: SeparationInputs, held: np.ndarray,
                    world_demand: np.ndarray) -> np.ndarray:
    """Share (M, E) of each element's recoverable oxide that separators separate this month.

    The balance problem: ores carry La, Ce, Sm, Gd and Y in fixed ratios to the Nd and Dy that
    pay for the mines, so sellers can end up holding years of the world's demand for them. A
    separator then stops separating such an element and leaves it unseparated (in a mixed
    product or the residue; the packaged record does not say which) rather than add to stocks
    nobody buys. ``held`` (M, E) t are sellers' stocks (producers in both markets and the
    trading company's stock beyond its reserve; consumers' working stocks, the state reserve and
    the company's reserve are not for sale: counting the company's reserve as a glut stopped
    scandium's separation from 2017 in `baotou-china-spike` and sent its price to the choke,
    thirty-seventh session),
    ``world_demand`` (M, E) t/yr; the share is 1 up to ``residue_full_months`` of that demand
    held, 0 from ``residue_stop_months``, linear in between. One world signal for every
    separator: the glut is the world's. Before the thirty-first session (2026-12-05) every
    separator separated everything, and `baotou`'s holders held 0.99 Mt of oxides in 2024 and
    7.0 Mt in 2050 (Ce 3.6 Mt, 66 years of demand).
    """
    return _separated_share(held, world_demand, inp.residue_full_months,
                            inp.residue_stop_months)


@numba.njit(cache=True, error_model="numpy")
def _separated_share(held: np.ndarray, world_demand: np.ndarray, full: np.ndarray,
                     stop: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`separated_share` (numba, cached), (M, E).

    Months held ``held / max(world_demand / 12, 1e-9)``; the share
    ``min(max((stop - months) / (stop - full), 0), 1)`` with the member's thresholds (M, 1)
    (numpy's clip, NaN rules kept).
    """
    members, elements = held.shape
    share = np.empty((members, elements))
    for m in range(members):
        for e in range(elements):
            months = held[m, e] / np_maximum(world_demand[m, e] / MONTHS_PER_YEAR, 1e-9)
            share[m, e] = np_minimum(np_maximum((stop[m, 0] - months)
                                                / (stop[m, 0] - full[m, 0]), 0.0), 1.0)
    return share


def separate(inp: SeparationInputs, t: int, concentrate: np.ndarray, mine_output: np.ndarray,
             limit: np.ndarray, share: np.ndarray) -> SeparationResult:
    """Route this month's mine output (M, P, E) and separate what ``limit`` (M, 2, R) allows.

    ``concentrate`` (M, 2, R, E) holds the quota-bound and the exempt (imported) stocks; the
    exempt pool uses the plant capacity the quota-bound pool leaves, so imports fill idle
    capacity. Once the quota covers imports the exempt stock joins the quota-bound one. Losses
    are feed x (1 - recovery); of the recoverable rest, ``share`` (M, E)
    (:func:`separated_share`) becomes separated oxide and the remainder stays in the residue,
    each computed from the feed, so the separation balance (feed = output + losses + residue)
    checks the bookkeeping.
    """
    # each producer's concentrate joins one pool: a pool's inflow is the sum of its producers'
    return SeparationResult(*_separate_stocks(
        concentrate, mine_output, inp.pool_of[inp.pool_pattern[t]], limit, inp.recovery,
        bool(inp.covers_imports[t]), share))


@numba.njit(cache=True)
def _separate_stocks(concentrate: np.ndarray, mine_output: np.ndarray, pool_of: np.ndarray,
                     limit: np.ndarray, recovery: np.ndarray,
                     merge: bool, share: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arithmetic of :func:`separate` for each member and region (numba, cached on disk).

    ``concentrate`` (M, 2, R, E) t holds the pools' stocks; ``mine_output`` (M, P, E) t/yr
    arrives in pool ``pool_of[p]`` (an index into the pools flattened to 2R), each pool's
    inflow the sum of its producers' output in producer order; ``limit`` (M, 2, R) t feed/yr;
    ``merge`` moves the exempt stock into the quota-bound one first. Per pool the stock is
    ``pool + inflow * DT_YR``; the quota-bound pool separates
    ``min(limit_0 * DT_YR / stock, 1)`` of its stock, the exempt pool the same share of the
    capacity left idle (``limit_1 + limit_0 - separated_0 / DT_YR``). Feed is the separated
    stock per year summed over pools, output ``feed * recovery * share``, losses
    ``feed * (1 - recovery)``, residue ``feed * recovery * (1 - share)`` (``share`` (M, E); a
    share of 1 gives exactly the output and zero residue). Returns the fields of
    :class:`SeparationResult` in order: feed, output, losses, residue, the stock summed over
    pools (M, R, E), the pools (M, 2, R, E), the feed summed over elements (M, R) and the
    output summed over regions in order (M, E).

    Compiled because as numpy each of these small (member, pool, region) x element products
    cost a loop over members and regions per element row (about a tenth of an ensemble's run);
    the operations and the order of every sum are numpy's (:func:`sum_elements`), so the
    numbers are the same, whatever the batch.
    """
    members, _, regions, elements = concentrate.shape
    feed = np.empty((members, regions, elements))
    output = np.empty_like(feed)
    losses = np.empty_like(feed)
    residue = np.empty_like(feed)
    stock_after = np.empty_like(feed)
    pools_after = np.empty_like(concentrate)
    feed_by_region = np.empty((members, regions))
    output_by_element = np.zeros((members, elements))
    stock = np.empty((2, elements))
    taken = np.empty(2)
    inflow = np.empty((2, regions, elements))
    for m in range(members):
        inflow[...] = 0.0
        for p in range(mine_output.shape[1]):
            pool, region = divmod(pool_of[p], regions)
            for e in range(elements):
                inflow[pool, region, e] += mine_output[m, p, e]
        for r in range(regions):
            for e in range(elements):
                if merge:
                    pool_0 = concentrate[m, 0, r, e] + concentrate[m, 1, r, e]
                    pool_1 = 0.0
                else:
                    pool_0, pool_1 = concentrate[m, 0, r, e], concentrate[m, 1, r, e]
                stock[0, e] = pool_0 + inflow[0, r, e] * DT_YR
                stock[1, e] = pool_1 + inflow[1, r, e] * DT_YR
            bound_total = sum_elements(stock[0])
            exempt_total = sum_elements(stock[1])
            taken[0] = np_minimum(limit[m, 0, r] * DT_YR / np_maximum(bound_total, 1e-300),
                                  1.0) if bound_total > 0 else 0.0
            room = limit[m, 1, r] + limit[m, 0, r] - bound_total * taken[0] / DT_YR  # t/yr idle
            taken[1] = np_minimum(np_maximum(room, 0.0) * DT_YR / np_maximum(exempt_total, 1e-300),
                                  1.0) if exempt_total > 0 else 0.0
            for e in range(elements):
                fed = 0.0
                left = 0.0
                for k in range(2):
                    fed += stock[k, e] * (taken[k] / DT_YR)
                    pools_after[m, k, r, e] = stock[k, e] * (1.0 - taken[k])
                    left += pools_after[m, k, r, e]
                feed[m, r, e] = fed
                recoverable = fed * recovery[r]
                output[m, r, e] = recoverable * share[m, e]
                losses[m, r, e] = fed * (1.0 - recovery[r])
                residue[m, r, e] = recoverable * (1.0 - share[m, e])
                stock_after[m, r, e] = left
                output_by_element[m, e] += output[m, r, e]
            feed_by_region[m, r] = sum_elements(feed[m, r])
    return (feed, output, losses, residue, stock_after, pools_after, feed_by_region,
            output_by_element)


def deliveries(inp: SeparationInputs, t: int, output: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """Separated output (M, R, E) t/yr delivered to China's and to the export market, (M, E) each.

    Chinese regions sell in China; a region outside China sells what it separates in the export
    market, less the share Chinese buyers take (``china_offtake.csv``: about half of Lynas'
    La-Nd in 2017-2022, China's imports from Malaysia), and sends the elements it cannot
    separate (in a mixed concentrate) to China.
    """
    return _deliveries(output, inp.to_china[t])


@numba.njit(cache=True)
def _deliveries(output: np.ndarray, to_china: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sums of :func:`deliveries`, compiled (numba, cached on disk).

    ``output`` (M, R, E) t/yr is summed over regions in order into China's and the export
    market by ``to_china`` (R, E), the share sold in China: a share of 1 or 0 adds the whole
    output to one market (the numbers of numpy's sums of the masked arrays: adding their zeros
    to a sum that starts at +0.0 changes nothing); a share in between adds ``output * share``
    to China's and the rest, ``output - output * share``, to the export market.
    """
    members, regions, elements = output.shape
    china = np.zeros((members, elements))
    abroad = np.zeros((members, elements))
    for m in range(members):
        for r in range(regions):
            for e in range(elements):
                share = to_china[r, e]
                if share == 1.0:
                    china[m, e] += output[m, r, e]
                elif share == 0.0:
                    abroad[m, e] += output[m, r, e]
                else:
                    taken = output[m, r, e] * share
                    china[m, e] += taken
                    abroad[m, e] += output[m, r, e] - taken
    return china, abroad
