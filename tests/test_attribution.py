"""Knock-out attribution (``reesim attribute``): which factor makes an episode, and how much."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from reesim import load_scenario
from reesim.attribution import ALL_FACTORS, INTERACTION, Factor, attribute, default_factors
from reesim.cli import app

CRISIS = ("2010-01", "2012-12")


def test_the_factors_are_the_events_acting_in_the_window_and_the_standing_policies():
    names = [f.name for f in default_factors(load_scenario("baotou"), CRISIS)]
    events = [n for n in names if n.startswith("event ")]
    # the 2009 recession ends in 2010-01 (exclusive), the 2013 plant pause starts after the
    # window; the 2012 reserve order (2012-09, 12 months) acts in it
    assert events == ["event japan_halt_2010", "event baotou_smelting_pause_2011",
                      "event state_reserve_2012"]
    assert [n for n in names if not n.startswith("event ")] == [
        "export quotas", "export duties", "production quotas", "hoarding", "illegal supply",
        "illegal supply in the window", "trading company"]
    free = [f.name for f in default_factors(load_scenario("baotou-free-market"), CRISIS)]
    assert "trading company" not in free
    # the fringe shut in the window only: a disruption of the illegal mines, end exclusive
    fringe = next(f for f in default_factors(load_scenario("baotou"), CRISIS)
                  if f.name == "illegal supply in the window")
    shut = load_scenario("baotou", list(fringe.overrides)).events["attribution_fringe_shut"]
    assert (shut.start, shut.end, shut.capacity_factor) == ("2010-01", "2013-01", 0.0)
    assert shut.producers == ["south_china_illegal"]


def test_a_factor_acting_after_the_window_contributes_nothing():
    later = Factor("covid", "the 2020 demand shock removed", ("events.covid_2020=null",))
    table = attribute("baotou", CRISIS, [later], elements=("Nd", "Dy"),
                      overrides=("end_year=2021",))
    rows = table[table.factor == "covid"]
    assert len(rows) == 2 * 2 * 2 + 2                  # peak and mean per market, unmet
    assert (rows.contribution == 0.0).all()            # bit for bit before the event starts


def test_the_export_quota_makes_the_export_spike_and_not_china_s():
    quotas = next(f for f in default_factors(load_scenario("baotou"), CRISIS)
                  if f.name == "export quotas")
    table = attribute("baotou", CRISIS, [quotas], elements=("Nd", "Dy"))
    peak = table[(table.indicator == "peak_price") & (table.factor == "export quotas")]
    peak = peak.set_index(["element", "market"]).contribution_pct
    # measured 2026-12-03: the quota makes 76% (Nd) and 77% (Dy) of the export peak; China's
    # peak moves by under 1%. At the eighteenth session's fit (2026-12-04) 85% and 86% of the
    # export peaks; China's Nd peak is 5.1% lower with the quota (the oxide it keeps in China),
    # Dy's 0.03%: a tenth of the export effect at most
    assert peak[("Nd", "export")] > 50.0 and peak[("Dy", "export")] > 50.0
    for element in ("Nd", "Dy"):
        assert abs(peak[(element, "china")]) < 0.1 * peak[(element, "export")]
    # the table's bookkeeping: contributions, interaction and the run without all add up
    for _, rows in table.groupby(["indicator", "element", "market"]):
        rows = rows.set_index("factor")
        total = rows.contribution.drop([ALL_FACTORS, INTERACTION]).sum()
        np.testing.assert_allclose(total + rows.contribution[INTERACTION],
                                   rows.contribution[ALL_FACTORS], rtol=1e-12, atol=1e-9)


def test_the_command_writes_the_table_and_refuses_a_bad_window(tmp_path):
    runner = CliRunner()
    out = tmp_path / "attr"
    result = runner.invoke(app, ["attribute", "baotou", "--set", "end_year=2012",
                                 "--window", "2010-06..2011-12", "--elements", "Nd",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "attribution.csv")
    assert {"event japan_halt_2010", "export quotas", ALL_FACTORS, INTERACTION} <= set(
        table.factor)
    page = (out / "attribution.html").read_text()
    assert "Nd: contribution to the window's peak price" in page and "export quotas" in page
    assert "China price: contribution" in result.output and "export quotas" in result.output
    bad = runner.invoke(app, ["attribute", "baotou", "--window", "2012-01..2010-01",
                              "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--window" in bad.output
    assert not (tmp_path / "bad").exists()
    outside = runner.invoke(app, ["attribute", "baotou", "--set", "end_year=2012",
                                  "--window", "2013-01..2014-12", "--out", str(tmp_path / "o")])
    assert outside.exit_code == 2 and "outside the run" in outside.output


@pytest.mark.parametrize("elements", ["Xx", "Nd,Foo", ",", ""])
def test_an_unknown_element_is_refused_with_the_allowed_names(tmp_path, elements):
    result = CliRunner().invoke(app, ["attribute", "baotou", "--elements", elements,
                                      "--out", str(tmp_path / "e")])
    assert result.exit_code == 2 and "--elements" in result.output and "Dy" in result.output


def test_factors_of_your_own_replace_the_defaults(tmp_path):
    out = tmp_path / "own"
    result = CliRunner().invoke(app, [
        "attribute", "baotou", "--set", "end_year=2012", "--elements", "Dy",
        "--factor", "no embargo=events.japan_halt_2010=null",
        "--factor", "no quotas or duties=policy.export_quotas=none;policy.export_taxes=none",
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "attribution.csv")
    assert list(dict.fromkeys(table.factor)) == ["no embargo", "no quotas or duties",
                                                 ALL_FACTORS, INTERACTION]
    bad = CliRunner().invoke(app, ["attribute", "baotou", "--factor", "no equals sign",
                                   "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--factor" in bad.output


def test_with_members_the_contributions_are_paired_and_carry_their_range():
    quotas = Factor("export quotas", "off", ("policy.export_quotas=none",))
    table = attribute("baotou-ensemble", CRISIS, [quotas], elements=("Dy",), members=4, seed=3)
    row = table[(table.factor == "export quotas") & (table.indicator == "peak_price")
                & (table.market == "export")].iloc[0]
    # the members draw different uncertain values, so the export quota's share of the Dy
    # export peak differs between them; the median lies within the 5-95% range
    assert row.contribution_pct_p05 < row.contribution_pct_p95
    assert row.contribution_pct_p05 <= row.contribution_pct <= row.contribution_pct_p95
    assert row.contribution_pct > 0.0
