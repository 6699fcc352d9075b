"""Playwright driving Debian's Chromium (never a downloaded browser) against a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hotzone.api.app import ApiConfig, create_app
from tests.api.picture_fixture import write_picture_store
from tests.api.server import running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",
]
# Screenshots kept after the run (git ignores them: artifacts/.gitignore).
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[list[Page]]:
    """Pages opened by a test; their contexts are closed before the server stops."""
    opened: list[Page] = []
    yield opened
    for page in opened:
        page.context.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    store = write_picture_store(tmp_path / "hotzone.sqlite")
    config = ApiConfig(store_path=store, scenario="suwalki-drones", runs_directory=tmp_path)
    with running_server(create_app(config)) as url:
        yield url


def logged_in_page(browser: Browser, url: str, username: str, pages: list[Page]) -> Page:
    """A fresh browser context (its own cookies) logged in as a TEST user."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    pages.append(page)
    page.goto(url + "/")
    page.fill("#username", username)
    page.fill("#password", f"{username}-test")
    page.click("#login-button")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    return page
