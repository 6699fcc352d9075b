"""The after-action report as a reader sees it: ``report.html`` of a demo run opened in
Chromium from the file (no server: it is self-contained), its plots decoded and its tables
shown. With HOTZONE_DOCS_SCREENSHOTS the run lasts 12 minutes (engagements begin after
about 11), for docs/img/report.png; otherwise 5 minutes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.demo_runs import suwalki_run
from tests.web.conftest import screenshot


def _report_page(browser: Browser, report: Path, pages: list[Page]) -> Page:
    page = browser.new_context(viewport={"width": 1050, "height": 1650}).new_page()
    pages.append(page)
    page.goto(report.as_uri())
    return page


def _run(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The 5-minute run is the session's (tests/conftest.py, read by tests/runtime/test_demo.py
    too); the 12-minute one for the docs is made here."""
    if not os.environ.get("HOTZONE_DOCS_SCREENSHOTS"):
        run: Path = request.getfixturevalue("suwalki_demo_seed3_300s")
        return run
    return suwalki_run(tmp_path, duration_s=720.0)


def test_the_report_opens_in_a_browser_with_its_plots_and_tables(
    browser: Browser, pages: list[Page], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run = _run(request, tmp_path)
    page = _report_page(browser, run / "report.html", pages)
    # Every plot decodes to an image (the map, the timeline, OSPA/GOSPA).
    sizes = page.evaluate("[...document.images].map((i) => [i.naturalWidth, i.naturalHeight])")
    assert len(sizes) == 3 and all(w > 500 and h > 200 for w, h in sizes)
    headings = page.evaluate("[...document.querySelectorAll('h2')].map((h) => h.textContent)")
    assert headings[:3] == ["Figures", "Map", "Timeline"]
    assert "Classification confusion" in headings and "Engagements" in headings
    assert page.locator("#figures li").count() >= 8
    assert page.locator("#confusion tr").count() > 3
    screenshot(page, "report.png", {"x": 0, "y": 0, "width": 1050, "height": 1650})
