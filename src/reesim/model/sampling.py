"""Per-member values: the scenario's, or samples of its uncertainties.

One run is a batch of one and uses the scenario's values. An ensemble (members > 1) draws one
quantile per declared uncertainty for every member from its own generator, spawned from the
seed, so member ``i`` gets the same draw whatever the ensemble size, and maps it through the
distribution around the resolved value (:meth:`Distribution.ppf`). An uncertainty samples a
behavioural parameter or a member-level structural constant (:mod:`reesim.model.constants`);
the returned ``params`` hold the parameters and the sampled constants, which override the
scenario's single constant values (see :func:`reesim.model.build.member_values`).
"""

from __future__ import annotations

import numpy as np

from reesim.scenario.schema import Scenario, closed_bounds

_QUANTILE_BITS = 52


def _open_quantiles(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniform quantiles strictly inside (0, 1): midpoints of 2^52 equal bins (exact)."""
    return (rng.integers(0, 2**_QUANTILE_BITS, size=n) + 0.5) / 2.0**_QUANTILE_BITS


def is_integer(name: str) -> bool:
    """Whether ``name`` is a structural constant declared as a whole number (e.g. months)."""
    from reesim.model.constants import table

    constant = table().get(name)
    return constant is not None and constant.integer


def bounded(name: str, values: np.ndarray) -> np.ndarray:
    """Sampled values of ``name`` clipped into its allowed range, whole constants rounded."""
    low, high = closed_bounds(name)
    values = np.clip(values, low, high)
    return np.clip(np.rint(values), low, high) if is_integer(name) else values


def sample_parameters(scenario: Scenario, members: int, seed: int,
                      design: dict[str, np.ndarray] | None = None) -> tuple[
                          dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
    """Return ``(params, samples, names)``: params maps name -> (M,) array of values.

    ``params`` holds every behavioural parameter plus the sampled (or designed) constants.
    ``samples`` is the (M, n) design matrix of the sampled uncertainties (empty for one member),
    stored with the results so the design travels with them. Normal and lognormal draws are
    clipped into the parameter's allowed range or the constant's declared range (their support
    is unbounded; a uniform is checked to lie inside it when the scenario is validated), and
    integer constants are rounded. An explicit ``design`` (name -> M values, e.g. a
    calibration's population) replaces sampling for those names.
    """
    base = scenario.parameters.model_dump()
    params = {k: np.full(members, float(v)) for k, v in base.items()}
    names = tuple(scenario.uncertainty) if members > 1 else ()
    samples = np.zeros((members, len(names)))
    if names:
        generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(members)]
        quantiles = np.stack([_open_quantiles(rng, len(names)) for rng in generators])
        for j, (name, dist) in enumerate(scenario.uncertainty.items()):
            drawn = dist.ppf(quantiles[:, j], scenario.resolved_value(name))
            samples[:, j] = bounded(name, drawn)
            params[name] = samples[:, j].copy()
    if design:
        for name, values in design.items():
            params[name] = np.asarray(values, dtype=float).reshape(members).copy()
        names = tuple(dict.fromkeys((*names, *design)))
        samples = np.stack([params[n] for n in names], axis=1)
    return params, samples, names
