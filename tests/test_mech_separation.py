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
    limit = np.full((1, 2, n_r), 1200.0)                               # t/yr: 100 t a month
    concentrate = np.zeros((1, 2, n_r, 16))
    concentrate[..., 0] = 100.0 * months
    got = separation.backlog_factor(inp, 0, concentrate, limit)
    assert got.shape == (1, n_p)
    np.testing.assert_allclose(got, factor)


MP_STOCKPILE = ["events.mp_stock.type=concentrate_stockpile",
                "events.mp_stock.producer=mountain_pass", "events.mp_stock.start=2025-04",
                "events.mp_stock.end=2026-01"]


def test_a_producer_that_stockpiles_concentrate_is_not_cut_by_the_backlog():
    # the same backlog stops every other mine and not the one that stockpiles
    inp = model(*MP_STOCKPILE).inputs.separation
    t = model().timeline.index("2025-06")
    n_r = len(inp.recovery)
    limit = np.full((1, 2, n_r), 1200.0)
    concentrate = np.full((1, 2, n_r, 16), 100.0 * 9.0 / 16)           # 9 months of feed
    got = separation.backlog_factor(inp, t, concentrate, limit)[0]
    stockpiling = inp.stockpiling[t]
    assert stockpiling.sum() == 1
    assert got[stockpiling].tolist() == [1.0]
    assert (got[~stockpiling] == 0.0).all()
    before = separation.backlog_factor(inp, model().timeline.index("2025-03"), concentrate,
                                       limit)[0]
    assert (before == 0.0).all()


def test_mountain_pass_mines_on_into_its_stockpile_when_its_china_route_closes():
    # MP 10-K: 50.7 kt REO mined in 2025, 8.9 kt of concentrate sold; the route to China
    # ends in April 2025 in baotou, and its own separation takes 16,600 t/yr. baotou carries the
    # stockpile event since 2026-12-04: the run without it drops the event
    from reesim import load_scenario, simulate

    runs = {}
    for name, extra in (("with", []),
                        ("without", ["events.mountain_pass_stockpiles_2025=null"])):
        ds = simulate(load_scenario("baotou", ["end_year=2026", *extra])).dataset
        mined = ds.mine_output.sel(producer="mountain_pass").sum("element")
        stock = ds.concentrate_stock.sel(region="usa").sum("element")
        runs[name] = (float(mined.sel(time="2025").mean()),
                      float(stock.sel(time="2025-12").squeeze()))
    assert runs["with"][0] > 1.3 * runs["without"][0]
    assert runs["with"][1] > runs["without"][1] + 10_000     # the stock it mined into



def test_mountain_pass_keeps_mining_once_its_separator_ramps():
    # the US separator ramps on MP's record (separation_capacity.csv: 33,100 t/yr of feed in
    # 2026, 38,200 from 2027); held at its 2025 rate (16,600) it kept the mine at 11-34% of its
    # capacity in 2026-2031, the first years of the DoD price floor meant to keep it running
    from reesim import load_scenario, simulate
    from reesim.indicators import mean_by_year

    ds = simulate(load_scenario("baotou", ["end_year=2031"])).dataset.isel(member=0)
    mined = mean_by_year(ds.mine_output.sel(producer="mountain_pass").sum("element"))
    capacity = mean_by_year(ds.capacity_available.sel(producer="mountain_pass"))
    share = (mined / capacity).sel(year=slice(2027, 2031))
    assert (share > 0.6).all(), share.values
    feed = mean_by_year(ds.separation_feed.sel(region="usa").sum("element"))
    assert float(feed.sel(year=2028)) > 0.8 * 38_200                 # near the nameplate

def test_separation_takes_what_capacity_allows_and_keeps_the_rest_in_stock():
    inp = model().inputs.separation
    n_r, n_p = len(inp.recovery), inp.toll.shape[1]
    output = np.zeros((1, n_p, 16))
    output[0, 0, :2] = (600.0, 600.0)                                  # Bayan Obo, t/yr
    region = separation.routing(inp, 0)[0].argmax()
    limit = np.zeros((1, 2, n_r))
    limit[:, 0] = 600.0                                                # quota-bound pool only
    got = separation.separate(inp, 0, np.zeros((1, 2, n_r, 16)), output, limit,
                              np.ones((1, 16)))
    feed = got.separation_feed[0, region]
    assert feed.sum() == pytest.approx(600.0)                          # half the inflow
    np.testing.assert_allclose(got.concentrate_stock[0, region, :2], 600.0 * DT_YR * 0.5)
    np.testing.assert_allclose(got.separation_output[0, region], feed * inp.recovery[region])
    np.testing.assert_allclose(got.separation_output + got.separation_losses,
                               got.separation_feed, rtol=1e-12)
    assert (got.separation_residue == 0.0).all()                       # every element wanted


