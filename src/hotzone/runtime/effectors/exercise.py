"""An exercise's effectors behind the real interfaces: the gateways a deployment runs, with
simulated effectors at the other end of the link.

`exercise_links` takes the scenario's gateway file: its MAVLink effectors, listening on
loopback ports the system picks, and its SAPIENT effector nodes of the types the simulator
plays (kinetic, jammer, mobile node), which connect to a SAPIENT server on a loopback port
the system picks (an exercise must not collide with a real link). `start_exercise_effectors`
starts that server, the SAPIENT and MAVLink gateways and their `EffectorService`, one
`SimulatedMavlinkVehicle` per MAVLink effector and one `SimulatedSapientNode` per SAPIENT
effector (a TCP client of the server, registering under the file's node id and type),
each at the effector's position in the c2 file, acting on the simulation's clock. The
simulator learns each outcome from the gateways' lifecycle events
(`hotzone.sim.effects.EffectModelStage.gateway_effectors`).

Effectors on other interfaces (Cursor on Target units) and those no gateway reaches stay
with the effect model.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec

from hotzone.bus import Bus
from hotzone.c2.config import C2Spec
from hotzone.runtime.effectors.base import Clock, EffectorGateway, OrderGuard
from hotzone.runtime.effectors.config import (
    EffectorLink,
    GatewayConfigError,
    Interface,
    load_gateway_spec,
    shipped_gateway_path,
)
from hotzone.runtime.effectors.mavlink import MavlinkEffectorGateway
from hotzone.runtime.effectors.sapient import SapientEffectorGateway
from hotzone.runtime.effectors.service import (
    EffectorService,
    RunningService,
    bus_publisher,
    start_effector_service,
)
from hotzone.runtime.effectors.simulated import (
    NODE_BEHAVIOUR,
    SimulatedMavlinkVehicle,
    SimulatedSapientNode,
)
from hotzone.runtime.sapient_server import SapientServer
from hotzone.runtime.sources import SourcePublisher

CONNECT_WAIT_S = 10.0


def exercise_links(scenario_name: str) -> dict[str, EffectorLink]:
    """The scenario's effectors the simulator plays behind their gateway: its MAVLink
    vehicles, each on a loopback port of the system's choosing, and its SAPIENT nodes of a
    simulated type (none when the scenario ships no gateway file)."""
    if not shipped_gateway_path(scenario_name).is_file():
        return {}
    spec = load_gateway_spec(scenario_name)
    links = {
        effector_id: msgspec.structs.replace(link, listen="127.0.0.1:0")
        for effector_id, link in spec.by_interface(Interface.MAVLINK).items()
    }
    links.update(
        (effector_id, link)
        for effector_id, link in spec.by_interface(Interface.SAPIENT).items()
        if link.node_type in NODE_BEHAVIOUR
    )
    return links


@dataclass
class ExerciseEffectors:
    service: EffectorService
    gateway: MavlinkEffectorGateway | None
    sapient_gateway: SapientEffectorGateway | None = None
    server: SapientServer | None = None
    vehicles: dict[str, SimulatedMavlinkVehicle] = field(default_factory=dict)
    nodes: dict[str, SimulatedSapientNode] = field(default_factory=dict)
    running: RunningService | None = None

    async def close(self) -> None:
        for vehicle in self.vehicles.values():
            await vehicle.close()
        for node in self.nodes.values():
            await node.close()
        if self.running is not None:
            await self.running.close()
        else:
            await self.service.close()
        if self.server is not None:
            await self.server.close()


async def start_exercise_effectors(
    bus: Bus,
    nation: str,
    links: dict[str, EffectorLink],
    c2: C2Spec,
    trusted_issuers: dict[str, bytes],
    *,
    clock: Clock,
    time_factor: float = 1.0,
    act_on_clock: bool = False,
    releasability: str = "NATO",
    ack_timeout_s: float = 5.0,
) -> ExerciseEffectors:
    """Start the gateways, their service on ``bus`` and a simulated effector per link.

    ``clock`` is the gateways' time; with ``act_on_clock`` (a run's simulated time) the
    simulated effectors fly and drive on it too, else ``time_factor`` times real time."""
    specs = {effector.id: effector for effector in c2.effectors}
    unknown = sorted(set(links) - set(specs))
    if unknown:
        raise GatewayConfigError(f"effectors {', '.join(unknown)} are not in the c2 file")

    def scaled_clock() -> datetime:
        # Only its differences matter: how far a simulated effector moves between looks.
        return datetime.fromtimestamp(time.monotonic() * time_factor, UTC)

    acting_clock: Clock = clock if act_on_clock else scaled_clock
    publish = bus_publisher(bus, nation)
    mavlink_links = {k: v for k, v in links.items() if v.interface is Interface.MAVLINK}
    sapient_links = {k: v for k, v in links.items() if v.interface is Interface.SAPIENT}
    gateways: list[EffectorGateway] = []
    gateway = sapient_gateway = server = None
    if mavlink_links:
        gateway = MavlinkEffectorGateway(
            mavlink_links,
            publish,
            ack_timeout_s=ack_timeout_s,
            clock=clock,
            releasability=releasability,
        )
        gateways.append(gateway)
    if sapient_links:
        # Loopback, a port of the system's choosing: the simulated nodes are its only clients.
        server = SapientServer(
            SourcePublisher(bus, nation, releasability), host="127.0.0.1", port=0
        )
        sapient_gateway = SapientEffectorGateway(
            server,
            sapient_links,
            publish,
            ack_timeout_s=ack_timeout_s,
            clock=clock,
            releasability=releasability,
        )
        gateways.append(sapient_gateway)
        await server.start()
    service = EffectorService(
        bus,
        nation,
        gateways,
        OrderGuard(trusted_issuers),
        clock=clock,
        releasability=releasability,
    )
    running = ExerciseEffectors(service, gateway, sapient_gateway, server)
    running.running = await start_effector_service(service)
    for effector_id, link in mavlink_links.items():
        assert gateway is not None
        vehicle = SimulatedMavlinkVehicle(
            ("127.0.0.1", gateway.vehicles[effector_id].port),
            link.system_id,
            specs[effector_id].position,
            cruise_speed_mps=link.cruise_speed_mps,
            time_factor=time_factor,
            clock=acting_clock if act_on_clock else None,
        )
        await vehicle.start()
        running.vehicles[effector_id] = vehicle
    for effector_id, link in sapient_links.items():
        assert server is not None and link.node_type is not None
        node = SimulatedSapientNode(
            ("127.0.0.1", server.port),
            link.node_id,
            link.node_type,
            specs[effector_id].position,
            speed_mps=specs[effector_id].speed_mps,
            clock=acting_clock,
            stamp_clock=clock,
            name=effector_id,
        )
        await node.start()
        running.nodes[effector_id] = node
    # The effectors are up once their gateway has their heartbeats / registrations (an
    # order before that would fail as "not connected"); a link that never comes up is the
    # gateway's to report.
    vehicles = list(gateway.vehicles.values()) if gateway is not None else []
    for _ in range(int(CONNECT_WAIT_S / 0.05)):
        if all(v.connected for v in vehicles) and all(
            n.registered.is_set() for n in running.nodes.values()
        ):
            break
        await asyncio.sleep(0.05)
    return running
