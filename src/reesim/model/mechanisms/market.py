"""Two markets per element (China, export), trade between them, reserves, and price formation.

Holders of separated oxides (:data:`reesim.dims.HOLDERS`) are addressed by name. Sellers offer
their inventory (less when prices run far above expectations), buyers want their use plus a
correction toward target stocks; a market sells the smaller of total offers and total wants and
rations both sides pro rata. China's exports are a buyer in the China market: traders fill the
export market's import requirement and chase the price gap; export quotas (on total tonnes),
licences and duties restrict them, and a binding quota goes first to the elements whose export
premium per kg is highest. Reserves buy and release on their dated orders.

Price rule (one per market and element): the price moves toward an indicated price
= expected price x (target coverage / coverage) ** sensitivity, where coverage is the sellers'
inventory in months of buying interest; the expected price adapts to the actual price. Prices
stay within [floor, choke]: the floor is the cost of separating oxide, the choke price
(``choke_multiple`` x the reference) is where buyers stop. Prices are always positive and finite.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from reesim.dims import DT_YR, ELEMENTS, HOLDERS, MONTHS_PER_YEAR
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, member_column, monthly, monthly_rate
from reesim.model.quotas import extend, quota_series
from reesim.model.timeline import step_by_year

CONSTANTS = (
    Constant("choke_multiple", 100.0, "x reference price", 20.0, 1000.0,
             "Choke price as a multiple of the reference price: where buyers stop. Historical "
             "peaks reached about 45x the 2007 anchors (La and Ce outside China in 2011).",
             "data/observations/prices.csv (2011 peaks against data/inputs/price_anchors.csv)"),
    Constant("max_scarcity_factor", 4.0, "x expected price", 1.5, 20.0,
             "A month's coverage signal moves the indicated price at most this far from the "
             "expected price (the expectation keeps moving, so a long shortage still raises "
             "prices without bound, at a bounded pace).", "assumption"),
    Constant("panic_price_ratio", 1.5, "price / expected price", 1.05, 5.0,
             "Hoarding and speculative holding start only when prices run this far above what "
             "traders expected: ordinary fluctuations leave behaviour unchanged, a shock like "
             "2010-2011 sets off panic buying.", "assumption"),
    Constant("arbitrage_gate", 10.0, "exponent", 1.0, 50.0,
             "Trade falls as (destination price / landed cost) ** gate when the destination is "
             "cheaper than the landed cost.", "assumption"),
    Constant("arbitrage_push_per_yr", 4.0, "x export demand per unit price gap", 0.0, 20.0,
             "Extra trade per unit of relative price gap, as a multiple of the destination's "
             "demand per year.", "assumption"),
    Constant("min_offer_share", 0.5, "fraction of stock", 0.0, 1.0,
             "Sellers never hold back more than this complement of their stock for higher "
             "prices.", "assumption"),
    Constant("max_hoard_multiple", 2.0, "x normal coverage", 1.0, 10.0,
             "Consumers' precautionary target stock is at most this multiple of their normal "
             "coverage.", "assumption"),
    Constant("export_quota_scale_share", 0.05, "fraction of the China price", 0.0, 1.0,
             "Spread of the export quota's allocation over elements with similar premiums: the "
             "logistic's scale is this share of the China price plus a floor.", "assumption"),
    Constant("export_quota_scale_floor_usd_per_kg", 0.2, "USD/kg", 0.01, 10.0,
             "Floor of the logistic scale of the export quota allocation.", "assumption"),
    Constant("export_quota_bracket_scales", 30.0, "logistic scales", 5.0, 100.0,
             "Bisection bracket of the quota's shadow price, in logistic scales around the "
             "premiums (wide enough that the allocation is 0 or 1 at its ends).", "assumption"),
)
QUOTA_BISECTION_STEPS = 32
"""Bisection steps for the export quota's shadow price (numerical: 2**-32 of the bracket)."""
RESERVE_HOLDERS = ("state_reserve", "trading_company")
"""Holders that buy and release on dated stockpile orders (the order axis of the schedule)."""
PRODUCERS_CHINA, PRODUCERS_EXPORT, COMPANY, STATE_RESERVE, CONSUMERS_CHINA, CONSUMERS_EXPORT = (
    HOLDERS)
_HOLDER_INDEX = {holder: h for h, holder in enumerate(HOLDERS)}


