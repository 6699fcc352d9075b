"""The picture the API serves: the latest state of everything, kept in memory.

`PictureState` is fed every message the run produces (replayed from the store at start,
then live from the bus) and answers the REST queries. Each message it takes in becomes
one *update* (a small JSON-ready dict with a ``key`` naming what it updates, e.g.
``track:T12``), which the live stream sends to the browsers.

The picture decides nothing: a proposal's state, its approvals and what it still waits for
are what c2 published last (`ProposalStatus`), the abort state is c2's `C2State`, and a
task order is shown only when its signature verifies against the trusted c2 node keys
(an order that does not is counted in ``refused_orders`` and never shown).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from hotzone.runtime.engagements import EngagementBook
from hotzone.share.symbols import sidc_for
from hotzone.types import (
    Alert,
    AnyMessage,
    Assessment,
    AuditRecord,
    C2State,
    Decision,
    DecisionOutcome,
    Event,
    EventKind,
    Proposal,
    ProposalStatus,
    StandardIdentity,
    TargetClass,
    TaskOrder,
    Track,
    TrackStatus,
)
from hotzone.types.allied import contributing_nations, split_origin
from hotzone.types.signing import order_fault

#: Positions kept per track for trails and the history endpoint.
HISTORY_LENGTH = 600
#: ``source_id`` of the effect model's reports (`hotzone.sim.effects`).
EFFECT_MODEL = "effect-model"


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
    statuses: dict[str, ProposalStatus] = field(default_factory=dict)
    outcomes: dict[str, DecisionOutcome] = field(default_factory=dict)
    c2_state: C2State | None = None
    #: The c2 node keys whose orders are shown, by key id (the nation's configuration).
    trusted_issuers: dict[str, bytes] = field(default_factory=dict)
    refused_orders: list[tuple[TaskOrder, str]] = field(default_factory=list)
    sensor_status: dict[str, Event] = field(default_factory=dict)
    #: What the effect model (an exercise or simulation) reported of each order, by order id.
    effects: dict[str, Event] = field(default_factory=dict)
    #: Each shown order from its decisions to its outcome (``/api/engagements``).
    engagements: EngagementBook = field(default_factory=EngagementBook)
    clock: datetime | None = None
    messages_seen: int = 0
    #: The picture's own nation: alliance tracks name its tracks ``{nation}:{id}``.
    nation: str = ""
    #: The national tracks (picture ids) that a live alliance track stands for, and which.
    fused_into: dict[str, str] = field(default_factory=dict)
    #: Each live alliance track's national tracks (picture ids).
    alliance_members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Further updates one message caused (besides the one `ingest` returns).
    pending_updates: list[dict[str, Any]] = field(default_factory=list)
    #: For replay: every version of every alert and c2 status in order of arrival, and each
    #: track's class and identity whenever they changed (time, class, identity, threat).
    alert_log: list[Alert] = field(default_factory=list)
    status_log: list[ProposalStatus] = field(default_factory=list)
    class_history: dict[str, list[tuple[float, str, str, float]]] = field(default_factory=dict)
    #: For the timeline (``/api/events``): GNSS-jamming and cyber events, as they came.
    event_log: list[Event] = field(default_factory=list)

    def ingest(self, message: AnyMessage) -> dict[str, Any] | None:
        """Take one message in; returns the stream update it causes, if any."""
        self.messages_seen += 1
        time: datetime = message.time
        if self.clock is None or time > self.clock:
            self.clock = time
        if isinstance(message, Proposal | Decision | Event):
            self._engagement_changed(self.engagements.take(message))
        match message:
            case Track():
                return self._ingest_track(message)
            case Assessment():
                self.assessments[message.track_id] = message
                self._remember_class(message)
                entry = self.tracks.get(message.track_id)
                return None if entry is None else self.track_update(entry)
            case Alert():
                self.alerts[message.alert_id] = message
                self.alert_log.append(message)
                return self._update("alert", message.alert_id, message, to_builtins(message))
            case Proposal():
                self.proposals[message.proposal_id] = message
                return self._update(
                    "proposal", message.proposal_id, message, self.proposal_view(message)
                )
            case Decision():
                self.decisions.append(message)
                return self._proposal_update(message.proposal_hash)
            case ProposalStatus():
                self.statuses[message.proposal_hash] = message
                self.status_log.append(message)
                return self._proposal_update(message.proposal_hash)
            case DecisionOutcome():
                self.outcomes[message.decision_id] = message
                return self._update("outcome", message.decision_id, message, None)
            case C2State():
                self.c2_state = message
                return self._update("c2", message.nation, message, None)
            case TaskOrder():
                fault = self.order_fault(message)
                if fault is not None:
                    self.refused_orders.append((message, fault))
                    return None
                self.orders.append(message)
                self._engagement_changed(self.engagements.take_order(message))
                # The order settles its proposal: browsers get the proposal's new state.
                update = self._proposal_update(message.proposal_hash)
                if update is not None:
                    self.pending_updates.append(update)
                return self._update("order", message.order_id, message, to_builtins(message))
            case AuditRecord():
                self.audit.append(message)
                return self._update("audit", str(message.sequence), message, to_builtins(message))
            case Event() if message.kind == EventKind.SENSOR_STATUS:
                self.sensor_status[message.source_id] = message
                return self._update("sensor", message.source_id, message, to_builtins(message))
            case Event() if message.source_id == EFFECT_MODEL and "order_id" in message.attributes:
                # The effect of an order, shown on its proposal.
                order_id = message.attributes["order_id"]
                self.effects[order_id] = message
                for order in self.orders:
                    if order.order_id == order_id:
                        return self._proposal_update(order.proposal_hash)
                return None
            case Event() if message.kind in (EventKind.JAMMING, EventKind.CYBER_ALERT):
                self.event_log.append(message)
                return None
            case _:
                return None

    def _engagement_changed(self, order_id: str | None) -> None:
        engagement = self.engagements.engagements.get(order_id or "")
        if engagement is not None:
            self.pending_updates.append(
                self._update(
                    "engagement", engagement.order.order_id, engagement.order, engagement.view()
                )
            )

    def order_fault(self, order: TaskOrder) -> str | None:
        """Why ``order`` is not shown: a bad or untrusted signature, or a replayed id."""
        fault = order_fault(order, self.trusted_issuers)
        if fault is None and any(o.order_id == order.order_id for o in self.orders):
            fault = f"order {order.order_id} was received before: a replay"
        return fault

    def _proposal_update(self, content_hash: str) -> dict[str, Any] | None:
        proposal = self.proposal_by_hash(content_hash)
        if proposal is None:
            return None
        return self._update(
            "proposal", proposal.proposal_id, proposal, self.proposal_view(proposal)
        )

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
        if track.contributions and split_origin(track.track_id)[0] is None:
            self._follow_alliance_track(track)  # the nation's own alliance tracks only
        return self.track_update(entry)

    def picture_id(self, name: str) -> str:
        """An alliance track's contribution (``LT:suwalki-1``) as the picture names that
        track: an own one by its id, an ally's ``PL:suwalki-1``."""
        origin, track_id = split_origin(name)
        return track_id if origin == self.nation else name

    def _follow_alliance_track(self, track: Track) -> None:
        """Which national tracks an alliance track stands for now; those that join or
        leave it are sent again, with their new ``fused_into``."""
        alliance_id = track.track_id
        members = (
            ()
            if track.status == TrackStatus.DELETED
            else tuple(self.picture_id(name) for name in track.contributions)
        )
        before = self.alliance_members.pop(alliance_id, ())
        if members:
            self.alliance_members[alliance_id] = members
        for member in set(before) - set(members):
            if self.fused_into.get(member) == alliance_id:
                del self.fused_into[member]
        for member in members:
            self.fused_into[member] = alliance_id
        for member in set(before) ^ set(members):
            if (entry := self.tracks.get(member)) is not None:
                self.pending_updates.append(self.track_update(entry))

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
        assessment = self.assessments.get(track.track_id) or self._assessed_as(track)
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
            "icao24": track.icao24,
            "mmsi": track.mmsi,
            "target_class": target_class.value,
            "standard_identity": identity.value,
            "threat_score": assessment.threat_score if assessment else None,
            "sidc": sidc_for(target_class, identity),
            # The 95 % horizontal position ellipse, for the map's ellipse layer.
            "ellipse": uncertainty_ellipse(track.covariance),
            "releasability": track.releasability,
            # Whose picture it is: an alliance track's contributing nations and national
            # tracks (as the picture names them); a national track's nation, and the
            # alliance track that stands for it, if any (the page draws that one).
            "nations": self.nations_of(track),
            "contributions": [self.picture_id(name) for name in track.contributions],
            "fused_into": self.fused_into.get(track.track_id),
        }

    def nations_of(self, track: Track) -> list[str]:
        if track.contributions:
            return contributing_nations(track)
        origin, _ = split_origin(track.track_id)
        nation = origin or self.nation
        return [nation] if nation else []

    def _assessed_as(self, track: Track) -> Assessment | None:
        """An alliance track is what its contributions were assessed to be: the own
        nation's assessment first (ids without an origin sort first), else an ally's."""
        names = sorted(
            (self.picture_id(name) for name in track.contributions),
            key=lambda name: split_origin(name)[0] is not None,
        )
        for name in names:
            if (assessment := self.assessments.get(name)) is not None:
                return assessment
        return None

    def track_details(self, entry: TrackEntry) -> dict[str, Any]:
        """What the page's details panel shows of a hooked track: its view, the
        assessment's class probabilities and reasons, the position's uncertainty ellipse
        and the history of altitude and speed. Linked alerts, proposals and orders are
        added by the caller, which filters them by releasability."""
        track = entry.track
        assessment = self.assessments.get(track.track_id)
        details = self.track_view(entry)
        details["class_probabilities"] = dict(assessment.class_probabilities) if assessment else {}
        details["reasons"] = list(assessment.reasons) if assessment else []
        details["model_version"] = assessment.model_version if assessment else ""
        details["sector"] = track.sector
        details["ellipse"] = uncertainty_ellipse(track.covariance)
        details["history"] = history_with_speed(entry.history)
        return details

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
        """c2's word on the proposal (pending, ordered, rejected, expired, void, cancelled,
        roe_failed); ``expired`` also once its expiry passed on the picture's clock."""
        status = self.statuses.get(proposal.content_hash)
        state = status.state if status is not None else "pending"
        if state == "pending" and self.clock is not None and self.clock >= proposal.expires_at:
            return "expired"
        return state

    def proposal_view(self, proposal: Proposal) -> dict[str, Any]:
        view: dict[str, Any] = to_builtins(proposal)
        status = self.statuses.get(proposal.content_hash)
        state = self.proposal_state(proposal)
        view["state"] = state
        view["decisions"] = [
            {**to_builtins(d), "outcome": self._outcome_view(d.decision_id)}
            for d in self.decisions_for(proposal)
        ]
        view["orders"] = [to_builtins(o) for o in self.orders_for(proposal)]
        view["effects"] = [
            {
                "order_id": effect.attributes["order_id"],
                "outcome": effect.attributes.get("outcome", ""),
                "summary": effect.summary,
                "time": effect.time.isoformat(),
            }
            for order in self.orders_for(proposal)
            if (effect := self.effects.get(order.order_id)) is not None
        ]
        view["approvals"] = list(status.approvals) if status else []
        view["approvals_needed"] = status.approvals_needed if status else None
        view["commander_needed"] = status.commander_needed if status else None
        view["missing"] = status.missing if status else "awaiting c2"
        view["refusals"] = list(status.refusals) if status else []
        view["failed_rules"] = [c.rule for c in proposal.roe_checks if not c.passed]
        view["group"] = f"{proposal.track_id}|{proposal.effector_id}"
        aborted = self.c2_state is not None and self.c2_state.abort_active
        view["decidable"] = state == "pending" and not view["failed_rules"] and not aborted
        if self.clock is not None:
            view["time_to_effect_s"] = (proposal.effect_window_start - self.clock).total_seconds()
            view["expires_in_s"] = (proposal.expires_at - self.clock).total_seconds()
        return view

    def _outcome_view(self, decision_id: str) -> dict[str, Any] | None:
        outcome = self.outcomes.get(decision_id)
        if outcome is None:
            return None
        return {"accepted": outcome.accepted, "code": outcome.code, "reason": outcome.reason}

    def _remember_class(self, assessment: Assessment) -> None:
        history = self.class_history.setdefault(assessment.track_id, [])
        now = (
            assessment.time.timestamp(),
            assessment.target_class.value,
            assessment.standard_identity.value,
            assessment.threat_score,
        )
        if history and history[-1][1:3] == now[1:3]:
            return  # the same class and identity: only changes are kept
        history.append(now)

    def class_at(self, track_id: str, posix_time: float) -> tuple[str, str, float | None]:
        """The class, identity and threat score a track had at ``posix_time``."""
        known = [c for c in self.class_history.get(track_id, ()) if c[0] <= posix_time]
        if not known:
            return TargetClass.UNKNOWN.value, StandardIdentity.PENDING.value, None
        _, target_class, identity, threat = known[-1]
        return target_class, identity, threat

    def tracks_at(self, posix_time: float, trail_points: int = 0) -> list[dict[str, Any]]:
        """Every track's last position at or before ``posix_time`` (the replay slider),
        with the class and identity it had then and, with ``trail_points``, its trail."""
        positions = []
        for entry in self.tracks.values():
            past = [point for point in entry.history if point[0] <= posix_time]
            if not past or posix_time - past[-1][0] > 30.0:
                continue  # not yet born, or gone by then
            time, lat, lon, height = past[-1]
            view = self.track_view(entry)
            target_class, identity, threat = self.class_at(entry.track.track_id, posix_time)
            view.update(
                lat_deg=lat,
                lon_deg=lon,
                altitude_m=height,
                status="confirmed",
                time=datetime.fromtimestamp(time, UTC).isoformat(),
                target_class=target_class,
                standard_identity=identity,
                threat_score=threat,
                sidc=sidc_for(TargetClass(target_class), StandardIdentity(identity)),
            )
            if trail_points:
                view["trail"] = [[p[2], p[1]] for p in past[-trail_points:]]
            positions.append(view)
        return positions

    def alerts_at(self, posix_time: float) -> list[Alert]:
        """Each alert as it stood at ``posix_time`` (raised by then)."""
        latest: dict[str, Alert] = {}
        for alert in self.alert_log:
            if alert.time.timestamp() <= posix_time:
                latest[alert.alert_id] = alert
        return list(latest.values())

    def proposal_view_at(self, proposal: Proposal, posix_time: float) -> dict[str, Any]:
        """A proposal as c2 had left it at ``posix_time``: its state, approvals, orders and
        effects by then, and its countdowns from then. Never decidable (a replay)."""
        at = datetime.fromtimestamp(posix_time, UTC)
        view = self.proposal_view(proposal)
        statuses = [
            s for s in self.status_log if s.proposal_hash == proposal.content_hash and s.time <= at
        ]
        status = statuses[-1] if statuses else None
        state = status.state if status is not None else "pending"
        if state == "pending" and at >= proposal.expires_at:
            state = "expired"
        view["state"] = state
        view["approvals"] = list(status.approvals) if status else []
        view["missing"] = status.missing if status else "awaiting c2"
        view["refusals"] = list(status.refusals) if status else []
        view["orders"] = [o for o in view["orders"] if _iso_time(o["time"]) <= at]
        view["effects"] = [e for e in view["effects"] if _iso_time(e["time"]) <= at]
        view["decisions"] = [d for d in view["decisions"] if _iso_time(d["time"]) <= at]
        view["decidable"] = False
        view["time_to_effect_s"] = (proposal.effect_window_start - at).total_seconds()
        view["expires_in_s"] = (proposal.expires_at - at).total_seconds()
        return view

    def confirmed_tracks(self) -> list[TrackEntry]:
        return [e for e in self.tracks.values() if e.track.status == TrackStatus.CONFIRMED]


