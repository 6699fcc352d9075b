"""``hotzone export``: tracks out as CoT, ASTERIX CAT062 and GeoJSON, read back by hotzone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.ingest.asterix import AsterixDecoder
from hotzone.ingest.cot import CotDecoder
from hotzone.share.symbols import cot_type_for, sidc_for
from hotzone.types import (
    Assessment,
    GeoPoint,
    Report,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
    write_jsonl,
)

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _track(track_id: str, number: int, second: int, lat: float, lon: float) -> Track:
    return Track(
        track_id=track_id,
        track_number=number,
        time=START + timedelta(seconds=second),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat, lon, 300.0),
        sector="suwalki",
        enu_position_m=(0.0, 0.0, 300.0),
        enu_velocity_mps=(-40.0, 30.0, 0.0),
        covariance=tuple(tuple(100.0 if i == j else 0.0 for j in range(6)) for i in range(6)),
        quality=0.9,
    )


@pytest.fixture
def tracks_file(tmp_path: Path) -> Path:
    messages = [
        _track("PL-1", 1, 0, 54.10, 23.40),
        _track("PL-2", 2, 0, 54.20, 23.10),
        _track("PL-1", 1, 4, 54.1012345678, 23.3987654321),
        Assessment(
            track_id="PL-1",
            time=START,
            class_probabilities={"one_way_attack_drone": 0.9},
            target_class=TargetClass.ONE_WAY_ATTACK_DRONE,
            standard_identity=StandardIdentity.HOSTILE,
            threat_score=0.8,
        ),
    ]
    path = tmp_path / "tracks.jsonl"
    with open(path, "wb") as stream:
        write_jsonl(messages, stream)
    return path


def _export(tracks_file: Path, to: str, tmp_path: Path) -> bytes:
    out = tmp_path / f"out.{to}"
    assert main(["export", "--to", to, str(tracks_file), "-o", str(out)]) == 0
    return out.read_bytes()


def test_cot_export_reads_back_with_full_precision_and_the_hostile_type(
    tracks_file: Path, tmp_path: Path
) -> None:
    data = _export(tracks_file, "cot", tmp_path)
    result = CotDecoder().feed(data, START)
    result.extend(CotDecoder().flush(START))
    reports = [m for m in result.messages if isinstance(m, Report)]
    assert not result.rejected
    assert len(reports) == 3
    assert reports[-1].position.lat_deg == 54.1012345678
    assert reports[-1].position.lon_deg == 23.3987654321
    hostile_drone = cot_type_for(TargetClass.ONE_WAY_ATTACK_DRONE, StandardIdentity.HOSTILE)
    assert hostile_drone.startswith("a-h-A-")
    assert f'type="{hostile_drone}"'.encode() in data.split(b"\n")[0]  # PL-1 assessed
    assert b'how="m-f"' in data


def test_asterix062_export_decodes_to_the_same_tracks(tracks_file: Path, tmp_path: Path) -> None:
    data = _export(tracks_file, "asterix062", tmp_path)
    result = AsterixDecoder().feed(data, START)
    reports = [m for m in result.messages if isinstance(m, Report)]
    assert not result.rejected
    assert len(reports) == 3
    assert reports[0].position.lat_deg == pytest.approx(54.10, abs=1e-5)
    assert reports[1].position.lon_deg == pytest.approx(23.10, abs=1e-5)


def test_geojson_export_has_the_latest_state_of_each_track(
    tracks_file: Path, tmp_path: Path
) -> None:
    collection = json.loads(_export(tracks_file, "geojson", tmp_path))
    assert collection["type"] == "FeatureCollection"
    features = {f["id"]: f for f in collection["features"]}
    assert set(features) == {"PL-1", "PL-2"}
    assert features["PL-1"]["geometry"]["coordinates"] == [23.3987654321, 54.1012345678, 300.0]
    assert features["PL-1"]["properties"]["sidc"] == sidc_for(
        TargetClass.ONE_WAY_ATTACK_DRONE, StandardIdentity.HOSTILE
    )
    assert features["PL-1"]["properties"]["speed_mps"] == pytest.approx(50.0)
    assert features["PL-1"]["properties"]["course_deg"] == pytest.approx(306.87, abs=0.01)
    assert "sidc" not in features["PL-2"]["properties"]


def test_unknown_export_format_is_refused(tracks_file: Path) -> None:
    assert main(["export", "--to", "kml", str(tracks_file)]) == 2
