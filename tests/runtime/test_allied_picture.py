"""A node's picture of the objects it and an ally both track: one track per object.

LT's node, as `build_stages` composes it for a node with allies, on the in-process bus:
its own tracks (the real tracker on suwalki-drones) on ``hz.LT.trk.suwalki`` and PL's copies
of the same objects (PL's tracker, another noise seed) on ``hz.LT.ally.PL.trk.suwalki``, as
the share importer admits them. What LT's API then gives its page: one alliance track per
object both track, with nations PL and LT and the meet of their labels; the national
tracks under it marked (`fused_into`); PL's copy of an object LT does not track, alone.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from fastapi.testclient import TestClient

from hotzone.api.app import ApiConfig, create_app
from hotzone.bus import InProcessBus
from hotzone.geo import LocalFrame
from hotzone.runtime.federation import SHARED_FAMILIES
from hotzone.runtime.node import node_stages
from hotzone.runtime.pipeline import delivery_time
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import RecorderService, StageService, encode_tick
from hotzone.runtime.stages import build_stages, tracking_stage
from hotzone.sim.scenario import load_scenario
from hotzone.sim.simulator import simulate
from hotzone.store import SQLiteStore
from hotzone.types import Track, to_json
from hotzone.types.labels import Label
from hotzone.types.subjects import alliance_track_subject, clock_subject, subject_matches
from tests.api.alliance_views import drawn, objects_drawn
from tests.api.conftest import login

SCENARIO = "suwalki-drones"
DURATION_S = 40.0
ALLIED_LABEL = "NATO"  # PL releases its copies wider than LT's own label (REL LT PL)


def _tracker_outputs(seed: int) -> dict[float, list[Track]]:
    """Each second's confirmed tracks of one nation's tracker, by the step's POSIX time."""
    scenario = load_scenario(SCENARIO)
    stage = tracking_stage(scenario)
    outputs: dict[float, list[Track]] = {}
    window: list[Any] = []
    next_step: float | None = None
    for message in simulate(scenario, seed=seed, duration_s=DURATION_S):
        at = delivery_time(message)
        next_step = next_step or math.floor(at) + 1.0
        while at >= next_step:
            step = stage.step(datetime.fromtimestamp(next_step, UTC), window)
            outputs[next_step] = [t for t in step if isinstance(t, Track)]
            window, next_step = [], next_step + 1.0
        if stage.accepts(message):
            window.append(message)
    return outputs


def _distance_m(first: Track, second: Track) -> float:
    frame = LocalFrame(first.position.lat_deg, first.position.lon_deg, 0.0)
    east, north, _ = frame.geodetic_to_enu(
        second.position.lat_deg, second.position.lon_deg, first.position.height_m
    )
    return float(math.hypot(float(east), float(north)))


