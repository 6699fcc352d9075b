"""Associators: decide which gated measurement updates which track.

Gated pairs form a sparse bipartite graph; its connected components (clusters) are
independent problems, so the global nearest-neighbour solution is found cluster by
cluster and never as one dense N×M matrix. Clusters with one track or one measurement (the
vast majority in a sparse picture) are solved for all clusters at once with array
operations; only genuinely contested clusters go to an assignment solver.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, min_weight_full_bipartite_matching

from hotzone.types.arrays import BoolArray, FloatArray, IntArray


@dataclass(frozen=True)
class CandidatePairs:
    """Gated (track, measurement) pairs with their squared Mahalanobis distances."""

    tracks: IntArray
    measurements: IntArray
    distance_squared: FloatArray
    missed_distance_squared: float
    """The gate: an unassigned track costs as much as a pair at this distance."""
    log_likelihood: FloatArray | None = None
    """log N(ν; 0, S) per pair, for probabilistic associators."""


@dataclass(frozen=True)
class Association:
    """Pairs chosen, each with its weight (1 for hard assignments, β for JPDA)."""

    tracks: IntArray
    measurements: IntArray
    weights: FloatArray
    missed_weights: FloatArray | None = None
    """JPDA only: per chosen track (aligned with ``np.unique(tracks)``), P(no measurement)."""


class Associator(ABC):
    """One abstract base for every associator; the role's verb is ``associate``."""

    probabilistic: bool = False
    """True when pairs carry weights below 1 and need pair likelihoods (JPDA)."""

    @abstractmethod
    def associate(self, pairs: CandidatePairs) -> Association: ...


def cluster_labels(tracks: IntArray, measurements: IntArray) -> tuple[IntArray, int]:
    """Connected-component label of every pair of the bipartite gating graph, and a
    count of labels (every label is below it).

    Labels are numbered over every node index up to the largest present, so some
    labels belong to absent nodes and no pair; callers only look up pairs' labels and
    compare them: each label is in the order of its cluster's lowest track.
    """
    if len(tracks) <= PROPAGATED_PAIRS:
        labels = _lowest_track_labels(tracks, measurements)
        if labels is not None:
            return labels, int(tracks.max()) + 1
    track_count = int(tracks.max()) + 1
    node_count = track_count + int(measurements.max()) + 1
    graph = coo_matrix(
        (np.ones(len(tracks), dtype=np.int8), (tracks, measurements + track_count)),
        shape=(node_count, node_count),
    )
    count, labels = connected_components(graph, directed=False)
    return labels[tracks].astype(np.int64), int(count)


PROPAGATED_PAIRS = 4096
"""Up to this many pairs, clusters are labelled by propagating the lowest track index
(a few array passes) instead of building a sparse graph for scipy (about 0.14 ms a call
for the few dozen pairs a window's scan leaves contested)."""
PROPAGATION_ROUNDS = 16
"""Rounds of propagation tried before the graph search takes over: each round crosses
two edges of the longest path to a cluster's lowest track."""


def _lowest_track_labels(tracks: IntArray, measurements: IntArray) -> IntArray | None:
    """Each pair's cluster labelled by the lowest track index in it (None when more than
    `PROPAGATION_ROUNDS` rounds would be needed): every pair starts with its own track's
    index, and each round takes the least label over each measurement's pairs, then
    over each track's, until nothing changes. Labels only fall and never leave their
    cluster, and once no round changes them they are equal across it: its lowest track,
    whose pairs never held anything lower. So the labels sort as scipy's
    ``connected_components`` numbers them (in the order of each cluster's lowest node,
    the tracks' nodes first)."""
    track_count = int(tracks.max()) + 1
    measurement_count = int(measurements.max()) + 1
    labels = tracks.astype(np.int64)
    for _ in range(PROPAGATION_ROUNDS):
        by_measurement = np.full(measurement_count, track_count, dtype=np.int64)
        np.minimum.at(by_measurement, measurements, labels)
        by_track = np.full(track_count, track_count, dtype=np.int64)
        np.minimum.at(by_track, tracks, by_measurement[measurements])
        lowered = by_track[tracks]
        if (lowered == labels).all():
            return lowered
        labels = lowered
    return None


