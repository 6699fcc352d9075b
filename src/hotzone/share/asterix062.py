"""hotzone tracks -> ASTERIX CAT062 system tracks, for consoles and other SDPS.

Each `Track` becomes one CAT062 record with these items (FRN in brackets)::

    I062/010 [1]  SAC/SIC of this hotzone node
    I062/015 [3]  service identification
    I062/070 [4]  time of track information: UTC seconds since midnight, LSB 1/128 s
    I062/105 [5]  WGS-84 latitude/longitude, 32-bit two's complement, LSB 180/2^25 deg
    I062/185 [7]  velocity Vx (east), Vy (north), 16-bit two's complement, LSB 0.25 m/s
    I062/060 [9]  Mode 3/A code (when the caller knows one)
    I062/380 [11] aircraft derived data: ADR (ICAO 24-bit address), ID (callsign, IA-5)
    I062/040 [12] track number (16 bits; hotzone numbers above 65535 wrap)
    I062/080 [13] track status: MON, CNF (tentative), first extension with TSE (deleted)
    I062/130 [18] geometric altitude (height above the ellipsoid), LSB 6.25 ft
    I062/220 [20] rate of climb/descent, LSB 6.25 ft/min

Records are packed into data blocks (CAT 62, LEN) no longer than ``max_block_bytes`` so
that each block fits one UDP datagram. Values outside an item's range are clamped to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from hotzone.types import Track, TrackStatus
from hotzone.types.arrays import BoolArray, FloatArray, IntArray

CATEGORY = 62
METRES_PER_FOOT = 0.3048
DEFAULT_MAX_BLOCK_BYTES = 1400  # below a 1500-octet Ethernet MTU with IP/UDP headers
_IA5 = {**{chr(ord("A") + i): i + 1 for i in range(26)}, " ": 32}
_IA5.update({str(digit): 48 + digit for digit in range(10)})

# FRNs of the items written, in UAP order.
FRN_DATA_SOURCE = 1
FRN_SERVICE_ID = 3
FRN_TIME = 4
FRN_POSITION = 5
FRN_VELOCITY = 7
FRN_MODE_3A = 9
FRN_AIRCRAFT_DERIVED = 11
FRN_TRACK_NUMBER = 12
FRN_TRACK_STATUS = 13
FRN_GEOMETRIC_ALTITUDE = 18
FRN_RATE_OF_CLIMB = 20


def _clamp_signed(value: float, bits: int) -> int:
    limit = 1 << (bits - 1)
    return max(-limit, min(limit - 1, round(value)))


def _signed_bytes(value: float, octets: int) -> bytes:
    return _clamp_signed(value, 8 * octets).to_bytes(octets, "big", signed=True)


def six_bit_callsign(callsign: str) -> bytes:
    """Eight IA-5 6-bit characters in 6 octets; other characters become spaces."""
    text = callsign.upper()[:8].ljust(8)
    value = 0
    for character in text:
        value = (value << 6) | _IA5.get(character, 32)
    return value.to_bytes(6, "big")


def fspec(frns: Iterable[int]) -> bytes:
    """FSPEC octets flagging ``frns``: bits 8..2 of octet k are FRNs 7k+1..7k+7, bit 1 FX."""
    present = sorted(set(frns))
    octets = bytearray((present[-1] + 6) // 7 if present else 1)
    for frn in present:
        index, bit = divmod(frn - 1, 7)
        octets[index] |= 0x80 >> bit
    for index in range(len(octets) - 1):
        octets[index] |= 0x01
    return bytes(octets)


def encode_record(
    track: Track,
    *,
    sac: int,
    sic: int,
    service_id: int = 1,
    mode_3a: str | None = None,
) -> bytes:
    """One CAT062 record (FSPEC + items) for ``track``."""
    items: dict[int, bytes] = {}
    items[FRN_DATA_SOURCE] = bytes((sac & 0xFF, sic & 0xFF))
    items[FRN_SERVICE_ID] = bytes((service_id & 0xFF,))
    time = track.time.astimezone(UTC)
    seconds = time.hour * 3600 + time.minute * 60 + time.second + time.microsecond / 1e6
    items[FRN_TIME] = (round(seconds * 128) % (86400 * 128)).to_bytes(3, "big")
    scale = (1 << 25) / 180.0
    items[FRN_POSITION] = _signed_bytes(track.position.lat_deg * scale, 4) + _signed_bytes(
        track.position.lon_deg * scale, 4
    )
    east, north, up = track.enu_velocity_mps
    items[FRN_VELOCITY] = _signed_bytes(east / 0.25, 2) + _signed_bytes(north / 0.25, 2)
    if mode_3a is not None:
        items[FRN_MODE_3A] = (int(mode_3a, 8) & 0x0FFF).to_bytes(2, "big")
    derived = _aircraft_derived_data(track)
    if derived is not None:
        items[FRN_AIRCRAFT_DERIVED] = derived
    items[FRN_TRACK_NUMBER] = (track.track_number & 0xFFFF).to_bytes(2, "big")
    items[FRN_TRACK_STATUS] = _track_status(track)
    feet = track.position.height_m / METRES_PER_FOOT
    items[FRN_GEOMETRIC_ALTITUDE] = _signed_bytes(max(-1500.0, min(150000.0, feet)) / 6.25, 2)
    items[FRN_RATE_OF_CLIMB] = _signed_bytes(up / METRES_PER_FOOT * 60.0 / 6.25, 2)
    return fspec(items) + b"".join(items[frn] for frn in sorted(items))


def _aircraft_derived_data(track: Track) -> bytes | None:
    """I062/380 with subfields ADR (bit 8 of the primary) and ID (bit 7) when known."""
    primary = 0
    subfields = b""
    if track.icao24:
        primary |= 0x80
        subfields += int(track.icao24, 16).to_bytes(3, "big")
    if track.callsign:
        primary |= 0x40
        subfields += six_bit_callsign(track.callsign)
    return bytes((primary,)) + subfields if primary else None


def _track_status(track: Track) -> bytes:
    """I062/080 octet 1: MON (bit 8, single sensor), CNF (bit 2, tentative), FX;
    first extension: TSE (bit 7, last message of a deleted track)."""
    first = 0x01
    if len(track.sensors) <= 1:
        first |= 0x80
    if track.status == TrackStatus.TENTATIVE:
        first |= 0x02
    extension = 0x40 if track.status == TrackStatus.DELETED else 0x00
    return bytes((first, extension))


def encode_tracks(
    tracks: Iterable[Track],
    *,
    sac: int,
    sic: int,
    service_id: int = 1,
    mode_3a_codes: Mapping[str, str] | None = None,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
) -> Iterator[bytes]:
    """CAT062 data blocks holding every track, each at most ``max_block_bytes`` long.

    ``mode_3a_codes`` maps a track id to its octal Mode 3/A code where one is known.
    """
    codes = mode_3a_codes or {}
    pending: list[bytes] = []
    size = 3
    for track in tracks:
        record = encode_record(
            track, sac=sac, sic=sic, service_id=service_id, mode_3a=codes.get(track.track_id)
        )
        if pending and size + len(record) > max_block_bytes:
            yield _block(pending, size)
            pending, size = [], 3
        pending.append(record)
        size += len(record)
    if pending:
        yield _block(pending, size)


def _block(records: list[bytes], size: int) -> bytes:
    return bytes((CATEGORY,)) + size.to_bytes(2, "big") + b"".join(records)


@dataclass(frozen=True)
class TrackColumns:
    """The tracks of one moment as columns, what `encode_record` reads of each `Track`:
    WGS-84 ``latitude``/``longitude``/``height`` (deg, m), ``velocity`` (n, 3) ENU m/s,
    ``track_number``, ``tentative``, ``single_sensor`` (seen by at most one sensor: MON),
    ``icao24`` and ``callsign`` (None or "" where unknown); ``ended`` (None: none) the
    deleted tracks' last records (TSE)."""

    time: datetime
    latitude: FloatArray
    longitude: FloatArray
    height: FloatArray
    velocity: FloatArray
    track_number: IntArray
    tentative: BoolArray
    single_sensor: BoolArray
    icao24: Sequence[str | None]
    callsign: Sequence[str | None]
    ended: BoolArray | None = None


