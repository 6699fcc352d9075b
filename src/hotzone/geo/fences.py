"""Geofences: areas (no-fire areas, sectors, airspace) and lines (borders, phase lines).

A fence is given in WGS-84 longitude/latitude and answers questions about arrays of
positions in metres. Each fence works in a gnomonic projection centred on itself: the
central projection from the Earth's centre onto the plane tangent at the fence's centre.
That projection maps geodesics to (very nearly) straight lines, so

* a fence edge between two vertices is the geodesic between them, which is what an
  operator means by "the line from A to B" over hundreds of kilometres, and
* containment, the side of a line and crossings, which are decided by straight lines in
  the plane, come out as on the ellipsoid.

Distances are not preserved by the projection, so the plane only finds the nearest point
of the fence; the distance to it is then measured along the geodesic (GeographicLib).
Heights are ignored: a fence is a vertical curtain, and an aircraft is inside an area when
the point below it is. Positions more than ``REACH_DEG`` of arc from a fence's centre (the
far side of the Earth) are outside it, on neither side of it, and at NaN distance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon

from hotzone.geo._checks import BoolArray, FloatArray, checked_positions
from hotzone.geo.frames import LocalFrame, ecef_to_geodetic, geodetic_to_ecef
from hotzone.geo.geodesic import destination_point, geodesic_distance_m, geodesic_inverse

SideArray = NDArray[np.int8]

REACH_DEG = 60.0
"""How far from its centre a fence answers, in degrees of arc (about 6 600 km)."""
# Straight lines in the plane are great ellipses, which sag from the geodesic by the square
# of their length: ~20 m over 600 km, ~2 cm over 20 km, ~1.5 mm over 5 km. Edges longer
# than 20 km (drawn fences; map borders have shorter ones) get geodesic points every 5 km,
# and a position within a centimetre of the line is on it.
_DENSIFY_ABOVE_M = 20_000.0
_MAX_EDGE_M = 5_000.0
_ON_LINE_M = 0.01

_WGS84_A = 6378137.0
_WGS84_B = _WGS84_A * (1.0 - 1.0 / 298.257223563)


class _GnomonicPlane:
    """Central projection between the ellipsoid surface and the plane tangent at a point."""

    def __init__(self, centre: LocalFrame) -> None:
        self._origin = centre.origin_ecef
        self._east, self._north, self._up = centre.rotation
        self._origin_unit = self._origin / np.linalg.norm(self._origin)
        self._min_cos = np.cos(np.radians(REACH_DEG))

    def forward(self, lat_deg: FloatArray, lon_deg: FloatArray) -> tuple[FloatArray, BoolArray]:
        """Flat arrays of positions -> (n, 2) plane metres and which are within reach."""
        surface = np.stack(geodetic_to_ecef(lat_deg, lon_deg, 0.0), axis=-1)
        distance_from_centre = np.linalg.norm(surface, axis=-1)
        within_reach = surface @ self._origin_unit > self._min_cos * distance_from_centre
        along_up = np.where(within_reach, surface @ self._up, 1.0)
        on_plane = (self._origin @ self._up / along_up)[:, None] * surface - self._origin
        plane = np.stack([on_plane @ self._east, on_plane @ self._north], axis=-1)
        return np.where(within_reach[:, None], plane, np.nan), within_reach

    def inverse(self, plane: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(n, 2) plane metres -> latitude and longitude of the surface point beneath."""
        on_plane = (
            self._origin + plane[:, :1] * self._east[None, :] + plane[:, 1:] * self._north[None, :]
        )
        # Scale the ray from the Earth's centre until it meets the ellipsoid.
        scale = 1.0 / np.sqrt(
            (on_plane[:, 0] ** 2 + on_plane[:, 1] ** 2) / _WGS84_A**2
            + on_plane[:, 2] ** 2 / _WGS84_B**2
        )
        surface = on_plane * scale[:, None]
        lat, lon, _ = ecef_to_geodetic(surface[:, 0], surface[:, 1], surface[:, 2])
        return lat, lon


