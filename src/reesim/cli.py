"""The ``reesim`` command line: run scenarios, inspect them and the packaged data.

The CLI is the only place that prints. User errors (bad scenario, bad option, an output target
reesim must not write) print one screen naming the file, field and allowed values and exit with
code 2; nothing is written then. Output targets are checked before anything runs
(:mod:`reesim.output`). Ctrl-C (SIGINT) and SIGTERM print "interrupted; nothing was written"
(or which outputs were complete before the signal) and exit 130 and 143. No traceback
reaches the user: an unexpected error prints one line asking for a report
(``REESIM_TRACEBACK=1`` shows the traceback).
"""

from __future__ import annotations

import os
import signal
import sys

if __name__ == "__main__" or os.path.basename(sys.argv[0]) == "reesim":
    # started as the command line: handle Ctrl-C and SIGTERM before the heavy imports below,
    # so an interrupt while they load exits cleanly too (imported as a library: untouched)
    from reesim.output import install_signal_handlers

    install_signal_handlers(hold=True)   # released in main(): no traceback while importing

import logging
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reesim.cli_backtest import QuickFitOpt, TrainUntilOpt
from reesim.cli_options import (
    MembersOpt,
    OverwriteOpt,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    reflow_help,
)
from reesim.errors import BalanceError, InputError, ReesimError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="reesim: simulate Baotou's rare earth system and the world around it.")
console = Console()
if not console.is_terminal:        # piped or captured output: wide enough for the tables
    console = Console(width=140)
err_console = Console(stderr=True)



class _WarningPrinter(logging.Handler):
    """Print reesim's logged warnings as one-line ``warning:`` messages on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        from reesim.api import IDENTICAL_MEMBERS

        if record.msg == IDENTICAL_MEMBERS:   # already said, with advice, before the run
            return
        err_console.print(f"[bold yellow]warning:[/] {record.getMessage()}", highlight=False,
                          soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from reesim.datasets import load_inputs
        from reesim.results import code_version

        console.print(f"reesim {code_version()} (data {load_inputs().version})", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", "-V", callback=_version, is_eager=True,
        help="Print the version (and the data version) and exit.")] = False) -> None:
    """reesim: simulate Baotou's rare earth system and the world around it."""
    logger = logging.getLogger("reesim")
    if not any(isinstance(h, _WarningPrinter) for h in logger.handlers):
        logger.addHandler(_WarningPrinter(logging.WARNING))
        logger.propagate = False


