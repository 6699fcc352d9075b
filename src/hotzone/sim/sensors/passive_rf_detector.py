"""Passive RF direction finder: bearings to targets whose radio links it hears.

Only emitting classes (drone control links, helicopter radios; configurable) are seen, in
radio line of sight (4/3-Earth horizon) and within ``max_range_m``, each with Pd ``pd``.
"""

from __future__ import annotations

from hotzone.sim.sensors.base import SensorContext
from hotzone.sim.sensors.bearing import BearingSensorModel
from hotzone.sim.sensors.common import LocalGeometry, above_radio_horizon, class_mask
from hotzone.sim.sensors.config import PassiveRfDetectorConfig
from hotzone.sim.truth import TruthBatch
from hotzone.types.arrays import BoolArray


class PassiveRfDetectorModel(BearingSensorModel):
    """Bearing-only detections of emitting targets."""

    def __init__(self, config: PassiveRfDetectorConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.update_interval_s)
        self.config = config
        self.azimuth_sigma_deg = config.azimuth_sigma_deg
        self.elevation_sigma_deg = config.elevation_sigma_deg if config.measure_elevation else None

    def senses(self, truth: TruthBatch, geometry: LocalGeometry) -> BoolArray:
        config = self.config
        heard: BoolArray = (
            class_mask(truth.target_class, config.emitting_classes)
            & (geometry.range_m <= config.max_range_m)
            & above_radio_horizon(config.height_m, truth.height_m, geometry.ground_range_m)
        )
        return heard

    def detection_pd(self, geometry: LocalGeometry) -> float:
        return self.config.pd
