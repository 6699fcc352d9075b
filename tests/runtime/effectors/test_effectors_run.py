"""``hotzone effectors run`` as docs/effectors.md gives it, as its own process, on a real
nats-server with JetStream, against a third-party SAPIENT effector node (sapient-py, own
process, real TCP).

The documented command and gateway file are taken from the doc; only the NATS URL, the
SAPIENT port (free ones of this run) and the node id are replaced. The c2 node key that signs
is trusted in the run's ``$HOTZONE_HOME``; a forged key is not. c2's state is published
before the command starts: the command must learn it from the nation's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotzone.bus import NatsBus
from hotzone.bus.nats import nation_streams
from hotzone.c2.trust import NodeKey, trust_node
from hotzone.cli import main
from hotzone.runtime.federation_servers import free_port
from hotzone.runtime.routing import subject_for
from hotzone.types import Alert, AnyMessage, DeadLetter, Event
from tests.federation.servers import running_standalone
from tests.ingest.test_sapient import registration
from tests.ingest.test_sapient_server import SensorClient
from tests.ingest.test_sapient_tls import Authority, _client_context
from tests.runtime.effectors.rig import (
    C2_NODE,
    HANG_GUARD_S,
    BusWatch,
    Peer,
    c2_state,
    new_node_id,
    order,
    proposal,
)

DOC = Path(__file__).parents[3] / "docs" / "effectors.md"
RUN_CLI = "import sys; from hotzone.cli import main; sys.exit(main(sys.argv[1:]))"
DOC_NATS = "nats://127.0.0.1:4222"
DOC_SAPIENT = "127.0.0.1:5020"
DOC_NODE = "5c6f0a52-3d2e-4b8e-9a41-0f1d2c3b4a51"
DOC_MAVLINK = "127.0.0.1:14551"
DOC_TAK = "tcp://127.0.0.1:8087"
EFFECTOR = "shorad-suwalki"
VEHICLE = "icpt-suwalki"
TAK_UNIT = "qrf-sejny"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def local_gateway_file(
    text: str,
    *,
    sapient_port: int,
    node_id: str = DOC_NODE,
    mavlink_port: int = 0,
    tak_port: int = 0,
) -> str:
    """The documented gateway file with this run's free ports (and node id)."""
    return (
        text.replace(DOC_SAPIENT, f"127.0.0.1:{sapient_port}")
        .replace(DOC_NODE, node_id)
        .replace(DOC_MAVLINK, f"127.0.0.1:{mavlink_port or free_udp_port()}")
        .replace(DOC_TAK, f"tcp://127.0.0.1:{tak_port or free_port()}")
    )  # fmt: skip


def documented() -> tuple[str, str]:
    """The gateway file and the command of "Running the gateways"."""
    section = DOC.read_text().split("### Running the gateways", 1)[1]
    gateway_file = re.search(r"```yaml\n(.*?)```", section, re.S)
    command = re.search(r"```sh\n(.*?)```", section, re.S)
    assert gateway_file is not None and command is not None
    return gateway_file.group(1), command.group(1).strip()


class CommandProcess:
    """The command as its own process; ``lines`` is what it printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []

    @classmethod
    async def start(cls, line: str, cwd: Path, home: Path) -> CommandProcess:
        args = shlex.split(line)
        assert args[0] == "hotzone"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            RUN_CLI,
            *args[1:],
            cwd=cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "HOTZONE_HOME": str(home), "PYTHONUNBUFFERED": "1"},
        )
        return cls(process)

    async def until(self, prefix: str) -> str:
        async def read() -> str:
            assert self.process.stdout is not None
            while line := (await self.process.stdout.readline()).decode():
                self.lines.append(line.rstrip("\n"))
                if line.startswith(prefix):
                    return line
            raise AssertionError(f"the command ended without {prefix!r}: {self.lines}")

        return await asyncio.wait_for(read(), HANG_GUARD_S)

    async def kill(self) -> None:
        """SIGKILL: no chance to close anything or acknowledge what it was handling."""
        self.process.kill()
        assert self.process.stdout is not None
        self.lines += (await self.process.stdout.read()).decode().splitlines()
        await asyncio.wait_for(self.process.wait(), HANG_GUARD_S)

    async def stop(self) -> int:
        """SIGTERM, then the rest of what it prints; its exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        rest = await asyncio.wait_for(self.process.stdout.read(), HANG_GUARD_S)
        self.lines += rest.decode().splitlines()
        return await asyncio.wait_for(self.process.wait(), HANG_GUARD_S)


