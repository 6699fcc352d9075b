"""``hotzone ingest FORMAT``: a live feed decoded onto the bus and recorded to a store.

Transports: ``--udp HOST:PORT`` (listen for datagrams), ``--tcp HOST:PORT`` (connect to a
feed; for ``sapient`` it is the address the SAPIENT fusion-node server listens on,
127.0.0.1:5020 by default), ``--listen-tcp HOST:PORT`` (accept feeds), ``--file PATH``
(with ``--follow``: keep reading what is appended, across rotation, like ``tail -F``),
``--unix-dgram PATH`` (bind a Unix datagram socket; Suricata's eve-log ``unix_dgram``) or
``--unix-stream PATH`` (listen on a Unix stream socket; Suricata's ``unix_stream``).
Every message and dead letter is recorded into ``--store`` (SQLite) when given; counters
are printed at the end (end of file, ``--duration`` elapsed, or Ctrl-C). With ``--track``
the feed is fused into tracks as it arrives (`hotzone.runtime.live_tracking`), recorded
with it. Over ``--udp`` a thread empties the socket (`hotzone.runtime.udp_receiver`), so a
burst waits in memory instead of overflowing the kernel's buffer, and every datagram
dropped anywhere is counted and printed. With ``--metrics-port`` the counters are served
for Prometheus on 127.0.0.1 (`hotzone.runtime.metrics`); SAPIENT may require client
certificates (``--sapient-client-ca``, mutual TLS).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import (
    COUNT,
    DURATION_S,
    PORT,
    SECONDS,
    CommandError,
    InputFile,
    Number,
    SubParsers,
    add_metrics_argument,
    add_tracking_arguments,
)

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

    from hotzone.bus import Bus
    from hotzone.ingest.base import Decoder, DecoderOptions
    from hotzone.runtime.live_tracking import LiveTrackingService
    from hotzone.runtime.metrics import PipelineMetrics
    from hotzone.runtime.services import RecorderService
    from hotzone.runtime.sources import ConnectionLimits, SourcePublisher
    from hotzone.runtime.udp_receiver import UdpReceiver

SAPIENT_DEFAULT_ADDRESS = "127.0.0.1:5020"
#: ``--udp-buffer``: what the socket's receive buffer is asked to hold, in MiB.
BUFFER_MIB = Number(1, 2048, integer=True, unit="MiB")


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="decode a live feed (UDP, TCP, SAPIENT server, file) onto the bus and a store",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument("format", metavar="FORMAT", help="input format (see hotzone decode)")
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument("--udp", metavar="HOST:PORT", help="listen for UDP datagrams")
    transport.add_argument(
        "--tcp", metavar="HOST:PORT", help="connect to a TCP feed (sapient: listen here)"
    )
    transport.add_argument("--listen-tcp", metavar="HOST:PORT", help="accept TCP feeds")
    transport.add_argument("--file", type=Path, metavar="PATH", help="read a capture file")
    transport.add_argument(
        "--unix-dgram",
        type=Path,
        metavar="PATH",
        help="bind a Unix datagram socket here, one record per datagram "
        "(Suricata eve-log filetype: unix_dgram); a stale socket file is replaced",
    )
    transport.add_argument(
        "--unix-stream",
        type=Path,
        metavar="PATH",
        help="listen on a Unix stream socket here "
        "(Suricata eve-log filetype: unix_stream); a stale socket file is replaced",
    )
    parser.add_argument(
        "--follow",
        action="store_true",
        help="with --file: keep reading what is appended, following rotation and "
        "truncation (tail -F); starts at the end of the file unless --from-start",
    )
    parser.add_argument(
        "--from-start",
        action="store_true",
        help="with --follow: read what the file already holds first",
    )
    parser.add_argument(
        "--store",
        default=None,
        help="record into this store: a SQLite file, or postgresql://user@host/db",
    )
    parser.add_argument("--nation", default="PL", help="nation code of the subjects (PL)")
    parser.add_argument(
        "--sensors",
        type=InputFile("sensors file", "text"),
        default=None,
        help="sensor/site file (YAML)",
    )
    parser.add_argument("--source-id", default=None, help="name of the feed")
    parser.add_argument("--releasability", default="NATO", help="label of what is ingested")
    parser.add_argument(
        "--duration", type=DURATION_S, default=None, help="stop after this many seconds"
    )
    parser.add_argument(
        "--udp-buffer",
        type=BUFFER_MIB,
        default=32,
        metavar="MIB",
        help="with --udp: receive buffer asked of the kernel, MiB (32; the size granted is "
        "printed)",
    )
    add_metrics_argument(parser)
    limits = parser.add_argument_group("limits of a listening server (--listen-tcp, SAPIENT)")
    limits.add_argument(
        "--max-connections", type=COUNT, default=64, help="connections open at once (64)"
    )
    limits.add_argument(
        "--max-per-address", type=COUNT, default=16, help="connections from one address (16)"
    )
    limits.add_argument(
        "--idle-timeout", type=SECONDS, default=300.0, help="close after this many idle s (300)"
    )
    limits.add_argument(
        "--frame-timeout",
        type=SECONDS,
        default=60.0,
        help="close a connection whose bytes complete no message for this many s (60)",
    )
    tls = parser.add_argument_group(
        "mutual TLS on the SAPIENT port",
        "with --sapient-client-ca, a sensor or effector must present a certificate signed by "
        "that CA, or its connection is refused (and counted)",
    )
    tls.add_argument(
        "--sapient-tls-cert",
        type=InputFile("certificate (PEM)", content="text"),
        default=None,
        help="this fusion node's certificate (PEM)",
    )
    tls.add_argument(
        "--sapient-tls-key",
        type=InputFile("private key (PEM)", content="text"),
        default=None,
        help="its private key (PEM)",
    )
    tls.add_argument(
        "--sapient-client-ca",
        type=InputFile("CA certificate (PEM)", content="text"),
        default=None,
        help="CA of the client certificates sensors and effectors must present",
    )
    tracking = parser.add_argument_group(
        "tracking", "with --track, the feed is also fused into tracks, recorded with it"
    )
    tracking.add_argument(
        "--track", action="store_true", help="fuse the feed's detections into tracks, live"
    )
    add_tracking_arguments(tracking, default_origin="the first detection's sensor")
    picture = parser.add_argument_group(
        "picture", "with --serve, the feed's picture on the web page (stops with Ctrl-C)"
    )
    picture.add_argument("--serve", action="store_true", help="serve the picture while ingesting")
    picture.add_argument("--host", default="127.0.0.1", help="address the page listens on")
    picture.add_argument("--port", type=PORT, default=8080, help="port the page listens on")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import socket

    from hotzone.ingest.base import DecoderOptions
    from hotzone.ingest.registry import decoder_factories
    from hotzone.runtime.sources import claim_unix_socket_path, parse_host_port

    factories = decoder_factories()
    if args.format not in factories:
        raise CommandError(f"unknown format {args.format!r}; known: {', '.join(sorted(factories))}")
    unix_socket = args.unix_dgram or args.unix_stream
    if args.format != "sapient" and not (
        args.udp or args.tcp or args.listen_tcp or args.file or unix_socket
    ):
        raise CommandError(
            "choose a transport: --udp, --tcp, --listen-tcp, --file, --unix-dgram or --unix-stream"
        )
    if args.format == "sapient" and unix_socket:
        raise CommandError("sapient is served over TCP (--tcp HOST:PORT), not a Unix socket")
    if args.follow and args.file is None:
        raise CommandError("--follow goes with --file")
    if args.from_start and not args.follow:
        raise CommandError("--from-start goes with --follow")
    if not args.window > 0:
        raise CommandError(f"--window must be positive, got {args.window}")
    _check_sapient_tls(args)
    options = DecoderOptions(
        sensors_file=args.sensors,
        source_id=args.source_id,
        releasability=args.releasability,
        # Over UDP a datagram holds whole frames: a cut one is refused with its datagram,
        # never joined with the next sender's bytes (decoders that frame by datagram).
        framing="datagram" if args.udp else "stream",
    )
    try:
        factories[args.format](options)  # fail fast on a bad sensors file
        for address in (args.udp, args.tcp, args.listen_tcp):
            if address is not None:
                parse_host_port(address)
        if args.unix_dgram is not None:
            claim_unix_socket_path(args.unix_dgram, socket.SOCK_DGRAM)
        if args.unix_stream is not None:
            claim_unix_socket_path(args.unix_stream, socket.SOCK_STREAM)
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from None
    metrics = _serve_metrics(args)
    try:
        if args.serve:
            _serve_ingest(args, options, metrics)
            return 0
        counters: dict[str, int] = {}
        try:
            asyncio.run(_ingest(args, options, metrics=metrics, counts=counters))
        except OSError as error:
            raise CommandError(f"cannot open the transport: {error}") from None
        except KeyboardInterrupt:
            # Ctrl-C: what was received, decoded and dropped is still said.
            if counters:
                _print_counters(args, counters)
            raise
    finally:
        if metrics is not None:
            metrics.close()
    _print_counters(args, counters)
    return 0


def _check_sapient_tls(args: argparse.Namespace) -> None:
    given = (args.sapient_tls_cert, args.sapient_tls_key, args.sapient_client_ca)
    if not any(given):
        return
    if args.format != "sapient":
        raise CommandError("--sapient-tls-* and --sapient-client-ca go with the sapient format")
    if args.sapient_tls_cert is None or args.sapient_tls_key is None:
        raise CommandError("--sapient-tls-cert and --sapient-tls-key go together")
    try:
        _sapient_tls(args)
    except (OSError, ValueError) as error:
        raise CommandError(f"SAPIENT TLS: {error}") from None


def _sapient_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The SAPIENT port's TLS (`server_tls_context`), if asked for."""
    from hotzone.runtime.sapient_server import server_tls_context

    if args.sapient_tls_cert is None:
        return None
    return server_tls_context(args.sapient_tls_cert, args.sapient_tls_key, args.sapient_client_ca)


