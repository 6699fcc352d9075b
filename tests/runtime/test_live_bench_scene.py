"""The scene of ``bench/ingest_udp.py --track`` (4 radars, aircraft within 150 km),
tracked by ``ingest --track`` stepped on arrival and in held windows: one confirmed
track per aircraft, where the aircraft is.

The live mode once confirmed 4,958 track numbers for the bench's 4,357 aircraft (held
windows 3,954): the scene's radars disagreed. Its plots were placed in one flat frame,
where every radar's north is the centre's (0.7 degrees off 60 km east or west of it, 2 km
at 150 km), and took the azimuth of an aircraft at the start of a rotation with the range
at its detection (up to 1 km apart): each radar's plots of an aircraft made tracks of
their own, in both modes. Measured from each radar's own site and north, the radars agree
within their noise.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import numpy as np
import yaml
from bench.ingest_udp import (
    SCENE_CENTRE,
    SCENE_SEED,
    make_scene,
    scene_aircraft,
    sensors_yaml,
    stamp,
)

from hotzone.geo.frames import LocalFrame, geodetic_to_ecef
from hotzone.ingest.asterix import SiteTable
from hotzone.runtime.windows import TrackingSettings
from hotzone.types import Track, TrackStatus
from tests.runtime.test_live_arrivals import published_on_arrival

RATE = 100.0
SECONDS = 12.0
RADARS = 4
START = 1_750_000_000.0


def _published(settings: TrackingSettings) -> list[Track]:
    """The bench's datagrams fed to the live column path, each received 2 ms after it was
    sent, stepped on arrival whenever none waits (as `pump_plot_datagrams` does)."""
    datagrams = [
        (datetime.fromtimestamp(START + when + 0.002, tz=UTC), data)
        for when, _, data in stamp(make_scene(RATE, SECONDS, RADARS, 100), START)
    ]
    sites = SiteTable.from_mapping(yaml.safe_load(sensors_yaml(RADARS)))
    published, _ = asyncio.run(published_on_arrival(datagrams, settings, sites))
    return published


def _aircraft_of(tracks: list[Track]) -> list[int]:
    """The aircraft each track stands for: the one within 1 km of it (-1: none)."""
    scene = scene_aircraft(RATE, RADARS, np.random.default_rng(SCENE_SEED))
    frame = LocalFrame(*SCENE_CENTRE)
    found = []
    for track in tracks:
        moment = np.full(len(scene.start), track.time.timestamp() - START)
        truth = frame.ecef_to_enu(scene.ecef(moment))[:, :2]
        point = track.position
        ecef = np.array(geodetic_to_ecef(point.lat_deg, point.lon_deg, point.height_m))
        where = frame.ecef_to_enu(ecef)[:2]
        distances = np.linalg.norm(truth - where, axis=1)
        nearest = int(np.argmin(distances))
        found.append(nearest if distances[nearest] < 1_000.0 else -1)
    return found


def test_each_aircraft_of_the_bench_is_confirmed_once_in_both_modes() -> None:
    aircraft = len(scene_aircraft(RATE, RADARS, np.random.default_rng(SCENE_SEED)).start)
    for settings in (
        TrackingSettings(window_s=0.05, arrivals=True),
        TrackingSettings(hold_s=0.25),
    ):
        published = _published(settings)
        last = {t.track_number: t for t in published if t.status == TrackStatus.CONFIRMED}
        # Every aircraft is seen by every radar: one confirmed track each, no more.
        assert len(last) == aircraft
        assert sorted(_aircraft_of(list(last.values()))) == list(range(aircraft))
