"""Threat evaluation: closest approach and time to go of every track to every defended asset.

Motion is extrapolated in a straight line from the track's current ENU velocity, in the
tangent plane of each asset (a few kilometres of frame difference turn velocities by
well under a degree). Capability says how much harm the class can do on arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hotzone.assess.context import DefendedAssetSpec
from hotzone.geo import LocalFrame, geodetic_to_ecef
from hotzone.types import StandardIdentity, TargetClass

CAPABILITY: dict[TargetClass, float] = {
    TargetClass.BALLISTIC_MISSILE: 1.0,
    TargetClass.CRUISE_MISSILE: 0.95,
    TargetClass.ONE_WAY_ATTACK_DRONE: 0.9,
    TargetClass.SMALL_UAV: 0.5,
    TargetClass.HELICOPTER: 0.4,
    TargetClass.LIGHT_AIRCRAFT: 0.3,
    TargetClass.GROUND_VEHICLE: 0.3,
    TargetClass.VESSEL: 0.3,
    TargetClass.AIRLINER: 0.2,
    TargetClass.PERSON: 0.1,
    TargetClass.UNKNOWN: 0.5,
    TargetClass.BIRD_FLOCK: 0.0,
    TargetClass.CLUTTER: 0.0,
}
"""Harm a class can do to an asset it reaches, 0..1 (weapons first)."""

IDENTITY_WEIGHT: dict[StandardIdentity, float] = {
    StandardIdentity.HOSTILE: 1.0,
    StandardIdentity.SUSPECT: 0.7,
    StandardIdentity.UNKNOWN: 0.4,
    StandardIdentity.PENDING: 0.3,
}
"""Friends, assumed friends and neutrals weigh nothing: they are not threats."""

NO_APPROACH_S = float("inf")


@dataclass(frozen=True)
class Approach:
    """One track against one asset."""

    asset: str
    distance_m: float
    """Now, horizontally."""
    miss_distance_m: float
    """At the closest point of approach."""
    time_to_cpa_s: float
    time_to_go_s: float
    """Until inside the asset's radius; infinite if the straight line misses it."""


@dataclass(frozen=True)
class Threat:
    track_id: str
    score: float
    target_class: TargetClass
    identity: StandardIdentity
    approach: Approach
    reasons: tuple[str, ...]


@lru_cache(maxsize=256)
def _asset_frame(lat_deg: float, lon_deg: float, height_m: float) -> LocalFrame:
    """An asset's frame, made once: `approaches` runs for every track at every step."""
    return LocalFrame(lat_deg, lon_deg, height_m)


def approaches(
    lat_deg: float,
    lon_deg: float,
    height_m: float,
    velocity_enu_mps: tuple[float, float, float],
    assets: tuple[DefendedAssetSpec, ...],
) -> list[Approach]:
    """Closest approach and time to go of one track to each asset (horizontal plane)."""
    result = []
    velocity = np.array(velocity_enu_mps[:2], dtype=np.float64)
    speed_sq = float(velocity @ velocity)
    # `LocalFrame.geodetic_to_enu` in two halves: the track's ECEF position is the same
    # for every asset.
    ecef = np.stack(geodetic_to_ecef(lat_deg, lon_deg, height_m), axis=-1)
    for asset in assets:
        frame = _asset_frame(asset.lat_deg, asset.lon_deg, asset.height_m)
        offset = np.asarray(frame.ecef_to_enu(ecef), dtype=np.float64)
        offset = offset.reshape(-1)[:2]
        distance = float(np.hypot(*offset))
        if speed_sq < 1e-6:
            result.append(
                Approach(
                    asset.name,
                    distance,
                    distance,
                    0.0,
                    0.0 if distance <= asset.radius_m else NO_APPROACH_S,
                )
            )
            continue
        time_cpa = max(0.0, -float(offset @ velocity) / speed_sq)
        miss = float(np.hypot(*(offset + velocity * time_cpa)))
        if distance <= asset.radius_m:
            time_to_go = 0.0
        elif miss <= asset.radius_m:
            # Solve |offset + v t| = radius for the first crossing.
            b = float(offset @ velocity)
            c = distance**2 - asset.radius_m**2
            time_to_go = (-b - np.sqrt(max(b * b - speed_sq * c, 0.0))) / speed_sq
        else:
            time_to_go = NO_APPROACH_S
        result.append(Approach(asset.name, distance, miss, time_cpa, float(time_to_go)))
    return result


def threat_score(
    target_class: TargetClass,
    identity: StandardIdentity,
    approach: Approach,
    horizon_s: float = 1800.0,
) -> float:
    """Identity weight x capability x how soon it arrives (or how near it passes)."""
    weight = IDENTITY_WEIGHT.get(identity, 0.0) * CAPABILITY.get(target_class, 0.5)
    if approach.time_to_go_s < NO_APPROACH_S:
        urgency = float(np.exp(-approach.time_to_go_s / (horizon_s / 3.0)))
    else:
        urgency = (
            0.3
            * float(np.exp(-approach.miss_distance_m / 10_000.0))
            * float(np.exp(-approach.time_to_cpa_s / horizon_s))
        )
    return float(np.clip(weight * (0.2 + 0.8 * urgency), 0.0, 1.0))


def rank_threats(threats: list[Threat]) -> list[Threat]:
    """Most threatening first; ties go to the sooner arrival."""
    return sorted(threats, key=lambda t: (-t.score, t.approach.time_to_go_s, t.track_id))
