"""The only way to a `TaskOrder`: verified, signed human decisions (docs/architecture.md, "Trust").

`Authority.issue_order` is the one function in hotzone that constructs a `TaskOrder`
(a test scans the source tree for any other construction). It mints an
`AuthorizedTasking` only after `DecisionVerifier` has checked every rule below, and the
order is built from that capability alone:

* the proposal is intact (its content hash matches) and is not a cue;
* every rules-of-engagement check passed, when proposed and again now;
* no global abort is active;
* every decision: known, unrevoked key; a valid Ed25519 signature, or a valid WebAuthn
  assertion whose challenge is this decision (`hotzone.c2.webauthn`); operator and role as
  registered; not a simulation key unless the run is a simulation; the operator's nation
  may decide on the effector's nation (`ApprovalPolicy.deciders_for`); made after the
  proposal and before it expired, not from the future;
* the proposal has not expired, and the track is still what the proposal stated (class,
  identity, and position within the tolerance), otherwise the approval is void;
* enough distinct authorized people approved: kinetic effects need two (one a commander).

Every order and every refusal is appended to the audit log before it is returned. The
order is signed with the c2 node's key and names the hashes of its decisions, so every
consumer can check it (`hotzone.types.signing.order_fault`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from hotzone.c2.audit import AuditKind, AuditLog
from hotzone.c2.config import AuthoritySpec
from hotzone.c2.keys import OperatorKey, OperatorRegistry
from hotzone.c2.trust import NodeKey
from hotzone.c2.webauthn import RelyingParty, signature_fault
from hotzone.geo.geodesic import geodesic_distance_m
from hotzone.types import (
    Assessment,
    Decision,
    EffectClass,
    OperatorRole,
    Proposal,
    RoeCheck,
    TaskOrder,
    Track,
    TrackStatus,
    Verdict,
)
from hotzone.types.signing import decision_hash, order_signing_bytes, proposal_content_hash

ABORT_HASH = "abort"
"""``proposal_hash`` of a signed decision that aborts every pending proposal and order."""
RESUME_HASH = "resume"
"""``proposal_hash`` of a commander's signed decision that lifts an abort."""