def _solve_contested(
    tracks: IntArray,
    measurements: IntArray,
    weights: FloatArray,
    ranks: tuple[IntArray, IntArray] | None = None,
) -> tuple[IntArray, IntArray]:
    """Best matching of one cluster; ``weights`` < 0 and lower is better.

    ``ranks``: each pair's track and measurement among the cluster's distinct ones in
    ascending order, when the caller knows them (what ``np.unique`` would find)."""
    if ranks is None:
        track_nodes, rows = np.unique(tracks, return_inverse=True)
        measurement_nodes, columns = np.unique(measurements, return_inverse=True)
    else:
        rows, columns = ranks
        track_nodes = _nodes_by_rank(tracks, rows)
        measurement_nodes = _nodes_by_rank(measurements, columns)
    if len(weights) > GIANT_CLUSTER_PAIRS:
        return _mutual_best_matching(tracks, measurements, weights)
    if len(track_nodes) * len(measurement_nodes) <= 400:
        matrix = np.zeros((len(track_nodes), len(measurement_nodes)))
        matrix[rows, columns] = weights
        chosen_rows, chosen_columns = linear_sum_assignment(matrix)
        keep = matrix[chosen_rows, chosen_columns] < 0
        return track_nodes[chosen_rows[keep]], measurement_nodes[chosen_columns[keep]]
    return _solve_sparse(track_nodes, rows, measurement_nodes, columns, weights)


def _nodes_by_rank(nodes: IntArray, ranks: IntArray) -> IntArray:
    """The distinct nodes in ascending order, from each pair's node and its rank."""
    distinct = np.empty(int(ranks.max()) + 1, dtype=nodes.dtype)
    distinct[ranks] = nodes
    return distinct


def _solve_contested_clusters(
    tracks: IntArray,
    measurements: IntArray,
    weights: FloatArray,
    labels: IntArray,
    ranks: tuple[IntArray, IntArray],
) -> tuple[list[IntArray], list[IntArray]]:
    """`_solve_contested` of each cluster, the pairs of one cluster consecutive: the
    chosen pairs of every cluster, in the clusters' order.

    A picture of many targets holds thousands of clusters too large to enumerate: their
    distinct nodes are laid out for all clusters at once (each cluster's nodes in
    ascending order, as `_nodes_by_rank` finds them), so each cluster's dense assignment
    is a few calls on slices."""
    track_rank, measurement_rank = ranks
    starts = np.r_[0, np.flatnonzero(np.diff(labels)) + 1]
    stops = np.r_[starts[1:], len(labels)]
    track_counts = np.maximum.reduceat(track_rank, starts) + 1
    measurement_counts = np.maximum.reduceat(measurement_rank, starts) + 1
    cluster_of_pair = np.repeat(np.arange(len(starts)), stops - starts)
    track_offsets = np.cumsum(track_counts) - track_counts
    measurement_offsets = np.cumsum(measurement_counts) - measurement_counts
    track_nodes = np.empty(int(track_counts.sum()), dtype=tracks.dtype)
    track_nodes[track_offsets[cluster_of_pair] + track_rank] = tracks
    measurement_nodes = np.empty(int(measurement_counts.sum()), dtype=measurements.dtype)
    measurement_nodes[measurement_offsets[cluster_of_pair] + measurement_rank] = measurements
    chosen_tracks: list[IntArray] = []
    chosen_measurements: list[IntArray] = []
    for start, stop, track_count, measurement_count, track_offset, measurement_offset in zip(
        starts.tolist(),
        stops.tolist(),
        track_counts.tolist(),
        measurement_counts.tolist(),
        track_offsets.tolist(),
        measurement_offsets.tolist(),
        strict=True,
    ):
        pairs = slice(start, stop)
        if stop - start > GIANT_CLUSTER_PAIRS or track_count * measurement_count > 400:
            chosen = _solve_contested(
                tracks[pairs],
                measurements[pairs],
                weights[pairs],
                (track_rank[pairs], measurement_rank[pairs]),
            )
            chosen_tracks.append(chosen[0])
            chosen_measurements.append(chosen[1])
            continue
        matrix = np.zeros((track_count, measurement_count))
        matrix[track_rank[pairs], measurement_rank[pairs]] = weights[pairs]
        chosen_rows, chosen_columns = linear_sum_assignment(matrix)
        keep = matrix[chosen_rows, chosen_columns] < 0
        chosen_tracks.append(track_nodes[track_offset + chosen_rows[keep]])
        chosen_measurements.append(measurement_nodes[measurement_offset + chosen_columns[keep]])
    return chosen_tracks, chosen_measurements


