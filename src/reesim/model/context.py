"""What every mechanism's ``build`` receives: data, scenario, timeline, labels, member values.

A :class:`Context` is read-only shared information; the schedules that events may change are
kept apart, in a :class:`Draft` (one named array per schedule, see :mod:`reesim.model.events`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pandas as pd

from reesim.datasets import ReferenceData
from reesim.dims import APPLICATIONS, DT_YR, ELEMENTS, MARKETS, MONTHS_PER_YEAR
from reesim.model.timeline import Timeline
from reesim.scenario.schema import Scenario


@dataclass(frozen=True)
class Coords:
    """Labels of every dimension and metadata of producers and regions."""

    elements: tuple[str, ...]
    producers: tuple[str, ...]
    regions: tuple[str, ...]
    applications: tuple[str, ...]
    exporters: tuple[str, ...]
    producer_meta: dict[str, tuple[str | bool, ...]]   # per producer: region, ..., legal
    region_meta: dict[str, tuple[str, ...]]


class Params:
    """Per-member values, shape (M,), of behavioural parameters and structural constants.

    Read by attribute (``params.supply_steepness``); an unknown name is an ``AttributeError``,
    never a silent default. Values come from the scenario, its sampled uncertainties or a design.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, np.ndarray]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no parameter or constant named {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Params is read-only")

    def names(self) -> tuple[str, ...]:
        """Names of all values held."""
        return tuple(self._values)

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """Shared inputs of every mechanism's ``build``: packaged tables, scenario, axis, members."""

    data: ReferenceData
    scenario: Scenario
    timeline: Timeline
    coords: Coords
    params: Params
    members: int
    producers: pd.DataFrame = field(repr=False)    # producers table, in coords order
    regions: pd.DataFrame = field(repr=False)      # regions table, in coords order
    _memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per build: what several mechanisms derive from this build's draft.

        What depends on the data alone (and the time axis) is kept across builds instead, by
        :meth:`reesim.datasets.ReferenceData.derived`.
        """
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[return-value]

    def ordered(self, table: str, column: str, labels: Sequence[str]) -> pd.DataFrame:
        """Packaged ``table`` indexed by ``column``, rows in the order of ``labels``.

        Once per data (``set_index().loc`` cost a build milliseconds per call): never change it.
        """
        return self.data.derived(("ordered", table, column, tuple(labels)),
                                 lambda: self.data[table].set_index(column).loc[list(labels)])

    @property
    def years(self) -> np.ndarray:
        """Calendar years of the run, shape (Y,)."""
        return np.arange(self.timeline.start_year, self.timeline.end_year + 1)

    def producer_index(self, name: str) -> int:
        """Position of a producer on the producer axis."""
        return self.coords.producers.index(name)

    def region_index(self, name: str) -> int:
        """Position of a region on the region axis."""
        return self.coords.regions.index(name)

    # The three below read the data's tables in coords order only (build._context): each is
    # computed once per data and handed out as a fresh copy (callers may change theirs).

    @property
    def region_market(self) -> np.ndarray:
        """Market index (0 china, 1 export) of each region, (R,)."""
        return self.data.derived(("region_market",), lambda: np.array(
            [MARKETS.index(m) for m in self.regions.market])).copy()

    @property
    def producer_region(self) -> np.ndarray:
        """Mining region index of each producer, (P,)."""
        return self.data.derived(("producer_region",), lambda: np.array(
            [self.region_index(r) for r in self.producers.region])).copy()

    @property
    def mined_in_china(self) -> np.ndarray:
        """Whether each producer mines in the China market's regions, (P,) bool."""
        return self.region_market[self.producer_region] == 0

    @property
    def default_route(self) -> np.ndarray:
        """Region index where each producer's concentrate is separated by default, (P,)."""
        return self.data.derived(("default_route",), lambda: np.array(
            [self.region_index(r) for r in self.producers.separation_region])).copy()


Draft = dict[str, np.ndarray]
"""Schedules under construction, (T, ...) arrays by name; events edit them before ``build``."""


def monthly(yearly: np.ndarray) -> np.ndarray:
    """Repeat a per-year array (Y, ...) to per-month (T, ...)."""
    return np.repeat(yearly, MONTHS_PER_YEAR, axis=0)


def pair(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two (M, E) arrays as one (M, 2, E) array (``np.stack(..., axis=1)`` at a lower cost)."""
    out = np.empty((first.shape[0], 2, first.shape[1]))
    out[:, 0], out[:, 1] = first, second
    return out


def member_column(values: np.ndarray, dims: int) -> np.ndarray:
    """A per-member (M,) array shaped (M, 1, ...) with ``dims`` trailing axes for broadcasting."""
    return values.reshape(values.shape + (1,) * dims)


def element_mask(elements: list[str] | str) -> np.ndarray:
    """Boolean mask over elements of a list of names or ``"all"``, (E,)."""
    if elements == "all":
        return np.ones(len(ELEMENTS), bool)
    return np.isin(np.array(ELEMENTS), elements)


def application_mask(apps: list[str] | str) -> np.ndarray:
    """Boolean mask over applications of a list of names or ``"all"``, (A,)."""
    if apps == "all":
        return np.ones(len(APPLICATIONS), bool)
    return np.isin(np.array(APPLICATIONS), apps)


def monthly_rate(time_yr: np.ndarray | float) -> np.ndarray:
    """Share of a gap closed in one month by a first-order adjustment with time ``time_yr``."""
    with np.errstate(divide="ignore"):
        return 1.0 - np.exp(-DT_YR / np.asarray(time_yr, dtype=float))


def ramp(timeline: Timeline, start: str, ramp_yr: float) -> np.ndarray:
    """0 before ``start``, rising linearly to 1 over ``ramp_yr`` years, shape (T,)."""
    t0 = timeline.index(start)
    months = np.arange(timeline.steps) - t0 + 1
    if ramp_yr <= 0:
        return (months > 0).astype(float)
    with np.errstate(over="ignore"):             # a ramp of ~0 years is a step (inf -> 1)
        return np.clip(months / (MONTHS_PER_YEAR * ramp_yr), 0.0, 1.0)
