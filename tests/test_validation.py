"""Validation: metrics with known answers on synthetic histories, the report, the CLI command."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from reesim import load_scenario, simulate
from reesim.cli import app
from reesim.dims import ELEMENTS, MARKETS
from reesim.indicators import (
    china_mine_output,
    mined_in_china,
    region_mine_output,
    world_mine_output,
)
from reesim.validation import (
    OBJECTIVE_WEIGHTS,
    Observations,
    build_series,
    compute_metrics,
    load_observations,
    objective,
    paired_points,
    write_report,
)
from reesim.validation.metrics import (
    SPIKE_ELEMENTS,
    direction_agreement,
    log_rmse,
    member_metrics,
    range_coverage,
    range_miss_distance,
    recorded_peak,
    year_on_year,
)
from reesim.validation.observations import (
    HISTORY_END,
    RECORD_END_YEAR,
    check_end_year,
    tidy_prices,
)
from reesim.validation.outlooks import demand_table, outlook_envelope, outlook_table
from reesim.validation.record import fit_by_period
from reesim.validation.series import window_values
from reesim.validation.targets import TARGETS, target_summary, target_table

runner = CliRunner()
LN2 = math.log(2.0)


# -- synthetic histories -----------------------------------------------------------------------

def rising(times: pd.DatetimeIndex) -> np.ndarray:
    """A strictly rising price path, 10 USD/kg in Jan 2000, +1% a month."""
    months = (times.year - 2000) * 12 + times.month - 1
    return 10.0 * 1.01 ** np.asarray(months, float)


def spike(times: pd.DatetimeIndex, peak: str = "2011-08") -> np.ndarray:
    """A flat 20 USD/kg path with a single peak month at 200 USD/kg."""
    out = np.full(len(times), 20.0)
    out[np.asarray(times.strftime("%Y-%m") == peak)] = 200.0
    return out


def make_dataset(price=rising, members: int = 1, frequency: str = "month", start: int = 2000,
                 end: int = 2016, china_factor: float = 0.5,
                 volume=lambda t: 1.0) -> xr.Dataset:
    """A dataset with the result contract's layout: every element follows ``price`` (export),
    China prices are ``china_factor`` of it; China mines 100 kt/yr x volume, the rest 10 kt/yr,
    China exports 30 kt/yr x volume under a 60 kt/yr export quota (2005-2014) and a 120 kt/yr
    mining quota (from 2006)."""
    if frequency == "month":
        times = pd.date_range(f"{start}-01-01", f"{end}-12-01", freq="MS")
        period = np.full(len(times), 1 / 12)
    else:
        times = pd.date_range(f"{start}-01-01", f"{end}-01-01", freq="YS")
        period = np.ones(len(times))
    n_t, n_e = len(times), len(ELEMENTS)
    path = price(times)
    prices = np.empty((members, n_t, n_e, 2))
    prices[..., MARKETS.index("export")] = path[None, :, None]
    prices[..., MARKETS.index("china")] = china_factor * path[None, :, None]
    scale = np.array([volume(t) for t in times])
    mine = np.zeros((members, n_t, 3, n_e))
    mine[:, :, 0, 0] = 100_000.0 * scale
    mine[:, :, 2, 0] = 10_000.0
    exports = np.zeros((members, n_t, 2, n_e))
    exports[:, :, 0, 0] = 30_000.0 * scale
    years = times.year.to_numpy()
    mining_quota = np.where(years >= 2006, 120_000.0, np.inf)
    export_quota = np.where((years >= 2005) & (years <= 2014), 60_000.0, np.inf)
    return xr.Dataset(
        {
            "price": (("member", "time", "element", "market"), prices, {"units": "USD/kg"}),
            "mine_output": (("member", "time", "producer", "element"), mine,
                            {"units": "t REO/yr"}),
            "exports": (("member", "time", "exporter", "element"), exports,
                        {"units": "t REO/yr"}),
            "china_mining_quota": ("time", mining_quota, {"units": "t REO/yr"}),
            "china_export_quota": ("time", export_quota, {"units": "t REO/yr"}),
            "period_years": ("time", period, {"units": "yr"}),
        },
        coords={
            "member": np.arange(members), "time": times, "year": ("time", years),
            "element": list(ELEMENTS), "market": list(MARKETS),
            "producer": ["bayan_obo", "ionic_clays", "mount_weld"],
            "producer_region": ("producer", ["baotou", "south_china", "australia"]),
            "region": ["baotou", "south_china", "australia"],
            "region_market": ("region", ["china", "china", "export"]),
            "exporter": ["baotou", "south_china"],
        },
    )


def _window_mean(ds: xr.Dataset, market: str, start: str, end: str) -> float:
    """Mean export/China Nd price over the months overlapping [start, end] (member 0)."""
    p = ds.price.sel(element="Nd", market=market).isel(member=0)
    months = pd.DatetimeIndex(p.time.values)
    mask = (months <= pd.Timestamp(end)) & (months + pd.DateOffset(months=1) > pd.Timestamp(start))
    return float(p.values[np.asarray(mask)].mean())


PRICE_WINDOWS = [  # (statistic, start, end) of the synthetic Nd record
    ("annual_average", "2008-01-01", "2008-12-31"),
    ("annual_average", "2009-01-01", "2009-12-31"),
    ("annual_average", "2010-01-01", "2010-12-31"),
    ("quarter_average", "2010-01-01", "2010-03-31"),
    ("quarter_average", "2011-01-01", "2011-03-31"),
    ("spot", "2011-09-16", "2011-09-16"),
    ("annual_average", "2015-01-01", "2015-12-31"),
]
RANGE_WINDOWS = [("year_end_range", f"{y}-12-01", f"{y}-12-31") for y in (2011, 2012, 2013)]


def observations_from(ds: xr.Dataset, width: float = 0.1) -> Observations:
    """A record that ``ds`` matches exactly: Nd points at the simulated window means, ranges of
    +-``width`` around them, production, exports and a China spot range on the same dates."""
    rows = []
    for statistic, start, end in PRICE_WINDOWS:
        rows.append(("Nd", "export", start, end, statistic,
                     _window_mean(ds, "export", start, end), None, None))
    for statistic, start, end in RANGE_WINDOWS:
        v = _window_mean(ds, "export", start, end)
        rows.append(("Nd", "export", start, end, statistic, None, v * (1 - width),
                     v * (1 + width)))
    v = _window_mean(ds, "china", "2011-09-16", "2011-09-16")
    rows.append(("Nd", "china", "2011-09-16", "2011-09-16", "spot", None, v * (1 - width),
                 v * (1 + width)))
    raw = pd.DataFrame(rows, columns=["element", "market", "period_start", "period_end",
                                      "statistic", "value_usd_per_kg", "low_usd_per_kg",
                                      "high_usd_per_kg"])
    raw["basis"], raw["source"], raw["note"] = "reported", "synthetic", ""
    world = ds.mine_output.sum(["producer", "element"]).isel(member=0).groupby("year").mean()
    china = ds.mine_output.isel(member=0, producer=[0, 1]).sum(["producer", "element"])
    china = china.groupby("year").mean()
    exports = ds.exports.isel(member=0).sum(["exporter", "element"]).groupby("year").mean()
    years = range(2004, 2016)
    production = pd.DataFrame(
        [("world", y, float(world.sel(year=y)), "") for y in years]
        + [("china", y, float(china.sel(year=y)), "") for y in years],
        columns=["entity", "year", "mine_production_t_reo", "note"])
    export_rows = pd.DataFrame([(y, float(exports.sel(year=y)), "") for y in (2006, 2010, 2012)],
                               columns=["year", "china_exports_t_reo", "note"])
    return Observations(prices=tidy_prices(raw), production=production, exports=export_rows,
                        fx=pd.DataFrame({"year": [2011], "cny_per_usd": [6.46]}))


def metric(frame: pd.DataFrame, series: str, name: str) -> float:
    rows = frame[(frame.series == series) & (frame.metric == name)]
    assert len(rows) == 1, f"{series} {name} missing"
    return float(rows.value.iloc[0])


NO_SPIKE = {k: v for k, v in OBJECTIVE_WEIGHTS.items() if k != "spike"}


@pytest.fixture(scope="module")
def truth():
    ds = make_dataset()
    return ds, observations_from(ds)


# -- metric functions --------------------------------------------------------------------------

def test_metric_functions_on_arrays():
    obs = np.array([10.0, 20.0, 40.0])
    assert log_rmse(obs, obs) == 0.0
    assert log_rmse(2 * obs, obs) == pytest.approx(LN2)
    assert math.isnan(log_rmse(np.array([]), np.array([])))
    low, high = np.array([1.0, 1.0]), np.array([2.0, np.inf])
    assert range_coverage(np.array([1.5, 100.0]), low, high) == 1.0
    assert range_coverage(np.array([4.0, 0.5]), low, high) == 0.0
    assert range_miss_distance(np.array([4.0, 0.5]), low, high) == pytest.approx(LN2)
    assert math.isnan(range_miss_distance(np.array([1.5, 3.0]), low, high))
    assert direction_agreement(np.array([1.0, -2.0]), np.array([1.0, -1.0])) == 1.0
    assert direction_agreement(np.array([-1.0, 2.0]), np.array([1.0, -1.0])) == 0.0
    assert direction_agreement(np.array([0.0]), np.array([1.0])) == 0.0
    # (observation, member) arrays score every member at once
    sims = np.stack([obs, 2 * obs], axis=1)
    assert log_rmse(sims, obs) == pytest.approx([0.0, LN2])


def test_year_on_year_signs_only_what_the_record_allows():
    obs = pd.DataFrame({
        "statistic": ["year_end_range"] * 3 + ["annual_average"] * 2,
        "kind": ["range"] * 3 + ["point"] * 2,
        "period_start": pd.to_datetime(["2011-12-01", "2012-12-01", "2013-12-01",
                                        "2014-01-01", "2015-01-01"]),
        "period_end": pd.to_datetime(["2011-12-31", "2012-12-31", "2013-12-31",
                                      "2014-12-31", "2015-12-31"]),
        "value": [np.nan, np.nan, np.nan, 63.0, 48.0],
        "low": [190.0, 75.0, 70.0, np.nan, np.nan],
        "high": [200.0, 80.0, 90.0, np.nan, np.nan],
    })
    pairs = year_on_year(obs)
    # 2011 -> 2012 clearly down; 2012 -> 2013 overlaps (no sign); 2014 -> 2015 down
    assert pairs[["first", "second", "sign"]].values.tolist() == [[0, 1, -1.0], [3, 4, -1.0]]


def test_year_on_year_pairs_a_leap_day_with_the_next_february_end():
    # one year after 2012-02-29 is 2013-02-28 (pandas' DateOffset), as the record's month ends
    obs = pd.DataFrame({
        "statistic": ["monthly_average"] * 2, "kind": ["point"] * 2,
        "period_start": pd.to_datetime(["2012-02-01", "2013-02-01"]),
        "period_end": pd.to_datetime(["2012-02-29", "2013-02-28"]),
        "value": [10.0, 20.0], "low": [np.nan] * 2, "high": [np.nan] * 2,
    })
    assert year_on_year(obs)[["first", "second", "sign"]].values.tolist() == [[0, 1, 1.0]]


# -- series and windows ------------------------------------------------------------------------

def test_observation_rows_are_built_once_and_score_like_a_fresh_record(truth):
    ds, obs = truth
    first = {s.name: s.observed for s in build_series(ds, obs)}
    again = {s.name: s.observed for s in build_series(ds, obs)}
    # the record's own rows come from the memo (the same frames); quota ratios are rebuilt
    assert again["price_export_Nd"] is first["price_export_Nd"]
    assert again["production_world"] is first["production_world"]
    fresh = Observations(prices=obs.prices, production=obs.production, exports=obs.exports,
                         fx=obs.fx)
    pd.testing.assert_frame_equal(member_metrics(ds, obs), member_metrics(ds, fresh))


def test_mine_output_totals_are_sums_over_their_producers():
    ds = simulate(load_scenario("baotou", ["end_year=2002"])).dataset
    records = ds.mine_output.sum("element")
    illegal = ~ds.producer_legal.values.astype(bool)
    in_china = mined_in_china(ds).values
    np.testing.assert_allclose(world_mine_output(ds), records.sum("producer"), rtol=1e-12)
    np.testing.assert_allclose(world_mine_output(ds, recorded_only=True),
                               records.isel(producer=np.flatnonzero(~illegal)).sum("producer"),
                               rtol=1e-12)
    np.testing.assert_allclose(china_mine_output(ds, recorded_only=True),
                               records.isel(producer=np.flatnonzero(in_china & ~illegal))
                               .sum("producer"), rtol=1e-12)
    regions = sum(region_mine_output(ds, r) for r in ds.region.values.tolist())
    np.testing.assert_allclose(regions, world_mine_output(ds), rtol=1e-12)
    assert illegal.any() and (in_china & ~illegal).any()


def test_window_means_follow_the_observation_windows(truth):
    ds, obs = truth
    series = {s.name: s for s in build_series(ds, obs)}
    observed, values = window_values(series["price_export_Nd"])
    path = ds.price.sel(element="Nd", market="export").isel(member=0).values
    q1_2010 = path[120:123].mean()  # Jan-Mar 2010
    row = observed.index[(observed.statistic == "quarter_average")
                         & (observed.period_start == "2010-01-01")][0]
    assert values[row, 0] == pytest.approx(q1_2010)
    dec = observed.index[observed.period_start == "2012-12-01"][0]
    assert values[dec, 0] == pytest.approx(path[155])  # December 2012


def test_every_series_has_a_counterpart(truth):
    ds, obs = truth
    names = {s.name for s in build_series(ds, obs)}
    assert {"price_export_Nd", "price_china_Nd", "price_gap_Nd", "production_world",
            "production_china", "china_share_of_world", "china_output_to_mining_quota",
            "china_exports_to_export_quota"} <= names
    points = paired_points(build_series(ds, obs))
    assert points.period_end.max() <= HISTORY_END
    gap = points[points.series == "price_gap_Nd"]
    assert len(gap) == 1 and gap.kind.iloc[0] == "range"
    assert gap.low.iloc[0] < 2.0 < gap.high.iloc[0]  # export = 2 x China in the synthetic data


# -- metrics with known answers ----------------------------------------------------------------

def test_perfect_match(truth):
    ds, obs = truth
    m = compute_metrics(ds, obs)
    for series in ("price_export_Nd", "production_world", "production_china",
                   "china_share_of_world", "china_output_to_mining_quota",
                   "china_exports_to_export_quota"):
        assert metric(m, series, "log_rmse") == pytest.approx(0.0, abs=1e-12), series
    for series in ("price_export_Nd", "price_china_Nd", "price_gap_Nd"):
        assert metric(m, series, "range_coverage") == 1.0
    assert metric(m, "price_export_Nd", "direction_agreement") == 1.0
    # the spike term compares the simulated monthly peak with sparse observed points, so even a
    # perfect synthetic path scores on it; every other family is exactly zero
    assert objective(m, NO_SPIKE) == pytest.approx(0.0, abs=1e-12)
    assert list(m.columns[:6]) == ["series", "metric", "value", "observed", "n", "note"]


def test_doubled_prices_give_log_rmse_ln2(truth):
    ds, obs = truth
    doubled = ds.copy(deep=True)
    doubled["price"] = 2 * ds.price
    m = compute_metrics(doubled, obs)
    assert metric(m, "price_export_Nd", "log_rmse") == pytest.approx(LN2)
    assert metric(m, "price_export_Nd", "range_coverage") == 0.0
    assert metric(m, "price_export_Nd", "range_miss_log_distance") == pytest.approx(
        math.log(2 / 1.1))
    assert metric(m, "price_gap_Nd", "range_coverage") == 1.0  # both markets doubled
    assert metric(m, "production_world", "log_rmse") == pytest.approx(0.0, abs=1e-12)
    # the two price families hold one series each here: J = w_e (ln2 + d) + w_c d
    d = math.log(2 / 1.1)
    expected = (OBJECTIVE_WEIGHTS["price_export"] * (LN2 + d)
                + OBJECTIVE_WEIGHTS["price_china"] * d)
    assert objective(m, NO_SPIKE) == pytest.approx(expected)


def test_a_sign_flip_gives_direction_zero(truth):
    ds, obs = truth
    flipped = ds.copy(deep=True)
    flipped["price"] = 1.0 / ds.price  # rising becomes falling
    m = compute_metrics(flipped, obs)
    assert metric(m, "price_export_Nd", "direction_agreement") == 0.0


def test_volume_direction():
    def wave(t):
        return 1.0 + 0.1 * (t.year % 2)
    ds = make_dataset(volume=wave)
    obs = observations_from(ds)
    m = compute_metrics(ds, obs)
    assert metric(m, "production_world", "direction_agreement") == 1.0
    opposite = make_dataset(volume=lambda t: 1.0 + 0.1 * ((t.year + 1) % 2))
    m = compute_metrics(opposite, obs)
    assert metric(m, "production_world", "direction_agreement") == 0.0


def test_peak_month_and_peak_ratio():
    ds = make_dataset(price=spike)
    obs = load_observations()  # observed peaks: Nd and Dy export spot quotes of Sep 2011
    m = compute_metrics(ds, obs)
    for series in ("price_export_Nd", "price_export_Dy"):
        assert metric(m, series, "peak_month_2011") == 19  # Aug 2011 = 19 months after 2010-01
        row = m[(m.series == series) & (m.metric == "peak_month_2011")]
        assert float(row.observed.iloc[0]) == 20  # Sep 2011
        assert metric(m, series, "peak_month_offset_2011") == -1
        # the peak is taken on the [1/4, 1/2, 1/4]-filtered monthly path: (20/4 + 200/2 + 20/4)/20
        assert metric(m, series, "peak_to_2015_ratio") == pytest.approx(5.5)
    nd = m[(m.series == "price_export_Nd") & (m.metric == "peak_to_2015_ratio")]
    assert float(nd.observed.iloc[0]) == pytest.approx(260 / 48)


def test_chinas_2011_peaks_are_scored_against_the_records_highest_china_quote():
    """``spike_china_<e>``: |ln(China peak / record)| + |month offset| / 12 on the filtered path,
    for every quoted element; weight 0 by default, so the default objective does not see it."""
    ds = make_dataset(price=spike)              # China: 10 USD/kg, 100 in 2011-08
    obs = load_observations()
    m = compute_metrics(ds, obs)
    peak = 10 / 4 + 100 / 2 + 10 / 4            # the [1/4, 1/2, 1/4]-filtered peak month
    for element in SPIKE_ELEMENTS:
        month, level = recorded_peak(obs, element, "china")
        assert month is not None, element
        offset = (pd.Period("2011-08", freq="M") - pd.Period(month, freq="M")).n
        assert metric(m, f"price_china_{element}", "peak_to_record_2011") == pytest.approx(
            peak / level)
        assert metric(m, f"spike_china_{element}", "spike_misfit") == pytest.approx(
            abs(math.log(peak / level)) + abs(offset) / 12)
    assert OBJECTIVE_WEIGHTS["spike_china"] == 0.0
    scored = m[~m.series.str.startswith("spike_china_")]
    assert objective(m) == pytest.approx(objective(scored))
    assert objective(m, {**OBJECTIVE_WEIGHTS, "spike_china": 0.5}) > objective(m)


def test_ensembles_report_median_and_range(truth):
    _, obs = truth
    ds = make_dataset(members=5)
    scale = xr.DataArray([1.0, 1.0, 2.0, 2.0, 2.0], dims="member")
    ds["price"] = ds.price * scale
    m = compute_metrics(ds, obs)
    rows = m[(m.series == "price_export_Nd") & (m.metric == "log_rmse")]
    assert float(rows.value.iloc[0]) == pytest.approx(LN2)
    assert float(rows.value_p05.iloc[0]) == pytest.approx(0.0, abs=1e-12)
    assert float(rows.value_p95.iloc[0]) == pytest.approx(LN2)


def test_annual_output_uses_annual_values():
    ds = make_dataset(frequency="year", price=lambda t: 10.0 + np.asarray(t.year - 2000, float))
    obs = load_observations()
    series = {s.name: s for s in build_series(ds, obs)}
    observed, values = window_values(series["price_export_Nd"])
    years = observed.period_start.dt.year.to_numpy()
    assert values[:, 0] == pytest.approx(10.0 + (years - 2000))
    m = compute_metrics(ds, obs)
    assert math.isnan(metric(m, "price_export_Nd", "peak_month_2011"))


def test_broken_runs_score_infinitely_badly(truth):
    ds, obs = truth
    broken = ds.copy(deep=True)
    broken["price"] = ds.price * 0.0
    assert objective(compute_metrics(broken, obs)) == math.inf


# -- the packaged record -----------------------------------------------------------------------

def test_packaged_observations_stop_in_2015_by_default():
    obs = load_observations()
    assert obs.prices.period_end.max() <= HISTORY_END
    assert obs.production.year.max() <= 2015 and obs.exports.year.max() <= 2015
    assert obs.china_share.year.max() <= 2015 and obs.editions.year.max() <= 2015
    assert set(obs.prices.kind) == {"point", "range"}
    assert {"Nd", "Dy", "PrNd"} <= set(obs.prices["product"])
    with pytest.raises(ValueError, match="2025"):
        check_end_year(2026)


def test_the_validation_record_runs_to_2025_with_prices_to_2020():
    obs = load_observations(RECORD_END_YEAR)
    assert obs.production.year.max() == 2025 and obs.exports.year.max() == 2025
    assert obs.prices.period_end.max().year == 2020
    assert {"usa", "australia", "myanmar"} <= set(obs.production[obs.production.year > 2015]
                                                  .entity)
    # like with like: no share above 1 (2010 used to be 130,000 / 101,000 = 1.29)
    assert obs.china_share.china_share_fraction.max() <= 1.0
    assert obs.china_share.year.is_unique


def test_objective_weights_cover_every_family():
    ds = make_dataset()
    m = compute_metrics(ds, load_observations())
    families = {s.family for s in build_series(ds, load_observations())}
    assert families <= set(OBJECTIVE_WEIGHTS)
    assert math.isfinite(objective(m)) and objective(m) > 0


# -- report and command line -------------------------------------------------------------------

def test_report_writes_both_files(tmp_path, truth):
    ds = make_dataset(members=3)
    obs = load_observations()
    m = compute_metrics(ds, obs)
    out = write_report(ds, m, tmp_path / "report", obs)
    assert {p.name for p in out.iterdir()} == {"validation.html", "validation.csv",
                                               ".reesim-output.json"}
    html = (out / "validation.html").read_text()
    assert "Nd oxide, export price, USD/kg" in html and "plotly" in html
    assert "log RMSE (n)" in html and "root mean square" in html      # the table's key
    back = pd.read_csv(out / "validation.csv")
    assert list(back.columns[:6]) == ["series", "metric", "value", "observed", "n", "note"]
    assert len(back) == len(m)
    assert not list(tmp_path.glob(".report*"))  # the temporary folder is gone


def test_validate_bad_scenario_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baotou\nname: bad\nmarket:\n  regime: monopoly\n")
    out = tmp_path / "never"
    result = runner.invoke(app, ["validate", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "market.regime" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_validate_a_scenario_after_the_record_exits_2(tmp_path):
    # found in review: it crashed with an internal error (no observation to compare with)
    out = tmp_path / "never"
    result = runner.invoke(app, ["validate", "baotou", "--set", "start_year=2031",
                                 "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "start_year" in result.output and "<= 2025" in result.output
    assert not out.exists()


def test_validate_baotou_end_to_end(tmp_path, baotou_result):
    out = tmp_path / "val"
    result = runner.invoke(app, ["validate", "baotou", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} - {".reesim-output.json"} == {
        "validation.html", "validation.csv", "claims.csv", "targets.csv", "targets_summary.csv",
        "demand.csv", "outlooks.csv", "fit_by_period.csv", "patterns.csv", "step_check.csv",
        "step_refinement.csv", "balances.csv", "element_supply.csv", "spike.csv",
        "history_volumes.csv", "outlook_envelope.csv"}
    # before the targets, the same series 2005-2015 shown as plainly (China's exports of
    # 2011-2013 +79%, +91%, +37% over the customs record at the committed fit, 2026-12-07)
    history = pd.read_csv(out / "history_volumes.csv")
    assert history.year.between(2005, 2015).all() and set(history.target) >= {
        "world mine output", "China mine output", "China exports"}
    assert {2010, 2011, 2012, 2013} <= set(history[history.target == "China exports"].year)
    np.testing.assert_allclose(history.error_pct,
                               100 * (history.simulated / history.observed - 1), atol=0.01)
    assert "Before the targets, 2005-2015" in result.output
    # the element balances of 2010 (the crisis' eve) and 2020: every element, stocks in years
    # of consumption, the record's prices of each year beside the model's (Dy export: USGS
    # annual average 261 in 2020)
    both = pd.read_csv(out / "balances.csv")
    assert both.groupby("year").size().to_dict() == {2010: 16, 2020: 16}
    # the csv keeps 6 significant digits: each of the three numbers is within 5e-6 of its own
    # value, so a ratio recomputed from two of them is within about 1.5e-5 of the one written
    # (rtol 1e-5 failed at 1.02e-5 on a refit)
    np.testing.assert_allclose(both.stock_years, both.stocks / both.consumption, rtol=2e-5)
    np.testing.assert_allclose(both.supply_to_consumption,
                               both.separation_output / both.consumption, rtol=2e-5)
    balances = both[both.year == 2020].set_index("element")
    assert balances.at["Dy", "record_export"] == pytest.approx(261.0)
    # the glut left unseparated: Ce and Y in 2020, never Nd (sellers hold under two years)
    assert balances.at["Ce", "separation_residue"] > 5_000.0
    assert balances.at["Y", "separation_residue"] > 5_000.0
    assert balances.at["Nd", "separation_residue"] == 0.0
    assert np.isnan(balances.at["Pr", "record_export"])
    assert both[both.year == 2010].record_export.notna().sum() >= 5  # 2010's export prices
    assert "Element balances 2010 and 2020" in result.output
    # single elements' mine output beside the published figures: Adamas' Dy c.2020 and the
    # Dy and Tb Roskill found in China's 2018 imports from Myanmar
    supply = pd.read_csv(out / "element_supply.csv").set_index(["element", "year", "scope"])
    assert supply.at[("Dy", 2020, "world"), "recorded_t"] == pytest.approx(1850.0)
    assert supply.at[("Dy", 2018, "myanmar"), "recorded_t"] == pytest.approx(860.0)
    assert supply.at[("Tb", 2018, "myanmar"), "recorded_t"] == pytest.approx(130.0)
    # and the world's separated NdPr of 2018 (Arafura, illegal supply included), beside the
    # run's separated Nd and Pr (1.20x at the fiftieth session's fit)
    assert supply.at[("NdPr", 2018, "world, separated"), "recorded_t"] == pytest.approx(37000.0)
    ndpr = baotou_result.dataset.separation_output.isel(member=0).sel(element=["Nd", "Pr"],
                                                                     time="2018")
    assert supply.at[("NdPr", 2018, "world, separated"), "simulated_t"] == pytest.approx(
        float(ndpr.sum(["region", "element"]).mean("time")), rel=1e-5)
    np.testing.assert_allclose(supply.ratio, supply.simulated_t / supply.recorded_t, rtol=1e-5)
    # the same run's Dy mine output of 2020 as the element balances read it
    assert supply.at[("Dy", 2020, "world"), "simulated_t"] == pytest.approx(
        balances.at["Dy", "mine_output"], rel=1e-5)
    assert "Element supply vs record" in result.output
    # the time step, as the calibration checks it: the committed fit converges, since
    # 2026-12-04 in its observed price paths too (test_market_behaviour.py)
    step = pd.read_csv(out / "step_check.csv")
    assert step.within.tolist() == [True, True, True], step
    assert step.allowed.tolist() == [0.05, 0.02, 0.10]
    assert "time step (converged)" in result.output
    # and refined to 16 sub-steps: how far the run stands from the finest step's paths
    refined = pd.read_csv(out / "step_refinement.csv")
    assert refined[["substeps", "against"]].values.tolist() == [
        [1, 2], [2, 4], [4, 8], [8, 16], [1, 16], [2, 16], [4, 16]]
    assert "against 16 sub-steps the run's observed price paths stand up to" in result.output
    assert "90% of their years within" in " ".join(result.output.split())
    assert ((refined.path_p90 <= refined.path_gap)
            & refined.paths_over_5pct.between(0.0, 1.0)).all(), refined
    # the share beyond 5% is of the same gaps as the largest: some exactly when it is above 5%
    assert ((refined.paths_over_5pct > 0) == (refined.path_gap > 0.05)).all(), refined
    assert ((refined.paths_over_5pct > 0.10) <= (refined.path_p90 > 0.05)).all(), refined
    # the behaviour patterns, the record's beside them: the 2011 peaks in China are in the file
    # (and still missed: issue 8), the export spike ratio is the scored one
    patterns = pd.read_csv(out / "patterns.csv").set_index("pattern")
    assert patterns.loc["nd_china_peak_usd_per_kg", "record"] == pytest.approx(178.79)
    assert patterns.loc["nd_export_peak_to_2015", "simulated"] == pytest.approx(
        float(pd.read_csv(out / "validation.csv").query(
            "series == 'price_export_Nd' and metric == 'peak_to_2015_ratio'").value.iloc[0]),
        rel=0.05)
    assert "Behaviour patterns" in result.output
    # the choke guard: history's highest price over its reference, beside the record's highest
    # quote of 2011 over its own (La exported at 135-138 USD/kg against a 2007 reference of
    # 3.0: about 45 times); baotou stays well under it (19 times at the fiftieth session's fit)
    guard = patterns.loc["max_price_to_reference"]
    assert guard.record == pytest.approx(45.39, rel=1e-3)
    assert 1.0 < guard.simulated < guard.record
    # the 2011 spike of every quoted element in both markets, read like the scored spike: the
    # Nd export row is the pattern above, the China peaks are the patterns' record and run
    spike = pd.read_csv(out / "spike.csv").set_index(["element", "market"])
    assert len(spike) == 16 and spike.record_peak_usd_per_kg.notna().all()
    assert spike.loc[("Nd", "export"), "peak_to_2015"] == pytest.approx(
        patterns.loc["nd_export_peak_to_2015", "simulated"], rel=1e-5)
    assert spike.loc[("Dy", "china"), "peak_usd_per_kg"] == pytest.approx(
        patterns.loc["dy_china_peak_usd_per_kg", "simulated"], rel=1e-5)
    assert spike.loc[("Dy", "china"), "record_peak_usd_per_kg"] == pytest.approx(
        patterns.loc["dy_china_peak_usd_per_kg", "record"])
    assert spike.loc[("Nd", "export"), "record_peak_month"] == "2011-09"
    assert spike.loc[("Nd", "export"), "record_peak_to_2015"] == pytest.approx(
        patterns.loc["nd_export_peak_to_2015", "record"], rel=1e-5)
    np.testing.assert_allclose(spike.peak_to_record,
                               spike.peak_usd_per_kg / spike.record_peak_usd_per_kg, rtol=1e-5)
    assert "The 2011 spike by element" in result.output
    targets = pd.read_csv(out / "targets.csv")
    assert set(targets.target) == {t.name for t in TARGETS}
    assert targets.year.min() == 2016 and targets.year.max() == 2025
    outlooks = pd.read_csv(out / "outlooks.csv")
    iea = outlooks[(outlooks.publisher == "IEA") & (outlooks.target_year == 2040)]
    assert len(iea) == 1 and np.isfinite(iea.model.iloc[0])
    assert "Outlook vs baseline" in result.output and "Targets 2016-2025" in result.output
    claims = pd.read_csv(out / "claims.csv")
    assert claims.claim.str.contains("Bayan Obo share of China's RE reserves").any()
    assert claims.claim.str.contains("trading company vs free market").any()
    frame = pd.read_csv(out / "validation.csv")
    expected = {f"price_{m}_{p}" for m, p in load_observations(RECORD_END_YEAR)
                .prices[["market", "product"]]
                .drop_duplicates().itertuples(index=False)}
    expected |= {"production_world", "production_china", "china_share_of_world",
                 "china_output_to_mining_quota", "china_exports_to_export_quota",
                 "china_exports", "production_usa", "production_australia",
                 "production_myanmar"}
    assert expected <= set(frame.series)
    assert {"log_rmse", "range_coverage", "direction_agreement", "peak_month_2011",
            "peak_to_2015_ratio"} <= set(frame.metric)
    assert "objective" in result.output



def test_countries_the_model_pools_are_compared_as_one_sum(truth):
    # the model places its minor producers in pooled regions (other_monazite sits in Malaysia
    # for Malaysia, Brazil, Thailand, Vietnam): a recorded country is summed with the others, not
    # set against one region (Brazil against nothing: a log error of a zero)
    ds, obs = truth
    pooled = ds.assign_coords(producer_region=("producer", ["baotou", "south_china", "malaysia"]),
                              region=["baotou", "south_china", "malaysia"])
    rows = [("malaysia", 2006, 4_000.0, ""), ("brazil", 2006, 6_000.0, ""),
            ("brazil", 2007, 20_000.0, ""),            # alone in its year: a partial list
            ("thailand", 2008, 5_000.0, ""), ("vietnam", 2008, 5_000.0, "")]
    production = pd.concat([obs.production, pd.DataFrame(rows, columns=obs.production.columns)],
                           ignore_index=True)
    record = Observations(prices=obs.prices, production=production, exports=obs.exports,
                          fx=obs.fx)
    series = {s.name: s for s in build_series(pooled, record)}
    assert "production_malaysia" not in series and "production_brazil" not in series
    other = series["production_other_countries"]
    assert other.observed.value.tolist() == [10_000.0, 10_000.0]          # 2006 and 2008
    assert other.observed.note.iloc[0] == "sum of malaysia 4,000, brazil 6,000"
    m = compute_metrics(pooled, record)
    assert metric(m, "production_other_countries", "log_rmse") == pytest.approx(0.0, abs=1e-12)
    # not fitted: the objective is the same with and without these rows
    assert objective(m) == pytest.approx(objective(compute_metrics(pooled, obs)))

# -- 2016-2025 targets and the outlook comparison ---------------------------------------------

def record_from(ds: xr.Dataset, scale: dict[str, float] | None = None,
                editions: pd.DataFrame | None = None) -> Observations:
    """A 2016-2025 volume record equal to ``ds`` times ``scale[entity]`` (default 1)."""
    scale = scale or {}
    annual_mine = ds.mine_output.isel(member=0).sum("element").groupby("year").mean()
    world = annual_mine.sum("producer")
    china = annual_mine.isel(producer=[0, 1]).sum("producer")
    australia = annual_mine.isel(producer=2)
    exports = ds.exports.isel(member=0).sum(["exporter", "element"]).groupby("year").mean()
    years = range(2016, 2026)
    rows = [(name, y, float(da.sel(year=y)) * scale.get(name, 1.0), "")
            for name, da in (("world", world), ("china", china), ("australia", australia))
            for y in years]
    production = pd.DataFrame(rows, columns=["entity", "year", "mine_production_t_reo", "note"])
    export_rows = pd.DataFrame([(y, float(exports.sel(year=y)) * scale.get("exports", 1.0), "")
                                for y in years], columns=["year", "china_exports_t_reo", "note"])
    return Observations(prices=tidy_prices(pd.DataFrame(columns=[
        "element", "market", "period_start", "period_end", "statistic", "value_usd_per_kg",
        "low_usd_per_kg", "high_usd_per_kg", "basis", "source", "note"])),
        production=production, exports=export_rows, fx=pd.DataFrame(), editions=editions)


def test_targets_pass_on_a_matching_record_and_fail_beyond_tolerance():
    ds = make_dataset(end=2026)
    table = target_table(ds, record_from(ds))
    assert set(table.target) == {"world mine output", "China mine output",
                                 "Australia mine output", "China exports"}
    assert len(table) == 40 and table.passed.all()
    assert np.allclose(table.error_pct, 0.0)
    # China recorded 20% above the run: outside +-15% every year; Australia 20% above: within 25%
    off = target_table(ds, record_from(ds, {"china": 1.2, "australia": 1.2}))
    china = off[off.target == "China mine output"]
    assert not china.passed.any()
    assert china.error_pct.to_numpy() == pytest.approx(100 * (1 / 1.2 - 1))
    assert off[off.target == "Australia mine output"].passed.all()
    summary = target_summary(off).set_index("target")
    assert summary.at["China mine output", "passed"] == 0
    assert summary.at["world mine output", "all_passed"]


def test_a_target_missed_only_against_the_preferred_edition_is_flagged():
    ds = make_dataset(end=2026)
    china = float(ds.mine_output.isel(member=0, producer=[0, 1]).sum().values) / len(ds.time)
    # the preferred record says +40%, an older edition says +10%: failed, but passed_some_edition
    editions = pd.DataFrame({"entity": "china", "year": 2020, "edition": "older",
                             "mine_production_t_reo": [1.1 * china], "preferred": [False]})
    table = target_table(ds, record_from(ds, {"china": 1.4}, editions))
    row = table[(table.target == "China mine output") & (table.year == 2020)].iloc[0]
    assert not row.passed and row.passed_some_edition
    assert row.record_low == pytest.approx(1.1 * china, rel=1e-6)


def test_world_and_china_output_are_also_compared_on_the_record_s_basis():
    """The record (USGS) counts China's quota, not its illegal output: rows for world and China
    mine output also compare it with the model's output without the illegal producers."""
    ds = make_dataset(end=2026)
    record = record_from(ds)                       # the record = all output, illegal included
    ds = ds.assign_coords(producer_legal=("producer", [True, False, True]))
    # mine the same again in the illegal producer: +100 kt/yr China, which the record lacks
    ds["mine_output"] = ds.mine_output.copy()
    ds.mine_output.loc[{"producer": "ionic_clays", "element": "La"}] = 100_000.0
    table = target_table(ds, record)
    china = table[table.target == "China mine output"]
    assert not china.passed.any() and (china.error_pct > 90).all()
    assert china.passed_record_basis.all()
    assert china.simulated_record_basis.to_numpy() == pytest.approx(china.observed.to_numpy())
    exports = table[table.target == "China exports"]
    assert (exports.simulated_record_basis == exports.simulated).all()
    summary = target_summary(table).set_index("target")
    assert summary.at["China mine output", "passed_record_basis"] == 10


