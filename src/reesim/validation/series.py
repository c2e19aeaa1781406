"""Simulated counterparts of the observations: one :class:`Series` per observed quantity.

A series holds a simulated path (a ``numerator`` and an optional ``denominator``, both
(member, time)) and the observations it is compared with. Every observation covers a window
``[period_start, period_end]``; its simulated counterpart is the mean of the record periods that
overlap the window (monthly prices averaged over a quarter, the month of a spot quote, the annual
value for annual output), and for ratios the ratio of the two window means.

Series (names are ``<family>`` or ``<family>_<product>``):

- ``price_export_<p>``, ``price_china_<p>``: oxide price (USD/kg) of product ``p`` (an element or
  PrNd) in that market; points are averages or spot quotes, ranges are quoted low-high ranges
  (USGS year-end ranges cover December, so the December mean is compared).
- ``price_gap_<p>``: export / China price ratio 2010-2014, where both markets are observed in the
  same calendar month(s); ranges propagate as [low_e / high_c, high_e / low_c].
- ``production_world``, ``production_china``: mine output (t REO/yr, annual means).
- ``production_<country>``: mine output of a country that is a model region of its own
  (:data:`COUNTRY_REGIONS`), years with a positive observation (a recorded zero cannot enter the
  log metrics).
- ``production_other_countries``: mine output of every other country, summed: the model pools
  them (``other_monazite`` is placed in Malaysia but stands for Malaysia, Brazil, Thailand and
  Vietnam's monazite; ``southeast_asia_ionic``, ``africa_minor``, ``serra_verde``), so a
  country-by-country comparison would set Brazil's record against nothing and Malaysia's against
  the pool. Years where the record lists at least :data:`MIN_OTHER_COUNTRIES` of them (a year
  with fewer is a partial list).
- ``china_share_of_world``: China's mine output / world mine output, observed like with like
  (both from one source, ``china_share.csv``).
- ``china_exports``: China's exports of separated products (t REO/yr) against customs exports
  (tonnes of product, not strictly REO).
- ``china_output_to_mining_quota``: China's mine output / China's mining quota (years with one).
- ``china_exports_to_export_quota``: China's exports / export quota, 2005-2014. The observed
  exports are customs tonnes of product (not strictly REO), the quota is the model's input.

China's mine output sums the producers whose ``producer_region`` is in the China market
(``region_market == "china"``), including any modelled illegal supply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from reesim.indicators import (
    annual_on_time,
    china_exports,
    china_mask,
    counted_by_record,
    producer_mine_output,
    region_mask,
    total_of,
)
from reesim.validation.observations import PRND, PRND_SHARES, RECORD_END, Observations

GAP_YEARS = (2010, 2014)
"""Years of the domestic/export price gap comparison (inclusive)."""

EXPORT_QUOTA_YEARS = (2005, 2014)
"""Years of the exports-to-export-quota comparison (inclusive; quotas ended in 2015)."""

COUNTRY_REGIONS = ("usa", "australia", "myanmar", "russia", "india")
"""Recorded countries whose mine output is one model region's (compared one to one)."""

MIN_OTHER_COUNTRIES = 2
"""Fewest recorded countries outside China and :data:`COUNTRY_REGIONS` that make a year's sum."""

OBS_COLUMNS = ["period_start", "period_end", "statistic", "kind", "value", "low", "high", "note"]
"""Columns of a series' observation frame (values in the series' unit; ``high`` may be inf)."""


@dataclass(frozen=True)
class Series:
    """One observed quantity: its simulated path and its observations.

    ``numerator`` / ``denominator`` are (member, time) arrays recorded at ``frequency`` (``month``
    or ``year``, time stamps at period starts); ``observed`` has :data:`OBS_COLUMNS`.
    """

    name: str
    family: str
    unit: str
    description: str
    numerator: xr.DataArray
    denominator: xr.DataArray | None
    frequency: str
    observed: pd.DataFrame

    def path(self) -> xr.DataArray:
        """Return the simulated path (member, time): numerator / denominator where there is one."""
        if self.denominator is None:
            return self.numerator
        den = self.denominator
        return self.numerator / den.where(np.isfinite(den) & (den > 0))


