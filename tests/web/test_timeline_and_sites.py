"""The replay's timeline of events, and the sites on the map, in Chromium on a recorded run:
a marker per event (from /api/events), a click replays the picture at that event's time
(the alerts and classes of then); sensors, effectors and defended assets drawn with the
APP-6 symbol of their kind and their names; sensor coverage at a chosen altitude against
the simulated radar's own coverage test (the hole a minimum range and a maximum elevation
leave); the ellipse layer drawing every track's 95 % ellipse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from hotzone.api.app import ApiConfig, create_app
from hotzone.c2.config import c2_config_path, load_c2_spec
from hotzone.geo.frames import LocalFrame
from hotzone.geo.geodesic import destination_point
from hotzone.runtime.routing import subject_for
from hotzone.sim.scenario import load_scenario, shipped_scenario_path
from hotzone.sim.sensors.common import above_radio_horizon, geometry_from_enu
from hotzone.sim.sensors.config import AirSurveillanceRadarConfig
from hotzone.sim.sensors.radar import coverage_mask
from hotzone.store import SQLiteStore
from hotzone.types import Event, EventKind
from tests.api.picture_fixture import CONFIRMED_VISIBLE_TO_PL, START
from tests.api.server import running_server
from tests.web.conftest import logged_in_page, screenshot
from tests.web.test_operator_picture import _replay_messages, _wait_drawn

# The symbol each kind of site must be drawn with (docs/cop.md, "Symbols of sites").
RADAR, EO_IR, RF_DF = "10031500002203000000", "10031000001512002200", "10031000001505020000"
EXPECTED_SENSOR_SIDCS = {
    "air_surveillance_radar": RADAR,
    "ground_surveillance_radar": RADAR,
    "eo_ir_camera": EO_IR,
    "passive_rf_detector": RF_DF,
    "acoustic_array": "10031500002202000000",
    "unattended_ground_sensor": "10031500002202000000",
    "adsb_receiver": "10031500002201000000",
    "cyber_sensor": "10031500002005000000",
}
EXPECTED_EFFECTOR_SIDCS = {
    "ew_jammer": "10031000001505040000",
    "interceptor_drone": "10031000001301000000",
    "shorad": "10031500001111010000",
    "mrad": "10031500001111000000",
    "camera": EO_IR,
    "radar": RADAR,
    "quick_reaction_team": "10031000001211000000",
    "ugv": "10031000001219000000",
}


def _events() -> list[Any]:
    """GNSS jamming found at +10 s and a cyber alert at +12 s (T1 is reclassified at +12)."""
    return [
        Event(
            event_id="jam-1",
            time=START + timedelta(seconds=10),
            source_id="assess",
            kind=EventKind.JAMMING,
            severity=5,
            summary="GNSS jamming near Sejny",
            releasability="REL PL LT",
        ),
        Event(
            event_id="cyber-1",
            time=START + timedelta(seconds=12),
            source_id="cyber-soc",
            kind=EventKind.CYBER_ALERT,
            severity=6,
            summary="scan of the radar's maintenance port",
            releasability="REL PL LT",
        ),
    ]


@pytest.fixture
def replay_server(tmp_path: Path) -> Iterator[str]:
    store = tmp_path / "hotzone.sqlite"
    with SQLiteStore(store) as recorded:
        messages = [*_replay_messages(), *_events()]
        recorded.append_many((subject_for(m, "PL"), m) for m in messages)
    config = ApiConfig(
        store_path=store, scenario="suwalki-drones", runs_directory=tmp_path, home=tmp_path / "h"
    )
    with running_server(create_app(config)) as url:
        yield url.replace("127.0.0.1", "localhost")


def _iso(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _marker(page: Page, event_id: str) -> Any:
    return page.locator(f'#timeline .timeline-marker[data-id="{event_id}"]')


def test_the_timeline_marks_the_events_and_a_click_replays_their_time(
    browser: Browser, replay_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, replay_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL)
    timeline = page.locator("#timeline")
    expect(timeline).to_be_hidden()  # live: no timeline

    page.locator("#time-slider").fill("500")
    expect(timeline).to_be_visible()
    expect(_marker(page, "A0")).to_have_count(1)
    served = page.evaluate(
        "fetch('/api/events', {headers: {authorization: `Bearer ${window.hz.state.token}`}})"
        ".then((r) => r.json())"
    )
    drawn = page.evaluate("window.hz.timeline()")
    assert sorted((m["id"], m["kind"]) for m in drawn) == sorted(
        (e["id"], e["kind"]) for e in served
    )
    kinds = {m["id"]: m["kind"] for m in drawn}
    assert kinds["A0"] == "alert" and kinds["P-KINETIC"] == "proposal"
    assert (kinds["jam-1"], kinds["cyber-1"]) == ("jamming", "cyber")

    alerts = page.locator("#alerts li")
    # The alert A0 raised at +6 s: the picture then, T1 still unknown, A0 open, no proposal.
    _marker(page, "A0").click()
    page.wait_for_function(f"document.body.dataset.replay === '{_iso(6)}'")
    expect(page.locator("#clock")).to_have_text("2025-03-14 02:00:06Z (replay)")
    expect(alerts).to_have_count(1)
    expect(page.locator('#alerts [data-alert-id="A0"]')).not_to_contain_text("acknowledged")
    page.wait_for_function("window.hz.state.drawn.get('T1')?.target_class === 'unknown'")
    expect(page.locator("#proposals .card")).to_have_count(0)

    # The cyber alert at +12 s: T1 had become a one-way attack drone by then.
    _marker(page, "cyber-1").click()
    page.wait_for_function(f"document.body.dataset.replay === '{_iso(12)}'")
    page.wait_for_function(
        "window.hz.state.drawn.get('T1')?.target_class === 'one_way_attack_drone'"
    )
    expect(page.locator('#tracks li[data-track-id="T1"]')).to_contain_text("one-way attack drone")
    expect(alerts).to_have_count(1)  # A1 and A2 come at +16 s
    # The timeline's cursor stands at the replayed time, between the two markers.
    cursor = page.locator("#timeline .timeline-cursor").bounding_box()
    jam = _marker(page, "jam-1").bounding_box()
    assert cursor is not None and jam is not None
    assert cursor["x"] > jam["x"]
    screenshot(page, "cop-timeline.png")


def _suwalki_sites() -> tuple[dict[str, str], dict[str, str]]:
    scenario = load_scenario(shipped_scenario_path("suwalki-drones"))
    sensors = {s.id: str(type(s).__struct_config__.tag) for s in scenario.sensors}
    path = c2_config_path(scenario)
    assert path is not None
    effectors = {e.id: str(e.kind) for e in load_c2_spec(path).effectors}
    return sensors, effectors


def test_sensors_effectors_and_assets_are_drawn_with_the_symbol_of_their_kind(
    browser: Browser, replay_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, replay_server, "observer", pages)
    page.wait_for_function("window.hz.sites().length > 10")
    drawn = {(s["layer"], s["id"]): s for s in page.evaluate("window.hz.sites()")}
    sensors, effectors = _suwalki_sites()
    for sensor_id, model in sensors.items():
        site = drawn[("sensors", sensor_id)]
        assert site["sidc"] == EXPECTED_SENSOR_SIDCS[model], (sensor_id, model)
        assert site["name"] == sensor_id
    for effector_id, kind in effectors.items():
        assert drawn[("effectors", effector_id)]["sidc"] == EXPECTED_EFFECTOR_SIDCS[kind]
    assets = [s for s in drawn.values() if s["layer"] == "assets"]
    assert assets and all(s["sidc"][4:6] == "20" for s in assets)  # land installations
    # Every code is one milsymbol knows, drawn with a friend frame, where MapLibre puts it.
    codes = sorted({s["sidc"] for s in drawn.values()})
    assert page.evaluate("(codes) => codes.every((c) => new ms.Symbol(c).isValid())", codes)
    assert all(code[3] == "3" for code in codes)
    radar = drawn[("sensors", "asr-suwalki")]
    where = page.evaluate("window.hz.map.project([22.88, 54.07])")
    assert (radar["x"], radar["y"]) == (
        pytest.approx(where["x"], abs=0.5),
        pytest.approx(where["y"], abs=0.5),
    )
    # Sensors off: their symbols go, the effectors' stay.
    page.click("#layers-button")
    page.uncheck('input[name="layer-sensors"]')
    page.wait_for_function("!window.hz.sites().some((s) => s.layer === 'sensors')")
    assert any(s["layer"] == "effectors" for s in page.evaluate("window.hz.sites()"))


def _radar_covers(
    config: AirSurveillanceRadarConfig, altitude: float, ranges: list[float]
) -> list[bool]:
    """The simulated radar's own test (`hotzone.sim.sensors.radar`) at points ``ranges``
    metres due east of it over the ground, at ``altitude``."""
    frame = LocalFrame(config.lat_deg, config.lon_deg, config.height_m)
    points = destination_point(config.lat_deg, config.lon_deg, 90.0, np.array(ranges))
    heights = np.full(len(ranges), altitude)
    enu = frame.geodetic_to_enu(points.lat_deg, points.lon_deg, heights).reshape(-1, 3)
    geometry = geometry_from_enu(enu, np.zeros_like(enu))
    inside = coverage_mask(
        geometry,
        config.min_range_m,
        config.max_range_m,
        config.min_elevation_deg,
        config.max_elevation_deg,
        config.azimuth_center_deg,
        config.azimuth_width_deg,
    ) & above_radio_horizon(
        config.height_m, heights, geometry.ground_range_m, config.refraction_k_factor
    )
    return [bool(v) for v in inside]


def test_sensor_coverage_at_the_chosen_altitude_has_the_hole_the_radar_model_has(
    browser: Browser, replay_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, replay_server, "observer", pages)
    page.wait_for_function("window.hz.coverage().bands.length > 0")
    page.click("#display-button")
    page.fill('input[name="coverage-altitude"]', "1500")
    page.locator('input[name="coverage-altitude"]').dispatch_event("change")
    page.wait_for_function("window.hz.coverage().altitude_m === 1500")
    assert "covalt=1500" in page.url
    bands = {b["id"]: b for b in page.evaluate("window.hz.coverage().bands")}
    scenario = load_scenario(shipped_scenario_path("suwalki-drones"))
    gap_filler = next(s for s in scenario.sensors if s.id == "gapfiller-sejny")
    assert isinstance(gap_filler, AirSurveillanceRadarConfig) and gap_filler.min_range_m > 0
    band = bands["gapfiller-sejny"]
    inner, outer = band["inner_m"], band["outer_m"]
    assert 0 < inner < outer
    print(f"gap filler at 1500 m: covered from {inner:.0f} m to {outer:.0f} m")
    # Just inside and just outside each edge, as the simulated radar decides.
    assert _radar_covers(
        gap_filler, 1500.0, [inner * 0.97, inner * 1.03, outer * 0.99, outer * 1.01]
    ) == [False, True, True, False]
    # On the map: a polygon with a hole (an annulus) for it.
    rings = page.evaluate(
        """() => window.hz.map.getSource('coverage').serialize().data.features
             .find((f) => f.properties.id === 'gapfiller-sejny').geometry.coordinates.length"""
    )
    assert rings == 2
    # Higher up, the hole over the radar widens (its maximum elevation).
    page.fill('input[name="coverage-altitude"]', "5000")
    page.locator('input[name="coverage-altitude"]').dispatch_event("change")
    page.wait_for_function("window.hz.coverage().altitude_m === 5000")
    higher = {b["id"]: b for b in page.evaluate("window.hz.coverage().bands")}
    assert higher["gapfiller-sejny"]["inner_m"] > inner * 2


def test_the_ellipse_layer_draws_every_tracks_ellipse(
    browser: Browser, replay_server: str, pages: list[Page]
) -> None:
    page = logged_in_page(browser, replay_server, "observer", pages)
    _wait_drawn(page, CONFIRMED_VISIBLE_TO_PL)
    assert page.evaluate("window.hz.ellipses()") == []  # off unless asked for
    page.click("#layers-button")
    page.check('input[name="layer-ellipses"]')
    page.wait_for_function(f"window.hz.ellipses().length === {CONFIRMED_VISIBLE_TO_PL}")
    assert "show=ellipses" in page.url
    for drawn in page.evaluate("window.hz.ellipses()"):
        track = page.evaluate(f"window.hz.state.drawn.get('{drawn['track_id']}')")
        # Pixels per metre east at the track's latitude, as MapLibre draws the map.
        pixels_per_metre = page.evaluate(
            """(lat) => { const a = window.hz.map.project([23.0, lat]);
                 const b = window.hz.map.project([23.01, lat]);
                 const metres = 0.01 * Math.PI / 180 * 6378137 * Math.cos(lat * Math.PI / 180);
                 return (b.x - a.x) / metres; }""",
            track["lat_deg"],
        )
        expected = max(1.0, track["ellipse"]["semi_major_m"] * pixels_per_metre)
        assert drawn["rx"] == pytest.approx(expected, rel=0.02)
