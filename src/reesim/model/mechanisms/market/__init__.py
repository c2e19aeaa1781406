"""Two markets per element (China, export), trade between them, reserves, and price formation.

Holders of separated oxides (:data:`reesim.dims.HOLDERS`) are addressed by name. Each month
(or market sub-step) traders' net export intention follows the arbitrage signal with a lag of at
least ``min_trade_adjustment_yr``; export quotas (on total tonnes, shared pro rata over the
elements traders intend to export, or under the ``rent`` rule carrying one rent per kg,
:mod:`.arbitrage`), licences and duties restrict it. Reserves buy first on
their dated orders and carry an unfilled remainder over until the order window closes. Then each
market's price is *solved within the month*: buyers' purchases fall with the price (short-run
purchase elasticity) and sellers keep a reservation stock that shrinks as the price rises above
the going price, ``p = anchor * (target cover / cover after sales) ** beta``; a safeguarded
Newton solve in log price finds the one price where both hold (to 1e-10), within [floor,
choke] and within ``max_scarcity_factor`` of the going price (beyond it the market rations).
The going price follows the cleared price over years (an integral action on coverage), the
expectation over longer; price floors (``price_floor`` events) top up covered producers'
netbacks. Prices are always positive and finite.

This module holds the market's inputs, its clearing, trade and the month's compiled trade and
clearing; its parts live beside it: :mod:`.price_rule` (the month's clearing price),
:mod:`.arbitrage` (traders' desired trade and the export quota's rent),
:mod:`.holds` (what buyers and sellers hold back), :mod:`.going_prices` (expectations, going
and perceived prices), :mod:`.price_floors` (guaranteed prices in netbacks) and
:mod:`.demand_outlook` (sellers' demand trend, which steepens a glut's price where demand
declines; on by default).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from reesim.dims import DT_YR, ELEMENTS, HOLDERS, MONTHS_PER_YEAR
from reesim.model.compiled import (
    np_maximum,
    np_minimum,
    sum_elements,
)
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, member_column, monthly
from reesim.model.mechanisms.market import (  # noqa: F401  (the market's parts, as attributes)
    arbitrage,
    demand_outlook,
    going_prices,
    holds,
    price_floors,
    price_rule,
)
from reesim.model.mechanisms.market.arbitrage import desired_at, import_share, quota_rent
from reesim.model.mechanisms.market.going_prices import landed_cost, perception_weight
from reesim.model.mechanisms.market.holds import drain_hold_at, premium_signal_at, seller_hold_at
from reesim.model.mechanisms.market.price_rule import TINY_T, _log_prices, _price_rules
from reesim.model.quotas import extend, packaged_quota
from reesim.model.timeline import step_by_year

CONSTANTS = (
    Constant("choke_multiple", 100.0, "x reference price", 20.0, 1000.0,
             "Choke price as a multiple of the reference price: where buyers stop. Historical "
             "peaks reached about 45x the 2007 anchors (La and Ce outside China in 2011).",
             "data/observations/prices.csv (2011 peaks against data/inputs/price_anchors.csv)"),
    Constant("max_scarcity_factor", 4.0, "x going price", 1.5, 20.0,
             "A month's clearing price stays within this factor of the going price (the anchor "
             "of sellers' reservation) either way; beyond it the market rations (buyers draw "
             "their own stocks). The going price keeps moving, so a long shortage still raises "
             "prices without bound, at a bounded pace. Fitted (calibration/parameters.py): "
             "the default 4 is the value before 2026-12-03.", "assumption; fitted"),
    Constant("panic_price_ratio", 1.5, "price / expected price", 1.05, 5.0,
             "Hoarding and speculative holding start only when prices run this far above what "
             "traders expected: ordinary fluctuations leave behaviour unchanged, a shock like "
             "2010-2011 sets off panic buying.", "assumption"),
    Constant("carrying_cost_per_yr", 0.0, "per yr per log month of cover", 0.0, 1.0,
             "Sellers who hold more than their target cover carry it at a cost (interest, "
             "storage, insurance): their going price falls at this rate times the log of their "
             "months held over the target, so a stock years above cover is sold down by price "
             "(storage theory's carrying charge). 0 (off) by default.", "assumption"),
    Constant("premium_withholding", 0.0, "log hold per log premium", 0.0, 20.0,
             "Chinese sellers' hold for the export premium while the tonnage export quota "
             "turns exporters away (premium_hold): the log of the cover they reserve rises by "
             "this times the log excess of the export price over 1.5 times China's landed "
             "price, scaled by the share of exporters' wants the quota turns away. 0 (off) by "
             "default: on (19.5, where searches that scored China's 2011 peaks put it) it gives "
             "China's market the record's 2011 rise and fall, but the stock held in 2011-2013 "
             "stays on the flat side of the price curve (60-120 kt of Nd in China in "
             "2020-2030) and the state-reserve and magnet-ban levers go inert "
             "(docs/market-experiments.md, thirty-second session).",
             "assumption (off by default; data/observations/prices.csv, China's 2011 quotes)"),
    Constant("smuggling_share", 0.0, "share of denied exports", 0.0, 1.0,
             "A lever: this share of the exports China's tonnage quota or its licences turn "
             "away leaves China anyway, outside the quota and the customs record, up to "
             "``smuggling_capacity_t_per_yr`` (smugglers buy in China's market beside the "
             "licensed exporters and sell to foreign sellers; recorded as ``smuggled_exports``, "
             "not in ``exports``). 0 (off) by default: experts put 2011's smuggling at about "
             "1.2 times the legal exports and BGR c.2013 at 35 kt REO a year, but fitted free "
             "(thirty-fourth session) the share goes to 0.06-0.10 (4-9 kt in 2010-2012) and "
             "gains nothing, because China's sellers' Nd stock (10 months of demand in 2010) "
             "would flow out and flatten the 2011 export spike without lifting China's prices "
             "(docs/market-experiments.md). Use it to ask how leaky quotas or controls change "
             "a shortage.",
             "data/reference (ecns.cn 2012-12-31: 2011 smuggling about 1.2x legal exports; "
             "BGR 2014: 35 kt REO/yr c.2013); off by default (lever)"),
    Constant("smuggling_capacity_t_per_yr", 35_000.0, "t REO/yr", 10_000.0, 60_000.0,
             "Most the smuggling channel carries in a year (all elements): BGR's estimate of "
             "China's illegal exports c.2013 (35 kt REO/yr); experts' 2011 figure, about 1.2 "
             "times the 18.6 kt of legal exports, is about 22 kt.",
             "BGR 2014 via geoglobal.mnr.gov.cn (2014-03-21); ecns.cn (2012-12-31)"),
    Constant("glut_transition_width", 0.25, "log cover", 0.05, 1.0,
             "Sellers' reservation price falls with their cover with slope beta below the target "
             "cover and rho * beta above it (the supply-of-storage curve: holding stock beyond "
             "need costs carrying charges only); the slope changes smoothly over about this "
             "width in log cover on either side of the target, a softplus blend, instead of at "
             "the target itself. With the change at one point (before 2026-12-04) a stock that "
             "touched its target moved the price at a kink twenty times steeper on one side "
             "(beta 0.33 against rho * beta 0.017): the projection's Tb export price stepped "
             "+1.5% and back in two months. 0.25 spreads the change over covers about 0.6-1.6 "
             "times target; the unrefitted objective moved from 3.246 to 3.224.",
             "assumption; measured on baotou (docs/model.md section 5)"),
    Constant("export_ceiling_multiple", 1.1, "x landed cost", 1.0, 2.0,
             "Where exports are free (no binding quota, full licences), foreign sellers compete "
             "with Chinese exporters who offer at the landed cost of China's oxide (China price "
             "x (1 + export duty) + trade cost): the export market's going price is drawn down "
             "to this multiple of the landed cost within traders' arbitrage time. Without it "
             "the premium the 2010-2014 quotas created outlived them (export prices 2-4x "
             "China's in 2016-2020 at the 2026-12-04 fit: Nd 57 against 26, La 9 against 3), "
             "where the record has the two within about 10% once quotas and duties ended in "
             "2015 (Nd 2019: 45 FOB against 52 in China; Dy 2020: 261 against 283). The 10% "
             "is traders' margin on freight, finance and the spread of quotes.",
             "assumption; data/observations/prices.csv (2016-2020)"),
    Constant("arbitrage_gate", 2.0, "exponent", 1.0, 50.0,
             "Trade falls as (destination price / landed cost) ** gate when the destination is "
             "cheaper than the landed cost.", "assumption"),
    Constant("arbitrage_push_per_yr", 0.5, "x export demand per unit price gap", 0.0, 20.0,
             "Extra trade per unit of relative price gap, as a multiple of the destination's "
             "demand per year.", "assumption"),
    Constant("drain_foresight_yr", 0.0, "yr", 0.0, 5.0,
             "Sellers in both markets reserve, beside their normal cover, the stock the world is "
             "drawn down by over this horizon at the net drain they perceive (consumers' use in "
             "both markets less the separated output delivered, t/yr): a deficit they can see "
             "raises the price before the stock is gone (competitive storage with foresight).",
             "assumption"),
    Constant("drain_perception_time_yr", 1.0, "yr", 0.25, 3.0,
             "Sellers read the world's net drain as its average over this time (an exact "
             "exponential lag), as the industry's supply-demand balances are annual: read from "
             "the month's deliveries, Baotou's one-month pause of October 2011 lifted China's "
             "Ce price 12% for that month alone (2.72, 3.06, 2.73 USD/kg) and its monthly "
             "returns' lag-1 autocorrelation to -0.42.",
             "assumption; measured on baotou (docs/model.md section 5)"),
    Constant("max_hoard_multiple", 2.0, "x normal coverage", 1.0, 10.0,
             "Consumers' precautionary target stock, and the cover sellers reserve when they "
             "hold for higher prices, are at most this multiple of their normal coverage.",
             "assumption"),
    Constant("price_perception_time_yr", 0.25, "yr", 0.05, 1.0,
             "Buyers and sellers compare a month's price with the price they perceive as "
             "current: the clearing price smoothed over this time (a quarter: contract prices "
             "are mostly set quarterly, and buyers read monthly price assessments). It is the "
             "reference of the short-run purchase elasticity and of panic. Last step's price "
             "in its place made both step-bound: with finer steps the elasticity faded and the "
             "hoarding loop ran at the step's pace (docs/model.md section 5).",
             "assumption; measured on baotou (docs/model.md section 5)"),
    Constant("purchase_elasticity", -0.3, "dimensionless", -1.5, -0.02,
             "Short-run (within-month) price elasticity of buyers' purchases: consumers defer "
             "restocking and cut use when the price jumps, so a shortage clears by price. "
             "ESTIMATE: a 40% cut in supply to a market with this elasticity raises its price "
             "0.6 ** (1 / -0.3) = 5.5x, the order of the 2010-2011 export price rise after the "
             "40% export quota cut (peak/2009 ratios of about 5-20 in prices.csv); short-run "
             "elasticities of metal demand are reported between -0.1 and -0.5.",
             "estimate (see reason); data/observations/prices.csv, data/inputs/quotas.csv"),
    Constant("min_price_adjustment_yr", 2.0, "yr", 0.25, 10.0,
             "The going price that anchors sellers' reservation follows the market with the "
             "price adjustment time, but never faster than this. The month's price is solved "
             "within the month; its anchor is an integral action on stock coverage, and faster "
             "anchors (0.25-1 yr) made baotou's annual magnet prices cycle by 40-140% a year "
             "(measured 2016-2050, mean |annual log change| of the Nd export price: 1.43 at "
             "0.25 yr, 0.42 at 1 yr, 0.18 at 2 yr).",
             "measured on baotou (docs/model.md section 5)"),
    Constant("min_trade_adjustment_yr", 0.5, "yr", 0.0, 2.0,
             "Traders' net export intention follows the arbitrage signal with the arbitrage time, "
             "but never faster than this (contracts, shipping and licences take months); this "
             "bound keeps trade flows smooth whatever the step.", "assumption"),
    Constant("glut_decline_sensitivity", 10.0, "yr (per unit of yearly decline)", 0.0, 50.0,
             "How much steeper the glut side of sellers' price rule is where the world's demand "
             "for an element declines (demand_outlook): none of the flat side is left at a "
             "decline of 1 / this a year. Holders carry a glut cheaply only while they expect it "
             "to be wanted (competitive storage). 10 since the forty-second session: the "
             "largest value whose unrefitted price paths converged in the time step (10% between "
             "one and two market sub-steps at 10 and 20, 12% at 30). Fitted free (forty-first "
             "session, four seeds) it is identified above 0 at every seed (12.6-38) and the "
             "objective falls from 2.809 (at 0) to 2.59-2.76; held at 10 and refitted (four "
             "seeds, 2.59-2.66) europium comes down after 2012 as in the record (China's Eu "
             "106 USD/kg in 2020 against 435 at 0; record 38). What it costs: the glut side of "
             "the growing elements goes to its prior's floor, China's sellers hold about 52 kt "
             "of Nd in 2025-2030 instead of 30-40, and the state reserve's 2030 purchase lifts "
             "China's Nd 1.1% that year and 9% the next instead of 5.7% and 23% "
             "(docs/market-experiments.md). 0 switches it off.",
             "assumption; measured on baotou (forty-first and forty-second sessions)"),
    Constant("demand_trend_perception_yr", 1.0, "yr", 0.25, 3.0,
             "Sellers read each element's world demand as its average over this time (an exact "
             "log lag) before they compare it with its past to judge the trend (demand_outlook): "
             "the industry's supply-demand balances are annual.",
             "assumption (as drain_perception_time_yr)"),
    Constant("demand_trend_horizon_yr", 3.0, "yr", 1.0, 10.0,
             "The horizon over which sellers judge an element's demand trend: the perceived "
             "demand against itself smoothed over this time (Sterman's TREND function). Three "
             "years is about how long the post-2011 fall of phosphor demand took to show "
             "(europium demand fell 15%, 23% and 11% a year in 2012-2014 in baotou) and the "
             "horizon of the published balances.",
             "assumption; Sterman 2000, Business Dynamics, ch. 16 (TREND)"),
    Constant("trade_stock_correction_ratio", 2.0, "x adjustment time", 1.0, 5.0,
             "Traders close the gap of the destination sellers' stock to target over this "
             "multiple of their own adjustment time. Corrected as fast as the flow that corrects "
             "it adjusts (ratio 1, the rule until 2026-12-07), the stock overshoots: a "
             "second-order loop with damping ratio 0.5 x sqrt(ratio), 0.5 at 1 and 0.71 at 2. "
             "At 1, on the code of 2026-12-03, the Dy and La export markets cycled every 2-3 "
             "years after 2011; 2 waited until the projection's imports into China stopped "
             "losing money (2026-12-07). Refitted at 2 then, eight seeds scored 2.48-2.52 "
             "against 2.550 at 1; seed 6 (2.496) is the first to pass every behaviour test "
             "(docs/market-experiments.md, fiftieth session; baotou-china-spike keeps 1, the "
             "rule it is fitted on). At 3 (2026-12-06) two market sub-steps moved 2017-2018 "
             "mine output by 11%.",
             "Sterman 2000, Business Dynamics, ch. 17 (the stock management structure); "
             "measured on baotou")
)
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
        index = _holder_index(holders)
        picked = self.array[:, index]
        return picked.copy() if isinstance(index, slice) else picked


@functools.cache
def _holder_index(holders: tuple[str, ...]) -> slice | list[int]:
    """Positions of ``holders`` on the holder axis: a slice when they are adjacent, in order."""
    index = [_HOLDER_INDEX[h] for h in holders]
    if index == list(range(index[0], index[0] + len(index))):
        return slice(index[0], index[0] + len(index))
    return index


@dataclass(frozen=True)
class MarketInputs:
    """Compiled inputs of the markets (schedules (T, ...), member values (M, ...))."""

    reference_price_usd_per_kg: np.ndarray  # (E,)
    log_floor_price: np.ndarray         # (E,) log of the floor price (USD/kg)
    log_choke_price: np.ndarray         # (M, 1, E) log of the choke price (USD/kg)
    trade_cost_usd_per_kg: float
    substeps: int                       # market sub-steps per month
    quota_rent: bool                    # the export quota carries a rent per kg (rule "rent")
    export_quota_t_per_yr: np.ndarray   # (T,) inf when none
    export_quota_pool_t_per_yr: np.ndarray  # (T, 2) light, medium/heavy pools; both inf: one
    export_quota_pool_of: np.ndarray    # (E,) int64 pool of each element (0 light, 1 medium/heavy)
    export_tax: np.ndarray              # (T, E) fraction
    export_licensed: np.ndarray         # (T, E) fraction of desired exports licensed
    stockpile_t_per_yr: np.ndarray      # (T, 2, E) orders of RESERVE_HOLDERS (+ buy, - release)
    stockpile_months_left: np.ndarray   # (T, 2, E) months left in an open buy order's window
    price_floor_usd_per_kg: np.ndarray  # (T, P, E) producers' guaranteed price, 0 = none
    seller_coverage_months: np.ndarray  # (M, 1, 1)
    consumer_coverage_months: np.ndarray  # (M, 1, 1)
    consumer_adjustment_yr: np.ndarray  # (M, 1, 1)
    hoarding_sensitivity: np.ndarray    # (M, 1, 1)
    premium_withholding: np.ndarray     # (M, 1) Chinese sellers' hold per log export premium
    carrying_cost_per_yr: np.ndarray    # (M, 1) going price's fall per log month of excess cover
    smuggling_share: np.ndarray         # (M, 1) share of exports quota/licences refuse, smuggled
    smuggling_cap_t_per_yr: np.ndarray  # (M, 1) t REO/yr the smuggling channel carries at most
    coverage_sensitivity: np.ndarray    # (M, 1, 1) beta: price response to coverage below target
    glut_sensitivity_ratio: np.ndarray  # (M, 1, 1) rho: response above target is rho x beta
    glut_width: np.ndarray              # (M, 1, 1) log-cover width of the slope's change
    glut_decline_sensitivity: np.ndarray  # (M, 1, 1) yr: glut side steepens as demand declines
    demand_trend_perception_yr: np.ndarray  # (M, 1) smoothing of the world's demand (trend)
    demand_trend_horizon_yr: np.ndarray  # (M, 1) horizon of the demand trend
    arbitrage_time_yr: np.ndarray       # (M, 1) adjustment time of traders' intentions
    stock_correction_yr: np.ndarray     # (M, 1) time to close a destination's stock gap
    expectation_time_yr: np.ndarray     # (M, 1, 1)
    anchor_time_yr: np.ndarray          # (M, 1, 1) adjustment time of the going price
    purchase_elasticity: np.ndarray     # (M, 1) within-month price elasticity of purchases
    log_panic_threshold: np.ndarray     # (M, 1, 1)
    log_max_scarcity: np.ndarray        # (M, 1)
    perception_time_yr: np.ndarray      # (M, 1, 1) smoothing of the perceived price
    max_hoard_multiple: np.ndarray      # (M, 1, 1)
    drain_foresight_yr: np.ndarray      # (M, 1, 1)
    drain_perception_time_yr: np.ndarray  # (M, 1)
    arbitrage_gate: np.ndarray          # (M, 1)
    log_export_ceiling: np.ndarray      # (M, 1) log of the going price's ceiling / landed cost
    arbitrage_push_per_yr: np.ndarray   # (M, 1)

    @functools.cached_property
    def premium_on(self) -> bool:
        """Whether any member's ``premium_withholding`` is on (its signal is read only then)."""
        return bool(self.premium_withholding.any())

    @functools.cached_property
    def carry_on(self) -> bool:
        """Whether any member's ``carrying_cost_per_yr`` is on (going prices marked down)."""
        return bool(self.carrying_cost_per_yr.any())

    @functools.cached_property
    def outlook_on(self) -> bool:
        """Whether any member's ``glut_decline_sensitivity`` is on.

        The demand outlook is read and updated only then: off, its two calls a month cost a
        single run about 5% (0.299 against 0.278 s, best of five).
        """
        return bool(self.glut_decline_sensitivity.any())

    @functools.cached_property
    def whole_glut_side(self) -> np.ndarray:
        """(M, E) ones: the glut scale when the demand outlook is off (read-only)."""
        ones = np.ones((len(self.glut_decline_sensitivity),
                        len(self.reference_price_usd_per_kg)))
        ones.flags.writeable = False
        return ones

    @functools.cached_property
    def floor_months(self) -> np.ndarray:
        """(T,) bool: months in which some price floor is in force."""
        return self.price_floor_usd_per_kg.any(axis=(1, 2))

    @functools.cached_property
    def rules(self) -> MemberRules:
        """The member values above as contiguous (M,) arrays, what the compiled step reads.

        Derived from the fields on first use (a copy made with ``dataclasses.replace`` derives
        its own), so the two layouts cannot disagree.
        """
        return MemberRules(
            **{name: np.ascontiguousarray(getattr(self, name).reshape(len(self.log_choke_price),
                                                                      -1)[:, 0])
               for name in MemberRules._fields if name != "log_choke_price"},
            log_choke_price=np.ascontiguousarray(self.log_choke_price[:, 0]))


