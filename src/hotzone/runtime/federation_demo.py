"""``hotzone federation-demo``: an alliance hub and three nations on one machine.

Starts a hub and PL, LT and RO leaf nats-servers on 127.0.0.1 (free ports, stores in the
run folder) configured as `hotzone federation config` writes them: an account per nation,
credentials, TLS from one alliance CA (``servers/`` of the run folder). It runs
suwalki-drones in PL and LT and black-sea-coast in RO as three nodes, each with its
nation's credentials, shares what each label releases, prints each nation's picture, and
stops every server it started, whatever happens.

With `PictureServing` (``--serve``) each nation's picture is also served on the web while
the nations run, and afterwards until ``PictureServing.until`` returns (Ctrl-C on the
command line). The runtime may not import the API: the command layer passes the serving in.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client as NatsClient
from rich.console import Console
from rich.table import Table

from hotzone.bus import NatsBus
from hotzone.runtime import event_loop
from hotzone.runtime.federation import (
    ALLIANCE_STREAM,
    federation_streams,
    hub_streams,
    import_filters,
)
from hotzone.runtime.federation_security import FederationSecrets, secure_federation
from hotzone.runtime.federation_servers import (
    FederationPlan,
    NatsServerProcess,
    find_nats_server,
    plan_federation,
)
from hotzone.runtime.node import NodeOptions, NodeReport, run_node

DEMO_SCENARIOS = {"PL": "suwalki-drones", "LT": "suwalki-drones", "RO": "black-sea-coast"}
#: The nations replay at one pace, 2x real time, so their clocks stay together: each node
#: fuses its allies' copies with its own tracks of the same moment (a replay as fast as
#: possible runs ahead of the copies it receives, which then arrive too old to fuse).
DEMO_SPEED = 2.0


@dataclass(frozen=True)
class NationPicture:
    """Where one nation's picture comes from while the demo runs."""

    nation: str
    scenario: str
    nats_url: str
    #: The nation's JetStream domain on its leaf server.
    domain: str
    #: The node's store (the picture's app opens it too, for what people do on the page).
    store_path: Path
    run_directory: Path
    #: The nation's credentials (``{n}.creds``) and the alliance CA; None on open servers.
    credentials: Path | None = None
    tls_ca: Path | None = None


#: Serves the pictures while its context lasts; yields, per nation, what to announce
#: (its URL and who logs in).
ServePictures = Callable[[Sequence[NationPicture]], AbstractAsyncContextManager[Mapping[str, str]]]


@dataclass(frozen=True)
class PictureServing:
    """``--serve``: how the pictures are served, and until when once the nations are done."""

    serve: ServePictures
    until: Callable[[], Awaitable[object]]


def picture_table(reports: list[NodeReport]) -> Table:
    table = Table(title="each nation's picture", title_justify="left")
    table.add_column("nation")
    table.add_column("inputs", justify="right")
    table.add_column("own outputs", justify="right")
    table.add_column("released to")
    table.add_column("received from")
    table.add_column("refused", justify="right")
    for report in reports:
        outputs = sum(sum(counts.values()) for counts in report.progress.stage_outputs.values())
        table.add_row(
            report.nation,
            f"{sum(report.progress.published.values()):,}",
            f"{outputs:,}",
            ", ".join(f"{k} {v:,}" for k, v in sorted(report.shared_out.items())) or "-",
            ", ".join(f"{k} {v:,}" for k, v in sorted(report.received_from.items())) or "-",
            f"{report.refused:,}",
        )
    return table


async def _stored(client: NatsClient, domain: str, stream: str, subjects: str | None) -> int:
    info = await client.jetstream(domain=domain).stream_info(stream, subjects_filter=subjects)
    if subjects is None:
        return int(info.state.messages)
    return sum((info.state.subjects or {}).values())


