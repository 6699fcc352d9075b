"""A glider circling in a thermal, seen about once per circle (the real FLARM day of
`tests/golden/flarm_lfmy` thinned to a position every >= 10 s, as in
`tests/ingest/test_real_flarm_sbs.py`): the coordinated-turn model's turn rate is held
within what an object can pull (`CoordinatedTurnMotion.turn_rate_limit`), so its
estimated speed stays that of a glider and its predictions stay near its next report.
Without the bound, 38f25b was estimated at up to 2,000 m/s and predicted kilometres off."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from hotzone.fusion.imm import IMMPredictor
from hotzone.fusion.motion import ConstantVelocityMotion, CoordinatedTurnMotion
from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.fusion.tracker import MultiTargetTracker
from hotzone.types import Track
from tests.ingest.real_flarm import (
    RECEIVER,
    IdentityWindows,
    feed_reports,
    load_recording,
    sbs_feed,
)

THERMALLING_GLIDER = "38f25b"


@dataclass
class Followed:
    speeds_mps: list[float]
    """The estimated horizontal speed of the address's track after each window."""
    errors_m: list[float]
    """Horizontal distance of each report from the track predicted to its time."""


class _Following(IdentityWindows):
    """The tracker's windows, with the track of one identity looked at around each."""

    def __init__(self, stage: TrackingStage, identity: str, followed: Followed) -> None:
        super().__init__(stage, identity)
        self.followed = followed

    def _step(self, end: float) -> list[Track]:
        for report in self._batch:
            error = self.prediction_error_m(report)  # type: ignore[arg-type]
            if error is not None:
                self.followed.errors_m.append(error)
        tracks = super()._step(end)
        tracker = self.stage.tracker
        rows = np.flatnonzero(tracker.tracks.identity == self.identity)
        if len(rows):
            state = tracker.tracks.state[rows[0]]
            self.followed.speeds_mps.append(float(np.hypot(state[3], state[4])))
        return tracks


def _follow(address: str, tracker: MultiTargetTracker) -> Followed:
    recording = load_recording()
    recording.rows = [row for row in recording.rows if row.address == address]
    reports = feed_reports(sbs_feed(recording, min_interval_s=10.0).lines)
    followed = Followed([], [])
    stage = TrackingStage(frame=RECEIVER, tracker=tracker, confirmed_only=True)
    windows = _Following(stage, f"icao:{address}", followed)
    for report in reports:
        windows.push(report)
    windows.finish()
    return followed


def _unbounded_tracker() -> MultiTargetTracker:
    """The operational tracker with the turn rate free (the model before the bound)."""
    tracker = default_tracker()
    tracker.predictor = IMMPredictor(
        models=(
            ConstantVelocityMotion(1.0, extra_states=1),
            CoordinatedTurnMotion(
                4.0, max_lateral_acceleration_mps2=np.inf, max_turn_rate_deg_s=np.inf
            ),
        )
    )
    return tracker


def _summary(name: str, followed: Followed) -> str:
    errors = np.array(followed.errors_m)
    return (
        f"{name}: speed max {max(followed.speeds_mps):.0f} m/s; error at the next report "
        f"median {np.median(errors):.0f} m, 95th percentile {np.percentile(errors, 95):.0f} m, "
        f"max {errors.max():.0f} m ({len(errors)} reports)"
    )


def test_a_glider_seen_once_per_circle_keeps_a_glider_s_speed_and_predictions() -> None:
    bounded = _follow(THERMALLING_GLIDER, default_tracker())
    unbounded = _follow(THERMALLING_GLIDER, _unbounded_tracker())
    print(f"\n{THERMALLING_GLIDER}, 10 s feed\n  " + _summary("turn rate bounded", bounded))
    print("  " + _summary("turn rate free", unbounded))
    assert len(bounded.errors_m) >= 300
    # A glider flies at 20-70 m/s; 150 m/s is beyond any glider's never-exceed speed.
    assert max(bounded.speeds_mps) < 150.0
    # The case the bound is for is in the data: the free model diverges on it.
    assert max(unbounded.speeds_mps) > 500.0
    bounded_errors, unbounded_errors = np.array(bounded.errors_m), np.array(unbounded.errors_m)
    assert np.median(bounded_errors) < np.median(unbounded_errors)
    assert np.percentile(bounded_errors, 95) < 0.2 * np.percentile(unbounded_errors, 95)
    # Circling ~100 m across and seen every 10-20 s, the next report is rarely far off.
    assert np.percentile(bounded_errors, 95) < 1_000.0


def test_the_turn_rate_bound_follows_the_speed() -> None:
    model = CoordinatedTurnMotion()
    states = np.zeros((4, 7))
    states[:, 3] = [0.0, 10.0, 25.0, 250.0]  # east speed, m/s
    states[:, 6] = np.radians(90.0)  # asked to turn at 90 deg/s
    limit = np.degrees(model.turn_rate_limit(states))
    np.testing.assert_allclose(limit, [60.0, 60.0, np.degrees(25.0 / 25.0), np.degrees(0.1)])
    # A prediction turns at the bounded rate and carries it on; within it, nothing changes.
    moved = model.propagate(states, np.asarray(1.0))
    np.testing.assert_allclose(np.degrees(moved[:, 6]), limit)
    # At 25 m/s it turns 57.3 deg in a second (1 rad), not 90.
    assert np.degrees(np.arctan2(moved[2, 4], moved[2, 3])) == pytest.approx(limit[2])
    slow = states.copy()
    slow[:, 6] = np.radians(3.0)
    np.testing.assert_allclose(model.propagate(slow, np.asarray(1.0))[:, 6], np.radians(3.0))