@contextlib.asynccontextmanager
async def nation_bus(url: str) -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(url, nation_streams("PL"), domain="pl", name="test-c2")
    try:
        yield bus
    finally:
        await bus.close()


async def publish(bus: NatsBus, *messages: AnyMessage) -> None:
    from hotzone.types import to_json

    for message in messages:
        await bus.publish(subject_for(message, "PL"), to_json(message))


def test_documented_effectors_run_tasks_a_real_node_with_signed_orders_only(
    tmp_path: Path,
) -> None:
    gateway_text, command = documented()
    sapient_port = free_port()
    node_id = new_node_id()
    (tmp_path / "pl-gateways.yaml").write_text(
        local_gateway_file(gateway_text, sapient_port=sapient_port, node_id=node_id)
    )
    home = tmp_path / "home"
    trust_node(C2_NODE.public_raw, "PL", home)
    forger = NodeKey.generate("PL")  # a key of the right shape that no one trusts

    async def scenario(url: str) -> tuple[list[str], list[dict[str, object]], BusWatch, int]:
        async with nation_bus(url) as bus:
            # c2's state before the gateways exist: they must read it from the log.
            await publish(bus, c2_state(abort=False))
            assert DOC_NATS in command
            process = await CommandProcess.start(command.replace(DOC_NATS, url), tmp_path, home)
            node: Peer | None = None
            watch = BusWatch(bus)  # type: ignore[arg-type]
            try:
                await process.until("ready: ")
                await watch.start()
                node = await Peer.start(
                    "sapient_effector_node.py",
                    "--port",
                    str(sapient_port),
                    "--node-id",
                    node_id,
                    "--node-type",
                    "KINETIC",
                    "--commands",
                    "look_at",
                )
                await node.wait_for(event="ready")
                approved = proposal(EFFECTOR, 1)
                await publish(bus, approved)
                unsigned = order(approved, 2, sign=False)
                forged = order(approved, 3, node=forger)
                signed = order(approved, 1)
                await publish(bus, unsigned, forged, signed)
                await watch.until_lifecycle(signed.order_id, "acknowledged")
                await watch.until(lambda: len(watch.of_type(DeadLetter)) >= 2)
                # A global abort from c2 stops the task at the node.
                await publish(bus, c2_state(abort=True))
                await node.wait_for(event="task", control="STOP")
                await watch.until_lifecycle(signed.order_id, "aborted")
                tasks = node.seen(event="task")
            finally:
                status = await process.stop()
                if node is not None:
                    await node.stop()
                await watch.close()
        return process.lines, tasks, watch, status

    with running_standalone(tmp_path) as server:
        lines, tasks, watch, status = asyncio.run(scenario(server.plan.url))
    printed = "\n".join(lines)
    assert status == 0, printed
    assert any(line.startswith(EFFECTOR) and node_id in line for line in lines), printed
    # Exactly the signed order's task reached the node: its START, and the abort's STOP.
    assert [(t["control"], t["destination_id"], t["command"]) for t in tasks] == [
        ("START", node_id, "look_at"),
        ("STOP", node_id, "look_at"),
    ]
    assert tasks[0]["task_id"] == tasks[1]["task_id"]
    assert watch.lifecycle("order-00001")[:3] == ["ordered", "delivered", "acknowledged"]
    acknowledged = [
        m
        for m in watch.of_type(Event, "hz.PL.")
        if m.attributes.get("order_id") == "order-00001"
        and m.attributes.get("lifecycle") == "acknowledged"
    ]
    assert acknowledged and acknowledged[0].attributes["effector_id"] == EFFECTOR
    assert acknowledged[0].attributes["interface"] == "sapient"
    # The unsigned and the forged one: dead letters and alerts, no lifecycle, nothing sent.
    refused = {
        alert.summary for alert in watch.of_type(Alert) if alert.kind == "effector_order_refused"
    }
    assert len(refused) == 2, refused
    assert watch.lifecycle("order-00002") == [] and watch.lifecycle("order-00003") == []
    summary = [line for line in lines if line.startswith("stopped: ")]
    assert summary and summary[0].startswith("stopped: 1 orders delivered, 2 refused"), printed


