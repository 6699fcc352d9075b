"""MAVLink 2 effectors (interceptor drones, unmanned ground vehicles), with pymavlink.

hotzone is the ground control station of each vehicle: it listens on the UDP port the
gateway file gives the effector (the vehicle, or its radio bridge, sends there as to a GCS),
learns the vehicle's address from its heartbeats (only from the configured system id) and
sends its own GCS heartbeat back once a second. An order runs the MAVLink command protocol:

1. ``COMMAND_LONG`` ``MAV_CMD_COMPONENT_ARM_DISARM`` (arm) -> ``delivered`` when sent,
   ``acknowledged`` on ``MAV_RESULT_ACCEPTED``, ``rejected`` on any refusal;
2. ``COMMAND_LONG`` ``MAV_CMD_NAV_TAKEOFF`` to ``takeoff_height_m``;
3. ``COMMAND_INT`` ``MAV_CMD_DO_REPOSITION`` to the aim point (``MAV_FRAME_GLOBAL_INT``,
   ground speed ``cruise_speed_mps``, change-mode flag) -> ``in_progress``;
4. the vehicle's ``GLOBAL_POSITION_INT`` within ``arrival_radius_m`` of the aim point ->
   ``effect_observed`` (the interceptor is at the target; the outcome is the target's).

Every command waits ``ack_timeout_s`` for its ``COMMAND_ACK`` (``MAV_RESULT_IN_PROGRESS``
extends the wait) and is sent again up to ``command_retries`` times, a ``COMMAND_LONG``
with its ``confirmation`` counted up as the protocol asks, so that the vehicle acts on it
once; with no answer after that: ``timeout``, an alert, ``failed``. A refusal after arming
fails the order. Abort sends ``MAV_CMD_NAV_RETURN_TO_LAUNCH`` (same retries):
``aborted`` when the vehicle accepts it. No heartbeat for ``heartbeat_timeout_s``: the
vehicle is lost, its open order ``failed`` with an alert. Each ``GLOBAL_POSITION_INT``
becomes a friendly `Report` (blue force) so the vehicle is a track on the picture.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time as monotonic_clock
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymavlink.dialects.v20 import common as mavlink

from hotzone.geo import geodesic_distance_m
from hotzone.runtime.effectors.base import (
    EffectorGateway,
    Engagement,
    GatewayOptions,
    Lifecycle,
    Publish,
    readiness,
)
from hotzone.runtime.effectors.config import EffectorLink, read_signing_key
from hotzone.types import Event, EventKind, GeoPoint, Report, ReportSource, StandardIdentity

GCS_SYSTEM_ID = 255
GCS_COMPONENT_ID = mavlink.MAV_COMP_ID_MISSIONPLANNER
_REFUSED = {
    mavlink.MAV_RESULT_TEMPORARILY_REJECTED: "temporarily rejected",
    mavlink.MAV_RESULT_DENIED: "denied",
    mavlink.MAV_RESULT_UNSUPPORTED: "unsupported",
    mavlink.MAV_RESULT_FAILED: "failed",
}


SIGNING_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
"""MAVLink 2 signing timestamps count 10 µs steps from here."""


def sign_link(codec: Any, secret: bytes) -> None:
    """MAVLink 2 message signing on ``codec``: what it sends is signed with ``secret``, and
    what it parses must be signed with it (anything else is refused: ``BAD_DATA``, counted
    in ``codec.signing.reject_count`` / ``badsig_count``)."""
    signing = codec.signing
    signing.secret_key = secret
    signing.sign_outgoing = True
    signing.link_id = 0
    signing.timestamp = int((datetime.now(UTC) - SIGNING_EPOCH).total_seconds() * 100_000)
    # Refuse every unsigned message (the callback is asked, so refusals are counted).
    signing.allow_unsigned_callback = lambda _codec, _message_id: False


def _result_name(result: int) -> str:
    if result == mavlink.MAV_RESULT_ACCEPTED:
        return "accepted"
    return _REFUSED.get(result, f"result {result}")


def _command_name(command: int) -> str:
    entry = mavlink.enums["MAV_CMD"].get(command)
    return str(entry.name).removeprefix("MAV_CMD_") if entry is not None else str(command)


@dataclass
class MavlinkVehicle:
    """One configured vehicle and what its link says."""

    effector_id: str
    link: EffectorLink
    codec: Any = None
    transport: asyncio.DatagramTransport | None = None
    port: int = 0
    address: tuple[str, int] | None = None
    connected: bool = False
    last_heartbeat: float = 0.0
    position: GeoPoint | None = None
    acks: dict[int, asyncio.Future[int]] = field(default_factory=dict)
    inbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    ignored: int = 0
    """Packets from other system ids or not MAVLink at all."""
    received: int = 0
    """Datagrams received (a stepped exercise waits until they match what its simulated
    vehicle sent: `hotzone.runtime.effectors.exercise`)."""
    sent: int = 0
    """Datagrams sent to the vehicle."""


class _VehicleProtocol(asyncio.DatagramProtocol):
    def __init__(self, vehicle: MavlinkVehicle) -> None:
        self.vehicle = vehicle

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        vehicle = self.vehicle
        vehicle.received += 1
        try:
            messages = vehicle.codec.parse_buffer(data) or []
        except mavlink.MAVError:
            vehicle.ignored += 1
            return
        for message in messages:
            if (
                message.get_type() == "BAD_DATA"
                or message.get_srcSystem() != vehicle.link.system_id
            ):
                vehicle.ignored += 1
            else:
                vehicle.inbox.put_nowait((message, (str(addr[0]), int(addr[1]))))


class MavlinkEffectorGateway(EffectorGateway):
    """Flies MAVLink vehicles to the aim point of verified orders and back on abort."""

    interface = "mavlink"

    def __init__(
        self,
        links: Mapping[str, EffectorLink],
        publish: Publish,
        options: GatewayOptions | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(links, publish, options, **overrides)
        self.command_retries = self.options.command_retries
        self.heartbeat_timeout_s = self.options.heartbeat_timeout_s
        self.vehicles = {
            effector_id: MavlinkVehicle(effector_id, link) for effector_id, link in links.items()
        }

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for vehicle in self.vehicles.values():
            host, _, port = vehicle.link.listen.rpartition(":")
            vehicle.codec = mavlink.MAVLink(
                None, srcSystem=GCS_SYSTEM_ID, srcComponent=GCS_COMPONENT_ID
            )
            vehicle.codec.robust_parsing = True
            if vehicle.link.signing_key_file:
                sign_link(vehicle.codec, read_signing_key(vehicle.link.signing_key_file))
            transport, _ = await loop.create_datagram_endpoint(
                functools.partial(_VehicleProtocol, vehicle),
                local_addr=(host.strip("[]"), int(port)),
            )
            vehicle.transport = transport
            vehicle.port = int(transport.get_extra_info("sockname")[1])
            self.spawn(self._consume(vehicle))
        self.spawn(self._supervise())

    async def close(self) -> None:
        await super().close()
        for vehicle in self.vehicles.values():
            if vehicle.transport is not None:
                vehicle.transport.close()
            for future in vehicle.acks.values():
                future.cancel()

    # --- orders -----------------------------------------------------------------------

    async def deliver(self, engagement: Engagement) -> None:
        vehicle = self.vehicles[engagement.effector_id]
        if not vehicle.connected or vehicle.address is None:
            await self.fail(engagement, f"vehicle {vehicle.effector_id} is not connected")
            return
        busy = [
            e.order_id
            for e in self.engagements.values()
            if e.effector_id == engagement.effector_id
            and e is not engagement
            and not e.final
            # At its aim point the interceptor is done with that order (the site launches
            # its next one for a new order; capacity is c2's to count).
            and e.state is not Lifecycle.EFFECT_OBSERVED
        ]
        if busy:
            await self.fail(engagement, f"vehicle {vehicle.effector_id} is flying order {busy[0]}")
            return
        self.spawn(self._fly(engagement, vehicle))

    async def reaim(self, engagement: Engagement, aim: GeoPoint) -> None:
        """A vehicle in flight is sent on to the track's new position (DO_REPOSITION again;
        its COMMAND_ACK is not waited for: the next track update sends the next point)."""
        engagement.aim = aim
        vehicle = self.vehicles[engagement.effector_id]
        if engagement.state is not Lifecycle.IN_PROGRESS or engagement.stopping:
            return
        link = vehicle.link
        self._send(
            vehicle,
            vehicle.codec.command_int_encode(
                link.system_id, link.component_id, mavlink.MAV_FRAME_GLOBAL_INT,
                mavlink.MAV_CMD_DO_REPOSITION, 0, 0,
                link.cruise_speed_mps, mavlink.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE, 0, math.nan,
                round(aim.lat_deg * 1e7), round(aim.lon_deg * 1e7), aim.height_m,
            ),
        )  # fmt: skip
        if vehicle.position is not None:
            await self._check_arrival(vehicle, vehicle.position)

    async def stop(self, engagement: Engagement, reason: str) -> None:
        self.spawn(self._return(engagement, self.vehicles[engagement.effector_id]))

    def status(self) -> list[dict[str, str]]:
        rows = []
        for vehicle in self.vehicles.values():
            active = self.active_orders(vehicle.effector_id)
            listen = f"{vehicle.link.listen.rpartition(':')[0]}:{vehicle.port}"
            rows.append(
                {
                    "effector_id": vehicle.effector_id,
                    "interface": self.interface,
                    "address": f"udp {listen} system {vehicle.link.system_id}",
                    "listen": listen,
                    "connection": "connected" if vehicle.connected else "not connected",
                    "signed": "yes" if vehicle.link.signing_key_file else "no",
                    # One vehicle flies one order at a time.
                    "readiness": readiness(vehicle.connected, len(active), 1),
                    "active_orders": ",".join(active),
                }
            )
        return rows

    async def _fly(self, engagement: Engagement, vehicle: MavlinkVehicle) -> None:
        link = vehicle.link
        aim = engagement.aim

        def arm(confirmation: int) -> Any:
            return vehicle.codec.command_long_encode(
                link.system_id, link.component_id,
                mavlink.MAV_CMD_COMPONENT_ARM_DISARM, confirmation, 1, 0, 0, 0, 0, 0, 0,
            )  # fmt: skip

        def takeoff(confirmation: int) -> Any:
            return vehicle.codec.command_long_encode(
                link.system_id, link.component_id,
                mavlink.MAV_CMD_NAV_TAKEOFF, confirmation, 0, 0, 0, math.nan, 0, 0,
                link.takeoff_height_m,
            )  # fmt: skip

        def reposition(_: int) -> Any:
            return vehicle.codec.command_int_encode(
                link.system_id, link.component_id, mavlink.MAV_FRAME_GLOBAL_INT,
                mavlink.MAV_CMD_DO_REPOSITION, 0, 0,
                link.cruise_speed_mps, mavlink.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE, 0, math.nan,
                round(aim.lat_deg * 1e7), round(aim.lon_deg * 1e7), aim.height_m,
            )  # fmt: skip

        async def delivered() -> None:
            await self.advance(
                engagement,
                Lifecycle.DELIVERED,
                f"arm command sent to system {link.system_id}",
                command="COMPONENT_ARM_DISARM",
            )

        result = await self._command(engagement, vehicle, arm, on_first_send=delivered)
        if not self._goes_on(engagement, vehicle):
            return
        if result is None:
            await self._timed_out(engagement, "arm")
            return
        if result != mavlink.MAV_RESULT_ACCEPTED:
            await self.advance(
                engagement, Lifecycle.REJECTED, f"arm {_result_name(result)}",
                reason=f"arm {_result_name(result)}",
            )  # fmt: skip
            await self.alert(
                engagement,
                "rejected",
                f"{engagement.effector_id} refused order {engagement.order_id}: "
                f"arm {_result_name(result)}",
            )
            return
        await self.advance(engagement, Lifecycle.ACKNOWLEDGED, "armed")
        for name, build in (("takeoff", takeoff), ("reposition", reposition)):
            result = await self._command(engagement, vehicle, build)
            if not self._goes_on(engagement, vehicle):
                return
            if result is None:
                await self._timed_out(engagement, name)
                return
            if result != mavlink.MAV_RESULT_ACCEPTED:
                await self.fail(engagement, f"{name} {_result_name(result)}")
                return
        await self.advance(
            engagement,
            Lifecycle.IN_PROGRESS,
            f"flying to {aim.lat_deg:.5f},{aim.lon_deg:.5f} at {link.cruise_speed_mps:g} m/s",
        )
        if vehicle.position is not None:
            await self._check_arrival(vehicle, vehicle.position)

    async def _return(self, engagement: Engagement, vehicle: MavlinkVehicle) -> None:
        link = vehicle.link

        def rtl(confirmation: int) -> Any:
            return vehicle.codec.command_long_encode(
                link.system_id, link.component_id,
                mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH, confirmation, 0, 0, 0, 0, 0, 0, 0,
            )  # fmt: skip

        if not vehicle.connected:
            await self.fail(engagement, "cannot return to launch: vehicle not connected")
            return
        result = await self._command(engagement, vehicle, rtl)
        if engagement.final:
            return
        if result == mavlink.MAV_RESULT_ACCEPTED:
            await self.advance(engagement, Lifecycle.ABORTED, "returning to launch")
        elif result is None:
            await self._timed_out(engagement, "return to launch")
        else:
            await self.fail(
                engagement, f"return to launch {_result_name(result)}", kind="stop_refused"
            )

    def _goes_on(self, engagement: Engagement, vehicle: MavlinkVehicle) -> bool:
        """Whether the launch sequence continues (not lost, failed or aborted meanwhile)."""
        return not engagement.final and not engagement.stopping and vehicle.connected

    async def _timed_out(self, engagement: Engagement, what: str) -> None:
        reason = (
            f"no acknowledgement of {what} after {self.command_retries + 1} tries "
            f"{self.ack_timeout_s:g} s apart"
        )
        await self.advance(engagement, Lifecycle.TIMEOUT, reason, waiting_for=what)
        await self.alert(engagement, "timeout", f"{engagement.effector_id}: {reason}")
        await self.fail(engagement, reason, kind="timeout_failed")

    async def _command(
        self,
        engagement: Engagement,
        vehicle: MavlinkVehicle,
        build: Callable[[int], Any],
        on_first_send: Callable[[], Any] | None = None,
    ) -> int | None:
        """Send a command until its COMMAND_ACK comes; its result, or None after retries."""
        loop = asyncio.get_running_loop()
        for attempt in range(self.command_retries + 1):
            if not vehicle.connected or vehicle.address is None:
                return None
            message = build(attempt)
            command = int(message.command)
            future: asyncio.Future[int] = loop.create_future()
            vehicle.acks[command] = future
            self._send(vehicle, message)
            if attempt == 0 and on_first_send is not None:
                await on_first_send()
            while True:
                try:
                    result = await asyncio.wait_for(asyncio.shield(future), self.ack_timeout_s)
                except TimeoutError:
                    break
                if result != mavlink.MAV_RESULT_IN_PROGRESS:
                    return result
                future = loop.create_future()  # still working on it: wait, do not resend
                vehicle.acks[command] = future
        return None

    def _send(self, vehicle: MavlinkVehicle, message: Any) -> None:
        if vehicle.transport is not None and vehicle.address is not None:
            vehicle.transport.sendto(message.pack(vehicle.codec), vehicle.address)
            vehicle.sent += 1

    # --- what vehicles say ------------------------------------------------------------

    async def _consume(self, vehicle: MavlinkVehicle) -> None:
        while True:
            message, address = await vehicle.inbox.get()
            kind = message.get_type()
            if kind == "HEARTBEAT":
                vehicle.address = address
                vehicle.last_heartbeat = monotonic_clock.monotonic()
                if not vehicle.connected:
                    vehicle.connected = True
                    await self._link_event(vehicle, "connected", 0)
            elif kind == "COMMAND_ACK":
                future = vehicle.acks.get(int(message.command))
                if future is not None and not future.done():
                    future.set_result(int(message.result))
            elif kind == "GLOBAL_POSITION_INT":
                position = GeoPoint(message.lat / 1e7, message.lon / 1e7, message.alt / 1000.0)
                vehicle.position = position
                await self._report(vehicle, message, position)
                await self._check_arrival(vehicle, position)

    async def _supervise(self) -> None:
        period = min(1.0, self.heartbeat_timeout_s / 3.0)
        while True:
            now = monotonic_clock.monotonic()
            for vehicle in self.vehicles.values():
                if vehicle.address is not None:
                    self._send(
                        vehicle,
                        vehicle.codec.heartbeat_encode(
                            mavlink.MAV_TYPE_GCS, mavlink.MAV_AUTOPILOT_INVALID, 0, 0,
                            mavlink.MAV_STATE_ACTIVE,
                        ),
                    )  # fmt: skip
                if vehicle.connected and now - vehicle.last_heartbeat > self.heartbeat_timeout_s:
                    vehicle.connected = False
                    await self._link_event(vehicle, "lost", 6)
                    for engagement in list(self.engagements.values()):
                        if engagement.effector_id == vehicle.effector_id and not engagement.final:
                            await self.fail(
                                engagement,
                                f"no heartbeat from vehicle {vehicle.effector_id} for "
                                f"{self.heartbeat_timeout_s:g} s: link lost",
                                kind="link_lost",
                            )
            await asyncio.sleep(period)

    async def _check_arrival(self, vehicle: MavlinkVehicle, position: GeoPoint) -> None:
        for engagement in list(self.engagements.values()):
            if (
                engagement.effector_id != vehicle.effector_id
                or engagement.state is not Lifecycle.IN_PROGRESS
                or engagement.stopping
            ):
                continue
            aim = engagement.aim
            miss = float(
                geodesic_distance_m(
                    [aim.lat_deg], [aim.lon_deg], [position.lat_deg], [position.lon_deg]
                )[0]
            )
            if miss <= vehicle.link.arrival_radius_m:
                await self.advance(
                    engagement,
                    Lifecycle.EFFECT_OBSERVED,
                    f"interceptor at the aim point ({miss:.0f} m)",
                    miss_distance_m=f"{miss:.0f}",
                )

    async def _report(self, vehicle: MavlinkVehicle, message: Any, position: GeoPoint) -> None:
        now = self.clock()
        await self.publish(
            Report(
                report_id=f"mavlink:{vehicle.effector_id}:{message.time_boot_ms}",
                time=now,
                source_id=vehicle.effector_id,
                source=ReportSource.BLUE_FORCE,
                position=position,
                horizontal_sigma_m=vehicle.link.position_sigma_m,
                vertical_sigma_m=2.0 * vehicle.link.position_sigma_m,
                # MAVLink gives NED in cm/s; hotzone ENU in m/s.
                velocity_enu_mps=(message.vy / 100.0, message.vx / 100.0, -message.vz / 100.0),
                uid=vehicle.effector_id,
                callsign=vehicle.effector_id,
                claimed_identity=StandardIdentity.FRIEND,
                received_at=now,
                releasability=self.releasability,
            )
        )

    async def _link_event(self, vehicle: MavlinkVehicle, state: str, severity: int) -> None:
        now = self.clock()
        await self.publish(
            Event(
                event_id=f"mavlink:{vehicle.effector_id}:{state}:{now.timestamp():.6f}",
                time=now,
                source_id=vehicle.effector_id,
                kind=EventKind.SENSOR_STATUS,
                severity=severity,
                summary=f"vehicle {vehicle.effector_id} (system {vehicle.link.system_id}) {state}",
                attributes={"state": state, "interface": self.interface},
                releasability=self.releasability,
            )
        )
