"""The scenario schema: what a user can set, with types, ranges and units.

A scenario is the single source of truth of a run: time window, seed, market regime, policy
instruments, behavioural parameters, sampled uncertainties and dated events. Unknown keys are
errors (``extra="forbid"``) so a typo never silently falls back to a default.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from reesim.dims import APPLICATIONS, ELEMENTS, MONTHS_PER_YEAR
from reesim.ensemble.xlrm import Lever, Outcome

REGIME_NAMES: tuple[str, ...] = ("free_market", "trading_company")
"""Baotou's market regimes; each is implemented in ``reesim.model.mechanisms.regimes.REGIMES``."""
MAX_SUBSTEPS = 16
"""Most market sub-steps a month a scenario may ask for (``market.substeps``); the time step's
refinement compares the run with this many (``calibration/step_check.py``)."""
RegimeName = Literal[REGIME_NAMES]  # type: ignore[valid-type]
ElementName = Literal[ELEMENTS]  # type: ignore[valid-type]
ApplicationName = Literal[APPLICATIONS]  # type: ignore[valid-type]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveYears = Annotated[float, Field(gt=0.0, le=50.0)]

_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_DAY = re.compile(r"^(\d{4}-\d{2})-(\d{2})$")


FIRST_YEAR, LAST_YEAR = 1990, 2100
"""Dates may lie outside a run (before it an event is in force from the run's start, after it
the event never acts, so a history window can be cut from a longer scenario) but not outside the
years the model covers at all."""


def month_text(value: object) -> str:
    """A date as the scenario stores it: ``"2010"``, ``"2010-07"``.

    An unquoted YAML date (``2027-01-01``, read as a date) or ``"2027-01-01"`` becomes
    ``"2027-01"``. Dates are monthly: a day other than the 1st is refused rather than rounded.
    """
    if isinstance(value, datetime.datetime):
        raise ValueError(f"date {value} has a time of day; give YYYY or YYYY-MM")
    if isinstance(value, datetime.date):
        if value.day != 1:
            raise ValueError(f"date {value} is not the first of a month; dates are monthly: "
                             "give YYYY or YYYY-MM")
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"date {value!r} must be YYYY or YYYY-MM")
    text = str(value).strip()
    full = _DAY.match(text)
    if full:
        if full.group(2) != "01":
            raise ValueError(f"date {value!r} is not the first of a month; dates are monthly: "
                             "give YYYY or YYYY-MM")
        return full.group(1)
    return text if isinstance(value, str) else str(value)


def parse_month(value: object) -> tuple[int, int]:
    """``2010``, ``"2010"`` or ``"2010-07"`` -> (year, month); month defaults to January."""
    match = _DATE.match(month_text(value))
    if not match:
        raise ValueError(f"date {value!r} must be YYYY or YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2) or 1)
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} of {value!r} must be 01-12")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"date {value!r} is outside {FIRST_YEAR}-01 .. {LAST_YEAR}-12")
    return year, month


def month_number(value: object) -> int:
    """A ``YYYY`` or ``YYYY-MM`` date as a count of months (January of year y is ``12 y``)."""
    year, month = parse_month(value)
    return MONTHS_PER_YEAR * year + month - 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


DateStr = Annotated[str, Field(description="YYYY or YYYY-MM")]


class _Dated(_Strict):
    """An event active from ``start`` (inclusive) to ``end`` (exclusive; open if omitted)."""

    start: DateStr
    end: DateStr | None = None
    note: str = ""

    @field_validator("start", "end", mode="before")
    @classmethod
    def _check_date(cls, value: object) -> object:
        if value is None:
            return None
        parse_month(value)  # raises ValueError with a clear message
        return month_text(value)

    @model_validator(mode="after")
    def _ordered(self) -> _Dated:
        if self.end is not None and parse_month(self.end) <= parse_month(self.start):
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    def active_months(self) -> tuple[int, int | None]:
        """First month it acts and the month after its last (None: open), in month numbers."""
        return month_number(self.start), None if self.end is None else month_number(self.end)


