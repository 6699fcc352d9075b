"""Live input sources: UDP, TCP (client or server), files (read or followed) and Unix sockets.

Each source feeds what arrives to one `Decoder` per stream and publishes the messages on
their subjects and every refused frame as a dead letter on ``hz.{nation}.dead.{source}``.
A bad frame never stops a source.

The Unix-socket and followed-file sources match Suricata's ``eve-log`` output types:
``filetype: regular`` (`follow_file_chunks`, ``tail -F``), ``unix_dgram``
(`unix_datagram_chunks`: hotzone binds the socket, Suricata sends one record per datagram)
and ``unix_stream`` (`serve_unix_stream`: hotzone listens, Suricata connects).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from hotzone.bus import Bus
from hotzone.ingest.base import Decoder, DecodeResult, reason_kind
from hotzone.runtime.latency import LatencyHistogram
from hotzone.runtime.routing import subject_for
from hotzone.types import to_json
from hotzone.types.subjects import dead_letter_subject

#: Distinct dead-letter reasons counted per source; further ones count as "other", so a
#: sender varying its garbage cannot grow the counters (or /metrics) without bound.
MAX_REASON_KINDS = 64


@dataclass
class SourceCounters:
    """What one source took in, published and refused; read by the CLI summary and
    `hotzone.runtime.metrics`."""

    chunks: int = 0
    bytes: int = 0
    messages: int = 0
    dead_letters: int = 0
    #: Dead letters by `reason_kind`, at most `MAX_REASON_KINDS` kinds and "other".
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    connections_open: int = 0
    connections_refused: int = 0
    #: Connections refused because they presented no valid client certificate (mTLS).
    connections_refused_tls: int = 0
    closed_idle: int = 0
    closed_slow: int = 0
    datagrams_dropped: int = 0
    #: Seconds from a chunk's arrival to its messages and refusals being published.
    decode_seconds: LatencyHistogram = field(default_factory=LatencyHistogram)

    def count_dead_letter(self, reason: str) -> None:
        self.dead_letters += 1
        kind = reason_kind(reason)
        reasons = self.dead_letter_reasons
        if kind not in reasons and len(reasons) >= MAX_REASON_KINDS:
            kind = "other"
        reasons[kind] += 1


@dataclass(frozen=True)
class ConnectionLimits:
    """What one listening feed server allows (``hotzone ingest --listen-tcp/--unix-stream``).

    ``max_connections`` open at once (a further one is closed at once and counted);
    ``idle_timeout_s`` without a byte closes a connection; ``frame_timeout_s`` of bytes
    arriving without one whole message or refusal coming of them closes it too (a slow
    loris holding a partial frame open), and so does a partial frame grown past what the
    decoder's own size cap allows.
    """

    max_connections: int = 64
    #: Connections from one address at once: a crowd from one host leaves room for others.
    max_per_address: int = 16
    idle_timeout_s: float = 300.0
    frame_timeout_s: float = 60.0


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port), with a clear error for anything else."""
    host, separator, port_text = text.rpartition(":")
    if not separator or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:30003), got {text!r}")
    return host.strip("[]"), int(port_text)


async def publish_runs(bus: Bus, messages: Iterable[tuple[str, bytes]]) -> None:
    """Publish ``messages`` (subject, payload) in order, each run of consecutive ones on
    one subject as one bus batch (`Bus.publish_batch`: one NATS message and one delivery
    for a radar scan's plots, each item its own message, with its own id, to every
    reader)."""
    run: list[tuple[str, bytes]] = []
    run_subject = ""
    for subject, payload in messages:
        if run and subject != run_subject:
            await bus.publish_batch(run_subject, run)
            run = []
        run_subject = subject
        run.append(("", payload))
    if run:
        await bus.publish_batch(run_subject, run)


