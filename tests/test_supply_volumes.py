"""Supply volumes 2016-2025 against the record (issue 8 targets), with the current calibration.

These hold because imported and illegal ore is separated outside China's separation quota, the
quota is split by the mining quota of the mines separated in each region, and the trading
company produces at least its quota from 2016; each test names the mechanism it guards.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from mech import model
from reesim import load_scenario, simulate
from reesim.datasets import read_csv
from reesim.dims import ELEMENTS
from reesim.indicators import region_mine_output, world_mine_output
from reesim.model.simulate import run


@functools.cache
def _annual() -> dict[str, object]:
    ds = simulate(load_scenario("baotou", ["end_year=2025"])).dataset.isel(member=0)
    year = ds.time.dt.year
    out = {"world": world_mine_output(ds).groupby(year).mean()}
    for entity in ("usa", "myanmar", "australia"):
        out[entity] = region_mine_output(ds, entity).groupby(year).mean()
    out["bayan_obo"] = ds.mine_output.sel(producer="bayan_obo").sum("element").groupby(year).mean()
    return out


def _record(entity: str, year: int) -> float:
    """Preferred record (data/observations/production.csv), t REO/yr."""
    t = read_csv("observations", "production.csv")
    return float(t[(t.entity == entity) & (t.year == year)].mine_production_t_reo.iloc[0])


@pytest.mark.parametrize("year", [2019, 2020, 2021, 2022, 2023, 2024])
def test_mountain_pass_tolled_in_china_is_not_capped_by_the_separation_quota(year):
    """US output (Mountain Pass concentrate separated in Sichuan) within 25% of the record."""
    sim = float(_annual()["usa"].sel(year=year))
    assert sim == pytest.approx(_record("usa", year), rel=0.25)


@pytest.mark.parametrize("year", [2018, 2020, 2022, 2023, 2025])
def test_myanmar_ore_is_separated_in_south_china_outside_the_quota(year):
    """Myanmar within 25%, with the 2022 transshipment shutdown and the 2024-25 Kachin events."""
    sim = float(_annual()["myanmar"].sel(year=year))
    assert sim == pytest.approx(_record("myanmar", year), rel=0.25)


@pytest.mark.parametrize("year", [2018, 2019, 2020, 2021, 2022, 2023, 2024, 2025])
def test_australia_within_25_percent_with_lynas_output_of_2022_2023(year):
    """Mount Weld within 25% of USGS's Australia; in 2022-2023 at Lynas' reported output
    (16,780 t REO in FY2023, the `lynas_output_2022` event), not at its 24 kt/yr capacity."""
    sim = float(_annual()["australia"].sel(year=year))
    assert sim == pytest.approx(_record("australia", year), rel=0.25)


def test_without_the_lynas_event_mount_weld_runs_at_capacity_in_2022_2023():
    """The event is what brings 2022-2023 down: without it Mount Weld makes its 24 kt/yr."""
    scenario = load_scenario("baotou", ["end_year=2023", "output.frequency=year"])
    events = {k: v for k, v in scenario.events.items() if k != "lynas_output_2022"}
    ds = simulate(scenario.model_copy(update={"events": events})).dataset.isel(member=0)
    weld = ds.mine_output.sel(producer="mount_weld").sum("element")
    for year in (2022, 2023):
        without = float(weld.sel(time=str(year)).mean())
        assert without > 1.25 * _record("australia", year), (year, without)
        assert float(_annual()["australia"].sel(year=year)) < 0.8 * without


def test_bayan_obo_produces_its_2024_allocation():
    """quotas.csv: Bayan Obo's 2024 allocation is 189,160 t; the value plan alone gave ~98 kt."""
    assert float(_annual()["bayan_obo"].sel(year=2024)) == pytest.approx(189_160, rel=0.05)


@pytest.mark.parametrize("year", [2021, 2022, 2023, 2024])
def test_world_mine_output_within_15_percent(year):
    sim = float(_annual()["world"].sel(year=year))
    assert sim == pytest.approx(_record("world", year), rel=0.15)


