"""A tiny test-side CAT021 encoder: no package ships a CAT021 capture, so blocks are built
here from item values and checked against asterix-decoder as well as hotzone."""

from __future__ import annotations

from dataclasses import dataclass

from hotzone.share.asterix062 import fspec, six_bit_callsign


@dataclass
class Cat021Values:
    sac: int = 7
    sic: int = 9
    time_of_applicability_s: float = 43200.5
    latitude_deg: float = 54.6871
    longitude_deg: float = 25.2797
    address: int = 0x4B1A2C
    geometric_height_ft: float = 35012.5
    nucp_nic: int = 8
    nacp: int = 9
    sil: int = 3
    gva: int = 2
    mops_version: int = 2
    mode_3a: str = "1234"
    flight_level: float = 350.25
    vertical_rate_ft_min: float = -1250.0
    ground_speed_kt: float = 450.0
    track_angle_deg: float = 87.5
    callsign: str = "BTI4AB"
    target_report_descriptor: bytes = b"\x00"
    """I021/040 as sent: ATP 0 and no extension (FX 0); FX 1 and an extension octet of
    0x40 say the ground bit is set (GBS)."""


def _signed(value: float, octets: int) -> bytes:
    return round(value).to_bytes(octets, "big", signed=True)


def encode_cat021(values: Cat021Values) -> bytes:
    items = {
        1: bytes((values.sac, values.sic)),
        2: values.target_report_descriptor,
        5: round(values.time_of_applicability_s * 128).to_bytes(3, "big"),
        6: _signed(values.latitude_deg * 2**23 / 180, 3)
        + _signed(values.longitude_deg * 2**23 / 180, 3),
        7: _signed(values.latitude_deg * 2**30 / 180, 4)
        + _signed(values.longitude_deg * 2**30 / 180, 4),
        11: values.address.to_bytes(3, "big"),
        16: _signed(values.geometric_height_ft / 6.25, 2),
        17: bytes(
            (
                (values.nucp_nic << 1) | 0x01,
                (values.sil << 5) | (values.nacp << 1) | 0x01,
                values.gva << 1,
            )
        ),
        18: bytes((values.mops_version << 3,)),
        19: int(values.mode_3a, 8).to_bytes(2, "big"),
        21: _signed(values.flight_level * 4, 2),
        25: (round(values.vertical_rate_ft_min / 6.25) & 0x7FFF).to_bytes(2, "big"),
        26: round(values.ground_speed_kt / 3600 * 2**14).to_bytes(2, "big")
        + round(values.track_angle_deg * 2**16 / 360).to_bytes(2, "big"),
        29: six_bit_callsign(values.callsign),
    }
    record = fspec(items) + b"".join(items[frn] for frn in sorted(items))
    return bytes((21,)) + (3 + len(record)).to_bytes(2, "big") + record