class Stocks:
    """Separated-oxide inventories (M, H, E) t REO with one attribute per holder name.

    Each attribute (``stocks.producers_china``...) is a view of the holder's (M, E) slice of
    ``array``, so ``stocks.producers_china += x`` updates the array in place.
    """

    __slots__ = ("array", *HOLDERS)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        for holder, h in _HOLDER_INDEX.items():
            setattr(self, holder, array[:, h])

    def pick(self, *holders: str) -> np.ndarray:
        """The named holders' stocks as a new (M, n, E) array."""
        return self.array[:, [_HOLDER_INDEX[h] for h in holders]]


@dataclass(frozen=True)
class MarketInputs:
    """Compiled inputs of the markets (schedules (T, ...), member values (M, ...))."""

    reference_price_usd_per_kg: np.ndarray  # (E,)
    log_floor_price: np.ndarray         # (E,) log of the floor price (USD/kg)
    log_choke_price: np.ndarray         # (M, 1, E) log of the choke price (USD/kg)
    trade_cost_usd_per_kg: float
    export_quota_t_per_yr: np.ndarray   # (T,) inf when none
    export_tax: np.ndarray              # (T, E) fraction
    export_licensed: np.ndarray         # (T, E) fraction of desired exports licensed
    stockpile_t_per_yr: np.ndarray      # (T, 2, E) orders of RESERVE_HOLDERS (+ buy, - release)
    seller_coverage_months: np.ndarray  # (M, 1, 1)
    consumer_coverage_months: np.ndarray  # (M, 1, 1)
    consumer_adjustment_yr: np.ndarray  # (M, 1, 1)
    hoarding_sensitivity: np.ndarray    # (M, 1, 1)
    coverage_sensitivity: np.ndarray    # (M, 1, 1)
    arbitrage_time_yr: np.ndarray       # (M, 1)
    price_rate: np.ndarray              # (M, 1, 1) monthly adjustment toward indicated price
    expectation_rate: np.ndarray        # (M, 1, 1) monthly adjustment of expectations
    log_panic_threshold: np.ndarray     # (M, 1, 1)
    log_max_scarcity: np.ndarray        # (M, 1, 1)
    min_offer_share: np.ndarray         # (M, 1, 1)
    max_hoard_multiple: np.ndarray      # (M, 1, 1)
    arbitrage_gate: np.ndarray          # (M, 1)
    arbitrage_push_per_yr: np.ndarray   # (M, 1)
    quota_scale_share: np.ndarray       # (M, 1)
    quota_scale_floor: np.ndarray       # (M, 1)
    quota_bracket: np.ndarray           # (M, 1)


def draft(ctx: Context) -> Draft:
    """Export quotas and duties from the packaged tables (per policy), full licences, no orders."""
    steps, years, policy = ctx.timeline.steps, ctx.years, ctx.scenario.policy
    n_e = len(ELEMENTS)
    export_quota = np.full(steps, np.inf)
    if policy.export_quotas == "packaged":
        series = quota_series(ctx.data["quotas"], "export", "total", "national", years)
        known = np.flatnonzero(np.isfinite(series))
        if known.size:
            filled = extend(series, years, 0.0)
            filled[known[-1] + 1:] = np.inf     # export quotas ended after the last listed year
            export_quota = monthly(filled)
    export_tax = np.zeros((steps, n_e))
    if policy.export_taxes == "packaged":
        for name, rows in ctx.data["export_taxes"].groupby("element"):
            export_tax[:, ELEMENTS.index(name)] = monthly(step_by_year(
                years, rows.year.to_numpy(), rows.rate_pct.to_numpy() / 100.0, 0.0))
    return {"export_quota_t_per_yr": export_quota, "export_tax": export_tax,
            "export_licensed": np.ones((steps, n_e)),
            "stockpile_t_per_yr": np.zeros((steps, len(RESERVE_HOLDERS), n_e))}


