"""Calibration: fit a declared set of behavioural parameters to the history up to 2015.

- :mod:`~reesim.calibration.parameters`: the free parameters, their priors and reasons.
- :mod:`~reesim.calibration.evaluate`: batched objectives (one run per optimizer population).
- :mod:`~reesim.calibration.fit`: :func:`calibrate`, differential evolution over the priors.
- :mod:`~reesim.calibration.identify`: one-parameter profiles, curvature, identified ranges.
- :mod:`~reesim.calibration.output`: the calibration file scenarios read via ``calibration:``.
"""

from reesim.calibration.evaluate import Evaluator, history_scenario, member_objectives
from reesim.calibration.fit import (
    FULL,
    QUICK,
    CalibrationOptions,
    CalibrationResult,
    Generation,
    calibrate,
)
from reesim.calibration.identify import Identification, identify
from reesim.calibration.output import calibration_document, calibration_text, write_calibration
from reesim.calibration.parameters import FREE_PARAMETERS, FreeParameter, check_free_parameters

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
