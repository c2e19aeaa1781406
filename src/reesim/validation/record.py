"""The validation record beyond the calibration window, as tables: 2016-2025 targets, outlooks.

:func:`record_tables` is what ``reesim validate`` shows and writes beside the metrics: the
per-year target table (``targets.csv``), its summary (``targets_summary.csv``), published demand
levels vs the run (``demand.csv``) and the outlook vs baseline comparison (``outlooks.csv``).
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from reesim.validation.observations import RECORD_END_YEAR, Observations, load_observations
from reesim.validation.outlooks import demand_table, outlook_table
from reesim.validation.targets import TARGET_YEARS, target_summary, target_table


def record_tables(ds: xr.Dataset, obs: Observations | None = None
                  ) -> dict[str, tuple[str, pd.DataFrame]]:
    """``{file stem: (title, frame)}`` of the targets, their summary and the outlook comparison."""
    obs = obs if obs is not None else load_observations(RECORD_END_YEAR)
    targets = target_table(ds, obs)
    first, last = TARGET_YEARS
    return {
        "targets": (f"Targets {first}-{last}: simulated vs recorded, per year "
                    "(error = simulated / observed - 1)", targets),
        "targets_summary": (f"Targets {first}-{last}: years within tolerance",
                            target_summary(targets) if len(targets) else
                            pd.DataFrame(columns=["target"])),
        "demand": ("Demand vs record: published demand levels and shares (2011-2023)",
                   demand_table(ds)),
        "outlooks": ("Outlook vs baseline: published demand outlooks and the model's run",
                     outlook_table(ds)),
    }