def demand_dataset(magnet_growth_pct: float = 7.5, start: int = 2014) -> xr.Dataset:
    """Annual ``start``-2050: magnets demand (Nd 0.75, Dy 0.25) grows at ``magnet_growth_pct``
    from 20 kt/yr in 2014, catalysts (La) are flat at 30 kt/yr; China mines 150 kt/yr of 200."""
    times = pd.date_range(f"{start}-01-01", "2050-01-01", freq="YS")
    years = times.year.to_numpy()
    apps = ["magnets", "catalysts"]
    demand = np.zeros((1, len(times), 2, len(ELEMENTS)))
    magnets = 20_000.0 * (1 + magnet_growth_pct / 100) ** (years - 2014)
    demand[0, :, 0, ELEMENTS.index("Nd")] = 0.75 * magnets
    demand[0, :, 0, ELEMENTS.index("Dy")] = 0.25 * magnets
    demand[0, :, 1, ELEMENTS.index("La")] = 30_000.0
    mine = np.zeros((1, len(times), 2, len(ELEMENTS)))
    mine[0, :, 0, 0], mine[0, :, 1, 0] = 150_000.0, 50_000.0
    return xr.Dataset(
        {"demand": (("member", "time", "application", "element"), demand),
         "mine_output": (("member", "time", "producer", "element"), mine),
         "period_years": ("time", np.ones(len(times)))},
        coords={"member": [0], "time": times, "year": ("time", years), "application": apps,
                "element": list(ELEMENTS), "producer": ["bayan_obo", "mount_weld"],
                "producer_region": ("producer", ["baotou", "australia"]),
                "region": ["baotou", "australia"],
                "region_market": ("region", ["china", "export"])})


