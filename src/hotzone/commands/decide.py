"""``hotzone decide list|show|approve|reject|keygen`` and ``hotzone abort``.

Decisions are signed here, on the operator's side, with the operator's key file, and
appended to the run's store as `Decision` messages; c2 verifies them (key, role, hash,
expiry, track envelope, two-person rule) before any order is issued, and audits them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotzone.commands.common import CommandError, SubParsers

if TYPE_CHECKING:
    from hotzone.c2.keys import SigningKey
    from hotzone.store import SQLiteStore
    from hotzone.types import Decision, Proposal, TaskOrder


@dataclass
class ProposalStatus:
    proposal: Proposal
    decisions: list[Decision] = field(default_factory=list)
    orders: list[TaskOrder] = field(default_factory=list)

    @property
    def state(self) -> str:
        from hotzone.types import Verdict

        if self.orders:
            return "ordered"
        if any(decision.verdict is Verdict.REJECT for decision in self.decisions):
            return "rejected"
        if not all(check.passed for check in self.proposal.roe_checks):
            return "roe-failed"
        return "pending"


def _open_store(source: Path) -> SQLiteStore:
    from hotzone.commands.audit import store_path
    from hotzone.store import SQLiteStore

    return SQLiteStore(store_path(source))


def _statuses(store: SQLiteStore) -> dict[str, ProposalStatus]:
    from hotzone.types import Decision, Proposal, TaskOrder

    by_hash: dict[str, ProposalStatus] = {}
    for stored in store.replay(types=["proposal", "decision", "task_order"]):
        message = stored.message
        if isinstance(message, Proposal):
            by_hash[message.content_hash] = ProposalStatus(message)
        elif isinstance(message, Decision) and message.proposal_hash in by_hash:
            by_hash[message.proposal_hash].decisions.append(message)
        elif isinstance(message, TaskOrder) and message.proposal_hash in by_hash:
            by_hash[message.proposal_hash].orders.append(message)
    return by_hash


def _find(statuses: dict[str, ProposalStatus], wanted: str) -> ProposalStatus:
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
        "with your Ed25519 key file and append it to the run's store.",
    )
    actions = parser.add_subparsers(dest="decide_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="proposals and their state")
    listing.add_argument("source", type=Path, help="run folder or SQLite store")
    listing.add_argument("--all", action="store_true", help="also settled proposals")
    listing.set_defaults(run=run_list)
    show = actions.add_parser("show", help="one proposal with its ROE checks and decisions")
    show.add_argument("source", type=Path)
    show.add_argument("id", help="proposal id or content-hash prefix")
    show.set_defaults(run=run_show)
    for verdict in ("approve", "reject"):
        action = actions.add_parser(verdict, help=f"{verdict} one proposal, signed")
        action.add_argument("source", type=Path)
        action.add_argument("id", help="proposal id or content-hash prefix")
        action.add_argument("--key", type=Path, required=True, help="your key file")
        action.add_argument("--nation", default="PL", help="nation of the decision subject")
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
        description="Append a signed abort decision: c2 refuses every order until a "
        "commander resumes (hotzone abort --resume).",
    )
    abort.add_argument("source", type=Path, help="run folder or SQLite store")
    abort.add_argument("--key", type=Path, required=True, help="your key file")
    abort.add_argument("--resume", action="store_true", help="lift the abort (commanders)")
    abort.add_argument("--nation", default="PL")
    abort.set_defaults(run=run_abort)


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
    for decision in status.decisions:
        print(f"  decision     {decision.verdict} by {decision.operator_id} ({decision.role})")
    return 0


def _load_key(path: Path) -> SigningKey:
    from hotzone.c2.keys import KeyFileError, SigningKey

    try:
        return SigningKey.load(path)
    except KeyFileError as error:
        raise CommandError(str(error)) from None


def _append_decision(store: SQLiteStore, decision: Decision, nation: str) -> None:
    from hotzone.types.subjects import SubjectError, c2_subject

    try:
        subject = c2_subject(nation, "decision")
    except SubjectError as error:
        raise CommandError(str(error)) from None
    store.append(subject, decision)


def run_decide(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hotzone.types import Verdict

    key = _load_key(args.key)
    store = _open_store(args.source)
    try:
        status = _find(_statuses(store), args.id)
        decision = key.decide(
            status.proposal.content_hash,
            Verdict(args.verdict),
            datetime.now(UTC),
            releasability=status.proposal.releasability,
        )
        _append_decision(store, decision, args.nation)
    finally:
        store.close()
    print(
        f"{decision.verdict} of {status.proposal.proposal_id} signed by {key.operator_id} "
        f"({key.role}) as {decision.decision_id}"
    )
    return 0


def run_abort(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hotzone.c2.authority import ABORT_HASH, RESUME_HASH
    from hotzone.types import Verdict

    key = _load_key(args.key)
    target = RESUME_HASH if args.resume else ABORT_HASH
    verdict = Verdict.APPROVE if args.resume else Verdict.REJECT
    store = _open_store(args.source)
    try:
        decision = key.decide(target, verdict, datetime.now(UTC))
        _append_decision(store, decision, args.nation)
    finally:
        store.close()
    print(f"{'resume' if args.resume else 'abort'} signed by {key.operator_id} ({key.role})")
    return 0


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
