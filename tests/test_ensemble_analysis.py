"""Sensitivity (Ishigami through the runner), PRIM on a known box, exports, EMA, XLRM errors."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from reesim import load_scenario
from reesim.ensemble import runner
from reesim.ensemble.designs import Factor, make_design
from reesim.ensemble.discover import discover
from reesim.ensemble.export import iamc_table, open_results, write_table
from reesim.ensemble.sensitivity import analyze
from reesim.errors import InputError

distributed = pytest.importorskip("distributed")


def _ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[list[float], list[float]]:
    """Analytic first-order and total Sobol indices of Ishigami-Homma (Saltelli et al. 2008)."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return [v1 / var, v2 / var, 0.0], [(v1 + v13) / var, v2 / var, v13 / var]


def _run_in_process(out) -> None:
    spec = runner.read_spec(out)
    for c in runner.chunks(spec["design"]["members"], spec["chunk_size"]):
        runner.run_chunk(str(out), c.start, c.stop)
    runner.join(out)


def box_function(x: np.ndarray) -> np.ndarray:
    """1 inside the box x0 > 0.6 and x1 < 0.3 (x2 irrelevant), 0 outside."""
    return ((x[:, 0] > 0.6) & (x[:, 1] < 0.3)).astype(float)


def test_ishigami_sobol_indices_through_the_dask_runner(tmp_path):
    factors = [Factor(n, lambda u: -math.pi + 2 * math.pi * u) for n in ("x1", "x2", "x3")]
    design = make_design("sobol", 1024, 3, factors)
    out = runner.create(tmp_path / "ish", design, {"kind": "function", "function":
                        "SALib.test_functions.Ishigami:evaluate"}, chunk_size=2048)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as c, distributed.Client(c) as client:
        runner.run(out, client=client)
    table = analyze(out)
    pd.testing.assert_frame_equal(analyze(out), table)    # seeded bootstrap: same CIs
    s1, st = _ishigami_indices()
    for index, truth in (("S1", s1), ("ST", st)):
        got = table[table["index"] == index].set_index("factor")
        for name, value in zip(("x1", "x2", "x3"), truth, strict=True):
            assert abs(got.loc[name, "value"] - value) < 0.06, (index, name)
            assert got.loc[name, "conf"] > 0
    s2 = table[table["index"] == "S2"].set_index("factor")["value"]
    assert abs(s2["x1 x x3"] - st[2]) < 0.12            # the only interaction: x1 with x3
    assert abs(s2["x1 x x2"]) < 0.1


def test_a_tampered_design_is_refused(tmp_path):
    factors = [Factor(n, lambda u: u) for n in ("a", "b")]
    out = runner.create(tmp_path / "t", make_design("sobol", 8, 1, factors),
                        {"kind": "function", "function": "numpy:sum"}, chunk_size=64)
    design = pd.read_parquet(out / runner.DESIGN_FILE)
    (out / "chunks").mkdir(exist_ok=True)
    runner.create(tmp_path / "t", make_design("sobol", 8, 1, factors),
                  {"kind": "function", "function": "numpy:sum"}, chunk_size=64)  # resumable
    design.loc[3, "a"] += 0.1
    design.to_parquet(out / runner.DESIGN_FILE, index=False)
    pd.DataFrame({"member": range(len(design)), "y": np.arange(len(design), dtype=float)}
                 ).to_parquet(out / "chunks" / runner.Chunk(0, len(design)).name)
    runner.join(out)
    with pytest.raises(InputError, match="does not match its record"):
        analyze(out)
    with pytest.raises(InputError, match="holds a different ensemble"):
        runner.create(out, make_design("sobol", 16, 1, factors),
                      {"kind": "function", "function": "numpy:sum"}, chunk_size=64)


