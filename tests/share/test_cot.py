"""CoT export: schema-valid events, full precision, ce/le from covariance, type codes,
a round trip through hotzone's own CoT decoder, and the TCP / UDP senders."""

from __future__ import annotations

import asyncio
import math
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from lxml import etree

from hotzone.bus import InProcessBus
from hotzone.ingest.cot import CotDecoder
from hotzone.runtime.cot_sender import CotFeed, TcpCotSender, UdpCotSender
from hotzone.share.cot import (
    CotExportSettings,
    circular_error_m,
    linear_error_m,
    track_to_cot,
    tracks_to_cot,
)
from hotzone.types import (
    Assessment,
    GeoPoint,
    Report,
    StandardIdentity,
    TargetClass,
    Track,
    TrackStatus,
    to_json,
)
from hotzone.types.subjects import track_subject

SCHEMA_PATH = Path(__file__).parents[1] / "golden" / "cot" / "Event-PUBLIC.xsd"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def make_track(
    *,
    lat: float = 54.123456789012345,
    lon: float = 23.000000000000004,
    height: float = 312.25,
    velocity: tuple[float, float, float] = (30.0, -20.0, 0.0),
    covariance: list[list[float]] | None = None,
    callsign: str | None = None,
    track_id: str = "suwalki-17",
) -> Track:
    matrix = covariance if covariance is not None else np.diag([25.0] * 3 + [4.0] * 3).tolist()
    return Track(
        track_id=track_id,
        track_number=17,
        time=NOW - timedelta(seconds=1),
        status=TrackStatus.CONFIRMED,
        position=GeoPoint(lat_deg=lat, lon_deg=lon, height_m=height),
        sector="suwalki",
        enu_position_m=(0.0, 0.0, height),
        enu_velocity_mps=velocity,
        covariance=tuple(tuple(float(v) for v in row) for row in matrix),
        quality=0.9,
        sensors=("radar-1", "eo-2"),
        callsign=callsign,
    )


def assess(target_class: TargetClass, identity: StandardIdentity) -> Assessment:
    return Assessment(
        track_id="suwalki-17",
        time=NOW,
        class_probabilities={str(target_class): 0.9},
        target_class=target_class,
        standard_identity=identity,
        threat_score=0.8,
    )


def attributes(document: bytes) -> tuple[dict[str, str], dict[str, str]]:
    root = etree.fromstring(document)
    point = root.find("point")
    assert point is not None
    return dict(root.attrib), dict(point.attrib)


# ---------------------------------------------------------------------------- the schema


@st.composite
def tracks(draw: st.DrawFn) -> tuple[Track, Assessment | None]:
    three_d = draw(st.booleans())
    size = 6 if three_d else 4
    factor = np.array(
        draw(st.lists(st.floats(-1e3, 1e3), min_size=size * size, max_size=size * size))
    ).reshape(size, size)
    covariance = (factor @ factor.T).tolist()  # symmetric positive semi-definite
    track = make_track(
        lat=draw(st.floats(-90, 90)),
        lon=draw(st.floats(-180, 180)),
        height=draw(st.floats(-500, 1e6)),
        velocity=tuple(draw(st.lists(st.floats(-3e3, 3e3), min_size=3, max_size=3))),  # type: ignore[arg-type]
        covariance=covariance,
        callsign=draw(st.none() | st.text(max_size=12)),
        track_id=draw(st.text(min_size=1, max_size=20)),
    )
    assessment = draw(
        st.none()
        | st.builds(assess, st.sampled_from(TargetClass), st.sampled_from(StandardIdentity))
    )
    return track, assessment


@seed(4607)
@settings(max_examples=150, deadline=None)
@given(tracks())
def test_every_event_validates_against_the_cot_schema(
    schema: etree.XMLSchema, case: tuple[Track, Assessment | None]
) -> None:
    track, assessment = case
    document = track_to_cot(track, assessment, now=NOW)
    root = etree.fromstring(document)
    assert schema.validate(root), schema.error_log
    _, point = attributes(document)
    # Full precision: the decimal text reads back to the very same float.
    assert float(point["lat"]) == track.position.lat_deg
    assert float(point["lon"]) == track.position.lon_deg
    assert float(point["hae"]) == track.position.height_m


