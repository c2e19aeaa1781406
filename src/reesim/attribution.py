"""Knock-out attribution: how much each event or mechanism contributes to an episode.

The scenario runs once as it is and once without each factor (a dated event removed, a policy
table switched off, a behaviour set to zero, the trading company replaced by a free market). A
factor's contribution to an indicator is the full run's value less the value without it, so a
positive contribution means the factor raised the indicator. Factors interact: the run without
all of them and the interaction term (full - none - the sum of contributions) say by how much
the one-at-a-time contributions fail to add up. Indicators are taken over a window of months:
the peak and the mean of each chosen element's China and export price, and its unmet demand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reesim.dims import DT_YR, ELEMENTS
from reesim.errors import InputError
from reesim.scenario.schema import Scenario, month_number


@dataclass(frozen=True)
class Factor:
    """Something that may drive an episode, and the scenario overrides that remove it."""

    name: str
    description: str
    overrides: tuple[str, ...]


ALL_FACTORS = "(all factors)"
INTERACTION = "(interaction)"
DEFAULT_ELEMENTS = ("La", "Nd", "Tb", "Dy")


def parse_window(text: str) -> tuple[str, str]:
    """``"2010-01..2012-12"`` -> (first month, last month), both included."""
    first, sep, last = text.partition("..")
    try:
        if not sep or month_number(first) > month_number(last):
            raise ValueError("first..last, first not after last")
    except ValueError:
        raise InputError(f"--window {text!r} must be FIRST..LAST months, e.g. 2010-01..2012-12",
                         field="--window", allowed="YYYY-MM..YYYY-MM, first not after last"
                         ) from None
    return first.strip(), last.strip()


def parse_factors(texts: Sequence[str]) -> list[Factor]:
    """``"NAME=OVERRIDE[;OVERRIDE...]"`` -> factors (the ``--factor`` option)."""
    factors = []
    for text in texts:
        name, sep, rest = text.partition("=")
        overrides = tuple(o.strip() for o in rest.split(";") if o.strip())
        if not sep or not name.strip() or not overrides or any("=" not in o for o in overrides):
            raise InputError(f"--factor {text!r} must be NAME=OVERRIDE[;OVERRIDE...]",
                             field="--factor",
                             allowed="e.g. 'no embargo=events.japan_halt_2010=null'")
        factors.append(Factor(name.strip(), "; ".join(overrides), overrides))
    if len({f.name for f in factors}) < len(factors):
        raise InputError("two --factor options share a name", field="--factor",
                         allowed="distinct names")
    return factors


def default_factors(scenario: Scenario, window: tuple[str, str]) -> list[Factor]:
    """The factors that may drive the window: its events, then the standing policies and behaviours.

    Events are those acting in at least one month of the window. Policies and behaviours are
    included when the scenario has them on: China's export quotas and duties, its mining and
    separation quotas, consumers' hoarding and sellers' speculative holding
    (``hoarding_sensitivity``), illegal supply (for the whole run, and shut in the window only),
    and Baotou's trading company.
    """
    first, last = (month_number(m) for m in window)
    factors = []
    for name, event in scenario.events.items():
        start, end = event.active_months()
        if start <= last and (end is None or end > first):
            factors.append(Factor(f"event {name}", f"the {event.type} event {name!r} removed",
                                  (f"events.{name}=null",)))
    policy, supply = scenario.policy, scenario.supply
    if policy.export_quotas == "packaged":
        factors.append(Factor("export quotas", "China's export quotas (packaged table) off",
                              ("policy.export_quotas=none",)))
    if policy.export_taxes == "packaged":
        factors.append(Factor("export duties", "China's export duties (packaged table) off",
                              ("policy.export_taxes=none",)))
    if policy.mining_quotas == "packaged" or policy.separation_quotas == "packaged":
        factors.append(Factor("production quotas", "China's mining and separation quotas off",
                              ("policy.mining_quotas=none", "policy.separation_quotas=none")))
    factors.append(Factor("hoarding", "no hoarding by buyers or speculative holding by sellers",
                          ("parameters.hoarding_sensitivity=0",)))
    if supply.illegal_supply:
        factors.append(Factor("illegal supply", "no illegal (fringe) mining in the whole run",
                              ("supply.illegal_supply=false",)))
        factors.append(_fringe_shut_in(window, scenario.end_year))
    if scenario.market.regime != "free_market":
        factors.append(Factor("trading company", "Baotou's producers sell alone throughout",
                              ("market.regime=free_market",)))
    return factors


def _fringe_shut_in(window: tuple[str, str], end_year: int) -> Factor:
    """Illegal mines shut during the window only (a disruption at capacity factor 0).

    The whole-run factor also removes the stocks the fringe left before the window; this one
    isolates its response within it (a crackdown, as it were).
    """
    from reesim.datasets import load_inputs

    producers = load_inputs()["producers"]
    illegal = producers.producer[~producers.legal.astype(bool)].tolist()
    after = month_number(window[1]) + 1
    name = "events.attribution_fringe_shut"
    overrides = [f"{name}.type=disruption", f"{name}.producers=[{', '.join(illegal)}]",
                 f"{name}.capacity_factor=0", f"{name}.start={window[0]}"]
    if after < 12 * (end_year + 1):
        overrides.append(f"{name}.end={after // 12}-{after % 12 + 1:02d}")
    return Factor("illegal supply in the window", "illegal (fringe) mines shut in the window "
                  "only", tuple(overrides))


def indicators(dataset: object, window: tuple[str, str],
               elements: Sequence[str] = DEFAULT_ELEMENTS
               ) -> dict[tuple[str, str, str], np.ndarray]:
    """The window's indicators of a run: (indicator, element, market) -> one value per member.

    ``peak_price`` and ``mean_price`` in USD/kg per element and market; ``unmet_demand`` in t
    per element (the window's rates x the month's length, summed over applications).
    """
    ds = dataset.sel(time=slice(*window))
    price = ds.price.sel(element=list(elements)).transpose("member", "time", "element", "market")
    peak, mean = price.max("time").values, price.mean("time").values        # (M, E, K)
    unmet = (ds.unmet_demand.sel(element=list(elements)).sum("application")
             .transpose("member", "time", "element").values.sum(axis=1) * DT_YR)  # (M, E)
    markets = list(price.market.values)
    out: dict[tuple[str, str, str], np.ndarray] = {}
    for j, element in enumerate(elements):
        for market in ("china", "export"):
            out[("peak_price", element, market)] = peak[:, j, markets.index(market)]
            out[("mean_price", element, market)] = mean[:, j, markets.index(market)]
        out[("unmet_demand", element, "")] = unmet[:, j]
    return out


UNITS = {"peak_price": "USD/kg", "mean_price": "USD/kg", "unmet_demand": "t REO"}
COLUMNS = ["factor", "description", "indicator", "element", "market", "unit", "full", "without",
           "contribution", "contribution_pct", "contribution_pct_p05", "contribution_pct_p95"]


def _percent(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    return np.where(whole != 0.0, 100.0 * part / np.where(whole != 0.0, whole, 1.0), np.nan)


def attribute(name_or_path: str, window: tuple[str, str], factors: Sequence[Factor] | None = None,
              elements: Sequence[str] = DEFAULT_ELEMENTS, overrides: Sequence[str] = (),
              seed: int | None = None, members: int = 1,
              progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Contributions of each factor to the window's indicators, one row per factor and indicator.

    Runs the scenario (with ``overrides``) as it is, without each factor, and without all of
    them, each with ``members`` members and the same seed, so member i draws the same
    uncertain values in every run and its contributions are paired differences. Columns:
    factor, description, indicator, element, market, unit, full (the value of the full run),
    without (the value without the factor), contribution (full - without), contribution_pct
    (of full) and its 5th and 95th percentiles over the members; with several members the
    values are medians over members. The last rows per indicator are ``(all factors)`` and
    ``(interaction)`` (full - without all - the sum of the one-at-a-time contributions).
    """
    from reesim.api import simulate
    from reesim.scenario import load_scenario

    if not elements:
        raise InputError("--elements lists no element", field="--elements",
                         allowed=", ".join(ELEMENTS))
    unknown = [e for e in elements if e not in ELEMENTS]
    if unknown:
        raise InputError(f"unknown elements {unknown}", field="--elements",
                         allowed=", ".join(ELEMENTS))
    base = load_scenario(name_or_path, list(overrides))
    first, last = window
    if month_number(first) < 12 * base.start_year or month_number(last) >= 12 * (
            base.end_year + 1):
        raise InputError(f"--window {first}..{last} lies outside the run "
                         f"({base.start_year}-{base.end_year})", field="--window",
                         allowed=f"months within {base.start_year}-01..{base.end_year}-12")
    chosen = list(default_factors(base, window) if factors is None else factors)
    if not chosen:
        raise InputError("no factor acts in the window", field="--window",
                         allowed="a window with events or standing policies")
    monthly = ("output.frequency=month",)          # peaks need the months

    def run(label: str, extra: Sequence[str]) -> dict[tuple[str, str, str], np.ndarray]:
        if progress:
            progress(label)
        scenario = load_scenario(name_or_path, [*overrides, *extra, *monthly])
        return indicators(simulate(scenario, members=members, seed=seed).dataset, window,
                          elements)

    full = run("as it is", ())
    runs = {f.name: run(f"without {f.name}", f.overrides) for f in chosen}
    runs[ALL_FACTORS] = run("without all factors",
                            tuple(o for f in chosen for o in f.overrides))
    described = {f.name: f.description for f in chosen}
    described[ALL_FACTORS] = "every factor above removed at once"
    described[INTERACTION] = "full - without all - the sum of the contributions above"
    rows = []
    for key, value in full.items():
        indicator, element, market = key
        total = np.zeros_like(value)
        parts = {}
        for name, without in runs.items():
            parts[name] = (without[key], value - without[key])
            if name != ALL_FACTORS:
                total = total + parts[name][1]
        parts[INTERACTION] = (np.full_like(value, np.nan),
                              value - runs[ALL_FACTORS][key] - total)
        for name, (without, contribution) in parts.items():
            pct = _percent(contribution, value)
            low, mid, high = (np.percentile(pct, q) if np.isfinite(pct).all() else np.nan
                              for q in (5, 50, 95))
            rows.append((name, described[name], indicator, element, market, UNITS[indicator],
                         float(np.median(value)), float(np.median(without)),
                         float(np.median(contribution)), mid, low, high))
    return pd.DataFrame(rows, columns=COLUMNS)


