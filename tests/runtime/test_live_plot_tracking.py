"""``hotzone ingest asterix --udp ... --track``: CAT048 datagrams tracked as columns.

The column path (`hotzone.runtime.live_tracking.take_plot_datagram`) must publish what the
bus path published for the same datagrams received at the same moments: the same
Detection JSON, byte for byte, the same refusals, and the same tracks (the bus path: the
decoder's Detections published, read back by `LiveTrackingService` and tracked).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
import pytest
import yaml

from hotzone.bus import InProcessBus
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
from hotzone.runtime.windows import TrackingSettings
from hotzone.types import Detection, from_json, to_json
from tests.fusion.test_conversion_plots import RECORDED_AT, _radar_capture
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
    bus = InProcessBus()
    everything = await bus.subscribe("hz.PL.>", 1 << 20)
    publisher = SourcePublisher(bus, "PL")
    decoder = AsterixDecoder(_sites(), framing="datagram")
    settings = LiveTrackingSettings(TrackingSettings(), from_bus=not columns)
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
    return published


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
