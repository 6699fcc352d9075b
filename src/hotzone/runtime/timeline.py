"""The events of a run in time order, for the page's replay timeline (``/api/events``)
and the after-action report's timeline: one definition, so both mark the same events.

An event is something an operator would look for when going back in time: an alert raised,
a proposal made, a decision, an order, an engagement's outcome, GNSS jamming found, a cyber
event. Track updates and detections are not events (there are thousands).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from hotzone.runtime.engagements import Engagement
from hotzone.types import Alert, AnyMessage, Decision, Event, EventKind, Proposal, TaskOrder

#: The kinds of events, in the order a legend lists them.
EVENT_KINDS = ("alert", "proposal", "decision", "order", "engagement", "jamming", "cyber")

_EVENT_KINDS = {EventKind.JAMMING: "jamming", EventKind.CYBER_ALERT: "cyber"}
#: The assessor re-estimates a jamming area every few seconds while it lasts: an event is
#: the start of a spell (no jamming estimate in the minute before), not each estimate.
JAMMING_SPELL_GAP_S = 60.0


@dataclass(frozen=True)
class TimelineEvent:
    posix_time: float
    kind: str
    ident: str
    label: str
    track_id: str | None
    releasability: str

    @property
    def posix_time_text(self) -> str:
        return datetime.fromtimestamp(self.posix_time, UTC).strftime("%H:%M:%S")

    def view(self) -> dict[str, object]:
        """JSON-ready, for the page."""
        return {
            "time": self.posix_time,
            "kind": self.kind,
            "id": self.ident,
            "label": self.label,
            "track_id": self.track_id,
            "releasability": self.releasability,
        }


def timeline_events(
    messages: Iterable[AnyMessage], engagements: Iterable[Engagement] = ()
) -> list[TimelineEvent]:
    """The events among ``messages`` (each alert once, when raised), and each engagement's
    outcome, sorted by time. Orders should be the shown (verified, issued) ones only."""
    messages = list(messages)
    track_of = {m.content_hash: m.track_id for m in messages if isinstance(m, Proposal)}
    events: list[TimelineEvent] = []
    raised: set[str] = set()
    last_jamming = -float("inf")
    for message in messages:
        match message:
            case Alert() if message.alert_id not in raised:
                raised.add(message.alert_id)
                events.append(
                    TimelineEvent(
                        message.time.timestamp(),
                        "alert",
                        message.alert_id,
                        f"P{message.priority} {message.summary}",
                        message.track_id,
                        message.releasability,
                    )
                )
            case Proposal():
                events.append(
                    TimelineEvent(
                        message.time.timestamp(),
                        "proposal",
                        message.proposal_id,
                        f"proposal {message.action} by {message.effector_id}",
                        message.track_id,
                        message.releasability,
                    )
                )
            case Decision():
                events.append(
                    TimelineEvent(
                        message.time.timestamp(),
                        "decision",
                        message.decision_id,
                        f"{message.verdict} by {message.operator_id}",
                        track_of.get(message.proposal_hash),
                        message.releasability,
                    )
                )
            case TaskOrder():
                events.append(
                    TimelineEvent(
                        message.time.timestamp(),
                        "order",
                        message.order_id,
                        f"order {message.action} to {message.effector_id}",
                        message.track_id,
                        message.releasability,
                    )
                )
            case Event() if message.kind == EventKind.JAMMING:
                time = message.time.timestamp()
                starts_a_spell = time - last_jamming > JAMMING_SPELL_GAP_S
                last_jamming = max(last_jamming, time)
                if starts_a_spell:
                    events.append(
                        TimelineEvent(
                            time,
                            "jamming",
                            message.event_id,
                            message.summary,
                            message.subject_id,
                            message.releasability,
                        )
                    )
            case Event() if message.kind in _EVENT_KINDS:
                events.append(
                    TimelineEvent(
                        message.time.timestamp(),
                        _EVENT_KINDS[message.kind],
                        message.event_id,
                        message.summary,
                        message.subject_id,
                        message.releasability,
                    )
                )
            case _:
                pass
    for engagement in engagements:
        if engagement.effect is None:
            continue
        order = engagement.order
        events.append(
            TimelineEvent(
                engagement.effect.time.timestamp(),
                "engagement",
                order.order_id,
                f"{order.effector_id} → {order.track_id}: {engagement.outcome}",
                order.track_id,
                order.releasability,
            )
        )
    events.sort(key=lambda event: (event.posix_time, EVENT_KINDS.index(event.kind)))
    return events
