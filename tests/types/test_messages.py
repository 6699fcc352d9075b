"""Messages round-trip losslessly and refuse what breaks their invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given, settings

from hotzone.types import (
    MESSAGE_TYPES,
    Detection,
    GeoPoint,
    MeasurementKind,
    MessageError,
    Track,
    TrackStatus,
    from_json,
    from_msgpack,
    json_schema,
    to_json,
    to_msgpack,
)
from tests.types.strategies import any_message, utc_times


@settings(max_examples=300, deadline=None)
@given(any_message())
def test_every_message_round_trips_through_json_and_msgpack(message: msgspec.Struct) -> None:
    assert from_json(to_json(message)) == message  # type: ignore[arg-type]
    assert from_msgpack(to_msgpack(message)) == message  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(any_message())
def test_json_carries_the_type_tag_of_its_class(message: msgspec.Struct) -> None:
    tag = msgspec.json.decode(to_json(message))["type"]  # type: ignore[arg-type]
    assert MESSAGE_TYPES[tag] is type(message)


def _detection(**changes: object) -> Detection:
    fields: dict[str, object] = {
        "detection_id": "r1-1",
        "time": datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        "sensor_id": "r1",
        "kind": MeasurementKind.POLAR,
        "values": (1000.0, 45.0, 1.0),
        "covariance": ((100.0, 0.0, 0.0), (0.0, 0.01, 0.0), (0.0, 0.0, 0.01)),
        "sensor_position": GeoPoint(54.1, 22.9, 200.0),
    }
    fields.update(changes)
    return Detection(**fields)  # type: ignore[arg-type]


def test_naive_time_is_refused_at_construction() -> None:
    with pytest.raises(MessageError, match="timezone-aware"):
        _detection(time=datetime(2026, 11, 27, 12, 0))  # noqa: DTZ001 - the point of the test


def test_a_naive_optional_time_is_refused_at_construction_too() -> None:
    with pytest.raises(MessageError, match=r"Detection\.received_at must be timezone-aware"):
        _detection(received_at=datetime(2026, 11, 27, 12, 0, 1))  # noqa: DTZ001
    assert _detection(received_at=None).received_at is None


def test_every_time_field_of_every_message_type_is_checked() -> None:
    """The check looks only at the fields whose type admits a datetime (found once per
    type): each message type's are exactly its datetime-typed fields, optional or not."""
    from hotzone.types.messages import Message, _time_fields

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    checked = 0
    for message_type in subclasses(Message):
        for field in msgspec.structs.fields(message_type):
            text = str(field.type)
            admits = "datetime.datetime" in text or field.type is datetime
            assert (field.name in _time_fields(message_type)) == admits, (
                message_type.__name__,
                field.name,
            )
            checked += admits
    assert checked >= 20


def test_naive_time_is_refused_when_decoding() -> None:
    line = to_json(_detection()).replace(b'12:00:00Z"', b'12:00:00"')
    with pytest.raises(msgspec.ValidationError, match="time"):
        from_json(line)


def test_unknown_releasability_label_is_refused() -> None:
    with pytest.raises(MessageError, match="releasability"):
        _detection(releasability="SECRET")
    line = to_json(_detection()).replace(b'"NATO"', b'"rel pl"')
    with pytest.raises(msgspec.ValidationError, match="releasability"):
        from_json(line)


@pytest.mark.parametrize("label", ["NATO", "REL PL LT", "NATIONAL PL", "REL PL LT RO USA"])
def test_known_releasability_labels_are_accepted(label: str) -> None:
    assert _detection(releasability=label).releasability == label


def test_covariance_must_match_the_measurement_size() -> None:
    with pytest.raises(MessageError, match="3x3"):
        _detection(covariance=((1.0, 0.0), (0.0, 1.0)))


def test_latitude_out_of_range_is_refused_when_decoding() -> None:
    line = to_json(_detection()).replace(b'"lat_deg":54.1', b'"lat_deg":95.0')
    with pytest.raises(msgspec.ValidationError, match="lat_deg"):
        from_json(line)


def test_other_utc_offsets_keep_the_same_instant() -> None:
    plus_two = datetime(2026, 11, 27, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    decoded = from_json(to_json(_detection(time=plus_two)))
    assert isinstance(decoded, Detection)
    assert decoded.time == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_schema_of_every_type_names_its_fields() -> None:
    union = json_schema()
    assert set(MESSAGE_TYPES) <= {
        definition["properties"]["type"]["enum"][0]
        for definition in union["$defs"].values()
        if "type" in definition.get("properties", {})
    }
    track_schema = json_schema("track")
    track_definition = track_schema["$defs"]["Track"]
    assert "enu_velocity_mps" in track_definition["properties"]
    with pytest.raises(KeyError, match="unknown message type"):
        json_schema("tank")


@given(utc_times())
def test_track_time_survives_round_trip(time: datetime) -> None:
    track = Track(
        track_id="PL-1",
        track_number=1,
        time=time,
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(54.0, 23.0, 300.0),
        sector="suwalki",
        enu_position_m=(1.0, 2.0, 3.0),
        enu_velocity_mps=(0.0, 50.0, 0.0),
        covariance=tuple(tuple(float(i == j) for j in range(6)) for i in range(6)),
        quality=0.9,
    )
    assert from_json(to_json(track)) == track
