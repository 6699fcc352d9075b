"""Stage services of one process reading through one consumer (`SharedConsumer`): each
stage is handed what its own consumer would hand it, in the same order, on a real
nats-server; a type one stage passes over still reaches the stage that takes it; the
stages' outputs keep ids of their own; a restart resumes them all from one place."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.federation import _shared_track

from hotzone.bus import InProcessBus, NatsBus, NatsSubscription, nation_streams
from hotzone.runtime.node import until_ready
from hotzone.runtime.services import (
    SHUTDOWN,
    SharedConsumer,
    StageService,
    encode_tick,
    share_consumer,
)
from hotzone.runtime.watermarks import STAGE_HEADER, TICK_HEADER, TickGate, tracking_producer
from hotzone.types import Alert, AnyMessage, Detection, Event, Report, Track, to_json
from tests.federation.helpers import alert, detection, log_messages
from tests.federation.servers import running_standalone
from tests.runtime.test_passed_over import _report

NORTH = tracking_producer("north")


@dataclass
class Reader:
    """Records the ids of each window's inputs of its types; publishes one alert a step
    (its outputs must reach the log beside the other stage's of the same tick)."""

    name: str
    input_subjects: tuple[str, ...]
    input_types: tuple[type, ...]
    windows: list[list[str]] = field(default_factory=list)

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, self.input_types)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        self.windows.append([_id(message) for message in inputs])
        return [alert(self.name, len(self.windows), "NATO")]


def _id(message: AnyMessage) -> str:
    if isinstance(message, Alert):
        return message.summary
    for name in ("detection_id", "report_id", "track_id"):
        if hasattr(message, name):
            return str(getattr(message, name))
    return type(message).__name__


def _readers() -> list[Reader]:
    return [
        Reader("fusion", ("det.>",), (Detection, Report)),  # a tracker: every detection
        Reader("assess", ("det.>", "trk.>"), (Report, Event, Track)),  # passes detections over
        Reader("watch", ("alert",), (Alert,)),  # reads what the other two publish
    ]


async def _feed_and_run(url: str, shared: bool) -> tuple[list[list[list[str]]], int, int, int]:
    """The same log read by the three readers, through one consumer or one each: their
    windows, the alerts stored, the consumers the server had while they ran, and the
    stored messages passed over whole."""
    streams = nation_streams("PL", archives=False)
    feed = await NatsBus.connect(url, streams)
    await feed.jetstream.purge_stream("HZ_PL")
    bus = await NatsBus.connect(url, streams)
    readers = _readers()
    services = [StageService(reader, bus, "PL") for reader in readers]
    if shared:
        share_consumer(services)
    tasks = []
    for service in services:
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(service.run(ready)))
        await until_ready(tasks[-1], ready)
    consumers = len(await feed.jetstream.consumers_info("HZ_PL"))
    subject = "hz.PL.det.north.radar1"
    detections = [(f"d/{n}", to_json(detection(n, "north"))) for n in range(4)]
    mixed = [detections[0], ("r/1", to_json(_report(1))), detections[1]]
    track = _shared_track("PL", 1, 20)
    await feed.publish_batch(subject, detections)
    await feed.publish("hz.PL.clock", encode_tick(1.0), {"kind": "tick", "Nats-Msg-Id": "t1"})
    await feed.publish_batch(subject, [(f"m/{at}", p) for at, (_, p) in enumerate(mixed)])
    await feed.publish("hz.PL.trk.north", to_json(track), {"Nats-Msg-Id": "k/1"})
    await feed.publish("hz.PL.clock", encode_tick(2.0), {"kind": "tick", "Nats-Msg-Id": "t2"})
    await feed.publish_batch(subject, [(f"e/{at}", p) for at, (_, p) in enumerate(detections)])
    await feed.publish("hz.PL.clock", encode_tick(3.0), {"kind": "tick", "Nats-Msg-Id": "t3"})
    await feed.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    subscriptions = {
        id(service.subscription): service.subscription
        for service in services
        if isinstance(service.subscription, NatsSubscription)
    }
    passed_over = sum(sub.counters.passed_over for sub in subscriptions.values())
    await bus.close()
    alerts = await log_messages(feed.jetstream, "HZ_PL", "hz.PL.alert")
    await feed.close()
    return [reader.windows for reader in readers], len(alerts), consumers, passed_over


def test_each_stage_of_a_shared_consumer_is_handed_what_its_own_consumer_hands_it(
    tmp_path: Path,
) -> None:
    """Three stages through one consumer take the windows they take through one each: the
    tracker every detection (a batch of detections alone, which the assessment passes
    over, is still opened for it: passing over what any stage takes would lose them), the
    assessment the report among them and the track, the third the alerts the other two
    published on each tick (each stage's outputs have ids of their own: none dropped as
    a duplicate of the other's)."""
    # A server each: the stream's duplicate window would drop the second feed.
    with running_standalone(tmp_path / "own") as server:
        own, own_alerts, own_consumers, own_passed = asyncio.run(
            _feed_and_run(server.plan.url, shared=False)
        )
    with running_standalone(tmp_path / "shared") as server:
        shared, shared_alerts, shared_consumers, shared_passed = asyncio.run(
            _feed_and_run(server.plan.url, shared=True)
        )
    expected_detections = [
        ["det-north-0", "det-north-1", "det-north-2", "det-north-3"],
        ["det-north-0", "report-1", "det-north-1"],
        ["det-north-0", "det-north-1", "det-north-2", "det-north-3"],
    ]
    assert own[0] == expected_detections
    assert own[1] == [[], ["report-1", "PL-20"], []]
    assert shared[:2] == own[:2]
    # The third steps on every tick; which alerts reach it before a tick depends on when
    # the other two published them, the stored alerts do not.
    assert len(own[2]) == len(shared[2]) == 3
    assert own[2][0] == shared[2][0] == []  # the alerts of tick 1 are published after it
    assert own_alerts == shared_alerts == 9  # every stage, every tick
    assert (own_consumers, shared_consumers) == (3, 1)
    # Alone, the assessment passes the two batches of detections over whole; shared with
    # the tracker, nothing is passed over whole (the tracker takes detections).
    assert (own_passed, shared_passed) == (2, 0)


