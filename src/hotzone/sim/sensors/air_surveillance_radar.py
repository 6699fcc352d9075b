"""Rotating 3-D air surveillance radar.

Each scan the beam turns clockwise from north, starting at the scan time. A target's plot
is timed when the beam meets its azimuth (the target is moved on in a straight line for
that part of the scan), so plots within one scan are spread over the scan period like a
real radar's. Measurements are polar (range, azimuth, elevation) with Gaussian noise, a
radial velocity (doppler), the RCS and the SNR. Elevation is geometric: refraction is
accounted for only in the 4/3-Earth horizon test, not in the measured angle.

The scan itself (visibility, misses, noise, clutter, plots) is
`hotzone.sim.sensors.radar.RotatingRadarModel.observe`; this model says what is its own.
"""

from __future__ import annotations

import numpy as np

from hotzone.sim.sensors.base import SensorContext
from hotzone.sim.sensors.common import LocalGeometry
from hotzone.sim.sensors.config import AirSurveillanceRadarConfig
from hotzone.sim.sensors.radar import ClutterPlots, RotatingRadarModel, volume_clutter
from hotzone.sim.truth import TruthBatch
from hotzone.types.arrays import FloatArray


class AirSurveillanceRadarModel(RotatingRadarModel):
    """Plots of a rotating 3-D radar: noise, Swerling-1 misses, clutter, horizon."""

    def __init__(self, config: AirSurveillanceRadarConfig, context: SensorContext) -> None:
        super().__init__(config, context)
        self.config: AirSurveillanceRadarConfig = config

    def detection_probability(self, range_m: FloatArray, rcs_dbsm: FloatArray) -> FloatArray:
        """Pd of a target in coverage and line of sight at this range and RCS."""
        return self.radar_equation.detection_probability(range_m, rcs_dbsm)

    def target_pd(self, geometry: LocalGeometry, rcs_dbsm: FloatArray) -> FloatArray:
        return self.detection_probability(geometry.range_m, rcs_dbsm)

    def target_height_m(
        self, truth: TruthBatch, geometry: LocalGeometry, offsets: FloatArray
    ) -> FloatArray:
        # Where the target is when the beam passes it, not at the scan's start.
        height: FloatArray = truth.height_m + geometry.velocity_enu_mps[:, 2] * offsets
        return height

    def elevation_sigma_deg(self, range_m: FloatArray) -> FloatArray:
        return np.full(np.shape(range_m), self.config.elevation_sigma_deg)

    def clutter(self, rng: np.random.Generator) -> ClutterPlots:
        config = self.config
        return volume_clutter(
            rng,
            config.clutter_rate_per_scan,
            config.min_range_m,
            config.max_range_m,
            config.azimuth_center_deg,
            config.azimuth_width_deg,
            config.min_elevation_deg,
            config.max_elevation_deg,
        )

    def clutter_doppler(self, rng: np.random.Generator, count: int) -> FloatArray:
        # Residual clutter (birds, weather, multipath) that survived the MTI filter.
        return rng.normal(0.0, 10.0, count)
