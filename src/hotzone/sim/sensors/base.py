"""The seam between the simulator engine and the sensor models.

The engine asks each sensor when it observes (`SensorModel.observation_times`), computes
the truth at exactly those instants and hands it over (`SensorModel.observe`). A sensor
returns the messages a real sensor of its kind would send, with its own noise, misses,
clutter and latency. Each sensor has its own random generator, so adding a sensor does not
change what the others produce for the same seed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from hotzone.geo import LocalFrame
from hotzone.sim.sensors.common import PlacedSensorConfig, SensorSite, grid_times, site_for
from hotzone.sim.truth import FloatArray, TruthBatch
from hotzone.types import Detection, Event, GeoPoint, Report

SensorOutput = Detection | Report | Event


@dataclass(frozen=True)
class JammingArea:
    """A GNSS interference area: cooperative positions inside it degrade (NIC/NACp drop)."""

    center: GeoPoint
    radius_m: float
    start: datetime
    end: datetime
    strength: float = 1.0  # 0 (none) .. 1 (full denial at the centre)


@dataclass(frozen=True)
class CyberAttack:
    """A cyber attack on a sensor site, seen by cyber sensors and degrading that sensor."""

    target_sensor_id: str
    start: datetime
    end: datetime
    kind: str = "intrusion"
    severity: int = 7


@dataclass(frozen=True)
class SensorContext:
    """What a sensor model may know about the scenario beyond its own configuration."""

    scenario_name: str
    start: datetime
    end: datetime
    frame: LocalFrame
    sector: str = ""
    releasability: str = "NATO"
    jamming_areas: tuple[JammingArea, ...] = ()
    cyber_attacks: tuple[CyberAttack, ...] = ()
    sensor_sites: dict[str, GeoPoint] = field(default_factory=dict)


class SensorModel(ABC):
    """One simulated sensor. Concrete classes are named after the sensor kind."""

    sensor_id: str
    position: GeoPoint

    @abstractmethod
    def observation_times(self, start: float, end: float) -> FloatArray:
        """POSIX seconds in [start, end) at which this sensor produces output."""

    @abstractmethod
    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        """Messages this sensor emits for the truth at one of its observation times."""


class GriddedSensorModel(SensorModel):
    """A sensor on a site that observes on a fixed grid of times from the run's start.

    Every ground, radar and receiver model is one: the site, id, position and the time grid
    live here once; a subclass says how often (``interval_s``) and what it sees.
    """

    site: SensorSite

    def __init__(
        self,
        config: PlacedSensorConfig,
        context: SensorContext,
        interval_s: float,
        offset_s: float = 0.0,
    ) -> None:
        self.site = site_for(config, context)
        self.sensor_id = config.id
        self.position = self.site.position
        self._anchor = context.start.timestamp() + offset_s
        self._interval_s = interval_s

    def observation_times(self, start: float, end: float) -> FloatArray:
        """The grid's times in [start, end)."""
        return grid_times(self._anchor, self._interval_s, start, end)