def record_frequency(ds: xr.Dataset) -> str:
    """``month`` or ``year``: the length of the dataset's record periods."""
    if "period_years" in ds:
        return "year" if float(ds.period_years.values[0]) > 0.5 else "month"
    times = pd.DatetimeIndex(ds.time.values)
    if len(times) > 1 and (times[1] - times[0]).days > 40:
        return "year"
    return "month"


def period_ends(times: pd.DatetimeIndex, frequency: str) -> pd.DatetimeIndex:
    """Exclusive end of each record period starting at ``times``."""
    offset = pd.DateOffset(years=1) if frequency == "year" else pd.DateOffset(months=1)
    return times + offset


def price_path(ds: xr.Dataset, product: str, market: str) -> xr.DataArray:
    """Return the simulated price (member, time), USD/kg, of an element's oxide or PrNd oxide."""
    price = ds.price.sel(market=market, drop=True)
    if product == PRND:
        return sum(share * price.sel(element=el, drop=True) for el, share in PRND_SHARES.items())
    return price.sel(element=product, drop=True)


def _member_time(da: xr.DataArray, members: xr.DataArray) -> xr.DataArray:
    """``da`` as (member, time), broadcasting a member-free array over ``members``."""
    if "member" not in da.dims:
        da = da.expand_dims(member=members)
    return da.transpose("member", "time")


def _frame(rows: Iterable[dict]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=OBS_COLUMNS)


def _year_rows(values: pd.Series, note: str | pd.Series = "") -> pd.DataFrame:
    """Annual point observations from a year-indexed series."""
    notes = note if isinstance(note, pd.Series) else pd.Series(note, index=values.index)
    return _frame({
        "period_start": pd.Timestamp(f"{int(y)}-01-01"),
        "period_end": pd.Timestamp(f"{int(y)}-12-31"),
        "statistic": "annual", "kind": "point", "value": float(v), "low": np.nan,
        "high": np.nan, "note": str(notes.get(y, "")),
    } for y, v in values.items() if np.isfinite(v))


def _other_country_rows(prod: pd.DataFrame) -> pd.DataFrame:
    """Annual sums of the countries outside China and :data:`COUNTRY_REGIONS`, with their parts.

    A year enters when the record lists at least :data:`MIN_OTHER_COUNTRIES` of them with a
    positive figure; its note names each part (t REO).
    """
    others = prod[~prod.entity.isin(("world", "china", *COUNTRY_REGIONS))
                  & (prod.mine_production_t_reo > 0)]
    sums, notes = {}, {}
    for year, part in others.groupby("year"):
        if len(part) < MIN_OTHER_COUNTRIES:
            continue
        sums[year] = float(part.mine_production_t_reo.sum())
        notes[year] = "sum of " + ", ".join(
            f"{e} {v:,.0f}" for e, v in zip(part.entity, part.mine_production_t_reo, strict=True))
    return _year_rows(pd.Series(sums, dtype=float), pd.Series(notes, dtype=object))


def _price_rows(prices: pd.DataFrame) -> pd.DataFrame:
    renamed = prices.rename(columns={"value_usd_per_kg": "value", "low_usd_per_kg": "low",
                                     "high_usd_per_kg": "high"})
    return renamed[OBS_COLUMNS].reset_index(drop=True)


def _months(start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Period, ...]:
    return tuple(pd.period_range(start, end, freq="M"))


