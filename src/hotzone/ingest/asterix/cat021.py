"""CAT021: ADS-B target reports (EUROCONTROL ASTERIX Part 12, edition 2.x UAP).

UAP (FRN: item, format)::

    1 I021/010 Data Source Identification    2      22 I021/152 Magnetic Heading            2
    2 I021/040 Target Report Descriptor      1+     23 I021/200 Target Status               1
    3 I021/161 Track Number                  2      24 I021/155 Barometric Vertical Rate    2
    4 I021/015 Service Identification        1      25 I021/157 Geometric Vertical Rate     2
    5 I021/071 Time of Applicability (pos.)  3      26 I021/160 Airborne Ground Vector      4
    6 I021/130 Position WGS-84               6      27 I021/165 Track Angle Rate            2
    7 I021/131 Position WGS-84 high res.     8      28 I021/077 Time of Report Transmission 3
    8 I021/072 Time of Applicability (vel.)  3      29 I021/170 Target Identification       6
    9 I021/150 Air Speed                     2      30 I021/020 Emitter Category            1
   10 I021/151 True Air Speed                2      31 I021/220 Met Information             compound
   11 I021/080 Target Address                3      32 I021/146 Selected Altitude           2
   12 I021/073 Time of Reception (pos.)      3      33 I021/148 Final State Sel. Altitude   2
   13 I021/074 Time of Reception (pos., HP)  4      34 I021/110 Trajectory Intent           compound
   14 I021/075 Time of Reception (vel.)      3      35 I021/016 Service Management          1
   15 I021/076 Time of Reception (vel., HP)  4      36 I021/008 Aircraft Operational Status 1
   16 I021/140 Geometric Height              2      37 I021/271 Surface Capabilities        1+
   17 I021/090 Quality Indicators            1+     38 I021/132 Message Amplitude           1
   18 I021/210 MOPS Version                  1      39 I021/250 Mode S MB Data              1+8n
   19 I021/070 Mode 3/A Code                 2      40 I021/260 ACAS RA Report              7
   20 I021/230 Roll Angle                    2      41 I021/400 Receiver ID                 1
   21 I021/145 Flight Level                  2      42 I021/295 Data Ages                   compound
   43-47 spare, 48 RE (explicit), 49 SP (explicit)

Bit 1 is the least significant bit of an item's last octet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hotzone.ingest.asterix import items
from hotzone.ingest.asterix.datablock import (
    Compound,
    Explicit,
    Extended,
    Fixed,
    ItemSpec,
    Repetitive,
    Uap,
    signed,
    six_bit_characters,
    unsigned,
)

CATEGORY = 21

_ONE = Fixed(1)
MET_INFORMATION = Compound((("WS", Fixed(2)), ("WD", Fixed(2)), ("TMP", Fixed(2)), ("TRB", _ONE)))
TRAJECTORY_INTENT = Compound((("TIS", Extended()), ("TID", Repetitive(15))))
DATA_AGES = Compound(tuple((f"AGE{index}", _ONE) for index in range(1, 24)))

UAP: Uap = (
    ItemSpec("I021/010", Fixed(2)),
    ItemSpec("I021/040", Extended()),
    ItemSpec("I021/161", Fixed(2)),
    ItemSpec("I021/015", Fixed(1)),
    ItemSpec("I021/071", Fixed(3)),
    ItemSpec("I021/130", Fixed(6)),
    ItemSpec("I021/131", Fixed(8)),
    ItemSpec("I021/072", Fixed(3)),
    ItemSpec("I021/150", Fixed(2)),
    ItemSpec("I021/151", Fixed(2)),
    ItemSpec("I021/080", Fixed(3)),
    ItemSpec("I021/073", Fixed(3)),
    ItemSpec("I021/074", Fixed(4)),
    ItemSpec("I021/075", Fixed(3)),
    ItemSpec("I021/076", Fixed(4)),
    ItemSpec("I021/140", Fixed(2)),
    ItemSpec("I021/090", Extended()),
    ItemSpec("I021/210", Fixed(1)),
    ItemSpec("I021/070", Fixed(2)),
    ItemSpec("I021/230", Fixed(2)),
    ItemSpec("I021/145", Fixed(2)),
    ItemSpec("I021/152", Fixed(2)),
    ItemSpec("I021/200", Fixed(1)),
    ItemSpec("I021/155", Fixed(2)),
    ItemSpec("I021/157", Fixed(2)),
    ItemSpec("I021/160", Fixed(4)),
    ItemSpec("I021/165", Fixed(2)),
    ItemSpec("I021/077", Fixed(3)),
    ItemSpec("I021/170", Fixed(6)),
    ItemSpec("I021/020", Fixed(1)),
    ItemSpec("I021/220", MET_INFORMATION),
    ItemSpec("I021/146", Fixed(2)),
    ItemSpec("I021/148", Fixed(2)),
    ItemSpec("I021/110", TRAJECTORY_INTENT),
    ItemSpec("I021/016", Fixed(1)),
    ItemSpec("I021/008", Fixed(1)),
    ItemSpec("I021/271", Extended()),
    ItemSpec("I021/132", Fixed(1)),
    ItemSpec("I021/250", Repetitive(8)),
    ItemSpec("I021/260", Fixed(7)),
    ItemSpec("I021/400", Fixed(1)),
    ItemSpec("I021/295", DATA_AGES),
    None,
    None,
    None,
    None,
    None,
    ItemSpec("RE", Explicit()),
    ItemSpec("SP", Explicit()),
)

DEG_PER_POSITION_LSB = 180.0 / (1 << 23)
DEG_PER_HIGH_RES_LSB = 180.0 / (1 << 30)


@dataclass(slots=True)
class Cat021Record:
    """One decoded CAT021 ADS-B report; None where the item was absent."""

    sac: int | None = None
    sic: int | None = None
    address_type: int | None = None  # I021/040 ATYP: 0 ICAO 24-bit, 1 duplicate, ...
    simulated: bool = False
    test_target: bool = False
    on_ground: bool | None = None  # I021/040 GBS (None: the extension is absent)
    track_number: int | None = None
    time_of_applicability_position_s: float | None = None
    time_of_reception_position_s: float | None = None
    time_of_applicability_velocity_s: float | None = None
    time_of_transmission_s: float | None = None
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    latitude_high_res_deg: float | None = None
    longitude_high_res_deg: float | None = None
    target_address: int | None = None
    geometric_height_ft: float | None = None
    nucr_nacv: int | None = None
    nucp_nic: int | None = None
    nic_baro: int | None = None
    sil: int | None = None
    nacp: int | None = None
    sil_supplement: int | None = None
    sda: int | None = None
    gva: int | None = None
    mops_version: int | None = None
    mode_3a: str | None = None
    flight_level: float | None = None
    barometric_vertical_rate_ft_min: float | None = None
    geometric_vertical_rate_ft_min: float | None = None
    ground_speed_nm_s: float | None = None
    track_angle_deg: float | None = None
    target_identification: str | None = None
    emitter_category: int | None = None


def decode_target_report_descriptor(raw: bytes, record: Cat021Record) -> None:
    """I021/040: octet 1 bits 8-6 ATP; first extension bit 7 GBS (the transponder's
    ground bit set: on the ground), bit 6 SIM, bit 5 TST."""
    record.address_type = raw[0] >> 5
    if len(raw) > 1:
        record.on_ground = bool(raw[1] & 0x40)
        record.simulated = bool(raw[1] & 0x20)
        record.test_target = bool(raw[1] & 0x10)


def decode_track_number(raw: bytes, record: Cat021Record) -> None:
    """I021/161: bits 12-1 track number."""
    record.track_number = unsigned(raw) & 0x0FFF


def decode_applicability_position(raw: bytes, record: Cat021Record) -> None:
    """I021/071: bits 24-1 time of applicability for position, LSB 1/128 s."""
    record.time_of_applicability_position_s = items.time_of_day(raw)


def decode_position(raw: bytes, record: Cat021Record) -> None:
    """I021/130: bits 48-25 latitude, bits 24-1 longitude, two's complement, 180/2^23 deg."""
    record.latitude_deg = signed(raw[0:3]) * DEG_PER_POSITION_LSB
    record.longitude_deg = signed(raw[3:6]) * DEG_PER_POSITION_LSB