GIANT_CLUSTER_PAIRS = 5_000
"""Beyond this many pairs a cluster is matched greedily (see `_mutual_best_matching`)."""


def _mutual_best_matching(
    tracks: IntArray, measurements: IntArray, weights: FloatArray
) -> tuple[IntArray, IntArray]:
    """Approximate GNN for a giant cluster: repeatedly accept every pair that is the best
    of both its track and its measurement, then drop what they touch.

    Dense targets under wide gates (thousands of just-started tracks, each with a broad
    velocity prior) can percolate into one cluster of hundreds of thousands of pairs,
    where an exact solver takes minutes; the cheapest remaining pair is always mutually
    best, so this ends, and on well-separated pairs it agrees with the exact answer.
    """
    # Each round's candidates in the order of one sort of every pair: the alive pairs of
    # the (track, weight) order are the lexsorted alive pairs (ties in index order), so
    # a round filters instead of sorting again.
    by_track = np.lexsort((weights, tracks))
    by_measurement = np.lexsort((weights, measurements))
    taken_tracks = np.zeros(int(tracks.max()) + 1, dtype=np.bool_)
    taken_measurements = np.zeros(int(measurements.max()) + 1, dtype=np.bool_)
    best_of_track = np.zeros(len(weights), dtype=np.bool_)
    chosen: list[IntArray] = []
    while len(by_track):
        track_of = tracks[by_track]
        measurement_of = measurements[by_measurement]
        track_best = by_track[np.r_[True, track_of[1:] != track_of[:-1]]]
        measurement_best = by_measurement[np.r_[True, measurement_of[1:] != measurement_of[:-1]]]
        best_of_track[track_best] = True
        mutual = measurement_best[best_of_track[measurement_best]]
        mutual.sort()
        best_of_track[track_best] = False
        chosen.append(mutual)
        taken_tracks[tracks[mutual]] = True
        taken_measurements[measurements[mutual]] = True
        by_track = by_track[~taken_tracks[track_of] & ~taken_measurements[measurements[by_track]]]
        by_measurement = by_measurement[
            ~taken_tracks[tracks[by_measurement]] & ~taken_measurements[measurement_of]
        ]
    picked = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    return tracks[picked], measurements[picked]


