"""CAT034: monoradar service messages (EUROCONTROL ASTERIX Part 2b, edition 1.27 UAP).

UAP (FRN: item, format)::

    1 I034/010 Data Source Identifier         2      8 I034/070 Message Count Values   1+2n
    2 I034/000 Message Type                   1      9 I034/100 Generic Polar Window   8
    3 I034/030 Time of Day                    3     10 I034/110 Data Filter            1
    4 I034/020 Sector Number                  1     11 I034/120 3D-Position of Source  8
    5 I034/041 Antenna Rotation Period        2     12 I034/090 Collimation Error      2
    6 I034/050 System Configuration/Status    compound  13 RE  Reserved Expansion   explicit
    7 I034/060 System Processing Mode         compound  14 SP  Special Purpose      explicit

Message types (I034/000): 1 north marker, 2 sector crossing, 3 geographical filtering,
4 jamming strobe, 5 solar storm, 6 SSR jamming strobe, 7 Mode S jamming strobe.
Bit 1 is the least significant bit of an item's last octet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hotzone.ingest.asterix import items
from hotzone.ingest.asterix.datablock import (
    Compound,
    Explicit,
    Fixed,
    ItemSpec,
    Repetitive,
    Uap,
    split_compound,
    unsigned,
)

CATEGORY = 34

MESSAGE_TYPES: dict[int, str] = {
    1: "north marker",
    2: "sector crossing",
    3: "geographical filtering",
    4: "jamming strobe",
    5: "solar storm",
    6: "SSR jamming strobe",
    7: "Mode S jamming strobe",
}

SYSTEM_STATUS = Compound(
    (("COM", Fixed(1)), None, None, ("PSR", Fixed(1)), ("SSR", Fixed(1)), ("MDS", Fixed(2)))
)
PROCESSING_MODE = Compound(
    (("COM", Fixed(1)), None, None, ("PSR", Fixed(1)), ("SSR", Fixed(1)), ("MDS", Fixed(1)))
)

UAP: Uap = (
    ItemSpec("I034/010", Fixed(2)),
    ItemSpec("I034/000", Fixed(1)),
    ItemSpec("I034/030", Fixed(3)),
    ItemSpec("I034/020", Fixed(1)),
    ItemSpec("I034/041", Fixed(2)),
    ItemSpec("I034/050", SYSTEM_STATUS),
    ItemSpec("I034/060", PROCESSING_MODE),
    ItemSpec("I034/070", Repetitive(2)),
    ItemSpec("I034/100", Fixed(8)),
    ItemSpec("I034/110", Fixed(1)),
    ItemSpec("I034/120", Fixed(8)),
    ItemSpec("I034/090", Fixed(2)),
    ItemSpec("RE", Explicit()),
    ItemSpec("SP", Explicit()),
)


@dataclass(slots=True)
class Cat034Record:
    """One decoded CAT034 service message; None where the item was absent."""

    sac: int | None = None
    sic: int | None = None
    message_type: int | None = None
    time_of_day_s: float | None = None
    sector_azimuth_deg: float | None = None
    antenna_rotation_period_s: float | None = None
    no_go: bool | None = None  # I034/050 COM NOGO: system not released for operational use
    processor_overload: bool | None = None  # COM OVL RDP
    transmission_overload: bool | None = None  # COM OVL XMT
    monitoring_disconnected: bool | None = None  # COM MSC
    time_source_invalid: bool | None = None  # COM TSV
    psr_overload: bool | None = None
    ssr_overload: bool | None = None
    mode_s_overload: bool | None = None


def decode_sector_number(raw: bytes, record: Cat034Record) -> None:
    """I034/020: bits 8-1 sector azimuth, LSB 360/2^8 deg."""
    record.sector_azimuth_deg = raw[0] * 360.0 / 256.0


def decode_rotation_period(raw: bytes, record: Cat034Record) -> None:
    """I034/041: bits 16-1 antenna rotation period, LSB 1/128 s."""
    record.antenna_rotation_period_s = unsigned(raw) / 128.0


def decode_system_status(raw: bytes, record: Cat034Record) -> None:
    """I034/050 subfields.

    COM: bit 8 NOGO, bit 7 RDPC, bit 6 RDPR, bit 5 OVL RDP, bit 4 OVL XMT, bit 3 MSC,
    bit 2 TSV. PSR and SSR: bit 5 OVL. MDS (2 octets): bit 13 OVL SUR.
    """
    subfields = split_compound(raw, SYSTEM_STATUS, "I034/050")
    common = subfields.get("COM")
    if common is not None:
        octet = common[0]
        record.no_go = bool(octet & 0x80)
        record.processor_overload = bool(octet & 0x10)
        record.transmission_overload = bool(octet & 0x08)
        record.monitoring_disconnected = bool(octet & 0x04)
        record.time_source_invalid = bool(octet & 0x02)
    if "PSR" in subfields:
        record.psr_overload = bool(subfields["PSR"][0] & 0x10)
    if "SSR" in subfields:
        record.ssr_overload = bool(subfields["SSR"][0] & 0x10)
    if "MDS" in subfields:
        record.mode_s_overload = bool(subfields["MDS"][0] & 0x10)


ITEM_DECODERS: dict[str, Callable[[bytes, Cat034Record], None]] = {
    "I034/010": items.decode_data_source,
    "I034/000": items.decode_message_type,
    "I034/030": items.decode_time_of_day,
    "I034/020": decode_sector_number,
    "I034/041": decode_rotation_period,
    "I034/050": decode_system_status,
}
