"""Element balances in one year: supply, consumption, stocks and prices beside the record's.

Co-produced elements come out of the ore in its own proportions, whatever each element's
demand, so most of the 16 elements are separated in surplus. Where a surplus goes (into whose
stocks, for how many years of consumption) and whether its price answers is the first thing an
analyst checks of a co-product market: this table shows it element by element for 2010, the
eve of the export crisis (the stocks that China's market carried into it decide whether its
prices can answer a drain), and for 2020, the last year with recorded prices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from reesim.indicators import mean_by_year, year_end
from reesim.validation.observations import Observations, load_observations, point_values

BALANCE_YEAR = 2020
"""Default year of :func:`element_balance_table`: the last year of the recorded prices."""
BALANCE_YEARS = (2010, BALANCE_YEAR)
"""Years of :func:`element_balance_tables`: the crisis' eve and the last year of prices."""

COLUMNS = ["element", "mine_output", "separation_output", "separation_residue", "consumption",
           "supply_to_consumption", "stocks", "stock_years", "price_china", "price_export",
           "record_china", "record_export"]
"""Columns: t REO/yr (outputs, what separators left unseparated because the world's sellers
held years of it, consumption), 1 (ratio), t REO and years of consumption
(separated-oxide stocks of every holder at the year's end), USD/kg (annual mean prices and the
mean of the record's observations dated in the year, a range counting by its midpoint)."""


def _median(da: xr.DataArray) -> xr.DataArray:
    return da.median("member") if "member" in da.dims else da


def _recorded(prices: pd.DataFrame, year: int) -> dict[tuple[str, str], float]:
    """Mean observed price (USD/kg) of each (element, market) dated in ``year``."""
    rows = prices[prices.period_start.dt.year == year]
    means = point_values(rows).groupby([rows["product"], rows.market]).mean().dropna()
    return {key: float(v) for key, v in means.items()}


def element_balance_table(ds: xr.Dataset, obs: Observations | None = None,
                          year: int = BALANCE_YEAR) -> pd.DataFrame:
    """One row per element of ``year`` (columns :data:`COLUMNS`), median over members.

    Empty if the run does not cover the year. ``obs`` defaults to the packaged record.
    """
    if year not in ds.year.values:
        return pd.DataFrame(columns=COLUMNS)
    obs = obs if obs is not None else load_observations()
    flows = {
        "mine_output": ds.mine_output.sum("producer"),
        "separation_output": ds.separation_output.sum("region"),
        # results written before the thirty-first session (2026-12-05) have no residue
        "separation_residue": (ds.separation_residue.sum("region")
                               if "separation_residue" in ds
                               else xr.zeros_like(ds.separation_output.sum("region"))),
        "consumption": ds.consumption.sum("application"),
        "price_china": ds.price.sel(market="china", drop=True),
        "price_export": ds.price.sel(market="export", drop=True),
    }
    annual = {name: _median(mean_by_year(da).sel(year=year)) for name, da in flows.items()}
    stocks = _median(year_end(ds.inventory.sum("holder")).sel(year=year))
    recorded = _recorded(obs.prices, year)
    rows = []
    for element in ds.element.values:
        e = str(element)
        value = {name: float(da.sel(element=e)) for name, da in annual.items()}
        stock = float(stocks.sel(element=e))
        use = value["consumption"]
        rows.append({
            "element": e, "mine_output": value["mine_output"],
            "separation_output": value["separation_output"],
            "separation_residue": value["separation_residue"], "consumption": use,
            "supply_to_consumption": value["separation_output"] / use if use > 0 else np.nan,
            "stocks": stock, "stock_years": stock / use if use > 0 else np.nan,
            "price_china": value["price_china"], "price_export": value["price_export"],
            "record_china": recorded.get((e, "china"), np.nan),
            "record_export": recorded.get((e, "export"), np.nan),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def element_balance_tables(ds: xr.Dataset, obs: Observations | None = None,
                           years: tuple[int, ...] = BALANCE_YEARS) -> pd.DataFrame:
    """:func:`element_balance_table` of each of ``years`` the run covers, with a ``year`` column."""
    obs = obs if obs is not None else load_observations()
    tables = [element_balance_table(ds, obs, year).assign(year=year) for year in years
              if year in ds.year.values]
    if not tables:
        return pd.DataFrame(columns=["year", *COLUMNS])
    return pd.concat(tables, ignore_index=True)[["year", *COLUMNS]]
