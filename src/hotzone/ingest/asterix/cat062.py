"""CAT062: SDPS system track data (EUROCONTROL ASTERIX Part 9, edition 1.18 UAP).

UAP (FRN: item, format)::

    1 I062/010 Data Source Identifier        2      15 I062/200 Mode of Movement          1
    2 -        spare                                16 I062/295 Track Data Ages           compound
    3 I062/015 Service Identification        1      17 I062/136 Measured Flight Level     2
    4 I062/070 Time Of Track Information     3      18 I062/130 Geometric Altitude        2
    5 I062/105 Position WGS-84               8      19 I062/135 Barometric Altitude       2
    6 I062/100 Position Cartesian            6      20 I062/220 Rate Of Climb/Descent     2
    7 I062/185 Velocity Cartesian            4      21 I062/390 Flight Plan Related Data  compound
    8 I062/210 Acceleration                  2      22 I062/270 Target Size/Orientation   1+
    9 I062/060 Track Mode 3/A Code           2      23 I062/300 Vehicle Fleet Id          1
   10 I062/245 Target Identification       7      24 I062/110 Mode 5 / Extended Mode 1  compound
   11 I062/380 Aircraft Derived Data         compound 25 I062/120 Track Mode 2 Code       2
   12 I062/040 Track Number                  2      26 I062/510 Composed Track Number     3+
   13 I062/080 Track Status                  1+     27 I062/500 Estimated Accuracies      compound
   14 I062/290 System Track Update Ages      compound 28 I062/340 Measured Information   compound
   29-33 spare, 34 RE (explicit), 35 SP (explicit)

I062/380 subfields (7 per primary octet): ADR 3, ID 6, MHG 2, IAS 2, TAS 2, SAL 2, FSS 2 |
TIS 1+, TID 1+15n, COM 2, SAB 2, ACS 7, BVR 2, GVR 2 | RAN 2, TAR 2, TAN 2, GSP 2, VUN 1,
MET 8, EMC 1 | POS 6, GAL 2, PUN 1, MB 1+8n, IAR 2, MAC 2, BPS 2.
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
    split_compound,
    unsigned,
)

CATEGORY = 62

_ONE = Fixed(1)
AIRCRAFT_DERIVED_DATA = Compound(
    (
        ("ADR", Fixed(3)),
        ("ID", Fixed(6)),
        ("MHG", Fixed(2)),
        ("IAS", Fixed(2)),
        ("TAS", Fixed(2)),
        ("SAL", Fixed(2)),
        ("FSS", Fixed(2)),
        ("TIS", Extended()),
        ("TID", Repetitive(15)),
        ("COM", Fixed(2)),
        ("SAB", Fixed(2)),
        ("ACS", Fixed(7)),
        ("BVR", Fixed(2)),
        ("GVR", Fixed(2)),
        ("RAN", Fixed(2)),
        ("TAR", Fixed(2)),
        ("TAN", Fixed(2)),
        ("GSP", Fixed(2)),
        ("VUN", _ONE),
        ("MET", Fixed(8)),
        ("EMC", _ONE),
        ("POS", Fixed(6)),
        ("GAL", Fixed(2)),
        ("PUN", _ONE),
        ("MB", Repetitive(8)),
        ("IAR", Fixed(2)),
        ("MAC", Fixed(2)),
        ("BPS", Fixed(2)),
    )
)
UPDATE_AGES = Compound(
    tuple(
        (name, Fixed(2) if name == "ADS" else _ONE)
        for name in ("TRK", "PSR", "SSR", "MDS", "ADS", "ES", "VDL", "UAT", "LOP", "MLT")
    )
)
DATA_AGES = Compound(tuple((f"AGE{index}", _ONE) for index in range(1, 32)))
FLIGHT_PLAN_DATA = Compound(
    (
        ("TAG", Fixed(2)),
        ("CSN", Fixed(7)),
        ("IFI", Fixed(4)),
        ("FCT", _ONE),
        ("TAC", Fixed(4)),
        ("WTC", _ONE),
        ("DEP", Fixed(4)),
        ("DST", Fixed(4)),
        ("RDS", Fixed(3)),
        ("CFL", Fixed(2)),
        ("CTL", Fixed(2)),
        ("TOD", Repetitive(4)),
        ("AST", Fixed(6)),
        ("STS", _ONE),
        ("STD", Fixed(7)),
        ("STA", Fixed(7)),
        ("PEM", Fixed(2)),
        ("PEC", Fixed(7)),
    )
)
MODE_5_DATA = Compound(
    (
        ("SUM", _ONE),
        ("PMN", Fixed(4)),
        ("POS", Fixed(6)),
        ("GA", Fixed(2)),
        ("EM1", Fixed(2)),
        ("TOS", _ONE),
        ("XP", _ONE),
    )
)
ESTIMATED_ACCURACIES = Compound(
    (
        ("APC", Fixed(4)),
        ("COV", Fixed(2)),
        ("APW", Fixed(4)),
        ("AGA", _ONE),
        ("ABA", _ONE),
        ("ATV", Fixed(2)),
        ("AA", Fixed(2)),
        ("ARC", _ONE),
    )
)
MEASURED_INFORMATION = Compound(
    (
        ("SID", Fixed(2)),
        ("POS", Fixed(4)),
        ("HEI", Fixed(2)),
        ("MDC", Fixed(2)),
        ("MDA", Fixed(2)),
        ("TYP", _ONE),
    )
)

UAP: Uap = (
    ItemSpec("I062/010", Fixed(2)),
    None,
    ItemSpec("I062/015", Fixed(1)),
    ItemSpec("I062/070", Fixed(3)),
    ItemSpec("I062/105", Fixed(8)),
    ItemSpec("I062/100", Fixed(6)),
    ItemSpec("I062/185", Fixed(4)),
    ItemSpec("I062/210", Fixed(2)),
    ItemSpec("I062/060", Fixed(2)),
    ItemSpec("I062/245", Fixed(7)),
    ItemSpec("I062/380", AIRCRAFT_DERIVED_DATA),
    ItemSpec("I062/040", Fixed(2)),
    ItemSpec("I062/080", Extended()),
    ItemSpec("I062/290", UPDATE_AGES),
    ItemSpec("I062/200", Fixed(1)),
    ItemSpec("I062/295", DATA_AGES),
    ItemSpec("I062/136", Fixed(2)),
    ItemSpec("I062/130", Fixed(2)),
    ItemSpec("I062/135", Fixed(2)),
    ItemSpec("I062/220", Fixed(2)),
    ItemSpec("I062/390", FLIGHT_PLAN_DATA),
    ItemSpec("I062/270", Extended()),
    ItemSpec("I062/300", Fixed(1)),
    ItemSpec("I062/110", MODE_5_DATA),
    ItemSpec("I062/120", Fixed(2)),
    ItemSpec("I062/510", Extended(3)),
    ItemSpec("I062/500", ESTIMATED_ACCURACIES),
    ItemSpec("I062/340", MEASURED_INFORMATION),
    None,
    None,
    None,
    None,
    None,
    ItemSpec("RE", Explicit()),
    ItemSpec("SP", Explicit()),
)

DEG_PER_WGS84_LSB = 180.0 / (1 << 25)


@dataclass(slots=True)
class Cat062Record:
    """One decoded CAT062 system track; None where the item was absent."""

    sac: int | None = None
    sic: int | None = None
    service_id: int | None = None
    time_of_track_s: float | None = None
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    x_m: float | None = None
    y_m: float | None = None
    vx_mps: float | None = None
    vy_mps: float | None = None
    mode_3a: str | None = None
    target_identification: str | None = None  # I062/245
    aircraft_address: int | None = None  # I062/380 ADR
    aircraft_identification: str | None = None  # I062/380 ID
    track_number: int | None = None
    monosensor: bool | None = None  # I062/080 MON
    confirmed: bool | None = None  # I062/080 CNF = 0
    simulated: bool = False  # I062/080 SIM
    track_ended: bool = False  # I062/080 TSE: last message of the track
    measured_flight_level: float | None = None
    geometric_altitude_ft: float | None = None
    barometric_altitude_ft: float | None = None
    rate_of_climb_ft_min: float | None = None
    flight_plan_callsign: str | None = None  # I062/390 CSN
    position_sigma_x_m: float | None = None  # I062/500 APC
    position_sigma_y_m: float | None = None


def decode_time_of_track(raw: bytes, record: Cat062Record) -> None:
    """I062/070: bits 24-1 seconds since midnight UTC, LSB 1/128 s."""
    record.time_of_track_s = unsigned(raw) / 128.0


def decode_wgs84_position(raw: bytes, record: Cat062Record) -> None:
    """I062/105: bits 64-33 latitude, bits 32-1 longitude, two's complement, 180/2^25 deg."""
    record.latitude_deg = signed(raw[0:4]) * DEG_PER_WGS84_LSB
    record.longitude_deg = signed(raw[4:8]) * DEG_PER_WGS84_LSB


