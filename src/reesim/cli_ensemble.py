"""CLI commands for ensembles: ``ensemble``, ``sensitivity``, ``discover``, ``runs``, ``export``.

Registered on the main app by :func:`register`; heavy imports (Dask, SALib, the EMA Workbench,
DuckDB) happen inside the commands.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from reesim.cli_options import ScenarioArg, SetOpt

MAX_ROWS_SHOWN = 200
"""Rows ``reesim runs`` prints at most (the title says when there are more)."""
RunArg = Annotated[Path, typer.Argument(help="An ensemble folder (or a run folder for export).")]


def ensemble(
    scenario: ScenarioArg = "baotou-xlrm",
    samples: Annotated[int, typer.Option(help="LHS rows, Sobol base sample (a power of 2), Morris "
                                              "trajectories or factorial levels.")] = 64,
    design: Annotated[str, typer.Option(help="lhs, sobol, morris or full-factorial.")] = "lhs",
    set_: SetOpt = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Design seed (default: scenario's).")]
    = None,
    keep: Annotated[str, typer.Option(help="Variables stored in full (Zarr), comma-separated.")]
    = "",
    out: Annotated[Path | None, typer.Option(
        help="Ensemble folder (default: results/ensemble-<scenario>-<design><samples>-seed<seed>-"
             "<scenario hash>, so rerunning the same command resumes it).")] = None,
    chunk_size: Annotated[int | None, typer.Option(min=1, help="Members per chunk.")] = None,
    frequency: Annotated[str, typer.Option(help="Record 'year' (default) or 'month'.")]
    = "year",
    workers: Annotated[int | None, typer.Option(min=1, help="LocalCluster workers "
                                                            "(default: one per core).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (default: DASK_SCHEDULER_ADDRESS or a LocalCluster).")]
    = None,
) -> None:
    """Run an XLRM ensemble on Dask: outcomes.parquet (+ kept.zarr), resumable by rerunning."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from reesim.cli import _load, _user_errors, console, err_console
    from reesim.ensemble.api import run_ensemble
    from reesim.output import Interrupted

    with _user_errors():
        scen = _load(scenario, set_)
        target = out or default_folder(scen, design, samples, seed)
        kept = [k.strip() for k in keep.split(",") if k.strip()]
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} members"), TimeElapsedColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task(f"{scen.name} {design}", total=None)
            try:
                report = run_ensemble(
                    scen, target, design=design, samples=samples, seed=seed, keep=kept,
                    chunk_size=chunk_size, workers=workers, scheduler=scheduler,
                    frequency=frequency,
                    progress=lambda d, n: bar.update(task, completed=d, total=n))
            except (KeyboardInterrupt, Interrupted) as exc:
                code = exc.exit_code if isinstance(exc, Interrupted) else 130
                what = "terminated" if code == 143 else "interrupted"
                err_console.print(f"{what}; finished chunks are kept in {target}: rerun "
                                  "the same command to resume")
                raise typer.Exit(code) from None
    rate = report.members / report.seconds if report.seconds else float("nan")
    console.print(f"[green]wrote[/] {report.out}/outcomes.parquet"
                  f"{', kept.zarr' if kept else ''}: {report.members} members, "
                  f"{report.computed_chunks} chunks computed, {report.skipped_chunks} already "
                  f"done, {report.seconds:.1f} s ({rate:.1f} members/s)")
    from reesim.ensemble.catalog import listing_hint

    if hint := listing_hint(report.out):
        console.print(hint, highlight=False)


def default_folder(scenario, design: str, samples: int, seed: int | None) -> Path:
    """The default ensemble folder: a function of the command, so a rerun resumes the run."""
    from reesim.scenario import scenario_hash

    seed = scenario.seed if seed is None else seed
    return Path("results") / (f"ensemble-{scenario.name}-{design}{samples}-seed{seed}-"
                              f"{scenario_hash(scenario)}")


