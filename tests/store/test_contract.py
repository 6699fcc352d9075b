"""The store contract: SQLite and PostgreSQL/PostGIS answer every question the same way.

Every test here runs twice, once per store (the ``store`` fixture in conftest.py).
Distances and containment are checked against GeographicLib and spherical trigonometry,
not against the stores' own geometry.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from geographiclib.geodesic import Geodesic

from hotzone.store import PostgresStore, SpatialQueryError, SQLiteStore
from hotzone.types import (
    Alert,
    DeadLetter,
    Detection,
    Event,
    EventKind,
    GeoPoint,
    MeasurementKind,
    Track,
    TrackStatus,
)
from hotzone.types.subjects import SubjectError, subject_matches

AnyStore = SQLiteStore | PostgresStore
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
# An asset near Suwałki, where Poland and Lithuania meet.
ASSET = GeoPoint(lat_deg=54.10, lon_deg=22.93, height_m=180.0)


def _event(index: int, position: GeoPoint | None = None) -> Event:
    return Event(
        event_id=f"e{index}",
        time=T0 + timedelta(seconds=index),
        source_id="cyber1",
        kind=EventKind.CYBER_ALERT,
        severity=index % 10,
        summary=f"alert {index}",
        position=position,
    )


def _track(
    track_id: str,
    position: GeoPoint,
    seconds: float = 0.0,
    status: TrackStatus = TrackStatus.CONFIRMED,
) -> Track:
    return Track(
        track_id=track_id,
        track_number=int(track_id.removeprefix("t")) if track_id[1:].isdigit() else 0,
        time=T0 + timedelta(seconds=seconds),
        status=status,
        position=position,
        sector="suwalki",
        enu_position_m=(1.0, 2.0, 3.0),
        enu_velocity_mps=(10.0, -5.0, 0.5),
        covariance=tuple(
            tuple(25.0 if row == column else 0.5 for column in range(6)) for row in range(6)
        ),
        quality=0.9,
        sensors=("radar1", "eo2"),
    )


def _detection(index: int) -> Detection:
    return Detection(
        detection_id=f"d{index}",
        time=T0 + timedelta(seconds=index),
        sensor_id="radar1",
        kind=MeasurementKind.POSITION,
        values=(1.0, 2.0, 3.0),
        covariance=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
        sensor_position=ASSET,  # where the sensor is, not the object: never indexed
    )


def _at(centre: GeoPoint, azimuth_deg: float, distance_m: float) -> GeoPoint:
    result = Geodesic.WGS84.Direct(centre.lat_deg, centre.lon_deg, azimuth_deg, distance_m)
    return GeoPoint(lat_deg=result["lat2"], lon_deg=result["lon2"], height_m=500.0)


# --- the Store protocol ---------------------------------------------------------------


def test_replay_returns_every_message_intact_in_append_order(store: AnyStore) -> None:
    messages = [
        _event(0),
        _track("t1", ASSET),
        _detection(2),
        DeadLetter(time=T0, source="sbs", reason="bad checksum", raw=b"\xff\x00raw"),
        Alert(alert_id="a", time=T0, kind="x", summary="y", priority=1, position=ASSET),
    ]
    first = store.append("hz.PL.det.none.cyber1", messages[0])
    last = store.append_many((f"hz.PL.x{i}", message) for i, message in enumerate(messages[1:]))
    assert last == first + 4
    replayed = list(store.replay())
    assert [stored.message for stored in replayed] == messages
    assert [stored.sequence for stored in replayed] == list(range(first, first + 5))
    assert replayed[0].subject == "hz.PL.det.none.cyber1"
    assert store.count() == 5
    assert store.count("track") == 1
    assert store.count("dead_letter") == 1
    assert store.count("truth") == 0


def test_append_many_of_nothing_returns_the_last_sequence(store: AnyStore) -> None:
    assert store.append_many([]) == 0
    sequence = store.append("hz.PL.alert", _event(1))
    assert store.append_many([]) == sequence


def test_replay_filters_like_the_subject_matcher(store: AnyStore) -> None:
    subjects = [
        "hz.PL.det.s1.radar1",
        "hz.PL.det.s2.radar1",
        "hz.PL.det.s1.eo-2",
        "hz.LT.det.s1.radar1",
        "hz.PL.trk.s1",
        "hz.PL.alert",
        "hz.share.REL_PL_LT",
        "hz.PL.det",
    ]
    store.append_many((subject, _event(index)) for index, subject in enumerate(subjects))
    patterns = [
        ">",
        "hz.>",
        "hz.PL.>",
        "hz.*.det.s1.*",
        "hz.PL.det.*.radar1",
        "hz.PL.det",
        "hz.PL.det.>",
        "hz.*.*",
        "hz.share.REL_PL_LT",
        "hz.NO.>",
    ]
    for pattern in patterns:
        replayed = [stored.subject for stored in store.replay(pattern)]
        assert replayed == [s for s in subjects if subject_matches(pattern, s)], pattern


def test_replay_filters_by_type_and_sequence(store: AnyStore) -> None:
    store.append_many(("hz.PL.det.none.cyber", _event(i)) for i in range(6))
    store.append("hz.PL.trk.s", _track("t1", ASSET))
    store.append("hz.PL.alert", Alert(alert_id="a", time=T0, kind="x", summary="y", priority=1))
    assert [s.sequence for s in store.replay(after_sequence=4)] == [5, 6, 7, 8]
    assert [s.message.time for s in store.replay(types=["event"], after_sequence=3)] == [
        _event(i).time for i in range(3, 6)
    ]
    kinds = [type(s.message).__name__ for s in store.replay(types=["track", "alert"])]
    assert kinds == ["Track", "Alert"]
    assert list(store.replay(types=[])) == []


def test_replay_streams_past_page_boundaries(store: AnyStore) -> None:
    # More than one of the PostgreSQL store's pages (1000 rows), odd ones on another subject.
    total = 2345
    store.append_many((f"hz.PL.det.none.c{i % 2}", _event(i)) for i in range(total))
    sequences = [stored.sequence for stored in store.replay()]
    assert sequences == list(range(1, total + 1))
    odd = [stored.message for stored in store.replay("hz.PL.det.none.c1", after_sequence=1500)]
    assert [message.time for message in odd] == [
        _event(i).time for i in range(1500, total) if i % 2 == 1
    ]


def test_bad_subject_pattern_is_refused(store: AnyStore) -> None:
    with pytest.raises(SubjectError, match="'>' may only be the last token"):
        list(store.replay("hz.>.det"))


# --- latest track states ------------------------------------------------------------


def test_newest_track_state_wins_and_deleted_tracks_stay_deleted(store: AnyStore) -> None:
    near = _at(ASSET, 90.0, 1_000.0)
    far = _at(ASSET, 90.0, 50_000.0)
    store.append("hz.PL.trk.s", _track("t1", near, seconds=10.0))
    # An older state arriving late does not move the track back.
    store.append("hz.PL.trk.s", _track("t1", far, seconds=5.0))
    within = store.tracks_within(ASSET, 5_000.0)
    assert [track.track_id for track in within] == ["t1"]
    assert within[0].time == T0 + timedelta(seconds=10.0)
    store.append("hz.PL.trk.s", _track("t1", far, seconds=20.0))
    assert store.tracks_within(ASSET, 5_000.0) == []
    store.append("hz.PL.trk.s", _track("t1", near, seconds=30.0, status=TrackStatus.DELETED))
    assert store.tracks_within(ASSET, 5_000.0) == []
    store.append("hz.PL.trk.s", _track("t1", near, seconds=25.0))  # late, before the deletion
    assert store.tracks_within(ASSET, 100_000.0) == []
    assert store.count("track") == 5  # the history keeps every state


def test_tracks_within_uses_geodesic_distance_nearest_first(store: AnyStore) -> None:
    randomness = random.Random(8)
    radius = 20_000.0
    tracks = []
    for index in range(120):
        # Never within 1 % of the radius: stores may differ there by their distance model.
        distance = randomness.choice([randomness.uniform(0.0, 0.99), randomness.uniform(1.01, 3.0)])
        tracks.append(
            (
                distance * radius,
                _track(f"t{index}", _at(ASSET, randomness.uniform(0, 360), distance * radius)),
            )
        )
    store.append_many(("hz.PL.trk.s", track) for _, track in tracks)
    expected = [track.track_id for distance, track in sorted(tracks, key=lambda x: x[0])]
    expected = expected[: sum(1 for distance, _ in tracks if distance <= radius)]
    found = store.tracks_within(ASSET, radius)
    assert [track.track_id for track in found] == expected
    assert 20 < len(found) < 100
    assert found[0] == dict((t.track_id, t) for _, t in tracks)[expected[0]]


def test_tracks_within_only_since_a_time(store: AnyStore) -> None:
    store.append("hz.PL.trk.s", _track("t1", _at(ASSET, 0.0, 100.0), seconds=0.0))
    store.append("hz.PL.trk.s", _track("t2", _at(ASSET, 0.0, 200.0), seconds=60.0))
    recent = store.tracks_within(ASSET, 1_000.0, since=T0 + timedelta(seconds=30))
    assert [track.track_id for track in recent] == ["t2"]
    assert len(store.tracks_within(ASSET, 1_000.0)) == 2


def test_tracks_within_across_the_antimeridian(store: AnyStore) -> None:
    east = GeoPoint(lat_deg=65.0, lon_deg=179.95)
    store.append("hz.PL.trk.s", _track("t1", GeoPoint(lat_deg=65.0, lon_deg=-179.95)))
    store.append("hz.PL.trk.s", _track("t2", GeoPoint(lat_deg=65.0, lon_deg=-179.5)))
    # 0.1° of longitude at 65°N is about 4.7 km.
    assert [track.track_id for track in store.tracks_within(east, 10_000.0)] == ["t1"]


def _great_circle_latitude(lat_deg: float, half_span_deg: float) -> float:
    """Latitude at mid-longitude of the great circle between two points on one parallel."""
    return math.degrees(
        math.atan(math.tan(math.radians(lat_deg)) / math.cos(math.radians(half_span_deg)))
    )


def test_tracks_inside_a_sector_with_great_circle_edges(store: AnyStore) -> None:
    # A long sector whose northern edge runs from (60N, 10E) to (60N, 30E): the edge is the
    # great circle, which bulges to 60.36N at 20E, not the parallel.
    sector = [
        GeoPoint(lat_deg=58.0, lon_deg=10.0),
        GeoPoint(lat_deg=58.0, lon_deg=30.0),
        GeoPoint(lat_deg=60.0, lon_deg=30.0),
        GeoPoint(lat_deg=60.0, lon_deg=10.0),
    ]
    edge = _great_circle_latitude(60.0, 10.0)
    # The southern edge bulges too: the sector's bottom at 20E is north of 58N.
    bottom = _great_circle_latitude(58.0, 10.0)
    inside = {
        "t1": GeoPoint(lat_deg=edge - 0.05, lon_deg=20.0),  # north of 60N, still inside
        "t2": GeoPoint(lat_deg=59.0, lon_deg=12.0),
        "t3": GeoPoint(lat_deg=bottom + 0.05, lon_deg=20.0),
    }
    outside = {
        "t4": GeoPoint(lat_deg=edge + 0.05, lon_deg=20.0),
        "t5": GeoPoint(lat_deg=58.1, lon_deg=20.0),  # north of 58N, but south of the edge
        "t6": GeoPoint(lat_deg=59.0, lon_deg=31.0),
        "t7": GeoPoint(lat_deg=-59.0, lon_deg=20.0),
    }
    store.append_many(("hz.PL.trk.s", _track(i, p)) for i, p in {**inside, **outside}.items())
    found = store.tracks_inside(sector)
    assert [track.track_id for track in found] == sorted(inside)
    # Vertex order and a repeated closing vertex do not change the area.
    closed_clockwise = [*reversed(sector), sector[-1]]
    assert store.tracks_inside(closed_clockwise) == found
    assert store.tracks_inside(sector, since=T0 + timedelta(seconds=1)) == []


# --- messages near a place ------------------------------------------------------------


def test_messages_within_keeps_order_types_and_window(store: AnyStore) -> None:
    near, far = _at(ASSET, 45.0, 3_000.0), _at(ASSET, 45.0, 30_000.0)
    store.append_many(
        [
            ("hz.PL.cyber", _event(0, near)),
            ("hz.PL.cyber", _event(1, far)),
            ("hz.PL.cyber", _event(2, None)),
            ("hz.PL.det.s.radar1", _detection(3)),  # its sensor sits on the asset
            ("hz.PL.trk.s", _track("t1", near, seconds=4.0)),
            (
                "hz.PL.alert",
                Alert(alert_id="a", time=T0, kind="x", summary="y", priority=2, position=near),
            ),
            ("hz.PL.cyber", _event(6, near)),
        ]
    )
    everything = list(store.messages_within(ASSET, 10_000.0))
    assert [stored.sequence for stored in everything] == [1, 5, 6, 7]
    assert everything[1].message == _track("t1", near, seconds=4.0)
    events = store.messages_within(ASSET, 10_000.0, types=["event", "track"])
    assert [stored.sequence for stored in events] == [1, 5, 7]
    window = store.messages_within(
        ASSET, 10_000.0, start=T0 + timedelta(seconds=1), end=T0 + timedelta(seconds=6)
    )
    assert [stored.sequence for stored in window] == [5]
    assert len(list(store.messages_within(ASSET, 40_000.0))) == 5


# --- bad questions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("centre", "radius", "complaint"),
    [
        (ASSET, -1.0, "radius"),
        (ASSET, math.nan, "radius"),
        (ASSET, math.inf, "radius"),
        (GeoPoint(lat_deg=91.0, lon_deg=0.0), 10.0, "not on Earth"),
        (GeoPoint(lat_deg=math.nan, lon_deg=0.0), 10.0, "finite"),
    ],
)
def test_bad_circle_is_refused_with_the_reason(
    store: AnyStore, centre: GeoPoint, radius: float, complaint: str
) -> None:
    with pytest.raises(SpatialQueryError, match=complaint):
        store.tracks_within(centre, radius)
    with pytest.raises(SpatialQueryError, match=complaint):
        list(store.messages_within(centre, radius))


@pytest.mark.parametrize(
    ("vertices", "complaint"),
    [
        ([(54.0, 22.0), (54.0, 23.0)], "at least 3 distinct"),
        ([(54.0, 22.0), (54.0, 23.0), (54.0, 22.0)], "at least 3 distinct"),
        ([(54.0, 22.0), (55.0, 23.0), (54.0, 23.0), (55.0, 22.0)], "not simple"),
        ([(54.0, 22.0), (54.0, 23.0), (54.5, 200.0)], "not on Earth"),
        ([(0.0, 0.0), (0.0, 140.0), (5.0, 70.0)], "within 60"),
    ],
)
def test_bad_polygon_is_refused_with_the_reason(
    store: AnyStore, vertices: list[tuple[float, float]], complaint: str
) -> None:
    polygon = [GeoPoint(lat_deg=lat, lon_deg=lon) for lat, lon in vertices]
    with pytest.raises(SpatialQueryError, match=complaint):
        store.tracks_inside(polygon)
