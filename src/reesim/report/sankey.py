"""Element flows of one year as a Sankey: mine -> separation -> markets -> applications -> use.

The layers are taken from the result's variables (:data:`LAYERS`): a layer is drawn when its
variable is in the dataset, so a product layer such as ``magnet_output`` (t REO/yr by region)
slots in between the markets and the applications as soon as the model records it. Flows are
annual t REO/yr (the mean of the year's rates); an ensemble shows each link's median.

Two links are allocations, not recorded flows, and say so in their hover text: the model pools
each market, so consumption by application and recycled material are split between the China
and the export market in proportion to each market's consumption.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import xarray as xr

log = logging.getLogger("reesim.report.sankey")

ALL = "all"
"""The element choice that sums every element."""


@dataclass(frozen=True)
class Layer:
    """A column of the Sankey: its name, the variable that defines it and the grouping dim."""

    name: str
    variable: str
    dim: str


LAYERS: tuple[Layer, ...] = (
    Layer("mine", "mine_output", "producer_region"),
    Layer("separation", "separation_output", "region"),
    Layer("market", "market_consumption", "market"),
    Layer("magnets", "magnet_output", "market"),
    Layer("application", "consumption", "application"),
)
"""Candidate layers in chain order; :func:`layers` keeps those the dataset records."""

HOLDER_MARKET = {"producers_china": "china", "consumers_china": "china",
                 "trading_company": "china", "state_reserve": "china",
                 "producers_export": "export", "consumers_export": "export"}
"""The market each inventory holder sits in (the trading company and the reserve are Chinese)."""

COLOURS = {"mine": "#8c564b", "separation": "#1f77b4", "market": "#2ca02c",
           "magnets": "#9467bd", "application": "#ff7f0e", "sink": "#7f7f7f",
           "source": "#17becf"}
MIN_FLOW_T = 0.5
"""Links below this many t REO/yr are not drawn."""


def layers(ds: xr.Dataset) -> list[Layer]:
    """The Sankey's layers present in ``ds``, in chain order."""
    return [layer for layer in LAYERS if layer.variable in ds.data_vars]


Link = tuple[str, str, np.ndarray, str]
"""(source, target, (member, element) t REO/yr, note)."""


def _year(ds: xr.Dataset, year: int) -> xr.Dataset:
    mask = ds.year == year
    if not bool(mask.any()):
        raise ValueError(f"year {year} is not in the result ({int(ds.year.min())}-"
                         f"{int(ds.year.max())})")
    return ds.isel(time=np.flatnonzero(mask.values))


def _year_end_inventory(ds: xr.Dataset, year: int) -> tuple[xr.DataArray, xr.DataArray]:
    """Inventory at the end of ``year`` and at the end of the year before (t REO)."""
    inv = ds.inventory
    end = inv.isel(time=int(np.flatnonzero(ds.year.values == year)[-1]))
    before = np.flatnonzero(ds.year.values < year)
    start = inv.isel(time=int(before[-1])) if len(before) else ds.inventory_initial
    return end, start


def _by(da: xr.DataArray, *dims: str) -> tuple[list[list[str]], np.ndarray]:
    """Labels of ``dims`` and the values as (member, *dims, element): one transpose, no sel.

    Missing values (NaN, e.g. regions without a product layer's output) count as no flow.
    """
    values = np.nan_to_num(da.transpose("member", *dims, "element").values)
    return [da[d].values.tolist() for d in dims], values


