"""Allied pictures merged, over real nats-servers with accounts, credentials and TLS.

PL's and LT's nodes run suwalki-drones (other noise seeds) at one pace, each with its own
credentials; PL releases its tracks (``REL PL LT``) to LT through the hub. LT merges PL's
copies with its own tracks: it records one alliance track per object both track (nations
PL and LT, the meet of their labels), its page draws each object once, and nothing LT
fused goes back to PL: PL receives LT's own tracks, never an alliance track.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from nats.js.api import ConsumerConfig, DeliverPolicy

from hotzone.api.app import ApiConfig, create_app
from hotzone.bus import NatsBus
from hotzone.runtime.federation import (
    ALLIANCE_STREAM,
    SourceWatchdog,
    federation_streams,
    hub_streams,
    import_stream,
)
from hotzone.runtime.node import NodeOptions, run_node
from hotzone.store import SQLiteStore
from hotzone.types import Track, to_json
from hotzone.types.allied import contributing_nations
from hotzone.types.labels import Label, meet_all
from tests.api.alliance_views import objects_drawn
from tests.api.conftest import login
from tests.federation.helpers import alert, decode_shared, items_in
from tests.federation.servers import RunningFederation, running_federation

NATIONS = ["PL", "LT"]
SCENARIO = "suwalki-drones"
DURATION_S = 40.0


async def _stored(bus: NatsBus, domain: str, stream: str, subjects: str | None = None) -> int:
    info = await bus.client.jetstream(domain=domain).stream_info(stream, subjects_filter=subjects)
    if subjects is None:
        return int(info.state.messages)
    return sum((info.state.subjects or {}).values())


async def _imported_everything(
    sender: NatsBus, sender_code: str, nation: NatsBus, code: str
) -> None:
    """Until ``code``'s import stream holds every item ``sender_code`` released (all are
    addressed to it or to every member: the alliance is the two of them). Counted by
    origin: a nation's own ``NATO`` items (its audit checkpoints) come back into its import
    stream too, and a count that took them in was complete before a single copy of the
    ally's had arrived."""
    counts = {"released": 0, "imported": 0}

    async def count() -> None:
        counts["released"] = await items_in(
            sender.client.jetstream(domain=sender_code.lower()), f"HZ_{sender_code}_SHARE"
        )
        counts["imported"] = await items_in(
            nation.client.jetstream(domain=code.lower()),
            f"HZ_{code}_IMPORT",
            filter_subject=f"hz.share.*.{sender_code}.batch",
        )

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60.0
    await count()
    while not (0 < counts["released"] == counts["imported"]):
        assert loop.time() < deadline, f"{code} never imported {sender_code}'s copies: {counts}"
        await asyncio.sleep(0.25)
        await count()


async def _probe_arrived(lithuania: NatsBus) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60.0
    while await _stored(lithuania, "lt", "HZ_LT_IMPORT") == 0:
        assert loop.time() < deadline, "PL's probe never reached LT's import stream"
        await asyncio.sleep(0.25)


def _node(
    federation: RunningFederation, nation: str, directory: Path, seed: int, speed: float
) -> NodeOptions:
    assert federation.secrets is not None
    return NodeOptions(
        nation=nation,
        servers=[federation.url(nation)],
        scenario=SCENARIO,
        store_path=directory / f"{nation}.sqlite",
        domain=nation.lower(),
        alliance=tuple(NATIONS),
        credentials=federation.secrets.creds(nation),
        tls_ca=federation.secrets.ca,
        duration_s=DURATION_S,
        seed=seed,
        speed=speed,
    )