def test_prim_finds_a_known_box(tmp_path):
    factors = [Factor(n, lambda u: u) for n in ("x0", "x1", "x2")]
    out = runner.create(tmp_path / "box", make_design("lhs", 2000, 7, factors),
                        {"kind": "function", "function": f"{__name__}:box_function"},
                        chunk_size=500)
    _run_in_process(out)
    found = discover(out, "y > 0.5", min_coverage=0.8)
    assert found.density > 0.9 and found.coverage >= 0.8
    limits = found.limits.set_index("factor")
    assert abs(limits.loc["x0", "low"] - 0.6) < 0.05
    assert abs(limits.loc["x1", "high"] - 0.3) < 0.05
    assert re.search(r"x0 is above 0\.(59|60|61)", found.sentence), found.sentence
    assert re.search(r"x1 is below 0\.(29|30|31)", found.sentence), found.sentence
    assert "x2" not in found.sentence
    with pytest.raises(InputError, match="unknown outcome"):
        discover(out, "z > 1")


def test_prim_finds_where_a_lever_works(tmp_path):
    """The effect of policy 1 against policy 0, future by future: y rises by 1 where x1 > 0.6
    under policy 1 only; y itself (x0 plus noise) has no such box."""
    factors = [Factor(n, lambda u: u) for n in ("x0", "x1", "x2")]
    design = make_design("lhs", 1500, 5, factors, [{"push": 0}, {"push": 1}])
    out = runner.create(tmp_path / "lever", design, {"kind": "function", "function":
                        "numpy:sum"}, chunk_size=design.members)
    table = design.table()
    noise = np.random.default_rng(0).normal(0.0, 0.05, len(table))
    works = (table["policy"] == 1) & (table["x1"] > 0.6)
    y = table["x0"] + noise + works.astype(float)
    (out / "chunks").mkdir(exist_ok=True)
    pd.DataFrame({"member": table["member"], "y": y, "z": works.astype(float)}).to_parquet(
        out / "chunks" / runner.Chunk(0, design.members).name)
    runner.join(out)
    found = discover(out, "y > 0.5", policy=1, versus=0, min_coverage=0.8)
    assert found.members == 1500                          # futures, not members
    effect = y[table.policy == 1].to_numpy() - y[table.policy == 0].to_numpy()
    assert found.cases == int((effect > 0.5).sum())
    limits = found.limits.set_index("factor")
    assert abs(limits.loc["x1", "low"] - 0.6) < 0.05 and found.density > 0.9
    assert "x0" not in found.sentence and "policy 1 against policy 0" in found.sentence
    relative = discover(out, "y > 50", policy=1, versus=0, percent=True, min_coverage=0.5)
    assert "x1 is above" in relative.sentence
    with pytest.raises(InputError, match="undefined where policy 0's value is 0"):
        discover(out, "z > 0.5", policy=1, versus=0, percent=True)   # z is 0 under policy 0
    for bad, match in (({"versus": 0}, "give --policy"), ({"percent": True}, "--versus"),
                       ({"policy": 1, "versus": 1}, "same policy"),
                       ({"policy": 1, "versus": 7}, "no policy 7")):
        with pytest.raises(InputError, match=match):
            discover(out, "y > 0.5", **bad)


def test_sobol_indices_of_a_levers_effect(tmp_path):
    """Policy 1 adds 3 * x3 ** 2 to an outcome that x1 and x2 drive: the effect's variance is
    all x3's, whatever the outcome's own indices say."""
    factors = [Factor(n, lambda u: u) for n in ("x1", "x2", "x3")]
    design = make_design("sobol", 512, 2, factors, [{"on": 0}, {"on": 1}])
    out = runner.create(tmp_path / "fx", design, {"kind": "function", "function": "numpy:sum"},
                        chunk_size=design.members)
    table = design.table()
    y = 5 * table["x1"] + np.sin(6 * table["x2"]) + 3 * table["x3"] ** 2 * (table["policy"] == 1)
    (out / "chunks").mkdir(exist_ok=True)
    pd.DataFrame({"member": table["member"], "y": y}).to_parquet(
        out / "chunks" / runner.Chunk(0, design.members).name)
    runner.join(out)
    own = analyze(out, ["y"], policy=1).set_index(["index", "factor"])["value"]
    assert own[("ST", "x1")] > 0.5                         # the outcome itself: mostly x1
    effect = analyze(out, ["y"], policy=1, versus=0)
    assert set(effect.outcome) == {"y (effect 1 vs 0)"} and set(effect.policy) == {1}
    st = effect.set_index(["index", "factor"])["value"]
    assert st[("S1", "x3")] > 0.9 and st[("ST", "x3")] > 0.9
    assert abs(st[("ST", "x1")]) < 0.05 and abs(st[("ST", "x2")]) < 0.05
    with pytest.raises(InputError, match="give --policy"):
        analyze(out, ["y"], versus=0)


