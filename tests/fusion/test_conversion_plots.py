"""``hotzone track --from asterix`` on a CAT048 capture goes column-wise (issue 17): batch
decoder, `MessageConverter.convert_plots`, CAT062 from the tracker's arrays. Everything it
writes must be what the message path (one Detection per plot, `convert`, one Track per
track, `encode_tracks`) writes on the same capture: the tracks (JSONL and CAT062 bytes),
the dead letters and the summary; and `convert_plots` must give `convert`'s scans."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import numpy as np
import pytest
import yaml

import hotzone.commands.track as track_command
from hotzone.cli import main
from hotzone.fusion.conversion import (
    MessageConverter,
    PolarPlots,
    RotationClock,
    _plot_identities,
    detection_identity,
)
from hotzone.geo import LocalFrame
from hotzone.ingest.asterix import AsterixDecoder, SiteTable
from hotzone.ingest.asterix.batch import decode_cat048, map_plots
from hotzone.ingest.asterix.datablock import split_blocks
from hotzone.ingest.asterix.mapping import MappingContext
from hotzone.ingest.pcap import PcapStreamReader, udp_payload
from hotzone.types import (
    DeadLetter,
    Detection,
    GeoPoint,
    MeasurementKind,
    Track,
    TrackStatus,
    from_json,
)
from hotzone.types.labels import LabelTable
from tests.fusion.test_conversion_vectorized import GOLDEN, SITES_YAML

RECEIVED = datetime(2025, 3, 14, 2, 30, tzinfo=UTC)
RECORDED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
"""When the captures below were recorded (``--recorded-at``): their times of day, 06:00 to
11:00, are placed on that day whenever the test runs."""


def _golden_cat048_stream() -> bytes:
    """The CAT048 blocks of the golden pcap, as one recorded stream."""
    packets = PcapStreamReader().feed((GOLDEN / "cat_034_048.pcap").read_bytes())
    return b"".join(
        block.raw
        for packet in packets
        for block in split_blocks(udp_payload(packet))
        if block.category == 48
    )


def _plot(time_s: float, rho: int, theta: int, level: float, sic: int = 201) -> bytes:
    record = bytes([0b11110100, 25, sic]) + round(time_s * 128).to_bytes(3, "big")
    record += bytes([0b00100000])
    return record + struct.pack(">HHH", rho, theta, round(level * 4) & 0x3FFF)


def _block(records: list[bytes]) -> bytes:
    body = b"".join(records)
    return bytes([48]) + struct.pack(">H", len(body) + 3) + body


#: The radar capture's targets not seen after its 25th rotation.
GONE_TARGETS = (1, 2, 3, 4)


def _radar_capture() -> bytes:
    """Two radars (one unknown to the sensors file), 30 targets on straight legs over 40
    rotations of 4 s (four of them gone after 25: their tracks end), a plot at range 0, a
    record beyond 24 h and a cut record."""
    # An hour before the capture's `RECORDED_AT` (its times of day carry no date).
    base = (RECORDED_AT.hour - 1) * 3600.0
    generator = np.random.default_rng(5)
    east = generator.uniform(-60_000, 60_000, 30)
    north = generator.uniform(-60_000, 60_000, 30)
    velocity = generator.uniform(-200, 200, (30, 2))
    plots: list[tuple[float, bytes]] = []
    for rotation in range(40):
        for target in range(30):
            if target in GONE_TARGETS and rotation >= 25:
                continue
            x = east[target] + velocity[target, 0] * rotation * 4.0
            y = north[target] + velocity[target, 1] * rotation * 4.0
            azimuth = np.degrees(np.arctan2(x, y)) % 360.0
            time_s = base + rotation * 4.0 + azimuth / 90.0
            rho = min(round(np.hypot(x, y) / 1852.0 * 256), 0xFFFF)
            theta = round(azimuth / 360.0 * 65536) % 65536
            sic = 201 if target % 7 else 13
            plots.append((time_s, _plot(time_s, rho, theta, 300.0 + target, sic)))
        plots.append((base + rotation * 4.0 + 1.5, _plot(base + 1.5 + rotation * 4.0, 0, 5, 10.0)))
        plots.append(
            (base + 2.0 + rotation * 4.0, _plot(base + 2.0 + rotation * 4.0, 900, 7, 10, 99))
        )
    plots.sort(key=lambda item: item[0])
    records = [record for _, record in plots]
    late = bytes([0b11110100, 25, 201]) + (86400 * 128 + 3).to_bytes(3, "big") + records[0][6:]
    blocks = [_block(records[k : k + 50]) for k in range(0, len(records), 50)]
    blocks.insert(3, _block([records[0], late, records[1]]))
    blocks.insert(5, _block([records[2], records[3][:9]]))  # the second record is cut
    return b"".join(blocks)


def _run(
    capture: Path, tmp_path: Path, to: str, *options: str, columns: bool
) -> tuple[bytes, list[DeadLetter], str]:
    name = f"{to}-{'columns' if columns else 'messages'}"
    out, letters = tmp_path / f"{name}.out", tmp_path / f"{name}.dead.jsonl"
    argv = ["track", str(capture), "--from", "asterix", "--to", to, "--out", str(out)]
    argv += ["--sensors", str(tmp_path / "sites.yaml"), "--dead-letters", str(letters), *options]
    argv += ["--recorded-at", RECORDED_AT.isoformat()]
    shipped = track_command._plot_capture
    if not columns:
        track_command._plot_capture = lambda args: None  # the message path
    try:
        assert main(argv) == 0
    finally:
        track_command._plot_capture = shipped
    dead = [from_json(line) for line in letters.read_bytes().splitlines()]
    return out.read_bytes(), dead, name  # type: ignore[return-value]


def _comparable(letter: DeadLetter) -> tuple[str, str, bytes, str]:
    # A decoder refusal is stamped with the moment the file was read.
    source = letter.source
    return (source, letter.reason, letter.raw, letter.releasability)


@pytest.mark.parametrize("to", ["asterix062", "jsonl"])
@pytest.mark.parametrize("capture_name", ["golden", "radar"])
def test_the_column_path_writes_what_the_message_path_writes(
    to: str, capture_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sites.yaml").write_text(SITES_YAML)
    data = _golden_cat048_stream() if capture_name == "golden" else _radar_capture()
    batch = decode_cat048(data)
    assert batch is not None  # the column path takes it
    capture = tmp_path / "capture.ast"
    capture.write_bytes(data)
    options = ("--origin", "45.6,14.1") if capture_name == "golden" else ()
    expected, expected_dead, _ = _run(capture, tmp_path, to, *options, columns=False)
    expected_summary = capsys.readouterr().out
    written, dead, _ = _run(capture, tmp_path, to, *options, columns=True)
    assert capsys.readouterr().out == expected_summary
    assert len(expected) > 1000
    assert written == expected
    assert [_comparable(letter) for letter in dead] == [
        _comparable(letter) for letter in expected_dead
    ]
    if capture_name == "radar":
        # The tracks of the targets that went are ended: once more, as deleted (CAT062:
        # a last record with TSE), alike in both paths.
        if to == "jsonl":
            ended = [
                track
                for line in written.splitlines()
                if isinstance(track := from_json(line), Track)
                and track.status is TrackStatus.DELETED
            ]
            assert len(ended) == len({track.track_number for track in ended}) >= len(GONE_TARGETS)
        reasons = " ".join(letter.reason for letter in dead)
        assert "polar range must be positive" in reasons
        assert "does not list" in reasons and "beyond 24 h" in reasons
        assert "runs past the end of the block" in reasons


def test_tentative_tracks_and_mode_s_identities_go_through_the_columns_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sites.yaml").write_text(SITES_YAML)
    capture = tmp_path / "capture.ast"
    capture.write_bytes(_golden_cat048_stream())
    batch = decode_cat048(capture.read_bytes())
    assert batch is not None
    options = ("--origin", "45.6,14.1", "--all", "--window", "2")
    expected, _, _ = _run(capture, tmp_path, "asterix062", *options, columns=False)
    written, _, _ = _run(capture, tmp_path, "asterix062", *options, columns=True)
    assert written == expected
    decoded = AsterixDecoder().feed(written, RECEIVED).messages
    assert any(getattr(report, "icao24", None) for report in decoded)
    capsys.readouterr()


def _plots_and_detections(labelled: str) -> tuple[PolarPlots, list[object]]:
    """The golden plots as columns and as the Detections of the decoder, alike."""
    sites = SiteTable.from_mapping(yaml.safe_load(SITES_YAML))
    data = _golden_cat048_stream()
    batch = decode_cat048(data)
    assert batch is not None
    context = MappingContext(sites=sites, received_at=RECEIVED, releasability=labelled)
    columns, _ = map_plots(batch, sites, RECEIVED, context)
    decoder = AsterixDecoder(sites, releasability=labelled)
    detections = list(decoder.feed(data, RECEIVED).messages)
    # A plot at range 0 and one of an unplaced sensor (NaN site) are refused alike.
    values = columns.values.copy()
    values[3, 0] = 0.0
    detections[3] = msgspec.structs.replace(
        detections[3],
        values=(0.0, *detections[3].values[1:]),  # type: ignore[attr-defined]
    )
    plots = PolarPlots(
        times=columns.times_us / 1e6,
        site=columns.site,
        values=values,
        variances=columns.variances,
        ids=columns.detection_ids(),
        icao24=columns.icao24,
        callsign=columns.callsign,
        sites=columns.sites,
        releasability=labelled,
    )
    return plots, detections


@pytest.mark.parametrize("label", ["NATO", "NATIONAL PL"])
def test_convert_plots_gives_the_scans_and_refusals_of_convert(label: str) -> None:
    plots, detections = _plots_and_detections(label)
    frame = LocalFrame(45.6, 14.1, 0.0)
    expected_converter = MessageConverter(frame, labels=LabelTable(), ceiling="REL LT DE")
    converter = MessageConverter(frame, labels=LabelTable(), ceiling="REL LT DE")
    expected_scans, expected_rejected = expected_converter.convert(detections)
    scans, rejected = converter.convert_plots(plots)
    assert rejected == expected_rejected
    assert len(rejected) == (len(detections) if label == "NATIONAL PL" else 1)
    assert len(scans) == len(expected_scans)
    for scan, expected in zip(scans, expected_scans, strict=True):
        assert scan.sensor_id == expected.sensor_id
        assert scan.model == expected.model
        for field in ("values", "noise", "times", "sensor_position", "label_ids"):
            np.testing.assert_array_equal(getattr(scan, field), getattr(expected, field))
        for field in ("icao24", "callsign", "identity"):
            assert list(getattr(scan, field)) == list(getattr(expected, field))
        assert scan.measurement_ids == expected.measurement_ids
    periods = {key: clock.period_s for key, clock in converter.rotation_clocks.items()}
    assert periods == {k: c.period_s for k, c in expected_converter.rotation_clocks.items()}


@pytest.mark.parametrize("start", [1_741_917_600.0, 0.3])
@pytest.mark.parametrize("seed", range(6))
def test_a_rotation_clock_fed_arrays_keeps_the_pairs_of_one_plot_at_a_time(
    seed: int, start: float
) -> None:
    """`RotationClock.add_many` against `add` in turn: busy and quiet radars, plots at
    exactly 0.25/0.5/4 s apart, equal times, a plot older than the last (one by one)."""
    generator = np.random.default_rng(seed)
    one_by_one, arrays = RotationClock(), RotationClock()
    time_s = start  # near 0, `time - 0.5` rounds where `time - earlier` does not
    for batch in range(12):
        steps = generator.choice([0.0, 0.01, 0.1, 0.125, 0.25, 0.3, 0.5, 1.0, 4.0, 4.5], 60)
        steps = np.where(generator.random(60) < 0.5, generator.exponential(0.05, 60), steps)
        times = time_s + np.cumsum(steps)
        if batch == 7:
            times[10] -= 3.0  # out of order: the whole batch goes through `add`
        azimuths = (times - start) / 4.0 * 360.0 % 360.0 + generator.normal(0, 0.1, 60)
        azimuths[::9] = generator.uniform(0, 360, len(azimuths[::9]))  # clutter
        for plot_time, azimuth in zip(times.tolist(), azimuths.tolist(), strict=True):
            one_by_one.add(plot_time, azimuth)
        arrays.add_many(times, azimuths)
        time_s = float(times.max())
        assert list(arrays._busy) == list(one_by_one._busy)
        assert list(arrays._quiet) == list(one_by_one._quiet)
        assert list(arrays._recent) == list(one_by_one._recent)
        assert arrays.period_s == one_by_one.period_s
    assert one_by_one.period_s is not None


@pytest.mark.parametrize("seed", range(3))
def test_corrupted_captures_give_the_same_dead_letters_and_tracks_either_way(
    seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Octets of the records overwritten at random (block headers kept, so the column path
    takes the capture): the refusals, their reasons and bytes, and the tracks agree."""
    (tmp_path / "sites.yaml").write_text(SITES_YAML)
    generator = np.random.default_rng(seed)
    whole = _radar_capture()
    blocks = [block.raw for block in split_blocks(whole)][:12]
    corrupted = []
    for raw in blocks:
        body = bytearray(raw[3:])
        for position in generator.integers(0, len(body), 3):
            body[position] = int(generator.integers(0, 256))
        corrupted.append(raw[:3] + bytes(body))
    data = b"".join(corrupted)
    batch = decode_cat048(data)
    assert batch is not None
    capture = tmp_path / "capture.ast"
    capture.write_bytes(data)
    # A corrupted time of day can lie hours away: long windows keep the runs short.
    options = ("--window", "20", "--all")
    expected, expected_dead, _ = _run(capture, tmp_path, "asterix062", *options, columns=False)
    expected_summary = capsys.readouterr().out
    written, dead, _ = _run(capture, tmp_path, "asterix062", *options, columns=True)
    assert capsys.readouterr().out == expected_summary
    assert written == expected
    assert len(expected) > 1000
    assert [_comparable(letter) for letter in dead] == [
        _comparable(letter) for letter in expected_dead
    ]
    assert len(dead) > 0


