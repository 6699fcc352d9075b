"""A released item reaches an ally's log once, however its exporter cut the batches, with
real nats-servers (hub, PL, LT).

An exporter killed after publishing a batch and before its consumer's acknowledgement
reached the server reads those messages again when it restarts, and may batch them with
others: a batch of another id, which no stream drops as a duplicate
(`tests/federation/test_node_restart.py` saw an assessment admitted twice this way when
both nodes were killed). The importer admits each item once: it remembers the ids of what
it admitted, and a restarted importer learns them again from its nation's log."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import msgspec

from hotzone.bus import NatsBus
from hotzone.bus.base import MESSAGE_ID_HEADER
from hotzone.runtime.federation import (
    BATCH_KIND,
    ORIGIN_HEADER,
    ShareBatch,
    SharedItem,
    ShareImporter,
    federation_streams,
)
from hotzone.runtime.routing import subject_for
from hotzone.types import to_json
from tests.federation.helpers import alert, connect_federation, log_messages, wait_for
from tests.federation.servers import RunningFederation, running_federation

ALERTS = [alert("PL", index, "REL PL LT") for index in range(6)]


def _item(index: int) -> SharedItem:
    message = ALERTS[index]
    kind = subject_for(message, "PL").split(".", 2)[2]
    return SharedItem(kind=kind, message_id=f"PL-alert-{index}", payload=to_json(message))


async def _publish_batch(bus: NatsBus, indices: list[int]) -> None:
    """A batch as PL's exporter publishes it: its id from its first item and its size."""
    items = [_item(index) for index in indices]
    headers = {MESSAGE_ID_HEADER: f"{items[0].message_id}+{len(items)}>LT", ORIGIN_HEADER: "PL"}
    payload = msgspec.msgpack.encode(ShareBatch(items))
    await bus.publish(f"hz.share.LT.PL.{BATCH_KIND}", payload, headers)


async def _importer_run(
    federation: RunningFederation, pl_bus: NatsBus, publish: list[list[int]]
) -> ShareImporter:
    """LT's importer as a node runs it (durable consumers), while ``publish`` batches are
    published by PL; it stops once it has read all of them."""
    bus = await NatsBus.connect(
        federation.url("LT"),
        federation_streams("LT", archives=False),
        domain="lt",
        durable_prefix="LT-owner-share",
        name="test-LT-importer",
    )
    importer = ShareImporter(bus, "LT")
    stop, ready = asyncio.Event(), asyncio.Event()
    importing = asyncio.create_task(importer.run(ready, stop))
    await ready.wait()
    before = importer.counters.read
    for indices in publish:
        await _publish_batch(pl_bus, indices)
    expected = before + sum(len(indices) for indices in publish)
    await wait_for(lambda: importer.counters.read >= expected, 30, "every item read")
    await asyncio.sleep(0.5)  # anything more would show up now
    stop.set()
    await importing
    await bus.close()
    return importer


def test_items_of_a_batch_cut_again_are_admitted_once_also_by_a_restarted_importer(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[ShareImporter, ShareImporter, Counter[bytes]]:
        with running_federation(["PL", "LT"], tmp_path) as federation:
            hub, buses = await connect_federation(federation, ["PL", "LT"])
            # Items 0-2, then 1-3 (the exporter restarted: 1 and 2 again, cut with 3).
            first = await _importer_run(federation, buses["PL"], [[0, 1, 2], [1, 2, 3]])
            # A new importer (its process restarted): 3 again, with 4 and 5.
            second = await _importer_run(federation, buses["PL"], [[3, 4, 5]])
            held = Counter(
                message.payload
                for message in await log_messages(buses["LT"].jetstream, "HZ_LT", "hz.LT.ally.>")
            )
            for bus in (hub, *buses.values()):
                await bus.close()
            return first, second, held

    first, second, held = asyncio.run(scenario())
    print(
        f"first run: read {first.counters.read}, admitted {first.counters.accepted}, "
        f"already admitted {first.counters.already_admitted}; second run: read "
        f"{second.counters.read}, admitted {second.counters.accepted}, already admitted "
        f"{second.counters.already_admitted}; LT's log holds {sum(held.values())} items"
    )
    assert held == Counter(to_json(message) for message in ALERTS)
    assert (first.counters.accepted, first.counters.already_admitted) == (4, 2)
    assert (second.counters.accepted, second.counters.already_admitted) == (2, 1)
