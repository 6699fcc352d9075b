"""``hotzone federation config`` and ``hotzone federation-demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotzone.commands.common import SubParsers


def _codes(text: str) -> list[str]:
    return [code.strip() for code in text.split(",") if code.strip()]


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "federation",
        help="nats-server configurations for an alliance hub and nation leaf nodes",
        description="Write nats-server configs: the alliance hub (JetStream domain 'hub', "
        "accepting leaf nodes) and one leaf server per nation with its own JetStream domain. "
        "See docs/federation.md.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    config = actions.add_parser("config", help="write hub.conf and one NATION.conf each")
    config.add_argument("--nations", type=_codes, default=["PL", "LT", "RO"])
    config.add_argument("--out", type=Path, default=Path("federation"))
    config.add_argument("--host", default="127.0.0.1")
    config.add_argument("--base-port", type=int, default=4222, help="hub client port; then up")
    config.add_argument("--store", type=Path, default=None, help="JetStream store parent")
    config.set_defaults(run=run_config)

    demo = subparsers.add_parser(
        "federation-demo",
        help="hub + PL, LT, RO nats-servers on 127.0.0.1, each nation running its scenario",
        description="Start a hub and PL, LT and RO leaf nats-servers on 127.0.0.1 (free "
        "ports, temporary stores), run suwalki-drones in PL and LT and black-sea-coast in RO, "
        "share what is releasable, show each nation's picture, and stop every process.",
    )
    demo.add_argument("--duration", type=float, default=120.0, help="seconds to simulate")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--out", type=Path, default=Path("runs"), help="parent of the run folder")
    demo.set_defaults(run=run_demo)


def run_config(args: argparse.Namespace) -> int:
    from hotzone.commands.common import CommandError
    from hotzone.runtime.federation_servers import plan_federation, write_configs

    if not 0 < args.base_port < 65536 - 2 - len(args.nations):
        raise CommandError(f"--base-port {args.base_port} leaves no room for the servers")
    store = args.store or args.out
    try:
        plan = plan_federation(args.nations, store, host=args.host, base_port=args.base_port)
    except ValueError as error:
        raise CommandError(str(error)) from None
    paths = write_configs(plan.servers, args.out)
    for name, path in paths.items():
        server = plan.hub if name == "hub" else plan.nations[name.upper()]
        print(f"{path}  {server.url}  domain {server.domain}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from hotzone.commands.common import CommandError
    from hotzone.runtime.federation_demo import run_federation_demo
    from hotzone.runtime.federation_servers import NatsServerError

    if args.duration <= 0:
        raise CommandError("--duration must be positive")
    try:
        run_federation_demo(args.out, duration_s=args.duration, seed=args.seed)
    except NatsServerError as error:
        raise CommandError(str(error)) from None
    return 0
