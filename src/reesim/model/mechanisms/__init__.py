"""The model's mechanisms, one module each (the market: a package): inputs, step, constants.

Every module here defines ``CONSTANTS`` (its structural constants, see
:mod:`reesim.model.constants`), ``draft(ctx)`` (the schedules events may change) and
``build(ctx, draft)`` (its frozen inputs). Registering a mechanism is one line in
:data:`MECHANISMS`; the step (:mod:`reesim.model.step`) says where in the month it acts.
"""

from __future__ import annotations

from reesim.model.mechanisms import (
    capacity,
    demand,
    environment,
    in_use,
    magnets,
    market,
    mining,
    regimes,
    separation,
)

MECHANISMS = (regimes, capacity, mining, separation, market, demand, magnets, in_use,
              environment)
"""Build order (regimes first: events and other schedules may depend on the regime)."""

__all__ = ["MECHANISMS", "capacity", "demand", "environment", "in_use", "magnets", "market",
           "mining", "regimes", "separation"]
