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
buffered reprocessing: the tracker keeps the track batch before each recent step and the
scans of those steps, rewinds to the step the late measurement belongs to and replays.
Older ones are counted in ``late_count`` and rejected with a reason.

Releasability: scans carry a label id per row (`SensorScan.label_ids`, ids of ``labels``);
a measurement is only associated with (or crossed into a track with) inputs it shares a
nation with, and each track remembers which labels contributed when, so that its label
is the meet of its recent inputs' (`hotzone.fusion.labels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from hotzone.fusion.arrays import (
    ensure_positive_definite,
    repair_covariance,
    small_inverse,
    symmetrize,
)
from hotzone.fusion.association import Associator, CandidatePairs, GNNAssociator
from hotzone.fusion.deletion import Deleter, RevisitDeleter
from hotzone.fusion.estimates import Estimates, TrackBatch
from hotzone.fusion.gating import ChiSquareGater, Gater, grid_candidates
from hotzone.fusion.initiation import Initiator, RevisitInitiator
from hotzone.fusion.labels import NO_LABEL, TrackLabels
from hotzone.fusion.measurement import BearingMeasurement, VelocityMeasurement
from hotzone.fusion.motion import ConstantVelocityMotion
from hotzone.fusion.predictor import KalmanPredictor, Predictor
from hotzone.fusion.revisit import RevisitModel
from hotzone.fusion.scan import SensorScan, split_repeated_identities
from hotzone.fusion.triangulation import BearingTriangulator
from hotzone.fusion.updater import KalmanUpdater, Updater, innovations, mahalanobis_squared
from hotzone.types.arrays import BoolArray, FloatArray, IntArray
from hotzone.types.labels import LabelTable

MAX_ABS_VALUE = 1e9
MAX_ABS_NOISE = 1e14
MAX_TIME_OFFSET_S = 86_400.0


