"""Exports: outcomes and variables as CSV or XLSX, and the IAMC long format.

The IAMC format (columns model, scenario, region, variable, unit, year, value) is what pyam and
the IAMC tools read. Variables are named ``name|label|label`` from their non-region dimensions;
``region`` and ``exporter`` dimensions become the region column under readable names (China's
four districts as ``China|Baotou`` ... in the IAMC's native-region style, the rest by country
or area name), with ``China`` and ``World`` totals of every variable counted in tonnes, cubic
metres or tonnes of thorium (``exports``, China's by district, only the ``China`` total);
anything else is ``World``.
Monthly results are reduced to years (stocks at year end, flows and prices as annual means).
An ensemble's members become scenarios ``<scenario>|member <i>``. Files are written
atomically and never overwrite an existing file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import xarray as xr

from reesim.errors import InputError
from reesim.output import note_written, replace_atomically

FORMATS = ("csv", "xlsx", "iamc")
MODEL_NAME = "reesim"
XLSX_MAX_ROWS = 1_048_575
REGION_DIMS = ("region", "exporter")
REGION_NAMES = {
    "baotou": "China|Baotou", "sichuan": "China|Sichuan", "shandong": "China|Shandong",
    "south_china": "China|South China", "myanmar": "Myanmar", "australia": "Australia",
    "malaysia": "Malaysia", "usa": "United States", "russia": "Russia", "india": "India",
    "brazil": "Brazil", "europe": "Europe", "africa": "Africa",
    "southeast_asia": "Southeast Asia"}
"""IAMC region of each of the model's separation regions (unknown ids are kept as they are)."""
SUMMABLE_UNITS = ("t REO", "t REO/yr", "t", "t/yr", "t ThO2/yr", "m3/yr")
"""Units of quantities that add up over regions (not prices or shares)."""


def open_results(run_dir: str | Path) -> tuple[xr.Dataset, str]:
    """(dataset, scenario name) of a run folder (results.nc) or an ensemble (kept.zarr)."""
    folder = Path(run_dir)
    if (folder / "results.nc").is_file():
        manifest = json.loads((folder / "manifest.json").read_text())
        return xr.open_dataset(folder / "results.nc", engine="h5netcdf"), manifest["scenario"]
    if (folder / "ensemble.json").is_file():
        from reesim.ensemble.runner import open_kept, read_spec

        return open_kept(folder), read_spec(folder).get("scenario", "ensemble")
    raise InputError(f"{folder} is neither a run folder (results.nc) nor an ensemble "
                     "(ensemble.json)", field="RUN")


def variable_table(ds: xr.Dataset, variable: str) -> pd.DataFrame:
    """One variable as a long table (one column per dimension, then ``value``)."""
    if variable not in ds.data_vars:
        raise InputError(f"unknown variable {variable!r}", field="--variable",
                         allowed=", ".join(ds.data_vars))
    da = ds[variable]
    table = da.to_dataframe(name="value").reset_index()
    keep = [*da.dims, "value"]
    return table[keep]


def _annual(da: xr.DataArray) -> xr.DataArray:
    """Reduce a time series to years: stocks at year end, everything else as annual means."""
    if "time" not in da.dims:
        return da
    years = da["year"] if "year" in da.coords else da["time"].dt.year
    grouped = da.assign_coords(year=("time", years.values)).groupby("year")
    return grouped.last() if da.attrs.get("kind") == "stock" else grouped.mean()


def iamc_table(ds: xr.Dataset, scenario: str, variables: list[str] | None = None) -> pd.DataFrame:
    """The IAMC long format of ``variables`` (default: every variable with a time dimension)."""
    names = variables or [v for v in ds.data_vars if "time" in ds[v].dims]
    frames = []
    for name in names:
        if name not in ds.data_vars or "time" not in ds[name].dims:
            raise InputError(f"{name!r} is not a time series of this result", field="--variable",
                             allowed=", ".join(v for v in ds.data_vars if "time" in ds[v].dims))
        da = _annual(ds[name])
        table = da.to_dataframe(name="value").reset_index()
        region_dim = next((d for d in REGION_DIMS if d in da.dims), None)
        if region_dim:
            table = _with_region_totals(table, region_dim,
                                        [d for d in da.dims if d != region_dim],
                                        da.attrs.get("units", "") in SUMMABLE_UNITS)
        else:
            table["region"] = "World"
        parts = [d for d in da.dims if d not in ("member", "year", region_dim)]
        label = table[parts].astype(str).agg("|".join, axis=1) if parts else ""
        table["variable"] = (name + "|" + label) if parts else name
        table["unit"] = da.attrs.get("units", "")
        members = ds.sizes.get("member", 1)
        if "member" in table and members > 1:
            table["scenario"] = scenario + "|member " + table["member"].astype(str)
        else:
            table["scenario"] = scenario
        table["model"] = MODEL_NAME
        frames.append(table[["model", "scenario", "region", "variable", "unit", "year", "value"]])
    return pd.concat(frames, ignore_index=True)


def _with_region_totals(table: pd.DataFrame, region_dim: str, keys: list[str],
                        summable: bool) -> pd.DataFrame:
    """``table`` with its IAMC ``region`` named, plus China and World totals when ``summable``.

    ``keys`` are the variable's other dimensions (the totals' rows; labels on the region
    dimension, such as its long name, do not add up and are left out of them). China's regions
    are those the result marks as such (``region_market``); every exporter is China's.
    """
    market = table.get(f"{region_dim}_market")
    in_china = (market == "china") if market is not None else pd.Series(
        region_dim == "exporter", index=table.index)
    ids = table.pop(region_dim).astype(str)         # the dimension may itself be "region"
    table = table.assign(region=ids.map(REGION_NAMES).fillna(ids))
    if not summable:
        return table
    china = table[in_china]
    totals = []
    if region_dim != "exporter":        # China's exports by district: their total is China's
        totals.append(table.groupby(keys, sort=False, as_index=False)["value"].sum().assign(
            region="World"))
    if len(china):
        totals.append(china.groupby(keys, sort=False, as_index=False)["value"].sum().assign(
            region="China"))
    return pd.concat([table, *totals], ignore_index=True)


def write_table(table: pd.DataFrame, out: str | Path, fmt: str) -> Path:
    """Write ``table`` as CSV (``csv``, ``iamc``) or XLSX, atomically, never over a file."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}", field="--format", allowed=", ".join(FORMATS))
    path = Path(out)
    if path.exists():
        raise InputError(f"{path} exists; choose another --out (reesim never overwrites a file)",
                         field="--out")
    if fmt == "xlsx" and len(table) > XLSX_MAX_ROWS:
        raise InputError(f"{len(table)} rows do not fit in one XLSX sheet", field="--format",
                         allowed=f"csv, or at most {XLSX_MAX_ROWS} rows")
    if fmt == "xlsx":
        written = replace_atomically(path, lambda tmp: table.to_excel(tmp, index=False,
                                                                      engine="openpyxl"))
    else:
        written = replace_atomically(path, lambda tmp: table.to_csv(tmp, index=False))
    note_written(written)
    return written
