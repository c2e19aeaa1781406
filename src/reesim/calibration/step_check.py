"""Does a set of parameter values converge in the time step? The scenario's step and its half.

A fit must not win by exploiting the monthly step (issue 8: "the result does not depend on the
time step"). :func:`step_convergence` runs a scenario at given values with its market sub-steps
a month (``market.substeps``, n: two by default) and with 2n to :data:`STEP_CHECK_END_YEAR`
and measures how
far the annual paths move: the largest relative change of world mine output, separation output
and demand in any year, the median absolute log change of the annual prices, and the largest
absolute log change of an observed element's annual price (the median hides one path that
changes shape). The
calibration prefers the best search whose end point converges (:func:`reesim.calibration.
calibrate`), and ``tests/test_market_behaviour.py`` checks the default scenario the same way.
With a step weight (``reesim calibrate --step-weight``) the searches also score it per member
over the calibration window (:func:`member_step_gaps`, :func:`step_penalty`), so they steer
away from regions that do not converge instead of only discarding their end points.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from reesim.indicators import mean_by_year
from reesim.scenario import Scenario
from reesim.scenario.schema import MAX_SUBSTEPS
from reesim.validation.patterns import OBSERVED_ELEMENTS

STEP_CHECK_END_YEAR = 2030
"""The check runs to this year: the history and the first projection years."""
STEP_VOLUME_TOLERANCE = 0.05
"""Largest relative change of an annual volume (mine and separation output, demand) allowed
between n and 2n sub-steps."""
STEP_PRICE_TOLERANCE = 0.02
"""Largest median absolute log change of the annual prices (all elements but Sc, both
markets, every year) allowed between n and 2n sub-steps."""
STEP_PATH_TOLERANCE = 0.10
"""Largest absolute log change of the annual price of an element with price observations
(either market, any year) allowed between n and 2n sub-steps. Added 2026-12-03, when the
committed fit's Nd export price was found to average 59 USD/kg in 2011 with one sub-step, 40
with two and 32 with eight (its 2011 spike an artefact of the step) while the median of all
prices moved 1.7%. 10% is a judgement, not a measurement: issue 8 asks for "the same annual paths
within a few percent", loosened for a single cell of 8 elements x 2 markets x 31 years."""
PATH_SPREAD_GAP = 0.05
"""An observed price path's annual log gap above which :func:`step_refinement` counts it
(``paths_over_5pct``): "within a few percent", as issue 8 asks."""
VOLUMES = ("mine_output", "separation_output", "demand")
STEP_CHECK_VARIABLES: tuple[str, ...] = ("price", *VOLUMES)
"""The recorded variables :func:`member_step_gaps` reads (its runs record only these)."""


@dataclass(frozen=True)
class StepCheck:
    """How far one scenario's annual paths move from n to 2n market sub-steps a month."""

    substeps: int
    """n, the scenario's market sub-steps a month (the check compares n and 2n)."""
    volume_gap: float
    """Largest relative change of a world volume (:data:`VOLUMES`) in any year."""
    price_gap: float
    """Median absolute log change of the annual prices."""
    path_gap: float
    """Largest absolute log change of an observed element's annual price."""
    path_at: str
    """Where :attr:`path_gap` is: element, market and year (e.g. ``Nd export 2011``)."""
    first_year_price_gap: float
    """Median absolute log change of the first year's prices (the start itself)."""

    @property
    def converged(self) -> bool:
        """Within the volume, median price and price path tolerances."""
        return bool(self.volumes_and_median_converge and self.path_gap < STEP_PATH_TOLERANCE)

    @property
    def volumes_and_median_converge(self) -> bool:
        """Within the volume and median price tolerances (the calibration's fallback).

        The check before the path measure; the calibration picks among such searches when none
        converges.
        """
        return bool(self.volume_gap < STEP_VOLUME_TOLERANCE
                     and self.price_gap < STEP_PRICE_TOLERANCE)

    def describe(self) -> str:
        """One line for warnings and tables."""
        return (f"annual volumes move up to {self.volume_gap:.1%}, prices {self.price_gap:.1%} "
                f"at the median and an observed price path up to {self.path_gap:.0%} "
                f"({self.path_at}) between {self.substeps} and {2 * self.substeps} market "
                f"sub-steps a month (allowed "
                f"{STEP_VOLUME_TOLERANCE:.0%}, {STEP_PRICE_TOLERANCE:.0%} and "
                f"{STEP_PATH_TOLERANCE:.0%})")


