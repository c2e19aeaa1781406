"""The calibration window, the backtest (--train-until), monthly dynamics in the objective, and
priors bounded by the step."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from reesim import load_scenario
from reesim.calibration import FREE_PARAMETERS, FreeParameter, check_free_parameters
from reesim.calibration.backtest import backtest_table, fitted_scenario, out_of_sample
from reesim.calibration.evaluate import history_scenario
from reesim.calibration.fit import DEPENDS_THRESHOLD, constant_sensitivity
from reesim.cli import app
from reesim.dims import DT_YR
from reesim.errors import InputError
from reesim.model.constants import member_constant_names
from reesim.model.constants import table as constant_table
from reesim.validation import OBJECTIVE_WEIGHTS, compute_metrics, load_observations, objective
from reesim.validation.metrics import return_autocorrelation, step_filtered
from reesim.validation.observations import RECORD_END_YEAR, TRAIN_END_YEAR
from test_validation import make_dataset, metric

runner = CliRunner()


def _constants(count: int = 2) -> list:
    """Member-level, non-integer structural constants (whichever the mechanisms declare)."""
    names = [n for n in member_constant_names() if not constant_table()[n].integer]
    return [constant_table()[n] for n in names[:count]]


def _inside(const) -> float:
    """A value inside a constant's plausible range, other than its default."""
    value = 0.3 * const.low + 0.7 * const.high
    return value if value != const.value else 0.6 * const.low + 0.4 * const.high


# -- monthly dynamics --------------------------------------------------------------------------

def test_return_autocorrelation_tells_a_zigzag_from_a_smooth_path():
    months = np.arange(240)
    smooth = 50.0 * np.exp(0.5 * np.sin(2 * np.pi * months / 60))      # a five-year cycle
    zigzag = smooth * (1.0 + 0.3 * (-1.0) ** months)                   # +-30% every month
    rng = np.random.default_rng(0)
    walk = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.05, 240)))        # a random walk
    flat = np.full(240, 7.0)                                            # a price at its floor
    rho = return_autocorrelation(np.stack([smooth, zigzag, walk, flat]))
    assert rho[0] > 0.9                         # smooth: returns persist
    assert rho[1] < -0.9                        # zig-zag: returns alternate
    assert abs(rho[2]) < 0.2                    # random walk: about 0 (240 months)
    assert rho[3] == 0.0                        # no movement is not chatter
    assert math.isnan(return_autocorrelation(np.array([[1.0, 2.0, 0.0, 3.0, 4.0]]))[0])


def test_the_step_filter_removes_a_zigzag_and_keeps_a_smooth_path():
    months = np.arange(120)
    smooth = 50.0 * np.exp(0.5 * np.sin(2 * np.pi * months / 60))
    zigzag = smooth * (1.0 + 0.3 * (-1.0) ** months)
    filtered = step_filtered(np.stack([smooth, zigzag]))
    inner = slice(1, -1)
    np.testing.assert_allclose(filtered[0, inner], smooth[inner], rtol=0.005)
    # the zig-zag's alternation is gone: what is left is the smooth path within 1.5%
    np.testing.assert_allclose(filtered[1, inner], smooth[inner], rtol=0.015)


def _hump(times: pd.DatetimeIndex) -> np.ndarray:
    """20 USD/kg with a smooth 2011 hump to 100 USD/kg (peak Sep 2011)."""
    months = np.asarray((times.year - 2011) * 12 + times.month - 9, float)
    return 20.0 + 80.0 * np.exp(-0.5 * (months / 6.0) ** 2)


def _zigzag_hump(times: pd.DatetimeIndex) -> np.ndarray:
    months = np.asarray(times.year * 12 + times.month, float)
    return _hump(times) * (1.0 + 0.3 * (-1.0) ** months)


def test_chatter_costs_the_objective_and_does_not_pass_for_a_spike():
    obs = load_observations()
    smooth = compute_metrics(make_dataset(price=_hump), obs)
    chatter = compute_metrics(make_dataset(price=_zigzag_hump), obs)
    for market, element in (("export", "Nd"), ("export", "Dy"), ("china", "Nd")):
        assert metric(smooth, f"smooth_{market}_{element}", "chatter_misfit") == 0.0
        assert metric(chatter, f"smooth_{market}_{element}", "chatter_misfit") > 0.9
    # the 2011 peak is measured on the filtered path: +-30% chatter does not raise it
    for element in ("Nd", "Dy"):
        ratio = [metric(m, f"price_export_{element}", "peak_to_2015_ratio")
                 for m in (smooth, chatter)]
        assert ratio[1] == pytest.approx(ratio[0], rel=0.03)
    # the objective: chatter costs about the smooth weight (misfit ~1 on every element)
    only = {k: (v if k == "smooth" else 0.0) for k, v in OBJECTIVE_WEIGHTS.items()}
    assert objective(smooth, only) == 0.0
    assert objective(chatter, only) > 0.9 * OBJECTIVE_WEIGHTS["smooth"]
    assert objective(chatter) > objective(smooth) + 0.9 * OBJECTIVE_WEIGHTS["smooth"] - 0.5


