"""Compile a scenario and the packaged data into arrays: coordinates, constants, schedules.

This is the "definition, then data, then computation" boundary: everything the time step needs
is computed here once, as numpy arrays with documented units, so the step itself only does
arithmetic. Schedules are per month, shape (T, ...), shared by all members; behavioural
parameters are per member, shape (M,).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reesim.datasets import ReferenceData
from reesim.dims import APPLICATIONS, DT_YR, ELEMENTS, HOLDERS, MARKETS
from reesim.model.sampling import sample_parameters
from reesim.model.timeline import Timeline, interpolate_by_year, step_by_year
from reesim.scenario.schema import (
    CapacityEvent,
    DemandShockEvent,
    DisruptionEvent,
    ExportControlEvent,
    ExportTaxEvent,
    QuotaEvent,
    RecoveryEvent,
    RecyclingEvent,
    RegimeEvent,
    RouteEvent,
    Scenario,
    SeparationCapacityEvent,
    StockpileEvent,
)

RESERVE_HOLDERS = ("state_reserve", "trading_company")
CHOKE_MULTIPLE = 100.0
"""Choke price as a multiple of the reference price: where buyers stop (historical peaks reached
about 45x the 2007 anchors, for La and Ce outside China in 2011)."""
ESSENTIAL_SHARE = 0.25
"""An element is essential to an application (its shortage stops production) when it makes up at
least this share of the application's REO: Nd in magnets, La and Ce in catalysts, glass,
polishing, metallurgy and batteries, Y in phosphors and ceramics. Minor elements are consumed as
far as available; their shortfall is unmet demand of that element only."""


@dataclass(frozen=True)
class Coords:
    """Labels of every dimension and metadata of producers and regions."""

    elements: tuple[str, ...]
    producers: tuple[str, ...]
    regions: tuple[str, ...]
    applications: tuple[str, ...]
    exporters: tuple[str, ...]
    producer_meta: dict[str, tuple[str, ...]]
    region_meta: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Constants:
    """Time-invariant arrays (units in names)."""

    distribution: np.ndarray            # (P, E) share of each element in the producer's REO
    producer_region: np.ndarray         # (P,) index of the mining region
    region_market: np.ndarray           # (R,) 0 china, 1 export
    china_producer: np.ndarray          # (P,) bool: mined in China
    legal: np.ndarray                   # (P,) bool
    illegal: np.ndarray                 # (P,) bool
    planned: np.ndarray                 # (P,) bool
    byproduct: np.ndarray               # (P,) bool: Bayan Obo-like (ore driven by iron)
    quota_segment: np.ndarray           # (P,) -1 none, 0 light, 1 ionic
    mining_recovery: np.ndarray         # (P,) fraction
    cash_cost_usd_per_kg: np.ndarray    # (P,)
    incentive_usd_per_kg: np.ndarray    # (P,)
    lead_time_months: np.ndarray        # (P,)
    start_month: np.ndarray             # (P,) step index of earliest start (planned projects)
    nameplate_t_per_yr: np.ndarray      # (P,)
    reserves_t: np.ndarray              # (P,) initial reserve, inf if unknown
    thorium_kg_per_t: np.ndarray        # (P,)
    tailings_t_per_t: np.ndarray        # (P,)
    mine_wastewater_m3_per_t: np.ndarray  # (P,)
    separation_recovery: np.ndarray     # (R,)
    separation_cost_usd_per_kg: np.ndarray  # (R,)
    china_region: np.ndarray            # (R,) bool
    residue_thorium_kg_per_t: np.ndarray  # (R,)
    separation_wastewater_m3_per_t: np.ndarray  # (R,)
    intensity: np.ndarray               # (A, E) element shares of a tonne of REO in use
    essential_elements: tuple[np.ndarray, np.ndarray]  # (A,), (A,): the (up to two) elements
    #                                     whose shortage stops production of each application
    thrift_pairs: tuple[np.ndarray, np.ndarray]  # application and element indices that thrift
    thrift_relative_to: np.ndarray      # (n_pairs,) element whose price the pair is compared to,
    #                                     -1: its own reference price only
    elasticity_short: np.ndarray        # (A,)
    elasticity_long: np.ndarray         # (A,)
    adjustment_time_yr: np.ndarray      # (A,)
    lifetime_yr: np.ndarray             # (A,)
    lifetime_shape: np.ndarray          # (A,) int Erlang k
    manufacturing_yield: np.ndarray     # (A,)
    new_scrap_recycling: np.ndarray     # (A,)
    thrift_elasticity: np.ndarray       # (A, E)
    thrift_floor: np.ndarray            # (A, E) lowest intensity multiplier
    thrift_lag_yr: np.ndarray           # (A, E)
    reference_price_usd_per_kg: np.ndarray  # (E,)
    floor_price_usd_per_kg: np.ndarray  # (E,)
    log_floor_price: np.ndarray         # (E,) log of the floor price
    log_choke_price: np.ndarray         # (E,) log of the choke price
    reference_netback_usd_per_kg: np.ndarray  # (P,) netback at reference prices, default route
    tc_region: int                      # region index of the trading company's members
    tc_member_mix: np.ndarray           # (E,) members' output mix (capacity-weighted)


@dataclass(frozen=True)
class Schedule:
    """Exogenous inputs per month, shape (T, ...)."""

    capacity_t_per_yr: np.ndarray       # (T, P) available capacity of non-planned producers
    forced_online: np.ndarray           # (T, P) bool: planned producer put online by an event
    disruption: np.ndarray              # (T, P) capacity factor from disruption events
    route: np.ndarray                   # (T, P) separation region index
    toll: np.ndarray                    # (T, P) bool: routed under a toll-treatment contract
    byproduct_ore_t_per_yr: np.ndarray  # (T,) REO in ore mined at Bayan Obo
    byproduct_recovery: np.ndarray      # (T,) share of that REO recovered to concentrate
    recovery_override: np.ndarray       # (T, P) mining recovery (NaN = data value)
    mining_quota_t_per_yr: np.ndarray   # (T, P) producer's quota allocation (inf = none)
    separation_capacity_t_per_yr: np.ndarray  # (T, R)
    separation_quota_t_per_yr: np.ndarray     # (T, R) China's quota split by region
    export_quota_t_per_yr: np.ndarray   # (T,) inf when none
    export_tax: np.ndarray              # (T, E) fraction
    export_licensed: np.ndarray         # (T, E) fraction of desired exports licensed
    tc_active: np.ndarray               # (T,) bool
    stockpile_t_per_yr: np.ndarray      # (T, 2, E) orders of state reserve / trading company
    demand_t_per_yr: np.ndarray         # (T, A) world base demand before price response
    market_split: np.ndarray            # (T, K, A) share of demand bought in each market
    eol_recycling: np.ndarray           # (T, A)
    national_mining_quota_t_per_yr: np.ndarray  # (T,) for reporting (inf = none)


@dataclass(frozen=True)
class Routes:
    """The distinct routings of concentrate over the run and what each implies per producer.

    Routes change rarely (a few events), so the step looks these up instead of rebuilding them.
    """

    pattern: np.ndarray                 # (T,) index of the month's routing
    onehot: np.ndarray                  # (n, P, R) 1 where producer p's concentrate goes
    market: np.ndarray                  # (n, P) market of the separating region
    recovery: np.ndarray                # (n, P) separation recovery there
    cost_usd_per_kg: np.ndarray         # (n, P) separation cost there
    in_china: np.ndarray                # (n, P) bool: separated in China
    by_region: np.ndarray               # (P, R) one-hot of the mining region (environment)


def _routes(route: np.ndarray, consts: Constants) -> Routes:
    patterns, index = np.unique(route, axis=0, return_inverse=True)
    n_r = len(consts.separation_recovery)
    return Routes(
        pattern=index.reshape(-1), onehot=np.eye(n_r)[patterns],
        market=consts.region_market[patterns], recovery=consts.separation_recovery[patterns],
        cost_usd_per_kg=consts.separation_cost_usd_per_kg[patterns],
        in_china=consts.china_region[patterns],
        by_region=np.eye(n_r)[consts.producer_region])


@dataclass(frozen=True)
class Model:
    """Everything a run needs: scenario, axis, labels, constants, schedules, member parameters."""

    scenario: Scenario
    timeline: Timeline
    coords: Coords
    constants: Constants
    schedule: Schedule
    routes: Routes
    params: dict[str, np.ndarray]
    members: int
    rates: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    """Monthly first-order adjustment fractions, 1 - exp(-dt / time), precomputed per member."""
    samples: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((1, 0)))
    sample_names: tuple[str, ...] = ()
    data_version: str = ""
    data_digest: str = ""


def _deposit_shares(deposits: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each deposit's element shares (E,), normalised to sum 1."""
    table = deposits.pivot_table(index="deposit", columns="element", values="share_pct",
                                 aggfunc="first").reindex(columns=list(ELEMENTS)).fillna(0.0)
    return {str(k): row / row.sum() for k, row in zip(table.index, table.to_numpy(float),
                                                        strict=True)}


