"""Decoded ASTERIX records -> hotzone messages (docs/ingest/asterix.md lists every field).

- CAT048 plot -> `Detection` (polar: range, azimuth, elevation from the reported height)
- CAT021 ADS-B report -> `Report` (source adsb)
- CAT062 system track -> `Report` (source system_track, track number in ``uid``)
- CAT034 service message -> `Event` (sensor_status; jamming for jamming strobes)
- CAT065 SDPS service status -> `Event` (sensor_status); a routine end of batch -> a count
  in `MappingContext.heartbeats`, no message
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from hotzone.ingest.asterix.cat021 import Cat021Record
from hotzone.ingest.asterix.cat034 import MESSAGE_TYPES, Cat034Record
from hotzone.ingest.asterix.cat048 import Cat048Record
from hotzone.ingest.asterix.cat062 import Cat062Record
from hotzone.ingest.asterix.cat065 import (
    END_OF_BATCH,
    SDPS_STATES,
    SERVICE_REPORTS,
    Cat065Record,
)
from hotzone.ingest.asterix.cat065 import MESSAGE_TYPES as CAT065_MESSAGE_TYPES
from hotzone.ingest.asterix.errors import ItemValueError, MissingItemError, UnknownSiteError
from hotzone.ingest.asterix.sites import SiteTable, default_sensor_id
from hotzone.ingest.asterix.timeofday import SECONDS_PER_DAY, time_of_day_to_datetime
from hotzone.types import (
    Detection,
    Event,
    EventKind,
    GeoPoint,
    MeasurementKind,
    Report,
    ReportSource,
)

T = TypeVar("T")

METRES_PER_NM = 1852.0
METRES_PER_FOOT = 0.3048
EARTH_RADIUS_M = 6371000.0  # spherical Earth: the height error dwarfs the ellipsoid's

#: Pressure altitude differs from geometric height by up to a few hundred metres in a
#: non-standard atmosphere, so a Mode C height places the elevation only this well.
FLIGHT_LEVEL_HEIGHT_SIGMA_M = 250.0
RADAR_3D_HEIGHT_SIGMA_M = 300.0
#: A primary-only plot has no height: assume a mid-altitude target and say so in the
#: variance (the fusion then effectively uses range and azimuth only).
ASSUMED_HEIGHT_M = 3000.0
ASSUMED_HEIGHT_SIGMA_M = 3000.0

#: NACp -> 95 % horizontal position bound (EPU, metres), DO-260B table 2-14.
NACP_EPU_M: dict[int, float] = {
    1: 18520.0,
    2: 7408.0,
    3: 3704.0,
    4: 1852.0,
    5: 926.0,
    6: 555.6,
    7: 185.2,
    8: 92.6,
    9: 30.0,
    10: 10.0,
    11: 3.0,
}
#: A 2-D 95 % radius is 2.45 standard deviations of a circular Gaussian.
EPU_TO_SIGMA = 1.0 / 2.45
UNKNOWN_ADSB_SIGMA_M = 926.0  # no NACp: treat as NACp 5 (0.5 NM), a cautious middle
DEFAULT_SYSTEM_TRACK_SIGMA_M = 150.0  # no I062/500: typical SDPS en-route accuracy


@dataclass(slots=True)
class SdpsHeartbeat:
    """The end-of-batch messages of one SDPS service: how many came, and the latest.

    A health monitor reads these to notice an SDPS that went silent, which no event says.
    """

    count: int = 0
    last_time: datetime | None = None
    last_batch_number: int | None = None


@dataclass
class MappingContext:
    """What mapping needs beyond the record: sites, reception time, labels, id counter,
    and the decoder's SDPS heartbeats (keyed ``{source_id}`` or ``{source_id}/service/{n}``)."""

    sites: SiteTable
    received_at: datetime
    source_id: str | None = None
    sector: str = ""
    releasability: str = "NATO"
    sequence: list[int] = field(default_factory=lambda: [0])
    heartbeats: dict[str, SdpsHeartbeat] = field(default_factory=dict)

    def next_id(self, prefix: str) -> str:
        self.sequence[0] += 1
        return f"{prefix}-{self.sequence[0]}"

    def source_for(self, sac: int, sic: int) -> str:
        return self.source_id or self.sites.sensor_id(sac, sic)


def _require(value: T | None, item: str, what: str, category: int) -> T:
    if value is None:
        raise MissingItemError(f"CAT{category:03d} record without {what}", field=item)
    return value


