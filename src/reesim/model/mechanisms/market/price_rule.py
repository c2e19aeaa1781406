"""A market's clearing price within the month: sellers' supply-of-storage rule, buyers' elasticity.

Sellers keep a reservation stock that shrinks as the price rises above the going price,
``p = anchor * (target cover / cover after sales) ** beta`` (``rho * beta`` in a glut), buyers'
purchases fall with the price; a safeguarded Newton solve in log price finds the one price
where both hold (to 1e-10), within [floor, choke] and within ``max_scarcity_factor`` of the
going price. docs/model.md section 5 says why each part is there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

from reesim.dims import DT_YR, MONTHS_PER_YEAR
from reesim.model.compiled import np_maximum, np_minimum
from reesim.model.mechanisms.market.going_prices import perception_weight

if TYPE_CHECKING:
    from reesim.model.mechanisms.market import MarketInputs, MemberRules

PRICE_SOLVE_TOLERANCE = 1e-10
"""Convergence of a market's clearing log price (numerical)."""
PRICE_SOLVE_MAX_STEPS = 60
"""At most this many safeguarded Newton steps (each at worst a bisection of the bracket)."""
TINY_T = 1e-12
"""Tonnes below which a stock or a want counts as empty in the price solve (numerical)."""


def solve_log_price(inp: MarketInputs, supply: np.ndarray | float, fixed: np.ndarray | float,
                    elastic: np.ndarray, log_last: np.ndarray, log_anchor: np.ndarray,
                    log_choke: np.ndarray, dt: float = DT_YR,
                    log_ref: np.ndarray | None = None,
                    log_hold: np.ndarray | float = 0.0) -> np.ndarray:
    """The month's clearing log price of one market, (M, E), solved in log price.

    Buyers want ``fixed + elastic * (p / p_ref) ** eps`` t (``eps`` the short-run purchase
    elasticity as it acts within the step, :func:`within_step_elasticity`: consumers defer
    restocking and cut use when the price jumps above the price they perceive, last step's
    ``log_ref``, by default ``log_last``, moved toward p over the step); sellers offer
    ``supply`` t but keep a reserve stock: they sell until the stock left covers
    ``target * hold * (p / anchor) ** (-1 / beta)`` months (``log_hold`` the log of their
    speculative hold multiple, :func:`seller_hold`) of the buying interest at that price (the
    coverage rule ``p = anchor * (target / cover) ** beta`` read as their reservation, with
    ``rho * beta`` in place of ``beta`` when the cover is above target: the supply-of-storage
    curve, ``glut_sensitivity_ratio``). The excess ``ln p - ln anchor - g(ln(target /
    cover(p)))`` rises with p (slope at least 1), so a safeguarded Newton solve finds the one
    root within [floor, choke] and within ``max_scarcity_factor`` of the anchor (the
    going price); at the upper bound (no stock left) the market rations, at the lower one (no
    buyers) it gluts. The arithmetic is :func:`_log_prices`', member by member.
    """
    log_ref = log_last if log_ref is None else log_ref
    supply, fixed, elastic, log_last, log_ref, log_hold, log_anchor, log_choke = (
        np.ascontiguousarray(a, dtype=float) for a in
        np.broadcast_arrays(supply, fixed, elastic, log_last, log_ref, log_hold, log_anchor,
                            log_choke))
    out = np.empty(supply.shape)
    _solve_log_price(supply, fixed, elastic, log_last, log_ref, log_hold, log_anchor, log_choke,
                     inp.log_floor_price, *_price_rule(inp, dt), out)
    return out


def within_step_elasticity(inp: MarketInputs, dt: float) -> np.ndarray:
    """Buyers' elasticity (M,) to the step's price against last step's perceived price.

    Buyers compare the price with the price they perceive, an exact log lag of the clearing
    price (``price_perception_time_yr``, T). Over a step of length ``dt`` at price p that
    perception moves from last step's ``p_rec`` toward p; its mean over the step is
    ``ln p_rec + (1 - w) ln(p / p_rec)`` with ``w = (1 - exp(-dt/T)) / (dt/T)``, so
    ``(p / perceived) ** eps = (p / p_rec) ** (eps * w)``. Comparing with last step's
    perception alone (before 2026-12-04) delayed the reference by a step, a third of T at one
    step a month: after the 2011 peak the Nd export price fell a month behind the finer
    steps' (2012 mean 152 USD/kg at one sub-step against 132 at eight; 139 against 130 with
    the step's mean perception).
    """
    return _price_rules(inp.rules, dt)[1]


