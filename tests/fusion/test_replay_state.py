"""An out-of-sequence replay is the run that had the late scan in time: besides the tracks,
everything a window changes (the revisit model's clocks and learnt intervals, the bearings
waiting to cross, the known identities, the track numbers, the identity conflicts) ends
as it would have, so that no interval is learnt twice and no bearing crosses twice."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotzone.fusion.imm import IMMPredictor, IMMUpdater
from hotzone.fusion.measurement import PositionMeasurement
from hotzone.fusion.revisit import RevisitMemory
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.track_manager import IdentityConflict
from hotzone.fusion.tracker import MultiTargetTracker

from .synthetic import bearing_scan, position_scan, straight_lines

WINDOWS = 30
LAG_S = 3.0
DF_SITES = {"df-west": np.array([-20_000.0, 0.0, 0.0]), "df-east": np.array([20_000.0, 0.0, 0.0])}


@dataclass
class Arrival:
    """A scan and the window it reaches the tracker in."""

    window: int
    scan: SensorScan


def _transponder(
    sensor_id: str, truth: np.ndarray, time: float, identities: list[str], rng: np.random.Generator
) -> SensorScan:
    count = len(truth)
    return SensorScan(
        sensor_id=sensor_id,
        model=PositionMeasurement(3),
        values=truth + 20.0 * rng.standard_normal(truth.shape),
        noise=np.broadcast_to(np.diag([30.0**2, 30.0**2, 50.0**2]), (count, 3, 3)).copy(),
        times=np.full(count, time),
        sensor_position=np.zeros(3),
        icao24=np.array(identities, dtype=object),
    )


def _scenario(seed: int) -> list[Arrival]:
    """A radar on four aircraft (two with transponders, one spoofed far away from window
    12 on: an identity conflict) and two direction finders on a silent fifth object; each
    sensor's scans at its own offset in the window, all in time."""
    rng = np.random.default_rng(seed)
    truth = straight_lines(5, WINDOWS, rng, area_m=30_000.0)
    arrivals: list[Arrival] = []
    for k in range(WINDOWS):
        positions = truth.positions[k]
        radar = position_scan(
            positions[:4], k - 0.2, rng, sigma_m=40.0, detection_probability=0.8, clutter=2
        )
        arrivals.append(Arrival(k, radar))
        if k % 2 == 0:
            arrivals.append(
                Arrival(k, _transponder("adsb", positions[:2], k - 0.6, ["4ca001", "48ae02"], rng))
            )
        if k >= 12:
            spoofed = positions[:1] + np.array([[60_000.0, 0.0, 0.0]])
            arrivals.append(Arrival(k, _transponder("adsb-2", spoofed, k - 0.4, ["4ca001"], rng)))
        for offset, (name, site) in zip((0.8, 0.7), DF_SITES.items(), strict=True):
            arrivals.append(
                Arrival(k, bearing_scan(positions[4:], k - offset, site, rng, sensor_id=name))
            )
    return arrivals


def _delayed(arrivals: list[Arrival], delays: dict[tuple[str, int], int]) -> list[Arrival]:
    """The same scans, those named by (sensor, window) arriving that many windows late."""
    return [
        Arrival(item.window + delays.get((item.scan.sensor_id, item.window), 0), item.scan)
        for item in arrivals
    ]


@dataclass
class Outcome:
    tracker: MultiTargetTracker
    conflicts: list[IdentityConflict]
    memories: list[RevisitMemory]
    """The revisit model after each window."""


def _run(arrivals: list[Arrival], windows: int = WINDOWS) -> Outcome:
    tracker = MultiTargetTracker(predictor=IMMPredictor(), updater=IMMUpdater(), lag_s=LAG_S)
    conflicts: list[IdentityConflict] = []
    memories = []
    for k in range(windows):
        tracker.step(float(k), [item.scan for item in arrivals if item.window == k])
        conflicts.extend(tracker.take_identity_conflicts())
        memories.append(tracker.revisit.remember())
    return Outcome(tracker, conflicts, memories)