@pytest.mark.parametrize("columns", [True, False])
def test_recorded_at_places_times_of_day_on_the_recording_s_day(
    columns: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ASTERIX times of day carry no date: ``--recorded-at`` says which day they are on,
    on both paths; a time that is not ISO 8601 is refused in one line."""
    (tmp_path / "sites.yaml").write_text(SITES_YAML)
    capture = tmp_path / "capture.ast"
    capture.write_bytes(_golden_cat048_stream())
    shipped = track_command._plot_capture
    if not columns:
        track_command._plot_capture = lambda args: None  # the message path
    days = set()
    try:
        for recorded_at in ("2025-06-01T12:00Z", "2019-02-03T03:00+02:00"):
            out = tmp_path / "tracks.jsonl"
            argv = ["track", str(capture), "--from", "asterix", "--out", str(out)]
            argv += ["--sensors", str(tmp_path / "sites.yaml"), "--origin", "45.6,14.1"]
            assert main([*argv, "--recorded-at", recorded_at]) == 0
            tracks = [from_json(line) for line in out.read_bytes().splitlines()]
            assert tracks
            days.add(frozenset(track.time.date().isoformat() for track in tracks))
        refused = main([*argv, "--recorded-at", "June 1st"])
    finally:
        track_command._plot_capture = shipped
    assert days == {frozenset({"2025-06-01"}), frozenset({"2019-02-03"})}
    assert refused == 2
    assert "'June 1st' is not an ISO 8601 time" in capsys.readouterr().err


def test_plot_identities_are_each_plots_detection_identity() -> None:
    """Without addresses or SAPIENT ids every plot has none (found without a call a row);
    with one of them in the window, each plot's is `detection_identity`'s."""
    sites = [("r1", GeoPoint(lat_deg=45.6, lon_deg=14.1, height_m=0.0))]
    ids = ["asterix:25/9:1", "asterix:25/9:2", "sapient:drone-7:3", "x-sapient:a:b", "sapient"]
    icao24: list[str | None] = [None, "4CA2D6", None, None, None]

    def identities(icao24: list[str | None], ids: list[str]) -> list[str | None]:
        count = len(ids)
        plots = PolarPlots(
            times=np.zeros(count),
            site=np.zeros(count, dtype=np.int64),
            values=np.ones((count, 3)),
            variances=np.ones((count, 3)),
            ids=ids,
            icao24=icao24,
            callsign=[None] * count,
            sites=sites,
        )
        return _plot_identities(plots, ["r1"])

    def expected(icao24: list[str | None], ids: list[str]) -> list[str | None]:
        return [
            detection_identity(
                Detection(
                    detection_id=identifier,
                    sensor_id="r1",
                    time=RECEIVED,
                    kind=MeasurementKind.POLAR,
                    values=(1.0, 1.0, 1.0),
                    covariance=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
                    sensor_position=sites[0][1],
                    icao24=address,
                )
            )
            for address, identifier in zip(icao24, ids, strict=True)
        ]

    plain = [ids[0], ids[1], ids[3], ids[4]]
    assert identities([None] * 4, plain) == expected([None] * 4, plain) == [None] * 4
    found = identities(icao24, ids)
    assert found == expected(icao24, ids)
    assert found[1] == "icao:4ca2d6" and found[2] == "uid:sapient/r1/drone-7"
    without_address = identities([None] * 5, ids)
    assert without_address == expected([None] * 5, ids)
    assert without_address.count(None) == 4
