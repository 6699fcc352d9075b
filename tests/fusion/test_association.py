"""Gating and clustered GNN against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hotzone.fusion.association import (
    CandidatePairs,
    GNNAssociator,
    _solve_contested,
    _solve_sparse,
    cluster_labels,
)
from hotzone.fusion.gating import ChiSquareGater, DistanceGater, grid_candidates, kdtree_candidates


def brute_force_cost(tracks, measurements, distance, gate):  # type: ignore[no-untyped-def]
    """Least total of (distance - gate) over all partial matchings, by enumeration."""
    pairs = list(
        zip(tracks.tolist(), measurements.tolist(), (distance - gate).tolist(), strict=True)
    )
    best = 0.0
    for size in range(1, min(len(set(tracks.tolist())), len(set(measurements.tolist()))) + 1):
        for subset in itertools.combinations(pairs, size):
            if len({p[0] for p in subset}) == size and len({p[1] for p in subset}) == size:
                best = min(best, sum(p[2] for p in subset))
    return best


@pytest.mark.parametrize("nodes", [3, 4, 5])
@pytest.mark.parametrize("seed", range(5))
def test_gnn_finds_the_least_total_distance(seed: int, nodes: int) -> None:
    # 3 and 4 nodes exercise the enumerated small clusters, 5 the assignment solver.
    rng = np.random.default_rng(seed)
    tracks = rng.integers(0, nodes, 3 * nodes)
    measurements = rng.integers(0, nodes, 3 * nodes)
    unique = np.unique(np.column_stack([tracks, measurements]), axis=0)
    tracks, measurements = unique[:, 0], unique[:, 1]
    distance = rng.uniform(0, 3.5, len(tracks))
    chosen = GNNAssociator().associate(
        CandidatePairs(tracks, measurements, distance**2, missed_distance_squared=9.0)
    )
    assert len(set(chosen.tracks.tolist())) == len(chosen.tracks)
    assert len(set(chosen.measurements.tolist())) == len(chosen.measurements)
    lookup = {
        (t, m): d for t, m, d in zip(tracks.tolist(), measurements.tolist(), distance, strict=True)
    }
    cost = sum(
        lookup[(t, m)] - 3.0
        for t, m in zip(chosen.tracks.tolist(), chosen.measurements.tolist(), strict=True)
    )
    assert cost == pytest.approx(brute_force_cost(tracks, measurements, distance, 3.0))


def test_greedy_would_fail_but_gnn_does_not() -> None:
    # Track 0 is nearest to measurement 0, but giving it 0 leaves track 1 without any.
    pairs = CandidatePairs(
        tracks=np.array([0, 0, 1]),
        measurements=np.array([0, 1, 0]),
        distance_squared=np.array([0.1, 1.0, 0.5]) ** 2,
        missed_distance_squared=9.0,
    )
    chosen = GNNAssociator().associate(pairs)
    chosen_pairs = zip(chosen.tracks.tolist(), chosen.measurements.tolist(), strict=True)
    assert sorted(chosen_pairs) == [(0, 1), (1, 0)]


def test_pairs_outside_the_gate_are_never_chosen() -> None:
    pairs = CandidatePairs(np.array([0, 1]), np.array([0, 1]), np.array([4.0, 10.0]), 9.0)
    chosen = GNNAssociator().associate(pairs)
    assert chosen.tracks.tolist() == [0]


def test_sparse_solver_agrees_with_dense_assignment() -> None:
    rng = np.random.default_rng(5)
    edges = np.unique(rng.integers(0, 30, (150, 2)), axis=0)
    weights = rng.uniform(-3, -0.01, len(edges))
    track_nodes, rows = np.unique(edges[:, 0], return_inverse=True)
    measurement_nodes, columns = np.unique(edges[:, 1], return_inverse=True)
    dense = _solve_contested(edges[:, 0], edges[:, 1], weights)
    sparse = _solve_sparse(track_nodes, rows, measurement_nodes, columns, weights)
    lookup = {(t, m): w for (t, m), w in zip(edges.tolist(), weights, strict=True)}

    def total(result):  # type: ignore[no-untyped-def]
        return sum(
            lookup[(t, m)] for t, m in zip(result[0].tolist(), result[1].tolist(), strict=True)
        )

    assert total(sparse) == pytest.approx(total(dense))


def test_clusters_separate_unconnected_groups() -> None:
    labels, _ = cluster_labels(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 5]))
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] != labels[0]


def test_grid_and_kdtree_pre_gates_find_the_same_pairs() -> None:
    rng = np.random.default_rng(8)
    tracks = rng.uniform(0, 10_000, (300, 2))
    measurements = rng.uniform(0, 10_000, (400, 2))
    radii = rng.uniform(50, 400, 300)
    radii[:5] = 3000.0  # a few coasting tracks take the KD-tree path
    grid = set(
        zip(*(a.tolist() for a in grid_candidates(tracks, radii, measurements)), strict=True)
    )
    tree = set(
        zip(*(a.tolist() for a in kdtree_candidates(tracks, radii, measurements)), strict=True)
    )
    distances = np.linalg.norm(tracks[:, None] - measurements[None], axis=2)
    exact = set(zip(*(a.tolist() for a in np.nonzero(distances <= radii[:, None])), strict=True))
    assert grid == tree == exact


def test_gates() -> None:
    assert ChiSquareGater(0.99).threshold(2) == pytest.approx(9.2103, rel=1e-4)
    assert DistanceGater(3.0).threshold(2) == 9.0
    with pytest.raises(ValueError, match="gate probability"):
        ChiSquareGater(1.5)


def test_jpda_weights_are_probabilities_that_respect_both_sides() -> None:
    from hotzone.fusion.association import JPDAAssociator

    rng = np.random.default_rng(9)
    tracks = np.array([0, 0, 1, 1, 2])
    measurements = np.array([0, 1, 1, 2, 2])
    distance = rng.uniform(0.1, 2.5, 5) ** 2
    pairs = CandidatePairs(tracks, measurements, distance, 9.0, -0.5 * distance - 10.0)
    chosen = JPDAAssociator(detection_probability=0.9, clutter_density=1e-6).associate(pairs)
    per_track = np.bincount(chosen.tracks, weights=chosen.weights)
    per_measurement = np.bincount(chosen.measurements, weights=chosen.weights)
    assert (chosen.weights >= 0).all()
    assert (per_track <= 1 + 1e-12).all()
    assert (per_measurement <= 1 + 1e-12).all()


def test_jpda_single_pair_weight_follows_the_detection_odds() -> None:
    from hotzone.fusion.association import JPDAAssociator

    pairs = CandidatePairs(np.array([0]), np.array([0]), np.array([1.0]), 9.0, np.array([-3.0]))
    chosen = JPDAAssociator(detection_probability=0.8, clutter_density=0.01).associate(pairs)
    odds = 0.8 * np.exp(-3.0) / 0.01
    assert chosen.weights[0] == pytest.approx(odds / (odds + 0.2))


def test_giant_clusters_are_matched_greedily_but_validly() -> None:
    from hotzone.fusion.association import _mutual_best_matching

    rng = np.random.default_rng(10)
    edges = np.unique(rng.integers(0, 400, (3000, 2)), axis=0)
    weights = rng.uniform(-3, -0.01, len(edges))
    tracks, measurements = _mutual_best_matching(edges[:, 0], edges[:, 1], weights)
    assert len(set(tracks.tolist())) == len(tracks)
    assert len(set(measurements.tolist())) == len(measurements)
    chosen = {(int(t), int(m)) for t, m in zip(tracks, measurements, strict=True)}
    assert chosen <= {(int(t), int(m)) for t, m in edges}
    # Maximal: no remaining pair has both ends free.
    free = [
        (t, m)
        for t, m in edges.tolist()
        if t not in set(tracks.tolist()) and m not in set(measurements.tolist())
    ]
    assert free == []
    exact = _solve_contested(edges[:, 0], edges[:, 1], weights)
    lookup = {(t, m): w for (t, m), w in zip(edges.tolist(), weights, strict=True)}
    greedy_cost = sum(lookup[pair] for pair in chosen)
    exact_cost = sum(lookup[(int(t), int(m))] for t, m in zip(*exact, strict=True))
    assert greedy_cost <= 0.8 * exact_cost  # costs are negative: within 20 % of optimal


@pytest.mark.parametrize("dims", [2, 3])
def test_the_grid_pre_gate_finds_exactly_the_pairs_within_each_radius(dims: int) -> None:
    """Cells of half the typical radius searched row by row under each disc's chord: no
    pair inside a radius is missed, none outside kept, whatever the mix of radii (tiny,
    typical, coasting, non-finite) and track positions (a NaN track finds nothing)."""
    rng = np.random.default_rng(dims)
    tracks = rng.uniform(-20_000, 20_000, (2_000, dims))
    measurements = rng.uniform(-20_000, 20_000, (3_000, dims))
    radii = rng.lognormal(6.5, 0.8, 2_000)
    radii[:20] = 15_000.0
    radii[20:25] = np.inf
    radii[25:30] = 0.0
    tracks[30:35] = np.nan
    found = set(
        zip(*(a.tolist() for a in grid_candidates(tracks, radii, measurements)), strict=True)
    )
    usable = np.isfinite(radii) & np.isfinite(tracks).all(axis=1)
    distances = np.linalg.norm(tracks[:, None] - measurements[None], axis=2)
    inside = (distances <= radii[:, None]) & usable[:, None]
    exact = set(zip(*(a.tolist() for a in np.nonzero(inside)), strict=True))
    assert len(exact) > 10_000
    assert found == exact
