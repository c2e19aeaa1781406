"""The run summary: a few tables a reader of the industry checks first, as tidy records.

Each function returns a list of records (``section, metric, key, year, value, unit``) so the
same numbers go to the terminal (rich tables) and to ``summary.csv``. Ensembles are summarised by
their median, with the 5th and 95th percentiles where members > 1.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Sequence

import numpy as np
import xarray as xr

from reesim import indicators as ind
from reesim.indicators import mean_by_year, year_end

KEY_OXIDES = ("La", "Ce", "Pr", "Nd", "Dy", "Tb", "Eu", "Y")
DEFAULT_YEARS = (2000, 2005, 2010, 2011, 2015, 2020, 2030, 2040, 2050)


def _stats(da: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray | None, xr.DataArray | None]:
    if da.sizes.get("member", 1) == 1:
        return da.isel(member=0), None, None
    q = da.quantile([0.05, 0.5, 0.95], dim="member", skipna=False)
    return q.sel(quantile=0.5), q.sel(quantile=0.05), q.sel(quantile=0.95)


def _record_rows(section: str, metric: str, da: xr.DataArray, unit: str,
                 key_dim: str | None, years: Sequence[int], by_member: bool = False
                 ) -> list[dict]:
    """Tidy records of an (member, year[, key]) array at ``years``.

    Ensembles give their median with ``p05`` and ``p95``, or with ``by_member`` one record per
    member (``member``: its index), as paired comparisons need (:mod:`reesim.compare`).
    """
    dims = ("year", key_dim) if key_dim else ("year",)
    if by_member:
        rows = {year: i for i, year in enumerate(da.year.values.tolist())}
        keys = list(da[key_dim].values) if key_dim else [""]
        values = (da if "member" in da.dims else da.expand_dims("member")).transpose(
            "member", *dims).values
        return [{"section": section, "metric": metric, "key": str(key), "year": int(year),
                 "value": float(values[(m, rows[year], j) if key_dim else (m, rows[year])]),
                 "unit": unit, "member": m}
                for m in range(values.shape[0]) for year in years if year in rows
                for j, key in enumerate(keys)]
    mid, low, high = _stats(da)
    # plain arrays read by position: a label lookup (.sel) per cell cost 0.3 s a summary
    values, lows, highs = (None if a is None else a.transpose(*dims).values
                           for a in (mid, low, high))
    rows = {year: i for i, year in enumerate(mid.year.values.tolist())}
    out = []
    keys = list(mid[key_dim].values) if key_dim else [""]
    for year in years:
        if year not in rows:
            continue
        for j, key in enumerate(keys):
            at = (rows[year], j) if key_dim else (rows[year],)
            rec = {"section": section, "metric": metric, "key": str(key), "year": int(year),
                   "value": float(values[at]), "unit": unit}
            if lows is not None and highs is not None:
                rec["p05"], rec["p95"] = float(lows[at]), float(highs[at])
            out.append(rec)
    return out


def summary_records(ds: xr.Dataset, years: Sequence[int] = DEFAULT_YEARS,
                    by_member: bool = False) -> list[dict]:
    """Every summary table of a result as tidy records (each member's with ``by_member``)."""
    years = [y for y in years if y in set(ds.year.values.tolist())]
    rows_for = functools.partial(_record_rows, by_member=by_member)
    recs: list[dict] = []
    price = mean_by_year(ds.price.sel(element=list(KEY_OXIDES)))
    for market in ("china", "export"):
        recs += rows_for("prices", f"price_{market}", price.sel(market=market), "USD/kg",
                         "element", years)

    china = mean_by_year(ind.china_mine_output(ds))
    world = mean_by_year(ind.world_mine_output(ds))
    bayan = mean_by_year(ind.bayan_obo_mine_output(ds))
    recs += rows_for("supply", "world_mine_output", world / 1e3, "kt REO/yr", None, years)
    recs += rows_for("supply", "china_mine_output", china / 1e3, "kt REO/yr", None, years)
    recs += rows_for("supply", "china_share_of_world_output", ind.share_pct(china, world), "%",
                     None, years)
    recs += rows_for("supply", "bayan_obo_share_of_china_output", ind.share_pct(bayan, china),
                     "%", None, years)
    recs += rows_for("supply", "bayan_obo_share_of_china_reserves",
                     ind.bayan_obo_share_of_china_reserves_pct(ds), "%", None, years)
    exports = mean_by_year(ind.china_exports(ds))
    recs += rows_for("trade", "china_exports", exports / 1e3, "kt REO/yr", None, years)
    recs += rows_for("trade", "baotou_share_of_china_exports",
                     ind.share_pct(mean_by_year(ind.baotou_exports(ds)), exports), "%", None,
                     years)
    if "smuggled_exports" in ds and bool((ds.smuggled_exports != 0).any()):   # the lever is on
        smuggled = mean_by_year(ds.smuggled_exports.sum("element"))
        recs += rows_for("trade", "china_smuggled_exports", smuggled / 1e3, "kt REO/yr", None,
                         years)

    stocks = year_end(ds.inventory.sel(holder=["producers_china", "producers_export",
                                               "trading_company", "state_reserve"]).sum("holder"))
    use = mean_by_year(ds.consumption.sum("application"))
    recs += rows_for("balance", "unsold_stock_years_of_use", stocks / use.where(use > 0),
                     "years of use", "element", years)
    dem = mean_by_year(ds.demand.sum("application"))
    unmet = mean_by_year(ds.unmet_demand.sum("application"))
    recs += rows_for("balance", "unmet_share_of_demand", 100 * unmet / dem.where(dem > 0), "%",
                     "element", years)
    unmet_app = mean_by_year(ds.unmet_demand.sum("element"))
    recs += rows_for("demand", "unmet_demand", unmet_app / 1e3, "kt REO/yr", "application",
                     years)

    if "magnet_output" in ds:                       # results written before the magnet layer
        made = mean_by_year(ds.magnet_output.sum("element"))
        recs += rows_for("magnets", "china_share_of_magnet_making",
                         ind.share_pct(made.sel(market="china"), made.sum("market")), "%", None,
                         years)
        trade = mean_by_year(ds.magnet_trade.sum("element"))
        recs += rows_for("magnets", "china_magnet_exports",
                         trade.sel(market="china", destination="export") / 1e3,
                         "kt REO/yr in magnets", None, years)
        short = mean_by_year(ds.magnet_shortfall.sum("element")) / 1e3
        for market in ("china", "export"):
            recs += rows_for("magnets", f"magnet_shortfall_{market}",
                             short.sel(destination=market), "kt REO/yr in magnets", None, years)

    recs += rows_for("environment", "tailings_stock", year_end(ds.tailings_stock.sum("element"))
                     / 1e6, "Mt REO", None, years)
    thorium = mean_by_year(ds.thorium.sum(["region", "stage"]))
    recs += rows_for("environment", "thorium_cumulative", thorium.cumsum("year") / 1e3,
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
