"""WGS-84 / ECEF / ENU conversions against pymap3d, an independent implementation."""

from __future__ import annotations

import numpy as np
import pymap3d
import pytest

from hotzone.geo.frames import (
    LocalFrame,
    ecef_to_geodetic,
    enu_to_polar,
    geodetic_to_ecef,
    polar_to_enu,
)

MILLIMETRE = 1e-3
# One degree of latitude is at most ~111.7 km; this converts an angle error to metres.
METRES_PER_DEGREE = 111_700.0


@pytest.fixture(scope="module")
def area_of_interest() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random points over the eastern flank, from below sea level to the stratosphere."""
    rng = np.random.default_rng(20240611)
    count = 5000
    lat = rng.uniform(40.0, 72.0, count)
    lon = rng.uniform(10.0, 45.0, count)
    height = rng.uniform(-100.0, 40_000.0, count)
    # The corners of the box are where errors from a bad formula would show first.
    corners_lat, corners_lon, corners_h = np.meshgrid(
        [40.0, 72.0], [10.0, 45.0], [-100.0, 40_000.0], indexing="ij"
    )
    return (
        np.concatenate([lat, corners_lat.ravel()]),
        np.concatenate([lon, corners_lon.ravel()]),
        np.concatenate([height, corners_h.ravel()]),
    )


def test_geodetic_to_ecef_matches_pymap3d(area_of_interest) -> None:
    lat, lon, height = area_of_interest
    ours = np.stack(geodetic_to_ecef(lat, lon, height))
    reference = np.stack(pymap3d.geodetic2ecef(lat, lon, height))
    assert np.max(np.abs(ours - reference)) < MILLIMETRE


def test_ecef_to_geodetic_matches_pymap3d(area_of_interest) -> None:
    lat, lon, height = area_of_interest
    x, y, z = pymap3d.geodetic2ecef(lat, lon, height)
    our_lat, our_lon, our_h = ecef_to_geodetic(x, y, z)
    ref_lat, ref_lon, ref_h = pymap3d.ecef2geodetic(x, y, z)
    assert np.max(np.abs(our_lat - ref_lat)) * METRES_PER_DEGREE < MILLIMETRE
    assert np.max(np.abs(our_lon - ref_lon)) * METRES_PER_DEGREE < MILLIMETRE
    assert np.max(np.abs(our_h - ref_h)) < MILLIMETRE


@pytest.mark.parametrize("height_m", [400e3, 20_200e3, 35_786e3])
def test_round_trip_at_orbital_heights(area_of_interest, height_m: float) -> None:
    """LEO, GNSS and geostationary heights, where space sensors report positions."""
    lat, lon, _ = area_of_interest
    back_lat, back_lon, back_h = ecef_to_geodetic(*geodetic_to_ecef(lat, lon, height_m))
    assert np.max(np.abs(back_lat - lat)) * METRES_PER_DEGREE < MILLIMETRE
    assert np.max(np.abs(back_lon - lon)) * METRES_PER_DEGREE < MILLIMETRE
    assert np.max(np.abs(back_h - height_m)) < MILLIMETRE


def test_poles_and_equator_round_trip() -> None:
    lat = np.array([90.0, -90.0, 0.0, 0.0])
    lon = np.array([0.0, 0.0, 0.0, 180.0])
    back_lat, _, back_h = ecef_to_geodetic(*geodetic_to_ecef(lat, lon, 1000.0))
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)
    np.testing.assert_allclose(back_h, 1000.0, atol=MILLIMETRE)


def test_geodetic_to_enu_matches_pymap3d(area_of_interest) -> None:
    lat, lon, height = area_of_interest
    frame = LocalFrame(54.0, 23.0, 150.0)
    ours = frame.geodetic_to_enu(lat, lon, height)
    reference = np.stack(pymap3d.geodetic2enu(lat, lon, height, 54.0, 23.0, 150.0), axis=-1)
    assert ours.shape == (lat.size, 3)
    assert np.max(np.abs(ours - reference)) < MILLIMETRE


def test_enu_to_geodetic_matches_pymap3d() -> None:
    rng = np.random.default_rng(7)
    enu = rng.uniform([-300e3, -300e3, -100.0], [300e3, 300e3, 40e3], size=(2000, 3))
    frame = LocalFrame(52.2, 21.0, 100.0)
    lat, lon, height = frame.enu_to_geodetic(enu)
    ref_lat, ref_lon, ref_h = pymap3d.enu2geodetic(
        enu[:, 0], enu[:, 1], enu[:, 2], 52.2, 21.0, 100.0
    )
    assert np.max(np.abs(lat - ref_lat)) * METRES_PER_DEGREE < MILLIMETRE
    assert np.max(np.abs(lon - ref_lon)) * METRES_PER_DEGREE < MILLIMETRE
    assert np.max(np.abs(height - ref_h)) < MILLIMETRE


def test_enu_round_trip_keeps_shape() -> None:
    frame = LocalFrame(60.0, 25.0)
    rng = np.random.default_rng(3)
    enu = rng.uniform(-200e3, 200e3, size=(4, 5, 3))
    back = frame.geodetic_to_enu(*frame.enu_to_geodetic(enu))
    assert back.shape == (4, 5, 3)
    assert np.max(np.abs(back - enu)) < MILLIMETRE


def test_scalar_in_gives_single_vector_out() -> None:
    frame = LocalFrame(54.0, 23.0)
    origin = frame.geodetic_to_enu(54.0, 23.0, 0.0)
    assert origin.shape == (3,)
    np.testing.assert_allclose(origin, 0.0, atol=MILLIMETRE)
    x, y, z = geodetic_to_ecef(54.0, 23.0, 0.0)
    assert np.ndim(x) == np.ndim(y) == np.ndim(z) == 0


def test_enu_axes_point_east_north_up() -> None:
    frame = LocalFrame(54.0, 23.0)
    north_point = frame.geodetic_to_enu(54.01, 23.0, 0.0)
    east_point = frame.geodetic_to_enu(54.0, 23.01, 0.0)
    above = frame.geodetic_to_enu(54.0, 23.0, 500.0)
    assert north_point[1] > 1000.0 and abs(north_point[0]) < 1e-6
    assert east_point[0] > 600.0 and abs(east_point[1]) < 1.0
    np.testing.assert_allclose(above, [0.0, 0.0, 500.0], atol=MILLIMETRE)


def test_vector_to_rotates_like_a_full_conversion() -> None:
    """A displacement seen from two frames differs only by the rotation ``vector_to``."""
    sector_a = LocalFrame(54.0, 23.0)
    sector_b = LocalFrame(52.0, 27.0)
    start = np.array([10e3, -5e3, 1e3])
    step = np.array([250.0, 100.0, -20.0])
    in_a = np.stack([start, start + step])
    in_b = sector_b.ecef_to_enu(sector_a.enu_to_ecef(in_a))
    rotated = sector_a.vector_to(sector_b) @ step
    np.testing.assert_allclose(in_b[1] - in_b[0], rotated, atol=1e-6)


@pytest.mark.parametrize(
    ("lat", "lon", "height"),
    [(91.0, 0.0, 0.0), (0.0, 181.0, 0.0), (float("nan"), 0.0, 0.0), (0.0, 0.0, float("inf"))],
)
def test_frame_rejects_origin_off_earth(lat: float, lon: float, height: float) -> None:
    with pytest.raises(ValueError, match="frame origin"):
        LocalFrame(lat, lon, height)


def test_polar_and_enu_are_inverses() -> None:
    rng = np.random.default_rng(11)
    count = 1000
    range_m = rng.uniform(1.0, 400e3, count)
    azimuth = rng.uniform(0.0, 360.0, count)
    elevation = rng.uniform(-89.0, 89.0, count)
    enu = polar_to_enu(range_m, azimuth, elevation)
    assert enu.shape == (count, 3)
    back_range, back_azimuth, back_elevation = enu_to_polar(enu)
    np.testing.assert_allclose(back_range, range_m, rtol=1e-12)
    azimuth_error = (back_azimuth - azimuth + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(azimuth_error)) < 1e-9
    np.testing.assert_allclose(back_elevation, elevation, atol=1e-9)


def test_polar_to_enu_known_directions() -> None:
    enu = polar_to_enu([100.0, 100.0, 100.0], [0.0, 90.0, 45.0], [0.0, 0.0, 90.0])
    np.testing.assert_allclose(enu[0], [0.0, 100.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(enu[1], [100.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(enu[2], [0.0, 0.0, 100.0], atol=1e-9)


def test_azimuth_stays_in_half_open_interval() -> None:
    """Just west of north must not come out as exactly 360 degrees."""
    _, azimuth, _ = enu_to_polar(np.array([[-1e-20, 1.0, 0.0], [-1.0, 0.0, 0.0]]))
    assert np.all((azimuth >= 0.0) & (azimuth < 360.0))
    np.testing.assert_allclose(azimuth, [0.0, 270.0], atol=1e-12)


def test_polar_round_trip_through_geodetic_matches_pymap3d() -> None:
    """A radar plot converted via our frame lands where pymap3d's aer2geodetic puts it."""
    frame = LocalFrame(53.13, 23.16, 140.0)
    range_m = np.array([5e3, 80e3, 250e3])
    azimuth = np.array([10.0, 135.0, 300.0])
    elevation = np.array([0.5, 3.0, 8.0])
    lat, lon, height = frame.enu_to_geodetic(polar_to_enu(range_m, azimuth, elevation))
    ref_lat, ref_lon, ref_h = pymap3d.aer2geodetic(azimuth, elevation, range_m, 53.13, 23.16, 140.0)
    assert np.max(np.abs(lat - ref_lat)) * METRES_PER_DEGREE < MILLIMETRE
    assert np.max(np.abs(lon - ref_lon)) * METRES_PER_DEGREE < MILLIMETRE
    assert np.max(np.abs(height - ref_h)) < MILLIMETRE
