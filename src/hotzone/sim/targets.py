"""Target trajectories: routes of legs, compiled to pieces that evaluate on arrays of times.

A target starts at a position with a heading and a speed and flies (drives, sails) a route
of legs: ``goto`` a waypoint, ``straight`` for a time or distance, a coordinated ``turn``,
a ``climb`` or dive at a vertical rate, a ``loiter`` (circle or racetrack), a ``wait`` and a
``ballistic`` arc. Each leg compiles to one or more *pieces* with closed-form motion, so the
state at any array of instants is a handful of vectorized formulas.

Kinematics live on a *map plane*: east/north metres in the tangent plane of the scenario
origin, with the third coordinate the height above the WGS-84 ellipsoid. A point of the
plane maps to the latitude/longitude of the ellipsoid normal through it. So an airliner at
FL350 keeps its height along a 300 km leg (straight lines in the scenario's ENU frame
would climb away from the curved Earth), and a ballistic arc falls towards the ground
below it. Map distances are shorter than distances on the ellipsoid by under 0.2 % within
300 km of the origin, a small price for closed-form turns and loiters.

The public evaluation is `Target.states_at` (ENU position and velocity in the scenario
frame, NaN where the target does not exist) and `TargetSet.evaluate` (every target on
one time grid, with geodetic and ECEF states for `hotzone.sim.truth.TruthBatch`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
import numpy as np
from numpy.typing import ArrayLike

from hotzone.geo import LocalFrame, geodetic_to_ecef
from hotzone.sim.units import AngularRate, Distance, Duration, Speed
from hotzone.types import StandardIdentity, TargetClass
from hotzone.types.arrays import BoolArray, FloatArray

STANDARD_GRAVITY_MPS2 = 9.80665

Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Heading = Annotated[float, msgspec.Meta(ge=-360.0, le=360.0, description="degrees from north")]

# Radar cross-sections a sensor sees when the scenario gives none: typical published
# values in dBsm (10 log10 of m²), nose-on at X/S band.
DEFAULT_RCS_DBSM: dict[TargetClass, float] = {
    TargetClass.AIRLINER: 20.0,
    TargetClass.LIGHT_AIRCRAFT: 3.0,
    TargetClass.HELICOPTER: 10.0,
    TargetClass.SMALL_UAV: -20.0,
    TargetClass.ONE_WAY_ATTACK_DRONE: -5.0,
    TargetClass.CRUISE_MISSILE: -10.0,
    TargetClass.BALLISTIC_MISSILE: -5.0,
    TargetClass.BIRD_FLOCK: -15.0,
    TargetClass.GROUND_VEHICLE: 10.0,
    TargetClass.PERSON: 0.0,
    TargetClass.VESSEL: 35.0,
    TargetClass.CLUTTER: 0.0,
    TargetClass.UNKNOWN: 0.0,
}


class TrajectoryError(ValueError):
    """A route that cannot be flown; ``path`` is where in the target it went wrong."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# --------------------------------------------------------------------------- file format


