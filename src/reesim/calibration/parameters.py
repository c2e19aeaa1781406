"""The calibration's free parameters: a declared table of names, prior ranges, scales and reasons.

Everything else in a scenario stays as the scenario sets it. The table is the one place to edit
when a parameter should join or leave the fit; :func:`check_free_parameters` keeps it honest
(every name a field of :class:`~reesim.scenario.schema.Parameters`, every prior inside the
field's allowed range, log scales strictly positive).

A row names either a behavioural parameter (a field of ``Parameters``) or a member-level
structural constant (:mod:`reesim.model.constants`, e.g. ``panic_price_ratio``): the fit sets
both per member through ``simulate(design=...)``; a constant's prior must lie inside its
declared plausible range, and the calibration file writes it under ``constants``. Removing or
adding a free parameter is one row of :data:`FREE_PARAMETERS`.

Priors are bounded by the time step: an adjustment time (a name ending in ``_yr`` that is not a
rate ``_per_yr``, or a constant in ``yr`` or ``months``) may not start below one step
(:data:`~reesim.dims.DT_YR`, a month): a shorter time would let the fit win by exploiting the
step (a first-order adjustment that overshoots within the month).

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

from reesim.dims import DT_YR
from reesim.model.constants import member_constant_names
from reesim.model.constants import table as constant_table
from reesim.scenario.schema import Parameters, Scenario, uncertain_bounds


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
    def kind(self) -> Literal["parameter", "constant", "unknown"]:
        """``parameter`` (a field of ``Parameters``), ``constant`` (member-level) or unknown."""
        if self.name in Parameters.model_fields:
            return "parameter"
        if self.name in member_constant_names():
            return "constant"
        return "unknown"

    @property
    def midpoint(self) -> float:
        """The prior's centre in its scale (geometric mean for ``log``)."""
        return float(self.to_value(0.5))


FREE_PARAMETERS: tuple[FreeParameter, ...] = (
    FreeParameter("price_adjustment_time_yr", 2.0, 5.0, "log",
                  "how fast the going price that anchors sellers' reservation follows the "
                  "cleared price; unobserved (below 2 years the annual prices cycle: the market "
                  "constant min_price_adjustment_yr)"),
    FreeParameter("price_expectation_time_yr", 1.0, 10.0, "log",
                  "how fast traders' expected price follows the market; unobserved (at least a "
                  "year: prices were quoted monthly and contracts run for months)"),
    FreeParameter("price_coverage_sensitivity", 0.1, 0.5, "log",
                  "how strongly prices respond to inventory coverage below target; unobserved "
                  "(at most 0.5: the fit with a prior to 1.5 took 1.42, and two market "
                  "sub-steps then moved annual mine output by up to 31%: the monthly step does "
                  "not resolve a steeper response)"),
    FreeParameter("glut_sensitivity_ratio", 0.05, 1.0, "log",
                  "the price response to coverage above target as a share of the response "
                  "below it: the supply-of-storage curve is flat when stocks are ample and steep "
                  "when they are scarce (Working 1949; Deaton and Laroque 1992); unobserved"),
    FreeParameter("demand_elasticity_multiplier", 0.5, 1.5, "log",
                  "scales the packaged elasticities (long run -0.1 magnets, -0.2 most uses, -0.3 "
                  "phosphors; applications.csv). No numeric rare earth elasticity is published "
                  "(data/reference elasticity gap); the literature on other metals puts long-run "
                  "price elasticities of intensity at median -0.20, interquartile range -0.45 to "
                  "-0.07 (GLOMBO Table S29, 69 estimates). 0.5-1.5 keeps every application "
                  "inside that range (phosphors at most -0.45) except magnets at the low end "
                  "(-0.05). The former prior, up to 10x, "
                  "let the fit cut magnet demand by about 45% and triple phosphors"),
    FreeParameter("substitution_lag_multiplier", 0.3, 3.0, "log",
                  "speed of long-run substitution and thrifting; few observations (redesign of "
                  "magnets and phosphors took years after 2011: at least 0.3 x the data's lags)"),
    FreeParameter("max_scarcity_factor", 2.0, 16.0, "log",
                  "how far a month's clearing price may run above the going price before the "
                  "market rations; unobserved. The record's 2010-2011 rise (export Dy 157 USD/kg "
                  "in 2010-Q1, 921 in 2011-Q2, 2,300 in 2011-09; La 6, 135, 117; Nd 28, 130 in "
                  "2011-01, 260 in 2011-09: prices.csv) cleared by price, not by rationing; at "
                  "the former fixed 4 the export peak/2015 ratios stayed at 3.5 (record 5.4 and "
                  "8.2) while the going price's adjustment time held the rest back"),
    FreeParameter("drain_foresight_yr", 0.1, 3.0, "linear",
                  "how far ahead sellers see the world's net drain and reserve stock against "
                  "it (competitive storage with foresight: a deficit they can see raises the "
                  "price before the stock is gone); unobserved. Up to three years, the horizon "
                  "of the industry's published supply-demand balances; the 2026-12-05 fit sits "
                  "at the top (identified 1.1-3 years)"),
    FreeParameter("hoarding_sensitivity", 0.0, 5.0, "linear",
                  "panic buying and speculative holding once prices run 50% above expectations "
                  "(2010-2011); unobserved"),
    FreeParameter("illegal_supply_elasticity", 0.0, 4.0, "linear",
                  "response of South China fringe supply to its margin; output unrecorded"),
    FreeParameter("china_cost_multiplier", 0.3, 3.0, "log",
                  "Chinese mining and separation costs are estimates"),
)
"""The declared free parameters (the lead's choice; the ranges are the priors)."""