def test_annual_records_do_not_score_monthly_dynamics():
    m = compute_metrics(make_dataset(frequency="year"), load_observations())
    rows = m[m.metric == "chatter_misfit"]
    assert len(rows) and (rows.n == 0).all()


# -- priors ------------------------------------------------------------------------------------

def test_no_adjustment_time_prior_starts_below_the_step():
    check_free_parameters()
    adjustment = next(r for r in FREE_PARAMETERS if r.name == "price_adjustment_time_yr")
    assert adjustment.low >= DT_YR
    with pytest.raises(ValueError, match="below the time step"):
        check_free_parameters((FreeParameter("price_adjustment_time_yr", 0.05, 1.0, "log",
                                             "too fast"),))
    with pytest.raises(ValueError, match="below the time step"):
        check_free_parameters((FreeParameter("price_expectation_time_yr", 0.02, 5.0, "log",
                                             "too fast"),))
    # constants in yr or months are bounded by their declared range, which starts at the step
    for name in ("stockpile_build_years", "restart_months"):
        const = constant_table()[name]
        assert const.low >= (DT_YR if const.unit == "yr" else 1.0)


def test_a_member_level_constant_can_be_a_free_parameter_within_its_declared_range():
    const = _constants(1)[0]
    scale = "log" if const.low > 0 else "linear"
    row = FreeParameter(const.name, const.low, const.high, scale, "a structural constant")
    assert row.kind == "constant"
    check_free_parameters((*FREE_PARAMETERS, row))
    with pytest.raises(ValueError, match="plausible range"):
        check_free_parameters((FreeParameter(const.name, const.low, const.high * 2 + 1, "linear",
                                             "x"),))
    value = _inside(const)
    scen = fitted_scenario(load_scenario("baotou"), {const.name: value,
                                                     "hoarding_sensitivity": 1.0})
    assert scen.constants[const.name] == value
    assert scen.parameters.hoarding_sensitivity == 1.0


def test_the_constants_the_fit_depends_on_are_found_and_declared():
    scen = load_scenario("baotou")
    const = _constants(1)[0]
    calls = []

    def evaluate(design):
        calls.append(design)
        # the objective rises by 50% at the top of one constant's range, nothing else moves
        return np.where(design[const.name] == const.high, 3.0, 2.0)

    found = constant_sensitivity(evaluate, scen, {"hoarding_sensitivity": 1.0}, 2.0)
    assert len(calls) == 1                      # one batched run
    assert list(found) == [const.name]
    entry = found[const.name]
    assert entry["largest_change"] == pytest.approx(0.5)
    assert entry["largest_change"] > DEPENDS_THRESHOLD
    assert entry["reason"] and entry["source"] and entry["low"] < entry["high"]
    assert (calls[0]["hoarding_sensitivity"] == 1.0).all()
    assert len(calls[0][const.name]) == 2 * len(member_constant_names())


# -- windows and the backtest ------------------------------------------------------------------

def test_the_calibration_window_defaults_to_the_whole_record_and_is_checked():
    scen = load_scenario("baotou")
    assert TRAIN_END_YEAR == RECORD_END_YEAR == 2025
    assert history_scenario(scen).end_year == 2026
    assert history_scenario(scen, 2015).end_year == 2016
    for bad in (scen.start_year + 3, RECORD_END_YEAR + 1):
        with pytest.raises(InputError, match="train-until"):
            history_scenario(scen, bad)


def test_out_of_sample_keeps_only_the_years_after_the_window():
    record = load_observations(RECORD_END_YEAR)
    after = out_of_sample(record, 2015)
    assert after.prices.period_start.dt.year.min() == 2016
    assert after.production.year.min() == 2016 and after.exports.year.min() > 2015
    assert after.prices.period_end.dt.year.max() <= 2020   # prices end in 2020
    assert after.start_year == 2016 and after.end_year == RECORD_END_YEAR


def test_backtest_table_splits_in_and_out_of_sample():
    ds = make_dataset(end=2025)
    table = backtest_table(ds, 2015)
    first = table.iloc[0]
    assert first.series == "objective" and math.isfinite(first.in_sample)
    assert first.in_sample == pytest.approx(objective(compute_metrics(ds, load_observations(2015))))
    world = table[(table.series == "production_world") & (table.metric == "log_rmse")].iloc[0]
    assert world.n_in_sample == 16 and world.n_out_of_sample == 10     # 2000-2015, 2016-2025
    spike = table[table.series == "spike_Nd"].iloc[0]
    assert spike.n_out_of_sample == 0                                  # 2011 is in sample
    # each side's note states its own count (the in-sample one alone misdescribed the other)
    assert "in sample: RMSE of ln(sim/obs) over 16 point" in world.note
    assert "out of sample: RMSE of ln(sim/obs) over 10 point" in world.note
    dy = table[(table.series == "price_china_Dy") & (table.metric == "log_rmse")].iloc[0]
    assert dy.n_in_sample == 0 and dy.n_out_of_sample > 0
    assert dy.note.startswith("out of sample:") and "over 0 point" not in dy.note


