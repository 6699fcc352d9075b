"""An exercise's effectors behind the real interfaces: the gateways a deployment runs, with
simulated vehicles at the other end of the link.

`exercise_links` takes the MAVLink effectors of the scenario's gateway file, listening on
loopback ports the system picks (an exercise must not collide with a real link);
`start_exercise_effectors` starts the `EffectorService` with the MAVLink gateway and one
`SimulatedMavlinkVehicle` per effector, launched from the effector's position in the c2
file, flying on the simulation's clock. The simulator learns each outcome from the
gateway's lifecycle events (`hotzone.sim.effects.EffectModelStage.gateway_effectors`).

SAPIENT effectors stay with the effect model in an exercise for now (docs/effectors.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import msgspec

from hotzone.bus import Bus
from hotzone.c2.config import C2Spec
from hotzone.runtime.effectors.base import Clock, OrderGuard
from hotzone.runtime.effectors.config import (
    EffectorLink,
    GatewayConfigError,
    Interface,
    load_gateway_spec,
    shipped_gateway_path,
)
from hotzone.runtime.effectors.mavlink import MavlinkEffectorGateway
from hotzone.runtime.effectors.service import (
    EffectorService,
    RunningService,
    bus_publisher,
    start_effector_service,
)
from hotzone.runtime.effectors.simulated import SimulatedMavlinkVehicle

CONNECT_WAIT_S = 10.0


def exercise_links(scenario_name: str) -> dict[str, EffectorLink]:
    """The scenario's MAVLink effectors, each on a loopback port of the system's choosing
    (none when the scenario ships no gateway file)."""
    if not shipped_gateway_path(scenario_name).is_file():
        return {}
    spec = load_gateway_spec(scenario_name)
    return {
        effector_id: msgspec.structs.replace(link, listen="127.0.0.1:0")
        for effector_id, link in spec.by_interface(Interface.MAVLINK).items()
    }


@dataclass
class ExerciseEffectors:
    service: EffectorService
    gateway: MavlinkEffectorGateway
    vehicles: dict[str, SimulatedMavlinkVehicle] = field(default_factory=dict)
    running: RunningService | None = None

    async def close(self) -> None:
        for vehicle in self.vehicles.values():
            await vehicle.close()
        if self.running is not None:
            await self.running.close()
        else:
            await self.service.close()


async def start_exercise_effectors(
    bus: Bus,
    nation: str,
    links: dict[str, EffectorLink],
    c2: C2Spec,
    trusted_issuers: dict[str, bytes],
    *,
    clock: Clock,
    time_factor: float = 1.0,
    releasability: str = "NATO",
    ack_timeout_s: float = 5.0,
) -> ExerciseEffectors:
    """Start the gateway, its service on ``bus`` and a simulated vehicle per link."""
    positions = {effector.id: effector.position for effector in c2.effectors}
    unknown = sorted(set(links) - set(positions))
    if unknown:
        raise GatewayConfigError(f"effectors {', '.join(unknown)} are not in the c2 file")
    gateway = MavlinkEffectorGateway(
        links,
        bus_publisher(bus, nation),
        ack_timeout_s=ack_timeout_s,
        clock=clock,
        releasability=releasability,
    )
    service = EffectorService(
        bus,
        nation,
        [gateway],
        OrderGuard(trusted_issuers),
        clock=clock,
        releasability=releasability,
    )
    running = ExerciseEffectors(service, gateway)
    running.running = await start_effector_service(service)
    for effector_id, link in links.items():
        vehicle = SimulatedMavlinkVehicle(
            ("127.0.0.1", gateway.vehicles[effector_id].port),
            link.system_id,
            positions[effector_id],
            cruise_speed_mps=link.cruise_speed_mps,
            time_factor=time_factor,
        )
        await vehicle.start()
        running.vehicles[effector_id] = vehicle
    # The vehicles are up once the gateway has their heartbeats (an order before that
    # would fail as "not connected"); a link that never comes up is the gateway's to report.
    for _ in range(int(CONNECT_WAIT_S / 0.05)):
        if all(v.connected for v in gateway.vehicles.values()):
            break
        await asyncio.sleep(0.05)
    return running
