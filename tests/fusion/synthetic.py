"""Small seeded scenarios made directly as arrays, for tracker tests without the simulator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotzone.fusion.measurement import BearingMeasurement, PositionMeasurement
from hotzone.fusion.scan import SensorScan
from hotzone.types.arrays import FloatArray


@dataclass(frozen=True)
class Trajectories:
    """positions[k, i] and velocities[k, i] of target i at scan k (3-D ENU metres)."""

    times: FloatArray
    positions: FloatArray
    velocities: FloatArray


def straight_lines(
    targets: int, scans: int, rng: np.random.Generator, area_m: float = 50_000.0
) -> Trajectories:
    start = rng.uniform(0, area_m, (targets, 3))
    start[:, 2] = rng.uniform(100, 3000, targets)
    speed = rng.uniform(20, 250, targets)
    heading = rng.uniform(0, 2 * np.pi, targets)
    velocity = np.stack([speed * np.sin(heading), speed * np.cos(heading), np.zeros(targets)], 1)
    times = np.arange(scans, dtype=np.float64)
    positions = start[None] + times[:, None, None] * velocity[None]
    return Trajectories(times, positions, np.broadcast_to(velocity, positions.shape).copy())


def turning_target(scans: int, turn_rate: float, speed: float = 150.0) -> Trajectories:
    """Straight for a third of the time, a coordinated turn, then straight again."""
    positions = np.zeros((scans, 1, 3))
    velocities = np.zeros((scans, 1, 3))
    position = np.array([0.0, 0.0, 1000.0])
    heading = 0.0
    for k in range(scans):
        rate = turn_rate if scans // 3 <= k < 2 * scans // 3 else 0.0
        velocity = speed * np.array([np.sin(heading), np.cos(heading), 0.0])
        positions[k, 0], velocities[k, 0] = position, velocity
        heading += rate
        position = position + speed * np.array(
            [np.sin(heading - rate / 2), np.cos(heading - rate / 2), 0.0]
        )
    return Trajectories(np.arange(scans, dtype=np.float64), positions, velocities)


def position_scan(
    truth: FloatArray,
    time: float,
    rng: np.random.Generator,
    sigma_m: float = 30.0,
    detection_probability: float = 1.0,
    clutter: int = 0,
    area_m: float = 50_000.0,
    sensor_id: str = "radar",
) -> SensorScan:
    detected = truth[rng.random(len(truth)) < detection_probability]
    values = detected + sigma_m * rng.standard_normal(detected.shape)
    if clutter:
        noise_points = rng.uniform(0, area_m, (clutter, 3))
        values = np.vstack([values, noise_points])
    count = len(values)
    return SensorScan(
        sensor_id=sensor_id,
        model=PositionMeasurement(3),
        values=values,
        noise=np.broadcast_to(sigma_m**2 * np.eye(3), (count, 3, 3)).copy(),
        times=np.full(count, time),
        sensor_position=np.zeros(3),
    )


def bearing_scan(
    truth: FloatArray,
    time: float,
    sensor_position: FloatArray,
    rng: np.random.Generator,
    sigma_rad: float = np.radians(1.0),
    sensor_id: str = "df",
) -> SensorScan:
    model = BearingMeasurement(with_elevation=False)
    exact = model.measure(truth, np.broadcast_to(sensor_position, truth.shape))
    values = exact + sigma_rad * rng.standard_normal(exact.shape)
    return SensorScan(
        sensor_id=sensor_id,
        model=model,
        values=values,
        noise=np.full((len(truth), 1, 1), sigma_rad**2),
        times=np.full(len(truth), time),
        sensor_position=np.asarray(sensor_position, dtype=np.float64),
    )
