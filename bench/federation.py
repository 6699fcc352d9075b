"""Federation benchmark on real nats-servers (not run by `make test`).

1. Latency: a detection published in PL -> the track it makes, shared, visible in LT
   (hub + PL + LT leaf servers; a one-track-per-detection stage), p50 and p99.
2. Throughput inside one nation: detections per second through 1, 2 and 4 processes,
   each owning a share of the sectors (consumers filtered by sector subjects).

    .venv/bin/python bench/federation.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.federation.helpers import EchoTracker, connect_federation, detection
from tests.federation.servers import running_federation, running_standalone

from hotzone.bus import NatsBus, nation_streams
from hotzone.runtime.federation import ShareExporter, ShareImporter
from hotzone.runtime.node import sector_filters
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import SHUTDOWN, StageService, encode_tick
from hotzone.types import from_json, to_json

SECTORS = ["s1", "s2", "s3", "s4"]


async def _latency(directory: Path, count: int) -> list[float]:
    with running_federation(["PL", "LT"], directory) as federation:
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


def _worker(url: str, sectors: list[str], done: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    async def work() -> None:
        bus = await NatsBus.connect(
            url, nation_streams("PL", archives=False), read_filters=sector_filters("PL", sectors)
        )
        service = StageService(EchoTracker(), bus, "PL")
        ready = asyncio.Event()
        task = asyncio.create_task(service.run(ready))
        await ready.wait()
        done.put(("ready", 0))
        await task
        done.put(("done", service.counters.received["Detection"]))
        await bus.close()

    asyncio.run(work())


async def _feed(url: str, count: int) -> None:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False))
    for start in range(0, count, 200):
        await asyncio.gather(
            *(
                bus.publish(subject_for(message, "PL"), to_json(message))
                for message in (
                    detection(index, SECTORS[index % 4]) for index in range(start, start + 200)
                )
            )
        )
        await bus.publish("hz.PL.clock", encode_tick(float(start)), {"kind": "tick"})
    await bus.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    await bus.close()


def _throughput(directory: Path, processes: int, count: int) -> float:
    with running_standalone(directory) as server:
        url = server.plan.url
        asyncio.run(_prepare(url))
        done: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        shares = [SECTORS[index::processes] for index in range(processes)]
        workers = [
            multiprocessing.Process(target=_worker, args=(url, share, done)) for share in shares
        ]
        for worker in workers:
            worker.start()
        for _ in workers:
            done.get(timeout=60)
        started = time.perf_counter()
        asyncio.run(_feed(url, count))
        received = sum(done.get(timeout=600)[1] for _ in workers)
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.join(30)
        assert received == count, f"{received} of {count} detections processed"
        return count / elapsed


async def _prepare(url: str) -> None:
    bus = await NatsBus.connect(url, nation_streams("PL", archives=False))
    await bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency-samples", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        latencies = asyncio.run(_latency(Path(scratch) / "latency", args.latency_samples))
    p50 = statistics.median(latencies) * 1000
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    print(f"PL detection -> LT shared track: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    baseline = None
    for processes in (1, 2, 4):
        with tempfile.TemporaryDirectory() as scratch:
            rate = _throughput(Path(scratch), processes, args.messages)
        baseline = baseline or rate
        print(f"{processes} process(es): {rate:,.0f} detections/s ({rate / baseline:.2f}x of one)")


if __name__ == "__main__":
    main()
