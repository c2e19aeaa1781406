"""Assemble a model: labels, member values, each mechanism's draft, events, each one's inputs.

This is the "definition, then data, then computation" boundary: everything the time step needs
is computed here once, as arrays with documented units, so the step only does arithmetic.
Schedules are per month, shape (T, ...), shared by all members; behavioural parameters and
member-level constants are per member, shape (M,).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from reesim.datasets import ReferenceData
from reesim.dims import APPLICATIONS, ELEMENTS
from reesim.errors import InputError
from reesim.model.constants import ordered_pairs
from reesim.model.context import Context, Coords, Params
from reesim.model.events import apply_events
from reesim.model.mechanisms import (
    MECHANISMS,
    capacity,
    demand,
    environment,
    in_use,
    magnets,
    market,
    mining,
    regimes,
    separation,
)
from reesim.model.sampling import sample_parameters
from reesim.model.timeline import Timeline
from reesim.scenario.schema import Scenario


class Inputs(NamedTuple):
    """Every mechanism's compiled inputs (what the step reads)."""

    regimes: regimes.RegimeInputs
    capacity: capacity.CapacityInputs
    mining: mining.MiningInputs
    separation: separation.SeparationInputs
    market: market.MarketInputs
    demand: demand.DemandInputs
    magnets: magnets.MagnetInputs
    in_use: in_use.InUseInputs
    environment: environment.EnvironmentInputs


@dataclass(frozen=True)
class Model:
    """Everything a run needs: scenario, axis, labels, the mechanisms' inputs, member values."""

    scenario: Scenario
    timeline: Timeline
    coords: Coords
    inputs: Inputs
    params: Params
    members: int
    samples: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((1, 0)))
    sample_names: tuple[str, ...] = ()
    data_version: str = ""
    data_digest: str = ""
    data: ReferenceData | None = field(repr=False, default=None)   # what the inputs were built on


def _coords(data: ReferenceData) -> Coords:
    """Labels and metadata of every dimension (the data's alone: computed once per data)."""
    return data.derived(("coords",), lambda: _read_coords(data))


def _read_coords(data: ReferenceData) -> Coords:
    producers = data["producers"]
    regions = data["regions"]
    meta = {
        "region": tuple(producers.region), "owner_group": tuple(producers.owner_group),
        "deposit_type": tuple(producers.deposit_type), "status": tuple(producers.status),
        "producer_market": tuple(
            regions.set_index("region").market[producers.separation_region]),
        "producer_legal": tuple(bool(v) for v in producers.legal),
    }
    china_regions = tuple(regions.region[regions.market == "china"])
    return Coords(
        elements=ELEMENTS, producers=tuple(producers.producer), regions=tuple(regions.region),
        applications=APPLICATIONS, exporters=china_regions, producer_meta=meta,
        region_meta={"market": tuple(regions.market)},
    )


def member_values(scenario: Scenario, members: int, seed: int,
                  design: Mapping[str, np.ndarray] | None = None) -> tuple[
                      Params, np.ndarray, tuple[str, ...]]:
    """Per-member parameters and constants, the sampled design matrix and its column names.

    Constants take the scenario's (resolved) values unless the design sets them per member.
    """
    params, samples, names = sample_parameters(scenario, members, seed,
                                               dict(design) if design else None)
    values = {name: np.full(members, float(value)) for name, value in scenario.constants.items()}
    values.update(params)
    for low, high in ordered_pairs():            # a design or a sample may break a declared order
        broken = ~(values[low] < values[high])
        if broken.any():
            raise InputError(f"{low} must be below {high} in every member; member "
                             f"{int(np.argmax(broken))} has {values[low][broken][0]:g} and "
                             f"{values[high][broken][0]:g}", field="design")
    return Params(values), samples, names


def build_context(scenario: Scenario, data: ReferenceData, members: int, seed: int,
                  design: Mapping[str, np.ndarray] | None = None) -> tuple[
                      Context, np.ndarray, tuple[str, ...]]:
    """The shared build context, the sampled design matrix and its column names."""
    params, samples, names = member_values(scenario, members, seed, design)
    return _context(scenario, data, params, members), samples, names


def _context(scenario: Scenario, data: ReferenceData, params: Params, members: int) -> Context:
    coords = _coords(data)
    producers, regions = data.derived(("tables_in_coords_order",), lambda: (
        data["producers"].set_index("producer").loc[list(coords.producers)],
        data["regions"].set_index("region").loc[list(coords.regions)]))
    return Context(
        data=data, scenario=scenario, timeline=Timeline(scenario.start_year, scenario.end_year),
        coords=coords, params=params, members=members, producers=producers, regions=regions)


def _inputs(ctx: Context) -> Inputs:
    """Every mechanism's draft, the events applied to the drafts, then every mechanism's inputs."""
    mechanisms = Inputs._fields
    modules = {m.__name__.rsplit(".", 1)[1]: m for m in MECHANISMS}
    draft: dict[str, np.ndarray] = {}
    for name in mechanisms:
        for key, array in modules[name].draft(ctx).items():
            if key in draft:
                raise ValueError(f"schedule {key} drafted twice")
            draft[key] = array
    apply_events(ctx, draft)
    return Inputs(*(modules[name].build(ctx, draft) for name in mechanisms))


def build_model(scenario: Scenario, data: ReferenceData, members: int, seed: int,
                design: Mapping[str, np.ndarray] | None = None) -> Model:
    """Build the inputs of a run of ``members`` members of ``scenario`` on ``data``.

    ``design`` optionally gives per-member values of behavioural parameters or member-level
    constants (see :func:`reesim.model.sampling.sample_parameters`).
    """
    ctx, samples, names = build_context(scenario, data, members, seed, design)
    return Model(scenario=scenario, timeline=ctx.timeline, coords=ctx.coords,
                 inputs=_inputs(ctx), params=ctx.params, members=members, samples=samples,
                 sample_names=names, data_version=data.version, data_digest=data.digest,
                 data=data)


def member_slice(model: Model, start: int, stop: int) -> Model:
    """Members ``start`` to ``stop - 1`` of ``model`` as a model of their own.

    Their inputs are built again from their values (parameters and constants) by the same code,
    so they are the numbers ``model.inputs`` holds for them: the build, like the step, computes
    each member from its own values only.
    """
    if model.data is None:
        raise ValueError("member_slice needs the reference data the model was built on")
    params = Params({name: getattr(model.params, name)[start:stop]
                     for name in model.params.names()})
    ctx = _context(model.scenario, model.data, params, stop - start)
    return replace(model, inputs=_inputs(ctx), params=params, members=stop - start,
                   samples=model.samples[start:stop])
