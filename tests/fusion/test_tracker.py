"""The tracker on seeded synthetic scenarios: tracks, numbers, confirmation, deletion,
out-of-sequence measurements, IMM, bearings-only initiation, cooperative identity."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.fusion.arrays import is_positive_definite
from hotzone.fusion.deletion import MissesDeleter
from hotzone.fusion.imm import IMMPredictor, IMMUpdater
from hotzone.fusion.initiation import MOfNInitiator
from hotzone.fusion.measurement import PositionMeasurement
from hotzone.fusion.metrics import set_distance
from hotzone.fusion.motion import ConstantVelocityMotion
from hotzone.fusion.predictor import KalmanPredictor
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.tracker import MultiTargetTracker

from .synthetic import bearing_scan, position_scan, straight_lines, turning_target


def cv_tracker(**overrides) -> MultiTargetTracker:  # type: ignore[no-untyped-def]
    arguments = dict(predictor=KalmanPredictor(ConstantVelocityMotion(1.0)))
    arguments.update(overrides)
    return MultiTargetTracker(**arguments)


def test_every_target_gets_one_confirmed_track_with_a_stable_number() -> None:
    rng = np.random.default_rng(1)
    truth = straight_lines(40, 25, rng)
    tracker = cv_tracker()
    numbers_by_target: dict[int, set[int]] = {}
    for k, time in enumerate(truth.times):
        scan = position_scan(truth.positions[k], time, rng, detection_probability=0.95, clutter=20)
        tracks = tracker.step(time, [scan])
        if k >= 10:
            confirmed = tracks.take(np.flatnonzero(tracks.confirmed))
            distance = set_distance(confirmed.state[:, :3], truth.positions[k], cutoff=500.0)
            assert distance.missed == 0
            assert distance.false <= 2
            for estimate, target in zip(distance.pairs_estimate, distance.pairs_truth, strict=True):
                numbers_by_target.setdefault(int(target), set()).add(
                    int(confirmed.track_number[estimate])
                )
    assert all(len(numbers) == 1 for numbers in numbers_by_target.values())
    assert len(numbers_by_target) == 40


def _single_point_scan(time: float, position: list[float]) -> SensorScan:
    return SensorScan(
        sensor_id="radar",
        model=PositionMeasurement(3),
        values=np.array([position]),
        noise=np.array([np.eye(3) * 100.0]),
        times=np.array([time]),
        sensor_position=np.zeros(3),
    )


def test_a_track_is_confirmed_at_its_third_update_and_not_before() -> None:
    tracker = cv_tracker(initiator=MOfNInitiator(confirm_hits=3, window=5))
    states = []
    for k in range(3):
        tracks = tracker.step(float(k), [_single_point_scan(float(k), [100.0 * k, 0, 0])])
        states.append(tracks.confirmed.tolist())
    assert states == [[False], [False], [True]]


def test_tracks_end_after_consecutive_misses() -> None:
    tracker = cv_tracker(deleter=MissesDeleter(confirmed_max_misses=3))
    for k in range(4):
        tracker.step(float(k), [_single_point_scan(float(k), [50.0 * k, 0, 0])])
    far_away = _single_point_scan(4.0, [90_000.0, 0, 0])
    sizes = []
    for k in range(4, 8):
        tracks = tracker.step(
            float(k), [far_away if k == 4 else _single_point_scan(float(k), [90_000.0 + k, 0, 0])]
        )
        sizes.append(int((tracks.track_number == 1).sum()))
    assert sizes[:2] == [1, 1]
    assert sizes[-1] == 0


def test_tracks_end_when_their_position_becomes_too_uncertain() -> None:
    tracker = cv_tracker(
        predictor=KalmanPredictor(ConstantVelocityMotion(100.0)),
        deleter=MissesDeleter(confirmed_max_misses=1000, max_position_sigma_m=1_000.0),
    )
    for k in range(4):
        tracker.step(float(k), [_single_point_scan(float(k), [50.0 * k, 0, 0])])
    other = SensorScan(
        "radar",
        PositionMeasurement(3),
        np.zeros((0, 3)),
        np.zeros((0, 3, 3)),
        np.zeros(0),
        np.zeros(3),
    )
    survived = []
    for k in range(4, 40):
        survived.append(tracker.step(float(k), [other]).size)
    assert survived[0] == 1
    assert survived[-1] == 0


def test_non_finite_measurements_are_rejected_with_a_reason() -> None:
    tracker = cv_tracker()
    scan = SensorScan(
        sensor_id="radar",
        model=PositionMeasurement(3),
        values=np.array([[1.0, 2.0, np.nan], [0.0, 0.0, 0.0]]),
        noise=np.array([np.eye(3), np.eye(3)]),
        times=np.array([0.0, 0.0]),
        sensor_position=np.zeros(3),
        measurement_ids=("bad", "good"),
    )
    tracks = tracker.step(0.0, [scan])
    rejections = tracker.take_rejections()
    assert [r.measurement_id for r in rejections] == ["bad"]
    assert "non-finite" in rejections[0].reason
    assert tracks.size == 1


def _run_with_delays(lag_s: float, delay_scan: int | None) -> MultiTargetTracker:
    """Two sensors on one target; one of sensor B's scans arrives a step late."""
    rng = np.random.default_rng(4)
    truth = straight_lines(3, 12, rng, area_m=20_000.0)
    tracker = cv_tracker(lag_s=lag_s)
    held: SensorScan | None = None
    for k, time in enumerate(truth.times):
        scans = [position_scan(truth.positions[k], time, rng, sensor_id="a")]
        late_b = position_scan(truth.positions[k], time - 0.5, rng, sensor_id="b")
        if k == delay_scan:
            held = late_b
        else:
            scans.append(late_b)
        if held is not None and k == (delay_scan or 0) + 1:
            scans.append(held)
        tracker.step(time, scans)
    return tracker


