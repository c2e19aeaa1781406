"""Load and validate the packaged data tables (``reesim/data/{inputs,reference,observations}``).

Each table has a pydantic row model: a bad value fails with the file, the CSV line and the column.
The tables are read once per process and handed around as a frozen :class:`ReferenceData`.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Literal, TypeVar

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from reesim.dims import APPLICATIONS, ELEMENTS, MARKETS
from reesim.errors import InputError

Basis = Literal["reported", "derived", "estimate"]
Element = Literal[ELEMENTS]  # type: ignore[valid-type]
Application = Literal[APPLICATIONS]  # type: ignore[valid-type]
Market = Literal[MARKETS]  # type: ignore[valid-type]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Year = Annotated[int, Field(ge=1950, le=2100)]

FOLDERS = ("inputs", "reference", "observations")


class _Row(BaseModel):
    """Common provenance columns of every packaged row."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    basis: Basis
    source: str = Field(min_length=3)
    note: str = ""

    @field_validator("note", mode="before")
    @classmethod
    def _empty_note(cls, value: object) -> object:
        return "" if value is None else value


class ElementRow(_Row):
    """A rare earth element: oxide formula and oxide-to-metal factor (elements.csv)."""

    element: Element
    name: str
    atomic_number: Annotated[int, Field(ge=21, le=71)]
    oxide: str
    oxide_to_metal: Annotated[float, Field(gt=0.5, lt=1.0)]
    group: Literal["light", "medium", "heavy", "scandium"]


class DepositRow(_Row):
    """Share of one element in a deposit's REO, % (deposits.csv)."""

    deposit: str
    element: Element
    share_pct: Annotated[float, Field(ge=0.0, le=100.0)]
    year_ref: Year | None = None


class ProducerRow(_Row):
    """A mine or aggregate supply source (producers.csv)."""

    producer: str
    name: str
    region: str
    separation_region: str
    owner_group: str
    deposit_type: str
    distribution: str
    quota_segment: Literal["light", "ionic", "none"]
    legal: bool
    byproduct_of_iron: bool
    status: Literal["operating", "planned"]
    start_year: Year
    capacity_t_reo_per_yr: NonNeg
    mining_recovery_fraction: Annotated[float, Field(gt=0.0, le=1.0)]
    cash_cost_usd_per_kg: Annotated[float, Field(gt=0.0, le=500.0)]
    incentive_price_usd_per_kg: Annotated[float, Field(gt=0.0, le=1000.0)]
    lead_time_yr: Annotated[float, Field(ge=0.0, le=20.0)]
    thorium_kg_per_t_reo: NonNeg | None = None      # empty = not quantified (GAP)
    tailings_t_per_t_reo: NonNeg | None = None
    wastewater_m3_per_t_reo: NonNeg | None = None
    reserve_t_reo: NonNeg | None = None
    reserve_year: Year | None = None


class CapacityRow(_Row):
    """Available mine capacity of a producer from a year on, t REO/yr (capacity_history.csv)."""

    producer: str
    year: Year
    capacity_t_reo_per_yr: NonNeg


class BayanOboRow(_Row):
    """Bayan Obo's iron ore, REO grade and RE recovery in a year (bayan_obo.csv)."""

    year: Year
    iron_ore_mt_per_yr: Annotated[float, Field(gt=0.0, le=200.0)]
    reo_grade_pct: Annotated[float, Field(gt=0.0, le=30.0)]
    re_recovery_pct: Annotated[float, Field(gt=0.0, le=100.0)]


class RegionRow(_Row):
    """Separation parameters of a region (regions.csv)."""

    region: str
    name: str
    market: Market
    separation_recovery_fraction: Annotated[float, Field(gt=0.0, le=1.0)]
    separation_cost_usd_per_kg: Annotated[float, Field(gt=0.0, le=200.0)]
    thorium_residue_kg_per_t_reo: NonNeg | None = None   # empty = not quantified (GAP)
    wastewater_m3_per_t_reo: NonNeg | None = None


class SeparationCapacityRow(_Row):
    """Separation capacity of a region from a year on, t REO/yr (separation_capacity.csv)."""

    region: str
    year: Year
    capacity_t_reo_per_yr: NonNeg


