"""Federation benchmark on real nats-servers (not run by `make test`).

1. Latency: a detection published in PL -> the track it makes, shared, visible in LT
   (hub + PL + LT leaf servers; a one-track-per-detection stage), p50 and p99, on open
   servers and with accounts, credentials and TLS (interleaved rounds), and their ratio.
2. Sharing throughput (``--sharing-only``): PL and LT (each its own process, as nodes)
   publish track updates to each other at rising rates; per direction p50/p99 from
   publication to admission at the ally, the rate at which p99 crosses 250 ms, and the
   processor time per update of every process. Three runs: the reference (exporter
   batches without linger), the path as nodes run it on open servers, and the same with
   accounts, credentials and TLS; the ratios of the crossing rates and of p50/p99.
   ``--compare-loops RUNS`` measures one of them (``--sharing-variant``) on uvloop and on
   asyncio's own loop instead, alternating, and prints the ratio of processor time.
3. Scale-out inside one nation: synthetic detections of 8 sectors are published once into
   HZ_PL (as sources publish them: a bus batch per sector radar's scan) behind the nodes'
   durable consumers, then 1, 2 and 4 node processes (separate OS processes, each with
   the consumer of its share of the sectors and the real tracking stage) drain them;
   detections per second until the last node reaches the shutdown tick, median of
   interleaved rounds. On 2 cores expect about 1.6-1.9x with two processes and no more
   with four. ``--full-stages``: the nodes ``hotzone node``
   builds instead (the first the owner with assessment, c2 and audit, per-sector
   trackers and watermarks), and whether the owner's outputs were those of one process.
   ``--owner-tracks none`` (or ``both``): the owner tracks no sector (``hotzone node
   --owner-only``) and the other processes share every sector, so the owner's process
   is left to the assessment; ``nothing``: the owner tracks nothing at all (``hotzone
   node --no-tracking``) and the first sector node also the detections of no sector
   (``--unclaimed``), so the owner's consumers read no detection; a comma list (``none,
   nothing``) measures several layouts in the same interleaved rounds. 1 process is the
   owner alone either way.
   docs/federation.md has figures and their reading.

3. The whole alliance (``--alliance-only``): the cost of one shared item at 3, 8 and 32
   nations (hub + one server per nation, accounts, credentials and TLS as ``federation
   config`` writes them, all on this machine), for ``NATO`` and ``REL`` items, addressed
   once per ally (as before) and once per hop (``NATO`` on ``hz.share.NATO.{origin}``):
   servers' processor time, messages and bytes stored at each hop, and latency from PL's
   publish to each ally's log.

    .venv/bin/python bench/federation.py [--rounds 3] [--scans 120] [--skip-latency]
    .venv/bin/python bench/federation.py --skip-latency --skip-sharing --full-stages
    ... --full-stages --owner-tracks both   # the owner tracking a share, and tracking none
    ... --full-stages --owner-tracks none,nothing   # the owner tracking none, and nothing
    .venv/bin/python bench/federation.py --latency-only [--latency-samples 300]
    .venv/bin/python bench/federation.py --sharing-only [--sharing-rates 500,1000,...]
    .venv/bin/python bench/federation.py --compare-loops 4 --sharing-rates 5000,7000
    HOTZONE_BENCH_DEBUG=1 ...   # each sharing process prints its counters, loop and collections
    .venv/bin/python bench/federation.py --alliance-only [--alliance-items 40 --alliance-rounds 2]
    HOTZONE_BENCH_PIPELINE=0 ...   # nodes confirm every publish (the old way) to compare
    HOTZONE_BENCH_BATCHES=0 ...   # scale-out detections one message each, not a batch per run
    HOTZONE_BENCH_PROFILE=/tmp/prof ...   # cProfile (processor time) of each sharing or
                                          # --full-stages node process: /tmp/prof-node{i}-{sectors}
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import math
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import msgspec
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.federation.helpers import (
    EPOCH,
    EchoTracker,
    alert,
    connect_federation,
    detection,
    log_messages,
)
from tests.federation.servers import (
    BusSecurity,
    RunningFederation,
    running_federation,
    running_standalone,
    wait_for_leaves,
)

from hotzone.bus import NatsBus, NatsSubscription, nation_streams
from hotzone.commands.common import comma_list
from hotzone.runtime import event_loop
from hotzone.runtime.federation import (
    EXPORT_LINGER_S,
    ShareExporter,
    ShareImporter,
    federation_streams,
    hub_streams,
)
from hotzone.runtime.node import (
    node_stages,
    producer_timeouts,
    sector_filters,
    share_decoded,
    watch_producers,
)
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import SHUTDOWN, StageService, encode_tick
from hotzone.runtime.stages import build_stages, tracking_stage
from hotzone.share.releasability import recipients
from hotzone.sim.scenario import Scenario, Sector, load_scenario
from hotzone.types import (
    Alert,
    Detection,
    GeoPoint,
    MeasurementKind,
    Track,
    TrackStatus,
    from_json,
    to_json,
)

SECTORS = [f"s{index}" for index in range(1, 9)]
SCENARIO = "suwalki-drones"
"""The scenario whose frame, sector name and label the tracking stage takes."""
NODE_MAX_PENDING = 8192
PIPELINE_PUBLISHES = os.environ.get("HOTZONE_BENCH_PIPELINE", "1") == "1"
PUBLISH_BATCHES = os.environ.get("HOTZONE_BENCH_BATCHES", "1") == "1"
"""The scale-out backlog's detections go as sources publish them, a bus batch per run of
one subject (``HOTZONE_BENCH_BATCHES=0``: one message per detection, as before)."""


async def _latency(directory: Path, count: int, secure: bool = False) -> list[float]:
    """``secure``: the servers with accounts, credentials and TLS (`federation config`)."""
    with running_federation(["PL", "LT"], directory, secure=secure) as federation:
        hub, buses = await connect_federation(federation, ["PL", "LT"])
        poland, lithuania = buses["PL"], buses["LT"]
        stop = asyncio.Event()
        tasks = []
        for service in (
            StageService(EchoTracker(), poland, "PL"),
            ShareExporter(poland, "PL", ["PL", "LT"]),
            ShareImporter(lithuania, "LT"),
        ):
            ready = asyncio.Event()
            run = (
                service.run(ready)
                if isinstance(service, StageService)
                else service.run(ready, stop)
            )
            tasks.append(asyncio.create_task(run))
            await ready.wait()
        watcher = await lithuania.subscribe("hz.LT.ally.PL.trk.>")
        sent_at: dict[str, float] = {}
        latencies: list[float] = []
        for index in range(count + 20):  # the first 20 warm the sources up
            message = detection(index, "suwalki", "REL PL LT")
            sent_at[f"trk-{message.detection_id}"] = time.perf_counter()
            await poland.publish(subject_for(message, "PL"), to_json(message))
            await poland.publish("hz.PL.clock", encode_tick(float(index)), {"kind": "tick"})
            arrived = await watcher.next(timeout_s=60)
            assert arrived is not None, "a shared track never arrived"
            track = from_json(arrived.payload)
            if index >= 20:
                latencies.append(time.perf_counter() - sent_at[track.track_id])  # type: ignore[attr-defined]
        stop.set()
        await poland.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
        await asyncio.gather(*tasks)
        for bus in (hub, poland, lithuania):
            await bus.close()
        return latencies


@dataclass(frozen=True)
class DrainResult:
    """What one node process reports once it has drained its share of the backlog."""

    sectors: tuple[str, ...]
    detections: int
    tracks_published: int
    finished_at: float
    step_seconds: float
    cpu_seconds: float
    #: Processor seconds in each stage's steps, by stage (with --full-stages).
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: Ticks the owner's stages went on without a tracker's marker (absent), by tracker.
    producer_timeouts: dict[str, int] = field(default_factory=dict)
    #: Messages its consumers handed out (a batch's items each), and stored messages they
    #: passed over undecoded (`NatsSubscription.pass_over`), with --full-stages.
    handed_out: int = 0
    passed_over: int = 0


def synthetic_backlog(
    sectors: Sequence[str], targets_per_sector: int, scans: int, seed: int = 1
) -> list[tuple[float, list[Detection]]]:
    """Scans of position detections of straight-flying targets, one radar per sector.

    Each sector is a column 20 km wide of targets 5 km apart (so the tracker's gates never
    mix sectors and every target becomes one confirmed track); one scan per second.
    """
    frame = load_scenario(SCENARIO).frame
    rng = np.random.default_rng(seed)
    count = len(sectors) * targets_per_sector
    column = np.arange(count) // targets_per_sector
    row = np.arange(count) % targets_per_sector
    start = np.column_stack(
        [column * 20_000.0 - 70_000.0, row * 5_000.0 - 40_000.0, np.full(count, 1_000.0)]
    )
    velocity = np.column_stack(
        [rng.uniform(-30.0, 30.0, count), rng.uniform(20.0, 60.0, count), np.zeros(count)]
    )
    sigma_m = 50.0
    covariance = ((sigma_m**2, 0.0, 0.0), (0.0, sigma_m**2, 0.0), (0.0, 0.0, sigma_m**2))
    radar = GeoPoint(lat_deg=54.0, lon_deg=23.0)
    backlog = []
    for scan in range(scans):
        time = EPOCH + timedelta(seconds=scan)
        position = start + velocity * scan + rng.normal(0.0, sigma_m, (count, 3))
        latitude, longitude, height = frame.enu_to_geodetic(position)
        window = [
            Detection(
                detection_id=f"{sectors[column[index]]}-{scan}-{index}",
                time=time,
                sensor_id=f"radar-{sectors[column[index]]}",
                kind=MeasurementKind.POSITION,
                values=(float(latitude[index]), float(longitude[index]), float(height[index])),
                covariance=covariance,
                sensor_position=radar,
                sector=sectors[column[index]],
            )
            for index in range(count)
        ]
        backlog.append((time.timestamp(), window))
    return backlog


async def _create_consumers(url: str, shares: list[list[str]]) -> None:
    """Each node's durable consumer, created before the backlog so that it reads all of it
    (as a restarted node resumes from where its consumer stopped)."""
    for index, share in enumerate(shares):
        bus = await NatsBus.connect(
            url,
            nation_streams("PL", archives=False),
            durable_prefix=f"node{index}",
            read_filters=sector_filters("PL", share),
        )
        await bus.subscribe("hz.PL.>", NODE_MAX_PENDING)
        await bus.close()


def scan_runs(window: Sequence[Detection]) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """A scan's detections as a source publishes them (`SourcePublisher.publish_result`):
    each run of consecutive detections on one subject one bus batch (here a sector's
    radar: ``--targets-per-sector`` detections), in order."""
    runs: list[tuple[str, list[tuple[str, bytes]]]] = []
    for message in window:
        subject = subject_for(message, "PL")
        if not runs or runs[-1][0] != subject:
            runs.append((subject, []))
        runs[-1][1].append(("", to_json(message)))
    return runs


async def _publish_backlog(url: str, backlog: list[tuple[float, list[Detection]]]) -> int:
    """Publish every scan (a bus batch per run of one subject, as sources do; one message
    per detection with ``HOTZONE_BENCH_BATCHES=0``), then its clock tick, then a shutdown
    tick; returns detections."""
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False))
    published = 0
    for posix_time, window in backlog:
        if PUBLISH_BATCHES:
            await asyncio.gather(
                *(bus.publish_batch(subject, run) for subject, run in scan_runs(window))
            )
        else:
            await asyncio.gather(
                *(bus.publish(subject_for(message, "PL"), to_json(message)) for message in window)
            )
        published += len(window)
        await bus.publish("hz.PL.clock", encode_tick(posix_time), {"kind": "tick"})
    await bus.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    await bus.close()
    return published


def _node_process(
    url: str,
    index: int,
    sectors: list[str],
    ready: multiprocessing.Queue,  # type: ignore[type-arg]
    go: EventType,
    results: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """One node: its sectors' consumer, the real tracking stage, until the shutdown tick."""

    async def work() -> DrainResult:
        bus = await NatsBus.connect(
            url,
            nation_streams("PL", archives=False),
            durable_prefix=f"node{index}",
            read_filters=sector_filters("PL", sectors),
            pipeline_publishes=PIPELINE_PUBLISHES,
        )
        service = StageService(tracking_stage(load_scenario(SCENARIO)), bus, "PL", NODE_MAX_PENDING)
        ready.put(index)
        await asyncio.to_thread(go.wait)
        cpu_started = time.process_time()
        await service.run()
        finished_at = time.monotonic()
        await bus.close()
        return DrainResult(
            sectors=tuple(sectors),
            detections=service.counters.received["Detection"],
            tracks_published=service.counters.published["Track"],
            finished_at=finished_at,
            step_seconds=service.counters.step_seconds,
            cpu_seconds=time.process_time() - cpu_started,
        )

    results.put(event_loop.run(work()))


