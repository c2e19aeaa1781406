"""The system's defining claims next to the model's figures for the same years.

Quoted figures come from ``data/reference/facts.csv`` (every variant with its source); model
figures come from a result. Where they differ the table says so: the model is not tuned to a
quoted figure its inputs do not support. The trading company's effect is measured against the
``baotou-free-market`` counterfactual over 2009-2012.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from reesim import indicators as ind
from reesim.datasets import read_csv
from reesim.indicators import BAYAN_OBO, mean_by_year
from reesim.scenario.schema import Scenario

AGREEMENT_POINTS = 5.0
"""A model share within this many percentage points of the quoted range agrees with it."""
AGREEMENT_FRACTION = 0.10
"""A model tonnage within this fraction of the quoted range's bounds agrees with it (the
quoted tonnages are estimates given as round ranges)."""
TC_WINDOW = ("2009-01", "2012-12")


@dataclass(frozen=True)
class Claim:
    """One row of the claims table.

    ``value`` is the model's figure and ``low``..``high`` the range of the quoted figures, all in
    ``unit``; ``source`` holds the full citations (with their links).
    """

    claim: str
    period: str
    quoted: str
    model: str
    verdict: str
    source: str
    value: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")
    unit: str = "%"


def _citations(sources: pd.Series) -> str:
    """Every distinct citation in full (title, date and ``<link>``), joined by " | "."""
    return " | ".join(dict.fromkeys(str(s).strip() for s in sources.dropna()))


def _facts() -> pd.DataFrame:
    return read_csv("reference", "facts.csv")


def _quoted(facts: pd.DataFrame, fact: str) -> tuple[float, float, str, str]:
    """Lowest and highest quoted value of a fact, a display string and the sources."""
    rows = facts[facts.fact == fact]
    values = pd.concat([rows.value, rows.value_low, rows.value_high]).dropna()
    text = ", ".join(f"{v:g}% ({p})" for v, p in zip(rows.value.fillna(rows.value_low),
                                                      rows.period, strict=True))
    return float(values.min()), float(values.max()), text, _citations(rows.source)


def _verdict(model: float, low: float, high: float, *, relative: bool = False) -> str:
    """Whether ``model`` agrees with the quoted range ``low..high``.

    Within :data:`AGREEMENT_POINTS` of it for shares, :data:`AGREEMENT_FRACTION` for tonnages
    (``relative``).
    """
    if not np.isfinite(model):
        return "not computed"
    lo, hi = ((low * (1 - AGREEMENT_FRACTION), high * (1 + AGREEMENT_FRACTION)) if relative
              else (low - AGREEMENT_POINTS, high + AGREEMENT_POINTS))
    if lo <= model <= hi:
        return "agrees"
    side = "below" if model < low else "above"
    return f"differs: model {side} the quoted range"


def _year_of(period: object) -> int:
    """The first year of a quoted period ("2014", "c.2014", "2009-2010"); ValueError if none."""
    return int(str(period).removeprefix("c.")[:4])


def _year_value(da: xr.DataArray, year: int) -> float:
    if year not in da.year.values:
        return float("nan")
    return float(da.sel(year=year).median() if "member" in da.dims else da.sel(year=year))


def share_claims(ds: xr.Dataset) -> list[Claim]:
    """Reserves, exports and output shares: quoted figures against the model's."""
    facts = _facts()
    claims = []
    share = ind.bayan_obo_share_of_china_reserves_pct(ds)
    low, high, text, src = _quoted(facts, "bayan_obo_share_of_china_reserves_pct")
    value = _year_value(share, 2012)
    claims.append(Claim(
        "Bayan Obo share of China's RE reserves", "2012", text, f"{value:.0f}%",
        _verdict(value, low, high) + "; other Chinese reserves are only partly quantified in "
        "the inputs, so the model's share is an upper bound", src, value, low, high))

    share = ind.share_pct(mean_by_year(ind.baotou_exports(ds)),
                          mean_by_year(ind.china_exports(ds)))
    low, high, text, src = _quoted(facts, "baotou_share_of_china_re_exports_pct")
    value = _year_value(share, 2012)
    claims.append(Claim("Baotou share of China's RE exports", "2012", text, f"{value:.0f}%",
                        _verdict(value, low, high), src, value, low, high))

    world = mean_by_year(ind.world_mine_output(ds))
    china_share = ind.share_pct(mean_by_year(ind.china_mine_output(ds)), world)
    rows = facts[facts.fact == "china_share_of_world_mine_production_pct"]
    for period, group in rows.groupby("period", sort=False):
        try:
            year = _year_of(period)
        except ValueError:
            continue
        if year not in china_share.year.values:
            continue
        vals = pd.concat([group.value, group.value_low, group.value_high]).dropna()
        value = _year_value(china_share, year)
        quoted = ", ".join(f"{v:g}%" for v in vals)
        claims.append(Claim("China's share of world mine output", str(period), quoted,
                            f"{value:.0f}%", _verdict(value, vals.min(), vals.max()),
                            _citations(group.source), value, float(vals.min()),
                            float(vals.max())))
    low, high, text, src = _quoted(facts, "bayan_obo_share_of_world_re_supply_pct")
    value = _year_value(ind.share_pct(mean_by_year(ind.bayan_obo_mine_output(ds)), world), 2008)
    claims.append(Claim("Bayan Obo share of world RE supply", "2008", text, f"{value:.0f}%",
                        _verdict(value, low, high), src, value, low, high))
    return claims