class HeavySeparationRow(_Row):
    """Elements beyond La-Nd separated outside China from a month on (heavy_separation.csv)."""

    region: str
    elements: str = Field(min_length=2)
    year: Year
    month: Annotated[int, Field(ge=1, le=12)]


class ChinaOfftakeRow(_Row):
    """Share of a foreign region's separated oxides sold into China, by year (china_offtake.csv)."""

    region: str
    elements: str = Field(min_length=2)
    year: Year
    share_fraction: Fraction


class QuotaRow(_Row):
    """One of China's annual quotas, t REO/yr (quotas.csv)."""

    year: Year
    kind: Literal["mining", "separation", "export"]
    segment: Literal["total", "light", "ionic"]
    holder: str
    value_t_reo_per_yr: NonNeg


class ExportTaxRow(_Row):
    """China's export duty on an element's oxide from a year on, % (export_taxes.csv)."""

    year: Year
    element: Element
    rate_pct: Annotated[float, Field(ge=0.0, le=100.0)]


class ExportQuotaPoolRow(_Row):
    """The pool of China's 2012-2014 export quota an element's exports counted against."""

    element: Element
    pool: Literal["light", "medium_heavy"]


class ApplicationRow(_Row):
    """An end use: base demand, elasticities, lifetime, yields (applications.csv)."""

    application: Application
    name: str
    base_year: Year
    demand_t_reo_per_yr: Annotated[float, Field(gt=0.0)]
    elasticity_short: Annotated[float, Field(ge=-5.0, le=0.0)]
    elasticity_long: Annotated[float, Field(ge=-5.0, le=0.0)]
    adjustment_time_yr: Annotated[float, Field(gt=0.0, le=50.0)]
    lifetime_yr: Annotated[float, Field(gt=0.0, le=100.0)]
    lifetime_shape: Annotated[int, Field(ge=1, le=10)]
    manufacturing_yield_fraction: Annotated[float, Field(gt=0.0, le=1.0)]
    new_scrap_recycling_fraction: Fraction
    eol_recycling_fraction: Fraction


class DemandGrowthRow(_Row):
    """Exogenous growth of an application's demand over years, %/yr (demand_growth.csv)."""

    application: Application
    from_year: Year
    to_year: Year
    growth_pct_per_yr: Annotated[float, Field(ge=-50.0, le=100.0)]


class LocationRow(_Row):
    """Share of an application manufactured in China in a year (manufacturing_location.csv)."""

    application: Application
    year: Year
    china_share_fraction: Fraction


class MagnetTradeRow(_Row):
    """Share of China's magnet output exported as magnets in a year (magnet_trade.csv)."""

    year: Year
    china_export_share_fraction: Fraction


class IntensityRow(_Row):
    """Share of an element in a tonne of an application's REO (application_intensity.csv)."""

    application: Application
    element: Element
    share_fraction: Fraction


class SubstitutionRow(_Row):
    """Thrifting of an element within an application (substitution.csv)."""

    application: Application
    element: Element
    thrift_elasticity: Annotated[float, Field(ge=0.0, le=5.0)]
    max_reduction_fraction: Fraction
    lag_yr: Annotated[float, Field(gt=0.0, le=50.0)]
    relative_to: Element | None = None     # thrift on the price relative to this substitute


class PriceAnchorRow(_Row):
    """Reference (demand anchor) and floor prices of an element, USD/kg (price_anchors.csv)."""

    element: Element
    reference_price_usd_per_kg: Annotated[float, Field(gt=0.0)]
    reference_year: Year
    floor_price_usd_per_kg: Annotated[float, Field(gt=0.0)]


class CpiRow(_Row):
    """US consumer price index, annual average (us_cpi.csv): deflates prices for demand."""

    year: Year
    cpi_u_1982_84_100: Annotated[float, Field(gt=0.0)]


