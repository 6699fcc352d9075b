"""Live Suricata EVE: Unix datagram and stream sockets and a followed eve.json onto the bus."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotzone.bus import InProcessBus
from hotzone.cli import main
from hotzone.ingest.eve import EveDecoder, SiteInventory
from hotzone.runtime.sources import (
    SourcePublisher,
    claim_unix_socket_path,
    follow_file_chunks,
    serve_unix_stream,
    unix_datagram_chunks,
)
from hotzone.types import DeadLetter, Event, EventKind, from_json

GOLDEN = Path(__file__).parents[1] / "golden" / "eve" / "alerts.eve.json"
INVENTORY = SiteInventory.from_mapping({"radar-site-north": ["10.20.1.0/24"]})
MALFORMED = b'{"timestamp": "2026-11-27T11:58:02+0000", "event_type": "alert", "alert": '
WAIT_S = 5.0  # upper bound for what normally takes milliseconds


def _golden_lines() -> list[bytes]:
    return GOLDEN.read_bytes().splitlines()


def _alert_lines() -> list[bytes]:
    return [line for line in _golden_lines() if b'"event_type":"alert"' in line]


def _signature_id(line: bytes) -> str:
    return str(json.loads(line)["alert"]["signature_id"])


def _other_lines() -> list[bytes]:
    return [line for line in _golden_lines() if b'"event_type":"alert"' not in line]


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short directory: Unix socket paths must fit in 107 bytes."""
    with tempfile.TemporaryDirectory(prefix="hz") as directory:
        yield Path(directory)


async def _collect(bus: InProcessBus, pattern: str, count: int) -> list[bytes]:
    subscription = await bus.subscribe(pattern)
    received: list[bytes] = []
    while len(received) < count:
        message = await subscription.next(timeout_s=WAIT_S)
        assert message is not None, f"only {len(received)} of {count} on {pattern}"
        received.append(message.payload)
    return received


async def _wait_for_socket(path: Path) -> None:
    for _ in range(int(WAIT_S / 0.01)):
        if path.is_socket():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never became a socket")


async def _connect_when_bound(client: socket.socket, path: Path) -> None:
    for _ in range(int(WAIT_S / 0.01)):
        with contextlib.suppress(ConnectionRefusedError, FileNotFoundError):
            client.connect(os.fspath(path))
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nothing bound {path}")


def _events(payloads: list[bytes]) -> list[Event]:
    messages = [from_json(payload) for payload in payloads]
    assert all(isinstance(message, Event) for message in messages)
    return [message for message in messages if isinstance(message, Event)]


def _dead_letter(payload: bytes) -> DeadLetter:
    letter = from_json(payload)
    assert isinstance(letter, DeadLetter)
    return letter


