"""Sharing between nations over real nats-servers (hub + PL, LT, RO leaf nodes, each its
own JetStream domain): every nation receives exactly what is releasable to it."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import msgspec

from hotzone.bus import InProcessBus
from hotzone.runtime.federation import ShareBatch, SharedItem, ShareExporter, ShareImporter
from hotzone.runtime.routing import subject_for
from hotzone.share.releasability import recipients, releasable_to
from hotzone.types import Alert, AnyMessage, DeadLetter, from_json, to_json
from tests.federation.helpers import alert, collect, connect_federation, items_in, wait_for
from tests.federation.servers import running_federation

NATIONS = ["PL", "LT", "RO"]
LABELS = [
    "NATO",
    "REL PL LT",
    "REL PL RO",
    "REL LT RO",
    "REL PL LT RO",
    "REL LV EE",
    "NATIONAL PL",
    "NATIONAL LT",
    "NATIONAL RO",
]
MESSAGES = 10_000


def test_ten_thousand_mixed_labels_reach_exactly_the_nations_they_are_releasable_to(
    tmp_path: Path,
) -> None:
    rng = random.Random(8)
    sent = [alert(NATIONS[index % 3], index, rng.choice(LABELS)) for index in range(MESSAGES)]

    async def scenario() -> tuple[dict[str, list[AnyMessage]], dict[str, int], dict[str, int]]:
        """What each nation received, stored in its import stream and refused (and, under
        "hub", what the hub's ALLIANCE stream stored)."""
        with running_federation(NATIONS, tmp_path) as federation:
            hub, buses = await connect_federation(federation, NATIONS)
            stop = asyncio.Event()
            received: dict[str, list[AnyMessage]] = {nation: [] for nation in NATIONS}
            services = []
            tasks = []
            for nation, bus in buses.items():
                watcher = await bus.subscribe(f"hz.{nation}.ally.>")
                tasks.append(asyncio.create_task(collect(watcher, received[nation], stop)))
                for service in (ShareExporter(bus, nation, NATIONS), ShareImporter(bus, nation)):
                    ready = asyncio.Event()
                    tasks.append(asyncio.create_task(service.run(ready, stop)))
                    await ready.wait()
                    services.append(service)

            async def publish_from(origin: str) -> None:
                bus = buses[origin]
                for message in sent:
                    if message.alert_id.startswith(origin):
                        await bus.publish(subject_for(message, origin), to_json(message))

            await asyncio.gather(*(publish_from(origin) for origin in NATIONS))
            expected = {
                nation: sum(
                    1
                    for message in sent
                    if not message.alert_id.startswith(nation)
                    and releasable_to(message.releasability, nation)
                )
                for nation in NATIONS
            }
            await wait_for(
                lambda: all(len(received[n]) >= expected[n] for n in NATIONS),
                180,
                "every releasable alert to arrive",
            )
            await asyncio.sleep(1.0)  # anything extra would show up now
            hub_items = await items_in(hub.jetstream, "ALLIANCE")
            stop.set()
            await asyncio.gather(*tasks)
            # The items of every batch the import stream held (the importer read them all).
            stored = {
                service.nation: service.counters.read
                for service in services
                if isinstance(service, ShareImporter)
            }
            stored["hub"] = hub_items
            refused = {
                service.nation: service.counters.refused
                for service in services
                if isinstance(service, ShareImporter)
            }
            for bus in (hub, *buses.values()):
                await bus.close()
            return received, stored, refused

    received, stored, refused = asyncio.run(scenario())
    by_id = {message.alert_id: message for message in sent}
    # The hub holds a NATO item once, a REL item once per ally named.
    copies = [
        1
        if message.releasability == "NATO"
        else len(recipients(message.releasability, NATIONS, message.alert_id[:2]))
        for message in sent
    ]
    assert stored["hub"] == sum(copies)
    for nation in NATIONS:
        alerts = [message for message in received[nation] if isinstance(message, Alert)]
        assert len(alerts) == len(received[nation])
        ids = [message.alert_id for message in alerts]
        duplicated = [key for key, count in Counter(ids).items() if count > 1]
        assert not duplicated, f"{nation} received {len(duplicated)} alerts twice"
        leaks = [key for key in ids if not releasable_to(by_id[key].releasability, nation)]
        assert not leaks, f"{nation} received {len(leaks)} alerts not releasable to it"
        wanted = {
            key
            for key, message in by_id.items()
            if not key.startswith(nation) and releasable_to(message.releasability, nation)
        }
        assert set(ids) == wanted
        # Nothing else reached the nation's servers either (but the one copy of its own
        # NATO items, back from the hub and not re-imported), and nothing was refused.
        own_nato = {
            k for k, m in by_id.items() if k.startswith(nation) and m.releasability == "NATO"
        }
        assert stored[nation] == len(wanted) + len(own_nato)
        assert refused[nation] == 0


def test_a_copy_addressed_to_a_nation_it_is_not_releasable_to_is_refused(tmp_path: Path) -> None:
    """Defence in depth: a faulty exporter addresses a NATIONAL PL alert to LT anyway."""

    async def scenario() -> tuple[list[AnyMessage], list[AnyMessage], int]:
        with running_federation(["PL", "LT"], tmp_path) as federation:
            hub, buses = await connect_federation(federation, ["PL", "LT"])
            stop = asyncio.Event()
            admitted: list[AnyMessage] = []
            dead: list[AnyMessage] = []
            lithuania = buses["LT"]
            importer = ShareImporter(lithuania, "LT")
            tasks = [
                asyncio.create_task(
                    collect(await lithuania.subscribe("hz.LT.ally.>"), admitted, stop)
                ),
                asyncio.create_task(collect(await lithuania.subscribe("hz.LT.dead.>"), dead, stop)),
            ]
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(importer.run(ready, stop)))
            await ready.wait()
            for index, label in enumerate(["NATIONAL PL", "REL PL RO", "REL PL LT"]):
                await buses["PL"].publish(
                    "hz.share.LT.PL.alert", to_json(alert("PL", index, label))
                )
            # The same in one batch: each item is checked on its own.
            items = [
                SharedItem("alert", f"batched-{index}", to_json(alert("PL", 10 + index, label)))
                for index, label in enumerate(["NATIONAL PL", "REL PL RO", "REL PL LT"])
            ]
            await buses["PL"].publish(
                "hz.share.LT.PL.batch", msgspec.msgpack.encode(ShareBatch(items))
            )
            await wait_for(lambda: importer.counters.read >= 6, 60, "six copies at LT")
            await wait_for(lambda: len(dead) >= 4 and len(admitted) >= 2, 10, "their fate")
            stop.set()
            await asyncio.gather(*tasks)
            for bus in (hub, *buses.values()):
                await bus.close()
            return admitted, dead, importer.counters.refused

    admitted, dead, refused = asyncio.run(scenario())
    assert [message.releasability for message in admitted] == ["REL PL LT"] * 2  # type: ignore[attr-defined]
    assert refused == 4
    assert all(isinstance(letter, DeadLetter) for letter in dead)
    assert all("not releasable to LT" in letter.reason for letter in dead)  # type: ignore[attr-defined]


