"""The first run of a nation's share importer admits what was addressed to the nation
before it started, with real nats-servers (hub, PL, LT).

The race this pins down (`test_node_restart.py` lost the first track update of its run
this way, under load): LT's node and PL's node start together; PL's first batch reaches
``HZ_LT_IMPORT`` (sourced through the hub) before LT's importer has made its durable
consumer. A consumer made "from now on" skips that batch for ever; the importer's first
consumer starts at the first message the import stream holds instead (everything in it was
addressed to LT, and nothing has admitted any of it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotzone.bus import NatsBus
from hotzone.runtime.federation import ShareExporter, ShareImporter, federation_streams
from hotzone.runtime.routing import subject_for
from hotzone.types import to_json
from tests.federation.helpers import alert, connect_federation, items_in
from tests.federation.servers import RunningFederation, running_federation


async def _ally_copies(bus: NatsBus) -> int:
    info = await bus.jetstream.stream_info("HZ_LT", subjects_filter="hz.LT.ally.>")
    return sum((info.state.subjects or {}).values())


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
