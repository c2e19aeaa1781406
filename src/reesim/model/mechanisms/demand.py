"""Demand by application and element, its price response, thrifting, and manufacturing.

An application's REO demand is exogenous growth x a short-run price response x a long-run
response that builds up over the adjustment time (substitution, redesign). Its element split
can shift further by thrifting of expensive elements (e.g. Dy in magnets). Manufacturing needs
all essential elements together: a shortage of one stops that share of output (Leontief), and
what could not be served is recorded as unmet demand.

Compiled here: base demand by month (growth from the base year), the share bought in each
market, element intensities, which elements are essential, and the thrifting pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from reesim.dims import APPLICATIONS, ELEMENTS, MONTHS_PER_YEAR
from reesim.model.compiled import einsum_dot, np_maximum, np_minimum, numpy_power
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, member_column, monthly_rate
from reesim.model.timeline import Timeline, interpolate_by_year

CONSTANTS = (
    Constant("essential_share", 0.25, "fraction of the application's REO", 0.05, 0.6,
             "An element is essential to an application (its shortage stops production) when it "
             "makes up at least this share of the application's REO: Nd in magnets, La and Ce "
             "in catalysts, glass, polishing, metallurgy and batteries, Y in phosphors and "
             "ceramics. Minor elements are consumed as far as available.", "assumption",
             level="run"),
    Constant("rebound_slowdown", 3.0, "x", 1.0, 20.0,
             "Thrifting reverses this many times slower than it proceeds (learned designs "
             "persist when prices fall back).", "assumption"),
)


@dataclass(frozen=True)
class DemandInputs:
    """Compiled inputs of demand (schedules (T, ...), member values (M, ...))."""

    intensity: np.ndarray               # (T, A, E) element shares of a tonne of REO in use,
    #                                     after the intensity events (R&D gains in use)
    essential_elements: tuple[np.ndarray, np.ndarray]  # (A,), (A,): the (up to two) elements
    #                                     whose shortage stops production of each application
    thrift_pairs: tuple[np.ndarray, np.ndarray]  # application and element indices that thrift
    thrift_relative_to: np.ndarray      # (n_pairs,) element whose price the pair is compared to,
    #                                     -1: its own reference price only
    thrift_elasticity: np.ndarray       # (n_pairs,)
    thrift_floor: np.ndarray            # (n_pairs,) lowest intensity multiplier
    reference_price_usd_per_kg: np.ndarray  # (E,) in dollars of the reference year
    deflator: np.ndarray                # (T,) reference-year USD per USD of the month (CPI ratio)
    demand_t_per_yr: np.ndarray         # (T, A) world base demand before price response
    market_split: np.ndarray            # (T, K, A) share of demand bought in each market
    elasticity_short: np.ndarray        # (M, 1, A) short-run price elasticity (scaled)
    long_exponent: np.ndarray           # (M, 1, A) long-run minus short-run elasticity (scaled)
    long_rate: np.ndarray               # (M, 1, A) monthly adjustment of the long-run response
    thrift_rate: np.ndarray             # (M, n_pairs) monthly adjustment of thrifting
    rebound_slowdown: np.ndarray        # (M, 1)


def _essential_pairs(essential: np.ndarray, intensity: np.ndarray) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Indices of each application's (at most two) essential elements; with one, it repeats.

    An application without an essential element uses its largest element.
    """
    first, second = [], []
    for a in range(len(essential)):
        found = list(np.flatnonzero(essential[a])) or [int(np.argmax(intensity[a]))]
        if len(found) > 2:
            raise ValueError(f"application {APPLICATIONS[a]} has more than two essential "
                             "elements: lower constants.essential_share's range or raise it")
        first.append(found[0])
        second.append(found[-1])
    return np.array(first), np.array(second)


def element_intensity(ctx: Context) -> np.ndarray:
    """Element shares of a tonne of REO in each application, (A, E): the data's, read-only."""
    return ctx.data.derived(("element_intensity",), lambda: (
        ctx.data["application_intensity"]
        .pivot_table(index="application", columns="element", values="share_fraction")
        .reindex(index=list(APPLICATIONS), columns=list(ELEMENTS)).fillna(0.0).to_numpy()))


