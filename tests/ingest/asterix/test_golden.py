"""Real captures shipped with asterix-decoder decode, field by field, to its own values."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from hotzone.ingest.asterix import CATEGORIES, decode_records
from hotzone.ingest.asterix.datablock import split_blocks, split_records
from tests.ingest.asterix.cat065_encoder import Cat065Values, encode_cat065
from tests.ingest.asterix.reference import golden_payloads, reference_records, value

Getter = Callable[[Any], Any]

# (item, path in asterix-decoder's output, hotzone record -> comparable value)
CAT048_FIELDS: list[tuple[str, tuple[str, ...], Getter]] = [
    ("I010", ("SAC",), lambda r: r.sac),
    ("I010", ("SIC",), lambda r: r.sic),
    ("I140", ("ToD",), lambda r: r.time_of_day_s),
    ("I020", ("TYP",), lambda r: r.report_type),
    ("I020", ("SIM",), lambda r: int(r.simulated)),
    ("I040", ("RHO",), lambda r: r.rho_nm),
    ("I040", ("THETA",), lambda r: r.theta_deg),
    ("I070", ("Mode3A",), lambda r: r.mode_3a),
    ("I070", ("V",), lambda r: int(not r.mode_3a_validated)),
    ("I090", ("FL",), lambda r: r.flight_level),
    ("I220", ("ACAddr",), lambda r: f"{r.aircraft_address:06X}"),
    ("I240", ("TId",), lambda r: r.aircraft_identification),
    ("I161", ("Tn",), lambda r: r.track_number),
    ("I200", ("CGS",), lambda r: r.ground_speed_nm_s * 3600.0),  # reference speaks knots
    ("I200", ("CHdg",), lambda r: r.heading_deg),
    ("I170", ("CNF",), lambda r: int(not r.track_confirmed)),
    ("I110", ("3D_Height",), lambda r: r.height_3d_ft),
    ("I130", ("SAMP", "SAM"), lambda r: r.plot_amplitude_ssr_dbm),
    ("I130", ("PAMP", "PAM"), lambda r: r.plot_amplitude_psr_dbm),
]
CAT034_FIELDS: list[tuple[str, tuple[str, ...], Getter]] = [
    ("I010", ("SAC",), lambda r: r.sac),
    ("I010", ("SIC",), lambda r: r.sic),
    ("I000", ("MsgTyp",), lambda r: r.message_type),
    ("I030", ("ToD",), lambda r: r.time_of_day_s),
    ("I020", ("Azi",), lambda r: r.sector_azimuth_deg),
    ("I041", ("RotS",), lambda r: r.antenna_rotation_period_s),
    ("I050", ("COM", "NOGO"), lambda r: int(r.no_go)),
    ("I050", ("COM", "OVLRDP"), lambda r: int(r.processor_overload)),
    ("I050", ("COM", "OVLXMT"), lambda r: int(r.transmission_overload)),
    ("I050", ("COM", "MSC"), lambda r: int(r.monitoring_disconnected)),
    ("I050", ("COM", "TSV"), lambda r: int(r.time_source_invalid)),
    ("I050", ("PSR", "PSROVL"), lambda r: int(r.psr_overload)),
    ("I050", ("SSR", "SSROVL"), lambda r: int(r.ssr_overload)),
    ("I050", ("MDS", "MDSOVLSUR"), lambda r: int(r.mode_s_overload)),
]
CAT062_FIELDS: list[tuple[str, tuple[str, ...], Getter]] = [
    ("I010", ("SAC",), lambda r: r.sac),
    ("I010", ("SIC",), lambda r: r.sic),
    ("I015", ("SID",), lambda r: r.service_id),
    ("I070", ("ToT",), lambda r: r.time_of_track_s),
    ("I105", ("Lat",), lambda r: r.latitude_deg),
    ("I105", ("Lon",), lambda r: r.longitude_deg),
    ("I100", ("X",), lambda r: r.x_m),
    ("I100", ("Y",), lambda r: r.y_m),
    ("I185", ("Vx",), lambda r: r.vx_mps),
    ("I185", ("Vy",), lambda r: r.vy_mps),
    ("I060", ("Mode3A",), lambda r: r.mode_3a),
    ("I245", ("TId",), lambda r: r.target_identification),
    ("I380", ("ADR", "ADR"), lambda r: f"{r.aircraft_address:06X}"),
    ("I380", ("ID", "ACID"), lambda r: r.aircraft_identification),
    ("I040", ("TrkN",), lambda r: r.track_number),
    ("I080", ("MON",), lambda r: int(r.monosensor)),
    ("I080", ("CNF",), lambda r: int(not r.confirmed)),
    ("I080", ("SIM",), lambda r: int(r.simulated)),
    ("I080", ("TSE",), lambda r: int(r.track_ended)),
    ("I136", ("MFL",), lambda r: r.measured_flight_level * 100.0),  # reference: feet
    ("I130", ("Alt",), lambda r: r.geometric_altitude_ft),
    ("I135", ("CTBA",), lambda r: r.barometric_altitude_ft),
    ("I220", ("RoC",), lambda r: r.rate_of_climb_ft_min),
    ("I390", ("CSN", "CS"), lambda r: r.flight_plan_callsign.rstrip()),
]
CAT065_FIELDS: list[tuple[str, tuple[str, ...], Getter]] = [
    ("I010", ("SAC",), lambda r: r.sac),
    ("I010", ("SIC",), lambda r: r.sic),
    ("I000", ("Typ",), lambda r: r.message_type),
    ("I015", ("SID",), lambda r: r.service_id),
    ("I030", ("ToD",), lambda r: r.time_of_day_s),
    ("I020", ("BTN",), lambda r: r.batch_number),
    ("I040", ("NOGO",), lambda r: r.sdps_state),
    ("I040", ("OVL",), lambda r: int(r.overload)),
    ("I040", ("TSV",), lambda r: int(r.time_source_invalid)),
    ("I040", ("PSS",), lambda r: r.selected_processing_system),
    ("I050", ("REPORT",), lambda r: r.service_report),
]
FIELDS = {48: CAT048_FIELDS, 34: CAT034_FIELDS, 62: CAT062_FIELDS, 65: CAT065_FIELDS}

GOLDEN_FILES = [
    "cat048.raw",
    "cat034.raw",
    "cat062cat065.raw",
    "cat_034_048.pcap",
    "cat_062_065.pcap",
]


def _missing(reference: dict[str, Any], item: str, path: tuple[str, ...]) -> bool:
    node: Any = reference.get(item)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return True
        node = node[key]
    return False


def _compare_with_reference(payload: bytes) -> set[tuple[int, str]]:
    """Decode ``payload`` with hotzone and asterix-decoder, assert every field listed in
    `FIELDS` agrees, and return the (category, item) pairs that were compared."""
    compared: set[tuple[int, str]] = set()
    references = [r for r in reference_records(payload) if r["category"] in CATEGORIES]
    ours: list[tuple[int, Any, set[str]]] = []
    for block in split_blocks(payload):
        if block.category not in CATEGORIES:
            continue
        records, error = decode_records(block)
        assert error is None, error
        raw_records = list(split_records(block, CATEGORIES[block.category].uap))
        for (record, _raw), raw_record in zip(records, raw_records, strict=True):
            # "I048/040" -> "I040", the reference's key
            item_ids = {"I" + item_id[5:] for item_id in raw_record.items if "/" in item_id}
            ours.append((block.category, record, item_ids))
    assert len(ours) == len(references)
    for (category, record, item_ids), reference in zip(ours, references, strict=True):
        assert category == reference["category"]
        # Framing: the same items were found in each record.
        assert item_ids == {key for key in reference if key.startswith("I")}
        for item, path, getter in FIELDS[category]:
            if _missing(reference, item, path):
                continue
            expected = value(reference, item, *path)
            got = getter(record)
            if isinstance(expected, float):
                assert got == pytest.approx(expected, abs=1e-9), (item, path)
            else:
                assert got == expected, (item, path)
            compared.add((category, item))
    return compared


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_golden_capture_matches_reference_field_by_field(name: str) -> None:
    compared: set[tuple[int, str]] = set()
    for payload in golden_payloads(name):
        compared |= _compare_with_reference(payload)
    assert compared
    if "065" in name:
        # Every item the captures' end-of-batch messages carry was compared.
        assert {item for category, item in compared if category == 65} == {
            "I010",
            "I000",
            "I015",
            "I030",
            "I020",
        }


def test_cat065_status_and_reports_match_reference_for_every_code() -> None:
    """The captures hold end-of-batch messages only: every I065/040 combination and every
    I065/050 code, encoded here, decodes as asterix-decoder decodes it."""
    statuses = [
        Cat065Values(
            nogo=nogo,
            overload=overload,
            time_source_invalid=invalid_time,
            processing_system=system,
            batch_number=system * 7,
        )
        for nogo, overload, invalid_time, system in itertools.product(
            range(4), (False, True), (False, True), range(4)
        )
    ]
    reports = [
        Cat065Values(message_type=3, service_report=code, service_id=None) for code in range(1, 17)
    ]
    compared = _compare_with_reference(encode_cat065(*statuses, *reports))
    assert {item for _category, item in compared} == {
        "I010",
        "I000",
        "I015",
        "I030",
        "I020",
        "I040",
        "I050",
    }


def test_golden_files_cover_every_category_but_cat021() -> None:
    seen: set[int] = set()
    for name in GOLDEN_FILES:
        for payload in golden_payloads(name):
            seen.update(block.category for block in split_blocks(payload))
    assert {34, 48, 62, 65} <= seen
