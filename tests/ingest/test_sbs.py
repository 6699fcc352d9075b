"""SBS-1 BaseStation decoder: a real capture, pyModeS cross-checks, state, refusals, fuzz."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyModeS import decode as modes_decode

from hotzone.cli import main
from hotzone.ingest.sbs import UNKNOWN_POSITION_SIGMA_M, SbsDecoder
from hotzone.types import Report, from_json

GOLDEN = Path(__file__).parents[1] / "golden" / "adsb" / "sbs1_msgs.txt"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _decode(text: str, decoder: SbsDecoder | None = None) -> tuple[list[Report], list[str]]:
    decoder = decoder or SbsDecoder()
    result = decoder.feed(text.encode(), NOW)
    result.extend(decoder.flush(NOW))
    reports = [m for m in result.messages if isinstance(m, Report)]
    return reports, [item.reason for item in result.rejected]


def _positioned(reports: list[Report]) -> list[Report]:
    return [r for r in reports if r.horizontal_sigma_m < UNKNOWN_POSITION_SIGMA_M]


def test_real_capture_gives_one_report_per_airborne_position_line() -> None:
    lines = GOLDEN.read_text().splitlines()
    positions = [
        line.split(",")
        for line in lines
        if line.startswith("MSG,3,") and line.split(",")[14] and line.split(",")[15]
    ]
    reports, rejected = _decode(GOLDEN.read_text())
    assert rejected == []
    reports = _positioned(reports)
    assert len(reports) == len(positions) > 50
    for report, fields in zip(reports, positions, strict=True):
        assert report.icao24 == fields[4].lower()
        assert report.position.lat_deg == float(fields[14])
        assert report.position.lon_deg == float(fields[15])
        assert report.position.height_m == pytest.approx(float(fields[11]) * 0.3048)


def test_real_capture_velocity_lines_of_placed_aircraft_are_velocity_only_reports() -> None:
    placed: set[str] = set()
    expected = []
    for line in GOLDEN.read_text().splitlines():
        fields = line.split(",")
        if fields[:2] == ["MSG", "3"] and fields[14] and fields[15]:
            placed.add(fields[4].lower())
        elif fields[:2] == ["MSG", "4"] and fields[12] and fields[4].lower() in placed:
            expected.append((fields[4].lower(), float(fields[12])))
    reports, _ = _decode(GOLDEN.read_text())
    velocity_only = [r for r in reports if r.horizontal_sigma_m >= UNKNOWN_POSITION_SIGMA_M]
    assert len(velocity_only) == len(expected) > 20
    for report, (icao24, speed_kt) in zip(velocity_only, expected, strict=True):
        assert report.icao24 == icao24
        east, north, _ = report.velocity_enu_mps or (0.0, 0.0, 0.0)
        assert math.hypot(east, north) == pytest.approx(speed_kt * 1852 / 3600)
        assert report.vertical_sigma_m is None


def test_real_capture_identity_enriches_later_positions() -> None:
    lines = GOLDEN.read_text().splitlines()
    # Callsigns announced by MSG,1 lines, and positions of those aircraft heard afterwards.
    announced: dict[str, str] = {}
    expected: list[tuple[str, str]] = []
    for line in lines:
        fields = line.split(",")
        if fields[:2] == ["MSG", "1"]:
            announced[fields[4].lower()] = fields[10].strip()
        elif fields[:2] == ["MSG", "3"] and fields[14] and fields[4].lower() in announced:
            expected.append((fields[4].lower(), announced[fields[4].lower()]))
    reports, _ = _decode(GOLDEN.read_text())
    got = {(r.icao24, r.callsign) for r in reports if r.callsign is not None}
    assert expected and set(expected) <= got


def test_positions_cross_checked_with_pymodes() -> None:
    # A real even/odd airborne position pair (pyModeS README); pyModeS resolves the CPR.
    even, odd = "8D40058B58C901375147EFD09357", "8D40058B58C904A87F402D3B8C59"
    reference = modes_decode([even, odd], timestamps=[1.0, 2.0])[1]
    line = (
        f"MSG,3,1,1,{reference['icao']},1,2026/11/27,12:00:02.000,2026/11/27,12:00:02.010,,"
        f"{reference['altitude']},,,{reference['latitude']:.5f},{reference['longitude']:.5f},"
        ",,0,0,0,0\n"
    )
    (report,), rejected = _decode(line)
    assert rejected == []
    assert report.icao24 == "40058b"
    assert report.position.lat_deg == pytest.approx(reference["latitude"], abs=1e-5)
    assert report.position.lon_deg == pytest.approx(reference["longitude"], abs=1e-5)
    assert report.position.height_m == pytest.approx(39000 * 0.3048)
    assert report.time == datetime(2026, 11, 27, 12, 0, 2, tzinfo=UTC)


def test_identity_and_velocity_from_pymodes_enrich_a_position() -> None:
    identity = modes_decode("8D406B902015A678D4D220AA4BDA")
    velocity = modes_decode("8D485020994409940838175B284F")
    text = (
        f"MSG,1,,,{identity['icao']},,2026/11/27,12:00:00.000,,,{identity['callsign']},,,,,,,,,,,\n"
        f"MSG,4,,,{velocity['icao']},,2026/11/27,12:00:00.500,,,,,{velocity['groundspeed']},"
        f"{velocity['track']:.1f},,,{velocity['vertical_rate']},,,,,\n"
        f"MSG,3,,,{identity['icao']},,2026/11/27,12:00:01.000,,,,35000,,,52.1,4.3,,,0,0,0,0\n"
        f"MSG,3,,,{velocity['icao']},,2026/11/27,12:00:01.000,,,,12000,,,52.2,4.4,,,0,0,0,0\n"
    )
    (named, moving), rejected = _decode(text)
    assert rejected == []
    assert named.callsign == "EZY85MH" and named.velocity_enu_mps is None
    assert moving.callsign is None
    east, north, up = moving.velocity_enu_mps or (0.0, 0.0, 0.0)
    assert math.hypot(east, north) == pytest.approx(velocity["groundspeed"] * 1852 / 3600)
    assert math.degrees(math.atan2(east, north)) % 360 == pytest.approx(velocity["track"], abs=0.1)
    assert up == pytest.approx(velocity["vertical_rate"] * 0.3048 / 60)


def test_squawk_and_status_lines_update_state_and_rm_forgets() -> None:
    decoder = SbsDecoder()
    text = (
        "SEL,,496,2286,4CA4E5,27215,2010/02/19,18:06:07.710,2010/02/19,18:06:07.710,RYR1427\n"
        "MSG,6,,,4CA4E5,,2010/02/19,18:06:08.000,,,,33325,,,,,,7700,0,1,0,0\n"
        "MSG,3,,,4CA4E5,,2010/02/19,18:06:09.000,,,,,,,51.45735,-1.02826,,,0,0,0,0\n"
        "STA,,5,179,4CA4E5,10103,2010/02/19,18:06:10.000,2010/02/19,18:06:10.000,RM\n"
        "MSG,3,,,4CA4E5,,2010/02/19,18:06:11.000,,,,37000,,,51.45,-1.02,,,0,0,0,0\n"
    )
    (first, second), rejected = _decode(text, decoder)
    assert rejected == []
    assert (first.callsign, first.squawk) == ("RYR1427", "7700")
    # The altitude came from the surveillance reply one second earlier.
    assert first.position.height_m == pytest.approx(33325 * 0.3048)
    assert (second.callsign, second.squawk) == (None, None)


def test_stale_velocity_and_altitude_are_not_carried_over() -> None:
    start = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    later = start + timedelta(seconds=30)
    stamp = "{:%Y/%m/%d,%H:%M:%S}.000"
    text = (
        f"MSG,4,,,4CA767,,{stamp.format(start)},,,,,288.6,103.2,,,-832,,,,,\n"
        f"MSG,5,,,4CA767,,{stamp.format(start)},,,,10000,,,,,,,0,,0,0\n"
        f"MSG,3,,,4CA767,,{stamp.format(later)},,,,,,,51.4,-1.0,,,0,0,0,0\n"
    )
    (report,), _ = _decode(text)
    assert report.velocity_enu_mps is None
    assert report.vertical_sigma_m is None and report.position.height_m == 0.0


def test_missing_times_fall_back_to_reception_time() -> None:
    (report,), _ = _decode("MSG,3,,,4B1908,,,,,,,2525,,,33.96693,-118.25598,,,0,0,0,0\n")
    assert report.time == NOW == report.received_at


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("MSG,3,,,XYZ123,,,,,,,2525,,,33.9,-118.2,,,0,0,0,0", "hex ident"),
        ("MSG,9,,,4B1908,,,,,,,2525,,,33.9,-118.2,,,0,0,0,0", "transmission type"),
        ("MSG,3,,,4B1908,,,,,,,2525,,,93.9,-118.2,,,0,0,0,0", "latitude"),
        ("MSG,6,,,4B1908,,,,,,,2525,,,,,,7800,0,0,0,0", "squawk"),
        ("MSG,3,,,4B1908,,2026/13/40,10:00:00,,,,2525,,,33.9,-118.2,,,0,0,0,0", "date/time"),
        ("MSG,4,,,4B1908,,,,,,,,fast,90,,,0,,,,,", "ground speed"),
        ("HELLO,1,2,3", "message type"),
        ("MSG,3,,,4B1908,,,,,,,2525,,,33.9,-118.2,,,0,0,0,\xe9", "ASCII"),
    ],
)
def test_bad_lines_are_refused_with_a_reason_naming_the_field(line: str, reason: str) -> None:
    decoder = SbsDecoder()
    result = decoder.feed(line.encode("latin-1") + b"\n", NOW)
    assert result.messages == []
    assert len(result.rejected) == 1
    assert reason in result.rejected[0].reason
    assert sum(decoder.counters.rejected.values()) == 1


def test_decode_command_reads_the_real_capture(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    capture = tmp_path / "capture.sbs"
    capture.write_bytes(GOLDEN.read_bytes() + b"MSG,3,,,NOTHEX\n")
    assert main(["decode", "sbs", str(capture), "--source-id", "sbs-la"]) == 0
    captured = capsysbinary.readouterr()
    messages = [from_json(line) for line in captured.out.splitlines()]
    assert messages and all(isinstance(m, Report) and m.source_id == "sbs-la" for m in messages)
    assert b"rejected 1 frames" in captured.err