class MemberRules(NamedTuple):
    """The markets' member values as contiguous (M,) arrays (:attr:`MarketInputs.rules`).

    The same numbers as the (M, 1, ...) fields of :class:`MarketInputs` (which broadcast in
    numpy), in the layout the compiled trade and clearing (:func:`_trade`) and the month's
    kernels in ``reesim.model.step`` take as one argument; ``log_choke_price`` is (M, E).
    """

    seller_coverage_months: np.ndarray
    consumer_coverage_months: np.ndarray
    consumer_adjustment_yr: np.ndarray
    hoarding_sensitivity: np.ndarray
    max_hoard_multiple: np.ndarray
    log_panic_threshold: np.ndarray
    premium_withholding: np.ndarray
    carrying_cost_per_yr: np.ndarray
    smuggling_share: np.ndarray
    smuggling_cap_t_per_yr: np.ndarray
    coverage_sensitivity: np.ndarray
    glut_sensitivity_ratio: np.ndarray
    glut_width: np.ndarray
    glut_decline_sensitivity: np.ndarray
    demand_trend_perception_yr: np.ndarray
    demand_trend_horizon_yr: np.ndarray
    arbitrage_time_yr: np.ndarray
    stock_correction_yr: np.ndarray
    expectation_time_yr: np.ndarray
    anchor_time_yr: np.ndarray
    purchase_elasticity: np.ndarray
    log_max_scarcity: np.ndarray
    perception_time_yr: np.ndarray
    drain_foresight_yr: np.ndarray
    drain_perception_time_yr: np.ndarray
    arbitrage_gate: np.ndarray
    log_export_ceiling: np.ndarray
    arbitrage_push_per_yr: np.ndarray
    log_choke_price: np.ndarray         # (M, E)


