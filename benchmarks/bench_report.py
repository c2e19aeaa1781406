"""Benchmark: time to build the HTML report, the comparison and the Sankey data of a run.

Prints figures; asserts nothing. Uses the default scenario (monthly, one member) and a
20-member annual ensemble. Run: ``.venv/bin/python benchmarks/bench_report.py``.
"""

from __future__ import annotations

import time

from reesim import load_scenario, simulate
from reesim.compare import Compared, comparison_html, comparison_table
from reesim.report.html import report_html, sankey_years
from reesim.report.sankey import sankey_data


def _best(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    one = simulate(load_scenario("baotou"))
    free = simulate(load_scenario("baotou-free-market"))
    ens = simulate(load_scenario("baotou-ensemble", ["output.frequency=year"]), members=20)
    for label, res in (("default run (monthly, 1 member)", one),
                       ("ensemble (annual, 20 members)", ens)):
        years = sankey_years(res.dataset)
        t_sankey, _ = _best(lambda res=res, years=years: sankey_data(res.dataset, years))
        t_html, text = _best(lambda res=res: report_html(res.dataset, res.manifest, res.scenario))
        print(f"{label}: report.html {t_html:.2f} s ({len(text) / 1e6:.1f} MB, of which the "
              f"Sankey data of {len(years)} years x 17 element choices {t_sankey:.2f} s)")
    runs = [Compared("baotou", one.dataset), Compared("baotou-free-market", free.dataset)]
    t_cmp, page = _best(lambda: comparison_html(runs, comparison_table(runs)))
    print(f"comparison of two default runs: {t_cmp:.2f} s ({len(page) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
