"""Gating: which (track, measurement) pairs are plausible at all.

Two steps: a coarse spatial pre-gate (a grid of cells over measurement positions, searched
with a radius per track that bounds its gate: `grid_candidates`) keeps the work
proportional to the number of nearby pairs instead of N×M; then the exact chi-square test
on the Mahalanobis distance.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import gammaincinv

from hotzone.types.arrays import BoolArray, FloatArray, IntArray


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
        return chi_square_quantile(self.probability, measurement_size)


@lru_cache(maxsize=64)
def chi_square_quantile(probability: float, degrees: int) -> float:
    """The chi-square quantile, by the formula `scipy.stats.chi2.ppf` evaluates
    (2·P⁻¹(k/2, p), the inverse regularised lower incomplete gamma function), the same bits:
    importing ``scipy.stats`` took 0.27 s of every command's start. Cached: every gate
    asks for it."""
    return float(2.0 * gammaincinv(degrees / 2.0, probability))


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
    # Flattened in C (chain) rather than by a generator over every index.
    measurements = np.fromiter(
        itertools.chain.from_iterable(neighbours), dtype=np.int64, count=int(counts.sum())
    )
    return tracks, measurements


CELLS_PER_RADIUS = 2
"""Grid cells per typical gate radius: finer cells test fewer pairs outside the gate, at
the price of more rows of cells (2·CELLS_PER_RADIUS + 1) searched per track."""


def grid_candidates(
    track_positions: FloatArray, radii: FloatArray, measurement_positions: FloatArray
) -> tuple[IntArray, IntArray]:
    """All (track, measurement) pairs closer than the track's radius, via a hashed grid.

    Measurements are binned on the horizontal plane into square cells of half the typical
    radius (95th percentile), keyed row by row so that a run of cells of one row is one
    range of the sorted keys. Each track searches the rows of cells its disc crosses and,
    in each row, only the cells under the disc's chord there: about the disc's area plus
    a strip of one cell around it (about 5 r² instead of the 16 r² of 2 x 2 cells twice
    the radius wide). Building and querying is a sort and binary searches, cheaper than a
    KD-tree for the one-query-per-track pattern of a scan. Tracks whose radius exceeds the
    typical one (long coasting, just started) come after the others, searching more rows
    of the same cells (building a KD-tree over every measurement for them cost more than
    all the others' search), a KD-tree only beyond `LARGE_GATE_ROWS` rows. Pairs come
    grouped by track: the typical tracks' in ascending track order, then the others'.
    """
    empty = np.zeros(0, dtype=np.int64)
    if len(track_positions) == 0 or len(measurement_positions) == 0:
        return empty, empty
    binned = _Binned.over(track_positions, radii, measurement_positions)
    if int(binned.usable.sum()) * len(measurement_positions) <= SCANNED_PAIRS:
        scanned = _scanned_pairs(track_positions, measurement_positions, binned)
        if scanned is not None:
            return scanned
    return _searched_pairs(track_positions, measurement_positions, binned)


def grid_candidates_within(
    track_positions: FloatArray,
    radii: FloatArray,
    measurement_positions: FloatArray,
    group_of: IntArray,
    group_radii: FloatArray,
) -> tuple[IntArray, IntArray]:
    """The pairs of ``grid_candidates(track_positions, radii, measurement_positions)``, in
    its order, whose measurement also lies within its group's radius of the track: the
    measurements fall in groups (``group_of``: each one's group), and ``group_radii``
    (groups x tracks) gives each track a radius per group, each at most ``radii``.

    One radius per track for every measurement of a scan is its largest noise: a radar's
    plot whose height does not fit its range (its elevation unknown: a noise of tens of
    kilometres) gave every track of its scan a radius that wide, tens of thousands of
    pairs tested where a few hundred lay in a gate (the live mode's slowest steps,
    docs/ingest/limits.md). Each group is searched here with its own radii, and the pairs
    are put in the order `grid_candidates` gives them (the typical tracks' first, each
    track's by the measurements' cells), which the association's order follows."""
    empty = np.zeros(0, dtype=np.int64)
    if len(track_positions) == 0 or len(measurement_positions) == 0:
        return empty, empty
    binned = _Binned.over(track_positions, radii, measurement_positions)
    dims = measurement_positions.shape[1]
    positions = np.ascontiguousarray(track_positions[:, :dims])
    cell = binned.cell
    reach = np.abs(track_positions[binned.usable, :2]).max(initial=0.0) + binned.radii.max(
        initial=0.0
    )
    widest = (2.0 * binned.radii / cell + 2.0 > LARGE_GATE_ROWS).any()
    if (
        widest
        or reach / cell >= KEY_RANGE / 2
        or np.abs(binned.measured_cells).max() >= KEY_RANGE / 2
    ):
        # The search leaves its grid there (a KD-tree's order, keys out of row order):
        # every pair is found as `grid_candidates` finds it, then held to its group.
        tracks, measurements = grid_candidates(track_positions, radii, measurement_positions)
        separation = np.take(positions, tracks, axis=0) - measurement_positions[measurements]
        within = (separation**2).sum(axis=1) <= group_radii[group_of[measurements], tracks] ** 2
        return tracks[within], measurements[within]
    found_tracks: list[IntArray] = [empty]
    found_measurements: list[IntArray] = [empty]
    for group in range(len(group_radii)):
        members = np.flatnonzero(group_of == group)
        if len(members) == 0:
            continue
        # A metre wider than the group's radii: the grid's own rounding loses no pair
        # within them, which the test below then keeps exactly.
        tracks, local = grid_candidates(
            track_positions, group_radii[group] + 1.0, measurement_positions[members]
        )
        found_tracks.append(tracks)
        found_measurements.append(members[local])
    tracks = np.concatenate(found_tracks)
    measurements = np.concatenate(found_measurements)
    separation = np.take(positions, tracks, axis=0) - np.take(
        measurement_positions, measurements, axis=0
    )
    squared = (separation**2).sum(axis=1)
    # Within the group's radius, and among `grid_candidates`' pairs: a usable track,
    # within its radius, the measurement in a cell its search visits (`_scanned_pairs`).
    kept = binned.usable[tracks] & (squared <= group_radii[group_of[measurements], tracks] ** 2)
    kept &= squared <= binned.radii[tracks] ** 2
    kept &= _visited(track_positions, binned, tracks, measurements)
    tracks, measurements = tracks[kept], measurements[kept]
    place = np.empty(len(binned.order), dtype=np.int64)
    place[binned.order] = np.arange(len(binned.order))
    by_search = np.lexsort((place[measurements], tracks, ~binned.small[tracks]))
    return tracks[by_search], measurements[by_search]


def _visited(
    track_positions: FloatArray, binned: _Binned, tracks: IntArray, measurements: IntArray
) -> BoolArray:
    """Whether each measurement lies in a cell the search of its track visits: a row of
    cells the track's disc crosses, a cell under the disc's chord over that row (by
    `_Cells.pairs`' own arithmetic)."""
    cell = binned.cell
    x, y = track_positions[tracks, 0], track_positions[tracks, 1]
    radius = binned.radii[tracks]
    row = binned.measured_cells[measurements, 1]
    column = binned.measured_cells[measurements, 0]
    first_row = np.floor((y - radius) / cell).astype(np.int64)
    last_row = np.floor((y + radius) / cell).astype(np.int64)
    nearest = np.maximum(np.maximum(row * cell - y, y - (row + 1) * cell), 0.0)
    half_width = np.sqrt(np.maximum(radius**2 - nearest**2, 0.0))
    low = np.floor((x - half_width) / cell).astype(np.int64)
    high = np.floor((x + half_width) / cell).astype(np.int64)
    visited: BoolArray = (first_row <= row) & (row <= last_row) & (low <= column) & (column <= high)
    return visited


@dataclass(frozen=True)
class _Binned:
    """The measurements binned into the cells of `grid_candidates`, and which tracks
    search them as typical or wider ones."""

    radii: FloatArray
    """The tracks' radii, 0 for the tracks that are not ``usable``."""
    usable: BoolArray
    small: BoolArray
    """Usable with a radius of at most the typical one."""
    cell: float
    measured_cells: IntArray
    """(M, 2): each measurement's cell, column then row."""
    keys: IntArray
    order: IntArray
    """The measurements sorted by cell (stable: by index within a cell)."""

    @staticmethod
    def over(
        track_positions: FloatArray, radii: FloatArray, measurement_positions: FloatArray
    ) -> _Binned:
        usable = np.isfinite(radii) & np.isfinite(track_positions).all(axis=1)
        radii = np.where(usable, radii, 0.0)
        usable_radii = radii[usable]
        if len(usable_radii):
            rank = int(0.95 * (len(usable_radii) - 1))
            typical = float(np.partition(usable_radii, rank)[rank])
        else:
            typical = 0.5
        typical = max(typical, 0.5)
        cell = typical / CELLS_PER_RADIUS
        measured_cells = np.floor(measurement_positions[:, :2] / cell).astype(np.int64)
        keys = _cell_keys(measured_cells[:, 1], measured_cells[:, 0])
        order = np.argsort(keys, kind="stable")
        small = usable & (radii <= typical)
        return _Binned(radii, usable, small, cell, measured_cells, keys, order)


def _searched_pairs(
    track_positions: FloatArray, measurement_positions: FloatArray, binned: _Binned
) -> tuple[IntArray, IntArray]:
    """`grid_candidates`' search of the cells, track by track."""
    radii, usable, small, cell = binned.radii, binned.usable, binned.small, binned.cell
    small_tracks = np.flatnonzero(small)
    counter = _CellCounter.over(
        binned.measured_cells,
        binned.keys,
        binned.order,
        queries=(2 * CELLS_PER_RADIUS + 1) * len(small_tracks),
    )
    cells = _Cells(cell, counter, binned.order, measurement_positions)
    found = [cells.pairs(small_tracks, track_positions, radii)]
    large = np.flatnonzero(usable & ~small)
    if len(large):
        # Wider gates search more rows of the same cells; beyond LARGE_GATE_ROWS rows
        # (a gate of hundreds of typical ones) a KD-tree answers, their pairs merged in
        # track order.
        by_grid = 2.0 * radii[large] / cell + 2.0 <= LARGE_GATE_ROWS
        wide = cells.pairs(large[by_grid], track_positions, radii)
        widest = large[~by_grid]
        if len(widest):
            far_tracks, far_measurements = kdtree_candidates(
                track_positions[widest], radii[widest], measurement_positions
            )
            merged_tracks = np.concatenate([wide[0], widest[far_tracks]])
            merged_measurements = np.concatenate([wide[1], far_measurements])
            by_track = np.argsort(merged_tracks, kind="stable")
            wide = merged_tracks[by_track], merged_measurements[by_track]
        found.append(wide)
    tracks_found = [pairs[0] for pairs in found]
    measurements_found = [pairs[1] for pairs in found]
    return (
        np.concatenate(tracks_found).astype(np.int64),
        np.concatenate(measurements_found).astype(np.int64),
    )


LARGE_GATE_ROWS = 1024
"""Rows of cells a track may search; a wider gate is answered by a KD-tree."""

SCANNED_PAIRS = 4096
"""Up to this many (track, measurement) pairs in all, every pair is tested at once
(`_scanned_pairs`) instead of searching the cells: a few calls on a small array, where
the search's sixty-odd calls cost some 0.2 ms (a scan's tentative tracks against the
plots its confirmed tracks left)."""


def _scanned_pairs(
    track_positions: FloatArray, measurement_positions: FloatArray, binned: _Binned
) -> tuple[IntArray, IntArray] | None:
    """`grid_candidates`' pairs found by testing every usable track against every
    measurement: the pairs whose measurement lies in a cell the track's search visits
    (a row of cells its disc crosses, a cell under the disc's chord over that row, by
    `_Cells.pairs`' own arithmetic) and within its radius (the same sum of squares),
    in the search's order: the typical tracks' in track order, then the wider ones',
    each track's by the measurements' place in ``order``. None where the search would
    not stay on its grid (a gate of more than `LARGE_GATE_ROWS` rows, cells beyond
    `KEY_RANGE`): the caller searches."""
    cell, measured_cells, order = binned.cell, binned.measured_cells, binned.order
    tracks = np.flatnonzero(binned.usable)
    radius = binned.radii[tracks]
    if not (2.0 * radius / cell + 2.0 <= LARGE_GATE_ROWS).all():
        return None
    reach = np.abs(track_positions[tracks, :2]).max(initial=0.0) + radius.max(initial=0.0)
    if reach / cell >= KEY_RANGE / 2 or np.abs(measured_cells).max() >= KEY_RANGE / 2:
        return None
    dims = measurement_positions.shape[1]
    separation = track_positions[tracks, None, :dims] - measurement_positions[None, :, :]
    close = (separation**2).sum(axis=2) <= (radius**2)[:, None]
    pair_track, pair_measurement = np.nonzero(close)
    pair_track = tracks[pair_track]
    visited = _visited(track_positions, binned, pair_track, pair_measurement)
    pair_track, pair_measurement = pair_track[visited], pair_measurement[visited]
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    wider = ~binned.small[pair_track]
    by_search = np.lexsort((place[pair_measurement], pair_track, wider))
    return pair_track[by_search], pair_measurement[by_search]


@dataclass(frozen=True)
class _Cells:
    """The measurements binned into square cells of side ``cell``, sorted by cell
    (``order``), with a counter of the measurements before each cell."""

    cell: float
    counter: _CellCounter
    order: IntArray
    measurement_positions: FloatArray

    def pairs(
        self, tracks: IntArray, track_positions: FloatArray, radii: FloatArray
    ) -> tuple[IntArray, IntArray]:
        """(track, measurement) pairs of ``tracks`` (ascending) closer than the track's
        radius: each track searches the rows of cells its disc crosses and, in each row,
        the cells under the disc's chord there. Grouped by track, then by row, cell and
        measurement index."""
        cell = self.cell
        x = track_positions[tracks, 0]
        y = track_positions[tracks, 1]
        radius = radii[tracks]
        first_row = np.floor((y - radius) / cell).astype(np.int64)
        last_row = np.floor((y + radius) / cell).astype(np.int64)
        rows_of = last_row - first_row + 1
        before = np.cumsum(rows_of) - rows_of
        row_track = np.repeat(np.arange(len(tracks)), rows_of)
        row = np.repeat(first_row - before, rows_of) + np.arange(int(rows_of.sum()))
        row_y = y[row_track]
        row_radius = radius[row_track]
        # The disc's half-width over a row: at the row's edge nearest the track's centre.
        nearest = np.maximum(np.maximum(row * cell - row_y, row_y - (row + 1) * cell), 0.0)
        half_width = np.sqrt(np.maximum(row_radius**2 - nearest**2, 0.0))
        row_x = x[row_track]
        low = np.floor((row_x - half_width) / cell).astype(np.int64)
        high = np.floor((row_x + half_width) / cell).astype(np.int64)
        starts = self.counter.before(row, low)
        counts = self.counter.through(row, high) - starts
        total = int(counts.sum())
        query_track = np.repeat(tracks[row_track], counts)
        # Pair k of a run of cells is entry ``starts + (k - the run's first pair)`` of
        # ``order``: one shift per run, repeated over its pairs.
        shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        query_measurement = np.take(self.order, shift + np.arange(total))
        dims = self.measurement_positions.shape[1]
        # Gathered along rows of contiguous arrays (fancy indexing of the strided views
        # costs twice as much); the same numbers.
        separation = np.take(np.ascontiguousarray(track_positions[:, :dims]), query_track, axis=0)
        separation -= np.take(self.measurement_positions, query_measurement, axis=0)
        close = (separation**2).sum(axis=1) <= np.take(radii**2, query_track)
        return query_track[close], query_measurement[close]


KEY_RANGE = 1 << 30
"""Cells within this many of the origin on both axes have keys in row-major order."""
DENSE_CELLS_PER_QUERY = 8
"""A dense table of the measured cells' box is built when it has at most this many cells
per query: filling it costs a few ns a cell, a binary search some 60 ns a query."""
DENSE_CELLS_LIMIT = 1 << 22
"""At most this many cells (32 MB of counts) in a dense table."""


@dataclass(frozen=True)
class _CellCounter:
    """How many measurements lie in cells before a cell, in the row-major cell order: the
    start of a run of cells in the measurements sorted by cell (``order``).

    Either a binary search in the sorted keys, or, when the box of the measured cells is
    small enough, a lookup in a dense table of prefix counts over that box: a query
    before the box's first row counts none, after its last row all, and in a row of the
    box, its column held to the box's columns (a cell west of the box precedes every
    measured cell of that row, east of it follows them). Both count the same
    measurements whenever every key is in row-major order (`KEY_RANGE`)."""

    sorted_keys: IntArray | None
    prefix: IntArray | None
    first_row: int = 0
    last_row: int = 0
    first_column: int = 0
    last_column: int = 0

    @staticmethod
    def over(
        measured_cells: IntArray, keys: IntArray, order: IntArray, queries: int
    ) -> _CellCounter:
        first_column, first_row = (int(value) for value in measured_cells.min(axis=0))
        last_column, last_row = (int(value) for value in measured_cells.max(axis=0))
        lowest, highest = min(first_column, first_row), max(last_column, last_row)
        in_key_range = lowest >= -KEY_RANGE and highest < KEY_RANGE
        cells = (last_row - first_row + 1) * (last_column - first_column + 1)
        if not in_key_range or cells > min(DENSE_CELLS_PER_QUERY * queries, DENSE_CELLS_LIMIT):
            return _CellCounter(sorted_keys=keys[order], prefix=None)
        width = last_column - first_column + 1
        dense = (measured_cells[:, 1] - first_row) * width + (measured_cells[:, 0] - first_column)
        prefix = np.zeros(cells + 1, dtype=np.intp)
        np.cumsum(np.bincount(dense, minlength=cells), out=prefix[1:])
        return _CellCounter(None, prefix, first_row, last_row, first_column, last_column)

    def before(self, row: IntArray, column: IntArray) -> IntArray:
        """Measurements in cells before (row, column): ``searchsorted(..., "left")``."""
        if self.prefix is None:
            assert self.sorted_keys is not None
            found: IntArray = np.searchsorted(self.sorted_keys, _cell_keys(row, column))
            return found
        return self._prefix_at(row, np.clip(column, self.first_column, self.last_column + 1))

    def through(self, row: IntArray, column: IntArray) -> IntArray:
        """Measurements in cells up to and including (row, column): ``searchsorted(...,
        "right")``, the count before the cell that follows it."""
        if self.prefix is None:
            assert self.sorted_keys is not None
            found: IntArray = np.searchsorted(
                self.sorted_keys, _cell_keys(row, column), side="right"
            )
            return found
        held = np.clip(column, self.first_column - 1, self.last_column)
        return self._prefix_at(row, held + 1)

    def _prefix_at(self, row: IntArray, held_column: IntArray) -> IntArray:
        assert self.prefix is not None
        width = self.last_column - self.first_column + 1
        cells = len(self.prefix) - 1
        held_row = np.clip(row, self.first_row, self.last_row) - self.first_row
        position = held_row * width + (held_column - self.first_column)
        position = np.where(row < self.first_row, 0, np.where(row > self.last_row, cells, position))
        counts: IntArray = self.prefix[position]
        return counts


def _cell_keys(row: IntArray, column: IntArray) -> IntArray:
    """One sortable integer per cell, row-major: the cells of one row from west to east
    are consecutive keys (cells within ±2³⁰ of the origin on both axes)."""
    bias = np.int64(1 << 30)
    keys: IntArray = (row + bias) * np.int64(1 << 31) + (column + bias)
    return keys
