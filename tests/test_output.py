"""Output targets and files: reesim replaces only its own files; results.nc carries provenance."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

from reesim import load_scenario, simulate
from reesim.cli import app
from reesim.errors import InputError
from reesim.output import MARKER, check_folder, clean_stale, write_file, write_folder

runner = CliRunner()


@pytest.fixture(scope="module")
def short_result():
    return simulate(load_scenario("baotou", ["end_year=2003"]))


def test_overwrite_replaces_only_reesims_own_files(tmp_path):
    out = tmp_path / "res"
    write_folder(out, {"a.csv": "1\n", "b.csv": "2\n"}, command="test")
    (out / "my_notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="--overwrite"):
        write_folder(out, {"a.csv": "3\n"}, command="test")
    write_folder(out, {"a.csv": "3\n"}, command="test", overwrite=True)
    assert (out / "a.csv").read_text() == "3\n"
    assert not (out / "b.csv").exists()              # reesim's old file, not in the new result
    assert (out / "my_notes.txt").read_text() == "keep me"
    assert json.loads((out / MARKER).read_text())["files"] == ["a.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_overwrite_of_a_pure_result_swaps_the_folder(tmp_path):
    out = tmp_path / "res"
    write_folder(out, {"a.csv": "1\n"}, command="test")
    inode = out.stat().st_ino
    write_folder(out, {"a.csv": "2\n"}, command="test", overwrite=True)
    assert (out / "a.csv").read_text() == "2\n" and out.stat().st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_an_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    write_folder(out, {"a.csv": "1\n"}, command="test")
    assert (out / "a.csv").exists() and (out / MARKER).exists()


def test_a_failing_writer_leaves_nothing(tmp_path):
    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_folder(tmp_path / "res", {"a.csv": "1\n", "b.nc": broken}, command="test")
    assert list(tmp_path.iterdir()) == []


def test_stale_partials_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    dead_pid = 2**22 + 12345          # above the default pid_max of 4194304: never alive
    dead = tmp_path / f".run.reesim-tmp-{dead_pid}-abc"
    dead.mkdir()
    (dead / "results.nc").write_text("partial")
    live = tmp_path / f".other.reesim-tmp-{os.getpid()}-xyz"
    live.mkdir()
    old = tmp_path / f".kept.reesim-old-{dead_pid}-q1"     # killed between the two renames
    old.mkdir()
    (old / "a.csv").write_text("previous result")
    notes = clean_stale(tmp_path)
    assert not dead.exists() and live.exists()
    assert (tmp_path / "kept" / "a.csv").read_text() == "previous result"
    assert len(notes) == 2 and any("restored" in n for n in notes)


def test_check_folder_reports_stale_partials(tmp_path):
    (tmp_path / f".run.reesim-tmp-{2**22 + 1}-abc").mkdir()
    notes = check_folder(tmp_path / "new")
    assert notes and "interrupted run" in notes[0]


def test_write_file_refuses_files_it_did_not_write(tmp_path):
    mine = tmp_path / "fit.yaml"
    mine.write_text("my own notes")
    with pytest.raises(InputError, match="not written by reesim"):
        write_file(mine, "# Written by `reesim calibrate` ...\n", overwrite=True)
    assert mine.read_text() == "my own notes"
    fresh = tmp_path / "new.yaml"
    write_file(fresh, "# Written by `reesim test`\nx: 1\n")
    with pytest.raises(InputError, match="--overwrite"):
        write_file(fresh, "# Written by `reesim test`\nx: 2\n")
    write_file(fresh, "# Written by `reesim test`\nx: 2\n", overwrite=True)
    assert yaml.safe_load(fresh.read_text()) == {"x": 2}


def test_results_nc_reads_back_the_run_with_either_engine(short_result, tmp_path):
    """results.nc is written by netCDF-C; h5netcdf (which the report, ensemble exports and the
    dashboard read with) and netCDF4 both read back the values in memory, bit for bit."""
    ds = short_result.dataset
    out = short_result.write(tmp_path / "res")
    for engine in ("h5netcdf", "netcdf4"):
        with xr.open_dataset(out / "results.nc", engine=engine) as back:
            for name in ("price", "mine_output", "inventory", "smuggled_exports"):
                np.testing.assert_array_equal(back[name].values, ds[name].values)
            assert list(back.data_vars) == list(ds.data_vars), engine


def test_results_nc_carries_provenance_names_and_compression(short_result, tmp_path):
    out = short_result.write(tmp_path / "res")
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        for key in ("reesim_version", "created_utc", "data_digest", "scenario_yaml",
                    "scenario_hash", "data_version", "seed"):
            assert ds.attrs[key] != "", key
        scenario = yaml.safe_load(ds.attrs["scenario_yaml"])
        assert scenario["name"] == "baotou" and scenario["end_year"] == 2003
        assert ds.price.attrs["long_name"] and ds.price.attrs["units"] == "USD/kg"
        names = dict(zip(ds.producer.values, ds.producer_name.values, strict=True))
        assert names["mount_weld"] == "Mount Weld (Lynas)"
        assert str(ds.element_name.sel(element="Nd").values) == "Neodymium"
        assert ds.price.encoding.get("zlib") or ds.price.encoding.get("compression") == "zlib"
    # the in-memory dataset stays bit-identical (no creation time in it)
    assert "created_utc" not in short_result.dataset.attrs


def test_every_output_folder_has_the_same_permissions(short_result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = short_result.write(tmp_path / "run")
    validate = runner.invoke(app, ["validate", "baotou", "--out", "val"])
    assert validate.exit_code == 0, validate.output
    umask = os.umask(0o022)
    os.umask(umask)
    expected = 0o777 & ~umask
    for folder in (run, tmp_path / "val"):
        assert stat.S_IMODE(folder.stat().st_mode) == expected, folder


def test_compressed_default_run_is_smaller_than_raw(short_result, tmp_path):
    out = short_result.write(tmp_path / "res")
    raw = sum(v.nbytes for v in short_result.dataset.data_vars.values())
    assert (out / "results.nc").stat().st_size < 0.6 * raw


def test_a_tampered_marker_cannot_make_reesim_delete_other_files(tmp_path):
    out = tmp_path / "res"
    write_folder(out, {"a.csv": "1\n"}, command="test")
    (tmp_path / "thesis.tex").write_text("years of work")
    (out / "notes.txt").write_text("mine")
    marker = json.loads((out / MARKER).read_text())
    marker["files"] += ["../thesis.tex", "notes.txt/..", "/etc/hostname"]
    (out / MARKER).write_text(json.dumps(marker))
    write_folder(out, {"b.csv": "2\n"}, command="test", overwrite=True)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "a.csv").exists() and (out / "b.csv").exists()
