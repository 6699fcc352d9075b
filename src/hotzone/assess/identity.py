"""APP-6 standard identity from cooperative identity, class, behaviour and geography.

Rules are checked in order and every rule that fires leaves a reason, so the operator and
the auditor read *why* a track is hostile. Cooperative identity outranks class (an
airliner squawking its ICAO address is neutral whatever its speed), an anomaly outranks
cooperative identity (a transponder switched off or a spoofed position is suspect), and
an inbound crossing from a hostile state makes a weapon-class track hostile.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotzone.assess.context import AssessmentContext
from hotzone.types import StandardIdentity, TargetClass

WEAPON_CLASSES = frozenset(
    {TargetClass.ONE_WAY_ATTACK_DRONE, TargetClass.CRUISE_MISSILE, TargetClass.BALLISTIC_MISSILE}
)
UNMANNED_OR_INTRUDER = frozenset(
    {TargetClass.SMALL_UAV, TargetClass.GROUND_VEHICLE, TargetClass.PERSON}
)
HARMLESS = frozenset({TargetClass.BIRD_FLOCK})
PENDING_SAMPLES = 3


@dataclass(frozen=True)
class IdentityEvidence:
    """What is known of one track when its identity is decided."""

    samples: int
    target_class: TargetClass
    class_confidence: float
    icao24: str | None = None
    callsign: str | None = None
    mmsi: int | None = None
    claimed_identity: StandardIdentity | None = None
    origin_country: str | None = None
    current_country: str | None = None
    anomalies: tuple[str, ...] = ()


def standard_identity(
    evidence: IdentityEvidence, context: AssessmentContext
) -> tuple[StandardIdentity, tuple[str, ...]]:
    """The identity and the chain of reasons that led to it."""
    reasons: list[str] = []
    if evidence.samples < PENDING_SAMPLES:
        return StandardIdentity.PENDING, (f"only {evidence.samples} updates: not yet evaluated",)
    from_hostile = (
        evidence.origin_country is not None and evidence.origin_country in context.hostile_countries
    )
    if from_hostile:
        where = evidence.current_country or "unknown territory"
        reasons.append(f"first seen in {evidence.origin_country} (hostile state), now over {where}")
    if evidence.claimed_identity in (StandardIdentity.FRIEND, StandardIdentity.ASSUMED_FRIEND):
        reasons.append(f"blue-force report claims {evidence.claimed_identity}")
        if not evidence.anomalies:
            return evidence.claimed_identity, tuple(reasons)
    friendly = (
        (evidence.icao24 is not None and evidence.icao24 in context.friendly_icao24)
        or (evidence.mmsi is not None and evidence.mmsi in context.friendly_mmsi)
        or (
            evidence.callsign is not None
            and any(evidence.callsign.startswith(p) for p in context.friendly_callsign_prefixes)
        )
    )
    if evidence.anomalies:
        reasons.extend(f"anomaly: {anomaly}" for anomaly in evidence.anomalies)
        if evidence.target_class in WEAPON_CLASSES and from_hostile:
            return StandardIdentity.HOSTILE, tuple(reasons)
        return StandardIdentity.SUSPECT, tuple(reasons)
    if friendly:
        reasons.append(
            f"own force identity (icao24 {evidence.icao24}, callsign {evidence.callsign}, "
            f"mmsi {evidence.mmsi})"
        )
        return StandardIdentity.FRIEND, tuple(reasons)
    cooperative = evidence.icao24 is not None or evidence.mmsi is not None
    class_text = f"classified {evidence.target_class} ({evidence.class_confidence:.0%})"
    if cooperative and evidence.target_class not in WEAPON_CLASSES:
        ident = f"ICAO {evidence.icao24}" if evidence.icao24 else f"MMSI {evidence.mmsi}"
        reasons.append(
            f"cooperative: transmits {ident}"
            + (f", callsign {evidence.callsign}" if evidence.callsign else "")
        )
        reasons.append(class_text)
        return StandardIdentity.NEUTRAL, tuple(reasons)
    reasons.append(class_text)
    if not cooperative:
        reasons.append("non-cooperative: no transponder or AIS identity")
    if evidence.target_class in WEAPON_CLASSES:
        if from_hostile:
            return StandardIdentity.HOSTILE, tuple(reasons)
        return StandardIdentity.SUSPECT, tuple(reasons)
    if evidence.target_class in HARMLESS:
        return StandardIdentity.NEUTRAL, tuple(reasons)
    if evidence.target_class == TargetClass.SMALL_UAV and from_hostile:
        return StandardIdentity.HOSTILE, tuple(reasons)
    if from_hostile and evidence.target_class in UNMANNED_OR_INTRUDER:
        return StandardIdentity.SUSPECT, tuple(reasons)
    if from_hostile and evidence.target_class != TargetClass.CLUTTER:
        # A non-cooperative track that came from a hostile state is suspect even while its
        # class is undetermined: doubt about *what* it is is no reason to trust it.
        return StandardIdentity.SUSPECT, tuple(reasons)
    return StandardIdentity.UNKNOWN, tuple(reasons)


# How firmly an identity is held: a track keeps a firmer identity than the evidence of the
# moment gives unless that evidence contradicts it (a friend, neutral or cooperative fact).
_FIRMNESS = {
    StandardIdentity.PENDING: 0,
    StandardIdentity.UNKNOWN: 1,
    StandardIdentity.SUSPECT: 2,
    StandardIdentity.HOSTILE: 3,
}


def carried_identity(previous: StandardIdentity, proposed: StandardIdentity) -> StandardIdentity:
    """The identity to hold now, given the one held before and what the evidence says.

    Identification is a declaration that changes on evidence, not on a classifier's
    momentary doubt: a hostile drone whose class confidence dips for one update stays
    hostile. Friend, assumed friend and neutral always take effect at once.
    """
    if (
        previous in _FIRMNESS
        and proposed in _FIRMNESS
        and _FIRMNESS[proposed] < _FIRMNESS[previous]
    ):
        return previous
    return proposed
