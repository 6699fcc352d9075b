"""CAT048 a data block at a time, as columns: the batch decoder (issue 17).

`AsterixDecoder` builds one `Cat048Record` per plot, item by item, in Python. Here the
records of a block that share one layout (the same FSPEC and the same item lengths: a
radar sends thousands of plots alike) are viewed as one ``(records, octets)`` array and
each item is read for all of them at once. The columns are `CAT048_COLUMNS`, one field
per `Cat048Record` field, with sentinels where the record has None (`record_at` turns a
row back into the record, which is how the tests compare both decoders).

- A block whose records all have the first record's layout (FSPEC octets and FX bits of
  its extended items the same in every record) is read without walking its records.
- Otherwise the records are cut one by one (`split_records`) and grouped by layout.
- Compound items (I048/130, I048/120) are decoded row by row with the per-record item
  decoders; anything the per-record decoder would refuse (a framing or item error) sends
  the whole block to `decode_records`, so the records kept and the error are its own.

`map_plots` is `cat048_to_detection` on columns: the same values and the same refusals
(rows it refuses are mapped once more by `cat048_to_detection` for the exact reason).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat

import numpy as np
from numpy.typing import NDArray

from hotzone.ingest.asterix import cat048
from hotzone.ingest.asterix.cat048 import DEG_PER_THETA_LSB, NM_PER_RHO_LSB, Cat048Record
from hotzone.ingest.asterix.datablock import (
    HEADER_LENGTH,
    DataBlock,
    Extended,
    Fixed,
    RawRecord,
    block_length,
    item_length,
    read_fspec,
    six_bit_characters,
    split_records,
)
from hotzone.ingest.asterix.decoder import decode_records
from hotzone.ingest.asterix.errors import AsterixError
from hotzone.ingest.asterix.mapping import (
    ASSUMED_HEIGHT_M,
    ASSUMED_HEIGHT_SIGMA_M,
    EARTH_RADIUS_M,
    FLIGHT_LEVEL_HEIGHT_SIGMA_M,
    METRES_PER_FOOT,
    METRES_PER_NM,
    RADAR_3D_HEIGHT_SIGMA_M,
    MappingContext,
    cat048_to_detection,
)
from hotzone.ingest.asterix.sites import SiteTable
from hotzone.ingest.asterix.timeofday import SECONDS_PER_DAY
from hotzone.ingest.base import IngestError, Rejected
from hotzone.types import GeoPoint

#: Absent integer fields read -1 (all of them are unsigned), absent signed ones
#: `ABSENT_SIGNED`, absent floats NaN (every decoded float is finite), absent booleans -1.
ABSENT_SIGNED = -32768
CAT048_COLUMNS = np.dtype(
    [
        ("sac", np.int16),
        ("sic", np.int16),
        ("time_of_day_s", np.float64),
        ("report_type", np.int8),
        ("simulated", np.bool_),
        ("test_target", np.bool_),
        ("rho_nm", np.float64),
        ("theta_deg", np.float64),
        ("mode_3a", np.int16),  # the 12-bit code; the record's text is its octal digits
        ("mode_3a_validated", np.int8),
        ("mode_3a_garbled", np.int8),
        ("flight_level", np.float64),
        ("flight_level_validated", np.int8),
        ("plot_amplitude_ssr_dbm", np.int16),
        ("plot_amplitude_psr_dbm", np.int16),
        ("aircraft_address", np.int32),
        ("aircraft_identification", "U8"),  # "" when absent (a decoded one has 8 characters)
        ("track_number", np.int32),
        ("ground_speed_nm_s", np.float64),
        ("heading_deg", np.float64),
        ("track_confirmed", np.int8),
        ("track_ended", np.int8),
        ("sigma_x_nm", np.float64),
        ("sigma_y_nm", np.float64),
        ("height_3d_ft", np.float64),
        ("doppler_speed_mps", np.int16),
    ]
)
_NAMES: tuple[str, ...] = CAT048_COLUMNS.names or ()
_FLOATS = [name for name in _NAMES if CAT048_COLUMNS[name] == np.float64]
_FLAGS = ["mode_3a_validated", "mode_3a_garbled", "flight_level_validated"]
_FLAGS += ["track_confirmed", "track_ended"]
_SIGNED = ["plot_amplitude_ssr_dbm", "plot_amplitude_psr_dbm", "doppler_speed_mps"]
_UNSIGNED = ["sac", "sic", "report_type", "mode_3a", "aircraft_address", "track_number"]

Rows = NDArray[np.void]
Octets = NDArray[np.uint8]
#: Items decoded row by row with the per-record decoders (compound items: rare, varied).
_ROW_BY_ROW = {"I048/130", "I048/120"}


def empty_rows(count: int) -> Rows:
    """``count`` rows with every field absent."""
    rows = np.zeros(count, dtype=CAT048_COLUMNS)
    for name in _FLOATS:
        rows[name] = np.nan
    for name in _FLAGS + _UNSIGNED:
        rows[name] = -1
    for name in _SIGNED:
        rows[name] = ABSENT_SIGNED
    return rows


def record_at(rows: Rows, index: int) -> Cat048Record:
    """Row ``index`` as the `Cat048Record` the per-record decoder makes."""
    row = rows[index]
    values: dict[str, object] = {}
    for name in _NAMES:
        value = row[name].item()
        if name in _FLOATS:
            values[name] = None if np.isnan(value) else value
        elif name in _FLAGS:
            values[name] = None if value < 0 else bool(value)
        elif name in _SIGNED:
            values[name] = None if value == ABSENT_SIGNED else value
        elif name == "mode_3a":
            values[name] = None if value < 0 else f"{value:04o}"
        elif name == "aircraft_identification":
            values[name] = value or None
        elif name in ("simulated", "test_target"):
            values[name] = bool(value)
        else:
            values[name] = None if value < 0 else value
    return Cat048Record(**values)  # type: ignore[arg-type]


def rows_of_records(records: list[Cat048Record]) -> Rows:
    """Records of the per-record decoder as rows (its fallback inside the batch decoder)."""
    rows = empty_rows(len(records))
    for index, record in enumerate(records):
        for name in _NAMES:
            value = getattr(record, name)
            if value is None:
                continue
            if name == "mode_3a":
                value = int(value, 8)
            rows[name][index] = value
    return rows


@dataclass(frozen=True)
class _Layout:
    """Where each present item lies in a record of this layout, and its length."""

    length: int
    items: tuple[tuple[str, int, int], ...]  # (item id, start, length)
    #: (position, mask): octets (masked) that decide the layout, the same in every record
    structure: tuple[tuple[int, int], ...]


def _layout_of(record: RawRecord, fspec_length: int) -> _Layout:
    items = []
    position = fspec_length
    for item_id, raw in record.items.items():
        items.append((item_id, position, len(raw)))
        position += len(raw)
    return _Layout(position, tuple(items), ())


def _block_layout(body: bytes) -> _Layout | None:
    """The first record's layout when its items are all fixed or FX-extended (then the
    FSPEC and the FX bits say the whole layout); None otherwise."""
    present, offset = read_fspec(body, 0, cat048.UAP, cat048.CATEGORY)
    structure = [(position, 0xFF) for position in range(offset)]
    items = []
    for frn in present:
        spec = cat048.UAP[frn - 1] if frn <= len(cat048.UAP) else None
        if spec is None or not isinstance(spec.format, Fixed | Extended):
            return None
        if isinstance(spec.format, Extended) and spec.format.part_length != 1:
            return None
        length = item_length(body, offset, spec.format, spec.item_id)
        if isinstance(spec.format, Extended):
            structure.extend((offset + octet, 0x01) for octet in range(length))
        items.append((spec.item_id, offset, length))
        offset += length
    return _Layout(offset, tuple(items), tuple(structure))


def _uniform(body: bytes) -> tuple[_Layout, Octets] | None:
    """The block's records as one array when they all share the first one's layout."""
    try:
        layout = _block_layout(body)
    except AsterixError:
        return None
    if layout is None or len(body) % layout.length:
        return None
    octets = np.frombuffer(body, dtype=np.uint8).reshape(-1, layout.length)
    positions = [position for position, _ in layout.structure]
    masks = np.array([mask for _, mask in layout.structure], dtype=np.uint8)
    structural = octets[:, positions] & masks
    if not (structural == structural[0]).all():
        return None
    return layout, octets


def _unsigned(octets: Octets, start: int, length: int) -> NDArray[np.int64]:
    value = np.zeros(len(octets), dtype=np.int64)
    for octet in range(length):
        value = (value << 8) | octets[:, start + octet]
    return value


def _signed(value: NDArray[np.int64], bits: int) -> NDArray[np.int64]:
    value = value & ((1 << bits) - 1)
    return np.where(value & (1 << (bits - 1)), value - (1 << bits), value)


def _fill(rows: Rows, octets: Octets, layout: _Layout, raws: Callable[[int], bytes]) -> None:
    """Each present item of ``layout`` read for every row, as `cat048.ITEM_DECODERS` does;
    ``raws(k)`` is record k's bytes (compound items are decoded row by row from them)."""
    for item_id, start, length in layout.items:
        first = octets[:, start].astype(np.int64)
        if item_id == "I048/010":
            rows["sac"], rows["sic"] = first, octets[:, start + 1]
        elif item_id == "I048/140":
            rows["time_of_day_s"] = _unsigned(octets, start, 3) / 128.0
        elif item_id == "I048/020":
            rows["report_type"] = first >> 5
            rows["simulated"] = (first & 0x10) != 0
            if length > 1:
                rows["test_target"] = (octets[:, start + 1] & 0x80) != 0
        elif item_id == "I048/040":
            rows["rho_nm"] = _unsigned(octets, start, 2) * NM_PER_RHO_LSB
            rows["theta_deg"] = _unsigned(octets, start + 2, 2) * DEG_PER_THETA_LSB
        elif item_id == "I048/070":
            rows["mode_3a_validated"] = (first & 0x80) == 0
            rows["mode_3a_garbled"] = (first & 0x40) != 0
            rows["mode_3a"] = _unsigned(octets, start, 2) & 0x0FFF
        elif item_id == "I048/090":
            rows["flight_level_validated"] = (first & 0x80) == 0
            rows["flight_level"] = _signed(_unsigned(octets, start, 2), 14) / 4.0
        elif item_id == "I048/220":
            rows["aircraft_address"] = _unsigned(octets, start, 3)
        elif item_id == "I048/240":
            rows["aircraft_identification"] = [
                six_bit_characters(bytes(row)) for row in octets[:, start : start + 6]
            ]
        elif item_id == "I048/161":
            rows["track_number"] = _unsigned(octets, start, 2) & 0x0FFF
        elif item_id == "I048/200":
            rows["ground_speed_nm_s"] = _unsigned(octets, start, 2) / 16384.0
            rows["heading_deg"] = _unsigned(octets, start + 2, 2) * DEG_PER_THETA_LSB
        elif item_id == "I048/170":
            rows["track_confirmed"] = (first & 0x80) == 0
            rows["track_ended"] = (octets[:, start + 1] & 0x80) != 0 if length > 1 else False
        elif item_id == "I048/210":
            rows["sigma_x_nm"] = first / 128.0
            rows["sigma_y_nm"] = octets[:, start + 1] / 128.0
        elif item_id == "I048/110":
            rows["height_3d_ft"] = _signed(_unsigned(octets, start, 2), 14) * 25.0
        elif item_id in _ROW_BY_ROW:
            _fill_row_by_row(rows, item_id, start, length, raws)


