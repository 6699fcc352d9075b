"""Rotating 3-D air surveillance radar.

Each scan the beam turns clockwise from north, starting at the scan time. A target's plot
is timed when the beam meets its azimuth (the target is moved on in a straight line for
that part of the scan), so plots within one scan are spread over the scan period like a
real radar's. Measurements are polar (range, azimuth, elevation) with Gaussian noise, a
radial velocity (doppler), the RCS and the SNR. Elevation is geometric: refraction is
accounted for only in the 4/3-Earth horizon test, not in the measured angle.
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
from hotzone.sim.sensors.config import AirSurveillanceRadarConfig
from hotzone.sim.sensors.radar import (
    RotatingRadarModel,
    beam_geometry,
    clutter_snr,
    volume_clutter,
)
from hotzone.sim.truth import FloatArray, TruthBatch
from hotzone.types import Detection, MeasurementKind


class AirSurveillanceRadarModel(RotatingRadarModel):
    """Plots of a rotating 3-D radar: noise, Swerling-1 misses, clutter, horizon."""

    def __init__(self, config: AirSurveillanceRadarConfig, context: SensorContext) -> None:
        super().__init__(config, context)
        self.config: AirSurveillanceRadarConfig = config

    def detection_probability(self, range_m: FloatArray, rcs_dbsm: FloatArray) -> FloatArray:
        """Pd of a target in coverage and line of sight at this range and RCS."""
        return self.radar_equation.detection_probability(range_m, rcs_dbsm)

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        frame = self.site.frame
        enu = frame.ecef_to_enu(np.asarray(truth.ecef_m, dtype=np.float64).reshape(-1, 3))
        velocity = np.asarray(truth.velocity_ecef_mps, dtype=np.float64).reshape(-1, 3)
        offsets, geometry = beam_geometry(enu, velocity @ frame.rotation.T, config.scan_period_s)
        # Where the target is when the beam passes it, not at the scan's start.
        visible = self.visible(geometry, truth.height_m + geometry.velocity_enu_mps[:, 2] * offsets)
        rcs = np.asarray(truth.rcs_dbsm, dtype=np.float64)
        snr = self.radar_equation.snr(geometry.range_m, rcs)
        pd = self.radar_equation.detection_probability(geometry.range_m, rcs)
        # Draw for every target, visible or not, so one target's visibility does not shift
        # the random stream of the others.
        detected = visible & (rng.random(truth.size) < pd)
        index = np.flatnonzero(detected)
        count = index.size

        range_m = geometry.range_m[index] + rng.normal(0.0, config.range_sigma_m, count)
        azimuth = wrap_degrees(
            geometry.azimuth_deg[index] + rng.normal(0.0, config.azimuth_sigma_deg, count)
        )
        elevation = geometry.elevation_deg[index] + rng.normal(
            0.0, config.elevation_sigma_deg, count
        )
        doppler = geometry.radial_velocity_mps[index] + rng.normal(
            0.0, config.doppler_sigma_mps, count
        )
        measured_rcs = rcs[index] + rng.normal(0.0, config.rcs_sigma_db, count)
        plot_snr = snr[index]
        plot_offsets = offsets[index]

        clutter = volume_clutter(
            rng,
            config.clutter_rate_per_scan,
            config.min_range_m,
            config.max_range_m,
            config.azimuth_center_deg,
            config.azimuth_width_deg,
            config.min_elevation_deg,
            config.max_elevation_deg,
        )
        clutter_snr_linear = clutter_snr(rng, clutter.size, config.false_alarm_probability)
        # Residual clutter (birds, weather, multipath) that survived the MTI filter.
        clutter_doppler = rng.normal(0.0, 10.0, clutter.size)

        return self._plots(
            truth.posix_time,
            np.concatenate([plot_offsets, clutter.azimuth_deg / 360.0 * config.scan_period_s]),
            np.concatenate([range_m, clutter.range_m]),
            np.concatenate([azimuth, clutter.azimuth_deg]),
            np.concatenate([elevation, clutter.elevation_deg]),
            np.concatenate([doppler, clutter_doppler]),
            np.concatenate(
                [
                    measured_rcs,
                    self.radar_equation.rcs_for_snr(clutter.range_m, clutter_snr_linear),
                ]
            ),
            np.concatenate([plot_snr, clutter_snr_linear]),
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
        covariance = diagonal(
            (config.range_sigma_m**2, config.azimuth_sigma_deg**2, config.elevation_sigma_deg**2)
        )
        snr_db = 10.0 * np.log10(np.maximum(snr_linear, 1e-12))
        plots: list[SensorOutput] = []
        for i in np.argsort(offsets, kind="stable"):
            plots.append(
                Detection(
                    detection_id=self.site.next_id(),
                    time=utc_from_posix(scan_time + offsets[i]),
                    sensor_id=self.sensor_id,
                    kind=MeasurementKind.POLAR,
                    values=(
                        float(max(range_m[i], 0.0)),
                        float(azimuth_deg[i]),
                        float(elevation_deg[i]),
                    ),
                    covariance=covariance,
                    sensor_position=self.position,
                    sector=self.site.sector,
                    doppler_mps=float(doppler_mps[i]),
                    rcs_dbsm=float(rcs_dbsm[i]),
                    snr_db=float(snr_db[i]),
                    releasability=self.site.releasability,
                )
            )
        return plots