def test_out_of_sequence_scans_within_the_lag_are_replayed_not_dropped() -> None:
    in_order = _run_with_delays(lag_s=3.0, delay_scan=None)
    delayed = _run_with_delays(lag_s=3.0, delay_scan=6)
    assert delayed.reprocessed_count == 1
    assert delayed.late_count == 0
    # Replaying puts the late scan where it belongs: same result as if it had been on time.
    np.testing.assert_allclose(delayed.tracks.state, in_order.tracks.state, atol=1e-6)


def test_out_of_sequence_scans_beyond_the_lag_are_counted_and_rejected() -> None:
    delayed = _run_with_delays(lag_s=0.2, delay_scan=6)
    assert delayed.late_count == 3
    reasons = {r.reason for r in delayed.take_rejections()}
    assert any("lag" in reason for reason in reasons)
    assert np.isfinite(delayed.tracks.state).all()


def _turn_localisation_error(tracker: MultiTargetTracker, seed: int) -> float:
    rng = np.random.default_rng(seed)
    truth = turning_target(60, turn_rate=np.radians(6.0))
    errors = []
    for k, time in enumerate(truth.times):
        tracks = tracker.step(time, [position_scan(truth.positions[k], time, rng, sigma_m=40.0)])
        if k >= 15 and tracks.confirmed.any():
            confirmed = tracks.state[tracks.confirmed, :3]
            errors.append(set_distance(confirmed, truth.positions[k], cutoff=1000.0).localisation)
    return float(np.mean(errors))


def test_imm_beats_constant_velocity_on_a_manoeuvring_target() -> None:
    imm = MultiTargetTracker(predictor=IMMPredictor(), updater=IMMUpdater())
    cv = cv_tracker()
    imm_error = np.mean([_turn_localisation_error(imm, seed) for seed in (1,)])
    cv_error = np.mean([_turn_localisation_error(cv, seed) for seed in (1,)])
    assert imm_error < 0.85 * cv_error
    assert imm.tracks.estimates.mode_probabilities is not None
    np.testing.assert_allclose(imm.tracks.estimates.mode_probabilities.sum(axis=1), 1.0)


def test_two_bearing_only_sensors_confirm_a_silent_target() -> None:
    rng = np.random.default_rng(6)
    sensors = {"df-west": np.array([-8000.0, 0.0, 0.0]), "df-east": np.array([8000.0, 0.0, 0.0])}
    tracker = MultiTargetTracker(predictor=IMMPredictor(), updater=IMMUpdater())
    position = np.array([[500.0, 12_000.0, 150.0]])
    velocity = np.array([[-20.0, -30.0, 0.0]])
    for k in range(20):
        time = float(k)
        truth = position + velocity * time
        scans = [
            bearing_scan(truth, time, where, rng, sensor_id=name) for name, where in sensors.items()
        ]
        tracks = tracker.step(time, scans)
    confirmed = tracks.take(np.flatnonzero(tracks.confirmed))
    assert confirmed.size == 1
    horizontal_error = np.linalg.norm(confirmed.state[0, :2] - truth[0, :2])
    assert horizontal_error < 500.0


