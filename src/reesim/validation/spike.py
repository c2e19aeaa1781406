"""The 2011 price spike element by element, in both markets, beside the record.

Issue 8 asks that the export and China prices of the observed elements (La, Ce, Pr, Nd, Sm, Eu,
Tb, Dy) peak in 2011 at levels within a factor 1.5 of the record's and fall by 2015 by factors
like the record's. The default objective scores only the export spike of Nd and Dy (its month
and its height over 2015, :func:`reesim.validation.metrics.global_metrics`; China's peaks are the
``spike_china`` family, weight 0 unless a calibration asks); :func:`spike_table` shows
every observed element and market, so what the fit leaves out is in plain view: the highest
month of 2010-2012 (read on the step-filtered path, as the scored spike is) against the
record's highest quote (:func:`reesim.validation.metrics.recorded_peak`, the one reading of
it) of those years, and both over their 2015 level.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from reesim.validation.metrics import (
    PEAK_WINDOW,
    SPIKE_ELEMENTS,
    recorded_2015,
    recorded_peak,
    simulated_peaks,
)
from reesim.validation.observations import Observations

LEVEL_TOLERANCE = 1.5
"""A peak level counts as reproduced within this factor of the record's (either way)."""

COLUMNS = ["element", "market", "peak_usd_per_kg", "peak_month", "record_peak_usd_per_kg",
           "record_peak_month", "peak_to_record", "within_tolerance", "peak_to_2015",
           "record_peak_to_2015"]
"""Columns of :func:`spike_table`: USD/kg, months as YYYY-MM, ratios; ``within_tolerance`` is
None where the record has no quote of 2010-2012."""


def spike_table(ds: xr.Dataset, obs: Observations) -> pd.DataFrame:
    """One row per observed element and market (columns :data:`COLUMNS`; member medians).

    Empty for a run without monthly prices over 2010-2012 (the peaks are monthly).
    """
    times = pd.DatetimeIndex(ds.time.values)
    covered = (times >= PEAK_WINDOW[0]) & (times <= PEAK_WINDOW[1])
    if covered.sum() < 2 or not (np.diff(times[covered][:2]) < pd.Timedelta(days=40)).all():
        return pd.DataFrame(columns=COLUMNS)
    first = pd.Period(times[covered][0], freq="M")
    rows = []
    for element in SPIKE_ELEMENTS:
        if element not in ds.element.values:
            continue
        for market in ("export", "china"):
            peak, index, ratio = simulated_peaks(ds, element, market)
            month, level = recorded_peak(obs, element, market)
            base = recorded_2015(obs, element, market)
            simulated = float(np.median(peak))
            to_record = simulated / level if level > 0 else math.nan
            rows.append({
                "element": element, "market": market, "peak_usd_per_kg": simulated,
                "peak_month": str(first + int(np.median(index))),
                "record_peak_usd_per_kg": level, "record_peak_month": month,
                "peak_to_record": to_record,
                "within_tolerance": (None if not math.isfinite(to_record) else
                                     bool(1.0 / LEVEL_TOLERANCE <= to_record
                                          <= LEVEL_TOLERANCE)),
                "peak_to_2015": float(np.median(ratio)),
                "record_peak_to_2015": level / base if base > 0 else math.nan,
            })
    return pd.DataFrame(rows, columns=COLUMNS)