def _solve_sparse(
    track_nodes: IntArray,
    rows: IntArray,
    measurement_nodes: IntArray,
    columns: IntArray,
    weights: FloatArray,
) -> tuple[IntArray, IntArray]:
    """A huge cluster: sparse matching on a graph augmented so a full matching exists.

    Each track gets a private "missed" column and each measurement a private "unused"
    row; an unused row may take a missed column wherever the real pair exists. Real pairs
    cost their weight, every other edge the same constant, so the minimum full matching is
    the best partial assignment (Bertsekas' augmentation, kept sparse).
    """
    track_count, measurement_count = len(track_nodes), len(measurement_nodes)
    offset = 1.0 - float(weights.min())  # every edge cost strictly positive
    # Rows: tracks, then one "unused" row per measurement. Columns: measurements, then one
    # "missed" column per track. Edge groups: real pairs; track -> its missed column;
    # unused row of j -> missed column of i for every real pair (i, j), which frees the
    # pair's dummies when (i, j) is chosen; unused row of j -> measurement j.
    edges_rows = np.concatenate(
        [
            rows,
            np.arange(track_count),
            track_count + columns,
            track_count + np.arange(measurement_count),
        ]
    )
    edges_columns = np.concatenate(
        [
            columns,
            measurement_count + np.arange(track_count),
            measurement_count + rows,
            np.arange(measurement_count),
        ]
    )
    costs = np.concatenate(
        [weights + offset, np.full(track_count + len(rows) + measurement_count, offset)]
    )
    size = track_count + measurement_count
    graph = coo_matrix((costs, (edges_rows, edges_columns)), shape=(size, size)).tocsr()
    matched_rows, matched_columns = min_weight_full_bipartite_matching(graph)
    real = (matched_rows < track_count) & (matched_columns < measurement_count)
    return track_nodes[matched_rows[real]], measurement_nodes[matched_columns[real]]


SMALL_CLUSTER = 4
_PERMUTATIONS = np.array(list(itertools.permutations(range(SMALL_CLUSTER))), dtype=np.int64)


def _local_rank(labels: IntArray, nodes: IntArray, clusters: IntArray) -> tuple[IntArray, IntArray]:
    """Rank of each pair's node among its cluster's distinct nodes, and per-cluster counts
    (``clusters``: ``np.unique(labels)``, the clusters' order)."""
    base = int(nodes.max()) + 1
    distinct, inverse = np.unique(labels * base + nodes, return_inverse=True)
    distinct_labels = distinct // base
    first = np.searchsorted(distinct_labels, distinct_labels, side="left")
    rank = np.arange(len(distinct)) - first
    counts = np.bincount(np.searchsorted(clusters, distinct_labels))
    return rank[inverse], counts


def _solve_small_clusters(
    tracks: IntArray, measurements: IntArray, weights: FloatArray, labels: IntArray
) -> tuple[tuple[IntArray, IntArray], BoolArray, tuple[IntArray, IntArray]]:
    """Clusters of at most 4 tracks and 4 measurements, all at once, by enumeration.

    Every partial matching of a cluster is part of a permutation of its padded 4 x 4
    matrix whose other cells weigh 0 (real pairs weigh less than 0), so the permutation
    of least sum, with positive cells clipped to 0, is the exact answer. Returns the
    chosen pairs, a mask of the pairs left to the general solver and every pair's rank
    of track and of measurement in its cluster (`_local_rank`).
    """
    clusters, cluster_index = np.unique(labels, return_inverse=True)
    track_rank, track_counts = _local_rank(labels, tracks, clusters)
    measurement_rank, measurement_counts = _local_rank(labels, measurements, clusters)
    fits = (track_counts <= SMALL_CLUSTER) & (measurement_counts <= SMALL_CLUSTER)
    small_pair = fits[cluster_index]
    empty = np.zeros(0, dtype=np.int64)
    ranks = (track_rank, measurement_rank)
    if not small_pair.any():
        return (empty, empty), ~small_pair, ranks
    compact = np.cumsum(fits) - 1
    count = int(fits.sum())
    row = compact[cluster_index[small_pair]]
    matrix = np.zeros((count, SMALL_CLUSTER, SMALL_CLUSTER))
    matrix[row, track_rank[small_pair], measurement_rank[small_pair]] = weights[small_pair]
    track_of = np.full((count, SMALL_CLUSTER), -1, dtype=np.int64)
    track_of[row, track_rank[small_pair]] = tracks[small_pair]
    measurement_of = np.full((count, SMALL_CLUSTER), -1, dtype=np.int64)
    measurement_of[row, measurement_rank[small_pair]] = measurements[small_pair]
    slots = np.arange(SMALL_CLUSTER)
    cells = np.minimum(matrix[:, slots, _PERMUTATIONS], 0.0)  # (clusters, perms, slots)
    best = _PERMUTATIONS[np.argmin(cells.sum(axis=2), axis=1)]  # (clusters, slots)
    chosen = matrix[np.arange(count)[:, None], slots[None, :], best] < 0
    cluster_rows, track_slots = np.nonzero(chosen)
    return (
        (
            track_of[cluster_rows, track_slots],
            measurement_of[cluster_rows, best[cluster_rows, track_slots]],
        ),
        ~small_pair,
        ranks,
    )


