"""Co-production arithmetic: what comes out of a mine is fixed by its deposit's ratio vector."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reesim.datasets import load_inputs


def _mountain_pass_vector() -> pd.Series:
    deposits = load_inputs()["deposits"]
    mp = deposits[deposits.deposit == "mountain_pass"].set_index("element").share_pct
    return mp / mp.sum()


def test_oxides_that_come_with_one_tonne_of_europium_follow_from_the_ratio_vector():
    shares = _mountain_pass_vector()
    per_eu = shares / shares["Eu"]
    # the balance problem: a tonne of Eu2O3 from Mountain Pass brings hundreds of tonnes of La, Ce
    assert 200 < per_eu["La"] < 320 and 300 < per_eu["Ce"] < 480 and 60 < per_eu["Nd"] < 130
    # order of magnitude of the USGS illustration (300 La2O3, 450 CeO2, 118 Nd2O3 per t Eu2O3,
    # for ore at ~0.1% Eu): same ranking, within a factor 1.5
    usgs = {"La": 300, "Ce": 450, "Pr": 38, "Nd": 118, "Sm": 7.3}
    for element, value in usgs.items():
        assert value / 1.5 < per_eu[element] < value * 1.5


def test_model_mine_output_of_mountain_pass_follows_the_ratio_vector_exactly(baotou_result):
    out = baotou_result.dataset.mine_output.sel(producer="mountain_pass", member=0)
    out = out.sel(time=slice("2013-01", "2014-12"))
    assert float(out.sum()) > 0
    shares = _mountain_pass_vector()
    ratio = out.sum("time") / out.sel(element="Eu").sum("time")
    expected = (shares / shares["Eu"]).reindex(ratio.element.values).to_numpy()
    np.testing.assert_allclose(ratio.to_numpy(), expected, rtol=1e-12)
