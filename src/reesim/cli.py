"""The ``reesim`` command line: run scenarios, inspect them and the packaged data.

The CLI is the only place that prints. User errors (bad scenario, bad option) print one screen
naming the file, field and allowed values and exit with code 2; nothing is written then.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reesim.errors import BalanceError, InputError, ReesimError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="reesim: simulate Baotou's rare earth system and the world around it.")
console = Console()
if not console.is_terminal:        # piped or captured output: wide enough for the tables
    console = Console(width=140)
err_console = Console(stderr=True)

ScenarioArg = Annotated[str, typer.Argument(help="Built-in scenario name or path to a YAML file.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a scenario value, e.g. --set market.regime=free_market (repeatable).")]


def _fail(error: Exception, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {error}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn reesim's errors into one-screen messages and exit codes (2 input, 3 balance, 1)."""
    try:
        yield
    except InputError as exc:
        _fail(exc, 2)
    except BalanceError as exc:
        _fail(exc, 3)
    except ReesimError as exc:
        _fail(exc, 1)


def _load(scenario: str, overrides: list[str] | None):
    from reesim.scenario import load_scenario

    return load_scenario(scenario, overrides or [])


@app.command()
def run(
    scenario: ScenarioArg = "baotou",
    set_: SetOpt = None,
    members: Annotated[int, typer.Option(min=1, max=100_000, help="Ensemble members.")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: the scenario's).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: results/<scenario>-<timestamp>).")] = None,
    frequency: Annotated[str | None, typer.Option(
        help="Record 'month' or 'year' (default: the scenario's).")] = None,
    quiet: Annotated[bool, typer.Option(help="Do not print the summary tables.")] = False,
    years: Annotated[str | None, typer.Option(
        help="Years shown in the summary, comma-separated (default 2000,2005,2010,...,2050).")]
    = None,
    report: Annotated[bool, typer.Option(help="Also write report.html (see `reesim report`).")]
    = False,
) -> None:
    """Run a scenario, write results.nc, manifest.json and summary.csv, print a summary."""
    from reesim.api import simulate
    from reesim.cli_visual import run_report
    from reesim.report.claims import (
        claims_csv,
        claims_frame,
        counterfactual,
        regime_effects,
        share_claims,
    )
    from reesim.report.html import scenario_yaml
    from reesim.report.render import render, render_claims
    from reesim.report.summary import summary_records, to_csv

    overrides = list(set_ or [])
    if frequency is not None:
        if frequency not in ("month", "year"):
            _fail(InputError(f"--frequency {frequency!r} is not allowed", field="--frequency",
                             allowed="month, year"), 2)
        overrides.append(f"output.frequency={frequency}")
    with _user_errors():
        chosen_years = _years(years)
        scen = _load(scenario, overrides)
        steps = 12 * (scen.end_year - scen.start_year + 1)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} months"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task(f"{scen.name} x{members}", total=steps)
            result = simulate(scen, members=members, seed=seed,
                              progress=lambda done: bar.update(task, completed=done))
        records = summary_records(result.dataset, chosen_years)
        claims = share_claims(result.dataset)
        effects = None
        other = counterfactual(scen)
        if other is not None:
            free = simulate(other, members=members, seed=seed)
            effects = regime_effects(result.dataset, free.dataset)
        target = out or Path("results") / (
            f"{scen.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
        written = result.write(target, extra_files={"summary.csv": to_csv(records),
                                                    "claims.csv": claims_csv(claims, effects),
                                                    "scenario.yaml": scenario_yaml(scen)})
        if report:
            run_report(result, written, claims_frame(claims, effects), console)
    if not quiet:
        render(records, console)
        render_claims(claims, effects, console)
    m = result.manifest
    console.print(f"[green]wrote[/] {written}/results.nc, manifest.json, summary.csv, claims.csv  "
                  f"(scenario {m['scenario']} {m['scenario_hash']}, data {m['data_version']}, "
                  f"seed {m['seed']}, members {m['members']})")


def _years(text: str | None) -> tuple[int, ...]:
    """Parse ``--years`` (comma-separated years) or return the default summary years."""
    from reesim.report.summary import DEFAULT_YEARS

    if text is None:
        return DEFAULT_YEARS
    try:
        chosen = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"--years {text!r} must be comma-separated years", field="--years",
                         allowed="e.g. 2010,2011,2020") from None
    if not chosen:
        raise InputError("--years is empty", field="--years", allowed="e.g. 2010,2011,2020")
    return chosen


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from reesim.scenario import builtin_names, load_scenario

    table = Table(title="Built-in scenarios", title_justify="left")
    table.add_column("name")
    table.add_column("description")
    for name in builtin_names():
        try:
            desc = " ".join(load_scenario(name).description.split())
        except InputError as exc:
            _fail(exc, 2)
        table.add_row(name, re.split(r"(?<=[a-z)])\.\s+(?=[A-Z])", desc)[0].rstrip(".") + ".")
    console.print(table)


@app.command()
def show(scenario: ScenarioArg, set_: SetOpt = None) -> None:
    """Print the fully resolved scenario (extends and overrides applied) as YAML."""
    try:
        scen = _load(scenario, set_)
    except InputError as exc:
        _fail(exc, 2)
    text = yaml.safe_dump(scen.model_dump(mode="json", exclude_none=True), sort_keys=False,
                          allow_unicode=True, width=100)
    console.print(text, highlight=False, markup=False)


