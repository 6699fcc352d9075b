"""Motion and measurement models, and the polar conversion choice."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.fusion.arrays import is_positive_definite
from hotzone.fusion.measurement import (
    BearingMeasurement,
    PolarMeasurement,
    PositionMeasurement,
    convert_polar,
)
from hotzone.fusion.motion import (
    ConstantAccelerationMotion,
    ConstantVelocityMotion,
    CoordinatedTurnMotion,
)
from hotzone.fusion.updater import kalman_update


def numerical_jacobian(function, states, step=1e-4):  # type: ignore[no-untyped-def]
    columns = []
    for index in range(states.shape[1]):
        plus, minus = states.copy(), states.copy()
        plus[:, index] += step
        minus[:, index] -= step
        columns.append((function(plus) - function(minus)) / (2 * step))
    return np.stack(columns, axis=-1)


def test_constant_velocity_moves_position_by_velocity_times_step() -> None:
    model = ConstantVelocityMotion(1.0, spatial_dims=3)
    state = np.array([[1.0, 2.0, 3.0, 10.0, -5.0, 0.5]])
    moved = model.propagate(state, np.asarray(2.0))
    np.testing.assert_allclose(moved[0, :3], [21.0, -8.0, 4.0])
    np.testing.assert_allclose(moved[0, 3:], state[0, 3:])


@pytest.mark.parametrize(
    "model",
    [
        ConstantVelocityMotion(2.0, spatial_dims=2),
        ConstantAccelerationMotion(0.5, spatial_dims=3),
        CoordinatedTurnMotion(1.0, spatial_dims=3),
    ],
)
def test_process_noise_is_positive_definite_for_every_step(model) -> None:  # type: ignore[no-untyped-def]
    states = np.zeros((4, model.state_size))
    dt = np.array([0.1, 1.0, 2.5, 10.0])
    assert is_positive_definite(model.process_noise(states, dt)).all()


def test_per_track_steps_match_shared_steps() -> None:
    model = ConstantVelocityMotion(1.0, spatial_dims=3)
    rng = np.random.default_rng(3)
    states = rng.normal(size=(5, 6))
    steps = np.array([1.0, 2.0, 1.0, 3.0, 0.5])
    batched = model.propagate(states, steps)
    for row, step in enumerate(steps):
        np.testing.assert_allclose(
            batched[row], model.propagate(states[row : row + 1], np.asarray(step))[0]
        )


def test_coordinated_turn_tends_to_constant_velocity_as_rate_vanishes() -> None:
    turn = CoordinatedTurnMotion()
    straight = ConstantVelocityMotion(extra_states=1)
    state = np.array([[100.0, 200.0, 50.0, 120.0, -30.0, 2.0, 1e-9]])
    np.testing.assert_allclose(
        turn.propagate(state, np.array([3.0])),
        straight.propagate(state, np.asarray(3.0)),
        atol=1e-5,
    )


def test_coordinated_turn_keeps_speed_and_turns_by_rate_times_step() -> None:
    turn = CoordinatedTurnMotion()
    state = np.array([[0.0, 0.0, 0.0, 0.0, 100.0, 0.0, 0.1]])
    moved = turn.propagate(state, np.array([2.0]))
    assert np.hypot(moved[0, 3], moved[0, 4]) == pytest.approx(100.0)
    heading_change = np.arctan2(moved[0, 4], moved[0, 3]) - np.pi / 2
    assert heading_change == pytest.approx(0.2)


def test_coordinated_turn_jacobian_matches_finite_differences() -> None:
    turn = CoordinatedTurnMotion()
    states = np.array([[10.0, -20.0, 300.0, 80.0, 60.0, -1.0, 0.05], [0, 0, 0, 50, 0, 0, -0.2]])
    dt = np.array([1.5, 0.7])
    expected = numerical_jacobian(lambda s: turn.propagate(s, dt), states)
    np.testing.assert_allclose(turn.jacobian(states, dt), expected, atol=1e-5)


@pytest.mark.parametrize("model", [BearingMeasurement(True), PolarMeasurement()])
def test_angle_measurement_jacobians_match_finite_differences(model) -> None:  # type: ignore[no-untyped-def]
    states = np.array([[5000.0, 12000.0, 800.0, 1, 2, 3], [-3000.0, -400.0, 100.0, 0, 0, 0]])
    sensors = np.array([[100.0, -50.0, 20.0], [0.0, 0.0, 0.0]])
    expected = numerical_jacobian(lambda s: model.measure(s, sensors), states, step=1e-2)
    np.testing.assert_allclose(model.jacobian(states, sensors), expected, rtol=1e-5, atol=1e-9)


def test_bearing_residual_wraps_across_north() -> None:
    model = BearingMeasurement()
    residual = model.residual(np.array([[np.radians(1.0)]]), np.array([[np.radians(359.0)]]))
    assert residual[0, 0] == pytest.approx(np.radians(2.0))


# ----------------------------------------------------------------------------------------
# Why radar plots are converted (debiased) instead of filtered with an EKF: long range,
# wide azimuth errors (150 km, 1.5°, the geometry of a long-range surveillance radar).
RANGE_M, AZIMUTH_SIGMA, ELEVATION_SIGMA, RANGE_SIGMA = 150_000.0, np.radians(1.5), 0.01, 50.0


def _polar_draws(count: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    truth = np.array([0.0, RANGE_M, 3000.0])
    true_range = np.linalg.norm(truth)
    true_elevation = np.arcsin(truth[2] / true_range)
    measured = np.column_stack(
        [
            true_range + RANGE_SIGMA * rng.standard_normal(count),
            AZIMUTH_SIGMA * rng.standard_normal(count),
            true_elevation + ELEVATION_SIGMA * rng.standard_normal(count),
        ]
    )
    covariance = np.broadcast_to(
        np.diag([RANGE_SIGMA**2, AZIMUTH_SIGMA**2, ELEVATION_SIGMA**2]), (count, 3, 3)
    ).copy()
    return truth, measured, covariance


def test_polar_long_range_debiased_conversion_is_unbiased_and_consistent() -> None:
    rng = np.random.default_rng(11)
    truth, measured, covariance = _polar_draws(40_000, rng)
    naive, _ = convert_polar(*measured.T, covariance, debiased=False)
    debiased, debiased_covariance = convert_polar(*measured.T, covariance, debiased=True)
    naive_bias = abs((naive - truth).mean(axis=0)[1])
    debiased_bias = abs((debiased - truth).mean(axis=0)[1])
    # The plain conversion pulls every plot towards the radar by r σ²/2 ≈ 51 m.
    assert naive_bias > 40.0
    assert debiased_bias < 0.25 * naive_bias
    _, first_order_covariance = convert_polar(*measured.T, covariance, debiased=False)

    def mean_nees(errors, matrices):  # type: ignore[no-untyped-def]
        return np.einsum("ki,kij,kj->k", errors, np.linalg.inv(matrices), errors).mean()

    # Consistent: the normalised squared error averages the dimension (3); the first-order
    # covariance ignores the curvature of the azimuth arc and is several times too small.
    assert 2.7 < mean_nees(debiased - truth, debiased_covariance) < 3.4
    assert mean_nees(naive - truth, first_order_covariance) > 6.0


def test_polar_long_range_ekf_from_a_vague_prior_is_inconsistent_where_conversion_is_not() -> None:
    rng = np.random.default_rng(12)
    count = 4000
    truth, measured, covariance = _polar_draws(count, rng)
    prior_covariance = np.broadcast_to(np.diag([8000.0**2] * 3 + [100.0**2] * 3), (count, 6, 6))
    prior = np.concatenate([truth, np.zeros(3)]) + rng.multivariate_normal(
        np.zeros(6), prior_covariance[0], count
    )
    origin = np.zeros((count, 3))
    ekf_state, ekf_covariance, _ = kalman_update(
        PolarMeasurement(), prior, prior_covariance.copy(), measured, covariance, origin
    )
    converted, converted_covariance = convert_polar(*measured.T, covariance)
    kf_state, kf_covariance, _ = kalman_update(
        PositionMeasurement(3),
        prior,
        prior_covariance.copy(),
        converted,
        converted_covariance,
        origin,
    )

    def mean_nees(state, state_covariance):  # type: ignore[no-untyped-def]
        errors = state[:, :3] - truth
        inverse = np.linalg.inv(state_covariance[:, :3, :3])
        return float(np.einsum("ki,kij,kj->k", errors, inverse, errors).mean())

    assert mean_nees(kf_state, kf_covariance) < 3.6
    assert mean_nees(ekf_state, ekf_covariance) > 3 * mean_nees(kf_state, kf_covariance)
