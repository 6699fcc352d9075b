"""Scale-out inside a nation: two node processes, each owning half the sectors, partition
the detections between them exactly (JetStream consumers filtered by sector subjects).

The backlog is published before the nodes start (their durable consumers exist already),
as when sector nodes restart behind a stream: what each reads does not depend on timing.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import msgspec
import nats.js.api
import nats.js.errors
import pytest

from hotzone.bus import NatsBus, nation_streams
from hotzone.bus.inprocess import InProcessBus
from hotzone.cli import main
from hotzone.runtime.node import node_stages, sector_filters, watch_producers
from hotzone.runtime.pipeline import delivery_time
from hotzone.runtime.routing import subject_for
from hotzone.runtime.sector_tracking import SectorTracking
from hotzone.runtime.services import FINISH, SHUTDOWN, StageService, encode_tick
from hotzone.runtime.stages import build_stages
from hotzone.sim.scenario import load_scenario
from hotzone.sim.simulator import simulate
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    AnyMessage,
    Assessment,
    AuditRecord,
    Detection,
    Report,
    Track,
    to_json,
)
from tests.federation.helpers import EPOCH, EchoTracker, detection, log_messages
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
    tracks = await log_messages(bus.jetstream, "HZ_PL", "hz.PL.trk.>")
    await bus.close()
    return len(tracks)


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


# ---- sector nodes and the nation's owner, as `hotzone node` runs them ----------------------

RUN_CLI = "import sys; from hotzone.cli import main; sys.exit(main(sys.argv[1:]))"
OWNER_SECTORS = ("lazdijai",)
NODE_SECTORS = ("suwalki",)
FEED_S = 40.0
UNKNOWN_SECTOR = "elsewhere"


def _feed(seed: int = 1) -> list[AnyMessage]:
    """40 s of suwalki-drones as a sensor network delivers them, some detections without a
    sector (a live source that does not say) and some of a sector the scenario does not name."""
    scenario = load_scenario("suwalki-drones")
    built = build_stages(scenario, seed=seed)
    messages: list[AnyMessage] = []
    simulated = simulate(scenario, seed=seed, duration_s=FEED_S, removals=built.removals)
    for index, message in enumerate(simulated):
        if isinstance(message, Detection) and index % 7 == 0:
            messages.append(msgspec.structs.replace(message, sector=""))
        elif isinstance(message, Detection) and index % 11 == 0:
            messages.append(msgspec.structs.replace(message, sector=UNKNOWN_SECTOR))
        else:
            messages.append(message)
    return messages


async def _consumers(url: str) -> list[nats.js.api.ConsumerInfo]:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), ensure_streams=False)
    try:
        return list(await bus.jetstream.consumers_info("HZ_PL"))
    except nats.js.errors.NotFoundError:
        return []
    finally:
        await bus.close()


async def _quiet(bus: NatsBus) -> None:
    """Until every consumer of PL's log has been handed and has acknowledged everything:
    a node acknowledges an input once what it published while handling it is stored."""
    while True:
        infos = await bus.jetstream.consumers_info("HZ_PL")
        if all(info.num_pending == 0 and info.num_ack_pending == 0 for info in infos):
            return
        await asyncio.sleep(0.2)


async def _publish_feed(url: str, messages: list[AnyMessage]) -> None:
    """The feed and the clock in PL's log; at the end, windows that let every stage's
    outputs reach the stages above it, the finish tick (c2's final audit checkpoint) and
    the shutdown, each once the nodes are done with what came before."""
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), ensure_streams=False)
    try:
        next_tick: float | None = None
        for message in messages:
            at = delivery_time(message)
            if next_tick is None:
                next_tick = math.floor(at) + 1.0
            while at >= next_tick:
                await bus.publish("hz.PL.clock", encode_tick(next_tick), {"kind": "tick"})
                next_tick += 1.0
            await bus.publish(subject_for(message, "PL"), to_json(message))
        assert next_tick is not None
        for _ in range(4):
            # Windows of their own time: a stage judges each window once.
            await bus.publish("hz.PL.clock", encode_tick(next_tick), {"kind": "tick"})
            next_tick += 1.0
            await _quiet(bus)
        await bus.publish("hz.PL.clock", encode_tick(next_tick), {"kind": FINISH})
        await _quiet(bus)
        await bus.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    finally:
        await bus.close()


def _wait_until_subscribed(
    url: str, consumers: int, processes: dict[str, subprocess.Popen[str]]
) -> None:
    """Until the nodes' ``consumers`` durable consumers exist; a node that ended before
    fails the test with what it printed."""
    deadline = time.monotonic() + 120
    while len(asyncio.run(_consumers(url))) < consumers:
        for name, process in processes.items():
            assert process.poll() is None, f"{name}: {process.communicate()[0]}"
        assert time.monotonic() < deadline, "the nodes never subscribed"
        time.sleep(0.2)


def node_command(
    url: str, store: Path, *args: str, stderr: int = subprocess.STDOUT
) -> subprocess.Popen[str]:
    """``hotzone node --nation PL`` on ``url`` in a process of its own (stderr into stdout
    unless ``stderr`` says otherwise)."""
    command = ["node", "--nation", "PL", "--nats", url, "--no-replay", "--store", str(store)]
    return subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *command, *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def _tracked(output: str) -> int:
    match = re.search(r"tracked (\d+) \(", output)
    assert match is not None, output
    return int(match.group(1))


def _recorded(output: str) -> int:
    match = re.search(r"(\d+) messages recorded", output)
    assert match is not None, output
    return int(match.group(1))


def test_sector_nodes_track_their_sectors_and_the_owner_everything_else_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two `hotzone node` processes: a sector node (suwalki) and the nation's owner
    (lazdijai, --owner). Every detection is tracked once, by the node of its sector or, with
    no sector or one nobody owns, by the owner; assessment, c2 and the audit chain run
    once, in the owner, and the chain verifies."""
    feed = _feed()
    tracked_inputs = [m for m in feed if isinstance(m, Detection | Report)]
    in_node_sectors = [m for m in tracked_inputs if m.sector in NODE_SECTORS]
    sectorless = [m for m in tracked_inputs if m.sector in ("", UNKNOWN_SECTOR)]
    assert in_node_sectors and sectorless
    scenario = load_scenario("suwalki-drones")
    stages = build_stages(scenario, nation="PL").stages
    consumers = sum(
        len(node_stages(stages, scenario, sectors, owner)) + 1  # and the recorder's
        for sectors, owner in ((NODE_SECTORS, False), (OWNER_SECTORS, True))
    )
    owner_store, node_store = tmp_path / "owner.sqlite", tmp_path / "suwalki.sqlite"
    with running_standalone(tmp_path) as server:
        url = server.plan.url
        processes = {
            "sector node": node_command(url, node_store, "--sectors", ",".join(NODE_SECTORS)),
            "owner": node_command(
                url, owner_store, "--sectors", ",".join(OWNER_SECTORS), "--owner"
            ),
        }
        try:
            _wait_until_subscribed(url, consumers, processes)
            asyncio.run(_publish_feed(url, feed))
            outputs = {name: p.communicate(timeout=120)[0] for name, p in processes.items()}
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.kill()
                    process.communicate()
    for name, process in processes.items():
        assert process.returncode == 0, f"{name}: {outputs[name]}"
    with capsys.disabled():  # what each node did, for the log
        print("", *(output.strip().splitlines()[-1] for output in outputs.values()), sep="\n")

    # Every detection and report tracked once: the sector node's by it, the rest by the owner.
    assert _tracked(outputs["sector node"]) == len(in_node_sectors)
    assert _tracked(outputs["owner"]) == len(tracked_inputs) - len(in_node_sectors)
    recorded = {name: _recorded(output) for name, output in outputs.items()}
    with SQLiteStore(node_store) as sector_log, SQLiteStore(owner_store) as owner_log:
        # The sector node only tracks: no assessment, c2 or audit of its own.
        for kind in ("assessment", "audit", "c2_state", "alert"):
            assert sector_log.count(kind) == 0, kind
        assert sector_log.count() == recorded["sector node"] > 0
        assert owner_log.count() == recorded["owner"] > recorded["sector node"]
        sector_tracks = {m.message.sector for m in sector_log.replay(types=["track"])}
        assert sector_tracks == set(NODE_SECTORS)
        # The owner's log is the nation's: both nodes' tracks (the owner's of no sector
        # too, sector ""), one assessment per track state, one audit chain.
        owner_tracks = [m.message for m in owner_log.replay(types=["track"])]
        assert {t.sector for t in owner_tracks if isinstance(t, Track)} == {
            *NODE_SECTORS,
            *OWNER_SECTORS,
            "",
        }
        assessed = [
            (m.message.track_id, m.message.time)
            for m in owner_log.replay(types=["assessment"])
            if isinstance(m.message, Assessment)
        ]
        assert assessed and len(assessed) == len(set(assessed))
        opened = [
            m.message
            for m in owner_log.replay(types=["audit"])
            if isinstance(m.message, AuditRecord) and m.message.kind == "open"
        ]
        assert len(opened) == 1
        assert owner_log.count("c2_state") >= 1
    capsys.readouterr()
    assert main(["audit", "verify", str(owner_store)]) == 0, capsys.readouterr()


def test_who_tracks_which_detection_and_who_runs_the_rest() -> None:
    scenario = load_scenario("suwalki-drones")
    stages = build_stages(scenario, nation="PL").stages
    assert [s.name for s in stages][:3] == ["fusion", "assess", "c2"]
    sector_node = node_stages(stages, scenario, ("suwalki", "lazdijai"), owner=False)
    owner = node_stages(stages, scenario, ("lazdijai",), owner=True)
    alone = node_stages(stages, scenario, (), owner=True)
    owner_only = node_stages(stages, scenario, (), owner=True, owner_only=True)
    untracked = node_stages(stages, scenario, (), owner=True, no_tracking=True)
    unclaimed = node_stages(stages, scenario, ("suwalki",), owner=False, unclaimed=True)
    assert [s.name for s in sector_node] == ["fusion"] == [s.name for s in unclaimed]
    assert [s.name for s in owner] == [s.name for s in stages] == [s.name for s in alone]
    assert [s.name for s in owner_only] == [s.name for s in stages]
    # The owner tracking nothing has no tracking stage at all; the sector node with
    # --unclaimed marks its sectors' trackers and that of none done.
    assert [s.name for s in untracked] == [s.name for s in stages if s.name != "fusion"]
    unclaimed_tracking = unclaimed[0]
    assert isinstance(unclaimed_tracking, SectorTracking)
    assert unclaimed_tracking.producers == ("fusion-none", "fusion-suwalki")
    # The owner tracking no sector marks only its tracker of none done; its assessment
    # waits for every sector's tracker, the sector nodes'.
    only_tracking = owner_only[0]
    assert isinstance(only_tracking, SectorTracking)
    assert only_tracking.producers == ("fusion-none",)
    base = detection(1, "suwalki")
    by_sector = {
        sector: msgspec.structs.replace(base, sector=sector)
        for sector in ("suwalki", "lazdijai", "", UNKNOWN_SECTOR)
    }
    takes = {
        name: {sector for sector, d in by_sector.items() if stages_[0].accepts(d)}
        for name, stages_ in (
            ("sector node", sector_node),
            ("owner", owner),
            ("alone", alone),
            ("owner only", owner_only),
            ("unclaimed", unclaimed),
        )
    }
    assert takes == {
        "sector node": {"suwalki", "lazdijai"},
        "owner": {"lazdijai", "", UNKNOWN_SECTOR},
        "alone": set(by_sector),
        "owner only": {"", UNKNOWN_SECTOR},
        "unclaimed": {"suwalki", "", UNKNOWN_SECTOR},
    }
    # Its consumers read every detection (a sector the scenario does not name has no
    # pattern of its own), a plain sector node's only its sectors'.
    assert sector_filters("PL", ["suwalki"], unclaimed=True) == [
        "hz.PL.det.>",
        "hz.PL.trk.suwalki",
        "hz.PL.trk.none",
        "hz.PL.clock",
    ]
    assert sector_filters("PL", ["suwalki"])[0] == "hz.PL.det.suwalki.>"
    # A node tracks each of its sectors on its own, in that sector's frame and named after
    # it, as a node per sector would; the owner's detections of no sector have their own.
    for sector, sectors, is_owner, subject in (
        ("suwalki", ("suwalki", "lazdijai"), False, "hz.PL.trk.suwalki"),
        ("lazdijai", ("suwalki", "lazdijai"), False, "hz.PL.trk.lazdijai"),
        ("", ("lazdijai",), True, "hz.PL.trk.none"),
    ):
        tracking = node_stages(stages, scenario, sectors, is_owner)[0]
        tracks = []
        for second in range(8):
            at = EPOCH + timedelta(seconds=second)
            plot = msgspec.structs.replace(
                base, detection_id=f"plot-{sector}-{second}", time=at, sector=sector
            )
            tracks.extend(tracking.step(at + timedelta(milliseconds=500), [plot]))
        made = [t for t in tracks if isinstance(t, Track)]
        assert made and {t.sector for t in made} == {sector}, sector
        assert {subject_for(t, "PL") for t in made} == {subject}
        assert all(t.track_id.startswith(f"{sector or 'trk'}-") for t in made)


# ---- the owner's outputs do not depend on how the sectors are shared -----------------------

OWNER_FAMILIES = ("hz.PL.assessment", "hz.PL.alert", "hz.PL.c2.>", "hz.PL.audit", "hz.PL.audit.>")
"""What must exist once per nation: the assessment, c2 and its audit chain."""


def _run_nodes(
    directory: Path, feed: list[AnyMessage], nodes: dict[str, tuple[str, ...]], pause_s: float
) -> tuple[dict[str, str], Path]:
    """``nodes`` (name: extra ``hotzone node`` arguments) on a server of their own, fed
    ``feed``; a sector node is stopped (SIGSTOP) for ``pause_s`` as the feed starts, so
    its tracks reach the owner late. The owner's store is ``owner.sqlite``."""
    scenario = load_scenario("suwalki-drones")
    stages = build_stages(scenario, nation="PL").stages
    consumers = 0
    for args in nodes.values():
        sectors = tuple(args[1].split(",")) if args[:1] == ("--sectors",) else ()
        owner = "--sectors" not in args or "--owner" in args
        chosen = node_stages(
            stages,
            scenario,
            sectors,
            owner,
            owner_only="--owner-only" in args,
            no_tracking="--no-tracking" in args,
            unclaimed="--unclaimed" in args,
        )
        consumers += len(chosen) + 1
    with running_standalone(directory) as server:
        url = server.plan.url
        processes = {
            name: node_command(url, directory / f"{name}.sqlite", *args)
            for name, args in nodes.items()
        }
        try:
            _wait_until_subscribed(url, consumers, processes)
            paused = [p for name, p in processes.items() if name != "owner"]
            for process in paused:
                os.kill(process.pid, signal.SIGSTOP)
            resume = threading.Timer(
                pause_s, lambda: [os.kill(p.pid, signal.SIGCONT) for p in paused]
            )
            resume.start()
            asyncio.run(_publish_feed(url, feed))
            resume.join()
            outputs = {name: p.communicate(timeout=120)[0] for name, p in processes.items()}
        finally:
            for process in processes.values():
                if process.poll() is None:
                    os.kill(process.pid, signal.SIGCONT)
                    process.kill()
                    process.communicate()
    for name, process in processes.items():
        assert process.returncode == 0, f"{name}: {outputs[name]}"
    return outputs, directory / "owner.sqlite"


CHAIN_IDENTITY = ("chain_id", "record_hash", "previous_hash", "signature")
"""What differs between two audit chains of the same records: the chain's id, drawn at
random when c2 opens it (so two chains are never taken for one), and the hashes and
signatures that cover it. Nothing else is left out (no other field is wall-clock)."""


def _without_chain_identity(subject: str, payload: bytes) -> object:
    if not subject.startswith("hz.PL.audit"):
        return json.loads(payload)
    record = {k: v for k, v in json.loads(payload).items() if k not in CHAIN_IDENTITY}
    if isinstance(record.get("payload"), str) and record["payload"].startswith("{"):
        inner = json.loads(record["payload"])
        record["payload"] = {k: v for k, v in inner.items() if k not in CHAIN_IDENTITY}
    return record


def _publisher(message: AnyMessage) -> str:
    """The owner's stage that published ``message``: assessment and c2 both publish alerts
    (c2 its cues, aborts and effector alerts), and only each one's own order is fixed."""
    if not isinstance(message, Alert):
        return ""
    kind = message.kind
    return "c2" if kind in ("cue", "abort") or kind.startswith("effector_") else "assess"


def _owner_outputs(store_path: Path) -> list[tuple[str, str, object]]:
    """The owner's outputs, each publisher's in the order it published them, the audit
    chain's identity left out."""
    with SQLiteStore(store_path) as store:
        outputs = [
            (
                stored.subject,
                _publisher(stored.message),
                _without_chain_identity(stored.subject, to_json(stored.message)),
            )
            for family in OWNER_FAMILIES
            for stored in store.replay(pattern=family)
        ]
    outputs.sort(key=lambda output: output[:2])  # stable: each publisher's order kept
    return outputs


def _tracks(store_path: Path) -> list[bytes]:
    with SQLiteStore(store_path) as store:
        return sorted(to_json(stored.message) for stored in store.replay(pattern="hz.PL.trk.>"))


def test_the_owners_outputs_are_the_same_with_sector_nodes_as_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same feed to the owner alone (``--track-by-sector``: every sector, each with
    its own tracker), to the owner and a sector node sharing the sectors, and to an owner
    tracking no sector (``--owner-only``) beside a sector node tracking every one, and to
    an owner tracking nothing (``--no-tracking``) beside a sector node tracking every
    sector and the detections of none (``--unclaimed``), the sector node held back as the
    feed starts each time: the owner's assessments, alerts, c2 messages and audit chain
    are the same, message for message, and so are the nation's tracks."""
    feed = _feed()
    every_sector = ",".join((*OWNER_SECTORS, *NODE_SECTORS))
    layouts: dict[str, dict[str, tuple[str, ...]]] = {
        "alone": {"owner": ("--track-by-sector",)},
        "shared": {
            "owner": ("--sectors", ",".join(OWNER_SECTORS), "--owner"),
            "sector": ("--sectors", ",".join(NODE_SECTORS)),
        },
        "owner only": {"owner": ("--owner-only",), "sector": ("--sectors", every_sector)},
        "untracked": {
            "owner": ("--no-tracking",),
            "sector": ("--sectors", every_sector, "--unclaimed"),
        },
    }
    summaries: dict[str, dict[str, str]] = {}
    stores: dict[str, Path] = {}
    for layout, nodes in layouts.items():
        directory = tmp_path / layout.replace(" ", "-")
        directory.mkdir()
        pause_s = 0.0 if layout == "alone" else 3.0
        summaries[layout], stores[layout] = _run_nodes(directory, feed, nodes, pause_s)
    alone_outputs = _owner_outputs(stores["alone"])
    kinds = Counter(subject for subject, _, _ in alone_outputs)
    assert kinds["hz.PL.assessment"] > 0 and kinds["hz.PL.audit"] > 0, kinds
    alone_tracks = _tracks(stores["alone"])
    assert alone_tracks
    for layout, store in stores.items():
        assert _owner_outputs(store) == alone_outputs, layout
        assert _tracks(store) == alone_tracks, layout
        capsys.readouterr()
        assert main(["audit", "verify", str(store)]) == 0, capsys.readouterr()
        # The sector node was late, never absent: no tick went on without its marker.
        assert "without a tracker's marker" not in summaries[layout]["owner"], layout
    # The owner tracking no sector tracked the detections of none, the sector node the rest.
    tracked_inputs = [m for m in feed if isinstance(m, Detection | Report)]
    sectorless = [m for m in tracked_inputs if m.sector in ("", UNKNOWN_SECTOR)]
    assert _tracked(summaries["owner only"]["owner"]) == len(sectorless)
    assert _tracked(summaries["owner only"]["sector"]) == len(tracked_inputs) - len(sectorless)
    # The owner tracking nothing tracked nothing; the sector node with --unclaimed all.
    assert _tracked(summaries["untracked"]["owner"]) == 0
    assert "tracks nothing" in summaries["untracked"]["owner"]
    assert _tracked(summaries["untracked"]["sector"]) == len(tracked_inputs)
    assert "and detections of no sector" in summaries["untracked"]["sector"]
    # The sector node held the key of the detections of none: the owner had nothing to warn of.
    assert "--unclaimed" not in summaries["untracked"]["owner"]


def test_an_owner_tracking_no_sector_without_sector_nodes_goes_on_and_says_so(
    tmp_path: Path,
) -> None:
    """``--owner-only`` with no sector node running: its assessment waits for every
    sector's tracker, finds each absent, steps every tick without them (counted, each on
    the summary line) and ends; what it assessed is its own tracks of no sector."""
    feed = _feed()
    outputs, store_path = _run_nodes(tmp_path, feed, {"owner": ("--owner-only",)}, 0.0)
    summary = outputs["owner"].strip().splitlines()[-1]
    assert "tracks no sector, only detections of none" in summary, summary
    counts = re.search(r"ticks stepped without a tracker's marker (\{.*\})", summary)
    assert counts is not None, summary
    timeouts = ast.literal_eval(counts.group(1))
    assert set(timeouts) == {"fusion-lazdijai", "fusion-suwalki"}, summary
    assert all(count > 0 for count in timeouts.values()), summary
    with SQLiteStore(store_path) as store:
        assessed = {
            m.message.track_id
            for m in store.replay(types=["assessment"])
            if isinstance(m.message, Assessment)
        }
    assert assessed and all(track.startswith("trk-") for track in assessed), assessed


def test_an_owner_only_node_refuses_sectors_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for extra in (("--sectors", "suwalki"), ("--track-by-sector",)):
        args = ["node", "--nation", "PL", "--owner-only", "--no-replay", *extra]
        assert main(args) == 2
        error = capsys.readouterr().err.strip()
        assert "--owner-only tracks no sector" in error and len(error.splitlines()) == 1


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (("--no-tracking", "--sectors", "suwalki"), "--no-tracking is an owner tracking nothing"),
        (("--no-tracking", "--owner-only"), "--no-tracking is an owner tracking nothing"),
        (("--no-tracking", "--track-by-sector"), "--no-tracking is an owner tracking nothing"),
        (("--unclaimed",), "--unclaimed is a sector node's"),
        (("--unclaimed", "--sectors", "suwalki", "--owner"), "--unclaimed is a sector node's"),
    ],
)
def test_an_owner_tracking_nothing_and_a_sector_node_of_none_refuse_other_roles_in_one_line(
    capsys: pytest.CaptureFixture[str], arguments: tuple[str, ...], refusal: str
) -> None:
    assert main(["node", "--nation", "PL", "--no-replay", *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert refusal in error and len(error.splitlines()) == 1, error


def test_an_owner_whose_sector_node_never_runs_goes_on_without_it_and_says_so(
    tmp_path: Path,
) -> None:
    """The owner of lazdijai with no node for suwalki: its assessment and c2 wait for
    suwalki's tracker, find it absent after 10 s of nothing to read, step every tick
    without it (counted, on the summary line) and end; what they did assess is the
    owner's own sector's and the detections of no sector."""
    feed = _feed()
    outputs, store_path = _run_nodes(
        tmp_path, feed, {"owner": ("--sectors", ",".join(OWNER_SECTORS), "--owner")}, 0.0
    )
    summary = outputs["owner"].strip().splitlines()[-1]
    match = re.search(
        r"ticks stepped without a tracker's marker \{'fusion-suwalki': (\d+)\}", summary
    )
    assert match is not None, summary
    ticks = sum(1 for m in feed if isinstance(m, Detection | Report))  # an upper bound
    assert 0 < int(match.group(1)) <= ticks
    with SQLiteStore(store_path) as store:
        assessed = {
            m.message.track_id
            for m in store.replay(types=["assessment"])
            if isinstance(m.message, Assessment)
        }
    assert assessed and all(not track.startswith("suwalki-") for track in assessed)


def test_each_waiting_stage_reads_only_the_markers_it_waits_for() -> None:
    """The owner's assessment reads every tracker's marker and its own (for a restart);
    c2, which waits for the assessment alone, only the assessment's: it is not handed
    each sector's marker of every tick."""
    scenario = load_scenario("suwalki-drones")
    stages = node_stages(
        build_stages(scenario, nation="PL").stages, scenario, (), owner=True, no_tracking=True
    )
    services = [StageService(stage, InProcessBus(), "PL") for stage in stages]
    watch_producers(services, scenario)
    reads = {service.stage.name: service.read_subjects() for service in services}
    trackers = [f"hz.PL.done.fusion-{s}" for s in ("lazdijai", "none", "suwalki")]
    assert [s for s in reads["assess"] if ".done." in s] == ["hz.PL.done.assess", *trackers]
    assert [s for s in reads["c2"] if ".done." in s] == ["hz.PL.done.assess"]