def _assert_same_state(delayed: Outcome, in_time: Outcome) -> None:
    late, reference = delayed.tracker, in_time.tracker
    # Every sensor reported in the first window: the sensor columns are the same.
    assert late.sensors == reference.sensors
    assert late.tracks.track_number.tolist() == reference.tracks.track_number.tolist()
    assert late.tracks.confirmed.tolist() == reference.tracks.confirmed.tolist()
    np.testing.assert_array_equal(late.tracks.state, reference.tracks.state)
    np.testing.assert_array_equal(late.tracks.covariance, reference.tracks.covariance)
    np.testing.assert_array_equal(late.tracks.sensor_seen, reference.tracks.sensor_seen)
    np.testing.assert_array_equal(late.tracks.revisit_s, reference.tracks.revisit_s)
    np.testing.assert_array_equal(late.tracks.looks, reference.tracks.looks)
    assert late.next_track_number == reference.next_track_number
    assert late.revisit.remember() == reference.revisit.remember()
    assert late.triangulator is not None and reference.triangulator is not None
    pending = [(b.sensor_id, b.time, b.azimuth) for b in late.triangulator.pending]
    assert pending == [(b.sensor_id, b.time, b.azimuth) for b in reference.triangulator.pending]
    assert late.manager._known_identities == reference.manager._known_identities
    assert [(c.identity, c.track_numbers) for c in delayed.conflicts] == [
        (c.identity, c.track_numbers) for c in in_time.conflicts
    ]


def test_late_scans_of_every_kind_end_in_the_state_of_the_run_that_had_them_in_time() -> None:
    arrivals = _scenario(seed=5)
    in_time = _run(arrivals)
    delays = {
        ("radar", 5): 1,
        ("adsb", 8): 2,
        ("df-east", 10): 1,
        ("radar", 14): 2,
        ("adsb-2", 16): 1,
        ("df-west", 21): 2,
        ("adsb", 24): 1,
    }
    delayed = _run(_delayed(arrivals, delays))
    assert delayed.tracker.reprocessed_count == len(delays)
    assert delayed.tracker.late_count == 0
    # The scenario does what it is for: an identity conflict, tracks from bearings.
    assert [c.identity for c in in_time.conflicts] == ["icao:4ca001"]
    assert in_time.tracker.tracks.confirmed.sum() >= 5
    _assert_same_state(delayed, in_time)
    # Once the last late scan is in, every window ends as in time.
    assert delayed.memories[-4:] == in_time.memories[-4:]


def test_a_replayed_window_teaches_each_interval_once() -> None:
    """The radar's scan of window 6 comes in window 7: the replay of windows 6 and 7
    learns their intervals once; before the fix every replayed update taught its
    interval again (the radar's typical revisit learnt from duplicates)."""
    arrivals = _scenario(seed=6)
    in_time = _run(arrivals, windows=10)
    delayed = _run(_delayed(arrivals, {("radar", 6): 1}), windows=10)
    column = in_time.tracker.sensors["radar"]
    assert len(delayed.memories[-1].sensor_intervals[column]) == len(
        in_time.memories[-1].sensor_intervals[column]
    )
    assert delayed.memories[-1] == in_time.memories[-1]


def test_a_replayed_bearing_scan_does_not_cross_twice() -> None:
    """Window 1: one direction finder's bearing waits; window 2: the other's crosses it
    and starts a track. A radar plot of window 2 coming in window 3 replays window 2: its
    bearing crosses the waiting one again, as in time (the crossed bearings were used
    up; without the bearings restored the track was lost and the replayed bearing waited
    to cross a second time, with window 3's bearing: a track in the wrong place)."""
    rng = np.random.default_rng(3)
    target = np.array([[0.0, 15_000.0, 500.0]])
    elsewhere = np.array([[-25_000.0, 30_000.0, 2000.0]])
    west, east = DF_SITES["df-west"], DF_SITES["df-east"]
    arrivals = [
        Arrival(0, position_scan(elsewhere, -0.5, rng, sensor_id="radar")),
        Arrival(1, bearing_scan(target, 0.6, west, rng, sensor_id="df-west")),
        Arrival(1, position_scan(elsewhere, 0.5, rng, sensor_id="radar")),
        Arrival(2, bearing_scan(target, 1.7, east, rng, sensor_id="df-east")),
        Arrival(2, position_scan(elsewhere, 1.5, rng, sensor_id="radar")),
        Arrival(3, bearing_scan(target, 2.6, west, rng, sensor_id="df-west")),
        Arrival(3, position_scan(elsewhere, 2.5, rng, sensor_id="radar")),
    ]
    in_time = _run(arrivals, windows=4)
    # The radar's plot of window 2 arrives in window 3.
    delayed_arrivals = list(arrivals)
    delayed_arrivals[4] = Arrival(3, arrivals[4].scan)
    delayed = _run(delayed_arrivals, windows=4)
    assert delayed.tracker.reprocessed_count == 1
    # In time: one track on the radar's object, one from the crossing (its later
    # bearing updates it); nothing waits.
    assert in_time.tracker.next_track_number == 3
    _assert_same_state(delayed, in_time)
    near_target = np.linalg.norm(delayed.tracker.tracks.state[:, :2] - target[0, :2], axis=1)
    assert (near_target < 2_000.0).sum() == 1
