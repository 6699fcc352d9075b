"""The hooked track's details: the uncertainty ellipse and the speed history."""

from __future__ import annotations

import math

import pytest

from hotzone.api.picture import ELLIPSE_95_SCALE, history_with_speed, uncertainty_ellipse


def test_the_ellipse_of_a_covariance_elongated_north_east() -> None:
    # Variances 400 m^2 along bearing 045 and 100 m^2 across it, rotated into east/north.
    along, across = 400.0, 100.0
    angle = math.radians(45.0)  # from east, counter-clockwise: bearing 045
    c, s = math.cos(angle), math.sin(angle)
    east_east = along * c * c + across * s * s
    north_north = along * s * s + across * c * c
    east_north = (along - across) * c * s
    covariance = [[east_east, east_north, 0.0], [east_north, north_north, 0.0], [0.0, 0.0, 1.0]]
    ellipse = uncertainty_ellipse(covariance)
    assert ellipse is not None
    assert ellipse["semi_major_m"] == pytest.approx(ELLIPSE_95_SCALE * 20.0)
    assert ellipse["semi_minor_m"] == pytest.approx(ELLIPSE_95_SCALE * 10.0)
    assert ellipse["bearing_deg"] == pytest.approx(45.0)
    # Elongated north-south: bearing 0; a covariance too small to read: none.
    north = uncertainty_ellipse([[1.0, 0.0], [0.0, 9.0]])
    assert north is not None and north["bearing_deg"] == pytest.approx(0.0)
    assert uncertainty_ellipse([[1.0]]) is None


def test_speeds_between_successive_positions() -> None:
    # 0.001 degree of latitude north in 2 s: 111.2 m, 55.6 m/s.
    points = history_with_speed([(0.0, 54.0, 23.0, 300.0), (2.0, 54.001, 23.0, 310.0)])
    assert points[0]["speed_mps"] is None
    assert points[1]["speed_mps"] == pytest.approx(55.6, abs=0.1)
    assert points[1]["altitude_m"] == 310.0