def bench_scenario() -> Scenario:
    """The bench's scenario: suwalki-drones (its assets, borders, c2 configuration) with
    the bench's 8 sectors, each framed at its first sector's origin."""
    scenario = load_scenario(SCENARIO)
    origin = scenario.sectors[0].origin
    sectors = [Sector(name=name, origin=origin) for name in SECTORS]
    return msgspec.structs.replace(scenario, sectors=sectors)


def _full_node_process(
    url: str,
    index: int,
    sectors: list[str],
    ready: multiprocessing.Queue,  # type: ignore[type-arg]
    go: EventType,
    results: multiprocessing.Queue,  # type: ignore[type-arg]
    owner_tracks: str = "share",
) -> None:
    """One node as `hotzone node` builds it: the first process is the nation's owner
    (its sectors' trackers and that of no sector, assessment, c2 and its audit; with no
    sectors, ``--owner-only``, or with ``owner_tracks`` "nothing" ``--no-tracking``), the
    others sector nodes (the first of them ``--unclaimed`` when the owner tracks nothing);
    per-sector trackers and per-producer watermarks. Without a recorder (the drain is the
    stages'). Its consumers start at the log's first message."""

    async def work() -> DrainResult:
        scenario = bench_scenario()
        owner = index == 0
        alone = owner and len(sectors) == len(SECTORS)
        untracked = owner_tracks == "nothing" and not alone
        unclaimed = untracked and index == 1
        stages = node_stages(
            build_stages(scenario, nation="PL").stages,
            scenario,
            () if alone else sectors,
            owner,
            by_sector=True,
            owner_only=owner and not sectors and not untracked,
            no_tracking=owner and untracked,
            unclaimed=unclaimed,
        )
        bus = await NatsBus.connect(
            url,
            nation_streams("PL", archives=False),
            durable_prefix=f"node{index}",
            read_filters=None if owner else sector_filters("PL", sectors, unclaimed),
            pipeline_publishes=PIPELINE_PUBLISHES,
        )
        bus.durable_starts["HZ_PL"] = 1
        services = [StageService(stage, bus, "PL", NODE_MAX_PENDING) for stage in stages]
        watch_producers(services, scenario)
        share_decoded(services)
        ready.put(index)
        await asyncio.to_thread(go.wait)
        cpu_started = time.process_time()
        await asyncio.gather(*(service.run() for service in services))
        finished_at = time.monotonic()
        await bus.close()
        tracking = [s for s in services if s.stage.name == "fusion"]
        counters = [
            service.subscription.counters
            for service in services
            if isinstance(service.subscription, NatsSubscription)
        ]
        return DrainResult(
            sectors=tuple(sectors),
            detections=sum(s.counters.received["Detection"] for s in tracking),
            tracks_published=sum(s.counters.published["Track"] for s in tracking),
            finished_at=finished_at,
            step_seconds=sum(service.counters.step_seconds for service in services),
            cpu_seconds=time.process_time() - cpu_started,
            stage_seconds={s.stage.name: s.counters.step_seconds for s in services},
            producer_timeouts=producer_timeouts(services),
            handed_out=sum(counter.delivered for counter in counters),
            passed_over=sum(getattr(counter, "passed_over", 0) for counter in counters),
        )

    if profile := os.environ.get("HOTZONE_BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # processor time, not waits
        outcome = profiler.runcall(event_loop.run, work())
        profiler.dump_stats(f"{profile}-node{index}-{len(sectors)}")
        results.put(outcome)
        return
    results.put(event_loop.run(work()))


OWNER_FAMILIES = ("hz.PL.assessment", "hz.PL.alert", "hz.PL.c2.>", "hz.PL.audit", "hz.PL.audit.>")
CHAIN_IDENTITY = ("chain_id", "record_hash", "previous_hash", "signature")
"""Drawn at random when c2 opens its audit chain (the chain's id) and what covers it."""


def alert_publisher(record: dict[str, object]) -> str:
    """Which of the owner's stages published an alert: both publish on ``hz.{N}.alert``
    (c2 its cues, aborts and effector alerts), so only each one's own order is fixed."""
    kind = str(record.get("kind", ""))
    return "c2" if kind in ("cue", "abort") or kind.startswith("effector_") else "assess"


async def _owner_outputs(url: str) -> list[str]:
    """The owner's outputs in HZ_PL (assessment, alerts, c2, audit; each publisher's in
    the order it published them, the audit chain's identity left out), one line each."""
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), ensure_streams=False)
    outputs = []
    for family in OWNER_FAMILIES:
        for message in await log_messages(bus.jetstream, "HZ_PL", family):
            record = json.loads(message.payload)
            if message.subject.startswith("hz.PL.audit"):
                record = {k: v for k, v in record.items() if k not in CHAIN_IDENTITY}
                inner = record.get("payload")
                if isinstance(inner, str) and inner.startswith("{"):
                    fields = json.loads(inner).items()
                    record["payload"] = {k: v for k, v in fields if k not in CHAIN_IDENTITY}
            publisher = alert_publisher(record) if message.subject == "hz.PL.alert" else ""
            outputs.append(f"{message.subject} {publisher} {json.dumps(record, sort_keys=True)}")
    await bus.close()
    # Stable: each (subject, publisher) keeps its order, the families' order is fixed.
    outputs.sort(key=lambda line: line.split(" ", 2)[:2])
    return outputs


