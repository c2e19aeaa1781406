"""Every built-in lever scenario does what its name says: a material change against baotou.

Each lever is compared with the baseline on the quantity its description promises, over its
window; a lever whose effect falls below the threshold (an inert lever) fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

from reesim import load_scenario, simulate
from reesim.indicators import mean_by_year

END = "end_year=2045"


@pytest.fixture(scope="module")
def base():
    return simulate(load_scenario("baotou", [END])).dataset.isel(member=0)


def _run(name: str):
    return simulate(load_scenario(name, [END])).dataset.isel(member=0)


def _change(lever, base, pick, years) -> float:
    """Relative change of the annual mean of ``pick(ds)`` over ``years`` (lever / base - 1)."""
    a = float(mean_by_year(pick(lever)).sel(year=years).mean())
    b = float(mean_by_year(pick(base)).sel(year=years).mean())
    return a / b - 1.0 if b else np.inf * np.sign(a)


def test_free_market_changes_baotou_output_and_unsold_stocks(base):
    """Without the company its supply management goes: the 2011 separation pause and the 2014
    concentrator halt (decisions of the company), and its withholding below its defended
    price. Measured 2026-12: Bayan Obo 2014 52 kt free against 40 kt, the company's stock 0
    against 0.3-1.3 kt. (With the company selling pro rata to merchants' stocks, Bayan Obo fell
    to 6 kt/yr in 2008 and differed by 30% in 2009-2012: an artefact, now removed; the
    company's price defence is weak while prices barely respond to stocks, docs/model.md 5.)"""
    free = simulate(load_scenario("baotou-free-market", ["end_year=2016"])).dataset.isel(member=0)
    out = mean_by_year(free.mine_output.sel(producer="bayan_obo").sum("element"))
    ref = mean_by_year(base.mine_output.sel(producer="bayan_obo").sum("element"))
    years = slice(2011, 2015)
    change = np.abs(out.sel(year=years) / ref.sel(year=years) - 1.0)
    assert float(change.max()) > 0.10
    held = base.inventory.sel(holder="trading_company", time=slice("2009", "2015")).sum("element")
    assert float(held.max()) > 100.0                  # t: the company withholds in weak months
    assert float(free.inventory.sel(holder="trading_company", time=slice("2009", "2015"))
                 .sum("element").max()) == 0.0


def test_ionic_disruption_raises_dy_prices_or_shortages(base):
    hit = _run("ionic-disruption")
    years = slice(2030, 2031)
    price = _change(hit, base, lambda d: d.price.sel(element="Dy", market="export"), years)
    unmet = (float(mean_by_year(hit.unmet_demand.sel(element="Dy").sum("application"))
                   .sel(year=years).mean())
             - float(mean_by_year(base.unmet_demand.sel(element="Dy").sum("application"))
                     .sel(year=years).mean()))
    supply = _change(hit, base, lambda d: d.separation_output.sel(element="Dy").sum("region"),
                     years)
    assert supply < -0.15                                       # Dy supply falls
    assert price > 0.10 or unmet > 100.0                        # felt as price or shortage


def test_recycling_push_multiplies_secondary_supply(base):
    push = _run("recycling-push")
    change = _change(push, base, lambda d: d.recycled.sum(["application", "element"]),
                     slice(2040, 2045))
    assert change > 1.0                                         # at least doubled
    recovery = _change(push, base, lambda d: d.mine_output.sel(producer="bayan_obo")
                       .sum("element"), slice(2036, 2045))
    assert recovery > 0.02 or _change(push, base, lambda d: d.tailings_inflow.sel(
        producer="bayan_obo").sum("element"), slice(2036, 2045)) < -0.05


def test_state_reserve_buys_and_releases_its_neodymium(base):
    lever = _run("state-reserve-nd")
    held = lever.inventory.sel(holder="state_reserve", element="Nd")
    extra = held - base.inventory.sel(holder="state_reserve", element="Nd")
    assert float(extra.sel(time="2031-01").squeeze()) > 0.95 * 20_000      # bought in full
    assert float(abs(extra.sel(time="2035-06").squeeze())) < 0.05 * 20_000  # released again


@pytest.mark.parametrize("name", ["baotou", pytest.param("baotou-china-spike", marks=(
    pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
        "known miss (issue 8): rebuilt on 2026-12-08 (fifty-fifth session, reserve orders "
        "bought evenly; header seed 4, objective 2.678 against 2.734) baotou-china-spike's "
        "Chinese sellers hold 91 kt of Nd in January 2030 (59 kt in baotou) at 23 USD/kg, and "
        "the 20 kt purchase raises China's Nd 0.5% in 2030 and 2.0% in 2031 (1.25% over the "
        "two, 2% asked; +4.7% in 2032): the glut absorbs it first"))))])
