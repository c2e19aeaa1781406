"""Experimental designs: unit-hypercube samples (scipy.stats.qmc, SALib) mapped to values.

A design has ``futures`` (rows of the uncertainty design) crossed with ``policies`` (every
combination of the levers' values). Member ``m`` is policy ``m // futures`` under future
``m % futures``: its design row follows from its index alone, never from how members are split
into chunks. Uncertainties are sampled as quantiles ``u`` in (0, 1) and mapped through each
distribution's ``ppf`` around the resolved value of a behavioural parameter or a member-level
structural constant, then clipped into its allowed (or declared) range.

Designs: ``lhs`` (Latin hypercube, scipy), ``sobol`` (Saltelli/Sobol sequence from SALib; the
base sample ``N`` must be a power of two, rows ``N(2k+2)`` with second-order terms),
``morris`` (SALib trajectories on a 4-level grid spanning the 1%-99% quantiles, ``N(k+1)``
rows) and ``full-factorial`` (``N`` quantile levels per uncertainty, ``N^k`` rows).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reesim.errors import InputError
from reesim.model.sampling import bounded
from reesim.scenario.schema import (
    PARAMETER_NAMES,
    Scenario,
    closed_bounds,
    sampleable_names,
)

DESIGNS = ("lhs", "sobol", "morris", "full-factorial")
MORRIS_LEVELS = 4
MORRIS_SPAN = (0.01, 0.99)
"""Morris' grid runs from the 1% to the 99% quantile (the ends of an unbounded distribution
are infinite)."""
QUANTILE_EDGE = 1e-12
MAX_MEMBERS = 1_000_000


@dataclass(frozen=True)
class Factor:
    """An uncertain input: a name and its quantile function (u in (0, 1) -> value)."""

    name: str
    ppf: Callable[[np.ndarray], np.ndarray] = field(compare=False)
    low: float = -math.inf
    high: float = math.inf


def scenario_factors(scenario: Scenario) -> list[Factor]:
    """The scenario's uncertainties as factors centred on the resolved values.

    A factor is a behavioural parameter (bounded by its allowed range) or a member-level
    structural constant (bounded by its declared plausible range, integer constants rounded).
    The schema refuses other names; a run-level constant (one value per scenario) that reaches
    here anyway, e.g. through a scenario built without validation, is an :class:`InputError`.
    """
    from reesim.model.constants import table

    factors = []
    for name, dist in scenario.uncertainty.items():
        constant = table().get(name)
        if name not in PARAMETER_NAMES and (constant is None or constant.level != "member"):
            why = ("is a run-level constant, one value per scenario (set it under `constants:`)"
                   if constant is not None else "is not a parameter or a member-level constant")
            raise InputError(f"uncertainty {name!r} {why}", field=f"uncertainty.{name}",
                             allowed=", ".join(sampleable_names()))
        low, high = closed_bounds(name)
        centre = scenario.resolved_value(name)
        factors.append(Factor(name, lambda u, d=dist, c=centre, n=name: bounded(n, d.ppf(u, c)),
                              low, high))
    return factors


def lever_policies(levers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the levers' values (first lever varies slowest); ``[{}]`` if none."""
    names = list(levers)
    choices = [levers[n].choices() for n in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]


