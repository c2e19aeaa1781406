"""The tonnage export quota's rent (``market.export_quota_rule: rent``, ``market/arbitrage.py``).

A quota on total tonnes has one shadow price per kg: traders' desired exports, computed at the
landed cost plus that rent, fit the quota, and the quota goes to the elements that pay most
over their landed cost instead of being shared pro rata.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reesim import load_scenario, simulate
from reesim.model.mechanisms.market.arbitrage import desired_at, quota_rent

# one member's export market for three elements: a cheap one bought in bulk (La-like), a
# mid-priced one (Nd-like), a dear one bought in small amounts (Dy-like); USD/kg and t/yr
LANDED = np.array([5.0, 40.0, 300.0])
EXPORT_PRICE = np.array([8.0, 70.0, 500.0])
WANT = np.array([20_000.0, 8_000.0, 500.0])
SELLERS = np.array([1_000.0, 500.0, 50.0])
LOCAL = np.zeros(3)
RULES = {"months": 3.0, "correction_yr": 0.5, "push_rate": 0.5, "gate": 2.0}
ALL_LICENSED = np.ones(3)


def wanted(rent: float, licensed: np.ndarray = ALL_LICENSED) -> np.ndarray:
    """Licensed desired exports (t/yr) per element at the landed cost plus ``rent``."""
    return np.array([desired_at(LANDED[e] + rent, EXPORT_PRICE[e], WANT[e], SELLERS[e],
                                LOCAL[e], *RULES.values(), True) * licensed[e]
                     for e in range(3)])


def rent_for(quota: float, licensed: np.ndarray = ALL_LICENSED) -> float:
    return quota_rent(quota, LANDED, EXPORT_PRICE, WANT, SELLERS, LOCAL, licensed,
                      *RULES.values(), True)


def test_no_rent_where_the_quota_does_not_bind_and_none_for_a_ban():
    assert rent_for(np.inf) == 0.0
    assert rent_for(1.01 * wanted(0.0).sum()) == 0.0
    assert rent_for(0.0) == 0.0         # no finite rent: the pro-rata cut stops the exports


@pytest.mark.parametrize("share", [0.9, 0.6, 0.3, 0.05])
def test_the_rent_makes_the_wanted_tonnage_fit_the_quota(share):
    quota = share * wanted(0.0).sum()
    rent = rent_for(quota)
    assert rent > 0.0
    assert wanted(rent).sum() == pytest.approx(quota, rel=1e-9)


def test_the_quota_goes_to_the_elements_that_pay_most_over_their_landed_cost():
    """Pro rata would cut each element by the same share; the rent cuts the cheap bulk element
    hardest, since the same rent per kg is a far larger part of its price."""
    quota = 0.5 * wanted(0.0).sum()
    kept = wanted(rent_for(quota)) / wanted(0.0)
    assert kept[0] < 0.5 < kept[1] < kept[2]


def test_licences_count_only_the_licensed_tonnage():
    licensed = np.array([1.0, 1.0, 0.4])
    quota = 0.5 * wanted(0.0, licensed).sum()
    assert wanted(rent_for(quota, licensed), licensed).sum() == pytest.approx(quota, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.02, 0.98), st.floats(0.02, 0.98))
def test_a_tighter_quota_carries_a_higher_rent(a, b):
    total = wanted(0.0).sum()
    low, high = sorted((a, b))
    assert rent_for(low * total) >= rent_for(high * total)


@pytest.fixture(scope="module")
def runs():
    """``baotou`` to 2013 under both quota rules (annual records)."""
    sets = ["end_year=2013", "output.frequency=year"]
    return {rule: simulate(load_scenario("baotou", [*sets, f"market.export_quota_rule={rule}"]))
            .dataset.isel(member=0) for rule in ("pro_rata", "rent")}


def test_the_rent_rule_keeps_exports_within_the_quota_and_shifts_them_to_dear_elements(runs):
    """Exports stay within the tonnage quota of 2010-2013 under the rent rule and fill it in
    2010-2012; the quota goes less to La and Ce and more to Nd and Dy than when it is shared pro
    rata, and before any quota binds the two rules run the same market."""
    rent, pro_rata = runs["rent"], runs["pro_rata"]
    years = slice("2010", "2013")
    exports = rent.exports.sum("exporter").sel(time=years)
    quota = rent.china_export_quota.sel(time=years)
    assert (exports.sum("element") <= quota * (1 + 1e-6)).all()
    # and the rent fills the quota rather than starving it (the pro-rata cut alone would keep
    # exports within it): 98-100% of 2010-2012's quota measured 2026-12-07
    filled = (exports.sum("element") / quota).sel(time=slice("2010", "2012"))
    assert (filled > 0.95).all(), filled.values
    share = {name: (run.exports.sum("exporter").sel(time="2011")
                    / run.exports.sum(("exporter", "element")).sel(time="2011")).squeeze()
             for name, run in runs.items()}
    assert float(share["rent"].sel(element=["La", "Ce"]).sum()) < float(
        share["pro_rata"].sel(element=["La", "Ce"]).sum())
    assert float(share["rent"].sel(element=["Nd", "Dy"]).sum()) > float(
        share["pro_rata"].sel(element=["Nd", "Dy"]).sum())
    np.testing.assert_array_equal(rent.price.sel(time="2000").values,
                                  pro_rata.price.sel(time="2000").values)


def test_the_rent_is_recorded_while_the_quota_binds(runs):
    """``export_quota_rent`` (USD/kg) is positive in 2011 under the rent rule, 0 under pro rata
    and 0 once the quotas end (2015, in a run to 2016)."""
    assert float(runs["rent"].export_quota_rent.sel(time="2011", element="Nd").squeeze()) > 0.0
    assert float(abs(runs["pro_rata"].export_quota_rent).max()) == 0.0
    after = simulate(load_scenario("baotou", ["end_year=2016", "output.frequency=year",
                                              "market.export_quota_rule=rent"])).dataset
    assert float(abs(after.export_quota_rent.sel(time="2016")).max()) == 0.0