def _distribution(spec: str, shares: dict[str, np.ndarray]) -> np.ndarray:
    """Normalised element shares of a deposit id or a blend ``a:0.5;b:0.5``."""
    total = np.zeros(len(ELEMENTS))
    for part in str(spec).split(";"):
        key, _, weight = part.partition(":")
        total += (float(weight) if weight else 1.0) * shares[key.strip()]
    return total / total.sum()


def _essential_pairs(essential: np.ndarray, intensity: np.ndarray) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Indices of each application's (at most two) essential elements; with one, it repeats.

    An application without an essential element uses its largest element.
    """
    first, second = [], []
    for a in range(len(essential)):
        found = list(np.flatnonzero(essential[a])) or [int(np.argmax(intensity[a]))]
        if len(found) > 2:
            raise ValueError(f"application {a} has more than two essential elements")
        first.append(found[0])
        second.append(found[-1])
    return np.array(first), np.array(second)


def _gap_as_zero(column: pd.Series) -> np.ndarray:
    """Environmental intensities left empty in the data (not quantified) count as zero loads."""
    return np.nan_to_num(column.to_numpy(dtype=float), nan=0.0)


def _coords(data: ReferenceData) -> Coords:
    producers = data["producers"]
    regions = data["regions"]
    meta = {
        "region": tuple(producers.region), "owner_group": tuple(producers.owner_group),
        "deposit_type": tuple(producers.deposit_type), "status": tuple(producers.status),
        "producer_market": tuple(
            regions.set_index("region").market[producers.separation_region]),
    }
    china_regions = tuple(regions.region[regions.market == "china"])
    return Coords(
        elements=ELEMENTS, producers=tuple(producers.producer), regions=tuple(regions.region),
        applications=APPLICATIONS, exporters=china_regions, producer_meta=meta,
        region_meta={"market": tuple(regions.market)},
    )


def _constants(data: ReferenceData, scenario: Scenario, coords: Coords,
               timeline: Timeline) -> Constants:
    producers = data["producers"].set_index("producer").loc[list(coords.producers)]
    regions = data["regions"].set_index("region").loc[list(coords.regions)]
    apps = data["applications"].set_index("application").loc[list(APPLICATIONS)]
    region_index = {r: i for i, r in enumerate(coords.regions)}
    region_market = np.array([MARKETS.index(m) for m in regions.market])
    producer_region = np.array([region_index[r] for r in producers.region])

    intensity = (data["application_intensity"]
                 .pivot_table(index="application", columns="element", values="share_fraction")
                 .reindex(index=list(APPLICATIONS), columns=list(ELEMENTS)).fillna(0.0)
                 .to_numpy())
    subst = data["substitution"]
    shape_ae = (len(APPLICATIONS), len(ELEMENTS))
    thrift, floor, lag = np.zeros(shape_ae), np.ones(shape_ae), np.full(shape_ae, np.inf)
    relative = np.full(shape_ae, -1)
    for row in subst.itertuples():
        a, e = APPLICATIONS.index(row.application), ELEMENTS.index(row.element)
        thrift[a, e] = row.thrift_elasticity
        floor[a, e] = 1.0 - row.max_reduction_fraction
        lag[a, e] = row.lag_yr
        if isinstance(row.relative_to, str):
            relative[a, e] = ELEMENTS.index(row.relative_to)
    anchors = data["price_anchors"].set_index("element").loc[list(ELEMENTS)]
    reference = anchors.reference_price_usd_per_kg.to_numpy(float)

    default_route = np.array([region_index[r] for r in producers.separation_region])
    shares = _deposit_shares(data["deposits"])
    distribution = np.stack([_distribution(s, shares) for s in producers.distribution])
    reference_netback = (distribution @ reference
                         * regions.separation_recovery_fraction.to_numpy(float)[default_route]
                         - regions.separation_cost_usd_per_kg.to_numpy(float)[default_route])
    tc_region = region_index[scenario.market.trading_company.region]
    members_of_tc = producers.separation_region.to_numpy() == scenario.market.trading_company.region
    mix = np.zeros(len(ELEMENTS))
    for p in np.flatnonzero(members_of_tc):
        mix += producers.capacity_t_reo_per_yr.iloc[p] * distribution[p]
    mix = mix / mix.sum() if mix.sum() > 0 else np.full(len(ELEMENTS), 1 / len(ELEMENTS))

    reserve = producers.reserve_t_reo.to_numpy(dtype=float)
    start_month = np.array([max(0, 12 * (int(y) - timeline.start_year)) for y in
                            producers.start_year])
    return Constants(
        distribution=distribution,
        producer_region=producer_region,
        region_market=region_market,
        china_producer=region_market[producer_region] == 0,
        legal=producers.legal.to_numpy(bool),
        illegal=~producers.legal.to_numpy(bool),
        planned=(producers.status == "planned").to_numpy(),
        byproduct=producers.byproduct_of_iron.to_numpy(bool),
        quota_segment=np.array([{"light": 0, "ionic": 1}.get(s, -1)
                                for s in producers.quota_segment]),
        mining_recovery=producers.mining_recovery_fraction.to_numpy(float),
        cash_cost_usd_per_kg=producers.cash_cost_usd_per_kg.to_numpy(float),
        incentive_usd_per_kg=producers.incentive_price_usd_per_kg.to_numpy(float),
        lead_time_months=np.round(12 * producers.lead_time_yr.to_numpy(float)).astype(int),
        start_month=start_month,
        nameplate_t_per_yr=producers.capacity_t_reo_per_yr.to_numpy(float),
        reserves_t=np.where(np.isnan(reserve), np.inf, reserve),
        thorium_kg_per_t=_gap_as_zero(producers.thorium_kg_per_t_reo),
        tailings_t_per_t=_gap_as_zero(producers.tailings_t_per_t_reo),
        mine_wastewater_m3_per_t=_gap_as_zero(producers.wastewater_m3_per_t_reo),
        separation_recovery=regions.separation_recovery_fraction.to_numpy(float),
        separation_cost_usd_per_kg=regions.separation_cost_usd_per_kg.to_numpy(float),
        china_region=region_market == 0,
        residue_thorium_kg_per_t=_gap_as_zero(regions.thorium_residue_kg_per_t_reo),
        separation_wastewater_m3_per_t=_gap_as_zero(regions.wastewater_m3_per_t_reo),
        intensity=intensity,
        essential_elements=_essential_pairs(intensity >= ESSENTIAL_SHARE, intensity),
        thrift_pairs=tuple(np.nonzero(thrift > 0)),
        thrift_relative_to=relative[np.nonzero(thrift > 0)],
        elasticity_short=apps.elasticity_short.to_numpy(float),
        elasticity_long=apps.elasticity_long.to_numpy(float),
        adjustment_time_yr=apps.adjustment_time_yr.to_numpy(float),
        lifetime_yr=apps.lifetime_yr.to_numpy(float),
        lifetime_shape=apps.lifetime_shape.to_numpy(int),
        manufacturing_yield=apps.manufacturing_yield_fraction.to_numpy(float),
        new_scrap_recycling=apps.new_scrap_recycling_fraction.to_numpy(float),
        thrift_elasticity=thrift, thrift_floor=floor, thrift_lag_yr=lag,
        reference_price_usd_per_kg=reference,
        floor_price_usd_per_kg=anchors.floor_price_usd_per_kg.to_numpy(float),
        log_floor_price=np.log(anchors.floor_price_usd_per_kg.to_numpy(float)),
        log_choke_price=np.log(CHOKE_MULTIPLE * reference),
        reference_netback_usd_per_kg=reference_netback,
        tc_region=tc_region, tc_member_mix=mix,
    )


def _years_in(timeline: Timeline) -> np.ndarray:
    return np.arange(timeline.start_year, timeline.end_year + 1)


def _monthly(yearly: np.ndarray, timeline: Timeline) -> np.ndarray:
    """Repeat a per-year array (Y, ...) to per-month (T, ...)."""
    return np.repeat(yearly, 12, axis=0)


def _events(scenario: Scenario, kind: type) -> list:
    return [e for e in scenario.events.values() if isinstance(e, kind)]


def _element_mask(elements: list[str] | str) -> np.ndarray:
    if elements == "all":
        return np.ones(len(ELEMENTS), bool)
    return np.isin(np.array(ELEMENTS), elements)


def _app_mask(apps: list[str] | str) -> np.ndarray:
    if apps == "all":
        return np.ones(len(APPLICATIONS), bool)
    return np.isin(np.array(APPLICATIONS), apps)


def _quota_series(quotas: pd.DataFrame, kind: str, segment: str, holder: str,
                  years: np.ndarray) -> np.ndarray:
    """Annual quota of (kind, segment, holder) per year; NaN where the table has no value."""
    rows = quotas[(quotas.kind == kind) & (quotas.segment == segment) & (quotas.holder == holder)]
    series = pd.Series(rows.value_t_reo_per_yr.to_numpy(float), index=rows.year.to_numpy())
    series = series.groupby(level=0).last()
    return series.reindex(years).to_numpy(dtype=float)


def _fill_split(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Fill missing ``part`` values with ``total`` x the part's share in the nearest year known."""
    share = part / total
    known = np.flatnonzero(np.isfinite(share))
    if known.size == 0:
        return part
    idx = np.arange(len(total))
    nearest = known[np.abs(idx[:, None] - known[None, :]).argmin(axis=1)]
    return np.where(np.isfinite(part), part, total * share[nearest])


