"""Satellite positions from a TLE (SGP4) and passes over a point on the ground.

SGP4 gives positions in the TEME frame. Turning TEME by the Greenwich mean sidereal time
(IAU-82, UT1 taken as UTC) gives Earth-fixed coordinates to within a few hundred metres,
ignoring polar motion and the equation of the equinoxes: seconds, at most, on a pass time.
Elevations are measured from the observer's ellipsoid normal (geodetic up).
"""

from __future__ import annotations

import math

import numpy as np
from sgp4.api import Satrec

from hotzone.geo import geodetic_to_ecef
from hotzone.types.arrays import FloatArray

UNIX_EPOCH_JULIAN_DATE = 2440587.5
SECONDS_PER_DAY = 86_400.0
PASS_SAMPLE_STEP_S = 30.0
PASS_SEARCH_PAD_S = 1_800.0
TIME_TOLERANCE_S = 0.05


class TleError(ValueError):
    """A two-line element set that cannot be used."""


def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of the first 68 characters (digits count, '-' counts 1)."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def parse_tle(tle_line1: str, tle_line2: str) -> Satrec:
    """A validated SGP4 record; raises `TleError` saying which line is wrong and why."""
    for number, line in ((1, tle_line1), (2, tle_line2)):
        if len(line) != 69 or not line.startswith(f"{number} "):
            raise TleError(f"TLE line {number} must be 69 characters starting with '{number} '")
        if not line[68].isdigit() or tle_checksum(line) != int(line[68]):
            raise TleError(
                f"TLE line {number} checksum is {line[68]!r}, computed {tle_checksum(line)}"
            )
    if tle_line1[2:7] != tle_line2[2:7]:
        raise TleError("TLE lines 1 and 2 name different satellite numbers")
    try:
        return Satrec.twoline2rv(tle_line1, tle_line2)
    except (ValueError, IndexError) as error:
        raise TleError(f"TLE could not be parsed: {error}") from error


def gmst_rad(posix_seconds: FloatArray) -> FloatArray:
    """Greenwich mean sidereal time (IAU-82 / Vallado ``gstime``), UT1 taken as UTC."""
    centuries = (
        np.asarray(posix_seconds) / SECONDS_PER_DAY + UNIX_EPOCH_JULIAN_DATE - 2451545.0
    ) / 36525.0
    seconds = (
        -6.2e-6 * centuries**3
        + 0.093104 * centuries**2
        + (876600.0 * 3600.0 + 8640184.812866) * centuries
        + 67310.54841
    )
    angle: FloatArray = np.mod(np.radians(seconds / 240.0), 2.0 * math.pi)
    return angle


def satellite_ecef_m(satellite: Satrec, posix_seconds: FloatArray) -> FloatArray:
    """(N, 3) Earth-fixed satellite positions in metres at the given POSIX times."""
    times = np.atleast_1d(np.asarray(posix_seconds, dtype=np.float64))
    days = np.floor(times / SECONDS_PER_DAY)
    whole = UNIX_EPOCH_JULIAN_DATE + days
    fraction = (times - days * SECONDS_PER_DAY) / SECONDS_PER_DAY
    errors, teme_km, _ = satellite.sgp4_array(whole, fraction)
    teme = np.asarray(teme_km, dtype=np.float64) * 1000.0
    teme[np.asarray(errors) != 0] = np.nan  # decayed or diverged: never above the horizon
    angle = gmst_rad(times)
    cos_angle, sin_angle = np.cos(angle), np.sin(angle)
    x = cos_angle * teme[:, 0] + sin_angle * teme[:, 1]
    y = -sin_angle * teme[:, 0] + cos_angle * teme[:, 1]
    return np.stack([x, y, teme[:, 2]], axis=-1)


def elevation_deg(
    satellite_ecef: FloatArray, lat_deg: FloatArray, lon_deg: FloatArray, height_m: FloatArray
) -> FloatArray:
    """Elevation of the satellite(s) above the horizon of the observer(s); broadcasts rows."""
    observer = np.stack(geodetic_to_ecef(lat_deg, lon_deg, height_m), axis=-1)
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    up = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
    line_of_sight = satellite_ecef - observer
    distance = np.linalg.norm(line_of_sight, axis=-1)
    sine = np.sum(line_of_sight * up, axis=-1) / distance
    elevation: FloatArray = np.degrees(np.arcsin(np.clip(sine, -1.0, 1.0)))
    return np.where(np.isnan(elevation), -90.0, elevation)


