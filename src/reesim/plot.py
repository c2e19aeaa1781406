"""Plotting from Python: ``res.plot.price("Nd")`` and friends return plotly figures.

The same figures as the HTML report (:mod:`reesim.report.figures`), for notebooks and scripts.
For xarray's own ``ds.price.plot()``, matplotlib is a declared dependency of reesim.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import xarray as xr

from reesim.report import figures
from reesim.report.sankey import sankey_figure
from reesim.scenario.schema import Scenario


class PlotAccessor:
    """Figures of one result (price, supply, balance, environment, sankey, events)."""

    def __init__(self, dataset: xr.Dataset, scenario: Scenario | None = None) -> None:
        self._ds = dataset
        self._scenario = scenario

    def price(self, element: str | Sequence[str] = "Nd") -> go.Figure:
        """Oxide price paths (USD/kg) of ``element`` (or several, switchable) in both markets."""
        chosen = [element] if isinstance(element, str) else list(element)
        events = figures.events_frame(self._scenario, self._ds)
        return figures.price_figure(self._ds, chosen, events if len(events) else None)

    def supply(self) -> go.Figure:
        """Mine output by mining region, stacked (kt REO/yr)."""
        return figures.supply_figure(self._ds)

    def balance(self, elements: Sequence[str] | None = None) -> go.Figure:
        """Unsold stocks and unmet demand by element."""
        return figures.balance_figure(self._ds, elements)

    def environment(self) -> go.Figure:
        """REO in tailings and thorium by region."""
        return figures.environment_figure(self._ds)

    def sankey(self, element: str = "Nd", year: int = 2020) -> go.Figure:
        """Element flows of one year (``element="all"`` sums the elements)."""
        return sankey_figure(self._ds, element, year)

    def events(self) -> go.Figure:
        """The scenario's events on the time axis."""
        return figures.events_figure(figures.events_frame(self._scenario, self._ds))
