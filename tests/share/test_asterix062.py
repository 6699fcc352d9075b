"""hotzone tracks written as CAT062 decode, with asterix-decoder, to what hotzone wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import asterix  # GPL reference decoder: tests only
import numpy as np
import pytest

from hotzone.ingest.asterix import AsterixDecoder
from hotzone.share.asterix062 import (
    DEFAULT_MAX_BLOCK_BYTES,
    TrackColumns,
    encode_track_columns,
    encode_tracks,
)
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


def _columns_of(tracks: list[Track]) -> TrackColumns:
    return TrackColumns(
        time=tracks[0].time,
        latitude=np.array([t.position.lat_deg for t in tracks]),
        longitude=np.array([t.position.lon_deg for t in tracks]),
        height=np.array([t.position.height_m for t in tracks]),
        velocity=np.array([t.enu_velocity_mps for t in tracks], dtype=np.float64),
        track_number=np.array([t.track_number for t in tracks], dtype=np.int64),
        tentative=np.array([t.status == TrackStatus.TENTATIVE for t in tracks]),
        single_sensor=np.array([len(t.sensors) <= 1 for t in tracks]),
        icao24=[t.icao24 for t in tracks],
        callsign=[t.callsign for t in tracks],
        ended=np.array([t.status == TrackStatus.DELETED for t in tracks]),
    )


@pytest.mark.parametrize("max_block_bytes", [DEFAULT_MAX_BLOCK_BYTES, 300, 40, 20])
@pytest.mark.parametrize("identities", [False, True])
def test_tracks_encoded_as_columns_are_the_same_bytes(
    max_block_bytes: int, identities: bool
) -> None:
    """`encode_track_columns` (``hotzone track``'s column path) against `encode_tracks`:
    half-way values round to even alike, values beyond an item's range clamp alike,
    track numbers wrap, blocks break at the same records."""
    generator = np.random.default_rng(3)
    tracks = []
    for number in range(1, 130):
        east, north, up = generator.normal(0.0, 300.0, 3)
        fields: dict[str, object] = {
            "position": GeoPoint(
                lat_deg=float(generator.uniform(-90, 90)),
                lon_deg=float(generator.uniform(-180, 180)),
                height_m=float(generator.choice([-2000.0, 9144.0, 60000.0, 0.3048 * 3.125])),
            ),
            "enu_velocity_mps": (float(east), float(north) if number % 5 else 0.125, float(up)),
            "status": TrackStatus.TENTATIVE if number % 3 == 0 else TrackStatus.CONFIRMED,
            # ... and the last records of deleted tracks (TSE set)
            "sensors": ("r1",) if number % 4 == 0 else ("r1", "r2"),
        }
        if number % 7 == 0:
            fields["status"] = TrackStatus.DELETED
        if number % 11 == 0:
            fields["enu_velocity_mps"] = (1e9, -1e9, 1e7)  # clamped
        if identities and number % 2:
            fields["icao24"] = f"{number * 4099:06x}"
            fields["callsign"] = "" if number % 6 == 1 else f"LOT{number}"
        tracks.append(_track(number * 997, **fields))
    expected = b"".join(encode_tracks(tracks, sac=0, sic=1, max_block_bytes=max_block_bytes))
    written = encode_track_columns(
        _columns_of(tracks), sac=0, sic=1, max_block_bytes=max_block_bytes
    )
    assert written == expected
    assert encode_track_columns(_empty(), sac=0, sic=1) == b""


def _empty() -> TrackColumns:
    return TrackColumns(
        time=TIME,
        latitude=np.zeros(0),
        longitude=np.zeros(0),
        height=np.zeros(0),
        velocity=np.zeros((0, 3)),
        track_number=np.zeros(0, dtype=np.int64),
        tentative=np.zeros(0, dtype=bool),
        single_sensor=np.zeros(0, dtype=bool),
        icao24=[],
        callsign=[],
    )