def _serve_metrics(args: argparse.Namespace) -> PipelineMetrics | None:
    from hotzone.runtime.metrics import METRICS_HOST, PipelineMetrics

    if args.metrics_port is None:
        return None
    metrics = PipelineMetrics()
    try:
        port = metrics.serve(args.metrics_port)
    except OSError as error:
        raise CommandError(f"--metrics-port {args.metrics_port}: {error}") from None
    print(f"metrics: http://{METRICS_HOST}:{port}/metrics", flush=True)
    return metrics


def _limits(args: argparse.Namespace) -> ConnectionLimits:
    from hotzone.runtime.sources import ConnectionLimits

    return ConnectionLimits(
        max_connections=args.max_connections,
        max_per_address=args.max_per_address,
        idle_timeout_s=args.idle_timeout,
        frame_timeout_s=args.frame_timeout,
    )


def _print_counters(args: argparse.Namespace, counters: dict[str, int]) -> None:
    print(
        f"{args.format}: {counters['messages']} messages, {counters['dead_letters']} dead "
        f"letters, {counters['recorded']} recorded",
        flush=True,
    )
    # What the transport dropped or refused is said, never silent.
    if "udp_received" in counters:
        # Every datagram that reached the socket is in one of these (docs/ingest/limits.md).
        print(
            f"{args.format}: {counters['udp_received']} datagrams received, "
            f"{counters['udp_delivered']} decoded, {counters['udp_left_at_stop']} left "
            f"undecoded at the stop; dropped: {counters['udp_dropped_by_kernel']} by the "
            f"kernel (receive buffer full), {counters['udp_dropped_backlog_full']} by the "
            "receiver (backlog full)",
            flush=True,
        )
    refused = {
        "datagrams dropped (receive queue full)": counters.get("datagrams_dropped", 0),
        "connections refused (too many)": counters.get("connections_refused", 0),
        "connections refused (no valid client certificate)": counters.get(
            "connections_refused_tls", 0
        ),
        "connections closed idle": counters.get("closed_idle", 0),
        "connections closed holding a partial frame": counters.get("closed_slow", 0),
    }
    if any(refused.values()):
        print(
            f"{args.format}: " + ", ".join(f"{n} {what}" for what, n in refused.items() if n),
            flush=True,
        )
    if args.track:
        print(
            f"tracking: {counters['track_messages']} track messages, "
            f"{counters['confirmed_tracks']} confirmed tracks, "
            f"{counters['tracker_dead_letters']} refused by the tracker",
            flush=True,
        )


