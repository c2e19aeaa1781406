"""Capacity dynamics: closures after sustained losses, restarts, project commitments, ramp-up."""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
from reesim import load_scenario, simulate
from reesim.model.mechanisms import capacity
from reesim.model.mechanisms.capacity import NEVER


def _setup(*overrides: str):
    m = model(*overrides)
    inp, mi = m.inputs.capacity, m.inputs.mining
    netback = np.zeros((1, len(inp.planned)))
    state = capacity.initial(inp, 1, netback)
    return m, inp, mi, state


def test_a_mine_closes_after_the_declared_months_of_losses_and_not_before():
    m, inp, mi, state = _setup()
    p = m.coords.producers.index("mount_weld")
    months = int(m.params.closure_after_loss_months[0])
    cost = mi.cash_cost_usd_per_kg
    losing = cost - 1.0                                                # netback below cash cost
    for t in range(months):
        assert not state.closed[0, p], t
        state = capacity.update(inp, t, state, losing, cost, mi.reference_netback_usd_per_kg)
    assert state.closed[0, p]
    assert not state.closed[0, m.coords.producers.index("bayan_obo")]  # a by-product never closes
    assert capacity.available_capacity(inp, months, state)[0, p] == 0.0


def test_a_closed_mine_restarts_a_restart_delay_after_its_expected_netback_recovers():
    m, inp, mi, state = _setup()
    p = m.coords.producers.index("mount_weld")
    closed = state.closed.copy()
    closed[0, p] = True
    rich = np.full_like(state.expected_netback, 1e3)                   # far above incentive
    state = state._replace(closed=closed, expected_netback=rich)
    delay = int(m.params.restart_months[0])
    for t in range(delay - 1):
        state = capacity.update(inp, t, state, rich, mi.cash_cost_usd_per_kg,
                                mi.reference_netback_usd_per_kg)
        assert state.closed[0, p], t
    state = capacity.update(inp, delay - 1, state, rich, mi.cash_cost_usd_per_kg,
                            mi.reference_netback_usd_per_kg)
    assert not state.closed[0, p] and state.reopen_at[0, p] == NEVER


