"""Which tracks a scan may join, found faster with the same rows (issue 17, whole
process): each faster form against the plain one it replaces, compared exactly (the
rows a scan may join set which tracks are gated, and so the order of the pairs)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from hotzone.fusion.estimates import Estimates
from hotzone.fusion.hypothesiser import (
    ScanBounds,
    any_within,
    gate_reach,
    row_norms,
    trace_rows,
)
from hotzone.fusion.tracker import MultiTargetTracker
from hotzone.types.arrays import BoolArray, FloatArray


def any_within_by_count(points: FloatArray, centres: FloatArray, radii: FloatArray) -> BoolArray:
    """`any_within` as first written: a count of the points in each ball."""
    found = cKDTree(points).query_ball_point(centres, r=radii, return_length=True)
    within: BoolArray = np.asarray(found) > 0
    return within


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_nearest_point_decides_as_the_ball_count(dims: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.uniform(-5_000.0, 5_000.0, (300, dims))
    centres = rng.uniform(-6_000.0, 6_000.0, (2_000, dims))
    radii = rng.uniform(0.0, 400.0, 2_000)
    # Radii at a point's very distance, as the square root rounds it, and just below.
    on_point = rng.integers(0, 300, 500)
    radii[:500] = np.sqrt(((points[on_point] - centres[:500]) ** 2).sum(axis=1))
    radii[500:1_000] = np.nextafter(radii[:500], 0.0)
    within = any_within(points, centres, radii)
    assert np.array_equal(within, any_within_by_count(points, centres, radii))
    assert within.any() and not within.all()


def test_a_point_exactly_on_the_radius_is_within() -> None:
    points = np.array([[3.0, 4.0, 0.0], [100.0, 0.0, 0.0]])
    centres = np.zeros((3, 3))
    radii = np.array([5.0, np.nextafter(5.0, 0.0), 0.0])
    within = any_within(points, centres, radii)
    assert within.tolist() == [True, False, False]
    assert np.array_equal(within, any_within_by_count(points, centres, radii))


def test_no_points_are_within_nothing() -> None:
    centres = np.zeros((4, 2))
    within = any_within(np.zeros((0, 2)), centres, np.full(4, 10.0))
    assert np.array_equal(within, any_within_by_count(np.zeros((0, 2)), centres, np.full(4, 10.0)))
    assert not within.any()


def _plain_reachable(
    estimates: Estimates, track_time: FloatArray, bounds: ScanBounds, time: float, dims: int
) -> BoolArray:
    """`Hypothesiser.reachable` as first written: reductions over the rows and a count of
    the measurements in each track's ball."""
    positions = bounds.positions
    size = positions.shape[1]
    centre, reach = gate_reach(
        estimates,
        np.maximum(time - track_time, 0.0),
        dims,
        bounds.noise_intensity,
        bounds.turning,
        threshold=bounds.threshold,
        noise_trace=bounds.noise_trace,
        spread_s=bounds.spread_s,
    )
    bounded = np.isfinite(reach) & np.isfinite(centre).all(axis=1)
    lowest, highest = positions.min(axis=0), positions.max(axis=0)
    outside = np.maximum(lowest - centre[:, :size], centre[:, :size] - highest)
    near = ~bounded | (np.maximum(outside, 0.0).max(axis=1) <= reach)
    looked_up = np.flatnonzero(near & bounded)
    may_join: BoolArray = ~bounded
    if len(looked_up):
        found = cKDTree(positions).query_ball_point(
            centre[looked_up, :size], r=reach[looked_up], return_length=True
        )
        may_join[looked_up] = np.asarray(found) > 0
    return may_join


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_reachable_tracks_are_the_plain_ones(seed: int) -> None:
    rng = np.random.default_rng(seed)
    hypothesiser = MultiTargetTracker().hypothesiser
    dims = hypothesiser.spatial_dims
    size = hypothesiser.predictor.state_size
    count = 3_000
    state = np.zeros((count, size))
    state[:, :dims] = rng.uniform(-200_000.0, 200_000.0, (count, dims))
    state[:, dims : 2 * dims] = rng.normal(0.0, 150.0, (count, dims))
    covariance = np.zeros((count, size, size))
    covariance[:, np.arange(size), np.arange(size)] = rng.uniform(10.0, 5_000.0, (count, size))
    # Tracks without a bound: a position not a number, a variance below zero.
    state[:20, 0] = np.nan
    covariance[20:40, 0, 0] = -1.0
    estimates = Estimates(state, covariance)
    track_time = rng.uniform(90.0, 100.0, count)
    scan_centre = rng.uniform(-100_000.0, 100_000.0, dims)
    for spread, width in [(0.0, 20_000.0), (2.0, 60_000.0), (0.5, 200.0)]:
        positions = scan_centre + rng.uniform(-width, width, (250, dims))
        bounds = ScanBounds(
            positions=positions,
            noise_trace=float(rng.uniform(100.0, 50_000.0)),
            spread_s=spread,
            threshold=hypothesiser.gater.threshold(dims),
            noise_intensity=1.0,
            turning=False,
            identities=False,
        )
        may_join = hypothesiser.reachable(estimates, track_time, bounds, 101.0)
        expected = _plain_reachable(estimates, track_time, bounds, 101.0, dims)
        assert np.array_equal(may_join, expected)
        assert may_join[:40].all() and may_join[40:].any() and not may_join.all()


@pytest.mark.parametrize("columns", [1, 2, 3, 6])
def test_the_row_norms_are_numpy_s(columns: int) -> None:
    rng = np.random.default_rng(columns)
    vectors = rng.normal(0.0, 300.0, (5_000, columns)) * rng.uniform(1e-3, 1e3, (5_000, 1))
    assert np.array_equal(row_norms(vectors), np.linalg.norm(vectors, axis=1))


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_the_trace_rows_are_numpy_s(size: int) -> None:
    rng = np.random.default_rng(size)
    matrices = rng.normal(0.0, 1.0, (5_000, size, size)) * rng.uniform(1e-3, 1e6, (5_000, 1, 1))
    assert np.array_equal(trace_rows(matrices), np.trace(matrices, axis1=1, axis2=2))
    # Of a strided block too (a view of the lower right of each matrix).
    block = matrices[:, size // 2 :, size // 2 :]
    assert np.array_equal(trace_rows(block), np.trace(block, axis1=1, axis2=2))