class Place(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where a target is when it appears; ``altitude`` is above the WGS-84 ellipsoid."""

    lat_deg: Latitude
    lon_deg: Longitude
    altitude: Distance = Distance(0.0)


class GotoLeg(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="goto", tag_field="type"
):
    """Straight to a waypoint; height changes evenly along the leg when ``altitude`` is set."""

    lat_deg: Latitude
    lon_deg: Longitude
    altitude: Distance | None = None
    speed: Speed | None = None


class StraightLeg(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="straight", tag_field="type"
):
    """Constant velocity for a ``duration`` or a ``distance`` (exactly one)."""

    duration: Duration | None = None
    distance: Distance | None = None
    speed: Speed | None = None
    heading_deg: Heading | None = None
    vertical_rate: Speed = Speed(0.0)


class TurnLeg(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="turn", tag_field="type"
):
    """A coordinated turn at constant speed, by ``turn_rate`` or ``radius`` (exactly one).

    The amount is ``heading_change_deg`` (positive turns right, clockwise seen from above)
    or ``to_heading_deg`` the shorter way round unless ``direction`` says otherwise.
    """

    heading_change_deg: float | None = None
    to_heading_deg: Heading | None = None
    direction: Literal["right", "left"] | None = None
    turn_rate: AngularRate | None = None
    radius: Distance | None = None
    speed: Speed | None = None
    vertical_rate: Speed = Speed(0.0)


class ClimbLeg(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="climb", tag_field="type"
):
    """Climb or dive to ``altitude`` at ``vertical_rate`` (a magnitude), heading unchanged."""

    altitude: Distance
    vertical_rate: Speed
    speed: Speed | None = None


class LoiterLeg(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="loiter", tag_field="type"
):
    """Circle or racetrack for ``duration``, passing over the point where the leg begins.

    A racetrack flies ``length`` along the current heading, turns 180° on ``radius``, flies
    back and turns again. ``direction`` is the turning side.
    """

    duration: Duration
    radius: Distance
    pattern: Literal["circle", "racetrack"] = "circle"
    length: Distance = Distance(0.0)
    direction: Literal["right", "left"] = "right"
    speed: Speed | None = None


class WaitLeg(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="wait", tag_field="type"
):
    """Stand still (hover, stop, drift) for ``duration``; the cruise speed is kept."""

    duration: Duration


class BallisticLeg(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="ballistic", tag_field="type"
):
    """Unpowered flight under gravity from the current position to an impact point.

    ``apogee`` (height above the ellipsoid) fixes the arc; there is no drag. The target's
    life ends at impact.
    """

    lat_deg: Latitude
    lon_deg: Longitude
    apogee: Distance
    altitude: Distance = Distance(0.0)


Leg = GotoLeg | StraightLeg | TurnLeg | ClimbLeg | LoiterLeg | WaitLeg | BallisticLeg


class TransponderSwitch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """From ``at`` (after the target appears) the transponder/AIS is ``on`` or off."""

    at: Duration
    on: bool


class TargetSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename={"cls": "class"}):
    """One simulated object as written in a scenario file."""

    id: str
    cls: TargetClass
    affiliation: StandardIdentity
    position: Place
    route: list[Leg]
    speed: Speed = Speed(0.0)
    heading_deg: Heading | None = None
    start: Duration = Duration(0.0)
    rcs_dbsm: float | None = None
    icao24: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{6}$")] | None = None
    callsign: Annotated[str, msgspec.Meta(max_length=8)] | None = None
    mmsi: Annotated[int, msgspec.Meta(ge=100_000_000, le=999_999_999)] | None = None
    transponder: list[TransponderSwitch] | None = None


# --------------------------------------------------------------------------- map plane


@dataclass(frozen=True)
class MapPlane:
    """The tangent plane of the scenario origin, with heights above the ellipsoid."""

    frame: LocalFrame

    def to_geodetic(self, east_m: ArrayLike, north_m: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Map point -> (lat_deg, lon_deg) of the ellipsoid normal through it."""
        east = np.asarray(east_m, dtype=np.float64)
        plane_point = np.stack(
            [east, np.asarray(north_m, dtype=np.float64), np.zeros_like(east)], -1
        )
        lat, lon, _ = self.frame.enu_to_geodetic(plane_point)
        return lat, lon

    def to_map(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> FloatArray:
        """(lat_deg, lon_deg) -> (..., 2) map metres, inverting `to_geodetic` by iteration."""
        wanted = self.frame.geodetic_to_enu(lat_deg, lon_deg, 0.0)[..., :2]
        guess = wanted.copy()
        # The plane-to-surface map is the identity plus a few parts per thousand, so each
        # correction shrinks the error about a thousandfold.
        for _ in range(6):
            lat, lon = self.to_geodetic(guess[..., 0], guess[..., 1])
            guess += wanted - self.frame.geodetic_to_enu(lat, lon, 0.0)[..., :2]
        return guess

    def to_ecef(self, map_position: FloatArray) -> FloatArray:
        """(..., 3) map (east, north, height) -> (..., 3) ECEF metres."""
        lat, lon = self.to_geodetic(map_position[..., 0], map_position[..., 1])
        return np.stack(geodetic_to_ecef(lat, lon, map_position[..., 2]), axis=-1)

    def velocity_to_ecef(self, map_position: FloatArray, map_velocity: FloatArray) -> FloatArray:
        """Map velocity at a map position -> ECEF velocity (a directional derivative)."""
        # Central difference along the velocity over ±0.5 s: the mapping is smooth on the
        # scale of kilometres, so the error is far below a millimetre per second.
        half_step_s = 0.5
        ahead = self.to_ecef(map_position + half_step_s * map_velocity)
        behind = self.to_ecef(map_position - half_step_s * map_velocity)
        return (ahead - behind) / (2.0 * half_step_s)


# --------------------------------------------------------------------------- trajectory


@dataclass(frozen=True)
class Trajectory:
    """Pieces of closed-form motion, each starting at ``piece_start_s`` (target time).

    A piece is linear (``turn_rate_rad_s`` 0), an arc around ``arc_center`` or, with
    ``gravity_mps2`` > 0, a ballistic parabola in height. Row i of every array is piece i.
    """

    piece_start_s: FloatArray  # (P,) seconds after the target appears
    end_s: float
    start_position: FloatArray  # (P, 3) map metres at the piece start
    velocity: FloatArray  # (P, 3) map velocity at the piece start (linear pieces)
    arc_center: FloatArray  # (P, 2)
    arc_radius_m: FloatArray  # (P,)
    arc_bearing_rad: FloatArray  # (P,) bearing from the centre at the piece start
    turn_rate_rad_s: FloatArray  # (P,) signed, clockwise positive; 0 for straight pieces
    gravity_mps2: FloatArray  # (P,)

    def map_states_at(self, elapsed_s: ArrayLike) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Map positions (T, 3), velocities (T, 3) and existence (T,) at target times."""
        elapsed = np.atleast_1d(np.asarray(elapsed_s, dtype=np.float64))
        alive = (elapsed >= 0.0) & (elapsed < self.end_s)
        index = np.clip(np.searchsorted(self.piece_start_s, elapsed, side="right") - 1, 0, None)
        tau = np.where(alive, elapsed - self.piece_start_s[index], 0.0)
        origin = self.start_position[index]
        velocity0 = self.velocity[index]
        rate = self.turn_rate_rad_s[index]
        gravity = self.gravity_mps2[index]

        position = origin + velocity0 * tau[:, None]
        velocity = velocity0.copy()
        position[:, 2] -= 0.5 * gravity * tau**2
        velocity[:, 2] -= gravity * tau

        turning = rate != 0.0
        if np.any(turning):
            bearing = self.arc_bearing_rad[index][turning] + rate[turning] * tau[turning]
            radius = self.arc_radius_m[index][turning]
            center = self.arc_center[index][turning]
            position[turning, 0] = center[:, 0] + radius * np.sin(bearing)
            position[turning, 1] = center[:, 1] + radius * np.cos(bearing)
            velocity[turning, 0] = radius * rate[turning] * np.cos(bearing)
            velocity[turning, 1] = -radius * rate[turning] * np.sin(bearing)

        position[~alive] = np.nan
        velocity[~alive] = np.nan
        return position, velocity, alive


@dataclass
class _Pilot:
    """The state carried from leg to leg while a route is compiled."""

    position: FloatArray  # (3,) map metres
    heading_rad: float
    speed_mps: float
    clock_s: float = 0.0
    ended: bool = False


@dataclass
class _PieceList:
    start_s: list[float]
    position: list[FloatArray]
    velocity: list[FloatArray]
    center: list[tuple[float, float]]
    radius: list[float]
    bearing: list[float]
    rate: list[float]
    gravity: list[float]

    @classmethod
    def empty(cls) -> _PieceList:
        return cls([], [], [], [], [], [], [], [])

    def add(
        self,
        start_s: float,
        position: FloatArray,
        velocity: FloatArray,
        center: tuple[float, float] = (0.0, 0.0),
        radius: float = 0.0,
        bearing: float = 0.0,
        rate: float = 0.0,
        gravity: float = 0.0,
    ) -> None:
        self.start_s.append(start_s)
        self.position.append(position.copy())
        self.velocity.append(velocity.copy())
        self.center.append(center)
        self.radius.append(radius)
        self.bearing.append(bearing)
        self.rate.append(rate)
        self.gravity.append(gravity)


def _horizontal(heading_rad: float, speed_mps: float, vertical_mps: float = 0.0) -> FloatArray:
    return np.array(
        [speed_mps * math.sin(heading_rad), speed_mps * math.cos(heading_rad), vertical_mps]
    )


def compile_route(spec: TargetSpec, plane: MapPlane, path: str = "$") -> Trajectory:
    """A target's route -> `Trajectory`; raises `TrajectoryError` naming the leg at fault."""
    start = plane.to_map(spec.position.lat_deg, spec.position.lon_deg)
    position = np.array([start[0], start[1], float(spec.position.altitude)])
    heading = _initial_heading(spec, plane, position)
    pilot = _Pilot(position=position, heading_rad=heading, speed_mps=float(spec.speed))
    pieces = _PieceList.empty()
    if not spec.route:
        raise TrajectoryError(f"{path}.route", "expected at least one leg")
    for leg_index, leg in enumerate(spec.route):
        leg_path = f"{path}.route[{leg_index}]"
        if pilot.ended:
            raise TrajectoryError(leg_path, "no leg may follow a ballistic impact")
        _compile_leg(leg, pilot, pieces, plane, leg_path)
    if pilot.clock_s <= 0.0:
        raise TrajectoryError(f"{path}.route", "the route takes no time; give speeds or durations")
    return Trajectory(
        piece_start_s=np.array(pieces.start_s),
        end_s=pilot.clock_s,
        start_position=np.array(pieces.position),
        velocity=np.array(pieces.velocity),
        arc_center=np.array(pieces.center, dtype=np.float64).reshape(-1, 2),
        arc_radius_m=np.array(pieces.radius),
        arc_bearing_rad=np.array(pieces.bearing),
        turn_rate_rad_s=np.array(pieces.rate),
        gravity_mps2=np.array(pieces.gravity),
    )


def _initial_heading(spec: TargetSpec, plane: MapPlane, position: FloatArray) -> float:
    if spec.heading_deg is not None:
        return math.radians(spec.heading_deg)
    for leg in spec.route:
        if isinstance(leg, GotoLeg | BallisticLeg):
            target = plane.to_map(leg.lat_deg, leg.lon_deg)
            delta = target - position[:2]
            if np.hypot(delta[0], delta[1]) > 0.0:
                return math.atan2(delta[0], delta[1])
    return 0.0


def _speed(pilot: _Pilot, speed: Speed | None) -> float:
    if speed is not None:
        pilot.speed_mps = float(speed)
    return pilot.speed_mps


def _compile_goto(
    leg: GotoLeg, pilot: _Pilot, pieces: _PieceList, plane: MapPlane, path: str
) -> None:
    speed = _speed(pilot, leg.speed)
    target = plane.to_map(leg.lat_deg, leg.lon_deg)
    height = float(leg.altitude) if leg.altitude is not None else float(pilot.position[2])
    delta = np.array([target[0] - pilot.position[0], target[1] - pilot.position[1]])
    distance = float(np.hypot(delta[0], delta[1]))
    if distance == 0.0 and height == pilot.position[2]:
        return
    if speed <= 0.0:
        raise TrajectoryError(f"{path}.speed", "expected a positive speed to reach the waypoint")
    duration = distance / speed
    if duration == 0.0:
        raise TrajectoryError(path, "a pure height change needs a 'climb' leg")
    if distance > 0.0:
        pilot.heading_rad = math.atan2(delta[0], delta[1])
    velocity = np.array(
        [delta[0] / duration, delta[1] / duration, (height - pilot.position[2]) / duration]
    )
    pieces.add(pilot.clock_s, pilot.position, velocity)
    pilot.position = np.array([target[0], target[1], height])
    pilot.clock_s += duration


def _compile_straight(
    leg: StraightLeg, pilot: _Pilot, pieces: _PieceList, plane: MapPlane, path: str
) -> None:
    speed = _speed(pilot, leg.speed)
    if leg.heading_deg is not None:
        pilot.heading_rad = math.radians(leg.heading_deg)
    if (leg.duration is None) == (leg.distance is None):
        raise TrajectoryError(path, "expected exactly one of 'duration' and 'distance'")
    if leg.duration is not None:
        duration = float(leg.duration)
    elif speed > 0.0:
        duration = float(leg.distance or 0.0) / speed
    else:
        raise TrajectoryError(f"{path}.speed", "expected a positive speed to cover a distance")
    if duration <= 0.0:
        raise TrajectoryError(path, f"expected a positive duration, got {duration:g} s")
    velocity = _horizontal(pilot.heading_rad, speed, float(leg.vertical_rate))
    pieces.add(pilot.clock_s, pilot.position, velocity)
    pilot.position = pilot.position + velocity * duration
    pilot.clock_s += duration


def _add_arc(
    pilot: _Pilot,
    pieces: _PieceList,
    radius: float,
    turn_rate: float,
    duration: float,
    vertical_rate: float = 0.0,
) -> None:
    """Turn at signed ``turn_rate`` (rad/s, clockwise positive) for ``duration``."""
    side = 1.0 if turn_rate > 0 else -1.0
    # The centre lies a radius to the turning side, perpendicular to the heading.
    center_bearing = pilot.heading_rad + side * math.pi / 2.0
    center = (
        float(pilot.position[0] + radius * math.sin(center_bearing)),
        float(pilot.position[1] + radius * math.cos(center_bearing)),
    )
    bearing_from_center = center_bearing + math.pi
    velocity = np.array([0.0, 0.0, vertical_rate])
    pieces.add(
        pilot.clock_s,
        pilot.position,
        velocity,
        center=center,
        radius=radius,
        bearing=bearing_from_center,
        rate=turn_rate,
    )
    final_bearing = bearing_from_center + turn_rate * duration
    pilot.position = np.array(
        [
            center[0] + radius * math.sin(final_bearing),
            center[1] + radius * math.cos(final_bearing),
            pilot.position[2] + vertical_rate * duration,
        ]
    )
    pilot.heading_rad = (pilot.heading_rad + turn_rate * duration) % (2.0 * math.pi)
    pilot.clock_s += duration


def _compile_turn(
    leg: TurnLeg, pilot: _Pilot, pieces: _PieceList, plane: MapPlane, path: str
) -> None:
    speed = _speed(pilot, leg.speed)
    if speed <= 0.0:
        raise TrajectoryError(f"{path}.speed", "expected a positive speed to turn")
    if (leg.turn_rate is None) == (leg.radius is None):
        raise TrajectoryError(path, "expected exactly one of 'turn_rate' and 'radius'")
    if leg.turn_rate is not None:
        if leg.turn_rate <= 0.0:
            raise TrajectoryError(f"{path}.turn_rate", "expected a positive turn rate")
        rate_magnitude = math.radians(float(leg.turn_rate))
        radius = speed / rate_magnitude
    else:
        radius = float(leg.radius or 0.0)
        if radius <= 0.0:
            raise TrajectoryError(f"{path}.radius", "expected a positive radius")
        rate_magnitude = speed / radius
    change = _heading_change(leg, pilot, path)
    if change == 0.0:
        return
    duration = abs(change) / rate_magnitude
    signed_rate = math.copysign(rate_magnitude, change)
    _add_arc(pilot, pieces, radius, signed_rate, duration, float(leg.vertical_rate))


def _heading_change(leg: TurnLeg, pilot: _Pilot, path: str) -> float:
    """Signed heading change in radians, clockwise positive."""
    if (leg.heading_change_deg is None) == (leg.to_heading_deg is None):
        raise TrajectoryError(
            path, "expected exactly one of 'heading_change_deg' and 'to_heading_deg'"
        )
    if leg.heading_change_deg is not None:
        if leg.direction is not None:
            raise TrajectoryError(
                f"{path}.direction", "the sign of 'heading_change_deg' gives the direction"
            )
        return math.radians(leg.heading_change_deg)
    wanted = math.radians(leg.to_heading_deg or 0.0)
    clockwise = (wanted - pilot.heading_rad) % (2.0 * math.pi)
    if leg.direction == "right":
        return clockwise
    if leg.direction == "left":
        return clockwise - 2.0 * math.pi if clockwise > 0.0 else 0.0
    return clockwise if clockwise <= math.pi else clockwise - 2.0 * math.pi


def _compile_climb(
    leg: ClimbLeg, pilot: _Pilot, pieces: _PieceList, plane: MapPlane, path: str
) -> None:
    speed = _speed(pilot, leg.speed)
    rate = float(leg.vertical_rate)
    if rate <= 0.0:
        raise TrajectoryError(f"{path}.vertical_rate", "expected a positive vertical rate")
    change = float(leg.altitude) - float(pilot.position[2])
    if change == 0.0:
        return
    duration = abs(change) / rate
    velocity = _horizontal(pilot.heading_rad, speed, math.copysign(rate, change))
    pieces.add(pilot.clock_s, pilot.position, velocity)
    pilot.position = pilot.position + velocity * duration
    pilot.position[2] = float(leg.altitude)
    pilot.clock_s += duration


def _compile_loiter(
    leg: LoiterLeg, pilot: _Pilot, pieces: _PieceList, plane: MapPlane, path: str
) -> None:
    speed = _speed(pilot, leg.speed)
    radius = float(leg.radius)
    remaining = float(leg.duration)
    if speed <= 0.0:
        raise TrajectoryError(f"{path}.speed", "expected a positive speed to loiter")
    if radius <= 0.0:
        raise TrajectoryError(f"{path}.radius", "expected a positive radius")
    if remaining <= 0.0:
        raise TrajectoryError(f"{path}.duration", "expected a positive duration")
    rate = math.copysign(speed / radius, 1.0 if leg.direction == "right" else -1.0)
    if leg.pattern == "circle":
        _add_arc(pilot, pieces, radius, rate, remaining)
        return
    length = float(leg.length)
    if length <= 0.0:
        raise TrajectoryError(f"{path}.length", "a racetrack needs a positive straight length")
    straight_s = length / speed
    half_turn_s = math.pi / abs(rate)
    while remaining > 0.0:
        step = min(straight_s, remaining)
        velocity = _horizontal(pilot.heading_rad, speed)
        pieces.add(pilot.clock_s, pilot.position, velocity)
        pilot.position = pilot.position + velocity * step
        pilot.clock_s += step
        remaining -= step
        if remaining <= 0.0:
            break
        step = min(half_turn_s, remaining)
        _add_arc(pilot, pieces, radius, rate, step)
        remaining -= step


def _compile_wait(
    leg: WaitLeg, pilot: _Pilot, pieces: _PieceList, plane: MapPlane, path: str
) -> None:
    if leg.duration <= 0.0:
        raise TrajectoryError(f"{path}.duration", "expected a positive duration")
    pieces.add(pilot.clock_s, pilot.position, np.zeros(3))
    pilot.clock_s += float(leg.duration)


def _compile_ballistic(
    leg: BallisticLeg, pilot: _Pilot, pieces: _PieceList, plane: MapPlane, path: str
) -> None:
    gravity = STANDARD_GRAVITY_MPS2
    launch_height = float(pilot.position[2])
    impact_height = float(leg.altitude)
    apogee = float(leg.apogee)
    if apogee <= max(launch_height, impact_height):
        raise TrajectoryError(
            f"{path}.apogee",
            f"expected an apogee above the launch ({launch_height:g} m) and impact "
            f"({impact_height:g} m) heights, got {apogee:g} m",
        )
    vertical_speed = math.sqrt(2.0 * gravity * (apogee - launch_height))
    duration = vertical_speed / gravity + math.sqrt(2.0 * (apogee - impact_height) / gravity)
    target = plane.to_map(leg.lat_deg, leg.lon_deg)
    delta = target - pilot.position[:2]
    velocity = np.array([delta[0] / duration, delta[1] / duration, vertical_speed])
    pieces.add(pilot.clock_s, pilot.position, velocity, gravity=gravity)
    if np.hypot(delta[0], delta[1]) > 0.0:
        pilot.heading_rad = math.atan2(delta[0], delta[1])
    pilot.position = np.array([target[0], target[1], impact_height])
    pilot.clock_s += duration
    pilot.ended = True


def _compile_leg(leg: Leg, pilot: _Pilot, pieces: _PieceList, plane: MapPlane, path: str) -> None:
    match leg:
        case GotoLeg():
            _compile_goto(leg, pilot, pieces, plane, path)
        case StraightLeg():
            _compile_straight(leg, pilot, pieces, plane, path)
        case TurnLeg():
            _compile_turn(leg, pilot, pieces, plane, path)
        case ClimbLeg():
            _compile_climb(leg, pilot, pieces, plane, path)
        case LoiterLeg():
            _compile_loiter(leg, pilot, pieces, plane, path)
        case WaitLeg():
            _compile_wait(leg, pilot, pieces, plane, path)
        case BallisticLeg():
            _compile_ballistic(leg, pilot, pieces, plane, path)


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """A compiled target: identity, trajectory and transponder schedule."""

    target_id: str
    target_class: TargetClass
    affiliation: StandardIdentity
    rcs_dbsm: float
    start_posix: float  # when it appears, POSIX seconds
    trajectory: Trajectory
    plane: MapPlane
    transponder_switch_s: FloatArray  # (K,) seconds after it appears, increasing
    transponder_state: BoolArray  # (K + 1,) state before the first switch, then after each
    icao24: str | None = None
    callsign: str | None = None
    mmsi: int | None = None

    @property
    def end_posix(self) -> float:
        return self.start_posix + self.trajectory.end_s

    def map_states_at(self, times: ArrayLike) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Map-plane states at POSIX ``times``; see `Trajectory.map_states_at`."""
        elapsed = np.atleast_1d(np.asarray(times, dtype=np.float64)) - self.start_posix
        return self.trajectory.map_states_at(elapsed)

    def states_at(self, times: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """ENU positions and velocities (T, 3) in the scenario frame; NaN outside its life."""
        position, velocity, alive = self.map_states_at(times)
        enu_position = np.full_like(position, np.nan)
        enu_velocity = np.full_like(velocity, np.nan)
        if np.any(alive):
            ecef = self.plane.to_ecef(position[alive])
            ecef_velocity = self.plane.velocity_to_ecef(position[alive], velocity[alive])
            enu_position[alive] = self.plane.frame.ecef_to_enu(ecef)
            enu_velocity[alive] = ecef_velocity @ self.plane.frame.rotation.T
        return enu_position, enu_velocity

    def transponder_on_at(self, times: ArrayLike) -> BoolArray:
        elapsed = np.atleast_1d(np.asarray(times, dtype=np.float64)) - self.start_posix
        return self.transponder_state[np.searchsorted(self.transponder_switch_s, elapsed, "right")]


def build_target(spec: TargetSpec, plane: MapPlane, start_posix: float, path: str = "$") -> Target:
    """A `TargetSpec` -> `Target` appearing ``spec.start`` after ``start_posix``."""
    trajectory = compile_route(spec, plane, path)
    cooperative = spec.icao24 is not None or spec.mmsi is not None
    switches = spec.transponder or []
    switch_times = np.array([float(switch.at) for switch in switches], dtype=np.float64)
    if np.any(np.diff(switch_times) < 0.0):
        raise TrajectoryError(f"{path}.transponder", "expected switch times in increasing order")
    states = np.array([cooperative, *(switch.on for switch in switches)], dtype=np.bool_)
    return Target(
        target_id=spec.id,
        target_class=spec.cls,
        affiliation=spec.affiliation,
        rcs_dbsm=DEFAULT_RCS_DBSM[spec.cls] if spec.rcs_dbsm is None else spec.rcs_dbsm,
        start_posix=start_posix + float(spec.start),
        trajectory=trajectory,
        plane=plane,
        transponder_switch_s=switch_times,
        transponder_state=states,
        icao24=spec.icao24,
        callsign=spec.callsign,
        mmsi=spec.mmsi,
    )


@dataclass(frozen=True)
class TargetStates:
    """Every target on one time grid: axis 0 is time (M), axis 1 is target (N)."""

    times: FloatArray  # (M,)
    alive: BoolArray  # (M, N)
    enu_position_m: FloatArray  # (M, N, 3)
    enu_velocity_mps: FloatArray  # (M, N, 3)
    lat_deg: FloatArray  # (M, N)
    lon_deg: FloatArray  # (M, N)
    height_m: FloatArray  # (M, N)
    ecef_m: FloatArray  # (M, N, 3)
    velocity_ecef_mps: FloatArray  # (M, N, 3)
    transponder_on: BoolArray  # (M, N)


@dataclass(frozen=True)
class TargetSet:
    """All targets of a scenario, evaluated together."""

    targets: tuple[Target, ...]
    plane: MapPlane

    def evaluate(self, times: ArrayLike) -> TargetStates:
        grid = np.atleast_1d(np.asarray(times, dtype=np.float64))
        count, size = len(grid), len(self.targets)
        map_position = np.full((count, size, 3), np.nan)
        map_velocity = np.full((count, size, 3), np.nan)
        alive = np.zeros((count, size), dtype=np.bool_)
        transponder = np.zeros((count, size), dtype=np.bool_)
        for column, target in enumerate(self.targets):
            position, velocity, exists = target.map_states_at(grid)
            map_position[:, column] = position
            map_velocity[:, column] = velocity
            alive[:, column] = exists
            transponder[:, column] = target.transponder_on_at(grid) & exists
        ecef = np.full((count, size, 3), np.nan)
        ecef_velocity = np.full((count, size, 3), np.nan)
        lat = np.full((count, size), np.nan)
        lon = np.full((count, size), np.nan)
        height = np.full((count, size), np.nan)
        if np.any(alive):
            live_position = map_position[alive]
            lat[alive], lon[alive] = self.plane.to_geodetic(
                live_position[:, 0], live_position[:, 1]
            )
            height[alive] = live_position[:, 2]
            ecef[alive] = np.stack(geodetic_to_ecef(lat[alive], lon[alive], height[alive]), -1)
            ecef_velocity[alive] = self.plane.velocity_to_ecef(live_position, map_velocity[alive])
        frame = self.plane.frame
        return TargetStates(
            times=grid,
            alive=alive,
            enu_position_m=frame.ecef_to_enu(ecef),
            enu_velocity_mps=ecef_velocity @ frame.rotation.T,
            lat_deg=lat,
            lon_deg=lon,
            height_m=height,
            ecef_m=ecef,
            velocity_ecef_mps=ecef_velocity,
            transponder_on=transponder,
        )


def build_targets(
    specs: Sequence[TargetSpec], frame: LocalFrame, start_posix: float, path: str = "$.targets"
) -> TargetSet:
    plane = MapPlane(frame)
    targets = tuple(
        build_target(spec, plane, start_posix, f"{path}[{index}]")
        for index, spec in enumerate(specs)
    )
    return TargetSet(targets=targets, plane=plane)
