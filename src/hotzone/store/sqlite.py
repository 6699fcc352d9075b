"""`SQLiteStore`: the embedded default store, one file in WAL mode."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from hotzone.store import compression
from hotzone.store.base import ClosedOnExit, StoredMessage, tracks_of_rows
from hotzone.store.spatial import (
    LatLonBox,
    SphericalPolygon,
    check_point,
    check_radius,
    circle_box,
    distance_m,
    is_live,
    message_position,
)
from hotzone.types import AnyMessage, GeoPoint, Track, from_json
from hotzone.types.subjects import subject_matches, validate_pattern

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS messages (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    type TEXT NOT NULL,
    time TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_type ON messages(type, sequence);
CREATE INDEX IF NOT EXISTS messages_time ON messages(time);
CREATE TABLE IF NOT EXISTS message_positions (
    sequence INTEGER PRIMARY KEY REFERENCES messages(sequence),
    type TEXT NOT NULL,
    time_s REAL NOT NULL,
    lat_deg REAL NOT NULL,
    lon_deg REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS message_positions_lat_lon ON message_positions(lat_deg, lon_deg);
CREATE TABLE IF NOT EXISTS track_states (
    track_id TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    time_s REAL NOT NULL,
    live INTEGER NOT NULL,
    lat_deg REAL NOT NULL,
    lon_deg REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS track_states_lat_lon ON track_states(lat_deg, lon_deg);
"""
    + compression.SCHEMA
)

_INSERT_MESSAGE = "INSERT INTO messages(subject, type, time, payload) VALUES (?, ?, ?, ?)"
_INSERT_POSITION = (
    "INSERT INTO message_positions(sequence, type, time_s, lat_deg, lon_deg) VALUES (?, ?, ?, ?, ?)"
)
# The newest state of a track wins, whatever order its messages arrive in; a deleted
# track keeps its row (live = 0) so a late, older update cannot bring it back.
_UPSERT_TRACK = """
INSERT INTO track_states(track_id, sequence, time_s, live, lat_deg, lon_deg, payload)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(track_id) DO UPDATE SET
    sequence = excluded.sequence, time_s = excluded.time_s, live = excluded.live,
    lat_deg = excluded.lat_deg, lon_deg = excluded.lon_deg, payload = excluded.payload
WHERE excluded.time_s >= track_states.time_s
"""

_encoder = msgspec.json.Encoder()


def _type_tag(message: AnyMessage) -> str:
    tag: Any = type(message).__struct_config__.tag
    return str(tag)


