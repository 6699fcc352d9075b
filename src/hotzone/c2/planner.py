"""Response planning: which effector answers which threat, by a linear assignment.

For every ranked threat and every effector round still available, the planner predicts
when the effector could take effect (reaction time, then flying out at the effector's
speed to meet the threat on its current course), and keeps the pair only if that happens
inside the effector's envelope and before the threat reaches its asset. Among the feasible
pairs it solves one assignment (`scipy.optimize.linear_sum_assignment`) that maximises the
expected threat removed (threat score × probability of effect), with small penalties for
the effector's cost and for acting late. Each option explains itself.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from hotzone.c2.config import AssetSpec, EffectorSpec, Readiness
from hotzone.geo.frames import LocalFrame
from hotzone.types import Assessment, EffectClass, GeoPoint, Track

INFEASIBLE = 1e6
COST_WEIGHT = 0.05  # per decade of euros: a 100 k€ missile costs 0.25 of value, a drone 0.18
LATENESS_WEIGHT = 0.2  # acting at the last moment costs this much value
_STANDBY_FACTOR = 3.0


@dataclass(frozen=True)
class Threat:
    """A track that closes on a defended asset, and how soon it gets there."""

    track: Track
    assessment: Assessment
    asset: AssetSpec
    time_to_go_s: float


@dataclass(frozen=True)
class ResponseOption:
    """One effector against one threat, with the reasons it was chosen."""

    threat: Threat
    effector: EffectorSpec
    time_to_effect_s: float
    aim_point: GeoPoint
    probability_of_effect: float
    explanation: tuple[str, ...]


def threat_towards(
    track: Track, assessment: Assessment, assets: Sequence[AssetSpec]
) -> Threat | None:
    """The asset the track reaches first on its current course, if it closes on any."""
    best: Threat | None = None
    for asset in assets:
        frame = LocalFrame(asset.position.lat_deg, asset.position.lon_deg, asset.position.height_m)
        offset = frame.geodetic_to_enu(
            track.position.lat_deg, track.position.lon_deg, track.position.height_m
        )[:2]
        distance = float(np.hypot(offset[0], offset[1]))
        velocity = np.asarray(track.enu_velocity_mps[:2])
        closing = -float(offset @ velocity) / max(distance, 1.0)
        if distance <= asset.radius_m:
            time_to_go = 0.0
        elif closing <= 1.0:
            continue
        else:
            time_to_go = (distance - asset.radius_m) / closing
        if best is None or time_to_go < best.time_to_go_s:
            best = Threat(track, assessment, asset, time_to_go)
    return best


def _intercept(effector: EffectorSpec, track: Track) -> tuple[float, GeoPoint, float]:
    """(time to effect s, aim point, slant range m at the effect) on the track's course."""
    frame = LocalFrame(
        effector.position.lat_deg, effector.position.lon_deg, effector.position.height_m
    )
    start = frame.geodetic_to_enu(
        track.position.lat_deg, track.position.lon_deg, track.position.height_m
    )
    velocity = np.asarray(track.enu_velocity_mps)
    reaction = effector.reaction_s * (
        _STANDBY_FACTOR if effector.readiness is Readiness.STANDBY else 1.0
    )
    time = reaction + float(np.linalg.norm(start)) / effector.speed_mps
    for _ in range(8):  # fixed point: converges while the effector outruns the threat
        time = reaction + float(np.linalg.norm(start + velocity * time)) / effector.speed_mps
    point = start + velocity * time
    lat, lon, height = frame.enu_to_geodetic(point)
    aim = GeoPoint(lat_deg=float(lat), lon_deg=float(lon), height_m=float(height))
    return time, aim, float(np.linalg.norm(point))


class ResponsePlanner(ABC):
    """Proposes effectors for threats."""

    @abstractmethod
    def plan(
        self,
        threats: Sequence[Threat],
        effectors: Sequence[EffectorSpec],
        rounds_left: Mapping[str, int],
    ) -> list[ResponseOption]:
        """At most one option per threat; an effector is used at most its rounds left."""


class AssignmentResponsePlanner(ResponsePlanner):
    """Optimal one-to-one assignment of threats to effector rounds."""

    def plan(
        self,
        threats: Sequence[Threat],
        effectors: Sequence[EffectorSpec],
        rounds_left: Mapping[str, int],
    ) -> list[ResponseOption]:
        weapons = [
            e
            for e in effectors
            if e.effect_class is not EffectClass.CUE
            and e.readiness is not Readiness.UNAVAILABLE
            and rounds_left.get(e.id, 0) > 0
        ]
        if not threats or not weapons:
            return []
        # One column per round, but never more rounds of one effector than threats.
        columns = [e for e in weapons for _ in range(min(rounds_left[e.id], len(threats)))]
        costs = np.full((len(threats), len(columns)), INFEASIBLE)
        options: dict[tuple[int, str], ResponseOption] = {}
        for row, threat in enumerate(threats):
            for effector in weapons:
                option = self._option(threat, effector)
                if option is None:
                    continue
                options[(row, effector.id)] = option
                value = threat.assessment.threat_score * option.probability_of_effect
                cost_penalty = COST_WEIGHT * math.log10(1.0 + effector.cost_eur)
                lateness = LATENESS_WEIGHT * option.time_to_effect_s / max(threat.time_to_go_s, 1.0)
                for column, candidate in enumerate(columns):
                    if candidate.id == effector.id:
                        costs[row, column] = -value + cost_penalty + lateness
        rows, cols = linear_sum_assignment(costs)
        chosen = []
        for row, column in zip(rows, cols, strict=True):
            if costs[row, column] >= INFEASIBLE:
                continue
            chosen.append(options[(int(row), columns[column].id)])
        return chosen

    @staticmethod
    def _option(threat: Threat, effector: EffectorSpec) -> ResponseOption | None:
        probability = effector.probability_of_effect.get(threat.assessment.target_class, 0.0)
        if probability <= 0.0:
            return None
        time, aim, slant_range = _intercept(effector, threat.track)
        if not effector.min_range_m <= slant_range <= effector.max_range_m:
            return None
        if aim.height_m - effector.position.height_m > effector.max_altitude_m:
            return None
        if time >= threat.time_to_go_s:
            return None
        explanation = (
            f"{threat.assessment.standard_identity} {threat.assessment.target_class} "
            f"(threat {threat.assessment.threat_score:.2f}) reaches {threat.asset.name} "
            f"in {threat.time_to_go_s:.0f} s",
            f"{effector.id} ({effector.kind}) takes effect in {time:.0f} s at "
            f"{slant_range / 1000:.1f} km, probability of effect {probability:.2f}",
            f"cost {effector.cost_eur:,.0f} EUR per engagement",
        )
        return ResponseOption(threat, effector, time, aim, probability, explanation)
