"""What only the PostgreSQL store promises: PostGIS indexes, schemas, several writers, errors."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest
from geographiclib.geodesic import Geodesic

from hotzone.store import (
    PostgresStore,
    PostgresStoreError,
    SQLiteStore,
    open_store,
)
from hotzone.store.postgres import pattern_regex
from hotzone.store.spatial import distance_m
from hotzone.types import Event, EventKind, GeoPoint, Track, TrackStatus

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _track(index: int, lat: float, lon: float) -> Track:
    return Track(
        track_id=f"t{index}",
        track_number=index,
        time=T0,
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=lat, lon_deg=lon, height_m=300.0),
        sector="s",
        enu_position_m=(0.0, 0.0, 0.0),
        enu_velocity_mps=(0.0, 0.0, 0.0),
        covariance=((1.0, 0.0), (0.0, 1.0)),
        quality=0.5,
    )


def _plan(dsn: str, schema: str, query: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"SET search_path TO {schema}, public")
        # A handful of rows would be scanned whatever the indexes; forbidding sequential
        # scans asks whether an index *can* answer the query.
        connection.execute("SET enable_seqscan TO off")
        rows = connection.execute(f"EXPLAIN {query}").fetchall()
    return "\n".join(row[0] for row in rows)


def test_spatial_queries_are_answered_from_gist_indexes(
    postgres_dsn: str, postgres_schema: str
) -> None:
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        store.append_many(("hz.PL.trk.s", _track(i, 54.0 + i / 100, 23.0)) for i in range(50))
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            connection.execute(f"ANALYZE {postgres_schema}.track_states")
            connection.execute(f"ANALYZE {postgres_schema}.messages")
    point = "ST_SetSRID(ST_MakePoint(23.0, 54.1), 4326)::geography"
    within = _plan(
        postgres_dsn,
        postgres_schema,
        f"SELECT payload FROM track_states WHERE live AND ST_DWithin(position, {point}, 5000)",
    )
    assert "track_states_position" in within
    polygon = "ST_GeogFromText('POLYGON((22 53, 24 53, 24 55, 22 55, 22 53))')"
    inside = _plan(
        postgres_dsn,
        postgres_schema,
        f"SELECT payload FROM track_states WHERE live AND ST_Covers({polygon}, position)",
    )
    assert "track_states_position" in inside
    history = _plan(
        postgres_dsn,
        postgres_schema,
        f"SELECT sequence FROM messages WHERE ST_DWithin(position, {point}, 5000)",
    )
    assert "messages_position" in history


def test_stores_in_different_schemas_do_not_see_each_other(postgres_dsn: str) -> None:
    names = [f"test_iso_{random.Random(i).getrandbits(40):x}" for i in (1, 2)]
    try:
        with (
            PostgresStore(postgres_dsn, schema=names[0]) as first,
            PostgresStore(postgres_dsn, schema=names[1]) as second,
        ):
            first.append("hz.PL.trk.s", _track(1, 54.0, 23.0))
            assert second.count() == 0
            assert second.tracks_within(GeoPoint(lat_deg=54.0, lon_deg=23.0), 1e3) == []
            assert second.append("hz.LT.trk.s", _track(2, 55.0, 24.0)) == 1
            assert [
                t.track_id for t in first.tracks_within(GeoPoint(lat_deg=54, lon_deg=23), 1e3)
            ] == ["t1"]
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as connection:
            for name in names:
                connection.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def test_several_writers_get_unique_increasing_sequences(
    postgres_dsn: str, postgres_schema: str
) -> None:
    # A nation's scale-out: several processes append to one database at once.
    PostgresStore(postgres_dsn, schema=postgres_schema).close()
    results: dict[str, list[int]] = {}

    def write(writer: str) -> None:
        with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
            sequences = []
            for index in range(40):
                event = Event(
                    event_id=f"{writer}{index}",
                    time=T0,
                    source_id=writer,
                    kind=EventKind.SENSOR_STATUS,
                    severity=0,
                    summary="ok",
                )
                sequences.append(store.append(f"hz.PL.{writer}", event))
            results[writer] = sequences

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [sequence for sequences in results.values() for sequence in sequences]
    assert len(set(every)) == 120
    assert all(s == sorted(s) for s in results.values())
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        assert store.count() == 120
        assert [s.sequence for s in store.replay()] == sorted(every)


def test_open_store_chooses_by_url(postgres_dsn: str, postgres_schema: str, tmp_path: Path) -> None:
    with open_store(postgres_dsn, schema=postgres_schema) as store:
        assert isinstance(store, PostgresStore)
    with open_store(tmp_path / "a.sqlite") as store:
        assert isinstance(store, SQLiteStore)
    with open_store(str(tmp_path / "b.sqlite")) as store:
        assert isinstance(store, SQLiteStore)
    with pytest.raises(ValueError, match="PostgreSQL only"):
        open_store(tmp_path / "c.sqlite", schema="x")


def test_unreachable_database_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(PostgresStoreError, match=r"cannot connect to PostgreSQL at 127.0.0.1:1/x"):
        open_store("postgresql://me:s3cret-word@127.0.0.1:1/x?connect_timeout=2")
    try:
        open_store("postgresql://me:s3cret-word@127.0.0.1:1/x?connect_timeout=2")
    except PostgresStoreError as error:
        assert "s3cret-word" not in str(error)


def test_bad_schema_name_is_refused(postgres_dsn: str) -> None:
    with pytest.raises(PostgresStoreError, match="schema name"):
        PostgresStore(postgres_dsn, schema="x; DROP TABLE messages")


def test_pattern_becomes_an_anchored_regex() -> None:
    assert pattern_regex(">") is None
    assert pattern_regex("hz.*.det.>") == r"^hz\.[^.]+\.det\..+$"


def test_sqlite_distance_agrees_with_geographiclib() -> None:
    # The SQLite store's numpy distance stands in for PostGIS's spheroid distance.
    generator = np.random.default_rng(8)
    start_lat = generator.uniform(-80, 80, 500)
    start_lon = generator.uniform(-180, 180, 500)
    azimuth = generator.uniform(0, 360, 500)
    length = generator.uniform(1.0, 1_000_000.0, 500)
    ends = [
        Geodesic.WGS84.Direct(lat, lon, az, s)
        for lat, lon, az, s in zip(start_lat, start_lon, azimuth, length, strict=True)
    ]
    computed = distance_m(
        start_lat, start_lon, [e["lat2"] for e in ends], [e["lon2"] for e in ends]
    )
    assert np.max(np.abs(computed - length) / length) < 1e-4
