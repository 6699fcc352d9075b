"""The track updaters: apply the associator's choice to the tracks, on arrays.

Hard assignment (GNN, and an IMM's most probable measurement) corrects each chosen track
with its measurement; the probabilistic update (PDA/JPDA) moves each track by its
β-weighted innovations. Both then keep the track's bookkeeping columns (times, hits,
innovation statistics, revisits, labels, identities) in step with its estimate.

An update after a long silence (`LongSilence`) restarts the track's kinematics from the
report: what the object did while nobody saw it is not what the motion models' process
noise says.

The batch given is the coordinator's private working copy of the window: rows are
corrected in place, never by copying the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from hotzone.fusion.arrays import ensure_positive_definite, small_inverse, symmetrize
from hotzone.fusion.estimates import Estimates, TrackBatch
from hotzone.fusion.imm import combine
from hotzone.fusion.labels import NO_LABEL, TrackLabels
from hotzone.fusion.measurement import BearingMeasurement, MeasurementModel, VelocityMeasurement
from hotzone.fusion.predictor import Predictor
from hotzone.fusion.revisit import RevisitModel
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.updater import Updater, innovations, mahalanobis_squared
from hotzone.types.arrays import BoolArray, FloatArray, IntArray
from hotzone.types.labels import LabelTable


@dataclass(frozen=True)
class LongSilence:
    """A track updated after a long silence is taken up again: its kinematics restart.

    The motion models' process noise (1 and 4 m²/s³) lets a velocity drift by a few m/s
    over a minute, while an aircraft can turn round in that time (a glider circles in
    20-30 s, a standard-rate turn reverses in 60 s). An update after such a gap then reads
    the distance between the prediction and the report as a velocity error, through the
    correlation the prediction built between position and velocity (and, in the turn
    mode, the turn rate): on a real FLARM day, a drop plane spiralling up 60 km out was
    estimated at 478 m/s after 149 s unseen, a thermalling glider at 262 m/s after 110 s.

    The rule, as trackers re-initialise a track they take up again (keeping its number,
    identity and history): when a measurement that places its object (a position, a
    radar plot) comes at least ``min_silence_s`` and at least ``sensor_revisits`` of the
    reporting sensor's typical revisit after the track's last update (by any sensor), the
    update starts the track's kinematics again from it:

    * before the update (`forget`), the prediction's velocity and the states after it
      (a turn rate) become unknown as a new track's: uncorrelated with the position, with
      at least a new track's variance (``velocity_sigma_mps``, ``extra_sigma``), the
      extra states' means 0. The update places the track at the report (the position's
      prior is wide after the gap) and leaves the velocity alone;
    * after the update (`restart`), the velocity is the mean one over the silence, from
      the track's last position to its new one, when that speed is one an object can
      have (``max_speed_mps``; else the predicted velocity stays), with a new track's
      variance: a velocity report (SBS ``MSG,4``) then sets it, or the next position
      re-estimates it over one revisit, as a new track's second report does.

    A velocity report is not such a measurement: it measures the velocity itself, and a
    plain update with it is the right one (forgetting before it left the position where
    the IMM's modes had drifted over the silence, and the position report right after it
    then too far from the track for its identity's reach).

    The sensor's typical revisit (`RevisitModel.sensor_revisit`), not the object's own:
    the object's is smoothed over its intervals, silences included, so a bursty object's
    grows with the very silences this is about. A track without identity rarely waits so
    long (deletion ends it after 2.5-3.5 missed looks), so this is mostly for cooperative
    tracks held by identity and for tracks seen by a slow source after a fast one
    stopped."""

    min_silence_s: float = 40.0
    """Shorter silences are a few reports of a 10 s feed, and the IMM's turn mode follows
    what the object did; over 40 s a standard-rate turn has turned 120°."""
    sensor_revisits: float = 3.5
    """The most looks a deleter lets a confirmed track miss: a rotating radar's track
    seen again after that many looks is the exception, not its rhythm."""
    velocity_sigma_mps: float = 150.0
    """A new track's (the operational `RevisitInitiator`'s)."""
    extra_sigma: float = 0.1
    """A new track's standard deviation of the states after velocity: a turn rate, rad/s
    (`MOfNInitiator.extra_sigma`)."""
    max_speed_mps: float = 400.0
    """The fastest object whose mean velocity over a silence is believed (the tracker's
    ``identity_max_speed_mps``): a longer chord is a report of something else."""

    def __post_init__(self) -> None:
        if not (self.min_silence_s >= 0 and self.sensor_revisits >= 0):
            raise ValueError(
                "min_silence_s and sensor_revisits must be >= 0, got "
                f"{self.min_silence_s}, {self.sensor_revisits}"
            )
        if not (self.velocity_sigma_mps > 0 and self.extra_sigma > 0 and self.max_speed_mps > 0):
            raise ValueError(
                "velocity_sigma_mps, extra_sigma and max_speed_mps must be > 0, got "
                f"{self.velocity_sigma_mps}, {self.extra_sigma}, {self.max_speed_mps}"
            )

    def silent(self, silence_s: FloatArray, sensor_revisit_s: float) -> BoolArray:
        """Which updates, ``silence_s`` after their track's last one, end a long silence."""
        threshold = max(self.min_silence_s, self.sensor_revisits * sensor_revisit_s)
        result: BoolArray = np.asarray(silence_s >= threshold)
        return result

    def forget(self, predicted: Estimates, rows: BoolArray, spatial_dims: int) -> None:
        """In place (``predicted`` must be the caller's own): rows ``rows`` keep their
        position; their velocity and extra states are unknown as a new track's."""
        size = predicted.state.shape[1]
        forgotten = np.arange(spatial_dims, size)
        variance = np.where(
            forgotten < 2 * spatial_dims, self.velocity_sigma_mps**2, self.extra_sigma**2
        )
        _forget(predicted.covariance, rows, forgotten, variance)
        predicted.state[rows, 2 * spatial_dims :] = 0.0
        if predicted.mode_covariances is not None and predicted.mode_states is not None:
            _forget(predicted.mode_covariances, rows, forgotten, variance)
            predicted.mode_states[rows, :, 2 * spatial_dims :] = 0.0

    def restart(
        self,
        posterior: Estimates,
        rows: BoolArray,
        previous_position: FloatArray,
        elapsed_s: FloatArray,
        spatial_dims: int,
    ) -> Estimates:
        """``posterior`` with rows ``rows`` moving at their mean velocity since
        ``previous_position`` (``elapsed_s`` before), where that is a speed an object can
        have; the others as they are."""
        dims = spatial_dims
        with np.errstate(divide="ignore", invalid="ignore"):
            chord = (posterior.state[:, :dims] - previous_position) / elapsed_s[:, None]
        speed = np.linalg.norm(chord, axis=1)
        restarted = rows & np.isfinite(speed) & (speed <= self.max_speed_mps)
        if not restarted.any():
            return posterior
        state = posterior.state.copy()
        state[restarted, dims : 2 * dims] = chord[restarted]
        if posterior.mode_states is None:
            return replace(posterior, state=state)
        assert posterior.mode_covariances is not None and posterior.mode_probabilities is not None
        mode_states = posterior.mode_states.copy()
        mode_states[restarted, :, dims : 2 * dims] = chord[restarted, None, :]
        covariance = posterior.covariance.copy()
        # Every mode now moves alike: the mixture's spread of velocities is gone.
        state[restarted], covariance[restarted] = combine(
            mode_states[restarted],
            posterior.mode_covariances[restarted],
            posterior.mode_probabilities[restarted],
        )
        return replace(posterior, state=state, covariance=covariance, mode_states=mode_states)


