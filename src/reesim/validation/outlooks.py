"""Outlook vs baseline: published demand outlooks against the model's run, on the same basis.

Each comparable row of ``reference/demand_outlooks.csv`` names a model quantity, a base and a
target year and the published figure in one of three forms:

- ``ratio``: value in the target year / value in the base year (IEA: +50-60% by 2040 = 1.5-1.6);
- ``cagr``: average growth in %/yr between the two years (Adamas: NdFeB +7.5%/yr 2023-2040);
- ``level``: the quantity's value in the target year (a share, or t REO/yr).

The model's figure is computed the same way from annual means of the run (median over members).
``consistent`` says whether it lies within the published range widened by :data:`TOLERANCE`
(the published figures are rounded and their bases differ slightly from the model's). Rows
whose years fall outside the run are listed with an empty model figure.

Quantities (``demand`` is the model's demand at the prevailing prices, t REO/yr):
``total_demand`` (all elements and applications), ``magnet_demand`` (the magnets application;
compared with NdFeB tonnages as a growth or a ratio, which holds if the oxide per tonne of magnet
is steady), ``magnet_ree_demand`` (Nd+Pr+Dy+Tb in every application: the IEA's "magnet rare
earths"), ``ndpr_demand``, ``dytb_demand``, ``magnet_share_of_demand`` and
``catalyst_share_of_demand`` (of total demand), ``china_demand`` (the China market's
consumption, t REO/yr) and ``china_share_of_demand`` (its share of consumption),
``china_mine_output`` (t REO/yr) and ``china_share_of_mining`` (of world mine output). Single
elements' mine output (Adamas' Dy c.2020 among them) is compared in
:mod:`reesim.validation.element_supply`.

:func:`demand_table` compares the published demand *levels* of the record (2007-2023:
China's consumption 2007-2009, totals, shares, magnet rare earths, NdPr, Dy+Tb;
``reference/demand_by_application.csv``, rows with a ``quantity``) with the same quantities of
the run. China's 2007-2009 consumption shows the model's 2000s demand below the record, the
cause of China's standing stock in 2010 (docs/model.md, section 5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from reesim.datasets import load_table
from reesim.indicators import (
    annual_on_time,
    china_mine_output,
    world_mine_output,
)
from reesim.validation.observations import RECORD_END_YEAR
from reesim.validation.series import record_frequency

MAGNET_ELEMENTS = ("Nd", "Pr", "Dy", "Tb")
"""The IEA's 'magnet rare earths'."""

TOLERANCE = {"ratio": 0.10, "cagr": 1.0, "level": 0.15}
"""Widening of the published range before calling the model consistent: 10% of a ratio,
1 percentage point of a growth rate, 15% of a level (published figures are rounded, and a
tonne of NdFeB or of 'magnet REE' is not exactly the model's tonne of REO)."""

COLUMNS = ["publisher", "published", "scenario", "quantity", "comparison", "base_year",
           "target_year", "published_low", "published_high", "model", "consistent",
           "model_base", "model_target", "comparison_rule", "note"]
"""Columns of :func:`outlook_table`."""


def _annual_median(da: xr.DataArray, frequency: str) -> pd.Series:
    if frequency == "month":
        da = annual_on_time(da)
    if "member" in da.dims:
        da = da.median("member")
    return pd.Series(da.values, index=da.year.values.astype(int))