def with_substeps(scenario: Scenario, substeps: int) -> Scenario:
    """``scenario`` with ``substeps`` market sub-steps a month.

    Not bounded by the schema's largest: the check of a scenario at n sub-steps runs 2n.
    """
    market = scenario.market.model_copy(update={"substeps": int(substeps)})
    return scenario.model_copy(update={"market": market})


def member_step_gaps(one: xr.Dataset, two: xr.Dataset) -> tuple[np.ndarray, ...]:
    """Per member (M,), how far ``two`` (2n sub-steps) moves from ``one`` (n sub-steps).

    Returns the largest relative change of a world volume (:data:`VOLUMES`) in any year, the
    median absolute log change of the annual mean prices (all elements but Sc, both markets,
    every year) and the largest absolute log change of the annual mean price of an element with
    price observations (either market, any year). Monthly or annual records alike: both are
    reduced to calendar years.
    """
    return _step_gaps(one, two, _price_log_gap(one, two))


def _step_gaps(one: xr.Dataset, two: xr.Dataset,
               log_gap: xr.DataArray) -> tuple[np.ndarray, ...]:
    """:func:`member_step_gaps` with the annual price log gaps already computed."""
    volume_gap = np.zeros(one.sizes["member"])
    for name in VOLUMES:
        a, b = (_annual(ds[name].sum([d for d in ds[name].dims if d not in ("member", "time")]))
                for ds in (one, two))
        volume_gap = np.maximum(volume_gap, np.abs(b / a - 1.0).max("year").to_numpy())
    gap = log_gap.stack(cell=[d for d in log_gap.dims if d != "member"])
    path = log_gap.sel(element=list(OBSERVED_ELEMENTS))
    path = path.max([d for d in path.dims if d != "member"])
    return volume_gap, gap.median("cell").to_numpy(), path.to_numpy()


def _price_log_gap(one: xr.Dataset, two: xr.Dataset) -> xr.DataArray:
    """``|ln(two / one)|`` of the annual mean prices of every element but Sc, both markets."""
    elements = [e for e in one.element.values if e != "Sc"]
    a, b = (_annual(ds.price.sel(element=elements)) for ds in (one, two))
    return np.abs(np.log(b / a))


def _annual(values: xr.DataArray) -> xr.DataArray:
    """Calendar-year means (a no-op on annual records, which have one value a year).

    :func:`~reesim.indicators.mean_by_year` (one reduction, the groupby's numbers bit for bit)
    where the records carry their ``year``; a calibration batch spent 0.4 s in the groupby.
    """
    if "year" in values.coords:
        return mean_by_year(values)
    return values.groupby("time.year").mean()


FINEST_SUBSTEPS = MAX_SUBSTEPS
"""The finest market step the refinement compares with (the schema's largest sub-step count)."""
FINEST_VOLUME_TOLERANCE = 0.05
"""Largest relative change of an annual world volume allowed between the scenario's step and
:data:`FINEST_SUBSTEPS` sub-steps (``tests/test_market_behaviour.py``, issue 8: a few percent)."""
FINEST_PRICE_TOLERANCE = 0.01
"""Largest median absolute log change of the annual prices allowed against the finest step."""
FINEST_PATH_TOLERANCE = 0.10
"""Largest absolute log change of an observed element's annual price allowed against the finest
step."""


