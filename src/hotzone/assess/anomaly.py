"""Anomaly detectors: GNSS interference, dark vessels over infrastructure, transponder
switch-off, position spoofing.

Each detector sees the raw cooperative reports (`observe`) and the current track records
(`detect`) and returns `Anomaly` findings; the stage turns them into alerts and into
reasons on the tracks' assessments.

An anomaly's ``label`` is the meet of the labels of the reports and track records it was
found from (`hotzone.types.labels`); inputs with no nation in common with the others are
left out of a finding rather than combined.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from hotzone.assess.context import InfrastructureSpec
from hotzone.assess.history import TrackRecord
from hotzone.geo import LineFence, LocalFrame
from hotzone.types import GeoPoint, Report, ReportSource
from hotzone.types.arrays import FloatArray
from hotzone.types.labels import NATO, Label


@dataclass(frozen=True)
class Anomaly:
    kind: str
    confidence: float
    summary: str
    reasons: tuple[str, ...] = ()
    track_id: str | None = None
    subject: str | None = None
    position: GeoPoint | None = None
    polygon: tuple[tuple[float, float], ...] = ()
    """(lat_deg, lon_deg) vertices of an area anomaly."""
    label: Label = NATO
    """Who may receive it: the meet of the labels of what it was found from."""


class AnomalyDetector(ABC):
    """Watches reports and tracks for one kind of anomaly."""

    def observe(self, report: Report) -> None:  # noqa: B027 - most detectors need reports
        """Take note of one cooperative report."""

    @abstractmethod
    def detect(self, time_s: float, records: Mapping[str, TrackRecord]) -> list[Anomaly]:
        """The anomalies present at ``time_s``."""


# --------------------------------------------------------------------------- GNSS


@dataclass
class _QualitySample:
    time_s: float
    lat_deg: float
    lon_deg: float
    icao24: str
    degradation: float
    label: Label = NATO


class GnssInterferenceDetector(AnomalyDetector):
    """Locates GNSS interference from ADS-B quality drops of many aircraft.

    An aircraft's degradation is how far its NACp and NIC fall below the best it reported
    (its nominal equipment level). Interference weakens with distance from the jammer, so
    ``degradation = strength * max(0, 1 - distance / radius)`` is fitted (robust least
    squares) to every recent report, degraded or not: the healthy reports bound the area
    as much as the degraded ones locate its centre. The area is the fitted circle.
    """

    def __init__(
        self, window_s: float = 600.0, min_aircraft: int = 2, min_degraded: int = 10
    ) -> None:
        self.window_s = window_s
        self.min_aircraft = min_aircraft
        self.min_degraded = min_degraded
        self._samples: deque[_QualitySample] = deque()
        self._nominal: dict[str, tuple[int, int]] = {}
        self._nominal_labels: dict[str, Label] = {}
        """The meet of the labels of the reports that set each aircraft's nominal level."""
        self._pending: list[Report] = []
        self.refit_every_s = 30.0
        self._last_fit_s = -float("inf")
        self._last: Anomaly | None = None

    def observe(self, report: Report) -> None:
        if report.source != ReportSource.ADSB or report.icao24 is None:
            return
        if report.nacp is None and report.nic is None:
            return
        label = Label.parse(report.releasability)
        nominal_label = self._nominal_labels.get(report.icao24, NATO)
        best_nacp, best_nic = self._nominal.get(report.icao24, (0, 0))
        if not nominal_label.compatible(label):
            # A nominal level no nation may see with this report: start it afresh.
            best_nacp, best_nic, nominal_label = 0, 0, NATO
        nominal = (max(best_nacp, report.nacp or 0), max(best_nic, report.nic or 0))
        if nominal != (best_nacp, best_nic):
            nominal_label = nominal_label.meet(label)
        self._nominal[report.icao24] = nominal
        self._nominal_labels[report.icao24] = nominal_label
        self._pending.append(report)

    def _drain(self) -> None:
        for report in self._pending:
            assert report.icao24 is not None
            label = Label.parse(report.releasability)
            nominal = self._nominal_labels.get(report.icao24, NATO)
            if not label.compatible(nominal):
                continue  # its nominal level was since restarted under another label
            label = label.meet(nominal)
            best_nacp, best_nic = self._nominal[report.icao24]
            drops = []
            if report.nacp is not None and best_nacp > 0:
                drops.append(1.0 - report.nacp / best_nacp)
            if report.nic is not None and best_nic > 0:
                drops.append(1.0 - report.nic / best_nic)
            self._samples.append(
                _QualitySample(
                    report.time.timestamp(),
                    report.position.lat_deg,
                    report.position.lon_deg,
                    report.icao24,
                    float(np.mean(drops)) if drops else 0.0,
                    label,
                )
            )
        self._pending.clear()

    def detect(self, time_s: float, records: Mapping[str, TrackRecord]) -> list[Anomaly]:
        self._drain()
        while self._samples and self._samples[0].time_s < time_s - self.window_s:
            self._samples.popleft()
        # The fit is costly and the area moves slowly: refit every ``refit_every_s``.
        if time_s - self._last_fit_s >= self.refit_every_s:
            self._last = self.locate()
            self._last_fit_s = time_s
        return [] if self._last is None else [self._last]

    def locate(self) -> Anomaly | None:
        # Newest first, samples that share a nation with those taken so far are fitted.
        label = NATO
        samples = []
        for sample in reversed(self._samples):
            if label.compatible(sample.label):
                label = label.meet(sample.label)
                samples.append(sample)
        samples.reverse()
        degraded = [s for s in samples if s.degradation > 0.05]
        aircraft = {s.icao24 for s in degraded}
        if len(degraded) < self.min_degraded or len(aircraft) < self.min_aircraft:
            return None
        lat = np.array([s.lat_deg for s in samples])
        lon = np.array([s.lon_deg for s in samples])
        level = np.array([s.degradation for s in samples])
        weights = np.clip(level, 0.0, None)
        frame = LocalFrame(
            float(np.average(lat, weights=weights + 1e-9)),
            float(np.average(lon, weights=weights + 1e-9)),
            0.0,
        )
        points = np.asarray(frame.geodetic_to_enu(lat, lon, np.zeros_like(lat)))[:, :2]
        centroid = np.average(points[level > 0.05], axis=0, weights=level[level > 0.05])

        def residual(parameters: FloatArray) -> FloatArray:
            east, north, log_radius, strength = parameters
            distance = np.hypot(points[:, 0] - east, points[:, 1] - north)
            predicted = strength * np.clip(1.0 - distance / np.exp(log_radius), 0.0, None)
            return np.asarray(predicted - level, dtype=np.float64)

        best = None
        spread = float(np.std(points[level > 0.05], axis=0).max()) + 10_000.0
        for dx, dy in (
            (0, 0),
            (1, 0),
            (-1, 0),
            (0, 1),
            (0, -1),
            (1, 1),
            (-1, -1),
            (1, -1),
            (-1, 1),
        ):
            start = np.array(
                [
                    centroid[0] + dx * spread,
                    centroid[1] + dy * spread,
                    math.log(50_000.0),
                    max(0.2, float(level.max())),
                ]
            )
            fit = least_squares(
                residual,
                start,
                loss="soft_l1",
                f_scale=0.1,
                bounds=(
                    [-1e6, -1e6, math.log(2_000.0), 0.05],
                    [1e6, 1e6, math.log(400_000.0), 1.0],
                ),
            )
            if best is None or fit.cost < best.cost:
                best = fit
        assert best is not None
        east, north, log_radius, strength = best.x
        radius = float(np.exp(log_radius))
        rms = float(np.sqrt(np.mean(best.fun**2)))
        confidence = float(
            np.clip(
                (1.0 - rms / max(float(level[level > 0.05].mean()), 1e-3))
                * min(1.0, len(aircraft) / 3.0),
                0.05,
                0.99,
            )
        )
        angles = np.linspace(0.0, 2 * np.pi, 25)
        ring = np.stack(
            [east + radius * np.sin(angles), north + radius * np.cos(angles), np.zeros(25)], axis=1
        )
        ring_lat, ring_lon, _ = frame.enu_to_geodetic(ring)
        centre_lat, centre_lon, _ = frame.enu_to_geodetic(np.array([[east, north, 0.0]]))
        centre = GeoPoint(lat_deg=float(centre_lat[0]), lon_deg=float(centre_lon[0]))
        return Anomaly(
            kind="gnss_interference",
            confidence=round(confidence, 3),
            summary=(
                f"GNSS interference, radius {radius / 1000:.0f} km, "
                f"centre {centre.lat_deg:.3f} {centre.lon_deg:.3f}"
            ),
            reasons=(
                f"{len(degraded)} degraded ADS-B reports from {len(aircraft)} aircraft",
                f"peak NACp/NIC drop {strength:.0%} at the centre, fit rms {rms:.2f}",
            ),
            subject="gnss",
            position=centre,
            label=label,
            polygon=tuple(
                (round(float(a), 5), round(float(b), 5))
                for a, b in zip(ring_lat, ring_lon, strict=True)
            ),
        )