def _centre_of(geometry_lonlat: Any) -> LocalFrame:
    """The point on the surface under the mean direction of the vertices."""
    coordinates = shapely.get_coordinates(geometry_lonlat)
    directions = np.stack(geodetic_to_ecef(coordinates[:, 1], coordinates[:, 0], 0.0), axis=-1)
    mean = np.mean(directions / np.linalg.norm(directions, axis=-1, keepdims=True), axis=0)
    if np.linalg.norm(mean) < 1e-6:
        raise ValueError("fence vertices surround the Earth; a fence has no centre")
    lat, lon, _ = ecef_to_geodetic(*(mean * _WGS84_A))
    return LocalFrame(float(lat), float(lon))


def _densified_coordinates(coordinates: FloatArray) -> FloatArray:
    """(n, 2) lon/lat vertices with points added along every edge longer than the limit."""
    surface = np.stack(geodetic_to_ecef(coordinates[:, 1], coordinates[:, 0], 0.0), axis=-1)
    chord = np.linalg.norm(np.diff(surface, axis=0), axis=-1)
    long_edges = np.flatnonzero(chord > _DENSIFY_ABOVE_M)
    if long_edges.size == 0:
        return coordinates
    start, end = coordinates[long_edges], coordinates[long_edges + 1]
    edges = geodesic_inverse(start[:, 1], start[:, 0], end[:, 1], end[:, 0])
    counts = np.ceil(edges.distance_m / _MAX_EDGE_M).astype(np.int64)
    added_per_edge = counts - 1
    # One flat batch of direct problems: for each long edge, fractions 1/n .. (n-1)/n.
    edge_of_added = np.repeat(np.arange(long_edges.size), added_per_edge)
    first_of_edge = np.cumsum(added_per_edge) - added_per_edge
    step_number = np.arange(edge_of_added.size) - first_of_edge[edge_of_added] + 1
    added = destination_point(
        start[edge_of_added, 1],
        start[edge_of_added, 0],
        edges.initial_bearing_deg[edge_of_added],
        edges.distance_m[edge_of_added] * step_number / counts[edge_of_added],
    )
    return np.insert(
        coordinates,
        long_edges[edge_of_added] + 1,
        np.stack([added.lon_deg, added.lat_deg], axis=-1),
        axis=0,
    )


def _densified(geometry_lonlat: Any) -> Any:
    if isinstance(geometry_lonlat, LineString):
        return LineString(_densified_coordinates(np.asarray(geometry_lonlat.coords)[:, :2]))
    if isinstance(geometry_lonlat, Polygon):
        return Polygon(
            _densified_coordinates(np.asarray(geometry_lonlat.exterior.coords)[:, :2]),
            [
                _densified_coordinates(np.asarray(ring.coords)[:, :2])
                for ring in geometry_lonlat.interiors
            ],
        )
    if isinstance(geometry_lonlat, MultiPolygon):
        return MultiPolygon([_densified(polygon) for polygon in geometry_lonlat.geoms])
    raise TypeError(f"cannot densify a {geometry_lonlat.geom_type}")


