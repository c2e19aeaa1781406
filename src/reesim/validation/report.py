"""The validation report: ``validation.html`` and ``validation.csv``, written atomically.

``validation.html`` has one plotly panel per series and the metrics table; ``validation.csv`` is
the metrics frame. Each panel shows the simulated path up to the end of the history window (the
median over members and, with members > 1, the 5-95% band), the observed points as markers at
the middle of their window and the observed ranges as vertical error bars (an open-ended range,
"> x", as an upward triangle at x). Price panels use a log scale. plotly.js is embedded so the
file works offline.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from reesim.output import write_folder
from reesim.validation.observations import RECORD_END, Observations, load_observations
from reesim.validation.series import Series, build_series

SIM_COLOUR = "#1f77b4"
OBS_COLOUR = "#d62728"
BAND_COLOUR = "rgba(31, 119, 180, 0.2)"
COLS = 2
PANEL_HEIGHT_PX = 280


def _path_stats(series: Series) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray | None,
                                          np.ndarray | None]:
    """Time, median and (members > 1) 5th/95th percentiles of a series' path up to 2025."""
    path = series.path().transpose("member", "time")
    path = path.sel(time=slice(None, RECORD_END))
    values = path.values
    times = pd.DatetimeIndex(path.time.values)
    if values.shape[0] == 1:
        return times, values[0], None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN months (e.g. no quota) stay NaN
        q = np.nanquantile(values, [0.05, 0.5, 0.95], axis=0)
    return times, q[1], q[0], q[2]


def _add_series(fig: go.Figure, series: Series, row: int, col: int, shown: set[str]) -> None:
    def first(group: str) -> bool:
        new = group not in shown
        shown.add(group)
        return new

    times, mid, low, high = _path_stats(series)
    if low is not None and high is not None:
        fig.add_trace(go.Scatter(x=times, y=high, mode="lines", line={"width": 0},
                                 hoverinfo="skip", showlegend=False, legendgroup="band"),
                      row=row, col=col)
        fig.add_trace(go.Scatter(x=times, y=low, mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor=BAND_COLOUR, name="simulated 5-95%",
                                 showlegend=first("band"), legendgroup="band"), row=row, col=col)
    fig.add_trace(go.Scatter(x=times, y=mid, mode="lines", line={"color": SIM_COLOUR},
                             name="simulated (median)" if low is not None else "simulated",
                             showlegend=first("sim"), legendgroup="sim"), row=row, col=col)
    obs = series.observed[series.observed.period_end <= RECORD_END]
    mid_dates = obs.period_start + (obs.period_end - obs.period_start) / 2
    text = [(f"{r.low:.4g}..{r.high:.4g}<br>" if r.kind == "range" else "")
            + f"{r.statistic}, {r.period_start.date()}..{r.period_end.date()}<br>"
            f"{str(r.note)[:120]}" for r in obs.itertuples()]
    points = (obs.kind == "point").to_numpy()
    if points.any():
        fig.add_trace(go.Scatter(
            x=mid_dates[points], y=obs.value[points], mode="markers",
            marker={"color": OBS_COLOUR, "size": 7}, name="observed",
            text=[t for t, p in zip(text, points, strict=True) if p],
            hovertemplate="%{y:.4g}<br>%{text}<extra></extra>", showlegend=first("obs"),
            legendgroup="obs"), row=row, col=col)
    ranges = obs[~points]
    if len(ranges):
        closed = np.isfinite(ranges.high.to_numpy(float))
        centre = np.where(closed, (ranges.low + ranges.high.where(closed, 0)) / 2, ranges.low)
        fig.add_trace(go.Scatter(
            x=mid_dates[~points], y=centre, mode="markers",
            marker={"color": OBS_COLOUR, "size": 5,
                    "symbol": ["line-ew" if c else "triangle-up" for c in closed]},
            error_y={"type": "data", "symmetric": False, "color": OBS_COLOUR,
                     "array": np.where(closed, ranges.high.where(closed, 0) - centre, 0.0),
                     "arrayminus": np.where(closed, centre - ranges.low, 0.0)},
            name="observed range",
            text=[t for t, p in zip(text, points, strict=True) if not p],
            hovertemplate="%{text}<extra></extra>", showlegend=first("range"),
            legendgroup="range"), row=row, col=col)
    if series.family.startswith("price_") and series.family != "price_gap":
        fig.update_yaxes(type="log", row=row, col=col)