def draft(ctx: Context) -> Draft:
    """Export quotas and duties from the packaged tables (per policy), full licences, no orders."""
    steps, years, policy = ctx.timeline.steps, ctx.years, ctx.scenario.policy
    n_e = len(ELEMENTS)
    export_quota = np.full(steps, np.inf)
    if policy.export_quotas == "packaged":
        series = packaged_quota(ctx.data, "export", "total", "national", years)
        known = np.flatnonzero(np.isfinite(series))
        if known.size:
            filled = extend(series, years, 0.0)
            filled[known[-1] + 1:] = np.inf     # export quotas ended after the last listed year
            export_quota = monthly(filled)
    pools = np.full((steps, 2), np.inf)
    if policy.export_quotas == "packaged" and ctx.scenario.market.export_quota_pools == "two":
        pools = monthly(packaged_quota_pools(ctx))
    export_tax = np.zeros((steps, n_e))
    if policy.export_taxes == "packaged":
        export_tax = monthly(packaged_export_taxes(ctx))                  # a fresh array
    return {"export_quota_t_per_yr": export_quota, "export_quota_pool_t_per_yr": pools,
            "export_tax": export_tax,
            "export_licensed": np.ones((steps, n_e)),
            "stockpile_t_per_yr": np.zeros((steps, len(RESERVE_HOLDERS), n_e)),
            "stockpile_months_left": np.zeros((steps, len(RESERVE_HOLDERS), n_e)),
            "price_floor_usd_per_kg": np.zeros((steps, len(ctx.coords.producers), n_e))}


EXPORT_QUOTA_POOLS = ("light", "medium_heavy")
"""The pools of China's 2012-2014 export quota, in the order of ``export_quota_pool_t_per_yr``."""


def packaged_quota_pools(ctx: Context) -> np.ndarray:
    """China's export quota pools per year of the run, (Y, 2) t REO/yr (inf: one pool that year).

    A year has two pools where the quota table gives both the light and the medium/heavy
    ("ionic" segment) export quota (2012-2014); their sum is that year's total quota.
    """
    years = ctx.years
    light = packaged_quota(ctx.data, "export", "light", "national", years)
    heavy = packaged_quota(ctx.data, "export", "ionic", "national", years)
    split = np.isfinite(light) & np.isfinite(heavy)
    return np.where(split[:, None], np.stack([light, heavy], axis=1), np.inf)


def export_quota_pool_of(ctx: Context) -> np.ndarray:
    """Each element's export quota pool, (E,) int64 (0 light, 1 medium/heavy).

    The data's alone (read once per data, as the other tables' derived arrays): read-only.
    """
    def compute() -> np.ndarray:
        table = ctx.ordered("export_quota_pools", "element", ELEMENTS)
        return np.array([EXPORT_QUOTA_POOLS.index(p) for p in table.pool], dtype=np.int64)

    return ctx.data.derived(("export_quota_pool_of",), compute)


def packaged_export_taxes(ctx: Context) -> np.ndarray:
    """China's packaged export duties per year of the run and element, (Y, E) fraction.

    The data's alone (once per data and timeline): read-only.
    """
    def compute() -> np.ndarray:
        years = ctx.years
        export_tax = np.zeros((len(years), len(ELEMENTS)))
        for name, rows in ctx.data["export_taxes"].groupby("element"):
            export_tax[:, ELEMENTS.index(name)] = step_by_year(
                years, rows.year.to_numpy(), rows.rate_pct.to_numpy() / 100.0, 0.0)
        return export_tax

    return ctx.data.derived(("export_taxes", ctx.timeline), compute)