def _fail(error: Exception, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
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
    except OSError as exc:          # a disk full or a folder removed while writing
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        _fail(OSError(f"cannot write the output{where}: {exc.strerror or exc}; nothing was "
                      "written"), 1)


def _check_out(target: Path, overwrite: bool, file: bool = False) -> None:
    """Check an output target before anything runs; print notes (stale partials removed)."""
    from reesim.output import check_file, check_folder

    notes = (check_file if file else check_folder)(target, overwrite)
    for note in notes:
        err_console.print(f"note: {note}", highlight=False)


def _note_members(scen, members: int) -> None:
    """Say what a run does with the scenario's uncertainties and levers (XLRM)."""
    if members > 1 and not scen.uncertainty:
        err_console.print(f"[bold yellow]warning:[/] scenario {scen.name} declares no "
                          f"uncertainty: all {members} members are identical (add an "
                          "`uncertainty:` section, e.g. as in baotou-ensemble)", highlight=False,
                          soft_wrap=True)
    if members == 1 and scen.uncertainty:
        err_console.print(f"note: scenario {scen.name} declares {len(scen.uncertainty)} "
                          "uncertain parameters: one member runs at their central values "
                          "(--members N samples them)", highlight=False, soft_wrap=True)
    if scen.levers:
        err_console.print(f"note: scenario {scen.name} declares levers "
                          f"({', '.join(scen.levers)}): this run keeps the scenario's own "
                          "values; `reesim ensemble` crosses them with the futures",
                          highlight=False, soft_wrap=True)


@contextmanager
def _held_logs(name: str) -> Iterator[list[logging.LogRecord]]:
    """Hold back what logger ``name`` logs inside the block; the caller may re-emit it.

    ``validate`` loads a scenario, then loads it again over years extended to the record's:
    a warning about the first load's years (events outside them) would not hold for the run.
    """
    held: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        held.append(record)
        return False

    logger = logging.getLogger(name)
    logger.addFilter(hold)
    try:
        yield held
    finally:
        logger.removeFilter(hold)


def _load(scenario: str, overrides: list[str] | None, calibrated: bool = True):
    from reesim.scenario import load_scenario

    return load_scenario(scenario, overrides or [], calibrated=calibrated)


@app.command()
def run(
    scenario: ScenarioArg = "baotou",
    set_: SetOpt = None,
    members: MembersOpt = 1,
    seed: SeedOpt = None,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: results/<scenario>-<timestamp>).")] = None,
    overwrite: OverwriteOpt = False,
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
    from reesim.api import scenario_yaml, simulate
    from reesim.cli_visual import run_report
    from reesim.report.claims import (
        claims_csv,
        claims_frame,
        counterfactual,
        regime_effects,
        system_claims,
    )
    from reesim.report.render import render, render_claims
    from reesim.report.summary import summary_records, to_csv

    overrides = list(set_ or [])
    if frequency is not None:
        if frequency not in ("month", "year"):
            _fail(InputError(f"--frequency {frequency!r} is not allowed", field="--frequency",
                             allowed="month, year"), 2)
        overrides.append(f"output.frequency={frequency}")
    with _user_errors():
        scen = _load(scenario, overrides)
        chosen_years = _years(years, scen.start_year, scen.end_year)
        target = out or Path("results") / (
            f"{scen.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
        _check_out(target, overwrite)
        _check_memory(scen, members)
        _note_members(scen, members)
        steps = 12 * (scen.end_year - scen.start_year + 1)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} months"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task(f"{scen.name} x{members}", total=steps)
            result = simulate(scen, members=members, seed=seed,
                              progress=lambda done: bar.update(task, completed=done))
        records = summary_records(result.dataset, chosen_years)
        claims = system_claims(result.dataset)
        effects = None
        other = counterfactual(scen)
        if other is not None:
            free = simulate(other, members=members, seed=seed)
            effects = regime_effects(result.dataset, free.dataset)
        extra = {"summary.csv": to_csv(records), "claims.csv": claims_csv(claims, effects),
                 "scenario.yaml": scenario_yaml(scen)}
        if report:
            extra |= run_report(result, claims_frame(claims, effects))
        written = result.write(target, extra_files=extra, overwrite=overwrite)
        _record_run(result, written)
    if not quiet:
        render(records, console)
        render_claims(claims, effects, console)
    m = result.manifest
    console.print(f"[green]wrote[/] {written}/results.nc, manifest.json, summary.csv, claims.csv"
                  f"{', report.html' if report else ''}  (scenario {m['scenario']} "
                  f"{m['scenario_hash']}, data {m['data_version']}, seed {m['seed']}, "
                  f"members {m['members']})")
    from reesim.ensemble.catalog import listing_hint

    if hint := listing_hint(written):
        console.print(hint, highlight=False)


_UNRECORDED: set[Path] = set()
"""Folders written but not yet recorded in the run catalog (said if a signal stops the run)."""


def _record_run(result, written: Path) -> None:
    """Record a finished run in the run catalog (a warning, not a failure, if it is busy)."""
    from reesim.ensemble.catalog import record_run

    _UNRECORDED.add(written)
    try:
        record_run(result.manifest, written)
    except ReesimError as exc:
        err_console.print(f"[bold yellow]warning:[/] run not recorded in the catalog: {exc}")
        return
    _UNRECORDED.discard(written)


def _years(text: str | None, first: int, last: int) -> tuple[int, ...]:
    """Parse ``--years`` (comma-separated years within the run) or return the default years.

    A year given twice is shown once (in the order first given).
    """
    from reesim.report.summary import DEFAULT_YEARS

    if text is None:
        return tuple(y for y in DEFAULT_YEARS if first <= y <= last) or (first, last)
    try:
        chosen = tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise InputError(f"--years {text!r} must be comma-separated years", field="--years",
                         allowed="e.g. 2010,2011,2020") from None
    if not chosen:
        raise InputError("--years is empty", field="--years", allowed="e.g. 2010,2011,2020")
    outside = [y for y in chosen if not first <= y <= last]
    if outside:
        raise InputError(f"--years {', '.join(map(str, outside))} outside the run "
                         f"{first}-{last}", field="--years", allowed=f"years {first}..{last}")
    return chosen


def _check_memory(scen, members: int) -> None:
    """Refuse before running if the run and its counterfactual (if any) would not fit."""
    from reesim.api import check_memory
    from reesim.report.claims import counterfactual

    other = counterfactual(scen)
    check_memory(scen, members, also=[other] if other is not None else [])


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
    from reesim.api import scenario_yaml
    console.print(scenario_yaml(scen), highlight=False, markup=False)


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
    members: MembersOpt = 1,
    seed: SeedOpt = None,
    out: Annotated[Path | None, typer.Option(
        help="Output folder (default: results/validation-<scenario>-<timestamp>).")] = None,
    overwrite: OverwriteOpt = False,
    train_until: TrainUntilOpt = None,
    quick: QuickFitOpt = False,
) -> None:
    """Run a scenario and compare it with the record (volumes to 2025, prices to 2020).

    The run keeps the scenario's years (extended to 2026 if it ends earlier); prints and writes
    the metrics (validation.html, validation.csv), the 2016-2025 targets (targets.csv), the
    same series before them (history_volumes.csv, 2005-2015), the outlook vs baseline table
    (outlooks.csv) and the outlooks' spread as growth rates (outlook_envelope.csv). The
    objective is the calibration's (record to 2025). With --train-until YEAR it is a backtest:
    the scenario is first calibrated on the record up to YEAR (--quick: the smoke-test fit), and
    the fitted run is scored in and out of sample (backtest.csv).
    """
    from reesim.api import simulate
    from reesim.calibration.backtest import backtest_table
    from reesim.calibration.step_check import (
        REFINEMENT_SUBSTEPS,
        STEP_CHECK_END_YEAR,
        step_check_table,
        step_convergence,
        step_refinement,
        substep_runs,
    )
    from reesim.cli_backtest import fit_window, print_backtest
    from reesim.cli_record import print_record_tables
    from reesim.report.claims import claims_frame, counterfactual, regime_effects, system_claims
    from reesim.report.render import render_claims, render_validation
    from reesim.validation import compute_metrics, load_observations, objective, write_report
    from reesim.validation.observations import RECORD_END_YEAR, TRAIN_END_YEAR
    from reesim.validation.record import record_tables

    # a backtest fits from the scenario without its calibration file: values fitted to the whole
    # record seeded the search and bounded it (never worse than its start) until 2026-12-08
    calibrated = train_until is None
    with _user_errors():
        with _held_logs("reesim.scenario") as held:     # its years may be extended below
            scen = _load(scenario, set_, calibrated)
        overrides = list(set_ or [])
        if scen.start_year > RECORD_END_YEAR:
            raise InputError(f"scenario {scen.name} starts in {scen.start_year}, after the "
                             f"record (volumes to {RECORD_END_YEAR}): nothing to validate",
                             field="start_year", allowed=f"<= {RECORD_END_YEAR}")
        if scen.end_year <= RECORD_END_YEAR:
            overrides.append(f"end_year={RECORD_END_YEAR + 1}")
            scen = _load(scenario, overrides, calibrated)
        else:
            for record in held:
                logging.getLogger(record.name).handle(record)
        target = out or Path("results") / (
            f"validation-{scen.name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
        _check_out(target, overwrite)
        _check_memory(scen, members)
        _note_members(scen, members)
        if train_until is not None:   # a backtest: fit on the record to train_until first
            scen, fitted = fit_window(scen, train_until, quick, seed, err_console)
        steps = 12 * (scen.end_year - scen.start_year + 1)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} months"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task(f"{scen.name} x{members}", total=steps)
            result = simulate(scen, members=members, seed=seed,
                              progress=lambda done: bar.update(task, completed=done))
        record = load_observations(RECORD_END_YEAR)
        metrics = compute_metrics(result.dataset, record)
        tables = record_tables(result.dataset, record)
        window = TRAIN_END_YEAR if train_until is None else train_until
        window_metrics = metrics if window == RECORD_END_YEAR else compute_metrics(
            result.dataset, load_observations(window))    # the record up to the fit's window
        fit = objective(window_metrics)
        if train_until is not None:
            tables["backtest"] = (f"Backtest: fitted to {train_until}, in sample vs out of "
                                  "sample", backtest_table(result.dataset, train_until,
                                                           fitted.weights, record,
                                                           inside=window_metrics))
        n = scen.market.substeps
        runs = substep_runs(scen, None, tuple(sorted({*REFINEMENT_SUBSTEPS, n, 2 * n})))
        # the refinement's table is of REFINEMENT_SUBSTEPS; the check is of n and 2n
        step = step_convergence(scen, runs=runs)    # n and 2n sub-steps, as calibrations do
        tables["step_check"] = (f"Time step: {n} against {2 * n} market sub-steps a month, to "
                                f"{STEP_CHECK_END_YEAR}", step_check_table(step))
        refinement = step_refinement(scen, runs=runs)   # how far from the finest
        tables["step_refinement"] = ("Time step refined: "
                                     f"{', '.join(map(str, REFINEMENT_SUBSTEPS))} market "
                                     f"sub-steps a month (the run: {n}), to "
                                     f"{STEP_CHECK_END_YEAR}", refinement)
        claims = system_claims(result.dataset)
        effects = None
        other = counterfactual(scen)
        if other is not None:
            effects = regime_effects(result.dataset,
                                     simulate(other, members=members, seed=seed).dataset)
        written = write_report(result.dataset, metrics, target,
                               observations=record,
                               title=f"reesim validation: {scen.name} vs the record",
                               claims=claims_frame(claims, effects), tables=tables,
                               overwrite=overwrite)

    render_validation(metrics, scen.name, members, console)
    print_record_tables(console, tables)
    console.print(f"time step ({'converged' if step.converged else 'NOT CONVERGED'}): "
                  f"{step.describe()}", highlight=False)
    finest = refinement[(refinement.comparison == "against the finest")
                        & (refinement.substeps == scen.market.substeps)]
    for row in finest.itertuples():     # none when the run's own step is among the finest
        console.print(f"  against {int(row.against)} sub-steps the run's observed price paths "
                      f"stand up to {row.path_gap:.0%} away ({row.path_at}), 90% of their "
                      f"years within {row.path_p90:.1%} and {row.paths_over_5pct:.1%} beyond "
                      f"5%; its volumes {row.volume_gap:.1%} (step_refinement.csv)",
                      highlight=False)
    render_claims(claims, effects, console)
    if train_until is not None:
        print_backtest(console, tables["backtest"][1], train_until, fitted)
    console.print(f"objective (calibration window to {window}, weighted misfit, lower is "
                  f"better): {fit:.4g}")
    if fit == float("inf"):
        console.print("  (inf: " + _why_infinite(window_metrics, scen.output.frequency) + ")",
                      highlight=False)
    console.print(f"[green]wrote[/] {written}/validation.html, validation.csv, claims.csv, "
                  + ", ".join(f"{name}.csv" for name in tables))