@dataclass(frozen=True)
class GNNAssociator(Associator):
    """Global nearest neighbour: the assignment of least total Mahalanobis distance.

    Cost of a pair is its Mahalanobis distance, of a missed track the gate distance, as in
    Stone Soup's ``DistanceHypothesiser`` + ``GNNWith2DAssignment``; a measurement updates at
    most one track and a track takes at most one measurement.
    """

    def associate(self, pairs: CandidatePairs) -> Association:
        keep = pairs.distance_squared < pairs.missed_distance_squared
        tracks, measurements = pairs.tracks[keep], pairs.measurements[keep]
        weights = np.sqrt(pairs.distance_squared[keep]) - np.sqrt(pairs.missed_distance_squared)
        if len(tracks) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return Association(empty, empty, np.zeros(0))
        # A pair whose track and measurement have no other candidate is its own cluster:
        # accept those without building the graph (most pairs in a sparse picture).
        isolated = (np.bincount(tracks)[tracks] == 1) & (
            np.bincount(measurements)[measurements] == 1
        )
        if isolated.all():
            return Association(tracks, measurements, np.ones(len(tracks)))
        rest = ~isolated
        solved = self._solve_clusters(tracks[rest], measurements[rest], weights[rest])
        result_tracks = np.concatenate([tracks[isolated], solved[0]]).astype(np.int64)
        result_measurements = np.concatenate([measurements[isolated], solved[1]]).astype(np.int64)
        return Association(result_tracks, result_measurements, np.ones(len(result_tracks)))

    @staticmethod
    def _solve_clusters(
        tracks: IntArray, measurements: IntArray, weights: FloatArray
    ) -> tuple[IntArray, IntArray]:
        labels, count = cluster_labels(tracks, measurements)
        # Distinct tracks and measurements per cluster: label each node once.
        track_label = np.full(int(tracks.max()) + 1, -1, dtype=np.int64)
        track_label[tracks] = labels
        measurement_label = np.full(int(measurements.max()) + 1, -1, dtype=np.int64)
        measurement_label[measurements] = labels
        tracks_per_cluster = np.bincount(track_label[track_label >= 0], minlength=count)
        measurements_per_cluster = np.bincount(
            measurement_label[measurement_label >= 0], minlength=count
        )
        simple = (tracks_per_cluster == 1) | (measurements_per_cluster == 1)
        # Simple clusters: one track or one measurement, so the best pair is the answer.
        # ``np.lexsort((weights, labels))`` as two stable sorts, least significant key
        # first: the same order (ties in index order), in less than half the time.
        order = np.argsort(weights, kind="stable")
        order = order[np.argsort(labels[order], kind="stable")]
        sorted_labels = labels[order]
        first = np.ones(len(order), dtype=np.bool_)
        first[1:] = sorted_labels[1:] != sorted_labels[:-1]
        best = order[first & simple[sorted_labels]]
        chosen_tracks = [tracks[best]]
        chosen_measurements = [measurements[best]]
        contested = order[~simple[sorted_labels]]
        if len(contested):
            small, large, (track_rank, measurement_rank) = _solve_small_clusters(
                tracks[contested], measurements[contested], weights[contested], labels[contested]
            )
            chosen_tracks.append(small[0])
            chosen_measurements.append(small[1])
            remaining = np.flatnonzero(large)
            if len(remaining):
                group = contested[remaining]
                solved = _solve_contested_clusters(
                    tracks[group],
                    measurements[group],
                    weights[group],
                    labels[group],
                    (track_rank[remaining], measurement_rank[remaining]),
                )
                chosen_tracks.extend(solved[0])
                chosen_measurements.extend(solved[1])
        return (
            np.concatenate(chosen_tracks).astype(np.int64),
            np.concatenate(chosen_measurements).astype(np.int64),
        )


