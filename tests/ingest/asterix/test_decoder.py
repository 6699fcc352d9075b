"""AsterixDecoder behaviour: placing plots, time of day, framing, pcap, refusals, CLI."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from hotzone.geo import LocalFrame, polar_to_enu
from hotzone.ingest.asterix import AsterixDecoder, SiteTable, decode_records
from hotzone.ingest.asterix.datablock import split_blocks
from hotzone.ingest.asterix.timeofday import time_of_day_to_datetime
from hotzone.ingest.registry import DecoderOptions, decoder_factories
from hotzone.types import Detection, Event, EventKind, MeasurementKind, Report, ReportSource
from tests.ingest.asterix.cat021_encoder import Cat021Values, encode_cat021
from tests.ingest.asterix.cat065_encoder import Cat065Values, encode_cat065
from tests.ingest.asterix.reference import (
    GOLDEN,
    SITES_YAML,
    golden_payloads,
    reference_records,
    value,
)
from tests.ingest.test_pcap import golden_frames, to_pcapng

RECEIVED = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def sites(tmp_path: Path) -> SiteTable:
    path = tmp_path / "sites.yaml"
    path.write_text(SITES_YAML)
    return SiteTable.from_file(path)


def test_time_of_day_wraps_midnight_both_ways() -> None:
    just_after_midnight = datetime(2024, 5, 2, 0, 0, 1, tzinfo=UTC)
    assert time_of_day_to_datetime(86399.0, just_after_midnight) == datetime(
        2024, 5, 1, 23, 59, 59, tzinfo=UTC
    )
    just_before_midnight = datetime(2024, 5, 1, 23, 59, 59, tzinfo=UTC)
    assert time_of_day_to_datetime(1.5, just_before_midnight) == datetime(
        2024, 5, 2, 0, 0, 1, 500000, tzinfo=UTC
    )


def test_cat048_plot_is_placed_at_its_flight_level(sites: SiteTable) -> None:
    payload = golden_payloads("cat048.raw")[0]
    reference = reference_records(payload)[0]
    (detection,) = AsterixDecoder(sites).feed(payload, RECEIVED).messages
    assert isinstance(detection, Detection)
    assert detection.kind == MeasurementKind.POLAR
    assert detection.values[0] == pytest.approx(value(reference, "I040", "RHO") * 1852.0)
    assert detection.values[1] == pytest.approx(value(reference, "I040", "THETA"))
    assert detection.covariance[0][0] == pytest.approx(60.0**2)  # site 25/201 range sigma
    assert detection.time == datetime(2024, 5, 1, 7, 35, 54, 601562, tzinfo=UTC)
    # Converting the polar plot back with hotzone.geo lands at FL330 (10058 m), within the
    # spherical-Earth approximation of the elevation.
    site = detection.sensor_position
    frame = LocalFrame(site.lat_deg, site.lon_deg, site.height_m)
    enu = polar_to_enu(*(np.array([v]) for v in detection.values))
    _lat, _lon, height = frame.enu_to_geodetic(enu)
    assert float(height[0]) == pytest.approx(330 * 100 * 0.3048, abs=150.0)


def test_cat048_plot_carries_the_secondary_radar_identity(sites: SiteTable) -> None:
    payload = golden_payloads("cat048.raw")[0]
    reference = reference_records(payload)[0]
    (detection,) = AsterixDecoder(sites).feed(payload, RECEIVED).messages
    assert isinstance(detection, Detection)
    assert detection.icao24 == value(reference, "I220", "ACAddr").lower()
    assert detection.callsign == value(reference, "I240", "TId").strip()
    assert detection.squawk == value(reference, "I070", "Mode3A")


def test_cat048_from_unlisted_site_is_refused_with_reason() -> None:
    result = AsterixDecoder().feed(golden_payloads("cat048.raw")[0], RECEIVED)
    assert not result.messages
    (rejected,) = result.rejected
    assert "25/201" in rejected.reason and "sensors" in rejected.reason


def test_cat034_sector_crossing_becomes_sensor_status_event(sites: SiteTable) -> None:
    (event,) = AsterixDecoder(sites).feed(golden_payloads("cat034.raw")[0], RECEIVED).messages
    assert isinstance(event, Event)
    assert event.kind == EventKind.SENSOR_STATUS
    assert event.attributes["message_type"] == "sector crossing"
    assert event.attributes["sector_azimuth_deg"] == "90"
    assert event.position is not None and event.position.lat_deg == 45.7
    assert event.severity == 0


def test_cat062_becomes_system_track_reports_and_cat065_end_of_batch_a_heartbeat() -> None:
    payload = golden_payloads("cat062cat065.raw")[0]
    decoder = AsterixDecoder()
    result = decoder.feed(payload, RECEIVED)
    reports = [m for m in result.messages if isinstance(m, Report)]
    references = [r for r in reference_records(payload) if r["category"] == 62]
    assert len(reports) == len(references) == 2
    for report, reference in zip(reports, references, strict=True):
        assert report.source == ReportSource.SYSTEM_TRACK
        assert report.uid == f"asterix-25-100/track/{value(reference, 'I040', 'TrkN')}"
        assert report.position.lat_deg == pytest.approx(value(reference, "I105", "Lat"))
        assert report.velocity_enu_mps is not None
        assert report.velocity_enu_mps[0] == value(reference, "I185", "Vx")
    assert reports[1].icao24 == "3c0a55" and reports[1].callsign == "SXD4723"
    # The end of batch is routine: no dead letter, no event, one heartbeat for its service.
    assert not result.rejected
    assert len(result.messages) == len(reports)
    (end_of_batch,) = [r for r in reference_records(payload) if r["category"] == 65]
    service = value(end_of_batch, "I015", "SID")
    heartbeat = decoder.heartbeats[f"asterix-25-100/service/{service}"]
    assert heartbeat.count == 1
    assert heartbeat.last_batch_number == value(end_of_batch, "I020", "BTN")
    assert heartbeat.last_time == time_of_day_to_datetime(
        value(end_of_batch, "I030", "ToD"), RECEIVED
    )


def test_cat062_065_capture_gives_no_dead_letters_and_counts_every_batch() -> None:
    decoder = AsterixDecoder()
    result = decoder.feed((GOLDEN / "cat_062_065.pcap").read_bytes(), RECEIVED)
    assert not result.rejected
    references = [r for p in golden_payloads("cat_062_065.pcap") for r in reference_records(p)]
    ends_of_batch = [r for r in references if r["category"] == 65]
    assert ends_of_batch
    assert sum(h.count for h in decoder.heartbeats.values()) == len(ends_of_batch)
    assert len(result.messages) == len(references) - len(ends_of_batch)


def _sdps_event(values: Cat065Values, decoder: AsterixDecoder | None = None) -> Event:
    result = (decoder or AsterixDecoder()).feed(encode_cat065(values), RECEIVED)
    assert not result.rejected
    (event,) = result.messages
    assert isinstance(event, Event)
    return event


def test_sdps_status_severity_follows_how_bad_the_sdps_is() -> None:
    operational = _sdps_event(Cat065Values(nogo=0, processing_system=1))
    degraded = _sdps_event(Cat065Values(nogo=1))
    disconnected = _sdps_event(Cat065Values(nogo=2))
    overloaded = _sdps_event(Cat065Values(nogo=0, overload=True))
    bad_clock = _sdps_event(Cat065Values(nogo=0, time_source_invalid=True))
    assert operational.severity == 0
    assert operational.attributes["sdps_state"] == "operational"
    assert operational.attributes["selected_processing_system"] == "SDPS-1"
    assert 0 < bad_clock.severity < degraded.severity < disconnected.severity
    assert 0 < overloaded.severity < degraded.severity
    for event in (operational, degraded, disconnected, overloaded, bad_clock):
        assert event.kind == EventKind.SENSOR_STATUS
        assert event.source_id == event.subject_id == "asterix-25-100"
        assert event.attributes["service_id"] == "4"
        assert event.time == time_of_day_to_datetime(30913.0546875, RECEIVED)
    assert "degraded" in degraded.summary and "service 4" in degraded.summary
    assert "not currently connected" in disconnected.summary
    assert "overload" in overloaded.summary and overloaded.attributes["overload"] == "true"
    assert "time source invalid" in bad_clock.summary


def test_service_status_reports_name_the_report_and_rank_it() -> None:
    def report(code: int) -> Event:
        return _sdps_event(Cat065Values(message_type=3, service_report=code))

    all_radars_failed, degradation, degradation_ended = report(16), report(1), report(2)
    assert all_radars_failed.severity > degradation.severity > degradation_ended.severity
    assert "main and backup radar, if any, failed" in all_radars_failed.summary
    assert degradation.attributes["service_report"] == "service degradation"
    assert degradation.attributes["service_report_code"] == "1"
    # A code newer than the table is shown, not dropped, and worth a look.
    future = report(200)
    assert future.attributes["service_report"] == "code 200" and future.severity > 0


def test_end_of_batch_with_an_abnormal_status_is_an_event_not_a_heartbeat(
    sites: SiteTable,
) -> None:
    decoder = AsterixDecoder(sites, source_id="sdps-north")
    event = _sdps_event(Cat065Values(message_type=2, batch_number=3, nogo=1), decoder)
    assert event.severity > 0 and "end of batch" in event.summary
    assert event.source_id == "sdps-north" and event.subject_id == "asterix-25-100"
    assert not decoder.heartbeats
    routine = decoder.feed(encode_cat065(Cat065Values(message_type=2, nogo=0)), RECEIVED)
    assert not routine.messages and not routine.rejected
    assert decoder.heartbeats["sdps-north/service/4"].count == 1


def test_cat065_without_source_type_or_time_is_refused_naming_the_item() -> None:
    for values, item in [
        (Cat065Values(sac=None), "I065/010"),
        (Cat065Values(message_type=None), "I065/000"),
        (Cat065Values(message_type=2, time_of_day_s=None), "I065/030"),
        (Cat065Values(time_of_day_s=86400.5), "I065/030"),
    ]:
        decoder = AsterixDecoder()
        result = decoder.feed(encode_cat065(values), RECEIVED)
        assert not result.messages and not decoder.heartbeats
        (rejected,) = result.rejected
        assert rejected.reason.startswith(item), rejected.reason


def test_unsupported_category_is_still_refused_with_the_reason() -> None:
    record = bytes((0x80, 25, 100))  # FSPEC + a SAC/SIC
    block = bytes((1,)) + (3 + len(record)).to_bytes(2, "big") + record
    result = AsterixDecoder().feed(block, RECEIVED)
    assert not result.messages
    (rejected,) = result.rejected
    assert "CAT001 is not decoded" in rejected.reason and "065" in rejected.reason
    assert rejected.raw == block


def test_cat021_matches_reference_decoder_and_maps_quality() -> None:
    values = Cat021Values()
    block = encode_cat021(values)
    (reference,) = reference_records(block)
    (ours,), error = decode_records(next(split_blocks(block)))
    assert error is None
    record, _raw = ours
    assert record.latitude_high_res_deg == pytest.approx(value(reference, "I131", "Lat"))
    assert record.longitude_deg == pytest.approx(value(reference, "I130", "Lon"))
    assert f"{record.target_address:06X}" == value(reference, "I080", "TAddr")
    assert record.geometric_height_ft == value(reference, "I140", "geometric_height")
    assert record.nacp == value(reference, "I090", "NACp")
    assert record.sil == value(reference, "I090", "SIL")
    assert record.nucp_nic == value(reference, "I090", "NUCp_or_NIC")
    assert record.gva == value(reference, "I090", "GVA")
    assert record.mops_version == value(reference, "I210", "VN")
    assert record.flight_level == value(reference, "I145", "FL")
    assert record.geometric_vertical_rate_ft_min == value(reference, "I157", "GVR")
    assert record.ground_speed_nm_s == pytest.approx(value(reference, "I160", "GS"))
    assert record.track_angle_deg == pytest.approx(value(reference, "I160", "TA"))
    assert record.target_identification == value(reference, "I170", "TId")
    assert record.time_of_applicability_position_s == value(
        reference, "I071", "time_applicability_position"
    )

    (report,) = AsterixDecoder().feed(block, RECEIVED).messages
    assert isinstance(report, Report)
    assert report.source == ReportSource.ADSB
    assert report.icao24 == "4b1a2c" and report.callsign == "BTI4AB" and report.squawk == "1234"
    assert (report.nic, report.nacp, report.sil, report.nucp) == (8, 9, 3, None)
    assert report.position.lat_deg == pytest.approx(values.latitude_deg, abs=1e-6)
    assert report.horizontal_sigma_m < 30.0  # NACp 9: 95 % bound 30 m
    assert report.time == datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)
    assert report.velocity_enu_mps is not None
    speed = np.hypot(*report.velocity_enu_mps[:2])
    assert speed == pytest.approx(450.0 * 1852.0 / 3600.0, rel=1e-3)


def test_stream_split_anywhere_decodes_like_one_read(sites: SiteTable) -> None:
    stream = b"".join(golden_payloads("cat_034_048.pcap"))
    whole = AsterixDecoder(sites).feed(stream, RECEIVED)
    rng = random.Random(4)
    decoder = AsterixDecoder(sites)
    messages = []
    offset = 0
    while offset < len(stream):
        size = rng.randint(1, 200)
        messages.extend(decoder.feed(stream[offset : offset + size], RECEIVED).messages)
        offset += size
    assert not decoder.flush(RECEIVED).rejected
    assert [(type(m), m.time) for m in messages] == [(type(m), m.time) for m in whole.messages]
    assert len(messages) > 50


def _big_endian_nanosecond(capture: bytes) -> bytes:
    """The same capture written big-endian with nanosecond timestamps."""
    header = struct.unpack_from("<IHHiIII", capture, 0)
    out = [struct.pack(">IHHiIII", 0xA1B23C4D, *header[1:])]
    offset = 24
    while offset < len(capture):
        seconds, micros, captured, original = struct.unpack_from("<IIII", capture, offset)
        out.append(struct.pack(">IIII", seconds, micros * 1000, captured, original))
        out.append(capture[offset + 16 : offset + 16 + captured])
        offset += 16 + captured
    return b"".join(out)


def test_pcap_capture_is_detected_in_either_byte_order(sites: SiteTable) -> None:
    capture = (GOLDEN / "cat_034_048.pcap").read_bytes()
    little = AsterixDecoder(sites).feed(capture, RECEIVED)
    big = AsterixDecoder(sites).feed(_big_endian_nanosecond(capture), RECEIVED)
    assert [m.time for m in little.messages] == [m.time for m in big.messages]
    assert len(little.messages) > 50
    # Plots are dated by the capture, not by the time of decoding.
    assert {m.time.date() for m in little.messages} == {datetime(2016, 5, 5, tzinfo=UTC).date()}
    # Ethernet padding after the UDP payload is not read as a block.
    assert not any("CAT136" in item.reason for item in little.rejected)


@pytest.mark.parametrize("name", ["cat_062_065.pcap", "cat_034_048.pcap"])
def test_pcapng_capture_decodes_like_the_classic_pcap(sites: SiteTable, name: str) -> None:
    classic = (GOLDEN / name).read_bytes()
    converted = to_pcapng(classic)  # written by dpkt, not by hotzone
    expected = AsterixDecoder(sites).feed(classic, RECEIVED)
    decoder = AsterixDecoder(sites)
    result = decoder.feed(converted, RECEIVED)
    result.extend(decoder.flush(RECEIVED))
    assert len(result.messages) == len(expected.messages) > 0
    assert result.messages == expected.messages
    assert [item.reason for item in result.rejected] == [item.reason for item in expected.rejected]
    # Dated by the capture, as for classic pcap, not by the time of decoding.
    assert {m.time.date() for m in result.messages} == {p.time.date() for p in golden_frames(name)}


def test_pcapng_capture_fed_in_small_chunks_decodes_the_same(sites: SiteTable) -> None:
    converted = to_pcapng((GOLDEN / "cat_062_065.pcap").read_bytes())
    whole = AsterixDecoder(sites).feed(converted, RECEIVED).messages
    decoder = AsterixDecoder(sites)
    messages = [
        message
        for offset in range(0, len(converted), 3)
        for message in decoder.feed(converted[offset : offset + 3], RECEIVED).messages
    ]
    assert messages == whole and not decoder.flush(RECEIVED).rejected


def test_broken_pcapng_and_non_udp_packets_are_refused_with_reasons() -> None:
    result = AsterixDecoder().feed(b"\x0a\x0d\x0d\x0a" + bytes(40), RECEIVED)
    assert "pcapng section header with an unknown byte-order magic" in result.rejected[0].reason
    capture = bytearray((GOLDEN / "cat_062_065.pcap").read_bytes())
    capture[24 + 16 + 14 + 9] = 6  # IPv4 protocol: TCP
    result = AsterixDecoder().feed(bytes(capture), RECEIVED)
    assert not result.messages and "not a UDP packet" in result.rejected[0].reason


def test_truncated_block_at_end_of_stream_is_refused_on_flush() -> None:
    payload = golden_payloads("cat062cat065.raw")[0]
    decoder = AsterixDecoder()
    assert not decoder.feed(payload[:50], RECEIVED).rejected
    (rejected,) = decoder.flush(RECEIVED).rejected
    assert "cut short" in rejected.reason and rejected.raw == payload[:50]


def test_registered_and_cli_decodes_with_sensors_file(tmp_path: Path) -> None:
    assert "asterix" in decoder_factories()
    sites_file = tmp_path / "sites.yaml"
    sites_file.write_text(SITES_YAML)
    decoder = decoder_factories()["asterix"](DecoderOptions(sensors_file=sites_file))
    assert isinstance(decoder, AsterixDecoder)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotzone.cli",
            "decode",
            "asterix",
            str(GOLDEN / "cat_034_048.pcap"),
            "--sensors",
            str(sites_file),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    lines = completed.stdout.decode().splitlines()
    assert len(lines) > 50
    assert any('"type":"detection"' in line for line in lines)
    assert any('"type":"event"' in line for line in lines)
    assert b"rejected" in completed.stderr


def test_bad_sensors_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text('"25-201": {lat_deg: 1, lon_deg: 2}\n')
    with pytest.raises(ValueError, match="SAC/SIC"):
        SiteTable.from_file(path)
    path.write_text('"25/201": {lat_deg: 1, lon_deg: 2, hieght_m: 3}\n')
    with pytest.raises(ValueError, match="hieght_m"):
        SiteTable.from_file(path)
