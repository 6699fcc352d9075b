"""``hotzone federation config`` and ``hotzone federation-demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotzone.commands.common import (
    DURATION_S,
    PORT,
    SEED,
    TIMEOUT_S,
    InputFile,
    OutputDirectory,
    SubParsers,
    comma_list,
)


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "federation",
        help="nats-server configurations for an alliance hub and nation leaf nodes",
        description="Write nats-server configs: the alliance hub (JetStream domain 'hub', "
        "accepting leaf nodes) and one leaf server per nation with its own JetStream domain. "
        "See docs/federation.md.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    config = actions.add_parser(
        "config",
        help="write hub.conf and one NATION.conf each, with accounts, credentials and TLS",
        description="Write hub.conf and one NATION.conf per nation: every nation its own "
        "NATS account and JetStream domain, TLS on every port, and the credentials each "
        "nation's clients need (NATION.creds; hub.creds for the hub). Key material goes to "
        "OUT/keys and OUT/tls (reused when there, so issued credentials stay valid).",
    )
    config.add_argument("--nations", type=comma_list, default=["PL", "LT", "RO"])
    config.add_argument("--out", type=OutputDirectory(), default=Path("federation"))
    config.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="[SERVER=]ADDRESS",
        help="where the servers listen and are reached (an IP address or DNS name; default "
        "127.0.0.1); SERVER=ADDRESS (hub=…, PL=…; repeat it) gives one server its own host",
    )
    config.add_argument(
        "--hub-url",
        default=None,
        metavar="URL",
        help="where the nations' servers reach the hub's leaf port (default "
        "nats-leaf://HUB-ADDRESS:PORT); its host goes into the hub's certificate",
    )
    config.add_argument("--base-port", type=PORT, default=4222, help="hub client port; then up")
    config.add_argument("--store", type=Path, default=None, help="JetStream store parent")
    config.add_argument(
        "--insecure",
        action="store_true",
        help="no accounts, credentials or TLS: any local client reads and writes everything "
        "(one trusted host only)",
    )
    config.set_defaults(run=run_config)

    hub = actions.add_parser(
        "hub",
        help="create or update the hub's ALLIANCE stream (sources every nation's releases)",
        description="Connect to the alliance hub and make sure its ALLIANCE stream sources "
        "the share stream of every nation; then exit.",
    )
    hub.add_argument("--nations", type=comma_list, default=["PL", "LT", "RO"])
    hub.add_argument("--nats", default="tls://127.0.0.1:4222", help="the hub's URL(s)")
    hub.add_argument(
        "--creds",
        type=InputFile("credentials file", content="text"),
        default=None,
        help="hub credentials (hub.creds)",
    )
    hub.add_argument(
        "--tls-ca",
        type=InputFile("CA certificate", content="text"),
        default=None,
        help="the alliance CA (tls/ca.pem)",
    )
    hub.add_argument("--connect-timeout", type=TIMEOUT_S, default=30.0)
    hub.add_argument(
        "--watch",
        action="store_true",
        help="stay running and set stalled sources up again as soon as a nation's link is "
        "back (catch-up in seconds instead of 40-50 s after a partition); Ctrl-C stops",
    )
    hub.set_defaults(run=run_hub)

    demo = subparsers.add_parser(
        "federation-demo",
        help="hub + PL, LT, RO nats-servers on 127.0.0.1, each nation running its scenario",
        description="Start a hub and PL, LT and RO leaf nats-servers on 127.0.0.1 (free "
        "ports, stores in the run folder; accounts, credentials and TLS as 'federation "
        "config' writes them), run suwalki-drones in PL and LT and black-sea-coast in RO, "
        "share what is releasable, show each nation's picture, and stop every process.",
    )
    demo.add_argument("--duration", type=DURATION_S, default=120.0, help="seconds to simulate")
    demo.add_argument("--seed", type=SEED, default=1)
    demo.add_argument(
        "--out", type=OutputDirectory(), default=Path("runs"), help="parent of the run folder"
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="also serve each nation's picture on the web, live, then until Ctrl-C",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address the pictures listen on")
    demo.add_argument(
        "--port", type=PORT, default=8080, help="PL's picture; LT's and RO's on the next ports"
    )
    demo.set_defaults(run=run_demo)


def run_config(args: argparse.Namespace) -> int:
    from hotzone.commands.common import CommandError
    from hotzone.runtime.federation_servers import plan_federation, write_configs

    if not 0 < args.base_port < 65536 - 2 - len(args.nations):
        raise CommandError(f"--base-port {args.base_port} leaves no room for the servers")
    # Absolute: the configs name stores, certificates and credentials that the servers
    # open from wherever they are started.
    out = args.out.absolute()
    store = (args.store or args.out).absolute()
    try:
        default_host, hosts = server_hosts(args.host)
        plan = plan_federation(
            args.nations,
            store,
            host=default_host,
            base_port=args.base_port,
            hub_leaf_url=args.hub_url,
            hosts=hosts,
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    secrets = None
    if not args.insecure:
        from hotzone.bus.nkeys import NkeyError
        from hotzone.runtime.federation_security import secure_federation

        try:
            secrets = secure_federation(plan, out)
        except (NkeyError, ValueError, OSError) as error:
            raise CommandError(f"{args.out}: {error}") from None
    paths = write_configs(plan.servers, out)
    for name, path in paths.items():
        code = "hub" if name == "hub" else name.upper()
        server = plan.hub if name == "hub" else plan.nations[code]
        creds = f"  credentials {secrets.credentials[code]}" if secrets is not None else ""
        print(f"{path}  {server.url}  domain {server.domain}{creds}")
    if secrets is not None:
        print(f"CA {secrets.ca} (clients: --tls-ca); keys in {secrets.directory / 'keys'}")
    return 0


def server_hosts(values: list[str]) -> tuple[str, dict[str, str]]:
    """``--host`` values: at most one bare ADDRESS (every server's default) and any number
    of SERVER=ADDRESS (``hub`` or a nation code, in any case)."""
    default: str | None = None
    hosts: dict[str, str] = {}
    for value in values:
        name, equals, address = value.partition("=")
        if not equals:
            if default is not None:
                raise ValueError(f"--host {value}: one default host only ({default} given)")
            default = value
            continue
        server = "hub" if name.strip().lower() == "hub" else name.strip().upper()
        if server in hosts:
            raise ValueError(f"--host {value}: {server} has a host already ({hosts[server]})")
        hosts[server] = address.strip()
    return default or "127.0.0.1", hosts


def run_hub(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from nats.errors import Error as NatsError

    from hotzone.bus import BusPublishError, NatsBus
    from hotzone.bus.nkeys import NkeyError
    from hotzone.commands.common import CommandError
    from hotzone.runtime import event_loop
    from hotzone.runtime.federation import ALLIANCE_STREAM, SourceWatchdog, hub_streams
    from hotzone.runtime.federation_servers import HUB_DOMAIN, check_nation

    try:
        nations = [check_nation(code) for code in args.nations]
    except ValueError as error:
        raise CommandError(str(error)) from None

    async def ensure() -> int:
        bus = await NatsBus.connect(
            [url.strip() for url in args.nats.split(",") if url.strip()],
            hub_streams(nations),
            domain=HUB_DOMAIN,
            name="hotzone-hub",
            connect_deadline_s=args.connect_timeout,
            user_credentials=args.creds,
            tls_ca=args.tls_ca,
        )
        try:
            info = await bus.jetstream.stream_info(ALLIANCE_STREAM)
            if args.watch:
                await watch(bus, int(info.state.messages))
        finally:
            await bus.close()
        return int(info.state.messages)

    async def watch(bus: NatsBus, stored: int) -> None:
        # nats-server alone resumes a source 40-50 s after its link heals; the watchdog
        # sets it up again within seconds (docs/federation.md, "Partitions and failures").
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        watchdog = SourceWatchdog(bus, ALLIANCE_STREAM)
        print(
            f"{ALLIANCE_STREAM} at {args.nats}: sources {', '.join(nations)}; {stored} copies "
            "held; watching its sources (Ctrl-C stops)",
            flush=True,
        )
        await watchdog.run(stop)
        print(f"stopped watching: {watchdog.restarts} stalled source(s) set up again", flush=True)

    try:
        stored = event_loop.run(ensure())
    except NkeyError as error:
        raise CommandError(str(error)) from None
    except (OSError, NatsError, BusPublishError) as error:
        raise CommandError(f"NATS at {args.nats}: {error}") from None
    if not args.watch:
        sources = ", ".join(nations)
        print(f"{ALLIANCE_STREAM} at {args.nats}: sources {sources}; {stored} copies held")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from hotzone.commands.common import CommandError
    from hotzone.runtime.federation_demo import run_federation_demo
    from hotzone.runtime.federation_servers import NatsServerError

    if args.duration <= 0:
        raise CommandError("--duration must be positive")
    if not args.serve:
        try:
            run_federation_demo(args.out, duration_s=args.duration, seed=args.seed)
        except NatsServerError as error:
            raise CommandError(str(error)) from None
        return 0
    return _run_demo_serving(args)


def _run_demo_serving(args: argparse.Namespace) -> int:
    import asyncio
    import functools
    import signal

    from hotzone.api.federation_pictures import (
        PictureServerError,
        PortsBusyError,
        bind_picture_ports,
        closing_listeners,
        picture_ports,
        serve_nation_pictures,
    )
    from hotzone.commands.common import CommandError
    from hotzone.runtime.federation_demo import (
        DEMO_SCENARIOS,
        PictureServing,
        run_federation_demo,
    )
    from hotzone.runtime.federation_servers import NatsServerError

    async def until_stopped() -> None:
        # Ctrl-C (or a TERM) while serving is the normal end: the demo then stops everything.
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        try:
            await stop.wait()
        finally:
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signal_number)

    try:
        # Bound before anything starts: a busy port is one clear line, not a half-run demo.
        listeners = bind_picture_ports(args.host, picture_ports(args.port, list(DEMO_SCENARIOS)))
    except PortsBusyError as error:
        raise CommandError(str(error)) from None
    serve = functools.partial(serve_nation_pictures, listeners=listeners)
    serving = PictureServing(serve=serve, until=until_stopped)
    try:
        with closing_listeners(listeners):
            run_federation_demo(args.out, duration_s=args.duration, seed=args.seed, serving=serving)
    except (NatsServerError, PictureServerError) as error:
        raise CommandError(str(error)) from None
    return 0
