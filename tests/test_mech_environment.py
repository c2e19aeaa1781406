"""Environmental loads: intensities from the data times throughput, booked to the right region."""

from __future__ import annotations

import numpy as np
import pytest

from mech import model
from reesim.datasets import load_inputs
from reesim.model.mechanisms import environment


def _flows(scale: float):
    inp = model().inputs.environment
    n_p, n_r = len(inp.region_of), len(inp.residue_thorium_kg_per_t)
    output = np.full((1, n_p), 1000.0 * scale)
    ore = np.full((1, n_p), 2000.0 * scale)
    feed = np.full((1, n_r), 500.0 * scale)
    return inp, environment.loads(inp, output, ore, feed)


def test_loads_scale_with_throughput():
    _, one = _flows(1.0)
    _, three = _flows(3.0)
    for a, b in zip(one, three, strict=True):
        np.testing.assert_allclose(b, 3.0 * a)


def test_thorium_is_the_tailings_reo_times_the_packaged_kg_per_tonne():
    """The ore's thorium (kg ThO2 per t REO) ends in the tailings or the cracking residue: the
    mining stage counts the REO the ore leaves in the tailings (ore 2,000 t less concentrate
    1,000 t here), the separation stage the concentrate fed. Until 2026-12-08 the mining stage
    counted the whole ore's, and the concentrate's thorium twice."""
    inp, loads = _flows(1.0)
    producers = load_inputs()["producers"].set_index("producer")
    p = model().coords.producers.index("bayan_obo")
    r = int(inp.region_of[p])
    kg_per_t = float(producers.loc["bayan_obo", "thorium_kg_per_t_reo"])
    assert kg_per_t > 0
    others = (inp.region_of == r) & (np.arange(len(inp.region_of)) != p)
    expected = (2000.0 - 1000.0) * (kg_per_t + inp.thorium_kg_per_t[others].sum()) / 1000.0
    assert loads.thorium[0, r, 0] == pytest.approx(expected, rel=1e-12)
    # separation residues: feed x kg/t / 1000
    np.testing.assert_allclose(loads.thorium[0, :, 1], 500.0 * inp.residue_thorium_kg_per_t / 1e3)


def test_baotou_s_thorium_is_counted_once_between_tailings_and_residue(baotou_result):
    """Bayan Obo's ore carries 8 kg ThO2 per t REO and Baotou's cracking residue the same per t
    fed (the tailings' Th/REO ratio): over a year in which its separators take what the mine
    sends, tailings and residue together hold the ore's thorium once, not once plus the
    concentrate's."""
    ds = baotou_result.dataset.isel(member=0).sel(time=slice("2015-01", "2015-12"))
    baotou = ds.thorium.sel(region="baotou").mean("time")
    ore = float(ds.ore_mined.sel(producer="bayan_obo").sum("element").mean())       # t REO/yr
    concentrate = float(ds.mine_output.sel(producer="bayan_obo").sum("element").mean())
    fed = float(ds.separation_feed.sel(region="baotou").sum("element").mean())
    assert float(baotou.sel(stage="mining")) == pytest.approx((ore - concentrate) * 8.0 / 1e3,
                                                              rel=1e-9)
    assert float(baotou.sel(stage="separation")) == pytest.approx(fed * 8.0 / 1e3, rel=1e-9)
    assert float(baotou.sum()) == pytest.approx(ore * 8.0 / 1e3, rel=0.1)   # fed ~ concentrate


def test_thorium_of_the_default_run_is_of_the_recorded_order(baotou_result):
    ds = baotou_result.dataset.isel(member=0)
    per_year = float(ds.thorium.sel(time=slice("2010-01", "2010-12")).sum(["region", "stage"])
                     .mean())
    # Bayan Obo's ~100 kt REO/yr of ore at a few kg ThO2 per t REO: hundreds of t ThO2 a year
    assert 20.0 < per_year < 20_000.0
