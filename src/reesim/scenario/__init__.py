"""Scenarios: the schema (what can be set) and the loader (YAML, extends, overrides)."""

from reesim.scenario.loader import builtin_names, load_scenario, scenario_hash
from reesim.scenario.schema import Scenario

__all__ = ["Scenario", "builtin_names", "load_scenario", "scenario_hash"]
