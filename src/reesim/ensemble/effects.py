"""A lever's effect future by future: one policy's outcomes less another's in the same future.

Every policy (lever combination) of an XLRM ensemble meets every future of its design (member
``m`` is policy ``m // futures`` under future ``m % futures``), so the difference of two
policies' outcomes in one future is the effect of switching between them there. Scenario
discovery (:mod:`reesim.ensemble.discover`) and sensitivity (:mod:`reesim.ensemble.
sensitivity`) read it to ask where a lever works and what decides how much.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reesim.errors import InputError


def policy_effects(table: pd.DataFrame, outcomes: list[str], policy: int, versus: int,
                   percent: bool = False) -> pd.DataFrame:
    """Each future's outcomes under ``policy`` less those under ``versus``, one row a future.

    The rows keep ``policy``'s design columns (a future's factor values are the same under
    every policy); ``percent`` gives ``100 (policy / versus - 1)`` (NaN where ``versus`` is 0).
    """
    mine = _policy(table, policy, "--policy").set_index("future").sort_index()
    base = _policy(table, versus, "--versus").set_index("future").sort_index()
    if policy == versus:
        raise InputError("--policy and --versus are the same policy", field="--versus")
    if not mine.index.equals(base.index):
        raise InputError("the two policies do not meet the same futures", field="--versus")
    effect = mine.copy()
    a, b = mine[outcomes].to_numpy(float), base[outcomes].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        effect[outcomes] = np.where(b != 0, 100 * (a / b - 1), np.nan) if percent else a - b
    return effect.reset_index()


def policy_rows(table: pd.DataFrame, outcomes: list[str], policy: int | None,
                versus: int | None, percent: bool = False) -> pd.DataFrame:
    """The rows an analysis reads: all, one ``policy``'s, or its effect against ``versus``.

    The command-line rules in one place: ``versus`` needs ``policy`` and ``percent`` needs
    ``versus`` (:class:`InputError` otherwise, naming the option).
    """
    if versus is not None:
        if policy is None:
            raise InputError("--versus compares a --policy with another: give --policy too",
                             field="--versus")
        return policy_effects(table, outcomes, policy, versus, percent)
    if percent:
        raise InputError("--percent is the effect in %: give --policy and --versus",
                         field="--percent")
    if policy is None:
        return table
    return _policy(table, policy, "--policy")


def _policy(table: pd.DataFrame, policy: int, option: str) -> pd.DataFrame:
    """``policy``'s rows of ``table``; an :class:`InputError` naming ``option`` if it has none."""
    chosen = table[table["policy"] == policy]
    if chosen.empty:
        raise InputError(f"no policy {policy}", field=option,
                         allowed=", ".join(str(p) for p in sorted(table["policy"].unique())))
    return chosen


def missing_values_hint(percent: bool, versus: int | None) -> str:
    """Why an effect has missing values, for an error message ('' unless in %)."""
    if not percent:
        return ""
    return (f" (its effect in % is undefined where policy {versus}'s value is 0: drop "
            "--percent for the absolute effect)")