def decode_high_res_position(raw: bytes, record: Cat021Record) -> None:
    """I021/131: bits 64-33 latitude, bits 32-1 longitude, two's complement, 180/2^30 deg."""
    record.latitude_high_res_deg = signed(raw[0:4]) * DEG_PER_HIGH_RES_LSB
    record.longitude_high_res_deg = signed(raw[4:8]) * DEG_PER_HIGH_RES_LSB


def decode_applicability_velocity(raw: bytes, record: Cat021Record) -> None:
    """I021/072: bits 24-1 time of applicability for velocity, LSB 1/128 s."""
    record.time_of_applicability_velocity_s = items.time_of_day(raw)


def decode_target_address(raw: bytes, record: Cat021Record) -> None:
    """I021/080: bits 24-1 target address."""
    record.target_address = unsigned(raw)


def decode_reception_position(raw: bytes, record: Cat021Record) -> None:
    """I021/073: bits 24-1 time of message reception for position, LSB 1/128 s."""
    record.time_of_reception_position_s = items.time_of_day(raw)


def decode_geometric_height(raw: bytes, record: Cat021Record) -> None:
    """I021/140: bits 16-1 geometric height, two's complement, LSB 6.25 ft."""
    record.geometric_height_ft = signed(raw) * 6.25


def decode_quality_indicators(raw: bytes, record: Cat021Record) -> None:
    """I021/090.

    Octet 1: bits 8-6 NUCr/NACv, bits 5-2 NUCp/NIC. First extension: bit 8 NICbaro,
    bits 7-6 SIL, bits 5-2 NACp. Second extension: bit 6 SIL supplement, bits 5-4 SDA,
    bits 3-2 GVA.
    """
    record.nucr_nacv = raw[0] >> 5
    record.nucp_nic = (raw[0] >> 1) & 0x0F
    if len(raw) > 1:
        record.nic_baro = raw[1] >> 7
        record.sil = (raw[1] >> 5) & 0x03
        record.nacp = (raw[1] >> 1) & 0x0F
    if len(raw) > 2:
        record.sil_supplement = (raw[2] >> 5) & 0x01
        record.sda = (raw[2] >> 3) & 0x03
        record.gva = (raw[2] >> 1) & 0x03