async def _stored_messages(url: str) -> int:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False), ensure_streams=False)
    stored = (await bus.jetstream.stream_info("HZ_PL")).state.messages
    await bus.close()
    return stored


def _first_difference(reference: list[str], outputs: list[str]) -> str:
    """Where two runs' owner outputs part (for the bench's log), or ""."""
    for index, (expected, found) in enumerate(zip(reference, outputs, strict=False)):
        if expected != found:
            return f"output {index}: {expected[:300]} | {found[:300]}"
    if len(reference) != len(outputs):
        return f"{len(reference)} outputs with one process, {len(outputs)} here"
    return ""


def _cpu_seconds(pid: int) -> float:
    """User + system processor time of a process (Linux /proc), to see where time goes."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Drain:
    """One drain of the backlog by some node processes."""

    seconds: float
    server_cpu: float
    reports: list[DrainResult]
    #: With the owner's stages: its outputs (`_owner_outputs`).
    owner_outputs: list[str] | None = None
    #: Messages the nation's log holds once drained (the backlog's and the nodes').
    stored: int = 0


def node_shares(processes: int, owner_tracks: str = "share") -> list[list[str]]:
    """Each process's sectors, the owner's first: every process a share, or (``owner_tracks``
    "none" or "nothing", more than one process) none for the owner and the others' shares."""
    if owner_tracks == "share" or processes == 1:
        return [SECTORS[index::processes] for index in range(processes)]
    sector_nodes = processes - 1
    return [[], *(SECTORS[index::sector_nodes] for index in range(sector_nodes))]


def _drain(
    directory: Path,
    processes: int,
    backlog: list[tuple[float, list[Detection]]],
    full_stages: bool = False,
    owner_tracks: str = "share",
) -> Drain:
    """Seconds for ``processes`` nodes to drain the pre-loaded backlog, the server's
    processor seconds meanwhile, and the nodes' reports; ``full_stages``: the first node
    is the owner with every stage (`_full_node_process`), and the owner's outputs;
    ``owner_tracks`` "none": that owner tracks no sector, the other nodes every one;
    "nothing": nor the detections of none (the first sector node does)."""
    shares = node_shares(processes, owner_tracks)
    target = _full_node_process if full_stages else _node_process
    with running_standalone(directory) as server:
        url = server.plan.url
        if not full_stages:
            event_loop.run(_create_consumers(url, shares))
        published = event_loop.run(_publish_backlog(url, backlog))
        context = multiprocessing.get_context("spawn")
        ready = context.Queue()
        results = context.Queue()
        go = context.Event()
        nodes = [
            context.Process(
                target=target,
                args=(url, index, share, ready, go, results)
                + ((owner_tracks,) if full_stages else ()),
            )
            for index, share in enumerate(shares)
        ]
        for node in nodes:
            node.start()
        for _ in nodes:
            ready.get(timeout=120)
        assert server.process is not None
        server_cpu = _cpu_seconds(server.process.pid)
        started = time.monotonic()
        go.set()
        reports = [results.get(timeout=600) for _ in nodes]
        server_cpu = _cpu_seconds(server.process.pid) - server_cpu
        for node in nodes:
            node.join(30)
        outputs = event_loop.run(_owner_outputs(url)) if full_stages else None
        stored = event_loop.run(_stored_messages(url))
    drained = sum(report.detections for report in reports)
    assert drained == published, f"{drained} of {published} detections processed"
    seconds = max(report.finished_at for report in reports) - started
    return Drain(seconds, server_cpu, reports, outputs, stored)


SHARING_RATES = (500, 1000, 2000, 3500, 5000, 7000, 10000)
"""Track updates per second per direction, one step each."""
P99_LIMIT_S = 0.25
PRODUCER_TICK_S = 0.01
"""The producers publish what is due every 10 ms together (a tracker's scan is a burst)."""


@dataclass(frozen=True)
class SharingVariant:
    """One configuration of the sharing path, measured on its own servers."""

    name: str
    secure: bool
    linger_s: float
    track_batches: bool = True
    """The producer publishes what is due as one bus batch (`Bus.publish_batch`, as a
    node's tracking stage does), not one message per track update."""


