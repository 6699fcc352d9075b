"""The SQLite store compresses the high-volume payloads and reads every row back intact."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotzone.store import SQLiteStore
from hotzone.store.compression import DICTIONARY_SAMPLES, MARKER
from hotzone.types import (
    AuditRecord,
    GeoPoint,
    Track,
    TrackStatus,
    to_json,
)

T0 = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


def _track(index: int) -> Track:
    wobble = index * 1e-5
    return Track(
        track_id=f"suwalki-{index % 7}",
        track_number=index % 7,
        time=T0 + timedelta(seconds=index),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=54.07 + wobble, lon_deg=22.9 + wobble, height_m=455.1),
        sector="suwalki",
        enu_position_m=(-13028.4 + index, 2658.7, 261.3),
        enu_velocity_mps=(24.96, 31.07, -0.83),
        covariance=tuple(
            tuple(100.0 / (1 + abs(row - column)) + wobble for column in range(6))
            for row in range(6)
        ),
        quality=0.375,
        sensors=("eoir-garrison", "adsb-suwalki", "asr-suwalki"),
    )


def _stored_payloads(path: Path, tag: str) -> list[bytes]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT payload FROM messages WHERE type = ? ORDER BY sequence", (tag,)
        )
        return [bytes(payload) for (payload,) in rows]


def test_tracks_are_stored_compressed_and_replay_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    tracks = [_track(index) for index in range(400)]
    with SQLiteStore(path) as store:
        store.append_many(("hz.PL.trk.suwalki", track) for track in tracks)
    with SQLiteStore(path) as reopened:
        assert [stored.message for stored in reopened.replay()] == tracks
    payloads = _stored_payloads(path, "track")
    # The first payloads of a type stay plain: the dictionary is made of them.
    assert all(p.startswith(b"{") for p in payloads[: DICTIONARY_SAMPLES - 1])
    compressed = payloads[DICTIONARY_SAMPLES:]
    assert compressed and all(p.startswith(MARKER) for p in compressed)
    plain_bytes = sum(len(to_json(track)) for track in tracks[DICTIONARY_SAMPLES:])
    assert plain_bytes / sum(len(p) for p in compressed) > 2.5


def test_the_audit_chain_stays_plain_json_for_any_sqlite_client(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    records = [
        AuditRecord(
            sequence=index,
            time=T0 + timedelta(seconds=index),
            kind="note",
            actor="c2",
            payload=f"record {index}",
            previous_hash="0" * 64,
            record_hash=f"{index:064x}",
        )
        for index in range(2 * DICTIONARY_SAMPLES)
    ]
    with SQLiteStore(path) as store:
        store.append_many(("hz.PL.c2.audit", record) for record in records)
    assert all(p.startswith(b"{") for p in _stored_payloads(path, "audit"))


def test_spatial_queries_and_live_tracks_read_compressed_rows(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqlite") as store:
        store.append_many(("hz.PL.trk.suwalki", _track(index)) for index in range(200))
        centre = GeoPoint(lat_deg=54.07, lon_deg=22.9)
        within = list(store.messages_within(centre, 5_000.0, types=["track"]))
        assert len(within) == 200
        assert within[-1].message == _track(199)
        live = store.tracks_within(centre, 5_000.0)
        assert {track.track_id for track in live} == {f"suwalki-{i}" for i in range(7)}


def test_a_second_connection_reads_what_the_first_compresses_later(tmp_path: Path) -> None:
    # The API reads a store while the pipeline writes it through its own connection: a
    # dictionary made after the reader opened the file is fetched when first needed.
    path = tmp_path / "s.sqlite"
    writer = SQLiteStore(path)
    reader = SQLiteStore(path)
    try:
        writer.append_many(("hz.PL.trk.suwalki", _track(index)) for index in range(150))
        assert [stored.message for stored in reader.replay()] == [_track(i) for i in range(150)]
    finally:
        writer.close()
        reader.close()


def test_a_rolled_back_dictionary_is_not_used_afterwards(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteStore(path) as store:

        def tracks_then_failure() -> object:
            for index in range(DICTIONARY_SAMPLES + 5):
                yield "hz.PL.trk.suwalki", _track(index)
            raise RuntimeError("the feed broke")

        with pytest.raises(RuntimeError):
            store.append_many(tracks_then_failure())  # type: ignore[arg-type]
        store.append_many(("hz.PL.trk.suwalki", _track(index)) for index in range(100))
    with SQLiteStore(path) as reopened:
        assert [stored.message for stored in reopened.replay()] == [_track(i) for i in range(100)]


def test_a_store_written_before_compression_reads_unchanged(tmp_path: Path) -> None:
    # Rows of older runs are plain JSON, and there is no dictionary table.
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE messages (sequence INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT "
            "NOT NULL, type TEXT NOT NULL, time TEXT NOT NULL, payload BLOB NOT NULL)"
        )
        connection.executemany(
            "INSERT INTO messages(subject, type, time, payload) VALUES (?, 'track', ?, ?)",
            [
                ("hz.PL.trk.suwalki", _track(i).time.isoformat(), to_json(_track(i)))
                for i in range(80)
            ],
        )
    with SQLiteStore(path) as store:
        assert [stored.message for stored in store.replay()] == [_track(i) for i in range(80)]
