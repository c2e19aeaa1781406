"""The results contract: every recorded variable with its dims, unit, kind and meaning.

One table drives recording, annual aggregation (flows and prices are averaged, stocks taken at
period end), the dataset's ``attrs`` and the mass-balance checks, so a variable's unit is written
once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["flow", "stock", "price", "state"]


@dataclass(frozen=True)
class Var:
    """One recorded variable: dims after (member, time), unit, kind and a one-line description."""

    dims: tuple[str, ...]
    unit: str
    kind: Kind
    description: str


VARIABLES: dict[str, Var] = {
    # prices
    "price": Var(("element", "market"), "USD/kg", "price",
                 "Oxide price in the China domestic and the export (FOB China) market"),
    # mining
    "mine_output": Var(("producer", "element"), "t REO/yr", "flow",
                       "REO recovered to concentrate by each producer"),
    "ore_mined": Var(("producer", "element"), "t REO/yr", "flow",
                     "REO contained in the ore mined (Bayan Obo: driven by iron ore mining)"),
    "tailings_inflow": Var(("producer", "element"), "t REO/yr", "flow",
                           "REO mined but not recovered, sent to tailings"),
    "capacity_available": Var(("producer",), "t REO/yr", "state",
                              "Mine capacity available to the producer this period"),
    "utilization": Var(("producer",), "1", "state",
                       "Output decision as a fraction of available capacity (before quotas)"),
    "netback": Var(("producer",), "USD/kg", "price",
                   "Basket value of the producer's REO after separation recovery and cost"),
    "revenue": Var(("producer",), "MUSD/yr", "flow",
                   "Mine output valued at netback (concentrate value at market prices)"),
    "reserves": Var(("producer",), "t REO", "stock", "Remaining reserve (in-situ REO)"),
    "reserve_additions": Var(("producer",), "t REO/yr", "flow",
                             "Reserves added by exploration and resource conversion while the "
                             "mine pays (reserve_replacement_ratio x REO in ore mined)"),
    # concentrate and separation
    "concentrate_stock": Var(("region", "element"), "t REO", "stock",
                             "Concentrate awaiting cracking and separation in the region"),
    "separation_feed": Var(("region", "element"), "t REO/yr", "flow",
                           "Concentrate cracked and separated"),
    "separation_output": Var(("region", "element"), "t REO/yr", "flow",
                             "Separated oxides produced"),
    "separation_losses": Var(("region", "element"), "t REO/yr", "flow",
                             "REO lost in cracking and separation residues"),
    "separation_residue": Var(("region", "element"), "t REO/yr", "flow",
                              "Recoverable REO left unseparated in mixed residues because "
                              "sellers already hold years of the world's demand for it"),
    # markets
    "inventory": Var(("holder", "element"), "t REO", "stock",
                     "Separated-oxide inventories by holder"),
    "market_sales": Var(("market", "element"), "t REO/yr", "flow",
                        "Oxide sold in each market (to consumers, exporters, importers and "
                        "reserves)"),
    "market_purchases": Var(("market", "element"), "t REO/yr", "flow",
                            "Oxide bought in each market, summed over buyers (rationed wants)"),
    "holder_receipts": Var(("holder", "element"), "t REO/yr", "flow",
                           "What each holder took in besides reserve purchases: separated output, "
                           "imports or exports arriving, purchases, scrap and recycling returns"),
    "holder_sales": Var(("holder", "element"), "t REO/yr", "flow",
                        "What each holder sold or consumed (reserve releases are netted in "
                        "stockpile_purchases)"),
    "exports": Var(("exporter", "element"), "t REO/yr", "flow",
                   "China's exports of separated products by Chinese region of origin"),
    "smuggled_exports": Var(("element",), "t REO/yr", "flow",
                            "Oxide leaving China outside the export quota, the licences and "
                            "the customs record (smuggling; the market constant "
                            "smuggling_share, off by default)"),
    "export_quota_rent": Var(("element",), "USD/kg", "price",
                             "Rent per kg of China's tonnage export quota on each element's "
                             "exports under the quota rule 'rent', the same for every element "
                             "of a pool (one pool, or light and medium/heavy with "
                             "export_quota_pools 'two'; 0 under 'pro_rata' and where the quota "
                             "does not bind); mean over the month's sub-steps"),
    "imports": Var(("element",), "t REO/yr", "flow",
                   "China's imports of separated products from the export market"),
    "trading_company_sales": Var(("element",), "t REO/yr", "flow",
                                 "Sales of the Baotou trading company"),
    "trading_company_plan": Var((), "t REO", "state",
                                "Stockpile the trading company plans to hold (0 when inactive)"),
    "stockpile_purchases": Var(("holder", "element"), "t REO/yr", "flow",
                               "Purchases into reserves (gross: the state reserve's releases "
                               "are in holder_sales, the trading company's sales are "
                               "trading_company_sales)"),
    # demand and use
    "demand": Var(("application", "element"), "t REO/yr", "flow",
                  "Demand for REO by application (world, after price response)"),
    "consumption": Var(("application", "element"), "t REO/yr", "flow",
                       "REO consumed in manufacturing (world)"),
    "unmet_demand": Var(("application", "element"), "t REO/yr", "flow",
                        "Demand that could not be served (shortage), never dropped silently"),
    "market_consumption": Var(("market", "element"), "t REO/yr", "flow",
                              "REO consumed by manufacturers buying in each market"),
    "magnet_output": Var(("market", "element"), "t REO/yr", "flow",
                         "REO embodied in magnets (NdFeB, SmCo) made, by where they are made "
                         "(china: China; export: the rest of the world)"),
    "magnet_trade": Var(("market", "destination", "element"), "t REO/yr", "flow",
                        "Magnets (REO embodied) from where they are made to where magnet-using "
                        "products are made; the diagonal is domestic use"),
    "magnet_shortfall": Var(("destination", "element"), "t REO/yr", "flow",
                            "Magnets (REO embodied) that users in each market needed and did not "
                            "get (oxide shortage or export controls on magnets)"),
    "products_into_use": Var(("application", "element"), "t REO/yr", "flow",
                             "REO entering use in finished products"),
    "new_scrap_recycled": Var(("application", "element"), "t REO/yr", "flow",
                              "Manufacturing scrap returned to the market"),
    "new_scrap_lost": Var(("application", "element"), "t REO/yr", "flow",
                          "Manufacturing scrap lost"),
    "in_use_stock": Var(("application", "element"), "t REO", "stock", "REO in products in use"),
    "end_of_life": Var(("application", "element"), "t REO/yr", "flow",
                       "REO leaving use at end of life"),
    "recycled": Var(("application", "element"), "t REO/yr", "flow",
                    "End-of-life REO recycled back to the market"),
    "eol_losses": Var(("application", "element"), "t REO/yr", "flow",
                      "End-of-life REO landfilled or dissipated"),
    # environment
    "tailings_stock": Var(("element",), "t REO", "stock",
                          "REO accumulated in tailings (Bayan Obo pond and other mines)"),
    "tailings_solids": Var(("region",), "t/yr", "flow", "Tailings solids produced by mining"),
    "thorium": Var(("region", "stage"), "t ThO2/yr", "flow",
                   "Thorium in tailings (stage mining) and cracking residues (stage separation)"),
    "wastewater": Var(("region", "stage"), "m3/yr", "flow",
                      "Process wastewater by stage"),
}

STAGES_ENV: tuple[str, ...] = ("mining", "separation")


@dataclass(frozen=True)
class Stage:
    """A mass balance: inflows = outflows + stock change, per element (and ``keep`` dims)."""

    name: str
    inflows: tuple[str, ...]
    outflows: tuple[str, ...]
    stock: str | None
    keep: tuple[str, ...] = ("element",)
    unbounded_stock: bool = False
    """Entries whose stock is infinite (a reserve of unknown size) are not checked."""


STAGES: tuple[Stage, ...] = (
    Stage("deposits", ("reserve_additions",), ("ore_mined",), "reserves", ("producer",),
          unbounded_stock=True),
    Stage("mining", ("ore_mined",), ("mine_output", "tailings_inflow"), None,
          ("producer", "element")),
    Stage("concentrate", ("mine_output",), ("separation_feed",), "concentrate_stock"),
    Stage("separation", ("separation_feed",), ("separation_output", "separation_losses",
                                              "separation_residue"), None,
          ("region", "element")),
    Stage("market", ("separation_output", "recycled", "new_scrap_recycled"), ("consumption",),
          "inventory"),
    Stage("market_clearing", ("market_sales",), ("market_purchases",), None,
          ("market", "element")),
    Stage("holders", ("holder_receipts", "stockpile_purchases"), ("holder_sales",), "inventory",
          ("holder", "element")),
    Stage("manufacturing", ("consumption",),
          ("products_into_use", "new_scrap_recycled", "new_scrap_lost"), None,
          ("application", "element")),
    Stage("magnets", ("magnet_output",), ("magnet_trade",), None, ("market", "element")),
    Stage("use", ("products_into_use",), ("end_of_life",), "in_use_stock",
          ("application", "element")),
    Stage("end_of_life", ("end_of_life",), ("recycled", "eol_losses"), None,
          ("application", "element")),
    Stage("tailings", ("tailings_inflow",), (), "tailings_stock"),
)
"""The chain's stages and the markets' bookkeeping; every run checks each per element and step.

Outflows are measured, not residuals: tailings are the ore's REO not recovered, separation
losses feed x (1 - recovery), scrap and end-of-life losses their rate's complement, purchases
the rationed wants; so each stage fails if a mechanism's bookkeeping goes wrong."""
