"""Structural constants: the declared table of every fixed number a mechanism relies on.

Each mechanism declares its own constants next to its code (``CONSTANTS`` in its module); this
module collects them into :data:`TABLE`. A constant has a value, a unit, a plausible range, a
reason and a source (or ``"assumption"``). A scenario overrides them in its ``constants:``
section (the resolved values are part of the scenario, hence of its hash and the manifest), and
``simulate(..., design={name: values})`` sets member-level constants per member, so ensembles and
calibration can sample them like behavioural parameters. Run-level constants shape compiled
arrays (e.g. which elements are essential) and can only be set per scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class Constant:
    """One structural constant: name, value, unit, plausible range [low, high], reason, source."""

    name: str
    value: float
    unit: str
    low: float
    high: float
    reason: str
    source: str
    level: Literal["member", "run"] = "member"
    """``member``: may differ per ensemble member (a design); ``run``: one value per scenario."""
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.value <= self.high:
            raise ValueError(f"constant {self.name}: value {self.value} outside its range "
                             f"[{self.low}, {self.high}]")
        if not self.source:
            raise ValueError(f"constant {self.name} needs a source or 'assumption'")


def _collect() -> dict[str, Constant]:
    from reesim.model.mechanisms import MECHANISMS

    table: dict[str, Constant] = {}
    for mechanism in MECHANISMS:
        for constant in mechanism.CONSTANTS:
            if constant.name in table:
                raise ValueError(f"constant {constant.name} declared twice")
            table[constant.name] = constant
    return table


_TABLE: dict[str, Constant] | None = None


def table() -> dict[str, Constant]:
    """Every declared structural constant by name (collected from the mechanisms once)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _collect()
    return _TABLE


def member_constant_names() -> tuple[str, ...]:
    """Constants that a design may set per member."""
    return tuple(n for n, c in table().items() if c.level == "member")


def resolve(overrides: Mapping[str, float]) -> dict[str, float]:
    """All constants with ``overrides`` applied; raises ``ValueError`` naming a bad name or value.

    Used by the scenario schema, so a scenario always carries every constant's value.
    """
    known = table()
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"unknown constant {unknown[0]!r}; allowed: " + ", ".join(known))
    out = {}
    for name, const in known.items():
        value = float(overrides.get(name, const.value))
        if not np.isfinite(value) or not const.low <= value <= const.high:
            raise ValueError(f"constant {name} = {value:g} is outside its plausible range "
                             f"[{const.low:g}, {const.high:g}] {const.unit}")
        if const.integer and value != int(value):
            raise ValueError(f"constant {name} = {value:g} must be a whole number")
        out[name] = value
    for low, high in ordered_pairs():
        if not out[low] < out[high]:
            raise ValueError(f"constant {low} = {out[low]:g} must be below {high} = "
                             f"{out[high]:g}")
    return out


def ordered_pairs() -> tuple[tuple[str, str], ...]:
    """Pairs (a, b) of constants that must satisfy a < b (declared as ``ORDERED`` by mechanisms)."""
    from reesim.model.mechanisms import MECHANISMS

    return tuple(pair for m in MECHANISMS for pair in getattr(m, "ORDERED", ()))


def as_records() -> list[dict[str, object]]:
    """The table as records (for documentation and the manifest)."""
    return [{"name": c.name, "value": c.value, "unit": c.unit, "low": c.low, "high": c.high,
             "level": c.level, "reason": c.reason, "source": c.source} for c in table().values()]
