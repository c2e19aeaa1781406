"""Global sensitivity of ensemble outcomes: Sobol and Morris indices from SALib.

The design travels with the results (``design.parquet`` and its digest in ``ensemble.json``);
before any analysis it is regenerated from its recorded kind, size and seed and compared with
the stored one, and every member must have a finite outcome, so an index is never computed
against rows that are not the design SALib expects. Indices are computed per policy (lever
combination) and outcome, on the quantile scale of the factors (Sobol indices do not depend on
that monotone map; Morris effects are per unit of quantile). With ``policy`` and ``versus`` they
are the indices of a lever's effect instead (:func:`reesim.ensemble.effects.policy_effects`):
which uncertainties decide how much switching from one policy to the other changes an outcome.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from reesim.ensemble.designs import MORRIS_LEVELS, Design, unit_design
from reesim.ensemble.effects import missing_values_hint, policy_rows
from reesim.ensemble.runner import DESIGN_FILE, load_outcomes, read_spec
from reesim.errors import InputError

log = logging.getLogger("reesim.ensemble.sensitivity")

CONF_LEVEL = 0.95
RESAMPLES = 200


def checked_design(out: str | Path) -> tuple[dict, pd.DataFrame]:
    """Return (spec, outcomes table) after checking the stored design against its record."""
    spec = read_spec(out)
    info = spec["design"]
    factors = info["factors"]
    table = load_outcomes(out)
    stored = pd.read_parquet(Path(out) / DESIGN_FILE)
    first = stored[stored["policy"] == 0].sort_values("future")
    unit = first[[f"u.{f}" for f in factors]].to_numpy(dtype=float)
    values = first[factors].to_numpy(dtype=float)
    redone = unit_design(info["kind"], info["samples"], info["seed"], len(factors))
    design = Design(info["kind"], info["samples"], info["seed"], tuple(factors), unit, values,
                    info["policies"])
    if (redone.shape != unit.shape or not np.array_equal(redone, unit)
            or design.digest() != info["digest"] or len(stored) != info["members"]):
        raise InputError(f"the design stored in {out} does not match its record (kind "
                         f"{info['kind']}, {info['samples']} samples, seed {info['seed']}): "
                         "the results cannot be analysed", file=str(Path(out) / DESIGN_FILE))
    return spec, table


def _problem(factors: list[str]) -> dict:
    return {"num_vars": len(factors), "names": factors, "bounds": [[0.0, 1.0]] * len(factors)}


def analyze(out: str | Path, outcomes: list[str] | None = None, seed: int = 0,
            policy: int | None = None, versus: int | None = None,
            percent: bool = False) -> pd.DataFrame:
    """Sobol (S1, ST, S2) or Morris (mu*, mu, sigma) indices of the ensemble in ``out``.

    Returns a tidy table: policy, outcome, index, factor, value, conf (the half-width of the
    95% confidence interval from SALib's bootstrap). ``policy`` alone keeps that policy; with
    ``versus`` the indices are those of the effect of ``policy`` against ``versus`` (outcome
    names ``<outcome> (effect P vs Q)``, or ``(effect P vs Q, %)`` with ``percent``).
    """
    spec, table = checked_design(out)
    kind = spec["design"]["kind"]
    if kind not in ("sobol", "morris"):
        raise InputError(f"sensitivity indices need a sobol or morris design; {out} has {kind}",
                         field="--design", allowed="sobol, morris")
    _check_enough_samples(kind, spec["design"]["samples"], out)
    factors = spec["design"]["factors"]
    names = _outcome_names(spec, table, outcomes)
    table = policy_rows(table, names, policy, versus, percent)
    if versus is not None:
        label = f" (effect {policy} vs {versus}{', %' if percent else ''})"
        table = table.rename(columns={name: name + label for name in names})
        names = [name + label for name in names]
    rows = []
    for policy, group in table.groupby("policy", sort=True):
        group = group.sort_values("future")
        for name in names:
            y = group[name].to_numpy(dtype=float)
            if not np.isfinite(y).all():
                raise InputError(f"outcome {name!r} has {int((~np.isfinite(y)).sum())} missing or "
                                 f"infinite values in policy {policy}"
                                 f"{missing_values_hint(percent, versus)}; indices need every "
                                 "member", field="--outcome")
            if np.ptp(y) == 0.0:
                log.warning("outcome %s is constant in policy %s: no indices", name, policy)
                continue
            unit = group[[f"u.{f}" for f in factors]].to_numpy(dtype=float)
            rows += [{"policy": int(policy), "outcome": name, **r}
                     for r in _indices(kind, factors, unit, y, seed)]
    return pd.DataFrame(rows, columns=["policy", "outcome", "index", "factor", "value", "conf"])


def _check_enough_samples(kind: str, samples: int, out: str | Path) -> None:
    """Refuse a design too small for the bootstrap's confidence intervals.

    From one Morris trajectory (or one Sobol base sample) every resample is the same row: the
    95% CI came out 0.000 (and sigma NaN), a certainty the design does not have.
    """
    if samples >= 2:
        return
    what = "Morris trajectories" if kind == "morris" else "Sobol base samples"
    raise InputError(f"{out} was run with --samples {samples} ({what}): indices with a "
                     "confidence interval need at least 2 (10 or more for a usable one); rerun "
                     f"`reesim ensemble --design {kind} --samples N` with a larger N",
                     field="--samples",
                     allowed="2 or more" if kind == "morris" else "2, 4, 8, ...")


def _outcome_names(spec: dict, table: pd.DataFrame, wanted: list[str] | None) -> list[str]:
    design_cols = {"member", "policy", "future", *spec["design"]["factors"]}
    known = [c for c in table.columns if c not in design_cols
             and not c.startswith(("u.", "lever."))]
    for name in wanted or []:
        if name not in known:
            raise InputError(f"unknown outcome {name!r}", field="--outcome",
                             allowed=", ".join(known))
    return list(wanted or known)


def _indices(kind: str, factors: list[str], unit: np.ndarray, y: np.ndarray,
             seed: int) -> list[dict]:
    """SALib's indices of one outcome as tidy rows."""
    problem = _problem(factors)
    seed = _bootstrap_seed(seed)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # SALib's divisions by ~0
        if kind == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=True, num_resamples=RESAMPLES,
                                conf_level=CONF_LEVEL, seed=seed)
            for index in ("S1", "ST"):
                out += [{"index": index, "factor": f, "value": float(res[index][j]),
                         "conf": float(res[f"{index}_conf"][j])} for j, f in enumerate(factors)]
            for i in range(len(factors)):
                for j in range(i + 1, len(factors)):
                    out.append({"index": "S2", "factor": f"{factors[i]} x {factors[j]}",
                                "value": float(res["S2"][i, j]),
                                "conf": float(res["S2_conf"][i, j])})
        else:
            from SALib.analyze import morris

            res = morris.analyze(problem, unit, y, num_resamples=RESAMPLES, conf_level=CONF_LEVEL,
                                 num_levels=MORRIS_LEVELS, seed=seed)
            for j, f in enumerate(factors):
                out.append({"index": "mu_star", "factor": f, "value": float(res["mu_star"][j]),
                            "conf": float(res["mu_star_conf"][j])})
                out.append({"index": "mu", "factor": f, "value": float(res["mu"][j]),
                            "conf": float("nan")})
                out.append({"index": "sigma", "factor": f, "value": float(res["sigma"][j]),
                            "conf": float("nan")})
    return out


def _bootstrap_seed(seed: int) -> int:
    """A non-zero seed for SALib's bootstrap, derived from ``seed``.

    SALib's Sobol analysis ignores a seed of 0, which would make the confidence intervals
    change from run to run.
    """
    return int(np.random.SeedSequence(seed).generate_state(1)[0]) | 1


def chart_html(indices: pd.DataFrame, title: str) -> str:
    """A self-contained plotly page: one bar chart (with CI error bars) per policy and outcome."""
    import plotly.graph_objects as go
    import plotly.io as pio

    parts, first = [], True
    shown = ("S1", "ST", "mu_star")
    for (policy, outcome), group in indices.groupby(["policy", "outcome"], sort=False):
        fig = go.Figure()
        for index in shown:
            sub = group[group["index"] == index]
            if len(sub):
                fig.add_bar(name=index, x=sub["factor"], y=sub["value"],
                            error_y={"type": "data", "array": sub["conf"].fillna(0.0)})
        fig.update_layout(title=f"{outcome} (policy {policy})", barmode="group",
                          yaxis_title="index", height=420)
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=first))
        first = False
    body = "\n".join(parts)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1>{body}</body></html>\n")
