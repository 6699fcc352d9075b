"""A small recorded run for the API and browser tests: tracks, assessments, alerts and
proposals as the pipeline stages write them, in one SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from hotzone.runtime.routing import subject_for
from hotzone.store import SQLiteStore
from hotzone.types import (
    Alert,
    AnyMessage,
    Assessment,
    EffectClass,
    GeoPoint,
    Proposal,
    RoeCheck,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
)
from hotzone.types.signing import proposal_content_hash

START = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)

#: (track id, number, class, identity, status, lat, lon, label)
TRACKS = [
    ("T1", 101, TargetClass.ONE_WAY_ATTACK_DRONE, StandardIdentity.HOSTILE, "confirmed",
     53.96, 23.49, "REL PL LT"),
    ("T2", 102, TargetClass.AIRLINER, StandardIdentity.NEUTRAL, "confirmed",
     54.10, 22.80, "NATO"),
    ("T3", 103, TargetClass.HELICOPTER, StandardIdentity.FRIEND, "confirmed",
     54.10, 22.98, "NATIONAL PL"),
    ("T4", 104, TargetClass.UNKNOWN, StandardIdentity.PENDING, "tentative",
     53.90, 23.60, "NATO"),
]  # fmt: skip
CONFIRMED_VISIBLE_TO_PL = 3
CONFIRMED_VISIBLE_TO_DE = 1  # T2 only: T1 is REL PL LT, T3 NATIONAL PL


def _proposal(proposal_id: str, effect: EffectClass, effector: str, at: datetime) -> Proposal:
    unhashed = Proposal(
        proposal_id=proposal_id,
        time=at,
        track_id="T1",
        effector_id=effector,
        effect_class=effect,
        action="engage" if effect == EffectClass.KINETIC else "jam",
        target_class=TargetClass.ONE_WAY_ATTACK_DRONE,
        standard_identity=StandardIdentity.HOSTILE,
        target_position=GeoPoint(lat_deg=53.96, lon_deg=23.49, height_m=300.0),
        position_tolerance_m=3000.0,
        effect_window_start=at + timedelta(seconds=40),
        effect_window_end=at + timedelta(seconds=90),
        expires_at=at + timedelta(hours=1),
        roe_checks=(
            RoeCheck(rule="weapon_control_status", passed=True, detail="FREE in sector suwalki"),
            RoeCheck(rule="no_fire_area", passed=True, detail="outside every no-fire area"),
            RoeCheck(rule="civil_air_corridor", passed=True, detail="below the airway"),
        ),
        rationale=("threat 0.92 towards Suwałki garrison",),
        releasability="REL PL LT",
    )
    return msgspec.structs.replace(unhashed, content_hash=proposal_content_hash(unhashed))


def picture_messages(scans: int = 5) -> list[AnyMessage]:
    messages: list[AnyMessage] = []
    for scan in range(scans):
        at = START + timedelta(seconds=4 * scan)
        for track_id, number, target_class, identity, status, lat, lon, label in TRACKS:
            messages.append(
                Track(
                    track_id=track_id,
                    track_number=number,
                    time=at,
                    status=TrackStatus(status),
                    position=GeoPoint(lat_deg=lat + 0.002 * scan, lon_deg=lon - 0.003 * scan,
                                      height_m=300.0),
                    sector="suwalki",
                    enu_position_m=(0.0, 0.0, 120.0),
                    enu_velocity_mps=(-40.0, 25.0, 0.0),
                    covariance=tuple(tuple(1.0 if i == j else 0.0 for j in range(6))
                                     for i in range(6)),
                    quality=0.9,
                    sensors=("asr-suwalki",),
                    releasability=label,
                )
            )  # fmt: skip
            messages.append(
                Assessment(
                    track_id=track_id,
                    time=at,
                    class_probabilities={target_class.value: 0.9},
                    target_class=target_class,
                    standard_identity=identity,
                    threat_score=0.9 if identity == StandardIdentity.HOSTILE else 0.1,
                    releasability=label,
                )
            )
    last = START + timedelta(seconds=4 * (scans - 1))
    messages += [
        Alert(
            alert_id="A1",
            time=last,
            kind="hostile_inbound",
            summary="one-way attack drone T1 inbound to Suwałki garrison",
            priority=1,
            track_id="T1",
            releasability="REL PL LT",
        ),
        Alert(
            alert_id="A2",
            time=last,
            kind="cyber",
            summary="intrusion on asr-lazdijai",
            priority=3,
            releasability="NATO",
        ),
        _proposal("P-KINETIC", EffectClass.KINETIC, "sam-suwalki", last),
        _proposal("P-JAM", EffectClass.NON_KINETIC, "ew-sejny", last),
    ]
    return messages


def write_picture_store(path: Path, nation: str = "PL") -> Path:
    with SQLiteStore(path) as store:
        store.append_many((subject_for(m, nation), m) for m in picture_messages())
    return path