def test_many_tracks_at_once_all_validate(schema: etree.XMLSchema) -> None:
    batch = [make_track(track_id=f"t{i}", lat=50 + i / 7, lon=20 + i / 9) for i in range(40)]
    documents = tracks_to_cot(
        batch, {"t3": assess(TargetClass.SMALL_UAV, StandardIdentity.HOSTILE)}
    )
    assert len(documents) == 40
    assert all(schema.validate(etree.fromstring(d)) for d in documents)
    assert attributes(documents[3])[0]["type"] == "a-h-A-M-F-Q"


def test_the_schema_check_can_fail(schema: etree.XMLSchema) -> None:
    document = track_to_cot(make_track(), now=NOW).replace(b'lat="54', b'lat="1e2')
    assert not schema.validate(etree.fromstring(document))  # xs:decimal has no exponent


# ------------------------------------------------------------------------------- content


def test_event_header_times_and_identity() -> None:
    settings_ = CotExportSettings(stale_after_s=12.5)
    document = track_to_cot(
        make_track(),
        assess(TargetClass.SMALL_UAV, StandardIdentity.HOSTILE),
        now=NOW,
        settings=settings_,
    )
    event, _ = attributes(document)
    assert event["uid"] == "hotzone.suwalki-17"
    assert event["how"] == "m-f"
    assert event["type"] == "a-h-A-M-F-Q"
    assert event["version"] == "2.0"
    assert event["time"] == event["start"] == "2026-11-27T12:00:00.000000Z"
    assert event["stale"] == "2026-11-27T12:00:12.500000Z"
    root = etree.fromstring(document)
    assert root.find("detail/contact").get("callsign") == "HZ-17"
    remarks = root.find("detail/remarks").text
    assert "class=small_uav" in remarks and "identity=hostile" in remarks
    # A deleted track's last event is stale at once: TAK drops it, it does not linger.
    ended = track_to_cot(
        msgspec.structs.replace(make_track(), status=TrackStatus.DELETED),
        now=NOW,
        settings=settings_,
    )
    ended_event, _ = attributes(ended)
    assert ended_event["stale"] == ended_event["time"] == "2026-11-27T12:00:00.000000Z"


def test_unassessed_tracks_are_unknown_with_dimension_from_kinematics() -> None:
    def cot_type(**kwargs: object) -> str:
        return attributes(track_to_cot(make_track(**kwargs), now=NOW))[0]["type"]  # type: ignore[arg-type]

    assert cot_type(velocity=(200.0, 10.0, 0.0), height=300.0) == "a-u-A"  # fast
    assert cot_type(velocity=(5.0, 0.0, 0.0), height=8000.0) == "a-u-A"  # high
    assert cot_type(velocity=(3.0, 0.0, -15.0), height=200.0) == "a-u-A"  # diving
    assert cot_type(velocity=(8.0, 3.0, 0.0), height=150.0) == "a-u-Z"  # slow and low: unknown


def test_course_and_speed_in_the_track_detail() -> None:
    root = etree.fromstring(track_to_cot(make_track(velocity=(-10.0, 0.0, 0.0)), now=NOW))
    track = root.find("detail/track")
    assert float(track.get("course")) == pytest.approx(270.0)  # moving west
    assert float(track.get("speed")) == pytest.approx(10.0)


def test_ce_is_the_worst_axis_sigma_and_le_the_vertical_sigma() -> None:
    angle = math.radians(30)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    horizontal = rotation @ np.diag([400.0, 9.0]) @ rotation.T  # sigmas 20 m and 3 m
    covariance = np.eye(6)
    covariance[:2, :2] = horizontal
    covariance[2, 2] = 49.0
    track = make_track(covariance=covariance.tolist())
    assert circular_error_m(track) == pytest.approx(20.0)
    assert linear_error_m(track) == pytest.approx(7.0)
    _, point = attributes(track_to_cot(track, now=NOW))
    assert float(point["ce"]) == pytest.approx(20.0)
    assert float(point["le"]) == pytest.approx(7.0)


def test_two_dimensional_or_broken_covariance_is_unknown_error() -> None:
    flat = make_track(covariance=np.diag([16.0, 16.0, 1.0, 1.0]).tolist())
    _, point = attributes(track_to_cot(flat, now=NOW))
    assert float(point["ce"]) == pytest.approx(4.0)
    assert point["le"] == "9999999.0"  # no up axis in a 2-D state
    broken = make_track(covariance=[[math.nan] * 6] * 6)
    _, point = attributes(track_to_cot(broken, now=NOW))
    assert point["ce"] == point["le"] == "9999999.0"


