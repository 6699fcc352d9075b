"""The SAPIENT fusion-node server: sensors connect, register, report; hotzone tasks them.

Speaks BSI Flex 335 v2.0 over TCP (length-prefixed protobuf, `hotzone.ingest.sapient`):

- registration -> registration ack (refused registrations get acceptance false as well as
  an Error), alert -> alert ack, task ack -> resolves the task `send_task` sent;
- every refused frame (not protobuf, wrong message, ICD mandatory field missing, message
  before registration) -> a SAPIENT Error carrying the packet, and a dead letter;
- a bad length prefix -> Error and dead letter, then the connection is closed, since
  nothing after it can be re-synchronised;
- what the decoder makes of the rest is published on the bus like any other source;
- a node id is held by one connection at a time: a second connection registering a node id
  that is registered and connected elsewhere is refused (Error and a refused registration
  ack), so nobody can take over a node's tasks by claiming its id;
- connections are bounded (`ConnectionLimits`: in all, per address, an idle timeout, and a
  timeout for bytes that complete no frame); a partial frame is at most the framing's
  ``max_frame_bytes``, so the server's buffers stay below max_connections × 1 MiB
  (64 MiB by default) whatever clients send; refusals and closings are counted;
- optionally over TLS (``tls``), with client certificates required when the context asks
  for them (mutual TLS: ``verify_mode = CERT_REQUIRED`` and the clients' CA loaded): the
  handshake comes after the connection limits, within ``frame_timeout_s``, and a client
  that fails it is closed and counted (``connections_refused_tls``) before any of its
  bytes reach the decoder;
- a `SapientListener` (the effector gateway, `hotzone.runtime.effectors.sapient`) may refuse
  a registration (``admit``) and sees every accepted frame of a registered node and every
  disconnection, so it can follow the tasks it sent.

Listens on 127.0.0.1:5020 by default, the port of Dstl's reference middleware.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from hotzone.ingest.sapient import messages as sapient_messages
from hotzone.ingest.sapient.decoder import FrameOutcome, SapientDecoder
from hotzone.ingest.sapient.framing import encode_frame
from hotzone.ingest.sapient.proto.sapient_msg.bsi_flex_335_v2_0 import (
    registration_pb2,
    sapient_message_pb2,
    task_ack_pb2,
    task_pb2,
)
from hotzone.runtime.routing import subject_for
from hotzone.runtime.sources import ConnectionAdmission, ConnectionLimits, SourcePublisher
from hotzone.types import Event, EventKind, to_json

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5020
#: An Error quotes the offending packet; a huge one is cut to this many bytes.
MAX_QUOTED_PACKET_BYTES = 4096


def server_tls_context(
    certificate: Path, key: Path, client_ca: Path | None = None
) -> ssl.SSLContext:
    """TLS for the SAPIENT port: this node's certificate and key (PEM) and, with
    ``client_ca``, client certificates signed by it required of every sensor and effector
    (mutual TLS). TLS 1.2 at least."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def certificate_names(peer_certificate: object) -> set[str]:
    """The names a verified client certificate gives its holder (`ssl.getpeercert`): its
    subject's common names and its subjectAltName entries (a UUID as ``urn:uuid:...`` is
    read as the UUID)."""
    names: set[str] = set()
    if not isinstance(peer_certificate, dict):
        return names
    for relative_name in peer_certificate.get("subject", ()):
        for key, value in relative_name:
            if key == "commonName":
                names.add(str(value))
    for _kind, value in peer_certificate.get("subjectAltName", ()):
        names.add(str(value).removeprefix("urn:uuid:"))
    return names


def _normal_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return text


class SapientServerError(RuntimeError):
    """A request the server cannot carry out (e.g. tasking a node that is not connected)."""


class SapientListener(Protocol):
    """What the server tells a party that follows some nodes (the effector gateway)."""

    def admit(self, node_id: str, registration: registration_pb2.Registration) -> Sequence[str]:
        """Reasons to refuse this registration; empty to accept it."""

    async def received(self, node_id: str, message: sapient_message_pb2.SapientMessage) -> None:
        """An accepted frame from a registered node (after the server answered it)."""

    async def disconnected(self, node_id: str) -> None:
        """The connection of a registered node closed."""


@dataclass
class SapientServerCounters:
    connections: int = 0
    registrations: int = 0
    acks_sent: int = 0
    errors_sent: int = 0
    tasks_sent: int = 0
    task_acks: int = 0
    registrations_refused_certificate: int = 0
    """Registrations refused because the client certificate names another node id."""


