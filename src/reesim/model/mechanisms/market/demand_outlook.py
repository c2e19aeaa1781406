"""Sellers' outlook for each element's demand, and how it shapes the glut side of their price.

Competitive storage (Working 1949; Deaton and Laroque 1992): a holder carries stock beyond its
working cover only while it expects the stock to be wanted later. Where the world's demand for
an element grows, a glut is tomorrow's working stock and sellers hold it at little discount (the
flat glut side of the price rule, ``rho * beta``); where demand is shrinking (europium and
yttrium after the phosphor market collapsed in 2012-2014) nobody will want the stock later, and
sellers cut their reservation as steeply in a glut as in a shortage. Sellers read the trend as
Sterman's TREND function (Business Dynamics, 2000, ch. 16): the perceived present demand is
the world's demand smoothed over ``demand_trend_perception_yr``, the reference is that
smoothed again over ``demand_trend_horizon_yr``, and the trend is their log gap over the
horizon (fractional growth per year; a steady growth g reads as g). Both are exact exponential
lags in log, so the trend does not depend on the step.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba
import numpy as np

from reesim.model.compiled import np_maximum, np_minimum
from reesim.model.mechanisms.market.price_rule import TINY_T

if TYPE_CHECKING:
    from reesim.model.mechanisms.market import MarketInputs


def initial_outlook(world_demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log perceived and reference demand (M, E) at the run start: both the start's, no trend."""
    level = np.log(np.maximum(world_demand, TINY_T))
    return level, level.copy()


def glut_scales(inp: MarketInputs, level: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """How much of the flat glut side remains, (M, E) in [0, 1]: 1 while demand does not fall.

    ``1 - min(k * max(-trend, 0), 1)`` with ``trend = (level - reference) / horizon`` (1/yr)
    and ``k`` the member's ``glut_decline_sensitivity`` (yr): at a decline of 1/k a year the
    glut side is as steep as the shortage side. The price rule's glut term ``beta (rho - 1)``
    is multiplied by it, so ``rho`` becomes ``rho + (1 - rho) (1 - scale)``; ``k = 0`` leaves
    every price as it was, bit for bit.
    """
    return _glut_scales(inp.rules.glut_decline_sensitivity, inp.rules.demand_trend_horizon_yr,
                        level, reference)


@numba.njit(cache=True, error_model="numpy")
def _glut_scales(sensitivity_yr: np.ndarray, horizon_yr: np.ndarray, level: np.ndarray,
                 reference: np.ndarray) -> np.ndarray:
    """The arithmetic of :func:`glut_scales` per member and element (numba, cached).

    Takes the two rules it reads, not the whole :class:`MemberRules`: passing the 29 arrays
    of a month's rules costs a call about 6 us to unbox, more than its arithmetic.
    """
    members, elements = level.shape
    out = np.empty((members, elements))
    for m in range(members):
        k = sensitivity_yr[m]
        horizon = horizon_yr[m]
        for e in range(elements):
            trend = (level[m, e] - reference[m, e]) / horizon
            out[m, e] = 1.0 - np_minimum(k * np_maximum(-trend, 0.0), 1.0)
    return out


def update_outlook(inp: MarketInputs, level: np.ndarray, reference: np.ndarray,
                   world_demand: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The outlook after a step of ``dt`` yr with the world's demand ``world_demand`` (M, E) t/yr.

    The log perceived demand moves toward ``ln(world_demand)`` by ``1 - exp(-dt / T_p)``, the
    log reference toward the new perceived demand by ``1 - exp(-dt / T_h)``.
    """
    return _update_outlook(inp.rules.demand_trend_perception_yr,
                           inp.rules.demand_trend_horizon_yr, level, reference, world_demand, dt)


@numba.njit(cache=True, error_model="numpy")
def _update_outlook(perception_yr: np.ndarray, horizon_yr: np.ndarray, level: np.ndarray,
                    reference: np.ndarray, world_demand: np.ndarray, dt: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The arithmetic of :func:`update_outlook` per member and element (numba, cached).

    Takes the two rules it reads, as :func:`_glut_scales` does.
    """
    members, elements = level.shape
    new_level, new_reference = np.empty((members, elements)), np.empty((members, elements))
    for m in range(members):
        to_level = 1.0 - math.exp(-dt / perception_yr[m])
        to_reference = 1.0 - math.exp(-dt / horizon_yr[m])
        for e in range(elements):
            now = math.log(np_maximum(world_demand[m, e], TINY_T))
            new_level[m, e] = level[m, e] + (now - level[m, e]) * to_level
            new_reference[m, e] = (reference[m, e]
                                   + (new_level[m, e] - reference[m, e]) * to_reference)
    return new_level, new_reference