INPUT_TABLES: dict[str, type[_Row]] = {
    "elements": ElementRow,
    "deposits": DepositRow,
    "producers": ProducerRow,
    "capacity_history": CapacityRow,
    "bayan_obo": BayanOboRow,
    "regions": RegionRow,
    "separation_capacity": SeparationCapacityRow,
    "heavy_separation": HeavySeparationRow,
    "china_offtake": ChinaOfftakeRow,
    "quotas": QuotaRow,
    "export_taxes": ExportTaxRow,
    "export_quota_pools": ExportQuotaPoolRow,
    "applications": ApplicationRow,
    "demand_growth": DemandGrowthRow,
    "manufacturing_location": LocationRow,
    "magnet_trade": MagnetTradeRow,
    "application_intensity": IntensityRow,
    "substitution": SubstitutionRow,
    "price_anchors": PriceAnchorRow,
    "us_cpi": CpiRow,
}


class _TextRow(_Row):
    """A row whose optional text columns read an empty cell as '' (not as a missing value)."""

    @model_validator(mode="before")
    @classmethod
    def _blank_text(cls, data: object) -> object:
        if isinstance(data, dict):
            return {k: ("" if v is None and cls.model_fields.get(k) is not None
                        and cls.model_fields[k].annotation is str
                        and not cls.model_fields[k].is_required() else v)
                    for k, v in data.items()}
        return data


class _FactRow(_TextRow):
    """A sourced figure from the research files: value, or a range, or text (several tables).

    ``value`` is a single published number; ``value_low`` / ``value_high`` a published range or
    a one-sided bound ('>x' gives only ``value_low``); ``value_text`` keeps the published wording
    whenever it carries a qualifier ('~', '>', 'nearly') or is not a number at all.
    """

    metric: str
    year: Year | None = None
    year_end: Year | None = None
    value: float | None = None
    value_low: float | None = None
    value_high: float | None = None
    value_text: str = ""
    unit: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> _FactRow:
        if (self.value_low is not None and self.value_high is not None
                and self.value_low > self.value_high):
            raise ValueError("value_low must not exceed value_high")
        if self.year is not None and self.year_end is not None and self.year_end < self.year:
            raise ValueError("year_end must not be before year")
        return self


class _MeasuredFactRow(_FactRow):
    """A fact that must carry a figure (a number, a bound or a published phrase)."""

    @model_validator(mode="after")
    def _has_figure(self) -> _MeasuredFactRow:
        if (self.value is None and self.value_low is None and self.value_high is None
                and not self.value_text):
            raise ValueError("give value, value_low/value_high or value_text")
        return self


Quantity = Literal["total_demand", "magnet_demand", "magnet_ree_demand", "ndpr_demand",
                   "dytb_demand", "magnet_share_of_demand", "catalyst_share_of_demand",
                   "china_demand", "china_share_of_demand", "china_mine_output",
                   "china_share_of_mining"]
"""Model quantities that published figures are compared with (see reesim.validation.outlooks)."""


class DemandByApplicationRow(_MeasuredFactRow):
    """World or China demand of an application: share or level (demand_by_application.csv)."""

    period: str
    scope: str
    application: Literal[(*APPLICATIONS, "all")] | None = None  # type: ignore[valid-type]
    item: str
    elements: str = ""
    measure: str = ""
    quantity: Quantity | None = None


class MagnetRow(_MeasuredFactRow):
    """NdFeB and other RE magnets: output, trade, composition, capacity (magnets.csv)."""

    period: str
    region: str
    product: str
    measure: str = ""


class MinorElementRow(_MeasuredFactRow):
    """Uses, demand, supply and prices of the minor and heavy elements (minor_elements.csv)."""

    element: Element
    period: str
    category: str
    measure: str = ""


class PolicyRow(_FactRow):
    """A dated policy or market term 2016-2025, with its number if any (policy.csv)."""

    date: str
    date_precision: str
    category: str
    actor: str
    item: str
    metric: str = ""


class CompanyCapacityRow(_MeasuredFactRow):
    """Capacity, output or plan of a company's asset 2016-2030 (company_capacity.csv)."""

    company: str
    asset: str
    country: str
    stage: str
    period: str
    status: str = ""


