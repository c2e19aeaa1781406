"""The reesim web explorer (Streamlit); start it with ``reesim dashboard``.

Pick a built-in scenario or upload a YAML file, move the levers, press Run and read the same
charts as the HTML report, and what the levers changed: the run against the same scenario
without them, with the same members and seed (for an ensemble, member by member). Every
scenario goes through the normal validation; problems are shown in the page, never as a
traceback. The server binds to 127.0.0.1 only (see :func:`reesim.cli_visual.dashboard_command`).
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st
import xarray as xr

from reesim.api import scenario_yaml, simulate
from reesim.compare import Compared, comparison_table, indicator_label
from reesim.dashboard.levers import MAX_UPLOAD_BYTES, Levers, apply_levers, scenario_from_upload
from reesim.dims import ELEMENTS
from reesim.errors import ReesimError
from reesim.report import figures
from reesim.report.html import report_figures, report_html
from reesim.report.sankey import ALL, sankey_figure
from reesim.report.summary import summary_records, to_csv
from reesim.scenario import builtin_names, load_scenario
from reesim.scenario.schema import Scenario

log = logging.getLogger("reesim.dashboard")

REGIONS = ("baotou", "sichuan", "shandong", "south_china", "myanmar", "australia", "malaysia",
           "usa", "russia", "india", "brazil", "europe", "africa", "southeast_asia")
NEW_MINES = ("nolans", "eneabba", "kvanefjeld", "generic_lree_2030", "generic_lree_2035",
             "generic_ionic_2030")
KEEP = "as in the scenario"


@st.cache_data(max_entries=8, show_spinner=False)
def _run(scenario_json: str, members: int, seed: int) -> tuple[xr.Dataset, dict]:
    result = simulate(Scenario.model_validate_json(scenario_json), members=members, seed=seed)
    return result.dataset, result.manifest


def _plain(text: object) -> str:
    """``text`` with markdown's special characters escaped (error messages name fields)."""
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|~" else c for c in str(text))


def _base_scenario() -> Scenario | None:
    """The scenario chosen in the sidebar (None, with the error shown, if it is invalid)."""
    source = st.sidebar.radio("Scenario", ["built-in", "upload a YAML file"], key="source")
    if source == "built-in":
        names = builtin_names()
        name = st.sidebar.selectbox("built-in scenario", names, index=names.index("baotou"),
                                    key="builtin")
        return load_scenario(name)
    upload = st.sidebar.file_uploader(
        f"scenario YAML (at most {MAX_UPLOAD_BYTES // 1000} kB; `extends:` a built-in name)",
        type=["yaml", "yml"], key="upload")
    if upload is None:
        st.info("Upload a scenario YAML file in the sidebar, or pick a built-in scenario.")
        return None
    return scenario_from_upload(upload.getvalue(), label=f"uploaded file {upload.name!r}")


