"""What an air-picture operator does with the COP, in Chromium on a recorded run: hooking a
track (symbol, list row, alert, proposal card) and its details panel; velocity leaders,
configurable labels, scale, zoom and north buttons, the cursor's MGRS (against the Python
`mgrs` package), range rings and the bearing/range tool; overlays, filters and the legend,
with the view kept in the URL."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import mgrs
import msgspec
import pytest
from playwright.sync_api import Browser, Page, expect

from hotzone.api.app import ApiConfig, create_app
from hotzone.runtime.routing import subject_for
from hotzone.store import SQLiteStore
from hotzone.types import Alert, AlertState, Assessment, StandardIdentity, TargetClass, Track
from tests.api.picture_fixture import CONFIRMED_VISIBLE_TO_PL, START, picture_messages
from tests.api.server import running_server
from tests.web.conftest import logged_in_page, screenshot

# The fixture's tracks fly east -40 m/s, north 25 m/s: a course of 302 degrees.
COURSE_DEG = math.degrees(math.atan2(-40.0, 25.0)) % 360.0
SPEED_MPS = math.hypot(-40.0, 25.0)
EARTH_RADIUS_M = 6371008.8


def _clutter_messages() -> list[Any]:
    """T5: a confirmed clutter track (the recorded picture's T2, renamed), unknown identity,
    updated when due (quality 1: not coasting, unlike the recorded picture's 0.9)."""
    extra: list[Any] = []
    for message in picture_messages():
        if isinstance(message, Track) and message.track_id == "T2":
            extra.append(
                msgspec.structs.replace(
                    message,
                    track_id="T5",
                    track_number=105,
                    position=msgspec.structs.replace(message.position, lat_deg=53.85),
                    quality=1.0,
                )
            )
        elif isinstance(message, Assessment) and message.track_id == "T2":
            extra.append(
                msgspec.structs.replace(
                    message,
                    track_id="T5",
                    target_class=TargetClass.CLUTTER,
                    standard_identity=StandardIdentity.UNKNOWN,
                    class_probabilities={"clutter": 0.8, "bird_flock": 0.2},
                    threat_score=0.0,
                )
            )
    return extra


@pytest.fixture
def picture_server(tmp_path: Path) -> Iterator[str]:
    """The recorded picture plus a clutter track."""
    store = tmp_path / "hotzone.sqlite"
    with SQLiteStore(store) as recorded:
        recorded.append_many((subject_for(m, "PL"), m) for m in picture_messages())
        recorded.append_many((subject_for(m, "PL"), m) for m in _clutter_messages())
    config = ApiConfig(
        store_path=store, scenario="suwalki-drones", runs_directory=tmp_path, home=tmp_path / "h"
    )
    with running_server(create_app(config)) as url:
        yield url.replace("127.0.0.1", "localhost")


def _screen_of(page: Page, lon: float, lat: float) -> dict[str, float]:
    """Where MapLibre puts (lon, lat), in page coordinates and in map coordinates."""
    return page.evaluate(
        """([lon, lat]) => { const p = window.hz.map.project([lon, lat]);
            const box = document.getElementById('map').getBoundingClientRect();
            return {x: p.x, y: p.y, px: p.x + box.left, py: p.y + box.top}; }""",
        [lon, lat],
    )


def _track(page: Page, track_id: str) -> dict[str, Any]:
    return page.evaluate(f"window.hz.state.tracks.get('{track_id}')")


def _wait_drawn(page: Page, count: int) -> None:
    page.wait_for_function(f"window.hz.renderedTrackCount() === {count}", timeout=30_000)


# ---- coasting ------------------------------------------------------------------------------


def test_a_coasting_track_is_drawn_faded_and_says_so(
    browser: Browser, picture_server: str, pages: list[Page]
) -> None:
    """A track whose expected update is overdue (quality below 1) is drawn faded, one
    updated when due is not; its details say "coasting"."""
    page = logged_in_page(browser, picture_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL + 1)
    coasting = set(page.evaluate("window.hz.coasting()"))
    assert "T1" in coasting and "T2" in coasting  # quality 0.9
    assert "T5" not in coasting  # quality 1
    page.click('#tracks li[data-track-id="T5"]')
    quality = page.locator("#details [data-field=quality]")
    expect(quality).to_have_text(re.compile(r"1\.00 · confirmed$"))


# ---- hooking -------------------------------------------------------------------------------


def test_hooking_by_symbol_row_alert_and_card_opens_the_details_of_that_track(
    browser: Browser, picture_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, picture_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL + 1)
    details = page.locator("#details")
    expect(details).to_be_hidden()

    # A symbol: the airliner T2, clicked where MapLibre projects it.
    t2 = _track(page, "T2")
    at = _screen_of(page, t2["lon_deg"], t2["lat_deg"])
    page.mouse.click(at["px"], at["py"])
    expect(details).to_have_attribute("data-track-id", "T2")
    expect(details.locator(".track-name")).to_have_text("PL TN102")
    expect(details.locator("[data-field=class]")).to_contain_text("airliner")

    # A row of the track list: the helicopter T3.
    page.click('#tracks li[data-track-id="T3"]')
    expect(details).to_have_attribute("data-track-id", "T3")
    expect(page.locator('#tracks li[data-track-id="T3"]')).to_have_class(re.compile(r"\bhooked\b"))

    # An alert: A1 is about T1, the one-way attack drone.
    page.click('#alerts [data-alert-id="A1"]')
    expect(details).to_have_attribute("data-track-id", "T1")
    expect(details.locator(".track-name")).to_have_text("PL TN101")
    expect(details.locator("[data-field=class] b")).to_have_text("one-way attack drone")
    expect(details.locator('.probability[data-class="one_way_attack_drone"]')).to_have_text(
        "one-way attack drone 90%"
    )
    expect(details.locator("[data-field=identity]")).to_contain_text("hostile")
    expect(details.locator("[data-field=threat]")).to_contain_text("0.90")
    expect(details.locator("[data-field=sensors]")).to_contain_text("asr-suwalki")
    expect(details.locator("[data-field=nations]")).to_contain_text("PL")
    expect(details.locator("[data-field=quality]")).to_contain_text("0.90 · confirmed · coasting")
    # Unit variances: a 95 % circle of sqrt(5.991) m.
    expect(details.locator("[data-field=uncertainty]")).to_contain_text("2 × 2 m (95 %)")
    expect(details.locator("[data-field=identifiers]")).to_contain_text("non-cooperative")
    # Five positions recorded: five altitudes, four speeds between them.
    altitude = details.locator('polyline[data-field="altitude_m"]')
    assert len(altitude.get_attribute("points").split()) == 5  # type: ignore[union-attr]
    speed = details.locator('polyline[data-field="speed_mps"]')
    assert len(speed.get_attribute("points").split()) == 4  # type: ignore[union-attr]
    # Its alert and every proposal about it.
    expect(details.locator('.linked [data-alert-id="A1"]')).to_contain_text("PL TN101")
    for proposal in ("P-KINETIC", "P-JAM"):
        expect(details.locator(f'.linked [data-proposal-id="{proposal}"]')).to_have_count(1)

    # Hooked, marked on the map (cyan brackets) and kept in the URL.
    mark = page.evaluate("window.hz.hooked()")
    assert mark["track_id"] == "T1"
    corner = page.evaluate(
        """([x, y]) => { const canvas = document.getElementById('track-canvas');
            const ratio = canvas.width / canvas.clientWidth;
            const d = canvas.getContext('2d').getImageData(Math.round(x * ratio),
                Math.round(y * ratio), 1, 1).data; return [d[0], d[1], d[2]]; }""",
        [mark["x"] - 17, mark["y"] + 14],
    )
    assert corner == [0, 229, 255]
    assert "hook=T1" in page.url

    # Followed: panned away, the map brings it back into view.
    page.evaluate("window.hz.map.panBy([500, 300], {animate: false})")
    page.wait_for_function(
        """() => { const t = window.hz.state.tracks.get('T1');
            const p = window.hz.map.project([t.lon_deg, t.lat_deg]);
            const c = window.hz.map.getCanvas();
            return p.x > 0.15 * c.clientWidth && p.x < 0.85 * c.clientWidth
                && p.y > 0.15 * c.clientHeight && p.y < 0.85 * c.clientHeight; }""",
        timeout=10_000,
    )
    screenshot(page, "cop-hook.png")

    # Unhooked with Escape; then a proposal card hooks its track.
    page.keyboard.press("Escape")
    expect(details).to_be_hidden()
    page.click('[data-proposal-id="P-JAM"] .target')
    expect(details).to_have_attribute("data-track-id", "T1")

    # One naming scheme and no enum names anywhere on the page.
    text = page.locator("body").inner_text()
    assert "one_way_attack_drone" not in text
    assert "T1 inbound" not in text
    expect(page.locator('#alerts [data-alert-id="A1"]')).to_contain_text(
        "one-way attack drone PL TN101 inbound"
    )
    expect(page.locator('[data-proposal-id="P-JAM"] .card-head')).to_contain_text("PL TN101")


# ---- leaders, labels, instruments ----------------------------------------------------------


def test_velocity_leaders_point_along_the_velocity_and_scale_with_their_length(
    browser: Browser, picture_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, picture_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL + 1)
    t1 = _track(page, "T1")
    # Close in on T1 so a 60 s leader (2.8 km) is well longer than its symbol.
    page.evaluate(f"window.hz.map.jumpTo({{center: [{t1['lon_deg']}, {t1['lat_deg']}], zoom: 12}})")
    page.wait_for_function("window.hz.leader('T1') !== null")
    x0, y0, x1, y1 = page.evaluate("window.hz.leader('T1')")
    # North-up screen: y grows southwards.
    bearing = math.degrees(math.atan2(x1 - x0, -(y1 - y0))) % 360.0
    assert bearing == pytest.approx(COURSE_DEG, abs=1.0)
    # Its end: where the track is in 60 s on the sphere (independent of the page's maths).
    lat, lon = math.radians(t1["lat_deg"]), t1["lon_deg"]
    north, east = 25.0 * 60, -40.0 * 60
    end_lat = t1["lat_deg"] + math.degrees(north / EARTH_RADIUS_M)
    end_lon = lon + math.degrees(east / (EARTH_RADIUS_M * math.cos(lat)))
    end = _screen_of(page, end_lon, end_lat)
    assert (x1, y1) == pytest.approx((end["x"], end["y"]), abs=2.0)
    # Drawn in the hostile colour half-way along.
    middle = page.evaluate(
        """([x, y]) => { const canvas = document.getElementById('track-canvas');
            const ratio = canvas.width / canvas.clientWidth;
            const d = canvas.getContext('2d').getImageData(Math.round(x * ratio) - 1,
                Math.round(y * ratio) - 1, 3, 3).data;
            let best = 0; for (let i = 3; i < d.length; i += 4) best = Math.max(best, d[i]);
            return best; }""",
        [(x0 + x1) / 2, (y0 + y1) / 2],
    )
    assert middle > 100
    # Twice as long when the display panel says 120 s; kept in the URL.
    page.click("#display-button")
    page.fill('input[name="leader"]', "120")
    page.press('input[name="leader"]', "Enter")
    page.wait_for_function(
        f"(() => {{ const l = window.hz.leader('T1'); return l && Math.abs(l[2] - {x0}) > "
        f"1.8 * Math.abs({x1 - x0}); }})()"
    )
    longer = page.evaluate("window.hz.leader('T1')")
    assert math.hypot(longer[2] - longer[0], longer[3] - longer[1]) == pytest.approx(
        2 * math.hypot(x1 - x0, y1 - y0), rel=0.02
    )
    assert "leader=120" in page.url

    # Labels: flight level, knots and heading on choice.
    assert page.evaluate("window.hz.label('T1')") == [
        "PL TN101",
        "one-way attack drone",
        "170 km/h 300 m 302°",
    ]
    page.select_option('select[name="altitude-unit"]', "FL")
    page.select_option('select[name="speed-unit"]', "kt")
    page.uncheck('input[name="label-class"]')
    knots = round(SPEED_MPS * 3600 / 1852 / 5) * 5
    assert page.evaluate("window.hz.label('T1')") == ["PL TN101", f"{knots} kt FL010 302°"]
    assert "alt=FL" in page.url and "speed=kt" in page.url
    page.uncheck('input[name="label-heading"]')
    page.select_option('select[name="altitude-unit"]', "ft")
    assert page.evaluate("window.hz.label('T1')") == ["PL TN101", f"{knots} kt 1000 ft"]


def test_scale_zoom_north_and_the_cursor_in_mgrs(
    browser: Browser, picture_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, picture_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL + 1)
    expect(page.locator(".maplibregl-ctrl-scale")).to_have_text(re.compile(r"^\d+\s(km|m)$"))
    zoom = page.evaluate("window.hz.map.getZoom()")
    page.click(".maplibregl-ctrl-zoom-in")
    page.wait_for_function(f"Math.abs(window.hz.map.getZoom() - {zoom + 1}) < 0.01")
    page.click(".maplibregl-ctrl-zoom-out")
    page.wait_for_function(f"Math.abs(window.hz.map.getZoom() - {zoom}) < 0.01")
    page.evaluate("window.hz.map.setBearing(30)")
    page.click(".maplibregl-ctrl-compass")
    page.wait_for_function("Math.abs(window.hz.map.getBearing()) < 0.01")

    box = page.locator("#map").bounding_box()
    assert box is not None
    reference = mgrs.MGRS()
    for fx, fy in ((0.3, 0.4), (0.5, 0.5), (0.72, 0.63)):
        x, y = round(box["x"] + fx * box["width"]), round(box["y"] + fy * box["height"])
        page.mouse.move(x, y)
        shown = page.locator("#cursor")
        expect(shown).to_have_attribute("data-mgrs", re.compile(r"^\d{1,2}[A-Z]{3}\d{10}$"))
        lat = float(shown.get_attribute("data-lat"))  # type: ignore[arg-type]
        lon = float(shown.get_attribute("data-lon"))  # type: ignore[arg-type]
        # The position under the cursor, as MapLibre says.
        under = page.evaluate(
            f"(() => {{ const p = window.hz.map.unproject([{x - box['x']}, {y - box['y']}]);"
            " return [p.lng, p.lat]; })()"
        )
        assert (lon, lat) == pytest.approx(under, abs=1e-6)
        page_mgrs = shown.get_attribute("data-mgrs") or ""
        python_mgrs = reference.toMGRS(lat, lon, MGRSPrecision=5)
        python_mgrs = python_mgrs.decode() if isinstance(python_mgrs, bytes) else python_mgrs
        # Same zone and 100 km square; easting and northing to the metre.
        assert page_mgrs[:5] == python_mgrs[:5]
        assert abs(int(page_mgrs[5:10]) - int(python_mgrs[5:10])) <= 1
        assert abs(int(page_mgrs[10:]) - int(python_mgrs[10:])) <= 1
        spaced = f"{page_mgrs[:3]} {page_mgrs[3:5]} {page_mgrs[5:10]} {page_mgrs[10:]}"
        expect(shown).to_contain_text(f"MGRS {spaced}")
        expect(shown).to_contain_text(f"{lat:.5f}°N {lon:.5f}°E")


def _spherical(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Initial bearing (degrees) and great-circle range (m) from a to b, (lon, lat)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    cosine = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(
        lon2 - lon1
    )
    return math.degrees(math.atan2(y, x)) % 360.0, EARTH_RADIUS_M * math.acos(min(1.0, cosine))


def test_range_rings_and_the_bearing_range_tool(
    browser: Browser, picture_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, picture_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL + 1)
    box = page.locator("#map").bounding_box()
    assert box is not None

    def at(fx: float, fy: float) -> tuple[int, int]:
        """A whole page pixel (a mouse event's coordinates are whole)."""
        return round(box["x"] + fx * box["width"]), round(box["y"] + fy * box["height"])

    def lng_lat(fx: float, fy: float) -> tuple[float, float]:
        x, y = at(fx, fy)
        point = page.evaluate(
            f"(() => {{ const p = window.hz.map.unproject([{x - box['x']}, {y - box['y']}]);"
            " return [p.lng, p.lat]; })()"
        )
        return point[0], point[1]

    # Range rings every 10 km around a clicked centre: the canvas is drawn 20 km east of it.
    page.click("#rings-button")
    page.mouse.click(*at(0.4, 0.55))
    centre = page.evaluate("window.hz.tools.ringCentre")
    assert tuple(centre) == pytest.approx(lng_lat(0.4, 0.55), abs=1e-6)
    lat = math.radians(centre[1])
    east_lon = centre[0] + math.degrees(math.atan2(
        math.sin(20_000 / EARTH_RADIUS_M) * math.cos(lat),
        math.cos(20_000 / EARTH_RADIUS_M) - math.sin(lat) ** 2,
    ))  # fmt: skip
    east_lat = math.degrees(math.asin(math.sin(lat) * math.cos(20_000 / EARTH_RADIUS_M)))
    ring = _screen_of(page, east_lon, east_lat)
    alpha = page.evaluate(
        """([x, y]) => { const canvas = document.getElementById('tool-canvas');
            const ratio = canvas.width / canvas.clientWidth;
            const d = canvas.getContext('2d').getImageData(Math.round(x * ratio) - 2,
                Math.round(y * ratio) - 4, 5, 9).data;
            let best = 0; for (let i = 3; i < d.length; i += 4) best = Math.max(best, d[i]);
            return best; }""",
        [ring["x"], ring["y"]],
    )
    assert alpha > 0

    # Bearing and range between two clicked points, as the sphere says.
    page.click("#measure-button")
    page.mouse.click(*at(0.3, 0.7))
    page.mouse.click(*at(0.65, 0.35))
    readout = page.locator("#measure-readout")
    expect(readout).to_have_attribute("data-range", re.compile(r"^\d"))
    bearing, distance = _spherical(lng_lat(0.3, 0.7), lng_lat(0.65, 0.35))
    assert float(readout.get_attribute("data-bearing") or 0) == pytest.approx(bearing, abs=0.01)
    assert float(readout.get_attribute("data-range") or 0) == pytest.approx(distance, abs=1.0)
    expect(readout).to_contain_text(f"bearing {bearing:05.1f}°")
    expect(readout).to_contain_text(f"range {distance / 1000:.2f} km · {distance / 1852:.2f} NM")
    screenshot(page, "cop-tools.png", {"x": 0, "y": 36, "width": 980, "height": 560})


# ---- layers, filters, legend, URL ----------------------------------------------------------


def _drawn_ids(page: Page) -> list[str]:
    return sorted(page.evaluate("[...window.hz.state.drawn.keys()]"))


def test_filters_overlays_and_the_legend_with_the_view_in_the_url(
    browser: Browser, picture_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, picture_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL + 1)
    assert _drawn_ids(page) == ["T1", "T2", "T3", "T5"]
    page.click("#layers-button")
    # Five identity frames and eight kinds of site (sensors, effectors, assets).
    expect(page.locator("#layer-panel .legend img")).to_have_count(13)

    page.check('input[name="hide-clutter"]')
    page.wait_for_function("!window.hz.state.drawn.has('T5')")
    assert _drawn_ids(page) == ["T1", "T2", "T3"]
    assert "clutter=hide" in page.url
    expect(page.locator('#tracks li[data-track-id="T5"]')).to_have_count(0)

    page.uncheck('input[name="identity-hostile"]')
    page.wait_for_function("!window.hz.state.drawn.has('T1')")
    assert _drawn_ids(page) == ["T2", "T3"]
    page.check('input[name="identity-hostile"]')
    page.select_option('select[name="threat"]', "0.5")
    page.wait_for_function("window.hz.state.drawn.size === 1")
    assert _drawn_ids(page) == ["T1"]
    page.select_option('select[name="threat"]', "0")
    page.uncheck('input[name="domain-air"]')
    page.wait_for_function("window.hz.state.drawn.size === 0")
    page.check('input[name="domain-air"]')
    page.click("#layer-panel .class-filter summary")
    page.uncheck('input[name="class-helicopter"]')
    page.wait_for_function("window.hz.state.drawn.size === 2")
    assert _drawn_ids(page) == ["T1", "T2"]

    # Overlays: MapLibre layers and the page's own drawing.
    page.uncheck('input[name="layer-sensors"]')
    page.wait_for_function("!window.hz.sites().some((s) => s.layer === 'sensors')")
    page.uncheck('input[name="layer-coverage"]')
    assert page.evaluate("window.hz.map.getLayoutProperty('coverage', 'visibility')") == "none"
    page.uncheck('input[name="layer-leaders"]')
    page.wait_for_function("window.hz.leader('T1') === null")
    assert re.search(r"hide=sensors(%2C|,)coverage(%2C|,)leaders", page.url)
    screenshot(page, "cop-layers.png", {"x": 0, "y": 36, "width": 760, "height": 620})

    # The URL opens the same view in another browser: filters, overlays, hook.
    shared = page.url
    other = logged_in_page(browser, shared, "observer", pages)
    _wait_drawn(other, 2)
    assert _drawn_ids(other) == ["T1", "T2"]
    other.wait_for_function("window.hz.sites().some((s) => s.layer === 'effectors')")
    assert not any(s["layer"] == "sensors" for s in other.evaluate("window.hz.sites()"))
    assert other.evaluate("window.hz.map.getLayoutProperty('coverage', 'visibility')") == "none"
    other.click("#layers-button")
    expect(other.locator('input[name="hide-clutter"]')).to_be_checked()
    expect(other.locator('input[name="class-helicopter"]')).not_to_be_checked()
    expect(other.locator('input[name="layer-leaders"]')).not_to_be_checked()


# ---- replay --------------------------------------------------------------------------------


def _replay_messages() -> list[Any]:
    """The recorded picture, but T1 was an unknown (pending) track until its fourth scan,
    and alert A0 was raised at +6 s and acknowledged at +14 s."""
    messages: list[Any] = []
    for message in picture_messages():
        early_t1 = (
            isinstance(message, Assessment)
            and message.track_id == "T1"
            and message.time < START + timedelta(seconds=12)
        )
        messages.append(
            msgspec.structs.replace(
                message,
                target_class=TargetClass.UNKNOWN,
                standard_identity=StandardIdentity.PENDING,
                class_probabilities={"unknown": 0.6, "small_uav": 0.4},
            )
            if early_t1
            else message
        )
    raised = Alert(
        alert_id="A0",
        time=START + timedelta(seconds=6),
        kind="unidentified",
        summary="unidentified track T1 near the border",
        priority=2,
        track_id="T1",
        releasability="REL PL LT",
    )
    acknowledged = msgspec.structs.replace(
        raised,
        time=START + timedelta(seconds=14),
        state=AlertState.ACKNOWLEDGED,
        acknowledged_by="operator1",
        acknowledged_at=START + timedelta(seconds=14),
    )
    return [*messages, raised, acknowledged]


@pytest.fixture
def replay_server(tmp_path: Path) -> Iterator[str]:
    store = tmp_path / "hotzone.sqlite"
    with SQLiteStore(store) as recorded:
        recorded.append_many((subject_for(m, "PL"), m) for m in _replay_messages())
    config = ApiConfig(
        store_path=store, scenario="suwalki-drones", runs_directory=tmp_path, home=tmp_path / "h"
    )
    with running_server(create_app(config)) as url:
        yield url.replace("127.0.0.1", "localhost")


def test_replay_at_a_time_shows_the_classes_alerts_proposals_and_clock_of_that_time(
    browser: Browser, replay_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, replay_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL)
    alerts = page.locator("#alerts li")
    expect(alerts).to_have_count(3)
    expect(page.locator('#alerts [data-alert-id="A0"]')).to_contain_text(
        "acknowledged by operator1"
    )
    expect(page.locator("#proposals .card")).to_have_count(2)
    assert page.evaluate("window.hz.label('T1')")[1] == "one-way attack drone"

    # The run spans +0 s to +16 s: half-way is +8 s.
    page.locator("#time-slider").fill("500")
    expect(page.locator("#clock")).to_have_text("2025-03-14 02:00:08Z (replay)")
    expect(page.locator("#slider-time")).to_have_text("02:00:08Z")
    # Only A0 was raised by then, and not yet acknowledged; no proposal yet.
    expect(alerts).to_have_count(1)
    expect(page.locator('#alerts [data-alert-id="A0"]')).to_contain_text(
        "unidentified track PL TN101 near the border"
    )
    expect(page.locator('#alerts [data-alert-id="A0"]')).not_to_contain_text("acknowledged")
    expect(page.locator("#proposals .card")).to_have_count(0)
    # T1 as it was then: unknown, pending, drawn where it was at +8 s, with its trail.
    page.wait_for_function("window.hz.state.drawn.get('T1')?.target_class === 'unknown'")
    then = page.evaluate("window.hz.state.drawn.get('T1')")
    assert (then["standard_identity"], then["lat_deg"]) == ("pending", pytest.approx(53.964))
    assert len(then["trail"]) == 3
    expect(page.locator('#tracks li[data-track-id="T1"]')).to_contain_text("unknown")

    # Playing at 16x reaches the end (live) on its own, through later times.
    page.select_option("#replay-speed", "16")
    page.click("#play-button")
    page.wait_for_function("document.body.dataset.replay > '2025-03-14T02:00:09'", timeout=10_000)
    page.wait_for_function("document.body.dataset.replay === ''", timeout=20_000)
    expect(page.locator("#slider-time")).to_have_text("live")
    expect(alerts).to_have_count(3)
    expect(page.locator("#proposals .card")).to_have_count(2)
    page.wait_for_function(
        "window.hz.state.drawn.get('T1')?.target_class === 'one_way_attack_drone'"
    )