MARKETS = {"export": "export price", "china": "China domestic price"}
TITLES = {
    "production_world": "World mine output",
    "production_china": "China's mine output",
    "china_share_of_world": "China's share of world mine output",
    "china_output_to_mining_quota": "China's mine output / its mining quota",
    "china_exports_to_export_quota": "China's exports / its export quota",
}
METRIC_KEY = (
    ("log RMSE (n)", "root mean square of ln(simulated / observed) over the n point "
                     "observations; 0.1 is about 10% off, 0.7 about a factor of 2"),
    ("in range (n)", "share of the n observed ranges (low-high quotes) that contain the "
                     "simulated value"),
    ("miss ln d", "for the ranges missed: mean ln distance from the simulated value to the "
                  "nearest bound"),
    ("direction (n)", "share of the n year-on-year changes whose sign the model matches"),
)
"""The columns of the page's metrics table and what each means."""


def human_title(series: Series) -> str:
    """A reader's title for a series, e.g. "Nd oxide, export price, USD/kg"."""
    name = series.name
    unit = "" if series.unit in ("1", "") else f", {series.unit}"
    for market, label in MARKETS.items():
        prefix = f"price_{market}_"
        if name.startswith(prefix):
            return f"{name.removeprefix(prefix)} oxide, {label}{unit}"
    if name.startswith("price_gap_"):
        return f"{name.removeprefix('price_gap_')} oxide, export / China price ratio"
    return TITLES.get(name, name.replace("_", " ")) + unit


def build_figure(series: list[Series], title: str = "reesim validation") -> go.Figure:
    """One panel per series (two columns), titled with what it is and its unit."""
    rows = max(math.ceil(len(series) / COLS), 1)
    fig = make_subplots(rows=rows, cols=COLS,
                        subplot_titles=[human_title(s) for s in series],
                        vertical_spacing=min(0.3 / rows, 0.08), horizontal_spacing=0.08)
    shown: set[str] = set()
    for i, s in enumerate(series):
        _add_series(fig, s, i // COLS + 1, i % COLS + 1, shown)
    # the legend sits right of the panels, clear of the figure and panel titles
    fig.update_layout(title=title, height=PANEL_HEIGHT_PX * rows + 120, template="plotly_white",
                      legend={"orientation": "v", "x": 1.01, "xanchor": "left", "y": 1.0,
                              "yanchor": "top", "bgcolor": "rgba(255,255,255,0.9)"},
                      margin={"r": 170})
    return fig


def _cell(value: float, n: float | None = None, pct: bool = False) -> str:
    if value != value:  # NaN
        return ""
    text = f"{100 * value:.0f}%" if pct else f"{value:.3g}"
    return text if n is None or n != n else f"{text} ({int(n)})"


def _metrics_table_html(metrics: pd.DataFrame, titles: dict[str, str] | None = None) -> str:
    """One row per series (its human title) with the fit metrics, and a key to the columns."""
    titles = titles or {}
    get = metrics.set_index(["series", "metric"])
    rows = []
    for name in dict.fromkeys(metrics.series):
        def pick(metric: str, name: str = name) -> tuple[float, float]:
            if (name, metric) not in get.index:
                return float("nan"), float("nan")
            rec = get.loc[(name, metric)]
            return float(rec.value), float(rec.n)
        rmse, range_cov, miss, direction = (pick(m) for m in (
            "log_rmse", "range_coverage", "range_miss_log_distance", "direction_agreement"))
        if all(v != v for v, _ in (rmse, range_cov, miss, direction)):
            continue
        rows.append([titles.get(name, name), _cell(*rmse), _cell(*range_cov, pct=True),
                     _cell(miss[0]), _cell(*direction, pct=True)])
    head = "".join(f"<th>{html.escape(label)}</th>" for label in
                   ("series", *(key for key, _ in METRIC_KEY)))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    key = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in METRIC_KEY)
    peaks = metrics[metrics.metric.str.startswith("peak_")]
    peak_html = ""
    if len(peaks):
        peak_rows = "".join(
            f"<tr><td>{html.escape(titles.get(r.series, r.series))}</td>"
            f"<td>{html.escape(r.metric.replace('_', ' '))}</td><td>{_cell(r.value)}</td>"
            f"<td>{_cell(r.observed)}</td></tr>" for r in peaks.itertuples())
        peak_html = ("<h3>The 2011 price spike</h3><table class='metrics'><tr><th>series</th>"
                     "<th>metric</th><th>simulated</th><th>observed</th></tr>"
                     f"{peak_rows}</table><p class='key'>peak month 2011: months since "
                     "2010-01; peak to 2015 ratio: the 2011 peak price over the 2015 mean.</p>")
    return (f"<table class='metrics'><tr>{head}</tr>{body}</table>"
            f"<dl class='key'>{key}</dl>{peak_html}"
            "<p class='key'>Every metric, per series, with its note and the 5-95% range over "
            "members: validation.csv.</p>")