class ElementPriceRow(_Row):
    """Reference oxide price of an element in a year, USD/kg (element_prices.csv)."""

    element: Element
    reference_year: Year
    market: Market
    price_usd_per_kg: Annotated[float, Field(gt=0.0)]
    low_usd_per_kg: Annotated[float, Field(gt=0.0)] | None = None
    high_usd_per_kg: Annotated[float, Field(gt=0.0)] | None = None




class OutlookRow(_TextRow):
    """A published demand outlook and how it compares with the model (demand_outlooks.csv).

    ``comparison`` says how: ``ratio`` (target-year / base-year value of ``quantity``), ``cagr``
    (%/yr between the two years), ``level`` (value of ``quantity`` in the target year) or
    ``none`` (kept for reference only). ``published_low`` .. ``published_high`` is the
    published figure in that form.
    """

    publisher: str
    published: str
    scenario: str
    scope: str
    metric: str
    element_basis: str = ""
    base_year_text: str = ""
    base_value_text: str = ""
    period: str = ""
    value: float | None = None
    value_low: float | None = None
    value_high: float | None = None
    value_text: str = ""
    unit: str = ""
    growth_text: str = ""
    quantity: Quantity | None = None
    base_year: Year | None = None
    target_year: Year | None = None
    comparison: Literal["ratio", "cagr", "level", "none"]
    published_low: float | None = None
    published_high: float | None = None
    comparison_rule: str = ""

    @model_validator(mode="after")
    def _comparable(self) -> OutlookRow:
        if self.comparison == "none":
            return self
        missing = [name for name in ("quantity", "base_year", "target_year", "published_low",
                                     "published_high") if getattr(self, name) in (None, "")]
        if missing:
            raise ValueError(f"a '{self.comparison}' comparison needs {', '.join(missing)}")
        if self.target_year <= self.base_year:  # type: ignore[operator]
            raise ValueError("target_year must be after base_year")
        if self.published_low > self.published_high:  # type: ignore[operator]
            raise ValueError("published_low must not exceed published_high")
        return self


class ProductionEditionRow(_Row):
    """Mine production of an entity in a year as given by one edition (production_editions.csv)."""

    entity: str
    year: Year
    edition: str
    mine_production_t_reo: NonNeg
    preferred: bool


class ChinaShareRow(_Row):
    """China's share of world mine production from one source or edition (china_share.csv)."""

    year: Year
    china_share_fraction: Fraction
    preferred: bool
    edition: str


class ChinaTradeRow(_Row):
    """China's rare earth imports or exports over a period, t of product (china_trade.csv)."""

    reporter: Literal["china"]
    flow: Literal["export", "import"]
    partner: str
    product_scope: str
    period_start: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    period_end: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")
    value_t: NonNeg
    unit: str
    dataset: str


SUPPORT_TABLES: dict[tuple[str, str], type[_Row]] = {
    ("reference", "demand_by_application"): DemandByApplicationRow,
    ("reference", "magnets"): MagnetRow,
    ("reference", "minor_elements"): MinorElementRow,
    ("reference", "element_prices"): ElementPriceRow,
    ("reference", "demand_outlooks"): OutlookRow,
    ("reference", "policy"): PolicyRow,
    ("reference", "company_capacity"): CompanyCapacityRow,
    ("observations", "production_editions"): ProductionEditionRow,
    ("observations", "china_share"): ChinaShareRow,
    ("observations", "china_trade"): ChinaTradeRow,
}
"""Reference and observation tables with a full row model (the others are checked for
provenance columns only, see :func:`read_csv`)."""


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it (the index of the inputs loads in 0.015 s instead
of 0.18 s), PyYAML's own otherwise; the same values either way. Scenarios use it too."""


def data_root() -> resources.abc.Traversable:
    """The package's data folder."""
    return resources.files("reesim") / "data"


def _read_text(folder: str, file: str) -> str:
    path = data_root() / folder / file
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("packaged data file is missing", file=f"data/{folder}/{file}") from None


def read_index(folder: str) -> dict:
    """The parsed ``datasets.yaml`` of one data folder."""
    text = _read_text(folder, "datasets.yaml")
    try:
        index = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", file=f"data/{folder}/datasets.yaml") from None
    if not isinstance(index, dict) or "datasets" not in index or "version" not in index:
        raise InputError("needs top-level keys 'version' and 'datasets'",
                         file=f"data/{folder}/datasets.yaml")
    return index


