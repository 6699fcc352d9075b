"""Decisions taken in the browser: signed server-side, checked, ordered and audited.

In the demo each logged-in operator's Ed25519 key is held by the server for the session
(`OperatorKeyring`); a real deployment keeps the private key in the operator's hardware
token and the browser only forwards the token's signature. What is signed is exactly what
`hotzone.c2` verifies: the decision without its signature, behind a domain prefix.

`DecisionAuthority` enforces DESIGN.md §6 on what the API accepts: only operators and
commanders decide; an expired or already settled proposal cannot be decided; a kinetic
effect needs two approvals by two different people; a `TaskOrder` is built only from
approving decisions whose signatures verify; every step is a hash-chained `AuditRecord`.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hotzone.api.picture import PictureState
from hotzone.api.users import User
from hotzone.c2.audit import GENESIS_HASH, AuditLog, record_hash, verify_chain
from hotzone.c2.authority import (
    ApprovalPolicy,
    Authority,
    DecisionVerifier,
    Situation,
    enough_approvers,
)
from hotzone.c2.keys import OperatorKey, OperatorRegistry
from hotzone.types import (
    AnyMessage,
    AuditRecord,
    Decision,
    OperatorRole,
    Proposal,
    TaskOrder,
    Verdict,
)
from hotzone.types.signing import decision_signing_bytes

DECIDING_ROLES = (OperatorRole.OPERATOR, OperatorRole.COMMANDER)

_encoder = msgspec.json.Encoder()


class DecisionRefusedError(Exception):
    """A decision the rules do not allow; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass
class OperatorKeyring:
    """Ed25519 keys held server-side for the demo, one per user, made on first use."""

    private_keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    def key_for(self, username: str) -> Ed25519PrivateKey:
        if username not in self.private_keys:
            self.private_keys[username] = Ed25519PrivateKey.generate()
        return self.private_keys[username]

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Public keys by key id: what verifies the decisions."""
        return {key_id_of(k.public_key()): k.public_key() for k in self.private_keys.values()}

    def public_key_table(self) -> list[dict[str, str]]:
        table = []
        for username, key in sorted(self.private_keys.items()):
            raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            table.append(
                {
                    "operator_id": username,
                    "key_id": key_id_of(key.public_key()),
                    "public_key": base64.b64encode(raw).decode(),
                }
            )
        return table


def verify_decision(decision: Decision, keys: dict[str, Ed25519PublicKey]) -> bool:
    public_key = keys.get(decision.key_id)
    if public_key is None:
        return False
    try:
        public_key.verify(base64.b64decode(decision.signature), decision_signing_bytes(decision))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_audit_chain(records: list[AuditRecord]) -> tuple[bool, str]:
    """Whether the chain holds (c2's own verification), and where it breaks if not."""
    fault = verify_chain(records)
    if fault is None:
        return True, f"{len(records)} records, chain intact"
    return False, str(fault)


@dataclass
class DecisionAuthority:
    """Turns a logged-in user's verdict on a proposal into signed, audited messages.

    The order itself comes only from `hotzone.c2.authority.Authority.issue_order`, with
    every check c2 makes (signatures against the registered keys, roles, two people with a
    commander for kinetic effects, expiry, the track still inside the proposal's envelope,
    rules of engagement, abort): the API adds no second way to task an effector.
    """

    picture: PictureState
    keyring: OperatorKeyring
    aborted: bool = False
    roles: dict[str, OperatorRole] = field(default_factory=dict)
    policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)

    def audit(self, time: datetime, kind: str, actor: str, payload: str) -> AuditRecord:
        """The next link of the audit chain after the picture's last record."""
        last = self.picture.audit[-1] if self.picture.audit else None
        sequence = last.sequence + 1 if last is not None else 1
        previous_hash = last.record_hash if last is not None else GENESIS_HASH
        return AuditRecord(
            sequence=sequence,
            time=time,
            kind=kind,
            actor=actor,
            payload=payload,
            previous_hash=previous_hash,
            record_hash=record_hash(sequence, time, kind, actor, payload, previous_hash),
        )

    def registry(self) -> OperatorRegistry:
        """c2's registry of the keys held for the users who have decided so far."""
        return OperatorRegistry(
            OperatorKey(
                operator_id=username,
                role=self.roles[username],
                public_key=base64.b64encode(
                    key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                ).decode(),
            )
            for username, key in self.keyring.private_keys.items()
            if username in self.roles
        )

    def decide(
        self, user: User, proposal: Proposal, verdict: Verdict, now: datetime
    ) -> list[AnyMessage]:
        """The messages one verdict produces, in order; raises `DecisionRefusedError`."""
        if user.role not in DECIDING_ROLES:
            raise DecisionRefusedError(403, f"role {user.role} may not decide on proposals")
        if self.aborted:
            raise DecisionRefusedError(409, "a global abort is in force: no new orders")
        state = self.picture.proposal_state(proposal)
        if state in ("approved", "rejected", "expired"):
            raise DecisionRefusedError(409, f"proposal {proposal.proposal_id} is {state}")
        earlier = self.picture.decisions_for(proposal)
        if any(d.operator_id == user.username for d in earlier):
            # The two-person rule counts people, not clicks.
            raise DecisionRefusedError(
                409, f"{user.username} has already decided on {proposal.proposal_id}"
            )
        key = self.keyring.key_for(user.username)
        self.roles[user.username] = user.role
        unsigned = Decision(
            decision_id=f"dec-{uuid.uuid4().hex[:12]}",
            time=now,
            proposal_hash=proposal.content_hash,
            verdict=verdict,
            operator_id=user.username,
            role=user.role,
            key_id=key_id_of(key.public_key()),
            signature="",
            releasability=proposal.releasability,
        )
        signature = base64.b64encode(key.sign(decision_signing_bytes(unsigned))).decode()
        decision = msgspec.structs.replace(unsigned, signature=signature)
        record = self.audit(now, f"decision.{verdict}", user.username, _json(decision))
        outputs: list[AnyMessage] = [decision, record]
        decisions = [*earlier, decision]
        if any(d.verdict != Verdict.APPROVE for d in decisions) or not enough_approvers(
            self.policy, proposal, decisions
        ):
            return outputs  # rejected, or waiting for the second person
        audit = AuditLog(last=record)
        authority = Authority(DecisionVerifier(self.registry(), self.policy), audit)
        entry = self.picture.tracks.get(proposal.track_id)
        situation = Situation(
            time=now,
            track=entry.track if entry is not None else None,
            assessment=self.picture.assessments.get(proposal.track_id),
            abort_active=self.aborted,
        )
        result = authority.issue_order(proposal, decisions, situation)
        if isinstance(result, TaskOrder):
            outputs.append(result)
        outputs.extend(audit.drain())
        return outputs


def _json(message: AnyMessage) -> str:
    return _encoder.encode(message).decode()
