"""``hotzone federation-demo --serve``: real nats-servers, three live pictures, a real browser.

The demo runs in a thread (its own event loop) while the test looks at the pictures from
outside, as a person would: LT's page must hold LT's own tracks and the copies PL and RO
released to it, and nothing PL keeps national. To be sure a national message existed,
the test publishes two probe tracks into PL's log during the run, one labelled
``NATIONAL PL`` and one ``REL PL LT``: PL's picture shows both, LT's only the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from rich.console import Console

from hotzone.api.allied import name_allied_copy
from hotzone.api.federation_pictures import serve_nation_pictures
from hotzone.api.live import bind_listener
from hotzone.bus import NatsBus, nation_streams
from hotzone.bus.nats import NatsConnectError
from hotzone.cli import main
from hotzone.runtime.federation_demo import NationPicture, PictureServing, run_federation_demo
from hotzone.runtime.node import NodeReport
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    Assessment,
    AuditCheckpoint,
    GeoPoint,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
    to_json,
)
from tests.federation.helpers import EPOCH
from tests.federation.servers import nats_server_binary
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

NATIONS = ("PL", "LT", "RO")
PROBE_LABELS = {"probe-national": "NATIONAL PL", "probe-shared": "REL PL LT"}
# On the shared two-core test machine the 60 simulated seconds take about 40 s (replayed at
# `DEMO_SPEED`, 2x real time).
RUN_TIMEOUT_S = 240.0


def _probe_track(track_id: str, label: str, time: datetime) -> Track:
    return Track(
        track_id=track_id,
        track_number=9000 + len(track_id),
        time=time,
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=54.1, lon_deg=22.95, height_m=300.0),
        sector="suwalki",
        enu_position_m=(0.0, 0.0, 300.0),
        enu_velocity_mps=(10.0, 0.0, 0.0),
        covariance=tuple(tuple(100.0 if i == j else 0.0 for j in range(6)) for i in range(6)),
        quality=0.9,
        releasability=label,
    )


async def _api_get(url: str, username: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        login = {"username": username, "password": f"{username}-test"}
        token = (await client.post("/api/login", json=login)).json()["token"]
        response = await client.get(path, headers={"authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.json()


async def _publish_probes(pl: NationPicture, pl_url: str) -> None:
    """Once PL's pipeline makes tracks (its share exporter reads PL's log by then), publish
    the probes into PL's log, stamped with PL's simulated clock."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RUN_TIMEOUT_S
    while not await _api_get(pl_url, "observer", "/api/tracks"):
        assert loop.time() < deadline, "PL's picture never showed a track"
        await asyncio.sleep(0.2)
    clock = datetime.fromisoformat((await _api_get(pl_url, "observer", "/api/status"))["clock"])
    bus = await NatsBus.connect(
        pl.nats_url,
        nation_streams("PL", archives=False)[:1],
        domain=pl.domain,
        ensure_streams=False,
        name="test-probe",
        user_credentials=pl.credentials,
        tls_ca=pl.tls_ca,
    )
    try:
        for track_id, label in PROBE_LABELS.items():
            await bus.publish("hz.PL.trk.suwalki", to_json(_probe_track(track_id, label, clock)))
    finally:
        await bus.close()


