"""Spatial queries every store answers the same way, and the geometry the embedded store needs.

Both stores keep the latest state of every live track and the position of every message that
has one, and answer three questions about them:

* ``tracks_within(centre, radius_m)``: live tracks within a distance of a point (an asset),
  nearest first. Distance is geodesic on the WGS-84 ellipsoid, heights ignored.
* ``tracks_inside(polygon)``: live tracks inside a polygon (a sector), by track id. Polygon
  edges are great-circle arcs, boundary included, heights ignored.
* ``messages_within(centre, radius_m, ...)``: the stored messages with a position within a
  distance of a point, in append order, optionally limited to some types and a time window.

PostgreSQL answers them with PostGIS ``geography`` and GiST indexes. The SQLite store answers
them with a bounding-box query on indexed latitude/longitude columns and the exact test here
in numpy: a spheroidal great-circle distance (within 0.01 % of the geodesic) and a gnomonic
projection of the sphere, which maps great-circle edges to straight lines, for containment.
``store/`` may import only ``hotzone.types``, so this does not use ``hotzone.geo``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import shapely
from numpy.typing import ArrayLike
from shapely.geometry import Polygon

from hotzone.store.base import Store, StoredMessage
from hotzone.types import AnyMessage, GeoPoint, Track, TrackStatus
from hotzone.types.arrays import BoolArray, FloatArray

WGS84_A_M = 6378137.0
WGS84_F = 1.0 / 298.257223563
_E2 = WGS84_F * (2.0 - WGS84_F)
# The smallest radius of curvature of the ellipsoid (meridional, at the equator): an angle
# of arc times it never exceeds the distance, which makes bounding boxes safe.
_MIN_RADIUS_M = WGS84_A_M * (1.0 - _E2)
MAX_POLYGON_REACH_DEG = 60.0
"""How far from its centre a polygon's vertices may lie (the gnomonic plane's useful reach)."""


class SpatialQueryError(ValueError):
    """A spatial query whose point, distance or polygon is not usable; says which and why."""


class SpatialStore(Store, Protocol):
    """A `Store` that also answers spatial questions about tracks and positioned messages."""

    def tracks_within(
        self, centre: GeoPoint, radius_m: float, since: datetime | None = None
    ) -> list[Track]:
        """Latest live tracks (not deleted, updated at or after ``since``) within
        ``radius_m`` of ``centre``, nearest first."""

    def tracks_inside(
        self, polygon: Sequence[GeoPoint], since: datetime | None = None
    ) -> list[Track]:
        """Latest live tracks inside ``polygon`` (great-circle edges), ordered by track id."""

    def messages_within(
        self,
        centre: GeoPoint,
        radius_m: float,
        types: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[StoredMessage]:
        """Stored messages whose position lies within ``radius_m`` of ``centre``, in append
        order, optionally limited to some type tags and to ``start <= time < end``."""


def message_position(message: AnyMessage) -> GeoPoint | None:
    """Where a message is about, for the spatial index; None for messages without a place.

    A detection's only position is its sensor's, which is not where the object is, so
    detections are not indexed.
    """
    position = getattr(message, "position", None)
    if isinstance(position, GeoPoint):
        return position
    target = getattr(message, "target_position", None)
    return target if isinstance(target, GeoPoint) else None


def is_live(track: Track) -> bool:
    return track.status != TrackStatus.DELETED


def check_point(point: GeoPoint, what: str = "centre") -> GeoPoint:
    values = (point.lat_deg, point.lon_deg, point.height_m)
    if not all(math.isfinite(value) for value in values):
        raise SpatialQueryError(f"{what} {values} has a coordinate that is not a finite number")
    if not -90.0 <= point.lat_deg <= 90.0 or not -180.0 <= point.lon_deg <= 180.0:
        raise SpatialQueryError(
            f"{what} latitude {point.lat_deg} / longitude {point.lon_deg} is not on Earth"
        )
    return point


def check_radius(radius_m: float) -> float:
    if not math.isfinite(radius_m) or radius_m < 0.0:
        raise SpatialQueryError(f"radius {radius_m!r} m must be a finite distance >= 0")
    return float(radius_m)


def distance_m(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Distance on the WGS-84 ellipsoid between points, heights ignored (vectorized).

    The central angle comes from the haversine formula; it is scaled by the ellipsoid's
    radius of curvature in the direction of travel at the mid-latitude (Euler's formula),
    which agrees with the true geodesic to better than 0.01 % up to 1 000 km.
    """
    lat1 = np.radians(np.asarray(lat1_deg, dtype=np.float64))
    lat2 = np.radians(np.asarray(lat2_deg, dtype=np.float64))
    delta_lon = np.radians(
        (np.asarray(lon2_deg, dtype=np.float64) - np.asarray(lon1_deg, dtype=np.float64) + 180.0)
        % 360.0
        - 180.0
    )
    delta_lat = lat2 - lat1
    haversine = (
        np.sin(delta_lat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(delta_lon / 2.0) ** 2
    )
    central_angle = 2.0 * np.arcsin(np.sqrt(np.clip(haversine, 0.0, 1.0)))
    mid_lat = (lat1 + lat2) / 2.0
    denominator = 1.0 - _E2 * np.sin(mid_lat) ** 2
    meridian_radius = WGS84_A_M * (1.0 - _E2) / denominator**1.5
    normal_radius = WGS84_A_M / np.sqrt(denominator)
    north = meridian_radius * delta_lat
    east = normal_radius * np.cos(mid_lat) * delta_lon
    squared = north**2 + east**2
    # A point and itself have no direction: any radius does (the angle is 0). Dividing by
    # the 0 made the distance NaN, and a message at the very centre fell out of a query.
    same_point = squared == 0.0
    safe = np.where(same_point, 1.0, squared)
    north_share = np.where(same_point, 1.0, north**2 / safe)
    # 1/R(azimuth) = cos²(azimuth)/M + sin²(azimuth)/N
    radius = 1.0 / (north_share / meridian_radius + (1.0 - north_share) / normal_radius)
    result: FloatArray = radius * central_angle
    return result


@dataclass(frozen=True)
class LatLonBox:
    """A latitude/longitude range that surely contains a query's area (for an index)."""

    lat_min: float
    lat_max: float
    lon_min: float | None  # None: every longitude (the area reaches a pole or the antimeridian)
    lon_max: float | None


def circle_box(centre: GeoPoint, radius_m: float) -> LatLonBox:
    """A box around every point within ``radius_m`` of ``centre`` (with a 1 % margin)."""
    angle_deg = math.degrees(radius_m * 1.01 / _MIN_RADIUS_M) + 1e-9
    lat_min, lat_max = centre.lat_deg - angle_deg, centre.lat_deg + angle_deg
    if lat_min <= -90.0 or lat_max >= 90.0:
        return LatLonBox(max(lat_min, -90.0), min(lat_max, 90.0), None, None)
    widest = max(abs(lat_min), abs(lat_max))
    lon_half = angle_deg / math.cos(math.radians(widest))
    lon_min, lon_max = centre.lon_deg - lon_half, centre.lon_deg + lon_half
    if lon_half >= 180.0 or lon_min < -180.0 or lon_max > 180.0:
        return LatLonBox(lat_min, lat_max, None, None)
    return LatLonBox(lat_min, lat_max, lon_min, lon_max)


def _unit_vectors(lat_deg: ArrayLike, lon_deg: ArrayLike) -> FloatArray:
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


class SphericalPolygon:
    """A polygon with great-circle edges on the sphere, as PostGIS ``geography`` has.

    Containment is decided in the gnomonic projection centred on the polygon, where great
    circles are straight lines, so a shapely test in the plane is exact on the sphere.
    """

    def __init__(self, vertices: Sequence[GeoPoint]) -> None:
        points = [
            check_point(vertex, f"polygon vertex {index}") for index, vertex in enumerate(vertices)
        ]
        if len(points) > 1 and (points[0].lat_deg, points[0].lon_deg) == (
            points[-1].lat_deg,
            points[-1].lon_deg,
        ):
            points = points[:-1]  # a closing vertex repeats the first: accepted, dropped
        if len({(point.lat_deg, point.lon_deg) for point in points}) < 3:
            raise SpatialQueryError(
                f"polygon needs at least 3 distinct vertices, got {len(points)}"
            )
        self.vertices: tuple[GeoPoint, ...] = tuple(points)
        lats = np.array([point.lat_deg for point in points])
        lons = np.array([point.lon_deg for point in points])
        units = _unit_vectors(lats, lons)
        centre = units.sum(axis=0)
        if np.linalg.norm(centre) < 1e-9:
            raise SpatialQueryError("polygon vertices surround the Earth; it has no centre")
        self._centre = centre / np.linalg.norm(centre)
        reach = np.degrees(np.arccos(np.clip(units @ self._centre, -1.0, 1.0)))
        if reach.max() > MAX_POLYGON_REACH_DEG:
            raise SpatialQueryError(
                f"polygon vertex {int(reach.argmax())} lies {reach.max():.1f}° from the "
                f"polygon's centre; vertices must lie within {MAX_POLYGON_REACH_DEG}°"
            )
        self._reach_cos = math.cos(math.radians(float(reach.max()) + 1.0))
        pole = np.array([0.0, 0.0, 1.0])
        self._east = np.cross(pole, self._centre)
        if np.linalg.norm(self._east) < 1e-12:  # centred on a pole: any east will do
            self._east = np.array([0.0, 1.0, 0.0])
        self._east /= np.linalg.norm(self._east)
        self._north = np.cross(self._centre, self._east)
        plane_x, plane_y, _ = self._project(units)
        self._plane = Polygon(np.column_stack([plane_x, plane_y]))
        if not self._plane.is_valid:
            raise SpatialQueryError(
                f"polygon is not simple: {shapely.is_valid_reason(self._plane)}"
            )
        shapely.prepare(self._plane)
        self.box = self._box(units, lats, lons)

    def _project(self, units: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        along = units @ self._centre
        safe = np.where(along > 0.0, along, 1.0)
        return (units @ self._east) / safe, (units @ self._north) / safe, along

    def _box(self, units: FloatArray, lats: FloatArray, lons: FloatArray) -> LatLonBox:
        # A great-circle edge bulges poleward of its end points by at most (length²/8)
        # radians of latitude; the margin doubles that.
        following = np.roll(units, -1, axis=0)
        edge = np.arccos(np.clip(np.sum(units * following, axis=1), -1.0, 1.0))
        margin = math.degrees(float(np.max(edge)) ** 2 / 4.0) + 1e-7
        lat_min, lat_max = float(lats.min()) - margin, float(lats.max()) + margin
        contains_pole = bool(self.contains([90.0, -90.0], [0.0, 0.0]).any())
        if contains_pole or lat_max >= 90.0 or lat_min <= -90.0:
            return LatLonBox(max(lat_min, -90.0), min(lat_max, 90.0), None, None)
        # Longitudes measured from the first vertex, so a polygon across the antimeridian
        # stays in one piece; edges poleward of their ends widen it a little in longitude.
        relative = (lons - lons[0] + 180.0) % 360.0 - 180.0
        widest = max(abs(lat_min), abs(lat_max))
        lon_margin = margin / max(math.cos(math.radians(widest)), 1e-6)
        lon_min = float(lons[0] + relative.min()) - lon_margin
        lon_max = float(lons[0] + relative.max()) + lon_margin
        if lon_min < -180.0 or lon_max > 180.0:
            return LatLonBox(lat_min, lat_max, None, None)
        return LatLonBox(lat_min, lat_max, lon_min, lon_max)

    def contains(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> BoolArray:
        """Whether each point is inside or on the polygon (vectorized)."""
        plane_x, plane_y, along = self._project(_unit_vectors(lat_deg, lon_deg))
        inside = shapely.intersects_xy(self._plane, plane_x, plane_y)
        result: BoolArray = np.asarray(inside, dtype=np.bool_) & (along > self._reach_cos)
        return result

    def wkt(self) -> str:
        """The polygon as WKT (longitude first), closed, for PostGIS."""
        ring = [*self.vertices, self.vertices[0]]
        return "POLYGON((" + ", ".join(f"{v.lon_deg!r} {v.lat_deg!r}" for v in ring) + "))"
