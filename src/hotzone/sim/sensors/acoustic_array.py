"""Acoustic array: azimuth of loud targets at short range.

Pd falls with range along a logistic curve: ``pd_max`` close in, half of it at
``half_pd_range_m``, over about ``pd_rolloff_m``; nothing beyond ``max_range_m``. Sound
bends round obstacles, so no line-of-sight test is made.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hotzone.sim.sensors.base import GriddedSensorModel, SensorContext, SensorOutput
from hotzone.sim.sensors.bearing import bearing_detections, noisy_bearings
from hotzone.sim.sensors.common import (
    class_mask,
    local_geometry,
    logistic_falloff,
)
from hotzone.sim.sensors.config import AcousticArrayConfig
from hotzone.sim.truth import FloatArray, TruthBatch


class AcousticArrayModel(GriddedSensorModel):
    """Azimuth-only detections of audible targets."""

    def __init__(self, config: AcousticArrayConfig, context: SensorContext) -> None:
        super().__init__(config, context, config.update_interval_s)
        self.config = config

    def detection_probability(self, range_m: FloatArray) -> FloatArray:
        config = self.config
        pd: FloatArray = np.where(
            range_m <= config.max_range_m,
            config.pd_max * logistic_falloff(range_m, config.half_pd_range_m, config.pd_rolloff_m),
            0.0,
        )
        return pd

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        config = self.config
        geometry = local_geometry(self.site.frame, truth)
        audible = class_mask(truth.target_class, config.audible_classes)
        pd = self.detection_probability(geometry.range_m)
        index = np.flatnonzero(audible & (rng.random(truth.size) < pd))
        azimuth, _ = noisy_bearings(
            rng, geometry.azimuth_deg[index], None, config.azimuth_sigma_deg, 1.0
        )
        return bearing_detections(
            self.site, truth.posix_time, azimuth, None, config.azimuth_sigma_deg, 1.0
        )