def _why_infinite(metrics, frequency: str) -> str:
    """Say which weighted terms are not finite (and why, when the cause is known)."""
    from reesim.validation import OBJECTIVE_WEIGHTS
    from reesim.validation.metrics import OBJECTIVE_TERMS, series_family

    terms = metrics[metrics.metric.isin(OBJECTIVE_TERMS) & (metrics.n > 0)]
    bad = terms[~terms.value.astype(float).map(lambda v: v == v and abs(v) != float("inf"))]
    bad = bad[bad.series.map(lambda s: OBJECTIVE_WEIGHTS.get(series_family(str(s)), 0) != 0)]
    names = sorted({f"{r.series} {r.metric}" for r in bad.itertuples()})
    reason = ""
    if frequency == "year" and any(n.startswith("spike") for n in names):
        reason = ("; annual records cannot resolve the month of the 2011 peak: run with "
                  "--set output.frequency=month for a finite objective")
    listed = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return f"not finite: {listed or 'a weighted term'}{reason}"


def _weights(items: list[str] | None) -> dict[str, float]:
    """Parse ``--weight family=value`` options against the objective's families."""
    from reesim.validation import OBJECTIVE_WEIGHTS

    out: dict[str, float] = {}
    for item in items or []:
        family, sep, raw = item.partition("=")
        family = family.strip()
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not sep or family not in OBJECTIVE_WEIGHTS:
            raise InputError(f"--weight {item!r} must be family=value with a known family",
                             field="--weight", allowed=", ".join(OBJECTIVE_WEIGHTS))
        if not (value == value and 0.0 <= value <= 100.0):
            raise InputError(f"--weight {item!r}: the weight must be a number from 0 to 100",
                             field="--weight", allowed="0..100")
        out[family] = value
    return out