class QuotaEvent(_Dated):
    """Override one of China's quotas (t REO/yr) for a period.

    A separation quota event may set ``covers_imported_ore``: whether the quota also binds the
    separation of imported concentrate (outside it until the Aug 2025 Interim Measures); such an
    event may leave ``value_t_reo_per_yr`` out to keep the quota in force. An export quota of
    ``segment`` total counts every element's tonnes together (one pool in its months); ``light``
    or ``ionic`` (medium/heavy) sets that pool of the quota alone (export_quota_pools.csv), the
    other pool keeping its value (none outside 2012-2014), the total no longer applying.
    """

    type: Literal["quota"]
    kind: Literal["mining", "separation", "export"]
    segment: Literal["total", "light", "ionic"] = "total"
    value_t_reo_per_yr: Annotated[float, Field(ge=0.0, le=2.0e6)] | None = None
    covers_imported_ore: bool | None = None

    @model_validator(mode="after")
    def _complete(self) -> QuotaEvent:
        if self.covers_imported_ore is not None and self.kind != "separation":
            raise ValueError("covers_imported_ore applies to kind: separation only")
        if self.value_t_reo_per_yr is None and self.covers_imported_ore is None:
            raise ValueError("a quota event needs value_t_reo_per_yr (t REO/yr, 0-2,000,000)")
        return self


def _not_empty(value: Any) -> Any:
    """Refuse an empty list or mapping of what an event acts on: the event would do nothing.

    Run before the type's own check, so an empty list gets this one message rather than the
    union's two (not a list of names, not "all").
    """
    if isinstance(value, list) and not value:
        raise ValueError("the empty list [] makes the event act on nothing: list at least one "
                         "name (e.g. [Nd, Dy]), or give all")
    if isinstance(value, dict) and not value:
        raise ValueError("the empty mapping {} makes the event buy or release nothing: give at "
                         "least one element's tonnes (e.g. {Nd: 5000})")
    return value


Elements = Annotated[list[ElementName] | Literal["all"], BeforeValidator(_not_empty)]
"""The elements an event acts on: a non-empty list, or "all" (an empty list did nothing)."""
Applications = Annotated[list[ApplicationName] | Literal["all"], BeforeValidator(_not_empty)]
"""The applications an event acts on: a non-empty list, or "all"."""


class ExportTaxEvent(_Dated):
    """Set China's ad valorem export duty (%) on listed elements for a period."""

    type: Literal["export_tax"]
    elements: Elements = "all"
    rate_pct: Annotated[float, Field(ge=0.0, le=100.0)]


class ExportControlEvent(_Dated):
    """Licensing of exports: only ``licensed_fraction`` of the desired exports gets a licence.

    ``products`` says what is controlled: separated oxides of the listed elements (``oxide``,
    the default) and/or magnets containing any of them (``magnet``: the whole magnet).
    """

    type: Literal["export_control"]
    elements: Elements
    licensed_fraction: Fraction
    products: Annotated[list[Literal["oxide", "magnet"]], Field(min_length=1)] = ["oxide"]


class StockpileEvent(_Dated):
    """A holder buys (or releases) given tonnages, spread evenly over ``months``."""

    type: Literal["stockpile"]
    holder: Literal["state_reserve", "trading_company"] = "state_reserve"
    action: Literal["buy", "release"] = "buy"
    amounts_t_reo: Annotated[dict[ElementName, Annotated[float, Field(ge=0.0, le=1.0e6)]],
                             BeforeValidator(_not_empty)]
    months: Annotated[int, Field(ge=1, le=240)] = 12

    @model_validator(mode="after")
    def _no_end(self) -> StockpileEvent:
        if self.end is not None:
            raise ValueError(f"a stockpile lasts its `months` from `start`; `end` ({self.end}) "
                             "is not read: leave it out")
        return self

    def active_months(self) -> tuple[int, int | None]:
        """The order's months: ``months`` from ``start`` (:func:`month_number`)."""
        start = month_number(self.start)
        return start, start + self.months


class PriceFloorEvent(_Dated):
    """A guaranteed price for producers: a buyer of last resort pays the gap to the floor.

    The listed producers receive at least ``floor_usd_per_kg`` for each kg of the listed
    separated elements they sell or stockpile (a contract for difference, like the 2025 US
    DoD-MP Materials price protection agreement): the market price does not change; the
    producers' netback, and with it their output and investment, rises.
    """

    type: Literal["price_floor"]
    producers: Annotated[list[str], Field(min_length=1)]
    elements: Elements
    floor_usd_per_kg: Annotated[float, Field(gt=0.0, le=1.0e5)]


