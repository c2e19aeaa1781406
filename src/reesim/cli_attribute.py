"""``reesim attribute``: which events and mechanisms make an episode, by knocking each out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from reesim.cli_options import OverwriteOpt, ScenarioArg, SeedOpt, SetOpt

if TYPE_CHECKING:   # kept light: the CLI imports this module before any command runs
    import pandas as pd


def render_attribution(table: pd.DataFrame, console: Console) -> None:
    """Contributions to the peak prices in % of the full run's peak: one table per market.

    One row per factor, one column per element; numbers never wrap (factor names may), so each
    table fits 80 columns for four elements.
    """
    peaks = table[table.indicator == "peak_price"]
    for market, rows in peaks.groupby("market", sort=False):
        elements = list(dict.fromkeys(rows.element))
        out = Table(title=f"{market.capitalize()} price: contribution to the window's peak "
                          "(% of the full run's peak; full - without the factor)")
        out.add_column("factor", overflow="fold")
        for element in elements:
            out.add_column(element, justify="right", no_wrap=True)
        full = rows.drop_duplicates("element").set_index("element").full
        out.add_row("[dim]full run, USD/kg[/]", *(f"[dim]{full[e]:,.0f}[/]" for e in elements))
        for factor, part in rows.groupby("factor", sort=False):
            values = part.set_index("element").contribution_pct
            out.add_row(str(factor), *(f"{values[e]:+,.0f}" for e in elements))
        console.print(out)


def register(app: typer.Typer) -> None:
    """Add the attribute command to the ``reesim`` app."""

    @app.command()
    def attribute(
        scenario: ScenarioArg,
        window: Annotated[str, typer.Option(
            help="Months of the episode, FIRST..LAST (e.g. the 2010-2011 crisis: "
                 "2010-01..2012-12).")] = "2010-01..2012-12",
        elements: Annotated[str, typer.Option(
            help="Elements whose prices and unmet demand are attributed, comma-separated.")]
        = "La,Nd,Tb,Dy",
        factor: Annotated[list[str] | None, typer.Option(
            help="A factor of your own, NAME=OVERRIDE[;OVERRIDE...] (repeatable), e.g. "
                 "'no 2010 quota cut=events.cut.value_t_reo_per_yr=50000'; replaces the "
                 "default factors.")] = None,
        set_: SetOpt = None,
        members: Annotated[int, typer.Option(
            min=1, max=1000, help="Members per run: the scenario's uncertainties sampled, the "
                                  "same draws in every run (paired); medians are shown, the "
                                  "5-95% range is in attribution.csv.")] = 1,
        seed: SeedOpt = None,
        out: Annotated[Path | None, typer.Option(
            help="Folder for attribution.csv and .html (default: "
                 "results/attribute-<timestamp>).")] = None,
        overwrite: OverwriteOpt = False,
    ) -> None:
        """Knock out each event and mechanism of an episode and show how much each contributes.

        The scenario runs as it is, without each factor acting in the window (its events, China's
        export quotas and duties, its production quotas, hoarding, illegal supply for the whole
        run and in the window only, the trading company; or the --factor ones) and without all
        of them; writes attribution.csv and a bar chart, attribution.html.
        """
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from reesim.attribution import attribute as run_attribution
        from reesim.attribution import chart_html, default_factors, parse_factors, parse_window
        from reesim.cli import _user_errors, console, err_console
        from reesim.output import check_folder, write_folder
        from reesim.scenario import load_scenario

        with _user_errors():
            chosen = parse_window(window)
            folder = out or Path("results") / f"attribute-{datetime.now():%Y%m%d-%H%M%S}"
            check_folder(folder, overwrite)
            names = tuple(e.strip() for e in elements.split(",") if e.strip())
            factors = (parse_factors(factor) if factor else
                       default_factors(load_scenario(scenario, list(set_ or [])), chosen))
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                          TextColumn("{task.completed}/{task.total} runs"),
                          TimeElapsedColumn(), console=err_console, transient=True) as bar:
                task = bar.add_task("running", total=len(factors) + 2)

                def show(label: str) -> None:
                    bar.update(task, advance=0 if label == "as it is" else 1,
                               description=f"running {label}")

                table = run_attribution(scenario, chosen, factors, names, set_ or (), seed,
                                        members, progress=show)
            title = f"Attribution of {scenario}, {chosen[0]}..{chosen[1]}"
            write_folder(folder, {
                "attribution.csv": table.to_csv(index=False, float_format="%.6g"),
                "attribution.html": chart_html(table, title)},
                command="attribute", overwrite=overwrite)
        render_attribution(table, console)
        if members > 1:
            console.print(f"medians over {members} members; the 5-95% range of each "
                          "contribution is in attribution.csv")
        console.print(f"[green]wrote[/] {folder}/attribution.csv, attribution.html")
