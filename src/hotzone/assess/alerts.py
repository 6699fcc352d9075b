"""Alerts with deduplication, escalation and operator acknowledgement.

One alert exists per *key* (kind, track, asset). Raising the same key again updates it
silently unless its priority rises (escalation: time to go shrank past a threshold),
which re-issues it, re-opened even if it had been acknowledged. Acknowledging records who
and when; closing happens when the condition ends (the track is gone, the threat passed).
A condition measured on noisy tracks wobbles at its edge (a drone's straight-line course
grazes an asset's radius, in, out, in again), so `clear` closes an alert only once its
condition has been absent for ``clear_after_s`` without a break: hysteresis, so the
operator sees one alert per threat, not one per wobble.
Every emitted `Alert` is a new message with the same ``alert_id``: the bus carries the
alert's history, the manager holds its current state. Each alert carries the label of
what raised it (the caller's ``releasability``, never wider than the manager's own); a
refresh that keeps the earlier reasons or position keeps their label too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from msgspec.structs import replace

from hotzone.types import Alert, AlertState, GeoPoint
from hotzone.types.labels import most_restrictive

# Time-to-go thresholds (s) and the priority reached under each: 1 is most urgent.
ESCALATION_STEPS: tuple[tuple[float, int], ...] = ((120.0, 1), (300.0, 2), (900.0, 3))


class AlertError(ValueError):
    """An acknowledgement of an alert that does not exist or is closed."""


def priority_for_time_to_go(time_to_go_s: float, default: int = 4) -> int:
    for limit, priority in ESCALATION_STEPS:
        if time_to_go_s <= limit:
            return priority
    return default


@dataclass(frozen=True)
class AlertKey:
    kind: str
    track_id: str | None = None
    subject: str | None = None

    def identifier(self) -> str:
        return ":".join(part for part in (self.kind, self.track_id, self.subject) if part)


class AlertManager:
    """The open alerts and their state; `raise_alert` returns what must be published."""

    def __init__(self, releasability: str = "NATO", clear_after_s: float = 0.0) -> None:
        if not clear_after_s >= 0.0:
            raise ValueError(f"clear_after_s must be zero or more seconds, got {clear_after_s}")
        self.releasability = releasability
        self.clear_after_s = clear_after_s
        """How long an alert's condition must stay absent before `clear` closes it."""
        self.alerts: dict[AlertKey, Alert] = {}
        self._absent_since: dict[AlertKey, datetime] = {}

    def raise_alert(
        self,
        key: AlertKey,
        time: datetime,
        priority: int,
        summary: str,
        reasons: tuple[str, ...] = (),
        position: GeoPoint | None = None,
        releasability: str | None = None,
    ) -> Alert | None:
        """The alert to publish, or None when it is a duplicate of the current one.

        ``releasability`` is the label of what raised it (the manager's own if None)."""
        label = most_restrictive(
            [] if releasability is None else [releasability], self.releasability
        )
        # The condition is present again: a pending clear is forgotten.
        self._absent_since.pop(key, None)
        current = self.alerts.get(key)
        if current is not None and current.state != AlertState.CLOSED:
            if priority >= current.priority:
                # Same or lower urgency: keep the record fresh, publish nothing.
                kept = not (position and reasons)
                self.alerts[key] = replace(
                    current,
                    time=time,
                    position=position or current.position,
                    reasons=reasons or current.reasons,
                    releasability=most_restrictive([current.releasability], label)
                    if kept
                    else label,
                )
                return None
            escalated = replace(
                current,
                time=time,
                priority=priority,
                summary=summary,
                reasons=(*reasons, f"escalated from priority {current.priority} to {priority}"),
                position=position,
                state=AlertState.OPEN,
                acknowledged_by=None,
                acknowledged_at=None,
                releasability=label,
            )
            self.alerts[key] = escalated
            return escalated
        alert = Alert(
            alert_id=key.identifier(),
            time=time,
            kind=key.kind,
            summary=summary,
            priority=priority,
            track_id=key.track_id,
            position=position,
            reasons=reasons,
            releasability=label,
        )
        self.alerts[key] = alert
        return alert

    def acknowledge(self, alert_id: str, operator_id: str, time: datetime) -> Alert:
        """Record an operator's acknowledgement; returns the acknowledged alert to publish."""
        for key, alert in self.alerts.items():
            if alert.alert_id == alert_id:
                if alert.state == AlertState.CLOSED:
                    raise AlertError(f"alert {alert_id} is closed and cannot be acknowledged")
                acknowledged = replace(
                    alert,
                    state=AlertState.ACKNOWLEDGED,
                    acknowledged_by=operator_id,
                    acknowledged_at=time,
                )
                self.alerts[key] = acknowledged
                return acknowledged
        raise AlertError(f"no alert {alert_id!r}")

    def clear(self, key: AlertKey, time: datetime, reason: str) -> Alert | None:
        """The alert's condition is absent at ``time``: the closed alert once it has been
        absent for ``clear_after_s`` without a break, else None (still open)."""
        alert = self.alerts.get(key)
        if alert is None or alert.state == AlertState.CLOSED:
            self._absent_since.pop(key, None)
            return None
        since = self._absent_since.setdefault(key, time)
        if time - since < timedelta(seconds=self.clear_after_s):
            return None
        held = f" for {(time - since).total_seconds():.0f} s" if self.clear_after_s else ""
        return self.close(key, time, reason + held)

    def close(self, key: AlertKey, time: datetime, reason: str) -> Alert | None:
        """Close at once (the track is gone): no hysteresis."""
        self._absent_since.pop(key, None)
        alert = self.alerts.get(key)
        if alert is None or alert.state == AlertState.CLOSED:
            return None
        closed = replace(
            alert, time=time, state=AlertState.CLOSED, reasons=(*alert.reasons, reason)
        )
        self.alerts[key] = closed
        return closed

    def open_keys(self, track_id: str | None = None) -> list[AlertKey]:
        return [
            key
            for key, alert in self.alerts.items()
            if alert.state != AlertState.CLOSED and (track_id is None or key.track_id == track_id)
        ]