def _fill_row_by_row(
    rows: Rows, item_id: str, start: int, length: int, raws: Callable[[int], bytes]
) -> None:
    decode_item = cat048.ITEM_DECODERS[item_id]
    for index in range(len(rows)):
        record = Cat048Record()
        try:
            decode_item(raws(index)[start : start + length], record)
        except (IndexError, UnicodeDecodeError) as error:
            raise _RowByRowError from error
        for name in ("plot_amplitude_ssr_dbm", "plot_amplitude_psr_dbm", "doppler_speed_mps"):
            value = getattr(record, name)
            if value is not None:
                rows[name][index] = value


class _RowByRowError(Exception):
    """An item the per-record decoder refuses: the block goes to it instead."""


@dataclass
class Cat048Batch:
    """The CAT048 records of some blocks as rows, each with its raw bytes (for dead
    letters), and the refusals of the framing in input order (``refused_after[k]``: the
    number of rows decoded before refusal k)."""

    rows: Rows
    raw: list[bytes]
    refused: list[Rejected] = field(default_factory=list)
    refused_after: list[int] = field(default_factory=list)


def decode_block(block: DataBlock) -> tuple[Rows, list[bytes], AsterixError | None]:
    """One CAT048 block's rows, each record's bytes, and the error that stopped decoding
    (the records before it are still good): `decode_records`' result, as columns."""
    body = block.body
    uniform = _uniform(body)
    try:
        if uniform is not None:
            layout, octets = uniform
            rows = empty_rows(len(octets))
            length = layout.length
            raws = [body[start : start + length] for start in range(0, len(body), length)]
            _fill(rows, octets, layout, raws.__getitem__)
            return rows, raws, None
        return _decode_grouped(block)
    except (_RowByRowError, AsterixError):
        pass
    records, error = decode_records(block)
    return rows_of_records([record for record, _ in records]), [raw for _, raw in records], error


