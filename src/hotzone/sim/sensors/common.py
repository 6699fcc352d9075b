"""Pieces every sensor model shares: its site, ids, time grids, geometry and message fields.

These are plain helpers composed into the models (no second base class): a `SensorSite`
holds what every output message carries (sensor position, sector, releasability) and
hands out deterministic message ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from hotzone.geo import LocalFrame, enu_to_polar
from hotzone.geo.frames import WGS84_E2, WGS84_SEMI_MAJOR_M
from hotzone.sim.truth import TruthBatch
from hotzone.types import GeoPoint, TargetClass
from hotzone.types.arrays import BoolArray, FloatArray

MEAN_EARTH_RADIUS_M = 6371008.8
KNOT_MPS = 1852.0 / 3600.0
Matrix = tuple[tuple[float, ...], ...]
IndexArray = NDArray[np.int64]


@dataclass
class SensorSite:
    """Where a sensor stands and what each of its messages carries besides the measurement."""

    sensor_id: str
    position: GeoPoint
    sector: str
    releasability: str
    frame: LocalFrame = field(init=False)
    _counter: itertools.count[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.frame = LocalFrame(
            self.position.lat_deg, self.position.lon_deg, self.position.height_m
        )
        self._counter = itertools.count(1)

    def next_id(self) -> str:
        """Deterministic message id: the same run with the same seed gives the same ids."""
        return f"{self.sensor_id}-{next(self._counter)}"


class PlacedSensorConfig(Protocol):
    """What every sensor config says about where the sensor stands."""

    @property
    def id(self) -> str: ...
    @property
    def lat_deg(self) -> float: ...
    @property
    def lon_deg(self) -> float: ...
    @property
    def height_m(self) -> float: ...
    @property
    def sector(self) -> str | None: ...


class SiteContext(Protocol):
    """The scenario's defaults a site falls back on."""

    @property
    def sector(self) -> str: ...
    @property
    def releasability(self) -> str: ...


def site_for(config: PlacedSensorConfig, context: SiteContext) -> SensorSite:
    """The sensor's site: its position, its sector (the scenario's when it names none)."""
    return SensorSite(
        sensor_id=config.id,
        position=GeoPoint(lat_deg=config.lat_deg, lon_deg=config.lon_deg, height_m=config.height_m),
        sector=context.sector if config.sector is None else config.sector,
        releasability=context.releasability,
    )


