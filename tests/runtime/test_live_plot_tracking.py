"""``hotzone ingest asterix --udp ... --track``: CAT048 datagrams tracked as columns.

The column path (`hotzone.runtime.live_tracking.take_plot_datagram`) must publish what the
bus path published for the same datagrams received at the same moments: the same
Detection JSON, byte for byte, the same refusals, and the same tracks (the bus path: the
decoder's Detections published, read back by `LiveTrackingService` and tracked).
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest
import yaml

from hotzone.bus import InProcessBus
from hotzone.cli import main
from hotzone.ingest.asterix import AsterixDecoder, SiteTable
from hotzone.ingest.asterix.batch import decode_cat048, map_plots
from hotzone.ingest.asterix.datablock import split_blocks
from hotzone.ingest.asterix.mapping import MappingContext
from hotzone.ingest.asterix.plot_messages import DetectionFields, plot_payloads
from hotzone.runtime.live_tracking import (
    LiveTrackingService,
    LiveTrackingSettings,
    take_plot_datagram,
)
from hotzone.runtime.sources import SourcePublisher
from hotzone.runtime.windows import ReplaySummary, TrackingSettings
from hotzone.store import SQLiteStore
from hotzone.types import Detection, Track, TrackStatus, from_json, to_json
from tests.fusion.test_conversion_plots import RECORDED_AT, _block, _plot, _radar_capture
from tests.fusion.test_conversion_vectorized import GOLDEN, SITES_YAML

DAY = RECORDED_AT.replace(hour=0, minute=0, second=0, microsecond=0)
#: The capture's records: FSPEC, 010, 140, 020, 040, 090.
RECORD_BYTES = 13


def _sites() -> SiteTable:
    return SiteTable.from_mapping(yaml.safe_load(SITES_YAML))


def _datagrams() -> list[tuple[datetime, bytes]]:
    """The radar capture's plots five to a data block, a block a datagram (two blocks in
    every fourth), each received 50 ms after its last plot; the capture's odd blocks (a
    plot beyond 24 h, a cut record) as they are, a CAT062 datagram (system tracks: the
    decoder's way) and a block cut short among them."""
    blocks = []
    for block in split_blocks(_radar_capture()):
        records = block.raw[3:]
        if len(records) == 50 * RECORD_BYTES:
            for first in range(0, len(records), 5 * RECORD_BYTES):
                body = records[first : first + 5 * RECORD_BYTES]
                blocks.append(bytes([48]) + (len(body) + 3).to_bytes(2, "big") + body)
        else:
            blocks.append(block.raw)
    datagrams: list[tuple[datetime, bytes]] = []
    last = 0.0
    first = 0
    while first < len(blocks):
        count = 2 if len(datagrams) % 4 == 3 else 1
        data = b"".join(blocks[first : first + count])
        first += count
        batch = decode_cat048(data)
        assert batch is not None
        seconds = batch.rows["time_of_day_s"]
        last = max(last, float(seconds[seconds < 86_400].max()))
        datagrams.append((DAY + timedelta(seconds=last + 0.05), data))
    datagrams.insert(41, (datagrams[40][0], (GOLDEN / "cat062cat065.raw").read_bytes()))
    datagrams.insert(60, (datagrams[59][0], blocks[70][:-5]))  # a block cut short
    return datagrams


async def _published(
    columns: bool, datagrams: list[tuple[datetime, bytes]]
) -> dict[str, list[bytes]]:
    """What each path published, by kind of subject, in order."""
    published, _ = await _tracked(columns, datagrams, TrackingSettings())
    return published


async def _tracked(
    columns: bool, datagrams: list[tuple[datetime, bytes]], tracking_settings: TrackingSettings
) -> tuple[dict[str, list[bytes]], ReplaySummary]:
    """What each path published, by kind of subject, in order, and its tracker's summary."""
    bus = InProcessBus()
    everything = await bus.subscribe("hz.PL.>", 1 << 20)
    publisher = SourcePublisher(bus, "PL")
    decoder = AsterixDecoder(_sites(), framing="datagram")
    settings = LiveTrackingSettings(tracking_settings, from_bus=not columns)
    tracking = LiveTrackingService(bus, "PL", settings)
    ready = asyncio.Event()
    task = asyncio.create_task(tracking.run(ready))
    await ready.wait()
    for received_at, data in datagrams:
        if columns:
            await take_plot_datagram(publisher, decoder, tracking, data, received_at)
        else:
            result = decoder.feed(data, received_at)
            await publisher.publish_result(decoder, result, received_at)
        await asyncio.sleep(0)
    tracking.stop()
    await task
    await bus.close()
    published: dict[str, list[bytes]] = {}
    while (message := await everything.next(timeout_s=0)) is not None:
        kind = message.subject.split(".")[2]
        if kind == "dead":
            kind += "." + message.subject.split(".")[3]
        published.setdefault(kind, []).append(message.payload)
    return published, tracking.summary


def test_the_column_path_publishes_what_the_bus_path_published() -> None:
    expected = asyncio.run(_published(False, _datagrams()))
    got = asyncio.run(_published(True, _datagrams()))
    assert sorted(got) == sorted(expected)
    for kind in expected:
        assert got[kind] == expected[kind], kind
    tracks = [from_json(payload) for payload in got["trk"]]
    assert len({track.track_number for track in tracks}) >= 25  # type: ignore[union-attr]
    assert len(got["det"]) > 1_000
    assert len(got["dead.asterix"]) >= 3  # the plot beyond 24 h, the cut records
    refused = [
        from_json(payload)
        for kind in got
        if kind.startswith("dead.fusion")
        for payload in got[kind]
    ]
    # The plots at range 0 and those of the odd blocks, later than the tracker's lag.
    assert {letter.reason.split(",")[0] for letter in refused} == {  # type: ignore[union-attr]
        "polar range must be positive",
        "older than the 5.0 s reprocessing lag",
    }


def test_the_detection_json_of_the_columns_is_the_decoders() -> None:
    assert [field.name for field in msgspec.structs.fields(DetectionFields)] == [
        field.name for field in msgspec.structs.fields(Detection)
    ]
    sites = _sites()
    received_at = datetime(2025, 6, 1, 11, 30, tzinfo=UTC)
    for data in (_radar_capture(), (GOLDEN / "cat048.raw").read_bytes()):
        decoder = AsterixDecoder(sites, framing="datagram")
        expected = [
            to_json(message)
            for message in decoder.feed(data, received_at).messages
            if isinstance(message, Detection)
        ]
        batch = decode_cat048(data)
        assert batch is not None
        context = MappingContext(sites=sites, received_at=received_at)
        plots, _ = map_plots(batch, sites, received_at, context)
        assert plot_payloads(batch, plots, context) == expected
        assert expected


@pytest.mark.parametrize("seed", range(3))
def test_corrupted_datagrams_give_the_same_refusals_and_tracks_either_way(seed: int) -> None:
    """Octets of the datagrams overwritten at random (block headers too): whatever the
    batch decoder takes or leaves to the decoder, both paths publish the same."""
    generator = np.random.default_rng(seed)
    datagrams = []
    for received_at, data in _datagrams()[:120]:
        body = bytearray(data)
        for position in generator.integers(0, len(body), 2):
            body[position] = int(generator.integers(0, 256))
        datagrams.append((received_at, bytes(body)))
    expected = asyncio.run(_published(False, datagrams))
    assert asyncio.run(_published(True, datagrams)) == expected
    assert expected["dead.asterix"]
    assert expected["det"]


#: Radar targets of the live test: (east m, north m) from the radar, (east, north) m/s.
LIVE_TARGETS = [
    ((-30_000.0, 20_000.0), (150.0, 0.0)),
    ((25_000.0, 35_000.0), (-80.0, -120.0)),
    ((10_000.0, -40_000.0), (0.0, 200.0)),
    ((-45_000.0, -15_000.0), (100.0, 100.0)),
]
ROTATION_S = 1.0
SECTORS = 8


def _sector_datagrams(
    start: float,
    rotation: int,
    targets: list[tuple[tuple[float, float], tuple[float, float]]] = LIVE_TARGETS,
    rotation_s: float = ROTATION_S,
    sectors: int = SECTORS,
) -> list[tuple[float, bytes]]:
    """One rotation of radar 25/201 as a datagram per sector, sent when the beam has swept
    it: (when to send, bytes)."""
    by_sector: dict[int, list[tuple[float, bytes]]] = {}
    for (east, north), (v_east, v_north) in targets:
        begin = rotation * rotation_s
        azimuth = np.degrees(np.arctan2(east + v_east * begin, north + v_north * begin)) % 360
        at = begin + azimuth / 360.0 * rotation_s
        x, y = east + v_east * at, north + v_north * at
        slant = float(np.hypot(np.hypot(x, y), 9_144.0 - 300.0))
        theta = round(float(np.degrees(np.arctan2(x, y)) % 360.0) / 360.0 * 65536) % 65536
        seconds_of_day = (start + at) % 86_400.0
        plot = _plot(seconds_of_day, min(round(slant / 1852.0 * 256), 0xFFFF), theta, 300.0)
        by_sector.setdefault(int(azimuth / 360.0 * sectors), []).append((at, plot))
    return [
        (
            start + rotation * rotation_s + (sector + 1) * rotation_s / sectors,
            _block([plot for _, plot in sorted(plots)]),
        )
        for sector, plots in sorted(by_sector.items())
    ]


def run_live_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str]
) -> tuple[list[int], str, int]:
    """``hotzone ingest asterix --udp … --track OPTIONS --sensors … --duration 12`` in a
    thread, sent eight rotations of `_sector_datagrams` in real time: its exit codes, what
    it printed and how many plots were sent."""
    (tmp_path / "sites.yaml").write_text(SITES_YAML)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    codes: list[int] = []
    args = ["ingest", "asterix", "--udp", f"127.0.0.1:{port}", "--track", *options]
    args += ["--sensors", str(tmp_path / "sites.yaml"), "--duration", "12"]
    command = threading.Thread(target=lambda: codes.append(main(args)))
    command.start()
    output = ""
    plots = 0
    try:
        deadline = time.monotonic() + 60.0
        while "receiving datagrams" not in output and time.monotonic() < deadline:
            time.sleep(0.05)
            output += capsys.readouterr().out
        assert "receiving datagrams" in output, "the command never bound its UDP port"
        start = time.time() + 0.2
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as radar:
            for rotation in range(8):
                for when, data in _sector_datagrams(start, rotation):
                    time.sleep(max(0.0, when - time.time()))
                    radar.sendto(data, ("127.0.0.1", port))
                    plots += (len(data) - 3) // RECORD_BYTES
    finally:
        command.join(timeout=60.0)
    return codes, output + capsys.readouterr().out, plots


