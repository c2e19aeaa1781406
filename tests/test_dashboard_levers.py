"""The dashboard's uploads and levers: validated like scenario files, no paths from the user."""

from __future__ import annotations

import pytest

from reesim.cli_visual import dashboard_command
from reesim.dashboard.levers import (
    MAX_UPLOAD_BYTES,
    Levers,
    apply_levers,
    lever_events,
    scenario_from_upload,
)
from reesim.errors import InputError
from reesim.scenario import load_scenario


def test_valid_upload_extends_a_builtin(baotou):
    scen = scenario_from_upload(b"extends: baotou\nname: mine\nmarket:\n  regime: free_market\n")
    assert scen.name == "mine" and scen.market.regime == "free_market"
    assert set(baotou.events) <= set(scen.events)


@pytest.mark.parametrize(("raw", "needle"), [
    (b"x" * (MAX_UPLOAD_BYTES + 1), "at most"),
    (b"\xff\xfe", "UTF-8"),
    (b"name: [unclosed\n", "malformed YAML"),
    (b"- a list\n", "mapping"),
    (b"extends: /etc/passwd\nname: x\n", "extends"),
    (b"extends: ../baotou.yaml\nname: x\n", "extends"),
    (b"name: x\ncalibration: /tmp/fit.yaml\n", "calibration"),
    (b"extends: baotou\nname: x\nend_year: 3000\n", "end_year"),
    (b"extends: baotou\nname: x\nevents:\n  a: {type: disruption, regions: [atlantis], "
     b"capacity_factor: 0.5, start: '2030'}\n", "atlantis"),
    (b"!!python/object/apply:os.system ['true']\n", "malformed YAML"),
])
def test_bad_uploads_are_input_errors_naming_the_problem(raw, needle):
    with pytest.raises(InputError) as err:
        scenario_from_upload(raw)
    assert needle in str(err.value)


def test_levers_become_validated_events(baotou):
    levers = Levers(regime="free_market", end_year=2035,
                    export_licences={"Dy": 0.3, "Tb": 0.3, "Nd": 0.8, "La": 1.0},
                    stockpile_element="Nd",
                    stockpile_t_reo=5000, disruption_region="myanmar",
                    disruption_capacity_factor=0.0, recycling_fraction=0.25,
                    new_mine_producer="nolans", new_mine_capacity_t_reo_per_yr=12_000,
                    rd_elements=["Dy", "Tb"], rd_factor=0.4)
    scen = apply_levers(baotou, levers)
    assert scen.market.regime == "free_market" and scen.end_year == 2035
    assert scen.output.frequency == "year"
    added = {k: v for k, v in scen.events.items() if k.startswith("dashboard_")}
    assert {e.type for e in added.values()} == {"export_control", "stockpile", "disruption",
                                                "recycling", "capacity", "intensity"}
    assert added["dashboard_rd_magnets"].elements == ["Dy", "Tb"]
    assert added["dashboard_rd_magnets"].applications == ["magnets"]
    assert added["dashboard_export_control_1"].licensed_fraction == 0.3
    assert added["dashboard_export_control_1"].elements == ["Dy", "Tb"]
    assert added["dashboard_export_control_2"].elements == ["Nd"]
    assert lever_events(Levers()) == {}


def test_smuggling_lever_sets_only_its_constant(baotou):
    scen = apply_levers(baotou, Levers(smuggling_share=0.3))
    assert scen.constants["smuggling_share"] == 0.3
    others = {k: v for k, v in scen.constants.items() if k != "smuggling_share"}
    assert others == {k: v for k, v in baotou.constants.items() if k != "smuggling_share"}
    assert scen.name == "baotou-dashboard"
    with pytest.raises(InputError) as err:
        apply_levers(baotou, Levers(smuggling_share=1.5))
    assert "smuggling_share" in str(err.value)


def test_opt_in_mechanism_levers_set_their_constants_and_none_keeps_the_base(baotou):
    scen = apply_levers(baotou, Levers(glut_decline_sensitivity=10.0, premium_withholding=19.5))
    assert scen.constants["glut_decline_sensitivity"] == 10.0
    assert scen.constants["premium_withholding"] == 19.5
    changed = {"glut_decline_sensitivity", "premium_withholding"}
    assert {k: v for k, v in scen.constants.items() if k not in changed} == {
        k: v for k, v in baotou.constants.items() if k not in changed}
    spike = load_scenario("baotou-china-spike")
    kept = apply_levers(spike, Levers())
    assert kept.constants == spike.constants and kept.constants["premium_withholding"] == 19.5
    off = apply_levers(spike, Levers(premium_withholding=0.0))
    assert off.constants["premium_withholding"] == 0.0
    assert kept.constants["carrying_cost_per_yr"] == 0.01
    no_carry = apply_levers(spike, Levers(carrying_cost_per_yr=0.0))
    assert no_carry.constants["carrying_cost_per_yr"] == 0.0
    assert apply_levers(baotou, Levers(carrying_cost_per_yr=0.02)).constants[
        "carrying_cost_per_yr"] == 0.02
    with pytest.raises(InputError) as err:
        apply_levers(baotou, Levers(glut_decline_sensitivity=60.0))
    assert "glut_decline_sensitivity" in str(err.value)


def test_lever_values_out_of_range_are_refused(baotou):
    with pytest.raises(InputError) as err:
        apply_levers(baotou, Levers(recycling_fraction=1.5))
    assert "eol_recycling_fraction" in str(err.value)


def test_dashboard_binds_to_localhost_headless_without_telemetry():
    cmd = dashboard_command(8599)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    assert cmd[cmd.index("--server.port") + 1] == "8599"
