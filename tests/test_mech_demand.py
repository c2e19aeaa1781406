"""Demand: price response, the essential-element rule, thrifting and its slower rebound."""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
from reesim.dims import APPLICATIONS, ELEMENTS
from reesim.model.compiled import einsum_dot
from reesim.model.mechanisms import demand


def _prices(scale: float = 1.0) -> np.ndarray:
    ref = model().inputs.demand.reference_price_usd_per_kg
    return np.broadcast_to(ref * scale, (1, 2, len(ref))).copy()


def test_essential_elements_are_those_above_the_declared_share():
    inp = model().inputs.demand
    share = float(model().params.essential_share[0])
    first, _ = inp.essential_elements
    magnets = APPLICATIONS.index("magnets")
    assert ELEMENTS[first[magnets]] == "Nd" and inp.intensity[0, magnets, first[magnets]] >= share


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
    cheap = demand.demand(inp, 0, demand.cost_index(inp, 0, _prices(1.0), thrift), long, thrift)
    dear = demand.demand(inp, 0, demand.cost_index(inp, 0, _prices(3.0), thrift), long, thrift)
    assert dear.sum() < cheap.sum()


def test_thrifting_reverses_slower_than_it_proceeds():
    inp = model().inputs.demand
    a, e = inp.thrift_pairs
    assert len(a) > 0
    long = np.ones((1, 2, len(APPLICATIONS)))
    current = np.ones((1, len(APPLICATIONS), len(ELEMENTS)))
    current[:, a, e] = 0.8
    price = _prices(1.0)                                               # target back to 1
    index = demand.cost_index(inp, 0, price, current)
    _, up = demand.update_responses(inp, price, index, long, current)
    slowdown = float(model().params.rebound_slowdown[0])
    np.testing.assert_allclose(up[0, a, e] - 0.8, 0.2 * inp.thrift_rate[0] / slowdown,
                               rtol=1e-12)
    price = _prices(50.0)                                               # expensive: thrift
    index = demand.cost_index(inp, 0, price, current)
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
    nominal = demand.cost_index(inp, 0, dear, thrift)
    real = demand.cost_index(inp, 0, demand.real_price(inp, t2020, dear), thrift)
    assert (real < nominal).all()


def test_every_element_has_demand_and_a_sourced_anchor():
    """All 16 elements are used by some application and none keeps the old 24.55 placeholder."""
    inp = model().inputs.demand
    assert (inp.intensity[0].sum(axis=0) > 0).all(), [
        e for e, used in zip(ELEMENTS, inp.intensity[0].sum(axis=0) > 0, strict=True) if not used]
    ref = dict(zip(ELEMENTS, inp.reference_price_usd_per_kg, strict=True))
    assert [e for e in ("Ho", "Tm", "Yb", "Lu", "Sc") if ref[e] == 24.55] == []
    assert ref["Lu"] > ref["Tm"] > ref["Ho"] > ref["Yb"]      # the 2020 listed-price order


def _with_gbd(factor: float = 0.5):
    """baotou with Dy in magnets scaled by ``factor`` from 2012, ramped over four years."""
    from reesim import load_scenario
    from reesim.scenario.loader import merge, validate

    event = {"type": "intensity", "applications": ["magnets"], "elements": ["Dy"],
             "factor": factor, "start": "2012-01", "ramp_yr": 4}
    return validate(merge(load_scenario("baotou").model_dump(mode="json"),
                          {"events": {"gbd": event}}), "test")


def test_an_intensity_event_ramps_one_elements_share_and_leaves_the_rest():
    from reesim.datasets import load_inputs
    from reesim.model.build import build_model

    inp = build_model(_with_gbd(), load_inputs(), 1, 0).inputs.demand
    base = model().inputs.demand.intensity
    tl = model().timeline
    magnets, dy = APPLICATIONS.index("magnets"), ELEMENTS.index("Dy")
    before, halfway, after = (tl.index(m) for m in ("2011-12", "2013-12", "2016-01"))
    assert inp.intensity[before, magnets, dy] == base[before, magnets, dy]
    np.testing.assert_allclose(inp.intensity[halfway, magnets, dy] / base[0, magnets, dy], 0.75)
    np.testing.assert_allclose(inp.intensity[after:, magnets, dy] / base[0, magnets, dy], 0.5)
    others = np.ones(base.shape, bool)
    others[:, magnets, dy] = False
    assert (inp.intensity[others] == base[others]).all()


def test_an_intensity_event_cuts_that_elements_demand_and_investors_see_it():
    from reesim import load_scenario, simulate
    from reesim.model.mechanisms.capacity import outlook

    def dy_in_magnets_2020(scenario) -> float:
        ds = simulate(scenario).dataset.sel(element="Dy", application="magnets")
        return float(ds.demand.isel(member=0).sel(time=slice("2020-01", "2020-12")).mean())

    plain, halved = dy_in_magnets_2020(load_scenario("baotou")), dy_in_magnets_2020(_with_gbd())
    assert halved < 0.6 * plain, (plain, halved)        # halved, give or take the price response
    from mech import context
    from reesim.datasets import load_inputs
    from reesim.model.build import build_context

    dy, t = ELEMENTS.index("Dy"), model().timeline.index("2012-01")
    growth_plain = outlook(context())[2][t, dy]
    growth_gbd = outlook(build_context(_with_gbd(), load_inputs(), 1, 0)[0])[2][t, dy]
    assert growth_gbd < 0.8 * growth_plain, (growth_plain, growth_gbd)


def _signed(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Random numbers of many magnitudes, both signs, some zeros."""
    return (rng.choice([-1.0, 1.0], shape) * rng.random(shape)
            * 10.0 ** rng.uniform(-3, 4, shape) * (rng.random(shape) > 0.1))


@pytest.mark.parametrize("elements", [1, 3, 8, 9, 16, 17, 25])
def test_the_compiled_einsum_dot_is_numpys_einsum(elements):
    """The kernels' einsum_dot sums in the order of numpy's einsum on this build (the harness
    sees the default run's numbers only); a numpy built for other SIMD would fail here."""
    rng = np.random.default_rng(elements)
    for _ in range(200):
        a, b = _signed(rng, elements), _signed(rng, elements)
        assert einsum_dot(a, b) == np.einsum("e,e->", a, b)
        rows = _signed(rng, 3, 2, elements)[:, 0]                  # rows of a strided view
        assert [einsum_dot(r, b) for r in rows] == list(np.einsum("me,e->m", rows, b))


@pytest.mark.parametrize("members", [1, 3, 16, 64])
def test_the_compiled_cost_index_is_numpys_einsums(members):
    """cost_index's kernel gives numpy's einsums' numbers on random prices, in any batch."""
    inp = model().inputs.demand
    rng = np.random.default_rng(members)
    price = rng.random((members, 2, len(ELEMENTS))) * 10.0 ** rng.uniform(0, 3, (members, 2, 1))
    thrift = 0.5 + 0.5 * rng.random((members, len(APPLICATIONS), len(ELEMENTS)))
    weights = inp.intensity[5][None, :, :] * thrift
    want = (np.einsum("mke,mae->mka", price, weights)
            / np.einsum("mae,e->ma", weights, inp.reference_price_usd_per_kg)[:, None, :])
    np.testing.assert_array_equal(demand.cost_index(inp, 5, price, thrift), want)