def unit_design(kind: str, samples: int, seed: int, k: int) -> np.ndarray:
    """The (rows, k) design in the unit hypercube for ``kind`` (see the module docstring)."""
    if kind not in DESIGNS:
        raise InputError(f"unknown design {kind!r}", field="--design", allowed=", ".join(DESIGNS))
    if not isinstance(samples, int) or samples < 1:
        raise InputError(f"samples must be a positive integer, got {samples!r}", field="--samples")
    if k == 0:
        raise InputError("the scenario declares no uncertainty to sample", field="uncertainty",
                         allowed="a mapping of parameter names to distributions")
    problem = {"num_vars": k, "names": [f"x{i}" for i in range(k)], "bounds": [[0.0, 1.0]] * k}
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=k, rng=np.random.default_rng(seed)).random(samples)
    elif kind == "sobol":
        if samples & (samples - 1) or k < 2:
            raise InputError(f"a Sobol design needs a power of two base samples and at least two "
                             f"uncertainties, got {samples} and {k}", field="--samples",
                             allowed="1, 2, 4, 8, ..., 1024, ...")
        from SALib.sample import sobol

        unit = sobol.sample(problem, samples, calc_second_order=True, seed=seed)
    elif kind == "morris":
        from SALib.sample import morris

        unit = morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        if samples ** k > MAX_MEMBERS:
            raise InputError(f"a full factorial of {samples} levels over {k} uncertainties has "
                             f"{samples ** k} rows", field="--samples",
                             allowed=f"levels**uncertainties <= {MAX_MEMBERS}")
        levels = (np.arange(samples) + 0.5) / samples
        unit = np.array(list(itertools.product(levels, repeat=k)), dtype=float).reshape(-1, k)
    return np.asarray(unit, dtype=float)


def to_quantiles(kind: str, unit: np.ndarray) -> np.ndarray:
    """Unit-hypercube design -> quantiles strictly inside (0, 1) for the ``ppf`` maps."""
    if kind == "morris":
        low, high = MORRIS_SPAN
        return low + (high - low) * unit
    return np.clip(unit, QUANTILE_EDGE, 1.0 - QUANTILE_EDGE)


@dataclass
class Design:
    """A design: the unit sample, the factor values and the policies, indexed by member."""

    kind: str
    samples: int
    seed: int
    factors: tuple[str, ...]
    unit: np.ndarray
    values: np.ndarray
    policies: list[dict[str, Any]]

    @property
    def futures(self) -> int:
        """Rows of the uncertainty design (members per policy)."""
        return self.unit.shape[0]

    @property
    def members(self) -> int:
        """Members in the ensemble: futures x policies."""
        return self.futures * len(self.policies)

    def table(self) -> pd.DataFrame:
        """One row per member: member, policy, future, ``u.<factor>``, factor values, levers."""
        m = np.arange(self.members)
        policy, future = m // self.futures, m % self.futures
        cols: dict[str, Any] = {"member": m, "policy": policy, "future": future}
        for j, name in enumerate(self.factors):
            cols[f"u.{name}"] = self.unit[future, j]
        for j, name in enumerate(self.factors):
            cols[name] = self.values[future, j]
        for lever in (self.policies[0] if self.policies else {}):
            cols[f"lever.{lever}"] = [_lever_text(self.policies[p][lever]) for p in policy]
        return pd.DataFrame(cols)

    def digest(self) -> str:
        """SHA-256 (16 hex) of the unit sample, values and policies: stored and checked."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.unit).tobytes())
        h.update(np.ascontiguousarray(self.values).tobytes())
        h.update(json.dumps([self.kind, self.samples, self.seed, list(self.factors),
                             self.policies], sort_keys=True, default=str).encode())
        return h.hexdigest()[:16]


def _lever_text(value: Any) -> str:
    """A lever value as a table cell: JSON text (``null`` for a removed section)."""
    return json.dumps(value, sort_keys=True)


def make_design(kind: str, samples: int, seed: int, factors: Sequence[Factor],
                policies: Sequence[dict[str, Any]] = ({},)) -> Design:
    """Build a design: sample the unit hypercube, map through the factors, cross with policies."""
    unit = unit_design(kind, samples, seed, len(factors))
    quantiles = to_quantiles(kind, unit)
    values = np.empty_like(unit)
    for j, factor in enumerate(factors):
        values[:, j] = np.clip(factor.ppf(quantiles[:, j]), factor.low, factor.high)
    if not np.isfinite(values).all():
        raise InputError("the design has non-finite values", field="uncertainty")
    design = Design(kind, samples, seed, tuple(f.name for f in factors), unit, values,
                    [dict(p) for p in policies] or [{}])
    if design.members > MAX_MEMBERS:
        raise InputError(f"the design has {design.members} members", field="--samples",
                         allowed=f"at most {MAX_MEMBERS} (futures x policies)")
    return design
