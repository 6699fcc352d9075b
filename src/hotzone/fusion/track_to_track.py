"""Track-to-track fusion across nations: one alliance track per object, numbered stably.

Each nation's tracker reports its tracks (`hotzone.types.Track`: WGS-84 position, state and
covariance in its own sector's ENU frame). At the alliance hub this stage

1. brings every national track into one common ENU frame (positions exactly through WGS-84,
   velocities and covariances rotated with `LocalFrame.vector_to`) and predicts it to the
   step's time with a constant-velocity model;
2. keeps each national track on the alliance track it was on, unless it has left its
   partners (a Mahalanobis gate), and associates the others nation by nation to alliance
   tracks with no track of theirs yet (optimal assignment on Mahalanobis distance inside a
   chi-square gate), or starts a new alliance track;
3. fuses the national tracks of each alliance track by covariance intersection.

National trackers share information (the same ADS-B report, the same radar seen across the
border, a common motion model and its process noise), and the cross-covariance between
their errors is unknown. The Kalman combination that assumes independence then counts the
shared part twice and reports a covariance smaller than the errors. Covariance intersection
(Julier & Uhlmann 1997) is consistent for every cross-correlation:

    P⁻¹ = ω P_a⁻¹ + (1 − ω) P_b⁻¹,    P⁻¹ x = ω P_a⁻¹ x_a + (1 − ω) P_b⁻¹ x_b,

with ω in [0, 1] chosen to minimise det P (`optimal_weight`, the convex problem solved by
bisection on its derivative) or in closed form (`fast_weight`, Niehsen 2002). More than two
tracks are fused one after another, most certain first; each step is again consistent.

Alliance track numbers (`AllianceTrackTable`) map (nation, national track id) to a number
that outlives any one national track: when a nation drops its track and starts a new one
for the same object, the new one is associated to the alliance track its partners (or the
coasting alliance estimate) still hold, and takes the same number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy.optimize import linear_sum_assignment

from hotzone.fusion.gating import chi_square_quantile
from hotzone.fusion.motion import ConstantVelocityMotion
from hotzone.fusion.updater import mahalanobis_squared
from hotzone.geo import LocalFrame
from hotzone.types import GeoPoint, Track, TrackStatus
from hotzone.types.arrays import FloatArray
from hotzone.types.labels import NATO, Label, LabelConflict, meet_all

WeightRule = Callable[[FloatArray, FloatArray], float]
STATE_SIZE = 6  # east, north, up positions (m) then velocities (m/s)
ALLIANCE_SECTOR = "alliance"
# A 2-D national track says nothing about height: its up position and velocity enter the
# fusion as known this loosely, so they neither help nor hurt.
_UNKNOWN_UP_SIGMA_M = 10_000.0
_UNKNOWN_UP_VELOCITY_SIGMA_MPS = 100.0


# --- covariance intersection ----------------------------------------------------------


def _information(covariance: FloatArray) -> FloatArray:
    inverse = np.linalg.inv(covariance)
    symmetric: FloatArray = (inverse + inverse.T) / 2.0
    return symmetric


def fast_weight(covariance_a: FloatArray, covariance_b: FloatArray) -> float:
    """Closed-form CI weight (Niehsen 2002): each track weighted by the other's det.

    ω = det P_b / (det P_a + det P_b), so the more certain track weighs more.
    """
    sign_a, log_det_a = np.linalg.slogdet(covariance_a)
    sign_b, log_det_b = np.linalg.slogdet(covariance_b)
    if sign_a <= 0 or sign_b <= 0:
        raise ValueError("covariance intersection needs positive definite covariances")
    # det P_b / (det P_a + det P_b), computed on logs: 6x6 determinants underflow easily.
    return float(1.0 / (1.0 + math.exp(log_det_a - log_det_b)))


def optimal_weight(covariance_a: FloatArray, covariance_b: FloatArray) -> float:
    """The CI weight that minimises the fused covariance's determinant.

    −log det(ω I_a + (1 − ω) I_b) is convex in ω, so its derivative −tr(M⁻¹ (I_a − I_b))
    increases with ω; bisection finds where it crosses zero (or an end of [0, 1]).
    """
    information_a, information_b = _information(covariance_a), _information(covariance_b)
    difference = information_a - information_b

    def slope(weight: float) -> float:
        combined = weight * information_a + (1.0 - weight) * information_b
        return -float(np.trace(np.linalg.solve(combined, difference)))

    low, high = 0.0, 1.0
    if slope(low) >= 0.0:
        return low
    if slope(high) <= 0.0:
        return high
    for _ in range(50):
        middle = (low + high) / 2.0
        if slope(middle) > 0.0:
            high = middle
        else:
            low = middle
    return (low + high) / 2.0


def covariance_intersection(
    mean_a: FloatArray,
    covariance_a: FloatArray,
    mean_b: FloatArray,
    covariance_b: FloatArray,
    weight_rule: WeightRule = optimal_weight,
) -> tuple[FloatArray, FloatArray, float]:
    """Fuse two estimates of one state whose errors are correlated in an unknown way.

    Returns the fused mean, covariance and the weight ω of estimate a.
    """
    weight = weight_rule(covariance_a, covariance_b)
    information = weight * _information(covariance_a) + (1.0 - weight) * _information(covariance_b)
    covariance = np.linalg.inv(information)
    covariance = (covariance + covariance.T) / 2.0
    mean = covariance @ (
        weight * np.linalg.solve(covariance_a, mean_a)
        + (1.0 - weight) * np.linalg.solve(covariance_b, mean_b)
    )
    return mean, covariance, weight


def intersect_all(
    means: Sequence[FloatArray],
    covariances: Sequence[FloatArray],
    weight_rule: WeightRule = optimal_weight,
) -> tuple[FloatArray, FloatArray]:
    """CI of any number of estimates, one after another, most certain (smallest det) first."""
    if not means:
        raise ValueError("covariance intersection needs at least one estimate")
    order = sorted(range(len(means)), key=lambda i: float(np.linalg.slogdet(covariances[i])[1]))
    mean, covariance = means[order[0]], covariances[order[0]]
    for index in order[1:]:
        mean, covariance, _ = covariance_intersection(
            mean, covariance, means[index], covariances[index], weight_rule
        )
    return mean, covariance


def estimates_distance_squared(
    mean_a: FloatArray, covariance_a: FloatArray, mean_b: FloatArray, covariance_b: FloatArray
) -> float:
    """d² of the difference of two estimates, their errors taken as uncorrelated: the
    tracker's `mahalanobis_squared` of that difference (infinite where singular).

    Ignoring a positive cross-correlation overstates the difference's covariance, which
    only widens the gate: two tracks of one object are not split for sharing information.
    """
    difference = (mean_a - mean_b)[None, :]
    return float(mahalanobis_squared(difference, (covariance_a + covariance_b)[None])[0])


# --- releasability of a fused track ---------------------------------------------------


def combined_releasability(labels: Iterable[str]) -> str | None:
    """The label of a track fused from tracks with these labels: who may receive all of them
    (their meet, `hotzone.types.labels`).

    None when no nation may receive them all (such tracks are not fused together).
    """
    try:
        return meet_all(Label.parse(label) for label in labels).text
    except LabelConflict:
        return None


# --- alliance track numbers -----------------------------------------------------------


@dataclass
class AllianceTrackTable:
    """(nation, national track id) -> alliance track number, numbers handed out once each."""

    first_number: int = 1
    _numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    _next: int = 0

    def __post_init__(self) -> None:
        self._next = self.first_number

    def number_of(self, nation: str, track_id: str) -> int | None:
        return self._numbers.get((nation, track_id))

    def new_number(self) -> int:
        number = self._next
        self._next += 1
        return number

    def assign(self, nation: str, track_id: str, number: int) -> None:
        self._numbers[(nation, track_id)] = number

    def release(self, nation: str, track_id: str) -> None:
        self._numbers.pop((nation, track_id), None)

    def members(self, number: int) -> list[tuple[str, str]]:
        """The national tracks now on one alliance track, sorted."""
        return sorted(key for key, value in self._numbers.items() if value == number)

    def __len__(self) -> int:
        return len(self._numbers)


# --- the stage ------------------------------------------------------------------------


@dataclass(frozen=True)
class _NationalEstimate:
    nation: str
    track: Track
    mean: FloatArray  # common frame, predicted to the step time
    covariance: FloatArray


@dataclass
class _AllianceState:
    time: datetime
    mean: FloatArray
    covariance: FloatArray
    releasability: str


def padded_state(track: Track) -> tuple[FloatArray, FloatArray]:
    """A national track's 6-D state and covariance in its own sector frame."""
    covariance = np.asarray(track.covariance, dtype=np.float64)
    position = np.asarray(track.enu_position_m, dtype=np.float64)
    velocity = np.asarray(track.enu_velocity_mps, dtype=np.float64)
    mean = np.concatenate([position, velocity])
    if covariance.shape == (STATE_SIZE, STATE_SIZE):
        return mean, covariance
    if covariance.shape == (4, 4):
        full = np.diag(
            [0.0, 0.0, _UNKNOWN_UP_SIGMA_M**2, 0.0, 0.0, _UNKNOWN_UP_VELOCITY_SIGMA_MPS**2]
        )
        horizontal = [0, 1, 3, 4]
        full[np.ix_(horizontal, horizontal)] = covariance
        return mean, full
    raise ValueError(
        f"track {track.track_id}: covariance is {covariance.shape[0]}x{covariance.shape[1]}"
        "; expected 6x6 (ENU position, velocity) or 4x4 (EN position, velocity)"
    )


