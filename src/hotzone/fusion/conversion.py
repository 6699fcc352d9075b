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

import math
from bisect import bisect_left
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
from hotzone.types.arrays import BoolArray, FloatArray
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
        # ``recent`` is in time order (a plot older than the last is not kept), so the test
        # below is False, then True, along it: the earliest plot at most 0.5 s before is
        # found by bisection, not by a walk through the thousand plots of a busy radar's 4 s.
        first = bisect_left(recent, True, key=lambda item: time_s - item[0] <= 0.5)
        earliest = recent[first] if first < len(recent) else None
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
class _Pending:
    """Checked messages of one (source, model) group, before they are converted together.

    ``conversion`` names what turns them into rows of ``model`` (a `MeasurementKind`,
    ``report`` or ``velocity``); ``rotations`` turn each row's local frame (its sensor's,
    or the ENU frame at the object for reports) into the track frame, ``sites`` are the
    sensors' positions in it."""

    model: MeasurementModel
    conversion: str
    order: list[int] = field(default_factory=list)
    raw: list[FloatArray] = field(default_factory=list)
    covariance: list[FloatArray] = field(default_factory=list)
    rotations: list[FloatArray] = field(default_factory=list)
    sites: list[FloatArray] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    icao24: list[str | None] = field(default_factory=list)
    callsign: list[str | None] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    identity: list[str | None] = field(default_factory=list)

    def add(
        self,
        index: int,
        message: Detection | Report,
        raw: FloatArray,
        covariance: FloatArray,
        rotation: FloatArray,
        site: FloatArray,
        label: int,
        identity: str | None,
    ) -> None:
        self.order.append(index)
        self.raw.append(raw)
        self.covariance.append(covariance)
        self.rotations.append(rotation)
        self.sites.append(site)
        self.times.append(message.time.timestamp())
        self.ids.append(
            message.detection_id if isinstance(message, Detection) else message.report_id
        )
        self.icao24.append(message.icao24)
        self.callsign.append(message.callsign)
        self.labels.append(label)
        self.identity.append(identity)

    def scan(
        self,
        sensor_id: str,
        kept: BoolArray,
        values: FloatArray,
        noise: FloatArray,
        sensor_positions: FloatArray,
        labelled: bool,
    ) -> SensorScan:
        """The ``kept`` rows as a scan (what `MessageConverter._scan` makes of them)."""
        rows = np.flatnonzero(kept)
        icao24 = [self.icao24[row] for row in rows]
        callsign = [self.callsign[row] for row in rows]
        identity = [self.identity[row] for row in rows]
        has_identity = any(
            value is not None for column in (icao24, callsign, identity) for value in column
        )
        return SensorScan(
            sensor_id=sensor_id,
            model=self.model,
            values=values[rows],
            noise=noise[rows],
            times=np.array(self.times)[rows],
            sensor_position=sensor_positions[rows[0]],
            icao24=np.array(icao24, dtype=object) if has_identity else None,
            callsign=np.array(callsign, dtype=object) if has_identity else None,
            measurement_ids=tuple(self.ids[row] for row in rows),
            label_ids=np.array(self.labels, dtype=np.int64)[rows] if labelled else None,
            identity=np.array(identity, dtype=object) if has_identity else None,
        )


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
    _sites: dict[tuple[float, float, float], tuple[FloatArray, FloatArray]] = field(
        default_factory=dict, repr=False
    )

    def convert(self, messages: Iterable[object]) -> tuple[list[SensorScan], list[Rejection]]:
        """The window's messages as scans, one per (source, measurement model) group, and
        the rejected ones with their reasons.

        Each message is checked on its own, then each group is converted with one call on
        its arrays (a Python call per plot cost 45 % of ``hotzone track``): the rows, their
        order, the rejections and their order are those of `convert_each`."""
        pending: dict[tuple[str, str], _Pending] = {}
        rejected: list[tuple[int, Rejection]] = []
        reported: Counter[tuple[str, str]] = Counter()  # as in `convert_each`
        for index, message in enumerate(messages):
            if isinstance(message, Detection):
                source, identifier = message.sensor_id, message.detection_id
                label = self._label_id(message.releasability)
                if label is None:
                    reason = self._conflict(message.releasability)
                else:
                    reason = self._check_detection(message, pending, index, label)
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
                    reason = self._check_report(message, pending, index, repeat, label)
            else:
                continue
            if reason:
                rejected.append(
                    (index, Rejection(source, identifier, message.time.timestamp(), reason))
                )
        converted: list[tuple[int, SensorScan]] = []
        for (sensor_id, _), group in pending.items():
            # A row that overflows is refused below, by itself: no warning for the group.
            with np.errstate(over="ignore", invalid="ignore"):
                values, noise, sensor_positions = self._convert_group(group)
            finite: BoolArray = np.asarray(
                np.isfinite(values).all(axis=1) & np.isfinite(noise).all(axis=(1, 2)),
                dtype=np.bool_,
            )
            for row in np.flatnonzero(~finite):
                rejected.append(
                    (
                        group.order[row],
                        Rejection(
                            sensor_id,
                            group.ids[row],
                            group.times[row],
                            "conversion to the sector frame produced non-finite numbers",
                        ),
                    )
                )
            if finite.any():
                converted.append(
                    (
                        group.order[int(np.argmax(finite))],
                        group.scan(
                            sensor_id,
                            finite,
                            values,
                            noise,
                            sensor_positions,
                            self.labels is not None,
                        ),
                    )
                )
        # The order of `convert_each`: scans by their first converted row, rejections by
        # message.
        converted.sort(key=lambda item: item[0])
        rejected.sort(key=lambda item: item[0])
        return [scan for _, scan in converted], [rejection for _, rejection in rejected]

    def convert_each(self, messages: Iterable[object]) -> tuple[list[SensorScan], list[Rejection]]:
        """`convert` one message at a time: the reference its vectorized groups are tested
        against."""
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

    # ------------------------------------------------------------------ vectorized
    def _site(self, point: GeoPoint) -> tuple[FloatArray, FloatArray]:
        """A sensor's rotation to the track frame and its position in it (cached)."""
        key = (point.lat_deg, point.lon_deg, point.height_m)
        site = self._sites.get(key)
        if site is None:
            site = (self._sensor_frame(point).vector_to(self.frame), self._sensor_position(point))
            self._sites[key] = site
        return site

    def _check_detection(
        self,
        detection: Detection,
        pending: dict[tuple[str, str], _Pending],
        index: int,
        label: int,
    ) -> str:
        """`_add_detection`'s checks; a good detection waits in its group."""
        values = np.asarray(detection.values, dtype=np.float64)
        covariance = np.asarray(detection.covariance, dtype=np.float64)
        kind = detection.kind
        if len(values) not in _EXPECTED_SIZES[kind]:
            return f"{kind} detection needs {_EXPECTED_SIZES[kind]} values, got {len(values)}"
        if not (np.isfinite(values).all() and np.isfinite(covariance).all()):
            return "non-finite value or covariance"
        point = detection.sensor_position
        if not (
            math.isfinite(point.lat_deg)
            and math.isfinite(point.lon_deg)
            and math.isfinite(point.height_m)
        ):
            return "non-finite sensor position"
        rotation, site = self._site(point)
        if kind == MeasurementKind.POLAR:
            if values[0] <= 0:
                return f"polar range must be positive, got {values[0]}"
            self.rotation_clocks.setdefault(detection.sensor_id, RotationClock()).add(
                detection.time.timestamp(), float(values[1])
            )
        model: MeasurementModel
        if kind == MeasurementKind.BEARING:
            model = BearingMeasurement(with_elevation=len(values) == 2)
        elif kind == MeasurementKind.POSITION_2D:
            model = PositionMeasurement(2)
        else:
            model = PositionMeasurement(3)
        key = (detection.sensor_id, f"{kind}:{model.size}")
        group = pending.get(key)
        if group is None:
            group = pending[key] = _Pending(model, str(kind))
        group.add(
            index,
            detection,
            values,
            covariance,
            rotation,
            site,
            label,
            detection_identity(detection),
        )
        return ""

    def _check_report(
        self,
        report: Report,
        pending: dict[tuple[str, str], _Pending],
        index: int,
        repeat: int,
        label: int,
    ) -> str:
        """`_add_report`'s and `_add_velocity`'s checks; a good report waits in its group."""
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
            if report.velocity_enu_mps is None or identity is None:
                return "report gives neither a position nor a velocity of a known object"
            velocity = np.asarray(report.velocity_enu_mps, dtype=np.float64)
            if velocity.shape != (3,) or not np.isfinite(velocity).all():
                return "report velocity must be three finite numbers"
            key = (report.source_id, f"velocity:{report.source}:{repeat}")
            model: MeasurementModel = VelocityMeasurement(3)
            conversion, raw, local = "velocity", velocity, _VELOCITY_VARIANCE
        else:
            key = (report.source_id, f"report:{report.source}:{repeat}")
            model = PositionMeasurement(3)
            conversion, raw = "report", coordinates
            local = np.array([horizontal**2, horizontal**2, max(vertical, 1.0) ** 2])
        group = pending.get(key)
        if group is None:
            group = pending[key] = _Pending(model, conversion)
        rotation = self._rotation_at(point.lat_deg, point.lon_deg)
        group.add(index, report, raw, local, rotation, _ORIGIN, label, identity)
        return ""

    def _convert_group(self, group: _Pending) -> tuple[FloatArray, FloatArray, FloatArray]:
        """A group's (n, m) values, (n, m, m) noise and (n, 3) sensor positions in the
        track frame, each conversion done once on the group's arrays."""
        raw = np.array(group.raw)
        covariance = np.array(group.covariance)
        rotations = np.array(group.rotations)
        turned_t = np.swapaxes(rotations, -1, -2)
        sites = np.array(group.sites)
        conversion = group.conversion
        values: FloatArray
        noise: FloatArray
        if conversion == MeasurementKind.CARTESIAN:
            values = (rotations @ raw[..., None])[..., 0] + sites
            noise = rotations @ covariance @ turned_t
        elif conversion == MeasurementKind.POLAR:
            scale = np.diag([1.0, np.pi / 180, np.pi / 180])
            offsets, polar_noise = convert_polar(
                raw[:, 0], np.radians(raw[:, 1]), np.radians(raw[:, 2]), scale @ covariance @ scale
            )
            values = (rotations @ offsets[..., None])[..., 0] + sites
            noise = rotations @ polar_noise @ turned_t
        elif conversion == MeasurementKind.BEARING:
            values, noise = _bearings(raw, covariance, rotations)
        elif conversion == MeasurementKind.POSITION:
            # The covariance is in the ENU frame at the point (see `_add_detection`).
            values, noise = self.frame.geodetic_to_enu(raw[:, 0], raw[:, 1], raw[:, 2]), covariance
        elif conversion == MeasurementKind.POSITION_2D:
            values = self.frame.geodetic_to_enu(raw[:, 0], raw[:, 1], 0.0)[:, :2]
            noise = covariance
        elif conversion == "report":
            values = self.frame.geodetic_to_enu(raw[:, 0], raw[:, 1], raw[:, 2])
            noise = rotations @ _diagonal(covariance) @ turned_t
            sites = values  # a report group's "sensor position" is its first report's
        else:  # velocity
            values = (rotations @ raw[..., None])[..., 0]
            noise = rotations @ _diagonal(covariance) @ turned_t
        return values, noise, sites

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


