"""A window's fixed costs cut with the same numbers (issue 17, whole process): each
faster form against the plain one it replaces, compared exactly (the track command's
outputs are recorded: `tests/fusion/test_same_numbers.py`, the window digests of
`tests/runtime/test_tracking_windows.py`, the bench's CAT062 SHA-256)."""

from __future__ import annotations

import dataclasses

import msgspec
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from hotzone.fusion import association, gating
from hotzone.fusion.association import GNNAssociator, cluster_labels
from hotzone.fusion.conversion import MessageConverter, PolarPlots
from hotzone.fusion.imm import IMMPredictor
from hotzone.fusion.motion import (
    ConstantVelocityMotion,
    CoordinatedTurnMotion,
    _add_kinematic_noise,
    _axis_entries,
    _block_coefficients,
    _within,
)
from hotzone.geo import LocalFrame
from hotzone.types.arrays import FloatArray, IntArray
from hotzone.types.labels import LabelTable
from tests.fusion.test_conversion_plots import _plots_and_detections

# ------------------------------------------------------------------ clusters


def _scipy_labels(tracks: IntArray, measurements: IntArray) -> IntArray:
    """`cluster_labels` as first written: scipy's components of the bipartite graph."""
    track_count = int(tracks.max()) + 1
    node_count = track_count + int(measurements.max()) + 1
    graph = coo_matrix(
        (np.ones(len(tracks), dtype=np.int8), (tracks, measurements + track_count)),
        shape=(node_count, node_count),
    )
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels[tracks], dtype=np.int64)


def _assert_same_order(labels: IntArray, expected: IntArray) -> None:
    """Every use of the labels compares them: the same clusters, in the same order."""
    assert np.array_equal(
        labels[:, None] == labels[None, :], expected[:, None] == expected[None, :]
    )
    assert np.array_equal(labels[:, None] < labels[None, :], expected[:, None] < expected[None, :])


def _bipartite(seed: int, pairs: int, tracks: int, measurements: int) -> tuple[IntArray, IntArray]:
    rng = np.random.default_rng(seed)
    track_rows = rng.integers(0, tracks, pairs)
    measurement_rows = rng.integers(0, measurements, pairs)
    unique = np.unique(track_rows * measurements + measurement_rows)
    order = rng.permutation(len(unique))  # pairs in no particular order, as gating gives them
    return unique[order] // measurements, unique[order] % measurements


@pytest.mark.parametrize(
    ("seed", "pairs", "tracks", "measurements"),
    [(0, 6, 5, 5), (1, 60, 80, 70), (2, 300, 200, 200), (3, 3_000, 2_000, 2_000)],
)
def test_propagated_cluster_labels_sort_as_scipy_s(
    seed: int, pairs: int, tracks: int, measurements: int
) -> None:
    track_rows, measurement_rows = _bipartite(seed, pairs, tracks, measurements)
    labels, count = cluster_labels(track_rows, measurement_rows)
    assert len(track_rows) <= association.PROPAGATED_PAIRS
    assert (labels < count).all()
    _assert_same_order(labels, _scipy_labels(track_rows, measurement_rows))
    assert len(np.unique(labels)) > 1


def test_a_chain_longer_than_the_rounds_goes_to_the_graph_search() -> None:
    # Track k and k + 1 share measurement k: one cluster whose lowest track is 2 * rounds
    # edges and more from its far end, listed from that end.
    length = 4 * association.PROPAGATION_ROUNDS
    tracks = np.concatenate([np.arange(length), np.arange(1, length + 1)])[::-1].copy()
    measurements = np.concatenate([np.arange(length), np.arange(length)])[::-1].copy()
    assert association._lowest_track_labels(tracks, measurements) is None
    labels, _ = cluster_labels(tracks, measurements)
    assert len(np.unique(labels)) == 1
    _assert_same_order(labels, _scipy_labels(tracks, measurements))


def test_beyond_the_propagated_pairs_the_labels_are_scipy_s() -> None:
    track_rows, measurement_rows = _bipartite(4, 6_000, 5_000, 5_000)
    assert len(track_rows) > association.PROPAGATED_PAIRS
    labels, _ = cluster_labels(track_rows, measurement_rows)
    _assert_same_order(labels, _scipy_labels(track_rows, measurement_rows))