def _recorded_objective(path: Path) -> tuple[tuple[bool, float], tuple] | None:
    """The rank of the fit recorded in an existing calibration file and what it was measured on.

    Returns ((not converged, objective), (scenario hash, data digest, weights, code version)) or
    None if unreadable; a file without a step check counts as not converged. Two fits are
    comparable only on the same scenario, data, weights and code: a model change makes the
    recorded objective a different measurement.
    """
    try:
        fit = yaml.safe_load(path.read_text(encoding="utf-8"))["fit"]
        converged = bool((fit.get("step_check") or {}).get("converged", False))
        return fit_rank(converged, float(fit["objective"]["value"])), (
            fit["scenario_hash"], fit["data_digest"], dict(fit["objective"]["weights"]),
            fit.get("code_version", ""))
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError):
        return None


def fit_rank(converged: bool, objective: float) -> tuple[bool, float]:
    """A fit's rank for the overwrite guard, lower is better: (not converged, objective)."""
    return not converged, objective


def better_recorded_fit(recorded: tuple[bool, float], new: tuple[bool, float]) -> bool:
    """Whether the recorded fit's rank (not converged, objective) beats the new one's.

    A fit that converges in the time step beats one that does not, whatever their objectives;
    between two alike the lower objective wins.
    """
    return recorded < new


