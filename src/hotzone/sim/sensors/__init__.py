"""Simulated sensor models: each turns ground truth into the messages a real sensor sends.

Configure a sensor with one of the structs of `SensorConfig` (a tagged union on
``model``) and build it with `build_sensor`; the engine then drives it through the
`SensorModel` seam (`observation_times`, `observe`).
"""

from hotzone.sim.sensors.base import (
    CyberAttack,
    JammingArea,
    SensorContext,
    SensorModel,
    SensorOutput,
)
from hotzone.sim.sensors.config import (
    AcousticArrayConfig,
    AdsbReceiverConfig,
    AirSurveillanceRadarConfig,
    AisStationConfig,
    ConfigError,
    CyberSensorConfig,
    EoIrCameraConfig,
    GroundSurveillanceRadarConfig,
    PassiveRfDetectorConfig,
    SatelliteImagerConfig,
    SensorConfig,
    SensorConfigBase,
    UnattendedGroundSensorConfig,
)
from hotzone.sim.sensors.factory import SENSOR_MODELS, build_sensor
from hotzone.sim.sensors.satellite import TleError, satellite_passes

__all__ = [
    "SENSOR_MODELS",
    "AcousticArrayConfig",
    "AdsbReceiverConfig",
    "AirSurveillanceRadarConfig",
    "AisStationConfig",
    "ConfigError",
    "CyberAttack",
    "CyberSensorConfig",
    "EoIrCameraConfig",
    "GroundSurveillanceRadarConfig",
    "JammingArea",
    "PassiveRfDetectorConfig",
    "SatelliteImagerConfig",
    "SensorConfig",
    "SensorConfigBase",
    "SensorContext",
    "SensorModel",
    "SensorOutput",
    "TleError",
    "UnattendedGroundSensorConfig",
    "build_sensor",
    "satellite_passes",
]