def _time(seconds: float | None, item: str, category: int, context: MappingContext) -> datetime:
    value = _require(seconds, item, "a time of day", category)
    if value >= SECONDS_PER_DAY:
        raise ItemValueError(
            "time of day beyond 24 h", field=item, expected="< 86400 s", got=f"{value} s"
        )
    return time_of_day_to_datetime(value, context.received_at)


def elevation_from_height(
    slant_range_m: float, sensor_height_m: float, target_height_m: float, height_sigma_m: float
) -> tuple[float, float]:
    """(elevation_deg, elevation variance deg²) of a target at a height, on a sphere.

    From the triangle Earth centre - radar - target:
    (R + h_t)² = (R + h_r)² + ρ² + 2 (R + h_r) ρ sin(elevation).
    """
    if slant_range_m < 1.0:
        return 0.0, 90.0**2
    radar_radius = EARTH_RADIUS_M + sensor_height_m
    target_radius = EARTH_RADIUS_M + target_height_m
    sine = (target_radius**2 - radar_radius**2 - slant_range_m**2) / (
        2.0 * radar_radius * slant_range_m
    )
    elevation = math.asin(max(-1.0, min(1.0, sine)))
    horizontal_range = max(slant_range_m * math.cos(elevation), 1.0)
    sigma_deg = min(math.degrees(height_sigma_m / horizontal_range), 90.0)
    return math.degrees(elevation), sigma_deg**2


def cat048_to_detection(record: Cat048Record, context: MappingContext) -> Detection:
    sac = _require(record.sac, "I048/010", "a data source (SAC/SIC)", 48)
    sic = _require(record.sic, "I048/010", "a data source (SAC/SIC)", 48)
    time = _time(record.time_of_day_s, "I048/140", 48, context)
    rho_nm = _require(record.rho_nm, "I048/040", "a measured polar position", 48)
    theta_deg = _require(record.theta_deg, "I048/040", "a measured polar position", 48)
    site = context.sites.get(sac, sic)
    if site is None:
        raise UnknownSiteError(
            f"CAT048 plot from radar site {sac}/{sic}, which the sensors file does not "
            "list: it cannot be placed (add it to --sensors)",
            field="I048/010",
        )
    range_m = rho_nm * METRES_PER_NM
    if record.height_3d_ft is not None:
        height_m, height_sigma_m = record.height_3d_ft * METRES_PER_FOOT, RADAR_3D_HEIGHT_SIGMA_M
    elif record.flight_level is not None:
        height_m = record.flight_level * 100.0 * METRES_PER_FOOT
        height_sigma_m = FLIGHT_LEVEL_HEIGHT_SIGMA_M
    else:
        height_m, height_sigma_m = ASSUMED_HEIGHT_M, ASSUMED_HEIGHT_SIGMA_M
    elevation_deg, elevation_variance = elevation_from_height(
        range_m, site.height_m, height_m, height_sigma_m
    )
    sensor_id = context.sites.sensor_id(sac, sic)
    return Detection(
        detection_id=context.next_id(f"{sensor_id}-{time:%Y%m%dT%H%M%S.%f}"),
        time=time,
        sensor_id=sensor_id,
        kind=MeasurementKind.POLAR,
        values=(range_m, theta_deg, elevation_deg),
        covariance=(
            (site.range_sigma_m**2, 0.0, 0.0),
            (0.0, site.azimuth_sigma_deg**2, 0.0),
            (0.0, 0.0, elevation_variance),
        ),
        sensor_position=site.position,
        sector=context.sector,
        doppler_mps=None if record.doppler_speed_mps is None else float(record.doppler_speed_mps),
        received_at=context.received_at,
        releasability=context.releasability,
        icao24=None if record.aircraft_address is None else f"{record.aircraft_address:06x}",
        squawk=record.mode_3a,
        callsign=_callsign(record.aircraft_identification),
    )


