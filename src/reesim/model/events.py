"""How every event type acts: one function per type, in a registry the schema must match.

An event edits the schedules drafted by the mechanisms (:data:`reesim.model.context.Draft`)
before they are frozen into the mechanisms' inputs. Event classes (their fields, ranges and
units) live in :mod:`reesim.scenario.schema`; :data:`EVENTS` maps each ``type`` to its function,
and importing this module fails if the two disagree. Events apply type by type in registry
order (regime events first: disruptions and separation capacity may depend on the regime),
within a type in the scenario's order.

Adding an event type: its class in the schema's ``Event`` union, its function here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from reesim.dims import APPLICATIONS, ELEMENTS, MONTHS_PER_YEAR
from reesim.model.context import Context, Draft, application_mask, element_mask, ramp
from reesim.model.mechanisms import magnets, mining
from reesim.model.mechanisms.market import RESERVE_HOLDERS
from reesim.model.mechanisms.regimes import regime_mask
from reesim.model.timeline import Timeline
from reesim.scenario.schema import (
    EVENT_TYPES,
    REGIME_NAMES,
    CapacityEvent,
    ConcentrateStockpileEvent,
    DemandShockEvent,
    DisruptionEvent,
    ExportControlEvent,
    ExportTaxEvent,
    IntensityEvent,
    PriceFloorEvent,
    QuotaEvent,
    RecoveryEvent,
    RecyclingEvent,
    RegimeEvent,
    RouteEvent,
    SeparationCapacityEvent,
    StockpileEvent,
)


def regime(event: RegimeEvent, ctx: Context, draft: Draft) -> None:
    """Switch Baotou's market regime for the window."""
    draft["regime"][ctx.timeline.window(event.start, event.end)] = REGIME_NAMES.index(
        event.regime)


def capacity(event: CapacityEvent, ctx: Context, draft: Draft) -> None:
    """Set a producer's available capacity; a planned project is put online by it."""
    p, window = ctx.producer_index(event.producer), ctx.timeline.window(event.start, event.end)
    draft["capacity_t_per_yr"][window, p] = event.capacity_t_reo_per_yr
    draft["forced_online"][window, p] = ctx.producers.status.iloc[p] == "planned"


def disruption(event: DisruptionEvent, ctx: Context, draft: Draft) -> None:
    """Scale the capacity of listed producers and of every producer in listed regions."""
    mask = np.isin(np.array(ctx.coords.producers), event.producers) | np.isin(
        np.array(ctx.coords.producer_meta["region"]), event.regions)
    months = regime_mask(ctx, draft, event.start, event.end, event.under_regime)
    draft["disruption"][np.ix_(months, mask)] *= event.capacity_factor


def route(event: RouteEvent, ctx: Context, draft: Draft) -> None:
    """Send a producer's concentrate to another region (optionally under toll treatment)."""
    p, window = ctx.producer_index(event.producer), ctx.timeline.window(event.start, event.end)
    draft["route"][window, p] = ctx.region_index(event.separation_region)
    draft["toll"][window, p] = event.toll_treatment


def concentrate_stockpile(event: ConcentrateStockpileEvent, ctx: Context, draft: Draft) -> None:
    """Let a producer mine into a concentrate stock: its separator's backlog does not cut it."""
    p, window = ctx.producer_index(event.producer), ctx.timeline.window(event.start, event.end)
    draft["stockpiling"][window, p] = True


def recovery(event: RecoveryEvent, ctx: Context, draft: Draft) -> None:
    """Ramp a producer's mining recovery to a new value (Bayan Obo: its by-product recovery)."""
    p, window = ctx.producer_index(event.producer), ctx.timeline.window(event.start, event.end)
    byproduct = bool(ctx.producers.byproduct_of_iron.iloc[p])
    # ramp from the recovery as earlier events left it (from the data's where none acted; an
    # event that followed another ramped from the data's value until 2026-12-08)
    override = draft["recovery_override"][:, p]
    base = draft["byproduct_recovery"] if byproduct else np.where(
        np.isnan(override), float(ctx.producers.mining_recovery_fraction.iloc[p]), override)
    weight = ramp(ctx.timeline, event.start, event.ramp_yr)[window]
    new = base[window] + (event.recovery_fraction - base[window]) * weight
    if byproduct:
        draft["byproduct_recovery"][window] = new
    else:
        draft["recovery_override"][window, p] = new