def _clamped(values: FloatArray, bits: int) -> IntArray:
    """`_clamp_signed` on an array: round half to even (as `round`), then clamp."""
    limit = 1 << (bits - 1)
    return np.clip(np.rint(values), -limit, limit - 1).astype(np.int64)


def _big_endian(values: IntArray, octets: int) -> NDArray[np.uint8]:
    """(n, octets) two's complement big-endian bytes of ``values``."""
    unsigned = values.astype(np.int64) & ((1 << (8 * octets)) - 1)
    shifts = np.arange(8 * (octets - 1), -1, -8)
    return ((unsigned[:, None] >> shifts) & 0xFF).astype(np.uint8)


def encode_track_columns(
    tracks: TrackColumns,
    *,
    sac: int,
    sic: int,
    service_id: int = 1,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
) -> bytes:
    """`encode_tracks` of the tracks ``tracks`` stands for (no Mode 3/A codes), the items
    of all records built at once: the same data blocks, byte for byte."""
    count = len(tracks.track_number)
    if count == 0:
        return b""
    time = tracks.time.astimezone(UTC)
    seconds = time.hour * 3600 + time.minute * 60 + time.second + time.microsecond / 1e6
    stamp = (round(seconds * 128) % (86400 * 128)).to_bytes(3, "big")
    scale = (1 << 25) / 180.0
    east, north, up = tracks.velocity[:, 0], tracks.velocity[:, 1], tracks.velocity[:, 2]
    feet = tracks.height / METRES_PER_FOOT
    status = np.where(tracks.single_sensor, 0x81, 0x01) | np.where(tracks.tentative, 0x02, 0)
    # The first extension of I062/080: TSE on a deleted track's last record.
    track_end = (
        np.zeros(count, dtype=np.int64)
        if tracks.ended is None
        else np.where(tracks.ended, 0x40, 0x00).astype(np.int64)
    )
    head = np.concatenate(
        [
            np.tile(
                np.frombuffer(
                    bytes((sac & 0xFF, sic & 0xFF, service_id & 0xFF)) + stamp, dtype=np.uint8
                ),
                (count, 1),
            ),
            _big_endian(_clamped(tracks.latitude * scale, 32), 4),
            _big_endian(_clamped(tracks.longitude * scale, 32), 4),
            _big_endian(_clamped(east / 0.25, 16), 2),
            _big_endian(_clamped(north / 0.25, 16), 2),
        ],
        axis=1,
    )
    tail = np.concatenate(
        [
            _big_endian(tracks.track_number.astype(np.int64) & 0xFFFF, 2),
            np.stack([status, track_end], axis=1).astype(np.uint8),
            _big_endian(_clamped(np.clip(feet, -1500.0, 150000.0) / 6.25, 16), 2),
            _big_endian(_clamped(up / METRES_PER_FOOT * 60.0 / 6.25, 16), 2),
        ],
        axis=1,
    )
    # A radar's tracks carry no address or callsign: no item to build for any of them.
    identified = any(tracks.icao24) or any(tracks.callsign)
    derived = (
        [
            _derived_of(icao24, callsign)
            for icao24, callsign in zip(tracks.icao24, tracks.callsign, strict=True)
        ]
        if identified
        else [b""] * count
    )
    plain = fspec(_FRNS)
    with_derived = fspec((*_FRNS, FRN_AIRCRAFT_DERIVED))
    if not any(derived):
        records = np.concatenate(
            [np.tile(np.frombuffer(plain, dtype=np.uint8), (count, 1)), head, tail], axis=1
        )
        per_block = (max_block_bytes - 3) // records.shape[1]
        if per_block >= 1:
            blocks = []
            for first in range(0, count, per_block):
                chunk = records[first : first + per_block]
                blocks.append(_block([chunk.tobytes()], 3 + chunk.size))
            return b"".join(blocks)
    heads, tails = head.tobytes(), tail.tobytes()
    head_length, tail_length = head.shape[1], tail.shape[1]
    encoded = [
        (with_derived if extra else plain)
        + heads[index * head_length : (index + 1) * head_length]
        + extra
        + tails[index * tail_length : (index + 1) * tail_length]
        for index, extra in enumerate(derived)
    ]
    return b"".join(_packed(encoded, max_block_bytes))


