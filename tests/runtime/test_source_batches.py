"""Detections travel the bus in batches (issue 17): a source's chunk publishes each run of
consecutive messages on one subject as one bus batch, and the scenario replay does the
same between its clock ticks; every reader still gets each message on its own, in order,
with its own id, and a resumed replay publishes nothing twice. On a real nats-server."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest

from hotzone.bus import InProcessBus, NatsBus, nation_streams
from hotzone.bus.base import MESSAGE_ID_HEADER
from hotzone.ingest.jsonl import HotzoneJsonlDecoder
from hotzone.runtime.node import replay_position
from hotzone.runtime.pipeline import Pipeline
from hotzone.runtime.services import SHUTDOWN, RecorderService, encode_tick
from hotzone.runtime.sources import SourcePublisher
from hotzone.sim.scenario import load_scenario
from hotzone.sim.simulator import SimulatedMessage, simulate
from hotzone.store import SQLiteStore
from hotzone.types import DeadLetter, Detection, GeoPoint, MeasurementKind, from_json, to_json
from tests.federation.test_node_restart import read_stream

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SCENARIO = Path(__file__).parents[2] / "scenarios" / "suwalki-drones.yaml"


async def _fresh_bus(url: str) -> NatsBus:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False))
    await bus.jetstream.purge_stream("HZ_PL")
    return bus


async def _stored(bus: NatsBus, subjects: str) -> int:
    """How many messages the log holds on ``subjects``."""
    info = await bus.jetstream.stream_info("HZ_PL", subjects_filter=subjects)
    return sum((info.state.subjects or {}).values())


def _detection(index: int, sensor: str = "radar-1") -> Detection:
    return Detection(
        detection_id=f"{sensor}-{index}",
        time=NOW + timedelta(milliseconds=index),
        sensor_id=sensor,
        kind=MeasurementKind.POSITION,
        values=(54.0 + index * 1e-4, 23.0, 500.0),
        covariance=((2500.0, 0.0, 0.0), (0.0, 2500.0, 0.0), (0.0, 0.0, 2500.0)),
        sensor_position=GeoPoint(lat_deg=54.0, lon_deg=23.0),
        sector="suwalki",
    )


def _chunk() -> tuple[bytes, list[Detection]]:
    """40 detections of one radar, then 10 of another, a bad line between them."""
    first = [_detection(index) for index in range(40)]
    second = [_detection(index, "radar-2") for index in range(10)]
    lines = [to_json(d) + b"\n" for d in first] + [b"not json\n"]
    lines += [to_json(d) + b"\n" for d in second]
    return b"".join(lines), first + second


def test_a_chunk_of_one_subject_is_a_few_stored_messages_every_reader_gets_each(
    nats_url: str, tmp_path: Path
) -> None:
    data, detections = _chunk()

    async def scenario() -> tuple[int, int, list[tuple[str, bytes, str]], list[object]]:
        bus = await _fresh_bus(nats_url)
        stage_reads = await bus.subscribe("hz.PL.det.>")
        with SQLiteStore(tmp_path / "store.sqlite") as store:
            recorder = RecorderService(bus, store, "PL")
            ready = asyncio.Event()
            recording = asyncio.create_task(recorder.run(ready))
            await ready.wait()
            publisher = SourcePublisher(bus, "PL")
            await publisher.publish_chunk(HotzoneJsonlDecoder(), data, NOW)
            await bus.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
            await asyncio.wait_for(recording, 30)
            kept = [stored.message for stored in store.replay("hz.PL.>")]
        read = []
        while (message := await stage_reads.next(timeout_s=1.0)) is not None:
            read.append((message.subject, message.payload, message.headers[MESSAGE_ID_HEADER]))
        detections_stored = await _stored(bus, "hz.PL.det.>")
        dead_stored = await _stored(bus, "hz.PL.dead.>")
        await bus.close()
        return detections_stored, dead_stored, read, kept

    detections_stored, dead_stored, read, kept = asyncio.run(scenario())
    # Two runs of one subject each: two stored messages for 50 detections...
    assert detections_stored == 2
    assert dead_stored == 1  # ... and the refusal a message of its own.
    # A stage's consumer gets each detection as a message of its own, in order, own id.
    assert [from_json(payload) for _, payload, _ in read] == detections
    assert [subject for subject, _, _ in read] == ["hz.PL.det.suwalki.radar-1"] * 40 + [
        "hz.PL.det.suwalki.radar-2"
    ] * 10
    assert len({message_id for _, _, message_id in read}) == len(detections)
    # The recorder keeps all of them, in order, and the dead letter after them.
    assert kept[: len(detections)] == detections
    assert len(kept) == len(detections) + 1 and isinstance(kept[-1], DeadLetter)


def test_on_the_in_process_bus_each_detection_is_still_a_message_without_an_id() -> None:
    data, detections = _chunk()

    async def scenario() -> list[tuple[bytes, dict[str, str]]]:
        bus = InProcessBus()
        subscription = await bus.subscribe("hz.PL.det.>")
        await SourcePublisher(bus, "PL").publish_chunk(HotzoneJsonlDecoder(), data, NOW)
        received = []
        while (message := await subscription.next(timeout_s=0.1)) is not None:
            received.append((message.payload, message.headers))
        return received

    received = asyncio.run(scenario())
    assert [from_json(payload) for payload, _ in received] == detections
    assert all(headers == {} for _, headers in received)


class _KilledError(Exception):
    """The replay's process killed mid-run."""


