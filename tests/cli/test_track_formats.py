"""``hotzone track --from FORMAT --to FORMAT``: a real capture in, a standard out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotzone.cli import main
from hotzone.ingest.asterix import AsterixDecoder
from hotzone.ingest.cot import CotDecoder
from hotzone.ingest.sbs import SbsDecoder
from hotzone.types import Report, Track, read_jsonl

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _sbs_line(report: Report) -> str:
    """An SBS-1 BaseStation MSG,3 (airborne position) line, as port 30003 sends it."""
    stamp = report.time
    date, clock = stamp.strftime("%Y/%m/%d"), stamp.strftime("%H:%M:%S.%f")[:-3]
    feet = report.position.height_m / 0.3048
    return (
        f"MSG,3,1,1,{report.icao24.upper() if report.icao24 else ''},1,{date},{clock},"
        f"{date},{clock},,{feet:.0f},,,{report.position.lat_deg:.5f},"
        f"{report.position.lon_deg:.5f},,,0,0,0,0"
    )


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two minutes of the Suwałki airliners' ADS-B, as a receiver's SBS feed would carry it."""
    from hotzone.sim.scenario import load_scenario
    from hotzone.sim.simulator import simulate

    scenario = load_scenario("suwalki-drones")
    reports = [
        m for m in simulate(scenario, seed=2, duration_s=120) if isinstance(m, Report) and m.icao24
    ]
    path = tmp_path_factory.mktemp("sbs") / "feed.sbs"
    path.write_text("\n".join(_sbs_line(r) for r in reports) + "\n")
    return path


def _icao_in_capture(capture: Path) -> set[str]:
    result = SbsDecoder().feed(capture.read_bytes(), NOW)
    return {m.icao24 for m in result.messages if isinstance(m, Report) and m.icao24}


def test_an_sbs_feed_becomes_tracks_with_the_aircraft_identities(
    capture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tracks.jsonl"
    assert main(["track", str(capture), "--from", "sbs", "--out", str(out)]) == 0
    tracks = [m for m in read_jsonl(out) if isinstance(m, Track)]
    assert tracks
    tracked = {t.icao24 for t in tracks if t.icao24}
    assert tracked and tracked <= _icao_in_capture(capture)


def test_tracks_out_as_asterix062_and_cot_decode_back(capture: Path, tmp_path: Path) -> None:
    jsonl, cat062, cot = tmp_path / "t.jsonl", tmp_path / "t.ast", tmp_path / "t.cot"
    for out, to in ((jsonl, "jsonl"), (cat062, "asterix062"), (cot, "cot")):
        assert main(["track", str(capture), "--from", "sbs", "--to", to, "--out", str(out)]) == 0
    tracks = [m for m in read_jsonl(jsonl) if isinstance(m, Track)]
    system_tracks = AsterixDecoder().feed(cat062.read_bytes(), NOW)
    assert not system_tracks.rejected
    assert len(system_tracks.messages) == len(tracks)
    assert {m.icao24 for m in system_tracks.messages if isinstance(m, Report)} == {
        t.icao24 for t in tracks
    }
    events = CotDecoder().feed(cot.read_bytes(), NOW)
    events.extend(CotDecoder().flush(NOW))
    assert not events.rejected
    assert len(events.messages) == len(tracks)


def test_unknown_input_format_is_one_clear_line(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["track", str(capture), "--from", "morse", "--out", str(tmp_path / "x")])
    assert code == 2
    assert "unknown format 'morse'" in capsys.readouterr().err