def model_quantities(ds: xr.Dataset) -> dict[str, pd.Series]:
    """Annual (median) paths of every outlook quantity, indexed by year."""
    frequency = record_frequency(ds)
    demand = ds.demand
    total = demand.sum(["application", "element"])
    magnets = demand.sel(application="magnets").sum("element")
    present = [e for e in MAGNET_ELEMENTS if e in demand.element.values]
    out = {
        "total_demand": total,
        "magnet_demand": magnets,
        "magnet_ree_demand": demand.sel(element=present).sum(["application", "element"]),
        "ndpr_demand": demand.sel(element=["Nd", "Pr"]).sum(["application", "element"]),
        "china_mine_output": china_mine_output(ds),
    }
    out["dytb_demand"] = demand.sel(element=[e for e in ("Dy", "Tb")
                                             if e in demand.element.values]).sum(
        ["application", "element"])
    series = {name: _annual_median(da, frequency) for name, da in out.items()}
    series["magnet_share_of_demand"] = series["magnet_demand"] / series["total_demand"]
    catalysts = _annual_median(demand.sel(application="catalysts").sum("element"), frequency)
    series["catalyst_share_of_demand"] = catalysts / series["total_demand"]
    series["china_share_of_mining"] = (series["china_mine_output"]
                                       / _annual_median(world_mine_output(ds), frequency))
    if "market_consumption" in ds:
        consumption = ds.market_consumption.sum("element")
        series["china_demand"] = _annual_median(consumption.sel(market="china", drop=True),
                                                frequency)
        series["china_share_of_demand"] = (
            series["china_demand"] / _annual_median(consumption.sum("market"), frequency))
    return series


def _model_figure(path: pd.Series, comparison: str, base: int,
                  target: int) -> tuple[float, float, float]:
    """(figure, base value, target value) of ``path`` in the comparison's form (NaN outside)."""
    nan = float("nan")
    if target not in path.index or (comparison != "level" and base not in path.index):
        return nan, nan, nan
    end = float(path[target])
    start = float(path[base]) if base in path.index else nan
    if comparison == "level":
        return end, start, end
    if not start > 0:
        return nan, start, end
    if comparison == "ratio":
        return end / start, start, end
    return _growth_pct_per_yr(end / start, "ratio", target - base), start, end


def outlook_table(ds: xr.Dataset, outlooks: pd.DataFrame | None = None) -> pd.DataFrame:
    """The outlook vs baseline table (columns :data:`COLUMNS`), one row per comparable outlook."""
    outlooks = outlooks if outlooks is not None else load_table("reference", "demand_outlooks")
    comparable = outlooks[outlooks.comparison != "none"]
    paths = model_quantities(ds)
    rows = []
    for r in comparable.itertuples(index=False):
        base, target = int(r.base_year), int(r.target_year)
        figure, start, end = _model_figure(paths[r.quantity], r.comparison, base, target)
        low, high = float(r.published_low), float(r.published_high)
        tol = TOLERANCE[r.comparison]
        if r.comparison == "cagr":
            lo, hi = low - tol, high + tol
        else:
            lo, hi = low * (1 - tol), high * (1 + tol)
        rows.append({
            "publisher": r.publisher, "published": r.published, "scenario": r.scenario,
            "quantity": r.quantity, "comparison": r.comparison, "base_year": base,
            "target_year": target, "published_low": low, "published_high": high,
            "model": figure,
            "consistent": bool(lo <= figure <= hi) if np.isfinite(figure) else None,
            "model_base": start, "model_target": end, "comparison_rule": r.comparison_rule,
            "note": r.note,
        })
    return pd.DataFrame(rows, columns=COLUMNS)


ENVELOPE_COLUMNS = ["quantity", "outlooks", "publishers", "years", "published_low_pct_per_yr",
                    "published_high_pct_per_yr", "model_low_pct_per_yr",
                    "model_high_pct_per_yr", "windows_in_run", "model_within", "note"]
"""Columns of :func:`outlook_envelope`."""


def _growth_pct_per_yr(figure: float, comparison: str, years: int) -> float:
    """A ratio over ``years`` or a growth rate (%/yr) as an average growth rate in %/yr."""
    if comparison == "cagr":
        return figure
    if comparison == "ratio" and figure >= 0 and years > 0:
        return 100.0 * (figure ** (1.0 / years) - 1.0)
    return float("nan")


def _column_growth(rows: pd.DataFrame, column: str) -> np.ndarray:
    """A column of outlook rows (ratios or growth rates) as growth rates in %/yr."""
    years = (rows.target_year - rows.base_year).astype(int)
    return np.array([_growth_pct_per_yr(v, c, n)
                     for v, c, n in zip(rows[column], rows.comparison, years, strict=True)])