# --------------------------------------------------------------------------- AIS


@dataclass
class _VesselState:
    mmsi: int
    last_time_s: float
    position: GeoPoint
    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=20))
    label: Label = NATO
    """The label of the latest report (its position and time)."""


class DarkVesselDetector(AnomalyDetector):
    """AIS gaps beyond a vessel's reporting interval, and dark loitering over infrastructure.

    A vessel is *dark* when its AIS has been silent for ``gap_factor`` times its own
    median reporting interval (at least ``min_gap_s``). A surface track *loiters* over
    infrastructure when it stays within ``corridor_m`` of a cable or pipeline for
    ``loiter_s`` at under ``loiter_speed_mps`` with no live AIS near it: that is alerted.
    Speed is the drift of the track's positions over ``speed_window_s`` pieces
    (`drift_speeds`), not its filtered velocity: a radar-only track of a ship crawling at
    3 kt 25 km from the radar shows velocities of 0.5-9 m/s from one update to the next.
    """

    def __init__(
        self,
        infrastructure: tuple[InfrastructureSpec, ...],
        gap_factor: float = 6.0,
        min_gap_s: float = 120.0,
        corridor_m: float = 1_500.0,
        loiter_s: float = 300.0,
        loiter_speed_mps: float = 2.5,
        surface_height_m: float = 150.0,
        speed_window_s: float = 120.0,
    ) -> None:
        self.fences = [
            (
                spec,
                LineFence.from_vertices(
                    [p[0] for p in spec.points], [p[1] for p in spec.points], spec.name
                ),
            )
            for spec in infrastructure
        ]
        self.gap_factor = gap_factor
        self.min_gap_s = min_gap_s
        self.corridor_m = corridor_m
        self.loiter_s = loiter_s
        self.loiter_speed_mps = loiter_speed_mps
        self.surface_height_m = surface_height_m
        self.speed_window_s = speed_window_s
        self.vessels: dict[int, _VesselState] = {}
        # Each fence's geodesic distance (GeographicLib, one point at a time) to each
        # position judged in the latest `detect`: a loitering track's window is judged
        # again every step with all but its newest positions unchanged, so these are kept
        # for the next call instead of being solved again.
        self._distances_m: list[dict[tuple[float, float], float]] = [{} for _ in self.fences]

    def observe(self, report: Report) -> None:
        if report.source != ReportSource.AIS or report.mmsi is None:
            return
        time_s = report.time.timestamp()
        label = Label.parse(report.releasability)
        state = self.vessels.get(report.mmsi)
        if state is None:
            self.vessels[report.mmsi] = _VesselState(
                report.mmsi, time_s, report.position, label=label
            )
            return
        if time_s > state.last_time_s:
            state.intervals.append(time_s - state.last_time_s)
            state.last_time_s = time_s
            state.position = report.position
            state.label = label

    def dark_vessels(self, time_s: float) -> list[_VesselState]:
        dark = []
        for state in self.vessels.values():
            interval = float(np.median(state.intervals)) if state.intervals else 10.0
            if time_s - state.last_time_s > max(self.min_gap_s, self.gap_factor * interval):
                dark.append(state)
        return dark

    def _live_ais_near(self, time_s: float, lat: float, lon: float) -> bool:
        frame = LocalFrame(lat, lon, 0.0)
        for state in self.vessels.values():
            if time_s - state.last_time_s > self.min_gap_s:
                continue
            east, north, _ = np.asarray(
                frame.geodetic_to_enu(state.position.lat_deg, state.position.lon_deg, 0.0)
            ).reshape(-1)
            if math.hypot(east, north) < 1_000.0:
                return True
        return False

    def detect(self, time_s: float, records: Mapping[str, TrackRecord]) -> list[Anomaly]:
        found: list[Anomaly] = []
        dark = self.dark_vessels(time_s)
        known, self._distances_m = self._distances_m, [{} for _ in self.fences]
        for record in records.values():
            if record.samples < 3 or record.latest is None:
                continue
            # The window judged below is the newest states of the record's: one that
            # spans too short a time or whose newest state is above the surface fails
            # its tests, found here without building the array.
            first, newest = record.states[0], record.states[-1]
            if newest[0] - first[0] < self.loiter_s * 0.9 or abs(newest[7]) > self.surface_height_m:
                continue
            states = np.array(record.states)
            recent = states[states[:, 0] >= time_s - self.loiter_s - 30.0]
            if len(recent) < 3 or recent[-1, 0] - recent[0, 0] < self.loiter_s * 0.9:
                continue
            if float(np.max(np.abs(recent[:, 7]))) > self.surface_height_m:
                continue
            frame = LocalFrame(float(recent[-1, 8]), float(recent[-1, 9]), 0.0)
            plane = np.asarray(frame.geodetic_to_enu(recent[:, 8], recent[:, 9], 0.0))[:, :2]
            speed = drift_speeds(recent[:, 0], plane, self.speed_window_s)
            if float(np.median(speed)) > self.loiter_speed_mps:
                continue
            for index, (spec, fence) in enumerate(self.fences):
                distance = self._distance_m(fence, known[index], index, recent[:, 8], recent[:, 9])
                if float(np.max(distance)) > self.corridor_m:
                    continue
                latest = record.latest.position
                if record.mmsi is not None or self._live_ais_near(
                    time_s, latest.lat_deg, latest.lon_deg
                ):
                    continue
                reasons = [
                    f"within {float(np.max(distance)):.0f} m of {spec.kind.replace('_', ' ')} "
                    f"{spec.name} for {recent[-1, 0] - recent[0, 0]:.0f} s",
                    f"median speed {float(np.median(speed)):.1f} m/s (loitering)",
                    "no AIS from this position",
                ]
                label = record.label()
                compatible = [state for state in dark if state.label.compatible(label)]
                nearest = self._nearest_dark(compatible, latest)
                if nearest is not None:
                    label = label.meet(nearest.label)
                    reasons.append(
                        f"AIS of MMSI {nearest.mmsi} went silent "
                        f"{time_s - nearest.last_time_s:.0f} s ago nearby"
                    )
                found.append(
                    Anomaly(
                        kind="dark_loitering",
                        confidence=0.9 if nearest is not None else 0.7,
                        summary=f"dark vessel loitering over {spec.name}",
                        reasons=tuple(reasons),
                        track_id=record.track_id,
                        subject=spec.name,
                        position=latest,
                        label=label,
                    )
                )
                break
        return found

    def _distance_m(
        self,
        fence: LineFence,
        known: dict[tuple[float, float], float],
        index: int,
        lat_deg: FloatArray,
        lon_deg: FloatArray,
    ) -> FloatArray:
        """``fence.distance_m`` of the positions, solving only those not ``known`` (a
        position's distance does not depend on the others'); all of them are kept for
        the next `detect`."""
        positions = list(zip(lat_deg.tolist(), lon_deg.tolist(), strict=True))
        new = [i for i, position in enumerate(positions) if position not in known]
        if new:
            solved = fence.distance_m(lat_deg[new], lon_deg[new])
            known.update(zip((positions[i] for i in new), solved.tolist(), strict=True))
        kept = self._distances_m[index]
        distances = np.empty(len(positions))
        for i, position in enumerate(positions):
            distances[i] = kept[position] = known[position]
        return distances

    def _nearest_dark(self, dark: list[_VesselState], position: GeoPoint) -> _VesselState | None:
        frame = LocalFrame(position.lat_deg, position.lon_deg, 0.0)
        best, best_distance = None, 20_000.0
        for state in dark:
            east, north, _ = np.asarray(
                frame.geodetic_to_enu(state.position.lat_deg, state.position.lon_deg, 0.0)
            ).reshape(-1)
            if math.hypot(east, north) < best_distance:
                best, best_distance = state, math.hypot(east, north)
        return best


