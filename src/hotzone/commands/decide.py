"""``hotzone decide list|show|approve|reject|keygen`` and ``hotzone abort|resume``.

Decisions are signed here, on the operator's side, with the operator's key file, and put
to the run's c2 (`hotzone.runtime.c2_offline`: the same stage a live node runs, restored
from the run's store), which verifies them (enrolled and unrevoked key, role, national
authority, hash, expiry, track envelope, two-person rule), audits them, answers with a
`DecisionOutcome` and issues a signed order only when the rules are met. Proposal state
shown here is what c2 published (`ProposalStatus`), never recomputed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, InputFile, RunSource, SubParsers

KEY_FILE = InputFile("key file", "text")

if TYPE_CHECKING:
    from hotzone.c2.keys import SigningKey
    from hotzone.store import SQLiteStore
    from hotzone.types import Decision, Proposal, ProposalStatus, TaskOrder


@dataclass
class ProposalRecord:
    """A stored proposal with c2's latest word on it and the decisions it received."""

    proposal: Proposal
    status: ProposalStatus | None = None
    decisions: list[Decision] = field(default_factory=list)
    orders: list[TaskOrder] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.status.state if self.status is not None else "pending"


def _open_store(source: Path) -> SQLiteStore:
    from hotzone.commands.audit import store_path
    from hotzone.store import SQLiteStore

    return SQLiteStore(store_path(source))


def _statuses(store: SQLiteStore) -> dict[str, ProposalRecord]:
    from hotzone.types import Decision, Proposal, ProposalStatus, TaskOrder

    by_hash: dict[str, ProposalRecord] = {}
    types = ["proposal", "proposal_status", "decision", "task_order"]
    for stored in store.replay(types=types):
        message = stored.message
        if isinstance(message, Proposal):
            by_hash[message.content_hash] = ProposalRecord(message)
        elif isinstance(message, ProposalStatus) and message.proposal_hash in by_hash:
            by_hash[message.proposal_hash].status = message
        elif isinstance(message, Decision) and message.proposal_hash in by_hash:
            by_hash[message.proposal_hash].decisions.append(message)
        elif isinstance(message, TaskOrder) and message.proposal_hash in by_hash:
            by_hash[message.proposal_hash].orders.append(message)
    return by_hash