def test_bad_input_to_effectors_run_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTZONE_HOME", str(tmp_path / "home"))
    gateway_text, _ = documented()
    good = tmp_path / "good.yaml"
    busy = socket.create_server(("127.0.0.1", 0))  # the SAPIENT port someone else holds
    port = busy.getsockname()[1]
    good.write_text(local_gateway_file(gateway_text, sapient_port=port))
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text(gateway_text.replace("node_type: kinetic", "node_type: catapult"))
    stranger = tmp_path / "stranger.yaml"
    stranger.write_text(gateway_text.replace(EFFECTOR, "trebuchet-1"))
    run = ["effectors", "run", "suwalki-drones", "--nation", "PL"]

    def refused(*extra: str) -> str:
        assert main([*run, *extra]) == 2
        error = capsys.readouterr().err.strip()
        assert len(error.splitlines()) == 1, error
        return error

    assert "missing.yaml" in refused("--gateways", str(tmp_path / "missing.yaml"))
    assert "node_type" in refused("--gateways", str(malformed))
    assert "trebuchet-1" in refused("--gateways", str(stranger))
    nowhere = f"nats://127.0.0.1:{free_port()}"
    no_server = refused("--gateways", str(good), "--nats", nowhere, "--connect-timeout", "1")
    assert nowhere in no_server
    with busy, running_standalone(tmp_path) as server:
        error = refused("--gateways", str(good), "--nats", server.plan.url)
    assert "cannot listen" in error and str(port) in error


async def _register_as(port: int, context: ssl.SSLContext, node_id: str) -> bool:
    """Whether a node connecting with ``context`` gets its registration as ``node_id``
    accepted."""
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
    except (ssl.SSLError, ConnectionError):
        return False
    client = SensorClient(reader, writer)
    try:
        await client.send(registration(node_id))
        answer = await client.receive()
        return answer.WhichOneof("content") == "registration_ack" and bool(
            answer.registration_ack.acceptance
        )
    except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
        return False  # TLS 1.3: the server's refusal arrives after the client's handshake
    finally:
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()


def test_effectors_run_with_client_ca_binds_each_certificate_to_its_node_id(
    tmp_path: Path,
) -> None:
    """The documented mutual-TLS options added to the documented command: a node with a
    certificate of the clients' CA naming its node id registers; the same valid
    certificate registering another node id is refused (counted), and a node without any
    certificate is refused at the handshake (counted)."""
    gateway_text, command = documented()
    section = DOC.read_text().split("### Running the gateways", 1)[1]
    tls_options = re.search(r"`(--sapient-tls-cert [^`]*)`", section)
    assert tls_options is not None
    sapient_port = free_port()
    (tmp_path / "pl-gateways.yaml").write_text(
        local_gateway_file(gateway_text, sapient_port=sapient_port)
    )
    servers_ca = Authority("servers-ca", tmp_path)
    clients_ca = Authority("effectors-ca", tmp_path)  # effectors-ca.pem, as documented
    certificate, key = servers_ca.issue("node", server=True)
    certificate.rename(tmp_path / "node.pem")
    assert key == tmp_path / "node.key"
    node_id, other_node = new_node_id(), new_node_id()
    node_identity = clients_ca.issue(node_id)  # its certificate names its node id (CN)
    home = tmp_path / "home"
    trust_node(C2_NODE.public_raw, "PL", home)

    async def scenario(url: str) -> tuple[bool, bool, bool, list[str], int]:
        line = f"{command.replace(DOC_NATS, url)} {tls_options.group(1)}"
        process = await CommandProcess.start(line, tmp_path, home)
        try:
            await process.until("ready: ")
            context = _client_context(servers_ca, node_identity)
            certified = await _register_as(sapient_port, context, node_id)
            impostor = await _register_as(sapient_port, context, other_node)
            anonymous = await _register_as(sapient_port, _client_context(servers_ca, None), node_id)
        finally:
            status = await process.stop()
        return certified, impostor, anonymous, process.lines, status

    with running_standalone(tmp_path) as server:
        certified, impostor, anonymous, lines, status = asyncio.run(scenario(server.plan.url))
    printed = "\n".join(lines)
    assert status == 0, printed
    assert any("(mutual TLS)" in line for line in lines), printed
    assert certified and not impostor and not anonymous
    summary = [line for line in lines if line.startswith("stopped: ")]
    assert summary and "1 registrations" in summary[0], printed
    refused = "1 refused by TLS, 1 refused for a certificate of another node"
    assert refused in summary[0], printed


