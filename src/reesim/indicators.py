"""Indicators of a result that several reports share: one definition each.

The run summary, the claims table, validation and calibration all read China's and the world's
mine output, Bayan Obo's shares and China's exports from here, so a definition changes in one
place. Every function takes a result dataset (monthly or annual records, any members) and
returns (member, time) arrays unless it says otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

BAOTOU = "baotou"
"""Region of the Baotou cluster (separation and exports)."""
BAYAN_OBO = "bayan_obo"
"""The Bayan Obo producer (by-product of iron ore)."""


def mined_in_china(ds: xr.Dataset) -> xr.DataArray:
    """Boolean mask over producers whose mining region sells in the China market."""
    market = dict(zip(ds.region.values.tolist(), ds.region_market.values.tolist(), strict=True))
    return xr.DataArray([market[r] == "china" for r in ds.producer_region.values],
                        dims="producer", coords={"producer": ds.producer})


def mean_by_year(da: xr.DataArray) -> xr.DataArray:
    """Annual means of a (member, time, ...) flow or price, indexed by ``year`` (int).

    The same as ``da.groupby("year").mean("time")``, bit for bit: when the years come in
    consecutive blocks of equal length (every result: whole years, monthly or annual records)
    the time axis is split into (year, period of the year) and the mean taken over the second
    axis in one reduction (the same numpy reduction as the groupby's per year, on the same
    values in the same order) instead of one reduction per year: 0.25 s less for the summary of
    a default monthly run, which made 885 of them.
    """
    blocks = _year_blocks(da)
    if blocks is None:
        return da.groupby("year").mean("time")
    years, per_year = blocks
    axis = da.get_axis_num("time")
    dims = (*da.dims[:axis], "year", "_period_of_year", *da.dims[axis + 1:])
    shape = (*da.shape[:axis], len(years), per_year, *da.shape[axis + 1:])
    split = xr.Variable(dims, da.variable.values.reshape(shape), da.attrs)
    means = split.mean("_period_of_year", keep_attrs=True)
    coords = {name: coord.variable for name, coord in da.coords.items()
              if "time" not in coord.dims}
    coords["year"] = xr.Variable("year", years, da.coords["year"].attrs)
    return xr.DataArray(means, coords=coords, name=da.name)


def _year_blocks(da: xr.DataArray) -> tuple[np.ndarray, int] | None:
    """(years, periods per year) if ``da``'s time axis is whole blocks of increasing years."""
    if "time" not in da.dims or "year" not in da.coords or da.coords["year"].dims != ("time",) \
            or da.dtype.kind != "f" or da.sizes["time"] == 0 or "year" in da.dims:
        return None
    years = da.coords["year"].values
    first = np.flatnonzero(np.r_[True, years[1:] != years[:-1]])
    per_year = len(years) // len(first)
    if per_year * len(first) != len(years) or np.any(np.diff(first) != per_year):
        return None
    unique = years[first]
    if np.any(np.diff(unique) <= 0):
        return None
    return unique, per_year


def annual_on_time(da: xr.DataArray) -> xr.DataArray:
    """Annual means on a ``time`` axis stamped 1 January (with a ``year`` coordinate).

    For series compared with observation windows, which need time stamps.
    """
    out = mean_by_year(da)
    years = out.year.values
    out = out.rename(year="time").assign_coords(
        time=pd.to_datetime([f"{int(y)}-01-01" for y in years]))
    return out.assign_coords(year=("time", years))


def year_end(da: xr.DataArray) -> xr.DataArray:
    """Year-end values of a stock, indexed by ``year``."""
    return da.groupby("year").last("time")


def counted_by_record(ds: xr.Dataset) -> xr.DataArray:
    """Boolean mask over producers the public record counts: all but illegal supply.

    USGS reports China's mining quota as its output and leaves undocumented (illegal) output
    out, so a like-with-like comparison with the record drops the producers whose
    ``producer_legal`` is False (``producers.csv``: ``south_china_illegal``).
    """
    if "producer_legal" not in ds.coords:
        return xr.DataArray(np.ones(ds.sizes["producer"], bool), dims="producer",
                            coords={"producer": ds.producer})
    return ds.producer_legal.astype(bool)


