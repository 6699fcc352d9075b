"""The whole alliance: 32 nations, each its own nats-server, account and credentials.

`hotzone federation config` writes the configs of a hub and 32 nation servers (accounts,
credentials, TLS), which run as processes on this machine (started together). Every
nation connects with its own credentials and runs its importer; four nations release
``NATO``, ``REL`` and ``NATIONAL`` alerts. Each nation must receive exactly what is
releasable to it, once; the hub must hold a ``NATO`` item once and a ``REL`` item once per
ally named; no origin re-imports its own ``NATO`` item.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

from hotzone.bus import NatsBus, nation_streams
from hotzone.cli import main
from hotzone.commands.common import comma_list
from hotzone.runtime.federation import (
    ShareExporter,
    ShareImporter,
    federation_streams,
    hub_streams,
)
from hotzone.runtime.routing import subject_for
from hotzone.share.releasability import recipients, releasable_to
from hotzone.types import Alert, AnyMessage, to_json
from tests.federation.helpers import alert, collect, items_in, wait_for
from tests.federation.servers import (
    ConfiguredFederation,
    configured_federation,
    wait_for_leaves,
)

NATO_MEMBERS = comma_list(
    "AL,BE,BG,CA,HR,CZ,DK,EE,FI,FR,DE,GR,HU,IS,IT,LV,LT,LU,ME,NL,MK,NO,PL,PT,RO,SK,SI,ES,SE,TR,GB,US"
)
"""The 32 member states (ISO 3166 codes; GB for the United Kingdom)."""
ORIGINS = ["PL", "US", "TR", "EE"]
ITEMS_PER_ORIGIN = 12


def releases(rng: random.Random) -> list[Alert]:
    """Per origin: NATO items, REL lists of 2-6 members (the origin among them) and one
    NATIONAL item."""
    sent = []
    for origin in ORIGINS:
        for index in range(ITEMS_PER_ORIGIN):
            if index % 4 == 0:
                label = "NATO"
            elif index == ITEMS_PER_ORIGIN - 1:
                label = f"NATIONAL {origin}"
            else:
                others = rng.sample([n for n in NATO_MEMBERS if n != origin], rng.randint(1, 5))
                label = "REL " + " ".join(sorted([origin, *others]))
            sent.append(alert(origin, index, label))
    return sent


def _resident_mib(federation: ConfiguredFederation) -> float:
    """Resident memory of the servers now (Linux /proc), to see what 33 servers take."""
    total_kib = 0
    for process in federation.processes:
        assert process.process is not None
        status = Path(f"/proc/{process.process.pid}/status").read_text()
        rss = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        total_kib += int(rss.split()[1])
    return total_kib / 1024


async def _make_share_streams(federation: ConfiguredFederation) -> None:
    async def make(nation: str) -> None:
        bus = await NatsBus.connect(
            federation.url(nation),
            nation_streams(nation, archives=False),
            domain=nation.lower(),
            user_credentials=federation.creds(nation),
            tls_ca=federation.ca,
        )
        await bus.close()

    await asyncio.gather(*(make(nation) for nation in NATO_MEMBERS))


async def _share(
    federation: ConfiguredFederation, sent: list[Alert]
) -> tuple[dict[str, list[AnyMessage]], dict[str, ShareImporter], dict[str, int]]:
    """Every nation's admitted copies, its importer, and the messages its import stream and
    the hub's ALLIANCE stream (key "hub") hold once all is delivered."""
    started = time.monotonic()
    connected = await asyncio.gather(
        *(
            NatsBus.connect(
                federation.url(nation),
                federation_streams(nation, archives=False),
                domain=nation.lower(),
                name=f"test-{nation}",
                user_credentials=federation.creds(nation),
                tls_ca=federation.ca,
            )
            for nation in NATO_MEMBERS
        )
    )
    buses = dict(zip(NATO_MEMBERS, connected, strict=True))
    print(f"32 nations connected, streams ensured: {time.monotonic() - started:.1f} s")
    stop = asyncio.Event()
    received: dict[str, list[AnyMessage]] = {nation: [] for nation in NATO_MEMBERS}
    importers = {nation: ShareImporter(bus, nation) for nation, bus in buses.items()}
    services: list[ShareExporter | ShareImporter] = [*importers.values()]
    services += [ShareExporter(buses[origin], origin, NATO_MEMBERS) for origin in ORIGINS]
    tasks = []
    for nation, bus in buses.items():
        watcher = await bus.subscribe(f"hz.{nation}.ally.>")
        tasks.append(asyncio.create_task(collect(watcher, received[nation], stop)))
    readiness = []
    for service in services:
        ready = asyncio.Event()
        readiness.append(ready.wait())
        tasks.append(asyncio.create_task(service.run(ready, stop)))
    await asyncio.gather(*readiness)

    started = time.monotonic()
    for message in sent:
        origin = message.alert_id.split("-")[0]
        await buses[origin].publish(subject_for(message, origin), to_json(message))
    expected = {
        nation: sum(
            1
            for m in sent
            if not m.alert_id.startswith(nation) and releasable_to(m.releasability, nation)
        )
        for nation in NATO_MEMBERS
    }
    own_nato = {
        origin: sum(1 for m in sent if m.alert_id.startswith(origin) and m.releasability == "NATO")
        for origin in ORIGINS
    }
    await wait_for(
        lambda: (
            all(importers[n].counters.accepted >= expected[n] for n in NATO_MEMBERS)
            and all(importers[o].counters.own_returned >= own_nato[o] for o in ORIGINS)
            and all(len(received[n]) >= expected[n] for n in NATO_MEMBERS)
        ),
        120,
        "every nation to receive its releases",
    )
    print(f"{len(sent)} items shared among 32 nations in {time.monotonic() - started:.1f} s")
    await asyncio.sleep(1.0)  # anything extra would show up now
    stored = {
        nation: await items_in(bus.jetstream, f"HZ_{nation}_IMPORT")
        for nation, bus in buses.items()
    }
    stop.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(bus.close() for bus in buses.values()))
    hub = await NatsBus.connect(
        federation.url("hub"),
        hub_streams(NATO_MEMBERS),
        domain="hub",
        user_credentials=federation.creds("hub"),
        tls_ca=federation.ca,
    )
    stored["hub"] = await items_in(hub.jetstream, "ALLIANCE")
    await hub.close()
    return received, importers, stored


