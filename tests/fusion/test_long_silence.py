"""A track taken up again after a long silence restarts its kinematics from the report
(`hotzone.fusion.track_updater.LongSilence`, docs/fusion.md "Long silences"), instead of
reading the distance its prediction drifted over the silence into its velocity.

On the real FLARM day (`tests/golden/flarm_lfmy`, one position per aircraft every >= 10 s,
each aircraft tracked alone as in `tests/fusion/test_real_flarm_turns.py`), a drop plane
spiralling up 60 km from the receiver (3e4712) and a thermalling glider (dde207) were
estimated at 478 m/s and 262 m/s after silences of 149 s and 110 s. Each test runs the
operational tracker and the same tracker with the rule off (the code before it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

from hotzone.fusion.association import JPDAAssociator
from hotzone.fusion.estimates import Estimates
from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.fusion.track_updater import LongSilence
from hotzone.fusion.tracker import MultiTargetTracker
from hotzone.types import Track
from tests.fusion.test_identity import FRAME, report, step
from tests.ingest.real_flarm import (
    RECEIVER,
    IdentityWindows,
    feed_reports,
    load_recording,
    sbs_feed,
)

NEVER = LongSilence(min_silence_s=np.inf)
"""The rule off: every update after a silence is a plain Kalman update, as before."""

PHYSICAL_SPEED_MPS = 150.0
"""Beyond either aircraft: 3e4712 is a parachute drop plane (a single turboprop), whose
recorded positions, about one a second, never give more than 116 m/s between two; dde207
is a glider (never-exceed speeds of 70-80 m/s)."""


@dataclass
class Followed:
    silence_s: list[float] = field(default_factory=list)
    """Per report of the address: the time since its track's last update."""
    error_m: list[float] = field(default_factory=list)
    """Per report: horizontal distance from the track predicted to the report's time."""
    speed_mps: list[float] = field(default_factory=list)
    """Per report: the track's horizontal speed after the window that took the report."""


class _Following(IdentityWindows):
    """The tracker's windows, with the track of one identity looked at around each."""

    def __init__(self, stage: TrackingStage, identity: str, followed: Followed) -> None:
        super().__init__(stage, identity)
        self.followed = followed

    def _step(self, end: float) -> list[Track]:
        tracker = self.stage.tracker
        seen = 0
        for message in self._batch:
            rows = np.flatnonzero(tracker.tracks.identity == self.identity)
            error = self.prediction_error_m(message)  # type: ignore[arg-type]
            if error is None or len(rows) == 0:
                continue
            self.followed.error_m.append(error)
            time = message.time.timestamp()  # type: ignore[attr-defined]
            self.followed.silence_s.append(time - float(tracker.tracks.last_update_time[rows[0]]))
            seen += 1
        tracks = super()._step(end)
        rows = np.flatnonzero(tracker.tracks.identity == self.identity)
        speed = float(np.hypot(*tracker.tracks.state[rows[0], 3:5])) if len(rows) else np.nan
        self.followed.speed_mps.extend([speed] * seen)
        return tracks


def _follow(address: str, silence: LongSilence) -> Followed:
    recording = load_recording()
    recording.rows = [row for row in recording.rows if row.address == address]
    tracker = default_tracker()
    tracker.long_silence = silence
    followed = Followed()
    windows = _Following(
        TrackingStage(frame=RECEIVER, tracker=tracker, confirmed_only=True),
        f"icao:{address}",
        followed,
    )
    for message in feed_reports(sbs_feed(recording, min_interval_s=10.0).lines):
        windows.push(message)
    windows.finish()
    return followed


@dataclass(frozen=True)
class _AfterSilences:
    speeds_mps: np.ndarray
    """The speed after each report that ends a long silence and after the report next."""
    errors_m: np.ndarray
    """The prediction error at each report that ends a long silence."""
    next_errors_m: np.ndarray
    """The prediction error at the report after each of those."""


def _after_silences(followed: Followed, long_s: float) -> _AfterSilences:
    silence = np.array(followed.silence_s)
    ends = np.flatnonzero(silence >= long_s)
    following = ends[ends + 1 < len(silence)] + 1
    speeds = np.array(followed.speed_mps)
    errors = np.array(followed.error_m)
    return _AfterSilences(
        speeds[np.concatenate([ends, following])], errors[ends], errors[following]
    )


