"""The right column as an operator uses it, in Chromium: the decision queue pinned at the
top and sorted by urgency with live countdowns; the alerts grouped by track, collapsible,
acknowledged a group at a time through the API; a new P1 alert cued (and beeped unless
muted); "jump to track" from every alert, group and card; and a layout that holds at
1366x768 and on a 3840x2160 wall display.

The server serves a recorded run and takes new messages while it runs through its real path
(`ApiState.keep`: the store, the picture, the stream), fed from the test's thread."""

from __future__ import annotations

import asyncio
import json
import queue
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from playwright.sync_api import Browser, Page, expect

from hotzone.api.app import ApiConfig, create_app
from hotzone.runtime.routing import subject_for
from hotzone.store import SQLiteStore
from hotzone.types import Alert, AnyMessage, Proposal
from hotzone.types.signing import proposal_content_hash
from tests.api.picture_fixture import START, picture_messages
from tests.api.server import running_server
from tests.web.conftest import logged_in_page, screenshot

#: The recorded picture's last scan: its clock.
LAST = START + timedelta(seconds=16)


def _variant(proposal: Proposal, proposal_id: str, **changes: object) -> Proposal:
    changed = msgspec.structs.replace(proposal, proposal_id=proposal_id, content_hash="", **changes)
    return msgspec.structs.replace(changed, content_hash=proposal_content_hash(changed))


def _extra_messages() -> list[AnyMessage]:
    """Beside P-KINETIC and P-JAM (about T1, threat 0.9, expiring in 1 h): P-SOON about T3
    expiring in 20 min, P-T2 about the airliner T2 (threat 0.1) expiring with T1's; A3, a
    second alert about T1, and A4 about T2."""
    kinetic = next(
        m for m in picture_messages() if isinstance(m, Proposal) and m.proposal_id == "P-KINETIC"
    )
    return [
        _variant(
            kinetic,
            "P-SOON",
            track_id="T3",
            effector_id="ew-sejny",
            expires_at=LAST + timedelta(minutes=20),
            releasability="NATO",
        ),
        _variant(
            kinetic, "P-T2", track_id="T2", effector_id="shorad-suwalki", releasability="NATO"
        ),
        Alert(
            alert_id="A3",
            time=LAST,
            kind="time_to_asset",
            summary="T1 reaches Suwałki garrison in 4 min",
            priority=2,
            track_id="T1",
            releasability="REL PL LT",
        ),
        Alert(
            alert_id="A4",
            time=LAST,
            kind="corridor_deviation",
            summary="T2 left air corridor",
            priority=2,
            track_id="T2",
            releasability="NATO",
        ),
    ]


class Feed:
    """Messages the test hands to the running server, which takes them on its event loop."""

    def __init__(self) -> None:
        self.waiting: queue.SimpleQueue[AnyMessage] = queue.SimpleQueue()
        self.app: Any = None

    async def run(self) -> None:
        while True:
            try:
                message = self.waiting.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.05)
                continue
            self.app.state.hotzone.keep(message)


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
def server(tmp_path: Path, feed: Feed) -> Iterator[str]:
    store = tmp_path / "hotzone.sqlite"
    with SQLiteStore(store) as recorded:
        recorded.append_many(
            (subject_for(m, "PL"), m) for m in [*picture_messages(), *_extra_messages()]
        )
    config = ApiConfig(
        store_path=store, scenario="suwalki-drones", runs_directory=tmp_path, home=tmp_path / "h"
    )
    feed.app = create_app(config, background=feed.run)
    with running_server(feed.app) as url:
        yield url.replace("127.0.0.1", "localhost")


