"""The first run of a nation's share importer admits what was addressed to the nation
before it started, and the first run of a nation's owner releases, assesses and records
what was published to the nation's log before it started, with real nats-servers (hub,
PL, LT).

The race this pins down (`test_node_restart.py` lost the first track update of its run
this way, under load): LT's node and PL's node start together; PL's first batch reaches
``HZ_LT_IMPORT`` (sourced through the hub) before LT's importer has made its durable
consumer. A consumer made "from now on" skips that batch for ever; the importer's first
consumer starts at the first message the import stream holds instead (everything in it was
addressed to LT, and nothing has admitted any of it)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from hotzone.bus import NatsBus
from hotzone.bus.nats import carried_messages
from hotzone.runtime.federation import ShareExporter, ShareImporter, federation_streams
from hotzone.runtime.node import NodeOptions, run_node
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import SHUTDOWN, encode_tick
from hotzone.runtime.stages import build_stages
from hotzone.sim.scenario import load_scenario
from hotzone.store import SQLiteStore
from hotzone.types import Assessment, GeoPoint, Track, TrackStatus, from_json, to_json
from tests.federation.helpers import EPOCH, alert, connect_federation, decode_shared, items_in
from tests.federation.servers import RunningFederation, running_federation


async def _ally_copies(bus: NatsBus) -> int:
    """The allied copies LT's log holds (what one shared batch admits is one stored batch)."""
    return len(await _stream_messages(bus, "HZ_LT", "hz.LT.ally.>"))


async def _lithuania_importer(federation: RunningFederation) -> NatsBus:
    """A bus of LT's as its node makes it: the share consumers durable."""
    return await NatsBus.connect(
        federation.url("LT"),
        federation_streams("LT", archives=False),
        domain="lt",
        durable_prefix="LT-owner-share",
        name="test-LT-importer",
    )


def test_an_importer_started_after_the_first_copies_arrived_admits_them(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[int, int, int]:
        with running_federation(["PL", "LT"], tmp_path) as federation:
            hub, buses = await connect_federation(federation, ["PL", "LT"])
            stop = asyncio.Event()
            exporter = ShareExporter(buses["PL"], "PL", ["PL", "LT"])
            ready = asyncio.Event()
            exporting = asyncio.create_task(exporter.run(ready, stop))
            await ready.wait()
            early = [alert("PL", index, "REL PL LT") for index in range(3)]
            for message in early:
                await buses["PL"].publish(subject_for(message, "PL"), to_json(message))
            # PL's copies are in LT's import stream before any importer of LT runs.
            jetstream = buses["LT"].jetstream
            for _ in range(600):
                if await items_in(jetstream, "HZ_LT_IMPORT") >= len(early):
                    break
                await asyncio.sleep(0.1)
            in_import_stream = await items_in(jetstream, "HZ_LT_IMPORT")

            # LT's importer starts now, as a node does (durable consumers), admits, stops.
            importer_bus = await _lithuania_importer(federation)
            importer = ShareImporter(importer_bus, "LT")
            importer_stop = asyncio.Event()
            ready = asyncio.Event()
            importing = asyncio.create_task(importer.run(ready, importer_stop))
            await ready.wait()
            late = alert("PL", 3, "REL PL LT")
            await buses["PL"].publish(subject_for(late, "PL"), to_json(late))
            for _ in range(200):  # what it admits is asserted below
                if importer.counters.accepted >= len(early) + 1:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # anything more would show up now
            importer_stop.set()
            await importing
            await importer_bus.close()
            first_run = await _ally_copies(buses["LT"])

            # Started again (the same durable consumers): it goes on, admits nothing twice.
            importer_bus = await _lithuania_importer(federation)
            again = ShareImporter(importer_bus, "LT")
            importer_stop = asyncio.Event()
            ready = asyncio.Event()
            importing = asyncio.create_task(again.run(ready, importer_stop))
            await ready.wait()
            await asyncio.sleep(1.0)
            importer_stop.set()
            await importing
            await importer_bus.close()
            second_run = await _ally_copies(buses["LT"])

            stop.set()
            await exporting
            for bus in (hub, *buses.values()):
                await bus.close()
            return in_import_stream, first_run, second_run

    in_import_stream, first_run, second_run = asyncio.run(scenario())
    print(f"in HZ_LT_IMPORT before LT's importer ran: {in_import_stream}; admitted {first_run}")
    assert in_import_stream == 3
    assert first_run == 4  # the three sent before it started, and the one after
    assert second_run == 4


async def _stream_messages(
    bus: NatsBus, stream: str, filter_subject: str | None = None
) -> list[tuple[str, bytes]]:
    """What ``stream`` holds (of ``filter_subject``), read from the first message on."""
    jetstream = bus.jetstream
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.NONE,
        inactive_threshold=30.0,
        filter_subject=filter_subject,
    )
    info = await jetstream.add_consumer(stream, config)
    pull = await jetstream.pull_subscribe_bind(consumer=info.name, stream=stream)
    messages: list[tuple[str, bytes]] = []
    fetched = 0
    while fetched < info.num_pending:
        batch = await pull.fetch(min(256, info.num_pending - fetched), timeout=10.0)
        fetched += len(batch)
        messages += [
            (carried.subject, carried.payload)
            for message in batch
            for carried in carried_messages(message)
        ]
    await pull.unsubscribe()
    await jetstream.delete_consumer(stream, info.name)
    return messages