def step_floor(row: FreeParameter) -> float | None:
    """The lowest prior allowed by the time step (in the row's unit), or None if not a time.

    Adjustment times are parameters named ``*_yr`` (not rates ``*_per_yr``) and constants in
    ``yr`` or ``months``; their floor is one step (a month).
    """
    if row.kind == "constant":
        unit = constant_table()[row.name].unit
        return {"yr": DT_YR, "months": 1.0}.get(unit)
    if row.name.endswith("_yr") and not row.name.endswith("_per_yr"):
        return DT_YR
    return None

def check_free_parameters(table: Sequence[FreeParameter] = FREE_PARAMETERS) -> None:
    """Raise ``ValueError`` naming the row if the table is not a valid set of free parameters."""
    seen: set[str] = set()
    for row in table:
        if row.kind == "unknown":
            raise ValueError(f"free parameter {row.name!r} is not a field of Parameters nor a "
                             "member-level constant; one of: "
                             + ", ".join((*Parameters.model_fields, *member_constant_names())))
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
        lo, lo_in, hi, hi_in = uncertain_bounds(row.name)
        if row.low < lo or (row.low == lo and not lo_in) or row.high > hi or (
                row.high == hi and not hi_in):
            what = "field's allowed" if row.kind == "parameter" else "constant's plausible"
            raise ValueError(f"{row.name}: prior {row.low}..{row.high} leaves the {what} range "
                             f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}")
        floor = step_floor(row)
        if floor is not None and row.low < floor * (1.0 - 1e-12):
            raise ValueError(f"{row.name}: an adjustment time below the time step ({floor:g}) "
                             f"lets the fit exploit the step; got a prior from {row.low:g}")
        if not row.reason.strip():
            raise ValueError(f"{row.name}: give a one-line reason why it is free")


def split_values(values: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Fitted values by name -> (behavioural parameters, structural constants)."""
    params = {k: v for k, v in values.items() if k in Parameters.model_fields}
    return params, {k: v for k, v in values.items() if k not in params}


def scenario_values(scenario: Scenario, table: Sequence[FreeParameter]) -> dict[str, float]:
    """The scenario's own value of every row (its parameter or its resolved constant)."""
    return {row.name: scenario.resolved_value(row.name) for row in table}


def to_values(table: Sequence[FreeParameter], units: np.ndarray) -> np.ndarray:
    """(S, P) unit-cube points -> (S, P) parameter values, column ``j`` for ``table[j]``."""
    units = np.atleast_2d(np.asarray(units, float))
    return np.stack([row.to_value(units[:, j]) for j, row in enumerate(table)], axis=1)


def to_units(table: Sequence[FreeParameter], values: Mapping[str, float]) -> np.ndarray:
    """Parameter values by name -> (P,) unit-cube point (clipped into the prior)."""
    return np.clip([float(row.to_unit(values[row.name])) for row in table], 0.0, 1.0)
