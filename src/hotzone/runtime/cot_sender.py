"""Streams hotzone's tracks as Cursor-on-Target events to TAK: a TAK server over TCP, or
an SA multicast group over UDP (one event per datagram).

`CotFeed` reads tracks and assessments from the bus, keeps the latest assessment per
track, and sends every track it sees as one CoT event built by `hotzone.share.cot`. The
picture is refreshed every scan, so an event that cannot be sent (server down, network
error) is counted and dropped, and the sender reconnects for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from hotzone.bus import Bus, Subscription
from hotzone.share.cot import CotExportSettings, track_to_cot
from hotzone.types import Assessment, DecodeError, Track, TrackStatus, ValidationError, from_json
from hotzone.types.subjects import subject

#: The multicast group and port ATAK/WinTAK use for situational awareness by default.
TAK_SA_MULTICAST = ("239.2.3.1", 6969)


@dataclass
class SenderCounters:
    events_sent: int = 0
    events_dropped: int = 0
    connects: int = 0
    errors: int = 0


class CotSender(ABC):
    """Where CoT events go: one role, one verb."""

    def __init__(self) -> None:
        self.counters = SenderCounters()

    @abstractmethod
    async def send(self, events: Sequence[bytes]) -> None:
        """Send each event; events that cannot be sent are counted as dropped."""

    @abstractmethod
    async def close(self) -> None: ...


class TcpCotSender(CotSender):
    """TCP client of a TAK server's plain CoT input (e.g. port 8087), events back to back."""

    def __init__(self, host: str, port: int, *, connect_timeout_s: float = 5.0) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> asyncio.StreamWriter:
        if self._writer is None or self._writer.is_closing():
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout_s
            )
            self._writer = writer
            self.counters.connects += 1
            return writer
        return self._writer

    async def send(self, events: Sequence[bytes]) -> None:
        if not events:
            return
        try:
            writer = await self._connect()
            writer.write(b"".join(events))
            await writer.drain()
        except (OSError, TimeoutError):
            # The next send reconnects; the picture is resent every scan anyway.
            self.counters.errors += 1
            self.counters.events_dropped += len(events)
            await self.close()
            return
        self.counters.events_sent += len(events)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            # A peer that is already gone leaves nothing to close cleanly.
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None


class UdpCotSender(CotSender):
    """One CoT event per UDP datagram, to a multicast group (TAK SA) or a unicast host."""

    def __init__(
        self,
        host: str = TAK_SA_MULTICAST[0],
        port: int = TAK_SA_MULTICAST[1],
        *,
        multicast_ttl: int = 1,
        max_datagram_bytes: int = 65507,
    ) -> None:
        super().__init__()
        self.address = (host, port)
        self.multicast_ttl = multicast_ttl
        self.max_datagram_bytes = max_datagram_bytes
        self._socket: socket.socket | None = None

    def _open(self) -> socket.socket:
        if self._socket is None:
            family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
            udp = socket.socket(family, socket.SOCK_DGRAM)
            udp.setblocking(False)
            if _is_multicast(self.address[0]) and family == socket.AF_INET:
                udp.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.multicast_ttl)
            self._socket = udp
            self.counters.connects += 1
        return self._socket

    async def send(self, events: Sequence[bytes]) -> None:
        loop = asyncio.get_running_loop()
        for event in events:
            if len(event) > self.max_datagram_bytes:
                self.counters.events_dropped += 1  # would be cut by the network anyway
                continue
            try:
                await loop.sock_sendto(self._open(), event, self.address)
            except OSError:
                self.counters.errors += 1
                self.counters.events_dropped += 1
                continue
            self.counters.events_sent += 1

    async def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _is_multicast(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_multicast
    except ValueError:
        return False  # a host name, not an address


class CotFeed:
    """Bus tracks (and assessments) -> CoT events -> a `CotSender`."""

    def __init__(
        self,
        bus: Bus,
        nation: str,
        sender: CotSender,
        settings: CotExportSettings | None = None,
    ) -> None:
        self.bus = bus
        self.nation = nation
        self.sender = sender
        self.settings = settings or CotExportSettings()
        self.assessments: dict[str, Assessment] = {}
        self.undecodable = 0

    async def run(self) -> None:
        """Until cancelled: send every track published on ``hz.{nation}.trk.>``, with the
        latest assessment published for it on ``hz.{nation}.assessment``."""
        patterns = (
            subject("hz", self.nation, "trk") + ".>",
            subject("hz", self.nation, "assessment"),
        )
        subscriptions = [await self.bus.subscribe(pattern) for pattern in patterns]

        async def pump(subscription: Subscription) -> None:
            async for message in subscription:
                await self.handle(message.payload)

        try:
            await asyncio.gather(*(pump(subscription) for subscription in subscriptions))
        finally:
            for subscription in subscriptions:
                await subscription.unsubscribe()

    async def handle(self, payload: bytes) -> None:
        try:
            decoded = from_json(payload)
        except (DecodeError, ValidationError):
            self.undecodable += 1
            return
        if isinstance(decoded, Assessment):
            self.assessments[decoded.track_id] = decoded
        elif isinstance(decoded, Track):
            # A deleted track's event (stale at once) is its last: its assessment goes.
            assessment = (
                self.assessments.pop(decoded.track_id, None)
                if decoded.status is TrackStatus.DELETED
                else self.assessments.get(decoded.track_id)
            )
            event = track_to_cot(decoded, assessment, settings=self.settings)
            await self.sender.send([event])