def test_state_reserve_purchase_raises_chinas_neodymium_price(name, base):
    """The state reserve's 20 kt Nd purchase of 2030 (``state-reserve-nd``) raises China's Nd
    over the purchase and the year after it, while the reserve holds the stock (2030-2031; the
    release starts in 2033); ``baotou-china-spike`` gets the same orders on its own baseline.

    A stock lever's price effect is that of the stock it moves: 2030's mean averages a purchase
    in progress (0 to 20 kt through the year), 2031 is the first year the whole of it is held
    (as ``test_behaviour.py`` reads its 2040 purchase over the months after it too). Until the
    forty-second session this read 2030 alone: at the thirty-ninth session's fit +5.7% in 2030
    and +23% in 2031, at the forty-second's (sellers' demand outlook on, China's sellers with
    about 52 kt of Nd) +1.1% and +9.1%: the glut absorbs the purchase first.
    """
    # measured 2026-12-04 at the eighteenth session's fit: +46% in 2030 (+1.1% at the
    # seventeenth's, whose Chinese sellers held Nd above target; a strict xfail then).
    # baotou-china-spike: a strict xfail until the forty-ninth session (0.13% and 0.57% in
    # 2030-2031 at the forty-eighth's rebuild: its sellers held 130 kt of Nd in 2030); with
    # the holders' carrying cost (carrying_cost_per_yr 0.01) and its refit, +0.6% and +7.8%;
    # at the fifty-first session's refit (header seed 4; seeds 1-3 moved it 1.5%) +0.5% and +3.8%.
    # At the fifty-fifth session's rebuild (reserve orders bought evenly): baotou +2.2% and
    # +9.9% (+16.5% in 2032); baotou-china-spike +0.5% and +2.0% (+4.7% in 2032), its Chinese
    # sellers holding 91 kt of Nd in January 2030 at 23 USD/kg: a strict xfail (below).
    if name == "baotou":
        lever = _run("state-reserve-nd")
    else:
        scenario = load_scenario(name, [END])
        orders = load_scenario("state-reserve-nd").events
        lever = simulate(scenario.model_copy(
            update={"events": {**scenario.events, **orders}})).dataset.isel(member=0)
        base = _run(name)
    price = _change(lever, base, lambda d: d.price.sel(element="Nd", market="china"),
                    slice(2030, 2031))
    assert price > 0.02


def test_state_reserve_purchase_moves_chinas_neodymium_in_half_the_futures():
    """The same purchase over baotou-ensemble's futures (16 members, seed 7), member by member
    (``reesim compare``'s paired effect): China's Nd rises at least 2% in half of them in 2031,
    the first year the reserve holds the whole purchase (2030 until the forty-second session;
    see the test above).

    The single fit above sits where the purchase bites; this asks it of the futures around the
    fit, where it does not always (measured 2026-12-06 at the thirty-ninth session's fit, in
    2030: 11 of 16 members at 2% or more, median 7.7%, 0.5-37%; over 200 members 77%, median
    4.5%; on the fortieth session's Myanmar ore, refitted and not kept, 18%, median 0.7%. At the
    forty-second session's fit: paired median 1.9% in 2030 and 14.9% in 2031, 10th percentile
    0.5% and 3.6%).
    """
    from reesim.compare import Compared, comparison_table, paired

    futures = load_scenario("baotou-ensemble", ["end_year=2031"])
    orders = load_scenario("state-reserve-nd").events
    bought = futures.model_copy(update={"name": "bought", "events": {
        **futures.events, "nd_reserve_buy": orders["nd_reserve_buy"]}})
    runs = [Compared(s.name, simulate(s, members=16, seed=7).dataset) for s in (futures, bought)]
    assert paired(runs[0].dataset, runs[1].dataset)
    table = comparison_table(runs, [2031], [("price_china", "Nd")])
    assert float(table.iloc[0]["bought vs baotou-ensemble, paired p50 %"]) > 2.0


