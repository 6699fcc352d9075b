"""Filter estimates of many tracks at once, and the batch of tracks the tracker returns."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hotzone.types.arrays import BoolArray, FloatArray, IntArray

ObjectArray = NDArray[np.object_]


@dataclass(frozen=True)
class Estimates:
    """Gaussian estimates of N tracks: row i of every array is track i.

    With an IMM the per-mode estimates and mode probabilities ride along; ``state`` and
    ``covariance`` are then their moment-matched combination.
    """

    state: FloatArray  # (N, d)
    covariance: FloatArray  # (N, d, d)
    mode_states: FloatArray | None = None  # (N, r, d)
    mode_covariances: FloatArray | None = None  # (N, r, d, d)
    mode_probabilities: FloatArray | None = None  # (N, r)

    @property
    def size(self) -> int:
        return int(self.state.shape[0])

    def take(self, indices: IntArray | BoolArray) -> Estimates:
        """Rows ``indices`` (or where the mask is true), as ``array[indices]`` gives them.

        ``np.take`` along the rows: a third faster than fancy indexing on the (N, r, d, d)
        mode covariances, which the tracker gathers several times a window."""
        given = np.asarray(indices)
        if given.dtype == np.bool_ and given.shape == (self.size,):
            given = np.flatnonzero(given)
        if given.dtype.kind != "i" or given.ndim != 1:
            return Estimates(
                self.state[indices],
                self.covariance[indices],
                *(None if value is None else value[indices] for value in self._values()[2:]),
            )
        rows: IntArray = given.astype(np.intp, copy=False)
        state, covariance, *modes = (
            None if value is None else np.take(value, rows, axis=0) for value in self._values()
        )
        assert state is not None and covariance is not None
        return Estimates(state, covariance, *modes)

    def _values(self) -> tuple[FloatArray | None, ...]:
        return (
            self.state,
            self.covariance,
            self.mode_states,
            self.mode_covariances,
            self.mode_probabilities,
        )

    def put(self, indices: IntArray, other: Estimates) -> Estimates:
        """A copy with rows ``indices`` replaced by ``other``'s rows."""
        values: list[FloatArray | None] = []
        for mine, theirs in zip(self._values(), other._values(), strict=True):
            if mine is None or theirs is None:
                values.append(None)
                continue
            updated = mine.copy()
            updated[indices] = theirs
            values.append(updated)
        state, covariance = values[0], values[1]
        assert state is not None and covariance is not None
        return Estimates(state, covariance, *values[2:])

    def assign(self, indices: IntArray, other: Estimates) -> None:
        """Rows ``indices`` replaced by ``other``'s rows, in place (the arrays must be
        the caller's own, as a window's working copy is; `put` copies instead)."""
        for mine, theirs in zip(self._values(), other._values(), strict=True):
            if mine is None:
                continue
            if theirs is None:
                raise ValueError("cannot assign estimates without modes to rows with modes")
            mine[indices] = theirs

    def copy(self) -> Estimates:
        return Estimates(
            self.state.copy(),
            self.covariance.copy(),
            *(None if value is None else value.copy() for value in self._values()[2:]),
        )

    @staticmethod
    def concatenate(parts: list[Estimates]) -> Estimates:
        columns = list(zip(*(part._values() for part in parts), strict=True))
        return Estimates(
            *(
                None if any(v is None for v in column) else np.concatenate(column)  # type: ignore[arg-type]
                for column in columns
            )
        )


