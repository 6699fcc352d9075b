"""``hotzone effectors list|status``: how each effector is reached, and where it stands.

``list SCENARIO`` reads the c2 file (what each effector is and how many rounds it has) and
the gateway file (its interface and address; docs/effectors.md). ``status RUN`` adds what
the run recorded: the latest status each effector gateway published (connection,
readiness), the rounds left (capacity less the orders c2 issued for it) and its active
orders with their latest lifecycle step as c2's proposal status shows it. A live run's
folder is read while it runs.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, InputFile, RunSource, SubParsers

if TYPE_CHECKING:
    from hotzone.c2.config import C2Spec
    from hotzone.runtime.effectors.config import GatewaySpec
    from hotzone.types import Event

#: Lifecycle steps after which an order no longer occupies its effector.
_SETTLED = frozenset({"rejected", "failed", "aborted", "effect_observed"})
NOT_IN_GATEWAYS = "none"
"""The interface shown for an effector the gateway file does not name (a camera c2 cues,
or one only the simulation's effect model acts for)."""


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "effectors",
        help="each effector's interface and address, or its state in a run",
        description="'list' shows each effector of a scenario with its interface, address "
        "and capacity; 'status' adds, from a run folder (live or finished), its connection, "
        "readiness, rounds left and active orders.",
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
