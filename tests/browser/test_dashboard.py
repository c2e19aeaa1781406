"""The dashboard in a real browser: loads cleanly, a lever and Run change a chart, bad uploads
show their error in the page."""

from __future__ import annotations

PRICE_Y = """() => {
  const plot = document.querySelector('.js-plotly-plot');
  return plot._fullData.filter(t => t.visible === true).map(t => Array.from(t.y));
}"""
HEADLINE = "Nd oxide, export price in"
STALE = "Levers changed: press Run to update the charts."
"""The dashboard's warning that the charts show an older run than the levers."""
RUNNING = '[data-testid="stStatusWidgetRunningIcon"]'
"""Streamlit's status icon while a script run is in progress."""


def _choose(page, label: str, option: str) -> None:
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_dashboard_runs_and_a_lever_changes_the_chart(page, dashboard_url, artifacts):
    page.goto(dashboard_url)
    page.get_by_text(HEADLINE).wait_for(timeout=90_000)
    page.wait_for_selector(".js-plotly-plot .main-svg")
    before = page.evaluate(PRICE_Y)
    headline = page.get_by_text(HEADLINE).inner_text()
    page.screenshot(path=artifacts / "dashboard.png")
    # the first run goes on after the headline (the tabs, the levers' effect): let it end, so
    # the lever and Run below act on a page at rest, as a user's would
    page.wait_for_selector(RUNNING, state="detached", timeout=180_000)

    _choose(page, "Baotou's market regime", "free_market")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_function(
        f"!document.body.innerText.includes({headline!r})", timeout=90_000)
    page.get_by_text(HEADLINE).wait_for()
    # the chart redraws with the new run's paths (fails on timeout if it never does)
    page.wait_for_function(f"""before => ({PRICE_Y})().some(
        (ys, i) => ys.length !== before[i].length
                   || ys.some((y, j) => Math.abs(y - before[i][j]) > 1e-6 * Math.abs(y)))""",
                           arg=before, timeout=30_000)
    after = page.evaluate(PRICE_Y)
    assert len(after) == len(before) == 2 and len(after[0]) > 30     # Nd in both markets
    assert after != before
    # the stale-levers warning goes once the run that Run started has finished rendering
    # (Streamlit removes the previous run's elements at the end of the script, so an immediate
    # count after the chart redrew could still see it: failed once in a clean clone, 2026-12-07;
    # and the script goes on after the chart, through the levers' effect tab's reference run,
    # which on a loaded 2-core machine outlasted a 60 s wait once: wait for the script to end)
    page.wait_for_selector(RUNNING, state="detached", timeout=180_000)
    # the warning's own words, exactly: "Levers changed" alone also matches the effect tab's
    # hidden "What the levers changed" heading, which a lever set keeps on the page (why this
    # line timed out in some runs, whenever that tab had rendered before the check)
    page.get_by_text(STALE, exact=True).wait_for(state="detached", timeout=30_000)
    page.screenshot(path=artifacts / "dashboard-free-market.png")
    # the Record tab puts the run's 2011 patterns beside the record's
    page.get_by_role("tab", name="Record").click()
    page.get_by_text("Behaviour patterns vs the record").wait_for(timeout=30_000)
    page.get_by_text("The 2011 spike by element vs the record").wait_for(timeout=30_000)
    # the dashboard's runs record annual values: the peaks are monthly, and the page says so
    page.get_by_text("The peaks are monthly").wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=artifacts / "dashboard-record.png")
    # the levers' effect: the free-market run against baotou without the lever
    page.get_by_role("tab", name="Levers' effect").click()
    page.get_by_text("What the levers changed").wait_for(timeout=90_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=artifacts / "dashboard-effect.png")
    assert page.errors == []


def test_invalid_upload_shows_the_error_in_the_page(page, dashboard_url, artifacts, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baotou\nname: too-late\nend_year: 3000\n")
    page.goto(dashboard_url)
    page.get_by_text(HEADLINE).wait_for(timeout=90_000)
    page.get_by_text("upload a YAML file").click()
    page.locator("input[type='file']").set_input_files(str(bad))
    alert = page.locator("[data-testid='stAlert']").filter(has_text="cannot be used")
    alert.wait_for(timeout=30_000)
    text = alert.inner_text()
    assert "end_year" in text and "bad.yaml" in text
    assert "Traceback" not in page.inner_text("body")
    page.screenshot(path=artifacts / "dashboard-bad-upload.png")
    assert page.errors == []