async def _tracks_shared(bus: NatsBus) -> Counter[tuple[str, int]]:
    """The track updates LT's import stream holds: (track id, second), counted."""
    counted: Counter[tuple[str, int]] = Counter()
    for subject, data in await _stream_messages(bus, "HZ_LT_IMPORT"):
        for item in decode_shared(subject, data):
            if isinstance(item, Track):
                counted[item.track_id, int((item.time - EPOCH).total_seconds())] += 1
    return counted


def _track(index: int, seconds: float) -> Track:
    """A sector node's track of one object over Suwałki, labelled for PL and LT."""
    return Track(
        track_id=f"suwalki-{index}",
        track_number=index,
        time=EPOCH + timedelta(seconds=seconds),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=54.1, lon_deg=22.9 + 0.01 * index, height_m=150.0),
        sector="suwalki",
        enu_position_m=(100.0 * index, 0.0, 150.0),
        enu_velocity_mps=(20.0, 0.0, 0.0),
        covariance=((25.0, 0.0, 0.0), (0.0, 25.0, 0.0), (0.0, 0.0, 25.0)),
        quality=0.9,
        sensors=("radar1",),
        releasability="REL PL LT",
    )


async def _publish_ticks_and_tracks(
    bus: NatsBus, indices: range, seconds: range, first_tick: int
) -> None:
    """Tracks of ``indices`` at each second of ``seconds``, each second closed by a tick,
    as a sector node and the nation's clock publish them."""
    for number, second in enumerate(seconds):
        for index in indices:
            track = _track(index, second + 0.5)
            await bus.publish(subject_for(track, "PL"), to_json(track))
        tick = {"kind": "tick", "tick": str(first_tick + number)}
        await bus.publish("hz.PL.clock", encode_tick(EPOCH.timestamp() + second + 1), tick)


async def _run_owner(
    federation: RunningFederation, bus: NatsBus, store: Path, during: range, second: int
) -> dict[str, int]:
    """PL's owner as ``hotzone node --no-replay --alliance PL,LT`` runs it; once its
    pipeline's consumers exist, track ``during`` is published at two seconds from
    ``second`` on, then the shutdown tick that ends its run. What it released, by ally."""
    options = NodeOptions(
        nation="PL",
        servers=[federation.url("PL")],
        scenario="suwalki-drones",
        store_path=store,
        domain="pl",
        alliance=("PL", "LT"),
        replay=False,
    )
    owner = asyncio.create_task(run_node(options))
    stages = build_stages(load_scenario(options.scenario), nation="PL", allied=True)
    expected = len(stages.stages) + 1  # the stages' consumers and the recorder's

    async def pipeline_ready() -> None:
        while True:
            assert not owner.done(), owner
            names = [info.name for info in await bus.jetstream.consumers_info("HZ_PL")]
            if sum(name.startswith("PL-all-") for name in names) >= expected:
                return
            await asyncio.sleep(0.1)

    await asyncio.wait_for(pipeline_ready(), 60.0)
    await _publish_ticks_and_tracks(bus, during, range(second, second + 2), first_tick=second + 1)
    await bus.publish("hz.PL.clock", encode_tick(0.0), {"kind": SHUTDOWN})
    report = await asyncio.wait_for(owner, 120.0)
    return report.shared_out