def producer_mine_output(ds: xr.Dataset) -> xr.DataArray:
    """Mine output of every producer, all elements, t REO/yr (member, time, producer).

    The totals below mask this array on its producer axis instead of the (member, time,
    producer, element) records: a sixteenth of the values, and no NaN-skipping (the records
    are checked for NaN when a run ends), which made the calibration's metrics of a 24-member
    batch 0.6 s faster.
    """
    return ds.mine_output.sum("element", skipna=False)


def total_of(by_producer: xr.DataArray, mask: xr.DataArray | None = None) -> xr.DataArray:
    """Sum of a (..., producer) array over the producers in ``mask`` (all if None)."""
    if mask is not None:
        by_producer = by_producer.where(mask, 0.0)
    return by_producer.sum("producer", skipna=False)


def region_mask(ds: xr.Dataset, region: str) -> xr.DataArray:
    """Boolean mask over producers mined in ``region``."""
    return xr.DataArray(ds.producer_region.values == region, dims="producer",
                        coords={"producer": ds.producer})


def china_mask(ds: xr.Dataset, recorded_only: bool = False) -> xr.DataArray:
    """Boolean mask over producers mined in China.

    ``recorded_only``: and counted by the record, i.e. without the illegal supply (see
    :func:`counted_by_record`).
    """
    mask = mined_in_china(ds)
    return mask & counted_by_record(ds) if recorded_only else mask


def world_mine_output(ds: xr.Dataset, recorded_only: bool = False) -> xr.DataArray:
    """World mine output, t REO/yr (``recorded_only``: without the illegal supply)."""
    return total_of(producer_mine_output(ds), counted_by_record(ds) if recorded_only else None)


def region_mine_output(ds: xr.Dataset, region: str) -> xr.DataArray:
    """Mine output (member, time) of the producers mined in ``region``, t REO/yr."""
    return total_of(producer_mine_output(ds), region_mask(ds, region))


def china_mine_output(ds: xr.Dataset, recorded_only: bool = False) -> xr.DataArray:
    """China's mine output (producers mined in China), t REO/yr.

    Illegal supply is included unless ``recorded_only`` (the basis of the record, which counts
    China's quota: :func:`counted_by_record`).
    """
    return total_of(producer_mine_output(ds), china_mask(ds, recorded_only))


def bayan_obo_mine_output(ds: xr.Dataset) -> xr.DataArray:
    """Bayan Obo's mine output, t REO/yr."""
    return ds.mine_output.sel(producer=BAYAN_OBO).sum("element")


def china_exports(ds: xr.Dataset) -> xr.DataArray:
    """China's exports of separated products, t REO/yr."""
    return ds.exports.sum(["exporter", "element"])


def baotou_exports(ds: xr.Dataset) -> xr.DataArray:
    """Exports of separated products from the Baotou region, t REO/yr."""
    return ds.exports.sel(exporter=BAOTOU).sum("element")


def share_pct(part: xr.DataArray, whole: xr.DataArray) -> xr.DataArray:
    """100 x part / whole (NaN where the whole is 0)."""
    return 100 * part / whole.where(whole != 0)


def bayan_obo_share_of_china_reserves_pct(ds: xr.Dataset) -> xr.DataArray:
    """Bayan Obo's share of China's quantified reserves at year end, % (member, year).

    Reserves of unknown size (inf in the inputs) are left out, so this is an upper bound.
    """
    reserves = year_end(ds.reserves)
    quantified = mined_in_china(ds) & np.isfinite(reserves.isel(year=0, member=0))
    return 100 * reserves.sel(producer=BAYAN_OBO) / reserves.where(quantified, 0.0).sum(
        "producer")
