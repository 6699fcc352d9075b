"""Per-producer watermarks (`hotzone.runtime.watermarks`): a tick steps on its producers'
outputs of that tick, whenever they arrive, and goes on without a producer that is absent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from hotzone.bus import BusMessage, InProcessBus, NatsBus, nation_streams
from hotzone.runtime.metrics import PipelineMetrics
from hotzone.runtime.node import until_ready
from hotzone.runtime.services import SHUTDOWN, StageService, encode_tick
from hotzone.runtime.watermarks import (
    PRODUCERS_HEADER,
    STAGE_HEADER,
    TICK_HEADER,
    TICKS_REMEMBERED,
    TickGate,
    done_subject,
    tracking_producer,
)
from hotzone.types import AnyMessage, Detection, Track, to_json
from tests.federation.helpers import EchoTracker, alert, detection, log_messages
from tests.federation.servers import running_standalone

NORTH, SOUTH = tracking_producer("north"), tracking_producer("south")


def _clock(tick_id: str) -> BusMessage:
    headers = {"kind": "tick", "Nats-Msg-Id": tick_id}
    return BusMessage(subject="hz.PL.clock", payload=encode_tick(0.0), headers=headers)


def _produced(tick_id: str) -> dict[str, str]:
    return {TICK_HEADER: tick_id, STAGE_HEADER: "fusion"}


def _ids(inputs: list[AnyMessage]) -> list[str]:
    return [getattr(message, "detection_id", "?") for message in inputs]


def _gate() -> TickGate:
    return TickGate(frozenset({NORTH, SOUTH}), frozenset({"fusion"}), absent_after_s=10.0)


def test_a_tick_waits_for_every_producer_and_takes_its_outputs_of_that_tick() -> None:
    gate = _gate()
    gate.take(detection(1, "north"), "hz.PL.det.north.r", {})  # before tick 1: plain input
    gate.tick("t1", _clock("t1"))
    gate.take(detection(2, "north"), "hz.PL.det.north.r", {})  # after tick 1: tick 2's
    # South's output of tick 1 arrives first, then north's; both belong to tick 1.
    gate.take(detection(11, "south"), "hz.PL.trk.south", _produced("t1"))
    gate.marker(SOUTH, "t1")
    assert gate.ready() == []  # north has not said it is done
    gate.take(detection(10, "north"), "hz.PL.trk.north", _produced("t1"))
    gate.marker(NORTH, "t1")
    [released] = gate.ready()
    # The plain input first, then the producers' outputs by subject (north before south).
    assert _ids(released.inputs) == _ids(
        [detection(1, "north"), detection(10, "north"), detection(11, "south")]
    )
    assert released.missing == frozenset()
    gate.tick("t2", _clock("t2"))
    gate.marker(NORTH, "t2")
    gate.marker(SOUTH, "t2")
    [second] = gate.ready()
    assert _ids(second.inputs) == [detection(2, "north").detection_id]
    assert not gate.timeouts


def test_outputs_of_a_tick_not_yet_received_wait_for_it() -> None:
    gate = _gate()
    # A fast producer is done with tick t1 before this stage has read the tick itself.
    gate.take(detection(5, "north"), "hz.PL.trk.north", _produced("t1"))
    gate.marker(NORTH, "t1")
    gate.marker(SOUTH, "t1")
    assert gate.ready() == []
    gate.tick("t1", _clock("t1"))
    [released] = gate.ready()
    assert _ids(released.inputs) == [detection(5, "north").detection_id]


def test_an_absent_producer_is_waited_for_once_then_counted_and_taken_back() -> None:
    gate = _gate()
    gate.tick("t1", _clock("t1"))
    gate.tick("t2", _clock("t2"))
    gate.marker(NORTH, "t1")
    gate.marker(NORTH, "t2")
    # Time reading a backlog is not waiting; 4 s waiting on the bus for nothing is.
    assert gate.ready() == [] and gate.idle(4.0) == []
    assert gate.wait_s() == 6.0
    gate.marker(NORTH, "t1")  # any marker starts the wait again
    assert gate.idle(9.0) == []
    released = gate.idle(1.0)
    # South said nothing for 10 s of waiting: both waiting ticks go on without it.
    assert len(released) == 2 and all(tick.missing == {SOUTH} for tick in released)
    assert gate.timeouts == {SOUTH: 2}
    # Absent, it is not waited for ...
    gate.tick("t3", _clock("t3"))
    gate.marker(NORTH, "t3")
    assert len(gate.ready()) == 1 and gate.timeouts == {SOUTH: 3}
    # ... until it says something again; its outputs of a tick gone by join the next one.
    gate.take(detection(7, "south"), "hz.PL.trk.south", _produced("t1"))
    gate.marker(SOUTH, "t1")
    gate.tick("t4", _clock("t4"))
    gate.marker(NORTH, "t4")
    assert gate.ready() == []  # waits for south again
    gate.marker(SOUTH, "t4")
    [fourth] = gate.ready()
    assert _ids(fourth.inputs) == [detection(7, "south").detection_id]
    assert gate.timeouts == {SOUTH: 3}


def test_ticks_its_run_before_a_restart_stepped_without_a_producer_go_at_its_own_marker() -> None:
    """Rebuilding from the log, a stage finds its own marker of a tick that still waits
    for south: its first run went on without south (absent then), so the ticks up to that
    one go now, as they went then, without waiting 10 s for south again."""
    gate = _gate()
    for tick_id in ("t1", "t2", "t3"):
        gate.tick(tick_id, _clock(tick_id))
        gate.marker(NORTH, tick_id)
    gate.take(detection(3, "north"), "hz.PL.trk.north", _produced("t2"))
    assert gate.ready() == [] and gate.stepped_before("t9") == []
    first, second = gate.stepped_before("t2")
    assert first.missing == second.missing == {SOUTH}
    assert _ids(second.inputs) == [detection(3, "north").detection_id]
    assert [pending.tick_id for pending in gate.pending] == ["t3"]
    assert gate.stepped_before("t2") == []  # released already: nothing more
    gate.marker(SOUTH, "t3")
    assert len(gate.ready()) == 1


def test_ticks_named_but_never_coming_are_forgotten_beyond_a_bound() -> None:
    """A publisher naming ticks that never come (a bad clock, a hostile one in the nation's
    account) cannot make the gate grow without bound; the ticks that do come still wait
    for their producers and take their outputs."""
    gate = _gate()
    for index in range(TICKS_REMEMBERED + 50):
        gate.take(detection(index, "north"), "hz.PL.trk.north", _produced(f"never-{index}"))
        gate.marker(NORTH, f"never-{index}")
    assert len(gate.produced) == TICKS_REMEMBERED and len(gate.done) == TICKS_REMEMBERED
    assert gate.forgotten == 100
    gate.tick("t1", _clock("t1"))
    gate.take(detection(7, "south"), "hz.PL.trk.south", _produced("t1"))
    gate.marker(NORTH, "t1")
    assert gate.ready() == []
    gate.marker(SOUTH, "t1")
    (released,) = gate.ready()
    assert _ids(released.inputs) == [detection(7, "south").detection_id]


def test_released_ticks_are_remembered_up_to_the_bound() -> None:
    gate = _gate()
    for index in range(TICKS_REMEMBERED + 5):
        tick_id = f"t{index}"
        gate.tick(tick_id, _clock(tick_id))
        gate.marker(NORTH, tick_id)
        gate.marker(SOUTH, tick_id)
        assert len(gate.ready()) == 1
    assert len(gate.released) == TICKS_REMEMBERED
    assert "t0" not in gate.released and f"t{TICKS_REMEMBERED + 4}" in gate.released


# ---- a waiting stage restarted: its rebuild goes through the gate --------------------------


@dataclass
class WindowLog:
    """A stage that remembers each window it stepped (the rebuild's too) and publishes one
    alert per step."""

    name: str = "assess"
    input_subjects: tuple[str, ...] = ("det.>", "trk.>")
    windows: list[list[str]] = field(default_factory=list)

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, Detection)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        self.windows.append(_ids(list(inputs)))
        return [alert("PL", len(self.windows), "NATO")]


async def _start(url: str) -> tuple[NatsBus, StageService, asyncio.Task[None]]:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), durable_prefix="owner")
    service = StageService(WindowLog(), bus, "PL")
    service.gate = TickGate(frozenset({NORTH}), frozenset({"fusion"}), absent_after_s=60.0)
    ready = asyncio.Event()
    task = asyncio.create_task(service.run(ready))
    await until_ready(task, ready)
    return bus, service, task


async def _publish(bus: NatsBus, subject_: str, payload: bytes, headers: dict[str, str]) -> None:
    await bus.publish(subject_, payload, headers)


async def _until_acknowledged(bus: NatsBus) -> None:
    while True:
        infos = await bus.jetstream.consumers_info("HZ_PL")
        if all(info.num_pending == 0 and info.num_ack_pending == 0 for info in infos):
            return
        await asyncio.sleep(0.1)


async def _restarted_while_ticks_wait(url: str) -> tuple[list[list[str]], list[list[str]], int]:
    feed = await NatsBus.connect(url, nation_streams("PL", archives=False))
    first_bus, first, first_task = await _start(url)
    plain, late = detection(1, "north"), detection(10, "north")
    await _publish(feed, "hz.PL.det.north.r", to_json(plain), {"Nats-Msg-Id": "d1"})
    await _publish(feed, "hz.PL.clock", encode_tick(1.0), {"kind": "tick", "Nats-Msg-Id": "t1"})
    # The tracker's output of t1 reaches the stage after its tick 2 (a late sector node).
    await _publish(feed, "hz.PL.clock", encode_tick(2.0), {"kind": "tick", "Nats-Msg-Id": "t2"})
    await _publish(
        feed, "hz.PL.trk.north", to_json(late), {**_produced("t1"), "Nats-Msg-Id": "d10"}
    )
    # Read and acknowledged, not stepped: north has marked no tick done.
    await _until_acknowledged(feed)
    first_task.cancel()  # the process ends here, with its ticks waiting
    await asyncio.gather(first_task, return_exceptions=True)
    await first_bus.close()
    second_bus, second, second_task = await _start(url)
    for tick_id in ("t1", "t2"):
        headers = {"kind": "done", TICK_HEADER: tick_id, "Nats-Msg-Id": f"{tick_id}/done"}
        await _publish(feed, done_subject("PL", NORTH), encode_tick(0.0), headers)
    await _publish(feed, "hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    await asyncio.wait_for(second_task, 30)
    await second_bus.close()
    alerts = await log_messages(feed.jetstream, "HZ_PL", "hz.PL.alert")
    await feed.close()
    assert isinstance(first.stage, WindowLog) and isinstance(second.stage, WindowLog)
    return first.stage.windows, second.stage.windows, len(alerts)


def test_a_restarted_waiting_stage_steps_the_ticks_it_had_read_on_their_producers_outputs(
    tmp_path: Path,
) -> None:
    """A waiting stage (the owner's assessment) stopped while ticks it had read and
    acknowledged still waited for a tracker's markers: started again, it rebuilds through
    the gate, so those ticks step when the markers come, on the windows an owner never
    restarted would have (the late output in its own tick), and their outputs are
    published; a rebuild without the gate stepped them silently, on other windows."""
    with running_standalone(tmp_path) as server:
        before, after, alerts = asyncio.run(_restarted_while_ticks_wait(server.plan.url))
    assert before == []
    assert after == [["det-north-1", "det-north-10"], []]
    assert alerts == 2


def test_metrics_show_a_producer_absent_and_the_ticks_stepped_without_it() -> None:
    """``/metrics`` of a node shows a waiting stage's producers: absent or not, and how
    many ticks went on without each (a sector node down, or nobody ran ``--unclaimed``)."""
    service = StageService(WindowLog(), InProcessBus(), "PL")
    service.gate = _gate()
    metrics = PipelineMetrics(stages=[service])

    def samples() -> dict[tuple[str, str, str], float]:
        read = {}
        for family in text_string_to_metric_families(metrics.text().decode()):
            for sample in family.samples:
                if sample.name.startswith("hotzone_watermark_"):
                    labels = sample.labels
                    read[(sample.name, labels["stage"], labels["producer"])] = sample.value
        return read

    stage = service.stage.name
    before = samples()
    assert before[("hotzone_watermark_producer_absent", stage, SOUTH)] == 0.0
    assert before[("hotzone_watermark_ticks_without_total", stage, SOUTH)] == 0.0
    gate = service.gate
    for tick_id in ("t1", "t2"):
        gate.tick(tick_id, _clock(tick_id))
        gate.marker(NORTH, tick_id)
    assert len(gate.idle(10.0)) == 2  # south said nothing for 10 s of waiting
    after = samples()
    assert after[("hotzone_watermark_producer_absent", stage, SOUTH)] == 1.0
    assert after[("hotzone_watermark_ticks_without_total", stage, SOUTH)] == 2.0
    assert after[("hotzone_watermark_producer_absent", stage, NORTH)] == 0.0
    assert after[("hotzone_watermark_ticks_without_total", stage, NORTH)] == 0.0
    gate.marker(SOUTH, "t3")  # back
    assert samples()[("hotzone_watermark_producer_absent", stage, SOUTH)] == 0.0


# ---- a node of several trackers: one marker a tick for them all ----------------------------


@dataclass
class TrackWindows:
    """A waiting stage (the owner's assessment) that remembers the tracks of each window."""

    name: str = "assess"
    input_subjects: tuple[str, ...] = ("trk.>",)
    windows: list[list[str]] = field(default_factory=list)

    def accepts(self, message: AnyMessage) -> bool:
        return isinstance(message, Track)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> Sequence[AnyMessage]:
        self.windows.append([getattr(m, "track_id", "?") for m in inputs])
        return []


async def _one_marker_for_two_trackers(url: str) -> tuple[list[list[str]], list[BusMessage]]:
    streams = nation_streams("PL", archives=False)
    feed = await NatsBus.connect(url, streams)
    node_bus = await NatsBus.connect(url, streams, pipeline_publishes=True)
    owner_bus = await NatsBus.connect(url, streams)
    tracker = StageService(EchoTracker(), node_bus, "PL")
    tracker.marks = (NORTH, SOUTH)  # a sector node tracking both sectors
    waiting = StageService(TrackWindows(), owner_bus, "PL")
    waiting.gate = TickGate(frozenset({NORTH, SOUTH}), frozenset({"echo-tracker"}), 60.0)
    tasks = []
    for service in (tracker, waiting):
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(service.run(ready)))
        await until_ready(tasks[-1], ready)
    for tick in (1, 2, 3):
        for sector in ("north", "south"):
            message = detection(tick, sector)
            await feed.publish(f"hz.PL.det.{sector}.radar1", to_json(message))
        headers = {"kind": "tick", "Nats-Msg-Id": f"t{tick}"}
        await feed.publish("hz.PL.clock", encode_tick(float(tick)), headers)
    await feed.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    markers = await log_messages(feed.jetstream, "HZ_PL", "hz.PL.done.>")
    for bus in (feed, node_bus, owner_bus):
        await bus.close()
    assert isinstance(waiting.stage, TrackWindows) and waiting.gate is not None
    assert not waiting.gate.timeouts and not waiting.gate.absent
    return waiting.stage.windows, markers


def test_a_service_of_several_trackers_marks_each_tick_once_for_them_all(tmp_path: Path) -> None:
    """A sector node's trackers (one per sector) say they are done with a tick in one
    marker, on the first one's subject, naming them all: the waiting stage steps each tick
    on both sectors' tracks of that tick, waiting for nobody and counting nobody absent."""
    with running_standalone(tmp_path) as server:
        windows, markers = asyncio.run(_one_marker_for_two_trackers(server.plan.url))
    assert windows == [[f"trk-det-north-{tick}", f"trk-det-south-{tick}"] for tick in (1, 2, 3)]
    assert [m.subject for m in markers] == [done_subject("PL", NORTH)] * 3
    assert [m.headers[TICK_HEADER] for m in markers] == ["t1", "t2", "t3"]
    assert {m.headers[PRODUCERS_HEADER] for m in markers} == {f"{NORTH},{SOUTH}"}


def test_a_marker_naming_several_producers_takes_each_back_and_releases_their_ticks() -> None:
    """Read by the waiting service, one marker counts for each producer it names: a
    producer counted absent is back (``/metrics``), and a tick waiting for both goes."""
    service = StageService(WindowLog(), InProcessBus(), "PL")
    service.gate = gate = _gate()
    gate.tick("t1", _clock("t1"))
    gate.marker(NORTH, "t1")
    assert len(gate.idle(10.0)) == 1 and gate.absent == {SOUTH}
    gate.tick("t2", _clock("t2"))
    headers = {"kind": "done", TICK_HEADER: "t2", PRODUCERS_HEADER: f"{NORTH},{SOUTH}"}
    marker = BusMessage(subject=done_subject("PL", NORTH), payload=b"", headers=headers)
    asyncio.run(service._gate_message(marker, gate, publish=False))
    assert gate.absent == set() and not gate.waiting
    assert gate.timeouts == {SOUTH: 1}
    assert service.stage.windows == [[]]  # type: ignore[attr-defined]  # t2, by the marker
