"""The track manager: a track's life, on arrays, and the history that replays it.

Stone Soup's initiator and deleter roles around one window: it starts tentative tracks
from the measurements no track took (and from crossing bearings), closes the window's
books (hit history, misses, revisits, confirmation, quality), ends tracks the deleter
ends and confirmed tracks that duplicate one with an identity, records identity
conflicts and the identities that have had a confirmed track (a returning one is
confirmed sooner: `hotzone.fusion.initiation.RevisitInitiator`), and keeps what each
recent window changes as it was before it (the batch, the track numbers, the revisit
model, the waiting bearings, the known identities) so that an out-of-sequence
measurement can be replayed from the window it belongs to as if it had come in time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hotzone.fusion.deletion import Deleter
from hotzone.fusion.estimates import GrowingTracks, TrackBatch
from hotzone.fusion.gating import Gater
from hotzone.fusion.initiation import Initiator
from hotzone.fusion.labels import NO_LABEL
from hotzone.fusion.measurement import BearingMeasurement
from hotzone.fusion.predictor import Predictor
from hotzone.fusion.revisit import RevisitMemory, RevisitModel
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.triangulation import BearingTriangulator, PendingBearing
from hotzone.fusion.updater import mahalanobis_squared
from hotzone.types.arrays import BoolArray, FloatArray, IntArray
from hotzone.types.labels import LabelTable


@dataclass(frozen=True)
class IdentityConflict:
    """Two confirmed tracks carry one cooperative identity far apart: spoofing, or two
    transponders set to one address. Neither is merged into the other."""

    identity: str
    time: float
    track_numbers: tuple[int, int]
    positions: tuple[tuple[float, float, float], tuple[float, float, float]]
    """Both tracks' positions at ``time`` (ENU metres of the track frame)."""
    distance_m: float


@dataclass
class WindowRecord:
    """One recent window: its scans and everything a window changes as it was before it
    (the batch, the track numbers, the revisit model, the waiting bearings, the known
    identities), to replay it from as if its late scans had come in time."""

    time: float
    tracks_before: TrackBatch
    next_number_before: int
    scans: list[SensorScan]
    revisit_before: RevisitMemory
    bearings_before: list[PendingBearing]
    forgotten_at_before: float
    identities_undo: list[tuple[str, tuple[float, float] | None]] = field(default_factory=list)
    """Each known identity the window changed, with its entry before (None: it had none),
    in the order changed: the few the window touched, not a copy of them all."""


