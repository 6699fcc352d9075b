"""readsb aircraft.json decoder: the sample document, streams, quality, refusals, fuzz."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.ingest.readsb import ReadsbDecoder
from hotzone.types import Report, from_json

SAMPLE = Path(__file__).parents[1] / "golden" / "adsb" / "readsb_aircraft.json"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _decode_file(decoder: ReadsbDecoder | None = None) -> tuple[dict[str, Report], list[str]]:
    decoder = decoder or ReadsbDecoder()
    result = decoder.feed(SAMPLE.read_bytes(), NOW)
    assert result.messages == []  # a pretty-printed document waits for the end
    result.extend(decoder.flush(NOW))
    reports = {m.icao24 or "": m for m in result.messages if isinstance(m, Report)}
    return reports, [item.reason for item in result.rejected]


def test_sample_document_maps_fields_and_quality() -> None:
    document = json.loads(SAMPLE.read_text())
    entries = {entry["hex"]: entry for entry in document["aircraft"]}
    reports, rejected = _decode_file()
    assert rejected == []
    # No position (a8430d) and a 75 s old one (76cce2) give no report.
    assert set(reports) == {"a1ea32", "aa779d", "a82aac", "4b1908", "~2c4d01"}
    now = datetime.fromtimestamp(document["now"], UTC)
    for icao24, report in reports.items():
        entry = entries[icao24]
        assert report.time == now - timedelta(seconds=entry["seen_pos"])
        assert (report.position.lat_deg, report.position.lon_deg) == (entry["lat"], entry["lon"])
        assert report.nic == entry.get("nic") and report.sil == entry.get("sil")
        assert report.nacp == entry.get("nac_p") and report.nucp == entry.get("nuc_p")
        east, north, _ = report.velocity_enu_mps or (0.0, 0.0, 0.0)
        assert math.hypot(east, north) == pytest.approx(entry["gs"] * 1852 / 3600)
    ual = reports["a1ea32"]
    assert ual.callsign == "UAL878" and ual.squawk == "2021"
    # Geometric altitude wins over barometric; NACp 9 (EPU 30 m) -> 30 / 2.4477 per axis.
    assert ual.position.height_m == pytest.approx(3700 * 0.3048)
    assert ual.horizontal_sigma_m == pytest.approx(30.0 / 2.4477)
    assert ual.velocity_enu_mps is not None
    assert ual.velocity_enu_mps[2] == pytest.approx(-384 * 0.3048 / 60)
    assert reports["aa779d"].position.height_m == pytest.approx(39000 * 0.3048)
    assert reports["aa779d"].vertical_sigma_m == 100.0  # pressure altitude
    assert reports["4b1908"].vertical_sigma_m is None  # "ground": height unknown
    # MLAT without NACp is coarser than ADS-B with it.
    assert reports["a82aac"].horizontal_sigma_m > reports["aa779d"].horizontal_sigma_m


def test_stream_of_one_document_per_line_repeats_no_position() -> None:
    document = json.loads(SAMPLE.read_text())
    line = json.dumps(document).encode() + b"\n"
    later = dict(document, now=document["now"] + 1.0)
    for entry in later["aircraft"]:
        if entry["hex"] == "a1ea32":
            entry["seen_pos"] += 1.0  # no new position for this one
        elif "seen_pos" in entry:
            entry["seen_pos"] = 0.1
    decoder = ReadsbDecoder()
    first = decoder.feed(line, NOW)
    second = decoder.feed(json.dumps(later).encode() + b"\n", NOW)
    assert len(first.messages) == 5
    heard_again = {m.icao24 for m in second.messages if isinstance(m, Report)}
    assert "a1ea32" not in heard_again and "aa779d" in heard_again
    assert decoder.counters.frames == 2


def test_a_bad_entry_is_refused_alone() -> None:
    document = {
        "now": 1700000000.0,
        "aircraft": [
            {"hex": "abc123", "lat": 91.5, "lon": 10.0, "seen_pos": 1.0},
            {"hex": "zzz", "lat": 50.0, "lon": 10.0},
            {"hex": "abc124", "lat": 50.0, "lon": 10.0, "squawk": "8888"},
            {"hex": "abc125", "lat": "north", "lon": 10.0},
            {"hex": "abc126", "lat": 50.0, "lon": 10.0, "seen_pos": 1.0},
        ],
    }
    decoder = ReadsbDecoder()
    result = decoder.feed(json.dumps(document).encode() + b"\n", NOW)
    assert [m.icao24 for m in result.messages if isinstance(m, Report)] == ["abc126"]
    reasons = [item.reason for item in result.rejected]
    assert len(reasons) == 4
    assert "lat" in reasons[0] and "hex" in reasons[1] and "squawk" in reasons[2]
    assert "lat" in reasons[3]
    assert json.loads(result.rejected[1].raw)["hex"] == "zzz"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"aircraft": []}\n', "now"),
        (b'{"now": "soon", "aircraft": []}\n', "now"),
        (b"[1, 2, 3]", "not a readsb"),
        (b'{"now": 1e30, "aircraft": []}', "now"),
    ],
)
def test_bad_documents_are_refused(data: bytes, reason: str) -> None:
    decoder = ReadsbDecoder()
    result = decoder.feed(data, NOW)
    result.extend(decoder.flush(NOW))
    (refused,) = result.rejected
    assert reason in refused.reason


def test_decode_command_reads_the_sample(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["decode", "readsb", str(SAMPLE)]) == 0
    captured = capsysbinary.readouterr()
    reports = [from_json(line) for line in captured.out.splitlines()]
    assert len(reports) == 5 and all(isinstance(r, Report) for r in reports)