def quota(event: QuotaEvent, ctx: Context, draft: Draft) -> None:
    """Override a quota of China: mining (total or segment), separation (imports?) or export."""
    window = ctx.timeline.window(event.start, event.end)
    if event.kind == "mining":
        mining.apply_quota_event(ctx, draft, event)
    elif event.kind == "separation":
        if event.value_t_reo_per_yr is not None:
            draft["separation_quota_national_t_per_yr"][window] = event.value_t_reo_per_yr
        if event.covers_imported_ore is not None:
            draft["separation_quota_covers_imports"][window] = event.covers_imported_ore
    elif event.segment == "total":      # every element's tonnes together: one pool
        draft["export_quota_t_per_yr"][window] = event.value_t_reo_per_yr
        draft["export_quota_pool_t_per_yr"][window] = np.inf
    else:   # one pool's tonnes (light; medium/heavy as "ionic"), the other's kept (inf: none)
        pool = 0 if event.segment == "light" else 1
        draft["export_quota_pool_t_per_yr"][window, pool] = event.value_t_reo_per_yr


def separation_capacity(event: SeparationCapacityEvent, ctx: Context, draft: Draft) -> None:
    """Set a region's separation capacity (in months of the named regime, if any)."""
    months = regime_mask(ctx, draft, event.start, event.end, event.under_regime)
    draft["separation_capacity_t_per_yr"][months, ctx.region_index(event.region)] = (
        event.capacity_t_reo_per_yr)


def export_tax(event: ExportTaxEvent, ctx: Context, draft: Draft) -> None:
    """Set China's export duty on the listed elements."""
    window = ctx.timeline.window(event.start, event.end)
    draft["export_tax"][window, element_mask(event.elements)] = event.rate_pct / 100.0


def export_control(event: ExportControlEvent, ctx: Context, draft: Draft) -> None:
    """Licence only a fraction of the desired exports of the listed elements (and/or magnets)."""
    window = ctx.timeline.window(event.start, event.end)
    if "oxide" in event.products:
        draft["export_licensed"][window, element_mask(event.elements)] *= event.licensed_fraction
    if "magnet" in event.products and magnets.magnet_contains(ctx, event.elements):
        draft["magnet_export_licensed"][window] *= event.licensed_fraction


def stockpile(event: StockpileEvent, ctx: Context, draft: Draft) -> None:
    """A reserve buys or releases tonnages spread evenly over the event's months.

    A purchase order stays open for the event's months: what a month fails to buy is carried
    over (see :func:`reesim.model.mechanisms.market.reserve_orders`) until the window closes.
    Only the order's months within the run act (until 2026-12-08 an order that began before
    the run was moved to its first month, whole).
    """
    first, after = (ctx.timeline.offset(event.start) + m for m in (0, event.months))
    start, stop = (min(max(m, 0), ctx.timeline.steps) for m in (first, after))
    window = slice(start, stop)
    sign = 1.0 if event.action == "buy" else -1.0
    h = RESERVE_HOLDERS.index(event.holder)
    left = (stop - np.arange(start, stop)).astype(float)                 # months left, >= 1
    for element, amount in event.amounts_t_reo.items():
        e = ELEMENTS.index(element)
        draft["stockpile_t_per_yr"][window, h, e] += (
            sign * amount * float(MONTHS_PER_YEAR) / event.months)
        if event.action == "buy":
            months_left = draft["stockpile_months_left"]
            months_left[window, h, e] = np.maximum(months_left[window, h, e], left)


def price_floor(event: PriceFloorEvent, ctx: Context, draft: Draft) -> None:
    """Guarantee listed producers a price floor (USD/kg) on listed elements for the window."""
    window = ctx.timeline.window(event.start, event.end)
    producers = np.isin(np.array(ctx.coords.producers), event.producers)
    mask = producers[:, None] & element_mask(event.elements)[None, :]
    floor = draft["price_floor_usd_per_kg"]
    floor[window] = np.where(mask[None], np.maximum(floor[window], event.floor_usd_per_kg),
                             floor[window])


