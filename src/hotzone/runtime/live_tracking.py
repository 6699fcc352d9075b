"""Live tracking of a feed: ``hotzone ingest FORMAT ... --track``.

An integrator points a sensor feed (ASTERIX, SAPIENT, SBS, ...) at ``hotzone ingest`` and
wants to see fused tracks, not only decoded plots. `LiveTrackingService` reads the
detections and reports the source publishes on ``hz.{nation}.det.>``, steps the tracking
stage in windows of their delivery time (`hotzone.runtime.windows`, as ``hotzone track``
does: the data's own clock, so a capture replayed from a file and a live feed are tracked
alike) and publishes the tracks
on ``hz.{nation}.trk.{sector}``, where the recorder stores them beside the detections.

Windows follow reception times (``received_at``) in a live feed, and the messages' own
times for a recording read from a file (``by_message_time``). A live feed's window is
stepped ``hold_s`` (``--hold``) before its end, and what was measured in that last part
waits for the next window: a radar sends a sector's plots when its beam has swept it, so
they arrive after the window they were measured in has begun to close, and stepping at the
very end made most live windows replay out of sequence (docs/ingest/limits.md). The sector frame is
``origin`` when given, else placed at the first detection's sensor
(or the first report's position). `stop` lets it take in what is already published, then
close the last window.

CAT048 over UDP (`pump_plot_datagrams`, issue 17) does not go through the bus to the
tracker: each datagram is decoded a block at a time into columns
(`hotzone.ingest.asterix.batch`), its plots are published on the bus as the Detections
the per-record decoder makes (for the store and the audit, byte for byte the same JSON,
`hotzone.ingest.asterix.plot_messages`) and handed to the same windows in this process as
columns (`TrackingWindows.push_plots`), without a Detection made, encoded, decoded and
converted per plot. The service then reads nothing from the bus (``from_bus=False``); a
datagram that is not whole CAT048 blocks goes the decoder's way, its messages handed over
in its place. The tracks are those the bus path gives for the same datagrams received at
the same times (tests/runtime/test_live_plot_tracking.py).

With ``--on-arrival`` (`TrackingSettings.arrivals`) the tracker is not stepped at window
ends but on what has arrived, whenever nothing more waits (`step_arrived`: no datagram in
the receiver's backlog, no message on the bus), so a step takes what came while the
previous one ran; each step publishes only the tracks it updated, and the tracks it ends
(every ``--books`` seconds) once more as deleted (docs/ingest/limits.md).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import msgspec

from hotzone.bus import Bus
from hotzone.fusion.conversion import PolarPlots
from hotzone.ingest.asterix import AsterixDecoder
from hotzone.ingest.asterix.batch import decode_cat048, map_plots
from hotzone.ingest.asterix.plot_messages import plot_payloads
from hotzone.ingest.base import DecodeResult
from hotzone.runtime.routing import subject_for
from hotzone.runtime.services import decode_or_dead_letter
from hotzone.runtime.sources import SourcePublisher, publish_runs
from hotzone.runtime.windows import (
    PlotChunk,
    ReplaySummary,
    TrackingSettings,
    TrackingWindows,
    timed_as_recorded,
    tracking_windows,
)
from hotzone.types import DeadLetter, Detection, Report, Track, TrackStatus, to_json
from hotzone.types.subjects import detection_subject

#: How long `run` waits for a message before it looks whether it was asked to stop.
POLL_S = 0.1


@dataclass(frozen=True)
class LiveTrackingSettings:
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    #: A recording read from a file: its reception time is when the file was read, which
    #: says nothing; replay it by the times the messages carry (as ``hotzone track`` does).
    by_message_time: bool = False
    #: Read the detections from the bus; False when the source hands them over in this
    #: process (`take_messages`, `take_plots`: `pump_plot_datagrams`).
    from_bus: bool = True


@dataclass
class LiveTrackingCounters:
    #: What the tracker took in, by message type (a CAT048 datagram's plots handed over as
    #: columns count as the Detections they are published as).
    received: Counter[str] = field(default_factory=Counter)
    track_messages: int = 0
    confirmed: set[int] = field(default_factory=set)
    dead_letters: int = 0


class LiveTrackingService:
    def __init__(self, bus: Bus, nation: str, settings: LiveTrackingSettings | None = None):
        self.bus = bus
        self.nation = nation
        self.settings = settings or LiveTrackingSettings()
        if not self.settings.tracking.window_s > 0:
            raise ValueError(f"window must be positive, got {self.settings.tracking.window_s} s")
        self.summary = ReplaySummary()
        self.counters = LiveTrackingCounters()
        self._windows: TrackingWindows | None = None
        self._stopping = asyncio.Event()
        self._dead_letters_published = 0

    def stop(self) -> None:
        """Finish: what is already published is still tracked, then the last window."""
        self._stopping.set()

    async def run(self, ready: asyncio.Event | None = None) -> None:
        if not self.settings.from_bus:
            # Handed over in this process: wait for the stop, then close the last window.
            if ready is not None:
                ready.set()
            await self._stopping.wait()
            await self._finish()
            return
        subscription = await self.bus.subscribe(f"hz.{self.nation}.det.>", 65536)
        if ready is not None:
            ready.set()
        arrivals = self.settings.tracking.arrivals
        try:
            while True:
                bus_message = await subscription.next(timeout_s=0.0 if arrivals else POLL_S)
                if bus_message is None and arrivals:
                    # Nothing more waits: step on what came, then wait for more.
                    await self.step_arrived()
                    bus_message = await subscription.next(timeout_s=POLL_S)
                if bus_message is None:
                    if self._stopping.is_set():
                        break
                    continue
                message = decode_or_dead_letter(bus_message, "live-tracking")
                if isinstance(message, DeadLetter):
                    self.counters.dead_letters += 1
                    continue
                await self.take_messages([message])
            await self._finish()
        finally:
            await subscription.unsubscribe()

    async def take_messages(self, messages: Iterable[object]) -> None:
        """Track ``messages`` (detections and reports; others are passed over)."""
        for message in messages:
            if isinstance(message, Detection | Report):
                self.counters.received[type(message).__name__] += 1
                timed = timed_as_recorded(message) if self.settings.by_message_time else message
                for tracks in self._windows_for(timed).push(timed):
                    await self._publish(tracks)

    async def take_plots(self, chunk: PlotChunk) -> None:
        """Track a datagram's plots, given as columns."""
        if not chunk.payloads:
            return
        self.counters.received[Detection.__name__] += len(chunk.payloads)
        if self._windows is None:
            # The frame, when not given, is placed at the first plot's sensor.
            self._windows_for(msgspec.json.decode(chunk.payloads[0], type=Detection))
        assert self._windows is not None
        for tracks in self._windows.push_plots(chunk):
            await self._publish(tracks)

    async def step_arrived(self) -> None:
        """With ``arrivals``: step the tracker on what has arrived and publish what it
        changed (nothing otherwise)."""
        if self._windows is None:
            return
        if (tracks := self._windows.step_arrived()) is not None:
            await self._publish(tracks)
        # Published first: the books cost in proportion to the tracks.
        if (ended := self._windows.close_books_if_due()) is not None:
            await self._publish(ended)

    async def _finish(self) -> None:
        if self._windows is not None and (last := self._windows.finish()) is not None:
            await self._publish(last)

    def _windows_for(self, first: Detection | Report) -> TrackingWindows:
        if self._windows is None:
            tracking = self.settings.tracking
            if self.settings.by_message_time:
                # A recording's windows are cut by the times its messages carry: nothing
                # in a window was measured after its end, nothing is held back.
                tracking = replace(tracking, hold_s=0.0)
            # The frame, when not given, is placed at the first message's sensor.
            self._windows = tracking_windows(tracking, [first], self.summary)
        return self._windows

    async def _publish(self, tracks: list[Track]) -> None:
        # What the tracker refused (e.g. later than the lag) goes to the dead letters.
        for letter in self.summary.dead_letters[self._dead_letters_published :]:
            await self.bus.publish(subject_for(letter, self.nation), to_json(letter))
            self.counters.dead_letters += 1
        self._dead_letters_published = len(self.summary.dead_letters)
        # A window's tracks of one subject (sector) as one bus batch, each its own message
        # to the readers.
        by_subject: dict[str, list[tuple[str, bytes]]] = {}
        # A track's subject follows its sector and whether it is an alliance track: found
        # once per kind, not per track (thousands a window).
        subjects: dict[tuple[str, bool], str] = {}
        for track in tracks:
            kind = (track.sector, bool(track.contributions))
            subject = subjects.get(kind)
            if subject is None:
                subject = subjects[kind] = subject_for(track, self.nation)
            by_subject.setdefault(subject, []).append(("", to_json(track)))
            self.counters.track_messages += 1
            if track.status == TrackStatus.CONFIRMED:
                self.counters.confirmed.add(track.track_number)
        for track_subject, items in by_subject.items():
            await self.bus.publish_batch(track_subject, items)


