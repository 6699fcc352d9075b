"""AIS decoder: pyais's real test sentences, reassembly, checksums, tag blocks, fuzz."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyais
import pytest

from hotzone.cli import main
from hotzone.ingest.ais import AisDecoder, nmea_checksum
from hotzone.types import Report, TargetClass, from_json

GOLDEN = Path(__file__).parents[1] / "golden" / "ais" / "pyais_test_sentences.nmea"
POSITION_TYPES = (1, 2, 3, 4, 9, 11, 18, 19, 27)
NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
TYPE_5 = (
    b"!AIVDM,2,1,4,A,55O0W7`00001L@gCWGA2uItLth@DqtL5@F22220j1h742t0Ht0000000,0*08",
    b"!AIVDM,2,2,4,A,000000000000000,2*20",
)


def _groups() -> list[list[bytes]]:
    """The golden file's messages: single sentences and complete fragment groups."""
    groups: list[list[bytes]] = []
    for line in GOLDEN.read_bytes().splitlines():
        sentence = line[line.index(b"!") :]
        fragment = int(sentence.split(b",")[2])
        if fragment == 1:
            groups.append([line])
        else:
            groups[-1].append(line)
    return groups


def _sentences(group: list[bytes]) -> list[bytes]:
    return [line[line.index(b"!") :] for line in group]


def test_golden_sentences_decode_as_pyais_decodes_them() -> None:
    decoder = AisDecoder()
    compared = 0
    for group in _groups():
        result = decoder.feed(b"\n".join(group) + b"\n", NOW)
        assert result.rejected == [], group
        reference = pyais.decode(*_sentences(group))
        if reference.msg_type in (5, 19, 24):
            static = decoder.vessel(int(reference.mmsi))
            assert static is not None
            name = getattr(reference, "shipname", None)
            if name and name.strip(" @"):
                assert static.ship_name == name.replace("@", " ").strip()
        position_known = (
            reference.msg_type in POSITION_TYPES
            and abs(reference.lat) <= 90
            and abs(reference.lon) <= 180
        )
        if not position_known:
            assert result.messages == []
            continue
        (report,) = result.messages
        assert isinstance(report, Report)
        assert report.mmsi == int(reference.mmsi)
        assert report.position.lat_deg == pytest.approx(reference.lat)
        assert report.position.lon_deg == pytest.approx(reference.lon)
        sigma = 10.0 if reference.accuracy else 100.0
        if reference.msg_type == 27:  # 1/10 minute rounding on top
            assert report.horizontal_sigma_m == pytest.approx(math.hypot(sigma, 185.2 / 12**0.5))
        else:
            assert report.horizontal_sigma_m == sigma
        if reference.msg_type == 9:
            assert report.class_hint is None
            assert report.position.height_m == reference.alt
        elif reference.msg_type in (4, 11):  # a station's position, no speed
            assert report.class_hint is (None if reference.msg_type == 4 else TargetClass.VESSEL)
            assert report.velocity_enu_mps == ((0.0, 0.0, 0.0) if reference.msg_type == 4 else None)
            compared += 1
            continue
        else:
            assert report.class_hint is TargetClass.VESSEL
        if report.velocity_enu_mps is not None:
            east, north, _ = report.velocity_enu_mps
            assert math.hypot(east, north) == pytest.approx(reference.speed * 1852 / 3600)
            if reference.speed > 0:
                course = math.degrees(math.atan2(east, north)) % 360
                assert course == pytest.approx(reference.course, abs=1e-6)
        else:
            limit = {9: 1023, 27: 63}.get(reference.msg_type, 102.3)
            assert reference.speed >= limit or reference.course >= 360
        compared += 1
    decoder.flush(NOW)
    assert compared > 40


def test_every_position_bearing_message_becomes_a_report() -> None:
    """Types 1-3, 4, 9, 11, 18, 19 and 27: as many reports, of as many vessels, aircraft
    and stations, as pyais finds valid positions in them (hotzone's checksum and
    fragment checks refuse nothing of the golden file)."""
    decoder = AisDecoder()
    reports: list[Report] = []
    positions: list[tuple[int, int]] = []
    for group in _groups():
        reports += [m for m in decoder.feed(b"\n".join(group) + b"\n", NOW).messages]  # type: ignore[misc]
        reference = pyais.decode(*_sentences(group))
        lat, lon = getattr(reference, "lat", None), getattr(reference, "lon", None)
        if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
            positions.append((int(reference.msg_type), int(reference.mmsi)))
    decoder.flush(NOW)
    expected = [(kind, mmsi) for kind, mmsi in positions if kind in POSITION_TYPES]
    types = sorted({kind for kind, _ in expected})
    print(
        f"\npyais: {len(positions)} valid positions of {len({m for _, m in positions})} MMSIs "
        f"(all types); types {types}: {len(expected)} of {len({m for _, m in expected})}; "
        f"hotzone: {len(reports)} reports of {len({r.mmsi for r in reports})}"
    )
    assert [r.mmsi for r in reports] == [mmsi for _, mmsi in expected]
    assert {4, 9, 27} <= set(types)


