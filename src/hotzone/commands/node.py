"""``hotzone node``: run one nation's pipeline (or some of its sectors) on NATS JetStream."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from hotzone.commands.common import (
    COUNT,
    DURATION_S,
    SEED,
    TIMEOUT_S,
    InputFile,
    SubParsers,
    add_metrics_argument,
    check_sectors,
    positive_float_or_max,
)

if TYPE_CHECKING:
    from hotzone.runtime.metrics import PipelineMetrics

DEFAULT_SCENARIOS = {"RO": "black-sea-coast"}


def _codes(text: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in text.split(",") if code.strip())


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "node",
        help="run a nation's pipeline on NATS JetStream (distributed mode)",
        description="Connect to the nation's nats-server, make sure its streams exist, and "
        "run the pipeline for the nation: simulate and replay its scenario (unless "
        "--no-replay), run the stages and the recorder on its sectors and, with --alliance, "
        "share what is releasable with the allies and import what they release to it. "
        "See docs/federation.md.",
    )
    parser.add_argument("--nation", required=True, help="nation code, e.g. PL")
    parser.add_argument(
        "--nats",
        default="nats://127.0.0.1:4222",
        help="server URL(s) of the nation's NATS, comma-separated for a cluster",
    )
    parser.add_argument("--domain", default=None, help="JetStream domain (default: nation)")
    parser.add_argument(
        "--sectors",
        type=_codes,
        default=(),
        help="comma-separated sectors this node tracks (a sector node: tracking only); "
        "default every sector, and the node is the nation's owner",
    )
    parser.add_argument(
        "--owner",
        action="store_true",
        help="with --sectors: this node is also the nation's owner (assessment, c2, audit, "
        "sharing; tracks the detections no sector node claims). One owner per nation",
    )
    parser.add_argument(
        "--track-by-sector",
        action="store_true",
        help="without --sectors: one tracker per sector (as the owner and sector nodes "
        "sharing the sectors run), so the nation's outputs are those of any later split; "
        "default one tracker for the whole scenario",
    )
    parser.add_argument(
        "--owner-only",
        action="store_true",
        help="the nation's owner tracking no sector (sector nodes run with --sectors for "
        "every sector): assessment, c2, audit, sharing, and the detections of no scenario "
        "sector; its process is left to the assessment",
    )
    parser.add_argument(
        "--no-tracking",
        action="store_true",
        help="the nation's owner tracking nothing (sector nodes track every sector, one of "
        "them with --unclaimed the detections of no scenario sector): assessment, c2, "
        "audit, sharing; its consumers read no detection. It warns while no node runs "
        "--unclaimed",
    )
    parser.add_argument(
        "--unclaimed",
        action="store_true",
        help="with --sectors: this sector node also tracks the detections of no scenario "
        "sector (no sector, or one the scenario does not name), for an owner run with "
        "--no-tracking; its consumers then read every detection. One per nation: a second "
        "is refused while the first runs",
    )
    parser.add_argument(
        "--alliance", type=_codes, default=(), help="member nations to share with, e.g. PL,LT,RO"
    )
    parser.add_argument("--scenario", default=None, help="scenario name or YAML")
    parser.add_argument("--no-replay", action="store_true", help="do not feed the scenario")
    parser.add_argument(
        "--store",
        default=None,
        help="an SQLite file (default hotzone-<NATION>.sqlite) or a postgresql:// URL",
    )
    parser.add_argument("--seed", type=SEED, default=1)
    parser.add_argument("--duration", type=DURATION_S, default=None, help="seconds to simulate")
    parser.add_argument("--speed", type=positive_float_or_max, default=float("inf"))
    parser.add_argument("--replicas", type=COUNT, default=1, help="stream replicas (cluster)")
    parser.add_argument(
        "--creds",
        type=InputFile("credentials file", content="text"),
        default=None,
        help="the nation's NATS credentials (NATION.creds)",
    )
    parser.add_argument(
        "--tls-ca",
        type=InputFile("CA certificate", content="text"),
        default=None,
        help="CA of the servers' TLS certificates",
    )
    parser.add_argument(
        "--connect-timeout",
        type=TIMEOUT_S,
        default=30.0,
        help="seconds the first connection to NATS may take (default 30)",
    )
    add_metrics_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from nats.errors import Error as NatsError

    from hotzone.bus import BusPublishError
    from hotzone.bus.nkeys import NkeyError
    from hotzone.c2.config import C2ConfigError
    from hotzone.commands.common import CommandError
    from hotzone.runtime import event_loop
    from hotzone.runtime.federation_servers import check_nation
    from hotzone.runtime.node import NodeOptions, check_roles, run_node
    from hotzone.runtime.owner_lease import NationOwnedError
    from hotzone.sim.scenario import ScenarioError
    from hotzone.store import PostgresStoreError

    try:
        nation = check_nation(args.nation)
        for ally in args.alliance:
            check_nation(ally)
    except ValueError as error:
        raise CommandError(str(error)) from None
    if args.replicas < 1:
        raise CommandError("--replicas must be at least 1")
    options = NodeOptions(
        nation=nation,
        servers=[url.strip() for url in args.nats.split(",") if url.strip()],
        scenario=args.scenario or DEFAULT_SCENARIOS.get(nation, "suwalki-drones"),
        store_path=args.store or f"hotzone-{nation}.sqlite",
        sectors=args.sectors,
        domain=args.domain or nation.lower(),
        alliance=args.alliance,
        replay=not args.no_replay,
        seed=args.seed,
        duration_s=args.duration,
        speed=args.speed,
        replicas=args.replicas,
        connect_deadline_s=args.connect_timeout,
        credentials=args.creds,
        tls_ca=args.tls_ca,
        owner=args.owner,
        track_by_sector=args.track_by_sector,
        owner_only=args.owner_only,
        no_tracking=args.no_tracking,
        unclaimed=args.unclaimed,
    )
    check_sectors(options.scenario, options.sectors)
    try:
        check_roles(options)
    except ValueError as error:
        raise CommandError(str(error)) from None
    metrics = _serve_metrics(args.metrics_port)
    _quiet_tls_close()
    try:
        report = event_loop.run(
            run_node(options, metrics=metrics),
            on_start=metrics.watch_event_loop if metrics is not None else None,
        )
    except (ScenarioError, NkeyError, PostgresStoreError, C2ConfigError, NationOwnedError) as error:
        raise CommandError(str(error)) from None
    except (OSError, NatsError, BusPublishError) as error:
        raise CommandError(f"NATS at {args.nats}: {error}") from None
    finally:
        if metrics is not None:
            metrics.close()
    progress = report.progress
    print(
        f"{nation}: {sum(progress.published.values())} inputs, "
        f"tracked {report.tracked} ({report.role}), "
        f"{progress.recorded} messages recorded, shared {report.shared_out}, "
        f"received {report.received_from}, refused {report.refused}"
        + (
            f", ticks stepped without a tracker's marker {report.producer_timeouts}"
            if report.producer_timeouts
            else ""
        )
        + (
            ", detections of no scenario sector untracked (no node ran --unclaimed)"
            if report.unclaimed_untracked
            else ""
        )
    )
    return 0


class _TlsCloseNoise(logging.Filter):
    """asyncio warns each time nats-py's TLS connection closes ("returning true from
    eof_received() has no effect when using ssl"): harmless, and it would make a one-line
    error two lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "eof_received()" not in record.getMessage()


def _quiet_tls_close() -> None:
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, _TlsCloseNoise) for f in asyncio_log.filters):
        asyncio_log.addFilter(_TlsCloseNoise())


def _serve_metrics(port: int | None) -> PipelineMetrics | None:
    from hotzone.commands.common import CommandError
    from hotzone.runtime.metrics import METRICS_HOST, PipelineMetrics

    if port is None:
        return None
    metrics = PipelineMetrics()
    try:
        bound = metrics.serve(port)
    except OSError as error:
        raise CommandError(f"--metrics-port {port}: {error}") from None
    print(f"metrics: http://{METRICS_HOST}:{bound}/metrics", flush=True)
    return metrics
