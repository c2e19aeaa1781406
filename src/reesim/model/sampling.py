"""Per-member behavioural parameters: the scenario's values, or samples of its uncertainties.

One run is a batch of one and uses the scenario's values. An ensemble (members > 1) draws every
declared uncertainty for every member from its own generator, spawned from the seed, so member
``i`` gets the same draw whatever the ensemble size.
"""

from __future__ import annotations

import numpy as np

from reesim.scenario.schema import Distribution, Scenario


def _draw(dist: Distribution, rng: np.random.Generator) -> float:
    if dist.dist == "uniform":
        return float(rng.uniform(dist.low, dist.high))
    if dist.dist == "normal":
        return float(rng.normal(dist.mean, dist.sd))
    return float(dist.median * np.exp(rng.normal(0.0, dist.sigma)))  # type: ignore[operator]


def sample_parameters(scenario: Scenario, members: int, seed: int,
                      design: dict[str, np.ndarray] | None = None) -> tuple[
                          dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
    """Return ``(params, samples, names)``: params maps name -> (M,) array of values.

    ``samples`` is the (M, n) design matrix of the sampled uncertainties (empty for one member),
    stored with the results so the design travels with them. An explicit ``design`` (parameter
    name -> M values, e.g. a calibration's population) replaces sampling for those parameters.
    """
    base = scenario.parameters.model_dump()
    params = {k: np.full(members, float(v)) for k, v in base.items()}
    names = tuple(scenario.uncertainty) if members > 1 else ()
    samples = np.zeros((members, len(names)))
    if names:
        generators = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(members)]
        dists = list(scenario.uncertainty.values())
        for m, rng in enumerate(generators):
            samples[m] = [_draw(d, rng) for d in dists]
        for j, name in enumerate(names):
            low, high = _bounds(name)
            samples[:, j] = np.clip(samples[:, j], low, high)
            params[name] = samples[:, j].copy()
    if design:
        for name, values in design.items():
            params[name] = np.asarray(values, dtype=float).reshape(members).copy()
        names = tuple(dict.fromkeys((*names, *design)))
        samples = np.stack([params[n] for n in names], axis=1)
    return params, samples, names


def _bounds(name: str) -> tuple[float, float]:
    """The schema's allowed range of a parameter (samples are clipped into it)."""
    from reesim.scenario.schema import Parameters

    low, high = -np.inf, np.inf
    for meta in Parameters.model_fields[name].metadata:
        for attr, is_low in (("gt", True), ("ge", True), ("lt", False), ("le", False)):
            value = getattr(meta, attr, None)
            if value is None:
                continue
            bound = float(value) + (1e-9 if attr == "gt" else -1e-9 if attr == "lt" else 0.0)
            low, high = (bound, high) if is_low else (low, bound)
    return low, high
