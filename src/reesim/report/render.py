"""Render results as rich tables: the one printer of summaries, claims, validation, calibration.

The CLI calls these; library code never prints.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from reesim.calibration.fit import CalibrationResult

LABELS = {
    "world_mine_output": "world mine output, kt REO/yr",
    "china_mine_output": "China mine output, kt REO/yr",
    "china_share_of_world_output": "China / world output",
    "bayan_obo_share_of_china_output": "Bayan Obo / China output",
    "bayan_obo_share_of_china_reserves": "Bayan Obo / China reserves*",
    "china_exports": "China's exports, kt REO/yr",
    "baotou_share_of_china_exports": "Baotou / China exports",
    "china_smuggled_exports": "smuggled out of China, kt REO/yr",
    "tailings_stock": "tailings (since start), Mt REO",
    "thorium_cumulative": "thorium (cumulative), kt ThO2",
    "china_share_of_magnet_making": "China / world magnet making",
    "china_magnet_exports": "China's magnet exports, kt REO/yr in magnets",
    "magnet_shortfall_china": "magnets users in China lacked, kt REO/yr in magnets",
    "magnet_shortfall_export": "magnets users outside China lacked, kt REO/yr in magnets",
}
TITLES = {
    "prices": "Oxide prices in the China and export markets, USD/kg",
    "supply": "Mine output and the place of Bayan Obo",
    "trade": "China's exports",
    "balance": "The balance problem: unsold stocks (years of use), unmet demand (% of demand)",
    "demand": "Unmet demand by application (kt REO/yr)",
    "magnets": "Magnets: where they are made, China's exports and shortfalls (REO in magnets)",
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


MARKET_LABELS = {"price_china": "China", "price_export": "export"}
BALANCE_LABELS = {"unsold_stock_years_of_use": "stocks", "unmet_share_of_demand": "unmet"}
BAND_LABELS = (("p05", "  5th pct"), ("p95", "  95th pct"))
LABEL_MIN_WIDTH = 12
"""The row-label column wraps down to this width before years are dropped."""


def _row_label(section: str, rec: dict) -> str:
    if section == "prices":
        return f"{rec['key']} {MARKET_LABELS.get(rec['metric'], rec['metric'])}"
    if section == "balance":
        return f"{rec['key']} {BALANCE_LABELS.get(rec['metric'], rec['metric'])}"
    if section == "demand":
        return rec["key"]
    return LABELS.get(rec["metric"], rec["metric"].replace("_", " "))


def table_rows(section: str, recs: list[dict]) -> list[tuple[str, dict[int, str]]]:
    """Rows (label, {year: cell}) of one section; ensembles add 5th/95th percentile rows.

    Prices get one row per element and market, the balance one per element and measure, so a
    cell holds exactly one number.
    """
    rows: dict[str, dict[int, str]] = {}
    order: list[tuple[str, dict]] = []
    for rec in recs:
        label = _row_label(section, rec)
        if label not in rows:
            rows[label] = {}
            order.append((label, rec))
            if "p05" in rec:
                for key, _ in BAND_LABELS:
                    rows[f"{label}\0{key}"] = {}
        rows[label][rec["year"]] = _fmt(rec["value"], rec["unit"])
        for key, _ in BAND_LABELS:
            if key in rec:
                rows[f"{label}\0{key}"][rec["year"]] = _fmt(rec[key], rec["unit"])
    if section in ("prices", "balance"):          # an element's rows together
        first = {rec["key"]: i for i, (_, rec) in reversed(list(enumerate(order)))}
        order.sort(key=lambda item: first[item[1]["key"]])
    out = []
    for label, rec in order:
        out.append((label, rows[label]))
        if "p05" in rec:
            out += [(name, rows[f"{label}\0{key}"]) for key, name in BAND_LABELS]
    return out


def _table(title: str, rows: list[tuple[str, dict[int, str]]], years: list[int],
           label_width: int) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
                  pad_edge=False, expand=False)
    table.add_column("", overflow="fold", width=label_width)
    for year in years:
        width = max([len(str(year))] + [len(cells.get(year, "-")) for _, cells in rows])
        table.add_column(str(year), justify="right", no_wrap=True, width=width)
    for label, cells in rows:
        table.add_row(label, *[cells.get(y, "-") for y in years])
    return table


def _width(table: Table) -> int:
    """Columns a table takes when nothing forces it narrower.

    rich's measurement of the table, not a render of it: every column has a set width, so the
    two agree (checked on every summary table at console widths 60 to 200), and the summary
    printed 0.05-0.1 s sooner.
    """
    probe = Console(width=10_000, file=io.StringIO())
    return Measurement.get(probe, probe.options, table).maximum


def fit_table(title: str, rows: list[tuple[str, dict[int, str]]], years: list[int],
              console: Console) -> tuple[Table, list[int]]:
    """A table that fits the console: labels wrap first, then interior years are dropped.

    Number columns get the width of their widest cell, so digits are never cut. Returns the
    table and the years left out (those closest to their neighbours go first).
    """
    longest = max((len(label) for label, _ in rows), default=1)
    shown = list(years)
    omitted: list[int] = []
    while True:
        label_width = longest
        while True:
            table = _table(title, rows, shown, label_width)
            excess = _width(table) - console.width
            if excess <= 0 or label_width <= 1:
                break
            label_width = max(1, label_width - excess)
        if (excess <= 0 and label_width >= min(longest, LABEL_MIN_WIDTH)) or len(shown) <= 2:
            return table, sorted(omitted)
        gaps = [(shown[i + 1] - shown[i - 1], i) for i in range(1, len(shown) - 1)]
        _, drop = min(gaps)
        omitted.append(shown.pop(drop))


def render(records: list[dict], console: Console) -> None:
    """Print one table per section: rows are metric/key, columns are years.

    Tables fit the console's width (80 columns and up): one number per cell, wrapped labels,
    and, when still too wide, fewer years (said below the table). Ensembles show medians with
    5th and 95th percentile rows.
    """
    by_section: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        by_section[rec["section"]].append(rec)
    for section, recs in by_section.items():
        years = sorted({r["year"] for r in recs})
        title = TITLES.get(section, section)
        if any("p05" in r for r in recs):
            title += "; medians of the members"
        table, omitted = fit_table(title, table_rows(section, recs), years, console)
        console.print(table)
        if omitted:
            console.print(f"  years left out to fit {console.width} columns: "
                          f"{', '.join(map(str, omitted))} (choose with --years)", style="dim",
                          highlight=False)
        if section == "supply":
            console.print("  * reserves quantified in the inputs only (see the claims table)",
                          style="dim")


EFFECT_LABELS = {
    "baotou_output_t_reo_per_yr": "Baotou output, t REO/yr",
    "unsold_stock_t_reo": "unsold stocks (outside the plan), t REO",
    "baotou_basket_price_usd_per_kg": "Baotou basket price, USD/kg",
    "basket_price_coefficient_of_variation": "basket price variation (CV)",
    "member_revenue_musd_per_yr": "members' revenue, MUSD/yr",
}


def _significant(value: float) -> str:
    """Four significant figures with thousands separators, never in exponent notation."""
    if not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    return f"{round(value, 3 - exponent):,.{max(0, 3 - exponent)}f}"


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
    table = Table(title=("What the trading company changed, 2009-2012 "
                         "(vs the same scenario as a free market)"), title_justify="left")
    for col in ("", "trading company", "free market", "change"):
        table.add_column(col, justify="right" if col else "left")
    from reesim.report.claims import VARIATION, effect_change

    for name, row in effects.iterrows():
        company, free = row.trading_company, row.free_market
        if name.endswith(VARIATION):                      # a share: shown in percent
            shown = (f"{100 * company:.2g}%", f"{100 * free:.2g}%")
        else:
            shown = (_significant(company), _significant(free))
        table.add_row(EFFECT_LABELS.get(name, name.replace("_", " ")), *shown,
                      effect_change(name, company, free, row.change_pct))
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
    table.add_column("series", min_width=12, overflow="fold")   # wraps, never cut
    for col in ("log RMSE (n)", "in range (n)", "miss ln d", "direction (n)"):
        table.add_column(col, justify="right", overflow="fold")
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
    peaks = Table(title="The 2011 price spike: the export peaks over 2015 and China's peaks "
                        "over the record's", title_justify="left")
    for col in ("series", "metric", "simulated", "observed"):
        peaks.add_column(col, justify="left" if col in ("series", "metric") else "right",
                         overflow="fold")
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
    if result.constants:
        console.print("structural constants the fit depends on (objective at the ends of the "
                      "declared range; reesim.model.constants):")
        print_constants(console, result)
    if result.step_check is not None:
        console.print(f"time step: {result.step_check.describe()}"
                      f"{'' if result.step_check.converged else ' [bold]NOT CONVERGED[/]'}")
    notes = [f"{i.name}: {i.note}" for i in result.identification if i.note]
    for note in notes:
        console.print(f"  note {note}", highlight=False)
    if result.starts:
        print_starts(console, result)
    for warning in result.warnings:
        err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False)


def print_starts(console: Console, result: CalibrationResult) -> None:
    """The searches of a multi-start fit: objective, basin and behaviour patterns.

    The record's patterns are the last row, so a lower objective that flattens the market
    shows as such.
    """
    from reesim.validation.observations import load_observations
    from reesim.validation.patterns import recorded_patterns

    record = recorded_patterns(load_observations())
    heads = {"nd_export_peak_to_2015": "Nd X peak/2015", "dy_export_peak_to_2015":
             "Dy X peak/2015", "nd_china_peak_usd_per_kg": "Nd CN peak", "dy_china_peak_usd_per_kg":
             "Dy CN peak", "min_return_autocorrelation": "min autocorr",
             "max_projection_jumps": "jumps 2027+"}
    table = Table(title="Independent searches (the first row is the fit; step: how far annual "
                        "volumes/median prices/the farthest observed price path move with two "
                        "market sub-steps, x = not converged; "
                        "patterns of the whole run, record in the last row)",
                  title_justify="left")
    for col in ("seed", "basin", "objective", "distance", "step vol/price/path",
                *heads.values()):
        table.add_column(col, justify="right")
    for start in result.starts:
        step = ("" if start.step is None else
                f"{start.step.volume_gap:.1%}/{start.step.price_gap:.1%}/"
                f"{start.step.path_gap:.0%}{'' if start.step.converged else ' x'}")
        table.add_row(str(start.seed), str(start.basin), f"{start.objective:.4g}",
                      f"{start.distance_to_fit:.2f}", step,
                      *(f"{start.patterns[k]:.3g}" for k in heads))
    table.add_row("record", "", "", "", "", *("" if record[k] != record[k] else f"{record[k]:.3g}"
                                              for k in heads))
    console.print(table)


def print_constants(console: Console, result: CalibrationResult) -> None:
    """One line per structural constant the fit depends on: value, range, objective at its ends."""
    for name, c in result.constants.items():
        console.print(f"  {name} = {c['value']:g} {c['unit']} (range {c['low']:g}.."
                      f"{c['high']:g}): objective {c['objective_at_low']:.4g} .. "
                      f"{c['objective_at_high']:.4g}", highlight=False)