def test_outlooks_are_compared_on_the_published_basis():
    table = outlook_table(demand_dataset(7.5)).set_index(["publisher", "base_year",
                                                          "target_year", "quantity"])
    adamas = table.loc[("Adamas Intelligence", 2023, 2040, "magnet_demand")]
    assert adamas.model == pytest.approx(7.5) and adamas.consistent
    # IEA GCMO 2025: magnet REE (Nd+Pr+Dy+Tb) 2040 / 2024 = 1.075 ** 16 = 3.2, not 1.5-1.6
    iea = table.loc[("IEA", 2024, 2040, "magnet_ree_demand")]
    assert iea.model == pytest.approx(1.075 ** 16) and not iea.consistent
    share = table.loc[("IEA", 2023, 2030, "china_share_of_mining")]
    assert share.model == pytest.approx(0.75) and not share.consistent
    flat = outlook_table(demand_dataset(0.0)).set_index(["publisher", "base_year",
                                                         "target_year", "quantity"])
    assert flat.loc[("Adamas Intelligence", 2023, 2040, "magnet_demand")].model == \
        pytest.approx(0.0, abs=1e-12)
    assert flat.loc[("IEA", 2024, 2040, "magnet_ree_demand")].model == pytest.approx(1.0)


def test_the_outlooks_envelope_reads_ratios_as_growth_over_their_own_years():
    def row(publisher, quantity, comparison, base, target, low, high, model):
        return {"publisher": publisher, "quantity": quantity, "comparison": comparison,
                "base_year": base, "target_year": target, "published_low": low,
                "published_high": high, "model": model}
    table = pd.DataFrame([
        row("A", "magnet_ree_demand", "ratio", 2024, 2034, 2.0, 2.0, 1.5),    # 7.18 %/yr
        row("B", "magnet_ree_demand", "cagr", 2024, 2040, 3.0, 4.0, 9.0),     # model 9 > 8.18
        row("C", "magnet_ree_demand", "ratio", 2014, 2020, 9.0, 9.0, 9.0),    # history: left out
        row("D", "total_demand", "cagr", 2020, 2030, 4.0, 4.0, 4.0),          # one row: left out
        row("E", "magnet_share_of_demand", "level", 2020, 2030, 0.3, 0.4, 0.35),   # a level
    ])
    envelope = outlook_envelope(table).set_index("quantity")
    assert list(envelope.index) == ["magnet_ree_demand"]
    magnets = envelope.loc["magnet_ree_demand"]
    assert magnets.outlooks == 2 and magnets.publishers == "A, B"
    assert magnets.published_low_pct_per_yr == pytest.approx(3.0)
    assert magnets.published_high_pct_per_yr == pytest.approx(100 * (2 ** 0.1 - 1))
    assert magnets.model_low_pct_per_yr == pytest.approx(100 * (1.5 ** 0.1 - 1))
    assert magnets.model_high_pct_per_yr == pytest.approx(9.0)
    # 4.14 %/yr lies inside 3.0-7.18; 9.0 lies beyond 7.18 + 1 (the growth tolerance)
    assert magnets.windows_in_run == 2 and magnets.model_within == 1
    # a window beyond the run has no model figure and is not counted
    table.loc[0, "model"] = float("nan")
    beyond = outlook_envelope(table).set_index("quantity").loc["magnet_ree_demand"]
    assert beyond.windows_in_run == 1 and beyond.model_within == 0
    assert beyond.model_low_pct_per_yr == beyond.model_high_pct_per_yr == pytest.approx(9.0)