def test_static_data_enriches_later_position_reports() -> None:
    reference = pyais.decode(*TYPE_5)
    mmsi = int(reference.mmsi)
    position = pyais.encode_dict(
        {"msg_type": 1, "mmsi": mmsi, "lat": 54.5, "lon": 18.6, "speed": 10.0, "course": 90.0}
    )[0].encode()
    decoder = AisDecoder()
    result = decoder.feed(b"\n".join([*TYPE_5, position]) + b"\n", NOW)
    (report,) = result.messages
    assert isinstance(report, Report)
    assert report.callsign == reference.shipname.strip()
    assert report.uid == reference.callsign.strip()
    east, north, _ = report.velocity_enu_mps or (0.0, 0.0, 0.0)
    assert east == pytest.approx(10.0 * 1852 / 3600) and north == pytest.approx(0.0, abs=1e-9)


def test_fragments_interleaved_on_two_channels_are_reassembled_separately() -> None:
    other_channel = [s.replace(b",A,", b",B,") for s in TYPE_5]
    other_channel = [
        s[: s.index(b"*") + 1] + f"{nmea_checksum(s[1 : s.index(b'*')]):02X}".encode()
        for s in other_channel
    ]
    decoder = AisDecoder()
    stream = [TYPE_5[0], other_channel[0], TYPE_5[1], other_channel[1]]
    result = decoder.feed(b"\n".join(stream) + b"\n", NOW)
    result.extend(decoder.flush(NOW))
    assert result.rejected == []
    assert decoder.vessel(int(pyais.decode(*TYPE_5).mmsi)) is not None


def test_incomplete_group_times_out_into_a_dead_letter() -> None:
    decoder = AisDecoder(group_timeout_s=5.0)
    assert decoder.feed(TYPE_5[0] + b"\n", NOW).rejected == []
    later = decoder.feed(b"", NOW + timedelta(seconds=6))
    (dropped,) = later.rejected
    assert dropped.raw == TYPE_5[0]
    assert "incomplete multi-sentence group" in dropped.reason
    assert sum(decoder.counters.rejected.values()) == 1


def test_group_left_open_at_end_of_stream_is_refused() -> None:
    decoder = AisDecoder()
    decoder.feed(TYPE_5[1] + b"\n", NOW)
    (dropped,) = decoder.flush(NOW).rejected
    assert "stream ended" in dropped.reason and "fragments [2] of 2" in dropped.reason


def test_bad_checksum_is_refused() -> None:
    line = b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5D"
    result = AisDecoder().feed(line + b"\n", NOW)
    (refused,) = result.rejected
    assert "checksum" in refused.reason and "5C" in refused.reason


def test_tag_block_and_leading_timestamps_set_the_time() -> None:
    sentence = b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"  # time stamp second 59
    content = b"s:station,c:1700000000"
    tagged = b"\\" + content + b"*" + f"{nmea_checksum(content):02X}".encode() + b"\\" + sentence
    reference = datetime.fromtimestamp(1700000000, UTC)
    expected = reference.replace(second=59) - timedelta(minutes=1)
    for line in (tagged, b"1700000000.0 " + sentence, b"2023-11-14T22:13:20Z," + sentence):
        (report,) = AisDecoder().feed(line + b"\n", NOW).messages
        assert report.time == expected, line  # type: ignore[union-attr]
    wrong = tagged.replace(b"*", b"x*", 1)  # the tag block's checksum no longer matches
    (report,) = AisDecoder().feed(wrong + b"\n", NOW).messages
    assert report.time == NOW.replace(second=59)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47", "not an AIS"),
        (b"hello world", "no sentence"),
        (b"yesterday !AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C", "timestamp"),
        (b"\\c:1700000000*53!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C", "tag block"),
        (b"!AIVDM,1,1,,B,,0*25", "payload"),
    ],
)
def test_bad_lines_are_refused_with_reasons(line: bytes, reason: str) -> None:
    decoder = AisDecoder()
    result = decoder.feed(line + b"\n", NOW)
    assert result.messages == []
    (refused,) = result.rejected
    assert reason in refused.reason


def test_decode_command_reads_the_golden_sentences(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    assert main(["decode", "ais", str(GOLDEN)]) == 0
    captured = capsysbinary.readouterr()
    reports = [from_json(line) for line in captured.out.splitlines()]
    assert len(reports) > 40 and all(isinstance(r, Report) for r in reports)
    assert b"rejected 0 frames" in captured.err
