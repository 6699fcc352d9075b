"""What closes the loop in a simulation: the simulated people at the console and the
effect model that turns verified task orders into outcomes in the simulator.

Both exist only in runs the command starts as simulations (docs/architecture.md, "Run modes").
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hotzone.geo import geodesic_distance_m
from hotzone.sim.operator import SimulatedOperator
from hotzone.types import (
    AnyMessage,
    C2State,
    DeadLetter,
    EffectClass,
    Event,
    EventKind,
    GeoPoint,
    OperatorRole,
    Proposal,
    TaskOrder,
    TruthState,
    to_json,
)
from hotzone.types.signing import lifecycle_fault, order_fault


@dataclass
class SimulatedOperatorsStage:
    """The people at the console in a simulated run: they decide on every proposal."""

    operators: list[SimulatedOperator]

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> list[AnyMessage]:
        proposals = [message for message in inputs if isinstance(message, Proposal)]
        decisions: list[AnyMessage] = []
        for operator in self.operators:
            operator.observe(proposals)
            decisions.extend(operator.decide(time))
        return decisions


# Probability that an effect stops its target, by effect class (a deliberately simple
# effect model for simulated runs; real outcomes come from battle damage assessment).
PROBABILITY_OF_EFFECT = {EffectClass.KINETIC: 0.85, EffectClass.NON_KINETIC: 0.6}
ENGAGEMENT_RADIUS_M = 3_000.0


@dataclass
class EffectModelStage:
    """Turns task orders into outcomes in the simulator: stopped targets leave the run.

    The order names a track; the target it acts on is the live truth object nearest to the
    proposal's aim point when the effect window opens. ``removals`` is the simulator's
    mapping of stopped targets, so the sensors stop seeing them.

    Like every consumer of orders it acts only on an order whose signature verifies against
    ``trusted_issuers`` (the nation's c2 node keys), whose proposal it has seen with the
    same hash, that it has not seen before and whose effect window is still open, and never
    while an abort holds; anything else becomes a dead letter with the reason.
    """

    removals: dict[str, float]
    seed: int = 1
    trusted_issuers: dict[str, bytes] = field(default_factory=dict)
    gateway_effectors: frozenset[str] = frozenset()
    """Effectors an effector gateway carries orders to (simulated ones behind the real
    interfaces): their orders take effect when the gateway reports ``effect_observed``
    (the interceptor at its aim point), at that step's time and place, and end without
    effect when it reports them rejected, failed or aborted."""
    trusted_gateways: Mapping[str, bytes] | None = None
    """Key id -> public key of the gateways whose lifecycle steps it believes (c2's, see
    docs/effectors.md): a step unsigned, altered or signed by another key is a dead letter
    and changes nothing. None believes every step (tests of the model alone)."""
    outcomes: list[Event] = field(default_factory=list)
    refused: list[DeadLetter] = field(default_factory=list)
    _proposals: dict[str, Proposal] = field(default_factory=dict)
    _pending: list[tuple[datetime, TaskOrder, Proposal]] = field(default_factory=list)
    _awaiting: dict[str, tuple[TaskOrder, Proposal]] = field(default_factory=dict)
    _truth: dict[str, TruthState] = field(default_factory=dict)
    _orders_seen: set[str] = field(default_factory=set)
    _aborted: bool = False
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def step(self, time: datetime, inputs: Sequence[AnyMessage]) -> list[AnyMessage]:
        events: list[AnyMessage] = []
        for message in inputs:
            if isinstance(message, C2State):
                self._aborted = message.abort_active
                if message.abort_active:
                    # A global abort stops every order that has not taken effect yet.
                    events.extend(self._cancel(time, f"cancelled by abort ({message.changed_by})"))
            elif isinstance(message, TruthState):
                self._truth[message.target_id] = message
            elif isinstance(message, Proposal):
                self._proposals[message.content_hash] = message
            elif isinstance(message, TaskOrder):
                events.extend(self._take_order(time, message))
            elif isinstance(message, Event):
                events.extend(self._take_lifecycle(time, message))
        due = [item for item in self._pending if item[0] <= time]
        self._pending = [item for item in self._pending if item[0] > time]
        for effect_time, order, proposal in due:
            event = self._resolve(effect_time, order, proposal)
            self.outcomes.append(event)
            events.append(event)
        return events

    def _take_order(self, time: datetime, order: TaskOrder) -> list[AnyMessage]:
        reason = order_fault(order, self.trusted_issuers)
        proposal = self._proposals.get(order.proposal_hash)
        if reason is None and order.order_id in self._orders_seen:
            reason = f"order {order.order_id} was received before: a replay"
        elif reason is None and self._aborted:
            reason = f"order {order.order_id} refused: a global abort is in force"
        elif reason is None and (proposal is None or proposal.effector_id != order.effector_id):
            reason = f"order {order.order_id} matches no proposal for {order.effector_id}"
        elif (
            reason is None
            and order.effect_window_end is not None
            and time > order.effect_window_end
        ):
            reason = f"order {order.order_id} expired at {order.effect_window_end.isoformat()}"
        if reason is not None or proposal is None:
            refused = DeadLetter(
                time=time,
                source="order/effect-model",
                reason=reason or "no proposal",
                raw=to_json(order),
                releasability=order.releasability,
            )
            self.refused.append(refused)
            return [refused]
        self._orders_seen.add(order.order_id)
        if order.effector_id in self.gateway_effectors:
            self._awaiting[order.order_id] = (order, proposal)
        elif proposal.effect_class in PROBABILITY_OF_EFFECT:
            self._pending.append((proposal.effect_window_start, order, proposal))
        return []

    def _take_lifecycle(self, time: datetime, event: Event) -> list[AnyMessage]:
        """A gateway's report on an order it carried (docs/effectors.md)."""
        if not event.source_id.startswith("effectors-"):
            return []
        waiting = self._awaiting.get(event.attributes.get("order_id", ""))
        step = event.attributes.get("lifecycle", "")
        if waiting is None or step not in ("effect_observed", "rejected", "failed", "aborted"):
            return []
        order, proposal = waiting
        if event.attributes.get("effector_id") != order.effector_id:
            return []
        if self.trusted_gateways is not None and (
            fault := lifecycle_fault(event, self.trusted_gateways)
        ):
            refused = DeadLetter(
                time=time,
                source="lifecycle/effect-model",
                reason=fault,
                raw=to_json(event),
                releasability=event.releasability,
            )
            self.refused.append(refused)
            return [refused]
        del self._awaiting[order.order_id]
        if step != "effect_observed" or proposal.effect_class not in PROBABILITY_OF_EFFECT:
            summary = f"{order.effector_id} {order.action} on {order.track_id}: {step}"
            outcome = self._outcome(time, order, "cancelled", summary, "none", float("nan"))
        else:
            outcome = self._resolve(time, order, proposal, aim=event.position)
        self.outcomes.append(outcome)
        return [outcome]

    def _cancel(self, time: datetime, reason: str) -> list[Event]:
        cancelled = [
            self._outcome(time, order, "cancelled", reason, "none", float("nan"))
            for _, order, _ in self._pending
        ]
        self._pending = []
        self.outcomes.extend(cancelled)
        return cancelled

    def _resolve(
        self,
        effect_time: datetime,
        order: TaskOrder,
        proposal: Proposal,
        aim: GeoPoint | None = None,
    ) -> Event:
        aim = aim or proposal.target_position
        live = [truth for target_id, truth in self._truth.items() if target_id not in self.removals]
        nearest: TruthState | None = None
        miss_distance = float("inf")
        if live:
            distances = geodesic_distance_m(
                [aim.lat_deg] * len(live),
                [aim.lon_deg] * len(live),
                [t.position.lat_deg for t in live],
                [t.position.lon_deg for t in live],
            )
            index = int(distances.argmin())
            nearest, miss_distance = live[index], float(distances[index])
        stopped = (
            nearest is not None
            and miss_distance <= ENGAGEMENT_RADIUS_M
            and self._rng.random() < PROBABILITY_OF_EFFECT[proposal.effect_class]
        )
        if stopped and nearest is not None:
            self.removals[nearest.target_id] = effect_time.timestamp()
        outcome = "stopped" if stopped else "missed"
        target = nearest.target_id if nearest is not None else "none"
        summary = f"{order.effector_id} {order.action} on {order.track_id}: {outcome}"
        return self._outcome(effect_time, order, outcome, summary, target, miss_distance)

    @staticmethod
    def _outcome(
        time: datetime,
        order: TaskOrder,
        outcome: str,
        summary: str,
        target: str,
        miss_distance: float,
    ) -> Event:
        return Event(
            event_id=f"effect-{order.order_id}",
            time=time,
            source_id="effect-model",
            kind=EventKind.OBSERVATION,
            severity=6 if outcome == "stopped" else 4,
            summary=summary,
            subject_id=order.track_id,
            attributes={
                "outcome": outcome,
                "order_id": order.order_id,
                "effector_id": order.effector_id,
                "truth_target": target,
                "miss_distance_m": f"{miss_distance:.0f}",
            },
            releasability=order.releasability,
        )


def simulated_operators(seed: int) -> list[SimulatedOperator]:
    """An operator and a commander, so kinetic effects meet the two-person rule."""
    return [
        SimulatedOperator("sim.operator", OperatorRole.OPERATOR, reaction_time_s=20.0, seed=seed),
        SimulatedOperator(
            "sim.commander", OperatorRole.COMMANDER, reaction_time_s=35.0, seed=seed + 1
        ),
    ]
