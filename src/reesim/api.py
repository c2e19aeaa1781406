"""The Python entry points: load a scenario, simulate it, get a labelled result."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from reesim.datasets import load_inputs
from reesim.errors import InputError
from reesim.model.build import build_model
from reesim.model.constants import member_constant_names
from reesim.model.simulate import run
from reesim.results import Result, make_manifest
from reesim.scenario import Scenario, scenario_hash
from reesim.scenario.schema import PARAMETER_NAMES

MAX_MEMBERS = 100_000


def simulate(scenario: Scenario, members: int = 1, seed: int | None = None,
             progress: Callable[[int], None] | None = None,
             design: Mapping[str, Sequence[float]] | None = None) -> Result:
    """Run ``scenario`` for ``members`` ensemble members (one run is a batch of one).

    ``seed`` defaults to the scenario's own; the same scenario and seed give bit-identical
    datasets. With ``members > 1`` every declared uncertainty is sampled per member. ``design``
    sets behavioural parameters member by member ({name: one value per member}), e.g. to
    evaluate a calibration population in one run; member-level structural constants
    (:mod:`reesim.model.constants`) can be set the same way. ``progress`` is called with
    months done.
    """
    if not isinstance(members, int) or not 1 <= members <= MAX_MEMBERS:
        raise InputError(f"members must be an integer from 1 to {MAX_MEMBERS}, got {members!r}",
                         field="members")
    seed = scenario.seed if seed is None else seed
    if not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}", field="seed")
    data = load_inputs()
    arrays = None
    if design:
        arrays = {}
        allowed = (*PARAMETER_NAMES, *member_constant_names())
        for name, values in design.items():
            if name not in allowed:
                raise InputError(f"unknown parameter or member-level constant {name!r} in design",
                                 field="design", allowed=", ".join(allowed))
            array = np.asarray(values, dtype=float)
            if array.shape != (members,) or not np.isfinite(array).all():
                raise InputError(f"design[{name!r}] needs {members} finite values",
                                 field=f"design.{name}")
            arrays[name] = array
    model = build_model(scenario, data, members, seed, arrays)
    dataset = run(model, progress)
    manifest = make_manifest(scenario, scenario_hash(scenario), data.version, data.digest, seed,
                             members, scenario.output.frequency)
    manifest["constants"] = dict(scenario.constants)
    dataset.attrs.update({
        "title": f"reesim result: {scenario.name}",
        "scenario": scenario.name, "scenario_hash": manifest["scenario_hash"],
        "data_version": data.version, "seed": seed, "members": members,
    })
    return Result(dataset=dataset, manifest=manifest, scenario=scenario)
