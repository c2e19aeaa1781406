"""Terminal tables fit 80 columns without cutting a digit; ensembles show marked percentiles."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from reesim.report.render import _fmt, render
from reesim.report.summary import DEFAULT_YEARS, summary_records


def _render(records, width):
    console = Console(width=width, record=True, file=io.StringIO())
    render(records, console)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 100, 140])
def test_tables_fit_and_keep_every_digit(baotou_result, width):
    records = summary_records(baotou_result.dataset, DEFAULT_YEARS)
    text = _render(records, width)
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    assert "…" not in text
    omitted = {int(y) for m in re.findall(r"left out to fit \d+ columns: ([\d, ]+)", text)
               for y in m.split(",")}
    cells = set(re.findall(r"(?<![\w.,])[\d,]+(?:\.\d+)?%?(?![\w.,])", text))
    for rec in records:
        if rec["year"] not in omitted:
            assert _fmt(rec["value"], rec["unit"]) in cells | {"-"}, rec
    if width >= 140:
        assert not omitted


def test_ensemble_tables_mark_medians_and_percentiles(baotou_result):
    records = summary_records(baotou_result.dataset, (2010, 2011, 2030))
    for rec in records:
        rec["p05"], rec["p95"] = 0.5 * rec["value"], 2.0 * rec["value"]
    text = _render(records, 80)
    assert "medians of the members" in text
    assert "5th pct" in text and "95th pct" in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 80


def test_the_validation_table_fits_80_columns_without_cutting_digits():
    import pandas as pd
    from rich.console import Console

    from reesim.report.render import render_validation

    metrics = pd.DataFrame({
        "series": ["price_export_Nd_with_a_long_series_name", "production_world"] * 4,
        "metric": ["log_rmse"] * 2 + ["range_coverage"] * 2 + ["range_miss_log_distance"] * 2
        + ["direction_agreement"] * 2,
        "value": [0.123456, 0.2, 0.5, 1.0, 0.3, 0.0, 0.75, 0.8], "n": [12, 26] * 4,
        "observed": [float("nan")] * 8})
    console = Console(width=80, record=True)
    render_validation(metrics, "baotou", 1, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "0.123 (12)" in text and "…" not in text


def test_every_table_has_a_title_and_every_row_its_unit(baotou_result):
    """The magnets table was titled just 'magnets', its rows without their unit."""
    from reesim.report.render import LABELS, TITLES

    records = summary_records(baotou_result.dataset, (2010, 2030))
    assert {rec["section"] for rec in records} <= set(TITLES)
    for rec in records:
        if rec["section"] in ("prices", "balance", "demand"):   # the unit is in the title
            continue
        label = LABELS.get(rec["metric"], "")
        assert label, rec["metric"]
        assert rec["unit"] == "%" or label.endswith(f", {rec['unit']}"), (label, rec["unit"])
    text = _render(records, 100)
    assert "Magnets: where they are made" in text and "China's magnet exports, kt REO/yr" in text