@dataclass
class AllianceFusionStage:
    """National tracks in, alliance tracks (sector ``"alliance"``) out; a pure step."""

    common_frame: LocalFrame
    """The alliance's ENU frame, in which tracks are compared, fused and reported."""
    sector_frames: Mapping[str, LocalFrame] = field(default_factory=dict)
    """Each national sector's ENU frame, by sector name. A sector missing here is taken to
    be tangent at the track's own position: a small rotation error (about 0.9° per 100 km
    from the true origin)."""
    gate_probability: float = 0.999
    """Chi-square gate on the 6-D Mahalanobis distance between a national track and an
    alliance track."""
    acceleration_noise_psd: float = 4.0
    """White-noise acceleration (m²/s³) used to predict national tracks to the step time."""
    max_track_age_s: float = 30.0
    """National tracks older than this at the step time are left out."""
    coast_s: float = 30.0
    """How long an alliance track with no national track left keeps its number, so that a
    re-created national track can take it up again."""
    weight_rule: WeightRule = optimal_weight
    """How each covariance intersection picks its weight."""
    merge_duplicates: bool = True
    """Merge two alliance tracks of one object: tracks of different nations that agree
    (inside the gate) and may be seen together. They arise when a nation's new track could
    not join its object's alliance track because that nation's previous track was still on
    it, or when each nation's first track fell outside the other's gate."""
    table: AllianceTrackTable = field(default_factory=AllianceTrackTable)
    """The national-to-alliance number map; survives across steps."""
    rejected: list[str] = field(default_factory=list)
    """Why national tracks were left out, one line each (bad covariance, stale, ...)."""
    approximated_frames: int = 0
    """National tracks whose sector frame was unknown and was approximated."""
    _alliance: dict[int, _AllianceState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 < self.gate_probability < 1.0:
            raise ValueError(f"gate probability {self.gate_probability} must be in (0, 1)")
        self._gate = chi_square_quantile(self.gate_probability, STATE_SIZE)

    def step(self, time: datetime, national_tracks: Sequence[tuple[str, Track]]) -> list[Track]:
        """Fuse the latest track of each (nation, track) seen up to ``time``.

        ``national_tracks`` holds (nation, track) pairs; a nation's deleted tracks leave
        their alliance track.
        """
        estimates = self._estimates(time, national_tracks)
        groups = self._keep_consistent_members(estimates)
        self._associate_newcomers(time, estimates, groups)
        if self.merge_duplicates:
            self._merge_duplicates(groups)
        return self._fuse(time, groups)

    # -- inputs

    def _estimates(
        self, time: datetime, national_tracks: Sequence[tuple[str, Track]]
    ) -> list[_NationalEstimate]:
        latest: dict[tuple[str, str], Track] = {}
        for nation, track in national_tracks:
            key = (nation, track.track_id)
            if key not in latest or latest[key].time <= track.time:
                latest[key] = track
        estimates = []
        for (nation, track_id), track in sorted(latest.items()):
            if track.status == TrackStatus.DELETED:
                self.table.release(nation, track_id)
                continue
            age_s = (time - track.time).total_seconds()
            if age_s > self.max_track_age_s:
                self.table.release(nation, track_id)
                continue
            try:
                mean, covariance = self._to_common_frame(track)
            except (ValueError, np.linalg.LinAlgError) as error:
                self.rejected.append(f"{nation} {track_id}: {error}")
                continue
            mean, covariance = self._predict(mean, covariance, age_s)
            estimates.append(_NationalEstimate(nation, track, mean, covariance))
        return estimates

    def _to_common_frame(self, track: Track) -> tuple[FloatArray, FloatArray]:
        mean, covariance = padded_state(track)
        if not np.all(np.isfinite(covariance)) or not np.all(np.isfinite(mean)):
            raise ValueError("state or covariance is not finite")
        if np.linalg.eigvalsh((covariance + covariance.T) / 2.0).min() <= 0.0:
            raise ValueError("covariance is not positive definite")
        frame = self.sector_frames.get(track.sector)
        if frame is None:
            frame = LocalFrame(
                track.position.lat_deg, track.position.lon_deg, track.position.height_m
            )
            self.approximated_frames += 1
        rotation = frame.vector_to(self.common_frame)
        both = np.zeros((STATE_SIZE, STATE_SIZE))
        both[:3, :3] = rotation
        both[3:, 3:] = rotation
        common = np.empty(STATE_SIZE)
        # Positions go through WGS-84 exactly; the sector frame's ENU position adds nothing.
        common[:3] = self.common_frame.geodetic_to_enu(
            track.position.lat_deg, track.position.lon_deg, track.position.height_m
        )
        common[3:] = rotation @ mean[3:]
        rotated = both @ covariance @ both.T
        return common, (rotated + rotated.T) / 2.0

    def _predict(
        self, mean: FloatArray, covariance: FloatArray, elapsed_s: float
    ) -> tuple[FloatArray, FloatArray]:
        if elapsed_s == 0.0:
            return mean, covariance
        # The tracker's nearly-constant-velocity model ([p, v] layout, white acceleration).
        motion = ConstantVelocityMotion(noise_intensity=self.acceleration_noise_psd)
        transition = motion.jacobian(mean[None], np.asarray(elapsed_s))
        # Backwards (a track time after the step's) still adds noise: it is uncertainty.
        noise = motion.process_noise(mean[None], np.asarray(abs(elapsed_s)))
        predicted = transition @ covariance @ transition.T + noise
        return transition @ mean, (predicted + predicted.T) / 2.0

    # -- association

    def _keep_consistent_members(
        self, estimates: list[_NationalEstimate]
    ) -> dict[int, list[_NationalEstimate]]:
        """National tracks stay on their alliance track while they agree with its others."""
        groups: dict[int, list[_NationalEstimate]] = {}
        for estimate in estimates:
            number = self.table.number_of(estimate.nation, estimate.track.track_id)
            if number is not None:
                groups.setdefault(number, []).append(estimate)
        for number, members in groups.items():
            # A national track relabelled since it joined may now share no nation with the
            # others: it leaves (and may start or join another alliance track as a newcomer).
            label = NATO
            for member in list(members):
                mine = Label.parse(member.track.releasability)
                if label.compatible(mine):
                    label = label.meet(mine)
                else:
                    members.remove(member)
                    self.table.release(member.nation, member.track.track_id)
            while len(members) > 1:
                distances = []
                for index, member in enumerate(members):
                    others = members[:index] + members[index + 1 :]
                    mean, covariance = intersect_all(
                        [o.mean for o in others], [o.covariance for o in others], self.weight_rule
                    )
                    distances.append(
                        estimates_distance_squared(member.mean, member.covariance, mean, covariance)
                    )
                worst = int(np.argmax(distances))
                if distances[worst] <= self._gate:
                    break
                leaving = members.pop(worst)
                self.table.release(leaving.nation, leaving.track.track_id)
            groups[number] = members
        return groups

    def _associate_newcomers(
        self,
        time: datetime,
        estimates: list[_NationalEstimate],
        groups: dict[int, list[_NationalEstimate]],
    ) -> None:
        newcomers: dict[str, list[_NationalEstimate]] = {}
        for estimate in estimates:
            if self.table.number_of(estimate.nation, estimate.track.track_id) is None:
                newcomers.setdefault(estimate.nation, []).append(estimate)
        for nation in sorted(newcomers):
            candidates = self._candidates(time, groups, nation)
            arrivals = newcomers[nation]
            cost = np.full((len(arrivals), len(candidates)), np.inf)
            for row, estimate in enumerate(arrivals):
                for column, (_, mean, covariance, label) in enumerate(candidates):
                    if combined_releasability([label, estimate.track.releasability]) is None:
                        continue
                    distance = estimates_distance_squared(
                        estimate.mean, estimate.covariance, mean, covariance
                    )
                    if distance <= self._gate:
                        cost[row, column] = distance
            matched: dict[int, int] = {}
            if candidates:
                # Unmatchable pairs get a cost no real pair reaches, then are dropped.
                finite = np.where(np.isfinite(cost), cost, 10.0 * self._gate + 1.0)
                for row, column in zip(*linear_sum_assignment(finite), strict=True):
                    if np.isfinite(cost[row, column]):
                        matched[int(row)] = candidates[int(column)][0]
            for row, estimate in enumerate(arrivals):
                joined = matched.get(row)
                number = self.table.new_number() if joined is None else joined
                self.table.assign(nation, estimate.track.track_id, number)
                groups.setdefault(number, []).append(estimate)

    def _candidates(
        self, time: datetime, groups: dict[int, list[_NationalEstimate]], nation: str
    ) -> list[tuple[int, FloatArray, FloatArray, str]]:
        """Alliance tracks a newcomer of ``nation`` may join: none of that nation's yet."""
        candidates = []
        for number, members in groups.items():
            if not members or any(member.nation == nation for member in members):
                continue
            mean, covariance = intersect_all(
                [m.mean for m in members], [m.covariance for m in members], self.weight_rule
            )
            label = combined_releasability(m.track.releasability for m in members)
            if label is None:
                continue  # cannot happen: members with no common nation are split up
            candidates.append((number, mean, covariance, label))
        for number, state in self._alliance.items():
            if groups.get(number):
                continue
            elapsed = (time - state.time).total_seconds()
            if elapsed > self.coast_s:
                continue
            mean, covariance = self._predict(state.mean, state.covariance, elapsed)
            candidates.append((number, mean, covariance, state.releasability))
        return candidates

    def _merge_duplicates(self, groups: dict[int, list[_NationalEstimate]]) -> None:
        """Alliance tracks with no nation in common that agree become one; the older number
        stays (the younger is forgotten, not coasted)."""
        numbers = sorted(number for number, members in groups.items() if members)
        if len(numbers) < 2:
            return
        fused = {
            number: intersect_all(
                [m.mean for m in groups[number]],
                [m.covariance for m in groups[number]],
                self.weight_rule,
            )
            for number in numbers
        }
        # A cheap necessary condition first: d² ≥ |Δp|² / tr(P_a + P_b) over positions, so
        # pairs farther apart than that bound allows are never solved for.
        positions = np.array([fused[number][0][:3] for number in numbers])
        spreads = np.array([np.trace(fused[number][1][:3, :3]) for number in numbers])
        squared = ((positions[:, None, :] - positions[None, :, :]) ** 2).sum(axis=2)
        near = squared <= self._gate * (spreads[:, None] + spreads[None, :])
        for first_index, first in enumerate(numbers):
            for second_index in range(first_index + 1, len(numbers)):
                second = numbers[second_index]
                if not near[first_index, second_index] or not groups[first] or not groups[second]:
                    continue
                if {m.nation for m in groups[first]} & {m.nation for m in groups[second]}:
                    continue
                labels = [m.track.releasability for m in groups[first] + groups[second]]
                if combined_releasability(labels) is None:
                    continue
                (mean_a, covariance_a), (mean_b, covariance_b) = fused[first], fused[second]
                if (
                    estimates_distance_squared(mean_a, covariance_a, mean_b, covariance_b)
                    > self._gate
                ):
                    continue
                for member in groups[second]:
                    self.table.assign(member.nation, member.track.track_id, first)
                groups[first] = groups[first] + groups[second]
                groups[second] = []
                self._alliance.pop(second, None)
                fused[first] = intersect_all(
                    [m.mean for m in groups[first]],
                    [m.covariance for m in groups[first]],
                    self.weight_rule,
                )

    # -- output

    def _fuse(self, time: datetime, groups: dict[int, list[_NationalEstimate]]) -> list[Track]:
        tracks = []
        for number in sorted(groups):
            members = groups[number]
            if not members:
                continue
            mean, covariance = intersect_all(
                [m.mean for m in members], [m.covariance for m in members], self.weight_rule
            )
            label = combined_releasability(m.track.releasability for m in members)
            if label is None:
                raise AssertionError(f"alliance track {number}: members share no nation")
            self._alliance[number] = _AllianceState(time, mean, covariance, label)
            tracks.append(self._message(number, time, mean, covariance, members, label))
        # Alliance tracks that coasted past their time are forgotten; numbers are not reused.
        for number in [
            number
            for number, state in self._alliance.items()
            if (time - state.time).total_seconds() > self.coast_s
        ]:
            del self._alliance[number]
        return tracks

    def _message(
        self,
        number: int,
        time: datetime,
        mean: FloatArray,
        covariance: FloatArray,
        members: list[_NationalEstimate],
        releasability: str,
    ) -> Track:
        latitude, longitude, height = self.common_frame.enu_to_geodetic(mean[:3])
        confirmed = any(m.track.status == TrackStatus.CONFIRMED for m in members)
        sensors = sorted({f"{m.nation}/{sensor}" for m in members for sensor in m.track.sensors})
        return Track(
            track_id=f"{ALLIANCE_SECTOR}-{number}",
            track_number=number,
            time=time,
            status=TrackStatus.CONFIRMED if confirmed else TrackStatus.TENTATIVE,
            position=GeoPoint(
                lat_deg=float(latitude), lon_deg=float(longitude), height_m=float(height)
            ),
            sector=ALLIANCE_SECTOR,
            enu_position_m=(float(mean[0]), float(mean[1]), float(mean[2])),
            enu_velocity_mps=(float(mean[3]), float(mean[4]), float(mean[5])),
            covariance=tuple(tuple(float(value) for value in row) for row in covariance),
            quality=max(m.track.quality for m in members),
            sensors=tuple(sensors),
            icao24=next((m.track.icao24 for m in members if m.track.icao24), None),
            mmsi=next((m.track.mmsi for m in members if m.track.mmsi), None),
            callsign=next((m.track.callsign for m in members if m.track.callsign), None),
            releasability=releasability,
        )

    def members(self, number: int) -> list[tuple[str, str]]:
        """(nation, national track id) pairs on one alliance track."""
        return self.table.members(number)