class DemoInThread:
    """``run_federation_demo`` with served pictures in a thread; the test decides when the
    serving ends (`release`), instead of Ctrl-C."""

    def __init__(self, parent: Path, listeners: Mapping[str, socket.socket]) -> None:
        self.listeners = listeners
        self.finished = threading.Event()
        self.release = threading.Event()
        self.urls: dict[str, str] = {}
        self.reports: list[NodeReport] = []
        self.pictures: list[NationPicture] = []
        self.errors: list[BaseException] = []
        self.output = io.StringIO()
        serving = PictureServing(serve=self._serve, until=self._until_released)
        self.thread = threading.Thread(target=self._run, args=(parent, serving), daemon=True)

    @contextlib.asynccontextmanager
    async def _serve(self, pictures: Sequence[NationPicture]) -> AsyncIterator[Mapping[str, str]]:
        self.pictures = list(pictures)
        async with serve_nation_pictures(pictures, self.listeners) as announced:
            for nation, announcement in announced.items():
                self.urls[nation] = announcement.split()[0].rstrip("/")
            pl = next(p for p in pictures if p.nation == "PL")
            probes = asyncio.create_task(_publish_probes(pl, self.urls["PL"]))
            try:
                yield announced
            finally:
                probes.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probes

    async def _until_released(self) -> None:
        self.finished.set()
        while not self.release.is_set():
            await asyncio.sleep(0.1)

    def _run(self, parent: Path, serving: PictureServing) -> None:
        try:
            console = Console(file=self.output, width=120)
            self.reports = run_federation_demo(
                parent, 60.0, seed=1, console=console, serving=serving
            )
        except BaseException as error:  # reported by the test, in its own thread
            self.errors.append(error)
        finally:
            self.finished.set()


async def _refused(url: str, **options: Any) -> bool:
    try:
        bus = await NatsBus.connect(
            url, [], ensure_streams=False, connect_deadline_s=3.0, name="test-intruder", **options
        )
    except NatsConnectError:
        return True
    await bus.close()
    return False