def fringe_claims(ds: xr.Dataset) -> list[Claim]:
    """China's illegal mine output c.2014 (IMCOA's 30-40 kt) against the model's fringe.

    The record's country output leaves illegal mining out (USGS reports the quota), so this
    estimate is the only check of the level of the model's illegal supply
    (``producer_legal`` False).
    """
    rows = _facts()[lambda f: f.fact == "china_illegal_mine_production_t_reo_per_yr"]
    if rows.empty:
        return []
    low = float(pd.concat([rows.value, rows.value_low]).min()) / 1000.0
    high = float(pd.concat([rows.value, rows.value_high]).max()) / 1000.0
    period = str(rows.period.iloc[0])
    year = _year_of(period)
    china = mean_by_year(ind.china_mine_output(ds))
    recorded = mean_by_year(ind.china_mine_output(ds, recorded_only=True))
    value = _year_value(china - recorded, year) / 1000.0
    quoted = f"{low:g}-{high:g} kt ({period})"
    return [Claim("China's illegal mine output", period, quoted, f"{value:.1f} kt",
                  _verdict(value, low, high, relative=True), _citations(rows.source), value,
                  low, high, "kt REO/yr")]


def system_claims(ds: xr.Dataset) -> list[Claim]:
    """Every claim of the table: the shares (:func:`share_claims`) and the fringe's tonnage."""
    return share_claims(ds) + fringe_claims(ds)


def baotou_basket(ds: xr.Dataset, market: str = "china") -> xr.DataArray:
    """Price of a kg of Bayan Obo's REO mix (USD/kg), the basket the Baotou members sell."""
    out = ds.mine_output.sel(producer=BAYAN_OBO).sum(["member", "time"])
    mix = out / out.sum()
    return (ds.price.sel(market=market) * mix).sum("element")


def unsold_stock(ds: xr.Dataset) -> xr.DataArray:
    """Unsold Chinese stocks outside planned stockpiles, t REO.

    Chinese sellers' inventory plus the trading company's holdings beyond its plan.
    """
    sellers = ds.inventory.sel(holder="producers_china").sum("element")
    company = ds.inventory.sel(holder="trading_company").sum("element")
    return sellers + (company - ds.trading_company_plan).clip(min=0.0)


