"""The SAPIENT server against a simulated sensor speaking real protobuf over TCP."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable

from hotzone.bus import InProcessBus
from hotzone.ingest.sapient import icd_violations
from hotzone.ingest.sapient import messages as fusion_node
from hotzone.ingest.sapient.proto.sapient_msg.bsi_flex_335_v2_0 import (
    alert_ack_pb2,
    sapient_message_pb2,
    task_ack_pb2,
)
from hotzone.runtime.sapient_server import SapientServer
from hotzone.runtime.sources import SourcePublisher
from hotzone.types import DeadLetter, Detection, Event, from_json
from tests.ingest.test_sapient import (
    SENSOR,
    alert,
    frames,
    range_bearing_detection,
    registration,
    status_report,
    task_ack,
)

SapientMessage = sapient_message_pb2.SapientMessage
TIMEOUT_S = 5.0


class SensorClient:
    """A SAPIENT sensor (ASM) as a test double: writes frames, reads the server's replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, *messages: SapientMessage) -> None:
        self.writer.write(frames(*messages))
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self) -> SapientMessage:
        header = await asyncio.wait_for(self.reader.readexactly(4), TIMEOUT_S)
        (length,) = struct.unpack("<I", header)
        payload = await asyncio.wait_for(self.reader.readexactly(length), TIMEOUT_S)
        return SapientMessage.FromString(payload)

    async def at_eof(self) -> bool:
        return await asyncio.wait_for(self.reader.read(1), TIMEOUT_S) == b""

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def _with_server(
    scenario: Callable[[SapientServer, SensorClient, InProcessBus], Awaitable[None]],
) -> None:
    bus = InProcessBus()
    server = SapientServer(SourcePublisher(bus, "pl"), host="127.0.0.1", port=0)
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    client = SensorClient(reader, writer)
    try:
        await scenario(server, client, bus)
    finally:
        await client.close()
        await server.close()
        await bus.close()


async def _drain(subscription: object) -> list[object]:
    messages = []
    while (item := await subscription.next(timeout_s=0.2)) is not None:  # type: ignore[attr-defined]
        messages.append(from_json(item.payload))
    return messages


def test_handshake_detection_alert_and_task() -> None:
    async def scenario(server: SapientServer, client: SensorClient, bus: InProcessBus) -> None:
        published = await bus.subscribe("hz.pl.>")
        await client.send(registration())
        ack = await client.receive()
        assert ack.WhichOneof("content") == "registration_ack"
        assert ack.registration_ack.acceptance
        assert ack.destination_id == SENSOR and ack.node_id == server.node_id
        assert icd_violations(ack) == []  # what the server sends obeys the ICD too

        await client.send(status_report(), range_bearing_detection())
        sent_alert = alert()
        await client.send(sent_alert)
        alert_ack = await client.receive()
        assert alert_ack.WhichOneof("content") == "alert_ack"
        assert alert_ack.alert_ack.alert_id == sent_alert.alert.alert_id
        assert (
            alert_ack.alert_ack.alert_ack_status
            == alert_ack_pb2.AlertAck.AlertAckStatus.ALERT_ACK_STATUS_ACCEPTED
        )

        assert server.connected_nodes == [SENSOR]
        task_id = await server.send_task(SENSOR, fusion_node.change_mode_task("tracking"))
        task = await client.receive()
        assert task.WhichOneof("content") == "task"
        assert task.destination_id == SENSOR
        assert task.task.command.mode_change == "tracking"
        assert icd_violations(task) == []
        await client.send(task_ack(task.task.task_id))
        acknowledged = await server.wait_task_ack(task_id, TIMEOUT_S)
        assert acknowledged.task_status == task_ack_pb2.TaskAck.TaskStatus.TASK_STATUS_ACCEPTED

        messages = await _drain(published)
        detections = [m for m in messages if isinstance(m, Detection)]
        events = [m for m in messages if isinstance(m, Event)]
        assert len(detections) == 1 and detections[0].sensor_id == SENSOR
        summaries = " | ".join(e.summary for e in events)
        assert "registered" in summaries and "drone entered" in summaries
        assert f"task {task_id} accepted" in summaries
        assert not any(isinstance(m, DeadLetter) for m in messages)

    asyncio.run(_with_server(scenario))


def test_look_at_task_carries_the_point() -> None:
    async def scenario(server: SapientServer, client: SensorClient, bus: InProcessBus) -> None:
        from hotzone.types import GeoPoint

        await client.send(registration())
        await client.receive()
        point = GeoPoint(lat_deg=54.2, lon_deg=23.0, height_m=120.0)
        await server.send_task(SENSOR, fusion_node.look_at_point_task(point))
        task = await client.receive()
        location = task.task.command.look_at.location_list.locations[0]
        assert (location.y, location.x, location.z) == (54.2, 23.0, 120.0)

    asyncio.run(_with_server(scenario))


