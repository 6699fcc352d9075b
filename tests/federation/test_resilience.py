"""Nothing lost, nothing duplicated: through a stream leader's SIGKILL in a 3-node cluster,
and through a 60 s cut of a nation's leaf connection to the hub.

The 60 s partition runs in a background thread from the start of this module, so the
leader-kill test runs during it instead of after it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hotzone.bus import NatsBus, nation_streams
from hotzone.bus.base import MESSAGE_ID_HEADER
from hotzone.runtime.federation import ShareExporter, ShareImporter, SourceWatchdog
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import StageService, encode_tick
from hotzone.share.releasability import releasable_to
from hotzone.types import Alert, AnyMessage, Track, to_json
from tests.federation.helpers import (
    EchoTracker,
    alert,
    collect,
    connect_federation,
    detection,
    wait_for,
)
from tests.federation.servers import running_cluster, running_federation

CUT_S = 60.0
LABELS = ("NATO", "REL PL LT", "NATIONAL PL", "REL PL RO")


@dataclass
class PartitionOutcome:
    detections: int = 0
    local_tracks: list[AnyMessage] = field(default_factory=list)
    shared_at_lt: list[AnyMessage] = field(default_factory=list)
    local_outputs_at_cut: int = 0
    local_outputs_at_restore: int = 0
    lt_after_cut_settled: int = 0
    lt_at_restore: int = 0
    alliance_stored: int = 0
    batches_exported: int = 0
    catch_up_s: float = 0.0
    hub_watch_pid: int | None = None
    hub_watch_exit: int | None = None
    hub_watch_said: str = ""
    error: BaseException | None = None


async def _partition(directory: Path, outcome: PartitionOutcome, abort: threading.Event) -> None:
    with running_federation(["PL", "LT"], directory, proxied=("PL",)) as federation:
        hub, buses = await connect_federation(federation, ["PL", "LT"])
        poland, lithuania = buses["PL"], buses["LT"]
        stop = asyncio.Event()
        tracker = StageService(EchoTracker(), poland, "PL")
        exporter = ShareExporter(poland, "PL", ["PL", "LT", "RO"])
        importer = ShareImporter(lithuania, "LT")
        tasks = [
            asyncio.create_task(
                collect(await poland.subscribe("hz.PL.trk.>"), outcome.local_tracks, stop)
            ),
            asyncio.create_task(
                collect(await lithuania.subscribe("hz.LT.ally.>"), outcome.shared_at_lt, stop)
            ),
        ]
        ready = asyncio.Event()
        tasks.append(asyncio.create_task(tracker.run(ready)))
        await ready.wait()
        for service in (exporter, importer):
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(service.run(ready, stop)))
            await ready.wait()
        # The hub's and LT's sourcing resume as soon as the link is back: the hub's by the
        # documented `hotzone federation hub --watch` (a process of its own, as deployed),
        # LT's by the watchdog every node runs on its import stream.
        hub_watch = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotzone.cli",
            "federation",
            "hub",
            "--nats",
            federation.url("hub"),
            "--nations",
            "PL,LT",
            "--watch",
            stdout=asyncio.subprocess.PIPE,
        )
        outcome.hub_watch_pid = hub_watch.pid  # killed by the fixture if the run fails
        assert hub_watch.stdout is not None
        watching = await asyncio.wait_for(hub_watch.stdout.readline(), 60)
        assert b"watching its sources" in watching, watching
        tasks.append(asyncio.create_task(SourceWatchdog(lithuania, "HZ_LT_IMPORT").run(stop)))

        loop = asyncio.get_running_loop()

        async def produce(seconds: float) -> None:
            # 20 detections a second, a clock tick every half second: the nation at work.
            end = loop.time() + seconds
            while loop.time() < end and not abort.is_set():
                for _ in range(10):
                    index = outcome.detections
                    message = detection(index, "suwalki", LABELS[index % len(LABELS)])
                    await poland.publish(subject_for(message, "PL"), to_json(message))
                    outcome.detections += 1
                await poland.publish("hz.PL.clock", encode_tick(float(index)), {"kind": "tick"})
                await asyncio.sleep(0.5)

        def local_outputs() -> int:
            return sum(tracker.counters.published.values())

        await produce(5.0)
        federation.proxies["PL"].cut()
        outcome.local_outputs_at_cut = local_outputs()
        await produce(5.0)
        outcome.lt_after_cut_settled = len(outcome.shared_at_lt)
        await produce(CUT_S - 5.0)
        outcome.local_outputs_at_restore = local_outputs()
        outcome.lt_at_restore = len(outcome.shared_at_lt)
        federation.proxies["PL"].restore()
        healed = loop.time()
        # Caught up: LT holds everything PL released to it before the link came back.
        labels = [LABELS[index % len(LABELS)] for index in range(outcome.detections)]
        released_by_heal = sum(releasable_to(label, "LT") for label in labels)
        released_by_heal += sum(releasable_to(label, "LT") for label in labels[::10])

        async def catch_up() -> float:
            await wait_for(
                lambda: len(outcome.shared_at_lt) >= released_by_heal or abort.is_set(),
                90,
                "LT to catch up with what PL released during the cut",
            )
            return loop.time() - healed

        caught_up = asyncio.create_task(catch_up())
        await produce(5.0)
        outcome.catch_up_s = await caught_up
        await poland.publish("hz.PL.clock", encode_tick(1e9), {"kind": "tick"})
        labels = [LABELS[index % len(LABELS)] for index in range(outcome.detections)]
        expected = sum(releasable_to(label, "LT") for label in labels)
        expected += sum(releasable_to(label, "LT") for label in labels[::10])
        await wait_for(
            lambda: len(outcome.shared_at_lt) >= expected or abort.is_set(),
            90,
            "LT to catch up with PL",
        )
        await asyncio.sleep(1.0)
        outcome.alliance_stored = (await hub.jetstream.stream_info("ALLIANCE")).state.messages
        outcome.batches_exported = exporter.counters.batches
        stop.set()
        await poland.publish("hz.PL.clock", encode_tick(0.0), {"kind": "shutdown"})
        await asyncio.gather(*tasks)
        hub_watch.send_signal(signal.SIGINT)
        outcome.hub_watch_said = (await asyncio.wait_for(hub_watch.stdout.read(), 30)).decode()
        outcome.hub_watch_exit = await hub_watch.wait()
        for bus in (hub, *buses.values()):
            await bus.close()


@pytest.fixture(scope="module", autouse=True)
def partition_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[threading.Thread, PartitionOutcome]]:
    outcome = PartitionOutcome()
    abort = threading.Event()
    directory = tmp_path_factory.mktemp("partition")

    def run() -> None:
        try:
            asyncio.run(_partition(directory, outcome, abort))
        except BaseException as error:  # reported by the test that reads the outcome
            outcome.error = error

    thread = threading.Thread(target=run, name="partition", daemon=True)
    thread.start()
    yield thread, outcome
    abort.set()
    thread.join(120)
    if outcome.hub_watch_pid is not None and outcome.hub_watch_exit is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(outcome.hub_watch_pid, signal.SIGKILL)


def test_a_stream_leader_killed_mid_stream_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    total = 1500

    async def scenario() -> tuple[list[str], int, str, str]:
        with running_cluster(tmp_path) as servers:
            urls = [server.plan.url for server in servers]
            bus = await NatsBus.connect(urls, nation_streams("PL", replicas=3, archives=False))
            reader = await NatsBus.connect(urls, nation_streams("PL", replicas=3, archives=False))
            subscription = await reader.subscribe("hz.PL.>", max_pending=256)
            received: list[str] = []

            async def read() -> None:
                while len(set(received)) < total:
                    message = await subscription.next(timeout_s=60.0)
                    assert message is not None, f"reading stalled at {len(received)}"
                    received.append(message.headers[MESSAGE_ID_HEADER])

            reading = asyncio.create_task(read())
            killed = ""
            for index in range(total):
                if index == total // 3:
                    leader = (await bus.jetstream.stream_info("HZ_PL")).cluster
                    assert leader is not None and leader.leader is not None
                    killed = leader.leader
                    next(s for s in servers if s.plan.name == killed).kill()
                message = alert("PL", index, "NATO")
                await bus.publish(
                    "hz.PL.alert", to_json(message), {MESSAGE_ID_HEADER: message.alert_id}
                )
            await asyncio.wait_for(reading, 120)
            info = await bus.jetstream.stream_info("HZ_PL")
            assert info.cluster is not None
            new_leader = info.cluster.leader or ""
            await bus.close()
            await reader.close()
            return received, info.state.messages, killed, new_leader

    received, stored, killed, new_leader = asyncio.run(scenario())
    assert killed and new_leader and new_leader != killed
    assert stored == total
    duplicated = [key for key, count in Counter(received).items() if count > 1]
    assert not duplicated, f"{len(duplicated)} messages delivered twice"
    assert sorted(received, key=lambda key: int(key.split("-")[1])) == [
        f"PL-{index}" for index in range(total)
    ]


@pytest.mark.slow(65)
def test_a_nation_cut_off_for_60_s_keeps_working_and_catches_up_exactly(
    partition_run: tuple[threading.Thread, PartitionOutcome],
) -> None:
    thread, outcome = partition_run
    thread.join(240)
    assert not thread.is_alive(), "the partition scenario did not finish"
    if outcome.error is not None:
        raise outcome.error
    print(f"\nLT caught up with PL {outcome.catch_up_s:.2f} s after a {CUT_S:.0f} s cut healed")
    # The hub's watchdog (`hotzone federation hub --watch`) set PL's stalled source up again
    # and stopped cleanly on Ctrl-C.
    print(outcome.hub_watch_said.strip())
    assert outcome.hub_watch_exit == 0
    restarted = re.search(r"(\d+) stalled source\(s\) set up again", outcome.hub_watch_said)
    assert restarted is not None and int(restarted[1]) >= 1
    # Local tracking and alerting went on during the cut...
    assert outcome.local_outputs_at_restore > outcome.local_outputs_at_cut
    # ...while nothing crossed the severed link...
    assert outcome.lt_at_restore == outcome.lt_after_cut_settled
    # ...and afterwards LT holds every releasable track and alert exactly once.
    tracks = [m for m in outcome.local_tracks if isinstance(m, Track)]
    assert len(tracks) == outcome.detections
    wanted = {m.track_id for m in tracks if releasable_to(m.releasability, "LT")}
    got_tracks = [m.track_id for m in outcome.shared_at_lt if isinstance(m, Track)]
    got_alerts = [m.alert_id for m in outcome.shared_at_lt if isinstance(m, Alert)]
    assert Counter(got_tracks).most_common(1)[0][1] == 1
    assert Counter(got_alerts).most_common(1)[0][1] == 1
    assert set(got_tracks) == wanted
    assert all(releasable_to(m.releasability, "LT") for m in outcome.shared_at_lt)  # type: ignore[attr-defined]
    # The alliance picture at the hub converged: every batch of copies PL released, once.
    assert outcome.alliance_stored == outcome.batches_exported