def test_the_outlooks_envelope_of_a_run_brackets_the_rows_it_summarizes():
    table = outlook_table(demand_dataset(7.5))
    envelope = outlook_envelope(table).set_index("quantity")
    magnets = envelope.loc["magnet_demand"]
    assert magnets.model_low_pct_per_yr == pytest.approx(7.5)
    assert magnets.model_high_pct_per_yr == pytest.approx(7.5)
    projected = table[(table.quantity == "magnet_demand") & (table.target_year > 2025)
                      & table.comparison.isin(["ratio", "cagr"])]
    assert magnets.outlooks == len(projected) >= 2
    assert magnets.published_low_pct_per_yr <= 7.5 <= magnets.published_high_pct_per_yr


def test_outlooks_outside_the_run_have_no_model_figure():
    short = demand_dataset().sel(time=slice(None, "2030-01-01"))
    table = outlook_table(short)
    late = table[table.target_year > 2030]
    assert len(late) and late.model.isna().all() and late.consistent.isna().all()


def test_published_demand_levels_are_compared_as_fractions_and_tonnes():
    ds = demand_dataset(7.5)   # 2020: magnets 20 kt x 1.075**6 = 30.87 kt, catalysts 30 kt
    magnets_2020 = 20_000.0 * 1.075 ** 6
    record = pd.DataFrame({
        "year": [2020, 2020, 2020], "year_end": [2020, 2020, 2020],
        "quantity": ["total_demand", "magnet_share_of_demand", "catalyst_share_of_demand"],
        "item": ["all", "magnets", "catalysts"], "unit": ["t", "%", "%"],
        "value": [magnets_2020 + 30_000.0, np.nan, 20.0],
        "value_low": [np.nan, 40.0, np.nan], "value_high": [np.nan, np.nan, np.nan],
        "source": "synthetic", "note": ""})
    table = demand_table(ds, record).set_index("quantity")
    assert table.at["total_demand", "model_to_published"] == pytest.approx(1.0)
    assert table.at["total_demand", "consistent"]
    share = magnets_2020 / (magnets_2020 + 30_000.0)   # 0.507, published '>40%'
    assert table.at["magnet_share_of_demand", "model"] == pytest.approx(share)
    assert table.at["magnet_share_of_demand", "consistent"]
    assert table.at["magnet_share_of_demand", "published_high"] == np.inf
    # catalysts: 0.493 of demand against a published 20%: 2.5x, not consistent
    assert table.at["catalyst_share_of_demand", "model_to_published"] == pytest.approx(
        (1 - share) / 0.2)
    assert not table.at["catalyst_share_of_demand", "consistent"]