@dataclass(frozen=True)
class Rejection:
    """A measurement the tracker refused, with the reason (becomes a dead letter)."""

    sensor_id: str
    measurement_id: str
    time: float
    reason: str


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
class _History:
    time: float
    tracks_before: TrackBatch
    next_number_before: int
    scans: list[SensorScan]


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

    tracks: TrackBatch = field(init=False)
    time: float | None = field(init=False, default=None)
    next_track_number: int = field(init=False, default=1)
    sensors: dict[str, int] = field(init=False, default_factory=dict)
    rejections: list[Rejection] = field(init=False, default_factory=list)
    late_count: int = field(init=False, default=0)
    reprocessed_count: int = field(init=False, default=0)
    identity_conflicts: list[IdentityConflict] = field(init=False, default_factory=list)
    """Found and not yet taken (`take_identity_conflicts`)."""
    _conflicting: set[tuple[int, int]] = field(init=False, default_factory=set)
    _history: list[_History] = field(init=False, default_factory=list)
    track_labels: TrackLabels = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims}")
        self.track_labels = TrackLabels(self.labels, self.label_window_s)
        modes = len(self.predictor.mode_names)
        self.tracks = TrackBatch.empty(self.predictor.state_size, modes)

    # ------------------------------------------------------------------ public API
    def step(self, time: float, scans: Sequence[SensorScan]) -> TrackBatch:
        """Process one window of scans; the live tracks predicted to ``time``."""
        if not np.isfinite(time):
            # Nothing can be placed in time: every measurement is refused, tracks stand still.
            for scan in scans:
                for row in range(scan.size):
                    self._reject(scan, row, f"step time {time} is not a finite number")
            return self.predicted(self.time) if self.time is not None else self.tracks
        clean = [
            part
            for scan in scans
            for part in split_repeated_identities(self._sanitize(scan, time))
            if part.size
        ]
        if self.time is not None and time < self.time:
            # A step that goes back in time is a batch of late measurements.
            time = self.time
        if self.time is not None:
            clean = self._handle_out_of_sequence(clean)
        self._remember(time, clean)
        return self._advance(time, clean)

    def predicted(self, time: float) -> TrackBatch:
        """The live tracks with estimates predicted to ``time`` (nothing is changed)."""
        return self._predict_batch(self.tracks, time)

    def _predict_batch(self, tracks: TrackBatch, time: float) -> TrackBatch:
        if tracks.size == 0:
            return tracks
        behind = np.flatnonzero(tracks.time < time)
        if len(behind) == 0:
            return tracks
        if len(behind) == tracks.size:
            estimates = self.predictor.predict(tracks.estimates, time - tracks.time)
        else:
            moved = self.predictor.predict(
                tracks.estimates.take(behind), time - tracks.time[behind]
            )
            estimates = tracks.estimates.put(behind, moved)
        return tracks.with_estimates(estimates, np.maximum(tracks.time, time))

    def take_rejections(self) -> list[Rejection]:
        rejections, self.rejections = self.rejections, []
        return rejections

    def declare_revisit(self, sensor_id: str, period_s: float) -> None:
        """``sensor_id`` looks at everything every ``period_s`` (a radar's rotation)."""
        self.revisit.declare(self._sensor_column(sensor_id), period_s)

    def take_identity_conflicts(self) -> list[IdentityConflict]:
        conflicts, self.identity_conflicts = self.identity_conflicts, []
        return conflicts

    # ------------------------------------------------------------------ input checks
    def _sanitize(self, scan: SensorScan, time: float) -> SensorScan:
        """Drop rows the filter cannot use (recorded as rejections); repair noise."""
        if scan.size == 0:
            return scan
        size = scan.model.size
        if (
            scan.values.shape != (scan.size, size)
            or scan.noise.shape != (scan.size, size, size)
            or scan.times.shape != (scan.size,)
            or scan.sensor_position.shape != (3,)
        ):
            for row in range(scan.size):
                self._reject(scan, row, f"scan arrays do not fit a {size}-value measurement")
            return scan.take(np.zeros(0, dtype=np.int64))
        if (
            np.isfinite(scan.times).all()
            and np.abs(scan.times - time).max() <= MAX_TIME_OFFSET_S
            and np.isfinite(scan.sensor_position).all()
            and np.abs(scan.sensor_position).max() <= MAX_ABS_VALUE
            and np.abs(scan.values).max() <= MAX_ABS_VALUE  # False for NaN as well
            and np.abs(scan.noise).max() <= MAX_ABS_NOISE
        ):
            return replace(scan, noise=repair_covariance(scan.noise))
        reasons = (
            (~np.isfinite(scan.values).all(axis=1), "non-finite value"),
            (~np.isfinite(scan.noise).all(axis=(1, 2)), "non-finite covariance"),
            (~np.isfinite(scan.times), "non-finite time"),
            (
                np.full(scan.size, not np.isfinite(scan.sensor_position).all()),
                "non-finite sensor position",
            ),
            # Beyond these the filter's products overflow: a position a million km away,
            # a standard deviation of ten thousand km, a time a day from the window.
            (np.abs(np.nan_to_num(scan.values)).max(axis=1) > MAX_ABS_VALUE, "value out of range"),
            (
                np.abs(np.nan_to_num(scan.noise)).max(axis=(1, 2)) > MAX_ABS_NOISE,
                "covariance out of range",
            ),
            (
                np.abs(np.nan_to_num(scan.times) - time) > MAX_TIME_OFFSET_S,
                "time more than a day away from the step",
            ),
            (
                np.full(
                    scan.size, np.abs(np.nan_to_num(scan.sensor_position)).max() > MAX_ABS_VALUE
                ),
                "sensor position out of range",
            ),
        )
        usable = np.ones(scan.size, dtype=np.bool_)
        for bad, reason in reasons:
            for bad_row in np.flatnonzero(bad & usable).tolist():
                self._reject(scan, bad_row, reason)
            usable &= ~bad
        kept = scan.take(np.flatnonzero(usable)) if not usable.all() else scan
        if kept.size == 0:
            return kept
        return replace(kept, noise=repair_covariance(kept.noise))

    def _reject(self, scan: SensorScan, row: int, reason: str) -> None:
        measurement_id = scan.measurement_ids[row] if scan.measurement_ids else str(row)
        time = float(scan.times[row]) if np.isfinite(scan.times[row]) else float("nan")
        self.rejections.append(Rejection(scan.sensor_id, measurement_id, time, reason))

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
            for row in np.flatnonzero(too_old):
                self._reject(scan, int(row), f"older than the {self.lag_s} s reprocessing lag")
            self.late_count += int(too_old.sum())
            replay = old & ~too_old
            if replay.any():
                late.append(scan.take(np.flatnonzero(replay)))
            if (~old).any():
                current.append(scan.take(np.flatnonzero(~old)))
        if late and self._history:
            self._replay(late)
        elif late:
            current.extend(late)
        return current

    def _replay(self, late: list[SensorScan]) -> None:
        """Rewind to the first step a late scan belongs in, add it there and replay."""
        earliest = min(float(scan.times.min()) for scan in late)
        start = next(
            (index for index, entry in enumerate(self._history) if entry.time >= earliest),
            len(self._history) - 1,
        )
        for scan in late:
            # Each late scan joins the first step whose time it does not exceed.
            target = next(
                (
                    index
                    for index, entry in enumerate(self._history)
                    if entry.time >= scan.reference_time
                ),
                len(self._history) - 1,
            )
            self._history[target].scans.append(scan)
        replayed = self._history[start:]
        self.tracks = replayed[0].tracks_before
        self.next_track_number = replayed[0].next_number_before
        for entry in replayed:
            entry.tracks_before = self.tracks
            entry.next_number_before = self.next_track_number
            self._advance(entry.time, entry.scans)
        self.reprocessed_count += 1

    def _remember(self, time: float, scans: list[SensorScan]) -> None:
        if self.lag_s <= 0:
            return
        self._history.append(_History(time, self.tracks, self.next_track_number, list(scans)))
        while self._history and self._history[0].time < time - self.lag_s - 1e-9:
            self._history.pop(0)

    # ------------------------------------------------------------------ one window
    def _advance(self, time: float, scans: Sequence[SensorScan]) -> TrackBatch:
        """Process scans on top of ``self.tracks``; never mutates earlier batches.

        Returns the surviving tracks predicted to ``time``."""
        tracks = self._copy(self.tracks)
        start_size = tracks.size
        updated: list[IntArray] = []
        reporting: set[int] = set()
        for scan in sorted(scans, key=lambda item: item.reference_time):
            column = self._sensor_column(scan.sensor_id)
            reporting.add(column)
            self.revisit.heard(column, scan.reference_time)
            if scan.identities() is not None:
                self.revisit.cooperative.add(column)
            if scan.model.position_size:
                self.revisit.positional.add(column)
            tracks, hit = self._process_scan(tracks, scan)
            updated.append(hit)
        if self.triangulator is not None:
            tracks = self._start_from_bearings(tracks, time)
        was_updated = np.zeros(tracks.size, dtype=np.bool_)
        if updated:
            was_updated[np.concatenate(updated)] = True
        was_updated[start_size:] = True
        # A miss needs a sensor that has seen the track to have reported in this window.
        eligible = was_updated | tracks.seen_by_any(sorted(reporting))
        one = np.uint64(1)
        tracks.hit_history[eligible] = (tracks.hit_history[eligible] << one) | was_updated[
            eligible
        ].astype(np.uint64)
        tracks.misses[was_updated] = 0
        tracks.misses[eligible & ~was_updated] += 1
        tracks = self.revisit.assess(tracks, time)
        newly_confirmed = ~tracks.confirmed & self.initiator.confirms(tracks)
        tracks.confirmed[newly_confirmed] = True
        # The share of the updates expected since the last one that came: 1 until the
        # next is due, 1/2 when one was missed, ...
        tracks.quality[:] = 1.0 / np.maximum(tracks.overdue, 1.0)
        # Deletion looks at the prediction to ``time``: a coasting track's covariance grows
        # there, not in its last update.
        predicted = self._predict_batch(tracks, time)
        if newly_confirmed.any():
            self._find_identity_conflicts(predicted, newly_confirmed, time)
        doomed = self.deleter.delete_tracks(predicted, time, self.spatial_dims)
        doomed |= self._duplicates(predicted)
        if doomed.any():
            keep = np.flatnonzero(~doomed)
            tracks, predicted = tracks.take(keep), predicted.take(keep)
        self.tracks = tracks
        self.time = time if self.time is None else max(self.time, time)
        hidden = self.deleter.dormant(predicted, time)
        return predicted.take(np.flatnonzero(~hidden)) if hidden.any() else predicted

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

    @staticmethod
    def _copy(tracks: TrackBatch) -> TrackBatch:
        return tracks.take(np.arange(tracks.size))

    def _sensor_column(self, sensor_id: str) -> int:
        """The sensor's column in the tracks' per-sensor arrays: its registration order
        (one column per sensor, however many; `TrackBatch.sensor_seen`)."""
        return self.sensors.setdefault(sensor_id, len(self.sensors))

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

    def _process_scan(self, tracks: TrackBatch, scan: SensorScan) -> tuple[TrackBatch, IntArray]:
        if isinstance(scan.model, VelocityMeasurement):
            return self._process_velocities(tracks, scan)
        reference_time = scan.reference_time
        free = np.ones(scan.size, dtype=np.bool_)
        chosen_tracks: list[IntArray] = []
        chosen_measurements: list[IntArray] = []
        chosen_weights: list[FloatArray] = []
        refused = np.zeros(scan.size, dtype=np.bool_)
        if tracks.size:
            predicted = self.predictor.predict(
                tracks.estimates, np.maximum(reference_time - tracks.time, 0.0)
            )
            # A report of an identity goes to the track of that identity first, whatever
            # the gate: after a gap of a minute the gate has nothing to do with it.
            identity_tracks, identity_rows, refused = self._associate_identities(
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
                np.flatnonzero(tracks.confirmed & ~taken),
                np.flatnonzero(~tracks.confirmed & ~taken),
            ):
                if len(stage) == 0 or not free.any():
                    continue
                free_rows = np.flatnonzero(free)
                pairs = self._gate(
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
        if chosen_tracks and self.associator.probabilistic:
            tracks, hit = self._update_weighted(
                tracks,
                scan,
                np.concatenate(chosen_tracks),
                np.concatenate(chosen_measurements),
                np.concatenate(chosen_weights),
                predicted,
                reference_time,
            )
        elif chosen_tracks:
            hit_tracks = np.concatenate(chosen_tracks)
            hit_measurements = np.concatenate(chosen_measurements)
            if len(hit_tracks):
                tracks = self._update(
                    tracks, scan, hit_tracks, hit_measurements, predicted, reference_time
                )
                hit = hit_tracks
        unused = np.flatnonzero(free)
        if len(unused):
            tracks = self._start_tracks(tracks, scan, unused)
        return tracks, hit

    def _associate_identities(
        self, tracks: TrackBatch, predicted: Estimates, scan: SensorScan, reference_time: float
    ) -> tuple[IntArray, IntArray, BoolArray]:
        """Pairs (track, row) of reports that go to the track of their identity, and the
        rows refused by every track of their identity (too far for that object)."""
        none = np.zeros(0, dtype=np.int64)
        refused = np.zeros(scan.size, dtype=np.bool_)
        identities = scan.identities()
        size = min(scan.model.position_size, self.spatial_dims)
        if identities is None or size == 0 or not (tracks.identity != None).any():  # noqa: E711
            return none, none, refused
        by_identity: dict[str, list[int]] = {}
        for row, identity in enumerate(tracks.identity.tolist()):
            if identity is not None:
                by_identity.setdefault(identity, []).append(row)
        dims = self.spatial_dims
        pair_tracks: list[int] = []
        pair_rows: list[int] = []
        for row, identity in enumerate(identities.tolist()):
            candidates = by_identity.get(identity) if identity is not None else None
            if not candidates:
                continue
            members = np.array(candidates, dtype=np.int64)
            delta = float(scan.times[row]) - reference_time
            position = (
                predicted.state[members, :size]
                + delta * predicted.state[members, dims : dims + size]
            )
            horizontal = np.linalg.norm(scan.values[row, :2] - position[:, :2], axis=1)
            since = np.maximum(float(scan.times[row]) - tracks.last_update_time[members], 0.0)
            # A poor position (a degraded NACp under jamming) may lie further off.
            sigma = float(np.sqrt(max(np.trace(scan.noise[row, :2, :2]), 0.0)))
            reach = self.identity_gate_m + 3.0 * sigma + self.identity_max_speed_mps * since
            plausible = (horizontal <= reach) & ~np.isin(members, pair_tracks)
            if scan.label_ids is not None and self.labels.conflicting:
                current = self.track_labels.current(tracks.take(members))
                plausible &= self.track_labels.compatible(
                    current, np.full(len(members), scan.label_ids[row])
                )
            if plausible.any():
                best = int(np.argmin(np.where(plausible, horizontal, np.inf)))
                pair_tracks.append(int(members[best]))
                pair_rows.append(row)
            else:
                refused[row] = True
        return (
            np.array(pair_tracks, dtype=np.int64),
            np.array(pair_rows, dtype=np.int64),
            refused,
        )

    def _process_velocities(
        self, tracks: TrackBatch, scan: SensorScan
    ) -> tuple[TrackBatch, IntArray]:
        """Velocity-only reports update the latest track of their identity; they carry no
        position, so they neither gate against other tracks nor start one."""
        identities = scan.identities()
        none = np.zeros(0, dtype=np.int64)
        if identities is None or tracks.size == 0:
            return tracks, none
        latest: dict[str, int] = {}
        for row, identity in enumerate(tracks.identity.tolist()):
            if identity is None:
                continue
            known = latest.get(identity)
            if known is None or tracks.last_update_time[row] > tracks.last_update_time[known]:
                latest[identity] = row
        pairs = [
            (latest[identity], row)
            for row, identity in enumerate(identities.tolist())
            if identity is not None and identity in latest
        ]
        if not pairs:
            return tracks, none
        track_rows = np.array([pair[0] for pair in pairs], dtype=np.int64)
        rows = np.array([pair[1] for pair in pairs], dtype=np.int64)
        if scan.label_ids is not None and self.labels.conflicting:
            compatible = self.track_labels.compatible(
                self.track_labels.current(tracks.take(track_rows)), scan.label_ids[rows]
            )
            track_rows, rows = track_rows[compatible], rows[compatible]
        dims = self.spatial_dims
        model = VelocityMeasurement(dims)
        velocity_scan = replace(
            scan,
            model=model,
            values=scan.values[:, :dims],
            noise=scan.noise[:, :dims, :dims],
        )
        tracks = self._update(
            tracks,
            velocity_scan,
            track_rows,
            rows,
            None,
            velocity_scan.reference_time,
            counts_as_hit=False,
        )
        return tracks, track_rows

    def _gate(
        self,
        tracks: TrackBatch,
        predicted: Estimates,
        stage: IntArray,
        scan: SensorScan,
        rows: IntArray,
        reference_time: float,
        refused: BoolArray | None = None,
    ) -> CandidatePairs:
        model = scan.model
        threshold = self.gater.threshold(model.size)
        state = predicted.state[stage]
        covariance = predicted.covariance[stage]
        values = scan.values[rows]
        times = scan.times[rows]
        dims = self.spatial_dims
        speed = np.linalg.norm(state[:, dims : 2 * dims], axis=1)
        spread = reference_time - float(times.min())
        size = model.position_size
        if size:
            noise_trace = float(np.trace(scan.noise[rows], axis1=1, axis2=2).max())
            position_trace = np.trace(covariance[:, :size, :size], axis1=1, axis2=2)
            # λmax(S) <= trace(S): a ball of this radius contains the whole gate ellipsoid.
            spread_variance = np.maximum(position_trace + noise_trace, 0.0)
            radii = np.sqrt(threshold * spread_variance) + speed * spread
            local_tracks, local_rows = grid_candidates(state[:, :size], radii, values[:, :size])
        else:
            grid = np.meshgrid(np.arange(len(stage)), np.arange(len(rows)), indexing="ij")
            local_tracks, local_rows = grid[0].ravel(), grid[1].ravel()
        if len(local_tracks) == 0:
            return CandidatePairs(local_tracks, local_rows, np.zeros(0), threshold)
        pair_state = state[local_tracks]
        if spread > 0:
            delta = times[local_rows] - reference_time
            pair_state[:, :dims] += pair_state[:, dims : 2 * dims] * delta[:, None]
        noise = scan.noise[rows]
        if size:
            # Direct position: only the position block of each track is needed, gathered
            # once per track rather than the full covariance once per pair.
            position_covariance = covariance[:, :size, :size]
            residual = values[local_rows] - pair_state[:, :size]
            innovation_covariance = position_covariance[local_tracks] + noise[local_rows]
        else:
            sensor_positions = np.broadcast_to(scan.sensor_position, (len(local_tracks), 3))
            residual, innovation_covariance, _ = innovations(
                model,
                pair_state,
                covariance[local_tracks],
                values[local_rows],
                noise[local_rows],
                sensor_positions,
            )
        distance_squared = mahalanobis_squared(residual, innovation_covariance)
        identities = scan.identities()
        if identities is not None:
            # A cooperative identity never joins a track that carries another one; a report
            # its own identity's track refused (too far to be that object) joins none.
            track_identity = tracks.identity[stage][local_tracks]
            measured_identity = identities[rows][local_rows]
            known = (track_identity != None) & (measured_identity != None)  # noqa: E711
            clash = known & (track_identity != measured_identity)
            if refused is not None:
                clash |= refused[rows][local_rows]
            distance_squared = np.where(clash, np.inf, distance_squared)
        if scan.label_ids is not None and self.labels.conflicting:
            # A measurement never joins a track it shares no releasable nation with.
            track_labels = self.track_labels.current(tracks.take(stage))
            compatible = self.track_labels.compatible(
                track_labels[local_tracks], scan.label_ids[rows][local_rows]
            )
            distance_squared = np.where(compatible, distance_squared, np.inf)
        log_likelihood = None
        if self.associator.probabilistic:
            _, log_determinant = np.linalg.slogdet(innovation_covariance)
            log_likelihood = -0.5 * (
                distance_squared + log_determinant + model.size * np.log(2 * np.pi)
            )
        return CandidatePairs(
            local_tracks.astype(np.int64),
            local_rows.astype(np.int64),
            distance_squared,
            threshold,
            log_likelihood,
        )

    def _update(
        self,
        tracks: TrackBatch,
        scan: SensorScan,
        track_rows: IntArray,
        measurement_rows: IntArray,
        scan_prediction: Estimates | None,
        reference_time: float,
        counts_as_hit: bool = True,
    ) -> TrackBatch:
        times = scan.times[measurement_rows]
        if scan_prediction is not None and (times == reference_time).all():
            predicted = scan_prediction.take(track_rows)
        else:
            # Each track is predicted to the exact time of its own measurement; one slightly
            # older than the track (several sensors in one window) is used at the track's
            # time rather than predicting backwards with negative process noise.
            dt = np.maximum(times - tracks.time[track_rows], 0.0)
            predicted = self.predictor.predict(tracks.estimates.take(track_rows), dt)
        sensor_positions = np.broadcast_to(scan.sensor_position, (len(track_rows), 3))
        residual, innovation_covariance, _ = innovations(
            scan.model,
            predicted.state,
            predicted.covariance,
            scan.values[measurement_rows],
            scan.noise[measurement_rows],
            sensor_positions,
        )
        normalised = mahalanobis_squared(residual, innovation_covariance) / scan.model.size
        posterior = self.updater.update(
            predicted,
            scan.model,
            scan.values[measurement_rows],
            scan.noise[measurement_rows],
            sensor_positions,
        )
        healthy = np.isfinite(posterior.state).all(axis=1) & np.isfinite(posterior.covariance).all(
            axis=(1, 2)
        )
        if not healthy.all():
            # A numerically broken update keeps the prediction instead of poisoning the track.
            broken = np.flatnonzero(~healthy)
            posterior = posterior.put(broken, predicted.take(broken))
        tracks = tracks.with_estimates(tracks.estimates.put(track_rows, posterior), tracks.time)
        tracks.time[track_rows] = np.maximum(times, tracks.time[track_rows])
        tracks.last_update_time[track_rows] = tracks.time[track_rows]
        if counts_as_hit:
            tracks.hits[track_rows] += 1
        finite = np.isfinite(normalised)
        np.add.at(tracks.innovation_sum, track_rows[finite], normalised[finite])
        np.add.at(tracks.innovation_count, track_rows[finite], 1)
        tracks = self.revisit.updated(
            tracks, self._sensor_column(scan.sensor_id), track_rows, times, learn=counts_as_hit
        )
        tracks = self._record_labels(tracks, scan, track_rows, measurement_rows, times)
        identities = scan.identities()
        if identities is not None:
            measured = identities[measurement_rows]
            adopt = (tracks.identity[track_rows] == None) & (measured != None)  # noqa: E711
            if adopt.any():
                identity = tracks.identity.copy()
                identity[track_rows[adopt]] = measured[adopt]
                tracks = replace(tracks, identity=identity)
        if scan.icao24 is not None and scan.callsign is not None:
            icao = scan.icao24[measurement_rows]
            callsign = scan.callsign[measurement_rows]
            known_icao = icao != None  # noqa: E711
            known_callsign = callsign != None  # noqa: E711
            tracks.icao24[track_rows[known_icao]] = icao[known_icao]
            tracks.callsign[track_rows[known_callsign]] = callsign[known_callsign]
            if scan.label_ids is not None:
                labels = scan.label_ids[measurement_rows]
                tracks.identity_labels[track_rows[known_icao], 0] = labels[known_icao]
                tracks.identity_labels[track_rows[known_callsign], 1] = labels[known_callsign]
        return tracks

    def _record_labels(
        self,
        tracks: TrackBatch,
        scan: SensorScan,
        track_rows: IntArray,
        measurement_rows: IntArray,
        times: FloatArray,
    ) -> TrackBatch:
        """Note that measurements with these labels contributed to these tracks now."""
        if scan.label_ids is None or len(track_rows) == 0:
            return tracks
        labels = scan.label_ids[measurement_rows]
        labelled = labels != NO_LABEL
        if not labelled.any():
            return tracks
        tracks = tracks.with_label_columns(len(self.labels))
        np.maximum.at(
            tracks.label_seen,
            (track_rows[labelled], labels[labelled]),
            np.broadcast_to(times, labels.shape)[labelled],
        )
        return tracks

    def _update_weighted(
        self,
        tracks: TrackBatch,
        scan: SensorScan,
        pair_tracks: IntArray,
        pair_rows: IntArray,
        weights: FloatArray,
        predicted: Estimates,
        reference_time: float,
    ) -> tuple[TrackBatch, IntArray]:
        """Probabilistic (JPDA) update: each track moves by its β-weighted innovation and
        its covariance grows by the spread of the innovations (Bar-Shalom's PDA form)."""
        if scan.label_ids is not None and self.labels.conflicting and len(pair_tracks):
            keep = self._consistent_pairs(tracks, pair_tracks, scan.label_ids[pair_rows], weights)
            pair_tracks, pair_rows, weights = pair_tracks[keep], pair_rows[keep], weights[keep]
        if len(pair_tracks) == 0:
            return tracks, np.zeros(0, dtype=np.int64)
        updated, inverse = np.unique(pair_tracks, return_inverse=True)
        detected = np.zeros(len(updated))
        np.add.at(detected, inverse, weights)
        # The pair of highest weight of each track supplies its gain.
        order = np.lexsort((-weights, inverse))
        first = np.ones(len(order), dtype=np.bool_)
        first[1:] = inverse[order][1:] != inverse[order][:-1]
        best = order[first]
        if predicted.mode_states is not None:
            # An IMM keeps hard updates: the most probable measurement of a likely detection.
            likely = detected[inverse[best]] >= 0.5
            chosen = best[likely]
            tracks = self._update(
                tracks, scan, pair_tracks[chosen], pair_rows[chosen], predicted, reference_time
            )
            return tracks, pair_tracks[chosen]
        prior = predicted.take(updated)
        sensor_positions = np.broadcast_to(scan.sensor_position, (len(pair_tracks), 3))
        residual, _, _ = innovations(
            scan.model,
            prior.state[inverse],
            prior.covariance[inverse],
            scan.values[pair_rows],
            scan.noise[pair_rows],
            sensor_positions,
        )
        _, best_innovation, cross = innovations(
            scan.model,
            prior.state,
            prior.covariance,
            scan.values[pair_rows[best]],
            scan.noise[pair_rows[best]],
            sensor_positions[: len(updated)],
        )
        gain = cross @ small_inverse(best_innovation)
        combined = np.zeros((len(updated), residual.shape[1]))
        np.add.at(combined, inverse, weights[:, None] * residual)
        spread = np.zeros((len(updated), residual.shape[1], residual.shape[1]))
        np.add.at(
            spread, inverse, weights[:, None, None] * residual[:, :, None] * residual[:, None, :]
        )
        spread -= combined[:, :, None] * combined[:, None, :]
        missed = np.clip(1.0 - detected, 0.0, 1.0)[:, None, None]
        corrected = prior.covariance - gain @ best_innovation @ np.swapaxes(gain, 1, 2)
        covariance = missed * prior.covariance + (1 - missed) * corrected
        covariance = covariance + gain @ spread @ np.swapaxes(gain, 1, 2)
        covariance = ensure_positive_definite(symmetrize(covariance))
        state = prior.state + (gain @ combined[:, :, None])[:, :, 0]
        estimates = tracks.estimates.put(updated, Estimates(state, covariance))
        tracks = tracks.with_estimates(estimates, tracks.time)
        tracks.time[updated] = np.maximum(tracks.time[updated], reference_time)
        hit = updated[detected >= 0.5]
        tracks.last_update_time[hit] = tracks.time[hit]
        tracks.hits[hit] += 1
        tracks = self.revisit.updated(
            tracks, self._sensor_column(scan.sensor_id), hit, tracks.time[hit]
        )
        # Every gated measurement moved the track by its weight: all of them contributed.
        tracks = self._record_labels(
            tracks, scan, pair_tracks, pair_rows, np.full(len(pair_tracks), reference_time)
        )
        return tracks, hit

    def _consistent_pairs(
        self, tracks: TrackBatch, pair_tracks: IntArray, pair_labels: IntArray, weights: FloatArray
    ) -> IntArray:
        """The pairs to keep so that each track's measurements share a nation: heaviest
        first, a pair whose label has none in common with those kept so far is dropped."""
        current = self.track_labels.current(tracks.take(pair_tracks))
        running: dict[int, int] = {}
        keep = []
        for index in np.argsort(-weights, kind="stable").tolist():
            track = int(pair_tracks[index])
            label = running.get(track, int(current[index]))
            if self.labels.compatible(label, int(pair_labels[index])):
                running[track] = self.labels.meet(label, int(pair_labels[index]))
                keep.append(index)
        return np.array(sorted(keep), dtype=np.int64)

    def _start_tracks(self, tracks: TrackBatch, scan: SensorScan, rows: IntArray) -> TrackBatch:
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

    def _start_from_bearings(self, tracks: TrackBatch, time: float) -> TrackBatch:
        assert self.triangulator is not None
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
        identity = np.full(count, None, dtype=object)
        sensor_seen = np.full((count, 0), -np.inf)
        if scan is not None and rows is not None:
            if scan.icao24 is not None:
                icao = scan.icao24[rows].copy()
            if scan.callsign is not None:
                callsign = scan.callsign[rows].copy()
            identities = scan.identities()
            if identities is not None:
                identity = identities[rows].copy()
            column = self._sensor_column(scan.sensor_id)
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
        return TrackBatch.concatenate([tracks, new])