def test_effectors_run_carries_orders_through_mavlink_and_cot_and_resumes_after_sigkill(
    tmp_path: Path,
) -> None:
    """The documented command and gateway file, end to end through the MAVLink vehicle
    (pymavlink, own process) and the TAK unit on TCP (pytak, own process). The process is
    SIGKILLed between two orders; the next order is published while it is down; the same
    command started again reads it from its durable consumer: delivered once, and nothing
    of before the kill is sent again."""
    gateway_text, command = documented()
    mavlink_port, tak_port = free_udp_port(), free_port()
    (tmp_path / "pl-gateways.yaml").write_text(
        local_gateway_file(
            gateway_text, sapient_port=free_port(), mavlink_port=mavlink_port, tak_port=tak_port
        )
    )
    home = tmp_path / "home"
    trust_node(C2_NODE.public_raw, "PL", home)

    async def scenario(url: str) -> tuple[list[str], Peer, Peer, BusWatch]:
        line = command.replace(DOC_NATS, url)
        async with nation_bus(url) as bus:
            await publish(bus, c2_state(abort=False))
            unit = await Peer.start("tak_unit.py", "--tcp-port", str(tak_port))
            vehicle = await Peer.start(
                "mavlink_vehicle.py", "--port", str(mavlink_port), "--system-id", "11",
                "--lat", "54.12", "--lon", "23.045",
            )  # fmt: skip
            watch = BusWatch(bus)  # type: ignore[arg-type]
            await watch.start()
            first = await CommandProcess.start(line, tmp_path, home)
            second: CommandProcess | None = None
            try:
                await unit.wait_for(event="ready")
                await first.until("ready: ")
                await unit.wait_for(event="connection")
                await vehicle.wait_for(event="gcs_heartbeat")  # the gateway has its link
                flight, tasking, later = (
                    proposal(VEHICLE, 1),
                    proposal(TAK_UNIT, 2),
                    proposal(TAK_UNIT, 3),
                )
                await publish(bus, flight, tasking, later)
                o_flight, o_tasking, o_later = order(flight, 1), order(tasking, 2), order(later, 3)
                await publish(bus, o_flight, o_tasking)
                await watch.until_lifecycle(o_flight.order_id, "effect_observed")
                await watch.until_lifecycle(o_tasking.order_id, "in_progress")
                await first.kill()
                await publish(bus, o_later)  # while no gateway runs
                second = await CommandProcess.start(line, tmp_path, home)
                await second.until("ready: ")
                await watch.until_lifecycle(o_later.order_id, "in_progress")
            finally:
                status = await second.stop() if second is not None else -1
                if first.process.returncode is None:
                    await first.kill()
                await unit.stop()
                await vehicle.stop()
                await watch.close()
            assert status == 0, "\n".join(second.lines if second else [])
            return first.lines + second.lines, unit, vehicle, watch  # type: ignore[union-attr]

    with running_standalone(tmp_path) as server:
        lines, unit, vehicle, watch = asyncio.run(scenario(server.plan.url))
    printed = "\n".join(lines)
    # Each tasking reached the TAK unit exactly once, across the kill and the restart.
    assert [c["uid"] for c in unit.seen(event="cot")] == [
        "hotzone.order.order-00002",
        "hotzone.order.order-00003",
    ], printed
    assert len(unit.seen(event="connection")) == 2  # one per run of the command
    # The vehicle was armed, launched and sent to the target once.
    executed = [c["command"] for c in vehicle.seen(event="command") if c["executed"]]
    assert executed.count("COMPONENT_ARM_DISARM") == 1, executed
    assert executed.count("NAV_TAKEOFF") == 1, executed
    for order_id in ("order-00001", "order-00002", "order-00003"):
        steps = watch.lifecycle(order_id)
        assert steps.count("ordered") == 1 and steps.count("delivered") == 1, (order_id, steps)
    signed = [
        m
        for m in watch.of_type(Event)
        if m.attributes.get("lifecycle") and "signature" in m.attributes
    ]
    assert signed and all(m.attributes.get("signer_key_id") for m in signed)
    assert not watch.of_type(DeadLetter), [d.reason for d in watch.of_type(DeadLetter)]
    assert lines[-1].startswith("stopped: 1 orders delivered, 0 refused"), printed
    assert "CoT: 0 reconnections, 0 replies dropped" in lines[-1], printed
