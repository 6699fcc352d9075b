"""``hotzone effectors list|status``: how each effector is reached, and where it stands.

``list SCENARIO`` reads the c2 file (what each effector is and how many rounds it has) and
the gateway file (its interface and address; docs/effectors.md). ``status RUN`` adds what
the run recorded: the latest status each effector gateway published (connection,
readiness), the rounds left (capacity less the orders c2 issued for it) and its active
orders with their latest lifecycle step as c2's proposal status shows it. A live run's
folder is read while it runs.

``run SCENARIO --nats URL`` runs the gateways against the real effectors of a deployment
on the nation's bus (`hotzone.runtime.effectors.deployment`): hotzone's SAPIENT server for
the effector nodes, the SAPIENT, MAVLink and Cursor on Target gateways, and the service
that hands them the orders signed by a trusted c2 node key (``$HOTZONE_HOME``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import (
    TIMEOUT_S,
    CommandError,
    InputFile,
    RunSource,
    SubParsers,
    add_sapient_tls_arguments,
    sapient_tls_context,
)

if TYPE_CHECKING:
    import ssl

    from hotzone.bus import NatsBus
    from hotzone.c2.config import C2Spec
    from hotzone.runtime.effectors.config import GatewaySpec
    from hotzone.runtime.effectors.deployment import DeploymentEffectors
    from hotzone.types import Event

#: Lifecycle steps after which an order no longer occupies its effector.
_SETTLED = frozenset({"rejected", "failed", "aborted", "effect_observed"})
NOT_IN_GATEWAYS = "none"
"""The interface shown for an effector the gateway file does not name (a camera c2 cues,
or one only the simulation's effect model acts for)."""


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "effectors",
        help="each effector's interface and address, its state in a run, or its gateways",
        description="'list' shows each effector of a scenario with its interface, address "
        "and capacity; 'status' adds, from a run folder (live or finished), its connection, "
        "readiness, rounds left and active orders; 'run' runs the gateways against real "
        "effectors on the nation's NATS.",
    )
    actions = parser.add_subparsers(dest="effectors_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="effectors, interfaces, addresses, capacity")
    listing.add_argument("scenario", help="scenario name (its shipped c2 and gateway files)")
    _add_file_arguments(listing)
    listing.set_defaults(run=run_list)
    status = actions.add_parser("status", help="connection, readiness, rounds, active orders")
    status.add_argument("source", type=RunSource(), help="run folder or SQLite store")
    status.add_argument(
        "--scenario",
        default=None,
        help="scenario of the run (default: the run folder's inputs/scenario.yaml)",
    )
    _add_file_arguments(status)
    status.set_defaults(run=run_status)
    running = actions.add_parser(
        "run",
        help="run the gateways against real effectors on the nation's NATS",
        description="Connect to the nation's NATS, start hotzone's SAPIENT server for the "
        "effector nodes (the gateway file's sapient.listen) and the SAPIENT, MAVLink and "
        "Cursor on Target gateways of the effectors the gateway file names; hand them the "
        "orders signed by a trusted c2 node key ($HOTZONE_HOME) and publish what they "
        "answer. Runs until Ctrl-C or SIGTERM. See docs/effectors.md.",
    )
    running.add_argument("scenario", help="scenario name (its shipped c2 and gateway files)")
    _add_file_arguments(running)
    running.add_argument("--nation", default="PL", help="nation code of the bus (PL)")
    running.add_argument(
        "--nats",
        default="nats://127.0.0.1:4222",
        help="server URL(s) of the nation's NATS, comma-separated for a cluster",
    )
    running.add_argument("--domain", default=None, help="JetStream domain (default: nation)")
    running.add_argument(
        "--creds",
        type=InputFile("credentials file", content="text"),
        default=None,
        help="the nation's NATS credentials (NATION.creds)",
    )
    running.add_argument(
        "--tls-ca",
        type=InputFile("CA certificate", content="text"),
        default=None,
        help="CA of the NATS servers' TLS certificates",
    )
    running.add_argument(
        "--connect-timeout",
        type=TIMEOUT_S,
        default=30.0,
        help="seconds the first connection to NATS may take (default 30)",
    )
    running.add_argument("--releasability", default="NATO", help="label of what is published")
    running.add_argument(
        "--consumer",
        default=None,
        help="name of the durable JetStream consumer the orders are read through "
        "(default effectors-NATION): the same name after a restart resumes after the last "
        "message handled, nothing lost and nothing acted on twice",
    )
    add_sapient_tls_arguments(running, clients="an effector node", certificate_names_node=True)
    running.set_defaults(run=run_gateways)


def _add_file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--c2", type=InputFile("c2 file", "text"), default=None, help="c2 file (default: shipped)"
    )
    parser.add_argument(
        "--gateways",
        type=InputFile("gateway file", "text"),
        default=None,
        help="gateway file (default: shipped, if any)",
    )