class SourcePublisher:
    """Publishes what a decoder makes of incoming bytes."""

    def __init__(self, bus: Bus, nation: str, releasability: str = "NATO") -> None:
        self.bus = bus
        self.nation = nation
        self.releasability = releasability
        self.counters = SourceCounters()

    async def publish_chunk(
        self, decoder: Decoder, data: bytes, received_at: datetime | None = None
    ) -> int:
        """Publish what ``data`` completes (received now, unless ``received_at`` says
        when); how many messages and refusals that was."""
        received_at = received_at or datetime.now(UTC)
        started = time.perf_counter()
        self.counters.chunks += 1
        self.counters.bytes += len(data)
        published = await self.publish_result(decoder, decoder.feed(data, received_at), received_at)
        self.counters.decode_seconds.observe(time.perf_counter() - started)
        return published

    async def publish_result(
        self, decoder: Decoder, result: DecodeResult, received_at: datetime
    ) -> int:
        """Publish what a decoder made of a chunk: each run of consecutive messages on one
        subject as one bus batch (`Bus.publish_batch`: one NATS message and one delivery
        for a radar scan's plots, each item its own message to every reader, in order),
        then the refusals, each a dead letter of its own."""
        before = self.counters.messages + self.counters.dead_letters
        await publish_runs(
            self.bus, ((subject_for(m, self.nation), to_json(m)) for m in result.messages)
        )
        self.counters.messages += len(result.messages)
        subject = dead_letter_subject(self.nation, decoder.source_name)
        for dead_letter in result.dead_letters(
            decoder.source_name, received_at, self.releasability
        ):
            await self.bus.publish(subject, to_json(dead_letter))
            self.counters.count_dead_letter(dead_letter.reason)
        return self.counters.messages + self.counters.dead_letters - before

    async def pump(self, decoder: Decoder, chunks: AsyncIterator[bytes]) -> None:
        async for chunk in chunks:
            await self.publish_chunk(decoder, chunk)
        await self._flush(decoder)

    async def pump_timed(
        self, decoder: Decoder, chunks: AsyncIterator[tuple[float, bytes]]
    ) -> None:
        """`pump` for chunks that come with when they were received (POSIX s:
        `UdpReceiver.timed_datagrams`), their messages' ``received_at``."""
        async for received_s, chunk in chunks:
            await self.publish_chunk(decoder, chunk, datetime.fromtimestamp(received_s, tz=UTC))
        await self._flush(decoder)

    async def _flush(self, decoder: Decoder) -> None:
        received_at = datetime.now(UTC)
        await self.publish_result(decoder, decoder.flush(received_at), received_at)


