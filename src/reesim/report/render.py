"""Render results as rich tables: the one printer of summaries, claims, validation, calibration.

The CLI calls these; library code never prints.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from reesim.calibration.fit import CalibrationResult

LABELS = {
    "world_mine_output": "world mine output, kt",
    "china_mine_output": "China mine output, kt",
    "china_share_of_world_output": "China / world output",
    "bayan_obo_share_of_china_output": "Bayan Obo / China output",
    "bayan_obo_share_of_china_reserves": "Bayan Obo / China reserves*",
    "china_exports": "China's exports, kt",
    "baotou_share_of_china_exports": "Baotou / China exports",
    "tailings_stock": "tailings (since start), Mt REO",
    "thorium_cumulative": "thorium (cumulative), kt ThO2",
}
TITLES = {
    "prices": "Oxide prices, China / export market (USD/kg)",
    "supply": "Mine output and the place of Bayan Obo",
    "trade": "China's exports",
    "balance": "The balance problem: unsold stocks (years of use) / unmet demand (% of demand)",
    "demand": "Unmet demand by application (kt REO/yr)",
    "environment": "Environmental stocks",
}


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "-"
    if unit == "USD/kg":
        return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def render(records: list[dict], console: Console) -> None:
    """Print one table per section: rows are metric/key, columns are years."""
    by_section: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        by_section[rec["section"]].append(rec)
    for section, recs in by_section.items():
        years = sorted({r["year"] for r in recs})
        table = Table(title=TITLES.get(section, section), title_justify="left")
        table.add_column("", no_wrap=True)
        for year in years:
            table.add_column(str(year), justify="right")
        rows: dict[str, dict[int, str]] = defaultdict(dict)
        if section in ("prices", "balance"):        # two figures per element: "a / b"
            cells: dict[tuple[str, int], list[str]] = defaultdict(list)
            for r in recs:
                cells[(r["key"], r["year"])].append(_fmt(r["value"], r["unit"]))
            for (key, year), parts in cells.items():
                rows[key][year] = " / ".join(parts)
        else:
            for r in recs:
                label = LABELS.get(r["metric"], r["metric"].replace("_", " "))
                if section == "demand":
                    label = r["key"]
                cell = _fmt(r["value"], r["unit"])
                if "p05" in r:
                    cell += f" [{_fmt(r['p05'], r['unit'])}-{_fmt(r['p95'], r['unit'])}]"
                rows[label][r["year"]] = cell
        for label, cells_by_year in rows.items():
            table.add_row(label, *[cells_by_year.get(y, "-") for y in years])
        console.print(table)
        if section == "supply":
            console.print("  * reserves quantified in the inputs only (see the claims table)",
                          style="dim")



def render_claims(claims: list, effects, console: Console) -> None:
    """Print the claims table and, when computed, the trading company's effect."""
    table = Table(title="The system's defining claims: quoted figures and the model",
                  title_justify="left", show_lines=False)
    for col in ("claim", "period", "quoted", "model", "verdict"):
        table.add_column(col, overflow="fold")
    for c in claims:
        table.add_row(c.claim, c.period, c.quoted, c.model, c.verdict)
    console.print(table)
    if effects is None:
        return
    table = Table(title="What the trading company changed, 2009-2012 (vs baotou-free-market)",
                  title_justify="left")
    for col in ("", "trading company", "free market", "change"):
        table.add_column(col, justify="right" if col else "left")
    for name, row in effects.iterrows():
        table.add_row(name.replace("_", " "), f"{row.trading_company:,.4g}",
                      f"{row.free_market:,.4g}", f"{row.change_pct:+.0f}%")
    console.print(table)


