"""CoT ingest: real TAK samples, blue force and observations, stream framing, hostile XML."""

from __future__ import annotations

import asyncio
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotzone.bus import InProcessBus
from hotzone.cli import main
from hotzone.ingest.base import DecodeResult
from hotzone.ingest.cot import (
    DEFAULT_UNKNOWN_CE_SIGMA_M,
    CotDecoder,
    CotDecoderSettings,
    parse_cot_time,
)
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.runtime.sources import SourcePublisher, serve_tcp
from hotzone.runtime.udp_receiver import UdpReceiver
from hotzone.types import (
    DeadLetter,
    Event,
    EventKind,
    Report,
    ReportSource,
    StandardIdentity,
    TargetClass,
    from_json,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "cot"
WINTAK = (GOLDEN / "takproto_wintak_eliopoli.xml").read_bytes()
EUD = (GOLDEN / "pytak_eud_status.xml").read_bytes()
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

HOSTILE_OBSERVATION = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<event version="2.0" uid="obs-7" type="a-h-G-E-V" how="h-e"
 time="2026-11-27T11:59:58.5Z" start="2026-11-27T11:59:58.5Z" stale="2026-11-27T12:09:58Z">
 <point lat="54.2951234567891" lon="22.9001" hae="180.5" ce="35" le="12.5"/>
 <detail><contact callsign="OP-NORTH"/><track course="90" speed="10"/>
 <remarks>two trucks moving east</remarks></detail>
</event>"""

SENSOR_POINT = b"""<event version="2.0" uid="spi-1" type="b-m-p-s-p-i" how="h-g-i-g-o"
 time="2026-11-27T11:00:00Z" start="2026-11-27T11:00:00Z" stale="2026-11-27T12:00:00Z">
 <point lat="54.1" lon="23.0" hae="9999999.0" ce="9999999.0" le="9999999.0"/>
 <detail><remarks>smoke seen</remarks></detail></event>"""


def decode_all(decoder: CotDecoder, *chunks: bytes) -> DecodeResult:
    result = DecodeResult()
    for chunk in chunks:
        result.extend(decoder.feed(chunk, NOW))
    result.extend(decoder.flush(NOW))
    return result


def only_report(result: DecodeResult) -> Report:
    assert result.rejected == [], result.rejected
    [message] = result.messages
    assert isinstance(message, Report)
    return message


# ------------------------------------------------------------------------- golden samples


@pytest.mark.parametrize("sample", [WINTAK, EUD], ids=["wintak", "eud"])
def test_real_tak_blue_force_reports(sample: bytes) -> None:
    report = only_report(decode_all(CotDecoder(), sample))
    # Values as written in the sample files (tests/golden/cot).
    assert report.source == ReportSource.BLUE_FORCE
    assert report.claimed_identity == StandardIdentity.FRIEND
    assert report.uid is not None and report.uid.startswith("aa0b0312")
    assert report.callsign == "Eliopoli HQ"
    assert report.position.lat_deg == 43.97957317
    assert report.position.lon_deg == -66.07737696
    assert report.position.height_m == 26.767999
    assert report.time == datetime(2020, 2, 8, 18, 10, 44, tzinfo=UTC)
    # ce/le 9999999 = unknown: the configured assumption, no vertical sigma.
    assert report.horizontal_sigma_m == DEFAULT_UNKNOWN_CE_SIGMA_M
    assert report.vertical_sigma_m is None
    assert report.class_hint == TargetClass.GROUND_VEHICLE  # a-f-G-E-V-C
    assert report.received_at == NOW


def test_wintak_track_element_gives_a_velocity() -> None:
    report = only_report(decode_all(CotDecoder(), WINTAK))
    assert report.velocity_enu_mps == (0.0, 0.0, 0.0)  # speed 0 in the sample
    assert only_report(decode_all(CotDecoder(), EUD)).velocity_enu_mps is None  # no <track>


def test_a_stream_split_anywhere_decodes_the_same() -> None:
    stream = WINTAK + HOSTILE_OBSERVATION + b"\r\n" + EUD + SENSOR_POINT
    whole = decode_all(CotDecoder(), stream)
    assert [type(m).__name__ for m in whole.messages] == ["Report", "Report", "Report", "Event"]
    assert whole.rejected == []
    for cut in range(1, len(stream), 3):
        split = decode_all(CotDecoder(), stream[:cut], stream[cut:])
        assert split.messages == whole.messages, f"cut at byte {cut}"
        assert split.rejected == []


def test_byte_by_byte_stream() -> None:
    stream = HOSTILE_OBSERVATION + WINTAK
    result = decode_all(CotDecoder(), *(stream[i : i + 1] for i in range(len(stream))))
    assert [m.uid for m in result.messages] == ["obs-7", "aa0b0312-b5cd-4c2c-bbbc-9c4c70216261"]  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ mapping


def test_human_entered_hostile_observation() -> None:
    decoder = CotDecoder(CotDecoderSettings(source_id="tak-north", sector="suwalki"))
    report = only_report(decode_all(decoder, HOSTILE_OBSERVATION))
    assert report.source == ReportSource.COT
    assert report.claimed_identity == StandardIdentity.HOSTILE
    assert report.class_hint == TargetClass.GROUND_VEHICLE
    assert report.uid == "obs-7"
    assert report.callsign == "OP-NORTH"
    assert report.source_id == "tak-north"
    assert report.sector == "suwalki"
    assert report.position.lat_deg == 54.2951234567891  # no rounding
    assert report.position.height_m == 180.5
    assert report.horizontal_sigma_m == 35.0
    assert report.vertical_sigma_m == 12.5
    assert report.time == datetime(2026, 11, 27, 11, 59, 58, 500000, tzinfo=UTC)
    east, north, up = report.velocity_enu_mps or (0.0, 0.0, 0.0)
    assert east == pytest.approx(10.0)  # course 90 = due east
    assert north == pytest.approx(0.0, abs=1e-9)
    assert up == 0.0


@pytest.mark.parametrize(
    ("letter", "identity", "source"),
    [
        ("f", StandardIdentity.FRIEND, ReportSource.BLUE_FORCE),
        ("a", StandardIdentity.ASSUMED_FRIEND, ReportSource.COT),
        ("n", StandardIdentity.NEUTRAL, ReportSource.COT),
        ("u", StandardIdentity.UNKNOWN, ReportSource.COT),
        ("p", StandardIdentity.PENDING, ReportSource.COT),
        ("s", StandardIdentity.SUSPECT, ReportSource.COT),
        ("h", StandardIdentity.HOSTILE, ReportSource.COT),
        ("k", StandardIdentity.HOSTILE, ReportSource.COT),  # faker (exercise)
        ("j", StandardIdentity.SUSPECT, ReportSource.COT),  # joker (exercise)
    ],
)
def test_affiliation_letters(letter: str, identity: StandardIdentity, source: ReportSource) -> None:
    document = HOSTILE_OBSERVATION.replace(b'type="a-h-G-E-V"', f'type="a-{letter}-A"'.encode())
    report = only_report(decode_all(CotDecoder(), document))
    assert report.claimed_identity == identity
    assert report.source == source
    assert report.class_hint is None  # plain air: no class implied


def test_bits_and_tasking_become_observation_events() -> None:
    ping = (
        b'<event version="2.0" type="t-x-d-d" uid="takPong" how="m-g" '
        b'time="2026-11-27T11:00:00Z" start="2026-11-27T11:00:00Z" stale="2026-11-27T12:00:00Z"/>'
    )
    result = decode_all(CotDecoder(), SENSOR_POINT, ping)
    assert result.rejected == []
    spot, pong = result.messages
    assert isinstance(spot, Event) and isinstance(pong, Event)
    assert spot.kind == EventKind.OBSERVATION
    assert spot.subject_id == "spi-1"
    assert spot.attributes["cot_type"] == "b-m-p-s-p-i"
    assert spot.attributes["remarks"] == "smoke seen"
    assert spot.attributes["stale"] == "2026-11-27T12:00:00Z"
    assert "smoke seen" in spot.summary
    assert spot.position is not None and spot.position.lat_deg == 54.1
    assert pong.position is None  # a ping carries no point


def test_times_with_offsets_and_long_fractions() -> None:
    assert parse_cot_time("2026-11-27T13:00:00.123456789+01:00", "t") == datetime(
        2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_cot_time("2026-11-27T12:00:00", "t") == datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_registered_and_configurable_through_options() -> None:
    factory = decoder_factories()["cot"]
    decoder = factory(DecoderOptions(source_id="tak-1", framing="datagram"))
    assert isinstance(decoder, CotDecoder)
    assert decoder.settings.source_id == "tak-1"
    assert decoder.settings.datagrams
    streamed = factory(DecoderOptions())
    assert isinstance(streamed, CotDecoder) and not streamed.settings.datagrams


def test_hotzone_decode_cot_prints_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "capture.cot"
    capture.write_bytes(WINTAK + b"<event>broken" + b"\n")
    main(["decode", "cot", str(capture)])
    out, err = capsys.readouterr()
    [line] = out.strip().splitlines()
    report = from_json(line.encode())
    assert isinstance(report, Report)
    assert report.callsign == "Eliopoli HQ"
    assert "truncated" in err


# -------------------------------------------------------------------------- hostile input

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<event version="2.0" uid="&lol9;" type="a-h-G" how="h-e" time="2026-11-27T12:00:00Z"
 start="2026-11-27T12:00:00Z" stale="2026-11-27T12:05:00Z">
 <point lat="54" lon="23" hae="0" ce="10" le="10"/></event>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE event [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<event version="2.0" uid="x" type="a-h-G" how="h-e" time="2026-11-27T12:00:00Z"
 start="2026-11-27T12:00:00Z" stale="2026-11-27T12:05:00Z">
 <point lat="54" lon="23" hae="0" ce="10" le="10"/><detail><remarks>&secret;</remarks></detail>
</event>"""

PLAIN_DTD = b"""<!DOCTYPE event SYSTEM "http://example.invalid/cot.dtd">
<event version="2.0" uid="x" type="a-h-G" how="h-e" time="2026-11-27T12:00:00Z"
 start="2026-11-27T12:00:00Z" stale="2026-11-27T12:05:00Z">
 <point lat="54" lon="23" hae="0" ce="10" le="10"/></event>"""


def point_event(point: bytes, cot_type: bytes = b"a-h-G", extra: bytes = b"") -> bytes:
    return (
        b'<event version="2.0" uid="e" type="' + cot_type + b'" how="h-e" '
        b'time="2026-11-27T12:00:00Z" start="2026-11-27T12:00:00Z" '
        b'stale="2026-11-27T12:05:00Z">' + point + extra + b"</event>"
    )


VALID = point_event(b'<point lat="54" lon="23"/>')


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (BILLION_LAUGHS, "unsafe XML refused: DTDForbidden"),
        (EXTERNAL_ENTITY, "unsafe XML refused: DTDForbidden"),
        (PLAIN_DTD, "unsafe XML refused: DTDForbidden"),
        (b"\x00\x01\x02 binary junk \xff\xfe", "not XML: text outside an event"),
        (b"<event version='2.0' uid='x'><point lat=1 lon=2/></event>", "not well-formed XML"),
        (b"<track uid='x'/>", "root element is not <event>"),
        (point_event(b'<point lat="54" lon="23"/>', b"u-d-f"), "type not mapped"),
        (point_event(b""), "missing <point>"),
        (point_event(b'<point lat="91" lon="23"/>'), "point@lat: out of range"),
        (point_event(b'<point lat="54" lon="nan"/>'), "point@lon: not finite"),
        (point_event(b'<point lat="54" lon="23" ce="-3"/>'), "point@ce: negative error"),
        (point_event(b'<point lat="54" lon="x"/>'), "point@lon: not a number"),
        (VALID.replace(b"12:00:00Z\" start", b"noon\" start"), "event@time: not a time"),
        (VALID.replace(b'uid="e" ', b""), "event@uid: missing"),
        (VALID.replace(b"12:05:00Z", b"11:05:00Z"), "stale before time"),
        (b'<?xml version="1.0" encoding="klingon"?><event/>', "encoding"),
    ],
    ids=[
        "billion-laughs", "external-entity", "dtd", "binary", "malformed", "wrong-root",
        "unmapped-type", "no-point", "lat-range", "nan", "negative-ce", "lon-text", "bad-time",
        "no-uid", "stale-before-time", "unknown-encoding",
    ],
)  # fmt: skip
def test_bad_documents_become_dead_letters_with_reasons(document: bytes, reason: str) -> None:
    good = HOSTILE_OBSERVATION
    decoder = CotDecoder()
    result = decode_all(decoder, good + document + good)
    assert [m.uid for m in result.messages] == ["obs-7", "obs-7"]  # type: ignore[union-attr]
    assert len(result.rejected) >= 1
    assert any(reason in item.reason for item in result.rejected), result.rejected
    assert all(item.raw for item in result.rejected)
    assert sum(decoder.counters.rejected.values()) == len(result.rejected)
    assert decoder.counters.messages == 2