@pytest.mark.parametrize("seed", range(3))
def test_gnn_chooses_the_pairs_it_chose_with_scipy_s_labels(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A contested picture's association, and the same on scipy's labels (the code
    before): the clusters' order decides the order of the chosen pairs."""
    track_rows, measurement_rows = _bipartite(seed + 10, 400, 150, 150)
    weights = -np.random.default_rng(seed).random(len(track_rows)) * 3.0
    chosen = GNNAssociator._solve_clusters(track_rows, measurement_rows, weights)
    with monkeypatch.context() as patch:
        patch.setattr(
            association,
            "cluster_labels",
            lambda t, m: (_scipy_labels(t, m), int(t.max()) + int(m.max()) + 2),
        )
        before = GNNAssociator._solve_clusters(track_rows, measurement_rows, weights)
    assert np.array_equal(chosen[0], before[0]) and np.array_equal(chosen[1], before[1])
    assert len(chosen[0]) > 50


# ------------------------------------------------------------------ the pre-gate


def _pre_gate_inputs(
    seed: int, tracks: int, measurements: int, dims: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Measurements bunched in a few spots (several to a cell, some on cells' edges),
    tracks among them with gates of every size, a few not finite."""
    rng = np.random.default_rng(seed)
    spots = rng.uniform(-20_000, 20_000, (6, dims))
    measured = spots[rng.integers(0, 6, measurements)] + rng.normal(0, 900, (measurements, dims))
    measured[::7, :2] = np.round(measured[::7, :2] / 250.0) * 250.0  # on cell edges
    track_positions = measured[rng.integers(0, measurements, tracks)] + rng.normal(
        0, 600, (tracks, dims)
    )
    radii = rng.uniform(100, 1_000, tracks)
    radii[::5] *= rng.uniform(1, 6, len(radii[::5]))  # wider than typical
    if tracks > 3:
        radii[1] = np.nan
        track_positions[2, 0] = np.inf
    return track_positions, radii, measured


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize(
    ("seed", "tracks", "measurements"), [(0, 12, 9), (1, 40, 60), (2, 3, 200), (3, 64, 64)]
)
def test_the_scanned_pre_gate_finds_the_searched_pairs_in_their_order(
    seed: int, tracks: int, measurements: int, dims: int
) -> None:
    track_positions, radii, measured = _pre_gate_inputs(seed, tracks, measurements, dims)
    binned = gating._Binned.over(track_positions, radii, measured)
    scanned = gating._scanned_pairs(track_positions, measured, binned)
    searched = gating._searched_pairs(track_positions, measured, binned)
    assert scanned is not None
    assert np.array_equal(scanned[0], searched[0])
    assert np.array_equal(scanned[1], searched[1])
    assert len(searched[0]) > 0
    assert not binned.small[searched[0]].all() or tracks < 5  # wider gates among them
    found = gating.grid_candidates(track_positions, radii, measured)
    assert np.array_equal(found[0], searched[0]) and np.array_equal(found[1], searched[1])


def test_a_gate_beyond_the_grid_s_rows_is_searched() -> None:
    track_positions, radii, measured = _pre_gate_inputs(5, 20, 30, 2)
    radii[4] = 1e9  # hundreds of typical gates: the KD-tree's
    binned = gating._Binned.over(track_positions, radii, measured)
    assert gating._scanned_pairs(track_positions, measured, binned) is None
    found = gating.grid_candidates(track_positions, radii, measured)
    searched = gating._searched_pairs(track_positions, measured, binned)
    assert np.array_equal(found[0], searched[0]) and np.array_equal(found[1], searched[1])
    assert (found[0] == 4).sum() == len(measured)


def test_the_dense_sum_of_squares_is_the_gathered_one() -> None:
    """Both forms sum a pair's squared components in one order, ((x² + y²) + z²)."""
    rng = np.random.default_rng(6)
    tracks, measured = rng.normal(size=(40, 1, 3)) * 1e4, rng.normal(size=(1, 70, 3)) * 1e4
    separation = tracks - measured
    gathered = np.ascontiguousarray(separation.reshape(-1, 3))
    assert np.array_equal((separation**2).sum(axis=2).ravel(), (gathered**2).sum(axis=1))


# ------------------------------------------------------------------ the IMM's pieces


def test_the_switching_matrix_is_the_plain_one() -> None:
    dt = np.array([0.0, 0.5, 4.0, 37.25, 1e-3])
    velocity, turn = ConstantVelocityMotion(extra_states=1), CoordinatedTurnMotion()
    for models in ((velocity, turn), (velocity, turn, CoordinatedTurnMotion(2.0))):
        predictor = IMMPredictor(models=models)
        modes = len(models)
        stay = np.exp(-np.abs(dt) / predictor.mean_sojourn_s)
        leave = (1 - stay) / max(modes - 1, 1)
        plain = np.broadcast_to(leave[:, None, None], (len(dt), modes, modes)).copy()
        plain[:, np.arange(modes), np.arange(modes)] = stay[:, None]
        assert np.array_equal(predictor.switching(dt), plain)


def test_the_turn_s_three_rates_are_each_held_alone() -> None:
    rng = np.random.default_rng(7)
    states = rng.normal(size=(500, 7)) * np.array([1e4, 1e4, 1e3, 80, 80, 5, 0.05])
    states[:20, 3:5] = 0.0  # standing still: the rate bound's floor on the speed
    states[20:40, -1] = 1.0  # far beyond the bound
    model = CoordinatedTurnMotion()
    limit = model.turn_rate_limit(states)
    rate = states[:, -1]
    plain = np.stack(
        [
            _within(rate, limit),
            _within(rate + 1e-5, limit),
            _within(rate - 1e-5, limit),
        ]
    )
    assert np.array_equal(model._difference_rates(states), plain)


@pytest.mark.parametrize(("order", "dims"), [(2, 3), (2, 2), (3, 3)])
def test_the_kinematic_noise_added_by_slices_is_the_gathered_one(order: int, dims: int) -> None:
    rng = np.random.default_rng(order * 10 + dims)
    size = order * dims + 1
    covariance = rng.normal(size=(size, size, 300))
    dt = rng.uniform(0, 12, 300)
    _, _, noise_power, noise_coefficient = _block_coefficients(order)
    block = noise_coefficient[..., None] * dt ** noise_power[..., None]
    block *= 4.0
    plain = covariance.copy()
    plain.reshape(size * size, 300)[_axis_entries(order, dims, size)] += block[:, :, None, :]
    fast = covariance.copy()
    _add_kinematic_noise(fast, dt, order, dims, 4.0)
    assert np.array_equal(fast, plain)
    assert not np.array_equal(fast, covariance)


# ------------------------------------------------------------------ conversion


def _without_identities(
    plots: PolarPlots, detections: list[object]
) -> tuple[PolarPlots, list[object]]:
    """A primary radar's window: no address, no callsign."""
    count = len(plots.ids)
    anonymous = dataclasses.replace(plots, icao24=[None] * count, callsign=[None] * count)
    return anonymous, [
        msgspec.structs.replace(detection, icao24=None, callsign=None)  # type: ignore[type-var]
        for detection in detections
    ]


@pytest.mark.parametrize("identities", [True, False])
@pytest.mark.parametrize("labelled", [True, False])
def test_plot_scans_are_the_scans_of_the_detections(identities: bool, labelled: bool) -> None:
    plots, detections = _plots_and_detections("NATO")
    if not identities:
        plots, detections = _without_identities(plots, detections)
    frame = LocalFrame(45.6, 14.1, 0.0)
    labels = LabelTable() if labelled else None
    expected_scans, expected_rejected = MessageConverter(frame, labels=labels).convert(detections)
    scans, rejected = MessageConverter(frame, labels=labels).convert_plots(plots)
    assert rejected == expected_rejected
    assert len(scans) == len(expected_scans) > 1
    for scan, expected in zip(scans, expected_scans, strict=True):
        assert scan.sensor_id == expected.sensor_id and scan.model == expected.model
        for column in ("values", "noise", "times", "sensor_position"):
            assert np.array_equal(getattr(scan, column), getattr(expected, column))
            assert getattr(scan, column).dtype == getattr(expected, column).dtype
        for column in ("label_ids", "icao24", "callsign", "identity", "on_ground"):
            mine, theirs = getattr(scan, column), getattr(expected, column)
            assert (mine is None) == (theirs is None), column
            if mine is not None:
                assert mine.dtype == theirs.dtype and mine.tolist() == theirs.tolist()
        assert scan.measurement_ids == expected.measurement_ids
        assert (scan.identities() is None) == (not identities)