async def _plaintext_refused(url: str) -> bool:
    """A client that answers the server's INFO in plaintext gets no PONG: the server wants
    TLS (it says so in its INFO) and drops the connection."""
    host, port = url.removeprefix("tls://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        info = await asyncio.wait_for(reader.readline(), 10)
        assert b'"tls_required":true' in info, info
        writer.write(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 10)
    except (ConnectionError, TimeoutError):
        return True
    finally:
        writer.close()
    return b"PONG" not in answer


async def _refusals_of(pictures: Sequence[NationPicture]) -> dict[str, bool]:
    """Whether PL's server refuses a client without credentials (TLS verified) and one that
    speaks plaintext."""
    pl = next(p for p in pictures if p.nation == "PL")
    return {
        "no credentials": await _refused(pl.nats_url, tls_ca=pl.tls_ca),
        "plaintext": await _plaintext_refused(pl.nats_url),
    }


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (e.g. a run folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if text in command:
            found.append(command)
    return found


def _page_track_ids(url: str, username: str) -> list[str]:
    """The confirmed tracks LT's page lists, once allied ones from PL and RO are there."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(url + "/")
            page.fill("#username", username)
            page.fill("#password", f"{username}-test")
            page.click("#login-button")
            page.wait_for_selector("body[data-ready=true]", timeout=60_000)
            for prefix in ("PL:", "RO:"):
                expect(page.locator(f'#tracks li[data-track-id^="{prefix}"]').first).to_be_visible(
                    timeout=30_000
                )
            ids: list[str] = page.eval_on_selector_all(
                "#tracks li[data-track-id]", "items => items.map(i => i.dataset.trackId)"
            )
            # An ally's track number is the origin's: the list says whose it is.
            allied_texts: list[str] = page.eval_on_selector_all(
                '#tracks li[data-track-id^="PL:"]', "items => items.map(i => i.textContent)"
            )
            assert allied_texts and all(text.startswith("PL TN") for text in allied_texts)
            # An object LT and PL both track is listed once: their alliance track.
            fused_texts: list[str] = page.eval_on_selector_all(
                '#tracks li[data-track-id^="alliance-"]', "items => items.map(i => i.textContent)"
            )
            assert fused_texts and all(text.startswith("LT+PL AT") for text in fused_texts)
            return ids
        finally:
            browser.close()


@pytest.mark.slow(42)
def test_each_nation_sees_its_own_and_released_allied_tracks_live_then_everything_stops(
    tmp_path: Path,
) -> None:
    nats_server_binary()  # no nats-server is a failure with the reason
    listeners = {nation: bind_listener("127.0.0.1", 0) for nation in NATIONS}
    ports = [int(listener.getsockname()[1]) for listener in listeners.values()]
    demo = DemoInThread(tmp_path, listeners)
    demo.thread.start()
    try:
        assert demo.finished.wait(RUN_TIMEOUT_S), "the demo did not finish its run in time"
        assert not demo.errors, f"the demo failed: {demo.errors!r}\n{demo.output.getvalue()}"
        refusals = asyncio.run(_refusals_of(demo.pictures))
        lt_tracks = asyncio.run(_api_get(demo.urls["LT"], "lt-operator", "/api/tracks"))
        pl_tracks = asyncio.run(_api_get(demo.urls["PL"], "observer", "/api/tracks"))
        ro_tracks = asyncio.run(_api_get(demo.urls["RO"], "ro-observer", "/api/tracks"))
        page_ids = _page_track_ids(demo.urls["LT"], "lt-operator")
    finally:
        demo.release.set()
        demo.thread.join(timeout=120)
    assert not demo.thread.is_alive(), "the demo did not stop after its serving was released"
    assert not demo.errors, f"the demo failed: {demo.errors!r}\n{demo.output.getvalue()}"

    # LT's store witnesses PL's audit history: PL's signed checkpoints were shared with it,
    # and PL's chain verifies against them.
    (pl_store,) = tmp_path.rglob("PL.sqlite")
    (lt_store,) = tmp_path.rglob("LT.sqlite")
    with SQLiteStore(lt_store) as lt_log:
        witnessed = [
            m.message
            for m in lt_log.replay(types=["audit_checkpoint"])
            if isinstance(m.message, AuditCheckpoint) and m.message.nation == "PL"
        ]
    assert any(checkpoint.final for checkpoint in witnessed)
    assert main(["audit", "verify", str(pl_store), "--witness", str(lt_store)]) == 0

    # The demo's servers are the secured ones: every nation connects with its own
    # credentials over TLS, and a client with neither (or plaintext) is refused.
    assert all(p.nats_url.startswith("tls://") and p.credentials for p in demo.pictures)
    assert refusals == {"no credentials": True, "plaintext": True}, refusals

    # PL's own picture holds both probes: the national one existed during the run.
    pl_labels = {t["track_id"]: t["releasability"] for t in pl_tracks}
    assert {k: pl_labels.get(k) for k in PROBE_LABELS} == PROBE_LABELS
    # LT: own tracks, PL's and RO's released copies (named after their origin), and not
    # one thing PL keeps national.
    lt_ids = {t["track_id"] for t in lt_tracks}
    assert any(":" not in track_id for track_id in lt_ids), lt_ids
    assert any(track_id.startswith("PL:suwalki-") for track_id in lt_ids), lt_ids
    assert any(track_id.startswith("RO:") for track_id in lt_ids), lt_ids
    assert "PL:probe-shared" in lt_ids
    assert "PL:probe-national" not in lt_ids
    assert all(t["releasability"] != "NATIONAL PL" for t in lt_tracks)
    # PL's assessments come with its tracks: LT sees what PL judged its tracks to be.
    pl_classes = {t["track_id"]: t["target_class"] for t in pl_tracks}
    assessed = {
        t["track_id"]: t["target_class"]
        for t in lt_tracks
        if t["track_id"].startswith("PL:suwalki-") and t["target_class"] != "unknown"
    }
    assert assessed, "no allied track from PL came with its assessment"
    assert all(pl_classes[track_id[3:]] == klass for track_id, klass in assessed.items())
    # The page in the browser draws that same picture.
    assert "PL:probe-shared" in page_ids
    assert "PL:probe-national" not in page_ids
    # LT merged PL's copies of the objects both track (the same scenario): one alliance
    # track each, nations LT and PL, releasable where both are; the page draws it, not
    # the national tracks under it.
    fused = [t for t in lt_tracks if t["contributions"] and t["status"] == "confirmed"]
    assert fused, "LT's picture holds no alliance track"
    assert all(t["nations"] == ["LT", "PL"] for t in fused)
    assert {t["releasability"] for t in fused} == {"REL LT PL"}
    assert {t["track_id"] for t in fused} <= set(page_ids)
    assert not {name for t in fused for name in t["contributions"]} & set(page_ids)
    # PL's probe has no LT counterpart: it stays PL's copy.
    assert next(t for t in lt_tracks if t["track_id"] == "PL:probe-shared")["fused_into"] is None
    assert any(track_id.startswith("RO:") for track_id in page_ids)
    assert any(":" not in track_id for track_id in page_ids)
    # RO releases to the alliance but receives nothing labelled REL PL LT.
    assert ro_tracks and all(":" not in t["track_id"] for t in ro_tracks)
    assert {t["releasability"] for t in ro_tracks} == {"NATO"}
    # The terminal table shows what crossed; RO released to both allies.
    by_nation = {report.nation: report for report in demo.reports}
    assert by_nation["RO"].shared_out.keys() == {"PL", "LT"}
    assert by_nation["LT"].received_from.keys() == {"PL", "RO"}

    # Everything the demo started is gone: nats-servers and the pictures' ports.
    assert _processes_mentioning(str(tmp_path)) == []
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listening"
    for nation in NATIONS:
        assert f"{nation} picture: http://127.0.0.1:" in demo.output.getvalue()


def test_a_busy_port_is_one_clear_error_before_anything_starts(tmp_path: Path, capsys: Any) -> None:
    with bind_listener("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        code = main(
            ["federation-demo", "--serve", "--port", str(port), "--out", str(tmp_path / "runs")]
        )
    assert code == 2
    error = capsys.readouterr().err
    assert f"port {port}" in error and error.count("\n") == 1
    assert not (tmp_path / "runs").exists()  # no run folder: nothing was started


def test_ports_beyond_the_last_one_are_refused(tmp_path: Path, capsys: Any) -> None:
    code = main(["federation-demo", "--serve", "--port", "65535", "--out", str(tmp_path)])
    assert code == 2
    assert "no room for 3 pictures" in capsys.readouterr().err


def test_allied_copies_are_named_after_their_origin_and_own_messages_are_not() -> None:
    track = _probe_track("suwalki-1", "REL PL LT", EPOCH)
    alert = Alert(
        alert_id="A7",
        time=EPOCH,
        kind="drone",
        summary="drone over the gap",
        priority=2,
        track_id="suwalki-1",
        releasability="REL PL LT",
    )
    allied_track = name_allied_copy("hz.LT.ally.PL.trk.x", track)
    allied_alert = name_allied_copy("hz.LT.ally.PL.alert", alert)
    assert isinstance(allied_track, Track) and allied_track.track_id == "PL:suwalki-1"
    assessment = Assessment(
        track_id="suwalki-1",
        time=EPOCH,
        class_probabilities={"small_uav": 1.0},
        target_class=TargetClass.SMALL_UAV,
        standard_identity=StandardIdentity.HOSTILE,
        threat_score=0.5,
        releasability="REL PL LT",
    )
    allied_assessment = name_allied_copy("hz.LT.ally.PL.assessment", assessment)
    assert isinstance(allied_assessment, Assessment)
    assert allied_assessment.track_id == "PL:suwalki-1"
    assert allied_track.position == track.position
    assert isinstance(allied_alert, Alert)
    assert (allied_alert.alert_id, allied_alert.track_id) == ("PL:A7", "PL:suwalki-1")
    assert allied_alert.summary == "PL: drone over the gap"
    assert name_allied_copy("hz.LT.trk.suwalki", track) is track
    assert name_allied_copy("hz.LT.ally", track) is track