def distance_to_finest(substeps: int) -> float:
    """How far n sub-steps stand from :data:`FINEST_SUBSTEPS`, in units of the n-to-2n gap.

    Under first-order convergence (the error proportional to the step) the gap from n to m
    sub-steps is ``(1/n - 1/m) / (1/n - 1/(2n))`` times the n-to-2n gap: 1.75 from two sub-steps
    to sixteen. Measured on the committed fit (forty-seventh session) the order was 1.0-1.4 and
    the two-to-sixteen gap 1.57 times the two-to-four one, so the estimate is a little on the
    safe side.
    """
    return 2.0 * (1.0 - substeps / FINEST_SUBSTEPS)


def step_penalty(volume_gap: np.ndarray, price_gap: np.ndarray, path_gap: np.ndarray, *,
                 substeps: int) -> np.ndarray:
    """Objective penalty (M,) for not converging: the relative excess over each tolerance.

    The gaps are those between n (``substeps``) and 2n sub-steps; each is carried to the
    finest step (:func:`distance_to_finest`) and compared with what the refinement test allows
    there (:data:`FINEST_VOLUME_TOLERANCE`, :data:`FINEST_PRICE_TOLERANCE`,
    :data:`FINEST_PATH_TOLERANCE`): zero within them, 1 for each doubling of one. Until the
    forty-eighth session the n-to-2n gaps were compared with the n-to-2n check's own tolerances,
    which let the searches end where the run stood 11-18% from the finest step on an observed
    price path (the refinement test allows 10%): the most frequent reason a refit failed the
    behaviour tests (forty-seventh session: three of four refits tested).
    """
    reach = distance_to_finest(substeps)
    return (np.maximum(reach * volume_gap / FINEST_VOLUME_TOLERANCE - 1.0, 0.0)
            + np.maximum(reach * price_gap / FINEST_PRICE_TOLERANCE - 1.0, 0.0)
            + np.maximum(reach * path_gap / FINEST_PATH_TOLERANCE - 1.0, 0.0))


def substep_runs(scenario: Scenario, values: Mapping[str, float] | None,
                 substeps: tuple[int, ...]) -> dict[int, xr.Dataset]:
    """One-member runs of ``scenario`` at ``values`` with each count of market ``substeps``.

    Annual records of :data:`STEP_CHECK_VARIABLES`, to :data:`STEP_CHECK_END_YEAR` (or the
    scenario's end, if earlier); keyed by the sub-step count.
    """
    from reesim.api import simulate
    from reesim.calibration.backtest import fitted_scenario

    base = fitted_scenario(scenario, values or {}).model_dump()
    base["end_year"] = min(base["end_year"], STEP_CHECK_END_YEAR)
    base["output"]["frequency"] = "year"
    short = type(scenario).model_validate(base)
    return {n: simulate(with_substeps(short, n), record=STEP_CHECK_VARIABLES).dataset
            for n in substeps}


def step_convergence(scenario: Scenario, values: Mapping[str, float] | None = None,
                     runs: Mapping[int, xr.Dataset] | None = None) -> StepCheck:
    """:class:`StepCheck` of ``scenario`` at ``values`` (fitted parameters and constants).

    Two one-member runs with annual records (:func:`substep_runs` with the scenario's n market
    sub-steps and 2n), or those of ``runs`` (keyed by sub-step count, e.g.
    :func:`step_refinement`'s).
    """
    n = scenario.market.substeps
    runs = substep_runs(scenario, values, (n, 2 * n)) if runs is None else runs
    log_gaps = _price_log_gap(runs[n], runs[2 * n])
    volume_gap, price_gap, path_gap = _step_gaps(runs[n], runs[2 * n], log_gaps)
    log_gap = log_gaps.isel(member=0)                           # (year, market, element)
    path_at = _path_at(log_gap)
    return StepCheck(substeps=n, volume_gap=float(volume_gap[0]), price_gap=float(price_gap[0]),
                     path_gap=float(path_gap[0]), path_at=path_at,
                     first_year_price_gap=float(log_gap.isel(year=0).median()))


