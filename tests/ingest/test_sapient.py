"""SAPIENT decoder: framing, ICD validation and the mapping to Detections and Events.

The builders here play a SAPIENT sensor (ASM); test_sapient_server.py reuses them.
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime

import pytest

from hotzone.cli import main
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.ingest.sapient import FrameSplitter, SapientDecoder, encode_frame, icd_violations
from hotzone.ingest.sapient import messages as fusion_node
from hotzone.ingest.sapient.mapping import target_class_of
from hotzone.ingest.sapient.proto.sapient_msg.bsi_flex_335_v2_0 import (
    alert_pb2,
    detection_report_pb2,
    location_pb2,
    range_bearing_pb2,
    registration_pb2,
    sapient_message_pb2,
    status_report_pb2,
    task_ack_pb2,
    velocity_pb2,
)
from hotzone.types import Detection, Event, EventKind, MeasurementKind, TargetClass, from_json

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SENSOR = "5b2a1c9e-8d4f-4a3b-9e6d-1f2a3b4c5d6e"
SENSOR_LAT, SENSOR_LON = 54.10, 22.93
Registration = registration_pb2.Registration
DetectionReport = detection_report_pb2.DetectionReport


def envelope(node_id: str = SENSOR, time: datetime = NOW) -> sapient_message_pb2.SapientMessage:
    message = sapient_message_pb2.SapientMessage(node_id=node_id)
    message.timestamp.FromDatetime(time)
    return message


def registration(node_id: str = SENSOR, kph: bool = False) -> sapient_message_pb2.SapientMessage:
    """A complete registration of a radar with one mode, as the ICD requires."""
    seconds = Registration.Duration(units=Registration.TimeUnits.TIME_UNITS_SECONDS, value=1.0)
    units = velocity_pb2.SPEED_UNITS_KPH if kph else velocity_pb2.SPEED_UNITS_MS
    mode = Registration.ModeDefinition(
        mode_name="surveillance",
        mode_type=Registration.ModeType.MODE_TYPE_DEFAULT,
        settle_time=seconds,
        detection_definition=[
            Registration.DetectionDefinition(
                location_type=Registration.LocationType(
                    range_bearing_units=range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M,
                    range_bearing_datum=range_bearing_pb2.RANGE_BEARING_DATUM_TRUE,
                ),
                velocity_type=Registration.VelocityType(
                    enu_velocity_units=velocity_pb2.ENUVelocityUnits(east_north_rate_units=units),
                    location_datum=location_pb2.LOCATION_DATUM_WGS84_E,
                ),
            )
        ],
        task=Registration.TaskDefinition(
            region_definition=Registration.RegionDefinition(
                region_type=[Registration.RegionType.REGION_TYPE_AREA_OF_INTEREST],
                region_area=[
                    Registration.LocationType(
                        location_units=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
                        location_datum=location_pb2.LOCATION_DATUM_WGS84_E,
                    )
                ],
            )
        ),
    )
    message = envelope(node_id)
    message.registration.CopyFrom(
        Registration(
            node_definition=[
                Registration.NodeDefinition(node_type=Registration.NodeType.NODE_TYPE_RADAR)
            ],
            icd_version="BSI Flex 335 v2.0",
            name="Counter-UAS radar 1",
            capabilities=[Registration.Capability(category="Radar", type="Detection")],
            status_definition=Registration.StatusDefinition(status_interval=seconds),
            mode_definition=[mode],
            config_data=[Registration.ConfigurationData(manufacturer="Test", model="R1")],
        )
    )
    return message


def status_report(
    node_id: str = SENSOR, system: int = status_report_pb2.StatusReport.System.SYSTEM_OK
) -> sapient_message_pb2.SapientMessage:
    status = status_report_pb2.StatusReport
    message = envelope(node_id)
    message.status_report.CopyFrom(
        status(
            report_id=fusion_node.new_ulid(NOW),
            system=system,
            info=status.Info.INFO_NEW,
            mode="surveillance",
            node_location=location_pb2.Location(
                x=SENSOR_LON,
                y=SENSOR_LAT,
                z=150.0,
                coordinate_system=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
                datum=location_pb2.LOCATION_DATUM_WGS84_E,
            ),
            status=[
                status.Status(
                    status_type=status.StatusType.STATUS_TYPE_WEATHER,
                    status_level=status.StatusLevel.STATUS_LEVEL_WARNING_STATUS,
                    status_value="Raining",
                )
            ],
        )
    )
    return message


def range_bearing_detection(
    node_id: str = SENSOR,
    *,
    range_km: float = 2.0,
    azimuth_deg: float = 45.0,
    elevation_deg: float | None = 3.0,
    with_errors: bool = True,
) -> sapient_message_pb2.SapientMessage:
    location = range_bearing_pb2.RangeBearing(
        azimuth=azimuth_deg,
        range=range_km,
        coordinate_system=range_bearing_pb2.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_KM,
        datum=range_bearing_pb2.RANGE_BEARING_DATUM_TRUE,
    )
    if elevation_deg is not None:
        location.elevation = elevation_deg
    if with_errors:
        location.azimuth_error = 0.5
        location.range_error = 0.01
        location.elevation_error = 1.0
    message = envelope(node_id)
    message.detection_report.CopyFrom(
        DetectionReport(
            report_id=fusion_node.new_ulid(NOW),
            object_id=fusion_node.new_ulid(NOW),
            range_bearing=location,
            enu_velocity=velocity_pb2.ENUVelocity(east_rate=10.0, north_rate=10.0, up_rate=0.0),
            classification=[
                DetectionReport.DetectionReportClassification(
                    type="Air Vehicle",
                    confidence=0.9,
                    sub_class=[
                        DetectionReport.SubClass(type="UAV Rotary Wing", confidence=0.8, level=1)
                    ],
                ),
                DetectionReport.DetectionReportClassification(type="Bird", confidence=0.1),
            ],
            behaviour=[DetectionReport.Behaviour(type="Loitering", confidence=0.7)],
        )
    )
    return message


def location_detection(node_id: str = SENSOR) -> sapient_message_pb2.SapientMessage:
    message = envelope(node_id)
    message.detection_report.CopyFrom(
        DetectionReport(
            report_id=fusion_node.new_ulid(NOW),
            object_id=fusion_node.new_ulid(NOW),
            location=location_pb2.Location(
                x=22.95,
                y=54.12,
                z=300.0,
                y_error=0.0001,  # degrees of latitude: about 11 m
                x_error=0.0001,
                z_error=20.0,
                coordinate_system=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
                datum=location_pb2.LOCATION_DATUM_WGS84_E,
            ),
            classification=[
                DetectionReport.DetectionReportClassification(type="Human", confidence=0.6)
            ],
        )
    )
    return message


def alert(node_id: str = SENSOR) -> sapient_message_pb2.SapientMessage:
    message = envelope(node_id)
    message.alert.CopyFrom(
        alert_pb2.Alert(
            alert_id=fusion_node.new_ulid(NOW),
            alert_type=alert_pb2.Alert.AlertType.ALERT_TYPE_CRITICAL,
            status=alert_pb2.Alert.AlertStatus.ALERT_STATUS_ACTIVE,
            description="drone entered the protected area",
            priority=alert_pb2.Alert.DiscretePriority.DISCRETE_PRIORITY_HIGH,
            location=location_pb2.Location(
                x=22.95,
                y=54.12,
                coordinate_system=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
                datum=location_pb2.LOCATION_DATUM_WGS84_E,
            ),
        )
    )
    return message


def task_ack(task_id: str, node_id: str = SENSOR) -> sapient_message_pb2.SapientMessage:
    message = envelope(node_id)
    message.task_ack.CopyFrom(
        task_ack_pb2.TaskAck(
            task_id=task_id, task_status=task_ack_pb2.TaskAck.TaskStatus.TASK_STATUS_ACCEPTED
        )
    )
    return message


def frames(*messages: sapient_message_pb2.SapientMessage) -> bytes:
    return b"".join(encode_frame(message.SerializeToString()) for message in messages)


def decode(*messages: sapient_message_pb2.SapientMessage) -> tuple[list[object], list[str]]:
    decoder = SapientDecoder()
    result = decoder.feed(frames(*messages), NOW)
    result.extend(decoder.flush(NOW))
    return list(result.messages), [item.reason for item in result.rejected]


def test_frame_is_four_byte_little_endian_length_then_protobuf() -> None:
    payload = registration().SerializeToString()
    frame = encode_frame(payload)
    assert struct.unpack("<I", frame[:4])[0] == len(payload)
    splitter = FrameSplitter()
    head, _ = splitter.feed(frame[:7])
    tail, bad = splitter.feed(frame[7:] + frame)
    assert head == [] and bad is None
    assert tail == [payload, payload]


def test_a_complete_registration_has_no_icd_violations() -> None:
    assert icd_violations(registration()) == []


def test_missing_mandatory_fields_are_named_by_path() -> None:
    message = registration()
    message.registration.ClearField("icd_version")
    message.registration.mode_definition[0].ClearField("settle_time")
    message.ClearField("timestamp")
    violations = icd_violations(message)
    assert "timestamp: mandatory field missing" in violations
    assert "registration.icd_version: mandatory field missing" in violations
    assert "registration.mode_definition[0].settle_time: mandatory field missing" in violations


def test_identifiers_must_be_uuid_and_ulid() -> None:
    message = range_bearing_detection(node_id="radar-1")
    message.detection_report.report_id = "42"
    violations = icd_violations(message)
    assert any(v.startswith("node_id: not a UUID") for v in violations)
    assert any(v.startswith("detection_report.report_id: not a ULID") for v in violations)
    assert icd_violations(range_bearing_detection()) == []


def test_range_bearing_detection_becomes_polar_with_uncertainty_and_class() -> None:
    messages, rejected = decode(registration(), status_report(), range_bearing_detection())
    assert rejected == []
    detection = next(m for m in messages if isinstance(m, Detection))
    assert detection.kind is MeasurementKind.POLAR
    assert detection.values == pytest.approx((2000.0, 45.0, 3.0))
    # errors are one sigma in the report's units: 0.01 km -> 10 m, 0.5 deg, 1 deg
    assert [detection.covariance[i][i] for i in range(3)] == pytest.approx([100.0, 0.25, 1.0])
    assert detection.sensor_position.lat_deg == pytest.approx(SENSOR_LAT)
    assert detection.sensor_position.height_m == pytest.approx(150.0)
    # "UAV Rotary Wing" is the deepest known sub-class of the most confident class
    assert detection.class_hint is TargetClass.SMALL_UAV
    assert detection.class_confidence == pytest.approx(0.8)
    # velocity (10, 10, 0) m/s along azimuth 45 deg, elevation 3 deg: radial ~14.1 m/s
    assert detection.doppler_mps == pytest.approx(math.hypot(10, 10) * math.cos(math.radians(3)))
    assert detection.sensor_id == SENSOR and detection.time == NOW


def test_velocity_in_kph_from_the_registration_is_converted() -> None:
    messages, _ = decode(registration(kph=True), status_report(), range_bearing_detection())
    detection = next(m for m in messages if isinstance(m, Detection))
    assert detection.doppler_mps == pytest.approx(
        math.hypot(10, 10) * math.cos(math.radians(3)) / 3.6
    )


def test_missing_errors_and_elevation_use_documented_defaults() -> None:
    detection_message = range_bearing_detection(elevation_deg=None, with_errors=False)
    messages, _ = decode(registration(), status_report(), detection_message)
    detection = next(m for m in messages if isinstance(m, Detection))
    assert detection.values[2] == 0.0
    sigmas = [math.sqrt(detection.covariance[i][i]) for i in range(3)]
    assert sigmas == pytest.approx([10.0, 1.0, 15.0])


def test_location_detection_becomes_position_with_errors_in_metres() -> None:
    messages, rejected = decode(registration(), location_detection())
    assert rejected == []
    detection = next(m for m in messages if isinstance(m, Detection))
    assert detection.kind is MeasurementKind.POSITION
    assert detection.values == pytest.approx((54.12, 22.95, 300.0))
    north_sigma = math.sqrt(detection.covariance[1][1])
    east_sigma = math.sqrt(detection.covariance[0][0])
    assert north_sigma == pytest.approx(11.13, abs=0.05)
    assert east_sigma == pytest.approx(11.13 * math.cos(math.radians(54.12)), abs=0.05)
    assert math.sqrt(detection.covariance[2][2]) == pytest.approx(20.0)
    assert detection.class_hint is TargetClass.PERSON


def test_behaviour_becomes_an_observation_about_the_object() -> None:
    messages, _ = decode(registration(), status_report(), range_bearing_detection())
    detection = next(m for m in messages if isinstance(m, Detection))
    behaviour = next(
        m for m in messages if isinstance(m, Event) and m.kind is EventKind.OBSERVATION
    )
    assert behaviour.attributes["behaviour.Loitering"] == "0.70"
    assert behaviour.subject_id is not None and behaviour.subject_id in detection.detection_id


def test_status_report_is_sensor_health_and_alert_is_an_event() -> None:
    error = status_report_pb2.StatusReport.System.SYSTEM_ERROR
    messages, rejected = decode(
        registration(), status_report(), status_report(system=error), alert()
    )
    assert rejected == []
    events = [m for m in messages if isinstance(m, Event)]
    registered, healthy, broken, alerted = events
    assert registered.attributes["state"] == "registered"
    assert healthy.kind is EventKind.SENSOR_STATUS and broken.kind is EventKind.SENSOR_STATUS
    assert broken.severity > healthy.severity
    assert healthy.attributes["status.weather"] == "Raining"
    assert healthy.position is not None and healthy.position.lat_deg == pytest.approx(SENSOR_LAT)
    assert alerted.kind is EventKind.OBSERVATION
    assert alerted.summary == "drone entered the protected area"
    assert alerted.severity > healthy.severity
    assert alerted.position is not None and alerted.position.lon_deg == pytest.approx(22.95)


def test_messages_before_registration_are_refused() -> None:
    messages, rejected = decode(status_report(), registration(), status_report())
    assert len(rejected) == 1 and "before its registration" in rejected[0]
    assert len(messages) == 2


def test_range_bearing_before_the_sensor_location_is_known_is_refused() -> None:
    _, rejected = decode(registration(), range_bearing_detection())
    assert len(rejected) == 1 and "sensor position is unknown" in rejected[0]


def test_messages_a_sensor_does_not_send_are_wrong_messages() -> None:
    ack = fusion_node.registration_ack(SENSOR, SENSOR)
    task = fusion_node.task_message(SENSOR, SENSOR, fusion_node.change_mode_task("standby"))
    _, rejected = decode(registration(), ack, task)
    assert len(rejected) == 2
    assert all(reason.startswith("content: wrong message") for reason in rejected)


def test_magnetic_bearings_and_utm_are_refused_with_the_field_named() -> None:
    magnetic = range_bearing_detection()
    magnetic.detection_report.range_bearing.datum = range_bearing_pb2.RANGE_BEARING_DATUM_MAGNETIC
    utm = location_detection()
    utm.detection_report.location.coordinate_system = location_pb2.LOCATION_COORDINATE_SYSTEM_UTM_M
    _, rejected = decode(registration(), status_report(), magnetic, utm)
    assert rejected[0].startswith("range_bearing.datum:")
    assert rejected[1].startswith("location.coordinate_system:")


def test_bad_length_and_truncated_frame_are_dead_letters() -> None:
    decoder = SapientDecoder()
    good = frames(registration())
    result = decoder.feed(good + struct.pack("<I", 0xFFFFFFF0) + b"junk", NOW)
    assert len(result.messages) == 1
    assert result.rejected[0].reason.startswith("bad frame length: 4294967280 bytes")
    truncated = decoder.feed(frames(status_report())[:-3], NOW)
    truncated.extend(decoder.flush(NOW))
    assert truncated.rejected[0].reason.startswith("truncated frame")
    assert decoder.counters.frames == 3


def test_class_names_map_by_their_words() -> None:
    assert target_class_of("UAV Fixed Wing") is TargetClass.SMALL_UAV
    assert target_class_of("Land Vehicle") is TargetClass.GROUND_VEHICLE
    assert target_class_of("Bird") is TargetClass.BIRD_FLOCK
    assert target_class_of("Carpet") is None  # "car" is a word, not a prefix


def test_registry_and_decode_command(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    assert isinstance(decoder_factories()["sapient"](DecoderOptions()), SapientDecoder)
    capture = Path(str(tmp_path)) / "sensor.bin"
    capture.write_bytes(frames(registration(), status_report(), range_bearing_detection()))
    assert main(["decode", "sapient", str(capture)]) == 0
    lines = capsys.readouterr().out.splitlines()
    decoded = [from_json(line.encode()) for line in lines]
    assert [type(m).__name__ for m in decoded] == ["Event", "Event", "Detection", "Event"]
