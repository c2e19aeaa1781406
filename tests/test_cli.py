"""The command line: run, scenarios, show, data; bad input exits 2 and writes nothing."""

from __future__ import annotations

import json

import xarray as xr
from typer.testing import CliRunner

from reesim.cli import app

runner = CliRunner()


def test_run_writes_results_manifest_and_summary(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "baotou", "--set", "end_year=2012", "--out", str(out),
                                 "--years", "2011,2005,2011"])     # a repeated year once
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"results.nc", "manifest.json", "summary.csv",
                                               "claims.csv", "scenario.yaml",
                                               ".reesim-output.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"] == "baotou" and manifest["members"] == 1
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        assert ds.price.attrs["units"] == "USD/kg"
        assert set(ds.market.values) == {"china", "export"}
    assert "Oxide prices" in result.output
    assert "summary.csv" in result.output
    summary = (out / "summary.csv").read_text()
    assert ",2011," in summary and ",2010," not in summary
    rows = summary.splitlines()
    assert len(rows) == len(set(rows))


def test_run_with_members_and_overrides(tmp_path):
    out = tmp_path / "ens"
    result = runner.invoke(app, ["run", "baotou-free-market", "--set", "end_year=2010",
                                 "--members", "3", "--seed", "7", "--frequency", "year",
                                 "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["members"] == 3 and manifest["seed"] == 7


def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baotou\nname: bad\nmarket:\n  regime: monopoly\n")
    out = tmp_path / "never"
    result = runner.invoke(app, ["run", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "market.regime" in result.output and "free_market" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_scenarios_show_and_data():
    listing = runner.invoke(app, ["scenarios"])
    assert listing.exit_code == 0 and "baotou-free-market" in listing.output
    shown = runner.invoke(app, ["show", "baotou-free-market"])
    assert shown.exit_code == 0 and "regime: free_market" in shown.output
    data = runner.invoke(app, ["data"])
    assert data.exit_code == 0 and "producers" in data.output and "USGS" in data.output


def test_every_commands_help_reads_in_whole_paragraphs():
    """A docstring wrapped in the source prints as paragraphs the terminal wraps, not as the
    source's line breaks (typer 0.29 kept them: ragged half-lines at 80 columns)."""
    from reesim.cli_options import reflowed

    assert reflowed("One\nline.\n\nA list:\n- first\n  item\n- second") == (
        "One line.\n\nA list:\n- first item\n- second")
    for info in app.registered_commands:
        name = info.name or info.callback.__name__
        result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "400"})
        assert result.exit_code == 0, name
        help_text = info.help.split("\n\n")
        for paragraph in help_text[1:]:
            for line in paragraph.splitlines():
                # each paragraph line (under 400 columns) prints whole on one line
                assert " ".join(line.split()) in " ".join(result.output.split()), name
                if len(line) < 300:
                    printed = [" ".join(out.split()) for out in result.output.splitlines()]
                    assert any(line in out for out in printed), (name, line)
    validate = runner.invoke(app, ["validate", "--help"], env={"COLUMNS": "400"}).output
    assert "prints and writes the metrics" in validate


def test_validate_holds_back_a_load_warning_until_it_knows_the_run_s_years(caplog):
    import logging

    from reesim.cli import _held_logs

    logger = logging.getLogger("reesim.scenario")
    with caplog.at_level("WARNING", logger="reesim.scenario"):
        with _held_logs("reesim.scenario") as held:
            logger.warning("events outside 2000-2020")
        assert not caplog.records and len(held) == 1      # held back: the years may change
        logger.warning("after the block")                  # the filter is gone
        for record in held:
            logging.getLogger(record.name).handle(record)
    assert [r.getMessage() for r in caplog.records] == ["after the block",
                                                        "events outside 2000-2020"]


def test_a_single_run_of_an_xlrm_scenario_says_what_it_does_with_uncertainties_and_levers(
        tmp_path, monkeypatch):
    from reesim.scenario import loader

    monkeypatch.setattr(loader, "_WARNED", set())     # said once a process: say it here
    result = runner.invoke(app, ["run", "baotou-xlrm", "--set", "end_year=2001", "--quiet",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "uncertain parameters: one member runs at their central values" in text
    assert "declares levers (dy_reserve, recycling, rd_magnets)" in text
    # and the events of 2002 on, outside the shortened run, are named
    assert "wholly outside the run's years 2000-2001" in text