def build(ctx: Context, draft: Draft) -> MarketInputs:
    """Price bounds, trade schedules and the member values of the market rules."""
    p = ctx.params
    anchors = ctx.ordered("price_anchors", "element", ELEMENTS)
    reference = anchors.reference_price_usd_per_kg.to_numpy(float)
    floor = anchors.floor_price_usd_per_kg.to_numpy(float)

    def col3(values: np.ndarray) -> np.ndarray:
        return member_column(values, 2)

    def col2(values: np.ndarray) -> np.ndarray:
        return member_column(values, 1)

    trade_time = np.maximum(p.export_arbitrage_time_yr, p.min_trade_adjustment_yr)   # (M,) yr
    return MarketInputs(
        reference_price_usd_per_kg=reference, log_floor_price=np.log(floor),
        log_choke_price=np.log(col3(p.choke_multiple) * reference),
        trade_cost_usd_per_kg=ctx.scenario.market.trade_cost_usd_per_kg,
        substeps=ctx.scenario.market.substeps,
        quota_rent=ctx.scenario.market.export_quota_rule == "rent",
        export_quota_t_per_yr=draft["export_quota_t_per_yr"],
        export_quota_pool_t_per_yr=draft["export_quota_pool_t_per_yr"],
        export_quota_pool_of=export_quota_pool_of(ctx).copy(),      # writable, as numba types it
        export_tax=draft["export_tax"],
        export_licensed=draft["export_licensed"], stockpile_t_per_yr=draft["stockpile_t_per_yr"],
        stockpile_months_left=draft["stockpile_months_left"],
        price_floor_usd_per_kg=draft["price_floor_usd_per_kg"],
        seller_coverage_months=col3(p.seller_coverage_target_months),
        consumer_coverage_months=col3(p.consumer_coverage_target_months),
        consumer_adjustment_yr=col3(p.consumer_inventory_adjustment_time_yr),
        hoarding_sensitivity=col3(p.hoarding_sensitivity),
        premium_withholding=col2(p.premium_withholding),
        carrying_cost_per_yr=col2(p.carrying_cost_per_yr),
        smuggling_share=col2(p.smuggling_share),
        smuggling_cap_t_per_yr=col2(p.smuggling_capacity_t_per_yr),
        coverage_sensitivity=col3(p.price_coverage_sensitivity),
        glut_sensitivity_ratio=col3(p.glut_sensitivity_ratio),
        glut_width=col3(p.glut_transition_width),
        glut_decline_sensitivity=col3(p.glut_decline_sensitivity),
        demand_trend_perception_yr=col2(p.demand_trend_perception_yr),
        demand_trend_horizon_yr=col2(p.demand_trend_horizon_yr),
        arbitrage_time_yr=col2(trade_time),
        stock_correction_yr=col2(trade_time * p.trade_stock_correction_ratio),
        expectation_time_yr=col3(p.price_expectation_time_yr),
        anchor_time_yr=col3(np.maximum(p.price_adjustment_time_yr, p.min_price_adjustment_yr)),
        purchase_elasticity=col2(p.purchase_elasticity),
        log_panic_threshold=col3(np.log(p.panic_price_ratio)),
        log_max_scarcity=col2(np.log(p.max_scarcity_factor)),
        perception_time_yr=col3(p.price_perception_time_yr),
        max_hoard_multiple=col3(p.max_hoard_multiple),
        drain_foresight_yr=col3(p.drain_foresight_yr),
        drain_perception_time_yr=col2(p.drain_perception_time_yr),
        arbitrage_gate=col2(p.arbitrage_gate), arbitrage_push_per_yr=col2(p.arbitrage_push_per_yr),
        log_export_ceiling=col2(np.log(p.export_ceiling_multiple)),
    )


def initial_prices(inp: MarketInputs, members: int) -> np.ndarray:
    """Prices (M, K, E) at the run start: China at the reference, export at its landed cost."""
    price = np.empty((members, 2, len(inp.reference_price_usd_per_kg)))
    price[:, 0, :] = inp.reference_price_usd_per_kg
    price[:, 1, :] = (inp.reference_price_usd_per_kg * (1.0 + inp.export_tax[0])
                      + inp.trade_cost_usd_per_kg)
    return price


def initial_stocks(inp: MarketInputs, members: int, demand: np.ndarray,
                   exports: np.ndarray) -> np.ndarray:
    """Inventories (M, H, E) t REO at target coverage; reserves empty.

    Consumers hold their target cover of their market's ``demand`` (K, E) t/yr; sellers of
    what they sell: Chinese sellers serve China's consumers and the exporters (``exports``
    (M, E) t/yr >= 0, the initial trade flow), foreign sellers the foreign consumers. Chinese
    sellers stocked for China's consumers alone (as before 2026-12-03) ran short in the first
    month of 2000, when exporters bought five times China's own La use: La jumped to the
    scarcity bound in February 2000 and back in March, a start-up zig-zag.
    """
    inventory = np.zeros((members, len(HOLDERS), demand.shape[1]))
    seller_months = inp.seller_coverage_months[:, :, 0]
    consumer_months = inp.consumer_coverage_months[:, :, 0]
    for holder, months, flow in ((PRODUCERS_CHINA, seller_months, demand[0] + exports),
                                 (PRODUCERS_EXPORT, seller_months, demand[1]),
                                 (CONSUMERS_CHINA, consumer_months, demand[0]),
                                 (CONSUMERS_EXPORT, consumer_months, demand[1])):
        inventory[:, HOLDERS.index(holder)] = months * flow / MONTHS_PER_YEAR
    return inventory


class Clearing(NamedTuple):
    """One market's month, all in t REO for the month, by seller and buyer name."""

    sold: np.ndarray                    # (M, E) total sold
    sold_by: dict[str, np.ndarray]      # seller -> (M, E)
    got_by: dict[str, np.ndarray]       # buyer -> (M, E)


def clear(offers: Mapping[str, np.ndarray], wants: Mapping[str, np.ndarray],
          first: Mapping[str, np.ndarray] | None = None,
          sold_first: tuple[str, ...] = ()) -> Clearing:
    """Sell min(total offer, total want) per element; ration both sides pro rata.

    ``offers`` and ``wants`` map seller and buyer names to (M, E) t for the month. The ``first``
    buyers (reserves) are served before the others: a reserve buys ahead of consumers, as real
    reserves do, taking what it ordered as far as the offers go; the rest of the offers is
    rationed pro rata over the other buyers. The sellers named in ``sold_first`` (a reserve
    releasing its lots at auction) sell before the others, who share the rest of the sales pro
    rata to their offers. The arithmetic is :func:`_clear_at`'s, element by element.
    """
    first = first or {}
    names = list(offers)
    others = [k for k in names if k not in sold_first]
    arrays = np.broadcast_arrays(*offers.values(), *first.values(), *wants.values())
    n_s, n_f = len(offers), len(first)
    stacked = np.stack(arrays, axis=1).astype(float, copy=False)            # (M, S+F+B, E) t
    offered, ordered, wanted = stacked[:, :n_s], stacked[:, n_s:n_s + n_f], stacked[:, n_s + n_f:]
    sold = np.empty(stacked[:, 0].shape)
    sold_by, got_first, got = (np.empty(a.shape) for a in (offered, ordered, wanted))
    _clear(offered, ordered, wanted, np.array([names.index(k) for k in sold_first], np.int64),
           np.array([names.index(k) for k in others], np.int64), sold, sold_by, got_first, got)
    got_by = {k: got_first[:, i] for i, k in enumerate(first)}
    got_by.update({k: got[:, i] for i, k in enumerate(wants)})
    return Clearing(sold=sold, sold_by={k: sold_by[:, i] for i, k in enumerate(names)},
                    got_by=got_by)


@numba.njit(cache=True, error_model="numpy")
def _clear(offers: np.ndarray, first: np.ndarray, wants: np.ndarray, sold_first: np.ndarray,
           others: np.ndarray, sold: np.ndarray, sold_by: np.ndarray, got_first: np.ndarray,
           got: np.ndarray) -> None:
    """:func:`_clear_at` for every member and element (compiled, numba, cached on disk)."""
    members, _, elements = offers.shape
    for m in range(members):
        for e in range(elements):
            _clear_at(offers, first, wants, sold_first, others, m, e, sold, sold_by,
                      got_first, got)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _clear_at(offers: np.ndarray, first: np.ndarray, wants: np.ndarray, sold_first: np.ndarray,
              others: np.ndarray, m: int, e: int, sold: np.ndarray, sold_by: np.ndarray,
              got_first: np.ndarray, got: np.ndarray) -> None:
    """One market-element's clearing (member ``m``, element ``e``), all in t for the month.

    ``offers`` (M, S, E), ``first`` (M, F, E) priority buyers' orders and ``wants`` (M, B, E);
    ``sold_first`` the sellers (positions on S) that sell first, in order, ``others`` the rest.
    Writes ``sold`` (M, E), ``sold_by`` (M, S, E), ``got_first`` (M, F, E) and ``got``
    (M, B, E) at [m, e]: priority buyers take ``min(their orders, supply)``, the others share
    ``min(supply - taken, want)`` pro rata; the first sellers sell in order, the others pro rata
    to their offers. Sums run in name order from the first term (reserves' orders from 0.0), and
    min, max and the fills follow numpy's rules, so the numbers are those of the numpy rule.
    Inlined where it is called (numba ``inline="always"``), as are :func:`_reserve_at_cap` and
    :func:`.price_rule._log_prices`: called per member and element, each call's arrays were
    reference-counted on the way in and out, atomic operations that took 10.5% of a 250-member
    chunk's perf samples (6.5% inlined; ``docs/benchmarks.md``, fifty-second session).
    """
    supply = offers[m, 0, e]
    for s in range(1, offers.shape[1]):
        supply = supply + offers[m, s, e]
    want = wants[m, 0, e]
    for b in range(1, wants.shape[1]):
        want = want + wants[m, b, e]
    priority = 0.0
    for f in range(first.shape[1]):
        priority = priority + first[m, f, e]
    taken = np_minimum(priority, supply)
    rest = np_minimum(supply - taken, want)
    remaining = sold[m, e] = taken + rest
    for s in sold_first:
        sold_by[m, s, e] = np_minimum(offers[m, s, e], remaining)
        remaining = remaining - sold_by[m, s, e]
    if len(others):
        other_supply = offers[m, others[0], e]
        for i in range(1, len(others)):
            other_supply = other_supply + offers[m, others[i], e]
        fill = remaining / np_maximum(other_supply, 1e-300) if other_supply > 0 else 0.0
        for s in others:
            sold_by[m, s, e] = offers[m, s, e] * fill
    fill = taken / np_maximum(priority, 1e-300) if priority > 0 else 0.0
    for f in range(first.shape[1]):
        got_first[m, f, e] = first[m, f, e] * fill
    fill = rest / np_maximum(want, 1e-300) if want > 0 else 0.0
    for b in range(wants.shape[1]):
        got[m, b, e] = wants[m, b, e] * fill


