"""Behaviour of single sensors: horizon, beam timing, classes heard, UGS and cyber events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hotzone.sim.sensors import (
    AirSurveillanceRadarConfig,
    CyberAttack,
    CyberSensorConfig,
    PassiveRfDetectorConfig,
    UnattendedGroundSensorConfig,
    build_sensor,
)
from hotzone.types import Detection, Event, EventKind, GeoPoint, TargetClass
from tests.sim.sensor_fixtures import (
    SITE_FRAME,
    SITE_LAT_DEG,
    SITE_LON_DEG,
    START,
    at_polar,
    make_context,
    make_truth,
)


def _radar(**overrides: object) -> AirSurveillanceRadarConfig:
    fields: dict[str, object] = {
        "id": "asr-1",
        "lat_deg": SITE_LAT_DEG,
        "lon_deg": SITE_LON_DEG,
        "height_m": 20.0,
        "clutter_rate_per_scan": 0.0,
        "pd_reference": 0.99,
        "reference_range_m": 200_000.0,
        **overrides,
    }
    return AirSurveillanceRadarConfig(**fields)  # type: ignore[arg-type]


def test_low_targets_beyond_the_radar_horizon_are_not_seen() -> None:
    radar = build_sensor(_radar(min_elevation_deg=-5.0), make_context())
    # 4/3-Earth horizon for 20 m and 100 m heights: about 18 km + 41 km.
    # Heights above the ellipsoid (the tangent plane's "up" grows with distance).
    lat, lon, _ = SITE_FRAME.enu_to_geodetic(
        at_polar(np.full(500, 80_000.0), np.linspace(0, 359, 500), 0.0)
    )
    low_far = SITE_FRAME.geodetic_to_enu(lat, lon, 100.0)
    high_far = SITE_FRAME.geodetic_to_enu(lat, lon, 3_000.0)
    rng = np.random.default_rng(1)
    assert radar.observe(make_truth(low_far, rcs_dbsm=20.0), rng) == []
    assert len(radar.observe(make_truth(high_far, rcs_dbsm=20.0), rng)) > 450


def test_plots_are_timed_when_the_beam_passes_the_target() -> None:
    config = _radar(scan_period_s=8.0)
    radar = build_sensor(config, make_context())
    times = radar.observation_times(START.timestamp(), START.timestamp() + 80.0)
    assert np.allclose(np.diff(times), 8.0)
    azimuths = np.array([10.0, 100.0, 190.0, 280.0])
    truth = make_truth(at_polar(np.full(4, 30_000.0), azimuths, 3.0), rcs_dbsm=20.0)
    plots = [p for p in radar.observe(truth, np.random.default_rng(2)) if isinstance(p, Detection)]
    assert len(plots) == 4
    offsets = [(p.time - START).total_seconds() for p in plots]
    assert offsets == sorted(offsets)
    assert np.allclose(offsets, azimuths / 360.0 * 8.0, atol=0.02)


def test_doppler_is_the_radial_velocity() -> None:
    radar = build_sensor(_radar(doppler_sigma_mps=0.5), make_context())
    position = at_polar(40_000.0, 45.0, 2.0)
    inbound = -150.0 * position / np.linalg.norm(position)
    truth = make_truth(position, velocity_enu_mps=inbound, rcs_dbsm=20.0)
    rng = np.random.default_rng(3)
    dopplers = [
        p.doppler_mps
        for _ in range(1_000)
        for p in radar.observe(truth, rng)
        if isinstance(p, Detection)
    ]
    assert len(dopplers) > 950
    assert np.mean(dopplers) == pytest.approx(-150.0, abs=0.1)
    assert np.std(dopplers) == pytest.approx(0.5, rel=0.1)


def test_passive_rf_hears_only_emitting_classes_within_range() -> None:
    config = PassiveRfDetectorConfig(
        id="rf-1",
        lat_deg=SITE_LAT_DEG,
        lon_deg=SITE_LON_DEG,
        height_m=15.0,
        pd=1.0,
        measure_elevation=True,
    )
    detector = build_sensor(config, make_context())
    positions = at_polar([3_000.0, 3_000.0, 3_000.0, 30_000.0], [10.0, 80.0, 150.0, 220.0], 2.0)
    classes = [
        TargetClass.SMALL_UAV,
        TargetClass.BIRD_FLOCK,
        TargetClass.HELICOPTER,
        TargetClass.SMALL_UAV,
    ]
    detections = detector.observe(
        make_truth(positions, target_class=classes), np.random.default_rng(4)
    )
    assert len(detections) == 2
    assert all(
        isinstance(d, Detection) and d.kind == "bearing" and len(d.values) == 2 for d in detections
    )
    azimuths = sorted(d.values[0] for d in detections if isinstance(d, Detection))
    assert azimuths == pytest.approx([10.0, 150.0], abs=10.0)


def _ugs(**overrides: object) -> UnattendedGroundSensorConfig:
    fields: dict[str, object] = {
        "id": "ugs-1",
        "lat_deg": SITE_LAT_DEG,
        "lon_deg": SITE_LON_DEG,
        "pd": 1.0,
        "false_alarm_rate_per_hour": 0.0,
        "class_hint_probability": 1.0,
        **overrides,
    }
    return UnattendedGroundSensorConfig(**fields)  # type: ignore[arg-type]


def test_ugs_raises_one_proximity_event_per_passage() -> None:
    sensor = build_sensor(_ugs(detection_radius_m=30.0), make_context())
    rng = np.random.default_rng(5)
    events: list[Event] = []
    # A person walks east along a line 10 m north of the sensor at 1.5 m/s, then a car
    # passes 100 m away (never close).
    for second in range(120):
        time = START + timedelta(seconds=second)
        truth = make_truth(
            [[-90.0 + 1.5 * second, 10.0, 0.0], [-500.0 + 10.0 * second, 100.0, 0.0]],
            time=time,
            target_class=[TargetClass.PERSON, TargetClass.GROUND_VEHICLE],
        )
        events.extend(e for e in sensor.observe(truth, rng) if isinstance(e, Event))
    assert len(events) == 1
    (event,) = events
    assert event.kind == EventKind.PROXIMITY
    assert event.attributes["class_hint"] == "person"
    # It enters the 30 m circle when sqrt(x² + 10²) = 30, x = -28.3 m: after second 41.1.
    assert event.time == START + timedelta(seconds=42)
    assert event.position == sensor.position


def test_ugs_false_alarm_rate() -> None:
    sensor = build_sensor(_ugs(false_alarm_rate_per_hour=36.0), make_context())
    rng = np.random.default_rng(6)
    empty = make_truth(np.zeros((0, 3)))
    alarms = sum(len(sensor.observe(empty, rng)) for _ in range(20_000))
    # 36 per hour at 1 s samples: 0.01 per sample, 200 expected (Poisson sd 14).
    assert alarms == pytest.approx(200, abs=45)


def test_cyber_sensor_alerts_during_attacks_and_rarely_otherwise() -> None:
    sites = {
        "asr-1": GeoPoint(lat_deg=52.1, lon_deg=21.1),
        "gsr-1": GeoPoint(lat_deg=52.2, lon_deg=21.2),
    }
    attack = CyberAttack(
        target_sensor_id="asr-1",
        start=START + timedelta(minutes=10),
        end=START + timedelta(minutes=40),
        kind="intrusion",
        severity=8,
    )
    config = CyberSensorConfig(
        id="soc-1",
        lat_deg=SITE_LAT_DEG,
        lon_deg=SITE_LON_DEG,
        alert_interval_s=60.0,
        detection_delay_s=30.0,
        false_alert_rate_per_hour=2.0,
    )
    sensor = build_sensor(config, make_context(cyber_attacks=(attack,), sensor_sites=sites))
    rng = np.random.default_rng(7)
    empty = make_truth(np.zeros((0, 3)))
    alerts: list[Event] = []
    for _ in range(10):  # ten independent runs over the same two hours
        for t in sensor.observation_times(START.timestamp(), START.timestamp() + 7_200.0):
            truth = make_truth(np.zeros((0, 3)), time=datetime.fromtimestamp(t, tz=UTC))
            alerts.extend(e for e in sensor.observe(truth, rng) if isinstance(e, Event))
    assert empty.size == 0
    attack_alerts = [a for a in alerts if a.attributes["category"] == "intrusion"]
    benign = [a for a in alerts if a.attributes["category"] != "intrusion"]
    # 29.5 minutes of alerting at one a minute, ten runs: about 295.
    assert len(attack_alerts) == pytest.approx(295, rel=0.15)
    assert all(attack.start + timedelta(seconds=30) <= a.time < attack.end for a in attack_alerts)
    assert all(a.subject_id == "asr-1" and a.position == sites["asr-1"] for a in attack_alerts)
    assert all(7 <= a.severity <= 9 for a in attack_alerts)
    # Two benign alerts per hour, two hours, ten runs: about 40, all low severity.
    assert len(benign) == pytest.approx(40, abs=20)
    assert all(a.severity <= 3 and a.kind == EventKind.CYBER_ALERT for a in benign)