@pytest.fixture(scope="module")
def quick_backtest(tmp_path_factory):
    out = tmp_path_factory.mktemp("bt") / "val"
    run = runner.invoke(app, ["validate", "baotou", "--train-until", "2015", "--quick",
                              "--seed", "1", "--out", str(out)])
    return run, out


def test_validate_train_until_fits_the_window_and_scores_the_years_after(quick_backtest):
    run, out = quick_backtest
    assert run.exit_code == 0, run.output
    assert "Backtest" in run.output and "out of sample" in run.output
    assert "calibration window to 2015" in run.output
    table = pd.read_csv(out / "backtest.csv")
    assert table.series.iloc[0] == "objective"
    scored = table[table.n_out_of_sample > 0]
    assert {"production_world", "production_china", "china_exports"} <= set(scored.series)
    assert (scored.series.str.startswith("price_export_")).any()      # prices 2016-2020
    world = table[(table.series == "production_world") & (table.metric == "log_rmse")].iloc[0]
    assert world.n_in_sample == 16 and world.n_out_of_sample == 10


def test_a_backtest_fit_starts_without_the_values_fitted_to_later_years(monkeypatch, tmp_path):
    """`validate --train-until` and `calibrate --train-until` fit from the scenario without its
    calibration file, whose values were fitted to the record to 2025: seeded with them, the
    search (never worse than its start) ended within 0.3% of them, and the backtest was not one
    (found by a review, 2026-12-08)."""
    import reesim.calibration
    from reesim import cli_backtest
    from reesim.scenario.schema import Parameters

    calibrated = load_scenario("baotou")
    bare = load_scenario("baotou", calibrated=False)
    assert bare.parameters == Parameters() and calibrated.parameters != Parameters()
    assert bare.constants["drain_foresight_yr"] != calibrated.constants["drain_foresight_yr"]
    assert bare.events == calibrated.events and bare.market == calibrated.market

    seen = []

    def stop(scen, *args, **kwargs):
        seen.append(scen)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_backtest, "fit_window", stop)
    runner.invoke(app, ["validate", "baotou", "--train-until", "2015", "--quick",
                        "--out", str(tmp_path / "v")])
    monkeypatch.setattr(reesim.calibration, "calibrate", stop)
    runner.invoke(app, ["calibrate", "baotou", "--train-until", "2012", "--quick",
                        "--out", str(tmp_path / "fit.yaml")])
    assert len(seen) == 2
    for scen in seen:
        assert scen.parameters == Parameters()
        assert scen.constants["drain_foresight_yr"] == bare.constants["drain_foresight_yr"]


def test_train_until_outside_the_record_exits_2(tmp_path):
    run = runner.invoke(app, ["validate", "baotou", "--train-until", "2031", "--quick",
                              "--out", str(tmp_path / "v")])
    assert run.exit_code == 2 and "train-until" in run.output and "Traceback" not in run.output
    assert not (tmp_path / "v").exists()


def test_calibrate_train_until_is_carried_by_the_header_command(tmp_path):
    out = tmp_path / "fit.yaml"
    run = runner.invoke(app, ["calibrate", "baotou", "--train-until", "2012", "--quick",
                              "--seed", "2", "--out", str(out)])
    assert run.exit_code == 0, run.output
    text = out.read_text()
    assert "--train-until 2012" in text.splitlines()[0]
    fit = yaml.safe_load(text)["fit"]
    assert fit["train_until"] == 2012 and fit["window"].endswith("2012-12")
    # a 2012 window holds no 2015 prices: the spike ratio is not scored, the objective is finite
    assert math.isfinite(fit["objective"]["value"])
    assert fit["metrics"]["spike_Nd"]["spike_misfit"] is None
    assert fit["metrics"]["price_export_Nd"]["peak_to_2015_ratio"] is None


def test_a_calibration_file_with_fitted_constants_sets_them(tmp_path):
    fitted, own = _constants(2)
    (tmp_path / "fit.yaml").write_text("parameters:\n  hoarding_sensitivity: 1.25\n"
                                       f"constants:\n  {fitted.name}: {_inside(fitted)!r}\n")
    (tmp_path / "s.yaml").write_text("extends: baotou\nname: s\ncalibration: fit.yaml\n"
                                     f"constants:\n  {own.name}: {_inside(own)!r}\n")
    scen = load_scenario(tmp_path / "s.yaml")
    assert scen.parameters.hoarding_sensitivity == 1.25
    assert scen.constants[fitted.name] == _inside(fitted)
    assert scen.constants[own.name] == _inside(own)      # the scenario's own constants stay
    (tmp_path / "fit.yaml").write_text("parameters: {}\nconstants: [1, 2]\n")
    with pytest.raises(InputError, match="constants"):
        load_scenario(tmp_path / "s.yaml")
