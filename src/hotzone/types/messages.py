"""The messages that travel between stages (docs/formats.md).

Every message is a frozen ``msgspec.Struct`` tagged with a ``"type"`` field, so one JSON
Lines file or one bus subject can carry any of them and decode back to the right class.
Times are timezone-aware UTC; units are in the field names (``_m``, ``_deg``, ``_mps``).
Every message carries a releasability label that decides who may receive it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, get_args

import msgspec

from hotzone.types.enums import (
    AlertState,
    EffectClass,
    EventKind,
    MeasurementKind,
    OperatorRole,
    ReportSource,
    StandardIdentity,
    TargetClass,
    TrackStatus,
    Verdict,
)

RELEASABILITY_PATTERN = r"^(NATO|REL( [A-Z]{2,3})+|NATIONAL [A-Z]{2,3})$"
_RELEASABILITY_RE = re.compile(RELEASABILITY_PATTERN)

UtcTime = Annotated[datetime, msgspec.Meta(tz=True, description="timezone-aware UTC time")]
Releasability = Annotated[
    str,
    msgspec.Meta(
        pattern=RELEASABILITY_PATTERN,
        description="who may receive this: NATO, 'REL PL LT' or 'NATIONAL PL'",
        examples=["NATO", "REL PL LT", "NATIONAL PL"],
    ),
]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0, description="WGS-84 degrees")]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0, description="WGS-84 degrees")]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Matrix = tuple[tuple[float, ...], ...]


class MessageError(ValueError):
    """A message that breaks an invariant the schema alone cannot express."""


class Message(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    """Base of every bus message: checks the invariants shared by all of them."""

    releasability: Releasability = "NATO"

    def __post_init__(self) -> None:
        # Construction in Python skips msgspec's decode-time validation, so the two
        # invariants every consumer relies on are checked here as well.
        if not _RELEASABILITY_RE.match(self.releasability):
            raise MessageError(f"releasability {self.releasability!r} is not a known label")
        for name in _time_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, datetime) and value.utcoffset() is None:
                raise MessageError(f"{type(self).__name__}.{name} must be timezone-aware")


_TIME_FIELDS: dict[type[Message], tuple[str, ...]] = {}


def _time_fields(message_type: type[Message]) -> tuple[str, ...]:
    """The fields of ``message_type`` whose type admits a datetime, found once per type:
    every message is checked on every decode (looking at all of a Track's 18 fields was
    two thirds of decoding one)."""
    fields = _TIME_FIELDS.get(message_type)
    if fields is None:
        fields = tuple(
            field.name
            for field in msgspec.structs.fields(message_type)
            if _admits_datetime(field.type)
        )
        _TIME_FIELDS[message_type] = fields
    return fields


def _admits_datetime(annotation: object) -> bool:
    return annotation is datetime or any(_admits_datetime(a) for a in get_args(annotation))


class GeoPoint(msgspec.Struct, frozen=True):
    """A WGS-84 position."""

    lat_deg: Latitude
    lon_deg: Longitude
    height_m: float = 0.0


class Detection(Message, frozen=True, tag="detection", kw_only=True):
    """One measurement of a non-cooperative sensor.

    ``values`` and ``covariance`` are in the units of ``kind`` (see `MeasurementKind`),
    measured from ``sensor_position``.
    """

    detection_id: str
    time: UtcTime
    sensor_id: str
    kind: MeasurementKind
    values: tuple[float, ...]
    covariance: Matrix
    sensor_position: GeoPoint
    sector: str = ""
    doppler_mps: float | None = None
    rcs_dbsm: float | None = None
    snr_db: float | None = None
    class_hint: TargetClass | None = None
    class_confidence: Probability | None = None
    received_at: UtcTime | None = None
    # Secondary-radar identity of the plot (Mode S address, Mode 3/A code, callsign), when
    # the sensor gives it: lets fusion tie a radar plot to its transponder's reports.
    icao24: str | None = None
    squawk: str | None = None
    callsign: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        size = len(self.values)
        if len(self.covariance) != size or any(len(row) != size for row in self.covariance):
            raise MessageError(
                f"Detection {self.detection_id}: covariance must be {size}x{size} "
                f"to match {size} values"
            )


class Report(Message, frozen=True, tag="report", kw_only=True):
    """A cooperative or already-tracked object: ADS-B, AIS, CoT, SAPIENT, GMTI, system track."""

    report_id: str
    time: UtcTime
    source_id: str
    source: ReportSource
    position: GeoPoint
    horizontal_sigma_m: float
    vertical_sigma_m: float | None = None
    velocity_enu_mps: tuple[float, float, float] | None = None
    icao24: str | None = None
    mmsi: int | None = None
    callsign: str | None = None
    uid: str | None = None
    squawk: str | None = None
    nic: int | None = None
    nacp: int | None = None
    nucp: int | None = None
    sil: int | None = None
    #: What the feed says of the object: on the ground (True), airborne (False), or
    #: nothing (None). SBS "is on ground", ADS-B surface positions, readsb ``"ground"``,
    #: ASTERIX CAT021's ground bit.
    on_ground: bool | None = None
    class_hint: TargetClass | None = None
    claimed_identity: StandardIdentity | None = None
    sector: str = ""
    received_at: UtcTime | None = None


class Event(Message, frozen=True, tag="event", kw_only=True):
    """A non-kinematic observation: cyber alert, launch, sensor status, jamming, proximity."""

    event_id: str
    time: UtcTime
    source_id: str
    kind: EventKind
    severity: Annotated[int, msgspec.Meta(ge=0, le=10)]
    summary: str
    position: GeoPoint | None = None
    subject_id: str | None = None
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


class Track(Message, frozen=True, tag="track", kw_only=True):
    """A fused track: state in WGS-84 and the sector's local ENU frame."""

    track_id: str
    track_number: int
    time: UtcTime
    status: TrackStatus
    position: GeoPoint
    sector: str
    enu_position_m: tuple[float, float, float]
    enu_velocity_mps: tuple[float, float, float]
    covariance: Matrix
    quality: Probability
    sensors: tuple[str, ...] = ()
    icao24: str | None = None
    mmsi: int | None = None
    callsign: str | None = None
    #: The latest `Report.on_ground` the track's reports gave (None: none said).
    on_ground: bool | None = None
    mode_probabilities: dict[str, float] | None = None
    history_ref: str | None = None
    #: An alliance track's national tracks, ``NATION:track_id`` (`hotzone.types.allied`);
    #: empty for a nation's own track.
    contributions: tuple[str, ...] = ()


