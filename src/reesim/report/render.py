"""Render summary records as rich tables (the CLI's only printing of results)."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

LABELS = {
    "world_mine_output": "world mine output, kt",
    "china_mine_output": "China mine output, kt",
    "china_share_of_world_output": "China / world output",
    "bayan_obo_share_of_china_output": "Bayan Obo / China output",
    "bayan_obo_share_of_china_reserves": "Bayan Obo / China reserves*",
    "china_exports": "China's exports, kt",
    "baotou_share_of_china_exports": "Baotou / China exports",
    "tailings_stock": "tailings (since start), Mt REO",
    "thorium_cumulative": "thorium (cumulative), kt ThO2",
}
TITLES = {
    "prices": "Oxide prices, China / export market (USD/kg)",
    "supply": "Mine output and the place of Bayan Obo",
    "trade": "China's exports",
    "balance": "The balance problem: unsold stocks (years of use) / unmet demand (% of demand)",
    "demand": "Unmet demand by application (kt REO/yr)",
    "environment": "Environmental stocks",
}


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "-"
    if unit == "USD/kg":
        return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def render(records: list[dict], console: Console) -> None:
    """Print one table per section: rows are metric/key, columns are years."""
    by_section: dict[str, list[dict]] = defaultdict(list)
    for rec in records:
        by_section[rec["section"]].append(rec)
    for section, recs in by_section.items():
        years = sorted({r["year"] for r in recs})
        table = Table(title=TITLES.get(section, section), title_justify="left")
        table.add_column("", no_wrap=True)
        for year in years:
            table.add_column(str(year), justify="right")
        rows: dict[str, dict[int, str]] = defaultdict(dict)
        if section in ("prices", "balance"):        # two figures per element: "a / b"
            cells: dict[tuple[str, int], list[str]] = defaultdict(list)
            for r in recs:
                cells[(r["key"], r["year"])].append(_fmt(r["value"], r["unit"]))
            for (key, year), parts in cells.items():
                rows[key][year] = " / ".join(parts)
        else:
            for r in recs:
                label = LABELS.get(r["metric"], r["metric"].replace("_", " "))
                if section == "demand":
                    label = r["key"]
                cell = _fmt(r["value"], r["unit"])
                if "p05" in r:
                    cell += f" [{_fmt(r['p05'], r['unit'])}-{_fmt(r['p95'], r['unit'])}]"
                rows[label][r["year"]] = cell
        for label, cells_by_year in rows.items():
            table.add_row(label, *[cells_by_year.get(y, "-") for y in years])
        console.print(table)
        if section == "supply":
            console.print("  * reserves quantified in the inputs only (see the claims table)",
                          style="dim")



def render_claims(claims: list, effects, console: Console) -> None:
    """Print the claims table and, when computed, the trading company's effect."""
    table = Table(title="The system's defining claims: quoted figures and the model",
                  title_justify="left", show_lines=False)
    for col in ("claim", "period", "quoted", "model", "verdict"):
        table.add_column(col, overflow="fold")
    for c in claims:
        table.add_row(c.claim, c.period, c.quoted, c.model, c.verdict)
    console.print(table)
    if effects is None:
        return
    table = Table(title="What the trading company changed, 2009-2012 (vs baotou-free-market)",
                  title_justify="left")
    for col in ("", "trading company", "free market", "change"):
        table.add_column(col, justify="right" if col else "left")
    for name, row in effects.iterrows():
        table.add_row(name.replace("_", " "), f"{row.trading_company:,.4g}",
                      f"{row.free_market:,.4g}", f"{row.change_pct:+.0f}%")
    console.print(table)
