"""reesim: an open simulator of the rare earth industry, built around Baotou's rare earth system.

Public API: :func:`load_scenario`, :func:`simulate` and :class:`Result`.
"""

__version__ = "0.1.0"

from reesim.api import simulate
from reesim.results import Result
from reesim.scenario import Scenario, load_scenario

__all__ = ["Result", "Scenario", "__version__", "load_scenario", "simulate"]
