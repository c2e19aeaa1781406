"""Helpers for mechanism tests: built models and contexts of small scenarios."""

from __future__ import annotations

import functools

from reesim import load_scenario
from reesim.datasets import load_inputs
from reesim.model.build import Model, build_context, build_model
from reesim.model.context import Context


@functools.cache
def model(*overrides: str, members: int = 1) -> Model:
    """The baotou scenario with ``overrides``, built (not run)."""
    return build_model(load_scenario("baotou", list(overrides)), load_inputs(), members, 0)


def context(*overrides: str, members: int = 1) -> Context:
    """The build context of the baotou scenario with ``overrides``."""
    return build_context(load_scenario("baotou", list(overrides)), load_inputs(), members,
                         0)[0]
