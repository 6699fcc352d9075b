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

# This module reads and checks the arguments; the service, its wiring and its shutdown
# order are `hotzone.runtime.ingest_service`.

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import (
    COUNT,
    DURATION_S,
    PORT,
    SECONDS,
    TIMEOUT_S,
    CommandError,
    InputFile,
    Number,
    SubParsers,
    add_metrics_argument,
    add_sapient_tls_arguments,
    add_tracking_arguments,
    sapient_tls_context,
    sapient_tls_given,
)

if TYPE_CHECKING:
    from hotzone.runtime.ingest_service import IngestSettings
    from hotzone.runtime.metrics import PipelineMetrics

#: ``--udp-buffer``: what the socket's receive buffer is asked to hold, in MiB.
BUFFER_MIB = Number(1, 2048, integer=True, unit="MiB")
#: ``--hold``: a rotating radar sends a sector's plots when its beam has swept the sector,
#: up to 1/32 of a 4 s rotation (125 ms) after the first was measured; the network adds
#: milliseconds. Stepping each window this much before its end keeps them in sequence.
DEFAULT_HOLD_S = 0.25
#: ``--books``: how often ``--on-arrival`` closes every track's books (coasting, deletion):
#: the windows' period, so a track ends when it would have with 1 s windows.
DEFAULT_BOOKS_S = 1.0


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
    add_sapient_tls_arguments(parser, clients="a sensor or effector")
    tracking = parser.add_argument_group(
        "tracking", "with --track, the feed is also fused into tracks, recorded with it"
    )
    tracking.add_argument(
        "--track", action="store_true", help="fuse the feed's detections into tracks, live"
    )
    add_tracking_arguments(tracking, default_origin="the first detection's sensor")
    tracking.add_argument(
        "--hold",
        type=TIMEOUT_S,
        default=DEFAULT_HOLD_S,
        metavar="S",
        help="step each window S seconds before its end, so that reports measured in its "
        "last S but received after it are not out of sequence (live feeds; shorter than "
        f"--window; {DEFAULT_HOLD_S:g}, 0: at the end)",
    )
    tracking.add_argument(
        "--on-arrival",
        action="store_true",
        help="step the tracker on what has arrived whenever no more input waits (at most "
        "--window s of it), not at window ends, and publish only the tracks each step "
        "updated (--hold unused)",
    )
    tracking.add_argument(
        "--books",
        type=TIMEOUT_S,
        default=DEFAULT_BOOKS_S,
        metavar="S",
        help="with --on-arrival: check every track's coasting and deletion every S "
        f"seconds; ended tracks are published once more, as deleted ({DEFAULT_BOOKS_S:g})",
    )
    picture = parser.add_argument_group(
        "picture", "with --serve, the feed's picture on the web page (stops with Ctrl-C)"
    )
    picture.add_argument("--serve", action="store_true", help="serve the picture while ingesting")
    picture.add_argument("--host", default="127.0.0.1", help="address the page listens on")
    picture.add_argument("--port", type=PORT, default=8080, help="port the page listens on")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hotzone.runtime import event_loop
    from hotzone.runtime.ingest_service import run_ingest, summary_lines

    settings = _settings(args)
    metrics = _serve_metrics(args)
    try:
        if args.serve:
            _serve_ingest(args, settings, metrics)
            return 0
        counters: dict[str, int] = {}
        try:
            event_loop.run(
                run_ingest(settings, metrics=metrics, counts=counters),
                # asyncio's own loop: this process serves SAPIENT over TLS, and on uvloop
                # 0.21 a client refused by the server-side handshake (`SapientServer`) was
                # never disconnected (tests/ingest/test_sapient_tls.py).
                use_uvloop=False,
                on_start=metrics.watch_event_loop if metrics is not None else None,
            )
        except OSError as error:
            raise CommandError(f"cannot open the transport: {error}") from None
        except KeyboardInterrupt:
            # Ctrl-C: what was received, decoded and dropped is still said.
            if counters:
                _print_lines(summary_lines(args.format, counters))
            raise
    finally:
        if metrics is not None:
            metrics.close()
    _print_lines(summary_lines(args.format, counters))
    return 0


