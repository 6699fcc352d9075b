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
from hotzone.types import (
    AnyMessage,
    AuditRecord,
    Decision,
    EffectClass,
    OperatorRole,
    Proposal,
    TaskOrder,
    Verdict,
)
from hotzone.types.signing import decision_signing_bytes

AUDIT_DOMAIN = b"hotzone/audit/v1\n"
GENESIS_HASH = "0" * 64
DECIDING_ROLES = (OperatorRole.OPERATOR, OperatorRole.COMMANDER)

_encoder = msgspec.json.Encoder()


class DecisionRefusedError(Exception):
    """A decision the rules do not allow; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def audit_record_hash(record: AuditRecord) -> str:
    unhashed = msgspec.structs.replace(record, record_hash="")
    return hashlib.sha256(AUDIT_DOMAIN + _encoder.encode(unhashed)).hexdigest()


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
    """Whether every record hashes right and links to the one before; else where not."""
    previous = GENESIS_HASH
    for index, record in enumerate(records):
        if record.sequence != index + 1:
            return False, f"record {index + 1}: sequence {record.sequence} out of order"
        if record.previous_hash != previous:
            return False, f"record {record.sequence}: previous_hash does not link"
        if audit_record_hash(record) != record.record_hash:
            return False, f"record {record.sequence}: record_hash does not match its content"
        previous = record.record_hash
    return True, f"{len(records)} records, chain intact"


@dataclass
class DecisionAuthority:
    """Turns a logged-in user's verdict on a proposal into signed, audited messages."""

    picture: PictureState
    keyring: OperatorKeyring
    aborted: bool = False

    def audit(
        self,
        time: datetime,
        kind: str,
        actor: str,
        payload: str,
        previous: AuditRecord | None = None,
    ) -> AuditRecord:
        """The next link of the audit chain, after ``previous`` (default: the last one)."""
        if previous is None and self.picture.audit:
            previous = self.picture.audit[-1]
        record = AuditRecord(
            sequence=(previous.sequence + 1) if previous else 1,
            time=time,
            kind=kind,
            actor=actor,
            payload=payload,
            previous_hash=previous.record_hash if previous else GENESIS_HASH,
            record_hash="",
            releasability="NATO",
        )
        return msgspec.structs.replace(record, record_hash=audit_record_hash(record))

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
        order = self._order_if_authorized(proposal, [*earlier, decision], now)
        if order is not None:
            outputs += [order, self.audit(now, "task_order", "c2", _json(order), record)]
        return outputs

    def _order_if_authorized(
        self, proposal: Proposal, decisions: list[Decision], now: datetime
    ) -> TaskOrder | None:
        keys = self.keyring.public_keys()
        approvals = [
            d for d in decisions if d.verdict == Verdict.APPROVE and verify_decision(d, keys)
        ]
        if len(approvals) < len(decisions):
            return None  # a rejection, or a signature that does not verify, stops the order
        approvers = {d.operator_id for d in approvals}
        needed = 2 if proposal.effect_class == EffectClass.KINETIC else 1
        if len(approvers) < needed:
            return None
        return TaskOrder(
            order_id=f"ord-{uuid.uuid4().hex[:12]}",
            time=now,
            proposal_hash=proposal.content_hash,
            effector_id=proposal.effector_id,
            track_id=proposal.track_id,
            action=proposal.action,
            decision_ids=tuple(d.decision_id for d in approvals),
            releasability=proposal.releasability,
        )


def _json(message: AnyMessage) -> str:
    return _encoder.encode(message).decode()