@pytest.mark.parametrize(("months", "share"), [(0.0, 1.0), (24.0, 1.0), (36.0, 0.5),
                                               (48.0, 0.0), (120.0, 0.0)])
def test_separators_drop_an_element_linearly_between_two_years_and_four_of_stocks(months,
                                                                                  share):
    """The defaults: all separated up to 24 months of world demand held, none from 48."""
    inp = model().inputs.separation
    demand = np.full((1, 16), 1200.0)                                  # t/yr: 100 t a month
    held = np.zeros((1, 16))
    held[0, 3] = 100.0 * months                                        # Nd
    got = separation.separated_share(inp, held, demand)
    assert got.shape == (1, 16)
    assert got[0, 3] == pytest.approx(share)
    assert (np.delete(got[0], 3) == 1.0).all()


def test_what_separators_leave_unseparated_stays_in_the_residue_and_the_balance_closes():
    inp = model().inputs.separation
    n_r, n_p = len(inp.recovery), inp.toll.shape[1]
    output = np.zeros((1, n_p, 16))
    output[0, 0, :4] = 1200.0                                          # Bayan Obo: La-Nd
    region = separation.routing(inp, 0)[0].argmax()
    limit = np.full((1, 2, n_r), 1e9)
    share = np.ones((1, 16))
    share[0, 1] = 0.25                                                 # Ce glutted
    got = separation.separate(inp, 0, np.zeros((1, 2, n_r, 16)), output, limit, share)
    feed, rec = got.separation_feed[0, region], inp.recovery[region]
    np.testing.assert_allclose(got.separation_output[0, region, :4],
                               feed[:4] * rec * np.array([1.0, 0.25, 1.0, 1.0]))
    np.testing.assert_allclose(got.separation_residue[0, region, 1], feed[1] * rec * 0.75)
    assert (np.delete(got.separation_residue[0, region], 1) == 0.0).all()
    np.testing.assert_allclose(got.separation_output + got.separation_losses
                               + got.separation_residue, got.separation_feed, rtol=1e-12)


def test_a_separation_quota_caps_china_and_not_the_export_market():
    inp = model().inputs.separation
    t = 12 * 12                                                         # 2012
    limit = separation.separation_limit(inp, t, np.zeros((1, inp.toll.shape[1])))
    china = inp.china_region
    assert np.all(limit[0, 0, china] <= inp.quota_t_per_yr[t, china] * (1 + 1e-12))
    assert np.all(np.isinf(inp.quota_t_per_yr[t, ~china]))


def _year(year: int) -> int:
    return 12 * (year - 2000)


def test_the_separation_quota_follows_the_mining_quota_of_the_mines_separated_there():
    """2016: Bayan Obo held 59,500 t of the 105,000 t mining quota (quotas.csv), so Baotou's share
    of the 100,000 t separation quota is about 57%, not its share of separation capacity (44%)."""
    m = model()
    inp = m.inputs.separation
    t = _year(2016)
    baotou = list(m.coords.regions).index("baotou")
    share = inp.quota_t_per_yr[t, baotou] / inp.quota_t_per_yr[t, inp.china_region].sum()
    assert share == pytest.approx(59_500 / 105_000, abs=0.02)


def test_imported_ore_is_separated_outside_the_quota_in_idle_capacity():
    """Mountain Pass concentrate tolled in Sichuan (2018-2025) is not capped by the quota."""
    m = model()
    inp = m.inputs.separation
    t = _year(2020)
    p = list(m.coords.producers).index("mountain_pass")
    sichuan = list(m.coords.regions).index("sichuan")
    assert inp.exempt[t, p] and not inp.exempt[t, 0]                    # Bayan Obo is bound
    output = np.zeros((1, inp.toll.shape[1], 16))
    output[0, p, 0] = 40_000.0                                          # t/yr
    limit = np.zeros((1, 2, len(inp.recovery)))
    limit[0, 0, sichuan], limit[0, 1, sichuan] = 0.0, 60_000.0           # quota used up
    got = separation.separate(inp, t, np.zeros((1, 2, len(inp.recovery), 16)), output, limit,
                              np.ones((1, 16)))
    assert got.separation_feed[0, sichuan].sum() == pytest.approx(40_000.0)
    assert got.concentrate_pools[0, 1].sum() == pytest.approx(0.0, abs=1e-9)


