"""Geodesy for hotzone: frames, distances, geofences and borders.

Importing this package does no work: the border data is read on the first query.
"""

from hotzone.geo.borders import (
    BORDERS_COVERAGE,
    border_between,
    country_codes,
    country_geometry,
    country_name,
    country_of,
)
from hotzone.geo.fences import Fence, LineFence, PolygonFence
from hotzone.geo.frames import (
    LocalFrame,
    ecef_to_geodetic,
    enu_to_polar,
    geodetic_to_ecef,
    polar_to_enu,
)
from hotzone.geo.geodesic import (
    GeodesicDirect,
    GeodesicInverse,
    destination_point,
    final_bearing_deg,
    geodesic_distance_m,
    geodesic_inverse,
    initial_bearing_deg,
    within_m,
)

__all__ = [
    "BORDERS_COVERAGE",
    "Fence",
    "GeodesicDirect",
    "GeodesicInverse",
    "LineFence",
    "LocalFrame",
    "PolygonFence",
    "border_between",
    "country_codes",
    "country_geometry",
    "country_name",
    "country_of",
    "destination_point",
    "ecef_to_geodetic",
    "enu_to_polar",
    "final_bearing_deg",
    "geodesic_distance_m",
    "geodesic_inverse",
    "geodetic_to_ecef",
    "initial_bearing_deg",
    "polar_to_enu",
    "within_m",
]
