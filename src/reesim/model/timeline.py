"""The monthly time axis and helpers that turn yearly tables into per-month schedules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reesim.dims import MONTHS_PER_YEAR
from reesim.scenario.schema import month_number


@dataclass(frozen=True)
class Timeline:
    """Months from January of ``start_year`` to December of ``end_year``."""

    start_year: int
    end_year: int

    @property
    def steps(self) -> int:
        """Number of monthly steps."""
        return MONTHS_PER_YEAR * (self.end_year - self.start_year + 1)

    @property
    def year(self) -> np.ndarray:
        """Calendar year of each step, shape (T,)."""
        return self.start_year + np.arange(self.steps) // MONTHS_PER_YEAR

    @property
    def month(self) -> np.ndarray:
        """Calendar month (1-12) of each step, shape (T,)."""
        return 1 + np.arange(self.steps) % MONTHS_PER_YEAR

    @property
    def decimal_year(self) -> np.ndarray:
        """Mid-month decimal year of each step, shape (T,)."""
        return self.start_year + (np.arange(self.steps) + 0.5) / MONTHS_PER_YEAR

    @property
    def dates(self) -> np.ndarray:
        """First day of each month as datetime64[us], shape (T,).

        numpy's month arithmetic: ``pd.date_range(freq="MS")``, which gave the same values,
        builds month starts one by one in Python (5 ms of a 0.3 s run for 612 months).
        """
        first = np.datetime64(f"{self.start_year}-01", "M")
        return (first + np.arange(self.steps)).astype("datetime64[us]")

    def index(self, date: str | int) -> int:
        """Step index of a ``YYYY`` or ``YYYY-MM`` date, clipped to [0, T]."""
        return int(np.clip(self.offset(date), 0, self.steps))

    def offset(self, date: str | int) -> int:
        """Months from the first step to a ``YYYY`` or ``YYYY-MM`` date (negative before it)."""
        return month_number(date) - MONTHS_PER_YEAR * self.start_year

    def window(self, start: str | int, end: str | int | None) -> slice:
        """Slice of steps from ``start`` (inclusive) to ``end`` (exclusive, open if None)."""
        return slice(self.index(start), self.steps if end is None else self.index(end))


def step_by_year(years: np.ndarray, table_years: np.ndarray, values: np.ndarray,
                 before: float | np.ndarray = np.nan) -> np.ndarray:
    """Value in force each year: the row of the latest table year <= year (``before`` if none).

    ``values`` is (n_rows, ...) sorted by ``table_years``; returns (len(years), ...).
    """
    order = np.argsort(table_years, kind="stable")
    table_years, values = np.asarray(table_years)[order], np.asarray(values, dtype=float)[order]
    pos = np.searchsorted(table_years, years, side="right") - 1
    out = values[np.clip(pos, 0, None)]
    if np.any(pos < 0):
        out = out.copy()
        out[pos < 0] = before
    return out


def interpolate_by_year(decimal_years: np.ndarray, table_years: np.ndarray,
                        values: np.ndarray) -> np.ndarray:
    """Linear interpolation between yearly points (held flat outside them)."""
    order = np.argsort(table_years)
    return np.interp(decimal_years, np.asarray(table_years, float)[order] + 0.5,
                     np.asarray(values, float)[order])
