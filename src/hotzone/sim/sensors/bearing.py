"""Building bearing-only detections, shared by the passive RF, acoustic and EO/IR models."""

from __future__ import annotations

import numpy as np

from hotzone.sim.sensors.base import SensorOutput
from hotzone.sim.sensors.common import SensorSite, diagonal, utc_from_posix, wrap_degrees
from hotzone.types import Detection, MeasurementKind, TargetClass
from hotzone.types.arrays import FloatArray


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
