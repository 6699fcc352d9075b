"""STANAG 4607 (AEDP-4607) GMTI packets -> ground-mover `Detection`s.

Framing and segment decoding are done by ``stanag4607`` (MIT, pure Python); this module
places each target report. Layout (big-endian; edition 4 / AEDP-4607 ed. A v1)::

    packet header (32 bytes)                 segment header (5 bytes)
      P1  version id       2 ASCII digits       S1 segment type  1 (1 mission, 2 dwell,
      P2  packet size      uint32 (bytes)                          3 HRR, 5 job def., ...)
      P3  nationality      2 chars              S2 segment size  uint32 (with header)
      P4-P7 security, exercise indicator
      P8  platform id      10 chars          mission segment (type 1)
      P9  mission id       uint32              M1-M4 plans, platform type/config
      P10 job id           uint32              M5-M7 reference date (year, month, day)

    dwell segment (type 2)
      D1  existence mask   8 bytes: which optional fields below are present
      D2, D3 revisit / dwell index   D5 target report count   D6 dwell time, ms since
      midnight of the mission reference date   D7-D9 sensor lat (SA32), lon (BA32),
      altitude (cm)   D10-D11 scale factors   D24-D27 dwell area ...
      D32 target reports, each with the fields the mask selects:
        D32.1 report index  D32.2/3 high-resolution lat/lon (SA32/BA32) or D32.4/5 deltas
        from the dwell centre scaled by D10/D11   D32.6 geodetic height (m)
        D32.7 line-of-sight velocity (cm/s)   D32.9 SNR (dB)   D32.10 classification
        D32.11 classification probability (%)   D32.12 slant-range uncertainty (cm)
        D32.13 cross-range uncertainty (dm)   D32.14 height uncertainty (m)
        D32.18 RCS (half dB)

Each target report becomes one `Detection`: kind ``position`` (lat, lon, height) when
D32.6 is present, else ``position_2d``; the covariance (local ENU metres²) has the
slant-range sigma (projected onto the ground with the sensor's height) along the bearing
from the sensor and the cross-range sigma across it; ``doppler_mps`` is D32.7 (positive
away from the sensor); the time is the dwell time on the mission's reference date (the
UTC day nearest the reception time when no mission segment was seen). Packets without
dwell targets produce nothing. A packet that cannot be decoded is refused whole; the
stream has no sync word, so after a broken header the decoder looks for the next
plausible header (two version digits and a sane size) and refuses the bytes skipped.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
from stanag4607 import (
    PACKET_HEADER_SIZE,
    DecodeError,
    DwellSegment,
    MissionSegment,
    TargetReport,
    decode_packet,
    decode_typed_segment,
)

from hotzone.geo.frames import LocalFrame
from hotzone.ingest.base import Decoder, DecodeResult, DecoderOptions, IngestError, Rejected
from hotzone.types import AnyMessage, Detection, GeoPoint, MeasurementKind, TargetClass

MAX_PACKET_BYTES = 65_535
DEFAULT_SIGMA_M = 50.0  # when the report carries no location uncertainty
DEFAULT_HEIGHT_SIGMA_M = 30.0
# D32.10 target classification (live targets; 128 + n is the simulated twin of n).
CLASSIFICATION_CLASSES: dict[int, TargetClass] = {
    1: TargetClass.GROUND_VEHICLE,  # tracked vehicle
    2: TargetClass.GROUND_VEHICLE,  # wheeled vehicle
    3: TargetClass.HELICOPTER,  # rotary wing aircraft
    4: TargetClass.LIGHT_AIRCRAFT,  # fixed wing aircraft (low, slow: seen by GMTI)
    6: TargetClass.VESSEL,  # maritime
}


class GmtiError(IngestError):
    """A STANAG 4607 packet could not be decoded."""


def _longitude(degrees: Fraction) -> float:
    """BA32 longitudes run 0..360; hotzone's run -180..180."""
    value = float(degrees)
    return value - 360.0 if value > 180.0 else value


_VERSION_DIGITS = re.compile(rb"[0-9]{2}")


def _plausible_header(buffer: bytes, offset: int) -> bool:
    """Two ASCII version digits and a size that could be a packet."""
    if len(buffer) - offset < 6:
        return True  # not enough to judge yet: wait for more bytes
    version = buffer[offset : offset + 2]
    size = int.from_bytes(buffer[offset + 2 : offset + 6], "big")
    return version.isdigit() and PACKET_HEADER_SIZE <= size <= MAX_PACKET_BYTES