def _levers(base: Scenario) -> tuple[Levers, int, int, bool]:
    """The lever form in the sidebar: the levers, members, seed, and whether Run was pressed."""
    with st.sidebar.form("levers"):
        st.markdown("**Levers**")
        regime = st.selectbox("Baotou's market regime", [KEEP, "trading_company", "free_market"],
                              key="regime")
        end_year = st.slider("end year", base.start_year + 10, 2050,
                             min(2040, base.end_year), key="end_year")
        st.markdown("**Export controls**: the share of desired exports licensed, per element "
                    "(1 = no control)")
        licences = st.data_editor(
            pd.DataFrame({"element": list(ELEMENTS), "licensed": [1.0] * len(ELEMENTS)}),
            key="ec_licences", hide_index=True, disabled=["element"], height=220,
            column_config={"licensed": st.column_config.NumberColumn(
                min_value=0.0, max_value=1.0, step=0.05, format="%.2f")})
        ec_years = st.slider("from, to", 2000, 2050, (2026, 2031), key="ec_years")
        smuggling = st.slider("share of refused exports smuggled out anyway (at most 35 kt "
                              "REO a year)", 0.0, 1.0, 0.0, 0.05, key="smuggling")
        st.markdown("**Market mechanisms to switch** (docs/model.md, section 5)")
        outlook = st.slider("sellers' demand outlook: how steeply a glut is priced where an "
                            "element's demand declines (10 in the default fit; 0: off)",
                            0.0, 50.0, float(base.constants.get("glut_decline_sensitivity",
                                                                0.0)), 1.0,
                            key="glut_decline")
        withholding = st.slider("China's sellers hold back while the export quota turns "
                                "exporters away (0: off; 19.5 in baotou-china-spike)", 0.0,
                                20.0, float(base.constants.get("premium_withholding", 0.0)),
                                0.5, key="withholding")
        carrying = st.slider("holders' carrying cost on stock beyond their cover, per year "
                             "per log month (0: off; 0.01 in baotou-china-spike)", 0.0, 0.1,
                             float(base.constants.get("carrying_cost_per_yr", 0.0)), 0.005,
                             key="carrying", format="%.3f")
        st.markdown("**State stockpile purchase**")
        sp_element = st.selectbox("element", list(ELEMENTS), index=ELEMENTS.index("Nd"),
                                  key="sp_element")
        sp_t = st.number_input("tonnes REO (0: none)", 0.0, 100_000.0, 0.0, 1000.0,
                               key="sp_t")
        sp_year = st.slider("start year", 2000, 2050, 2027, key="sp_year")
        st.markdown("**Disruption of a mining region**")
        dr_region = st.selectbox("region", [KEEP, *REGIONS], key="dr_region")
        dr_factor = st.slider("capacity factor (0: halt)", 0.0, 1.0, 0.2, 0.05, key="dr_factor")
        dr_years = st.slider("from, to", 2000, 2050, (2030, 2032), key="dr_years")
        st.markdown("**End-of-life recycling (all applications)**")
        rc_on = st.checkbox("set a recycling rate", key="rc_on")
        rc_rate = st.slider("rate", 0.0, 0.9, 0.3, 0.05, key="rc_rate")
        rc_year = st.slider("from (ramped over 10 years)", 2000, 2050, 2026, key="rc_year")
        st.markdown("**A new mine**")
        nm_producer = st.selectbox("project", [KEEP, *NEW_MINES], key="nm_producer")
        nm_capacity = st.number_input("capacity, t REO/yr", 0.0, 100_000.0, 10_000.0, 1000.0,
                                      key="nm_capacity")
        nm_year = st.slider("online from", 2000, 2050, 2030, key="nm_year")
        st.markdown("**R&D in magnets**: the content of elements in NdFeB magnets")
        rd_elements = st.multiselect("elements", list(ELEMENTS), [], key="rd_elements")
        rd_factor = st.slider("to this share of today's (1: no gain)", 0.0, 1.0, 1.0, 0.05,
                              key="rd_factor")
        rd_year = st.slider("from (ramped over 8 years)", 2000, 2050, 2027, key="rd_year")
        st.markdown("**Uncertainty**")
        members = st.number_input("ensemble members", 1, 50, 1, key="members")
        seed = st.number_input("seed", 0, 10**9, base.seed, key="seed")
        pressed = st.form_submit_button("Run", type="primary")
    levers = Levers(
        regime=None if regime == KEEP else regime, end_year=int(end_year),
        export_licences={str(r.element): float(r.licensed) for r in licences.itertuples()
                         if pd.notna(r.licensed)},
        export_control_years=(int(ec_years[0]), int(ec_years[1])),
        smuggling_share=float(smuggling),
        glut_decline_sensitivity=_changed(outlook, base, "glut_decline_sensitivity"),
        premium_withholding=_changed(withholding, base, "premium_withholding"),
        carrying_cost_per_yr=_changed(carrying, base, "carrying_cost_per_yr"),
        stockpile_element=sp_element, stockpile_t_reo=float(sp_t),
        stockpile_start_year=int(sp_year),
        disruption_region=None if dr_region == KEEP else dr_region,
        disruption_capacity_factor=dr_factor,
        disruption_years=(int(dr_years[0]), int(dr_years[1])),
        recycling_fraction=rc_rate if rc_on else None, recycling_start_year=int(rc_year),
        new_mine_producer=None if nm_producer == KEEP else nm_producer,
        new_mine_capacity_t_reo_per_yr=float(nm_capacity), new_mine_start_year=int(nm_year),
        rd_elements=[str(e) for e in rd_elements], rd_factor=float(rd_factor),
        rd_start_year=int(rd_year))
    return levers, int(members), int(seed), pressed


