"""The historical record used for validation, loaded from ``data/observations`` and tidied.

Only the packaged tables are read (through :mod:`reesim.datasets`). Two windows:

- the history window ends with :data:`HISTORY_END_YEAR` (2015): ``load_observations()`` (the
  default) clips everything to it; ``reesim validate`` splits its fit table there (to 2015,
  2016-2020). The calibration window is another one: it ends with :data:`TRAIN_END_YEAR`
  (2025), or the ``--train-until`` year, which the calibration passes explicitly;
- the validation record runs to :data:`RECORD_END_YEAR` (2025) for volumes and to
  :data:`PRICE_RECORD_END_YEAR` (2020, the last year with market prices in the files) for
  prices: ``load_observations(RECORD_END_YEAR)`` is what ``reesim validate`` scores.

Tidy means: dates parsed to ``pandas.Timestamp``; each price row is either a *point*
(``value_usd_per_kg``) or a *range* (``low_usd_per_kg`` .. ``high_usd_per_kg``, an open upper end
stored as ``inf``); and each price row names the simulated product it is compared with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from reesim.datasets import load_table, read_csv
from reesim.dims import ELEMENTS, MARKETS
from reesim.errors import InputError

HISTORY_END_YEAR = 2015
"""Last calendar year of the history window; no observation after it enters a metric."""

HISTORY_END = pd.Timestamp(f"{HISTORY_END_YEAR}-12-31")
"""Last day of the history window (inclusive)."""

RECORD_END_YEAR = 2025
"""Last calendar year of the validation record (volumes: production, quotas, exports)."""

TRAIN_END_YEAR = RECORD_END_YEAR
"""Default last year of the calibration window (``reesim calibrate``; ``--train-until`` moves
it): volumes to 2025 and, as the record holds them, prices to 2020. ``reesim validate
--train-until YEAR`` fits up to YEAR and scores the years after it out of sample."""

PRICE_RECORD_END_YEAR = 2020
"""Last calendar year with market prices in the packaged record (the research files' rule)."""

RECORD_END = pd.Timestamp(f"{RECORD_END_YEAR}-12-31")
"""Last day of the validation record (inclusive); no observation after it enters a metric."""

PRND = "PrNd"
"""Product id of didymium (PrNd) oxide, recorded under ``element = mixed`` in prices.csv."""

PRND_SHARES: dict[str, float] = {"Pr": 0.25, "Nd": 0.75}
"""Oxide mass shares used to price simulated PrNd oxide (typical didymium, Pr:Nd about 1:3)."""


T = TypeVar("T")


@dataclass(frozen=True)
class Observations:
    """The tidy observation tables, all within the history window.

    - ``prices``: ``product, market, period_start, period_end, statistic, kind, value_usd_per_kg,
      low_usd_per_kg, high_usd_per_kg, basis, note`` (kind ``point`` or ``range``).
    - ``production``: ``entity, year, mine_production_t_reo`` (t REO/yr).
    - ``exports``: ``year, china_exports_t_reo`` (t/yr of product as published, not strictly REO).
    - ``fx``: ``year, cny_per_usd``.
    - ``china_share``: ``year, china_share_fraction, edition, note``: one like-with-like share per
      year (China and world from the same source, see ``china_share.csv``); ``None`` means the
      production table is one consistent source and the share is China / world from it.
    - ``editions``: ``entity, year, edition, mine_production_t_reo, preferred`` (every edition's
      value side by side: the record's own uncertainty); ``None``: only the preferred values.
    """

    prices: pd.DataFrame
    production: pd.DataFrame
    exports: pd.DataFrame
    fx: pd.DataFrame
    china_share: pd.DataFrame | None = None
    editions: pd.DataFrame | None = None
    end_year: int | None = None
    """Last year of the record loaded (``None``: as far as the tables go); metrics computed on
    the simulated path alone (monthly smoothness) stop there too."""
    start_year: int | None = None
    """First year of the record kept (``None``: from its start; a backtest's out-of-sample part
    starts after its training window), for the same metrics."""
    _memo: dict[str, object] = field(default_factory=dict, init=False, repr=False,
                                     compare=False)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per observations object: tables derived from the record alone.

        A calibration scores thousands of batches against one record; the observation rows of
        its series (price rows, export/China gaps, annual production points) are built once.
        Callers must not modify what it returns.
        """
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[return-value]

    def share_table(self) -> pd.DataFrame:
        """China's share of world output per year: ``year, china_share_fraction, edition, note``."""
        if self.china_share is not None:
            return self.china_share
        prod = self.production
        world = prod[prod.entity == "world"].set_index("year").mine_production_t_reo
        china = prod[prod.entity == "china"].set_index("year").mine_production_t_reo
        share = (china / world).dropna()
        return pd.DataFrame({"year": share.index.astype(int), "china_share_fraction": share.values,
                             "edition": "production table", "note": ""})

    def edition_table(self) -> pd.DataFrame:
        """Every edition's mine production (the preferred values only if none were given)."""
        if self.editions is not None:
            return self.editions
        out = self.production[["entity", "year", "mine_production_t_reo"]].copy()
        out["edition"], out["preferred"] = "preferred", True
        return out


def check_train_until(train_until: int, start_year: int) -> int:
    """Return ``train_until`` if it leaves at least five years of record after ``start_year``.

    Raises :class:`~reesim.errors.InputError` naming ``--train-until`` and the allowed years.
    """
    first = start_year + 4
    if not first <= int(train_until) <= RECORD_END_YEAR:
        raise InputError(f"train-until {train_until} must leave at least five years of record "
                         f"from the scenario's start ({start_year}) and lie within the record",
                         field="--train-until", allowed=f"{first}..{RECORD_END_YEAR}")
    return int(train_until)


def check_end_year(end_year: int) -> int:
    """Return ``end_year`` if it lies within the validation record, else raise ``ValueError``."""
    if end_year > RECORD_END_YEAR:
        raise ValueError(f"the validation record ends in {RECORD_END_YEAR}; got end year "
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
    if end > RECORD_END:
        raise ValueError(f"the validation record ends on {RECORD_END.date()}; got {end.date()}")
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


def point_values(prices: pd.DataFrame) -> pd.Series:
    """One USD/kg figure per row of a :func:`tidy_prices` frame: the value, or a range's midpoint.

    An open range ('above 150') has no midpoint: NaN, so it never enters a mean or a peak.
    """
    mid = (prices.low_usd_per_kg + prices.high_usd_per_kg) / 2.0
    return prices.value_usd_per_kg.fillna(mid.where(np.isfinite(prices.high_usd_per_kg)))


def load_observations(end_year: int = HISTORY_END_YEAR) -> Observations:
    """Read and tidy the packaged observation tables, keeping years up to ``end_year``.

    The default is the history window (to 2015); ``RECORD_END_YEAR`` gives the whole
    validation record (volumes to 2025, prices to 2020), which calibration and ``reesim
    validate`` score by default (:data:`TRAIN_END_YEAR`).
    """
    check_end_year(end_year)
    end = pd.Timestamp(f"{end_year}-12-31")
    prices = tidy_prices(read_csv("observations", "prices.csv"), end)
    production = read_csv("observations", "production.csv")
    production = _clip_years(production, end_year,
                             ["entity", "year", "mine_production_t_reo", "note"])
    exports = read_csv("observations", "exports.csv")
    exports = _clip_years(exports, end_year, ["year", "china_exports_t_reo", "note"])
    fx = _clip_years(read_csv("observations", "fx.csv"), end_year, ["year", "cny_per_usd"])
    share = load_table("observations", "china_share")
    share = _clip_years(share[share.preferred], end_year,
                        ["year", "china_share_fraction", "edition", "note"])
    editions = _clip_years(load_table("observations", "production_editions"), end_year,
                           ["entity", "year", "edition", "mine_production_t_reo", "preferred"])
    return Observations(prices=prices, production=production, exports=exports, fx=fx,
                        china_share=share, editions=editions, end_year=int(end_year))


def _clip_years(frame: pd.DataFrame, end_year: int, columns: list[str]) -> pd.DataFrame:
    """Rows up to ``end_year`` with ``columns``; integer years, empty notes as ''."""
    out = frame.loc[frame.year <= end_year, columns].reset_index(drop=True)
    out["year"] = out["year"].astype(int)
    if "note" in out.columns:
        out["note"] = out["note"].fillna("").astype(str)
    return out
