"""The run summary: a few tables a reader of the industry checks first, as tidy records.

Each function returns a list of records (``section, metric, key, year, value, unit``) so the
same numbers go to the terminal (rich tables) and to ``summary.csv``. Ensembles are summarised by
their median, with the 5th and 95th percentiles where members > 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np
import xarray as xr

from reesim.selectors import mined_in_china

KEY_OXIDES = ("La", "Ce", "Pr", "Nd", "Dy", "Tb", "Eu", "Y")
DEFAULT_YEARS = (2000, 2005, 2010, 2011, 2015, 2020, 2030, 2040, 2050)
BAOTOU = "baotou"
BAYAN_OBO = "bayan_obo"


def annual(da: xr.DataArray) -> xr.DataArray:
    """Annual means of a monthly or annual (member, time, ...) array, indexed by ``year``."""
    return da.groupby("year").mean("time")


def year_end(da: xr.DataArray) -> xr.DataArray:
    """Year-end values of a stock, indexed by ``year``."""
    return da.groupby("year").last("time")


def _stats(da: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray | None, xr.DataArray | None]:
    if da.sizes.get("member", 1) == 1:
        return da.isel(member=0), None, None
    q = da.quantile([0.05, 0.5, 0.95], dim="member", skipna=False)
    return q.sel(quantile=0.5), q.sel(quantile=0.05), q.sel(quantile=0.95)


def _records(section: str, metric: str, da: xr.DataArray, unit: str, key_dim: str | None,
             years: Sequence[int]) -> list[dict]:
    """Tidy records of an (member, year[, key]) array at ``years``."""
    mid, low, high = _stats(da)
    out = []
    keys = list(mid[key_dim].values) if key_dim else [""]
    for year in years:
        if year not in mid.year.values:
            continue
        for key in keys:
            sel = {"year": year} | ({key_dim: key} if key_dim else {})
            rec = {"section": section, "metric": metric, "key": str(key), "year": int(year),
                   "value": float(mid.sel(sel)), "unit": unit}
            if low is not None and high is not None:
                rec["p05"], rec["p95"] = float(low.sel(sel)), float(high.sel(sel))
            out.append(rec)
    return out


def summary_records(ds: xr.Dataset, years: Sequence[int] = DEFAULT_YEARS) -> list[dict]:
    """Every summary table of a result as tidy records."""
    years = [y for y in years if y in set(ds.year.values.tolist())]
    recs: list[dict] = []
    price = annual(ds.price.sel(element=list(KEY_OXIDES)))
    for market in ("china", "export"):
        recs += _records("prices", f"price_{market}", price.sel(market=market), "USD/kg",
                         "element", years)

    mine = annual(ds.mine_output.sum("element"))
    china = mine.where(mined_in_china(ds), 0.0).sum("producer")
    world = mine.sum("producer")
    bayan = mine.sel(producer=BAYAN_OBO)
    recs += _records("supply", "world_mine_output", world / 1e3, "kt REO/yr", None, years)
    recs += _records("supply", "china_mine_output", china / 1e3, "kt REO/yr", None, years)
    recs += _records("supply", "china_share_of_world_output", 100 * china / world, "%", None,
                     years)
    recs += _records("supply", "bayan_obo_share_of_china_output", 100 * bayan / china, "%",
                     None, years)
    reserves = year_end(ds.reserves)
    quantified = mined_in_china(ds) & np.isfinite(reserves.isel(year=0, member=0))
    china_res = reserves.where(quantified, 0.0).sum("producer")
    recs += _records("supply", "bayan_obo_share_of_china_reserves",
                     100 * reserves.sel(producer=BAYAN_OBO) / china_res, "%", None, years)
    exports = annual(ds.exports.sum("element"))
    recs += _records("trade", "china_exports", exports.sum("exporter") / 1e3, "kt REO/yr", None,
                     years)
    recs += _records("trade", "baotou_share_of_china_exports",
                     100 * exports.sel(exporter=BAOTOU) / exports.sum("exporter"), "%", None,
                     years)

    stocks = year_end(ds.inventory.sel(holder=["producers_china", "producers_export",
                                               "trading_company", "state_reserve"]).sum("holder"))
    use = annual(ds.consumption.sum("application"))
    recs += _records("balance", "unsold_stock_years_of_use", stocks / use.where(use > 0),
                     "years of use", "element", years)
    dem = annual(ds.demand.sum("application"))
    unmet = annual(ds.unmet_demand.sum("application"))
    recs += _records("balance", "unmet_share_of_demand", 100 * unmet / dem.where(dem > 0), "%",
                     "element", years)
    unmet_app = annual(ds.unmet_demand.sum("element"))
    recs += _records("demand", "unmet_demand", unmet_app / 1e3, "kt REO/yr", "application",
                     years)

    recs += _records("environment", "tailings_stock", year_end(ds.tailings_stock.sum("element"))
                     / 1e6, "Mt REO", None, years)
    thorium = annual(ds.thorium.sum(["region", "stage"]))
    recs += _records("environment", "thorium_cumulative", thorium.cumsum("year") / 1e3,
                     "kt ThO2", None, years)
    return recs


def to_csv(records: list[dict]) -> str:
    """``summary.csv`` text: one row per record."""
    fields = ["section", "metric", "key", "year", "value", "unit", "p05", "p95"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        row = dict(rec)
        for k in ("value", "p05", "p95"):
            if k in row and np.isfinite(row[k]):
                row[k] = f"{row[k]:.6g}"
        writer.writerow(row)
    return buf.getvalue()
