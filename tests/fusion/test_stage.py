"""The runtime's tracking stage and the CLI: messages in, Track messages and dead letters out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from hotzone.cli import main
from hotzone.fusion.stage import TrackingStage
from hotzone.geo import LocalFrame, enu_to_polar
from hotzone.types import (
    Detection,
    GeoPoint,
    MeasurementKind,
    Report,
    ReportSource,
    StandardIdentity,
    TargetClass,
    TrackStatus,
    TruthState,
    read_jsonl,
    write_jsonl,
)

FRAME = LocalFrame(54.1, 23.2, 150.0)
RADAR_SITE = GeoPoint(lat_deg=54.0, lon_deg=23.0, height_m=200.0)
START = datetime(2025, 3, 14, 2, 0, tzinfo=UTC)


def _airliner(seconds: float) -> np.ndarray:
    return np.array([-30_000.0 + 220.0 * seconds, 10_000.0, 10_500.0])


def _messages(seconds: int, rng: np.random.Generator) -> list[object]:
    radar_frame = LocalFrame(RADAR_SITE.lat_deg, RADAR_SITE.lon_deg, RADAR_SITE.height_m)
    messages: list[object] = []
    for second in range(seconds):
        time = START + timedelta(seconds=second)
        truth = _airliner(second)
        lat, lon, height = FRAME.enu_to_geodetic(truth)
        report_lat, report_lon, report_height = FRAME.enu_to_geodetic(_airliner(second - 0.4))
        offset = radar_frame.geodetic_to_enu(lat, lon, height)
        rng_m, az, el = enu_to_polar(offset)
        values = (
            float(rng_m) + 30 * rng.standard_normal(),
            float(az) + 0.2 * rng.standard_normal(),
            float(el) + 0.2 * rng.standard_normal(),
        )
        messages.append(
            Detection(
                detection_id=f"r{second}",
                time=time,
                sensor_id="radar-1",
                kind=MeasurementKind.POLAR,
                values=values,
                covariance=((900.0, 0, 0), (0, 0.04, 0), (0, 0, 0.04)),
                sensor_position=RADAR_SITE,
            )
        )
        messages.append(
            Report(
                report_id=f"a{second}",
                time=time - timedelta(seconds=0.4),
                source_id="adsb-1",
                source=ReportSource.ADSB,
                position=GeoPoint(
                    lat_deg=float(report_lat),
                    lon_deg=float(report_lon),
                    height_m=float(report_height),
                ),
                horizontal_sigma_m=30.0,
                icao24="48ae01",
                callsign="LOT123",
            )
        )
    messages.append(
        Detection(
            detection_id="broken",
            time=START + timedelta(seconds=seconds - 1),
            sensor_id="radar-1",
            kind=MeasurementKind.POLAR,
            values=(float("nan"), 10.0, 1.0),
            covariance=((900.0, 0, 0), (0, 0.04, 0), (0, 0, 0.04)),
            sensor_position=RADAR_SITE,
        )
    )
    return messages


def test_radar_plots_and_adsb_reports_become_one_identified_track() -> None:
    stage = TrackingStage(frame=FRAME, sector="suwalki")
    messages = _messages(12, np.random.default_rng(2))
    tracks = []
    for second in range(12):
        window = [
            m for m in messages if abs(m.time.timestamp() - (START.timestamp() + second)) < 0.6
        ]  # type: ignore[attr-defined]
        tracks = stage.step(START + timedelta(seconds=second), window)
    confirmed = [t for t in tracks if t.status == TrackStatus.CONFIRMED]
    assert len(confirmed) == 1
    track = confirmed[0]
    assert (track.icao24, track.callsign) == ("48ae01", "LOT123")
    assert set(track.sensors) == {"radar-1", "adsb-1"}
    expected = _airliner(11)
    assert np.linalg.norm(np.array(track.enu_position_m) - expected) < 150.0
    assert track.mode_probabilities is not None
    assert abs(sum(track.mode_probabilities.values()) - 1.0) < 1e-6
    letters = stage.take_dead_letters()
    assert len(letters) == 1
    assert "non-finite" in letters[0].reason
    assert b"broken" in letters[0].raw


def test_track_and_eval_commands_round_trip(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    messages = _messages(15, np.random.default_rng(3))
    detections = tmp_path / "detections.jsonl"
    with open(detections, "wb") as stream:
        write_jsonl(messages, stream)  # type: ignore[arg-type]
    truth_path = tmp_path / "truth.jsonl"
    truth = []
    for second in range(15):
        lat, lon, height = FRAME.enu_to_geodetic(_airliner(second))
        truth.append(
            TruthState(
                time=START + timedelta(seconds=second),
                target_id="lot123",
                target_class=TargetClass.AIRLINER,
                affiliation=StandardIdentity.NEUTRAL,
                position=GeoPoint(lat_deg=float(lat), lon_deg=float(lon), height_m=float(height)),
                enu_position_m=tuple(float(v) for v in _airliner(second)),  # type: ignore[arg-type]
                enu_velocity_mps=(220.0, 0.0, 0.0),
            )
        )
    with open(truth_path, "wb") as stream:
        write_jsonl(truth, stream)
    tracks_path = tmp_path / "tracks.jsonl"
    letters_path = tmp_path / "dead.jsonl"
    arguments = ["track", str(detections), "--out", str(tracks_path), "--origin", "54.1,23.2,150"]
    assert main([*arguments, "--dead-letters", str(letters_path)]) == 0
    # The NaN value was written as null: that line is a dead letter, the rest is tracked.
    letters = list(read_jsonl(letters_path))
    assert len(letters) == 1 and "detections.jsonl:31" in letters[0].source  # type: ignore[union-attr]
    written = list(read_jsonl(tracks_path))
    assert written and all(t.status == TrackStatus.CONFIRMED for t in written)  # type: ignore[union-attr]
    metrics_path = tmp_path / "metrics.json"
    assert (
        main(
            [
                "eval",
                "--truth",
                str(truth_path),
                "--tracks",
                str(tracks_path),
                "--json",
                str(metrics_path),
            ]
        )
        == 0
    )
    metrics = json.loads(metrics_path.read_text())
    assert metrics["time_to_first_track_s"]["lot123"] is not None
    assert metrics["per_class"]["airliner"]["tracked"] == 1
    assert "OSPA" in capsys.readouterr().out


def test_track_command_reports_bad_input_in_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "detection", "nonsense": 1}\n')
    assert main(["track", str(bad), "--out", str(tmp_path / "t.jsonl")]) == 2
    assert "bad.jsonl" in capsys.readouterr().err
    assert main(["track", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "t.jsonl")]) == 2


def test_a_feed_faster_than_the_window_keeps_one_track_per_object() -> None:
    """System tracks at 2 Hz into 2-s windows: four reports of one aircraft per window from
    one source are four successive scans, not four measurements of one scan (which would
    leave three unassigned and start duplicate tracks)."""

    def report(index: int) -> Report:
        seconds = index * 0.5
        lat, lon, height = FRAME.enu_to_geodetic(_airliner(seconds))
        return Report(
            report_id=f"a{index}",
            time=START + timedelta(seconds=seconds),
            source_id="adsb-1",
            source=ReportSource.ADSB,
            position=GeoPoint(lat_deg=float(lat), lon_deg=float(lon), height_m=float(height)),
            # Accurate reports: the aircraft moves ~11 sigmas between two of them. The
            # source's own track id, no ICAO address: association is by kinematics alone.
            horizontal_sigma_m=10.0,
            uid="sdps/track/7",
        )

    stage = TrackingStage(frame=FRAME)
    numbers = set()
    for window in range(15):
        end = START + timedelta(seconds=2.0 * (window + 1))
        batch = [report(index) for index in range(4 * window, 4 * window + 4)]
        numbers |= {t.track_number for t in stage.step(end, batch) if t.status == "confirmed"}
    assert len(numbers) == 1