def outlook_envelope(table: pd.DataFrame, after: int = RECORD_END_YEAR) -> pd.DataFrame:
    """The published outlooks' spread per quantity as growth rates, beside the model's.

    The outlooks disagree with each other by more than any tolerance (magnet rare earths: IEA's
    stated policies +50-60% over 2024-2040, about 2.6-3.0%/yr, Adamas +8.2%/yr for the same
    years), so a row-by-row verdict calls the baseline inconsistent with one of any two that
    differ. This summary reads every ratio and growth row of :func:`outlook_table` (its columns
    :data:`COLUMNS`) that reaches beyond ``after`` (the record's last year: a projection, not
    history, which the row-by-row table and the demand table check) as an average growth rate
    over its own years, and gives per quantity with two rows or more the published envelope
    (lowest low to highest high) beside the range of the model's growth over the same windows,
    and how many of those windows' model growth lies inside the envelope widened by the growth
    tolerance of :data:`TOLERANCE`. Levels are left out (they are not growth). Columns
    :data:`ENVELOPE_COLUMNS`.
    """
    rows = []
    growth = table[table.comparison.isin(["ratio", "cagr"]) & (table.target_year > after)]
    tol = TOLERANCE["cagr"]
    for quantity, group in growth.groupby("quantity", sort=False):
        if len(group) < 2:
            continue
        low, high, model = (_column_growth(group, c)
                            for c in ("published_low", "published_high", "model"))
        lo, hi = float(np.nanmin(low)), float(np.nanmax(high))
        known = model[np.isfinite(model)]
        rows.append({
            "quantity": quantity, "outlooks": len(group),
            "publishers": ", ".join(dict.fromkeys(str(p) for p in group.publisher)),
            "years": f"{int(group.base_year.min())}-{int(group.target_year.max())}",
            "published_low_pct_per_yr": lo, "published_high_pct_per_yr": hi,
            "model_low_pct_per_yr": float(known.min()) if len(known) else float("nan"),
            "model_high_pct_per_yr": float(known.max()) if len(known) else float("nan"),
            "windows_in_run": len(known),
            "model_within": int(((known >= lo - tol) & (known <= hi + tol)).sum()),
            "note": f"inside: the envelope widened by {tol:g} %/yr",
        })
    return pd.DataFrame(rows, columns=ENVELOPE_COLUMNS)


DEMAND_COLUMNS = ["year", "quantity", "item", "published_low", "published_high", "model",
                  "model_to_published", "consistent", "source", "note"]
"""Columns of :func:`demand_table`."""


def demand_table(ds: xr.Dataset, record: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published demand levels vs the run's (columns :data:`DEMAND_COLUMNS`), one row per figure.

    Percentages become fractions; a one-sided bound ('>70%') leaves the other end open.
    ``model_to_published`` is the model over the published value (or the nearest bound);
    ``consistent`` uses the ``level`` tolerance of :data:`TOLERANCE`.
    """
    record = record if record is not None else load_table("reference",
                                                          "demand_by_application")
    rows = record[record.quantity.notna() & (record.year == record.year_end)]
    paths = model_quantities(ds)
    tol = TOLERANCE["level"]
    out = []
    for r in rows.itertuples(index=False):
        scale = 0.01 if str(r.unit).startswith("%") else 1.0
        if r.value == r.value and r.value is not None:
            low = high = r.value * scale
        else:
            low = r.value_low * scale if r.value_low == r.value_low else float("-inf")
            high = r.value_high * scale if r.value_high == r.value_high else float("inf")
        path = paths.get(r.quantity)
        year = int(r.year)
        model = float(path[year]) if path is not None and year in path.index else float("nan")
        nearest = min(max(model, low), high) if np.isfinite(model) else float("nan")
        out.append({
            "year": year, "quantity": r.quantity, "item": r.item,
            "published_low": low, "published_high": high, "model": model,
            "model_to_published": model / nearest if nearest and np.isfinite(nearest)
            else float("nan"),
            "consistent": (bool(low * (1 - tol) <= model <= high * (1 + tol))
                           if np.isfinite(model) else None),
            "source": r.source, "note": r.note,
        })
    return pd.DataFrame(out, columns=DEMAND_COLUMNS)
