"""SAPIENT content -> hotzone messages, one function per message of the ICD.

- DetectionReport -> `Detection`: a ``location`` becomes a ``position`` measurement, a
  ``range_bearing`` becomes ``polar`` (with range) or ``bearing`` (without), measured from
  the node's last reported location. The ICD's ``*_error`` fields are read as one standard
  deviation in the units of their value; where a node leaves them out, `Uncertainty`
  supplies the defaults. The best classification (deepest sub-class hotzone knows) becomes
  the class hint; ENU velocity becomes the radial (doppler) speed of polar measurements.
  Behaviours become an ``observation`` `Event` about the object.
- StatusReport -> ``sensor_status`` `Event` (sensor health); Alert -> `Event`;
  Registration, TaskAck and Error from a node -> ``sensor_status`` `Event`.

Errors are `SapientContentError` (an `IngestError`), never another exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from hotzone.geo.frames import LocalFrame, polar_to_enu
from hotzone.ingest.base import IngestError
from hotzone.ingest.sapient.proto.sapient_msg.bsi_flex_335_v2_0 import (
    alert_pb2,
    detection_report_pb2,
    location_pb2,
    range_bearing_pb2,
    registration_pb2,
    status_report_pb2,
    task_ack_pb2,
    velocity_pb2,
)
from hotzone.types import Detection, Event, EventKind, GeoPoint, MeasurementKind, TargetClass

DetectionReport = detection_report_pb2.DetectionReport
RangeBearingSystem = range_bearing_pb2.RangeBearingCoordinateSystem
StatusReport = status_report_pb2.StatusReport
Alert = alert_pb2.Alert


class SapientContentError(IngestError):
    """A well-formed SapientMessage whose content hotzone cannot use."""


@dataclass(frozen=True)
class Uncertainty:
    """One-sigma defaults for measurements whose report leaves out the error."""

    horizontal_sigma_m: float = 25.0
    vertical_sigma_m: float = 50.0
    range_sigma_m: float = 10.0
    angle_sigma_deg: float = 1.0
    # Ground sensors often report range and azimuth only; elevation 0 with this spread
    # keeps a polar measurement usable without pretending to know the height.
    missing_elevation_sigma_deg: float = 15.0


@dataclass
class NodeContext:
    """What the decoder knows about one node from its earlier messages."""

    node_id: str
    registration: registration_pb2.Registration | None = None
    location: GeoPoint | None = None
    velocity_scale: float = 1.0  # to m/s, from the registration's ENU velocity units


#: Lower-case words in SAPIENT class and sub-class names -> hotzone class, first match wins.
#: The ICD's taxonomy is open (registrations declare their classes), so names are matched
#: by the words they contain rather than by a closed list.
CLASS_KEYWORDS: tuple[tuple[str, TargetClass], ...] = (
    ("one way attack", TargetClass.ONE_WAY_ATTACK_DRONE),
    ("loitering munition", TargetClass.ONE_WAY_ATTACK_DRONE),
    ("uav", TargetClass.SMALL_UAV),
    ("uas", TargetClass.SMALL_UAV),
    ("drone", TargetClass.SMALL_UAV),
    ("unmanned", TargetClass.SMALL_UAV),
    ("multirotor", TargetClass.SMALL_UAV),
    ("quadcopter", TargetClass.SMALL_UAV),
    ("cruise missile", TargetClass.CRUISE_MISSILE),
    ("helicopter", TargetClass.HELICOPTER),
    ("rotorcraft", TargetClass.HELICOPTER),
    ("airliner", TargetClass.AIRLINER),
    ("aircraft", TargetClass.LIGHT_AIRCRAFT),
    ("aeroplane", TargetClass.LIGHT_AIRCRAFT),
    ("airplane", TargetClass.LIGHT_AIRCRAFT),
    ("bird", TargetClass.BIRD_FLOCK),
    ("human", TargetClass.PERSON),
    ("person", TargetClass.PERSON),
    ("people", TargetClass.PERSON),
    ("pedestrian", TargetClass.PERSON),
    ("vessel", TargetClass.VESSEL),
    ("boat", TargetClass.VESSEL),
    ("ship", TargetClass.VESSEL),
    ("vehicle", TargetClass.GROUND_VEHICLE),
    ("car", TargetClass.GROUND_VEHICLE),
    ("truck", TargetClass.GROUND_VEHICLE),
    ("clutter", TargetClass.CLUTTER),
    ("false alarm", TargetClass.CLUTTER),
    ("unknown", TargetClass.UNKNOWN),
)

_RANGE_BEARING_UNITS: dict[int, tuple[bool, float]] = {
    # coordinate system -> (angles in radians, metres per range unit)
    RangeBearingSystem.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M: (False, 1.0),
    RangeBearingSystem.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M: (True, 1.0),
    RangeBearingSystem.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_KM: (False, 1000.0),
    RangeBearingSystem.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_KM: (True, 1000.0),
}

_METRES_PER_DEGREE = 111_320.0
#: Larger one-sigma errors (m or degrees) are corrupt values, not measurements.
MAX_SIGMA = 1e7  # of latitude; converts lat/lon errors to metres


def target_class_of(name: str) -> TargetClass | None:
    words = " ".join(name.lower().replace("_", " ").replace("-", " ").split())
    padded = f" {words} "
    for keyword, target_class in CLASS_KEYWORDS:
        if f" {keyword} " in padded or f" {keyword}s " in padded:
            return target_class
    return None


def best_classification(
    classifications: list[detection_report_pb2.DetectionReport.DetectionReportClassification],
) -> tuple[TargetClass, float | None] | None:
    """The most confident top-level class, refined by its deepest known sub-class."""
    best: tuple[TargetClass, float | None] | None = None
    best_confidence = -1.0
    for classification in classifications:
        confidence = classification.confidence if classification.HasField("confidence") else None
        candidate = target_class_of(classification.type)
        refined = _deepest_sub_class(list(classification.sub_class), confidence)
        if refined is not None:
            candidate, confidence = refined
        if candidate is None:
            continue
        rank = confidence if confidence is not None else 0.0
        if rank > best_confidence:
            best, best_confidence = (candidate, _probability(confidence)), rank
    return best


def _deepest_sub_class(
    sub_classes: list[detection_report_pb2.DetectionReport.SubClass],
    parent_confidence: float | None,
) -> tuple[TargetClass, float | None] | None:
    best: tuple[int, float, TargetClass, float | None] | None = None
    stack = [(item, parent_confidence) for item in sub_classes]
    while stack:
        item, inherited = stack.pop()
        confidence = item.confidence if item.HasField("confidence") else inherited
        mapped = target_class_of(item.type)
        if mapped is not None:
            key = (item.level, confidence if confidence is not None else 0.0)
            if best is None or key > best[:2]:
                best = (*key, mapped, confidence)
        stack.extend((child, confidence) for child in item.sub_class)
    return None if best is None else (best[2], best[3])


def _probability(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return min(max(value, 0.0), 1.0)


class _ProtoEnum(Protocol):
    def Name(self, number: int) -> str: ...  # noqa: N802 (protobuf's name)


def _enum_text(enum: _ProtoEnum, number: int, prefix: str) -> str:
    """How an event names a protobuf enum value: without the enum's prefix, in lower
    case (``SYSTEM_OK`` -> ``ok``)."""
    return enum.Name(number).removeprefix(prefix).lower()


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise SapientContentError("not a finite number", field=name, got=repr(value))
    return value


def geo_point(location: location_pb2.Location, field: str = "location") -> GeoPoint:
    """A SAPIENT lat/lon location -> WGS-84 point (UTM is refused: no zone maths here)."""
    system = location.coordinate_system
    if system == location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M:
        scale = 1.0
    elif system == location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_RAD_M:
        scale = math.degrees(1.0)
    else:
        raise SapientContentError(
            "unsupported coordinate system",
            field=f"{field}.coordinate_system",
            expected="LAT_LNG_DEG_M or LAT_LNG_RAD_M",
            got=location_pb2.LocationCoordinateSystem.Name(system)
            if system in location_pb2.LocationCoordinateSystem.values()
            else str(system),
        )
    if location.datum == location_pb2.LOCATION_DATUM_UNSPECIFIED:
        raise SapientContentError("datum unspecified", field=f"{field}.datum")
    lat = _finite(f"{field}.y", location.y) * scale
    lon = _finite(f"{field}.x", location.x) * scale
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise SapientContentError(
            "position is not on Earth", field=field, got=f"lat {lat}, lon {lon}"
        )
    # WGS84_G heights are above the geoid; without a geoid model they are used as
    # ellipsoidal heights (tens of metres off), which the vertical default sigma covers.
    height = _finite(f"{field}.z", location.z) if location.HasField("z") else 0.0
    return GeoPoint(lat_deg=lat, lon_deg=lon, height_m=height)


def _location_covariance(
    location: location_pb2.Location, point: GeoPoint, uncertainty: Uncertainty
) -> tuple[tuple[float, ...], ...]:
    degrees = location.coordinate_system == location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    angle_unit_m = _METRES_PER_DEGREE * (1.0 if degrees else math.degrees(1.0))
    east_scale = angle_unit_m * max(math.cos(math.radians(point.lat_deg)), 1e-6)
    horizontal = uncertainty.horizontal_sigma_m
    east = _sigma("x_error", location.HasField("x_error"), location.x_error, east_scale, horizontal)
    north = _sigma(
        "y_error", location.HasField("y_error"), location.y_error, angle_unit_m, horizontal
    )
    up = _sigma(
        "z_error", location.HasField("z_error"), location.z_error, 1.0, uncertainty.vertical_sigma_m
    )
    return _diagonal([east, north, up])


def _sigma(name: str, present: bool, error: float, scale: float, default: float) -> float:
    """A reported one-sigma error in hotzone units, or the default where there is none.

    A zero error is read as "not estimated" (no sensor is perfect, and a zero variance
    would make the measurement's covariance singular).
    """
    if not present:
        return default
    value = _finite(name, abs(error) * scale)
    if value > MAX_SIGMA:
        raise SapientContentError("implausibly large error", field=name, got=repr(value))
    return value if value > 0.0 else default


def _diagonal(sigmas: list[float]) -> tuple[tuple[float, ...], ...]:
    size = len(sigmas)
    return tuple(
        tuple(sigmas[row] ** 2 if row == column else 0.0 for column in range(size))
        for row in range(size)
    )


def _polar_values(
    range_bearing: range_bearing_pb2.RangeBearing, uncertainty: Uncertainty
) -> tuple[MeasurementKind, list[float], list[float]]:
    """(kind, values, sigmas) of a range-bearing in hotzone units (m, degrees)."""
    units = _RANGE_BEARING_UNITS.get(range_bearing.coordinate_system)
    if units is None:
        raise SapientContentError(
            "unsupported coordinate system",
            field="range_bearing.coordinate_system",
            expected="DEGREES_M, RADIANS_M, DEGREES_KM or RADIANS_KM",
            got=str(range_bearing.coordinate_system),
        )
    if range_bearing.datum != range_bearing_pb2.RANGE_BEARING_DATUM_TRUE:
        # Magnetic, grid or platform north would need declination, grid convergence or
        # the platform heading, none of which SAPIENT carries with the detection.
        raise SapientContentError(
            "only true-north bearings are supported",
            field="range_bearing.datum",
            expected="RANGE_BEARING_DATUM_TRUE",
            got=str(range_bearing.datum),
        )
    radians, metres = units
    angle = math.degrees(1.0) if radians else 1.0
    if not range_bearing.HasField("azimuth"):
        raise SapientContentError("a detection needs at least an azimuth", field="azimuth")
    azimuth = _finite("azimuth", range_bearing.azimuth * angle) % 360.0
    azimuth_sigma = _sigma(
        "azimuth_error",
        range_bearing.HasField("azimuth_error"),
        range_bearing.azimuth_error,
        angle,
        uncertainty.angle_sigma_deg,
    )
    has_elevation = range_bearing.HasField("elevation")
    elevation = _finite("elevation", range_bearing.elevation * angle) if has_elevation else 0.0
    if not -90.0 <= elevation <= 90.0:
        raise SapientContentError("elevation out of range", field="elevation", got=str(elevation))
    elevation_sigma = _sigma(
        "elevation_error",
        range_bearing.HasField("elevation_error"),
        range_bearing.elevation_error,
        angle,
        uncertainty.angle_sigma_deg if has_elevation else uncertainty.missing_elevation_sigma_deg,
    )
    if not range_bearing.HasField("range"):
        if has_elevation:
            return MeasurementKind.BEARING, [azimuth, elevation], [azimuth_sigma, elevation_sigma]
        return MeasurementKind.BEARING, [azimuth], [azimuth_sigma]
    distance = _finite("range", range_bearing.range * metres)
    if distance < 0.0:
        raise SapientContentError("negative range", field="range", got=str(distance))
    range_sigma = _sigma(
        "range_error",
        range_bearing.HasField("range_error"),
        range_bearing.range_error,
        metres,
        uncertainty.range_sigma_m,
    )
    return (
        MeasurementKind.POLAR,
        [distance, azimuth, elevation],
        [range_sigma, azimuth_sigma, elevation_sigma],
    )


def _radial_speed(
    velocity: velocity_pb2.ENUVelocity, values: list[float], scale: float
) -> float | None:
    """Radial speed (positive receding) of a polar measurement from its ENU velocity."""
    direction = polar_to_enu(1.0, values[1], values[2])
    up = velocity.up_rate if velocity.HasField("up_rate") else 0.0
    components = [
        _finite(f"enu_velocity.{name}", value)
        for name, value in (("east_rate", velocity.east_rate), ("north_rate", velocity.north_rate))
    ] + [_finite("enu_velocity.up_rate", up)]
    return float(direction @ (np.array(components, dtype=np.float64) * scale))


def detection_from_report(
    report: detection_report_pb2.DetectionReport,
    *,
    node: NodeContext,
    time: datetime,
    received_at: datetime,
    sector: str,
    releasability: str,
    uncertainty: Uncertainty,
) -> Detection:
    """One DetectionReport -> one `Detection` (see the module docstring for the rules)."""
    doppler: float | None = None
    location_choice = report.WhichOneof("location_oneof")
    if location_choice == "location":
        point = geo_point(report.location)
        kind = MeasurementKind.POSITION
        values: list[float] = [point.lat_deg, point.lon_deg, point.height_m]
        covariance = _location_covariance(report.location, point, uncertainty)
        # A position does not depend on where the sensor is; without a reported node
        # location the measurement itself stands in for it.
        sensor_position = node.location if node.location is not None else point
    else:
        if node.location is None:
            raise SapientContentError(
                f"range/bearing from node {node.node_id} before any status report "
                "with its node_location: the sensor position is unknown",
                field="detection_report.range_bearing",
            )
        kind, values, sigmas = _polar_values(report.range_bearing, uncertainty)
        covariance = _diagonal(sigmas)
        sensor_position = node.location
        if kind is MeasurementKind.POLAR and report.HasField("enu_velocity"):
            doppler = _radial_speed(report.enu_velocity, values, node.velocity_scale)
    best = best_classification(list(report.classification))
    return Detection(
        detection_id=f"sapient:{report.object_id}:{report.report_id}",
        time=time,
        sensor_id=node.node_id,
        kind=kind,
        values=tuple(values),
        covariance=covariance,
        sensor_position=sensor_position,
        sector=sector,
        doppler_mps=doppler,
        class_hint=best[0] if best is not None else None,
        class_confidence=best[1] if best is not None else None,
        received_at=received_at,
        releasability=releasability,
    )


def behaviour_event(
    report: detection_report_pb2.DetectionReport,
    *,
    node_id: str,
    time: datetime,
    position: GeoPoint | None,
    releasability: str,
) -> Event | None:
    """The behaviours a node saw (e.g. loitering, approaching), as one observation."""
    if not report.behaviour:
        return None
    attributes = {"object_id": report.object_id, "report_id": report.report_id}
    parts = []
    for behaviour in report.behaviour:
        confidence = (
            f"{behaviour.confidence:.2f}" if behaviour.HasField("confidence") else "unknown"
        )
        attributes[f"behaviour.{behaviour.type}"] = confidence
        parts.append(f"{behaviour.type} ({confidence})")
    return Event(
        event_id=f"sapient:{report.report_id}:behaviour",
        time=time,
        source_id=node_id,
        kind=EventKind.OBSERVATION,
        severity=3,
        summary=f"object {report.object_id}: " + ", ".join(parts),
        position=position,
        subject_id=report.object_id,
        attributes=attributes,
        releasability=releasability,
    )


_SYSTEM_SEVERITY = {
    StatusReport.System.SYSTEM_OK: 0,
    StatusReport.System.SYSTEM_WARNING: 4,
    StatusReport.System.SYSTEM_ERROR: 7,
    StatusReport.System.SYSTEM_GOODBYE: 2,
}


def status_event(
    status: status_report_pb2.StatusReport,
    *,
    node_id: str,
    time: datetime,
    position: GeoPoint | None,
    releasability: str,
) -> Event:
    """A node's heartbeat -> its health as a ``sensor_status`` event."""
    system = _enum_text(StatusReport.System, status.system, "SYSTEM_")
    attributes = {
        "system": system,
        "mode": status.mode,
        "info": _enum_text(StatusReport.Info, status.info, "INFO_"),
        "report_id": status.report_id,
    }
    if status.HasField("active_task_id"):
        attributes["active_task_id"] = status.active_task_id
    if status.HasField("power"):
        if status.power.HasField("level"):
            attributes["power.level"] = str(status.power.level)
        attributes["power.status"] = StatusReport.PowerStatus.Name(status.power.status)
    severity = _SYSTEM_SEVERITY.get(status.system, 5)
    for item in status.status:
        kind = _enum_text(StatusReport.StatusType, item.status_type, "STATUS_TYPE_")
        attributes[f"status.{kind}"] = item.status_value
        if item.status_level == StatusReport.StatusLevel.STATUS_LEVEL_ERROR_STATUS:
            severity = max(severity, 6)
        elif item.status_level == StatusReport.StatusLevel.STATUS_LEVEL_WARNING_STATUS:
            severity = max(severity, 3)
    return Event(
        event_id=f"sapient:{status.report_id}",
        time=time,
        source_id=node_id,
        kind=EventKind.SENSOR_STATUS,
        severity=severity,
        summary=f"node {node_id}: system {system}, mode {status.mode}",
        position=position,
        attributes=attributes,
        releasability=releasability,
    )


_ALERT_SEVERITY = {
    Alert.AlertType.ALERT_TYPE_INFORMATION: 2,
    Alert.AlertType.ALERT_TYPE_WARNING: 5,
    Alert.AlertType.ALERT_TYPE_CRITICAL: 8,
    Alert.AlertType.ALERT_TYPE_ERROR: 6,
    Alert.AlertType.ALERT_TYPE_FATAL: 9,
    Alert.AlertType.ALERT_TYPE_MODE_CHANGE: 1,
}
_PRIORITY_BONUS = {
    Alert.DiscretePriority.DISCRETE_PRIORITY_LOW: 0,
    Alert.DiscretePriority.DISCRETE_PRIORITY_MEDIUM: 1,
    Alert.DiscretePriority.DISCRETE_PRIORITY_HIGH: 2,
}
# Alerts about the node itself are sensor health; the others are about the scene.
_HEALTH_ALERTS = {
    Alert.AlertType.ALERT_TYPE_ERROR,
    Alert.AlertType.ALERT_TYPE_FATAL,
    Alert.AlertType.ALERT_TYPE_MODE_CHANGE,
}


def alert_event(
    alert: alert_pb2.Alert,
    *,
    node: NodeContext,
    time: datetime,
    releasability: str,
) -> Event:
    position: GeoPoint | None = None
    choice = alert.WhichOneof("location_oneof")
    if choice == "location":
        position = geo_point(alert.location, "alert.location")
    elif choice == "range_bearing" and node.location is not None:
        kind, values, _ = _polar_values(alert.range_bearing, Uncertainty())
        if kind is MeasurementKind.POLAR:
            frame = LocalFrame(node.location.lat_deg, node.location.lon_deg, node.location.height_m)
            lat, lon, height = frame.enu_to_geodetic(polar_to_enu(*values))
            position = GeoPoint(lat_deg=float(lat), lon_deg=float(lon), height_m=float(height))
    severity = min(
        10, _ALERT_SEVERITY.get(alert.alert_type, 4) + _PRIORITY_BONUS.get(alert.priority, 0)
    )
    attributes = {
        "alert_id": alert.alert_id,
        "alert_type": _enum_text(Alert.AlertType, alert.alert_type, "ALERT_TYPE_"),
        "status": _enum_text(Alert.AlertStatus, alert.status, "ALERT_STATUS_"),
    }
    if alert.HasField("confidence") and math.isfinite(alert.confidence):
        attributes["confidence"] = f"{alert.confidence:.2f}"
    if alert.HasField("region_id"):
        attributes["region_id"] = alert.region_id
    objects = [item.object_id for item in alert.associated_detection]
    if objects:
        attributes["object_ids"] = ",".join(objects)
    event_kind = (
        EventKind.SENSOR_STATUS if alert.alert_type in _HEALTH_ALERTS else EventKind.OBSERVATION
    )
    return Event(
        event_id=f"sapient:{alert.alert_id}",
        time=time,
        source_id=node.node_id,
        kind=event_kind,
        severity=severity,
        summary=alert.description or f"alert {attributes['alert_type']} from {node.node_id}",
        position=position,
        subject_id=objects[0] if objects else None,
        attributes=attributes,
        releasability=releasability,
    )


def registration_event(
    registration: registration_pb2.Registration,
    *,
    node_id: str,
    time: datetime,
    releasability: str,
) -> Event:
    node_types = ",".join(
        _enum_text(registration_pb2.Registration.NodeType, item.node_type, "NODE_TYPE_")
        for item in registration.node_definition
    )
    name = registration.name or registration.short_name or node_id
    return Event(
        event_id=f"sapient:{node_id}:registration:{time.timestamp():.3f}",
        time=time,
        source_id=node_id,
        kind=EventKind.SENSOR_STATUS,
        severity=0,
        summary=f"node {name} registered ({node_types}), ICD {registration.icd_version}",
        attributes={
            "state": "registered",
            "name": name,
            "node_types": node_types,
            "icd_version": registration.icd_version,
            "modes": ",".join(mode.mode_name for mode in registration.mode_definition),
        },
        releasability=releasability,
    )


def velocity_scale(registration: registration_pb2.Registration) -> float:
    """Factor from the node's declared ENU velocity units to m/s (default m/s)."""
    for mode in registration.mode_definition:
        for definition in mode.detection_definition:
            velocity_type = definition.velocity_type
            if velocity_type.HasField("enu_velocity_units"):
                units = velocity_type.enu_velocity_units.east_north_rate_units
                return 1000.0 / 3600.0 if units == velocity_pb2.SPEED_UNITS_KPH else 1.0
    return 1.0


def task_ack_event(
    ack: task_ack_pb2.TaskAck, *, node_id: str, time: datetime, releasability: str
) -> Event:
    status = _enum_text(task_ack_pb2.TaskAck.TaskStatus, ack.task_status, "TASK_STATUS_")
    refused = ack.task_status in (
        task_ack_pb2.TaskAck.TaskStatus.TASK_STATUS_REJECTED,
        task_ack_pb2.TaskAck.TaskStatus.TASK_STATUS_FAILED,
    )
    reasons = "; ".join(ack.reason)
    return Event(
        event_id=f"sapient:{ack.task_id}:ack:{status}",
        time=time,
        source_id=node_id,
        kind=EventKind.SENSOR_STATUS,
        severity=4 if refused else 0,
        summary=f"node {node_id}: task {ack.task_id} {status}"
        + (f": {reasons}" if reasons else ""),
        attributes={"task_id": ack.task_id, "task_status": status, "reasons": reasons},
        releasability=releasability,
    )


def node_error_event(
    reasons: list[str], *, node_id: str, time: datetime, releasability: str
) -> Event:
    """An Error a node sent us: it refused something we sent."""
    text = "; ".join(reasons) or "no reason given"
    return Event(
        event_id=f"sapient:{node_id}:error:{time.timestamp():.6f}",
        time=time,
        source_id=node_id,
        kind=EventKind.SENSOR_STATUS,
        severity=5,
        summary=f"node {node_id} reported an error: {text}",
        attributes={"error": text},
        releasability=releasability,
    )


def message_time(seconds: int, nanos: int) -> datetime:
    """A protobuf Timestamp's fields -> aware UTC time (refusing out-of-range values)."""
    try:
        return datetime.fromtimestamp(seconds + nanos / 1e9, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise SapientContentError(
            "timestamp out of range", field="timestamp", got=f"{seconds} s"
        ) from None
