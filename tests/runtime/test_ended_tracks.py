"""A track that ends is published once more, as deleted, whatever the way into the
tracker: the windows of ``demo``, ``serve``, ``node``, ``track`` and ``ingest --track``
(until 2026-12 they never said so: an ended track stayed on the picture, in the
assessment with its alerts open and in c2 as it was last shown), and the live mode
(``ingest --track --on-arrival``). A cooperative track that falls silent for a while is
shown for a minute, then dormant (kept, not shown) for the rest of ``identity_coast_s``,
the same track when its aircraft reports again, and ended only when that time has
passed: a dormant track is not an ended one (until 2026-12 the live mode published it as
deleted, and every reader closed its alerts, forgot it and gave it a new alliance number
when it came back).
"""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.runtime.windows import ReplaySummary, TrackingSettings, tracking_windows
from hotzone.types import Report, Track, TrackStatus
from tests.fusion.test_revisit import FRAME, START_S, _adsb

MODES = {
    "windows": TrackingSettings(window_s=1.0, origin=FRAME),
    "on-arrival": TrackingSettings(window_s=0.05, arrivals=True, origin=FRAME),
}
#: The aircraft that falls silent: every 2 s for 60 s, silent for 75 s (more than the
#: minute it is shown, less than the 90 s it is kept), every 2 s for 40 s more, then
#: silent for good.
QUIET = "48a001"
SILENCE = (START_S + 60.0, START_S + 135.0)
LAST_REPORT_S = START_S + 175.0


def _reports() -> list[Report]:
    reports = []
    velocity = np.array([150.0, 0.0, 0.0])
    for k, time_s in enumerate(np.arange(START_S, LAST_REPORT_S, 2.0)):
        if SILENCE[0] <= time_s < SILENCE[1]:
            continue
        position = np.array([0.0, 0.0, 5_000.0]) + (time_s - START_S) * velocity
        reports.append(_adsb(QUIET, float(time_s), position, k))
    # Another aircraft keeps the feed (and so the books) going for five minutes.
    for k, time_s in enumerate(np.arange(START_S + 1.0, START_S + 300.0, 2.0)):
        position = np.array([0.0, 20_000.0 + 150.0 * (time_s - START_S), 6_000.0])
        reports.append(_adsb("48a002", float(time_s), position, 10_000 + k))
    reports.sort(key=lambda report: report.time)
    return reports


def _published(reports: list[Report], settings: TrackingSettings) -> list[Track]:
    """Each report pushed as it arrives; on arrival, stepped whenever none waits and the
    books closed when due (as the live service does). Every Track message published, in
    order."""
    summary = ReplaySummary()
    windows = tracking_windows(settings, reports[:1], summary)
    published: list[Track] = []
    for report in reports:
        for tracks in windows.push(report):
            published.extend(tracks)
        published.extend(windows.step_arrived() or [])
        published.extend(windows.close_books_if_due() or [])
    published.extend(windows.finish() or [])
    assert not summary.dead_letters
    return published


@pytest.mark.parametrize("mode", MODES)
def test_a_dormant_track_comes_back_as_itself_and_an_ended_one_is_deleted_once(
    mode: str,
) -> None:
    published = [t for t in _published(_reports(), MODES[mode]) if t.icao24 == QUIET]
    numbers = {track.track_number for track in published}
    assert len(numbers) == 1, f"the aircraft got {len(numbers)} track numbers: {numbers}"

    deleted = [track for track in published if track.status is TrackStatus.DELETED]
    assert len(deleted) == 1, [track.time.timestamp() - START_S for track in deleted]
    # Deleted once, when the 90 s after its last report have passed, not in the silence.
    assert deleted[0].time.timestamp() >= LAST_REPORT_S + 88.0
    assert deleted[-1] is published[-1]

    # Shown (the windows publish it coasting) for at most about a minute of the silence,
    # then nothing of it (dormant), until it reports again: the same confirmed track.
    in_silence = [
        track.time.timestamp() - SILENCE[0]
        for track in published
        if SILENCE[0] <= track.time.timestamp() < SILENCE[1]
    ]
    assert all(0.0 <= after_s < 66.0 for after_s in in_silence), in_silence
    after = [track for track in published if track.time.timestamp() >= SILENCE[1]]
    assert after[0].status is TrackStatus.CONFIRMED
