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