def sensitivity(
    run: RunArg,
    outcome: Annotated[list[str] | None, typer.Option(help="Outcome(s) (default: all).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the bootstrap.")] = 0,
    policy: Annotated[int | None, typer.Option(help="Only this policy (lever combination).")]
    = None,
    versus: Annotated[int | None, typer.Option(
        help="With --policy: the indices of the effect of --policy against this policy (its "
             "outcome less this one's, future by future).")] = None,
    percent: Annotated[bool, typer.Option(
        "--percent", help="With --versus: the effect in % of this policy's outcome.")] = False,
) -> None:
    """Sobol or Morris indices (SALib) with 95% CIs; writes sensitivity.csv and .html."""
    from reesim.cli import _user_errors, console
    from reesim.ensemble.export import write_table
    from reesim.ensemble.sensitivity import analyze, chart_html
    from reesim.output import note_written, replace_atomically

    with _user_errors():
        table = analyze(run, outcome, seed=seed, policy=policy, versus=versus, percent=percent)
        stamp = _free_stamp(run, "sensitivity", datetime.now().strftime("%Y%m%d-%H%M%S"))
        page = chart_html(table, f"Sensitivity of {run.name}")
        csv = write_table(table, run / f"sensitivity-{stamp}.csv", "csv")
        html = replace_atomically(run / f"sensitivity-{stamp}.html",
                                  lambda tmp: tmp.write_text(page, encoding="utf-8"))
        note_written(html)
    view = Table(title=f"Sensitivity indices ({run.name}; conf: 95% CI half-width)",
                 title_justify="left")
    for col in ("policy", "outcome", "index", "factor", "value", "conf"):
        view.add_column(col, justify="right" if col in ("value", "conf") else "left")
    for r in table.itertuples():
        view.add_row(str(r.policy), r.outcome, r.index, r.factor, f"{r.value:.3f}",
                     f"{r.conf:.3f}" if r.conf == r.conf else "-")
    console.print(view)
    console.print(f"[green]wrote[/] {csv}, {html}")