def _price_rule(inp: MarketInputs, dt: float) -> tuple[np.ndarray, ...]:
    """Member values (M,) of the price rule: log max scarcity, eps, beta, glut, width, log target.

    ``eps`` is :func:`within_step_elasticity`, ``glut = beta * (rho - 1)``, ``width`` the
    log-cover width over which the slope changes (``glut_transition_width``) and
    ``log_target = ln(target months / months per step)``.
    """
    return _price_rules(inp.rules, dt)


@numba.njit(cache=True, error_model="numpy")
def _price_rules(rules: MemberRules, dt: float) -> tuple[np.ndarray, ...]:
    """The arithmetic of :func:`_price_rule` per member (numba, cached), six (M,) arrays."""
    members = len(rules.coverage_sensitivity)
    eps, glut, log_target = np.empty(members), np.empty(members), np.empty(members)
    for m in range(members):
        eps[m] = rules.purchase_elasticity[m] * perception_weight(dt, rules.perception_time_yr[m])
        glut[m] = rules.coverage_sensitivity[m] * (rules.glut_sensitivity_ratio[m] - 1.0)
        log_target[m] = math.log(rules.seller_coverage_months[m] / (MONTHS_PER_YEAR * dt))
    return (rules.log_max_scarcity, eps, rules.coverage_sensitivity, glut, rules.glut_width,
            log_target)


@numba.njit(cache=True, error_model="numpy")
def _solve_log_price(supply: np.ndarray, fixed: np.ndarray, elastic: np.ndarray,
                     log_last: np.ndarray, log_ref: np.ndarray, log_hold: np.ndarray,
                     log_anchor: np.ndarray, log_choke: np.ndarray,
                     log_floor: np.ndarray, log_max_scarcity: np.ndarray, eps: np.ndarray,
                     beta: np.ndarray, glut: np.ndarray, width: np.ndarray,
                     log_target: np.ndarray, out: np.ndarray) -> None:
    """:func:`_log_prices` for every member of (M, E) arrays, into ``out``."""
    members, elements = out.shape
    work = np.empty((5, elements))
    nothing, glut_row = np.zeros(elements), np.empty(elements)
    for m in range(members):
        glut_row[:] = glut[m]
        _log_prices(supply[m], fixed[m], elastic[m], log_last[m], log_ref[m], log_hold[m],
                    log_anchor[m], log_choke[m], log_floor, log_max_scarcity[m], eps[m],
                    beta[m], glut_row, width[m], log_target[m], nothing, nothing, 0.0, 0.0,
                    work, out[m])


