"""Satellite passes against skyfield, and the imager seeing targets only during passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
import pytest
from skyfield.api import EarthSatellite, load, wgs84

from hotzone.geo import LocalFrame
from hotzone.sim.sensors import SatelliteImagerConfig, TleError, build_sensor, satellite_passes
from hotzone.types import Detection, TargetClass
from tests.sim.sensor_fixtures import make_context, make_truth

# ISS (ZARYA), the TLE of skyfield's documentation (checksums valid).
ISS_LINE1 = "1 25544U 98067A   14020.93268519  .00009878  00000-0  18200-3 0  5082"
ISS_LINE2 = "2 25544  51.6498 109.4756 0003572  55.9686 274.8005 15.49815350868473"
DAY_START = datetime(2014, 1, 21, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
WARSAW = (52.23, 21.01, 110.0)


def _skyfield_passes(
    lat: float, lon: float, height: float, min_elevation: float
) -> list[tuple[float, float, float]]:
    timescale = load.timescale(builtin=True)
    satellite = EarthSatellite(ISS_LINE1, ISS_LINE2, "ISS", timescale)
    times, events = satellite.find_events(
        wgs84.latlon(lat, lon, elevation_m=height),
        timescale.from_datetime(DAY_START),
        timescale.from_datetime(DAY_END),
        altitude_degrees=min_elevation,
    )
    seconds = [t.utc_datetime().timestamp() for t in times]
    return [
        (seconds[i], seconds[i + 1], seconds[i + 2])
        for i in range(len(events) - 2)
        if list(events[i : i + 3]) == [0, 1, 2]
    ]


@pytest.mark.parametrize("min_elevation", [10.0, 25.0])
def test_satellite_passes_agree_with_skyfield(min_elevation: float) -> None:
    reference = _skyfield_passes(*WARSAW, min_elevation)
    ours = satellite_passes(
        ISS_LINE1, ISS_LINE2, *WARSAW, DAY_START.timestamp(), DAY_END.timestamp(), min_elevation
    )
    assert len(reference) >= 2
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference, strict=True):
        assert np.allclose(mine, theirs, atol=3.0), (mine, theirs)
        assert mine[0] < mine[1] < mine[2]


def _imager_config(**overrides: object) -> SatelliteImagerConfig:
    fields: dict[str, object] = {
        "id": "sat-1",
        "lat_deg": WARSAW[0],
        "lon_deg": WARSAW[1],
        "tle_line1": ISS_LINE1,
        "tle_line2": ISS_LINE2,
        "min_elevation_deg": 20.0,
        "image_interval_s": 20.0,
        "latency_s": 900.0,
        "pd": 1.0,
        **overrides,
    }
    return SatelliteImagerConfig(**fields)  # type: ignore[arg-type]


def test_imager_detects_ground_targets_only_inside_passes_over_them() -> None:
    config = _imager_config()
    context = make_context(start=DAY_START, end=DAY_END)
    imager = build_sensor(config, context)
    frame = LocalFrame(WARSAW[0], WARSAW[1], 0.0)
    # Three vehicles up to 300 km from the tasked area, and a person it cannot image.
    enu = np.array([[0.0, 0.0, 0.0], [150_000.0, 0.0, 0.0], [0.0, -300_000.0, 0.0], [1e3, 0, 0]])
    classes = [TargetClass.GROUND_VEHICLE] * 3 + [TargetClass.PERSON]
    times = imager.observation_times(DAY_START.timestamp(), DAY_END.timestamp())
    assert times.size > 0
    rng = np.random.default_rng(2)
    detections: list[Detection] = []
    for t in times:
        truth = make_truth(
            enu, time=datetime.fromtimestamp(t, tz=UTC), frame=frame, target_class=classes
        )
        detections.extend(d for d in imager.observe(truth, rng) if isinstance(d, Detection))
    lat, lon, height = frame.enu_to_geodetic(enu)
    assert len(detections) >= 10
    seen_targets = set()
    for detection in detections:
        owner = int(np.argmin(np.hypot(lat - detection.values[0], lon - detection.values[1])))
        assert owner != 3, "a person was imaged"
        seen_targets.add(owner)
        passes = satellite_passes(
            ISS_LINE1,
            ISS_LINE2,
            float(lat[owner]),
            float(lon[owner]),
            float(height[owner]),
            detection.time.timestamp() - 1_200.0,
            detection.time.timestamp() + 1_200.0,
            config.min_elevation_deg,
        )
        t = detection.time.timestamp()
        assert any(rise - 0.1 <= t <= setting + 0.1 for rise, _, setting in passes)
        assert detection.received_at == detection.time + timedelta(seconds=900.0)
        assert detection.kind == "position"
        assert detection.sector == "east-1"
        assert detection.releasability == "REL PL LT"
        # The sensor position is the satellite, in low orbit.
        assert 300_000.0 < detection.sensor_position.height_m < 500_000.0
    assert len(seen_targets) >= 2
    # Position noise is metres-scale, as configured.
    errors_m = [
        np.hypot(
            (d.values[0] - lat[0]) * 111_000.0,
            (d.values[1] - lon[0]) * 111_000.0 * np.cos(np.radians(lat[0])),
        )
        for d in detections
        if abs(d.values[0] - lat[0]) < 0.01 and abs(d.values[1] - lon[0]) < 0.01
    ]
    assert errors_m and max(errors_m) < 60.0


def test_imager_sees_nothing_when_no_pass_is_in_the_window() -> None:
    imager = build_sensor(_imager_config(), make_context(start=DAY_START, end=DAY_END))
    passes = satellite_passes(
        ISS_LINE1, ISS_LINE2, *WARSAW, DAY_START.timestamp(), DAY_END.timestamp(), 20.0
    )
    gap_start, gap_end = passes[0][2] + 600.0, passes[1][0] - 600.0
    assert gap_end > gap_start
    times = imager.observation_times(gap_start, gap_end)
    frame = LocalFrame(WARSAW[0], WARSAW[1], 0.0)
    for t in np.linspace(gap_start, gap_end, 20):
        truth = make_truth(
            [[0.0, 0.0, 0.0]],
            time=datetime.fromtimestamp(t, tz=UTC),
            frame=frame,
            target_class=TargetClass.VESSEL,
        )
        assert imager.observe(truth, np.random.default_rng(1)) == []
    assert np.all((times < gap_start + 1_200.0) | (times > gap_end - 1_200.0))


def test_bad_tles_fail_with_a_clear_message() -> None:
    broken_checksum = ISS_LINE2[:-1] + "0"
    with pytest.raises(TleError, match="line 2 checksum"):
        satellite_passes(ISS_LINE1, broken_checksum, *WARSAW, 0.0, 3_600.0, 10.0)
    with pytest.raises(TleError, match="different satellite numbers"):
        other = "1 25545" + ISS_LINE1[7:68]
        satellite_passes(other + str(_checksum(other)), ISS_LINE2, *WARSAW, 0.0, 3_600.0, 10.0)
    payload = msgspec.json.encode({**msgspec.structs.asdict(_imager_config()), "tle_line1": "1 2"})
    with pytest.raises(msgspec.ValidationError, match=r"tle_line1"):
        msgspec.json.decode(payload, type=SatelliteImagerConfig)


def _checksum(line: str) -> int:
    return sum(int(c) if c.isdigit() else int(c == "-") for c in line[:68]) % 10