def _links(ds: xr.Dataset, year: int) -> list[Link]:
    """Every link of ``year`` as (source, target, (member, element) t REO/yr, note)."""
    present = {layer.name for layer in layers(ds)}
    w = _year(ds, year)
    out: list[Link] = []

    def add(source: str, target: str, value: np.ndarray, note: str = "") -> None:
        out.append((source, target, value, note))

    if "mine" in present:
        if "separation_route_share" in w:
            routed = (w.mine_output * w.separation_route_share).mean("time")
            (mines, regions), values = _by(routed.groupby("producer_region").sum(),
                                           "producer_region", "region")
            for i, src in enumerate(mines):
                for j, dst in enumerate(regions):
                    add(f"mine · {src}", f"separation · {dst}", values[:, i, j])
        else:
            log.warning("result has no separation_route_share: mine -> separation not drawn")
        (mines,), values = _by(w.tailings_inflow.mean("time").groupby("producer_region").sum(),
                               "producer_region")
        for i, src in enumerate(mines):
            add(f"mine · {src}", "tailings", values[:, i])
    markets = ds.market.values.tolist()
    region_market = dict(zip(ds.region.values.tolist(), ds.region_market.values.tolist(),
                             strict=True))
    (regions,), sep = _by(w.separation_output.mean("time"), "region")
    _, losses = _by(w.separation_losses.mean("time"), "region")
    residue = (_by(w.separation_residue.mean("time"), "region")[1]
               if "separation_residue" in w else np.zeros_like(losses))   # results before it
    for i, reg in enumerate(regions):
        add(f"separation · {reg}", f"market · {region_market[reg]}", sep[:, i])
        add(f"separation · {reg}", "separation losses", losses[:, i])
        add(f"separation · {reg}", "left in residue", residue[:, i],
            "recoverable oxide not separated: sellers hold years of the world's demand")
    shipped = w.exports.sum("exporter")
    if "smuggled_exports" in w:                                 # smuggling moves mass too
        shipped = shipped + w.smuggled_exports
    net_exports = (shipped.mean("time") - w.imports.mean("time")).transpose(
        "member", "element").values
    add("market · china", "market · export", net_exports.clip(min=0), "net exports")
    add("market · export", "market · china", (-net_exports).clip(min=0), "net imports")
    use = w.market_consumption.mean("time").transpose("member", "market", "element").values
    total = use.sum(axis=1, keepdims=True)
    share = np.divide(use, total, out=np.full_like(use, 1.0 / use.shape[1]), where=total > 0)
    pro_rata = "split between markets in proportion to their consumption (the model pools them)"
    recycled = w.recycled.sum("application").mean("time").transpose("member", "element").values
    add("end of life", "recycling", recycled)
    add("end of life", "end-of-life losses",
        w.eol_losses.sum("application").mean("time").transpose("member", "element").values)
    scrap = w.new_scrap_recycled.sum("application").mean("time").transpose(
        "member", "element").values
    for k, market in enumerate(markets):
        add("recycling", f"market · {market}", recycled * share[:, k], pro_rata)
        add("manufacturing scrap", f"market · {market}", scrap * share[:, k], pro_rata)
    end, start = _year_end_inventory(ds, year)
    change = (end - start) / float(w.period_years.sum())   # t REO/yr over the year
    for market in markets:
        holders = [h for h, m in HOLDER_MARKET.items() if m == market and h in ds.holder]
        delta = change.sel(holder=holders).sum("holder").transpose("member", "element").values
        add(f"market · {market}", "stocks (net build)", delta.clip(min=0),
            "inventories of producers, traders, reserves and consumers")
        add("stocks (net draw)", f"market · {market}", (-delta).clip(min=0))
    (apps,), consumption = _by(w.consumption.mean("time"), "application")
    direct = consumption.copy()
    if "magnets" in present:
        by = "market" if "market" in w.magnet_output.dims else "region"  # where magnets are made
        (makers,), magnets = _by(w.magnet_output.mean("time"), by)
        for i, maker in enumerate(makers):
            market = maker if by == "market" else region_market[maker]
            add(f"market · {market}", f"magnets · {maker}", magnets[:, i])
            add(f"magnets · {maker}", "application · magnets", magnets[:, i])
        direct[:, apps.index("magnets")] -= magnets.sum(axis=1)
    direct = direct.clip(min=0)
    _, into_use = _by(w.products_into_use.mean("time"), "application")
    _, scrap_lost = _by(w.new_scrap_lost.mean("time"), "application")
    for a, app in enumerate(apps):
        for k, market in enumerate(markets):
            add(f"market · {market}", f"application · {app}", direct[:, a] * share[:, k],
                pro_rata)
        add(f"application · {app}", "in-use stock", into_use[:, a])
        add(f"application · {app}", "manufacturing losses", scrap_lost[:, a])
    return out


COLUMN_X = {"mine": 0.001, "separation": 0.25, "market": 0.5, "magnets": 0.63,
            "application": 0.76, "sink": 0.999}
SOURCE_X = {"end of life": 0.001, "recycling": 0.25, "manufacturing scrap": 0.25,
            "stocks (net draw)": 0.25}


def _node_x(label: str) -> float:
    """Horizontal place of a node: one column per layer, sources left, sinks right."""
    stage = label.split(" · ")[0]
    if stage in COLUMN_X and " · " in label:
        return COLUMN_X[stage]
    return SOURCE_X.get(label, COLUMN_X["sink"])


SIDE_ORDER = ("end of life", "recycling", "manufacturing scrap", "stocks (net draw)",
              "tailings", "separation losses", "left in residue", "stocks (net build)",
              "in-use stock",
              "manufacturing losses", "end-of-life losses")


