"""Imaging satellite: positions of ground vehicles and vessels while it passes overhead.

Images are taken on a grid of ``image_interval_s`` while the satellite is within
``scheduling_margin_deg`` of the pass threshold over its tasked area (the config's
lat/lon). Each target is detected only if, from that target, the satellite stands at least
``min_elevation_deg`` high, so every detection lies inside a pass over the target itself.
Detections are WGS-84 positions with metre-scale noise, delivered ``latency_s`` later
(downlink and exploitation): ``received_at`` is ``time + latency_s``. The reported sensor
position is the satellite's own (geodetic, at orbit height).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np

from hotzone.geo import ecef_to_geodetic
from hotzone.sim.sensors.base import SensorContext, SensorModel, SensorOutput
from hotzone.sim.sensors.common import (
    class_mask,
    diagonal,
    grid_times,
    offset_geodetic,
    site_for,
    utc_from_posix,
)
from hotzone.sim.sensors.config import SatelliteImagerConfig
from hotzone.sim.sensors.satellite import (
    elevation_deg,
    parse_tle,
    passes_of,
    satellite_ecef_m,
)
from hotzone.sim.truth import TruthBatch
from hotzone.types import Detection, GeoPoint, MeasurementKind
from hotzone.types.arrays import FloatArray


class SatelliteImagerModel(SensorModel):
    """Position detections of ground/sea targets during passes, with a delivery latency."""

    def __init__(self, config: SatelliteImagerConfig, context: SensorContext) -> None:
        self.config = config
        self.site = site_for(config, context)
        self.sensor_id = config.id
        self.position = self.site.position
        self.satellite = parse_tle(config.tle_line1, config.tle_line2)
        self._anchor = context.start.timestamp()

    def passes(self, start: float, end: float) -> list[tuple[float, float, float]]:
        """Passes over the tasked area: (rise, culmination, set) POSIX seconds."""
        config = self.config
        return passes_of(
            self.satellite,
            config.lat_deg,
            config.lon_deg,
            config.height_m,
            start,
            end,
            config.min_elevation_deg,
        )

    def observation_times(self, start: float, end: float) -> FloatArray:
        config = self.config
        times = grid_times(self._anchor, config.image_interval_s, start, end)
        if times.size == 0:
            return times
        elevations = elevation_deg(
            satellite_ecef_m(self.satellite, times),
            np.array(config.lat_deg),
            np.array(config.lon_deg),
            np.array(config.height_m),
        )
        selected: FloatArray = times[
            elevations >= config.min_elevation_deg - config.scheduling_margin_deg
        ]
        return selected

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        satellite = satellite_ecef_m(self.satellite, np.array([truth.posix_time]))
        elevations = elevation_deg(satellite, truth.lat_deg, truth.lon_deg, truth.height_m)
        imaged = class_mask(truth.target_class, config.imaged_classes) & (
            elevations >= config.min_elevation_deg
        )
        index = np.flatnonzero(imaged & (rng.random(truth.size) < config.pd))
        count = index.size
        lat, lon = offset_geodetic(
            truth.lat_deg[index],
            truth.lon_deg[index],
            rng.normal(0.0, config.position_sigma_m, count),
            rng.normal(0.0, config.position_sigma_m, count),
        )
        height = truth.height_m[index] + rng.normal(0.0, config.height_sigma_m, count)
        sat_lat, sat_lon, sat_height = ecef_to_geodetic(
            satellite[0, 0], satellite[0, 1], satellite[0, 2]
        )
        sensor_position = GeoPoint(
            lat_deg=float(sat_lat), lon_deg=float(sat_lon), height_m=float(sat_height)
        )
        time = utc_from_posix(truth.posix_time)
        received_at = time + timedelta(seconds=config.latency_s)
        covariance = diagonal(
            (config.position_sigma_m**2, config.position_sigma_m**2, config.height_sigma_m**2)
        )
        return [
            Detection(
                detection_id=self.site.next_id(),
                time=time,
                sensor_id=self.sensor_id,
                kind=MeasurementKind.POSITION,
                values=(float(lat[i]), float(lon[i]), float(height[i])),
                covariance=covariance,
                sensor_position=sensor_position,
                sector=self.site.sector,
                class_hint=truth.target_class[index[i]],
                received_at=received_at,
                releasability=self.site.releasability,
            )
            for i in range(count)
        ]
