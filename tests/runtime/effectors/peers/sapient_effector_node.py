"""A SAPIENT (BSI Flex 335 v2.0) effector node written with the third-party ``sapient-py``
bindings (``sapient_msg`` generated classes, ``sapient_py`` framing), run as its own process.

It imports nothing of hotzone: it is the effector vendor's side of the interface. It
connects to a fusion node, registers as the node type it is given, declares the commands
it accepts in its one mode, and answers tasks as ``--behaviour`` says:

- ``accept``: TaskAck accepted, then a StatusReport naming the task active; a STOP is
  acknowledged (accepted) and the next StatusReport names no task;
- ``complete``: as accept, then TaskAck completed;
- ``reject``: TaskAck rejected with a reason;
- ``silent``: never answers a task;
- ``disconnect``: accepts, reports the task active, then closes the connection.

Everything it receives is printed as one JSON object per line on stdout, so a test can
check exactly what reached the effector. It runs until its connection closes or it is
terminated. (``sapient_msg`` registers the same .proto file names as hotzone's generated
classes, so the two cannot share a process: a reason more for a process of its own.)
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
import time
from datetime import UTC, datetime

from sapient_msg.bsi_flex_335_v2_0 import (
    detection_report_pb2,
    location_pb2,
    registration_pb2,
    sapient_message_pb2,
    status_report_pb2,
    task_ack_pb2,
    task_pb2,
)
from sapient_py import encode_frame

Registration = registration_pb2.Registration
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid() -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def say(**record: object) -> None:
    print(json.dumps(record), flush=True)


class Node:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sock = socket.create_connection((args.host, args.port))
        self.buffer = b""
        self.mode = "engage"
        self.active: str | None = None

    def envelope(self) -> sapient_message_pb2.SapientMessage:
        message = sapient_message_pb2.SapientMessage(node_id=self.args.node_id)
        message.timestamp.FromDatetime(datetime.now(UTC))
        return message

    def send(self, message: sapient_message_pb2.SapientMessage) -> None:
        self.sock.sendall(encode_frame(message))

    def receive(self) -> sapient_message_pb2.SapientMessage | None:
        while True:
            if len(self.buffer) >= 4:
                length = int.from_bytes(self.buffer[:4], "little")
                if len(self.buffer) >= 4 + length:
                    payload = self.buffer[4 : 4 + length]
                    self.buffer = self.buffer[4 + length :]
                    return sapient_message_pb2.SapientMessage.FromString(payload)
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk

    def register(self) -> None:
        seconds = Registration.Duration(units=Registration.TimeUnits.TIME_UNITS_SECONDS, value=1.0)
        lat_lng = Registration.LocationType(
            location_units=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
            location_datum=location_pb2.LOCATION_DATUM_WGS84_E,
        )
        commands = [
            Registration.Command(
                units="WGS-84 lat/lng",
                completion_time=seconds,
                type=Registration.CommandType.Value(f"COMMAND_TYPE_{name.upper()}"),
            )
            for name in self.args.commands.split(",")
            if name
        ]
        mode = Registration.ModeDefinition(
            mode_name=self.mode,
            mode_type=Registration.ModeType.MODE_TYPE_DEFAULT,
            settle_time=seconds,
            detection_definition=[Registration.DetectionDefinition(location_type=lat_lng)],
            task=Registration.TaskDefinition(
                concurrent_tasks=self.args.concurrent_tasks,
                region_definition=Registration.RegionDefinition(
                    region_type=[Registration.RegionType.REGION_TYPE_AREA_OF_INTEREST],
                    region_area=[lat_lng],
                ),
                command=commands,
            ),
        )
        standby = Registration.ModeDefinition()
        standby.CopyFrom(mode)
        standby.mode_name = "standby"
        standby.mode_type = Registration.ModeType.MODE_TYPE_PERMANENT
        message = self.envelope()
        message.registration.CopyFrom(
            Registration(
                node_definition=[
                    Registration.NodeDefinition(
                        node_type=Registration.NodeType.Value(f"NODE_TYPE_{self.args.node_type}")
                    )
                ],
                icd_version="BSI Flex 335 v2.0",
                name=f"test effector {self.args.node_type.lower()}",
                capabilities=[Registration.Capability(category="Effector", type="Engage")],
                status_definition=Registration.StatusDefinition(status_interval=seconds),
                mode_definition=[mode, standby],
                config_data=[Registration.ConfigurationData(manufacturer="Test", model="E1")],
            )
        )
        self.send(message)

    def status(self) -> None:
        report = status_report_pb2.StatusReport
        message = self.envelope()
        message.status_report.CopyFrom(
            report(
                report_id=ulid(),
                system=report.System.SYSTEM_OK,
                info=report.Info.INFO_NEW,
                mode=self.mode,
                node_location=location_pb2.Location(
                    x=self.args.lon,
                    y=self.args.lat,
                    z=200.0,
                    coordinate_system=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
                    datum=location_pb2.LOCATION_DATUM_WGS84_E,
                ),
                **({"active_task_id": self.active} if self.active else {}),
            )
        )
        self.send(message)

    def detection(self, object_id: str, lat: float, lon: float) -> None:
        message = self.envelope()
        message.detection_report.CopyFrom(
            detection_report_pb2.DetectionReport(
                report_id=ulid(),
                object_id=object_id,
                location=location_pb2.Location(
                    x=lon,
                    y=lat,
                    z=300.0,
                    coordinate_system=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
                    datum=location_pb2.LOCATION_DATUM_WGS84_E,
                ),
            )
        )
        self.send(message)

    def ack(self, task_id: str, status: int, reasons: list[str] | None = None) -> None:
        message = self.envelope()
        message.task_ack.CopyFrom(
            task_ack_pb2.TaskAck(task_id=task_id, task_status=status, reason=reasons or [])
        )
        self.send(message)

    def on_task(self, message: sapient_message_pb2.SapientMessage) -> bool:
        """Answer a task; False when the node leaves."""
        task = message.task
        command = task.command.WhichOneof("command")
        record: dict[str, object] = {
            "event": "task",
            "task_id": task.task_id,
            "control": task_pb2.Task.Control.Name(task.control).removeprefix("CONTROL_"),
            "command": command,
            "destination_id": message.destination_id,
            "from": message.node_id,
            "description": task.task_description,
            "regions": [task_pb2.Task.RegionType.Name(region.type) for region in task.region],
        }
        if command in ("look_at",):
            point = task.command.look_at.location_list.locations[0]
            record["point"] = [point.y, point.x]
        elif command == "move_to":
            point = task.command.move_to.locations[0]
            record["point"] = [point.y, point.x]
        elif command == "follow":
            record["object_id"] = task.command.follow.follow_object_id
        elif command == "mode_change":
            record["mode"] = task.command.mode_change
        say(**record)
        status = task_ack_pb2.TaskAck.TaskStatus
        behaviour = self.args.behaviour
        if task.control == task_pb2.Task.Control.CONTROL_STOP:
            if behaviour != "silent":
                self.active = None
                self.ack(task.task_id, status.TASK_STATUS_ACCEPTED)
                self.status()
            return True
        if behaviour == "silent":
            return True
        if behaviour == "reject":
            self.ack(task.task_id, status.TASK_STATUS_REJECTED, ["target outside my envelope"])
            return True
        self.ack(task.task_id, status.TASK_STATUS_ACCEPTED)
        self.active = task.task_id
        self.status()
        if behaviour == "complete":
            self.active = None
            self.ack(task.task_id, status.TASK_STATUS_COMPLETED, ["target engaged"])
        if behaviour == "disconnect":
            say(event="leaving")
            return False
        return True

    def run(self) -> None:
        self.register()
        while True:
            message = self.receive()
            if message is None:
                say(event="closed")
                return
            content = message.WhichOneof("content")
            if content == "registration_ack":
                ack = message.registration_ack
                say(
                    event="registration_ack",
                    accepted=ack.acceptance,
                    reasons=list(ack.ack_response_reason),
                )
                if ack.acceptance:
                    self.status()
                    if self.args.report_object:
                        object_id, lat, lon = self.args.report_object.split(",")
                        self.detection(object_id, float(lat), float(lon))
                    # A status after the detection: when the fusion node has answered it,
                    # it has taken the detection too.
                    self.status()
                    say(event="ready")
            elif content == "error":
                say(event="error", reasons=list(message.error.error_message))
            elif content == "task" and not self.on_task(message):
                self.sock.close()
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--node-id", required=True)
    parser.add_argument("--node-type", required=True, help="KINETIC, JAMMER, MOBILE_NODE, ...")
    parser.add_argument("--commands", default="look_at", help="declared: look_at,move_to,...")
    parser.add_argument("--concurrent-tasks", type=int, default=1)
    parser.add_argument(
        "--behaviour",
        default="accept",
        choices=("accept", "complete", "reject", "silent", "disconnect"),
    )
    parser.add_argument("--report-object", default="", help="OBJECT_ID,LAT,LON to report")
    parser.add_argument("--lat", type=float, default=54.09)
    parser.add_argument("--lon", type=float, default=22.99)
    args = parser.parse_args()
    try:
        Node(args).run()
    except (ConnectionError, OSError) as error:
        say(event="closed", error=str(error))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
