"""Statistical checks of the radars and short-range sensors, each over >= 1,000 samples."""

from __future__ import annotations

import numpy as np
import pytest

from hotzone.geo import enu_to_polar
from hotzone.sim.sensors import (
    AcousticArrayConfig,
    AirSurveillanceRadarConfig,
    EoIrCameraConfig,
    GroundSurveillanceRadarConfig,
    build_sensor,
)
from hotzone.sim.sensors.acoustic_array import AcousticArrayModel
from hotzone.sim.sensors.air_surveillance_radar import AirSurveillanceRadarModel
from hotzone.sim.sensors.ground_surveillance_radar import GroundSurveillanceRadarModel
from hotzone.types import Detection, TargetClass
from tests.sim.sensor_fixtures import (
    SITE_LAT_DEG,
    SITE_LON_DEG,
    START,
    at_polar,
    make_context,
    make_truth,
    signed_difference_deg,
)


def _radar(**overrides: object) -> AirSurveillanceRadarModel:
    fields: dict[str, object] = {
        "id": "asr-1",
        "lat_deg": SITE_LAT_DEG,
        "lon_deg": SITE_LON_DEG,
        "height_m": 30.0,
        "clutter_rate_per_scan": 0.0,
        **overrides,
    }
    model = build_sensor(AirSurveillanceRadarConfig(**fields), make_context())  # type: ignore[arg-type]
    assert isinstance(model, AirSurveillanceRadarModel)
    return model


def test_radar_measurement_errors_have_the_configured_sigmas() -> None:
    radar = _radar(range_sigma_m=40.0, azimuth_sigma_deg=0.25, elevation_sigma_deg=0.4)
    target = at_polar(60_000.0, 135.0, 5.0)
    true_range, true_azimuth, true_elevation = enu_to_polar(target[0] - [0.0, 0.0, 30.0])
    rng = np.random.default_rng(11)
    truth = make_truth(target, rcs_dbsm=20.0)
    values = []
    for _ in range(2_000):
        plots = radar.observe(truth, rng)
        values.extend(p.values for p in plots if isinstance(p, Detection))
    measured = np.array(values)
    assert measured.shape[0] >= 1_900
    range_error = measured[:, 0] - true_range
    azimuth_error = signed_difference_deg(measured[:, 1], true_azimuth)
    elevation_error = measured[:, 2] - true_elevation
    assert np.std(range_error) == pytest.approx(40.0, rel=0.10)
    assert np.std(azimuth_error) == pytest.approx(0.25, rel=0.10)
    assert np.std(elevation_error) == pytest.approx(0.4, rel=0.10)
    # Unbiased: the mean error is a small fraction of one sigma.
    assert abs(np.mean(range_error)) < 0.15 * 40.0
    assert abs(np.mean(azimuth_error)) < 0.15 * 0.25


def test_radar_detection_rate_matches_its_pd_at_a_given_range() -> None:
    radar = _radar(pd_reference=0.9, reference_range_m=100_000.0, reference_rcs_dbsm=0.0)
    range_m = 120_000.0
    expected = float(radar.detection_probability(np.array([range_m]), np.array([0.0]))[0])
    assert 0.3 < expected < 0.9  # the test range sits on the slope of the curve
    count = 20_000
    azimuths = np.linspace(0.0, 360.0, count, endpoint=False)
    truth = make_truth(at_polar(np.full(count, range_m), azimuths, 2.0), rcs_dbsm=0.0)
    plots = radar.observe(truth, np.random.default_rng(5))
    assert len(plots) / count == pytest.approx(expected, abs=0.02)