def _china_exports_and_offtake(offtake: bool) -> tuple[np.ndarray, np.ndarray]:
    """China's exports and the La-Nd that Malaysia sells into China, t/yr, 2018-2024 (annual)."""
    m = model("end_year=2024", "output.frequency=year")
    se = m.inputs.separation
    if not offtake:
        se = dataclasses.replace(se, to_china=np.where(se.to_china == 1.0, 1.0, 0.0))
    ds = run(dataclasses.replace(m, inputs=m.inputs._replace(separation=se))).isel(member=0)
    years = ds.time.dt.year.values
    window = (years >= 2018) & (years <= 2024)
    exports = ds.exports.sum(["exporter", "element"]).values[window]
    malaysia = list(m.coords.regions).index("malaysia")
    share = se.to_china[::12, malaysia][window]                     # January of each year
    sold_in_china = (ds.separation_output.sel(region="malaysia").values[window]
                     * np.where(share == 1.0, 0.0, share)).sum(axis=1)
    return exports, sold_in_china


def test_lynas_oxide_sold_into_china_is_exported_again():
    """Two-way trade (china_offtake.csv): the La-Nd Chinese buyers take from Lynas leaves the
    export market short by as much, and China's traders ship it back out, so China's (gross)
    exports rise by most of that tonnage, as in the customs record (imports from Malaysia
    5-11 kt a year in 2017-2022 beside exports of 35-53 kt)."""
    with_offtake, sold_in_china = _china_exports_and_offtake(True)
    without, _ = _china_exports_and_offtake(False)
    assert sold_in_china.min() > 4_000.0
    rise = with_offtake - without
    assert (rise > 0.7 * sold_in_china).all(), (rise, sold_in_china)
    assert (rise < 1.3 * sold_in_china).all(), (rise, sold_in_china)


@pytest.mark.xfail(strict=True, reason=(
    "known miss (issue 8): Myanmar's ore is the 50/50 Longnan-Xinfeng proxy, 5.6% Dy and 0.9% "
    "Tb, 1.5x the Dy Roskill reported in China's 2018 imports from Myanmar (3.74%, 0.57%). "
    "The Xinfeng profile matches it (3.8%, 0.7%), but refitted on it (twenty-seventh session, "
    "2026-12-05) all three searches drop hoarding (seeds 0/1/2: 2.739/2.778/2.771, hoarding "
    "0.00/0.02/0.02) and six behaviour tests fail (the magnet ban, the state purchase, the "
    "ionic disruption, the step check's tests); refitted again on the thirty-ninth session's "
    "code (seeds 0-3: 2.737-2.869, hoarding 0.10-0.74) the state reserve's purchase moves "
    "China's Nd 0.3-1.2% (2% asked) and the leaky ban fails. With Dy and Tb alone at Roskill's "
    "content (fortieth session, seeds 0-4: 2.699-3.006) the dearer Dy draws more ionic ore and "
    "its Nd, and the purchase still fails (0.62% at seed 1). Again on the fifty-first session's "
    "code (traders' stock correction at 2; seeds 0, 1, 2, 6: 2.493-2.515) the 2040 purchase "
    "raises China's Nd 1.08-1.09x (1.1x asked) and the leaky Dy ban smuggles 3.6-9.9 t/yr (20 "
    "asked): docs/market-experiments.md"))
def test_myanmar_ore_carries_the_reported_dy_and_tb_content():
    """Myanmar's ore has the Dy and Tb content Roskill reported for China's 2018 imports.

    Roskill (2019; packaged in ``reference/policy.csv``, the 2018 Myanmar row): the ~23,000 t
    REO China imported from Myanmar in 2018 held 860 t Dy2O3 and 130 t Tb4O7, 3.74% and 0.57%.
    """
    from mech import context
    from reesim.datasets import load_table
    from reesim.model.mechanisms.mining import distribution

    policy = load_table("reference", "policy")
    text = policy.apply(lambda row: " ".join(str(v) for v in row), axis=1)
    assert (text.str.contains("860 t Dy2O3") & text.str.contains("130 t Tb4O7")).any()
    ctx = context()
    shares = distribution(ctx)[list(ctx.producers.index).index("myanmar_clays")]
    assert shares[ELEMENTS.index("Dy")] == pytest.approx(860 / 23_000, rel=0.1)
    assert shares[ELEMENTS.index("Tb")] == pytest.approx(130 / 23_000, rel=0.3)


