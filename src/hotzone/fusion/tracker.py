"""The multi-target tracker: a pure step from one window of measurements to tracks.

``MultiTargetTracker.step(time, scans)`` takes every `SensorScan` of one window, processes
them sensor by sensor in time order (predict; a cooperative report goes to the track of
its identity; pre-gate, gate, associate confirmed tracks first and tentative tracks with
what is left, update, start tracks from the rest), then manages the tracks once for the
window (confirmation, deletion) and returns the track batch predicted to ``time``.
Everything runs on arrays of tracks.

Track management is in time, not in windows: each source's expected revisit of each
track is learnt (`hotzone.fusion.revisit`), and confirmation and deletion count expected
updates that did not come (`RevisitInitiator`, `RevisitDeleter`), so the window only
sets how often tracks are published.

Identity: a report carrying a cooperative identity (ICAO address, MMSI, uid) updates the
track of that identity when its position is one the object could have reached; one far
beyond that is not merged but starts a track of its own, and two confirmed tracks of one
identity are an `IdentityConflict` (spoofing, or two transponders set to one address).
Velocity-only reports (`VelocityMeasurement`) update the track of their identity.

Out-of-sequence measurements (older than the last step) within ``lag_s`` are handled by
buffered reprocessing: the tracker keeps the state before each recent step (the track
batch, the revisit model, the waiting bearings, the known identities) and the scans of
those steps, rewinds to the step the late measurement belongs to and replays, so that
nothing is learnt twice.
Older ones are counted in ``late_count`` and rejected with a reason.

Releasability: scans carry a label id per row (`SensorScan.label_ids`, ids of ``labels``);
a measurement is only associated with (or crossed into a track with) inputs it shares a
nation with, and each track remembers which labels contributed when, so that its label
is the meet of its recent inputs' (`hotzone.fusion.labels`).

This class only coordinates Stone Soup's roles, each a module on arrays:
`hotzone.fusion.scan_checks` (what the filter cannot use becomes a `Rejection`),
`hotzone.fusion.hypothesiser` (predict once per scan, identity pairs, gate, score),
the associator (`hotzone.fusion.association`), `hotzone.fusion.track_updater` (GNN and
PDA/JPDA updates) and `hotzone.fusion.track_manager` (initiation, confirmation, deletion,
identity conflicts, the history that out-of-sequence replays use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from hotzone.fusion.association import Associator, GNNAssociator
from hotzone.fusion.deletion import Deleter, RevisitDeleter
from hotzone.fusion.estimates import Estimates, GrowingTracks, TrackBatch
from hotzone.fusion.gating import ChiSquareGater, Gater
from hotzone.fusion.hypothesiser import Hypothesiser, ReachIndex
from hotzone.fusion.initiation import Initiator, RevisitInitiator
from hotzone.fusion.labels import TrackLabels
from hotzone.fusion.measurement import VelocityMeasurement
from hotzone.fusion.motion import ConstantVelocityMotion
from hotzone.fusion.predictor import KalmanPredictor, Predictor
from hotzone.fusion.revisit import RevisitModel
from hotzone.fusion.scan import SensorScan, split_repeated_identities
from hotzone.fusion.scan_checks import Rejection, reject_all, rejection, sanitize
from hotzone.fusion.track_manager import IdentityConflict, TrackManager
from hotzone.fusion.track_updater import LongSilence, TrackUpdater
from hotzone.fusion.triangulation import BearingTriangulator
from hotzone.fusion.updater import KalmanUpdater, Updater
from hotzone.types.arrays import BoolArray, FloatArray, IntArray
from hotzone.types.labels import LabelTable

__all__ = ["ArrivalStep", "IdentityConflict", "MultiTargetTracker", "Rejection"]


@dataclass
class _ScanPrediction:
    """The latest prediction of every track to one time, and which rows it still holds
    (those no update has touched since): what the end of the window need not redo."""

    time: float
    estimates: Estimates
    valid: BoolArray


@dataclass(frozen=True)
class ArrivalStep:
    """What one step of the live mode (`MultiTargetTracker.step_arrivals`) changed."""

    updated: TrackBatch
    """The tracks its scans updated or started (those shown), predicted to its time."""
    ended: TrackBatch
    """The tracks its books ended, predicted to its time (none when it did not close the
    books). Not those it made dormant: they are only no longer shown."""


@dataclass
class MultiTargetTracker:
    """Composed from one component per role; swap any by a constructor argument."""

    predictor: Predictor = field(default_factory=lambda: KalmanPredictor(ConstantVelocityMotion()))
    """Moves track estimates in time (KalmanPredictor, IMMPredictor)."""
    updater: Updater = field(default_factory=KalmanUpdater)
    """Corrects predictions with measurements (KalmanUpdater, IMMUpdater)."""
    gater: Gater = field(default_factory=ChiSquareGater)
    """Mahalanobis gate; also the cost of leaving a track without measurement."""
    associator: Associator = field(default_factory=GNNAssociator)
    """Chooses the measurement of each track (GNNAssociator, JPDAAssociator)."""
    initiator: Initiator = field(default_factory=RevisitInitiator)
    """Starts tentative tracks and confirms them."""
    deleter: Deleter = field(default_factory=RevisitDeleter)
    """Ends tracks."""
    revisit: RevisitModel = field(default_factory=RevisitModel)
    """Learns each source's expected revisit of each track (time-based management)."""
    identity_gate_m: float = 2_000.0
    duplicate_speed_mps: float = 15.0
    """A confirmed track without identity as near a track with one as both gates allow,
    moving within this speed of it, is that track's duplicate and ends."""
    identity_max_speed_mps: float = 400.0
    """A report of a track's identity is that object's when it lies within
    ``identity_gate_m`` + 3 sigma of the report + ``identity_max_speed_mps`` x (time since
    the track's last update) of the track's prediction; beyond, no object could have got
    there."""
    spatial_dims: int = 3
    """2 for a flat (east, north) picture, 3 with height."""
    lag_s: float = 0.0
    """Out-of-sequence measurements up to this age are replayed; older ones rejected."""
    triangulator: BearingTriangulator | None = field(default_factory=BearingTriangulator)
    """Starts tracks from crossing bearings of passive sensors; None disables it."""
    labels: LabelTable = field(default_factory=LabelTable)
    """The releasability labels the scans' ``label_ids`` refer to."""
    label_window_s: float = 60.0
    """A label stays on a track until the track has had this long of updates without it."""
    long_silence: LongSilence = field(default_factory=LongSilence)
    """When an update takes a track up again after a silence: its kinematics restarted
    (`hotzone.fusion.track_updater.LongSilence`)."""
    reach_index: ReachIndex | None = field(default_factory=ReachIndex)
    """How the live mode (`step_arrivals`) finds the tracks a scan may join: by where
    they are (`ReachIndex`), or, None, by looking at every track (the same rows)."""

    tracks: TrackBatch = field(init=False)
    ended: TrackBatch = field(init=False, repr=False)
    """The tracks the last `step` ended (deleted, or merged into another), as the books
    that ended them predicted them: not in what it returned, nor held any more."""
    _windows_ended: list[TrackBatch] = field(init=False, default_factory=list, repr=False)
    time: float | None = field(init=False, default=None)
    sensors: dict[str, int] = field(init=False, default_factory=dict)
    rejections: list[Rejection] = field(init=False, default_factory=list)
    late_count: int = field(init=False, default=0)
    reprocessed_count: int = field(init=False, default=0)
    track_labels: TrackLabels = field(init=False, repr=False)
    # The live mode's books (`step_arrivals`): the track numbers its steps updated and
    # the sensors that reported since the books were last closed.
    _arrivals_updated: list[IntArray] = field(init=False, default_factory=list, repr=False)
    _arrivals_reporting: set[int] = field(init=False, default_factory=set, repr=False)
    # The live mode's tracks, grown in place (`GrowingTracks`: ``tracks`` is its view
    # between its steps; ``reach_index`` follows them while it holds them).
    _growing: GrowingTracks | None = field(init=False, default=None, repr=False)
    hypothesiser: Hypothesiser = field(init=False, repr=False)
    track_updater: TrackUpdater = field(init=False, repr=False)
    manager: TrackManager = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims}")
        self.track_labels = TrackLabels(self.labels, self.label_window_s)
        modes = len(self.predictor.mode_names)
        self.tracks = TrackBatch.empty(self.predictor.state_size, modes)
        self.ended = self.tracks
        self.manager = TrackManager(
            predictor=self.predictor,
            initiator=self.initiator,
            deleter=self.deleter,
            gater=self.gater,
            revisit=self.revisit,
            labels=self.labels,
            triangulator=self.triangulator,
            spatial_dims=self.spatial_dims,
            duplicate_speed_mps=self.duplicate_speed_mps,
            lag_s=self.lag_s,
            sensor_column=self._sensor_column,
        )
        self._compose()

    def _compose(self) -> None:
        """Hand the roles the components this tracker holds now: a caller may swap one
        (``tracker.deleter = ...``) between steps."""
        self.hypothesiser = Hypothesiser(
            predictor=self.predictor,
            gater=self.gater,
            probabilistic=self.associator.probabilistic,
            spatial_dims=self.spatial_dims,
            identity_gate_m=self.identity_gate_m,
            identity_max_speed_mps=self.identity_max_speed_mps,
            labels=self.labels,
            track_labels=self.track_labels,
        )
        self.track_updater = TrackUpdater(
            predictor=self.predictor,
            updater=self.updater,
            revisit=self.revisit,
            labels=self.labels,
            track_labels=self.track_labels,
            spatial_dims=self.spatial_dims,
            sensor_column=self._sensor_column,
            long_silence=self.long_silence,
        )
        manager = self.manager
        manager.predictor, manager.initiator, manager.deleter = (
            self.predictor,
            self.initiator,
            self.deleter,
        )
        manager.gater, manager.revisit, manager.labels = self.gater, self.revisit, self.labels
        manager.triangulator, manager.spatial_dims = self.triangulator, self.spatial_dims
        manager.duplicate_speed_mps, manager.lag_s = self.duplicate_speed_mps, self.lag_s

    @property
    def next_track_number(self) -> int:
        return self.manager.next_track_number

    @property
    def identity_conflicts(self) -> list[IdentityConflict]:
        """Found and not yet taken (`take_identity_conflicts`)."""
        return self.manager.identity_conflicts

    # ------------------------------------------------------------------ public API
    def step(self, time: float, scans: Sequence[SensorScan]) -> TrackBatch:
        """Process one window of scans; the live tracks predicted to ``time``. The tracks
        it ended are `ended` until the next step."""
        self._compose()
        before, self.ended = self.tracks, self.tracks.take(np.zeros(0, dtype=np.int64))
        self._windows_ended = []
        if not np.isfinite(time):
            # Nothing can be placed in time: every measurement is refused, tracks stand still.
            for scan in scans:
                self.rejections.extend(reject_all(scan, f"step time {time} is not a finite number"))
            return self.predicted(self.time) if self.time is not None else self.tracks
        clean: list[SensorScan] = []
        for scan in scans:
            usable, refused = sanitize(scan, time)
            self.rejections.extend(refused)
            clean.extend(part for part in split_repeated_identities(usable) if part.size)
        if self.time is not None and time < self.time:
            # A step that goes back in time is a batch of late measurements.
            time = self.time
        if self.time is not None:
            clean = self._handle_out_of_sequence(clean)
        self.manager.remember(time, self.tracks, clean)
        shown = self._advance(time, clean)
        self.ended = self._ended_since(before, time)
        return shown

    def _ended_since(self, before: TrackBatch, time: float) -> TrackBatch:
        """The tracks of ``before`` that are no longer held (deleted, or merged into
        another): every reader is told once that they ended. As the books that ended
        them predicted them (a window replayed for late measurements may end one again
        that an earlier step ended: not in ``before``, not told twice)."""
        gone = ~np.isin(before.track_number, self.tracks.track_number, assume_unique=True)
        if not gone.any():
            return before.take(np.zeros(0, dtype=np.int64))
        numbers = before.track_number[gone]
        parts = []
        if self._windows_ended:
            booked = TrackBatch.concatenate(self._windows_ended)
            rows = np.flatnonzero(np.isin(booked.track_number, numbers))
            parts.append(booked.take(rows))
            numbers = numbers[~np.isin(numbers, booked.track_number[rows])]
        if numbers.size:
            # Gone without the books ending it (a window replayed for late measurements
            # that did not start it again): predicted here.
            rows = np.flatnonzero(np.isin(before.track_number, numbers))
            parts.append(self.hypothesiser.predicted(before.take(rows), time))
        return parts[0] if len(parts) == 1 else TrackBatch.concatenate(parts)

    def step_arrivals(
        self, time: float, scans: Sequence[SensorScan], close_books: bool
    ) -> ArrivalStep:
        """The live mode: the scans that have arrived, stepped at their own measurement
        times, on the tracks they may join only; what changed is returned, not every track.

        A step costs what arrived, not the number of tracks: each scan predicts and
        gates only the tracks a measurement of it may join (whatever the sensor), the
        updated and started tracks alone are confirmed and predicted to ``time``. The
        window's books of every track (misses, revisits, quality, deletion, dormancy:
        `TrackManager.close_window`) are closed only when ``close_books`` is set (a
        coarser period), on what the steps since the last books updated.

        Nothing is replayed: the windows are the arrivals, and a radar's block measured
        before another radar's block that came first is in sequence for its own sensor.
        A measurement older than the track it updates (another sensor's newer update)
        is applied at the track's time (predicted by 0 s: a sector's block arrives a
        sweep of a sector late, ~0.1 s, tens of metres at an airliner's speed, inside
        the noise of a plot at range); one older than ``lag_s`` before ``time`` is
        refused as `step` refuses it. Not `step`'s numbers: an opt-in mode."""
        self._compose()
        nothing = self.tracks.take(np.zeros(0, dtype=np.int64))
        if not np.isfinite(time):
            for scan in scans:
                self.rejections.extend(reject_all(scan, f"step time {time} is not a finite number"))
            return ArrivalStep(nothing, nothing)
        if self.time is not None and time < self.time:
            time = self.time
        clean: list[SensorScan] = []
        for scan in scans:
            usable, refused = sanitize(scan, time)
            self.rejections.extend(refused)
            for part in split_repeated_identities(usable):
                kept = self._within_lag(part, time)
                if kept.size:
                    clean.append(kept)
        # Updated in place: no earlier batch is kept for a replay, and what a step
        # returns is gathered from it (`TrackBatch.take`), not shared with it.
        tracks = self._held(self.tracks)
        start_size = tracks.size
        tracks, updated, reporting, _ = self._process_scans(tracks, clean, selective=True)
        tracks = self._held(self.manager.start_from_bearings(tracks, time))
        if tracks.size > start_size:
            self._index_written(tracks, np.arange(start_size, tracks.size))
        touched = np.union1d(
            np.concatenate([*updated, np.zeros(0, dtype=np.int64)]),
            np.arange(start_size, tracks.size),
        ).astype(np.int64)
        self.manager.confirm_rows(tracks, touched, time)
        touched_numbers = tracks.track_number[touched]
        self._arrivals_updated.append(touched_numbers)
        self._arrivals_reporting |= reporting
        ended = nothing
        if close_books:
            was_updated = np.isin(tracks.track_number, np.concatenate(self._arrivals_updated))
            doomed: list[TrackBatch] = []
            tracks, predicted, hidden = self.manager.close_window(
                tracks,
                was_updated,
                sorted(self._arrivals_reporting),
                time,
                lambda batch: self.hypothesiser.predicted(batch, time),
                ended=doomed,
            )
            # A dormant track is not ended: published as deleted, every reader would close
            # its alerts and forget it, and it would come back as another track. It is
            # no longer shown (as the held windows stop showing it) until it reports.
            ended = TrackBatch.concatenate(doomed) if doomed else nothing
            self._arrivals_updated, self._arrivals_reporting = [], set()
            shown = np.isin(predicted.track_number, touched_numbers) & ~hidden
            updated_batch = predicted.take(np.flatnonzero(shown))
        else:
            mine = self.revisit.assess(tracks.take(touched), time)
            # Updated now: none of their expected updates is overdue (as the books say).
            mine.quality[:] = 1.0 / np.maximum(mine.overdue, 1.0)
            moved = self.hypothesiser.predicted(mine, time)
            updated_batch = moved.take(np.flatnonzero(~self.deleter.dormant(moved, time)))
        self.tracks = tracks
        self.time = time if self.time is None else max(self.time, time)
        return ArrivalStep(updated_batch, ended)

    def _within_lag(self, scan: SensorScan, time: float) -> SensorScan:
        """``scan`` without the measurements older than ``lag_s`` before ``time``, refused."""
        too_old = scan.times < time - self.lag_s
        if not too_old.any():
            return scan
        self._refuse_too_old(scan, too_old)
        return scan.take(np.flatnonzero(~too_old))

    def _refuse_too_old(self, scan: SensorScan, too_old: BoolArray) -> None:
        """The rows ``too_old`` of ``scan`` refused and counted as late: older than the
        reprocessing lag."""
        for row in np.flatnonzero(too_old).tolist():
            self.rejections.append(
                rejection(scan, row, f"older than the {self.lag_s} s reprocessing lag")
            )
        self.late_count += int(too_old.sum())

    def predicted(self, time: float) -> TrackBatch:
        """The live tracks with estimates predicted to ``time`` (nothing is changed)."""
        self._compose()
        return self.hypothesiser.predicted(self.tracks, time)

    def take_rejections(self) -> list[Rejection]:
        rejections, self.rejections = self.rejections, []
        return rejections

    def declare_revisit(self, sensor_id: str, period_s: float) -> None:
        """``sensor_id`` looks at everything every ``period_s`` (a radar's rotation)."""
        self.revisit.declare(self._sensor_column(sensor_id), period_s)

    def take_identity_conflicts(self) -> list[IdentityConflict]:
        conflicts, self.manager.identity_conflicts = self.manager.identity_conflicts, []
        return conflicts

    def _sensor_column(self, sensor_id: str) -> int:
        """The sensor's column in the tracks' per-sensor arrays: its registration order
        (one column per sensor, however many; `TrackBatch.sensor_seen`)."""
        return self.sensors.setdefault(sensor_id, len(self.sensors))

    # ------------------------------------------------------------------ out of sequence
    def _handle_out_of_sequence(self, scans: list[SensorScan]) -> list[SensorScan]:
        assert self.time is not None
        current: list[SensorScan] = []
        late: list[SensorScan] = []
        for scan in scans:
            old = scan.times < self.time
            if not old.any():
                current.append(scan)
                continue
            too_old = scan.times < self.time - self.lag_s
            self._refuse_too_old(scan, too_old)
            replay = old & ~too_old
            if replay.any():
                late.append(scan.take(np.flatnonzero(replay)))
            if (~old).any():
                current.append(scan.take(np.flatnonzero(~old)))
        if late and self.manager.history:
            self._replay(late)
        elif late:
            current.extend(late)
        return current

    def _replay(self, late: list[SensorScan]) -> None:
        """Rewind to the first window a late scan belongs in, add it there and replay.

        Everything a window changes goes back to how it was before that window (the
        tracks, the track numbers, the revisit model's clocks and learnt intervals, the
        bearings waiting to cross, the known identities: `TrackManager.rewind`), so the
        replay is the run that had the late scan in time: no interval learnt twice, no
        bearing crossed twice. Reported identity conflicts stay reported; the sensor
        columns stay registered (a column no track has seen changes nothing)."""
        declared_now = self.revisit.declared_periods
        replayed = self.manager.rewind(late)
        self.tracks = replayed[0].tracks_before
        for entry in replayed:
            self.manager.replaying(entry, self.tracks)
            self._advance(entry.time, entry.scans)
        self.revisit.use_declared(declared_now)
        self.reprocessed_count += 1

    # ------------------------------------------------------------------ one window
    def _advance(self, time: float, scans: Sequence[SensorScan]) -> TrackBatch:
        """Process scans on top of ``self.tracks``; never mutates earlier batches.

        Returns the surviving tracks predicted to ``time``."""
        # The window's working copy: updates write into its rows in place, and the
        # tracks it starts are appended to it in place. Its room is a window's new
        # tracks (a few dozen at a thousand tracks), not as many again: the batch this
        # window leaves is kept for the replays of ``lag_s``.
        window = GrowingTracks.holding(self.tracks, room=64 + self.tracks.size // 8)
        self.manager.growing = window
        tracks = window.view()
        start_size = tracks.size
        try:
            tracks, updated, reporting, latest = self._process_scans(tracks, scans)
            tracks = self.manager.start_from_bearings(tracks, time)
        finally:
            self.manager.growing = None  # the next window's storage is its own
        was_updated = np.zeros(tracks.size, dtype=np.bool_)
        if updated:
            was_updated[np.concatenate(updated)] = True
        was_updated[start_size:] = True
        known = None
        if latest is not None and latest.time == time:
            # Tracks no scan updated were predicted to ``time`` by the last scan already.
            known = (latest.estimates, latest.valid)

        def predict(batch: TrackBatch) -> TrackBatch:
            return self.hypothesiser.predicted(batch, time, known)

        tracks, predicted, hidden = self.manager.close_window(
            tracks, was_updated, sorted(reporting), time, predict, ended=self._windows_ended
        )
        self.tracks = tracks
        self.time = time if self.time is None else max(self.time, time)
        return predicted.take(np.flatnonzero(~hidden)) if hidden.any() else predicted

    def _process_scans(
        self, tracks: TrackBatch, scans: Sequence[SensorScan], selective: bool = False
    ) -> tuple[TrackBatch, list[IntArray], set[int], _ScanPrediction | None]:
        """Each scan in time order: the tracks, the rows each hit, the sensors that
        reported and the latest prediction of every track a scan made. ``selective``:
        each scan on the tracks it may join only (`_process_scan_nearby`)."""
        updated: list[IntArray] = []
        reporting: set[int] = set()
        latest: _ScanPrediction | None = None
        for scan in sorted(scans, key=lambda item: item.reference_time):
            column = self._sensor_column(scan.sensor_id)
            reporting.add(column)
            self.revisit.heard(column, scan.reference_time)
            if scan.identities() is not None:
                self.revisit.cooperative.add(column)
            if scan.model.position_size:
                self.revisit.positional.add(column)
            if selective:
                tracks, hit, changed, prediction = self._process_scan_nearby(tracks, scan)
            else:
                tracks, hit, changed, prediction = self._process_scan(tracks, scan)
            if prediction is not None:
                latest = prediction
            if latest is not None:
                latest.valid[changed[changed < len(latest.valid)]] = False
            updated.append(hit)
        return tracks, updated, reporting, latest

    def _process_scan_nearby(
        self, tracks: TrackBatch, scan: SensorScan
    ) -> tuple[TrackBatch, IntArray, IntArray, _ScanPrediction | None]:
        """`_process_scan` on the tracks a measurement of ``scan`` may join alone (the live
        mode): those rows (found by the `ReachIndex`, not by looking at every track) are
        gathered, processed as a batch of their own (each row's prediction, gate and
        update depend on that row alone) and written back in place, the tracks the scan
        starts appended (`GrowingTracks`); no prediction of every track is made."""
        tracks = self._held(tracks)
        rows = None
        if tracks.size and not isinstance(scan.model, VelocityMeasurement):
            if self.reach_index is not None:
                rows = self.reach_index.rows(self.hypothesiser, tracks, scan, scan.reference_time)
            elif (
                may_join := self.hypothesiser.may_join(
                    tracks, scan, scan.reference_time, by_noise=True
                )
            ) is not None:
                rows = np.flatnonzero(may_join)
        if rows is None:
            start_size = tracks.size
            tracks, hit, changed, prediction = self._process_scan(tracks, scan, every_row=True)
            tracks = self._held(tracks)
            self._index_written(tracks, np.union1d(changed, np.arange(start_size, tracks.size)))
            return tracks, hit, changed, prediction
        nearby, hit, changed, _ = self._process_scan(tracks.take(rows), scan, every_row=True)
        count = len(rows)
        growing = self._growing
        assert growing is not None
        tracks = growing.with_columns(nearby.sensor_seen.shape[1], nearby.label_seen.shape[1])
        tracks = _written_back(tracks, rows, nearby.take(np.arange(count)))
        start_size = tracks.size
        if nearby.size > count:
            tracks = growing.append(nearby.take(np.arange(count, nearby.size)))
        self._index_written(
            tracks, np.concatenate([rows[changed], np.arange(start_size, tracks.size)])
        )
        return tracks, rows[hit], rows[changed], None

    def _held(self, tracks: TrackBatch) -> TrackBatch:
        """``tracks`` as the live mode's growing storage holds them: its view when it
        holds them already, else a copy with room to grow (the rows may have moved: the
        `ReachIndex` is made again)."""
        if self._growing is None or not self._growing.holds(tracks):
            self._growing = GrowingTracks.holding(tracks)
            if self.reach_index is not None:
                self.reach_index.reset()
        return self._growing.view()

    def _index_written(self, tracks: TrackBatch, rows: IntArray) -> None:
        """Rows ``rows`` of ``tracks`` updated or added: the `ReachIndex` looks them up
        with their new estimates."""
        if self.reach_index is not None:
            self.reach_index.written(tracks, rows.astype(np.int64))

    def _process_scan(
        self, tracks: TrackBatch, scan: SensorScan, every_row: bool = False
    ) -> tuple[TrackBatch, IntArray, IntArray, _ScanPrediction | None]:
        """One scan: the tracks, the rows it hit, the rows whose estimates it changed and
        the prediction of every track it made. ``every_row``: predict every track, for
        any sensor (the rows are those a measurement may join already)."""
        if isinstance(scan.model, VelocityMeasurement):
            tracks, hit = self.track_updater.velocities(tracks, scan)
            return tracks, hit, hit, None
        reference_time = scan.reference_time
        free = np.ones(scan.size, dtype=np.bool_)
        chosen_tracks: list[IntArray] = []
        chosen_measurements: list[IntArray] = []
        chosen_weights: list[FloatArray] = []
        prediction = None
        if tracks.size:
            # Only the tracks a measurement of the scan may join are predicted, for a sensor
            # whose revisit is declared: the order of its updates then teaches nothing.
            declared = self.revisit.declared(self._sensor_column(scan.sensor_id))
            predicted, may_join = self.hypothesiser.predict_for_scan(
                tracks, scan, reference_time, selective=declared and not every_row
            )
            prediction = _ScanPrediction(reference_time, predicted, may_join.copy())
            # A report of an identity goes to the track of that identity first, whatever
            # the gate: after a gap of a minute the gate has nothing to do with it.
            identity_tracks, identity_rows, refused = self.hypothesiser.identity_pairs(
                tracks, predicted, scan, reference_time
            )
            taken = np.zeros(tracks.size, dtype=np.bool_)
            if len(identity_tracks):
                chosen_tracks.append(identity_tracks)
                chosen_measurements.append(identity_rows)
                chosen_weights.append(np.ones(len(identity_tracks)))
                free[identity_rows] = False
                taken[identity_tracks] = True
            # Confirmed tracks choose first; tentative ones share what they leave, so a
            # new track never steals an established track's measurement.
            for stage in (
                np.flatnonzero(tracks.confirmed & ~taken & may_join),
                np.flatnonzero(~tracks.confirmed & ~taken & may_join),
            ):
                if len(stage) == 0 or not free.any():
                    continue
                free_rows = np.flatnonzero(free)
                pairs = self.hypothesiser.gate(
                    tracks, predicted, stage, scan, free_rows, reference_time, refused
                )
                association = self.associator.associate(pairs)
                stage_tracks = stage[association.tracks]
                stage_measurements = free_rows[association.measurements]
                chosen_tracks.append(stage_tracks)
                chosen_measurements.append(stage_measurements)
                chosen_weights.append(association.weights)
                free[stage_measurements] = False
        hit = np.zeros(0, dtype=np.int64)
        changed = hit
        if chosen_tracks and self.associator.probabilistic:
            pair_tracks = np.concatenate(chosen_tracks)
            tracks, hit = self.track_updater.weighted(
                tracks,
                scan,
                pair_tracks,
                np.concatenate(chosen_measurements),
                np.concatenate(chosen_weights),
                predicted,
                reference_time,
            )
            # Pairs dropped for their labels change nothing; marking them is only cautious.
            changed = pair_tracks
        elif chosen_tracks:
            hit_tracks = np.concatenate(chosen_tracks)
            hit_measurements = np.concatenate(chosen_measurements)
            if len(hit_tracks):
                tracks = self.track_updater.assigned(
                    tracks, scan, hit_tracks, hit_measurements, predicted, reference_time
                )
                hit = changed = hit_tracks
        unused = np.flatnonzero(free)
        if len(unused):
            tracks = self.manager.start_tracks(tracks, scan, unused)
        return tracks, hit, changed, prediction


def _written_back(tracks: TrackBatch, rows: IntArray, part: TrackBatch) -> TrackBatch:
    """``tracks`` with rows ``rows`` replaced by ``part``'s, in place (columns grown first
    where ``part`` has more sensor or label columns)."""
    tracks = tracks.with_sensor_columns(part.sensor_seen.shape[1]).with_label_columns(
        part.label_seen.shape[1]
    )
    part = part.with_sensor_columns(tracks.sensor_seen.shape[1]).with_label_columns(
        tracks.label_seen.shape[1]
    )
    tracks.estimates.assign(rows, part.estimates)
    for column in fields(TrackBatch):
        if column.name != "estimates":
            getattr(tracks, column.name)[rows] = getattr(part, column.name)
    return tracks