def _decode_grouped(block: DataBlock) -> tuple[Rows, list[bytes], AsterixError | None]:
    """Records cut one by one, then read a layout group at a time."""
    cut: list[RawRecord] = []
    error: AsterixError | None = None
    try:
        cut.extend(split_records(block, cat048.UAP))
    except AsterixError as stopped:
        error = stopped
    groups: dict[tuple[bytes, tuple[int, ...]], list[int]] = {}
    fspec_lengths: list[int] = []
    for index, record in enumerate(cut):
        lengths = tuple(len(raw) for raw in record.items.values())
        fspec_length = len(record.raw) - sum(lengths)
        fspec_lengths.append(fspec_length)
        groups.setdefault((record.raw[:fspec_length], lengths), []).append(index)
    rows = empty_rows(len(cut))
    for members in groups.values():
        first = cut[members[0]]
        layout = _layout_of(first, fspec_lengths[members[0]])
        octets = np.frombuffer(b"".join(cut[k].raw for k in members), dtype=np.uint8)
        group_rows = empty_rows(len(members))
        group_raws = [cut[k].raw for k in members]
        _fill(
            group_rows,
            octets.reshape(len(members), layout.length),
            layout,
            group_raws.__getitem__,
        )
        rows[members] = group_rows
    if error is not None and any(item_id in _ROW_BY_ROW for r in cut for item_id in r.items):
        raise _RowByRowError  # the per-record decoder decides which records it keeps
    return rows, [record.raw for record in cut], error