class Assessment(Message, frozen=True, tag="assessment", kw_only=True):
    """What a track is, whose it is and how threatening, with the reasons."""

    track_id: str
    time: UtcTime
    class_probabilities: dict[str, float]
    target_class: TargetClass
    standard_identity: StandardIdentity
    threat_score: Probability
    reasons: tuple[str, ...] = ()
    model_version: str = ""


class Alert(Message, frozen=True, tag="alert", kw_only=True):
    alert_id: str
    time: UtcTime
    kind: str
    summary: str
    priority: Annotated[int, msgspec.Meta(ge=1, le=5, description="1 is most urgent")]
    track_id: str | None = None
    position: GeoPoint | None = None
    reasons: tuple[str, ...] = ()
    state: AlertState = AlertState.OPEN
    acknowledged_by: str | None = None
    acknowledged_at: UtcTime | None = None


class RoeCheck(msgspec.Struct, frozen=True):
    """One rules-of-engagement check and its result, shown with the proposal."""

    rule: str
    passed: bool
    detail: str


class Proposal(Message, frozen=True, tag="proposal", kw_only=True):
    """A response option a human may approve by its ``content_hash``."""

    proposal_id: str
    time: UtcTime
    track_id: str
    effector_id: str
    effect_class: EffectClass
    action: str
    target_class: TargetClass
    standard_identity: StandardIdentity
    target_position: GeoPoint
    position_tolerance_m: float
    effect_window_start: UtcTime
    effect_window_end: UtcTime
    expires_at: UtcTime
    roe_checks: tuple[RoeCheck, ...]
    rationale: tuple[str, ...] = ()
    content_hash: str = ""


