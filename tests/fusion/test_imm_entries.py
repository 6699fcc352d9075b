"""The IMM prediction entry by entry (`IMMPredictor` with two modes whose models have
`MotionModel.predict_entries`) against the textbook computation it replaced.

Unlike the checks of `test_same_numbers.py`, this path does not keep the bits of the
matrix products: the products' BLAS kernel fuses multiply and add and sums in its own
order, numpy rounds each elementwise product, and the moment matching of two modes
adds w₀ w₁ δ δᵀ instead of each mode's outer product. So the comparisons here allow
rounding (relative to each covariance's size), and what must hold exactly is checked
exactly: symmetry, a row's independence of the others, the state the models move.
"""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.fusion import imm as imm_module
from hotzone.fusion.estimates import Estimates
from hotzone.fusion.imm import IMMPredictor, default_imm_models
from hotzone.fusion.motion import (
    ConstantAccelerationMotion,
    ConstantVelocityMotion,
    CoordinatedTurnMotion,
    MotionModel,
)
from hotzone.types.arrays import FloatArray
from tests.fusion.test_same_numbers import _plain_combine

ROUNDING = 1e-13
"""Largest difference allowed, relative to the largest entry of a track's covariance
(the two forms differ by a few units in the last place of sums of a few terms)."""


def _states(count: int, size: int, seed: int) -> FloatArray:
    """Positions of kilometres, speeds of up to a few hundred m/s, turn rates from
    straight (every fifth exactly 0) to beyond the turn model's bound."""
    rng = np.random.default_rng(seed)
    states: FloatArray = rng.normal(size=(count, size)) * 1e3
    half = (size - 1) // 2
    states[:, half : 2 * half] = rng.normal(size=(count, half)) * 150.0
    states[:, -1] = rng.normal(size=count) * 0.2
    states[::5, -1] = 0.0
    return states


def _covariances(count: int, size: int, seed: int) -> FloatArray:
    factors = np.random.default_rng(seed).normal(size=(count, size, size)) * 30.0
    covariances: FloatArray = factors @ np.swapaxes(factors, -1, -2)
    return covariances


def _steps(count: int, seed: int) -> FloatArray:
    steps: FloatArray = np.random.default_rng(seed).uniform(0.0, 12.0, count)
    steps[3::7] = 0.0
    return steps