class SapientServer:
    """A SAPIENT fusion node on one TCP port; one `SapientDecoder` per connection."""

    def __init__(
        self,
        publisher: SourcePublisher,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        node_id: str | None = None,
        decoder_factory: Callable[[], SapientDecoder] = SapientDecoder,
        listener: SapientListener | None = None,
        limits: ConnectionLimits | None = None,
        tls: ssl.SSLContext | None = None,
        certificate_names_node: bool = False,
    ) -> None:
        self.publisher = publisher
        #: TLS on the port; mutual when the context requires client certificates.
        self.tls = tls
        #: With mutual TLS: a node may register only under a node id its certificate
        #: names (subject CN or a subjectAltName), so one effector's certificate cannot
        #: register as another (`certificate_names`).
        self.certificate_names_node = certificate_names_node
        # Sensors report at least every few seconds (status reports): a minute of silence
        # is a dead or hostile connection.
        self.limits = limits or ConnectionLimits(idle_timeout_s=120.0, frame_timeout_s=30.0)
        self._admission = ConnectionAdmission(self.limits, publisher.counters)
        self.host = host
        self.port = port
        #: This fusion node's UUID, the ``node_id`` of everything it sends.
        self.node_id = node_id if node_id is not None else str(uuid.uuid4())
        self.decoder_factory = decoder_factory
        self.listener = listener
        self.counters = SapientServerCounters()
        self._server: asyncio.Server | None = None
        self._writers: dict[str, asyncio.StreamWriter] = {}
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._task_acks: dict[str, asyncio.Future[task_ack_pb2.TaskAck]] = {}

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        # Port 0 asks the system for a free port; report the one actually bound.
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._connections):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()
        # Python 3.11's wait_closed does not wait for connection handlers; a handler left
        # running would be cancelled mid-publish when the event loop ends.
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5.0)
        for future in self._task_acks.values():
            future.cancel()

    @property
    def connected_nodes(self) -> list[str]:
        """Registered nodes with an open connection, which `send_task` can reach."""
        return sorted(self._writers)

    async def send_task(self, destination_id: str, task: task_pb2.Task) -> str:
        """Send a task to a registered, connected node; returns its task id."""
        writer = self._writers.get(destination_id)
        if writer is None:
            known = ", ".join(self.connected_nodes) or "none"
            raise SapientServerError(
                f"node {destination_id} is not connected and registered (connected: {known})"
            )
        loop = asyncio.get_running_loop()
        self._task_acks[task.task_id] = loop.create_future()
        await self._send(writer, sapient_messages.task_message(self.node_id, destination_id, task))
        self.counters.tasks_sent += 1
        return task.task_id

    async def wait_task_ack(self, task_id: str, timeout_s: float = 10.0) -> task_ack_pb2.TaskAck:
        """The node's TaskAck for a task sent by `send_task` (accepted, rejected, ...)."""
        future = self._task_acks.get(task_id)
        if future is None:
            raise SapientServerError(f"no task {task_id} was sent by this server")
        return await asyncio.wait_for(asyncio.shield(future), timeout_s)

    async def _send(
        self, writer: asyncio.StreamWriter, message: sapient_message_pb2.SapientMessage
    ) -> None:
        writer.write(encode_frame(message.SerializeToString()))
        await writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._admission.admit(writer):
            writer.close()
            return
        if self.tls is not None and not await self._handshake(writer):
            self._admission.leave(writer)
            writer.close()
            return
        decoder = self.decoder_factory()
        self.counters.connections += 1
        self._connections.add(writer)
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        nodes: set[str] = set()
        loop = asyncio.get_running_loop()
        last_frame = loop.time()
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(reader.read(1 << 16), self.limits.idle_timeout_s)
                except TimeoutError:
                    self.publisher.counters.closed_idle += 1
                    break
                if not chunk:
                    break
                received_at = datetime.now(UTC)
                self.publisher.counters.chunks += 1
                self.publisher.counters.bytes += len(chunk)
                outcomes, bad_length = decoder.feed_frames(chunk, received_at)
                if outcomes:
                    last_frame = loop.time()
                elif loop.time() - last_frame > self.limits.frame_timeout_s:
                    # Bytes keep coming and complete no frame: a slow loris.
                    self.publisher.counters.closed_slow += 1
                    break
                for outcome in outcomes:
                    await self._answer(writer, outcome, nodes, decoder)
                if bad_length is not None:
                    await self._send_error(writer, None, bad_length.raw, [bad_length.reason])
                result = decoder.collect(outcomes, bad_length)
                await self.publisher.publish_result(decoder, result, received_at)
                if bad_length is not None:
                    break
            received_at = datetime.now(UTC)
            await self.publisher.publish_result(decoder, decoder.flush(received_at), received_at)
        except ConnectionError:
            pass  # the sensor went away; what it sent so far is already published
        finally:
            self._admission.leave(writer)
            await self._disconnected(writer, nodes)

    async def _handshake(self, writer: asyncio.StreamWriter) -> bool:
        """TLS on an accepted connection; False (counted) for a client that fails it, e.g.
        without a certificate signed by the clients' CA when one is required."""
        assert self.tls is not None
        try:
            await writer.start_tls(self.tls, ssl_handshake_timeout=self.limits.frame_timeout_s)
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
            self.publisher.counters.connections_refused_tls += 1
            return False
        return True

    def _registration_refusals(
        self, writer: asyncio.StreamWriter, node_id: str, outcome: FrameOutcome
    ) -> list[str]:
        holder = self._writers.get(node_id)
        if holder is not None and holder is not writer:
            return [f"node id {node_id} is already registered on another connection"]
        if self.certificate_names_node:
            names = certificate_names(writer.get_extra_info("peercert"))
            if _normal_id(node_id) not in {_normal_id(name) for name in names}:
                self.counters.registrations_refused_certificate += 1
                return [
                    f"node id {node_id} is not named by the client certificate "
                    f"(it names {', '.join(sorted(names)) or 'nothing'})"
                ]
        if self.listener is None or outcome.sapient is None:
            return []
        return list(self.listener.admit(node_id, outcome.sapient.registration))

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        outcome: FrameOutcome,
        nodes: set[str],
        decoder: SapientDecoder,
    ) -> None:
        node_id = outcome.node_id
        if outcome.accepted and outcome.content == "registration" and node_id is not None:
            refusals = self._registration_refusals(writer, node_id, outcome)
            if refusals:
                # Refused like a malformed registration: Error, refused ack, dead letter;
                # the decoder forgets the node, so what it sends next is refused too.
                outcome.reasons.extend(refusals)
                if node_id not in nodes:
                    decoder.nodes.pop(node_id, None)
        if not outcome.accepted:
            await self._send_error(writer, node_id, outcome.payload, outcome.reasons)
            if outcome.content == "registration" and node_id is not None:
                refusal = sapient_messages.registration_ack(
                    self.node_id, node_id, accepted=False, reasons=outcome.reasons
                )
                await self._send(writer, refusal)
            return
        assert outcome.sapient is not None and node_id is not None  # accepted => parsed
        match outcome.content:
            case "registration":
                nodes.add(node_id)
                self._writers[node_id] = writer
                self.counters.registrations += 1
                await self._send(writer, sapient_messages.registration_ack(self.node_id, node_id))
                self.counters.acks_sent += 1
            case "alert":
                ack = sapient_messages.alert_ack(
                    self.node_id, node_id, outcome.sapient.alert.alert_id
                )
                await self._send(writer, ack)
                self.counters.acks_sent += 1
            case "task_ack":
                self.counters.task_acks += 1
                task_ack = outcome.sapient.task_ack
                future = self._task_acks.get(task_ack.task_id)
                if future is not None and not future.done():
                    future.set_result(task_ack)
        if self.listener is not None and node_id in nodes:
            await self.listener.received(node_id, outcome.sapient)

    async def _send_error(
        self,
        writer: asyncio.StreamWriter,
        destination_id: str | None,
        packet: bytes,
        reasons: list[str],
    ) -> None:
        quoted = packet[:MAX_QUOTED_PACKET_BYTES]
        await self._send(
            writer, sapient_messages.error_message(self.node_id, destination_id, quoted, reasons)
        )
        self.counters.errors_sent += 1

    async def _disconnected(self, writer: asyncio.StreamWriter, nodes: set[str]) -> None:
        self._connections.discard(writer)
        now = datetime.now(UTC)
        events = []
        gone = []
        for node_id in sorted(nodes):
            if self._writers.get(node_id) is writer:
                del self._writers[node_id]
                gone.append(node_id)
                events.append(
                    Event(
                        event_id=f"sapient:{node_id}:disconnected:{now.timestamp():.6f}",
                        time=now,
                        source_id=node_id,
                        kind=EventKind.SENSOR_STATUS,
                        severity=5,
                        summary=f"node {node_id} disconnected",
                        attributes={"state": "disconnected"},
                        releasability=self.publisher.releasability,
                    )
                )
        # The bus may already be closed when the server shuts down (BusClosedError).
        with contextlib.suppress(ConnectionError, RuntimeError):
            for event in events:
                subject = subject_for(event, self.publisher.nation)
                await self.publisher.bus.publish(subject, to_json(event))
            writer.close()
            await writer.wait_closed()
        if self.listener is not None:
            for node_id in gone:
                await self.listener.disconnected(node_id)
