"""Mine output of single elements beside the few published figures of it.

The record of mine output is by country in t REO; what each element contributes comes from the
deposits' distributions, so a wrong distribution shows only here: Dy mined c.2020 (Adamas),
yttrium (USGS), scandium (USGS), and the Dy and Tb content of China's 2018 imports from
Myanmar (Roskill). The world's supply of separated NdPr oxide in 2018 (Arafura, illegal supply
included) is set beside the run's separated Nd and Pr (scope ``world, separated``).
:func:`element_supply_table` puts each published figure beside the run's output of the same
element, year and scope (median over members).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from reesim.datasets import load_table
from reesim.indicators import mean_by_year

COLUMNS = ["element", "year", "scope", "simulated_t", "recorded_t", "recorded_low_t",
           "recorded_high_t", "ratio", "basis", "source"]
"""Columns: t REO/yr (the run's annual mine output, or separated output for the scope ``world,
separated``; the record's value, or the midpoint of its range, and the range), simulated /
recorded, the record's basis and source."""

_WORLD_METRIC = re.compile(r"mine production|^production$|global production", re.IGNORECASE)
_MYANMAR_CONTENT = re.compile(r"(\d[\d,]*) t (Dy2O3|Tb4O7)")


def _world_rows() -> list[dict[str, object]]:
    """World mine output of one element in one year, from ``reference/minor_elements.csv``."""
    table = load_table("reference", "minor_elements")
    picked = table[table.metric.astype(str).str.contains(_WORLD_METRIC)
                   & table.category.astype(str).str.contains("world")
                   & table.year.notna() & (table.year == table.year_end)]
    rows = []
    for _, row in picked.iterrows():
        low = row.value_low if pd.notna(row.value_low) else row.value
        high = row.value_high if pd.notna(row.value_high) else row.value
        if pd.isna(low) or pd.isna(high):
            continue                                  # a figure in words only
        value = row.value if pd.notna(row.value) else 0.5 * (low + high)
        rows.append({"element": row.element, "year": int(row.year), "scope": "world",
                     "recorded_t": float(value), "recorded_low_t": float(low),
                     "recorded_high_t": float(high), "basis": row.basis,
                     "source": row.source})
    return rows


def _myanmar_rows() -> list[dict[str, object]]:
    """Dy and Tb in China's imports from Myanmar, from ``reference/policy.csv`` (Roskill 2018)."""
    table = load_table("reference", "policy")
    rows = []
    for _, row in table.iterrows():
        text = " ".join(str(v) for v in row.to_numpy())
        if "imported from Myanmar" not in text:
            continue
        for tonnes, oxide in _MYANMAR_CONTENT.findall(text):
            value = float(tonnes.replace(",", ""))
            rows.append({"element": oxide[:2], "year": int(row.year), "scope": "myanmar",
                         "recorded_t": value, "recorded_low_t": value,
                         "recorded_high_t": value, "basis": row.basis, "source": row.source})
    return rows


def _separated_rows() -> list[dict[str, object]]:
    """World supply of a group's separated oxide in one year, from the record.

    The ``supply`` rows of ``reference/demand_by_application.csv``: Arafura's NdPr of 2018.
    Each row's ``elements`` lists the group (its ``element`` label joins them: "NdPr").
    """
    table = load_table("reference", "demand_by_application")
    picked = table[(table.metric.astype(str) == "supply") & (table.scope == "World")
                   & table.year.notna() & (table.year == table.year_end) & table.value.notna()]
    rows = []
    for _, row in picked.iterrows():
        elements = [e.strip() for e in str(row.elements).split(",")]
        rows.append({"element": "".join(elements), "elements": elements, "year": int(row.year),
                     "scope": "world, separated", "recorded_t": float(row.value),
                     "recorded_low_t": float(row.value), "recorded_high_t": float(row.value),
                     "basis": row.basis, "source": row.source})
    return rows


def _median(tonnes: xr.DataArray) -> float:
    """A run's figure: the median over members where there are several."""
    return float(tonnes.median("member") if "member" in tonnes.dims else tonnes)


def element_supply_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per published figure the run covers (columns :data:`COLUMNS`)."""
    mined = mean_by_year(ds.mine_output)
    separated = mean_by_year(ds.separation_output).sum("region")
    myanmar = [p for p in ds.producer.values if str(p).startswith("myanmar")]
    out = []
    for row in _separated_rows():
        elements = row.pop("elements")
        if row["year"] not in separated.year.values or not set(elements) <= set(ds.element.values):
            continue
        simulated = _median(separated.sel(year=row["year"], element=elements).sum("element"))
        out.append({**row, "simulated_t": simulated, "ratio": simulated / row["recorded_t"]})
    for row in _world_rows() + _myanmar_rows():
        if (row["year"] not in mined.year.values or row["element"] not in ds.element.values
                or (row["scope"] == "myanmar" and not myanmar)):
            continue                          # not in the run (years, elements, producers)
        part = mined.sel(year=row["year"], element=row["element"])
        part = part.sel(producer=myanmar) if row["scope"] == "myanmar" else part
        simulated = _median(part.sum("producer"))
        ratio = simulated / row["recorded_t"] if row["recorded_t"] > 0 else np.nan
        out.append({**row, "simulated_t": simulated, "ratio": ratio})
    frame = pd.DataFrame(out, columns=COLUMNS)
    return frame.sort_values(["element", "year", "scope"], ignore_index=True)
