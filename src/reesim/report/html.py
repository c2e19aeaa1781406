"""The scenario report: one self-contained HTML page (plotly.js inlined; opens with no network).

Sections: the Sankey of element flows (element and year chosen in the page), price paths with
ensemble fans, supply by region, the balance problem, the claims table, environmental loads and
the scenario's events. ``reesim report RUN_DIR`` and ``reesim run --report`` write it;
``--static`` also writes each figure as PNG/SVG through kaleido.
"""

from __future__ import annotations

import html
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.offline
import xarray as xr
import yaml

from reesim.errors import InputError, ReesimError
from reesim.output import HTML_SIGNATURE, check_file, check_folder, write_file, write_folder
from reesim.report import figures
from reesim.report.sankey import ALL, sankey_data
from reesim.scenario.schema import Scenario

log = logging.getLogger("reesim.report.html")

REPORT_NAME = "report.html"
MAX_SANKEY_YEARS = 60
"""Runs up to this many years offer every year in the page's Sankey; longer runs every fifth
year plus 2008-2012 (the page stays under ~3 MB of flow data)."""
STATIC_FORMATS = ("png", "svg")

STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9em} .note{color:#555;font-size:.85em;max-width:60em}
nav a{margin-right:1em} label{margin-right:1em}
table.claims{border-collapse:collapse;font-size:.85em}
table.claims td,table.claims th{border-bottom:1px solid #eee;padding:3px 8px;vertical-align:top;
text-align:left} table.claims td.num{text-align:right;white-space:nowrap}
"""

SANKEY_JS = """
(function(){
  const data = JSON.parse(document.getElementById('sankey-data').textContent);
  const el = document.getElementById('sankey-element'), yr = document.getElementById('sankey-year');
  function draw(){
    const g = data.flows[el.value][yr.value];
    const notes = g.note.map(i => data.notes[i]);
    const trace = {type:'sankey', arrangement:'snap', valueformat:',.0f',
      valuesuffix:' t REO/yr',
      node:{label:g.labels, color:g.colours, pad:12, thickness:14, x:g.x, y:g.y},
      link:{source:g.source, target:g.target, value:g.value, customdata:notes,
        hovertemplate:'%{source.label} -> %{target.label}<br>%{value}<br>%{customdata}'
                      + '<extra></extra>'}};
    const name = el.value === 'all' ? 'All elements' : el.value;
    Plotly.react('sankey', [trace], {title:{text: name + ': flows in ' + yr.value +
      ' (t REO/yr)'}, height:640, margin:{t:50,l:10,r:10,b:10}, font:{size:11}});
  }
  el.addEventListener('change', draw); yr.addEventListener('change', draw); draw();
})();
"""


@dataclass
class Run:
    """A finished run read from its folder: dataset, manifest, scenario and claims."""

    dataset: xr.Dataset
    manifest: dict
    scenario: Scenario | None
    claims: pd.DataFrame | None
    folder: Path


def load_run(folder: str | Path) -> Run:
    """Read a run folder written by ``reesim run`` (results.nc, manifest.json, ...).

    ``scenario.yaml`` (the resolved scenario) and ``claims.csv`` are used when present.
    """
    path = Path(folder)
    nc = path / "results.nc"
    if not nc.is_file():
        raise InputError(f"no results.nc in {path}", file=str(path),
                         allowed="a folder written by `reesim run`")
    try:
        ds = xr.load_dataset(nc, engine="h5netcdf")
        manifest = json.loads((path / "manifest.json").read_text("utf-8")) \
            if (path / "manifest.json").is_file() else {}
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the run: {exc}", file=str(path)) from None
    scenario = None
    if (path / "scenario.yaml").is_file():
        try:
            scenario = Scenario.model_validate(yaml.safe_load(
                (path / "scenario.yaml").read_text("utf-8")))
        except (ValueError, yaml.YAMLError) as exc:
            log.warning("scenario.yaml in %s not readable (%s); events not shown", path, exc)
    claims = pd.read_csv(path / "claims.csv") if (path / "claims.csv").is_file() else None
    return Run(ds, manifest, scenario, claims, path)


def report_figures(ds: xr.Dataset, scenario: Scenario | None = None) -> dict[str, go.Figure]:
    """The report's plotly figures by name (price, supply, balance, environment, events)."""
    events = figures.events_frame(scenario, ds)
    figs = {
        "prices": figures.price_figure(ds, events=events if len(events) else None),
        "supply": figures.supply_figure(ds),
        "balance": figures.balance_figure(ds),
        "environment": figures.environment_figure(ds),
    }
    if len(events):
        figs["events"] = figures.events_figure(events)
    return figs


def _link_sources(text: str) -> str:
    """HTML of a citation with ``<http...>`` links made clickable (everything else escaped)."""
    out, last = [], 0
    for match in re.finditer(r"<(https?://[^>\s]+)>", text):
        out.append(html.escape(text[last:match.start()]))
        url = html.escape(match.group(1), quote=True)
        out.append(f"<a href='{url}'>{url}</a>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def claims_html(claims: pd.DataFrame | None) -> str:
    """The claims table as HTML (numbers right-aligned, source links clickable)."""
    if claims is None or claims.empty:
        return "<p class='note'>No claims table for this run.</p>"
    numeric = {"value", "low", "high"}
    shown = ("claim", "period", "quoted", "model", "verdict", "source")
    cols = [c for c in shown if c in claims.columns] or list(claims.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    rows = []
    for rec in claims[cols].itertuples(index=False):
        cells = []
        for col, value in zip(cols, rec, strict=True):
            if pd.isna(value):
                cells.append("<td></td>")
            elif col in numeric:
                cells.append(f"<td class='num'>{float(value):,.4g}</td>")
            elif col == "source":
                cells.append(f"<td>{_link_sources(str(value))}</td>")
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='claims'><tr>{head}</tr>{''.join(rows)}</table>"


def _sankey_payload(ds: xr.Dataset, years: Sequence[int]) -> dict:
    data = sankey_data(ds, years)
    notes: list[str] = []
    for per_year in data["flows"].values():
        for graph in per_year.values():
            graph["note"] = [_index(notes, n) for n in graph["note"]]
    data["notes"] = notes
    return data


def _index(items: list[str], item: str) -> int:
    if item not in items:
        items.append(item)
    return items.index(item)


def sankey_years(ds: xr.Dataset, years: Sequence[int] | None = None) -> list[int]:
    """The years the page's Sankey offers: ``years`` (those in the run) or the default."""
    available = sorted(set(ds.year.values.tolist()))
    if years is None:
        if len(available) <= MAX_SANKEY_YEARS:
            return available
        years = [y for y in available if y % 5 == 0 or 2008 <= y <= 2012]
    chosen = [y for y in years if y in available]
    return chosen or [available[-1]]


def report_html(ds: xr.Dataset, manifest: dict | None = None, scenario: Scenario | None = None,
                claims: pd.DataFrame | None = None,
                years_offered: Sequence[int] | None = None) -> str:
    """The whole report as one HTML string (plotly.js inlined)."""
    manifest = manifest or {}
    years = sankey_years(ds, years_offered)
    payload = _sankey_payload(ds, years)
    default_year = 2020 if 2020 in years else years[-1]
    figs = report_figures(ds, scenario)
    name = html.escape(str(manifest.get("scenario", ds.attrs.get("scenario", "run"))))
    members = int(ds.sizes.get("member", 1))
    meta = ", ".join(f"{k.replace('_', ' ')} {html.escape(str(manifest[k]))}" for k in (
        "scenario_hash", "data_version", "reesim_version", "seed", "members", "period",
        "output_frequency", "created_utc") if k in manifest)
    el_opts = "".join(
        f"<option value='{e}'{' selected' if e == 'Nd' else ''}>"
        f"{'all elements' if e == ALL else e}</option>" for e in payload["elements"])
    yr_opts = "".join(f"<option{' selected' if y == default_year else ''}>{y}</option>"
                      for y in years)
    sections = {
        "prices": ("Prices", "Oxide prices in the China domestic and export markets. "
                   + ("Median of the members with 25-75% and 5-95% bands. " if members > 1
                      else "") + "Shaded periods: the scenario's events."),
        "supply": ("Supply by region", "Mine output (REO recovered to concentrate)."),
        "balance": ("The balance problem", "Stocks nobody has bought, demand nobody served, and "
                    "what separators left in residues because nobody would buy it."),
        "environment": ("Environmental loads", "Wastewater is not quantified in the packaged "
                        "data and is not shown."),
        "events": ("Events", "The scenario's dated events (hover for their settings)."),
    }
    parts = [
        f"{HTML_SIGNATURE}report` -->",
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>reesim report: {name}</title><style>{STYLE}</style>",
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>",
        f"<h1>reesim report: {name}</h1><p class='meta'>{meta}</p>",
        "<nav><a href='#flows'>Flows</a>" + "".join(
            f"<a href='#{key}'>{sections[key][0]}</a>" for key in figs)
        + "<a href='#claims'>Claims</a></nav>",
        "<h2 id='flows'>Element flows</h2>",
        f"<label>element <select id='sankey-element'>{el_opts}</select></label>",
        f"<label>year <select id='sankey-year'>{yr_opts}</select></label>",
        "<div id='sankey'></div>",
        "<p class='note'>Annual flows in t REO/yr"
        + (" (median of each link over the members)" if members > 1 else "")
        + ". Layers: " + ", ".join(payload["layers"]) + ". The model pools each market, so "
        "consumption by application and recycled material are split between the China and "
        "export markets in proportion to each market's consumption (said in the hover). Stocks "
        "(net build or draw) are the change of inventories over the year.</p>",
        "<script type='application/json' id='sankey-data'>"
        + json.dumps(payload, separators=(",", ":")).replace("</", "<\\/") + "</script>",
        f"<script>{SANKEY_JS}</script>",
    ]
    for key, fig in figs.items():
        title, note = sections[key]
        parts.append(f"<h2 id='{key}'>{title}</h2><p class='note'>{note}</p>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{key}",
                                 config={"displaylogo": False}))
        if key == "balance":
            parts.append("<h2 id='claims'>The system's defining claims</h2>"
                         + claims_html(claims))
    if "balance" not in figs:
        parts.append("<h2 id='claims'>Claims</h2>" + claims_html(claims))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(ds: xr.Dataset, out: str | Path, manifest: dict | None = None,
                 scenario: Scenario | None = None, claims: pd.DataFrame | None = None,
                 static: str | None = None, overwrite: bool = False) -> Path:
    """Write the report to ``out`` (a file path) atomically, by the rules of :mod:`reesim.output`.

    An existing file is replaced only if reesim wrote it and ``overwrite`` is set. ``static``
    ("png" or "svg") also writes each figure through kaleido into the folder
    ``<stem>-figures`` beside it (:func:`write_static`).
    """
    path = Path(out)
    if static is not None and static not in STATIC_FORMATS:
        raise InputError(f"static format {static!r} is not supported", field="--static",
                         allowed=", ".join(STATIC_FORMATS))
    check_file(path, overwrite)
    if static is not None:
        check_folder(path.parent / f"{path.stem}-figures", overwrite, option="--static")
    text = report_html(ds, manifest, scenario, claims)
    if static is not None:
        write_static(ds, path.parent / f"{path.stem}-figures", path.stem, static, scenario,
                     overwrite=overwrite)
    return write_file(path, text, overwrite=overwrite)


def write_static(ds: xr.Dataset, folder: Path, stem: str, fmt: str,
                 scenario: Scenario | None = None, overwrite: bool = False) -> list[Path]:
    """Each report figure (and the Nd Sankey of 2020 or the last year) as an image file.

    Images are rendered by kaleido (which drives the system's Chrome or Chromium) into a
    temporary folder; the whole set becomes the output folder ``folder`` by the rules of
    :mod:`reesim.output` (a new folder, or a previous one of reesim's with ``overwrite``).
    """
    import plotly.io as pio

    from reesim.report.sankey import sankey_figure

    figs = report_figures(ds, scenario)
    year = sankey_years(ds, [2020])[0]
    figs["flows"] = sankey_figure(ds, "Nd", year)
    check_folder(folder, overwrite, option="--static")
    names = [f"{stem}-{key}.{fmt}" for key in figs]
    with tempfile.TemporaryDirectory(prefix=f".{stem}-static.") as scratch:
        rendered = [Path(scratch) / n for n in names]
        for attempt in (1, 2):     # kaleido's page sometimes is not ready on a loaded machine
            try:
                pio.write_images(list(figs.values()), rendered, format=fmt, width=1100,
                                 height=[f.layout.height or 520 for f in figs.values()])
                missing = [p.name for p in rendered if not p.is_file()]
                if missing:    # seen once under load: kaleido returned without every file
                    raise FileNotFoundError(f"kaleido wrote no {', '.join(missing)}")
                break
            except Exception as exc:   # kaleido or the browser missing or failing
                if attempt == 2:
                    raise ReesimError(
                        f"static {fmt} export failed ({type(exc).__name__}: {exc}); it needs "
                        "kaleido and Chrome or Chromium (apt-get install chromium)") from None
                log.warning("static export failed once (%s); trying again", exc)
        files = {name: (lambda target, src=src: shutil.copyfile(src, target))
                 for name, src in zip(names, rendered, strict=True)}
        write_folder(folder, files, command="report --static", overwrite=overwrite)
    return [folder / name for name in names]
