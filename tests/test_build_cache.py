"""What a build derives from the packaged data alone is computed once per process and shared.

A build served from the cache (:meth:`reesim.datasets.ReferenceData.derived`) must give the
inputs a build on an empty cache gives, whatever was built before it; what it hands out must be
read-only or a copy, so a build that changes its inputs cannot change the next one.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterator

import numpy as np
import pytest

from reesim import load_scenario
from reesim.datasets import load_inputs
from reesim.model.build import Model, build_context, build_model
from reesim.model.mechanisms.capacity import capacity_history
from reesim.model.mechanisms.demand import element_intensity
from reesim.model.mechanisms.mining import distribution, reserve_at_start
from reesim.model.quotas import packaged_quota

SCENARIOS = [
    ("baotou", ()),
    ("baotou-free-market", ()),
    ("baotou-reserve-2008", ()),
    ("baotou", ("start_year=2004", "end_year=2030")),                   # another time axis
    ("baotou", ("policy.quota_growth_after_data_pct_per_yr=7",)),      # another quota growth
]


def _arrays(value: object, path: str) -> Iterator[tuple[str, object]]:
    """Every leaf of a model's inputs (arrays and scalars) with its path."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _arrays(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, tuple) and hasattr(value, "_fields"):
        for name, item in zip(value._fields, value, strict=True):
            yield from _arrays(item, f"{path}.{name}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _arrays(item, f"{path}[{i}]")
    else:
        yield path, value


def _assert_same_inputs(got: Model, want: Model) -> None:
    leaves = dict(_arrays(want.inputs, "inputs"))
    found = dict(_arrays(got.inputs, "inputs"))
    assert found.keys() == leaves.keys()
    for path, expected in leaves.items():
        value = found[path]
        if isinstance(expected, np.ndarray):
            assert isinstance(value, np.ndarray), path
            assert value.dtype == expected.dtype and value.shape == expected.shape, path
            assert np.array_equal(value, expected, equal_nan=value.dtype.kind in "fc"), path
        else:
            assert type(value) is type(expected) and value == expected, path
    assert got.coords == want.coords


def _build(name: str, overrides: tuple[str, ...], members: int = 2) -> Model:
    return build_model(load_scenario(name, list(overrides)), load_inputs(), members, 0)


@pytest.fixture(scope="module")
def fresh() -> dict[int, Model]:
    """Each scenario built on an empty cache."""
    builds = {}
    for i, (name, overrides) in enumerate(SCENARIOS):
        load_inputs().clear_derived()
        builds[i] = _build(name, overrides)
    return builds


@pytest.mark.parametrize("order", [1, -1], ids=["in_order", "reversed"])
def test_builds_from_a_shared_cache_equal_fresh_ones(fresh, order):
    """Scenarios built one after another share the cache and each gets its fresh inputs."""
    load_inputs().clear_derived()
    for _ in range(2):                   # the second round is served from the cache alone
        for i in list(range(len(SCENARIOS)))[::order]:
            _assert_same_inputs(_build(*SCENARIOS[i]), fresh[i])


def test_changing_a_build_does_not_change_the_next(fresh):
    """Every input array is read-only or the build's own: changing it leaves the cache alone."""
    changed = _build("baotou", ())
    read_only = 0
    for _path, value in _arrays(changed.inputs, "inputs"):
        if not isinstance(value, np.ndarray) or value.size == 0:
            continue
        if not value.flags.writeable:
            read_only += 1
            with pytest.raises(ValueError, match="read-only"):
                value.flat[0] = value.flat[0]
            continue
        if value.dtype == bool:
            np.logical_not(value, out=value)
        else:
            value[...] = 7
    assert read_only > 0
    _assert_same_inputs(_build("baotou", ()), fresh[0])


def test_cached_arrays_are_read_only():
    ctx = build_context(load_scenario("baotou"), load_inputs(), 1, 0)[0]
    for array in (distribution(ctx), capacity_history(ctx), element_intensity(ctx),
                  reserve_at_start(ctx),
                  packaged_quota(ctx.data, "mining", "total", "national", ctx.years)):
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0.0
    market = ctx.region_market                     # handed out as a copy: the caller's own
    market[...] = 5
    assert (ctx.region_market != 5).all()


def test_a_pickled_copy_of_the_data_starts_with_an_empty_cache():
    data = load_inputs()
    _build("baotou", ())
    copy = pickle.loads(pickle.dumps(data))
    assert copy._derived == {} and data._derived
    assert copy.digest == data.digest and copy.tables.keys() == data.tables.keys()
