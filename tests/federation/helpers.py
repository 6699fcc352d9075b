"""Messages and bus wiring shared by the federation tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api

from hotzone.bus import BusMessage, NatsBus, Subscription
from hotzone.bus.nats import carried_messages
from hotzone.runtime.federation import ShareBatch, federation_streams, hub_streams
from hotzone.types import (
    Alert,
    AnyMessage,
    Detection,
    GeoPoint,
    MeasurementKind,
    Track,
    TrackStatus,
    from_json,
)
from tests.federation.servers import RunningFederation

EPOCH = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def alert(origin: str, index: int, label: str) -> Alert:
    return Alert(
        alert_id=f"{origin}-{index}",
        time=EPOCH + timedelta(milliseconds=index),
        kind="test",
        summary=f"alert {index} of {origin}",
        priority=3,
        releasability=label,
    )


async def connect_federation(
    federation: RunningFederation, nations: list[str]
) -> tuple[NatsBus, dict[str, NatsBus]]:
    """The hub's bus (alliance stream) and one bus per nation (its streams), all ensured."""
    buses = {
        nation: await NatsBus.connect(
            federation.url(nation),
            federation_streams(nation, archives=False),
            domain=nation.lower(),
            name=f"test-{nation}",
            **federation.connect_options(nation),
        )
        for nation in nations
    }
    hub = await NatsBus.connect(
        federation.url("hub"),
        hub_streams(nations),
        domain="hub",
        name="test-hub",
        **federation.connect_options("hub"),
    )
    return hub, buses


async def collect(subscription: Subscription, into: list[AnyMessage], stop: asyncio.Event) -> None:
    while not stop.is_set():
        message = await subscription.next(timeout_s=0.25)
        if message is not None:
            into.append(from_json(message.payload))


async def wait_for(condition: object, timeout_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


def detection(index: int, sector: str = "suwalki", label: str = "NATO") -> Detection:
    return Detection(
        detection_id=f"det-{sector}-{index}",
        time=EPOCH + timedelta(milliseconds=50 * index),
        sensor_id="radar1",
        kind=MeasurementKind.POSITION,
        values=(54.1, 22.9 + index * 1e-5, 300.0),
        covariance=((100.0, 0.0, 0.0), (0.0, 100.0, 0.0), (0.0, 0.0, 400.0)),
        sensor_position=GeoPoint(lat_deg=54.0, lon_deg=22.8),
        sector=sector,
        releasability=label,
    )


class EchoTracker:
    """A tiny real stage: one track per position detection, one alert per tenth one.

    The track keeps the detection's label, so sharing can be checked end to end."""

    name = "echo-tracker"
    input_subjects = ("det.>",)

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, Detection)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        outputs: list[AnyMessage] = []
        for message in inputs:
            assert isinstance(message, Detection)
            number = int(message.detection_id.rsplit("-", 1)[1])
            lat, lon, height = message.values
            outputs.append(
                Track(
                    track_id=f"trk-{message.detection_id}",
                    track_number=number,
                    time=message.time,
                    status=TrackStatus.CONFIRMED,
                    position=GeoPoint(lat_deg=lat, lon_deg=lon, height_m=height),
                    sector=message.sector,
                    enu_position_m=(0.0, 0.0, height),
                    enu_velocity_mps=(0.0, 0.0, 0.0),
                    covariance=message.covariance,
                    quality=1.0,
                    sensors=(message.sensor_id,),
                    releasability=message.releasability,
                )
            )
            if number % 10 == 0:
                outputs.append(alert(message.sector, number, message.releasability))
        return outputs


async def stored_messages(
    jetstream: JetStreamContext, stream: str, filter_subject: str | None = None
) -> list[Msg]:
    """Every message ``stream`` holds (of ``filter_subject``), in order, as stored."""
    config = js_api.ConsumerConfig(
        deliver_policy=js_api.DeliverPolicy.ALL,
        ack_policy=js_api.AckPolicy.NONE,
        inactive_threshold=30.0,
        mem_storage=True,
        filter_subject=filter_subject,
    )
    info = await jetstream.add_consumer(stream, config)
    pull = await jetstream.pull_subscribe_bind(consumer=info.name, stream=stream)
    messages: list[Msg] = []
    remaining = info.num_pending
    while remaining > 0:
        batch = await pull.fetch(batch=min(remaining, 1024), timeout=10)
        remaining -= len(batch)
        messages += batch
    await pull.unsubscribe()
    await jetstream.delete_consumer(stream, info.name)
    return messages


async def items_in(
    jetstream: JetStreamContext,
    stream: str,
    exclude_origin: str | None = None,
    filter_subject: str | None = None,
) -> int:
    """The released items a stream of share batches holds (``exclude_origin``: but those
    that nation released itself, its own ``NATO`` items back from the hub)."""
    return sum(
        len(msgspec.msgpack.decode(message.data, type=ShareBatch).items)
        for message in await stored_messages(jetstream, stream, filter_subject)
        if exclude_origin is None or message.subject.split(".")[3] != exclude_origin
    )


def decode_shared(subject: str, payload: bytes) -> list[AnyMessage]:
    """The messages of a share subject's payload: a batch's items, or the one message."""
    if subject.endswith(".batch"):
        batch = msgspec.msgpack.decode(payload, type=ShareBatch)
        return [from_json(item.payload) for item in batch.items]
    return [from_json(payload)]


async def log_messages(
    jetstream: JetStreamContext, stream: str, filter_subject: str | None = None
) -> list[BusMessage]:
    """Every message a nation's log holds (of ``filter_subject``), in order, as its readers
    get them: a stored batch (a tracker's window of tracks) as its items."""
    return [
        carried
        for message in await stored_messages(jetstream, stream, filter_subject)
        for carried in carried_messages(message)
    ]