CLOCK_SKEW = timedelta(seconds=5)
"""How far in the future a decision's time may be (clocks of consoles differ a little)."""


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who may approve which effect class, how many distinct people must, and which
    nations' operators may decide on which nation's effectors (national authority)."""

    approver_roles: dict[EffectClass, frozenset[OperatorRole]] = field(
        default_factory=lambda: {
            EffectClass.NON_KINETIC: frozenset({OperatorRole.OPERATOR, OperatorRole.COMMANDER}),
            EffectClass.KINETIC: frozenset({OperatorRole.OPERATOR, OperatorRole.COMMANDER}),
        }
    )
    approvals_needed: dict[EffectClass, int] = field(
        default_factory=lambda: {EffectClass.NON_KINETIC: 1, EffectClass.KINETIC: 2}
    )
    commander_needed: frozenset[EffectClass] = frozenset({EffectClass.KINETIC})
    #: Effector nation -> the nations whose operators may decide on its effectors, beyond
    #: the effector's own nation (coalition rules, as data in the c2 file).
    coalition: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Nations whose operators may abort this node's effectors, beyond the node's own.
    abort_nations: frozenset[str] = frozenset()

    @classmethod
    def from_spec(cls, spec: AuthoritySpec) -> ApprovalPolicy:
        return cls(
            approvals_needed={effect: rule.count for effect, rule in spec.approvals.items()},
            commander_needed=frozenset(
                effect for effect, rule in spec.approvals.items() if rule.commander
            ),
            coalition={rule.effector_country: frozenset(rule.deciders) for rule in spec.coalition},
            abort_nations=frozenset(spec.abort_nations),
        )

    def deciders_for(self, effector_country: str) -> frozenset[str]:
        """The nations whose operators may decide on an effector of ``effector_country``."""
        return frozenset({effector_country}) | self.coalition.get(effector_country, frozenset())

    def missing(self, effect_class: EffectClass, approvals: Sequence[Decision]) -> str:
        """What an order still waits for, in words ("" when nothing)."""
        needed = self.approvals_needed.get(effect_class, 1)
        people = {decision.operator_id for decision in approvals}
        has_commander = any(d.role is OperatorRole.COMMANDER for d in approvals)
        wants_commander = effect_class in self.commander_needed and not has_commander
        if wants_commander and len(people) >= needed - 1:
            return "awaiting commander"
        if len(people) < needed:
            more = needed - len(people)
            text = f"awaiting {more} more approval{'s' if more > 1 else ''}"
            return text + (" (one a commander)" if wants_commander else "")
        return ""


@dataclass(frozen=True)
class Situation:
    """What is true now, besides the proposal and its decisions."""

    time: datetime
    track: Track | None
    assessment: Assessment | None
    abort_active: bool = False
    fully_simulated: bool = False
    current_roe_checks: tuple[RoeCheck, ...] | None = None
    #: ISO country of the effector the proposal tasks ("" when not known: no nation check).
    effector_country: str = ""


@dataclass(frozen=True)
class Refusal:
    """Why no order was issued (or why one decision does not count)."""

    reason: str
    proposal_hash: str = ""
    decision_id: str | None = None
    #: ``forbidden``: who or what signed may not decide this; ``conflict``: not now.
    code: str = "forbidden"


def enough_approvers(
    policy: ApprovalPolicy, proposal: Proposal, approvals: Sequence[Decision]
) -> bool:
    """Whether ``approvals`` reach the policy's count of distinct people (and a commander).

    Only then is `Authority.issue_order` worth asking: before, a missing approval is not a
    refusal but a wait for the second person.
    """
    people = {decision.operator_id for decision in approvals}
    needed = policy.approvals_needed.get(proposal.effect_class, 1)
    if proposal.effect_class in policy.commander_needed and not any(
        decision.role is OperatorRole.COMMANDER for decision in approvals
    ):
        return False
    return len(people) >= needed


RegistrySource = OperatorRegistry | Callable[[], OperatorRegistry]
"""A fixed registry, or a function giving the current one (enrolments and revocations in a
registry file take effect at once)."""


class DecisionVerifier:
    """Checks single decisions and whether a set of them authorizes a proposal."""

    def __init__(
        self,
        registry: RegistrySource,
        policy: ApprovalPolicy | None = None,
        *,
        relying_party: RelyingParty | None = None,
        nation: str = "",
    ) -> None:
        """``nation``: the c2 node's own; a key enrolled without one belongs to it."""
        self._registry = registry
        self.policy = policy or ApprovalPolicy()
        self.relying_party = relying_party
        self.nation = nation
        # Decisions whose signature already verified, by their hash: a WebAuthn assertion
        # cannot be verified twice (its sign counter must grow), and an order re-checks
        # every approval it is built on.
        self._verified: dict[str, str] = {}

    @property
    def registry(self) -> OperatorRegistry:
        source = self._registry
        return source if isinstance(source, OperatorRegistry) else source()

    def nation_of(self, key: OperatorKey) -> str:
        return key.nation or self.nation

    def check_signed(self, decision: Decision, fully_simulated: bool) -> OperatorKey | Refusal:
        """Key known and not revoked, signature or WebAuthn assertion valid, operator and
        role as registered, simulation rule."""

        def refuse(reason: str) -> Refusal:
            return Refusal(reason, decision.proposal_hash, decision.decision_id)

        registry = self.registry
        key = registry.get(decision.key_id)
        if key is None:
            return refuse(f"unknown key {decision.key_id!r}")
        if key.revoked:
            return refuse(f"key {decision.key_id} of {key.operator_id} is revoked")
        if key.simulation and not fully_simulated:
            return refuse(f"simulation key {decision.key_id} refused: this run is not a simulation")
        if key.operator_id != decision.operator_id or key.role != decision.role:
            return refuse(
                f"key {decision.key_id} belongs to {key.operator_id} ({key.role}), not "
                f"{decision.operator_id} ({decision.role})"
            )
        digest = decision_hash(decision)
        if self._verified.get(digest) == key.key_id:
            return key
        checked = signature_fault(decision, key, self.relying_party)
        if checked.fault is not None:
            return refuse(f"decision {decision.decision_id}: {checked.fault}")
        if checked.sign_count is not None:
            registry.record_sign_count(key.key_id, checked.sign_count)
        self._verified[digest] = key.key_id
        return key

    def check_decision(
        self, decision: Decision, proposal: Proposal, situation: Situation
    ) -> OperatorKey | Refusal:
        """Whether one decision counts for ``proposal`` now."""

        def refuse(reason: str) -> Refusal:
            return Refusal(reason, proposal.content_hash, decision.decision_id)

        if decision.proposal_hash != proposal.content_hash:
            return refuse(
                f"decision {decision.decision_id} is for proposal {decision.proposal_hash[:12]}, "
                f"not {proposal.content_hash[:12]}"
            )
        key = self.check_signed(decision, situation.fully_simulated)
        if isinstance(key, Refusal):
            return key
        if key.role not in self.policy.approver_roles.get(proposal.effect_class, frozenset()):
            return refuse(
                f"{key.operator_id} is {key.role}: may not decide on {proposal.effect_class}"
            )
        if situation.effector_country:
            deciders = self.policy.deciders_for(situation.effector_country)
            if self.nation_of(key) not in deciders:
                return refuse(
                    f"{key.operator_id} ({self.nation_of(key)}) may not decide on "
                    f"{situation.effector_country} effector {proposal.effector_id}: "
                    f"national authority of {', '.join(sorted(deciders))}"
                )

        def conflict(reason: str) -> Refusal:
            return Refusal(reason, proposal.content_hash, decision.decision_id, "conflict")

        if decision.time > situation.time + CLOCK_SKEW:
            return refuse(f"decision {decision.decision_id} is dated in the future")
        if decision.time < proposal.time:
            return conflict(f"decision {decision.decision_id} predates the proposal")
        if decision.time > proposal.expires_at:
            return conflict(f"decision {decision.decision_id} came after the proposal expired")
        return key

    def check_approvals(
        self, proposal: Proposal, decisions: Sequence[Decision], situation: Situation
    ) -> list[Decision] | Refusal:
        """The approving decisions that authorize ``proposal`` now, or why there are none."""

        def refuse(reason: str) -> Refusal:
            return Refusal(reason, proposal.content_hash)

        if proposal_content_hash(proposal) != proposal.content_hash:
            return refuse("proposal content does not match its hash")
        if proposal.effect_class is EffectClass.CUE:
            return refuse("a cue is not a weapon tasking: no order is issued for it")
        if situation.abort_active:
            return refuse("global abort is active")
        failed = [check.rule for check in proposal.roe_checks if not check.passed]
        if not proposal.roe_checks or failed:
            return refuse(f"rules of engagement not passed: {', '.join(failed) or 'no checks'}")
        if situation.current_roe_checks is not None:
            now_failed = [c.rule for c in situation.current_roe_checks if not c.passed]
            if now_failed:
                return refuse(f"rules of engagement fail now: {', '.join(now_failed)}")
        if situation.time > proposal.expires_at:
            return refuse("proposal expired")
        void = self.void_reason(proposal, situation)
        if void is not None:
            return refuse(f"approval void: {void}")
        approvals: list[Decision] = []
        people: set[str] = set()
        keys: set[str] = set()
        has_commander = False
        for decision in decisions:
            key = self.check_decision(decision, proposal, situation)
            if isinstance(key, Refusal):
                return key
            if decision.verdict is Verdict.REJECT:
                return refuse(f"rejected by {key.operator_id}")
            if key.operator_id in people or decision.key_id in keys:
                continue  # the same person twice counts once
            people.add(key.operator_id)
            keys.add(decision.key_id)
            has_commander = has_commander or key.role is OperatorRole.COMMANDER
            approvals.append(decision)
        needed = self.policy.approvals_needed.get(proposal.effect_class, 1)
        if len(approvals) < needed:
            return refuse(
                f"{proposal.effect_class} needs {needed} distinct authorized approvers, "
                f"has {len(approvals)}"
            )
        if proposal.effect_class in self.policy.commander_needed and not has_commander:
            return refuse(f"{proposal.effect_class} needs a commander among the approvers")
        return approvals

    @staticmethod
    def void_reason(proposal: Proposal, situation: Situation) -> str | None:
        track, assessment = situation.track, situation.assessment
        if track is None or track.status is TrackStatus.DELETED:
            return f"track {proposal.track_id} is no longer held"
        if track.track_id != proposal.track_id:
            return f"track {track.track_id} is not the proposal's {proposal.track_id}"
        if assessment is None:
            return f"track {proposal.track_id} has no assessment"
        if assessment.standard_identity != proposal.standard_identity:
            return (
                f"identity is now {assessment.standard_identity}, "
                f"proposal stated {proposal.standard_identity}"
            )
        if assessment.target_class != proposal.target_class:
            return (
                f"class is now {assessment.target_class}, proposal stated {proposal.target_class}"
            )
        distance = float(
            geodesic_distance_m(
                track.position.lat_deg,
                track.position.lon_deg,
                proposal.target_position.lat_deg,
                proposal.target_position.lon_deg,
            )
        )
        if distance > proposal.position_tolerance_m:
            return (
                f"track is {distance:,.0f} m from the stated position "
                f"(tolerance {proposal.position_tolerance_m:,.0f} m)"
            )
        return None