def _stale_socket(path: Path) -> None:
    """A socket file whose owner is gone, as a killed process leaves it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as orphan:
        orphan.bind(os.fspath(path))


def test_unix_datagrams_become_events_and_a_malformed_one_a_dead_letter(
    socket_dir: Path,
) -> None:
    path = socket_dir / "eve.sock"
    _stale_socket(path)

    async def scenario() -> tuple[list[bytes], list[bytes], bool]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        events = asyncio.create_task(_collect(bus, "hz.PL.det.>", len(_alert_lines())))
        dead = asyncio.create_task(_collect(bus, "hz.PL.dead.eve", 1))
        await asyncio.sleep(0)
        pump = asyncio.create_task(
            publisher.pump(EveDecoder(INVENTORY), unix_datagram_chunks(path))
        )
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as suricata:
            # What Suricata's unix_dgram output does; refused while the file is stale.
            await _connect_when_bound(suricata, path)
            # One record per datagram and no newline: the datagram is the record.
            for line in [MALFORMED, *_golden_lines()]:
                suricata.send(line)
        good, bad = await asyncio.wait_for(asyncio.gather(events, dead), WAIT_S)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        removed = not path.exists()
        await bus.close()
        return good, bad, removed

    good, bad, removed = asyncio.run(scenario())
    events = _events(good)
    assert all(event.kind is EventKind.CYBER_ALERT for event in events)
    signatures = [event.attributes["signature_id"] for event in events]
    assert signatures == [_signature_id(line) for line in _alert_lines()]
    assert "radar-site-north" in {event.subject_id for event in events}
    letter = _dead_letter(bad[0])
    assert letter.source == "eve"
    assert letter.raw == MALFORMED
    assert "not an EVE record" in letter.reason
    assert removed, "the socket file is removed when the source stops"


def test_unix_stream_connections_each_get_their_own_decoder(socket_dir: Path) -> None:
    path = socket_dir / "eve-stream.sock"
    first, second, third = _alert_lines()

    async def scenario() -> tuple[list[bytes], list[bytes], bool, bool]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        events = asyncio.create_task(_collect(bus, "hz.PL.det.>", 3))
        dead = asyncio.create_task(_collect(bus, "hz.PL.dead.eve", 1))
        await asyncio.sleep(0)
        async with serve_unix_stream(path, lambda: EveDecoder(INVENTORY), publisher):
            existed = path.is_socket()
            old = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            new = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lingering = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                for client in (old, new, lingering):
                    client.connect(os.fspath(path))
                # A record half written on one connection when a second one starts (as
                # after Suricata reconnects): the halves must not mix with the other stream.
                old.sendall(first[:40])
                await asyncio.sleep(0.05)
                new.sendall(MALFORMED + b"\n" + _other_lines()[0] + b"\n" + second[:30])
                await asyncio.sleep(0.05)
                old.sendall(first[40:] + b"\n")
                new.sendall(second[30:] + b"\n")
                # Still connected and unterminated when hotzone stops: decoded at the end.
                lingering.sendall(third)
                await asyncio.sleep(0.05)
            finally:
                old.close()
                new.close()
        try:
            good, bad = await asyncio.wait_for(asyncio.gather(events, dead), WAIT_S)
        finally:
            lingering.close()
        removed = not path.exists()
        await bus.close()
        return good, bad, existed, removed

    good, bad, existed, removed = asyncio.run(scenario())
    assert existed
    events = _events(good)
    expected = sorted(_signature_id(line) for line in (first, second, third))
    assert sorted(event.attributes["signature_id"] for event in events) == expected
    assert _dead_letter(bad[0]).raw == MALFORMED
    assert removed


def test_a_followed_eve_file_publishes_new_alerts_once(tmp_path: Path) -> None:
    path = tmp_path / "eve.json"
    old_alert, *new_alerts = _alert_lines()
    path.write_bytes(old_alert + b"\n")  # before hotzone started: not published again

    async def scenario() -> list[bytes]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        events = asyncio.create_task(_collect(bus, "hz.PL.det.>", len(new_alerts)))
        await asyncio.sleep(0)
        pump = asyncio.create_task(
            publisher.pump(EveDecoder(), follow_file_chunks(path, poll_s=0.01))
        )
        await asyncio.sleep(0.1)
        with open(path, "ab") as suricata:
            for line in new_alerts:
                suricata.write(line[:25])
                suricata.flush()
                await asyncio.sleep(0.03)
                suricata.write(line[25:] + b"\n")
                suricata.flush()
        received = await asyncio.wait_for(events, WAIT_S)
        await asyncio.sleep(0.1)  # room for a duplicate to (wrongly) show up
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        assert publisher.counters.messages == len(new_alerts)
        await bus.close()
        return received

    events = _events(asyncio.run(scenario()))
    assert [event.attributes["signature_id"] for event in events] == [
        _signature_id(line) for line in new_alerts
    ]


def test_claiming_a_socket_path_refuses_what_is_not_a_stale_socket(socket_dir: Path) -> None:
    regular = socket_dir / "eve.json"
    regular.write_bytes(b"keep me")
    with pytest.raises(ValueError, match="not a Unix socket"):
        claim_unix_socket_path(regular, socket.SOCK_DGRAM)
    assert regular.read_bytes() == b"keep me"

    live = socket_dir / "live.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as owner:
        owner.bind(os.fspath(live))
        with pytest.raises(ValueError, match="in use"):
            claim_unix_socket_path(live, socket.SOCK_DGRAM)
        assert live.is_socket()

    stale = socket_dir / "stale.sock"
    _stale_socket(stale)
    claim_unix_socket_path(stale, socket.SOCK_DGRAM)
    assert not stale.exists()

    with pytest.raises(ValueError, match="longer than"):
        claim_unix_socket_path(socket_dir / ("x" * 120), socket.SOCK_DGRAM)


def test_ingest_command_reads_a_unix_datagram_socket(
    socket_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = socket_dir / "cli.sock"
    codes: list[int] = []
    args = ["ingest", "eve", "--unix-dgram", str(path), "--duration", "1.5"]
    command = threading.Thread(target=lambda: codes.append(main(args)))
    command.start()
    try:
        asyncio.run(_wait_for_socket(path))
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as suricata:
            for line in [*_alert_lines(), MALFORMED]:
                suricata.sendto(line + b"\n", os.fspath(path))
    finally:
        command.join(timeout=WAIT_S + 5)
    assert codes == [0]
    out = capsys.readouterr().out
    assert f"eve: {len(_alert_lines())} messages, 1 dead letters" in out
    assert not path.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--unix-dgram", "{dir}/x.sock", "--follow"], "--follow goes with --file"),
        (["--file", "{dir}/eve.json", "--from-start"], "--from-start goes with --follow"),
        (["--unix-stream", "{dir}/eve.json"], "not a Unix socket"),
        ([], "--unix-dgram or --unix-stream"),
    ],
)
def test_ingest_command_explains_bad_transport_options(
    socket_dir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    (socket_dir / "eve.json").write_bytes(b"")
    args = ["ingest", "eve", *(item.format(dir=socket_dir) for item in extra)]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert (socket_dir / "eve.json").exists()


def test_ingest_command_takes_one_transport_only(socket_dir: Path) -> None:
    assert (
        main(["ingest", "eve", "--file", "a.json", "--unix-dgram", str(socket_dir / "x.sock")]) == 2
    )
