"""Engagements: each order c2 issued, from the decisions behind it to its outcome.

`EngagementBook` is fed a run's messages (live or replayed) and keeps, per order: the
proposal and track, the decisions that approved it, the effector and the interface that
carried it, each lifecycle step its gateway reported (docs/effectors.md) with its time,
and the outcome — the effect model's word in a simulated world (``stopped``, ``missed``,
``cancelled``), else the last settled step. The page (``/api/engagements``) and the
after-action report's engagement table read the same rows.

The book decides nothing: which orders it is given is the caller's choice (the page gives
only orders whose signature verifies); a lifecycle step for an order it was not given is
kept aside and used only once that order arrives. Given the trusted effector gateway keys
(``trusted_gateways``, as c2 has them), it shows only the lifecycle steps a trusted gateway
signed, as c2 believes only those: a step published on the bus by anyone else is counted
in ``refused_steps`` and shown nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotzone.types import AnyMessage, Decision, Event, GeoPoint, Proposal, TaskOrder, Verdict
from hotzone.types.signing import SIGNER_ATTRIBUTE, lifecycle_fault

EFFECTOR_SOURCE_PREFIX = "effectors-"
EFFECT_MODEL_SOURCE = "effect-model"
SETTLED = ("effect_observed", "rejected", "failed", "aborted")


@dataclass
class Engagement:
    order: TaskOrder
    proposal: Proposal | None = None
    decisions: list[Decision] = field(default_factory=list)
    steps: list[tuple[str, datetime, str]] = field(default_factory=list)
    """(lifecycle step, time, summary) as the gateway reported them, in arrival order."""
    interface: str = ""
    effect: Event | None = None

    @property
    def state(self) -> str:
        states = [step for step, _, _ in self.steps if step != "timeout"]
        return states[-1] if states else "ordered"

    @property
    def outcome(self) -> str:
        if self.effect is not None:
            return self.effect.attributes.get("outcome", "") or "reported"
        if self.state in SETTLED:
            return self.state
        return "open"

    @property
    def aim(self) -> GeoPoint | None:
        return self.proposal.target_position if self.proposal is not None else None

    def timeline(self) -> list[tuple[str, datetime]]:
        """Decision -> order -> each reported step -> outcome, with times, in time order."""
        rows: list[tuple[str, datetime]] = []
        approvals = [d for d in self.decisions if d.verdict is Verdict.APPROVE]
        rows += [(f"approved by {d.operator_id}", d.time) for d in approvals]
        rows.append(("ordered by c2", self.order.time))
        rows += [(step, time) for step, time, _ in self.steps]
        if self.effect is not None:
            rows.append((f"effect: {self.outcome}", self.effect.time))
        return rows

    def view(self) -> dict[str, Any]:
        """JSON-ready, for the page."""
        aim = self.aim
        return {
            "order_id": self.order.order_id,
            "proposal_id": self.proposal.proposal_id if self.proposal is not None else None,
            "track_id": self.order.track_id,
            "effector_id": self.order.effector_id,
            "action": self.order.action,
            "interface": self.interface or "effect model",
            "state": self.state,
            "outcome": self.outcome,
            "aim": None if aim is None else {"lat_deg": aim.lat_deg, "lon_deg": aim.lon_deg},
            "timeline": [{"step": s, "time": t.isoformat()} for s, t in self.timeline()],
            "releasability": self.order.releasability,
        }


@dataclass
class EngagementBook:
    engagements: dict[str, Engagement] = field(default_factory=dict)
    _proposals: dict[str, Proposal] = field(default_factory=dict)
    _decisions: dict[str, list[Decision]] = field(default_factory=dict)
    _early: dict[str, list[Event]] = field(default_factory=dict)
    _seen_events: set[str] = field(default_factory=set)
    #: Key id -> raw public key of the effector gateways whose lifecycle steps are shown;
    #: None shows every step (a recorded run read back without the installation's keys).
    trusted_gateways: Mapping[str, bytes] | None = None
    #: Why each lifecycle step left out was not believed.
    refused_steps: list[str] = field(default_factory=list)

    def take(self, message: AnyMessage) -> str | None:
        """Take one message; the order id of the engagement it changed, if any."""
        match message:
            case Proposal():
                self._proposals[message.content_hash] = message
                for engagement in self.engagements.values():
                    if engagement.order.proposal_hash == message.content_hash:
                        engagement.proposal = message
                        return engagement.order.order_id
            case Decision():
                self._decisions.setdefault(message.proposal_hash, []).append(message)
                for engagement in self.engagements.values():
                    if engagement.order.proposal_hash == message.proposal_hash:
                        engagement.decisions.append(message)
                        return engagement.order.order_id
            case TaskOrder():
                return self.take_order(message)
            case Event():
                return self._take_event(message)
            case _:
                pass
        return None

    def signer_unknown(self, event: Event) -> bool:
        """Whether ``event`` is a lifecycle step signed by a key this book does not trust
        yet (the caller may reload the trusted keys: a gateway enrolled since)."""
        return (
            self.trusted_gateways is not None
            and bool(event.attributes.get("lifecycle"))
            and event.attributes.get(SIGNER_ATTRIBUTE, "") not in self.trusted_gateways
        )

    def take_all(self, messages: Iterable[AnyMessage]) -> None:
        for message in messages:
            self.take(message)

    def take_order(self, order: TaskOrder) -> str | None:
        if order.order_id in self.engagements:
            return None
        engagement = Engagement(
            order,
            self._proposals.get(order.proposal_hash),
            [d for d in self._decisions.get(order.proposal_hash, []) if d.time <= order.time],
        )
        self.engagements[order.order_id] = engagement
        for event in self._early.pop(order.order_id, []):
            self._apply(engagement, event)
        return order.order_id

    def _take_event(self, event: Event) -> str | None:
        order_id = event.attributes.get("order_id", "")
        lifecycle = event.source_id.startswith(EFFECTOR_SOURCE_PREFIX) and bool(
            event.attributes.get("lifecycle")
        )
        if not order_id or not (lifecycle or event.source_id == EFFECT_MODEL_SOURCE):
            return None
        if event.event_id in self._seen_events:
            return None
        if lifecycle and self.trusted_gateways is not None:
            fault = lifecycle_fault(event, self.trusted_gateways)
            if fault is not None:
                self.refused_steps.append(fault)
                return None
        self._seen_events.add(event.event_id)
        engagement = self.engagements.get(order_id)
        if engagement is None:
            self._early.setdefault(order_id, []).append(event)
            return None
        self._apply(engagement, event)
        return order_id

    @staticmethod
    def _apply(engagement: Engagement, event: Event) -> None:
        if event.source_id == EFFECT_MODEL_SOURCE:
            engagement.effect = event
            return
        if event.attributes.get("effector_id") != engagement.order.effector_id:
            return  # a report about another effector's order: not this engagement's
        engagement.interface = event.attributes.get("interface", engagement.interface)
        engagement.steps.append((event.attributes["lifecycle"], event.time, event.summary))

    def rows(self) -> list[Engagement]:
        return sorted(self.engagements.values(), key=lambda e: e.order.time)