def _specs(scenario_name: str, args: argparse.Namespace) -> tuple[C2Spec, GatewaySpec | None]:
    from hotzone.c2.config import C2ConfigError, load_c2_spec, shipped_c2_path
    from hotzone.runtime.effectors.config import (
        GatewayConfigError,
        load_gateway_spec,
        shipped_gateway_path,
    )

    try:
        if args.c2 is None and not shipped_c2_path(scenario_name).is_file():
            raise CommandError(f"scenario {scenario_name} has no c2 file; give --c2")
        c2 = load_c2_spec(args.c2 or scenario_name)
        gateways = None
        if args.gateways is not None:
            gateways = load_gateway_spec(args.gateways)
        elif shipped_gateway_path(scenario_name).is_file():
            gateways = load_gateway_spec(scenario_name)
        if gateways is not None:
            gateways.check_against(c2)
    except (C2ConfigError, GatewayConfigError) as error:
        raise CommandError(str(error)) from None
    return c2, gateways


def _address(gateways: GatewaySpec | None, effector_id: str) -> tuple[str, str]:
    from hotzone.runtime.effectors.config import Interface

    link = gateways.effectors.get(effector_id) if gateways is not None else None
    if link is None:
        return NOT_IN_GATEWAYS, "-"
    if link.interface is Interface.SAPIENT:
        assert gateways is not None
        return str(
            link.interface
        ), f"node {link.node_id} ({link.node_type}) via {gateways.sapient.listen}"
    if link.interface is Interface.COT:
        return str(link.interface), f"{link.endpoint} ({link.callsign or effector_id})"
    return str(link.interface), f"udp {link.listen} system {link.system_id}"


def run_list(args: argparse.Namespace) -> int:
    c2, gateways = _specs(args.scenario, args)
    print(f"{'effector':<16} {'kind':<20} {'class':<11} {'interface':<9} {'capacity':>8}  address")
    for effector in c2.effectors:
        interface, address = _address(gateways, effector.id)
        capacity = str(effector.capacity) if effector.capacity else "-"
        print(
            f"{effector.id:<16} {effector.kind!s:<20} {effector.effect_class!s:<11} "
            f"{interface:<9} {capacity:>8}  {address}"
        )
    return 0


@dataclass
class _Row:
    status: Event | None = None
    orders: dict[str, str] = field(default_factory=dict)
    """Order id -> its latest lifecycle step ("ordered" before any gateway report)."""


def _scenario_name(args: argparse.Namespace) -> str:
    from hotzone.sim.scenario import ScenarioError, load_scenario

    if args.scenario is not None:
        return str(args.scenario)
    source = Path(args.source)
    folder = source if source.is_dir() else source.parent
    path = folder / "inputs" / "scenario.yaml"
    if not path.is_file():
        raise CommandError(f"{args.source}: no inputs/scenario.yaml; name it with --scenario")
    try:
        return load_scenario(path).name
    except ScenarioError as error:
        raise CommandError(str(error)) from None