class ReserveOrders(NamedTuple):
    """Reserve orders of a (sub-)step, (M, E) t: purchases wanted and releases available."""

    buy: dict[str, np.ndarray]          # reserve holder -> wanted purchases
    release: dict[str, np.ndarray]      # reserve holder -> released, within its stock
    owed: np.ndarray                    # (M, 2, E) t ordered and still open, before this step


def reserve_orders(inp: MarketInputs, t: int, stocks: Stocks, backlog: np.ndarray,
                   dt: float = DT_YR, substep: int = 0) -> ReserveOrders:
    """Purchases and releases of the state reserve and the trading company in month ``t``.

    ``backlog`` (M, 2, E) t is what earlier steps of an open order failed to buy. The reserve
    buys this step's tranche of the order (its tonnage spread evenly over the window) and the
    backlog spread over the steps left in the window (all of it in the last one); when the
    window closes, an unfilled remainder lapses. ``substep`` is the step's place within month
    ``t`` when the month has sub-steps of ``dt``. The arithmetic is :func:`_reserve_orders`'.
    """
    buy, release, owed = _reserve_orders(inp.stockpile_t_per_yr[t], inp.stockpile_months_left[t],
                                         backlog, stocks.array, RESERVE_INDEX, dt, substep)
    return ReserveOrders(
        buy={h: buy[:, i] for i, h in enumerate(RESERVE_HOLDERS)},
        release={h: release[:, i] for i, h in enumerate(RESERVE_HOLDERS)}, owed=owed)


RESERVE_INDEX = np.array([HOLDERS.index(h) for h in RESERVE_HOLDERS])
"""Positions of :data:`RESERVE_HOLDERS` on the holder axis."""


