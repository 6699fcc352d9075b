"""Configuration of every simulated sensor model, as validated msgspec structs.

A scenario lists its sensors as a tagged union on the ``model`` field, e.g.
``{"model": "air_surveillance_radar", "id": "asr-1", "lat_deg": 52.1, ...}``. Units are in
the field names; constraints (``ge``/``le``) make a bad value fail decoding with the path of
the field (``$.sensors[2].range_sigma_m``). Cross-field rules (min below max) are checked in
``__post_init__``, which msgspec reports the same way during decoding.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from hotzone.types import TargetClass

SensorId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="unique sensor id; letters, digits, '_', '-', '.' (it is a bus subject token)",
    ),
]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0, description="WGS-84 degrees")]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0, description="WGS-84 degrees")]
Height = Annotated[
    float, msgspec.Meta(ge=-500.0, le=100_000.0, description="metres above the ellipsoid")
]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0.0, le=86_400.0)]
NonNegativeSeconds = Annotated[float, msgspec.Meta(ge=0.0, le=86_400.0)]
Range = Annotated[float, msgspec.Meta(gt=0.0, le=2_000_000.0, description="metres")]
NonNegativeRange = Annotated[float, msgspec.Meta(ge=0.0, le=2_000_000.0, description="metres")]
Sigma = Annotated[float, msgspec.Meta(gt=0.0, le=1_000_000.0)]
AngleSigma = Annotated[float, msgspec.Meta(gt=0.0, le=90.0, description="degrees, 1 sigma")]
Elevation = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0, description="degrees")]
Azimuth = Annotated[float, msgspec.Meta(ge=0.0, lt=360.0, description="degrees from north")]
AzimuthWidth = Annotated[float, msgspec.Meta(gt=0.0, le=360.0, description="degrees")]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
OpenProbability = Annotated[float, msgspec.Meta(gt=0.0, lt=1.0)]
Rcs = Annotated[float, msgspec.Meta(ge=-60.0, le=60.0, description="dBsm")]
RatePerHour = Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)]
TleLine = Annotated[str, msgspec.Meta(min_length=69, max_length=69, description="one TLE line")]
Classes = tuple[TargetClass, ...]


class ConfigError(ValueError):
    """A sensor configuration that breaks a rule spanning several fields."""


class SensorConfigBase(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="model", kw_only=True
):
    """Fields every sensor has: its id and site, and optionally the sector it reports to."""

    id: SensorId
    lat_deg: Latitude
    lon_deg: Longitude
    height_m: Height = 0.0
    sector: str | None = None  # None: the scenario's sector


def _require_below(low: float, high: float, low_name: str, high_name: str) -> None:
    if not low < high:
        raise ConfigError(f"{low_name} ({low}) must be below {high_name} ({high})")


class AirSurveillanceRadarConfig(SensorConfigBase, frozen=True, tag="air_surveillance_radar"):
    """Rotating 3-D radar: polar plots once per scan, Swerling-1 Pd, Poisson clutter."""

    scan_period_s: PositiveSeconds = 4.0
    scan_offset_s: NonNegativeSeconds = 0.0
    min_range_m: NonNegativeRange = 1_000.0
    max_range_m: Range = 150_000.0
    min_elevation_deg: Elevation = -2.0
    max_elevation_deg: Elevation = 40.0
    azimuth_center_deg: Azimuth = 0.0
    azimuth_width_deg: AzimuthWidth = 360.0
    range_sigma_m: Sigma = 50.0
    azimuth_sigma_deg: AngleSigma = 0.2
    elevation_sigma_deg: AngleSigma = 0.5
    doppler_sigma_mps: Sigma = 1.0
    rcs_sigma_db: Sigma = 2.0
    pd_reference: OpenProbability = 0.9
    reference_range_m: Range = 100_000.0
    reference_rcs_dbsm: Rcs = 0.0
    false_alarm_probability: OpenProbability = 1e-6
    clutter_rate_per_scan: Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)] = 2.0
    refraction_k_factor: Annotated[float, msgspec.Meta(ge=1.0, le=4.0)] = 4.0 / 3.0

    def __post_init__(self) -> None:
        _check_radar_limits(self)


class GroundSurveillanceRadarConfig(SensorConfigBase, frozen=True, tag="ground_surveillance_radar"):
    """2-D ground radar: range and azimuth of movers; a doppler notch hides slow targets."""

    scan_period_s: PositiveSeconds = 2.0
    scan_offset_s: NonNegativeSeconds = 0.0
    min_range_m: NonNegativeRange = 100.0
    max_range_m: Range = 30_000.0
    min_elevation_deg: Elevation = -10.0
    max_elevation_deg: Elevation = 10.0
    azimuth_center_deg: Azimuth = 0.0
    azimuth_width_deg: AzimuthWidth = 360.0
    range_sigma_m: Sigma = 10.0
    azimuth_sigma_deg: AngleSigma = 0.3
    terrain_height_sigma_m: Sigma = 10.0
    doppler_sigma_mps: Sigma = 0.3
    rcs_sigma_db: Sigma = 2.0
    pd_reference: OpenProbability = 0.9
    reference_range_m: Range = 20_000.0
    reference_rcs_dbsm: Rcs = 10.0
    false_alarm_probability: OpenProbability = 1e-6
    min_radial_speed_mps: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] = 1.0
    slow_target_pd_factor: Probability = 0.02
    clutter_rate_per_scan: Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)] = 1.0
    refraction_k_factor: Annotated[float, msgspec.Meta(ge=1.0, le=4.0)] = 4.0 / 3.0

    def __post_init__(self) -> None:
        _check_radar_limits(self)


def _check_radar_limits(config: AirSurveillanceRadarConfig | GroundSurveillanceRadarConfig) -> None:
    """Rules spanning two fields, shared by both radars: ranges, elevations, Pfa below Pd."""
    _require_below(config.min_range_m, config.max_range_m, "min_range_m", "max_range_m")
    _require_below(
        config.min_elevation_deg, config.max_elevation_deg, "min_elevation_deg", "max_elevation_deg"
    )
    _require_below(
        config.false_alarm_probability,
        config.pd_reference,
        "false_alarm_probability",
        "pd_reference",
    )


class PassiveRfDetectorConfig(SensorConfigBase, frozen=True, tag="passive_rf_detector"):
    """Direction finder on the control links of emitting targets (drones, helicopters)."""

    update_interval_s: PositiveSeconds = 1.0
    max_range_m: Range = 10_000.0
    azimuth_sigma_deg: AngleSigma = 2.0
    measure_elevation: bool = False
    elevation_sigma_deg: AngleSigma = 3.0
    pd: Probability = 0.9
    emitting_classes: Classes = (
        TargetClass.SMALL_UAV,
        TargetClass.ONE_WAY_ATTACK_DRONE,
        TargetClass.HELICOPTER,
    )


class AcousticArrayConfig(SensorConfigBase, frozen=True, tag="acoustic_array"):
    """Microphone array: bearings of loud targets, Pd falling with range."""

    update_interval_s: PositiveSeconds = 1.0
    max_range_m: Range = 2_000.0
    half_pd_range_m: Range = 800.0
    pd_rolloff_m: Range = 150.0
    pd_max: Probability = 0.95
    azimuth_sigma_deg: AngleSigma = 3.0
    audible_classes: Classes = (
        TargetClass.SMALL_UAV,
        TargetClass.ONE_WAY_ATTACK_DRONE,
        TargetClass.HELICOPTER,
        TargetClass.LIGHT_AIRCRAFT,
        TargetClass.GROUND_VEHICLE,
    )


class UnattendedGroundSensorConfig(SensorConfigBase, frozen=True, tag="unattended_ground_sensor"):
    """Seismic/PIR ground sensor: a proximity event when a mover comes within its radius."""

    sample_period_s: PositiveSeconds = 1.0
    detection_radius_m: Range = 30.0
    pd: Probability = 0.95
    class_hint_probability: Probability = 0.8
    false_alarm_rate_per_hour: RatePerHour = 0.1
    severity: Annotated[int, msgspec.Meta(ge=0, le=10)] = 3
    detectable_classes: Classes = (TargetClass.GROUND_VEHICLE, TargetClass.PERSON)


class EoIrCameraConfig(SensorConfigBase, frozen=True, tag="eo_ir_camera"):
    """Electro-optical/infrared camera: precise bearings and a (sometimes wrong) class."""

    frame_interval_s: PositiveSeconds = 1.0
    max_range_m: Range = 8_000.0
    azimuth_center_deg: Azimuth = 0.0
    azimuth_width_deg: AzimuthWidth = 360.0
    min_elevation_deg: Elevation = -10.0
    max_elevation_deg: Elevation = 60.0
    azimuth_sigma_deg: AngleSigma = 0.05
    elevation_sigma_deg: AngleSigma = 0.05
    pd: Probability = 0.9
    true_class_probability: Probability = 0.8
    confusable_classes: Classes = (
        TargetClass.SMALL_UAV,
        TargetClass.ONE_WAY_ATTACK_DRONE,
        TargetClass.BIRD_FLOCK,
        TargetClass.LIGHT_AIRCRAFT,
        TargetClass.HELICOPTER,
        TargetClass.GROUND_VEHICLE,
        TargetClass.PERSON,
    )

    def __post_init__(self) -> None:
        _require_below(
            self.min_elevation_deg, self.max_elevation_deg, "min_elevation_deg", "max_elevation_deg"
        )


class SatelliteImagerConfig(SensorConfigBase, frozen=True, tag="satellite_imager"):
    """Imaging satellite from a TLE; the common lat/lon is the area it is tasked over."""

    tle_line1: TleLine
    tle_line2: TleLine
    min_elevation_deg: Annotated[float, msgspec.Meta(ge=0.0, lt=90.0)] = 30.0
    scheduling_margin_deg: Annotated[float, msgspec.Meta(ge=0.0, le=45.0)] = 10.0
    image_interval_s: PositiveSeconds = 30.0
    latency_s: NonNegativeSeconds = 1_800.0
    position_sigma_m: Sigma = 10.0
    height_sigma_m: Sigma = 30.0
    pd: Probability = 0.9
    imaged_classes: Classes = (TargetClass.GROUND_VEHICLE, TargetClass.VESSEL)


class AdsbReceiverConfig(SensorConfigBase, frozen=True, tag="adsb_receiver"):
    """1090 MHz receiver: position reports of transponding aircraft with NIC/NACp/SIL."""

    update_interval_s: PositiveSeconds = 1.0
    interval_jitter_s: NonNegativeSeconds = 0.1
    loss_probability: Annotated[float, msgspec.Meta(ge=0.0, lt=1.0)] = 0.05
    max_range_m: Range = 250_000.0
    latency_s: NonNegativeSeconds = 0.2
    nacp: Annotated[int, msgspec.Meta(ge=0, le=11)] = 9
    nic: Annotated[int, msgspec.Meta(ge=0, le=11)] = 8
    sil: Annotated[int, msgspec.Meta(ge=0, le=3)] = 3
    vertical_sigma_m: Sigma = 10.0


class AisStationConfig(SensorConfigBase, frozen=True, tag="ais_station"):
    """VHF AIS shore station: class A position reports at speed-dependent intervals."""

    tick_s: PositiveSeconds = 1.0
    max_range_m: Range = 74_000.0
    position_sigma_m: Sigma = 10.0
    loss_probability: Annotated[float, msgspec.Meta(ge=0.0, lt=1.0)] = 0.02
    latency_s: NonNegativeSeconds = 1.0
    interval_jitter_fraction: Annotated[float, msgspec.Meta(ge=0.0, le=0.5)] = 0.02
    anchored_speed_kn: Annotated[float, msgspec.Meta(ge=0.0, le=10.0)] = 0.5
    medium_speed_kn: Annotated[float, msgspec.Meta(gt=0.0, le=100.0)] = 14.0
    fast_speed_kn: Annotated[float, msgspec.Meta(gt=0.0, le=100.0)] = 23.0
    anchored_interval_s: PositiveSeconds = 180.0
    slow_interval_s: PositiveSeconds = 10.0
    medium_interval_s: PositiveSeconds = 6.0
    fast_interval_s: PositiveSeconds = 2.0

    def __post_init__(self) -> None:
        _require_below(
            self.anchored_speed_kn, self.medium_speed_kn, "anchored_speed_kn", "medium_speed_kn"
        )
        _require_below(self.medium_speed_kn, self.fast_speed_kn, "medium_speed_kn", "fast_speed_kn")


class CyberSensorConfig(SensorConfigBase, frozen=True, tag="cyber_sensor"):
    """Network intrusion detection over sensor sites: alerts on attacks, a few false ones."""

    poll_interval_s: PositiveSeconds = 10.0
    alert_interval_s: PositiveSeconds = 60.0
    detection_delay_s: NonNegativeSeconds = 30.0
    false_alert_rate_per_hour: RatePerHour = 0.5
    monitored_sensor_ids: tuple[str, ...] = ()  # empty: every sensor site of the scenario


SensorConfig = (
    AirSurveillanceRadarConfig
    | GroundSurveillanceRadarConfig
    | PassiveRfDetectorConfig
    | AcousticArrayConfig
    | UnattendedGroundSensorConfig
    | EoIrCameraConfig
    | SatelliteImagerConfig
    | AdsbReceiverConfig
    | AisStationConfig
    | CyberSensorConfig
)