#: Scale of a 2-D Gaussian's 1-sigma ellipse to hold 95 % of it: sqrt(chi2(2 dof, 0.95)).
ELLIPSE_95_SCALE = math.sqrt(5.991)


def uncertainty_ellipse(covariance: Any) -> dict[str, float] | None:
    """The 95 % horizontal position ellipse of a track's ENU covariance (its east/north
    block): semi-axes in metres and the major axis' bearing in degrees from north."""
    try:
        east_east = float(covariance[0][0])
        north_north = float(covariance[1][1])
        east_north = float(covariance[0][1])
    except (IndexError, TypeError, ValueError):
        return None
    half_trace = (east_east + north_north) / 2.0
    spread = math.hypot((east_east - north_north) / 2.0, east_north)
    major, minor = half_trace + spread, max(half_trace - spread, 0.0)
    if not (math.isfinite(major) and major >= 0.0):
        return None
    # Angle of the major axis from east, counter-clockwise, as a bearing from north.
    from_east = 0.5 * math.atan2(2.0 * east_north, east_east - north_north)
    return {
        "semi_major_m": ELLIPSE_95_SCALE * math.sqrt(major),
        "semi_minor_m": ELLIPSE_95_SCALE * math.sqrt(minor),
        "bearing_deg": (90.0 - math.degrees(from_east)) % 180.0,
    }


def history_with_speed(
    history: Iterable[tuple[float, float, float, float]],
) -> list[dict[str, float | None]]:
    """Time, altitude and ground speed (from successive positions, on a local flat earth:
    plenty over a few seconds) of a track's kept positions."""
    points: list[dict[str, float | None]] = []
    previous: tuple[float, float, float, float] | None = None
    for time, lat, lon, height in history:
        speed: float | None = None
        if previous is not None and time > previous[0]:
            north = math.radians(lat - previous[1]) * 6_371_000.0
            east = math.radians(lon - previous[2]) * 6_371_000.0 * math.cos(math.radians(lat))
            speed = math.hypot(north, east) / (time - previous[0])
        points.append({"time": time, "altitude_m": height, "speed_mps": speed})
        previous = (time, lat, lon, height)
    return points


def _iso_time(value: Any) -> datetime:
    """A time of a message turned to builtins (an ISO string) as a datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