def drift_speeds(times_s: FloatArray, positions_m: FloatArray, window_s: float) -> FloatArray:
    """Speed (m/s) of a straight-line fit to the positions in each ``window_s`` piece.

    A least-squares slope over a piece averages the position noise of all its updates,
    so a slow vessel reads slow even when each filtered velocity is noisy. Pieces with
    fewer than three updates are skipped; with none left, the whole span is one piece.
    """
    pieces = np.floor((times_s - times_s[0]) / window_s).astype(np.int64)
    speeds = []
    for piece in np.unique(pieces):
        inside = pieces == piece
        if int(inside.sum()) < 3 or np.ptp(times_s[inside]) <= 0.0:
            continue
        slope = np.polyfit(times_s[inside] - times_s[inside][0], positions_m[inside], 1)[0]
        speeds.append(float(np.hypot(slope[0], slope[1])))
    if not speeds:
        slope = np.polyfit(times_s - times_s[0], positions_m, 1)[0]
        speeds.append(float(np.hypot(slope[0], slope[1])))
    return np.array(speeds, dtype=np.float64)


# --------------------------------------------------------------------------- transponder


class TransponderLossDetector(AnomalyDetector):
    """An aircraft's ADS-B falls silent while its track flies on (seen by radar)."""

    def __init__(self, silence_s: float = 45.0, min_speed_mps: float = 20.0) -> None:
        self.silence_s = silence_s
        self.min_speed_mps = min_speed_mps
        self.last_heard: dict[str, float] = {}
        self.heard_labels: dict[str, Label] = {}
        """The label of the report that set ``last_heard``."""

    def observe(self, report: Report) -> None:
        if report.source == ReportSource.ADSB and report.icao24 is not None:
            time_s = report.time.timestamp()
            if time_s >= self.last_heard.get(report.icao24, time_s):
                self.last_heard[report.icao24] = time_s
                self.heard_labels[report.icao24] = Label.parse(report.releasability)

    def detect(self, time_s: float, records: Mapping[str, TrackRecord]) -> list[Anomaly]:
        found = []
        for record in records.values():
            track = record.latest
            if track is None or record.icao24 is None or record.icao24 not in self.last_heard:
                continue
            label = record.label()
            heard = self.heard_labels.get(record.icao24, NATO)
            if not label.compatible(heard):
                continue  # the silence is known only under a label the track cannot share
            label = label.meet(heard)
            silent = track.time.timestamp() - self.last_heard[record.icao24]
            speed = math.hypot(*track.enu_velocity_mps[:2])
            if (
                silent > self.silence_s
                and speed > self.min_speed_mps
                and track.time.timestamp() >= time_s - 10.0
            ):
                found.append(
                    Anomaly(
                        kind="transponder_off",
                        confidence=float(min(0.95, 0.5 + silent / 300.0)),
                        summary=f"ADS-B of {record.icao24} silent for {silent:.0f} s in flight",
                        reasons=(
                            f"last ADS-B from {record.icao24} {silent:.0f} s ago",
                            f"track still updated at {speed:.0f} m/s by other sensors",
                        ),
                        track_id=record.track_id,
                        subject=record.icao24,
                        position=track.position,
                        label=label,
                    )
                )
        return found