def _sellers_stock_months(sets: tuple[str, ...]) -> tuple[object, object, object]:
    """Sellers' stocks (producers in both markets, the trading company) in months of the world's
    demand, by element and year-end, with the separation residue (t/yr) and China's exports."""
    ds = simulate(load_scenario("baotou", ["output.frequency=year", *sets])).dataset.isel(
        member=0)
    held = ds.inventory.sel(holder=["producers_china", "producers_export",
                                    "trading_company"]).sum("holder")
    months = held / (ds.demand.sum("application") / 12.0)
    exports = ds.exports.sum(["exporter", "element"])
    return months, ds.separation_residue.sum("region"), exports


def test_separators_leave_the_glut_in_the_residue_instead_of_storing_millions_of_tonnes():
    """The balance problem: without the rule sellers held 7.0 Mt of oxides in 2050 (Ce 66 years
    of demand) and new separators abroad displaced China's La-Ce exports (24 kt in 2030). With
    it no element's sellers hold much more than the 48 months at which separators drop it, the
    glut leaves as residue (La and Ce first), and China's exports hold up."""
    months, residue, exports = _sellers_stock_months(())
    assert float(months.max()) < 60.0, months.max("time").to_pandas()
    late = residue.sel(time=slice("2030", "2050")).mean("time")
    assert float(late.sel(element="Ce")) > 30_000.0
    assert float(late.sel(element="La")) > 5_000.0
    for element in ("Pr", "Nd"):       # what the mines are run for: never left unseparated
        assert float(residue.sel(element=element, time=slice("2000", "2025")).max()) == 0.0
    off_months, _, off_exports = _sellers_stock_months(
        ("constants.residue_full_months=240", "constants.residue_stop_months=480"))
    assert float(off_months.sel(element="Ce").isel(time=-1)) > 240.0
    assert float(exports.sel(time="2030").squeeze()) > 1.4 * float(
        off_exports.sel(time="2030").squeeze())


def test_the_company_s_reserve_is_no_glut_scandium_keeps_flowing():
    """Separators weigh the stock sellers offer, not the trading company's reserve (not for
    sale). Counting the reserve (20-39 t Sc from 2014, two to three years of the world's
    demand) stopped scandium's separation from 2017 wherever separators drop an element from 12
    months of stock (as `baotou-china-spike` did in the thirty-sixth session): consumption fell
    to nothing and the price sat at its choke, 145,570 USD/kg, from 2020 to 2050 (thirty-seventh
    session)."""
    ds = simulate(load_scenario("baotou", [
        "output.frequency=year", "constants.residue_full_months=12",
        "constants.residue_stop_months=24"])).dataset
    sc = ds.sel(element="Sc").isel(member=0)
    choke = 100.0 * model().inputs.demand.reference_price_usd_per_kg[ELEMENTS.index("Sc")]
    assert float(sc.price.max()) < 0.3 * choke
    consumption = sc.consumption.sum("application").sel(time=slice("2016", "2050"))
    demand = sc.demand.sum("application").sel(time=slice("2016", "2050"))
    assert float((consumption / demand).min()) > 0.9
    assert float(sc.inventory.sel(holder="trading_company").max()) > 10.0   # it holds a reserve


@pytest.mark.parametrize("name", ["baotou", "baotou-spike-fit", "baotou-reserve-2008",
                                  pytest.param("baotou-china-spike", marks=pytest.mark.xfail(
    strict=True, raises=AssertionError, reason=(
        "known miss (issue 8): since investors no longer count a project an event holds at "
        "zero (Kvanefjeld from 2021-12) as capacity to come (2026-12-08), baotou-china-spike's "
        "projection builds a 2040s glut: the world's holders carry 29 kt of Nd in 2040 and 270 "
        "kt in 2050, and separators leave 0.9, 4.1 and 5.6 kt of Nd in the residue in "
        "2048-2050 (its calibration, fitted to 2025, is unchanged)")))])
def test_no_calibrated_scenario_leaves_neodymium_in_the_residue(name):
    """Nd is what the mines are run for: no separator leaves it unseparated, 2000-2050. The
    thirty-sixth session's China-side configuration did (up to 7.7 kt a year in 2022-2029,
    residue from 12 months, once the company's reserve no longer counted as a glut) and its
    lever fix rested on it (docs/market-experiments.md, thirty-seventh session)."""
    ds = simulate(load_scenario(name, ["output.frequency=year"])).dataset.isel(member=0)
    residue = ds.separation_residue.sum("region").sel(element="Nd")
    assert float(residue.max()) == 0.0, residue.where(residue > 0, drop=True).to_series()