def test_a_live_cat048_feed_is_tracked_and_recorded_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real command, CAT048 over UDP: every plot is recorded as a Detection, one
    confirmed track per aircraft, and the summary counts the reports the tracker took."""
    store = tmp_path / "live.sqlite"
    codes, output, plots = run_live_command(tmp_path, capsys, ["--store", str(store)])
    assert codes == [0]
    assert plots == 8 * len(LIVE_TARGETS)
    assert f"asterix: {plots} messages, 0 dead letters" in output
    assert f"{len(LIVE_TARGETS)} confirmed tracks, 0 refused by the tracker" in output
    assert f"{plots} reports tracked" in output
    with SQLiteStore(store) as recorded:
        messages = [stored.message for stored in recorded.replay()]
    assert sum(isinstance(m, Detection) for m in messages) == plots
    confirmed = {
        m.track_number
        for m in messages
        if isinstance(m, Track) and m.status == TrackStatus.CONFIRMED
    }
    assert len(confirmed) == len(LIVE_TARGETS)


def test_held_windows_keep_a_radars_sector_blocks_in_sequence() -> None:
    """A radar sends a sector's plots when its beam has swept it: plots measured before a
    window's end arrive after it. Stepped at the end, those are out of sequence (the
    tracker replays); stepped ``hold_s`` earlier, with the last part held for the next
    window, none is, and the same aircraft are tracked, by either path."""
    rotation_s, sectors, rotations = 4.7, 32, 10  # the beam at another phase each second
    targets = [
        (
            (float(r * np.sin(a)), float(r * np.cos(a))),
            (float(150.0 * np.cos(a)), float(-150.0 * np.sin(a))),
        )
        for r, a in zip(
            np.linspace(20_000.0, 60_000.0, 12), np.linspace(0.1, 2 * np.pi - 0.2, 12), strict=True
        )
    ]
    start = 1_750_000_000.3  # windows end on whole seconds, the blocks do not
    day = math.floor(start / 86_400.0) * 86_400.0
    datagrams = []
    measured_before_their_window = 0
    for rotation in range(rotations):
        for when, data in _sector_datagrams(start, rotation, targets, rotation_s, sectors):
            received = when + 0.002
            datagrams.append((datetime.fromtimestamp(received, tz=UTC), data))
            batch = decode_cat048(data)
            assert batch is not None
            measured = day + batch.rows["time_of_day_s"]
            measured_before_their_window += int(
                np.count_nonzero(np.floor(measured) < math.floor(received))
            )

    at_the_end, summary = asyncio.run(_tracked(True, datagrams, TrackingSettings()))
    # Every plot measured in a window that had closed when it came is out of sequence.
    assert summary.out_of_sequence == measured_before_their_window > 0

    held_settings = TrackingSettings(hold_s=0.25)
    held, held_summary = asyncio.run(_tracked(True, datagrams, held_settings))
    assert held_summary.out_of_sequence == 0
    by_bus, _ = asyncio.run(_tracked(False, datagrams, held_settings))
    assert by_bus == held
    for published in (at_the_end, held):
        tracks = [from_json(payload) for payload in published["trk"]]
        confirmed = {
            t.track_number
            for t in tracks
            if isinstance(t, Track) and t.status == TrackStatus.CONFIRMED
        }
        assert len(confirmed) == len(targets)
    # Held windows are stepped a quarter second before their ends; the last, closed by
    # the stop, at its end, on all that was left.
    *stepped, last = sorted({from_json(payload).time.timestamp() for payload in held["trk"]})
    assert stepped and all(round(t % 1.0, 6) == 0.75 for t in stepped)
    assert round(last % 1.0, 6) == 0.0