def test_exports_iamc_csv_xlsx_and_never_overwrite(tmp_path):
    from reesim import simulate

    scen = load_scenario("baotou", ["end_year=2003"])
    result = simulate(scen, members=1)
    folder = result.write(tmp_path / "run")
    ds, name = open_results(folder)
    table = iamc_table(ds, name, ["price", "mine_output"])
    assert list(table.columns) == ["model", "scenario", "region", "variable", "unit", "year",
                                   "value"]
    nd = table[(table.variable == "price|Nd|export") & (table.year == 2002)]
    assert len(nd) == 1 and nd.unit.iloc[0] == "USD/kg"
    monthly = ds.price.sel(element="Nd", market="export").sel(time="2002").mean().item()
    assert nd.value.iloc[0] == pytest.approx(monthly)
    assert set(table.year) == {2000, 2001, 2002, 2003}
    # regions under readable names, with China and World totals of quantities in tonnes
    sep = iamc_table(ds, name, ["separation_output", "exports"])
    nd = sep[(sep.variable == "separation_output|Nd") & (sep.year == 2002)].set_index("region")
    assert {"China|Baotou", "China|Sichuan", "Malaysia", "United States", "China",
            "World"} <= set(nd.index)
    assert "baotou" not in set(sep.region)
    china = [r for r in nd.index if r.startswith("China|")]
    assert nd.at["China", "value"] == pytest.approx(nd.loc[china, "value"].sum())
    assert nd.at["World", "value"] == pytest.approx(
        nd.drop(["China", "World"]).value.sum())
    monthly = ds.separation_output.sel(element="Nd", time="2002").sum("region").mean().item()
    assert nd.at["World", "value"] == pytest.approx(monthly)
    exported = sep[(sep.variable == "exports|Nd") & (sep.year == 2002)]
    assert set(exported.region) == {"China|Baotou", "China|Sichuan", "China|Shandong",
                                    "China|South China", "China"}   # China's exports: no World
    path = write_table(table, tmp_path / "iamc.csv", "iamc")
    with pytest.raises(InputError, match="never overwrites"):
        write_table(table, path, "csv")
    xlsx = write_table(table.head(50), tmp_path / "x.xlsx", "xlsx")
    assert len(pd.read_excel(xlsx)) == 50


def test_structural_uncertainty_keys_and_bad_levers_are_clear_errors():
    with pytest.raises(InputError, match="must be a parameter name"):
        load_scenario("baotou-xlrm", ["uncertainty.bayan_obo_grade={dist: normal, sd: 0.1}"])
    with pytest.raises(InputError, match="may not set"):
        load_scenario("baotou-xlrm", ["levers.x={path: end_year, values: [2040]}"])
    with pytest.raises(InputError, match="needs years"):
        from reesim.ensemble.outcomes import scenario_outcomes
        scenario_outcomes(load_scenario("baotou-xlrm", ["end_year=2030"]))