def test_what_one_shared_batch_admits_is_one_stored_batch_read_item_by_item(
    tmp_path: Path,
) -> None:
    """A shared batch of an ally's window (here 300 alerts, one label) goes into LT's log as
    one bus batch: stored once (the same batch again adds nothing), and a reader of LT's
    log gets every item on its own, in order, with its id."""

    async def scenario() -> tuple[list[AnyMessage], list[str], int, tuple[int, int]]:
        with running_federation(["PL", "LT"], tmp_path) as federation:
            hub, buses = await connect_federation(federation, ["PL", "LT"])
            stop = asyncio.Event()
            lithuania = buses["LT"]
            importer = ShareImporter(lithuania, "LT")
            reader = await lithuania.subscribe("hz.LT.ally.>")
            ready = asyncio.Event()
            importing = asyncio.create_task(importer.run(ready, stop))
            await ready.wait()
            items = [
                SharedItem("alert", f"window-1/{index}", to_json(alert("PL", index, "REL PL LT")))
                for index in range(300)
            ]
            batch = msgspec.msgpack.encode(ShareBatch(items))
            for _ in range(2):  # the second: a redelivery after a restart, the same bytes
                await buses["PL"].publish("hz.share.LT.PL.batch", batch)
            await wait_for(lambda: importer.counters.read >= 600, 60, "both copies read")
            admitted: list[AnyMessage] = []
            ids: list[str] = []
            while (message := await reader.next(timeout_s=2.0)) is not None:
                admitted.append(from_json(message.payload))
                ids.append(message.headers.get("Nats-Msg-Id", ""))
            stored = (await lithuania.jetstream.stream_info("HZ_LT")).state
            stop.set()
            await importing
            for bus in (hub, *buses.values()):
                await bus.close()
            counters = importer.counters
            return admitted, ids, stored.messages, (counters.accepted, counters.already_admitted)

    admitted, ids, stored, (accepted, already_admitted) = asyncio.run(scenario())
    assert [m.alert_id for m in admitted if isinstance(m, Alert)] == [
        alert("PL", index, "REL PL LT").alert_id for index in range(300)
    ]
    assert ids == [f"window-1/{index}<LT" for index in range(300)]
    # Each copy checked; the second's items were admitted already (not published again).
    assert (accepted, already_admitted) == (300, 300)
    assert stored == 1  # LT's log: one batch (nothing else was published there)


