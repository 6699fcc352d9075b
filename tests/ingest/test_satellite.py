"""Satellite detection reports: delayed position detections, pass check, fuzz."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.ingest.satellite import SatelliteDecoder
from hotzone.ingest.space import parse_tles, passes_over_point
from hotzone.types import Detection, GeoPoint, MeasurementKind, TargetClass, from_json

TLE = Path(__file__).parents[1] / "golden" / "space" / "iss-2008.tle"
START = datetime(2008, 9, 20, 12, 0, tzinfo=UTC)
SPOT = GeoPoint(lat_deg=54.12, lon_deg=22.95)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _report(acquired: datetime, **changes: object) -> bytes:
    report: dict[str, object] = {
        "report_id": "S-0001",
        "satellite": "ISS (ZARYA)",
        "acquired_at": acquired.isoformat(),
        "lat_deg": SPOT.lat_deg,
        "lon_deg": SPOT.lon_deg,
        "class": "tank",
        "confidence": 0.8,
        "latency_s": 5400,
        "position_sigma_m": 15,
    }
    report.update(changes)
    return json.dumps(report).encode()


def _in_and_out_of_pass() -> tuple[datetime, datetime]:
    (satellite,) = parse_tles(TLE.read_text())
    first = passes_over_point(satellite, SPOT, START, START + timedelta(days=1), 0.0)[0]
    return first.culmination, first.set + timedelta(minutes=20)


def test_report_becomes_a_delayed_position_detection() -> None:
    decoder = SatelliteDecoder()
    acquired = datetime(2026, 11, 27, 9, 41, 7, tzinfo=UTC)
    (detection,) = decoder.feed(_report(acquired) + b"\n", NOW).messages
    assert isinstance(detection, Detection)
    assert detection.kind is MeasurementKind.POSITION
    assert detection.time == acquired
    assert detection.received_at == acquired + timedelta(minutes=90)
    assert detection.values == (SPOT.lat_deg, SPOT.lon_deg, 0.0)
    assert math.sqrt(detection.covariance[0][0]) == pytest.approx(15.0)
    assert detection.class_hint is TargetClass.GROUND_VEHICLE
    assert detection.class_confidence == pytest.approx(0.8)


def test_detection_outside_any_pass_is_a_dead_letter() -> None:
    inside, outside = _in_and_out_of_pass()
    decoder = SatelliteDecoder(parse_tles(TLE.read_text()))
    result = decoder.feed(_report(inside) + b"\n" + _report(outside) + b"\n", NOW)
    (accepted,) = result.messages
    assert isinstance(accepted, Detection)
    assert accepted.sensor_position.height_m > 300_000  # the satellite, in orbit
    (refused,) = result.rejected
    assert "outside any pass of ISS (ZARYA)" in refused.reason


def test_unknown_satellite_and_bad_fields_are_refused() -> None:
    inside, _ = _in_and_out_of_pass()
    decoder = SatelliteDecoder(parse_tles(TLE.read_text()))
    lines = [
        _report(inside, satellite="COSMOS 2558"),
        _report(inside, lat_deg=95.0),
        _report(inside, acquired_at="2008-09-20T12:00:00"),
        _report(inside, latency_s=-1),
    ]
    result = decoder.feed(b"\n".join(lines) + b"\n", NOW)
    reasons = [item.reason for item in result.rejected]
    assert result.messages == [] and len(reasons) == 4
    assert reasons[0].startswith("satellite: no TLE for this satellite")
    assert "lat_deg" in reasons[1] and "acquired_at" in reasons[2] and "latency_s" in reasons[3]


def test_decode_command_with_tles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inside, _ = _in_and_out_of_pass()
    options = DecoderOptions(tle_file=TLE)
    assert decoder_factories()["satellite"](options).satellites  # type: ignore[attr-defined]
    capture = tmp_path / "reports.jsonl"
    capture.write_bytes(_report(inside) + b"\n")
    assert main(["decode", "satellite", str(capture)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert from_json(line.encode()).sensor_id == "ISS (ZARYA)"  # type: ignore[union-attr]
