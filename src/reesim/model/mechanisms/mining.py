"""Mining with co-production: every producer yields all elements in its deposit's proportions.

A producer's decision is one number, its utilization of available capacity, driven by the basket
netback (sum over elements of price x share x separation recovery, minus separation cost)
against its cash cost; Bayan Obo's ore limit and China's mining quotas then cap output (and the
market regime may cap its members' output, see :mod:`.regimes`). What is mined but not
recovered goes to tailings; reserves fall by the REO in the ore mined and, while a mine pays,
grow by exploration and resource conversion (``reserve_replacement_ratio``).

Compiled here: deposit element shares, costs, recoveries, Bayan Obo's REO in iron ore, and the
allocation of China's mining quota to producers (Bayan Obo its own allocation, the other legal
producers of a segment pro rata to capacity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from reesim.dims import DT_YR, ELEMENTS
from reesim.model.compiled import einsum_dot, np_maximum, np_minimum, numpy_power, sum_elements
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, member_column, monthly, monthly_rate
from reesim.model.mechanisms.capacity import capacity_history, recorded_capacity
from reesim.model.mechanisms.separation import Routes, default_route_netback, netback_from_basket
from reesim.model.quotas import extend, fill_split, nearest_known, packaged_quota
from reesim.model.timeline import step_by_year
from reesim.scenario.schema import QuotaEvent

CONSTANTS = (
    Constant("bayan_obo_quota_share_fallback", 0.5, "fraction of the light quota", 0.0, 1.0,
             "Bayan Obo's share of China's light-REE mining quota when no year of the quota "
             "table gives its own allocation (the packaged table does; this only acts on "
             "edited data).", "assumption", level="run"),
    Constant("reserve_replacement_ratio", 1.0, "t added / t depleted", 0.0, 1.5,
             "While a mine earns more than its cash cost, exploration and resource conversion "
             "add reserves at this ratio to the REO in the ore it mines (0: a reserve figure is "
             "all there is). Reserves grew while they were mined: USGS world reserves 88 Mt "
             "(MCS2007, 2006) and 110 Mt (MCS2024, 2023), China 27 and 44 Mt, Australia 5.2 and "
             "5.7 Mt, while about 3.5 Mt REO were mined worldwide in between.",
             "USGS Mineral Commodity Summaries 2007 and 2024 (production_by_country.csv); "
             "ratio 1.0 an estimate (replacement at least kept pace)"),
)
MUSD_PER_T_TIMES_USD_PER_KG = 1e-3
"""t/yr x USD/kg = 1,000 USD/yr = 1e-3 MUSD/yr (revenue is recorded in MUSD/yr)."""
SEGMENTS = ("light", "ionic")
"""China's mining quota segments (quota_segment of producers.csv; others are not capped)."""


@dataclass(frozen=True)
class MiningInputs:
    """Compiled inputs of mining (schedules (T, ...), member values (M, ...))."""

    distribution: np.ndarray            # (P, E) share of each element in the producer's REO
    producer_axis: np.ndarray           # (P,) 0..P-1, for picking each producer's market
    byproduct: np.ndarray               # (P,) bool: Bayan Obo-like (ore driven by iron)
    legal: np.ndarray                   # (P,) bool
    china_producer: np.ndarray          # (P,) bool: mined in China
    mining_recovery: np.ndarray         # (P,) fraction of REO in ore recovered to concentrate
    reserves_t: np.ndarray              # (P,) initial reserve, t REO in situ (inf if unknown)
    reference_netback_usd_per_kg: np.ndarray  # (M, P) at reference prices, default route
    byproduct_ore_t_per_yr: np.ndarray  # (T,) REO in ore mined at Bayan Obo
    byproduct_recovery: np.ndarray      # (T,) share of that REO recovered to concentrate
    recovery: np.ndarray                # (T, P) mining recovery in force (data, events, and
    #                                     Bayan Obo's recovery of the REO in its iron ore)
    quota_t_per_yr: np.ndarray          # (T, P) producer's quota allocation (inf: none)
    national_quota_t_per_yr: np.ndarray  # (T,) China's total mining quota, reported (inf: none)
    cash_cost_usd_per_kg: np.ndarray    # (M, P) Chinese costs scaled by china_cost_multiplier
    china_cost_multiplier: np.ndarray   # (M, 1)
    supply_steepness: np.ndarray        # (M, 1)
    utilization_rate: np.ndarray        # (M, 1) share of the utilization gap closed a month
    reserve_replacement_ratio: np.ndarray  # (M, 1) t reserve added per t REO in ore mined


