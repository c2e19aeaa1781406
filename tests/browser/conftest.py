"""Browser fixtures: Debian's chromium driven by Playwright, and a running dashboard.

Playwright's own browser download is not used; the system binary is. Without it (or without
playwright) the browser tests are skipped, unless ``REESIM_REQUIRE_BROWSER=1`` (set by
``.ci/run``), which turns the skip into a failure. Screenshots go to ``REESIM_ARTIFACTS``
(default ``results/test-artifacts``).
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("REESIM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 90


def _unavailable(reason: str) -> None:
    if os.environ.get("REESIM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots (kept after the run as test artifacts)."""
    folder = Path(os.environ.get("REESIM_ARTIFACTS", "results/test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    """A headless chromium (the system binary) for the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors and uncaught exceptions in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda msg: pg.errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    yield pg
    context.close()


@pytest.fixture(scope="session")
def dashboard_url(browser, artifacts):
    """Start ``reesim dashboard``'s Streamlit server on a free port; stop it afterwards."""
    try:
        import streamlit  # noqa: F401
    except ImportError:
        _unavailable("streamlit is not installed")
    from reesim.cli_visual import dashboard_command

    cmd = dashboard_command()
    port = cmd[cmd.index("--server.port") + 1]
    url = f"http://127.0.0.1:{port}/"
    log = (artifacts / "dashboard.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the dashboard did not start; see dashboard.log in the artifacts")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