def demand_shock(event: DemandShockEvent, ctx: Context, draft: Draft) -> None:
    """Multiply the base demand of the listed applications."""
    shock_demand(event, ctx.timeline, draft["demand_t_per_yr"])


def shock_demand(event: DemandShockEvent, timeline: Timeline, demand: np.ndarray) -> None:
    """Multiply, in place, the listed applications' columns of ``demand`` (T, A) in the window."""
    window = timeline.window(event.start, event.end)
    mask = application_mask(event.applications)
    demand[window, :] = np.where(mask[None, :], demand[window, :] * event.factor,
                                 demand[window, :])


def shocked_base_demand(ctx: Context, timeline: Timeline) -> np.ndarray:
    """Base world demand (T, A) t REO/yr over any ``timeline``, after the demand shocks."""
    from reesim.model.mechanisms.demand import base_demand_path

    demand, _ = base_demand_path(ctx, timeline)
    for event in ctx.scenario.events.values():
        if event.type == "demand_shock":
            shock_demand(event, timeline, demand)
    return demand


def intensity(event: IntensityEvent, ctx: Context, draft: Draft) -> None:
    """Scale the listed elements' intensity in the listed applications (an R&D gain in use)."""
    scale_intensity(event, ctx.timeline, draft["intensity_multiplier"])


def scale_intensity(event: IntensityEvent, timeline: Timeline, multiplier: np.ndarray) -> None:
    """Multiply, in place, ``multiplier`` (T, A, E) by the event's ramped factor in its window.

    The factor is reached ``ramp_yr`` years after ``start`` (linearly) and holds until ``end``.
    """
    window = timeline.window(event.start, event.end)
    weight = ramp(timeline, event.start, event.ramp_yr)[window]               # (W,)
    mask = application_mask(event.applications)[:, None] & element_mask(event.elements)[None, :]
    factor = 1.0 + (event.factor - 1.0) * weight                              # (W,)
    multiplier[window] = np.where(mask[None], multiplier[window] * factor[:, None, None],
                                  multiplier[window])


def intensity_path(ctx: Context, timeline: Timeline) -> np.ndarray:
    """Element intensity multipliers (T, A, E) over any ``timeline``, after the intensity events.

    Investors read the element demand outlook past the run's end with it.
    """
    multiplier = np.ones((timeline.steps, len(APPLICATIONS), len(ELEMENTS)))
    for event in ctx.scenario.events.values():
        if event.type == "intensity":
            scale_intensity(event, timeline, multiplier)
    return multiplier


def recycling(event: RecyclingEvent, ctx: Context, draft: Draft) -> None:
    """Ramp end-of-life recycling of the listed applications to a new rate."""
    weight = ramp(ctx.timeline, event.start, event.ramp_yr)
    window = ctx.timeline.window(event.start, event.end)
    mask = application_mask(event.applications)
    eol = draft["eol_recycling"]
    target = eol[window] + (event.eol_recycling_fraction - eol[window]) * weight[window, None]
    eol[window] = np.where(mask[None, :], target, eol[window])


EVENTS: dict[str, Callable] = {
    "regime": regime,
    "capacity": capacity,
    "disruption": disruption,
    "route": route,
    "concentrate_stockpile": concentrate_stockpile,
    "recovery": recovery,
    "quota": quota,
    "separation_capacity": separation_capacity,
    "export_tax": export_tax,
    "export_control": export_control,
    "stockpile": stockpile,
    "price_floor": price_floor,
    "demand_shock": demand_shock,
    "intensity": intensity,
    "recycling": recycling,
}
"""Event type -> function(event, ctx, draft), in the order they are applied."""
if set(EVENTS) != set(EVENT_TYPES):
    raise ImportError("event registry and schema disagree: registry only "
                      f"{sorted(set(EVENTS) - set(EVENT_TYPES))}, schema only "
                      f"{sorted(set(EVENT_TYPES) - set(EVENTS))}")


def apply_events(ctx: Context, draft: Draft) -> None:
    """Apply the scenario's events to the drafted schedules, type by type in registry order."""
    events = list(ctx.scenario.events.values())
    for kind, function in EVENTS.items():
        for event in events:
            if event.type == kind:
                function(event, ctx, draft)
