"""`PostgresStore`: the store for a nation that outgrows one SQLite file (PostgreSQL + PostGIS).

The same `Store` protocol as `SQLiteStore`, plus the spatial queries of
`hotzone.store.spatial`, answered by PostGIS ``geography`` columns with GiST indexes:

* ``messages``: every message, its subject, type tag, time, JSON payload and, for messages
  about a place, its position (``geography(PointZ)``, GiST-indexed);
* ``track_states``: the newest state of every track, keyed by ``track_id`` (GiST-indexed).

Several processes may append to one database (a nation's scale-out): sequence numbers come
from one identity column, so they are unique and increase, though a reader may see a
higher number committed before a lower one still in flight.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from hotzone.store.base import ClosedOnExit, StoredMessage, tracks_of_rows
from hotzone.store.spatial import (
    SphericalPolygon,
    check_point,
    check_radius,
    is_live,
    message_position,
)
from hotzone.types import AnyMessage, GeoPoint, Track, from_json
from hotzone.types.subjects import validate_pattern

_SCHEMA_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PAGE_ROWS = 1000
# Any constant works: every process creating the tables takes this lock first, so two
# nodes starting at once do not race on CREATE TABLE IF NOT EXISTS.
_SCHEMA_LOCK_KEY = 0x686F747A6F6E65

_TABLES = """
CREATE TABLE IF NOT EXISTS messages (
    sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject text NOT NULL,
    type text NOT NULL,
    time timestamptz NOT NULL,
    position geography(PointZ, 4326),
    payload bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_type ON messages(type, sequence);
CREATE INDEX IF NOT EXISTS messages_time ON messages(time);
CREATE INDEX IF NOT EXISTS messages_position ON messages USING gist(position);
CREATE TABLE IF NOT EXISTS track_states (
    track_id text PRIMARY KEY,
    sequence bigint NOT NULL,
    time timestamptz NOT NULL,
    live boolean NOT NULL,
    sector text NOT NULL,
    position geography(PointZ, 4326) NOT NULL,
    payload bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS track_states_position ON track_states USING gist(position);
"""

# One statement records a message, its position and, for a track, its newest state: the
# newest state wins whatever order messages arrive in, and a deleted track keeps its row
# (live = false) so that a late, older update cannot bring it back.
_APPEND = """
WITH inserted AS (
    INSERT INTO messages(subject, type, time, position, payload)
    VALUES (
        %(subject)s, %(type)s, %(time)s,
        ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8, %(height)s::float8), 4326)
            ::geography,
        %(payload)s
    )
    RETURNING sequence, time, position, payload
), state AS (
    INSERT INTO track_states(track_id, sequence, time, live, sector, position, payload)
    SELECT %(track_id)s::text, sequence, time, %(live)s::boolean, %(sector)s::text,
        position, payload
    FROM inserted
    WHERE %(track_id)s::text IS NOT NULL
    ON CONFLICT (track_id) DO UPDATE SET
        sequence = EXCLUDED.sequence, time = EXCLUDED.time, live = EXCLUDED.live,
        sector = EXCLUDED.sector, position = EXCLUDED.position, payload = EXCLUDED.payload
    WHERE EXCLUDED.time >= track_states.time
)
SELECT sequence FROM inserted
"""

_POINT = "ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326)::geography"

_encoder = msgspec.json.Encoder()


class PostgresStoreError(RuntimeError):
    """The database cannot be reached or used as a store; the message says what to do."""


def _type_tag(message: AnyMessage) -> str:
    tag: Any = type(message).__struct_config__.tag
    return str(tag)


def pattern_regex(pattern: str) -> str | None:
    """A PostgreSQL regular expression selecting the subjects a NATS pattern selects.

    None for ``>``, which selects everything. Tokens are letters, digits, ``_`` and ``-``
    (checked by `validate_pattern`), so none needs escaping.
    """
    tokens = validate_pattern(pattern)
    if tokens == [">"]:
        return None
    parts = ["[^.]+" if piece == "*" else ".+" if piece == ">" else piece for piece in tokens]
    return "^" + r"\.".join(parts) + "$"


def _describe(dsn: str) -> str:
    """The DSN without its password, for error messages."""
    try:
        parts = conninfo_to_dict(dsn)
    except Exception:
        return "(unparsable connection string)"
    host, port, name = parts.get("host", "?"), parts.get("port", "5432"), parts.get("dbname", "?")
    return f"{host}:{port}/{name}"


class PostgresStore(ClosedOnExit):
    """Records messages in PostgreSQL; needs the PostGIS extension in the database.

    ``schema`` puts the tables in their own schema (created if missing), so that several
    stores, for instance one per test, share one database without seeing each other.
    """

    def __init__(self, dsn: str, schema: str | None = None) -> None:
        if schema is not None and not _SCHEMA_NAME_RE.match(schema):
            raise PostgresStoreError(
                f"schema name {schema!r} must be lower-case letters, digits and _, "
                "starting with a letter or _, at most 63 characters"
            )
        self.schema = schema
        self.where = _describe(dsn)
        try:
            self._connection: psycopg.Connection[Any] = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as error:
            raise PostgresStoreError(
                f"cannot connect to PostgreSQL at {self.where}: {str(error).strip()}"
            ) from error
        try:
            self._create_tables()
        except BaseException:
            self._connection.close()
            raise

    def _create_tables(self) -> None:
        with self._connection.transaction():
            self._connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            if self._connection.execute("SELECT to_regtype('geography')").fetchone() == (None,):
                try:
                    with self._connection.transaction():
                        self._connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                except psycopg.Error as error:
                    raise PostgresStoreError(
                        f"PostGIS is not installed in {self.where} and could not be created "
                        f"({str(error).strip()}); a superuser must run CREATE EXTENSION postgis"
                    ) from error
            if self.schema is not None:
                name = sql.Identifier(self.schema)
                self._connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
                # public stays on the path: PostGIS's types and functions live there.
                self._connection.execute(sql.SQL("SET search_path TO {}, public").format(name))
            self._connection.execute(_TABLES)

    def _parameters(self, subject: str, message: AnyMessage) -> dict[str, Any]:
        position = message_position(message)
        track = message if isinstance(message, Track) else None
        return {
            "subject": subject,
            "type": _type_tag(message),
            "time": message.time,
            "lat": None if position is None else position.lat_deg,
            "lon": None if position is None else position.lon_deg,
            "height": None if position is None else position.height_m,
            "payload": _encoder.encode(message),
            "track_id": None if track is None else track.track_id,
            "live": None if track is None else is_live(track),
            "sector": None if track is None else track.sector,
        }

    def append(self, subject: str, message: AnyMessage) -> int:
        row = self._connection.execute(_APPEND, self._parameters(subject, message)).fetchone()
        assert row is not None  # INSERT ... RETURNING always returns the row
        return int(row[0])

    def append_many(self, items: Iterable[tuple[str, AnyMessage]]) -> int:
        parameters = [self._parameters(subject, message) for subject, message in items]
        if not parameters:
            return self._last_sequence()
        last = 0
        with self._connection.transaction(), self._connection.cursor() as cursor:
            cursor.executemany(_APPEND, parameters, returning=True)
            while True:
                row = cursor.fetchone()
                if row is not None:
                    last = max(last, int(row[0]))
                if not cursor.nextset():
                    break
        return last

    def _last_sequence(self) -> int:
        row = self._connection.execute("SELECT coalesce(max(sequence), 0) FROM messages").fetchone()
        return int(row[0]) if row is not None else 0

    def replay(
        self,
        pattern: str = ">",
        types: Iterable[str] | None = None,
        after_sequence: int = 0,
    ) -> Iterator[StoredMessage]:
        conditions = ["sequence > %(after)s"]
        parameters: dict[str, Any] = {}
        regex = pattern_regex(pattern)
        if regex is not None:
            conditions.append("subject ~ %(regex)s")
            parameters["regex"] = regex
        if types is not None:
            conditions.append("type = ANY(%(types)s)")
            parameters["types"] = list(types)
        yield from self._pages(conditions, parameters, after_sequence)

    def _pages(
        self, conditions: list[str], parameters: dict[str, Any], after_sequence: int
    ) -> Iterator[StoredMessage]:
        # Keyset pages: no transaction or server-side cursor stays open while the caller
        # works through the messages (and perhaps appends to this store meanwhile).
        query = sql.SQL(
            "SELECT sequence, subject, payload FROM messages WHERE {} ORDER BY sequence LIMIT {}"
        ).format(sql.SQL(" AND ").join(map(sql.SQL, conditions)), sql.Literal(_PAGE_ROWS))
        after = after_sequence
        while True:
            rows = self._connection.execute(query, {**parameters, "after": after}).fetchall()
            for sequence, subject, payload in rows:
                yield StoredMessage(sequence=sequence, subject=subject, message=from_json(payload))
            if len(rows) < _PAGE_ROWS:
                return
            after = rows[-1][0]

    def count(self, message_type: str | None = None) -> int:
        if message_type is None:
            row = self._connection.execute("SELECT count(*) FROM messages").fetchone()
        else:
            row = self._connection.execute(
                "SELECT count(*) FROM messages WHERE type = %s", (message_type,)
            ).fetchone()
        return int(row[0]) if row is not None else 0

    def tracks_within(
        self, centre: GeoPoint, radius_m: float, since: datetime | None = None
    ) -> list[Track]:
        check_point(centre)
        parameters: dict[str, Any] = {
            "lat": centre.lat_deg,
            "lon": centre.lon_deg,
            "radius": check_radius(radius_m),
            "since": since,
        }
        # ST_DWithin on geography is answered from the GiST index and measures on the
        # spheroid; the ordering distance is computed only for the rows it kept.
        return self._tracks(
            f"ST_DWithin(position, {_POINT}, %(radius)s)",
            f"ST_Distance(position, {_POINT}), track_id",
            parameters,
        )

    def tracks_inside(
        self, polygon: Sequence[GeoPoint], since: datetime | None = None
    ) -> list[Track]:
        area = SphericalPolygon(polygon)
        return self._tracks(
            "ST_Covers(ST_GeogFromText(%(polygon)s), position)",
            "track_id",
            {"polygon": area.wkt(), "since": since},
        )

    def _tracks(self, condition: str, order: str, parameters: dict[str, Any]) -> list[Track]:
        if parameters.get("since") is not None:
            condition += " AND time >= %(since)s"
        query = sql.SQL("SELECT payload FROM track_states WHERE live AND {} ORDER BY {}").format(
            sql.SQL(condition), sql.SQL(order)
        )
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
        conditions = ["sequence > %(after)s", f"ST_DWithin(position, {_POINT}, %(radius)s)"]
        parameters: dict[str, Any] = {
            "lat": centre.lat_deg,
            "lon": centre.lon_deg,
            "radius": check_radius(radius_m),
        }
        if types is not None:
            conditions.append("type = ANY(%(types)s)")
            parameters["types"] = list(types)
        if start is not None:
            conditions.append("time >= %(start)s")
            parameters["start"] = start
        if end is not None:
            conditions.append("time < %(end)s")
            parameters["end"] = end
        return self._pages(conditions, parameters, 0)

    def close(self) -> None:
        self._connection.close()
