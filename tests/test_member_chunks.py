"""Members stepped in chunks: the same numbers as one batch, and errors name ensemble members."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from reesim import load_scenario, simulate
from reesim.balance import check_step
from reesim.errors import BalanceError
from reesim.model import simulate as loop
from reesim.model.variables import VARIABLES
from test_determinism import UNCERTAIN  # the same uncertain scenario as the determinism tests


@pytest.mark.parametrize(("members", "largest"), [(1, 256), (256, 256), (257, 256),
                                                  (1000, 256), (7, 3), (8, 3)])
def test_chunks_cover_the_members_in_near_equal_parts(members, largest):
    chunks = loop.member_chunks(members, largest)
    assert chunks[0][0] == 0 and chunks[-1][1] == members
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    sizes = [stop - start for start, stop in chunks]
    assert max(sizes) <= largest and max(sizes) - min(sizes) <= 1
    assert len(chunks) == -(-members // largest)


@pytest.mark.parametrize("frequency", ["year", "month"])
def test_chunked_run_is_bit_identical_to_one_batch(monkeypatch, frequency):
    scenario = load_scenario("baotou", ["end_year=2006", f"output.frequency={frequency}",
                                        *UNCERTAIN])
    whole = simulate(scenario, members=8, seed=4).dataset
    done = []
    monkeypatch.setattr(loop, "MEMBER_CHUNK", 3)               # chunks of 3, 3 and 2 members
    monkeypatch.setattr(loop, "RECORD_BLOCK_MEMBER_MONTHS", 20)  # monthly: blocks of 7, 10 months
    chunked = simulate(scenario, members=8, seed=4, progress=done.append).dataset
    assert chunked.identical(whole)
    for name in whole.data_vars:
        a, b = whole[name].values, chunked[name].values
        assert a.tobytes() == b.tobytes(), name                # signed zeros and NaNs too
    assert done == sorted(done) and done[-1] == chunked.sizes["time"] * (
        12 if frequency == "year" else 1)


def test_balance_error_names_the_ensemble_member():
    ds = simulate(load_scenario("baotou", ["end_year=2001", "output.frequency=year"]),
                  members=2).dataset
    closed = {name: ds[name].values[:, 1].copy() for name in VARIABLES}
    with np.errstate(invalid="ignore"):              # inf - inf: reserves of unknown size
        change = {name: closed[name] - ds[name].values[:, 0] for name in (
            "inventory", "concentrate_stock", "in_use_stock", "tailings_stock", "reserves")}
    check_step(closed, change, 1.0, "year 2001", _labels(ds), first_member=10)   # closes
    closed["mine_output"][1] *= 1.5
    with pytest.raises(BalanceError, match="member 11,"):
        check_step(closed, change, 1.0, "year 2001", _labels(ds), first_member=10)


def _labels(ds) -> dict[str, list[str]]:
    return {dim: [str(v) for v in ds[dim].values] for dim in
            ("element", "producer", "region", "application", "holder", "market", "destination")}


def test_member_slice_builds_the_members_inputs():
    from reesim.datasets import load_inputs
    from reesim.model.build import build_model, member_slice

    model = build_model(load_scenario("baotou", UNCERTAIN), load_inputs(), 6, 2)
    part = member_slice(model, 2, 5)
    assert part.members == 3
    np.testing.assert_array_equal(part.params.price_adjustment_time_yr,
                                  model.params.price_adjustment_time_yr[2:5])
    np.testing.assert_array_equal(part.samples, model.samples[2:5])