class Fence(ABC):
    """A geofence in WGS-84: the role shared by areas and lines.

    Subclasses decide what the fence's edges are (a polygon's boundary, a line itself);
    the base measures distances to them and detects moves across them.
    """

    def __init__(self, geometry_lonlat: Any, name: str) -> None:
        self.name = name
        """A label for alerts and rules of engagement, e.g. "NFA Suwałki hospital"."""
        self.geometry_lonlat = geometry_lonlat
        """The fence as given, in (longitude, latitude) degrees."""
        self._plane = _GnomonicPlane(_centre_of(geometry_lonlat))

        def to_plane(coordinates: FloatArray) -> FloatArray:
            plane, within_reach = self._plane.forward(coordinates[:, 1], coordinates[:, 0])
            if not np.all(within_reach):
                raise ValueError(
                    f"fence {name!r} spans more than {2 * REACH_DEG:g} degrees of arc; "
                    "split it into smaller fences"
                )
            return plane

        self._projected = shapely.transform(_densified(geometry_lonlat), to_plane)
        self._edges = self._edges_of(self._projected)
        shapely.prepare(self._projected)
        shapely.prepare(self._edges)

    @abstractmethod
    def _edges_of(self, projected: Any) -> Any:
        """The lines whose distance and crossings this fence measures, in plane metres."""

    def distance_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> FloatArray:
        """Geodesic distance in metres from each position to the fence's edges."""
        lat, lon = checked_positions(lat_deg, lon_deg)
        return self._edge_distance_m(lat.ravel(), lon.ravel()).reshape(lat.shape)

    def _edge_distance_m(self, lat: FloatArray, lon: FloatArray) -> FloatArray:
        plane, within_reach = self._plane.forward(lat, lon)
        distance = np.full(lat.shape, np.nan)
        if not np.any(within_reach):
            return distance
        points = shapely.points(plane[within_reach])
        nearest = shapely.get_coordinates(
            shapely.get_point(shapely.shortest_line(points, self._edges), 1)
        )
        nearest_lat, nearest_lon = self._plane.inverse(nearest)
        distance[within_reach] = geodesic_distance_m(
            lat[within_reach], lon[within_reach], nearest_lat, nearest_lon
        )
        return distance

    def crosses(
        self,
        from_lat_deg: ArrayLike,
        from_lon_deg: ArrayLike,
        to_lat_deg: ArrayLike,
        to_lon_deg: ArrayLike,
    ) -> BoolArray:
        """Whether the geodesic from each position to the next touches the fence's edges.

        Feed a track's previous and current positions to detect that it crossed a border
        or entered or left an area between two updates.
        """
        from_lat, from_lon = checked_positions(from_lat_deg, from_lon_deg)
        to_lat, to_lon = checked_positions(to_lat_deg, to_lon_deg)
        from_lat, from_lon, to_lat, to_lon = np.broadcast_arrays(from_lat, from_lon, to_lat, to_lon)
        start, start_ok = self._plane.forward(from_lat.ravel(), from_lon.ravel())
        end, end_ok = self._plane.forward(to_lat.ravel(), to_lon.ravel())
        both_ok = start_ok & end_ok
        result = np.zeros(both_ok.shape, dtype=np.bool_)
        segments = shapely.linestrings(np.stack([start[both_ok], end[both_ok]], axis=1))
        result[both_ok] = shapely.intersects(segments, self._edges)
        return result.reshape(from_lat.shape)


