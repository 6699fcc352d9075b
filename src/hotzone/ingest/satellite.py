"""Satellite detection reports (JSON Lines) -> delayed ``position`` `Detection`s.

One report per line::

    {"report_id": "S2-0001", "satellite": "SENTINEL-2A", "acquired_at": "2026-11-27T09:41:07Z",
     "lat_deg": 54.12, "lon_deg": 22.95, "height_m": 0, "class": "ground_vehicle",
     "confidence": 0.8, "latency_s": 5400, "position_sigma_m": 15}

``acquired_at`` is when the image was taken: it is the detection's ``time``; the product
reaches hotzone ``latency_s`` later, which is its ``received_at``. The tracker sees the
difference and treats the detection as an out-of-sequence measurement. ``class`` is a
hotzone `TargetClass` value or a common alias (tank, ship, aircraft...).

With a TLE set (``DecoderOptions.tle_file``), each report is checked against the
orbit of its satellite: a report whose satellite was below ``min_elevation_deg`` as seen
from the reported position at the acquisition time, i.e. outside any pass, cannot be
genuine (wrong metadata or spoofed), so it is refused as a dead letter with that reason
rather than fed to the tracker. The same TLE also gives the satellite's position at
acquisition as the detection's ``sensor_position``; without TLEs the reported position
stands in for it and no pass check is made.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
import numpy as np

from hotzone.geo.frames import LocalFrame
from hotzone.ingest.base import DecoderOptions, IngestError, LineDecoder
from hotzone.ingest.space import SatelliteElements, elevation_deg, parse_tles, sub_satellite_point
from hotzone.types import AnyMessage, Detection, GeoPoint, MeasurementKind, TargetClass

DEFAULT_POSITION_SIGMA_M = 30.0
DEFAULT_HEIGHT_SIGMA_M = 50.0

CLASS_ALIASES: dict[str, TargetClass] = {
    "vehicle": TargetClass.GROUND_VEHICLE,
    "tank": TargetClass.GROUND_VEHICLE,
    "armour": TargetClass.GROUND_VEHICLE,
    "truck": TargetClass.GROUND_VEHICLE,
    "launcher": TargetClass.GROUND_VEHICLE,
    "ship": TargetClass.VESSEL,
    "boat": TargetClass.VESSEL,
    "aircraft": TargetClass.LIGHT_AIRCRAFT,
    "drone": TargetClass.SMALL_UAV,
    "uav": TargetClass.SMALL_UAV,
    "people": TargetClass.PERSON,
}


class SatelliteReport(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    report_id: str
    satellite: str
    acquired_at: Annotated[datetime, msgspec.Meta(tz=True)]
    lat_deg: Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
    lon_deg: Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
    latency_s: Annotated[float, msgspec.Meta(ge=0.0, le=30 * 86400.0)]
    height_m: float = 0.0
    confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None
    position_sigma_m: Annotated[float, msgspec.Meta(gt=0.0, le=1e6)] = DEFAULT_POSITION_SIGMA_M
    height_sigma_m: Annotated[float, msgspec.Meta(gt=0.0, le=1e6)] = DEFAULT_HEIGHT_SIGMA_M
    target_class: str | None = msgspec.field(default=None, name="class")


_REPORT_DECODER = msgspec.json.Decoder(SatelliteReport)


def class_of(name: str | None) -> TargetClass | None:
    if name is None:
        return None
    key = name.strip().lower().replace(" ", "_")
    try:
        return TargetClass(key)
    except ValueError:
        return CLASS_ALIASES.get(key)


class SatelliteDecoder(LineDecoder):
    """Satellite detection reports -> position Detections, checked against passes."""

    source_name = "satellite"

    def __init__(
        self,
        satellites: list[SatelliteElements] | None = None,
        *,
        min_elevation_deg: float = 0.0,
        sector: str = "",
        releasability: str = "NATO",
    ) -> None:
        super().__init__()
        self.satellites = (
            {s.name.upper(): s for s in satellites} | {s.catalog_number: s for s in satellites}
            if satellites
            else {}
        )
        self.min_elevation_deg = min_elevation_deg
        self.sector = sector
        self.releasability = releasability

    @classmethod
    def from_options(cls, options: DecoderOptions) -> SatelliteDecoder:
        tle_file = options.tle_file
        satellites = parse_tles(tle_file.read_text(encoding="utf-8")) if tle_file else None
        return cls(
            satellites,
            sector=options.sector,
            releasability=options.releasability,
        )

    def decode_line(self, line: bytes, received_at: datetime) -> list[AnyMessage]:
        try:
            report = _REPORT_DECODER.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise IngestError(f"not a satellite detection report: {error}") from None
        if not all(math.isfinite(v) for v in (report.height_m, report.latency_s)):
            raise IngestError("height_m and latency_s must be finite numbers")
        point = GeoPoint(lat_deg=report.lat_deg, lon_deg=report.lon_deg, height_m=report.height_m)
        sensor_position = self._check_pass(report, point)
        horizontal = report.position_sigma_m**2
        return [
            Detection(
                detection_id=f"satellite:{report.satellite}:{report.report_id}",
                time=report.acquired_at,
                sensor_id=report.satellite,
                kind=MeasurementKind.POSITION,
                values=(report.lat_deg, report.lon_deg, report.height_m),
                covariance=(
                    (horizontal, 0.0, 0.0),
                    (0.0, horizontal, 0.0),
                    (0.0, 0.0, report.height_sigma_m**2),
                ),
                sensor_position=sensor_position,
                sector=self.sector,
                class_hint=class_of(report.target_class),
                class_confidence=report.confidence,
                received_at=report.acquired_at + timedelta(seconds=report.latency_s),
                releasability=self.releasability,
            )
        ]

    def _check_pass(self, report: SatelliteReport, point: GeoPoint) -> GeoPoint:
        if not self.satellites:
            return point
        satellite = self.satellites.get(report.satellite.strip().upper())
        if satellite is None:
            raise IngestError(
                "no TLE for this satellite", field="satellite", got=report.satellite[:40]
            )
        frame = LocalFrame(point.lat_deg, point.lon_deg, point.height_m)
        moment = np.array([report.acquired_at.timestamp()])
        elevation = float(elevation_deg(satellite.satrec, frame, moment)[0])
        if not elevation >= self.min_elevation_deg:  # NaN (propagation error) fails too
            raise IngestError(
                f"outside any pass of {satellite.name}: elevation {elevation:.1f} deg "
                f"seen from the reported position at acquisition",
                field="acquired_at",
                expected=f">= {self.min_elevation_deg:.1f} deg",
            )
        return sub_satellite_point(satellite.satrec, report.acquired_at)