def regime_effects(with_company: xr.Dataset, free_market: xr.Dataset) -> pd.DataFrame:
    """What the trading company changed over 2009-2012 against the free-market counterfactual.

    Baotou output (t REO/yr), unsold stocks outside the planned stockpile (t REO, mean), the
    China price of Baotou's basket (USD/kg of its REO mix), its variability (coefficient of
    variation of the monthly basket price, the usual measure of price stability) and members'
    revenue (MUSD/yr, mine output at netback).
    """
    rows = {}
    for label, ds in (("trading_company", with_company), ("free_market", free_market)):
        w = ds.sel(time=slice(*TC_WINDOW))
        output = ind.bayan_obo_mine_output(w)
        basket = baotou_basket(w)
        variation = basket.std("time") / basket.mean("time")
        rows[label] = {
            "baotou_output_t_reo_per_yr": float(output.mean()),
            "unsold_stock_t_reo": float(unsold_stock(w).mean()),
            "baotou_basket_price_usd_per_kg": float(basket.mean()),
            "basket_price_coefficient_of_variation": float(variation.median()),
            "member_revenue_musd_per_yr": float(w.revenue.sel(producer=BAYAN_OBO).mean()),
        }
    frame = pd.DataFrame(rows)
    frame["change_pct"] = 100 * (frame.trading_company / frame.free_market - 1.0)
    return frame


def counterfactual(scenario: Scenario) -> Scenario | None:
    """The same scenario without the trading company, cut at 2012 (None if not applicable)."""
    if scenario.market.regime != "trading_company" or scenario.start_year > 2009 \
            or scenario.end_year < 2012:
        return None
    data = scenario.model_dump()
    data["market"]["regime"] = "free_market"
    data["end_year"] = 2012
    data["name"] = f"{scenario.name} (free-market counterfactual)"
    return Scenario.model_validate(data)


def claims_csv(claims: list[Claim], effects: pd.DataFrame | None) -> str:
    """``claims.csv``: the claims table, then the regime effects as rows."""
    return claims_frame(claims, effects).to_csv(index=False, float_format="%.6g")


CLAIM_COLUMNS = ("claim", "period", "value", "low", "high", "unit", "quoted", "model", "verdict",
                 "source")
"""claims.csv's columns: value (the model) and low..high (the quoted range) are numbers."""
VARIATION = "_coefficient_of_variation"
"""Suffix of the regime effects that are coefficients of variation (shares, not amounts)."""
EFFECT_UNITS = {"_t_reo_per_yr": "t REO/yr", "_t_reo": "t REO", "_usd_per_kg": "USD/kg",
                "_musd_per_yr": "MUSD/yr", VARIATION: "1"}


def effect_change(name: str, company: float, free: float, change_pct: float) -> str:
    """The change a regime effect shows: in percentage points for a coefficient of variation.

    A relative change of a small variation reads as a large one (a CV of 0.41% under the free
    market and 1.6% under the company is "+294%"); the points say how much steadier or less
    steady the price was. Other effects change in percent.
    """
    if name.endswith(VARIATION):
        return f"{100.0 * (company - free):+.1f} pp"
    return f"{change_pct:+.0f}%"


def _effect_unit(name: str) -> str:
    return next((unit for suffix, unit in EFFECT_UNITS.items() if name.endswith(suffix)), "")


def claims_frame(claims: list[Claim], effects: pd.DataFrame | None) -> pd.DataFrame:
    """The claims table and the regime effects as one frame (one row per claim).

    Regime effect rows carry the trading company's figure as ``value`` (the free market's is in
    ``model``); they have no quoted range.
    """
    frame = pd.DataFrame([c.__dict__ for c in claims], columns=list(CLAIM_COLUMNS))
    if effects is not None:
        extra = pd.DataFrame({
            "claim": [f"trading company vs free market: {k}" for k in effects.index],
            "period": "2009-2012",
            "value": effects.trading_company.to_numpy(float),
            "unit": [_effect_unit(k) for k in effects.index],
            "quoted": "",
            "model": [f"{r.trading_company:.4g} vs {r.free_market:.4g} "
                      f"({effect_change(k, r.trading_company, r.free_market, r.change_pct)})"
                      for k, r in zip(effects.index, effects.itertuples(), strict=True)],
            "verdict": "model counterfactual",
            "source": "the scenario vs itself with market.regime=free_market"})
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame[list(CLAIM_COLUMNS)]