def test_transponder_reports_and_radar_plots_make_one_track_with_the_identity() -> None:
    rng = np.random.default_rng(7)
    tracker = MultiTargetTracker(predictor=IMMPredictor(), updater=IMMUpdater())
    start, velocity = np.array([0.0, 0.0, 10_000.0]), np.array([200.0, 50.0, 0.0])
    for k in range(15):
        time = float(k)
        truth = start + velocity * time
        radar = position_scan(truth[None], time, rng, sigma_m=150.0, sensor_id="radar")
        adsb = SensorScan(
            sensor_id="adsb",
            model=PositionMeasurement(3),
            values=(truth + 20.0 * rng.standard_normal(3))[None],
            noise=np.diag([30.0**2, 30.0**2, 50.0**2])[None],
            times=np.array([time - 0.3]),
            sensor_position=np.zeros(3),
            icao24=np.array(["48ae01"], dtype=object),
            callsign=np.array(["LOT123"], dtype=object),
        )
        tracks = tracker.step(time, [radar, adsb])
    confirmed = tracks.take(np.flatnonzero(tracks.confirmed))
    assert confirmed.size == 1
    assert confirmed.icao24[0] == "48ae01"
    assert confirmed.callsign[0] == "LOT123"
    assert confirmed.seen_by()[0].tolist() == [True, True]


def test_a_step_with_no_scans_keeps_tracks_and_moves_them_in_time() -> None:
    tracker = cv_tracker()
    for k in range(3):
        tracker.step(float(k), [_single_point_scan(float(k), [100.0 * k, 0, 0])])
    tracks = tracker.step(3.0, [])
    assert tracks.size == 1
    assert tracks.state[0, 0] == pytest.approx(300.0, abs=30.0)


def test_jpda_tracker_follows_two_close_targets() -> None:
    from hotzone.fusion.association import JPDAAssociator

    rng = np.random.default_rng(12)
    tracker = cv_tracker(associator=JPDAAssociator(clutter_density=1e-10))
    for k in range(20):
        time = float(k)
        truth = np.array([[100.0 * k, 0.0, 500.0], [100.0 * k, 120.0, 500.0]])
        tracks = tracker.step(time, [position_scan(truth, time, rng, sigma_m=20.0)])
    confirmed = tracks.take(np.flatnonzero(tracks.confirmed))
    distance = set_distance(confirmed.state[:, :3], truth, cutoff=200.0)
    assert distance.missed == 0
    assert distance.false == 0
    assert is_positive_definite(tracks.covariance).all()


def test_a_one_scan_window_predicts_each_track_once() -> None:
    """The window's output and deletion use the prediction the scan made of the tracks
    no update touched: every track present at a step is predicted once in it, and the
    tracks are those of a tracker predicting again (the same targets, confirmed)."""
    from dataclasses import dataclass, field

    from hotzone.fusion.estimates import Estimates
    from hotzone.types.arrays import FloatArray

    @dataclass(frozen=True)
    class CountingPredictor(KalmanPredictor):
        rows: list[int] = field(default_factory=list)

        def predict(self, estimates: Estimates, dt: FloatArray) -> Estimates:
            self.rows.append(estimates.size)
            return super().predict(estimates, dt)

    rng = np.random.default_rng(4)
    truth = straight_lines(30, 12, rng)
    predictor = CountingPredictor(ConstantVelocityMotion(1.0))
    tracker = cv_tracker(predictor=predictor)
    for k, time in enumerate(truth.times):
        scan = position_scan(truth.positions[k], time, rng, detection_probability=0.8, clutter=5)
        present = tracker.tracks.size
        predictor.rows.clear()
        tracks = tracker.step(time, [scan])
        assert sum(predictor.rows) == present, k
    assert tracks.confirmed.sum() >= 28


def test_tracks_behind_by_different_steps_are_predicted_as_one_by_one() -> None:
    """Prediction by groups of one shared step gives each track what its own step's
    matrices give."""
    from hotzone.fusion.predictor import kalman_predict

    rng = np.random.default_rng(5)
    motion = ConstantVelocityMotion(2.0)
    state = rng.normal(0, 1000, (1_000, 6))
    factor = rng.normal(0, 10, (1_000, 6, 6))
    covariance = factor @ np.swapaxes(factor, 1, 2) + np.eye(6)
    dt = rng.choice([0.5, 1.0, 2.0, 3.0], 1_000)
    predicted_state, predicted_covariance = kalman_predict(motion, state, covariance, dt)
    transition, noise = motion.build_matrices(dt)
    expected_state = (transition @ state[:, :, None])[:, :, 0]
    expected_covariance = transition @ covariance @ np.swapaxes(transition, 1, 2) + noise
    np.testing.assert_allclose(predicted_state, expected_state, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(predicted_covariance, expected_covariance, rtol=1e-12, atol=1e-9)