def _gap_rows(prices: pd.DataFrame) -> pd.DataFrame:
    """Export / China price ratios where both markets are observed in the same months.

    One row per export quote: where several China quotes share its months (September 2011's two
    Reuters quotes of Nd and Dy), their envelope is the China side, so the one export quote is
    counted once (until 2026-12-08 it was paired with each, and weighed twice).
    """
    lo, hi = (pd.Timestamp(f"{GAP_YEARS[0]}-01-01"), pd.Timestamp(f"{GAP_YEARS[1]}-12-31"))
    within = prices[(prices.period_start >= lo) & (prices.period_end <= hi)]
    records = within.to_dict("records")
    for r in records:
        r["months"] = _months(r["period_start"], r["period_end"])
        point = r["kind"] == "point"
        r["lo"] = r["value_usd_per_kg"] if point else r["low_usd_per_kg"]
        r["hi"] = r["value_usd_per_kg"] if point else r["high_usd_per_kg"]
    exp = [r for r in records if r["market"] == "export"]
    chn = [r for r in records if r["market"] == "china"]
    rows = []
    for e in exp:
        same = [c for c in chn if c["months"] == e["months"]]
        if not same:
            continue
        point = e["kind"] == "point" and len(same) == 1 and same[0]["kind"] == "point"
        c_lo = min(c["lo"] for c in same)
        c_hi = max(c["hi"] for c in same)
        rows.append({
            "period_start": min(e["period_start"], *(c["period_start"] for c in same)),
            "period_end": max(e["period_end"], *(c["period_end"] for c in same)),
            "statistic": f"export {e['statistic']} / china "
                         + " and ".join(dict.fromkeys(c["statistic"] for c in same)),
            "kind": "point" if point else "range",
            "value": e["lo"] / c_lo if point else np.nan,
            "low": np.nan if point else e["lo"] / c_hi,
            "high": np.nan if point else e["hi"] / c_lo,
            "note": f"export {e['period_start'].date()}..{e['period_end'].date()}, china "
                    + ", ".join(f"{c['period_start'].date()}..{c['period_end'].date()}"
                                for c in same),
        })
    return _frame(rows)


RECORD_COUNTS_QUOTA_FROM: dict[str, int] = {"world": 2010, "china": 2012}
"""First year, per entity, in which the record counts China's mine output as China's mining quota,
so illegal output is outside it and the model's is left out of world and China output too
(:func:`reesim.indicators.counted_by_record`; the validation targets' "record basis"). Before it,
the record's figures hold estimates of the undocumented output, and the model's total is
compared.

- China (observations/production.csv): 100,000 t for 2012-2013 against a quota of 93,800 t,
  105,000 t for 2014-2017 against 105,000 t, then the quota itself, 120,000 t in 2018 to
  270,000 t in 2024 (quotas from inputs/quotas.csv); its 2005-2010 figures (119,000-130,000 t,
  contemporary USGS and MIIT estimates) stand above quotas of 82,320-89,200 t.
- The world (USGS Data Series 140, one workbook compiled after USGS revised its China series):
  101,000 t in 2010 and 104,000 t in 2011, after 135,000 t in 2009, which leaves about the
  quota (89,200 and 93,800 t) for China; its 2005-2009 totals (122,000-137,000 t) hold the
  earlier estimates. Until 2026-12-08 the world switched in 2012 with China, and the model's
  2010-2011 world output, illegal supply included, was scored against the quota-based total."""


def _annual_series(ds: xr.Dataset,
                   frequency: str) -> dict[str, xr.DataArray | dict[str, xr.DataArray] | None]:
    """Annual (member, time) volume paths and (time,) quotas used by the volume series.

    ``regions`` holds each mining region's output by region name, ``other_countries`` the
    output of the producers outside China and :data:`COUNTRY_REGIONS` (None: there are none).

    World and China mine output are on the record's basis: without illegal output from each
    one's year in :data:`RECORD_COUNTS_QUOTA_FROM`, with it before.
    """
    if frequency == "month":
        def to_year(da: xr.DataArray) -> xr.DataArray:
            return annual_on_time(da)
    else:
        def to_year(da: xr.DataArray) -> xr.DataArray:
            return da

    def on_record_basis(total: xr.DataArray, recorded: xr.DataArray,
                        entity: str) -> xr.DataArray:
        return total.where(total.time.dt.year < RECORD_COUNTS_QUOTA_FROM[entity], recorded)

    # annual output by producer once (a sixteenth of the records), then each total of it
    by_producer = to_year(producer_mine_output(ds))
    others = ~china_mask(ds) & xr.DataArray(~np.isin(ds.producer_region.values, COUNTRY_REGIONS),
                                            dims="producer", coords={"producer": ds.producer})
    return {
        "world": on_record_basis(total_of(by_producer),
                                 total_of(by_producer, counted_by_record(ds)), "world"),
        "china": on_record_basis(total_of(by_producer, china_mask(ds)),
                                 total_of(by_producer, china_mask(ds, recorded_only=True)),
                                 "china"),
        "regions": {region: total_of(by_producer, region_mask(ds, region))
                    for region in ds.region.values.tolist()},
        "other_countries": total_of(by_producer, others) if bool(others.any()) else None,
        "exports": to_year(china_exports(ds)),
        "mining_quota": to_year(ds.china_mining_quota),
        "export_quota": to_year(ds.china_export_quota),
    }