SHARING_VARIANTS = (
    SharingVariant(
        "reference: one bus message per track update, share batches of what has arrived "
        "(no linger), open servers",
        False,
        0.0,
        track_batches=False,
    ),
    SharingVariant(
        "track updates in bus batches, share batches lingering 20 ms, open servers",
        False,
        EXPORT_LINGER_S,
    ),
    SharingVariant(
        "track updates in bus batches, share batches lingering 20 ms, accounts + TLS",
        True,
        EXPORT_LINGER_S,
    ),
)
"""The reference first (one message per track update, as before the tracker's windows
went as batches), then the path as nodes run it, on open and on secured servers."""


def _shared_track(nation: str, step: int, index: int) -> Track:
    """A track update whose ``time`` is when it was made (latency: arrival minus that)."""
    return Track(
        track_id=f"{nation}-{index % 200}",
        track_number=step * 1_000_000 + index,
        time=datetime.now(UTC),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=54.1, lon_deg=22.9 + index * 1e-6, height_m=300.0),
        sector="suwalki",
        enu_position_m=(float(index), 0.0, 300.0),
        enu_velocity_mps=(10.0, 0.0, 0.0),
        covariance=((100.0, 0.0, 0.0), (0.0, 100.0, 0.0), (0.0, 0.0, 400.0)),
        quality=1.0,
        sensors=("radar1",),
        releasability="REL PL LT",
    )