class DisruptionEvent(_Dated):
    """Scale the available capacity of producers or of every producer in regions (0 = halt).

    ``under_regime`` limits the event to months when Baotou is under that market regime (a
    supply-management decision of the trading company does not happen without it).
    """

    type: Literal["disruption"]
    under_regime: RegimeName | None = None
    producers: list[str] = []
    regions: list[str] = []
    capacity_factor: Annotated[float, Field(ge=0.0, le=5.0)]

    @model_validator(mode="after")
    def _has_target(self) -> DisruptionEvent:
        if not self.producers and not self.regions:
            raise ValueError("a disruption needs `producers` or `regions`")
        return self


class CapacityEvent(_Dated):
    """Set a producer's available mine capacity (t REO/yr) from ``start`` (new mine, expansion)."""

    type: Literal["capacity"]
    producer: str
    capacity_t_reo_per_yr: Annotated[float, Field(ge=0.0, le=1.0e6)]


class SeparationCapacityEvent(_Dated):
    """Set a region's separation capacity (t REO feed/yr) from ``start``.

    ``under_regime`` limits it to months under that market regime, as for disruptions.
    """

    type: Literal["separation_capacity"]
    under_regime: RegimeName | None = None
    region: str
    capacity_t_reo_per_yr: Annotated[float, Field(ge=0.0, le=1.0e6)]


class RouteEvent(_Dated):
    """Send a producer's concentrate to another region for separation (e.g. Mountain Pass -> China).

    Under ``toll_treatment`` the receiving region's separation capacity grows by the mine's
    capacity while the route lasts (the separator contracted to treat it).
    """

    type: Literal["route"]
    producer: str
    separation_region: str
    toll_treatment: bool = True


class ConcentrateStockpileEvent(_Dated):
    """A producer mines into a stock of its own concentrate, whatever its separator's backlog.

    Mines otherwise cut output as their separator's concentrate backlog grows (separation.py).
    Mountain Pass did not when its shipments to China stopped in April 2025: it mined 50.7 kt
    REO in 2025 and sold 8.9 kt (MP 10-K). The stock waits in the separating region's pool and
    counts against the backlog again once the event ends.
    """

    type: Literal["concentrate_stockpile"]
    producer: str


class RegimeEvent(_Dated):
    """Switch Baotou's market regime at ``start`` (until ``end``, then back to the default)."""

    type: Literal["regime"]
    regime: RegimeName


class RecyclingEvent(_Dated):
    """Raise end-of-life recycling of applications to a rate, ramped linearly over ``ramp_yr``."""

    type: Literal["recycling"]
    applications: Applications = "all"
    eol_recycling_fraction: Fraction
    ramp_yr: Annotated[float, Field(ge=0.0, le=50.0)] = 0.0


class RecoveryEvent(_Dated):
    """R&D gain: set a producer's recovery of REO to concentrate, ramped over ``ramp_yr``."""

    type: Literal["recovery"]
    producer: str = "bayan_obo"
    recovery_fraction: Annotated[float, Field(gt=0.0, le=1.0)]
    ramp_yr: Annotated[float, Field(ge=0.0, le=50.0)] = 0.0


class IntensityEvent(_Dated):
    """R&D gain in use: scale the intensity of elements in applications, ramped over ``ramp_yr``.

    ``factor`` multiplies the listed elements' share of a tonne of the applications' REO from
    ``start`` (reached after ``ramp_yr`` years) until ``end``; the other elements' shares stay,
    so the application needs less REO in all (the element is saved, not replaced). A technology
    that, once adopted, stays (e.g. grain-boundary diffusion halving the Dy in NdFeB magnets
    after 2011), unlike the price-driven thrifting, which eases when prices fall back.
    """

    type: Literal["intensity"]
    applications: Applications = "all"
    elements: Annotated[list[ElementName], Field(min_length=1)]
    factor: Annotated[float, Field(ge=0.0, le=10.0)]
    ramp_yr: Annotated[float, Field(ge=0.0, le=50.0)] = 0.0


