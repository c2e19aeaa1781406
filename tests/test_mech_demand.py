"""Demand: price response, the essential-element rule, thrifting and its slower rebound."""

from __future__ import annotations

import numpy as np

from mech import model
from reesim.dims import APPLICATIONS, ELEMENTS
from reesim.model.mechanisms import demand


def _prices(scale: float = 1.0) -> np.ndarray:
    ref = model().inputs.demand.reference_price_usd_per_kg
    return np.broadcast_to(ref * scale, (1, 2, len(ref))).copy()


def test_essential_elements_are_those_above_the_declared_share():
    inp = model().inputs.demand
    share = float(model().params.essential_share[0])
    first, _ = inp.essential_elements
    magnets = APPLICATIONS.index("magnets")
    assert ELEMENTS[first[magnets]] == "Nd" and inp.intensity[magnets, first[magnets]] >= share


def test_a_shortage_of_an_essential_element_stops_that_share_of_production():
    inp = model().inputs.demand
    need = demand.base_demand_by_market(inp, 0)[None] / 12.0          # (1, K, A, E) t a month
    total = need.sum(axis=2)
    stock = total * 10.0                                               # plenty of everything
    nd = ELEMENTS.index("Nd")
    stock[:, :, nd] = 0.5 * total[:, :, nd]                            # half the Nd needed
    used = demand.consume(inp, need, stock)
    magnets = APPLICATIONS.index("magnets")
    # magnets: half of every element, since Nd is essential to them
    np.testing.assert_allclose(used[0, :, magnets], 0.5 * need[0, :, magnets], rtol=1e-12)
    # an application for which Nd is minor loses (at most) its Nd share only
    for a, name in enumerate(APPLICATIONS):
        first, second = inp.essential_elements
        if nd in (first[a], second[a]) or need[0, 0, a, nd] == 0:
            continue
        others = [e for e in range(len(ELEMENTS)) if e != nd]
        np.testing.assert_allclose(used[0, :, a, others], need[0, :, a, others], rtol=1e-12,
                                   err_msg=name)
        break
    else:
        raise AssertionError("no application uses Nd as a minor element")


def test_demand_falls_when_prices_rise():
    inp = model().inputs.demand
    thrift = np.ones((1, len(APPLICATIONS), len(ELEMENTS)))
    long = np.ones((1, 2, len(APPLICATIONS)))
    cheap = demand.demand(inp, 0, demand.cost_index(inp, _prices(1.0), thrift), long, thrift)
    dear = demand.demand(inp, 0, demand.cost_index(inp, _prices(3.0), thrift), long, thrift)
    assert dear.sum() < cheap.sum()


def test_thrifting_reverses_slower_than_it_proceeds():
    inp = model().inputs.demand
    a, e = inp.thrift_pairs
    assert len(a) > 0
    long = np.ones((1, 2, len(APPLICATIONS)))
    current = np.ones((1, len(APPLICATIONS), len(ELEMENTS)))
    current[:, a, e] = 0.8
    price = _prices(1.0)                                               # target back to 1
    index = demand.cost_index(inp, price, current)
    _, up = demand.update_responses(inp, price, index, long, current)
    slowdown = float(model().params.rebound_slowdown[0])
    np.testing.assert_allclose(up[0, a, e] - 0.8, 0.2 * inp.thrift_rate[0] / slowdown,
                               rtol=1e-12)
    price = _prices(50.0)                                               # expensive: thrift
    index = demand.cost_index(inp, price, current)
    _, down = demand.update_responses(inp, price, index, long, current)
    target = np.maximum(np.minimum((50.0 / np.ones(len(a))) ** -inp.thrift_elasticity, 1.0),
                        inp.thrift_floor)
    moving = inp.thrift_relative_to < 0                                # vs its own price only
    np.testing.assert_allclose((down[0, a, e] - 0.8)[moving],
                               ((target - 0.8) * inp.thrift_rate[0])[moving], rtol=1e-9)