def chart_html(table: pd.DataFrame, title: str) -> str:
    """A self-contained plotly page of the peak-price contributions, one chart per element.

    Horizontal bars: each factor's contribution in both markets, in % of the full run's peak.
    """
    import html

    import plotly.graph_objects as go
    import plotly.io as pio

    peaks = table[table.indicator == "peak_price"]
    parts, first = [], True
    for element, rows in peaks.groupby("element", sort=False):
        fig = go.Figure()
        for market, part in rows.groupby("market", sort=False):
            fig.add_bar(name=f"{market} (full run: {part.full.iloc[0]:,.0f} USD/kg)",
                        y=part.factor, x=part.contribution_pct, orientation="h")
        fig.update_layout(title=f"{element}: contribution to the window's peak price",
                          barmode="group", xaxis_title="% of the full run's peak",
                          yaxis={"autorange": "reversed"},
                          height=120 + 28 * rows.factor.nunique())
        parts.append(pio.to_html(fig, full_html=False, include_plotlyjs=first))
        first = False
    heading = html.escape(title)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{heading}</title></head>"
            f"<body><h1>{heading}</h1><p>Contribution = the full run's peak less the peak "
            "without the factor. Events act only in their months; policies and behaviours are "
            "removed for the whole run. The interaction row is what the one-at-a-time "
            f"contributions fail to add up to.</p>{''.join(parts)}</body></html>\n")
