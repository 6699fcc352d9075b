"""Geodesics on the WGS-84 ellipsoid: distance, bearings and the direct problem, on arrays.

GeographicLib (Karney 2013) solves both geodesic problems to round-off everywhere, including
nearly antipodal points where Vincenty's iteration fails. It has no array interface, so these
functions broadcast their arguments with numpy and loop inside; every function returns
arrays of the broadcast shape (0-d for scalar input). Bearings are degrees clockwise from
true north in [0, 360), distances metres.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from geographiclib.geodesic import Geodesic
from numpy.typing import ArrayLike

from hotzone.geo._checks import BoolArray, FloatArray, checked_finite, checked_latitude

_WGS84 = Geodesic.WGS84
_INVERSE_MASK = Geodesic.DISTANCE | Geodesic.AZIMUTH
_DIRECT_MASK = Geodesic.LATITUDE | Geodesic.LONGITUDE | Geodesic.AZIMUTH


class GeodesicInverse(NamedTuple):
    """The shortest path between two points: its length and the bearings at both ends."""

    distance_m: FloatArray
    initial_bearing_deg: FloatArray
    """Direction of travel when leaving the first point."""
    final_bearing_deg: FloatArray
    """Direction of travel when arriving at the second point."""


class GeodesicDirect(NamedTuple):
    """Where a geodesic started at a point with a bearing ends after a distance."""

    lat_deg: FloatArray
    lon_deg: FloatArray
    final_bearing_deg: FloatArray


def _bearing(azimuth_deg: FloatArray) -> FloatArray:
    """GeographicLib azimuths lie in (-180, 180]; bearings in [0, 360)."""
    wrapped = np.mod(azimuth_deg, 360.0)
    return np.where(wrapped >= 360.0, 0.0, wrapped)


def geodesic_inverse(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> GeodesicInverse:
    """Solve the inverse problem for every broadcast pair of points."""
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        checked_latitude("lat1_deg", lat1_deg),
        checked_finite("lon1_deg", lon1_deg),
        checked_latitude("lat2_deg", lat2_deg),
        checked_finite("lon2_deg", lon2_deg),
    )
    distance, initial, final = _solve_each(
        _WGS84.Inverse, _INVERSE_MASK, ("s12", "azi1", "azi2"), (lat1, lon1, lat2, lon2)
    )
    return GeodesicInverse(distance, _bearing(initial), _bearing(final))


def _solve_each(
    solve: Callable[..., dict[str, float]],
    mask: int,
    keys: tuple[str, ...],
    arguments: tuple[FloatArray, ...],
) -> list[FloatArray]:
    """``solve`` (GeographicLib's Inverse or Direct) at every point of the broadcast
    ``arguments``; the solutions' ``keys``, one array each."""
    shape = arguments[0].shape
    results = [np.empty(shape) for _ in keys]
    for index in np.ndindex(shape):
        solution = solve(*(float(argument[index]) for argument in arguments), mask)
        for result, key in zip(results, keys, strict=True):
            result[index] = solution[key]
    return results


def geodesic_distance_m(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Length in metres of the shortest path on the ellipsoid between each pair of points."""
    return geodesic_inverse(lat1_deg, lon1_deg, lat2_deg, lon2_deg).distance_m


# The great circle on a sphere of the mean radius is never longer than the geodesic by
# more than the largest ratio of that radius to the ellipsoid's radii of curvature (R1 over
# the meridional radius at the equator, 6,371,008.8 / 6,335,439.3 = 1.0056): the sphere's
# shortest path is no longer than the image of the geodesic on it. 1 % and a metre cover it
# with room for round-off.
_MEAN_RADIUS_M = 6_371_008.8
_SPHERE_STRETCH = 1.01
_SPHERE_SLACK_M = 1.0


def within_m(
    lat1_deg: ArrayLike,
    lon1_deg: ArrayLike,
    lat2_deg: ArrayLike,
    lon2_deg: ArrayLike,
    radius_m: float,
) -> BoolArray:
    """Whether each pair of points lies at most ``radius_m`` apart on the ellipsoid: the
    same answer as ``geodesic_distance_m(...) <= radius_m``, but the geodesic is solved
    only for pairs whose great-circle distance could be that short (GeographicLib's
    Python solver takes ~45 µs a pair; a run's report asks this of every truth point)."""
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(
        checked_latitude("lat1_deg", lat1_deg),
        checked_finite("lon1_deg", lon1_deg),
        checked_latitude("lat2_deg", lat2_deg),
        checked_finite("lon2_deg", lon2_deg),
    )
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    half_dphi = (phi2 - phi1) / 2.0
    half_dlam = np.radians(lon2 - lon1) / 2.0
    haversine = np.sin(half_dphi) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(half_dlam) ** 2
    sphere_m = 2.0 * _MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(haversine, 0.0, 1.0)))
    within = np.zeros(lat1.shape, dtype=bool)
    near = sphere_m <= radius_m * _SPHERE_STRETCH + _SPHERE_SLACK_M
    if np.any(near):
        within[near] = geodesic_distance_m(lat1[near], lon1[near], lat2[near], lon2[near]) <= (
            radius_m
        )
    return within


def initial_bearing_deg(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Bearing to steer when leaving point 1 on the shortest path to point 2."""
    return geodesic_inverse(lat1_deg, lon1_deg, lat2_deg, lon2_deg).initial_bearing_deg


def final_bearing_deg(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Bearing of travel when arriving at point 2 on the shortest path from point 1."""
    return geodesic_inverse(lat1_deg, lon1_deg, lat2_deg, lon2_deg).final_bearing_deg


def destination_point(
    lat_deg: ArrayLike, lon_deg: ArrayLike, bearing_deg: ArrayLike, distance_m: ArrayLike
) -> GeodesicDirect:
    """Solve the direct problem: go ``distance_m`` from a point along ``bearing_deg``.

    Negative distances go backwards along the same geodesic. Longitudes come back in
    [-180, 180].
    """
    lat, lon, bearing, distance = np.broadcast_arrays(
        checked_latitude("lat_deg", lat_deg),
        checked_finite("lon_deg", lon_deg),
        checked_finite("bearing_deg", bearing_deg),
        checked_finite("distance_m", distance_m),
    )
    end_lat, end_lon, end_bearing = _solve_each(
        _WGS84.Direct, _DIRECT_MASK, ("lat2", "lon2", "azi2"), (lat, lon, bearing, distance)
    )
    return GeodesicDirect(end_lat, end_lon, _bearing(end_bearing))
