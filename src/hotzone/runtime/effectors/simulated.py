"""Simulated effectors behind the real interfaces, for exercises and demos.

Each is the effector's side of its standard interface, run by the simulator: the gateways
meet them exactly as they meet real effectors (docs/effectors.md). They keep the
simulation's time (``clock``, the pipeline's simulated time), so an exercise played at 4x
real time or a demo played as fast as possible flies and engages in simulated seconds.

`SimulatedMavlinkVehicle` is an interceptor drone's autopilot as the MAVLink gateway meets
a real one: it sends HEARTBEAT and GLOBAL_POSITION_INT to the gateway's UDP port, answers
every COMMAND_LONG / COMMAND_INT with a COMMAND_ACK (a retransmission is acknowledged but
not carried out twice), arms, takes off, flies to each DO_REPOSITION point at its cruise
speed and returns to its launch point on RETURN_TO_LAUNCH.

`SimulatedSapientNode` is a SAPIENT (BSI Flex 335 v2.0) effector node, a TCP client of
hotzone's SAPIENT server speaking the same protobuf messages as any node: it registers as
``NODE_TYPE_KINETIC`` (a missile battery), ``JAMMER`` or ``MOBILE_NODE`` (a quick-reaction
team) with one mode and the commands it takes, reports its status (its ``node_location``,
the active task), answers each Task with a TaskAck and stops on ``CONTROL_STOP``. What it
does with a START: a kinetic node's missile flies from the node to the task's point at the
effector's speed and the node reports TaskAck completed on its arrival (no DetectionReport
of its own missile: SAPIENT v2.0 gives a detection no identity, so the picture would show
an unknown fast object to engage); a jammer jams from the moment it receives the task
(TaskAck completed at once: the effect model applies the jamming then, and the jammed
drone goes down in the simulation); a mobile node drives to its ``move_to`` point at its
speed (its StatusReports carry where it is) and completes on arrival.

So an exercise (``hotzone serve``) and a demo carry an approved order through exactly the
gateway a deployment uses; the simulator learns the outcome from the gateway's
``effect_observed`` (`hotzone.sim.effects.EffectModelStage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymavlink.dialects.v20 import common as mavlink

from hotzone.ingest.sapient import messages as sapient_messages
from hotzone.ingest.sapient.framing import FrameSplitter, encode_frame
from hotzone.ingest.sapient.proto.sapient_msg.bsi_flex_335_v2_0 import (
    location_pb2,
    registration_pb2,
    sapient_message_pb2,
    status_report_pb2,
    task_ack_pb2,
    task_pb2,
)
from hotzone.runtime.effectors.config import SapientNodeType
from hotzone.runtime.effectors.sapient import NODE_TYPES
from hotzone.types import GeoPoint

Registration = registration_pb2.Registration

EARTH_M_PER_DEG = 111_320.0
REPORT_PERIOD_S = 0.2


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, vehicle: SimulatedMavlinkVehicle) -> None:
        self.vehicle = vehicle

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.vehicle.datagrams_received += 1
        try:
            messages = self.vehicle.codec.parse_buffer(data) or []
        except mavlink.MAVError:
            return
        for message in messages:
            if message.get_type() in ("COMMAND_LONG", "COMMAND_INT"):
                self.vehicle.on_command(message)


class SimulatedMavlinkVehicle:
    """One simulated interceptor drone on a MAVLink link to ``gateway`` (HOST, PORT)."""

    def __init__(
        self,
        gateway: tuple[str, int],
        system_id: int,
        home: GeoPoint,
        *,
        cruise_speed_mps: float = 70.0,
        time_factor: float = 1.0,
        clock: Callable[[], datetime] | None = None,
        stepped: bool = False,
    ) -> None:
        """``clock``: the simulation's time, on which it flies; without one it flies
        ``time_factor`` times as far per second of real time. ``stepped``: it flies and
        reports its position only when `step` tells it the time (a run that must come out
        the same every time steps it at each clock tick); its heartbeats keep their own
        pace, which changes nothing the gateway publishes once the link is up."""
        self.gateway = gateway
        self.clock = clock
        self.stepped = stepped
        self.system_id = system_id
        self.home = home
        self.cruise_speed_mps = cruise_speed_mps
        self.time_factor = time_factor
        self.lat, self.lon, self.alt = home.lat_deg, home.lon_deg, home.height_m
        self.goal: tuple[float, float] | None = None
        self.armed = False
        self.velocity = (0.0, 0.0)
        self.executed: set[tuple[int, float, float]] = set()
        self.codec = mavlink.MAVLink(None, srcSystem=system_id, srcComponent=1)
        self.transport: asyncio.DatagramTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._boot = time.monotonic()
        self._stepped_boot: datetime | None = None
        self._last_step: datetime | None = None
        #: Datagrams sent to and received from the gateway (a stepped run waits until the
        #: gateway's counts match: `hotzone.runtime.effectors.exercise`).
        self.datagrams_sent = 0
        self.datagrams_received = 0

    @property
    def position(self) -> GeoPoint:
        return GeoPoint(self.lat, self.lon, self.alt)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), remote_addr=self.gateway
        )
        self.transport = transport
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.transport is not None:
            self.transport.close()

    def _send(self, message: Any) -> None:
        if self.transport is not None:
            with contextlib.suppress(OSError):
                self.transport.sendto(message.pack(self.codec))
                self.datagrams_sent += 1

    def on_command(self, message: Any) -> None:
        if int(message.target_system) != self.system_id:
            return
        command = int(message.command)
        if message.get_type() == "COMMAND_INT":
            key = (command, float(message.x), float(message.y))
            repeat = key in self.executed
        else:
            key = (command, 0.0, 0.0)
            repeat = key in self.executed and int(message.confirmation) > 0
        if not repeat:
            self.executed.add(key)
            self._execute(command, message)
        self._send(self.codec.command_ack_encode(command, mavlink.MAV_RESULT_ACCEPTED))

    def _execute(self, command: int, message: Any) -> None:
        if command == mavlink.MAV_CMD_COMPONENT_ARM_DISARM:
            if message.param1 and self.goal is not None:
                # Armed again after a flight: the interceptor that flew is spent (it met
                # its target); the site's next one starts from the launch point.
                self.lat, self.lon, self.alt = (
                    self.home.lat_deg,
                    self.home.lon_deg,
                    self.home.height_m,
                )
                self.goal = None
                # A new flight: its commands are new, whatever points the last one had.
                self.executed = {(command, 0.0, 0.0)}
            self.armed = bool(message.param1)
        elif command == mavlink.MAV_CMD_NAV_TAKEOFF:
            self.alt = self.home.height_m + float(message.param7)
        elif command == mavlink.MAV_CMD_DO_REPOSITION:
            self.goal = (message.x / 1e7, message.y / 1e7)
            if float(message.param1) > 0:
                self.cruise_speed_mps = float(message.param1)
        elif command == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self.goal = (self.home.lat_deg, self.home.lon_deg)

    def move(self, dt_s: float) -> None:
        """Fly ``dt_s`` seconds of simulation time towards the goal."""
        if self.goal is None:
            self.velocity = (0.0, 0.0)
            return
        north = (self.goal[0] - self.lat) * EARTH_M_PER_DEG
        east = (self.goal[1] - self.lon) * EARTH_M_PER_DEG * math.cos(math.radians(self.lat))
        distance = math.hypot(north, east)
        if distance < 1.0:
            self.velocity = (0.0, 0.0)
            return
        step = min(distance, self.cruise_speed_mps * dt_s)
        self.lat += north / distance * step / EARTH_M_PER_DEG
        self.lon += east / distance * step / (EARTH_M_PER_DEG * math.cos(math.radians(self.lat)))
        speed = self.cruise_speed_mps
        self.velocity = (north / distance * speed, east / distance * speed)

    def step(self, now: datetime) -> None:
        """Fly up to the simulation time ``now`` and report the position (``stepped``)."""
        if self._stepped_boot is None:
            self._stepped_boot = now
        since = 0.0 if self._last_step is None else (now - self._last_step).total_seconds()
        self._last_step = now
        self.move(max(since, 0.0))
        boot_ms = (now - self._stepped_boot).total_seconds() * 1000
        self._report_position(round(boot_ms) % 2**32)

    def _report(self) -> None:
        self._report_heartbeat()
        self._report_position(int((time.monotonic() - self._boot) * 1000) % 2**32)

    def _report_heartbeat(self) -> None:
        base_mode = mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
        if self.armed:
            base_mode |= mavlink.MAV_MODE_FLAG_SAFETY_ARMED
        self._send(
            self.codec.heartbeat_encode(
                mavlink.MAV_TYPE_QUADROTOR, mavlink.MAV_AUTOPILOT_PX4, base_mode, 0,
                mavlink.MAV_STATE_ACTIVE,
            )
        )  # fmt: skip

    def _report_position(self, time_boot_ms: int) -> None:
        self._send(
            self.codec.global_position_int_encode(
                time_boot_ms,
                round(self.lat * 1e7),
                round(self.lon * 1e7),
                round(self.alt * 1000),
                round((self.alt - self.home.height_m) * 1000),
                round(self.velocity[0] * 100),
                round(self.velocity[1] * 100),
                0,
                65535,
            )
        )

    def _now_s(self) -> float:
        if self.clock is not None:
            return self.clock().timestamp()
        return time.monotonic() * self.time_factor

    async def _run(self) -> None:
        if self.stepped:
            while True:
                self._report_heartbeat()
                await asyncio.sleep(REPORT_PERIOD_S)
        last = self._now_s()
        while True:
            now = self._now_s()
            self.move(max(now - last, 0.0))
            last = now
            self._report()
            await asyncio.sleep(REPORT_PERIOD_S)


# --------------------------------------------------------------------------- SAPIENT

#: What each simulated node type does with a START (docs/effectors.md).
NODE_BEHAVIOUR = {
    SapientNodeType.KINETIC: "fire",
    SapientNodeType.JAMMER: "jam",
    SapientNodeType.MOBILE_NODE: "drive",
}
#: A mobile node has arrived within this of its point (a team at the target).
ARRIVAL_RADIUS_M = 50.0
STATUS_PERIOD_S = 1.0


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (b[0] - a[0]) * EARTH_M_PER_DEG
    east = (b[1] - a[1]) * EARTH_M_PER_DEG * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


@dataclass
class _SapientTask:
    task_id: str
    goal: tuple[float, float] | None
    started: datetime
    # A kinetic node's missile: where it is on its way to ``goal``.
    missile: tuple[float, float] | None = None


class SimulatedSapientNode:
    """One simulated SAPIENT effector node, a client of hotzone's SAPIENT server at
    ``server`` (HOST, PORT), registering as ``node_id`` of ``node_type``.

    ``speed_mps``: the missile's (kinetic) or the node's own (mobile) speed; ``clock`` the
    simulation's time, on which missiles fly and teams drive."""

    def __init__(
        self,
        server: tuple[str, int],
        node_id: str,
        node_type: SapientNodeType,
        position: GeoPoint,
        *,
        speed_mps: float,
        clock: Callable[[], datetime],
        name: str = "",
        concurrent_tasks: int = 1,
        stamp_clock: Callable[[], datetime] | None = None,
        stepped: bool = False,
    ) -> None:
        """``stamp_clock``: the time its messages carry (the run's simulated time, which
        the picture keeps; a wall-clock stamp would move the picture's clock past every
        proposal's expiry). Default ``clock``. ``stepped``: it moves and reports its
        status only when `step` tells it the time (no timer of its own)."""
        if node_type not in NODE_BEHAVIOUR:
            raise ValueError(f"no simulated SAPIENT node of type {node_type}")
        self.server = server
        self.node_id = node_id
        self.node_type = node_type
        self.position = (position.lat_deg, position.lon_deg)
        self.height_m = position.height_m
        self.speed_mps = speed_mps
        self.clock = clock
        self.stamp_clock = stamp_clock or clock
        self.name = name or node_id
        self.concurrent_tasks = concurrent_tasks
        self.mode = "engage"
        self.registered = asyncio.Event()
        self.refused: list[str] = []
        self.tasks: dict[str, _SapientTask] = {}
        #: Every Task received, (control, command, task id), for tests to check.
        self.received: list[tuple[str, str, str]] = []
        self._writer: asyncio.StreamWriter | None = None
        self._runner: asyncio.Task[None] | None = None
        self._last_move: datetime | None = None
        self.stepped = stepped
        self._last_status: datetime | None = None
        #: Bytes sent to the server and frames received from it (a stepped run waits
        #: until the server's counts match: `hotzone.runtime.effectors.exercise`).
        self.bytes_sent = 0
        self.frames_received = 0

    @property
    def behaviour(self) -> str:
        return NODE_BEHAVIOUR[self.node_type]

    async def start(self) -> None:
        reader, writer = await asyncio.open_connection(*self.server)
        self._writer = writer
        self._send_registration()
        self._runner = asyncio.create_task(self._run(reader))

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    # --- what the node sends ---------------------------------------------------------

    def _envelope(self) -> sapient_message_pb2.SapientMessage:
        return sapient_messages.envelope(self.node_id, time=self.stamp_clock())

    def _send(self, message: sapient_message_pb2.SapientMessage) -> None:
        if self._writer is not None and not self._writer.is_closing():
            frame = encode_frame(message.SerializeToString())
            self._writer.write(frame)
            self.bytes_sent += len(frame)

    def _send_registration(self) -> None:
        second = Registration.Duration(units=Registration.TimeUnits.TIME_UNITS_SECONDS, value=1.0)
        lat_lng = Registration.LocationType(
            location_units=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
            location_datum=location_pb2.LOCATION_DATUM_WGS84_E,
        )
        commands = {
            "fire": (Registration.CommandType.COMMAND_TYPE_LOOK_AT,),
            "jam": (Registration.CommandType.COMMAND_TYPE_LOOK_AT,),
            "drive": (Registration.CommandType.COMMAND_TYPE_MOVE_TO,),
        }[self.behaviour]
        mode = Registration.ModeDefinition(
            mode_name=self.mode,
            mode_type=Registration.ModeType.MODE_TYPE_DEFAULT,
            settle_time=second,
            detection_definition=[Registration.DetectionDefinition(location_type=lat_lng)],
            task=Registration.TaskDefinition(
                concurrent_tasks=self.concurrent_tasks,
                region_definition=Registration.RegionDefinition(
                    region_type=[Registration.RegionType.REGION_TYPE_AREA_OF_INTEREST],
                    region_area=[lat_lng],
                ),
                command=[
                    Registration.Command(
                        units="WGS-84 lat/lng",
                        completion_time=second,
                        type=command,
                    )
                    for command in commands
                ],
            ),
        )
        node_type = Registration.NodeType.Name(NODE_TYPES[self.node_type])
        message = self._envelope()
        message.registration.CopyFrom(
            Registration(
                node_definition=[Registration.NodeDefinition(node_type=node_type)],
                icd_version="BSI Flex 335 v2.0",
                name=f"simulated {self.name}",
                capabilities=[Registration.Capability(category="Effector", type="Engage")],
                status_definition=Registration.StatusDefinition(status_interval=second),
                mode_definition=[mode],
                config_data=[
                    Registration.ConfigurationData(manufacturer="hotzone", model="simulated")
                ],
            )
        )
        self._send(message)

    def _send_status(self) -> None:
        report = status_report_pb2.StatusReport
        active = next(iter(self.tasks), None)
        message = self._envelope()
        message.status_report.CopyFrom(
            report(
                report_id=sapient_messages.new_ulid(),
                system=report.System.SYSTEM_OK,
                info=report.Info.INFO_NEW,
                mode=self.mode,
                node_location=location_pb2.Location(
                    x=self.position[1],
                    y=self.position[0],
                    z=self.height_m,
                    coordinate_system=location_pb2.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M,
                    datum=location_pb2.LOCATION_DATUM_WGS84_E,
                ),
            )
        )
        if active is not None:
            message.status_report.active_task_id = active
        self._send(message)

    def _send_ack(
        self, task_id: str, status: task_ack_pb2.TaskAck.TaskStatus, reason: str = ""
    ) -> None:
        message = self._envelope()
        message.task_ack.CopyFrom(
            task_ack_pb2.TaskAck(
                task_id=task_id, task_status=status, reason=[reason] if reason else []
            )
        )
        self._send(message)

    # --- what the node does ----------------------------------------------------------

    def _on_task(self, task: task_pb2.Task) -> None:
        command = task.command.WhichOneof("command") or ""
        control = task_pb2.Task.Control.Name(task.control).removeprefix("CONTROL_")
        self.received.append((control, command, task.task_id))
        status = task_ack_pb2.TaskAck.TaskStatus
        if task.control == task_pb2.Task.Control.CONTROL_STOP:
            self.tasks.pop(task.task_id, None)
            self._send_ack(task.task_id, status.TASK_STATUS_ACCEPTED)
            self._send_status()
            return
        if task.control != task_pb2.Task.Control.CONTROL_START:
            self._send_ack(
                task.task_id, status.TASK_STATUS_REJECTED, f"control {control} not supported"
            )
            return
        goal = _task_point(task)
        if goal is None and self.behaviour != "jam":
            self._send_ack(task.task_id, status.TASK_STATUS_REJECTED, f"no point in {command}")
            return
        if len(self.tasks) >= self.concurrent_tasks:
            self._send_ack(task.task_id, status.TASK_STATUS_REJECTED, "busy")
            return
        now = self.clock()
        self.tasks[task.task_id] = _SapientTask(
            task.task_id, goal, now, missile=self.position if self.behaviour == "fire" else None
        )
        self._send_ack(task.task_id, status.TASK_STATUS_ACCEPTED)
        self._send_status()
        if self.behaviour == "jam":
            # Jamming acts from the moment the task is received: the effect is now.
            self._complete(task.task_id, "jamming the target's datalink and GNSS")

    def _complete(self, task_id: str, reason: str) -> None:
        self.tasks.pop(task_id, None)
        self._send_ack(task_id, task_ack_pb2.TaskAck.TaskStatus.TASK_STATUS_COMPLETED, reason)
        self._send_status()

    def advance(self, now: datetime) -> None:
        """Fly the missiles and drive the node up to the simulation time ``now``."""
        dt_s = 0.0 if self._last_move is None else (now - self._last_move).total_seconds()
        self._last_move = now
        step = max(dt_s, 0.0) * self.speed_mps
        for task in list(self.tasks.values()):
            if task.goal is None:
                continue
            if self.behaviour == "fire" and task.missile is not None:
                task.missile = _towards(task.missile, task.goal, step)
                if _distance_m(task.missile, task.goal) < 1.0:
                    self._complete(task.task_id, "missile at the target")
            elif self.behaviour == "drive":
                self.position = _towards(self.position, task.goal, step)
                if _distance_m(self.position, task.goal) <= ARRIVAL_RADIUS_M:
                    self._complete(task.task_id, "team at the target")

    def step(self, now: datetime) -> None:
        """Move up to the simulation time ``now``; a status report each `STATUS_PERIOD_S`
        of it (``stepped``)."""
        self.advance(now)
        if not self.registered.is_set():
            return
        if self._last_status is None or (now - self._last_status).total_seconds() >= (
            STATUS_PERIOD_S
        ):
            self._send_status()
            self._last_status = now

    async def _run(self, reader: asyncio.StreamReader) -> None:
        splitter = FrameSplitter()
        ticker = asyncio.create_task(self._tick()) if not self.stepped else None
        try:
            while data := await reader.read(65536):
                payloads, bad = splitter.feed(data)
                self.frames_received += len(payloads)
                for payload in payloads:
                    self._on_message(sapient_message_pb2.SapientMessage.FromString(payload))
                if bad is not None:
                    return
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker

    def _on_message(self, message: sapient_message_pb2.SapientMessage) -> None:
        content = message.WhichOneof("content")
        if content == "registration_ack":
            if message.registration_ack.acceptance:
                self._send_status()
                self.registered.set()
            else:
                self.refused = list(message.registration_ack.ack_response_reason)
        elif content == "task":
            self._on_task(message.task)

    async def _tick(self) -> None:
        last_status = time.monotonic()
        while True:
            self.advance(self.clock())
            if self.registered.is_set() and time.monotonic() - last_status >= STATUS_PERIOD_S:
                self._send_status()
                last_status = time.monotonic()
            await asyncio.sleep(REPORT_PERIOD_S / 4)


def _task_point(task: task_pb2.Task) -> tuple[float, float] | None:
    command = task.command.WhichOneof("command")
    if command == "look_at" and task.command.look_at.WhichOneof("fov_oneof") == "location_list":
        locations = task.command.look_at.location_list.locations
    elif command == "move_to":
        locations = task.command.move_to.locations
    else:
        return None
    if not locations:
        return None
    return (locations[0].y, locations[0].x)


def _towards(
    at: tuple[float, float], goal: tuple[float, float], step_m: float
) -> tuple[float, float]:
    distance = _distance_m(at, goal)
    if distance <= step_m or distance < 1.0:
        return goal
    fraction = step_m / distance
    return (at[0] + (goal[0] - at[0]) * fraction, at[1] + (goal[1] - at[1]) * fraction)