def decode_cartesian_position(raw: bytes, record: Cat062Record) -> None:
    """I062/100: bits 48-25 X, bits 24-1 Y, two's complement, LSB 0.5 m."""
    record.x_m = signed(raw[0:3]) * 0.5
    record.y_m = signed(raw[3:6]) * 0.5


def decode_cartesian_velocity(raw: bytes, record: Cat062Record) -> None:
    """I062/185: bits 32-17 Vx, bits 16-1 Vy, two's complement, LSB 0.25 m/s."""
    record.vx_mps = signed(raw[0:2]) * 0.25
    record.vy_mps = signed(raw[2:4]) * 0.25


def decode_target_identification(raw: bytes, record: Cat062Record) -> None:
    """I062/245: bits 56-55 STI, bits 48-1 eight 6-bit characters."""
    record.target_identification = six_bit_characters(raw[1:7])


def decode_aircraft_derived_data(raw: bytes, record: Cat062Record) -> None:
    """I062/380: ADR bits 24-1 target address; ID bits 48-1 eight 6-bit characters."""
    subfields = split_compound(raw, AIRCRAFT_DERIVED_DATA, "I062/380")
    if "ADR" in subfields:
        items.decode_aircraft_address(subfields["ADR"], record)
    if "ID" in subfields:
        items.decode_aircraft_identification(subfields["ID"], record)


