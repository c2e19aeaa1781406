"""Separation mechanism: capacity limit, recovery bookkeeping and the backlog brake on mines."""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
from reesim.dims import DT_YR
from reesim.model.mechanisms import separation


@pytest.mark.parametrize(("months", "factor"), [(0.0, 1.0), (3.0, 1.0), (4.5, 0.5), (6.0, 0.0),
                                                (9.0, 0.0)])
def test_mines_slow_down_linearly_between_a_full_and_a_stopping_backlog(months, factor):
    inp = model().inputs.separation
    n_r, n_p = len(inp.recovery), inp.toll.shape[1]
    limit = np.full((1, n_r), 1200.0)                                  # t/yr: 100 t a month
    concentrate = np.zeros((1, n_r, 16))
    concentrate[..., 0] = 100.0 * months
    got = separation.backlog_factor(inp, 0, concentrate, limit)
    assert got.shape == (1, n_p)
    np.testing.assert_allclose(got, factor)


def test_separation_takes_what_capacity_allows_and_keeps_the_rest_in_stock():
    inp = model().inputs.separation
    n_r, n_p = len(inp.recovery), inp.toll.shape[1]
    output = np.zeros((1, n_p, 16))
    output[0, 0, :2] = (600.0, 600.0)                                  # Bayan Obo, t/yr
    region = separation.routing(inp, 0)[0].argmax()
    limit = np.full((1, n_r), 600.0)
    got = separation.separate(inp, 0, np.zeros((1, n_r, 16)), output, limit)
    feed = got.separation_feed[0, region]
    assert feed.sum() == pytest.approx(600.0)                          # half the inflow
    np.testing.assert_allclose(got.concentrate_stock[0, region, :2], 600.0 * DT_YR * 0.5)
    np.testing.assert_allclose(got.separation_output[0, region], feed * inp.recovery[region])
    np.testing.assert_allclose(got.separation_output + got.separation_losses,
                               got.separation_feed, rtol=1e-12)


def test_a_separation_quota_caps_china_and_not_the_export_market():
    inp = model().inputs.separation
    t = 12 * 12                                                         # 2012
    limit = separation.separation_limit(inp, t, np.zeros((1, inp.toll.shape[1])))
    china = inp.china_region
    assert np.all(limit[0, china] <= inp.quota_t_per_yr[t, china] * (1 + 1e-12))
    assert np.all(np.isinf(inp.quota_t_per_yr[t, ~china]))
