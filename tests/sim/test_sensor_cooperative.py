"""ADS-B and AIS: reporting intervals, transponder rules, NACp-consistent noise, jamming."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hotzone.sim.sensors import (
    AdsbReceiverConfig,
    AisStationConfig,
    JammingArea,
    SensorModel,
    build_sensor,
)
from hotzone.sim.sensors.common import KNOT_MPS
from hotzone.types import GeoPoint, Report, ReportSource, TargetClass
from tests.sim.sensor_fixtures import (
    SITE_FRAME,
    SITE_LAT_DEG,
    SITE_LON_DEG,
    START,
    make_context,
    make_truth,
)


def _run(
    sensor: SensorModel,
    start_enu: np.ndarray,
    velocity: np.ndarray,
    duration_s: float,
    seed: int,
    **truth_fields: object,
) -> list[Report]:
    """Drive ``sensor`` the way the engine does, with straight-line truth."""
    rng = np.random.default_rng(seed)
    t0 = START.timestamp()
    reports: list[Report] = []
    for t in sensor.observation_times(t0, t0 + duration_s):
        truth = make_truth(
            start_enu + velocity * (t - t0),
            time=datetime.fromtimestamp(t, tz=UTC),
            velocity_enu_mps=velocity,
            **truth_fields,  # type: ignore[arg-type]
        )
        reports.extend(r for r in sensor.observe(truth, rng) if isinstance(r, Report))
    return reports


def _intervals_by(reports: list[Report], key: str) -> dict[object, np.ndarray]:
    times: dict[object, list[float]] = defaultdict(list)
    for report in reports:
        times[getattr(report, key)].append(report.time.timestamp())
    return {k: np.diff(sorted(v)) for k, v in times.items()}


def _horizontal_error_m(report: Report, true_enu: np.ndarray) -> float:
    measured = SITE_FRAME.geodetic_to_enu(
        report.position.lat_deg, report.position.lon_deg, report.position.height_m
    )
    return float(np.hypot(*(measured[:2] - true_enu[:2])))


AIRCRAFT = 20


def _aircraft() -> tuple[np.ndarray, np.ndarray, list[str | None], list[bool]]:
    azimuths = np.radians(np.linspace(0.0, 360.0, AIRCRAFT, endpoint=False))
    start = np.stack(
        [60_000.0 * np.sin(azimuths), 60_000.0 * np.cos(azimuths), np.full(AIRCRAFT, 9_000.0)],
        axis=1,
    )
    velocity = np.stack(
        [200.0 * np.cos(azimuths), -200.0 * np.sin(azimuths), np.zeros(AIRCRAFT)], 1
    )
    icao = [f"48{i:04x}" for i in range(AIRCRAFT)]
    icao[0] = None  # transponder on but no address: nothing decodable
    transponder = [True] * AIRCRAFT
    transponder[1] = False
    return start, velocity, icao, transponder


@pytest.mark.parametrize("interval_s", [1.0, 2.5])
def test_adsb_reports_at_the_configured_interval_and_only_with_a_transponder(
    interval_s: float,
) -> None:
    config = AdsbReceiverConfig(
        id="adsb-1",
        lat_deg=SITE_LAT_DEG,
        lon_deg=SITE_LON_DEG,
        height_m=20.0,
        update_interval_s=interval_s,
        interval_jitter_s=0.1 * interval_s,
        loss_probability=0.05,
    )
    start, velocity, icao, transponder = _aircraft()
    duration = 150.0 * interval_s
    reports = _run(
        build_sensor(config, make_context()),
        start,
        velocity,
        duration,
        seed=7,
        icao24=icao,
        transponder_on=transponder,
        target_class=TargetClass.AIRLINER,
    )
    intervals = _intervals_by(reports, "icao24")
    assert set(intervals) == set(icao[2:])
    all_intervals = np.concatenate(list(intervals.values()))
    assert all_intervals.size >= 1_000
    assert np.median(all_intervals) == pytest.approx(interval_s, rel=0.05)
    # Losses show up as doubled intervals, about loss_probability of the time.
    assert np.mean(all_intervals > 1.5 * interval_s) == pytest.approx(0.05, abs=0.02)
    assert all(r.source == ReportSource.ADSB for r in reports)
    assert all(r.received_at == r.time + timedelta(seconds=0.2) for r in reports)
    assert all(r.sector == "east-1" and r.releasability == "REL PL LT" for r in reports)


def test_adsb_position_noise_is_consistent_with_nacp() -> None:
    config = AdsbReceiverConfig(id="adsb-1", lat_deg=SITE_LAT_DEG, lon_deg=SITE_LON_DEG, nacp=8)
    start, velocity, icao, _ = _aircraft()
    icao[0] = "480000"
    reports = _run(
        build_sensor(config, make_context()),
        start,
        velocity,
        100.0,
        seed=9,
        icao24=icao,
        transponder_on=True,
    )
    assert len(reports) >= 1_500
    index = {code: i for i, code in enumerate(icao)}
    errors = [
        _horizontal_error_m(
            r,
            start[index[r.icao24]]
            + velocity[index[r.icao24]] * (r.time.timestamp() - START.timestamp()),
        )
        for r in reports
    ]
    # NACp 8: 95 % of horizontal errors are inside the 92.6 m EPU bound.
    assert np.mean(np.array(errors) < 92.6) == pytest.approx(0.95, abs=0.02)
    assert {(r.nacp, r.nic, r.sil) for r in reports} == {(8, 8, 3)}


def test_jamming_lowers_nic_and_nacp_inside_the_area_only() -> None:
    jammed_center = SITE_FRAME.enu_to_geodetic(np.array([0.0, 50_000.0, 0.0]))
    area = JammingArea(
        center=GeoPoint(lat_deg=float(jammed_center[0]), lon_deg=float(jammed_center[1])),
        radius_m=40_000.0,
        start=START,
        end=START + timedelta(hours=1),
        strength=1.0,
    )
    config = AdsbReceiverConfig(id="adsb-1", lat_deg=SITE_LAT_DEG, lon_deg=SITE_LON_DEG)
    # Ten aircraft orbit near the jammer's centre, ten far outside it (south of the site).
    start = np.array(
        [
            [x, 50_000.0 + y, 8_000.0]
            for x, y in zip(np.linspace(-4e3, 4e3, 10), np.zeros(10), strict=True)
        ]
        + [[x, -60_000.0, 8_000.0] for x in np.linspace(-4e3, 4e3, 10)]
    )
    velocity = np.zeros((20, 3))
    icao = [f"4c{i:04x}" for i in range(20)]
    reports = _run(
        build_sensor(config, make_context(jamming_areas=(area,))),
        start,
        velocity,
        120.0,
        seed=5,
        icao24=icao,
        transponder_on=True,
    )
    inside = [r for r in reports if icao.index(r.icao24 or "") < 10]
    outside = [r for r in reports if icao.index(r.icao24 or "") >= 10]
    assert len(inside) >= 1_000 and len(outside) >= 1_000
    assert {(r.nic, r.nacp) for r in outside} == {(config.nic, config.nacp)}
    assert max(r.nacp or 0 for r in inside) <= 1 and max(r.nic or 0 for r in inside) <= 1
    inside_errors = [_horizontal_error_m(r, start[icao.index(r.icao24 or "")]) for r in inside]
    outside_errors = [_horizontal_error_m(r, start[icao.index(r.icao24 or "")]) for r in outside]
    assert np.median(inside_errors) > 50 * np.median(outside_errors)
    assert all(r.horizontal_sigma_m > 1_000.0 for r in inside)

    # After the jammer switches off, the same aircraft report clean quality again.
    late = _run(
        build_sensor(
            config,
            make_context(
                jamming_areas=(
                    JammingArea(
                        center=area.center,
                        radius_m=area.radius_m,
                        start=START - timedelta(hours=2),
                        end=START - timedelta(hours=1),
                    ),
                )
            ),
        ),
        start,
        velocity,
        30.0,
        seed=5,
        icao24=icao,
        transponder_on=True,
    )
    assert {(r.nic, r.nacp) for r in late} == {(config.nic, config.nacp)}


def test_partial_jamming_degrades_less_towards_the_edge() -> None:
    center = GeoPoint(lat_deg=SITE_LAT_DEG, lon_deg=SITE_LON_DEG)
    area = JammingArea(
        center=center, radius_m=20_000.0, start=START, end=START + timedelta(hours=1), strength=0.8
    )
    config = AdsbReceiverConfig(
        id="adsb-1", lat_deg=SITE_LAT_DEG, lon_deg=SITE_LON_DEG, loss_probability=0.0
    )
    start = np.array([[0.0, 1_000.0, 5_000.0], [0.0, 12_000.0, 5_000.0], [0.0, 30_000.0, 5_000.0]])
    reports = _run(
        build_sensor(config, make_context(jamming_areas=(area,))),
        start,
        np.zeros((3, 3)),
        20.0,
        seed=1,
        icao24=["a00001", "a00002", "a00003"],
        transponder_on=True,
    )
    nacp = {r.icao24: r.nacp for r in reports}
    assert nacp["a00001"] < nacp["a00002"] < nacp["a00003"] == config.nacp


def test_ais_intervals_follow_speed_and_silent_vessels_send_nothing() -> None:
    config = AisStationConfig(id="ais-1", lat_deg=SITE_LAT_DEG, lon_deg=SITE_LON_DEG, height_m=30.0)
    speeds_kn = np.array([0.2, 8.0, 18.0, 30.0, 10.0, 10.0, 10.0])
    count = speeds_kn.size
    start = np.stack(
        [np.linspace(-10_000.0, 10_000.0, count), np.full(count, 20_000.0), np.zeros(count)], 1
    )
    start[6, 1] = 120_000.0  # beyond VHF range
    velocity = np.zeros((count, 3))
    velocity[:, 0] = speeds_kn * KNOT_MPS
    mmsi: list[int | None] = [
        261000001,
        261000002,
        261000003,
        261000004,
        261000005,
        None,
        261000007,
    ]
    transponder = [True, True, True, True, False, True, True]
    reports = _run(
        build_sensor(config, make_context()),
        start,
        velocity,
        1_800.0,
        seed=3,
        mmsi=mmsi,
        transponder_on=transponder,
        target_class=TargetClass.VESSEL,
    )
    intervals = _intervals_by(reports, "mmsi")
    assert set(intervals) == {261000001, 261000002, 261000003, 261000004}
    assert np.median(intervals[261000001]) == pytest.approx(180.0, rel=0.05)
    assert np.median(intervals[261000002]) == pytest.approx(10.0, rel=0.05)
    assert np.median(intervals[261000003]) == pytest.approx(6.0, rel=0.05)
    assert np.median(intervals[261000004]) == pytest.approx(2.0, rel=0.05)
    assert sum(len(v) for v in intervals.values()) >= 1_000
    assert all(r.source == ReportSource.AIS and r.class_hint == TargetClass.VESSEL for r in reports)
    # Velocity is reported in knots-consistent m/s towards the east.
    fast = [r for r in reports if r.mmsi == 261000004]
    assert fast[0].velocity_enu_mps is not None
    assert fast[0].velocity_enu_mps[0] == pytest.approx(30.0 * KNOT_MPS, rel=1e-3)
