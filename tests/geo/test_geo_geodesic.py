"""Geodesic distance, bearings and destination points on WGS-84."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymap3d.vincenty import vdist, vreckon

from hotzone.geo.geodesic import (
    destination_point,
    final_bearing_deg,
    geodesic_distance_m,
    geodesic_inverse,
    initial_bearing_deg,
    within_m,
)

WGS84_SEMI_MAJOR_M = 6378137.0


@pytest.fixture(scope="module")
def point_pairs() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(42)
    count = 300
    return (
        rng.uniform(40.0, 72.0, count),
        rng.uniform(10.0, 45.0, count),
        rng.uniform(40.0, 72.0, count),
        rng.uniform(10.0, 45.0, count),
    )


def test_distance_and_initial_bearing_match_vincenty(point_pairs) -> None:
    lat1, lon1, lat2, lon2 = point_pairs
    solution = geodesic_inverse(lat1, lon1, lat2, lon2)
    vincenty_distance, vincenty_azimuth = vdist(lat1, lon1, lat2, lon2)
    # Vincenty is good to well under a millimetre over these continental distances.
    assert np.max(np.abs(solution.distance_m - vincenty_distance)) < 1e-3
    bearing_error = (solution.initial_bearing_deg - vincenty_azimuth + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(bearing_error)) < 1e-7


def test_final_bearing_is_reverse_of_initial_bearing_from_the_other_end(point_pairs) -> None:
    """Arriving at B along the geodesic is the opposite of leaving B towards A."""
    lat1, lon1, lat2, lon2 = point_pairs
    arriving = final_bearing_deg(lat1, lon1, lat2, lon2)
    leaving_back = initial_bearing_deg(lat2, lon2, lat1, lon1)
    error = (arriving - (leaving_back + 180.0) + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(error)) < 1e-9


def test_published_wellington_to_salamanca_distance() -> None:
    """The nearly antipodal example from the GeographicLib documentation."""
    distance = geodesic_distance_m(-41.32, 174.81, 40.96, -5.50)
    assert distance == pytest.approx(19_959_679.267, abs=1e-3)


def test_quarter_meridian_length() -> None:
    """Equator to pole along a meridian is the WGS-84 quarter meridian, 10 001 965.729 m."""
    assert geodesic_distance_m(0.0, 25.0, 90.0, 25.0) == pytest.approx(10_001_965.729, abs=1e-3)


def test_short_equatorial_arc_is_circular() -> None:
    """Along the equator the ellipsoid is a circle of the semi-major axis."""
    expected = WGS84_SEMI_MAJOR_M * math.radians(1.0)
    assert geodesic_distance_m(0.0, 10.0, 0.0, 11.0) == pytest.approx(expected, rel=1e-12)


def test_cardinal_bearings() -> None:
    lat2 = np.array([55.0, 54.0, 53.0, 54.0])
    lon2 = np.array([23.0, 24.0, 23.0, 22.0])
    bearings = initial_bearing_deg(54.0, 23.0, lat2, lon2)
    np.testing.assert_allclose(bearings[[0, 2]], [0.0, 180.0], atol=1e-9)
    # East and west along a parallel start slightly poleward of due east/west.
    assert 89.0 < bearings[1] < 90.0
    assert 270.0 < bearings[3] < 271.0


def test_bearings_in_half_open_interval(point_pairs) -> None:
    solution = geodesic_inverse(*point_pairs)
    for bearing in (solution.initial_bearing_deg, solution.final_bearing_deg):
        assert np.all((bearing >= 0.0) & (bearing < 360.0))


def test_destination_matches_vincenty_reckon(point_pairs) -> None:
    lat1, lon1, _, _ = point_pairs
    rng = np.random.default_rng(5)
    bearing = rng.uniform(0.0, 360.0, lat1.size)
    distance = rng.uniform(0.0, 500e3, lat1.size)
    ours = destination_point(lat1, lon1, bearing, distance)
    ref_lat, ref_lon = vreckon(lat1, lon1, distance, bearing)
    assert np.max(np.abs(ours.lat_deg - ref_lat)) * 111_700.0 < 1e-3
    lon_error = (ours.lon_deg - ref_lon + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(lon_error)) * 111_700.0 < 1e-3


def test_destination_then_inverse_round_trip(point_pairs) -> None:
    lat1, lon1, _, _ = point_pairs
    bearing = np.linspace(0.0, 359.0, lat1.size)
    end = destination_point(lat1, lon1, bearing, 250e3)
    back = geodesic_inverse(lat1, lon1, end.lat_deg, end.lon_deg)
    np.testing.assert_allclose(back.distance_m, 250e3, atol=1e-6)
    bearing_error = (back.initial_bearing_deg - bearing + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(bearing_error)) < 1e-9
    final_error = (back.final_bearing_deg - end.final_bearing_deg + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(final_error)) < 1e-9


def test_broadcasting_and_shapes() -> None:
    grid_lat = np.full((2, 3), 54.0)
    grid_lon = np.array([[20.0, 21.0, 22.0], [23.0, 24.0, 25.0]])
    distances = geodesic_distance_m(54.0, 23.0, grid_lat, grid_lon)
    assert distances.shape == (2, 3)
    assert distances[1, 0] == pytest.approx(0.0, abs=1e-9)
    scalar = geodesic_distance_m(54.0, 23.0, 55.0, 23.0)
    assert np.ndim(scalar) == 0
    ring = destination_point(54.0, 23.0, np.arange(0.0, 360.0, 45.0), 10e3)
    assert ring.lat_deg.shape == (8,)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ((91.0, 0.0, 0.0, 0.0), "lat1_deg"),
        ((0.0, 0.0, float("nan"), 0.0), "lat2_deg"),
        ((0.0, float("inf"), 0.0, 0.0), "lon1_deg"),
    ],
)
def test_inverse_rejects_bad_coordinates(arguments: tuple[float, ...], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        geodesic_inverse(*arguments)


def test_destination_rejects_bad_distance() -> None:
    with pytest.raises(ValueError, match="distance_m"):
        destination_point(54.0, 23.0, 90.0, [1.0, float("nan")])


@pytest.mark.parametrize("radius_m", [50.0, 2_000.0, 35_000.0, 900_000.0])
def test_within_is_the_geodesic_distance_compared_with_the_radius(radius_m: float) -> None:
    """Points on every bearing at 0.98-1.02 of the radius (where the sphere and the
    ellipsoid disagree by up to 0.6 %: north-south near the equator the sphere is longer,
    east-west shorter), at latitudes from the equator to the poles, and some far away."""
    rng = np.random.default_rng(7)
    centres_lat = np.array([0.0, 0.3, 23.0, 54.1, 71.0, 89.9, -45.0, -89.9])
    lat1 = np.repeat(centres_lat, 500)
    lon1 = rng.uniform(-180.0, 180.0, lat1.size)
    bearing = rng.uniform(0.0, 360.0, lat1.size)
    fraction = np.where(rng.random(lat1.size) < 0.9, rng.uniform(0.98, 1.02, lat1.size), 30.0)
    lat2, lon2 = destination_point(lat1, lon1, bearing, fraction * radius_m)[:2]
    inside = within_m(lat1, lon1, lat2, lon2, radius_m)
    exact = geodesic_distance_m(lat1, lon1, lat2, lon2) <= radius_m
    assert np.array_equal(inside, exact)
    assert 0.3 < inside.mean() < 0.6  # both sides of the radius were tried
    # Broadcast like the other functions: one centre against many points, and a scalar.
    assert within_m(54.1, 23.0, lat2[:10], lon2[:10], radius_m).shape == (10,)
    assert within_m(54.1, 23.0, 54.1, 23.0, 0.0).shape == ()
    assert bool(within_m(54.1, 23.0, 54.1, 23.0, 0.0))
