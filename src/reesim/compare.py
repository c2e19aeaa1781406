"""Compare scenarios: key indicators side by side, differences to the first, overlaid charts.

Each run is a finished run folder (``results.nc``) or a scenario (built-in name or YAML path)
that is simulated on the spot. Indicators are annual figures taken from the run summary
(flows as annual means of their t REO/yr rates, never sums of monthly rates; stocks at year
end), so the comparison and ``reesim run`` agree number for number. The first run is the base.

Ensembles are shown by their medians. Two ensembles that sample the same futures (the same
members with the same sampled parameters and seed: a lever scenario that extends an ensemble
scenario, run with the same ``--members`` and ``--seed``) are *paired*: the effect of the
difference between them is then also given member by member, as the median and the 10th and
90th percentiles of the per-member differences. A lever's effect can depend strongly on the
future it meets, which the difference of the two medians hides (the state reserve's 2030 Nd
purchase over ``baotou-ensemble``'s futures, dated figures: README, "A lever's effect").
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from reesim.errors import InputError
from reesim.report import figures
from reesim.report.summary import summary_records

log = logging.getLogger("reesim.compare")

DEFAULT_YEARS = (2011, 2020, 2030, 2050)
KEY_INDICATORS: tuple[tuple[str, str], ...] = (
    ("price_export", "Nd"), ("price_export", "Dy"), ("price_china", "Nd"),
    ("price_export", "Ce"), ("world_mine_output", ""), ("china_share_of_world_output", ""),
    ("china_exports", ""), ("unsold_stock_years_of_use", "Nd"),
    ("unmet_share_of_demand", "Nd"), ("unmet_share_of_demand", "Dy"), ("tailings_stock", ""),
)
"""(metric, key) of the summary shown by default; ``indicators="all"`` shows every one."""
METRIC_LABELS = {
    "price_export": "{key} oxide, export price",
    "price_china": "{key} oxide, China price",
    "world_mine_output": "World mine output",
    "china_mine_output": "China mine output",
    "china_share_of_world_output": "China / world mine output",
    "bayan_obo_share_of_china_output": "Bayan Obo / China output",
    "bayan_obo_share_of_china_reserves": "Bayan Obo / China reserves",
    "china_exports": "China's exports",
    "baotou_share_of_china_exports": "Baotou / China's exports",
    "unsold_stock_years_of_use": "{key} unsold stocks",
    "unmet_share_of_demand": "{key} unmet demand",
    "unmet_demand": "Unmet demand, {key}",
    "tailings_stock": "REO in tailings",
    "thorium_cumulative": "Thorium (cumulative)",
}
UNIT_SHORT = {"kt REO/yr": "kt/yr", "years of use": "yr of use", "USD/kg": "USD/kg",
              "Mt REO": "Mt", "kt ThO2": "kt ThO2", "%": "%"}


@dataclass
class Compared:
    """One run in a comparison: its label and dataset."""

    label: str
    dataset: xr.Dataset


def load_runs(items: Sequence[str], members: int = 1, seed: int | None = None,
              progress: Callable[[str], None] | None = None) -> list[Compared]:
    """Run folders are read; other items are scenarios, simulated with ``members`` and ``seed``."""
    from reesim.api import simulate
    from reesim.report.html import load_run
    from reesim.scenario import load_scenario

    if len(items) < 2:
        raise InputError("compare needs at least two runs or scenarios", field="RUNS",
                         allowed="run folders (with results.nc) or scenario names/YAML paths")
    runs = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            run = load_run(path)
            label = str(run.manifest.get("scenario", path.name))
            runs.append(Compared(label, run.dataset))
            continue
        scenario = load_scenario(item)
        if progress is not None:
            progress(scenario.name)
        result = simulate(scenario, members=members, seed=seed)
        runs.append(Compared(scenario.name, result.dataset))
    seen: dict[str, int] = {}
    for run in runs:                      # the same scenario twice: label them apart
        seen[run.label] = seen.get(run.label, 0) + 1
        if seen[run.label] > 1:
            run.label = f"{run.label} ({seen[run.label]})"
    return runs


def indicator_label(metric: str, key: str) -> str:
    """A human name for a summary metric (and its element or application key)."""
    return METRIC_LABELS.get(metric, metric.replace("_", " ")).format(key=key)


def comparison_table(runs: Sequence[Compared], years: Sequence[int] = DEFAULT_YEARS,
                     indicators: str | Sequence[tuple[str, str]] = KEY_INDICATORS
                     ) -> pd.DataFrame:
    """Indicators of every run by year, with the difference to the first run.

    Columns: ``indicator, unit, year, <label>...`` (medians for ensembles), then for each run
    after the first ``<label> - <base>`` (absolute) and ``<label> vs <base> %``; for a run
    :func:`paired` with the base, also the per-member differences' quantiles
    (:data:`PAIRED_QUANTILES`): ``<label> - <base>, paired p10`` (``p50``, ``p90``) and
    ``<label> vs <base>, paired p10 %`` (...).
    """
    frames = []
    for run in runs:
        recs = pd.DataFrame(summary_records(run.dataset, years))
        if recs.empty:
            raise InputError(f"none of the years {list(years)} is in run {run.label!r}",
                             field="--years")
        recs["run"] = run.label
        frames.append(recs)
    tidy = _labelled(pd.concat(frames, ignore_index=True), indicators)
    wide = tidy.set_index(["order", "indicator", "unit", "year", "run"]).value.unstack("run")
    wide = wide.sort_index()
    labels = [r.label for r in runs]
    wide = wide.reindex(columns=labels)
    base = labels[0]
    for label in labels[1:]:
        wide[f"{label} - {base}"] = wide[label] - wide[base]
        with np.errstate(divide="ignore", invalid="ignore"):
            wide[f"{label} vs {base} %"] = np.where(
                wide[base].abs() > 0, 100 * (wide[label] / wide[base] - 1), np.nan)
    paired_runs = [run for run in runs[1:] if paired(runs[0].dataset, run.dataset)]
    if paired_runs:
        base_members = _member_values(runs[0].dataset, years, indicators)
        for run in paired_runs:
            effects = _paired_effects(base_members,
                                      _member_values(run.dataset, years, indicators))
            effects.columns = [f"{run.label} - {base}, paired {name}"
                               if not name.endswith("%") else
                               f"{run.label} vs {base}, paired {name}"
                               for name in effects.columns]
            wide = wide.join(effects)
    wide = wide.reset_index().drop(columns="order")
    wide.columns.name = None
    return wide


PAIRED_QUANTILES = (0.1, 0.5, 0.9)
"""Quantiles of the per-member differences a paired comparison reports (p10, p50, p90)."""


def paired(base: xr.Dataset, other: xr.Dataset) -> bool:
    """Whether two ensembles sample the same futures, member for member.

    True when both have more than one member, the same seed, and the same sampled parameter
    values in the same members (``parameter_samples``): then member ``i`` of each meets the
    same future and their difference is the effect of what differs between the scenarios.
    """
    members = base.sizes.get("member", 1)
    if members < 2 or other.sizes.get("member", 1) != members:
        return False
    if "parameter_samples" not in base or "parameter_samples" not in other:
        return False
    if base.attrs.get("seed") != other.attrs.get("seed"):
        return False
    a, b = base.parameter_samples, other.parameter_samples
    return (a.dims == b.dims and list(a.parameter.values) == list(b.parameter.values)
            and bool(np.array_equal(a.values, b.values)))


def _labelled(tidy: pd.DataFrame, indicators: str | Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Summary records kept to ``indicators`` (or all), with their order and human label."""
    if indicators != "all":
        wanted = pd.MultiIndex.from_tuples(list(indicators), names=["metric", "key"])
        pairs = pd.MultiIndex.from_frame(tidy[["metric", "key"]])
        tidy = tidy[pairs.isin(wanted)]
        order = {pair: i for i, pair in enumerate(indicators)}
        tidy = tidy.assign(order=[order[(m, k)] for m, k in zip(tidy.metric, tidy.key,
                                                                  strict=True)])
    else:
        tidy = tidy.assign(order=pd.factorize(tidy.metric + "/" + tidy.key)[0])
    return tidy.assign(indicator=[indicator_label(m, k) for m, k in zip(tidy.metric, tidy.key,
                                                                          strict=True)])


