"""From messages to arrays: Detections and Reports become `SensorScan`s in a sector frame.

Every measurement kind is brought into the sector's East-North-Up frame here, once, so
the tracker only knows measurement models: positions (cartesian, polar radar plots
converted with debiasing, WGS-84 positions, cooperative reports) and bearings (passive
sensors, re-expressed as directions in the sector frame). Anything malformed becomes a
`Rejection` with the reason instead of an exception.

Identity: every row carries the object's cooperative identity where its message names
one (`reported_identity`): ``icao:`` the ICAO 24-bit address (ADS-B, Mode S radar plots,
CAT062), ``mmsi:`` the MMSI (AIS), ``uid:`` the source's object id (CoT uid, CAT062
system track, SAPIENT object id). The tracker keeps one track per identity.

A report whose ``horizontal_sigma_m`` is `UNKNOWN_POSITION_SIGMA_M` or more says its
position is not known (a velocity-only ADS-B message: SBS ``MSG,4``); with a velocity it
becomes a `VelocityMeasurement` row of its identity, without one it is refused.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from hotzone.fusion.measurement import (
    BearingMeasurement,
    MeasurementModel,
    PositionMeasurement,
    VelocityMeasurement,
    convert_polar,
)
from hotzone.fusion.scan import SensorScan
from hotzone.fusion.tracker import Rejection
from hotzone.geo import LocalFrame
from hotzone.types import Detection, GeoPoint, MeasurementKind, Report
from hotzone.types.arrays import FloatArray
from hotzone.types.labels import LabelConflict, LabelTable

_EXPECTED_SIZES: dict[MeasurementKind, tuple[int, ...]] = {
    MeasurementKind.CARTESIAN: (3,),
    MeasurementKind.POLAR: (3,),
    MeasurementKind.BEARING: (1, 2),
    MeasurementKind.POSITION: (3,),
    MeasurementKind.POSITION_2D: (2,),
}

DEFAULT_REPORT_VERTICAL_SIGMA_M = 50.0
"""Cooperative reports without a vertical accuracy: barometric altitude, about ±50 m."""
UNKNOWN_POSITION_SIGMA_M = 1_000_000.0
"""A report this uncertain (1,000 km) about its position gives none (ingest writes it for
velocity-only messages, e.g. ``hotzone.ingest.sbs`` for ``MSG,4``)."""
REPORT_VELOCITY_SIGMA_MPS = (5.0, 5.0, 2.5)
"""Per-axis sigma of a cooperative velocity (ADS-B NACv 1 is 10 m/s horizontal, 95 %)."""


@dataclass
class RotationClock:
    """A rotating radar's period, measured from its plots: the beam sweeps azimuth at
    360° per rotation, so two plots a moment apart differ in azimuth by 360° x their
    time difference / period.

    A busy radar pairs each plot with the earliest plot 0.25-0.5 s before it (long enough
    for the azimuth noise to matter little, short enough to stay within half a turn of a
    1 s gap filler). A quiet one, with too few such pairs, pairs each plot with the one
    before it when that is at most 4 s and 120° away. Pairs of targets agree on the
    period, pairs with clutter scatter: the period is the median of the most populated
    10 % band of recent pairs' periods. With fewer than ``min_pairs`` pairs a radar has no
    period."""

    min_pairs: int = 16
    samples: int = 256
    _recent: deque[tuple[float, float]] = field(default_factory=deque)
    _busy: deque[float] = field(default_factory=deque)
    _quiet: deque[float] = field(default_factory=deque)

    def add(self, time_s: float, azimuth_deg: float) -> None:
        recent = self._recent
        if recent and 0.02 < time_s - recent[-1][0] <= 4.0:
            swept = _swept(azimuth_deg, recent[-1][1])
            if 0.5 < swept <= 120.0:
                self._keep(self._quiet, 360.0 * (time_s - recent[-1][0]) / swept)
        while recent and recent[0][0] < time_s - 4.0:
            recent.popleft()
        earliest = next((item for item in recent if time_s - item[0] <= 0.5), None)
        if earliest is not None and time_s - earliest[0] >= 0.25:
            swept = _swept(azimuth_deg, earliest[1])
            if swept > 0.5:
                self._keep(self._busy, 360.0 * (time_s - earliest[0]) / swept)
        if not recent or time_s >= recent[-1][0]:
            recent.append((time_s, azimuth_deg))

    def _keep(self, periods: deque[float], period: float) -> None:
        periods.append(period)
        if len(periods) > self.samples:
            periods.popleft()

    @property
    def period_s(self) -> float | None:
        for periods in (self._busy, self._quiet):
            if len(periods) >= self.min_pairs:
                return _densest(np.array(periods))
        return None


def _densest(values: FloatArray, width: float = 0.1) -> float:
    """The median of the most populated band of relative ``width`` among ``values``:
    pairs of plots of targets agree on the period, pairs with clutter scatter widely."""
    logs = np.sort(np.log(values[values > 0]))
    ends = np.searchsorted(logs, logs + width, side="right")
    start = int(np.argmax(ends - np.arange(len(logs))))
    return float(np.exp(np.median(logs[start : ends[start]])))


def _swept(azimuth_deg: float, earlier_deg: float) -> float:
    """The angle between two azimuths, either way round (degrees, 0-180)."""
    return abs((azimuth_deg - earlier_deg + 180.0) % 360.0 - 180.0)


@dataclass
class _Rows:
    """Converted rows of one (source, model) group before they become arrays."""

    model: MeasurementModel
    sensor_position: FloatArray
    values: list[FloatArray] = field(default_factory=list)
    noise: list[FloatArray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    icao24: list[str | None] = field(default_factory=list)
    callsign: list[str | None] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    identity: list[str | None] = field(default_factory=list)


@dataclass
class MessageConverter:
    """Turns decoded Detection and Report messages into scans in ``frame``.

    With a `LabelTable`, each row carries the id of its message's label met with
    ``ceiling`` (the stage's own label): what the tracker derives from it can be labelled
    without parsing text again. A message whose label shares no nation with ``ceiling``
    is refused (no one may receive a track built from it here).
    """

    frame: LocalFrame
    labels: LabelTable | None = None
    ceiling: str = "NATO"
    _label_ids: dict[str, int | None] = field(default_factory=dict, repr=False)
    _sensor_frames: dict[tuple[float, float, float], LocalFrame] = field(
        default_factory=dict, repr=False
    )
    _rotations: dict[tuple[float, float], FloatArray] = field(default_factory=dict, repr=False)
    rotation_clocks: dict[str, RotationClock] = field(default_factory=dict, repr=False)
    """Per sensor of polar plots, its measured rotation (`RotationClock`)."""

    def convert(self, messages: Iterable[object]) -> tuple[list[SensorScan], list[Rejection]]:
        groups: dict[tuple[str, str], _Rows] = {}
        rejections: list[Rejection] = []
        # How often each source has reported each object in this window: a source never
        # reports one object twice in one scan, so its second report of an object (an
        # ADS-B or CAT062 feed faster than the window) opens the source's next scan,
        # instead of meeting the first in one assignment and starting a second track.
        reported: Counter[tuple[str, str]] = Counter()
        for message in messages:
            if isinstance(message, Detection):
                source, identifier = message.sensor_id, message.detection_id
                label = self._label_id(message.releasability)
                if label is None:
                    reason = self._conflict(message.releasability)
                else:
                    reason = self._add_detection(message, groups, label)
            elif isinstance(message, Report):
                source, identifier = message.source_id, message.report_id
                label = self._label_id(message.releasability)
                reported_object = _reported_object(message)
                repeat = 0
                if label is None:
                    reason = self._conflict(message.releasability)
                else:
                    if reported_object is not None:
                        repeat = reported[(message.source_id, reported_object)]
                        reported[(message.source_id, reported_object)] += 1
                    reason = self._add_report(message, groups, repeat, label)
            else:
                continue  # events and other messages carry no kinematics
            if reason:
                rejections.append(Rejection(source, identifier, message.time.timestamp(), reason))
        return [self._scan(key[0], rows) for key, rows in groups.items()], rejections

    # ------------------------------------------------------------------ labels
    def _label_id(self, text: str) -> int | None:
        """The row label id of a message label (met with the ceiling); None: no common
        nation. -1 without a table."""
        if self.labels is None:
            return -1
        if text in self._label_ids:
            return self._label_ids[text]
        table = self.labels
        try:
            found: int | None = table.meet(table.intern(self.ceiling), table.intern(text))
        except LabelConflict:
            found = None
        self._label_ids[text] = found
        return found

    def _conflict(self, text: str) -> str:
        return (
            f"label {text!r} shares no nation with this stage's label {self.ceiling!r}: "
            "no one may receive a track built from it"
        )

    # ------------------------------------------------------------------ detections
    def _sensor_frame(self, point: GeoPoint) -> LocalFrame:
        key = (point.lat_deg, point.lon_deg, point.height_m)
        frame = self._sensor_frames.get(key)
        if frame is None:
            frame = LocalFrame(*key)
            self._sensor_frames[key] = frame
        return frame

    def _rotation_at(self, lat_deg: float, lon_deg: float) -> FloatArray:
        """ENU vectors at a point -> the track frame (per 0.1°: a tenth of a degree off)."""
        key = (round(lat_deg, 1), round(lon_deg, 1))
        rotation = self._rotations.get(key)
        if rotation is None:
            rotation = LocalFrame(key[0], key[1]).vector_to(self.frame)
            self._rotations[key] = rotation
        return rotation

    def _sensor_position(self, point: GeoPoint) -> FloatArray:
        position: FloatArray = self.frame.geodetic_to_enu(
            point.lat_deg, point.lon_deg, point.height_m
        )
        return position

    def _add_detection(
        self, detection: Detection, groups: dict[tuple[str, str], _Rows], label: int = -1
    ) -> str:
        values = np.asarray(detection.values, dtype=np.float64)
        covariance = np.asarray(detection.covariance, dtype=np.float64)
        kind = detection.kind
        if len(values) not in _EXPECTED_SIZES[kind]:
            return f"{kind} detection needs {_EXPECTED_SIZES[kind]} values, got {len(values)}"
        if not (np.isfinite(values).all() and np.isfinite(covariance).all()):
            return "non-finite value or covariance"
        if not np.isfinite(
            [
                detection.sensor_position.lat_deg,
                detection.sensor_position.lon_deg,
                detection.sensor_position.height_m,
            ]
        ).all():
            return "non-finite sensor position"
        sensor_frame = self._sensor_frame(detection.sensor_position)
        rotation = sensor_frame.vector_to(self.frame)
        sensor_position = self._sensor_position(detection.sensor_position)
        model: MeasurementModel
        if kind == MeasurementKind.CARTESIAN:
            model = PositionMeasurement(3)
            value = rotation @ values + sensor_position
            noise = rotation @ covariance @ rotation.T
        elif kind == MeasurementKind.POLAR:
            if values[0] <= 0:
                return f"polar range must be positive, got {values[0]}"
            self.rotation_clocks.setdefault(detection.sensor_id, RotationClock()).add(
                detection.time.timestamp(), float(values[1])
            )
            scale = np.diag([1.0, np.pi / 180, np.pi / 180])
            offsets, polar_noise = convert_polar(
                values[None, 0],
                np.radians(values[None, 1]),
                np.radians(values[None, 2]),
                (scale @ covariance @ scale)[None],
            )
            model = PositionMeasurement(3)
            value = rotation @ offsets[0] + sensor_position
            noise = rotation @ polar_noise[0] @ rotation.T
        elif kind == MeasurementKind.BEARING:
            value, noise = self._bearing(values, covariance, rotation)
            model = BearingMeasurement(with_elevation=len(values) == 2)
        elif kind == MeasurementKind.POSITION:
            model = PositionMeasurement(3)
            value = self.frame.geodetic_to_enu(values[0], values[1], values[2])
            # The covariance is in the ENU frame at the point; across one sector the
            # rotation to the sector frame is a degree or two, negligible for a covariance.
            noise = covariance
        else:
            model = PositionMeasurement(2)
            value = self.frame.geodetic_to_enu(values[0], values[1], 0.0)[:2]
            noise = covariance
        if not (np.isfinite(value).all() and np.isfinite(noise).all()):
            return "conversion to the sector frame produced non-finite numbers"
        rows = groups.setdefault(
            (detection.sensor_id, f"{kind}:{model.size}"), _Rows(model, sensor_position)
        )
        rows.values.append(np.asarray(value, dtype=np.float64))
        rows.noise.append(np.asarray(noise, dtype=np.float64))
        rows.times.append(detection.time.timestamp())
        rows.ids.append(detection.detection_id)
        rows.icao24.append(detection.icao24)
        rows.callsign.append(detection.callsign)
        rows.labels.append(label)
        rows.identity.append(detection_identity(detection))
        return ""

    @staticmethod
    def _bearing(
        values: FloatArray, covariance: FloatArray, rotation: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Azimuth (and elevation) re-expressed in the sector frame, in radians."""
        azimuth = np.radians(values[0])
        elevation = np.radians(values[1]) if len(values) == 2 else 0.0
        direction = np.array(
            [
                np.sin(azimuth) * np.cos(elevation),
                np.cos(azimuth) * np.cos(elevation),
                np.sin(elevation),
            ]
        )
        turned = rotation @ direction
        sector_azimuth = np.arctan2(turned[0], turned[1])
        noise = covariance * (np.pi / 180) ** 2
        if len(values) == 1:
            return np.array([sector_azimuth]), noise
        sector_elevation = np.arctan2(turned[2], np.hypot(turned[0], turned[1]))
        return np.array([sector_azimuth, sector_elevation]), noise

    # ------------------------------------------------------------------ reports
    def _add_report(
        self,
        report: Report,
        groups: dict[tuple[str, str], _Rows],
        repeat: int = 0,
        label: int = -1,
    ) -> str:
        point = report.position
        coordinates = np.array([point.lat_deg, point.lon_deg, point.height_m])
        if not np.isfinite(coordinates).all():
            return "non-finite report position"
        horizontal = report.horizontal_sigma_m
        vertical = report.vertical_sigma_m or DEFAULT_REPORT_VERTICAL_SIGMA_M
        if not (np.isfinite(horizontal) and horizontal > 0 and np.isfinite(vertical)):
            return f"report accuracy must be positive and finite, got {horizontal} m"
        identity = reported_identity(report)
        if horizontal >= UNKNOWN_POSITION_SIGMA_M:
            return self._add_velocity(report, groups, repeat, label, identity)
        value = self.frame.geodetic_to_enu(*coordinates)
        # The accuracy is given in the ENU frame at the object: turned into the track
        # frame, whose "up" leans away from the object's by a degree per 111 km.
        rotation = self._rotation_at(point.lat_deg, point.lon_deg)
        local_noise = np.diag([horizontal**2, horizontal**2, max(vertical, 1.0) ** 2])
        noise = rotation @ local_noise @ rotation.T
        rows = groups.setdefault(
            (report.source_id, f"report:{report.source}:{repeat}"),
            _Rows(PositionMeasurement(3), np.asarray(value, dtype=np.float64)),
        )
        rows.values.append(np.asarray(value, dtype=np.float64))
        rows.noise.append(noise)
        rows.times.append(report.time.timestamp())
        rows.ids.append(report.report_id)
        rows.icao24.append(report.icao24)
        rows.callsign.append(report.callsign)
        rows.labels.append(label)
        rows.identity.append(identity)
        return ""

    def _add_velocity(
        self,
        report: Report,
        groups: dict[tuple[str, str], _Rows],
        repeat: int,
        label: int,
        identity: str | None,
    ) -> str:
        """A report with no position: its velocity updates the track of its identity."""
        if report.velocity_enu_mps is None or identity is None:
            return "report gives neither a position nor a velocity of a known object"
        velocity = np.asarray(report.velocity_enu_mps, dtype=np.float64)
        if velocity.shape != (3,) or not np.isfinite(velocity).all():
            return "report velocity must be three finite numbers"
        # The report's velocity is in the ENU frame at the object (its last position is
        # near enough): turned into the track frame.
        rotation = self._rotation_at(report.position.lat_deg, report.position.lon_deg)
        rows = groups.setdefault(
            (report.source_id, f"velocity:{report.source}:{repeat}"),
            _Rows(VelocityMeasurement(3), np.zeros(3)),
        )
        rows.values.append(rotation @ velocity)
        local_noise = np.diag(np.square(REPORT_VELOCITY_SIGMA_MPS))
        rows.noise.append(rotation @ local_noise @ rotation.T)
        rows.times.append(report.time.timestamp())
        rows.ids.append(report.report_id)
        rows.icao24.append(report.icao24)
        rows.callsign.append(report.callsign)
        rows.labels.append(label)
        rows.identity.append(identity)
        return ""

    def _scan(self, sensor_id: str, rows: _Rows) -> SensorScan:
        has_identity = (
            any(value is not None for value in rows.icao24)
            or any(value is not None for value in rows.callsign)
            or any(value is not None for value in rows.identity)
        )
        return SensorScan(
            sensor_id=sensor_id,
            model=rows.model,
            values=np.array(rows.values),
            noise=np.array(rows.noise),
            times=np.array(rows.times),
            sensor_position=rows.sensor_position,
            icao24=np.array(rows.icao24, dtype=object) if has_identity else None,
            callsign=np.array(rows.callsign, dtype=object) if has_identity else None,
            measurement_ids=tuple(rows.ids),
            label_ids=None if self.labels is None else np.array(rows.labels, dtype=np.int64),
            identity=np.array(rows.identity, dtype=object) if has_identity else None,
        )


def reported_identity(report: Report) -> str | None:
    """The object's cooperative identity: ICAO address, else MMSI, else the source's uid.

    An AIS report's uid is the vessel's radio call sign, and its MMSI comes first."""
    if report.icao24:
        return f"icao:{report.icao24.lower()}"
    if report.mmsi is not None:
        return f"mmsi:{report.mmsi}"
    if report.uid:
        return f"uid:{report.uid}"
    return None


def detection_identity(detection: Detection) -> str | None:
    """A plot's identity: its Mode S address, or the SAPIENT object id it reports
    (``hotzone.ingest.sapient`` names its detections ``sapient:{object}:{report}``)."""
    if detection.icao24:
        return f"icao:{detection.icao24.lower()}"
    kind, _, rest = detection.detection_id.partition(":")
    object_id, separator, _ = rest.rpartition(":")
    if kind == "sapient" and separator and object_id:
        return f"uid:sapient/{detection.sensor_id}/{object_id}"
    return None


def _reported_object(report: Report) -> str | None:
    """The object a report is about, as its source names it, where it does."""
    if report.uid:
        return f"uid:{report.uid}"
    if report.icao24:
        return f"icao:{report.icao24}"
    if report.mmsi is not None:
        return f"mmsi:{report.mmsi}"
    if report.callsign:
        return f"callsign:{report.callsign}"
    return None


def group_by_source(messages: Iterable[object]) -> dict[str, list[object]]:
    """Messages keyed by sensor or source id (for callers that batch per sensor)."""
    grouped: dict[str, list[object]] = defaultdict(list)
    for message in messages:
        source = getattr(message, "sensor_id", None) or getattr(message, "source_id", "")
        grouped[str(source)].append(message)
    return grouped