def test_an_owner_started_after_a_sector_node_published_releases_and_assesses_it(
    tmp_path: Path,
) -> None:
    """A sector node's tracks (and the clock) reach PL's log before PL's owner (exporter,
    assessment, recorder) has ever run. Started then, the owner releases them to LT,
    assesses them and records them; its consumers made "from now on" skipped them for ever.
    The owner's next run (after a normal end) takes what was published between the two
    runs, and nothing of the first run again."""
    early, first, between, second = range(1, 4), range(4, 5), range(5, 6), range(6, 7)
    store = tmp_path / "PL.sqlite"

    async def scenario() -> tuple[Counter[tuple[str, int]], list[tuple[str, object]], list[object]]:
        with running_federation(["PL", "LT"], tmp_path / "servers") as federation:
            hub, buses = await connect_federation(federation, ["PL", "LT"])
            pl = buses["PL"]
            await _publish_ticks_and_tracks(pl, early, range(0, 3), first_tick=1)
            released = [await _run_owner(federation, pl, store, first, 3)]
            await _publish_ticks_and_tracks(pl, between, range(5, 7), first_tick=1)
            released.append(await _run_owner(federation, pl, store, second, 7))
            print(f"PL's owner released, run by run: {released}")

            # LT's import stream holds PL's copies of the tracks, each once.
            expected = len(early) * 3 + 2 * (len(first) + len(between) + len(second))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60.0
            shared = await _tracks_shared(buses["LT"])
            while sum(shared.values()) < expected and loop.time() < deadline:
                await asyncio.sleep(0.25)
                shared = await _tracks_shared(buses["LT"])
            await asyncio.sleep(0.5)  # a second copy would show up now
            shared = await _tracks_shared(buses["LT"])
            # What PL's assessment published (the last step's outputs come after the
            # shutdown tick, which ends the recorder's run: read from the log).
            assessments = [
                from_json(data)
                for _, data in await _stream_messages(pl, "HZ_PL", "hz.PL.assessment")
            ]
            for bus in (hub, *buses.values()):
                await bus.close()
        with SQLiteStore(store) as stored:
            return shared, [(m.subject, m.message) for m in stored.replay()], assessments

    shared, stored, assessments = asyncio.run(scenario())
    print(f"LT's import stream: {sorted(shared.items())}")
    updates = {(f"suwalki-{i}", s) for i in early for s in range(0, 3)}
    for indices, seconds in ((first, range(3, 5)), (between, range(5, 7)), (second, range(7, 9))):
        updates |= {(f"suwalki-{i}", s) for i in indices for s in seconds}
    # Every track update released once, those published before the first owner included.
    assert shared == Counter(updates)
    # PL's owner recorded each once, and assessed every track (the early ones too), each
    # assessment made once (no window handled twice across the two runs).
    recorded = Counter(
        (m.track_id, int((m.time - EPOCH).total_seconds()))
        for subject, m in stored
        if isinstance(m, Track) and subject.startswith("hz.PL.trk.")
    )
    assert recorded == Counter(updates)
    assessed = Counter((m.track_id, m.time) for m in assessments if isinstance(m, Assessment))
    print(f"PL assessed {sorted({track for track, _ in assessed})}")
    assert {track for track, _ in assessed} == {track for track, _ in updates}
    assert set(assessed.values()) == {1}
