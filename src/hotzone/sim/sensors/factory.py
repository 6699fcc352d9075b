"""Building a sensor model from its configuration: one dict literal, config class -> model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hotzone.sim.sensors.acoustic_array import AcousticArrayModel
from hotzone.sim.sensors.adsb_receiver import AdsbReceiverModel
from hotzone.sim.sensors.air_surveillance_radar import AirSurveillanceRadarModel
from hotzone.sim.sensors.ais_station import AisStationModel
from hotzone.sim.sensors.base import SensorContext, SensorModel
from hotzone.sim.sensors.config import (
    AcousticArrayConfig,
    AdsbReceiverConfig,
    AirSurveillanceRadarConfig,
    AisStationConfig,
    CyberSensorConfig,
    EoIrCameraConfig,
    GroundSurveillanceRadarConfig,
    PassiveRfDetectorConfig,
    SatelliteImagerConfig,
    SensorConfig,
    UnattendedGroundSensorConfig,
)
from hotzone.sim.sensors.cyber_sensor import CyberSensorModel
from hotzone.sim.sensors.eo_ir_camera import EoIrCameraModel
from hotzone.sim.sensors.ground_surveillance_radar import GroundSurveillanceRadarModel
from hotzone.sim.sensors.passive_rf_detector import PassiveRfDetectorModel
from hotzone.sim.sensors.satellite_imager import SatelliteImagerModel
from hotzone.sim.sensors.unattended_ground_sensor import UnattendedGroundSensorModel

# Each model's constructor takes its own config class; the dict pairs them by hand, so the
# mapping is greppable and a missing model fails the test that builds every config.
SENSOR_MODELS: dict[type[Any], Callable[[Any, SensorContext], SensorModel]] = {
    AirSurveillanceRadarConfig: AirSurveillanceRadarModel,
    GroundSurveillanceRadarConfig: GroundSurveillanceRadarModel,
    PassiveRfDetectorConfig: PassiveRfDetectorModel,
    AcousticArrayConfig: AcousticArrayModel,
    UnattendedGroundSensorConfig: UnattendedGroundSensorModel,
    EoIrCameraConfig: EoIrCameraModel,
    SatelliteImagerConfig: SatelliteImagerModel,
    AdsbReceiverConfig: AdsbReceiverModel,
    AisStationConfig: AisStationModel,
    CyberSensorConfig: CyberSensorModel,
}


def build_sensor(config: SensorConfig, context: SensorContext) -> SensorModel:
    """The sensor model for ``config``; raises ValueError for an unknown config type."""
    model = SENSOR_MODELS.get(type(config))
    if model is None:
        raise ValueError(f"no sensor model for config type {type(config).__name__}")
    return model(config, context)