def _free_stamp(folder: Path, prefix: str, stamp: str) -> str:
    """A stamp no ``prefix-stamp`` table or page in ``folder`` has yet.

    ``stamp``, else ``stamp-2``, ``stamp-3``...: two analyses within the same second were
    refused as existing files.
    """
    taken = {p.stem for p in folder.glob(f"{prefix}-{stamp}*")}
    candidate, n = stamp, 1
    while f"{prefix}-{candidate}" in taken:
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def discover(
    run: RunArg,
    where: Annotated[str, typer.Option(help="Cases of interest, e.g. 'dy_unmet > 100'.")],
    outcome: Annotated[str | None, typer.Option(help="The outcome (must match --where).")]
    = None,
    policy: Annotated[int | None, typer.Option(help="Only this policy (lever combination).")]
    = None,
    min_coverage: Annotated[float, typer.Option(min=0.0, max=1.0,
                                                help="Smallest coverage of the chosen box.")]
    = 0.5,
    versus: Annotated[int | None, typer.Option(
        help="With --policy: the cases are the futures where the effect of --policy against "
             "this policy (its outcome less this one's, in the same future) meets --where.")]
    = None,
    percent: Annotated[bool, typer.Option(
        "--percent", help="With --versus: the effect in % of this policy's outcome.")] = False,
) -> None:
    """PRIM scenario discovery (EMA Workbench): the box where --where holds, in words."""
    from reesim.cli import _user_errors, console
    from reesim.ensemble.discover import discover as find

    with _user_errors():
        result = find(run, where, policy=policy, min_coverage=min_coverage, versus=versus,
                      percent=percent, outcome=outcome)
    trade = Table(title="Coverage/density trade-off (peeling trajectory)", title_justify="left")
    for col in ("box", "coverage", "density", "mass", "restricted"):
        trade.add_column(col, justify="right")
    step = max(1, len(result.trajectory) // 12)
    for i, r in result.trajectory.iterrows():
        if i % step == 0 or i == result.chosen or i == len(result.trajectory) - 1:
            mark = " *" if i == result.chosen else ""
            trade.add_row(f"{i}{mark}", f"{r.coverage:.2f}", f"{r.density:.2f}",
                          f"{r.mass:.2f}", str(int(r.res_dim)))
    console.print(trade)
    limits = Table(title=f"Box {result.chosen}", title_justify="left")
    for col in ("factor", "low", "high", "range in design", "qp low", "qp high"):
        limits.add_column(col)
    for r in result.limits.itertuples():
        if r.values is not None:
            limits.add_row(r.factor, ", ".join(map(str, r.values)), "", "", "", "")
        else:
            limits.add_row(r.factor, f"{r.low:.4g}", f"{r.high:.4g}",
                           f"{r.full_low:.4g}..{r.full_high:.4g}", _qp(r.qp_low),
                           _qp(r.qp_high))
    console.print(limits)
    console.print(result.sentence, highlight=False)


def _qp(value: float) -> str:
    """A quasi-p value; the Workbench gives -1 (shown as -) for a side that is not restricted."""
    return "-" if not value == value or value < 0 else f"{value:.2g}"


def runs(
    catalog: Annotated[Path | None, typer.Option(help="Catalog file (default: REESIM_CATALOG "
                                                      "or results/catalog.duckdb).")] = None,
    scenario: Annotated[str | None, typer.Option(help="Only this scenario.")] = None,
    kind: Annotated[str | None, typer.Option(help="run or ensemble.")] = None,
    status: Annotated[str | None, typer.Option(help="running, done, failed or interrupted.")]
    = None,
    sql: Annotated[str | None, typer.Option(help="DuckDB SQL over tables runs and outcomes.")]
    = None,
) -> None:
    """List the recorded runs and ensembles, or query them (and their outcomes) with SQL."""
    from reesim.cli import _user_errors, console
    from reesim.ensemble.catalog import Catalog, listed_catalog

    path = catalog or listed_catalog()
    with _user_errors():
        book = Catalog(path)
        if sql:
            frame = book.query(sql)
        else:
            filters = {k: v for k, v in (("scenario", scenario), ("kind", kind),
                                         ("status", status)) if v}
            frame = book.runs(filters)[["run_id", "kind", "scenario", "scenario_hash", "seed",
                                        "members", "status", "started_utc", "path"]]
    shown = f"first {MAX_ROWS_SHOWN} of {len(frame)}" if len(frame) > MAX_ROWS_SHOWN else str(
        len(frame))
    console.print(f"{path} ({shown} rows)", highlight=False)   # a title would wrap to the table
    view = Table()
    for col in frame.columns:
        view.add_column(str(col), overflow="fold")
    for row in frame.head(MAX_ROWS_SHOWN).itertuples(index=False):
        view.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    console.print(view)


def export(
    run: RunArg,
    out: Annotated[Path, typer.Option(help="File to write (never overwritten).")],
    format_: Annotated[str, typer.Option("--format", help="csv, xlsx or iamc.")] = "csv",
    variable: Annotated[list[str] | None, typer.Option(
        help="Variable(s) to export (default: the outcomes of an ensemble; iamc: all).")] = None,
) -> None:
    """Export outcomes or variables as CSV or XLSX, or variables in the IAMC long format."""
    from reesim.cli import _user_errors, console
    from reesim.ensemble.export import iamc_table, open_results, variable_table, write_table
    from reesim.ensemble.runner import load_outcomes
    from reesim.errors import InputError

    with _user_errors():
        if format_ == "iamc":
            ds, name = open_results(run)
            table = iamc_table(ds, name, variable)
        elif variable:
            if len(variable) > 1:
                raise InputError("csv and xlsx export one variable at a time", field="--variable")
            ds, _ = open_results(run)
            table = variable_table(ds, variable[0])
        else:
            table = load_outcomes(run, run_hint="; export one of its variables with "
                                  "--variable NAME (or all with --format iamc)")
        written = write_table(table, out, format_)
    console.print(f"[green]wrote[/] {written} ({len(table)} rows)")


def register(app: typer.Typer) -> None:
    """Add the ensemble commands to the ``reesim`` app."""
    for command in (ensemble, sensitivity, discover, runs, export):
        app.command()(command)