def run_status(args: argparse.Namespace) -> int:
    from hotzone.commands.audit import store_path
    from hotzone.store import SQLiteStore
    from hotzone.types import Event, EventKind, Proposal, ProposalStatus

    c2, gateways = _specs(_scenario_name(args), args)
    rows = {effector.id: _Row() for effector in c2.effectors}
    effector_of: dict[str, str] = {}
    store = SQLiteStore(store_path(args.source))
    try:
        for stored in store.replay(types=["event", "proposal", "proposal_status"]):
            message = stored.message
            if isinstance(message, Proposal):
                effector_of[message.content_hash] = message.effector_id
            elif isinstance(message, ProposalStatus) and message.order_id:
                effector_id = effector_of.get(message.proposal_hash, "")
                if effector_id in rows:
                    rows[effector_id].orders[message.order_id] = message.engagement or "ordered"
            elif (
                isinstance(message, Event)
                and message.kind == EventKind.SENSOR_STATUS
                and message.attributes.get("role") == "effector"
                and message.source_id in rows
            ):
                rows[message.source_id].status = message
    finally:
        store.close()
    print(
        f"{'effector':<16} {'interface':<9} {'connection':<14} {'readiness':<11} "
        f"{'rounds':>6}  active orders  (address)"
    )
    for effector in c2.effectors:
        row = rows[effector.id]
        interface, address = _address(gateways, effector.id)
        attributes = row.status.attributes if row.status is not None else {}
        interface = attributes.get("interface", interface)
        connection = attributes.get("connection", "unreported")
        ready = attributes.get("readiness", "-")
        if effector.capacity and effector.effect_class != "cue":  # a cue spends nothing
            rounds = f"{max(effector.capacity - len(row.orders), 0)}/{effector.capacity}"
        else:
            rounds = "-"
        active = [f"{order}:{step}" for order, step in row.orders.items() if step not in _SETTLED]
        print(
            f"{effector.id:<16} {interface:<9} {connection:<14} {ready:<11} {rounds:>6}  "
            f"{', '.join(active) or '-'}  ({attributes.get('address', address)})"
        )
    return 0


def run_gateways(args: argparse.Namespace) -> int:
    from nats.errors import Error as NatsError

    from hotzone.bus import BusPublishError
    from hotzone.bus.nkeys import NkeyError
    from hotzone.c2.trust import TrustError, trusted_node_keys
    from hotzone.runtime import event_loop
    from hotzone.runtime.federation_servers import check_nation

    try:
        nation = check_nation(args.nation)
    except ValueError as error:
        raise CommandError(str(error)) from None
    c2, gateways = _specs(args.scenario, args)
    if gateways is None or not gateways.effectors:
        raise CommandError(f"scenario {args.scenario} has no gateway file naming effectors")
    tls = sapient_tls_context(args)
    try:
        # Only these c2 nodes' signatures make an order (docs/c2.md, `hotzone node` trusts
        # the same directory); none trusted means every order is refused, said up front.
        trusted = trusted_node_keys()
    except TrustError as error:
        raise CommandError(str(error)) from None
    servers = [url.strip() for url in args.nats.split(",") if url.strip()]
    try:
        # asyncio's own loop: the gateways serve SAPIENT over TLS (`hotzone ingest` says why).
        event_loop.run(
            _serve_gateways(args, nation, servers, c2, gateways, trusted, tls), use_uvloop=False
        )
    except (NkeyError, ValueError) as error:
        raise CommandError(str(error)) from None
    except (NatsError, BusPublishError) as error:
        raise CommandError(f"NATS at {args.nats}: {error}") from None
    return 0


async def _connect(args: argparse.Namespace, nation: str, servers: list[str]) -> NatsBus:
    from hotzone.bus import NatsBus
    from hotzone.bus.nats import nation_streams

    try:
        return await NatsBus.connect(
            servers,
            nation_streams(nation),
            domain=args.domain or nation.lower(),
            name=f"hotzone-effectors-{nation}",
            connect_deadline_s=args.connect_timeout,
            user_credentials=args.creds,
            tls_ca=args.tls_ca,
        )
    except OSError as error:
        raise CommandError(f"NATS at {args.nats}: {error}") from None


