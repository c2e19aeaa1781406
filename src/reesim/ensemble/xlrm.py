"""XLRM scenario sections: levers (L) and outcomes (M) beside the uncertainties (X).

``levers`` are policy choices evaluated against the same sampled futures (each lever
combination is a policy; policies are crossed with the uncertainty design). ``outcomes`` are
named scalar indicators computed from the result dataset, one value per member. The models
live here and are referenced by :mod:`reesim.scenario.schema`, which must stay light: nothing
in this module imports the engine or Dask.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_YEARS = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
FORBIDDEN_LEVER_PATHS = ("name", "seed", "start_year", "end_year", "output", "uncertainty",
                         "levers", "outcomes")
"""Scenario keys a lever may not set: they change the result's shape or the design itself."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Scalar = str | int | float | bool | None


class Lever(_Strict):
    """A policy choice: set the scenario value at ``path`` to each of ``values`` in turn.

    ``path`` is a dotted scenario key, e.g. ``market.regime`` or
    ``events.nd_reserve.amounts_t_reo.Nd`` (an event amount: a continuous lever). Give either
    ``values`` (discrete choices; a mapping value sets a whole section, ``null`` removes it) or
    ``low``, ``high`` and ``levels`` (a continuous lever evaluated at evenly spaced levels).
    """

    path: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")]
    values: list[Scalar | dict[str, Any]] | None = None
    low: float | None = None
    high: float | None = None
    levels: Annotated[int, Field(ge=2, le=101)] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> Lever:
        continuous = (self.low, self.high, self.levels)
        if self.values is not None:
            if any(v is not None for v in continuous):
                raise ValueError("give either `values` or `low`, `high` and `levels`, not both")
            if not self.values:
                raise ValueError("`values` needs at least one value")
        else:
            if any(v is None for v in continuous):
                raise ValueError("a lever needs `values`, or `low`, `high` and `levels`")
            if not (math.isfinite(self.low) and math.isfinite(self.high)  # type: ignore[arg-type]
                    and self.low < self.high):  # type: ignore[operator]
                raise ValueError(f"a lever needs finite low < high, got {self.low}, {self.high}")
        if self.path.split(".")[0] in FORBIDDEN_LEVER_PATHS:
            raise ValueError(f"a lever may not set {self.path!r} (allowed: any key but "
                             + ", ".join(FORBIDDEN_LEVER_PATHS) + ")")
        return self

    def choices(self) -> list[Any]:
        """The values this lever takes, in order (continuous levers: ``levels`` even steps)."""
        if self.values is not None:
            return list(self.values)
        step = (self.high - self.low) / (self.levels - 1)  # type: ignore[operator]
        return [self.low + i * step for i in range(self.levels)]  # type: ignore[operator,arg-type]


class Indicator(_Strict):
    """One variable of the result reduced to a number per member.

    ``select`` picks labels along dimensions or along one-dimensional coordinates (e.g.
    ``producer_market: china`` keeps Chinese producers); lists keep several labels. The
    remaining non-time dimensions are combined with ``combine`` (``sum`` or ``mean``), then the
    years (``2035`` or ``2025-2040``, inclusive) are reduced with ``over_time``: ``mean``,
    ``last``, ``max``, ``min`` or ``integral`` (rate x period length: t/yr -> t cumulative).
    """

    variable: Annotated[str, Field(min_length=1)]
    select: dict[str, Scalar | list[Scalar]] = {}
    combine: Literal["sum", "mean"] = "sum"
    years: str
    over_time: Literal["mean", "last", "max", "min", "integral"] = "mean"

    @model_validator(mode="after")
    def _years_ok(self) -> Indicator:
        self.year_range()
        return self

    def year_range(self) -> tuple[int, int]:
        """The first and last year (inclusive) of ``years``."""
        match = _YEARS.match(str(self.years).strip())
        if not match:
            raise ValueError(f"years {self.years!r} must be YYYY or YYYY-YYYY")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last < first:
            raise ValueError(f"years {self.years!r}: the last year is before the first")
        return first, last


class Outcome(Indicator):
    """A named scalar outcome: an indicator, or the ratio of it to ``denominator``."""

    description: str = ""
    unit: str = ""
    denominator: Indicator | None = None


DEFAULT_OUTCOMES: dict[str, dict[str, Any]] = {
    "ndpr_export_price_2035": {
        "description": "Mean of the Pr and Nd oxide export (FOB China) prices in 2035",
        "unit": "USD/kg", "variable": "price", "combine": "mean", "years": "2035",
        "select": {"market": "export", "element": ["Pr", "Nd"]}},
    "dy_unmet_demand_2025_2040": {
        "description": "Cumulative unmet Dy demand (all applications), 2025-2040",
        "unit": "t REO", "variable": "unmet_demand", "years": "2025-2040",
        "over_time": "integral", "select": {"element": "Dy"}},
    "china_share_2035": {
        "description": "China's share of world mine output (producers selling in China's "
                       "market, incl. Myanmar), 2035",
        "unit": "1", "variable": "mine_output", "years": "2035",
        "select": {"producer_market": "china"},
        "denominator": {"variable": "mine_output", "years": "2035"}},
    "baotou_revenue_2030": {
        "description": "Revenue of the Baotou mines (concentrate valued at netback), 2030",
        "unit": "MUSD/yr", "variable": "revenue", "years": "2030",
        "select": {"producer_region": "baotou"}},
    "thorium_baotou_2050": {
        "description": "Thorium accumulated in Baotou's tailings and cracking residues over "
                       "the run, to 2050",
        "unit": "t ThO2", "variable": "thorium", "years": "2000-2050",
        "over_time": "integral", "select": {"region": "baotou"}},
}
"""The standard indicators every ensemble computes unless the scenario redefines them."""