def _claims_html(claims: pd.DataFrame | None) -> str:
    if claims is None:
        return ""
    from reesim.report.html import claims_html

    return ("\n<h2>The system's defining claims: quoted figures and the model</h2>\n"
            + claims_html(claims))


def _tables_html(tables: Mapping[str, tuple[str, pd.DataFrame]]) -> str:
    parts = []
    for title, frame in tables.values():
        parts.append(f"\n<h2>{html.escape(title)}</h2>\n" + frame.to_html(
            index=False, border=0, classes="metrics", na_rep="",
            float_format=lambda v: f"{v:.4g}"))
    return "".join(parts)


def write_report(dataset: xr.Dataset, metrics: pd.DataFrame, out_dir: str | Path,
                 observations: Observations | None = None, title: str | None = None,
                 claims: pd.DataFrame | None = None,
                 tables: Mapping[str, tuple[str, pd.DataFrame]] | None = None,
                 overwrite: bool = False) -> Path:
    """Write ``validation.html``, ``validation.csv`` and the tables to ``out_dir``; return it.

    ``claims`` (the system's defining facts beside the model's figures) is shown in the page and
    written as ``claims.csv``; each entry ``name: (title, frame)`` of ``tables`` (e.g. the
    2016-2025 targets and the outlook comparison) is shown under its title and written as
    ``<name>.csv``. The rules of :mod:`reesim.output` apply: a non-empty folder that is not a
    reesim result is refused, a previous result is replaced only with ``overwrite`` (and then
    only reesim's own files), nothing partial is ever left.
    """
    tables = dict(tables or {})
    obs = observations if observations is not None else load_observations()
    series = build_series(dataset, obs)
    fig = build_figure(series, title or "reesim validation: simulated history vs the record")
    body = fig.to_html(full_html=False, include_plotlyjs="inline")
    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            "<title>reesim validation</title>"
            "<style>body{font-family:sans-serif;margin:1em}"
            "table.metrics{border-collapse:collapse;font-size:12px}"
            "table.metrics td,table.metrics th{padding:2px 8px;text-align:right}"
            "table.metrics td:first-child,table.metrics th:first-child{text-align:left}"
            "table.claims{border-collapse:collapse;font-size:12px}"
            "table.claims td,table.claims th{padding:2px 8px;vertical-align:top;"
            "text-align:left;border-bottom:1px solid #eee}"
            ".key{font-size:12px;color:#444} .key dt{font-weight:bold;float:left;"
            "clear:left;width:9em} .key dd{margin-left:10em}"
            "</style></head><body>\n" + body +
            "\n<h2>Metrics</h2>\n"
            + _metrics_table_html(metrics, {s.name: human_title(s) for s in series}) +
            _tables_html(tables) + _claims_html(claims) + "\n</body></html>\n")
    files: dict[str, str] = {
        "validation.csv": metrics.to_csv(index=False, float_format="%.6g"),
        "validation.html": page,
    }
    if claims is not None:
        files["claims.csv"] = claims.to_csv(index=False)
    for name, (_, frame) in tables.items():
        files[f"{name}.csv"] = frame.to_csv(index=False, float_format="%.6g")
    return write_folder(out_dir, files, command="validate", overwrite=overwrite)