@dataclass(frozen=True)
class TrackBatch:
    """Every live track of a tracker, as arrays; what ``step`` returns.

    Identity columns are object arrays of ``str | None`` filled by cooperative reports.
    The sensors that updated a track are the finite entries of its row of ``sensor_seen``
    (one column per sensor of the tracker's registry, as many as there are: `seen_by`).
    Timing columns (``sensor_seen``, ``revisit_s``, ``overdue``) are what track management
    in time works on (see `hotzone.fusion.revisit`).
    """

    estimates: Estimates
    time: FloatArray  # (N,) POSIX seconds of the estimate
    track_number: IntArray  # (N,) stable for the track's life
    confirmed: BoolArray
    hits: IntArray  # updates so far
    hit_history: NDArray[np.uint64]  # bit 0 = latest step, 1 = hit
    misses: IntArray  # consecutive steps without an update
    first_time: FloatArray
    last_update_time: FloatArray
    quality: FloatArray  # in [0, 1]
    icao24: ObjectArray
    callsign: ObjectArray
    on_ground: ObjectArray
    """(N,): the latest ``on_ground`` (True, False) a report of the track gave, or None;
    carried for the assessment, never read by association or estimation."""
    on_ground_time: FloatArray
    """(N,): when a report last gave ``on_ground`` (-inf: never); a flag older than
    `ON_GROUND_MAX_AGE_S` is not published (radar updates never say)."""
    label_seen: FloatArray
    """(N, K): when a measurement labelled with label id k of the tracker's `LabelTable`
    last contributed to the track (-inf: never). Column count grows with the table."""
    identity_labels: IntArray
    """(N, 2): label ids of the inputs that gave ``icao24`` and ``callsign`` (-1: none)."""
    identity: ObjectArray
    """(N,): the cooperative identity the track carries, ``kind:value`` (``icao:4ca2d6``,
    ``mmsi:230123000``, ``uid:...``), or None."""
    sensor_seen: FloatArray
    """(N, S): when sensor column s of the tracker last updated the track (-inf: never)."""
    revisit_s: FloatArray
    """(N, S): the interval at which sensor column s is expected to update the track,
    learnt per object (NaN: not learnt yet)."""
    overdue: FloatArray
    """(N,): expected revisits elapsed since the track's last update, by the sensor that
    expects it the least overdue (0 just after an update; see `hotzone.fusion.revisit`)."""
    missed_looks: FloatArray
    """(N,): expected revisits elapsed, summed over the sensors that were following the
    track at its last update (each sensor's looks that did not update it; see
    `hotzone.fusion.revisit`). Equal to ``overdue`` for a track one sensor follows."""
    sensed_overdue: FloatArray
    """(N,): ``overdue`` counted over the non-cooperative sensors only (inf: none saw it)."""
    sensed_time: FloatArray
    """(N,): the track's latest update by a non-cooperative sensor (-inf: none)."""
    innovation_sum: FloatArray
    """(N,): sum over the track's updates of the normalised innovation squared divided by
    the measurement's size (about 1 each for a target, more for clutter in a wide gate)."""
    innovation_count: IntArray
    """(N,): the updates summed in ``innovation_sum``."""
    looks: FloatArray
    """(N,): looks at the track's object its non-cooperative sensors made between their
    updates of it (each interval between two updates by one sensor, in that sensor's
    revisits, rounded), summed over its life; see `hotzone.fusion.revisit`."""
    looks_detected: FloatArray
    """(N,): of ``looks``, those that updated the track: ``looks_detected / looks`` is the
    track's observed probability of detection."""

    @property
    def size(self) -> int:
        return self.estimates.size

    @property
    def state(self) -> FloatArray:
        return self.estimates.state

    @property
    def covariance(self) -> FloatArray:
        return self.estimates.covariance

    def seen_by(self) -> BoolArray:
        """(N, S): whether sensor column s has updated track n (a set of sensors per
        track, of any size)."""
        return np.isfinite(self.sensor_seen)

    def seen_by_any(self, columns: list[int]) -> BoolArray:
        """(N,): whether any of the sensor ``columns`` has updated each track."""
        present = [column for column in columns if column < self.sensor_seen.shape[1]]
        if not present:
            return np.zeros(self.size, dtype=np.bool_)
        return np.asarray(np.isfinite(self.sensor_seen[:, present]).any(axis=1), dtype=np.bool_)

    @staticmethod
    def empty(state_size: int, modes: int = 0) -> TrackBatch:
        estimates = Estimates(
            np.zeros((0, state_size)),
            np.zeros((0, state_size, state_size)),
            *(
                (
                    np.zeros((0, modes, state_size)),
                    np.zeros((0, modes, state_size, state_size)),
                    np.zeros((0, modes)),
                )
                if modes
                else (None, None, None)
            ),
        )
        return TrackBatch(
            estimates=estimates,
            time=np.zeros(0),
            track_number=np.zeros(0, dtype=np.int64),
            confirmed=np.zeros(0, dtype=np.bool_),
            hits=np.zeros(0, dtype=np.int64),
            hit_history=np.zeros(0, dtype=np.uint64),
            misses=np.zeros(0, dtype=np.int64),
            first_time=np.zeros(0),
            last_update_time=np.zeros(0),
            quality=np.zeros(0),
            icao24=np.zeros(0, dtype=object),
            callsign=np.zeros(0, dtype=object),
            on_ground=np.zeros(0, dtype=object),
            on_ground_time=np.zeros(0),
            label_seen=np.zeros((0, 0)),
            identity_labels=np.zeros((0, 2), dtype=np.int64),
            identity=np.zeros(0, dtype=object),
            sensor_seen=np.zeros((0, 0)),
            revisit_s=np.zeros((0, 0)),
            overdue=np.zeros(0),
            missed_looks=np.zeros(0),
            sensed_overdue=np.zeros(0),
            sensed_time=np.zeros(0),
            innovation_sum=np.zeros(0),
            innovation_count=np.zeros(0, dtype=np.int64),
            looks=np.zeros(0),
            looks_detected=np.zeros(0),
        )

    def take(self, indices: IntArray | BoolArray) -> TrackBatch:
        given = np.asarray(indices)
        if given.dtype == np.bool_ and given.shape == (self.size,):
            given = np.flatnonzero(given)
        if given.dtype.kind != "i" or given.ndim != 1:
            values: dict[str, Any] = {
                field.name: getattr(self, field.name)[indices]
                for field in fields(self)
                if field.name != "estimates"
            }
            return TrackBatch(estimates=self.estimates.take(indices), **values)
        # Rows by np.take, as `Estimates.take` gathers them.
        rows: IntArray = given.astype(np.intp, copy=False)
        values = {
            field.name: np.take(getattr(self, field.name), rows, axis=0)
            for field in fields(self)
            if field.name != "estimates"
        }
        return TrackBatch(estimates=self.estimates.take(rows), **values)

    def take_beside(self, rows: IntArray, base: TrackBatch, base_taken: TrackBatch) -> TrackBatch:
        """``self.take(rows)``, where ``base_taken`` is ``base.take(rows)``: the columns
        ``self`` shares with ``base`` (the very arrays, as a prediction of ``base`` made
        by `with_estimates` shares all but its estimates and times) are taken from
        ``base_taken`` instead of being gathered a second time."""
        values: dict[str, Any] = {}
        for field in fields(self):
            if field.name == "estimates":
                continue
            mine = getattr(self, field.name)
            if mine is getattr(base, field.name):
                values[field.name] = getattr(base_taken, field.name)
            else:
                values[field.name] = np.take(mine, rows, axis=0)
        if self.estimates is base.estimates:
            return TrackBatch(estimates=base_taken.estimates, **values)
        return TrackBatch(estimates=self.estimates.take(rows), **values)

    def copy(self) -> TrackBatch:
        """Every column copied (a memory copy, cheaper than ``take`` of every row)."""
        values: dict[str, Any] = {
            field.name: getattr(self, field.name).copy()
            for field in fields(self)
            if field.name != "estimates"
        }
        return TrackBatch(estimates=self.estimates.copy(), **values)

    def with_estimates(self, estimates: Estimates, time: FloatArray) -> TrackBatch:
        return replace(self, estimates=estimates, time=time)

    def with_label_columns(self, count: int) -> TrackBatch:
        """The batch with at least ``count`` label columns (new ones: never seen)."""
        have = self.label_seen.shape[1]
        if have >= count:
            return self
        padding = np.full((self.size, count - have), -np.inf)
        return replace(self, label_seen=np.concatenate([self.label_seen, padding], axis=1))

    def with_sensor_columns(self, count: int) -> TrackBatch:
        """The batch with at least ``count`` sensor columns (new ones: never seen)."""
        have = self.sensor_seen.shape[1]
        if have >= count:
            return self
        seen = np.full((self.size, count - have), -np.inf)
        revisit = np.full((self.size, count - have), np.nan)
        return replace(
            self,
            sensor_seen=np.concatenate([self.sensor_seen, seen], axis=1),
            revisit_s=np.concatenate([self.revisit_s, revisit], axis=1),
        )

    @staticmethod
    def concatenate(parts: list[TrackBatch]) -> TrackBatch:
        columns = max(part.label_seen.shape[1] for part in parts)
        sensors = max(part.sensor_seen.shape[1] for part in parts)
        parts = [part.with_label_columns(columns).with_sensor_columns(sensors) for part in parts]
        values: dict[str, Any] = {
            field.name: np.concatenate([getattr(part, field.name) for part in parts])
            for field in fields(TrackBatch)
            if field.name != "estimates"
        }
        return TrackBatch(
            estimates=Estimates.concatenate([part.estimates for part in parts]), **values
        )