def decode_cat048(data: bytes) -> Cat048Batch | None:
    """Every record of a stream of whole CAT048 data blocks, as rows; None when ``data``
    is anything else (another category, a cut or unframed block): the caller then uses
    `AsterixDecoder`, whose refusals say why."""
    offset = 0
    blocks = []
    try:
        while offset < len(data):
            length = block_length(data, offset)
            if length is None or offset + length > len(data) or data[offset] != cat048.CATEGORY:
                return None
            blocks.append((offset, length))
            offset += length
    except IngestError:
        return None
    all_rows: list[Rows] = []
    raw: list[bytes] = []
    batch = Cat048Batch(empty_rows(0), raw)
    count = 0
    for start, length in blocks:
        block_raw = data[start : start + length]
        block = DataBlock(48, block_raw[HEADER_LENGTH:], block_raw, 0)
        rows, raws, error = decode_block(block)
        all_rows.append(rows)
        raw.extend(raws)
        count += len(rows)
        if error is not None:
            batch.refused.append(
                Rejected(block_raw, f"{error.describe()} (record {len(rows) + 1})")
            )
            batch.refused_after.append(count)
    if all_rows:
        batch.rows = _concatenated(all_rows)
    return batch


def _concatenated(blocks: list[Rows]) -> Rows:
    """``np.concatenate`` of the blocks' rows: as bytes where they share one plain record
    type (numpy otherwise promotes the structured type pair by pair, 7 ms a capture of
    280 blocks; the bytes and the type are the same)."""
    kind = blocks[0].dtype
    if kind.hasobject or any(rows.dtype != kind for rows in blocks):
        return np.concatenate(blocks)
    octets = [np.ascontiguousarray(rows).view(np.uint8).reshape(-1) for rows in blocks]
    joined: Rows = np.concatenate(octets).view(kind)
    return joined