def test_a_shared_consumer_passes_over_only_what_none_of_its_stages_takes() -> None:
    readers = _readers()
    bus = InProcessBus()
    services = [StageService(reader, bus, "PL") for reader in readers]
    consumer = SharedConsumer(services)
    passed_over = consumer.passed_over()
    assert b"detection" not in passed_over and b"report" not in passed_over
    assert b"track" not in passed_over and b"alert" not in passed_over
    assert b"assessment" in passed_over
    without_tracker = SharedConsumer(
        [StageService(reader, bus, "PL") for reader in _readers()[1:]]
    ).passed_over()
    assert b"detection" in without_tracker and b"report" not in without_tracker
    assert consumer.read_subjects() == (
        "hz.PL.det.>",
        "hz.PL.clock",
        "hz.PL.trk.>",
        "hz.PL.alert",
    )


async def _start(url: str) -> tuple[NatsBus, list[Reader], asyncio.Task[None]]:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), durable_prefix="owner")
    readers = [
        Reader("assess", ("det.>", "trk.>"), (Detection, Track)),
        Reader("watch", ("alert",), (Alert,)),
    ]
    services = [StageService(reader, bus, "PL") for reader in readers]
    services[0].gate = TickGate(frozenset({NORTH}), frozenset({"fusion"}), absent_after_s=60.0)
    services[0].marks = ("assess",)
    share_consumer(services)
    tasks = []
    for service in services:
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(service.run(ready)))
        await until_ready(tasks[-1], ready)
    return bus, readers, asyncio.ensure_future(asyncio.gather(*tasks))


async def _until_acknowledged(bus: NatsBus) -> None:
    while True:
        infos = await bus.jetstream.consumers_info("HZ_PL")
        if all(info.num_pending == 0 and info.num_ack_pending == 0 for info in infos):
            return
        await asyncio.sleep(0.1)


async def _restarted(url: str) -> tuple[list[Reader], list[Reader], list[str]]:
    feed = await NatsBus.connect(url, nation_streams("PL", archives=False))
    await feed.jetstream.purge_stream("HZ_PL")
    first_bus, first, first_task = await _start(url)

    async def send(subject: str, payload: bytes, headers: dict[str, str]) -> None:
        await feed.publish(subject, payload, headers)

    await send("hz.PL.det.north.r", to_json(detection(1, "north")), {"Nats-Msg-Id": "d1"})
    await send("hz.PL.clock", encode_tick(1.0), {"kind": "tick", "Nats-Msg-Id": "t1"})
    late = {TICK_HEADER: "t1", STAGE_HEADER: "fusion", "Nats-Msg-Id": "d10"}
    await send("hz.PL.trk.north", to_json(detection(10, "north")), late)
    # Read and acknowledged, not stepped: north has marked no tick done.
    await _until_acknowledged(feed)
    first_task.cancel()
    await asyncio.gather(first_task, return_exceptions=True)
    await first_bus.close()
    second_bus, second, second_task = await _start(url)
    done = {"kind": "done", TICK_HEADER: "t1", "Nats-Msg-Id": "t1/done"}
    await send(f"hz.PL.done.{NORTH}", encode_tick(0.0), done)
    await send("hz.PL.clock", encode_tick(2.0), {"kind": "tick", "Nats-Msg-Id": "t2"})
    done = {"kind": "done", TICK_HEADER: "t2", "Nats-Msg-Id": "t2/done"}
    await send(f"hz.PL.done.{NORTH}", encode_tick(0.0), done)
    await send("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    await asyncio.wait_for(second_task, 30)
    await second_bus.close()
    alerts = await log_messages(feed.jetstream, "HZ_PL", "hz.PL.alert")
    await feed.close()
    return first, second, sorted(json.loads(alert.payload)["summary"] for alert in alerts)


def test_a_restarted_shared_consumer_resumes_every_stage_from_where_it_stopped(
    tmp_path: Path,
) -> None:
    """A waiting stage and another stage reading through one consumer, stopped while a
    tick the waiting stage had read and acknowledged still lacked its tracker's marker:
    started again, both rebuild from the log (the waiting stage through its gate), the
    tick steps once the marker comes, on the window a stage never stopped would have, and
    every output is published once; the other stage takes each alert once."""
    with running_standalone(tmp_path) as server:
        first, second, alerts = asyncio.run(_restarted(server.plan.url))
    assert first[0].windows == [] and first[1].windows == [[]]
    assert second[0].windows == [["det-north-1", "det-north-10"], []]
    # Rebuilt: tick 1 (nothing yet); tick 2 with its own alert of tick 1, read before
    # the stop (the waiting stage's, published after the restart, comes when it comes).
    assert second[1].windows[0] == []
    assert second[1].windows[1][0] == "alert 1 of watch"
    # Each stage's alerts of ticks 1 and 2, once: none lost, none published twice.
    assert alerts == [
        "alert 1 of assess",
        "alert 1 of watch",
        "alert 2 of assess",
        "alert 2 of watch",
    ]