class SQLiteStore(ClosedOnExit):
    """Records messages as JSON in SQLite; ``:memory:`` works for tests."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # One connection per store; the runtime appends from one task, so the default
        # same-thread check stays on to catch misuse.
        self._connection = sqlite3.connect(self.path, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(_SCHEMA)
        self._payloads = compression.PayloadCodec(self._connection)

    def _row(self, subject: str, message: AnyMessage) -> tuple[str, str, str, bytes]:
        tag = _type_tag(message)
        payload = self._payloads.encode(tag, _encoder.encode(message))
        return (subject, tag, message.time.isoformat(), payload)

    def _message(self, payload: bytes) -> AnyMessage:
        return from_json(self._payloads.decode(payload))

    def _insert(self, subject: str, message: AnyMessage) -> int:
        row = self._row(subject, message)
        sequence = int(self._connection.execute(_INSERT_MESSAGE, row).lastrowid or 0)
        position = message_position(message)
        if position is None:
            return sequence
        time_s = message.time.timestamp()
        self._connection.execute(
            _INSERT_POSITION, (sequence, row[1], time_s, position.lat_deg, position.lon_deg)
        )
        if isinstance(message, Track):
            self._connection.execute(
                _UPSERT_TRACK,
                (
                    message.track_id,
                    sequence,
                    time_s,
                    int(is_live(message)),
                    position.lat_deg,
                    position.lon_deg,
                    _encoder.encode(message),  # a few rows, read often: kept plain
                ),
            )
        return sequence

    def append(self, subject: str, message: AnyMessage) -> int:
        if message_position(message) is None:
            return int(
                self._connection.execute(_INSERT_MESSAGE, self._row(subject, message)).lastrowid
                or 0
            )
        with self._transaction():
            return self._insert(subject, message)

    def append_many(self, items: Iterable[tuple[str, AnyMessage]]) -> int:
        with self._transaction():
            for subject, message in items:
                self._insert(subject, message)
        last = self._connection.execute("SELECT MAX(sequence) FROM messages").fetchone()[0]
        return int(last or 0)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connection, on_rollback=self._payloads.reload)

    def replay(
        self,
        pattern: str = ">",
        types: Iterable[str] | None = None,
        after_sequence: int = 0,
    ) -> Iterator[StoredMessage]:
        validate_pattern(pattern)
        query = "SELECT sequence, subject, payload FROM messages WHERE sequence > ?"
        parameters: list[Any] = [after_sequence]
        type_list = list(types) if types is not None else None
        if type_list is not None:
            query += f" AND type IN ({', '.join('?' for _ in type_list)})"
            parameters.extend(type_list)
        query += " ORDER BY sequence"
        for sequence, subject, payload in self._connection.execute(query, parameters):
            if subject_matches(pattern, subject):
                yield StoredMessage(
                    sequence=sequence, subject=subject, message=self._message(payload)
                )

    def count(self, message_type: str | None = None) -> int:
        if message_type is None:
            row = self._connection.execute("SELECT COUNT(*) FROM messages").fetchone()
        else:
            row = self._connection.execute(
                "SELECT COUNT(*) FROM messages WHERE type = ?", (message_type,)
            ).fetchone()
        return int(row[0])

    def tracks_within(
        self, centre: GeoPoint, radius_m: float, since: datetime | None = None
    ) -> list[Track]:
        check_point(centre)
        radius_m = check_radius(radius_m)
        tracks = self._live_tracks(circle_box(centre, radius_m), since)
        if not tracks:
            return []
        distances = distance_m(
            centre.lat_deg,
            centre.lon_deg,
            [track.position.lat_deg for track in tracks],
            [track.position.lon_deg for track in tracks],
        )
        near = [
            (float(distance), track.track_id, track)
            for distance, track in zip(distances, tracks, strict=True)
            if distance <= radius_m
        ]
        return [track for _, _, track in sorted(near, key=lambda item: item[:2])]

    def tracks_inside(
        self, polygon: Sequence[GeoPoint], since: datetime | None = None
    ) -> list[Track]:
        area = SphericalPolygon(polygon)
        tracks = self._live_tracks(area.box, since)
        if not tracks:
            return []
        inside = area.contains(
            [track.position.lat_deg for track in tracks],
            [track.position.lon_deg for track in tracks],
        )
        return sorted(
            (track for track, keep in zip(tracks, inside, strict=True) if keep),
            key=lambda track: track.track_id,
        )

    def _live_tracks(self, box: LatLonBox, since: datetime | None) -> list[Track]:
        query = "SELECT payload FROM track_states WHERE live = 1"
        parameters: list[Any] = []
        query += _box_condition(box, parameters)
        if since is not None:
            query += " AND time_s >= ?"
            parameters.append(since.timestamp())
        return tracks_of_rows(self._connection.execute(query, parameters))

    def messages_within(
        self,
        centre: GeoPoint,
        radius_m: float,
        types: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[StoredMessage]:
        check_point(centre)
        radius_m = check_radius(radius_m)
        query = (
            "SELECT positions.sequence, positions.lat_deg, positions.lon_deg,"
            " messages.subject, messages.payload FROM message_positions AS positions"
            " JOIN messages ON messages.sequence = positions.sequence WHERE 1 = 1"
        )
        parameters: list[Any] = []
        query += _box_condition(circle_box(centre, radius_m), parameters)
        if types is not None:
            type_list = list(types)
            query += f" AND positions.type IN ({', '.join('?' for _ in type_list)})"
            parameters.extend(type_list)
        if start is not None:
            query += " AND time_s >= ?"
            parameters.append(start.timestamp())
        if end is not None:
            query += " AND time_s < ?"
            parameters.append(end.timestamp())
        query += " ORDER BY positions.sequence"
        candidates = self._connection.execute(query, parameters).fetchall()
        if not candidates:
            return
        distances = distance_m(
            centre.lat_deg,
            centre.lon_deg,
            [row[1] for row in candidates],
            [row[2] for row in candidates],
        )
        for (sequence, _, _, subject, payload), distance in zip(candidates, distances, strict=True):
            if distance <= radius_m:
                yield StoredMessage(
                    sequence=sequence, subject=subject, message=self._message(payload)
                )

    def close(self) -> None:
        self._connection.close()


def _box_condition(box: LatLonBox, parameters: list[Any]) -> str:
    condition = " AND lat_deg BETWEEN ? AND ?"
    parameters.extend([box.lat_min, box.lat_max])
    if box.lon_min is not None and box.lon_max is not None:
        condition += " AND lon_deg BETWEEN ? AND ?"
        parameters.extend([box.lon_min, box.lon_max])
    return condition


class _Transaction:
    def __init__(self, connection: sqlite3.Connection, on_rollback: Callable[[], None]) -> None:
        self._connection = connection
        self._on_rollback = on_rollback

    def __enter__(self) -> None:
        self._connection.execute("BEGIN")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._connection.execute("ROLLBACK" if exc_type else "COMMIT")
        if exc_type:
            self._on_rollback()
