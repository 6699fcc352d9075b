"""A window's new tracks appended in place to its working copy (issue 17, whole
process), against concatenating them into a new batch as before: the same numbers, and
no batch a window returned or left for a replay changed by a later window."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from hotzone.fusion.estimates import GrowingTracks, TrackBatch
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.stage import default_tracker
from tests.fusion.test_same_numbers import PERIOD_S, _batch_digest, _same, _sweeps


def _windows() -> list[list[SensorScan]]:
    """The turning radar's quarter-sweeps; from the 8th window a second radar, a column
    no track has yet (its rows' timing columns grow within a window); in the 15th the
    plots of the 12th again from a third sensor, late: the windows since are replayed."""
    sweeps = _sweeps(targets=200, windows=20, seed=11)
    windows: list[list[SensorScan]] = []
    for index, scans in enumerate(sweeps):
        window = list(scans)
        if index >= 8:
            shifted = replace(scans[0], sensor_id="second", values=scans[0].values + 40.0)
            window.append(shifted)
        if index == 15:
            window.append(replace(sweeps[12][0], sensor_id="late"))
        windows.append(window)
    return windows


def _stepped(windows: list[list[SensorScan]]) -> tuple[list[TrackBatch], list[list[object]]]:
    tracker = default_tracker()
    tracker.declare_revisit("asr", PERIOD_S)
    batches: list[TrackBatch] = []
    digests: list[list[object]] = []
    for index, scans in enumerate(windows):
        batch = tracker.step(index + 1.0, scans)
        batches.append(batch)
        digests.append(copy.deepcopy(_batch_digest(batch)))
    assert tracker.reprocessed_count == 1
    digests.append(copy.deepcopy(_batch_digest(tracker.tracks)))
    return batches, digests


def test_tracks_appended_in_place_are_the_concatenated_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every window's batch and the tracks left at the end, bit for bit, with the new
    tracks appended in place and with them concatenated (`GrowingTracks.adopt` refusing
    every batch); the appends did happen, after columns were replaced and grown."""
    windows = _windows()
    appended: list[int] = []
    append = GrowingTracks.append

    def counted(self: GrowingTracks, new: TrackBatch) -> TrackBatch:
        appended.append(new.size)
        return append(self, new)

    monkeypatch.setattr(GrowingTracks, "append", counted)
    batches, in_place = _stepped(windows)
    assert len(appended) >= len(windows) and sum(appended) > 200
    # The returned batches were not changed by the windows after them.
    for batch, digest in zip(batches, in_place, strict=False):
        assert _same(_batch_digest(batch), digest)
    monkeypatch.setattr(GrowingTracks, "adopt", lambda self, tracks: False)
    appended.clear()
    _, concatenated = _stepped(windows)
    assert appended == []
    assert len(in_place) == len(concatenated)
    for mine, theirs in zip(in_place, concatenated, strict=True):
        assert _same(mine, theirs)


def test_a_batch_made_from_the_view_is_adopted_and_appended_to() -> None:
    """A batch made from the view by replacing columns (one of them with a sensor column
    more) is adopted: appending to it (beyond its room) gives its concatenation with the
    new rows; a batch with estimates of its own is not adopted."""
    tracker = default_tracker()
    tracker.declare_revisit("asr", PERIOD_S)
    for index, scans in enumerate(_sweeps(targets=60, windows=6, seed=3)):
        tracker.step(index + 1.0, scans)
    tracks = tracker.tracks
    assert tracks.size > 20
    before = copy.deepcopy(_batch_digest(tracks))
    growing = GrowingTracks.holding(tracks, room=4)
    view = growing.view()
    changed = replace(
        view.with_sensor_columns(view.sensor_seen.shape[1] + 1),
        overdue=view.overdue + 1.0,
        looks=np.arange(view.size, dtype=np.float64),
    )
    new = tracks.take(np.arange(10))
    expected = _batch_digest(TrackBatch.concatenate([changed, new]))
    assert not growing.adopt(tracks.take(np.arange(tracks.size)))
    assert growing.adopt(changed)
    assert _same(_batch_digest(growing.append(new)), expected)
    # Beyond its room the storage grew; the batch it holds a copy of is as it was.
    assert _same(_batch_digest(tracks), before)
