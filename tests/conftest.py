"""Shared fixtures: the default scenario run once per test session (monthly, one member)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from reesim import load_scenario, simulate

# CI draws the same property-test examples on every run (a submission must not pass or fail by
# chance); a developer's run keeps exploring new examples and records failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


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
