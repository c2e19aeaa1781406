"""NdFeB magnet making by region, magnet trade, and export controls that name magnets.

The magnets application's oxide demand (computed by :mod:`demand`) is bought where magnets are
made: its market split is the share of magnet making in China (``manufacturing_location.csv``,
China ~79% in 2010, ~90% in 2017, 94% in 2024). Magnets then go where magnet-using products
(motors, drives, electronics) are made: China's magnet makers export a share ``x`` of their
output as magnets (``magnet_trade.csv``: China's magnet exports / its magnet output, 0.17-0.23
in 2008-2021), makers abroad serve users abroad. So users in China need ``(1 - x) D_china`` and
users abroad ``D_export + x D_china`` (``D``: the demand module's magnets demand by market).

An ``export_control`` event that names magnets (``products: [magnet]``) licenses only a fraction
``l`` of China's magnet exports. China's makers then buy oxide only for what they can sell,
``(1 - x) D_china + l x D_china``; makers abroad replace the unlicensed magnets up to their spare
capacity (``magnet_spare_capacity_share`` of their normal output) and buy that oxide in the
export market; the rest is a shortage of magnet users abroad. Users in China are not short
(unless oxide itself is). Without magnet controls nothing changes: the routed demand is the
demand module's, to the last bit.

Magnets are counted as the REO they embody: oxide consumed by magnet makers x the magnets'
manufacturing yield (the rest is swarf, handled as new scrap by :mod:`in_use`). A month's
magnets are shipped in the month (no magnet inventory): China's output is split between its
users and its licensed exports in proportion to what each wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from reesim.dims import APPLICATIONS, DT_YR, ELEMENTS
from reesim.model.compiled import np_maximum, np_minimum
from reesim.model.constants import Constant
from reesim.model.context import Context, Draft, element_mask, member_column
from reesim.model.timeline import interpolate_by_year

CONSTANTS = (
    Constant("magnet_spare_capacity_share", 0.2, "fraction of ex-China magnet output", 0.0, 2.0,
             "Magnet makers outside China can raise output by at most this share of their normal "
             "output to replace magnets China does not license. Small: the ex-China plants in "
             "magnets.csv have 1-5 kt/yr each (end-2022, several only planned), against China's "
             "~50 kt/yr of magnet exports; in April-June 2025 China's exports fell to 26-66% of "
             "their 2024 monthly pace and recovered only as licences came (china_trade.csv, "
             "policy.csv), not through other suppliers.",
             "assumption (bounded by reference/magnets.csv capacities and the 2025 record)"),
)
MAGNETS = APPLICATIONS.index("magnets")
"""Index of the magnets application."""


@dataclass(frozen=True)
class MagnetInputs:
    """Compiled inputs of the magnet layer (schedules (T,), member values (M, ...))."""

    china_export_share: np.ndarray      # (T,) share of China's magnet output exported
    licensed: np.ndarray                # (T,) share of desired magnet exports licensed
    magnet_yield: float                 # share of magnet makers' oxide embodied in magnets
    spare_capacity: np.ndarray          # (M, 1) ex-China makers' headroom, x their output


class Routing(NamedTuple):
    """Where the magnets application's oxide demand is bought, (M, ...) t REO/yr of oxide."""

    need_rate: np.ndarray               # (M, K, A, E) demand by buying market after routing
    china_users: np.ndarray             # (M, E) China's makers' oxide for users in China
    licensed_exports: np.ndarray        # (M, E) China's makers' oxide for licensed exports
    users: np.ndarray                   # (M, K, E) magnet users' demand by where they are
    cut: np.ndarray                     # (M, E) users abroad left without magnets by controls


class Shipments(NamedTuple):
    """One month of magnets, t REO/yr embodied."""

    magnet_output: np.ndarray           # (M, K, E) made, by where they are made
    magnet_trade: np.ndarray            # (M, K, K, E) from where made to where used
    magnet_shortfall: np.ndarray        # (M, K, E) users' need not delivered, by where used


def draft(ctx: Context) -> Draft:
    """Magnet exports fully licensed (``export_control`` events naming magnets lower it)."""
    return {"magnet_export_licensed": np.ones(ctx.timeline.steps)}


def build(ctx: Context, draft: Draft) -> MagnetInputs:
    """China's magnet export share by month, licences, the magnets' yield, spare capacity."""
    table = ctx.data["magnet_trade"]
    apps = ctx.ordered("applications", "application", APPLICATIONS)
    return MagnetInputs(
        china_export_share=interpolate_by_year(
            ctx.timeline.decimal_year, table.year.to_numpy(),
            table.china_export_share_fraction.to_numpy(float)),
        licensed=draft["magnet_export_licensed"],
        magnet_yield=float(apps.manufacturing_yield_fraction["magnets"]),
        spare_capacity=member_column(ctx.params.magnet_spare_capacity_share, 1),
    )


def magnet_contains(ctx: Context, elements: list[str] | str) -> bool:
    """Whether the model's magnet contains any of ``elements`` (its intensity is positive).

    A control on magnets containing Dy or Tb (April 2025) licenses the whole magnet: the
    model's magnet is one bundle of elements, so it is controlled or not as a whole.
    """
    def magnet_shares() -> pd.Series:                            # the data's: once per data
        rows = ctx.data["application_intensity"]
        return rows[rows.application == "magnets"].set_index("element").share_fraction

    share = ctx.data.derived(("magnet_shares",), magnet_shares)
    listed = element_mask(elements)
    return any(listed[i] and share.get(e, 0.0) > 0 for i, e in enumerate(ELEMENTS))