_MINT = object()
"""Held only by this module: the proof that verification ran before an authorization."""


class AuthorizedTasking:
    """The capability to task a weapon effector: minted only by `Authority.issue_order`."""

    __slots__ = ("decisions", "proposal")

    def __init__(self, token: object, proposal: Proposal, decisions: tuple[Decision, ...]) -> None:
        if token is not _MINT:
            raise PermissionError("only hotzone.c2.authority mints an AuthorizedTasking")
        self.proposal = proposal
        self.decisions = decisions


def _order_from(authorization: AuthorizedTasking, time: datetime, node_key: NodeKey) -> TaskOrder:
    if not isinstance(authorization, AuthorizedTasking) or not authorization.decisions:
        raise PermissionError("a TaskOrder needs a verified AuthorizedTasking")
    proposal = authorization.proposal
    unsigned = TaskOrder(
        order_id=f"ord-{uuid.uuid4().hex[:12]}",
        time=time,
        proposal_hash=proposal.content_hash,
        effector_id=proposal.effector_id,
        track_id=proposal.track_id,
        action=proposal.action,
        decision_ids=tuple(decision.decision_id for decision in authorization.decisions),
        decision_hashes=tuple(decision_hash(d) for d in authorization.decisions),
        effect_window_end=proposal.effect_window_end,
        issuer=node_key.node_id,
        issuer_key_id=node_key.key_id,
        releasability=proposal.releasability,
    )
    signature = node_key.sign(order_signing_bytes(unsigned))
    return msgspec.structs.replace(unsigned, signature=signature)


class Authority:
    """Issues signed task orders from verified decisions, recording everything in the audit
    log. ``node_key`` is the c2 node's: every consumer verifies orders against it."""

    def __init__(
        self, verifier: DecisionVerifier, audit: AuditLog, node_key: NodeKey | None = None
    ) -> None:
        self.verifier = verifier
        self.audit = audit
        self.node_key = node_key or NodeKey.generate(verifier.nation or "XX")

    def issue_order(
        self, proposal: Proposal, decisions: Sequence[Decision], situation: Situation
    ) -> TaskOrder | Refusal:
        """A `TaskOrder` if ``decisions`` authorize ``proposal`` now, else the `Refusal`.

        Either way the outcome is in the audit log before this returns.
        """
        approvals = self.verifier.check_approvals(proposal, decisions, situation)
        if isinstance(approvals, Refusal):
            self.audit.append(
                situation.time,
                AuditKind.REFUSAL,
                "c2",
                f"proposal {proposal.content_hash}: {approvals.reason}",
            )
            return approvals
        authorization = AuthorizedTasking(_MINT, proposal, tuple(approvals))
        order = _order_from(authorization, situation.time, self.node_key)
        self.audit.append(situation.time, AuditKind.ORDER, "c2", order)
        return order