async def pump_plot_datagrams(
    publisher: SourcePublisher,
    decoder: AsterixDecoder,
    tracking: LiveTrackingService,
    datagrams: AsyncIterator[tuple[float, bytes]],
    idle: Callable[[], bool] | None = None,
) -> None:
    """`take_plot_datagram` for each datagram as it comes, timed by when it was received
    (`UdpReceiver.timed_datagrams`: a backlog waiting for the loop does not make its
    datagrams later, so they fall in the windows they arrived in), then the decoder's
    flush. ``idle`` says whether no datagram waits (`UdpReceiver.waiting`): then the
    tracker steps on what has arrived (`LiveTrackingService.step_arrived`, with
    ``arrivals`` only)."""
    async for received_s, datagram in datagrams:
        received_at = datetime.fromtimestamp(received_s, tz=UTC)
        await take_plot_datagram(publisher, decoder, tracking, datagram, received_at)
        if idle is not None and idle():
            await tracking.step_arrived()
    received_at = datetime.now(UTC)
    result = decoder.flush(received_at)
    await publisher.publish_result(decoder, result, received_at)
    await tracking.take_messages(result.messages)


async def take_plot_datagram(
    publisher: SourcePublisher,
    decoder: AsterixDecoder,
    tracking: LiveTrackingService,
    datagram: bytes,
    received_at: datetime,
) -> None:
    """Decode an ASTERIX datagram, publish what it holds and hand it to ``tracking``
    (built with ``from_bus=False``): CAT048 blocks as columns, anything else as the
    decoder's messages. Counted as `SourcePublisher.publish_chunk` counts."""
    counters = publisher.counters
    started = time.perf_counter()
    counters.chunks += 1
    counters.bytes += len(datagram)
    batch = decode_cat048(datagram)
    if batch is None:
        # Not whole CAT048 blocks: the decoder's way, refusals and all.
        result = decoder.feed(datagram, received_at)
        await publisher.publish_result(decoder, result, received_at)
        await tracking.take_messages(result.messages)
        counters.decode_seconds.observe(time.perf_counter() - started)
        return
    context = decoder.mapping_context(received_at)
    plots, refused = map_plots(batch, decoder.sites, received_at, context)
    ids = plots.detection_ids()
    payloads = plot_payloads(batch, plots, context, ids)
    subjects = [
        detection_subject(publisher.nation, context.sector, sensor_id)
        for sensor_id, _ in plots.sites
    ]
    # A datagram is a radar's sector: mostly one run of one site's plots, one batch.
    await publish_runs(
        publisher.bus, zip([subjects[site] for site in plots.site.tolist()], payloads, strict=True)
    )
    counters.messages += len(payloads)
    # The block's refusals after its plots, as `SourcePublisher.publish_result` orders them.
    refusals = DecodeResult()
    refusals.rejected.extend(rejected for _, rejected in refused)
    await publisher.publish_result(decoder, refusals, received_at)
    chunk = PlotChunk(
        plots=PolarPlots(
            times=plots.times_us / 1e6,
            site=plots.site,
            values=plots.values,
            variances=plots.variances,
            ids=ids,
            icao24=plots.icao24,
            callsign=plots.callsign,
            sites=plots.sites,
            releasability=context.releasability,
        ),
        payloads=payloads,
        delivery_s=received_at.timestamp(),
    )
    await tracking.take_plots(chunk)
    counters.decode_seconds.observe(time.perf_counter() - started)