def _callsign(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate is not None and candidate.strip():
            return candidate.strip()
    return None


def cat021_to_report(record: Cat021Record, context: MappingContext) -> Report:
    sac = _require(record.sac, "I021/010", "a data source (SAC/SIC)", 21)
    sic = _require(record.sic, "I021/010", "a data source (SAC/SIC)", 21)
    seconds = (
        record.time_of_applicability_position_s
        if record.time_of_applicability_position_s is not None
        else record.time_of_reception_position_s
        if record.time_of_reception_position_s is not None
        else record.time_of_transmission_s
    )
    time = _time(seconds, "I021/071", 21, context)
    address = _require(record.target_address, "I021/080", "a target address", 21)
    if record.latitude_high_res_deg is not None and record.longitude_high_res_deg is not None:
        latitude, longitude = record.latitude_high_res_deg, record.longitude_high_res_deg
    else:
        latitude = _require(record.latitude_deg, "I021/130", "a WGS-84 position", 21)
        longitude = _require(record.longitude_deg, "I021/130", "a WGS-84 position", 21)
    _check_position(latitude, longitude, "I021/131")
    vertical_sigma: float | None = None
    if record.geometric_height_ft is not None:
        height_m = record.geometric_height_ft * METRES_PER_FOOT
        vertical_sigma = {1: 150.0 / 1.96, 2: 45.0 / 1.96}.get(record.gva or 0)
    elif record.flight_level is not None:
        height_m = record.flight_level * 100.0 * METRES_PER_FOOT
        vertical_sigma = FLIGHT_LEVEL_HEIGHT_SIGMA_M
    else:
        height_m = 0.0
    velocity: tuple[float, float, float] | None = None
    if record.ground_speed_nm_s is not None and record.track_angle_deg is not None:
        speed = record.ground_speed_nm_s * METRES_PER_NM
        angle = math.radians(record.track_angle_deg)
        vertical_rate = (
            record.geometric_vertical_rate_ft_min
            if record.geometric_vertical_rate_ft_min is not None
            else record.barometric_vertical_rate_ft_min
        )
        up = 0.0 if vertical_rate is None else vertical_rate * METRES_PER_FOOT / 60.0
        velocity = (speed * math.sin(angle), speed * math.cos(angle), up)
    # MOPS version 0 (DO-260) sends NUCp where later versions send NIC.
    is_nucp = record.mops_version == 0
    epu = NACP_EPU_M.get(record.nacp) if record.nacp is not None else None
    source_id = context.source_for(sac, sic)
    return Report(
        report_id=context.next_id(f"{source_id}-{address:06x}"),
        time=time,
        source_id=source_id,
        source=ReportSource.ADSB,
        position=GeoPoint(lat_deg=latitude, lon_deg=longitude, height_m=height_m),
        horizontal_sigma_m=UNKNOWN_ADSB_SIGMA_M if epu is None else epu * EPU_TO_SIGMA,
        vertical_sigma_m=vertical_sigma,
        velocity_enu_mps=velocity,
        icao24=f"{address:06x}",
        callsign=_callsign(record.target_identification),
        squawk=record.mode_3a,
        nic=None if is_nucp else record.nucp_nic,
        nucp=record.nucp_nic if is_nucp else None,
        nacp=record.nacp,
        sil=record.sil,
        on_ground=record.on_ground,
        sector=context.sector,
        received_at=context.received_at,
        releasability=context.releasability,
    )


def _check_position(latitude: float, longitude: float, item: str) -> None:
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        raise ItemValueError(
            "position outside WGS-84 range",
            field=item,
            expected="|lat| <= 90, |lon| <= 180",
            got=f"{latitude:.6f}, {longitude:.6f}",
        )


def cat062_to_report(record: Cat062Record, context: MappingContext) -> Report:
    sac = _require(record.sac, "I062/010", "a data source (SAC/SIC)", 62)
    sic = _require(record.sic, "I062/010", "a data source (SAC/SIC)", 62)
    time = _time(record.time_of_track_s, "I062/070", 62, context)
    track_number = _require(record.track_number, "I062/040", "a track number", 62)
    latitude = _require(record.latitude_deg, "I062/105", "a WGS-84 position", 62)
    longitude = _require(record.longitude_deg, "I062/105", "a WGS-84 position", 62)
    _check_position(latitude, longitude, "I062/105")
    if record.geometric_altitude_ft is not None:
        height_m = record.geometric_altitude_ft * METRES_PER_FOOT
    elif record.barometric_altitude_ft is not None:
        height_m = record.barometric_altitude_ft * METRES_PER_FOOT
    elif record.measured_flight_level is not None:
        height_m = record.measured_flight_level * 100.0 * METRES_PER_FOOT
    else:
        height_m = 0.0
    velocity: tuple[float, float, float] | None = None
    if record.vx_mps is not None and record.vy_mps is not None:
        climb = record.rate_of_climb_ft_min
        up = 0.0 if climb is None else climb * METRES_PER_FOOT / 60.0
        velocity = (record.vx_mps, record.vy_mps, up)
    sigma = DEFAULT_SYSTEM_TRACK_SIGMA_M
    if record.position_sigma_x_m is not None and record.position_sigma_y_m is not None:
        sigma = math.sqrt((record.position_sigma_x_m**2 + record.position_sigma_y_m**2) / 2.0)
    source_id = context.source_id or default_sensor_id(sac, sic)
    address = record.aircraft_address
    return Report(
        report_id=context.next_id(f"{source_id}-{track_number}"),
        time=time,
        source_id=source_id,
        source=ReportSource.SYSTEM_TRACK,
        position=GeoPoint(lat_deg=latitude, lon_deg=longitude, height_m=height_m),
        horizontal_sigma_m=sigma,
        velocity_enu_mps=velocity,
        icao24=None if address is None else f"{address:06x}",
        callsign=_callsign(
            record.aircraft_identification,
            record.target_identification,
            record.flight_plan_callsign,
        ),
        uid=f"{source_id}/track/{track_number}",
        squawk=record.mode_3a,
        sector=context.sector,
        received_at=context.received_at,
        releasability=context.releasability,
    )


_JAMMING_TYPES = frozenset({4, 6, 7})


def cat034_to_event(record: Cat034Record, context: MappingContext) -> Event:
    sac = _require(record.sac, "I034/010", "a data source (SAC/SIC)", 34)
    sic = _require(record.sic, "I034/010", "a data source (SAC/SIC)", 34)
    message_type = _require(record.message_type, "I034/000", "a message type", 34)
    time = _time(record.time_of_day_s, "I034/030", 34, context)
    type_name = MESSAGE_TYPES.get(message_type, f"message type {message_type}")
    sensor_id = context.sites.sensor_id(sac, sic)
    site = context.sites.get(sac, sic)
    flags = {
        "no_go": record.no_go,
        "processor_overload": record.processor_overload,
        "transmission_overload": record.transmission_overload,
        "monitoring_disconnected": record.monitoring_disconnected,
        "time_source_invalid": record.time_source_invalid,
        "psr_overload": record.psr_overload,
        "ssr_overload": record.ssr_overload,
        "mode_s_overload": record.mode_s_overload,
    }
    attributes = {"message_type": type_name, "sac": str(sac), "sic": str(sic)}
    attributes.update(
        {name: str(value).lower() for name, value in flags.items() if value is not None}
    )
    if record.sector_azimuth_deg is not None:
        attributes["sector_azimuth_deg"] = f"{record.sector_azimuth_deg:g}"
    if record.antenna_rotation_period_s is not None:
        attributes["antenna_rotation_period_s"] = f"{record.antenna_rotation_period_s:g}"
    raised = [name for name, value in flags.items() if value]
    jamming = message_type in _JAMMING_TYPES
    severity = 8 if record.no_go else 6 if jamming else 4 if raised else 0
    summary = f"{sensor_id}: {type_name}"
    if record.sector_azimuth_deg is not None:
        summary += f" at {record.sector_azimuth_deg:g}°"
    if raised:
        summary += " (" + ", ".join(name.replace("_", " ") for name in raised) + ")"
    return Event(
        event_id=context.next_id(f"{sensor_id}-{time:%Y%m%dT%H%M%S.%f}"),
        time=time,
        source_id=context.source_id or sensor_id,
        kind=EventKind.JAMMING if jamming else EventKind.SENSOR_STATUS,
        severity=severity,
        summary=summary,
        position=None if site is None else site.position,
        subject_id=sensor_id,
        attributes=attributes,
        releasability=context.releasability,
    )


#: I065/040 NOGO -> severity: an SDPS that is not connected delivers no picture at all, a
#: degraded one a picture to be doubted; "unknown" is between, as nobody can tell.
SDPS_STATE_SEVERITY: dict[int, int] = {0: 0, 1: 6, 2: 8, 3: 5}
SDPS_OVERLOAD_SEVERITY = 5  # tracks may be late or dropped
SDPS_TIME_SOURCE_SEVERITY = 4  # track times, hence fused positions, may be off
#: I065/050 -> severity: losing the service or every radar is worst; losing the main radar
#: or running on the backup degrades it; ends, restarts and recoveries are news, not alarms.
SERVICE_REPORT_SEVERITY: dict[int, int] = {
    1: 6,
    2: 1,
    3: 6,
    4: 7,
    5: 8,
    6: 2,
    7: 7,
    8: 7,
    9: 1,
    10: 1,
    11: 5,
    12: 7,
    13: 1,
    14: 4,
    15: 1,
    16: 9,
}
UNKNOWN_SERVICE_REPORT_SEVERITY = 5  # a code newer than this table: look at it


def _sdps_problems(record: Cat065Record) -> list[str]:
    """What I065/040 says is wrong, in words; empty when operational or absent."""
    problems: list[str] = []
    if record.sdps_state:
        problems.append(SDPS_STATES.get(record.sdps_state, f"state {record.sdps_state}"))
    if record.overload:
        problems.append("overload")
    if record.time_source_invalid:
        problems.append("time source invalid")
    return problems


def _count_heartbeat(
    record: Cat065Record, source_id: str, time: datetime, context: MappingContext
) -> None:
    key = source_id if record.service_id is None else f"{source_id}/service/{record.service_id}"
    heartbeat = context.heartbeats.setdefault(key, SdpsHeartbeat())
    heartbeat.count += 1
    heartbeat.last_time = time
    heartbeat.last_batch_number = record.batch_number


def cat065_to_event(record: Cat065Record, context: MappingContext) -> Event | None:
    """An SDPS status or service status report -> `Event`; a routine end of batch -> a
    heartbeat count and None (one with an abnormal I065/040 status is still an Event)."""
    sac = _require(record.sac, "I065/010", "a data source (SAC/SIC)", 65)
    sic = _require(record.sic, "I065/010", "a data source (SAC/SIC)", 65)
    message_type = _require(record.message_type, "I065/000", "a message type", 65)
    time = _time(record.time_of_day_s, "I065/030", 65, context)
    sensor_id = context.sites.sensor_id(sac, sic)
    source_id = context.source_id or sensor_id
    problems = _sdps_problems(record)
    if message_type == END_OF_BATCH and not problems:
        _count_heartbeat(record, source_id, time, context)
        return None
    type_name = CAT065_MESSAGE_TYPES.get(message_type, f"message type {message_type}")
    attributes = {"message_type": type_name, "sac": str(sac), "sic": str(sic)}
    optional = {
        "service_id": record.service_id,
        "batch_number": record.batch_number,
        "overload": record.overload,
        "time_source_invalid": record.time_source_invalid,
        "track_renumbering_toggle": record.track_renumbering_toggle,
        "service_report_code": record.service_report,
    }
    attributes.update(
        {
            name: str(value).lower() if isinstance(value, bool) else str(value)
            for name, value in optional.items()
            if value is not None
        }
    )
    severity = 0
    if record.sdps_state is not None:
        attributes["sdps_state"] = SDPS_STATES.get(record.sdps_state, str(record.sdps_state))
        severity = SDPS_STATE_SEVERITY.get(record.sdps_state, 0)
    if record.selected_processing_system is not None:
        selected = record.selected_processing_system
        attributes["selected_processing_system"] = f"SDPS-{selected}" if selected else "n/a"
    if record.overload:
        severity = max(severity, SDPS_OVERLOAD_SEVERITY)
    if record.time_source_invalid:
        severity = max(severity, SDPS_TIME_SOURCE_SEVERITY)
    summary = f"{sensor_id}"
    if record.service_id is not None:
        summary += f" service {record.service_id}"
    summary += f": {type_name}"
    if record.service_report is not None:
        report = SERVICE_REPORTS.get(record.service_report)
        attributes["service_report"] = report or f"code {record.service_report}"
        summary += f": {attributes['service_report']}"
        severity = max(
            severity,
            SERVICE_REPORT_SEVERITY.get(record.service_report, UNKNOWN_SERVICE_REPORT_SEVERITY),
        )
    if problems:
        summary += " (" + ", ".join(problems) + ")"
    elif record.sdps_state == 0:
        summary += " (operational)"
    site = context.sites.get(sac, sic)
    return Event(
        event_id=context.next_id(f"{sensor_id}-{time:%Y%m%dT%H%M%S.%f}"),
        time=time,
        source_id=source_id,
        kind=EventKind.SENSOR_STATUS,
        severity=severity,
        summary=summary,
        position=None if site is None else site.position,
        subject_id=sensor_id,
        attributes=attributes,
        releasability=context.releasability,
    )
