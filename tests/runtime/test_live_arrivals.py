"""``hotzone ingest ... --track --on-arrival``: the tracker stepped on what has arrived.

Each step (`TrackingWindows.step_arrived`, `MultiTargetTracker.step_arrivals`) takes the
plots that came since the last one and publishes the tracks it updated; every ``books_s``
the books of every track are closed and the tracks ended are published once more, as
deleted. The feed is a radar's sector blocks, each sent when the beam has swept it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from hotzone.bus import InProcessBus
from hotzone.ingest.asterix import AsterixDecoder, SiteTable
from hotzone.runtime.live_tracking import (
    LiveTrackingService,
    LiveTrackingSettings,
    take_plot_datagram,
)
from hotzone.runtime.sources import SourcePublisher
from hotzone.runtime.windows import ReplaySummary, TrackingSettings, tracking_windows
from hotzone.types import Detection, Track, TrackStatus, from_json
from tests.fusion.test_conversion_vectorized import SITES_YAML
from tests.runtime.test_live_plot_tracking import LIVE_TARGETS, _sector_datagrams, run_live_command

ROTATION_S = 4.7
SECTORS = 32
START = 1_750_000_000.3
#: Twelve aircraft on a ring around the radar, flying across it at 150 m/s.
TARGETS = [
    (
        (float(r * np.sin(a)), float(r * np.cos(a))),
        (float(150.0 * np.cos(a)), float(-150.0 * np.sin(a))),
    )
    for r, a in zip(
        np.linspace(20_000.0, 60_000.0, 12), np.linspace(0.1, 2 * np.pi - 0.2, 12), strict=True
    )
]
ARRIVALS = TrackingSettings(window_s=0.05, arrivals=True)


def _feed(rotations: int, gone_after: int | None = None) -> list[tuple[datetime, bytes]]:
    """The radar's sector blocks, each received 2 ms after it was sent; the last aircraft
    is not seen from rotation ``gone_after`` on."""
    datagrams = []
    for rotation in range(rotations):
        targets = TARGETS if gone_after is None or rotation < gone_after else TARGETS[:-1]
        for when, data in _sector_datagrams(START, rotation, targets, ROTATION_S, SECTORS):
            datagrams.append((datetime.fromtimestamp(when + 0.002, tz=UTC), data))
    return datagrams


def _sites() -> SiteTable:
    return SiteTable.from_mapping(yaml.safe_load(SITES_YAML))


async def published_on_arrival(
    datagrams: list[tuple[datetime, bytes]],
    settings: TrackingSettings,
    sites: SiteTable | None = None,
) -> tuple[list[Track], ReplaySummary]:
    """The column path fed datagram by datagram (each received at its time), stepped on
    arrival whenever none waits (as `pump_plot_datagrams` does); the tracks published, in
    order, and the summary. ``sites``: this file's radars unless given."""
    bus = InProcessBus()
    tracks_out = await bus.subscribe("hz.PL.trk.>", 1 << 20)
    publisher = SourcePublisher(bus, "PL")
    decoder = AsterixDecoder(sites or _sites(), framing="datagram")
    tracking = LiveTrackingService(bus, "PL", LiveTrackingSettings(settings, from_bus=False))
    ready = asyncio.Event()
    task = asyncio.create_task(tracking.run(ready))
    await ready.wait()
    for received_at, data in datagrams:
        await take_plot_datagram(publisher, decoder, tracking, data, received_at)
        await tracking.step_arrived()
    tracking.stop()
    await task
    await bus.close()
    published = []
    while (message := await tracks_out.next(timeout_s=0)) is not None:
        track = from_json(message.payload)
        assert isinstance(track, Track)
        published.append(track)
    return published, tracking.summary


def _truth(target: int, moment: float) -> np.ndarray:
    (east, north), (v_east, v_north) = TARGETS[target]
    return np.array([east + v_east * (moment - START), north + v_north * (moment - START)])


def _aircraft_of(track: Track) -> int:
    """The aircraft a track message stands for: the one within 1 km of it (-1: none)."""
    moment = track.time.timestamp()
    where = np.array(track.enu_position_m[:2])
    distances = [float(np.linalg.norm(_truth(k, moment) - where)) for k in range(len(TARGETS))]
    nearest = int(np.argmin(distances))
    return nearest if distances[nearest] < 1_000.0 else -1


def _confirmed_aircraft(published: list[Track]) -> dict[int, int]:
    """Each confirmed track's number and the aircraft its last message stands for."""
    last = {t.track_number: t for t in published if t.status == TrackStatus.CONFIRMED}
    return {number: _aircraft_of(track) for number, track in last.items()}