def utc_from_posix(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def grid_times(anchor: float, period: float, start: float, end: float) -> FloatArray:
    """``anchor + k * period`` inside [start, end).

    Anchoring at the scenario start (not at ``start``) keeps the grid the same however the
    engine splits the run into windows. Membership is decided on the index k, not on the
    rounded times, so a grid instant on a window boundary belongs to exactly one window.
    """
    if end <= start:
        return np.zeros(0, dtype=np.float64)
    first = int(np.ceil((start - anchor) / period - 1e-9))
    last = int(np.ceil((end - anchor) / period - 1e-9))
    times: FloatArray = anchor + period * np.arange(first, last, dtype=np.float64)
    return times


def diagonal(variances: Iterable[float]) -> Matrix:
    values = [float(v) for v in variances]
    return tuple(
        tuple(value if row == column else 0.0 for column in range(len(values)))
        for row, value in enumerate(values)
    )


def class_mask(classes: tuple[TargetClass, ...], allowed: Iterable[TargetClass]) -> BoolArray:
    allowed_set = frozenset(allowed)
    return np.fromiter((c in allowed_set for c in classes), dtype=np.bool_, count=len(classes))


def transmitting(transponder_on: Iterable[bool], identities: Iterable[object]) -> BoolArray:
    """Targets whose transponder is on and that have an identity to send (an ICAO address,
    an MMSI): what a cooperative receiver can hear."""
    flags = [
        on and identity is not None for on, identity in zip(transponder_on, identities, strict=True)
    ]
    return np.array(flags, dtype=np.bool_)


def wrap_degrees(angle_deg: FloatArray) -> FloatArray:
    """Angles into [0, 360)."""
    wrapped: FloatArray = np.mod(angle_deg, 360.0)
    return wrapped


def signed_angle_difference(angle_deg: FloatArray, reference_deg: float | FloatArray) -> FloatArray:
    """``angle - reference`` into [-180, 180)."""
    difference: FloatArray = np.mod(np.asarray(angle_deg) - reference_deg + 180.0, 360.0) - 180.0
    return difference


def in_azimuth_sector(azimuth_deg: FloatArray, center_deg: float, width_deg: float) -> BoolArray:
    if width_deg >= 360.0:
        return np.ones(np.shape(azimuth_deg), dtype=np.bool_)
    inside: BoolArray = np.abs(signed_angle_difference(azimuth_deg, center_deg)) <= width_deg / 2.0
    return inside


@dataclass(frozen=True)
class LocalGeometry:
    """Targets as seen from one sensor site, in the site's ENU frame."""

    enu_m: FloatArray  # (N, 3)
    velocity_enu_mps: FloatArray  # (N, 3)
    range_m: FloatArray
    azimuth_deg: FloatArray
    elevation_deg: FloatArray
    ground_range_m: FloatArray
    radial_velocity_mps: FloatArray


def local_geometry(
    frame: LocalFrame, truth: TruthBatch, time_offset_s: FloatArray | None = None
) -> LocalGeometry:
    """Polar geometry of every target from ``frame``, optionally moved on by ``time_offset_s``.

    Works from the ECEF truth so a sensor never depends on the scenario's own ENU frame.
    """
    enu = frame.ecef_to_enu(np.asarray(truth.ecef_m, dtype=np.float64).reshape(-1, 3))
    velocity = np.asarray(truth.velocity_ecef_mps, dtype=np.float64).reshape(-1, 3)
    velocity_enu = velocity @ frame.rotation.T
    if time_offset_s is not None:
        enu = enu + velocity_enu * time_offset_s[:, None]
    return geometry_from_enu(enu, velocity_enu)


def geometry_from_enu(enu: FloatArray, velocity_enu: FloatArray) -> LocalGeometry:
    range_m, azimuth_deg, elevation_deg = enu_to_polar(enu)
    safe_range = np.where(range_m > 0.0, range_m, 1.0)
    radial = np.einsum("ij,ij->i", enu, velocity_enu) / safe_range
    return LocalGeometry(
        enu_m=enu,
        velocity_enu_mps=velocity_enu,
        range_m=range_m,
        azimuth_deg=azimuth_deg,
        elevation_deg=elevation_deg,
        ground_range_m=np.hypot(enu[:, 0], enu[:, 1]),
        radial_velocity_mps=radial,
    )


def above_radio_horizon(
    sensor_height_m: float,
    target_height_m: FloatArray,
    ground_range_m: FloatArray,
    k_factor: float = 4.0 / 3.0,
) -> BoolArray:
    """Line of sight over a smooth Earth of radius ``k_factor`` times the real one.

    The sum of the two horizon distances, sqrt(2 k R h), is the classic radar-horizon test;
    heights above the ellipsoid stand in for heights above terrain (no elevation model).
    """
    effective_radius = k_factor * MEAN_EARTH_RADIUS_M
    sensor_reach = np.sqrt(2.0 * effective_radius * max(sensor_height_m, 0.0))
    target_reach = np.sqrt(2.0 * effective_radius * np.clip(target_height_m, 0.0, None))
    visible: BoolArray = ground_range_m <= sensor_reach + target_reach
    return visible


def local_enu_velocity(
    lat_deg: FloatArray, lon_deg: FloatArray, velocity_ecef_mps: FloatArray
) -> FloatArray:
    """ECEF velocities -> (N, 3) east/north/up at each object's own position."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sin_lat, cos_lat, sin_lon, cos_lon = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    vx, vy, vz = velocity_ecef_mps[:, 0], velocity_ecef_mps[:, 1], velocity_ecef_mps[:, 2]
    east = -sin_lon * vx + cos_lon * vy
    north = -sin_lat * cos_lon * vx - sin_lat * sin_lon * vy + cos_lat * vz
    up = cos_lat * cos_lon * vx + cos_lat * sin_lon * vy + sin_lat * vz
    return np.stack([east, north, up], axis=-1)


def offset_geodetic(
    lat_deg: FloatArray, lon_deg: FloatArray, east_m: FloatArray, north_m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Move points by small east/north offsets using the ellipsoid's radii of curvature."""
    lat = np.radians(lat_deg)
    denominator = 1.0 - WGS84_E2 * np.sin(lat) ** 2
    meridian_radius = WGS84_SEMI_MAJOR_M * (1.0 - WGS84_E2) / denominator**1.5
    normal_radius = WGS84_SEMI_MAJOR_M / np.sqrt(denominator)
    new_lat = lat_deg + np.degrees(north_m / meridian_radius)
    new_lon = lon_deg + np.degrees(east_m / (normal_radius * np.cos(lat)))
    return new_lat, (new_lon + 180.0) % 360.0 - 180.0


def surface_distance_m(
    lat_deg: FloatArray, lon_deg: FloatArray, center_lat_deg: float, center_lon_deg: float
) -> FloatArray:
    """Haversine distance on the mean sphere; metres-accurate enough for area membership."""
    lat1, lon1 = np.radians(lat_deg), np.radians(lon_deg)
    lat2, lon2 = np.radians(center_lat_deg), np.radians(center_lon_deg)
    half_chord = (
        np.sin((lat2 - lat1) / 2.0) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2
    )
    distance: FloatArray = 2.0 * MEAN_EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(half_chord, 0, 1)))
    return distance


def horizontal_speed_mps(velocity_enu_mps: FloatArray) -> FloatArray:
    speed: FloatArray = np.hypot(velocity_enu_mps[:, 0], velocity_enu_mps[:, 1])
    return speed


def logistic_falloff(range_m: FloatArray, half_range_m: float, width_m: float) -> FloatArray:
    """1 near the sensor, 0.5 at ``half_range_m``, falling over about ``width_m``."""
    # Clip the exponent: far beyond the range exp() would overflow (and 1/(1+e^60) is 0
    # to double precision anyway).
    exponent = np.clip((range_m - half_range_m) / width_m, -60.0, 60.0)
    falloff: FloatArray = 1.0 / (1.0 + np.exp(exponent))
    return falloff


def geo_point(lat_deg: float, lon_deg: float, height_m: float) -> GeoPoint:
    """A GeoPoint from array scalars, clamped so noise at a pole cannot leave the globe."""
    return GeoPoint(
        lat_deg=float(np.clip(lat_deg, -90.0, 90.0)),
        lon_deg=float((lon_deg + 180.0) % 360.0 - 180.0),
        height_m=float(height_m),
    )