def _by_year(da: xr.DataArray) -> pd.Series:
    """Turn a member-free (time,) annual array into a year-indexed series."""
    return pd.Series(da.values, index=da.year.values.astype(int))


def _observed_rows(obs: Observations) -> dict[str, pd.DataFrame]:
    """Observation rows (:data:`OBS_COLUMNS`) of every series the record alone defines, by name.

    The series whose rows need a simulated denominator (output and exports against the quotas)
    are built in :func:`build_series`. Computed once per ``obs`` (:meth:`Observations.memo`).
    """
    def compute() -> dict[str, pd.DataFrame]:
        prices = obs.prices
        rows: dict[str, pd.DataFrame] = {}
        for market in ("export", "china"):
            for product in dict.fromkeys(prices.loc[prices.market == market, "product"]):
                rows[f"price_{market}_{product}"] = _price_rows(
                    prices[(prices.market == market) & (prices["product"] == product)])
        for product in dict.fromkeys(prices["product"]):
            gaps = _gap_rows(prices[prices["product"] == product])
            if len(gaps):
                rows[f"price_gap_{product}"] = gaps
        prod = obs.production
        china = prod[prod.entity == "china"].set_index("year")
        rows["production_world"] = _year_rows(
            prod[prod.entity == "world"].set_index("year").mine_production_t_reo)
        rows["production_china"] = _year_rows(china.mine_production_t_reo, china.note)
        for region in COUNTRY_REGIONS:
            # a recorded 0 (no mine) has no log error; left out
            kept = prod[(prod.entity == region) & (prod.mine_production_t_reo > 0)]
            kept = kept.set_index("year")
            rows[f"production_{region}"] = _year_rows(kept.mine_production_t_reo, kept.note)
        rows["production_other_countries"] = _other_country_rows(prod)
        share = obs.share_table().set_index("year")
        rows["china_share_of_world"] = _year_rows(share.china_share_fraction,
                                                  share.edition + ": " + share.note)
        exports = obs.exports.set_index("year")
        rows["china_exports"] = _year_rows(exports.china_exports_t_reo, exports.note)
        return rows
    return obs.memo("series_rows", compute)


def build_series(ds: xr.Dataset, obs: Observations) -> list[Series]:
    """Every observed quantity with its simulated path, in a stable order (prices first)."""
    frequency = record_frequency(ds)
    members = ds.member
    rows = _observed_rows(obs)
    out: list[Series] = []
    prices = obs.prices
    elements = set(ds.element.values.tolist())
    for market in ("export", "china"):
        for product in dict.fromkeys(prices.loc[prices.market == market, "product"]):
            if product != PRND and product not in elements:
                continue
            out.append(Series(
                f"price_{market}_{product}", f"price_{market}", "USD/kg",
                f"{product} oxide price, {market} market",
                _member_time(price_path(ds, product, market), members), None, frequency,
                rows[f"price_{market}_{product}"]))
    for product in dict.fromkeys(prices["product"]):
        name = f"price_gap_{product}"
        if name in rows and (product == PRND or product in elements):
            out.append(Series(
                name, "price_gap", "export/china", f"{product} oxide: export price / China price",
                _member_time(price_path(ds, product, "export"), members),
                _member_time(price_path(ds, product, "china"), members), frequency, rows[name]))

    year_freq = "year"
    paths = _annual_series(ds, frequency)
    world, china = (_member_time(paths[k], members) for k in ("world", "china"))
    prod = obs.production
    out.append(Series("production_world", "production_world", "t REO/yr",
                      "World mine production", world, None, year_freq, rows["production_world"]))
    out.append(Series("production_china", "production_china", "t REO/yr",
                      "China mine production", china, None, year_freq, rows["production_china"]))
    regions = set(ds.region.values.tolist())
    for region in COUNTRY_REGIONS:
        if region not in regions:
            continue
        out.append(Series(f"production_{region}", "production_country", "t REO/yr",
                          f"{region} mine production",
                          _member_time(paths["regions"][region], members), None, year_freq,
                          rows[f"production_{region}"]))
    if paths["other_countries"] is not None:      # the model has producers there
        out.append(Series("production_other_countries", "production_country", "t REO/yr",
                          "Mine production of the other countries (outside China and "
                          f"{', '.join(COUNTRY_REGIONS)}), summed",
                          _member_time(paths["other_countries"], members), None, year_freq,
                          rows["production_other_countries"]))
    out.append(Series("china_share_of_world", "china_share_of_world", "fraction",
                      "China's share of world mine production (observed like with like)",
                      china, world, year_freq, rows["china_share_of_world"]))

    china_rows = prod[prod.entity == "china"].set_index("year")
    quota = _by_year(paths["mining_quota"])
    quota = quota[np.isfinite(quota) & (quota > 0)]
    ratio = (china_rows.mine_production_t_reo / quota).dropna()
    out.append(Series("china_output_to_mining_quota", "china_output_to_mining_quota",
                      "fraction", "China mine production / China's mining quota", china,
                      _member_time(paths["mining_quota"], members), year_freq,
                      _year_rows(ratio, china_rows.note)))

    equota = _by_year(paths["export_quota"])
    equota = equota[np.isfinite(equota) & (equota > 0)]
    equota = equota[(equota.index >= EXPORT_QUOTA_YEARS[0])
                    & (equota.index <= EXPORT_QUOTA_YEARS[1])]
    exports = obs.exports.set_index("year")
    out.append(Series("china_exports", "china_exports", "t/yr",
                      "China's exports (simulated t REO; observed customs tonnes of product)",
                      _member_time(paths["exports"], members), None, year_freq,
                      rows["china_exports"]))
    ratio = (exports.china_exports_t_reo / equota).dropna()
    out.append(Series("china_exports_to_export_quota", "china_exports_to_export_quota",
                      "fraction", "China's exports / export quota (observed: customs tonnes)",
                      _member_time(paths["exports"], members),
                      _member_time(paths["export_quota"], members), year_freq,
                      _year_rows(ratio, exports.note)))
    return out


