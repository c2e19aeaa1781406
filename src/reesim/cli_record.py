"""Console rendering of the validation record tables (targets 2016-2025, outlook vs baseline)."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table


def number(value: float, digits: int = 3) -> str:
    """A figure to ``digits`` significant digits for the record tables; ``-`` if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}"


def print_record_tables(console: Console, tables: dict[str, tuple[str, pd.DataFrame]]) -> None:
    """Print the record tables: fit by period, targets, demand, outlooks, patterns, balances."""
    title, periods = tables["fit_by_period"]
    split = Table(title=title, title_justify="left")
    for col in ("series", "to 2015 (n)", "after 2015 (n)"):
        split.add_column(col, justify="left" if col == "series" else "right")
    for rec in periods[periods.n_after_2015 > 0].itertuples():
        split.add_row(rec.series, f"{number(rec.log_rmse_to_2015)} ({rec.n_to_2015})",
                      f"{number(rec.log_rmse_after_2015)} ({rec.n_after_2015})")
    console.print(split)
    hidden = int((periods.n_after_2015 <= 0).sum())
    if hidden:
        console.print(f"{hidden} series without observations after 2015 are left out here "
                      "(fit_by_period.csv has them)")
    title, targets = tables["targets"]
    if len(targets):
        _print_year_grid(console, title, targets)
        console.print("ok: within tolerance of the preferred record; ed: within tolerance of "
                      "another published edition only; rb: within tolerance on the record's "
                      "basis only (without the model's illegal Chinese output, which the "
                      "record does not count); x: outside all.")
        _, summary = tables["targets_summary"]
        for rec in summary.itertuples():
            console.print(f"  [bold]{rec.target}[/]: {rec.record}")
    if "history_volumes" in tables and len(tables["history_volumes"][1]):
        _print_year_grid(console, *tables["history_volumes"])
    title, demand = tables["demand"]
    levels = Table(title=title, title_justify="left")
    for col in ("year", "quantity", "published as", "published", "model", "model/published",
                "consistent"):
        levels.add_column(col, justify="right" if col in ("published", "model",
                                                           "model/published") else "left")
    for rec in demand.itertuples():
        low, high = rec.published_low, rec.published_high
        published = (number(low) if low == high else
                     f">{number(low)}" if math.isinf(high) else
                     f"<{number(high)}" if math.isinf(low) else f"{number(low)}-{number(high)}")
        verdict = ("-" if rec.consistent is None or rec.consistent != rec.consistent
                   else ("[green]yes[/]" if rec.consistent else "[red]no[/]"))
        levels.add_row(str(rec.year), rec.quantity, str(rec.item)[:34], published,
                       number(rec.model), number(rec.model_to_published, 2), verdict)
    console.print(levels)
    title, outlooks = tables["outlooks"]
    table = Table(title=title, title_justify="left")
    for col in ("publisher", "scenario", "quantity", "form", "years", "published", "model",
                "consistent"):
        table.add_column(col, justify="right" if col in ("published", "model") else "left")
    units = {"ratio": "x", "cagr": " %/yr", "level": ""}
    for rec in outlooks.itertuples():
        published = (number(rec.published_low) if rec.published_low == rec.published_high
                     else f"{number(rec.published_low)}-{number(rec.published_high)}")
        verdict = ("-" if rec.consistent is None or rec.consistent != rec.consistent
                   else ("[green]yes[/]" if rec.consistent else "[red]no[/]"))
        table.add_row(str(rec.publisher)[:24], str(rec.scenario)[:18], rec.quantity,
                      rec.comparison, f"{rec.base_year}-{rec.target_year}",
                      published + units[rec.comparison],
                      number(rec.model) + units[rec.comparison], verdict)
    console.print(table)
    if "outlook_envelope" in tables:
        print_envelope(console, *tables["outlook_envelope"])
    if "spike" in tables:
        print_spike(console, *tables["spike"])
    print_patterns(console, *tables["patterns"])
    if "balances" in tables:
        print_balances(console, *tables["balances"])
    if "element_supply" in tables:
        print_element_supply(console, *tables["element_supply"])


def print_envelope(console: Console, title: str, envelope: pd.DataFrame) -> None:
    """Each quantity's published growth range beside the model's over the same windows."""
    if envelope.empty:
        return
    table = Table(title=title, title_justify="left")
    for col in ("quantity", "outlooks", "years", "published %/yr", "model %/yr", "inside"):
        table.add_column(col, justify="left" if col == "quantity" else "right")
    for rec in envelope.itertuples():
        table.add_row(rec.quantity, str(rec.outlooks), rec.years,
                      f"{number(rec.published_low_pct_per_yr)} to "
                      f"{number(rec.published_high_pct_per_yr)}",
                      f"{number(rec.model_low_pct_per_yr)} to "
                      f"{number(rec.model_high_pct_per_yr)}",
                      f"{rec.model_within} of {rec.windows_in_run}")
    console.print(table)


