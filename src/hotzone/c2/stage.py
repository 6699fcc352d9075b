"""`ResponseStage`: tracks and assessments in; cues, proposals, orders and audit out.

A pure step (``step(time, inputs) -> outputs``) for the runtime to wrap. Each step it

1. takes in tracks, assessments and decisions (decisions are audited as they arrive, and
   every one that does not count is audited as a refusal with the reason);
2. expires proposals and voids those whose track left what they stated;
3. cues sensors automatically (``Alert`` of kind ``cue``: no weapon is tasked, so no human
   decision is needed) and plans effectors for threats without a live proposal;
4. issues a `TaskOrder` only through `Authority.issue_order` once enough distinct
   authorized people approved.

A signed decision for the hash ``abort`` stops everything pending and refuses every
order until a commander's signed ``resume``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from hotzone.c2.audit import AuditKind, AuditLog
from hotzone.c2.authority import (
    ABORT_HASH,
    RESUME_HASH,
    Authority,
    DecisionVerifier,
    Refusal,
    Situation,
    enough_approvers,
)
from hotzone.c2.config import C2Spec, EffectorSpec
from hotzone.c2.keys import OperatorRegistry
from hotzone.c2.planner import AssignmentResponsePlanner, ResponsePlanner, Threat, threat_towards
from hotzone.c2.roe import RoeChecker
from hotzone.geo.geodesic import geodesic_distance_m
from hotzone.types import (
    Alert,
    AnyMessage,
    Assessment,
    Decision,
    EffectClass,
    GeoPoint,
    OperatorRole,
    Proposal,
    StandardIdentity,
    TaskOrder,
    Track,
    TrackStatus,
    Verdict,
)
from hotzone.types.signing import proposal_content_hash

_THREAT_IDENTITIES = {StandardIdentity.HOSTILE, StandardIdentity.SUSPECT}


class ProposalState(enum.StrEnum):
    PENDING = "pending"
    ORDERED = "ordered"
    REJECTED = "rejected"
    EXPIRED = "expired"
    VOID = "void"
    CANCELLED = "cancelled"


@dataclass
class _Pending:
    proposal: Proposal
    aim_point: GeoPoint
    effector: EffectorSpec
    state: ProposalState = ProposalState.PENDING
    approvals: list[Decision] = field(default_factory=list)


class ResponseStage:
    """The c2 stage of the pipeline (DESIGN.md §1)."""

    def __init__(
        self,
        spec: C2Spec,
        registry: OperatorRegistry,
        *,
        simulated_sensors: frozenset[str] | None = None,
        planner: ResponsePlanner | None = None,
        audit: AuditLog | None = None,
        releasability: str = "NATO",
    ) -> None:
        """``simulated_sensors``: the sensors of a simulated run (None: a live run)."""
        self.spec = spec
        self.verifier = DecisionVerifier(registry)
        self.audit = audit or AuditLog(releasability=releasability)
        self.authority = Authority(self.verifier, self.audit)
        self.planner = planner or AssignmentResponsePlanner()
        self.roe = RoeChecker(spec)
        self.releasability = releasability
        self.simulated_sensors = simulated_sensors
        self.live_input_seen = simulated_sensors is None
        self.abort_active = False
        self.tracks: dict[str, Track] = {}
        self.assessments: dict[str, Assessment] = {}
        self.proposals: dict[str, _Pending] = {}
        self.rounds_left = {e.id: e.capacity for e in spec.effectors}
        self.orders: list[TaskOrder] = []
        self._cued: set[tuple[str, str]] = set()
        self._counter = 0

    @property
    def fully_simulated(self) -> bool:
        return not self.live_input_seen

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> list[AnyMessage]:
        outputs: list[AnyMessage] = []
        for message in inputs:
            if isinstance(message, Track):
                self._take_track(message)
            elif isinstance(message, Assessment):
                self.assessments[message.track_id] = message
        for message in inputs:
            if isinstance(message, Decision):
                outputs += self._take_decision(time, message)
        self._sweep(time)
        if not self.abort_active:
            outputs += self._plan(time)
        outputs += self.audit.drain()
        return outputs

    # --- inputs -------------------------------------------------------------------------

    def _take_track(self, track: Track) -> None:
        if self.simulated_sensors is not None and not set(track.sensors) <= self.simulated_sensors:
            self.live_input_seen = True  # one live input ends simulation-key use for good
        if track.status is TrackStatus.DELETED:
            self.tracks.pop(track.track_id, None)
        else:
            self.tracks[track.track_id] = track

    def _situation(self, time: datetime, pending: _Pending | None = None) -> Situation:
        track = assessment = None
        roe_now = None
        if pending is not None:
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
        )

    def _refuse(self, time: datetime, reason: str) -> None:
        self.audit.append(time, AuditKind.REFUSAL, "c2", reason)

    def _take_decision(self, time: datetime, decision: Decision) -> list[AnyMessage]:
        self.audit.append(time, AuditKind.DECISION, decision.operator_id, decision)
        if decision.proposal_hash in (ABORT_HASH, RESUME_HASH):
            return self._take_abort(time, decision)
        pending = self.proposals.get(decision.proposal_hash)
        if pending is None:
            self._refuse(time, f"decision {decision.decision_id}: no such proposal")
            return []
        if pending.state is not ProposalState.PENDING:
            self._refuse(
                time, f"decision {decision.decision_id}: proposal is {pending.state}, not pending"
            )
            return []
        checked = self.verifier.check_decision(decision, pending.proposal, self._situation(time))
        if isinstance(checked, Refusal):
            self._refuse(time, f"decision {decision.decision_id}: {checked.reason}")
            return []
        if decision.verdict is Verdict.REJECT:
            pending.state = ProposalState.REJECTED
            return []
        pending.approvals.append(decision)
        if not enough_approvers(self.verifier.policy, pending.proposal, pending.approvals):
            return []
        result = self.authority.issue_order(
            pending.proposal, pending.approvals, self._situation(time, pending)
        )
        if isinstance(result, Refusal):
            pending.state = ProposalState.VOID
            return []
        pending.state = ProposalState.ORDERED
        self.rounds_left[pending.effector.id] -= 1
        self.orders.append(result)
        return [result]

    def _take_abort(self, time: datetime, decision: Decision) -> list[AnyMessage]:
        key = self.verifier.check_signed(decision, self.fully_simulated)
        if isinstance(key, Refusal):
            self._refuse(time, f"{decision.proposal_hash} {decision.decision_id}: {key.reason}")
            return []
        if decision.proposal_hash == RESUME_HASH:
            if key.role is not OperatorRole.COMMANDER:
                self._refuse(time, f"resume by {key.operator_id} ({key.role}): commanders only")
                return []
            self.abort_active = False
            self.audit.append(time, AuditKind.RESUME, key.operator_id, decision)
            return []
        self.abort_active = True
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
            Alert(
                alert_id=f"abort-{decision.decision_id}",
                time=time,
                kind="abort",
                summary=f"GLOBAL ABORT by {key.operator_id}: stop every order",
                priority=1,
                reasons=tuple(o.order_id for o in self.orders),
                releasability=self.releasability,
            )
        ]

    # --- housekeeping and planning ------------------------------------------------------

    def _sweep(self, time: datetime) -> None:
        for pending in self.proposals.values():
            if pending.state is not ProposalState.PENDING:
                continue
            if time > pending.proposal.expires_at:
                pending.state = ProposalState.EXPIRED
                self.audit.append(
                    time, AuditKind.EXPIRY, "c2", f"proposal {pending.proposal.content_hash}"
                )
                continue
            void = self.verifier.void_reason(pending.proposal, self._situation(time, pending))
            if void is not None:
                pending.state = ProposalState.VOID
                self.audit.append(
                    time,
                    AuditKind.VOID,
                    "c2",
                    f"proposal {pending.proposal.content_hash}: {void}",
                )

    def _engaged_tracks(self, time: datetime) -> set[str]:
        engaged = set()
        for pending in self.proposals.values():
            live = pending.state is ProposalState.PENDING or (
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
            self.proposals[proposal.content_hash] = _Pending(
                proposal, option.aim_point, option.effector
            )
            self.audit.append(time, AuditKind.PROPOSAL, "c2", proposal)
            outputs.append(proposal)
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
            releasability=self.releasability,
        )
        return msgspec.structs.replace(unhashed, content_hash=proposal_content_hash(unhashed))

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
                alerts.append(
                    Alert(
                        alert_id=f"cue-{effector.id}-{track.track_id}",
                        time=time,
                        kind="cue",
                        summary=summary,
                        priority=2,
                        track_id=track.track_id,
                        position=track.position,
                        reasons=(f"effector={effector.id}", f"action={effector.action}"),
                        releasability=self.releasability,
                    )
                )
        return alerts
