"""A zone thousands of kilometres long (docs/fusion.md): one aircraft from Tallinn to
Constanța, about 1,700 km, tracked in one Cartesian frame (a rigid turn of ECEF, so
filtering there is filtering in ECEF) with every report's accuracy and velocity turned
from the ENU frame at the aircraft into it: one track, no jump, errors of the order of
the sensor's."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from hotzone.fusion.stage import TrackingStage, default_tracker
from hotzone.geo import LocalFrame
from hotzone.geo.frames import ecef_to_geodetic, geodetic_to_ecef
from hotzone.runtime.windows import ReplaySummary, track_stream
from hotzone.types import GeoPoint, Report, ReportSource

TALLINN = (59.4370, 24.7536)
CONSTANTA = (44.1598, 28.6348)
ALTITUDE_M = 10_000.0
SPEED_MPS = 230.0
START_S = datetime(2025, 6, 2, 6, 0, tzinfo=UTC).timestamp()


def great_circle(fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude at fractions of the Tallinn-Constanța great circle."""
    a = np.array(geodetic_to_ecef(*TALLINN, 0.0))
    b = np.array(geodetic_to_ecef(*CONSTANTA, 0.0))
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    angle = np.arccos(np.clip(a @ b, -1.0, 1.0))
    points = (
        np.sin((1 - fractions) * angle)[:, None] * a + np.sin(fractions * angle)[:, None] * b
    ) / np.sin(angle)
    points *= 6_371_000.0
    latitude, longitude, _ = ecef_to_geodetic(points[:, 0], points[:, 1], points[:, 2])
    return latitude, longitude


def route_length_m() -> float:
    latitude, longitude = great_circle(np.linspace(0, 1, 2001))
    ecef = np.stack(geodetic_to_ecef(latitude, longitude, ALTITUDE_M), axis=1)
    return float(np.linalg.norm(np.diff(ecef, axis=0), axis=1).sum())


def crossing_errors(frame: LocalFrame) -> tuple[set[int], np.ndarray]:
    """Track numbers, and per window the track's (east, north, up) error in metres at the
    aircraft, for the crossing tracked in ``frame``."""
    length = route_length_m()
    duration = length / SPEED_MPS
    times = np.arange(0.0, duration, 10.0)
    latitude, longitude = great_circle(times / duration)
    rng = np.random.default_rng(17)
    reports = []
    for k, (time_s, lat, lon) in enumerate(zip(times, latitude, longitude, strict=True)):
        # 30 m of GNSS noise, as metres at the aircraft.
        north, east = rng.normal(0.0, 30.0, 2)
        reports.append(
            Report(
                report_id=f"adsb-{k}",
                time=datetime.fromtimestamp(START_S + time_s, tz=UTC),
                source_id="adsb-net",
                source=ReportSource.ADSB,
                position=GeoPoint(
                    lat_deg=float(lat + north / 111_320.0),
                    lon_deg=float(lon + east / (111_320.0 * np.cos(np.radians(lat)))),
                    height_m=ALTITUDE_M,
                ),
                horizontal_sigma_m=30.0,
                vertical_sigma_m=30.0,
                icao24="511234",
            )
        )
    stage = TrackingStage(frame=frame, tracker=default_tracker(), confirmed_only=True)
    numbers: set[int] = set()
    errors = []
    for tracks in track_stream(reports, stage, 2.0, ReplaySummary()):
        for track in tracks:
            numbers.add(track.track_number)
            elapsed = track.time.timestamp() - START_S
            if elapsed > duration - 10.0:
                continue
            true_lat, true_lon = great_circle(np.array([elapsed / duration]))
            local = LocalFrame(float(true_lat[0]), float(true_lon[0]), ALTITUDE_M)
            offset = local.geodetic_to_enu(
                track.position.lat_deg, track.position.lon_deg, track.position.height_m
            )
            errors.append(np.asarray(offset).reshape(3))
    return numbers, np.array(errors[10:])  # from the track's settling on


def test_one_aircraft_from_tallinn_to_constanta_keeps_one_track_without_a_jump() -> None:
    """Tracked in the frame of Tallinn (1,700 km behind at the end) and in the frame of
    the route's middle: one track each, errors of the order of the reports' 30 m, and the
    same errors in both frames: where the frame is, and so where a sector border would
    be, changes nothing."""
    length = route_length_m()
    assert 1_600_000 < length < 1_800_000
    middle_lat, middle_lon = great_circle(np.array([0.5]))
    results = {
        "Tallinn": crossing_errors(LocalFrame(*TALLINN, 0.0)),
        "midway": crossing_errors(LocalFrame(float(middle_lat[0]), float(middle_lon[0]), 0.0)),
    }
    for origin, (numbers, error) in results.items():
        horizontal = np.hypot(error[:, 0], error[:, 1])
        print(
            f"\n{origin} frame, {length / 1000:.0f} km: {len(numbers)} track, horizontal "
            f"error RMS {np.sqrt(np.mean(horizontal**2)):.0f} m, max {horizontal.max():.0f} m; "
            f"vertical RMS {np.sqrt(np.mean(error[:, 2] ** 2)):.0f} m"
        )
        assert len(numbers) == 1
        # The reports' 30 m, filtered, then predicted to the end of the window: a report
        # at a window's end is tracked in the next one, up to 2 s (460 m of flight) later.
        assert np.sqrt(np.mean(horizontal**2)) < 75.0
        assert horizontal.max() < 300.0
        assert np.sqrt(np.mean(error[:, 2] ** 2)) < 60.0
    far, near = results["Tallinn"][1], results["midway"][1]
    assert far.shape == near.shape
    difference = np.linalg.norm(far - near, axis=1)
    print(f"frames differ by at most {difference.max():.2f} m")
    assert difference.max() < 5.0