def test_a_project_is_committed_when_it_pays_and_ramps_up_after_its_lead_time():
    m, inp, mi, state = _setup()
    p = m.coords.producers.index("nolans")
    assert inp.planned[p]
    t0 = int(inp.start_month[p])                                       # eligible from here on
    poor = np.zeros_like(state.expected_netback)
    state = state._replace(expected_netback=poor)
    state = capacity.update(inp, t0, state, poor, mi.cash_cost_usd_per_kg,
                            mi.reference_netback_usd_per_kg)
    assert state.online_at[0, p] == NEVER                              # does not pay: not built
    rich = np.full_like(poor, 1e3)
    state = state._replace(expected_netback=rich)
    state = capacity.update(inp, t0, state, rich, mi.cash_cost_usd_per_kg,
                            mi.reference_netback_usd_per_kg)
    online = t0 + int(inp.lead_time_months[p])
    assert state.online_at[0, p] == online
    ramp = float(m.params.ramp_up_months[0])
    cap = [capacity.available_capacity(inp, t, state)[0, p] for t in
           (online - 1, online, online + int(ramp) // 2 - 1, online + int(ramp) + 5)]
    nameplate = inp.nameplate_t_per_yr[p]
    np.testing.assert_allclose(cap, [0.0, nameplate / ramp, nameplate / 2, nameplate])


def test_fringe_capacity_grows_with_its_margin_up_to_its_cap():
    m, inp, mi, state = _setup()
    p = m.coords.producers.index("south_china_illegal")
    cost, ref = mi.cash_cost_usd_per_kg, mi.reference_netback_usd_per_kg
    high = np.full_like(cost, 1e4)
    for _ in range(240):                                               # same month: same base
        state = capacity.update(inp, 239, state, high, cost, ref)
    cap = float(m.params.illegal_max_multiple[0]) * inp.capacity_t_per_yr[239, p]
    np.testing.assert_allclose(state.illegal_capacity[0, p], cap, rtol=1e-3)


def _outlook_args(inp, supply_nd: float, demand_nd: float, stock_nd: float):
    from reesim.dims import ELEMENTS
    e = ELEMENTS.index("Nd")
    supply, demand, stock = (np.zeros((1, len(ELEMENTS))) for _ in range(3))
    supply[0, e], demand[0, e], stock[0, e] = supply_nd, demand_nd, stock_nd
    return {"supply": supply, "demand": demand, "stock": stock}


def test_a_foreseen_deficit_commits_the_cheapest_project_it_helps_one_a_month():
    m, inp, mi, state = _setup()
    names = m.coords.producers
    t = 12 * (2030 - m.timeline.start_year)
    viable = np.full_like(state.expected_netback, 1.0) * mi.cash_cost_usd_per_kg   # at cost
    state = state._replace(expected_netback=viable)
    short = _outlook_args(inp, supply_nd=50_000, demand_nd=80_000, stock_nd=0.0)
    after = capacity.update(inp, t, state, viable, mi.cash_cost_usd_per_kg,
                            mi.reference_netback_usd_per_kg, **short)
    committed = np.flatnonzero(after.online_at[0] < NEVER)
    assert len(committed) == 1                                  # one project a month
    p = committed[0]
    nd = m.coords.elements.index("Nd")
    assert inp.watched[p, nd]                                   # one built for NdPr
    eligible = inp.planned & inp.watched[:, nd] & (t + inp.lead_time_months >= inp.start_month)
    assert inp.incentive_usd_per_kg[0, p] == inp.incentive_usd_per_kg[0, eligible].min()
    assert after.online_at[0, p] == max(t + inp.lead_time_months[p], inp.start_month[p])
    # Nolans: its basket of 23.6 USD/kg (NdPr at 80) nets 16.2, under the first light tranche's
    # 20.3 (a generic tranche was chosen while the basket was compared as a netback)
    assert names[p] == "nolans"
    # committed capacity counts: the next month commits another only while the gap remains
    again = capacity.update(inp, t + 1, after, viable, mi.cash_cost_usd_per_kg,
                            mi.reference_netback_usd_per_kg, **short)
    assert (again.online_at[0] < NEVER).sum() == 2


def test_no_commitment_without_a_deficit_or_below_cash_cost():
    m, inp, mi, state = _setup()
    t = 12 * (2030 - m.timeline.start_year)
    viable = mi.cash_cost_usd_per_kg * 1.0
    state = state._replace(expected_netback=viable)
    ample = _outlook_args(inp, supply_nd=120_000, demand_nd=80_000, stock_nd=50_000)
    after = capacity.update(inp, t, state, viable, mi.cash_cost_usd_per_kg,
                            mi.reference_netback_usd_per_kg, **ample)
    assert (after.online_at[0] == NEVER).all()
    losing = mi.cash_cost_usd_per_kg * 0.9                      # would not cover its cash cost
    state = state._replace(expected_netback=losing)
    short = _outlook_args(inp, supply_nd=50_000, demand_nd=80_000, stock_nd=0.0)
    after = capacity.update(inp, t, state, losing, mi.cash_cost_usd_per_kg,
                            mi.reference_netback_usd_per_kg, **short)
    assert (after.online_at[0] == NEVER).all()


def test_investment_does_not_depend_on_when_the_run_ends(baotou_result):
    """Investors read demand beyond the run's last year: a run to 2031 makes the same decisions
    as the 2050 run up to 2031 (it held demand flat after 2031 before and built less: mine
    output differed by up to 100% for a producer in 2031)."""
    short = simulate(load_scenario("baotou", ["end_year=2031"])).dataset
    full = baotou_result.dataset.sel(time=short.time)
    for name in ("capacity_available", "mine_output", "price"):
        np.testing.assert_array_equal(short[name].values, full[name].values, err_msg=name)


def test_the_outlooks_choice_follows_numpys_argmin_and_min():
    """The compiled choice of the foreseen project (capacity._commit) keeps numpy's rules, which
    the packaged runs never meet: the first of equal incentive prices, none when a foreseen
    project's price is NaN (argmin picks it, min is NaN) or when the lowest is not finite."""
    incentive = np.array([50.0, 30.0, 30.0, 40.0])
    n_p = len(incentive)
    ones = np.ones((1, n_p))

    def chosen(prices: np.ndarray, foreseen: list[bool]) -> list[int]:
        flags = np.array([foreseen])
        online, _ = capacity._commit(
            0, np.full((1, n_p), NEVER), np.zeros((1, n_p), bool), flags, flags, True,
            prices[None, :],
            np.zeros(n_p, np.int64), np.full(n_p, 7, np.int64), np.ones((1, 0)), ones, ones,
            np.zeros(n_p, bool), ones, ones)
        return np.flatnonzero(online[0] < NEVER).tolist()

    assert chosen(incentive, [True] * 4) == [1]                          # first of equals
    assert chosen(incentive, [True, False, True, True]) == [2]
    assert chosen(np.array([50.0, np.nan, 30.0, 40.0]), [True] * 4) == []
    assert chosen(np.array([50.0, np.nan, 30.0, 40.0]), [True, False, True, True]) == [2]
    assert chosen(np.array([50.0, -np.inf, 30.0, 40.0]), [True] * 4) == []
    assert chosen(np.full(n_p, np.inf), [True] * 4) == []
    assert chosen(incentive, [False] * 4) == []


def test_a_project_whose_capacity_an_event_sets_is_not_counted_as_coming_supply():
    """Kvanefjeld, committed in 2019 to come online in 2026, is held at zero from 2021-12 by
    Greenland's uranium act (a `capacity` event): investors no longer count its nameplate as
    supply to come, nor commit it again (until 2026-12-08 they counted up to 24.6 kt/yr of it
    in 2022-2027, 36-64% of all pending capacity, and committed the generic tranches later)."""
    from reesim.model.mechanisms.capacity import NEVER, _pending

    m = model()
    inp = m.inputs.capacity
    p = m.coords.producers.index("kvanefjeld")
    t = (2023 - 2000) * 12
    assert inp.forced_online[t, p] and not inp.forced_online[(2020 - 2000) * 12, p]
    online_at = np.full((1, len(m.coords.producers)), NEVER, dtype=np.int64)
    online_at[0, p] = (2026 - 2000) * 12
    ramp = np.full((1, 1), 24.0)
    counted = _pending(t, online_at, inp.nameplate_t_per_yr, ramp, 10.0,
                       np.zeros(len(m.coords.producers), bool))
    assert counted[0, p] > 0.0                       # a committed project counts...
    held = _pending(t, online_at, inp.nameplate_t_per_yr, ramp, 10.0, inp.forced_online[t])
    assert held[0, p] == 0.0                         # ...unless an event sets its capacity


def test_restart_thresholds_scale_with_the_costs_the_multiplier_scales():
    """producers.csv builds a restart threshold as a basket of 1.5 x (cash cost + separation
    cost); a mine compares its expected netback with what that basket nets once the member's
    China cost multiplier has scaled the costs the run scales: both for a mine in China
    separated there, the separation cost alone for Myanmar's clays separated in South China,
    neither for Mount Weld separated in Malaysia. (For a day, 2026-12-08, Myanmar's whole
    netback was scaled: at a multiplier of 2.18 it needed 10.4 USD/kg where 5.6 is its rule's.)"""
    m, inp, _, _ = _setup("parameters.china_cost_multiplier=2.0")
    k = 2.0
    threshold = dict(zip(m.coords.producers, inp.incentive_usd_per_kg[0], strict=True))
    # (cash cost, separation cost where separated) from producers.csv and regions.csv
    assert threshold["maoniuping"] == pytest.approx(1.5 * (1.5 * k + 2.0 * k) * 0.9 - 2.0 * k)
    assert threshold["myanmar_clays"] == pytest.approx(1.5 * (3.0 + 2.0 * k) * 0.9 - 2.0 * k)
    assert threshold["mount_weld"] == pytest.approx(1.5 * (1.78 + 5.0) * 0.9 - 5.0, abs=0.01)
    # a closed Myanmar mine whose expected netback (8 USD/kg, 2.7 times its cash cost) beats
    # that threshold reopens after the restart delay
    _, _, mi, state = _setup("parameters.china_cost_multiplier=2.0")
    p = m.coords.producers.index("myanmar_clays")
    closed = state.closed.copy()
    closed[0, p] = True
    held = np.full_like(state.expected_netback, 8.0)
    state = state._replace(closed=closed, expected_netback=held)
    for t in range(int(m.params.restart_months[0])):
        state = capacity.update(inp, t, state, held, mi.cash_cost_usd_per_kg,
                                mi.reference_netback_usd_per_kg)
    assert not state.closed[0, p]
