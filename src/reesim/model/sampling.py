"""Per-member behavioural parameters: the scenario's values, or samples of its uncertainties.

One run is a batch of one and uses the scenario's values. An ensemble (members > 1) draws one
quantile per declared uncertainty for every member from its own generator, spawned from the
seed, so member ``i`` gets the same draw whatever the ensemble size, and maps it through the
distribution around the parameter's resolved value (:meth:`Distribution.ppf`).
"""

from __future__ import annotations

import numpy as np

from reesim.scenario.schema import Scenario, parameter_bounds

_QUANTILE_BITS = 52


def _open_quantiles(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniform quantiles strictly inside (0, 1): midpoints of 2^52 equal bins (exact)."""
    return (rng.integers(0, 2**_QUANTILE_BITS, size=n) + 0.5) / 2.0**_QUANTILE_BITS


def sample_parameters(scenario: Scenario, members: int, seed: int,
                      design: dict[str, np.ndarray] | None = None) -> tuple[
                          dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
    """Return ``(params, samples, names)``: params maps name -> (M,) array of values.

    ``samples`` is the (M, n) design matrix of the sampled uncertainties (empty for one member),
    stored with the results so the design travels with them. Normal and lognormal draws are
    clipped into the parameter's allowed range (their support is unbounded; a uniform is
    checked to lie inside it when the scenario is validated). An explicit ``design`` (parameter
    name -> M values, e.g. a calibration's population) replaces sampling for those parameters.
    """
    base = scenario.parameters.model_dump()
    params = {k: np.full(members, float(v)) for k, v in base.items()}
    names = tuple(scenario.uncertainty) if members > 1 else ()
    samples = np.zeros((members, len(names)))
    if names:
        generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(members)]
        quantiles = np.stack([_open_quantiles(rng, len(names)) for rng in generators])
        for j, (name, dist) in enumerate(scenario.uncertainty.items()):
            low, high = _closed_bounds(name)
            samples[:, j] = np.clip(dist.ppf(quantiles[:, j], float(base[name])), low, high)
            params[name] = samples[:, j].copy()
    if design:
        for name, values in design.items():
            params[name] = np.asarray(values, dtype=float).reshape(members).copy()
        names = tuple(dict.fromkeys((*names, *design)))
        samples = np.stack([params[n] for n in names], axis=1)
    return params, samples, names


def _closed_bounds(name: str) -> tuple[float, float]:
    """The schema's allowed range of a parameter as a closed interval (open ends moved 1e-9 in)."""
    low, low_in, high, high_in = parameter_bounds(name)
    return low + (0.0 if low_in else 1e-9), high - (0.0 if high_in else 1e-9)