def parse_table(text: str, row_model: type[_Row], label: str) -> pd.DataFrame:
    """Validate CSV text against a row model; errors name ``label``, the line and the column."""
    reader = csv.DictReader(io.StringIO(text))
    expected = list(row_model.model_fields)
    header = reader.fieldnames or []
    missing = [c for c in expected if c not in header and row_model.model_fields[c].is_required()]
    extra = [c for c in header if c not in expected]
    if missing or extra:
        raise InputError(
            f"columns do not match the table's schema (missing: {missing or 'none'}, "
            f"unexpected: {extra or 'none'})",
            file=label, allowed=", ".join(expected),
        )
    rows = []
    for line_no, raw in enumerate(reader, start=2):
        values = {k: (None if v == "" else v) for k, v in raw.items() if k is not None}
        try:
            rows.append(row_model.model_validate(values).model_dump())
        except ValidationError as exc:
            err = exc.errors()[0]
            column = ".".join(str(p) for p in err["loc"]) or "?"
            raise InputError(
                f"line {line_no}: {err['msg']} (value {values.get(column)!r})",
                file=label, field=column,
            ) from None
    return pd.DataFrame(rows, columns=expected)


T = TypeVar("T")


class _Derived(dict):
    """The memo of :meth:`ReferenceData.derived`; pickles as empty.

    A copy recomputes what it needs: unpickled arrays would be writeable again.
    """

    def __reduce__(self) -> tuple[type, tuple]:
        return (_Derived, ())