def render_validation(metrics: pd.DataFrame, scenario_name: str, members: int,
                      console: Console) -> None:
    """Print the fit to the record per series and the 2011 spike (``reesim validate``)."""
    from reesim.validation.metrics import PEAK_ORIGIN
    from reesim.validation.observations import PRICE_RECORD_END_YEAR, RECORD_END_YEAR

    def fmt(value: float, pct: bool = False) -> str:
        if value != value:  # NaN
            return "-"
        return f"{100 * value:.0f}%" if pct else f"{value:.3g}"

    series_metrics = ("log_rmse", "range_coverage", "range_miss_log_distance",
                      "direction_agreement")
    wide = metrics[metrics.metric.isin(series_metrics)].pivot_table(
        index="series", columns="metric", values="value", sort=False, dropna=False)
    counts = metrics[metrics.metric.isin(series_metrics)].pivot_table(
        index="series", columns="metric", values="n", sort=False, dropna=False)
    table = Table(title=f"Fit to the record to {RECORD_END_YEAR}, prices to "
                        f"{PRICE_RECORD_END_YEAR} ({scenario_name}, "
                        f"members {members}{', medians' if members > 1 else ''})",
                  title_justify="left")
    table.add_column("series", min_width=29, no_wrap=True)
    for col in ("log RMSE (n)", "in range (n)", "miss ln d", "direction (n)"):
        table.add_column(col, justify="right")
    for name, row in wide.iterrows():
        def cell(metric: str, pct: bool = False, row=row, name=name) -> str:
            if metric not in row or row[metric] != row[metric]:
                return "-"
            n = counts.loc[name, metric]
            return f"{fmt(row[metric], pct)} ({int(n)})"
        miss = row.get("range_miss_log_distance", float("nan"))
        table.add_row(str(name), cell("log_rmse"), cell("range_coverage", pct=True),
                      fmt(miss), cell("direction_agreement", pct=True))
    console.print(table)
    peaks = Table(title="The 2011 price spike (export market)", title_justify="left")
    for col in ("series", "metric", "simulated", "observed"):
        peaks.add_column(col, justify="left" if col in ("series", "metric") else "right")
    for rec in metrics[metrics.metric.str.startswith("peak_")].itertuples():
        if rec.metric == "peak_month_2011":  # months since 2010-01, shown as YYYY-MM
            sim, obs = (str(PEAK_ORIGIN + round(v)) if v == v else "-"
                        for v in (rec.value, rec.observed))
        else:
            sim, obs = fmt(rec.value), fmt(rec.observed)
        peaks.add_row(rec.series, rec.metric, sim, obs)
    console.print(peaks)


def render_calibration(result: CalibrationResult, quick: bool, console: Console,
                       err_console: Console) -> None:
    """Print a calibration's fitted parameters, identification and warnings."""
    table = Table(title=f"Calibration of {result.scenario} to the record "
                        f"{result.window} (seed {result.seed}{', quick' if quick else ''})",
                  title_justify="left")
    for col in ("parameter", "prior", "fitted", "identified range", "curvature", "identified"):
        table.add_column(col, justify="left" if col in ("parameter", "prior") else "right",
                         no_wrap=col == "parameter", overflow="fold")
    for row, ident in zip(result.table, result.identification, strict=True):
        table.add_row(row.name, f"{row.low:g}..{row.high:g} {row.scale}",
                      f"{result.parameters[row.name]:.4g}",
                      f"{ident.low:.3g}..{ident.high:.3g} ({ident.fraction_of_prior:.0%})",
                      f"{ident.curvature:.3g}", ident.status)
    console.print(table)
    opt = result.optimizer
    console.print(f"objective (weighted misfit, lower is better): {result.objective:.4g}  "
                  f"(start: scenario values {result.start_objective:.4g}; prior midpoint "
                  f"{result.objective_at_midpoint:.4g}); {opt['generations_run']} generations of "
                  f"{opt['population']}, {opt['evaluations']} runs, {result.wall_time_s:.0f} s")
    notes = [f"{i.name}: {i.note}" for i in result.identification if i.note]
    for note in notes:
        console.print(f"  note {note}", highlight=False)
    for warning in result.warnings:
        err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