REFINEMENT_SUBSTEPS = (1, 2, 4, 8, FINEST_SUBSTEPS)
"""Market sub-steps a month of :func:`step_refinement`'s runs, up to the schema's largest."""


def step_refinement(scenario: Scenario, values: Mapping[str, float] | None = None,
                    substeps: tuple[int, ...] = REFINEMENT_SUBSTEPS,
                    runs: Mapping[int, xr.Dataset] | None = None) -> pd.DataFrame:
    """How the annual paths converge as the market step is refined, and how far the run is.

    The calibration's check (:func:`step_convergence`) compares n and 2n sub-steps, which
    says whether the paths move, not how far the n-sub-step run stands from where finer
    steps lead: under first-order convergence that distance is about twice the n-to-2n gap.
    This runs ``substeps`` (one-member runs with annual records to
    :data:`STEP_CHECK_END_YEAR`) and gives one row per successive pair and one per run against
    the finest: the three gaps of :class:`StepCheck`, where the path gap is, how the gaps of
    the observed price paths spread (``path_p90``, the 90th percentile of the absolute log gaps
    over observed element, market and year; ``paths_over_5pct``, the share of those above
    :data:`PATH_SPREAD_GAP`: the largest gap alone is one cell of 8 x 2 x 31), and for
    successive pairs the observed order ``log2(gap before / gap)`` of the path and volume gaps
    (1 where each halving of the step halves them; below 1, slower). ``runs`` (keyed by sub-step
    count) reuses runs already made (:func:`substep_runs`).
    """
    runs = substep_runs(scenario, values, substeps) if runs is None else runs
    pairs = [(a, b, "successive") for a, b in itertools.pairwise(substeps)]
    pairs += [(a, substeps[-1], "against the finest") for a in substeps[:-2]]
    rows: list[dict[str, object]] = []
    for a, b, kind in pairs:
        log_gaps = _price_log_gap(runs[a], runs[b])
        volume, price, path = (float(g[0]) for g in _step_gaps(runs[a], runs[b], log_gaps))
        observed = log_gaps.isel(member=0).sel(element=list(OBSERVED_ELEMENTS)).to_numpy()
        rows.append({"substeps": a, "against": b, "comparison": kind, "volume_gap": volume,
                     "price_gap": price, "path_gap": path,
                     "path_at": _path_at(log_gaps.isel(member=0)),
                     "path_p90": float(np.percentile(observed, 90)),
                     "paths_over_5pct": float((observed > PATH_SPREAD_GAP).mean())})
    frame = pd.DataFrame(rows)
    for gap in ("path_gap", "volume_gap"):
        successive = frame[frame.comparison == "successive"][gap].to_numpy()
        order = np.full(len(frame), np.nan)
        order[1:len(successive)] = np.log2(successive[:-1] / successive[1:])
        frame[f"{gap.removesuffix('_gap')}_order"] = order
    return frame


def _path_at(log_gap: xr.DataArray) -> str:
    """Element, market and year of the largest log gap of an observed element's price."""
    observed = log_gap.sel(element=list(OBSERVED_ELEMENTS))
    where = observed.where(observed == observed.max(), drop=True)
    return " ".join(str(where[d].values[0]) for d in ("element", "market", "year"))


def step_check_table(check: StepCheck) -> pd.DataFrame:
    """The check as a table (``step_check.csv`` of ``reesim validate``): one row per measure."""
    rows = [("world volumes, largest relative change in any year", check.volume_gap,
             STEP_VOLUME_TOLERANCE, ""),
            ("annual prices, median absolute log change", check.price_gap,
             STEP_PRICE_TOLERANCE, ""),
            ("observed price paths, largest absolute log change", check.path_gap,
             STEP_PATH_TOLERANCE, check.path_at)]
    return pd.DataFrame(
        [{"measure": m, "gap": g, "allowed": a, "within": bool(g < a), "where": w}
         for m, g, a, w in rows])
