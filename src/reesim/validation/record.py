"""The validation record beyond the calibration window, as tables: 2016-2025 targets, outlooks.

:func:`record_tables` is what ``reesim validate`` shows and writes beside the metrics: the
fit split at the calibration window (``fit_by_period.csv``), the per-year target table
(``targets.csv``), its summary (``targets_summary.csv``), the same series before the targets
(``history_volumes.csv``, 2005-2015: what misses there is shown as plainly), published demand
levels vs the run (``demand.csv``), the outlook vs baseline comparison (``outlooks.csv``) and
the 2011 spike of every observed element in both markets (``spike.csv``), the element
balances of 2010 and 2020 (``balances.csv``) and single elements' mine output beside the
few published figures of it (``element_supply.csv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from reesim.validation.balances import BALANCE_YEARS, element_balance_tables
from reesim.validation.element_supply import element_supply_table
from reesim.validation.observations import (
    HISTORY_END_YEAR,
    RECORD_END_YEAR,
    Observations,
    load_observations,
)
from reesim.validation.outlooks import demand_table, outlook_envelope, outlook_table
from reesim.validation.patterns import pattern_table
from reesim.validation.series import build_series, paired_points
from reesim.validation.spike import LEVEL_TOLERANCE, spike_table
from reesim.validation.targets import TARGET_YEARS, target_summary, target_table

HISTORY_VOLUME_YEARS = (2005, 2015)
"""Years of the volumes shown beside the targets, before them (``history_volumes.csv``)."""

PERIOD_COLUMNS = ["series", "n_to_2015", "log_rmse_to_2015", "n_after_2015",
                  "log_rmse_after_2015"]
"""Columns of :func:`fit_by_period`."""


def fit_by_period(ds: xr.Dataset, obs: Observations) -> pd.DataFrame:
    """Log RMSE of every series' point observations in the calibration window and after it.

    The split is at 2015 (the old calibration window; a calibration now sees the record to 2025
    unless ``--train-until`` says otherwise, see :mod:`reesim.calibration.backtest`); after it
    are volumes 2016-2025 and prices 2016-2020. Median over members; points with a
    non-positive observed or simulated value are left out (no log error).
    """
    pairs = paired_points(build_series(ds, obs))
    pairs = pairs[(pairs.kind == "point") & (pairs.observed > 0) & (pairs.simulated > 0)]
    err = np.log(pairs.simulated / pairs.observed) ** 2
    late = pairs.period_start.dt.year > HISTORY_END_YEAR
    rows = []
    for series in dict.fromkeys(pairs.series):
        mine = pairs.series == series
        row: dict[str, object] = {"series": series}
        for name, part in (("to_2015", mine & ~late), ("after_2015", mine & late)):
            per_member = err[part].groupby(pairs.member[part]).mean() ** 0.5
            n = int(part.sum() / max(pairs.member[part].nunique(), 1))
            row[f"n_{name}"] = n
            row[f"log_rmse_{name}"] = float(per_member.median()) if n else float("nan")
        rows.append(row)
    return pd.DataFrame(rows, columns=PERIOD_COLUMNS)


def record_tables(ds: xr.Dataset, obs: Observations | None = None
                  ) -> dict[str, tuple[str, pd.DataFrame]]:
    """``{file stem: (title, frame)}`` of the targets, their summary and the outlook comparison."""
    obs = obs if obs is not None else load_observations(RECORD_END_YEAR)
    targets = target_table(ds, obs)
    outlooks = outlook_table(ds)
    first, last = TARGET_YEARS
    return {
        "fit_by_period": ("Fit up to 2015 and after it (volumes 2016-2025, prices "
                          "2016-2020), of the run as fitted (both periods in sample when the "
                          "fit saw the whole record; --train-until 2015 for a backtest): log "
                          "RMSE of point observations",
                          fit_by_period(ds, obs)),
        "targets": (f"Targets {first}-{last}: simulated vs recorded, per year "
                    "(error = simulated / observed - 1)", targets),
        "targets_summary": (f"Targets {first}-{last}: years within tolerance",
                            target_summary(targets) if len(targets) else
                            pd.DataFrame(columns=["target"])),
        "history_volumes": (f"Before the targets, {HISTORY_VOLUME_YEARS[0]}-"
                            f"{HISTORY_VOLUME_YEARS[1]}: the same series and tolerances, not "
                            "required (China's exports against the customs record while its "
                            "export quota bound)",
                            target_table(ds, obs, years=HISTORY_VOLUME_YEARS)),
        "demand": ("Demand vs record: published demand levels and shares (2011-2023)",
                   demand_table(ds)),
        "outlooks": ("Outlook vs baseline: published demand outlooks and the model's run",
                     outlooks),
        "outlook_envelope": (f"The outlooks' spread: each quantity's published growth beyond "
                             f"{RECORD_END_YEAR} (ratios as %/yr over their years) beside the "
                             "model's over the same windows", outlook_envelope(outlooks)),
        "spike": (f"The 2011 spike by element: highest month of 2010-2012 vs the record's "
                  f"highest quote (within {LEVEL_TOLERANCE:g}x), and over 2015",
                  spike_table(ds, obs)),
        "patterns": ("Behaviour patterns: the 2011 spike, China's 2011 peaks, monthly "
                     "smoothness and projection jumps, simulated vs record",
                     pattern_table(ds, obs)),
        "balances": (f"Element balances {' and '.join(map(str, BALANCE_YEARS))}: separated "
                     "supply, what separators left in residues, consumption and stocks (t "
                     "REO), prices (USD/kg) beside the record's", element_balance_tables(ds, obs)),
        "element_supply": ("Element supply vs record: mine output of single elements beside "
                           "the published figures (t REO/yr; world, and Myanmar's ore; NdPr: "
                           "separated oxide)",
                           element_supply_table(ds)),
    }