@app.command()
def data() -> None:
    """List the packaged datasets with their row counts and sources."""
    from reesim.datasets import catalogue

    try:
        entries = catalogue()
    except InputError as exc:
        _fail(exc, 2)
    table = Table(title=f"Packaged data (version {entries[0]['version']})", title_justify="left",
                  show_lines=True)
    for col in ("folder", "dataset", "rows", "title", "sources"):
        table.add_column(col, overflow="fold")
    for e in entries:
        sources = "\n".join(s if len(s) < 160 else s[:157] + "..." for s in e["sources"][:4])
        if len(e["sources"]) > 4:
            sources += f"\n(+{len(e['sources']) - 4} more in datasets.yaml)"
        table.add_row(e["folder"], e["name"], str(e["rows"]), e["title"], sources)
    console.print(table)


@app.command()
def validate(
    scenario: ScenarioArg = "baotou",
    set_: SetOpt = None,
    members: Annotated[int, typer.Option(min=1, max=100_000, help="Ensemble members.")] = 1,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed (default: the scenario's).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: results/validation-<scenario>-<timestamp>).")] = None,
) -> None:
    """Run a scenario over the history and compare it with the record up to 2015.

    The run keeps the scenario's start year and always ends in 2016 (``end_year`` is overridden);
    writes validation.html and validation.csv and prints the metrics.
    """
    from reesim.api import simulate
    from reesim.report.claims import claims_frame, counterfactual, regime_effects, share_claims
    from reesim.report.render import render_claims
    from reesim.validation import HISTORY_END_YEAR, compute_metrics, objective, write_report
    from reesim.validation.metrics import PEAK_ORIGIN

    overrides = [*(set_ or []), f"end_year={HISTORY_END_YEAR + 1}"]
    with _user_errors():
        scen = _load(scenario, overrides)
        steps = 12 * (scen.end_year - scen.start_year + 1)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} months"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task(f"{scen.name} x{members}", total=steps)
            result = simulate(scen, members=members, seed=seed,
                              progress=lambda done: bar.update(task, completed=done))
        metrics = compute_metrics(result.dataset)
        claims = share_claims(result.dataset)
        effects = None
        other = counterfactual(scen)
        if other is not None:
            effects = regime_effects(result.dataset,
                                     simulate(other, members=members, seed=seed).dataset)
        target = out or Path("results") / (
            f"validation-{scen.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
        written = write_report(result.dataset, metrics, target,
                               title=f"reesim validation: {scen.name} vs the record",
                               claims=claims_frame(claims, effects))

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
    table = Table(title=f"Fit to the record up to {HISTORY_END_YEAR} ({scen.name}, "
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
    render_claims(claims, effects, console)
    console.print(f"objective (weighted misfit, lower is better): {objective(metrics):.4g}")
    console.print(f"[green]wrote[/] {written}/validation.html, validation.csv, claims.csv")


@app.command()
def calibrate(
    out: Annotated[Path, typer.Option(
        help="Calibration file to write (YAML), e.g. src/reesim/scenarios/"
             "calibration-baotou.yaml.")],
    scenario: ScenarioArg = "baotou",
    set_: SetOpt = None,
    seed: Annotated[int | None, typer.Option(
        min=0, help="Seed of the optimizer (default: the scenario's).")] = None,
    quick: Annotated[bool, typer.Option(
        help="A tiny population and two generations (a smoke test, not a fit).")] = False,
) -> None:
    """Fit the declared free parameters to the history up to 2015 and write a calibration file.

    Differential evolution (scipy) over the priors of reesim.calibration.parameters, each
    generation one batched run; then a one-parameter profile of each parameter at the optimum
    (curvature and identified range). A scenario uses the file via `calibration: <file>`.
    """
    from reesim.calibration import FULL, QUICK, write_calibration
    from reesim.calibration import calibrate as fit

    opts = QUICK if quick else FULL
    with _user_errors():
        scen = _load(scenario, set_)
        seed = scen.seed if seed is None else seed
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} generations"),
                      TimeElapsedColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task(f"calibrating {scen.name}", total=opts.generations)

            def show(gen) -> None:
                what = ("profiling each parameter at the optimum" if gen.stage == "profiles"
                        else f"calibrating {scen.name}")
                bar.update(task, completed=gen.index,
                           description=f"{what}: best objective {gen.best_objective:.4g}")

            result = fit(scen, seed=seed, quick=quick, progress=show)
        written = write_calibration(result, out)
    table = Table(title=f"Calibration of {result.scenario} to the record "
                        f"{result.window} (seed {result.seed}{', quick' if quick else ''})",
                  title_justify="left")
    for col in ("parameter", "prior", "fitted", "identified range", "curvature", "weak"):
        table.add_column(col, justify="left" if col in ("parameter", "prior") else "right",
                         no_wrap=col == "parameter", overflow="fold")
    for row, ident in zip(result.table, result.identification, strict=True):
        table.add_row(row.name, f"{row.low:g}..{row.high:g} {row.scale}",
                      f"{result.parameters[row.name]:.4g}",
                      f"{ident.low:.3g}..{ident.high:.3g} ({ident.fraction_of_prior:.0%})",
                      f"{ident.curvature:.3g}", "yes" if ident.weakly_identified else "no")
    console.print(table)
    opt = result.optimizer
    console.print(f"objective (weighted misfit, lower is better): {result.objective:.4g}  "
                  f"(prior midpoint {result.objective_at_midpoint:.4g}, scenario values "
                  f"{result.objective_at_scenario:.4g}); {opt['generations_run']} generations of "
                  f"{opt['population']}, {opt['evaluations']} runs, {result.wall_time_s:.0f} s")
    notes = [f"{i.name}: {i.note}" for i in result.identification if i.note]
    for note in notes:
        console.print(f"  note {note}", highlight=False)
    for warning in result.warnings:
        err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    console.print(f"[green]wrote[/] {written}")


from reesim.cli_visual import register  # noqa: E402  (report, compare, dashboard)

register(app)


def main() -> None:
    """Entry point of the ``reesim`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was written")
        sys.exit(130)


if __name__ == "__main__":
    main()
