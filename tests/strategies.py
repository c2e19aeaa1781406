"""Shared hypothesis strategies: valid scenarios with any event type over 2000-2050."""

from __future__ import annotations

from hypothesis import strategies as st

from reesim.datasets import load_inputs
from reesim.dims import APPLICATIONS, ELEMENTS
from reesim.scenario.schema import EVENT_TYPES, REGIME_NAMES, month_number

_DATA = load_inputs()
PRODUCERS = sorted(_DATA["producers"].producer)
REGIONS = sorted(_DATA["regions"].region)
FIRST, LAST = 2000, 2050


@st.composite
def months(draw, lo: int = FIRST, hi: int = LAST) -> str:
    """A YYYY-MM date within [lo, hi]."""
    return f"{draw(st.integers(lo, hi))}-{draw(st.integers(1, 12)):02d}"


def _window(draw) -> dict:
    start = draw(months())
    if draw(st.booleans()):
        return {"start": start}
    year, month = (int(x) for x in start.split("-"))
    end_year = draw(st.integers(year + 1, min(year + 10, LAST + 1)))
    return {"start": start, "end": f"{end_year}-{month:02d}"}


def _elements(draw) -> list[str] | str:
    return "all" if draw(st.booleans()) else draw(
        st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=4, unique=True))


def _applications(draw) -> list[str] | str:
    return "all" if draw(st.booleans()) else draw(
        st.lists(st.sampled_from(APPLICATIONS), min_size=1, max_size=3, unique=True))


@st.composite
def events(draw, kind: str | None = None) -> dict:
    """One valid event of type ``kind`` (any of the schema's types if None)."""
    kind = kind or draw(st.sampled_from(EVENT_TYPES))
    e: dict = {"type": kind, **_window(draw)}
    fraction = st.floats(0.0, 1.0)
    regime = st.sampled_from([None, *REGIME_NAMES])
    if kind == "quota":
        e.update(kind=draw(st.sampled_from(["mining", "separation", "export"])),
                 value_t_reo_per_yr=draw(st.integers(0, 300_000)))
        if e["kind"] == "mining":
            e["segment"] = draw(st.sampled_from(["total", "light", "ionic"]))
        if e["kind"] == "separation":
            e["covers_imported_ore"] = draw(st.sampled_from([None, False, True]))
    elif kind == "export_tax":
        e.update(elements=_elements(draw), rate_pct=draw(st.floats(0.0, 100.0)))
    elif kind == "export_control":
        e.update(elements=_elements(draw), licensed_fraction=draw(fraction),
                 products=draw(st.sampled_from([["oxide"], ["magnet"], ["oxide", "magnet"]])))
    elif kind == "stockpile":
        holder = draw(st.sampled_from(["state_reserve", "trading_company"]))
        if holder == "trading_company":         # under baotou's company (from 2008-01) only
            e["start"] = draw(months(2008, LAST))
        e.update(holder=holder,
                 action=draw(st.sampled_from(["buy", "release"])),
                 amounts_t_reo={draw(st.sampled_from(ELEMENTS)): draw(st.integers(0, 50_000))},
                 months=draw(st.integers(1, 36)))
        e.pop("end", None)
    elif kind == "disruption":
        e.update(producers=[draw(st.sampled_from(PRODUCERS))],
                 capacity_factor=draw(st.floats(0.0, 2.0)), under_regime=draw(regime))
    elif kind == "capacity":
        e.update(producer=draw(st.sampled_from(PRODUCERS)),
                 capacity_t_reo_per_yr=draw(st.integers(0, 100_000)))
    elif kind == "separation_capacity":
        e.update(region=draw(st.sampled_from(REGIONS)), under_regime=draw(regime),
                 capacity_t_reo_per_yr=draw(st.integers(0, 200_000)))
    elif kind == "route":
        e.update(producer=draw(st.sampled_from(PRODUCERS)),
                 separation_region=draw(st.sampled_from(REGIONS)),
                 toll_treatment=draw(st.booleans()))
    elif kind == "concentrate_stockpile":
        e.update(producer=draw(st.sampled_from(PRODUCERS)))
    elif kind == "regime":
        e.update(regime=draw(st.sampled_from(REGIME_NAMES)))
    elif kind == "recycling":
        e.update(applications=_applications(draw), eol_recycling_fraction=draw(fraction),
                 ramp_yr=draw(st.floats(0.0, 10.0)))
    elif kind == "recovery":
        e.update(producer=draw(st.sampled_from(PRODUCERS)),
                 recovery_fraction=draw(st.floats(0.05, 1.0)), ramp_yr=draw(st.floats(0.0, 5.0)))
    elif kind == "demand_shock":
        e.update(applications=_applications(draw), factor=draw(st.floats(0.0, 3.0)))
    elif kind == "intensity":
        e.update(applications=_applications(draw), elements=[draw(st.sampled_from(ELEMENTS))],
                 factor=draw(st.floats(0.0, 3.0)), ramp_yr=draw(st.floats(0.0, 10.0)))
    elif kind == "price_floor":
        e.update(producers=[draw(st.sampled_from(PRODUCERS))], elements=_elements(draw),
                 floor_usd_per_kg=draw(st.floats(0.01, 1000.0)))
    else:  # a new event type needs a case here (tests/test_mech_events.py checks coverage)
        raise ValueError(f"no strategy for event type {kind!r}")
    return {k: v for k, v in e.items() if v is not None}


@st.composite
def windows(draw, min_years: int = 3, max_years: int = 8) -> tuple[int, int]:
    """A run window (start_year, end_year) within 2000-2050."""
    start = draw(st.integers(FIRST, min(LAST - min_years, 2045)))   # schema: start <= 2045
    return start, min(LAST, start + draw(st.integers(min_years, max_years)))


@st.composite
def scenario_data(draw, max_events: int = 4) -> dict:
    """Overrides of the baotou scenario: a window, a regime, policies and random events."""
    start, end = draw(windows())
    n = draw(st.integers(1, max_events))
    market = {"regime": draw(st.sampled_from(REGIME_NAMES)),
              "regime_from": draw(months(FIRST, LAST))}
    drawn = {f"e{i}": draw(events()) for i in range(n)}
    for event in drawn.values():
        # the company's orders act under its regime only (the schema refuses them elsewhere)
        if event.get("holder") == "trading_company" and (
                market["regime"] != "trading_company"
                or month_number(event["start"]) < month_number(market["regime_from"])):
            event["holder"] = "state_reserve"
    return {
        "start_year": start, "end_year": end, "market": market,
        "policy": {"mining_quotas": draw(st.sampled_from(["packaged", "none"])),
                   "export_quotas": draw(st.sampled_from(["packaged", "none"]))},
        "events": drawn,
    }
