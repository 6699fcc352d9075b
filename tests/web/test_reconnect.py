"""A dropped stream never freezes the page silently: the server is stopped (the page says
so and keeps trying), a new server process starts on the same address from the same store
with an alert the page has not seen, and the page reconnects and catches up without being
reloaded (sessions are the server's memory: the restarted server asks for a login, in
place, and the map, filters and hooked track stay)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from hotzone.api.app import ApiConfig, create_app
from hotzone.runtime.routing import subject_for
from hotzone.store import SQLiteStore
from hotzone.types import Alert
from tests.api.picture_fixture import START, write_picture_store
from tests.web.conftest import logged_in_page, screenshot


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` (reusable at once after a stop)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", ws="websockets-sansio", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
        listener.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_page_reconnects_after_a_server_restart_and_catches_up_without_reload(
    browser: Browser, pages: list[Page], tmp_path: Path
) -> None:
    store = write_picture_store(tmp_path / "hotzone.sqlite")
    config = ApiConfig(
        store_path=store, scenario="suwalki-drones", runs_directory=tmp_path, home=tmp_path / "h"
    )
    port = _free_port()
    with serving(create_app(config), port) as url:
        page = logged_in_page(browser, url + "/?clutter=hide&hook=T1", "observer", pages)
        expect(page.locator("#details")).to_have_attribute("data-track-id", "T1")
        expect(page.locator("#alerts li")).to_have_count(2)
        # A mark that a reload would lose.
        page.evaluate("window.__notReloaded = true")
        expect(page.locator("#connection-banner")).to_be_hidden()

    # The server is gone: a banner says so, and the page keeps trying.
    banner = page.locator("#connection-banner")
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner).to_have_attribute("data-state", "lost")
    expect(banner).to_contain_text("connection to the server lost")
    screenshot(page, "cop-reconnect.png", {"x": 0, "y": 0, "width": 1400, "height": 120})

    # Meanwhile the run went on: an alert the page has not seen.
    with SQLiteStore(store) as recorded:
        alert = Alert(
            alert_id="A9",
            time=START + timedelta(seconds=30),
            kind="hostile_inbound",
            summary="one-way attack drone T1 inbound to Augustów rail bridge",
            priority=1,
            track_id="T1",
            releasability="REL PL LT",
        )
        recorded.append(subject_for(alert, "PL"), alert)

    with serving(create_app(config), port):
        # The new process does not know the old session: a login, in place.
        expect(banner).to_have_attribute("data-state", "login", timeout=20_000)
        expect(page.locator("#login")).to_be_visible()
        page.fill("#username", "observer")
        page.fill("#password", "observer-test")
        page.click("#login-button")
        expect(banner).to_be_hidden(timeout=20_000)
        expect(page.locator('#alerts [data-alert-id="A9"]')).to_contain_text(
            "PL TN101 inbound to Augustów rail bridge"
        )
        assert page.evaluate("window.__notReloaded") is True
        assert page.evaluate("window.hz.state.reconnects") >= 1
        assert page.evaluate("window.hz.state.connection") == "open"
        # The view survived: the filter and the hooked track.
        assert "clutter=hide" in page.url
        expect(page.locator("#details")).to_have_attribute("data-track-id", "T1")
        # The stream is live again: the server counts this page as a client.
        clients = 0
        deadline = time.monotonic() + 15.0
        while clients < 1 and time.monotonic() < deadline:
            clients = page.evaluate(
                "async () => (await (await fetch('/api/status')).json()).stream_clients"
            )
            time.sleep(0.2)
        assert clients >= 1
