"""The magnet layer's arithmetic: routing of the magnets demand, shipping, controls on magnets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mech import context, model
from reesim.dims import APPLICATIONS, DT_YR, ELEMENTS
from reesim.model.mechanisms import magnets

MAG = APPLICATIONS.index("magnets")


def _need(members: int = 2) -> np.ndarray:
    """A demand array (M, K, A, E) t/yr with distinct positive entries."""
    rng = np.random.default_rng(1)
    return rng.uniform(10.0, 1000.0, (members, 2, len(APPLICATIONS), len(ELEMENTS)))


def _inputs(licensed: float, share: float = 0.2, spare: float = 0.2) -> magnets.MagnetInputs:
    inp = model().inputs.magnets
    return dataclasses.replace(inp, china_export_share=np.array([share]),
                               licensed=np.array([licensed]),
                               spare_capacity=np.full((2, 1), spare))


def test_without_magnet_controls_the_demand_passes_through_bit_for_bit():
    need = _need()
    routing = magnets.route(_inputs(1.0), 0, need)
    assert np.array_equal(routing.need_rate, need)
    assert not routing.cut.any()
    d = need[:, :, MAG]
    # users: China keeps (1 - x) of China's makers' output, users abroad get the rest
    np.testing.assert_allclose(routing.users[:, 0], 0.8 * d[:, 0], rtol=1e-12)
    np.testing.assert_allclose(routing.users[:, 1], d[:, 1] + 0.2 * d[:, 0], rtol=1e-12)


@pytest.mark.parametrize("spare", [0.0, 0.2, 5.0])
def test_a_magnet_ban_moves_demand_abroad_up_to_spare_capacity_and_cuts_the_rest(spare):
    need = _need()
    routing = magnets.route(_inputs(0.0, share=0.2, spare=spare), 0, need)
    d = need[:, :, MAG]
    exports = 0.2 * d[:, 0]
    replaced = np.minimum(exports, spare * d[:, 1])
    np.testing.assert_allclose(routing.need_rate[:, 0, MAG], d[:, 0] - exports, rtol=1e-12)
    np.testing.assert_allclose(routing.need_rate[:, 1, MAG], d[:, 1] + replaced, rtol=1e-12)
    np.testing.assert_allclose(routing.cut, exports - replaced, rtol=1e-12, atol=1e-9)
    # nothing is lost: routed demand + cut = the demand module's demand
    np.testing.assert_allclose(routing.need_rate.sum(axis=1)[:, MAG] + routing.cut,
                               need.sum(axis=1)[:, MAG], rtol=1e-12)
    others = [a for a in range(len(APPLICATIONS)) if a != MAG]
    assert np.array_equal(routing.need_rate[:, :, others], need[:, :, others])


def test_magnets_are_shipped_to_users_and_only_controls_leave_users_abroad_short():
    inp = _inputs(0.5, share=0.2, spare=0.0)
    need = _need()
    routing = magnets.route(inp, 0, need)
    used = routing.need_rate * DT_YR                       # every oxide need met
    shipped = magnets.ship(inp, routing, used)
    y = inp.magnet_yield
    np.testing.assert_allclose(shipped.magnet_output, routing.need_rate[:, :, MAG] * y,
                               rtol=1e-12)
    np.testing.assert_allclose(shipped.magnet_trade.sum(axis=2), shipped.magnet_output,
                               rtol=1e-12)
    assert not shipped.magnet_trade[:, 1, 0].any()         # makers abroad do not ship to China
    np.testing.assert_allclose(shipped.magnet_trade[:, 0, 1],
                               0.5 * 0.2 * need[:, 0, MAG] * y, rtol=1e-12)
    np.testing.assert_allclose(shipped.magnet_shortfall[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(shipped.magnet_shortfall[:, 1], routing.cut * y, rtol=1e-12)


def test_an_oxide_shortage_in_china_is_shared_by_chinas_users_and_its_export_buyers():
    inp = _inputs(1.0, share=0.25)
    need = _need()
    routing = magnets.route(inp, 0, need)
    used = routing.need_rate * DT_YR
    used[:, 0] *= 0.6                                       # China's makers get 60% of oxide
    shipped = magnets.ship(inp, routing, used)
    y = inp.magnet_yield
    np.testing.assert_allclose(shipped.magnet_trade[:, 0, 0], 0.6 * 0.75 * need[:, 0, MAG] * y,
                               rtol=1e-12)
    np.testing.assert_allclose(shipped.magnet_shortfall[:, 0], 0.4 * 0.75 * need[:, 0, MAG] * y,
                               rtol=1e-12)
    np.testing.assert_allclose(shipped.magnet_shortfall[:, 1], 0.4 * 0.25 * need[:, 0, MAG] * y,
                               rtol=1e-12)


@pytest.mark.parametrize("elements,products,controlled", [
    ("[Dy, Tb]", "[magnet]", True),
    ("[Dy]", "[oxide, magnet]", True),
    ("[La, Ce]", "[magnet]", False),        # not in the model's magnet
    ("[Dy, Tb]", "[oxide]", False),         # oxides only (the default)
])
def test_export_control_events_license_magnets_only_when_named_and_contained(
        elements, products, controlled):
    m = model("end_year=2032", "events.ban.type=export_control",
              f"events.ban.elements={elements}", f"events.ban.products={products}",
              "events.ban.licensed_fraction=0.25", "events.ban.start=2030-01",
              "events.ban.end=2031-01")
    t0 = (2030 - m.timeline.start_year) * 12
    licensed = m.inputs.magnets.licensed
    assert licensed[t0 - 1] == 1.0 and licensed[t0 + 12] == 1.0
    np.testing.assert_array_equal(licensed[t0:t0 + 12], 0.25 if controlled else 1.0)
    e = ELEMENTS.index(elements[1:3].strip(","))
    before = model("end_year=2032").inputs.market.export_licensed[t0, e]   # baotou's own controls
    oxide = m.inputs.market.export_licensed[t0, e]
    assert oxide == pytest.approx(before * (0.25 if "oxide" in products else 1.0))


def test_china_export_share_follows_the_packaged_table():
    ctx = context()
    table = ctx.data["magnet_trade"].set_index("year").china_export_share_fraction
    inp = model().inputs.magnets
    mid_2010 = (2010 - ctx.timeline.start_year) * 12 + 6
    assert inp.china_export_share[mid_2010] == pytest.approx(table[2010], abs=1e-3)
    assert inp.china_export_share[0] == pytest.approx(table.iloc[0])     # flat before
    assert 0.1 < inp.china_export_share.min() and inp.china_export_share.max() < 0.3
