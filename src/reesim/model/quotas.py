"""Reading China's quota table (data/inputs/quotas.csv) into yearly series.

Shared by the mechanisms whose instruments are quotas (mining, separation, export trade).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reesim.datasets import ReferenceData


def packaged_quota(data: ReferenceData, kind: str, segment: str, holder: str,
                   years: np.ndarray) -> np.ndarray:
    """:func:`quota_series` of the packaged quota table, once per data, series and years.

    Read-only (copy before changing it). Its pandas filtering and grouping took a tenth of a
    build, for the same numbers every build.
    """
    return data.derived(("quota_series", kind, segment, holder, tuple(years.tolist())),
                        lambda: quota_series(data["quotas"], kind, segment, holder, years))


def quota_series(quotas: pd.DataFrame, kind: str, segment: str, holder: str,
                 years: np.ndarray) -> np.ndarray:
    """Annual quota of (kind, segment, holder) per year, t REO/yr; NaN where the table has none."""
    rows = quotas[(quotas.kind == kind) & (quotas.segment == segment) & (quotas.holder == holder)]
    series = pd.Series(rows.value_t_reo_per_yr.to_numpy(float), index=rows.year.to_numpy())
    series = series.groupby(level=0).last()
    return series.reindex(years).to_numpy(dtype=float)


def nearest_known(values: np.ndarray) -> np.ndarray | None:
    """For each position, the index of the nearest finite value (None if there is none)."""
    known = np.flatnonzero(np.isfinite(values))
    if known.size == 0:
        return None
    idx = np.arange(len(values))
    return known[np.abs(idx[:, None] - known[None, :]).argmin(axis=1)]


def fill_split(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Fill missing ``part`` values with ``total`` x the part's share in the nearest year known."""
    share = part / total
    nearest = nearest_known(share)
    if nearest is None:
        return part
    return np.where(np.isfinite(part), part, total * share[nearest])


def extend(series: np.ndarray, years: np.ndarray, growth_pct: float) -> np.ndarray:
    """After the last known year, grow the last value at ``growth_pct``; before the first: inf."""
    known = np.flatnonzero(np.isfinite(series))
    out = series.copy()
    if known.size == 0:
        return np.full_like(series, np.inf)
    first, last = known[0], known[-1]
    out[:first] = np.inf
    out[last + 1:] = series[last] * (1 + growth_pct / 100.0) ** (years[last + 1:] - years[last])
    missing = ~np.isfinite(out[first:last + 1])
    if missing.any():  # interior gaps: hold the previous value
        block = pd.Series(out[first:last + 1]).replace([np.inf], np.nan).ffill().to_numpy()
        out[first:last + 1] = block
    return out
