"""Geodesy for hotzone: frames, distances, geofences and borders."""

from hotzone.geo.frames import (
    LocalFrame,
    ecef_to_geodetic,
    enu_to_polar,
    geodetic_to_ecef,
    polar_to_enu,
)

__all__ = [
    "LocalFrame",
    "ecef_to_geodetic",
    "enu_to_polar",
    "geodetic_to_ecef",
    "polar_to_enu",
]
