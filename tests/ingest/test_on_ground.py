"""The feed's own ground flag becomes `Report.on_ground` (issue 15, item 4): SBS "is on
ground" and surface positions, readsb's ``"ground"``, CAT021's ground bit; None where the
feed says nothing. Real captures where there are some (docs/assess.md, "The feed's ground
flag")."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from hotzone.ingest.asterix import AsterixDecoder
from hotzone.ingest.readsb import ReadsbDecoder
from hotzone.ingest.sbs import SbsDecoder
from hotzone.types import Report, from_json, to_json
from tests.assess.real_adsb import KLM1302_TOUCHDOWN_S, klm1302_sbs_lines
from tests.ingest.asterix.cat021_encoder import Cat021Values, encode_cat021
from tests.ingest.asterix.reference import reference_records, value

GOLDEN = Path(__file__).parents[1] / "golden"
RECEIVED = datetime(2030, 1, 1, tzinfo=UTC)


def _sbs_reports(lines: list[str]) -> list[Report]:
    decoder = SbsDecoder()
    result = decoder.feed(("\n".join(lines) + "\n").encode(), RECEIVED)
    result.extend(decoder.flush(RECEIVED))
    assert not result.rejected
    return [m for m in result.messages if isinstance(m, Report)]


def test_real_sbs_positions_say_airborne_where_the_line_says_so() -> None:
    # node-sbs1's Los Angeles capture: every MSG,3 carries "is on ground" 0.
    lines = (GOLDEN / "adsb" / "sbs1_msgs.txt").read_text().splitlines()
    flags = Counter(line.split(",")[21] for line in lines if line.startswith("MSG,3,"))
    reports = _sbs_reports(lines)
    positions = [r for r in reports if r.horizontal_sigma_m < 1000.0]
    assert flags == {"0": len(positions)} and len(positions) > 50
    assert all(report.on_ground is False for report in positions)


def test_real_surface_positions_are_on_the_ground_and_airborne_ones_are_not() -> None:
    # KLM1302's arrival at Amsterdam (rs1090's Beast capture) as a BaseStation feed writes
    # it: MSG,3 airborne positions with flag 0, MSG,2 surface positions with flag -1.
    lines = klm1302_sbs_lines(KLM1302_TOUCHDOWN_S - 300.0, KLM1302_TOUCHDOWN_S + 600.0)
    reports = _sbs_reports(lines)
    surface = [r for r in reports if r.time.timestamp() >= KLM1302_TOUCHDOWN_S]
    airborne = [
        r
        for r in reports
        if r.time.timestamp() < KLM1302_TOUCHDOWN_S and r.horizontal_sigma_m < 1000.0
    ]
    assert len(surface) > 30 and len(airborne) > 20
    assert all(report.on_ground is True for report in surface)
    assert all(report.on_ground is False for report in airborne)
    # A surface position without the flag still says ground; nothing heard: None.
    empty_flag = [line.rsplit(",", 1)[0] + "," for line in lines if line.startswith("MSG,2,")]
    assert all(report.on_ground is True for report in _sbs_reports(empty_flag[:5]))
    unflagged = [line.rsplit(",", 1)[0] + "," for line in lines if line.startswith("MSG,3,")]
    assert all(report.on_ground is None for report in _sbs_reports(unflagged[:5]))


def test_a_flag_older_than_the_state_age_is_not_carried() -> None:
    stamp = "2023/10/24,11:00:00.000"
    later = "2023/10/24,11:00:30.000"
    lines = [
        f"MSG,5,1,1,486257,1,{stamp},{stamp},,350,,,,,,,0,,0,-1",
        f"MSG,3,1,1,486257,1,{stamp},{stamp},,350,,,52.3,4.7,,,0,0,0,",
        f"MSG,3,1,1,486257,1,{later},{later},,350,,,52.3,4.7,,,0,0,0,",
    ]
    first, second = _sbs_reports(lines)
    assert first.on_ground is True and second.on_ground is None


def test_real_readsb_ground_points_are_on_the_ground() -> None:
    # pyreadsb's trace of a 737 MAX 8 (readsb's own output): each point as the aircraft.json
    # entry readsb would have served at that moment, one document per line.
    trace = json.loads((GOLDEN / "readsb_trace" / "trace_full_ac134a.json").read_text())
    documents = []
    for point in trace["trace"]:
        offset, lat, lon, altitude, speed, track = point[:6]
        entry = {"hex": trace["icao"], "type": point[9], "lat": lat, "lon": lon, "seen_pos": 0.0}
        entry |= {"alt_baro": altitude} if altitude is not None else {}
        entry |= {"gs": speed, "track": track} if speed is not None and track is not None else {}
        documents.append({"now": trace["timestamp"] + offset, "aircraft": [entry]})
    decoder = ReadsbDecoder()
    stream = "".join(json.dumps(document) + "\n" for document in documents).encode()
    result = decoder.feed(stream, RECEIVED)
    result.extend(decoder.flush(RECEIVED))
    assert not result.rejected
    reports = [m for m in result.messages if isinstance(m, Report)]
    ground = sum(1 for point in trace["trace"] if point[3] == "ground")
    assert len(reports) == len(trace["trace"]) and ground > 20
    assert Counter(report.on_ground for report in reports) == {
        True: ground,
        None: len(reports) - ground,
    }


def test_cat021_ground_bit_is_read_where_the_descriptor_has_it() -> None:
    answers = {}
    for name, descriptor in {
        "ground": b"\x01\x40",
        "airborne": b"\x01\x00",
        "no extension": b"\x00",
    }.items():
        block = encode_cat021(Cat021Values(target_report_descriptor=descriptor))
        (report,) = AsterixDecoder().feed(block, RECEIVED).messages
        assert isinstance(report, Report)
        answers[name] = report.on_ground
        if len(descriptor) > 1:
            (reference,) = reference_records(block)
            assert value(reference, "I040", "GBS") == int(descriptor[1] == 0x40)
    assert answers == {"ground": True, "airborne": False, "no extension": None}


def test_the_flag_travels_in_json_and_is_null_by_default() -> None:
    (report,) = _sbs_reports(
        ["MSG,2,1,1,486257,1,2023/10/24,11:00:00.000,2023/10/24,11:00:00.000,,,12,90,52.3,4.7"]
    )
    assert from_json(to_json(report)) == report and b'"on_ground":true' in to_json(report)
    unsaid = from_json(to_json(report).replace(b',"on_ground":true', b""))
    assert isinstance(unsaid, Report) and unsaid.on_ground is None