def window_values(series: Series) -> tuple[pd.DataFrame, np.ndarray]:
    """Observations of ``series`` that the simulation covers and their simulated values.

    Returns the kept observation rows and an (observation, member) array: for each window the
    mean of the overlapping record periods (ratio of means for ratio series). Windows not fully
    inside the simulated period are dropped; windows after the record's end raise ``ValueError``.
    """
    observed = series.observed
    if len(observed) and observed.period_end.max() > RECORD_END:
        raise ValueError(f"series {series.name}: observation after {RECORD_END.date()}")
    num = series.numerator.transpose("member", "time")
    times = pd.DatetimeIndex(num.time.values)
    ends = period_ends(times, series.frequency)
    keep = (observed.period_start >= times[0]) & (observed.period_end < ends[-1])
    observed = observed[keep].reset_index(drop=True)
    num_values = num.values
    den_values = (None if series.denominator is None
                  else series.denominator.transpose("member", "time").values)
    out = np.empty((len(observed), num_values.shape[0]))
    t0, t1 = times.to_numpy(), ends.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, (a, b) in enumerate(zip(observed.period_start.to_numpy(),
                                       observed.period_end.to_numpy(), strict=True)):
            mask = (t0 <= b) & (t1 > a)
            value = num_values[:, mask].mean(axis=1)
            if den_values is not None:
                den = den_values[:, mask].mean(axis=1)
                value = np.where(np.isfinite(den) & (den > 0), value / den, np.nan)
            out[i] = value
    return observed, out


def paired_points(series: Iterable[Series]) -> pd.DataFrame:
    """One row per (series, observation, member): the observation and its simulated value.

    Columns: ``series, family, member, period_start, period_end, statistic, kind, observed, low,
    high, simulated`` (values in the series' unit; ``observed`` is NaN for ranges).
    """
    frames = []
    for s in series:
        observed, values = window_values(s)
        if not len(observed):
            continue
        members = values.shape[1]
        frame = observed.loc[observed.index.repeat(members)].reset_index(drop=True)
        frame.insert(0, "member", np.tile(np.arange(members), len(observed)))
        frame.insert(0, "family", s.family)
        frame.insert(0, "series", s.name)
        frame["simulated"] = values.reshape(-1)
        frames.append(frame.rename(columns={"value": "observed"}).drop(columns="note"))
    columns = ["series", "family", "member", "period_start", "period_end", "statistic", "kind",
               "observed", "low", "high", "simulated"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
