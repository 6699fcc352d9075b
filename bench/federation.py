"""Federation benchmark on real nats-servers (not run by `make test`).

1. Latency: a detection published in PL -> the track it makes, shared, visible in LT
   (hub + PL + LT leaf servers; a one-track-per-detection stage), p50 and p99, on open
   servers and with accounts, credentials and TLS (interleaved rounds), and their ratio.
2. Sharing throughput: PL and LT (each its own process, as nodes) publish track updates
   to each other at rising rates; per direction p50/p99 from publication to admission at
   the ally, and the rate at which p99 crosses 250 ms.
3. Scale-out inside one nation: synthetic detections of 8 sectors are published once into
   HZ_PL behind the nodes' durable consumers, then 1, 2 and 4 node processes (separate OS
   processes, each with the consumer of its share of the sectors and the real tracking
   stage) drain them; detections per second until the last node reaches the shutdown
   tick, median of interleaved rounds. On 2 cores expect about 1.6-1.9x with two
   processes and no more with four. docs/federation.md has figures and their reading.

    .venv/bin/python bench/federation.py [--rounds 3] [--scans 120] [--skip-latency]
    .venv/bin/python bench/federation.py --latency-only [--latency-samples 300]
    .venv/bin/python bench/federation.py --sharing-only [--sharing-rates 500,1000,...]
    HOTZONE_BENCH_PIPELINE=0 ...   # nodes confirm every publish (the old way) to compare
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.federation.helpers import EPOCH, EchoTracker, connect_federation, detection
from tests.federation.servers import running_federation, running_standalone

from hotzone.bus import NatsBus, nation_streams
from hotzone.runtime.federation import ShareExporter, ShareImporter, federation_streams
from hotzone.runtime.node import sector_filters
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import SHUTDOWN, StageService, encode_tick
from hotzone.runtime.stages import tracking_stage
from hotzone.sim.scenario import load_scenario
from hotzone.types import (
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


async def _publish_backlog(url: str, backlog: list[tuple[float, list[Detection]]]) -> int:
    """Publish every scan, then its clock tick, then a shutdown tick; returns detections."""
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False))
    published = 0
    for posix_time, window in backlog:
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

    results.put(asyncio.run(work()))


def _cpu_seconds(pid: int) -> float:
    """User + system processor time of a process (Linux /proc), to see where time goes."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drain(
    directory: Path, processes: int, backlog: list[tuple[float, list[Detection]]]
) -> tuple[float, float, list[DrainResult]]:
    """Seconds for ``processes`` nodes to drain the pre-loaded backlog, the server's
    processor seconds meanwhile, and the nodes' reports."""
    shares = [SECTORS[index::processes] for index in range(processes)]
    with running_standalone(directory) as server:
        url = server.plan.url
        asyncio.run(_create_consumers(url, shares))
        published = asyncio.run(_publish_backlog(url, backlog))
        context = multiprocessing.get_context("spawn")
        ready = context.Queue()
        results = context.Queue()
        go = context.Event()
        nodes = [
            context.Process(target=_node_process, args=(url, index, share, ready, go, results))
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
    drained = sum(report.detections for report in reports)
    assert drained == published, f"{drained} of {published} detections processed"
    return max(report.finished_at for report in reports) - started, server_cpu, reports


SHARING_RATES = (500, 1000, 2000, 3500, 5000, 7000, 10000)
"""Track updates per second per direction, one step each."""
P99_LIMIT_S = 0.25


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
    rates: Sequence[int],
    step_s: float,
    gap_s: float,
    go: EventType,
) -> None:
    """A nation's stages (own process): track updates at each rate in turn, pipelined."""

    async def work() -> None:
        streams = federation_streams(nation, archives=False)
        stages = await NatsBus.connect(
            url, streams, domain=nation.lower(), pipeline_publishes=True, ensure_streams=False
        )
        await asyncio.to_thread(go.wait)
        for step, rate in enumerate(rates):
            begun = time.monotonic()
            for index in range(int(rate * step_s)):
                due = begun + index / rate
                if (wait := due - time.monotonic()) > 0.002:
                    await asyncio.sleep(wait)
                track = _shared_track(nation, step, index)
                await stages.publish(f"hz.{nation}.trk.suwalki", to_json(track))
            await stages.confirm_publishes()
            await asyncio.sleep(max(0.0, begun + step_s + gap_s - time.monotonic()))
        await stages.close()

    asyncio.run(work())