def _member_values(ds: xr.Dataset, years: Sequence[int],
                   indicators: str | Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Each member's indicator values: rows (order, indicator, unit, year), a column a member."""
    tidy = _labelled(pd.DataFrame(summary_records(ds, years, by_member=True)), indicators)
    return tidy.set_index(["order", "indicator", "unit", "year", "member"]).value.unstack(
        "member")


def _paired_effects(base: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Quantiles over members of ``other - base`` and of ``100 (other / base - 1)``.

    Rows as :func:`_member_values`; columns ``p10``, ``p50``, ``p90`` (absolute, in the
    indicator's unit) and ``p10 %``... (NaN where the base is 0 or a value is missing).
    """
    base, other = base.align(other, join="inner")
    diff = other.to_numpy(float) - base.to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(np.abs(base.to_numpy(float)) > 0,
                       100 * (other.to_numpy(float) / base.to_numpy(float) - 1), np.nan)
    out = {}
    for values, suffix in ((diff, ""), (pct, " %")):
        with warnings.catch_warnings():          # a row with every member NaN gives NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanquantile(values, PAIRED_QUANTILES, axis=1)
        for quantile, row in zip(PAIRED_QUANTILES, q, strict=True):
            out[f"p{round(100 * quantile)}{suffix}"] = row
    return pd.DataFrame(out, index=base.index)


def _annual_series(ds: xr.Dataset) -> dict[str, tuple[xr.DataArray, str]]:
    """The overlaid charts' annual (member, year) series and their units."""
    mine = figures.annual(ds.mine_output.sum(["element", "producer"])) / 1e3
    holders = [h for h in figures.UNSOLD_HOLDERS if h in ds.holder.values]
    stocks = figures.annual(ds.inventory.sel(holder=holders).sum(["holder", "element"]),
                            "stock") / 1e3
    unmet = figures.annual(ds.unmet_demand.sum(["application", "element"])) / 1e3
    return {
        "Nd oxide, export price": (figures.annual(ds.price.sel(element="Nd", market="export")),
                                   "USD/kg"),
        "Dy oxide, export price": (figures.annual(ds.price.sel(element="Dy", market="export")),
                                   "USD/kg"),
        "Nd oxide, China price": (figures.annual(ds.price.sel(element="Nd", market="china")),
                                  "USD/kg"),
        "World mine output": (mine, "kt REO/yr"),
        "Unsold stocks (all elements)": (stocks, "kt REO"),
        "Unmet demand (all elements)": (unmet, "kt REO/yr"),
    }


def comparison_figure(runs: Sequence[Compared]) -> go.Figure:
    """Overlaid annual paths of the runs (medians and bands for ensembles), one panel each."""
    series = [_annual_series(r.dataset) for r in runs]
    names = list(series[0])
    fig = make_subplots(rows=(len(names) + 1) // 2, cols=2, vertical_spacing=0.09,
                        horizontal_spacing=0.09,
                        subplot_titles=[f"{n}, {series[0][n][1]}" for n in names])
    for i, run in enumerate(runs):
        colour = figures.PALETTE[i % len(figures.PALETTE)]
        for j, name in enumerate(names):
            da, _ = series[i][name]
            for trace in figures.fan_traces(da.year.values, da, run.label, colour,
                                            group=run.label):
                trace.showlegend = j == 0 and trace.showlegend is not False
                fig.add_trace(trace, row=j // 2 + 1, col=j % 2 + 1)
    for j, name in enumerate(names):
        if series[0][name][1] == "USD/kg":
            fig.update_yaxes(type="log", row=j // 2 + 1, col=j % 2 + 1)
    fig.update_layout(**{**figures.LAYOUT, "margin": {"t": 80, "r": 20, "l": 70, "b": 40},
                         "legend": {"orientation": "h", "y": 0.998, "yanchor": "top",
                                    "x": 0, "yref": "container"}},
                      height=300 * ((len(names) + 1) // 2) + 120)
    return fig


def comparison_html(runs: Sequence[Compared], table: pd.DataFrame) -> str:
    """A self-contained page: the overlaid charts and the difference table."""
    import html

    import plotly.offline

    fig = comparison_figure(runs)
    shown = table.copy()
    cols = list(shown.columns)
    body = ["<tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols) + "</tr>"]
    for rec in shown.itertuples(index=False):
        cells = []
        for col, value in zip(cols, rec, strict=True):
            if isinstance(value, float):
                text = "" if np.isnan(value) else (
                    f"{value:+,.1f}%" if col.endswith("%") else f"{value:,.4g}")
                cells.append(f"<td class='num'>{text}</td>")
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = html.escape(" vs ".join(r.label for r in runs))
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>reesim comparison: {title}</title><style>"
            "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 1em}"
            "table{border-collapse:collapse;font-size:.85em}td,th{padding:3px 8px;"
            "border-bottom:1px solid #eee;text-align:left}td.num{text-align:right}</style>"
            f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>"
            f"<h1>reesim comparison: {title}</h1>"
            + fig.to_html(full_html=False, include_plotlyjs=False, div_id="fig-compare")
            + f"<h2>Key indicators and differences to {html.escape(runs[0].label)}</h2>"
            "<p>Annual figures: prices and flows are annual means, stocks at year end; "
            "ensembles show medians; <em>paired</em> columns (ensembles over the same futures) "
            "give the 10th, 50th and 90th percentiles of the member-by-member difference.</p>"
            "<table>" + "".join(body) + "</table></body></html>\n")
