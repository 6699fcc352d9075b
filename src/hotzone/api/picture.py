"""The picture the API serves: the latest state of everything, kept in memory.

`PictureState` is fed every message the run produces (replayed from the store at start,
then live from the bus or from the API's own writes) and answers the REST queries. Each
message it takes in becomes one *update* (a small JSON-ready dict with a ``key`` naming
what it updates, e.g. ``track:T12``), which the live stream sends to the browsers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from hotzone.share.symbols import sidc_for
from hotzone.types import (
    Alert,
    AnyMessage,
    Assessment,
    AuditRecord,
    Decision,
    Event,
    EventKind,
    Proposal,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    Track,
    TrackStatus,
)

#: Positions kept per track for trails and the history endpoint.
HISTORY_LENGTH = 600


def to_builtins(message: Any) -> dict[str, Any]:
    """A message as a JSON-ready dict (times as ISO strings, enums as strings)."""
    built: dict[str, Any] = msgspec.to_builtins(message)
    return built


@dataclass
class TrackEntry:
    track: Track
    history: deque[tuple[float, float, float, float]] = field(
        default_factory=lambda: deque(maxlen=HISTORY_LENGTH)
    )


@dataclass
class PictureState:
    """Latest tracks, assessments, alerts and c2 records of one run, by id."""

    tracks: dict[str, TrackEntry] = field(default_factory=dict)
    assessments: dict[str, Assessment] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    proposals: dict[str, Proposal] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    orders: list[TaskOrder] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    sensor_status: dict[str, Event] = field(default_factory=dict)
    clock: datetime | None = None
    messages_seen: int = 0
    #: Further updates one message caused (besides the one `ingest` returns).
    pending_updates: list[dict[str, Any]] = field(default_factory=list)

    def ingest(self, message: AnyMessage) -> dict[str, Any] | None:
        """Take one message in; returns the stream update it causes, if any."""
        self.messages_seen += 1
        time: datetime = message.time
        if self.clock is None or time > self.clock:
            self.clock = time
        match message:
            case Track():
                return self._ingest_track(message)
            case Assessment():
                self.assessments[message.track_id] = message
                entry = self.tracks.get(message.track_id)
                return None if entry is None else self.track_update(entry)
            case Alert():
                self.alerts[message.alert_id] = message
                return self._update("alert", message.alert_id, message, to_builtins(message))
            case Proposal():
                self.proposals[message.proposal_id] = message
                return self._update(
                    "proposal", message.proposal_id, message, self.proposal_view(message)
                )
            case Decision():
                self.decisions.append(message)
                proposal = self.proposal_by_hash(message.proposal_hash)
                if proposal is None:
                    return self._update("decision", message.decision_id, message, None)
                return self._update(
                    "proposal", proposal.proposal_id, proposal, self.proposal_view(proposal)
                )
            case TaskOrder():
                self.orders.append(message)
                # The order settles its proposal: browsers get the proposal's new state.
                ordered = self.proposal_by_hash(message.proposal_hash)
                if ordered is not None:
                    self.pending_updates.append(
                        self._update(
                            "proposal", ordered.proposal_id, ordered, self.proposal_view(ordered)
                        )
                    )
                return self._update("order", message.order_id, message, to_builtins(message))
            case AuditRecord():
                self.audit.append(message)
                return self._update("audit", str(message.sequence), message, to_builtins(message))
            case Event() if message.kind == EventKind.SENSOR_STATUS:
                self.sensor_status[message.source_id] = message
                return self._update("sensor", message.source_id, message, to_builtins(message))
            case _:
                return None

    def ingest_all(self, messages: Iterable[AnyMessage]) -> None:
        for message in messages:
            self.ingest(message)

    def _ingest_track(self, track: Track) -> dict[str, Any]:
        entry = self.tracks.get(track.track_id)
        if entry is None:
            entry = self.tracks[track.track_id] = TrackEntry(track)
        entry.track = track
        point = (
            track.time.timestamp(),
            track.position.lat_deg,
            track.position.lon_deg,
            track.position.height_m,
        )
        entry.history.append(point)
        return self.track_update(entry)

    @staticmethod
    def _update(kind: str, ident: str, message: Any, data: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "key": f"{kind}:{ident}",
            "kind": kind,
            "releasability": message.releasability,
            "data": data if data is not None else to_builtins(message),
        }

    def track_update(self, entry: TrackEntry) -> dict[str, Any]:
        return self._update("track", entry.track.track_id, entry.track, self.track_view(entry))

    def track_view(self, entry: TrackEntry) -> dict[str, Any]:
        """A track as the map draws it: position, symbol code, label fields."""
        track = entry.track
        assessment = self.assessments.get(track.track_id)
        target_class = assessment.target_class if assessment else TargetClass.UNKNOWN
        identity = assessment.standard_identity if assessment else StandardIdentity.PENDING
        east, north, up = track.enu_velocity_mps
        course = math.degrees(math.atan2(east, north)) % 360.0
        return {
            "track_id": track.track_id,
            "track_number": track.track_number,
            "time": track.time.isoformat(),
            "status": track.status.value,
            "lat_deg": track.position.lat_deg,
            "lon_deg": track.position.lon_deg,
            "altitude_m": track.position.height_m,
            "speed_mps": math.hypot(east, north),
            "vertical_rate_mps": up,
            "course_deg": course,
            "quality": track.quality,
            "sensors": list(track.sensors),
            "callsign": track.callsign,
            "target_class": target_class.value,
            "standard_identity": identity.value,
            "threat_score": assessment.threat_score if assessment else None,
            "sidc": sidc_for(target_class, identity),
            "releasability": track.releasability,
        }

    def proposal_by_hash(self, content_hash: str) -> Proposal | None:
        for proposal in self.proposals.values():
            if proposal.content_hash == content_hash:
                return proposal
        return None

    def decisions_for(self, proposal: Proposal) -> list[Decision]:
        return [d for d in self.decisions if d.proposal_hash == proposal.content_hash]

    def orders_for(self, proposal: Proposal) -> list[TaskOrder]:
        return [o for o in self.orders if o.proposal_hash == proposal.content_hash]

    def proposal_state(self, proposal: Proposal) -> str:
        """open, partially_approved, approved (ordered), rejected or expired."""
        decisions = self.decisions_for(proposal)
        if any(d.verdict == "reject" for d in decisions):
            return "rejected"
        if self.orders_for(proposal):
            return "approved"
        if self.clock is not None and self.clock >= proposal.expires_at:
            return "expired"
        return "partially_approved" if decisions else "open"

    def proposal_view(self, proposal: Proposal) -> dict[str, Any]:
        view: dict[str, Any] = to_builtins(proposal)
        view["state"] = self.proposal_state(proposal)
        view["decisions"] = [to_builtins(d) for d in self.decisions_for(proposal)]
        view["orders"] = [to_builtins(o) for o in self.orders_for(proposal)]
        view["approvals_needed"] = 2 if proposal.effect_class == "kinetic" else 1
        if self.clock is not None:
            view["time_to_effect_s"] = (proposal.effect_window_start - self.clock).total_seconds()
        return view

    def tracks_at(self, posix_time: float) -> list[dict[str, Any]]:
        """Every track's last position at or before ``posix_time`` (the replay slider)."""
        positions = []
        for entry in self.tracks.values():
            past = [point for point in entry.history if point[0] <= posix_time]
            if not past or posix_time - past[-1][0] > 30.0:
                continue  # not yet born, or gone by then
            _, lat, lon, height = past[-1]
            view = self.track_view(entry)
            view.update(lat_deg=lat, lon_deg=lon, altitude_m=height, status="confirmed")
            positions.append(view)
        return positions

    def confirmed_tracks(self) -> list[TrackEntry]:
        return [e for e in self.tracks.values() if e.track.status == TrackStatus.CONFIRMED]
