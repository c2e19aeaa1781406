"""CLI parts of ``--train-until``: the fit of a backtest and its in/out-of-sample table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:   # kept light: the CLI imports this module before any command runs
    import pandas as pd

TrainUntilOpt = Annotated[int | None, typer.Option(
    "--train-until",
    help="Last year of the record the fit sees (default: the whole record, volumes to 2025 and "
         "prices to 2020); validate then calibrates on it, starting without the scenario's "
         "calibration file (fitted to later years), and scores the years after.")]
QuickFitOpt = Annotated[bool, typer.Option(
    help="With --train-until: the quick calibration (a smoke test, not a fit).")]


def progress_bar(console: Console) -> Progress:
    """The progress bar of a calibration (generations)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total} generations"),
                    TimeElapsedColumn(), console=console, transient=True)


def show_generation(bar: Progress, task: object, name: str):
    """A progress callback that shows the stage and the best objective so far."""
    stages = {"profiles": "profiling each parameter at the optimum",
              "constants": "scoring the structural constants' ranges"}

    def show(gen) -> None:
        what = stages.get(gen.stage, f"calibrating {name}")
        if gen.starts > 1 and gen.stage == "search":
            what += f" (search {gen.start + 1} of {gen.starts})"
        bar.update(task, completed=gen.start * gen.total + gen.index,
                   description=f"{what}: best objective {gen.best_objective:.4g}")
    return show


def fit_window(scen, train_until: int, quick: bool, seed: int | None, err_console: Console):
    """Calibrate ``scen`` on the record up to ``train_until``; (fitted scenario, result)."""
    from reesim.calibration import FULL, QUICK, calibrate
    from reesim.calibration.backtest import fitted_scenario

    opts = QUICK if quick else FULL
    seed = scen.seed if seed is None else seed
    with progress_bar(err_console) as bar:
        task = bar.add_task(f"calibrating {scen.name} to {train_until}", total=opts.generations)
        result = calibrate(scen, seed=seed, quick=quick, train_until=train_until,
                           progress=show_generation(bar, task, scen.name))
    return fitted_scenario(scen, result.parameters), result


def print_backtest(console: Console, table: pd.DataFrame, train_until: int, result) -> None:
    """Print the fitted values and the in-sample vs out-of-sample metrics."""
    from reesim.cli_record import number
    from reesim.report.render import print_constants

    fitted = ", ".join(f"{k}={v:.4g}" for k, v in result.parameters.items())
    console.print(f"[bold]Backtest[/]: fitted on the record to {train_until} ({result.mode}, "
                  f"objective {result.objective:.4g}): {fitted}", highlight=False)
    if result.constants:
        console.print("the fit depends on these structural constants:")
        print_constants(console, result)
    grid = Table(title=f"Backtest: in sample (to {train_until}) vs out of sample (after "
                       f"{train_until})", title_justify="left")
    for col in ("series", "metric", "in sample (n)", "out of sample (n)"):
        grid.add_column(col, justify="left" if col in ("series", "metric") else "right")
    for rec in table.itertuples():
        if rec.series != "objective" and not rec.n_out_of_sample > 0:
            continue   # in-sample-only rows (e.g. the 2011 spike) are in backtest.csv
        n_in = "" if rec.n_in_sample != rec.n_in_sample else f" ({int(rec.n_in_sample)})"
        n_out = "" if rec.n_out_of_sample != rec.n_out_of_sample else (
            f" ({int(rec.n_out_of_sample)})")
        grid.add_row(rec.series, rec.metric, number(rec.in_sample) + n_in,
                     number(rec.out_of_sample) + n_out)
    console.print(grid)
