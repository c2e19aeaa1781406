"""Calibration: fit a declared set of behavioural parameters to the history up to 2015.

- :mod:`~reesim.calibration.parameters`: the free parameters, their priors and reasons.
- :mod:`~reesim.calibration.evaluate`: batched objectives (one run per optimizer population).
- :mod:`~reesim.calibration.fit`: :func:`calibrate`, differential evolution over the priors.
- :mod:`~reesim.calibration.identify`: one-parameter profiles, curvature, identified ranges.
- :mod:`~reesim.calibration.output`: the calibration file scenarios read via ``calibration:``.
"""

from __future__ import annotations

import importlib
from typing import Any

# The light modules are imported here (``identify`` also names a submodule: bound now, the
# function keeps the name); the others' names load on first use (PEP 562), so importing one
# submodule, e.g. ``step_check`` for ``reesim validate``, does not import the optimizer
# (scipy.optimize and scipy.stats, 1.6 s of a fresh process on the 2-core VM).
from reesim.calibration.identify import Identification, identify
from reesim.calibration.parameters import FREE_PARAMETERS, FreeParameter, check_free_parameters

_WHERE = {
    "Evaluator": "evaluate", "history_scenario": "evaluate", "member_objectives": "evaluate",
    "FULL": "fit", "QUICK": "fit", "CalibrationOptions": "fit", "CalibrationResult": "fit",
    "Generation": "fit", "calibrate": "fit",
    "calibration_document": "output", "calibration_text": "output",
    "write_calibration": "output",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "FREE_PARAMETERS",
    "FULL",
    "QUICK",
    "CalibrationOptions",
    "CalibrationResult",
    "Evaluator",
    "FreeParameter",
    "Generation",
    "Identification",
    "calibrate",
    "calibration_document",
    "calibration_text",
    "check_free_parameters",
    "history_scenario",
    "identify",
    "member_objectives",
    "write_calibration",
]
