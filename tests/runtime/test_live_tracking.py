"""``hotzone ingest FORMAT ... --track``: an integrator's feed becomes fused tracks.

The feed is CAT062 system tracks of another tracker (what an ARTAS-like SDPS sends),
encoded by hotzone's CAT062 exporter (golden-tested against asterix-decoder) from
targets flying straight lines; hotzone decodes it, fuses it and records the tracks.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from hotzone.cli import main
from hotzone.geo import LocalFrame
from hotzone.runtime.federation_servers import free_port
from hotzone.share.asterix062 import encode_tracks
from hotzone.store import SQLiteStore
from hotzone.types import GeoPoint, Report, Track, TrackStatus

ORIGIN = LocalFrame(54.0, 23.0, 0.0)
#: Targets: start east/north (m) and velocity east/north (m/s), at 1,500 m.
TARGETS = [
    ((-20_000.0, 5_000.0), (120.0, 10.0)),
    ((10_000.0, -15_000.0), (-40.0, 90.0)),
    ((0.0, 20_000.0), (60.0, -60.0)),
    ((25_000.0, 25_000.0), (-150.0, 0.0)),
]
WAIT_S = 60.0


def _system_track(index: int, at: datetime, elapsed_s: float) -> Track:
    (east, north), (v_east, v_north) = TARGETS[index]
    enu = (east + v_east * elapsed_s, north + v_north * elapsed_s, 1_500.0)
    lat, lon, height = ORIGIN.enu_to_geodetic(np.array([enu]))
    return Track(
        track_id=f"sdps-{index}",
        track_number=100 + index,
        time=at,
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=float(lat[0]), lon_deg=float(lon[0]), height_m=float(height[0])),
        sector="feed",
        enu_position_m=enu,
        enu_velocity_mps=(v_east, v_north, 0.0),
        covariance=tuple(tuple(100.0 if i == j else 0.0 for j in range(6)) for i in range(6)),
        quality=0.9,
    )


def _cat062_scan(at: datetime, elapsed_s: float) -> bytes:
    tracks = [_system_track(index, at, elapsed_s) for index in range(len(TARGETS))]
    return b"".join(encode_tracks(tracks, sac=25, sic=100))


def _fused(store_path: Path) -> tuple[list[Track], int]:
    with SQLiteStore(store_path) as store:
        messages = [stored.message for stored in store.replay()]
    tracks = [m for m in messages if isinstance(m, Track)]
    reports = sum(isinstance(m, Report) for m in messages)
    return tracks, reports


def _final_positions_match(tracks: list[Track], elapsed_s: float, tolerance_m: float) -> None:
    """Each target has a confirmed fused track ending within ``tolerance_m`` of it."""
    last: dict[int, Track] = {}
    for track in tracks:
        if track.status == TrackStatus.CONFIRMED:
            last[track.track_number] = track
    ends = np.array(
        [ORIGIN.geodetic_to_enu(t.position.lat_deg, t.position.lon_deg, t.position.height_m)
         for t in last.values()]
    ).reshape(-1, 3)  # fmt: skip
    for (east, north), (v_east, v_north) in TARGETS:
        truth = np.array([east + v_east * elapsed_s, north + v_north * elapsed_s])
        distances = np.linalg.norm(ends[:, :2] - truth, axis=1)
        assert distances.min() < tolerance_m, f"no fused track near {truth}: {distances.min()}"


def test_a_recorded_cat062_feed_becomes_one_fused_track_per_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    scans = 40
    feed = tmp_path / "sdps.ast"
    feed.write_bytes(
        b"".join(_cat062_scan(start + timedelta(seconds=k), float(k)) for k in range(scans))
    )
    store = tmp_path / "feed.sqlite"
    args = ["ingest", "asterix", "--file", str(feed), "--track", "--store", str(store)]
    assert main([*args, "--origin", "54.0,23.0", "--sector", "feed"]) == 0
    out = capsys.readouterr().out
    assert f"asterix: {scans * len(TARGETS)} messages, 0 dead letters" in out
    assert f"{len(TARGETS)} confirmed tracks, 0 refused by the tracker" in out
    tracks, reports = _fused(store)
    assert reports == scans * len(TARGETS)
    assert {t.sector for t in tracks} == {"feed"}
    assert len({t.track_number for t in tracks if t.status == TrackStatus.CONFIRMED}) == len(
        TARGETS
    )
    _final_positions_match(tracks, float(scans - 1), tolerance_m=150.0)


def test_a_live_udp_feed_is_tracked_as_it_arrives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    store = tmp_path / "live.sqlite"
    codes: list[int] = []
    args = ["ingest", "asterix", "--udp", f"127.0.0.1:{port}", "--track", "--store", str(store)]
    command = threading.Thread(target=lambda: codes.append(main([*args, "--duration", "12"])))
    command.start()
    output = ""
    scans = 0
    try:
        deadline = time.monotonic() + WAIT_S
        while "receiving datagrams" not in output and time.monotonic() < deadline:
            time.sleep(0.05)
            output += capsys.readouterr().out
        assert "receiving datagrams" in output, "the command never bound its UDP port"
        # Four scans a second for five seconds, each stamped with the time it is sent.
        first = datetime.now(UTC)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sdps:
            while scans < 20:
                now = datetime.now(UTC)
                sdps.sendto(_cat062_scan(now, (now - first).total_seconds()), ("127.0.0.1", port))
                scans += 1
                time.sleep(0.25)
        sent_for_s = (now - first).total_seconds()
    finally:
        command.join(timeout=WAIT_S)
    output += capsys.readouterr().out
    assert codes == [0]
    assert f"asterix: {scans * len(TARGETS)} messages, 0 dead letters" in output
    assert f"{len(TARGETS)} confirmed tracks" in output
    tracks, _ = _fused(store)
    _final_positions_match(tracks, sent_for_s, tolerance_m=150.0)


def test_ingest_serve_shows_the_feeds_fused_tracks_on_the_page(tmp_path: Path) -> None:
    from tests.api.test_serve_commands import Served, _wait_for_tracks

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    feed = tmp_path / "sdps.ast"
    feed.write_bytes(
        b"".join(_cat062_scan(start + timedelta(seconds=k), float(k)) for k in range(30))
    )
    port = free_port()
    served = Served(
        ["ingest", "asterix", "--file", str(feed), "--track", "--serve", "--port", str(port)],
        tmp_path,
    )
    try:
        url = served.url()
        deadline = time.monotonic() + WAIT_S
        while "confirmed tracks" not in "".join(served.lines) and time.monotonic() < deadline:
            time.sleep(0.2)  # the feed ends (end of file); the page goes on serving
        assert "tracking: " in "".join(served.lines)
        tracks = _wait_for_tracks(url, timeout_s=WAIT_S, count=len(TARGETS))
        assert len({track["track_number"] for track in tracks}) == len(TARGETS)
        assert all(track["sidc"] for track in tracks)
        assert served.interrupt() == 0
    finally:
        served.close()