def _changed(value: float, base: Scenario, constant: str) -> float | None:
    """The slider's value if it differs from the base scenario's constant, else None (keep)."""
    return None if float(value) == float(base.constants.get(constant, 0.0)) else float(value)


def _key_figures(ds: xr.Dataset) -> pd.DataFrame:
    years = [y for y in (2011, 2020, 2030, 2040, 2050) if y in ds.year.values]
    recs = pd.DataFrame(summary_records(ds, years))
    wanted = recs[((recs.metric == "price_export") & recs.key.isin(["Nd", "Dy", "Tb", "Ce"]))
                  | recs.metric.isin(["world_mine_output", "china_share_of_world_output",
                                      "china_exports"])]
    label = [f"{indicator_label(m, k)}, {u}" for m, k, u in zip(
        wanted.metric, wanted.key, wanted.unit, strict=True)]
    return wanted.assign(indicator=label).pivot_table(index="indicator", columns="year",
                                                      values="value", sort=False)


def record_patterns(ds: xr.Dataset) -> pd.DataFrame:
    """The run's behaviour patterns beside the record's, labelled for the Record tab."""
    from reesim.validation import load_observations
    from reesim.validation.patterns import pattern_table

    table = pattern_table(ds, load_observations())
    return table[["what", "simulated", "simulated_p05", "simulated_p95", "record", "note"]].rename(
        columns={"what": "pattern", "simulated_p05": "5%", "simulated_p95": "95%"})


def record_spike(ds: xr.Dataset) -> pd.DataFrame:
    """The run's 2011 peak of each quoted element and market beside the record's highest quote."""
    from reesim.validation import load_observations
    from reesim.validation.spike import spike_table

    table = spike_table(ds, load_observations())
    return table[["element", "market", "peak_usd_per_kg", "peak_month", "record_peak_usd_per_kg",
                  "record_peak_month", "peak_to_record", "within_tolerance"]].rename(columns={
                      "peak_usd_per_kg": "peak, USD/kg", "peak_month": "month",
                      "record_peak_usd_per_kg": "record, USD/kg",
                      "record_peak_month": "record month", "peak_to_record": "peak / record",
                      "within_tolerance": "within 1.5x"})


def lever_effects(ds: xr.Dataset, reference: xr.Dataset) -> pd.DataFrame:
    """Key indicators with and without the levers, and their difference.

    For an ensemble whose members meet the same futures (:func:`reesim.compare.paired`), also
    the quantiles of the member-by-member difference.
    """
    years = [y for y in (2011, 2020, 2030, 2040, 2050) if y in ds.year.values]
    table = comparison_table([Compared("without", reference), Compared("with", ds)], years)
    return table.rename(columns=lambda c: c.replace("with - without", "difference").replace(
        "with vs without", "difference"))


def _effect_tab(ds: xr.Dataset, manifest: dict, base: Scenario, scenario: Scenario) -> None:
    """The run against ``base`` without the levers, with the run's own members and seed."""
    members, seed = int(ds.sizes.get("member", 1)), int(manifest["seed"])
    reference = apply_levers(base, Levers(end_year=scenario.end_year))
    if reference.model_dump_json() == scenario.model_dump_json():
        st.write("No lever is set: move one in the sidebar and press Run to see what it "
                 "changes.")
        return
    with st.spinner(f"running {base.name} without the levers x{members}..."):
        ref_ds, _ = _run(reference.model_dump_json(), members, seed)
    st.markdown(f"**What the levers changed**: this run against {base.name} without them "
                f"(same end year, {members} member(s), seed {seed}). With an ensemble, "
                "`paired` columns give the quantiles of the member-by-member difference: the "
                "same lever can matter a lot in some futures and little in others.")
    table = lever_effects(ds, ref_ds)
    numbers = [c for c in table.columns if c not in ("indicator", "unit", "year")]
    st.dataframe(table.style.format("{:,.4g}", subset=numbers), width="stretch",
                 hide_index=True)


