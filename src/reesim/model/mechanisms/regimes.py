"""Market regimes of the Baotou cluster, chosen by name behind one small protocol.

``free_market``: each Baotou producer sells its separated output alone and takes the price (its
output goes to the merchant inventory of Chinese sellers); a company stock left from an earlier
regime is liquidated.

``trading_company``: the members sell only through one jointly owned company, with the sales
rule named by ``market.trading_company.rule``; what it offers sells before merchants' stocks
(it is its members' only sales channel). It sets aside its planned stockpile (built up over its
first years) from what its members deliver, as a reserve it does not sell. Rule
``defend_price``: below its defended price (a multiple of its trailing reference price) it
withholds what it holds beyond the reserve and cuts its members' output, both by the same
response; members mine more while the reserve is short of plan. This is how the 2008 company
avoided oversupply and held prices up.

A third regime is a class with the :class:`Regime` methods, registered in :data:`REGIMES` and
named in ``reesim.scenario.schema.REGIME_NAMES``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numba
import numpy as np

from reesim.dims import DT_YR, MONTHS_PER_YEAR
from reesim.model.compiled import einsum_dot, np_maximum, np_minimum, scalar_power, sum_elements
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, monthly_rate
from reesim.model.mechanisms.mining import distribution, quota_allocation
from reesim.scenario.schema import REGIME_NAMES

CONSTANTS = (
    Constant("stockpile_build_years", 5.0, "yr", 0.5, 20.0,
             "The company's planned stockpile is built up linearly over this time.",
             "data/reference/events_timeline.csv 2011-04-05: the Inner Mongolia reserve plan of "
             "~300,000 t of RE mineral products over 5 years"),
    Constant("quota_target_from_year", 2016, "year", 2000, 2050,
             "From this year the company plans its members' output at least at their mining "
             "quota allocation (the quota as a production target, not only a cap): from 2016 "
             "the six state groups held all of China's quotas and China's recorded output equals "
             "its quota every year 2016-2024 (data/observations/production.csv vs "
             "data/inputs/quotas.csv); before it the company's own plan ruled (the 2011-2014 "
             "production halts to defend prices, events_timeline.csv).",
             "data/observations/production.csv; data/inputs/quotas.csv", level="run",
             integer=True),
)


@dataclass(frozen=True)
class RegimeInputs:
    """Compiled inputs of the regimes: which regime holds each month, and the company's rule."""

    regime: np.ndarray                  # (T,) index into REGIME_NAMES
    members: np.ndarray                 # (T, P) bool: legal Chinese producers whose
    #                                     concentrate is separated in the company's region
    company_region: int                 # region index of the company's members
    separation_recovery: float          # fraction of members' concentrate separated there
    member_mix: np.ndarray              # (E,) members' output mix (capacity-weighted)
    quota_target_t_per_yr: np.ndarray   # (T,) members' mining quota, planned at least (0: none)
    rule: str                           # the company's sales rule
    planned_stockpile_t: float          # t REO the company plans to hold
    defend_factor: float                # defended price / trailing reference price
    sales_response: float               # exponent of the sales withheld below that price
    stock_adjustment_time_yr: float
    reference_rate: float               # monthly adjustment of the reference price
    stockpile_build_months: np.ndarray  # (M,)


class CompanyState(NamedTuple):
    """The trading company's memories, kept whatever the regime."""

    reference: np.ndarray               # (M, E) USD/kg trailing reference price
    months: np.ndarray                  # (M,) months the company has been active
    reserve: np.ndarray                 # (M, E) t of its inventory set aside, not for sale


