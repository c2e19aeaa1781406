"""How well the history pins down each fitted parameter: one-parameter profiles at the optimum.

For each free parameter, the others held at the optimum, the objective ``J`` is evaluated on a
grid across the prior (evenly spaced in the unit cube, i.e. in the parameter's scale) plus two
finite-difference neighbours of the optimum; every point of every profile is one member of ONE
batched run. Reported per parameter:

- ``curvature``: d2J/du2 at the optimum, ``u`` the unit-cube coordinate (0 = prior low,
  1 = prior high), by central differences with step ``h`` (one-sided at a prior bound). Large
  means the fit is sharp; near zero means the history hardly constrains the parameter.
- ``identified range``: the values around the optimum whose profile objective stays within
  ``+tolerance`` (default 5%) of ``J`` at the optimum, walking out from the optimum along the
  profile (grid and finite-difference points) and interpolating linearly where it crosses the
  threshold (for a convex profile this errs narrow, by up to a grid step).
- ``noise``: the spread of ``J`` at the optimum evaluated three times in the batch and once in
  a run of its own (the engine's floating point depends slightly on a batch's size and a
  member's place in it, and the dynamics can amplify that); a curvature within
  ``4 noise / h^2`` of zero is flagged, and so is a profile point lower than the optimum by
  more than the noise (the optimizer stopped short in that direction).
- ``weakly identified``: that range spans at least ``weak_fraction`` (default 3/4) of the prior
  in the unit cube, or another part of the prior is also within the tolerance.
- ``status``: "not identified" when the curvature is negative or within the noise (the optimum
  is not a minimum along the parameter, so the history does not pin it down), else "weak" for a
  weakly identified parameter and "yes" otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reesim.calibration.parameters import FreeParameter

AT_BOUND = 1e-3
"""Unit-cube distance from a prior bound below which an optimum counts as on the bound."""


@dataclass(frozen=True)
class Identification:
    """The profile of one parameter at the optimum and what it says about identification."""

    name: str
    value: float
    curvature: float
    """d2J/du2 at the optimum (u: unit-cube coordinate of the prior)."""
    low: float
    high: float
    """The identified range (values, in the parameter's unit)."""
    fraction_of_prior: float
    """Width of the identified range in unit-cube coordinates (1 = the whole prior)."""
    weakly_identified: bool
    profile_values: tuple[float, ...]
    profile_objective: tuple[float, ...]
    note: str
    status: str = "yes"
    """"yes", "weak" or "not identified" (negative or noise-level curvature)."""


def _fd_points(u0: float, h: float) -> tuple[float, float, str]:
    """Two neighbours of ``u0`` for a second difference inside [0, 1] and the scheme's name."""
    if u0 - h >= 0.0 and u0 + h <= 1.0:
        return u0 - h, u0 + h, "central"
    if u0 - h < 0.0:
        return u0 + h, u0 + 2 * h, "forward"
    return u0 - h, u0 - 2 * h, "backward"


def _crossing(u_in: float, j_in: float, u_out: float, j_out: float, level: float) -> float:
    """Linear interpolation of where the profile crosses ``level`` between two grid points."""
    if not math.isfinite(j_out) or j_out == j_in:
        return u_in
    return u_in + (level - j_in) / (j_out - j_in) * (u_out - u_in)


def identify(evaluate: Callable[[np.ndarray], np.ndarray], table: Sequence[FreeParameter],
             u_opt: np.ndarray, points: int = 9, fd_step: float = 0.05,
             tolerance: float = 0.05, weak_fraction: float = 0.75,
             reference: float | None = None,
             ) -> tuple[tuple[Identification, ...], float, float]:
    """Profile every parameter of ``table`` around the unit-cube optimum ``u_opt``.

    ``evaluate`` maps (S, P) unit-cube points to (S,) objectives and is called ONCE with all the
    profile points. Returns the table of :class:`Identification` rows, ``J`` at the optimum and
    the objective's numerical noise: the spread of ``J`` at the optimum evaluated at three
    places in the batch and, if given, in a run of its own (``reference``).
    """
    u_opt = np.clip(np.asarray(u_opt, float), 0.0, 1.0)
    n = len(table)
    grid = np.linspace(0.0, 1.0, points)
    rows = [u_opt.copy()]
    index: list[tuple[np.ndarray, int, int, str, float, float]] = []
    for j in range(n):
        start = len(rows)
        for u in grid:
            point = u_opt.copy()
            point[j] = u
            rows.append(point)
        fd_start = len(rows)
        a, b, scheme = _fd_points(float(u_opt[j]), fd_step)
        for u in (a, b):
            point = u_opt.copy()
            point[j] = u
            rows.append(point)
        index.append((grid, start, fd_start, scheme, a, b))
    # the optimum twice more, mid-batch and last: the engine's results move slightly with a
    # member's place in a batch (floating point), and the spread measures that noise
    middle = len(rows) // 2
    rows.insert(middle, u_opt.copy())
    rows.append(u_opt.copy())
    energies = np.asarray(evaluate(np.array(rows)), float)
    repeats = energies[[0, middle, len(rows) - 1]]
    energies = np.delete(energies, [middle, len(rows) - 1])
    if reference is not None:
        repeats = np.append(repeats, reference)
    noise = float(np.ptp(repeats)) if np.isfinite(repeats).all() else math.inf
    j_opt = float(energies[0])
    level = j_opt * (1.0 + tolerance)
    out = []
    for j, row in enumerate(table):
        grid_u, start, fd_start, scheme, a_u, b_u = index[j]
        u0 = float(u_opt[j])
        ja, jb = energies[fd_start], energies[fd_start + 1]
        h = fd_step
        curvature = (ja - 2 * j_opt + jb) / h**2 if scheme == "central" else (
            (j_opt - 2 * ja + jb) / h**2)
        # the profile: the grid, the optimum and its finite-difference neighbours, sorted by u
        us = np.concatenate([grid_u, [u0, a_u, b_u]])
        js = np.concatenate([energies[start:start + len(grid_u)], [j_opt, ja, jb]])
        order = np.argsort(us, kind="stable")
        us, js = us[order], js[order]
        k0 = int(np.flatnonzero((us == u0) & (js == j_opt))[0])
        lo_k = k0
        while lo_k > 0 and js[lo_k - 1] <= level:
            lo_k -= 1
        hi_k = k0
        while hi_k < len(us) - 1 and js[hi_k + 1] <= level:
            hi_k += 1
        u_lo = us[lo_k] if lo_k == 0 else _crossing(us[lo_k], js[lo_k], us[lo_k - 1],
                                                       js[lo_k - 1], level)
        u_hi = us[hi_k] if hi_k == len(us) - 1 else _crossing(us[hi_k], js[hi_k], us[hi_k + 1],
                                                               js[hi_k + 1], level)
        outside = np.ones(len(us), bool)
        outside[lo_k:hi_k + 1] = False
        elsewhere = bool(np.any(outside & (js <= level)))
        fraction = float(u_hi - u_lo)
        notes = []
        if u0 < AT_BOUND or u0 > 1.0 - AT_BOUND:
            notes.append("optimum on the prior bound")
        if scheme != "central":
            notes.append(f"{scheme} difference")
        flat = abs(curvature) <= 4.0 * noise / h**2
        if flat:
            notes.append("curvature within the objective's numerical noise")
        elif curvature < 0:
            notes.append("negative curvature: the optimum is not a minimum along this parameter")
        if elsewhere:
            notes.append(f"another part of the prior is also within +{tolerance:.0%}")
        best = int(np.argmin(js))
        if js[best] < j_opt - max(noise, 1e-6 * abs(j_opt)):
            notes.append(f"profile is lower ({js[best]:.4g}) at "
                         f"{float(row.to_value(us[best])):.4g}")
        weak = bool(fraction >= weak_fraction or elsewhere)
        status = ("not identified" if flat or not curvature > 0 or not math.isfinite(curvature)
                  else "weak" if weak else "yes")
        out.append(Identification(
            name=row.name, value=float(row.to_value(u0)), curvature=float(curvature),
            low=float(row.to_value(u_lo)), high=float(row.to_value(u_hi)),
            fraction_of_prior=fraction,
            weakly_identified=weak or status == "not identified", status=status,
            profile_values=tuple(float(v) for v in row.to_value(grid_u)),
            profile_objective=tuple(float(v) for v in energies[start:start + len(grid_u)]),
            note="; ".join(notes)))
    return tuple(out), j_opt, noise