@numba.njit(cache=True, error_model="numpy")
def _reserve_orders(orders: np.ndarray, months_left: np.ndarray, backlog: np.ndarray,
                    stocks: np.ndarray, holders: np.ndarray, dt: float, substep: int = 0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arithmetic of :func:`reserve_orders` (numba, cached): buys, releases and what is owed.

    ``orders`` (2, E) t/yr (+ buy, - release) and ``months_left`` (2, E) of the reserves at
    ``holders`` (2,) on the holder axis of ``stocks`` (M, H, E) t; ``backlog`` (M, 2, E) t. Owed:
    ``backlog + tranche`` with ``tranche = max(order, 0) * dt`` while the window is open (0
    after); bought this step: the tranche plus the backlog over the steps left,
    ``max(months_left * (1 month / dt) - substep, 1)``, this one included (until 2026-12-08 the
    tranche was spread with the backlog, which pushed purchases to the window's end);
    released: ``min(max(-order, 0) * dt, stock)``. Each (M, 2, E). Counting the
    sub-steps already taken matters in the window's last month: read as whole months, each of
    its n sub-steps bought 1/n of what was owed and about (1 - 1/n) ** n of it lapsed (the 2012
    order's 50 t of Eu left the state reserve with 43 t at eight sub-steps, before 2026-12-06).
    """
    members, n_orders, elements = backlog.shape
    buy = np.empty((members, n_orders, elements))
    release, owed = np.empty(buy.shape), np.empty(buy.shape)
    steps_per_month = DT_YR / dt
    for m in range(members):
        for i in range(n_orders):
            for e in range(elements):
                order = orders[i, e]
                tranche = np_maximum(order, 0.0) * dt if months_left[i, e] > 0 else 0.0
                owed[m, i, e] = backlog[m, i, e] + tranche if months_left[i, e] > 0 else 0.0
                # this step's tranche, and the earlier shortfall spread over the steps left
                buy[m, i, e] = tranche + (owed[m, i, e] - tranche) / np_maximum(
                    months_left[i, e] * steps_per_month - substep, 1.0)
                release[m, i, e] = np_minimum(np_maximum(-order, 0.0) * dt,
                                              stocks[m, holders[i], e])
    return buy, release, owed


def desired_trade(inp: MarketInputs, landed: np.ndarray, destination_price: np.ndarray,
                  want: np.ndarray, destination_sellers: np.ndarray,
                  local_supply: np.ndarray) -> np.ndarray:
    """Tonnage traders want to move into a market, (M, E) t REO/yr, before any restriction.

    They fill the destination's import requirement (its buyers' wants less its own supply
    ``local_supply`` t/yr, corrected toward a target stock of its sellers over the arbitrage
    time: a proportional rule, so the flow needs no step length) while the destination price
    covers the landed cost (origin price + duty + trade cost), fewer as it falls below, and push
    extra tonnage in proportion to the price gap when it is above. The arithmetic is
    :func:`_desired_trade`'.
    """
    return _desired_trade(*np.broadcast_arrays(landed, destination_price, want,
                                               destination_sellers, local_supply), inp.rules)


@numba.njit(cache=True, error_model="numpy")
def _desired_trade(landed: np.ndarray, destination_price: np.ndarray, want: np.ndarray,
                   destination_sellers: np.ndarray, local_supply: np.ndarray,
                   rules: MemberRules) -> np.ndarray:
    """The arithmetic of :func:`desired_trade` per member and element (numba, cached), (M, E).

    ``ratio = p_destination / landed``; ``requirement = max(want - local + (months * want / 12
    - sellers) / correction time, 0)``; ``push = push rate * max(ratio - 1, 0) * want``; the
    trade is ``requirement * min(ratio, 1) ** gate + push`` with the member's ``rules``. The
    power is numpy's for a (members, 1) exponent (:func:`~reesim.model.compiled.numpy_power`).
    """
    members, elements = want.shape
    out = np.empty((members, elements))
    for m in range(members):
        months, correction = rules.seller_coverage_months[m], rules.stock_correction_yr[m]
        push_rate, gate = rules.arbitrage_push_per_yr[m], rules.arbitrage_gate[m]
        for e in range(elements):
            out[m, e] = desired_at(landed[m, e], destination_price[m, e], want[m, e],
                                   destination_sellers[m, e], local_supply[m, e], months,
                                   correction, push_rate, gate, members == 1)
    return out


class Trade(NamedTuple):
    """One (sub-)step of trade and clearing."""

    imports: np.ndarray                 # (M, E) t into China this step (bought abroad)
    exports_wanted: np.ndarray          # (M, E) t/yr exporters' wants after licences and quota
    flow: np.ndarray                    # (M, E) t/yr traders' smoothed net export intention
    drain: np.ndarray                   # (M, E) t/yr the world's net drain sellers perceive
    free: np.ndarray                    # (M, E) share of exporters' wants licences and quota let go
    rent: np.ndarray                    # (M, E) USD/kg the tonnage quota's rent (rule "rent")
    price: np.ndarray                   # (M, K, E) USD/kg, the step's clearing prices
    china: Clearing
    abroad: Clearing


def trade(inp: MarketInputs, t: int, stocks: Stocks, price: np.ndarray, recent: np.ndarray,
          anchor: np.ndarray, momentum: np.ndarray, want: np.ndarray, company_offer: np.ndarray,
          orders: ReserveOrders, flow: np.ndarray, supply_rate: tuple[np.ndarray, np.ndarray],
          use: np.ndarray, drain_seen: np.ndarray, dt: float = DT_YR,
          glut_scale: np.ndarray | None = None) -> Trade:
    """Imports, exports, the China market, then the export market; updates ``stocks`` in place.

    ``price`` (M, K, E) are last step's prices, ``recent`` the perceived prices (the reference
    of the purchase elasticity), ``anchor`` the going prices, ``want``
    (M, K, E) t/yr consumers' purchases at those prices, ``company_offer`` (M, E) t what the
    trading company offers (its regime decides), ``flow`` (M, E) t/yr traders' net export
    intention so far, ``supply_rate`` each market's own separated output (M, E) t/yr, ``use``
    (M, K, E) t/yr consumers' use and ``drain_seen`` (M, E) t/yr the world's net drain sellers
    perceived so far: it moves toward this step's :func:`world_drain` over
    ``drain_perception_time_yr``; ``glut_scale`` (M, E) what remains of the flat glut side
    (:func:`.demand_outlook.glut_scales`; default 1: all of it).
    Traders' intentions follow the arbitrage signals with the arbitrage time
    (at least ``min_trade_adjustment_yr``), so trade flows are smooth; then each market's price
    is solved within the step (:func:`solve_log_price`).
    """
    m, n_e = flow.shape
    imports, exports_wanted, new_flow, drain, free = (np.empty((m, n_e)) for _ in range(5))
    new_price, rent = np.empty(price.shape), np.empty((m, n_e))
    china = Clearing(np.empty((m, n_e)), {k: np.empty((m, n_e)) for k in CHINA_SELLERS},
                     {k: np.empty((m, n_e)) for k in (*CHINA_BUYERS, SMUGGLERS)})
    abroad = Clearing(np.empty((m, n_e)), {PRODUCERS_EXPORT: np.empty((m, n_e))},
                      {CONSUMERS_EXPORT: np.empty((m, n_e)), "importers": imports})
    _trade(inp.rules, float(inp.export_quota_t_per_yr[t]), inp.export_quota_pool_t_per_yr[t],
           inp.export_quota_pool_of, inp.export_tax[t], inp.export_licensed[t],
           inp.trade_cost_usd_per_kg, inp.log_floor_price,
           inp.premium_on, inp.quota_rent, stocks.array, price, recent, anchor, momentum,
           want, company_offer, orders.release[STATE_RESERVE], orders.buy[STATE_RESERVE],
           orders.buy[COMPANY], flow, supply_rate[0], supply_rate[1], use, drain_seen,
           np.ones((m, n_e)) if glut_scale is None else glut_scale, dt, new_flow, imports,
           exports_wanted, drain, free, rent, new_price, china.sold,
           *china.sold_by.values(), *(china.got_by[k] for k in (*CHINA_BUYERS, SMUGGLERS)),
           abroad.sold, abroad.sold_by[PRODUCERS_EXPORT], abroad.got_by[CONSUMERS_EXPORT])
    return Trade(imports=imports, exports_wanted=exports_wanted, flow=new_flow, drain=drain,
                 free=free, rent=rent, price=new_price, china=china, abroad=abroad)


@numba.njit(cache=True, error_model="numpy")
def _trade(rules: MemberRules, quota: float, pool_quota: np.ndarray, pool_of: np.ndarray,
           duty: np.ndarray, licensed: np.ndarray, trade_cost: float, log_floor: np.ndarray,
           premium_on: bool, rent_rule: bool,
           stocks: np.ndarray, price: np.ndarray, recent: np.ndarray, anchor: np.ndarray,
           momentum: np.ndarray,
           want: np.ndarray, company_offer: np.ndarray, release_reserve: np.ndarray,
           buy_reserve: np.ndarray, buy_company: np.ndarray, flow: np.ndarray,
           supply_china: np.ndarray, supply_export: np.ndarray, use: np.ndarray,
           drain_seen: np.ndarray, glut_scale: np.ndarray, dt: float, new_flow: np.ndarray,
           imports: np.ndarray, exports_wanted: np.ndarray, drain: np.ndarray, free: np.ndarray,
           rent: np.ndarray, new_price: np.ndarray, sold_china: np.ndarray, sold_pc: np.ndarray,
           sold_tc: np.ndarray, sold_sr: np.ndarray, got_sr: np.ndarray, got_tc: np.ndarray,
           got_cc: np.ndarray, got_exporters: np.ndarray, got_smugglers: np.ndarray,
           sold_abroad: np.ndarray, sold_pe: np.ndarray, got_ce: np.ndarray) -> None:
    """The arithmetic of :func:`trade` (numba, cached): its signals, then :func:`_trade_and_clear`.

    ``quota`` t/yr, ``pool_quota`` (2,) t/yr (the light and medium/heavy pools; both inf: one
    pool, the total; one inf: that pool unlimited), ``duty`` and ``licensed`` (E,) are month
    ``t``'s, ``pool_of`` (E,) each element's pool; ``premium_on`` whether any member's
    ``premium_withholding`` is on (the premium signal is read only then);
    ``rent_rule`` whether the tonnage quota carries a rent (the ``rent`` quota rule). Traders'
    desired exports and imports (:func:`_desired_trade`, from the landed costs
    :func:`landed_cost`; under the rent rule the exports at the landed cost plus
    :func:`.arbitrage.quota_rent`, one per pool, written to ``rent`` (M, E) USD/kg for each
    element, 0 where its pool's quota does not bind; the import landed costs also set the share
    of a net import aim that pays, :func:`.arbitrage.import_share`), the licences' grant and
    refusals, the intention's adjustment ``1 - exp(-dt / arbitrage time)``, the world's drain
    as sellers perceive it (:func:`world_drain`, lagged over ``drain_perception_time_yr``),
    sellers' holds (:func:`seller_hold` + :func:`drain_hold`) and the premium signal
    (:func:`premium_signal`) and the price rule (:func:`_price_rule`) are computed as those
    functions state, in numpy's order; the
    clearing's outputs are written in place (t, t/yr as in :class:`Trade`), ``drain`` (M, E)
    t/yr, ``free`` (M, E) the share licences and quota let go, ``new_price`` (M, K, E) USD/kg.
    """
    members, elements = flow.shape
    landed_out, landed_in = np.empty((members, elements)), np.empty((members, elements))
    for m in range(members):
        for e in range(elements):
            landed_out[m, e] = landed_cost(price[m, 0, e], duty[e], trade_cost)
            landed_in[m, e] = landed_cost(price[m, 1, e], 0.0, trade_cost)
    out = _desired_trade(landed_out, price[:, 1], want[:, 1], stocks[:, _PE], supply_export,
                         rules)
    into = _desired_trade(landed_in, price[:, 0], want[:, 0], stocks[:, _PC], supply_china,
                          rules)
    # the tonnage quota's rent: exports wanted at landed cost + rent fit the quota; the share
    # of the no-rent wants it turns away is the quota's squeeze the premium hold reads
    turned = np.zeros(members)
    pooled = pool_quota[0] < np.inf or pool_quota[1] < np.inf   # else one pool
    pool_width = elements if rent_rule and pooled else 0          # only the rents read it
    in_pool = np.empty((2, pool_width))         # licensed shares within each pool
    for p in range(2):
        for e in range(pool_width):
            in_pool[p, e] = licensed[e] if pool_of[e] == p else 0.0
    for m in range(members):
        rent[m] = 0.0
        if rent_rule:
            months, correction = rules.seller_coverage_months[m], rules.stock_correction_yr[m]
            push_rate, gate = rules.arbitrage_push_per_yr[m], rules.arbitrage_gate[m]
            if pooled:
                # one rent per pool: a pool's licences carry only its own elements' tonnes
                fits, asked = 0.0, 0.0
                for p in range(2):
                    pool_rent = quota_rent(pool_quota[p], landed_out[m], price[m, 1], want[m, 1],
                                           stocks[m, _PE], supply_export[m], in_pool[p],
                                           months, correction, push_rate, gate, members == 1)
                    pool_asked = 0.0
                    for e in range(elements):
                        pool_asked += out[m, e] * in_pool[p, e]
                        if pool_of[e] == p:
                            rent[m, e] = pool_rent
                    fits += np_minimum(pool_quota[p], pool_asked)
                    asked += pool_asked
                if asked > 0.0:
                    turned[m] = 1.0 - fits / asked
            else:
                one_rent = quota_rent(quota, landed_out[m], price[m, 1], want[m, 1],
                                      stocks[m, _PE], supply_export[m], licensed, months,
                                      correction, push_rate, gate, members == 1)
                if one_rent > 0.0:
                    asked = 0.0
                    for e in range(elements):
                        asked += out[m, e] * licensed[e]
                    turned[m] = 1.0 - np_minimum(quota / asked, 1.0)
                    rent[m] = one_rent
            for e in range(elements):
                if rent[m, e] > 0.0:
                    out[m, e] = desired_at(landed_out[m, e] + rent[m, e], price[m, 1, e],
                                           want[m, 1, e], stocks[m, _PE, e],
                                           supply_export[m, e], months, correction, push_rate,
                                           gate, members == 1)
    denied, licence_cap = np.empty((members, elements)), np.empty((members, elements))
    decay = np.empty(members)
    hold = np.empty(price.shape)
    signal = np.zeros((members, elements))
    for m in range(members):
        # licences grant their share of what exporters apply for this month, once: the
        # intention forms on the licensed tonnage, and shipments never exceed this month's grant
        # (so a new control bites at once). Applying the share to the intention and again to
        # the shipments licensed f**2 (16% for the 2025 controls' 40%), and the traders' price
        # push, scaled up to fill that gap, made Sm and Gd cycle between 8 and 50 USD/kg every
        # two years.
        for e in range(elements):
            denied[m, e] = out[m, e] * (1.0 - licensed[e])           # t/yr licences turn away
            out[m, e] = out[m, e] * licensed[e]
            licence_cap[m, e] = out[m, e] if licensed[e] < 1.0 else np.inf
        decay[m] = 1.0 - math.exp(-dt / rules.arbitrage_time_yr[m])
        perceived = 1.0 - math.exp(-dt / rules.drain_perception_time_yr[m])
        weight = perception_weight(dt, rules.perception_time_yr[m])
        for e in range(elements):
            world = use[m, 0, e] + use[m, 1, e] - supply_china[m, e] - supply_export[m, e]
            drain[m, e] = drain_seen[m, e] + (world - drain_seen[m, e]) * perceived
            ahead = drain_hold_at(rules.seller_coverage_months[m], rules.drain_foresight_yr[m],
                                  use[m, 0, e] + use[m, 1, e], drain[m, e])
            for k in range(2):
                hold[m, k, e] = seller_hold_at(rules.hoarding_sensitivity[m], momentum[m, k, e],
                                               rules.max_hoard_multiple[m]) + ahead
            if premium_on:
                signal[m, e] = premium_signal_at(recent[m, 1, e], price[m, 1, e], weight,
                                                 rules.log_panic_threshold[m])
    log_max_scarcity, eps, beta, glut, width, log_target = _price_rules(rules, dt)
    glut_by_element = np.empty((members, elements))     # steeper where demand declines
    for m in range(members):
        for e in range(elements):
            glut_by_element[m, e] = glut[m] * glut_scale[m, e]
    within_quota = np.empty((members, elements))
    log_price = np.empty(price.shape)
    _trade_and_clear(
        out, into, landed_in, rules.log_export_ceiling, licence_cap, denied, quota, pooled,
        pool_quota, pool_of, turned, flow, decay, stocks, hold, signal,
        rules.premium_withholding, rules.smuggling_share, rules.smuggling_cap_t_per_yr, duty,
        trade_cost, price, recent, anchor, want, company_offer,
        release_reserve, buy_reserve, buy_company, dt, log_floor, rules.log_choke_price,
        log_max_scarcity, eps, beta, glut_by_element, width, log_target, new_flow, imports,
        exports_wanted, within_quota, log_price, sold_china, sold_pc, sold_tc, sold_sr, got_sr,
        got_tc, got_cc, got_exporters, got_smugglers, sold_abroad, sold_pe, got_ce)
    for m in range(members):
        for e in range(elements):
            free[m, e] = licensed[e] * within_quota[m, e]
            for k in range(2):
                new_price[m, k, e] = math.exp(log_price[m, k, e])


CHINA_SELLERS = (PRODUCERS_CHINA, COMPANY, STATE_RESERVE)
"""Sellers in the China market, in the order their offers add up."""
CHINA_BUYERS = (STATE_RESERVE, COMPANY, CONSUMERS_CHINA, "exporters")
"""Buyers in the China market: the reserves (served first), then consumers and exporters."""
SMUGGLERS = "smugglers"
"""Buyer name of the part of exporters' purchases that leaves China outside the quota and the
licences (``smuggling_share``); ``got_by["exporters"]`` is the licensed part; both reach
foreign sellers."""
_PC, _PE, _TC, _SR, _CC, _CE = (_HOLDER_INDEX[h] for h in (
    PRODUCERS_CHINA, PRODUCERS_EXPORT, COMPANY, STATE_RESERVE, CONSUMERS_CHINA,
    CONSUMERS_EXPORT))


@numba.njit(cache=True, error_model="numpy")
def _trade_and_clear(
        out: np.ndarray, into: np.ndarray, landed_in: np.ndarray, log_ceiling: np.ndarray,
        licence_cap: np.ndarray, denied: np.ndarray,
        quota: float, pooled: bool, pool_quota: np.ndarray, pool_of: np.ndarray,
        rent_turned: np.ndarray,
        flow: np.ndarray, decay: np.ndarray, stocks: np.ndarray, hold: np.ndarray,
        log_signal: np.ndarray, withholding: np.ndarray, smuggle_share: np.ndarray,
        smuggle_cap: np.ndarray, duty: np.ndarray, trade_cost: float,
        price: np.ndarray, recent: np.ndarray, anchor: np.ndarray, want: np.ndarray,
        company_offer: np.ndarray,
        release: np.ndarray, buy_reserve: np.ndarray, buy_company: np.ndarray, dt: float,
        log_floor: np.ndarray, log_choke: np.ndarray, log_max_scarcity: np.ndarray,
        eps: np.ndarray, beta: np.ndarray, glut: np.ndarray,
        width: np.ndarray, log_target: np.ndarray, new_flow: np.ndarray, imports: np.ndarray,
        exports_wanted: np.ndarray, within_quota: np.ndarray,
        log_price: np.ndarray, sold_china: np.ndarray, sold_pc: np.ndarray,
        sold_tc: np.ndarray, sold_sr: np.ndarray, got_sr: np.ndarray, got_tc: np.ndarray,
        got_cc: np.ndarray, got_exporters: np.ndarray, got_smugglers: np.ndarray,
        sold_abroad: np.ndarray, sold_pe: np.ndarray, got_ce: np.ndarray) -> None:
    """The rest of :func:`trade`, member by member (compiled, numba).

    Inputs (M, E) unless noted: ``out`` and ``into`` t/yr traders' desired exports (after
    licences) and imports, ``licence_cap`` t/yr, ``denied`` t/yr the desired exports licences
    refuse, ``quota`` t/yr (inf: none), ``pooled`` whether the quota is in pools this month,
    ``pool_quota`` (2,) t/yr its light and medium/heavy pools (each pool's when ``pooled``,
    the total then unused) with
    ``pool_of`` (E,) each element's pool, ``rent_turned`` (M,) the share of exporters' no-rent
    wants a rent-carrying quota turns away (0 under the pro-rata rule),
    ``flow`` t/yr last intention, ``decay`` (M,) its adjustment this step, ``stocks``
    (M, H, E) t (updated in place), ``hold`` (M, K, E) sellers' log hold multiple,
    ``log_signal`` (M, E), ``withholding`` (M,), ``duty`` (E,) and ``trade_cost`` USD/kg
    the Chinese sellers' hold for the export premium (:func:`premium_hold`; its strength is
    ``withholding`` times the share of exporters' wants the tonnage quota turns away),
    ``price``, ``recent`` and ``anchor`` (M, K, E) USD/kg, ``want`` (M, K, E) t/yr consumers'
    purchases, ``company_offer``, ``release``, ``buy_reserve``, ``buy_company`` t, ``dt`` yr,
    and the price rule's values (:func:`_price_rule`; ``glut`` (M, E), the member's glut term
    times the element's :func:`.demand_outlook.glut_scales`). Per member, in :func:`trade`'s
    order:

    1. the intention follows ``out - into``; exports are the intention within the licence
       grant, scaled pro rata to the quota on total tonnes (a sum over elements in numpy's
       order), or where the quota has pools (2012-2014) to each pool's quota on its own
       elements' tonnes (summed in element order): quotas were granted to exporting companies
       by tonnage, each shipping its own product mix; of what the quota and the licences turn
       away, ``smuggle_share`` (M,) leaves anyway, at most ``smuggle_cap`` (M,) t/yr in all,
       pro rata over elements (smugglers buy beside the exporters and are served with them;
       ``got_smugglers`` is their part); imports into China (no quota) are the intention's
       other side, which follows a net import aim only in the share that China's price pays
       at the step's prices (:func:`.arbitrage.import_share` of ``landed_in`` (M, E) USD/kg,
       export-market oxide landed in China, and ``log_ceiling`` (M,) the members' log
       ``export_ceiling_multiple``);
    2. the China market: producers' offer, the company's, the reserve's release against the
       reserves' orders (served first), consumers and exporters; its price
       (:func:`_log_prices`), buyers' purchases scaled by ``(p / p_recent) ** eps``, the
       clearing (:func:`_clear_at`) and the stocks' changes;
    3. the export market likewise, with the exports just arrived: importers buy there beside
       foreign consumers, their wants in the price and rationed with them, and what they get
       reaches Chinese sellers for the next step (before 2026-12-03 imports were taken from
       foreign sellers' stock ahead of the market, at any price: in baotou's projection China
       drew Dy out of a rationed export market at 6x China's price).

    Writes the new flow, imports and exports (t and t/yr as named in :class:`Trade`), the share
    of each element's exports the quota lets go ``within_quota`` (M, E), the log prices
    (M, K, E) and both clearings (t). Each operation is numpy's in numpy's order,
    so a member's numbers do not depend on the batch.
    """
    members, elements = out.shape
    # one member's market at a time, in the layouts of _clear_at (a member axis of 1) and
    # _log_prices (element rows: supply, fixed and elastic wants, last and going log prices)
    offers, first = np.empty((1, 3, elements)), np.empty((1, 2, elements))
    wants, got_first, got = (np.empty((1, 2, elements)), np.empty((1, 2, elements)),
                             np.empty((1, 2, elements)))
    sold, sold_by = np.empty((1, elements)), np.empty((1, 3, elements))
    reserve_then_company, producers = np.array([2, 1]), np.array([0])
    offers_abroad, want_abroad = np.empty((1, 1, elements)), np.empty((1, 2, elements))
    got_abroad, sold_by_abroad = np.empty((1, 2, elements)), np.empty((1, 1, elements))
    nobody = np.empty((1, 0, elements))                  # the export market has no reserves
    no_seller = np.empty(0, np.int64)
    rows, work = np.empty((6, elements)), np.empty((5, elements))
    nothing = np.zeros(elements)                         # the export market: no premium hold
    smuggled = np.empty(elements)                        # t/yr smugglers' wants
    supply, fixed, elastic, log_last, log_going, log_ref = (rows[0], rows[1], rows[2], rows[3],
                                                            rows[4], rows[5])
    applied_pools, within_pools = np.empty(2), np.empty(2)
    for m in range(members):
        # 1. trade intention, imports, exports within licences and quota
        for e in range(elements):
            # traders aim at the net of the two markets' wants; a net import aim only in the
            # share that pays at the step's prices: separated oxide enters China as arbitrage
            aim = out[m, e] - into[m, e]
            if aim < 0.0:
                aim *= import_share(price[m, 0, e], landed_in[m, e], log_ceiling[m])
            new_flow[m, e] = flow[m, e] + (aim - flow[m, e]) * decay[m]
            imports[m, e] = np_maximum(-new_flow[m, e], 0.0) * dt    # wanted; bought in 3.
            exports_wanted[m, e] = np_minimum(np_maximum(new_flow[m, e], 0.0), licence_cap[m, e])
        if pooled:
            # each pool's quota on its own elements' tonnes; the share of all the tonnes
            # applied for that the quota turns away is what the premium hold reads
            applied_pools[0], applied_pools[1] = 0.0, 0.0
            for e in range(elements):
                applied_pools[pool_of[e]] += exports_wanted[m, e]
            quota_turned = 0.0          # t/yr the pools' quotas turn away (0 where they fit)
            for p in range(2):
                within_pools[p] = np_minimum(pool_quota[p] / np_maximum(applied_pools[p], 1e-300),
                                             1.0)
                quota_turned += (1.0 - within_pools[p]) * applied_pools[p]
            for e in range(elements):
                within_quota[m, e] = within_pools[pool_of[e]]
            squeeze = quota_turned / np_maximum(applied_pools[0] + applied_pools[1], 1e-300)
        else:
            applied = sum_elements(exports_wanted[m])
            within = np_minimum(quota / np_maximum(applied, 1e-300), 1.0)
            for e in range(elements):
                within_quota[m, e] = within
            quota_turned = (1.0 - within) * applied
            squeeze = 1.0 - within
        leak = 0.0                      # share of the refused tonnage smuggled (lever off: 0)
        if smuggle_share[m] > 0.0:
            turned = quota_turned + sum_elements(denied[m])
            if turned > 0.0:
                leak = np_minimum(smuggle_share[m] * turned, smuggle_cap[m]) / turned
        for e in range(elements):
            smuggled[e] = (exports_wanted[m, e] * (1.0 - within_quota[m, e]) + denied[m, e]) * leak
            exports_wanted[m, e] *= within_quota[m, e]
        # 2. the China market: offers and the reserves' orders, its price, the clearing
        for e in range(elements):
            offers[0, 0, e] = stocks[m, _PC, e]
            offers[0, 1, e] = company_offer[m, e]
            offers[0, 2, e] = release[m, e]
            first[0, 0, e], first[0, 1, e] = buy_reserve[m, e], buy_company[m, e]
            total = offers[0, 0, e] + offers[0, 1, e] + offers[0, 2, e]
            supply[e] = total - np_minimum(first[0, 0, e] + first[0, 1, e], total)
            fixed[e], elastic[e] = (exports_wanted[m, e] + smuggled[e]) * dt, want[m, 0, e] * dt
            log_last[e], log_going[e] = math.log(price[m, 0, e]), math.log(anchor[m, 0, e])
            log_ref[e] = math.log(recent[m, 0, e])
        _log_prices(supply, fixed, elastic, log_last, log_ref, hold[m, 0], log_going,
                    log_choke[m], log_floor,
                    log_max_scarcity[m], eps[m], beta[m], glut[m], width[m],
                    log_target[m],
                    log_signal[m], duty, trade_cost,
                    withholding[m] * np_maximum(squeeze, rent_turned[m]), work,
                    log_price[m, 0])
        for e in range(elements):
            wants[0, 0, e] = elastic[e] * math.exp(eps[m] * (log_price[m, 0, e] - log_ref[e]))
            wants[0, 1, e] = fixed[e]
            _reserve_at_cap(wants[0, :, e], supply[e], log_price[m, 0, e], work[1, e],
                            log_going[e], log_target[m] + hold[m, 0, e] + work[4, e], beta[m])
            _clear_at(offers, first, wants, reserve_then_company, producers, 0, e, sold,
                      sold_by, got_first, got)
            sold_china[m, e], sold_pc[m, e] = sold[0, e], sold_by[0, 0, e]
            sold_tc[m, e], sold_sr[m, e] = sold_by[0, 1, e], sold_by[0, 2, e]
            got_sr[m, e], got_tc[m, e] = got_first[0, 0, e], got_first[0, 1, e]
            got_cc[m, e] = got[0, 0, e]
            got_smugglers[m, e] = (got[0, 1, e] * smuggled[e] / fixed[e] * dt
                                   if smuggled[e] > 0.0 else 0.0)
            got_exporters[m, e] = got[0, 1, e] - got_smugglers[m, e]
            stocks[m, _PC, e] -= sold_pc[m, e]
            stocks[m, _TC, e] += got_tc[m, e] - sold_tc[m, e]
            stocks[m, _SR, e] += got_sr[m, e] - sold_sr[m, e]
            stocks[m, _CC, e] += got_cc[m, e]
            stocks[m, _PE, e] += got[0, 1, e]
        # 3. the export market, with this step's exports arrived
        for e in range(elements):
            supply[e] = offers_abroad[0, 0, e] = stocks[m, _PE, e]
            fixed[e], elastic[e] = imports[m, e], want[m, 1, e] * dt
            log_last[e], log_going[e] = math.log(price[m, 1, e]), math.log(anchor[m, 1, e])
            log_ref[e] = math.log(recent[m, 1, e])
        _log_prices(supply, fixed, elastic, log_last, log_ref, hold[m, 1], log_going,
                    log_choke[m], log_floor,
                    log_max_scarcity[m], eps[m], beta[m], glut[m], width[m],
                    log_target[m],
                    nothing, nothing, 0.0, 0.0, work, log_price[m, 1])
        for e in range(elements):
            want_abroad[0, 0, e] = elastic[e] * math.exp(
                eps[m] * (log_price[m, 1, e] - log_ref[e]))
            want_abroad[0, 1, e] = fixed[e]
            _reserve_at_cap(want_abroad[0, :, e], supply[e], log_price[m, 1, e], work[1, e],
                            log_going[e], log_target[m] + hold[m, 1, e], beta[m])
            _clear_at(offers_abroad, nobody, want_abroad, no_seller, producers, 0, e, sold,
                      sold_by_abroad, nobody, got_abroad)
            sold_abroad[m, e], sold_pe[m, e] = sold[0, e], sold_by_abroad[0, 0, e]
            got_ce[m, e], imports[m, e] = got_abroad[0, 0, e], got_abroad[0, 1, e]
            stocks[m, _PE, e] -= sold_abroad[m, e]
            stocks[m, _CE, e] += got_ce[m, e]
            stocks[m, _PC, e] += imports[m, e]


@numba.njit(cache=True, error_model="numpy", inline="always")
def _reserve_at_cap(wants: np.ndarray, supply: float, log_price: float, log_cap: float,
                    log_anchor: float, log_target: float, beta: float) -> None:
    """Ration ``wants`` (t) in place to what sellers release when the price is at its cap.

    Within the bracket the solved price makes sellers keep exactly the cover of their
    reservation rule; at the cap (``log_price >= log_cap``) buyers want more than that leaves,
    and sellers still keep the cover the rule asks at the cap price,
    ``want * exp(log_target - (log_cap - log_anchor) / beta)`` steps of it, instead of selling
    their whole stock in one step: what a step sells at the cap no longer depends on the step.
    Inlined where it is called, as :func:`_clear_at` is (a call per member and element).
    """
    if log_price < log_cap:
        return
    want = 0.0
    for b in range(len(wants)):
        want = want + wants[b]
    if want <= TINY_T:
        return
    kept = want * math.exp(log_target - (log_price - log_anchor) / beta)
    released = np_maximum(supply - kept, 0.0)
    if want > released:
        fill = released / want
        for b in range(len(wants)):
            wants[b] = wants[b] * fill