def test_ema_workbench_runs_a_small_experiment():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import SequentialEvaluator
    from reesim.ema import model

    overrides = ("end_year=2011", "outcomes=null", "levers=null",
                 "outcomes.nd_2010={variable: price, years: '2010', "
                 "select: {element: Nd, market: export}}")
    ema_model = model("baotou-xlrm", overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with SequentialEvaluator(ema_model) as evaluator:
            experiments, outcomes = evaluator.perform_experiments(scenarios=2)
    assert len(experiments) == 2 and outcomes["nd_2010"].shape == (2,)
    assert np.all(outcomes["nd_2010"] > 0) and outcomes["nd_2010"][0] != outcomes["nd_2010"][1]


def linear_function(x: np.ndarray) -> np.ndarray:
    """3 x0 + x1 (x2 has no effect)."""
    return 3.0 * x[:, 0] + x[:, 1]


def test_morris_effects_of_a_linear_function(tmp_path):
    factors = [Factor(n, lambda u: u) for n in ("x0", "x1", "x2")]
    out = runner.create(tmp_path / "m", make_design("morris", 20, 2, factors),
                        {"kind": "function", "function": f"{__name__}:linear_function"},
                        chunk_size=40)
    _run_in_process(out)
    table = analyze(out).set_index(["index", "factor"])["value"]
    span = 0.98                                    # the grid covers the 1%-99% quantiles
    assert table["mu_star", "x0"] == pytest.approx(3.0 * span)
    assert table["mu_star", "x1"] == pytest.approx(1.0 * span)
    assert table["mu_star", "x2"] == pytest.approx(0.0, abs=1e-12)
    assert table["sigma", "x0"] == pytest.approx(0.0, abs=1e-9)


def test_full_factorial_levels_and_lever_policies():
    factors = [Factor(n, lambda u: u) for n in ("a", "b")]
    design = make_design("full-factorial", 3, 0, factors)
    assert design.members == 9
    assert sorted(set(design.unit[:, 0])) == pytest.approx([1 / 6, 1 / 2, 5 / 6])
    from reesim.ensemble.designs import lever_policies, scenario_factors
    from reesim.ensemble.runner import ReesimEvaluator

    scen = load_scenario("baotou-xlrm")
    policies = lever_policies(scen.levers)
    assert len(policies) == 8                        # 2 reserve sizes x recycling x R&D
    crossed = make_design("lhs", 5, 1, scenario_factors(scen), policies)
    table = crossed.table()
    assert crossed.members == 40 and list(table.policy.unique()) == list(range(8))
    assert (table.groupby("policy")["demand_elasticity_multiplier"].apply(list)
            .map(tuple).nunique()) == 1                 # every policy meets the same futures
    evaluator = ReesimEvaluator(scen.model_dump(mode="json"),
                                {k: v.path for k, v in scen.levers.items()}, {}, 0)
    on = evaluator.policy_scenario(policies[7])
    assert on.events["dy_reserve_buy"].amounts_t_reo == {"Dy": 2000.0}
    assert on.events["magnet_recycling"].eol_recycling_fraction == 0.3
    assert on.events["hre_lean_magnets"].factor == 0.5
    off = evaluator.policy_scenario(policies[0]).events
    assert "magnet_recycling" not in off and "hre_lean_magnets" not in off
    assert on.uncertainty == {} and on.levers == {}


def test_box_words_cite_significant_limits_and_skip_open_sides():
    from reesim.ensemble.discover import _words

    limits = pd.DataFrame([
        {"factor": "a", "values": None, "low": 0.2, "high": 1.0, "full_low": 0.0,
         "full_high": 1.0, "qp_low": 0.01, "qp_high": -1.0},
        {"factor": "b", "values": None, "low": 0.0, "high": 0.5, "full_low": 0.0,
         "full_high": 1.0, "qp_low": -1.0, "qp_high": 0.2},
    ])
    assert _words(limits) == "a is above 0.2"                   # b's limit is not significant
    limits.loc[0, "qp_low"] = 0.3                               # none significant: cite all
    assert _words(limits) == "a is above 0.2 and b is below 0.5"
