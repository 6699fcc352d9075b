"""Gating: which (track, measurement) pairs are plausible at all.

Two steps: a coarse spatial pre-gate (a KD-tree over measurement positions, queried with a
radius per track that bounds its gate) keeps the work proportional to the number of nearby
pairs instead of N×M; then the exact chi-square test on the Mahalanobis distance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import chi2

from hotzone.types.arrays import FloatArray, IntArray


class Gater(ABC):
    """One abstract base for every gater; the role's verb is ``threshold``."""

    @abstractmethod
    def threshold(self, measurement_size: int) -> float:
        """Largest squared Mahalanobis distance still accepted."""


@dataclass(frozen=True)
class ChiSquareGater(Gater):
    """Accepts a true measurement with ``probability`` (chi-square with m degrees)."""

    probability: float = 0.999

    def __post_init__(self) -> None:
        if not 0.0 < self.probability < 1.0:
            raise ValueError(f"gate probability must lie in (0, 1), got {self.probability}")

    def threshold(self, measurement_size: int) -> float:
        return float(chi2.ppf(self.probability, measurement_size))


@dataclass(frozen=True)
class DistanceGater(Gater):
    """A fixed Mahalanobis distance, as Stone Soup's ``missed_distance``."""

    max_distance: float = 3.0

    def threshold(self, measurement_size: int) -> float:
        return self.max_distance**2


def kdtree_candidates(
    track_positions: FloatArray, radii: FloatArray, measurement_positions: FloatArray
) -> tuple[IntArray, IntArray]:
    """All (track, measurement) index pairs closer than the track's radius."""
    empty = np.zeros(0, dtype=np.int64)
    if len(track_positions) == 0 or len(measurement_positions) == 0:
        return empty, empty
    tree = cKDTree(measurement_positions)
    finite = np.isfinite(radii) & np.isfinite(track_positions).all(axis=1)
    if not finite.all():
        radii = np.where(finite, radii, 0.0)
        track_positions = np.where(finite[:, None], track_positions, 0.0)
    neighbours = tree.query_ball_point(track_positions, r=radii, return_sorted=False)
    counts = np.fromiter((len(found) for found in neighbours), dtype=np.int64, count=len(radii))
    if counts.sum() == 0:
        return empty, empty
    tracks = np.repeat(np.arange(len(radii), dtype=np.int64), counts)
    measurements = np.fromiter(
        (index for found in neighbours for index in found), dtype=np.int64, count=int(counts.sum())
    )
    return tracks, measurements


def grid_candidates(
    track_positions: FloatArray, radii: FloatArray, measurement_positions: FloatArray
) -> tuple[IntArray, IntArray]:
    """All (track, measurement) pairs closer than the track's radius, via a hashed grid.

    Measurements are binned on the horizontal plane into square cells twice as wide as
    the typical radius; a track looks in the four cells around its nearest cell corner.
    Building and querying this is a sort and two binary searches, cheaper than a KD-tree
    for the one-query-per-track pattern of a scan. Tracks whose radius exceeds half a
    cell (long coasting, just started) are answered by a KD-tree instead.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(track_positions) == 0 or len(measurement_positions) == 0:
        return empty, empty
    usable = np.isfinite(radii) & np.isfinite(track_positions).all(axis=1)
    radii = np.where(usable, radii, 0.0)
    # Cells twice the radius: a disc of that radius lies within the 2 x 2 block of cells
    # nearest its centre, so four cells per track are enough.
    typical = float(np.percentile(radii[usable], 95)) if usable.any() else 0.5
    cell = 2.0 * max(typical, 0.5)
    small = usable & (radii <= cell / 2)
    measured_cells = np.floor(measurement_positions[:, :2] / cell).astype(np.int64)
    keys = _cell_keys(measured_cells[:, 0], measured_cells[:, 1])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    small_tracks = np.flatnonzero(small)
    # The 2 x 2 block whose shared corner is the cell corner nearest to the track.
    track_cells = np.floor(track_positions[small_tracks, :2] / cell - 0.5).astype(np.int64)
    offsets = np.array([(0, 0), (0, 1), (1, 0), (1, 1)], dtype=np.int64)
    query_x = (track_cells[:, None, 0] + offsets[None, :, 0]).ravel()
    query_y = (track_cells[:, None, 1] + offsets[None, :, 1]).ravel()
    query_keys = _cell_keys(query_x, query_y)
    starts = np.searchsorted(sorted_keys, query_keys, side="left")
    counts = np.searchsorted(sorted_keys, query_keys, side="right") - starts
    total = int(counts.sum())
    query_track = np.repeat(np.repeat(small_tracks, len(offsets)), counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    query_measurement = order[np.repeat(starts, counts) + within]
    dims = measurement_positions.shape[1]
    separation = track_positions[query_track, :dims] - measurement_positions[query_measurement]
    close = (separation**2).sum(axis=1) <= radii[query_track] ** 2
    tracks_found = [query_track[close]]
    measurements_found = [query_measurement[close]]
    large = np.flatnonzero(usable & ~small)
    if len(large):
        far_tracks, far_measurements = kdtree_candidates(
            track_positions[large], radii[large], measurement_positions
        )
        tracks_found.append(large[far_tracks])
        measurements_found.append(far_measurements)
    return (
        np.concatenate(tracks_found).astype(np.int64),
        np.concatenate(measurements_found).astype(np.int64),
    )


def _cell_keys(cell_x: IntArray, cell_y: IntArray) -> IntArray:
    """One sortable integer per cell (cells within ±2³⁰ of the origin on both axes)."""
    bias = np.int64(1 << 30)
    keys: IntArray = (cell_x + bias) * np.int64(1 << 31) + (cell_y + bias)
    return keys
