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
