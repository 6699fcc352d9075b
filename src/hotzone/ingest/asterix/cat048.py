"""CAT048: monoradar target reports (EUROCONTROL ASTERIX Part 4, edition 1.21 UAP).

UAP (FRN: item, format)::

    1 I048/010 Data Source Identifier        2      15 I048/210 Track Quality             4
    2 I048/140 Time of Day                   3      16 I048/030 Warning/Error Conditions  1+
    3 I048/020 Target Report Descriptor      1+     17 I048/080 Mode-3/A Confidence       2
    4 I048/040 Measured Position (polar)     4      18 I048/100 Mode-C Code + Confidence  4
    5 I048/070 Mode-3/A Code (octal)         2      19 I048/110 Height by 3D Radar        2
    6 I048/090 Flight Level (binary)         2      20 I048/120 Radial Doppler Speed      compound
    7 I048/130 Radar Plot Characteristics    compound 21 I048/230 Comms/ACAS capability    2
    8 I048/220 Aircraft Address              3      22 I048/260 ACAS RA Report            7
    9 I048/240 Aircraft Identification       6      23 I048/055 Mode-1 Code               1
   10 I048/250 Mode S MB Data                1+8n   24 I048/050 Mode-2 Code               2
   11 I048/161 Track Number                  2      25 I048/065 Mode-1 Confidence         1
   12 I048/042 Calculated Position (cart.)   4      26 I048/060 Mode-2 Confidence         2
   13 I048/200 Calculated Polar Velocity     4      27 SP  Special Purpose Field          explicit
   14 I048/170 Track Status                  1+     28 RE  Reserved Expansion Field       explicit

Bits are numbered as in the standard: bit 1 is the least significant bit of the item's last
octet. Items without a decoder below are framed (their length is known) and skipped.
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
    mode_3a_octal,
    signed,
    split_compound,
    unsigned,
)

CATEGORY = 48

PLOT_CHARACTERISTICS = Compound(
    (
        ("SRL", Fixed(1)),
        ("SRR", Fixed(1)),
        ("SAM", Fixed(1)),
        ("PRL", Fixed(1)),
        ("PAM", Fixed(1)),
        ("RPD", Fixed(1)),
        ("APD", Fixed(1)),
    )
)
RADIAL_DOPPLER_SPEED = Compound((("CAL", Fixed(2)), ("RDS", Repetitive(6))))

UAP: Uap = (
    ItemSpec("I048/010", Fixed(2)),
    ItemSpec("I048/140", Fixed(3)),
    ItemSpec("I048/020", Extended()),
    ItemSpec("I048/040", Fixed(4)),
    ItemSpec("I048/070", Fixed(2)),
    ItemSpec("I048/090", Fixed(2)),
    ItemSpec("I048/130", PLOT_CHARACTERISTICS),
    ItemSpec("I048/220", Fixed(3)),
    ItemSpec("I048/240", Fixed(6)),
    ItemSpec("I048/250", Repetitive(8)),
    ItemSpec("I048/161", Fixed(2)),
    ItemSpec("I048/042", Fixed(4)),
    ItemSpec("I048/200", Fixed(4)),
    ItemSpec("I048/170", Extended()),
    ItemSpec("I048/210", Fixed(4)),
    ItemSpec("I048/030", Extended()),
    ItemSpec("I048/080", Fixed(2)),
    ItemSpec("I048/100", Fixed(4)),
    ItemSpec("I048/110", Fixed(2)),
    ItemSpec("I048/120", RADIAL_DOPPLER_SPEED),
    ItemSpec("I048/230", Fixed(2)),
    ItemSpec("I048/260", Fixed(7)),
    ItemSpec("I048/055", Fixed(1)),
    ItemSpec("I048/050", Fixed(2)),
    ItemSpec("I048/065", Fixed(1)),
    ItemSpec("I048/060", Fixed(2)),
    ItemSpec("SP", Explicit()),
    ItemSpec("RE", Explicit()),
)

NM_PER_RHO_LSB = 1.0 / 256.0
DEG_PER_THETA_LSB = 360.0 / 65536.0


@dataclass(slots=True)
class Cat048Record:
    """One decoded CAT048 target report; None where the item was absent."""

    sac: int | None = None
    sic: int | None = None
    time_of_day_s: float | None = None
    report_type: int | None = None  # I048/020 TYP: 1 PSR, 2 SSR, 3 PSR+SSR, 4-7 Mode S
    simulated: bool = False
    test_target: bool = False
    rho_nm: float | None = None
    theta_deg: float | None = None
    mode_3a: str | None = None
    mode_3a_validated: bool | None = None
    mode_3a_garbled: bool | None = None
    flight_level: float | None = None
    flight_level_validated: bool | None = None
    plot_amplitude_ssr_dbm: int | None = None
    plot_amplitude_psr_dbm: int | None = None
    aircraft_address: int | None = None
    aircraft_identification: str | None = None
    track_number: int | None = None
    ground_speed_nm_s: float | None = None
    heading_deg: float | None = None
    track_confirmed: bool | None = None  # I048/170 CNF
    track_ended: bool | None = None  # I048/170 TRE
    sigma_x_nm: float | None = None
    sigma_y_nm: float | None = None
    height_3d_ft: float | None = None
    doppler_speed_mps: int | None = None  # I048/120 CAL, only when valid (D = 0)


def decode_target_report_descriptor(raw: bytes, record: Cat048Record) -> None:
    """I048/020: octet 1 bits 8-6 TYP, bit 5 SIM; first extension bit 8 TST."""
    record.report_type = raw[0] >> 5
    record.simulated = bool(raw[0] & 0x10)
    record.test_target = len(raw) > 1 and bool(raw[1] & 0x80)


def decode_polar_position(raw: bytes, record: Cat048Record) -> None:
    """I048/040: bits 32-17 RHO (LSB 1/256 NM), bits 16-1 THETA (LSB 360/2^16 deg)."""
    record.rho_nm = unsigned(raw[0:2]) * NM_PER_RHO_LSB
    record.theta_deg = unsigned(raw[2:4]) * DEG_PER_THETA_LSB


def decode_mode_3a(raw: bytes, record: Cat048Record) -> None:
    """I048/070: bit 16 V (1 = not validated), bit 15 G (garbled), bits 12-1 code."""
    record.mode_3a_validated = not raw[0] & 0x80
    record.mode_3a_garbled = bool(raw[0] & 0x40)
    record.mode_3a = mode_3a_octal(raw)


def decode_flight_level(raw: bytes, record: Cat048Record) -> None:
    """I048/090: bit 16 V, bit 15 G, bits 14-1 FL two's complement, LSB 1/4 FL."""
    record.flight_level_validated = not raw[0] & 0x80
    record.flight_level = signed(raw, 14) / 4.0


