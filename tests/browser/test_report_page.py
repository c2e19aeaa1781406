"""The generated report in a real browser: loads offline, no console errors, switchable Sankey."""

from __future__ import annotations

from reesim.report.claims import claims_frame, share_claims
from reesim.report.html import write_report


def test_report_opens_offline_and_the_sankey_switches(baotou_result, page, tmp_path, artifacts):
    ds = baotou_result.dataset
    path = write_report(ds, tmp_path / "report.html", baotou_result.manifest,
                        baotou_result.scenario, claims_frame(share_claims(ds), None))
    requested = []

    def block(route):
        requested.append(route.request.url)
        route.abort()

    page.route("http*://**", block)          # nothing but the file itself may load
    page.goto(path.as_uri())
    page.wait_for_selector("#sankey .sankey-node")
    assert "Nd: flows in 2020" in page.inner_text("#sankey")
    page.select_option("#sankey-element", "Dy")
    page.select_option("#sankey-year", "2011")
    page.wait_for_function(
        "document.querySelector('#sankey').innerText.includes('Dy: flows in 2011')")
    labels = page.eval_on_selector_all("#sankey .sankey-node", "nodes => nodes.length")
    assert labels > 10
    for key in ("prices", "supply", "balance", "environment", "events"):
        assert page.locator(f"#fig-{key} .main-svg").count() > 0, key
    assert page.locator("table.claims a[href^='http']").count() > 0
    page.screenshot(path=artifacts / "report.png", full_page=False)
    page.evaluate("document.getElementById('prices').scrollIntoView()")
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / "report-prices.png", full_page=False)
    assert requested == []
    assert page.errors == []


def test_comparison_page_opens_offline(baotou_result, page, tmp_path, artifacts):
    from reesim.compare import Compared, comparison_html, comparison_table

    ds = baotou_result.dataset
    other = ds.copy()
    other["price"] = ds.price * 1.2
    runs = [Compared("baotou", ds), Compared("prices +20%", other)]
    path = tmp_path / "compare.html"
    path.write_text(comparison_html(runs, comparison_table(runs)), encoding="utf-8")
    page.route("http*://**", lambda route: route.abort())
    page.goto(path.as_uri())
    page.wait_for_selector("#fig-compare .main-svg")
    assert "+20.0%" in page.inner_text("table")
    page.screenshot(path=artifacts / "compare.png", full_page=False)
    assert page.errors == []
