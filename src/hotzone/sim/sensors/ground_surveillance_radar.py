"""2-D ground surveillance radar (GMTI-like) for vehicles and people on the ground.

It measures range, azimuth and radial velocity. Its fan beam gives no elevation: like a
real GMTI processor it places each plot on the terrain, so the reported elevation is the
angle down to the target's ground position, with a variance that stands for the terrain
model's height error (``terrain_height_sigma_m`` seen at that range). Values therefore keep
the polar layout (range, azimuth, elevation) that every polar consumer expects.

Targets whose radial speed is inside the doppler notch (``min_radial_speed_mps``) are
mostly lost in ground clutter: their Pd is multiplied by ``slow_target_pd_factor``.
Plots are timed when the beam passes the target, as for the air surveillance radar; the
scan itself is `hotzone.sim.sensors.radar.RotatingRadarModel.observe`.
"""

from __future__ import annotations

import numpy as np

from hotzone.sim.sensors.base import SensorContext
from hotzone.sim.sensors.common import LocalGeometry
from hotzone.sim.sensors.config import GroundSurveillanceRadarConfig
from hotzone.sim.sensors.radar import ClutterPlots, RotatingRadarModel, area_clutter
from hotzone.types.arrays import FloatArray


class GroundSurveillanceRadarModel(RotatingRadarModel):
    """Plots of ground movers: range/azimuth noise, doppler notch, clutter on the ground."""

    def __init__(self, config: GroundSurveillanceRadarConfig, context: SensorContext) -> None:
        super().__init__(config, context)
        self.config: GroundSurveillanceRadarConfig = config

    def detection_probability(
        self, range_m: FloatArray, rcs_dbsm: FloatArray, radial_speed_mps: FloatArray
    ) -> FloatArray:
        """Pd of a target in coverage: the radar equation, times the notch factor if slow."""
        pd = self.radar_equation.detection_probability(range_m, rcs_dbsm)
        slow = np.abs(radial_speed_mps) < self.config.min_radial_speed_mps
        notched: FloatArray = np.where(slow, pd * self.config.slow_target_pd_factor, pd)
        return notched

    def elevation_sigma_deg(self, range_m: FloatArray) -> FloatArray:
        sigma: FloatArray = np.degrees(
            np.arctan2(self.config.terrain_height_sigma_m, np.maximum(range_m, 1.0))
        )
        return sigma

    def target_pd(self, geometry: LocalGeometry, rcs_dbsm: FloatArray) -> FloatArray:
        return self.detection_probability(geometry.range_m, rcs_dbsm, geometry.radial_velocity_mps)

    def clutter(self, rng: np.random.Generator) -> ClutterPlots:
        config = self.config
        return area_clutter(
            rng,
            config.clutter_rate_per_scan,
            config.min_range_m,
            config.max_range_m,
            config.azimuth_center_deg,
            config.azimuth_width_deg,
            config.refraction_k_factor,
        )

    def clutter_doppler(self, rng: np.random.Generator, count: int) -> FloatArray:
        # Moving clutter (foliage, rain, animals) that leaks just outside the notch.
        doppler: FloatArray = rng.choice([-1.0, 1.0], count) * (
            self.config.min_radial_speed_mps + rng.exponential(1.0, count)
        )
        return doppler
