"""Live sources: streams split across chunks, bad frames become dead letters, never a crash."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotzone.bus import InProcessBus
from hotzone.cli import main
from hotzone.ingest.jsonl import HotzoneJsonlDecoder
from hotzone.runtime.sources import (
    SourcePublisher,
    file_chunks,
    parse_host_port,
    serve_tcp,
)
from hotzone.runtime.udp_receiver import UdpReceiver
from hotzone.types import DeadLetter, Event, EventKind, from_json, to_json

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _event_line(index: int) -> bytes:
    event = Event(
        event_id=f"e{index}",
        time=NOW,
        source_id="ugs-1",
        kind=EventKind.PROXIMITY,
        severity=2,
        summary="movement",
    )
    return to_json(event) + b"\n"


def test_a_line_split_across_chunks_is_decoded_once() -> None:
    decoder = HotzoneJsonlDecoder()
    stream = _event_line(1) + _event_line(2)
    first = decoder.feed(stream[:37], NOW)
    second = decoder.feed(stream[37:], NOW)
    assert first.messages == []
    assert [m.event_id for m in second.messages] == ["e1", "e2"]  # type: ignore[union-attr]
    assert decoder.counters.messages == 2


def test_bad_lines_are_refused_with_reason_and_counted() -> None:
    decoder = HotzoneJsonlDecoder()
    result = decoder.feed(b"not json\n" + _event_line(3) + b'{"type":"event"}\n', NOW)
    result.extend(decoder.flush(NOW))
    assert len(result.messages) == 1
    assert [item.raw for item in result.rejected] == [b"not json", b'{"type":"event"}']
    assert all("not a hotzone message" in item.reason for item in result.rejected)
    assert sum(decoder.counters.rejected.values()) == 2


def test_unterminated_last_line_is_decoded_at_end_of_stream() -> None:
    decoder = HotzoneJsonlDecoder()
    assert decoder.feed(_event_line(4).rstrip(b"\n"), NOW).messages == []
    assert len(decoder.flush(NOW).messages) == 1


async def _collect(bus: InProcessBus, pattern: str, count: int) -> list[bytes]:
    subscription = await bus.subscribe(pattern)
    received = []
    while len(received) < count:
        message = await subscription.next(timeout_s=5.0)
        assert message is not None, f"only {len(received)} of {count} messages arrived"
        received.append(message.payload)
    return received


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_udp_source_publishes_messages_and_dead_letters() -> None:
    port = _free_port(socket.SOCK_DGRAM)

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        good = asyncio.create_task(_collect(bus, "hz.PL.det.>", 2))
        dead = asyncio.create_task(_collect(bus, "hz.PL.dead.jsonl", 1))
        await asyncio.sleep(0)
        # As `hotzone ingest --udp` receives: the receiver's thread, its times, pump_timed.
        async with UdpReceiver("127.0.0.1", port) as receiver:
            pump = asyncio.create_task(
                publisher.pump_timed(HotzoneJsonlDecoder(), receiver.timed_datagrams())
            )
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for datagram in (_event_line(1), b"\xff\xfe garbage\n", _event_line(2)):
                    sender.sendto(datagram, ("127.0.0.1", port))
            results = await asyncio.wait_for(asyncio.gather(good, dead), 10)
            pump.cancel()
        await bus.close()
        return results[0], results[1]

    good, dead = asyncio.run(scenario())
    assert [from_json(p).event_id for p in good] == ["e1", "e2"]  # type: ignore[union-attr]
    letter = from_json(dead[0])
    assert isinstance(letter, DeadLetter)
    assert letter.raw == b"\xff\xfe garbage"
    assert letter.source == "jsonl"


def test_tcp_server_gives_each_connection_its_own_decoder() -> None:
    async def scenario() -> list[bytes]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        collected = asyncio.create_task(_collect(bus, "hz.PL.det.>", 2))
        await asyncio.sleep(0)
        server = await serve_tcp("127.0.0.1", 0, HotzoneJsonlDecoder, publisher)
        port = server.sockets[0].getsockname()[1]
        line = _event_line(7)
        # Two clients each send half a line first: separate decoders must not mix them.
        first = await asyncio.open_connection("127.0.0.1", port)
        second = await asyncio.open_connection("127.0.0.1", port)
        for _, writer in (first, second):
            writer.write(line[:20])
            await writer.drain()
        await asyncio.sleep(0.05)
        for _, writer in (first, second):
            writer.write(line[20:])
            await writer.drain()
            writer.close()
        result = await asyncio.wait_for(collected, 10)
        server.close()
        await server.wait_closed()
        await bus.close()
        return result

    assert len(asyncio.run(scenario())) == 2


def test_file_source_reads_everything(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(_event_line(i) for i in range(300)))

    async def scenario() -> int:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        collected = asyncio.create_task(_collect(bus, "hz.PL.det.>", 300))
        await asyncio.sleep(0)
        await publisher.pump(HotzoneJsonlDecoder(), file_chunks(path, chunk_size=1000))
        received = await collected
        await bus.close()
        return len(received)

    assert asyncio.run(scenario()) == 300


@pytest.mark.parametrize("text", ["localhost", "host:", ":99", "host:0", "host:70000", "h:x"])
def test_bad_host_port_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_host_port(text)


def test_decode_command_prints_messages_and_reports_refusals(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_bytes(_event_line(1) + b"{broken\n")
    dead = tmp_path / "dead.jsonl"
    assert main(["decode", "jsonl", str(capture), "--dead-letters", str(dead)]) == 0
    captured = capsysbinary.readouterr()
    assert from_json(captured.out.strip()).event_id == "e1"  # type: ignore[union-attr]
    assert b"decoded 1 messages, rejected 1 frames" in captured.err
    letter = from_json(dead.read_bytes().strip())
    assert isinstance(letter, DeadLetter)
    assert letter.raw == b"{broken"


def test_decode_command_names_known_formats_for_an_unknown_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["decode", "morse", "-"]) == 2
    err = capsys.readouterr().err
    assert "unknown format 'morse'" in err
    assert "jsonl" in err.split("known formats:")[1]


def test_timed_chunks_are_published_as_received_then() -> None:
    """`SourcePublisher.pump_timed` (UDP: the receiving thread's times): what a chunk makes
    is timed by its reception, however long it waited for the decoder."""
    received = [NOW.timestamp() + 1.5, NOW.timestamp() + 2.25]

    async def chunks() -> AsyncIterator[tuple[float, bytes]]:
        yield received[0], _event_line(1)
        yield received[1], b"\xff\xfe garbage\n"

    async def scenario() -> list[bytes]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        dead = asyncio.create_task(_collect(bus, "hz.PL.dead.jsonl", 1))
        await asyncio.sleep(0)
        await publisher.pump_timed(HotzoneJsonlDecoder(), chunks())
        letters = await asyncio.wait_for(dead, 10)
        await bus.close()
        return letters

    letter = from_json(asyncio.run(scenario())[0])
    assert isinstance(letter, DeadLetter)
    assert letter.raw == b"\xff\xfe garbage"
    assert letter.time.timestamp() == received[1]