def _killed_after(messages: Iterator[SimulatedMessage], count: int) -> Iterator[SimulatedMessage]:
    yield from islice(messages, count)
    raise _KilledError


async def _replay(
    bus: NatsBus,
    store_path: Path,
    command: str,
    messages: Iterator[SimulatedMessage],
    speed: float,
) -> None:
    """Run (or resume) the replay of ``command`` as `hotzone node` does: its run id and
    where it goes on from come from the log (`replay_position`)."""
    with SQLiteStore(store_path) as store:
        pipeline = Pipeline(bus, store, [], nation="PL", speed=speed)
        pipeline.run_id, pipeline.resume_after = await replay_position(bus, "PL", command)
        await pipeline.run(messages)


async def _stored_detections(bus: NatsBus) -> tuple[int, list[tuple[str, bytes]]]:
    """How many stored messages carry the log's detections, and what they carry, in order."""
    return await _stored(bus, "hz.PL.det.>"), await read_stream(bus, "HZ_PL", ["hz.PL.det.>"])


@pytest.mark.parametrize("speed", [math.inf, 400.0], ids=["as-fast-as-possible", "paced"])
def test_a_replay_resumed_after_a_kill_stores_what_one_run_stores(
    nats_url: str, tmp_path: Path, speed: float
) -> None:
    scenario = load_scenario(SCENARIO)

    def messages() -> Iterator[SimulatedMessage]:
        return simulate(scenario, seed=3, duration_s=90)  # 1,398 messages

    # Each run its own ids: a purged stream's duplicate window still holds the last's.
    command = f"PL-{'paced' if math.isfinite(speed) else 'fast'}-{tmp_path.name}"

    Stored = tuple[int, list[tuple[str, bytes]]]

    async def run() -> tuple[Stored, Stored, int]:
        bus = await _fresh_bus(nats_url)
        await _replay(bus, tmp_path / "reference.sqlite", f"{command}-one", messages(), speed)
        reference = await _stored_detections(bus)
        await bus.close()

        bus = await _fresh_bus(nats_url)
        with pytest.raises(_KilledError):
            # Mid-window: 13 messages after the window's tick, several runs of them sent.
            killed = _killed_after(messages(), 612)
            await _replay(bus, tmp_path / "killed.sqlite", command, killed, speed)
        await bus.confirm_publishes()
        await bus.close()
        bus = await NatsBus.connect(nats_url, nation_streams("PL", archives=False))
        await _replay(bus, tmp_path / "resumed.sqlite", command, messages(), speed)
        sent_again = bus.counters.duplicates_refused
        resumed = await _stored_detections(bus)
        await bus.close()
        return reference, resumed, sent_again

    reference, resumed, sent_again = asyncio.run(run())
    reference_stored, reference_carried = reference
    resumed_stored, resumed_carried = resumed
    # Batches: fewer stored messages than detections.
    assert reference_stored < len(reference_carried)
    # The resumed run sent again what the killed one had published after its last tick,
    # and the stream dropped each as a duplicate: exactly what one run stores.
    assert sent_again > 0
    assert resumed_stored == reference_stored
    assert resumed_carried == reference_carried


def test_a_replay_killed_fast_and_resumed_paced_hands_each_detection_out_once(
    nats_url: str, tmp_path: Path
) -> None:
    """A paced replay cuts its runs also where the delivery time changes, a fast one does
    not: resumed at another speed, the detections after the last tick go again in other
    batches (other batch ids, so the stream stores them again), and a reader drops each
    item it has had by its own id: every detection is handed out once, in order."""
    scenario = load_scenario(SCENARIO)

    def messages() -> Iterator[SimulatedMessage]:
        return simulate(scenario, seed=3, duration_s=90)

    command = f"PL-mixed-{tmp_path.name}"

    async def run() -> tuple[list[bytes], list[bytes], int, int, int]:
        bus = await _fresh_bus(nats_url)
        await _replay(bus, tmp_path / "reference.sqlite", f"{command}-one", messages(), math.inf)
        reference_stored, reference = await _stored_detections(bus)
        await bus.jetstream.purge_stream("HZ_PL")
        reader_bus = await NatsBus.connect(nats_url, nation_streams("PL", archives=False))
        reads = await reader_bus.subscribe("hz.PL.det.>")
        with pytest.raises(_KilledError):
            killed = _killed_after(messages(), 612)
            await _replay(bus, tmp_path / "killed.sqlite", command, killed, math.inf)
        await bus.confirm_publishes()
        await bus.close()
        bus = await NatsBus.connect(nats_url, nation_streams("PL", archives=False))
        await _replay(bus, tmp_path / "resumed.sqlite", command, messages(), 400.0)
        stored = await _stored(bus, "hz.PL.det.>")
        await bus.close()
        handed_out = []
        while (message := await reads.next(timeout_s=1.0)) is not None:
            handed_out.append(message.payload)
        dropped = reads.counters.duplicates_dropped  # type: ignore[attr-defined]
        await reader_bus.close()
        carried = [payload for _, payload in reference]
        return carried, handed_out, dropped, reference_stored, stored

    reference, handed_out, dropped, reference_stored, stored = asyncio.run(run())
    # The resumed run sent again, in other batches, what the killed one had published
    # after its last tick: stored again, dropped by each reader.
    assert stored > reference_stored
    assert dropped > 0
    assert handed_out == reference
