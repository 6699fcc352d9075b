"""Tracking metrics: OSPA, GOSPA with its split, identity switches, fragmentation, latency.

OSPA and GOSPA are computed exactly and sparsely: a pair at distance >= c never improves
either metric, so the optimal assignment is a min-cost matching over the pairs closer than
c (found with a KD-tree), solved per connected component of that sparse graph.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from hotzone.fusion.association import _mutual_best_matching, _solve_sparse
from hotzone.geo import LocalFrame
from hotzone.types import GeoPoint, Track, TrackStatus, TruthState
from hotzone.types.arrays import FloatArray, IntArray


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
    estimates: FloatArray,
    truths: FloatArray,
    cutoff: float,
    order: float = 1.0,
    exact: bool = True,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Pairs (estimate, truth, distance) of the assignment minimising the cut-off cost.

    With ``exact`` False, components too large for a dense matrix are matched by
    mutual-best rounds: much faster on pictures of ~10⁵ points, and the resulting OSPA and
    GOSPA are upper bounds of the exact ones.
    """
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
        if len(unique_rows) * len(unique_columns) > 1_000_000:
            # A crowded picture joins thousands of points into one component: solve it
            # exactly as a sparse matching instead of a dense matrix that does not fit.
            picked = (
                _solve_sparse(unique_rows, row_index, unique_columns, column_index, weights[group])
                if exact
                else _mutual_best_matching(rows[group], columns[group], weights[group])
            )
            chosen_rows.append(picked[0])
            chosen_columns.append(picked[1])
            continue
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
    estimates: FloatArray,
    truths: FloatArray,
    cutoff: float = 1000.0,
    order: float = 1.0,
    exact: bool = True,
) -> SetDistance:
    """OSPA(c, p) and GOSPA(c, p, α=2) between (m, k) estimates and (n, k) truths
    (``exact`` False: upper bounds for huge crowded sets, see `optimal_pairs`)."""
    estimates = np.atleast_2d(np.asarray(estimates, dtype=np.float64))
    truths = np.atleast_2d(np.asarray(truths, dtype=np.float64))
    if estimates.size == 0:
        estimates = np.zeros((0, max(truths.shape[1], 1)))
    if truths.size == 0:
        truths = np.zeros((0, estimates.shape[1]))
    m, n = len(estimates), len(truths)
    estimate_index, truth_index, distances = optimal_pairs(estimates, truths, cutoff, order, exact)
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


@dataclass(frozen=True)
class ClassSummary:
    """Per target class: how many objects, how many were ever tracked, how fast, how well."""

    objects: int
    tracked: int
    mean_time_to_track_s: float | None
    mean_localisation_error_m: float | None


@dataclass(frozen=True)
class Evaluation:
    """Everything ``hotzone eval`` reports."""

    cutoff_m: float
    order: float
    steps: int
    ospa_mean: float
    gospa_mean: float
    gospa_localisation_mean: float
    gospa_missed_mean: float
    gospa_false_mean: float
    id_switches: int
    fragmentations: int
    time_to_first_track_s: dict[str, float | None]
    per_class: dict[str, ClassSummary]
    per_affiliation: dict[str, ClassSummary]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _truth_index(truth: Sequence[TruthState]) -> tuple[FloatArray, list[list[TruthState]]]:
    by_time: dict[float, list[TruthState]] = defaultdict(list)
    for state in truth:
        by_time[state.time.timestamp()].append(state)
    times = np.array(sorted(by_time))
    return times, [by_time[float(t)] for t in times]