async def file_chunks(path: Path, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
    with open(path, "rb") as stream:
        while chunk := stream.read(chunk_size):
            yield chunk
            await asyncio.sleep(0)


async def tcp_client_chunks(host: str, port: int) -> AsyncIterator[bytes]:
    """Connect to a feed (e.g. an SBS port 30003 server) and yield what it sends."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while chunk := await reader.read(1 << 16):
            yield chunk
    finally:
        writer.close()


class _DatagramQueue(asyncio.DatagramProtocol):
    """Queues the datagrams of a Unix datagram socket for the event loop."""

    def __init__(self, queue: asyncio.Queue[bytes]) -> None:
        self.queue = queue
        self.dropped = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            # UDP has no back-pressure to give; count what the host could not keep up with.
            self.dropped += 1


async def serve_connection(
    reader: asyncio.StreamReader,
    decoder: Decoder,
    publisher: SourcePublisher,
    limits: ConnectionLimits,
) -> None:
    """Decode one client's bytes until it hangs up, goes idle or holds a frame too long."""
    loop = asyncio.get_running_loop()
    last_output = loop.time()
    while True:
        try:
            chunk = await asyncio.wait_for(reader.read(1 << 16), limits.idle_timeout_s)
        except TimeoutError:
            publisher.counters.closed_idle += 1
            break
        if not chunk:
            break
        if await publisher.publish_chunk(decoder, chunk):
            last_output = loop.time()
        elif loop.time() - last_output > limits.frame_timeout_s:
            publisher.counters.closed_slow += 1
            break
    received_at = datetime.now(UTC)
    await publisher.publish_result(decoder, decoder.flush(received_at), received_at)


class ConnectionAdmission:
    """Counts open connections, in all and per address, against `ConnectionLimits`."""

    def __init__(self, limits: ConnectionLimits, counters: SourceCounters) -> None:
        self.limits = limits
        self.counters = counters
        self.open = 0
        self._by_address: dict[str, int] = {}

    def admit(self, writer: asyncio.StreamWriter) -> bool:
        address = self._address(writer)
        here = self._by_address.get(address, 0)
        if self.open >= self.limits.max_connections or here >= self.limits.max_per_address:
            self.counters.connections_refused += 1
            return False
        self.open += 1
        self._by_address[address] = here + 1
        self.counters.connections += 1
        self.counters.connections_open = self.open
        return True

    def leave(self, writer: asyncio.StreamWriter) -> None:
        address = self._address(writer)
        self.open -= 1
        self.counters.connections_open = self.open
        left = self._by_address.get(address, 1) - 1
        if left > 0:
            self._by_address[address] = left
        else:
            self._by_address.pop(address, None)

    @staticmethod
    def _address(writer: asyncio.StreamWriter) -> str:
        peer = writer.get_extra_info("peername")
        # A Unix socket's peer has no address: they all count as one (the local host).
        return str(peer[0]) if isinstance(peer, tuple) and peer else "local"


async def serve_tcp(
    host: str,
    port: int,
    decoder_factory: Callable[[], Decoder],
    publisher: SourcePublisher,
    limits: ConnectionLimits | None = None,
) -> asyncio.Server:
    """Accept TCP clients (e.g. TAK clients sending CoT); one decoder per connection,
    within ``limits`` (`ConnectionLimits`)."""
    limits = limits or ConnectionLimits()
    admission = ConnectionAdmission(limits, publisher.counters)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not admission.admit(writer):
            writer.close()
            return
        try:
            await serve_connection(reader, decoder_factory(), publisher, limits)
        finally:
            admission.leave(writer)
            writer.close()

    return await asyncio.start_server(handle, host, port)


async def follow_file_chunks(
    path: Path, poll_s: float = 0.2, from_start: bool = False, chunk_size: int = 1 << 16
) -> AsyncIterator[bytes]:
    """Yield what is appended to a file as it grows, like ``tail -F``; runs until cancelled.

    A file present at the start is read from its end unless ``from_start``; one that
    appears later (or replaces it) is read from its beginning, since all of it is new.
    Rotation is followed by name: when the name points to another file (renamed away and
    created anew, detected by device and inode) the old file is read to its end before the
    new one is opened; when the file shrinks (truncated in place, ``copytruncate``) it is
    read again from byte 0. A file truncated and then refilled beyond its old size between
    two polls cannot be told from one that grew, as with ``tail -F``.
    """
    stream: BinaryIO | None = None
    identity: tuple[int, int] | None = None
    first_open = True
    try:
        while True:
            if stream is None:
                stream, identity = _open_followed(path)
                if stream is not None and first_open and not from_start:
                    stream.seek(0, os.SEEK_END)
                first_open = False
            if stream is not None:
                chunk = stream.read(chunk_size)
                if chunk:
                    yield chunk
                    await asyncio.sleep(0)  # other tasks run while a big backlog is read
                    continue
                current = _file_identity_and_size(path)
                if current is not None and current[0] != identity:
                    # Replaced: what the writer added to the old file before it let go
                    # comes first, then the new file from its start.
                    while rest := stream.read(chunk_size):
                        yield rest
                    stream.close()
                    stream, identity = None, None
                    continue
                if current is not None and current[1] < stream.tell():
                    stream.seek(0)  # truncated in place
                    continue
            await asyncio.sleep(poll_s)
    finally:
        if stream is not None:
            stream.close()


def _open_followed(path: Path) -> tuple[BinaryIO | None, tuple[int, int] | None]:
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by follow_file_chunks
    except FileNotFoundError:
        return None, None  # not there (yet, or between rotation steps): wait for it
    status = os.fstat(stream.fileno())
    return stream, (status.st_dev, status.st_ino)


def _file_identity_and_size(path: Path) -> tuple[tuple[int, int], int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_dev, status.st_ino), status.st_size


#: Linux ``sun_path`` holds 108 bytes including the terminating NUL.
UNIX_PATH_MAX_BYTES = 107


def claim_unix_socket_path(path: Path, kind: socket.SocketKind) -> None:
    """Make ``path`` free to bind: remove a stale socket file, refuse anything else.

    A socket file left by a process that died is removed; one that another process
    still listens on, or a path that is not a socket at all, is a clear error rather
    than something deleted by mistake.
    """
    if len(os.fsencode(path)) > UNIX_PATH_MAX_BYTES:
        raise ValueError(
            f"Unix socket path {str(path)!r} is longer than {UNIX_PATH_MAX_BYTES} bytes"
        )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ValueError(f"{path} exists and is not a Unix socket; not replacing it")
    with socket.socket(socket.AF_UNIX, kind) as probe:
        try:
            probe.connect(os.fspath(path))
        except (ConnectionRefusedError, FileNotFoundError):
            pass  # nobody is bound to it: stale
        else:
            raise ValueError(f"Unix socket {path} is in use by another process")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _remove_socket_file(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)


async def unix_datagram_chunks(
    path: Path,
    terminate_lines: bool = True,
    max_pending: int = 65536,
    counters: SourceCounters | None = None,
) -> AsyncIterator[bytes]:
    """Bind a Unix datagram socket at ``path`` and yield each datagram; runs until cancelled.

    This is what Suricata's ``filetype: unix_dgram`` sends to: one EVE record per
    datagram. With ``terminate_lines`` a datagram not ending in a newline gets one, because
    the datagram boundary is the record boundary: a line decoder must not join a record
    with the next datagram's. Pass ``False`` for binary formats. A stale socket file is
    removed first and the socket file is removed on exit. Datagrams the queue had no room
    for are counted in ``counters.datagrams_dropped``.
    """
    claim_unix_socket_path(path, socket.SOCK_DGRAM)
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        receiver.bind(os.fspath(path))
        receiver.setblocking(False)
    except OSError:
        receiver.close()
        raise
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=max_pending)
    loop = asyncio.get_running_loop()
    protocol = _DatagramQueue(queue)
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: protocol, sock=receiver)
    except BaseException:
        receiver.close()
        _remove_socket_file(path)
        raise
    try:
        while True:
            datagram = await queue.get()
            if counters is not None:
                counters.datagrams_dropped = protocol.dropped
            if terminate_lines and not datagram.endswith(b"\n"):
                datagram += b"\n"
            yield datagram
    finally:
        if counters is not None:
            counters.datagrams_dropped = protocol.dropped
        transport.close()
        _remove_socket_file(path)


