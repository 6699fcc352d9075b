"""Live input sources: UDP, TCP (client or server) and files, decoded onto the bus.

Each source feeds what arrives to one `Decoder` per stream and publishes the messages on
their subjects and every refused frame as a dead letter on ``hz.{nation}.dead.{source}``.
A bad frame never stops a source.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hotzone.bus import Bus
from hotzone.ingest.base import Decoder, DecodeResult
from hotzone.runtime.routing import subject_for
from hotzone.types import to_json
from hotzone.types.subjects import dead_letter_subject


@dataclass
class SourceCounters:
    chunks: int = 0
    messages: int = 0
    dead_letters: int = 0


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port), with a clear error for anything else."""
    host, separator, port_text = text.rpartition(":")
    if not separator or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:30003), got {text!r}")
    return host.strip("[]"), int(port_text)


class SourcePublisher:
    """Publishes what a decoder makes of incoming bytes."""

    def __init__(self, bus: Bus, nation: str, releasability: str = "NATO") -> None:
        self.bus = bus
        self.nation = nation
        self.releasability = releasability
        self.counters = SourceCounters()

    async def publish_chunk(self, decoder: Decoder, data: bytes) -> None:
        received_at = datetime.now(UTC)
        self.counters.chunks += 1
        await self.publish_result(decoder, decoder.feed(data, received_at), received_at)

    async def publish_result(
        self, decoder: Decoder, result: DecodeResult, received_at: datetime
    ) -> None:
        for message in result.messages:
            await self.bus.publish(subject_for(message, self.nation), to_json(message))
        self.counters.messages += len(result.messages)
        subject = dead_letter_subject(self.nation, decoder.source_name)
        for dead_letter in result.dead_letters(
            decoder.source_name, received_at, self.releasability
        ):
            await self.bus.publish(subject, to_json(dead_letter))
            self.counters.dead_letters += 1

    async def pump(self, decoder: Decoder, chunks: AsyncIterator[bytes]) -> None:
        async for chunk in chunks:
            await self.publish_chunk(decoder, chunk)
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
    def __init__(self, queue: asyncio.Queue[bytes]) -> None:
        self.queue = queue
        self.dropped = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            # UDP has no back-pressure to give; count what the host could not keep up with.
            self.dropped += 1


async def udp_chunks(host: str, port: int, max_pending: int = 65536) -> AsyncIterator[bytes]:
    """Yield each datagram received on HOST:PORT (one ASTERIX block, CoT event, ...)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=max_pending)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _DatagramQueue(queue), local_addr=(host, port)
    )
    try:
        while True:
            yield await queue.get()
    finally:
        transport.close()


async def serve_tcp(
    host: str,
    port: int,
    decoder_factory: Callable[[], Decoder],
    publisher: SourcePublisher,
) -> asyncio.Server:
    """Accept TCP clients (e.g. TAK clients sending CoT); one decoder per connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = decoder_factory()
        try:
            while chunk := await reader.read(1 << 16):
                await publisher.publish_chunk(decoder, chunk)
            received_at = datetime.now(UTC)
            await publisher.publish_result(decoder, decoder.flush(received_at), received_at)
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
