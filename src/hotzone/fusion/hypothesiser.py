"""The hypothesiser: predict tracks, gate measurements against them, score the pairs.

Stone Soup's role on arrays: for one scan it predicts every track once to the scan's
time, pairs each report of a cooperative identity with the track of that identity, and
gives the associator every plausible (track, measurement) pair with its squared
Mahalanobis distance (and log-likelihood for a probabilistic associator).

A scan of a rotating radar covers the sector its beam swept in one window: most tracks
lie far from every plot of it. Those are not predicted for the scan at all
(`Hypothesiser.predict_for_scan`): a bound on how far a prediction can move a track and
how wide it can make its gate, from the track's own estimate, shows that no plot can lie
in its gate; the tracks that remain are predicted exactly as before, row for row. The
live mode (`MultiTargetTracker.step_arrivals`) finds those tracks without looking at every
track (`ReachIndex`: an index of where the tracks are and how far their gates may reach).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from hotzone.fusion.association import CandidatePairs
from hotzone.fusion.estimates import Estimates, TrackBatch
from hotzone.fusion.gating import Gater, grid_candidates, grid_candidates_within
from hotzone.fusion.imm import IMMPredictor
from hotzone.fusion.labels import TrackLabels
from hotzone.fusion.motion import ConstantVelocityMotion, CoordinatedTurnMotion, MotionModel
from hotzone.fusion.predictor import KalmanPredictor, Predictor
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.updater import innovations, mahalanobis_squared
from hotzone.types.arrays import BoolArray, FloatArray, IntArray
from hotzone.types.labels import LabelTable


@dataclass
class Hypothesiser:
    predictor: Predictor
    gater: Gater
    probabilistic: bool
    """Also give each pair's log-likelihood (JPDA)."""
    spatial_dims: int
    identity_gate_m: float
    identity_max_speed_mps: float
    labels: LabelTable
    track_labels: TrackLabels

    def predict(self, tracks: TrackBatch, time: float) -> Estimates:
        """Every track predicted to ``time``; one already later stays where it is."""
        return self.predictor.predict(tracks.estimates, np.maximum(time - tracks.time, 0.0))

    def predict_for_scan(
        self, tracks: TrackBatch, scan: SensorScan, time: float, selective: bool = True
    ) -> tuple[Estimates, BoolArray]:
        """`predict` for the tracks a measurement of ``scan`` may join, and which those are.

        The tracks left out are those no measurement can lie in the gate of (by
        `gate_reach`) and that carry no identity the scan reports: nothing of this scan
        reads their prediction, and their rows hold their own estimates. The others are
        predicted row for row as `predict` predicts them (each row's prediction depends on
        that row alone).

        ``selective`` False predicts every track: gating fewer tracks changes the order of
        the pairs (`grid_candidates` sizes its cells on every track's gate), so of the
        updates, and a sensor whose revisit is learnt from its updates keeps the latest
        few hundred of them in that order (`hotzone.fusion.revisit`)."""
        may_join = self._may_join(tracks, scan, time) if selective else None
        if may_join is None:
            return self.predict(tracks, time), np.ones(tracks.size, dtype=np.bool_)
        rows = np.flatnonzero(may_join)
        if len(rows) == tracks.size:
            return self.predict(tracks, time), may_join
        if len(rows) == 0:
            return tracks.estimates, may_join
        moved = self.predictor.predict(
            tracks.estimates.take(rows), np.maximum(time - tracks.time[rows], 0.0)
        )
        return tracks.estimates.put(rows, moved), may_join

    def may_join(
        self, tracks: TrackBatch, scan: SensorScan, time: float, by_noise: bool = False
    ) -> BoolArray | None:
        """Which tracks a measurement of ``scan`` may join: those whose gate a measurement
        may lie in after their prediction to ``time``, and those of an identity the scan
        reports (None: all, no bound holds). ``by_noise``: the scan's few far noisier
        measurements bounded apart from the others (`scan_bounds`)."""
        return self._may_join(tracks, scan, time, by_noise)

    def _may_join(
        self, tracks: TrackBatch, scan: SensorScan, time: float, by_noise: bool = False
    ) -> BoolArray | None:
        """Which tracks a measurement of ``scan`` may join (None: all, unbounded)."""
        groups = self.scan_bounds(tracks.size, scan, time, by_noise)
        if groups is None:
            return None
        may_join = self.reachable(tracks.estimates, tracks.time, groups[0], time)
        for bounds in groups[1:]:
            may_join |= self.reachable(tracks.estimates, tracks.time, bounds, time)
        if groups[0].identities:
            may_join |= tracks.identity != None  # noqa: E711 (elementwise on an object array)
        return may_join

    def scan_bounds(
        self, track_count: int, scan: SensorScan, time: float, by_noise: bool = False
    ) -> list[ScanBounds] | None:
        """What bounds which tracks a measurement of ``scan`` at ``time`` may join (None:
        no bound holds, or too few tracks for a bound to pay): one bound for the scan, the
        largest noise of its measurements for all, or, ``by_noise``, one for its
        measurements with a noise (covariance trace) at most `NOISY` times the scan's
        median and one for the others. A radar's plot whose height does not fit its
        range (an elevation unknown) has a noise of tens of kilometres, and one such plot
        made its whole sector reach that far (the live mode's slowest steps)."""
        size = min(scan.model.position_size, self.spatial_dims)
        motion = _motion_bounds(self.predictor, self.spatial_dims)
        if track_count < SELECTED_FROM_TRACKS or size == 0 or scan.size == 0 or motion is None:
            return None
        positions = scan.values[:, :size]
        if not np.isfinite(positions).all():
            return None
        traces = np.trace(scan.noise, axis1=1, axis2=2)
        noise_trace = float(traces.max())
        if not np.isfinite(noise_trace):
            return None
        identities = scan.identities()
        reported = identities is not None and bool((identities != None).any())  # noqa: E711
        noisy = traces > NOISY * float(np.median(traces)) if by_noise else None
        parts = [(positions, noise_trace, scan.times)]
        if noisy is not None and noisy.any():
            parts = [
                (positions[rows], float(traces[rows].max()), scan.times[rows])
                for rows in (np.flatnonzero(~noisy), np.flatnonzero(noisy))
            ]
        return [
            ScanBounds(
                positions=part_positions,
                noise_trace=part_noise,
                spread_s=time - float(part_times.min()),
                threshold=self.gater.threshold(scan.model.size),
                noise_intensity=motion[0],
                turning=motion[1],
                identities=reported,
            )
            for part_positions, part_noise, part_times in parts
        ]

    def reachable(
        self, estimates: Estimates, track_time: FloatArray, bounds: ScanBounds, time: float
    ) -> BoolArray:
        """Which of the tracks of ``estimates`` (their times ``track_time``) a
        measurement of the scan of ``bounds`` may lie in the gate of after their
        prediction to ``time``, by `gate_reach` (those without a bound: all). Row by row:
        the same for a track whatever the other rows."""
        positions = bounds.positions
        size = positions.shape[1]
        centre, reach = gate_reach(
            estimates,
            np.maximum(time - track_time, 0.0),
            self.spatial_dims,
            bounds.noise_intensity,
            bounds.turning,
            threshold=bounds.threshold,
            noise_trace=bounds.noise_trace,
            spread_s=bounds.spread_s,
        )
        # Column by column: numpy's reductions over a row of two or three are slow.
        bounded = np.isfinite(reach)
        for axis in range(centre.shape[1]):
            bounded &= np.isfinite(centre[:, axis])
        # A track farther than its reach from the box around the measurements is farther
        # from each of them: only the others are looked up (a scan covers a sector).
        lowest, highest = positions.min(axis=0), positions.max(axis=0)
        outside = np.zeros(len(reach))
        for axis in range(size):
            column = centre[:, axis]
            outside = np.maximum(outside, np.maximum(lowest[axis] - column, column - highest[axis]))
        looked_up = np.flatnonzero(bounded & (outside <= reach))
        may_join: BoolArray = ~bounded
        if len(looked_up):
            may_join[looked_up] = any_within(positions, centre[looked_up, :size], reach[looked_up])
        return may_join

    def predicted(
        self, tracks: TrackBatch, time: float, known: tuple[Estimates, BoolArray] | None = None
    ) -> TrackBatch:
        """The tracks with estimates predicted to ``time`` (nothing is changed).

        ``known``: a prediction to ``time`` of the first rows of ``tracks`` made earlier,
        and which of those rows it still holds (estimate and time unchanged since); those
        are not predicted again."""
        if tracks.size == 0:
            return tracks
        behind = np.flatnonzero(tracks.time < time)
        if len(behind) == 0:
            return tracks
        if known is not None:
            return self._predicted_reusing(tracks, time, behind, *known)
        if len(behind) == tracks.size:
            estimates = self.predictor.predict(tracks.estimates, time - tracks.time)
        else:
            moved = self.predictor.predict(
                tracks.estimates.take(behind), time - tracks.time[behind]
            )
            estimates = tracks.estimates.put(behind, moved)
        return tracks.with_estimates(estimates, np.maximum(tracks.time, time))

    def _predicted_reusing(
        self,
        tracks: TrackBatch,
        time: float,
        behind: IntArray,
        earlier: Estimates,
        valid: BoolArray,
    ) -> TrackBatch:
        """`predicted`, starting from the earlier prediction: its rows still valid and
        behind are taken as they are, the others are the tracks' own estimates or their
        prediction now. The batch is copied from whichever of the two holds more of its
        rows, and the other's rows gathered into it (every row the same either way)."""
        first = len(valid)
        reuse = np.zeros(tracks.size, dtype=np.bool_)
        reuse[:first] = valid & (tracks.time[:first] < time)
        kept_as_is = np.flatnonzero(~reuse[:first] & ~(tracks.time[:first] < time))
        reused = np.flatnonzero(reuse)
        if len(reused) < len(kept_as_is) + tracks.size - first:
            merged = tracks.estimates.copy()
            if len(reused):
                merged.assign(reused, earlier.take(reused))
        else:
            later = np.arange(first, tracks.size)
            merged = Estimates.concatenate([earlier, tracks.estimates.take(later)])
            if len(kept_as_is):
                merged.assign(kept_as_is, tracks.estimates.take(kept_as_is))
        behind = behind[~reuse[behind]]
        if len(behind):
            merged.assign(
                behind,
                self.predictor.predict(tracks.estimates.take(behind), time - tracks.time[behind]),
            )
        return tracks.with_estimates(merged, np.maximum(tracks.time, time))

    def identity_pairs(
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
            since = np.maximum(float(scan.times[row]) - tracks.last_update_time[members], 0.0)
            # Reached from where the track was predicted, or from where it was last seen:
            # a track of sparse reports of a manoeuvring object (a glider circling, one
            # report in 40 s) can carry a velocity far off, and its prediction drift many
            # kilometres from an object that cannot have gone further than its speed
            # allows (a real FLARM day: 1.053 -> 1.026 tracks per visit, no merge). Where
            # it was last seen is its estimate at its last update, not the prediction
            # run back along the velocity: a turn model's prediction is not a line, and
            # a glider thermalling with one report in 10 s (about its circling period)
            # can make a turn model's velocity wrap that circle many times over.
            last_seen = tracks.state[members, :size]
            horizontal = np.minimum(
                np.linalg.norm(scan.values[row, :2] - position[:, :2], axis=1),
                np.linalg.norm(scan.values[row, :2] - last_seen[:, :2], axis=1),
            )
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

    def gate(
        self,
        tracks: TrackBatch,
        predicted: Estimates,
        stage: IntArray,
        scan: SensorScan,
        rows: IntArray,
        reference_time: float,
        refused: BoolArray | None = None,
    ) -> CandidatePairs:
        """The plausible pairs of tracks ``stage`` and scan rows ``rows`` (indices local
        to both), with their distances and, for a probabilistic associator, likelihoods."""
        model = scan.model
        threshold = self.gater.threshold(model.size)
        state = predicted.state[stage]
        size = model.position_size
        # A direct position reads the position block of each track only: gathered once
        # per track from a compact copy of that block (not the full covariance).
        covariance = (
            np.ascontiguousarray(predicted.covariance[:, :size, :size])[stage]
            if size
            else predicted.covariance[stage]
        )
        values = scan.values[rows]
        times = scan.times[rows]
        dims = self.spatial_dims
        speed = row_norms(state[:, dims : 2 * dims])
        spread = reference_time - float(times.min())
        if size:
            noise_traces = trace_rows(scan.noise[rows])
            noise_trace = float(noise_traces.max())
            position_trace = trace_rows(covariance)
            # λmax(S) <= trace(S): a ball of this radius contains the whole gate ellipsoid.
            spread_variance = np.maximum(position_trace + noise_trace, 0.0)
            radii = np.sqrt(threshold * spread_variance) + speed * spread
            noisy = noise_traces > NOISY * float(np.median(noise_traces))
            if noisy.any() and not noisy.all():
                # The few far noisier measurements (tens of kilometres) searched with radii
                # of their own, the others with radii of the others' noise: the same pairs
                # in the gates, in the same order (`grid_candidates_within`).
                ordinary_variance = np.maximum(
                    position_trace + float(noise_traces[~noisy].max()), 0.0
                )
                ordinary_radii = (np.sqrt(threshold * ordinary_variance) + speed * spread) * (
                    1.0 + REACH_MARGIN
                ) + 1.0
                local_tracks, local_rows = grid_candidates_within(
                    state[:, :size],
                    radii,
                    values[:, :size],
                    noisy.astype(np.int64),
                    np.stack([np.minimum(ordinary_radii, radii), radii]),
                )
            else:
                local_tracks, local_rows = grid_candidates(state[:, :size], radii, values[:, :size])
        else:
            grid = np.meshgrid(np.arange(len(stage)), np.arange(len(rows)), indexing="ij")
            local_tracks, local_rows = grid[0].ravel(), grid[1].ravel()
        if len(local_tracks) == 0:
            return CandidatePairs(local_tracks, local_rows, np.zeros(0), threshold)
        # Pairs' rows gathered by np.take (a third cheaper than fancy indexing of these
        # short rows); the same numbers.
        pair_state = np.take(state, local_tracks, axis=0)
        if spread > 0:
            delta = times[local_rows] - reference_time
            pair_state[:, :dims] += pair_state[:, dims : 2 * dims] * delta[:, None]
        noise = scan.noise[rows]
        if size:
            residual = np.take(values, local_rows, axis=0) - pair_state[:, :size]
            innovation_covariance = np.take(covariance, local_tracks, axis=0)
            innovation_covariance += np.take(noise, local_rows, axis=0)
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
        if self.probabilistic:
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


def any_within(points: FloatArray, centres: FloatArray, radii: FloatArray) -> BoolArray:
    """Whether a point of ``points`` lies within ``radii`` of each of ``centres``: the
    rows where ``cKDTree(points).query_ball_point(centres, r=radii, return_length=True)``
    is not 0, from the nearest point alone (a nearest-neighbour
    search stops where a ball count visits every point in the ball).

    Decided as the ball query decides: the squared distance, summed axis by axis, at
    most the squared radius (the nearest point's is the least of them)."""
    if len(points) == 0:
        return np.zeros(len(centres), dtype=np.bool_)
    # Searched a little beyond the largest radius: the nearest point within it is found
    # whatever the search's own rounding, and compared below.
    search = float(radii.max()) * (1.0 + REACH_MARGIN) + 1.0
    distance, nearest = cKDTree(points).query(centres, k=1, distance_upper_bound=search)
    found = np.flatnonzero(np.isfinite(distance))
    closest = points[nearest[found]]
    squared = np.zeros(len(found))
    for axis in range(points.shape[1]):
        difference = closest[:, axis] - centres[found, axis]
        squared += difference * difference
    within = np.zeros(len(centres), dtype=np.bool_)
    radius = radii[found]
    within[found] = squared <= radius * radius
    return within


def row_norms(vectors: FloatArray) -> FloatArray:
    """``np.linalg.norm(vectors, axis=1)``, column by column: the squares added in the
    order numpy's reduction over a short row adds them (the same numbers), without its
    fixed cost."""
    squares = np.zeros(len(vectors))
    for axis in range(vectors.shape[1]):
        column = vectors[:, axis]
        if axis == 0:
            squares = column * column
        else:
            squares += column * column
    norms: FloatArray = np.sqrt(squares)
    return norms


def trace_rows(matrices: FloatArray) -> FloatArray:
    """``np.trace(matrices, axis1=1, axis2=2)`` of (N, n, n), the diagonal added in order,
    as `row_norms` adds its squares."""
    total = np.zeros(len(matrices))
    for axis in range(matrices.shape[1]):
        if axis == 0:
            total = matrices[:, 0, 0].copy()
        else:
            total += matrices[:, axis, axis]
    return total


SELECTED_FROM_TRACKS = 64
"""Below this many tracks, bounding which tracks a scan may reach costs more than
predicting them all."""

NOISY = 4.0
"""With ``by_noise`` (`Hypothesiser.scan_bounds`), a measurement whose noise is more than
this many times the scan's median is bounded apart."""


def _motion_bounds(predictor: Predictor, spatial_dims: int) -> tuple[float, bool] | None:
    """The largest white-noise intensity of the predictor's motion models and whether one
    of them turns, when every model is one `gate_reach` bounds (nearly constant velocity,
    coordinated turn) on the ``[position, velocity, extras]`` layout; None otherwise."""
    models: tuple[MotionModel, ...]
    if isinstance(predictor, KalmanPredictor):
        models = (predictor.motion,)
    elif isinstance(predictor, IMMPredictor):
        models = predictor.models
    else:
        return None
    intensities: list[float] = []
    turning = False
    for model in models:
        if type(model) is ConstantVelocityMotion:
            intensities.append(model.noise_intensity)
        elif type(model) is CoordinatedTurnMotion:
            intensities.append(model.noise_intensity)
            turning = True
        else:
            return None
        if model.spatial_dims != spatial_dims or model.state_size < 2 * spatial_dims:
            return None
    return max(intensities), turning


REACH_MARGIN = 1e-6
"""Relative slack on a bound, far above the rounding of the few operations behind it."""


def gate_reach(
    estimates: Estimates,
    dt: FloatArray,
    spatial_dims: int,
    noise_intensity: float,
    turning: bool,
    threshold: float,
    noise_trace: float,
    spread_s: float,
) -> tuple[FloatArray, FloatArray]:
    """Per track, a centre and a distance no measurement beyond which can fall in the
    track's gate after a prediction by ``dt`` (what `Hypothesiser.gate` searches: within
    ``sqrt(threshold x (trace of the predicted position covariance + noise_trace)) +
    speed x spread_s`` of the predicted position). NaN or inf where no bound holds.

    For nearly constant velocity and coordinated turn models, mixed as an IMM mixes
    them (convex combinations of the modes, then moment matching):

    * a mode's position moves by at most its speed x dt (a turn bends the path, never
      lengthens it) and its speed does not grow, so every predicted position lies within
      ``D + V dt`` of the track's position, with D the farthest mode position from it and
      V the fastest mode's speed, and the predicted speed is at most V;
    * a mixed covariance's block b has a trace of at most the largest mode trace of that
      block plus the square of the modes' spread in it (2D, 2V, twice the largest extra);
    * a row a of the transition over position gives ``aᵀ M a <= (Σ_b |a_b| √tr M_bb)²``
      (Cauchy-Schwarz on a positive semi-definite M), with |a| = 1 on the position, at
      most dt on the velocity and, for a turn, at most dt² V on the turn rate (the
      derivative of sin(ωt)/ω and of (1 - cos ωt)/ω in ω is at most t²/2 in size);
    * the process noise adds ``q dt³ / 3`` per axis, and moment matching the modes' spread,
      at most ``(2 (D + V dt))²``.
    """
    dims = spatial_dims
    count = estimates.size
    if estimates.mode_states is not None and estimates.mode_covariances is not None:
        mode_states, mode_covariances = estimates.mode_states, estimates.mode_covariances
    else:
        mode_states = estimates.state[:, None, :]
        mode_covariances = estimates.covariance[:, None, :, :]
    centre = estimates.state[:, :dims]
    with np.errstate(invalid="ignore", over="ignore"):
        # Sums over the position, velocity and extra blocks as one product with their
        # indicator columns (a bound needs no particular order of addition).
        blocks = np.zeros((mode_states.shape[2], 3))
        blocks[:dims, 0] = blocks[dims : 2 * dims, 1] = blocks[2 * dims :, 2] = 1.0
        modes, size = mode_states.shape[1:]
        variances = np.einsum("nrdd->nrd", mode_covariances).reshape(count * modes, size).copy()
        if variances.min(initial=0.0) >= 0.0:
            valid = np.ones(count, dtype=np.bool_)
        else:  # a negative or NaN variance somewhere: no bound for its track
            valid = ~(variances < 0.0).any(axis=1).reshape(count, modes).any(axis=1)
            valid &= ~np.isnan(variances).any(axis=1).reshape(count, modes).any(axis=1)
        traces = _largest_mode((variances @ blocks).reshape(count, modes, 3))
        squares = _largest_mode(
            (mode_states.reshape(count * modes, size) ** 2 @ blocks).reshape(count, modes, 3)
        )
        offset = (mode_states[:, :, :dims] - centre[:, None, :]).reshape(count * modes, dims)
        farthest = np.sqrt(_largest_mode((offset**2 @ np.ones(dims)).reshape(count, modes)))
        speed = np.sqrt(squares[:, 1])
        position_trace = traces[:, 0] + 4 * farthest**2
        velocity_trace = traces[:, 1] + 4 * squares[:, 1]
        extra_trace = traces[:, 2] + 4 * squares[:, 2]
        row = np.sqrt(position_trace) + dt * np.sqrt(velocity_trace)
        if turning:
            # One metre per radian/s more: the turn-rate column is a central difference.
            row = row + (dt * dt * speed + 1.0) * np.sqrt(extra_trace)
        moved = farthest + speed * dt
        covariance_trace = dims * row**2 + dims * noise_intensity * dt**3 / 3.0 + (2 * moved) ** 2
        radius = np.sqrt(threshold * (covariance_trace + noise_trace)) + speed * spread_s
        reach = (moved + radius) * (1.0 + REACH_MARGIN) + 1.0
    reach = np.where(valid & np.isfinite(reach), reach, np.inf)
    assert reach.shape == (count,)
    return centre, reach


def _largest_mode(values: FloatArray) -> FloatArray:
    """The largest over the modes (axis 1) of (N, r, ...): r elementwise maxima, far
    cheaper than numpy's reduction over a short axis."""
    largest = values[:, 0]
    for mode in range(1, values.shape[1]):
        largest = np.maximum(largest, values[:, mode])
    return largest


@dataclass(frozen=True)
class ScanBounds:
    """What bounds which tracks a measurement of one scan may join (`gate_reach`'s
    arguments from the scan)."""

    positions: FloatArray
    """(M, size) the measured positions."""
    noise_trace: float
    spread_s: float
    threshold: float
    noise_intensity: float
    turning: bool
    identities: bool
    """Whether a measurement reports an identity (then every track of one may join)."""


@dataclass
class ReachIndex:
    """Which tracks a scan may join, found without looking at every track (the live
    mode's steps, `MultiTargetTracker.step_arrivals`): the same rows as
    `Hypothesiser.may_join`, at the cost of what is near the scan's measurements.

    The tracks are indexed (k-d trees, one per class of reach within a factor of two) by
    where they are and a reach that holds until ``horizon_s`` after the index was made,
    for a scan of at most twice the recent scans' median noise and a bounded time spread
    (`gate_reach` grows with the prediction's time, the noise and the spread; a noisier
    scan is looked up that much further): a track no measurement lies within that reach
    of cannot be joined, and is not looked at. The tracks near a measurement, those
    written since the index was made (each with the reach of its new estimate) and those
    without a bound are checked with the scan's own bound, as `may_join` checks every
    track. The index is made again past its horizon, for a scan of a longer spread or
    another gate, once a quarter of the tracks (at least 2,048) have been written, and
    whenever the rows move (`reset`: the books end tracks)."""

    horizon_s: float = 1.0
    _built: bool = False
    _horizon: float = -np.inf
    _noise_bound: float = 0.0
    _spread_bound: float = 0.25
    _threshold: float = 0.0
    _motion: tuple[float, bool] | None = None
    _spatial_dims: int = 3
    _size: int = 0
    _classes: list[tuple[cKDTree, IntArray, float]] = field(default_factory=list)
    _unbounded: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _identities: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _written_rows: list[IntArray] = field(default_factory=list)
    _written_centres: list[FloatArray] = field(default_factory=list)
    _written_reach: list[FloatArray] = field(default_factory=list)
    _written_count: int = 0
    _recent_noise: deque[float] = field(default_factory=lambda: deque(maxlen=64))

    def reset(self) -> None:
        """The rows have moved: the index is made again at the next scan."""
        self._built = False
        self._classes = []
        self._written_rows, self._written_centres, self._written_reach = [], [], []
        self._written_count = 0

    def rows(
        self, hypothesiser: Hypothesiser, tracks: TrackBatch, scan: SensorScan, time: float
    ) -> IntArray | None:
        """``np.flatnonzero(hypothesiser.may_join(tracks, scan, time, by_noise=True))``
        (None: every track, no bound holds)."""
        groups = hypothesiser.scan_bounds(tracks.size, scan, time, by_noise=True)
        if groups is None:
            return None
        first = groups[0]
        if first.positions.shape[1] < 2:
            # Indexed on the plane: a bound on one axis is no bound there.
            every = hypothesiser.may_join(tracks, scan, time, by_noise=True)
            return None if every is None else np.flatnonzero(every)
        stale = (
            not self._built
            or time > self._horizon
            or max(bounds.spread_s for bounds in groups) > self._spread_bound
            or first.threshold != self._threshold
            or (first.noise_intensity, first.turning) != self._motion
            or tracks.size < self._size
            or self._written_count > max(2_048, tracks.size // 4)
        )
        self._recent_noise.append(first.noise_trace)
        if stale:
            self._build(hypothesiser, tracks, groups, time)
        # The rows added since the index was made are among those written (`written`).
        found: list[IntArray] = [self._unbounded]
        for bounds in groups:
            found.extend(self._near(bounds))
        if first.identities:
            found.append(self._identities)
            found.extend(
                rows[tracks.identity[rows] != None]  # noqa: E711
                for rows in self._written_rows
            )
        candidates = np.unique(np.concatenate(found))
        if len(candidates) == 0:
            return candidates
        mine = tracks.estimates.take(candidates)
        track_time = tracks.time[candidates]
        may_join = hypothesiser.reachable(mine, track_time, first, time)
        for bounds in groups[1:]:
            may_join |= hypothesiser.reachable(mine, track_time, bounds, time)
        if first.identities:
            may_join |= tracks.identity[candidates] != None  # noqa: E711
        chosen: IntArray = candidates[may_join]
        return chosen

    def _near(self, bounds: ScanBounds) -> list[IntArray]:
        """The rows of the tracks the index finds within their reach of a measurement of
        ``bounds`` (with repeats)."""
        plane = np.ascontiguousarray(bounds.positions[:, :2])
        # A scan noisier than the index's bound reaches further by at most the gate of
        # the difference (sqrt(a + b) <= sqrt(a) + sqrt(b)), scaled as `gate_reach` scales.
        beyond = max(bounds.noise_trace - self._noise_bound, 0.0)
        extra = np.sqrt(bounds.threshold * beyond) * (1.0 + REACH_MARGIN) + 1.0 if beyond else 0.0
        found: list[IntArray] = []
        measured = cKDTree(plane)
        for tree, members, largest in self._classes:
            # The (track, measurement) pairs within the class's largest reach, as arrays.
            pairs = tree.sparse_distance_matrix(measured, largest + extra, output_type="ndarray")
            if len(pairs):
                found.append(members[pairs["i"]])
        if self._written_count:
            centres = np.concatenate(self._written_centres)
            reach = np.concatenate(self._written_reach)
            written = np.concatenate(self._written_rows)
            close = measured.query_ball_point(centres, r=reach + extra, return_length=True)
            found.append(written[np.asarray(close) > 0])
        return found

    def written(self, tracks: TrackBatch, rows: IntArray) -> None:
        """Rows ``rows`` of ``tracks`` were updated or added since the index was made:
        each is looked up with the reach of its new estimate from now on."""
        if not self._built or len(rows) == 0:
            return
        centre, reach = self._reach(tracks.estimates.take(rows), tracks.time[rows])
        self._written_rows.append(rows.astype(np.int64))
        self._written_centres.append(centre)
        self._written_reach.append(reach)
        self._written_count += len(rows)

    def _build(
        self, hypothesiser: Hypothesiser, tracks: TrackBatch, groups: list[ScanBounds], time: float
    ) -> None:
        """Index ``tracks`` for the scans of the next ``horizon_s`` after ``time``."""
        self.reset()
        self._horizon = time + self.horizon_s
        # Twice the recent scans' median: a rare noisy scan widens its own look-up only.
        self._noise_bound = 2.0 * float(np.median(self._recent_noise))
        while max(bounds.spread_s for bounds in groups) > self._spread_bound:
            self._spread_bound *= 2.0
        first = groups[0]
        self._threshold = first.threshold
        self._motion = (first.noise_intensity, first.turning)
        self._spatial_dims = hypothesiser.spatial_dims
        self._size = tracks.size
        centre, reach = self._reach(tracks.estimates, tracks.time)
        bounded = np.isfinite(reach)
        self._unbounded = np.flatnonzero(~bounded)
        self._identities = np.flatnonzero(tracks.identity != None)  # noqa: E711
        rows = np.flatnonzero(bounded)
        if len(rows):
            # Classes of reach within a factor of two: each looked up with its largest.
            smallest = max(float(reach[rows].min()), 1.0)
            level = np.minimum(np.floor(np.log2(reach[rows] / smallest)), 30).astype(np.int64)
            for value in np.unique(level).tolist():
                members = rows[level == value]
                self._classes.append(
                    (cKDTree(centre[members]), members, float(reach[members].max()))
                )
        self._built = True

    def _reach(self, estimates: Estimates, track_time: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Each track's position on the plane and a reach that bounds its gate for any
        scan the index serves (inf: no bound)."""
        assert self._motion is not None
        centre, reach = gate_reach(
            estimates,
            np.maximum(self._horizon - track_time, 0.0),
            self._spatial_dims,
            *self._motion,
            threshold=self._threshold,
            noise_trace=self._noise_bound,
            spread_s=self._spread_bound,
        )
        plane = np.ascontiguousarray(centre[:, :2])
        # A metre more than the scans' own bounds, which may round otherwise.
        reach = np.where(np.isfinite(plane).all(axis=1), reach + 1.0, np.inf)
        return plane, reach
