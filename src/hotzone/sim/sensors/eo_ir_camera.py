"""EO/IR camera: azimuth and elevation of targets in its field of regard, with a class.

The class hint is the true class with probability ``true_class_probability``; otherwise
another class drawn uniformly from ``confusable_classes`` (a bird flock mistaken for a
drone). The reported confidence is that configured probability, so it is calibrated.
"""

from __future__ import annotations

import numpy as np

from hotzone.sim.sensors.base import SensorContext
from hotzone.sim.sensors.bearing import BearingSensorModel
from hotzone.sim.sensors.common import LocalGeometry, above_radio_horizon, in_azimuth_sector
from hotzone.sim.sensors.config import EoIrCameraConfig
from hotzone.sim.truth import TruthBatch
from hotzone.types import TargetClass
from hotzone.types.arrays import BoolArray, IntArray


class EoIrCameraModel(BearingSensorModel):
    """Bearing (azimuth, elevation) detections with a confusable class hint."""

    def __init__(self, config: EoIrCameraConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.frame_interval_s)
        self.config = config
        self.azimuth_sigma_deg = config.azimuth_sigma_deg
        self.elevation_sigma_deg = config.elevation_sigma_deg

    def senses(self, truth: TruthBatch, geometry: LocalGeometry) -> BoolArray:
        config = self.config
        seen: BoolArray = (
            (geometry.range_m <= config.max_range_m)
            & (geometry.elevation_deg >= config.min_elevation_deg)
            & (geometry.elevation_deg <= config.max_elevation_deg)
            & in_azimuth_sector(
                geometry.azimuth_deg, config.azimuth_center_deg, config.azimuth_width_deg
            )
            # Optical line of sight bends less than radio; the geometric horizon (k = 1).
            & above_radio_horizon(config.height_m, truth.height_m, geometry.ground_range_m, 1.0)
        )
        return seen

    def detection_pd(self, geometry: LocalGeometry) -> float:
        return self.config.pd

    def class_hints(
        self, truth: TruthBatch, index: IntArray, rng: np.random.Generator
    ) -> tuple[list[TargetClass] | None, float | None]:
        hints = [self._class_hint(truth.target_class[i], rng) for i in index]
        return hints, self.config.true_class_probability

    def _class_hint(self, true_class: TargetClass, rng: np.random.Generator) -> TargetClass:
        others = [c for c in self.config.confusable_classes if c != true_class]
        if not others or rng.random() < self.config.true_class_probability:
            return true_class
        return others[int(rng.integers(len(others)))]
