"""The history the classifier reads holds a track's measurement updates, not every
tracker window (issue 15, item 4): the fusion stage sends each track every window, so a
10 s feed arrives as ten states between two reports, nine of them predictions."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.assess.features import FEATURE_NAMES, KinematicHistory, batch_features
from hotzone.assess.history import TrackHistories, is_measurement_update
from hotzone.geo import LocalFrame
from hotzone.types import GeoPoint, Track, TrackStatus
from tests.assess.helpers import at
from tests.assess.real_adsb import WINDOW_S, pymodes_sbs_lines, tracked

INTERVAL = FEATURE_NAMES.index("report_interval_median_s")


def _state(seconds: float, variance: float) -> Track:
    return Track(
        track_id="t1",
        track_number=1,
        time=at(seconds),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=54.0, lon_deg=23.0, height_m=500.0),
        sector="s",
        enu_position_m=(40.0 * seconds, 0.0, 500.0),
        enu_velocity_mps=(40.0, 0.0, 0.0),
        covariance=tuple(
            tuple(variance if row == column else 0.0 for column in range(6)) for row in range(6)
        ),
        quality=1.0,
    )


def test_coasted_states_are_kept_in_the_record_but_not_given_to_the_classifier() -> None:
    # A report every 10 s, a tracker window every 1 s: the variance drops at each report
    # and grows while the track coasts.
    histories = TrackHistories()
    for second in range(61):
        since_report = second % 10
        histories.add(_state(float(second), 100.0 * (1.0 + 0.3 * since_report)))
    record = histories.records["t1"]
    assert record.samples == 61  # everything stays for the anomaly detectors
    history = histories.kinematic(record)
    assert np.diff(history.times_s).tolist() == [10.0] * 6
    assert batch_features([history])[0, INTERVAL] == pytest.approx(10.0)


def test_a_track_updated_every_window_keeps_every_state() -> None:
    # A steady radar track: the variance after each update is the same every window.
    histories = TrackHistories()
    for second in range(30):
        histories.add(_state(float(second), 250.0))
    history = histories.kinematic(histories.records["t1"])
    assert history.size == 30
    assert batch_features([history])[0, INTERVAL] == pytest.approx(1.0)
    assert is_measurement_update(250.0, None)
    assert not is_measurement_update(260.0, 250.0)


@pytest.mark.parametrize(
    ("position_every_s", "lowest_s", "highest_s"), [(0.0, 0.9, 1.5), (10.0, 4.5, 11.0)]
)
def test_the_report_interval_of_a_real_feed_is_the_feeds_not_the_windows(
    position_every_s: float, lowest_s: float, highest_s: float
) -> None:
    # pyModeS's recorded 406B90 as SBS lines through the default tracker (1 s windows):
    # at its recorded rate (a message about every second), and as a fringe feed (a
    # position and a velocity line each at most every 10 s, so an update every ~5 s).
    # Before the history kept measurement updates only, both read 1 s (the window).
    tracks = tracked(pymodes_sbs_lines(position_every_s), LocalFrame(52.2, 3.9, 0.0))
    histories = TrackHistories(WINDOW_S)
    for track in tracks:
        histories.add(track)
    (record,) = histories.records.values()
    history = histories.kinematic(record)
    interval = float(batch_features([history])[0, INTERVAL])
    print(
        f"\nevery {position_every_s:.0f} s: {record.samples} states, {history.size} updates, "
        f"report interval {interval:.1f} s"
    )
    assert lowest_s <= interval <= highest_s


def test_a_callsign_is_not_a_feature() -> None:
    # FLARM, position-only SBS and multilateration give an address and no callsign for
    # every kind of aircraft: that says which feed heard it, not what it is.
    times = np.arange(0.0, 120.0, 10.0)
    position = np.stack([35.0 * times, 0 * times, np.full_like(times, 600.0)], 1)
    velocity = np.tile([35.0, 0.0, 0.0], (len(times), 1))

    def seen(callsign: bool) -> KinematicHistory:
        height = np.full_like(times, 600.0)
        return KinematicHistory(
            times, position, velocity, height, has_icao24=True, has_callsign=callsign
        )

    with_callsign, without = batch_features([seen(True), seen(False)])
    assert "has_callsign" not in FEATURE_NAMES
    assert np.array_equal(with_callsign, without, equal_nan=True)


def test_a_first_state_whose_velocity_was_never_measured_is_not_read_as_a_stop() -> None:
    """A cooperative track confirmed at its first report (an address back in coverage)
    starts with a velocity of exactly zero and a velocity variance of (150 m/s)²: kept in
    the record, not given to the classifier once a measured state follows."""
    import msgspec

    histories = TrackHistories()
    first = _state(0.0, 100.0)
    unknown = tuple(
        tuple((150.0**2 if row >= 3 else 100.0) if row == column else 0.0 for column in range(6))
        for row in range(6)
    )
    first = msgspec.structs.replace(first, enu_velocity_mps=(0.0, 0.0, 0.0), covariance=unknown)
    histories.add(first)
    record = histories.records["t1"]
    # Alone, it is all there is: the classifier gets it rather than nothing.
    assert histories.kinematic(record).size == 1
    for second in (10.0, 20.0, 30.0):
        histories.add(_state(second, 90.0))
    history = histories.kinematic(record)
    assert record.samples == 4
    assert (history.times_s - at(0.0).timestamp()).tolist() == [10.0, 20.0, 30.0]
    assert float(np.min(np.linalg.norm(history.enu_velocity_mps, axis=1))) == pytest.approx(40.0)
    # A measured velocity of zero (a hovering helicopter, a moored vessel) stays measured.
    still = msgspec.structs.replace(_state(40.0, 80.0), enu_velocity_mps=(0.0, 0.0, 0.0))
    histories.add(still)
    assert histories.kinematic(record).size == 4
