"""Names and orders of the model's dimensions, shared by data, engine and results.

Arrays in reesim are laid out member-first: ``(member, ...)`` for state, ``(time, member, ...)``
while recording. The order of elements, markets, holders and stages below is the order of the
corresponding array axes everywhere in the package.
"""

from __future__ import annotations

ELEMENTS: tuple[str, ...] = (
    "La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y", "Sc",
)
"""The 16 mined rare earths, quantities in t REO (oxide basis)."""

MARKETS: tuple[str, ...] = ("china", "export")
"""Price markets: China's domestic market and the export (rest-of-world, FOB China) market."""

HOLDERS: tuple[str, ...] = (
    "producers_china",
    "producers_export",
    "trading_company",
    "state_reserve",
    "consumers_china",
    "consumers_export",
)
"""Holders of separated-oxide inventories (t REO)."""

APPLICATIONS: tuple[str, ...] = (
    "magnets", "catalysts", "polishing", "glass", "metallurgy",
    "batteries", "phosphors", "ceramics", "other",
)
"""End-use applications of rare earth oxides."""

MONTHS_PER_YEAR = 12
DT_YR = 1.0 / MONTHS_PER_YEAR
"""Length of one time step in years (the engine steps monthly)."""
