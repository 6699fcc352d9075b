"""The batch CAT048 decoder (`hotzone.ingest.asterix.batch`) gives, record by record, the
values of the per-record decoder (`decode_records`): on every CAT048 block of the golden
captures, on blocks of one layout (read without walking records), on blocks that mix
layouts, and on corrupted blocks, where the records kept and the error must be its own."""

from __future__ import annotations

import random
import struct
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hotzone.ingest.asterix import SiteTable, decode_records
from hotzone.ingest.asterix.batch import (
    _elevations,
    _uniform,
    decode_block,
    decode_cat048,
    map_plots,
    record_at,
)
from hotzone.ingest.asterix.datablock import DataBlock, split_blocks
from hotzone.ingest.asterix.mapping import (
    MappingContext,
    cat048_to_detection,
    elevation_from_height,
)
from hotzone.ingest.base import IngestError
from tests.ingest.asterix.reference import SITES_YAML, golden_payloads

GOLDEN_FILES = ["cat048.raw", "cat_034_048.pcap", "cat034.raw", "cat062cat065.raw"]
RECEIVED = datetime(2025, 3, 14, 2, 30, tzinfo=UTC)


def _golden_cat048_blocks() -> list[DataBlock]:
    return [
        block
        for name in GOLDEN_FILES
        for payload in golden_payloads(name)
        for block in split_blocks(payload)
        if block.category == 48
    ]


def _assert_same_as_per_record(block: DataBlock) -> int:
    rows, raws, error = decode_block(block)
    records, expected_error = decode_records(block)
    assert len(rows) == len(records)
    for index, (record, raw) in enumerate(records):
        assert record_at(rows, index) == record
        assert raws[index] == raw
    if expected_error is None:
        assert error is None
    else:
        assert error is not None and error.describe() == expected_error.describe()
    return len(records)


def test_every_golden_cat048_record_decodes_to_the_per_record_values() -> None:
    blocks = _golden_cat048_blocks()
    decoded = sum(_assert_same_as_per_record(block) for block in blocks)
    assert decoded == 129  # 1 in cat048.raw, 128 in the pcap
    # Mode S plots with aircraft address, identification, track data and compound items.
    rows = np.concatenate([decode_block(block)[0] for block in blocks])
    assert (rows["aircraft_address"] >= 0).any()
    assert (rows["aircraft_identification"] != "").any()
    assert (rows["plot_amplitude_ssr_dbm"] != -32768).any()


def _plot(time_s: float, rho: int, theta: int, level: float, *, sac: int = 25) -> bytes:
    """FSPEC 010 140 020 040 090, as the pipeline bench writes its capture."""
    record = bytes([0b11110100, sac, 201]) + round(time_s * 128).to_bytes(3, "big")
    record += bytes([0b00100000])
    return record + struct.pack(">HHH", rho, theta, round(level * 4) & 0x3FFF)


def _block(records: list[bytes]) -> DataBlock:
    body = b"".join(records)
    raw = bytes([48]) + struct.pack(">H", len(body) + 3) + body
    return DataBlock(48, body, raw, 0)


def test_a_block_of_one_layout_is_read_without_walking_its_records() -> None:
    block = _block([_plot(7200.0 + k, 1000 + k, 300 * k, 350.25 - k) for k in range(50)])
    assert _uniform(block.body) is not None
    assert _assert_same_as_per_record(block) == 50


def test_mixed_layouts_and_extensions_are_grouped_and_read_alike() -> None:
    golden = [block for block in _golden_cat048_blocks() if len(decode_records(block)[0]) > 1]
    records = [raw for _, raw in decode_records(golden[0])[0]]
    plain = _plot(7300.0, 2000, 4000, -3.5)
    extended = bytearray(plain)  # I048/020 with its first extension: TST set
    extended[6] |= 0x01
    extended[7:7] = b"\x80"
    block = _block([plain, *records[:3], bytes(extended), plain, records[0]])
    assert _uniform(block.body) is None
    assert _assert_same_as_per_record(block) == 7


def test_corrupted_blocks_keep_the_per_record_decoders_records_and_error() -> None:
    generator = random.Random(17)
    uniform = _block([_plot(7200.0 + k, 1000 + k, 300 * k, 350.25) for k in range(8)])
    blocks = [*_golden_cat048_blocks(), uniform]
    checked = 0
    for _ in range(400):
        block = generator.choice(blocks)
        body = bytearray(block.body)
        for _ in range(generator.randint(1, 4)):
            body[generator.randrange(len(body))] = generator.randrange(256)
        if generator.random() < 0.3:
            del body[generator.randrange(len(body)) :]
        if not body:
            continue
        mutated = _block([bytes(body)])
        checked += _assert_same_as_per_record(mutated) + 1
    assert checked > 400


def test_a_capture_of_other_categories_or_cut_blocks_is_left_to_the_message_decoder() -> None:
    assert decode_cat048(golden_payloads("cat034.raw")[0]) is None
    whole = _block([_plot(7200.0, 1000, 0, 100.0)]).raw
    assert decode_cat048(whole[:-1]) is None
    batch = decode_cat048(whole + whole)
    assert batch is not None and len(batch.rows) == 2


