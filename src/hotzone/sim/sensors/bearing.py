"""Bearing-only sensors: the passive RF, acoustic and EO/IR models share one observation
(`BearingSensorModel.observe`) and the building of their detections."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np

from hotzone.sim.sensors.base import GriddedSensorModel, SensorOutput
from hotzone.sim.sensors.common import (
    LocalGeometry,
    SensorSite,
    diagonal,
    local_geometry,
    utc_from_posix,
    wrap_degrees,
)
from hotzone.sim.truth import TruthBatch
from hotzone.types import Detection, MeasurementKind, TargetClass
from hotzone.types.arrays import BoolArray, FloatArray, IntArray


def noisy_bearings(
    rng: np.random.Generator,
    azimuth_deg: FloatArray,
    elevation_deg: FloatArray | None,
    azimuth_sigma_deg: float,
    elevation_sigma_deg: float,
) -> tuple[FloatArray, FloatArray | None]:
    azimuth = wrap_degrees(azimuth_deg + rng.normal(0.0, azimuth_sigma_deg, azimuth_deg.size))
    if elevation_deg is None:
        return azimuth, None
    elevation = np.clip(
        elevation_deg + rng.normal(0.0, elevation_sigma_deg, elevation_deg.size), -90.0, 90.0
    )
    return azimuth, elevation


def bearing_detections(
    site: SensorSite,
    posix_time: float,
    azimuth_deg: FloatArray,
    elevation_deg: FloatArray | None,
    azimuth_sigma_deg: float,
    elevation_sigma_deg: float,
    class_hints: list[TargetClass] | None = None,
    class_confidence: float | None = None,
) -> list[SensorOutput]:
    time = utc_from_posix(posix_time)
    if elevation_deg is None:
        covariance = diagonal((azimuth_sigma_deg**2,))
    else:
        covariance = diagonal((azimuth_sigma_deg**2, elevation_sigma_deg**2))
    detections: list[SensorOutput] = []
    for i in range(azimuth_deg.size):
        values: tuple[float, ...] = (float(azimuth_deg[i]),)
        if elevation_deg is not None:
            values = (float(azimuth_deg[i]), float(elevation_deg[i]))
        detections.append(
            Detection(
                detection_id=site.next_id(),
                time=time,
                sensor_id=site.sensor_id,
                kind=MeasurementKind.BEARING,
                values=values,
                covariance=covariance,
                sensor_position=site.position,
                sector=site.sector,
                class_hint=None if class_hints is None else class_hints[i],
                class_confidence=None if class_hints is None else class_confidence,
                releasability=site.releasability,
            )
        )
    return detections


class BearingSensorModel(GriddedSensorModel):
    """A sensor of directions: each target it can sense is detected with its Pd, measured
    with noisy angles and reported as a bearing; a subclass says which it senses, with
    what Pd, how precisely, and whether it names a class."""

    azimuth_sigma_deg: float
    elevation_sigma_deg: float | None
    """None: azimuth only."""

    @abstractmethod
    def senses(self, truth: TruthBatch, geometry: LocalGeometry) -> BoolArray:
        """Targets in this sensor's view (range, line of sight, emission, sound)."""

    @abstractmethod
    def detection_pd(self, geometry: LocalGeometry) -> FloatArray | float:
        """Pd of each sensed target."""

    def class_hints(
        self, truth: TruthBatch, index: IntArray, rng: np.random.Generator
    ) -> tuple[list[TargetClass] | None, float | None]:
        """The class named with each detection of targets ``index``, and its confidence."""
        return None, None

    def observe(self, truth: TruthBatch, rng: np.random.Generator) -> Sequence[SensorOutput]:
        geometry = local_geometry(self.site.frame, truth)
        sensed = self.senses(truth, geometry)
        index = np.flatnonzero(sensed & (rng.random(truth.size) < self.detection_pd(geometry)))
        elevation_sigma = self.elevation_sigma_deg
        azimuth, elevation = noisy_bearings(
            rng,
            geometry.azimuth_deg[index],
            None if elevation_sigma is None else geometry.elevation_deg[index],
            self.azimuth_sigma_deg,
            1.0 if elevation_sigma is None else elevation_sigma,
        )
        hints, confidence = self.class_hints(truth, index, rng)
        return bearing_detections(
            self.site,
            truth.posix_time,
            azimuth,
            elevation,
            self.azimuth_sigma_deg,
            1.0 if elevation_sigma is None else elevation_sigma,
            class_hints=hints,
            class_confidence=confidence,
        )