@dataclass(frozen=True)
class JPDAAssociator(Associator):
    """Joint probabilistic data association, exact per cluster.

    Every feasible joint event of a cluster (each track takes one of its gated
    measurements or none, no measurement twice) is weighed by
    Π (Pd · g_ij / λ) over assigned pairs × Π (1 - Pd) over undetected tracks, with g_ij
    the Gaussian likelihood of the pair and λ the clutter density; the marginals are the
    weights β_ij of a probabilistic update. Clusters larger than ``max_cluster_tracks``
    (where enumeration explodes) fall back to the GNN answer with weight 1.
    """

    probabilistic = True
    detection_probability: float = 0.9
    clutter_density: float = 1e-9
    """False measurements per unit of measurement space (m³ for 3-D positions)."""
    max_cluster_tracks: int = 6

    def associate(self, pairs: CandidatePairs) -> Association:
        keep = pairs.distance_squared < pairs.missed_distance_squared
        tracks, measurements = pairs.tracks[keep], pairs.measurements[keep]
        distance = pairs.distance_squared[keep]
        log_likelihood = (
            pairs.log_likelihood[keep] if pairs.log_likelihood is not None else -0.5 * distance
        )
        empty = np.zeros(0, dtype=np.int64)
        if len(tracks) == 0:
            return Association(empty, empty, np.zeros(0), np.zeros(0))
        labels, _ = cluster_labels(tracks, measurements)
        order = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order])) + 1
        chosen_tracks: list[IntArray] = []
        chosen_measurements: list[IntArray] = []
        weights: list[FloatArray] = []
        for group in np.split(order, bounds):
            cluster_tracks = np.unique(tracks[group])
            if len(cluster_tracks) > self.max_cluster_tracks:
                sub = GNNAssociator().associate(
                    CandidatePairs(
                        tracks[group],
                        measurements[group],
                        distance[group],
                        pairs.missed_distance_squared,
                    )
                )
                chosen_tracks.append(sub.tracks)
                chosen_measurements.append(sub.measurements)
                weights.append(np.ones(len(sub.tracks)))
                continue
            beta = self._marginals(tracks[group], measurements[group], log_likelihood[group])
            chosen_tracks.append(tracks[group])
            chosen_measurements.append(measurements[group])
            weights.append(beta)
        return Association(
            np.concatenate(chosen_tracks).astype(np.int64),
            np.concatenate(chosen_measurements).astype(np.int64),
            np.concatenate(weights),
        )

    def _marginals(
        self, tracks: IntArray, measurements: IntArray, log_likelihood: FloatArray
    ) -> FloatArray:
        """β of each pair of one cluster, by enumerating its joint events."""
        pd = self.detection_probability
        pair_score = np.log(pd) + log_likelihood - np.log(self.clutter_density)
        missed_score = np.log(max(1.0 - pd, 1e-12))
        track_ids = np.unique(tracks)
        options = [np.flatnonzero(tracks == track) for track in track_ids]
        event_scores: list[float] = []
        event_pairs: list[list[int]] = []

        def walk(position: int, used: frozenset[int], score: float, taken: list[int]) -> None:
            if position == len(options):
                event_scores.append(score)
                event_pairs.append(list(taken))
                return
            walk(position + 1, used, score + missed_score, taken)
            for pair in options[position]:
                measurement = int(measurements[pair])
                if measurement not in used:
                    taken.append(int(pair))
                    walk(position + 1, used | {measurement}, score + pair_score[pair], taken)
                    taken.pop()

        walk(0, frozenset(), 0.0, [])
        scores = np.array(event_scores)
        probabilities = np.exp(scores - scores.max())
        probabilities /= probabilities.sum()
        beta = np.zeros(len(tracks))
        for probability, taken in zip(probabilities, event_pairs, strict=True):
            beta[taken] += probability
        return beta