class PolygonFence(Fence):
    """An area: a (Multi)Polygon, holes allowed, whose edges are geodesics.

    Points on the boundary count as inside, the cautious reading for a no-fire area.
    """

    def __init__(self, area_lonlat: Polygon | MultiPolygon, name: str = "") -> None:
        if not isinstance(area_lonlat, Polygon | MultiPolygon) or area_lonlat.is_empty:
            raise ValueError(
                f"PolygonFence {name!r} needs a non-empty shapely Polygon or MultiPolygon "
                f"in lon/lat degrees; got {type(area_lonlat).__name__}"
            )
        if not area_lonlat.is_valid:
            raise ValueError(
                f"PolygonFence {name!r} is not a valid area: {shapely.is_valid_reason(area_lonlat)}"
            )
        super().__init__(area_lonlat, name)

    @classmethod
    def from_vertices(cls, lat_deg: ArrayLike, lon_deg: ArrayLike, name: str = "") -> PolygonFence:
        """An area from its corners in order; closing the ring is optional."""
        lat, lon = checked_positions(lat_deg, lon_deg)
        if lat.ndim != 1 or np.unique(np.stack([lat, lon], axis=-1), axis=0).shape[0] < 3:
            raise ValueError(
                f"PolygonFence {name!r} needs a flat list of at least 3 distinct corners; "
                f"got shape {lat.shape}"
            )
        return cls(Polygon(np.stack([lon, lat], axis=-1)), name)

    def _edges_of(self, projected: Any) -> Any:
        return shapely.boundary(projected)

    def contains(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> BoolArray:
        """Whether each position is inside the area (or on its boundary)."""
        lat, lon = checked_positions(lat_deg, lon_deg)
        plane, within_reach = self._plane.forward(lat.ravel(), lon.ravel())
        inside = np.zeros(within_reach.shape, dtype=np.bool_)
        inside[within_reach] = shapely.intersects_xy(
            self._projected, plane[within_reach, 0], plane[within_reach, 1]
        )
        return inside.reshape(lat.shape)

    def distance_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> FloatArray:
        """Geodesic distance in metres from each position to the area: 0 inside it."""
        lat, lon = checked_positions(lat_deg, lon_deg)
        distance = self._edge_distance_m(lat.ravel(), lon.ravel())
        distance[self.contains(lat, lon).ravel()] = 0.0
        return distance.reshape(lat.shape)

    def distance_to_boundary_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> FloatArray:
        """Geodesic distance in metres to the area's boundary, from inside or outside."""
        return super().distance_m(lat_deg, lon_deg)


class LineFence(Fence):
    """A line, such as a border or a phase line, with a direction from its first vertex to
    its last, so that it has a left and a right side."""

    def __init__(self, line_lonlat: LineString | MultiLineString, name: str = "") -> None:
        merged = (
            shapely.line_merge(line_lonlat)
            if isinstance(line_lonlat, MultiLineString)
            else line_lonlat
        )
        if not isinstance(merged, LineString) or merged.is_empty or merged.length == 0.0:
            raise ValueError(
                f"LineFence {name!r} needs one connected, non-empty line in lon/lat degrees; "
                f"got {getattr(line_lonlat, 'geom_type', type(line_lonlat).__name__)}"
                + (
                    f" of {len(merged.geoms)} separate pieces"
                    if isinstance(merged, MultiLineString)
                    else ""
                )
            )
        super().__init__(merged, name)
        vertices = shapely.get_coordinates(self._projected)
        keep = np.ones(len(vertices), dtype=np.bool_)
        keep[1:] = np.any(np.diff(vertices, axis=0) != 0.0, axis=1)
        self._vertices = vertices[keep]
        steps = np.diff(self._vertices, axis=0)
        self._step_length = np.hypot(steps[:, 0], steps[:, 1])
        self._step_direction = steps / self._step_length[:, None]
        self._distance_along = np.concatenate([[0.0], np.cumsum(self._step_length)])

    @classmethod
    def from_vertices(cls, lat_deg: ArrayLike, lon_deg: ArrayLike, name: str = "") -> LineFence:
        """A line through its vertices in order."""
        lat, lon = checked_positions(lat_deg, lon_deg)
        if lat.ndim != 1 or lat.size < 2:
            raise ValueError(
                f"LineFence {name!r} needs a flat list of at least 2 vertices; "
                f"got shape {lat.shape}"
            )
        return cls(LineString(np.stack([lon, lat], axis=-1)), name)

    def _edges_of(self, projected: Any) -> Any:
        return projected

    def side_of(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> SideArray:
        """+1 left of the line, -1 right of it, 0 on it (or beyond ``REACH_DEG``).

        Left and right are seen walking from the first vertex to the last. Beyond its ends
        the line is taken to go on straight, so every position has a side.
        """
        lat, lon = checked_positions(lat_deg, lon_deg)
        plane, within_reach = self._plane.forward(lat.ravel(), lon.ravel())
        side = np.zeros(within_reach.shape, dtype=np.int8)
        points = plane[within_reach]
        along = shapely.line_locate_point(self._projected, shapely.points(points))
        step = np.clip(
            np.searchsorted(self._distance_along, along, side="right") - 1,
            0,
            len(self._step_length) - 1,
        )
        foot = (
            self._vertices[step]
            + self._step_direction[step] * (along - self._distance_along[step])[:, None]
        )
        tangent = self._step_direction[step].copy()
        # Where the nearest point is a corner, the side is judged against the bisector of
        # the two steps meeting there; either step alone misjudges points off the corner.
        at_corner_start = (np.abs(along - self._distance_along[step]) < _ON_LINE_M) & (step > 0)
        tangent[at_corner_start] += self._step_direction[step[at_corner_start] - 1]
        last = len(self._step_length) - 1
        at_corner_end = (np.abs(along - self._distance_along[step + 1]) < _ON_LINE_M) & (
            step < last
        )
        tangent[at_corner_end] += self._step_direction[step[at_corner_end] + 1]
        offset = points - foot
        cross = tangent[:, 0] * offset[:, 1] - tangent[:, 1] * offset[:, 0]
        off_line = np.hypot(offset[:, 0], offset[:, 1]) > _ON_LINE_M
        side[within_reach] = np.where(off_line, np.sign(cross), 0).astype(np.int8)
        return side.reshape(lat.shape)
