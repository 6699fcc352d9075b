"""Building the SAPIENT messages a fusion node sends: acks, errors and tasks.

The c2 layer cues sensors automatically (docs/c2.md, "Proposals": pointing a camera is a cue, not a
use of force) through these tasks: look at a point or a region, follow an object the
sensor reported, change mode. Identifiers follow the ICD: nodes are UUIDs, messages and
tasks are ULIDs.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from hotzone.ingest.sapient.proto.sapient_msg.bsi_flex_335_v2_0 import (
    alert_ack_pb2,
    error_pb2,
    follow_pb2,
    location_pb2,
    range_bearing_pb2,
    registration_ack_pb2,
    sapient_message_pb2,
    task_pb2,
)
from hotzone.types import GeoPoint

SapientMessage = sapient_message_pb2.SapientMessage
Task = task_pb2.Task

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now: datetime | None = None) -> str:
    """A ULID: 48-bit millisecond time then 80 random bits, in Crockford base32."""
    moment = now if now is not None else datetime.now(UTC)
    milliseconds = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    value = (milliseconds << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def envelope(
    node_id: str, destination_id: str | None = None, time: datetime | None = None
) -> sapient_message_pb2.SapientMessage:
    """A SapientMessage with its mandatory header; the caller sets the content."""
    message = SapientMessage(node_id=node_id)
    message.timestamp.FromDatetime(time if time is not None else datetime.now(UTC))
    if destination_id is not None:
        message.destination_id = destination_id
    return message


def registration_ack(
    node_id: str, destination_id: str, accepted: bool = True, reasons: Sequence[str] = ()
) -> sapient_message_pb2.SapientMessage:
    message = envelope(node_id, destination_id)
    message.registration_ack.CopyFrom(
        registration_ack_pb2.RegistrationAck(acceptance=accepted, ack_response_reason=reasons)
    )
    return message


def alert_ack(
    node_id: str, destination_id: str, alert_id: str, accepted: bool = True
) -> sapient_message_pb2.SapientMessage:
    status = alert_ack_pb2.AlertAck.AlertAckStatus
    message = envelope(node_id, destination_id)
    message.alert_ack.CopyFrom(
        alert_ack_pb2.AlertAck(
            alert_id=alert_id,
            alert_ack_status=status.ALERT_ACK_STATUS_ACCEPTED
            if accepted
            else status.ALERT_ACK_STATUS_REJECTED,
        )
    )
    return message


def error_message(
    node_id: str, destination_id: str | None, packet: bytes, reasons: Sequence[str]
) -> sapient_message_pb2.SapientMessage:
    """The ICD's Error: the offending packet and why it was refused."""
    message = envelope(node_id, destination_id)
    message.error.CopyFrom(error_pb2.Error(packet=packet, error_message=list(reasons)))
    return message


def _location(point: GeoPoint) -> location_pb2.Location:
    return location_pb2.Location(
        x=point.lon_deg,
        y=point.lat_deg,
        z=point.height_m,
        coordinate_system=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
        datum=location_pb2.LOCATION_DATUM_WGS84_E,
    )


def _task(
    name: str, command: task_pb2.Task.Command, task_id: str | None, description: str
) -> task_pb2.Task:
    return Task(
        task_id=task_id if task_id is not None else new_ulid(),
        task_name=name,
        task_description=description,
        control=Task.Control.CONTROL_START,
        command=command,
    )


def look_at_point_task(
    point: GeoPoint, task_id: str | None = None, description: str = ""
) -> task_pb2.Task:
    """Point the sensor at one position (a track's, for cueing)."""
    area = range_bearing_pb2.LocationOrRangeBearing(
        location_list=location_pb2.LocationList(locations=[_location(point)])
    )
    return _task("look_at", Task.Command(look_at=area), task_id, description)


def look_at_region_task(
    corners: Sequence[GeoPoint], task_id: str | None = None, description: str = ""
) -> task_pb2.Task:
    """Point the sensor at a region given by its corners (at least three)."""
    if len(corners) < 3:
        raise ValueError(f"a region needs at least 3 corners, got {len(corners)}")
    area = range_bearing_pb2.LocationOrRangeBearing(
        location_list=location_pb2.LocationList(locations=[_location(c) for c in corners])
    )
    return _task("look_at", Task.Command(look_at=area), task_id, description)


def follow_object_task(
    object_id: str, task_id: str | None = None, description: str = ""
) -> task_pb2.Task:
    """Follow an object by the ``object_id`` the sensor gave it in its detection reports."""
    command = Task.Command(follow=follow_pb2.FollowObject(follow_object_id=object_id))
    return _task("follow", command, task_id, description)


def change_mode_task(mode: str, task_id: str | None = None, description: str = "") -> task_pb2.Task:
    """Switch the sensor to one of the modes it declared in its registration."""
    return _task("mode_change", Task.Command(mode_change=mode), task_id, description)


def task_message(
    node_id: str, destination_id: str, task: task_pb2.Task
) -> sapient_message_pb2.SapientMessage:
    message = envelope(node_id, destination_id)
    message.task.CopyFrom(task)
    return message