def _extend(series: np.ndarray, years: np.ndarray, growth_pct: float) -> np.ndarray:
    """After the last known year, grow the last value at ``growth_pct``; before the first: inf."""
    known = np.flatnonzero(np.isfinite(series))
    out = series.copy()
    if known.size == 0:
        return np.full_like(series, np.inf)
    first, last = known[0], known[-1]
    out[:first] = np.inf
    out[last + 1:] = series[last] * (1 + growth_pct / 100.0) ** (years[last + 1:] - years[last])
    missing = ~np.isfinite(out[first:last + 1])
    if missing.any():  # interior gaps: hold the previous value
        block = pd.Series(out[first:last + 1]).replace([np.inf], np.nan).ffill().to_numpy()
        out[first:last + 1] = block
    return out


def _mining_quotas(data: ReferenceData, scenario: Scenario, consts: Constants,
                   capacity_yearly: np.ndarray, years: np.ndarray,
                   timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """Per-producer mining quota (T, P) and the national total (T,), t REO/yr.

    Bayan Obo gets its own allocation where the table has one (else its share of the light quota
    in the nearest year known); the other legal Chinese producers of a segment share the rest of
    that segment in proportion to their capacity. Quota events override national segments.
    """
    n_p = len(consts.quota_segment)
    steps = timeline.steps
    if scenario.policy.mining_quotas == "none":
        national = np.full(steps, np.inf)
        per_producer = np.full((steps, n_p), np.inf)
    else:
        q = data["quotas"]
        g = scenario.policy.quota_growth_after_data_pct_per_yr
        total = _quota_series(q, "mining", "total", "national", years)
        light = _fill_split(total, _quota_series(q, "mining", "light", "national", years))
        ionic = _fill_split(total, _quota_series(q, "mining", "ionic", "national", years))
        light, ionic, total = (_extend(s, years, g) for s in (light, ionic, total))
        segments = np.stack([light, ionic], axis=1)                      # (Y, 2)
        national = _monthly(total, timeline).astype(float)
        seg_monthly = _monthly(segments, timeline)
        for event in _events(scenario, QuotaEvent):
            if event.kind != "mining":
                continue
            window = timeline.window(event.start, event.end)
            if event.segment == "total":
                base = seg_monthly[window].sum(axis=1, keepdims=True)
                seg_monthly[window] *= np.where(base > 0, event.value_t_reo_per_yr / base, 0.0)
            else:
                seg_monthly[window, ["light", "ionic"].index(event.segment)] = (
                    event.value_t_reo_per_yr)
            national[window] = seg_monthly[window].sum(axis=1)
        per_producer = np.full((steps, n_p), np.inf)
        capacity_monthly = _monthly(capacity_yearly, timeline)
        byproduct_ids = np.flatnonzero(consts.byproduct & consts.legal)
        for seg in (0, 1):
            members = np.flatnonzero((consts.quota_segment == seg) & consts.legal)
            remaining = seg_monthly[:, seg].copy()
            if seg == 0:
                for p in byproduct_ids:
                    share = _bayan_obo_share(q, years, light)
                    alloc = np.nan_to_num(_monthly(share, timeline) * seg_monthly[:, 0],
                                          posinf=0.0)
                    per_producer[:, p] = alloc
                    remaining = remaining - alloc
                members = np.setdiff1d(members, byproduct_ids)
            weights = capacity_monthly[:, members] + consts.nameplate_t_per_yr[members] * 1e-6
            weights = weights / weights.sum(axis=1, keepdims=True)
            per_producer[:, members] = np.maximum(remaining, 0.0)[:, None] * weights
        # before quotas existed (or where a segment has none) nothing is capped
        unlimited = ~np.isfinite(seg_monthly)
        for seg in (0, 1):
            members = (consts.quota_segment == seg) & consts.legal
            per_producer[np.ix_(unlimited[:, seg], members)] = np.inf
    return per_producer, national


def _bayan_obo_share(quotas: pd.DataFrame, years: np.ndarray, light: np.ndarray) -> np.ndarray:
    """Bayan Obo's share of the light quota per year (nearest known year where not published)."""
    holders = set(quotas.holder) - {"national"}
    alloc = np.full(len(years), np.nan)
    for holder in holders:
        rows = _quota_series(quotas, "mining", "light", holder, years)
        alloc = np.where(np.isfinite(rows), rows, alloc)
    share = alloc / np.where(np.isfinite(light), light, np.nan)
    known = np.flatnonzero(np.isfinite(share))
    if known.size == 0:
        return np.full(len(years), 0.5)
    idx = np.arange(len(years))
    nearest = known[np.abs(idx[:, None] - known[None, :]).argmin(axis=1)]
    return np.clip(share[nearest], 0.0, 1.0)


def _schedule(data: ReferenceData, scenario: Scenario, coords: Coords, consts: Constants,
              timeline: Timeline) -> Schedule:
    years = _years_in(timeline)
    steps = timeline.steps
    n_p, n_r, n_e = len(coords.producers), len(coords.regions), len(ELEMENTS)
    producer_index = {p: i for i, p in enumerate(coords.producers)}
    region_index = {r: i for i, r in enumerate(coords.regions)}

    # market regime
    tc_active = np.zeros(steps, bool)
    if scenario.market.regime == "trading_company":
        tc_active[timeline.index(scenario.market.regime_from):] = True
    for event in _events(scenario, RegimeEvent):
        tc_active[timeline.window(event.start, event.end)] = event.regime == "trading_company"

    def regime_mask(event: DisruptionEvent | SeparationCapacityEvent) -> np.ndarray:
        """Months of the event's window in which its regime condition holds, (T,) bool."""
        mask = np.zeros(steps, bool)
        mask[timeline.window(event.start, event.end)] = True
        if event.under_regime is not None:
            mask &= tc_active == (event.under_regime == "trading_company")
        return mask

    # mine capacity (history, then held) and events
    capacity_yearly = np.zeros((len(years), n_p))
    for name, rows in data["capacity_history"].groupby("producer"):
        capacity_yearly[:, producer_index[name]] = step_by_year(
            years, rows.year.to_numpy(), rows.capacity_t_reo_per_yr.to_numpy(), 0.0)
    capacity = _monthly(capacity_yearly, timeline)
    forced = np.zeros((steps, n_p), bool)
    for event in _events(scenario, CapacityEvent):
        p, window = producer_index[event.producer], timeline.window(event.start, event.end)
        capacity[window, p] = event.capacity_t_reo_per_yr
        forced[window, p] = consts.planned[p]
    disruption = np.ones((steps, n_p))
    for event in _events(scenario, DisruptionEvent):
        mask = np.isin(np.array(coords.producers), event.producers) | np.isin(
            np.array(coords.producer_meta["region"]), event.regions)
        disruption[np.ix_(regime_mask(event), mask)] *= event.capacity_factor

    producers = data["producers"].set_index("producer").loc[list(coords.producers)]
    route = np.tile(np.array([region_index[r] for r in producers.separation_region]), (steps, 1))
    toll = np.zeros((steps, n_p), bool)
    for event in _events(scenario, RouteEvent):
        window = timeline.window(event.start, event.end)
        route[window, producer_index[event.producer]] = region_index[event.separation_region]
        toll[window, producer_index[event.producer]] = event.toll_treatment

    # Bayan Obo: REO in iron ore mined and its recovery (R&D events ramp it)
    bo = data["bayan_obo"]
    ore_mt = step_by_year(years, bo.year.to_numpy(), bo.iron_ore_mt_per_yr.to_numpy(),
                          float(bo.sort_values("year").iron_ore_mt_per_yr.iloc[0]))
    grade = step_by_year(years, bo.year.to_numpy(), bo.reo_grade_pct.to_numpy(),
                         float(bo.sort_values("year").reo_grade_pct.iloc[0]))
    recovery_pct = step_by_year(years, bo.year.to_numpy(), bo.re_recovery_pct.to_numpy(),
                                float(bo.sort_values("year").re_recovery_pct.iloc[0]))
    byproduct_ore = _monthly(ore_mt * 1e6 * grade / 100.0, timeline)
    byproduct_recovery = _monthly(recovery_pct / 100.0, timeline)
    recovery_override = np.full((steps, n_p), np.nan)
    for event in _events(scenario, RecoveryEvent):
        p = producer_index[event.producer]
        window = timeline.window(event.start, event.end)
        base = byproduct_recovery if consts.byproduct[p] else np.full(
            steps, consts.mining_recovery[p])
        ramp = _ramp(timeline, event.start, event.ramp_yr)[window]
        new = base[window] + (event.recovery_fraction - base[window]) * ramp
        if consts.byproduct[p]:
            byproduct_recovery = byproduct_recovery.copy()
            byproduct_recovery[window] = new
        else:
            recovery_override[window, p] = new

    quota_p, national = _mining_quotas(data, scenario, consts, capacity_yearly, years, timeline)

    # separation capacity and China's separation quota (split over Chinese regions by capacity)
    sep_yearly = np.zeros((len(years), n_r))
    for name, rows in data["separation_capacity"].groupby("region"):
        sep_yearly[:, region_index[name]] = step_by_year(
            years, rows.year.to_numpy(), rows.capacity_t_reo_per_yr.to_numpy(), 0.0)
    sep_capacity = _monthly(sep_yearly, timeline)
    for event in _events(scenario, SeparationCapacityEvent):
        sep_capacity[regime_mask(event), region_index[event.region]] = event.capacity_t_reo_per_yr
    sep_quota_national = np.full(steps, np.inf)
    if scenario.policy.separation_quotas == "packaged":
        series = _quota_series(data["quotas"], "separation", "total", "national", years)
        sep_quota_national = _monthly(
            _extend(series, years, scenario.policy.quota_growth_after_data_pct_per_yr), timeline)
    for event in _events(scenario, QuotaEvent):
        if event.kind == "separation":
            sep_quota_national[timeline.window(event.start, event.end)] = event.value_t_reo_per_yr
    china = consts.china_region
    weights = np.where(china[None, :], sep_capacity, 0.0)
    weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    with np.errstate(invalid="ignore"):
        sep_quota = np.where(china[None, :] & np.isfinite(sep_quota_national)[:, None],
                             sep_quota_national[:, None] * weights, np.inf)

    # exports: quota, taxes, licences
    export_quota = np.full(steps, np.inf)
    if scenario.policy.export_quotas == "packaged":
        series = _quota_series(data["quotas"], "export", "total", "national", years)
        known = np.flatnonzero(np.isfinite(series))
        if known.size:
            filled = _extend(series, years, 0.0)
            filled[known[-1] + 1:] = np.inf     # export quotas ended after the last listed year
            export_quota = _monthly(filled, timeline)
    for event in _events(scenario, QuotaEvent):
        if event.kind == "export":
            export_quota[timeline.window(event.start, event.end)] = event.value_t_reo_per_yr
    export_tax = np.zeros((steps, n_e))
    if scenario.policy.export_taxes == "packaged":
        for name, rows in data["export_taxes"].groupby("element"):
            export_tax[:, ELEMENTS.index(name)] = _monthly(step_by_year(
                years, rows.year.to_numpy(), rows.rate_pct.to_numpy() / 100.0, 0.0), timeline)
    for event in _events(scenario, ExportTaxEvent):
        export_tax[timeline.window(event.start, event.end), _element_mask(event.elements)] = (
            event.rate_pct / 100.0)
    licensed = np.ones((steps, n_e))
    for event in _events(scenario, ExportControlEvent):
        licensed[timeline.window(event.start, event.end), _element_mask(event.elements)] *= (
            event.licensed_fraction)

    stockpile = np.zeros((steps, len(RESERVE_HOLDERS), n_e))
    for event in _events(scenario, StockpileEvent):
        start = timeline.index(event.start)
        window = slice(start, min(start + event.months, steps))
        sign = 1.0 if event.action == "buy" else -1.0
        h = RESERVE_HOLDERS.index(event.holder)
        for element, amount in event.amounts_t_reo.items():
            stockpile[window, h, ELEMENTS.index(element)] += sign * amount * 12.0 / event.months

    demand, china_share, eol = _demand_schedules(data, scenario, timeline)
    return Schedule(
        capacity_t_per_yr=capacity, forced_online=forced, disruption=disruption, route=route,
        toll=toll,
        byproduct_ore_t_per_yr=byproduct_ore, byproduct_recovery=byproduct_recovery,
        recovery_override=recovery_override, mining_quota_t_per_yr=quota_p,
        separation_capacity_t_per_yr=sep_capacity, separation_quota_t_per_yr=sep_quota,
        export_quota_t_per_yr=export_quota, export_tax=export_tax, export_licensed=licensed,
        tc_active=tc_active, stockpile_t_per_yr=stockpile, demand_t_per_yr=demand,
        market_split=np.stack([china_share, 1.0 - china_share], axis=1),
        eol_recycling=eol, national_mining_quota_t_per_yr=national,
    )


def _ramp(timeline: Timeline, start: str, ramp_yr: float) -> np.ndarray:
    """0 before ``start``, rising linearly to 1 over ``ramp_yr`` years, shape (T,)."""
    t0 = timeline.index(start)
    months = np.arange(timeline.steps) - t0 + 1
    if ramp_yr <= 0:
        return (months > 0).astype(float)
    return np.clip(months / (12.0 * ramp_yr), 0.0, 1.0)


def _demand_schedules(data: ReferenceData, scenario: Scenario,
                      timeline: Timeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base world demand (T, A) t REO/yr, China's manufacturing share (T, A), EOL recycling (T, A).

    Demand grows from the application's base-year value by the yearly growth rates of
    demand_growth.csv (compounded monthly), both forwards and backwards in time.
    """
    apps = data["applications"].set_index("application").loc[list(APPLICATIONS)]
    growth = data["demand_growth"]
    decimal = timeline.start_year + np.arange(timeline.steps) / 12.0
    demand = np.zeros((timeline.steps, len(APPLICATIONS)))
    share = np.zeros_like(demand)
    location = data["manufacturing_location"]
    for a, name in enumerate(APPLICATIONS):
        rows = growth[growth.application == name]
        lo = min(int(rows.from_year.min()), timeline.start_year)
        hi = max(int(rows.to_year.max()), timeline.end_year) + 1
        yearly_years = np.arange(lo, hi + 1)
        rate = np.zeros(len(yearly_years))
        for row in rows.itertuples():
            rate[(yearly_years >= row.from_year) & (yearly_years <= row.to_year)] = (
                np.log1p(row.growth_pct_per_yr / 100.0))
        # log-level at the start of each year relative to the base year
        log_level = np.concatenate([[0.0], np.cumsum(rate[:-1])])
        base = int(apps.base_year.iloc[a])
        log_level -= log_level[base - lo]
        # monthly: level at year start plus the year's rate times the fraction elapsed
        y = np.floor(decimal).astype(int)
        frac = decimal - y
        level = log_level[y - lo] + rate[y - lo] * frac
        demand[:, a] = float(apps.demand_t_reo_per_yr.iloc[a]) * np.exp(level)
        loc = location[location.application == name]
        share[:, a] = interpolate_by_year(timeline.decimal_year, loc.year.to_numpy(),
                                          loc.china_share_fraction.to_numpy())
    for event in _events(scenario, DemandShockEvent):
        window = timeline.window(event.start, event.end)
        mask = _app_mask(event.applications)
        demand[window, :] = np.where(mask[None, :], demand[window, :] * event.factor,
                                     demand[window, :])
    eol = np.tile(apps.eol_recycling_fraction.to_numpy(float), (timeline.steps, 1))
    for event in _events(scenario, RecyclingEvent):
        ramp = _ramp(timeline, event.start, event.ramp_yr)
        window = timeline.window(event.start, event.end)
        mask = _app_mask(event.applications)
        target = eol[window] + (event.eol_recycling_fraction - eol[window]) * ramp[window, None]
        eol[window] = np.where(mask[None, :], target, eol[window])
    return demand, share, eol


def compile_model(scenario: Scenario, data: ReferenceData, members: int, seed: int,
                  design: dict[str, np.ndarray] | None = None) -> Model:
    """Build the arrays of a run of ``members`` members of ``scenario`` on ``data``.

    ``design`` optionally gives per-member values of behavioural parameters (see
    :func:`reesim.model.sampling.sample_parameters`).
    """
    timeline = Timeline(scenario.start_year, scenario.end_year)
    coords = _coords(data)
    consts = _constants(data, scenario, coords, timeline)
    schedule = _schedule(data, scenario, coords, consts, timeline)
    params, samples, names = sample_parameters(scenario, members, seed, design)
    return Model(scenario=scenario, timeline=timeline, coords=coords, constants=consts,
                 schedule=schedule, routes=_routes(schedule.route, consts), params=params,
                 members=members,
                 rates=_rates(params, consts, scenario), samples=samples, sample_names=names,
                 data_version=data.version, data_digest=data.digest)


def monthly_rate(time_yr: np.ndarray | float) -> np.ndarray:
    """Share of a gap closed in one month by a first-order adjustment with time ``time_yr``."""
    with np.errstate(divide="ignore"):
        return 1.0 - np.exp(-DT_YR / np.asarray(time_yr, dtype=float))


def _rates(params: dict[str, np.ndarray], c: Constants,
           scenario: Scenario) -> dict[str, np.ndarray]:
    """Adjustment fractions per month of every smoothed quantity (shapes broadcast to state)."""
    lag = params["substitution_lag_multiplier"]
    company = scenario.market.trading_company
    return {
        "utilization": monthly_rate(params["utilization_adjustment_time_yr"])[:, None],
        "price": monthly_rate(params["price_adjustment_time_yr"])[:, None, None],
        "expectation": monthly_rate(params["price_expectation_time_yr"])[:, None, None],
        "investment": monthly_rate(params["investment_expectation_time_yr"])[:, None],
        "illegal": monthly_rate(params["illegal_capacity_adjustment_time_yr"])[:, None],
        "demand_long": monthly_rate(c.adjustment_time_yr[None, None, :] * lag[:, None, None]),
        "thrift": monthly_rate(c.thrift_lag_yr[None, :, :] * lag[:, None, None]),
        "leave_use": monthly_rate(c.lifetime_yr / c.lifetime_shape),
        "company_reference": monthly_rate(company.reference_time_yr),
    }


__all__ = ["HOLDERS", "RESERVE_HOLDERS", "Model", "compile_model"]
