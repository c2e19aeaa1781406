"""China's export quota in two pools, 2012-2014 (``market.export_quota_pools: two``).

From 2012 MOFCOM issued the export quota as light (La-Nd) and medium/heavy (Sm-Lu, Y, Sc)
rare earth products (quotas.csv, export_quota_pools.csv): a heavy exporter could not ship on
light tonnage. Each pool falls on its own elements, pro rata within the pool or with one rent
per pool.
"""

from __future__ import annotations

import numpy as np
import pytest

from reesim import load_scenario, simulate
from reesim.datasets import load_inputs
from reesim.dims import ELEMENTS
from reesim.model.build import build_model
from reesim.model.quotas import quota_series

LIGHT = ["La", "Ce", "Pr", "Nd"]
HEAVY = [e for e in ELEMENTS if e not in LIGHT]
YEARS = ("2012", "2013", "2014")


def test_every_element_has_a_pool_and_the_pools_add_up_to_the_quota():
    data = load_inputs()
    pools = data["export_quota_pools"].set_index("element").pool
    assert sorted(pools.index) == sorted(ELEMENTS)
    assert set(pools[LIGHT]) == {"light"} and set(pools[HEAVY]) == {"medium_heavy"}
    years = np.arange(2010, 2016)
    total, light, heavy = (quota_series(data["quotas"], "export", segment, "national", years)
                           for segment in ("total", "light", "ionic"))
    split = np.isfinite(light) & np.isfinite(heavy)
    assert years[split].tolist() == [2012, 2013, 2014]
    np.testing.assert_allclose(light[split] + heavy[split], total[split], rtol=1e-3)


def _exports(run, elements):
    return run.exports.sum("exporter").sel(element=elements).sum("element")


@pytest.fixture(scope="module")
def runs():
    """``baotou`` to 2014 with one and two pools, under both quota rules (annual records)."""
    sets = ["end_year=2014", "output.frequency=year"]
    return {(pools, rule): simulate(load_scenario("baotou", [
        *sets, f"market.export_quota_pools={pools}", f"market.export_quota_rule={rule}"]))
        .dataset.isel(member=0)
        for pools in ("one", "two") for rule in ("pro_rata", "rent")}


@pytest.mark.parametrize("rule", ["pro_rata", "rent"])
def test_each_pool_holds_its_own_elements_exports(runs, rule):
    """With two pools the medium/heavy exports of 2012-2014 stay within the medium/heavy pool
    (3.6-3.9 kt) and the light within the light pool; with one pool the medium/heavy elements
    ship more than their pool in at least one of those years (4.5 kt in 2013 under pro rata,
    measured 2026-12-07): the split is not inert."""
    data = load_inputs()
    years = np.array([2012, 2013, 2014])
    light_quota = quota_series(data["quotas"], "export", "light", "national", years)
    heavy_quota = quota_series(data["quotas"], "export", "ionic", "national", years)
    two, one = runs[("two", rule)], runs[("one", rule)]
    heavy = _exports(two, HEAVY).sel(time=list(YEARS)).values
    light = _exports(two, LIGHT).sel(time=list(YEARS)).values
    assert (heavy <= heavy_quota * (1 + 1e-6)).all(), heavy
    assert (light <= light_quota * (1 + 1e-6)).all(), light
    assert (_exports(one, HEAVY).sel(time=list(YEARS)).values > heavy_quota * 1.02).any()


def test_one_rent_per_pool(runs):
    """Under the rent rule each pool has its own rent, the same for every element in it: in
    2013 the medium/heavy pool binds and the light one hardly (rents of about 80 and 1 USD/kg
    measured 2026-12-07); with one pool every element carries the same rent."""
    rent = runs[("two", "rent")].export_quota_rent.sel(time="2013").squeeze("time")
    heavy, light = rent.sel(element=HEAVY).values, rent.sel(element=LIGHT).values
    assert np.ptp(heavy) == 0.0 and np.ptp(light) == 0.0
    assert heavy[0] > 10.0 * max(light[0], 1e-9)
    one = runs[("one", "rent")].export_quota_rent.sel(time="2011").squeeze("time").values
    assert np.ptp(one) == 0.0 and one[0] > 0.0


def test_before_2012_the_pools_change_nothing(runs):
    """The quota of 2010-2011 was one pool: until 2012 the runs are the same numbers."""
    for rule in ("pro_rata", "rent"):
        two, one = runs[("two", rule)], runs[("one", rule)]
        np.testing.assert_array_equal(two.price.sel(time=slice("2000", "2011")).values,
                                      one.price.sel(time=slice("2000", "2011")).values)


def _pools(overrides):
    model = build_model(load_scenario("baotou", ["market.export_quota_pools=two", *overrides]),
                        load_inputs(), 1, 0)
    return model.timeline.year, model.inputs.market.export_quota_pool_t_per_yr


def test_a_quota_event_sets_one_pool_or_one_of_the_pools():
    """A user's export quota of segment total is a tonnage for every element together: in its
    months the pools are gone, outside them the record's pools stay. One of segment ionic sets
    the medium/heavy pool alone (here in 2020, when the record has no quota: light unlimited)."""
    event = ["events.q.type=quota", "events.q.kind=export", "events.q.start=2013-01",
             "events.q.end=2014-01", "events.q.value_t_reo_per_yr=20000"]
    year, pools = _pools(event)
    assert np.isinf(pools[year == 2013]).all()
    assert np.isfinite(pools[(year == 2012) | (year == 2014)]).all()
    year, pools = _pools([*event[:3], "events.q.segment=ionic", "events.q.start=2020-01",
                          "events.q.end=2021-01", "events.q.value_t_reo_per_yr=1000"])
    assert (pools[year == 2020, 1] == 1000.0).all() and np.isinf(pools[year == 2020, 0]).all()
    assert np.isinf(pools[year == 2021]).all()


def test_a_medium_heavy_quota_holds_those_exports_and_leaves_the_light_ones():
    """An export quota of 500 t/yr on the medium/heavy pool in 2020 holds those elements'
    exports to it while the light ones, with no pool of their own, go on as before (within 5%:
    China's market moves a little with the heavies kept at home)."""
    sets = ["end_year=2020", "output.frequency=year"]
    base = simulate(load_scenario("baotou", sets)).dataset.isel(member=0)
    capped = simulate(load_scenario("baotou", [
        *sets, "events.q.type=quota", "events.q.kind=export", "events.q.segment=ionic",
        "events.q.value_t_reo_per_yr=500", "events.q.start=2020-01"])).dataset.isel(member=0)
    assert float(_exports(base, HEAVY).sel(time="2020").squeeze()) > 2000.0
    assert float(_exports(capped, HEAVY).sel(time="2020").squeeze()) <= 500.0 * (1 + 1e-6)
    light = [float(_exports(run, LIGHT).sel(time="2020").squeeze()) for run in (base, capped)]
    assert light[1] == pytest.approx(light[0], rel=0.05)
