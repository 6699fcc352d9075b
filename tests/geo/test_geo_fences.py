"""Polygon and line geofences, checked against geodesics computed independently."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from hotzone.geo.borders import border_between, country_geometry
from hotzone.geo.fences import LineFence, PolygonFence
from hotzone.geo.geodesic import destination_point, geodesic_inverse

WARSAW = (52.2297, 21.0122)
BIALYSTOK = (53.1325, 23.1688)
GRODNO = (53.6694, 23.8131)
MINSK = (53.9006, 27.5590)
VILNIUS = (54.6872, 25.2797)


def _square_fence(centre_lat: float, centre_lon: float, half_side_m: float) -> PolygonFence:
    """Corners at the four diagonal bearings from a centre."""
    corners = destination_point(
        centre_lat, centre_lon, [45.0, 135.0, 225.0, 315.0], half_side_m * np.sqrt(2.0)
    )
    return PolygonFence.from_vertices(corners.lat_deg, corners.lon_deg, name="square")


def test_distance_to_a_meridian_line_is_the_perpendicular_geodesic() -> None:
    """A meridian is a geodesic, and a geodesic leaving it at a right angle reaches points
    whose nearest point on it is the foot; so the distance is the length walked."""
    fence = LineFence.from_vertices([53.0, 55.0], [23.0, 23.0], name="meridian")
    walked = np.array([10.0, 1e3, 25e3, 100e3, 150e3])
    for bearing in (90.0, 270.0):
        reached = destination_point(54.0, 23.0, bearing, walked)
        distance = fence.distance_m(reached.lat_deg, reached.lon_deg)
        np.testing.assert_allclose(distance, walked, atol=0.01)


def test_distance_to_a_long_oblique_line() -> None:
    """Same idea on a 600 km diagonal geodesic: leave its midpoint at right angles."""
    start, end = (52.0, 20.0), (56.0, 27.0)
    path = geodesic_inverse(*start, *end)
    middle = destination_point(*start, path.initial_bearing_deg, path.distance_m / 2.0)
    fence = LineFence.from_vertices([start[0], end[0]], [start[1], end[1]])
    walked = np.array([5e3, 50e3, 120e3])
    reached = destination_point(
        middle.lat_deg, middle.lon_deg, middle.final_bearing_deg + 90.0, walked
    )
    np.testing.assert_allclose(
        fence.distance_m(reached.lat_deg, reached.lon_deg), walked, atol=0.01
    )


def test_polygon_contains_points_inside_and_not_outside() -> None:
    fence = _square_fence(54.0, 23.0, 50e3)
    bearings = np.linspace(0.0, 350.0, 36)
    inside = destination_point(54.0, 23.0, bearings, 45e3)
    outside = destination_point(54.0, 23.0, bearings, 75e3)  # beyond even the corners
    assert np.all(fence.contains(inside.lat_deg, inside.lon_deg))
    assert not np.any(fence.contains(outside.lat_deg, outside.lon_deg))


def test_polygon_edges_are_geodesics_not_parallels() -> None:
    """An edge between two corners on the 60th parallel bows north of it; a point 1 km
    south of the geodesic's midpoint is inside, 1 km north of it is outside."""
    fence = PolygonFence.from_vertices([55.0, 60.0, 60.0, 55.0], [10.0, 10.0, 30.0, 30.0])
    top = geodesic_inverse(60.0, 10.0, 60.0, 30.0)
    middle = destination_point(60.0, 10.0, top.initial_bearing_deg, top.distance_m / 2.0)
    assert middle.lat_deg > 60.3  # the bow is large enough to matter
    south = destination_point(middle.lat_deg, middle.lon_deg, 180.0, 1e3)
    north = destination_point(middle.lat_deg, middle.lon_deg, 0.0, 1e3)
    assert fence.contains(south.lat_deg, south.lon_deg)
    assert not fence.contains(north.lat_deg, north.lon_deg)


def test_polygon_distance_is_zero_inside_and_geodesic_outside() -> None:
    """Square with a north-south eastern edge; walking due east from it measures distance."""
    fence = PolygonFence.from_vertices([53.5, 54.5, 54.5, 53.5], [22.0, 22.0, 24.0, 24.0])
    walked = np.array([2e3, 40e3, 90e3])
    reached = destination_point(54.0, 24.0, 90.0, walked)
    np.testing.assert_allclose(
        fence.distance_m(reached.lat_deg, reached.lon_deg), walked, atol=0.01
    )
    assert fence.distance_m(54.0, 23.0) == 0.0
    to_edge = fence.distance_to_boundary_m(54.0, 23.9)
    assert 0.0 < to_edge < 7e3  # 0.1 degree of longitude is ~6.5 km here


def test_polygon_with_a_hole() -> None:
    outer = [(22.0, 53.0), (26.0, 53.0), (26.0, 56.0), (22.0, 56.0)]
    hole = [(23.5, 54.0), (24.5, 54.0), (24.5, 55.0), (23.5, 55.0)]
    fence = PolygonFence(shapely.Polygon(outer, [hole]), name="ring")
    assert fence.contains([53.5, 54.5], [23.0, 24.0]).tolist() == [True, False]
    assert fence.distance_m(54.5, 24.0) > 30e3


def test_country_fence_from_border_data() -> None:
    lithuania = PolygonFence(country_geometry("LT"), name="LT")
    lat = np.array([VILNIUS[0], MINSK[0], GRODNO[0]])
    lon = np.array([VILNIUS[1], MINSK[1], GRODNO[1]])
    assert lithuania.contains(lat, lon).tolist() == [True, False, False]
    # Vilnius lies some 30 km from the Belarusian border.
    assert 15e3 < lithuania.distance_to_boundary_m(*VILNIUS) < 45e3