def test_text_that_xml_cannot_carry_is_replaced() -> None:
    document = track_to_cot(make_track(callsign='LOT\x01281 <&>"ł'), now=NOW)
    callsign = etree.fromstring(document).find("detail/contact").get("callsign")
    assert callsign == 'LOT\ufffd281 <&>"ł'


def test_round_trip_through_hotzones_cot_decoder() -> None:
    track = make_track(velocity=(12.0, 5.0, 0.0))
    document = track_to_cot(
        track, assess(TargetClass.GROUND_VEHICLE, StandardIdentity.SUSPECT), now=NOW
    )
    result = CotDecoder().feed(document, NOW)
    assert result.rejected == []
    [report] = result.messages
    assert isinstance(report, Report)
    assert report.uid == "hotzone.suwalki-17"
    assert report.claimed_identity == StandardIdentity.SUSPECT
    assert report.class_hint == TargetClass.GROUND_VEHICLE
    assert report.position == track.position  # bit for bit
    assert report.horizontal_sigma_m == pytest.approx(5.0)
    assert report.vertical_sigma_m == pytest.approx(5.0)
    assert report.velocity_enu_mps == pytest.approx((12.0, 5.0, 0.0))


# ------------------------------------------------------------------------------- senders


def test_cot_feed_streams_bus_tracks_to_a_tak_server_over_tcp() -> None:
    async def scenario() -> tuple[bytes, TcpCotSender]:
        received = bytearray()
        arrived = asyncio.Event()

        async def tak_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while chunk := await reader.read(65536):
                received.extend(chunk)
                if received.count(b"</event>") >= 3:
                    arrived.set()
            writer.close()

        server = await asyncio.start_server(tak_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        bus = InProcessBus()
        sender = TcpCotSender("127.0.0.1", port)
        feed = CotFeed(bus, "PL", sender)
        task = asyncio.create_task(feed.run())
        await asyncio.sleep(0.05)
        await bus.publish(
            "hz.PL.assessment", to_json(assess(TargetClass.HELICOPTER, StandardIdentity.HOSTILE))
        )
        await bus.publish(track_subject("PL", "suwalki"), to_json(make_track()))
        await bus.publish(track_subject("PL", "suwalki"), to_json(make_track(track_id="other")))
        ended = msgspec.structs.replace(make_track(), status=TrackStatus.DELETED)
        await bus.publish(track_subject("PL", "suwalki"), to_json(ended))
        await asyncio.wait_for(arrived.wait(), 5)
        task.cancel()
        await sender.close()
        server.close()
        await bus.close()
        assert "suwalki-17" not in feed.assessments  # its last event sent: forgotten
        return bytes(received), sender

    received, sender = asyncio.run(scenario())
    last = etree.fromstring(received[received.rindex(b"<event") :])
    assert last.get("uid") == "hotzone.suwalki-17"
    assert last.get("stale") == last.get("time")  # deleted: TAK drops it at once
    result = CotDecoder().feed(received[: received.rindex(b"<event")], NOW)
    assert result.rejected == []
    assessed, plain = result.messages
    assert isinstance(assessed, Report) and isinstance(plain, Report)
    assert assessed.uid == "hotzone.suwalki-17"
    assert assessed.claimed_identity == StandardIdentity.HOSTILE
    assert assessed.class_hint == TargetClass.HELICOPTER
    assert plain.uid == "hotzone.other"
    assert plain.claimed_identity == StandardIdentity.UNKNOWN
    assert sender.counters.events_sent == 3


def test_tcp_sender_counts_drops_when_the_server_is_down() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed

    async def scenario() -> TcpCotSender:
        sender = TcpCotSender("127.0.0.1", port, connect_timeout_s=1.0)
        await sender.send([track_to_cot(make_track(), now=NOW)] * 3)
        return sender

    sender = asyncio.run(scenario())
    assert sender.counters.events_dropped == 3
    assert sender.counters.events_sent == 0


def test_udp_sender_sends_one_event_per_datagram() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        port = receiver.getsockname()[1]
        events = [track_to_cot(make_track(track_id=f"t{i}"), now=NOW) for i in range(3)]

        async def scenario() -> UdpCotSender:
            sender = UdpCotSender("127.0.0.1", port)
            await sender.send(events)
            await sender.close()
            return sender

        sender = asyncio.run(scenario())
        datagrams = [receiver.recv(65536) for _ in range(3)]
    assert datagrams == events
    assert sender.counters.events_sent == 3