class GmtiDecoder(Decoder):
    """STANAG 4607 byte stream -> `Detection` per dwell target report."""

    source_name = "gmti"

    def __init__(
        self,
        source_id: str | None = None,
        *,
        sector: str = "",
        releasability: str = "NATO",
        max_missions: int = 256,
    ) -> None:
        super().__init__()
        self.source_id = source_id
        self.sector = sector
        self.releasability = releasability
        self.max_missions = max_missions
        self._buffer = b""
        self._missions: dict[tuple[bytes, int], MissionSegment] = {}

    @property
    def max_frame_bytes(self) -> int:
        return MAX_PACKET_BYTES  # a larger size field is not taken for a packet header

    @classmethod
    def from_options(cls, options: DecoderOptions) -> GmtiDecoder:
        return cls(options.source_id, sector=options.sector, releasability=options.releasability)

    def feed(self, data: bytes, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        buffer = self._buffer + data
        offset = 0  # packets are cut by offset: the buffer is copied once per feed
        while len(buffer) - offset >= 6:
            if not _plausible_header(buffer, offset):
                offset = self._resync(buffer, offset, result)
                continue
            size = int.from_bytes(buffer[offset + 2 : offset + 6], "big")
            if len(buffer) - offset < size:
                break
            packet = buffer[offset : offset + size]
            offset += size
            self.counters.frames += 1
            try:
                result.messages.extend(self._decode_packet(packet, received_at))
            except GmtiError as error:
                result.rejected.append(Rejected(packet, error.describe()))
        self._buffer = buffer[offset:]
        return self._count(result)

    def flush(self, received_at: datetime) -> DecodeResult:
        result = DecodeResult()
        if self._buffer:
            result.rejected.append(
                Rejected(self._buffer, f"truncated packet: {len(self._buffer)} bytes at end")
            )
            self._buffer = b""
        return self._count(result)

    def _resync(self, buffer: bytes, offset: int, result: DecodeResult) -> int:
        """Skip to the next plausible header (the last 5 bytes wait for more input); the
        candidates are found by a regular expression, not by a Python loop per byte."""
        last_judgeable = len(buffer) - 6
        skip_to = max(offset + 1, len(buffer) - 5)
        position = offset + 1
        while position <= last_judgeable:
            match = _VERSION_DIGITS.search(buffer, position, last_judgeable + 2)
            if match is None:
                break
            if _plausible_header(buffer, match.start()):
                skip_to = match.start()
                break
            position = match.start() + 1
        result.rejected.append(
            Rejected(
                buffer[offset:skip_to],
                f"not a STANAG 4607 packet header: skipped {skip_to - offset} bytes "
                "to the next one",
            )
        )
        return skip_to

    def _decode_packet(self, packet: bytes, received_at: datetime) -> list[AnyMessage]:
        try:
            decoded = decode_packet(packet)
            header = decoded.header
            values = [decode_typed_segment(segment) for segment in decoded.segments]
        except (DecodeError, ValueError) as error:
            raise GmtiError(f"bad packet: {error}") from None
        mission_key = (header.platform_id, header.mission_id)
        platform = header.platform_id.decode("ascii", errors="replace").strip(" \x00")
        sensor_id = self.source_id or f"gmti-{platform or 'unknown'}"
        messages: list[AnyMessage] = []
        for value in values:
            if isinstance(value, MissionSegment):
                self._missions.pop(mission_key, None)
                self._missions[mission_key] = value
                if len(self._missions) > self.max_missions:
                    del self._missions[next(iter(self._missions))]
            elif isinstance(value, DwellSegment):
                time = self._dwell_time(value, self._missions.get(mission_key), received_at)
                messages.extend(
                    self._detections(value, time, sensor_id, header.mission_id, received_at)
                )
        return messages

    @staticmethod
    def _dwell_time(
        dwell: DwellSegment, mission: MissionSegment | None, received_at: datetime
    ) -> datetime:
        offset = timedelta(milliseconds=dwell.dwell_time_milliseconds)
        if mission is not None:
            try:
                day = datetime(
                    mission.reference_year,
                    mission.reference_month,
                    mission.reference_day,
                    tzinfo=UTC,
                )
                return day + offset
            except (ValueError, OverflowError):
                raise GmtiError(
                    "mission reference date is not a date",
                    field="M5-M7",
                    got=f"{mission.reference_year}-{mission.reference_month}-"
                    f"{mission.reference_day}",
                ) from None
        today = received_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        candidates = [today + timedelta(days=days) + offset for days in (-1, 0, 1)]
        return min(candidates, key=lambda time: abs((time - received_at).total_seconds()))

    def _detections(
        self,
        dwell: DwellSegment,
        time: datetime,
        sensor_id: str,
        mission_id: int,
        received_at: datetime,
    ) -> list[AnyMessage]:
        sensor = GeoPoint(
            lat_deg=float(dwell.sensor_latitude.degrees),
            lon_deg=_longitude(dwell.sensor_longitude.degrees),
            height_m=dwell.sensor_altitude_centimeters / 100.0,
        )
        if not -90.0 <= sensor.lat_deg <= 90.0:
            raise GmtiError("sensor latitude out of range", field="D7", got=str(sensor.lat_deg))
        frame = LocalFrame(sensor.lat_deg, sensor.lon_deg, sensor.height_m)
        detections: list[AnyMessage] = []
        for index, target in enumerate(dwell.targets):
            try:
                location = dwell.target_location(index)
            except ValueError as error:
                raise GmtiError(f"target {index}: {error}", field="D32.4/D32.5") from None
            if location is None:
                continue  # the mask selects no position for the targets
            lat = float(location.latitude.degrees)
            lon = _longitude(location.longitude.degrees)
            if not -90.0 <= lat <= 90.0:
                raise GmtiError("target latitude out of range", field="D32.2", got=str(lat))
            height = target.geodetic_height_meters
            covariance = self._covariance(frame, lat, lon, height, sensor.height_m, target)
            values: tuple[float, ...] = (lat, lon)
            kind = MeasurementKind.POSITION_2D
            if height is not None:
                values, kind = (lat, lon, float(height)), MeasurementKind.POSITION
                covariance = self._with_height(covariance, target.height_uncertainty_meters)
            velocity = target.radial_velocity_centimeters_per_second
            rcs = target.radar_cross_section_decibels
            probability = target.classification_probability_percent
            class_hint = CLASSIFICATION_CLASSES.get(target.classification or 0)
            report_index = target.report_index if target.report_index is not None else index
            detections.append(
                Detection(
                    detection_id=(
                        f"{sensor_id}-{mission_id}-{dwell.revisit_index}-{dwell.dwell_index}"
                        f"-{report_index}"
                    ),
                    time=time,
                    sensor_id=sensor_id,
                    kind=kind,
                    values=values,
                    covariance=covariance,
                    sensor_position=sensor,
                    sector=self.sector,
                    doppler_mps=None if velocity is None else velocity / 100.0,
                    rcs_dbsm=None if rcs is None else float(rcs),
                    snr_db=None
                    if target.signal_to_noise_ratio_decibels is None
                    else float(target.signal_to_noise_ratio_decibels),
                    class_hint=class_hint,
                    class_confidence=(
                        probability / 100.0
                        if class_hint is not None and probability is not None and probability <= 100
                        else None
                    ),
                    received_at=received_at,
                    releasability=self.releasability,
                )
            )
        return detections

    @staticmethod
    def _covariance(
        frame: LocalFrame,
        lat: float,
        lon: float,
        height: int | None,
        sensor_height_m: float,
        target: TargetReport,
    ) -> tuple[tuple[float, ...], ...]:
        """Range/cross-range sigmas rotated into east/north along the sensor's bearing."""
        slant_cm = target.slant_range_uncertainty_centimeters
        cross_dm = target.cross_range_uncertainty_decimeters
        enu = frame.geodetic_to_enu(lat, lon, float(height or 0))
        east, north = float(enu[0]), float(enu[1])
        ground_range = math.hypot(east, north)
        range_sigma = DEFAULT_SIGMA_M if slant_cm is None else max(slant_cm / 100.0, 1.0)
        if ground_range > 1.0:
            # A slant-range error grows on the ground by slant/ground range.
            slant_range = math.hypot(ground_range, sensor_height_m - float(height or 0))
            range_sigma *= min(slant_range / ground_range, 10.0)
        cross_sigma = DEFAULT_SIGMA_M if cross_dm is None else max(cross_dm / 10.0, 1.0)
        bearing = math.atan2(east, north) if ground_range > 1.0 else 0.0
        along = np.array([math.sin(bearing), math.cos(bearing)])
        across = np.array([math.cos(bearing), -math.sin(bearing)])
        matrix = range_sigma**2 * np.outer(along, along) + cross_sigma**2 * np.outer(across, across)
        return tuple(tuple(float(value) for value in row) for row in matrix)

    @staticmethod
    def _with_height(
        covariance: tuple[tuple[float, ...], ...], height_sigma_m: int | None
    ) -> tuple[tuple[float, ...], ...]:
        sigma = (
            DEFAULT_HEIGHT_SIGMA_M if height_sigma_m is None else max(float(height_sigma_m), 1.0)
        )
        (ee, en), (ne, nn) = covariance
        return ((ee, en, 0.0), (ne, nn, 0.0), (0.0, 0.0, sigma**2))