@dataclass
class GrowingTracks:
    """A track batch that new tracks are appended to without copying the tracks it
    holds (the live mode's, which a step may append to many times a second): its columns
    are the first ``size`` rows of buffers whose capacity doubles when full, and `view`
    is a `TrackBatch` of those rows, written through in place."""

    _buffer: TrackBatch
    size: int
    _view: TrackBatch

    @staticmethod
    def holding(tracks: TrackBatch, room: int | None = None) -> GrowingTracks:
        """A copy of ``tracks`` with room to grow: ``room`` rows more (None: as many
        again; the capacity doubles when full either way)."""
        capacity = _capacity_for(tracks.size) if room is None else tracks.size + room
        buffer = _with_capacity(tracks, tracks.size, capacity)
        return GrowingTracks(buffer, tracks.size, _rows_of(buffer, tracks.size))

    def view(self) -> TrackBatch:
        """The tracks held: their rows of the buffers, not a copy."""
        return self._view

    def holds(self, tracks: TrackBatch) -> bool:
        """Whether ``tracks`` is this storage's `view` (not a batch made from it since)."""
        return tracks is self._view

    def adopt(self, tracks: TrackBatch) -> bool:
        """Whether ``tracks`` is the view or a batch made from it by replacing whole
        columns (`dataclasses.replace`: it shares the view's `Estimates`, as the revisit
        model's batches do); if so, the replaced columns are written into the buffers and
        the view holds what ``tracks`` holds, so that `append` may follow it."""
        view = self._view
        if tracks is view:
            return True
        if tracks.estimates is not view.estimates or tracks.size != self.size:
            return False
        view = self.with_columns(tracks.sensor_seen.shape[1], tracks.label_seen.shape[1])
        tracks = tracks.with_sensor_columns(view.sensor_seen.shape[1]).with_label_columns(
            view.label_seen.shape[1]
        )
        for column in fields(TrackBatch):
            if column.name == "estimates":
                continue
            mine, theirs = getattr(view, column.name), getattr(tracks, column.name)
            if theirs is not mine:
                mine[...] = theirs
        return True

    def with_columns(self, sensors: int, labels: int) -> TrackBatch:
        """The view, with at least ``sensors`` sensor and ``labels`` label columns (new
        ones never seen; the buffers are remade only when columns are added)."""
        buffer = self._buffer
        if buffer.sensor_seen.shape[1] >= sensors and buffer.label_seen.shape[1] >= labels:
            return self._view
        self._buffer = buffer.with_sensor_columns(sensors).with_label_columns(labels)
        self._view = _rows_of(self._buffer, self.size)
        return self._view

    def append(self, new: TrackBatch) -> TrackBatch:
        """The view with ``new``'s rows after the rows held (copied into the buffers;
        the rows held move only when the capacity doubles)."""
        count = new.size
        if count == 0:
            return self._view
        self.with_columns(new.sensor_seen.shape[1], new.label_seen.shape[1])
        buffer = self._buffer
        new = new.with_sensor_columns(buffer.sensor_seen.shape[1]).with_label_columns(
            buffer.label_seen.shape[1]
        )
        end = self.size + count
        if end > buffer.size:
            buffer = self._buffer = _with_capacity(buffer, self.size, _capacity_for(end))
        rows = slice(self.size, end)
        for mine, theirs in zip(buffer.estimates._values(), new.estimates._values(), strict=True):
            if mine is None:
                continue
            if theirs is None:
                raise ValueError("cannot append estimates without modes to tracks with modes")
            mine[rows] = theirs
        for column in fields(TrackBatch):
            if column.name != "estimates":
                getattr(buffer, column.name)[rows] = getattr(new, column.name)
        self.size = end
        self._view = _rows_of(buffer, end)
        return self._view


