"""The scenario report: Sankey flows that add up, a self-contained page, report and compare CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from reesim.cli import app
from reesim.compare import Compared, comparison_table
from reesim.errors import InputError
from reesim.report import figures
from reesim.report.html import load_run, report_html, write_report
from reesim.report.sankey import ALL, layers, sankey_data

runner = CliRunner()


def _links(graph: dict) -> dict[tuple[str, str], float]:
    labels = graph["labels"]
    return {(labels[s], labels[t]): v
            for s, t, v in zip(graph["source"], graph["target"], graph["value"], strict=True)}


def test_sankey_links_carry_the_recorded_flows(baotou_result):
    ds = baotou_result.dataset
    data = sankey_data(ds, [2011, 2030], ["Nd", "Dy"])
    for year in (2011, 2030):
        w = ds.sel(time=str(year)).isel(member=0)
        for el in ("Nd", "Dy"):
            links = _links(data["flows"][el][str(year)])
            mined = float(w.mine_output.sel(element=el).sum("producer").mean("time"))
            routed = sum(v for (s, t), v in links.items()
                         if s.startswith("mine") and t.startswith("separation"))
            # annual means of t/yr rates: the year's tonnes, not 12x them
            assert routed == pytest.approx(mined, rel=1e-3, abs=5)
            separated = float(w.separation_output.sel(element=el).sum("region").mean("time"))
            to_market = sum(v for (s, t), v in links.items()
                            if s.startswith("separation") and t.startswith("market"))
            assert to_market == pytest.approx(separated, rel=1e-3, abs=5)
            consumed = float(w.consumption.sel(element=el).sum("application").mean("time"))
            to_apps = sum(v for (s, t), v in links.items() if t.startswith("application"))
            assert to_apps == pytest.approx(consumed, rel=1e-3, abs=5)
        every = _links(data["flows"][ALL][str(year)])
        total = float(w.mine_output.sum(["producer", "element"]).mean("time"))
        assert sum(v for (s, t), v in every.items()
                   if s.startswith("mine") and t.startswith("separation ·")) \
            == pytest.approx(total, rel=1e-3)


def test_what_separators_leave_in_residues_is_drawn_in_the_sankey_and_the_balance_chart(
        baotou_result):
    """Ce left unseparated in 2030 (sellers hold years of its demand) leaves each separation
    node as a "left in residue" link, the recorded tonnage; the balance chart has a panel for it
    (and none for a result written before the residue existed)."""
    ds = baotou_result.dataset
    links = _links(sankey_data(ds, [2030], ["Ce"])["flows"]["Ce"]["2030"])
    left = sum(v for (s, t), v in links.items() if t == "left in residue")
    recorded = float(ds.separation_residue.sel(time="2030", element="Ce").isel(member=0)
                     .sum("region").mean("time"))
    assert recorded > 10_000.0
    assert left == pytest.approx(recorded, rel=1e-3)
    titles = [a.text for a in figures.balance_figure(ds).layout.annotations]
    assert titles[-1] == "Left unseparated in residues, kt REO/yr"
    older = figures.balance_figure(ds.drop_vars("separation_residue"))
    assert len(older.layout.annotations) == 2


def test_mountain_pass_concentrate_goes_to_china_while_routed(baotou_result):
    links = _links(sankey_data(baotou_result.dataset, [2020], ["Nd"])["flows"]["Nd"]["2020"])
    assert ("mine · usa", "separation · sichuan") in links
    later = _links(sankey_data(baotou_result.dataset, [2030], ["Nd"])["flows"]["Nd"]["2030"])
    assert ("mine · usa", "separation · sichuan") not in later


def _magnet_links(ds):
    """Nd links of the 2020 Sankey; what reaches the magnets application is what magnet makers
    consumed."""
    links = _links(sankey_data(ds, [2020], ["Nd"])["flows"]["Nd"]["2020"])
    into_magnets = sum(v for (s, t), v in links.items() if t == "application · magnets")
    consumed = float(ds.consumption.sel(application="magnets", element="Nd").mean())
    assert into_magnets == pytest.approx(consumed, rel=1e-3)
    return links


def test_the_magnet_layer_is_drawn_between_markets_and_applications(baotou_result):
    ds = baotou_result.dataset.sel(time=slice("2020", "2020"))
    assert [layer.name for layer in layers(ds)] == [
        "mine", "separation", "market", "magnets", "application"]
    links = _magnet_links(ds)
    assert links[("market · china", "magnets · china")] > links[
        ("market · export", "magnets · export")] > 0


def test_a_magnet_layer_by_region_slots_in_too(baotou_result):
    ds = baotou_result.dataset.sel(time=slice("2020", "2020")).drop_vars(
        ["magnet_output", "magnet_trade", "magnet_shortfall"])
    assert "magnets" not in [layer.name for layer in layers(ds)]
    magnets = 0.5 * ds.consumption.sel(application="magnets").expand_dims(
        region=["baotou", "usa"]) / 2
    with_magnets = ds.assign(magnet_output=magnets.transpose("member", "time", "region",
                                                             "element"))
    assert [layer.name for layer in layers(with_magnets)] == [
        "mine", "separation", "market", "magnets", "application"]
    links = _magnet_links(with_magnets)
    assert links[("magnets · usa", "application · magnets")] > 0
    assert links[("market · export", "magnets · usa")] > 0


def test_report_page_is_self_contained_and_complete(baotou_result, tmp_path):
    ds = baotou_result.dataset
    path = write_report(ds, tmp_path / "r" / "report.html", baotou_result.manifest,
                        baotou_result.scenario)
    text = path.read_text("utf-8")
    assert not re.search(r"<script[^>]+src=", text), "no external scripts"
    for section in ("flows", "prices", "supply", "balance", "claims", "environment", "events"):
        assert f"id='{section}'" in text
    payload = json.loads(re.search(r"id='sankey-data'>(.*?)</script>", text, re.S).group(1)
                         .replace("<\\/", "</"))
    assert set(payload["elements"]) == {ALL, *ds.element.values.tolist()}
    assert "2011" in payload["flows"]["Dy"]
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]   # no temp files left


def test_ensemble_report_draws_bands(tmp_path):
    from reesim import load_scenario, simulate

    res = simulate(load_scenario("baotou-ensemble", ["end_year=2012",
                                                     "output.frequency=year"]), members=4)
    fig = figures.price_figure(res.dataset, ["Nd"])
    names = [t.name for t in fig.data if t.name]
    assert any("5-95% of members" in n for n in names)
    assert any("median of 4" in n for n in names)
    assert "t REO/yr" in report_html(res.dataset)


def test_report_cli_and_bad_folder(baotou_result, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["run", "baotou", "--set", "end_year=2012", "--quiet",
                                 "--report", "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "report.html").is_file() and (run / "scenario.yaml").is_file()
    loaded = load_run(run)
    assert loaded.scenario is not None and "japan_halt_2010" in loaded.scenario.events
    again = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "other.html")])
    assert again.exit_code == 0 and (tmp_path / "other.html").is_file()
    compared = runner.invoke(app, ["compare", str(run), "baotou-free-market", "--years",
                                   "2011", "--out", str(tmp_path / "cmp")])
    assert compared.exit_code == 0, compared.output
    assert "differences to baotou" in compared.output      # the run folder is the base
    assert "baotou-free-market vs baotou %" in (tmp_path / "cmp" / "compare.csv").read_text()
    bad = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert bad.exit_code == 2 and "results.nc" in bad.output
    with pytest.raises(InputError):
        load_run(tmp_path / "nothing")


def test_comparison_uses_annual_figures_not_sums_of_monthly_rates(baotou_result):
    ds = baotou_result.dataset
    other = ds.copy()
    other["mine_output"] = ds.mine_output * 1.1
    table = comparison_table([Compared("a", ds), Compared("b", other)], [2011, 2020])
    row = table[(table.indicator == "World mine output") & (table.year == 2020)].iloc[0]
    expected = float(ds.mine_output.sel(time="2020").sum(["producer", "element"]).mean()) / 1e3
    assert row["a"] == pytest.approx(expected)
    assert row["b vs a %"] == pytest.approx(10.0)
    assert row["b - a"] == pytest.approx(0.1 * expected)
    assert np.isfinite(table["a"]).any()


def test_compare_cli_runs_scenarios_and_writes_html(tmp_path):
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", "baotou", "baotou-free-market", "--years",
                                 "2010,2011", "--out", str(out)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "Nd oxide, export price" in result.output
    assert (out / "compare.html").is_file() and (out / "compare.csv").is_file()
    one = runner.invoke(app, ["compare", "baotou"])
    assert one.exit_code == 2 and "at least two" in one.output
    unknown = runner.invoke(app, ["compare", "baotou", "no-such-scenario"])
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output


def _ensembles(tmp_path, members: int, seeds: tuple[int, int]) -> list[Compared]:
    """``baotou-ensemble`` to 2012 and the same with a state purchase of 5 kt Nd in 2011."""
    from reesim import load_scenario, simulate

    lever = tmp_path / "buy.yaml"
    lever.write_text("extends: baotou-ensemble\nname: buy\nend_year: 2012\nevents:\n"
                     "  nd_buy:\n    type: stockpile\n    holder: state_reserve\n"
                     "    action: buy\n    amounts_t_reo: {Nd: 5000}\n    months: 12\n"
                     "    start: '2011-01'\n")
    base = load_scenario("baotou-ensemble", ["end_year=2012"])
    runs = (("base", base, seeds[0]), ("buy", load_scenario(str(lever)), seeds[1]))
    return [Compared(name, simulate(scen, members=members, seed=seed).dataset)
            for name, scen, seed in runs]


def test_paired_ensembles_give_the_per_member_effect(tmp_path):
    """Two ensembles over the same futures (same members, samples and seed) are compared
    member by member: the quantiles of the per-member differences, which the difference of
    the medians is not."""
    from reesim.compare import paired
    from reesim.indicators import mean_by_year

    runs = _ensembles(tmp_path, 6, (3, 3))
    assert paired(runs[0].dataset, runs[1].dataset)
    table = comparison_table(runs, [2011])
    row = table[table.indicator == "Nd oxide, China price"].iloc[0]
    prices = [mean_by_year(r.dataset.price.sel(market="china", element="Nd")).sel(year=2011)
              .values for r in runs]
    effect = 100 * (prices[1] / prices[0] - 1)
    assert row["buy vs base, paired p50 %"] == pytest.approx(np.median(effect))
    assert row["buy vs base, paired p10 %"] == pytest.approx(np.quantile(effect, 0.1))
    assert row["buy - base, paired p90"] == pytest.approx(
        np.quantile(prices[1] - prices[0], 0.9))
    assert row["buy vs base, paired p90 %"] > 0           # the purchase raises China's Nd
    assert row["buy vs base %"] == pytest.approx(100 * (np.median(prices[1])
                                                        / np.median(prices[0]) - 1))
    base = tmp_path / "base.yaml"
    base.write_text("extends: baotou-ensemble\nname: base\nend_year: 2012\n")
    shown = runner.invoke(app, ["compare", str(base), str(tmp_path / "buy.yaml"), "--members",
                                "4", "--seed", "3", "--years", "2011", "--out",
                                str(tmp_path / "cmp")], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "paired ensembles:" in shown.output and "; paired +" in shown.output
    assert "paired" in (tmp_path / "cmp" / "compare.csv").read_text().splitlines()[0]


def test_ensembles_over_other_futures_are_not_paired(tmp_path):
    from reesim.compare import paired

    runs = _ensembles(tmp_path, 4, (3, 4))              # another seed: other samples
    assert not paired(runs[0].dataset, runs[1].dataset)
    assert not paired(runs[0].dataset.isel(member=[0]), runs[0].dataset.isel(member=[0]))
    table = comparison_table(runs, [2011])
    assert not any("paired" in c for c in table.columns)
    assert "buy vs base %" in table.columns


def test_plot_accessor_and_xarray_plot(baotou_result):
    import matplotlib

    matplotlib.use("Agg")
    fig = baotou_result.plot.price("Dy")
    assert {t.name for t in fig.data} == {"Dy oxide, China domestic",
                                          "Dy oxide, export (FOB China)"}
    assert baotou_result.plot.sankey("all", 2011).data[0].type == "sankey"
    line = baotou_result.dataset.price.sel(element="Nd", market="export", member=0).plot()
    assert len(line) == 1
    matplotlib.pyplot.close("all")


def test_events_frame_clips_to_the_run(baotou_result):
    ds = baotou_result.dataset.sel(time=slice("2008", "2012"))
    events = figures.events_frame(baotou_result.scenario, ds)
    assert "japan_halt_2010" in set(events.name)
    assert "kachin_seizure_2024" not in set(events.name)
    assert (events.start >= np.datetime64("2008-01-01")).all()
    assert isinstance(ds, xr.Dataset)


def test_claims_csv_has_numbers_units_and_full_citations(baotou_result):
    import io

    import pandas as pd

    from reesim.report.claims import claims_csv, system_claims

    frame = pd.read_csv(io.StringIO(claims_csv(system_claims(baotou_result.dataset), None)))
    assert list(frame.columns[:6]) == ["claim", "period", "value", "low", "high", "unit"]
    assert frame.value.dtype.kind == "f" and frame.low.notna().all()
    assert (frame.low <= frame.high).all() and set(frame.unit) == {"%", "kt REO/yr"}
    # the fringe's level against IMCOA's 30-40 kt of illegal output c.2014: the model's
    # South China fringe less the quota-counted output, in the same year
    fringe = frame[frame.claim == "China's illegal mine output"].iloc[0]
    assert (fringe.low, fringe.high, fringe.period) == (30.0, 40.0, "c.2014")
    ds = baotou_result.dataset.isel(member=0)
    illegal = ds.mine_output.sel(producer=~ds.producer_legal.values, time="2014")
    # written to six significant digits (claims_csv's float_format %.6g): half a unit of the
    # sixth is up to 5e-6 of the value (rel=1e-6 failed for 34.217 against 34.21704)
    assert fringe.value == pytest.approx(float(illegal.sum(["producer", "element"]).mean())
                                         / 1000.0, rel=5e-6)
    assert frame.source.str.contains("<http").any()       # links kept, not cut at 70 chars
    assert frame.source.str.len().max() > 100


def test_older_results_without_routes_still_get_a_sankey(baotou_result, caplog):
    ds = baotou_result.dataset.drop_vars("separation_route_share")
    links = _links(sankey_data(ds, [2020], ["Nd"])["flows"]["Nd"]["2020"])
    assert not any(s.startswith("mine") and t.startswith("separation") for s, t in links)
    assert any(t.startswith("application") for _, t in links)
    assert "separation_route_share" in caplog.text


def test_report_and_compare_never_overwrite_a_users_file(baotou_result, tmp_path):
    """The output rules of issue 6 hold for report and compare too."""
    mine = tmp_path / "thesis.html"
    mine.write_text("<html>my work</html>", encoding="utf-8")
    with pytest.raises(InputError, match="not written by reesim"):
        write_report(baotou_result.dataset, mine, baotou_result.manifest)
    assert mine.read_text(encoding="utf-8") == "<html>my work</html>"
    page = write_report(baotou_result.dataset, tmp_path / "r.html", baotou_result.manifest)
    with pytest.raises(InputError, match="--overwrite"):
        write_report(baotou_result.dataset, page, baotou_result.manifest)
    assert write_report(baotou_result.dataset, page, baotou_result.manifest,
                        overwrite=True) == page
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep", encoding="utf-8")
    result = CliRunner().invoke(app, ["compare", "baotou", "baotou-free-market", "--out",
                                      str(folder), "--years", "2011"])
    assert result.exit_code == 2 and "never overwrites" in result.output
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_mean_by_year_is_the_groupby_mean_bit_for_bit(baotou_result):
    from reesim import indicators as ind

    ds = baotou_result.dataset
    annual = ds.isel(time=slice(0, None, 12))          # one record a year
    cases = [ds[v] for v in ds.data_vars if "time" in ds[v].dims]
    cases += [ind.china_exports(ds), ds.mine_output.transpose("producer", "time", "member", ...),
              ds.price.where(ds.price > 20), annual.price,
              ds.price.isel(time=slice(3, 27))]         # part years: the groupby itself
    for da in cases:
        fast, slow = ind.mean_by_year(da), da.groupby("year").mean("time")
        assert fast.identical(slow), da.name
        assert fast.dims == slow.dims and list(fast.coords) == list(slow.coords), da.name
        np.testing.assert_array_equal(fast.values, slow.values)


def test_a_change_in_price_variation_is_shown_in_points_not_as_a_relative_change():
    import pandas as pd

    from reesim.report.claims import claims_frame, effect_change

    # a CV of 0.41% under the free market and 1.6% under the company: +1.2 points, not +294%
    assert effect_change("basket_price_coefficient_of_variation", 0.016, 0.0041, 290.2) == \
        "+1.2 pp"
    assert effect_change("baotou_output_t_reo_per_yr", 48_680.0, 49_220.0, -1.1) == "-1%"
    effects = pd.DataFrame({"trading_company": [0.016, 48_680.0],
                            "free_market": [0.0041, 49_220.0], "change_pct": [290.2, -1.1]},
                           index=["basket_price_coefficient_of_variation",
                                  "baotou_output_t_reo_per_yr"])
    rows = claims_frame([], effects).set_index("claim").model
    assert rows.iloc[0].endswith("(+1.2 pp)") and rows.iloc[1].endswith("(-1%)")


def test_run_report_belongs_to_the_run_beside_it(tmp_path):
    """--report is written with the results, listed as reesim's, replaced or removed with them."""
    run = tmp_path / "run"
    base = ["run", "baotou", "--set", "end_year=2003", "--frequency", "year", "--quiet",
            "--out", str(run)]
    assert runner.invoke(app, [*base, "--report"]).exit_code == 0
    marker = json.loads((run / ".reesim-output.json").read_text())
    assert "report.html" in marker["files"]
    again = runner.invoke(app, [*base, "--overwrite", "--report"])
    assert again.exit_code == 0, again.output
    assert "report.html" in again.output
    plain = runner.invoke(app, [*base, "--overwrite"])
    assert plain.exit_code == 0, plain.output
    assert not (run / "report.html").exists()           # the old run's report went with it
    assert runner.invoke(app, ["report", str(run)]).exit_code == 0
    (run / "notes.txt").write_text("keep", encoding="utf-8")
    assert runner.invoke(app, [*base, "--overwrite"]).exit_code == 0
    assert not (run / "report.html").exists()          # `reesim report`'s page: stale too
    assert (run / "notes.txt").read_text(encoding="utf-8") == "keep"
    (run / "report.html").write_text("<html>mine</html>", encoding="utf-8")
    refused = runner.invoke(app, [*base, "--overwrite", "--report"])
    assert refused.exit_code == 2 and "report.html" in refused.output
    assert (run / "report.html").read_text(encoding="utf-8") == "<html>mine</html>"


def test_compare_falls_back_to_shared_years_and_refuses_runs_without_one(tmp_path):
    """Runs to 2005 cover none of the default years: was "none of the years [] is in run"."""
    from types import SimpleNamespace

    import pandas as pd

    from reesim.cli_visual import compared_years
    from reesim.compare import DEFAULT_YEARS

    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(f"extends: baotou\nname: {name}\nend_year: 2005\n"
                                               "output:\n  frequency: year\n")
    result = runner.invoke(app, ["compare", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"),
                                 "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(tmp_path / "cmp" / "compare.csv").year) == {2000, 2005}

    def run(label, first, last):
        time = xr.DataArray(pd.date_range(f"{first}-01-01", f"{last}-12-01", freq="MS"),
                            dims="time")
        return SimpleNamespace(label=label, dataset=xr.Dataset(coords={"time": time}))

    with pytest.raises(InputError, match="share no year: 'a' covers 2000-2005, 'b' covers "
                                         "2010-2015"):
        compared_years([run("a", 2000, 2005), run("b", 2010, 2015)], None, DEFAULT_YEARS, None)
    assert compared_years([run("a", 2000, 2030), run("b", 2015, 2040)], None, DEFAULT_YEARS,
                          None) == (2020, 2030)