def evaluate(
    truth: Sequence[TruthState],
    tracks: Sequence[Track],
    cutoff_m: float = 1000.0,
    order: float = 1.0,
    confirmed_only: bool = True,
    max_time_gap_s: float = 5.0,
) -> Evaluation:
    """Score tracks against truth at every time the tracks were published.

    Truth is taken at the nearest truth time (within ``max_time_gap_s``) and moved to the
    track time along its velocity; positions are compared in one local frame.
    """
    used = [t for t in tracks if not confirmed_only or t.status == TrackStatus.CONFIRMED]
    truth_times, truth_sets = _truth_index(truth)
    track_sets: dict[float, list[Track]] = defaultdict(list)
    for track in used:
        track_sets[track.time.timestamp()].append(track)
    publication_times = sorted({t.time.timestamp() for t in tracks})
    if not truth:
        raise ValueError("no truth states to evaluate against")
    anchor = truth[0].position
    frame = LocalFrame(anchor.lat_deg, anchor.lon_deg, anchor.height_m)
    first_seen: dict[str, float] = {}
    first_tracked: dict[str, float] = {}
    classes: dict[str, str] = {}
    affiliations: dict[str, str] = {}
    errors: dict[str, list[float]] = defaultdict(list)
    last_track: dict[str, str] = {}
    was_tracked: dict[str, bool] = {}
    id_switches = fragmentations = 0
    ospa, gospa, localisation, missed, false = [], [], [], [], []
    for time in publication_times:
        nearest = int(np.argmin(np.abs(truth_times - time)))
        if abs(truth_times[nearest] - time) > max_time_gap_s:
            continue
        states = truth_sets[nearest]
        truth_positions = _positions(frame, [s.position for s in states])
        truth_positions += np.array([s.enu_velocity_mps for s in states]).reshape(-1, 3) * (
            time - truth_times[nearest]
        )
        current = track_sets.get(time, [])
        track_positions = _positions(frame, [t.position for t in current])
        distance = set_distance(track_positions, truth_positions, cutoff_m, order)
        ospa.append(distance.ospa)
        gospa.append(distance.gospa)
        localisation.append(distance.localisation)
        missed.append(distance.missed)
        false.append(distance.false)
        assigned = dict(
            zip(distance.pairs_truth.tolist(), distance.pairs_estimate.tolist(), strict=True)
        )
        for index, state in enumerate(states):
            target = state.target_id
            first_seen.setdefault(target, time)
            classes[target] = str(state.target_class)
            affiliations[target] = str(state.affiliation)
            estimate = assigned.get(index)
            if estimate is None:
                was_tracked[target] = False
                continue
            track_id = current[estimate].track_id
            first_tracked.setdefault(target, time)
            errors[target].append(
                float(np.linalg.norm(track_positions[estimate] - truth_positions[index]))
            )
            previous = last_track.get(target)
            if previous is not None and previous != track_id:
                id_switches += 1
            if previous is not None and not was_tracked.get(target, False):
                fragmentations += 1
            last_track[target] = track_id
            was_tracked[target] = True
    latency = {
        target: (first_tracked[target] - first_seen[target]) if target in first_tracked else None
        for target in sorted(first_seen)
    }
    return Evaluation(
        cutoff_m=cutoff_m,
        order=order,
        steps=len(ospa),
        ospa_mean=_mean(ospa),
        gospa_mean=_mean(gospa),
        gospa_localisation_mean=_mean(localisation),
        gospa_missed_mean=_mean(missed),
        gospa_false_mean=_mean(false),
        id_switches=id_switches,
        fragmentations=fragmentations,
        time_to_first_track_s=latency,
        per_class=_summaries(classes, latency, errors),
        per_affiliation=_summaries(affiliations, latency, errors),
    )


def _positions(frame: LocalFrame, points: Sequence[GeoPoint]) -> FloatArray:
    if not points:
        return np.zeros((0, 3))
    coordinates = np.array([(p.lat_deg, p.lon_deg, p.height_m) for p in points])
    return np.asarray(frame.geodetic_to_enu(*coordinates.T), dtype=np.float64).reshape(-1, 3)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else 0.0


def _summaries(
    groups: dict[str, str], latency: dict[str, float | None], errors: dict[str, list[float]]
) -> dict[str, ClassSummary]:
    members: dict[str, list[str]] = defaultdict(list)
    for target, group in groups.items():
        members[group].append(target)
    result = {}
    for group, targets in sorted(members.items()):
        delays = [latency[t] for t in targets if latency.get(t) is not None]
        group_errors = [e for t in targets for e in errors.get(t, [])]
        result[group] = ClassSummary(
            objects=len(targets),
            tracked=len(delays),
            mean_time_to_track_s=float(np.mean(delays)) if delays else None,  # type: ignore[arg-type]
            mean_localisation_error_m=float(np.mean(group_errors)) if group_errors else None,
        )
    return result