class Regime(Protocol):
    """What a regime decides each month (arrays (M, ...))."""

    name: str

    def planned_stockpile(self, inp: RegimeInputs, company: CompanyState) -> np.ndarray:
        """Stockpile the regime's seller plans to hold, (M,) t REO (0 if none)."""
        ...

    def cap_output(self, inp: RegimeInputs, output: np.ndarray, members: np.ndarray,
                   company: CompanyState, stock: np.ndarray, planned: np.ndarray,
                   price_china: np.ndarray, floor: float = 0.0) -> np.ndarray:
        """Producers' output (M, P) t REO/yr after the regime's plan for its ``members`` (P,).

        ``floor`` (t REO/yr) is the members' output the plan may not go below (their quota).
        """
        ...

    def to_company(self, inp: RegimeInputs, output: np.ndarray) -> np.ndarray:
        """Separated output (M, E) t REO/yr of the company's region delivered to the company."""
        ...

    def set_aside(self, inp: RegimeInputs, company: CompanyState, stock: np.ndarray,
                  planned: np.ndarray, price_china: np.ndarray,
                  dt: float = DT_YR) -> CompanyState:
        """The company with this month's reserve, (M, E) t, set aside from ``stock`` (M, E) t."""
        ...

    def company_offer(self, inp: RegimeInputs, stock: np.ndarray, price_china: np.ndarray,
                      company: CompanyState, planned: np.ndarray,
                      release: np.ndarray) -> np.ndarray:
        """What the company offers in the China market, (M, E) t this month."""
        ...

    def active_months(self, months: np.ndarray) -> np.ndarray:
        """The company's months of activity after this month."""
        ...


class FreeMarket:
    """Baotou producers sell alone; a company stock (if any) is liquidated."""

    name = "free_market"

    def planned_stockpile(self, inp: RegimeInputs, company: CompanyState) -> np.ndarray:
        """No plan."""
        return np.zeros(company.months.shape[0])

    def cap_output(self, inp: RegimeInputs, output: np.ndarray, members: np.ndarray,
                   company: CompanyState, stock: np.ndarray, planned: np.ndarray,
                   price_china: np.ndarray, floor: float = 0.0) -> np.ndarray:
        """Nobody caps output."""
        return output

    def to_company(self, inp: RegimeInputs, output: np.ndarray) -> np.ndarray:
        """Nothing goes to the company."""
        return np.zeros_like(output[:, 0])

    def set_aside(self, inp: RegimeInputs, company: CompanyState, stock: np.ndarray,
                  planned: np.ndarray, price_china: np.ndarray,
                  dt: float = DT_YR) -> CompanyState:
        """No reserve: what the company still holds is for sale."""
        return company._replace(reserve=np.zeros_like(stock))

    def company_offer(self, inp: RegimeInputs, stock: np.ndarray, price_china: np.ndarray,
                      company: CompanyState, planned: np.ndarray,
                      release: np.ndarray) -> np.ndarray:
        """All the company still holds is offered."""
        return stock.copy()

    def active_months(self, months: np.ndarray) -> np.ndarray:
        """The company is not active."""
        return months + 0.0


class TradingCompany:
    """The members sell through the company, which follows its named sales rule."""

    name = "trading_company"

    def planned_stockpile(self, inp: RegimeInputs, company: CompanyState) -> np.ndarray:
        """Total stockpile the company plans to hold, (M,) t REO, built up over its first years."""
        return _planned_stockpile(company.months, inp.stockpile_build_months,
                                  inp.planned_stockpile_t)

    def cap_output(self, inp: RegimeInputs, output: np.ndarray, members: np.ndarray,
                   company: CompanyState, stock: np.ndarray, planned: np.ndarray,
                   price_china: np.ndarray, floor: float = 0.0) -> np.ndarray:
        """Members' output scaled down pro rata to the company's plan (at least ``floor``)."""
        total = _members_total(output, members)
        cap = SALES_RULES[inp.rule].output_plan(inp, company, stock, planned, price_china, total)
        return _cap_members(output, members, total, cap, float(floor))

    def to_company(self, inp: RegimeInputs, output: np.ndarray) -> np.ndarray:
        """The company's region delivers all its separated output to the company."""
        return output[:, inp.company_region]

    def set_aside(self, inp: RegimeInputs, company: CompanyState, stock: np.ndarray,
                  planned: np.ndarray, price_china: np.ndarray,
                  dt: float = DT_YR) -> CompanyState:
        """The company with its reserve for this month, (M, E) t, within ``stock`` (M, E) t.

        The reserve grows toward the plan (valued in tonnes of members' output) by the share
        ``dt / stock_adjustment_time_yr`` of the gap a month, taken from what the company
        holds beyond it in that stock's own mix; the output plan lets members produce that much
        more (:meth:`DefendPrice.output_plan`) where their capacity and quota allow.
        Before 2026-12-04 nothing was set aside: the plan raised members' output to fill a
        stockpile and the company sold it, so the company held under 0.5 kt of its 60 kt plan,
        and the gap kept its output plan 5-55 kt/yr above its sales, never binding.
        """
        return company._replace(reserve=_set_aside(
            company.reserve, stock, price_china, inp.member_mix, planned,
            dt / inp.stock_adjustment_time_yr))

    def company_offer(self, inp: RegimeInputs, stock: np.ndarray, price_china: np.ndarray,
                      company: CompanyState, planned: np.ndarray,
                      release: np.ndarray) -> np.ndarray:
        """The sales rule's offer of the stock beyond the reserve, plus any ordered release."""
        return SALES_RULES[inp.rule].offer_within(inp, stock, company, price_china, planned,
                                                   release)

    def active_months(self, months: np.ndarray) -> np.ndarray:
        """One more month of activity."""
        return months + 1.0