def _places(model: MeasurementModel) -> bool:
    """Whether a measurement of ``model`` places its object (a bearing or a velocity does
    not: the track's position after it is mostly its prediction's)."""
    return not isinstance(model, (VelocityMeasurement, BearingMeasurement))


def _forget(
    covariance: FloatArray, rows: BoolArray, forgotten: IntArray, variance: FloatArray
) -> None:
    """Rows ``rows`` of (N, ..., d, d) covariances: the ``forgotten`` components
    uncorrelated with everything, each with at least ``variance``."""
    chosen = covariance[rows]
    kept = np.maximum(np.diagonal(chosen, axis1=-2, axis2=-1)[..., forgotten], variance)
    chosen[..., forgotten, :] = 0.0
    chosen[..., :, forgotten] = 0.0
    chosen[..., forgotten, forgotten] = kept
    covariance[rows] = chosen


@dataclass
class TrackUpdater:
    predictor: Predictor
    updater: Updater
    revisit: RevisitModel
    labels: LabelTable
    track_labels: TrackLabels
    spatial_dims: int
    sensor_column: Callable[[str], int]
    long_silence: LongSilence = LongSilence()
    """When an update takes a track up again after a silence (its kinematics restarted)."""

    def assigned(
        self,
        tracks: TrackBatch,
        scan: SensorScan,
        track_rows: IntArray,
        measurement_rows: IntArray,
        scan_prediction: Estimates | None,
        reference_time: float,
        counts_as_hit: bool = True,
    ) -> TrackBatch:
        """Hard update: track ``track_rows[k]`` corrected by measurement
        ``measurement_rows[k]``."""
        times = scan.times[measurement_rows]
        if scan_prediction is not None and (times == reference_time).all():
            predicted = scan_prediction.take(track_rows)
        else:
            # Each track is predicted to the exact time of its own measurement; one slightly
            # older than the track (several sensors in one window) is used at the track's
            # time rather than predicting backwards with negative process noise.
            dt = np.maximum(times - tracks.time[track_rows], 0.0)
            predicted = self.predictor.predict(tracks.estimates.take(track_rows), dt)
        # How well the track predicted the report is judged before its velocity is
        # forgotten: the innovation statistics say how the track fits, as before.
        forget = self._after_silence(tracks, scan, track_rows, times)
        sensor_positions = np.broadcast_to(scan.sensor_position, (len(track_rows), 3))
        values = np.take(scan.values, measurement_rows, axis=0)
        noise = np.take(scan.noise, measurement_rows, axis=0)
        residual, innovation_covariance, _ = innovations(
            scan.model, predicted.state, predicted.covariance, values, noise, sensor_positions
        )
        normalised = mahalanobis_squared(residual, innovation_covariance) / scan.model.size
        if forget.any():
            # ``take`` and ``predict`` gave this window's own arrays: changed in place.
            self.long_silence.forget(predicted, forget, self.spatial_dims)
        posterior = self.updater.update(predicted, scan.model, values, noise, sensor_positions)
        if forget.any():
            posterior = self._restart(tracks, track_rows, posterior, forget, times)
        healthy = np.isfinite(posterior.state).all(axis=1) & np.isfinite(posterior.covariance).all(
            axis=(1, 2)
        )
        if not healthy.all():
            # A numerically broken update keeps the prediction instead of poisoning the track.
            broken = np.flatnonzero(~healthy)
            posterior = posterior.put(broken, predicted.take(broken))
        tracks.estimates.assign(track_rows, posterior)
        tracks.time[track_rows] = np.maximum(times, tracks.time[track_rows])
        tracks.last_update_time[track_rows] = tracks.time[track_rows]
        if counts_as_hit:
            tracks.hits[track_rows] += 1
        finite = np.isfinite(normalised)
        np.add.at(tracks.innovation_sum, track_rows[finite], normalised[finite])
        np.add.at(tracks.innovation_count, track_rows[finite], 1)
        tracks = self.revisit.updated(
            tracks, self.sensor_column(scan.sensor_id), track_rows, times, learn=counts_as_hit
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
        if scan.on_ground is not None:
            on_ground = scan.on_ground[measurement_rows]
            said = on_ground != None  # noqa: E711
            tracks.on_ground[track_rows[said]] = on_ground[said]
            tracks.on_ground_time[track_rows[said]] = times[said]
        return tracks

    def _after_silence(
        self, tracks: TrackBatch, scan: SensorScan, track_rows: IntArray, times: FloatArray
    ) -> BoolArray:
        """Which of ``track_rows`` this scan takes up again after a long silence: only a
        measurement that places its object does (a velocity report measures the velocity
        the plain update then corrects; a bearing leaves the position to the prediction)."""
        if not _places(scan.model):
            return np.zeros(len(track_rows), dtype=np.bool_)
        silence = times - tracks.last_update_time[track_rows]
        revisit = self.revisit.sensor_revisit(self.sensor_column(scan.sensor_id))
        return self.long_silence.silent(silence, revisit)

    def _restart(
        self,
        tracks: TrackBatch,
        track_rows: IntArray,
        posterior: Estimates,
        forget: BoolArray,
        times: FloatArray,
    ) -> Estimates:
        """The posterior of tracks taken up again, moving at their mean velocity over the
        silence (from their estimate at its start: a track is kept at its last update)."""
        return self.long_silence.restart(
            posterior,
            forget,
            tracks.state[track_rows, : self.spatial_dims],
            times - tracks.time[track_rows],
            self.spatial_dims,
        )

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

    def weighted(
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
            tracks = self.assigned(
                tracks, scan, pair_tracks[chosen], pair_rows[chosen], predicted, reference_time
            )
            return tracks, pair_tracks[chosen]
        prior = predicted.take(updated)
        # Only a likely detection takes a track up again (an unlikely one leaves it coasting).
        forget = self._after_silence(
            tracks, scan, updated, np.full(len(updated), reference_time)
        ) & (detected >= 0.5)
        if forget.any():
            self.long_silence.forget(prior, forget, self.spatial_dims)
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
        posterior = Estimates(state, covariance)
        if forget.any():
            posterior = self._restart(
                tracks, updated, posterior, forget, np.full(len(updated), reference_time)
            )
        tracks.estimates.assign(updated, posterior)
        tracks.time[updated] = np.maximum(tracks.time[updated], reference_time)
        hit = updated[detected >= 0.5]
        tracks.last_update_time[hit] = tracks.time[hit]
        tracks.hits[hit] += 1
        tracks = self.revisit.updated(
            tracks, self.sensor_column(scan.sensor_id), hit, tracks.time[hit]
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

    def velocities(self, tracks: TrackBatch, scan: SensorScan) -> tuple[TrackBatch, IntArray]:
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
        tracks = self.assigned(
            tracks,
            velocity_scan,
            track_rows,
            rows,
            None,
            velocity_scan.reference_time,
            counts_as_hit=False,
        )
        return tracks, track_rows
