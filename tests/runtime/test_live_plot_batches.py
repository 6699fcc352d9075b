"""The live CAT048 column path on a real NATS bus: a datagram's plots go as bus batches.

`take_plot_datagram` publishes each run of a datagram's plots of one radar as one
`Bus.publish_batch` (one stored NATS message instead of one per plot); every reader still
gets each plot as a Detection message of its own, in the order the in-process bus gives.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import numpy as np

from hotzone.bus import Bus, InProcessBus
from hotzone.bus.nats import NatsBus, nation_streams
from hotzone.ingest.asterix import AsterixDecoder
from hotzone.ingest.asterix.batch import decode_cat048, map_plots
from hotzone.runtime.live_tracking import (
    LiveTrackingService,
    LiveTrackingSettings,
    take_plot_datagram,
)
from hotzone.runtime.routing import subject_for
from hotzone.runtime.sources import SourcePublisher
from hotzone.runtime.windows import TrackingSettings
from hotzone.types import Detection, Report
from tests.runtime.test_live_plot_tracking import _datagrams, _sites


async def _detections(bus: Bus, datagrams: list[tuple[datetime, bytes]]) -> list[bytes]:
    """The Detection payloads a reader of ``hz.PL.det.>`` gets, in order."""
    reader = await bus.subscribe("hz.PL.det.>", 1 << 16)
    publisher = SourcePublisher(bus, "PL")
    decoder = AsterixDecoder(_sites(), framing="datagram")
    settings = LiveTrackingSettings(TrackingSettings(), from_bus=False)
    tracking = LiveTrackingService(bus, "PL", settings)
    for received_at, data in datagrams:
        await take_plot_datagram(publisher, decoder, tracking, data, received_at)
    received = []
    while (message := await reader.next(timeout_s=1.0)) is not None:
        received.append(message.payload)
    await reader.unsubscribe()
    return received


def test_a_datagrams_plots_are_one_stored_message_and_each_its_own_to_readers(
    nats_url: str,
) -> None:
    datagrams = _datagrams()
    # A datagram of whole CAT048 blocks: one stored message per run of plots of one radar
    # (the capture interleaves two); another goes the decoder's way, which a source
    # publishes as one message per run of its Detections and Reports on one subject.
    decoder = AsterixDecoder(_sites(), framing="datagram")
    decoder_runs = 0
    runs = 0
    for received_at, data in datagrams:
        batch = decode_cat048(data)
        if batch is None:
            result = decoder.feed(data, received_at)
            subjects = [
                subject_for(m, "PL") for m in result.messages if isinstance(m, Detection | Report)
            ]
            decoder_runs += sum(
                1 for at, subject in enumerate(subjects) if at == 0 or subjects[at - 1] != subject
            )
            continue
        context = decoder.mapping_context(received_at)
        site = map_plots(batch, decoder.sites, received_at, context)[0].site
        runs += int(len(site) > 0) + int(np.count_nonzero(np.diff(site)))

    async def on_nats() -> tuple[list[bytes], int]:
        bus = await NatsBus.connect(nats_url, nation_streams("PL", archives=False))
        await bus.jetstream.purge_stream("HZ_PL")
        received = await _detections(bus, datagrams)
        info = await bus.jetstream.stream_info("HZ_PL", subjects_filter="hz.PL.det.>")
        await bus.close()
        return received, sum((info.state.subjects or {}).values())

    async def in_process() -> list[bytes]:
        bus = InProcessBus()
        received = await _detections(bus, datagrams)
        await bus.close()
        return received

    expected = asyncio.run(in_process())
    received, stored = asyncio.run(on_nats())
    assert received == expected
    assert len(expected) > 1_000
    assert stored == runs + decoder_runs
    assert stored < len(expected) / 2