def test_arrival_steps_confirm_the_same_aircraft_as_held_windows() -> None:
    datagrams = _feed(10)
    held, _ = asyncio.run(published_on_arrival(datagrams, TrackingSettings(hold_s=0.25)))
    arrived, _ = asyncio.run(published_on_arrival(datagrams, ARRIVALS))
    for published in (held, arrived):
        aircraft = _confirmed_aircraft(published)
        # One confirmed track per aircraft, each where its aircraft is.
        assert sorted(aircraft.values()) == list(range(len(TARGETS)))
    # Each step publishes what it updated, not every track: far fewer messages.
    assert len(arrived) < len(held) / 3


def test_an_arrival_step_publishes_the_tracks_it_updated() -> None:
    """Stepped after each datagram, the confirmed tracks a step publishes are exactly
    those whose last update it made (a radar's sector holds a few of the aircraft)."""
    decoder = AsterixDecoder(_sites(), framing="datagram")
    summary = ReplaySummary()
    windows = None
    steps_publishing = 0
    for received_at, data in _feed(8):
        messages = [m for m in decoder.feed(data, received_at).messages if isinstance(m, Detection)]
        if windows is None:
            windows = tracking_windows(ARRIVALS, messages, summary)
        tracker = windows.stage.tracker
        tracks = tracker.tracks
        before = dict(zip(tracks.track_number.tolist(), tracks.last_update_time, strict=True))
        for message in messages:
            assert windows.push(message) == []  # 0.15 s apart: never 0.05 s waiting
        published = windows.step_arrived()
        assert published is not None
        after = tracker.tracks
        updated = {
            number
            for number, confirmed, updated_at in zip(
                after.track_number.tolist(), after.confirmed, after.last_update_time, strict=True
            )
            if confirmed and before.get(number) != updated_at
        }
        assert {track.track_number for track in published} == updated
        assert all(track.status == TrackStatus.CONFIRMED for track in published)
        assert len(published) <= len(messages)
        steps_publishing += bool(published)
    assert windows is not None
    # From the third rotation on, every datagram holds a confirmed aircraft.
    assert steps_publishing >= 5 * len(TARGETS)
    assert windows.step_arrived() is None  # nothing waits


def test_a_track_that_stops_being_seen_is_deleted() -> None:
    """The last aircraft leaves after 6 rotations: its track is published as deleted,
    once, at a closing of the books, and nothing after; no other track ends."""
    published, _ = asyncio.run(published_on_arrival(_feed(14, gone_after=6), ARRIVALS))
    deleted = [t for t in published if t.status == TrackStatus.DELETED]
    assert len(deleted) == 1
    gone = deleted[0]
    aircraft = _confirmed_aircraft([t for t in published if t.status == TrackStatus.CONFIRMED])
    assert aircraft[gone.track_number] == len(TARGETS) - 1
    assert published[-1] is gone or all(
        t.track_number != gone.track_number for t in published[published.index(gone) + 1 :]
    )
    left_at = START + 6 * ROTATION_S
    # Ended after its missed revisits (2.5 to 3.5 rotations) at a closing of the books.
    assert left_at + 2 * ROTATION_S < gone.time.timestamp() < left_at + 5 * ROTATION_S
    assert sorted(set(aircraft.values())) == list(range(len(TARGETS)))


def test_arrival_steps_lose_nothing_and_keep_each_radar_in_sequence() -> None:
    """A sector's plots come up to a sector's sweep after they were measured: stepped at
    window ends they are out of sequence, stepped on arrival none is, and every plot is
    tracked."""
    datagrams = _feed(10)
    plots = len(TARGETS) * 10
    _, at_the_end = asyncio.run(published_on_arrival(datagrams, TrackingSettings()))
    assert at_the_end.out_of_sequence > 0
    _, arrived = asyncio.run(published_on_arrival(datagrams, ARRIVALS))
    assert arrived.messages == plots
    assert arrived.out_of_sequence == 0
    assert arrived.dead_letters == []
    assert arrived.late == 0


def test_the_command_tracks_a_live_feed_on_arrival(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real command with --on-arrival, CAT048 over UDP: every plot tracked, none out of
    sequence, one confirmed track per aircraft."""
    options = ["--on-arrival", "--window", "0.05"]
    codes, output, plots = run_live_command(tmp_path, capsys, options)
    assert codes == [0]
    assert plots == 8 * len(LIVE_TARGETS)
    assert f"{len(LIVE_TARGETS)} confirmed tracks, 0 refused by the tracker" in output
    assert f"{plots} reports tracked, 0 of them out of sequence" in output