def print_spike(console: Console, title: str, spike: pd.DataFrame) -> None:
    """The 2011 peak of each observed element in both markets beside the record's."""
    if spike.empty:
        return
    table = Table(title=title, title_justify="left")
    for col in ("element", "market", "peak", "month", "record", "month ", "ratio", "within",
                "peak/2015", "record "):
        table.add_column(col, justify="left" if col in ("element", "market") else "right")
    for rec in spike.itertuples():
        verdict = ("-" if pd.isna(rec.within_tolerance) else
                   "[green]yes[/]" if rec.within_tolerance else "[red]no[/]")
        table.add_row(rec.element, rec.market, number(rec.peak_usd_per_kg), rec.peak_month,
                      number(rec.record_peak_usd_per_kg), str(rec.record_peak_month or "-"),
                      number(rec.peak_to_record, 2), verdict, number(rec.peak_to_2015, 2),
                      number(rec.record_peak_to_2015, 2))
    console.print(table)
    scored = spike.within_tolerance.dropna()
    console.print(f"peaks within the tolerance: {int(scored.sum())} of {len(scored)} quoted "
                  "(USD/kg; the run's step-filtered monthly path; the record's highest quote of "
                  "2010-2012, a range at its midpoint)")


def print_element_supply(console: Console, title: str, supply: pd.DataFrame) -> None:
    """Single elements' mine output (NdPr: separated oxide) beside the published figures."""
    if supply.empty:
        return
    table = Table(title=title, title_justify="left")
    for col in ("element", "year", "scope", "model", "record", "ratio", "basis"):
        table.add_column(col, justify="left" if col in ("element", "scope", "basis") else "right")
    for rec in supply.itertuples():
        recorded = (f"{rec.recorded_t:,.0f}" if rec.recorded_low_t == rec.recorded_high_t
                    else f"{rec.recorded_low_t:,.0f}-{rec.recorded_high_t:,.0f}")
        table.add_row(rec.element, str(rec.year), rec.scope, f"{rec.simulated_t:,.0f}",
                      recorded, number(rec.ratio, 2), rec.basis)
    console.print(table)


def print_balances(console: Console, title: str, balances: pd.DataFrame) -> None:
    """Each element's supply, consumption, stocks and prices in the balance years."""
    if balances.empty:
        return
    table = Table(title=title, title_justify="left")
    for col in ("year", "element", "separated", "residue", "consumed", "ratio", "stocks", "years",
                "China", "record", "export", "record "):
        table.add_column(col, justify="left" if col in ("year", "element") else "right")
    for rec in balances.itertuples():
        table.add_row(str(rec.year), rec.element, f"{rec.separation_output:,.0f}",
                      f"{rec.separation_residue:,.0f}", f"{rec.consumption:,.0f}",
                      number(rec.supply_to_consumption, 2), f"{rec.stocks:,.0f}",
                      number(rec.stock_years, 2), number(rec.price_china),
                      number(rec.record_china), number(rec.price_export),
                      number(rec.record_export))
    console.print(table)
    console.print("residue: recoverable oxide separators left unseparated because the world's "
                  "sellers held years of it; ratio: separated output over consumption; years: "
                  "stocks of every holder at the year's end in years of consumption "
                  "(balances.csv has mine output too)")


def print_patterns(console: Console, title: str, patterns: pd.DataFrame) -> None:
    """The behaviour patterns beside the record's (median and 5-95% over members)."""
    from reesim.validation.patterns import LABELS

    if (patterns.pattern == "-").all():
        console.print(f"{title}: not measured ({patterns.note.iloc[0]})")
        return
    table = Table(title=title, title_justify="left")
    for col in ("pattern", "simulated", "5-95%", "record"):
        table.add_column(col, justify="left" if col == "pattern" else "right")
    for rec in patterns.itertuples():
        spread = ("" if rec.simulated_p05 != rec.simulated_p05
                  or rec.simulated_p05 == rec.simulated_p95
                  else f"{number(rec.simulated_p05)}..{number(rec.simulated_p95)}")
        table.add_row(LABELS.get(str(rec.pattern), str(rec.what)), number(rec.simulated),
                      spread, number(rec.record))
    console.print(table)
    console.print("X: export market, CN: China; peaks in 2010-2012; autocorr: smallest lag-1 "
                  "autocorrelation of monthly log returns 2001-2025 (negative = zig-zag); jumps: "
                  "most price doublings within two months of any element and market after 2026 "
                  "(patterns.csv says each in full)")


def _print_year_grid(console: Console, title: str, targets: pd.DataFrame) -> None:
    """A target table (:func:`reesim.validation.targets.target_table`) as series by year, marked."""
    years = sorted(targets.year.unique())
    grid = Table(title=title, title_justify="left")
    grid.add_column("target (tolerance)", no_wrap=True)
    for year in years:
        grid.add_column(str(year), justify="right")
    grid.add_column("passed", justify="right")
    for target in dict.fromkeys(targets.target):
        part = targets[targets.target == target].set_index("year")
        cells = []
        for year in years:
            if year not in part.index:
                cells.append("")
                continue
            row = part.loc[year]
            mark = ("[green]ok[/]" if row.passed else
                    "[yellow]ed[/]" if row.passed_some_edition else
                    "[cyan]rb[/]" if row.passed_record_basis else "[red]x[/]")
            cells.append(f"{row.error_pct:+.0f}% {mark}")
        tol = part.tolerance_pct.iloc[0]
        grid.add_row(f"{target} (+-{tol:.0f}%)", *cells,
                     f"{int(part.passed.sum())}/{len(part)}")
    console.print(grid)