def decode_track_number(raw: bytes, record: Cat062Record) -> None:
    """I062/040: bits 16-1 track number."""
    record.track_number = unsigned(raw)


def decode_track_status(raw: bytes, record: Cat062Record) -> None:
    """I062/080: octet 1 bit 8 MON, bit 2 CNF (1 = tentative); first extension bit 8 SIM,
    bit 7 TSE (last message of the track)."""
    record.monosensor = bool(raw[0] & 0x80)
    record.confirmed = not raw[0] & 0x02
    if len(raw) > 1:
        record.simulated = bool(raw[1] & 0x80)
        record.track_ended = bool(raw[1] & 0x40)


def decode_measured_flight_level(raw: bytes, record: Cat062Record) -> None:
    """I062/136: bits 16-1 flight level, two's complement, LSB 1/4 FL."""
    record.measured_flight_level = signed(raw) / 4.0


def decode_geometric_altitude(raw: bytes, record: Cat062Record) -> None:
    """I062/130: bits 16-1 altitude, two's complement, LSB 6.25 ft."""
    record.geometric_altitude_ft = signed(raw) * 6.25


def decode_barometric_altitude(raw: bytes, record: Cat062Record) -> None:
    """I062/135: bit 16 QNH, bits 15-1 altitude two's complement, LSB 1/4 FL (25 ft)."""
    record.barometric_altitude_ft = signed(raw, 15) * 25.0


def decode_rate_of_climb(raw: bytes, record: Cat062Record) -> None:
    """I062/220: bits 16-1 rate of climb/descent, two's complement, LSB 6.25 ft/min."""
    record.rate_of_climb_ft_min = signed(raw) * 6.25


def decode_flight_plan_data(raw: bytes, record: Cat062Record) -> None:
    """I062/390 CSN: seven ASCII characters (bits 56-1)."""
    subfields = split_compound(raw, FLIGHT_PLAN_DATA, "I062/390")
    if "CSN" in subfields:
        record.flight_plan_callsign = subfields["CSN"].decode("ascii", errors="replace")


def decode_estimated_accuracies(raw: bytes, record: Cat062Record) -> None:
    """I062/500 APC: bits 32-17 sigma X, bits 16-1 sigma Y, LSB 0.5 m."""
    subfields = split_compound(raw, ESTIMATED_ACCURACIES, "I062/500")
    if "APC" in subfields:
        record.position_sigma_x_m = unsigned(subfields["APC"][0:2]) * 0.5
        record.position_sigma_y_m = unsigned(subfields["APC"][2:4]) * 0.5


ITEM_DECODERS: dict[str, Callable[[bytes, Cat062Record], None]] = {
    "I062/010": items.decode_data_source,
    "I062/015": items.decode_service_id,
    "I062/070": decode_time_of_track,
    "I062/105": decode_wgs84_position,
    "I062/100": decode_cartesian_position,
    "I062/185": decode_cartesian_velocity,
    "I062/060": items.decode_mode_3a,
    "I062/245": decode_target_identification,
    "I062/380": decode_aircraft_derived_data,
    "I062/040": decode_track_number,
    "I062/080": decode_track_status,
    "I062/136": decode_measured_flight_level,
    "I062/130": decode_geometric_altitude,
    "I062/135": decode_barometric_altitude,
    "I062/220": decode_rate_of_climb,
    "I062/390": decode_flight_plan_data,
    "I062/500": decode_estimated_accuracies,
}