def test_chinas_2007_2009_consumption_is_compared_with_the_record():
    """China's own consumption (72,600 t in 2007, 67,680 t in 2008, 73,000 t in 2009: xitucn)
    is in the demand table, against the China market's consumption of the run."""
    ds = demand_dataset(start=2005)
    n_t = ds.sizes["time"]
    consumption = np.zeros((1, n_t, 2, ds.sizes["element"]))
    consumption[:, :, 0, 0] = 60_000.0                              # China, t/yr
    consumption[:, :, 1, 0] = 40_000.0
    ds = ds.assign(market_consumption=(("member", "time", "market", "element"), consumption))
    ds = ds.assign_coords(market=["china", "export"])
    table = demand_table(ds)
    china = table[table.quantity == "china_demand"].set_index("year")
    assert sorted(china.index) == [2007, 2008, 2009]
    assert china.at[2007, "published_low"] == 72_600.0
    assert china.at[2007, "model"] == pytest.approx(60_000.0)
    assert china.at[2007, "model_to_published"] == pytest.approx(60_000.0 / 72_600.0)


def test_fit_is_split_at_the_calibration_window():
    ds = make_dataset(end=2026)
    # the record says 1.2x the run's China output in 2016-2025 and matches it elsewhere
    table = fit_by_period(ds, record_from(ds, {"china": 1.2})).set_index("series")
    assert table.at["production_china", "n_after_2015"] == 10
    assert table.at["production_china", "log_rmse_after_2015"] == pytest.approx(math.log(1.2))
    assert table.at["production_world", "log_rmse_after_2015"] == pytest.approx(0.0, abs=1e-12)
    assert table.at["production_world", "n_to_2015"] == 0   # this record starts in 2016