def build(ctx: Context, draft: Draft) -> MarketInputs:
    """Price bounds, trade schedules and the member values of the market rules."""
    p = ctx.params
    anchors = ctx.data["price_anchors"].set_index("element").loc[list(ELEMENTS)]
    reference = anchors.reference_price_usd_per_kg.to_numpy(float)
    floor = anchors.floor_price_usd_per_kg.to_numpy(float)

    def col3(values: np.ndarray) -> np.ndarray:
        return member_column(values, 2)

    def col2(values: np.ndarray) -> np.ndarray:
        return member_column(values, 1)

    return MarketInputs(
        reference_price_usd_per_kg=reference, log_floor_price=np.log(floor),
        log_choke_price=np.log(col3(p.choke_multiple) * reference),
        trade_cost_usd_per_kg=ctx.scenario.market.trade_cost_usd_per_kg,
        export_quota_t_per_yr=draft["export_quota_t_per_yr"], export_tax=draft["export_tax"],
        export_licensed=draft["export_licensed"], stockpile_t_per_yr=draft["stockpile_t_per_yr"],
        seller_coverage_months=col3(p.seller_coverage_target_months),
        consumer_coverage_months=col3(p.consumer_coverage_target_months),
        consumer_adjustment_yr=col3(p.consumer_inventory_adjustment_time_yr),
        hoarding_sensitivity=col3(p.hoarding_sensitivity),
        coverage_sensitivity=col3(p.price_coverage_sensitivity),
        arbitrage_time_yr=col2(p.export_arbitrage_time_yr),
        price_rate=col3(monthly_rate(p.price_adjustment_time_yr)),
        expectation_rate=col3(monthly_rate(p.price_expectation_time_yr)),
        log_panic_threshold=col3(np.log(p.panic_price_ratio)),
        log_max_scarcity=col3(np.log(p.max_scarcity_factor)),
        min_offer_share=col3(p.min_offer_share), max_hoard_multiple=col3(p.max_hoard_multiple),
        arbitrage_gate=col2(p.arbitrage_gate), arbitrage_push_per_yr=col2(p.arbitrage_push_per_yr),
        quota_scale_share=col2(p.export_quota_scale_share),
        quota_scale_floor=col2(p.export_quota_scale_floor_usd_per_kg),
        quota_bracket=col2(p.export_quota_bracket_scales),
    )


def initial_prices(inp: MarketInputs, members: int) -> np.ndarray:
    """Prices (M, K, E) at the run start: China at the reference, export at its landed cost."""
    price = np.empty((members, 2, len(inp.reference_price_usd_per_kg)))
    price[:, 0, :] = inp.reference_price_usd_per_kg
    price[:, 1, :] = (inp.reference_price_usd_per_kg * (1.0 + inp.export_tax[0])
                      + inp.trade_cost_usd_per_kg)
    return price


def initial_stocks(inp: MarketInputs, members: int, demand: np.ndarray) -> np.ndarray:
    """Inventories (M, H, E) t REO at target coverage of ``demand`` (K, E) t/yr; reserves empty."""
    inventory = np.zeros((members, len(HOLDERS), demand.shape[1]))
    seller_months = inp.seller_coverage_months[:, :, 0]
    consumer_months = inp.consumer_coverage_months[:, :, 0]
    for holder, months, market in ((PRODUCERS_CHINA, seller_months, 0),
                                   (PRODUCERS_EXPORT, seller_months, 1),
                                   (CONSUMERS_CHINA, consumer_months, 0),
                                   (CONSUMERS_EXPORT, consumer_months, 1)):
        inventory[:, HOLDERS.index(holder)] = months * demand[market] / MONTHS_PER_YEAR
    return inventory


