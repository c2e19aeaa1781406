"""The historical record used for validation, loaded from ``data/observations`` and tidied.

Only the packaged tables are read (through :func:`reesim.datasets.read_csv`). Everything is
clipped to the history window, which ends with 2015: later observations are not part of the fit
(they stay available for out-of-sample checks that are not this module's job).

Tidy means: dates parsed to ``pandas.Timestamp``; each price row is either a *point*
(``value_usd_per_kg``) or a *range* (``low_usd_per_kg`` .. ``high_usd_per_kg``, an open upper end
stored as ``inf``); and each price row names the simulated product it is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reesim.datasets import read_csv
from reesim.dims import ELEMENTS, MARKETS
from reesim.errors import InputError

HISTORY_END_YEAR = 2015
"""Last calendar year of the history window; no observation after it enters a metric."""

HISTORY_END = pd.Timestamp(f"{HISTORY_END_YEAR}-12-31")
"""Last day of the history window (inclusive)."""

PRND = "PrNd"
"""Product id of didymium (PrNd) oxide, recorded under ``element = mixed`` in prices.csv."""

PRND_SHARES: dict[str, float] = {"Pr": 0.25, "Nd": 0.75}
"""Oxide mass shares used to price simulated PrNd oxide (typical didymium, Pr:Nd about 1:3)."""


@dataclass(frozen=True)
class Observations:
    """The tidy observation tables, all within the history window.

    - ``prices``: ``product, market, period_start, period_end, statistic, kind, value_usd_per_kg,
      low_usd_per_kg, high_usd_per_kg, basis, note`` (kind ``point`` or ``range``).
    - ``production``: ``entity, year, mine_production_t_reo`` (t REO/yr).
    - ``exports``: ``year, china_exports_t_reo`` (t/yr of product as published, not strictly REO).
    - ``fx``: ``year, cny_per_usd``.
    """

    prices: pd.DataFrame
    production: pd.DataFrame
    exports: pd.DataFrame
    fx: pd.DataFrame


def check_end_year(end_year: int) -> int:
    """Return ``end_year`` if it lies within the history window, else raise ``ValueError``."""
    if end_year > HISTORY_END_YEAR:
        raise ValueError(f"validation uses data up to {HISTORY_END_YEAR} only; got end year "
                         f"{end_year}")
    return end_year


def _product(element: str, statistic: str, note: str) -> str | None:
    """Name the simulated product a price row is compared with (None: no counterpart).

    Element rows compare with that element's oxide. ``mixed`` rows are PrNd oxide when the note
    says so (Argus and Reuters quotes); the other ``mixed`` rows (the USGS US unit value, annual
    averages) and the Mt Weld ``basket`` are kept in the table for reference only.
    """
    if element in ELEMENTS:
        return element
    if element == "mixed" and statistic != "annual_average" and "PrNd" in note:
        return PRND
    return None


def tidy_prices(raw: pd.DataFrame, end: pd.Timestamp = HISTORY_END) -> pd.DataFrame:
    """Tidy a prices.csv frame: parse dates, classify rows, keep comparable rows up to ``end``."""
    if end > HISTORY_END:
        raise ValueError(f"validation uses data up to {HISTORY_END.date()} only; got {end.date()}")
    label = "data/observations/prices.csv"
    frame = raw.copy()
    frame["note"] = frame["note"].fillna("").astype(str)
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    for column in ("value_usd_per_kg", "low_usd_per_kg", "high_usd_per_kg"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    bad = frame[frame.period_end < frame.period_start]
    if len(bad):
        raise InputError(f"line {bad.index[0] + 2}: period_end is before period_start",
                         file=label, field="period_end")
    bad = frame[~frame.market.isin(MARKETS)]
    if len(bad):
        raise InputError(f"line {bad.index[0] + 2}: unknown market {bad.market.iloc[0]!r}",
                         file=label, field="market", allowed=", ".join(MARKETS))
    point = frame.value_usd_per_kg.notna()
    ranged = frame.low_usd_per_kg.notna()
    bad = frame[point == ranged]
    if len(bad):
        raise InputError(f"line {bad.index[0] + 2}: give either value_usd_per_kg or a range "
                         "low_usd_per_kg..high_usd_per_kg", file=label, field="value_usd_per_kg")
    frame["kind"] = np.where(point, "point", "range")
    frame.loc[ranged, "high_usd_per_kg"] = frame.loc[ranged, "high_usd_per_kg"].fillna(np.inf)
    frame["product"] = [_product(e, s, n) for e, s, n in
                        zip(frame.element, frame.statistic, frame.note, strict=True)]
    keep = frame["product"].notna() & (frame.period_end <= end)
    columns = ["product", "market", "period_start", "period_end", "statistic", "kind",
               "value_usd_per_kg", "low_usd_per_kg", "high_usd_per_kg", "basis", "note"]
    return frame.loc[keep, columns].reset_index(drop=True)


def load_observations(end_year: int = HISTORY_END_YEAR) -> Observations:
    """Read and tidy the packaged observation tables, keeping years up to ``end_year``."""
    check_end_year(end_year)
    end = pd.Timestamp(f"{end_year}-12-31")
    prices = tidy_prices(read_csv("observations", "prices.csv"), end)
    production = read_csv("observations", "production.csv")
    production = _clip_years(production, end_year,
                             ["entity", "year", "mine_production_t_reo", "note"])
    exports = read_csv("observations", "exports.csv")
    exports = _clip_years(exports, end_year, ["year", "china_exports_t_reo", "note"])
    fx = _clip_years(read_csv("observations", "fx.csv"), end_year, ["year", "cny_per_usd"])
    return Observations(prices=prices, production=production, exports=exports, fx=fx)


def _clip_years(frame: pd.DataFrame, end_year: int, columns: list[str]) -> pd.DataFrame:
    """Rows up to ``end_year`` with ``columns``; integer years, empty notes as ''."""
    out = frame.loc[frame.year <= end_year, columns].reset_index(drop=True)
    out["year"] = out["year"].astype(int)
    if "note" in out.columns:
        out["note"] = out["note"].fillna("").astype(str)
    return out