@numba.njit(cache=True, error_model="numpy", inline="always")
def _log_prices(supply: np.ndarray, fixed: np.ndarray, elastic: np.ndarray,
                log_last: np.ndarray, log_ref: np.ndarray, log_hold: np.ndarray,
                log_anchor: np.ndarray, log_choke: np.ndarray,
                log_floor: np.ndarray, log_max_scarcity: float, eps: float, beta: float,
                glut: np.ndarray, width: float, log_target: float,
                log_signal: np.ndarray,
                duty: np.ndarray, trade_cost: float, withholding: float, work: np.ndarray,
                out: np.ndarray) -> None:
    """One member's clearing log prices (USD/kg) in one market, :func:`solve_log_price`'s rule.

    Arrays are (E,) (``supply``, ``fixed``, ``elastic`` t for the month, ``log_last`` last
    step's and ``log_ref`` the perceived log price, ``log_hold`` sellers' log hold multiple
    added to ``log_target``), ``log_signal``, ``duty``, ``trade_cost``, ``withholding`` the
    terms of Chinese sellers' hold for the export premium (:func:`premium_hold`, a log hold
    that falls with the price; ``withholding`` 0: none), ``work`` (5, E) scratch whose row 4
    holds that log hold at the root and row 1 the bracket's top (the
    cap) on return, which :func:`_trade_and_clear` hands to :func:`_reserve_at_cap`; ``eps``,
    ``beta``, ``width``, ``log_target`` are the member's values from :func:`_price_rule`,
    ``glut`` (E,) its glut term per element (the member's ``beta (rho - 1)``, times what remains
    of the flat glut side where the element's demand declines,
    :func:`.demand_outlook.glut_scales`). The bracket is [max(floor, anchor - scarcity),
    max(min(choke, anchor + scarcity), lo)] in log price; the root is that of the excess
    ``x - beta * r - glut * smin(log_target + log_hold + r) - offset``, with
    ``smin(s) = -width * ln(1 + exp(-s / width))`` the softplus approximation of ``min(s, 0)``
    (exact far from the target cover, ``-width * ln 2`` at it),
    ``r = ln(want / (supply - want))``, ``want = fixed + scale * exp(eps * x)``,
    ``scale = elastic * exp(-eps * log_ref)`` and
    ``offset = log_anchor + beta * (log_target + log_hold)``.
    The excess rises with x with a slope of at least 1 (``r`` falls with x and
    ``beta + glut = rho * beta > 0``), so Newton's method from last month's price (clamped into
    the bracket) converges in a few steps; each step keeps the bracket [low, high] of the root,
    and a step that would leave it tries the bracket's bound once and otherwise bisects (Numerical
    Recipes' ``rtsafe``). It stops when a step moves under ``PRICE_SOLVE_TOLERANCE``; a price
    whose excess keeps its sign at a bound stays there (rationing at the top, a glut at the
    bottom). An empty market (no supply, no buyers) keeps last month's price within the bracket.
    Compiled (numba, cached on disk): it costs two exps and two logs per step (one of each
    for the softplus since 2026-12-04), 2.9 steps on average on the default run (median 3,
    99th percentile 4; 4.2 and 13 before a step within the tolerance ended the solve ahead of
    the bracket's safeguard, 2026-12-06), where the former 20 bisection halvings were a fifth
    of a large batch's time, and it solves to 1e-10 instead of 1e-5 in log price. Inlined into
    its callers (called per member and market, its twenty-one arrays were reference-counted at
    each call, :func:`.market._clear_at`).
    """
    elements = len(out)
    lo, hi, scale, offset, held = work[0], work[1], work[2], work[3], work[4]
    for e in range(elements):
        lo[e] = np_maximum(log_floor[e], log_anchor[e] - log_max_scarcity)
        hi[e] = np_maximum(np_minimum(log_choke[e], log_anchor[e] + log_max_scarcity), lo[e])
        # no trade, no news: the price holds (within the bracket before it is narrowed)
        out[e] = np_minimum(np_maximum(log_last[e], lo[e]), hi[e])
        offset[e] = log_anchor[e] + beta * (log_target + log_hold[e])
        scale[e] = elastic[e] * math.exp(-eps * log_ref[e])
    for e in range(elements):
        held[e] = 0.0
        if supply[e] <= TINY_T and fixed[e] + elastic[e] <= TINY_T:
            continue
        low, high = lo[e], hi[e]
        x = out[e]
        for _ in range(PRICE_SOLVE_MAX_STEPS):
            elastic_want = scale[e] * math.exp(eps * x)
            want = fixed[e] + elastic_want
            # sellers' hold for the export premium at this price (premium_hold)
            premium, d_premium = premium_hold(x, log_signal[e], duty[e], trade_cost,
                                              withholding)
            left = supply[e] - want
            log_ratio = math.log(max(want, TINY_T) / max(left, TINY_T))
            shortfall = log_target + log_hold[e] + premium + log_ratio
            # smin(shortfall) and its slope, a logistic weight in [0, 1] (1 deep in glut)
            z = -shortfall / width
            e_z = math.exp(-abs(z))
            soft_min = -width * (np_maximum(z, 0.0) + math.log1p(e_z))
            weight = 1.0 / (1.0 + e_z) if z >= 0.0 else e_z / (1.0 + e_z)
            excess = x - beta * (log_ratio + premium) - glut[e] * soft_min - offset[e]
            if excess < 0.0:
                if x >= hi[e]:
                    break                          # still short at the upper bound: rations
                low = x
            else:
                if x <= lo[e]:
                    break                          # still in glut at the lower bound
                high = x
            # slope of the excess: 1 - (beta + glut * weight) d (log_ratio + premium) / dx >= 1
            # d r / dx = want' / want + want' / (supply - want), want' = eps * elastic want < 0
            d_want = eps * elastic_want
            d_ratio = 0.0
            if want > TINY_T:
                d_ratio += d_want / want
            if left > TINY_T:
                d_ratio += d_want / left
            slope = 1.0 - (beta + glut[e] * weight) * (d_ratio + d_premium)
            step = excess / slope
            if abs(step) <= PRICE_SOLVE_TOLERANCE:
                # x is the root to the tolerance. Checked before the bracket's safeguard: at the
                # root the bracket has shrunk onto x, a step of rounding size lands on its edge,
                # and the safeguard then bisected down from the bracket's last width (1-10
                # steps more in 13% of the solves, a quarter of the solve's time)
                x = np_minimum(np_maximum(x - step, lo[e]), hi[e])
                break
            nxt = x - step
            if nxt <= low:
                # below the bracket: try the bound itself once, then bisect
                nxt = lo[e] if low == lo[e] and x != lo[e] else 0.5 * (low + high)
            elif nxt >= high:
                nxt = hi[e] if high == hi[e] and x != hi[e] else 0.5 * (low + high)
            converged = abs(nxt - x) <= PRICE_SOLVE_TOLERANCE
            x = nxt
            if converged:
                break
        out[e] = x
        held[e] = premium_hold(x, log_signal[e], duty[e], trade_cost, withholding)[0]


