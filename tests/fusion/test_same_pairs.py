"""The pre-gate and the window's end give the pairs and rows of their plain forms.

Wide gates are searched in the grid's cells instead of a KD-tree over every measurement,
and a window's deletion gathers the prediction's shared columns once: each check compares
the fast path with the plain computation, exactly.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from hotzone.fusion import gating
from hotzone.fusion.estimates import TrackBatch
from hotzone.fusion.measurement import PositionMeasurement
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.stage import default_tracker
from hotzone.types.arrays import FloatArray, IntArray


def _plain_pairs(
    tracks: FloatArray, radii: FloatArray, measurements: FloatArray
) -> set[tuple[int, int]]:
    """Every pair within the track's radius, by the distance to every measurement."""
    usable = np.isfinite(radii) & np.isfinite(tracks).all(axis=1)
    pairs: set[tuple[int, int]] = set()
    for track in np.flatnonzero(usable).tolist():
        distance = np.linalg.norm(measurements - tracks[track, : measurements.shape[1]], axis=1)
        pairs.update((track, int(row)) for row in np.flatnonzero(distance <= radii[track]))
    return pairs


def _wide_gate_picture(
    seed: int, dims: int, widest: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Tracks with gates spread over two orders of magnitude (a few coasting ones wider
    still, with ``widest`` some wider than `gating.LARGE_GATE_ROWS` cells), a track
    without a position and one without a radius."""
    rng = np.random.default_rng(seed)
    tracks = rng.uniform(0.0, 50_000.0, (1_500, dims))
    measurements = rng.uniform(0.0, 50_000.0, (2_000, dims))
    radii = np.exp(rng.normal(np.log(800.0), 0.8, len(tracks)))
    radii[rng.random(len(tracks)) < 0.03] = 20_000.0
    if widest:
        radii[:3] = 5e6
    tracks[7] = np.nan
    radii[11] = np.inf
    return tracks, radii, measurements


def _first_of_each_track(tracks: IntArray) -> IntArray:
    starts = np.r_[True, tracks[1:] != tracks[:-1]]
    firsts: IntArray = tracks[starts]
    return firsts


@pytest.mark.parametrize("dims", [2, 3], ids=["flat", "with-height"])
@pytest.mark.parametrize("widest", [False, True], ids=["grid-only", "and-kd-tree"])
def test_wide_gates_searched_in_the_cells_find_every_pair_within_their_radius(
    dims: int, widest: bool
) -> None:
    """The pairs are those within each radius; the tracks of a typical gate come first in
    ascending order, then the wider ones in ascending order, each track's pairs together
    (the grouping the associator's results follow)."""
    tracks, radii, measurements = _wide_gate_picture(seed=dims, dims=dims, widest=widest)
    found_tracks, found_measurements = gating.grid_candidates(tracks, radii, measurements)
    found = set(zip(found_tracks.tolist(), found_measurements.tolist(), strict=True))
    assert len(found) == len(found_tracks)  # no pair twice
    assert found == _plain_pairs(tracks, radii, measurements)
    usable = np.isfinite(radii) & np.isfinite(tracks).all(axis=1)
    typical = float(
        np.partition(radii[usable], int(0.95 * (usable.sum() - 1)))[int(0.95 * (usable.sum() - 1))]
    )
    wide = usable & (radii > typical)
    assert wide.sum() > 20
    firsts = _first_of_each_track(found_tracks)
    assert len(np.unique(firsts)) == len(firsts)  # each track's pairs together
    typical_part, wide_part = firsts[~wide[firsts]], firsts[wide[firsts]]
    assert np.array_equal(firsts, np.r_[typical_part, wide_part])
    assert np.all(np.diff(typical_part) > 0) and np.all(np.diff(wide_part) > 0)


def test_wide_gates_beyond_the_row_limit_are_answered_by_the_kd_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With every wide gate beyond the limit the KD-tree answers them all: the same
    pairs, grouped alike."""
    tracks, radii, measurements = _wide_gate_picture(seed=5, dims=2, widest=True)
    in_cells = gating.grid_candidates(tracks, radii, measurements)
    monkeypatch.setattr(gating, "LARGE_GATE_ROWS", 0)
    by_tree = gating.grid_candidates(tracks, radii, measurements)
    assert len(in_cells[0]) > 0
    assert np.array_equal(_first_of_each_track(in_cells[0]), _first_of_each_track(by_tree[0]))
    assert set(zip(in_cells[0].tolist(), in_cells[1].tolist(), strict=True)) == set(
        zip(by_tree[0].tolist(), by_tree[1].tolist(), strict=True)
    )


def _tracked_batch() -> tuple[TrackBatch, TrackBatch]:
    """A tracker's batch after a few windows of plots, and its prediction a second on."""
    tracker = default_tracker()
    rng = np.random.default_rng(23)
    positions = rng.uniform(-20_000.0, 20_000.0, (150, 3))
    positions[:, 2] = 1_000.0
    velocities = rng.normal(0.0, 80.0, (150, 3))
    velocities[:, 2] = 0.0
    model = PositionMeasurement(dims=3)
    for window in range(6):
        time = 4.0 * window
        seen = rng.random(len(positions)) < 0.85
        values = positions[seen] + velocities[seen] * time + rng.normal(0, 30.0, (seen.sum(), 3))
        scan = SensorScan(
            sensor_id="radar",
            model=model,
            values=values,
            noise=np.broadcast_to(900.0 * np.eye(3), (len(values), 3, 3)),
            times=np.full(len(values), time),
            sensor_position=np.zeros(3),
        )
        tracker.step(time, [scan])
    tracks = tracker.tracks
    return tracks, tracker.hypothesiser.predicted(tracks, 21.0 + 1.0)


def test_a_prediction_taken_beside_its_tracks_is_the_prediction_taken() -> None:
    tracks, predicted = _tracked_batch()
    assert tracks.size > 100 and predicted.estimates is not tracks.estimates
    rows = np.flatnonzero(np.random.default_rng(24).random(tracks.size) < 0.9)
    kept = tracks.take(rows)
    beside = predicted.take_beside(rows, tracks, kept)
    plain = predicted.take(rows)
    for field in fields(TrackBatch):
        if field.name == "estimates":
            for mine, theirs in zip(
                beside.estimates._values(), plain.estimates._values(), strict=True
            ):
                assert mine is not None and theirs is not None
                assert np.array_equal(mine, theirs)
            continue
        mine, theirs = getattr(beside, field.name), getattr(plain, field.name)
        assert mine.dtype == theirs.dtype
        assert np.array_equal(mine, theirs, equal_nan=mine.dtype != object)
        # The columns the prediction shares with its tracks are the kept tracks' own.
        if getattr(predicted, field.name) is getattr(tracks, field.name):
            assert mine is getattr(kept, field.name)
    assert beside.time is not kept.time


def test_a_batch_taken_beside_itself_shares_every_row_taken() -> None:
    tracks, _ = _tracked_batch()
    rows = np.arange(0, tracks.size, 3)
    kept = tracks.take(rows)
    beside = tracks.take_beside(rows, tracks, kept)
    assert beside.estimates is kept.estimates
    assert all(
        getattr(beside, field.name) is getattr(kept, field.name) for field in fields(TrackBatch)
    )
