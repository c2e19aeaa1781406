"""Environmental loads per region and stage: tailings solids, thorium, wastewater.

Loads are intensities per tonne processed (packaged producer and region tables) times this
month's flows: mining loads follow mine output and are booked to the mining region (thorium
follows the REO the ore leaves in the tailings, the ore mined less the concentrate); separation
loads follow the concentrate fed to cracking and separation (thorium: the cracking residue).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from reesim.model.compiled import np_maximum
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft

CONSTANTS: tuple[Constant, ...] = ()
KG_PER_T = 1000.0


@dataclass(frozen=True)
class EnvironmentInputs:
    """Load intensities per t REO processed; (P,) for mining, (R,) for separation."""

    region_of: np.ndarray                   # (P,) int: each producer's mining region
    tailings_t_per_t: np.ndarray            # (P,) t solids per t REO mined
    thorium_kg_per_t: np.ndarray            # (P,) kg ThO2 per t REO in ore
    mine_wastewater_m3_per_t: np.ndarray    # (P,)
    residue_thorium_kg_per_t: np.ndarray    # (R,) kg ThO2 per t REO fed
    separation_wastewater_m3_per_t: np.ndarray  # (R,)


class Loads(NamedTuple):
    """Environmental flows of one month, per year."""

    tailings_solids: np.ndarray  # (M, R) t/yr
    thorium: np.ndarray          # (M, R, 2) t ThO2/yr, stages (mining, separation)
    wastewater: np.ndarray       # (M, R, 2) m3/yr


def _gap_as_zero(column: pd.Series) -> np.ndarray:
    """Environmental intensities left empty in the data (not quantified) count as zero loads."""
    return np.nan_to_num(column.to_numpy(dtype=float), nan=0.0)


def draft(ctx: Context) -> Draft:
    """No schedules: intensities do not change over time."""
    return {}


def build(ctx: Context, draft: Draft) -> EnvironmentInputs:
    """Intensities from the producers and regions tables."""
    producers, regions = ctx.producers, ctx.regions
    return EnvironmentInputs(
        region_of=np.asarray(ctx.producer_region, dtype=np.int64),
        tailings_t_per_t=_gap_as_zero(producers.tailings_t_per_t_reo),
        thorium_kg_per_t=_gap_as_zero(producers.thorium_kg_per_t_reo),
        mine_wastewater_m3_per_t=_gap_as_zero(producers.wastewater_m3_per_t_reo),
        residue_thorium_kg_per_t=_gap_as_zero(regions.thorium_residue_kg_per_t_reo),
        separation_wastewater_m3_per_t=_gap_as_zero(regions.wastewater_m3_per_t_reo))


def loads(inp: EnvironmentInputs, output: np.ndarray, ore: np.ndarray,
          feed: np.ndarray) -> Loads:
    """Loads from mine output (M, P), ore REO (M, P) and separation feed (M, R), all t REO/yr."""
    return Loads(*_loads(output, ore, feed, inp.region_of, inp.tailings_t_per_t,
                         inp.thorium_kg_per_t, inp.mine_wastewater_m3_per_t,
                         inp.residue_thorium_kg_per_t, inp.separation_wastewater_m3_per_t))


@numba.njit(cache=True)
def _loads(output: np.ndarray, ore: np.ndarray, feed: np.ndarray, region_of: np.ndarray,
           tailings_t_per_t: np.ndarray, thorium_kg_per_t: np.ndarray,
           mine_wastewater_m3_per_t: np.ndarray, residue_thorium_kg_per_t: np.ndarray,
           separation_wastewater_m3_per_t: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arithmetic of :func:`loads` for each member (numba, cached on disk).

    Mining loads are each producer's flow times its intensity, summed over the producers of a
    region (``region_of`` (P,)) in producer order, as numpy's product with a one-hot region
    matrix summed them; separation loads are the region's feed times its intensities.
    Returns tailings (M, R), thorium and wastewater (M, R, 2) with stages (mining,
    separation). Compiled because as numpy it took three products with a (P, R) matrix per
    month; the operations and the order of the sums are numpy's, so the numbers are the same,
    whatever the batch.
    """
    members, producers = output.shape
    regions = feed.shape[1]
    tailings = np.zeros((members, regions))
    thorium = np.zeros((members, regions, 2))
    wastewater = np.zeros((members, regions, 2))
    for m in range(members):
        for p in range(producers):
            r = region_of[p]
            tailings[m, r] += output[m, p] * tailings_t_per_t[p]
            # the ore's thorium splits between tailings and concentrate in proportion to REO
            # (docs/data.md); the concentrate's share is counted at separation, as residue.
            # Until 2026-12-08 the whole ore's was counted here as well (19% of Baotou's
            # 2000-2050 thorium counted twice; 60% of India's total in 2015)
            tailings_reo = np_maximum(ore[m, p] - output[m, p], 0.0)
            thorium[m, r, 0] += tailings_reo * thorium_kg_per_t[p] / KG_PER_T
            wastewater[m, r, 0] += output[m, p] * mine_wastewater_m3_per_t[p]
        for r in range(regions):
            thorium[m, r, 1] = feed[m, r] * residue_thorium_kg_per_t[r] / KG_PER_T
            wastewater[m, r, 1] = feed[m, r] * separation_wastewater_m3_per_t[r]
    return tailings, thorium, wastewater
