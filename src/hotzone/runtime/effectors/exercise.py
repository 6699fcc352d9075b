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

Played ``lockstep`` (`hotzone demo`), the simulated effectors have no timers of their own:
at each clock tick of the run `ExerciseEffectors.settle` steps them to the tick's time and
waits until their links are quiet (every datagram and frame either side sent has been read,
the gateways' inboxes and the service's subscription are empty, and nothing has moved for
`QUIET_ROUNDS` turns of the event loop). Everything the gateways publish then lands in the
window after that tick, whatever the machine's speed, so a run comes out the same each time.
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
QUIET_ROUNDS = 50
"""Turns of the event loop with nothing moving on the links before they count as quiet:
more than any chain of callbacks between two sends (an acknowledgement read, its future
set, the waiting task resumed) takes."""
SETTLE_WAIT_S = 10.0
"""How long a tick waits for quiet links before going on (a link that never settles, e.g.
a vehicle that went away, is counted in ``unsettled_ticks``, not waited on forever)."""


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
    #: Ticks at which `settle` gave up waiting for quiet links.
    unsettled_ticks: int = 0

    async def settle(self, now: datetime) -> None:
        """Step every simulated effector to the simulation time ``now``, publish the
        effectors' statuses that changed and wait until the links are quiet (lockstep)."""
        for vehicle in self.vehicles.values():
            vehicle.step(now)
        for node in self.nodes.values():
            node.step(now)
        await self.service.publish_status()
        loop = asyncio.get_running_loop()
        give_up = loop.time() + SETTLE_WAIT_S
        quiet, last = 0, None
        while quiet < QUIET_ROUNDS:
            await asyncio.sleep(0)
            state = self._link_state()
            quiet = quiet + 1 if state is not None and state == last else 0
            last = state
            if loop.time() > give_up:
                self.unsettled_ticks += 1
                return

    def _link_state(self) -> tuple[int, ...] | None:
        """The links' counters, or None while something sent is not yet read."""
        subscription = self.service.subscription
        if subscription is not None and subscription.pending:
            return None
        counts: list[int] = []
        if self.gateway is not None:
            for effector_id, vehicle in self.vehicles.items():
                end = self.gateway.vehicles[effector_id]
                if (
                    end.inbox.qsize()
                    or end.received != vehicle.datagrams_sent
                    or end.sent != vehicle.datagrams_received
                ):
                    return None
                counts += (end.received, end.sent)
        if self.server is not None:
            sent = self.server.counters
            read = self.server.publisher.counters.bytes
            if read != sum(node.bytes_sent for node in self.nodes.values()) or (
                sent.acks_sent + sent.errors_sent + sent.tasks_sent
                != sum(node.frames_received for node in self.nodes.values())
            ):
                return None
            counts += (read, sent.acks_sent, sent.errors_sent, sent.tasks_sent)
        return tuple(counts)

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
    lockstep: bool = False,
) -> ExerciseEffectors:
    """Start the gateways, their service on ``bus`` and a simulated effector per link.

    ``clock`` is the gateways' time; with ``act_on_clock`` (a run's simulated time) the
    simulated effectors fly and drive on it too, else ``time_factor`` times real time.
    ``lockstep`` (with ``act_on_clock``): they move and report, and the service publishes
    statuses, only in `ExerciseEffectors.settle`, which the run calls at each clock tick."""
    if lockstep and not act_on_clock:
        raise ValueError("lockstep effectors act on the run's clock (act_on_clock)")
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
        status_poll_s=None if lockstep else 1.0,
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
            stepped=lockstep,
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
            stepped=lockstep,
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