def _frozen(value: T) -> T:
    """``value`` with its arrays (also inside tuples and dict values) read-only.

    An array that is a view is copied first: its base could still be written through.
    """
    if isinstance(value, np.ndarray):
        array = value if value.flags.owndata else value.copy()
        array.setflags(write=False)
        return array  # type: ignore[return-value]
    if type(value) is tuple:
        return tuple(_frozen(v) for v in value)  # type: ignore[return-value]
    if type(value) is dict:
        return {k: _frozen(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


@dataclass(frozen=True)
class ReferenceData:
    """The validated model input tables and the data version they come from."""

    version: str
    digest: str
    tables: dict[str, pd.DataFrame]
    _derived: dict[Hashable, object] = field(default_factory=_Derived, repr=False,
                                             compare=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def derived(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per tables and ``key``: what a build derives from the data alone.

        Every build of a process reads the same tables, so results that depend only on them
        (and on what ``key`` holds, e.g. the run's years) are computed once instead of by every
        build (their pandas work was most of a build's time). ``key`` must name the
        computation and hold everything else it reads; never cache what a scenario changes
        unless the key holds it. Arrays in the result (also in tuples and dict values) are made
        read-only: copy one before changing it. DataFrames cannot be: never change one.
        """
        try:
            return self._derived[key]  # type: ignore[return-value]
        except KeyError:
            value = _frozen(compute())
            self._derived[key] = value
            return value

    def clear_derived(self) -> None:
        """Forget every :meth:`derived` result (tests compare a cached build with a fresh one)."""
        self._derived.clear()


def _check_cross_references(tables: dict[str, pd.DataFrame]) -> None:
    """Ids used in one table must exist in the table that defines them."""
    regions = set(tables["regions"].region)
    producers = set(tables["producers"].producer)
    deposits = set(tables["deposits"].deposit)

    def need(table: str, column: str, allowed: set[str]) -> None:
        for line_no, value in enumerate(tables[table][column], start=2):
            if value not in allowed:
                raise InputError(f"line {line_no}: unknown id {value!r}",
                                 file=f"data/inputs/{table}.csv", field=column,
                                 allowed=", ".join(sorted(allowed)))

    need("producers", "region", regions)
    need("producers", "separation_region", regions)
    need("capacity_history", "producer", producers)
    need("separation_capacity", "region", regions)
    for table in ("heavy_separation", "china_offtake"):
        need(table, "region", regions)
        for line_no, spec in enumerate(tables[table].elements, start=2):
            unknown = sorted(set(str(spec).split(";")) - set(ELEMENTS))
            if unknown:
                raise InputError(f"line {line_no}: unknown element(s) {unknown} in {spec!r}",
                                 file=f"data/inputs/{table}.csv", field="elements",
                                 allowed=", ".join(ELEMENTS) + " separated by ';'")
    for line_no, spec in enumerate(tables["producers"].distribution, start=2):
        for part in str(spec).split(";"):
            key = part.split(":")[0].strip()
            if key not in deposits:
                raise InputError(f"line {line_no}: unknown deposit {key!r} in {spec!r}",
                                 file="data/inputs/producers.csv", field="distribution",
                                 allowed=", ".join(sorted(deposits)))
    holders = producers | {"national"}
    need("quotas", "holder", holders)
    sums = tables["application_intensity"].groupby("application").share_fraction.sum()
    bad = sums[(sums - 1.0).abs() > 1e-6]
    if len(bad):
        raise InputError(f"element shares must sum to 1 per application; got {bad.to_dict()}",
                         file="data/inputs/application_intensity.csv", field="share_fraction")


@functools.cache
def load_inputs() -> ReferenceData:
    """Read and validate every model input table (cached for the process)."""
    index = read_index("inputs")
    tables: dict[str, pd.DataFrame] = {}
    digest = hashlib.sha256()
    for name, row_model in INPUT_TABLES.items():
        entry = index["datasets"].get(name)
        if entry is None:
            raise InputError(f"dataset {name!r} is not listed", file="data/inputs/datasets.yaml")
        text = _read_text("inputs", entry["file"])
        digest.update(text.encode())
        tables[name] = parse_table(text, row_model, f"data/inputs/{entry['file']}")
    _check_cross_references(tables)
    return ReferenceData(version=str(index["version"]), digest=digest.hexdigest()[:16],
                         tables=tables)


@functools.cache
def load_table(folder: str, name: str) -> pd.DataFrame:
    """Read and validate one of :data:`SUPPORT_TABLES` (cached); errors name file, line, column.

    Every row must also have a non-empty source, and ``element_prices`` one row per element.
    """
    row_model = SUPPORT_TABLES.get((folder, name))
    if row_model is None:
        raise InputError(f"no row model for table {name!r}", file=f"data/{folder}/datasets.yaml",
                         allowed=", ".join(n for f, n in SUPPORT_TABLES if f == folder))
    entry = read_index(folder)["datasets"].get(name)
    if entry is None:
        raise InputError(f"dataset {name!r} is not listed", file=f"data/{folder}/datasets.yaml")
    label = f"data/{folder}/{entry['file']}"
    frame = parse_table(_read_text(folder, entry["file"]), row_model, label)
    if name == "element_prices":
        counts = frame.element.value_counts()
        missing = [e for e in ELEMENTS if e not in counts.index]
        doubled = sorted(counts[counts > 1].index)
        if missing or doubled:
            raise InputError(f"needs exactly one row per element (missing: {missing or 'none'}, "
                             f"repeated: {doubled or 'none'})", file=label, field="element",
                             allowed=", ".join(ELEMENTS))
    return frame


def read_csv(folder: str, file: str) -> pd.DataFrame:
    """Read a reference or observation table (validated for provenance columns only)."""
    text = _read_text(folder, file)
    frame = pd.read_csv(io.StringIO(text))
    for column in ("basis", "source"):
        if column not in frame.columns:
            raise InputError("every packaged table needs basis and source columns",
                             file=f"data/{folder}/{file}", field=column)
    return frame


def catalogue() -> list[dict]:
    """One entry per packaged table: folder, name, title, rows and sources (for ``reesim data``)."""
    entries = []
    for folder in FOLDERS:
        index = read_index(folder)
        for name, meta in index["datasets"].items():
            text = _read_text(folder, meta["file"])
            rows = max(sum(1 for _ in csv.reader(io.StringIO(text))) - 1, 0)
            entries.append({
                "folder": folder, "name": name, "file": meta["file"],
                "title": meta.get("title", ""), "rows": rows,
                "sources": list(meta.get("sources", [])), "version": str(index["version"]),
            })
    return entries
