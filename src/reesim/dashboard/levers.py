"""The dashboard's levers and uploads, as plain functions (testable without a browser).

A scenario reaches the dashboard as a built-in name or an uploaded YAML text; levers add named
events or set options on top of it, and everything goes through the normal scenario validation
(:func:`reesim.scenario.loader.validate`). No file-system path is taken from the user: an
uploaded scenario may only ``extends:`` a built-in scenario and may not name a calibration file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from reesim.errors import InputError
from reesim.scenario import builtin_names, load_scenario
from reesim.scenario.loader import merge, validate
from reesim.scenario.schema import Scenario

MAX_UPLOAD_BYTES = 200_000
"""Largest scenario upload accepted (bytes); built-in scenarios are under 10 kB."""
UPLOAD_LABEL = "uploaded scenario"


def scenario_from_upload(raw: bytes, label: str = UPLOAD_LABEL) -> Scenario:
    """Validate an uploaded YAML scenario (size-limited, safe-loaded, built-in parents only)."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InputError(f"the file has {len(raw):,} bytes", file=label,
                         allowed=f"at most {MAX_UPLOAD_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the file is not UTF-8 text", file=label) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"malformed YAML{where}: {getattr(exc, 'problem', None) or exc}",
                         file=label) from None
    if not isinstance(data, dict):
        raise InputError("a scenario file must be a mapping of keys to values", file=label)
    if "calibration" in data:
        raise InputError("an uploaded scenario cannot name a calibration file", file=label,
                         field="calibration", allowed="extends: a built-in scenario instead")
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str) or parent not in builtin_names():
            raise InputError(f"cannot extend {parent!r} from an upload", file=label,
                             field="extends", allowed=", ".join(builtin_names()))
        data = merge(load_scenario(parent).model_dump(mode="json"), data)
    return validate(data, label)


@dataclass
class Levers:
    """The levers a dashboard user moves; ``None`` or zero leaves the base scenario as it is."""

    regime: str | None = None
    end_year: int | None = None
    frequency: str | None = "year"
    """Record annual values by default: the page stays light and downloads small."""
    export_licences: dict[str, float] = field(default_factory=dict)
    """Licensed share of desired exports per element (1: no control), from China."""
    export_control_years: tuple[int, int] = (2026, 2031)
    smuggling_share: float = 0.0
    """Share of the exports China's quota or licences refuse that leaves anyway (0: none)."""
    glut_decline_sensitivity: float | None = None
    """Sellers' demand outlook (``docs/model.md`` section 5): how steeply a glut is priced where
    an element's world demand declines, yr (10 by default, 0: off; None: the base's value)."""
    premium_withholding: float | None = None
    """China's 2011 rise (opt-in): Chinese sellers hold stock back while the tonnage export
    quota turns exporters away (0: off, 19.5 in ``baotou-china-spike``; None: the base's)."""
    carrying_cost_per_yr: float | None = None
    """Holders' carrying cost (opt-in): sellers holding more than their target cover mark
    their going price down at this rate per log month of excess cover (0: off, 0.01 in
    ``baotou-china-spike``; None: the base's)."""
    stockpile_element: str | None = None
    stockpile_t_reo: float = 0.0
    stockpile_start_year: int = 2027
    stockpile_months: int = 12
    disruption_region: str | None = None
    disruption_capacity_factor: float = 1.0
    disruption_years: tuple[int, int] = (2030, 2032)
    recycling_fraction: float | None = None
    recycling_start_year: int = 2026
    recycling_ramp_yr: float = 10.0
    new_mine_producer: str | None = None
    new_mine_capacity_t_reo_per_yr: float = 0.0
    new_mine_start_year: int = 2030
    rd_elements: list[str] = field(default_factory=list)
    """R&D gain in use: elements whose share of the magnets' REO falls (none: no gain)."""
    rd_factor: float = 1.0
    rd_start_year: int = 2027
    rd_ramp_yr: float = 8.0


def lever_events(levers: Levers) -> dict[str, dict[str, Any]]:
    """The events the levers add (named ``dashboard_*``), as scenario data."""
    events: dict[str, dict[str, Any]] = {}
    by_fraction: dict[float, list[str]] = {}
    for element, fraction in levers.export_licences.items():
        if fraction != 1.0:
            by_fraction.setdefault(float(fraction), []).append(element)
    first, last = levers.export_control_years
    for i, (fraction, elements) in enumerate(sorted(by_fraction.items())):
        events[f"dashboard_export_control_{i + 1}"] = {
            "type": "export_control", "elements": elements, "licensed_fraction": fraction,
            "start": str(first), "end": str(last)}
    if levers.stockpile_element and levers.stockpile_t_reo > 0:
        events["dashboard_stockpile"] = {
            "type": "stockpile", "holder": "state_reserve",
            "amounts_t_reo": {levers.stockpile_element: levers.stockpile_t_reo},
            "months": levers.stockpile_months, "start": str(levers.stockpile_start_year)}
    if levers.disruption_region and levers.disruption_capacity_factor != 1.0:
        first, last = levers.disruption_years
        events["dashboard_disruption"] = {
            "type": "disruption", "regions": [levers.disruption_region],
            "capacity_factor": levers.disruption_capacity_factor,
            "start": str(first), "end": str(last)}
    if levers.recycling_fraction is not None:
        events["dashboard_recycling"] = {
            "type": "recycling", "applications": "all",
            "eol_recycling_fraction": levers.recycling_fraction,
            "start": str(levers.recycling_start_year), "ramp_yr": levers.recycling_ramp_yr}
    if levers.new_mine_producer and levers.new_mine_capacity_t_reo_per_yr > 0:
        events["dashboard_new_mine"] = {
            "type": "capacity", "producer": levers.new_mine_producer,
            "capacity_t_reo_per_yr": levers.new_mine_capacity_t_reo_per_yr,
            "start": str(levers.new_mine_start_year)}
    if levers.rd_elements and levers.rd_factor != 1.0:
        events["dashboard_rd_magnets"] = {
            "type": "intensity", "applications": ["magnets"],
            "elements": list(levers.rd_elements), "factor": levers.rd_factor,
            "start": str(levers.rd_start_year), "ramp_yr": levers.rd_ramp_yr}
    return events


def apply_levers(base: Scenario, levers: Levers) -> Scenario:
    """``base`` with the levers applied, validated like any scenario file."""
    data = base.model_dump(mode="json")
    changes: dict[str, Any] = {"events": lever_events(levers)}
    if levers.regime is not None:
        changes["market"] = {"regime": levers.regime}
    if levers.end_year is not None:
        changes["end_year"] = levers.end_year
    constants = {name: value for name, value in (
        ("smuggling_share", levers.smuggling_share or None),
        ("glut_decline_sensitivity", levers.glut_decline_sensitivity),
        ("premium_withholding", levers.premium_withholding),
        ("carrying_cost_per_yr", levers.carrying_cost_per_yr)) if value is not None}
    if constants:
        changes["constants"] = constants
    if levers.frequency is not None:
        changes["output"] = {"frequency": levers.frequency}
    if changes["events"] or set(changes) - {"events", "output"}:
        changes["name"] = f"{base.name}-dashboard"[:80]
    return validate(merge(data, changes), f"{base.name} with the dashboard's levers")