def test_border_sides_and_crossings() -> None:
    pl_by = LineFence(border_between("PL", "BY"), name="PL-BY")
    lat = np.array([WARSAW[0], BIALYSTOK[0], GRODNO[0], MINSK[0]])
    lon = np.array([WARSAW[1], BIALYSTOK[1], GRODNO[1], MINSK[1]])
    sides = pl_by.side_of(lat, lon)
    assert sides[0] == sides[1] != 0
    assert sides[2] == sides[3] == -sides[0]
    moved = pl_by.crosses(
        BIALYSTOK[0], BIALYSTOK[1], [GRODNO[0], WARSAW[0]], [GRODNO[1], WARSAW[1]]
    )
    assert moved.tolist() == [True, False]


def test_side_of_a_bent_line_near_its_corner() -> None:
    """A line north then east; points around the corner get the side a walker sees."""
    fence = LineFence.from_vertices([53.0, 54.0, 54.0], [23.0, 23.0, 25.0])
    # Walking north then turning east (right turn): the outside of the bend (north-west)
    # is on the left, the inside (south-east) on the right.
    outside_corner = destination_point(54.0, 23.0, 315.0, 5e3)
    inside_corner = destination_point(54.0, 23.0, 135.0, 5e3)
    assert fence.side_of(outside_corner.lat_deg, outside_corner.lon_deg) == 1
    assert fence.side_of(inside_corner.lat_deg, inside_corner.lon_deg) == -1
    # Beyond the ends the line goes on straight.
    assert fence.side_of(52.0, 22.9) == 1
    assert fence.side_of(53.9, 26.0) == -1
    # On the second leg itself, which is a geodesic and bows north of the 54th parallel.
    leg = geodesic_inverse(54.0, 23.0, 54.0, 25.0)
    on_leg = destination_point(54.0, 23.0, leg.initial_bearing_deg, leg.distance_m / 3.0)
    assert fence.side_of(on_leg.lat_deg, on_leg.lon_deg) == 0
    assert fence.side_of(54.0, 24.0) == -1


def test_side_agrees_with_crossing() -> None:
    """Over random moves, the side changes exactly when a crossing is reported (for a
    straight line, where a move cannot cross twice)."""
    rng = np.random.default_rng(8)
    fence = LineFence.from_vertices([48.0, 60.0], [18.0, 30.0])
    start_lat, start_lon = rng.uniform(51.0, 57.0, 500), rng.uniform(20.0, 28.0, 500)
    end_lat = start_lat + rng.normal(0.0, 0.3, 500)
    end_lon = start_lon + rng.normal(0.0, 0.5, 500)
    changed = fence.side_of(start_lat, start_lon) != fence.side_of(end_lat, end_lon)
    crossed = fence.crosses(start_lat, start_lon, end_lat, end_lon)
    np.testing.assert_array_equal(changed, crossed)
    assert 20 < np.count_nonzero(crossed) < 480


def test_shapes_follow_the_input() -> None:
    fence = _square_fence(54.0, 23.0, 50e3)
    grid_lat = np.full((3, 4), 54.0)
    grid_lon = np.linspace(22.0, 24.0, 12).reshape(3, 4)
    assert fence.contains(grid_lat, grid_lon).shape == (3, 4)
    assert fence.distance_m(grid_lat, grid_lon).shape == (3, 4)
    assert fence.crosses(grid_lat, grid_lon, 54.0, 23.0).shape == (3, 4)
    assert fence.contains(54.0, 23.0).shape == ()
    line = LineFence.from_vertices([53.0, 55.0], [23.0, 23.0])
    assert line.side_of(grid_lat, grid_lon).shape == (3, 4)


def test_far_side_of_the_earth_is_outside_and_unmeasured() -> None:
    fence = _square_fence(54.0, 23.0, 50e3)
    assert fence.contains([54.0, -54.0], [23.0, -157.0]).tolist() == [True, False]
    distance = fence.distance_m([54.0, -54.0], [30.0, -157.0])
    assert np.isfinite(distance[0]) and np.isnan(distance[1])


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        ([54.0, 54.1], [23.0, 23.1], "at least 3 distinct corners"),
        ([54.0, 55.0, 54.0, 55.0], [23.0, 24.0, 24.0, 23.0], "not a valid area"),
        ([54.0, 95.0, 54.0], [23.0, 23.0, 24.0], "lat_deg"),
    ],
)
def test_polygon_fence_refuses_bad_vertices(
    lat: list[float], lon: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PolygonFence.from_vertices(lat, lon, name="bad")


def test_line_fence_refuses_bad_lines() -> None:
    with pytest.raises(ValueError, match="at least 2 vertices"):
        LineFence.from_vertices([54.0], [23.0])
    with pytest.raises(ValueError, match="separate pieces"):
        LineFence(shapely.MultiLineString([[(20, 50), (21, 50)], [(22, 50), (23, 50)]]))
    with pytest.raises(ValueError, match="Polygon"):
        PolygonFence(shapely.LineString([(20, 50), (21, 50)]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="spans more than"):
        LineFence.from_vertices([0.0, 0.0, 0.0], [0.0, 90.0, 179.0])


def test_queries_refuse_bad_positions() -> None:
    fence = _square_fence(54.0, 23.0, 50e3)
    with pytest.raises(ValueError, match="lon_deg"):
        fence.contains([54.0], [float("nan")])
    with pytest.raises(ValueError, match="lat_deg"):
        fence.crosses(54.0, 23.0, -91.0, 23.0)
