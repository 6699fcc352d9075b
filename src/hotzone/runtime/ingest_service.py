"""One live feed onto the bus: ``hotzone ingest FORMAT`` without its arguments.

`run_ingest` wires a transport (UDP, TCP client or server, a file, optionally followed, a
Unix socket, or the SAPIENT fusion-node server) to a decoder and the `SourcePublisher`,
and around it the optional services: the recorder into a store, live tracking
(`LiveTrackingService`) and the metrics' view of every counter. It runs until the feed
ends, ``duration_s`` passes or it is cancelled (Ctrl-C), then stops in this order, so that
nothing published is lost:

1. the transport (no more input);
2. live tracking: what is already published is still tracked, then its last window's
   tracks are published;
3. the recorder: a SHUTDOWN tick on the clock subject, after which it stores what it
   still holds and returns;
4. the bus, then the store.

The counters (messages, dead letters, recorded, every datagram or connection dropped or
refused, and the tracker's) land in the ``counts`` dict given, also when the run is
interrupted, and `summary_lines` says them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotzone.bus import Bus, InProcessBus
from hotzone.ingest.asterix import AsterixDecoder
from hotzone.ingest.base import Decoder, DecoderOptions, Framing, LineDecoder
from hotzone.ingest.registry import decoder_factories
from hotzone.ingest.sapient import SapientDecoder
from hotzone.runtime import sources
from hotzone.runtime.live_tracking import (
    LiveTrackingService,
    LiveTrackingSettings,
    pump_plot_datagrams,
)
from hotzone.runtime.sapient_server import SapientServer
from hotzone.runtime.services import SHUTDOWN, RecorderService, encode_tick
from hotzone.runtime.sources import ConnectionLimits, SourcePublisher
from hotzone.runtime.udp_receiver import UdpReceiver
from hotzone.runtime.windows import TrackingSettings
from hotzone.store import open_store
from hotzone.types.subjects import clock_subject

if TYPE_CHECKING:
    from hotzone.runtime.metrics import PipelineMetrics

#: Where the SAPIENT fusion-node server listens when no address is given.
SAPIENT_DEFAULT_ADDRESS = "127.0.0.1:5020"


@dataclass(frozen=True)
class IngestTransport:
    """Where the bytes come from: exactly one of the addresses or paths (none for SAPIENT,
    which then listens on `SAPIENT_DEFAULT_ADDRESS`)."""

    udp: str | None = None
    tcp: str | None = None
    listen_tcp: str | None = None
    file: Path | None = None
    #: With ``file``: keep reading what is appended, across rotation (tail -F).
    follow: bool = False
    from_start: bool = False
    unix_dgram: Path | None = None
    unix_stream: Path | None = None

    @property
    def recording(self) -> bool:
        """A whole recording read from a file (not followed): its reception times are when
        the file was read, which says nothing about the data."""
        return self.file is not None and not self.follow


@dataclass(frozen=True)
class IngestSettings:
    format: str
    transport: IngestTransport
    #: What the decoder is made with; its framing follows the transport.
    decoder_options: DecoderOptions = field(default_factory=DecoderOptions)
    nation: str = "PL"
    releasability: str = "NATO"
    #: A SQLite file or a postgresql:// URL to record into; None records nothing.
    store: str | None = None
    duration_s: float | None = None
    udp_buffer_bytes: int = 32 << 20
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    sapient_tls: ssl.SSLContext | None = None
    #: Live tracking of the feed's detections (labelled with ``releasability``); None
    #: tracks nothing.
    tracking: TrackingSettings | None = None


def _say(line: str) -> None:
    print(line, flush=True)


async def run_ingest(
    settings: IngestSettings,
    bus: Bus | None = None,
    metrics: PipelineMetrics | None = None,
    counts: dict[str, int] | None = None,
    say: Callable[[str], None] = _say,
) -> dict[str, int]:
    """Ingest until the feed ends, ``duration_s`` passes or the task is cancelled; the
    counters, also written into ``counts`` when given (so that an interrupted run still has
    them to say). ``say`` is told where the feed is received."""
    factory = decoder_factories()[settings.format]
    # Over UDP a datagram holds whole frames: a cut one is refused with its datagram,
    # never joined with the next sender's bytes (decoders that frame by datagram).
    framing: Framing = "datagram" if settings.transport.udp is not None else "stream"
    options = dataclasses.replace(settings.decoder_options, framing=framing)
    bus = bus or InProcessBus()
    publisher = SourcePublisher(bus, settings.nation, settings.releasability)
    udp = None
    if settings.transport.udp is not None:
        host, port = sources.parse_host_port(settings.transport.udp)
        udp = UdpReceiver(host, port, receive_buffer_bytes=settings.udp_buffer_bytes)
    store = open_store(settings.store) if settings.store is not None else None
    recorder = RecorderService(bus, store, settings.nation) if store is not None else None
    tracker = _live_tracker(settings, bus)
    if metrics is not None:
        metrics.watch_source(settings.format, publisher.counters)
        if udp is not None:
            metrics.watch_udp(settings.format, udp)
        if recorder is not None:
            metrics.watch_recorder(recorder)
        if tracker is not None:
            metrics.watch_tracker(tracker)
    recording = await _started(recorder.run) if recorder is not None else None
    tracking = await _started(tracker.run) if tracker is not None else None
    _freeze_started()
    try:
        feed = _feed(settings, lambda: factory(options), publisher, udp, say, tracker)
        if settings.duration_s is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(feed, settings.duration_s)
        else:
            await feed
    finally:
        if tracker is not None and tracking is not None:
            # The last window's tracks are published before the recorder stops.
            tracker.stop()
            await tracking
        if recording is not None:
            await bus.publish(clock_subject(settings.nation), encode_tick(0.0), {"kind": SHUTDOWN})
            await recording
        await bus.close()
        if store is not None:
            store.close()
        counts = counts if counts is not None else {}
        counts.update(_tally(publisher, recorder, udp, tracker))
    return counts


def _freeze_started() -> None:
    """What starting made (the decoders' modules, imported on first use: some 39,000
    objects, a STIX pattern grammar among them; the services) lives as long as the feed.
    Where the process keeps what it made before its loop out of the garbage collector
    (`hotzone.runtime.event_loop.run`), this joins it: left to the collector, each full
    collection scanned it again, 10-15 ms about once a second in the live tracker's
    process at 8,000 reports/s (docs/ingest/limits.md)."""
    if gc.get_freeze_count():
        gc.freeze()


async def _started(run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
    """A service's ``run(ready)`` as a task, once it is subscribed (nothing published after
    this returns is missed)."""
    ready = asyncio.Event()
    task = asyncio.create_task(run(ready))
    await ready.wait()
    return task


def _live_tracker(settings: IngestSettings, bus: Bus) -> LiveTrackingService | None:
    if settings.tracking is None:
        return None
    tracking = dataclasses.replace(settings.tracking, releasability=settings.releasability)
    live = LiveTrackingSettings(
        tracking,
        by_message_time=settings.transport.recording,
        from_bus=not _plots_handed_over(settings),
    )
    return LiveTrackingService(bus, settings.nation, live)


def _plots_handed_over(settings: IngestSettings) -> bool:
    """ASTERIX over UDP with --track: the datagrams are decoded to columns and tracked in
    this process (`pump_plot_datagrams`), not read back from the bus."""
    return (
        settings.tracking is not None
        and settings.format == "asterix"
        and settings.transport.udp is not None
    )


def _tally(
    publisher: SourcePublisher,
    recorder: RecorderService | None,
    udp: UdpReceiver | None,
    tracker: LiveTrackingService | None,
) -> dict[str, int]:
    counts = {
        "messages": publisher.counters.messages,
        "dead_letters": publisher.counters.dead_letters,
        "datagrams_dropped": publisher.counters.datagrams_dropped,
        "connections_refused": publisher.counters.connections_refused,
        "connections_refused_tls": publisher.counters.connections_refused_tls,
        "closed_idle": publisher.counters.closed_idle,
        "closed_slow": publisher.counters.closed_slow,
        "recorded": recorder.recorded if recorder is not None else 0,
    }
    if udp is not None:
        udp_counters = udp.counters
        counts |= {
            "udp_received": udp_counters.received,
            "udp_delivered": udp_counters.delivered,
            "udp_left_at_stop": udp_counters.left_at_stop,
            "udp_dropped_by_kernel": udp_counters.dropped_by_kernel,
            "udp_dropped_backlog_full": udp_counters.dropped_backlog_full,
        }
    if tracker is not None:
        counts["track_messages"] = tracker.counters.track_messages
        counts["tracked_reports"] = tracker.summary.messages
        counts["out_of_sequence_reports"] = tracker.summary.out_of_sequence
        counts["confirmed_tracks"] = len(tracker.counters.confirmed)
        counts["tracker_dead_letters"] = tracker.counters.dead_letters
    return counts


def summary_lines(format_name: str, counts: dict[str, int]) -> list[str]:
    """What a run received, decoded, recorded, tracked and dropped, in lines to print: what
    the transport dropped or refused is said, never silent."""
    lines = [
        f"{format_name}: {counts['messages']} messages, {counts['dead_letters']} dead "
        f"letters, {counts['recorded']} recorded"
    ]
    if "udp_received" in counts:
        # Every datagram that reached the socket is in one of these (docs/ingest/limits.md).
        lines.append(
            f"{format_name}: {counts['udp_received']} datagrams received, "
            f"{counts['udp_delivered']} decoded, {counts['udp_left_at_stop']} left "
            f"undecoded at the stop; dropped: {counts['udp_dropped_by_kernel']} by the "
            f"kernel (receive buffer full), {counts['udp_dropped_backlog_full']} by the "
            "receiver (backlog full)"
        )
    refused = {
        "datagrams dropped (receive queue full)": counts.get("datagrams_dropped", 0),
        "connections refused (too many)": counts.get("connections_refused", 0),
        "connections refused (no valid client certificate)": counts.get(
            "connections_refused_tls", 0
        ),
        "connections closed idle": counts.get("closed_idle", 0),
        "connections closed holding a partial frame": counts.get("closed_slow", 0),
    }
    if any(refused.values()):
        lines.append(
            f"{format_name}: " + ", ".join(f"{n} {what}" for what, n in refused.items() if n)
        )
    if "track_messages" in counts:
        lines.append(
            f"tracking: {counts['track_messages']} track messages, "
            f"{counts['confirmed_tracks']} confirmed tracks, "
            f"{counts['tracker_dead_letters']} refused by the tracker, "
            f"{counts['tracked_reports']} reports tracked, "
            f"{counts['out_of_sequence_reports']} of them out of sequence"
        )
    return lines


async def _feed(
    settings: IngestSettings,
    make: Callable[[], Decoder],
    publisher: SourcePublisher,
    udp: UdpReceiver | None,
    say: Callable[[str], None],
    tracker: LiveTrackingService | None = None,
) -> None:
    transport = settings.transport
    name = settings.format
    if name == "sapient" and transport.file is None:
        await _serve_sapient(settings, publisher, say)
    elif transport.file is not None and transport.follow:
        chunks = sources.follow_file_chunks(transport.file, from_start=transport.from_start)
        await publisher.pump(make(), chunks)
    elif transport.file is not None:
        await publisher.pump(make(), sources.file_chunks(transport.file))
    elif transport.unix_dgram is not None:
        decoder = make()
        # A datagram is one record; line formats get it newline-terminated, binary ones as is.
        chunks = sources.unix_datagram_chunks(
            transport.unix_dgram,
            terminate_lines=isinstance(decoder, LineDecoder),
            counters=publisher.counters,
        )
        say(f"{name}: receiving datagrams on {transport.unix_dgram}")
        await publisher.pump(decoder, chunks)
    elif transport.unix_stream is not None:
        async with sources.serve_unix_stream(transport.unix_stream, make, publisher):
            say(f"{name}: listening on {transport.unix_stream}")
            await asyncio.Event().wait()  # until the duration or Ctrl-C
    elif udp is not None:
        async with udp:
            granted = udp.counters.receive_buffer_granted
            say(
                f"{name}: receiving datagrams on {transport.udp} (receive buffer: "
                f"{granted >> 10} KiB granted, {udp.counters.receive_buffer_asked >> 10} KiB "
                "asked)"
            )
            decoder = make()
            if tracker is not None and not tracker.settings.from_bus:
                assert isinstance(decoder, AsterixDecoder)
                await pump_plot_datagrams(
                    publisher,
                    decoder,
                    tracker,
                    udp.timed_datagrams(),
                    idle=lambda: udp.waiting() == 0,
                )
            else:
                await publisher.pump_timed(decoder, udp.timed_datagrams())
    elif transport.tcp is not None:
        host, port = sources.parse_host_port(transport.tcp)
        await publisher.pump(make(), sources.tcp_client_chunks(host, port))
    elif transport.listen_tcp is not None:
        host, port = sources.parse_host_port(transport.listen_tcp)
        listener = await sources.serve_tcp(host, port, make, publisher, settings.limits)
        async with listener:
            await listener.serve_forever()
    else:
        raise ValueError("no transport: give a UDP, TCP, file or Unix socket source")


async def _serve_sapient(
    settings: IngestSettings, publisher: SourcePublisher, say: Callable[[str], None]
) -> None:
    transport = settings.transport
    address = transport.tcp or transport.listen_tcp or SAPIENT_DEFAULT_ADDRESS
    host, port = sources.parse_host_port(address)
    server = SapientServer(
        publisher,
        host=host,
        port=port,
        decoder_factory=lambda: SapientDecoder(releasability=settings.releasability),
        limits=settings.limits,
        tls=settings.sapient_tls,
    )
    await server.start()
    tls = settings.sapient_tls
    mutual = tls is not None and tls.verify_mode == ssl.CERT_REQUIRED
    secured = " (mutual TLS)" if mutual else " (TLS)" if server.tls else ""
    say(f"SAPIENT fusion node {server.node_id} listening on {host}:{server.port}{secured}")
    try:
        await asyncio.Event().wait()  # until the duration or Ctrl-C
    finally:
        await server.close()