@numba.njit(cache=True, error_model="numpy")
def premium_hold(log_price: float, log_signal: float, duty: float, trade_cost: float,
                 withholding: float) -> tuple[float, float]:
    """Chinese sellers' log hold multiple for the export premium at China log price ``log_price``.

    While the export market pays well above China's oxide landed there (``ln(p_X / 1.5) >
    ln L``, ``L = p (1 + duty) + trade cost``: ``log_signal`` from :func:`premium_signal`),
    Chinese holders expect the gap to close (the quota's next batches, leakage, the state's
    declared aim of raising domestic prices) and hold back stock: the cover they reserve is
    multiplied by ``exp(k * gap)``, ``gap = log_signal - ln L``, on top of their other holds.
    :func:`trade` passes ``k`` = the ``premium_withholding`` constant times the share of
    exporters' wants that China's tonnage export quota turns away this month: a quota issued
    in batches to producers and traders by tonnage lets a holder's stock go abroad later, at
    the export price; element licences (2025) name buyer and end use contract by contract and
    give a domestic holder no such prospect, so they do not set it off (with it, the
    projection's licensed Sm, Gd, Y, Lu and Sc ran up tenfold and more from 2030: China's
    price raised exporters' landed cost, which cut licensed exports and raised the export
    price again). Returns ``(k * gap, d / d ln
    p)``, both 0 without a gap. It is part of the month's clearing (:func:`_log_prices`): as
    China's price rises the gap closes and the stock comes back, so the loop closes within the
    month. A multiple of the reserved cover, not a share of the stock withheld: the cover is
    read after the step's sales, and a stock cut down to about one step's purchases made the
    price depend on the step (a refit with the share, 2026-12-05, moved China's Pr of 2012 by
    13% between one and two market sub-steps).
    """
    if withholding <= 0.0:
        return 0.0, 0.0
    landed = math.exp(log_price) * (1.0 + duty) + trade_cost
    gap = log_signal - math.log(landed)
    if gap <= 0.0:
        return 0.0, 0.0
    return withholding * gap, -withholding * (landed - trade_cost) / landed
