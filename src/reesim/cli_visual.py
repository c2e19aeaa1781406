"""The visual commands of the CLI: ``reesim report``, ``reesim compare``, ``reesim dashboard``.

Registered on the main app by :func:`register`; like the rest of the CLI, user errors print
one screen and exit with code 2.
"""

from __future__ import annotations

import math
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from reesim.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from reesim.results import Result

DASHBOARD_APP = Path(__file__).parent / "dashboard" / "app.py"


def run_report(result: Result, claims: pd.DataFrame | None) -> dict[str, str]:
    """The ``report.html`` of ``reesim run --report``, as a file of the run's folder.

    Written with the results in one atomic folder write, so the report always belongs to the
    results beside it and is listed among reesim's files there (replaced on ``--overwrite``).
    """
    from reesim.report.html import REPORT_NAME, report_html

    return {REPORT_NAME: report_html(result.dataset, result.manifest, result.scenario, claims)}


def _fmt(value: float) -> str:
    """Four significant figures with thousands separators; never cut (NaN as '-')."""
    if not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    digits = max(0, 3 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


def _pct(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:+.0f}%"


def _spread(rec: dict, label: str, base: str) -> str:
    """A paired run's per-member effect: median [p10, p90], in % (pp for shares)."""
    if rec["unit"] == "%":
        cells = [rec[f"{label} - {base}, paired p{q}"] for q in (50, 10, 90)]
        text = ["-" if not math.isfinite(v) else f"{v:+.1f}" for v in cells]
        return f"{text[0]} pp [{text[1]}, {text[2]}]"
    cells = [rec[f"{label} vs {base}, paired p{q} %"] for q in (50, 10, 90)]
    text = ["-" if not math.isfinite(v) else f"{v:+.1f}%" for v in cells]
    return f"{text[0]} [{text[1]}, {text[2]}]"


def render_comparison(table: pd.DataFrame, labels: list[str], console: Console) -> None:
    """Print the comparison as one table: a row per indicator and year, a column per run.

    Runs after the first show their value and the difference to the first (in %, or in
    percentage points for shares); a run paired with the first (:func:`reesim.compare.paired`)
    also its per-member effect, median [10th, 90th percentile]. Numbers are never cut: the
    indicator column wraps instead.
    """
    base = labels[0]
    paired = [label for label in labels[1:]
              if f"{label} - {base}, paired p50" in table.columns]
    title = f"Key indicators (annual; ensembles: medians), differences to {base}"
    if paired:
        title += ("; paired ensembles: the per-member difference, median [10th, 90th "
                  "percentile]")
    out = Table(title=title, title_justify="left", show_lines=False, pad_edge=False)
    out.add_column("indicator, unit", overflow="fold", ratio=1, min_width=14)
    out.add_column("year", no_wrap=True)
    for label in labels:
        out.add_column(label, justify="right", no_wrap=False, overflow="fold")
    last = None
    for rec in table.to_dict("records"):
        name = f"{rec['indicator']}, {rec['unit']}"
        cells = [_fmt(rec[base])]
        for label in labels[1:]:
            if rec["unit"] == "%":        # shares: the difference in percentage points
                change = rec[f"{label} - {base}"]
                diff = "-" if not math.isfinite(change) else f"{change:+.1f} pp"
            else:
                diff = _pct(rec[f"{label} vs {base} %"])
            if label in paired:
                diff += "; paired " + _spread(rec, label, base)
            cells.append(f"{_fmt(rec[label])} ({diff})")
        out.add_row(name if name != last else "", str(rec["year"]), *cells,
                    end_section=False)
        last = name
    console.print(out)


def compared_years(loaded: list, years: str | None, default: tuple[int, ...],
                   parse) -> tuple[int, ...]:
    """The years a comparison shows: ``--years`` (parsed by ``parse``) or the default years.

    Only years every run covers count. Default years outside them give way to the first and
    last shared year (as ``reesim run``'s defaults do); runs sharing no year are refused.
    """
    spans = [(r.label, int(r.dataset.time.dt.year.min()), int(r.dataset.time.dt.year.max()))
             for r in loaded]
    first, last = max(s[1] for s in spans), min(s[2] for s in spans)
    if first > last:
        raise InputError("the runs share no year: " + ", ".join(
            f"{label!r} covers {lo}-{hi}" for label, lo, hi in spans), field="RUNS",
            allowed="runs or scenarios whose years overlap")
    if years:
        return parse(years, first, last)
    return tuple(y for y in default if first <= y <= last) or tuple(dict.fromkeys((first, last)))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dashboard_command(port: int | None = None) -> list[str]:
    """The Streamlit command line of the dashboard: 127.0.0.1 only, headless, no telemetry."""
    return [sys.executable, "-m", "streamlit", "run", str(DASHBOARD_APP),
            "--server.address", "127.0.0.1", "--server.port", str(port or _free_port()),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--global.developmentMode", "false",
            "--server.maxUploadSize", "1", "--client.showErrorDetails", "false",
            "--client.toolbarMode", "minimal"]


def register(app: typer.Typer) -> None:
    """Add the report, compare and dashboard commands to the ``reesim`` app."""

    @app.command()
    def report(
        run_dir: Annotated[Path, typer.Argument(help="A run folder written by `reesim run`.")],
        out: Annotated[Path | None, typer.Option(
            help="HTML file to write (default: RUN_DIR/report.html).")] = None,
        static: Annotated[str | None, typer.Option(
            help="Also write each figure as 'png' or 'svg' (through kaleido) into the folder "
                 "<report name>-figures beside the report.")] = None,
        overwrite: Annotated[bool, typer.Option(
            help="Replace a report (and figures) reesim wrote before.")] = False,
    ) -> None:
        """Write a self-contained HTML report of a run (opens with no network)."""
        from reesim.cli import _user_errors, console
        from reesim.report.html import REPORT_NAME, load_run, write_report

        with _user_errors():
            run = load_run(run_dir)
            path = write_report(run.dataset, out or run.folder / REPORT_NAME, run.manifest,
                                run.scenario, run.claims, static=static, overwrite=overwrite)
        console.print(f"[green]wrote[/] {path}"
                      + (f" and one {static} per figure in {path.parent / path.stem}-figures"
                         if static else ""))

    @app.command()
    def compare(
        runs: Annotated[list[str], typer.Argument(
            help="Two or more run folders or scenarios (built-in names or YAML paths); the "
                 "first is the base.")],
        years: Annotated[str | None, typer.Option(
            help="Years compared, comma-separated (default 2011,2020,2030,2050).")] = None,
        members: Annotated[int, typer.Option(
            min=1, max=100_000, help="Members for scenarios that are run.")] = 1,
        seed: Annotated[int | None, typer.Option(min=0, help="Seed for scenarios run.")] = None,
        all_indicators: Annotated[bool, typer.Option(
            "--all", help="Every indicator of the run summary, not only the key ones.")] = False,
        out: Annotated[Path | None, typer.Option(
            help="Folder for compare.html and compare.csv (default: "
                 "results/compare-<timestamp>).")] = None,
        overwrite: Annotated[bool, typer.Option(
            help="Replace a comparison reesim wrote before in --out.")] = False,
    ) -> None:
        """Compare runs or scenarios: indicator tables (absolute and %) and overlaid charts."""
        from reesim.cli import _user_errors, _years, console, err_console
        from reesim.compare import (
            DEFAULT_YEARS,
            KEY_INDICATORS,
            comparison_html,
            comparison_table,
            load_runs,
        )
        from reesim.output import check_folder, write_folder

        with _user_errors():
            folder = out or Path("results") / f"compare-{datetime.now():%Y%m%d-%H%M%S}"
            check_folder(folder, overwrite)
            loaded = load_runs(runs, members=members, seed=seed,
                               progress=lambda name: err_console.print(f"running {name}..."))
            chosen = compared_years(loaded, years, DEFAULT_YEARS, _years)
            table = comparison_table(loaded, chosen, "all" if all_indicators else KEY_INDICATORS)
            write_folder(folder, {
                "compare.csv": table.to_csv(index=False, float_format="%.6g"),
                "compare.html": comparison_html(loaded, table)}, command="compare",
                overwrite=overwrite)
        render_comparison(table, [r.label for r in loaded], console)
        console.print(f"[green]wrote[/] {folder}/compare.html, compare.csv")

    @app.command()
    def dashboard(
        port: Annotated[int | None, typer.Option(
            min=1024, max=65535, help="Port on 127.0.0.1 (default: a free one).")] = None,
    ) -> None:
        """Start the web explorer (Streamlit) on 127.0.0.1; Ctrl-C stops it."""
        from reesim.cli import console, err_console

        try:
            import streamlit  # noqa: F401
        except ImportError:
            err_console.print("[bold red]error:[/] the dashboard needs streamlit "
                              "(pip install streamlit)")
            raise typer.Exit(2) from None
        cmd = dashboard_command(port)
        console.print(f"dashboard on http://127.0.0.1:{cmd[cmd.index('--server.port') + 1]} "
                      "(Ctrl-C stops it)")
        try:
            code = subprocess.call(cmd)
        except KeyboardInterrupt:
            code = 0
        raise typer.Exit(code)