def _api_get(url: str, username: str, path: str) -> Any:
    login = urllib.request.Request(
        url + "/api/login",
        data=json.dumps({"username": username, "password": f"{username}-test"}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(login) as response:
        token = json.load(response)["token"]
    request = urllib.request.Request(url + path, headers={"authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def _new_alert(alert_id: str, seconds: int, track_id: str, priority: int = 1) -> Alert:
    return Alert(
        alert_id=alert_id,
        time=LAST + timedelta(seconds=seconds),
        kind="hostile_inbound",
        summary=f"{track_id} inbound",
        priority=priority,
        track_id=track_id,
        releasability="NATO",
    )


def _ids(page: Page, selector: str, attribute: str) -> list[str]:
    return page.eval_on_selector_all(
        selector, f"nodes => nodes.map(n => n.getAttribute('{attribute}'))"
    )


def _map_centre_near(page: Page, track_id: str) -> None:
    """The map's centre is on the track (after its ease)."""
    page.wait_for_function(
        """(id) => { const t = window.hz.state.tracks.get(id), c = window.hz.map.getCenter();
            return !window.hz.map.isMoving() && Math.abs(c.lng - t.lon_deg) < 1e-3
              && Math.abs(c.lat - t.lat_deg) < 1e-3; }""",
        arg=track_id,
        timeout=10_000,
    )


def test_the_decision_queue_is_pinned_sorted_by_urgency_with_live_countdowns(
    browser: Browser, server: str, feed: Feed, pages: list[Page]
) -> None:
    page = logged_in_page(browser, server, "operator1", pages)
    cards = page.locator("#proposals .card")
    expect(cards).to_have_count(4)
    order = _ids(page, "#proposals .card", "data-proposal-id")
    # Soonest expiry first; the same expiry: the hostile drone (0.9) before the airliner (0.1).
    assert order[0] == "P-SOON", order
    assert set(order[1:3]) == {"P-KINETIC", "P-JAM"}, order
    assert order[3] == "P-T2", order
    soon = page.locator('[data-proposal-id="P-SOON"] .timing')
    expect(soon).to_contain_text("expires in 20 min 0 s")

    # The picture's clock moves on (a message 75 s later): the countdowns follow it.
    feed.waiting.put(_new_alert("A8", 75, "T3", priority=3))
    expect(soon).to_contain_text("expires in 18 min 45 s")
    expect(page.locator('[data-proposal-id="P-T2"] .timing')).to_contain_text(
        "expires in 58 min 45 s"
    )

    # Pinned: the lists below scroll, the queue stays at the top of the column.
    aside = page.locator("aside").bounding_box()
    page.evaluate("document.getElementById('lists').scrollTop = 1e6")
    queue_box = page.locator("#queue").bounding_box()
    assert aside is not None and queue_box is not None
    assert abs(queue_box["y"] - aside["y"]) < 1, (queue_box, aside)
    assert queue_box["height"] > 100

    # Jump to track from a queue entry: the track hooked, the map centred on it.
    page.click('[data-proposal-id="P-T2"] button.jump')
    expect(page.locator("#details")).to_have_attribute("data-track-id", "T2")
    _map_centre_near(page, "T2")


def test_alerts_are_grouped_by_track_collapsible_acknowledged_per_group_and_a_new_p1_is_cued(
    browser: Browser, server: str, feed: Feed, pages: list[Page]
) -> None:
    page = logged_in_page(browser, server, "operator1", pages)
    groups = page.locator("#alerts .alert-group")
    expect(groups).to_have_count(3)
    # The P1 drone's group first, then the airliner's (P2), then the cyber alert (no track).
    assert _ids(page, "#alerts .alert-group", "data-group") == [
        "track:T1",
        "track:T2",
        "kind:cyber",
    ]
    t1 = page.locator('[data-group="track:T1"]')
    assert _ids(page, '[data-group="track:T1"] li', "data-alert-id") == ["A1", "A3"]
    expect(t1.locator(".group-title")).to_have_text("PL TN101")
    expect(t1.locator(".group-count")).to_have_text("2 open · 2")
    expect(page.locator('[data-group="kind:cyber"] .group-title')).to_have_text("cyber")

    # Collapsed by the operator, and still collapsed after the list is redrawn.
    a1 = page.locator('[data-alert-id="A1"]')
    t1.locator(".group-title").click()
    expect(a1).to_be_hidden()
    feed.waiting.put(_new_alert("A5", 5, "T2", priority=2))
    expect(page.locator('[data-alert-id="A5"]')).to_be_visible()
    expect(a1).to_be_hidden()
    t1.locator(".group-title").click()
    expect(a1).to_be_visible()

    # Acknowledge all: every open alert of the group, through POST .../acknowledge.
    t1.locator("button.ack-all").click()
    expect(a1).to_have_class("alert p1 acknowledged")
    expect(page.locator('[data-alert-id="A3"]')).to_have_class("alert p2 acknowledged")
    expect(t1.locator("button.ack-all")).to_have_count(0)
    alerts = {a["alert_id"]: a for a in _api_get(server, "observer", "/api/alerts")}
    assert (alerts["A1"]["state"], alerts["A1"]["acknowledged_by"]) == ("acknowledged", "operator1")
    assert (alerts["A3"]["state"], alerts["A3"]["acknowledged_by"]) == ("acknowledged", "operator1")
    assert alerts["A4"]["state"] == "open"
    assert alerts["A2"]["state"] == "open"
    # Settled groups go below the open ones.
    assert _ids(page, "#alerts .alert-group", "data-group")[-1] == "track:T1"

    # Jump to track from an alert and from a group.
    page.click('[data-alert-id="A4"] button.jump')
    expect(page.locator("#details")).to_have_attribute("data-track-id", "T2")
    _map_centre_near(page, "T2")
    page.click('[data-group="track:T1"] summary button.jump')
    expect(page.locator("#details")).to_have_attribute("data-track-id", "T1")

    # A new P1: its group and the heading pulse; no sound in an automated browser until the
    # operator turns it on; then a beep; muted again, none. A new P2 is not cued.
    sound = page.locator("#sound-button")
    expect(sound).to_have_attribute("data-sound", "off")
    sound.click()
    expect(sound).to_have_attribute("data-sound", "on")
    feed.waiting.put(_new_alert("A6", 10, "T3"))
    expect(page.locator('[data-group="track:T3"]')).to_have_class(
        "alert-group p1 cue", timeout=10_000
    )
    expect(page.locator("#alerts-heading")).to_have_class("cue")
    page.wait_for_function("window.hz.cues().length === 1")
    assert page.evaluate("window.hz.cues()") == [{"alert_id": "A6", "sound": True}]
    sound.click()
    feed.waiting.put(_new_alert("A7", 11, "T2", priority=2))
    feed.waiting.put(_new_alert("A9", 12, "T2"))
    expect(page.locator('[data-alert-id="A9"]')).to_be_visible()
    page.wait_for_function("window.hz.cues().length === 2")
    assert page.evaluate("window.hz.cues()")[1] == {"alert_id": "A9", "sound": False}
    expect(page.locator('[data-group="track:T2"]')).to_have_class("alert-group p1 cue")
    column = page.locator("aside").bounding_box()
    assert column is not None
    screenshot(page, "cop-alerts.png", clip=column)
    # The cue ends after its 10 s, without a redraw of the list.
    expect(page.locator('[data-group="track:T3"]')).to_have_class("alert-group p1", timeout=20_000)


def test_an_observer_gets_no_acknowledge_buttons(
    browser: Browser, server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, server, "observer", pages)
    expect(page.locator("#alerts .alert-group")).to_have_count(3)
    expect(page.locator("#alerts button.ack, #alerts button.ack-all")).to_have_count(0)
    expect(page.locator("#alerts li button.jump")).to_have_count(3)


_BOXES = """() => Object.fromEntries(['map', 'queue', 'alerts-panel', 'details'].map((id) => {
    const r = document.getElementById(id).getBoundingClientRect();
    return [id, {x: r.x, y: r.y, width: r.width, height: r.height}]; }))"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"] - 0.5
        and b["x"] < a["x"] + a["width"] - 0.5
        and a["y"] < b["y"] + b["height"] - 0.5
        and b["y"] < a["y"] + a["height"] - 0.5
    )


@pytest.mark.parametrize(
    ("width", "height", "name"), [(1366, 768, "cop-1366.png"), (3840, 2160, "cop-4k.png")]
)
def test_the_layout_holds_on_a_laptop_and_a_4k_wall(
    browser: Browser, server: str, pages: list[Page], width: int, height: int, name: str
) -> None:
    # A 4K frame of the software-rendered map takes seconds on a small machine.
    page = logged_in_page(
        browser, server, "operator1", pages, viewport=(width, height), timeout_ms=180_000
    )
    slow = 120_000 if width > 2000 else 10_000
    started = time.monotonic()
    page.evaluate("window.hz.hook('T1')")
    expect(page.locator("#details")).to_have_attribute("data-track-id", "T1", timeout=slow)
    expect(page.locator("#details .track-name")).to_have_text("PL TN101")
    page.wait_for_function("!window.hz.map.isMoving()", timeout=slow)
    print(f"{width}x{height}: hooked and centred in {time.monotonic() - started:.1f} s")
    boxes = page.evaluate(_BOXES)
    print(width, height, boxes)
    for key, box in boxes.items():
        # Visible: a real area, inside the window.
        assert box["width"] > 150 and box["height"] > 100, (key, box)
        assert box["x"] >= 0 and box["y"] >= 0, (key, box)
        assert box["x"] + box["width"] <= width + 0.5, (key, box)
        assert box["y"] < height - 100, (key, box)
    keys = list(boxes)
    for i, first in enumerate(keys):
        for second in keys[i + 1 :]:
            assert not _overlap(boxes[first], boxes[second]), (first, second, boxes)
    # The alerts start on screen, below the whole decision queue.
    first_alert = page.locator('#alerts [data-alert-id="A1"]').bounding_box()
    assert first_alert is not None and first_alert["y"] + first_alert["height"] <= height
    # No horizontal scrollbar: neither the page nor its columns are wider than shown.
    overflow = page.evaluate(
        """() => ['documentElement', 'body']
            .map((k) => document[k].scrollWidth - document[k].clientWidth)
            .concat(['queue', 'lists', 'details'].map((id) => {
              const e = document.getElementById(id); return e.scrollWidth - e.clientWidth; }))"""
    )
    assert all(excess <= 0 for excess in overflow), overflow
    sizes = page.evaluate(
        """() => ['#alerts li', '#proposals .card-head', '#details .track-name', 'header']
            .map((s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize))"""
    )
    print(name, "font sizes (alert, card head, details name, header):", sizes)
    if width >= 3840:
        # Read from across the room: twice the laptop's 13 px base.
        assert sizes[0] >= 24 and sizes[3] >= 24, sizes
    else:
        assert 12 <= sizes[0] <= 14 and sizes[3] == 13, sizes
    screenshot(page, name)