def _find(statuses: dict[str, ProposalRecord], wanted: str) -> ProposalRecord:
    matches = [
        status
        for content_hash, status in statuses.items()
        if status.proposal.proposal_id == wanted or content_hash.startswith(wanted)
    ]
    if not matches:
        raise CommandError(f"no proposal with id or hash prefix {wanted!r}")
    if len(matches) > 1:
        raise CommandError(f"{wanted!r} names {len(matches)} proposals; give more of the hash")
    return matches[0]


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "decide",
        help="list, show, approve or reject response proposals (signed with your key)",
        description="Human decisions on response proposals. approve/reject sign a Decision "
        "with your Ed25519 key file and put it to the run's c2, which verifies and audits it.",
    )
    actions = parser.add_subparsers(dest="decide_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="proposals and their state")
    listing.add_argument("source", type=RunSource(), help="run folder or SQLite store")
    listing.add_argument("--all", action="store_true", help="also settled proposals")
    listing.set_defaults(run=run_list)
    show = actions.add_parser("show", help="one proposal with its ROE checks and decisions")
    show.add_argument("source", type=RunSource())
    show.add_argument("id", help="proposal id or content-hash prefix")
    show.set_defaults(run=run_show)
    for verdict in ("approve", "reject"):
        action = actions.add_parser(verdict, help=f"{verdict} one proposal, signed")
        action.add_argument("source", type=RunSource())
        action.add_argument("id", help="proposal id or content-hash prefix")
        action.add_argument("--key", type=KEY_FILE, required=True, help="your key file")
        _add_c2_arguments(action)
        action.set_defaults(run=run_decide, verdict=verdict)
    keygen = actions.add_parser("keygen", help="make an operator key and register it")
    keygen.add_argument("--operator", required=True, help="operator id")
    keygen.add_argument(
        "--role", required=True, choices=["observer", "operator", "commander"], help="role"
    )
    keygen.add_argument("--out", type=Path, required=True, help="private key file to write")
    keygen.add_argument("--registry", type=Path, default=None, help="registry YAML to extend")
    keygen.set_defaults(run=run_keygen)

    abort = subparsers.add_parser(
        "abort",
        help="global abort: cancel every pending proposal and order (signed)",
        description="Put a signed abort decision to the run's c2: it refuses every order "
        "until a commander resumes (hotzone resume).",
    )
    abort.add_argument("source", type=RunSource(), help="run folder or SQLite store")
    abort.add_argument("--key", type=KEY_FILE, required=True, help="your key file")
    abort.add_argument("--resume", action="store_true", help="lift the abort (commanders)")
    abort.add_argument("--reason", default="", help="why (recorded with the decision)")
    _add_c2_arguments(abort)
    abort.set_defaults(run=run_abort)
    resume = subparsers.add_parser(
        "resume",
        help="lift a global abort (commanders, signed)",
        description="Put a commander's signed resume decision to the run's c2.",
    )
    resume.add_argument("source", type=RunSource(), help="run folder or SQLite store")
    resume.add_argument("--key", type=KEY_FILE, required=True, help="your key file")
    resume.add_argument("--reason", default="", help="why (recorded with the decision)")
    _add_c2_arguments(resume)
    resume.set_defaults(run=run_abort, resume=True)


def _add_c2_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nation", default="PL", help="the nation whose c2 decides")
    parser.add_argument(
        "--scenario",
        default=None,
        help="scenario of the run (default: the run folder's inputs/scenario.yaml)",
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="the nation's configuration directory (default: $HOTZONE_HOME or "
        "~/.config/hotzone): enrolled operators, c2 node key",
    )


def run_list(args: argparse.Namespace) -> int:
    store = _open_store(args.source)
    try:
        statuses = _statuses(store)
    finally:
        store.close()
    shown = [s for s in statuses.values() if args.all or s.state == "pending"]
    for status in shown:
        proposal = status.proposal
        print(
            f"{proposal.proposal_id}  {proposal.content_hash[:12]}  {status.state:10}  "
            f"{proposal.effect_class:11}  {proposal.effector_id} -> {proposal.track_id}  "
            f"expires {proposal.expires_at.isoformat()}  decisions {len(status.decisions)}"
            + (f"  ({status.status.missing})" if status.status and status.status.missing else "")
        )
    print(f"{len(shown)} of {len(statuses)} proposals")
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = _open_store(args.source)
    try:
        status = _find(_statuses(store), args.id)
    finally:
        store.close()
    proposal = status.proposal
    print(f"proposal {proposal.proposal_id}  hash {proposal.content_hash}")
    print(f"  state        {status.state}")
    print(f"  effect       {proposal.action} by {proposal.effector_id} ({proposal.effect_class})")
    print(
        f"  target       track {proposal.track_id}: {proposal.standard_identity} "
        f"{proposal.target_class} at {proposal.target_position.lat_deg:.5f}, "
        f"{proposal.target_position.lon_deg:.5f} (±{proposal.position_tolerance_m:.0f} m)"
    )
    print(f"  expires      {proposal.expires_at.isoformat()}")
    for check in proposal.roe_checks:
        print(f"  ROE {'pass' if check.passed else 'FAIL'}  {check.rule}: {check.detail}")
    for line in proposal.rationale:
        print(f"  why          {line}")
    if status.status is not None and status.status.missing:
        print(f"  waiting for  {status.status.missing}")
    counted = set(status.status.approvals) if status.status is not None else set()
    for decision in status.decisions:
        mark = "counted" if decision.operator_id in counted else "not counted"
        print(
            f"  decision     {decision.verdict} by {decision.operator_id} ({decision.role}): {mark}"
        )
    for refusal in status.status.refusals if status.status is not None else ():
        print(f"  refused      {refusal}")
    return 0


def _load_key(path: Path) -> SigningKey:
    from hotzone.c2.keys import KeyFileError, SigningKey

    try:
        return SigningKey.load(path)
    except KeyFileError as error:
        raise CommandError(str(error)) from None


def _scenario_of(args: argparse.Namespace) -> str | Path:
    if args.scenario is not None:
        named = str(args.scenario)
        return Path(named) if Path(named).suffix else named
    source = Path(args.source)
    folder = source if source.is_dir() else source.parent
    scenario = folder / "inputs" / "scenario.yaml"
    if not scenario.is_file():
        raise CommandError(f"{args.source}: no inputs/scenario.yaml; name it with --scenario")
    return scenario


def _put_to_c2(args: argparse.Namespace, decision: Decision) -> int:
    """Put ``decision`` to the run's c2 and print its answer: exit 0 counted, 1 refused."""
    from hotzone.c2.config import C2ConfigError
    from hotzone.c2.trust import TrustError
    from hotzone.runtime.c2_offline import OfflineC2Error, decide_on_store
    from hotzone.sim.scenario import ScenarioError
    from hotzone.types.subjects import SubjectError, c2_subject

    try:
        c2_subject(args.nation, "decision")
    except SubjectError as error:
        raise CommandError(str(error)) from None
    scenario = _scenario_of(args)
    store = _open_store(args.source)
    try:
        result = decide_on_store(store, decision, scenario, args.nation, args.home)
    except (OfflineC2Error, C2ConfigError, ScenarioError, TrustError) as error:
        raise CommandError(str(error)) from None
    finally:
        store.close()
    outcome = result.outcome
    if not outcome.accepted:
        print(f"refused by c2 ({outcome.code}): {outcome.reason}")
        return 1
    orders = [m for m in result.outputs if type(m).__name__ == "TaskOrder"]
    print(f"counted by c2 as {decision.decision_id}")
    for order in orders:
        print(f"order issued: {getattr(order, 'order_id', '?')}")
    return 0


def run_decide(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hotzone.types import Verdict

    key = _load_key(args.key)
    store = _open_store(args.source)
    try:
        status = _find(_statuses(store), args.id)
    finally:
        store.close()
    decision = key.decide(
        status.proposal.content_hash,
        Verdict(args.verdict),
        datetime.now(UTC),
        releasability=status.proposal.releasability,
    )
    print(
        f"{decision.verdict} of {status.proposal.proposal_id} signed by {key.operator_id} "
        f"({key.role}) as {decision.decision_id}"
    )
    return _put_to_c2(args, decision)


def run_abort(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import msgspec

    from hotzone.c2.authority import ABORT_HASH, RESUME_HASH
    from hotzone.types import Verdict

    key = _load_key(args.key)
    target = RESUME_HASH if args.resume else ABORT_HASH
    decision = key.decide(target, Verdict.APPROVE, datetime.now(UTC))
    if args.reason:
        decision = key.sign(msgspec.structs.replace(decision, comment=args.reason))
    print(f"{target} signed by {key.operator_id} ({key.role}) as {decision.decision_id}")
    return _put_to_c2(args, decision)


def run_keygen(args: argparse.Namespace) -> int:
    from hotzone.c2.keys import KeyFileError, OperatorRegistry, SigningKey
    from hotzone.types import OperatorRole

    if args.out.exists():
        raise CommandError(f"{args.out} exists: refusing to overwrite a key")
    key = SigningKey.generate(args.operator, OperatorRole(args.role))
    key.save(args.out)
    if args.registry is not None:
        try:
            registry = (
                OperatorRegistry.load(args.registry)
                if args.registry.exists()
                else OperatorRegistry()
            )
            registry.register(key.public)
        except KeyFileError as error:
            raise CommandError(str(error)) from None
        registry.dump(args.registry)
    print(f"key {key.key_id} of {args.operator} ({args.role}) written to {args.out}")
    return 0