def _plain_prediction(
    motion: MotionModel, states: FloatArray, covariances: FloatArray, dt: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """F P Fᵀ + Q by the model's matrices, its symmetric part."""
    moved, transition, noise = motion.step(states, dt)
    covariance = transition @ covariances @ np.swapaxes(transition, -1, -2) + noise
    return moved, 0.5 * (covariance + np.swapaxes(covariance, -1, -2))


def _assert_close(fast: FloatArray, plain: FloatArray) -> None:
    """Equal up to `ROUNDING` of each track's largest covariance entry."""
    scale = np.abs(plain).reshape(len(plain), -1).max(axis=1)
    difference = np.abs(fast - plain).reshape(len(plain), -1).max(axis=1)
    assert (difference <= ROUNDING * scale).all(), (difference / scale).max()


def _entries(covariances: FloatArray) -> FloatArray:
    return np.ascontiguousarray(covariances.transpose(1, 2, 0))


MODELS = [
    ConstantVelocityMotion(1.0, spatial_dims=3, extra_states=1),
    ConstantVelocityMotion(2.0, spatial_dims=2),
    ConstantAccelerationMotion(0.5, spatial_dims=3),
    CoordinatedTurnMotion(4.0, spatial_dims=3),
    CoordinatedTurnMotion(4.0, spatial_dims=2),
]


@pytest.mark.parametrize("motion", MODELS, ids=lambda motion: f"{motion.name}-{motion.state_size}")
def test_a_model_s_prediction_entry_by_entry_is_its_matrix_products(motion: MotionModel) -> None:
    count, size = 500, motion.state_size
    states = _states(count, size, seed=1)
    covariances = _covariances(count, size, seed=2)
    dt = _steps(count, seed=3)
    entries = _entries(covariances)
    moved = motion.predict_entries(states, entries, dt)
    plain_moved, plain_covariance = _plain_prediction(motion, states, covariances, dt)
    fast = entries.transpose(2, 0, 1)
    _assert_close(fast, plain_covariance)
    assert np.array_equal(fast, np.swapaxes(fast, -1, -2))
    if isinstance(motion, CoordinatedTurnMotion):
        assert np.array_equal(moved, plain_moved)  # the same elementwise turn
    else:
        np.testing.assert_allclose(moved, plain_moved, rtol=1e-14, atol=1e-9)


def _textbook_prediction(
    predictor: IMMPredictor, estimates: Estimates, dt: FloatArray
) -> Estimates:
    """Mixing, each mode's matrix products, moment matching: mode by mode, in full."""
    assert estimates.mode_states is not None and estimates.mode_covariances is not None
    assert estimates.mode_probabilities is not None
    switching = predictor.switching(dt)
    probabilities = np.maximum(
        np.einsum("nij,ni->nj", switching, estimates.mode_probabilities), 1e-12
    )
    mixing = switching * estimates.mode_probabilities[:, :, None] / probabilities[:, None, :]
    states = np.empty_like(estimates.mode_states)
    covariances = np.empty_like(estimates.mode_covariances)
    for target, model in enumerate(predictor.models):
        mixed_state, mixed_covariance = _plain_combine(
            estimates.mode_states,
            estimates.mode_covariances,
            np.ascontiguousarray(mixing[:, :, target]),
        )
        states[:, target], covariances[:, target] = _plain_prediction(
            model, mixed_state, mixed_covariance, dt
        )
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    state, covariance = _plain_combine(states, covariances, probabilities)
    return Estimates(state, covariance, states, covariances, probabilities)


def _estimates(predictor: IMMPredictor, count: int, seed: int) -> Estimates:
    """Estimates whose modes have moved apart (one textbook prediction of new tracks)."""
    size = predictor.state_size
    first = predictor.initial_estimates(
        _states(count, size, seed), _covariances(count, size, seed + 1)
    )
    return _textbook_prediction(predictor, first, _steps(count, seed + 2))


@pytest.mark.parametrize(
    ("count", "spatial_dims"),
    [(1, 3), (300, 3), (imm_module.ENTRY_ROWS + 77, 2)],
    ids=["one-track", "a-window", "blocks-and-a-part"],
)
def test_the_two_mode_prediction_is_the_textbook_imm(count: int, spatial_dims: int) -> None:
    predictor = IMMPredictor(default_imm_models(spatial_dims=spatial_dims))
    estimates = _estimates(predictor, count, seed=10)
    dt = _steps(count, seed=20)
    fast = predictor.predict(estimates, dt)
    plain = _textbook_prediction(predictor, estimates, dt)
    assert fast.mode_covariances is not None and plain.mode_covariances is not None
    assert fast.mode_states is not None and plain.mode_states is not None
    assert np.array_equal(fast.mode_probabilities, plain.mode_probabilities)
    np.testing.assert_allclose(fast.mode_states, plain.mode_states, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(fast.state, plain.state, rtol=1e-12, atol=1e-6)
    for mode in range(2):
        _assert_close(fast.mode_covariances[:, mode], plain.mode_covariances[:, mode])
    _assert_close(fast.covariance, plain.covariance)
    for covariances in (fast.covariance, fast.mode_covariances):
        assert np.array_equal(covariances, np.swapaxes(covariances, -1, -2))
    np.linalg.cholesky(fast.covariance)  # positive definite, as the textbook's


def test_a_track_s_prediction_depends_on_its_row_alone() -> None:
    """What `hypothesiser` relies on: a scan predicts only the tracks it may reach, and
    each of them must come out as if every track had been predicted. Rows on both sides
    of a block's edge, in another order and another block."""
    predictor = IMMPredictor()
    count = imm_module.ENTRY_ROWS + 500
    estimates = _estimates(predictor, count, seed=30)
    dt = _steps(count, seed=40)
    everything = predictor.predict(estimates, dt)
    rows = np.r_[imm_module.ENTRY_ROWS + 3, 5, imm_module.ENTRY_ROWS - 1, 17, 2_000]
    some = predictor.predict(estimates.take(rows), dt[rows])
    for mine, all_of_them in zip(some._values(), everything._values(), strict=True):
        assert mine is not None and all_of_them is not None
        assert np.array_equal(mine, all_of_them[rows])


def test_a_shared_step_predicts_as_the_same_step_per_track() -> None:
    predictor = IMMPredictor()
    estimates = _estimates(predictor, 50, seed=50)
    shared = predictor.predict(estimates, np.asarray(2.5))
    per_track = predictor.predict(estimates, np.full(50, 2.5))
    for mine, theirs in zip(shared._values(), per_track._values(), strict=True):
        assert np.array_equal(mine, theirs)


@pytest.mark.parametrize("count", [1, 2, 300], ids=["one-track", "two-tracks", "a-window"])
def test_the_prediction_leaves_the_estimates_it_was_given_as_they_were(count: int) -> None:
    """The tracker keeps the batch of the window before for replay: a prediction must
    not write into it (a one-track block's entry-by-entry copy is a view of its rows)."""
    predictor = IMMPredictor()
    estimates = _estimates(predictor, count, seed=60)
    before = [value.copy() for value in estimates._values() if value is not None]
    predictor.predict(estimates, _steps(count, seed=70))
    after = [value for value in estimates._values() if value is not None]
    for mine, theirs in zip(after, before, strict=True):
        assert np.array_equal(mine, theirs)