@app.command()
def calibrate(
    out: Annotated[Path, typer.Option(
        help="Calibration file to write (YAML). The built-in baotou scenario reads "
             "src/reesim/scenarios/calibrations/baotou.yaml.")],
    scenario: ScenarioArg = "baotou",
    set_: SetOpt = None,
    seed: Annotated[int | None, typer.Option(
        min=0, max=2**63 - 1, help="Seed of the optimizer (default: the scenario's).")] = None,
    quick: Annotated[bool, typer.Option(
        help="A tiny population and two generations (a smoke test, not a fit).")] = False,
    weight: Annotated[list[str] | None, typer.Option(
        help="Weight of an objective family, e.g. --weight spike=3 (repeatable; the others "
             "keep their defaults).")] = None,
    overwrite: Annotated[bool, typer.Option(
        help="Replace an existing calibration file (only one reesim wrote; its objective is "
             "not compared: keep the better file yourself).")] = False,
    train_until: TrainUntilOpt = None,
    starts: Annotated[int, typer.Option(
        min=1, max=64, help="Independent searches (seeds SEED, SEED+1, ...); the lowest "
             "objective is the fit and every search is reported with its basin and behaviour "
             "patterns (the objective is multimodal).")] = 1,
    step_weight: Annotated[float, typer.Option(
        min=0.0, max=100.0, help="Make the searches pay this weight times the step penalty "
             "of members whose annual paths move beyond 5% (volumes) or 2% (median prices) "
             "with twice the scenario's market sub-steps a month (each generation runs twice; "
             "0: off, the "
             "step check then only filters the searches' end points).")] = 0.0,
) -> None:
    """Fit the declared free parameters to the record (to 2025) and write a calibration file.

    --train-until YEAR fits the record up to YEAR only (volumes; prices end in 2020).

    Differential evolution (scipy) over the priors of reesim.calibration.parameters, each
    generation one batched run; then a one-parameter profile of each parameter at the optimum
    (curvature and identified range). A scenario uses the file via `calibration: <file>`. A fit
    that ends worse than its starting point warns, and is never written over a calibration file
    whose recorded fit (same scenario, data, weights and code) is better: one that converges in
    the time step beats one that does not, then the lower objective wins.
    """
    from reesim.calibration import FULL, QUICK, calibration_text
    from reesim.calibration import calibrate as fit
    from reesim.cli_backtest import progress_bar, show_generation
    from reesim.output import write_file
    from reesim.report.render import render_calibration

    opts = replace(QUICK if quick else FULL, step_weight=step_weight)
    with _user_errors():
        weights = _weights(weight)
        # a fit to an earlier window starts without the calibration file's values (fitted to
        # years it must not see); a full-window fit may start from them
        scen = _load(scenario, set_, calibrated=train_until is None)
        seed = scen.seed if seed is None else seed
        _check_out(out, overwrite, file=True)
        with progress_bar(err_console) as bar:
            task = bar.add_task(f"calibrating {scen.name}", total=opts.generations * starts)
            result = fit(scen, seed=seed, quick=quick, options=opts if step_weight else None,
                         weights=weights, starts=starts,
                         progress=show_generation(bar, task, scen.name),
                         **({} if train_until is None else {"train_until": train_until}))
        command = shlex.join(["reesim", "calibrate", scenario,
                              *(w for s in set_ or [] for w in ("--set", s)),
                              "--seed", str(seed),
                              *(["--train-until", str(train_until)] if train_until else []),
                              *(["--quick"] if quick else []),
                              *(["--starts", str(starts)] if starts > 1 else []),
                              *(["--step-weight", f"{step_weight:g}"] if step_weight else []),
                              *(w for k, v in weights.items() for w in ("--weight", f"{k}={v:g}")),
                              "--out", str(out), *(["--overwrite"] if overwrite else [])])
        previous = _recorded_objective(out) if out.exists() else None
        refuse = None
        problem = (result.scenario_hash, result.data_digest, result.weights,
                   result.code_version)
        rank = fit_rank(result.step_check is not None and result.step_check.converged,
                        result.objective)
        if previous is not None and previous[1] == problem and better_recorded_fit(
                previous[0], rank):
            refuse = (f"not written: the new fit (objective {result.objective:.6g}"
                      f"{'' if not rank[0] else ', not converging in the time step'}) is worse "
                      f"than the one recorded in {out} (objective {previous[0][1]:.6g}"
                      f"{'' if not previous[0][0] else ', not converging'}) for the same "
                      "scenario, data, weights and code; that file is kept")
        if refuse is None:
            written = write_file(out, calibration_text(result, command), overwrite=overwrite)
    render_calibration(result, quick, console, err_console)
    if refuse is not None:
        _fail(ReesimError(refuse), 1)
    console.print(f"[green]wrote[/] {written}")