@contextlib.asynccontextmanager
async def serve_unix_stream(
    path: Path,
    decoder_factory: Callable[[], Decoder],
    publisher: SourcePublisher,
    limits: ConnectionLimits | None = None,
) -> AsyncIterator[asyncio.Server]:
    """Listen on a Unix stream socket at ``path``; one decoder per connection.

    This is what Suricata's ``filetype: unix_stream`` connects to. A server rather than a
    chunk iterator because Suricata reconnects after a write error: a record cut off on
    the old connection must not be glued to the first record of the new one, and several
    Suricata instances may share one socket. A stale socket file is removed first; the
    socket file is removed when the context ends.
    """
    claim_unix_socket_path(path, socket.SOCK_STREAM)
    # Suricata keeps its connection open for good; they are closed here on exit so that
    # shutting down never waits for the sender to hang up.
    open_writers: set[asyncio.StreamWriter] = set()
    handlers: set[asyncio.Task[object]] = set()
    # Suricata idles between alerts; every connection is local.
    limits = limits or ConnectionLimits(idle_timeout_s=float("inf"), max_per_address=64)
    admission = ConnectionAdmission(limits, publisher.counters)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not admission.admit(writer):
            writer.close()
            return
        open_writers.add(writer)
        handler = asyncio.current_task()
        if handler is not None:
            handlers.add(handler)
        try:
            await serve_connection(reader, decoder_factory(), publisher, limits)
        finally:
            admission.leave(writer)
            open_writers.discard(writer)
            if handler is not None:
                handlers.discard(handler)
            writer.close()

    server = await asyncio.start_unix_server(handle, os.fspath(path))
    try:
        yield server
    finally:
        server.close()
        for writer in list(open_writers):
            writer.close()
        if handlers:
            # Let each handler publish what its closed connection left, then stop waiting.
            await asyncio.wait(handlers, timeout=1.0)
        await server.wait_closed()
        _remove_socket_file(path)
