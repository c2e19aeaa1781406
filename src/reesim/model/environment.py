"""Environmental loads per region and stage: tailings solids, thorium, wastewater.

Loads are intensities per tonne processed (packaged producer and region tables) times this
month's flows: mining loads follow mine output (thorium follows the ore mined), separation loads
follow the concentrate fed to cracking and separation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reesim.model.compile import Model


class Loads(NamedTuple):
    """Environmental flows of one month, per year."""

    tailings_solids: np.ndarray  # (M, R) t/yr
    thorium: np.ndarray          # (M, R, 2) t ThO2/yr, stages (mining, separation)
    wastewater: np.ndarray       # (M, R, 2) m3/yr


def loads(model: Model, output: np.ndarray, ore: np.ndarray, feed: np.ndarray) -> Loads:
    """Loads from mine output (M, P), ore REO (M, P) and separation feed (M, R), all t REO/yr."""
    c = model.constants
    by_region = model.routes.by_region                                  # (P, R)
    tailings = np.einsum("mp,pr->mr", output * c.tailings_t_per_t, by_region)
    th_mine = np.einsum("mp,pr->mr", ore * c.thorium_kg_per_t / 1000.0, by_region)
    ww_mine = np.einsum("mp,pr->mr", output * c.mine_wastewater_m3_per_t, by_region)
    th_sep = feed * c.residue_thorium_kg_per_t / 1000.0
    ww_sep = feed * c.separation_wastewater_m3_per_t
    thorium, wastewater = np.empty((*feed.shape, 2)), np.empty((*feed.shape, 2))
    thorium[..., 0], thorium[..., 1] = th_mine, th_sep
    wastewater[..., 0], wastewater[..., 1] = ww_mine, ww_sep
    return Loads(tailings_solids=tailings, thorium=thorium, wastewater=wastewater)
