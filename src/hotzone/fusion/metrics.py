"""Tracking metrics: OSPA, GOSPA with its split, identity switches, fragmentation, latency.

OSPA and GOSPA are computed exactly and sparsely: a pair at distance >= c never improves
either metric, so the optimal assignment is a min-cost matching over the pairs closer than
c (found with a KD-tree), solved per connected component of that sparse graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from hotzone.fusion.arrays import FloatArray, IntArray


@dataclass(frozen=True)
class SetDistance:
    """OSPA and GOSPA between one estimated and one true point set, with GOSPA's split."""

    ospa: float
    gospa: float
    localisation: float
    """GOSPA's localisation part: sum of d^p over assigned pairs (p-th power units)."""
    missed: int
    false: int
    pairs_estimate: IntArray = field(repr=False)
    pairs_truth: IntArray = field(repr=False)


def optimal_pairs(
    estimates: FloatArray, truths: FloatArray, cutoff: float, order: float = 1.0
) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs (estimate, truth, distance) of the assignment minimising the cut-off cost."""
    empty = np.zeros(0, dtype=np.int64)
    if len(estimates) == 0 or len(truths) == 0:
        return empty, empty, np.zeros(0)
    sparse = cKDTree(estimates).sparse_distance_matrix(
        cKDTree(truths), cutoff, output_type="coo_matrix"
    )
    keep = sparse.data < cutoff
    rows, columns, distances = sparse.row[keep], sparse.col[keep], sparse.data[keep]
    if len(rows) == 0:
        return empty, empty, np.zeros(0)
    weights = distances**order - cutoff**order
    size = len(estimates) + len(truths)
    graph = coo_matrix((np.ones(len(rows)), (rows, columns + len(estimates))), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    edge_labels = labels[rows]
    order_index = np.argsort(edge_labels, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_labels[order_index])) + 1
    chosen_rows: list[IntArray] = []
    chosen_columns: list[IntArray] = []
    for group in np.split(order_index, bounds):
        if len(group) == 1:
            chosen_rows.append(rows[group])
            chosen_columns.append(columns[group])
            continue
        unique_rows, row_index = np.unique(rows[group], return_inverse=True)
        unique_columns, column_index = np.unique(columns[group], return_inverse=True)
        matrix = np.zeros((len(unique_rows), len(unique_columns)))
        matrix[row_index, column_index] = weights[group]
        picked_rows, picked_columns = linear_sum_assignment(matrix)
        useful = matrix[picked_rows, picked_columns] < 0
        chosen_rows.append(unique_rows[picked_rows[useful]])
        chosen_columns.append(unique_columns[picked_columns[useful]])
    estimate_index = np.concatenate(chosen_rows).astype(np.int64)
    truth_index = np.concatenate(chosen_columns).astype(np.int64)
    pair_distances = np.linalg.norm(estimates[estimate_index] - truths[truth_index], axis=1)
    return estimate_index, truth_index, pair_distances


def set_distance(
    estimates: FloatArray, truths: FloatArray, cutoff: float = 1000.0, order: float = 1.0
) -> SetDistance:
    """OSPA(c, p) and GOSPA(c, p, α=2) between (m, k) estimates and (n, k) truths."""
    estimates = np.atleast_2d(np.asarray(estimates, dtype=np.float64))
    truths = np.atleast_2d(np.asarray(truths, dtype=np.float64))
    if estimates.size == 0:
        estimates = np.zeros((0, max(truths.shape[1], 1)))
    if truths.size == 0:
        truths = np.zeros((0, estimates.shape[1]))
    m, n = len(estimates), len(truths)
    estimate_index, truth_index, distances = optimal_pairs(estimates, truths, cutoff, order)
    localisation = float((distances**order).sum())
    pairs = len(distances)
    cutoff_power = cutoff**order
    if m == 0 and n == 0:
        ospa = 0.0
    else:
        ospa = ((cutoff_power * (max(m, n) - pairs) + localisation) / max(m, n)) ** (1 / order)
    gospa = (cutoff_power / 2 * (m + n - 2 * pairs) + localisation) ** (1 / order)
    return SetDistance(
        ospa=float(ospa),
        gospa=float(gospa),
        localisation=localisation,
        missed=n - pairs,
        false=m - pairs,
        pairs_estimate=estimate_index,
        pairs_truth=truth_index,
    )
