"""`ResponseStage`: tracks, assessments and decisions in; cues, proposals, orders,
proposal status, decision outcomes and audit out.

A pure step (``step(time, inputs) -> outputs``) for the runtime to wrap, and the only code
in hotzone that verifies decisions, issues orders and writes audit records (docs/c2.md).
Each step it

1. takes in tracks, assessments, decisions and acknowledged alerts; every decision is
   audited as it arrives and answered with a `DecisionOutcome` (accepted, or refused with
   the reason, which is audited too); a decision id seen before is a replay and refused;
2. expires proposals and voids those whose track left what they stated;
3. cues sensors automatically (``Alert`` of kind ``cue``: no weapon is tasked, so no human
   decision is needed) and plans effectors for threats without a live proposal;
4. issues a signed `TaskOrder` only through `Authority.issue_order` once enough distinct
   authorized people of a nation with authority over the effector approved, and the rules
   of engagement still pass at decision time;
5. publishes a `ProposalStatus` whenever a proposal's state or approvals change, so the
   page, ``hotzone decide`` and the report read proposal state from this one place;
6. puts what the effector gateways report on an order it issued (each lifecycle step, each
   operator alert: timeouts, rejections, disconnections, aborts; docs/effectors.md) on the
   audit record once, and the order's latest step in its proposal's status.

A signed decision for the hash ``abort`` stops everything pending and refuses every order
until a commander's signed ``resume``; both are audited and published as `C2State`, and
`restore` rebuilds them (with the audit chain, proposals and replay protection) after a
restart. The run mode is given by the command that starts the run (`RunMode`), never
inferred from the inputs: only in a simulation are simulation keys accepted.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from hotzone.c2.audit import AuditKind, AuditLog
from hotzone.c2.authority import (
    ABORT_HASH,
    RESUME_HASH,
    ApprovalPolicy,
    Authority,
    DecisionVerifier,
    Refusal,
    RegistrySource,
    Situation,
    enough_approvers,
)
from hotzone.c2.config import C2Spec, EffectorSpec
from hotzone.c2.planner import AssignmentResponsePlanner, ResponsePlanner, Threat, threat_towards
from hotzone.c2.roe import RoeChecker
from hotzone.c2.trust import NodeKey
from hotzone.c2.webauthn import RelyingParty
from hotzone.geo.geodesic import geodesic_distance_m
from hotzone.types import (
    Alert,
    AlertState,
    AnyMessage,
    Assessment,
    AuditRecord,
    C2State,
    DeadLetter,
    Decision,
    DecisionOutcome,
    EffectClass,
    Event,
    EventKind,
    GeoPoint,
    OperatorRole,
    Proposal,
    ProposalStatus,
    RunMode,
    StandardIdentity,
    TaskOrder,
    Track,
    TrackStatus,
    Verdict,
    to_json,
)
from hotzone.types.labels import Label, LabelConflict, meet_all
from hotzone.types.signing import lifecycle_fault, proposal_content_hash

_THREAT_IDENTITIES = {StandardIdentity.HOSTILE, StandardIdentity.SUSPECT}

EFFECTOR_SOURCE_PREFIX = "effectors-"
"""Effector gateways publish an order's lifecycle as `Event`\\ s from ``effectors-<interface>``
and their operator alerts with kinds ``effector_...`` (docs/effectors.md)."""

#: Lifecycle steps after which an order's engagement is settled (docs/effectors.md).
ENGAGEMENT_SETTLED = frozenset({"rejected", "failed", "aborted", "effect_observed"})
NO_GATEWAY = "no_gateway"
CUE_ALERT = "cue"
"""The kind of the alert that says a sensor was pointed at a threat (and its id's prefix)."""
"""The lifecycle step c2 itself records when no gateway reported on an order it issued
for an effector reached through one within the delivery timeout (a gateway that is down,
or the effector's node not connected to any)."""
LIFECYCLE_DEAD_LETTER_SOURCE = "c2_lifecycle"
"""Dead letters of lifecycle events c2 does not believe (``hz.<N>.dead.c2_lifecycle``)."""


class ProposalState(enum.StrEnum):
    PENDING = "pending"
    ORDERED = "ordered"
    REJECTED = "rejected"
    EXPIRED = "expired"
    VOID = "void"
    CANCELLED = "cancelled"
    ROE_FAILED = "roe_failed"


@dataclass
class _Pending:
    proposal: Proposal
    aim_point: GeoPoint
    effector: EffectorSpec
    state: ProposalState = ProposalState.PENDING
    approvals: list[Decision] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    order_id: str | None = None
    engagement: str = ""
    #: When the order went out, and whether a gateway reported on it since.
    ordered_at: datetime | None = None
    reported: bool = False


class ResponseStage:
    """The c2 stage of the pipeline (docs/architecture.md)."""

    def __init__(
        self,
        spec: C2Spec,
        registry: RegistrySource,
        *,
        mode: RunMode = RunMode.LIVE,
        nation: str = "PL",
        node_key: NodeKey | None = None,
        relying_party: RelyingParty | None = None,
        planner: ResponsePlanner | None = None,
        audit: AuditLog | None = None,
        releasability: str = "NATO",
        checkpoint_every: int = 50,
        trusted_gateways: Mapping[str, bytes] | None = None,
        gateway_effectors: Collection[str] = (),
        delivery_timeout_s: float = 30.0,
    ) -> None:
        """``mode``: chosen by the command that starts the run; ``node_key`` signs orders
        and audit checkpoints (a fresh one when not given, e.g. in tests).
        ``trusted_gateways``: the effector gateway keys whose signed lifecycle steps c2
        believes (none: every step is refused). ``gateway_effectors``: the effectors reached
        through a gateway; an order for one that no gateway reports on within
        ``delivery_timeout_s`` is ``no_gateway``, audited, with an operator alert."""
        self.spec = spec
        self.mode = mode
        self.nation = nation
        self.releasability = releasability
        #: What stays in the nation: its audit chain and its c2 state.
        self.national_label = f"NATIONAL {nation}"
        self._checkpoint_every = checkpoint_every
        self.node_key = node_key or NodeKey.generate(nation)
        self.trusted_gateways = dict(trusted_gateways or {})
        self.gateway_effectors = frozenset(gateway_effectors)
        self.delivery_timeout_s = delivery_timeout_s
        #: Lifecycle events c2 did not believe, to be dead-lettered with this step.
        self._dead: list[DeadLetter] = []
        self.policy = ApprovalPolicy.from_spec(spec.authority)
        self.verifier = DecisionVerifier(
            registry, self.policy, relying_party=relying_party, nation=nation
        )
        self.audit = audit or self._new_audit()
        self.authority = Authority(self.verifier, self.audit, self.node_key)
        self.planner = planner or AssignmentResponsePlanner()
        self.roe = RoeChecker(spec)
        self.abort_active = False
        self.tracks: dict[str, Track] = {}
        self.assessments: dict[str, Assessment] = {}
        self.proposals: dict[str, _Pending] = {}
        self.rounds_left = {e.id: e.capacity for e in spec.effectors}
        self.orders: list[TaskOrder] = []
        self._cued: set[tuple[str, str]] = set()
        #: Each track's open cue alerts: closed when the track is gone (a cue points a
        #: sensor at an object; once no track holds it, the cue has nothing to say).
        self._open_cues: dict[str, list[Alert]] = {}
        self._decisions_seen: set[str] = set()
        self._acknowledged: set[str] = set()
        self._orders_echoed: set[str] = set()
        #: Effector reports already on the record (event and alert ids): each once.
        self._effector_reports: set[str] = set()
        #: Who last changed the abort state, with which decision and why (kept on restart).
        self._state_detail = ("", "", "")
        self._counter = 0
        self._started = False
        self._finished = False

    def _new_audit(self, last: AuditRecord | None = None) -> AuditLog:
        # Checkpoints carry only a hash: they go to every ally as witnesses (NATO).
        # The chain itself stays in the nation (its records name national decisions).
        return AuditLog(
            last=last,
            releasability=self.national_label,
            node_key=self.node_key,
            nation=self.nation,
            checkpoint_every=self._checkpoint_every,
            checkpoint_releasability="NATO",
        )

    @property
    def fully_simulated(self) -> bool:
        return self.mode is RunMode.SIMULATION

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> list[AnyMessage]:
        return self._step(time, inputs, plan=True)

    def take_decisions(self, time: datetime, decisions: Sequence[Decision]) -> list[AnyMessage]:
        """A step that only takes decisions (and expires what expired by ``time``): for a
        restored stage deciding on a stored run, which must not plan on stale tracks."""
        return self._step(time, decisions, plan=False)

    def _step(self, time: datetime, inputs: Sequence[AnyMessage], plan: bool) -> list[AnyMessage]:
        outputs: list[AnyMessage] = self._start(time)
        for message in inputs:
            if isinstance(message, Track):
                self._take_track(message)
            elif isinstance(message, Assessment):
                self.assessments[message.track_id] = message
            elif isinstance(message, Alert):
                self._take_acknowledgement(time, message)
                self._take_effector_alert(time, message)
            elif isinstance(message, TaskOrder):
                self._take_order_seen(time, message)
            elif isinstance(message, Event):
                outputs += self._take_effector_event(time, message)
        outputs += self._close_cues_of_ended_tracks(time)
        for message in inputs:
            if isinstance(message, Decision):
                outputs += self._take_decision(time, message)
        outputs += self._sweep(time)
        outputs += self._no_gateway(time)
        if plan and not self.abort_active:
            outputs += self._plan(time)
        dead, self._dead = self._dead, []
        return outputs + dead + self._drain_audit()

    def finish(self, time: datetime) -> list[AnyMessage]:
        """At shutdown: the final signed checkpoint of the audit chain."""
        if self._finished or not self._started:
            return []
        self._finished = True
        self.audit.close(time)
        return self._drain_audit()

    def _drain_audit(self) -> list[AnyMessage]:
        return [*self.audit.drain(), *self.audit.drain_checkpoints()]

    def _start(self, time: datetime) -> list[AnyMessage]:
        if self._started:
            return []
        self._started = True
        self.audit.open(time, str(self.mode))
        return [self.state(time, *self._state_detail)]

    def state(
        self, time: datetime, by: str = "", decision_id: str = "", reason: str = ""
    ) -> C2State:
        return C2State(
            time=time,
            nation=self.nation,
            mode=str(self.mode),
            abort_active=self.abort_active,
            changed_by=by,
            decision_id=decision_id,
            reason=reason,
            releasability=self.national_label,
        )

    # --- restart ------------------------------------------------------------------------

    def restore(self, messages: Iterable[AnyMessage]) -> None:
        """Rebuild the state a restarted node needs from what it published before: the
        audit chain continues, decisions seen stay refused as replays, the abort state,
        proposals with their approvals and orders, the effectors' rounds left, the
        effectors' reports and operators' acknowledgements on the record, the cues raised
        (open ones close when their track ends), and the latest tracks and assessments
        given."""
        last_record: AuditRecord | None = None
        last_time: datetime | None = None
        statuses: dict[str, ProposalStatus] = {}
        decisions: dict[str, Decision] = {}
        cues: dict[str, Alert] = {}
        closed_cues: set[str] = set()
        for message in messages:
            match message:
                case AuditRecord():
                    last_record = message
                case Track():
                    self._take_track(message)
                case Assessment():
                    self.assessments[message.track_id] = message
                case C2State():
                    self.abort_active = message.abort_active
                    self._state_detail = (message.changed_by, message.decision_id, message.reason)
                case Decision():
                    self._decisions_seen.add(message.decision_id)
                    decisions[message.decision_id] = message
                case Proposal():
                    effector = self._effector(message.effector_id)
                    if effector is not None:
                        self.proposals[message.content_hash] = _Pending(
                            message, message.target_position, effector
                        )
                case ProposalStatus():
                    statuses[message.proposal_hash] = message
                    last_time = max(last_time or message.time, message.time)
                case Event() if message.source_id.startswith(EFFECTOR_SOURCE_PREFIX):
                    self._effector_reports.add(message.event_id)
                case Alert() if message.kind.startswith("effector_"):
                    self._effector_reports.add(message.alert_id)
                case Alert() if message.kind == CUE_ALERT and message.track_id:
                    # The cue as c2 published it first (an operator's acknowledgement
                    # republishes it): closed later exactly as a c2 never restarted would.
                    cues.setdefault(message.alert_id, message)
                    if message.state is AlertState.CLOSED:
                        closed_cues.add(message.alert_id)
                    elif message.state is AlertState.ACKNOWLEDGED:
                        self._acknowledged.add(message.alert_id)
                case Alert() if message.state is AlertState.ACKNOWLEDGED:
                    self._acknowledged.add(message.alert_id)
                case TaskOrder():
                    self.orders.append(message)
                    if message.effector_id in self.rounds_left:
                        self.rounds_left[message.effector_id] -= 1
                case _:
                    pass
        for content_hash, status in statuses.items():
            pending = self.proposals.get(content_hash)
            if pending is None:
                continue
            pending.state = ProposalState(status.state)
            pending.order_id = status.order_id
            pending.refusals = list(status.refusals)
            pending.engagement = status.engagement
            # A restarted c2 waits for a gateway's word on an order it had issued but
            # heard nothing of yet from the restart on (it cannot know how long before).
            pending.reported = bool(status.engagement)
            pending.ordered_at = last_time if status.order_id else None
            pending.approvals = [
                d
                for d in decisions.values()
                if d.proposal_hash == content_hash
                and d.operator_id in status.approvals
                and d.verdict is Verdict.APPROVE
            ]
        self._restore_cues(cues, closed_cues)
        self._counter = len(self.proposals)
        if last_record is not None:
            # The next step opens the resumed chain with a record of the restart.
            self.audit = self._new_audit(last_record)
            self.authority.audit = self.audit

    def _restore_cues(self, cues: Mapping[str, Alert], closed: Collection[str]) -> None:
        """Who was cued at which track before a restart: not cued again while the track
        lives, and a cue still open is closed when its track ends."""
        for alert_id, cue in cues.items():
            effector_id = next(
                (r.removeprefix("effector=") for r in cue.reasons if r.startswith("effector=")),
                None,
            )
            if effector_id is None or cue.track_id is None:
                continue  # not a cue this c2 published (it names its effector)
            self._cued.add((cue.track_id, effector_id))
            if alert_id not in closed:
                self._open_cues.setdefault(cue.track_id, []).append(cue)

    def _close_cues_of_ended_tracks(self, time: datetime) -> list[AnyMessage]:
        """The open cue alerts of tracks no longer held (published as deleted), closed."""
        closed: list[AnyMessage] = []
        for track_id in [t for t in self._open_cues if t not in self.tracks]:
            for cue in self._open_cues.pop(track_id):
                closed.append(
                    msgspec.structs.replace(
                        cue,
                        time=time,
                        state=AlertState.CLOSED,
                        reasons=(*cue.reasons, "track deleted"),
                    )
                )
        return closed

    def _effector(self, effector_id: str) -> EffectorSpec | None:
        for effector in self.spec.effectors:
            if effector.id == effector_id:
                return effector
        return None

    # --- inputs -------------------------------------------------------------------------

    def _take_track(self, track: Track) -> None:
        if track.status is TrackStatus.DELETED:
            self.tracks.pop(track.track_id, None)
        else:
            self.tracks[track.track_id] = track

    def _take_acknowledgement(self, time: datetime, alert: Alert) -> None:
        """An operator acknowledged an alert on the page: on the record, once."""
        if alert.state is not AlertState.ACKNOWLEDGED or alert.alert_id in self._acknowledged:
            return
        self._acknowledged.add(alert.alert_id)
        self.audit.append(
            time,
            AuditKind.ACKNOWLEDGE,
            alert.acknowledged_by or "?",
            f"alert {alert.alert_id} acknowledged: {alert.summary}",
        )

    def _take_order_seen(self, time: datetime, order: TaskOrder) -> None:
        """An order on this nation's order subject that this c2 did not issue (forged,
        altered or replayed by someone who can publish on the bus) goes on the record;
        consumers refuse it on their own (`hotzone.types.signing.order_fault`)."""
        if any(issued == order for issued in self.orders):
            if order.order_id in self._orders_echoed:
                self.audit.append(
                    time, AuditKind.REFUSAL, "c2", f"order {order.order_id} replayed on the bus"
                )
            self._orders_echoed.add(order.order_id)
            return
        issued_ids = {issued.order_id for issued in self.orders}
        what = "altered" if order.order_id in issued_ids else "not issued by this c2"
        self.audit.append(
            time,
            AuditKind.REFUSAL,
            "c2",
            f"order {order.order_id} for {order.effector_id} on the bus is {what}: "
            f"consumers refuse it",
        )

    def _take_effector_event(self, time: datetime, event: Event) -> list[AnyMessage]:
        """A lifecycle step an effector gateway reported: on the record once, and the
        proposal's status shows it. A report naming an order this c2 did not issue for that
        effector (forged by someone on the bus) goes on the record as such and changes
        nothing."""
        order_id = event.attributes.get("order_id", "")
        lifecycle = event.attributes.get("lifecycle", "")
        if not event.source_id.startswith(EFFECTOR_SOURCE_PREFIX) or not order_id:
            return []
        if not lifecycle or event.event_id in self._effector_reports:
            return []
        self._effector_reports.add(event.event_id)
        fault = lifecycle_fault(event, self.trusted_gateways)
        if fault is not None:
            # Unsigned or signed by a key c2 does not trust: someone on the bus, not a
            # gateway. On the record and dead-lettered; the engagement stays as it was.
            self.audit.append(time, AuditKind.REFUSAL, "c2", f"{event.source_id}: {fault}")
            self._dead.append(
                DeadLetter(
                    time=time,
                    source=LIFECYCLE_DEAD_LETTER_SOURCE,
                    reason=fault,
                    raw=to_json(event),
                    releasability=self.national_label,
                )
            )
            return []
        effector_id = event.attributes.get("effector_id", "")
        issued = next((o for o in self.orders if o.order_id == order_id), None)
        if issued is None or issued.effector_id != effector_id:
            self.audit.append(
                time,
                AuditKind.REFUSAL,
                "c2",
                f"{event.source_id} reports {lifecycle} of order {order_id} for "
                f"{effector_id or '?'}, which this c2 did not issue: ignored",
            )
            return []
        self.audit.append(time, AuditKind.EFFECTOR, event.source_id, event)
        pending = next((p for p in self.proposals.values() if p.order_id == order_id), None)
        if pending is not None:
            pending.reported = True
        if pending is None or lifecycle == "timeout" or pending.engagement in ENGAGEMENT_SETTLED:
            return []
        pending.engagement = lifecycle
        return [self._status(time, pending)]

    def _take_effector_alert(self, time: datetime, alert: Alert) -> None:
        """An operator alert an effector gateway raised (timeout, rejection, disconnection,
        abort sent, an order refused before sending): on the record once."""
        if not alert.kind.startswith("effector_") or alert.state is not AlertState.OPEN:
            return
        if alert.alert_id in self._effector_reports:
            return
        self._effector_reports.add(alert.alert_id)
        self.audit.append(time, AuditKind.EFFECTOR, "effectors", alert)

    def _situation(self, time: datetime, pending: _Pending | None = None) -> Situation:
        track = assessment = None
        roe_now = None
        country = ""
        if pending is not None:
            country = pending.effector.country
            track = self.tracks.get(pending.proposal.track_id)
            assessment = self.assessments.get(pending.proposal.track_id)
            if track is not None and assessment is not None:
                roe_now = self.roe.check(pending.effector, track, assessment, pending.aim_point)
        return Situation(
            time=time,
            track=track,
            assessment=assessment,
            abort_active=self.abort_active,
            fully_simulated=self.fully_simulated,
            current_roe_checks=roe_now,
            effector_country=country,
        )

    def _outcome(
        self, time: datetime, decision: Decision, refusal: Refusal | None = None
    ) -> DecisionOutcome:
        """The answer to one decision; a refusal is on the audit record before it goes."""
        if refusal is not None:
            self.audit.append(
                time,
                AuditKind.REFUSAL,
                "c2",
                f"decision {decision.decision_id} by {decision.operator_id}: {refusal.reason}",
            )
        return DecisionOutcome(
            time=time,
            decision_id=decision.decision_id,
            proposal_hash=decision.proposal_hash,
            operator_id=decision.operator_id,
            accepted=refusal is None,
            code="accepted" if refusal is None else refusal.code,
            reason="" if refusal is None else refusal.reason,
            releasability=self._label_for(decision.proposal_hash),
        )

    def _label_for(self, proposal_hash: str) -> str:
        pending = self.proposals.get(proposal_hash)
        return pending.proposal.releasability if pending else self.national_label

    def _status(self, time: datetime, pending: _Pending) -> ProposalStatus:
        proposal = pending.proposal
        effect = proposal.effect_class
        missing = ""
        if pending.state is ProposalState.PENDING:
            missing = self.policy.missing(effect, pending.approvals)
        return ProposalStatus(
            time=time,
            proposal_id=proposal.proposal_id,
            proposal_hash=proposal.content_hash,
            state=str(pending.state),
            approvals=tuple(d.operator_id for d in pending.approvals),
            approvals_needed=self.policy.approvals_needed.get(effect, 1),
            commander_needed=effect in self.policy.commander_needed,
            missing=missing,
            refusals=tuple(pending.refusals[-10:]),
            failed_rules=tuple(c.rule for c in proposal.roe_checks if not c.passed),
            order_id=pending.order_id,
            engagement=pending.engagement,
            releasability=proposal.releasability,
        )

    def _take_decision(self, time: datetime, decision: Decision) -> list[AnyMessage]:
        self.audit.append(time, AuditKind.DECISION, decision.operator_id, decision)
        if decision.decision_id in self._decisions_seen:
            replay = Refusal(
                f"decision {decision.decision_id} was taken before: a replay",
                decision.proposal_hash,
                decision.decision_id,
                code="conflict",
            )
            return [self._outcome(time, decision, replay)]
        self._decisions_seen.add(decision.decision_id)
        if decision.proposal_hash in (ABORT_HASH, RESUME_HASH):
            return self._take_abort(time, decision)
        pending = self.proposals.get(decision.proposal_hash)
        if pending is None:
            unknown = Refusal("no such proposal", decision.proposal_hash, code="conflict")
            return [self._outcome(time, decision, unknown)]
        refusal = self._refusal_for(time, decision, pending)
        if refusal is not None:
            pending.refusals.append(f"{decision.operator_id}: {refusal.reason}")
            return [self._status(time, pending), self._outcome(time, decision, refusal)]
        # c2's answer goes last: whoever waits for it then finds the order and the new
        # proposal state published already.
        outcome = self._outcome(time, decision)
        outputs: list[AnyMessage] = []
        if decision.verdict is Verdict.REJECT:
            pending.state = ProposalState.REJECTED
            return [self._status(time, pending), outcome]
        pending.approvals.append(decision)
        if enough_approvers(self.verifier.policy, pending.proposal, pending.approvals):
            result = self.authority.issue_order(
                pending.proposal, pending.approvals, self._situation(time, pending)
            )
            if isinstance(result, Refusal):
                pending.state = ProposalState.VOID
                pending.refusals.append(result.reason)
            else:
                pending.state = ProposalState.ORDERED
                pending.order_id = result.order_id
                pending.ordered_at = time
                self.rounds_left[pending.effector.id] -= 1
                self.orders.append(result)
                outputs.append(result)
        return [*outputs, self._status(time, pending), outcome]

    def _refusal_for(self, time: datetime, decision: Decision, pending: _Pending) -> Refusal | None:
        """Why ``decision`` does not count for ``pending`` now, or None."""

        def conflict(reason: str) -> Refusal:
            return Refusal(reason, decision.proposal_hash, decision.decision_id, "conflict")

        if self.abort_active:
            return conflict("a global abort is in force: no decisions on proposals")
        if pending.state is not ProposalState.PENDING:
            return conflict(f"proposal {pending.proposal.proposal_id} is {pending.state}")
        situation = self._situation(time, pending)
        checked = self.verifier.check_decision(decision, pending.proposal, situation)
        if isinstance(checked, Refusal):
            return checked
        if any(d.operator_id == checked.operator_id for d in pending.approvals):
            return conflict(f"{checked.operator_id} has already approved this proposal")
        if decision.verdict is Verdict.APPROVE and situation.current_roe_checks is not None:
            failed = [c.rule for c in situation.current_roe_checks if not c.passed]
            if failed:
                pending.state = ProposalState.VOID
                return conflict(f"rules of engagement fail now: {', '.join(failed)}")
        return None

    def _take_abort(self, time: datetime, decision: Decision) -> list[AnyMessage]:
        key = self.verifier.check_signed(decision, self.fully_simulated)
        if isinstance(key, Refusal):
            return [self._outcome(time, decision, key)]
        nation = self.verifier.nation_of(key)

        def refuse(reason: str) -> list[AnyMessage]:
            return [self._outcome(time, decision, Refusal(reason, decision.proposal_hash))]

        if key.role not in (OperatorRole.OPERATOR, OperatorRole.COMMANDER):
            return refuse(f"{key.operator_id} is {key.role}: may not {decision.proposal_hash}")
        if decision.proposal_hash == RESUME_HASH:
            if key.role is not OperatorRole.COMMANDER or nation != self.nation:
                return refuse(
                    f"resume by {key.operator_id} ({nation} {key.role}): only a commander "
                    f"of {self.nation} may resume"
                )
            self.abort_active = False
            self.audit.append(time, AuditKind.RESUME, key.operator_id, decision)
            self._state_detail = (key.operator_id, decision.decision_id, "resume")
            return [
                self._outcome(time, decision),
                self.state(time, key.operator_id, decision.decision_id, "resume"),
            ]
        if nation != self.nation and nation not in self.policy.abort_nations:
            return refuse(
                f"abort by {key.operator_id} ({nation}): {nation} may not abort "
                f"{self.nation}'s effectors"
            )
        self.abort_active = True
        self._state_detail = (key.operator_id, decision.decision_id, decision.comment or "abort")
        cancelled = [p for p in self.proposals.values() if p.state is ProposalState.PENDING]
        for pending in cancelled:
            pending.state = ProposalState.CANCELLED
        self.audit.append(
            time,
            AuditKind.ABORT,
            key.operator_id,
            f"abort: {len(cancelled)} pending proposals cancelled; orders "
            f"{', '.join(o.order_id for o in self.orders) or 'none'} to be stopped",
        )
        return [
            self._outcome(time, decision),
            self.state(time, key.operator_id, decision.decision_id, decision.comment or "abort"),
            *(self._status(time, pending) for pending in cancelled),
            Alert(
                alert_id=f"abort-{decision.decision_id}",
                time=time,
                kind="abort",
                summary=f"GLOBAL ABORT by {key.operator_id}: stop every order",
                priority=1,
                reasons=tuple(o.order_id for o in self.orders),
                releasability=self.national_label,
            ),
        ]

    # --- housekeeping and planning ------------------------------------------------------

    def _sweep(self, time: datetime) -> list[AnyMessage]:
        changed: list[AnyMessage] = []
        for pending in self.proposals.values():
            if pending.state not in (ProposalState.PENDING, ProposalState.ROE_FAILED):
                continue
            if time > pending.proposal.expires_at:
                pending.state = ProposalState.EXPIRED
                self.audit.append(
                    time, AuditKind.EXPIRY, "c2", f"proposal {pending.proposal.content_hash}"
                )
                changed.append(self._status(time, pending))
                continue
            if pending.state is not ProposalState.PENDING:
                continue
            void = self.verifier.void_reason(pending.proposal, self._situation(time, pending))
            if void is not None:
                pending.state = ProposalState.VOID
                pending.refusals.append(void)
                self.audit.append(
                    time,
                    AuditKind.VOID,
                    "c2",
                    f"proposal {pending.proposal.content_hash}: {void}",
                )
                changed.append(self._status(time, pending))
        return changed

    def _no_gateway(self, time: datetime) -> list[AnyMessage]:
        """Orders for an effector reached through a gateway that no gateway reported on
        within the delivery timeout: a ``no_gateway`` step on the record and in the
        proposal's status, and a priority-1 operator alert (nobody is carrying them)."""
        outputs: list[AnyMessage] = []
        for pending in self.proposals.values():
            if (
                pending.order_id is None
                or pending.reported
                or pending.ordered_at is None
                or pending.effector.id not in self.gateway_effectors
                or (time - pending.ordered_at).total_seconds() < self.delivery_timeout_s
            ):
                continue
            pending.reported = True  # once: a late gateway report still counts
            reason = (
                f"no effector gateway reported on order {pending.order_id} for "
                f"{pending.effector.id} within {self.delivery_timeout_s:g} s: no gateway or "
                "no connected node carries it"
            )
            event = Event(
                event_id=f"order:{pending.order_id}:{NO_GATEWAY}",
                time=time,
                source_id="c2",
                kind=EventKind.OBSERVATION,
                severity=7,
                summary=f"{pending.effector.id}: {reason}",
                subject_id=pending.proposal.track_id,
                position=pending.aim_point,
                attributes={
                    "order_id": pending.order_id,
                    "effector_id": pending.effector.id,
                    "track_id": pending.proposal.track_id,
                    "lifecycle": NO_GATEWAY,
                    "reason": reason,
                },
                releasability=pending.proposal.releasability,
            )
            alert = Alert(
                alert_id=f"effector:{pending.order_id}:{NO_GATEWAY}",
                time=time,
                kind=f"effector_{NO_GATEWAY}",
                summary=reason,
                priority=1,
                track_id=pending.proposal.track_id,
                position=pending.aim_point,
                reasons=(f"order {pending.order_id}", f"effector {pending.effector.id}"),
                releasability=pending.proposal.releasability,
            )
            self._effector_reports.add(alert.alert_id)
            self.audit.append(time, AuditKind.EFFECTOR, "c2", event)
            self.audit.append(time, AuditKind.EFFECTOR, "c2", alert)
            pending.engagement = NO_GATEWAY
            outputs += [event, alert, self._status(time, pending)]
        return outputs

    def _engaged_tracks(self, time: datetime) -> set[str]:
        engaged = set()
        for pending in self.proposals.values():
            live = pending.state in (ProposalState.PENDING, ProposalState.ROE_FAILED) or (
                pending.state is ProposalState.ORDERED
                and time <= pending.proposal.effect_window_end
            )
            if live:
                engaged.add(pending.proposal.track_id)
        return engaged

    def threats(self) -> list[Threat]:
        """Tracks assessed hostile or suspect that close on a defended asset, soonest first."""
        found = []
        for track_id, track in self.tracks.items():
            assessment = self.assessments.get(track_id)
            if (
                assessment is None
                or assessment.standard_identity not in _THREAT_IDENTITIES
                or assessment.threat_score < self.spec.min_threat_score
            ):
                continue
            threat = threat_towards(track, assessment, self.spec.assets)
            if threat is not None:
                found.append(threat)
        return sorted(found, key=lambda threat: threat.time_to_go_s)

    def _plan(self, time: datetime) -> list[AnyMessage]:
        threats = self.threats()
        outputs: list[AnyMessage] = self._cues(time, threats)
        engaged = self._engaged_tracks(time)
        reserved = {e.id: 0 for e in self.spec.effectors}
        for pending in self.proposals.values():
            if pending.state is ProposalState.PENDING:
                reserved[pending.effector.id] += 1
        rounds = {key: left - reserved[key] for key, left in self.rounds_left.items()}
        open_threats = [t for t in threats if t.track.track_id not in engaged]
        for option in self.planner.plan(open_threats, self.spec.effectors, rounds):
            proposal = self._proposal(
                time,
                option.threat,
                option.effector,
                option.aim_point,
                option.time_to_effect_s,
                option.explanation,
            )
            pending = _Pending(proposal, option.aim_point, option.effector)
            if not all(check.passed for check in proposal.roe_checks):
                pending.state = ProposalState.ROE_FAILED
            self.proposals[proposal.content_hash] = pending
            self.audit.append(time, AuditKind.PROPOSAL, "c2", proposal)
            outputs += [proposal, self._status(time, pending)]
        return outputs

    def _proposal(
        self,
        time: datetime,
        threat: Threat,
        effector: EffectorSpec,
        aim_point: GeoPoint,
        time_to_effect_s: float,
        explanation: tuple[str, ...],
    ) -> Proposal:
        self._counter += 1
        window_start = time + timedelta(seconds=time_to_effect_s)
        # After the last moment the effector could still act the option is gone.
        last_moment = max(threat.time_to_go_s - time_to_effect_s, 1.0)
        unhashed = Proposal(
            proposal_id=f"prop-{self._counter:05d}",
            time=time,
            track_id=threat.track.track_id,
            effector_id=effector.id,
            effect_class=effector.effect_class,
            action=effector.action,
            target_class=threat.assessment.target_class,
            standard_identity=threat.assessment.standard_identity,
            target_position=threat.track.position,
            position_tolerance_m=self.spec.position_tolerance_m,
            effect_window_start=window_start,
            effect_window_end=window_start + timedelta(seconds=30),
            expires_at=time + timedelta(seconds=min(self.spec.proposal_lifetime_s, last_moment)),
            roe_checks=self.roe.check(effector, threat.track, threat.assessment, aim_point),
            rationale=explanation,
            # Never wider than what it was derived from: the track and its assessment.
            releasability=self._derived_label(
                threat.track.releasability, threat.assessment.releasability
            ),
        )
        return msgspec.structs.replace(unhashed, content_hash=proposal_content_hash(unhashed))

    def _derived_label(self, *labels: str) -> str:
        """The most restrictive of ``labels`` and this node's label; inputs that share no
        nation with it fall back to the node's own national label."""
        try:
            return meet_all(Label.parse(label) for label in (self.releasability, *labels)).text
        except LabelConflict:
            return self.national_label

    def _cues(self, time: datetime, threats: Sequence[Threat]) -> list[AnyMessage]:
        """Point every cueable sensor in reach at each threat, once: automatic by design."""
        alerts: list[AnyMessage] = []
        cue_effectors = [e for e in self.spec.effectors if e.effect_class is EffectClass.CUE]
        for threat in threats:
            track = threat.track
            for effector in cue_effectors:
                key = (track.track_id, effector.id)
                if key in self._cued:
                    continue
                distance = float(
                    geodesic_distance_m(
                        effector.position.lat_deg,
                        effector.position.lon_deg,
                        track.position.lat_deg,
                        track.position.lon_deg,
                    )
                )
                if distance > effector.max_range_m:
                    continue
                self._cued.add(key)
                summary = f"cue {effector.id}: {effector.action} to track {track.track_id}"
                self.audit.append(time, AuditKind.CUE, "c2", summary)
                cue = Alert(
                    alert_id=f"{CUE_ALERT}-{effector.id}-{track.track_id}",
                    time=time,
                    kind=CUE_ALERT,
                    summary=summary,
                    priority=2,
                    track_id=track.track_id,
                    position=track.position,
                    reasons=(f"effector={effector.id}", f"action={effector.action}"),
                    releasability=self._derived_label(
                        track.releasability, threat.assessment.releasability
                    ),
                )
                self._open_cues.setdefault(track.track_id, []).append(cue)
                alerts.append(cue)
        return alerts