def route(inp: MagnetInputs, t: int, need_rate: np.ndarray) -> Routing:
    """Route the magnets application's demand (M, K, A, E) t/yr through magnet making and trade.

    Other applications pass through unchanged; with magnet exports fully licensed so does the
    magnets application (subtracting an exact zero).
    """
    licensed = float(inp.licensed[t])
    routed, users, licensed_exports, cut = _route(need_rate, float(inp.china_export_share[t]),
                                                  licensed, inp.spare_capacity)
    return Routing(need_rate=need_rate if licensed >= 1.0 else routed,  # no magnet control
                   china_users=users[:, 0], licensed_exports=licensed_exports, users=users,
                   cut=cut)


@numba.njit(cache=True, error_model="numpy")
def _route(need_rate: np.ndarray, export_share: float, licensed: float,
           spare_capacity: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arithmetic of :func:`route` for each member and element (numba, cached on disk).

    ``need_rate`` (M, K, A, E) t/yr, of which the magnets application's ``demand`` (M, K, E);
    ``export_share`` and ``licensed`` this month's, ``spare_capacity`` (M, 1). Exports wanted
    are ``export_share * demand in China``; users are demand less them in China, plus them
    abroad. With ``licensed >= 1`` the licensed exports are the exports and nothing is cut
    (the routed demand, an empty array here, is ``need_rate`` itself); otherwise ``blocked =
    (1 - licensed) * exports``, ``replaced = min(blocked, spare_capacity * demand abroad)``,
    the licensed exports ``exports - blocked``, the cut ``blocked - replaced``, and the routed
    demand is ``need_rate`` with the magnets' ``demand in China - blocked`` and ``demand
    abroad + replaced``. Returns routed, users (M, K, E), licensed exports and cut (M, E).
    """
    members, markets, applications, elements = need_rate.shape
    controlled = licensed < 1.0
    routed = np.empty((members, markets, applications, elements) if controlled
                      else (0, 0, 0, 0))
    if controlled:
        routed[:] = need_rate
    users = np.empty((members, markets, elements))
    licensed_exports = np.empty((members, elements))
    cut = np.zeros((members, elements))
    for m in range(members):
        for e in range(elements):
            china = need_rate[m, 0, MAGNETS, e]
            abroad = need_rate[m, 1, MAGNETS, e]
            exports = export_share * china
            users[m, 0, e] = china - exports
            users[m, 1, e] = abroad + exports
            if controlled:
                blocked = (1.0 - licensed) * exports
                replaced = np_minimum(blocked, spare_capacity[m, 0] * abroad)
                routed[m, 0, MAGNETS, e] = china - blocked
                routed[m, 1, MAGNETS, e] = abroad + replaced
                licensed_exports[m, e] = exports - blocked
                cut[m, e] = blocked - replaced
            else:
                licensed_exports[m, e] = exports
    return routed, users, licensed_exports, cut


def ship(inp: MagnetInputs, routing: Routing, used: np.ndarray) -> Shipments:
    """Magnets made from this month's consumption ``used`` (M, K, A, E) t, and where they go.

    China's output is shared between its users and its licensed exports in proportion to what
    each wanted; makers abroad serve users abroad.
    """
    return Shipments(*_ship(used, inp.magnet_yield, routing.china_users,
                            routing.licensed_exports, routing.users))


@numba.njit(cache=True, error_model="numpy")
def _ship(used: np.ndarray, magnet_yield: float, china_users: np.ndarray,
          licensed_exports: np.ndarray, users: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arithmetic of :func:`ship` for each member and element (numba, cached on disk).

    ``used`` (M, K, A, E) t; ``china_users`` and ``licensed_exports`` (M, E), ``users``
    (M, K, E) t/yr. Made is the magnets application's ``used * (magnet_yield / DT_YR)``; of
    China's, the share ``licensed_exports / max(china_users + licensed_exports, 1e-300)`` goes
    abroad and the rest (made less that) stays; makers abroad serve users abroad. The
    shortfall is ``max(users * magnet_yield - (0.0 + from China + from abroad), 0)``.
    Returns the fields of :class:`Shipments` in order.
    """
    members, markets, _, elements = used.shape
    per_yr = magnet_yield / DT_YR
    made = np.empty((members, markets, elements))
    trade = np.zeros((members, 2, 2, elements))
    shortfall = np.empty((members, markets, elements))
    for m in range(members):
        for e in range(elements):
            made[m, 0, e] = used[m, 0, MAGNETS, e] * per_yr
            made[m, 1, e] = used[m, 1, MAGNETS, e] * per_yr
            china_need = china_users[m, e] + licensed_exports[m, e]
            abroad_share = licensed_exports[m, e] / np_maximum(china_need, 1e-300)
            trade[m, 0, 1, e] = made[m, 0, e] * abroad_share
            trade[m, 0, 0, e] = made[m, 0, e] - trade[m, 0, 1, e]
            trade[m, 1, 1, e] = made[m, 1, e]
            for k in range(2):
                arriving = 0.0 + trade[m, 0, k, e] + trade[m, 1, k, e]
                shortfall[m, k, e] = np_maximum(users[m, k, e] * magnet_yield - arriving, 0.0)
    return made, trade, shortfall
