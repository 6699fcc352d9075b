"""Simulated effectors behind the real interfaces, for exercises and demos.

`SimulatedMavlinkVehicle` is an interceptor drone's autopilot as the MAVLink gateway meets
a real one: it sends HEARTBEAT and GLOBAL_POSITION_INT to the gateway's UDP port, answers
every COMMAND_LONG / COMMAND_INT with a COMMAND_ACK (a retransmission is acknowledged but
not carried out twice), arms, takes off, flies to each DO_REPOSITION point at its cruise
speed and returns to its launch point on RETURN_TO_LAUNCH. ``time_factor`` runs its flight
as fast as the simulation's clock (a run at 4x real time flies 4x as far per second), so
the simulated world and the interceptor keep one time.

So an exercise (``hotzone serve``) carries an approved order through exactly the gateway a
deployment uses; the simulator learns the outcome from the gateway's ``effect_observed``
(`hotzone.sim.effects.EffectModelStage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import Any

from pymavlink.dialects.v20 import common as mavlink

from hotzone.types import GeoPoint

EARTH_M_PER_DEG = 111_320.0
REPORT_PERIOD_S = 0.2


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, vehicle: SimulatedMavlinkVehicle) -> None:
        self.vehicle = vehicle

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
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
    ) -> None:
        self.gateway = gateway
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

    def _report(self) -> None:
        base_mode = mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
        if self.armed:
            base_mode |= mavlink.MAV_MODE_FLAG_SAFETY_ARMED
        self._send(
            self.codec.heartbeat_encode(
                mavlink.MAV_TYPE_QUADROTOR, mavlink.MAV_AUTOPILOT_PX4, base_mode, 0,
                mavlink.MAV_STATE_ACTIVE,
            )
        )  # fmt: skip
        self._send(
            self.codec.global_position_int_encode(
                int((time.monotonic() - self._boot) * 1000) % 2**32,
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

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            now = time.monotonic()
            self.move((now - last) * self.time_factor)
            last = now
            self._report()
            await asyncio.sleep(REPORT_PERIOD_S)