@pytest.mark.parametrize(("address", "before_mps"), [("3e4712", 478.0), ("dde207", 262.0)])
def test_a_real_aircraft_taken_up_after_a_long_silence_keeps_a_physical_speed(
    address: str, before_mps: float
) -> None:
    long_s = LongSilence().min_silence_s
    restarted = _follow(address, LongSilence())
    plain = _follow(address, NEVER)
    now, before = _after_silences(restarted, long_s), _after_silences(plain, long_s)
    print(
        f"\n{address}, 10 s feed, {len(now.errors_m)} silences >= {long_s:.0f} s: speed after "
        f"them max {now.speeds_mps.max():.0f} m/s (rule off {before.speeds_mps.max():.0f}); "
        f"error at the report after one median {np.median(now.next_errors_m):.0f} m, max "
        f"{now.next_errors_m.max():.0f} m (rule off {np.median(before.next_errors_m):.0f}, "
        f"{before.next_errors_m.max():.0f}); at the report ending one median "
        f"{np.median(now.errors_m):.0f} m (rule off {np.median(before.errors_m):.0f}); "
        f"whole day max speed {np.nanmax(restarted.speed_mps):.0f} m/s "
        f"(rule off {np.nanmax(plain.speed_mps):.0f})"
    )
    assert len(now.errors_m) >= 8
    # The fault is in the data: without the rule the speed after a silence is not a
    # speed either aircraft can fly.
    assert before.speeds_mps.max() == pytest.approx(before_mps, abs=1.0)
    assert now.speeds_mps.max() < PHYSICAL_SPEED_MPS
    # The velocity a restart gives predicts the next report no worse than the velocity
    # the plain update read from the jump, and a restart leaves the track no worse placed
    # for the silence after it.
    assert np.median(now.next_errors_m) <= np.median(before.next_errors_m)
    assert now.next_errors_m.max() <= before.next_errors_m.max()
    assert np.median(now.errors_m) <= np.median(before.errors_m)


SPEED_MPS = 120.0
TURN_RATE = np.radians(3.0)
"""A standard-rate turn: 180 degrees in a minute."""


def _reversing(time_s: float) -> tuple[np.ndarray, np.ndarray]:
    """East at 120 m/s; from 180 s a standard-rate turn to the left, half a circle; then
    west, 2.3 km north of its outbound line. Position and velocity (east, north)."""
    radius = SPEED_MPS / TURN_RATE
    if time_s <= 180.0:
        return np.array([SPEED_MPS * time_s, 0.0]), np.array([SPEED_MPS, 0.0])
    if time_s <= 240.0:
        angle = TURN_RATE * (time_s - 180.0)
        position = [SPEED_MPS * 180.0 + radius * np.sin(angle), radius * (1 - np.cos(angle))]
        return np.array(position), SPEED_MPS * np.array([np.cos(angle), np.sin(angle)])
    return (
        np.array([SPEED_MPS * (420.0 - time_s), 2 * radius]),
        np.array([-SPEED_MPS, 0.0]),
    )


def _jpda_constant_velocity() -> MultiTargetTracker:
    """The probabilistic update's path (a single model: `TrackUpdater.weighted`)."""
    return MultiTargetTracker(associator=JPDAAssociator(), lag_s=5.0)


TRACKERS: dict[str, Callable[[], MultiTargetTracker]] = {
    "operational (IMM, GNN)": default_tracker,
    "constant velocity, JPDA": _jpda_constant_velocity,
}


def _two_reports_after_reversing(
    silence: LongSilence, make_tracker: Callable[[], MultiTargetTracker]
) -> list[Track]:
    """Reports every 10 s for 2 minutes, 3 minutes of silence in which the aircraft turns
    back, then two reports: the tracks after the second."""
    rng = np.random.default_rng(7)
    tracker = make_tracker()
    tracker.long_silence = silence
    stage = TrackingStage(frame=FRAME, tracker=tracker, confirmed_only=True)
    tracks: list[Track] = []
    for time_s in [*np.arange(0.0, 121.0, 10.0), 300.0, 310.0]:
        position, _ = _reversing(float(time_s))
        east, north = position + rng.normal(0.0, 30.0, 2)
        tracks = step(stage, float(time_s), [report(float(time_s), (east, north, 3000.0))])
    assert stage.take_dead_letters() == []
    return tracks


