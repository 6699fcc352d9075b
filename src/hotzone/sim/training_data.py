"""Training data for the track classifier: randomized histories of every target class.

Each example is one track history: a target of a known class flown by the simulator's own
trajectory model (`hotzone.sim.targets`) over a randomized route (speeds, heights, turns,
loiters, hovers, ballistic arcs drawn per class), then seen the way the tracker reports it:
sampled every 1-5 s (a radar track) or every 5-12 s (a cooperative feed heard every 10 s,
a radar rotating every 10-12 s), with missed updates (Pd 0.7-1) and, in a third of the
histories, silent gaps of 20-60 s (fringe coverage), position and velocity noise of a
filtered track, RCS samples when a radar saw it, and cooperative identities with
class-typical rates. A fifth of the histories are of young tracks (8-60 s), so youth
is not taken for clutter. Airliners include approaches and departures (70-110 m/s below
2,000 m), which real feeds near airports are full of. Light aircraft and helicopters
fly the ranges of their published performance (`_light_aircraft_route`,
`_helicopter_route`: tows, circuits, take-offs and landings with their ground roll and
taxi, drop planes; hovers, approaches, departures, slow orbits), not only a touring
cruise: real light aircraft spend much of their time at 25-45 m/s, where helicopters
fly too. Clutter (false tracks) is drawn
directly as short erratic tracks. Everything is seeded, so the same seed rebuilds the same data.

This is simulation, so it lives in `sim`; the assessment turns these histories into its
own ``KinematicHistory`` and features (`hotzone.assess.training.build_dataset`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hotzone.geo import LocalFrame
from hotzone.sim.targets import (
    BallisticLeg,
    LoiterLeg,
    Place,
    StraightLeg,
    TargetSpec,
    TurnLeg,
    WaitLeg,
    build_targets,
)
from hotzone.sim.units import AngularRate, Distance, Duration, Speed
from hotzone.types import StandardIdentity, TargetClass
from hotzone.types import TargetClass as C
from hotzone.types.arrays import FloatArray

# Seeds the bench and the tests hold out: training never uses seeds at or above this.
HELD_OUT_SEED_BASE = 1_000_000_000


@dataclass(frozen=True)
class SimulatedHistory:
    """One simulated track history as the tracker would report it, oldest first."""

    times_s: FloatArray
    enu_position_m: FloatArray
    enu_velocity_mps: FloatArray
    height_m: FloatArray
    rcs_dbsm: FloatArray
    has_icao24: bool = False
    has_callsign: bool = False
    has_mmsi: bool = False


@dataclass(frozen=True)
class ClassProfile:
    """How one class is drawn: RCS (dBsm mean, spread) and cooperative identity rates."""

    rcs_dbsm: tuple[float, float]
    icao_probability: float = 0.0
    callsign_probability: float = 0.0
    mmsi_probability: float = 0.0


def class_profiles() -> dict[TargetClass, ClassProfile]:
    return {
        C.AIRLINER: ClassProfile((20.0, 4.0), 0.95, 0.95),
        C.LIGHT_AIRCRAFT: ClassProfile((3.0, 4.0), 0.6, 0.5),
        C.HELICOPTER: ClassProfile((8.0, 4.0), 0.6, 0.5),
        C.SMALL_UAV: ClassProfile((-17.0, 6.0)),
        C.ONE_WAY_ATTACK_DRONE: ClassProfile((-5.0, 3.0)),
        C.CRUISE_MISSILE: ClassProfile((-10.0, 3.0)),
        C.BALLISTIC_MISSILE: ClassProfile((-5.0, 3.0)),
        C.BIRD_FLOCK: ClassProfile((-15.0, 5.0)),
        C.GROUND_VEHICLE: ClassProfile((10.0, 4.0)),
        C.PERSON: ClassProfile((0.0, 3.0)),
        C.VESSEL: ClassProfile((32.0, 6.0), 0.0, 0.6, 0.8),
        C.CLUTTER: ClassProfile((0.0, 8.0)),
    }


# --------------------------------------------------------------------------- routes


def _route(target_class: TargetClass, rng: np.random.Generator) -> tuple[float, float, list[Any]]:
    """(speed m/s, start height m, legs) of one randomized target of ``target_class``."""

    def u(low: float, high: float) -> float:
        return float(rng.uniform(low, high))

    def straight(seconds: float, vertical: float = 0.0, speed: float | None = None) -> Any:
        return StraightLeg(
            duration=Duration(seconds),
            vertical_rate=Speed(vertical),
            speed=None if speed is None else Speed(speed),
        )

    def turn(change: float, rate: float, speed: float | None = None, vertical: float = 0.0) -> Any:
        return TurnLeg(
            heading_change_deg=change,
            turn_rate=AngularRate(rate),
            speed=None if speed is None else Speed(speed),
            vertical_rate=Speed(vertical),
        )

    def loiter(seconds: float, radius: float, racetrack: bool) -> Any:
        return LoiterLeg(
            duration=Duration(seconds),
            radius=Distance(radius),
            pattern="racetrack" if racetrack else "circle",
            length=Distance(u(1000, 5000) if racetrack else 0.0),
            direction="left" if rng.random() < 0.5 else "right",
        )

    def sign() -> float:
        return 1.0 if rng.random() < 0.5 else -1.0

    ground = u(0.0, 350.0)
    if target_class == C.AIRLINER:
        style = rng.random()
        if style < 0.15:  # an approach or a departure
            speed, height = u(70, 110), ground + u(300, 2000)
            rate = sign() * u(3, 12)
            legs = [
                straight(u(100, 400), rate),
                turn(sign() * u(10, 90), u(1, 3)),
                straight(u(100, 300), rate * u(0, 1)),
            ]
        elif style < 0.7:
            speed, height = u(200, 260), u(8000, 12500)
            legs = [
                straight(u(200, 900)),
                turn(sign() * u(5, 40), u(0.5, 2)),
                straight(u(200, 600)),
            ]
        else:
            speed, height = u(110, 200), u(1500, 8000)
            rate = sign() * u(4, 15)
            legs = [
                straight(u(150, 500), rate),
                turn(sign() * u(10, 60), u(1, 3)),
                straight(u(100, 400), rate),
            ]
    elif target_class == C.LIGHT_AIRCRAFT:
        return _light_aircraft_route(rng, ground, u, sign, straight, turn, loiter)
    elif target_class == C.HELICOPTER:
        return _helicopter_route(rng, ground, u, sign, straight, turn, loiter)
    elif target_class == C.SMALL_UAV:
        speed, height = u(8, 40), ground + u(40, 1200)
        if rng.random() < 0.6:
            legs = [straight(u(30, 200)), loiter(u(200, 700), u(80, 2000), rng.random() < 0.4)]
        else:
            legs = [straight(u(60, 300)), turn(sign() * u(30, 180), u(5, 20)), straight(u(60, 300))]
    elif target_class == C.ONE_WAY_ATTACK_DRONE:
        speed, height = u(38, 62), ground + u(50, 900)
        legs = [
            straight(u(100, 500), sign() * u(0, 1)),
            turn(sign() * u(5, 60), u(1, 4)),
            straight(u(100, 500)),
        ]
    elif target_class == C.CRUISE_MISSILE:
        speed, height = u(200, 290), ground + u(15, 150)
        legs = [straight(u(60, 300)), turn(sign() * u(10, 70), u(1, 5)), straight(u(60, 300))]
    elif target_class == C.BALLISTIC_MISSILE:
        speed, height = 0.0, ground
        distance = u(80_000, 500_000)
        bearing = u(0, 2 * math.pi)
        legs = [BallisticLeg(lat_deg=0.0, lon_deg=0.0, apogee=Distance(distance * u(0.2, 0.5)))]
        return speed, height, [*legs, (distance * math.sin(bearing), distance * math.cos(bearing))]
    elif target_class == C.BIRD_FLOCK:
        speed, height = u(6, 22), ground + u(20, 1500)
        legs = []
        for _ in range(int(rng.integers(3, 8))):
            legs += [
                straight(u(20, 120), sign() * u(0, 1.5)),
                turn(sign() * u(5, 90), u(2, 15), u(6, 22)),
            ]
    elif target_class == C.GROUND_VEHICLE:
        speed, height = u(3, 30), ground
        legs = [straight(u(30, 200)), turn(sign() * u(30, 120), u(8, 30)), straight(u(30, 200))]
        if rng.random() < 0.3:
            legs.insert(1, WaitLeg(duration=Duration(u(20, 200))))
    elif target_class == C.PERSON:
        speed, height = u(0.6, 2.2), ground
        legs = [straight(u(60, 300)), turn(sign() * u(20, 150), u(5, 30)), straight(u(60, 300))]
        if rng.random() < 0.3:
            legs.insert(1, WaitLeg(duration=Duration(u(20, 120))))
    else:  # vessel
        speed, height = u(0.5, 12), u(0, 35)
        if rng.random() < 0.25:
            speed = u(0.5, 3)
            legs = [loiter(u(600, 1500), u(200, 800), rng.random() < 0.5)]
        else:
            legs = [
                straight(u(200, 900)),
                turn(sign() * u(5, 60), u(0.2, 1.5)),
                straight(u(200, 900)),
            ]
    return speed, height, legs


# Light aircraft and helicopters fly the ranges their published figures give, not only
# the cruise of a touring aircraft: real light aircraft (tow planes, trainers in the
# circuit, drop planes) spend much of their time at 25-45 m/s, inside a helicopter's
# speeds, and what tells them apart is what they do (a tow climbs for minutes, a circuit
# turns by 90 degrees four times, a helicopter hovers, lands and departs vertically).
#
# Sources (manufacturers' and the FAA's published figures):
# - Cessna 172S (Pilot's Operating Handbook): stall 40-48 KIAS (21-25 m/s), best-rate
#   climb 74 KIAS (38 m/s) at 730 ft/min (3.7 m/s) at sea level, normal approach 60-70
#   KIAS (31-36 m/s), cruise at 75 % power about 124 KTAS (64 m/s); a 30-degree bank at
#   35 m/s is a turn of about 9 deg/s (rate one: 3 deg/s); take-off ground roll 960 ft
#   (290 m, some 20 s), landing ground roll 575 ft (175 m). Every flight starts and ends
#   on the ground, taxiing at walking to 15 kt speeds (3-8 m/s) and holding still: a
#   receiver at an airfield (FLARM, ADS-B) hears that too. Slower types cruise slower: a
#   Piper J-3 Cub at about 65 kt (33 m/s), microlights at 60-90 kt (31-46 m/s).
# - Aerotow (FAA Glider Flying Handbook, FAA-H-8083-13A, "Launch and Recovery
#   Procedures"): tow speeds of about 55-70 kt (28-36 m/s) for most gliders; a Piper
#   PA-25 Pawnee or Robin DR400 tug with a glider climbs at 2-4 m/s (400-800 ft/min) to a
#   release at 400-1,200 m above the field, then descends back at about 4-8 m/s.
# - Parachute drop aircraft: the Cessna 208 Caravan (Pilot's Operating Handbook) climbs
#   at up to 6.3 m/s (1,234 ft/min) at about 54 m/s (104 KIAS) and cruises at up to 96 m/s
#   (186 KTAS); jumpers exit at about 4,000 m (13,000 ft), and the aircraft descends
#   steeply (8-15 m/s) to land before them.
# - Robinson R44 II (Pilot's Operating Handbook): cruise up to 110 KTAS (57 m/s), never
#   exceed 130 KIAS (67 m/s), climb about 1,000 ft/min (5 m/s); Airbus H135: fast cruise
#   about 137 kt (70 m/s), climb up to 1,500 ft/min (7.6 m/s). Helicopters approach at
#   40-60 kt (20-31 m/s) descending at about 500 ft/min (2.5 m/s) to a hover, and fly
#   their tasks (police, rescue, survey) at 150-600 m above the ground, orbiting a point
#   slowly.


def _light_aircraft_route(
    rng: np.random.Generator,
    ground: float,
    u: Any,
    sign: Any,
    straight: Any,
    turn: Any,
    loiter: Any,
) -> tuple[float, float, list[Any]]:
    """(speed, start height, legs) of one light aircraft (sources above)."""
    style = rng.random()
    if style < 0.15:  # a glider thermalling, then gliding on
        speed, height = u(22, 38), ground + u(300, 3000)
        legs = [loiter(u(120, 600), u(60, 200), False), straight(u(60, 300), -u(0.5, 2))]
    elif style < 0.3:  # touring: cruise, a turn, cruise on
        speed, height = u(33, 95), ground + u(300, 3000)
        legs = [
            straight(u(100, 500), sign() * u(0, 3)),
            turn(sign() * u(20, 180), u(2, 9)),
            straight(u(100, 400), sign() * u(0, 2)),
        ]
    elif style < 0.42:  # orbiting a point or flying a racetrack (survey, photo, training)
        speed, height = u(30, 65), ground + u(300, 2500)
        legs = [loiter(u(200, 700), u(300, 1500), rng.random() < 0.5)]
    elif style < 0.6:  # an aerotow (a tug, or a glider on tow), released, back down
        speed, height = u(26, 38), ground + u(30, 300)
        climb = u(1.5, 4.0)
        legs = [
            straight(u(60, 300), climb),
            turn(sign() * u(20, 180), u(3, 9), None, climb),
            straight(u(60, 300), climb),
        ]
        if rng.random() < 0.6:
            legs += [
                turn(sign() * u(90, 180), u(6, 12), u(35, 55)),
                straight(u(60, 150), -u(4, 8), u(35, 55)),
            ]
    elif style < 0.75:  # circuits: four 90-degree turns round the field at about 300 m
        speed, height = u(30, 45), ground + u(250, 450)
        side = sign()
        legs = [
            straight(u(40, 90), u(1.5, 3.5)),
            turn(side * 90, u(3, 9)),
            straight(u(30, 60)),
            turn(side * 90, u(3, 9)),
            straight(u(40, 120)),
            turn(side * 90, u(3, 9)),
            straight(u(30, 60), -u(1.0, 2.0)),
            turn(side * 90, u(3, 9)),
            straight(u(40, 80), -u(1.0, 2.0)),
        ]
    elif style < 0.9:  # a take-off: holding point, line-up, ground roll, climb-out
        speed, height = u(28, 38), ground
        legs = [
            WaitLeg(duration=Duration(u(20, 150))),
            straight(u(10, 40), 0.0, u(3, 8)),
            straight(u(10, 25), 0.0, u(12, 22)),
            straight(u(60, 300), u(2, 4)),
            turn(sign() * u(20, 180), u(3, 9), None, u(1, 3)),
        ]
    elif style < 0.95:  # a landing: final approach, roll-out, taxi, stop
        speed = u(30, 36)
        descent, seconds = u(2.5, 4.0), u(60, 180)
        height = ground + descent * seconds
        legs = [
            straight(seconds, -descent),
            straight(u(10, 25), 0.0, u(12, 20)),
            straight(u(20, 120), 0.0, u(3, 8)),
            WaitLeg(duration=Duration(u(20, 200))),
        ]
    elif style < 0.98:  # a drop plane climbing in wide turns to the exit height
        speed, height = u(45, 60), ground + u(300, 2000)
        climb = u(3, 6.3)
        legs = [
            turn(sign() * u(180, 360), u(2, 6), None, climb),
            straight(u(60, 200), climb),
            turn(sign() * u(180, 360), u(2, 6), None, climb),
        ]
    else:  # a drop plane coming back down after the jump
        speed, height = u(45, 70), ground + u(3500, 4500)
        legs = [
            turn(sign() * u(90, 270), u(3, 8), None, -u(8, 12)),
            straight(u(100, 250), -u(8, 12)),
        ]
    return speed, height, legs


def _helicopter_route(
    rng: np.random.Generator,
    ground: float,
    u: Any,
    sign: Any,
    straight: Any,
    turn: Any,
    loiter: Any,
) -> tuple[float, float, list[Any]]:
    """(speed, start height, legs) of one helicopter (sources above)."""
    style = rng.random()
    if style < 0.35:  # a task with a hover in it
        speed, height = u(20, 60), ground + u(60, 1000)
        legs = [
            straight(u(60, 300)),
            turn(sign() * u(30, 180), u(4, 12)),
            WaitLeg(duration=Duration(u(30, 240))),
            straight(u(60, 300)),
        ]
    elif style < 0.6:  # a transit
        speed, height = u(40, 72), ground + u(150, 1500)
        legs = [
            straight(u(100, 400), sign() * u(0, 4)),
            turn(sign() * u(20, 120), u(3, 12)),
            straight(u(100, 400), sign() * u(0, 2)),
        ]
    elif style < 0.75:  # orbiting a point slowly (police, search, filming)
        speed, height = u(12, 30), ground + u(150, 600)
        legs = [straight(u(30, 120)), loiter(u(200, 600), u(150, 600), False)]
    elif style < 0.9:  # an approach to a hover
        speed = u(20, 35)
        descent, seconds = u(1.5, 4.0), u(60, 150)
        height = ground + descent * seconds + u(20, 100)
        legs = [straight(seconds, -descent), WaitLeg(duration=Duration(u(30, 240)))]
    else:  # a departure from a hover: climb out, then transit
        speed, height = u(25, 45), ground + u(20, 100)
        legs = [
            WaitLeg(duration=Duration(u(20, 120))),
            straight(u(60, 180), u(3, 7)),
            straight(u(100, 300), 0.0, u(45, 70)),
        ]
    return speed, height, legs


def simulate_histories(
    target_class: TargetClass, count: int, rng: np.random.Generator
) -> list[SimulatedHistory]:
    """``count`` randomized track histories of one class, seen as the tracker reports them."""
    if target_class == C.CLUTTER:
        return [_clutter_history(rng) for _ in range(count)]
    return [_target_history(target_class, rng, index) for index in range(count)]


def _target_history(
    target_class: TargetClass, rng: np.random.Generator, index: int
) -> SimulatedHistory:
    latitude, longitude = float(rng.uniform(44, 62)), float(rng.uniform(18, 32))
    frame = LocalFrame(latitude, longitude, 0.0)
    speed, height, legs = _route(target_class, rng)
    if legs and isinstance(legs[-1], tuple):
        east, north = legs.pop()
        lat, lon, _ = frame.enu_to_geodetic(np.array([[east, north, 0.0]]))
        ballistic = legs[0]
        legs = [BallisticLeg(lat_deg=float(lat[0]), lon_deg=float(lon[0]), apogee=ballistic.apogee)]
    spec = TargetSpec(
        id=f"t{index}",
        cls=target_class,
        affiliation=StandardIdentity.UNKNOWN,
        position=Place(lat_deg=latitude, lon_deg=longitude, altitude=Distance(height)),
        route=legs,
        speed=Speed(speed),
        heading_deg=float(rng.uniform(0, 360)),
    )
    targets = build_targets([spec], frame, 0.0)
    # The whole life on a 1 s grid, then a window of it as the track would have seen it.
    grid = np.arange(0.0, 4000.0, 1.0)
    states = targets.evaluate(grid)
    alive = np.flatnonzero(states.alive[:, 0])
    life = grid[alive]
    # A fifth are young tracks (under a minute): otherwise only clutter is ever young, and
    # every new track reads as clutter until its first minute is over.
    young = rng.random() < 0.2
    window = float(rng.uniform(8.0, 60.0) if young else rng.uniform(40.0, 600.0))
    start = float(rng.uniform(life[0], max(life[0], life[-1] - window)))
    # Half the young tracks' histories begin at the track's birth, with the first
    # velocities' errors (older windows start anywhere, so the error has settled).
    newborn = young and rng.random() < 0.5
    return _observed(
        target_class,
        rng,
        life,
        states.enu_position_m[alive, 0],
        states.enu_velocity_mps[alive, 0],
        states.height_m[alive, 0],
        start,
        window,
        newborn,
    )


def _observed(
    target_class: TargetClass,
    rng: np.random.Generator,
    times: np.ndarray[Any, Any],
    position: np.ndarray[Any, Any],
    velocity: np.ndarray[Any, Any],
    height: np.ndarray[Any, Any],
    start: float,
    window: float,
    newborn: bool = False,
) -> SimulatedHistory:
    # A radar track (1-5 s) or a sparse feed (5-12 s): the same class either way.
    update = float(rng.uniform(1.0, 5.0) if rng.random() < 0.5 else rng.uniform(5.0, 12.0))
    sample_times = np.arange(start, min(start + window, times[-1]) + 1e-9, update)
    detection_probability = float(rng.uniform(0.7, 1.0))
    heard = rng.random(len(sample_times)) < detection_probability
    if rng.random() < 1.0 / 3.0:  # fringe coverage: now and then nothing for 20-60 s
        for _ in range(int(rng.integers(1, 4))):
            silent_from = float(rng.uniform(start, start + window))
            heard &= (sample_times < silent_from) | (
                sample_times >= silent_from + float(rng.uniform(20.0, 60.0))
            )
    kept = sample_times[heard]
    if len(kept) < 3:
        kept = sample_times[: max(3, len(kept))]
    rows = np.clip(np.searchsorted(times, kept), 0, len(times) - 1)
    count = len(rows)
    position_sigma = float(rng.uniform(5.0, 120.0))
    velocity_sigma = float(rng.uniform(0.2, 3.0)) + 0.02 * float(np.nanmean(np.abs(velocity)))
    # Filtered tracks wander slowly: the velocity error is a smoothed random walk.
    velocity_error = rng.normal(0.0, velocity_sigma, (count, 3))
    for k in range(1, count):
        velocity_error[k] = 0.7 * velocity_error[k - 1] + 0.3 * velocity_error[k]
    velocity_error[:, 2] *= 0.5
    if newborn:
        # A track's first velocities are guesses (two plots differenced, or a prior of
        # zero) that the filter corrects over its first updates: the fused radar track of
        # a suwalki drone (owa-01) reads a speed spread of 28 m/s over its first 10 s and
        # 23 m/s over 20 s, from its measured updates alone. Trained without it, new
        # tracks read as clutter for up to two minutes.
        initial = rng.normal(0.0, float(rng.uniform(3.0, 25.0)), 3) * [1.0, 1.0, 0.5]
        settling_s = float(rng.uniform(3.0, 20.0))
        age = times[rows] - times[rows][0]
        velocity_error += initial[None, :] * np.exp(-age / settling_s)[:, None]
    noisy_position = position[rows] + rng.normal(0.0, position_sigma, (count, 3)) * [1, 1, 0.5]
    noisy_height = height[rows] + rng.normal(0.0, position_sigma * 0.5, count)
    if rng.random() < 0.3:
        # Seen by 2-D radars only: the track's height and climb are guesses that wander
        # (the fused drone tracks of suwalki read -380 to +550 m and dive at 100 m/s in
        # their first minute), and nothing else about the object is erratic.
        wander = np.cumsum(rng.normal(0.0, 1.0, count))
        wander *= float(rng.uniform(50.0, 300.0)) / max(float(np.std(wander)), 1e-6)
        noisy_height = noisy_height + wander
        noisy_position[:, 2] += wander
        velocity_error[:, 2] += rng.normal(0.0, float(rng.uniform(5.0, 40.0)), count)
    profile = class_profiles()[target_class]
    rcs = np.zeros(0)
    if rng.random() < 0.75:
        mean, spread = profile.rcs_dbsm
        rcs = rng.normal(
            mean + rng.normal(0.0, spread), float(rng.uniform(1.0, 4.0)), int(rng.integers(3, 30))
        )
    return SimulatedHistory(
        times_s=times[rows].astype(np.float64),
        enu_position_m=noisy_position,
        enu_velocity_mps=velocity[rows] + velocity_error,
        height_m=noisy_height,
        rcs_dbsm=rcs,
        has_icao24=bool(rng.random() < profile.icao_probability),
        has_callsign=bool(rng.random() < profile.callsign_probability),
        has_mmsi=bool(rng.random() < profile.mmsi_probability),
    )


def _clutter_history(rng: np.random.Generator) -> SimulatedHistory:
    """A false track: a few scattered plots joined, erratic velocity, short life."""
    count = int(rng.integers(4, 40))
    update = float(rng.uniform(1.0, 5.0))
    times = np.arange(count) * update
    scatter = float(rng.uniform(50.0, 800.0))
    position = rng.normal(0.0, scatter, (count, 3))
    position[:, 2] = rng.uniform(0.0, 4000.0) + rng.normal(0.0, scatter * 0.3, count)
    velocity = np.vstack([np.zeros((1, 3)), np.diff(position, axis=0) / update])
    velocity *= rng.uniform(0.2, 0.8)
    height = position[:, 2].copy()
    return _observed(C.CLUTTER, rng, times, position, velocity, height, 0.0, float(times[-1]))