def _sharing_producer(
    url: str,
    nation: str,
    security: BusSecurity,
    rates: Sequence[int],
    step_s: float,
    gap_s: float,
    track_batches: bool,
    go: EventType,
    results: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """A nation's stages (own process): track updates at each rate in turn, what is due
    published together every `PRODUCER_TICK_S`: one bus batch (``track_batches``), or one
    message per update confirmed together."""

    async def work() -> float:
        streams = federation_streams(nation, archives=False)
        stages = await NatsBus.connect(
            url, streams, domain=nation.lower(), ensure_streams=False, **security
        )
        await asyncio.to_thread(go.wait)
        cpu_started = time.process_time()
        subject_ = f"hz.{nation}.trk.suwalki"
        for step, rate in enumerate(rates):
            begun = time.monotonic()
            count, sent = int(rate * step_s), 0
            while sent < count:
                due = min(count, int((time.monotonic() - begun) * rate) + 1)
                tracks = [_shared_track(nation, step, index) for index in range(sent, due)]
                if track_batches:
                    await stages.publish_batch(subject_, [("", to_json(t)) for t in tracks])
                    await stages.confirm_publishes()
                else:
                    await stages.publish_many([(subject_, to_json(t), None) for t in tracks])
                sent = due
                # The next tick (sleeping only until the next update was due made batches
                # of one to three updates, published as fast as the process was scheduled).
                ticks = math.floor((time.monotonic() - begun) / PRODUCER_TICK_S) + 1
                await asyncio.sleep(max(0.0, begun + ticks * PRODUCER_TICK_S - time.monotonic()))
            await asyncio.sleep(max(0.0, begun + step_s + gap_s - time.monotonic()))
        cpu = time.process_time() - cpu_started
        await stages.close()
        return cpu

    results.put((f"producer {nation}", event_loop.run(work())))


class _GarbageCollections:
    """Count and time the garbage collector's runs by generation (``HOTZONE_BENCH_DEBUG``
    prints them: a full collection of a large heap is a pause every reader waits for)."""

    def __init__(self) -> None:
        self.runs: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.runs[info["generation"]].append(time.perf_counter() - self._started)

    def summary(self) -> str:
        return "; ".join(
            f"gen {generation}: {len(runs)} runs, {sum(runs) * 1000:.1f} ms, "
            f"longest {max(runs, default=0.0) * 1000:.1f} ms"
            for generation, runs in self.runs.items()
        )

    def stop(self) -> None:
        gc.callbacks.remove(self._observe)


def _sharing_nation(
    url: str,
    nation: str,
    security: BusSecurity,
    rates: Sequence[int],
    step_s: float,
    gap_s: float,
    linger_s: float,
    ready_queue: multiprocessing.Queue,  # type: ignore[type-arg]
    results: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """A nation's sharing as its node runs it (own OS process): the exporter, the
    importer, and a watcher of what the ally shares (as the node's recorder reads it)."""

    async def work() -> tuple[dict[int, list[float]], float]:
        streams = federation_streams(nation, archives=False)
        node = await NatsBus.connect(
            url, streams, domain=nation.lower(), name=f"node-{nation}", **security
        )
        stop = asyncio.Event()
        tasks = []
        sharing = (
            ShareExporter(node, nation, ["PL", "LT"], linger_s=linger_s),
            ShareImporter(node, nation),
        )
        for service in sharing:
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(service.run(ready, stop)))
            await ready.wait()
        watcher = await node.subscribe(f"hz.{nation}.ally.>", 16384)
        collections = _GarbageCollections()
        latencies: dict[int, list[float]] = {step: [] for step in range(len(rates))}
        expected = sum(int(rate * step_s) for rate in rates)
        # Both nations' importers must be there before anything is shared (they read
        # what arrives from the moment they start).
        ready_queue.put(nation)
        cpu_started = time.process_time()
        received = 0
        while received < expected:
            # What has arrived, in one call, as the node's `AllyRecorder` takes it.
            arrived = await watcher.next_batch(512, timeout_s=gap_s + step_s + 60)
            if not arrived:
                break  # the rest never came: the steps that lost them say so
            now = datetime.now(UTC)
            for message in arrived:
                track = from_json(message.payload)
                assert isinstance(track, Track)
                delay = (now - track.time).total_seconds()
                latencies[track.track_number // 1_000_000].append(delay)
            received += len(arrived)
        cpu = time.process_time() - cpu_started
        if os.environ.get("HOTZONE_BENCH_DEBUG"):
            print(nation, [service.counters for service in sharing], flush=True)
            print(nation, "client", node.client.stats, flush=True)
            print(nation, "event loop", event_loop.running_loop_kind(), flush=True)
            print(nation, "garbage collections", collections.summary(), flush=True)
        collections.stop()
        stop.set()
        await asyncio.gather(*tasks)
        await node.close()
        return latencies, cpu

    if profile := os.environ.get("HOTZONE_BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # processor time, not waits
        outcome = profiler.runcall(event_loop.run, work())
        profiler.dump_stats(f"{profile}-{nation}")
        results.put((nation, outcome))
        return
    results.put((nation, event_loop.run(work())))


@dataclass
class SharingRun:
    """What one variant measured: latencies (s) by rate step of what each nation received
    from the other, and processor seconds by process while the rates ran."""

    received: dict[str, dict[int, list[float]]]
    cpu_s: dict[str, float]


def _sharing_throughput(
    directory: Path, rates: Sequence[int], step_s: float, gap_s: float, variant: SharingVariant
) -> SharingRun:
    with running_federation(["PL", "LT"], directory, secure=variant.secure) as federation:

        async def setup() -> None:
            hub, buses = await connect_federation(federation, ["PL", "LT"])
            for bus in (hub, *buses.values()):
                await bus.close()

        event_loop.run(setup())
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        ready = context.Queue()
        go = context.Event()
        processes = [
            context.Process(
                target=_sharing_nation,
                args=(
                    federation.url(n),
                    n,
                    federation.connect_options(n),
                    rates,
                    step_s,
                    gap_s,
                    variant.linger_s,
                    ready,
                    results,
                ),
            )
            for n in ("PL", "LT")
        ]
        processes += [
            context.Process(
                target=_sharing_producer,
                args=(
                    federation.url(n),
                    n,
                    federation.connect_options(n),
                    rates,
                    step_s,
                    gap_s,
                    variant.track_batches,
                    go,
                    results,
                ),
            )
            for n in ("PL", "LT")
        ]
        for process in processes:
            process.start()
        for _ in range(2):
            ready.get(timeout=120)
        servers_cpu = {
            name: _cpu_seconds(p.process.pid)
            for name, p in federation.processes.items()
            if p.process
        }
        go.set()
        timeout = 60 + len(rates) * (step_s + gap_s) * 3
        reported = dict(results.get(timeout=timeout) for _ in range(4))
        cpu = {
            f"server {name}": _cpu_seconds(p.process.pid) - servers_cpu[name]
            for name, p in federation.processes.items()
            if p.process
        }
        for process in processes:
            process.join(30)
    received = {}
    for name, outcome in reported.items():
        if name.startswith("producer"):
            cpu[name] = outcome
        else:
            received[name], cpu[f"sharing {name}"] = outcome
    return SharingRun(received, cpu)


SharingLimits = dict[str, tuple[int, dict[int, tuple[float, float]]]]
"""Per direction: the highest rate held, and p50/p99 ms by rate (`_sharing_limits`)."""


def _sharing_limits(run: SharingRun, rates: Sequence[int], step_s: float) -> SharingLimits:
    """Per direction (``PL->LT``): the highest rate with every update received and p99
    under the limit (lower rates included), and p50/p99 (ms) by rate."""
    limits = {}
    for origin, target in (("PL", "LT"), ("LT", "PL")):
        highest, kept = 0, True
        quantiles = {}
        for step, rate in enumerate(rates):
            latencies = sorted(run.received[target][step])
            if len(latencies) < 2:
                kept = False
                continue
            p50 = statistics.median(latencies) * 1000
            p99 = statistics.quantiles(latencies, n=100)[98] * 1000
            quantiles[rate] = (p50, p99)
            kept = kept and p99 < P99_LIMIT_S * 1000 and len(latencies) == int(rate * step_s)
            if kept:
                highest = rate
        limits[f"{origin}->{target}"] = (highest, quantiles)
    return limits


def _print_sharing_throughput(rates: Sequence[int], step_s: float, gap_s: float) -> None:
    print(
        f"sharing throughput: PL's and LT's stages (own processes) publish REL PL LT track "
        f"updates at each rate for {step_s:g} s (both directions at once); latency = "
        "publication -> the ally's importer admitted it into the ally's log and a reader "
        "there got it (exporter, hub, import stream, importer, reader: one process per "
        f"nation, as in a node); {os.cpu_count()} CPU cores; variants one after the other"
    )
    outcomes: dict[str, dict[str, tuple[int, dict[int, tuple[float, float]]]]] = {}
    for variant in SHARING_VARIANTS:
        with tempfile.TemporaryDirectory() as scratch:
            run = _sharing_throughput(Path(scratch) / "sharing", rates, step_s, gap_s, variant)
        limits = outcomes[variant.name] = _sharing_limits(run, rates, step_s)
        print(f"{variant.name}")
        print("direction  updates/s   received   p50 ms   p99 ms")
        for direction, (highest, quantiles) in limits.items():
            target = direction[-2:]
            for step, rate in enumerate(rates):
                count = len(run.received[target][step])
                p50, p99 = quantiles.get(rate, (math.nan, math.nan))
                print(
                    f"{direction}  {rate:9,}  {count:>8}/{int(rate * step_s)}"
                    f"  {p50:7.1f}  {p99:7.1f}"
                )
            above = [rate for rate in rates if rate > highest]
            print(
                f"{direction}: p99 < {P99_LIMIT_S * 1000:.0f} ms up to {highest:,} updates/s; "
                f"it crosses {P99_LIMIT_S * 1000:.0f} ms at "
                + (f"{above[0]:,}/s" if above else "no rate measured (above the last)")
            )
        total = sum(int(rate * step_s) for rate in rates) * 2
        print(
            "processor ms per shared update (both directions, every process): "
            + ", ".join(
                f"{name} {seconds / total * 1000:.3f}"
                for name, seconds in sorted(run.cpu_s.items())
            )
            + f"; total {sum(run.cpu_s.values()) / total * 1000:.3f}"
        )
    reference, chosen, secure = (outcomes[variant.name] for variant in SHARING_VARIANTS)
    for direction in reference:
        before, after = reference[direction][0], chosen[direction][0]
        ratio = f"{after / before:.1f}x" if before else "n/a"
        print(
            f"{direction}: p99 < 250 ms up to {after:,}/s as nodes share (bus batches, "
            f"lingering) vs {before:,}/s one message per update ({ratio})"
        )
    for direction in chosen:
        for rate in rates:
            if rate in chosen[direction][1] and rate in secure[direction][1]:
                (open50, open99), (tls50, tls99) = (
                    chosen[direction][1][rate],
                    secure[direction][1][rate],
                )
                print(
                    f"{direction} {rate:,}/s: accounts + TLS p50 {tls50:.1f} ms, "
                    f"p99 {tls99:.1f} ms; open p50 {open50:.1f} ms, p99 {open99:.1f} ms; ratio p50 "
                    f"{tls50 / open50:.2f}x, p99 {tls99 / open99:.2f}x"
                )
    print(f"host load average (1, 5, 15 min): {os.getloadavg()}")


def _cpu_groups(run: SharingRun, total: int) -> dict[str, float]:
    """Processor ms per shared update by kind of process: producers, sharing, servers, all."""
    groups = {"producers": 0.0, "sharing": 0.0, "servers": 0.0}
    for name, seconds in run.cpu_s.items():
        group = {"producer": "producers", "sharing": "sharing", "server": "servers"}[
            name.split()[0]
        ]
        groups[group] += seconds / total * 1000
    groups["all"] = sum(run.cpu_s.values()) / total * 1000
    return groups


def _print_loop_comparison(
    rates: Sequence[int], step_s: float, gap_s: float, runs: int, variant: SharingVariant
) -> None:
    """The same variant on uvloop and on asyncio's own loop (`HOTZONE_UVLOOP`, read by
    every process the bench starts), alternating run by run (the order swapped every
    round, so a busy spell on the host hits both): p50/p99 per rate and direction, and
    processor time per update by kind of process; then the medians and their ratio."""
    print(
        f"event loops: {variant.name}; {step_s:g} s per rate, {runs} runs each, alternating; "
        f"{os.cpu_count()} CPU cores"
    )
    total = sum(int(rate * step_s) for rate in rates) * 2
    measured: dict[str, list[tuple[SharingLimits, dict[str, float]]]] = {
        "uvloop": [],
        "asyncio": [],
    }
    for round_ in range(runs):
        order = ("uvloop", "asyncio") if round_ % 2 == 0 else ("asyncio", "uvloop")
        for loop in order:
            os.environ[event_loop.UVLOOP_ENV] = "1" if loop == "uvloop" else "0"
            with tempfile.TemporaryDirectory() as scratch:
                run = _sharing_throughput(Path(scratch) / "sharing", rates, step_s, gap_s, variant)
            limits = _sharing_limits(run, rates, step_s)
            cpu = _cpu_groups(run, total)
            measured[loop].append((limits, cpu))
            cells = "  ".join(
                f"{rate:,}/s "
                + " / ".join(
                    f"{limits[d][1].get(rate, (math.nan, math.nan))[0]:.0f}"
                    f"|{limits[d][1].get(rate, (math.nan, math.nan))[1]:.0f}"
                    for d in ("PL->LT", "LT->PL")
                )
                for rate in rates
            )
            print(
                f"run {round_ + 1} {loop:7}  p50|p99 ms PL->LT / LT->PL: {cells};  "
                f"up to {limits['PL->LT'][0]:,} / {limits['LT->PL'][0]:,}/s;  cpu ms/update "
                + ", ".join(f"{k} {v:.4f}" for k, v in cpu.items())
                + f";  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    os.environ.pop(event_loop.UVLOOP_ENV, None)
    medians: dict[str, dict[str, float]] = {}
    for loop, outcomes in measured.items():
        medians[loop] = {
            group: statistics.median(cpu[group] for _, cpu in outcomes)
            for group in ("producers", "sharing", "servers", "all")
        }
        for rate in rates:
            p99s = [
                limits[d][1].get(rate, (math.nan, math.inf))[1]
                for limits, _ in outcomes
                for d in ("PL->LT", "LT->PL")
            ]
            # Every update received and p99 under the limit, at this rate and those below.
            held = sum(
                all(limits[d][0] >= rate for d in ("PL->LT", "LT->PL")) for limits, _ in outcomes
            )
            print(
                f"{loop:7} {rate:,}/s: p99 ms (both directions, every run) "
                + ", ".join(f"{p:.0f}" for p in p99s)
                + f"; median {statistics.median(p99s):.0f}; held (every update, p99 < 250 ms, "
                f"both ways, this rate and below) in {held} of {len(outcomes)} runs"
            )
        print(
            f"{loop:7} processor ms per update (medians): "
            + ", ".join(f"{k} {v:.4f}" for k, v in medians[loop].items())
        )
    print(
        "asyncio / uvloop, processor time per update (medians): "
        + ", ".join(
            f"{k} {medians['asyncio'][k] / medians['uvloop'][k]:.2f}x"
            for k in ("producers", "sharing", "servers", "all")
        )
    )
    print(f"host load average (1, 5, 15 min): {os.getloadavg()}")


def _print_latencies(samples: int, rounds: int) -> None:
    """Open servers against accounts + credentials + TLS, in interleaved rounds (a busy
    spell on the host hits both): p50 and p99 of all samples of each, and their ratio."""
    runs: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for secure in (False, True):
            with tempfile.TemporaryDirectory() as scratch:
                runs[secure] += event_loop.run(_latency(Path(scratch) / "latency", samples, secure))
    quantiles = {}
    for secure, latencies in runs.items():
        p50 = statistics.median(latencies) * 1000
        p99 = statistics.quantiles(latencies, n=100)[98] * 1000
        quantiles[secure] = (p50, p99)
        what = "accounts + TLS" if secure else "open servers  "
        print(
            f"PL detection -> LT shared track, {what}: p50 {p50:.1f} ms, p99 {p99:.1f} ms"
            f"  ({len(latencies)} samples, {rounds} rounds)"
        )
    (open50, open99), (secure50, secure99) = quantiles[False], quantiles[True]
    print(f"accounts + TLS / open: p50 {secure50 / open50:.2f}x, p99 {secure99 / open99:.2f}x")


ALLIANCE = comma_list(
    "PL,LT,RO,LV,EE,DE,US,GB,AL,BE,BG,CA,HR,CZ,DK,FI,FR,GR,HU,IS,IT,LU,ME,NL,MK,NO,PT,SK,SI,ES,SE,TR"
)
"""The 32 members, the first 3 and 8 of them the smaller alliances measured."""
ALLIANCE_SIZES = (3, 8, 32)
REL_LABEL = "REL PL LT RO"
"""A REL item of PL to two allies (in every alliance measured)."""


@dataclass
class ShareCost:
    """What ``items`` items of one label, addressed one way, cost in one alliance."""

    nations: int
    label: str
    once_per_hop: bool
    items: int
    server_cpu_s: dict[str, float]  # "origin", "hub", "allies": processor seconds used
    idle_cpu_s: dict[str, float]  # what the same servers use idle in the same time
    client_cpu_s: float
    stored: dict[str, tuple[int, int]]  # hop -> (messages, bytes) added
    deliveries_ms: list[float]
    last_ally_ms: list[float]


async def _hops(hub: NatsBus, buses: dict[str, NatsBus], origin: str) -> dict[str, tuple[int, int]]:
    """Messages and bytes held at each hop: the origin's share stream, the hub's ALLIANCE,
    and the import streams of every nation (the origin's own too)."""
    share = (await buses[origin].jetstream.stream_info(f"HZ_{origin}_SHARE")).state
    alliance = (await hub.jetstream.stream_info("ALLIANCE")).state
    imports = [
        (await bus.jetstream.stream_info(f"HZ_{nation}_IMPORT")).state
        for nation, bus in buses.items()
    ]
    return {
        "origin": (share.messages, share.bytes),
        "hub": (alliance.messages, alliance.bytes),
        "imports": (sum(i.messages for i in imports), sum(i.bytes for i in imports)),
    }


def _servers_cpu(federation: RunningFederation, origin: str = "PL") -> dict[str, float]:
    """Processor seconds so far of the origin's server, the hub's and the allies' (all)."""
    groups = {"origin": 0.0, "hub": 0.0, "allies": 0.0}
    for name, process in federation.processes.items():
        if process.process is None:
            continue
        group = "origin" if name == origin.lower() else "hub" if name == "hub" else "allies"
        groups[group] += _cpu_seconds(process.process.pid)
    return groups


def _minus(
    after: dict[str, float], before: dict[str, float], scale: float = 1.0
) -> dict[str, float]:
    return {key: (after[key] - before[key]) * scale for key in after}


async def _alliance_costs(directory: Path, size: int, items: int, rounds: int) -> list[ShareCost]:
    """Hub + ``size`` nation servers with accounts and TLS; PL releases ``items`` alerts
    of each label, one at a time (each once every ally has it), addressed both ways, in
    ``rounds`` interleaved rounds (a busy spell on the host hits every row)."""
    nations = ALLIANCE[:size]
    with running_federation(nations, directory, secure=True, parallel=True) as federation:
        wait_for_leaves(federation.processes.values(), size)
        # Share streams before the hub's sources and the hub before the import streams:
        # a source that finds no stream retries only after a backoff of 10 s or more.
        for nation in nations:
            bus = await NatsBus.connect(
                federation.url(nation),
                nation_streams(nation, archives=False),
                domain=nation.lower(),
                **federation.connect_options(nation),
            )
            await bus.close()
        hub = await NatsBus.connect(
            federation.url("hub"),
            hub_streams(nations),
            domain="hub",
            **federation.connect_options("hub"),
        )
        buses = {
            nation: await NatsBus.connect(
                federation.url(nation),
                federation_streams(nation, archives=False),
                domain=nation.lower(),
                **federation.connect_options(nation),
            )
            for nation in nations
        }
        stop = asyncio.Event()
        arrivals: dict[str, list[float]] = {}
        complete: dict[str, asyncio.Event] = {}
        wanted: dict[str, int] = {}

        async def watch(nation: str) -> None:
            watcher = await buses[nation].subscribe(f"hz.{nation}.ally.PL.alert")
            while not stop.is_set():
                message = await watcher.next(timeout_s=0.25)
                if message is None:
                    continue
                shared = from_json(message.payload)
                assert isinstance(shared, Alert), shared
                key = shared.alert_id
                arrivals[key].append(time.perf_counter())
                if len(arrivals[key]) == wanted[key]:
                    complete[key].set()

        tasks = [asyncio.create_task(watch(nation)) for nation in nations if nation != "PL"]
        for nation, bus in buses.items():
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(ShareImporter(bus, nation).run(ready, stop)))
            await ready.wait()
        serial = iter(range(10**9))

        async def release(label: str, once_per_hop: bool, count: int) -> tuple[list[float], float]:
            """PL releases ``count`` alerts one after the other; per-delivery latencies and
            the wall time."""
            exporter = ShareExporter(
                buses["PL"], "PL", nations, ("alert",), nato_once_per_hop=once_per_hop
            )
            exporter_stop = asyncio.Event()
            ready = asyncio.Event()
            running = asyncio.create_task(exporter.run(ready, exporter_stop))
            await ready.wait()
            allies = len(recipients(label, nations, "PL"))
            latencies = []
            started = time.perf_counter()
            for _ in range(count):
                message = alert("PL", next(serial), label)
                key = message.alert_id
                arrivals[key], complete[key], wanted[key] = [], asyncio.Event(), allies
                sent = time.perf_counter()
                await buses["PL"].publish(subject_for(message, "PL"), to_json(message))
                await asyncio.wait_for(complete[key].wait(), 120)
                latencies += [arrived - sent for arrived in arrivals[key]]
            elapsed = time.perf_counter() - started
            exporter_stop.set()
            await running
            return latencies, elapsed

        for label in ("NATO", REL_LABEL):  # sources established, code paths warm
            for once_per_hop in (False, True):
                await release(label, once_per_hop, 3)
        costs = []
        for label, once_per_hop in [
            (label, once_per_hop)
            for _ in range(rounds)
            for label in ("NATO", REL_LABEL)
            for once_per_hop in (False, True)
        ]:
            idle = _servers_cpu(federation)
            await asyncio.sleep(2.0)
            idle = _minus(_servers_cpu(federation), idle, 0.5)  # per second
            before = await _hops(hub, buses, "PL")
            servers, client = _servers_cpu(federation), time.process_time()
            latencies, elapsed = await release(label, once_per_hop, items)
            servers, client = (
                _minus(_servers_cpu(federation), servers),
                time.process_time() - client,
            )
            await asyncio.sleep(0.5)  # the origin's own NATO copies back home
            after = await _hops(hub, buses, "PL")
            allies = len(recipients(label, nations, "PL"))
            costs.append(
                ShareCost(
                    nations=size,
                    label=label,
                    once_per_hop=once_per_hop,
                    items=items,
                    server_cpu_s=servers,
                    idle_cpu_s={key: rate * elapsed for key, rate in idle.items()},
                    client_cpu_s=client,
                    stored={
                        hop: (after[hop][0] - before[hop][0], after[hop][1] - before[hop][1])
                        for hop in after
                    },
                    deliveries_ms=[latency * 1000 for latency in latencies],
                    last_ally_ms=[
                        max(latencies[i : i + allies]) * 1000
                        for i in range(0, len(latencies), allies)
                    ],
                )
            )
        stop.set()
        await asyncio.gather(*tasks)
        for bus in (hub, *buses.values()):
            await bus.close()
        return costs


def _merged(costs: list[ShareCost]) -> list[ShareCost]:
    """One row per label and addressing: the rounds' items, times and samples together."""
    rows: dict[tuple[str, bool], ShareCost] = {}
    for cost in costs:
        key = (cost.label, cost.once_per_hop)
        if key not in rows:
            rows[key] = cost
            continue
        row = rows[key]
        rows[key] = ShareCost(
            nations=row.nations,
            label=row.label,
            once_per_hop=row.once_per_hop,
            items=row.items + cost.items,
            server_cpu_s={k: v + cost.server_cpu_s[k] for k, v in row.server_cpu_s.items()},
            idle_cpu_s={k: v + cost.idle_cpu_s[k] for k, v in row.idle_cpu_s.items()},
            client_cpu_s=row.client_cpu_s + cost.client_cpu_s,
            stored={
                hop: (n + cost.stored[hop][0], b + cost.stored[hop][1])
                for hop, (n, b) in row.stored.items()
            },
            deliveries_ms=row.deliveries_ms + cost.deliveries_ms,
            last_ally_ms=row.last_ally_ms + cost.last_ally_ms,
        )
    return list(rows.values())


def _print_alliance_costs(items: int, rounds: int) -> None:
    # asyncio warns of every TLS connection a server closes first; dozens here.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    print(
        f"cost per shared item: PL releases {items} alerts per row and round ({rounds} "
        "interleaved rounds), one at a time (the next once every ally has it); hub + N "
        f"nation servers with accounts and TLS on this host ({os.cpu_count()} cores); all "
        "importers in this one process"
    )
    print(
        "servers CPU: used while the row ran less what the same servers use idle in that "
        "time (heartbeats, consumers polling), per item"
    )
    print(
        "nations  label         addressing     msgs stored/item      bytes stored/item"
        "        servers CPU ms/item     hotzone  latency ms (per delivery)  last ally"
    )
    print(
        "                                      origin  hub  imports  origin    hub  imports"
        "  origin   hub  allies  CPU ms/item     p50     p99              p50"
    )
    for size in ALLIANCE_SIZES:
        with tempfile.TemporaryDirectory() as scratch:
            costs = event_loop.run(_alliance_costs(Path(scratch) / "alliance", size, items, rounds))
        for cost in _merged(costs):
            per = cost.items
            messages = [cost.stored[hop][0] / per for hop in ("origin", "hub", "imports")]
            sizes = [cost.stored[hop][1] / per for hop in ("origin", "hub", "imports")]
            deliveries = sorted(cost.deliveries_ms)
            p99 = statistics.quantiles(deliveries, n=100)[98] if len(deliveries) > 1 else 0.0
            cpu = [
                (cost.server_cpu_s[key] - cost.idle_cpu_s[key]) / per * 1000
                for key in ("origin", "hub", "allies")
            ]
            print(
                f"{cost.nations:>7}  {cost.label:<12}  "
                f"{'once per hop ' if cost.once_per_hop else 'per recipient'}"
                f"  {messages[0]:6.1f} {messages[1]:4.1f} {messages[2]:8.1f}"
                f"  {sizes[0]:6.0f} {sizes[1]:6.0f} {sizes[2]:8.0f}"
                f"  {cpu[0]:6.2f} {cpu[1]:5.2f} {cpu[2]:7.2f}"
                f"  {cost.client_cpu_s / per * 1000:11.2f}"
                f"  {statistics.median(deliveries):7.1f} {p99:7.1f}"
                f"  {statistics.median(cost.last_ally_ms):15.1f}"
            )
    print(f"host load average (1, 5, 15 min): {os.getloadavg()}")


OWNER_TRACKS = ("share", "none", "nothing")
"""``--owner-tracks``: what the owner of a multi-process run tracks: a share of the
sectors, none of them (``hotzone node --owner-only``), or nothing (``--no-tracking``,
a sector node ``--unclaimed``); several, comma-separated, in turn (``both``: share,none)."""


def owner_tracks_list(text: str) -> tuple[str, ...]:
    """``--owner-tracks``' layouts, in the order given."""
    if text == "both":
        return ("share", "none")
    layouts = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [layout for layout in layouts if layout not in OWNER_TRACKS]
    if not layouts or unknown:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a comma list of {', '.join(OWNER_TRACKS)} (or both)"
        )
    return layouts


def scale_out(
    targets_per_sector: int, scans: int, rounds: int, full_stages: bool = False
) -> dict[int, float]:
    """Print the scale-out table (part 3), the owner tracking a share; detections per
    second by node processes."""
    rates = scale_out_layouts(targets_per_sector, scans, rounds, full_stages)
    return {processes: rate for (processes, _), rate in rates.items()}


def scale_out_layouts(
    targets_per_sector: int,
    scans: int,
    rounds: int,
    full_stages: bool = False,
    owner_tracks: Sequence[str] = ("share",),
) -> dict[tuple[int, str], float]:
    """Print the scale-out table (part 3); detections per second by node processes (and
    whether the owner tracked a share). ``full_stages``: the first process is the owner
    with every stage, and whether the owner's outputs were those of one process in every
    run; ``owner_tracks``: the layouts of 2 and 4 processes measured (`OWNER_TRACKS`),
    interleaved."""
    backlog = synthetic_backlog(SECTORS, targets_per_sector, scans)
    total = sum(len(window) for _, window in backlog)
    what = (
        "owner's full stage set + sector nodes' tracking" if full_stages else "real tracking stage"
    )
    print(
        f"scale-out: {total:,} detections in {len(SECTORS)} sectors "
        f"({targets_per_sector} targets each, {scans} scans) pre-loaded in HZ_PL; "
        f"{what}; pipelined publishes {'on' if PIPELINE_PUBLISHES else 'off'}; "
        f"{os.cpu_count()} CPU cores; median of {rounds} interleaved rounds"
    )
    layouts = [(1, "share")] + [(n, tracks) for n in (2, 4) for tracks in owner_tracks]
    runs: dict[tuple[int, str], list[Drain]] = {layout: [] for layout in layouts}
    identical: dict[tuple[int, str], list[bool]] = {layout: [] for layout in layouts}
    reference_run = (1, "share")
    for _ in range(rounds):  # interleaved, so a busy spell on the host hits every layout
        for layout in layouts:
            processes, tracks = layout
            with tempfile.TemporaryDirectory() as scratch:
                drain = _drain(Path(scratch), processes, backlog, full_stages, tracks)
            runs[layout].append(drain)
            reference = runs[reference_run][0].owner_outputs or []
            difference = _first_difference(reference, drain.owner_outputs or [])
            identical[layout].append(not difference)
            if difference:
                print(
                    f"  {_layout_name(layout)}: owner outputs differ from 1 process's, {difference}"
                )
            if drain is not runs[reference_run][0]:
                drain.owner_outputs = None  # only the reference is kept
    layout_column = tuple(owner_tracks) != ("share",)
    print(
        "processes"
        + ("  owner tracks" if layout_column else "")
        + "  drain s  detections/s  vs one  stages CPU s  nodes CPU s  server CPU s"
        "  det/node-CPU-s" + ("  owner outputs = 1 process" if full_stages else "")
    )
    baseline = None
    rates: dict[tuple[int, str], float] = {}
    for layout in layouts:
        processes, tracks = layout
        median = sorted(runs[layout], key=lambda run: run.seconds)[len(runs[layout]) // 2]
        rate = rates[layout] = total / median.seconds
        baseline = baseline or rate
        step = sum(report.step_seconds for report in median.reports)
        cpu = sum(report.cpu_seconds for report in median.reports)
        same = ""
        if full_stages:
            same = (
                f"  identical in {sum(identical[layout])} of {rounds} runs"
                f" ({len(runs[reference_run][0].owner_outputs or []):,} messages)"
            )
        owner_column = ""
        if layout_column:
            owner_column = f"  {'every sector' if processes == 1 else _tracked_share(tracks):>12}"
        print(
            f"{processes:>9}{owner_column}  {median.seconds:7.2f}  {rate:12,.0f}"
            f"  {rate / baseline:5.2f}x  {step:12.2f}  {cpu:11.2f}  {median.server_cpu:12.2f}"
            f"  {total / cpu:14,.0f}" + same
        )
    if full_stages:
        for layout in layouts:
            for drain in runs[layout]:
                owner = next(r for r in drain.reports if "c2" in r.stage_seconds)
                seconds = ", ".join(f"{k} {v:.2f}" for k, v in owner.stage_seconds.items())
                others = ", ".join(f"{r.cpu_seconds:.2f}" for r in drain.reports if r is not owner)
                print(
                    f"  {_layout_name(layout)}, {drain.seconds:.2f} s: the owner's steps "
                    f"(CPU s) {seconds}, its process {owner.cpu_seconds:.2f}"
                    + (f"; sector nodes' processes (CPU s) {others}" if others else "")
                    + f"; ticks without a tracker's marker: {owner.producer_timeouts or 'none'}"
                    + f"; the log {drain.stored:,} messages, the owner's consumers handed out"
                    + f" {owner.handed_out:,} and passed over {owner.passed_over:,}"
                )
    return rates


def _tracked_share(owner_tracks: str) -> str:
    return {"share": "a share", "none": "no sector", "nothing": "nothing"}[owner_tracks]


def _layout_name(layout: tuple[int, str]) -> str:
    processes, tracks = layout
    if processes == 1:
        return "1 process"
    return f"{processes} processes (owner tracks {_tracked_share(tracks)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--targets-per-sector", type=int, default=8)
    parser.add_argument("--scans", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--latency-only", action="store_true")
    parser.add_argument("--sharing-only", action="store_true")
    parser.add_argument("--skip-sharing", action="store_true")
    parser.add_argument("--sharing-step-s", type=float, default=5.0)
    parser.add_argument(
        "--sharing-rates", default=",".join(map(str, SHARING_RATES)), help="updates/s, a,b,c"
    )
    parser.add_argument(
        "--compare-loops",
        type=int,
        default=0,
        metavar="RUNS",
        help="sharing throughput on uvloop and on asyncio's loop, alternating, RUNS each",
    )
    parser.add_argument(
        "--sharing-variant",
        type=int,
        default=1,
        help="with --compare-loops: 0 reference, 1 open servers (default), 2 accounts + TLS",
    )
    parser.add_argument(
        "--full-stages",
        action="store_true",
        help="scale-out: the owner runs every stage (assessment, c2, audit), not tracking only",
    )
    parser.add_argument(
        "--owner-tracks",
        type=owner_tracks_list,
        default=("share",),
        help="with --full-stages: the owner of 2 and 4 processes tracks a share of the "
        "sectors (share, the default), no sector (none: hotzone node --owner-only, the "
        "others track them all), or nothing (hotzone node --no-tracking, the first sector "
        "node --unclaimed); a comma list measures several, interleaved (both: share,none)",
    )
    parser.add_argument("--alliance-only", action="store_true")
    parser.add_argument("--alliance-items", type=int, default=40)
    parser.add_argument("--alliance-rounds", type=int, default=2)
    args = parser.parse_args()
    if args.owner_tracks != ("share",) and not args.full_stages:
        parser.error("--owner-tracks needs --full-stages (without it no process is the owner)")
    if args.compare_loops:
        rates = [int(rate) for rate in args.sharing_rates.split(",")]
        variant = SHARING_VARIANTS[args.sharing_variant]
        _print_loop_comparison(rates, args.sharing_step_s, 4.0, args.compare_loops, variant)
        return
    if args.alliance_only:
        _print_alliance_costs(args.alliance_items, args.alliance_rounds)
        return
    if args.sharing_only or not (args.skip_sharing or args.latency_only):
        rates = [int(rate) for rate in args.sharing_rates.split(",")]
        _print_sharing_throughput(rates, args.sharing_step_s, gap_s=4.0)
        if args.sharing_only:
            return
    if not args.skip_latency:
        _print_latencies(args.latency_samples, args.rounds)
        if args.latency_only:
            return
    scale_out_layouts(
        args.targets_per_sector,
        args.scans,
        args.rounds,
        args.full_stages,
        args.owner_tracks,
    )
    print(f"host load average (1, 5, 15 min): {os.getloadavg()}")


if __name__ == "__main__":
    main()