def test_radar_pd_passes_through_the_reference_point_and_follows_the_radar_equation() -> None:
    radar = _radar(pd_reference=0.8, reference_range_m=80_000.0, reference_rcs_dbsm=5.0)
    at_reference = radar.detection_probability(np.array([80_000.0]), np.array([5.0]))
    assert at_reference[0] == pytest.approx(0.8, abs=1e-9)
    # Doubling the range costs 12 dB; 12 dB more RCS buys it back exactly.
    compensated = radar.detection_probability(
        np.array([160_000.0]), np.array([5.0 + 40 * np.log10(2)])
    )
    assert compensated[0] == pytest.approx(0.8, abs=1e-9)
    ranges = np.linspace(20_000.0, 150_000.0, 50)
    assert np.all(np.diff(radar.detection_probability(ranges, np.zeros(50))) < 0.0)


def test_radar_clutter_count_per_scan_matches_the_configured_rate() -> None:
    radar = _radar(clutter_rate_per_scan=6.0, min_range_m=2_000.0, max_range_m=100_000.0)
    empty = make_truth(np.zeros((0, 3)))
    rng = np.random.default_rng(3)
    counts = []
    ranges: list[float] = []
    for _ in range(2_000):
        plots = radar.observe(empty, rng)
        counts.append(len(plots))
        ranges.extend(p.values[0] for p in plots if isinstance(p, Detection))
    assert np.mean(counts) == pytest.approx(6.0, rel=0.10)
    # Uniform over the volume: half of the plots lie beyond the radius that halves r³.
    median_radius = np.cbrt((2_000.0**3 + 100_000.0**3) / 2.0)
    assert np.mean(np.array(ranges) > median_radius) == pytest.approx(0.5, abs=0.03)


def test_ground_radar_range_and_azimuth_sigmas_and_doppler_notch() -> None:
    config = GroundSurveillanceRadarConfig(
        id="gsr-1",
        lat_deg=SITE_LAT_DEG,
        lon_deg=SITE_LON_DEG,
        height_m=10.0,
        range_sigma_m=15.0,
        azimuth_sigma_deg=0.4,
        clutter_rate_per_scan=0.0,
        min_radial_speed_mps=1.5,
        slow_target_pd_factor=0.05,
    )
    radar = build_sensor(config, make_context())
    assert isinstance(radar, GroundSurveillanceRadarModel)
    # 100 movers 3.6° apart (9 sigma), so each plot belongs to the target nearest in azimuth.
    azimuths = np.arange(100) * 3.6
    positions = at_polar(np.full(100, 8_000.0), azimuths, 0.0)
    radial_unit = positions / np.linalg.norm(positions, axis=1, keepdims=True)
    true_range, true_azimuth, _ = enu_to_polar(positions - [0.0, 0.0, 10.0])
    rng = np.random.default_rng(21)

    moving = make_truth(positions, velocity_enu_mps=5.0 * radial_unit, rcs_dbsm=10.0)
    plots = [p for _ in range(25) for p in radar.observe(moving, rng) if isinstance(p, Detection)]
    assert len(plots) > 0.9 * 2_500
    measured = np.array([p.values for p in plots])
    owner = np.argmin(
        np.abs(signed_difference_deg(measured[:, 1][:, None], true_azimuth[None, :])), axis=1
    )
    assert np.std(measured[:, 0] - true_range[owner]) == pytest.approx(15.0, rel=0.10)
    azimuth_error = signed_difference_deg(measured[:, 1], true_azimuth[owner])
    assert np.std(azimuth_error) == pytest.approx(0.4, rel=0.10)
    dopplers = np.array([p.doppler_mps for p in plots])
    assert np.median(dopplers) == pytest.approx(5.0, abs=0.1)

    # Inside the doppler notch the same movers are mostly lost.
    slow = make_truth(positions, velocity_enu_mps=0.5 * radial_unit, rcs_dbsm=10.0)
    slow_plots = [p for _ in range(25) for p in radar.observe(slow, rng)]
    assert len(slow_plots) / 2_500 < 0.1


