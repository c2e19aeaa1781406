"""The command line's shared arguments and options, one definition for every command."""

from __future__ import annotations

from typing import Annotated

import typer

ScenarioArg = Annotated[str, typer.Argument(help="Built-in scenario name or path to a YAML file.")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Override a scenario value, e.g. --set market.regime=free_market (repeatable).")]
OverwriteOpt = Annotated[bool, typer.Option(
    help="Replace a previous reesim result at --out (only reesim's own files in it).")]
MembersOpt = Annotated[int, typer.Option(min=1, max=100_000, help="Ensemble members.")]
SeedOpt = Annotated[int | None, typer.Option(
    min=0, max=2**63 - 1, help="Seed (default: the scenario's).")]