def test_world_and_china_output_are_scored_on_the_records_basis_from_its_year():
    """From 2012 the record's China output is the quota, and from 2010 its world total (DS140's
    101 kt of 2010 after 135 kt in 2009): the objective's output series leave the model's
    illegal supply out from then, and keep it before (the record's earlier figures hold
    estimates of the undocumented output)."""
    from reesim import load_scenario, simulate
    from reesim.indicators import annual_on_time, china_mine_output, world_mine_output
    from reesim.validation.series import RECORD_COUNTS_QUOTA_FROM, build_series

    ds = simulate(load_scenario("baotou", ["end_year=2016"])).dataset
    series = {s.name: s for s in build_series(ds, load_observations(2016))}
    for name, path in (("production_china", china_mine_output),
                       ("production_world", world_mine_output)):
        scored = series[name].numerator.isel(member=0)
        total, recorded = (annual_on_time(path(ds, recorded_only=r)).isel(member=0)
                           for r in (False, True))
        before = scored.time.dt.year < RECORD_COUNTS_QUOTA_FROM[name.removeprefix(
            "production_")]
        np.testing.assert_allclose(scored.where(before, drop=True), total.where(before, drop=True))
        np.testing.assert_allclose(scored.where(~before, drop=True),
                                   recorded.where(~before, drop=True))
        # the fringe mines in both windows, so the two bases differ in each
        assert float((total - recorded).sel(time="2008").squeeze()) > 0.0
        assert float((total - recorded).sel(time="2014").squeeze()) > 0.0
    world = series["production_world"].numerator.isel(member=0)
    recorded = annual_on_time(world_mine_output(ds, recorded_only=True)).isel(member=0)
    np.testing.assert_allclose(world.sel(time="2010"), recorded.sel(time="2010"))


