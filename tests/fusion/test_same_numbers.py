"""Speed-ups of the filter and the associator give the very numbers of the plain forms.

The tracker's outputs are recorded (digests of scenario runs, OSPA figures), so a faster
path must not move a bit: each check below compares a fast path with the plain
computation it replaces, exactly (`numpy.array_equal` on floats, no tolerance).
"""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.fusion.association import _mutual_best_matching
from hotzone.fusion.imm import combine
from hotzone.fusion.motion import (
    ConstantVelocityMotion,
    CoordinatedTurnMotion,
    MotionModel,
)
from hotzone.types.arrays import FloatArray, IntArray


def _states(count: int, size: int, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    scale = np.r_[np.full(size - 1, 1e3), 0.05][:size]
    states: FloatArray = rng.normal(size=(count, size)) * scale
    states[::5, -1] = 0.0  # straight flight: the turn terms' small-angle branch
    return states


@pytest.mark.parametrize("count", [8, 200], ids=["few-tracks", "many-tracks"])
def test_a_batch_of_steps_gets_each_step_s_own_matrices(count: int) -> None:
    """Tracks fall behind by different steps (AIS reports at their own times): the
    matrices built for the batch at once (row by row for a few tracks, once per
    distinct step for many) are those of each step alone."""
    motion = ConstantVelocityMotion(1.0, spatial_dims=3, extra_states=1)
    rng = np.random.default_rng(count)
    distinct = np.array([1.0, 0.37, 2.5, 12.25, 1e-3, 3.0])
    steps = np.r_[distinct, rng.choice(distinct, count - len(distinct)) * rng.choice([1.0, 1.1])]
    states = _states(len(steps), motion.state_size, seed=1)
    transitions = motion.jacobian(states, steps)
    noises = motion.process_noise(states, steps)
    for row, step in enumerate(steps):
        alone = np.asarray(step)
        assert np.array_equal(transitions[row], motion.jacobian(states[row : row + 1], alone))
        assert np.array_equal(noises[row], motion.process_noise(states[row : row + 1], alone))


@pytest.mark.parametrize(
    "motion",
    [
        ConstantVelocityMotion(1.0, spatial_dims=3, extra_states=1),
        ConstantVelocityMotion(1.0, spatial_dims=2, extra_states=1),
        CoordinatedTurnMotion(4.0, spatial_dims=3),
        CoordinatedTurnMotion(4.0, spatial_dims=2),
    ],
    ids=lambda motion: f"{motion.name}-{motion.spatial_dims}d",
)
@pytest.mark.parametrize("shared_step", [True, False], ids=["shared-step", "own-steps"])
def test_one_step_call_is_propagate_jacobian_and_noise(
    motion: MotionModel, shared_step: bool
) -> None:
    states = _states(40, motion.state_size, seed=2)
    rng = np.random.default_rng(3)
    dt = np.asarray(1.5) if shared_step else rng.choice([0.5, 1.0, 2.75], size=len(states))
    moved, transition, noise = motion.step(states, dt)
    assert np.array_equal(moved, motion.propagate(states, dt))
    assert np.array_equal(transition, motion.jacobian(states, dt))
    assert np.array_equal(noise, motion.process_noise(states, dt))


def _plain_combine(
    mode_states: FloatArray, mode_covariances: FloatArray, probabilities: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Moment matching as written in the textbook, mode by mode, with broadcasting."""
    state = np.einsum("nr,nrd->nd", probabilities, mode_states)
    covariance = np.zeros_like(mode_covariances[:, 0])
    for mode in range(mode_states.shape[1]):
        spread = mode_states[:, mode] - state
        term = spread[:, :, None] * spread[:, None, :]
        term += mode_covariances[:, mode]
        term *= probabilities[:, mode, None, None]
        covariance += term
    return state, 0.5 * (covariance + np.swapaxes(covariance, -1, -2))


def test_the_imm_mixture_is_the_plain_moment_matching() -> None:
    rng = np.random.default_rng(4)
    count, modes, size = 300, 2, 7
    mode_states = rng.normal(size=(count, modes, size)) * 100.0
    factors = rng.normal(size=(count, modes, size, size))
    mode_covariances = factors @ np.swapaxes(factors, -1, -2)
    probabilities = rng.dirichlet(np.ones(modes), size=count)
    fast = combine(mode_states, mode_covariances, probabilities)
    plain = _plain_combine(mode_states, mode_covariances, probabilities)
    assert np.array_equal(fast[0], plain[0])
    assert np.array_equal(fast[1], plain[1])


def _plain_mutual_best(
    tracks: IntArray, measurements: IntArray, weights: FloatArray
) -> tuple[IntArray, IntArray]:
    """Each round sorts the alive pairs afresh and takes those best for both ends."""
    alive = np.ones(len(weights), dtype=np.bool_)
    chosen: list[IntArray] = []
    while alive.any():
        index = np.flatnonzero(alive)
        by_track = index[np.lexsort((weights[index], tracks[index]))]
        first_track = np.r_[True, tracks[by_track][1:] != tracks[by_track][:-1]]
        by_measurement = index[np.lexsort((weights[index], measurements[index]))]
        first_measurement = np.r_[
            True, measurements[by_measurement][1:] != measurements[by_measurement][:-1]
        ]
        mutual = np.intersect1d(by_track[first_track], by_measurement[first_measurement])
        chosen.append(mutual)
        taken_tracks = np.isin(tracks, tracks[mutual])
        taken_measurements = np.isin(measurements, measurements[mutual])
        alive &= ~taken_tracks & ~taken_measurements
    picked = np.concatenate(chosen)
    return tracks[picked], measurements[picked]


@pytest.mark.parametrize("seed", range(6))
def test_the_giant_cluster_matching_takes_the_pairs_of_the_plain_rounds(seed: int) -> None:
    """Same pairs in the same order, ties of weight included (broken by pair index)."""
    rng = np.random.default_rng(seed)
    pair_count, track_count, measurement_count = 4_000, 900, 1_000
    tracks = rng.integers(0, track_count, pair_count)
    measurements = rng.integers(0, measurement_count, pair_count)
    # One pair per (track, measurement), as a gate gives them.
    _, unique = np.unique(tracks * measurement_count + measurements, return_index=True)
    tracks, measurements = tracks[unique], measurements[unique]
    weights = -rng.integers(0, 6, len(tracks)).astype(np.float64)
    if seed % 2:
        weights = -rng.random(len(tracks))
    fast = _mutual_best_matching(tracks, measurements, weights)
    plain = _plain_mutual_best(tracks, measurements, weights)
    assert len(fast[0]) > 100
    assert np.array_equal(fast[0], plain[0])
    assert np.array_equal(fast[1], plain[1])