#: The items every record has (all but I062/060 and I062/380), in UAP order.
_FRNS = (
    FRN_DATA_SOURCE,
    FRN_SERVICE_ID,
    FRN_TIME,
    FRN_POSITION,
    FRN_VELOCITY,
    FRN_TRACK_NUMBER,
    FRN_TRACK_STATUS,
    FRN_GEOMETRIC_ALTITUDE,
    FRN_RATE_OF_CLIMB,
)


def _derived_of(icao24: str | None, callsign: str | None) -> bytes:
    """`_aircraft_derived_data`'s item, b"" where it has none."""
    primary = 0
    subfields = b""
    if icao24:
        primary |= 0x80
        subfields += int(icao24, 16).to_bytes(3, "big")
    if callsign:
        primary |= 0x40
        subfields += six_bit_callsign(callsign)
    return bytes((primary,)) + subfields if primary else b""


def _packed(records: Iterable[bytes], max_block_bytes: int) -> Iterator[bytes]:
    """Records into blocks as `encode_tracks` packs them."""
    pending: list[bytes] = []
    size = 3
    for record in records:
        if pending and size + len(record) > max_block_bytes:
            yield _block(pending, size)
            pending, size = [], 3
        pending.append(record)
        size += len(record)
    if pending:
        yield _block(pending, size)
