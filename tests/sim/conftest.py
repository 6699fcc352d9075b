"""Fixtures of the simulator tests: a tiny real sensor model and a tiny scenario."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from hotzone.sim.sensors.base import SensorModel, SensorOutput
from hotzone.sim.truth import TruthBatch
from hotzone.types import Detection, GeoPoint, MeasurementKind
from hotzone.types.arrays import FloatArray


class NoisyPositionSensor(SensorModel):
    """Every ``period_s`` one cartesian detection per object, with unit Gaussian noise.

    ``latency_s`` is added to ``received_at``, so tests can check delivery ordering.
    """

    def __init__(
        self, sensor_id: str, period_s: float, anchor_s: float, latency_s: float = 0.0
    ) -> None:
        self.sensor_id = sensor_id
        self.position = GeoPoint(lat_deg=54.0, lon_deg=23.0)
        self.period_s = period_s
        self.anchor_s = anchor_s
        self.latency_s = latency_s
        self.observed_sizes: list[int] = []
        self._count = 0

    def observation_times(self, start: float, end: float) -> FloatArray:
        first = np.ceil((start - self.anchor_s) / self.period_s)
        steps = np.arange(first, np.ceil((end - self.anchor_s) / self.period_s))
        times = self.anchor_s + self.period_s * steps
        return times[(times >= start) & (times < end)]

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        self.observed_sizes.append(truth.size)
        noisy = truth.enu_position_m + rng.normal(size=truth.enu_position_m.shape)
        outputs: list[SensorOutput] = []
        for values in noisy:
            self._count += 1
            outputs.append(
                Detection(
                    detection_id=f"{self.sensor_id}-{self._count}",
                    time=truth.time,
                    sensor_id=self.sensor_id,
                    kind=MeasurementKind.CARTESIAN,
                    values=tuple(float(value) for value in values),
                    covariance=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
                    sensor_position=self.position,
                    received_at=truth.time + timedelta(seconds=self.latency_s),
                )
            )
        return outputs


TINY_SCENARIO = """\
name: tiny
description: two aircraft over the Suwałki gap
start: 2025-03-14T02:00:00Z
duration_s: 150
step_s: 1
area: {south_deg: 53.9, west_deg: 22.5, north_deg: 54.5, east_deg: 24.0}
sectors:
  - name: suwalki
    origin: {lat_deg: 54.1, lon_deg: 22.93, altitude: 180 m}
targets:
  - id: drone-1
    class: one_way_attack_drone
    affiliation: hostile
    position: {lat_deg: 54.0, lon_deg: 23.5, altitude: 300 ft}
    speed: 185 km/h
    route:
      - {type: goto, lat_deg: 54.1, lon_deg: 22.95}
  - id: airliner-1
    class: airliner
    affiliation: neutral
    start: 30 s
    icao24: 48ae01
    callsign: LOT281
    position: {lat_deg: 54.3, lon_deg: 22.6, altitude: FL350}
    speed: 450 kt
    heading_deg: 90
    route:
      - {type: straight, duration: 100 s}
"""


@pytest.fixture
def tiny_scenario_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SCENARIO, encoding="utf-8")
    return path


@pytest.fixture
def tiny_scenario_text() -> str:
    return TINY_SCENARIO


@pytest.fixture
def noisy_sensor() -> type[NoisyPositionSensor]:
    """The tiny sensor class, for tests that build several with their own periods."""
    return NoisyPositionSensor