@numba.njit(cache=True)
def _value_per_t(price: np.ndarray, mix: np.ndarray) -> float:
    """Value of a tonne of members' output at a member's prices ``price`` (E,), USD/kg (numba).

    ``max(einsum("me,e->m", price, mix), 1e-9)``, in numpy's einsum order (``einsum_dot``).
    """
    return np_maximum(einsum_dot(price, mix), 1e-9)


@numba.njit(cache=True, error_model="numpy")
def _planned_stockpile(months: np.ndarray, build_months: np.ndarray,
                       planned_t: float) -> np.ndarray:
    """The arithmetic of :meth:`TradingCompany.planned_stockpile` (numba, cached on disk).

    ``planned_t * min(max(months / build_months, 0), 1)`` for each member, (M,) t.
    """
    planned = np.empty(months.shape[0])
    for m in range(months.shape[0]):
        planned[m] = planned_t * np_minimum(np_maximum(months[m] / build_months[m], 0.0), 1.0)
    return planned


@numba.njit(cache=True)
def spare_stock(stock: np.ndarray, reserve: np.ndarray) -> np.ndarray:
    """The company's stock beyond its reserve, ``max(stock - reserve, 0)`` (M, E) t (numba).

    What it may sell: its sales rule offers it, and separators weigh it as sellers' stock.
    """
    members, elements = stock.shape
    spare = np.empty((members, elements))
    for m in range(members):
        for e in range(elements):
            spare[m, e] = np_maximum(stock[m, e] - reserve[m, e], 0.0)
    return spare


