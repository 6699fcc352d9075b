"""The COP page in a real browser on a finished run (no live c2): symbols, the decision
queue as c2 left it, roles, enrolling an authenticator, the abort banner. Deciding on a
live run is tests/web/test_decider_e2e.py."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from hotzone.c2.keys import RegistryFile
from hotzone.c2.trust import operators_path
from hotzone.types import OperatorRole
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


# A decision tried through the API behind the page, with the page's own session cookie:
# the API prepares the decision for anyone (who may decide is c2's to judge), but a
# finished run has no c2 to take it.
_TRY_TO_DECIDE = """async (target) => {
    const post = (path, body) => fetch(path, {method: 'POST',
        headers: {'content-type': 'application/json'}, body: JSON.stringify(body)});
    const prepared = await post('/api/decisions/challenge', {target, verdict: 'approve'});
    const {decision} = await prepared.json();
    const decided = await post('/api/decisions', {decision_id: decision.decision_id});
    return {prepared: prepared.status, decided: decided.status,
        detail: (await decided.json()).detail};
}"""


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


def test_cards_show_what_c2_published_one_card_per_track_and_effector(
    browser: Browser, server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, server, "commander", pages)
    cards = page.locator("#proposals .card")
    # P-KINETIC-0 (expired) and P-KINETIC are one pair: one card, the earlier one counted.
    expect(cards).to_have_count(3)
    kinetic = page.locator('[data-proposal-id="P-KINETIC"]')
    expect(kinetic).to_have_attribute("data-group", "T1|sam-suwalki")
    expect(kinetic.locator(".earlier")).to_have_text("+1 earlier")
    expect(kinetic.locator(".missing")).to_have_text("awaiting commander")
    counter = "approvals 1/2, one a commander (operator1)"
    expect(kinetic.locator(".counter")).to_contain_text(counter)
    expect(kinetic.locator(".rationale")).to_contain_text("threat 0.92 towards Suwałki garrison")
    # The countdowns run on the picture's clock: the recorded run ends 1 h before expiry.
    expect(kinetic.locator(".timing")).to_have_text(
        "expires in 60 min 0 s · effect window opens in 40 s"
    )
    roe = page.locator('[data-proposal-id="P-ROE"]')
    expect(roe).to_have_attribute("data-state", "roe_failed")
    expect(roe.locator(".failed-rules")).to_contain_text("no_fire_area")
    expect(roe.locator(".missing")).to_contain_text("rules of engagement fail (no_fire_area)")
    expect(page.locator('[data-proposal-id="P-JAM"] .missing')).to_have_text(
        "awaiting 1 more approval"
    )
    # A finished run: no c2 to decide, so no buttons, and the page says why.
    expect(page.locator("#mode-banner")).to_have_text("EXERCISE · REPLAY · read-only")
    expect(page.locator("#proposals button:not(.jump)")).to_have_count(0)
    expect(kinetic.locator(".read-only")).to_have_text("finished run: no c2 takes decisions")
    expect(page.locator("#abort-button")).to_be_hidden()
    # Hovering a card rings its track on the map.
    kinetic.hover()
    expect(kinetic).to_have_class(re.compile(r"\bhighlighted\b"))
    ring = page.evaluate(_RING_AT_HIGHLIGHT)
    assert ring["track"] == "T1"
    assert ring["ring"] == [255, 212, 0]
    status = page.evaluate(_TRY_TO_DECIDE, "P-KINETIC")
    assert status["prepared"] == 200
    assert status["decided"] == 409 and "no c2 is running" in status["detail"]


# The colour of the track canvas 18 px right of the highlighted track (on its ring).
_RING_AT_HIGHLIGHT = """() => {
    const mark = window.hz.highlighted();
    const canvas = document.getElementById('track-canvas');
    const ratio = canvas.width / canvas.clientWidth;
    const data = canvas.getContext('2d').getImageData(
        Math.round((mark.x + 18) * ratio), Math.round(mark.y * ratio), 1, 1).data;
    return {track: mark.track_id, ring: [data[0], data[1], data[2]]};
}"""


def test_an_observer_sees_no_buttons_and_cannot_decide(
    browser: Browser, server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, server, "observer", pages)
    expect(page.locator('[data-proposal-id="P-KINETIC"]')).to_have_count(1)
    expect(page.locator("#proposals .card")).to_have_count(3)
    for control in ("button.approve", "button.reject", "button.ack"):
        expect(page.locator(control)).to_have_count(0)
    for control in ("#abort-button", "#resume-button", "#authenticator", "#register-button"):
        expect(page.locator(control)).to_be_hidden()
    expect(page.locator(".read-only")).to_have_count(0)
    # Nor through the API behind the page, with the page's own session cookie.
    status = page.evaluate(_TRY_TO_DECIDE, "P-KINETIC")
    assert status["decided"] == 409 and "no c2 is running" in status["detail"]
    acknowledged = page.evaluate(
        "async () => (await fetch('/api/alerts/A1/acknowledge', {method: 'POST'})).status"
    )
    assert acknowledged == 403
    assert _api_get(server, "observer", "/api/orders") == []


def test_an_operator_registers_an_authenticator_through_the_page(
    browser: Browser, server: str, pages: list[Page], tmp_path: Path
) -> None:
    page = logged_in_page(browser, server, "operator2", pages, authenticator=True)
    expect(page.locator("#authenticator")).to_have_attribute("data-enrolled", "false")
    expect(page.locator("#authenticator-status")).to_have_text("no authenticator enrolled")
    page.click("#register-button")
    expect(page.locator("#authenticator")).to_have_attribute("data-enrolled", "true")
    expect(page.locator("#register-button")).to_be_hidden()
    expect(page.locator("#authenticator-status")).to_have_text("authenticator enrolled")
    expect(page.locator("#notice")).to_have_text(
        "authenticator enrolled for operator2 (operator, PL)"
    )
    enrolled = RegistryFile(operators_path(tmp_path / "home")).current()
    [key] = [k for k in enrolled if k.operator_id == "operator2"]
    assert (key.kind, key.role, key.nation, key.simulation) == (
        "webauthn",
        OperatorRole.OPERATOR,
        "PL",
        False,  # a person's own authenticator, never a simulation key
    )
    assert page.evaluate("window.hz.state.credentials.credential_ids") == [key.key_id]


def test_every_page_shows_who_holds_a_global_abort(
    browser: Browser, aborted_server: str, pages: list[Page]
) -> None:
    for username in ("observer", "operator1"):
        page = logged_in_page(browser, aborted_server, username, pages)
        expect(page.locator("#abort-banner")).to_be_visible()
        expect(page.locator("#abort-banner")).to_contain_text("GLOBAL ABORT in force by commander")
        expect(page.locator("#abort-button")).to_be_hidden()
        # Nothing is decidable while the abort holds.
        expect(page.locator("#proposals button:not(.jump)")).to_have_count(0)


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
