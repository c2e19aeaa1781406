"""The command line's shared arguments and options, one definition for every command."""

from __future__ import annotations

import inspect
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


def reflow_help(app: typer.Typer) -> None:
    """Give every command of ``app`` its docstring as help with paragraphs reflowed.

    Typer (0.29) keeps the single line breaks of a docstring's later paragraphs, so a
    docstring wrapped at 99 columns printed as ragged half-lines in an 80-column terminal.
    Each paragraph becomes one line that the terminal wraps; list items ("- ") keep a line
    each. Set once, after every command is registered.
    """
    for info in app.registered_commands:
        doc = info.help or (info.callback.__doc__ if info.callback else None)
        if doc:
            info.help = reflowed(inspect.cleandoc(doc))


def reflowed(text: str) -> str:
    """``text`` with each paragraph's lines joined by spaces (list items kept on their lines)."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        if paragraph.startswith("\b"):          # click's marker: keep as written
            paragraphs.append(paragraph)
            continue
        items: list[str] = []
        for line in paragraph.splitlines():
            stripped = line.strip()
            if not items or stripped.startswith(("- ", "* ")):
                items.append(stripped)
            else:
                items[-1] += " " + stripped
        paragraphs.append("\n".join(items))
    return "\n\n".join(paragraphs)