def _sharing_nation(
    url: str,
    nation: str,
    rates: Sequence[int],
    step_s: float,
    gap_s: float,
    batch_size: int,
    ready_queue: multiprocessing.Queue,  # type: ignore[type-arg]
    results: multiprocessing.Queue,  # type: ignore[type-arg]
) -> None:
    """A nation's sharing as its node runs it (own OS process): the exporter, the
    importer, and a watcher of what the ally shares (as the node's recorder reads it)."""

    async def work() -> dict[int, list[float]]:
        streams = federation_streams(nation, archives=False)
        node = await NatsBus.connect(url, streams, domain=nation.lower(), name=f"node-{nation}")
        stop = asyncio.Event()
        tasks = []
        sharing = (ShareExporter(node, nation, ["PL", "LT"]), ShareImporter(node, nation))
        for service in sharing:
            service.batch_size = batch_size
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(service.run(ready, stop)))
            await ready.wait()
        watcher = await node.subscribe(f"hz.{nation}.ally.>", 16384)
        latencies: dict[int, list[float]] = {step: [] for step in range(len(rates))}
        expected = sum(int(rate * step_s) for rate in rates)
        # Both nations' importers must be there before anything is shared (they read
        # what arrives from the moment they start).
        ready_queue.put(nation)
        received = 0
        while received < expected:
            message = await watcher.next(timeout_s=gap_s + step_s + 60)
            if message is None:
                break  # the rest never came: the steps that lost them say so
            track = from_json(message.payload)
            assert isinstance(track, Track)
            delay = (datetime.now(UTC) - track.time).total_seconds()
            latencies[track.track_number // 1_000_000].append(delay)
            received += 1
        if os.environ.get("HOTZONE_BENCH_DEBUG"):
            print(nation, [service.counters for service in sharing], flush=True)
        stop.set()
        await asyncio.gather(*tasks)
        await node.close()
        return latencies

    if profile := os.environ.get("HOTZONE_BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        outcome = profiler.runcall(asyncio.run, work())
        profiler.dump_stats(f"{profile}-{nation}")
        results.put((nation, outcome))
        return
    results.put((nation, asyncio.run(work())))


def _sharing_throughput(
    directory: Path, rates: Sequence[int], step_s: float, gap_s: float, batch_size: int
) -> dict[str, dict[int, list[float]]]:
    """Latencies (s) by rate step of what each nation received from the other."""
    with running_federation(["PL", "LT"], directory) as federation:

        async def setup() -> None:
            hub, buses = await connect_federation(federation, ["PL", "LT"])
            for bus in (hub, *buses.values()):
                await bus.close()

        asyncio.run(setup())
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        ready = context.Queue()
        go = context.Event()
        processes = [
            context.Process(
                target=_sharing_nation,
                args=(federation.url(n), n, rates, step_s, gap_s, batch_size, ready, results),
            )
            for n in ("PL", "LT")
        ]
        processes += [
            context.Process(
                target=_sharing_producer, args=(federation.url(n), n, rates, step_s, gap_s, go)
            )
            for n in ("PL", "LT")
        ]
        for process in processes:
            process.start()
        for _ in range(2):
            ready.get(timeout=120)
        go.set()
        timeout = 60 + len(rates) * (step_s + gap_s) * 3
        received = dict(results.get(timeout=timeout) for _ in range(2))
        for process in processes:
            process.join(30)
    return received


def _print_sharing_throughput(rates: Sequence[int], step_s: float, gap_s: float) -> None:
    print(
        f"sharing throughput: PL's and LT's stages (own processes) publish REL PL LT track "
        f"updates at each rate for {step_s:g} s; latency = publication -> the ally's importer "
        f"admitted it (exporter, hub, import stream, importer: one process per nation, as in "
        f"a node); {os.cpu_count()} CPU cores; reference: the same without batches (one "
        "message per copy, batch size 1), run first"
    )
    limits: dict[tuple[int, str], int] = {}
    for batch_size in (1, 256):
        with tempfile.TemporaryDirectory() as scratch:
            received = _sharing_throughput(
                Path(scratch) / "sharing", rates, step_s, gap_s, batch_size
            )
        print(f"batch size {batch_size}")
        print("direction  updates/s  received   p50 ms   p99 ms")
        for origin, target in (("PL", "LT"), ("LT", "PL")):
            highest = 0
            for step, rate in enumerate(rates):
                latencies = sorted(received[target][step])
                sent = int(rate * step_s)
                if len(latencies) < 2:
                    print(f"{origin}->{target}  {rate:9,}  {len(latencies):>8}/{sent}")
                    continue
                p50 = statistics.median(latencies) * 1000
                p99 = statistics.quantiles(latencies, n=100)[98] * 1000
                print(
                    f"{origin}->{target}  {rate:9,}  {len(latencies):>8}/{sent}"
                    f"  {p50:7.1f}  {p99:7.1f}"
                )
                if p99 / 1000 < P99_LIMIT_S and len(latencies) == sent:
                    highest = rate
            limits[batch_size, origin] = highest
            above = [rate for rate in rates if rate > highest]
            print(
                f"{origin}->{target}: p99 < {P99_LIMIT_S * 1000:.0f} ms at {highest:,} updates/s "
                f"at most; it crosses {P99_LIMIT_S * 1000:.0f} ms at "
                + (f"{above[0]:,}/s" if above else "no rate measured")
            )
    for origin, target in (("PL", "LT"), ("LT", "PL")):
        reference, batched = limits[1, origin], limits[256, origin]
        ratio = f"{batched / reference:.1f}x" if reference else "n/a"
        print(f"{origin}->{target}: batched {batched:,}/s vs unbatched {reference:,}/s ({ratio})")
    print(f"host load average (1, 5, 15 min): {os.getloadavg()}")


def _print_latencies(samples: int, rounds: int) -> None:
    """Open servers against accounts + credentials + TLS, in interleaved rounds (a busy
    spell on the host hits both): p50 and p99 of all samples of each, and their ratio."""
    runs: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for secure in (False, True):
            with tempfile.TemporaryDirectory() as scratch:
                runs[secure] += asyncio.run(_latency(Path(scratch) / "latency", samples, secure))
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
    args = parser.parse_args()
    if args.sharing_only or not (args.skip_sharing or args.latency_only):
        rates = [int(rate) for rate in args.sharing_rates.split(",")]
        _print_sharing_throughput(rates, args.sharing_step_s, gap_s=4.0)
        if args.sharing_only:
            return
    if not args.skip_latency:
        _print_latencies(args.latency_samples, args.rounds)
        if args.latency_only:
            return
    backlog = synthetic_backlog(SECTORS, args.targets_per_sector, args.scans)
    total = sum(len(window) for _, window in backlog)
    print(
        f"scale-out: {total:,} detections in {len(SECTORS)} sectors "
        f"({args.targets_per_sector} targets each, {args.scans} scans) pre-loaded in HZ_PL; "
        f"real tracking stage; pipelined publishes {'on' if PIPELINE_PUBLISHES else 'off'}; "
        f"{os.cpu_count()} CPU cores; median of {args.rounds} interleaved rounds"
    )
    counts = (1, 2, 4)
    runs: dict[int, list[tuple[float, float, list[DrainResult]]]] = {n: [] for n in counts}
    for _ in range(args.rounds):  # interleaved, so a busy spell on the host hits every count
        for processes in counts:
            with tempfile.TemporaryDirectory() as scratch:
                runs[processes].append(_drain(Path(scratch), processes, backlog))
    print(
        "processes  drain s  detections/s  vs one  tracker CPU s  nodes CPU s  server CPU s"
        "  det/node-CPU-s"
    )
    baseline = None
    for processes in counts:
        elapsed, server_cpu, reports = sorted(runs[processes], key=lambda run: run[0])[
            len(runs[processes]) // 2
        ]
        rate = total / elapsed
        baseline = baseline or rate
        step = sum(report.step_seconds for report in reports)
        cpu = sum(report.cpu_seconds for report in reports)
        print(
            f"{processes:>9}  {elapsed:7.2f}  {rate:12,.0f}  {rate / baseline:5.2f}x"
            f"  {step:13.2f}  {cpu:11.2f}  {server_cpu:12.2f}  {total / cpu:14,.0f}"
        )
    print(f"host load average (1, 5, 15 min): {os.getloadavg()}")


if __name__ == "__main__":
    main()
