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


def test_thorium_is_the_ore_times_the_packaged_kg_per_tonne():
    inp, loads = _flows(1.0)
    producers = load_inputs()["producers"].set_index("producer")
    p = model().coords.producers.index("bayan_obo")
    r = int(inp.region_of[p])
    kg_per_t = float(producers.loc["bayan_obo", "thorium_kg_per_t_reo"])
    assert kg_per_t > 0
    others = (inp.region_of == r) & (np.arange(len(inp.region_of)) != p)
    expected = 2000.0 * (kg_per_t + inp.thorium_kg_per_t[others].sum()) / 1000.0  # t ThO2/yr
    assert loads.thorium[0, r, 0] == pytest.approx(expected, rel=1e-12)
    # separation residues: feed x kg/t / 1000
    np.testing.assert_allclose(loads.thorium[0, :, 1], 500.0 * inp.residue_thorium_kg_per_t / 1e3)


def test_thorium_of_the_default_run_is_of_the_recorded_order(baotou_result):
    ds = baotou_result.dataset.isel(member=0)
    per_year = float(ds.thorium.sel(time=slice("2010-01", "2010-12")).sum(["region", "stage"])
                     .mean())
    # Bayan Obo's ~100 kt REO/yr of ore at a few kg ThO2 per t REO: hundreds of t ThO2 a year
    assert 20.0 < per_year < 20_000.0
