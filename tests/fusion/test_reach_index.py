"""The live mode's look-up of the tracks a scan may join (`ReachIndex`) and its growing
storage (`GrowingTracks`): the same tracks, steps and numbers as looking at every track
and concatenating, at the cost of what is near a scan."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from hotzone.fusion.estimates import GrowingTracks, TrackBatch
from hotzone.fusion.measurement import PositionMeasurement
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.stage import default_tracker
from hotzone.fusion.tracker import ArrivalStep
from tests.fusion.synthetic import straight_lines

START = 1_750_000_000.0
SECTORS = 8


def _sector_scans(rng: np.random.Generator, rotations: int) -> list[list[SensorScan]]:
    """Two radars' sector scans of 300 aircraft (Pd 0.9, clutter), a step per sector,
    the second radar half a rotation behind the first; now and then a plot of a huge
    noise (an elevation unknown), a scan whose plots span a second, and reports of a
    cooperative identity."""
    truth = straight_lines(300, rotations * SECTORS + 1, rng, area_m=120_000.0)
    steps: list[list[SensorScan]] = []
    for step in range(rotations * SECTORS):
        scans = []
        for radar, lag in (("north", 0), ("south", SECTORS // 2)):
            sector = (step + lag) % SECTORS
            azimuth = np.arctan2(truth.positions[step, :, 0], truth.positions[step, :, 1])
            mine = np.floor((azimuth % (2 * np.pi)) / (2 * np.pi) * SECTORS) == sector
            seen = mine & (rng.random(len(mine)) < 0.9)
            values = truth.positions[step, seen] + 40.0 * rng.standard_normal((seen.sum(), 3))
            clutter = rng.uniform(0.0, 120_000.0, (3, 3))
            values = np.vstack([values, clutter])
            count = len(values)
            noise = np.broadcast_to(40.0**2 * np.eye(3), (count, 3, 3)).copy()
            if step % 5 == 0:
                noise[-1] = 8_000.0**2 * np.eye(3)
            times = START + step * 0.5 + np.linspace(0.0, 0.1, count)
            if step % 7 == 3:
                times = START + step * 0.5 - np.linspace(1.0, 0.0, count)
            identity = None
            if radar == "south" and step % 3 == 0:
                identity = np.array(
                    [f"icao:{row:06x}" if row % 4 == 0 else None for row in range(count)],
                    dtype=object,
                )
            scans.append(
                SensorScan(
                    sensor_id=radar,
                    model=PositionMeasurement(3),
                    values=values,
                    noise=noise,
                    times=times,
                    sensor_position=np.zeros(3),
                    identity=identity,
                )
            )
        steps.append(scans)
    return steps


def _same(first: np.ndarray, second: np.ndarray) -> bool:
    """Equal arrays, NaN where NaN (``revisit_s`` before a revisit is learnt)."""
    return bool(np.array_equal(first, second, equal_nan=first.dtype.kind == "f"))


def _same_batch(first: TrackBatch, second: TrackBatch) -> None:
    for column in fields(TrackBatch):
        if column.name != "estimates":
            assert _same(getattr(first, column.name), getattr(second, column.name)), column.name
    for mine, theirs in zip(first.estimates._values(), second.estimates._values(), strict=True):
        assert (mine is None) == (theirs is None)
        if mine is not None and theirs is not None:
            assert _same(mine, theirs)


def test_the_index_gives_the_steps_of_looking_at_every_track() -> None:
    indexed, every = default_tracker(), default_tracker()
    every.reach_index = None
    steps = _sector_scans(np.random.default_rng(5), rotations=6)
    for number, scans in enumerate(steps):
        time = START + number * 0.5 + 0.15
        books = number % 4 == 3
        results: list[ArrivalStep] = [
            tracker.step_arrivals(time, scans, close_books=books) for tracker in (indexed, every)
        ]
        _same_batch(results[0].updated, results[1].updated)
        _same_batch(results[0].ended, results[1].ended)
    _same_batch(indexed.tracks, every.tracks)
    assert indexed.next_track_number == every.next_track_number
    # Well past the 64 tracks from which a bound is used, with tracks ended by the books.
    assert indexed.tracks.size > 300
    assert int(indexed.tracks.confirmed.sum()) > 250


def test_growing_tracks_append_as_concatenate_does() -> None:
    tracker = default_tracker()
    steps = _sector_scans(np.random.default_rng(8), rotations=1)
    for number, scans in enumerate(steps):
        tracker.step_arrivals(START + number * 0.5 + 0.15, scans, close_books=False)
    tracks = tracker.tracks
    parts = [tracks.take(np.arange(0, 10)), tracks.take(np.arange(10, 200))]
    parts.append(tracks.take(np.arange(200, tracks.size)))
    growing = GrowingTracks.holding(parts[0])
    for part in parts[1:]:
        view = growing.append(part)
        assert growing.holds(view)
    _same_batch(growing.view(), TrackBatch.concatenate(parts))
    # The view is the storage: a write to it is a write to the tracks held.
    view = growing.view()
    view.hits[3] = 99
    assert growing.view().hits[3] == 99
    wider = growing.with_columns(view.sensor_seen.shape[1] + 2, view.label_seen.shape[1])
    assert wider.sensor_seen.shape == (tracks.size, tracks.sensor_seen.shape[1] + 2)
    assert np.isneginf(wider.sensor_seen[:, -2:]).all()
    assert np.array_equal(wider.sensor_seen[:, :-2], tracks.sensor_seen)
    # A batch made from the view is not held.
    assert not growing.holds(wider.take(np.arange(wider.size)))
