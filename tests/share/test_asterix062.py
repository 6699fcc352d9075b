"""hotzone tracks written as CAT062 decode, with asterix-decoder, to what hotzone wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import asterix  # GPL reference decoder: tests only
import pytest

from hotzone.ingest.asterix import AsterixDecoder
from hotzone.share.asterix062 import encode_tracks
from hotzone.types import GeoPoint, Report, Track, TrackStatus

TIME = datetime(2025, 3, 1, 23, 59, 58, 500000, tzinfo=UTC)


def _track(number: int, **overrides: object) -> Track:
    fields: dict[str, object] = {
        "track_id": f"T{number}",
        "track_number": number,
        "time": TIME,
        "status": TrackStatus.CONFIRMED,
        "position": GeoPoint(
            lat_deg=54.1 + number * 0.01, lon_deg=-23.4 - number * 0.02, height_m=9144.0
        ),
        "sector": "lt-1",
        "enu_position_m": (0.0, 0.0, 9144.0),
        "enu_velocity_mps": (120.25, -80.5, -5.08),
        "covariance": tuple(tuple(0.0 for _ in range(6)) for _ in range(6)),
        "quality": 0.9,
        "sensors": ("r1", "r2"),
    }
    fields.update(overrides)
    return Track(**fields)


def _reference(blocks: list[bytes]) -> list[dict[str, object]]:
    return [record for block in blocks for record in asterix.parse(block, verbose=False)]


def test_positions_numbers_and_identities_round_trip_through_reference_decoder() -> None:
    tracks = [
        _track(7, icao24="48ac01", callsign="LOT3KM"),
        _track(4095, status=TrackStatus.TENTATIVE, sensors=("r1",)),
        _track(12, status=TrackStatus.DELETED, callsign="SP-ABC"),
    ]
    records = _reference(list(encode_tracks(tracks, sac=10, sic=20, mode_3a_codes={"T7": "7700"})))
    assert len(records) == 3
    lsb = 180.0 / 2**25
    for track, record in zip(tracks, records, strict=True):
        item = record
        assert item["I010"]["SAC"]["val"] == 10 and item["I010"]["SIC"]["val"] == 20
        assert item["I040"]["TrkN"]["val"] == track.track_number
        assert abs(item["I105"]["Lat"]["val"] - track.position.lat_deg) <= lsb
        assert abs(item["I105"]["Lon"]["val"] - track.position.lon_deg) <= lsb
        assert item["I185"]["Vx"]["val"] == pytest.approx(track.enu_velocity_mps[0], abs=0.125)
        assert item["I185"]["Vy"]["val"] == pytest.approx(track.enu_velocity_mps[1], abs=0.125)
        assert item["I130"]["Alt"]["val"] == pytest.approx(30000.0, abs=3.2)
        seconds = 23 * 3600 + 59 * 60 + 58.5
        assert item["I070"]["ToT"]["val"] == pytest.approx(seconds, abs=1 / 256)
    first, second, third = records
    assert first["I380"]["ADR"]["ADR"]["val"] == "48AC01"
    assert first["I380"]["ID"]["ACID"]["val"].rstrip() == "LOT3KM"
    assert first["I060"]["Mode3A"]["val"] == "7700"
    assert first["I080"]["MON"]["val"] == 0 and first["I080"]["CNF"]["val"] == 0
    assert "I380" not in second and "I060" not in second
    assert second["I080"]["CNF"]["val"] == 1 and second["I080"]["MON"]["val"] == 1
    assert third["I080"]["TSE"]["val"] == 1
    # '-' is not in the IA-5 6-bit set: it is sent as a space rather than refused.
    assert third["I380"]["ID"]["ACID"]["val"].rstrip() == "SP ABC"


def test_blocks_respect_size_limit_and_hotzone_reads_them_back() -> None:
    tracks = [
        _track(number, icao24=f"{number:06x}", callsign=f"HZ{number}") for number in range(1, 60)
    ]
    blocks = list(encode_tracks(tracks, sac=1, sic=2, max_block_bytes=300))
    assert len(blocks) > 1
    assert all(
        len(block) <= 300 and int.from_bytes(block[1:3], "big") == len(block) for block in blocks
    )
    decoder = AsterixDecoder()
    result = decoder.feed(b"".join(blocks), TIME)
    assert not result.rejected
    reports = [message for message in result.messages if isinstance(message, Report)]
    assert [report.uid for report in reports] == [f"asterix-1-2/track/{n}" for n in range(1, 60)]
    assert [report.icao24 for report in reports] == [track.icao24 for track in tracks]
    assert [report.callsign for report in reports] == [track.callsign for track in tracks]
    assert all(report.time == TIME for report in reports)
