"""Cursor on Target gateway against TAK units written with pytak (own processes, real UDP):
only verified orders become a CoT tasking, valid against the CoT schema, received by the
unit, acknowledged and completed; abort withdraws the tasking; a silent unit times out."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from lxml import etree

from hotzone.bus import InProcessBus
from hotzone.c2.trust import NodeKey
from hotzone.runtime.effectors.base import OrderGuard
from hotzone.runtime.effectors.config import EffectorLink, Interface
from hotzone.runtime.effectors.cot import CotEffectorGateway, tasking_uid
from hotzone.runtime.effectors.service import EffectorService, bus_publisher
from hotzone.types import Alert, DeadLetter, Proposal, TaskOrder
from hotzone.types.signing import order_fault
from tests.ingest.test_sapient_tls import Authority
from tests.runtime.effectors.rig import (
    TARGET,
    TRUSTED,
    BusWatch,
    Peer,
    c2_state,
    order,
    proposal,
)

SCHEMA_PATH = Path(__file__).parents[2] / "golden" / "cot" / "Event-PUBLIC.xsd"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Rig:
    watch: BusWatch
    gateway: CotEffectorGateway
    units: dict[str, Peer]

    async def send(self, *messages: Proposal | TaskOrder) -> None:
        for message in messages:
            subject = "hz.PL.c2.order" if isinstance(message, TaskOrder) else "hz.PL.c2.proposal"
            await self.watch.publish(subject, message)

    def dead_letters(self) -> list[DeadLetter]:
        return list(self.watch.of_type(DeadLetter, "hz.PL.dead.order_cot"))

    def alerts(self, kind: str) -> list[Alert]:
        return [a for a in self.watch.of_type(Alert) if a.kind == kind]


@contextlib.asynccontextmanager
async def cot_rig(behaviours: dict[str, str], ack_timeout_s: float = 60.0) -> AsyncIterator[Rig]:
    ports = {effector_id: free_udp_port() for effector_id in behaviours}
    links = {
        effector_id: EffectorLink(
            interface=Interface.COT,
            endpoint=f"udp://127.0.0.1:{ports[effector_id]}",
            listen="127.0.0.1:0",
            callsign=effector_id.upper(),
        )
        for effector_id in behaviours
    }
    bus = InProcessBus()
    watch = BusWatch(bus)
    await watch.start()
    gateway = CotEffectorGateway(links, bus_publisher(bus, "PL"), ack_timeout_s=ack_timeout_s)
    service = EffectorService(bus, "PL", [gateway], OrderGuard(TRUSTED))
    await service.start()
    ready = asyncio.Event()
    runner = asyncio.create_task(service.run(ready))
    await ready.wait()
    units = {}
    for effector_id, behaviour in behaviours.items():
        reply_to = f"127.0.0.1:{gateway.units[effector_id].listen_port}"
        units[effector_id] = await Peer.start(
            "tak_unit.py",
            "--port",
            str(ports[effector_id]),
            "--reply-to",
            reply_to,
            "--behaviour",
            behaviour,
        )
    try:
        for unit in units.values():
            await unit.wait_for(event="ready")
        await watch.publish("hz.PL.c2.state", c2_state(abort=False))
        yield Rig(watch, gateway, units)
    finally:
        for unit in units.values():
            await unit.stop()
        await service.close()
        await bus.close()
        await runner
        await watch.close()


def test_a_verified_order_reaches_the_tak_unit_as_schema_valid_tasking(
    schema: etree.XMLSchema,
) -> None:
    async def scenario() -> None:
        async with cot_rig({"qrf-1": "complete"}) as rig:
            good, other = proposal("qrf-1", 1), proposal("qrf-1", 2)
            sent = order(good, 1)
            refused = [
                order(other, 3, node=NodeKey.generate("PL")),  # forged
                order(other, 4, sign=False),  # unsigned
                order(other, 5, window_end=other.time),  # expired
                msgspec.structs.replace(order(other, 6), action="fire everything"),  # altered
            ]
            await rig.send(good, other, sent, *refused)
            await rig.watch.until_lifecycle(sent.order_id, "effect_observed")
            assert rig.watch.lifecycle(sent.order_id) == [
                "ordered",
                "delivered",
                "acknowledged",
                "in_progress",
                "effect_observed",
            ]
            # The same order again is a replay: refused, nothing sent.
            await rig.send(sent)
            await rig.watch.until(lambda: len(rig.dead_letters()) == len(refused) + 1)
            assert "a replay" in rig.dead_letters()[-1].reason
            assert len(rig.alerts("effector_order_refused")) == len(refused) + 1

            unit = rig.units["qrf-1"]
            (tasking,) = unit.seen(event="cot")  # nothing of the refused orders
            assert (tasking["type"], tasking["uid"]) == ("t-k", tasking_uid(sent.order_id))
            document = etree.fromstring(tasking["xml"].encode())
            assert schema.validate(document), schema.error_log
            assert tasking["point"] == pytest.approx([TARGET.lat_deg, TARGET.lon_deg])
            assert tasking["link"] == f"hotzone.{sent.track_id}"
            # The signed order travels whole: the unit can verify it on its own.
            carried = msgspec.convert(tasking["order"], TaskOrder)
            assert carried == sent and order_fault(carried, TRUSTED) is None
            (row,) = rig.gateway.status()
            assert (row["connection"], row["readiness"], row["active_orders"]) == (
                "connected",
                "ready",
                "",
            )

    asyncio.run(scenario())


def test_abort_withdraws_the_tasking_and_a_silent_unit_times_out() -> None:
    async def scenario() -> None:
        async with cot_rig({"qrf-1": "ack", "qrf-2": "silent"}, ack_timeout_s=2.0) as rig:
            p_ack, p_silent = proposal("qrf-1", 1), proposal("qrf-2", 2)
            o_ack, o_silent = order(p_ack, 1), order(p_silent, 2)
            await rig.send(p_ack, p_silent, o_ack, o_silent)
            await rig.watch.until_lifecycle(o_ack.order_id, "in_progress")
            await rig.watch.until_lifecycle(o_silent.order_id, "failed")
            assert rig.watch.lifecycle(o_silent.order_id) == [
                "ordered",
                "delivered",
                "timeout",
                "failed",
            ]
            assert len(rig.alerts("effector_timeout")) == 1

            await rig.watch.publish("hz.PL.c2.state", c2_state(abort=True))
            await rig.watch.until_lifecycle(o_ack.order_id, "aborted")
            (abort_alert,) = rig.alerts("effector_abort")
            assert abort_alert.priority == 1
            tasking, cancel = rig.units["qrf-1"].seen(event="cot")
            assert (tasking["type"], cancel["type"]) == ("t-k", "t-x-d-d")
            assert cancel["link"] == tasking["uid"]
            # Nothing went to the silent unit after its timeout: its order had failed.
            assert len(rig.units["qrf-2"].seen(event="cot")) == 1

    asyncio.run(scenario())


def free_tcp_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def test_tasking_over_tcp_reaches_a_pytak_endpoint_and_a_dropped_connection_is_remade(
    schema: etree.XMLSchema,
) -> None:
    """The unit's endpoint is ``tcp://`` (a TAK server's or the device's streaming input):
    the gateway connects with pytak, the tasking arrives on the stream and the unit's
    replies come back on it. The unit drops the connection after each tasking: the gateway
    connects again (counted) and the next order goes over the new connection."""

    async def scenario() -> None:
        port = free_tcp_port()
        unit = await Peer.start(
            "tak_unit.py", "--tcp-port", str(port), "--behaviour", "complete", "--drop-after", "1"
        )
        await unit.wait_for(event="ready")
        link = EffectorLink(
            interface=Interface.COT, endpoint=f"tcp://127.0.0.1:{port}", callsign="QRF-TCP"
        )
        bus = InProcessBus()
        watch = BusWatch(bus)
        await watch.start()
        gateway = CotEffectorGateway({"qrf-tcp": link}, bus_publisher(bus, "PL"))
        service = EffectorService(bus, "PL", [gateway], OrderGuard(TRUSTED))
        await service.start()
        ready = asyncio.Event()
        runner = asyncio.create_task(service.run(ready))
        await ready.wait()
        connected = gateway.units["qrf-tcp"]
        try:
            await watch.publish("hz.PL.c2.state", c2_state(abort=False))
            await unit.wait_for(event="connection")
            await watch.until(lambda: connected.writer is not None)
            first, second = proposal("qrf-tcp", 1), proposal("qrf-tcp", 2)
            o_first, o_second = order(first, 1), order(second, 2)
            for message in (first, second):
                await watch.publish("hz.PL.c2.proposal", message)
            await watch.publish("hz.PL.c2.order", o_first)
            await watch.until_lifecycle(o_first.order_id, "effect_observed")
            await unit.wait_for(event="dropped")
            await unit.wait_for(2, event="connection")
            await watch.until(lambda: connected.writer is not None)
            await watch.publish("hz.PL.c2.order", o_second)
            await watch.until_lifecycle(o_second.order_id, "effect_observed")
        finally:
            await service.close()
            await bus.close()
            await runner
            await watch.close()
            await unit.stop()
        taskings = unit.seen(event="cot")
        assert [t["uid"] for t in taskings] == [
            tasking_uid(o_first.order_id),
            tasking_uid(o_second.order_id),
        ]
        for tasking in taskings:
            assert schema.validate(etree.fromstring(tasking["xml"].encode())), schema.error_log
        assert watch.lifecycle(o_second.order_id) == [
            "ordered",
            "delivered",
            "acknowledged",
            "in_progress",
            "effect_observed",
        ]
        counters = connected.counters
        print(f"TCP: {counters.connects} connections, {counters.reconnects} reconnections")
        assert counters.reconnects >= 1 and counters.connects == counters.reconnects + 1
        assert counters.dropped == 0 and counters.replies == 4

    asyncio.run(scenario())


def test_tasking_over_tls_reaches_a_tak_endpoint_that_requires_a_client_certificate(
    tmp_path: Path,
) -> None:
    """``tls://``: pytak's TLS client with hotzone's certificate; the endpoint (a TAK
    server's TLS input) requires a client certificate of its CA. The tasking arrives and the
    unit's acknowledgement comes back on the connection."""
    servers_ca = Authority("tak-ca", tmp_path)
    clients_ca = Authority("tak-clients-ca", tmp_path)
    server_cert, server_key = servers_ca.issue("tak-server", server=True)
    client_cert, client_key = clients_ca.issue("hotzone-gateway")

    async def scenario() -> tuple[Peer, list[str]]:
        port = free_tcp_port()
        unit = await Peer.start(
            "tak_unit.py", "--tcp-port", str(port), "--behaviour", "ack",
            "--tls-cert", str(server_cert), "--tls-key", str(server_key),
            "--tls-client-ca", str(clients_ca.path),
        )  # fmt: skip
        await unit.wait_for(event="ready")
        link = EffectorLink(
            interface=Interface.COT,
            endpoint=f"tls://127.0.0.1:{port}",
            callsign="QRF-TLS",
            tls_cert=str(client_cert),
            tls_key=str(client_key),
            tls_ca=str(servers_ca.path),
        )
        bus = InProcessBus()
        watch = BusWatch(bus)
        await watch.start()
        gateway = CotEffectorGateway({"qrf-tls": link}, bus_publisher(bus, "PL"))
        service = EffectorService(bus, "PL", [gateway], OrderGuard(TRUSTED))
        await service.start()
        ready = asyncio.Event()
        runner = asyncio.create_task(service.run(ready))
        await ready.wait()
        try:
            await watch.publish("hz.PL.c2.state", c2_state(abort=False))
            await unit.wait_for(event="connection")
            await watch.until(lambda: gateway.units["qrf-tls"].writer is not None)
            approved = proposal("qrf-tls", 1)
            sent = order(approved, 1)
            await watch.publish("hz.PL.c2.proposal", approved)
            await watch.publish("hz.PL.c2.order", sent)
            await watch.until_lifecycle(sent.order_id, "in_progress")
            return unit, watch.lifecycle(sent.order_id)
        finally:
            await service.close()
            await bus.close()
            await runner
            await watch.close()
            await unit.stop()

    unit, steps = asyncio.run(scenario())
    assert steps == ["ordered", "delivered", "acknowledged", "in_progress"]
    assert [c["uid"] for c in unit.seen(event="cot")] == [tasking_uid("order-00001")]
