"""The COP page in a real browser: symbols, acknowledging, two-person approval, roles."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.picture_fixture import CONFIRMED_VISIBLE_TO_PL
from tests.web.conftest import ARTIFACTS, logged_in_page


def _api_get(url: str, username: str, path: str) -> Any:
    """GET ``path`` as ``username``, outside the browser."""
    with httpx.Client(base_url=url) as client:
        token = client.post(
            "/api/login", json={"username": username, "password": f"{username}-test"}
        ).json()["token"]
        return client.get(path, headers={"authorization": f"Bearer {token}"}).json()


def _wait_for_symbols(page: Page, count: int) -> None:
    page.wait_for_function(f"window.hz.renderedTrackCount() === {count}", timeout=30_000)


def test_page_shows_one_symbol_per_confirmed_track_and_a_screenshot(
    browser: Browser, server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, server, "observer", pages)
    _wait_for_symbols(page, CONFIRMED_VISIBLE_TO_PL)
    expect(page.locator("#tracks li img")).to_have_count(CONFIRMED_VISIBLE_TO_PL)
    # The nation selector shows what Germany may see: only the NATO-releasable airliner.
    page.select_option("#view-as", "DE")
    _wait_for_symbols(page, 1)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "cop.png"
    page.select_option("#view-as", "")
    _wait_for_symbols(page, CONFIRMED_VISIBLE_TO_PL)
    page.screenshot(path=str(shot))
    # Non-blank: the map, symbols and panels give many distinct colours, not one fill.
    distinct = page.evaluate(
        """async (src) => {
            const image = new Image(); image.src = src; await image.decode();
            const canvas = document.createElement('canvas');
            canvas.width = image.width; canvas.height = image.height;
            const context = canvas.getContext('2d'); context.drawImage(image, 0, 0);
            const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
            const colours = new Set();
            for (let i = 0; i < data.length; i += 4 * 97) {
                colours.add(data[i] << 16 | data[i + 1] << 8 | data[i + 2]);
            }
            return colours.size;
        }""",
        "data:image/png;base64," + base64.b64encode(shot.read_bytes()).decode(),
    )
    assert distinct > 20


def test_acknowledging_an_alert_updates_the_api(
    browser: Browser, server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, server, "operator1", pages)
    page.locator('[data-alert-id="A1"] button.ack').click()
    expect(page.locator('[data-alert-id="A1"]')).to_have_class("alert p1 acknowledged")
    alerts = {a["alert_id"]: a for a in _api_get(server, "observer", "/api/alerts")}
    assert alerts["A1"]["state"] == "acknowledged"
    assert alerts["A1"]["acknowledged_by"] == "operator1"
    assert alerts["A2"]["state"] == "open"


def test_two_people_approve_a_kinetic_proposal_in_the_browser(
    browser: Browser, server: str, pages: list[Page]
) -> None:
    card = '[data-proposal-id="P-KINETIC"]'
    first = logged_in_page(browser, server, "operator1", pages)
    first.locator(f"{card} button.approve").click()
    expect(first.locator(card)).to_have_attribute("data-state", "partially_approved")
    expect(first.locator(f"{card} button.approve")).to_have_count(0)  # one vote per person
    second = logged_in_page(browser, server, "commander", pages)
    second.locator(f"{card} button.approve").click()
    expect(second.locator(card)).to_have_attribute("data-state", "approved")
    decisions = _api_get(server, "observer", "/api/decisions")
    assert {d["operator_id"] for d in decisions} == {"operator1", "commander"}
    assert all(d["signature_valid"] and d["signature"] for d in decisions)
    orders = _api_get(server, "observer", "/api/orders")
    assert len(orders) == 1 and orders[0]["effector_id"] == "sam-suwalki"
    audit = _api_get(server, "observer", "/api/audit")
    assert [r["kind"] for r in audit] == ["decision.approve", "decision.approve", "order"]
    assert orders[0]["order_id"] in audit[-1]["payload"]
    assert _api_get(server, "observer", "/api/audit/verify")["intact"] is True


def test_an_observer_cannot_approve(browser: Browser, server: str, pages: list[Page]) -> None:
    page = logged_in_page(browser, server, "observer", pages)
    expect(page.locator('[data-proposal-id="P-KINETIC"]')).to_have_count(1)
    expect(page.locator("button.approve")).to_have_count(0)
    expect(page.locator("button.ack")).to_have_count(0)
    # Nor through the API behind the page, with the page's own session cookie.
    status = page.evaluate(
        """async () => (await fetch('/api/proposals/P-KINETIC/decision', {method: 'POST',
            headers: {'content-type': 'application/json'},
            body: JSON.stringify({verdict: 'approve'})})).status"""
    )
    assert status == 403
    assert _api_get(server, "observer", "/api/decisions") == []


# Whether the track canvas has a drawn (opaque) pixel within 3 px of where MapLibre puts
# the first track's position, and whether a spot 60 px left and below it, clear of every
# track's symbol and label, is transparent (null when another track is there).
_SYMBOL_AT_TRACK = """() => {
    const canvas = document.getElementById('track-canvas');
    const context = canvas.getContext('2d');
    const ratio = canvas.width / canvas.clientWidth;
    const tracks = [...window.hz.state.drawn.values()];
    const at = window.hz.map.project([tracks[0].lon_deg, tracks[0].lat_deg]);
    const alpha = (x, y) => {
        const side = Math.round(6 * ratio);
        const data = context.getImageData(Math.round((x - 3) * ratio), Math.round((y - 3) * ratio),
            side, side).data;
        let most = 0;
        for (let i = 3; i < data.length; i += 4) most = Math.max(most, data[i]);
        return most;
    };
    const spot = {x: at.x - 60, y: at.y + 60};
    const clear = tracks.every((other) => {
        const p = window.hz.map.project([other.lon_deg, other.lat_deg]);
        return !(spot.x > p.x - 30 && spot.x < p.x + 160 && Math.abs(spot.y - p.y) < 35);
    });
    return {x: at.x, y: at.y, on: alpha(at.x, at.y), off: clear ? alpha(spot.x, spot.y) : null};
}"""


def test_symbols_follow_the_map_when_it_pans_and_zooms(
    browser: Browser, server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, server, "observer", pages)
    _wait_for_symbols(page, CONFIRMED_VISIBLE_TO_PL)
    before = page.evaluate(_SYMBOL_AT_TRACK)
    assert before["on"] > 0
    assert before["off"] == 0
    page.evaluate("window.hz.map.panBy([-150, 90], {animate: false})")
    moved = page.evaluate(_SYMBOL_AT_TRACK)
    assert (moved["x"] - before["x"], moved["y"] - before["y"]) == pytest.approx((150, -90), abs=1)
    assert moved["on"] > 0
    assert moved["off"] in (0, None)
    # Zoom in around the track, so it stays in view.
    page.evaluate(
        """() => { const track = [...window.hz.state.drawn.values()][0];
            window.hz.map.zoomTo(window.hz.map.getZoom() + 1.5,
                {animate: false, around: [track.lon_deg, track.lat_deg]}); }"""
    )
    zoomed = page.evaluate(_SYMBOL_AT_TRACK)
    assert (zoomed["x"], zoomed["y"]) == pytest.approx((moved["x"], moved["y"]), abs=1)
    assert zoomed["on"] > 0
    assert zoomed["off"] in (0, None)
