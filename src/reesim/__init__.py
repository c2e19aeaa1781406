"""reesim: an open simulator of the rare earth industry, built around Baotou's rare earth system.

Public API: :func:`load_scenario`, :func:`simulate` and :class:`Result`.

The names are imported on first use (PEP 562), so ``import reesim`` is instant and the command
line can install its Ctrl-C handling before numpy, pandas and xarray load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# numba's cache folder, keyed by the kernels' source, set before any kernel is compiled or loaded
from reesim import kernel_cache as _kernel_cache

_kernel_cache.configure()

if TYPE_CHECKING:
    from reesim.api import simulate
    from reesim.results import Result
    from reesim.scenario import Scenario, load_scenario

_PUBLIC = {"simulate": "reesim.api", "Result": "reesim.results", "Scenario": "reesim.scenario",
           "load_scenario": "reesim.scenario"}

__all__ = ["Result", "Scenario", "__version__", "load_scenario", "simulate"]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        import importlib

        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'reesim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
