"""Small real messages and keys for the c2 tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from hotzone.c2.audit import AuditLog
from hotzone.c2.authority import Authority, DecisionVerifier, Situation
from hotzone.c2.keys import OperatorRegistry, SigningKey
from hotzone.types import (
    Assessment,
    EffectClass,
    GeoPoint,
    OperatorRole,
    Proposal,
    RoeCheck,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
)
from hotzone.types.signing import proposal_content_hash

T0 = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)
# A drone over Polish ground east of Suwałki.
DRONE_POSITION = GeoPoint(lat_deg=54.02, lon_deg=23.30, height_m=300.0)


def seconds(value: float) -> datetime:
    return T0 + timedelta(seconds=value)


def make_track(
    track_id: str = "T1",
    position: GeoPoint = DRONE_POSITION,
    time: datetime = T0,
    status: TrackStatus = TrackStatus.CONFIRMED,
    sensors: tuple[str, ...] = ("asr-suwalki",),
) -> Track:
    return Track(
        track_id=track_id,
        track_number=1,
        time=time,
        status=status,
        position=position,
        sector="suwalki",
        enu_position_m=(0.0, 0.0, 300.0),
        enu_velocity_mps=(-50.0, 0.0, 0.0),
        covariance=((100.0, 0.0, 0.0), (0.0, 100.0, 0.0), (0.0, 0.0, 100.0)),
        quality=0.9,
        sensors=sensors,
    )


def make_assessment(
    track_id: str = "T1",
    identity: StandardIdentity = StandardIdentity.HOSTILE,
    target_class: TargetClass = TargetClass.ONE_WAY_ATTACK_DRONE,
    time: datetime = T0,
    threat_score: float = 0.9,
) -> Assessment:
    return Assessment(
        track_id=track_id,
        time=time,
        class_probabilities={str(target_class): 1.0},
        target_class=target_class,
        standard_identity=identity,
        threat_score=threat_score,
    )


def make_proposal(
    effect_class: EffectClass = EffectClass.KINETIC,
    track_id: str = "T1",
    time: datetime = T0,
    lifetime_s: float = 60.0,
    roe_passed: bool = True,
    proposal_id: str = "P1",
    effector_id: str = "shorad-1",
) -> Proposal:
    unhashed = Proposal(
        proposal_id=proposal_id,
        time=time,
        track_id=track_id,
        effector_id=effector_id,
        effect_class=effect_class,
        action="engage",
        target_class=TargetClass.ONE_WAY_ATTACK_DRONE,
        standard_identity=StandardIdentity.HOSTILE,
        target_position=DRONE_POSITION,
        position_tolerance_m=2_000.0,
        effect_window_start=time,
        effect_window_end=time + timedelta(seconds=120),
        expires_at=time + timedelta(seconds=lifetime_s),
        roe_checks=(
            RoeCheck("weapon_control_status", True, "tight: hostile may be engaged"),
            RoeCheck("no_fire_area", roe_passed, "test area"),
        ),
    )
    return msgspec.structs.replace(unhashed, content_hash=proposal_content_hash(unhashed))


class Crew:
    """Two commanders, an operator, an observer and a simulation operator, registered."""

    def __init__(self) -> None:
        self.commander = SigningKey.generate("cdr-kowalski", OperatorRole.COMMANDER)
        self.commander_2 = SigningKey.generate("cdr-petraitis", OperatorRole.COMMANDER)
        self.operator = SigningKey.generate("op-nowak", OperatorRole.OPERATOR)
        self.observer = SigningKey.generate("obs-wisniewska", OperatorRole.OBSERVER)
        self.simulated = SigningKey.generate("sim-op-1", OperatorRole.COMMANDER, simulation=True)
        self.simulated_2 = SigningKey.generate("sim-op-2", OperatorRole.OPERATOR, simulation=True)
        self.registry = OperatorRegistry(
            key.public
            for key in (
                self.commander,
                self.commander_2,
                self.operator,
                self.observer,
                self.simulated,
                self.simulated_2,
            )
        )


def make_authority(crew: Crew) -> tuple[Authority, AuditLog]:
    audit = AuditLog()
    return Authority(DecisionVerifier(crew.registry), audit), audit


def situation(
    time: datetime = T0,
    track: Track | None = None,
    assessment: Assessment | None = None,
    abort_active: bool = False,
    fully_simulated: bool = False,
) -> Situation:
    return Situation(
        time=time,
        track=track if track is not None else make_track(time=time),
        assessment=assessment if assessment is not None else make_assessment(time=time),
        abort_active=abort_active,
        fully_simulated=fully_simulated,
    )
