"""Scenario discovery: PRIM boxes (the EMA Workbench's implementation) in words.

"Under which conditions does X happen?": the cases of interest are the members whose outcome
meets ``--where`` (e.g. ``dy_unmet_demand_2025_2040 > 100``); PRIM peels the space of the
design's factors and levers into a box that holds many of them (coverage) and few others
(density). The trajectory of the peeling is the coverage/density trade-off; the chosen box is
the densest one that still covers ``min_coverage`` of the cases, and its limits are rendered in
words, citing only the limits PRIM finds significant (quasi-p value below 0.05).

"Under which conditions does a lever fail (or work)?": with ``policy`` and ``versus`` the cases
are the futures where the lever's *effect* meets ``--where``: the outcome under ``policy`` less
the outcome under ``versus`` in the same future (every policy of an XLRM ensemble meets every
future; ``percent``: ``100 (policy / versus - 1)``), and PRIM peels the space of the futures'
factors alone.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reesim.ensemble.effects import missing_values_hint, policy_rows
from reesim.ensemble.runner import load_outcomes, read_spec
from reesim.errors import InputError

log = logging.getLogger("reesim.ensemble.discover")

_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(>=|<=|>|<)\s*"
                        r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_FORM = "OUTCOME OP NUMBER, e.g. 'dy_unmet_demand_2025_2040 > 100' (OP: >, >=, <, <=)"
SIGNIFICANT_QP = 0.05
_ANY = 1e-9
"""The Workbench's threshold both marks cases of interest (y >= it, so any value in (0, 1]
works for 0/1 cases) and is the box mean a box must reach to be kept: a tiny value keeps the
box, and the density trade-off is chosen from the trajectory here."""


@dataclass
class Discovery:
    """A PRIM result: the trade-off, the chosen box, its limits and its sentence."""

    condition: str
    cases: int
    members: int
    trajectory: pd.DataFrame
    chosen: int
    limits: pd.DataFrame
    coverage: float
    density: float
    mass: float
    sentence: str


def parse_condition(where: str, known: list[str],
                    outcome: str | None = None) -> tuple[str, str, float]:
    """``"name > 100"`` -> (name, op, value); only outcome names and finite plain numbers.

    ``outcome`` (``--outcome``), if given, must be an outcome and the one ``where`` tests.
    """
    if outcome is not None and outcome not in known:
        raise InputError(f"--outcome {outcome!r} is not an outcome of this ensemble",
                         field="--outcome", allowed=", ".join(known))
    match = _CONDITION.match(where or "")
    value = float(match.group(3)) if match else float("nan")
    if not np.isfinite(value):
        raise InputError(f"--where {where!r} must look like OUTCOME OP NUMBER with a finite "
                         "number", field="--where", allowed=_FORM)
    name, op = match.group(1), match.group(2)
    if name not in known:
        raise InputError(f"--where names unknown outcome {name!r}", field="--where",
                         allowed=", ".join(known))
    if outcome is not None and name != outcome:
        raise InputError(f"--outcome {outcome!r} is not the outcome --where {where!r} tests "
                         f"({name!r})", field="--outcome", allowed=name)
    return name, op, value


def _prim():
    with warnings.catch_warnings():        # optional extras (ipyparallel, altair) not installed
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    return prim


def discover(out: str | Path, where: str, policy: int | None = None,
             min_coverage: float = 0.5, peel_alpha: float = 0.05, versus: int | None = None,
             percent: bool = False, outcome: str | None = None) -> Discovery:
    """Find a PRIM box for the members of ``out`` that meet ``where``.

    With ``versus`` (and ``policy``) the cases are futures where the effect of ``policy``
    against ``versus`` meets ``where`` (:func:`policy_effects`; in % with ``percent``).
    ``outcome`` must then name the outcome ``where`` tests (:func:`parse_condition`).
    """
    spec = read_spec(out)
    table = load_outcomes(out)
    factors = spec["design"]["factors"]
    levers = [c for c in table.columns if c.startswith("lever.")]
    known = [c for c in table.columns if c not in ("member", "policy", "future", *factors)
             and not c.startswith(("u.", "lever."))]
    name, op, value = parse_condition(where, known, outcome)
    table = policy_rows(table, known, policy, versus, percent)
    if versus is not None:
        levers = []                            # one lever combination against another
    y_values = table[name].to_numpy(dtype=float)
    if not np.isfinite(y_values).all():
        raise InputError(f"outcome {name!r} has {int((~np.isfinite(y_values)).sum())} missing "
                         f"values{missing_values_hint(percent, versus)}", field="--where")
    cases = {">": y_values > value, ">=": y_values >= value, "<": y_values < value,
             "<=": y_values <= value}[op]
    if not 0 < cases.sum() < len(cases):
        raise InputError(f"{where!r} holds in {int(cases.sum())} of {len(cases)} members: PRIM "
                         "needs some members in and some out", field="--where")
    x = table[factors].astype(float)
    for lever in levers:
        if table[lever].nunique() > 1:
            x[lever.removeprefix("lever.")] = table[lever].astype(str).astype("category")
    x = x.reset_index(drop=True)
    prim = _prim()
    with warnings.catch_warnings():      # the Workbench's pandas deprecations, not ours
        warnings.simplefilter("ignore")
        finder = prim.Prim(x, cases.astype(int), threshold=_ANY, peel_alpha=peel_alpha,
                           mass_min=0.05)
        box = finder.find_box()
        trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].copy()
        eligible = trajectory[trajectory["coverage"] >= min_coverage]
        chosen = int(eligible["density"].idxmax()) if len(eligible) else 0
        limits = _limits(box, chosen, x)
    row = trajectory.loc[chosen]
    words = _words(limits)
    what = where if versus is None else (
        f"the effect of policy {policy} against policy {versus} ({'%' if percent else 'absolute'}"
        f"), {where},")
    sentence = (f"{what} in {row['density']:.0%} of futures where {words}; the box holds "
                f"{row['coverage']:.0%} of the {int(cases.sum())} futures where it holds "
                f"({row['mass']:.0%} of all {len(cases)})")
    return Discovery(where, int(cases.sum()), len(cases), trajectory, chosen, limits,
                     float(row["coverage"]), float(row["density"]), float(row["mass"]), sentence)


def _limits(box, i: int, x: pd.DataFrame) -> pd.DataFrame:
    """Restricted dimensions of box ``i``: low, high, the full range, and quasi-p values."""
    lims = box.box_lims[i]
    full = box.box_lims[0]
    rows = []
    qp = box._calculate_quasi_p(i, [c for c in x.columns if _restricted(lims[c], full[c])])
    for col in x.columns:
        if not _restricted(lims[col], full[col]):
            continue
        p_low, p_high = qp.get(col, (np.nan, np.nan))
        if isinstance(lims[col].iloc[0], set):
            rows.append({"factor": col, "values": sorted(lims[col].iloc[0]), "low": np.nan,
                         "high": np.nan, "qp_low": p_low, "qp_high": p_high,
                         "full_low": np.nan, "full_high": np.nan})
        else:
            rows.append({"factor": col, "values": None, "low": float(lims[col].iloc[0]),
                         "high": float(lims[col].iloc[1]), "full_low": float(full[col].iloc[0]),
                         "full_high": float(full[col].iloc[1]), "qp_low": p_low,
                         "qp_high": p_high})
    return pd.DataFrame(rows, columns=["factor", "values", "low", "high", "full_low",
                                       "full_high", "qp_low", "qp_high"])


def _restricted(lim: pd.Series, full: pd.Series) -> bool:
    if isinstance(lim.iloc[0], set):
        return lim.iloc[0] != full.iloc[0]
    return bool(lim.iloc[0] > full.iloc[0] or lim.iloc[1] < full.iloc[1])


def _words(limits: pd.DataFrame) -> str:
    """Box limits as a phrase; only significant limits (all if none is)."""
    def significant(p: float) -> bool:          # the Workbench gives -1 for an open side
        return bool(0.0 <= p < SIGNIFICANT_QP)

    parts, any_sig = [], any(significant(r.qp_low) or significant(r.qp_high)
                             for r in limits.itertuples())
    for r in limits.itertuples():
        if r.values is not None:
            parts.append(f"{r.factor} is {' or '.join(map(str, r.values))}")
            continue
        low = r.low > r.full_low and (significant(r.qp_low) or not any_sig)
        high = r.high < r.full_high and (significant(r.qp_high) or not any_sig)
        if low and high:
            parts.append(f"{r.factor} is between {r.low:.3g} and {r.high:.3g}")
        elif low:
            parts.append(f"{r.factor} is above {r.low:.3g}")
        elif high:
            parts.append(f"{r.factor} is below {r.high:.3g}")
    return " and ".join(parts) if parts else "anything (no restriction found)"