def _label_given_twice(index: int, first: str, last: str) -> bytes:
    """An alert whose label key appears twice (as a forger might write it): JSON readers
    disagree on such objects, so the sharing path must read the one every reader reads."""
    encoded = to_json(alert("PL", index, first))
    return encoded[:-1] + b',"releasability":"' + last.encode() + b'"}'


def test_the_exporter_reads_the_label_every_reader_reads_and_releases_bytes_unchanged() -> None:
    """The exporter reads only an item's label, the importer the whole item: for a label
    key given twice both take the last (as `from_json` does), so a message its readers see
    as NATIONAL PL is never released, whatever its first label says; what is released
    reaches LT byte for byte, and bytes that are not a message are dead letters."""

    async def scenario() -> tuple[list[bytes], list[str], ShareExporter]:
        bus = InProcessBus()
        stop = asyncio.Event()
        exporter = ShareExporter(bus, "PL", ["PL", "LT"])
        importer = ShareImporter(bus, "LT")
        admitted = await bus.subscribe("hz.LT.ally.>")
        dead = await bus.subscribe("hz.*.dead.>")
        tasks = []
        for service in (exporter, importer):
            ready = asyncio.Event()
            tasks.append(asyncio.create_task(service.run(ready, stop)))
            await ready.wait()
        published = [
            _label_given_twice(0, "REL PL LT", "NATIONAL PL"),  # a reader sees NATIONAL PL
            _label_given_twice(1, "NATIONAL PL", "REL PL LT"),  # a reader sees REL PL LT
            b"not json",
            to_json(alert("PL", 2, "REL PL LT")),
        ]
        for payload in published:
            await bus.publish("hz.PL.alert", payload)
        received, reasons = [], []
        while len(received) < 2:
            message = await admitted.next(timeout_s=10.0)
            assert message is not None, f"only {len(received)} of 2 released items arrived"
            received.append(message.payload)
        while (letter := await dead.next(timeout_s=0.5)) is not None:
            reasons.append(letter.subject)
        stop.set()
        await asyncio.gather(*tasks)
        await bus.close()
        return received, reasons, exporter

    received, dead_letters, exporter = asyncio.run(scenario())
    assert received == [
        _label_given_twice(1, "NATIONAL PL", "REL PL LT"),
        to_json(alert("PL", 2, "REL PL LT")),
    ]
    assert [str(from_json(payload).releasability) for payload in received] == ["REL PL LT"] * 2  # type: ignore[attr-defined]
    assert dead_letters == ["hz.PL.dead.share-export"]
    assert exporter.counters.kept_national == 1
    assert exporter.counters.by_recipient == Counter({"LT": 2})
