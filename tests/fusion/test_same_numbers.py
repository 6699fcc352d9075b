"""Speed-ups of the filter and the associator give the very numbers of the plain forms.

The tracker's outputs are recorded (digests of scenario runs, OSPA figures), so a faster
path must not move a bit: each check below compares a fast path with the plain
computation it replaces, exactly (`numpy.array_equal` on floats, no tolerance). The one
path that moves the last bits on purpose, the two-mode IMM prediction entry by entry, is
checked against the textbook's products in `test_imm_entries.py`.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np
import pytest

from hotzone.fusion import association, gating, hypothesiser
from hotzone.fusion import imm as imm_module
from hotzone.fusion import motion as motion_module
from hotzone.fusion import predictor as predictor_module
from hotzone.fusion import updater as updater_module
from hotzone.fusion.association import _mutual_best_matching
from hotzone.fusion.estimates import Estimates, TrackBatch
from hotzone.fusion.hypothesiser import gate_reach
from hotzone.fusion.imm import IMMPredictor, combine, default_imm_models
from hotzone.fusion.measurement import MeasurementModel, PolarMeasurement, PositionMeasurement
from hotzone.fusion.motion import (
    ConstantVelocityMotion,
    CoordinatedTurnMotion,
    MotionModel,
)
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.stage import default_tracker
from hotzone.types.arrays import BoolArray, FloatArray, IntArray


def _states(count: int, size: int, seed: int) -> FloatArray:
    rng = np.random.default_rng(seed)
    scale = np.r_[np.full(size - 1, 1e3), 0.05][:size]
    states: FloatArray = rng.normal(size=(count, size)) * scale
    states[::5, -1] = 0.0  # straight flight: the turn terms' small-angle branch
    return states


@pytest.mark.parametrize(
    "count", [8, 200, motion_module.FEW_STEPS + 200], ids=["few", "window", "many-tracks"]
)
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


@pytest.mark.parametrize(
    ("count", "modes"),
    [(300, 2), (2 * imm_module.COMBINED_ROWS + 77, 2), (imm_module.COMBINED_ROWS, 3), (0, 2)],
    ids=["one-block", "blocks-and-a-part", "one-full-block", "no-tracks"],
)
def test_the_imm_mixture_is_the_plain_moment_matching(count: int, modes: int) -> None:
    """In blocks of rows or all at once, the same numbers."""
    rng = np.random.default_rng(4)
    size = 7
    mode_states = rng.normal(size=(count, modes, size)) * 100.0
    factors = rng.normal(size=(count, modes, size, size))
    mode_covariances = factors @ np.swapaxes(factors, -1, -2)
    probabilities = rng.dirichlet(np.ones(modes), size=count)
    fast = combine(mode_states, mode_covariances, probabilities)
    plain = _plain_combine(mode_states, mode_covariances, probabilities)
    assert np.array_equal(fast[0], plain[0])
    assert np.array_equal(fast[1], plain[1])


def test_the_imm_mixture_weighted_by_a_column_of_the_mixing_matrix_is_the_plain_one() -> None:
    """The IMM mixes with ``mixing[:, :, j]``, a strided view, not a contiguous array."""
    rng = np.random.default_rng(5)
    count, modes, size = imm_module.COMBINED_ROWS + 31, 2, 7
    mode_states = rng.normal(size=(count, modes, size)) * 1e4
    factors = rng.normal(size=(count, modes, size, size)) * 30.0
    mode_covariances = factors @ np.swapaxes(factors, -1, -2)
    mixing = rng.dirichlet(np.ones(modes), size=(count, modes)).transpose(0, 2, 1)
    for target in range(modes):
        weights = mixing[:, :, target]
        assert not weights.flags.c_contiguous
        fast = combine(mode_states, mode_covariances, weights)
        plain = _plain_combine(mode_states, mode_covariances, np.ascontiguousarray(weights))
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


PERIOD_S = 4.0


def _sweeps(
    targets: int, windows: int, seed: int, stamped_at_end: bool = False
) -> list[list[SensorScan]]:
    """A radar turning every 4 s seen in 1 s windows: each window's scan holds the plots of
    the quarter it swept (each at the time the beam passed it, or with
    ``stamped_at_end`` all at the window's end, as a clock tick stamps them), and some
    clutter. Half the targets fly straight, half turn at up to 3 deg/s."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(-120_000.0, 120_000.0, (targets, 2))
    height = rng.uniform(500.0, 11_000.0, targets)
    speed = rng.uniform(60.0, 250.0, targets)
    heading = rng.uniform(0.0, 2 * np.pi, targets)
    turn = np.where(rng.random(targets) < 0.5, 0.0, np.radians(rng.uniform(-3.0, 3.0, targets)))

    def position(time: FloatArray) -> FloatArray:
        angle = heading + turn * time
        safe = np.where(turn == 0.0, 1.0, turn)
        moved_east = np.where(
            turn == 0.0,
            speed * time * np.sin(heading),
            speed * (np.cos(heading) - np.cos(angle)) / safe,
        )
        moved_north = np.where(
            turn == 0.0,
            speed * time * np.cos(heading),
            speed * (np.sin(angle) - np.sin(heading)) / safe,
        )
        return np.stack([start[:, 0] + moved_east, start[:, 1] + moved_north, height], axis=1)

    windows_scans: list[list[SensorScan]] = []
    for window in range(windows):
        begin = float(window)
        azimuth = np.degrees(np.arctan2(*position(np.full(targets, begin))[:, :2].T)) % 360.0
        times = np.floor(begin / PERIOD_S) * PERIOD_S + azimuth / 360.0 * PERIOD_S
        swept = (times >= begin) & (times < begin + 1.0) & (rng.random(targets) < 0.9)
        plots = position(times)[swept] + rng.normal(size=(int(swept.sum()), 3)) * 60.0
        plot_times = times[swept]
        clutter = rng.uniform(-120_000.0, 120_000.0, (5, 3))
        clutter[:, 2] = rng.uniform(0.0, 3_000.0, 5)
        values = np.vstack([plots, clutter])
        all_times = np.r_[plot_times, begin + rng.random(5)]
        if stamped_at_end:
            all_times = np.full(len(all_times), begin + 1.0)
        count = len(values)
        windows_scans.append(
            [
                SensorScan(
                    sensor_id="asr",
                    model=PositionMeasurement(3),
                    values=values,
                    noise=np.broadcast_to(np.diag([60.0**2, 60.0**2, 300.0**2]), (count, 3, 3)),
                    times=all_times,
                    sensor_position=np.zeros(3),
                )
            ]
        )
    return windows_scans


def _batch_digest(batch: TrackBatch) -> list[object]:
    values: list[object] = []
    for field in fields(TrackBatch):
        value = getattr(batch, field.name)
        if isinstance(value, Estimates):
            values.extend(part for part in value._values() if part is not None)
        else:
            values.append(value)
    return values


def _same(first: list[object], second: list[object]) -> bool:
    """Every column equal, bit for bit (NaN where NaN: a revisit not learnt yet)."""
    if len(first) != len(second):
        return False
    for mine, theirs in zip(first, second, strict=True):
        assert isinstance(mine, np.ndarray) and isinstance(theirs, np.ndarray)
        if mine.dtype == object:
            if mine.tolist() != theirs.tolist():
                return False
        elif not np.array_equal(mine, theirs, equal_nan=mine.dtype.kind == "f"):
            return False
    return True


@pytest.mark.parametrize("stamped_at_end", [False, True], ids=["beam-times", "window-end"])
def test_a_scan_predicts_only_the_tracks_it_may_reach_with_the_numbers_of_all(
    monkeypatch: pytest.MonkeyPatch, stamped_at_end: bool
) -> None:
    """The operational tracker stepped on a turning radar's quarter-sweeps gives every
    window the very batch it gives when every track is predicted for every scan; most
    scans predicted half of the tracks or fewer. With the plots stamped at the window's
    end, the window's end reuses the scan's prediction of the tracks it predicted and
    predicts the others itself. (Without its declared rotation the
    radar's revisit is learnt from its updates in their order, which the pairs' order
    sets: every track is then predicted, `Hypothesiser.predict_for_scan`.)"""
    sweeps = _sweeps(targets=300, windows=20, seed=7, stamped_at_end=stamped_at_end)
    shares: list[float] = []
    selecting = hypothesiser.Hypothesiser._may_join

    def counted(self: hypothesiser.Hypothesiser, *args: object) -> object:
        result = selecting(self, *args)  # type: ignore[arg-type]
        if result is not None:
            shares.append(float(result.mean()))
        return result

    monkeypatch.setattr(hypothesiser.Hypothesiser, "_may_join", counted)
    selective = default_tracker()
    selective.declare_revisit("asr", PERIOD_S)
    selected = [
        _batch_digest(selective.step(window + 1.0, scans)) for window, scans in enumerate(sweeps)
    ]
    monkeypatch.setattr(hypothesiser, "SELECTED_FROM_TRACKS", 10**9)
    plain = default_tracker()
    plain.declare_revisit("asr", PERIOD_S)
    for window, scans in enumerate(sweeps):
        assert _same(selected[window], _batch_digest(plain.step(window + 1.0, scans))), window
    assert len(shares) >= 10
    assert np.median(shares) < 0.5
    assert selective.tracks.confirmed.sum() > 200


def test_the_reach_bounds_each_track_s_predicted_gate() -> None:
    """Whatever a prediction makes of a track, its gate (the position it is predicted at,
    plus the radius `Hypothesiser.gate` searches) lies within the reach bounded from the
    track's own estimate."""
    tracker = default_tracker()
    for window, scans in enumerate(_sweeps(targets=200, windows=12, seed=8)):
        tracker.step(window + 1.0, scans)
    tracks = tracker.tracks
    assert tracks.size > 150
    threshold, noise_trace, spread = tracker.gater.threshold(3), 1e5, 0.8
    for step in (0.0, 0.3, 1.0, 4.0, 11.0):
        dt = np.full(tracks.size, step)
        predicted = tracker.predictor.predict(tracks.estimates, dt)
        centre, reach = gate_reach(
            tracks.estimates, dt, 3, 4.0, True, threshold, noise_trace, spread
        )
        speed = np.linalg.norm(predicted.state[:, 3:6], axis=1)
        position_trace = np.trace(predicted.covariance[:, :3, :3], axis1=1, axis2=2)
        radius = np.sqrt(threshold * (position_trace + noise_trace)) + speed * spread
        moved = np.linalg.norm(predicted.state[:, :3] - centre, axis=1)
        assert (moved + radius <= reach).all()
        if step <= 1.0:  # a window's steps: tight enough to leave most tracks out
            assert np.median(reach) < 20_000.0


def _plain_interleave(block: FloatArray, spatial_dims: int, state_size: int) -> FloatArray:
    """The Kronecker product with the identity, by broadcasting, padded with zeros."""
    order = block.shape[-1]
    expanded = block[..., :, None, :, None] * np.eye(spatial_dims)[:, None, :]
    kinematic = expanded.reshape(*block.shape[:-2], order * spatial_dims, order * spatial_dims)
    full = np.zeros((*block.shape[:-2], state_size, state_size))
    full[..., : order * spatial_dims, : order * spatial_dims] = kinematic
    return full


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("extra_states", [0, 1])
def test_per_axis_blocks_are_placed_as_the_kronecker_product(
    order: int, spatial_dims: int, extra_states: int
) -> None:
    rng = np.random.default_rng(order * 10 + spatial_dims)
    size = order * spatial_dims + extra_states
    for shape in [(), (1,), (57,)]:
        block = rng.normal(size=(*shape, order, order)) * 10.0 ** rng.integers(-6, 6)
        assert np.array_equal(
            motion_module._interleave(block, spatial_dims, size),
            _plain_interleave(block, spatial_dims, size),
        )


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_the_noise_alone_is_that_of_the_grouped_matrices(spatial_dims: int) -> None:
    """Per-track steps: the constant-velocity noise built alone, and the coordinated
    turn's on top of it, are those of `_matrices` (one build per distinct step) and of
    the shared-step form copied per track."""
    velocity = ConstantVelocityMotion(4.0, spatial_dims=spatial_dims, extra_states=1)
    turn = CoordinatedTurnMotion(4.0, spatial_dims=spatial_dims)
    rng = np.random.default_rng(spatial_dims)
    steps = np.r_[rng.uniform(0.0, 5.0, 150), np.repeat([1.0, 2.5], 100), -0.75]
    states = _states(len(steps), turn.state_size, seed=5)
    grouped_noise = velocity._matrices(steps)[1]
    textbook = velocity.noise_intensity * _plain_interleave(
        motion_module._kinematic_block(2, steps)[1], spatial_dims, velocity.state_size
    )
    textbook[:, -1, -1] = 1e-8 * np.abs(steps)
    assert np.array_equal(grouped_noise, textbook)
    assert np.array_equal(velocity.process_noise(states, steps), grouped_noise)
    plain_turn = np.broadcast_to(grouped_noise, grouped_noise.shape).copy()
    plain_turn[:, -1, -1] = turn.turn_rate_noise * steps
    assert np.array_equal(turn.process_noise(states, steps), plain_turn)
    for row in (0, 151, 260, len(steps) - 1):
        alone = np.asarray(steps[row])
        assert np.array_equal(turn.process_noise(states[row : row + 1], alone)[0], plain_turn[row])


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("shared_step", [True, False], ids=["shared-step", "own-steps"])
def test_the_turn_rate_column_is_the_central_difference_of_whole_states(
    spatial_dims: int, shared_step: bool
) -> None:
    """The Jacobian's turn-rate column, taken on the entries a turn moves, is the central
    difference of the two whole propagated states (within the bound, beyond it, and at
    zero rate), entry for entry."""
    turn = CoordinatedTurnMotion(4.0, spatial_dims=spatial_dims)
    states = _states(90, turn.state_size, seed=6)
    states[1::7, -1] = 2.0  # far beyond any object's bound: held at it
    states[2::7, spatial_dims : 2 * spatial_dims] *= 1e-3  # slow: the rate's own bound
    rng = np.random.default_rng(7)
    dt = np.asarray(2.5) if shared_step else rng.uniform(0.0, 12.0, size=len(states))
    step = 1e-5
    plus, minus = states.copy(), states.copy()
    plus[:, -1] += step
    minus[:, -1] -= step
    plain_column = (turn.propagate(plus, dt) - turn.propagate(minus, dt)) / (2 * step)
    jacobian = turn.jacobian(states, dt)
    assert np.array_equal(jacobian[:, :, -1], plain_column)
    assert np.array_equal(turn.step(states, dt)[1], jacobian)
    held = np.abs(states[:, -1]) > turn.turn_rate_limit(states) + step
    assert held.any() and (jacobian[held, -1, -1] == 0.0).all()


def _pre_gate_cases() -> list[tuple[str, FloatArray, FloatArray, FloatArray, bool]]:
    """Tracks and measurements that reach every edge of the dense cell table: tracks far
    outside the measured box on each side and across its corners, rows and columns of
    the box without a measurement, measurements sharing one cell, coasting radii answered
    by the KD-tree, non-finite tracks and radii, one measurement alone."""
    rng = np.random.default_rng(11)
    cases: list[tuple[str, FloatArray, FloatArray, FloatArray, bool]] = []
    measurements = rng.uniform(-5_000.0, 5_000.0, (600, 2))
    measurements[::3, 1] = np.round(measurements[::3, 1] / 2_000.0) * 2_000.0  # empty rows
    measurements[1::7] = measurements[0]  # many in one cell
    tracks = np.vstack(
        [
            rng.uniform(-5_500.0, 5_500.0, (700, 2)),
            rng.uniform(-40_000.0, 40_000.0, (200, 2)),  # mostly beyond the box
            [[-6_000.0, 0.0], [6_000.0, 0.0], [0.0, -6_000.0], [0.0, 6_000.0]],
            [[-5_300.0, -5_300.0], [5_300.0, 5_300.0], [-5_300.0, 5_300.0], [5_300.0, -5_300.0]],
            [[np.nan, 0.0], [0.0, np.inf]],
        ]
    )
    radii = rng.uniform(20.0, 500.0, len(tracks))
    radii[:30] = rng.uniform(1_000.0, 8_000.0, 30)  # coasting: the KD-tree
    radii[30:33] = [np.inf, np.nan, 0.0]
    radii[-10:-2] = 400.0  # reaching into the box from outside
    cases.append(("edges", tracks, radii, measurements, True))
    cases.append(("one-measurement", tracks, radii, measurements[:1], True))
    cases.append(("one-row", tracks, radii, np.c_[measurements[:, 0], np.full(600, 10.0)], True))
    heights = np.c_[measurements, rng.uniform(0.0, 9_000.0, 600)]
    track_heights = np.c_[tracks, rng.uniform(0.0, 9_000.0, len(tracks))]
    cases.append(("three-d", track_heights, radii * 3.0, heights, True))
    wide = rng.uniform(-1e7, 1e7, (50, 2))  # a box too large for a dense table
    sparse = (np.vstack([wide, tracks]), np.r_[np.full(50, 1e5), radii], wide)
    cases.append(("sparse-box", *sparse, False))
    return cases


@pytest.mark.parametrize(
    ("tracks", "radii", "measurements", "dense"),
    [case[1:] for case in _pre_gate_cases()],
    ids=[case[0] for case in _pre_gate_cases()],
)
def test_the_dense_cell_table_finds_the_pairs_of_the_binary_search(
    monkeypatch: pytest.MonkeyPatch,
    tracks: FloatArray,
    radii: FloatArray,
    measurements: FloatArray,
    dense: bool,
) -> None:
    """The grid pre-gate counting measurements per cell in a dense table of the measured
    box gives the very pairs, in the very order, of the binary search in sorted keys."""
    built: list[bool] = []
    counter_over = gating._CellCounter.over

    def spied(*args: Any, **kwargs: Any) -> gating._CellCounter:
        counter = counter_over(*args, **kwargs)
        built.append(counter.prefix is not None)
        return counter

    monkeypatch.setattr(gating._CellCounter, "over", staticmethod(spied))
    # The cells' search itself, whatever the size (a small pre-gate scans its pairs:
    # `tests/fusion/test_window_costs_same_numbers.py` compares that with the search).
    binned = gating._Binned.over(tracks, radii, measurements)
    fast = gating._searched_pairs(tracks, measurements, binned)
    assert built == [dense]
    monkeypatch.setattr(gating, "DENSE_CELLS_LIMIT", 0)
    plain = gating._searched_pairs(tracks, measurements, binned)
    assert len(plain[0]) > 0
    assert np.array_equal(fast[0], plain[0])
    assert np.array_equal(fast[1], plain[1])
    assert fast[0].dtype == plain[0].dtype and fast[1].dtype == plain[1].dtype


def test_the_dense_cell_table_is_taken_where_the_box_is_small() -> None:
    """What the comparison above compares: the dense table on a compact picture, the
    binary search on a box of far more cells than queries."""
    cells = np.array([[0, 0], [10, 5], [3, 2]], dtype=np.int64)
    keys = gating._cell_keys(cells[:, 1], cells[:, 0])
    order = np.argsort(keys, kind="stable")
    assert gating._CellCounter.over(cells, keys, order, queries=100).prefix is not None
    far = np.array([[0, 0], [100_000, 5]], dtype=np.int64)
    far_keys = gating._cell_keys(far[:, 1], far[:, 0])
    assert gating._CellCounter.over(far, far_keys, np.argsort(far_keys), 100).prefix is None


def _plain_kalman_predict(
    motion: MotionModel, state: FloatArray, covariance: FloatArray, dt: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The prediction grouped by ``np.unique`` of the steps, as it was first written."""
    if dt.ndim and dt.size and (dt == dt.flat[0]).all():
        dt = np.asarray(dt.flat[0])
    elif dt.ndim == 1 and len(dt) >= predictor_module.GROUPED_FROM_TRACKS:
        steps, which = np.unique(dt, return_inverse=True)
        if len(steps) <= predictor_module.SHARED_STEP_GROUPS:
            predicted_state = np.empty_like(state)
            predicted_covariance = np.empty_like(covariance)
            for index, step in enumerate(steps.tolist()):
                group = np.flatnonzero(which == index)
                predicted_state[group], predicted_covariance[group] = _plain_kalman_predict(
                    motion, state[group], covariance[group], np.asarray(step)
                )
            return predicted_state, predicted_covariance
    predicted_state, transition, noise = motion.step(state, dt)
    predicted_covariance = transition @ covariance @ np.swapaxes(transition, -1, -2)
    predicted_covariance += noise
    return predicted_state, 0.5 * (predicted_covariance + np.swapaxes(predicted_covariance, -1, -2))


def _step_cases(count: int) -> dict[str, FloatArray]:
    rng = np.random.default_rng(count)
    several = rng.choice([1.0, 2.0, 3.0, 0.25], size=count)
    mixed_zeros = rng.choice([0.0, -0.0, 1.0], size=count)
    mixed_zeros[:2] = [1.0, -0.0]
    with_nan = several.copy()
    with_nan[::17] = np.nan
    probe = predictor_module.DISTINCT_PROBE_ROWS
    return {
        "shared": np.asarray(1.0),
        "one-step-per-track": np.full(count, 2.5),
        "several": several,
        "nine": np.r_[np.arange(9.0), rng.choice(np.arange(9.0), count - 9)],
        "nine-after-the-probe": np.r_[np.full(probe, 4.0), np.arange(count - probe) % 9.0],
        "each-its-own": rng.uniform(0.0, 4.0, count),
        "infinite": np.where(several == 3.0, np.inf, several),
        "negative-zeros": np.where(several == 2.0, -0.0, several),
        "mixed-zeros": mixed_zeros,
        "nan": with_nan,
    }


@pytest.mark.parametrize("count", [100, 2_100], ids=["few-tracks", "many-tracks-in-blocks"])
@pytest.mark.parametrize(
    "motion",
    [
        ConstantVelocityMotion(1.0, spatial_dims=2, extra_states=1),
        CoordinatedTurnMotion(4.0, spatial_dims=3),
    ],
    ids=lambda motion: motion.name,
)
def test_steps_grouped_by_comparison_predict_as_grouped_by_unique(
    count: int, motion: MotionModel
) -> None:
    """The steps' groups found by comparing the batch with one step at a time (and
    found once for all modes of an IMM) predict each track as `np.unique`'s groups do:
    one step, several, more than `SHARED_STEP_GROUPS`, infinite, NaN and signed zeros;
    a batch of more than `PREDICTED_ROWS` propagated block by block."""
    states = _states(count, motion.state_size, seed=count)
    factors = np.random.default_rng(9).normal(size=(count, motion.state_size, motion.state_size))
    covariances = factors @ np.swapaxes(factors, -1, -2)
    for name, dt in _step_cases(count).items():
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            plain = _plain_kalman_predict(motion, states, covariances, dt)
            fast = predictor_module.kalman_predict(motion, states, covariances, dt)
            shared = predictor_module.kalman_predict(
                motion, states, covariances, dt, predictor_module.group_steps(dt)
            )
        for result in (fast, shared):
            assert np.array_equal(result[0], plain[0], equal_nan=True), name
            assert np.array_equal(result[1], plain[1], equal_nan=True), name
            assert (np.signbit(result[1]) == np.signbit(plain[1])).all(), name
    groups = predictor_module.group_steps(_step_cases(count)["several"]).groups
    assert (groups is not None) == (count >= predictor_module.GROUPED_FROM_TRACKS)


def test_the_imm_prediction_groups_steps_once_with_the_numbers_of_each_mode_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An IMM that predicts by matrix products (three modes here: two go entry by entry,
    `tests/fusion/test_imm_entries.py`)."""
    predictor = IMMPredictor(
        (
            *default_imm_models(spatial_dims=2),
            ConstantVelocityMotion(3.0, spatial_dims=2, extra_states=1),
        )
    )
    count = 2_000
    states = _states(count, predictor.state_size, seed=12)
    size = predictor.state_size
    factors = np.random.default_rng(13).normal(size=(count, size, size))
    estimates = predictor.initial_estimates(states, factors @ np.swapaxes(factors, -1, -2))
    dt = np.random.default_rng(14).choice([1.0, 2.0, 3.0], size=count)
    estimates = predictor.predict(estimates, dt)  # modes apart
    fast = predictor.predict(estimates, dt)
    monkeypatch.setattr(
        imm_module,
        "kalman_predict",
        lambda motion, state, covariance, dt, steps=None, out=None: _written(
            _plain_kalman_predict(motion, state, covariance, dt), out
        ),
    )
    plain = predictor.predict(estimates, dt)
    for mine, theirs in zip(fast._values(), plain._values(), strict=True):
        assert mine is not None and theirs is not None
        assert np.array_equal(mine, theirs)


@pytest.mark.parametrize("modes", [0, 2], ids=["single-model", "imm"])
def test_estimates_taken_along_rows_are_those_fancy_indexing_gives(modes: int) -> None:
    rng = np.random.default_rng(15)
    count, size = 300, 7
    estimates = Estimates(
        rng.normal(size=(count, size)),
        rng.normal(size=(count, size, size)),
        *(
            (
                rng.normal(size=(count, modes, size)),
                rng.normal(size=(count, modes, size, size)),
                rng.random((count, modes)),
            )
            if modes
            else (None, None, None)
        ),
    )
    mask = rng.random(count) < 0.9
    selections: list[IntArray | BoolArray] = [
        np.flatnonzero(mask),
        mask,
        np.zeros(count, dtype=np.bool_),
        np.zeros(0, dtype=np.int64),
        np.array([-1, 0, 5, 5, 299], dtype=np.int32),
        rng.permutation(count)[:50],
    ]
    for selection in selections:
        taken = estimates.take(selection)
        for mine, whole in zip(taken._values(), estimates._values(), strict=True):
            if whole is None:
                assert mine is None
                continue
            assert mine is not None
            expected = whole[selection]
            assert mine.shape == expected.shape and np.array_equal(mine, expected)
    with pytest.raises(IndexError):
        estimates.take(np.array([count]))


def _plain_predicted_reusing(
    hypothesiser_: hypothesiser.Hypothesiser,
    tracks: TrackBatch,
    time: float,
    behind: IntArray,
    earlier: Estimates,
    valid: BoolArray,
) -> TrackBatch:
    """The merge as first written: the earlier prediction copied whole, the tracks' own
    rows gathered into it."""
    first = len(valid)
    reuse = np.zeros(tracks.size, dtype=np.bool_)
    reuse[:first] = valid & (tracks.time[:first] < time)
    later = np.arange(first, tracks.size)
    merged = Estimates.concatenate([earlier, tracks.estimates.take(later)])
    kept_as_is = np.flatnonzero(~reuse[:first] & ~(tracks.time[:first] < time))
    if len(kept_as_is):
        merged.assign(kept_as_is, tracks.estimates.take(kept_as_is))
    behind = behind[~reuse[behind]]
    if len(behind):
        merged.assign(
            behind,
            hypothesiser_.predictor.predict(
                tracks.estimates.take(behind), time - tracks.time[behind]
            ),
        )
    return tracks.with_estimates(merged, np.maximum(tracks.time, time))


@pytest.mark.parametrize("reused_share", [0.05, 0.5, 0.95])
def test_a_window_s_end_reuses_the_scan_s_prediction_with_the_numbers_of_the_plain_merge(
    reused_share: float,
) -> None:
    """Copied from the tracks and the reused rows gathered in, or copied from the
    earlier prediction and the tracks' rows gathered in: the same batch, whichever
    holds more rows (tracks updated at the window's time, reusable, stale, started
    after the earlier prediction)."""
    tracker = default_tracker()
    for window, scans in enumerate(_sweeps(targets=300, windows=8, seed=16)):
        tracker.step(window + 1.0, scans)
    tracks = tracker.tracks
    rng = np.random.default_rng(17)
    time = float(tracks.time.max()) + 0.5
    at_time = rng.random(tracks.size) < (1.0 - reused_share) / 2
    tracks = replace(tracks, time=np.where(at_time, time, tracks.time))
    first = tracks.size - 20  # the last 20 started after the earlier prediction
    earlier = tracker.predictor.predict(
        tracks.estimates.take(np.arange(first)), np.maximum(time - tracks.time[:first], 0.0)
    )
    valid = rng.random(first) < reused_share / (1.0 - (1.0 - reused_share) / 2)
    behind = np.flatnonzero(tracks.time < time)
    fast = tracker.hypothesiser._predicted_reusing(tracks, time, behind, earlier, valid)
    plain = _plain_predicted_reusing(tracker.hypothesiser, tracks, time, behind, earlier, valid)
    assert _same(_batch_digest(fast), _batch_digest(plain))
    reused = int((valid & (tracks.time[:first] < time)).sum())
    assert 0 < reused < first


def _plain_contested_loop(
    tracks: IntArray, measurements: IntArray, weights: FloatArray
) -> tuple[IntArray, IntArray]:
    """`GNNAssociator._solve_clusters` as first written: each contested cluster too large
    to enumerate split off and solved alone by `_solve_contested`."""
    labels, count = association.cluster_labels(tracks, measurements)
    track_label = np.full(int(tracks.max()) + 1, -1, dtype=np.int64)
    track_label[tracks] = labels
    measurement_label = np.full(int(measurements.max()) + 1, -1, dtype=np.int64)
    measurement_label[measurements] = labels
    tracks_per_cluster = np.bincount(track_label[track_label >= 0], minlength=count)
    measurements_per_cluster = np.bincount(
        measurement_label[measurement_label >= 0], minlength=count
    )
    simple = (tracks_per_cluster == 1) | (measurements_per_cluster == 1)
    order = np.lexsort((weights, labels))
    sorted_labels = labels[order]
    first = np.ones(len(order), dtype=np.bool_)
    first[1:] = sorted_labels[1:] != sorted_labels[:-1]
    best = order[first & simple[sorted_labels]]
    chosen_tracks = [tracks[best]]
    chosen_measurements = [measurements[best]]
    contested = order[~simple[sorted_labels]]
    if len(contested):
        small, large, (track_rank, measurement_rank) = association._solve_small_clusters(
            tracks[contested], measurements[contested], weights[contested], labels[contested]
        )
        chosen_tracks.append(small[0])
        chosen_measurements.append(small[1])
        remaining = np.flatnonzero(large)
        if len(remaining):
            bounds = np.flatnonzero(np.diff(labels[contested[remaining]])) + 1
            for within in np.split(remaining, bounds):
                group = contested[within]
                chosen = association._solve_contested(
                    tracks[group],
                    measurements[group],
                    weights[group],
                    (track_rank[within], measurement_rank[within]),
                )
                chosen_tracks.append(chosen[0])
                chosen_measurements.append(chosen[1])
    return (
        np.concatenate(chosen_tracks).astype(np.int64),
        np.concatenate(chosen_measurements).astype(np.int64),
    )


def _contested_picture(seed: int) -> tuple[IntArray, IntArray, FloatArray]:
    """Gated pairs of a dense picture: many clusters of every size (alone, enumerable,
    a few by 5 to 20 tracks, over 400 cells, one beyond `GIANT_CLUSTER_PAIRS`), weights
    with ties (whole numbers) or without."""
    rng = np.random.default_rng(seed)
    tracks_found: list[IntArray] = []
    measurements_found: list[IntArray] = []
    track_base = measurement_base = 0
    sizes = [*rng.integers(1, 9, 400).tolist(), 25, 30, 120]
    for size in sizes:
        pair_count = int(size * rng.uniform(1.5, 3.0)) if size < 120 else 9_000
        cluster_tracks = rng.integers(0, size, pair_count) + track_base
        cluster_measurements = rng.integers(0, size + 1, pair_count) + measurement_base
        tracks_found.append(cluster_tracks)
        measurements_found.append(cluster_measurements)
        track_base += size + int(rng.integers(0, 3))  # some track numbers without pairs
        measurement_base += size + 1
    tracks = np.concatenate(tracks_found)
    measurements = np.concatenate(measurements_found)
    _, unique = np.unique(tracks * measurement_base + measurements, return_index=True)
    unique = rng.permutation(unique)  # pairs in no particular order, as gating gives them
    tracks, measurements = tracks[unique], measurements[unique]
    weights = -rng.random(len(tracks)) * 3.0
    if seed % 2:
        weights = -rng.integers(1, 4, len(tracks)).astype(np.float64)
    return tracks, measurements, weights


@pytest.mark.parametrize("seed", range(4))
def test_the_contested_clusters_solved_on_slices_choose_the_pairs_of_each_alone(
    seed: int,
) -> None:
    tracks, measurements, weights = _contested_picture(seed)
    fast = association.GNNAssociator._solve_clusters(tracks, measurements, weights)
    plain = _plain_contested_loop(tracks, measurements, weights)
    assert len(fast[0]) > 1_000
    assert np.array_equal(fast[0], plain[0])
    assert np.array_equal(fast[1], plain[1])


def test_a_track_batch_taken_along_rows_is_the_one_fancy_indexing_gives() -> None:
    tracker = default_tracker()
    for window, scans in enumerate(_sweeps(targets=120, windows=6, seed=18)):
        tracker.step(window + 1.0, scans)
    tracks = tracker.tracks
    rng = np.random.default_rng(19)
    mask = rng.random(tracks.size) < 0.8
    for selection in (mask, np.flatnonzero(mask), np.array([-1, 3, 3, 0], dtype=np.int32)):
        taken = tracks.take(selection)
        expected = [
            value[selection] if isinstance(value, np.ndarray) else value
            for value in _batch_digest(tracks)
        ]
        assert _same(_batch_digest(taken), expected)
        assert all(
            isinstance(mine, np.ndarray)
            and isinstance(theirs, np.ndarray)
            and mine.dtype == theirs.dtype
            for mine, theirs in zip(_batch_digest(taken), expected, strict=True)
        )


def _update_cases(count: int, size: int) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Predicted states and covariances: well-conditioned; with some rows nearly
    singular (the short form loses definiteness: Joseph form, then the eigenvalue
    repair); with NaN rows."""
    rng = np.random.default_rng(count + 21)
    states = _states(count, size, seed=count + 22)
    factors = rng.normal(size=(count, size, size)) * 30.0
    healthy = factors @ np.swapaxes(factors, -1, -2)
    fragile = healthy.copy()
    # Rank one, huge: the update's rounding leaves covariances that are not definite.
    fragile[::11] = np.outer(np.arange(1, size + 1), np.arange(1, size + 1)) * 1e12
    broken_states, broken = states.copy(), healthy.copy()
    broken_states[::13] = np.nan
    broken[::17, 0, 0] = np.nan
    return {
        "healthy": (states, healthy),
        "fragile": (states, fragile),
        "nan": (broken_states, broken),
    }


@pytest.mark.parametrize(
    "count",
    [0, 1, 300, updater_module.UPDATED_ROWS, 2 * updater_module.UPDATED_ROWS + 77],
    ids=["no-rows", "one-row", "one-block", "one-full-block", "blocks-and-a-part"],
)
@pytest.mark.parametrize(
    "model", [PositionMeasurement(dims=2), PolarMeasurement()], ids=["position", "polar"]
)
def test_the_kalman_update_in_blocks_of_rows_is_the_update_of_all_at_once(
    monkeypatch: pytest.MonkeyPatch, count: int, model: MeasurementModel
) -> None:
    """Block by block (and written into given arrays, as the IMM's mode slots) or all
    rows at once, with and without likelihoods, through the Joseph form and the repair
    of covariances that lost definiteness: the same numbers."""
    size = 7
    rng = np.random.default_rng(count + 23)
    sensor_positions = np.broadcast_to(np.array([1e3, -2e3, 0.0]), (count, 3))
    if model.position_size:
        noise = np.broadcast_to(np.eye(model.size) * 1e-4, (count, model.size, model.size))
    else:
        noise = np.broadcast_to(np.diag([2.5e3, 1e-6, 1e-6]), (count, 3, 3))
    repaired: list[bool] = []
    ensure = updater_module.ensure_positive_definite

    def spied(matrices: FloatArray) -> FloatArray:
        result = ensure(matrices)
        repaired.append(result is not matrices)
        return result

    monkeypatch.setattr(updater_module, "ensure_positive_definite", spied)
    for name, (states, covariances) in _update_cases(count, size).items():
        with np.errstate(all="ignore"):
            exact = model.measure(states, sensor_positions)
        measured = exact + rng.normal(size=exact.shape) * np.sqrt(np.diagonal(noise[:1], 0, 1, 2))
        for with_likelihood in (False, True):
            arguments = (model, states, covariances, measured, noise, sensor_positions)
            slots = (
                np.full((count, 2, size), -1.0),
                np.full((count, 2, size, size), -1.0),
                np.full((count, 2), -1.0),
            )
            into = (slots[0][:, 1], slots[1][:, 1], slots[2][:, 1])
            with np.errstate(all="ignore"):
                fast = updater_module.kalman_update(*arguments, with_likelihood)
                written = updater_module.kalman_update(*arguments, with_likelihood, out=into)
                monkeypatch.setattr(updater_module, "UPDATED_ROWS", 10**9)
                plain = updater_module.kalman_update(*arguments, with_likelihood)
                monkeypatch.setattr(updater_module, "UPDATED_ROWS", UPDATED_ROWS)
            for result in (fast, written):
                for mine, theirs in zip(result, plain, strict=True):
                    assert mine.shape == theirs.shape, name
                    assert np.array_equal(mine, theirs, equal_nan=True), name
                    assert (np.signbit(mine) == np.signbit(theirs)).all(), name
            assert all(mine is slot for mine, slot in zip(written, into, strict=True))
            assert (slots[0][:, 0] == -1.0).all() and (slots[1][:, 0] == -1.0).all()
    if count >= 300:
        assert any(repaired), "no covariance was repaired: the repair path is not compared"


UPDATED_ROWS = updater_module.UPDATED_ROWS


@pytest.mark.parametrize("count", [0, 1, 300], ids=["no-rows", "one-row", "rows"])
@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_a_shared_transition_propagates_as_matrix_by_matrix_products(
    count: int, spatial_dims: int
) -> None:
    """F P Fᵀ with one F as two products over the whole stack: the numbers (and signs
    of zeros) of the products matrix by matrix, for several steps and covariances that
    are not symmetric, hold exact zeros of either sign, NaN or infinities."""
    motion = ConstantVelocityMotion(1.0, spatial_dims=spatial_dims, extra_states=1)
    size = motion.state_size
    rng = np.random.default_rng(count + 31)
    states = _states(count, size, seed=count + 32)
    covariances = rng.normal(size=(count, size, size)) * 1e3  # not symmetric
    covariances[::3, -1, :] = 0.0
    covariances[::3, :, -1] = -0.0
    covariances[1::4] = -0.0
    covariances[::7, 1, 2] = np.nan
    covariances[::11, 0, 0] = np.inf
    covariances[::13, 2, 1] = -np.inf
    for dt in (1.0, 0.7, 2.0, 3.0, 2.5e-3, 123.4, 0.0, -0.0):
        _, transition, _ = motion.step(states, np.asarray(dt))
        assert transition.ndim == 2  # shared: the path under test
        with np.errstate(invalid="ignore", over="ignore"):
            fast = predictor_module._propagated(transition, covariances)
            plain = transition @ covariances @ np.swapaxes(transition, -1, -2)
        assert fast.shape == plain.shape
        assert np.array_equal(fast, plain, equal_nan=True), dt
        assert (np.signbit(fast) == np.signbit(plain)).all(), dt


def _written(
    results: tuple[FloatArray, FloatArray], out: tuple[FloatArray, FloatArray] | None
) -> tuple[FloatArray, FloatArray]:
    """``results`` copied into ``out`` where given, as `kalman_predict` writes them."""
    if out is None:
        return results
    out[0][...], out[1][...] = results
    return out


@pytest.mark.parametrize(
    "motion",
    [
        ConstantVelocityMotion(1.0, spatial_dims=2, extra_states=1),
        CoordinatedTurnMotion(4.0, spatial_dims=3),
    ],
    ids=lambda motion: motion.name,
)
def test_groups_of_more_than_a_block_written_into_mode_slots_predict_as_plain(
    motion: MotionModel,
) -> None:
    """Steps' groups of more than `PREDICTED_ROWS` rows, each block of a group gathered
    and placed in the processor's cache, written into strided slots (an IMM's mode):
    the numbers of the plain prediction, and nothing written outside the slots."""
    count = 2 * predictor_module.PREDICTED_ROWS + 2 * predictor_module.GROUPED_FROM_TRACKS + 3
    states = _states(count, motion.state_size, seed=41)
    size = motion.state_size
    factors = np.random.default_rng(42).normal(size=(count, size, size))
    covariances = factors @ np.swapaxes(factors, -1, -2)
    covariances[::9, 0, 1] = np.nan
    rng = np.random.default_rng(43)
    for dt in (
        rng.choice([1.0, 2.0, 3.0], p=[0.8, 0.15, 0.05], size=count),
        np.where(rng.random(count) < 0.7, 1.0, -0.0),
        np.asarray(1.0),
        np.zeros(count),
    ):
        steps = predictor_module.group_steps(dt)
        with np.errstate(invalid="ignore", over="ignore"):
            plain = _plain_kalman_predict(motion, states, covariances, dt)
            slots = (np.full((count, 2, size), -1.0), np.full((count, 2, size, size), -1.0))
            into = (slots[0][:, 0], slots[1][:, 0])
            written = predictor_module.kalman_predict(
                motion, states, covariances, dt, steps, out=into
            )
        assert written[0] is into[0] and written[1] is into[1]
        for mine, theirs in zip(written, plain, strict=True):
            assert np.array_equal(mine, theirs, equal_nan=True)
            assert (np.signbit(mine) == np.signbit(theirs)).all()
        assert (slots[0][:, 1] == -1.0).all() and (slots[1][:, 1] == -1.0).all()
    largest = predictor_module.group_steps(rng.choice([1.0, 2.0], p=[0.8, 0.2], size=count)).groups
    assert largest is not None and max(len(rows) for _, rows in largest) > (
        predictor_module.PREDICTED_ROWS
    )