# --------------------------------------------------------------------------- spoofing


class PositionSpoofingDetector(AnomalyDetector):
    """A cooperative position far from the radar track of the same aircraft.

    Only reports that claim good integrity (NACp >= ``min_nacp``) count: a degraded
    NACp already says the position is poor (jamming), which is not spoofing.
    """

    def __init__(
        self,
        min_nacp: int = 7,
        gate_sigma: float = 5.0,
        min_offset_m: float = 1_500.0,
        min_reports: int = 3,
    ) -> None:
        self.min_nacp = min_nacp
        self.gate_sigma = gate_sigma
        self.min_offset_m = min_offset_m
        self.min_reports = min_reports
        self._reports: dict[str, deque[Report]] = {}

    def observe(self, report: Report) -> None:
        if report.source != ReportSource.ADSB or report.icao24 is None:
            return
        if report.nacp is None or report.nacp < self.min_nacp:
            return
        self._reports.setdefault(report.icao24, deque(maxlen=10)).append(report)

    def detect(self, time_s: float, records: Mapping[str, TrackRecord]) -> list[Anomaly]:
        found = []
        for record in records.values():
            track = record.latest
            if track is None or record.icao24 is None:
                continue
            label = record.label()
            reports = []
            for report in self._reports.get(record.icao24, ()):
                if abs(report.time.timestamp() - track.time.timestamp()) >= 15.0:
                    continue
                report_label = Label.parse(report.releasability)
                if label.compatible(report_label):
                    label = label.meet(report_label)
                    reports.append(report)
            if len(reports) < self.min_reports:
                continue
            frame = LocalFrame(
                track.position.lat_deg, track.position.lon_deg, track.position.height_m
            )
            offsets = []
            for report in reports:
                dt = report.time.timestamp() - track.time.timestamp()
                east, north, _ = np.asarray(
                    frame.geodetic_to_enu(
                        report.position.lat_deg, report.position.lon_deg, report.position.height_m
                    )
                ).reshape(-1)
                offsets.append(
                    math.hypot(
                        east - track.enu_velocity_mps[0] * dt,
                        north - track.enu_velocity_mps[1] * dt,
                    )
                )
            track_sigma = (
                math.sqrt(max(track.covariance[0][0] + track.covariance[1][1], 0.0))
                if track.covariance
                else 0.0
            )
            gate = max(
                self.min_offset_m,
                self.gate_sigma * math.hypot(track_sigma, reports[-1].horizontal_sigma_m),
            )
            offset = float(np.median(offsets))
            if offset > gate:
                found.append(
                    Anomaly(
                        kind="position_spoofing",
                        confidence=float(min(0.95, 0.5 + (offset - gate) / (4 * gate))),
                        summary=(
                            f"ADS-B position of {record.icao24} {offset / 1000:.1f} km "
                            "from its radar track"
                        ),
                        reasons=(
                            f"median offset {offset:.0f} m over {len(reports)} reports, "
                            f"gate {gate:.0f} m",
                            f"reports claim NACp >= {self.min_nacp} (good integrity)",
                        ),
                        track_id=record.track_id,
                        subject=record.icao24,
                        position=track.position,
                        label=label,
                    )
                )
        return found