def draft(ctx: Context) -> Draft:
    """Base world demand (T, A) t REO/yr, China's manufacturing share, intensity multipliers.

    The multipliers (T, A, E) are 1 (the packaged intensities) until intensity events edit them.
    """
    demand, share = base_demand_path(ctx, ctx.timeline)
    return {"demand_t_per_yr": demand, "china_share": share,
            "intensity_multiplier": np.ones((ctx.timeline.steps, len(APPLICATIONS),
                                             len(ELEMENTS)))}


def base_demand_path(ctx: Context, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """Base world demand t REO/yr and China's manufacturing share, (T, A) each, over ``timeline``.

    Demand grows from the application's base-year value by the yearly growth rates of
    demand_growth.csv (compounded monthly), both forwards and backwards in time, and is flat
    after the table's last year. ``timeline`` may run past the scenario's (investors' outlook).
    Computed once per data and timeline; the arrays returned are fresh (events shock them).
    """
    demand, share = ctx.data.derived(("base_demand_path", timeline),
                                     lambda: _base_demand_path(ctx, timeline))
    return demand.copy(), share.copy()


def _base_demand_path(ctx: Context, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    apps = ctx.ordered("applications", "application", APPLICATIONS)
    base_year = apps.base_year.to_numpy(int)
    base_demand = apps.demand_t_reo_per_yr.to_numpy(float)
    growth = ctx.data["demand_growth"]
    g_app, g_from, g_to = (growth.application.to_numpy(), growth.from_year.to_numpy(int),
                           growth.to_year.to_numpy(int))
    g_rate = np.log1p(growth.growth_pct_per_yr.to_numpy(float) / 100.0)
    location = ctx.data["manufacturing_location"]
    l_app, l_year, l_share = (location.application.to_numpy(), location.year.to_numpy(),
                              location.china_share_fraction.to_numpy())
    decimal = timeline.start_year + np.arange(timeline.steps) / MONTHS_PER_YEAR
    y = np.floor(decimal).astype(int)
    frac = decimal - y
    demand = np.zeros((timeline.steps, len(APPLICATIONS)))
    share = np.zeros_like(demand)
    for a, name in enumerate(APPLICATIONS):              # nine applications, at build time
        rows = g_app == name
        lo = min(int(g_from[rows].min()), timeline.start_year)
        hi = max(int(g_to[rows].max()), timeline.end_year) + 1
        yearly_years = np.arange(lo, hi + 1)
        rate = np.zeros(len(yearly_years))
        for first, last, r in zip(g_from[rows], g_to[rows], g_rate[rows], strict=True):
            rate[(yearly_years >= first) & (yearly_years <= last)] = r
        # log-level at the start of each year relative to the base year
        log_level = np.concatenate([[0.0], np.cumsum(rate[:-1])])
        log_level -= log_level[base_year[a] - lo]
        # monthly: level at year start plus the year's rate times the fraction elapsed
        level = log_level[y - lo] + rate[y - lo] * frac
        demand[:, a] = base_demand[a] * np.exp(level)
        here = l_app == name
        share[:, a] = interpolate_by_year(timeline.decimal_year, l_year[here], l_share[here])
    return demand, share


def build(ctx: Context, draft: Draft) -> DemandInputs:
    """Demand inputs: intensities, essential elements, thrifting and per-member responses."""
    data, p = ctx.data, ctx.params
    apps = ctx.ordered("applications", "application", APPLICATIONS)
    intensity = element_intensity(ctx)
    thrift, floor, lag, relative = data.derived(("substitution",),
                                                lambda: _substitution(data["substitution"]))
    pairs = tuple(np.nonzero(thrift > 0))
    anchors = ctx.ordered("price_anchors", "element", ELEMENTS)
    ref_years = set(anchors.reference_year.astype(int))
    if len(ref_years) != 1:
        raise ValueError(f"price_anchors.csv mixes reference years {sorted(ref_years)}: the "
                         "deflator needs one")
    ref_year = ref_years.pop()
    mult = member_column(p.demand_elasticity_multiplier, 2)
    lag_mult = member_column(p.substitution_lag_multiplier, 2)
    short = apps.elasticity_short.to_numpy(float)
    china_share = draft["china_share"]
    essential_share = float(p.essential_share[0])
    return DemandInputs(
        intensity=intensity[None] * draft["intensity_multiplier"],
        essential_elements=_essential_pairs(intensity >= essential_share, intensity),
        thrift_pairs=pairs, thrift_relative_to=relative[pairs],
        thrift_elasticity=thrift[pairs], thrift_floor=floor[pairs],
        reference_price_usd_per_kg=anchors.reference_price_usd_per_kg.to_numpy(float),
        deflator=data.derived(      # the data's, once per reference year and time axis
            ("deflator", ref_year, ctx.timeline.start_year, ctx.timeline.steps),
            lambda: deflator(data["us_cpi"], ref_year, ctx.timeline.start_year,
                             ctx.timeline.steps)).copy(),
        demand_t_per_yr=draft["demand_t_per_yr"],
        market_split=np.stack([china_share, 1.0 - china_share], axis=1),
        elasticity_short=short[None, None, :] * mult,
        long_exponent=(apps.elasticity_long.to_numpy(float) - short)[None, None, :] * mult,
        long_rate=monthly_rate(apps.adjustment_time_yr.to_numpy(float)[None, None, :]
                               * lag_mult),
        thrift_rate=monthly_rate(lag[None, :, :] * lag_mult)[:, pairs[0], pairs[1]],
        rebound_slowdown=member_column(p.rebound_slowdown, 1),
    )


def _substitution(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Thrift elasticity, intensity floor, lag (years) and relative-to element, (A, E) each.

    From substitution.csv; no thrifting (elasticity 0, floor 1, lag inf, -1) elsewhere.
    """
    shape_ae = (len(APPLICATIONS), len(ELEMENTS))
    thrift, floor, lag = np.zeros(shape_ae), np.ones(shape_ae), np.full(shape_ae, np.inf)
    relative = np.full(shape_ae, -1)
    for row in table.itertuples():
        a, e = APPLICATIONS.index(row.application), ELEMENTS.index(row.element)
        thrift[a, e] = row.thrift_elasticity
        floor[a, e] = 1.0 - row.max_reduction_fraction
        lag[a, e] = row.lag_yr
        if isinstance(row.relative_to, str):
            relative[a, e] = ELEMENTS.index(row.relative_to)
    return thrift, floor, lag, relative


def deflator(cpi: pd.DataFrame, reference_year: int, start_year: int, steps: int) -> np.ndarray:
    """Reference-year dollars per dollar of each month, (T,): CPI(reference year) / CPI(year).

    Annual CPI averages apply to every month of their year; before the first and after the last
    year of the table the nearest year's index holds (the projection's prices are in dollars of
    the last CPI year, as the model's costs do not inflate).
    """
    table = cpi.set_index("year").cpi_u_1982_84_100.sort_index()
    if reference_year not in table.index:
        raise ValueError(f"us_cpi.csv has no index for the reference year {reference_year}")
    years = np.clip(start_year + np.arange(steps) // 12, table.index.min(), table.index.max())
    index = table.reindex(years).to_numpy(float)
    if np.isnan(index).any():
        raise ValueError("us_cpi.csv must cover every year between its first and last")
    return float(table[reference_year]) / index


def real_price(inp: DemandInputs, t: int, price: np.ndarray) -> np.ndarray:
    """Prices (M, K, E) in dollars of the reference prices' year (USD/kg, CPI-deflated).

    Demand and thrifting compare prices with the reference prices of price_anchors.csv (2007
    annual averages) in real terms: a 2020 dollar buys about 0.80 of a 2007 dollar.
    """
    return price * inp.deflator[t]


def base_demand_by_market(inp: DemandInputs, t: int) -> np.ndarray:
    """Demand at reference prices, (K, A, E) t REO/yr (used to size initial stocks)."""
    base = inp.demand_t_per_yr[t][None, :] * inp.market_split[t]
    return base[:, :, None] * inp.intensity[t][None, :, :]


def cost_index(inp: DemandInputs, t: int, price: np.ndarray, thrift: np.ndarray) -> np.ndarray:
    """REO cost of a tonne of each application relative to reference prices, (M, K, A)."""
    return _cost_index(price, inp.intensity[t], thrift, inp.reference_price_usd_per_kg)


@numba.njit(cache=True, error_model="numpy")
def _cost_index(price: np.ndarray, intensity: np.ndarray, thrift: np.ndarray,
                reference: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`cost_index` for each member, market and application (numba).

    ``price`` (M, K, E) USD/kg, ``intensity`` (A, E), ``thrift`` (M, A, E), ``reference``
    (E,). The weights are ``intensity * thrift``; the index is the weights' value at the price
    over their value at the reference prices (both :func:`einsum_dot`, numpy's einsum order),
    (M, K, A).
    """
    members, markets, elements = price.shape
    applications = intensity.shape[0]
    index = np.empty((members, markets, applications))
    weights = np.empty((applications, elements))
    for m in range(members):
        for a in range(applications):
            for e in range(elements):
                weights[a, e] = intensity[a, e] * thrift[m, a, e]
        for a in range(applications):
            ref = einsum_dot(weights[a], reference)
            for k in range(markets):
                index[m, k, a] = einsum_dot(price[m, k], weights[a]) / ref
    return index


def demand(inp: DemandInputs, t: int, index: np.ndarray, demand_long: np.ndarray,
           thrift: np.ndarray) -> np.ndarray:
    """Demand after price response, (M, K, A, E) t REO/yr, given the :func:`cost_index`."""
    return _demand(_powers(index, inp.elasticity_short), demand_long, inp.demand_t_per_yr[t],
                   inp.market_split[t], inp.intensity[t], thrift)


def demand_month(inp: DemandInputs, t: int, price: np.ndarray, demand_long: np.ndarray,
                 thrift: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The month's real prices, cost index, demand and the world's demand, in one compiled pass.

    :func:`real_price`, :func:`cost_index` and :func:`demand` at last month's ``price``
    (M, K, E), and that demand summed over markets and applications in index order from 0.0
    (numpy's sum over a middle axis), (M, E) t REO/yr: what separators weigh stocks by.
    """
    return _demand_month(price, float(inp.deflator[t]), inp.intensity[t], thrift,
                         inp.reference_price_usd_per_kg, inp.elasticity_short, demand_long,
                         inp.demand_t_per_yr[t], inp.market_split[t])


@numba.njit(cache=True, error_model="numpy")
def _demand_month(price: np.ndarray, deflator: float, intensity: np.ndarray, thrift: np.ndarray,
                  reference: np.ndarray, elasticity: np.ndarray, demand_long: np.ndarray,
                  base_demand: np.ndarray, market_split: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arithmetic of :func:`demand_month` (numba, cached): real, index, demand, world."""
    members, markets, elements = price.shape
    real = np.empty(price.shape)
    for m in range(members):
        for k in range(markets):
            for e in range(elements):
                real[m, k, e] = price[m, k, e] * deflator
    index = _cost_index(real, intensity, thrift, reference)
    rate = _demand(_powers(index, elasticity), demand_long, base_demand, market_split,
                   intensity, thrift)
    world = np.zeros((members, elements))
    for m in range(members):
        for k in range(markets):
            for a in range(rate.shape[2]):
                for e in range(elements):
                    world[m, e] += rate[m, k, a, e]
    return real, index, rate, world


@numba.njit(cache=True, error_model="numpy")
def _powers(index: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """``index ** exponent`` of a (M, K, A) index and a (M, 1, A) exponent, as numpy's (numba).

    numpy's power of an exponent array (:func:`~reesim.model.compiled.numpy_power`): its
    scalar fast path when the exponent holds one value, the C library's pow otherwise.
    """
    members, markets, applications = index.shape
    one_value = exponent.size == 1
    out = np.empty(index.shape)
    for m in range(members):
        for k in range(markets):
            for a in range(applications):
                out[m, k, a] = numpy_power(index[m, k, a], exponent[m, 0, a], one_value)
    return out


@numba.njit(cache=True, error_model="numpy")
def _demand(short: np.ndarray, demand_long: np.ndarray, base_demand: np.ndarray,
            market_split: np.ndarray, intensity: np.ndarray, thrift: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`demand` for each member, market, application and element (numba).

    ``short`` (M, K, A) the short-run response (the cost index to the power of the member's
    elasticity, taken by numpy), ``demand_long`` (M, K, A), ``base_demand`` (A,) t REO/yr,
    ``market_split`` (K, A), ``intensity`` (A, E), ``thrift`` (M, A, E). The volume is
    ``base_demand * market_split * (short * demand_long)``, the demand that volume x
    ``intensity * thrift``, (M, K, A, E) t REO/yr.
    """
    members, markets, applications = short.shape
    elements = intensity.shape[1]
    rate = np.empty((members, markets, applications, elements))
    for m in range(members):
        for k in range(markets):
            for a in range(applications):
                volume = (base_demand[a] * market_split[k, a]) * (short[m, k, a]
                                                                   * demand_long[m, k, a])
                for e in range(elements):
                    rate[m, k, a, e] = volume * (intensity[a, e] * thrift[m, a, e])
    return rate


def update_responses(inp: DemandInputs, price: np.ndarray, index: np.ndarray,
                     demand_long: np.ndarray, thrift: np.ndarray) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Move the long-run demand response (M, K, A) and thrifting (M, A, E) one month on.

    ``index`` is the month's :func:`cost_index` at ``price`` (M, K, E).
    """
    a, e = inp.thrift_pairs                                                   # the substitutable
    return _responses(price, index, demand_long, thrift, inp.reference_price_usd_per_kg, a, e,
                      inp.thrift_relative_to, inp.long_exponent, inp.long_rate,
                      inp.thrift_elasticity, inp.thrift_floor, inp.thrift_rate,
                      inp.rebound_slowdown)


@numba.njit(cache=True, error_model="numpy")
def _responses(price: np.ndarray, index: np.ndarray, demand_long: np.ndarray,
               thrift: np.ndarray, reference: np.ndarray, application: np.ndarray,
               element: np.ndarray, relative_to: np.ndarray, long_exponent: np.ndarray,
               long_rate: np.ndarray, elasticity: np.ndarray, floor: np.ndarray,
               thrift_rate: np.ndarray, rebound_slowdown: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`update_responses` in one compiled call (numba, cached).

    The pairs' relative prices (:func:`_thrift_relative`), both powers (:func:`_powers`,
    :func:`_pair_powers`) and the moves (:func:`_update_responses`).
    """
    relative = _thrift_relative(price, reference, element, relative_to)
    return _update_responses(_powers(index, long_exponent), demand_long, long_rate,
                             _pair_powers(relative, elasticity), thrift, application, element,
                             floor, thrift_rate, rebound_slowdown)


@numba.njit(cache=True, error_model="numpy")
def _pair_powers(relative: np.ndarray, elasticity: np.ndarray) -> np.ndarray:
    """``relative ** -elasticity`` of (M, n_pairs) relative prices, as numpy's (numba).

    numpy's power of the exponent array ``-elasticity`` (n_pairs,)
    (:func:`~reesim.model.compiled.numpy_power`).
    """
    members, pairs = relative.shape
    one_value = elasticity.size == 1
    out = np.empty((members, pairs))
    for m in range(members):
        for j in range(pairs):
            out[m, j] = numpy_power(relative[m, j], -elasticity[j], one_value)
    return out


@numba.njit(cache=True, error_model="numpy")
def _thrift_relative(price: np.ndarray, reference: np.ndarray, element: np.ndarray,
                     relative_to: np.ndarray) -> np.ndarray:
    """Prices the thrifting pairs compare, (M, n_pairs), for :func:`update_responses` (numba).

    ``price`` (M, K, E) USD/kg, ``reference`` (E,). An element's world price against its
    reference is ``sqrt(price in China * price abroad) / reference``; a pair compares its
    element's with its substitute's (``relative_to`` >= 0) or with 1.
    """
    members, _, elements = price.shape
    pairs = element.shape[0]
    relative = np.empty((members, pairs))
    world = np.empty(elements)
    for m in range(members):
        for i in range(elements):
            world[i] = math.sqrt(price[m, 0, i] * price[m, 1, i]) / reference[i]
        for j in range(pairs):
            substitute = world[relative_to[j]] if relative_to[j] >= 0 else 1.0
            relative[m, j] = world[element[j]] / substitute
    return relative


@numba.njit(cache=True, error_model="numpy")
def _update_responses(target_long: np.ndarray, demand_long: np.ndarray, long_rate: np.ndarray,
                      response: np.ndarray, thrift: np.ndarray, application: np.ndarray,
                      element: np.ndarray, floor: np.ndarray, thrift_rate: np.ndarray,
                      rebound_slowdown: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The arithmetic of :func:`update_responses` for each member (numba, cached on disk).

    ``target_long`` (M, K, A) the long-run response's target (the cost index to the power of
    the member's long-run exponent, taken by numpy), ``demand_long`` (M, K, A) and
    ``long_rate`` (M, 1, A): the new response is ``exp(log(now) + (log(target) - log(now)) *
    long_rate)``. ``response`` (M, n_pairs) each thrifting pair's relative price to the power
    of minus its elasticity (numpy); its target is ``min(max(response, floor), 1)``, and the
    pair's thrift (``thrift[:, application, element]``, (M, A, E) otherwise copied) moves
    toward it by ``thrift_rate`` (M, n_pairs) when it falls, that over ``rebound_slowdown``
    (M, 1) when it rises. Returns both.
    """
    members, markets, applications = demand_long.shape
    new_long = np.empty((members, markets, applications))
    new_thrift = thrift.copy()
    for m in range(members):
        for k in range(markets):
            for a in range(applications):
                log_now = math.log(demand_long[m, k, a])
                new_long[m, k, a] = math.exp(
                    log_now + (math.log(target_long[m, k, a]) - log_now) * long_rate[m, 0, a])
        for j in range(application.shape[0]):
            target = np_minimum(np_maximum(response[m, j], floor[j]), 1.0)
            current = thrift[m, application[j], element[j]]
            rate = (thrift_rate[m, j] if target < current
                    else thrift_rate[m, j] / rebound_slowdown[m, 0])
            new_thrift[m, application[j], element[j]] = current + (target - current) * rate
    return new_long, new_thrift


def consume(inp: DemandInputs, need: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Consumption (M, K, A, E) in t REO this month from consumers' stocks (M, K, E).

    Each application produces the share of its demand that its scarcest essential element
    allows; non-essential trace elements are consumed as far as they are available.
    """
    first, second = inp.essential_elements                                    # (A,) each
    return _consume(need, stock, first, second)


@numba.njit(cache=True)
def _consume(need: np.ndarray, stock: np.ndarray, first: np.ndarray,
             second: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`consume` for each member and market (numba, cached on disk).

    ``need`` (M, K, A, E) t and ``stock`` (M, K, E) t. Each element's fill is
    ``min(1, stock / need summed over applications)`` (1 when nothing is needed); an
    application runs at the fill of the scarcer of its essential elements ``first``,
    ``second`` (A,), and uses each element at that fill or the element's own, if lower.
    Compiled because as numpy the (member, market, application) x element products cost a loop
    per element row and came out in a layout that slowed what reads them; the operations and
    the order of the sum are numpy's, so the numbers are the same, whatever the batch.
    """
    members, markets, applications, elements = need.shape
    used = np.empty((members, markets, applications, elements))
    fill = np.empty(elements)
    for m in range(members):
        for k in range(markets):
            for e in range(elements):
                total = 0.0
                for a in range(applications):
                    total += need[m, k, a, e]
                fill[e] = np_minimum(1.0, stock[m, k, e] / np_maximum(total, 1e-300)) if (
                    total > 0) else 1.0
            for a in range(applications):
                app_fill = np_minimum(fill[first[a]], fill[second[a]])
                for e in range(elements):
                    used[m, k, a, e] = need[m, k, a, e] * np_minimum(app_fill, fill[e])
    return used
