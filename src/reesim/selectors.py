"""Selections on a result dataset that several reports share."""

from __future__ import annotations

import xarray as xr


def mined_in_china(ds: xr.Dataset) -> xr.DataArray:
    """Boolean mask over producers whose mining region sells in the China market."""
    market = dict(zip(ds.region.values.tolist(), ds.region_market.values.tolist(), strict=True))
    return xr.DataArray([market[r] == "china" for r in ds.producer_region.values],
                        dims="producer", coords={"producer": ds.producer})
