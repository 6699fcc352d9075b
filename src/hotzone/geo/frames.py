"""WGS-84 geodetic <-> ECEF <-> local East-North-Up, on arrays.

Every function takes arrays (or scalars) and returns arrays of the broadcast shape, so a
whole scan of detections or a whole track batch converts in one call. Angles are degrees,
distances metres. The inverse ECEF -> geodetic uses Heikkinen's closed form (no iteration),
accurate to well under a millimetre from the Earth's surface to orbital heights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from hotzone.geo._checks import FloatArray

WGS84_SEMI_MAJOR_M = 6378137.0
WGS84_FLATTENING = 1.0 / 298.257223563
WGS84_SEMI_MINOR_M = WGS84_SEMI_MAJOR_M * (1.0 - WGS84_FLATTENING)
WGS84_E2 = WGS84_FLATTENING * (2.0 - WGS84_FLATTENING)
_EP2 = (WGS84_SEMI_MAJOR_M**2 - WGS84_SEMI_MINOR_M**2) / WGS84_SEMI_MINOR_M**2


def geodetic_to_ecef(
    lat_deg: ArrayLike, lon_deg: ArrayLike, height_m: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    height = np.asarray(height_m, dtype=np.float64)
    sin_lat = np.sin(lat)
    prime_vertical_radius = WGS84_SEMI_MAJOR_M / np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    horizontal = (prime_vertical_radius + height) * np.cos(lat)
    x = horizontal * np.cos(lon)
    y = horizontal * np.sin(lon)
    z = (prime_vertical_radius * (1.0 - WGS84_E2) + height) * sin_lat
    return x, y, z


def ecef_to_geodetic(
    x: ArrayLike, y: ArrayLike, z: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Heikkinen (1982) closed-form inverse; returns (lat_deg, lon_deg, height_m)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    a, b, e2 = WGS84_SEMI_MAJOR_M, WGS84_SEMI_MINOR_M, WGS84_E2
    p = np.hypot(x, y)
    f_term = 54.0 * b**2 * z**2
    g_term = p**2 + (1.0 - e2) * z**2 - e2 * (a**2 - b**2)
    c_term = e2**2 * f_term * p**2 / g_term**3
    s_term = np.cbrt(1.0 + c_term + np.sqrt(c_term**2 + 2.0 * c_term))
    k_term = s_term + 1.0 + 1.0 / s_term
    p_term = f_term / (3.0 * k_term**2 * g_term**2)
    q_term = np.sqrt(1.0 + 2.0 * e2**2 * p_term)
    r0 = -(p_term * e2 * p) / (1.0 + q_term) + np.sqrt(
        np.maximum(
            0.5 * a**2 * (1.0 + 1.0 / q_term)
            - p_term * (1.0 - e2) * z**2 / (q_term * (1.0 + q_term))
            - 0.5 * p_term * p**2,
            0.0,
        )
    )
    u_term = np.sqrt((p - e2 * r0) ** 2 + z**2)
    v_term = np.sqrt((p - e2 * r0) ** 2 + (1.0 - e2) * z**2)
    z0 = b**2 * z / (a * v_term)
    height = u_term * (1.0 - b**2 / (a * v_term))
    lat = np.arctan2(z + _EP2 * z0, p)
    lon = np.arctan2(y, x)
    return np.degrees(lat), np.degrees(lon), height


def _enu_rotation(lat_deg: float, lon_deg: float) -> FloatArray:
    """Rows are the east, north and up unit vectors expressed in ECEF."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sin_lat, cos_lat, sin_lon, cos_lon = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    return np.array(
        [
            [-sin_lon, cos_lon, 0.0],
            [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat],
            [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat],
        ]
    )


@dataclass(frozen=True)
class LocalFrame:
    """A local East-North-Up frame tangent to the WGS-84 ellipsoid at an origin.

    Fusion works in one such frame per sector; sensors have one each for their polar
    measurements.
    """

    lat_deg: float
    lon_deg: float
    height_m: float = 0.0
    rotation: FloatArray = field(init=False, repr=False, compare=False)
    origin_ecef: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat_deg <= 90.0 or not -180.0 <= self.lon_deg <= 180.0:
            raise ValueError(f"frame origin ({self.lat_deg}, {self.lon_deg}) is not on Earth")
        if not np.isfinite(self.height_m):
            raise ValueError(f"frame origin height {self.height_m} m is not a finite number")
        object.__setattr__(self, "rotation", _enu_rotation(self.lat_deg, self.lon_deg))
        origin = np.array(geodetic_to_ecef(self.lat_deg, self.lon_deg, self.height_m))
        object.__setattr__(self, "origin_ecef", origin)

    def ecef_to_enu(self, ecef: ArrayLike) -> FloatArray:
        """(..., 3) ECEF metres -> (..., 3) ENU metres."""
        return (np.asarray(ecef, dtype=np.float64) - self.origin_ecef) @ self.rotation.T

    def enu_to_ecef(self, enu: ArrayLike) -> FloatArray:
        return np.asarray(enu, dtype=np.float64) @ self.rotation + self.origin_ecef

    def geodetic_to_enu(
        self, lat_deg: ArrayLike, lon_deg: ArrayLike, height_m: ArrayLike = 0.0
    ) -> FloatArray:
        """Arrays of latitude, longitude, height -> (..., 3) ENU metres."""
        ecef = np.stack(geodetic_to_ecef(lat_deg, lon_deg, height_m), axis=-1)
        return self.ecef_to_enu(ecef)

    def enu_to_geodetic(self, enu: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(..., 3) ENU metres -> (lat_deg, lon_deg, height_m) arrays."""
        ecef = self.enu_to_ecef(enu)
        return ecef_to_geodetic(ecef[..., 0], ecef[..., 1], ecef[..., 2])

    def vector_to(self, other: LocalFrame) -> FloatArray:
        """Rotate ENU vectors (velocities, covariances) of this frame into ``other``: R."""
        return other.rotation @ self.rotation.T


def polar_to_enu(
    range_m: ArrayLike, azimuth_deg: ArrayLike, elevation_deg: ArrayLike
) -> FloatArray:
    """Sensor-local polar (azimuth clockwise from north) -> (..., 3) ENU metres."""
    rng = np.asarray(range_m, dtype=np.float64)
    az = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    horizontal = rng * np.cos(el)
    return np.stack([horizontal * np.sin(az), horizontal * np.cos(az), rng * np.sin(el)], axis=-1)


def enu_to_polar(enu: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(..., 3) ENU metres -> (range_m, azimuth_deg in [0, 360), elevation_deg)."""
    vectors = np.asarray(enu, dtype=np.float64)
    east, north, up = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    horizontal = np.hypot(east, north)
    azimuth = np.degrees(np.arctan2(east, north)) % 360.0
    # A tiny negative angle such as -1e-15 wraps to exactly 360.0 in floating point; the
    # documented interval is half-open, so fold that back onto north.
    azimuth = np.where(azimuth >= 360.0, 0.0, azimuth)
    elevation = np.degrees(np.arctan2(up, horizontal))
    return np.sqrt(horizontal**2 + up**2), azimuth, elevation