def _node_y(labels: list[str], order: Sequence[str] = ()) -> list[float]:
    """Vertical places: nodes spread evenly down their column.

    Nodes go in ``order`` of their names (regions, markets, applications); sources and sinks
    in :data:`SIDE_ORDER`.
    """
    rank = {name: i for i, name in enumerate([*order, *SIDE_ORDER])}
    columns: dict[float, list[int]] = {}
    for i, label in enumerate(labels):
        columns.setdefault(_node_x(label), []).append(i)
    for members in columns.values():
        members.sort(key=lambda i: rank.get(labels[i].split(" · ")[-1], len(rank)))
    y = [0.5] * len(labels)
    for members in columns.values():
        for rank, i in enumerate(members):
            y[i] = 0.02 + 0.96 * (rank + 0.5) / len(members)
    return y


def _node_colour(label: str) -> str:
    stage = label.split(" · ")[0]
    if stage in COLOURS:
        return COLOURS[stage]
    if label in ("end of life", "recycling", "manufacturing scrap", "stocks (net draw)"):
        return COLOURS["source"]
    return COLOURS["sink"]


def sankey_data(ds: xr.Dataset, years: Sequence[int],
                elements: Iterable[str] | None = None) -> dict:
    """The Sankey of each element (and ``"all"``) and year as JSON-ready lists.

    Returns ``{"years", "elements", "layers", "flows": {element: {year: {"labels", "colours",
    "source", "target", "value", "note"}}}}`` with values in t REO/yr (ensemble medians).
    """
    chosen = list(elements) if elements is not None else list(ds.element.values.tolist())
    flows: dict[str, dict[str, dict]] = {el: {} for el in [ALL, *chosen]}
    order = [*ds.region.values.tolist(), *ds.market.values.tolist(),
             *ds.application.values.tolist()]
    for year in years:
        items = _links(ds, int(year))
        # one (link, member, element) array, the median over members, then per element
        per_member = np.stack([v for _, _, v, _ in items])             # (link, member, el)
        columns = [ds.element.values.tolist().index(el) for el in chosen]
        values = np.median(per_member[:, :, columns], axis=1)          # (link, element)
        total = np.median(per_member.sum(axis=2), axis=1)               # (link,)
        for col, el in enumerate([ALL, *chosen]):
            vals = total if el == ALL else values[:, col - 1]
            flows[el][str(year)] = _graph(items, vals, order)
    return {"years": [int(y) for y in years], "elements": [ALL, *chosen],
            "layers": [layer.name for layer in layers(ds)], "flows": flows}


def _graph(items: list[Link], values: np.ndarray,
           order: Sequence[str] = ()) -> dict:
    keep = np.flatnonzero(np.nan_to_num(values) >= MIN_FLOW_T)
    labels: list[str] = []
    index: dict[str, int] = {}

    def node(label: str) -> int:
        if label not in index:
            index[label] = len(labels)
            labels.append(label)
        return index[label]

    source, target, value, note = [], [], [], []
    for i in keep:
        src, dst, _, text = items[i]
        source.append(node(src))
        target.append(node(dst))
        value.append(round(float(values[i]), 1))
        note.append(text)
    return {"labels": labels, "colours": [_node_colour(lb) for lb in labels],
            "x": [_node_x(lb) for lb in labels], "y": _node_y(labels, order),
            "source": source, "target": target, "value": value, "note": note}


def sankey_trace(graph: dict) -> go.Sankey:
    """A plotly Sankey trace of one element-year graph from :func:`sankey_data`."""
    return go.Sankey(
        arrangement="snap", valueformat=",.0f", valuesuffix=" t REO/yr",
        node={"label": graph["labels"], "color": graph["colours"], "pad": 12,
              "thickness": 14, "x": graph["x"], "y": graph["y"]},
        link={"source": graph["source"], "target": graph["target"], "value": graph["value"],
              "customdata": graph["note"],
              "hovertemplate": "%{source.label} -> %{target.label}<br>%{value}"
                               "<br>%{customdata}<extra></extra>"})


def sankey_figure(ds: xr.Dataset, element: str = "Nd", year: int = 2020) -> go.Figure:
    """The Sankey of one element (or ``"all"``) and year as a plotly figure."""
    if element != ALL and element not in ds.element.values:
        raise ValueError(f"unknown element {element!r}; one of: {ALL}, "
                         + ", ".join(ds.element.values.tolist()))
    data = sankey_data(ds, [year], [] if element == ALL else [element])
    fig = go.Figure(sankey_trace(data["flows"][element][str(year)]))
    fig.update_layout(title=f"{'All elements' if element == ALL else element}: flows in {year} "
                            "(t REO/yr)", height=620, template="plotly_white")
    return fig