def test_point_values_take_the_value_or_a_closed_ranges_midpoint():
    from reesim.validation.observations import point_values

    prices = pd.DataFrame({"value_usd_per_kg": [5.0, np.nan, np.nan],
                           "low_usd_per_kg": [np.nan, 10.0, 150.0],
                           "high_usd_per_kg": [np.nan, 14.0, np.inf]})   # 'above 150': open
    values = point_values(prices)
    assert values[0] == 5.0 and values[1] == 12.0 and np.isnan(values[2])


def test_spike_table_reads_peaks_on_the_filtered_path_and_the_records_highest_quote():
    # a path flat at 10 USD/kg with a two-month rise to 100 in 2011-06/07 and 20 in 2015: the
    # filtered peak is 0.25 * 10 + 0.5 * 100 + 0.25 * 100 = 77.5 (in 2011-06); a one-month
    # spike of the same height reads 55 (0.25 + 0.5 + 0.25 weights)
    from reesim.validation.spike import LEVEL_TOLERANCE, recorded_peak, spike_table

    time = pd.date_range("2009-01-01", "2016-12-01", freq="MS")
    path = np.full(len(time), 10.0)
    path[(time >= "2011-06-01") & (time <= "2011-07-01")] = 100.0
    path[time.year == 2015] = 20.0
    price = np.broadcast_to(path[None, :, None, None], (1, len(time), 2, len(ELEMENTS))).copy()
    china, nd = MARKETS.index("china"), ELEMENTS.index("Nd")
    price[0, :, china, nd] = np.where(time == "2011-06-01", 100.0, 10.0)
    ds = xr.Dataset({"price": (("member", "time", "market", "element"), price)},
                    coords={"time": time, "market": list(MARKETS), "element": list(ELEMENTS)})
    obs = load_observations(2025)
    table = spike_table(ds, obs).set_index(["element", "market"])
    export = table.loc[("Nd", "export")]
    assert export.peak_usd_per_kg == pytest.approx(77.5)
    assert export.peak_month == "2011-06"
    # 2015 through the filter: January and December take a quarter of their 10 USD/kg neighbour
    assert export.peak_to_2015 == pytest.approx(77.5 / ((2 * 17.5 + 10 * 20.0) / 12))
    assert table.loc[("Nd", "china"), "peak_usd_per_kg"] == pytest.approx(55.0)
    # the record: Nd's highest export quote of 2010-2012 is 260 USD/kg (2011-09), China's a
    # range whose midpoint is the peak (174.92-182.66 in 2011-09)
    assert recorded_peak(obs, "Nd", "export") == ("2011-09", pytest.approx(260.0))
    assert recorded_peak(obs, "Nd", "china") == ("2011-09", pytest.approx(178.79))
    assert export.record_peak_usd_per_kg == pytest.approx(260.0)
    assert export.peak_to_record == pytest.approx(77.5 / 260.0)
    assert not export.within_tolerance                       # 0.30, below 1 / 1.5
    ratio = table.peak_to_record.astype(float)
    assert (table.within_tolerance.astype(bool) == ((ratio >= 1 / LEVEL_TOLERANCE)
                                                   & (ratio <= LEVEL_TOLERANCE))).all()
    # annual records have no monthly peak: an empty table
    annual = ds.isel(time=slice(0, None, 12))
    assert spike_table(annual, obs).empty


def test_one_export_quote_is_one_price_gap_whatever_the_china_quotes_of_its_month():
    """September 2011 has one export quote of Nd and Dy and two China quotes (Reuters, the week of
    the 5th and the 16th): one gap row, against the envelope of the two, so that the export quote
    is weighed once."""
    from reesim.validation.series import _observed_rows

    rows = _observed_rows(load_observations(2025))
    for element, export, china_low, china_high in (("Nd", 260.0, 162.54, 182.66),
                                                   ("Dy", 2300.0, 1393.19, 1702.79)):
        gap = rows[f"price_gap_{element}"]
        september = gap[(gap.period_start <= pd.Timestamp("2011-09-30"))
                        & (gap.period_end >= pd.Timestamp("2011-09-01"))]
        assert len(september) == 1, september
        row = september.iloc[0]
        assert row.kind == "range"
        assert row.low == pytest.approx(export / china_high)
        assert row.high == pytest.approx(export / china_low)