class MiningResult(NamedTuple):
    """One month of mining, flows in t REO/yr (element-resolved ones are recorded as named)."""

    mine_output: np.ndarray      # (M, P, E) recovered to concentrate
    ore_mined: np.ndarray        # (M, P, E) REO in ore mined
    tailings_inflow: np.ndarray  # (M, P, E) REO in ore not recovered
    total_output: np.ndarray     # (M, P)
    revenue: np.ndarray          # (M, P) MUSD/yr, output at netback
    reserve_additions: np.ndarray  # (M, P) t REO/yr added to reserves by exploration
    ore_by_producer: np.ndarray  # (M, P) ore_mined summed over elements
    tailings_by_element: np.ndarray  # (M, E) tailings_inflow summed over producers


def _deposit_shares(deposits: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each deposit's element shares (E,), normalised to sum 1."""
    table = deposits.pivot_table(index="deposit", columns="element", values="share_pct",
                                 aggfunc="first").reindex(columns=list(ELEMENTS)).fillna(0.0)
    return {str(k): row / row.sum() for k, row in zip(table.index, table.to_numpy(float),
                                                        strict=True)}


def _distribution(spec: str, shares: dict[str, np.ndarray]) -> np.ndarray:
    """Normalised element shares of a deposit id or a blend ``a:0.5;b:0.5``."""
    total = np.zeros(len(ELEMENTS))
    for part in str(spec).split(";"):
        key, _, weight = part.partition(":")
        total += (float(weight) if weight else 1.0) * shares[key.strip()]
    return total / total.sum()


def distribution(ctx: Context) -> np.ndarray:
    """Element shares of every producer's REO, (P, E): the data's alone, read-only."""
    def compute() -> np.ndarray:
        shares = _deposit_shares(ctx.data["deposits"])
        return np.stack([_distribution(s, shares) for s in ctx.producers.distribution])

    return ctx.data.derived(("distribution",), compute)


def _packaged_segments(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """Packaged light and ionic quotas (Y, 2) and national total (Y,), t REO/yr (inf: none).

    Read-only; computed once per data, run years and growth after the data.
    """
    g = ctx.scenario.policy.quota_growth_after_data_pct_per_yr
    return ctx.data.derived(("packaged_segments", ctx.timeline, g),
                            lambda: _read_segments(ctx, g))


def _read_segments(ctx: Context, g: float) -> tuple[np.ndarray, np.ndarray]:
    data, years = ctx.data, ctx.years
    total = packaged_quota(data, "mining", "total", "national", years)
    light = fill_split(total, packaged_quota(data, "mining", "light", "national", years))
    ionic = fill_split(total, packaged_quota(data, "mining", "ionic", "national", years))
    light, ionic, total = (extend(s, years, g) for s in (light, ionic, total))
    return np.stack([light, ionic], axis=1), total


def segment_shares(ctx: Context) -> np.ndarray:
    """Each segment's share of China's mining quota, (T, 2), from the nearest year published.

    Splits a total quota set by an event where no segment quota is in force (before 2006, or
    under ``policy.mining_quotas: none``); the nearest year is searched in the whole quota table,
    not only the run's years. Without any published year, the segments share equally.
    """
    q = ctx.data["quotas"]
    years = np.arange(min(int(q.year.min()), int(ctx.years[0])),
                      max(int(q.year.max()), int(ctx.years[-1])) + 1)
    total = packaged_quota(ctx.data, "mining", "total", "national", years)
    light = fill_split(total, packaged_quota(ctx.data, "mining", "light", "national", years))
    ionic = fill_split(total, packaged_quota(ctx.data, "mining", "ionic", "national", years))
    share = light / (light + ionic)
    nearest = nearest_known(share)
    light_share = np.full(len(years), 0.5) if nearest is None else share[nearest]
    light_share = light_share[ctx.years - years[0]]
    return monthly(np.stack([light_share, 1.0 - light_share], axis=1))


def apply_quota_event(ctx: Context, draft: Draft, event: QuotaEvent) -> None:
    """Set China's mining quota (a segment or the total) for the event's window.

    A total is split over the segments in proportion to the quotas in force, or, where none (or
    a zero quota) is in force (before quotas began or under ``policy.mining_quotas: none``), by
    the published segments' shares of the nearest year: an event sets a quota where none existed.
    """
    seg = draft["mining_quota_segments_t_per_yr"]
    window = ctx.timeline.window(event.start, event.end)
    value = event.value_t_reo_per_yr
    if event.segment == "total":
        base = seg[window].sum(axis=1, keepdims=True)
        split = np.isfinite(base) & (base > 0)     # else no (or a zero) quota was in force
        factor = value / np.where(split, base, 1.0)
        with np.errstate(invalid="ignore"):          # inf x factor where no quota was in force
            scaled = seg[window] * factor
        seg[window] = np.where(split, scaled, value * segment_shares(ctx)[window])
    else:
        seg[window, SEGMENTS.index(event.segment)] = value
    draft["national_mining_quota_t_per_yr"][window] = seg[window].sum(axis=1)


def _bayan_obo_series(ctx: Context, years: np.ndarray, column: str) -> np.ndarray:
    """A column of bayan_obo.csv in ``years`` (held before and after the table); read-only."""
    def compute() -> np.ndarray:
        bo = ctx.data["bayan_obo"]
        first = bo.sort_values("year").iloc[0]
        return step_by_year(years, bo.year.to_numpy(), bo[column].to_numpy(),
                            float(first[column]))

    return ctx.data.derived(("bayan_obo", column, tuple(years.tolist())), compute)


def _bayan_obo_ore_t_reo(ctx: Context, years: np.ndarray) -> np.ndarray:
    """REO in the iron ore mined at Bayan Obo in ``years``, (Y,) t REO/yr."""
    return (_bayan_obo_series(ctx, years, "iron_ore_mt_per_yr") * 1e6
            * _bayan_obo_series(ctx, years, "reo_grade_pct") / 100.0)


def draft(ctx: Context) -> Draft:
    """Bayan Obo's ore and recovery, no recovery overrides, China's mining quota by segment."""
    years, steps = ctx.years, ctx.timeline.steps
    recovery_pct = _bayan_obo_series(ctx, years, "re_recovery_pct")
    if ctx.scenario.policy.mining_quotas == "packaged":
        segments, total = _packaged_segments(ctx)
        segments, national = monthly(segments), monthly(total).astype(float)  # fresh copies
    else:
        segments, national = np.full((steps, 2), np.inf), np.full(steps, np.inf)
    return {
        "byproduct_ore_t_per_yr": monthly(_bayan_obo_ore_t_reo(ctx, years)),
        "byproduct_recovery": monthly(recovery_pct / 100.0),
        "recovery_override": np.full((steps, len(ctx.coords.producers)), np.nan),
        "mining_quota_segments_t_per_yr": segments,
        "national_mining_quota_t_per_yr": national,
    }


def _bayan_obo_share(ctx: Context, light: np.ndarray) -> np.ndarray:
    """Bayan Obo's share of the light quota per year (nearest known year where not published)."""
    quotas, years = ctx.data["quotas"], ctx.years
    alloc = np.full(len(years), np.nan)
    for holder in sorted(set(quotas.holder) - {"national"}):
        rows = packaged_quota(ctx.data, "mining", "light", holder, years)
        alloc = np.where(np.isfinite(rows), rows, alloc)
    share = alloc / np.where(np.isfinite(light), light, np.nan)
    nearest = nearest_known(share)
    if nearest is None:
        return np.full(len(years), float(ctx.params.bayan_obo_quota_share_fallback[0]))
    return np.clip(share[nearest], 0.0, 1.0)


def quota_allocation(ctx: Context, draft: Draft) -> np.ndarray:
    """The per-producer mining quota (T, P) t REO/yr of this build's draft, computed once.

    Mining caps producers with it; separation splits China's separation quota by it; the
    trading company plans at least its members' share of it.
    """
    return ctx.memo("quota_allocation", lambda: allocate_quota(
        ctx, draft["mining_quota_segments_t_per_yr"]))


def allocate_quota(ctx: Context, segments: np.ndarray) -> np.ndarray:
    """Per-producer mining quota (T, P) t REO/yr from the segment quotas (T, 2).

    Bayan Obo gets its own allocation (its share of the light quota in the nearest year known);
    the other legal Chinese producers of a segment share the rest of that segment in proportion
    to their capacity. A segment without a quota (inf) caps nobody.
    """
    producers = ctx.producers
    legal = producers.legal.to_numpy(bool)
    byproduct = producers.byproduct_of_iron.to_numpy(bool)
    segment = np.array([SEGMENTS.index(s) if s in SEGMENTS else -1
                        for s in producers.quota_segment])
    nameplate = producers.capacity_t_reo_per_yr.to_numpy(float)
    per_producer = np.full((ctx.timeline.steps, len(segment)), np.inf)
    capacity = monthly(capacity_history(ctx))
    byproduct_ids = np.flatnonzero(byproduct & legal)
    light_packaged = _packaged_segments(ctx)[0][:, 0]
    for seg in (0, 1):
        members = np.flatnonzero((segment == seg) & legal)
        remaining = segments[:, seg].copy()
        if seg == 0:
            for p in byproduct_ids:
                share = _bayan_obo_share(ctx, light_packaged)
                alloc = np.nan_to_num(monthly(share) * segments[:, 0], posinf=0.0)
                per_producer[:, p] = alloc
                remaining = remaining - alloc
            members = np.setdiff1d(members, byproduct_ids)
        weights = capacity[:, members] + nameplate[members] * 1e-6
        weights = weights / weights.sum(axis=1, keepdims=True)
        per_producer[:, members] = np.maximum(remaining, 0.0)[:, None] * weights
    # before quotas existed (or where a segment has none) nothing is capped
    unlimited = ~np.isfinite(segments)
    for seg in (0, 1):
        members = (segment == seg) & legal
        per_producer[np.ix_(unlimited[:, seg], members)] = np.inf
    return per_producer


def reference_netback(ctx: Context, dist: np.ndarray, multiplier: np.ndarray) -> np.ndarray:
    """Netback of each producer at reference prices on its default route, (M, P) USD/kg.

    Until 2026-12-08 the separation cost in China was not scaled by the member's cost
    multiplier here, though the cash cost beside it and the netback it is set against were, so
    the fringe's margin at reference prices came out 0.75 of the one it is measured against,
    not 1.
    """
    anchors = ctx.ordered("price_anchors", "element", ELEMENTS)
    return default_route_netback(ctx, dist @ anchors.reference_price_usd_per_kg.to_numpy(float),
                                 multiplier)


def reserve_at_start(ctx: Context) -> np.ndarray:
    """Each producer's reserve at the run start, (P,) t REO in situ (NaN: unknown).

    A reserve figure dated after the run start (``reserve_year``) is what remained then, so the
    REO in the ore mined from the run start to that year is added back: recorded output
    (``capacity_history.csv``) / mining recovery, for Bayan Obo the REO in the iron ore mined
    (an estimate: the record, not the model's output). Without this, Maoniuping's end-2007
    resource would be depleted from 2000 and run out years early. The years counted run to the
    reserve year whatever the run's last year, so a short run starts from the same reserves.
    Read-only: it depends on the data and the start year only, and is computed once for them.
    """
    def compute() -> np.ndarray:
        producers = ctx.producers
        reserve = producers.reserve_t_reo.to_numpy(dtype=float)
        dated = producers.reserve_year.to_numpy(dtype=float)
        start = ctx.timeline.start_year
        last = int(np.nanmax(dated)) if np.isfinite(dated).any() else start
        years = np.arange(start, max(last, start + 1))             # years before a reserve year
        ore = (recorded_capacity(ctx, years)
               / producers.mining_recovery_fraction.to_numpy(float)[None, :])
        iron = _bayan_obo_ore_t_reo(ctx, years)                                    # (Y,)
        ore = np.where(producers.byproduct_of_iron.to_numpy(bool)[None, :], iron[:, None], ore)
        with np.errstate(invalid="ignore"):                      # NaN year: nothing to add
            before = years.astype(float)[:, None] < dated[None, :]
        return reserve + (ore * before).sum(axis=0)

    return ctx.data.derived(("reserve_at_start", ctx.timeline.start_year), compute)


def build(ctx: Context, draft: Draft) -> MiningInputs:
    """Mining inputs: data arrays, the quota allocation and per-member costs."""
    producers, p = ctx.producers, ctx.params
    dist = distribution(ctx)
    china = ctx.mined_in_china
    reserve = reserve_at_start(ctx)
    multiplier = member_column(p.china_cost_multiplier, 1)
    scale = np.where(china[None, :], multiplier, 1.0)
    byproduct = producers.byproduct_of_iron.to_numpy(bool)
    recovery = producers.mining_recovery_fraction.to_numpy(float)
    return MiningInputs(
        distribution=dist.copy(), producer_axis=np.arange(len(dist)), byproduct=byproduct,
        legal=producers.legal.to_numpy(bool), china_producer=china, mining_recovery=recovery,
        reserves_t=np.where(np.isnan(reserve), np.inf, reserve),
        reference_netback_usd_per_kg=reference_netback(ctx, dist, multiplier),
        byproduct_ore_t_per_yr=draft["byproduct_ore_t_per_yr"],
        byproduct_recovery=draft["byproduct_recovery"],
        recovery=recovery_in_force(recovery, byproduct, draft["byproduct_recovery"],
                                   draft["recovery_override"]),
        quota_t_per_yr=quota_allocation(ctx, draft),
        national_quota_t_per_yr=draft["national_mining_quota_t_per_yr"],
        cash_cost_usd_per_kg=producers.cash_cost_usd_per_kg.to_numpy(float)[None, :] * scale,
        china_cost_multiplier=multiplier,
        supply_steepness=member_column(p.supply_steepness, 1),
        utilization_rate=member_column(monthly_rate(p.utilization_adjustment_time_yr), 1),
        reserve_replacement_ratio=member_column(p.reserve_replacement_ratio, 1),
    )


def recovery_in_force(data: np.ndarray, byproduct: np.ndarray, byproduct_recovery: np.ndarray,
                      override: np.ndarray) -> np.ndarray:
    """Mining recovery in force, (T, P).

    The data value ``data`` (P,) unless an event overrides it (``override``, NaN: none);
    Bayan Obo-like producers (``byproduct``) at the recovery of their ore (T,).
    """
    recovery = np.where(np.isnan(override), data, override)
    return np.where(byproduct, byproduct_recovery[:, None], recovery)


def netback_usd_per_kg(inp: MiningInputs, routes: Routes, t: int,
                       price: np.ndarray) -> np.ndarray:
    """Basket netback of each producer's concentrate, (M, P) USD/kg REO.

    Value of the separated oxides at the prices (M, K, E) of the market where the concentrate is
    separated this month, times separation recovery, minus that region's separation cost
    (Chinese costs scaled by ``china_cost_multiplier``).
    """
    return _netback(price, inp.distribution, routes.pattern[t], routes.market, routes.recovery,
                    routes.cost_usd_per_kg, routes.in_china, inp.china_cost_multiplier)


@numba.njit(cache=True, error_model="numpy")
def _netback(price: np.ndarray, distribution: np.ndarray, k: int, market: np.ndarray,
             recovery: np.ndarray, cost: np.ndarray, in_china: np.ndarray,
             multiplier: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`netback_usd_per_kg` (numba, cached on disk), (M, P) USD/kg.

    Per member and producer: the basket value of its ``distribution`` (P, E) at the ``price``
    (M, K, E) of the market of the routing ``k`` (``market`` (n, P); numpy's einsum order,
    :func:`~reesim.model.compiled.einsum_dot`), times the separation ``recovery`` (n, P),
    minus the separation ``cost`` (n, P), times the member's ``multiplier`` (M, 1) where
    separated in China (``in_china``): :func:`netback_from_basket`, numpy's operations in
    numpy's order. Compiled because as numpy the basket, the picking and the costing were an
    einsum and half a dozen operations a month.
    """
    members = price.shape[0]
    producers = distribution.shape[0]
    out = np.empty((members, producers))
    for m in range(members):
        for p in range(producers):
            basket = einsum_dot(price[m, market[k, p]], distribution[p])
            sep_cost = cost[k, p] * (multiplier[m, 0] if in_china[k, p] else 1.0)
            out[m, p] = netback_from_basket(basket, recovery[k, p], sep_cost)
    return out


def utilization_target(inp: MiningInputs, netback: np.ndarray) -> np.ndarray:
    """Desired utilization, (M, P): a smooth supply curve 1 / (1 + (netback / cost) ** -steepness).

    Half of capacity runs when netback equals cash cost (an aggregate producer has a spread of
    costs); steepness 4 gives 94% at twice the cost and 6% at half of it.
    """
    return _utilization_target(netback, inp.cash_cost_usd_per_kg, inp.supply_steepness)


@numba.njit(cache=True, error_model="numpy")
def _utilization_target(netback: np.ndarray, cash_cost: np.ndarray,
                        steepness: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`utilization_target` (numba, cached), (M, P).

    ``ratio = max(netback, 1e-9) / cash cost``, ``1 / (1 + ratio ** -steepness)`` with the
    member's ``steepness`` (M, 1), numpy's power of a (M, 1) exponent
    (:func:`~reesim.model.compiled.numpy_power`).
    """
    members, producers = netback.shape
    out = np.empty((members, producers))
    for m in range(members):
        exponent = -steepness[m, 0]
        for p in range(producers):
            ratio = np_maximum(netback[m, p], 1e-9) / cash_cost[m, p]
            out[m, p] = 1.0 / (1.0 + numpy_power(ratio, exponent, members == 1))
    return out


def adjust_utilization(inp: MiningInputs, utilization: np.ndarray,
                       target: np.ndarray) -> np.ndarray:
    """Utilization moves toward its target by the month's adjustment fraction, (M, P)."""
    return _adjust_utilization(utilization, target, inp.utilization_rate)


@numba.njit(cache=True, error_model="numpy")
def _adjust_utilization(utilization: np.ndarray, target: np.ndarray,
                        rate: np.ndarray) -> np.ndarray:
    """``utilization + (target - utilization) x rate`` per member and producer (numba, cached).

    ``utilization`` and ``target`` (M, P), ``rate`` (M, 1); numpy's operations in numpy's
    order. Compiled because the kernel call costs less than numpy's three operations (half at
    one member, a third at 256).
    """
    members, producers = utilization.shape
    out = np.empty((members, producers))
    for m in range(members):
        for p in range(producers):
            out[m, p] = utilization[m, p] + (target[m, p] - utilization[m, p]) * rate[m, 0]
    return out


def desired_output(inp: MiningInputs, t: int, utilization: np.ndarray,
                   capacity: np.ndarray) -> np.ndarray:
    """Output (M, P) t REO/yr within capacity, Bayan Obo's ore limit and the quota allocation."""
    return _desired_output(t, utilization, capacity, inp.byproduct, inp.byproduct_ore_t_per_yr,
                           inp.byproduct_recovery, inp.quota_t_per_yr)


@numba.njit(cache=True, error_model="numpy")
def _desired_output(t: int, utilization: np.ndarray, capacity: np.ndarray,
                    byproduct: np.ndarray, byproduct_ore: np.ndarray,
                    byproduct_recovery: np.ndarray, quota: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`desired_output` per member and producer (numba, cached on disk).

    ``utilization x capacity`` (M, P), for by-product mines (``byproduct`` (P,)) at most
    ``byproduct_ore[t] x byproduct_recovery[t]``, then at most ``quota[t]`` (T, P), with
    numpy's minimum (NaN rules). Compiled because as numpy these were half a dozen small
    operations a month.
    """
    members, producers = utilization.shape
    limit = byproduct_ore[t] * byproduct_recovery[t]
    out = np.empty((members, producers))
    for m in range(members):
        for p in range(producers):
            desired = utilization[m, p] * capacity[m, p]
            if byproduct[p]:
                desired = np_minimum(desired, limit)
            out[m, p] = np_minimum(desired, quota[t, p])
    return out


def extract(inp: MiningInputs, t: int, output: np.ndarray, reserves: np.ndarray,
            netback: np.ndarray) -> MiningResult:
    """Mine ``output`` (M, P) t REO/yr within remaining ``reserves`` (M, P) t REO.

    Ore mined is output / recovery (Bayan Obo: the REO in the iron ore mined, whatever is
    recovered); tailings are the ore's REO not recovered, split by the deposit's element shares.
    """
    return MiningResult(*_extract(
        output, reserves, netback, inp.recovery[t], inp.byproduct,
        float(inp.byproduct_ore_t_per_yr[t]), inp.cash_cost_usd_per_kg,
        inp.reserve_replacement_ratio, inp.distribution))


@numba.njit(cache=True, error_model="numpy")
def _extract(output: np.ndarray, reserves: np.ndarray, netback: np.ndarray,
             recovery: np.ndarray, byproduct: np.ndarray, byproduct_ore: float,
             cash_cost: np.ndarray, replacement: np.ndarray,
             distribution: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arithmetic of :func:`extract` for each member and producer (numba, cached on disk).

    Per producer: output within what the reserve allows this month
    (``reserves * recovery / DT_YR``), ore mined ``output / recovery`` (by-product mines: the
    ore of the host mine, ``byproduct_ore``) and never below the output, reserve additions
    ``replacement x ore`` while the mine pays (netback at least cash cost, a reserve of known
    size, not a by-product mine); the element flows are these totals times the deposit's shares
    ``distribution`` (P, E). Returns the fields of :class:`MiningResult` in order, with the
    element sums of the ore (per producer) and of the tailings (per element, over producers in
    order). Compiled because as numpy each (member, producer) x element product cost a loop
    per element row (a twentieth of an ensemble's run); the operations and the order of every
    sum are numpy's, so the numbers are the same, whatever the batch.
    """
    members, producers = output.shape
    elements = distribution.shape[1]
    mine_output = np.empty((members, producers, elements))
    ore_mined = np.empty_like(mine_output)
    tailings = np.empty_like(mine_output)
    total_output = np.empty((members, producers))
    revenue = np.empty_like(total_output)
    additions = np.empty_like(total_output)
    ore_by_producer = np.empty_like(total_output)
    tailings_by_element = np.zeros((members, elements))
    for m in range(members):
        for p in range(producers):
            out = np_minimum(output[m, p], np_maximum(reserves[m, p], 0.0) * recovery[p] / DT_YR)
            ore = byproduct_ore if byproduct[p] else out / recovery[p]
            ore = np_maximum(ore, out)
            paying = netback[m, p] >= cash_cost[m, p] and math.isfinite(reserves[m, p])
            total_output[m, p] = out
            revenue[m, p] = out * netback[m, p] * MUSD_PER_T_TIMES_USD_PER_KG
            additions[m, p] = replacement[m, 0] * ore if paying and not byproduct[p] else 0.0
            for e in range(elements):
                mine_output[m, p, e] = out * distribution[p, e]
                ore_mined[m, p, e] = ore * distribution[p, e]
                tailings[m, p, e] = (ore - out) * distribution[p, e]
                tailings_by_element[m, e] += tailings[m, p, e]
            ore_by_producer[m, p] = sum_elements(ore_mined[m, p])
    return (mine_output, ore_mined, tailings, total_output, revenue, additions, ore_by_producer,
            tailings_by_element)
