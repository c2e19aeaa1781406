"""The report's charts as plotly figures, built from a result dataset (and its scenario's events).

Every figure works for one run or an ensemble: with members > 1 it draws the median and the
5-95% and 25-75% bands across members. Units are in the axis titles. Figures carry an element
dropdown where the chart is per element.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from reesim.scenario.schema import Scenario

KEY_ELEMENTS = ("Nd", "Pr", "Dy", "Tb", "La", "Ce", "Eu", "Y")
"""Elements shown first (the first is the default of the element dropdowns)."""
MARKET_LABEL = {"china": "China domestic", "export": "export (FOB China)"}
MARKET_DASH = {"china": "solid", "export": "dash"}
MARKET_COLOUR = {"china": "#d62728", "export": "#1f77b4"}
BANDS = ((0.05, 0.95, 0.12), (0.25, 0.75, 0.25))
"""Ensemble bands drawn: (low quantile, high quantile, fill opacity)."""
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd")
UNSOLD_HOLDERS = ("producers_china", "producers_export", "trading_company", "state_reserve")
"""Holders whose stocks count as unsold (the summary's balance table uses the same set)."""
LAYOUT = {"template": "plotly_white", "hovermode": "x unified",
          "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
          "margin": {"t": 90, "r": 20, "l": 70, "b": 40}}
"""Legends sit below the plot, clear of the title and the dropdowns."""


def rgba(hex_colour: str, alpha: float) -> str:
    """``#rrggbb`` as an ``rgba()`` string with opacity ``alpha``."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def annual(da: xr.DataArray, kind: str = "flow") -> xr.DataArray:
    """Annual values indexed by ``year``: means of flows and prices, year-end stocks."""
    grouped = da.groupby("year")
    return grouped.last("time") if kind == "stock" else grouped.mean("time")


def quantiles(da: xr.DataArray, qs: Sequence[float]) -> dict[float, np.ndarray]:
    """Quantiles over ``member`` of a (member, x) array as {q: values over x}."""
    values = da.transpose("member", ...).values
    return {q: np.quantile(values, q, axis=0) for q in qs}


def fan_traces(x: np.ndarray, da: xr.DataArray, name: str, colour: str, dash: str = "solid",
               group: str | None = None, visible: bool = True) -> list[go.Scatter]:
    """Median line and, for ensembles, the 5-95% and 25-75% bands of a (member, x) array."""
    group = group or name
    traces: list[go.Scatter] = []
    members = da.sizes.get("member", 1)
    if members > 1:
        qs = quantiles(da, [0.05, 0.25, 0.5, 0.75, 0.95])
        for low, high, alpha in BANDS:
            label = f"{name}, {round(100 * low)}-{round(100 * high)}% of members"
            traces.append(go.Scatter(x=x, y=qs[high], mode="lines", line={"width": 0},
                                     hoverinfo="skip", showlegend=False, legendgroup=group,
                                     visible=visible))
            traces.append(go.Scatter(x=x, y=qs[low], mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor=rgba(colour, alpha), name=label,
                                     legendgroup=group, hoverinfo="skip", visible=visible))
        mid, label = qs[0.5], f"{name} (median of {members})"
    else:
        mid, label = da.transpose("member", ...).values[0], name
    traces.append(go.Scatter(x=x, y=mid, mode="lines", name=label, legendgroup=group,
                             line={"color": colour, "dash": dash, "width": 2},
                             visible=visible, hovertemplate="%{y:,.4g}"))
    return traces


def _element_menu(elements: Sequence[str], counts: Sequence[int]) -> list[dict]:
    """A dropdown that shows one element's traces (``counts[i]`` traces for element i)."""
    total = sum(counts)
    buttons = []
    start = 0
    for el, n in zip(elements, counts, strict=True):
        visible = [False] * total
        visible[start:start + n] = [True] * n
        buttons.append({"label": el, "method": "update", "args": [{"visible": visible}]})
        start += n
    return [{"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right",
             "y": 1.02, "yanchor": "bottom", "showactive": True, "active": 0,
             "pad": {"r": 4, "t": 0}}]


def _elements(ds: xr.Dataset, chosen: Sequence[str] | None) -> list[str]:
    names = ds.element.values.tolist()
    if chosen is None:
        return [e for e in KEY_ELEMENTS if e in names] + [e for e in names
                                                          if e not in KEY_ELEMENTS]
    unknown = [e for e in chosen if e not in names]
    if unknown:
        raise ValueError(f"unknown element(s) {unknown}; one of: {', '.join(names)}")
    return list(chosen)


def price_figure(ds: xr.Dataset, elements: Sequence[str] | None = None,
                 events: pd.DataFrame | None = None) -> go.Figure:
    """Oxide price paths (USD/kg, log scale) in both markets, one element at a time.

    A dropdown switches the element; ensembles show the median and 5-95%, 25-75% fans.
    ``events`` (from :func:`events_frame`) are marked as shaded periods.
    """
    chosen = _elements(ds, elements)
    x = pd.DatetimeIndex(ds.time.values)
    traces: list[go.Scatter] = []
    counts = []
    for i, el in enumerate(chosen):
        n = 0
        for market in ds.market.values.tolist():
            added = fan_traces(x, ds.price.sel(element=el, market=market),
                               f"{el} oxide, {MARKET_LABEL.get(market, market)}",
                               MARKET_COLOUR.get(market, "#333333"), MARKET_DASH.get(market),
                               visible=i == 0)
            traces += added
            n += len(added)
        counts.append(n)
    fig = go.Figure(data=traces)
    fig.update_layout(**LAYOUT, title="Oxide prices by element and market (choose the element)",
                      height=520, updatemenus=_element_menu(chosen, counts),
                      yaxis={"title": "USD/kg (log scale)", "type": "log"})
    if events is not None:
        _shade_events(fig, events)
    return fig


def _shade_events(fig: go.Figure, events: pd.DataFrame) -> None:
    fig.update_layout(shapes=[
        {"type": "rect", "xref": "x", "yref": "paper", "x0": rec.start, "x1": rec.end,
         "y0": 0, "y1": 1, "fillcolor": "rgba(120,120,120,0.10)", "line": {"width": 0},
         "layer": "below"} for rec in events.itertuples()])


def supply_figure(ds: xr.Dataset, elements: Sequence[str] | None = None) -> go.Figure:
    """Mine output by mining region, stacked (kt REO/yr, annual; ensemble medians).

    A dropdown switches between all elements and single elements.
    """
    chosen = ["all", *_elements(ds, elements)]
    out = annual(ds.mine_output).groupby("producer_region").sum().median("member") / 1e3
    regions = out.sum(["year", "element"]).sortby(lambda d: -d).producer_region.values.tolist()
    years = out.year.values
    traces = []
    counts = []
    for i, el in enumerate(chosen):
        sel = (out.sum("element") if el == "all" else out.sel(element=el)).sel(
            producer_region=regions).transpose("producer_region", "year").values
        for j, reg in enumerate(regions):
            traces.append(go.Scatter(
                x=years, y=sel[j], stackgroup="one", name=reg,
                mode="lines", line={"width": 0.5, "color": PALETTE[j % len(PALETTE)]},
                visible=i == 0, legendgroup=reg, hovertemplate="%{y:,.3g}"))
        counts.append(len(regions))
    fig = go.Figure(data=traces)
    members = ds.sizes.get("member", 1)
    fig.update_layout(**LAYOUT, height=500, updatemenus=_element_menu(chosen, counts),
                      title="Mine output by mining region (choose the element)"
                      + (f", medians of {members} members" if members > 1 else ""),
                      yaxis={"title": "kt REO/yr"}, xaxis={"title": "year"})
    return fig


def balance_figure(ds: xr.Dataset, elements: Sequence[str] | None = None) -> go.Figure:
    """The balance problem: unsold stocks, unmet demand and what separators left in residues.

    Stocks in kt REO at year end, flows in kt REO/yr; the residue panel only where the result
    has ``separation_residue`` (results written before the thirty-first session lack it).
    """
    chosen = _elements(ds, elements or KEY_ELEMENTS)
    holders = [h for h in UNSOLD_HOLDERS if h in ds.holder.values]
    stocks = annual(ds.inventory.sel(holder=holders, element=chosen).sum("holder"), "stock")
    unmet = annual(ds.unmet_demand.sel(element=chosen).sum("application"))
    panels = [(stocks, "Unsold stocks (sellers and reserve), kt REO, year end"),
              (unmet, "Unmet demand, kt REO/yr")]
    if "separation_residue" in ds:
        panels.append((annual(ds.separation_residue.sel(element=chosen).sum("region")),
                       "Left unseparated in residues, kt REO/yr"))
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.08,
                        subplot_titles=[title for _, title in panels])
    years = stocks.year.values
    for j, el in enumerate(chosen):
        colour = PALETTE[j % len(PALETTE)]
        for col, (da, _) in enumerate(panels, start=1):
            for trace in fan_traces(years, da.sel(element=el) / 1e3, el, colour, group=el):
                trace.showlegend = col == 1 and trace.showlegend is not False
                fig.add_trace(trace, row=1, col=col)
    fig.update_layout(**LAYOUT, height=460,
                      title="The balance problem by element: unsold stocks, unmet demand"
                      + (" and what separators left in residues" if len(panels) > 2 else ""))
    fig.update_xaxes(title_text="year")
    fig.update_yaxes(title_text="kt REO", row=1, col=1)
    for col in range(2, len(panels) + 1):
        fig.update_yaxes(title_text="kt REO/yr", row=1, col=col)
    return fig