@pytest.mark.parametrize("name", list(TRACKERS))
def test_an_aircraft_that_turned_back_unseen_has_its_new_velocity_after_two_reports(
    name: str,
) -> None:
    _, truth = _reversing(310.0)
    (track,) = _two_reports_after_reversing(LongSilence(), TRACKERS[name])
    (plain,) = _two_reports_after_reversing(NEVER, TRACKERS[name])
    velocity = np.array(track.enu_velocity_mps[:2])
    plain_velocity = np.array(plain.enu_velocity_mps[:2])
    print(
        f"\n{name}: after 3 min of silence and a reversal, two reports: {np.round(velocity)} m/s "
        f"(rule off {np.round(plain_velocity)}), truth {truth}"
    )
    assert track.track_number == plain.track_number == 1
    # Two reports 10 s apart with 30 m errors give a velocity to about 5 m/s.
    assert np.linalg.norm(velocity - truth) < 20.0
    if TRACKERS[name] is default_tracker:
        # The plain update read the silence into the velocity: (-154, -51) m/s, 162 m/s
        # 18 degrees off (the constant-velocity filter alone came to about 24 m/s off).
        assert np.linalg.norm(plain_velocity - truth) > 50.0


def test_the_rule_needs_both_a_long_time_and_several_of_the_sensor_s_revisits() -> None:
    rule = LongSilence(min_silence_s=40.0, sensor_revisits=3.5)
    silences = np.array([10.0, 39.9, 40.0, 41.0, 60.0])
    # A 10 s feed: 40 s is the longer of the two.
    np.testing.assert_array_equal(rule.silent(silences, 10.0), [False, False, True, True, True])
    # A 12 s radar: 3.5 rotations, 42 s (a track without identity has ended by then).
    np.testing.assert_array_equal(rule.silent(silences, 12.0), [False, False, False, False, True])


def test_forgetting_keeps_the_position_and_means_and_makes_velocity_unknown() -> None:
    rule = LongSilence()
    size, dims = 7, 3
    rng = np.random.default_rng(1)
    square = rng.normal(size=(2, size, size))
    covariance = square @ np.swapaxes(square, 1, 2) + np.eye(size)
    state = rng.normal(size=(2, size))
    modes = np.stack([covariance, 2 * covariance], axis=1)
    estimates = Estimates(
        state.copy(),
        covariance.copy(),
        np.stack([state, state], axis=1),
        modes.copy(),
        np.full((2, 2), 0.5),
    )
    rule.forget(estimates, np.array([True, False]), dims)
    # The row not taken up again is untouched.
    np.testing.assert_array_equal(estimates.covariance[1], covariance[1])
    np.testing.assert_array_equal(estimates.state[1], state[1])
    restarted = estimates.covariance[0]
    np.testing.assert_array_equal(restarted[:dims, :dims], covariance[0, :dims, :dims])
    np.testing.assert_array_equal(restarted[:dims, dims:], 0.0)
    np.testing.assert_array_equal(
        np.diag(restarted)[dims:],
        np.maximum(np.diag(covariance[0])[dims:], [150.0**2] * 3 + [0.1**2]),
    )
    np.testing.assert_array_equal(estimates.state[0, : 2 * dims], state[0, : 2 * dims])
    assert estimates.state[0, 2 * dims] == 0.0
    assert estimates.mode_covariances is not None
    np.testing.assert_array_equal(estimates.mode_covariances[0, 1, :dims, dims:], 0.0)
    assert np.all(np.linalg.eigvalsh(estimates.mode_covariances[0]) > 0)


def test_a_velocity_report_ending_a_silence_keeps_the_track_for_the_position_after_it() -> None:
    """An SBS feed sends a position and a velocity line per report cycle, in either order.
    A velocity ends this silence: a plain update with it (forgetting before it left the
    track where the IMM's modes had drifted in 70 s, and the position 0.4 s later then
    beyond its identity's reach: a second track)."""
    speed, rate = 200.0, np.radians(1.5)  # turning left all along, a circle in 4 minutes
    radius = speed / rate
    rng = np.random.default_rng(3)
    stage = TrackingStage(frame=FRAME, tracker=default_tracker(), confirmed_only=True)
    numbers: set[int] = set()
    velocity = np.zeros(2)
    for time_s in [*np.arange(0.0, 61.0, 10.0), 130.0, 140.0]:
        angle = rate * time_s
        truth = speed * np.array([np.cos(angle), np.sin(angle)])
        east, north = radius * np.array([np.sin(angle), 1 - np.cos(angle)]) + rng.normal(0, 30, 2)
        messages: list[object] = []
        if time_s >= 130.0:
            messages.append(report(time_s, (0, 0, 0), velocity=(*truth, 0.0), velocity_only=True))
        messages.append(report(time_s + 0.4, (east, north, 9000.0)))
        tracks = step(stage, time_s + 1.0, messages)
        numbers |= {track.track_number for track in tracks}
        if time_s == 130.0:
            (track,) = tracks
            velocity = np.array(track.enu_velocity_mps[:2]) - truth
    assert numbers == {1}
    assert np.linalg.norm(velocity) < 20.0
    assert stage.take_dead_letters() == []
