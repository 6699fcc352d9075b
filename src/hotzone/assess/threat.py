"""Threat evaluation: closest approach and time to go of every track to every defended asset.

Motion is extrapolated in a straight line from the track's current ENU velocity, in the
tangent plane of each asset (a few kilometres of frame difference turn velocities by
well under a degree). Capability says how much harm the class can do on arrival.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def approaches_of_tracks(
    positions: Sequence[tuple[float, float, float]],
    velocities_enu_mps: Sequence[tuple[float, float, float]],
    assets: tuple[DefendedAssetSpec, ...],
) -> list[list[Approach]]:
    """`approaches` of many tracks ((lat, lon, height) and ENU velocity each), the same
    numbers bit for bit (`tests/assess/test_stage_cost.py`).

    The array functions are the ones `approaches` calls on one track: numpy's elementwise
    functions give each element what they give it alone, and a stack of (1, k) @ (k, m)
    products is each one's own product (the same BLAS call per matrix), so the vector
    products stay ``matmul`` over stacks, not a sum of columns (which rounds otherwise).
    The branches and the time to go stay Python floats, as in `approaches`.
    """
    count = len(positions)
    if count == 0 or not assets:
        return [[] for _ in range(count)]
    where = np.array(positions, dtype=np.float64).reshape(count, 3)
    velocity = np.array(velocities_enu_mps, dtype=np.float64).reshape(count, 3)[:, :2].copy()
    rows_velocity = velocity[:, None, :]
    speeds_sq = np.matmul(rows_velocity, velocity[:, :, None]).reshape(count).tolist()
    ecef = np.stack(geodetic_to_ecef(where[:, 0], where[:, 1], where[:, 2]), axis=-1)
    per_asset = []
    for asset in assets:
        frame = _asset_frame(asset.lat_deg, asset.lon_deg, asset.height_m)
        offset = np.matmul((ecef - frame.origin_ecef)[:, None, :], frame.rotation.T)
        offset = offset[:, 0, :2].copy()
        distance = np.hypot(offset[:, 0], offset[:, 1])
        along = np.matmul(offset[:, None, :], velocity[:, :, None]).reshape(count)
        moving = np.array(speeds_sq) >= 1e-6
        # max(0.0, x) as Python's max: 0.0 unless x > 0.0 (NaN and -0.0 give 0.0).
        quotient = -along / np.where(moving, speeds_sq, 1.0)
        time_cpa = np.where(moving & (quotient > 0.0), quotient, 0.0)
        closest = offset + velocity * time_cpa[:, None]
        miss = np.hypot(closest[:, 0], closest[:, 1])
        per_asset.append(
            (asset, distance.tolist(), along.tolist(), time_cpa.tolist(), miss.tolist())
        )
    result: list[list[Approach]] = [[] for _ in range(count)]
    for asset, distances, alongs, times_cpa, misses in per_asset:
        radius = asset.radius_m
        for row, answer in enumerate(result):
            distance, speed_sq = distances[row], speeds_sq[row]
            if speed_sq < 1e-6:
                time_to_go = 0.0 if distance <= radius else NO_APPROACH_S
                answer.append(Approach(asset.name, distance, distance, 0.0, time_to_go))
                continue
            miss = misses[row]
            if distance <= radius:
                time_to_go = 0.0
            elif miss <= radius:
                b = alongs[row]
                c = distance**2 - radius**2
                time_to_go = float((-b - np.sqrt(max(b * b - speed_sq * c, 0.0))) / speed_sq)
            else:
                time_to_go = NO_APPROACH_S
            answer.append(Approach(asset.name, distance, miss, times_cpa[row], time_to_go))
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


def threat_scores(
    target_classes: Sequence[TargetClass],
    identities: Sequence[StandardIdentity],
    approaches_per_track: Sequence[Sequence[Approach]],
    horizon_s: float = 1800.0,
) -> list[list[float]]:
    """`threat_score` of each track's approaches (its class and identity), in one array
    pass: the same elementwise operations in the same order, so the same numbers."""
    weights, arrivals, misses, times_cpa = [], [], [], []
    for target_class, identity, approaches_of_one in zip(
        target_classes, identities, approaches_per_track, strict=True
    ):
        weight = IDENTITY_WEIGHT.get(identity, 0.0) * CAPABILITY.get(target_class, 0.5)
        for approach in approaches_of_one:
            weights.append(weight)
            arrivals.append(approach.time_to_go_s)
            misses.append(approach.miss_distance_m)
            times_cpa.append(approach.time_to_cpa_s)
    time_to_go = np.array(arrivals, dtype=np.float64)
    urgency = np.where(
        time_to_go < NO_APPROACH_S,
        np.exp(-time_to_go / (horizon_s / 3.0)),
        0.3
        * np.exp(-np.array(misses, dtype=np.float64) / 10_000.0)
        * np.exp(-np.array(times_cpa, dtype=np.float64) / horizon_s),
    )
    scores = np.clip(np.array(weights, dtype=np.float64) * (0.2 + 0.8 * urgency), 0.0, 1.0)
    flat = scores.tolist()
    result, start = [], 0
    for approaches_of_one in approaches_per_track:
        result.append(flat[start : start + len(approaches_of_one)])
        start += len(approaches_of_one)
    return result


def rank_threats(threats: list[Threat]) -> list[Threat]:
    """Most threatening first; ties go to the sooner arrival."""
    return sorted(threats, key=lambda t: (-t.score, t.approach.time_to_go_s, t.track_id))
