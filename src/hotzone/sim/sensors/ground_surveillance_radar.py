"""2-D ground surveillance radar (GMTI-like) for vehicles and people on the ground.

It measures range, azimuth and radial velocity. Its fan beam gives no elevation: like a
real GMTI processor it places each plot on the terrain, so the reported elevation is the
angle down to the target's ground position, with a variance that stands for the terrain
model's height error (``terrain_height_sigma_m`` seen at that range). Values therefore keep
the polar layout (range, azimuth, elevation) that every polar consumer expects.

Targets whose radial speed is inside the doppler notch (``min_radial_speed_mps``) are
mostly lost in ground clutter: their Pd is multiplied by ``slow_target_pd_factor``.
Plots are timed when the beam passes the target, as for the air surveillance radar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hotzone.sim.sensors.base import SensorContext, SensorOutput
from hotzone.sim.sensors.common import (
    diagonal,
    utc_from_posix,
    wrap_degrees,
)
from hotzone.sim.sensors.config import GroundSurveillanceRadarConfig
from hotzone.sim.sensors.radar import (
    RotatingRadarModel,
    area_clutter,
    beam_geometry,
    clutter_snr,
)
from hotzone.sim.truth import FloatArray, TruthBatch
from hotzone.types import Detection, MeasurementKind


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

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        frame = self.site.frame
        enu = frame.ecef_to_enu(np.asarray(truth.ecef_m, dtype=np.float64).reshape(-1, 3))
        velocity = np.asarray(truth.velocity_ecef_mps, dtype=np.float64).reshape(-1, 3)
        offsets, geometry = beam_geometry(enu, velocity @ frame.rotation.T, config.scan_period_s)
        visible = self.visible(geometry, truth.height_m)
        rcs = np.asarray(truth.rcs_dbsm, dtype=np.float64)
        pd = self.detection_probability(geometry.range_m, rcs, geometry.radial_velocity_mps)
        detected = visible & (rng.random(truth.size) < pd)
        index = np.flatnonzero(detected)
        count = index.size
        true_range = geometry.range_m[index]

        range_m = np.maximum(true_range + rng.normal(0.0, config.range_sigma_m, count), 0.0)
        azimuth = wrap_degrees(
            geometry.azimuth_deg[index] + rng.normal(0.0, config.azimuth_sigma_deg, count)
        )
        elevation = geometry.elevation_deg[index] + rng.normal(
            0.0, 1.0, count
        ) * self.elevation_sigma_deg(true_range)
        doppler = geometry.radial_velocity_mps[index] + rng.normal(
            0.0, config.doppler_sigma_mps, count
        )
        measured_rcs = rcs[index] + rng.normal(0.0, config.rcs_sigma_db, count)
        snr = self.radar_equation.snr(true_range, rcs[index])

        clutter = area_clutter(
            rng,
            config.clutter_rate_per_scan,
            config.min_range_m,
            config.max_range_m,
            config.azimuth_center_deg,
            config.azimuth_width_deg,
            config.refraction_k_factor,
        )
        clutter_snr_linear = clutter_snr(rng, clutter.size, config.false_alarm_probability)
        # Moving clutter (foliage, rain, animals) that leaks just outside the notch.
        clutter_doppler = rng.choice([-1.0, 1.0], clutter.size) * (
            config.min_radial_speed_mps + rng.exponential(1.0, clutter.size)
        )
        return self._plots(
            truth.posix_time,
            np.concatenate([offsets[index], clutter.azimuth_deg / 360.0 * config.scan_period_s]),
            np.concatenate([range_m, clutter.range_m]),
            np.concatenate([azimuth, clutter.azimuth_deg]),
            np.concatenate([elevation, clutter.elevation_deg]),
            np.concatenate([doppler, clutter_doppler]),
            np.concatenate(
                [measured_rcs, self.radar_equation.rcs_for_snr(clutter.range_m, clutter_snr_linear)]
            ),
            np.concatenate([snr, clutter_snr_linear]),
        )

    def _plots(
        self,
        scan_time: float,
        offsets: FloatArray,
        range_m: FloatArray,
        azimuth_deg: FloatArray,
        elevation_deg: FloatArray,
        doppler_mps: FloatArray,
        rcs_dbsm: FloatArray,
        snr_linear: FloatArray,
    ) -> list[SensorOutput]:
        config = self.config
        elevation_variance = self.elevation_sigma_deg(range_m) ** 2
        snr_db = 10.0 * np.log10(np.maximum(snr_linear, 1e-12))
        plots: list[SensorOutput] = []
        for i in np.argsort(offsets, kind="stable"):
            plots.append(
                Detection(
                    detection_id=self.site.next_id(),
                    time=utc_from_posix(scan_time + offsets[i]),
                    sensor_id=self.sensor_id,
                    kind=MeasurementKind.POLAR,
                    values=(float(range_m[i]), float(azimuth_deg[i]), float(elevation_deg[i])),
                    covariance=diagonal(
                        (
                            config.range_sigma_m**2,
                            config.azimuth_sigma_deg**2,
                            float(elevation_variance[i]),
                        )
                    ),
                    sensor_position=self.position,
                    sector=self.site.sector,
                    doppler_mps=float(doppler_mps[i]),
                    rcs_dbsm=float(rcs_dbsm[i]),
                    snr_db=float(snr_db[i]),
                    releasability=self.site.releasability,
                )
            )
        return plots