def test_thirty_two_nations_each_receive_exactly_their_releases_once(tmp_path: Path) -> None:
    sent = releases(random.Random(32))
    started = time.monotonic()
    with configured_federation(NATO_MEMBERS, tmp_path, parallel=True) as federation:
        print(f"hub + 32 nation servers started: {time.monotonic() - started:.1f} s")
        # Each nation's share stream first, so that the hub's sources find them at once:
        # a source that finds no stream is retried after a backoff (10 s, then longer),
        # the catch-up delay of issue #13 item 5, not what this test is about.
        asyncio.run(_make_share_streams(federation))
        wait_for_leaves(federation.processes, len(NATO_MEMBERS), 60.0)
        print(f"every leaf connected: {time.monotonic() - started:.1f} s")
        hub = ["federation", "hub", "--nations", ",".join(NATO_MEMBERS)]
        hub += ["--nats", federation.url("hub"), "--creds", str(federation.creds("hub"))]
        assert main([*hub, "--tls-ca", str(federation.ca)]) == 0
        received, importers, stored = asyncio.run(_share(federation, sent))
        print(f"the 33 servers' resident memory: {_resident_mib(federation):.0f} MiB")

    origin_of = {m.alert_id: m.alert_id.split("-")[0] for m in sent}
    labels = {m.alert_id: m.releasability for m in sent}
    for nation in NATO_MEMBERS:
        got = Counter(m.alert_id for m in received[nation] if isinstance(m, Alert))
        wanted = {
            key
            for key, label in labels.items()
            if origin_of[key] != nation and releasable_to(label, nation)
        }
        assert set(got) == wanted, nation
        assert set(got.values()) <= {1}, f"{nation} received an item twice"
        importer = importers[nation].counters
        assert importer.accepted == len(wanted), nation  # each copy handled once
        assert importer.refused == 0, nation
        own_nato = sum(1 for k, o in origin_of.items() if o == nation and labels[k] == "NATO")
        assert importer.own_returned == own_nato, nation
        # Its import stream: the REL copies addressed to it and every NATO item, no more.
        addressed = sum(1 for k, label in labels.items() if label != "NATO" and k in wanted) + sum(
            1 for label in labels.values() if label == "NATO"
        )
        assert stored[nation] == addressed, nation
    # Every nation received something: the NATO items reach all 32.
    assert all(received[nation] for nation in NATO_MEMBERS)
    # The hub holds a NATO item once, a REL item once per ally it names.
    copies = sum(
        1 if label == "NATO" else len(recipients(label, NATO_MEMBERS, origin_of[key]))
        for key, label in labels.items()
    )
    assert stored["hub"] == copies