async def _serve_gateways(
    args: argparse.Namespace,
    nation: str,
    servers: list[str],
    c2: C2Spec,
    gateways: GatewaySpec,
    trusted: dict[str, bytes],
    tls: ssl.SSLContext | None,
) -> None:
    import asyncio
    import signal

    from hotzone.runtime.effectors.deployment import start_deployment_effectors

    bus = await _connect(args, nation, servers)
    try:
        try:
            running = await start_deployment_effectors(
                bus,
                nation,
                gateways,
                trusted,
                sapient_tls=tls,
                releasability=args.releasability,
                durable=args.consumer or f"effectors-{nation}",
            )
        except OSError as error:
            raise CommandError(f"cannot listen for the effectors: {error}") from None
        try:
            await _learn_c2_state(bus, nation, running)
            _print_ready(args, nation, gateways, running)
            if not trusted:  # said once running: bad input stays one line
                print(
                    "warning: no trusted c2 node keys in $HOTZONE_HOME: every order is refused",
                    file=sys.stderr,
                    flush=True,
                )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signal_number, stop.set)
            await stop.wait()
        finally:
            await running.close()
        _print_summary(running)
    finally:
        await bus.close()


async def _learn_c2_state(bus: NatsBus, nation: str, running: DeploymentEffectors) -> None:
    """Take c2's latest state from the nation's log: the guard refuses every order until it
    knows whether an abort is in force, and c2 publishes its state only when it changes."""
    from nats.js.errors import NotFoundError

    from hotzone.bus.nats import nation_log_stream
    from hotzone.types import C2State, DecodeError, from_json
    from hotzone.types.subjects import c2_subject

    try:
        last = await bus.jetstream.get_last_msg(
            nation_log_stream(nation), c2_subject(nation, "state")
        )
    except NotFoundError:
        return  # no state yet: orders wait for c2's first one
    try:
        state = from_json(last.data or b"")
    except DecodeError:
        return  # a bad record is the recorder's to dead-letter; the guard stays closed
    if isinstance(state, C2State) and running.service.guard.abort_active is None:
        await running.service.take(state)


def _print_ready(
    args: argparse.Namespace, nation: str, gateways: GatewaySpec, running: DeploymentEffectors
) -> None:
    server = running.server
    if server is not None:
        secured = " (mutual TLS)" if args.sapient_client_ca else " (TLS)" if server.tls else ""
        host = gateways.sapient.listen.rpartition(":")[0]
        print(f"SAPIENT server {server.node_id} listening on {host}:{server.port}{secured}")
    for effector_id in gateways.effectors:
        interface, address = _address(gateways, effector_id)
        print(f"{effector_id:<16} {interface:<8} {address}")
    print(f"ready: {len(gateways.effectors)} effectors of {nation} on {args.nats}", flush=True)


def _print_summary(running: DeploymentEffectors) -> None:
    from hotzone.runtime.effectors.cot import CotEffectorGateway

    service = running.service
    delivered = sum(len(gateway.engagements) for gateway in service.gateways)
    line = f"stopped: {delivered} orders delivered, {len(service.refused)} refused"
    if service.resumed_orders:
        line += f", {len(service.resumed_orders)} acted on before the restart (not sent again)"
    if running.server is not None:
        counters = running.server.counters
        line += (
            f"; SAPIENT: {counters.registrations} registrations, {counters.tasks_sent} tasks "
            f"sent, {counters.task_acks} task acks, "
            f"{running.server.publisher.counters.connections_refused_tls} refused by TLS, "
            f"{counters.registrations_refused_certificate} refused for a certificate of "
            "another node"
        )
    for gateway in service.gateways:
        if isinstance(gateway, CotEffectorGateway):
            units = gateway.units.values()
            reconnects = sum(unit.counters.reconnects for unit in units)
            dropped = sum(unit.counters.dropped for unit in units)
            line += f"; CoT: {reconnects} reconnections, {dropped} replies dropped"
    print(line, flush=True)