def _elevation_at(satellite: Satrec, lat: float, lon: float, height: float, t: float) -> float:
    ecef = satellite_ecef_m(satellite, np.array([t]))
    return float(elevation_deg(ecef, np.array(lat), np.array(lon), np.array(height))[0])


def _bisect_crossing(
    satellite: Satrec,
    observer: tuple[float, float, float],
    below: float,
    above: float,
    min_elevation_deg: float,
) -> float:
    """The instant between ``below`` (under the threshold) and ``above`` where it is crossed."""
    while abs(above - below) > TIME_TOLERANCE_S:
        middle = 0.5 * (below + above)
        if _elevation_at(satellite, *observer, middle) >= min_elevation_deg:
            above = middle
        else:
            below = middle
    return 0.5 * (below + above)


def _golden_maximum(
    satellite: Satrec, observer: tuple[float, float, float], low: float, high: float
) -> float:
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    left, right = high - ratio * (high - low), low + ratio * (high - low)
    left_value = _elevation_at(satellite, *observer, left)
    right_value = _elevation_at(satellite, *observer, right)
    while high - low > TIME_TOLERANCE_S:
        if left_value < right_value:
            low, left, left_value = left, right, right_value
            right = low + ratio * (high - low)
            right_value = _elevation_at(satellite, *observer, right)
        else:
            high, right, right_value = right, left, left_value
            left = high - ratio * (high - low)
            left_value = _elevation_at(satellite, *observer, left)
    return 0.5 * (low + high)


def passes_of(
    satellite: Satrec,
    lat_deg: float,
    lon_deg: float,
    height_m: float,
    start: float,
    end: float,
    min_elevation_deg: float,
) -> list[tuple[float, float, float]]:
    """(rise, culmination, set) POSIX seconds of each pass culminating in [start, end).

    The elevation is sampled every 30 s (a LEO pass lasts minutes), each sampled maximum is
    refined by golden-section search, and rise and set by bisection to 0.05 s. The search
    runs 30 minutes beyond both ends, so a pass culminating inside the window has its full
    rise and set even when they fall outside it.
    """
    observer = (lat_deg, lon_deg, height_m)
    grid = np.arange(start - PASS_SEARCH_PAD_S, end + PASS_SEARCH_PAD_S, PASS_SAMPLE_STEP_S)
    if grid.size < 3:
        return []
    elevations = elevation_deg(
        satellite_ecef_m(satellite, grid), np.array(lat_deg), np.array(lon_deg), np.array(height_m)
    )
    peaks = (
        np.flatnonzero((elevations[1:-1] > elevations[:-2]) & (elevations[1:-1] >= elevations[2:]))
        + 1
    )
    passes: list[tuple[float, float, float]] = []
    for peak in peaks:
        culmination = _golden_maximum(satellite, observer, grid[peak - 1], grid[peak + 1])
        if not start <= culmination < end:
            continue
        if _elevation_at(satellite, *observer, culmination) < min_elevation_deg:
            continue
        before = np.flatnonzero(elevations[:peak] < min_elevation_deg)
        after = np.flatnonzero(elevations[peak + 1 :] < min_elevation_deg)
        if before.size == 0 or after.size == 0:
            continue  # longer than the padded search: not a low-orbit pass
        rise = _bisect_crossing(
            satellite, observer, grid[before[-1]], culmination, min_elevation_deg
        )
        setting = _bisect_crossing(
            satellite, observer, grid[peak + 1 + after[0]], culmination, min_elevation_deg
        )
        passes.append((rise, culmination, setting))
    return passes


def satellite_passes(
    tle_line1: str,
    tle_line2: str,
    lat: float,
    lon: float,
    h: float,
    start: float,
    end: float,
    min_elevation_deg: float,
) -> list[tuple[float, float, float]]:
    """Passes of the TLE's satellite over (lat, lon, h): (rise, culminate, set) POSIX seconds.

    ``lat``/``lon`` in WGS-84 degrees, ``h`` metres above the ellipsoid; passes are those
    culminating in [start, end) with a maximum elevation of at least ``min_elevation_deg``.
    """
    return passes_of(parse_tle(tle_line1, tle_line2), lat, lon, h, start, end, min_elevation_deg)
