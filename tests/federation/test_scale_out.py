"""Scale-out inside a nation: two node processes, each owning half the sectors, partition
the detections between them exactly (JetStream consumers filtered by sector subjects).

The backlog is published before the nodes start (their durable consumers exist already),
as when sector nodes restart behind a stream: what each reads does not depend on timing.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

from hotzone.bus import NatsBus, nation_streams
from hotzone.runtime.node import sector_filters
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import SHUTDOWN, StageService, encode_tick
from hotzone.types import AnyMessage, Detection, to_json
from tests.federation.helpers import EchoTracker, detection
from tests.federation.servers import running_standalone

SECTORS = ("north", "east", "south", "west")
SHARES = (["north", "south"], ["east", "west"])
DETECTIONS = 240
TICKS = 12


@dataclass
class RecordingTracker:
    """The echo tracker (one track per detection), remembering what each window held."""

    name: str = "recording-tracker"
    input_subjects: tuple[str, ...] = ("det.>",)
    detection_ids: list[str] = field(default_factory=list)
    sectors_seen: Counter[str] = field(default_factory=Counter)
    steps: int = 0
    _echo: EchoTracker = field(default_factory=EchoTracker)

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, Detection)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        self.steps += 1
        for message in inputs:
            assert isinstance(message, Detection)
            self.detection_ids.append(message.detection_id)
            self.sectors_seen[message.sector] += 1
        return self._echo.step(time, inputs)


@dataclass(frozen=True)
class NodeOutcome:
    sectors: tuple[str, ...]
    detection_ids: list[str]
    sectors_seen: dict[str, int]
    steps: int
    tracks_published: int


async def _create_consumer(url: str, index: int, sectors: list[str]) -> None:
    bus = await NatsBus.connect(
        url,
        nation_streams("PL", archives=False),
        durable_prefix=f"sector-node{index}",
        read_filters=sector_filters("PL", sectors),
    )
    await bus.subscribe("hz.PL.>")
    await bus.close()


async def _publish_backlog(url: str) -> list[str]:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False))
    published = []
    per_tick = DETECTIONS // TICKS
    for tick in range(TICKS):
        for index in range(tick * per_tick, (tick + 1) * per_tick):
            message = detection(index, SECTORS[index % len(SECTORS)])
            await bus.publish(subject_for(message, "PL"), to_json(message))
            published.append(message.detection_id)
        await bus.publish("hz.PL.clock", encode_tick(float(tick)), {"kind": "tick"})
    await bus.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    await bus.close()
    return published


def _node_process(
    url: str,
    index: int,
    sectors: list[str],
    start: EventType,
    results: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """One sector node (its own OS process) until the shutdown tick."""

    async def work() -> NodeOutcome:
        bus = await NatsBus.connect(
            url,
            nation_streams("PL", archives=False),
            durable_prefix=f"sector-node{index}",
            read_filters=sector_filters("PL", sectors),
            pipeline_publishes=True,
        )
        tracker = RecordingTracker()
        service = StageService(tracker, bus, "PL")
        await asyncio.to_thread(start.wait, 60)
        await service.run()
        await bus.close()
        return NodeOutcome(
            sectors=tuple(sectors),
            detection_ids=tracker.detection_ids,
            sectors_seen=dict(tracker.sectors_seen),
            steps=tracker.steps,
            tracks_published=service.counters.published["Track"],
        )

    results.put(asyncio.run(work()))


async def _stored_tracks(url: str) -> int:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), ensure_streams=False)
    info = await bus.jetstream.stream_info("HZ_PL", subjects_filter="hz.PL.trk.>")
    await bus.close()
    return sum((info.state.subjects or {}).values())


def test_two_sector_nodes_process_every_detection_exactly_once(tmp_path: Path) -> None:
    with running_standalone(tmp_path) as server:
        url = server.plan.url
        for index, share in enumerate(SHARES):
            asyncio.run(_create_consumer(url, index, share))
        published = asyncio.run(_publish_backlog(url))
        context = multiprocessing.get_context("spawn")
        start = context.Event()
        results = context.Queue()
        nodes = [
            context.Process(target=_node_process, args=(url, index, share, start, results))
            for index, share in enumerate(SHARES)
        ]
        for node in nodes:
            node.start()
        start.set()  # both start together, so both race for the backlog
        outcomes: list[NodeOutcome] = [results.get(timeout=120) for _ in nodes]
        for node in nodes:
            node.join(30)
        stored_tracks = asyncio.run(_stored_tracks(url))

    first, second = outcomes
    assert set(first.detection_ids).isdisjoint(second.detection_ids), "a detection went to both"
    processed = first.detection_ids + second.detection_ids
    assert Counter(processed) == Counter(published), "lost or duplicated detections"
    for outcome in outcomes:
        assert set(outcome.sectors_seen) == set(outcome.sectors), outcome
        # Every node sees every clock tick (the clock is in each node's filters).
        assert outcome.steps == TICKS
        assert outcome.tracks_published == len(outcome.detection_ids)
    # The nodes' pipelined publishes were all stored before they acknowledged the ticks.
    assert stored_tracks == len(published)
