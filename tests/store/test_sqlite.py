"""The SQLite store records every message and replays it in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotzone.store import SQLiteStore
from hotzone.types import Alert, DeadLetter, Event, EventKind


def _event(index: int) -> Event:
    return Event(
        event_id=f"e{index}",
        time=datetime(2026, 11, 27, 12, 0, tzinfo=UTC) + timedelta(seconds=index),
        source_id="cyber1",
        kind=EventKind.CYBER_ALERT,
        severity=index % 10,
        summary=f"alert {index}",
    )


def test_replay_returns_messages_in_append_order(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with SQLiteStore(path) as store:
        store.append_many((f"hz.PL.det.none.cyber{i % 2}", _event(i)) for i in range(50))
        last = store.append(
            "hz.PL.alert",
            Alert(alert_id="a", time=_event(0).time, kind="x", summary="y", priority=1),
        )
        assert last == 51
    with SQLiteStore(path) as reopened:
        replayed = list(reopened.replay())
        assert [stored.sequence for stored in replayed] == list(range(1, 52))
        assert [stored.message for stored in replayed[:50]] == [_event(i) for i in range(50)]
        assert reopened.count() == 51
        assert reopened.count("event") == 50
        assert reopened.count("alert") == 1


def test_replay_filters_by_subject_pattern_type_and_position(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "s.sqlite") as store:
        store.append_many((f"hz.PL.det.none.cyber{i % 2}", _event(i)) for i in range(10))
        store.append(
            "hz.PL.dead.sbs",
            DeadLetter(time=_event(0).time, source="sbs", reason="bad", raw=b"\xff"),
        )
        odd = [stored.message for stored in store.replay("hz.PL.det.*.cyber1")]
        assert odd == [_event(i) for i in range(1, 10, 2)]
        dead = list(store.replay(types=["dead_letter"]))
        assert len(dead) == 1
        assert isinstance(dead[0].message, DeadLetter)
        assert dead[0].message.raw == b"\xff"
        later = list(store.replay(after_sequence=8))
        assert [stored.sequence for stored in later] == [9, 10, 11]


def test_store_uses_write_ahead_logging(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "wal.sqlite"
    SQLiteStore(path).close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_message_at_the_very_centre_is_within_any_radius(tmp_path: Path) -> None:
    # The distance of a point to itself was NaN (0/0 in the radius of curvature).
    from hotzone.store.spatial import distance_m
    from hotzone.types import GeoPoint

    assert distance_m(54.0, 23.0, [54.0], [23.0])[0] == 0.0
    centre = GeoPoint(lat_deg=54.0, lon_deg=23.0)
    event = Event(
        event_id="here",
        time=_event(0).time,
        source_id="s",
        kind=EventKind.CYBER_ALERT,
        severity=1,
        summary="at the centre",
        position=centre,
    )
    with SQLiteStore(tmp_path / "s.sqlite") as store:
        store.append("hz.PL.alert", event)
        assert [stored.message for stored in store.messages_within(centre, 10.0)] == [event]