async def alliance_settled(
    hub: NatsClient, nations: Mapping[str, NatsClient], timeout_s: float
) -> bool:
    """Whether, within ``timeout_s``, the hub holds every copy the nations released and
    each nation has admitted every copy addressed to it (JetStream counts). ``hub`` reads
    the ALLIANCE stream, each nation's client its own streams (with accounts, no client
    reads another account's JetStream)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        released = 0
        for nation, client in nations.items():
            released += await _stored(client, nation.lower(), f"HZ_{nation}_SHARE", None)
        settled = released == await _stored(hub, "hub", ALLIANCE_STREAM, None)
        for nation, client in nations.items():
            domain = nation.lower()
            imported = await _stored(client, domain, f"HZ_{nation}_IMPORT", None)
            admitted = await _stored(client, domain, f"HZ_{nation}", f"hz.{nation}.ally.>")
            addressed = 0
            for pattern in import_filters(nation):
                addressed += await _stored(hub, "hub", ALLIANCE_STREAM, pattern)
            # Its own NATO items come back through the hub and are not admitted again.
            own = await _stored(hub, "hub", ALLIANCE_STREAM, f"hz.share.NATO.{nation}.>")
            settled = settled and imported == addressed and admitted >= imported - own
        if settled:
            return True
        await asyncio.sleep(0.5)
    return False


def nation_pictures(
    plan: FederationPlan, directory: Path, secrets: FederationSecrets | None = None
) -> list[NationPicture]:
    return [
        NationPicture(
            nation=nation,
            scenario=DEMO_SCENARIOS[nation],
            nats_url=server.url,
            domain=server.domain,
            store_path=directory / f"{nation}.sqlite",
            run_directory=directory,
            credentials=secrets.creds(nation) if secrets is not None else None,
            tls_ca=secrets.ca if secrets is not None else None,
        )
        for nation, server in plan.nations.items()
    ]


def _served(
    serving: PictureServing | None, pictures: list[NationPicture]
) -> AbstractAsyncContextManager[Mapping[str, str]]:
    if serving is None:
        return contextlib.nullcontext({})
    return serving.serve(pictures)


async def _run_nations(
    plan: FederationPlan,
    secrets: FederationSecrets,
    directory: Path,
    duration_s: float,
    seed: int,
    console: Console,
    serving: PictureServing | None,
) -> list[NodeReport]:
    nations = list(plan.nations)
    pictures = nation_pictures(plan, directory, secrets)
    hub = await NatsBus.connect(
        plan.hub.url,
        hub_streams(nations),
        domain="hub",
        name="demo",
        user_credentials=secrets.creds("hub"),
        tls_ca=secrets.ca,
    )
    # What the demo itself reads of each nation (its streams' counts), as that nation.
    watchers = {
        picture.nation: await NatsBus.connect(
            picture.nats_url,
            federation_streams(picture.nation, archives=False),
            domain=picture.domain,
            ensure_streams=False,
            name=f"demo-{picture.nation}",
            user_credentials=picture.credentials,
            tls_ca=picture.tls_ca,
        )
        for picture in pictures
    }
    barrier = asyncio.Barrier(len(nations))

    async def all_done_and_shared() -> None:
        # The last node to finish its replay waits for the alliance picture to settle.
        clients = {nation: bus.client for nation, bus in watchers.items()}
        if await barrier.wait() == 0 and not await alliance_settled(hub.client, clients, 120):
            console.print("[yellow]the alliance picture did not settle within 120 s[/yellow]")
        await barrier.wait()

    try:
        # The pictures subscribe before the nodes publish: they show the whole run.
        async with _served(serving, pictures) as announced:
            for nation, announcement in announced.items():
                console.print(f"{nation} picture: {announcement}")
            reports = await _run_nodes(pictures, duration_s, seed, console, all_done_and_shared)
            console.print(picture_table(reports))
            if serving is not None:
                console.print("serving each nation's picture of the finished run (Ctrl-C stops)")
                await serving.until()
            return reports
    finally:
        for watcher in watchers.values():
            await watcher.close()
        await hub.close()


async def _run_nodes(
    pictures: Sequence[NationPicture],
    duration_s: float,
    seed: int,
    console: Console,
    before_close: Callable[[], Awaitable[object]],
) -> list[NodeReport]:
    nations = [picture.nation for picture in pictures]
    runs = [
        run_node(
            NodeOptions(
                nation=picture.nation,
                servers=[picture.nats_url],
                scenario=picture.scenario,
                store_path=picture.store_path,
                domain=picture.domain,
                alliance=tuple(nations),
                seed=seed,
                duration_s=duration_s,
                credentials=picture.credentials,
                tls_ca=picture.tls_ca,
                speed=DEMO_SPEED,
            ),
            before_close=before_close,
        )
        for picture in pictures
    ]
    console.print(f"running {', '.join(nations)} for {duration_s:.0f} simulated s …")
    return list(await asyncio.gather(*runs))


def run_federation_demo(
    parent: Path,
    duration_s: float = 120.0,
    seed: int = 1,
    console: Console | None = None,
    serving: PictureServing | None = None,
) -> list[NodeReport]:
    """Run the demo in a new folder under ``parent``; with ``serving``, serve each nation's
    picture while it runs and then until ``serving.until`` returns. Every nats-server it
    started is stopped when it returns, raises or is interrupted."""
    console = console or Console()
    binary = find_nats_server()
    directory = parent / f"federation-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    plan = plan_federation(list(DEMO_SCENARIOS), directory / "servers")
    # The servers as `hotzone federation config` writes them: accounts, credentials, TLS.
    secrets = secure_federation(plan, directory / "servers")
    processes = [
        NatsServerProcess(server, directory / "servers", binary) for server in plan.servers
    ]
    try:
        for process in processes:
            process.start()
            console.print(f"started nats-server {process.plan.name} at {process.plan.url}")
        reports = event_loop.run(
            _run_nations(plan, secrets, directory, duration_s, seed, console, serving)
        )
    finally:
        for process in processes:
            process.stop()
        console.print("stopped every nats-server the demo started")
    console.print(f"run folder: {directory}")
    return reports