def test_imported_ore_comes_under_the_quota_in_august_2025():
    """The Aug 2025 Interim Measures (policy.csv 2025-08-22) in baotou: exempt before, not after."""
    m = model()
    inp = m.inputs.separation
    p = list(m.coords.producers).index("myanmar_clays")
    assert inp.exempt[_year(2025) + 6, p] and not inp.exempt[_year(2025) + 7, p]
    assert inp.covers_imports[_year(2030)]
    # volume-neutral: the quota grows by the imported mines' capacity routed to China
    exempt = model("events.imported_ore_under_quota_2025.covers_imported_ore=false")
    t = _year(2027)
    grown = inp.quota_t_per_yr[t, inp.china_region].sum()
    kept = exempt.inputs.separation.quota_t_per_yr[t, inp.china_region].sum()
    # capacity_history.csv: Myanmar 43,000 + SE Asia 5,000 + Serra Verde 5,000 + Africa 4,200
    # + other monazite 700 t REO/yr, all separated in South China
    assert grown - kept == pytest.approx(57_900, rel=0.01)


def test_without_the_exemption_imported_ore_waits_for_quota_room():
    """Mechanism check: a quota that covers imports stops imports from using idle capacity."""
    m = model("events.imports_all.type=quota", "events.imports_all.kind=separation",
              "events.imports_all.covers_imported_ore=true", "events.imports_all.start=2000-01")
    inp = m.inputs.separation
    p = list(m.coords.producers).index("mountain_pass")
    assert not inp.exempt[_year(2020), p]


def test_dy_is_separated_outside_china_only_from_lynas_2025_circuit():
    """Lynas made the first Dy oxide outside China in May 2025 (heavy_separation.csv): before it
    Malaysia's Dy and Tb go to China in a mixed concentrate, its Nd is sold for export but for
    the share Chinese buyers take (china_offtake.csv), and after it the Dy and Tb stay abroad."""
    m = model()
    inp = m.inputs.separation
    malaysia = list(m.coords.regions).index("malaysia")
    dy, tb, nd = (m.coords.elements.index(e) for e in ("Dy", "Tb", "Nd"))
    output = np.zeros((1, len(inp.recovery), 16))
    output[0, malaysia, [dy, tb, nd]] = (100.0, 50.0, 1000.0)
    before_c, before_x = separation.deliveries(inp, _year(2025) + 3, output)     # Apr 2025
    after_c, after_x = separation.deliveries(inp, _year(2025) + 4, output)       # May 2025
    share = inp.to_china[_year(2025), malaysia, nd]
    assert share == pytest.approx(0.506)                                        # held from 2023
    assert before_c[0, dy] == 100.0 and before_x[0, dy] == 0.0
    assert before_c[0, nd] == 1000.0 * share and before_x[0, nd] == 1000.0 - 1000.0 * share
    assert after_x[0, dy] == 100.0 and after_x[0, tb] == 50.0
    assert after_c[0].sum() == after_c[0, nd] == 1000.0 * share
    np.testing.assert_allclose(before_c + before_x, output.sum(axis=1))        # nothing lost
    sm = m.coords.elements.index("Sm")
    assert inp.to_china[_year(2030), malaysia, sm] == 1.0                       # SEG still to China


def test_china_offtake_follows_the_comtrade_shares_of_lynas_output():
    """china_offtake.csv: China's imports from Malaysia / Lynas' output, by year, La-Nd only;
    Chinese regions sell everything in China and other foreign separators nothing."""
    m = model()
    inp = m.inputs.separation
    regions = list(m.coords.regions)
    malaysia, usa, baotou = (regions.index(r) for r in ("malaysia", "usa", "baotou"))
    la, nd, sm = (m.coords.elements.index(e) for e in ("La", "Nd", "Sm"))
    assert inp.to_china[_year(2015), malaysia, nd] == 0.0                        # no record
    assert inp.to_china[_year(2017), malaysia, la] == 0.667
    assert inp.to_china[_year(2021) + 11, malaysia, nd] == 0.322                 # Dec 2021
    assert inp.to_china[_year(2022) + 11, malaysia, nd] == 0.44
    assert inp.to_china[_year(2040), malaysia, la] == 0.506
    assert inp.to_china[_year(2020), malaysia, sm] == 1.0                        # mixed concentrate
    assert inp.to_china[_year(2020), usa, nd] == 0.0
    assert (inp.to_china[:, baotou] == 1.0).all()
    output = np.random.default_rng(0).uniform(0.0, 5e4, (3, len(regions), 16))
    china, abroad = separation.deliveries(inp, _year(2019), output)
    np.testing.assert_allclose(china + abroad, output.sum(axis=1), rtol=1e-15)   # nothing lost
    assert china[:, nd] == pytest.approx(
        output[:, inp.to_china[_year(2019), :, nd] == 1.0, nd].sum(axis=1)
        + 0.589 * output[:, malaysia, nd], rel=1e-12)