def environment_figure(ds: xr.Dataset) -> go.Figure:
    """Environmental loads: REO in tailings (Mt, year end) and thorium by region (t ThO2/yr)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=(
        "REO accumulated in tailings, Mt REO at year end",
        "Thorium in tailings and cracking residues, t ThO2/yr"))
    tails = annual(ds.tailings_stock.sum("element"), "stock") / 1e6
    for trace in fan_traces(tails.year.values, tails, "tailings", "#8c564b"):
        fig.add_trace(trace, row=1, col=1)
    thorium = annual(ds.thorium.sum("stage")).median("member")
    order = thorium.sum("year").sortby(lambda d: -d).region.values.tolist()
    for j, reg in enumerate(order):
        series = thorium.sel(region=reg)
        if float(series.max()) <= 0:
            continue
        fig.add_trace(go.Scatter(x=series.year.values, y=series.values, name=f"thorium, {reg}",
                                 stackgroup="th", mode="lines",
                                 line={"width": 0.5, "color": PALETTE[j % len(PALETTE)]}),
                      row=1, col=2)
    fig.update_layout(**LAYOUT, height=460, title="Environmental loads")
    fig.update_xaxes(title_text="year")
    fig.update_yaxes(title_text="Mt REO", row=1, col=1)
    fig.update_yaxes(title_text="t ThO2/yr", row=1, col=2)
    return fig


def events_frame(scenario: Scenario | None, ds: xr.Dataset) -> pd.DataFrame:
    """The scenario's events as rows (name, type, start, end, detail) clipped to the run."""
    columns = ["name", "type", "start", "end", "detail"]
    if scenario is None or not scenario.events:
        return pd.DataFrame(columns=columns)
    first = pd.Timestamp(ds.time.values[0])
    last = pd.Timestamp(ds.time.values[-1]) + pd.offsets.MonthBegin(1)
    rows = []
    for name, event in scenario.events.items():
        data = event.model_dump(exclude_none=True)
        start = max(pd.Timestamp(str(event.start)), first)
        end = min(pd.Timestamp(str(event.end)), last) if event.end else last
        if "months" in data and event.end is None:
            end = min(start + pd.DateOffset(months=int(data["months"])), last)
        if start >= last or end <= first:
            continue
        detail = ", ".join(f"{k}={v}" for k, v in data.items()
                           if k not in ("type", "start", "end"))
        rows.append([name, data["type"], start, end, detail])
    return pd.DataFrame(rows, columns=columns).sort_values("start", kind="stable")


def events_figure(events: pd.DataFrame) -> go.Figure:
    """The scenario's events on the time axis, one bar per event (hover for the details)."""
    fig = go.Figure()
    for i, rec in enumerate(events.itertuples()):
        fig.add_trace(go.Scatter(
            x=[rec.start, rec.end], y=[rec.name, rec.name], mode="lines",
            line={"width": 10, "color": PALETTE[i % len(PALETTE)]}, showlegend=False,
            name=rec.name, hovertemplate=f"{rec.name} ({rec.type})<br>{rec.detail[:200]}"
                                         "<extra></extra>"))
    fig.update_layout(**{**LAYOUT, "hovermode": "closest"}, title="The scenario's events",
                      height=max(220, 28 * len(events) + 140),
                      yaxis={"autorange": "reversed"}, xaxis={"title": "date"})
    return fig
