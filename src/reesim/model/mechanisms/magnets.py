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

import numpy as np

from reesim.dims import APPLICATIONS, DT_YR, ELEMENTS
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
    apps = ctx.data["applications"].set_index("application")
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
    rows = ctx.data["application_intensity"]
    share = rows[rows.application == "magnets"].set_index("element").share_fraction
    listed = element_mask(elements)
    return any(listed[i] and share.get(e, 0.0) > 0 for i, e in enumerate(ELEMENTS))


def route(inp: MagnetInputs, t: int, need_rate: np.ndarray) -> Routing:
    """Route the magnets application's demand (M, K, A, E) t/yr through magnet making and trade.

    Other applications pass through unchanged; with magnet exports fully licensed so does the
    magnets application (subtracting an exact zero).
    """
    demand = need_rate[:, :, MAGNETS, :]                                      # (M, K, E)
    exports = inp.china_export_share[t] * demand[:, 0]                        # wanted abroad
    users = demand.copy()
    users[:, 0] -= exports
    users[:, 1] += exports
    if inp.licensed[t] >= 1.0:                    # no control on magnets this month
        return Routing(need_rate=need_rate, china_users=users[:, 0], licensed_exports=exports,
                       users=users, cut=np.zeros_like(exports))
    blocked = (1.0 - inp.licensed[t]) * exports
    replaced = np.minimum(blocked, inp.spare_capacity * demand[:, 1])
    routed = need_rate.copy()
    routed[:, 0, MAGNETS, :] = demand[:, 0] - blocked
    routed[:, 1, MAGNETS, :] = demand[:, 1] + replaced
    return Routing(need_rate=routed, china_users=users[:, 0],
                   licensed_exports=exports - blocked, users=users, cut=blocked - replaced)


def ship(inp: MagnetInputs, routing: Routing, used: np.ndarray) -> Shipments:
    """Magnets made from this month's consumption ``used`` (M, K, A, E) t, and where they go.

    China's output is shared between its users and its licensed exports in proportion to what
    each wanted; makers abroad serve users abroad.
    """
    made = used[:, :, MAGNETS, :] * (inp.magnet_yield / DT_YR)                # (M, K, E) t/yr
    china_need = routing.china_users + routing.licensed_exports
    abroad_share = routing.licensed_exports / np.maximum(china_need, 1e-300)  # 0 when no need
    trade = np.zeros((made.shape[0], 2, 2, made.shape[2]))
    trade[:, 0, 1] = made[:, 0] * abroad_share
    trade[:, 0, 0] = made[:, 0] - trade[:, 0, 1]
    trade[:, 1, 1] = made[:, 1]
    shortfall = np.maximum(routing.users * inp.magnet_yield - trade.sum(axis=1), 0.0)
    return Shipments(magnet_output=made, magnet_trade=trade, magnet_shortfall=shortfall)