class DemandShockEvent(_Dated):
    """Multiply the demand of applications by ``factor`` for a period (recession, new tech)."""

    type: Literal["demand_shock"]
    applications: Applications = "all"
    factor: Annotated[float, Field(ge=0.0, le=10.0)]


Event = Annotated[
    QuotaEvent | ExportTaxEvent | ExportControlEvent | StockpileEvent | DisruptionEvent
    | CapacityEvent | SeparationCapacityEvent | RouteEvent | ConcentrateStockpileEvent
    | RegimeEvent | RecyclingEvent | RecoveryEvent | DemandShockEvent | IntensityEvent
    | PriceFloorEvent,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[str, ...] = tuple(
    get_args(cls.model_fields["type"].annotation)[0] for cls in get_args(get_args(Event)[0]))
"""Every event ``type``; ``reesim.model.events.EVENTS`` has one function for each."""


class TradingCompanyOptions(_Strict):
    """How the jointly owned Baotou trading company sells for its members."""

    rule: Literal["defend_price"] = "defend_price"
    region: str = "baotou"
    planned_stockpile_t_reo: Annotated[float, Field(ge=0.0, le=1.0e6)] = 60_000.0
    defend_factor: Annotated[float, Field(gt=0.0, le=5.0)] = 1.0
    reference_time_yr: PositiveYears = 2.0
    sales_response: Annotated[float, Field(gt=0.0, le=50.0)] = 4.0
    stock_adjustment_time_yr: PositiveYears = 1.0


class MarketOptions(_Strict):
    """Baotou's market regime and the trading company's behaviour."""

    regime: RegimeName = "trading_company"
    regime_from: DateStr = "2008-01"
    trading_company: TradingCompanyOptions = TradingCompanyOptions()
    trade_cost_usd_per_kg: Annotated[float, Field(ge=0.0, le=50.0)] = 0.5
    """Freight, insurance and handling between the markets, USD/kg (an assumption: small against
    oxide prices; no figure in the packaged data)."""
    export_quota_rule: Literal["pro_rata", "rent"] = "pro_rata"
    """How China's tonnage export quota (2010-2014) falls on the elements: ``pro_rata`` cuts
    every element's exports by the same share; ``rent`` gives the quota one rent per kg, the
    same for every element, that traders add to the landed cost so the tonnage they want fits
    the quota (the quota went to the elements worth most over China's price: the record of 2011
    has La, Ce, Sm and Nd export prices about 60-115 USD/kg above China's, less duty;
    docs/model.md, section 5)."""
    export_quota_pools: Literal["one", "two"] = "one"
    """``two``: from 2012 to 2014 China's export quota is the record's two pools, light (La-Nd)
    and medium/heavy (Sm-Lu, Y, Sc) rare earth products (quotas.csv, export_quota_pools.csv),
    each falling on its own elements by the ``export_quota_rule`` (pro rata within the pool, or
    one rent per pool); ``one`` (the default): the total counts every element's tonnes
    together (2010-2014). Not the default: the model's legal exports of 2012-2013 fill the
    quota where the customs record has about half of it, so the medium/heavy pool binds where
    the record's did not (docs/model.md, section 5). An export quota event of segment total
    sets one pool in its months; of segment light or ionic, that pool alone."""
    substeps: Annotated[int, Field(ge=1, le=MAX_SUBSTEPS)] = 2
    """Market sub-steps per month: trade, clearing and consumption run this many times a month
    with the month's flows split evenly (a numerical setting). Two by default since 2026-12-07:
    against sixteen sub-steps, at the fit made there, 8.5% of the observed annual price paths of
    2000-2030 stand more than 5% away with one (the largest 20%) and 0.6% with two (the largest
    7.7%), for about a quarter more time (docs/model.md, "The time step")."""

    @field_validator("regime_from", mode="before")
    @classmethod
    def _check_date(cls, value: object) -> object:
        parse_month(value)
        return month_text(value)


class PolicyOptions(_Strict):
    """China's standing instruments, from the packaged tables unless switched off.

    ``none`` switches off the packaged table only: quota events still set quotas (where none was
    in force, an event creates one).
    """

    mining_quotas: Literal["packaged", "none"] = "packaged"
    separation_quotas: Literal["packaged", "none"] = "packaged"
    export_quotas: Literal["packaged", "none"] = "packaged"
    export_taxes: Literal["packaged", "none"] = "packaged"
    quota_growth_after_data_pct_per_yr: Annotated[float, Field(ge=-20.0, le=30.0)] = 3.0


class SupplyOptions(_Strict):
    """Which supply sources may enter."""

    projects: Literal["endogenous", "none", "all"] = "endogenous"
    illegal_supply: bool = True


class Parameters(_Strict):
    """Behavioural parameters of the mechanisms (the calibration's free parameters live here)."""

    price_adjustment_time_yr: Annotated[float, Field(gt=0.0, le=5.0)] = 2.0
    price_expectation_time_yr: Annotated[float, Field(gt=0.0, le=20.0)] = 3.0
    price_coverage_sensitivity: Annotated[float, Field(gt=0.0, le=10.0)] = 0.7
    glut_sensitivity_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    seller_coverage_target_months: Annotated[float, Field(gt=0.0, le=36.0)] = 2.0
    consumer_coverage_target_months: Annotated[float, Field(gt=0.0, le=36.0)] = 2.0
    consumer_inventory_adjustment_time_yr: Annotated[float, Field(gt=0.0, le=5.0)] = 0.25
    hoarding_sensitivity: Annotated[float, Field(ge=0.0, le=10.0)] = 0.5
    supply_steepness: Annotated[float, Field(gt=0.0, le=50.0)] = 4.0
    utilization_adjustment_time_yr: Annotated[float, Field(gt=0.0, le=5.0)] = 0.25
    demand_elasticity_multiplier: Annotated[float, Field(ge=0.0, le=10.0)] = 6.0
    substitution_lag_multiplier: Annotated[float, Field(gt=0.0, le=10.0)] = 0.5
    illegal_supply_elasticity: Annotated[float, Field(ge=0.0, le=10.0)] = 1.5
    illegal_capacity_adjustment_time_yr: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    china_cost_multiplier: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    closure_after_loss_months: Annotated[int, Field(ge=1, le=240)] = 24
    investment_expectation_time_yr: Annotated[float, Field(gt=0.0, le=20.0)] = 2.0
    export_arbitrage_time_yr: Annotated[float, Field(gt=0.0, le=5.0)] = 0.1


PARAMETER_NAMES: tuple[str, ...] = tuple(Parameters.model_fields)


def parameter_bounds(name: str) -> tuple[float, bool, float, bool]:
    """(low, low inclusive, high, high inclusive) of the ``Parameters`` field ``name``."""
    low, low_in, high, high_in = -math.inf, True, math.inf, True
    for meta in Parameters.model_fields[name].metadata:
        if getattr(meta, "gt", None) is not None:
            low, low_in = float(meta.gt), False
        if getattr(meta, "ge", None) is not None:
            low, low_in = float(meta.ge), True
        if getattr(meta, "lt", None) is not None:
            high, high_in = float(meta.lt), False
        if getattr(meta, "le", None) is not None:
            high, high_in = float(meta.le), True
    return low, low_in, high, high_in


def sampleable_names() -> tuple[str, ...]:
    """Names an ``uncertainty`` may sample: behavioural parameters, then member-level constants."""
    from reesim.model.constants import member_constant_names

    return (*PARAMETER_NAMES, *member_constant_names())


def uncertain_bounds(name: str) -> tuple[float, bool, float, bool]:
    """(low, low inclusive, high, high inclusive) of a sampleable name.

    A parameter's schema range, or a structural constant's declared plausible [low, high].
    """
    if name in PARAMETER_NAMES:
        return parameter_bounds(name)
    from reesim.model.constants import table

    constant = table()[name]
    return constant.low, True, constant.high, True


def closed_bounds(name: str) -> tuple[float, float]:
    """The allowed range of a sampleable name as a closed interval (open ends moved 1e-9 in)."""
    low, low_in, high, high_in = uncertain_bounds(name)
    return low + (0.0 if low_in else 1e-9), high - (0.0 if high_in else 1e-9)


def _range_text(name: str) -> str:
    low, low_in, high, high_in = uncertain_bounds(name)
    return f"{'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"


def _inside(name: str, value: float) -> bool:
    low, low_in, high, high_in = uncertain_bounds(name)
    above = low < value or (low_in and value == low)
    return above and (value < high or (high_in and value == high))


_NEEDS = {
    (True, "uniform"): ("low", "high"), (True, "normal"): ("sd",),
    (True, "lognormal"): ("sigma",),
    (False, "uniform"): ("low", "high"), (False, "normal"): ("mean", "sd"),
    (False, "lognormal"): ("median", "sigma"),
}
_MAX_SIGMA = 3.0
"""Largest lognormal sigma (a factor e^3 ~ 20 at one standard deviation): wider is no longer an
uncertainty about a parameter but a different model."""


class Distribution(_Strict):
    """A sampled uncertainty of a parameter or constant, relative to its resolved value by default.

    Relative (the default) centres the spread on the resolved value (the scenario's or the
    calibrated value) so an ensemble samples *around* the run it accompanies: ``uniform`` with
    ``low``/``high`` as factors of that value (e.g. 0.7, 1.3), ``normal`` with a relative ``sd``
    (mean factor 1), ``lognormal`` with ``sigma`` (median = the value). A negative value (e.g. a
    price elasticity) scales the same way: factors 0.5..1.5 of -0.3 span -0.45..-0.15, and a
    lognormal keeps the sign (its magnitude is lognormal). ``relative: false`` takes absolute
    numbers: ``uniform`` low/high, ``normal`` mean/sd, ``lognormal`` median/sigma. All numbers
    are finite; ``normal`` and ``lognormal`` draws are clipped into the allowed range (their
    support is unbounded), a ``uniform`` must lie inside it.
    """

    dist: Literal["uniform", "normal", "lognormal"]
    relative: bool = True
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: Annotated[float, Field(gt=0.0)] | None = None
    median: Annotated[float, Field(gt=0.0)] | None = None
    sigma: Annotated[float, Field(gt=0.0, le=_MAX_SIGMA)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        need = _NEEDS[(self.relative, self.dist)]
        form = "relative" if self.relative else "absolute (relative: false)"
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{form} {self.dist} needs {', '.join(need)}; missing "
                             f"{', '.join(missing)}")
        extra = [k for k in ("low", "high", "mean", "sd", "median", "sigma")
                 if getattr(self, k) is not None and k not in need]
        if extra:
            hint = (" (a relative distribution is centred on the parameter's resolved value; "
                    "set relative: false for absolute numbers)") if self.relative else ""
            raise ValueError(f"{form} {self.dist} takes only {', '.join(need)}; remove "
                             f"{', '.join(extra)}{hint}")
        if self.dist == "uniform" and not self.low < self.high:  # type: ignore[operator]
            raise ValueError(f"uniform needs low < high, got {self.low} and {self.high}")
        return self

    def _uniform_ends(self, scale: float) -> tuple[float, float]:
        """(low, high) of a uniform scaled by ``scale``; a negative scale swaps the ends."""
        ends = float(self.low) * scale, float(self.high) * scale  # type: ignore[arg-type]
        return (ends[1], ends[0]) if scale < 0.0 else ends

    def support(self, centre: float) -> tuple[float, float]:
        """(lowest, highest) value the distribution can produce around ``centre``."""
        scale = centre if self.relative else 1.0
        if self.dist == "uniform":
            return self._uniform_ends(scale)
        if self.dist == "normal":
            return -math.inf, math.inf
        return (-math.inf, 0.0) if scale < 0.0 else (0.0, math.inf)

    def check(self, name: str, centre: float) -> None:
        """Raise ``ValueError`` if this distribution does not fit ``name`` at ``centre``.

        ``name`` is a parameter or a member-level constant. A ``uniform`` must stay inside its
        allowed range; a ``normal`` mean and a ``lognormal`` median must lie inside it (their
        tails are clipped into it when sampled). A relative distribution scales the resolved
        value, so that value must not be zero.
        """
        allowed = _range_text(name)
        if self.relative and not (centre > 0.0 or centre < 0.0):
            raise ValueError(f"a relative {self.dist} scales the resolved value, so it needs a "
                             f"positive resolved value (or a negative one); {name} is "
                             f"{centre:g} (set relative: false and give absolute numbers)")
        if self.dist == "uniform":
            lo, hi = self.support(centre)
            if not (_inside(name, lo) and _inside(name, hi)):
                what = (f"factors {self.low:g}..{self.high:g} of the resolved value {centre:g} "
                        f"give {lo:g}..{hi:g}") if self.relative else f"{lo:g}..{hi:g}"
                raise ValueError(f"uniform {what}, outside the allowed range {allowed} of {name}")
            return
        absolute = self.mean if self.dist == "normal" else self.median
        middle = centre if self.relative else float(absolute)  # type: ignore[arg-type]
        if not _inside(name, middle):
            label = "mean" if self.dist == "normal" else "median"
            raise ValueError(f"{self.dist} {label} {middle:g} is outside the allowed range "
                             f"{allowed} of {name}")

    def ppf(self, u: np.ndarray, centre: float) -> np.ndarray:
        """Quantiles ``u`` in the open interval (0, 1) -> values around ``centre`` (increasing).

        ``centre`` is the resolved value (ignored by ``relative: false``); a negative centre
        keeps the quantile function increasing (the uniform's ends swap, the normal's spread and
        the lognormal's exponent use its magnitude). The values are not clipped: see
        :func:`reesim.model.sampling.sample_parameters`.
        """
        u = np.asarray(u, dtype=float)
        if not np.all((u > 0.0) & (u < 1.0)):
            raise ValueError("quantiles must lie in the open interval (0, 1)")
        scale = float(centre) if self.relative else 1.0
        if self.dist == "uniform":
            low, high = self._uniform_ends(scale)
            return low + u * (high - low)
        from scipy.special import ndtri  # here: scipy.special takes 0.2 s to import

        z = ndtri(u)
        if self.dist == "normal":
            mean = scale if self.relative else float(self.mean)  # type: ignore[arg-type]
            return mean + float(self.sd) * abs(scale) * z  # type: ignore[arg-type]
        median = scale if self.relative else float(self.median)  # type: ignore[arg-type]
        # median < 0: median * exp(-sigma z) increases with u, same law as with +sigma (z ~ -z)
        sigma = float(self.sigma) if median > 0.0 else -float(self.sigma)  # type: ignore[arg-type]
        return median * np.exp(sigma * z)


class OutputOptions(_Strict):
    """How results are recorded: every month or as annual means (flows) and year-end (stocks)."""

    frequency: Literal["month", "year"] = "month"


class Scenario(_Strict):
    """A fully resolved scenario (``extends`` already applied)."""

    name: Annotated[str, Field(min_length=1, max_length=80)]
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    start_year: Annotated[int, Field(ge=1990, le=2045)] = 2000
    end_year: Annotated[int, Field(ge=1991, le=2100)] = 2050
    output: OutputOptions = OutputOptions()
    market: MarketOptions = MarketOptions()
    policy: PolicyOptions = PolicyOptions()
    supply: SupplyOptions = SupplyOptions()
    parameters: Parameters = Parameters()
    uncertainty: dict[str, Distribution] = {}
    """Values sampled per member when members > 1: keys are names in ``parameters`` or
    member-level structural constants (``reesim.model.constants``), centred on the resolved
    value (``parameters`` or ``constants``) and kept in the allowed or declared range."""
    events: dict[str, Event] = {}
    levers: dict[str, Lever] = {}
    """Policy choices crossed with the sampled futures in ``reesim ensemble`` (XLRM's L)."""
    outcomes: dict[str, Outcome] = {}
    """Named scalar indicators of an ensemble (XLRM's M), beside the standard ones."""
    constants: dict[str, float] = Field(default={}, validate_default=True)
    """Structural constants (``reesim.model.constants``); after validation every constant is
    listed with its value, so the scenario's hash and manifest carry them all."""

    @field_validator("name", mode="after")
    @classmethod
    def _usable_in_folder_names(cls, value: str) -> str:
        r"""Refuse a name that would move the default output folder (``results/<name>-...``).

        A ``/`` or ``\`` in it makes sub-folders ("../../x" escapes ``results/``), a leading
        ``.`` makes a hidden folder or a ``..`` step, control characters break listings.
        """
        if value.startswith(".") or "/" in value or "\\" in value or any(
                ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("a scenario name is part of its output folder's name: it must not "
                             "contain '/', '\\' or control characters nor start with '.'; "
                             "allowed: letters, digits, spaces and other punctuation (e.g. "
                             "baotou-high-demand_v2)")
        return value

    @field_validator("constants", mode="after")
    @classmethod
    def _resolve_constants(cls, value: dict[str, float]) -> dict[str, float]:
        from reesim.model.constants import resolve

        return resolve(value)

    @model_validator(mode="after")
    def _window(self) -> Scenario:
        if self.end_year <= self.start_year:
            raise ValueError(f"end_year {self.end_year} must be after start_year {self.start_year}")
        for key, dist in self.uncertainty.items():
            _check_uncertain_name(key)
            try:
                dist.check(key, self.resolved_value(key))
            except ValueError as exc:
                raise ValueError(f"uncertainty.{key}: {exc}") from None
        self._check_uncertain_order()
        return self

    @model_validator(mode="after")
    def _company_orders_under_the_company(self) -> Scenario:
        """Refuse a trading company's stockpile order in months of the free market.

        Under the free market the company holds no reserve and offers all its stock, so what
        such an order bought was sold again within the month: the order did nothing, silently.
        """
        company_from = (month_number(self.market.regime_from)
                        if self.market.regime == "trading_company" else None)
        for name, event in self.events.items():
            if not (isinstance(event, StockpileEvent) and event.holder == "trading_company"):
                continue
            if company_from is None or month_number(event.start) < company_from:
                regime = ("market.regime is free_market" if company_from is None else
                          f"the trading company holds from market.regime_from "
                          f"{self.market.regime_from}")
                raise ValueError(
                    f"events.{name}: a trading_company stockpile acts only under the trading "
                    f"company regime ({regime}); from its start {event.start} the free market "
                    "holds, where the company keeps no reserve and sells what it buys: start "
                    "it under the company, or give it to holder state_reserve")
        return self

    def resolved_value(self, name: str) -> float:
        """The value of parameter or structural constant ``name`` here (its centre when sampled)."""
        if name in PARAMETER_NAMES:
            return float(getattr(self.parameters, name))
        return float(self.constants[name])

    def _reach(self, name: str) -> tuple[float, float]:
        """(lowest, highest) value ``name`` can take in a member.

        Its resolved value, or the support of its uncertainty clipped into its allowed range.
        """
        value = self.resolved_value(name)
        if name not in self.uncertainty:
            return value, value
        low, high = self.uncertainty[name].support(value)
        allowed_low, allowed_high = closed_bounds(name)
        return max(low, allowed_low), min(high, allowed_high)

    def _check_uncertain_order(self) -> None:
        """Refuse uncertainties that could break a declared order of constants in a member.

        Constants declared ordered (a < b, e.g. the two backlogs) must stay ordered in every
        member, so sampling one of them may not reach the other's values.
        """
        from reesim.model.constants import ordered_pairs

        for low_name, high_name in ordered_pairs():
            sampled = [n for n in (low_name, high_name) if n in self.uncertainty]
            if not sampled:
                continue
            top, bottom = self._reach(low_name)[1], self._reach(high_name)[0]
            if not top < bottom:
                raise ValueError(
                    f"uncertainty.{sampled[0]}: {low_name} must stay below {high_name} in every "
                    f"member, but {low_name} may reach {top:g} and {high_name} may fall to "
                    f"{bottom:g} (use uniform ranges that do not overlap)")


def _check_uncertain_name(key: str) -> None:
    """Refuse an ``uncertainty`` key that is not sampleable, naming the field and the choices."""
    from reesim.model.constants import table

    constant = table().get(key)
    if constant is not None and constant.level == "run":
        raise ValueError(f"uncertainty.{key}: {key!r} is a run-level constant, one value per "
                         f"scenario (it shapes compiled arrays); set it under `constants:` "
                         f"instead of sampling it")
    if key not in PARAMETER_NAMES and constant is None:
        raise ValueError(f"uncertainty.{key}: {key!r} must be a parameter name or a member-level "
                         f"constant, one of: " + ", ".join(sampleable_names()))