def test_mapping_columns_gives_the_detections_and_refusals_of_the_record_mapping() -> None:
    sites = SiteTable.from_mapping(__import__("yaml").safe_load(SITES_YAML))
    good = [_plot(9000.0 + k * 0.37, 900 + 97 * k, 1234 * k, 10.0 * k - 5) for k in range(20)]
    unknown_site = _plot(9001.0, 1000, 0, 100.0, sac=26)
    late = bytes([0b11110100, 25, 201]) + (86400 * 128 + 5).to_bytes(3, "big") + good[0][6:]
    no_position = bytes([0b11000000, 25, 201]) + (9002 * 128).to_bytes(3, "big")
    data = _block([*good[:5], unknown_site, *good[5:10], late]).raw
    data += _block([no_position, *good[10:], b"\xf4\x19"]).raw  # ends inside a record
    batch = decode_cat048(data)
    assert batch is not None
    context = MappingContext(sites=sites, received_at=RECEIVED)
    plots, refused = map_plots(batch, sites, RECEIVED, context)
    # The reference: each record mapped by itself, in order, with one id counter.
    reference_context = MappingContext(sites=sites, received_at=RECEIVED)
    expected_refusals = []
    detections = []
    for block in split_blocks(data):
        records, error = decode_records(block)
        for record, raw in records:
            try:
                detections.append(cat048_to_detection(record, reference_context))
            except IngestError as problem:
                expected_refusals.append((problem.describe(), raw))
        if error is not None:
            expected_refusals.append((f"{error.describe()} (record {len(records) + 1})", block.raw))
    assert [(item.reason, item.raw) for _, item in refused] == expected_refusals
    assert len(expected_refusals) == 4
    assert context.sequence == reference_context.sequence
    ids = plots.detection_ids()
    assert len(ids) == len(detections) == 20
    for row, detection in enumerate(detections):
        assert ids[row] == detection.detection_id
        assert plots.times_us[row] == (detection.time - datetime(1970, 1, 1, tzinfo=UTC)) // (
            timedelta(microseconds=1)
        )
        assert tuple(plots.values[row].tolist()) == detection.values
        assert tuple(plots.variances[row].tolist()) == tuple(
            detection.covariance[k][k] for k in range(3)
        )
        sensor_id, position = plots.sites[int(plots.site[row])]
        assert (sensor_id, position) == (detection.sensor_id, detection.sensor_position)
        assert plots.icao24[row] == detection.icao24
        assert plots.callsign[row] == detection.callsign


@pytest.mark.parametrize("hours", [0.0, 11.9, 12.1, 23.99])
def test_times_of_day_land_on_the_day_the_record_mapping_chooses(hours: float) -> None:
    sites = SiteTable.from_mapping(__import__("yaml").safe_load(SITES_YAML))
    received = datetime(2025, 3, 14, tzinfo=UTC) + timedelta(hours=hours)
    data = _block([_plot(s, 1000, 0, 100.0) for s in (0.0, 1.0 / 128, 43199.5, 86399.99)]).raw
    batch = decode_cat048(data)
    assert batch is not None
    plots, _ = map_plots(batch, sites, received, MappingContext(sites=sites, received_at=received))
    reference = MappingContext(sites=sites, received_at=received)
    for row, (record, _) in enumerate(decode_records(next(split_blocks(data)))[0]):
        detection = cat048_to_detection(record, reference)
        assert plots.detection_ids()[row] == detection.detection_id


def test_elevations_of_whole_columns_are_the_record_mappings_to_the_bit() -> None:
    """`_elevations` (columns) against `elevation_from_height` (a row at a time): every
    bit of both numbers, on plots from the radar's foot to beyond the horizon, targets
    below the radar, ranges under a metre, and values that are not finite."""
    rng = np.random.default_rng(4607)
    count = 200_000
    slant = np.concatenate(
        [
            rng.uniform(0.0, 500_000.0, count),
            rng.uniform(0.0, 2.0, 1_000),
            10.0 ** rng.uniform(-3, 7, 10_000),
            [0.0, 0.5, 1.0, np.nextafter(1.0, 0.0), np.nan, np.inf, 1e7],
        ]
    )
    size = len(slant)
    sensor = rng.uniform(-50.0, 3_000.0, size)
    sensor[::2] = rng.choice(sensor[:5], len(sensor[::2]))  # a few sites' heights, repeated
    target = np.where(rng.random(size) < 0.1, rng.uniform(-500.0, 100.0, size), 0.0)
    heights = rng.uniform(0.0, 20_000.0, size)
    target += np.where(rng.random(size) < 0.5, np.round(heights / 30.48) * 30.48, heights)
    target[-7:] = [0.0, 10.0, 1e4, -1e4, 5e3, 5e3, np.nan]
    sigma = rng.choice([250.0, 300.0, 3_000.0, 1e6], size)
    elevation, variance = _elevations(slant, sensor, target, sigma)
    expected = np.array(
        [
            elevation_from_height(*row)
            for row in zip(
                slant.tolist(), sensor.tolist(), target.tolist(), sigma.tolist(), strict=True
            )
        ]
    )
    assert elevation.tobytes() == expected[:, 0].tobytes()
    assert variance.tobytes() == expected[:, 1].tobytes()
    # The columns reach both clamps and the short range's fixed answer.
    assert (elevation == 90.0).any() and (elevation == -90.0).any()
    assert (variance == 90.0**2).sum() > 1_000


def test_a_stream_of_blocks_is_their_rows_one_after_another() -> None:
    """`decode_cat048` joins its blocks' rows (as bytes, one record type): the rows
    `decode_block` gives block by block, in order, byte for byte."""
    blocks = [
        _block([_plot(7200.0 + 3 * k + j, 1000 + k, 300 * j, 350.25 - k) for j in range(k + 1)])
        for k in range(6)
    ] + _golden_cat048_blocks()
    stream = b"".join(block.raw for block in blocks)
    batch = decode_cat048(stream)
    assert batch is not None
    expected = np.concatenate([decode_block(block)[0] for block in blocks])
    assert batch.rows.dtype == expected.dtype
    assert batch.rows.tobytes() == expected.tobytes()
    assert len(batch.rows) == 21 + 129
