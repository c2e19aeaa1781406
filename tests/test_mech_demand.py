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


def test_demand_sees_prices_in_reference_year_dollars():
    """A 2020 price is deflated by CPI(2007)/CPI(2020) (BLS CPI-U: 207.342/258.811 = 0.801)."""
    inp = model().inputs.demand
    start = model().timeline.start_year
    t2007, t2020, t2045 = (12 * (y - start) for y in (2007, 2020, 2045))
    price = _prices(1.0)
    np.testing.assert_allclose(demand.real_price(inp, t2007, price), price, rtol=1e-12)
    np.testing.assert_allclose(demand.real_price(inp, t2020, price), price * 207.342 / 258.811,
                               rtol=1e-9)
    # after the last CPI year the index holds: projection prices are in dollars of that year
    np.testing.assert_allclose(inp.deflator[t2045], inp.deflator[12 * (2024 - start)])
    # the same nominal price weighs less on demand in 2020 than in 2007
    thrift = np.ones((1, len(APPLICATIONS), len(ELEMENTS)))
    dear = _prices(3.0)
    nominal = demand.cost_index(inp, dear, thrift)
    real = demand.cost_index(inp, demand.real_price(inp, t2020, dear), thrift)
    assert (real < nominal).all()


def test_every_element_has_demand_and_a_sourced_anchor():
    """All 16 elements are used by some application and none keeps the old 24.55 placeholder."""
    inp = model().inputs.demand
    assert (inp.intensity.sum(axis=0) > 0).all(), [
        e for e, used in zip(ELEMENTS, inp.intensity.sum(axis=0) > 0, strict=True) if not used]
    ref = dict(zip(ELEMENTS, inp.reference_price_usd_per_kg, strict=True))
    assert [e for e in ("Ho", "Tm", "Yb", "Lu", "Sc") if ref[e] == 24.55] == []
    assert ref["Lu"] > ref["Tm"] > ref["Ho"] > ref["Yb"]      # the 2020 listed-price order