def panic(inp: MarketInputs, price: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """How far prices run above expectations beyond the panic threshold, (M, K, E) log units >= 0.

    The momentum that sets off hoarding (buyers) and speculative holding (sellers).
    """
    return np.maximum(np.log(price / expected) - inp.log_panic_threshold, 0.0)


def consumer_purchases(inp: MarketInputs, demand_k: np.ndarray, stock: np.ndarray,
                       momentum: np.ndarray) -> np.ndarray:
    """Purchases consumers want, (M, K, E) t REO/yr: use plus a correction toward target stock.

    The target stock rises when prices run well above expectations (precautionary hoarding,
    beyond the panic threshold: ``momentum`` from :func:`panic`).
    """
    months = inp.consumer_coverage_months * np.minimum(
        1.0 + inp.hoarding_sensitivity * momentum, inp.max_hoard_multiple)
    target = months * demand_k / MONTHS_PER_YEAR
    return np.maximum(demand_k + (target - stock) / inp.consumer_adjustment_yr, 0.0)


def seller_offer_share(inp: MarketInputs, momentum: np.ndarray) -> np.ndarray:
    """Share of their stock sellers offer, (M, K, E).

    All of it, less when prices run above expectations and they hold back for higher prices
    (speculative holding, the sellers' side of the same hoarding that makes consumers buy ahead).
    """
    return np.minimum(np.maximum(1.0 - inp.hoarding_sensitivity * momentum, inp.min_offer_share),
                      1.0)


def desired_trade(inp: MarketInputs, landed: np.ndarray, destination_price: np.ndarray,
                  want: np.ndarray, destination_sellers: np.ndarray) -> np.ndarray:
    """Tonnage traders want to move into a market, (M, E) t REO/yr, before any restriction.

    They fill the destination's import requirement (its buyers' wants plus a restock of its
    sellers to target coverage, spread over the arbitrage time) while the destination price covers
    the landed cost (origin price + duty + trade cost), fewer as it falls below, and push extra
    tonnage in proportion to the price gap when it is above.
    """
    ratio = destination_price / landed
    target_stock = inp.seller_coverage_months[:, :, 0] * want / MONTHS_PER_YEAR
    gap = np.maximum(want * DT_YR + target_stock - destination_sellers, 0.0)
    requirement = gap / np.maximum(inp.arbitrage_time_yr, DT_YR)
    push = inp.arbitrage_push_per_yr * np.maximum(ratio - 1.0, 0.0) * want
    return requirement * np.minimum(ratio, 1.0) ** inp.arbitrage_gate + push


def allocate_quota(inp: MarketInputs, desired: np.ndarray, quota: float, rent: np.ndarray,
                   price_china: np.ndarray) -> np.ndarray:
    """Ration exports (M, E) t/yr to a total quota t/yr, favouring the highest premium per kg.

    Each element gets desired x logistic((rent - lambda) / scale) with lambda, the quota's shadow
    price (USD/kg), found by bisection so the total equals the quota; the logistic spreads the
    allocation smoothly over elements with similar premiums.
    """
    total = desired.sum(axis=1)
    binding = total > quota
    if not np.isfinite(quota) or not binding.any():
        return desired
    inv_scale = 1.0 / (inp.quota_scale_share * price_china + inp.quota_scale_floor)  # 1/(USD/kg)
    half = 0.5 * rent * inv_scale
    lo = (rent - inp.quota_bracket / inv_scale).min(axis=1)
    hi = (rent + inp.quota_bracket / inv_scale).max(axis=1)
    for _ in range(QUOTA_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        share = 0.5 + 0.5 * np.tanh(half - (0.5 * mid)[:, None] * inv_scale)
        over = (desired * share).sum(axis=1) > quota
        lo = np.where(over, mid, lo)
        hi = np.where(over, hi, mid)
    allocated = desired * _logistic((rent - hi[:, None]) * inv_scale)
    return np.where(binding[:, None], allocated, desired)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Clearing(NamedTuple):
    """One market's month, all in t REO for the month, by seller and buyer name."""

    sold: np.ndarray                    # (M, E) total sold
    sold_by: dict[str, np.ndarray]      # seller -> (M, E)
    got_by: dict[str, np.ndarray]       # buyer -> (M, E)


def clear(offers: Mapping[str, np.ndarray], wants: Mapping[str, np.ndarray]) -> Clearing:
    """Sell min(total offer, total want) per element; ration both sides pro rata.

    ``offers`` and ``wants`` map seller and buyer names to (M, E) t for the month.
    """
    supply = functools.reduce(np.add, offers.values())     # in order, as a sum over axis 1
    want = functools.reduce(np.add, wants.values())
    sold = np.minimum(supply, want)
    offer_fill = np.where(supply > 0, sold / np.maximum(supply, 1e-300), 0.0)
    want_fill = np.where(want > 0, sold / np.maximum(want, 1e-300), 0.0)
    return Clearing(sold=sold, sold_by={k: v * offer_fill for k, v in offers.items()},
                    got_by={k: v * want_fill for k, v in wants.items()})


class ReserveOrders(NamedTuple):
    """Reserve orders of a month, (M, E) t: purchases wanted and releases available."""

    buy: dict[str, np.ndarray]          # reserve holder -> wanted purchases
    release: dict[str, np.ndarray]      # reserve holder -> released, within its stock


def reserve_orders(inp: MarketInputs, t: int, stocks: Stocks) -> ReserveOrders:
    """Purchases and releases of the state reserve and the trading company in month ``t``."""
    orders = inp.stockpile_t_per_yr[t]                                       # (2, E) t/yr
    members = stocks.array.shape[0]
    buy = np.maximum(orders, 0.0)[None] * DT_YR * np.ones((members, 1, 1))
    return ReserveOrders(
        buy={h: buy[:, i] for i, h in enumerate(RESERVE_HOLDERS)},
        release={h: np.minimum(np.maximum(-orders[i], 0.0) * DT_YR, getattr(stocks, h))
                 for i, h in enumerate(RESERVE_HOLDERS)})


class Trade(NamedTuple):
    """One month of trade and clearing."""

    share: np.ndarray                   # (M, K, E) share of their stock sellers offered
    imports: np.ndarray                 # (M, E) t into China this month
    exports_wanted: np.ndarray          # (M, E) t/yr exporters' wants after licences and quota
    china: Clearing
    abroad: Clearing


def trade(inp: MarketInputs, t: int, stocks: Stocks, price: np.ndarray, momentum: np.ndarray,
          want: np.ndarray, company_offer: np.ndarray, orders: ReserveOrders) -> Trade:
    """Imports, exports, the China market, then the export market; updates ``stocks`` in place.

    ``want`` (M, K, E) t/yr are consumers' purchases; ``company_offer`` (M, E) t what the
    trading company offers (its regime decides).
    """
    trade_cost = inp.trade_cost_usd_per_kg
    # imports into China (no quota): traders buy from export-market sellers first
    imports = np.minimum(desired_trade(inp, price[:, 1] + trade_cost, price[:, 0], want[:, 0],
                                       stocks.producers_china) * DT_YR,
                         stocks.producers_export)
    stocks.producers_export -= imports
    stocks.producers_china += imports
    # exports: duties, licences, and a quota on total tonnes
    landed = price[:, 0] * (1.0 + inp.export_tax[t]) + trade_cost
    exports_wanted = desired_trade(inp, landed, price[:, 1], want[:, 1],
                                   stocks.producers_export) * inp.export_licensed[t][None, :]
    exports_wanted = allocate_quota(inp, exports_wanted, float(inp.export_quota_t_per_yr[t]),
                                    price[:, 1] - landed, price[:, 0])

    # China market, then exports arrive abroad, then the export market
    share = seller_offer_share(inp, momentum)                          # (M, K, E)
    china = clear(
        {PRODUCERS_CHINA: stocks.producers_china * share[:, 0], COMPANY: company_offer,
         STATE_RESERVE: orders.release[STATE_RESERVE]},
        {CONSUMERS_CHINA: want[:, 0] * DT_YR, "exporters": exports_wanted * DT_YR,
         STATE_RESERVE: orders.buy[STATE_RESERVE], COMPANY: orders.buy[COMPANY]})
    sold, got = china.sold_by, china.got_by
    stocks.producers_china -= sold[PRODUCERS_CHINA]
    stocks.trading_company += got[COMPANY] - sold[COMPANY]
    stocks.state_reserve += got[STATE_RESERVE] - sold[STATE_RESERVE]
    stocks.consumers_china += got[CONSUMERS_CHINA]
    stocks.producers_export += got["exporters"]
    abroad = clear({PRODUCERS_EXPORT: stocks.producers_export * share[:, 1]},
                   {CONSUMERS_EXPORT: want[:, 1] * DT_YR})
    stocks.producers_export -= abroad.sold
    stocks.consumers_export += abroad.sold
    return Trade(share=share, imports=imports, exports_wanted=exports_wanted, china=china,
                 abroad=abroad)


def buying_interest(want: np.ndarray, traded: Trade, orders: ReserveOrders) -> np.ndarray:
    """Buying interest per market (M, K, E) t/yr: consumers, exporters and reserves in China."""
    interest = want.copy()
    interest[:, 0] += traded.exports_wanted + (orders.buy[STATE_RESERVE]
                                               + orders.buy[COMPANY]) / DT_YR
    return interest


def update_prices(inp: MarketInputs, price: np.ndarray, expected: np.ndarray,
                  seller_stock: np.ndarray, want_rate: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """New prices and expectations (M, K, E) from sellers' coverage of buying interest."""
    months = seller_stock / np.maximum(want_rate / MONTHS_PER_YEAR, 1e-12)
    limit = inp.log_max_scarcity
    with np.errstate(divide="ignore"):
        signal = np.clip(inp.coverage_sensitivity * np.log(inp.seller_coverage_months / months),
                         -limit, limit)
    log_floor, log_choke = inp.log_floor_price, inp.log_choke_price
    log_price, log_expected = np.log(price), np.log(expected)
    log_indicated = np.minimum(np.maximum(log_expected + signal, log_floor), log_choke)
    log_new = np.clip(log_price + (log_indicated - log_price) * inp.price_rate,
                      log_floor, log_choke)
    log_new_expected = log_expected + (log_new - log_expected) * inp.expectation_rate
    return np.exp(log_new), np.exp(log_new_expected)
