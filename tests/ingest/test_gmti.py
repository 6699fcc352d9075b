"""STANAG 4607 decoder: the stanag4607 fixture packets, covariance, resync, refusals, fuzz."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import stanag4607

from hotzone.cli import main
from hotzone.geo.frames import LocalFrame
from hotzone.ingest.gmti import GmtiDecoder
from hotzone.types import Detection, MeasurementKind, TargetClass, from_json

GOLDEN = Path(__file__).parents[1] / "golden" / "gmti"
FILES = sorted(GOLDEN.glob("*.gmti"))
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _decode(data: bytes) -> tuple[list[Detection], list[str]]:
    decoder = GmtiDecoder()
    result = decoder.feed(data, NOW)
    result.extend(decoder.flush(NOW))
    return [m for m in result.messages if isinstance(m, Detection)], [
        r.reason for r in result.rejected
    ]


def _reference(data: bytes) -> list[tuple[dict[str, object], datetime | None]]:
    """Target features and dwell times as stanag4607 itself decodes them."""
    features: list[tuple[dict[str, object], datetime | None]] = []
    for item in stanag4607.ContextualStreamDecoder().feed(data):
        if isinstance(item.event.value, stanag4607.DwellSegment):
            collection = stanag4607.dwell_to_geojson(item.event.value)
            for feature in collection["features"]:  # type: ignore[attr-defined]
                features.append((feature, item.dwell_time_utc))
    return features


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_golden_packets_decode_as_stanag4607_decodes_them(path: Path) -> None:
    data = path.read_bytes()
    detections, rejected = _decode(data)
    assert rejected == []
    reference = _reference(data)
    assert len(detections) == len(reference)
    for detection, (feature, dwell_time) in zip(detections, reference, strict=True):
        lon, lat = feature["geometry"]["coordinates"]  # type: ignore[index]
        properties = feature["properties"]
        assert detection.values[0] == pytest.approx(lat, abs=1e-9)
        assert detection.values[1] == pytest.approx(lon, abs=1e-9)
        assert detection.time == dwell_time
        velocity = properties["radial_velocity_centimeters_per_second"]  # type: ignore[index]
        assert detection.doppler_mps == (None if velocity is None else velocity / 100.0)


def test_golden_corpus_has_targets() -> None:
    assert sum(len(_decode(path.read_bytes())[0]) for path in FILES) >= 5


def test_uncertainties_become_a_covariance_along_and_across_the_bearing() -> None:
    data = (GOLDEN / "full_mask_every_optional_group.gmti").read_bytes()
    (packet,) = stanag4607.PacketStreamDecoder().feed(data)
    dwell = next(
        value
        for value in map(stanag4607.decode_typed_segment, packet.segments)
        if isinstance(value, stanag4607.DwellSegment)
    )
    detections, _ = _decode(data)
    for detection, target in zip(detections, dwell.targets, strict=True):
        assert detection.kind is MeasurementKind.POSITION
        assert detection.values[2] == target.geodetic_height_meters
        sensor = detection.sensor_position
        enu = LocalFrame(sensor.lat_deg, sensor.lon_deg, sensor.height_m).geodetic_to_enu(
            *detection.values
        )
        ground = math.hypot(enu[0], enu[1])
        slant = math.hypot(ground, sensor.height_m - detection.values[2])
        along = np.array([enu[0], enu[1]]) / ground
        across = np.array([along[1], -along[0]])
        covariance = np.array(detection.covariance)[:2, :2]
        range_sigma = (target.slant_range_uncertainty_centimeters or 0) / 100 * slant / ground
        cross_sigma = (target.cross_range_uncertainty_decimeters or 0) / 10
        assert along @ covariance @ along == pytest.approx(range_sigma**2)
        assert across @ covariance @ across == pytest.approx(cross_sigma**2)
        assert detection.covariance[2][2] == (target.height_uncertainty_meters or 0) ** 2
        assert detection.snr_db == target.signal_to_noise_ratio_decibels
        if target.classification in (1, 2):
            assert detection.class_hint is TargetClass.GROUND_VEHICLE


def test_garbage_before_a_packet_is_refused_and_the_packet_still_decodes() -> None:
    data = (GOLDEN / "mission_dwell_hi_res_targets.gmti").read_bytes()
    detections, rejected = _decode(b"\xde\xad\xbe\xef garbage" + data)
    assert len(detections) == len(_reference(data)) > 0
    assert rejected and all("skipped" in reason for reason in rejected)


def test_truncated_and_corrupt_packets_are_refused() -> None:
    data = (GOLDEN / "mission_dwell_hi_res_targets.gmti").read_bytes()
    _, rejected = _decode(data[:-7])
    assert rejected == [f"truncated packet: {len(data) - 7} bytes at end"]
    corrupt = bytearray(data)
    corrupt[32] = 1  # first segment: a mission segment with the dwell's size
    corrupt[33:37] = (len(data) - 32).to_bytes(4, "big")
    detections, rejected = _decode(bytes(corrupt))
    assert detections == [] and len(rejected) == 1 and "bad packet" in rejected[0]


def test_decode_command_reads_a_golden_packet(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = GOLDEN / "full_mask_every_optional_group.gmti"
    assert main(["decode", "gmti", str(path), "--source-id", "jstars-1"]) == 0
    captured = capsysbinary.readouterr()
    detections = [from_json(line) for line in captured.out.splitlines()]
    assert detections and all(
        isinstance(d, Detection) and d.sensor_id == "jstars-1" for d in detections
    )