@dataclass
class PlotColumns:
    """CAT048 plots mapped as `cat048_to_detection` maps them, one row per plot that maps
    (``record`` its row in the batch); ``site`` indexes ``sites``."""

    record: NDArray[np.int64]
    times_us: NDArray[np.int64]  # POSIX microseconds (what the Detection's time holds)
    site: NDArray[np.int64]
    values: NDArray[np.float64]  # (n, 3) range m, azimuth deg, elevation deg
    variances: NDArray[np.float64]  # (n, 3) diagonal of the covariance
    sequence: NDArray[np.int64]  # the id counter of each detection
    icao24: list[str | None]
    callsign: list[str | None]
    sites: list[tuple[str, GeoPoint]]  # (sensor id, position)

    def detection_ids(self) -> list[str]:
        """Each detection's id, as `cat048_to_detection` writes it."""
        stamps = np.datetime_as_string(self.times_us.astype("datetime64[us]"), unit="us")
        sensor = [name for name, _ in self.sites]
        return [
            f"{sensor[site]}-{stamp[0:4]}{stamp[5:7]}{stamp[8:13]}{stamp[14:16]}{stamp[17:]}-{seq}"
            for site, stamp, seq in zip(
                self.site.tolist(), stamps.tolist(), self.sequence.tolist(), strict=True
            )
        ]


