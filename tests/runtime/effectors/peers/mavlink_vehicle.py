"""A MAVLink 2 vehicle (an interceptor drone's autopilot) written with pymavlink's
``mavutil``, run as its own process; it imports nothing of hotzone.

It sends to the ground station's UDP port (``udpout:``, as a vehicle or its radio bridge
does), with HEARTBEAT and GLOBAL_POSITION_INT ten times a second, and follows the command
protocol: each COMMAND_LONG / COMMAND_INT is answered with a COMMAND_ACK; a retransmission
(a COMMAND_LONG with a higher ``confirmation``) of a command already carried out is
acknowledged again but not carried out again. It arms, takes off, flies to a
DO_REPOSITION point at ``--speed`` m/s and returns to its launch point on
RETURN_TO_LAUNCH. ``--behaviour``:

- ``normal``: as above;
- ``silent``: heartbeats and positions, but never a COMMAND_ACK;
- ``reject``: arming is DENIED;
- ``drop-first``: the first copy of every command is lost (the GCS must send it again);
- ``vanish``: goes silent (no heartbeat, nothing) once it accepted the reposition.

With ``--signing-key`` it signs every message (MAVLink 2 signing, ``setup_signing``) and
refuses unsigned ones.

Every command received is printed as one JSON line (``executed`` false for a repeat).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ["MAVLINK20"] = "1"
from pymavlink import mavutil

mavlink = mavutil.mavlink
EARTH_M_PER_DEG = 111_320.0


def say(**record: object) -> None:
    print(json.dumps(record), flush=True)


class Vehicle:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.link = mavutil.mavlink_connection(
            f"udpout:127.0.0.1:{args.port}",
            source_system=args.system_id,
            source_component=1,
            dialect="common",
        )
        if args.signing_key:
            # MAVLink 2 signing: sign what it sends, refuse what is not signed with the key.
            self.link.setup_signing(bytes.fromhex(args.signing_key), sign_outgoing=True)
        self.home = (args.lat, args.lon)
        self.lat, self.lon = args.lat, args.lon
        self.alt = args.alt
        self.goal: tuple[float, float] | None = None
        self.armed = False
        self.executed: set[tuple[int, float, float]] = set()
        self.dropped: set[int] = set()
        self.silent = False
        self.boot = time.monotonic()
        self.velocity = (0.0, 0.0)

    def ack(self, command: int, result: int) -> None:
        self.link.mav.command_ack_send(command, result)

    def on_command(self, message: object) -> None:
        kind = message.get_type()  # type: ignore[attr-defined]
        command = int(message.command)  # type: ignore[attr-defined]
        confirmation = int(getattr(message, "confirmation", 0))
        name = mavlink.enums["MAV_CMD"][command].name.removeprefix("MAV_CMD_")
        behaviour = self.args.behaviour
        if behaviour == "drop-first" and command not in self.dropped:
            self.dropped.add(command)
            say(event="command", command=name, kind=kind, confirmation=confirmation, dropped=True)
            return
        if kind == "COMMAND_INT":
            key = (command, float(message.x), float(message.y))  # type: ignore[attr-defined]
        else:
            key = (command, 0.0, 0.0)
        repeat = key in self.executed and (kind == "COMMAND_INT" or confirmation > 0)
        say(
            event="command",
            command=name,
            kind=kind,
            confirmation=confirmation,
            executed=not repeat and behaviour not in ("silent", "reject"),
            target_system=int(message.target_system),  # type: ignore[attr-defined]
        )
        if behaviour == "silent":
            return
        if behaviour == "reject" and command == mavlink.MAV_CMD_COMPONENT_ARM_DISARM:
            self.ack(command, mavlink.MAV_RESULT_DENIED)
            return
        if not repeat:
            self.executed.add(key)
            self.execute(command, message)
        self.ack(command, mavlink.MAV_RESULT_ACCEPTED)
        if behaviour == "vanish" and command == mavlink.MAV_CMD_DO_REPOSITION:
            say(event="vanished")
            self.silent = True

    def execute(self, command: int, message: object) -> None:
        if command == mavlink.MAV_CMD_COMPONENT_ARM_DISARM:
            self.armed = True
        elif command == mavlink.MAV_CMD_NAV_TAKEOFF:
            self.alt = self.args.alt + float(message.param7)  # type: ignore[attr-defined]
        elif command == mavlink.MAV_CMD_DO_REPOSITION:
            self.goal = (message.x / 1e7, message.y / 1e7)  # type: ignore[attr-defined]
        elif command == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self.goal = self.home
            # Executed before the ack is sent: the first position after the ack is on the
            # way home, so a watcher can tell the turn from the positions alone.
            self.move(0.0)

    def move(self, dt: float) -> None:
        if self.goal is None:
            self.velocity = (0.0, 0.0)
            return
        north = (self.goal[0] - self.lat) * EARTH_M_PER_DEG
        east = (self.goal[1] - self.lon) * EARTH_M_PER_DEG * math.cos(math.radians(self.lat))
        distance = math.hypot(north, east)
        if distance < 1.0:
            self.velocity = (0.0, 0.0)
            return
        speed = self.args.speed
        step = min(distance, speed * dt)
        self.lat += north / distance * step / EARTH_M_PER_DEG
        self.lon += east / distance * step / (EARTH_M_PER_DEG * math.cos(math.radians(self.lat)))
        self.velocity = (north / distance * speed, east / distance * speed)

    def report(self) -> None:
        base_mode = mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
        if self.armed:
            base_mode |= mavlink.MAV_MODE_FLAG_SAFETY_ARMED
        self.link.mav.heartbeat_send(
            mavlink.MAV_TYPE_QUADROTOR, mavlink.MAV_AUTOPILOT_PX4, base_mode, 0,
            mavlink.MAV_STATE_ACTIVE,
        )  # fmt: skip
        self.link.mav.global_position_int_send(
            int((time.monotonic() - self.boot) * 1000),
            round(self.lat * 1e7),
            round(self.lon * 1e7),
            round(self.alt * 1000),
            round((self.alt - self.args.alt) * 1000),
            round(self.velocity[0] * 100),
            round(self.velocity[1] * 100),
            0,
            65535,
        )

    def run(self) -> None:
        period = 0.1
        last = time.monotonic()
        next_report = last
        say(event="started")
        while True:
            message = self.link.recv_match(blocking=True, timeout=period / 2)
            if message is not None and not self.silent:
                kind = message.get_type()
                if kind in ("COMMAND_LONG", "COMMAND_INT"):
                    self.on_command(message)
                elif kind == "HEARTBEAT" and not getattr(self, "_gcs_seen", False):
                    self._gcs_seen = True
                    say(event="gcs_heartbeat", system=message.get_srcSystem())
            now = time.monotonic()
            self.move(now - last)
            last = now
            if now >= next_report and not self.silent:
                self.report()
                next_report = now + period


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--system-id", type=int, default=1)
    parser.add_argument("--lat", type=float, required=True)
    parser.add_argument("--lon", type=float, required=True)
    parser.add_argument("--alt", type=float, default=200.0)
    parser.add_argument("--speed", type=float, default=70.0)
    parser.add_argument("--signing-key", default="", help="MAVLink 2 signing secret, 64 hex")
    parser.add_argument(
        "--behaviour",
        default="normal",
        choices=("normal", "silent", "reject", "drop-first", "vanish"),
    )
    Vehicle(parser.parse_args()).run()


if __name__ == "__main__":
    main()
