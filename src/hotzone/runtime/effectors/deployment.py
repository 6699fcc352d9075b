"""The effector gateways of a deployment: real effectors, a nation's bus.

`start_deployment_effectors` starts what ``hotzone effectors run`` runs: hotzone's SAPIENT
server for the effector nodes on the gateway file's ``sapient.listen`` (connection limits,
optional mutual TLS), the SAPIENT, MAVLink and Cursor on Target gateways of the effectors
the file names, and the `EffectorService` that hands them the orders the `OrderGuard`
accepts (signed by a trusted c2 node key) and publishes their lifecycle and status.

With ``durable`` the service reads the nation's bus through a durable JetStream consumer
of that name: a restarted command resumes after the last message the previous run
handled, none lost. Nothing is acted on twice: the consumer's history (what it handled
before) gives the guard back its proposals, tracks, c2 state and the order ids it has
seen, and an order redelivered because the process died while handling it is skipped when
the nation's log holds its ``ordered`` step signed by this gateway key (at most once: a
weapon order is never repeated by a restart).
"""

from __future__ import annotations

import contextlib
import ssl
import uuid
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.js import api as js_api

from hotzone.bus import Bus, BusMessage, NatsBus, NatsSubscription
from hotzone.c2.trust import NodeKey, gateway_key_for
from hotzone.runtime.effectors.base import (
    Clock,
    EffectorGateway,
    GatewayOptions,
    OrderGuard,
    wall_clock,
)
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
from hotzone.runtime.services import decode_or_dead_letter
from hotzone.runtime.sources import ConnectionLimits, SourcePublisher, parse_host_port
from hotzone.types import Event
from hotzone.types.signing import lifecycle_fault

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
    durable: str | None = None,
    signer: NodeKey | None = None,
) -> DeploymentEffectors:
    """Start the gateways of ``spec`` and their service on ``bus``. An address that cannot
    be bound (a busy port) raises `OSError` with nothing left running. ``durable``: the
    name of the durable consumer the service reads through (a `NatsBus` only)."""
    publish = bus_publisher(bus, nation)
    signer = signer or gateway_key_for(nation)
    options = GatewayOptions(
        ack_timeout_s=spec.ack_timeout_s,
        clock=clock,
        releasability=releasability,
        command_retries=spec.command_retries,
        heartbeat_timeout_s=spec.heartbeat_timeout_s,
        signer=signer,
    )
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
            # Mutual TLS: an effector's certificate must name the node id it registers.
            certificate_names_node=(
                sapient_tls is not None and sapient_tls.verify_mode is ssl.CERT_REQUIRED
            ),
        )
        gateways.append(SapientEffectorGateway(server, sapient_links, publish, options))
    mavlink_links = spec.by_interface(Interface.MAVLINK)
    if mavlink_links:
        gateways.append(MavlinkEffectorGateway(mavlink_links, publish, options))
    cot_links = spec.by_interface(Interface.COT)
    if cot_links:
        gateways.append(CotEffectorGateway(cot_links, publish, options))
    service = EffectorService(
        bus,
        nation,
        gateways,
        OrderGuard(trusted_issuers),
        clock=clock,
        releasability=releasability,
        signer=signer,
    )
    if server is not None:
        await server.start()  # before the gateways: a busy SAPIENT port stops everything
    try:
        subscription = None
        if durable is not None and isinstance(bus, NatsBus):
            subscription = await _resume(bus, nation, service, durable, signer)
        running = await start_effector_service(service, subscription)
    except BaseException:
        with contextlib.suppress(Exception):
            await service.close()
        if server is not None:
            await server.close()
        raise
    return DeploymentEffectors(running, server)


async def _resume(
    bus: NatsBus, nation: str, service: EffectorService, durable: str, signer: NodeKey
) -> NatsSubscription:
    """The durable consumer, and the service's state as the previous run left it."""
    subscription = await bus.subscribe(f"hz.{nation}.>", 8192, durable=durable)
    async for handled in subscription.history():
        service.recall(decode_or_dead_letter(handled, "effectors"))
    service.acted_before = await orders_acted_on(bus, nation, signer)
    return subscription


async def orders_acted_on(bus: NatsBus, nation: str, signer: NodeKey) -> set[str]:
    """Order ids whose ``ordered`` step ``signer`` signed, from the nation's log (a step
    anyone else published proves nothing and is not counted)."""
    subjects = [f"hz.{nation}.det.*.effectors-{interface}" for interface in Interface]
    stream = bus.stream_for(f"hz.{nation}.det.>").name
    name = f"resume-{uuid.uuid4().hex[:16]}"
    config = js_api.ConsumerConfig(
        name=name,
        deliver_policy=js_api.DeliverPolicy.ALL,
        ack_policy=js_api.AckPolicy.NONE,
        filter_subjects=subjects,
        inactive_threshold=60.0,
        mem_storage=True,
    )
    jetstream = bus.jetstream
    await jetstream.add_consumer(stream, config)
    pull = await jetstream.pull_subscribe_bind(consumer=name, stream=stream)
    trusted = {signer.key_id: signer.public_raw}
    ordered: set[str] = set()
    try:
        while (await jetstream.consumer_info(stream, name)).num_pending > 0:
            with contextlib.suppress(nats.errors.TimeoutError):
                for raw in await pull.fetch(batch=1024, timeout=2.0):
                    message = decode_or_dead_letter(
                        BusMessage(subject=raw.subject, payload=raw.data, headers={}),
                        "effectors",
                    )
                    if (
                        isinstance(message, Event)
                        and message.attributes.get("lifecycle") == "ordered"
                        and lifecycle_fault(message, trusted) is None
                    ):
                        ordered.add(message.attributes.get("order_id", ""))
    finally:
        with contextlib.suppress(nats.errors.Error, nats.js.errors.Error):
            await pull.unsubscribe()
        with contextlib.suppress(nats.errors.Error, nats.js.errors.Error):
            await jetstream.delete_consumer(stream, name)
    return ordered
