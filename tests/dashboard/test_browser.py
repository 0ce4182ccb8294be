"""The dashboard in a real browser: ``greenai dashboard`` serves a seeded ledger and
Debian's Chromium (driven by Playwright) visits every page, waits for the charts, checks
that Streamlit shows no exception, and saves a screenshot of each page under
artifacts/screenshots/.

Chromium must be /usr/bin/chromium (``make sysdeps`` installs it); Playwright's own
browser download is never used. Without Chromium the test fails when ``CI`` is set and
is skipped otherwise.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import REPO
from tests.dashboard.seed import EVIL_NAME, Seeded

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Page url path -> charts it must draw with the seeded ledger (charts in hidden tabs draw none).
PAGES = {"": 2, "compare": 3, "run_detail": 1, "data_quality": 1}
FORMATTED = re.compile(r"-?\d{1,3}(,\d{3})*(\.\d{1,2})?( [µmkMGT]?(J|Wh|g|t)(CO2e)?(/token)?)?")
"""A KPI as people read it: three significant digits or a whole count, thousands
separated, with the unit that fits (``33.8 Wh``, ``769 mJ/token``, ``18,000``)."""

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (make sysdeps installs Debian's chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser test must run")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the dashboard exited ({server.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the dashboard never became healthy:\n{log.read_text()}")


@pytest.fixture
def server(seeded: Seeded, ledger_url: str, tmp_path: Path) -> Iterator[str]:
    """``greenai dashboard --headless`` on a free loopback port; yields its base URL."""
    port = _free_port()
    log = tmp_path / "dashboard.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "greenai.cli.main", "dashboard", "--db", ledger_url,
               "--port", str(port), "--headless"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the session this test started
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _settle(page: Any, charts: int) -> None:
    """Waits until the script has finished and ``charts`` charts are drawn."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
    page.wait_for_function(
        """n => document.querySelectorAll('[data-testid="stVegaLiteChart"] canvas, '
                + '[data-testid="stVegaLiteChart"] svg.marks').length >= n""",
        arg=charts,
        timeout=60_000,
    )
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=60_000
    )
    page.wait_for_timeout(1500)  # canvas-drawn tables paint after the script finished


def _check(page: Any, name: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _browser(playwright: Any, tmp_path: Path) -> Any:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 2200},  # the main area scrolls inside the page
    )


def _build_report(page: Any, today: date) -> None:
    page.get_by_text("Period", exact=True).first.wait_for()
    page.locator('[data-testid="stSelectbox"]').last.click()
    page.get_by_role("option", name="Other…").click()
    field = page.locator('[data-testid="stTextInput"] input')
    field.wait_for(timeout=60_000)
    field.fill(f"{today - timedelta(days=60):%Y-%m-%d}..{today:%Y-%m-%d}")
    field.press("Enter")
    page.get_by_role("button", name="Build report").click()
    page.wait_for_function(
        """() => document.querySelector('iframe[src^="data:text/html"]')
                 || document.querySelector('[data-testid="stAlert"]')""",
        timeout=120_000,
    )
    alerts = page.locator('[data-testid="stAlert"]')
    assert alerts.count() == 0, alerts.first.inner_text()
    pdf = page.get_by_role("button", name="report.pdf")
    pdf.wait_for(timeout=60_000)  # download buttons can arrive after the preview
    assert pdf.count() == 1


def test_every_page_renders_in_chromium(server: str, seeded: Seeded, tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as playwright:
        context = _browser(playwright, tmp_path)
        page = context.new_page()
        page.on("dialog", on_dialog)
        for path, charts in PAGES.items():
            query = f"?run={seeded.first('baseline')}" if path == "run_detail" else ""
            page.goto(f"{server}/{path}{query}")
            _settle(page, charts)
            _check(page, path or "overview")
        page.goto(f"{server}/")
        _settle(page, PAGES[""])
        figures = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert len(figures) >= 6
        for shown in figures:  # formatted for people: a unit that fits, no raw floats
            assert FORMATTED.fullmatch(shown.strip()), shown
        page.goto(f"{server}/compare")
        _settle(page, 3)
        page.get_by_role("tab", name="Prefill and decode").click()  # a lazy tab
        page.get_by_text("Energy per token in the window (J/token)").wait_for(timeout=60_000)
        _settle(page, 3)
        _check(page, "compare_prefill_decode")
        page.goto(f"{server}/run_detail?run={seeded.first('int8')}")
        _settle(page, 0)
        assert page.get_by_text(EVIL_NAME, exact=True).count() == 1  # shown as text
        assert page.locator("b", has_text="run").count() == 0  # never as HTML
        _check(page, "run_detail_untrusted_name")
        page.goto(f"{server}/reports")
        _settle(page, 0)
        _build_report(page, seeded.today.date())
        _settle(page, 0)
        _check(page, "reports")
        context.close()
    assert dialogs == []  # no script from a run name or tag ever ran


def test_missing_chromium_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        _require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="is missing"):
        _require_chromium()
