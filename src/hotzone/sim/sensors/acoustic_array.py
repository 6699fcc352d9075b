"""Acoustic array: azimuth of loud targets at short range.

Pd falls with range along a logistic curve: ``pd_max`` close in, half of it at
``half_pd_range_m``, over about ``pd_rolloff_m``; nothing beyond ``max_range_m``. Sound
bends round obstacles, so no line-of-sight test is made.
"""

from __future__ import annotations

import numpy as np

from hotzone.sim.sensors.base import SensorContext
from hotzone.sim.sensors.bearing import BearingSensorModel
from hotzone.sim.sensors.common import LocalGeometry, class_mask, logistic_falloff
from hotzone.sim.sensors.config import AcousticArrayConfig
from hotzone.sim.truth import TruthBatch
from hotzone.types.arrays import BoolArray, FloatArray


class AcousticArrayModel(BearingSensorModel):
    """Azimuth-only detections of audible targets."""

    def __init__(self, config: AcousticArrayConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.update_interval_s)
        self.config = config
        self.azimuth_sigma_deg = config.azimuth_sigma_deg
        self.elevation_sigma_deg = None

    def detection_probability(self, range_m: FloatArray) -> FloatArray:
        config = self.config
        pd: FloatArray = np.where(
            range_m <= config.max_range_m,
            config.pd_max * logistic_falloff(range_m, config.half_pd_range_m, config.pd_rolloff_m),
            0.0,
        )
        return pd

    def senses(self, truth: TruthBatch, geometry: LocalGeometry) -> BoolArray:
        return class_mask(truth.target_class, self.config.audible_classes)

    def detection_pd(self, geometry: LocalGeometry) -> FloatArray:
        return self.detection_probability(geometry.range_m)