from reesim.cli_ensemble import register as _register_ensemble  # noqa: E402

_register_ensemble(app)

from reesim.cli_visual import register  # noqa: E402  (report, compare, dashboard)

register(app)

from reesim.cli_attribute import register as _register_attribute  # noqa: E402

_register_attribute(app)
reflow_help(app)     # after every command is registered


def main() -> None:
    """Entry point of the ``reesim`` console script: signals and unexpected errors handled.

    The process ends by :func:`_hard_exit` once the command is done (its files closed, its
    output flushed), skipping the interpreter's teardown of numba's, pandas' and xarray's
    modules: 0.3-0.4 s of a fresh ``reesim run``'s 2.5 s (measured 2026-12-07). A crash in
    compiled code (a segmentation fault) prints Python's stack first (:mod:`faulthandler`): one
    was seen once under SIGTERM, in a full test run on 2026-12-08, and could not be reproduced.
    """
    import faulthandler

    faulthandler.enable()
    try:
        _main()
    except SystemExit as exc:
        _hard_exit(exc.code)
    _hard_exit(0)


def _hard_exit(code: object) -> None:
    """Flush, run the ``atexit`` handlers, then end the process without the module teardown.

    What mypy does for the same reason (``mypy.util.hard_exit``). ``code`` as ``sys.exit``
    takes it: None is 0, an integer the status, anything else printed with status 1.
    """
    import atexit
    import logging

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()        # e.g. logging's shutdown and any library's cleanup
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be written
            pass
    os._exit(code or 0)