def _capacity_for(size: int) -> int:
    return max(64, 2 * size)


def _with_capacity(tracks: TrackBatch, size: int, capacity: int) -> TrackBatch:
    """Buffers of ``capacity`` rows holding the first ``size`` rows of ``tracks``."""

    def grown(column: NDArray[Any]) -> NDArray[Any]:
        buffer = np.empty((capacity, *column.shape[1:]), dtype=column.dtype)
        buffer[:size] = column[:size]
        return buffer

    estimates = Estimates(
        *(None if value is None else grown(value) for value in tracks.estimates._values())  # type: ignore[arg-type]
    )
    values: dict[str, Any] = {
        column.name: grown(getattr(tracks, column.name))
        for column in fields(TrackBatch)
        if column.name != "estimates"
    }
    return TrackBatch(estimates=estimates, **values)


def _rows_of(buffer: TrackBatch, size: int) -> TrackBatch:
    """The first ``size`` rows of every column of ``buffer``, as views."""
    estimates = Estimates(
        *(None if value is None else value[:size] for value in buffer.estimates._values())  # type: ignore[arg-type]
    )
    values: dict[str, Any] = {
        column.name: getattr(buffer, column.name)[:size]
        for column in fields(TrackBatch)
        if column.name != "estimates"
    }
    return TrackBatch(estimates=estimates, **values)
