"""Static figures through kaleido, which drives the same system chromium as the browser tests."""

from __future__ import annotations

from reesim.report.html import write_static


def test_static_png_of_every_figure(browser, baotou_result, tmp_path):
    ds = baotou_result.dataset.sel(time=slice("2008", "2021"))
    written = write_static(ds, tmp_path / "img", "report", "png", baotou_result.scenario)
    assert {p.name for p in written} == {f"report-{k}.png" for k in (
        "prices", "supply", "balance", "environment", "events", "flows")}
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == sorted(
        [".reesim-output.json", *(p.name for p in written)])   # no temporary folder left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img"]
