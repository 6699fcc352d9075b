"""`hotzone node` SIGKILLed mid-run and started again with the same command goes on exactly
where it stopped: its durable consumers resume, its stages rebuild their state from what
they had handled, its replay goes on from its last clock tick, and what it publishes again
carries the same message ids (dropped by the streams' duplicate windows).

PL replays suwalki-drones (shared `REL PL LT`) while LT's node imports; each node is
killed once (PL during its replay, LT while copies arrive) and restarted with its command.
Afterwards: what PL released to LT = what LT holds (log and store), no duplicate by
content anywhere on the path, no track update going back in time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from nats.js import api as js_api

from hotzone.bus import NatsBus, nation_streams
from hotzone.bus.nats import carried_messages
from hotzone.runtime.federation import SHARED_FAMILIES
from hotzone.runtime.services import SHUTDOWN, encode_tick
from hotzone.share.releasability import releasable_to
from hotzone.store import SQLiteStore
from hotzone.types import Track, from_json
from tests.federation.helpers import connect_federation
from tests.federation.servers import RunningFederation, running_federation, running_standalone

RUN_CLI = "import sys; from hotzone.cli import main; sys.exit(main(sys.argv[1:]))"


async def read_stream(bus: NatsBus, stream: str, filters: Sequence[str]) -> list[tuple[str, bytes]]:
    """Every message of ``stream`` matching ``filters``, in stream order."""
    config = js_api.ConsumerConfig(
        deliver_policy=js_api.DeliverPolicy.ALL,
        ack_policy=js_api.AckPolicy.NONE,
        filter_subjects=list(filters),
        inactive_threshold=60.0,
    )
    info = await bus.jetstream.add_consumer(stream, config)
    pull = await bus.jetstream.pull_subscribe_bind(consumer=info.name, stream=stream)
    messages: list[tuple[str, bytes]] = []
    remaining = info.num_pending
    while remaining > 0:
        batch = await pull.fetch(batch=min(remaining, 2048), timeout=10)
        # A tracker's window of tracks is one stored batch: its items are the messages.
        messages += [
            (carried.subject, carried.payload)
            for message in batch
            for carried in carried_messages(message)
        ]
        remaining -= len(batch)
    await pull.unsubscribe()
    await bus.jetstream.delete_consumer(stream, info.name)
    return messages


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-c", RUN_CLI, *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


async def stored(bus: NatsBus, stream: str, subjects: str | None = None) -> int:
    """How many messages ``stream`` holds (on ``subjects``)."""
    info = await bus.jetstream.stream_info(stream, subjects_filter=subjects)
    if subjects is None:
        return int(info.state.messages)
    return sum((info.state.subjects or {}).values())


async def until(
    count: Callable[[], Awaitable[int]],
    at_least: int,
    node: subprocess.Popen[bytes],
    log: Path,
) -> None:
    """Wait until ``count()`` reaches ``at_least`` while ``node`` runs (at most 120 s)."""
    started = time.monotonic()
    while await count() < at_least:
        assert node.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() - started < 120, f"{log.name}: {await count()} < {at_least}"
        await asyncio.sleep(0.1)


def stop_if_running(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        kill(process)


def finish(process: subprocess.Popen[bytes], log: Path, timeout_s: float = 300) -> None:
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        kill(process)
    assert process.returncode == 0, log.read_text()[-3000:]


def going_back(tracks: Sequence[Track]) -> int:
    """How many updates of a track are older than the one before it."""
    last: dict[str, float] = {}
    back = 0
    for track in tracks:
        now = track.time.timestamp()
        back += now < last.get(track.track_id, now)
        last[track.track_id] = max(now, last.get(track.track_id, now))
    return back


@pytest.mark.slow(25)
def test_a_killed_node_restarted_with_its_command_resumes_exactly(tmp_path: Path) -> None:
    asyncio.run(_killed_and_restarted(tmp_path))


async def _killed_and_restarted(directory: Path) -> None:
    began = time.monotonic()
    # The reference: the same replay, never interrupted, on a server of its own, run
    # meanwhile (its replay is not paced: it mostly computes while the nodes below mostly
    # wait). The tracker reads only the replay's detections and ticks, so its output is a
    # function of the command (the assessment's windows depend on when tracks land in the
    # log).
    with contextlib.ExitStack() as servers:
        server = servers.enter_context(running_standalone(directory / "reference"))
        reference_log = directory / "reference.log"
        reference_node = start(
            [
                *("node", "--nation", "PL", "--nats", server.plan.url, "--domain", "pl"),
                *("--store", str(directory / "reference.sqlite"), "--duration", "120"),
                # An alliance (of itself) gives it the same stages, so the same closing ticks.
                *("--alliance", "PL"),
            ],
            reference_log,
        )
        servers.callback(stop_if_running, reference_node)
        federation = servers.enter_context(running_federation(["PL", "LT"], directory))
        released, admitted, detections, pl_tracks = await _run_and_kill(federation, directory)
        finished_nodes = time.monotonic()
        finish(reference_node, reference_log)
        bus = await NatsBus.connect(server.plan.url, nation_streams("PL"), domain="pl")
        reference_detections = await read_stream(bus, "HZ_PL", ["hz.PL.det.>"])
        reference_tracks = await read_stream(bus, "HZ_PL", ["hz.PL.trk.>"])
        await bus.close()
    print(
        f"nodes killed, restarted and finished in {finished_nodes - began:.1f} s, "
        f"the reference waited for {time.monotonic() - finished_nodes:.1f} s more"
    )
    _compare(
        directory, released, admitted, detections, pl_tracks, reference_detections, reference_tracks
    )


async def _run_and_kill(
    federation: RunningFederation, directory: Path
) -> tuple[list[bytes], list[tuple[str, bytes]], list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """PL and LT killed and restarted: (what PL released to LT, what LT admitted, PL's
    detections and track updates)."""
    hub, buses = await connect_federation(federation, ["PL", "LT"])
    common = ["--alliance", "PL,LT", "--connect-timeout", "20"]
    poland = [
        *("node", "--nation", "PL", "--nats", federation.url("PL"), "--domain", "pl"),
        *("--store", str(directory / "pl.sqlite"), "--duration", "120", "--speed", "8"),
        *common,
    ]
    lithuania = [
        *("node", "--nation", "LT", "--nats", federation.url("LT"), "--domain", "lt"),
        *("--store", str(directory / "lt.sqlite"), "--no-replay"),
        *common,
    ]
    pl_log, lt_log = directory / "pl.log", directory / "lt.log"
    pl_node = start(poland, pl_log)
    lt_node: subprocess.Popen[bytes] | None = None
    try:
        # LT's node starts once PL's first copies are in LT's import stream: its first
        # run admits what was addressed to LT before it ran (under load, LT's importer
        # once started after PL's first track update had arrived, and skipped it).
        await until(lambda: stored(buses["LT"], "HZ_LT_IMPORT"), 1, pl_node, pl_log)
        lt_node = start(lithuania, lt_log)
        # PL is killed mid-replay, once LT admits its copies, and started again.
        await until(lambda: stored(buses["LT"], "HZ_LT", "hz.LT.ally.PL.>"), 1, lt_node, lt_log)
        await asyncio.sleep(1.0)
        kill(pl_node)
        at_kill = await stored(buses["LT"], "HZ_LT_IMPORT")
        await asyncio.sleep(1.0)
        pl_node = start(poland, pl_log)  # the same command
        # LT is killed while the restarted PL's copies arrive, and started again.
        await until(lambda: stored(buses["LT"], "HZ_LT_IMPORT"), at_kill + 1, pl_node, pl_log)
        kill(lt_node)
        await asyncio.sleep(1.0)
        lt_node = start(lithuania, lt_log)
        finish(pl_node, pl_log)

        # What PL released to LT, and what reached LT's log.
        families = [f"hz.PL.{family}" for family in SHARED_FAMILIES]
        released = [
            payload
            for _, payload in await read_stream(buses["PL"], "HZ_PL", families)
            if releasable_to(str(from_json(payload).releasability), "LT")
        ]
        started = time.monotonic()
        while True:
            admitted = await read_stream(buses["LT"], "HZ_LT", ["hz.LT.ally.PL.>"])
            if len(admitted) >= len(released) or time.monotonic() - started > 120:
                break
            await asyncio.sleep(1.0)
        await buses["LT"].publish("hz.LT.clock", encode_tick(0.0), {"kind": SHUTDOWN})
        finish(lt_node, lt_log)
    finally:  # nothing left running, whatever happened
        for node in (pl_node, lt_node):
            if node is not None and node.poll() is None:
                kill(node)
    detections = await read_stream(buses["PL"], "HZ_PL", ["hz.PL.det.>"])
    pl_tracks = await read_stream(buses["PL"], "HZ_PL", ["hz.PL.trk.>"])
    for bus in (hub, *buses.values()):
        await bus.close()
    return released, admitted, detections, pl_tracks


def _compare(
    directory: Path,
    released: list[bytes],
    admitted: list[tuple[str, bytes]],
    detections: list[tuple[str, bytes]],
    pl_tracks: list[tuple[str, bytes]],
    reference_detections: list[tuple[str, bytes]],
    reference_tracks: list[tuple[str, bytes]],
) -> None:
    pl_log, lt_log = directory / "pl.log", directory / "lt.log"
    with SQLiteStore(directory / "lt.sqlite") as store:
        stored = [m.message for m in store.replay("hz.LT.ally.PL.>")]
    admitted_payloads = [payload for _, payload in admitted]
    print(
        f"PL released {len(released)} to LT; LT admitted {len(admitted)}, stored {len(stored)}; "
        f"PL published {len(detections)} detections, {len(pl_tracks)} track updates "
        f"(uninterrupted: {len(reference_detections)}, {len(reference_tracks)})"
    )
    # Each was killed mid-run: one summary line each, from the restarted process.
    assert pl_log.read_text().count("PL: ") == 1 and lt_log.read_text().count("LT: ") == 1
    assert released, "PL released nothing: the run did not get far enough"
    # Nothing lost, nothing twice: exactly what the uninterrupted run published...
    assert Counter(detections) == Counter(reference_detections)
    assert Counter(pl_tracks) == Counter(reference_tracks)
    # ... and LT holds exactly what PL released to it, on its bus and in its store.
    assert Counter(admitted_payloads) == Counter(released)
    assert Counter(repr(m) for m in stored) == Counter(repr(from_json(p)) for p in released)
    tracks = [from_json(payload) for _, payload in pl_tracks]
    assert going_back([t for t in tracks if isinstance(t, Track)]) == 0
    shared = [from_json(payload) for payload in admitted_payloads]
    assert going_back([t for t in shared if isinstance(t, Track)]) == 0
