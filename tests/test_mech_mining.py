"""Mining mechanism: quota allocation, co-production, reserves, and quota events."""

from __future__ import annotations

import numpy as np
import pytest

from mech import context, model
from reesim import load_scenario, simulate
from reesim.dims import DT_YR
from reesim.model.mechanisms import mining
from reesim.model.mechanisms.mining import SEGMENTS


def _segment_members(ctx, segment: str) -> np.ndarray:
    p = ctx.producers
    return (p.quota_segment == segment).to_numpy() & p.legal.to_numpy(bool)


def test_mining_quota_allocation_sums_to_each_segment_quota():
    ctx = context()
    segments = mining.draft(ctx)["mining_quota_segments_t_per_yr"]
    per_producer = mining.allocate_quota(ctx, segments)
    t = ctx.timeline.index("2012-06")
    for s, name in enumerate(SEGMENTS):
        members = _segment_members(ctx, name)
        assert np.isfinite(segments[t, s])
        assert per_producer[t, members].sum() == pytest.approx(segments[t, s], rel=1e-9)
    # producers outside the segments are never capped, and no quota before quotas existed
    assert np.all(np.isinf(per_producer[t, (ctx.producers.quota_segment == "none").to_numpy()]))
    assert np.all(np.isinf(per_producer[0]))


def test_output_is_the_deposit_mix_and_ore_is_output_over_recovery():
    inp = model().inputs.mining
    n_p = len(inp.distribution)
    output = np.full((1, n_p), 1000.0)
    reserves = np.full((1, n_p), np.inf)
    netback = np.ones((1, n_p))
    got = mining.extract(inp, 0, output, reserves, netback)
    np.testing.assert_allclose(got.mine_output[0], 1000.0 * inp.distribution)
    legal = ~inp.byproduct
    np.testing.assert_allclose(got.ore_mined[0, legal].sum(axis=1),
                               1000.0 / inp.mining_recovery[legal])
    np.testing.assert_allclose(got.mine_output + got.tailings_inflow, got.ore_mined, rtol=1e-12)


def test_reserves_fall_by_exactly_the_ore_mined_less_the_additions():
    ds = simulate(load_scenario("baotou", ["end_year=2012"])).dataset.isel(member=0)
    finite = np.isfinite(ds.reserves_initial.values)
    assert finite.any()
    ore = ds.ore_mined.sum("element").values[:, finite]
    added = ds.reserve_additions.values[:, finite]
    fallen = ds.reserves_initial.values[finite] - ds.reserves.values[:, finite]
    np.testing.assert_allclose(fallen, np.cumsum((ore - added) * DT_YR, axis=0), rtol=1e-9,
                               atol=1e-6)
    assert (added > 0).any() and (added <= ore * (1 + 1e-12)).all()   # ratio 1: at most mined


def test_without_replacement_a_reserve_runs_out_and_the_mine_stops():
    ds = simulate(load_scenario("baotou", ["constants.reserve_replacement_ratio=0"])).dataset
    res = ds.reserves.sel(producer="eneabba").isel(member=0)
    assert float(ds.reserve_additions.sum()) == 0.0
    gone = res.where(res <= 1e-6, drop=True)
    assert gone.size > 0                                       # the 2024 stockpile is mined out
    after = ds.mine_output.sel(producer="eneabba").sum("element").isel(member=0).sel(
        time=slice(gone.time.values[0], None)).isel(time=slice(1, None))   # the months after
    assert float(after.max()) < 1.0


def test_a_mining_quota_event_before_packaged_quotas_sets_a_quota_and_no_nan():
    scen = load_scenario("baotou", scen_sets())
    ds = simulate(scen).dataset
    quota = ds.china_mining_quota.sel(time=slice("2002-01", "2003-12")).values
    np.testing.assert_allclose(quota, 40000.0)
    assert np.isinf(ds.china_mining_quota.sel(time="2001-06").values).all()
    for name in ds.data_vars:
        assert not np.isnan(ds[name].values).any(), name
    ctx = context(*scen_sets())
    capped = _segment_members(ctx, "light") | _segment_members(ctx, "ionic")
    output = ds.mine_output.isel(member=0).sum("element").sel(time="2002-06").values[0]
    assert output[capped].sum() <= 40000.0 * (1 + 1e-9)


def scen_sets() -> list[str]:
    return ["end_year=2005", "events.q.type=quota", "events.q.kind=mining",
            "events.q.value_t_reo_per_yr=40000", "events.q.start=2002-01", "events.q.end=2004-01"]


def test_mining_quota_events_apply_when_packaged_quotas_are_off():
    sets = ["end_year=2012", "policy.mining_quotas=none", "events.q.type=quota",
            "events.q.kind=mining", "events.q.segment=light",
            "events.q.value_t_reo_per_yr=30000", "events.q.start=2010-01"]
    ctx = context(*sets)
    inp = model(*sets).inputs.mining
    t = ctx.timeline.index("2011-01")
    members = _segment_members(ctx, "light")
    assert inp.quota_t_per_yr[t, members].sum() == pytest.approx(30000.0)
    assert np.all(np.isinf(inp.quota_t_per_yr[ctx.timeline.index("2009-06")]))


def test_a_total_quota_after_a_zero_quota_is_split_by_the_published_shares():
    # found by the property test: two total events, the first of 0 t, gave 0/0 (NaN)
    sets = ["end_year=2012", "events.a.type=quota", "events.a.kind=mining",
            "events.a.value_t_reo_per_yr=0", "events.a.start=2010-01",
            "events.b.type=quota", "events.b.kind=mining", "events.b.value_t_reo_per_yr=50000",
            "events.b.start=2011-01"]
    ctx = context(*sets)
    inp = model(*sets).inputs.mining
    t = ctx.timeline.index("2011-06")
    np.testing.assert_allclose(inp.national_quota_t_per_yr[t], 50000.0)
    assert not np.isnan(inp.quota_t_per_yr).any()
    light = _segment_members(ctx, "light")
    assert 0 < inp.quota_t_per_yr[t, light].sum() < 50000.0


def test_a_reserve_dated_after_the_run_start_adds_back_the_ore_mined_before_its_date():
    """Maoniuping: 1.30 Mt REO at end-2007 (aw2) plus the REO in ore of its 2000-2006 record
    (108,700 t output / 0.6 recovery, capacity_history.csv) at the 2000 start; a run starting in
    2007 adds nothing before 2007."""
    m = model()
    p = list(m.coords.producers).index("maoniuping")
    assert m.inputs.mining.reserves_t[p] == pytest.approx(1_300_000 + 108_700 / 0.6, rel=1e-6)
    late = model("start_year=2007")
    assert late.inputs.mining.reserves_t[p] == pytest.approx(1_300_000, rel=1e-9)


def test_reserves_at_the_start_do_not_depend_on_the_run_s_last_year():
    """A reserve dated after the run start gets back the ore mined up to its year, counted from
    the record whatever the run's end: a run to 2009 starts with the reserves of a run to 2050
    (it started 2.2 Mt of REO short at Bayan Obo, whose reserve is dated 2014)."""
    from reesim import load_scenario, simulate

    short = simulate(load_scenario("baotou", ["end_year=2009"])).dataset
    long = simulate(load_scenario("baotou", ["end_year=2030"])).dataset
    np.testing.assert_array_equal(short.reserves.isel(time=0).values,
                                  long.reserves.isel(time=0).values)