def test_the_owner_with_allies_merges_allied_copies_and_a_sector_node_does_not(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(SCENARIO)

    def names(sectors: tuple[str, ...] = (), owner: bool = True, **options: Any) -> list[str]:
        built = build_stages(scenario, nation="LT", home=tmp_path, sectors=sectors, **options)
        return [stage.name for stage in node_stages(built.stages, scenario, sectors, owner)]

    assert "alliance" in names(allied=True)
    assert "alliance" in names(("suwalki",), owner=True, allied=True)
    assert "alliance" not in names()
    # A sector node reads only its sectors' subjects: no allied copies reach it.
    assert "alliance" not in names(("suwalki",), owner=False, allied=True)


def test_lt_shows_one_track_per_object_it_and_pl_track(tmp_path: Path) -> None:
    own, allied = _tracker_outputs(seed=2), _tracker_outputs(seed=1)
    last_step = max(own)
    # LT does not see one object PL tracks: drop every report of one of LT's tracks.
    dropped = min(own[last_step], key=lambda t: t.track_id)
    own = {at: [t for t in tracks if t.track_id != dropped.track_id] for at, tracks in own.items()}
    pl_alone = min(allied[last_step], key=lambda t: _distance_m(t, dropped))
    store_path = tmp_path / "LT.sqlite"
    built = build_stages(load_scenario(SCENARIO), nation="LT", home=tmp_path, allied=True)
    (alliance,) = [stage for stage in built.stages if stage.name == "alliance"]

    async def run() -> None:
        bus = InProcessBus()
        with SQLiteStore(store_path) as store:
            services = [StageService(alliance, bus, "LT"), RecorderService(bus, store, "LT")]
            tasks = []
            for service in services:
                ready = asyncio.Event()
                tasks.append(asyncio.create_task(service.run(ready)))
                await ready.wait()
            # PL replays ahead of LT: all its copies are in LT's log before LT's tracks.
            for at in sorted(allied):
                for track in allied[at]:
                    copy = to_json(_relabelled(track, ALLIED_LABEL))
                    await bus.publish("hz.LT.ally.PL.trk.suwalki", copy)
            for ticks, at in enumerate([*sorted(own), max(own) + 1.0], start=1):
                for track in own.get(at, []):
                    await bus.publish("hz.LT.trk.suwalki", to_json(track))
                await bus.publish(clock_subject("LT"), encode_tick(at + 1.0), {"kind": "tick"})
                # As the pipeline does: a window's outputs are out before the next tick.
                while any(service.ticks_done < ticks for service in services):
                    await asyncio.sleep(0.001)
            await bus.publish(clock_subject("LT"), encode_tick(0.0), {"kind": "shutdown"})
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
        await bus.close()

    asyncio.run(run())

    config = ApiConfig(
        nation="LT", store_path=store_path, scenario=SCENARIO, runs_directory=tmp_path / "runs"
    )
    with TestClient(create_app(config)) as client:
        views = client.get("/api/tracks", headers=login(client, "lt-operator")).json()
    by_id = {view["track_id"]: view for view in views}
    fused = [v for v in views if v["contributions"] and v["status"] == "confirmed"]
    assert fused, "no alliance track on LT's page"
    for view in fused:
        assert view["nations"] == ["LT", "PL"]
        members = [by_id[name] for name in view["contributions"]]
        assert {m["nations"][0] for m in members} == {"LT", "PL"}
        assert all(m["fused_into"] == view["track_id"] for m in members)
        # Releasable only where every contribution is: REL LT PL, not PL's NATO.
        expected = Label.parse(members[0]["releasability"]).meet(
            Label.parse(members[1]["releasability"])
        )
        assert view["releasability"] == expected.text == "REL LT PL"

    # The page draws what is confirmed and not under an alliance track it holds: at the
    # end, every object tracked by LT or PL is drawn once.
    final = datetime.fromtimestamp(last_step, UTC).isoformat()
    counts = objects_drawn(views, final)
    assert len(counts) >= 3 and set(counts.values()) == {1}, counts
    # PL's copy of the object LT does not track stays PL's, drawn as such.
    alone = by_id[f"PL:{pl_alone.track_id}"]
    assert alone["fused_into"] is None and drawn(alone, by_id) and alone["nations"] == ["PL"]


def _relabelled(track: Track, label: str) -> Track:
    return msgspec.structs.replace(track, releasability=label)


def test_alliance_tracks_travel_where_no_stage_and_no_exporter_reads(tmp_path: Path) -> None:
    own = _tracker_outputs(seed=2)
    track = msgspec.structs.replace(
        own[max(own)][0], track_id="alliance-1", contributions=("LT:suwalki-1", "PL:suwalki-1")
    )
    subject = subject_for(track, "LT")
    assert subject == alliance_track_subject("LT") == "hz.LT.alliance.trk"
    # The exporter shares only these families: an alliance track is never among them, so
    # nothing fused from PL's copies goes back to PL as LT's own.
    assert not any(subject_matches(f"hz.LT.{family}", subject) for family in SHARED_FAMILIES)
    built = build_stages(load_scenario(SCENARIO), nation="LT", home=tmp_path, allied=True)
    for stage in built.stages:
        assert not any(subject_matches(f"hz.LT.{p}", subject) for p in stage.input_subjects)