def _serve_ingest(
    args: argparse.Namespace, options: DecoderOptions, metrics: PipelineMetrics | None
) -> None:
    """The feed goes on while the page shows its picture, live; Ctrl-C stops both."""
    import uvicorn

    from hotzone.api.app import ApiConfig, create_app
    from hotzone.api.live import url_of
    from hotzone.bus import InProcessBus

    if args.store is not None and "://" in str(args.store):
        raise CommandError("--serve records into a SQLite file (or nothing), not a server store")
    if not 0 < args.port < 65536:
        raise CommandError(f"--port must be between 1 and 65535, not {args.port}")
    bus = InProcessBus()

    async def feed() -> None:
        _print_counters(args, await _ingest(args, options, bus, metrics))

    config = ApiConfig(store_path=args.store or ":memory:", nation=args.nation)
    app = create_app(config, bus=bus, background=feed)
    print(f"hotzone COP: {url_of(args.host, args.port)} ({args.format} feed)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", ws="websockets-sansio")


async def _ingest(
    args: argparse.Namespace,
    options: DecoderOptions,
    bus: Bus | None = None,
    metrics: PipelineMetrics | None = None,
    counts: dict[str, int] | None = None,
) -> dict[str, int]:
    """Ingest until the feed ends, ``--duration`` passes or Ctrl-C; the counters, which
    are also written into ``counts`` when given (so that an interrupted run still has
    them to print)."""
    import asyncio
    import contextlib

    from hotzone.bus import InProcessBus
    from hotzone.ingest.registry import decoder_factories
    from hotzone.runtime.services import SHUTDOWN, RecorderService, encode_tick
    from hotzone.runtime.sources import SourcePublisher, parse_host_port
    from hotzone.runtime.udp_receiver import UdpReceiver
    from hotzone.store import open_store
    from hotzone.types.subjects import clock_subject

    factory = decoder_factories()[args.format]
    bus = bus or InProcessBus()
    publisher = SourcePublisher(bus, args.nation, args.releasability)
    udp = None
    if args.udp is not None:
        udp = UdpReceiver(*parse_host_port(args.udp), receive_buffer_bytes=args.udp_buffer << 20)
    store = open_store(args.store) if args.store is not None else None
    recorder = RecorderService(bus, store, args.nation) if store is not None else None
    if metrics is not None:
        metrics.watch_source(args.format, publisher.counters)
        if udp is not None:
            metrics.watch_udp(args.format, udp)
        if recorder is not None:
            metrics.watch_recorder(recorder)
    recording: asyncio.Task[None] | None = None
    if recorder is not None:
        ready = asyncio.Event()
        recording = asyncio.create_task(recorder.run(ready))
        await ready.wait()
    tracker = _live_tracker(args, bus)
    if metrics is not None and tracker is not None:
        metrics.watch_tracker(tracker)
    tracking: asyncio.Task[None] | None = None
    if tracker is not None:
        ready = asyncio.Event()
        tracking = asyncio.create_task(tracker.run(ready))
        await ready.wait()
    try:
        feed = _feed(args, lambda: factory(options), publisher, udp)
        if args.duration is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(feed, args.duration)
        else:
            await feed
    finally:
        if tracker is not None and tracking is not None:
            # The last window's tracks are published before the recorder stops.
            tracker.stop()
            await tracking
        if recording is not None:
            await bus.publish(clock_subject(args.nation), encode_tick(0.0), {"kind": SHUTDOWN})
            await recording
        await bus.close()
        if store is not None:
            store.close()
        counts = counts if counts is not None else {}
        counts.update(_tally(publisher, recorder, udp, tracker))
    return counts


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
        counts["confirmed_tracks"] = len(tracker.counters.confirmed)
        counts["tracker_dead_letters"] = tracker.counters.dead_letters
    return counts