def _main() -> None:
    """Run the command line application (raises ``SystemExit`` with its status)."""
    from reesim.output import Interrupted, forget_written, install_signal_handlers, release_hold

    install_signal_handlers()
    forget_written()        # an interruption names only what this command wrote
    try:
        release_hold()
        app()
    except Interrupted as exc:
        _exit_interrupted(exc)
    except KeyboardInterrupt:     # before the handlers were installed
        _quiet_print("interrupted; nothing was written")
        sys.exit(130)
    except Exception as exc:      # a bug: one line, no traceback (unless asked for)
        interrupted = _interruption(exc)
        if interrupted is not None:
            _exit_interrupted(interrupted)
        if os.environ.get("REESIM_TRACEBACK"):
            raise
        _quiet_print(f"error: internal error ({type(exc).__name__}: {exc}); nothing was "
                     "written. Please report it with the command you ran "
                     "(REESIM_TRACEBACK=1 shows the traceback)")
        sys.exit(1)


def _interruption(exc: BaseException) -> BaseException | None:
    """The ``Interrupted`` a signal raised, if ``exc`` carries one in its chain.

    A signal that lands while a compiled (numba) kernel returns surfaces as ``SystemError: ...
    returned a result with an exception set``, with the ``Interrupted`` as its cause: it is
    the interruption, not an internal error. So is an error saying it was interrupted while a
    signal is pending (DuckDB turns the signal into ``RuntimeError: Query interrupted``).
    """
    from reesim.output import Interrupted, pending_signal

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, Interrupted):
            return current
        if pending_signal() is not None and "interrupted" in str(current).lower():
            return Interrupted(pending_signal())    # e.g. DuckDB's "Query interrupted"
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _exit_interrupted(exc: BaseException) -> None:
    """Say the run was interrupted or terminated and exit with 128 + the signal number."""
    signum = getattr(exc, "signum", signal.SIGINT)
    what = "interrupted" if signum == signal.SIGINT else "terminated"
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not interrupt
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the exit with a traceback
    _quiet_print(_interrupted_message(what))
    sys.exit(128 + int(signum))


def _interrupted_message(what: str) -> str:
    """What an interruption leaves: nothing, or the outputs completed before the signal."""
    from reesim.output import written

    done = [path for path in written() if path.exists()]
    if not done:
        return f"{what}; nothing was written"
    text = f"{what} after writing {', '.join(map(str, done))}"
    if any(path in _UNRECORDED for path in done):
        text += "; it was not recorded in the catalog (`reesim runs` will not list it)"
    return text


def _quiet_print(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    main()