@numba.njit(cache=True)
def _within_stock(offer: np.ndarray, release: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """What the company offers, ``min(offer + release, stock)`` (M, E) t (numba, cached)."""
    members, elements = stock.shape
    within = np.empty((members, elements))
    for m in range(members):
        for e in range(elements):
            within[m, e] = np_minimum(offer[m, e] + release[m, e], stock[m, e])
    return within


@numba.njit(cache=True)
def _members_total(output: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Members' output ``output[:, members]`` (M, P) summed over members, (M,), in numpy's order.

    ``members`` (P,) bool. The members are summed as numpy sums the contiguous rows of
    ``output[:, members]`` (:func:`sum_elements`, its pairwise order; at most 128 members).
    """
    row = np.empty(members.sum())
    total = np.empty(output.shape[0])
    for m in range(output.shape[0]):
        i = 0
        for p in range(members.shape[0]):
            if members[p]:
                row[i] = output[m, p]
                i += 1
        total[m] = sum_elements(row)
    return total


@numba.njit(cache=True, error_model="numpy")
def _cap_members(output: np.ndarray, members: np.ndarray, total: np.ndarray, plan: np.ndarray,
                 floor: float) -> np.ndarray:
    """The arithmetic of :meth:`TradingCompany.cap_output` for each member (numba, cached).

    ``output`` (M, P) t REO/yr, ``members`` (P,) bool the company's members, ``total`` (M,) their
    output summed, ``plan`` (M,) the rule's output plan. The cap is ``max(plan, floor)``; the
    members' output is multiplied by ``cap / max(total, 1e-12)`` where ``total > cap``, by 1.0
    elsewhere; the other producers' output is copied.
    """
    capped = output.copy()
    for m in range(output.shape[0]):
        cap = np_maximum(plan[m], floor)
        factor = cap / np_maximum(total[m], 1e-12) if total[m] > cap else 1.0
        for p in range(members.shape[0]):
            if members[p]:
                capped[m, p] = output[m, p] * factor
    return capped


@numba.njit(cache=True, error_model="numpy")
def _set_aside(reserve: np.ndarray, stock: np.ndarray, price: np.ndarray, mix: np.ndarray,
               planned: np.ndarray, rate: float) -> np.ndarray:
    """The arithmetic of :meth:`TradingCompany.set_aside` for each member (numba, cached).

    ``reserve``, ``stock`` (M, E) t, ``price`` (M, E) USD/kg, ``mix`` (E,) the members' output
    mix (``value_per_t``: a tonne of it at the price, :func:`_value_per_t`) and ``planned``
    (M,) t: the reserve kept is ``min(reserve, stock)``, the spare ``stock`` less
    it; ``gap = max(planned - sum(kept * price) / value_per_t, 0)``, ``spare_t =
    sum(spare * price) / value_per_t`` (sums over elements in numpy's order) and the share
    set aside ``min(gap * rate / max(spare_t, 1e-12), 1)``, ``rate`` = dt / adjustment time.
    Returns the new reserve ``kept + spare * share`` (M, E).
    """
    members, elements = stock.shape
    new = np.empty((members, elements))
    spare = np.empty(elements)
    kept_value = np.empty(elements)
    spare_value = np.empty(elements)
    for m in range(members):
        value_per_t = _value_per_t(price[m], mix)
        for e in range(elements):
            kept = np_minimum(reserve[m, e], stock[m, e])
            new[m, e] = kept
            spare[e] = stock[m, e] - kept
            kept_value[e] = kept * price[m, e]
            spare_value[e] = spare[e] * price[m, e]
        gap = np_maximum(planned[m] - sum_elements(kept_value) / value_per_t, 0.0)
        spare_t = sum_elements(spare_value) / value_per_t
        share = np_minimum(gap * rate / np_maximum(spare_t, 1e-12), 1.0)
        for e in range(elements):
            new[m, e] = new[m, e] + spare[e] * share
    return new


class DefendPrice:
    """Sales rule ``defend_price``: a buffer stock that withholds sales below a defended price."""

    def offer_within(self, inp: RegimeInputs, stock: np.ndarray, company: CompanyState,
                     price_china: np.ndarray, planned: np.ndarray,
                     release: np.ndarray) -> np.ndarray:
        """What the company offers this month, (M, E) t, of its ``stock`` (M, E) t.

        Of the stock beyond its reserve it sells all of an element while the China price stands
        at or above its defended price (``defend_factor`` x its trailing reference price) and
        withholds below it, by (price / defended) ** sales_response, as long as what it so holds
        (valued in tonnes of members' output) is within a plan's worth (an assumption: a buffer
        for defending prices as large as the reserve); beyond that it sells at any price. An
        ordered ``release`` is added, all within the stock (:func:`_defend_within`).
        """
        return _defend_within(stock, company.reserve, price_china, company.reference,
                              inp.member_mix, planned, inp.defend_factor, inp.sales_response,
                              release)

    def output_plan(self, inp: RegimeInputs, company: CompanyState, stock: np.ndarray,
                    planned: np.ndarray, price_china: np.ndarray,
                    desired: np.ndarray) -> np.ndarray:
        """Members' total output cap (M,) t REO/yr, from what they want to mine.

        The cap is that cut below the defended price, plus the reserve still missing, less any
        buffer beyond it. ``desired`` (M,) is what the members would mine. The company cuts it by
        ``min(r, 1) ** sales_response``, ``r`` the price of its members' output mix against
        the defended price, the same response by which it withholds sales: it defends the price
        by producing less, not only by selling less. It adds the value still missing from its
        planned stockpile and subtracts what it holds beyond that plan (valued in tonnes of
        members' output), each spread over the stock adjustment time; both are separated
        products, so the concentrate that yields them is larger by the region's separation
        losses. Before 2026-12-04 the plan followed the company's own smoothed sales: with the
        stockpile never filled (it was sold) the gap kept the plan 5-55 kt/yr above sales and
        it never bound, and once filled, a plan that follows its own sales ratchets down after
        every disruption (nothing raises it again while the company sells all it offers).
        """
        return _output_plan(price_china, company.reference, inp.member_mix, stock, planned,
                            desired, company.months, inp.defend_factor, inp.sales_response,
                            inp.stock_adjustment_time_yr, inp.separation_recovery)


@numba.njit(cache=True, error_model="numpy")
def _defend_offer(stock: np.ndarray, price: np.ndarray, reference: np.ndarray, mix: np.ndarray,
                  planned: np.ndarray, defend_factor: float, sales_response: float) -> np.ndarray:
    """The withholding of :meth:`DefendPrice.offer_within` for each member (numba, cached).

    ``stock`` (M, E) t beyond the reserve, ``price`` and ``reference`` (M, E) USD/kg, ``mix``
    (E,) the members' output mix and ``planned`` (M,) t. ``withhold = 1 - min(max(price /
    (defend_factor * reference), 0), 1) ** sales_response`` (numpy's power of a scalar
    exponent, :func:`scalar_power`), ``held = sum(stock * price) / value_per_t`` (summed over
    elements in numpy's order; ``value_per_t`` a tonne of the mix at the price,
    :func:`_value_per_t`), ``room = min(max(1 - held / max(planned, 1e-9), 0), 1)``; the
    offer is ``stock * (1 - withhold * room)`` (M, E).
    """
    members, elements = stock.shape
    offer = np.empty((members, elements))
    value = np.empty(elements)
    for m in range(members):
        for e in range(elements):
            value[e] = stock[m, e] * price[m, e]
        held = sum_elements(value) / _value_per_t(price[m], mix)
        room = np_minimum(np_maximum(1.0 - held / np_maximum(planned[m], 1e-9), 0.0), 1.0)
        for e in range(elements):
            ratio = price[m, e] / (defend_factor * reference[m, e])
            withhold = 1.0 - scalar_power(np_minimum(np_maximum(ratio, 0.0), 1.0),
                                          sales_response)
            offer[m, e] = stock[m, e] * (1.0 - withhold * room)
    return offer


@numba.njit(cache=True, error_model="numpy")
def _defend_within(stock: np.ndarray, reserve: np.ndarray, price: np.ndarray,
                   reference: np.ndarray, mix: np.ndarray, planned: np.ndarray,
                   defend_factor: float, sales_response: float,
                   release: np.ndarray) -> np.ndarray:
    """The arithmetic of :meth:`DefendPrice.offer_within` (numba, cached on disk).

    :func:`_defend_offer` of the stock beyond the reserve (:func:`spare_stock`), plus the
    release, within the stock (:func:`_within_stock`).
    """
    offer = _defend_offer(spare_stock(stock, reserve), price, reference, mix, planned,
                          defend_factor, sales_response)
    return _within_stock(offer, release, stock)


@numba.njit(cache=True, error_model="numpy")
def offer_at(company_on: bool, stock: np.ndarray, reserve: np.ndarray, price_china: np.ndarray,
             reference: np.ndarray, mix: np.ndarray, planned: np.ndarray, defend_factor: float,
             sales_response: float, release: np.ndarray) -> np.ndarray:
    """The company's offer (M, E) t in compiled code, for the market month's compiled pass.

    Under the free market all its ``stock`` (:meth:`FreeMarket.company_offer`); under the
    trading company its sales rule's, ``defend_price`` being the only one the schema allows
    (:meth:`DefendPrice.offer_within`, :func:`_defend_within`). A new sales rule needs its
    branch here as well as its class.
    """
    if company_on:
        return _defend_within(stock, reserve, price_china, reference, mix, planned,
                              defend_factor, sales_response, release)
    return stock.copy()


@numba.njit(cache=True, error_model="numpy")
def _output_plan(price: np.ndarray, reference: np.ndarray, mix: np.ndarray, stock: np.ndarray,
                 planned: np.ndarray, desired: np.ndarray, months: np.ndarray,
                 defend_factor: float, sales_response: float, adjustment_time: float,
                 recovery: float) -> np.ndarray:
    """The arithmetic of :meth:`DefendPrice.output_plan` for each member (numba, cached).

    ``value_per_t`` and ``defended`` are a tonne of the members' ``mix`` (E,) valued at the
    ``price`` (M, E) and at the defended price ``defend_factor * reference`` (M, E)
    (:func:`_value_per_t`); ``stock`` (M, E) t, ``planned``, ``desired`` and ``months`` (M,).
    ``cut = min(value_per_t / defended, 1) ** sales_response`` (numpy's power of a scalar
    exponent, :func:`scalar_power`), ``held = sum(stock * price) / value_per_t`` (summed over
    elements in numpy's order), ``plan = desired * cut + (planned - held) / adjustment_time /
    recovery``; the cap is ``max(plan, 0)``, or inf while ``months < 1``.
    """
    members, elements = stock.shape
    cap = np.empty(members)
    value = np.empty(elements)
    defended_price = np.empty(elements)
    for m in range(members):
        value_per_t = _value_per_t(price[m], mix)
        for e in range(elements):
            defended_price[e] = defend_factor * reference[m, e]
        defended = _value_per_t(defended_price, mix)
        cut = scalar_power(np_minimum(value_per_t / defended, 1.0), sales_response)
        for e in range(elements):
            value[e] = stock[m, e] * price[m, e]
        held = sum_elements(value) / value_per_t
        plan = desired[m] * cut + (planned[m] - held) / adjustment_time / recovery
        cap[m] = np.inf if months[m] < 1 else np_maximum(plan, 0.0)
    return cap


SALES_RULES = {"defend_price": DefendPrice()}
"""The trading company's sales rules by name (``market.trading_company.rule``): each has
``offer_within`` (its offer of the company's stock beyond the reserve, plus an ordered release,
within the stock) and ``output_plan``."""
REGIMES: dict[str, Regime] = {r.name: r for r in (FreeMarket(), TradingCompany())}
"""Regimes by name; must cover ``reesim.scenario.schema.REGIME_NAMES``."""
if tuple(REGIMES) != REGIME_NAMES:
    raise ImportError(f"regimes {tuple(REGIMES)} do not match the schema's {REGIME_NAMES}")


def draft(ctx: Context) -> Draft:
    """The scenario's regime from ``market.regime_from`` on (free market before it)."""
    regime = np.full(ctx.timeline.steps, REGIME_NAMES.index("free_market"))
    market = ctx.scenario.market
    regime[ctx.timeline.index(market.regime_from):] = REGIME_NAMES.index(market.regime)
    return {"regime": regime}


def regime_mask(ctx: Context, draft: Draft, start: str, end: str | None,
                under_regime: str | None) -> np.ndarray:
    """Months of a window in which a regime condition holds (any regime if None), (T,) bool."""
    mask = np.zeros(ctx.timeline.steps, bool)
    mask[ctx.timeline.window(start, end)] = True
    if under_regime is not None:
        mask &= draft["regime"] == REGIME_NAMES.index(under_regime)
    return mask


def build(ctx: Context, draft: Draft) -> RegimeInputs:
    """The regime schedule and the company's options and member mix."""
    options = ctx.scenario.market.trading_company
    producers = ctx.producers
    dist = distribution(ctx)
    members_of_tc = producers.separation_region.to_numpy() == options.region
    mix = np.zeros(dist.shape[1])
    for p in np.flatnonzero(members_of_tc):
        mix += producers.capacity_t_reo_per_yr.iloc[p] * dist[p]
    mix = mix / mix.sum() if mix.sum() > 0 else np.full(dist.shape[1], 1 / dist.shape[1])
    p = ctx.params
    region = ctx.region_index(options.region)
    members = (draft["route"] == region) & producers.legal.to_numpy(bool)[None, :] \
        & ctx.mined_in_china
    return RegimeInputs(
        regime=draft["regime"], members=members, company_region=region, member_mix=mix,
        separation_recovery=float(
            ctx.regions.separation_recovery_fraction.to_numpy(float)[region]),
        quota_target_t_per_yr=quota_target(ctx, draft, members,
                                           int(p.quota_target_from_year[0])),
        rule=options.rule, planned_stockpile_t=options.planned_stockpile_t_reo,
        defend_factor=options.defend_factor, sales_response=options.sales_response,
        stock_adjustment_time_yr=options.stock_adjustment_time_yr,
        reference_rate=float(monthly_rate(options.reference_time_yr)),
        stockpile_build_months=MONTHS_PER_YEAR * p.stockpile_build_years)


def quota_target(ctx: Context, draft: Draft, members: np.ndarray,
                 from_year: int) -> np.ndarray:
    """Members' total mining quota allocation (T,) t REO/yr from ``from_year`` on (0 before).

    ``members`` (T, P) are the legal Chinese producers separated in the company's region; a
    month without a finite allocation (no quota in force) sets no target.
    """
    allocation = quota_allocation(ctx, draft)                                      # (T, P)
    total = np.where(members & np.isfinite(allocation), allocation, 0.0).sum(axis=1)
    return np.where(ctx.timeline.year >= from_year, total, 0.0)


def regime_at(inp: RegimeInputs, t: int) -> Regime:
    """The regime in force in month ``t``."""
    return REGIMES[REGIME_NAMES[inp.regime[t]]]


def initial(inp: RegimeInputs, price_china: np.ndarray) -> CompanyState:
    """The company's memories at the run start: the current price, no reserve, not active."""
    members = price_china.shape[0]
    return CompanyState(reference=price_china.copy(), months=np.zeros(members),
                        reserve=np.zeros_like(price_china))


def update_company(inp: RegimeInputs, regime: Regime, company: CompanyState,
                   price_china: np.ndarray, stock: np.ndarray,
                   bought: np.ndarray) -> CompanyState:
    """Trailing reference price (M, E), months active, and the reserve (M, E) t.

    What the company ``bought`` (M, E) t this month on a stockpile order joins its reserve
    (the market's later sub-steps of the month already held it: ``step._substeps``); the
    reserve is kept within what the company holds after the month, ``stock``. A purchase is
    held, not offered back: before 2026-12-05 its sales rule counted it as stock beyond its own
    plan and sold about 90% of it within two years, and until 2026-12-07 the market's later
    sub-steps of the month offered it for sale (the month's purchases joined the reserve only
    at its end).
    """
    held = company.reserve + bought
    reference, reserve = _update_company(company.reference, price_china, inp.reference_rate,
                                         held, stock)
    return CompanyState(reference=reference, months=regime.active_months(company.months),
                        reserve=reserve)


@numba.njit(cache=True, error_model="numpy")
def _update_company(reference: np.ndarray, price: np.ndarray, rate: float, reserve: np.ndarray,
                    stock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The arithmetic of :func:`update_company` for each member and element (numba, cached).

    ``reference`` and ``price`` (M, E) USD/kg: the new reference is ``exp(log(reference) +
    (log(price) - log(reference)) * rate)``; the reserve (M, E) t is kept within ``stock``,
    ``min(reserve, stock)``. Returns both, (M, E) each.
    """
    members, elements = reference.shape
    new_reference = np.empty((members, elements))
    kept = np.empty((members, elements))
    for m in range(members):
        for e in range(elements):
            log_ref = math.log(reference[m, e])
            new_reference[m, e] = math.exp(log_ref + (math.log(price[m, e]) - log_ref) * rate)
            kept[m, e] = np_minimum(reserve[m, e], stock[m, e])
    return new_reference, kept
