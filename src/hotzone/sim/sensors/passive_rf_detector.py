"""Passive RF direction finder: bearings to targets whose radio links it hears.

Only emitting classes (drone control links, helicopter radios; configurable) are seen, in
radio line of sight (4/3-Earth horizon) and within ``max_range_m``, each with Pd ``pd``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hotzone.sim.sensors.base import GriddedSensorModel, SensorContext, SensorOutput
from hotzone.sim.sensors.bearing import bearing_detections, noisy_bearings
from hotzone.sim.sensors.common import (
    above_radio_horizon,
    class_mask,
    local_geometry,
)
from hotzone.sim.sensors.config import PassiveRfDetectorConfig
from hotzone.sim.truth import TruthBatch


class PassiveRfDetectorModel(GriddedSensorModel):
    """Bearing-only detections of emitting targets."""

    def __init__(self, config: PassiveRfDetectorConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.update_interval_s)
        self.config = config

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        geometry = local_geometry(self.site.frame, truth)
        heard = (
            class_mask(truth.target_class, config.emitting_classes)
            & (geometry.range_m <= config.max_range_m)
            & above_radio_horizon(config.height_m, truth.height_m, geometry.ground_range_m)
        )
        index = np.flatnonzero(heard & (rng.random(truth.size) < config.pd))
        azimuth, elevation = noisy_bearings(
            rng,
            geometry.azimuth_deg[index],
            geometry.elevation_deg[index] if config.measure_elevation else None,
            config.azimuth_sigma_deg,
            config.elevation_sigma_deg,
        )
        return bearing_detections(
            self.site,
            truth.posix_time,
            azimuth,
            elevation,
            config.azimuth_sigma_deg,
            config.elevation_sigma_deg,
        )
