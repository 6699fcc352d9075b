"""Target trajectories: speeds, turn radii, climbs, loiters and ballistic arcs."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest

from hotzone.geo import LocalFrame
from hotzone.sim.targets import (
    STANDARD_GRAVITY_MPS2,
    Target,
    TargetSpec,
    TrajectoryError,
    build_targets,
)
from hotzone.sim.units import quantity_decode_hook

FRAME = LocalFrame(54.10, 23.00, 0.0)
START = 1_700_000_000.0


def make_target(route: list[dict[str, Any]], **fields: Any) -> Target:
    raw = {
        "id": "t",
        "class": fields.pop("cls", "airliner"),
        "affiliation": "neutral",
        "position": fields.pop("position", {"lat_deg": 54.10, "lon_deg": 23.00, "altitude": 1000}),
        "route": route,
        **fields,
    }
    spec = msgspec.convert(raw, TargetSpec, dec_hook=quantity_decode_hook)
    return build_targets([spec], FRAME, START).targets[0]


def horizontal_speed(velocity: np.ndarray) -> np.ndarray:
    return np.hypot(velocity[:, 0], velocity[:, 1])


def test_goto_flies_at_the_given_speed_and_ends_on_the_waypoint() -> None:
    target = make_target([{"type": "goto", "lat_deg": 54.10, "lon_deg": 23.50}], speed="120 kt")
    times = START + np.linspace(0.0, target.trajectory.end_s * 0.99, 50)
    _, velocity = target.states_at(times)
    assert horizontal_speed(velocity) == pytest.approx(120 * 1852 / 3600, rel=1e-3)
    states = build_targets([], FRAME, START)  # an empty scenario evaluates to nothing
    assert states.evaluate(times).alive.shape == (50, 0)
    # The leg's length over the speed is its duration: ~32.7 km at 61.7 m/s.
    assert target.trajectory.end_s == pytest.approx(32_690 / 61.73, rel=0.01)
    last = target.plane.to_geodetic(
        *target.map_states_at(START + target.end_posix - START - 1e-6)[0][0, :2]
    )
    assert float(last[0][()]) == pytest.approx(54.10, abs=1e-6)
    assert float(last[1][()]) == pytest.approx(23.50, abs=1e-6)


def test_target_does_not_exist_before_its_start_or_after_its_route() -> None:
    target = make_target(
        [{"type": "straight", "duration": 60}], speed=100, heading_deg=90, start="2 min"
    )
    position, velocity = target.states_at(START + np.array([0.0, 119.9, 120.0, 179.9, 180.0]))
    alive = ~np.isnan(position[:, 0])
    assert alive.tolist() == [False, False, True, True, False]
    assert np.isnan(velocity[~alive]).all()


@pytest.mark.parametrize(
    ("turn", "radius_m"),
    [({"radius": "2 km"}, 2000.0), ({"turn_rate": "3 deg/s"}, 100.0 / math.radians(3.0))],
)
def test_coordinated_turn_keeps_speed_and_radius(turn: dict[str, Any], radius_m: float) -> None:
    target = make_target(
        [
            {"type": "straight", "duration": 10},
            {"type": "turn", "heading_change_deg": 270, **turn},
            {"type": "straight", "duration": 10},
        ],
        speed=100,
        heading_deg=0,
    )
    turn_start, turn_end = target.trajectory.piece_start_s[1:3]
    assert turn_end - turn_start == pytest.approx(1.5 * math.pi * radius_m / 100.0)
    times = START + np.linspace(turn_start, turn_end, 40)
    map_position, map_velocity, _ = target.map_states_at(times)
    # A right turn from north: the centre lies one radius east of the turn's start.
    center = map_position[0, :2] + np.array([radius_m, 0.0])
    distances = np.hypot(*(map_position[:, :2] - center).T)
    assert distances == pytest.approx(radius_m, rel=1e-9)
    assert horizontal_speed(map_velocity) == pytest.approx(100.0)
    after = target.map_states_at(START + turn_end + 5.0)[1][0]
    assert math.degrees(math.atan2(after[0], after[1])) % 360 == pytest.approx(270.0)


def test_climb_at_vertical_rate_to_the_level() -> None:
    target = make_target(
        [{"type": "climb", "altitude": "FL350", "vertical_rate": "2000 ft/min"}],
        speed=200,
        heading_deg=45,
    )
    climb_m = 35_000 * 0.3048 - 1000.0
    rate = 2000 * 0.3048 / 60
    assert target.trajectory.end_s == pytest.approx(climb_m / rate)
    times = START + np.linspace(0.0, target.trajectory.end_s - 1e-6, 20)
    position, velocity, _ = target.map_states_at(times)
    assert velocity[:, 2] == pytest.approx(rate)
    assert position[-1, 2] == pytest.approx(35_000 * 0.3048, abs=1e-3)
    assert horizontal_speed(velocity) == pytest.approx(200.0)


def test_ballistic_arc_reaches_its_apogee_and_hits_the_impact_point() -> None:
    target = make_target(
        [{"type": "ballistic", "lat_deg": 54.10, "lon_deg": 25.00, "apogee": "50 km"}],
        cls="ballistic_missile",
        position={"lat_deg": 54.10, "lon_deg": 23.00, "altitude": 0},
    )
    end = target.trajectory.end_s
    assert end == pytest.approx(2 * math.sqrt(2 * 50_000 / STANDARD_GRAVITY_MPS2))
    times = START + np.linspace(0.0, end - 1e-6, 2001)
    position, velocity, _ = target.map_states_at(times)
    assert position[:, 2].max() == pytest.approx(50_000.0, rel=1e-4)
    accelerations = np.diff(velocity[:, 2]) / np.diff(times)
    assert accelerations == pytest.approx(-STANDARD_GRAVITY_MPS2)
    lat, lon = target.plane.to_geodetic(position[-1, 0], position[-1, 1])
    assert (float(lat[()]), float(lon[()])) == pytest.approx((54.10, 25.00), abs=1e-4)
    enu, _ = target.states_at(times[[0, 1000]])
    # Above the launch point's tangent plane at apogee, despite the Earth's curvature.
    assert enu[1, 2] > 49_000.0


def test_ballistic_apogee_below_launch_is_refused() -> None:
    with pytest.raises(TrajectoryError, match=r"\$\.targets\[0\]\.route\[0\]\.apogee"):
        make_target([{"type": "ballistic", "lat_deg": 54.2, "lon_deg": 23.1, "apogee": 500}])


@pytest.mark.parametrize("pattern", ["circle", "racetrack"])
def test_loiter_comes_back_over_its_start_at_constant_speed(pattern: str) -> None:
    target = make_target(
        [
            {
                "type": "loiter",
                "pattern": pattern,
                "radius": "1 km",
                "length": "3 km",
                "duration": "1 h",
                "speed": "10 kt",
            }
        ],
        cls="vessel",
        heading_deg=90,
        position={"lat_deg": 54.10, "lon_deg": 23.00},
    )
    assert target.trajectory.end_s == pytest.approx(3600.0)
    times = START + np.arange(0.0, 3600.0, 1.0)
    position, velocity, _ = target.map_states_at(times)
    assert horizontal_speed(velocity) == pytest.approx(10 * 1852 / 3600)
    distance_from_start = np.hypot(*(position[:, :2] - position[0, :2]).T)
    assert distance_from_start.max() < 2_000.0 + 3_000.0 + 1.0
    lap = 2 * math.pi * 1000.0 + (2 * 3000.0 if pattern == "racetrack" else 0.0)
    lap_s = lap / (10 * 1852 / 3600)
    back = target.map_states_at(START + lap_s)[0][0]
    assert np.hypot(*(back[:2] - position[0, :2])) < 1e-6 * lap


def test_transponder_schedule_and_identity_defaults() -> None:
    target = make_target(
        [{"type": "straight", "duration": 600}],
        cls="vessel",
        speed=5,
        mmsi=518998123,
        transponder=[{"at": "2 min", "on": False}, {"at": "5 min", "on": True}],
    )
    on = target.transponder_on_at(START + np.array([0.0, 119.0, 121.0, 299.0, 301.0]))
    assert on.tolist() == [True, True, False, False, True]
    assert target.rcs_dbsm > 20.0  # a vessel's default cross-section
    silent = make_target([{"type": "straight", "duration": 60}], cls="small_uav", speed=20)
    assert not silent.transponder_on_at(START + 10.0)[0]


def test_wait_holds_position() -> None:
    target = make_target([{"type": "wait", "duration": 60}], cls="ground_vehicle", speed=10)
    position, velocity = target.states_at(START + np.array([0.0, 30.0, 59.0]))
    assert np.allclose(position, position[0])
    assert np.allclose(velocity, 0.0)