_ORIGIN = np.zeros(3)
_VELOCITY_VARIANCE = np.square(REPORT_VELOCITY_SIGMA_MPS)


def _diagonal(variances: FloatArray) -> FloatArray:
    """(n, 3) variances -> (n, 3, 3) diagonal covariances."""
    result = np.zeros((*variances.shape, variances.shape[-1]))
    index = np.arange(variances.shape[-1])
    result[..., index, index] = variances
    return result


def _bearings(
    values: FloatArray, covariance: FloatArray, rotations: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """`MessageConverter._bearing` on (n, 1) or (n, 2) rows."""
    azimuth = np.radians(values[:, 0])
    with_elevation = values.shape[1] == 2
    elevation = np.radians(values[:, 1]) if with_elevation else np.zeros(len(values))
    direction = np.stack(
        [
            np.sin(azimuth) * np.cos(elevation),
            np.cos(azimuth) * np.cos(elevation),
            np.sin(elevation),
        ],
        axis=-1,
    )
    turned = (rotations @ direction[..., None])[..., 0]
    sector_azimuth = np.arctan2(turned[:, 0], turned[:, 1])
    noise = covariance * (np.pi / 180) ** 2
    if not with_elevation:
        return sector_azimuth[:, None], noise
    sector_elevation = np.arctan2(turned[:, 2], np.hypot(turned[:, 0], turned[:, 1]))
    return np.stack([sector_azimuth, sector_elevation], axis=-1), noise


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
