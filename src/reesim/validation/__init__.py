"""Validation: compare a simulated history with the packaged historical record (up to 2015).

- :mod:`~reesim.validation.observations`: the record, loaded and tidied.
- :mod:`~reesim.validation.series`: the simulated counterpart of every observation.
- :mod:`~reesim.validation.metrics`: fit metrics per series and the calibration objective.
- :mod:`~reesim.validation.report`: ``validation.html`` and ``validation.csv``.
"""

from reesim.validation.metrics import (
    OBJECTIVE_WEIGHTS,
    compute_metrics,
    member_metrics,
    member_objectives,
    objective,
)
from reesim.validation.observations import HISTORY_END_YEAR, Observations, load_observations
from reesim.validation.report import write_report
from reesim.validation.series import Series, build_series, paired_points

__all__ = [
    "HISTORY_END_YEAR",
    "OBJECTIVE_WEIGHTS",
    "Observations",
    "Series",
    "build_series",
    "compute_metrics",
    "load_observations",
    "member_metrics",
    "member_objectives",
    "objective",
    "paired_points",
    "write_report",
]
