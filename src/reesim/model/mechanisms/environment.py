"""Environmental loads per region and stage: tailings solids, thorium, wastewater.

Loads are intensities per tonne processed (packaged producer and region tables) times this
month's flows: mining loads follow mine output (thorium follows the ore mined) and are booked to
the mining region; separation loads follow the concentrate fed to cracking and separation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from reesim.model.constants import Constant
from reesim.model.context import Context, Draft

CONSTANTS: tuple[Constant, ...] = ()
KG_PER_T = 1000.0


@dataclass(frozen=True)
class EnvironmentInputs:
    """Load intensities per t REO processed; (P,) for mining, (R,) for separation."""

    by_region: np.ndarray                   # (P, R) one-hot of each producer's mining region
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
        by_region=np.eye(len(ctx.coords.regions))[ctx.producer_region],
        tailings_t_per_t=_gap_as_zero(producers.tailings_t_per_t_reo),
        thorium_kg_per_t=_gap_as_zero(producers.thorium_kg_per_t_reo),
        mine_wastewater_m3_per_t=_gap_as_zero(producers.wastewater_m3_per_t_reo),
        residue_thorium_kg_per_t=_gap_as_zero(regions.thorium_residue_kg_per_t_reo),
        separation_wastewater_m3_per_t=_gap_as_zero(regions.wastewater_m3_per_t_reo))


def loads(inp: EnvironmentInputs, output: np.ndarray, ore: np.ndarray,
          feed: np.ndarray) -> Loads:
    """Loads from mine output (M, P), ore REO (M, P) and separation feed (M, R), all t REO/yr."""
    by_region = inp.by_region
    tailings = np.einsum("mp,pr->mr", output * inp.tailings_t_per_t, by_region)
    th_mine = np.einsum("mp,pr->mr", ore * inp.thorium_kg_per_t / KG_PER_T, by_region)
    ww_mine = np.einsum("mp,pr->mr", output * inp.mine_wastewater_m3_per_t, by_region)
    th_sep = feed * inp.residue_thorium_kg_per_t / KG_PER_T
    ww_sep = feed * inp.separation_wastewater_m3_per_t
    thorium, wastewater = np.empty((*feed.shape, 2)), np.empty((*feed.shape, 2))
    thorium[..., 0], thorium[..., 1] = th_mine, th_sep
    wastewater[..., 0], wastewater[..., 1] = ww_mine, ww_sep
    return Loads(tailings_solids=tailings, thorium=thorium, wastewater=wastewater)