def map_plots(
    batch: Cat048Batch, sites: SiteTable, received_at: datetime, context: MappingContext
) -> tuple[PlotColumns, list[tuple[int, Rejected]]]:
    """`cat048_to_detection` on every row: the plots, and the refused rows' `Rejected`
    (with the row each follows), the framing refusals among them in their place."""
    rows = batch.rows
    count = len(rows)
    site_index = np.full(count, -1, dtype=np.int64)
    site_list: list[tuple[str, GeoPoint]] = []
    site_numbers: list[tuple[float, float, float]] = []
    keys = rows["sac"].astype(np.int64) * 256 + rows["sic"]
    for key in np.unique(keys[keys >= 0]).tolist():
        site = sites.get(key // 256, key % 256)
        if site is not None:
            site_index[keys == key] = len(site_list)
            site_list.append((sites.sensor_id(key // 256, key % 256), site.position))
            site_numbers.append((site.height_m, site.range_sigma_m, site.azimuth_sigma_deg))
    seconds = rows["time_of_day_s"]
    good = (
        (keys >= 0)
        & (seconds < SECONDS_PER_DAY)
        & np.isfinite(rows["rho_nm"])
        & np.isfinite(rows["theta_deg"])
        & (site_index >= 0)
    )
    kept = np.flatnonzero(good)
    refused: list[tuple[int, Rejected]] = []
    for index in np.flatnonzero(~good).tolist():
        try:
            cat048_to_detection(record_at(rows, index), context)
        except ValueError as error:
            reason = error.describe() if isinstance(error, IngestError) else f"CAT048: {error}"
            refused.append((index, Rejected(batch.raw[index], reason)))
        else:  # pragma: no cover - the test above is the mapping's own
            raise AssertionError(f"row {index} maps although refused")
    for after, rejected in zip(batch.refused_after, batch.refused, strict=True):
        refused.append((after - 1, rejected))
    refused.sort(key=lambda item: item[0])  # stable: a row's refusal before its block's
    first_sequence = context.sequence[0]
    context.sequence[0] += len(kept)  # each detection took the next id, as one by one
    plots = rows[kept]
    site_of = site_index[kept]
    numbers = np.array(site_numbers, dtype=np.float64).reshape(-1, 3)[site_of]
    range_m = plots["rho_nm"] * METRES_PER_NM
    three_d = ~np.isnan(plots["height_3d_ft"])
    flight_level = ~three_d & ~np.isnan(plots["flight_level"])
    height_m = np.where(
        three_d,
        plots["height_3d_ft"] * METRES_PER_FOOT,
        np.where(flight_level, plots["flight_level"] * 100.0 * METRES_PER_FOOT, ASSUMED_HEIGHT_M),
    )
    height_sigma = np.where(
        three_d,
        RADAR_3D_HEIGHT_SIGMA_M,
        np.where(flight_level, FLIGHT_LEVEL_HEIGHT_SIGMA_M, ASSUMED_HEIGHT_SIGMA_M),
    )
    elevation, elevation_variance = _elevations(range_m, numbers[:, 0], height_m, height_sigma)
    icao24 = [
        None if address < 0 else f"{address:06x}" for address in plots["aircraft_address"].tolist()
    ]
    callsign = [text.strip() or None for text in plots["aircraft_identification"].tolist()]
    return (
        PlotColumns(
            record=kept,
            times_us=_times_us(plots["time_of_day_s"], received_at),
            site=site_of,
            values=np.stack([range_m, plots["theta_deg"], elevation], axis=-1),
            variances=np.stack(
                [numbers[:, 1] ** 2, numbers[:, 2] ** 2, elevation_variance], axis=-1
            ),
            sequence=first_sequence + np.arange(1, len(kept) + 1),
            icao24=icao24,
            callsign=callsign,
            sites=site_list,
        ),
        refused,
    )


def _times_us(seconds: NDArray[np.float64], received_at: datetime) -> NDArray[np.int64]:
    """`time_of_day_to_datetime` in POSIX microseconds (it rounds to the microsecond,
    half to even, as numpy does)."""
    received = received_at.astimezone(UTC)
    midnight = received.replace(hour=0, minute=0, second=0, microsecond=0)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    midnight_us = (midnight - epoch) // timedelta(microseconds=1)
    received_us = (received - epoch) // timedelta(microseconds=1)
    candidate = midnight_us + np.round(seconds % SECONDS_PER_DAY * 1e6).astype(np.int64)
    day, half = 86_400_000_000, 43_200_000_000
    candidate = np.where(candidate - received_us > half, candidate - day, candidate)
    return np.where(received_us - candidate > half, candidate + day, candidate)


def _elevations(
    slant_range_m: NDArray[np.float64],
    sensor_height_m: NDArray[np.float64],
    target_height_m: NDArray[np.float64],
    height_sigma_m: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """`elevation_from_height` of every row, the same numbers: its sums, products,
    quotients and clamps on whole columns (IEEE operations, the same in numpy as in
    Python), while its arcsine, cosine and squares stay the math library's, one builtin
    call a row without a Python frame. numpy's arcsin, cos and power differ from the math
    library's in the last bit now and then, and the plots must be the decoder's exactly;
    `tests/ingest/asterix/test_batch.py` compares both on random and edge rows."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        radar_radius = EARTH_RADIUS_M + sensor_height_m
        target_radius = EARTH_RADIUS_M + target_height_m
        sine = (
            _squared(target_radius, repeated=True)
            - _squared(radar_radius, repeated=True)
            - _squared(slant_range_m)
        ) / (2.0 * radar_radius * slant_range_m)
        # ``max(-1.0, min(1.0, sine))``, NaN included: ``min`` keeps 1.0 unless ``sine`` is
        # smaller, ``max`` keeps the clamped value unless it is not above -1.0.
        clamped = np.where(sine < 1.0, sine, 1.0)
        clamped = np.where(clamped > -1.0, clamped, -1.0)
        elevation = _mapped(math.asin, clamped)
        horizontal = slant_range_m * _mapped(math.cos, elevation)
        horizontal = np.where(horizontal < 1.0, 1.0, horizontal)  # ``max(horizontal, 1.0)``
        # `math.degrees` multiplies by this quotient.
        sigma_deg = height_sigma_m / horizontal * (180.0 / math.pi)
        sigma_deg = np.where(sigma_deg > 90.0, 90.0, sigma_deg)  # ``min(sigma_deg, 90.0)``
        near = slant_range_m < 1.0
        elevation_deg = np.where(near, 0.0, elevation * (180.0 / math.pi))
        variance = np.where(near, 90.0**2, _squared(sigma_deg))
    return elevation_deg, variance


def _mapped(function: Callable[[float], float], values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.array(list(map(function, values.tolist())), dtype=np.float64).reshape(values.shape)


def _squared(values: NDArray[np.float64], repeated: bool = False) -> NDArray[np.float64]:
    """``value**2`` as Python computes it (the C library's ``pow``). ``repeated``: values
    that repeat (a site's height, flight levels), each distinct one squared once (NaNs
    kept apart, so each keeps its own bits)."""
    if not repeated:
        return _squares_by_pow(values)
    distinct, where = np.unique(values, return_inverse=True, equal_nan=False)
    return _squares_by_pow(distinct)[where.reshape(values.shape)]


def _squares_by_pow(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.array(
        list(map(pow, values.tolist(), repeat(2.0, values.size))), dtype=np.float64
    ).reshape(values.shape)


__all__ = [
    "CAT048_COLUMNS",
    "Cat048Batch",
    "PlotColumns",
    "decode_block",
    "decode_cat048",
    "map_plots",
    "record_at",
]