def _live_tracker(args: argparse.Namespace, bus: Bus) -> LiveTrackingService | None:
    from hotzone.geo import LocalFrame
    from hotzone.runtime.live_tracking import LiveTrackingService, LiveTrackingSettings

    if not args.track:
        return None
    settings = LiveTrackingSettings(
        window_s=args.window,
        lag_s=args.lag,
        origin=LocalFrame(*args.origin) if args.origin else None,
        sector=args.sector,
        releasability=args.releasability,
        by_message_time=args.file is not None and not args.follow,
    )
    return LiveTrackingService(bus, args.nation, settings)


async def _feed(
    args: argparse.Namespace,
    make: Callable[[], Decoder],
    publisher: SourcePublisher,
    udp: UdpReceiver | None,
) -> None:
    import asyncio

    from hotzone.ingest.base import LineDecoder
    from hotzone.runtime import sources

    if args.format == "sapient" and not args.file:
        from hotzone.ingest.sapient import SapientDecoder
        from hotzone.runtime.sapient_server import SapientServer

        host, port = sources.parse_host_port(args.tcp or args.listen_tcp or SAPIENT_DEFAULT_ADDRESS)
        server = SapientServer(
            publisher,
            host=host,
            port=port,
            decoder_factory=lambda: SapientDecoder(releasability=args.releasability),
            limits=_limits(args),
            tls=_sapient_tls(args),
        )
        await server.start()
        secured = " (mutual TLS)" if args.sapient_client_ca else " (TLS)" if server.tls else ""
        print(f"SAPIENT fusion node {server.node_id} listening on {host}:{server.port}{secured}")
        try:
            await asyncio.Event().wait()  # until --duration or Ctrl-C
        finally:
            await server.close()
        return
    if args.file is not None and args.follow:
        chunks = sources.follow_file_chunks(args.file, from_start=args.from_start)
        await publisher.pump(make(), chunks)
    elif args.file is not None:
        await publisher.pump(make(), sources.file_chunks(args.file))
    elif args.unix_dgram is not None:
        decoder = make()
        # A datagram is one record; line formats get it newline-terminated, binary ones as is.
        chunks = sources.unix_datagram_chunks(
            args.unix_dgram,
            terminate_lines=isinstance(decoder, LineDecoder),
            counters=publisher.counters,
        )
        print(f"{args.format}: receiving datagrams on {args.unix_dgram}", flush=True)
        await publisher.pump(decoder, chunks)
    elif args.unix_stream is not None:
        async with sources.serve_unix_stream(args.unix_stream, make, publisher):
            print(f"{args.format}: listening on {args.unix_stream}", flush=True)
            await asyncio.Event().wait()  # until --duration or Ctrl-C
    elif udp is not None:
        async with udp:
            granted = udp.counters.receive_buffer_granted
            print(
                f"{args.format}: receiving datagrams on {args.udp} (receive buffer: "
                f"{granted >> 10} KiB granted, {udp.counters.receive_buffer_asked >> 10} KiB "
                "asked)",
                flush=True,
            )
            await publisher.pump(make(), udp.datagrams())
    elif args.tcp is not None:
        host, port = sources.parse_host_port(args.tcp)
        await publisher.pump(make(), sources.tcp_client_chunks(host, port))
    else:
        host, port = sources.parse_host_port(args.listen_tcp)
        listener = await sources.serve_tcp(host, port, make, publisher, _limits(args))
        async with listener:
            await listener.serve_forever()
