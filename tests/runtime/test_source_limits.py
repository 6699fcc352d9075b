"""A listening feed server (``hotzone ingest … --listen-tcp``) under a crowd: connections
past the cap are refused, idle ones and ones holding a partial frame are closed, each
counted, and a well-behaved sender still gets its messages through meanwhile."""

from __future__ import annotations

import asyncio

from hotzone.bus import InProcessBus
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.runtime.sources import ConnectionLimits, SourcePublisher, serve_tcp

SBS_LINE = (
    b"MSG,3,1,1,48C2A1,1,2026/11/27,12:00:05.250,2026/11/27,12:00:05.250,"
    b"LOT123,35000,,,54.1,23.0,,,0,0,0,0\r\n"
)


def test_a_crowd_is_capped_idlers_and_slow_frames_closed_and_a_sender_still_gets_through() -> None:
    async def scenario() -> tuple[dict[str, int], int]:
        bus = InProcessBus()
        received = await bus.subscribe("hz.PL.>", 65536)
        publisher = SourcePublisher(bus, "PL")
        factory = decoder_factories()["sbs"]
        limits = ConnectionLimits(
            max_connections=50, max_per_address=50, idle_timeout_s=0.5, frame_timeout_s=1.0
        )
        server = await serve_tcp(
            "127.0.0.1", 0, lambda: factory(DecoderOptions()), publisher, limits
        )
        port = server.sockets[0].getsockname()[1]
        crowd = []
        for _ in range(60):  # ten more than the cap, each sitting on half a line
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(SBS_LINE[:40])
            await writer.drain()
            crowd.append((reader, writer))
        await asyncio.sleep(1.0)  # the idle crowd is closed by now: room for more
        # A slow loris: a byte at a time, never a whole line; and a well-behaved sender.
        _, slow = await asyncio.open_connection("127.0.0.1", port)
        _, sender = await asyncio.open_connection("127.0.0.1", port)
        slow_closed = False
        for index in range(12):
            if not slow_closed:
                try:
                    slow.write(b"M")
                    await slow.drain()
                except ConnectionError:
                    slow_closed = True  # the server gave up on the partial frame
            if index % 3 == 0:
                sender.write(SBS_LINE)
                await sender.drain()
            await asyncio.sleep(0.15)
        sender.close()
        await asyncio.sleep(0.3)
        messages = 0
        while (message := await received.next(timeout_s=0.2)) is not None:
            messages += message.subject.startswith("hz.PL.det")
        for _, writer in crowd:
            writer.close()
        slow.close()
        await asyncio.gather(
            *(w.wait_closed() for _, w in crowd),
            slow.wait_closed(),
            sender.wait_closed(),
            return_exceptions=True,
        )
        server.close()
        await server.wait_closed()
        counters = publisher.counters
        return {
            "refused": counters.connections_refused,
            "idle": counters.closed_idle,
            "slow": counters.closed_slow,
        }, messages

    counts, messages = asyncio.run(scenario())
    assert counts["refused"] == 10
    assert counts["idle"] >= 50
    assert counts["slow"] == 1
    assert messages == 4  # every line of the well-behaved sender