def test_oversize_events_are_refused_before_parsing_and_the_stream_recovers() -> None:
    decoder = CotDecoder(CotDecoderSettings(max_event_bytes=4096))
    huge_remarks = b"<detail><remarks>" + b"A" * 20000 + b"</remarks></detail>"
    oversize = point_event(b'<point lat="54" lon="23"/>', extra=huge_remarks)
    chunks = [HOSTILE_OBSERVATION, *(oversize[i : i + 1000] for i in range(0, len(oversize), 1000))]
    result = decode_all(decoder, *chunks, SENSOR_POINT)
    assert [type(m).__name__ for m in result.messages] == ["Report", "Event"]
    [refused] = result.rejected
    assert refused.reason == "oversize: event larger than 4096 bytes"
    assert len(refused.raw) <= 4096  # the dead letter keeps a bounded sample


def test_truncated_event_is_refused_and_the_next_one_survives() -> None:
    cut = HOSTILE_OBSERVATION[: len(HOSTILE_OBSERVATION) // 2]
    result = decode_all(CotDecoder(), cut, HOSTILE_OBSERVATION)
    assert [m.uid for m in result.messages] == ["obs-7"]  # type: ignore[union-attr]
    [refused] = result.rejected
    assert refused.reason.startswith("truncated")
    end = decode_all(CotDecoder(), cut)
    assert [item.reason for item in end.rejected] == ["truncated: the stream ended inside an event"]


def test_datagram_framing_keeps_each_datagram_apart() -> None:
    decoder = CotDecoder(CotDecoderSettings(datagrams=True))
    truncated = decoder.feed(SENSOR_POINT[:-9], NOW)
    whole = decoder.feed(SENSOR_POINT, NOW)
    empty = decoder.feed(b"", NOW)
    assert truncated.messages == [] and truncated.rejected[0].reason.startswith("truncated")
    assert len(whole.messages) == 1 and whole.rejected == []
    assert empty.rejected[0].reason == "empty datagram"
    small = CotDecoder(CotDecoderSettings(datagrams=True, max_event_bytes=100))
    assert small.feed(SENSOR_POINT, NOW).rejected[0].reason.startswith("oversize")


# --------------------------------------------------------------------------- live sources


def _import_pytak():  # type: ignore[no-untyped-def]
    # pytak warns at import about optional extras (TLS enrolment, websockets) that plain
    # TCP does not use; pytest would turn those warnings into errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pytak
    return pytak


def test_pytak_client_sends_cot_to_hotzones_tcp_listener() -> None:
    pytak = _import_pytak()
    from configparser import ConfigParser

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        reports = await bus.subscribe("hz.PL.det.>")
        dead = await bus.subscribe("hz.PL.dead.cot")
        server = await serve_tcp("127.0.0.1", 0, CotDecoder, publisher)
        port = server.sockets[0].getsockname()[1]
        config = ConfigParser()
        config["hz"] = {"COT_URL": f"tcp://127.0.0.1:{port}", "TAK_PROTO": "0"}
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        worker = await pytak.txworker_factory(queue, config["hz"])
        events = [
            pytak.gen_cot(lat=54.31, lon=22.95, ce=12, hae=210, le=20, uid="BLUE-1",
                          cot_type="a-f-G-U-C", callsign="Viking 1", stale=300),
            pytak.gen_cot(lat=54.3, lon=23.05, ce=150, hae=400, le=9999999.0, uid="OBS-1",
                          cot_type="a-h-A-M-F-Q", stale=300),
            b"<event>not cot</event>",
        ]  # fmt: skip
        for event in events:
            await queue.put(event)
            await worker.run_once()
        received = []
        for _ in range(2):
            message = await reports.next(timeout_s=5.0)
            assert message is not None, "pytak's events did not reach the bus"
            received.append(message.payload)
        letter = await dead.next(timeout_s=5.0)
        assert letter is not None
        worker.writer.close()
        await worker.writer.wait_closed()
        server.close()
        await server.wait_closed()
        await bus.close()
        return received, [letter.payload]

    received, dead = asyncio.run(scenario())
    blue, hostile = (from_json(payload) for payload in received)
    assert isinstance(blue, Report) and isinstance(hostile, Report)
    assert (blue.uid, blue.callsign, blue.source) == ("BLUE-1", "Viking 1", ReportSource.BLUE_FORCE)
    assert (blue.position.lat_deg, blue.position.lon_deg) == pytest.approx((54.31, 22.95))
    assert blue.position.height_m == 210.0
    assert blue.horizontal_sigma_m == 12.0
    assert blue.vertical_sigma_m == 20.0
    assert hostile.uid == "OBS-1"
    assert hostile.claimed_identity == StandardIdentity.HOSTILE
    assert hostile.class_hint == TargetClass.SMALL_UAV
    assert (hostile.position.lat_deg, hostile.position.lon_deg) == pytest.approx((54.3, 23.05))
    letter = from_json(dead[0])
    assert isinstance(letter, DeadLetter)
    assert "missing" in letter.reason


def test_udp_datagrams_reach_the_bus() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> list[bytes]:
        bus = InProcessBus()
        publisher = SourcePublisher(bus, "PL")
        subscription = await bus.subscribe("hz.PL.>")
        decoder = CotDecoder(CotDecoderSettings(datagrams=True))
        payloads = []
        # As `hotzone ingest cot --udp` receives: the receiver's thread, its times, pump_timed.
        async with UdpReceiver("127.0.0.1", port) as receiver:
            pump = asyncio.create_task(publisher.pump_timed(decoder, receiver.timed_datagrams()))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for datagram in (HOSTILE_OBSERVATION[:100], HOSTILE_OBSERVATION):
                    sender.sendto(datagram, ("127.0.0.1", port))
            for _ in range(2):
                message = await subscription.next(timeout_s=5.0)
                assert message is not None
                payloads.append(message.payload)
            pump.cancel()
        await bus.close()
        return payloads

    first, second = (from_json(payload) for payload in asyncio.run(scenario()))
    assert isinstance(first, DeadLetter) and first.reason.startswith("truncated")
    assert isinstance(second, Report) and second.uid == "obs-7"