def decode_plot_characteristics(raw: bytes, record: Cat048Record) -> None:
    """I048/130: subfields SAM / PAM (1 octet each, signed dBm); others framed only."""
    subfields = split_compound(raw, PLOT_CHARACTERISTICS, "I048/130")
    if "SAM" in subfields:
        record.plot_amplitude_ssr_dbm = signed(subfields["SAM"])
    if "PAM" in subfields:
        record.plot_amplitude_psr_dbm = signed(subfields["PAM"])


def decode_track_number(raw: bytes, record: Cat048Record) -> None:
    """I048/161: bits 12-1 track number (bits 16-13 spare)."""
    record.track_number = unsigned(raw) & 0x0FFF


def decode_polar_velocity(raw: bytes, record: Cat048Record) -> None:
    """I048/200: bits 32-17 ground speed (LSB 2^-14 NM/s), bits 16-1 heading (360/2^16)."""
    record.ground_speed_nm_s = unsigned(raw[0:2]) / 16384.0
    record.heading_deg = unsigned(raw[2:4]) * DEG_PER_THETA_LSB


def decode_track_status(raw: bytes, record: Cat048Record) -> None:
    """I048/170: octet 1 bit 8 CNF (1 = tentative); first extension bit 8 TRE."""
    record.track_confirmed = not raw[0] & 0x80
    record.track_ended = len(raw) > 1 and bool(raw[1] & 0x80)


def decode_track_quality(raw: bytes, record: Cat048Record) -> None:
    """I048/210: octet 1 sigma X, octet 2 sigma Y (LSB 1/128 NM); octets 3-4 framed only."""
    record.sigma_x_nm = raw[0] / 128.0
    record.sigma_y_nm = raw[1] / 128.0


def decode_height_3d(raw: bytes, record: Cat048Record) -> None:
    """I048/110: bits 14-1 height two's complement, LSB 25 ft."""
    record.height_3d_ft = signed(raw, 14) * 25.0


def decode_radial_doppler_speed(raw: bytes, record: Cat048Record) -> None:
    """I048/120 CAL: bit 16 D (1 = doubtful), bits 10-1 speed two's complement, m/s."""
    subfields = split_compound(raw, RADIAL_DOPPLER_SPEED, "I048/120")
    calculated = subfields.get("CAL")
    if calculated is not None and not calculated[0] & 0x80:
        record.doppler_speed_mps = signed(calculated, 10)


ITEM_DECODERS: dict[str, Callable[[bytes, Cat048Record], None]] = {
    "I048/010": items.decode_data_source,
    "I048/140": items.decode_time_of_day,
    "I048/020": decode_target_report_descriptor,
    "I048/040": decode_polar_position,
    "I048/070": decode_mode_3a,
    "I048/090": decode_flight_level,
    "I048/130": decode_plot_characteristics,
    "I048/220": items.decode_aircraft_address,
    "I048/240": items.decode_aircraft_identification,
    "I048/161": decode_track_number,
    "I048/200": decode_polar_velocity,
    "I048/170": decode_track_status,
    "I048/210": decode_track_quality,
    "I048/110": decode_height_3d,
    "I048/120": decode_radial_doppler_speed,
}
