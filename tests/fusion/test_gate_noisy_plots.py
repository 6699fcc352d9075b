"""A scan's few far noisier plots are gated with radii of their own.

A radar's plot whose height does not fit its range (its elevation unknown) carries a
noise of tens of kilometres. Searched with one radius per track for every plot of the
scan, its noise widened every track's radius that far: tens of thousands of pairs tested
where a few hundred lay in a gate, the live mode's slowest steps (docs/ingest/limits.md).
Each check compares with the search of one radius for all: the same pairs in the gates,
in the same order, and the same tracks published.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import numpy as np
import pytest
import yaml
from bench.ingest_udp import make_scene, sensors_yaml, stamp

from hotzone.fusion import gating, hypothesiser
from hotzone.fusion.measurement import PositionMeasurement
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.stage import default_tracker
from hotzone.ingest.asterix import SiteTable
from hotzone.runtime.windows import TrackingSettings
from hotzone.types.arrays import FloatArray, IntArray
from tests.runtime.test_live_arrivals import published_on_arrival


def _one_radius_for_all(
    positions: FloatArray,
    radii: FloatArray,
    measured: FloatArray,
    group_of: IntArray,
    group_radii: FloatArray,
) -> tuple[IntArray, IntArray]:
    """The search before: every plot within the scan's one radius of a track."""
    return gating.grid_candidates(positions, radii, measured)


def _picture(seed: int, dims: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    tracks = rng.uniform(0.0, 60_000.0, (900, dims))
    measurements = rng.uniform(0.0, 60_000.0, (700, dims))
    radii = np.exp(rng.normal(np.log(30_000.0), 0.3, len(tracks)))
    tracks[5] = np.nan
    radii[9] = np.inf
    return tracks, radii, measurements


@pytest.mark.parametrize("dims", [2, 3], ids=["flat", "with-height"])
@pytest.mark.parametrize("widest", [False, True], ids=["grid-only", "and-kd-tree"])
def test_the_pairs_within_each_group_are_grid_candidates_pairs_in_its_order(
    dims: int, widest: bool
) -> None:
    tracks, radii, measurements = _picture(seed=dims, dims=dims)
    rng = np.random.default_rng(7 + dims)
    group_of = (rng.random(len(measurements)) < 0.01).astype(np.int64)
    ordinary = radii / np.exp(rng.uniform(20.0, 60.0, len(radii)) / 10.0)
    if widest:
        # Wider than the grid searches: the KD-tree's order, then held to the groups.
        radii[:3] = 5e7
    group_radii = np.stack([ordinary, radii])
    every_tracks, every_measurements = gating.grid_candidates(tracks, radii, measurements)
    separation = tracks[every_tracks, :dims] - measurements[every_measurements]
    within = (separation**2).sum(axis=1) <= group_radii[
        group_of[every_measurements], every_tracks
    ] ** 2
    found = gating.grid_candidates_within(tracks, radii, measurements, group_of, group_radii)
    assert len(every_tracks) > 20 * within.sum() > 0
    assert np.array_equal(found[0], every_tracks[within])
    assert np.array_equal(found[1], every_measurements[within])


def _tracked_with_a_noisy_plot() -> tuple[int, SensorScan, object]:
    """A tracker's 400 tracks after a few scans, and a scan of them with one plot of a
    noise of 10 km (sigma) among 3 m ones."""
    tracker = default_tracker()
    rng = np.random.default_rng(31)
    positions = rng.uniform(-80_000.0, 80_000.0, (400, 3))
    positions[:, 2] = 5_000.0
    velocities = rng.normal(0.0, 100.0, (400, 3))
    velocities[:, 2] = 0.0
    model = PositionMeasurement(dims=3)

    def scan_at(time: float, noisy: bool) -> SensorScan:
        values = positions + velocities * time + rng.normal(0.0, 30.0, positions.shape)
        noise = np.broadcast_to(900.0 * np.eye(3), (len(values), 3, 3)).copy()
        if noisy:
            noise[17] = 1e8 * np.eye(3)
        return SensorScan(
            sensor_id="radar",
            model=model,
            values=values,
            noise=noise,
            times=np.full(len(values), time),
            sensor_position=np.zeros(3),
        )

    for window in range(4):
        tracker.step(4.0 * window, [scan_at(4.0 * window, noisy=False)])
    return 400, scan_at(16.0, noisy=True), tracker


def test_a_noisy_plot_widens_its_own_search_only(monkeypatch: pytest.MonkeyPatch) -> None:
    count, scan, tracker = _tracked_with_a_noisy_plot()
    assert isinstance(tracker, type(default_tracker()))
    tracks = tracker.tracks
    predicted = tracker.hypothesiser.predict(tracks, scan.reference_time)
    stage = np.arange(tracks.size)
    rows = np.arange(scan.size)

    def gated() -> tuple[IntArray, IntArray, FloatArray, int]:
        pairs = tracker.hypothesiser.gate(tracks, predicted, stage, scan, rows, scan.reference_time)
        kept = pairs.distance_squared < pairs.missed_distance_squared
        return (
            pairs.tracks[kept],
            pairs.measurements[kept],
            pairs.distance_squared[kept],
            len(pairs.tracks),
        )

    kept_tracks, kept_rows, distances, tested = gated()
    monkeypatch.setattr(hypothesiser, "grid_candidates_within", _one_radius_for_all)
    before_tracks, before_rows, before_distances, tested_before = gated()
    assert tracks.size >= count and len(kept_tracks) >= count - 10
    # One radius for all tested nearly every pair; now the ordinary plots' own pairs
    # and the noisy plot's.
    assert tested_before > 50 * count
    assert tested < 3 * count
    assert np.array_equal(kept_tracks, before_tracks)
    assert np.array_equal(kept_rows, before_rows)
    assert np.array_equal(distances, before_distances)


def test_the_bench_scene_stepped_on_arrival_publishes_the_same_tracks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bench's datagrams (4 radars, clutter at any flight level: some plots' heights
    do not fit their ranges) stepped on arrival, and in held windows: the same Track
    messages, byte for byte, as with one radius for every plot of a scan."""
    start = 1_750_000_000.0
    datagrams = [
        (datetime.fromtimestamp(start + when + 0.002, tz=UTC), data)
        for when, _, data in stamp(make_scene(1_000.0, 10.0, 4, 100), start)
    ]
    sites = SiteTable.from_mapping(yaml.safe_load(sensors_yaml(4)))
    searched_apart = 0
    within = gating.grid_candidates_within

    def counted(*arguments: object) -> tuple[IntArray, IntArray]:
        nonlocal searched_apart
        searched_apart += 1
        return within(*arguments)  # type: ignore[arg-type]

    for settings in (TrackingSettings(window_s=0.05, arrivals=True), TrackingSettings()):
        monkeypatch.setattr(hypothesiser, "grid_candidates_within", counted)
        now, _ = asyncio.run(published_on_arrival(datagrams, settings, sites))
        monkeypatch.setattr(hypothesiser, "grid_candidates_within", _one_radius_for_all)
        before, _ = asyncio.run(published_on_arrival(datagrams, settings, sites))
        assert len(now) > 1_000
        assert [msgspec.json.encode(track) for track in now] == [
            msgspec.json.encode(track) for track in before
        ]
    assert searched_apart > 20