def _settings(args: argparse.Namespace) -> IngestSettings:
    """The arguments checked (a bad one is a `CommandError`) and turned into the service's
    settings; the transport and the decoder are tried here, so that a bad address, socket
    path or sensors file is said before anything starts."""
    import socket

    from hotzone.geo import LocalFrame
    from hotzone.ingest.base import DecoderOptions
    from hotzone.ingest.registry import decoder_factories
    from hotzone.runtime.ingest_service import IngestSettings, IngestTransport
    from hotzone.runtime.sources import (
        ConnectionLimits,
        claim_unix_socket_path,
        parse_host_port,
    )
    from hotzone.runtime.windows import TrackingSettings

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
    if not args.books > 0:
        raise CommandError(f"--books must be positive, got {args.books}")
    if sapient_tls_given(args) and args.format != "sapient":
        raise CommandError("--sapient-tls-* and --sapient-client-ca go with the sapient format")
    sapient_tls = sapient_tls_context(args)
    options = DecoderOptions(
        sensors_file=args.sensors,
        source_id=args.source_id,
        releasability=args.releasability,
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
    tracking = None
    if args.track:
        tracking = TrackingSettings(
            window_s=args.window,
            lag_s=args.lag,
            origin=LocalFrame(*args.origin) if args.origin else None,
            sector=args.sector,
            hold_s=0.0 if args.on_arrival else args.hold,
            arrivals=args.on_arrival,
            books_s=args.books,
        )
        if not args.on_arrival and not args.hold < args.window:
            raise CommandError(
                f"--hold {args.hold:g} must be shorter than --window {args.window:g}"
            )
    return IngestSettings(
        format=args.format,
        transport=IngestTransport(
            udp=args.udp,
            tcp=args.tcp,
            listen_tcp=args.listen_tcp,
            file=args.file,
            follow=args.follow,
            from_start=args.from_start,
            unix_dgram=args.unix_dgram,
            unix_stream=args.unix_stream,
        ),
        decoder_options=options,
        nation=args.nation,
        releasability=args.releasability,
        store=args.store,
        duration_s=args.duration,
        udp_buffer_bytes=args.udp_buffer << 20,
        limits=ConnectionLimits(
            max_connections=args.max_connections,
            max_per_address=args.max_per_address,
            idle_timeout_s=args.idle_timeout,
            frame_timeout_s=args.frame_timeout,
        ),
        sapient_tls=sapient_tls,
        tracking=tracking,
    )


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        print(line, flush=True)


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


def _serve_ingest(
    args: argparse.Namespace, settings: IngestSettings, metrics: PipelineMetrics | None
) -> None:
    """The feed goes on while the page shows its picture, live; Ctrl-C stops both."""
    import uvicorn

    from hotzone.api.app import ApiConfig, create_app
    from hotzone.api.live import url_of
    from hotzone.bus import InProcessBus
    from hotzone.runtime.ingest_service import run_ingest, summary_lines

    if args.store is not None and "://" in str(args.store):
        raise CommandError("--serve records into a SQLite file (or nothing), not a server store")
    if not 0 < args.port < 65536:
        raise CommandError(f"--port must be between 1 and 65535, not {args.port}")
    bus = InProcessBus()

    async def feed() -> None:
        _print_lines(summary_lines(args.format, await run_ingest(settings, bus, metrics)))

    config = ApiConfig(store_path=args.store or ":memory:", nation=args.nation)
    app = create_app(config, bus=bus, background=feed)
    print(f"hotzone COP: {url_of(args.host, args.port)} ({args.format} feed)", flush=True)
    # asyncio's own loop, as without --serve (uvicorn would take uvloop, installed with
    # hotzone: the SAPIENT TLS refusals are wrong on it, see `run`).
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        ws="websockets-sansio",
        loop="asyncio",
    )
