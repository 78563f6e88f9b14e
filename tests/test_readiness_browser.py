"""The HTML readiness report of ``fixtures/`` in a real browser: Playwright driving Debian's
Chromium (/usr/bin/chromium; never a downloaded browser). The page must render its chart with a
size, show its totals, log no console error and make no network request (every request but the
page itself is refused and recorded). Missing Chromium or Playwright: a skip on a developer
machine, a failure under CI (``CI`` set)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, require_tool

CHROMIUM = os.environ.get("IMDS_IAC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.mark.slow  # about 5 s: a browser start and a scan of fixtures/
def test_the_fixtures_report_renders_offline_in_chromium(tmp_path: Path, cli) -> None:
    require_tool(importlib.util.find_spec("playwright") is not None, "playwright (pip)")
    require_tool(os.path.exists(CHROMIUM), f"chromium ({CHROMIUM})")
    page_file = tmp_path / "readiness.html"
    run = cli("report", "--format", "html", "-o", str(page_file), str(FIXTURES), cwd=tmp_path)
    assert run.code == 0, run.err

    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    console: list[str] = []
    url = page_file.as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))

            def route(r) -> None:  # type: ignore[no-untyped-def]
                if r.request.url == url:
                    r.continue_()
                else:
                    requests.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(url, wait_until="load")
            chart = page.locator("svg#chart")
            box = chart.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            # The bars themselves have a size (a broken SVG would lay out empty).
            bars = page.locator("svg#chart rect")
            assert bars.count() > 20
            first = bars.first.bounding_box()
            assert first is not None and first["width"] > 0 and first["height"] > 0
            verdict = page.locator("#verdict")
            assert verdict.is_visible()
            assert "targets already require IMDSv2" in verdict.inner_text()
            totals = page.locator("#totals")
            assert totals.is_visible() and "targets" in totals.inner_text()
            assert page.locator("#runtime pre").count() >= 3
            assert page.title() == "IMDSv2 migration readiness"
        finally:
            browser.close()
    assert requests == []
    assert [c for c in console if c.startswith(("error", "pageerror"))] == []