def decode_mops_version(raw: bytes, record: Cat021Record) -> None:
    """I021/210: bits 6-4 version number."""
    record.mops_version = (raw[0] >> 3) & 0x07


def decode_flight_level(raw: bytes, record: Cat021Record) -> None:
    """I021/145: bits 16-1 flight level, two's complement, LSB 1/4 FL."""
    record.flight_level = signed(raw) / 4.0


def decode_barometric_vertical_rate(raw: bytes, record: Cat021Record) -> None:
    """I021/155: bit 16 RE, bits 15-1 rate two's complement, LSB 6.25 ft/min."""
    record.barometric_vertical_rate_ft_min = signed(raw, 15) * 6.25


def decode_geometric_vertical_rate(raw: bytes, record: Cat021Record) -> None:
    """I021/157: bit 16 RE, bits 15-1 rate two's complement, LSB 6.25 ft/min."""
    record.geometric_vertical_rate_ft_min = signed(raw, 15) * 6.25


def decode_ground_vector(raw: bytes, record: Cat021Record) -> None:
    """I021/160: bit 32 RE, bits 31-17 ground speed (LSB 2^-14 NM/s), bits 16-1 track
    angle (LSB 360/2^16 deg)."""
    record.ground_speed_nm_s = (unsigned(raw[0:2]) & 0x7FFF) / 16384.0
    record.track_angle_deg = unsigned(raw[2:4]) * 360.0 / 65536.0


def decode_transmission_time(raw: bytes, record: Cat021Record) -> None:
    """I021/077: bits 24-1 time of ASTERIX report transmission, LSB 1/128 s."""
    record.time_of_transmission_s = items.time_of_day(raw)


def decode_target_identification(raw: bytes, record: Cat021Record) -> None:
    """I021/170: bits 48-1 eight 6-bit characters (IA-5)."""
    record.target_identification = six_bit_characters(raw)


def decode_emitter_category(raw: bytes, record: Cat021Record) -> None:
    """I021/020: bits 8-1 emitter category (1 light ... 6 heavy, 13 UAV, ...)."""
    record.emitter_category = raw[0]


ITEM_DECODERS: dict[str, Callable[[bytes, Cat021Record], None]] = {
    "I021/010": items.decode_data_source,
    "I021/040": decode_target_report_descriptor,
    "I021/161": decode_track_number,
    "I021/071": decode_applicability_position,
    "I021/130": decode_position,
    "I021/131": decode_high_res_position,
    "I021/072": decode_applicability_velocity,
    "I021/080": decode_target_address,
    "I021/073": decode_reception_position,
    "I021/140": decode_geometric_height,
    "I021/090": decode_quality_indicators,
    "I021/210": decode_mops_version,
    "I021/070": items.decode_mode_3a,
    "I021/145": decode_flight_level,
    "I021/155": decode_barometric_vertical_rate,
    "I021/157": decode_geometric_vertical_rate,
    "I021/160": decode_ground_vector,
    "I021/077": decode_transmission_time,
    "I021/170": decode_target_identification,
    "I021/020": decode_emitter_category,
}