def test_malformed_frames_get_errors_and_dead_letters() -> None:
    async def scenario(server: SapientServer, client: SensorClient, bus: InProcessBus) -> None:
        dead = await bus.subscribe("hz.pl.dead.sapient")
        # before registration
        await client.send(status_report())
        early = await client.receive()
        assert early.WhichOneof("content") == "error"
        assert "before its registration" in early.error.error_message[0]
        assert SapientMessage.FromString(early.error.packet).WhichOneof("content") == (
            "status_report"
        )
        assert icd_violations(early) == []
        # not protobuf at all
        await client.send_raw(struct.pack("<I", 5) + b"\xff\xff\xff\xff\xff")
        garbage = await client.receive()
        assert garbage.error.error_message[0].startswith("not a SapientMessage")
        assert garbage.error.packet == b"\xff\xff\xff\xff\xff"
        # a registration missing mandatory fields: Error, and a refusing ack
        incomplete = registration()
        incomplete.registration.ClearField("icd_version")
        await client.send(incomplete)
        error = await client.receive()
        refusal = await client.receive()
        assert "registration.icd_version: mandatory field missing" in error.error.error_message[0]
        assert refusal.WhichOneof("content") == "registration_ack"
        assert not refusal.registration_ack.acceptance
        # wrong message: a sensor sending a task
        await client.send(registration())
        assert (await client.receive()).registration_ack.acceptance
        wrong = fusion_node.task_message(SENSOR, SENSOR, fusion_node.change_mode_task("x"))
        await client.send(wrong)
        assert "wrong message" in (await client.receive()).error.error_message[0]
        # a length no frame can have: Error, then the stream is closed
        await client.send_raw(struct.pack("<I", 0) + b"rest")
        bad_length = await client.receive()
        assert bad_length.error.error_message[0].startswith("bad frame length: 0 bytes")
        assert await client.at_eof()
        letters = await _drain(dead)
        assert len(letters) == 5
        assert all(isinstance(m, DeadLetter) and m.reason for m in letters)
        assert server.counters.errors_sent == 5

    asyncio.run(_with_server(scenario))


def test_tasking_an_unknown_node_is_a_clear_error() -> None:
    async def scenario(server: SapientServer, client: SensorClient, bus: InProcessBus) -> None:
        from hotzone.runtime.sapient_server import SapientServerError

        try:
            await server.send_task("nobody", fusion_node.change_mode_task("x"))
        except SapientServerError as error:
            assert "nobody is not connected" in str(error)
        else:
            raise AssertionError("tasking an unknown node must fail")

    asyncio.run(_with_server(scenario))


def test_server_survives_a_burst_of_mutated_frames() -> None:
    import random

    from hotzone.ingest.sapient import encode_frame
    from tests.ingest.test_sapient_fuzz import SEEDS, _mutate

    async def scenario(server: SapientServer, client: SensorClient, bus: InProcessBus) -> None:
        rng = random.Random(7)
        burst = [_mutate(rng.choice(SEEDS), rng) for _ in range(300)]
        await client.send_raw(b"".join(encode_frame(payload) for payload in burst))
        last_node = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"  # in no seed frame
        await client.send(registration(last_node))
        replies = []
        while True:
            reply = await client.receive()
            replies.append(reply.WhichOneof("content"))
            if reply.destination_id == last_node:
                break
        assert reply.registration_ack.acceptance
        assert replies.count("error") == server.counters.errors_sent > 200
        assert last_node in server.connected_nodes

    asyncio.run(_with_server(scenario))


def _resident_bytes() -> int:
    from pathlib import Path

    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_500_connections_holding_partial_frames_stay_bounded_and_a_sensor_still_reports() -> None:
    """The attack of the review: connections each holding a 960 KiB partial frame. One
    host gets at most ``max_per_address`` connections, so its crowd cannot take every
    slot; those it holds close after the idle timeout; the buffers stay within the
    documented bound (max_connections x 1 MiB); a sensor on another address registers and
    reports meanwhile."""
    from hotzone.runtime.sources import ConnectionLimits

    async def scenario() -> tuple[dict[str, int], int, int, bool]:
        bus = InProcessBus()
        published = await bus.subscribe("hz.pl.>")
        publisher = SourcePublisher(bus, "pl")
        limits = ConnectionLimits(max_connections=64, idle_timeout_s=1.5, frame_timeout_s=30.0)
        server = SapientServer(publisher, host="0.0.0.0", port=0, limits=limits)
        await server.start()
        before = _resident_bytes()
        partial = struct.pack("<I", 1_000_000) + b"\x00" * (960 * 1024)
        crowd = []
        for _ in range(500):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            except OSError:
                continue
            writer.write(partial)
            crowd.append(writer)
        await asyncio.gather(*(w.drain() for w in crowd), return_exceptions=True)
        grown = _resident_bytes() - before
        # Meanwhile a sensor, from another address of this host, registers and reports.
        reader, writer = await asyncio.open_connection(
            "127.0.0.2", server.port, local_addr=("127.0.0.2", 0)
        )
        sensor = SensorClient(reader, writer)
        await sensor.send(registration())
        accepted = (await sensor.receive()).registration_ack.acceptance
        await sensor.send(status_report(), range_bearing_detection())
        await asyncio.sleep(2.0)  # the crowd's idle timeout passes
        detections = [m for m in await _drain(published) if isinstance(m, Detection)]
        counters = publisher.counters
        counts = {
            "refused": counters.connections_refused,
            "idle": counters.closed_idle,
            "open_crowd": sum(not w.is_closing() for w in crowd),
        }
        for writer in crowd:
            writer.close()
        await sensor.close()
        await server.close()
        await bus.close()
        return counts, grown, len(detections), accepted

    counts, grown, detections, accepted = asyncio.run(scenario())
    assert counts["refused"] >= 500 - 16  # one address: at most max_per_address at once
    assert counts["idle"] >= 1  # the admitted crowd sat idle and was closed
    assert accepted and detections >= 1
    assert grown < 64 * (1 << 20)  # within max_connections x max_frame_bytes