async def _share_and_merge(federation: RunningFederation, directory: Path) -> list[Track]:
    # The nations' share streams exist before the hub's ALLIANCE, which sources them, and
    # that before the import streams, which source it: a source made before its stream
    # failed and was tried again only after nats-server's backoff (up to about 40 s), so
    # LT's copies could reach the hub after the run (PL then received no LT track). The
    # hub's watchdog runs, as `federation hub --watch` runs it, and the path PL -> hub -> LT
    # carries a probe before the nodes start.
    buses = {
        nation: await NatsBus.connect(
            federation.url(nation),
            federation_streams(nation)[:-1],  # all but the import stream
            domain=nation.lower(),
            name=f"test-{nation}",
            **federation.connect_options(nation),
        )
        for nation in NATIONS
    }
    hub = await NatsBus.connect(
        federation.url("hub"),
        hub_streams(NATIONS),
        domain="hub",
        name="test-hub",
        **federation.connect_options("hub"),
    )
    for nation, bus in buses.items():
        await bus.ensure_streams([import_stream(nation)])
    stop_watching = asyncio.Event()
    watching = asyncio.create_task(SourceWatchdog(hub, ALLIANCE_STREAM).run(stop_watching))
    try:
        probe = alert("PL", 0, "REL PL LT")
        await buses["PL"].publish("hz.share.LT.PL.alert", to_json(probe))
        await _probe_arrived(buses["LT"])
        # Both replay at one pace (4x real time), as nations live on one clock.
        await asyncio.gather(
            run_node(_node(federation, "PL", directory, seed=1, speed=4.0)),
            run_node(_node(federation, "LT", directory, seed=2, speed=4.0)),
        )
        await _imported_everything(buses["LT"], "LT", buses["PL"], "PL")
        # Everything LT released, as it reached PL's servers, from the first message on.
        pull = (
            await buses["PL"]
            .client.jetstream(domain="pl")
            .pull_subscribe(
                "hz.share.>",  # addressed to PL, and NATO items (once per hop)
                stream="HZ_PL_IMPORT",
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=60.0),
            )
        )
        total = await _stored(buses["PL"], "pl", "HZ_PL_IMPORT")
        received: list[Track] = []
        subjects: list[str] = []
        while len(subjects) < total:
            for message in await pull.fetch(min(256, total - len(subjects)), timeout=10.0):
                subjects.append(message.subject)
                for decoded in decode_shared(message.subject, message.data):
                    if isinstance(decoded, Track):
                        received.append(decoded)
        assert all(".alliance." not in name for name in subjects)
        return received
    finally:
        stop_watching.set()
        await watching
        for bus in [hub, *buses.values()]:
            await bus.close()


def test_lt_merges_pl_copies_into_one_track_per_object_and_never_sends_them_back(
    tmp_path: Path,
) -> None:
    with running_federation(NATIONS, tmp_path / "servers", secure=True) as federation:
        received_by_pl = asyncio.run(_share_and_merge(federation, tmp_path))

    # PL received LT's own tracks, and not one alliance track.
    assert received_by_pl
    assert all(not track.contributions for track in received_by_pl)
    assert all(not track.track_id.startswith("alliance-") for track in received_by_pl)

    with SQLiteStore(tmp_path / "LT.sqlite") as lt_log:
        stored = [(m.subject, m.message) for m in lt_log.replay(types=["track"])]
    labels = {}
    for subject, track in stored:
        assert isinstance(track, Track)
        origin = "LT" if subject.startswith("hz.LT.trk.") else subject.split(".")[3]
        labels[f"{origin}:{track.track_id}", track.time] = track.releasability
    alliance = [t for s, t in stored if s == "hz.LT.alliance.trk"]
    assert alliance, "LT fused nothing"
    print(f"LT: {len(alliance)} alliance track updates, {len({t.track_id for t in alliance})} ids")
    for track in alliance:
        assert isinstance(track, Track)
        assert contributing_nations(track) == ["LT", "PL"]
        # No wider than any contribution's label as LT received it (all REL PL LT here).
        contributed = [
            Label.parse(label) for (name, _), label in labels.items() if name in track.contributions
        ]
        assert Label.parse(track.releasability).within(meet_all(contributed))
        assert track.releasability == "REL LT PL"

    # LT's page, served from LT's store: each object drawn once.
    config = ApiConfig(
        nation="LT",
        store_path=tmp_path / "LT.sqlite",
        scenario=SCENARIO,
        runs_directory=tmp_path / "runs",
    )
    with TestClient(create_app(config)) as client:
        views = client.get("/api/tracks", headers=login(client, "lt-operator")).json()
    last = max(t.time for s, t in stored if s.startswith("hz.LT.trk."))
    counts = objects_drawn(views, last.astimezone(UTC).isoformat())
    print(f"LT's page at the end: {len(counts)} objects, drawn {sorted(counts.values())}")
    assert len(counts) >= 3 and set(counts.values()) == {1}, counts
    fused_views = [v for v in views if v["contributions"] and v["status"] == "confirmed"]
    assert fused_views and all(v["nations"] == ["LT", "PL"] for v in fused_views)
    assert datetime.fromisoformat(fused_views[0]["time"]).tzinfo is not None
