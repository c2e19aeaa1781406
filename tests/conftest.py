"""Shared fixtures: the default scenario run once per test session (monthly, one member)."""

from __future__ import annotations

import pytest

from reesim import load_scenario, simulate


@pytest.fixture(scope="session")
def baotou():
    """The default scenario, resolved."""
    return load_scenario("baotou")


@pytest.fixture(scope="session")
def baotou_result(baotou):
    """One run of the default scenario (2000-2050, monthly)."""
    return simulate(baotou, members=1, seed=0)


@pytest.fixture(scope="session")
def history_pair():
    """The 2000-2016 window under the trading company and under the free market."""
    tc = simulate(load_scenario("baotou", ["end_year=2016"]))
    fm = simulate(load_scenario("baotou-free-market", ["end_year=2016"]))
    return tc, fm