def test_acoustic_pd_falls_with_range_as_modelled() -> None:
    config = AcousticArrayConfig(id="ac-1", lat_deg=SITE_LAT_DEG, lon_deg=SITE_LON_DEG)
    array = build_sensor(config, make_context())
    assert isinstance(array, AcousticArrayModel)
    count = 20_000
    rng = np.random.default_rng(8)
    azimuths = np.linspace(0.0, 360.0, count, endpoint=False)
    rates = []
    for range_m in (300.0, 800.0, 1_200.0):
        truth = make_truth(
            at_polar(np.full(count, range_m), azimuths, 5.0), target_class=TargetClass.SMALL_UAV
        )
        detected = len(array.observe(truth, rng)) / count
        expected = float(array.detection_probability(np.array([range_m]))[0])
        assert detected == pytest.approx(expected, abs=0.02)
        rates.append(detected)
    assert rates[0] > rates[1] > rates[2]
    assert rates[1] == pytest.approx(config.pd_max / 2.0, abs=0.02)
    # A class it does not hear is never reported.
    silent = make_truth(
        at_polar(np.full(100, 300.0), azimuths[:100], 5.0), target_class=TargetClass.VESSEL
    )
    assert array.observe(silent, rng) == []


def test_eo_ir_class_hint_is_right_with_the_configured_probability() -> None:
    config = EoIrCameraConfig(
        id="eo-1",
        lat_deg=SITE_LAT_DEG,
        lon_deg=SITE_LON_DEG,
        height_m=20.0,
        pd=1.0,
        true_class_probability=0.7,
        azimuth_sigma_deg=0.1,
    )
    camera = build_sensor(config, make_context())
    count = 5_000
    azimuths = np.linspace(0.0, 360.0, count, endpoint=False)
    truth = make_truth(
        at_polar(np.full(count, 3_000.0), azimuths, 3.0), target_class=TargetClass.SMALL_UAV
    )
    detections = [
        d for d in camera.observe(truth, np.random.default_rng(4)) if isinstance(d, Detection)
    ]
    assert len(detections) == count
    hints = [d.class_hint for d in detections]
    assert hints.count(TargetClass.SMALL_UAV) / count == pytest.approx(0.7, abs=0.02)
    assert {h for h in hints if h != TargetClass.SMALL_UAV} <= set(config.confusable_classes)
    assert all(d.class_confidence == 0.7 for d in detections)
    errors = signed_difference_deg([d.values[0] for d in detections], azimuths)
    assert np.std(errors) == pytest.approx(0.1, rel=0.10)
    assert detections[0].time == START


def test_ground_radar_clutter_is_poisson_at_the_rate_and_uniform_over_the_area() -> None:
    config = GroundSurveillanceRadarConfig(
        id="gsr-1",
        lat_deg=SITE_LAT_DEG,
        lon_deg=SITE_LON_DEG,
        clutter_rate_per_scan=4.0,
        min_range_m=500.0,
        max_range_m=20_000.0,
        azimuth_center_deg=90.0,
        azimuth_width_deg=120.0,
    )
    radar = build_sensor(config, make_context())
    empty = make_truth(np.zeros((0, 3)))
    rng = np.random.default_rng(13)
    scans = [radar.observe(empty, rng) for _ in range(1_500)]
    counts = np.array([len(scan) for scan in scans])
    assert np.mean(counts) == pytest.approx(4.0, rel=0.10)
    # Poisson: the variance equals the mean.
    assert np.var(counts) == pytest.approx(4.0, rel=0.15)
    plots = np.array([p.values for scan in scans for p in scan if isinstance(p, Detection)])
    median_radius = np.sqrt((500.0**2 + 20_000.0**2) / 2.0)
    assert np.mean(plots[:, 0] > median_radius) == pytest.approx(0.5, abs=0.03)
    assert np.all(np.abs(signed_difference_deg(plots[:, 1], 90.0)) <= 60.0)
    # On the ground: just below the radar's horizontal plane.
    assert np.all((plots[:, 2] <= 0.0) & (plots[:, 2] > -0.2))