def _show(ds: xr.Dataset, manifest: dict, scenario: Scenario, base: Scenario) -> None:
    members = int(ds.sizes.get("member", 1))
    nd = figures.annual(ds.price.sel(element="Nd", market="export")).median("member")
    last = int(nd.year.values[-1])
    st.markdown(f"**{scenario.name}**: members {members}, seed {manifest['seed']}, scenario hash "
                f"`{manifest['scenario_hash']}`")
    st.caption(f"Nd oxide, export price in {last}: {float(nd.sel(year=last)):,.1f} USD/kg",
               help="A headline number; the charts below show the whole paths.")
    st.dataframe(_key_figures(ds).style.format("{:,.4g}"), width="stretch")
    figs = report_figures(ds, scenario)
    tabs = st.tabs(["Prices", "Flows (Sankey)", "Supply", "Balance", "Environment", "Events",
                    "Record", "Levers' effect"])
    with tabs[0]:
        st.plotly_chart(figs["prices"], key="chart-prices")
    with tabs[1]:
        years = ds.year.values.tolist()
        col1, col2 = st.columns(2)
        element = col1.selectbox("element", [ALL, *ELEMENTS], index=1 + ELEMENTS.index("Nd"),
                                 key="sk_element")
        year = col2.selectbox("year", years, index=years.index(2020) if 2020 in years
                              else len(years) - 1, key="sk_year")
        st.plotly_chart(sankey_figure(ds, element, int(year)), key="chart-sankey")
    with tabs[2]:
        st.plotly_chart(figs["supply"], key="chart-supply")
    with tabs[3]:
        st.plotly_chart(figs["balance"], key="chart-balance")
    with tabs[4]:
        st.plotly_chart(figs["environment"], key="chart-environment")
    with tabs[5]:
        if "events" in figs:
            st.plotly_chart(figs["events"], key="chart-events")
        else:
            st.write("The scenario has no dated events.")
    with tabs[6]:
        st.markdown("**Behaviour patterns vs the record** (median and 5-95% over members): "
                    "what the run reproduces of the 2011 crisis, and what it misses.")
        st.dataframe(record_patterns(ds), width="stretch", hide_index=True)
        st.markdown("**The 2011 spike by element vs the record**: the highest month of "
                    "2010-2012 in each market beside the record's highest quote.")
        spike = record_spike(ds)
        if spike.empty:
            st.caption("The peaks are monthly: run with output.frequency=month to see them.")
        else:
            st.dataframe(spike, width="stretch", hide_index=True)
    with tabs[7]:
        _effect_tab(ds, manifest, base, scenario)
    col1, col2, col3, col4 = st.columns(4)
    col1.download_button("scenario YAML", scenario_yaml(scenario), f"{scenario.name}.yaml",
                         "application/x-yaml")
    # built when clicked (on a separate thread), so a run does not wait for them
    col2.download_button("results.nc", lambda: bytes(ds.to_netcdf(engine="h5netcdf")),
                         f"{scenario.name}-results.nc", "application/x-netcdf")
    col3.download_button("summary.csv", lambda: to_csv(summary_records(ds)), "summary.csv",
                         "text/csv")
    col4.download_button("report.html", lambda: report_html(ds, manifest, scenario),
                         f"{scenario.name}-report.html", "text/html")


def main() -> None:
    """Render the page."""
    st.set_page_config(page_title="reesim dashboard", layout="wide")
    st.title("reesim: explore Baotou's rare earth system")
    try:
        base = _base_scenario()
    except ReesimError as exc:
        st.error(f"This scenario cannot be used:\n\n{_plain(exc)}")
        return
    if base is None:
        return
    levers, members, seed, pressed = _levers(base)
    try:
        scenario = apply_levers(base, levers)
    except ReesimError as exc:
        st.error(f"These levers give an invalid scenario:\n\n{_plain(exc)}")
        return
    key = (scenario.model_dump_json(), members, seed)
    if pressed or "shown" not in st.session_state or st.session_state.get("base") != base.name:
        st.session_state["shown"] = key
        st.session_state["base"] = base.name
    scenario_json, members, seed = st.session_state["shown"]
    shown = Scenario.model_validate_json(scenario_json)
    try:
        with st.spinner(f"running {shown.name} x{members}..."):
            ds, manifest = _run(scenario_json, members, seed)
    except ReesimError as exc:
        st.error(f"The run failed:\n\n{_plain(exc)}")
        return
    except Exception as exc:          # never a traceback in the page
        log.exception("dashboard run failed")
        st.error(f"The run failed unexpectedly ({type(exc).__name__}); see the server log.")
        return
    if key != st.session_state["shown"]:
        st.warning("Levers changed: press Run to update the charts.")
    _show(ds, manifest, shown, base)


main()
