"""The effector gateways of a deployment: real effectors, a nation's bus.

`start_deployment_effectors` starts what ``hotzone effectors run`` runs: hotzone's SAPIENT
server for the effector nodes on the gateway file's ``sapient.listen`` (connection limits,
optional mutual TLS), the SAPIENT, MAVLink and Cursor on Target gateways of the effectors
the file names, and the `EffectorService` that hands them the orders the `OrderGuard`
accepts (signed by a trusted c2 node key) and publishes their lifecycle and status.
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass

from hotzone.bus import Bus
from hotzone.runtime.effectors.base import Clock, EffectorGateway, OrderGuard, wall_clock
from hotzone.runtime.effectors.config import GatewaySpec, Interface
from hotzone.runtime.effectors.cot import CotEffectorGateway
from hotzone.runtime.effectors.mavlink import MavlinkEffectorGateway
from hotzone.runtime.effectors.sapient import SapientEffectorGateway
from hotzone.runtime.effectors.service import (
    EffectorService,
    RunningService,
    bus_publisher,
    start_effector_service,
)
from hotzone.runtime.sapient_server import SapientServer
from hotzone.runtime.sources import ConnectionLimits, SourcePublisher, parse_host_port

#: Effector nodes report status every few seconds: two minutes of silence is a dead link.
SAPIENT_LIMITS = ConnectionLimits(idle_timeout_s=120.0, frame_timeout_s=30.0)


@dataclass
class DeploymentEffectors:
    running: RunningService
    server: SapientServer | None

    @property
    def service(self) -> EffectorService:
        return self.running.service

    async def close(self) -> None:
        await self.running.close()
        if self.server is not None:
            await self.server.close()


async def start_deployment_effectors(
    bus: Bus,
    nation: str,
    spec: GatewaySpec,
    trusted_issuers: dict[str, bytes],
    *,
    sapient_tls: ssl.SSLContext | None = None,
    limits: ConnectionLimits = SAPIENT_LIMITS,
    clock: Clock = wall_clock,
    releasability: str = "NATO",
) -> DeploymentEffectors:
    """Start the gateways of ``spec`` and their service on ``bus``. An address that cannot
    be bound (a busy port) raises `OSError` with nothing left running."""
    publish = bus_publisher(bus, nation)
    gateways: list[EffectorGateway] = []
    server = None
    sapient_links = spec.by_interface(Interface.SAPIENT)
    if sapient_links:
        host, port = parse_host_port(spec.sapient.listen)
        server = SapientServer(
            SourcePublisher(bus, nation, releasability),
            host=host,
            port=port,
            limits=limits,
            tls=sapient_tls,
        )
        gateways.append(
            SapientEffectorGateway(
                server,
                sapient_links,
                publish,
                ack_timeout_s=spec.ack_timeout_s,
                clock=clock,
                releasability=releasability,
            )
        )
    mavlink_links = spec.by_interface(Interface.MAVLINK)
    if mavlink_links:
        gateways.append(
            MavlinkEffectorGateway(
                mavlink_links,
                publish,
                command_retries=spec.command_retries,
                heartbeat_timeout_s=spec.heartbeat_timeout_s,
                ack_timeout_s=spec.ack_timeout_s,
                clock=clock,
                releasability=releasability,
            )
        )
    cot_links = spec.by_interface(Interface.COT)
    if cot_links:
        gateways.append(
            CotEffectorGateway(
                cot_links,
                publish,
                ack_timeout_s=spec.ack_timeout_s,
                clock=clock,
                releasability=releasability,
            )
        )
    service = EffectorService(
        bus, nation, gateways, OrderGuard(trusted_issuers), clock=clock, releasability=releasability
    )
    if server is not None:
        await server.start()  # before the gateways: a busy SAPIENT port stops everything
    try:
        running = await start_effector_service(service)
    except BaseException:
        with contextlib.suppress(Exception):
            await service.close()
        if server is not None:
            await server.close()
        raise
    return DeploymentEffectors(running, server)
