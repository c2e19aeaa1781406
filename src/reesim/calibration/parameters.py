"""The calibration's free parameters: a declared table of names, prior ranges, scales and reasons.

Everything else in a scenario stays as the scenario sets it. The table is the one place to edit
when a parameter should join or leave the fit; :func:`check_free_parameters` keeps it honest
(every name a field of :class:`~reesim.scenario.schema.Parameters`, every prior inside the
field's allowed range, log scales strictly positive).

The optimizer works in the *unit cube*: ``u = 0`` is a prior's ``low`` and ``u = 1`` its
``high``, linear in the parameter's value or in its logarithm (``scale = "log"``), so every
parameter counts the same to the optimizer, and a step in ``u`` is a step relative to the prior.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from reesim.scenario.schema import Parameters, parameter_bounds


@dataclass(frozen=True)
class FreeParameter:
    """One fitted parameter: a field of ``Parameters``, its prior range and why it is free."""

    name: str
    low: float
    high: float
    scale: Literal["log", "linear"]
    reason: str

    def to_value(self, u: np.ndarray | float) -> np.ndarray:
        """Map unit-cube coordinates (0 = low, 1 = high) to parameter values."""
        u = np.clip(np.asarray(u, float), 0.0, 1.0)
        if self.scale == "log":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def to_unit(self, value: np.ndarray | float) -> np.ndarray:
        """Map parameter values to unit-cube coordinates (values outside the prior go outside)."""
        value = np.asarray(value, float)
        if self.scale == "log":
            return (np.log(value) - math.log(self.low)) / (math.log(self.high)
                                                             - math.log(self.low))
        return (value - self.low) / (self.high - self.low)

    @property
    def midpoint(self) -> float:
        """The prior's centre in its scale (geometric mean for ``log``)."""
        return float(self.to_value(0.5))


FREE_PARAMETERS: tuple[FreeParameter, ...] = (
    FreeParameter("price_adjustment_time_yr", 0.05, 1.0, "log",
                  "how fast prices react to inventory coverage; unobserved"),
    FreeParameter("price_expectation_time_yr", 1.0, 10.0, "log",
                  "how fast traders' expected price follows the market; unobserved (at least a "
                  "year: prices were quoted monthly and contracts run for months)"),
    FreeParameter("price_coverage_sensitivity", 0.1, 1.5, "log",
                  "how strongly prices respond to inventory coverage; unobserved"),
    FreeParameter("demand_elasticity_multiplier", 1.0, 10.0, "log",
                  "the packaged elasticities are proxies from other metals; rare earth uses "
                  "substitute more readily"),
    FreeParameter("substitution_lag_multiplier", 0.3, 3.0, "log",
                  "speed of long-run substitution and thrifting; few observations (redesign of "
                  "magnets and phosphors took years after 2011: at least 0.3 x the data's lags)"),
    FreeParameter("hoarding_sensitivity", 0.0, 5.0, "linear",
                  "panic buying and speculative holding once prices run 50% above expectations "
                  "(2010-2011); unobserved"),
    FreeParameter("illegal_supply_elasticity", 0.0, 4.0, "linear",
                  "response of South China fringe supply to its margin; output unrecorded"),
    FreeParameter("china_cost_multiplier", 0.3, 3.0, "log",
                  "Chinese mining and separation costs are estimates"),
)
"""The declared free parameters (the lead's choice; the ranges are the priors)."""


def check_free_parameters(table: Sequence[FreeParameter] = FREE_PARAMETERS) -> None:
    """Raise ``ValueError`` naming the row if the table is not a valid set of free parameters."""
    seen: set[str] = set()
    for row in table:
        if row.name not in Parameters.model_fields:
            raise ValueError(f"free parameter {row.name!r} is not a field of Parameters; one of: "
                             + ", ".join(Parameters.model_fields))
        if row.name in seen:
            raise ValueError(f"free parameter {row.name!r} is declared twice")
        seen.add(row.name)
        if row.scale not in ("log", "linear"):
            raise ValueError(f"{row.name}: scale must be 'log' or 'linear', got {row.scale!r}")
        if not (math.isfinite(row.low) and math.isfinite(row.high) and row.low < row.high):
            raise ValueError(f"{row.name}: prior needs finite low < high, got "
                             f"{row.low}..{row.high}")
        if row.scale == "log" and row.low <= 0.0:
            raise ValueError(f"{row.name}: a log-scaled prior needs low > 0, got {row.low}")
        lo, lo_in, hi, hi_in = parameter_bounds(row.name)
        if row.low < lo or (row.low == lo and not lo_in) or row.high > hi or (
                row.high == hi and not hi_in):
            raise ValueError(f"{row.name}: prior {row.low}..{row.high} leaves the field's "
                             f"allowed range {'[' if lo_in else '('}{lo}, {hi}"
                             f"{']' if hi_in else ')'}")
        if not row.reason.strip():
            raise ValueError(f"{row.name}: give a one-line reason why it is free")


def to_values(table: Sequence[FreeParameter], units: np.ndarray) -> np.ndarray:
    """(S, P) unit-cube points -> (S, P) parameter values, column ``j`` for ``table[j]``."""
    units = np.atleast_2d(np.asarray(units, float))
    return np.stack([row.to_value(units[:, j]) for j, row in enumerate(table)], axis=1)


def to_units(table: Sequence[FreeParameter], values: Mapping[str, float]) -> np.ndarray:
    """Parameter values by name -> (P,) unit-cube point (clipped into the prior)."""
    return np.clip([float(row.to_unit(values[row.name])) for row in table], 0.0, 1.0)