def test_magnet_controls_leave_users_abroad_short(base):
    ban = _run("magnet-controls")
    short = float(mean_by_year(ban.magnet_shortfall.sum([d for d in ban.magnet_shortfall.dims
                                                           if d != "time"]))
                  .sel(year=slice(2030, 2031)).mean())
    ref = float(mean_by_year(base.magnet_shortfall.sum([d for d in base.magnet_shortfall.dims
                                                         if d != "time"]))
                .sel(year=slice(2030, 2031)).mean())
    assert short > ref + 100.0                                  # t REO/yr short abroad


def test_rd_magnets_cuts_dy_and_tb_demand_and_eases_dy(base):
    """An R&D gain in use (Dy and Tb of NdFeB to 30% over 2027-2034): the demand for both falls
    by more than half once it has spread, and Dy is at least 10% cheaper than in the baseline
    over 2028-2045 (measured 2026-12-04: Dy demand 2036-2045 -60%, the 2030 Dy export price 57
    USD/kg against 580)."""
    lever = _run("rd-magnets")
    years = slice(2036, 2045)
    for element in ("Dy", "Tb"):
        change = _change(lever, base, lambda d, e=element: d.demand.sel(element=e)
                         .sum("application"), years)
        assert change < -0.5, (element, change)
    price = _change(lever, base, lambda d: d.price.sel(element="Dy", market="export"),
                    slice(2028, 2045))
    assert price < -0.1, price


@pytest.mark.parametrize("substeps", [None, 4])
def test_a_stockpile_the_company_buys_stays_in_its_stock(base, substeps):
    """The trading company as a buyer (a ``stockpile`` event with ``holder: trading_company``):
    what it buys is held, not offered back by its sales rule. Before 2026-12-05 the rule counted
    the purchase as stock beyond its own plan and sold it: 5,000 t of Nd bought in 2012 left
    1.7 kt more in its stock at the end of 2012 and 0.5 kt at the end of 2013. Now 4.2 and 3.1
    kt: the purchase counts toward the company's planned stockpile, so the company sets aside
    less of its members' output afterwards (the plan is a value, not a tonnage per element).
    (4.6 and 3.4 kt until 2026-12-08, when the order's purchases were pushed toward the end of
    2012; bought evenly from January, the set-aside is cut for longer.)
    Whatever the market's sub-steps (``None``: the scenario's, two): until 2026-12-07 what the
    company bought in a sub-step was offered for sale in the month's next ones, and the stock it
    kept fell with the step (4.6 kt at one sub-step, 2.5 at two, 1.3 at four)."""
    finer = [] if substeps is None else [f"market.substeps={substeps}"]
    if finer:
        base = simulate(load_scenario("baotou", [END, *finer])).dataset.isel(member=0)
    event = "events.company_buy"
    bought = simulate(load_scenario("baotou", [
        *finer, "end_year=2014", f"{event}.type=stockpile", f"{event}.holder=trading_company",
        f"{event}.months=12", f"{event}.start=2012-01",
        f"{event}.amounts_t_reo.Nd=5000"])).dataset.isel(member=0)
    rate = bought.stockpile_purchases.sel(holder="trading_company", element="Nd", time="2012")
    assert float(rate.mean()) == pytest.approx(5000.0, rel=1e-6)   # t/yr for a year: all bought

    def extra(month: str) -> float:
        pick = {"holder": "trading_company", "element": "Nd", "time": month}
        return float(bought.inventory.sel(**pick).item() - base.inventory.sel(**pick).item())

    assert extra("2012-12") > 0.8 * 5000.0
    assert extra("2013-12") > 0.6 * 5000.0