@dataclass
class TrackManager:
    predictor: Predictor
    initiator: Initiator
    deleter: Deleter
    gater: Gater
    revisit: RevisitModel
    labels: LabelTable
    triangulator: BearingTriangulator | None
    spatial_dims: int
    duplicate_speed_mps: float
    lag_s: float
    sensor_column: Callable[[str], int]
    next_track_number: int = 1
    identity_memory_s: float = 86_400.0
    """An identity whose last confirmed track ended longer ago than this is forgotten
    (its return needs the reports of a new one); a day keeps one entry per aircraft or
    vessel of a busy day's feed."""
    identity_conflicts: list[IdentityConflict] = field(default_factory=list)
    history: list[WindowRecord] = field(default_factory=list)
    _conflicting: set[tuple[int, int]] = field(default_factory=set)
    _known_identities: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Identity -> (window time it first had a confirmed track, latest window time a
    confirmed track of it was confirmed or ended)."""
    _forgotten_at: float = -np.inf
    _identities_undo: list[tuple[str, tuple[float, float] | None]] | None = None
    """The undo list of the window being processed (None when no history is kept)."""
    growing: GrowingTracks | None = None
    """The storage a window's working tracks grow in: tracks started on its `view` (or
    on a batch made from it by replacing columns: `GrowingTracks.adopt`) are appended to
    it in place, not concatenated into a new batch (a copy of every track for each scan
    that starts one); any other batch is concatenated."""

    # ------------------------------------------------------------------ initiation
    def start_tracks(self, tracks: TrackBatch, scan: SensorScan, rows: IntArray) -> TrackBatch:
        """Tentative tracks from rows ``rows`` of ``scan`` (bearings go to the
        triangulator instead)."""
        size = scan.model.position_size
        if size == 0:
            if self.triangulator is not None and isinstance(scan.model, BearingMeasurement):
                self.triangulator.add(
                    scan.sensor_id,
                    scan.sensor_position,
                    scan.times[rows],
                    scan.values[rows],
                    scan.noise[rows],
                    None if scan.label_ids is None else scan.label_ids[rows],
                )
            return tracks
        positions = scan.values[rows][:, : min(size, self.spatial_dims)]
        noise = scan.noise[rows][:, : positions.shape[1], : positions.shape[1]]
        labels = None if scan.label_ids is None else scan.label_ids[rows]
        return self._append(tracks, positions, noise, scan.times[rows], scan, rows, labels)

    def start_from_bearings(self, tracks: TrackBatch, time: float) -> TrackBatch:
        if self.triangulator is None:
            return tracks
        positions, covariances, times, labels = self.triangulator.triangulate(time, self.labels)
        if len(positions) == 0:
            return tracks
        dims = self.spatial_dims
        return self._append(
            tracks,
            positions[:, :dims],
            covariances[:, :dims, :dims],
            times,
            None,
            None,
            labels,
        )

    def _append(
        self,
        tracks: TrackBatch,
        positions: FloatArray,
        covariances: FloatArray,
        times: FloatArray,
        scan: SensorScan | None,
        rows: IntArray | None,
        labels: IntArray | None = None,
    ) -> TrackBatch:
        count = len(positions)
        state, covariance = self.initiator.initiate(
            positions, covariances, self.predictor.state_size, self.spatial_dims
        )
        numbers = np.arange(self.next_track_number, self.next_track_number + count, dtype=np.int64)
        self.next_track_number += count
        icao = np.full(count, None, dtype=object)
        callsign = np.full(count, None, dtype=object)
        on_ground = np.full(count, None, dtype=object)
        identity = np.full(count, None, dtype=object)
        sensor_seen = np.full((count, 0), -np.inf)
        if scan is not None and rows is not None:
            if scan.icao24 is not None:
                icao = scan.icao24[rows].copy()
            if scan.callsign is not None:
                callsign = scan.callsign[rows].copy()
            if scan.on_ground is not None:
                on_ground = scan.on_ground[rows].copy()
            identities = scan.identities()
            if identities is not None:
                identity = identities[rows].copy()
            column = self.sensor_column(scan.sensor_id)
            sensor_seen = np.full((count, column + 1), -np.inf)
            sensor_seen[:, column] = times
        label_seen = np.full((count, len(self.labels)), -np.inf)
        identity_labels = np.full((count, 2), NO_LABEL, dtype=np.int64)
        if labels is not None:
            labelled = np.flatnonzero(labels != NO_LABEL)
            label_seen[labelled, labels[labelled]] = times[labelled]
            identity_labels[:, 0] = np.where(icao != None, labels, NO_LABEL)  # noqa: E711
            identity_labels[:, 1] = np.where(callsign != None, labels, NO_LABEL)  # noqa: E711
        new = TrackBatch(
            estimates=self.predictor.initial_estimates(state, covariance),
            time=times.astype(np.float64).copy(),
            track_number=numbers,
            confirmed=np.zeros(count, dtype=np.bool_),
            hits=np.ones(count, dtype=np.int64),
            hit_history=np.zeros(count, dtype=np.uint64),
            misses=np.zeros(count, dtype=np.int64),
            first_time=times.astype(np.float64).copy(),
            last_update_time=times.astype(np.float64).copy(),
            quality=np.zeros(count),
            icao24=icao,
            callsign=callsign,
            on_ground=on_ground,
            on_ground_time=np.where(on_ground != None, times, -np.inf),  # noqa: E711
            label_seen=label_seen,
            identity_labels=identity_labels,
            identity=identity,
            sensor_seen=sensor_seen,
            revisit_s=np.full(sensor_seen.shape, np.nan),
            overdue=np.zeros(count),
            missed_looks=np.zeros(count),
            sensed_overdue=np.full(count, np.inf),
            sensed_time=np.full(count, -np.inf),
            innovation_sum=np.zeros(count),
            innovation_count=np.zeros(count, dtype=np.int64),
            looks=np.zeros(count),
            looks_detected=np.zeros(count),
        )
        if self.growing is not None and self.growing.adopt(tracks):
            return self.growing.append(new)
        return TrackBatch.concatenate([tracks, new])

    # ------------------------------------------------------------------ the window's books
    def close_window(
        self,
        tracks: TrackBatch,
        was_updated: BoolArray,
        reporting: list[int],
        time: float,
        predict: Callable[[TrackBatch], TrackBatch],
        ended: list[TrackBatch] | None = None,
    ) -> tuple[TrackBatch, TrackBatch, BoolArray]:
        """Hits, misses, revisits, confirmation, quality and deletion once per window.

        ``predict`` gives the tracks predicted to ``time``: deletion looks at the
        prediction, since a coasting track's covariance grows there, not in its last
        update. Returns the surviving tracks, the same predicted to ``time``, and which
        of those are dormant (kept, not shown); the ended ones, predicted, are appended
        to ``ended`` when given (the live mode publishes them as deleted)."""
        # A miss needs a sensor that has seen the track to have reported in this window.
        eligible = was_updated | tracks.seen_by_any(reporting)
        one = np.uint64(1)
        tracks.hit_history[eligible] = (tracks.hit_history[eligible] << one) | was_updated[
            eligible
        ].astype(np.uint64)
        tracks.misses[was_updated] = 0
        tracks.misses[eligible & ~was_updated] += 1
        tracks = self.revisit.assess(tracks, time)
        returning = self._returning(tracks, time)
        newly_confirmed = ~tracks.confirmed & self.initiator.confirms(tracks, returning)
        tracks.confirmed[newly_confirmed] = True
        self._know_identities(tracks, newly_confirmed, time)
        # The share of the updates expected since the last one that came: 1 until the
        # next is due, 1/2 when one was missed, ...
        tracks.quality[:] = 1.0 / np.maximum(tracks.overdue, 1.0)
        predicted = predict(tracks)
        if newly_confirmed.any():
            self._find_identity_conflicts(predicted, newly_confirmed, time)
        doomed = self.deleter.delete_tracks(predicted, time, self.spatial_dims)
        doomed |= self._duplicates(predicted)
        if doomed.any():
            self._know_identities(tracks, doomed & tracks.confirmed, time)
            if ended is not None:
                ended.append(predicted.take(np.flatnonzero(doomed)))
            keep = np.flatnonzero(~doomed)
            kept = tracks.take(keep)
            # The prediction shares every column but its estimates and times with
            # ``tracks``: those rows were just gathered.
            tracks, predicted = kept, predicted.take_beside(keep, tracks, kept)
        return tracks, predicted, self.deleter.dormant(predicted, time)

    def confirm_rows(self, tracks: TrackBatch, rows: IntArray, time: float) -> None:
        """Confirm the tentative tracks among ``rows`` that have earned it, in place (the
        live mode's updates, between two closings of the books: `close_window` confirms
        every track)."""
        if len(rows) == 0:
            return
        returning = self._returning(tracks, time)[rows]
        newly = np.zeros(tracks.size, dtype=np.bool_)
        newly[rows] = ~tracks.confirmed[rows] & self.initiator.confirms(
            tracks.take(rows), returning
        )
        if not newly.any():
            return
        tracks.confirmed[newly] = True
        self._know_identities(tracks, newly, time)
        self._find_identity_conflicts(tracks, newly, time)

    def _returning(self, tracks: TrackBatch, time: float) -> BoolArray:
        """Tentative tracks of an identity that had a confirmed track before this window
        and is carried by no other track now: the object back, not a new address (with
        another track of it alive, a new one is a report that track refused, too far for
        its object: spoofing or a split, which earns its confirmation)."""
        result = np.zeros(tracks.size, dtype=np.bool_)
        if not self._known_identities:
            return result
        known = self._known_identities
        rows = np.flatnonzero(~tracks.confirmed & (tracks.identity != None))  # noqa: E711
        # Known before this window: a window replayed for a late measurement decides as it
        # did the first time, whatever was learnt after it.
        candidates = [
            row
            for row, identity in zip(rows.tolist(), tracks.identity[rows].tolist(), strict=True)
            if known.get(identity, (np.inf, np.inf))[0] < time
        ]
        if not candidates:
            return result
        carried: dict[str, int] = {}
        for identity in tracks.identity.tolist():
            if identity is not None:
                carried[identity] = carried.get(identity, 0) + 1
        for row in candidates:
            result[row] = carried[tracks.identity[row]] == 1
        return result

    def _know_identities(self, tracks: TrackBatch, rows: BoolArray, time: float) -> None:
        """Remember the identities of ``rows`` (confirmed tracks just confirmed or ending)
        at ``time``; forget those not seen for ``identity_memory_s`` (once an hour)."""
        known = self._known_identities
        undo = self._identities_undo
        # The rows' identities, in row order: gathered first (a few rows a window), not
        # compared with None over the whole batch.
        for identity in tracks.identity[rows].tolist():
            if identity is None:
                continue
            before = known.get(identity)
            if undo is not None:
                undo.append((identity, before))
            first = time if before is None else before[0]
            known[identity] = (first, time)
        if time - self._forgotten_at >= 3_600.0:
            self._forgotten_at = time
            horizon = time - self.identity_memory_s
            for identity in [key for key, (_, last) in known.items() if last < horizon]:
                if undo is not None:
                    undo.append((identity, known[identity]))
                del known[identity]

    def _duplicates(self, tracks: TrackBatch) -> BoolArray:
        """Confirmed tracks without identity that are the same object as a confirmed track
        with one: same position within the gate of both covariances, same velocity within
        ``duplicate_speed_mps``. A report of an identity goes to its track first, so a
        radar track started beside it while they disagreed would otherwise never rejoin
        it; the identity's track takes the radar's plots from then on."""
        result = np.zeros(tracks.size, dtype=np.bool_)
        cooperative = tracks.identity != None  # noqa: E711 (elementwise on an object array)
        anonymous = np.flatnonzero(tracks.confirmed & ~cooperative)
        known = np.flatnonzero(tracks.confirmed & cooperative)
        if len(anonymous) == 0 or len(known) == 0:
            return result
        dims = self.spatial_dims
        state = tracks.state
        covariance = tracks.covariance[:, :dims, :dims]
        offset = state[anonymous, None, :dims] - state[None, known, :dims]
        close = np.linalg.norm(offset, axis=2) < 5_000.0
        rows, columns = np.nonzero(close)
        if len(rows) == 0:
            return result
        pair_offset = offset[rows, columns]
        combined = covariance[anonymous[rows]] + covariance[known[columns]]
        distance = mahalanobis_squared(pair_offset, combined)
        speed = np.linalg.norm(
            state[anonymous[rows], dims : 2 * dims] - state[known[columns], dims : 2 * dims],
            axis=1,
        )
        same = (distance <= self.gater.threshold(dims)) & (speed <= self.duplicate_speed_mps)
        result[anonymous[rows[same]]] = True
        return result

    def _find_identity_conflicts(
        self, predicted: TrackBatch, newly_confirmed: BoolArray, time: float
    ) -> None:
        """Record pairs of confirmed tracks of one identity (a newly confirmed one among
        them): the second was started by a report its object could not have made."""
        rows = np.flatnonzero(predicted.confirmed & (predicted.identity != None))  # noqa: E711
        by_identity: dict[str, list[int]] = {}
        for row in rows.tolist():
            by_identity.setdefault(str(predicted.identity[row]), []).append(row)
        dims = min(self.spatial_dims, 3)
        for identity, members in by_identity.items():
            if len(members) < 2 or not newly_confirmed[members].any():
                continue
            for first_index, first in enumerate(members):
                for second in members[first_index + 1 :]:
                    numbers = (
                        int(predicted.track_number[first]),
                        int(predicted.track_number[second]),
                    )
                    if numbers in self._conflicting:
                        continue
                    self._conflicting.add(numbers)
                    a = np.zeros(3)
                    b = np.zeros(3)
                    a[:dims] = predicted.state[first, :dims]
                    b[:dims] = predicted.state[second, :dims]
                    self.identity_conflicts.append(
                        IdentityConflict(
                            identity=identity,
                            time=time,
                            track_numbers=numbers,
                            positions=(
                                (float(a[0]), float(a[1]), float(a[2])),
                                (float(b[0]), float(b[1]), float(b[2])),
                            ),
                            distance_m=float(np.linalg.norm(a - b)),
                        )
                    )

    # ------------------------------------------------------------------ out of sequence
    def remember(self, time: float, tracks: TrackBatch, scans: list[SensorScan]) -> None:
        """Keep the state before this window and its scans while within ``lag_s``."""
        if self.lag_s <= 0:
            return
        self.history.append(self._record(time, tracks, list(scans)))
        while self.history and self.history[0].time < time - self.lag_s - 1e-9:
            self.history.pop(0)

    def _record(self, time: float, tracks: TrackBatch, scans: list[SensorScan]) -> WindowRecord:
        """The state before a window about to be processed; what the window changes in the
        known identities is noted in the record's undo list from now."""
        record = WindowRecord(
            time=time,
            tracks_before=tracks,
            next_number_before=self.next_track_number,
            scans=scans,
            revisit_before=self.revisit.remember(),
            bearings_before=[] if self.triangulator is None else list(self.triangulator.pending),
            forgotten_at_before=self._forgotten_at,
        )
        self._identities_undo = record.identities_undo
        return record

    def rewind(self, late: list[SensorScan]) -> list[WindowRecord]:
        """Add each late scan to the first recent window whose time it does not exceed, and
        go back to the state before the first window a late scan joined: the windows to
        replay (`replaying` each before processing it again)."""
        earliest = min(float(scan.times.min()) for scan in late)
        start = next(
            (index for index, entry in enumerate(self.history) if entry.time >= earliest),
            len(self.history) - 1,
        )
        for scan in late:
            target = next(
                (
                    index
                    for index, entry in enumerate(self.history)
                    if entry.time >= scan.reference_time
                ),
                len(self.history) - 1,
            )
            self.history[target].scans.append(scan)
        replayed = self.history[start:]
        # Newest change first: each identity ends as it was before the first replayed window.
        known = self._known_identities
        for entry in reversed(replayed):
            for identity, before in reversed(entry.identities_undo):
                if before is None:
                    known.pop(identity, None)
                else:
                    known[identity] = before
        first = replayed[0]
        self.next_track_number = first.next_number_before
        self._forgotten_at = first.forgotten_at_before
        self.revisit.restore(first.revisit_before)
        if self.triangulator is not None:
            self.triangulator.pending = list(first.bearings_before)
        # Identity conflicts are not rewound: one already reported (``_conflicting``) is
        # not reported again when the replay finds it again.
        return replayed

    def replaying(self, entry: WindowRecord, tracks: TrackBatch) -> None:
        """``entry`` is about to be processed again on ``tracks``: record its state before
        anew, with the sensor periods that were declared when it first came (those are
        inputs from outside, not learnt by the windows)."""
        self.revisit.use_declared(entry.revisit_before.declared)
        entry.tracks_before = tracks
        entry.next_number_before = self.next_track_number
        entry.revisit_before = self.revisit.remember()
        entry.bearings_before = [] if self.triangulator is None else list(self.triangulator.pending)
        entry.forgotten_at_before = self._forgotten_at
        entry.identities_undo = []
        self._identities_undo = entry.identities_undo
