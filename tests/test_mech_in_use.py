"""Products in use: Erlang lifetimes with the declared mean residence, starting at steady state."""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
from reesim.datasets import load_inputs
from reesim.dims import APPLICATIONS, DT_YR
from reesim.model.mechanisms import in_use


def _declared_lifetimes() -> np.ndarray:
    apps = load_inputs()["applications"].set_index("application").loc[list(APPLICATIONS)]
    return apps.lifetime_yr.to_numpy(float)


def test_mean_residence_in_use_is_the_declared_lifetime():
    inp = model().inputs.in_use
    n_a, shape = len(APPLICATIONS), inp.lifetime_shape
    stock = np.zeros((1, n_a, int(shape.max()), 1))
    pulse = np.ones((1, n_a, 1)) / DT_YR                               # 1 t into use, month 0
    months = np.arange(12 * 120)                                       # since the pulse
    released = np.zeros((len(months), n_a))
    for i in range(len(months)):
        use = in_use.age(inp, stock, pulse if i == 0 else np.zeros_like(pulse))
        stock = use.in_use
        released[i] = use.end_of_life[0, :, 0] * DT_YR
    assert np.all(np.abs(released.sum(axis=0) - 1.0) < 1e-3)          # (nearly) all came back
    mean_yr = (released * months[:, None]).sum(axis=0) / released.sum(axis=0) * DT_YR
    # each of the k stages is left with probability r a month: a mean of k / r months, which is
    # the declared lifetime plus about half a month per stage (monthly steps)
    lifetime = _declared_lifetimes()
    r = 1.0 - np.exp(-DT_YR * shape / lifetime)
    np.testing.assert_allclose(mean_yr, shape / r * DT_YR, rtol=1e-3)
    assert np.all(np.abs(mean_yr - lifetime) <= shape * DT_YR)


def test_in_use_stock_starts_in_steady_state_with_its_inflow():
    inp = model().inputs.in_use
    consumption = np.ones((len(APPLICATIONS), 2)) * 1000.0            # t/yr, two elements
    stock = in_use.steady_state(inp, 1, consumption)
    products = (consumption * inp.manufacturing_yield[:, None])[None]
    np.testing.assert_allclose(stock.sum(axis=2)[0], products[0] * _declared_lifetimes()[:, None])
    use = in_use.age(inp, stock, products)
    # a month later the stock has hardly moved and outflow is about the inflow
    np.testing.assert_allclose(use.in_use.sum(axis=2), stock.sum(axis=2), rtol=0.06)
    np.testing.assert_allclose(use.end_of_life, products, rtol=0.06)


def test_recycling_and_losses_add_up_to_end_of_life():
    inp = model().inputs.in_use
    eol = np.full((1, len(APPLICATIONS), 3), 100.0)
    split = np.full((2, len(APPLICATIONS)), 0.5)
    got = in_use.recycle(inp, 0, eol, split)
    np.testing.assert_allclose(got.recycled, eol * inp.eol_recycling[0][None, :, None])
    np.testing.assert_allclose(got.recycled + got.eol_losses, eol, rtol=1e-12)


@pytest.mark.parametrize("members", [1, 3, 16, 64])
def test_the_compiled_returns_by_market_are_numpys_einsum(members):
    """The recycle kernel sums over applications in the order of numpy's einsum (the harness
    sees the default run's values only): random flows of many magnitudes, any batch."""
    rng = np.random.default_rng(members)
    end_of_life = rng.random((members, 9, 17)) * 10.0 ** rng.uniform(-4, 6, (members, 9, 17))
    rate, split = rng.random(9), rng.random((2, 9))
    recycled = end_of_life * rate[None, :, None]
    got = in_use.recycle(in_use.InUseInputs(*[None] * 7, eol_recycling=rate[None]), 0,
                         end_of_life, split)
    np.testing.assert_array_equal(got.recycled, recycled)
    np.testing.assert_array_equal(got.eol_losses, end_of_life * (1.0 - rate[None, :, None]))
    np.testing.assert_array_equal(got.recycled_by_market,
                                  np.einsum("ka,mae->mke", split, recycled) * DT_YR)