class WebAuthnAssertion(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator's authenticator returned for one decision (WebAuthn ``get()``).

    Every field is base64url without padding, as the browser gives it. The challenge the
    authenticator signed is `hotzone.types.signing.decision_challenge` of the decision, so
    the assertion proves that this operator's authenticator approved these exact bytes.
    """

    credential_id: str
    authenticator_data: str
    client_data_json: str
    signature: str
    user_handle: str | None = None


class Decision(Message, frozen=True, tag="decision", kw_only=True):
    """A human's signed approval or rejection of one proposal hash.

    Signed either with the operator's Ed25519 key file (``signature``; ``key_id`` names the
    key) or by the operator's WebAuthn authenticator (``assertion``; ``key_id`` is the
    credential id). ``proposal_hash`` is ``abort`` or ``resume`` for a global abort/resume.
    """

    decision_id: str
    time: UtcTime
    proposal_hash: str
    verdict: Verdict
    operator_id: str
    role: OperatorRole
    key_id: str
    signature: str
    assertion: WebAuthnAssertion | None = None
    comment: str = ""


class TaskOrder(Message, frozen=True, tag="task_order", kw_only=True):
    """A tasking to an effector; c2 builds it only from verified approving decisions.

    ``signature`` is the issuing c2 node's Ed25519 signature (key ``issuer_key_id``) over
    the order, which names the hashes of the decisions that authorize it; every consumer
    verifies it (`hotzone.types.signing.order_fault`) before acting on or showing it.
    """

    order_id: str
    time: UtcTime
    proposal_hash: str
    effector_id: str
    track_id: str
    action: str
    decision_ids: tuple[str, ...]
    decision_hashes: tuple[str, ...] = ()
    effect_window_end: UtcTime | None = None
    issuer: str = ""
    issuer_key_id: str = ""
    signature: str = ""


class AuditRecord(Message, frozen=True, tag="audit", kw_only=True):
    """One link of the hash-chained audit log."""

    sequence: int
    time: UtcTime
    kind: str
    actor: str
    payload: str
    previous_hash: str
    record_hash: str


class ProposalStatus(Message, frozen=True, tag="proposal_status", kw_only=True):
    """Where a proposal stands, as c2 (the only place that decides it) publishes it.

    ``state``: pending, ordered, rejected, expired, void, cancelled or roe_failed.
    ``missing`` says in words what an order still waits for ("awaiting commander").
    ``engagement``: the order's latest step at its effector as its gateway reported it
    (``ordered``, ``delivered``, ``acknowledged``, ``rejected``, ``in_progress``,
    ``effect_observed``, ``failed``, ``aborted``; docs/effectors.md), "" before the first.
    """

    time: UtcTime
    proposal_id: str
    proposal_hash: str
    state: str
    approvals: tuple[str, ...] = ()
    approvals_needed: int = 1
    commander_needed: bool = False
    missing: str = ""
    refusals: tuple[str, ...] = ()
    failed_rules: tuple[str, ...] = ()
    order_id: str | None = None
    engagement: str = ""


class DecisionOutcome(Message, frozen=True, tag="decision_outcome", kw_only=True):
    """c2's answer to one decision: counted, or refused with the reason.

    ``code``: ``accepted``, ``forbidden`` (who or what signed it may not decide this) or
    ``conflict`` (the proposal or the run is not in a state to take it).
    """

    time: UtcTime
    decision_id: str
    proposal_hash: str
    operator_id: str
    accepted: bool
    code: str
    reason: str = ""


class C2State(Message, frozen=True, tag="c2_state", kw_only=True):
    """The c2 node's state every page shows: run mode and whether a global abort holds."""

    time: UtcTime
    nation: str
    mode: str
    abort_active: bool = False
    changed_by: str = ""
    decision_id: str = ""
    reason: str = ""


class AuditCheckpoint(Message, frozen=True, tag="audit_checkpoint", kw_only=True):
    """A signed head of a nation's audit chain (like a CT signed tree head, RFC 9162).

    Signed by the c2 node's key over nation, sequence, record hash and time; shared with
    allies, who store it as witnesses of that nation's history (content: only the hash).
    ``final`` marks the head written when the c2 node shut down.
    """

    time: UtcTime
    nation: str
    sequence: int
    record_hash: str
    key_id: str
    signature: str
    final: bool = False


class TruthState(Message, frozen=True, tag="truth", kw_only=True):
    """The true state of one simulated object at one time, for evaluation only."""

    time: UtcTime
    target_id: str
    target_class: TargetClass
    affiliation: StandardIdentity
    position: GeoPoint
    enu_position_m: tuple[float, float, float]
    enu_velocity_mps: tuple[float, float, float]
    transponder_on: bool = False
    icao24: str | None = None
    mmsi: int | None = None
    callsign: str | None = None


class DeadLetter(Message, frozen=True, tag="dead_letter", kw_only=True):
    """Input that was refused, kept with the reason so nothing is lost."""

    time: UtcTime
    source: str
    reason: str
    raw: bytes


AnyMessage = (
    Detection
    | Report
    | Event
    | Track
    | Assessment
    | Alert
    | Proposal
    | Decision
    | TaskOrder
    | AuditRecord
    | TruthState
    | DeadLetter
    | ProposalStatus
    | DecisionOutcome
    | C2State
    | AuditCheckpoint
)

MESSAGE_TYPES: dict[str, type[Message]] = {
    "detection": Detection,
    "report": Report,
    "event": Event,
    "track": Track,
    "assessment": Assessment,
    "alert": Alert,
    "proposal": Proposal,
    "decision": Decision,
    "task_order": TaskOrder,
    "audit": AuditRecord,
    "truth": TruthState,
    "dead_letter": DeadLetter,
    "proposal_status": ProposalStatus,
    "decision_outcome": DecisionOutcome,
    "c2_state": C2State,
    "audit_checkpoint": AuditCheckpoint,
}


def message_time(message: Any) -> datetime:
    """The time a message refers to (every message type has one)."""
    time: datetime = message.time
    return time
