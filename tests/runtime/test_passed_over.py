"""A stage's service passes over, undecoded, the messages its stage never takes, read by
their type tag: exactly the types `accepts` would refuse once decoded; on NATS a batch of
such messages alone is passed over whole, a batch holding one the stage takes is opened."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import get_args

from bench.federation import SECTORS, bench_scenario, synthetic_backlog

from hotzone.bus import NatsBus, NatsSubscription, nation_streams
from hotzone.runtime.node import until_ready
from hotzone.runtime.services import (
    SHUTDOWN,
    StageService,
    encode_tick,
    message_tag,
    passed_over_tags,
)
from hotzone.runtime.stages import build_stages
from hotzone.types import AnyMessage, Event, GeoPoint, Report, from_json, to_json
from hotzone.types.enums import ReportSource
from tests.federation.helpers import EPOCH, detection


def test_the_tag_is_read_from_the_encoded_message() -> None:
    detection = synthetic_backlog(SECTORS[:1], 1, 1)[0][1][0]
    assert message_tag(to_json(detection)) == b"detection"
    assert message_tag(b"not json") is None
    assert message_tag(b'[{"type":"detection"}]') is None  # a batch is decoded as before
    assert message_tag(b'{"type":"detection') is None  # cut short: decoded, dead-lettered


def test_passed_over_are_exactly_the_types_the_stage_refuses() -> None:
    stages = build_stages(bench_scenario(), nation="PL").stages
    detection = from_json(to_json(synthetic_backlog(SECTORS[:1], 1, 1)[0][1][0]))
    for stage in stages:
        passed_over = passed_over_tags(stage)
        for kind in get_args(AnyMessage):
            tag = str(kind.__struct_config__.tag).encode()
            assert (tag in passed_over) == (not issubclass(kind, stage.input_types)), stage.name
        assert (b"detection" in passed_over) == (not stage.accepts(detection))
    by_name = {stage.name: passed_over_tags(stage) for stage in stages}
    assert b"detection" in by_name["assess"] and b"track" not in by_name["assess"]
    assert b"detection" not in by_name["fusion"]


@dataclass
class ReportReader:
    """Reads the detection subjects for their reports, as the owner's assessment does."""

    name: str = "assess"
    input_subjects: tuple[str, ...] = ("det.>",)
    input_types: tuple[type, ...] = (Report, Event)
    windows: list[list[str]] = field(default_factory=list)

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, self.input_types)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        self.windows.append([getattr(m, "report_id", type(m).__name__) for m in inputs])
        return []


def _report(number: int) -> Report:
    return Report(
        report_id=f"report-{number}",
        time=EPOCH,
        source_id="adsb-north",
        source=ReportSource.ADSB,
        position=GeoPoint(lat_deg=54.1, lon_deg=22.9, height_m=3000.0),
        horizontal_sigma_m=30.0,
        vertical_sigma_m=50.0,
        sector="north",
    )


def test_a_report_in_a_batch_of_detections_reaches_the_stage_that_passes_detections_over(
    nats_url: str,
) -> None:
    """On NATS the subscription passes over a batch of detections whole, undecoded; a
    batch that also holds a report is opened, and the report reaches the stage's window
    (the detections beside it are passed over by their tag, one by one)."""

    async def scenario() -> tuple[list[list[str]], int, int]:
        streams = nation_streams("PL", archives=False)
        feed = await NatsBus.connect(nats_url, streams)
        await feed.jetstream.purge_stream("HZ_PL")
        bus = await NatsBus.connect(nats_url, streams)
        service = StageService(ReportReader(), bus, "PL")
        ready = asyncio.Event()
        task = asyncio.create_task(service.run(ready))
        await until_ready(task, ready)
        subject = "hz.PL.det.north.radar1"
        only = [(f"d/{n}", to_json(detection(n, "north"))) for n in range(4)]
        mixed = [only[0], ("r/1", to_json(_report(1))), only[1]]
        await feed.publish_batch(subject, only)
        await feed.publish_batch(subject, [(f"m/{at}", p) for at, (_, p) in enumerate(mixed)])
        await feed.publish("hz.PL.clock", encode_tick(1.0), {"kind": "tick"})
        await feed.publish_batch(subject, [(f"e/{at}", p) for at, (_, p) in enumerate(only)])
        await feed.publish("hz.PL.clock", encode_tick(2.0), {"kind": "tick"})
        await feed.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
        await asyncio.wait_for(task, 30)
        assert isinstance(service.subscription, NatsSubscription)
        passed_over = service.subscription.counters.passed_over
        await bus.close()
        await feed.close()
        assert isinstance(service.stage, ReportReader)
        return service.stage.windows, passed_over, service.counters.received["Detection"]

    windows, passed_over, detections_taken = asyncio.run(scenario())
    assert windows == [["report-1"], []]
    assert passed_over == 2  # the two batches of detections alone
    assert detections_taken == 0
